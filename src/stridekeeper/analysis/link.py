"""Link each run to the mobility work done before it (docs/methods.md).

The unit of analysis is one run; its exposure is computed by
:func:`~stridekeeper.analysis.consistency.consistency` from the sessions that started
strictly before the run did.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import SchemaError
from ..schema import REGIONS
from .consistency import consistency

__all__ = [
    "EXPOSURES",
    "LAGGED_WINDOWS_DAYS",
    "LAG_WINDOWS_DAYS",
    "LOAD_COLUMNS",
    "MISSING_ATHLETE",
    "athlete_keys",
    "exposure_column",
    "link_exposure",
    "place_date_only",
    "training_load",
    "window_label",
]

#: The shared key :func:`athlete_keys` gives rows without an athlete name.
MISSING_ATHLETE = "\0missing"
#: Look-back windows chosen in advance (docs/methods.md). [days] ``2`` is the last 48 h.
LAG_WINDOWS_DAYS: tuple[float, ...] = (2, 7, 14, 28)
#: Lagged windows ``(near, far)``: sessions from ``far`` to ``near`` days before the run, for
#: delayed effects (e.g. ``(7, 35)``: 7 to 35 days before). Columns end in ``_7to35d``.
LAGGED_WINDOWS_DAYS: tuple[tuple[float, float], ...] = ((7, 35),)
#: Training-load columns :func:`training_load` adds, from the runs table itself.
LOAD_COLUMNS: tuple[str, ...] = (
    "acute_load_7d_h",
    "chronic_load_42d_h",
    "acute_chronic_ratio",
    "weekly_volume_14d_h",
    "time_trend_days",
)
#: Hours of "now" a date-only session is moved to when it is not known to precede a run:
#: the reader puts a date-only session at local noon; +12 h is the next local midnight.
_DATE_ONLY_NEXT_DAY_H = 12

#: Exposure names accepted by :func:`exposure_column`: name -> (unit, plain-English phrase).
#: Per-region minutes are ``minutes_per_week_<region>`` for every region in ``REGIONS``.
EXPOSURES: dict[str, tuple[str, str]] = {
    "sessions_per_week": ("sessions/week", "mobility sessions per week"),
    "minutes_per_week": ("min/week", "minutes of mobility work per week"),
    "active_day_share": ("share of days", "share of days with a mobility session"),
    "longest_gap_days": ("days", "longest gap between mobility sessions"),
    "gap_cv": ("1", "irregularity (coefficient of variation) of the gaps between sessions"),
    **{
        f"minutes_per_week_{r}": ("min/week", f"minutes per week of {r.replace('_', ' ')} work")
        for r in REGIONS
    },
    "ewm_load_min": ("min/day", "exponentially weighted mobility load"),
}

#: Exposures that have no look-back window.
_WINDOWLESS = ("ewm_load_min",)


Window = float | tuple[float, float] | str


def _parse_window(window_days: Window | None) -> float | tuple[float, float] | None:
    """``14`` -> 14.0; ``(7, 35)`` or ``"7-35"`` or ``"7to35"`` -> (7.0, 35.0)."""
    if window_days is None:
        return None
    if isinstance(window_days, str):
        text = window_days.strip().removesuffix("d")
        for sep in ("to", "-", ":"):
            if sep in text:
                a, b = text.split(sep, 1)
                try:
                    return _parse_window((float(a), float(b)))
                except ValueError:
                    break
        try:
            return float(text)
        except ValueError:
            raise ValueError(
                f"window must be a number of days or NEAR-FAR, got {window_days!r}"
            ) from None
    if isinstance(window_days, tuple | list):
        near, far = (float(v) for v in window_days)
        if not (np.isfinite(near) and np.isfinite(far) and 0 <= near < far):
            raise ValueError(f"a lagged window needs 0 <= near < far days, got {window_days!r}")
        return (near, far) if near > 0 else far
    return float(window_days)


def window_label(window_days: Window) -> str:
    """Column suffix of a window: ``14`` -> ``"14d"``, ``(7, 35)`` -> ``"7to35d"``."""
    w = _parse_window(window_days)
    if isinstance(w, tuple):
        return f"{w[0]:g}to{w[1]:g}d"
    return f"{w:g}d"


def exposure_column(exposure: str, window_days: Window | None) -> str:
    """Column name of an exposure in one window, as :func:`link_exposure` writes it.

    Parameters
    ----------
    exposure
        A key of :data:`EXPOSURES`, e.g. ``"sessions_per_week"``.
    window_days
        Look-back window. [days] Ignored for ``"ewm_load_min"``, which has none. A lagged
        window is ``(near, far)`` (or ``"7-35"``): sessions ``far`` to ``near`` days before.

    Returns
    -------
    str
        E.g. ``"sessions_per_week_14d"``, ``"sessions_per_week_7to35d"``.

    Raises
    ------
    ValueError
        On an unknown exposure or a non-positive window.
    """
    if exposure not in EXPOSURES:
        raise ValueError(f"unknown exposure {exposure!r}; choose one of: {', '.join(EXPOSURES)}")
    if exposure in _WINDOWLESS:
        return exposure
    w = _parse_window(window_days)
    if w is None or (not isinstance(w, tuple) and (not np.isfinite(w) or w <= 0)):
        raise ValueError(f"window_days must be a positive number of days, got {window_days!r}")
    return f"{exposure}_{window_label(w)}"


def _utc_times(values: pd.Series) -> pd.Series:
    try:
        times = pd.to_datetime(values, utc=True)
    except (TypeError, ValueError) as exc:
        raise SchemaError(f"runs 'start_time' must be timestamps: {exc}") from exc
    return times


def link_exposure(
    runs: pd.DataFrame,
    sessions: pd.DataFrame,
    *,
    windows_days: Sequence[Window] = LAG_WINDOWS_DAYS,
    lagged_windows_days: Sequence[tuple[float, float]] = LAGGED_WINDOWS_DAYS,
    mask_before_first_session: bool = True,
    date_only: str = "next_day",
    load: bool = True,
) -> pd.DataFrame:
    """The runs table with every mobility-exposure column before each run joined on.

    Parameters
    ----------
    runs
        One row per run: the :func:`~stridekeeper.metrics.summarize` columns, among them
        ``start_time`` (tz-aware, UTC), plus ``run_id`` and optionally ``athlete``.
        Not modified.
    sessions
        Canonical mobility-session table, optionally with an ``athlete`` column. Not
        modified. When both tables have ``athlete``, each run is linked to its own
        athlete's sessions only. Optional ``time_known`` (False = the log gave a date
        only) and ``before_run`` (True = the log says the session was done before that
        day's run) columns govern date-only sessions.
    windows_days
        Look-back windows. [days] A ``(near, far)`` pair is a lagged window.
    lagged_windows_days
        Lagged windows ``(near, far)`` [days]: sessions from ``far`` to ``near`` days before
        the run (for delayed effects); columns end in ``_{near}to{far}d``.
    mask_before_first_session
        When True (default), an exposure is NaN for a run whose window reaches back before
        the day of the athlete's first logged session: days before the log began are
        unlogged, not "no mobility work" (the exponentially weighted load, which has no
        window, needs its 28-day span inside the log). An athlete with no session at all
        gets NaN everywhere. When False, days before the log count as zero sessions.
    date_only
        Date-only sessions (``time_known`` False) not marked ``before_run``:
        ``"next_day"`` (default) counts them from the next day on, so never for a run on
        the same date; ``"HH:MM"`` puts them at that habitual local time of their date
        (those marked ``before_run`` False, done after the run, still count from the next
        day).
    load
        Also add the training-load columns of :func:`training_load`.

    Returns
    -------
    pandas.DataFrame
        A copy of ``runs`` (same rows, order and index) with the columns of
        :func:`~stridekeeper.analysis.consistency.consistency` appended (replacing
        same-named columns): ``sessions_per_week_{w}d`` [sessions/week],
        ``minutes_per_week_{w}d`` [min/week], ``active_day_share_{w}d`` [0-1],
        ``longest_gap_days_{w}d`` [days], ``gap_cv_{w}d`` [1],
        ``minutes_per_week_{region}_{w}d`` [min/week] and ``ewm_load_min`` [min/day]; the
        same per lagged window (``_7to35d``); and with ``load`` the
        :data:`LOAD_COLUMNS`. Only sessions starting strictly before the run's
        ``start_time`` count. Runs without a start time get NaN.

    Raises
    ------
    SchemaError
        When ``runs`` has no ``start_time`` or ``sessions`` lacks a canonical column.
    ValueError
        On a bad ``date_only``.
    """
    if not isinstance(runs, pd.DataFrame) or "start_time" not in runs.columns:
        raise SchemaError("runs must be a DataFrame with a 'start_time' column")
    if not isinstance(sessions, pd.DataFrame):
        raise SchemaError(f"sessions must be a DataFrame, got {type(sessions).__name__}")
    times = _utc_times(runs["start_time"]).reset_index(drop=True)
    n = len(runs)
    plain = sorted({float(w) for w in windows_days if not isinstance(_parse_window(w), tuple)})
    plain = plain or [14.0]
    lagged = sorted({_parse_window(w) for w in (*windows_days, *lagged_windows_days)
                     if isinstance(_parse_window(w), tuple)})  # fmt: skip
    # Column names, from an empty call (cheap) so every branch yields the same columns.
    template = consistency(_empty_like(sessions), pd.DatetimeIndex([], tz="UTC"),
                           windows_days=plain)  # fmt: skip
    plain_cols = list(template.columns)
    window_of: dict[str, float | tuple[float, float] | None] = {"ewm_load_min": None}
    for w in plain:
        for c in plain_cols:
            if c.endswith("_" + window_label(w)):
                window_of[c] = w
    lag_cols: list[tuple[tuple[float, float], str, str]] = []  # (window, source col, new col)
    for near, far in lagged:
        span = far - near
        src = consistency(_empty_like(sessions), pd.DatetimeIndex([], tz="UTC"),
                          windows_days=(span,)).columns  # fmt: skip
        for c in src:
            if c == "ewm_load_min":
                continue
            new = c.removesuffix("_" + window_label(span)) + "_" + window_label((near, far))
            lag_cols.append(((near, far), c, new))
    columns = plain_cols + [c for _, _, c in lag_cols]
    values = np.full((n, len(columns)), np.nan)

    per_athlete = "athlete" in runs.columns and "athlete" in sessions.columns
    if per_athlete:
        run_groups = athlete_keys(runs["athlete"])
        sess_groups = athlete_keys(sessions["athlete"])
    else:
        run_groups = np.zeros(n, dtype=object)
        sess_groups = np.zeros(len(sessions), dtype=object)
    has_time = times.notna().to_numpy()
    day = pd.Timedelta(days=1)
    for key in pd.unique(run_groups):
        rows = np.flatnonzero((run_groups == key) & has_time)
        own = sessions[sess_groups == key] if per_athlete else sessions
        if not len(rows) or (len(own) == 0 and mask_before_first_session):
            continue
        own = _date_only_times(own, date_only)
        at = pd.DatetimeIndex(times.iloc[rows])
        parts = [consistency(own, at, windows_days=plain).to_numpy(dtype=float)]
        for near, far in lagged:
            shifted = at - pd.Timedelta(days=near)
            block = consistency(own, shifted, windows_days=(far - near,))
            parts.append(block.drop(columns="ewm_load_min").to_numpy(dtype=float))
        block = np.column_stack(parts)
        if mask_before_first_session:
            log_start = pd.to_datetime(sessions.loc[own.index, "start_time"], utc=True).min()
            log_start = log_start.floor("D")
            for j, col in enumerate(columns):
                w = window_of.get(col) if j < len(plain_cols) else lag_cols[j - len(plain_cols)][0]
                reach = 28.0 if w is None else (w[1] if isinstance(w, tuple) else w)
                block[np.asarray(at - reach * day < log_start), j] = np.nan
        values[rows, :] = block

    out = runs.copy()
    for j, col in enumerate(columns):
        out[col] = values[:, j]
    if load:
        loads = training_load(runs)
        for col in LOAD_COLUMNS:
            out[col] = loads[col].to_numpy()
    return out


def place_date_only(sessions: pd.DataFrame, date_only: str = "next_day") -> pd.DataFrame:
    """Date-only sessions moved to where they fairly count, then marked ``time_known``.

    Parameters
    ----------
    sessions
        Mobility sessions, optionally with ``time_known`` and ``before_run`` (as the log
        reader writes them). Not modified.
    date_only
        ``"next_day"`` (from the next local midnight on) or ``"HH:MM"``, the athlete's
        habitual local time; a session marked ``before_run`` goes to the start of its day.

    Returns
    -------
    pandas.DataFrame
        A copy whose date-only sessions start at their placed time, ``time_known`` True.

    Raises
    ------
    ValueError
        On a bad ``date_only``.
    """
    out = _date_only_times(sessions, date_only)
    if "time_known" in out.columns:
        out = out.assign(time_known=True)
    return out


def _date_only_times(sessions: pd.DataFrame, date_only: str) -> pd.DataFrame:
    """Sessions with date-only start times moved where they can fairly count."""
    if date_only != "next_day":
        try:
            hh, mm = (int(v) for v in date_only.split(":"))
            if not (0 <= hh < 24 and 0 <= mm < 60):
                raise ValueError
        except ValueError:
            raise ValueError(
                f"date_only must be 'next_day' or a time HH:MM, got {date_only!r}"
            ) from None
    if "time_known" not in sessions.columns or len(sessions) == 0:
        return sessions
    known = sessions["time_known"].astype(object)
    date_only_rows = known.map(lambda v: v is False or v is np.False_ or v == 0).to_numpy(bool)
    if not date_only_rows.any():
        return sessions
    before = after = np.zeros(len(sessions), dtype=bool)
    if "before_run" in sessions.columns:
        flag = sessions["before_run"].astype(object)
        before = flag.map(lambda v: v is True or v is np.True_ or v == 1).to_numpy(bool)
        after = flag.map(lambda v: v is False or v is np.False_ or v == 0).to_numpy(bool)
    out = sessions.copy()
    start = pd.to_datetime(out["start_time"], utc=True)
    midnight = start - pd.Timedelta(hours=_DATE_ONLY_NEXT_DAY_H)  # reader: date-only = noon
    next_day = midnight + pd.Timedelta(days=1)
    if date_only == "next_day":
        moved = next_day
    else:  # the habitual time, except for a session the log says was after the run
        habit = midnight + pd.Timedelta(hours=hh, minutes=mm)
        moved = pd.Series(np.where(after, next_day, habit), index=start.index)
    new = np.where(date_only_rows & before, midnight, np.where(date_only_rows, moved, start))
    idx = pd.DatetimeIndex(new)
    out["start_time"] = idx.tz_localize("UTC") if idx.tz is None else idx.tz_convert("UTC")
    return out


def _run_hours(runs: pd.DataFrame) -> np.ndarray:
    for col in ("moving_time_s", "timer_time_s", "elapsed_time_s"):
        if col in runs.columns:
            hours = pd.to_numeric(runs[col], errors="coerce").to_numpy(dtype=float) / 3600.0
            if np.isfinite(hours).any():
                return hours
    return np.full(len(runs), np.nan)


def training_load(runs: pd.DataFrame) -> pd.DataFrame:
    """Training load before each run, from the runs table itself (docs/methods.md).

    Running time is ``moving_time_s`` (else ``timer_time_s``, ``elapsed_time_s``); a run's
    own time is never counted, only runs that started strictly before it. Windows are whole
    calendar days (UTC) before the run's date plus that day's earlier runs, the way daily
    training loads are summed (so the 7-day load of a Sunday run is Sunday a week ago to
    Saturday, whatever the hour of either run). A window reaching
    back before the athlete's first run in the table is scaled by the days it covers
    (unknown days are not zeros); with less than one day covered the load is NaN.

    Parameters
    ----------
    runs
        Runs with ``start_time`` and optionally ``athlete`` (each athlete on their own).

    Returns
    -------
    pandas.DataFrame
        Same index as ``runs``:

        =========================  =======  ==============================================
        ``acute_load_7d_h``        h        running time in the 7 days before the run
        ``chronic_load_42d_h``     h/week   running time per week over the prior 42 days
        ``acute_chronic_ratio``    1        acute / chronic (NaN with no chronic load)
        ``weekly_volume_14d_h``    h/week   running time per week over the prior 14 days
        ``time_trend_days``        days     days since the athlete's first run
        =========================  =======  ==============================================
    """
    times = _utc_times(runs["start_time"]).reset_index(drop=True)
    hours = np.nan_to_num(_run_hours(runs), nan=0.0)
    groups = (
        athlete_keys(runs["athlete"]) if "athlete" in runs.columns else np.zeros(len(runs), object)
    )
    out = {c: np.full(len(runs), np.nan) for c in LOAD_COLUMNS}
    ns_day = 86_400 * 10**9
    for key in pd.unique(groups):
        rows = np.flatnonzero((groups == key) & times.notna().to_numpy())
        if not len(rows):
            continue
        t = pd.DatetimeIndex(times.iloc[rows]).as_unit("ns").asi8
        order = np.argsort(t, kind="stable")
        ts, hs = t[order], hours[rows][order]
        cum = np.concatenate([[0.0], np.cumsum(hs)])
        hi = np.searchsorted(ts, t, side="left")
        first = ts[0]
        since = (t - first) / ns_day
        res = {}
        day0 = t - t % ns_day  # midnight (UTC) of the run's date: whole calendar days count
        for name, w in (("a", 7.0), ("c", 42.0), ("v", 14.0)):
            lo = np.searchsorted(ts, day0 - int(w * ns_day), side="left")
            total = cum[hi] - cum[lo]
            covered = np.minimum(since, w)
            with np.errstate(invalid="ignore", divide="ignore"):
                res[name] = np.where(covered >= 1.0, total * w / covered, np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(res["c"] > 0, res["a"] / (res["c"] / 6.0), np.nan)
        out["acute_load_7d_h"][rows] = res["a"]
        out["chronic_load_42d_h"][rows] = res["c"] * 7.0 / 42.0
        out["acute_chronic_ratio"][rows] = ratio
        out["weekly_volume_14d_h"][rows] = res["v"] / 2.0
        out["time_trend_days"][rows] = since
    return pd.DataFrame(out, index=runs.index)


def athlete_keys(values: pd.Series) -> np.ndarray:
    """The key :func:`link_exposure` groups runs and sessions by, one per row.

    Parameters
    ----------
    values
        An ``athlete`` column.

    Returns
    -------
    numpy.ndarray
        Athlete names as objects; every missing name is one shared key
        (:data:`MISSING_ATHLETE`).
    """
    keys = values.astype(object).to_numpy().copy()
    keys[pd.isna(keys)] = MISSING_ATHLETE
    return keys


def _empty_like(sessions: pd.DataFrame) -> pd.DataFrame:
    return sessions.iloc[:0]
