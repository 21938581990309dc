"""A columnar FIT decoder: every ``record`` message of a file as numpy columns, fast.

:func:`decode_fit_columnar` gives the values fitdecode's ``FitReader`` (default data
processor) gives, about two orders of magnitude faster, for the files it accepts; any
file it does not accept makes it return ``None`` (the reason is logged at DEBUG level)
so the caller can decode that file with fitdecode instead.

How it works
------------
1. The FIT headers and CRCs of each chained file are checked (CRC-16/ARC, the FIT SDK's
   ``FitCRC_Get16``) by :func:`~stridekeeper.io.fit_crc.fit_crc`, the one FIT CRC of the
   package (the Rust-backed ``fastcrc``, a numpy fallback; :data:`CRC_BACKEND` says which).
   ``check_crc=False`` skips the check.
2. One Python loop walks the *record headers only*: definition messages (both
   architectures, developer fields) are parsed as they come, and a run of consecutive
   data messages of equal size is measured at once (its header bytes picked out by one
   strided slice, classified with ``bytes.translate``, counted with ``bytes.lstrip``),
   so the loop runs once per definition or run rather than once per message; normal
   and compressed-timestamp headers of any local type mix freely within a run.
   Developer descriptions (``developer_data_id``, ``field_description``) are decoded on
   the spot because later definitions refer to them.
3. All data messages of one definition are then read at once through a numpy
   structured dtype over the byte buffer, and fitdecode's profile
   (:mod:`fitdecode.profile`: names, scale, offset, enums, components, subfields) and
   invalid values (:mod:`fitdecode.types`) are applied column by column, exactly as
   ``FitReader`` and ``DefaultDataProcessor`` do per message: compressed-timestamp
   headers and accumulated components (``compressed_speed_distance`` -> ``distance``,
   ``cycles`` -> ``total_cycles``, ...) are rolled over with vectorised cumulative sums,
   and ``speed`` / ``altitude`` expand into ``enhanced_speed`` / ``enhanced_altitude``.

Record columns follow the rule stridekeeper's FIT reader applies to fitdecode's record
dicts (``io.fit._records_frame``): for each field name the last non-``None`` value of the
message wins; array values give their first valid element; enum names, strings and
date-times become NaN; everything else is float64 in fitdecode's units. Other messages
(``session``, ``lap``, ``event``, ...) are returned as the very dicts fitdecode's frames
give (``{field name: value}``, enum names, ``datetime`` objects and all).

Damage, and what goes to fitdecode instead
------------------------------------------
By default any damage or anything fitdecode would warn about returns ``None``. With
``recover=True`` (what ``io.fit.decode_fit`` asks for) the fast path reads damaged files
the way fitdecode's ``FitReader`` does with ``CrcCheck.WARN`` and ``ErrorHandling.WARN``,
and says what fitdecode would say, word for word: a CRC mismatch is a warning; a field of
a non-record message whose size is not a multiple of its base type's is read as bytes,
with fitdecode's warning; a file cut short (the bytes end inside a message, between two
messages or in the CRC) or a data message of an undefined local type stops the reading,
and the messages before it are returned with where and why it stopped
(:attr:`ColumnarFit.damaged_at`, :attr:`ColumnarFit.damage`).

Still left to fitdecode: stray bytes after the last file, a definition or developer
description cut short, a message crossing the declared end of the data inside the file
(fitdecode fails an assertion there), a misaligned record field, an undescribed
developer field, layouts whose fitdecode result depends on Python-object
quirks (timestamps or component sources of float, string or 64-bit types, date-time
fields of array or float type, unnamed developer fields), header sizes other than 12 and
14, and ``hr`` messages when they are asked for (their ``event_timestamp_12`` expansion is
special-cased in fitdecode; otherwise only their timestamps are read, for the timestamp base).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .fit_crc import fit_crc as _crc16

__all__ = [
    "DEFAULT_MESSAGES",
    "MISSING_TIMESTAMP",
    "ColumnarFit",
    "ColumnarSegment",
    "decode_fit_columnar",
]

log = logging.getLogger(__name__)

#: Non-record messages returned as dicts unless ``messages=`` says otherwise.
DEFAULT_MESSAGES: frozenset[str] = frozenset(
    {"file_id", "session", "lap", "event", "activity", "set", "sport", "device_info",
     "developer_data_id", "field_description"}
)  # fmt: skip

#: ``records["timestamp"]`` of a record without a (valid) timestamp.
MISSING_TIMESTAMP = int(np.iinfo(np.int64).min)

_MESG_RECORD = 20
_MESG_HR = 132
_MESG_FIELD_DESCRIPTION = 206
_MESG_DEVELOPER_DATA_ID = 207
_FIELD_TIMESTAMP = 253
_FIT_DATETIME_MIN = 0x10000000
#: Field types fitdecode's DefaultDataProcessor converts (``process_type_<name>``).
_PROCESSED_TYPES = ("bool", "date_time", "local_date_time", "localtime_into_day")


class _Unsupported(Exception):
    """The fast path does not decode this file (the message says why)."""


# --------------------------------------------------------------------------- results
@dataclass
class ColumnarSegment:
    """One FIT file of a (possibly chained) stream.

    Attributes
    ----------
    records
        The ``record`` messages, one array per field name, all of length
        `n_records`, in file order. ``"timestamp"`` is int64 FIT seconds
        (seconds since 1989-12-31T00:00:00Z, or device-relative seconds when below
        ``0x10000000``; :data:`MISSING_TIMESTAMP` where a record has none); every other
        column is float64 in fitdecode's units (NaN where the value is invalid, absent,
        an enum name, a string or a date-time). Field names are fitdecode's
        (``position_lat`` [semicircles], ``distance`` [m], ``enhanced_speed`` [m/s],
        ``cadence`` [rpm], ``fractional_cadence`` [rpm], ``step_length`` [mm], ...,
        ``unknown_<n>`` for fields missing from the profile). Developer fields appear
        under their own name and, as ``io.fit.decode_fit`` names them, as
        ``dev_<snake_case name>`` (``dev_<name>_<developer index>`` on a clash); a
        ``dev_`` column exists only if it has a value somewhere.
    messages
        The other messages asked for, by message name (``"session"``, ``"lap"``, ...):
        a list of ``{field name: value}`` dicts in file order, built from fitdecode's
        field values as ``io.fit._message_dict`` builds them (the last non-``None``
        value of a name wins), developer fields under their names.
    n_records
        Number of ``record`` messages.
    dev_units
        ``dev_<name>`` column -> the developer field's units (``""`` if none).
    """

    records: dict[str, np.ndarray] = field(default_factory=dict)
    n_records: int = 0
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    dev_units: dict[str, str] = field(default_factory=dict)


@dataclass
class ColumnarFit:
    """A decoded FIT stream: one :class:`ColumnarSegment` per FIT header, in file order.

    Attributes
    ----------
    source
        The name given to :func:`decode_fit_columnar`.
    segments
        The chained FIT files.
    crc_checked
        True when the header and file CRCs were verified.
    warnings
        With ``recover=True``: the CRC mismatches and misaligned field sizes, in file
        order and in fitdecode's words (``FitReader`` with ``CrcCheck.WARN`` and
        ``ErrorHandling.WARN`` warns the same texts).
    damaged_at, damage
        With ``recover=True``, where reading stopped and why, as fitdecode's exception
        says it (``"FitEOFError: expected 2 bytes, got 0 @ 403456"``): the segments hold
        the messages before that byte. ``None`` when the file was read to its end.
    """

    source: str
    segments: list[ColumnarSegment]
    crc_checked: bool
    warnings: list[str] = field(default_factory=list)
    damaged_at: int | None = None
    damage: str | None = None


# --------------------------------------------------------------------------- base types
@dataclass(frozen=True)
class _Base:
    """A fitdecode base type with what numpy needs to read it."""

    bt: Any  # fitdecode.types.BaseType
    code: str  # numpy code without byte order, e.g. "u2"
    kind: str  # "int", "float", "string" or "byte"
    invalid: int | None  # raw invalid value of an integer type


_STRUCT_TO_NUMPY = {"B": "u1", "b": "i1", "h": "i2", "H": "u2", "i": "i4", "I": "u4",
                    "q": "i8", "Q": "u8", "f": "f4", "d": "f8", "s": "u1"}  # fmt: skip


@functools.cache
def _base_types() -> tuple[dict[int, _Base], _Base]:
    """fitdecode's base types, invalid values found by asking their own ``parse``."""
    from fitdecode import types

    out: dict[int, _Base] = {}
    for ident, bt in types.BASE_TYPES.items():
        code = _STRUCT_TO_NUMPY[bt.fmt]
        if bt.identifier == types.BASE_TYPE_BYTE.identifier:
            out[ident] = _Base(bt, "u1", "byte", None)
        elif bt.fmt == "s":
            out[ident] = _Base(bt, "u1", "string", None)
        elif bt.fmt in "fd":
            out[ident] = _Base(bt, code, "float", None)
        else:
            bits = 8 * bt.size
            candidates = {0, (1 << bits) - 1, (1 << (bits - 1)) - 1}
            invalid = [c for c in candidates if bt.parse(c) is None]
            if len(invalid) != 1:  # pragma: no cover - a future fitdecode changed the rule
                continue
            out[ident] = _Base(bt, code, "int", invalid[0])
    return out, out[types.BASE_TYPE_BYTE.identifier]


@functools.cache
def _processor() -> tuple[Any, bool]:
    """fitdecode's default processor; False when it does more than this module mirrors."""
    from fitdecode.processors import DefaultDataProcessor

    proc = DefaultDataProcessor()
    known = {f"process_type_{t}" for t in _PROCESSED_TYPES} | {"process_message_hr"}
    extra = {m for m in dir(proc) if m.startswith("process_")} - known
    return proc, not extra


# --------------------------------------------------------------------------- definitions
@dataclass(frozen=True, eq=False)
class _Spec:
    """One field of a definition message."""

    index: int  # position in the structured dtype ("f<index>")
    def_num: int
    size: int
    base: _Base
    count: int  # values in the field (bytes for strings and byte arrays)
    field: Any  # fitdecode Field, DevField or None
    is_dev: bool
    dev_key: tuple[int, int] | None = None

    @property
    def name(self) -> str:
        return self.field.name if self.field is not None else f"unknown_{self.def_num}"


@dataclass(eq=False)
class _Def:
    """A compiled definition message."""

    global_num: int
    name: str
    mesg_type: Any
    specs: tuple[_Spec, ...]
    n_regular: int
    dtype: np.dtype
    size: int  # payload bytes (without the record header)
    ts_specs: tuple[_Spec, ...]  # regular fields numbered 253 (set the timestamp base)
    acc_dests: tuple[int, ...]  # destinations of accumulated components (reset here)
    positions: dict[int, tuple[int, ...]] = field(default_factory=dict)  # regular fields
    #: fields whose size is not a multiple of their base type's, read as bytes as
    #: fitdecode reads them: (size, base type name, base type size)
    misaligned: tuple[tuple[int, str, int], ...] = ()


@dataclass(frozen=True)
class _DevInfo:
    name: str
    base_id: int
    units: Any  # the raw value: normally a str or None


def _check_processed(spec: _Spec, type_name: str | None, where: str) -> None:
    if type_name in _PROCESSED_TYPES:
        ok = spec.base.kind == "int" and spec.count == 1 and spec.base.bt.size <= 4
        if type_name == "localtime_into_day":
            ok = ok and spec.base.invalid != (1 << (8 * spec.base.bt.size - 1)) - 1
        if not ok:
            raise _Unsupported(
                f"{where}: {type_name} field of base type {spec.base.bt.name} x{spec.count}"
            )


def _compile(
    global_num: int,
    big_endian: bool,
    fields: bytes,
    devs: bytes,
    dev_infos: tuple[_DevInfo | None, ...],
    lenient: bool = False,
) -> _Def:
    from fitdecode import profile

    mesg_type = profile.MESSAGE_TYPES.get(global_num)
    name = mesg_type.name if mesg_type is not None else f"unknown_{global_num}"
    specs: list[_Spec] = []
    acc: list[int] = []
    misaligned: list[tuple[int, str, int]] = []
    for k in range(0, len(fields), 3):
        lax = misaligned if lenient and global_num != _MESG_RECORD else None
        spec = _regular_spec(global_num, mesg_type, name, fields[k : k + 3], len(specs), lax)
        if spec.field is not None:
            for f in [spec.field, *(spec.field.subfields or ())]:
                _check_processed(
                    spec, getattr(f.type, "name", None), f"{name} field {spec.def_num}"
                )
                _check_components(global_num, mesg_type, spec, f, acc, name)
        specs.append(spec)
    n_regular = len(specs)
    for k, info in zip(range(0, len(devs), 3), dev_infos, strict=True):
        specs.append(_developer_spec(name, devs[k : k + 3], info, len(specs)))
    dtype, off = _layout(specs, big_endian)
    ts = tuple(s for s in specs[:n_regular] if s.def_num == _FIELD_TIMESTAMP)
    positions: dict[int, tuple[int, ...]] = {}
    for s in specs[:n_regular]:
        positions[s.def_num] = (*positions.get(s.def_num, ()), s.index)
    return _Def(global_num, name, mesg_type, tuple(specs), n_regular, dtype, off, ts,
                tuple(dict.fromkeys(acc)), positions, tuple(misaligned))  # fmt: skip


def _regular_spec(global_num: int, mesg_type: Any, name: str, triple: bytes, index: int,
                  misaligned: list[tuple[int, str, int]] | None = None) -> _Spec:  # fmt: skip
    """One profile field of a definition (number, size, base type), checked for the fast
    path. With `misaligned`, a size that is not a multiple of the base type's makes the
    field bytes (fitdecode's fallback, which it warns about) and is noted there."""
    bases, byte = _base_types()
    num, size, base_id = triple[0], triple[1], triple[2]
    base = bases.get(base_id, byte)
    where = f"{name} field {num}"
    if size and size % base.bt.size and misaligned is not None:
        misaligned.append((size, base.bt.name, base.bt.size))
        base = byte
    if size == 0 or size % base.bt.size:
        raise _Unsupported(f"{where}: invalid size {size} for base type {base.bt.name}")
    prof = mesg_type.fields.get(num) if mesg_type is not None else None
    if global_num == _MESG_HR and num != _FIELD_TIMESTAMP:
        # hr messages: only their timestamp is read (it sets the base of compressed
        # timestamps); the other fields are walked over as unknown bytes, and asking for
        # them goes to fitdecode
        prof = None
    spec = _Spec(index, num, size, base, size // base.bt.size, prof, False)
    if num == _FIELD_TIMESTAMP and (base.kind != "int" or spec.count != 1 or base.bt.size > 4):
        raise _Unsupported(f"{where}: timestamp of base type {base.bt.name} x{spec.count}")
    if prof is not None and global_num == _MESG_RECORD and prof.subfields:
        raise _Unsupported(f"{where}: record field with subfields")
    return spec


def _check_components(global_num: int, mesg_type: Any, spec: _Spec, f: Any, acc: list[int],
                      name: str) -> None:  # fmt: skip
    """Raise for components of field (or subfield) `f` the fast path does not mirror; the
    destinations of accumulated ones are appended to `acc`."""
    base, where = spec.base, f"{name} field {spec.def_num}"
    for comp in f.components or ():
        ok = (base.kind == "int" and spec.count == 1 and base.bt.size <= 4) or (
            # other messages are rendered by fitdecode's own ComponentField.render
            base.kind == "byte"
            and (comp.bit_offset + comp.bits <= 8 * spec.count or global_num != _MESG_RECORD)
        )
        if not ok:
            raise _Unsupported(
                f"{where}: component {comp.name} of base type {base.bt.name} x{spec.count}"
            )
        target = mesg_type.fields.get(comp.def_num)
        if target is None:
            raise _Unsupported(f"{where}: component {comp.name} not in profile")
        if global_num == _MESG_RECORD and target.subfields:
            raise _Unsupported(f"{where}: component {comp.name} has subfields")
        for t in (target, *(target.subfields or ())):
            if getattr(t.type, "name", None) in _PROCESSED_TYPES:
                raise _Unsupported(f"{where}: component {comp.name} is a date/bool")
        if comp.accumulate:
            if global_num != _MESG_RECORD or f is not spec.field:
                raise _Unsupported(f"{where}: accumulated component {comp.name}")
            if comp.def_num in acc:
                raise _Unsupported(f"{where}: {comp.name} accumulated twice")
            acc.append(comp.def_num)


def _developer_spec(name: str, triple: bytes, info: _DevInfo | None, index: int) -> _Spec:
    """One developer field of a definition (number, size, developer index), checked."""
    num, size, idx = triple[0], triple[1], triple[2]
    where = f"{name} developer field {idx}/{num}"
    if info is None:
        raise _Unsupported(f"{where}: not described by a field_description")
    if num == _FIELD_TIMESTAMP:
        raise _Unsupported(f"{where}: numbered 253 (timestamp)")
    base = _base_types()[0].get(info.base_id)
    if base is None:
        raise _Unsupported(f"{where}: unknown base type {info.base_id}")
    if size == 0 or size % base.bt.size:
        raise _Unsupported(f"{where}: invalid size {size} for base type {base.bt.name}")
    devfield = _dev_field(idx, num, info)
    return _Spec(index, num, size, base, size // base.bt.size, devfield, True, (idx, num))


def _layout(specs: list[_Spec], big_endian: bool) -> tuple[np.dtype, int]:
    """The structured dtype of one data message's fields (``f<index>``) and its size."""
    order = ">" if big_endian else "<"
    names, formats, offsets, off = [], [], [], 0
    for s in specs:
        code = s.base.code if s.base.code == "u1" else order + s.base.code
        names.append(f"f{s.index}")
        formats.append(code if s.count == 1 and s.base.kind in ("int", "float") else
                       (code, (s.count,)))  # fmt: skip
        offsets.append(off)
        off += s.size
    dtype = np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": off})
    return dtype, off


@functools.lru_cache(maxsize=1024)
def _dev_field(idx: int, num: int, info: _DevInfo) -> Any:
    from fitdecode import types

    bt = types.BASE_TYPES[info.base_id]
    return types.DevField(idx, info.name, num, bt, info.units, None)


@functools.lru_cache(maxsize=4096)
def _compile_cached(
    global_num: int,
    big_endian: bool,
    fields: bytes,
    devs: bytes,
    dev_infos: tuple[_DevInfo | None, ...],
    lenient: bool = False,
) -> _Def | str:
    try:
        return _compile(global_num, big_endian, fields, devs, dev_infos, lenient)
    except _Unsupported as exc:
        return str(exc)


# --------------------------------------------------------------------------- raw values
def _gather(arr: np.ndarray, dtype: np.dtype, starts: np.ndarray) -> np.ndarray:
    """The payloads starting at byte offsets `starts` (increasing), as one structured array.

    Evenly spaced payloads are a strided view of `arr` (no copy); others are copied.
    """
    n, size = len(starts), dtype.itemsize
    if size == 0 or n == 0:
        return np.zeros(n, dtype=dtype)
    step = int(starts[1] - starts[0]) if n > 1 else size
    if step >= size and int(starts[-1] - starts[0]) == step * (n - 1):
        if n < 3 or (np.diff(starts) == step).all():
            return np.ndarray((n,), dtype=dtype, buffer=arr, offset=int(starts[0]), strides=(step,))
    windows = np.ndarray((len(arr) - size + 1, size), dtype=np.uint8, buffer=arr, strides=(1, 1))
    return windows[starts].view(dtype)[:, 0]


def _parse_rows(d: _Def, rows: np.ndarray) -> list[list[Any]]:
    """Raw values of each message as fitdecode's ``_read_data_message_raw_values`` gives
    them: invalid values None, strings decoded, byte arrays as tuples (None if all 0xFF),
    other arrays as tuples of values."""
    from fitdecode.types import parse_string

    kinds = [
        (0 if s.count == 1 else 4) if s.base.kind == "int" else
        (1 if s.count == 1 else 4) if s.base.kind == "float" else
        2 if s.base.kind == "string" else 3
        for s in d.specs
    ]  # fmt: skip
    invalid = [s.base.invalid for s in d.specs]
    parse = [s.base.bt.parse for s in d.specs]
    out = []
    for row in rows.tolist():
        values: list[Any] = []
        for k, v in enumerate(row):
            kind = kinds[k]
            if kind == 0:
                values.append(None if v == invalid[k] else v)
            elif kind == 1:
                values.append(None if v != v else v)  # NaN
            elif kind == 2:
                values.append(parse_string(np.asarray(v).tobytes()))
            elif kind == 3:
                values.append(parse[k](tuple(np.asarray(v).tolist())))
            else:
                values.append(tuple(parse[k](x) for x in np.asarray(v).tolist()))
        out.append(values)
    return out


# --------------------------------------------------------------------------- per message
def _resolve_subfield(f: Any, d: _Def, raw: list[Any]) -> tuple[Any, Any]:
    """fitdecode's ``FitReader._resolve_subfield``: the first subfield one of whose
    reference fields has its raw value in the message."""
    if f.subfields:
        positions = d.positions
        for sub in f.subfields:
            for ref in sub.ref_fields:
                for k in positions.get(ref.def_num, ()):
                    if ref.raw_value == raw[k]:
                        return sub, f
    return f, None


def _scale_offset(f: Any, value: Any) -> Any:
    """fitdecode's ``FitReader._apply_scale_offset``."""
    if isinstance(value, tuple):
        return tuple(_scale_offset(f, x) for x in value)
    if isinstance(value, int | float):
        if f.scale:
            value = float(value) / f.scale
        if f.offset:
            value = value - f.offset
    return value


@functools.cache
def _type_method(type_name: str) -> Any:
    """DefaultDataProcessor's ``process_type_<type_name>`` (or None)."""
    from fitdecode.utils import scrub_method_name

    proc, _ = _processor()
    return getattr(proc, scrub_method_name(f"process_type_{type_name}"), None)


def _processed(f: Any, value: Any, method: Any = False) -> Any:
    """`value` after DefaultDataProcessor's ``process_type_<type>`` for field `f`."""
    if method is False:
        method = _type_method(f.type.name)
    if method is None or value is None:
        return value
    from fitdecode.types import FieldData

    fd = FieldData(None, f, None, value, None)
    method(None, fd)
    return fd.value


def _field_plan(f: Any) -> tuple[str, Any, Any, bool, Any]:
    """(name, components, enum, has scale or offset, type processor) of a field."""
    return (f.name, f.components, f.type.enum, bool(f.scale or f.offset),
            _type_method(f.type.name))  # fmt: skip


@functools.lru_cache(maxsize=4096)
def _message_plan(d: _Def) -> tuple[tuple[Any, ...], ...]:
    """Per field of `d`: (field or None, resolve subfields?, *_field_plan) for dicts."""
    plan = []
    for spec in d.specs:
        f = spec.field
        if f is None:
            plan.append((None, False, spec.name, None, None, False, None))
        else:
            plan.append((f, bool(not spec.is_dev and f.subfields), *_field_plan(f)))
    return tuple(plan)


def _message_dict(d: _Def, raw: list[Any], ts: int | None) -> dict[str, Any]:
    """One message as ``io.fit._message_dict`` builds it from a fitdecode frame.

    Mirrors ``FitReader._read_data_message`` (subfields, components, ``Field.render``,
    scale and offset, then the processor's type conversions) field by field.
    """
    out: dict[str, Any] = {}
    for (f, dynamic, name, comps, enum, scaled, method), value in zip(
        _message_plan(d), raw, strict=True
    ):
        if f is not None:
            if dynamic:
                f, _ = _resolve_subfield(f, d, raw)
                name, comps, enum, scaled, method = _field_plan(f)
            for comp in comps or ():
                try:
                    c = comp.render(value)
                except ValueError:
                    continue
                c = _scale_offset(comp, c)
                target, _ = _resolve_subfield(d.mesg_type.fields[comp.def_num], d, raw)
                c = _processed(target, target.render(c))
                if c is not None or target.name not in out:
                    out[target.name] = c
            if enum and value in enum:  # Field.render
                value = enum[value]
            if scaled:
                value = _scale_offset(f, value)
            if method is not None and value is not None:
                value = _processed(f, value, method)
        if value is not None or name not in out:
            out[name] = value
    if ts is not None:
        from fitdecode import profile

        t = profile.FIELD_TYPE_TIMESTAMP
        value = _processed(t, t.render(ts))
        if value is not None or t.name not in out:
            out[t.name] = value
    return out


# --------------------------------------------------------------------------- columns
def _accumulate(is_set: np.ndarray, values: np.ndarray, bits: int) -> np.ndarray:
    """fitdecode's ``_apply_compressed_accumulation`` over a stream of events.

    Events are "set the base to ``values[i]``" (``is_set``) or "roll the base forward to
    the next value whose low `bits` bits are ``values[i]``"; the base starts at 0.
    Returns the base after each event.
    """
    mask = (1 << bits) - 1
    low = values & mask
    prev = np.concatenate([[0], low[:-1]])
    delta = np.where(is_set, 0, (low - prev) & mask)
    csum = np.cumsum(delta)
    group = np.cumsum(is_set)
    sets = np.flatnonzero(is_set)
    base = np.concatenate([[0], values[sets]])[group]
    start = np.concatenate([[0], csum[sets]])[group]
    return base + csum - start


class _Column:
    """A value per row: ``present`` (not None) and its numeric value (NaN if not a number)."""

    __slots__ = ("num", "present")

    def __init__(self, present: np.ndarray, num: np.ndarray) -> None:
        self.present = present
        self.num = num


def _in_enum(f: Any, values: np.ndarray) -> np.ndarray | None:
    """Rows whose value ``Field.render`` turns into an enum name (None: no enum)."""
    enum = getattr(f.type, "enum", None)
    if not enum:
        return None
    keys = np.array([k for k in enum if isinstance(k, int | float)], dtype=np.float64)
    return np.isin(values, keys)


def _scaled(f: Any, num: np.ndarray) -> np.ndarray:
    if f.scale:
        num = num / float(f.scale)
    if f.offset:
        num = num - f.offset
    return num


def _rendered(f: Any, num: np.ndarray, isenum: np.ndarray | None) -> np.ndarray:
    """Enum names and DefaultDataProcessor's type conversions, as ``io.fit._num`` sees them.

    `num` is the scaled value; names, dates and times are NaN, ``bool`` values 0 or 1.
    """
    tname = getattr(f.type, "name", None)
    if tname == "bool":
        num = (num != 0).astype(np.float64)
        if isenum is not None:
            num[isenum] = 1.0  # bool() of an enum name
        return num
    if isenum is not None:
        num = np.where(isenum, np.nan, num)
    if tname == "date_time":
        num = np.where(num >= _FIT_DATETIME_MIN, np.nan, num)
    elif tname in ("local_date_time", "localtime_into_day"):
        num = np.full(len(num), np.nan)
    return num


def _field_column(spec: _Spec, raw: np.ndarray, f: Any) -> _Column:
    """The value fitdecode gives one field (`f`: profile field, or None for raw values)."""
    kind, n = spec.base.kind, len(raw)
    if kind == "string":  # a str, or None when empty
        return _Column(raw[:, 0] != 0, np.full(n, np.nan))
    if kind == "byte":  # a tuple of ints, or None when every byte is 0xFF
        present = ~(raw == 0xFF).all(axis=1)
        num = raw[:, 0].astype(np.float64)
        if f is not None:
            num = _scaled(f, num)
    elif spec.count > 1:  # a tuple (never None): its first valid element counts
        valid = ~np.isnan(raw) if kind == "float" else raw != spec.base.invalid
        num = raw[np.arange(n), np.argmax(valid, axis=1)].astype(np.float64)
        num[~valid.any(axis=1)] = np.nan
        return _Column(np.ones(n, dtype=bool), num if f is None else _scaled(f, num))
    else:
        num = raw.astype(np.float64)
        present = ~np.isnan(num) if kind == "float" else raw != spec.base.invalid
        if f is not None:
            num = _rendered(f, _scaled(f, num), _in_enum(f, raw))
    if not present.all():
        num[~present] = np.nan
    return _Column(present, num)


def _component_raw(spec: _Spec, raw: np.ndarray, comp: Any) -> tuple[np.ndarray, np.ndarray]:
    """(present, raw component value as int64) of one component of a field."""
    mask = (1 << comp.bits) - 1
    if spec.base.kind == "byte":
        present = ~(raw == 0xFF).all(axis=1)
        first, last = comp.bit_offset // 8, (comp.bit_offset + comp.bits - 1) // 8
        value = np.zeros(len(raw), dtype=np.int64)
        for b in range(last, first - 1, -1):
            value = (value << 8) | raw[:, b].astype(np.int64)
        return present, (value >> (comp.bit_offset - 8 * first)) & mask
    present = raw != spec.base.invalid
    return present, (raw.astype(np.int64) >> comp.bit_offset) & mask


def _component_column(d: _Def, comp: Any, present: np.ndarray, value: np.ndarray) -> _Column:
    target = d.mesg_type.fields[comp.def_num]
    num = value.astype(np.float64)
    if comp.scale:
        num = num / float(comp.scale)
    if comp.offset:
        num = num - comp.offset
    num = _rendered(target, num, _in_enum(target, num))
    return _Column(present, np.where(present, num, np.nan))


class _HeaderTables:
    """What the walk knows of each header byte, updated at every definition message."""

    __slots__ = ("class_list", "class_of", "classes", "def_at", "def_np", "size_list", "tables",
                 "trans")  # fmt: skip

    def __init__(self) -> None:
        # per header byte: message size if a plain data message of a defined local type,
        # -2 developer description (decoded at once), -3 definition, -1 undefined
        self.size_list = [-1] * 256
        for h in range(0x40, 0x80):
            self.size_list[h] = -3
        self.def_np = np.full(256, -1, dtype=np.int64)  # header byte -> definition index
        self.tables = [self.def_np.copy()]  # def_np after each definition message
        self.def_at: list[int] = []  # offsets of the definition messages
        self.classes = bytearray(256)  # header byte -> size class (0: not a plain data message)
        self.trans = bytes(self.classes)
        self.class_of: dict[int, bytes] = {}  # message size -> its class, as one byte
        self.class_list = [b"\0"] * 256  # header byte -> its class, as one byte


# --------------------------------------------------------------------------- the walk
class _Segment:
    """Walks one FIT file's records and collects what the columns need."""

    def __init__(self, data: bytes, arr: np.ndarray, start: int, end: int,
                 recover: bool = False) -> None:  # fmt: skip
        # the walk stops at the declared end of the data or, when the file is cut
        # short, at the end of the bytes
        self.data, self.arr, self.start = data, arr, start
        self.declared_end, self.end = end, min(end, len(data))
        self.recover = recover
        self.damage: tuple[int, str] | None = None  # (byte, fitdecode's exception text)
        self.warnings: list[str] = []  # fitdecode's warnings about the definitions
        self.defs: list[_Def] = []
        self.def_ids: dict[int, int] = {}  # id(_Def) -> index in self.defs
        self.acc_resets: list[tuple[int, tuple[int, ...]]] = []  # (offset, destinations)
        self.dev: dict[int, dict[int, _DevInfo]] = {}
        self.offsets = np.zeros(0, dtype=np.int64)
        self.msg_def = np.zeros(0, dtype=np.int64)

    def walk(self) -> None:
        """Find every message: definitions are parsed, data messages located.

        A data message followed by one of another size costs one list append. A run of
        consecutive data messages of equal size is measured at once: its header bytes
        are picked out with one strided slice of the bytes, mapped to size classes with
        ``bytes.translate`` and counted with ``bytes.lstrip``, all in C. Which definition
        each message uses is looked up afterwards, from its header byte and the number of
        definition messages before it.
        """
        data, end = self.data, self.end
        ht = _HeaderTables()
        size_list, class_list, trans = ht.size_list, ht.class_list, ht.trans
        chunks: list[np.ndarray] = []
        single: list[int] = []
        pos = self.start
        while pos < end:
            h = data[pos]
            s = size_list[h]
            if s > 0:
                q = pos + s
                if q >= end or size_list[data[q]] != s:
                    single.append(pos)
                    pos = q
                    continue
                cls = class_list[h]
                heads = data[pos : min(end, pos + 64 * s) : s]
                k = len(heads) - len(heads.translate(trans).lstrip(cls))
                q = pos + k * s
                step = 256
                while k == len(heads) and q < end:  # the run fills the window: look further
                    heads = data[q : min(end, q + step * s) : s]
                    k = len(heads) - len(heads.translate(trans).lstrip(cls))
                    q += k * s
                    step *= 4
                if single:
                    chunks.append(np.array(single, dtype=np.int64))
                    single = []
                chunks.append(np.arange(pos, q, s, dtype=np.int64))
                pos = q
            elif s == -3:
                pos = self._define(pos, h, ht)
                trans = ht.trans
            elif s == -2:
                d = self.defs[int(ht.def_np[h])]
                self._developer(d, pos)
                single.append(pos)
                pos += d.size + 1
            elif self.recover:
                local = (h >> 5) & 3 if h & 0x80 else h & 0x0F
                self.damage = (pos, f"FitParseError: FIT parsing error @ {pos}: "
                                    f"local message {local} not defined")  # fmt: skip
                break
            else:
                raise _Unsupported(f"data message of undefined local type at byte {pos}")
        cut = pos > end
        if cut and not (self.recover and pos > len(data)):
            # fitdecode fails an assertion on a message that crosses the declared end of
            # the data inside the file; only one cut off by the end of the bytes is
            # recovered (fitdecode meets the end reading its fields)
            raise _Unsupported(f"last message crosses the end of the data ({end}) at byte {pos}")
        if single:
            chunks.append(np.array(single, dtype=np.int64))
        if chunks:
            offsets = np.concatenate(chunks)
            version = np.searchsorted(np.array(ht.def_at, dtype=np.int64), offsets)
            msg_def = np.stack(ht.tables)[version, self.arr[offsets]]
            if cut:
                self._cut_message(int(offsets[-1]), self.defs[int(msg_def[-1])])
                offsets, msg_def = offsets[:-1], msg_def[:-1]
            self.offsets, self.msg_def = offsets, msg_def
        if self.damage is None and pos == end < self.declared_end:
            # the bytes end between two messages: fitdecode's next read is a record header
            self.damage = (end, f"FitEOFError: expected 1 bytes, got 0 @ {end}")

    def _cut_message(self, pos: int, d: _Def) -> None:
        """Where fitdecode's field-by-field read of the message at `pos` meets the end."""
        n, o = len(self.data), pos + 1
        for spec in d.specs:  # the definition's order: profile fields, then developer
            if o + spec.size > n:
                self.damage = (o, f"FitEOFError: expected {spec.size} bytes, "
                                  f"got {max(0, n - o)} @ {o}")  # fmt: skip
                return
            o += spec.size
        raise AssertionError("a message cut short by the end of the file fits in it")

    def _define(self, pos: int, h: int, ht: _HeaderTables) -> int:
        """Parse the definition message at `pos` and point its local type's header bytes at
        it in `ht`; returns where the next message starts."""
        ht.def_at.append(pos)
        pos, local, did, eager = self._definition(pos, h)
        size = -2 if eager else self.defs[did].size + 1
        if size > 0 and size not in ht.class_of:
            if len(ht.class_of) >= 255:
                raise _Unsupported("more than 255 distinct message sizes")
            ht.class_of[size] = bytes([len(ht.class_of) + 1])
        cls = ht.class_of[size] if size > 0 else b"\0"
        for x in _HEADERS_OF_LOCAL[local]:
            ht.size_list[x] = size
            ht.classes[x] = cls[0]
            ht.class_list[x] = cls
        ht.trans = bytes(ht.classes)
        ht.def_np[_HEADERS_OF_LOCAL[local]] = did
        ht.tables.append(ht.def_np.copy())
        return pos

    def _definition(self, pos: int, h: int) -> tuple[int, int, int, bool]:
        data, end = self.data, self.end
        if pos + 6 > end:
            raise _Unsupported(f"definition message crosses the end of the data at byte {pos}")
        big = data[pos + 2] != 0
        g = data[pos + 3] << 8 | data[pos + 4] if big else data[pos + 3] | data[pos + 4] << 8
        fe = pos + 6 + 3 * data[pos + 5]
        de = fe
        devs = b""
        if h & 0x20:
            if fe >= end:
                raise _Unsupported(f"definition message crosses the end of the data at {pos}")
            de = fe + 1 + 3 * data[fe]
            devs = data[fe + 1 : de]
        if de > end:
            raise _Unsupported(f"definition message crosses the end of the data at byte {pos}")
        infos = tuple(self.dev.get(devs[k + 2], {}).get(devs[k]) for k in range(0, len(devs), 3))
        d = _compile_cached(g, big, data[pos + 6 : fe], devs, infos, self.recover)
        if isinstance(d, str):
            raise _Unsupported(f"{d} (definition at byte {pos})")
        for size, type_name, type_size in d.misaligned:  # fitdecode's warning, word for word
            self.warnings.append(f"invalid field size {size} in definition message @ {pos} "
                                 f"for type {type_name} (expected a multiple of {type_size})")  # fmt: skip
        did = self.def_ids.get(id(d))
        if did is None:
            did = self.def_ids[id(d)] = len(self.defs)
            self.defs.append(d)
        if d.acc_dests:
            self.acc_resets.append((pos, d.acc_dests))
        eager = g in (_MESG_FIELD_DESCRIPTION, _MESG_DEVELOPER_DATA_ID)
        return de, h & 0x0F, did, eager

    def _developer(self, d: _Def, pos: int) -> None:
        """Register a developer_data_id / field_description the way fitdecode does."""
        if pos + 1 + d.size > self.end:
            raise _Unsupported(f"message crosses the end of the data at byte {pos}")
        rows = _gather(self.arr, d.dtype, np.array([pos + 1]))
        raw = {}
        for spec, value in zip(d.specs, _parse_rows(d, rows)[0], strict=True):
            raw.setdefault(spec.name, value)

        def index(key: str) -> int:
            v = raw.get(key)
            if not isinstance(v, int):
                raise _Unsupported(f"{d.name} at byte {pos}: {key} is {v!r}")
            return v

        idx = index("developer_data_index")
        if d.global_num == _MESG_DEVELOPER_DATA_ID:
            self.dev[idx] = {}
            return
        if idx not in self.dev:
            raise _Unsupported(f"field_description at byte {pos}: developer {idx} not defined")
        num = index("field_definition_number")
        base_id = raw.get("fit_base_type_id")
        name = raw.get("field_name")
        units = raw.get("units")
        if base_id is None:
            base_id = _base_types()[1].bt.identifier
        if not isinstance(name, str) or name.startswith("dev_") or name == "timestamp":
            raise _Unsupported(f"field_description at byte {pos}: developer field name {name!r}")
        if not isinstance(base_id, int) or base_id not in _base_types()[0]:
            raise _Unsupported(f"field_description at byte {pos}: base type {base_id!r}")
        if not isinstance(units, str | None):  # fitdecode's path drops them with a note
            raise _Unsupported(f"field_description at byte {pos}: units {units!r}")
        self.dev[idx][num] = _DevInfo(name, base_id, units)  # raw, as fitdecode keeps it


#: Data-message header bytes of each local message type (normal and compressed-timestamp).
_HEADERS_OF_LOCAL = [
    [b | local for b in (0x00, 0x10, 0x20, 0x30)]
    + ([0x80 | local << 5 | o for o in range(32)] if local < 4 else [])
    for local in range(16)
]


def _snake(name: str) -> str:
    """As ``io.fit._snake``."""
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_") or "field"


def _build_segment(seg: _Segment, wanted: Collection[str]) -> ColumnarSegment:
    arr, offsets, msg_def = seg.arr, seg.offsets, seg.msg_def
    n_msg = len(offsets)
    order = np.argsort(msg_def, kind="stable")
    bounds = np.searchsorted(msg_def[order], np.arange(len(seg.defs) + 1))
    groups: list[tuple[_Def, np.ndarray, np.ndarray]] = []  # (def, message indices, rows)
    ts_set = np.zeros(n_msg, dtype=bool)
    ts_raw = np.zeros(n_msg, dtype=np.int64)
    for did, d in enumerate(seg.defs):
        idx = order[bounds[did] : bounds[did + 1]]
        needed = d.global_num == _MESG_RECORD or d.name in wanted or d.ts_specs
        if not len(idx) or not needed:
            continue
        if d.global_num == _MESG_HR and d.name in wanted:
            raise _Unsupported("hr messages asked for (fitdecode special-cases event_timestamp_12)")
        rows = _gather(arr, d.dtype, offsets[idx] + 1)
        groups.append((d, idx, rows))
        for spec in d.ts_specs:  # each valid timestamp field sets the base, in order
            raw = rows[f"f{spec.index}"]
            ok = raw != spec.base.invalid
            ts_set[idx[ok]] = True
            ts_raw[idx[ok]] = raw[ok]

    # compressed-timestamp headers: roll the 5-bit offsets over the last full timestamp
    hdr = arr[offsets] if n_msg else np.zeros(0, dtype=np.uint8)
    compressed = (hdr & 0x80) != 0
    comp_ts = np.full(n_msg, MISSING_TIMESTAMP, dtype=np.int64)
    if compressed.any():
        m_set, m_comp = np.flatnonzero(ts_set), np.flatnonzero(compressed)
        key = np.concatenate([2 * m_set, 2 * m_comp + 1])
        vals = np.concatenate([ts_raw[m_set], (hdr[m_comp] & 0x1F).astype(np.int64)])
        ev = np.argsort(key, kind="stable")
        key, vals = key[ev], vals[ev]
        base = _accumulate((key & 1) == 0, vals, 5)
        comp_ts[key[(key & 1) == 1] // 2] = base[(key & 1) == 1]

    out = ColumnarSegment()
    _record_columns(seg, groups, compressed, comp_ts, out)
    decoded: list[tuple[int, str, dict[str, Any]]] = []
    for d, idx, rows in groups:
        if d.global_num == _MESG_RECORD or d.name not in wanted:
            continue
        for m, raw in zip(idx.tolist(), _parse_rows(d, rows), strict=True):
            ts = int(comp_ts[m]) if compressed[m] else None
            decoded.append((m, d.name, _message_dict(d, raw, ts)))
    decoded.sort(key=lambda item: item[0])
    for _, mname, msg in decoded:
        out.messages.setdefault(mname, []).append(msg)
    return out


_RecGroup = tuple[_Def, np.ndarray, np.ndarray, np.ndarray]  # (def, record idx, message idx, rows)
#: developer key -> ((first record with a value, field position), name, units)
_DevFirst = dict[tuple[int, int], tuple[tuple[int, int], str, str]]
_DevValues = list[tuple[tuple[int, int], np.ndarray, _Column]]


def _record_columns(
    seg: _Segment,
    groups: list[tuple[_Def, np.ndarray, np.ndarray]],
    compressed: np.ndarray,
    comp_ts: np.ndarray,
    out: ColumnarSegment,
) -> None:
    is_record = np.array([d.global_num == _MESG_RECORD for d in seg.defs], dtype=bool)
    if not len(seg.msg_def) or not is_record.any():
        return
    rec_mask = is_record[seg.msg_def]
    n = int(rec_mask.sum())
    if n == 0:
        return
    out.n_records = n
    rank = np.cumsum(rec_mask) - 1  # message index -> record index
    rec_groups = [(d, rank[idx], idx, rows) for d, idx, rows in groups if d.global_num == 20]
    accumulated = _accumulated(seg, rec_groups, seg.offsets[rec_mask], n)

    cols: dict[str, np.ndarray] = {}
    floats: set[str] = set()  # columns with float sources (may hold +-inf: NaN for io.fit)
    ts_col = np.full(n, MISSING_TIMESTAMP, dtype=np.int64)
    has_ts = False
    dev_first: _DevFirst = {}
    dev_values: _DevValues = []
    for d, r, idx, rows in rec_groups:
        merged, ts_parts = _group_columns(d, r, rows, accumulated, floats, dev_first, dev_values)
        comp_rows = compressed[idx]
        if comp_rows.any():
            ts_parts.append((comp_rows, comp_ts[idx]))
        if ts_parts:
            has_ts = True
            t = np.full(len(r), MISSING_TIMESTAMP, dtype=np.int64)
            for ok, v in ts_parts:
                t = np.where(ok, v, t)
            ts_col[r] = t
        if "timestamp" in merged:
            raise _Unsupported("a record field other than 253 is named timestamp")
        whole = len(r) == n and len(rec_groups) == 1  # one definition: rows in order
        for name, col in merged.items():
            if whole:
                cols[name] = col.num
                continue
            c = cols.get(name)
            if c is None:
                c = cols[name] = np.full(n, np.nan)
            c[r] = col.num
    if has_ts:
        out.records["timestamp"] = ts_col
    for name, c in cols.items():
        if name in floats:
            c[np.isinf(c)] = np.nan
        out.records[name] = c
    _developer_columns(dev_first, dev_values, n, out)


def _accumulated(seg: _Segment, rec_groups: list[_RecGroup], rec_off: np.ndarray,
                 n: int) -> dict[int, np.ndarray]:  # fmt: skip
    """Accumulated components per destination field, rolled over in file order with resets
    at their definitions."""
    accumulated: dict[int, np.ndarray] = {}
    dests = {dst for d, *_ in rec_groups for dst in d.acc_dests}
    for dst in dests:
        raw = np.zeros(n, dtype=np.int64)
        valid = np.zeros(n, dtype=bool)
        bits = None
        for d, r, _, rows in rec_groups:
            for spec in d.specs[: d.n_regular]:
                for comp in (spec.field.components or ()) if spec.field is not None else ():
                    if comp.accumulate and comp.def_num == dst:
                        p, v = _component_raw(spec, rows[f"f{spec.index}"], comp)
                        raw[r[p]], valid[r[p]] = v[p], True
                        bits = comp.bits
        resets = np.array([o for o, ds in seg.acc_resets if dst in ds], dtype=np.int64)
        pos = np.concatenate([resets, rec_off[valid]])
        vals = np.concatenate([np.zeros(len(resets), dtype=np.int64), raw[valid]])
        is_set = np.concatenate([np.ones(len(resets), bool), np.zeros(int(valid.sum()), bool)])
        ev = np.argsort(pos, kind="stable")
        res = _accumulate(is_set[ev], vals[ev], bits or 0)
        full = np.zeros(n, dtype=np.int64)
        full[np.flatnonzero(valid)] = res[~is_set[ev]]
        accumulated[dst] = full
    return accumulated


def _group_columns(
    d: _Def,
    r: np.ndarray,
    rows: np.ndarray,
    accumulated: dict[int, np.ndarray],
    floats: set[str],
    dev_first: _DevFirst,
    dev_values: _DevValues,
) -> tuple[dict[str, _Column], list[tuple[np.ndarray, np.ndarray]]]:
    """The columns of the records of one definition (the last present value of a name wins)
    and its timestamp parts; developer fields are noted in `dev_first` / `dev_values`."""
    merged: dict[str, _Column] = {}
    ts_parts: list[tuple[np.ndarray, np.ndarray]] = []

    def put(name: str, col: _Column, kind: str) -> None:
        if kind == "float":
            floats.add(name)
        old = merged.get(name)
        if old is None:
            merged[name] = col
        else:
            merged[name] = _Column(
                old.present | col.present, np.where(col.present, col.num, old.num)
            )

    for pos_in_def, spec in enumerate(d.specs):
        raw = rows[f"f{spec.index}"]
        f = spec.field
        if spec.is_dev:
            col = _field_column(spec, raw, None)
            put(spec.name, col, spec.base.kind)
            _note_developer(spec, r, col, pos_in_def, dev_first, dev_values)
            continue
        if spec.def_num == _FIELD_TIMESTAMP and f is not None and f.name == "timestamp":
            ok = raw != spec.base.invalid
            ts_parts.append((ok, raw.astype(np.int64)))
            continue
        if f is None:
            put(spec.name, _field_column(spec, raw, None), spec.base.kind)
            continue
        for comp in f.components or ():
            if comp.accumulate:
                p, _ = _component_raw(spec, raw, comp)
                v = accumulated[comp.def_num][r]
            else:
                p, v = _component_raw(spec, raw, comp)
            target = d.mesg_type.fields[comp.def_num]
            put(target.name, _component_column(d, comp, p, v), "int")
        put(f.name, _field_column(spec, raw, f), spec.base.kind)
    return merged, ts_parts


def _note_developer(spec: _Spec, r: np.ndarray, col: _Column, pos_in_def: int,
                    dev_first: _DevFirst, dev_values: _DevValues) -> None:  # fmt: skip
    """Remember a developer field's values and where its first value is (for its name)."""
    key = spec.dev_key
    assert key is not None
    f = spec.field
    hit = np.flatnonzero(col.present)
    if len(hit):
        first = (int(r[hit].min()), pos_in_def)
        if key not in dev_first or first < dev_first[key][0]:
            dev_first[key] = (first, str(f.name), str(f.units or ""))
    dev_values.append((key, r, col))


def _developer_columns(dev_first: _DevFirst, dev_values: _DevValues, n: int,
                       out: ColumnarSegment) -> None:  # fmt: skip
    """Developer columns, named in order of first appearance as io.fit.decode_fit names them."""
    dev_names: dict[tuple[int, int], str] = {}
    for key, (_, name, units) in sorted(dev_first.items(), key=lambda kv: kv[1][0]):
        col = "dev_" + _snake(name)
        if col in dev_names.values():
            col = f"{col}_{key[0]}"
        dev_names[key] = col
        out.dev_units[col] = units
    for key, r, col in dev_values:
        name = dev_names.get(key)
        if name is None:
            continue
        c = out.records.get(name)
        if c is None:
            c = out.records[name] = np.full(n, np.nan)
        hit = col.present
        c[r[hit]] = np.where(np.isfinite(col.num[hit]), col.num[hit], np.nan)


# --------------------------------------------------------------------------- entry point
def decode_fit_columnar(
    data: bytes,
    *,
    name: str = "<bytes>",
    check_crc: bool = True,
    messages: Collection[str] = DEFAULT_MESSAGES,
    recover: bool = False,
) -> ColumnarFit | None:
    """Decode a FIT file's records into numpy columns, or ``None`` for fitdecode to do.

    Parameters
    ----------
    data
        The whole file (one FIT file or several chained ones).
    name
        How to name the file in log messages.
    check_crc
        Verify every header CRC (when not 0) and file CRC, and return ``None`` on a
        mismatch, so fitdecode reports it. ``False`` skips the check (slightly faster,
        and damaged bytes are then decoded as they are).
    messages
        Names of the non-record messages to return as dicts. Each costs a few
        microseconds per message in Python; ask only for those you use (``io.fit`` uses
        ``file_id``, ``session``, ``lap``, ``event``, ``activity``, ``set``, ``sport``).
    recover
        Read damaged files as fitdecode's ``FitReader`` does with ``CrcCheck.WARN`` and
        ``ErrorHandling.WARN``: a CRC mismatch becomes one of ``warnings``, and so does a
        misaligned field of a non-record message (read as bytes); a file cut short (the
        bytes end inside a message or its CRC) or a data message of an undefined local
        type stops the reading there, and ``damaged_at`` / ``damage``
        say where and why, with the messages before it returned. Other damage still
        returns ``None``.

    Returns
    -------
    ColumnarFit or None
        One :class:`ColumnarSegment` per FIT header; ``None`` when the fast path does
        not handle the file (damage, a CRC mismatch, something fitdecode would warn
        about, or a feature listed in the module docstring); the reason is logged at
        DEBUG level on this module's logger.
    """
    _, processor_ok = _processor()
    try:
        if not processor_ok:
            raise _Unsupported("fitdecode's DefaultDataProcessor converts more than mirrored")
        with np.errstate(all="ignore"):  # NaN payloads of float fields are data, not errors
            return _decode(bytes(data), name, check_crc, frozenset(messages), recover)
    except _Unsupported as exc:
        log.debug("%s: decoded with fitdecode instead: %s", name, exc)
    except Exception as exc:  # an unforeseen input: fitdecode decides what it means
        log.debug("%s: decoded with fitdecode instead: internal error %s: %s",
                  name, type(exc).__name__, exc, exc_info=True)  # fmt: skip
    return None


def _decode(
    data: bytes, name: str, check_crc: bool, wanted: frozenset[str], recover: bool = False
) -> ColumnarFit:
    n = len(data)
    arr = np.frombuffer(data, dtype=np.uint8)
    out = ColumnarFit(name, [], check_crc)
    pos = 0
    if n == 0:
        raise _Unsupported("empty file")
    while pos < n:
        if n - pos < 12:
            raise _Unsupported(f"{n - pos} stray bytes at byte {pos}")
        hsize = data[pos]
        if data[pos + 8 : pos + 12] != b".FIT" or hsize not in (12, 14) or n - pos < hsize:
            raise _Unsupported(f"no FIT header (size 12 or 14) at byte {pos}")
        body = int.from_bytes(data[pos + 4 : pos + 8], "little")
        start = pos + hsize
        end = start + body
        if end + 2 > n and not recover:
            raise _Unsupported(f"file truncated: the FIT file at byte {pos} needs {end + 2}")
        if check_crc and hsize == 14:
            hcrc = data[pos + 12] | data[pos + 13] << 8
            if hcrc and _crc16(data[pos : pos + 12]) != hcrc:
                if not recover:
                    raise _Unsupported(f"header CRC mismatch at byte {pos}")
                out.warnings.append(f"mismatching CRC in FIT header (header offset: {pos})")
        if check_crc and not recover and _crc16(data[pos:end]) != _footer(data, end):
            raise _Unsupported(f"file CRC mismatch at byte {end}")  # checked before the walk
        seg = _Segment(data, arr, start, end, recover)
        seg.walk()
        out.segments.append(_build_segment(seg, wanted))
        out.warnings.extend(seg.warnings)
        if seg.damage is None and end + 2 > n:  # the bytes end in the CRC
            seg.damage = (end, f"FitEOFError: expected 2 bytes, got {n - end} @ {end}")
        if seg.damage is not None:  # fitdecode stops reading here
            out.damaged_at, out.damage = seg.damage
            break
        if check_crc and recover:
            computed, read = _crc16(data[pos:end]), _footer(data, end)
            if computed != read:
                out.warnings.append(f"mismatching CRC in FIT footer (footer offset: {end}; "
                                    f"read crc: {read}; expected crc: {computed})")  # fmt: skip
        pos = end + 2
    return out


def _footer(data: bytes, end: int) -> int:
    return data[end] | data[end + 1] << 8
