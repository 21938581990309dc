"""Dask plumbing shared by the import (library) and the analysis: a client, an executor.

Dask is optional (``pip install 'stridekeeper[dask]'``) and imported only when one of these
functions runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any

from .errors import StridekeeperError

__all__ = ["DASK_MISSING", "DEFAULT_LOCAL_WORKERS", "dask_client", "dask_executor", "require_dask"]

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
