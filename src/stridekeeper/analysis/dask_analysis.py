"""Cohort analysis on Dask (``analyze --engine dask``): one task per athlete.

:func:`analyze_dask` links each athlete's runs to their own mobility sessions
(:func:`~stridekeeper.analysis.link.link_exposure`) and runs the per-athlete statistics
as one task per athlete, then fits the cohort mixed model in the client with
:func:`~stridekeeper.analysis.cohort.analyze_cohort`. The result equals
:func:`~stridekeeper.analysis.stats.analyze` on the same tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..cluster import dask_client

__all__ = ["analyze_dask", "link_exposure_dask"]


def _athlete_link_and_analyze(
    runs: pd.DataFrame,
    sessions: pd.DataFrame,
    windows_days: Sequence[float],
    analyze_kw: dict[str, Any] | None,
) -> tuple[pd.DataFrame, Any]:
    """Task: one athlete's runs linked to their sessions, and optionally analysed."""
    from .link import link_exposure
    from .stats import analyze_linked

    linked = link_exposure(runs, sessions, windows_days=windows_days)
    result = analyze_linked(linked, **analyze_kw) if analyze_kw is not None else None
    return linked, result


def _partitions(
    runs: pd.DataFrame, sessions: pd.DataFrame
) -> list[tuple[Any, np.ndarray, pd.DataFrame]]:
    """(athlete key, row positions in runs, that athlete's sessions), as link_exposure groups."""
    from .link import athlete_keys

    run_keys = athlete_keys(runs["athlete"])
    sess_keys = athlete_keys(sessions["athlete"])
    return [(key, np.flatnonzero(run_keys == key), sessions[sess_keys == key])
            for key in pd.unique(run_keys)]  # fmt: skip


def _distributed_link(
    client: Any,
    runs: pd.DataFrame,
    sessions: pd.DataFrame,
    windows_days: Sequence[float],
    analyze_kw: dict[str, Any] | None,
) -> tuple[pd.DataFrame, dict[Any, Any]]:
    from .link import MISSING_ATHLETE, link_exposure

    if len(runs) == 0 or "athlete" not in runs.columns or "athlete" not in sessions.columns:
        return link_exposure(runs, sessions, windows_days=windows_days), {}
    parts = _partitions(runs, sessions)
    futures = [client.submit(_athlete_link_and_analyze, runs.iloc[pos], own, list(windows_days),
                             None if pd.isna(key) or key == MISSING_ATHLETE else analyze_kw,
                             pure=False)
               for key, pos, own in parts]  # fmt: skip
    done = client.gather(futures)
    order = np.concatenate([pos for _, pos, _ in parts])
    linked = pd.concat([lk for lk, _ in done])
    linked = linked.iloc[np.argsort(order, kind="stable")]
    results = {key: res for (key, _, _), (_, res) in zip(parts, done, strict=True)
               if res is not None}  # fmt: skip
    return linked, results


def link_exposure_dask(
    runs: pd.DataFrame,
    sessions: pd.DataFrame,
    *,
    windows_days: Sequence[float] | None = None,
    scheduler: str | None = None,
    client: Any = None,
    n_workers: int | None = None,
) -> pd.DataFrame:
    """:func:`~stridekeeper.analysis.link.link_exposure`, one Dask task per athlete.

    Parameters
    ----------
    runs, sessions, windows_days
        As in :func:`~stridekeeper.analysis.link.link_exposure` (default windows
        :data:`~stridekeeper.analysis.link.LAG_WINDOWS_DAYS`). Not modified.
    scheduler, n_workers
        Where to run when no ``client`` is given (see :func:`dask_client`).
    client
        An open ``distributed.Client`` to use (left open).

    Returns
    -------
    pandas.DataFrame
        Equal to ``link_exposure(runs, sessions, windows_days=windows_days)``.
    """
    from .link import LAG_WINDOWS_DAYS

    windows = LAG_WINDOWS_DAYS if windows_days is None else windows_days
    if client is not None:
        return _distributed_link(client, runs, sessions, windows, None)[0]
    with dask_client(scheduler, n_workers=n_workers) as c:
        return _distributed_link(c, runs, sessions, windows, None)[0]


def analyze_dask(
    runs: pd.DataFrame,
    sessions: pd.DataFrame,
    *,
    exposure: str = "sessions_per_week",
    window_days: float = 14,
    controls: Sequence[str] | None = None,
    seed: int = 0,
    scheduler: str | None = None,
    client: Any = None,
    n_workers: int | None = None,
) -> Any:
    """:func:`~stridekeeper.analysis.stats.analyze` with the per-athlete work on Dask.

    Each athlete's linking (:func:`~stridekeeper.analysis.link.link_exposure`) and
    single-athlete statistics run as one task; the cohort mixed model is fitted in this
    process on the whole linked table.

    Parameters
    ----------
    runs, sessions, exposure, window_days, controls, seed
        As in :func:`~stridekeeper.analysis.stats.analyze`.
    scheduler, client, n_workers
        As in :func:`link_exposure_dask`.

    Returns
    -------
    AnalysisResult
        Equal to ``analyze(runs, sessions, ...)`` (``to_dict()`` compares equal).
    """
    if client is None:
        with dask_client(scheduler, n_workers=n_workers) as c:
            return analyze_dask(runs, sessions, exposure=exposure, window_days=window_days,
                                controls=controls, seed=seed, client=c)  # fmt: skip
    from .link import LAG_WINDOWS_DAYS, exposure_column
    from .stats import analyze_linked

    column = exposure_column(exposure, window_days)
    windows = sorted({*LAG_WINDOWS_DAYS, float(window_days)})
    kw = {"exposure": exposure, "window_days": window_days, "controls": controls,
          "seed": seed, "column": column}  # fmt: skip
    linked, per = _distributed_link(client, runs, sessions, windows, kw)
    return analyze_linked(linked, **kw, per_athlete=per)
