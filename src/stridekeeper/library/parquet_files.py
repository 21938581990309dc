"""The library's Parquet files, written and read without importing :mod:`pyarrow.parquet`.

That module loads ``pyarrow.fs`` and, through it, ``ssl``: 14-17 ms of the ~17 it costs,
paid by every command that touches the library (an import's commit, ``runs``, ``analyze``)
for file systems it never uses. :func:`write` and :func:`opened` use the classes
``pyarrow.parquet`` itself wraps (``pyarrow._parquet.ParquetWriter`` and
``ParquetReader``), given what ``write_table`` and ``ParquetFile`` would give them, so the
files and tables are the same; a pyarrow without those classes, or whose classes refuse
those options, takes the public functions.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["opened", "write"]


def _private() -> Any:
    try:
        import pyarrow._parquet as private
    except ImportError:  # pragma: no cover - a pyarrow laid out otherwise
        return None
    return private


def write(table: pa.Table, path: Path, options: dict[str, Any]) -> None:
    """``pyarrow.parquet.write_table(table, path, **options)``; on failure no file is left
    at ``path``, as ``write_table`` leaves none."""
    private = _private()
    writer = None
    try:
        if private is not None:
            try:
                # write_table's defaults where the class's differ (its None is the C++
                # default, which has moved between releases)
                writer = private.ParquetWriter(str(path), table.schema, version="2.6",
                                               data_page_version="1.0",
                                               writer_engine_version="V2", **options)  # fmt: skip
            except TypeError:  # pragma: no cover - an option this pyarrow does not know
                path.unlink(missing_ok=True)
        if writer is None:  # pragma: no cover
            import pyarrow.parquet as pq

            pq.write_table(table, path, **options)
            return
        try:
            writer.write_table(table)
        finally:
            writer.close()
    except BaseException:
        path.unlink(missing_ok=True)
        raise


class _File:
    """One open Parquet file: its column names and :meth:`read`."""

    def __init__(self, reader: Any, names: list[str], public: bool) -> None:
        self._reader, self.names, self._public = reader, names, public

    def read(self, columns: Sequence[str] | None = None) -> pa.Table:
        """The whole table, or only ``columns`` in that order (those the file has, as
        ``ParquetFile.read`` takes them)."""
        if self._public:  # pragma: no cover
            return self._reader.read(columns=None if columns is None else list(columns))
        if columns is None:
            return self._reader.read_all(use_threads=True)
        idx = [self._reader.column_name_idx(c) for c in columns if c in self.names]
        return self._reader.read_all(column_indices=idx, use_threads=True)


@contextlib.contextmanager
def opened(path: Path) -> Iterator[_File]:
    """A Parquet file opened for reading, as ``pyarrow.parquet.ParquetFile(path)`` opens
    it. A missing file raises ``FileNotFoundError``, one that is not Parquet (or cut
    short) ``pyarrow.ArrowInvalid``, a ``ValueError``."""
    import pyarrow as pa

    private = _private()
    if private is None:  # pragma: no cover
        import pyarrow.parquet as pq

        with pq.ParquetFile(path) as file:
            yield _File(file, list(file.schema_arrow.names), public=True)
        return
    source = pa.OSFile(str(path), "rb")
    reader = private.ParquetReader()
    try:
        reader.open(source, pre_buffer=True)
        yield _File(reader, list(reader.schema_arrow.names), public=False)
    finally:
        reader.close()
        source.close()
