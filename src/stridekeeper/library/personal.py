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

from ..lazy import is_frame
from ..metrics.dropoff import (
    DEFAULT_PRIOR,
    GAIT_CADENCE_SPM,
    DropoffResult,
    StepPrior,
    pooled_prior,
    stride_dropoff,
)
from ..schema import RecordColumns

if TYPE_CHECKING:
    import pandas as pd

    from .store import Library

__all__ = ["personalise_dropoff"]

log = logging.getLogger(__name__)

#: With the athlete's own relation, a late window this far outside the run's fresh speeds
#: still gets a number (one run alone: 12 %). [%]
PERSONAL_MAX_EXTRAPOLATION_PCT = 30.0
#: Runs with their own gait estimate an athlete needs for a personal threshold.
MIN_GAIT_RUNS = 5


#: The runs table's columns the decisions below read.
_COLUMNS = ("athlete", "records_file", "gait_estimate_spm", "gait_cadence_spm",
            "dropoff_elasticity", "dropoff_elasticity_se", "dropoff_reason", "dropoff_warning",
            "dropoff_prior")  # fmt: skip


def _rows_columns(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The decision columns of some runs (:meth:`Library.run_rows`), as
    :meth:`Library.run_columns` gives them."""
    out: dict[str, Any] = {}
    for c in _COLUMNS:
        values = [r.get(c) for r in rows]
        if c in _TEXT:
            out[c] = [v if isinstance(v, str) else None for v in values]
        else:
            out[c] = np.array([_number(v) for v in values], dtype=float)
    return out


def _number(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


_TEXT = frozenset({"athlete", "records_file", "dropoff_reason", "dropoff_warning",
                   "dropoff_prior"})  # fmt: skip


def _text(cols: dict[str, Any], name: str, n: int) -> list[str | None]:
    v = cols[name]  # an all-empty column may be stored as floats (NaN)
    return v if isinstance(v, list) else [None] * n


def _extrapolated(cols: dict[str, Any], n: int) -> np.ndarray:
    """Runs whose drop-off was refused or flagged for a speed outside their fresh part."""
    reason, warning = _text(cols, "dropoff_reason", n), _text(cols, "dropoff_warning", n)
    return np.array([("outside the" in (r or "")) or ("extrapolation" in (w or ""))
                     for r, w in zip(reason, warning, strict=True)], dtype=bool)  # fmt: skip


def _numbers(cols: dict[str, Any], name: str, n: int) -> np.ndarray:
    v = cols[name]
    return np.full(n, np.nan) if v is None else np.asarray(v, dtype=float)


def _athlete_gait_spm(cols: dict[str, Any], n: int) -> float:
    """The athlete's cadence threshold: the median of their runs' own estimates."""
    est = _numbers(cols, "gait_estimate_spm", n)
    est = est[np.isfinite(est)]
    if len(est) < MIN_GAIT_RUNS:
        return GAIT_CADENCE_SPM
    return float(round(float(np.median(est))))


def _used_gait(cols: dict[str, Any], n: int) -> np.ndarray:
    used = _numbers(cols, "gait_cadence_spm", n)
    return np.where(np.isfinite(used), used, GAIT_CADENCE_SPM)


def _stale(cols: dict[str, Any], n: int) -> np.ndarray:
    """Runs computed with another gait threshold than the athlete's (and with records)."""
    gait = _athlete_gait_spm(cols, n)
    has_records = (np.ones(n, dtype=bool) if cols["records_file"] is None
                   else np.array([isinstance(f, str) for f in _text(cols, "records_file", n)],
                                 dtype=bool))  # fmt: skip
    return (np.abs(_used_gait(cols, n) - gait) >= 1.0) & has_records


def _pool(cols: dict[str, Any], n: int) -> tuple[StepPrior, str]:
    """The athlete's pooled prior and the label the runs computed with it carry."""
    est = _numbers(cols, "dropoff_elasticity", n)
    se = _numbers(cols, "dropoff_elasticity_se", n)
    with np.errstate(invalid="ignore"):
        label = f"personal ({int((np.isfinite(est) & (se > 0)).sum())} runs)"
    return pooled_prior(est, se), label


def _to_redo(cols: dict[str, Any], n: int, prior: StepPrior, label: str) -> np.ndarray:
    """Extrapolating runs not yet computed with this pool (none with the population's)."""
    if prior == DEFAULT_PRIOR:
        return np.zeros(n, dtype=bool)
    done = np.array([p == label for p in _text(cols, "dropoff_prior", n)], dtype=bool)
    return _extrapolated(cols, n) & ~done


def _athlete_cols(cols: dict[str, Any], who: str) -> tuple[dict[str, Any], int]:
    sel = np.array([a == who for a in _text(cols, "athlete", len(cols["athlete"]))], dtype=bool)
    idx = np.flatnonzero(sel)
    out = {c: (None if v is None else [v[i] for i in idx] if isinstance(v, list) else v[idx])
           for c, v in cols.items()}  # fmt: skip
    return out, len(idx)


def _has_work(cols: dict[str, Any], who: str) -> bool:
    """Whether :func:`personalise_dropoff` would compute any run of ``who`` again."""
    mine, n = _athlete_cols(cols, who)
    if _stale(mine, n).any():
        return True
    prior, label = _pool(mine, n)
    return bool(_to_redo(mine, n, prior, label).any())


def _with(row: dict[str, Any], d: DropoffResult, label: str | None) -> dict[str, Any]:
    new = dict(row)
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
    if np.isfinite(d.running_cadence_spm):  # with the gait rule this pass used
        new["running_cadence_spm"] = d.running_cadence_spm
    new["dropoff_elasticity"] = d.elasticity_data
    new["dropoff_elasticity_se"] = d.elasticity_data_se
    return new


class _Records:
    """A run's records: from the tables just committed when given, else from the library."""

    def __init__(self, library: Library, fresh: Mapping[str, Any] | None) -> None:
        self.library, self.fresh = library, fresh or {}

    def __call__(self, run_id: str) -> pd.DataFrame | RecordColumns:
        table = self.fresh.get(run_id)
        if table is None or is_frame(table):
            return self.library.records(run_id)
        from .store import records_columns

        return records_columns(table)  # no DataFrame: an import's pass never imports pandas


def _again(
    records_of: _Records, row: dict[str, Any], gait_spm: float, prior: StepPrior,
    extrapolation_pct: float,
) -> DropoffResult | None:  # fmt: skip
    try:
        records = records_of(row["run_id"])
    except Exception as exc:  # a damaged library is `check`'s to report
        log.debug("no records for %s: %s", row["run_id"], exc)
        return None
    return stride_dropoff(records, prior=prior, gait_cadence_spm=gait_spm,
                          max_extrapolation_pct=extrapolation_pct)  # fmt: skip


def _personal_gait(records_of: _Records, mine: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The runs of ``mine`` computed with another threshold than the athlete's, redone."""
    cols, n = _rows_columns(mine), len(mine)
    gait = _athlete_gait_spm(cols, n)
    out = []
    for row, stale in zip(mine, _stale(cols, n), strict=True):
        d = _again(records_of, row, gait, DEFAULT_PRIOR, 12.0) if stale else None
        if d is not None:
            out.append(_with(row, d, "population" if d.model else row.get("dropoff_prior")))
    return out


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

    cols = library.run_columns(_COLUMNS)  # pyarrow alone: most imports change nothing here
    if cols is None or cols["dropoff_elasticity"] is None:
        return 0
    names = {a for a in cols["athlete"] if a is not None} if athletes is None else athletes
    todo = [who for who in sorted(set(names)) if _has_work(cols, who)]
    if not todo:
        return 0
    rows = library.run_rows()  # in runs() order: the pooled sums the same to the last bit
    records_of = _Records(library, records)
    updated: dict[str, dict[str, Any]] = {}  # run_id -> its row as last computed
    for who in todo:
        mine = [r for r in rows if r.get("athlete") == who]
        redone = _personal_gait(records_of, mine)
        if redone:
            updated.update((r["run_id"], r) for r in redone)
            again_ids = {r["run_id"] for r in redone}
            mine = [r for r in mine if r["run_id"] not in again_ids] + redone
        mc, n = _rows_columns(mine), len(mine)
        gait = _athlete_gait_spm(mc, n)
        prior, label = _pool(mc, n)
        # the athlete's own relation may be carried further than one run's fresh part
        for row, redo in zip(mine, _to_redo(mc, n, prior, label), strict=True):
            d = (
                _again(records_of, row, gait, prior, PERSONAL_MAX_EXTRAPOLATION_PCT)
                if redo
                else None
            )
            if d is not None:
                updated[row["run_id"]] = _with(row, d, label)
    if not updated:
        return 0
    library.commit(Commit(runs=list(updated.values()), records={}, mobility=[], sources=[]))
    return len(updated)
