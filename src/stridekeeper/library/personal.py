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
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..metrics.dropoff import DEFAULT_PRIOR, pooled_prior, stride_dropoff

if TYPE_CHECKING:
    from .store import Library

__all__ = ["personalise_dropoff"]

log = logging.getLogger(__name__)

#: With the athlete's own relation, a late window this far outside the run's fresh speeds
#: still gets a number (one run alone: 12 %). [%]
PERSONAL_MAX_EXTRAPOLATION_PCT = 30.0


def _extrapolated(runs: pd.DataFrame) -> np.ndarray:
    """Runs whose drop-off was refused or flagged for a speed outside their fresh part."""

    def text(col: str) -> pd.Series:  # an all-empty column is stored as float NaN
        values = runs[col] if col in runs.columns else pd.Series(index=runs.index, dtype=object)
        return values.astype(object).where(values.notna(), "").astype(str)

    reason, warning = text("dropoff_reason"), text("dropoff_warning")
    return (reason.str.contains("outside the") | warning.str.contains("extrapolation")).to_numpy()


def personalise_dropoff(library: Library, athletes: Iterable[str] | None = None) -> int:
    """Re-estimate the extrapolating runs of ``athletes`` with each one's pooled relation.

    Parameters
    ----------
    library
        The library, its writer lock held by the caller.
    athletes
        Whose runs to look at; default: every athlete with runs.

    Returns
    -------
    int
        Runs whose drop-off was computed again.
    """
    from .store import Commit

    runs = library.runs()
    if not len(runs) or "dropoff_elasticity" not in runs.columns:
        return 0
    updated = []
    names = runs["athlete"].dropna().unique() if athletes is None else athletes
    for who in sorted(set(names)):
        mine = runs[runs["athlete"] == who]
        est = pd.to_numeric(mine["dropoff_elasticity"], errors="coerce").to_numpy(dtype=float)
        se = pd.to_numeric(mine["dropoff_elasticity_se"], errors="coerce").to_numpy(dtype=float)
        prior = pooled_prior(est, se)
        if prior == DEFAULT_PRIOR:
            continue
        label = f"personal ({int((np.isfinite(est) & (se > 0)).sum())} runs)"
        for _, row in mine[_extrapolated(mine)].iterrows():
            if row.get("dropoff_prior") == label:
                continue  # already computed with this pool
            try:
                records = library.records(row["run_id"])
            except Exception as exc:  # a damaged library is `check`'s to report
                log.debug("no records for %s: %s", row["run_id"], exc)
                continue
            # the athlete's own relation may be carried further than one run's fresh part
            d = stride_dropoff(
                records, prior=prior, max_extrapolation_pct=PERSONAL_MAX_EXTRAPOLATION_PCT
            )
            new = row.copy()
            new["stride_dropoff_pct"] = d.stride_dropoff_pct
            new["stride_dropoff_raw_pct"] = d.stride_dropoff_raw_pct
            new["stride_dropoff_ci95_low_pct"] = d.ci95_pct[0]
            new["stride_dropoff_ci95_high_pct"] = d.ci95_pct[1]
            new["cadence_drift_pct"] = d.cadence_drift_pct
            new["dropoff_reason"] = d.reason
            new["dropoff_warning"] = d.warning
            new["dropoff_prior"] = label
            updated.append(new)
    if not updated:
        return 0
    empty = pd.DataFrame()
    library.commit(Commit(runs=pd.DataFrame(updated).reset_index(drop=True), records={},
                          mobility=empty, sources=empty))  # fmt: skip
    return len(updated)
