"""An athlete's own step-speed relation for the runs their own fresh part can't normalise.

A run's drop-off compares its late window with what its fresh part predicts at the late
window's speed (:func:`~stridekeeper.metrics.stride_dropoff`). When the late window is
faster or slower than anything in the fresh part (a negative split, slowing late), one run
can't tell how this runner's steps change with speed, and the population prior decides.
Across an athlete's many runs it can be told: each run stores its fresh part's own
elasticity estimate (``dropoff_elasticity``, ``dropoff_elasticity_se``), and after every
import those are pooled (:func:`~stridekeeper.metrics.dropoff.pooled_prior`) and the runs
that extrapolated are computed again from their records with the athlete's own relation
(``dropoff_prior`` says ``personal (N runs)``). A single file (``inspect``) has no library
and keeps ``population``.

The gait rule is personal the same way: each run stores its own estimate of the cadence
where this runner's walking ends and slow running starts (``gait_estimate_spm``); with five
or more, their median is the athlete's threshold, and when it differs from the population's
every run of theirs is computed again with it (``gait_cadence_spm`` says which was used).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ..metrics.dropoff import (
    DEFAULT_PRIOR,
    GAIT_CADENCE_SPM,
    DropoffResult,
    StepPrior,
    pooled_prior,
    stride_dropoff,
)

if TYPE_CHECKING:
    import pandas as pd

    from .store import Library
else:
    from ..lazy import pandas as pd

__all__ = ["personalise_dropoff"]

log = logging.getLogger(__name__)

#: With the athlete's own relation, a late window this far outside the run's fresh speeds
#: still gets a number (one run alone: 12 %). [%]
PERSONAL_MAX_EXTRAPOLATION_PCT = 30.0
#: Runs with their own gait estimate an athlete needs for a personal threshold.
MIN_GAIT_RUNS = 5


def _extrapolated(runs: pd.DataFrame) -> np.ndarray:
    """Runs whose drop-off was refused or flagged for a speed outside their fresh part."""

    def text(col: str) -> pd.Series:  # an all-empty column is stored as float NaN
        values = runs[col] if col in runs.columns else pd.Series(index=runs.index, dtype=object)
        return values.astype(object).where(values.notna(), "").astype(str)

    reason, warning = text("dropoff_reason"), text("dropoff_warning")
    return (reason.str.contains("outside the") | warning.str.contains("extrapolation")).to_numpy()


def _athlete_gait_spm(mine: pd.DataFrame) -> float:
    """The athlete's cadence threshold: the median of their runs' own estimates."""
    if "gait_estimate_spm" not in mine.columns:
        return GAIT_CADENCE_SPM
    est = pd.to_numeric(mine["gait_estimate_spm"], errors="coerce").dropna()
    if len(est) < MIN_GAIT_RUNS:
        return GAIT_CADENCE_SPM
    return float(round(float(est.median())))


def _used_gait(mine: pd.DataFrame) -> np.ndarray:
    if "gait_cadence_spm" not in mine.columns:
        return np.full(len(mine), GAIT_CADENCE_SPM)
    used = pd.to_numeric(mine["gait_cadence_spm"], errors="coerce").to_numpy(dtype=float)
    return np.where(np.isfinite(used), used, GAIT_CADENCE_SPM)


def _with(row: pd.Series, d: DropoffResult, label: str) -> pd.Series:
    new = row.copy()
    new["stride_dropoff_pct"] = d.stride_dropoff_pct
    new["stride_dropoff_raw_pct"] = d.stride_dropoff_raw_pct
    new["stride_dropoff_ci95_low_pct"] = d.ci95_pct[0]
    new["stride_dropoff_ci95_high_pct"] = d.ci95_pct[1]
    new["cadence_drift_pct"] = d.cadence_drift_pct
    new["dropoff_reason"] = d.reason
    new["dropoff_warning"] = d.warning
    new["dropoff_prior"] = label
    new["gait_excluded_pct"] = d.excluded_gait_pct
    new["gait_cadence_spm"] = d.gait_cadence_spm
    new["dropoff_elasticity"] = d.elasticity_data
    new["dropoff_elasticity_se"] = d.elasticity_data_se
    return new


class _Records:
    """A run's records: from the tables just committed when given, else from the library."""

    def __init__(self, library: Library, fresh: Mapping[str, Any] | None) -> None:
        self.library, self.fresh = library, fresh or {}

    def __call__(self, run_id: str) -> pd.DataFrame:
        table = self.fresh.get(run_id)
        if table is None or isinstance(table, pd.DataFrame):
            return self.library.records(run_id)
        from .store import records_frame

        return records_frame(table)


def _again(
    records_of: _Records, row: pd.Series, gait_spm: float, prior: StepPrior,
    extrapolation_pct: float,
) -> DropoffResult | None:  # fmt: skip
    try:
        records = records_of(row["run_id"])
    except Exception as exc:  # a damaged library is `check`'s to report
        log.debug("no records for %s: %s", row["run_id"], exc)
        return None
    return stride_dropoff(records, prior=prior, gait_cadence_spm=gait_spm,
                          max_extrapolation_pct=extrapolation_pct)  # fmt: skip


def _personal_gait(records_of: _Records, mine: pd.DataFrame) -> pd.DataFrame:
    """``mine`` with the runs computed with another threshold than the athlete's redone."""
    gait = _athlete_gait_spm(mine)
    has_records = mine["records_file"].notna().to_numpy() if "records_file" in mine else True
    stale = (np.abs(_used_gait(mine) - gait) >= 1.0) & has_records
    if not stale.any():
        return mine.iloc[0:0]
    out = []
    for _, row in mine[stale].iterrows():
        d = _again(records_of, row, gait, DEFAULT_PRIOR, 12.0)
        if d is not None:
            out.append(_with(row, d, "population" if d.model else row.get("dropoff_prior")))
    return pd.DataFrame(out)


def personalise_dropoff(
    library: Library,
    athletes: Iterable[str] | None = None,
    *,
    records: Mapping[str, Any] | None = None,
) -> int:
    """Re-estimate the extrapolating runs of ``athletes`` with each one's pooled relation.

    Parameters
    ----------
    library
        The library, its writer lock held by the caller.
    athletes
        Whose runs to look at; default: every athlete with runs.
    records
        run_id -> the records tables (:func:`~stridekeeper.library.store.records_table`)
        of runs just committed, still in memory: read from there rather than from the
        library's files (the same values; the import's last commit hands them on).

    Returns
    -------
    int
        Runs whose drop-off was computed again.
    """
    from .store import Commit

    runs = library.runs()
    if not len(runs) or "dropoff_elasticity" not in runs.columns:
        return 0
    records_of = _Records(library, records)
    updated = []
    names = runs["athlete"].dropna().unique() if athletes is None else athletes
    for who in sorted(set(names)):
        mine = runs[runs["athlete"] == who]
        redone = _personal_gait(records_of, mine)
        if len(redone):
            updated.append(redone)
            mine = pd.concat([mine[~mine["run_id"].isin(redone["run_id"])], redone])
        gait = _athlete_gait_spm(mine)
        est = pd.to_numeric(mine["dropoff_elasticity"], errors="coerce").to_numpy(dtype=float)
        se = pd.to_numeric(mine["dropoff_elasticity_se"], errors="coerce").to_numpy(dtype=float)
        prior = pooled_prior(est, se)
        if prior == DEFAULT_PRIOR:
            continue
        label = f"personal ({int((np.isfinite(est) & (se > 0)).sum())} runs)"
        again = []
        for _, row in mine[_extrapolated(mine)].iterrows():
            if row.get("dropoff_prior") == label:
                continue  # already computed with this pool
            # the athlete's own relation may be carried further than one run's fresh part
            d = _again(records_of, row, gait, prior, PERSONAL_MAX_EXTRAPOLATION_PCT)
            if d is not None:
                again.append(_with(row, d, label))
        if again:
            updated.append(pd.DataFrame(again))
    if not updated:
        return 0
    table = pd.concat(updated).drop_duplicates("run_id", keep="last").reset_index(drop=True)
    empty = pd.DataFrame()
    library.commit(Commit(runs=table, records={}, mobility=empty, sources=empty))
    return len(table)
