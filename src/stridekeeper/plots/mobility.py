"""Calendar heatmap of mobility minutes per local day; which kinds of mobility work were done."""

from __future__ import annotations

import math
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..schema import REGIONS
from ._common import COLORS, get_axes, no_data

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_kinds_done", "plot_mobility_calendar"]

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
#: Sequential ColorBrewer map, readable with colour-vision deficiencies and in grey scale.
_CMAP = "YlGnBu"
_NONE_COLOR = "#e6e6e6"


def _day_ordinal(value: Any) -> int:
    ts = pd.Timestamp(value)
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return int(np.datetime64(ts.date(), "D").astype(np.int64))


def plot_mobility_calendar(
    sessions: pd.DataFrame,
    *,
    ax: Axes | None = None,
    start: date | str | pd.Timestamp | None = None,
    end: date | str | pd.Timestamp | None = None,
    region: str | None = None,
) -> Axes:
    """Calendar heatmap of mobility minutes per local day, with a colour bar.

    Columns are ISO weeks (Monday to Sunday), rows weekdays (Monday on top); each cell is
    the total ``duration_min`` of the sessions on that ``local_date``. Days without a
    session are light grey (the colour bar's grey end), days outside ``start``..``end``
    are blank. Months are labelled under the week holding their first day. With
    ``region``, only sessions listing that region count (a multi-region session counts in
    full); one region per calendar reads better than stacked bars per day.

    Parameters
    ----------
    sessions
        Canonical mobility-session table (``local_date``, ``duration_min`` and, with
        ``region``, ``regions``). Not modified.
    ax
        Axes to draw on; a new figure sized to the number of weeks when None. The colour
        bar takes some of ``ax``'s space.
    start, end
        First and last local day shown (inclusive); default the first and last session.
    region
        A region from :data:`~stridekeeper.schema.REGIONS`, or None for all sessions.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        On a region outside the vocabulary or ``end`` before ``start``.
    """
    if region is not None and region not in REGIONS:
        raise ValueError(f"unknown region {region!r}; allowed: {', '.join(REGIONS)}")
    what = f"{region.replace('_', ' ').capitalize()} mobility" if region else "Mobility"
    title = f"{what} minutes per day"
    frame = sessions if isinstance(sessions, pd.DataFrame) else pd.DataFrame(sessions)
    n_all = len(frame)
    if n_all and {"local_date", "duration_min"} <= set(frame.columns):
        days = pd.to_datetime(pd.Series(frame["local_date"].to_numpy(), dtype=object),
                              errors="coerce")  # fmt: skip
        day_ord = days.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)
        valid = days.notna().to_numpy()
        minutes = pd.to_numeric(frame["duration_min"], errors="coerce").fillna(0).to_numpy(float)
        if region is not None:
            regs_col = frame["regions"] if "regions" in frame.columns else [()] * n_all
            in_region = np.array([region in (regs or ()) for regs in regs_col], dtype=bool)
            valid = valid & in_region
        day_ord, minutes = day_ord[valid], minutes[valid]
    else:
        day_ord, minutes = np.empty(0, np.int64), np.empty(0)
    first = _day_ordinal(start) if start is not None else None
    last = _day_ordinal(end) if end is not None else None
    if first is not None and last is not None and last < first:
        raise ValueError(f"end {end} is before start {start}")
    if len(day_ord):
        first = int(day_ord.min()) if first is None else first
        last = int(day_ord.max()) if last is None else last
    in_range = (day_ord >= first) & (day_ord <= last) if first is not None else np.zeros(0, bool)
    if first is None or last is None or last < first or not in_range.any():
        if ax is None:
            ax = get_axes(None, figsize=(8.0, 3.0))
        reason = "no sessions" + (f" for {region}" if region else "") + (
            " in the chosen dates" if n_all else "")  # fmt: skip
        return no_data(ax, reason, title=title)
    day_ord, minutes = day_ord[in_range], minutes[in_range]

    week0 = first - (first + 3) % 7  # Monday of the first week (1970-01-01 was a Thursday)
    n_weeks = (last - week0) // 7 + 1
    grid = np.full((7, n_weeks), np.nan)
    span = np.arange(first, last + 1)
    grid[(span - week0) % 7, (span - week0) // 7] = 0.0
    np.add.at(grid, ((day_ord - week0) % 7, (day_ord - week0) // 7), minutes)

    import matplotlib as mpl
    from matplotlib.colors import Normalize

    if ax is None:
        width = float(np.clip(0.2 * n_weeks + 2.4, 5.0, 16.0))
        cell = min((width - 2.4) / n_weeks, 0.3)
        ax = get_axes(None, figsize=(width, 7 * cell + 1.5))
    cmap = mpl.colormaps[_CMAP].with_extremes(under=_NONE_COLOR, bad=(1, 1, 1, 0))
    vmax = max(float(np.nanmax(grid)), 1.0)
    norm = Normalize(vmin=1e-6, vmax=vmax)
    mesh = ax.pcolormesh(np.arange(n_weeks + 1), np.arange(8), np.ma.masked_invalid(grid),
                         cmap=cmap, norm=norm, edgecolors="white", linewidth=1.0)  # fmt: skip
    ax.set_aspect("equal")
    ax.set_xlim(0, n_weeks)
    ax.set_ylim(7, 0)  # Monday on top
    ax.set_yticks(np.arange(7) + 0.5, _WEEKDAYS, fontsize=8)
    ticks, labels = _month_ticks(week0, n_weeks, first, last)
    ax.set_xticks(ticks, labels, fontsize=8)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    # the colour bar as an inset: as tall as the (equal-aspect) calendar, about 0.12 in wide
    fig = ax.figure
    ax_width_in = ax.get_position().width * fig.get_figwidth()
    bar_w = 0.12 / max(min(ax_width_in, n_weeks / 7 * ax.get_position().height
                           * fig.get_figheight()), 0.5)  # fmt: skip
    cax = ax.inset_axes((1.0 + bar_w, 0.0, bar_w, 1.0))
    cbar = fig.colorbar(mesh, cax=cax, extend="min")
    cbar.set_label("min/day (grey: none)", fontsize=8)
    cbar.ax.tick_params(labelsize=8)
    active = int(np.sum(grid > 0))
    shown = int(np.isfinite(grid).sum())
    ax.set_title(f"{title}\n{len(day_ord)} sessions, {minutes.sum():.0f} min, "
                 f"{active} of {shown} days with a session", fontsize=10)  # fmt: skip
    return ax


def _month_ticks(week0: int, n_weeks: int, first: int, last: int) -> tuple[list[float], list[str]]:
    """x positions and labels for the months whose first day falls in the calendar."""
    start = pd.Timestamp(np.datetime64(first, "D"))
    stop = pd.Timestamp(np.datetime64(last, "D"))
    months = pd.date_range(start.to_period("M").to_timestamp(), stop, freq="MS")
    months = [m for m in months if first <= int(np.datetime64(m.date(), "D").astype(int)) <= last]
    first_month_col = ((int(np.datetime64(months[0].date(), "D").astype(int)) - week0) // 7
                       if months else n_weeks)  # fmt: skip
    if first_month_col >= 2:  # the calendar starts well inside a month: label that one too
        months = [start, *months]
    step = max(1, math.ceil(len(months) / 12))
    ticks: list[float] = []
    labels: list[str] = []
    prev_year = None
    for m in months[::step]:
        col = (int(np.datetime64(m.date(), "D").astype(int)) - week0) // 7
        text = m.strftime("%b")
        if m.year != prev_year:
            text += f"\n{m.year}"
            prev_year = m.year
        ticks.append(col + 0.5)
        labels.append(text)
    return ticks, labels


#: Bar colour of each family of kinds (Okabe & Ito).
_FAMILY_COLORS = {"region": COLORS["blue"], "context": COLORS["orange"],
                  "range_feel": COLORS["green"]}  # fmt: skip
_FAMILY_LABELS = {"region": "body region", "context": "context", "range_feel": "range feel"}


def plot_kinds_done(kinds: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Which kinds of mobility work were done: sessions per region, context and range feel.

    One horizontal bar per kind, grouped by family (body region, context such as post-run,
    range feel), each family its own colour; the number of sessions at the end of each bar.
    A session with two regions counts once in each.

    Parameters
    ----------
    kinds
        ``kind`` (``"region:hips"``, ``"context:post-run"``, ``"range_feel:open"``...) and
        ``sessions``, as :func:`~stridekeeper.analysis.exposure_kinds.kinds_done` returns.
        Not modified.
    ax
        Axes to draw on; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes
    """
    title = "Which kinds of mobility work"
    rows = [] if kinds is None or not len(kinds) else [
        (str(k).partition(":")[0], str(k).partition(":")[2], int(n))
        for k, n in zip(kinds["kind"], kinds["sessions"], strict=True) if int(n) > 0
    ]  # fmt: skip
    ax = get_axes(ax, figsize=(7.0, max(2.5, 0.28 * len(rows) + 1)))
    if not rows:
        return no_data(ax, "no mobility sessions", title=title)
    order = list(_FAMILY_COLORS)
    rows.sort(key=lambda r: (order.index(r[0]) if r[0] in order else len(order), -r[2]))
    y = np.arange(len(rows))
    counts = [r[2] for r in rows]
    ax.barh(y, counts, color=[_FAMILY_COLORS.get(r[0], COLORS["grey"]) for r in rows])
    for yi, n in zip(y, counts, strict=True):
        ax.annotate(str(n), (n, yi), xytext=(3, 0), textcoords="offset points",
                    va="center", fontsize=7)  # fmt: skip
    ax.set_yticks(y, [f"{r[1]} ({_FAMILY_LABELS.get(r[0], r[0])})" for r in rows], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("sessions")
    ax.set_ylabel("kind")
    ax.set_xlim(0, max(counts) * 1.15)
    ax.set_title(title, fontsize=10)
    return ax
