"""A small FIT encoder for synthetic activity files with known truth.

Two layers:

* :class:`FitEncoder` writes raw FIT messages: definition messages (with developer
  fields and either byte order), data messages (normal or compressed-timestamp
  headers, one at a time or many at once from numpy arrays), the 14-byte file header
  and the CRCs.
* :func:`encode_activity` writes a whole activity file the way a Garmin watch does
  (``file_id``, ``device_info``, timer events, ``record``, ``lap``, ``set``,
  ``session`` and ``activity`` messages) from :class:`SessionSpec` objects holding
  canonical stridekeeper record tables; :func:`summarize_spec` returns the session
  summary values it writes, so tests can compare a reader's numbers with the truth.

Message and field numbers, base types, scales and offsets follow the FIT SDK
profile (``Profile.xlsx``, as shipped in ``fitdecode.profile``). Only numpy, pandas
and the standard library are used.
"""

from __future__ import annotations

import datetime as dt
import functools
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..io.fit_crc import fit_crc

__all__ = [
    "BASE_TYPES",
    "FIT_EPOCH",
    "BaseType",
    "FitEncoder",
    "SessionSpec",
    "chain",
    "encode_activity",
    "fit_crc",
    "summarize_spec",
    "to_fit_time",
]

# --------------------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------------------

#: Zero of FIT ``date_time`` values.
FIT_EPOCH = pd.Timestamp("1989-12-31T00:00:00Z")
_FIT_EPOCH_UNIX_S = 631_065_600

#: Header fields: FIT protocol 2.0 and profile 21.32.
HEADER_SIZE = 14
PROTOCOL_VERSION = 0x20
PROFILE_VERSION = 2132

#: Global message numbers.
MESG_FILE_ID = 0
MESG_SESSION = 18
MESG_LAP = 19
MESG_RECORD = 20
MESG_EVENT = 21
MESG_DEVICE_INFO = 23
MESG_ACTIVITY = 34
MESG_FIELD_DESCRIPTION = 206
MESG_DEVELOPER_DATA_ID = 207
MESG_SET = 225

#: Field number of ``timestamp`` in most messages.
FIELD_TIMESTAMP = 253

#: ``event`` / ``event_type`` values used here.
EVENT_TIMER = 0
EVENT_SESSION = 8
EVENT_LAP = 9
EVENT_ACTIVITY = 26
EVENT_TYPE_START = 0
EVENT_TYPE_STOP = 1
EVENT_TYPE_STOP_ALL = 4

FILE_TYPE_ACTIVITY = 4

#: In compressed-timestamp mode, at most this many records follow a full timestamp.
FULL_TIMESTAMP_EVERY = 60

#: Local message numbers used by :func:`encode_activity` (compressed headers need 0-3).
_LOCAL_RECORD_COMPRESSED = 0
_LOCAL_RECORD = 1
_LOCAL_EVENT = 2
_LOCAL_LAP = 3
_LOCAL_FILE_ID = 4
_LOCAL_DEVICE_INFO = 5
_LOCAL_SESSION = 6
_LOCAL_ACTIVITY = 7
_LOCAL_DEVELOPER_DATA_ID = 8
_LOCAL_FIELD_DESCRIPTION = 9
_LOCAL_SET = 10

_SEMICIRCLES_PER_DEG = 2**31 / 180.0


@dataclass(frozen=True)
class BaseType:
    """A FIT base type.

    Attributes
    ----------
    name
        FIT name, e.g. ``"uint16"``.
    type_id
        The base type byte written in definition messages.
    dtype
        numpy type code without byte order, e.g. ``"u2"``.
    invalid
        The raw value meaning "no value" (for floats: the integer with all bits set,
        written through an integer view).
    """

    name: str
    type_id: int
    dtype: str
    invalid: int

    @property
    def size(self) -> int:
        """Size of one value. [bytes]"""
        return np.dtype(self.dtype).itemsize

    @property
    def is_float(self) -> bool:
        """True for float32/float64."""
        return self.dtype.startswith("f")

    @property
    def valid_range(self) -> tuple[int, int]:
        """Smallest and largest raw value that is not the invalid value."""
        info = np.iinfo(self.dtype)
        if self.invalid == 0:
            return 1, int(info.max)
        if self.invalid == info.max:
            return int(info.min), int(info.max) - 1
        return int(info.min), int(info.max)


#: FIT base types by name (FIT SDK, "Base Types" table).
BASE_TYPES: dict[str, BaseType] = {
    bt.name: bt
    for bt in (
        BaseType("enum", 0x00, "u1", 0xFF),
        BaseType("sint8", 0x01, "i1", 0x7F),
        BaseType("uint8", 0x02, "u1", 0xFF),
        BaseType("sint16", 0x83, "i2", 0x7FFF),
        BaseType("uint16", 0x84, "u2", 0xFFFF),
        BaseType("sint32", 0x85, "i4", 0x7FFF_FFFF),
        BaseType("uint32", 0x86, "u4", 0xFFFF_FFFF),
        BaseType("string", 0x07, "S1", 0x00),
        BaseType("float32", 0x88, "f4", 0xFFFF_FFFF),
        BaseType("float64", 0x89, "f8", 0xFFFF_FFFF_FFFF_FFFF),
        BaseType("uint8z", 0x0A, "u1", 0x00),
        BaseType("uint16z", 0x8B, "u2", 0x0000),
        BaseType("uint32z", 0x8C, "u4", 0x0000_0000),
        BaseType("byte", 0x0D, "u1", 0xFF),
        BaseType("sint64", 0x8E, "i8", 0x7FFF_FFFF_FFFF_FFFF),
        BaseType("uint64", 0x8F, "u8", 0xFFFF_FFFF_FFFF_FFFF),
        BaseType("uint64z", 0x90, "u8", 0x0000_0000_0000_0000),
    )
}

#: ``sport`` enum (subset).
SPORTS: dict[str, int] = {
    "generic": 0, "running": 1, "cycling": 2, "transition": 3, "fitness_equipment": 4,
    "swimming": 5, "training": 10, "walking": 11, "rowing": 15, "hiking": 17,
    "multisport": 18, "e_biking": 21, "hiit": 62, "meditation": 67, "mobility": 86,
}  # fmt: skip

#: ``sub_sport`` enum (subset).
SUB_SPORTS: dict[str, int] = {
    "generic": 0, "treadmill": 1, "street": 2, "trail": 3, "track": 4, "spin": 5,
    "indoor_cycling": 6, "road": 7, "mountain": 8, "elliptical": 15,
    "flexibility_training": 19, "strength_training": 20, "warm_up": 21,
    "cardio_training": 26, "indoor_walking": 27, "casual_walking": 30,
    "speed_walking": 31, "yoga": 43, "pilates": 44, "indoor_running": 45,
    "gravel_cycling": 46, "virtual_activity": 58, "breathing": 62, "ultra": 67, "hiit": 70,
}  # fmt: skip

#: ``exercise_category`` enum.
EXERCISE_CATEGORIES: dict[str, int] = {
    "bench_press": 0, "calf_raise": 1, "cardio": 2, "carry": 3, "chop": 4, "core": 5,
    "crunch": 6, "curl": 7, "deadlift": 8, "flye": 9, "hip_raise": 10, "hip_stability": 11,
    "hip_swing": 12, "hyperextension": 13, "lateral_raise": 14, "leg_curl": 15,
    "leg_raise": 16, "lunge": 17, "olympic_lift": 18, "plank": 19, "plyo": 20,
    "pull_up": 21, "push_up": 22, "row": 23, "shoulder_press": 24,
    "shoulder_stability": 25, "shrug": 26, "sit_up": 27, "squat": 28, "total_body": 29,
    "triceps_extension": 30, "warm_up": 31, "run": 32, "bike": 33, "cardio_sensors": 34,
    "move": 35, "pose": 36, "banded_exercises": 37, "battle_rope": 38, "elliptical": 39,
    "floor_climb": 40, "indoor_bike": 41, "indoor_row": 42, "ladder": 43, "sandbag": 44,
    "sled": 45, "sledge_hammer": 46, "stair_stepper": 47, "suspension": 49, "tire": 50,
    "run_indoor": 52, "bike_outdoor": 53, "unknown": 65534,
}  # fmt: skip

#: ``manufacturer`` enum (subset).
MANUFACTURERS: dict[str, int] = {
    "garmin": 1, "suunto": 23, "wahoo_fitness": 32, "stryd": 95, "development": 255,
    "zwift": 260, "coros": 294,
}  # fmt: skip

#: ``set_type`` enum.
SET_TYPES: dict[str, int] = {"rest": 0, "active": 1}

#: Default product: Garmin Forerunner 955 (``garmin_product`` 4024).
DEFAULT_PRODUCT = 4024
DEFAULT_SERIAL = 3_456_789_012

#: Record columns written by :func:`encode_activity`:
#: column -> ((field number, base type, scale, offset), ...). ``cadence_spm`` is special
#: (strides/min + fractional part), see :func:`_encode_cadence`.
RECORD_FIELDS: dict[str, tuple[tuple[int, str, float, float], ...]] = {
    "latitude_deg": ((0, "sint32", _SEMICIRCLES_PER_DEG, 0.0),),  # position_lat
    "longitude_deg": ((1, "sint32", _SEMICIRCLES_PER_DEG, 0.0),),  # position_long
    "distance_m": ((5, "uint32", 100.0, 0.0),),  # distance
    "speed_mps": ((73, "uint32", 1000.0, 0.0), (6, "uint16", 1000.0, 0.0)),  # enhanced_speed, speed
    "altitude_m": ((78, "uint32", 5.0, 500.0),),  # enhanced_altitude
    "heart_rate_bpm": ((3, "uint8", 1.0, 0.0),),  # heart_rate
    "cadence_spm": ((4, "uint8", 1.0, 0.0), (53, "uint8", 128.0, 0.0)),  # cadence, fractional
    "step_length_m": ((85, "uint16", 10_000.0, 0.0),),  # step_length: mm, scale 10
    "vertical_oscillation_mm": ((39, "uint16", 10.0, 0.0),),  # vertical_oscillation
    "stance_time_ms": ((41, "uint16", 10.0, 0.0),),  # stance_time
    "power_w": ((7, "uint16", 1.0, 0.0),),  # power
    "temperature_c": ((13, "sint8", 1.0, 0.0),),  # temperature
}

#: Summary fields of ``lap`` (19) and ``session`` (18): name -> (number, base, scale, offset).
#: Values are given in the units fitdecode decodes to (s, m, m/s, strides/min, mm).
_SUMMARY_COMMON: dict[str, tuple[str, float, float]] = {
    "timestamp": ("uint32", 1.0, 0.0),
    "event": ("enum", 1.0, 0.0),
    "event_type": ("enum", 1.0, 0.0),
    "start_time": ("uint32", 1.0, 0.0),
    "sport": ("enum", 1.0, 0.0),
    "sub_sport": ("enum", 1.0, 0.0),
    "total_elapsed_time": ("uint32", 1000.0, 0.0),
    "total_timer_time": ("uint32", 1000.0, 0.0),
    "total_distance": ("uint32", 100.0, 0.0),
    "total_cycles": ("uint32", 1.0, 0.0),
    "avg_speed": ("uint16", 1000.0, 0.0),
    "enhanced_avg_speed": ("uint32", 1000.0, 0.0),
    "avg_heart_rate": ("uint8", 1.0, 0.0),
    "max_heart_rate": ("uint8", 1.0, 0.0),
    "avg_cadence": ("uint8", 1.0, 0.0),
    "avg_fractional_cadence": ("uint8", 128.0, 0.0),
    "avg_power": ("uint16", 1.0, 0.0),
    "avg_step_length": ("uint16", 10.0, 0.0),
    "avg_vertical_oscillation": ("uint16", 10.0, 0.0),
    "avg_stance_time": ("uint16", 10.0, 0.0),
    "total_ascent": ("uint16", 1.0, 0.0),
    "total_descent": ("uint16", 1.0, 0.0),
    "total_calories": ("uint16", 1.0, 0.0),
    "message_index": ("uint16", 1.0, 0.0),
}
_SESSION_NUMS = {
    "timestamp": 253, "event": 0, "event_type": 1, "start_time": 2, "sport": 5,
    "sub_sport": 6, "total_elapsed_time": 7, "total_timer_time": 8, "total_distance": 9,
    "total_cycles": 10, "total_calories": 11, "avg_speed": 14, "avg_heart_rate": 16,
    "max_heart_rate": 17, "avg_cadence": 18, "avg_power": 20, "total_ascent": 22,
    "total_descent": 23, "first_lap_index": 25, "num_laps": 26, "trigger": 28,
    "avg_vertical_oscillation": 89, "avg_stance_time": 91, "avg_fractional_cadence": 92,
    "enhanced_avg_speed": 124, "avg_step_length": 134, "message_index": 254,
}  # fmt: skip
_LAP_NUMS = {
    "timestamp": 253, "event": 0, "event_type": 1, "start_time": 2,
    "total_elapsed_time": 7, "total_timer_time": 8, "total_distance": 9,
    "total_cycles": 10, "total_calories": 11, "avg_speed": 13, "avg_heart_rate": 15,
    "max_heart_rate": 16, "avg_cadence": 17, "avg_power": 19, "total_ascent": 21,
    "total_descent": 22, "lap_trigger": 24, "sport": 25, "sub_sport": 39,
    "avg_vertical_oscillation": 77, "avg_stance_time": 79, "avg_fractional_cadence": 80,
    "enhanced_avg_speed": 110, "avg_step_length": 120, "message_index": 254,
}  # fmt: skip
_SUMMARY_EXTRA = {
    "first_lap_index": ("uint16", 1.0, 0.0),
    "num_laps": ("uint16", 1.0, 0.0),
    "trigger": ("enum", 1.0, 0.0),
    "lap_trigger": ("enum", 1.0, 0.0),
}
#: Session fields: name -> (number, base, scale, offset); the keys of ``summary_overrides``.
SESSION_FIELDS: dict[str, tuple[int, str, float, float]] = {
    name: (num, *({**_SUMMARY_COMMON, **_SUMMARY_EXTRA}[name]))
    for name, num in _SESSION_NUMS.items()
}
LAP_FIELDS: dict[str, tuple[int, str, float, float]] = {
    name: (num, *({**_SUMMARY_COMMON, **_SUMMARY_EXTRA}[name])) for name, num in _LAP_NUMS.items()
}

TimestampLike = str | dt.datetime | pd.Timestamp | np.datetime64
FieldType = str | tuple[str, int]


# --------------------------------------------------------------------------------------
# CRC
# --------------------------------------------------------------------------------------


# the encoder's checksums come from the decoder's module: one FIT CRC in the package


# --------------------------------------------------------------------------------------
# Low-level encoder
# --------------------------------------------------------------------------------------


def _parse_type(spec: FieldType) -> tuple[BaseType, int]:
    """``"uint16"`` -> (uint16, 1); ``("string", 16)`` -> (string, 16 bytes)."""
    name, count = (spec, 1) if isinstance(spec, str) else spec
    if name not in BASE_TYPES:
        raise ValueError(f"unknown FIT base type {name!r}; known: {', '.join(BASE_TYPES)}")
    count = int(count)
    if count < 1:
        raise ValueError(f"field count/size must be >= 1, got {count}")
    return BASE_TYPES[name], count


@dataclass(frozen=True)
class _FieldDef:
    num: int
    base: BaseType
    count: int  # number of values (bytes for strings)
    dev_index: int | None = None

    @property
    def size(self) -> int:
        return self.base.size * self.count


@dataclass(frozen=True)
class _Definition:
    global_num: int
    fields: tuple[_FieldDef, ...]
    big_endian: bool
    dtype: np.dtype


def _field_dtype(fd: _FieldDef, big_endian: bool) -> tuple[str, ...] | tuple[str, str, tuple]:
    if fd.base.name == "string":
        return (f"S{fd.count}",)
    code = (">" if big_endian else "<") + fd.base.dtype
    return (code,) if fd.count == 1 else (code, (fd.count,))


class FitEncoder:
    """Write FIT records into an in-memory file.

    Examples
    --------
    >>> enc = FitEncoder()
    >>> enc.define(0, 0, [(0, "enum"), (1, "uint16"), (4, "uint32")])
    >>> enc.write(0, [4, 1, 1_000_000_000])
    >>> data = enc.to_bytes()
    """

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._defs: dict[int, _Definition] = {}

    # definitions -----------------------------------------------------------------------
    def define(
        self,
        local_num: int,
        global_num: int,
        fields: Sequence[tuple[int, FieldType]],
        dev_fields: Sequence[tuple[int, FieldType, int]] | None = None,
        big_endian: bool = False,
    ) -> None:
        """Write a definition message.

        Parameters
        ----------
        local_num
            Local message type, 0-15 (0-3 if compressed-timestamp messages will use it).
        global_num
            Global message number, e.g. 20 for ``record``.
        fields
            ``(field_def_num, type)`` pairs, in the order values are written; `type` is a
            base type name (``"uint32"``) or ``(name, count)`` for arrays, with count the
            size in bytes for ``"string"`` (``("string", 16)``) and ``"byte"``.
        dev_fields
            Developer fields ``(field_num, type, developer_data_index)``, written after
            the regular fields (sets the developer-data flag of the header). The file
            must describe them first with ``developer_data_id`` and
            ``field_description`` messages.
        big_endian
            Architecture 1 (big-endian multi-byte values) for this message.
        """
        if not 0 <= local_num <= 15:
            raise ValueError(f"local message number must be 0-15, got {local_num}")
        if not 0 <= global_num <= 0xFFFF:
            raise ValueError(f"global message number must be 0-65535, got {global_num}")
        fds = [_FieldDef(int(num), *_parse_type(t)) for num, t in fields]
        devs = [_FieldDef(int(num), *_parse_type(t), int(idx)) for num, t, idx in dev_fields or ()]
        if len(fds) > 255 or len(devs) > 255:
            raise ValueError("at most 255 fields per definition")
        for fd in (*fds, *devs):
            if not 0 <= fd.num <= 255 or fd.size > 255:
                raise ValueError(f"field {fd.num}: number must be 0-255 and size <= 255 bytes")
        bo = ">" if big_endian else "<"
        out = bytearray([0x40 | (0x20 if devs else 0) | local_num, 0, int(big_endian)])
        out += struct.pack(bo + "HB", global_num, len(fds))
        for fd in fds:
            out += bytes([fd.num, fd.size, fd.base.type_id])
        if devs:
            out.append(len(devs))
            for fd in devs:
                out += bytes([fd.num, fd.size, fd.dev_index])
        dtype = np.dtype(
            [("hdr", "u1")]
            + [(f"f{i}", *_field_dtype(fd, big_endian)) for i, fd in enumerate((*fds, *devs))]
        )
        self._defs[local_num] = _Definition(global_num, (*fds, *devs), big_endian, dtype)
        self._chunks.append(bytes(out))

    # data messages ---------------------------------------------------------------------
    def pack_rows(
        self,
        local_num: int,
        columns: Sequence[Any],
        time_offsets: np.ndarray | None = None,
    ) -> np.ndarray:
        """Encode many data messages at once, without adding them to the file.

        Parameters
        ----------
        local_num
            A defined local message type.
        columns
            One array per field of the definition (developer fields last), raw values
            (scale and offset already applied), shape ``(n,)`` or ``(n, count)`` for
            arrays. NaN (float input) means the invalid value; strings are ``str`` or
            ``bytes``.
        time_offsets
            If given, the messages get compressed-timestamp headers with these 5-bit
            time offsets (``timestamp & 0x1F``); `local_num` must be 0-3.

        Returns
        -------
        numpy.ndarray
            ``uint8`` array of shape ``(n, message size)``, one message per row.
        """
        d = self._get_def(local_num)
        if len(columns) != len(d.fields):
            raise ValueError(
                f"local message {local_num} has {len(d.fields)} fields, got {len(columns)} values"
            )
        n = (
            len(columns[0])
            if len(columns)
            else (len(time_offsets) if time_offsets is not None else 0)
        )
        rows = np.zeros(n, dtype=d.dtype)
        if time_offsets is None:
            rows["hdr"] = local_num
        else:
            if not 0 <= local_num <= 3:
                raise ValueError("compressed-timestamp messages need local message number 0-3")
            offs = np.asarray(time_offsets, dtype=np.int64)
            if len(offs) != n or (offs < 0).any() or (offs > 31).any():
                raise ValueError("time_offsets must hold one value in 0-31 per message")
            rows["hdr"] = 0x80 | (local_num << 5) | offs
        for i, (fd, col) in enumerate(zip(d.fields, columns, strict=True)):
            if len(col) != n:
                raise ValueError(f"field {fd.num}: {len(col)} values, expected {n}")
            rows[f"f{i}"] = _raw_array(col, fd, n, d.big_endian)
        return rows.view(np.uint8).reshape(n, d.dtype.itemsize)

    def write_rows(
        self,
        local_num: int,
        columns: Sequence[Any],
        time_offsets: np.ndarray | None = None,
    ) -> None:
        """Encode many data messages at once and add them to the file (see :meth:`pack_rows`)."""
        self._chunks.append(self.pack_rows(local_num, columns, time_offsets).tobytes())

    def write(self, local_num: int, values: Sequence[Any]) -> None:
        """Write one data message.

        Parameters
        ----------
        local_num
            A defined local message type.
        values
            One raw value per field, in definition order (developer fields last);
            ``None`` (or NaN) writes the base type's invalid value. Arrays take a
            sequence, strings a ``str``, byte arrays ``bytes``.
        """
        if not self._get_def(local_num).fields:
            self._chunks.append(bytes([local_num]))
            return
        self.write_rows(local_num, [[v] for v in values])

    def write_compressed_timestamp(
        self, local_num: int, time_offset_5bit: int, values: Sequence[Any]
    ) -> None:
        """Write one data message with a compressed-timestamp header.

        Parameters
        ----------
        local_num
            A defined local message type, 0-3, normally without a ``timestamp`` field.
        time_offset_5bit
            ``timestamp & 0x1F``; the reader adds it to the last full timestamp, which
            must be less than 32 s earlier.
        values
            As for :meth:`write`.
        """
        self._chunks.append(
            self.pack_rows(local_num, [[v] for v in values], np.array([time_offset_5bit])).tobytes()
        )

    def write_raw(self, data: bytes) -> None:
        """Append already encoded records (e.g. from :meth:`pack_rows`)."""
        self._chunks.append(bytes(data))

    # file ------------------------------------------------------------------------------
    def data_size(self) -> int:
        """Size of the records written so far. [bytes]"""
        return sum(len(c) for c in self._chunks)

    def to_bytes(self) -> bytes:
        """The complete FIT file: 14-byte header with CRC, records, file CRC."""
        data = b"".join(self._chunks)
        header = struct.pack(
            "<BBHI4s", HEADER_SIZE, PROTOCOL_VERSION, PROFILE_VERSION, len(data), b".FIT"
        )
        header += struct.pack("<H", fit_crc(header))
        body = header + data
        return body + struct.pack("<H", fit_crc(body))

    def _get_def(self, local_num: int) -> _Definition:
        try:
            return self._defs[local_num]
        except KeyError:
            raise ValueError(f"local message {local_num} is not defined") from None


def _is_missing(x: Any) -> bool:
    return x is None or (isinstance(x, float | np.floating) and not np.isfinite(x))


def _expand(value: Any, count: int) -> list[Any]:
    """One field value -> a list of `count` values (None -> all missing)."""
    if value is None:
        return [None] * count
    if isinstance(value, bytes | bytearray):
        seq = list(value)
    elif isinstance(value, str) or np.ndim(value) == 0:
        seq = [value]
    else:
        seq = list(value)
    if len(seq) != count:
        raise ValueError(f"expected {count} value(s), got {len(seq)}")
    return seq


def _raw_array(col: Any, fd: _FieldDef, n: int, big_endian: bool) -> np.ndarray:
    """A column of raw values -> array in the field's dtype, missing -> invalid value."""
    bt = fd.base
    if bt.name == "string":
        items = [
            b"" if v is None else (v.encode("utf-8") if isinstance(v, str) else bytes(v))
            for v in col
        ]
        for b in items:
            if len(b) > fd.count:
                raise ValueError(f"field {fd.num}: string of {len(b)} bytes > size {fd.count}")
        return np.array(items, dtype=f"S{fd.count}").reshape(n)
    shape = (n,) if fd.count == 1 else (n, fd.count)
    code = (">" if big_endian else "<") + bt.dtype
    if isinstance(col, np.ndarray) and col.dtype.kind in "iub":
        raw, ok = col.reshape(shape), np.ones(shape, dtype=bool)
    elif isinstance(col, np.ndarray) and col.dtype.kind == "f":
        vals = col.reshape(shape)
        ok = np.isfinite(vals)
        raw = vals if bt.is_float else np.round(np.where(ok, vals, 0.0))
    else:  # Python values, one at a time (low-rate messages)
        flat = [x for v in col for x in _expand(v, fd.count)]
        ok = np.array([not _is_missing(x) for x in flat], dtype=bool).reshape(shape)
        if bt.is_float:
            raw = np.array([np.nan if _is_missing(x) else x for x in flat], dtype=np.float64)
        else:
            ints = [0 if _is_missing(x) else round(x) for x in flat]
            info = np.iinfo(bt.dtype)
            if any(not info.min <= v <= info.max for v in ints):
                raise ValueError(f"field {fd.num}: value out of range for {bt.name}")
            raw = np.array(ints, dtype=bt.dtype)
        raw = raw.reshape(shape)
    if bt.is_float:
        out = np.asarray(raw, dtype=np.float64).astype(code)
        out.view(code.replace("f", "u"))[~ok | ~np.isfinite(out)] = bt.invalid
        return out
    info = np.iinfo(bt.dtype)
    if ok.any() and (raw[ok].min() < info.min or raw[ok].max() > info.max):
        raise ValueError(f"field {fd.num}: value out of range for {bt.name}")
    return np.where(ok, raw, bt.invalid).astype(code)


# --------------------------------------------------------------------------------------
# Value conversion helpers
# --------------------------------------------------------------------------------------


def to_fit_time(ts: TimestampLike | pd.DatetimeIndex) -> Any:
    """UTC time(s) -> FIT ``date_time`` (whole seconds since 1989-12-31T00:00:00Z).

    Parameters
    ----------
    ts
        A tz-aware timestamp or DatetimeIndex (``str`` with an offset, ``datetime``,
        ``pandas.Timestamp``; ``numpy.datetime64`` is taken as UTC).

    Returns
    -------
    int or numpy.ndarray
        Seconds, rounded to the nearest second.
    """
    if isinstance(ts, pd.DatetimeIndex):
        if ts.tz is None:
            raise ValueError("timestamps must be tz-aware (UTC)")
        ns = ts.tz_convert("UTC").as_unit("ns").asi8
        return np.round(ns / 1e9).astype(np.int64) - _FIT_EPOCH_UNIX_S
    t = pd.Timestamp(ts)
    if t.tzinfo is None:
        if isinstance(ts, np.datetime64):
            t = t.tz_localize("UTC")
        else:
            raise ValueError(f"timestamp {ts!r} must be tz-aware (UTC)")
    return round(t.tz_convert("UTC").value / 1e9) - _FIT_EPOCH_UNIX_S


def _to_raw(values: Any, base: str, scale: float = 1.0, offset: float = 0.0) -> np.ndarray:
    """Physical values -> raw integers ``round((value + offset) * scale)``; NaN or
    out-of-range -> the base type's invalid value."""
    bt = BASE_TYPES[base]
    v = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        raw = np.round((v + offset) * scale)
    lo, hi = bt.valid_range
    ok = np.isfinite(raw) & (raw >= lo) & (raw <= hi)
    out = np.full(v.shape, bt.invalid, dtype=bt.dtype)
    out[ok] = raw[ok].astype(bt.dtype)
    return out


def _from_raw(raw: np.ndarray, base: str, scale: float = 1.0, offset: float = 0.0) -> np.ndarray:
    """Raw integers -> physical values as a reader decodes them (invalid -> NaN)."""
    bt = BASE_TYPES[base]
    raw = np.asarray(raw)
    return np.where(raw == bt.invalid, np.nan, raw.astype(np.float64) / scale - offset)


def _quantize(value: float | None, base: str, scale: float, offset: float) -> float | None:
    """A physical value as it reads back after encoding (None if invalid)."""
    if value is None:
        return None
    q = float(_from_raw(_to_raw([value], base, scale, offset), base, scale, offset)[0])
    return None if np.isnan(q) else q


def _encode_cadence(spm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Steps/min (both feet) -> (cadence [strides/min], fractional_cadence [1/128])."""
    strides = np.asarray(spm, dtype=np.float64) / 2.0
    whole = np.floor(strides)
    frac = np.round((strides - whole) * 128.0)
    carry = frac >= 128
    whole = np.where(carry, whole + 1, whole)
    frac = np.where(carry, 0, frac)
    cad = _to_raw(whole, "uint8")
    frac_raw = np.where(cad == 0xFF, 0xFF, _to_raw(frac, "uint8")).astype(np.uint8)
    return cad, frac_raw


def _decode_cadence(cad: np.ndarray, frac: np.ndarray) -> np.ndarray:
    """(cadence, fractional_cadence raw) -> steps/min (NaN where invalid)."""
    c = _from_raw(cad, "uint8")
    f = np.nan_to_num(_from_raw(frac, "uint8", 128.0))
    return 2.0 * (c + f)


def _enum(value: str | int, table: Mapping[str, int], what: str) -> int:
    if isinstance(value, str):
        try:
            return table[value]
        except KeyError:
            raise ValueError(
                f"unknown {what} {value!r}; known: {', '.join(table)} (or pass the number)"
            ) from None
    return int(value)


# --------------------------------------------------------------------------------------
# High level: activity files
# --------------------------------------------------------------------------------------


def _empty_records() -> pd.DataFrame:
    return pd.DataFrame(index=pd.DatetimeIndex([], tz="UTC", name="timestamp"))


@dataclass(frozen=True, eq=False)
class SessionSpec:
    """One session of a synthetic activity file.

    Attributes
    ----------
    sport, sub_sport
        FIT ``sport`` / ``sub_sport`` name (``"running"``, ``"training"``; ``"generic"``,
        ``"treadmill"``, ``"yoga"``, ``"flexibility_training"``, ...) or number.
    records
        Samples with a tz-aware DatetimeIndex (converted to UTC, rounded to whole
        seconds, must stay strictly increasing) and any of the columns in
        :data:`RECORD_FIELDS` (``distance_m``, ``speed_mps``, ``cadence_spm``
        [steps/min, both feet], ``step_length_m``, ``heart_rate_bpm``, ``altitude_m``,
        ``latitude_deg``, ``longitude_deg``, ``vertical_oscillation_mm``,
        ``stance_time_ms``, ``power_w``, ``temperature_c``). NaN (or a value out of
        the field's range) is written as the invalid value; other columns are
        ignored. ``cadence_spm`` is always written the running way (strides/min +
        fractional part), whatever the sport.
    pauses
        ``(start, end)`` UTC times when the timer was stopped; records strictly inside
        are not written.
    laps
        Lap boundary times strictly inside the session (none: one lap).
    sets
        ``set`` messages: dicts with ``start_time``, ``duration_s`` and optionally
        ``category`` (exercise category name or number), ``category_subtype``,
        ``repetitions``, ``set_type`` (``"active"``/``"rest"``, default active).
    summary_overrides
        Session fields to force, by FIT field name (keys of :data:`SESSION_FIELDS`),
        in decoded units (s, m, m/s, mm, strides/min; ``avg_cadence`` may be
        fractional); ``None`` leaves the field out.
    """

    sport: str | int = "running"
    sub_sport: str | int = "generic"
    records: pd.DataFrame = field(default_factory=_empty_records)
    pauses: Sequence[tuple[TimestampLike, TimestampLike]] = ()
    laps: Sequence[TimestampLike] = ()
    sets: Sequence[Mapping[str, Any]] = ()
    summary_overrides: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class _Prepared:
    """A session reduced to what gets written."""

    sport: int
    sub_sport: int
    ts: np.ndarray  # record timestamps, FIT seconds
    columns: dict[str, np.ndarray]  # record column -> float values (written rows)
    start: int
    end: int
    pauses: list[tuple[int, int]]
    weights: np.ndarray  # timer seconds per record
    laps: list[dict[str, Any]]  # lap message values
    session: dict[str, Any]  # session message values
    sets: list[dict[str, Any]]


def _timer_at(t: np.ndarray, start: int, pauses: list[tuple[int, int]]) -> np.ndarray:
    """Timer time at times `t`: elapsed since `start` minus paused seconds. [s]"""
    t = np.asarray(t, dtype=np.float64)
    out = t - start
    for ps, pe in pauses:
        out -= np.clip(np.minimum(t, pe) - ps, 0, None)
    return out


def _merge_pauses(
    pauses: Sequence[tuple[TimestampLike, TimestampLike]], start: int, end: int
) -> list[tuple[int, int]]:
    """Pauses in FIT seconds, clipped to the session, sorted and merged."""
    spans = []
    for a, b in pauses:
        ps, pe = to_fit_time(a), to_fit_time(b)
        if pe <= ps:
            raise ValueError(f"pause ({a}, {b}) must end after it starts")
        ps, pe = max(ps, start), min(pe, end)
        if pe > ps:
            spans.append((ps, pe))
    merged: list[tuple[int, int]] = []
    for ps, pe in sorted(spans):
        if merged and ps <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(pe, merged[-1][1]))
        else:
            merged.append((ps, pe))
    return merged


def _summary_values(
    cols: dict[str, np.ndarray], w: np.ndarray, distance: float | None
) -> dict[str, Any]:
    """Device-style averages over a set of timer-running records (quantized inputs)."""
    out: dict[str, Any] = {}
    cad = cols.get("cadence_spm")
    steps = None
    if cad is not None:
        ok = np.isfinite(cad) & (w > 0)
        if ok.any():
            avg = float((cad[ok] * w[ok]).sum() / w[ok].sum())
            out["avg_cadence"] = avg / 2.0  # strides/min, split when written
            steps = float((cad[ok] / 60.0 * w[ok]).sum())
            out["total_cycles"] = round(steps / 2.0)
    sl = cols.get("step_length_m")
    if sl is not None and (np.isfinite(sl) & (sl > 0)).any():
        out["avg_step_length"] = float(sl[np.isfinite(sl) & (sl > 0)].mean()) * 1000.0
    elif steps and distance is not None:
        out["avg_step_length"] = distance / steps * 1000.0
    for col, name in (
        ("heart_rate_bpm", "avg_heart_rate"),
        ("power_w", "avg_power"),
        ("vertical_oscillation_mm", "avg_vertical_oscillation"),
        ("stance_time_ms", "avg_stance_time"),
    ):
        v = cols.get(col)
        if v is not None:
            ok = np.isfinite(v) & (w > 0)
            if ok.any():
                out[name] = float((v[ok] * w[ok]).sum() / w[ok].sum())
    hr = cols.get("heart_rate_bpm")
    if hr is not None and np.isfinite(hr).any():
        out["max_heart_rate"] = float(np.nanmax(hr))
    return out


def _distance_at(ts: np.ndarray, dist: np.ndarray, t: float) -> float:
    """Last recorded distance at or before `t` (0 before the first)."""
    sel = np.isfinite(dist) & (ts <= t)
    return float(dist[sel][-1]) if sel.any() else 0.0


def _apply_overrides(values: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(values)
    for name, v in overrides.items():
        if name not in SESSION_FIELDS:
            raise ValueError(
                f"unknown session field {name!r} in summary_overrides; known: "
                f"{', '.join(SESSION_FIELDS)}"
            )
        if name == "sport":
            v = _enum(v, SPORTS, "sport")
        elif name == "sub_sport":
            v = _enum(v, SUB_SPORTS, "sub_sport")
        elif name in ("timestamp", "start_time") and v is not None:
            v = to_fit_time(v)
        out[name] = v
    if "avg_cadence" in overrides and "avg_fractional_cadence" not in overrides:
        out.pop("avg_fractional_cadence", None)  # recomputed from a fractional avg_cadence
    return out


def _split_cadence_fields(values: dict[str, Any]) -> dict[str, Any]:
    """A float ``avg_cadence`` [strides/min] -> integer + ``avg_fractional_cadence``."""
    out = dict(values)
    avg = out.get("avg_cadence")
    if avg is not None and "avg_fractional_cadence" not in out:
        c, f = _encode_cadence(np.array([2.0 * avg]))
        out["avg_cadence"] = None if c[0] == 0xFF else int(c[0])
        out["avg_fractional_cadence"] = None if c[0] == 0xFF else int(f[0]) / 128.0
    return out


def _prepare(spec: SessionSpec, lap_index0: int = 0) -> _Prepared:
    sport = _enum(spec.sport, SPORTS, "sport")
    sub_sport = _enum(spec.sub_sport, SUB_SPORTS, "sub_sport")
    df = spec.records
    if not isinstance(df, pd.DataFrame) or not isinstance(df.index, pd.DatetimeIndex):
        raise ValueError("SessionSpec.records must be a DataFrame with a DatetimeIndex")
    ts_all = to_fit_time(df.index)
    if len(ts_all) > 1 and (np.diff(ts_all) <= 0).any():
        raise ValueError("record timestamps must be strictly increasing (after rounding to 1 s)")
    sets = []
    for s in spec.sets:
        unknown = set(s) - {
            "start_time", "duration_s", "category", "category_subtype", "repetitions", "set_type",
        }  # fmt: skip
        if unknown or "start_time" not in s or "duration_s" not in s:
            raise ValueError(
                f"a set needs 'start_time' and 'duration_s' (optional: category, "
                f"category_subtype, repetitions, set_type); got {sorted(s)}"
            )
        t0 = to_fit_time(s["start_time"])
        dur = float(s["duration_s"])
        cat = s.get("category")
        sets.append(
            {
                "start_time": t0,
                "timestamp": t0 + round(dur),
                "duration": dur,
                "category": None if cat is None else _enum(cat, EXERCISE_CATEGORIES, "category"),
                "category_subtype": s.get("category_subtype"),
                "repetitions": s.get("repetitions"),
                "set_type": _enum(s.get("set_type", "active"), SET_TYPES, "set_type"),
            }
        )
    bounds = [int(x) for x in ts_all[:1]] + [int(x) for x in ts_all[-1:]]
    bounds += [s["start_time"] for s in sets] + [s["timestamp"] for s in sets]
    if not bounds:
        raise ValueError("a session needs records or sets")
    start, end = min(bounds), max(bounds)
    pauses = _merge_pauses(spec.pauses, start, end)

    keep = np.ones(len(ts_all), dtype=bool)
    for ps, pe in pauses:
        keep &= ~((ts_all > ps) & (ts_all < pe))
    ts = ts_all[keep]
    cols: dict[str, np.ndarray] = {}
    for name, fields in RECORD_FIELDS.items():
        if name not in df.columns:
            continue
        v = pd.to_numeric(df[name], errors="coerce").to_numpy(dtype=np.float64)[keep]
        if name == "cadence_spm":
            cols[name] = _decode_cadence(*_encode_cadence(v))
        else:
            _, base, scale, off = fields[0]
            cols[name] = _from_raw(_to_raw(v, base, scale, off), base, scale, off)

    timer = _timer_at(ts, start, pauses)
    w = np.zeros(len(ts))
    if len(ts) > 1:
        w[:-1] = np.diff(timer)
        pos = w[:-1][w[:-1] > 0]
        w[-1] = float(np.median(pos)) if len(pos) else 1.0
    elif len(ts) == 1:
        w[0] = 1.0
    w = np.where(w > 0, w, 0.0)

    dist = cols.get("distance_m")
    lap_bounds = sorted({to_fit_time(b) for b in spec.laps})
    for b in lap_bounds:
        if not start < b < end:
            raise ValueError("lap boundaries must lie strictly inside the session")
    edges = [start, *lap_bounds, end]
    laps = []
    for k in range(len(edges) - 1):
        a, b = edges[k], edges[k + 1]
        last = k == len(edges) - 2
        # a record exactly on a boundary starts the next lap
        sel = (ts >= a) & ((ts <= b) if last else (ts < b))
        lap_dist = None
        if dist is not None:
            d_start = 0.0 if k == 0 else _distance_at(ts, dist, a - 0.5)
            d_end = _distance_at(ts, dist, np.inf if last else b - 0.5)
            lap_dist = d_end - d_start
        timer_s = float(_timer_at(np.array([b]), start, pauses)[0]) - float(
            _timer_at(np.array([a]), start, pauses)[0]
        )
        vals = {
            "timestamp": b,
            "start_time": a,
            "event": EVENT_LAP,
            "event_type": EVENT_TYPE_STOP,
            "total_elapsed_time": float(b - a),
            "total_timer_time": timer_s,
            "total_distance": lap_dist,
            **_summary_values({c: v[sel] for c, v in cols.items()}, w[sel], lap_dist),
            "lap_trigger": 7 if last else 0,  # session_end / manual
            "sport": sport,
            "sub_sport": sub_sport,
            "message_index": lap_index0 + k,
        }
        if lap_dist is not None and timer_s > 0:
            vals["avg_speed"] = vals["enhanced_avg_speed"] = lap_dist / timer_s
        laps.append(_split_cadence_fields(vals))

    total_dist = None
    if dist is not None:
        fin = dist[np.isfinite(dist)]
        total_dist = float(fin[-1]) if len(fin) else None
    timer_total = float(_timer_at(np.array([end]), start, pauses)[0])
    session = {
        "timestamp": end,
        "start_time": start,
        "event": EVENT_SESSION,
        "event_type": EVENT_TYPE_STOP,
        "sport": sport,
        "sub_sport": sub_sport,
        "total_elapsed_time": float(end - start),
        "total_timer_time": timer_total,
        "total_distance": total_dist,
        **_summary_values(cols, w, total_dist),
        "first_lap_index": lap_index0,
        "num_laps": len(laps),
        "trigger": 0,  # activity_end
    }
    if total_dist is not None and timer_total > 0:
        session["avg_speed"] = session["enhanced_avg_speed"] = total_dist / timer_total
    session = _split_cadence_fields(_apply_overrides(session, spec.summary_overrides))
    return _Prepared(sport, sub_sport, ts, cols, start, end, pauses, w, laps, session, sets)


def _quantized_fields(
    values: Mapping[str, Any], table: Mapping[str, tuple[int, str, float, float]]
) -> dict[str, Any]:
    out = {}
    for name, v in values.items():
        _, base, scale, off = table[name]
        out[name] = _quantize(v, base, scale, off)
    return out


def _summary_from_session(prep: _Prepared) -> dict[str, Any]:
    q = _quantized_fields(prep.session, SESSION_FIELDS)
    cad = q.get("avg_cadence")
    frac = q.get("avg_fractional_cadence") or 0.0
    sl = q.get("avg_step_length")
    speed = q.get("enhanced_avg_speed", q.get("avg_speed"))
    nan = float("nan")
    return {
        "start_time": FIT_EPOCH + pd.Timedelta(seconds=q.get("start_time") or prep.start),
        "end_time": FIT_EPOCH + pd.Timedelta(seconds=q.get("timestamp") or prep.end),
        "distance_m": nan if q.get("total_distance") is None else q["total_distance"],
        "timer_time_s": nan if q.get("total_timer_time") is None else q["total_timer_time"],
        "elapsed_time_s": nan if q.get("total_elapsed_time") is None else q["total_elapsed_time"],
        "avg_cadence_spm": nan if cad is None else 2.0 * (cad + frac),
        "avg_step_length_m": nan if sl is None else sl / 1000.0,
        "avg_speed_mps": nan if speed is None else speed,
        "total_strides": None if q.get("total_cycles") is None else int(q["total_cycles"]),
        "n_records": len(prep.ts),
        "num_laps": len(prep.laps),
    }


def summarize_spec(spec: SessionSpec) -> dict[str, Any]:
    """The session summary :func:`encode_activity` writes for `spec`, as a reader decodes it.

    Computed the way a Garmin watch does (docs/device_rules.md) over the records that
    are written (timer running; records inside pauses are dropped), from the values as
    quantized in the file. Each record weighs the timer time until the next record,
    the last one the median of those weights. Cadence counts zeros; step length is
    the plain mean of positive per-record step lengths, or, without a
    ``step_length_m`` column, distance / steps. Overrides win.

    Parameters
    ----------
    spec
        The session.

    Returns
    -------
    dict
        ``distance_m`` [m] (last recorded distance), ``timer_time_s`` [s] (elapsed minus
        paused), ``elapsed_time_s`` [s], ``avg_cadence_spm`` [steps/min],
        ``avg_step_length_m`` [m], ``avg_speed_mps`` [m/s] (NaN where not written),
        ``total_strides``, ``start_time``, ``end_time`` (UTC), ``n_records``,
        ``num_laps``.
    """
    return _summary_from_session(_prepare(spec))


class _Writer:
    """Writes low-rate messages from name -> value dicts, redefining only when needed."""

    def __init__(self, enc: FitEncoder, big_endian: bool) -> None:
        self.enc = enc
        self.big_endian = big_endian
        self._current: dict[int, tuple] = {}

    def message(
        self,
        local: int,
        global_num: int,
        table: Mapping[str, tuple[int, FieldType, float, float]],
        values: Mapping[str, Any],
    ) -> None:
        items = [(n, v) for n, v in values.items() if v is not None]
        items.sort(key=lambda nv: table[nv[0]][0])
        key = (global_num, tuple((table[n][0], table[n][1]) for n, _ in items))
        if self._current.get(local) != key:
            self.enc.define(local, global_num, list(key[1]), big_endian=self.big_endian)
            self._current[local] = key
        raw = []
        for n, v in items:
            _, typ, scale, off = table[n]
            if isinstance(typ, tuple) or typ in ("string", "byte"):
                raw.append(v)
            else:
                r = _to_raw([v], typ, scale, off)[0]
                raw.append(None if r == BASE_TYPES[typ].invalid else int(r))
        self.enc.write(local, raw)


_FILE_ID_FIELDS = {
    "type": (0, "enum", 1.0, 0.0),
    "manufacturer": (1, "uint16", 1.0, 0.0),
    "product": (2, "uint16", 1.0, 0.0),
    "serial_number": (3, "uint32z", 1.0, 0.0),
    "time_created": (4, "uint32", 1.0, 0.0),
}
_DEVICE_INFO_FIELDS = {
    "timestamp": (253, "uint32", 1.0, 0.0),
    "device_index": (0, "uint8", 1.0, 0.0),
    "manufacturer": (2, "uint16", 1.0, 0.0),
    "serial_number": (3, "uint32z", 1.0, 0.0),
    "product": (4, "uint16", 1.0, 0.0),
    "software_version": (5, "uint16", 100.0, 0.0),
}
_EVENT_FIELDS = {
    "timestamp": (253, "uint32", 1.0, 0.0),
    "event": (0, "enum", 1.0, 0.0),
    "event_type": (1, "enum", 1.0, 0.0),
    "data": (3, "uint32", 1.0, 0.0),
    "event_group": (4, "uint8", 1.0, 0.0),
}
_ACTIVITY_FIELDS = {
    "timestamp": (253, "uint32", 1.0, 0.0),
    "total_timer_time": (0, "uint32", 1000.0, 0.0),
    "num_sessions": (1, "uint16", 1.0, 0.0),
    "type": (2, "enum", 1.0, 0.0),
    "event": (3, "enum", 1.0, 0.0),
    "event_type": (4, "enum", 1.0, 0.0),
    "local_timestamp": (5, "uint32", 1.0, 0.0),
}
_SET_FIELDS = {
    "timestamp": (254, "uint32", 1.0, 0.0),
    "duration": (0, "uint32", 1000.0, 0.0),
    "repetitions": (3, "uint16", 1.0, 0.0),
    "set_type": (5, "uint8", 1.0, 0.0),
    "start_time": (6, "uint32", 1.0, 0.0),
    "category": (7, "uint16", 1.0, 0.0),
    "category_subtype": (8, "uint16", 1.0, 0.0),
    "message_index": (10, "uint16", 1.0, 0.0),
}
_DEV_POWER_NAME = "Power"
_DEV_POWER_UNITS = "Watts"
_DEV_POWER_FIELD_NUM = 0
#: Application id of the developer data (a made-up UUID, Stryd-like).
_DEV_APP_ID = bytes.fromhex("a42b617609f14d8d8b5df1e2a0c33c47")
_DEVELOPER_DATA_ID_FIELDS = {
    "application_id": (1, ("byte", 16), 1.0, 0.0),
    "manufacturer_id": (2, "uint16", 1.0, 0.0),
    "developer_data_index": (3, "uint8", 1.0, 0.0),
    "application_version": (4, "uint32", 1.0, 0.0),
}
_FIELD_DESCRIPTION_FIELDS = {
    "developer_data_index": (0, "uint8", 1.0, 0.0),
    "field_definition_number": (1, "uint8", 1.0, 0.0),
    "fit_base_type_id": (2, "uint8", 1.0, 0.0),
    "field_name": (3, ("string", 16), 1.0, 0.0),
    "units": (8, ("string", 16), 1.0, 0.0),
    "native_mesg_num": (14, "uint16", 1.0, 0.0),
    "native_field_num": (15, "uint8", 1.0, 0.0),
}


def _record_layout(
    prep: _Prepared, df: pd.DataFrame, dev_power: bool, native_power: bool
) -> tuple[list[tuple[int, str]], list[np.ndarray], list[tuple[int, str, int]], list[np.ndarray]]:
    """Record fields (without timestamp) and their raw columns for one session."""
    keep = np.isin(to_fit_time(df.index), prep.ts)
    fields: list[tuple[int, str]] = []
    cols: list[np.ndarray] = []
    for name, specs in RECORD_FIELDS.items():
        if name not in df.columns or (name == "power_w" and not native_power):
            continue
        v = pd.to_numeric(df[name], errors="coerce").to_numpy(dtype=np.float64)[keep]
        if name == "cadence_spm":
            cad, frac = _encode_cadence(v)
            fields += [(4, "uint8"), (53, "uint8")]
            cols += [cad, frac]
            continue
        for num, base, scale, off in specs:
            fields.append((num, base))
            cols.append(_to_raw(v, base, scale, off))
    dev_fields: list[tuple[int, str, int]] = []
    dev_cols: list[np.ndarray] = []
    if dev_power and "power_w" in df.columns:
        v = pd.to_numeric(df["power_w"], errors="coerce").to_numpy(dtype=np.float64)[keep]
        dev_fields.append((_DEV_POWER_FIELD_NUM, "uint16", 0))
        dev_cols.append(_to_raw(v, "uint16"))
    return fields, cols, dev_fields, dev_cols


def _record_bytes(
    enc: FitEncoder,
    prep: _Prepared,
    df: pd.DataFrame,
    splits: np.ndarray,
    *,
    compressed: bool,
    big_endian: bool,
    dev_power: bool,
    native_power: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Define the record messages and encode every record of the session.

    Returns the concatenated record bytes and the byte offset of each record (plus the
    end), so the caller can cut them at the points where other messages go.
    """
    n = len(prep.ts)
    fields, cols, dev_fields, dev_cols = _record_layout(prep, df, dev_power, native_power)
    ts_raw = prep.ts.astype(np.uint32)
    enc.define(
        _LOCAL_RECORD, MESG_RECORD, [(FIELD_TIMESTAMP, "uint32"), *fields], dev_fields, big_endian
    )
    full_rows = enc.pack_rows(_LOCAL_RECORD, [ts_raw, *cols, *dev_cols])
    if not compressed:
        offsets = np.arange(n + 1) * full_rows.shape[1]
        return full_rows.reshape(-1), offsets
    enc.define(_LOCAL_RECORD_COMPRESSED, MESG_RECORD, fields, dev_fields, big_endian)
    # full timestamp: first record, after any other message, gaps >= 32 s, periodically
    forced = np.zeros(n, dtype=bool)
    forced[0] = True
    forced[splits[splits < n]] = True
    forced[1:] |= np.diff(prep.ts) >= 32
    idx = np.arange(n)
    last_forced = np.maximum.accumulate(np.where(forced, idx, 0))
    full = forced | ((idx - last_forced) % FULL_TIMESTAMP_EVERY == 0)
    comp_rows = enc.pack_rows(
        _LOCAL_RECORD_COMPRESSED,
        [c[~full] for c in (*cols, *dev_cols)],
        time_offsets=(ts_raw[~full] & 0x1F),
    )
    full_rows = full_rows[full]
    sizes = np.where(full, full_rows.shape[1], comp_rows.shape[1])
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    out = np.empty(int(offsets[-1]), dtype=np.uint8)
    for rows, sel in ((full_rows, full), (comp_rows, ~full)):
        if len(rows):
            out[offsets[:-1][sel][:, None] + np.arange(rows.shape[1])] = rows
    return out, offsets


def encode_activity(
    sessions: Sequence[SessionSpec],
    *,
    manufacturer: str | int = "garmin",
    product: int = DEFAULT_PRODUCT,
    serial: int = DEFAULT_SERIAL,
    time_created: TimestampLike | None = None,
    utc_offset_s: int = 0,
    with_developer_power: bool | Literal["both"] = False,
    compressed_timestamps: bool = False,
    big_endian: bool = False,
    software_version: float = 20.26,
) -> bytes:
    """Write a FIT activity file the way a Garmin watch does.

    Message order: ``file_id``, ``device_info``, [``developer_data_id``,
    ``field_description``], then per session a timer start event, the records with
    timer stop/start events at pauses, ``set`` and ``lap`` messages where they end, a
    timer stop_all event, the last ``lap`` and the ``session``; finally ``activity``.

    Parameters
    ----------
    sessions
        The sessions, in time order (several make a multisport file).
    manufacturer, product, serial
        Device identity (``file_id``, ``device_info``); `manufacturer` by name or number.
    time_created
        ``file_id.time_created``; default the first session's start.
    utc_offset_s
        Local time minus UTC, for ``activity.local_timestamp``. [s]
    with_developer_power
        Write ``power_w`` as a developer field named "Power" (units "Watts", like the
        Stryd Connect IQ app) instead of the native ``record.power``; ``"both"`` writes
        both.
    compressed_timestamps
        Write records with compressed-timestamp headers where the step from the previous
        message is under 32 s, with a full timestamp after every other message and at
        least every :data:`FULL_TIMESTAMP_EVERY` records.
    big_endian
        Write every definition with architecture 1 (big-endian values).
    software_version
        ``device_info.software_version``.

    Returns
    -------
    bytes
        The FIT file.
    """
    if not sessions:
        raise ValueError("an activity needs at least one session")
    preps = []
    lap_index = 0
    for spec in sessions:
        preps.append(_prepare(spec, lap_index))
        lap_index += len(preps[-1].laps)
    manu = _enum(manufacturer, MANUFACTURERS, "manufacturer")
    enc = FitEncoder()
    w = _Writer(enc, big_endian)
    created = preps[0].start if time_created is None else to_fit_time(time_created)
    device = {"manufacturer": manu, "product": product, "serial_number": serial}
    w.message(
        _LOCAL_FILE_ID,
        MESG_FILE_ID,
        _FILE_ID_FIELDS,
        {"type": FILE_TYPE_ACTIVITY, **device, "time_created": created},
    )
    w.message(
        _LOCAL_DEVICE_INFO,
        MESG_DEVICE_INFO,
        _DEVICE_INFO_FIELDS,
        {"timestamp": created, "device_index": 0, **device, "software_version": software_version},
    )
    dev_power = bool(with_developer_power)
    native_power = with_developer_power in (False, "both")
    if dev_power:
        w.message(
            _LOCAL_DEVELOPER_DATA_ID,
            MESG_DEVELOPER_DATA_ID,
            _DEVELOPER_DATA_ID_FIELDS,
            {
                "application_id": _DEV_APP_ID,
                "manufacturer_id": MANUFACTURERS["stryd"],
                "developer_data_index": 0,
                "application_version": 100,
            },
        )
        w.message(
            _LOCAL_FIELD_DESCRIPTION,
            MESG_FIELD_DESCRIPTION,
            _FIELD_DESCRIPTION_FIELDS,
            {
                "developer_data_index": 0,
                "field_definition_number": _DEV_POWER_FIELD_NUM,
                "fit_base_type_id": BASE_TYPES["uint16"].type_id,
                "field_name": _DEV_POWER_NAME,
                "units": _DEV_POWER_UNITS,
                "native_mesg_num": MESG_RECORD,
                "native_field_num": 7,
            },
        )

    set_index = 0
    for spec, prep in zip(sessions, preps, strict=True):
        ts = prep.ts
        # (split index, time, priority, writer call)
        inserts: list[tuple[int, int, int, Any]] = []

        def event(t: int, etype: int) -> Any:
            vals = {"timestamp": t, "event": EVENT_TIMER, "event_type": etype, "data": 0}
            vals["event_group"] = 0
            return lambda: w.message(_LOCAL_EVENT, MESG_EVENT, _EVENT_FIELDS, vals)

        inserts.append((0, prep.start, 0, event(prep.start, EVENT_TYPE_START)))
        for ps, pe in prep.pauses:
            split_stop = int(np.searchsorted(ts, ps, side="right"))
            split_start = int(np.searchsorted(ts, pe, side="left"))
            inserts.append((split_stop, ps, 1, event(ps, EVENT_TYPE_STOP_ALL)))
            inserts.append((split_start, pe, 1, event(pe, EVENT_TYPE_START)))
        for s in prep.sets:
            vals = {**s, "message_index": set_index}
            set_index += 1
            inserts.append(
                (
                    int(np.searchsorted(ts, s["timestamp"], side="right")),
                    s["timestamp"],
                    2,
                    functools.partial(w.message, _LOCAL_SET, MESG_SET, _SET_FIELDS, vals),
                )
            )
        inserts.append((len(ts), prep.end, 3, event(prep.end, EVENT_TYPE_STOP_ALL)))
        for lap in prep.laps:
            split = int(np.searchsorted(ts, lap["timestamp"], side="left"))
            if lap["timestamp"] == prep.end:
                split = len(ts)
            inserts.append(
                (
                    split,
                    lap["timestamp"],
                    4,
                    functools.partial(w.message, _LOCAL_LAP, MESG_LAP, LAP_FIELDS, lap),
                )
            )
        inserts.append(
            (
                len(ts),
                prep.end,
                5,
                functools.partial(
                    w.message, _LOCAL_SESSION, MESG_SESSION, SESSION_FIELDS, prep.session
                ),
            )
        )
        inserts.sort(key=lambda x: x[:3])

        if len(ts):
            splits = np.array([i[0] for i in inserts])
            buf, offsets = _record_bytes(
                enc,
                prep,
                spec.records,
                splits,
                compressed=compressed_timestamps,
                big_endian=big_endian,
                dev_power=dev_power,
                native_power=native_power,
            )
        else:
            buf, offsets = np.zeros(0, np.uint8), np.zeros(1, np.int64)
        done = 0
        for split, _, _, call in inserts:
            if split > done:
                enc.write_raw(buf[offsets[done] : offsets[split]].tobytes())
                done = split
            call()
        if done < len(ts):  # pragma: no cover - the session message is always last
            enc.write_raw(buf[offsets[done] :].tobytes())

    end = preps[-1].end
    w.message(
        _LOCAL_ACTIVITY,
        MESG_ACTIVITY,
        _ACTIVITY_FIELDS,
        {
            "timestamp": end,
            "total_timer_time": sum(p.session.get("total_timer_time") or 0.0 for p in preps),
            "num_sessions": len(preps),
            "type": 0,  # manual
            "event": EVENT_ACTIVITY,
            "event_type": EVENT_TYPE_STOP,
            "local_timestamp": end + int(utc_offset_s),
        },
    )
    return enc.to_bytes()


def chain(*file_bytes: bytes) -> bytes:
    """Concatenate complete FIT files into one chained FIT file.

    Parameters
    ----------
    *file_bytes
        FIT files (each with its own header and CRC).

    Returns
    -------
    bytes
        The chained file.
    """
    if not file_bytes:
        raise ValueError("chain() needs at least one FIT file")
    for i, b in enumerate(file_bytes):
        if len(b) < 14 or b[8:12] != b".FIT":
            raise ValueError(f"argument {i} is not a FIT file")
    return b"".join(file_bytes)
