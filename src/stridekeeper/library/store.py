"""The on-disk athlete library: Parquet tables behind one atomically replaced manifest.

Layout of a library folder::

    library.json                 the manifest: format version, generation, current files
    runs-<gen>.parquet           one row per run (summarize() columns, run_id, athlete, ...)
    mobility-<gen>.parquet       the canonical mobility-session table (+ athlete)
    sources-<gen>.parquet        every imported file: path, sha256, what it gave
    records/<YYYY-MM>/<gen>.parquet   per-second records of the runs, keyed by run_id

A commit writes new files under new names (temporary file, fsync, rename), then replaces
``library.json`` in one ``os.replace``: readers see the old library or the new one, never
a mix, and a process killed mid-import leaves the library as it was at its last commit.
Files no manifest names any more are removed after the commit. Records live in a few large
files per month, since one file per run reads ~60 times slower.

One writer at a time: every commit, and a whole import, holds an exclusive lock on
``library.lock`` (``flock`` on POSIX, ``msvcrt.locking`` on Windows, an exclusive-create
file elsewhere). A second writer waits, saying so, or refuses with one line. Readers take
no lock: they read the manifest of a committed generation and, should a commit remove a
file under them, read the new manifest again.

:meth:`Library.check` finds what a crash, a full disk or a hand edit left behind (an
incomplete manifest, a missing or truncated table or records file, runs whose records are
gone, files no manifest names) and :meth:`Library.repair` mends it; runs whose records are
lost are forgotten with their source, so importing that file again brings them back.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import StridekeeperError
from ..timezones import utc_datetime
from . import parquet_files
from .arrow import arrow_array, arrow_strings, arrow_type, concat, rows_table, without

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from ..schema import RecordColumns
else:
    # ``stridekeeper runs`` and ``import`` work with pyarrow alone
    from ..lazy import pandas as pd
from ..lazy import is_frame

__all__ = ["LIBRARY_VERSION", "CheckReport", "Library", "LibraryBusyError", "LibraryWriteError",
           "default_library_path", "write_lock"]  # fmt: skip

log = logging.getLogger(__name__)

LIBRARY_VERSION = 1
MANIFEST = "library.json"
LOCK_FILE = "library.lock"
#: Keys every manifest has.
MANIFEST_KEYS = ("version", "generation", "runs", "mobility", "sources", "records")
_PARQUET_MAGIC = b"PAR1"


#: Columns a table can't be used without (a table lacking one is damaged).
_KEY_COLUMNS = {"runs": ("run_id", "start_time", "athlete", "source_sha256", "records_file"),
                "sources": ("path", "sha256", "status", "n_runs", "n_sessions"),
                "mobility": ("session_id", "source_sha256", "athlete")}  # fmt: skip


class LibraryBusyError(StridekeeperError, RuntimeError):
    """Another process is writing the library (and the caller chose not to wait)."""


class LibraryWriteError(StridekeeperError, OSError):
    """The library folder could not be written (full disk, read-only folder, ...)."""


def write_error(exc: OSError, root: Path) -> LibraryWriteError:
    """One plain line for an OSError met while writing the library at ``root``."""
    reason = {errno.ENOSPC: "no space left on device", errno.EROFS: "read-only file system",
              errno.EACCES: "permission denied", errno.EPERM: "permission denied",
              errno.EDQUOT: "disk quota exceeded"}.get(exc.errno or 0,
                                                      exc.strerror or str(exc))  # fmt: skip
    return LibraryWriteError(f"{reason} while writing the library at {root}; nothing was changed")


def _pid_alive(pid: int) -> bool:
    if pid <= 0 or os.name == "nt":
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


@contextlib.contextmanager
def write_lock(
    root: str | os.PathLike[str],
    *,
    wait_s: float | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Hold the library's writer lock (``library.lock`` in its folder).

    Parameters
    ----------
    root
        The library folder (created if missing).
    wait_s
        How long to wait for another writer to finish: None forever, 0 not at all. [s]
    on_wait
        Called once with a one-line message when the lock is held by someone else.

    Raises
    ------
    LibraryBusyError
        Another writer still holds the lock after ``wait_s``.
    LibraryWriteError
        The folder can't be written (read-only, full).
    """
    root = Path(root)
    key = os.path.realpath(root)
    if _HELD.get(key):  # this process holds it already (an import committing)
        _HELD[key] += 1
        try:
            yield
        finally:
            _HELD[key] -= 1
        return
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd = os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise write_error(exc, root) from exc
    try:
        _acquire(fd, root, wait_s, on_wait)
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError:
            pass
        _HELD[key] = 1
        try:
            yield
        finally:
            _HELD.pop(key, None)
            _release(fd, root)
    finally:
        os.close(fd)


#: Libraries whose writer lock this process holds (real path -> depth).
_HELD: dict[str, int] = {}


def _holder(root: Path) -> str:
    try:
        pid = (root / LOCK_FILE).read_text().strip()
    except OSError:
        pid = ""
    return f" (process {pid})" if pid.isdigit() else ""


def _try_lock(fd: int, root: Path) -> bool:
    try:
        import fcntl
    except ImportError:
        fcntl = None  # type: ignore[assignment]
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False
        except OSError as exc:  # a file system without locks: fall back
            if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
                raise
    try:
        import msvcrt
    except ImportError:
        msvcrt = None  # type: ignore[assignment]
    if msvcrt is not None:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
            return True
        except OSError:
            return False
    # last resort: a file made with O_EXCL holding the owner's pid; a dead owner's is stale
    excl = root / (LOCK_FILE + ".owner")
    try:
        xfd = os.open(excl, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        try:
            pid = int(excl.read_text().strip() or 0)
        except (OSError, ValueError):
            pid = 0
        if not _pid_alive(pid):
            with contextlib.suppress(OSError):
                excl.unlink()
        return False
    os.write(xfd, f"{os.getpid()}".encode())
    os.close(xfd)
    return True


def _acquire(fd: int, root: Path, wait_s: float | None,
             on_wait: Callable[[str], None] | None) -> None:  # fmt: skip
    if _try_lock(fd, root):
        return
    who = _holder(root)
    if wait_s is not None and wait_s <= 0:
        raise LibraryBusyError(f"{root}: another stridekeeper process{who} is writing this "
                               "library; try again when it has finished")  # fmt: skip
    if on_wait is not None:
        on_wait(f"waiting for another stridekeeper process{who} to finish writing the "
                f"library at {root} ...")  # fmt: skip
    deadline = None if wait_s is None else time.monotonic() + wait_s
    while not _try_lock(fd, root):
        if deadline is not None and time.monotonic() > deadline:
            raise LibraryBusyError(f"{root}: another stridekeeper process{who} is still "
                                   f"writing this library after {wait_s:g} s")  # fmt: skip
        time.sleep(0.05)


def _release(fd: int, root: Path) -> None:
    try:
        import fcntl

        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
    except ImportError:
        pass
    excl = root / (LOCK_FILE + ".owner")
    with contextlib.suppress(OSError):
        if excl.read_text().strip() == str(os.getpid()):
            excl.unlink()


def __getattr__(name: str) -> Any:
    """``RUN_ID_COLUMNS``: the runs table's columns beyond
    :data:`~stridekeeper.schema.SUMMARY_COLUMNS` (defined, with units and dtypes, in
    :data:`~stridekeeper.schema.LIBRARY_RUN_COLUMNS`), looked up on first use so that listing
    runs never imports pandas (the schema does)."""
    if name == "RUN_ID_COLUMNS":
        from ..schema import LIBRARY_RUN_COLUMNS

        return tuple(LIBRARY_RUN_COLUMNS)
    raise AttributeError(name)


SOURCE_COLUMNS = ("path", "sha256", "size_bytes", "n_runs", "n_sessions", "status", "detail",
                  "athlete", "imported_at")  # fmt: skip


def default_library_path() -> Path:
    """``$STRIDEKEEPER_HOME``, else the platform's user data folder (Linux:
    ``~/.local/share/stridekeeper``)."""
    env = os.environ.get("STRIDEKEEPER_HOME")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("stridekeeper", appauthor=False))


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    import pyarrow as pa

    _write_table(pa.Table.from_pandas(frame, preserve_index=False), path)


#: Record columns stored BYTE_STREAM_SPLIT (their bytes regroup well for zstd); the others
#: compress better plain. Chosen on realdata and synthetic files: with the timestamp
#: delta-encoded, record files came out 31 % smaller and ~20 % faster to write.
_SPLIT_COLUMNS = ("latitude_deg", "longitude_deg", "cadence_spm", "elapsed_s", "timer_s",
                  "heart_rate_bpm")  # fmt: skip


#: Record columns compressed with LZ4 rather than zstd: zstd gains them little (grade
#: 893 -> 519 kB a month, LZ4 590 kB; the coordinates, byte-stream-split, 275-299 kB either
#: way) at 1.6-2x LZ4's time: a records file ~9 % quicker to write, ~6 % larger.
_LZ4_COLUMNS = ("grade_pct", "latitude_deg", "longitude_deg")


def _write_table(table: pa.Table, path: Path) -> None:
    """Write an Arrow table as Parquet under ``path``: temporary file, fsync, rename; a
    records table (it has ``timestamp``) as :func:`_records_layout` lays it out."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    # zstd level 1: the size of the default level, twice as fast. Dictionary encoding only
    # for run_id: per-second floats are too varied for a dictionary to pay, and trying one
    # first made the write ~1.7x slower and the file ~10 % larger
    names = table.column_names
    options: dict[str, Any] = {"compression": "zstd", "compression_level": 1,
                               "use_dictionary": ["run_id"] if "run_id" in names else False}  # fmt: skip
    if "timestamp" in names:
        table, layout = _records_layout(table)
        options.update(layout)
    parquet_files.write(table, tmp, options)
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _records_layout(table: pa.Table) -> tuple[pa.Table, dict[str, Any]]:
    """A records table as it is stored (exact decimals as integers, nullability from the
    data), and the Parquet writer's options for it: the encodings, LZ4 for
    :data:`_LZ4_COLUMNS`, statistics for ``run_id`` only."""
    import pyarrow as pa

    table = _exact_nullability(_with_decimals(table))
    names, schema = table.column_names, table.schema
    encoding = {c: "BYTE_STREAM_SPLIT" for c in _SPLIT_COLUMNS
                if c in names and pa.types.is_floating(schema.field(c).type)}  # fmt: skip
    if pa.types.is_timestamp(schema.field("timestamp").type):
        encoding["timestamp"] = "DELTA_BINARY_PACKED"  # 1 Hz times: deltas of ~1 s
    for c in _DECIMAL_COLUMNS:
        if c in names and _decimal_scale(schema.field(c)) is not None:
            encoding[c] = "DELTA_BINARY_PACKED"  # small steps between samples
    return table, {
        "compression": {c: "lz4" if c in _LZ4_COLUMNS else "zstd" for c in names},
        "compression_level": {c: 1 for c in names if c not in _LZ4_COLUMNS},
        "column_encoding": encoding or None,
        # statistics only for run_id, the column a reader filters on: for every column they
        # cost a records file ~17 % of its writing time
        "write_statistics": [c for c in ("run_id",) if c in names] or False,
    }


#: Record columns that are fixed-point decimals in the files they come from (a FIT file's
#: distance in centimetres, speed in millimetres a second): stored as integers of
#: ``1/scale`` when every value in a records file is exactly such a number (the scale in
#: the field's metadata), read back as the same floats; otherwise as floats. Distance and
#: speed were a third of a records file's writing time as floats, and a quarter of its
#: bytes: as integers, delta-encoded, they are 3-4x quicker to write and 2-4x smaller.
_DECIMAL_COLUMNS = {"distance_m": 100, "speed_mps": 1000}
_SCALE_KEY = b"stridekeeper:scale"


def _decimal_scale(field: pa.Field) -> int | None:
    """The scale of a column stored as integers (:data:`_DECIMAL_COLUMNS`), or None."""
    meta = field.metadata
    if not meta or _SCALE_KEY not in meta:
        return None
    return int(meta[_SCALE_KEY])


def _as_decimal(column: pa.ChunkedArray, scale: int) -> pa.ChunkedArray | None:
    """A float column as the integers ``k`` with ``k / scale`` bit for bit equal to each
    value (nulls kept), or None when some value is not such a number.

    Chunk by chunk (a run's records each, in a records file): on views of the Arrow
    buffers, with no copy of the whole column (a month's fresh arrays cost more in page
    faults than the arithmetic)."""
    import pyarrow as pa

    from .arrow import arrow_array, float_values

    parts = []
    for chunk in column.chunks:
        v, valid = float_values(chunk)
        if not len(v):
            continue
        k = v * scale
        np.rint(k, out=k)
        if valid is not None:
            k[~valid] = 0.0
        # not a number, or too large for every integer to be exact: stays a float
        if not (-(2.0**53) < k.min() and k.max() < 2.0**53):
            return None
        ints = k.astype(np.int64)
        # what a reader computes from the integers, compared bit for bit (-0.0 stays a float)
        same = (ints / scale).view(np.int64) == v.view(np.int64)
        if valid is not None:
            same |= ~valid
        if not same.all():
            return None
        parts.append(arrow_array(ints, valid=valid))
    return pa.chunked_array(parts, type=pa.int64())


def _with_decimals(table: pa.Table) -> pa.Table:
    """``table`` with its :data:`_DECIMAL_COLUMNS` as integers where they are exact."""
    import pyarrow as pa

    fields, columns = list(table.schema), list(table.columns)
    changed = False
    for i, f in enumerate(fields):
        scale = _DECIMAL_COLUMNS.get(f.name)
        if scale is None or not pa.types.is_float64(f.type) or not len(columns[i]):
            continue
        ints = _as_decimal(columns[i], scale)
        if ints is not None:
            fields[i] = pa.field(f.name, pa.int64(), f.nullable, {_SCALE_KEY: str(scale)})
            columns[i], changed = ints, True
    if not changed:
        return table
    return pa.Table.from_arrays(columns, schema=pa.schema(fields, table.schema.metadata))


def _as_floats(table: pa.Table) -> pa.Table:
    """A records file's table with its integer-stored columns as floats again (to merge
    files whose columns are stored differently)."""
    import pyarrow as pa

    from .arrow import arrow_array, numpy_column

    fields, columns = list(table.schema), list(table.columns)
    changed = False
    for i, f in enumerate(fields):
        scale = _decimal_scale(f)
        if scale is None:
            continue
        values = numpy_column(columns[i]).astype(np.float64) / scale
        fields[i] = pa.field(f.name, pa.float64(), True)
        columns[i], changed = arrow_array(values), True
    if not changed:
        return table
    return pa.Table.from_arrays(columns, schema=pa.schema(fields, table.schema.metadata))


def _exact_nullability(table: pa.Table) -> pa.Table:
    """``table`` with each column declared nullable exactly when it holds a null.

    A column declared non-nullable is stored without definition levels: most record
    columns have no gaps, and leaving their levels out takes ~17 % off a records file's
    writing time (the values and their reading are the same). Declared from the data, not
    trusted from the parts: a concatenation can carry "not null" from one part into rows
    another part left empty."""
    import pyarrow as pa

    fields = [f.with_nullable(col.null_count > 0)
              for f, col in zip(table.schema, table.columns, strict=True)]  # fmt: skip
    if all(f.nullable == g.nullable for f, g in zip(fields, table.schema, strict=True)):
        return table
    return pa.Table.from_arrays(table.columns, schema=pa.schema(fields, table.schema.metadata))


def records_table(records: pd.DataFrame | RecordColumns) -> pa.Table:
    """A run's records as the Arrow table the library stores (``timestamp`` first).

    ``records`` is a ``Run.records`` DataFrame or the :class:`~stridekeeper.schema.RecordColumns`
    a reader built (``Run.columns``: no DataFrame involved). NaN is stored as null, as
    ``Table.from_pandas`` would store it; ~10x faster than ``from_pandas``, which matters
    because the import workers call this once per run.
    """
    import pyarrow as pa

    from ..schema import RecordColumns

    if isinstance(records, RecordColumns):
        names = list(records.data)
        ts_ns, columns = records.ts_ns, list(records.data.values())
    elif not len(records):  # summary-only runs: thousands of them in a Garmin export
        return _empty_records_table(tuple(str(c) for c in records.columns),
                                    tuple(dt.kind for dt in records.dtypes))  # fmt: skip
    else:
        index = records.index
        if not (isinstance(index, pd.DatetimeIndex) and index.unit == "ns"
                and str(index.tz) == "UTC"):  # fmt: skip
            index = pd.DatetimeIndex(index)
            index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
            index = index.as_unit("ns")
        names = [str(c) for c in records.columns]
        ts_ns = index.asi8
        columns = [records[c].to_numpy() for c in records.columns]
    if not len(ts_ns):
        return _empty_records_table(tuple(names), tuple(c.dtype.kind for c in columns))
    arrays = [arrow_array(np.asarray(ts_ns, dtype=np.int64), pa.timestamp("ns", tz="UTC"))]
    arrays += [arrow_array(v) for v in columns]
    return pa.Table.from_arrays(arrays, names=["timestamp", *names])


@functools.lru_cache(maxsize=16)
def _empty_records_table(names: tuple[str, ...], kinds: tuple[str, ...]) -> pa.Table:
    """The stored table of a run without records (built once per column layout)."""
    import pyarrow as pa

    types = {"b": pa.bool_(), "f": pa.float64()}
    arrays = [pa.nulls(0, pa.timestamp("ns", tz="UTC"))]
    arrays += [pa.nulls(0, types.get(k, pa.null())) for k in kinds]
    return pa.Table.from_arrays(arrays, names=["timestamp", *names])


def records_columns(table: pa.Table) -> RecordColumns:
    """A run's stored records table as the numpy columns a reader builds, read with
    pyarrow alone: sorted by time, ``run_id`` and columns that hold nothing dropped,
    ``timer_running`` bool, everything else float (:func:`records_frame` is its DataFrame)."""
    import pyarrow as pa

    from ..schema import RecordColumns
    from .arrow import numpy_column

    stamps = table["timestamp"]
    if stamps.type != pa.timestamp("ns", tz="UTC"):
        stamps = stamps.cast(pa.timestamp("ns", tz="UTC"), safe=False)
    ts = numpy_column(stamps)
    order = np.argsort(ts, kind="stable")
    sorted_already = bool(len(ts) < 2 or (np.diff(ts) >= 0).all())
    data: dict[str, np.ndarray] = {}
    for name in table.column_names:
        col = table[name]
        if name in ("timestamp", "run_id") or col.null_count == len(col):
            continue
        values = numpy_column(col)
        scale = _decimal_scale(table.schema.field(name))
        if name == "timer_running":
            values = values.astype(bool)
        elif values.dtype.kind != "f":
            values = values.astype(float)
        if scale is not None:
            values = values / scale
        data[name] = values if sorted_already else values[order]
    return RecordColumns(ts if sorted_already else ts[order], data)


def records_frame(table: pa.Table) -> pd.DataFrame:
    """A run's stored records table (:func:`records_table`) as :meth:`Library.records`
    gives it: a UTC ``timestamp`` index, columns that hold nothing dropped."""
    return records_columns(table).frame()


def _records_file_table(parts: list[tuple[str, pa.Table]]) -> pa.Table:
    """One records file from (run_id, table) parts: ``run_id`` (dictionary-encoded) first."""
    import pyarrow as pa

    ids = [run_id for run_id, _ in parts]
    lengths = [t.num_rows for _, t in parts]
    table = pa.concat_tables([t for _, t in parts], promote_options="default")
    # built as they are stored (a cast would import pyarrow.compute, 27 ms)
    codes = arrow_array(np.repeat(np.arange(len(ids), dtype=np.int32), lengths))
    run_col = pa.DictionaryArray.from_arrays(codes, arrow_strings(ids, large=False))
    return table.add_column(0, "run_id", pa.chunked_array([run_col]))


def _run_order(row: dict[str, Any]) -> tuple[Any, ...]:
    start = row["start_time"]
    return (start is None, start or utc_datetime(0), row["athlete"] or "", row["run_id"] or "")


@functools.cache
def _dtypes(key: str) -> dict[str, str]:
    """The declared dtype of each column of the runs or sources table."""
    if key == "runs":
        from ..schema import RUN_COLUMNS

        return {name: c.dtype for name, c in RUN_COLUMNS.items()}
    return {c: "str" for c in SOURCE_COLUMNS} | {"size_bytes": "int64", "n_runs": "int64",
            "n_sessions": "int64", "imported_at": "datetime64[us, UTC]"}  # fmt: skip


def _empty_table(key: str) -> pa.Table:
    """A runs or sources table without rows, every column typed."""
    import pyarrow as pa

    dtypes = _dtypes(key)
    return pa.Table.from_arrays([pa.nulls(0, arrow_type(d)) for d in dtypes.values()],
                                names=list(dtypes))  # fmt: skip


def _as_table(rows: Any, key: str) -> pa.Table | None:
    """A commit's new rows of the runs or sources table (one dict per row, a DataFrame or
    an Arrow table) as an Arrow table; None when there are none."""
    import pyarrow as pa

    if rows is None or len(rows) == 0:
        return None
    if isinstance(rows, pa.Table):
        return rows
    if is_frame(rows):
        return pa.Table.from_pandas(_for_disk(rows), preserve_index=False)
    return rows_table(list(rows), _dtypes(key))


def _set_column(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
    if name in table.column_names:
        return table.set_column(table.column_names.index(name), name, values)
    return table.append_column(name, values)


def _read_parquet(path: Path) -> pd.DataFrame:
    with parquet_files.opened(path) as file:
        return file.read().to_pandas()


def _read_records(path: Path, run_id: str) -> pa.Table:
    """One run's rows of a records file."""
    import pyarrow.parquet as pq

    return pq.read_table(path, filters=[("run_id", "=", run_id)])


def _empty_runs() -> pd.DataFrame:
    from ..schema import empty_runs

    return empty_runs()


def _empty_sources() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in SOURCE_COLUMNS})


def _empty_mobility() -> pd.DataFrame:
    from ..io.mobility_log import normalize_details
    from ..schema import empty_sessions

    empty = normalize_details(empty_sessions())  # the log's timing and detail columns too
    return empty.assign(athlete=pd.Series(dtype=str), source_sha256=pd.Series(dtype=str))


def _mobility_to_disk(frame: pd.DataFrame) -> pd.DataFrame:
    from ..io.mobility_log import normalize_details

    out = normalize_details(frame)  # the log's context, range feel, pain... kept
    for col in ("regions", "planes", "drills"):
        out[col] = [json.dumps(list(v)) for v in out[col]]
    out["local_date"] = [None if v is None else str(v) for v in out["local_date"]]
    return out


def _mobility_from_disk(frame: pd.DataFrame) -> pd.DataFrame:
    import datetime as dt

    out = frame.copy()
    for col in ("regions", "planes", "drills"):
        out[col] = [tuple(json.loads(v)) if isinstance(v, str) else () for v in out[col]]
    out["local_date"] = [dt.date.fromisoformat(v) if isinstance(v, str) else None
                         for v in out["local_date"]]  # fmt: skip
    if len(out):
        out["start_time"] = pd.to_datetime(out["start_time"], utc=True)
    from ..io.mobility_log import normalize_details

    return normalize_details(out)  # tables stored before these columns get blanks


@dataclass(frozen=True)
class Commit:
    """What one commit adds to or removes from the library.

    Attributes
    ----------
    runs
        New rows of the runs table (``run_id`` unique): a DataFrame, or one dict per row
        (typed as :data:`~stridekeeper.schema.RUN_COLUMNS` says; what the importer gives).
    records
        run_id -> records of the new runs: a :func:`records_table` (what the import
        workers send) or a ``Run.records`` DataFrame.
    mobility
        New mobility sessions (canonical columns plus ``athlete``, ``source_sha256``); an
        empty list or DataFrame when there are none.
    sources
        New or updated rows of the sources table (keyed by ``path``).
    drop_run_ids
        Runs to remove (a source whose content changed, a summary row superseded by a file).
    drop_mobility_sources
        ``source_sha256`` values whose mobility sessions are removed.
    drop_athlete_mobility
        ``(athlete, source_sha256)`` pairs whose mobility sessions are removed (one
        athlete's copy of a log changed; another athlete's identical copy stays).
    """

    runs: pd.DataFrame | list[dict[str, Any]]
    records: dict[str, pa.Table | pd.DataFrame]
    mobility: pd.DataFrame | list[Any]
    sources: pd.DataFrame | list[dict[str, Any]]
    drop_run_ids: frozenset[str] = frozenset()
    drop_mobility_sources: frozenset[str] = frozenset()
    drop_athlete_mobility: frozenset[tuple[str, str]] = frozenset()


class Library:
    """An athlete library folder. Open with :meth:`open` (existing) or :meth:`create`."""

    def __init__(self, root: Path, manifest: dict[str, Any]):
        self.root = root
        self._manifest = manifest
        #: One line per problem the quick check on :meth:`open` found.
        self.open_problems: list[str] = []
        self._lock_depth = 0

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None, *, check: bool = True) -> Library:
        """Open an existing library.

        Parameters
        ----------
        path
            The folder; default :func:`default_library_path`.
        check
            Quick check: the manifest is complete and every file it names is there and
            whole (its Parquet footer present). Damage found is listed in
            :attr:`open_problems` (and logged); :meth:`check` looks deeper.

        Raises
        ------
        StridekeeperError
            The folder holds no library (the message says how to make one).
        """
        root = Path(path).expanduser() if path is not None else default_library_path()
        manifest_path = root / MANIFEST
        if not manifest_path.is_file():
            raise StridekeeperError(
                f"{root}: no stridekeeper library here; create one with "
                f"`stridekeeper import FILES --library {root}`"
            )
        try:
            manifest = json.loads(manifest_path.read_text())
        except (OSError, ValueError) as exc:
            raise StridekeeperError(
                f"{manifest_path}: unreadable library manifest ({exc})"
            ) from exc
        if not isinstance(manifest, dict) or manifest.get("version") != LIBRARY_VERSION:
            version = manifest.get("version") if isinstance(manifest, dict) else None
            raise StridekeeperError(
                f"{root}: library format {version!r} is not supported "
                f"(this stridekeeper reads version {LIBRARY_VERSION})"
            )
        if check:
            missing = _manifest_gaps(manifest)
            if missing:
                raise StridekeeperError(
                    f"{manifest_path}: incomplete library manifest (no "
                    f"{', '.join(missing)}); run `stridekeeper check --repair --library {root}`"
                )
        lib = cls(root, manifest)
        if check:
            lib.open_problems = lib._quick_check()
            for line in lib.open_problems:
                log.warning("%s", line)
        return lib

    @classmethod
    def create(cls, path: str | os.PathLike[str] | None = None) -> Library:
        """Open the library at ``path``, creating an empty one if there is none."""
        root = Path(path).expanduser() if path is not None else default_library_path()
        if (root / MANIFEST).is_file():
            return cls.open(root)
        if root.exists() and not root.is_dir():
            raise StridekeeperError(f"{root}: exists and is not a folder")
        manifest = {"version": LIBRARY_VERSION, "generation": 0, "runs": None, "mobility": None,
                    "sources": None, "records": []}  # fmt: skip
        with write_lock(root):
            if (root / MANIFEST).is_file():  # made by another process meanwhile
                return cls.open(root)
            try:
                _atomic_write_bytes(root / MANIFEST, json.dumps(manifest, indent=1).encode())
            except OSError as exc:
                raise write_error(exc, root) from exc
        return cls(root, manifest)

    # ------------------------------------------------------------------ locking
    @contextlib.contextmanager
    def locked(
        self, *, wait_s: float | None = None, on_wait: Callable[[str], None] | None = None
    ) -> Iterator[None]:
        """Hold the writer lock (re-entrant within this object); on taking it, the
        manifest is read again so changes build on the newest generation."""
        if self._lock_depth:
            self._lock_depth += 1
            try:
                yield
            finally:
                self._lock_depth -= 1
            return
        with write_lock(self.root, wait_s=wait_s, on_wait=on_wait):
            self._reload()
            self._lock_depth = 1
            try:
                yield
            finally:
                self._lock_depth = 0

    def _reload(self) -> None:
        """Read the manifest on disk again (another process may have committed)."""
        try:
            manifest = json.loads((self.root / MANIFEST).read_text())
        except (OSError, ValueError):
            return
        if isinstance(manifest, dict) and not _manifest_gaps(manifest):
            self._manifest = manifest

    @property
    def generation(self) -> int:
        """How many commits the library has seen."""
        return int(self._manifest["generation"])

    # ------------------------------------------------------------------ reading
    def _table(self, key: str, columns: Sequence[str] | None = None) -> pd.DataFrame | None:
        """A library table; with ``columns``, only those of them it has (read paths that show
        a few columns skip decoding the rest)."""
        table = self._arrow_table(key, columns)
        return None if table is None else table.to_pandas()

    def _arrow_table(self, key: str, columns: Sequence[str] | None = None) -> pa.Table | None:
        """:meth:`_table` as a pyarrow Table (damage raised the same way)."""
        for attempt in (0, 1):
            name = self._manifest.get(key)
            if name is None:
                return None
            keys = _KEY_COLUMNS.get(key, ())
            try:
                # one file, not read_table (whose dataset layer imports pandas)
                with parquet_files.opened(self.root / name) as file:
                    if columns is None:
                        table = file.read()
                    else:
                        have = set(file.names)
                        lost = [c for c in keys if c not in have]  # damage, read or not
                        if lost:
                            raise StridekeeperError(
                                self._damaged(name, f"without column(s) {lost}")
                            )
                        table = file.read(columns=[c for c in dict.fromkeys(columns)
                                                   if c in have])  # fmt: skip
                        keys = ()
            except FileNotFoundError:
                if attempt == 0:  # a commit replaced it after we read the manifest
                    self._reload()
                    continue
                raise StridekeeperError(self._damaged(name, "missing")) from None
            except (OSError, ValueError) as exc:  # truncated or not Parquet
                raise StridekeeperError(self._damaged(name, f"unreadable: {exc}")) from exc
            missing = [c for c in keys if c not in table.column_names]
            if missing:
                raise StridekeeperError(self._damaged(name, f"without column(s) {missing}"))
            return table
        return None  # pragma: no cover

    def _damaged(self, name: str, what: str) -> str:
        return (f"{self.root / name}: library file {what}; run "
                f"`stridekeeper check --repair --library {self.root}`")  # fmt: skip

    def athletes(self) -> list[str]:
        """Every athlete with runs or mobility sessions in the library, sorted."""
        names: set[str] = set()
        for key in ("runs", "mobility"):
            table = self._table(key, columns=["athlete"])
            if table is not None and "athlete" in table.columns:
                names.update(str(a) for a in table["athlete"].dropna().unique())
        return sorted(names)

    def runs(
        self,
        *,
        since: str | pd.Timestamp | None = None,
        until: str | pd.Timestamp | None = None,
        athlete: str | None = None,
        columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """The runs table, sorted by start time.

        Parameters
        ----------
        since, until
            Keep runs starting on or after ``since`` and before the end of the day
            ``until`` (dates are UTC unless they carry an offset).
        athlete
            Keep one athlete's runs.
        columns
            Read only these columns (plus those the filter and order need); all when None.

        Returns
        -------
        pandas.DataFrame
            One row per run: every :func:`~stridekeeper.metrics.summarize` column plus
            ``run_id``, ``athlete``, ``source_sha256``, ``format``, ``utc_offset_s``...
        """
        need = (
            None
            if columns is None
            else list(dict.fromkeys([*columns, "start_time", "athlete", "run_id"]))
        )
        runs = self._table("runs", columns=need)
        if runs is None:
            empty = _empty_runs()
            return empty if columns is None else empty[[c for c in need if c in empty.columns]]
        runs["start_time"] = pd.to_datetime(runs["start_time"], utc=True)
        if since is not None:
            runs = runs[runs["start_time"] >= _as_utc(since)]
        if until is not None:
            end = _as_utc(until)
            if isinstance(until, str) and len(until) <= 10:
                end = end + pd.Timedelta(days=1)
            runs = runs[runs["start_time"] < end]
        if athlete is not None:
            runs = runs[runs["athlete"] == athlete]
        # ties broken by athlete and run_id: the order (and so any sum over runs, to the
        # last bit) must not depend on which worker finished first during the import
        return runs.sort_values(["start_time", "athlete", "run_id"], kind="stable").reset_index(
            drop=True
        )

    def run_rows(self, columns: Sequence[str] | None = None, *, athlete: str | None = None,
                 ) -> list[dict[str, Any]]:  # fmt: skip
        """The runs as plain Python rows (times UTC datetimes, missing numbers None), in
        the order of :meth:`runs`, with these columns (default all); read with pyarrow
        alone, for listings that would spend longer importing pandas than listing. Filter
        by dates with :meth:`runs`."""
        import pyarrow as pa

        from .arrow import numpy_column

        need = (None if columns is None
                else list(dict.fromkeys([*columns, "start_time", "athlete", "run_id"])))  # fmt: skip
        table = self._arrow_table("runs", columns=need)
        if table is None:
            return []
        data = {}
        for c in table.column_names:
            col = table[c]
            if pa.types.is_timestamp(col.type):
                # from the integers: pyarrow makes Python datetimes by way of pandas
                per_ns = {"s": 10**9, "ms": 10**6, "us": 1000, "ns": 1}[col.type.unit]
                data[c] = [None if v != v else utc_datetime(int(v) * per_ns)
                           for v in numpy_column(col).tolist()]  # fmt: skip
            else:
                data[c] = col.to_pylist()
        names = list(data)
        rows = [dict(zip(names, row, strict=True)) for row in zip(*data.values(), strict=True)]
        # the order of runs(), sorted here (Table.sort_by imports pyarrow.compute): the
        # order, and so any sum over runs to the last bit, must not depend on which worker
        # finished first
        rows.sort(key=_run_order)
        # filtered here: pyarrow's own filter looks for pandas when given a Python value
        return rows if athlete is None else [r for r in rows if r["athlete"] == athlete]

    def typical_utc_offset_s(self, *, athlete: str | None = None) -> int | None:
        """The athlete's most common local UTC offset over their runs, or None. [s]

        Used as the default time zone of mobility logs, which carry local times only.
        """
        runs = self.runs(athlete=athlete)
        return typical_offset(runs.get("utc_offset_s", pd.Series(dtype=float)))

    def mobility(self, *, athlete: str | None = None, merged: bool = True) -> pd.DataFrame:
        """The mobility-session table (canonical columns plus ``athlete``), by start time.

        The log's own fields are columns too: ``context``, ``range_feel``, ``pain_before``,
        ``pain_after`` [0-10], ``balance``, ``breathwork`` (blank for watch recordings; see
        :func:`~stridekeeper.io.mobility_log.read_mobility_log`).

        Parameters
        ----------
        athlete
            Keep one athlete's sessions.
        merged
            Merge the sessions typed in a log that the watch also recorded (same local day,
            start within 30 min, similar duration; see
            :func:`~stridekeeper.io.merge.merge_duplicate_sessions`). The library
            stores both, so re-importing either file stays exact.
        """
        mob = self._table("mobility")
        if mob is None:
            return _mobility_from_disk(_empty_mobility())
        mob = _mobility_from_disk(mob)
        if athlete is not None:
            mob = mob[mob["athlete"] == athlete]
        if merged and len(mob):
            from ..io.merge import merge_duplicate_sessions

            parts = [merge_duplicate_sessions(g) for _, g in mob.groupby("athlete", sort=False,
                                                                         dropna=False)]  # fmt: skip
            mob = pd.concat(parts, ignore_index=True)
        keys = [k for k in ("start_time", "athlete", "session_id") if k in mob.columns]
        return mob.sort_values(keys, kind="stable").reset_index(drop=True)

    def sources(self) -> pd.DataFrame:
        """Every imported file: path, sha256, size, runs and sessions it gave, status."""
        src = self._table("sources")
        return _empty_sources() if src is None else src

    def run_columns(self, names: Sequence[str]) -> dict[str, Any] | None:
        """Columns of the runs table, in the stored order, read with pyarrow alone: text
        columns as lists (None where empty), the others as float arrays (NaN where empty),
        None for a column the table lacks; None without a runs table."""
        import pyarrow as pa

        from .arrow import numpy_column

        table = self._arrow_table("runs", columns=names)
        if table is None:
            return None
        out: dict[str, Any] = {}
        for name in names:
            if name not in table.column_names:
                out[name] = None
                continue
            col = table[name]
            text = pa.types.is_string(col.type) or pa.types.is_large_string(col.type)
            out[name] = col.to_pylist() if text else numpy_column(col).astype(float)
        return out

    def n_runs(self) -> int:
        """How many runs the library holds (read with pyarrow alone)."""
        table = self._arrow_table("runs", columns=["run_id"])
        return 0 if table is None else table.num_rows

    def has_summary_rows(self) -> bool:
        """Whether any run is a summary row only (an export's averages, no samples)."""
        import pyarrow as pa

        table = self._arrow_table("runs", columns=["summary_only"])
        if table is None or "summary_only" not in table.column_names or not table.num_rows:
            return False
        import pyarrow.compute as pc

        col = table["summary_only"]
        if not pa.types.is_boolean(col.type):  # stored before the column was typed: any value set
            return bool(col.null_count < len(col))
        return bool(pc.any(col).as_py())

    def source_rows(self, columns: Sequence[str]) -> list[dict[str, Any]]:
        """:meth:`sources` as one dict per file, with these columns (None where a table
        written before a column existed lacks it); read with pyarrow alone."""
        table = self._arrow_table("sources", columns=columns)
        if table is None:
            return []
        data = [table[c].to_pylist() if c in table.column_names else [None] * table.num_rows
                for c in columns]  # fmt: skip
        return [dict(zip(columns, row, strict=True)) for row in zip(*data, strict=True)]

    def records(self, run_id: str) -> pd.DataFrame:
        """The per-second records of one run (UTC ``timestamp`` index)."""
        runs = self._table("runs", columns=["run_id", "records_file"])
        hit = None if runs is None else (runs["run_id"] == run_id).to_numpy(dtype=bool)
        if hit is None or not hit.any():  # (a set of every run id cost 14 ms at 20,000 runs)
            raise StridekeeperError(f"no run {run_id!r} in the library at {self.root}")
        fname = runs["records_file"].to_numpy()[hit][0]
        if not isinstance(fname, str):
            from ..io.records import empty_records

            return empty_records()
        try:
            table = _read_records(self.root / fname, run_id)
        except FileNotFoundError:
            self._reload()  # compacted by another process meanwhile: look again
            runs = self._table("runs")
            fname = None if runs is None else next(
                iter(runs.loc[runs["run_id"] == run_id, "records_file"]), None)  # fmt: skip
            if not isinstance(fname, str) or not (self.root / fname).is_file():
                raise StridekeeperError(
                    f"run {run_id!r}: its records are missing from the library at "
                    f"{self.root}; run `stridekeeper check --repair`, then import its file "
                    "again"
                ) from None
            table = _read_records(self.root / fname, run_id)
        except (OSError, ValueError) as exc:
            raise StridekeeperError(self._damaged(fname, f"unreadable: {exc}")) from exc
        return records_frame(table)

    # ------------------------------------------------------------------ writing
    def commit(self, change: Commit) -> None:
        """Apply one change atomically: all of it is visible after, none of it if killed.

        Holds the writer lock (waiting for another writer). A full disk or read-only
        folder raises :class:`LibraryWriteError` and leaves the library as it was.
        """
        with self.locked(), self._writing():
            self._commit(change)

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """Turn an OSError while writing into one plain line, removing the half-written
        files of this generation (the manifest still names the old ones)."""
        before = self._manifest
        try:
            yield
        except OSError as exc:
            if isinstance(exc, LibraryWriteError):
                raise
            if self._manifest is before:
                self._collect_garbage()
            raise write_error(exc, self.root) from exc

    def _commit(self, change: Commit) -> None:
        """The runs and sources tables are merged as Arrow tables (an import of activity
        files never imports pandas); the mobility table, when it changes, as a DataFrame.

        The new runs' record files (one per month) are written on threads from the start,
        while this thread builds and writes the small tables; the manifest, written once
        they are all on disk, is the commit point."""
        gen = self.generation + 1
        man = dict(self._manifest)
        files_by_month: dict[str, list[tuple[str, pa.Table]]] = {}
        for run_id, rec in change.records.items():
            if rec is None or len(rec) == 0:
                continue
            table = rec if not is_frame(rec) else records_table(rec)
            first = table.column("timestamp")[0].value  # ns since 1970, UTC
            month = utc_datetime(first).strftime("%Y-%m")
            files_by_month.setdefault(month, []).append((run_id, table))
        record_files = list(man.get("records", []))
        writes = []
        file_of: dict[str, str] = {}
        for month, parts in files_by_month.items():
            fname = f"records/{month}/{gen:08d}-{uuid.uuid4().hex[:6]}.parquet"
            writes.append((parts, self.root / fname))
            record_files.append(fname)
            file_of.update((run_id, fname) for run_id, _ in parts)
        with _records_written(writes) as records_on_disk:
            runs, mob, src = self._merged_tables(change, file_of)
            # record files no run points to any more are dropped from the manifest
            live = set(runs["records_file"].to_pylist()) if runs is not None else set()
            man["records"] = [f for f in record_files if f in live]
            self._write_generation(man, gen, runs, mob, src, before_manifest=records_on_disk)

    def _merged_tables(
        self, change: Commit, file_of: dict[str, str]
    ) -> tuple[pa.Table | None, pd.DataFrame | None, pa.Table]:
        """The runs, mobility (None: unchanged) and sources tables after ``change``; the
        new runs point to the record files ``file_of`` names."""
        new_runs = _as_table(change.runs, "runs")
        runs = self._arrow_table("runs")
        new_ids = new_runs["run_id"].to_pylist() if new_runs is not None else []
        drop = set(change.drop_run_ids) | set(new_ids)
        if runs is not None and drop:
            runs = without(runs, "run_id", drop)
        if new_runs is not None:
            # rows that are updates of stored runs (no new records) keep their records file
            kept = (new_runs["records_file"].to_pylist() if "records_file" in new_runs.column_names
                    else [None] * new_runs.num_rows)  # fmt: skip
            files = [file_of.get(r, k if isinstance(k, str) else None)
                     for r, k in zip(new_ids, kept, strict=True)]  # fmt: skip
            new_runs = _set_column(new_runs, "records_file", arrow_strings(files))
            # a new library's columns in their declared order and types
            base = runs if runs is not None else _empty_table("runs")
            runs = concat([base, new_runs], _dtypes("runs"))
        # mobility: rewritten only when it changes
        mob = None
        if change.drop_mobility_sources or change.drop_athlete_mobility or len(change.mobility):
            mob = self._table("mobility")
            mob = _empty_mobility() if mob is None else mob
            if change.drop_mobility_sources:
                mob = mob[~mob["source_sha256"].isin(change.drop_mobility_sources)]
            if change.drop_athlete_mobility:
                pairs = pd.MultiIndex.from_arrays(
                    [mob["athlete"].astype(str), mob["source_sha256"]]
                )
                mob = mob[~pairs.isin(list(change.drop_athlete_mobility))]
            if len(change.mobility):
                add = _mobility_to_disk(change.mobility)
                # identical logs of two athletes have the same session ids: each keeps its own
                same = pd.MultiIndex.from_arrays([mob["athlete"].astype(str), mob["session_id"]])
                new = pd.MultiIndex.from_arrays([add["athlete"].astype(str), add["session_id"]])
                mob = mob[~same.isin(new)]
                mob = pd.concat([mob, add], ignore_index=True)
        # sources
        new_src = _as_table(change.sources, "sources")
        src = self._arrow_table("sources")
        if new_src is not None and src is not None:
            src = without(src, "path", new_src["path"].to_pylist())
        src = concat([src if src is not None else _empty_table("sources"), new_src],
                     _dtypes("sources"))  # fmt: skip
        return runs, mob, src

    def _write_generation(
        self,
        man: dict[str, Any],
        gen: int,
        runs: pd.DataFrame | pa.Table | None,
        mob: pd.DataFrame | pa.Table | None,
        src: pd.DataFrame | pa.Table | None,
        before_manifest: Callable[[], None] | None = None,
    ) -> None:
        """Write generation ``gen``'s tables (None: keep the file the manifest names; an
        empty runs or sources table is written empty), then (after ``before_manifest``,
        which waits for the other files the manifest names) the manifest that names them
        (the commit point), then drop the files the previous generation named and this one
        doesn't.

        Only those: scanning the whole folder for other leftovers (of a killed commit) costs
        time in proportion to the library on every commit, so :meth:`compact`, at the end of
        every import, does that once.
        """
        before = _named_files(self._manifest)
        for key, table in (("runs", runs), ("mobility", mob), ("sources", src)):
            if table is None and key != "mobility":
                table = _empty_table(key)
            if table is None:
                continue
            fname = f"{key}-{gen:08d}.parquet"
            if is_frame(table):
                _write_parquet(_for_disk(table), self.root / fname)
            else:
                _write_table(table, self.root / fname)
            man[key] = fname
        man["generation"] = gen
        if before_manifest is not None:
            before_manifest()
        _atomic_write_bytes(self.root / MANIFEST, json.dumps(man, indent=1).encode())
        self._manifest = man
        self._drop_files(before - _named_files(man))

    def compact(self) -> None:
        """Merge each month's record files into one and drop rows of removed runs."""
        with self.locked(), self._writing():
            self._compact()

    def _compact(self) -> None:
        by_month: dict[str, list[str]] = {}
        for f in self._manifest.get("records", []):
            by_month.setdefault(f.split("/")[1], []).append(f)
        todo = {m: fs for m, fs in by_month.items() if len(fs) > 1}
        runs = self._arrow_table("runs") if todo else None
        if runs is None:
            self._collect_garbage()  # a killed commit's leftovers, once an import
            return
        gen = self.generation + 1
        man = dict(self._manifest)
        live_ids = set(runs["run_id"].to_pylist())
        record_files = [f for f in man["records"] if f.split("/")[1] not in todo]
        moved: dict[str, str] = {}  # old records file -> the month's merged one
        for month, files in todo.items():
            fname = f"records/{month}/{gen:08d}-{uuid.uuid4().hex[:6]}.parquet"
            _write_table(_merge_record_files([self.root / f for f in files], live_ids),
                         self.root / fname)  # fmt: skip
            record_files.append(fname)
            moved.update(dict.fromkeys(files, fname))
        files_now = [moved.get(f, f) if isinstance(f, str) else None
                     for f in runs["records_file"].to_pylist()]  # fmt: skip
        runs = _set_column(runs, "records_file", arrow_strings(files_now))
        fname = f"runs-{gen:08d}.parquet"
        _write_table(runs, self.root / fname)
        man.update(runs=fname, records=record_files, generation=gen)
        _atomic_write_bytes(self.root / MANIFEST, json.dumps(man, indent=1).encode())
        self._manifest = man
        self._collect_garbage()

    def _collect_garbage(self) -> None:
        """Remove every file the manifest doesn't name, and empty month folders."""
        keep = _named_files(self._manifest)
        self._drop_files(rel for path in _library_files(self.root)
                         if (rel := path.relative_to(self.root).as_posix()) not in keep)  # fmt: skip
        for sub in sorted((self.root / "records").glob("*"), reverse=True):
            if sub.is_dir() and not any(sub.iterdir()):
                sub.rmdir()

    def _drop_files(self, rels: Iterable[str]) -> None:
        """Remove these library files (paths relative to the root), and any month folder
        of records one of them leaves empty."""
        for rel in sorted(rels):
            path = self.root / rel
            try:
                path.unlink()
            except OSError:
                log.debug("could not remove %s", path)
            if path.parent.parent == self.root / "records":
                with contextlib.suppress(OSError):  # not empty
                    path.parent.rmdir()

    # ------------------------------------------------------------------ checking
    def _quick_check(self) -> list[str]:
        """Every file the manifest names is there and ends in a Parquet footer."""
        return [f"{self.root / name}: library file {what}; run `stridekeeper check --repair "
                f"--library {self.root}`" for name, what in self._bad_files().items()]  # fmt: skip

    def _bad_files(self) -> dict[str, str]:
        return {name: what for name in sorted(_named_files(self._manifest))
                if (what := _file_state(self.root / name))}  # fmt: skip

    def lost_sources(self) -> set[str]:
        """``source_sha256`` of runs whose records file is missing or damaged (importing
        their file again brings them back)."""
        bad = set(self._bad_files())
        listed = set(self._manifest.get("records") or [])
        try:
            runs = self._arrow_table("runs", columns=["records_file", "source_sha256"])
        except StridekeeperError:
            return set()
        if runs is None or not runs.num_rows:
            return set()
        return {sha for f, sha in zip(runs["records_file"].to_pylist(),
                                      runs["source_sha256"].to_pylist(), strict=True)
                if isinstance(f, str) and (f in bad or f not in listed) and sha is not None}  # fmt: skip

    def check(self) -> CheckReport:
        """Look for damage: manifest gaps, missing or unreadable tables and records files,
        runs whose records are gone, files no manifest names.

        Returns
        -------
        CheckReport
            ``problems`` empty when the library is whole.
        """
        rep = CheckReport(root=self.root)
        man = self._manifest
        rep.manifest_gaps = _manifest_gaps(man)
        if rep.manifest_gaps:
            rep.problems.append(f"{self.root / MANIFEST}: incomplete manifest (no "
                                f"{', '.join(rep.manifest_gaps)})")  # fmt: skip
        tables: dict[str, pd.DataFrame | None] = {}
        for key in ("runs", "mobility", "sources"):
            name = man.get(key)
            if name is None:
                tables[key] = None
                continue
            try:
                tables[key] = _read_parquet(self.root / name)
                missing = [c for c in _KEY_COLUMNS[key] if c not in tables[key].columns]
                if missing:
                    raise ValueError(f"no column(s) {missing}")
            except (OSError, ValueError) as exc:
                rep.damaged_tables.add(key)
                what = (
                    "missing" if isinstance(exc, FileNotFoundError) else "truncated or unreadable"
                )
                rep.problems.append(f"{self.root / name}: {key} table {what}")
                tables[key] = None
        ids_in: dict[str, set[str]] = {}
        for name in man.get("records") or []:
            try:
                with parquet_files.opened(self.root / name) as file:
                    ids_in[name] = set(file.read(["run_id"]).column("run_id").to_pylist())
            except (OSError, ValueError) as exc:
                rep.bad_record_files.add(name)
                what = (
                    "missing" if isinstance(exc, FileNotFoundError) else "truncated or unreadable"
                )
                rep.problems.append(f"{self.root / name}: records file {what}")
        runs = tables["runs"]
        if runs is not None and len(runs):
            for run_id, fname, sha in zip(runs["run_id"], runs["records_file"],
                                          runs["source_sha256"], strict=True):  # fmt: skip
                if isinstance(fname, str) and run_id not in ids_in.get(fname, ()):
                    rep.lost_run_ids.add(run_id)
                    if isinstance(sha, str):
                        rep.lost_sources.add(sha)
            if rep.lost_run_ids:
                rep.problems.append(f"{self.root}: {len(rep.lost_run_ids)} run(s) have lost "
                                    "their records")  # fmt: skip
        named = _named_files(man)
        rep.orphans = sorted(rel for p in _library_files(self.root)
                             if (rel := p.relative_to(self.root).as_posix()) not in named)  # fmt: skip
        if rep.orphans:
            rep.problems.append(f"{self.root}: {len(rep.orphans)} file(s) no manifest names "
                                "(left by an interrupted commit)")  # fmt: skip
        return rep

    def repair(self) -> CheckReport:
        """Mend what :meth:`check` finds, under the writer lock, in one new generation.

        An incomplete manifest is rebuilt from the newest readable files; a damaged table
        starts empty; runs whose records are lost are dropped and their sources marked
        ``lost``, so importing those files again re-imports them; unnamed files are
        removed. Returns the report of what was found (and mended).
        """
        with self.locked(), self._writing():
            gaps = _manifest_gaps(self._manifest)
            if gaps:
                self._manifest = _rebuilt_manifest(self.root, self._manifest)
            rep = self.check()
            if gaps:
                rep.manifest_gaps = gaps
                rep.problems.insert(0, f"{self.root / MANIFEST}: incomplete manifest (no "
                                    f"{', '.join(gaps)}): rebuilt from the files present")  # fmt: skip
            if not rep.problems:
                return rep
            man = dict(self._manifest)
            gen = int(man.get("generation") or 0) + 1
            runs = None if "runs" in rep.damaged_tables else self._table("runs")
            mob = None if "mobility" in rep.damaged_tables else self._table("mobility")
            src = None if "sources" in rep.damaged_tables else self._table("sources")
            runs = _empty_runs() if runs is None else runs
            mob = _empty_mobility() if mob is None else mob
            src = _empty_sources() if src is None else src.copy()
            lost = pd.Series(src["sha256"].isin(rep.lost_sources), index=src.index)
            n_runs = pd.to_numeric(src["n_runs"], errors="coerce").fillna(0)
            n_sess = pd.to_numeric(src["n_sessions"], errors="coerce").fillna(0)
            if "runs" in rep.damaged_tables:
                lost |= n_runs > 0
            if "mobility" in rep.damaged_tables:
                lost |= n_sess > 0
            src.loc[lost, "status"] = "lost"
            src.loc[lost, "detail"] = "records lost; import the file again"
            runs = runs[~runs["run_id"].isin(rep.lost_run_ids)]
            live = set(runs["records_file"].dropna()) if len(runs) else set()
            man["records"] = [f for f in man.get("records") or []
                              if f in live and f not in rep.bad_record_files]  # fmt: skip
            man["version"] = LIBRARY_VERSION
            self._write_generation(man, gen, runs, mob, src)
            self._collect_garbage()  # every file no manifest names: leftovers, damaged files
            rep.repaired = True
            return rep


@dataclass
class CheckReport:
    """What :meth:`Library.check` found.

    Attributes
    ----------
    problems
        One line per problem; empty when the library is whole.
    manifest_gaps
        Manifest keys that are missing.
    damaged_tables
        ``runs``, ``mobility``, ``sources``: tables missing or unreadable.
    bad_record_files
        Records files the manifest names that are missing or unreadable.
    lost_run_ids, lost_sources
        Runs whose records are gone, and the ``sha256`` of the files they came from.
    orphans
        Library files no manifest names (relative paths).
    repaired
        True when :meth:`Library.repair` wrote a mended generation.
    """

    root: Path
    problems: list[str] = field(default_factory=list)
    manifest_gaps: list[str] = field(default_factory=list)
    damaged_tables: set[str] = field(default_factory=set)
    bad_record_files: set[str] = field(default_factory=set)
    lost_run_ids: set[str] = field(default_factory=set)
    lost_sources: set[str] = field(default_factory=set)
    orphans: list[str] = field(default_factory=list)
    repaired: bool = False

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.problems

    @property
    def consistent(self) -> bool:
        """Nothing lost or damaged (unnamed files, the garbage of a killed commit, aside)."""
        return not (self.manifest_gaps or self.damaged_tables or self.bad_record_files
                    or self.lost_run_ids)  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {"library": str(self.root), "ok": self.ok, "problems": list(self.problems),
                "lost_runs": len(self.lost_run_ids), "lost_sources": len(self.lost_sources),
                "orphans": list(self.orphans), "repaired": self.repaired}  # fmt: skip


def _manifest_gaps(manifest: dict[str, Any]) -> list[str]:
    gaps = [k for k in MANIFEST_KEYS if k not in manifest]
    if "records" in manifest and not isinstance(manifest["records"], list):
        gaps.append("records")
    if "generation" in manifest and not isinstance(manifest["generation"], int):
        gaps.append("generation")
    return gaps


def _named_files(manifest: dict[str, Any]) -> set[str]:
    keep = {manifest.get(k) for k in ("runs", "mobility", "sources")}
    records = manifest.get("records")
    keep |= set(records) if isinstance(records, list) else set()
    return {k for k in keep if isinstance(k, str)}


def _file_state(path: Path) -> str | None:
    """None for a file that ends in a Parquet footer; else what is wrong with it."""
    try:
        size = path.stat().st_size
        if size < 12:
            return "truncated"
        with open(path, "rb") as fh:
            fh.seek(-4, os.SEEK_END)
            return None if fh.read(4) == _PARQUET_MAGIC else "truncated or not Parquet"
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"


def _rebuilt_manifest(root: Path, old: dict[str, Any]) -> dict[str, Any]:
    """A complete manifest from what the folder holds: the newest readable table of each
    kind, every readable records file (those no run names are dropped by the repair)."""
    man: dict[str, Any] = {"version": LIBRARY_VERSION, "generation": 0, "runs": None,
                           "mobility": None, "sources": None, "records": []}  # fmt: skip
    gens = [0]
    for key in ("runs", "mobility", "sources"):
        for path in sorted(root.glob(f"{key}-*.parquet"), reverse=True):
            if _file_state(path) is None:
                man[key] = path.name
                with contextlib.suppress(ValueError):
                    gens.append(int(path.stem.split("-")[1]))
                break
    for path in sorted(root.glob("records/*/*.parquet")):
        if _file_state(path) is None:
            man["records"].append(path.relative_to(root).as_posix())
            with contextlib.suppress(ValueError):
                gens.append(int(path.stem.split("-")[0]))
    if isinstance(old.get("generation"), int):
        gens.append(old["generation"])
    man["generation"] = max(gens)
    return man


@contextlib.contextmanager
def _records_written(
    writes: list[tuple[list[tuple[str, pa.Table]], Path]],
) -> Iterator[Callable[[], None]]:
    """Write record files on up to four threads, begun at once; yields the function that
    waits for them (raising the first error). Leaving waits for every one, error or not,
    so no thread writes into the library after a failed commit has cleaned up.

    Threads: the Parquet encoder releases the GIL, and at the end of an import the
    decoding workers are idle. Four even on two cores: a month's file is one task, and 7 of
    them on 2 threads took 4 rounds (12 % longer)."""
    if not writes:
        yield lambda: None
        return
    from concurrent.futures import ThreadPoolExecutor

    def write(parts: list[tuple[str, pa.Table]], path: Path) -> None:
        _write_table(_records_file_table(parts), path)

    with ThreadPoolExecutor(max_workers=min(len(writes), 4)) as pool:
        done = [pool.submit(write, parts, path) for parts, path in writes]

        def wait() -> None:
            for f in done:
                f.result()

        yield wait


def _merge_record_files(paths: list[Path], live_ids: set[str]) -> pa.Table:
    """The rows of live runs from several record files, as one table (``run_id`` first,
    one dictionary)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    tables = []
    for path in paths:
        with parquet_files.opened(path) as file:  # (read_table's dataset layer imports pandas)
            table = _as_floats(file.read())
        ids = table.column("run_id")
        if not pa.types.is_dictionary(ids.type):  # files written before run_id was encoded
            ids = pc.dictionary_encode(ids.cast(pa.string()))
            table = table.set_column(table.schema.get_field_index("run_id"), "run_id", ids)
        tables.append(table)
    merged = pa.concat_tables(tables, promote_options="default").unify_dictionaries()
    live = arrow_strings(sorted(live_ids), large=False)
    keep = pc.is_in(merged.column("run_id"), value_set=live)
    return merged.filter(keep)


def typical_offset(offsets: Iterable[Any]) -> int | None:
    """Most common of a collection of UTC offsets [s] (NaN/None ignored), or None."""
    vals = pd.to_numeric(pd.Series(list(offsets), dtype=object), errors="coerce").dropna()
    if vals.empty:
        return None
    return int(vals.round().astype(int).mode().iloc[0])


def _library_files(root: Path) -> Iterable[Path]:
    for pattern in ("runs-*.parquet", "mobility-*.parquet", "sources-*.parquet",
                    "records/*/*.parquet", ".*.tmp", "records/*/.*.tmp"):  # fmt: skip
        yield from root.glob(pattern)


def _as_utc(value: str | pd.Timestamp) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _for_disk(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns holding mixed Python values become strings or floats for Parquet."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype != object:
            continue
        values = out[col].tolist()
        kinds = {type(v) for v in values if v is not None and not (isinstance(v, float)
                                                                  and np.isnan(v))}  # fmt: skip
        if kinds <= {int, float, np.float64, np.int64, bool, np.bool_}:
            out[col] = pd.to_numeric(pd.Series(values, index=out.index), errors="coerce")
        elif kinds and all(issubclass(k, pd.Timestamp) for k in kinds):
            out[col] = pd.to_datetime(pd.Series(values, index=out.index), utc=True)
        else:
            out[col] = [None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
                        for v in values]  # fmt: skip
    return out
