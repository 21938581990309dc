"""Link each run to the mobility work done before it (SCIENCE.md sections 4-5).

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

__all__ = ["EXPOSURES", "LAG_WINDOWS_DAYS", "exposure_column", "link_exposure"]

#: Look-back windows chosen in advance (SCIENCE.md section 4). [days] ``2`` is the last 48 h.
LAG_WINDOWS_DAYS: tuple[float, ...] = (2, 7, 14, 28)

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


def exposure_column(exposure: str, window_days: float | None) -> str:
    """Column name of an exposure in one window, as :func:`link_exposure` writes it.

    Parameters
    ----------
    exposure
        A key of :data:`EXPOSURES`, e.g. ``"sessions_per_week"``.
    window_days
        Look-back window. [days] Ignored for ``"ewm_load_min"``, which has none.

    Returns
    -------
    str
        E.g. ``"sessions_per_week_14d"``.

    Raises
    ------
    ValueError
        On an unknown exposure or a non-positive window.
    """
    if exposure not in EXPOSURES:
        raise ValueError(f"unknown exposure {exposure!r}; choose one of: {', '.join(EXPOSURES)}")
    if exposure in _WINDOWLESS:
        return exposure
    if window_days is None or not np.isfinite(window_days) or window_days <= 0:
        raise ValueError(f"window_days must be a positive number of days, got {window_days!r}")
    return f"{exposure}_{float(window_days):g}d"


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
    windows_days: Sequence[float] = LAG_WINDOWS_DAYS,
    mask_before_first_session: bool = True,
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
        athlete's sessions only.
    windows_days
        Look-back windows. [days]
    mask_before_first_session
        When True (default), exposure is NaN for runs that started before the athlete's
        first logged session: a period before the log began is unlogged, not "no mobility
        work". An athlete with no session at all gets NaN everywhere. When False, such runs
        get zero sessions.

    Returns
    -------
    pandas.DataFrame
        A copy of ``runs`` (same rows, order and index) with the columns of
        :func:`~stridekeeper.analysis.consistency.consistency` appended (replacing
        same-named columns): ``sessions_per_week_{w}d`` [sessions/week],
        ``minutes_per_week_{w}d`` [min/week], ``active_day_share_{w}d`` [0-1],
        ``longest_gap_days_{w}d`` [days], ``gap_cv_{w}d`` [1],
        ``minutes_per_week_{region}_{w}d`` [min/week] and ``ewm_load_min`` [min/day].
        Only sessions starting strictly before the run's ``start_time`` count. Runs without
        a start time get NaN.

    Raises
    ------
    SchemaError
        When ``runs`` has no ``start_time`` or ``sessions`` lacks a canonical column.
    """
    if not isinstance(runs, pd.DataFrame) or "start_time" not in runs.columns:
        raise SchemaError("runs must be a DataFrame with a 'start_time' column")
    if not isinstance(sessions, pd.DataFrame):
        raise SchemaError(f"sessions must be a DataFrame, got {type(sessions).__name__}")
    times = _utc_times(runs["start_time"]).reset_index(drop=True)
    n = len(runs)
    # Column names, from an empty call (cheap) so every branch yields the same columns.
    template = consistency(_empty_like(sessions), pd.DatetimeIndex([], tz="UTC"),
                           windows_days=windows_days)  # fmt: skip
    values = np.full((n, len(template.columns)), np.nan)

    per_athlete = "athlete" in runs.columns and "athlete" in sessions.columns
    if per_athlete:
        run_groups = _group_keys(runs["athlete"])
        sess_groups = _group_keys(sessions["athlete"])
    else:
        run_groups = np.zeros(n, dtype=object)
        sess_groups = np.zeros(len(sessions), dtype=object)
    has_time = times.notna().to_numpy()
    for key in pd.unique(run_groups):
        rows = np.flatnonzero((run_groups == key) & has_time)
        own = sessions[sess_groups == key] if per_athlete else sessions
        if not len(rows) or (len(own) == 0 and mask_before_first_session):
            continue
        at = pd.DatetimeIndex(times.iloc[rows])
        block = consistency(own, at, windows_days=windows_days).to_numpy(dtype=float, copy=True)
        if mask_before_first_session:
            first = pd.to_datetime(own["start_time"], utc=True).min()
            block[np.asarray(at < first), :] = np.nan
        values[rows, :] = block

    out = runs.copy()
    for j, col in enumerate(template.columns):
        out[col] = values[:, j]
    return out


def _group_keys(values: pd.Series) -> np.ndarray:
    """Athlete names as objects, missing names as one shared key."""
    keys = values.astype(object).to_numpy().copy()
    keys[pd.isna(keys)] = "\0missing"
    return keys


def _empty_like(sessions: pd.DataFrame) -> pd.DataFrame:
    return sessions.iloc[:0]
