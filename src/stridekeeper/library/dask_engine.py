"""Cohort import on Dask (``--engine dask``): one machine or a cluster.

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

The client and executor live in :mod:`stridekeeper.cluster` (re-exported here); the
analysis on Dask in :mod:`stridekeeper.analysis.dask_analysis`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..cluster import DASK_MISSING, DEFAULT_LOCAL_WORKERS, dask_client, dask_executor, require_dask

__all__ = [
    "DASK_MISSING",
    "DEFAULT_LOCAL_WORKERS",
    "dask_client",
    "dask_executor",
    "import_paths_dask",
    "require_dask",
]


def import_paths_dask(
    paths: Sequence[Any], library: Any = None, *, scheduler: str | None = None, **kw: Any
) -> Any:
    """:func:`~stridekeeper.library.importer.import_paths` with ``engine="dask"``."""
    from .importer import import_paths

    return import_paths(paths, library, engine="dask", scheduler=scheduler, **kw)
