"""Arrow arrays and tables from numpy and Python values, and back, without pandas.

pyarrow's own constructors (``pa.array``, ``Table.from_pylist``, ``to_numpy``...) look for
pandas on their first call, and so import it: 0.25 s, more than an import of a year of runs
spends on anything else. The import path (the workers' records, the commit's runs and
sources tables) builds its arrays here, from buffers; pandas is imported only where a
DataFrame is really asked for.

Everything here is a plain conversion: floats are float64 with NaN stored as null (as
``Table.from_pandas`` stores them), times are UTC, strings ``large_string``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..timezones import utc_ns

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["arrow_array", "arrow_strings", "arrow_type", "concat", "numpy_column",
           "rows_table", "without"]  # fmt: skip


def arrow_type(dtype: str) -> pa.DataType:
    """The Arrow type the library stores a column of this :mod:`~stridekeeper.schema`
    dtype as (``"str"``, ``"float64"``, ``"int64"``, ``"bool"``, ``"datetime64[us, UTC]"``)."""
    import pyarrow as pa

    if dtype.startswith("datetime64"):
        return pa.timestamp("us", tz="UTC")
    return {"float64": pa.float64(), "int64": pa.int64(), "bool": pa.bool_()}.get(
        dtype, pa.large_string()
    )


def _bits(mask: np.ndarray) -> Any:
    import pyarrow as pa

    return pa.py_buffer(np.packbits(mask, bitorder="little"))


def arrow_array(
    values: np.ndarray, type: pa.DataType | None = None, valid: np.ndarray | None = None
) -> pa.Array:
    """A numpy array as an Arrow array: floats as float64 with NaN as null, bool as bool,
    int64 as ``type`` (int64 by default, or a timestamp of that unit), null where
    ``valid`` (ints only; default: all present) is False. Built from the buffers:
    ``pyarrow.array`` would import pandas to ask whether the values are a pandas object."""
    import pyarrow as pa

    v = np.ascontiguousarray(values)
    n = len(v)
    if v.dtype.kind == "b":
        return pa.Array.from_buffers(pa.bool_(), n, [None, _bits(v)])
    if v.dtype.kind == "f":
        v = v.astype(np.float64, copy=False)
        valid = ~np.isnan(v)
        nulls = n - int(np.count_nonzero(valid))
        mask = _bits(valid) if nulls else None
        return pa.Array.from_buffers(pa.float64(), n, [mask, pa.py_buffer(v)], null_count=nulls)
    if v.dtype.kind in "iu":  # int32 stays int32 (dictionary codes); others int64
        kind = pa.int32() if v.dtype == np.int32 else type or pa.int64()
        v = v if v.dtype == np.int32 else v.astype(np.int64, copy=False)
        nulls = 0 if valid is None else n - int(np.count_nonzero(valid))
        mask = _bits(valid) if valid is not None and nulls else None
        return pa.Array.from_buffers(kind, n, [mask, pa.py_buffer(v)], null_count=nulls)
    raise TypeError(f"no Arrow array for numpy dtype {v.dtype}")


def arrow_strings(values: Sequence[Any], *, large: bool = True) -> pa.Array:
    """Python values as a ``large_string`` (or ``string``) array: None (and float NaN) as
    null, anything else as ``str(value)``."""
    import pyarrow as pa

    n = len(values)
    valid = np.fromiter((not _missing(v) for v in values), dtype=bool, count=n)
    encoded = [str(v).encode() if ok else b"" for v, ok in zip(values, valid, strict=True)]
    offsets = np.zeros(n + 1, dtype=np.int64 if large else np.int32)
    np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=n), out=offsets[1:])
    nulls = n - int(np.count_nonzero(valid))
    buffers = [_bits(valid) if nulls else None, pa.py_buffer(offsets),
               pa.py_buffer(b"".join(encoded))]  # fmt: skip
    kind = pa.large_string() if large else pa.string()
    return pa.Array.from_buffers(kind, n, buffers, null_count=nulls)


def _missing(v: Any) -> bool:
    if v is None:
        return True
    try:
        return bool(v != v)  # NaN, NaT (pandas' own missing values too)
    except (TypeError, ValueError):
        return False


def _micros(v: Any) -> int | None:
    """A datetime (or pandas Timestamp) as int microseconds since 1970 UTC (naive: UTC)."""
    if _missing(v):
        return None
    if not isinstance(v, dt.datetime):
        raise TypeError(f"not a time: {v!r}")
    return utc_ns(v) // 1000


def _float(v: Any) -> float:
    if _missing(v):
        return math.nan
    return float(v)


def _column(values: list[Any], dtype: str | None) -> pa.Array:
    """One column of Python values, as ``dtype`` says or, without one, as the values are
    (numbers, bools, times; anything else strings, as ``_for_disk`` stores them)."""
    import pyarrow as pa

    if dtype is None:
        kinds = {type(v) for v in values if not _missing(v)}
        if kinds and all(issubclass(k, dt.datetime) for k in kinds):
            dtype = "datetime64[us, UTC]"
        elif kinds <= {bool, np.bool_} and kinds:
            dtype = "bool"
        elif kinds <= {int, float, bool, np.float64, np.int64, np.bool_}:
            dtype = "float64"
        else:
            dtype = "str"
    if dtype.startswith("datetime64"):
        us = [_micros(v) for v in values]
        valid = np.array([u is not None for u in us], dtype=bool)
        data = np.array([u if u is not None else 0 for u in us], dtype=np.int64)
        nulls = len(us) - int(valid.sum())
        return pa.Array.from_buffers(pa.timestamp("us", tz="UTC"), len(us),
                                     [_bits(valid) if nulls else None, pa.py_buffer(data)],
                                     null_count=nulls)  # fmt: skip
    if dtype == "float64":
        return arrow_array(np.array([_float(v) for v in values], dtype=np.float64))
    if dtype == "bool" and not any(_missing(v) for v in values):
        return arrow_array(np.array([bool(v) for v in values], dtype=bool))
    if dtype == "int64" and not any(_missing(v) for v in values):
        return arrow_array(np.array([int(v) for v in values], dtype=np.int64))
    if dtype in ("bool", "int64"):  # with gaps: stored as floats, as a DataFrame would
        return arrow_array(np.array([_float(v) for v in values], dtype=np.float64))
    return arrow_strings(values)


def rows_table(rows: Sequence[Mapping[str, Any]], dtypes: Mapping[str, str]) -> pa.Table:
    """One dict per row as a table: columns in the order they first appear, typed by
    ``dtypes`` (a column it doesn't name by its values); a key a row lacks is null there."""
    import pyarrow as pa

    names = list(dict.fromkeys(k for r in rows for k in r))
    arrays = [_column([r.get(c) for r in rows], dtypes.get(c)) for c in names]
    return pa.Table.from_arrays(arrays, names=names)


def numpy_column(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A numeric, bool or time column as numpy: float64 with null as NaN; int64 (a
    timestamp as int64 of its unit; with nulls, float64 with NaN); bool (null as False)."""
    import pyarrow as pa

    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    parts = [_numpy_chunk(c) for c in chunks]
    if not parts:
        return np.zeros(0)
    if len({p.dtype for p in parts}) > 1:
        parts = [p.astype(np.float64) for p in parts]
    return np.concatenate(parts)


def float_values(a: pa.Array) -> tuple[np.ndarray, np.ndarray | None]:
    """A float64 array's values as a read-only numpy view of its buffer (no copy; what a
    null's slot holds is undefined) and which are present (None: all of them)."""
    n, off = len(a), a.offset
    bufs = a.buffers()
    if bufs[1] is None:  # no values at all (every slot null)
        return np.zeros(n), np.zeros(n, dtype=bool)
    return np.frombuffer(bufs[1], dtype=np.float64, count=off + n)[off:], _valid(a, bufs)


def _valid(a: pa.Array, bufs: list[Any]) -> np.ndarray | None:
    """Which of an array's slots hold a value, from its validity bitmap (None: all)."""
    if not a.null_count or bufs[0] is None:
        return None
    bits = np.frombuffer(bufs[0], dtype=np.uint8)
    return np.unpackbits(bits, bitorder="little")[a.offset : a.offset + len(a)].astype(bool)


def _numpy_chunk(a: pa.Array) -> np.ndarray:
    import pyarrow as pa

    n, off = len(a), a.offset
    bufs = a.buffers()
    valid = _valid(a, bufs)
    t = a.type
    if pa.types.is_null(t):
        return np.full(n, np.nan)
    if pa.types.is_boolean(t):
        bits = np.frombuffer(bufs[1], dtype=np.uint8)
        out = np.unpackbits(bits, bitorder="little")[off : off + n].astype(bool)
        return out if valid is None else out & valid
    if pa.types.is_floating(t) or pa.types.is_integer(t) or pa.types.is_timestamp(t):
        dtype = (np.float64 if t == pa.float64() else np.float32 if t == pa.float32()
                 else np.dtype(f"int{t.bit_width}") if pa.types.is_signed_integer(t)
                 or pa.types.is_timestamp(t) else np.dtype(f"uint{t.bit_width}"))  # fmt: skip
        out = np.frombuffer(bufs[1], dtype=dtype, count=off + n)[off:]
        if valid is None:
            return out.astype(np.float64) if out.dtype.kind == "f" else out.astype(np.int64)
        return np.where(valid, out.astype(np.float64), np.nan)
    raise TypeError(f"no numpy column for Arrow type {t}")


def without(table: pa.Table, column: str, values: Iterable[Any]) -> pa.Table:
    """``table`` without its rows whose ``column`` holds one of ``values`` (zero-copy
    slices of the rows kept: ``Table.filter`` would import pyarrow.compute, 27 ms)."""
    import pyarrow as pa

    drop = set(values)
    gone = np.array([v in drop for v in table[column].to_pylist()], dtype=bool)
    if not gone.any():
        return table
    edges = np.flatnonzero(np.diff(np.r_[True, gone, True].astype(np.int8)))
    # kept runs of rows start where a gone run ends and end where the next one starts
    kept = [(int(a), int(b)) for a, b in zip(edges[0::2], edges[1::2], strict=False)
            if b > a]  # fmt: skip
    parts = [table.slice(a, b - a) for a, b in kept]
    return pa.concat_tables(parts) if parts else table.slice(0, 0)


def concat(
    tables: Iterable[pa.Table | None], dtypes: Mapping[str, str] | None = None
) -> pa.Table | None:
    """Tables one after another, columns matched by name (the first-seen order; a column a
    table lacks is null there). A column whose types differ is cast to the type ``dtypes``
    gives it, else to the first table's type where it holds values: a column that held
    nothing when a table was written (stored as float or null) takes the other's type."""
    import pyarrow as pa

    parts = [t for t in tables if t is not None]
    if not parts:
        return None
    names = list(dict.fromkeys(n for t in parts for n in t.column_names))
    target: dict[str, pa.DataType] = {}
    for name in names:
        types = {t.schema.field(name).type for t in parts if name in t.column_names}
        if len(types) == 1:
            target[name] = types.pop()
        elif dtypes is not None and name in dtypes:
            target[name] = arrow_type(dtypes[name])
        else:
            filled = [t.schema.field(name).type for t in parts
                      if name in t.column_names and t[name].null_count < t.num_rows]  # fmt: skip
            target[name] = filled[0] if filled else parts[0].schema.field(name).type
    out = []
    for t in parts:
        arrays = []
        for name in names:
            want = target[name]
            if name not in t.column_names:
                arrays.append(pa.nulls(t.num_rows, want))
                continue
            col = t[name]
            if col.type != want:
                if col.null_count == len(col):
                    col = pa.nulls(len(col), want)
                else:
                    import pyarrow.compute as pc

                    col = pc.cast(col, want, safe=False)
            arrays.append(col)
        out.append(pa.Table.from_arrays(arrays, names=names))
    return pa.concat_tables(out)
