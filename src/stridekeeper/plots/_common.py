"""Shared helpers for the plot functions: Axes creation, colours, empty-data notes, dates.

matplotlib is imported inside the functions, never at module import time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: Okabe & Ito (2008) colour-blind-safe palette.
COLORS: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "grey": "#999999",
}

#: What an empty or all-NaN input draws instead of failing.
NO_DATA_TEXT = "not enough data"


def get_axes(ax: Axes | None, figsize: tuple[float, float] = (8.0, 4.5)) -> Axes:
    """The given Axes, or the Axes of a new figure (constrained layout) when ``ax`` is None."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new_ax = plt.subplots(figsize=figsize, layout="constrained")
    return new_ax


def no_data(
    ax: Axes,
    reason: str | None = None,
    *,
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
) -> Axes:
    """Write "not enough data" (and why) in the middle of ``ax``, keep its labels, return it."""
    text = NO_DATA_TEXT if not reason else f"{NO_DATA_TEXT}\n({reason})"
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center",
            fontsize=12, color="#555555", wrap=True)  # fmt: skip
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title)
    if xlabel is not None:
        ax.set_xlabel(xlabel)
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    return ax


def as_frame(data: Any) -> pd.DataFrame:
    """A DataFrame from a DataFrame, a list of dicts/Series or a dict of columns (copied)."""
    if data is None:
        return pd.DataFrame()
    if isinstance(data, pd.DataFrame):
        return data.copy()
    if isinstance(data, pd.Series):
        return data.to_frame().T
    if isinstance(data, Mapping):
        return pd.DataFrame(dict(data))
    if isinstance(data, Iterable):
        rows = list(data)
        return pd.DataFrame([dict(r) for r in rows]) if rows else pd.DataFrame()
    raise TypeError(f"expected a DataFrame or a list of dicts, got {type(data).__name__}")


def numeric(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Column as floats (NaN where missing or not a number); all NaN when absent."""
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)


def utc_naive(values: Any) -> np.ndarray:
    """Timestamps (tz-aware or naive-as-UTC, strings allowed) as naive UTC ``datetime64[ns]``."""
    idx = pd.DatetimeIndex(pd.to_datetime(pd.Series(values, dtype=object), utc=True))
    return idx.tz_convert("UTC").tz_localize(None).to_numpy(dtype="datetime64[ns]")


def date_axis(ax: Axes, axis: str = "x") -> None:
    """Automatic date ticks with concise labels (no overlapping dates)."""
    import matplotlib.dates as mdates

    target = ax.xaxis if axis == "x" else ax.yaxis
    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
    target.set_major_locator(locator)
    target.set_major_formatter(mdates.ConciseDateFormatter(locator))


def window_text(days: float) -> str:
    """``2`` -> ``"prior 48 h"``, ``14`` -> ``"prior 14 days"``."""
    return "prior 48 h" if days == 2 else f"prior {days:g} days"


_EXPOSURE_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"sessions_per_week_(?P<w>[\d.]+)d", "mobility sessions per week [1/week]"),
    (r"minutes_per_week_(?P<w>[\d.]+)d", "mobility minutes per week [min/week]"),
    (r"minutes_per_week_(?P<r>[a-z_]+)_(?P<w>[\d.]+)d", "{r} mobility minutes per week [min/week]"),
    (r"active_day_share_(?P<w>[\d.]+)d", "share of days with mobility work [0-1]"),
    (r"longest_gap_days_(?P<w>[\d.]+)d", "longest gap without mobility work [days]"),
    (r"gap_cv_(?P<w>[\d.]+)d", "irregularity of gaps between sessions (CV) [1]"),
)


def exposure_label(column: str) -> str:
    """Readable axis label, with units and window, for a consistency column name."""
    if column == "ewm_load_min":
        return "mobility load, exponentially weighted [min/day]"
    for pattern, text in _EXPOSURE_PATTERNS:
        m = re.fullmatch(pattern, column)
        if m:
            groups = m.groupdict()
            label = text.format(r=groups.get("r", "").replace("_", " "))
            return f"{label}, {window_text(float(groups['w']))}"
    return column


def pct_text(value: float) -> str:
    """``5.234`` -> ``"5.2 %"``, NaN -> ``"n/a"``."""
    return f"{value:.1f} %" if np.isfinite(value) else "n/a"


def legend_below(
    ax: Axes,
    handles: list[Any] | None = None,
    labels: list[str] | None = None,
    *,
    host: Axes | None = None,
    ncol: int = 3,
) -> None:
    """A frameless legend under the x-axis label of ``ax``, never on top of the data.

    The distance from the axes' bottom edge to the bottom of its tick labels and x label
    is worked out from their font sizes, ticks and pads (it doesn't change when the page
    moves the axes; measuring the drawn text would lay out every label once more), so the
    legend sits just beneath it. ``host`` (e.g. a twin Axes drawn above ``ax``) receives
    the legend.
    """
    from matplotlib.transforms import ScaledTranslation

    fig = ax.figure
    drop_in = _below_axes_pt(ax) / 72.0 + 0.04
    trans = ax.transAxes + ScaledTranslation(0.0, -drop_in, fig.dpi_scale_trans)
    if handles is None or labels is None:
        handles, labels = ax.get_legend_handles_labels()
    (host or ax).legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0),
                        bbox_transform=trans, ncol=ncol, fontsize=8, frameon=False)  # fmt: skip


def _below_axes_pt(ax: Axes) -> float:
    """Height of what hangs under ``ax``'s bottom edge: ticks, tick labels, x label. [pt]"""
    import matplotlib as mpl

    line = 1.2  # a text line's height per point of font size
    tick = ax.xaxis.get_major_ticks()
    out = 0.0
    if ax.xaxis.get_visible() and tick:
        t = tick[0]
        labels = [lab.get_text() for lab in ax.get_xticklabels()] or [""]
        lines = max(text.count("\n") + 1 for text in labels)
        out += t.tick1line.get_markersize() + t.get_pad() + line * lines * t.label1.get_size()
    label = ax.xaxis.label
    if label.get_visible() and label.get_text():
        lines = label.get_text().count("\n") + 1
        out += mpl.rcParams["axes.labelpad"] + line * lines * label.get_size()  # size in pt
    return out
