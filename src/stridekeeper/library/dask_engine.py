"""Cohort import and analysis on Dask (``--engine dask``): one machine or a cluster.

Import: :func:`~stridekeeper.library.importer.import_paths` with ``engine="dask"`` sends
every file's decoding (reader, moving mask, metrics: the existing ``_decode_item``) to a
Dask worker as a task; the results come back to the client process, which commits them
with the same code as the local engine (``_build_commit`` + :meth:`Library.commit`, each
batch atomic). The library is therefore the same as the local engine's (run ids, metric
values, athletes), and only the client writes to it.

What travels: the client reads each file once (it hashes it for incremental import) and
sends its bytes with the task, so workers need no access to the input files or the
library. Apple Health exports are the exception: they are streamed from disk by path, so
they must be on storage the workers can read at the same path.

Analysis: :func:`analyze_dask` links each athlete's runs to their own mobility sessions
(:func:`~stridekeeper.analysis.link.link_exposure`) and runs the per-athlete statistics
as one task per athlete, then fits the cohort mixed model in the client with
:func:`~stridekeeper.analysis.cohort.analyze_cohort`. The result equals
:func:`~stridekeeper.analysis.stats.analyze` on the same tables.

Dask is optional (``pip install 'stridekeeper[dask]'``) and imported only here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

from ..errors import StridekeeperError

__all__ = [
    "DASK_MISSING",
    "analyze_dask",
    "dask_client",
    "dask_executor",
    "import_paths_dask",
    "link_exposure_dask",
    "require_dask",
]

log = logging.getLogger(__name__)

#: The one-line message when Dask is not installed.
DASK_MISSING = (
    "the dask engine needs Dask: pip install 'stridekeeper[dask]' "
    "(or: pip install 'dask[distributed]')"
)

#: Workers of the local cluster when neither ``jobs`` nor a scheduler is given.
DEFAULT_LOCAL_WORKERS = 2


def require_dask() -> None:
    """Raise :class:`StridekeeperError` with :data:`DASK_MISSING` unless Dask imports."""
    try:
        import dask  # noqa: F401
        import distributed  # noqa: F401
    except ImportError as exc:
        raise StridekeeperError(DASK_MISSING) from exc


@contextmanager
def dask_client(scheduler: str | None = None, *, n_workers: int | None = None) -> Iterator[Any]:
    """A ``distributed.Client``: to ``scheduler``, else to a local cluster on loopback.

    Parameters
    ----------
    scheduler
        Address of a running scheduler (``tcp://host:8786``); a cluster object's
        ``scheduler_address`` (dask-jobqueue, dask-kubernetes) works too.
    n_workers
        Worker processes of the local cluster (default 2, one thread each); ignored with
        ``scheduler``.

    Yields
    ------
    distributed.Client
        Closed on exit, and the local cluster with it.

    Raises
    ------
    StridekeeperError
        When Dask is missing or the scheduler can't be reached.
    """
    require_dask()
    from distributed import Client, LocalCluster

    cluster = None
    try:
        if scheduler:
            client = Client(scheduler, timeout="30s")
        else:
            cluster = LocalCluster(n_workers=n_workers or DEFAULT_LOCAL_WORKERS, processes=True,
                                   threads_per_worker=1, host="127.0.0.1",
                                   dashboard_address=None)  # fmt: skip
            client = Client(cluster)
    except OSError as exc:  # includes timeouts reaching the scheduler
        if cluster is not None:
            cluster.close()
        raise StridekeeperError(f"cannot reach the Dask scheduler {scheduler!r}: {exc}") from exc
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _width(client: Any) -> int:
    """Threads over all workers (at least 1): how many tasks run at once."""
    try:
        workers = client.scheduler_info().get("workers", {})
        return max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))
    except Exception:  # an old scheduler answering differently: a safe default
        return 1


class _DaskPool:
    """The slice of ``concurrent.futures.Executor`` the importer uses, on a Dask client."""

    def __init__(self, client: Any) -> None:
        self._executor = client.get_executor(pure=False)
        self.width = _width(client)

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future:
        return self._executor.submit(fn, *args)


@contextmanager
def dask_executor(scheduler: str | None = None, *, n_workers: int | None = None) -> Iterator[Any]:
    """An executor whose ``submit`` runs the task on Dask (futures are ``concurrent.futures``).

    Its ``width`` attribute is the number of tasks the cluster runs at once.
    """
    with dask_client(scheduler, n_workers=n_workers) as client:
        yield _DaskPool(client)


def import_paths_dask(
    paths: Sequence[Any], library: Any = None, *, scheduler: str | None = None, **kw: Any
) -> Any:
    """:func:`~stridekeeper.library.importer.import_paths` with ``engine="dask"``."""
    from .importer import import_paths

    return import_paths(paths, library, engine="dask", scheduler=scheduler, **kw)


# --------------------------------------------------------------------------- analysis
def _athlete_link_and_analyze(
    runs: pd.DataFrame,
    sessions: pd.DataFrame,
    windows_days: Sequence[float],
    analyze_kw: dict[str, Any] | None,
) -> tuple[pd.DataFrame, Any]:
    """Task: one athlete's runs linked to their sessions, and optionally analysed."""
    from ..analysis.link import link_exposure
    from ..analysis.stats import analyze_linked

    linked = link_exposure(runs, sessions, windows_days=windows_days)
    result = analyze_linked(linked, **analyze_kw) if analyze_kw is not None else None
    return linked, result


def _partitions(
    runs: pd.DataFrame, sessions: pd.DataFrame
) -> list[tuple[Any, np.ndarray, pd.DataFrame]]:
    """(athlete key, row positions in runs, that athlete's sessions), as link_exposure groups."""
    from ..analysis.link import _group_keys

    run_keys = _group_keys(runs["athlete"])
    sess_keys = _group_keys(sessions["athlete"])
    return [(key, np.flatnonzero(run_keys == key), sessions[sess_keys == key])
            for key in pd.unique(run_keys)]  # fmt: skip


def _distributed_link(
    client: Any,
    runs: pd.DataFrame,
    sessions: pd.DataFrame,
    windows_days: Sequence[float],
    analyze_kw: dict[str, Any] | None,
) -> tuple[pd.DataFrame, dict[Any, Any]]:
    from ..analysis.link import link_exposure

    if len(runs) == 0 or "athlete" not in runs.columns or "athlete" not in sessions.columns:
        return link_exposure(runs, sessions, windows_days=windows_days), {}
    parts = _partitions(runs, sessions)
    futures = [client.submit(_athlete_link_and_analyze, runs.iloc[pos], own, list(windows_days),
                             None if pd.isna(key) or key == "\0missing" else analyze_kw,
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
    from ..analysis.link import LAG_WINDOWS_DAYS

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
    from ..analysis.link import LAG_WINDOWS_DAYS, exposure_column
    from ..analysis.stats import analyze_linked

    column = exposure_column(exposure, window_days)
    windows = sorted({*LAG_WINDOWS_DAYS, float(window_days)})
    kw = {"exposure": exposure, "window_days": window_days, "controls": controls,
          "seed": seed, "_column": column}  # fmt: skip
    linked, per = _distributed_link(client, runs, sessions, windows, kw)
    return analyze_linked(linked, **kw, _per_athlete=per)
