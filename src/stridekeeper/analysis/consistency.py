"""How consistently mobility work was done before given moments (docs/methods.md).

Everything here is pure and vectorised: reference times are matched to sessions with
:func:`numpy.searchsorted` and windowed sums come from cumulative sums, so the cost grows
like ``(n_times + n_sessions) * log(n_sessions)`` per window, not ``n_times * n_sessions``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

import numpy as np
import pandas as pd

from ..errors import SchemaError
from ..schema import REGIONS
from ..timezones import resolve_tz

__all__ = ["consistency", "weekly_summary"]

_NS_PER_DAY = 86_400 * 10**9
_NEEDED = ("start_time", "local_date", "duration_min", "regions")
#: EWM terms whose weight has fallen below this fraction of the newest day's are dropped.
_EWM_NEGLIGIBLE = 1e-16
#: Largest (reference times x days) block the EWM handles at once.
_EWM_BLOCK = 4_000_000


def _check_sessions(sessions: pd.DataFrame) -> None:
    if not isinstance(sessions, pd.DataFrame):
        raise SchemaError(f"sessions must be a DataFrame, got {type(sessions).__name__}")
    missing = [c for c in _NEEDED if c not in sessions.columns]
    if missing:
        raise SchemaError(f"sessions lack column(s): {', '.join(missing)}")
    st = sessions["start_time"]
    if len(st) and not isinstance(st.dtype, pd.DatetimeTZDtype):
        raise SchemaError(f"'start_time' must be tz-aware (UTC), got {st.dtype}")


def _utc_ns(values: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    idx = pd.DatetimeIndex(values)
    if len(idx) == 0:
        return np.empty(0, dtype=np.int64)
    return idx.tz_convert("UTC").as_unit("ns").asi8.astype(np.int64)


def _reference_times(at: Any) -> pd.DatetimeIndex:
    if isinstance(at, pd.Timestamp | datetime | str):
        at = [at]
    idx = pd.DatetimeIndex(at)
    if len(idx) and idx.tz is None:
        raise ValueError("reference times 'at' must be tz-aware (UTC), got naive timestamps")
    if idx.hasnans:
        raise ValueError("reference times 'at' contain NaT")
    idx = idx.tz_localize("UTC") if idx.tz is None else idx.tz_convert("UTC")
    return pd.DatetimeIndex(idx, name="reference_time")


def _day_ordinals(local_date: pd.Series) -> np.ndarray:
    if len(local_date) == 0:
        return np.empty(0, dtype=np.int64)
    days = pd.to_datetime(pd.Series(local_date.to_numpy(), dtype=object))
    if days.isna().any():
        raise SchemaError("'local_date' must be a date for every session")
    return days.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)


def _window_label(w: float) -> str:
    return f"{w:g}d"


class _RangeExtreme:
    """Sparse table: max or min of ``x[a:b]`` for many half-open ranges at once, O(1) each."""

    def __init__(self, x: np.ndarray, op: np.ufunc, fill: float):
        self.op = op
        n = len(x)
        levels = [np.asarray(x, dtype=float)]
        step = 1
        while 2 * step <= n:
            prev = levels[-1]
            levels.append(op(prev[: len(prev) - step], prev[step:]))
            step *= 2
        self.table = np.full((len(levels), max(n, 1)), fill)
        for j, level in enumerate(levels):
            self.table[j, : len(level)] = level

    def query(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Extreme of ``x[a:b]``; requires ``b > a`` everywhere."""
        length = b - a
        j = np.floor(np.log2(np.maximum(length, 1))).astype(np.int64)
        j = np.minimum(j, len(self.table) - 1)
        return self.op(self.table[j, a], self.table[j, b - (1 << j)])


def consistency(
    sessions: pd.DataFrame,
    at: Iterable[pd.Timestamp] | pd.DatetimeIndex | pd.Series | pd.Timestamp,
    *,
    windows_days: Sequence[float] = (2, 7, 14, 28),
    ewm_span_days: float = 28,
    regions: Sequence[str] = REGIONS,
) -> pd.DataFrame:
    """Mobility consistency before each reference time, in several look-back windows.

    For a reference time ``t`` (typically a run's start) and a window of ``w`` days, the
    sessions counted are those whose **start** lies in ``[t - w days, t)``: a session
    starting exactly at ``t`` or later never counts, one starting exactly ``w`` days before
    does. A session is counted whole by its start time (its minutes are not split across the
    window edge).

    Parameters
    ----------
    sessions
        Canonical mobility-session table (see :data:`~stridekeeper.schema.MOBILITY_COLUMNS`);
        ``start_time``, ``local_date``, ``duration_min`` and ``regions`` are used. Not modified.
    at
        Reference times: tz-aware timestamps (any zone; they are converted to UTC), in any
        order, repeats allowed.
    windows_days
        Look-back windows. [days] ``2`` is the last 48 hours.
    ewm_span_days
        Span ``N`` of the exponentially weighted load, ``lambda = 2 / (N + 1)``. [days]
    regions
        Body regions (from :data:`~stridekeeper.schema.REGIONS`) that get a column.

    Returns
    -------
    pandas.DataFrame
        One row per reference time, in the given order; index ``reference_time``
        (``DatetimeIndex``, UTC). For every window ``w`` (suffix ``_{w}d``, e.g. ``_7d``):

        ==================================  =============  ===============================================
        column                              unit           definition
        ==================================  =============  ===============================================
        ``sessions_per_week_{w}d``          sessions/week  sessions in the window x 7 / w
        ``minutes_per_week_{w}d``           min/week       their total ``duration_min`` x 7 / w
        ``active_day_share_{w}d``           0-1            distinct ``local_date`` values among the
                                                           window's sessions / w, capped at 1 (a 48-hour
                                                           window can touch three calendar days)
        ``longest_gap_days_{w}d``           days           longest stretch of the window without a session
                                                           start: the largest of (first start - window
                                                           start), the gaps between consecutive starts,
                                                           and (t - last start); ``w`` when the window
                                                           holds no session
        ``gap_cv_{w}d``                     1              coefficient of variation (population standard
                                                           deviation / mean) of the gaps between
                                                           consecutive session starts inside the window
                                                           (edges not included); NaN with fewer than 3
                                                           sessions; 0 for a perfectly regular rhythm
        ``minutes_per_week_{region}_{w}d``  min/week       minutes of sessions listing ``region`` x 7 / w;
                                                           a session with several regions counts in full
                                                           for each, so regions can sum to more than
                                                           ``minutes_per_week_{w}d``
        ==================================  =============  ===============================================

        and once, after the windows:

        ``ewm_load_min`` [min/day]: exponentially weighted daily minutes,
        ``lambda * sum_k (1 - lambda)**k * M_k`` with ``lambda = 2 / (N + 1)``,
        ``N = ewm_span_days``, where ``M_k`` is the total ``duration_min`` of sessions
        starting in ``[t - (k + 1) days, t - k days)`` for ``k = 0, 1, 2, ...``. The "days"
        are 24-hour blocks counted back from ``t``, so every session strictly before ``t``
        is included and none at or after it, with no time-zone assumption. It is the
        recursion ``L = lambda * M + (1 - lambda) * L_previous`` started at 0 before the
        first session (no bias correction, so it starts low). Terms whose weight has
        fallen below 1e-16 of the newest day's are dropped.

    Raises
    ------
    SchemaError
        When ``sessions`` lacks a needed column or ``start_time`` is not tz-aware.
    ValueError
        On naive or missing reference times, a non-positive window or span, or a region
        outside the vocabulary.

    Notes
    -----
    Gaps are measured between session *start* times; the minutes spent inside a session are
    not subtracted (sessions are short next to the days-long gaps this is about).
    """
    _check_sessions(sessions)
    ref = _reference_times(at)
    windows = [float(w) for w in windows_days]
    if not windows or any(not math.isfinite(w) or w <= 0 for w in windows):
        raise ValueError(f"windows_days must be positive numbers of days, got {windows_days!r}")
    labels = [_window_label(w) for w in windows]
    if len(set(labels)) != len(labels):
        raise ValueError(f"windows_days has repeated windows: {windows_days!r}")
    if not math.isfinite(ewm_span_days) or ewm_span_days < 1:
        raise ValueError(f"ewm_span_days must be >= 1, got {ewm_span_days!r}")
    regions = list(regions)
    bad = [r for r in regions if r not in REGIONS]
    if bad:
        raise ValueError(f"unknown region(s) {bad}; allowed: {', '.join(REGIONS)}")

    # Sessions, sorted by start.
    start_ns = _utc_ns(sessions["start_time"])
    order = np.argsort(start_ns, kind="stable")
    s = start_ns[order]
    dur = pd.to_numeric(sessions["duration_min"], errors="coerce").to_numpy(dtype=float)[order]
    dur = np.nan_to_num(dur, nan=0.0)
    days = _day_ordinals(sessions["local_date"])[order]
    region_lists = sessions["regions"].to_numpy(dtype=object)[order]
    n_s = len(s)

    cum_min = np.concatenate([[0.0], np.cumsum(dur)])
    member = np.zeros((n_s, len(regions)))
    for i, regs in enumerate(region_lists):  # one pass over sessions, not times x sessions
        for j, r in enumerate(regions):
            if r in regs:
                member[i, j] = 1.0
    cum_region = np.vstack([np.zeros((1, len(regions))), np.cumsum(member * dur[:, None], 0)])

    # Distinct local days: session i opens a "new" day for a window starting at index lo
    # when the previous session on the same date lies before lo.
    prev_same = np.full(n_s, -1, dtype=np.int64)
    if n_s:
        by_day = np.lexsort((np.arange(n_s), days))
        same = np.concatenate([[False], days[by_day][1:] == days[by_day][:-1]])
        prev_same[by_day[same]] = by_day[np.flatnonzero(same) - 1]
    monotone = n_s < 2 or bool(np.all(np.diff(days) >= 0))
    new_day = np.concatenate([[0], np.cumsum(prev_same != np.arange(n_s) - 1)])

    gaps = np.diff(s).astype(float) / _NS_PER_DAY  # [days], gaps[k] = s[k+1] - s[k]
    cum_gap = np.concatenate([[0.0], np.cumsum(gaps)])
    cum_gap2 = np.concatenate([[0.0], np.cumsum(gaps**2)])
    gap_max = _RangeExtreme(gaps, np.maximum, -np.inf)
    gap_min = _RangeExtreme(gaps, np.minimum, np.inf)

    t = _utc_ns(ref)
    hi = np.searchsorted(s, t, side="left")  # sessions [0, hi) start strictly before t
    columns: dict[str, np.ndarray] = {}
    for w, label in zip(windows, labels, strict=True):
        w_ns = round(w * _NS_PER_DAY)
        lo = np.searchsorted(s, t - w_ns, side="left")
        n = hi - lo
        per_week = 7.0 / w

        columns[f"sessions_per_week_{label}"] = n * per_week
        columns[f"minutes_per_week_{label}"] = (cum_min[hi] - cum_min[lo]) * per_week

        if monotone:  # dates never go back in start order: count date changes
            first = np.minimum(lo + 1, n_s)
            distinct = np.where(n > 0, new_day[hi] - new_day[first] + 1, 0)
        else:  # dates out of order (time zones changed): exact count by broadcasting
            idx = np.arange(n_s)[None, :]
            in_win = (idx >= lo[:, None]) & (idx < hi[:, None])
            distinct = (in_win & (prev_same[None, :] < lo[:, None])).sum(axis=1)
        columns[f"active_day_share_{label}"] = np.minimum(distinct / w, 1.0)

        has = n > 0
        lo_c = np.minimum(lo, max(n_s - 1, 0))
        hi_c = np.maximum(hi - 1, 0)
        if n_s:
            lead = (s[lo_c] - (t - w_ns)) / _NS_PER_DAY
            tail = (t - s[hi_c]) / _NS_PER_DAY
        else:
            lead = tail = np.zeros(len(t))
        two = n >= 2
        a = np.where(two, lo, 0)
        b = np.where(two, hi - 1, 1)
        inner = gap_max.query(a, b) if n_s >= 2 else np.full(len(t), -np.inf)
        inner = np.where(two, inner, -np.inf)
        columns[f"longest_gap_days_{label}"] = np.where(
            has, np.maximum(np.maximum(lead, tail), inner), w
        )

        m = (n - 1).astype(float)
        three = n >= 3
        g_hi = np.clip(hi - 1, 0, len(cum_gap) - 1)
        g_lo = np.minimum(lo, len(cum_gap) - 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = (cum_gap[g_hi] - cum_gap[g_lo]) / m
            mean_sq = (cum_gap2[g_hi] - cum_gap2[g_lo]) / m
            sd = np.sqrt(np.maximum(mean_sq - mean**2, 0.0))
            cv = sd / mean
        if n_s >= 2:
            flat = gap_min.query(a, b) == gap_max.query(a, b)
            cv = np.where(flat & (mean > 0), 0.0, cv)
        columns[f"gap_cv_{label}"] = np.where(three, cv, np.nan)

        region_min = (cum_region[hi] - cum_region[lo]) * per_week
        for j, r in enumerate(regions):
            columns[f"minutes_per_week_{r}_{label}"] = region_min[:, j]

    columns["ewm_load_min"] = _ewm_load(s, cum_min, t, ewm_span_days)

    order_cols = []
    for label in labels:
        order_cols += [
            f"sessions_per_week_{label}",
            f"minutes_per_week_{label}",
            f"active_day_share_{label}",
            f"longest_gap_days_{label}",
            f"gap_cv_{label}",
        ] + [f"minutes_per_week_{r}_{label}" for r in regions]
    order_cols.append("ewm_load_min")
    out = pd.DataFrame(
        {c: np.asarray(columns[c], dtype=float) for c in order_cols}, index=ref, columns=order_cols
    )
    return out


def _ewm_load(s: np.ndarray, cum_min: np.ndarray, t: np.ndarray, span_days: float) -> np.ndarray:
    """``lambda * sum_k (1-lambda)**k * M_k`` over 24-hour blocks counted back from each t."""
    lam = 2.0 / (span_days + 1.0)
    if len(s) == 0 or len(t) == 0:
        return np.zeros(len(t))
    decay = 1.0 - lam
    span_k = int(math.ceil(max(int(t.max()) - int(s[0]), 0) / _NS_PER_DAY)) + 1
    cap_k = 1 if decay <= 0 else int(math.ceil(math.log(_EWM_NEGLIGIBLE) / math.log(decay))) + 1
    k_days = max(1, min(span_k, cap_k))
    weights = decay ** np.arange(k_days)
    offsets = np.arange(k_days + 1, dtype=np.int64) * _NS_PER_DAY
    out = np.empty(len(t))
    block = max(1, _EWM_BLOCK // (k_days + 1))
    for start in range(0, len(t), block):  # blocks of reference times bound the memory
        tt = t[start : start + block]
        edges = tt[:, None] - offsets[None, :]
        before = cum_min[np.searchsorted(s, edges, side="left")]  # minutes strictly before edge
        daily = before[:, :-1] - before[:, 1:]
        out[start : start + block] = lam * (daily @ weights)
    return out


def weekly_summary(sessions: pd.DataFrame, tz: str | tzinfo | int | None = None) -> pd.DataFrame:
    """Mobility work per ISO week (Monday to Sunday) of the sessions' local dates.

    Parameters
    ----------
    sessions
        Canonical mobility-session table. Not modified.
    tz
        Default None uses the table's ``local_date``. An IANA name, ``tzinfo`` or UTC offset
        in seconds recomputes each session's local date from ``start_time`` in that zone.

    Returns
    -------
    pandas.DataFrame
        One row per ISO week from the first to the last week with a session (weeks without
        any are included, with zeros), oldest first, ``RangeIndex``:

        ====================  =========  ===============================================
        column                unit       meaning
        ====================  =========  ===============================================
        ``week_start``        date       the week's Monday (``datetime.date``)
        ``iso_week``          text       ISO year and week, e.g. ``"2024-W18"``
        ``sessions``          count      sessions that week
        ``minutes``           min        their total duration
        ``active_days``       days       distinct local dates with a session (0-7)
        ``minutes_{region}``  min        minutes of sessions listing that region, one
                                         column per region in :data:`REGIONS` (a session
                                         with several regions counts in full for each)
        ====================  =========  ===============================================

    Raises
    ------
    SchemaError
        When ``sessions`` lacks a needed column or ``start_time`` is not tz-aware.
    """
    _check_sessions(sessions)
    region_cols = [f"minutes_{r}" for r in REGIONS]
    cols = ["week_start", "iso_week", "sessions", "minutes", "active_days", *region_cols]
    if len(sessions) == 0:
        dtypes = {"week_start": object, "iso_week": str, "sessions": np.int64}
        dtypes |= {"active_days": np.int64}
        return pd.DataFrame({c: pd.Series([], dtype=dtypes.get(c, float)) for c in cols})

    if tz is None:
        day_ord = _day_ordinals(sessions["local_date"])
    else:
        local = pd.DatetimeIndex(sessions["start_time"]).tz_convert(resolve_tz(tz))
        day_ord = local.tz_localize(None).to_numpy().astype("datetime64[D]").astype(np.int64)
    # 1970-01-01 was a Thursday: weekday (Mon = 0) = (days + 3) % 7.
    week_ord = day_ord - (day_ord + 3) % 7
    dur = pd.to_numeric(sessions["duration_min"], errors="coerce").fillna(0.0).to_numpy(float)
    frame = pd.DataFrame({"week": week_ord, "day": day_ord, "minutes": dur})
    for r in REGIONS:
        frame[f"minutes_{r}"] = [
            d if r in regs else 0.0 for d, regs in zip(dur, sessions["regions"], strict=True)
        ]
    grouped = frame.groupby("week")
    table = grouped[["minutes", *region_cols]].sum()
    table["sessions"] = grouped.size()
    table["active_days"] = grouped["day"].nunique()
    all_weeks = np.arange(week_ord.min(), week_ord.max() + 1, 7)
    table = table.reindex(all_weeks, fill_value=0)

    epoch = date(1970, 1, 1)
    starts = [epoch + timedelta(days=int(w)) for w in all_weeks]
    week_start = np.empty(len(starts), dtype=object)
    for i, d in enumerate(starts):
        week_start[i] = d
    iso = [f"{d.isocalendar().year}-W{d.isocalendar().week:02d}" for d in starts]
    out = pd.DataFrame(
        {
            "week_start": pd.Series(week_start, dtype=object),
            "iso_week": pd.Series(iso, dtype=str),
            "sessions": table["sessions"].to_numpy(dtype=np.int64),
            "minutes": table["minutes"].to_numpy(dtype=float),
            "active_days": table["active_days"].to_numpy(dtype=np.int64),
        }
    )
    for c in region_cols:
        out[c] = table[c].to_numpy(dtype=float)
    return out[cols]
