"""FIT activity files (Garmin, COROS, Suunto, Wahoo, Stryd...), decoded with fitdecode.

One :class:`~stridekeeper.schema.Run` per ``session`` message, so multisport, chained and
triathlon files give several runs. Record columns produced (when the file has them):

=========================  =========  ===================================================
column                     unit       FIT source
=========================  =========  ===================================================
``elapsed_s``              s          timestamp - session start_time
``timer_s``                s          time with the timer running (timer start/stop events)
``timer_running``          bool       between a timer start and the next stop event
``distance_m``             m          record.distance
``speed_mps``              m/s        record.enhanced_speed, else record.speed
``cadence_spm``            steps/min  2 x (cadence + fractional_cadence), running/walking only
``step_length_m``          m          record.step_length [mm] / 1000 (one step)
``heart_rate_bpm``         1/min      record.heart_rate
``altitude_m``             m          record.enhanced_altitude, else record.altitude
``grade_pct``              %          derived from altitude and distance (smoothed)
``latitude_deg``           deg        record.position_lat [semicircles] x 180 / 2^31
``longitude_deg``          deg        record.position_long [semicircles] x 180 / 2^31
``vertical_oscillation_mm`` mm        record.vertical_oscillation
``stance_time_ms``         ms         record.stance_time
``power_w``                W          record.power, else a developer field named "Power"
``temperature_c``          degC       record.temperature
``dev_<name>``             as named   every developer field (e.g. Stryd), name snake_cased
=========================  =========  ===================================================

Damage: the records read before the damage are returned with a
:class:`~stridekeeper.errors.DataQualityWarning` and a note in ``meta['warnings']``; a file
with nothing usable raises :class:`~stridekeeper.errors.CorruptFileError` naming the file
and the byte offset. No other exception type escapes for any input bytes.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import logging
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import CorruptFileError, StridekeeperError, UnsupportedFormatError
from ..jsonsafe import json_safe
from ..schema import Run
from ..timezones import utc_datetime, utc_ns
from .records import filter_sport, record_columns, warn_notes
from .source import Source, open_source

if TYPE_CHECKING:
    import pandas as pd
else:
    from ..lazy import pandas as pd

__all__ = [
    "FOOT_SPORTS",
    "MOBILITY_SUB_SPORTS",
    "decode_fit",
    "is_fit",
    "read_fit",
    "runs_from_decoded",
]

log = logging.getLogger(__name__)

#: Sports whose FIT cadence is strides/min (one foot): steps/min = 2 x (cadence + fractional).
FOOT_SPORTS = frozenset({"running", "walking", "hiking"})

#: (sport, sub_sport) pairs recorded by watches for mobility work; sport 86 ``mobility`` is any.
MOBILITY_SUB_SPORTS = frozenset(
    {("training", "flexibility_training"), ("training", "yoga"), ("training", "pilates"),
     ("training", "breathing"), ("training", 19), ("training", 43), ("training", 44),
     ("training", 62), (10, 19), (10, 43), (10, 44), (10, 62)}
)  # fmt: skip

_SEMICIRCLE_DEG = 180.0 / 2**31
_FIT_EPOCH = dt.datetime(1989, 12, 31, tzinfo=dt.UTC)
_RELATIVE_TIME_LIMIT = 0x10000000  # FIT date_time below this is device-relative seconds
_MISSING_TS = np.iinfo(np.int64).min  # a record without a timestamp (columnar convention)
_LAST_TS = np.iinfo(np.int64).max  # (np.iinfo costs ~2.5 us a call)
_NS = 1_000_000_000
_FIT_EPOCH_NS = 631_065_600 * _NS  # 1989-12-31 in ns since 1970

#: FIT record field -> (canonical column, factor to canonical unit). fitdecode has applied
#: the profile's scale and offset already.
_RECORD_MAP: dict[str, tuple[str, float]] = {
    "distance": ("distance_m", 1.0),
    "heart_rate": ("heart_rate_bpm", 1.0),
    "position_lat": ("latitude_deg", _SEMICIRCLE_DEG),
    "position_long": ("longitude_deg", _SEMICIRCLE_DEG),
    "step_length": ("step_length_m", 0.001),
    "vertical_oscillation": ("vertical_oscillation_mm", 1.0),
    "stance_time": ("stance_time_ms", 1.0),
    "power": ("power_w", 1.0),
    "temperature": ("temperature_c", 1.0),
}
#: Preferred source first.
_PREFERRED = {
    "speed_mps": ("enhanced_speed", "speed"),
    "altitude_m": ("enhanced_altitude", "altitude"),
}
_TIMER_STOPS = {"stop", "stop_all", "stop_disable", "stop_disable_all", 1, 4, 5, 9}
_TIMER_STARTS = {"start", 0}


@dataclass
class _Segment:
    """The messages of one FIT file of a (possibly chained) stream."""

    file_id: dict[str, Any] = field(default_factory=dict)
    sessions: list[dict[str, Any]] = field(default_factory=list)
    laps: list[dict[str, Any]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    sets: list[dict[str, Any]] = field(default_factory=list)
    sports: list[dict[str, Any]] = field(default_factory=list)
    activity: dict[str, Any] = field(default_factory=dict)
    dev_units: dict[str, str] = field(default_factory=dict)
    #: records as numpy columns (the columnar fast path) instead of ``records`` dicts
    columns: dict[str, np.ndarray] | None = None

    @property
    def has_records(self) -> bool:
        if self.columns is not None:
            return len(self.columns.get("timestamp", ())) > 0
        return bool(self.records)


@dataclass
class DecodedFit:
    """All messages stridekeeper uses from one FIT file, grouped by chained segment."""

    source: str
    sha256: str
    segments: list[_Segment]
    warnings: list[str]
    damaged_at: int | None = None
    decoder: str = "fitdecode"


def sniff(head: bytes) -> bool:
    """True when the first bytes carry the FIT signature (``.FIT`` at byte 8): the format
    registry's test (:mod:`stridekeeper.io.dispatch`); :func:`is_fit` also checks the header
    size."""
    return len(head) >= 12 and head[8:12] == b".FIT"


def is_fit(head: bytes) -> bool:
    """True when ``head`` (the first >= 12 bytes) looks like a FIT file header."""
    return len(head) >= 12 and head[8:12] == b".FIT" and head[0] in (12, 14)


def _snake(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_") or "field"


def unnamed_dev_column(dev_data_index: int, field_number: int) -> str:
    """Column for a developer field whose description carries no name (RunScribe pods on
    fenix 3 / FR630 write such descriptions): ``dev_<app index>_<field number>``, stable
    across files of the same app."""
    return f"dev_{int(dev_data_index)}_{int(field_number)}"


def _scalar(value: Any) -> Any:
    """fitdecode gives tuples for array fields; take the first valid element."""
    if isinstance(value, tuple | list):
        for v in value:
            if v is not None:
                return v
        return None
    return value


def _message_dict(frame: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for fd in frame.fields:
        if not isinstance(fd.name, str):  # a developer field described without a name
            continue
        if fd.value is None and fd.name in out:
            continue
        out[fd.name] = fd.value
    return out


def decode_fit(source: Source, *, name: str | None = None, fast: bool = True) -> DecodedFit:
    """Decode a FIT file into its messages, recovering what precedes any damage.

    Parameters
    ----------
    source
        Path (``.fit`` or ``.fit.gz``), bytes, binary file object or an opened source
        (:func:`~stridekeeper.io.source.open_source`).
    name
        How to name the file in messages (default: the path, or ``<bytes>``).
    fast
        Try the columnar decoder first (:mod:`stridekeeper.io.fit_columnar`, same values,
        ~100x faster; it recovers cut-short files, CRC mismatches and misaligned field
        sizes as fitdecode does, with the same notes); what it does not handle (other
        damage, unusual layouts) goes to fitdecode. False: fitdecode only.

    Returns
    -------
    DecodedFit
        Messages grouped by chained segment, with notes on any damage.

    Raises
    ------
    UnsupportedFormatError
        The bytes are not a FIT file.
    CorruptFileError
        The file is a FIT file but nothing could be decoded.
    """

    data, name, sha = open_source(source, name)
    if len(data) == 0:
        raise CorruptFileError(name, "empty file (0 bytes)", 0)
    if not is_fit(data[:14]):
        if len(data) < 12:
            raise CorruptFileError(name, f"too short for a FIT header ({len(data)} bytes)", 0)
        raise UnsupportedFormatError(f"{name}: not a FIT file (no '.FIT' signature at byte 8)")

    if fast:
        from .fit_columnar import decode_fit_columnar

        col = decode_fit_columnar(data, name=name, messages=_COLUMNAR_MESSAGES, recover=True)
        if col is not None:
            notes = [] if col.damage is None else [_damage_note(col.damaged_at, col.damage)]
            notes.extend(_warning_note(w) for w in col.warnings)
            segments = [_segment_from_columnar(c) for c in col.segments]
            if col.damaged_at is not None:  # as fitdecode's path refuses damage this early
                _require_activity(name, segments, notes, col.damaged_at)
            return DecodedFit(name, sha, segments, notes, col.damaged_at, decoder="columnar")
    return _decode_with_fitdecode(data, name, sha)


#: FIT message name -> the ``_Segment`` list that collects it.
_SEGMENT_LISTS = {"event": "events", "session": "sessions", "lap": "laps", "set": "sets",
                  "sport": "sports"}  # fmt: skip


def _dev_column(
    fd: Any, key: tuple[int, int], dev_names: dict[tuple[int, int], str], notes: list[str]
) -> str:
    """The records column of one developer field (named once per segment and app field)."""
    known = dev_names.get(key)
    if known is not None:
        return known
    if isinstance(fd.name, str) and fd.name.strip():
        col = "dev_" + _snake(fd.name)
        if col in dev_names.values():
            col = f"{col}_{key[0]}"
    else:
        col = unnamed_dev_column(*key)
        what = "has no name" if fd.name is None or isinstance(fd.name, str) else (
            "has a name that isn't text")  # fmt: skip
        notes.append(f"developer field {key[1]} of app {key[0]} {what} "
                     f"in its description: kept as {col}")  # fmt: skip
    dev_names[key] = col
    return col


def _dev_units(fd: Any, col: str, notes: list[str]) -> str:
    """A developer field's units, when they are text (else dropped with a note)."""
    units = getattr(fd, "units", None)
    if units is not None and not isinstance(units, str):
        notes.append(f"developer field {col}: units {units!r:.40} aren't text; dropped")
        return ""
    return units or ""


def _record_dict(
    frame: Any, seg: _Segment, dev_names: dict[tuple[int, int], str], notes: list[str]
) -> dict[str, Any]:
    """One ``record`` message as a dict, developer fields under their ``dev_`` columns."""
    rec = _message_dict(frame)
    for fd in frame.fields:
        if getattr(fd.field_def, "is_dev", False) and fd.value is not None:
            key = (fd.field_def.dev_data_index, fd.field_def.def_num)
            new = key not in dev_names
            col = _dev_column(fd, key, dev_names, notes)
            if new:
                seg.dev_units[col] = _dev_units(fd, col, notes)
            rec[col] = fd.value
    return rec


def _add_message(
    frame: Any, seg: _Segment, dev_names: dict[tuple[int, int], str], notes: list[str]
) -> None:
    """File one decoded data message into its segment."""
    mname = frame.name
    if mname == "record":
        seg.records.append(_record_dict(frame, seg, dev_names, notes))
    elif mname in _SEGMENT_LISTS:
        getattr(seg, _SEGMENT_LISTS[mname]).append(_message_dict(frame))
    elif mname == "file_id":
        if not seg.file_id:
            seg.file_id = _message_dict(frame)
    elif mname == "activity":
        seg.activity = _message_dict(frame)


def _read_frames(reader: Any, name: str, segments: list[_Segment], notes: list[str]) -> int | None:
    """Walk fitdecode's frames into ``segments``; the byte offset of any damage, else None."""
    import fitdecode

    dev_names: dict[tuple[int, int], str] = {}
    try:
        for frame in reader:
            if isinstance(frame, fitdecode.FitHeader):
                segments.append(_Segment())
                dev_names = {}
            elif isinstance(frame, fitdecode.FitDataMessage):
                if not segments:
                    segments.append(_Segment())
                _add_message(frame, segments[-1], dev_names, notes)
    except fitdecode.FitHeaderError as exc:
        at = _offset(exc, reader)
        if not segments:
            raise CorruptFileError(name, f"not a valid FIT header ({exc})", at) from exc
        notes.append(f"stray bytes after the last complete FIT file at byte {at}: "
                     f"ignored ({exc})")  # fmt: skip
    except Exception as exc:  # fitdecode can raise many types on damaged bytes
        at = _offset(exc, reader)
        notes.append(_damage_note(at, f"{type(exc).__name__}: {exc}"))
        return at
    return None


def _damage_note(at: int | None, what: str) -> str:
    return f"file damaged or truncated at byte {at} ({what}); data before it recovered"


def _warning_note(msg: str) -> str:
    if "CRC" in msg:
        return f"checksum mismatch ({msg}); values decoded as they are"
    if "invalid field size" in msg:
        return f"malformed field definition ({msg}); field read as raw bytes"
    return f"decoder warning: {msg}"


def _decode_with_fitdecode(data: bytes, name: str, sha: str) -> DecodedFit:
    """The fitdecode path of :func:`decode_fit`: tolerant of damage, notes on what it saw."""
    import fitdecode

    segments: list[_Segment] = []
    notes: list[str] = []
    reader = fitdecode.FitReader(
        io.BytesIO(data),
        check_crc=fitdecode.CrcCheck.WARN,
        error_handling=fitdecode.ErrorHandling.WARN,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        damaged_at = _read_frames(reader, name, segments, notes)
    notes.extend(_warning_note(str(w.message)) for w in caught)
    _require_activity(name, segments, notes, damaged_at)
    return DecodedFit(name, sha, segments, notes, damaged_at)


def _require_activity(
    name: str, segments: list[_Segment], notes: list[str], damaged_at: int | None
) -> None:
    """Refuse a decode that holds no activity data: not an activity file, or damaged early."""
    if any(s.has_records or s.sessions for s in segments):
        return
    ftype = next((s.file_id.get("type") for s in segments if s.file_id), None)
    if damaged_at is None and ftype not in (None, "activity", 4):
        raise UnsupportedFormatError(
            f"{name}: this is a FIT {ftype!s} file, not an activity (no sessions or records)"
        )
    reason = "no activity records or sessions could be decoded"
    if damaged_at is not None:
        reason = f"damaged before any activity data ({notes[0]})"
    raise CorruptFileError(name, reason, damaged_at if damaged_at is not None else 0)


_COLUMNAR_MESSAGES = ("file_id", "session", "lap", "event", "activity", "set", "sport")


def _segment_from_columnar(c: Any) -> _Segment:
    msgs = c.messages
    return _Segment(
        file_id=(msgs.get("file_id") or [{}])[0],
        sessions=list(msgs.get("session", [])),
        laps=list(msgs.get("lap", [])),
        events=list(msgs.get("event", [])),
        sets=list(msgs.get("set", [])),
        sports=list(msgs.get("sport", [])),
        activity=(msgs.get("activity") or [{}])[-1],
        dev_units=dict(c.dev_units),
        columns=c.records,
    )


def _offset(exc: BaseException, reader: Any) -> int | None:
    off = getattr(exc, "offset", None)
    if isinstance(off, int):
        return off
    off = getattr(reader, "_chunk_offset", None)
    return off if isinstance(off, int) else None


# --------------------------------------------------------------------------- time helpers
# Inside the reader a time is int ns since 1970 (UTC), None when unknown: no pandas on the
# import path. A run's ``meta["start_time"]`` is a UTC datetime (:func:`_utc`).
def _utc(ns: int | None) -> dt.datetime | None:
    return None if ns is None else utc_datetime(ns)


def _to_ns(value: Any, rel_anchor: int | None) -> int | None:
    """A FIT date_time (datetime, or int seconds) as int ns since 1970 (UTC), or None."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return utc_ns(value)
    if isinstance(value, int | float) and np.isfinite(value):
        base = _FIT_EPOCH_NS
        if value < _RELATIVE_TIME_LIMIT and rel_anchor is not None:
            base = rel_anchor
        return base + round(float(value) * _NS)
    return None


def _relative_anchor(seg: _Segment) -> tuple[int | None, str | None]:
    """Anchor for device-relative timestamps (FIT date_time < 0x10000000)."""
    first_rel = None
    if seg.columns is not None:
        ts = seg.columns.get("timestamp", np.zeros(0, dtype=np.int64))
        rel = ts[(ts != _MISSING_TS) & (ts < _RELATIVE_TIME_LIMIT)]
        first_rel = float(rel[0]) if len(rel) else None
    if first_rel is None:
        return None, None
    created = seg.file_id.get("time_created")
    if isinstance(created, dt.datetime):
        anchor = utc_ns(created) - round(first_rel * _NS)
        return anchor, (
            "timestamps are device-relative (no clock); absolute times anchored at the "
            "file's creation time, so start times are approximate"
        )
    return None, (
        "timestamps are device-relative and the file has no creation time: absolute dates "
        "are not known (counted from 1989-12-31)"
    )


# --------------------------------------------------------------------------- run building
def _num(value: Any) -> float:
    value = _scalar(value)
    if value is None or isinstance(value, str | bytes):
        return np.nan
    try:
        out = float(value)
    except (TypeError, ValueError):
        return np.nan
    return out if np.isfinite(out) else np.nan


def _device(file_id: dict[str, Any]) -> tuple[str | None, str | None]:
    manu = file_id.get("manufacturer")
    prod = file_id.get("garmin_product", file_id.get("product"))
    for key in ("garmin_product", "product", "favero_product"):
        if file_id.get(key) is not None:
            prod = file_id[key]
            break
    return (None if manu is None else str(manu)), (None if prod is None else str(prod))


def _sport_name(value: Any) -> str | None:
    if value is None:
        return None
    return str(value).lower() if isinstance(value, str) else str(value)


def _timer_intervals(events: list[dict[str, Any]], rel_anchor: int | None) -> np.ndarray:
    """Timer-running intervals [start, stop] in int64 ns; stop may be +inf (int64 max)."""
    marks = []
    for ev in events:
        if ev.get("event") not in ("timer", 0):
            continue
        t = _to_ns(ev.get("timestamp"), rel_anchor)
        if t is None:
            continue
        et = ev.get("event_type")
        if et in _TIMER_STARTS:
            marks.append((t, 1))
        elif et in _TIMER_STOPS:
            marks.append((t, 0))
    marks.sort(key=lambda m: m[0])
    intervals: list[tuple[int, int]] = []
    open_at: int | None = None
    for t, is_start in marks:
        if is_start and open_at is None:
            open_at = t
        elif not is_start and open_at is not None:
            intervals.append((open_at, t))
            open_at = None
        elif not is_start and not intervals:
            # a stop before any start: the timer was running from the beginning
            intervals.append((_MISSING_TS, t))
    if open_at is not None:
        intervals.append((open_at, _LAST_TS))
    return np.array(intervals, dtype=np.int64).reshape(-1, 2)


def _record_times(seg: _Segment, rel_anchor: int | None) -> np.ndarray:
    """UTC times of a segment's records [int64 ns; int64 min when unknown], file order."""
    missing = _MISSING_TS
    assert seg.columns is not None  # _build_runs gives every segment columns
    raw = seg.columns["timestamp"]
    ts = np.full(len(raw), missing, dtype=np.int64)
    ok = raw != missing
    absolute = ok & (raw >= _RELATIVE_TIME_LIMIT)
    epoch_ns = _FIT_EPOCH_NS
    ts[absolute] = epoch_ns + raw[absolute] * 1_000_000_000
    relative = ok & ~absolute
    base = rel_anchor if rel_anchor is not None else epoch_ns
    ts[relative] = base + raw[relative] * 1_000_000_000
    return ts


def _field(seg: _Segment, key: str) -> np.ndarray | None:
    """One record field of a segment as floats (NaN where absent), None when no record has it."""
    arr = (seg.columns or {}).get(key)
    return None if arr is None else np.asarray(arr, dtype=float)


def _some(arr: np.ndarray | None) -> bool:
    return arr is not None and not np.isnan(arr).all()


def _nan_as_zero(values: np.ndarray) -> np.ndarray:
    """``np.nan_to_num(values, nan=0.0)`` (infinities to the largest floats too), at a
    fifth of its cost when there are none."""
    if values.dtype != np.float64:
        return np.nan_to_num(values, nan=0.0)
    out = np.where(np.isnan(values), 0.0, values)
    return out if np.isfinite(out).all() else np.nan_to_num(values, nan=0.0)


def _records_arrays(
    seg: _Segment, rel_anchor: int | None, foot: bool
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """All records of a segment: UTC times [int64 ns; int64 min when unknown] and the
    canonical columns (file order, unsorted)."""
    ts = _record_times(seg, rel_anchor)
    cols: dict[str, np.ndarray] = {}
    for fit_name, (col, factor) in _RECORD_MAP.items():
        arr = _field(seg, fit_name)
        if arr is not None and _some(arr):
            cols[col] = arr * factor
    for col, sources in _PREFERRED.items():
        merged = None
        for arr in (_field(seg, src) for src in sources):
            if arr is not None:
                merged = arr if merged is None else np.where(np.isnan(merged), arr, merged)
        if merged is not None and _some(merged):
            cols[col] = merged
    cad = _field(seg, "cadence") if foot else None
    if cad is not None and _some(cad):
        frac = _field(seg, "fractional_cadence")
        frac = np.zeros(len(ts)) if frac is None else _nan_as_zero(frac)
        cols["cadence_spm"] = 2.0 * (cad + frac)
    dev_cols = sorted(k for k in (seg.columns or {}) if k.startswith("dev_"))
    for col in dev_cols:
        arr = _field(seg, col)
        if arr is not None and _some(arr):
            cols[col] = arr
    if "power_w" not in cols and "dev_power" in cols:
        if "watt" in seg.dev_units.get("dev_power", "watts").lower():
            cols["power_w"] = cols["dev_power"]
    return ts, cols


def _device_summary(sess: dict[str, Any], sport: str | None) -> dict[str, Any]:
    speed = _num(sess.get("enhanced_avg_speed"))
    if np.isnan(speed):
        speed = _num(sess.get("avg_speed"))
    cad = np.nan
    if sport in FOOT_SPORTS:
        base = _num(sess.get("avg_running_cadence"))
        if np.isnan(base):
            base = _num(sess.get("avg_cadence"))
        frac = _num(sess.get("avg_fractional_cadence"))
        cad = 2.0 * (base + (0.0 if np.isnan(frac) else frac))
    step = _num(sess.get("avg_step_length")) / 1000.0
    strides = _num(sess.get("total_strides", sess.get("total_cycles")))
    out = {
        "distance_m": _num(sess.get("total_distance")),
        "timer_time_s": _num(sess.get("total_timer_time")),
        "elapsed_time_s": _num(sess.get("total_elapsed_time")),
        "avg_speed_mps": speed,
        "avg_cadence_spm": cad,
        "avg_step_length_m": step,
        "total_strides": strides,
        "total_ascent_m": _num(sess.get("total_ascent")),
        "avg_temperature_c": _num(sess.get("avg_temperature")),
    }
    summary: dict[str, Any] = {k: (None if np.isnan(v) else float(v)) for k, v in out.items()}
    summary["raw"] = json_safe(sess)
    return summary


def _local_offset_s(seg: _Segment) -> float | None:
    act = seg.activity
    ts, local = act.get("timestamp"), act.get("local_timestamp")
    if ts is None or local is None:
        return None
    a = _to_ns(ts, None)
    if isinstance(local, dt.datetime):
        b = utc_ns(local.replace(tzinfo=None))
    elif isinstance(local, int | float):
        b = _FIT_EPOCH_NS + round(float(local) * _NS)
    else:
        return None
    if a is None:
        return None
    off = (b - a) / _NS
    # real offsets lie within +-14 h and are whole quarter hours
    if abs(off) > 14 * 3600:
        return None
    return float(round(off / 900.0) * 900.0)


@dataclass
class _SegmentRuns:
    """What every session of one segment shares while its runs are built."""

    dec: DecodedFit
    seg: _Segment
    rel_anchor: int | None
    intervals: Any
    jumps: list[tuple[int, int]]
    sessions: list[dict[str, Any]]
    synthetic: bool
    notes: list[str]
    windows: list[Any] = field(default_factory=list)
    arrays: dict[bool, tuple[np.ndarray, dict[str, np.ndarray]]] = field(default_factory=dict)

    @property
    def starts(self) -> list[Any]:
        return [w[0] for w in self.windows]

    def records(self, foot: bool) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """All records of the segment with the cadence rule of ``foot`` (cached per rule)."""
        if foot not in self.arrays:
            got = (_records_arrays(self.seg, self.rel_anchor, foot) if self.seg.has_records
                   else (np.zeros(0, dtype=np.int64), {}))  # fmt: skip
            if self.jumps:
                got = (_shift_times(got[0], self.jumps), got[1])
            self.arrays[foot] = got
        return self.arrays[foot]

    def select(self, foot: bool, k: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        start, end = self.windows[k]
        return _select_session(*self.records(foot), start, end, self.starts, k, self.synthetic)


def _segment_runs(dec: DecodedFit, seg: _Segment) -> _SegmentRuns:
    """The shared state of one segment: its sessions (one built when none), timer
    intervals, clock jumps and session windows."""
    notes = list(dec.warnings)
    rel_anchor, rel_note = _relative_anchor(seg)
    if rel_note:
        notes.append(rel_note)
    intervals = _timer_intervals(seg.events, rel_anchor)
    sessions = list(seg.sessions)
    synthetic = not sessions
    if synthetic:
        sport = seg.sports[0].get("sport") if seg.sports else None
        sub = seg.sports[0].get("sub_sport") if seg.sports else None
        sessions = [{"sport": sport, "sub_sport": sub}]
        notes.append("no session message (file cut short?): one session built from "
                     "all records; no device summary")  # fmt: skip
    jumps: list[tuple[int, int]] = []
    if seg.has_records:
        first_ts = _record_times(seg, rel_anchor)
        jumps = _clock_jumps(first_ts, seg, rel_anchor)
        for at, shift in jumps:
            notes.append(
                f"the watch's clock jumped forward by {_human_s(shift / 1e9)} mid-session "
                f"at {_utc(at)} (no timer stop, no new session): later "
                "records and events moved back to keep the timeline continuous"
            )
        if jumps:
            intervals = _shift_intervals(intervals, jumps)
    ctx = _SegmentRuns(dec, seg, rel_anchor, intervals, jumps, sessions, synthetic, notes)
    ctx.windows = _session_windows(sessions, seg.laps, intervals, rel_anchor, jumps)
    return ctx


def _fit_seconds(value: Any) -> int:
    """A record's FIT date_time (datetime, or int seconds) as int FIT seconds, or missing."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return round((value - _FIT_EPOCH).total_seconds())
    if isinstance(value, int | float) and np.isfinite(value):
        return int(value)
    return _MISSING_TS


def _with_columns(seg: _Segment) -> _Segment:
    """The segment with its records as columns, as the columnar decoder gives them.

    fitdecode's records are dicts; turning them into columns once (timestamps as raw FIT
    seconds, every other field as floats, NaN where absent) lets both decoders share one
    vectorised run-building path.
    """
    if seg.columns is not None:
        return seg
    recs = seg.records
    keys = dict.fromkeys(k for r in recs for k in r)
    cols: dict[str, np.ndarray] = {
        "timestamp": np.array([_fit_seconds(r.get("timestamp")) for r in recs], dtype=np.int64)
    }
    for key in keys:
        if key != "timestamp":
            cols[key] = np.array([_num(r.get(key)) for r in recs], dtype=np.float64)
    return replace(seg, records=[], columns=cols)


def _build_runs(dec: DecodedFit) -> list[Run]:
    runs: list[Run] = []
    for seg in map(_with_columns, dec.segments):
        if not seg.has_records and not seg.sessions:
            continue
        ctx = _segment_runs(dec, seg)
        for k, sess in enumerate(ctx.sessions):
            runs.append(_session_run(ctx, k, sess, len(runs)))
    return runs


def _session_run(ctx: _SegmentRuns, k: int, sess: dict[str, Any], session_index: int) -> Run:
    """The run of session ``k`` of a segment."""
    seg = ctx.seg
    sport = _sport_name(sess.get("sport"))
    sub_sport = _sport_name(sess.get("sub_sport"))
    foot = sport in FOOT_SPORTS
    notes = list(ctx.notes)
    start, end = ctx.windows[k]
    ts, cols = ctx.select(foot, k)
    if sport in _GENERIC_SPORTS and seg.has_records:
        ts_f, cols_f = ctx.select(True, k)
        share = _running_share(cols_f)
        if share >= RUNNING_SHARE_MIN:
            notes.append(f"sport recorded as {sport!r}, but {share:.0%} of the records "
                         "have running cadence, speed and step length: read as running")  # fmt: skip
            sport, foot, ts, cols = "running", True, ts_f, cols_f
    if not ctx.synthetic:
        left = _left_out(ctx.records(foot)[0], start, end, ctx.starts, k)
        if left:
            notes.append(f"{left} record(s) after the session's end and before the next "
                         "session (or the end of the file) left out of this run")  # fmt: skip
    ts, cols, clean_notes = _clean_times(ts, cols)
    notes += clean_notes
    if start is None:
        start = int(ts[0]) if len(ts) else None
    cols.update(_time_columns(ts, start, ctx.intervals, notes))
    timer_s, elapsed_s = _session_times(ts, start, end, ctx.intervals)
    # the timer cannot run longer than the session lasted by the device's own clock
    # (FR645m: whole-second events span 2-3 s more than its ms-precise elapsed time)
    dev_elapsed = _num(sess.get("total_elapsed_time"))
    if np.isfinite(dev_elapsed) and dev_elapsed > 0 and timer_s > dev_elapsed:
        timer_s = dev_elapsed
    recs = record_columns(ts, cols, sub_sport=sub_sport)
    manufacturer, product = _device(seg.file_id)
    meta = {
        "source": ctx.dec.source,
        "sha256": ctx.dec.sha256,
        "format": "fit",
        "decoder": ctx.dec.decoder,
        "session_index": session_index,
        "sport": sport,
        "sub_sport": sub_sport,
        "manufacturer": manufacturer,
        "product": product,
        "device": None if manufacturer is None else f"{manufacturer}/{product}",
        "start_time": _utc(start),
        "utc_offset_s": _local_offset_s(seg),
        "device_summary": None if ctx.synthetic else _device_summary(sess, sport),
        "timer_time_s": timer_s,
        "elapsed_time_s": elapsed_s,
        "dev_field_units": {c: u for c, u in seg.dev_units.items() if c in recs.data},
        "sets": [json_safe(s) for s in seg.sets if _in_window(s, start, end, ctx.rel_anchor)],
        "warnings": notes,
    }
    # the laps frame is built when asked for: the importer never asks
    laps = functools.partial(_laps_frame, seg.laps, start, end, ctx.rel_anchor)
    return Run(records=recs, laps=laps, meta=meta)


#: A forward step between consecutive records longer than this, with the timer running
#: across it and no session starting inside it, is the watch's clock jumping (an FR225
#: jumped 20 days mid-run), not time that passed. [s]
CLOCK_JUMP_MIN_S = 3600.0


def _human_s(seconds: float) -> str:
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds:.0f} s"


def _clock_jumps(ts: np.ndarray, seg: _Segment, rel_anchor: int | None) -> list[tuple[int, int]]:
    """Forward clock jumps among a segment's records (file order): ``(time of the first
    record after the jump [ns, jumped clock], shift to take off [ns])``."""
    missing = _MISSING_TS
    ok = np.flatnonzero(ts != missing)
    if len(ok) < 3:
        return []
    t = ts[ok]
    d = np.diff(t)
    big = np.flatnonzero(d > CLOCK_JUMP_MIN_S * 1e9)
    if not len(big):
        return []
    pos = d[d > 0]
    step = int(np.median(pos)) if len(pos) else 1_000_000_000
    stops = []
    for ev in seg.events:
        if ev.get("event") in ("timer", 0) and ev.get("event_type") in _TIMER_STOPS:
            e = _to_ns(ev.get("timestamp"), rel_anchor)
            if e is not None:
                stops.append(e)
    sess_starts = [x for x in (_to_ns(s.get("start_time"), rel_anchor)
                               for s in seg.sessions) if x is not None]  # fmt: skip
    out = []
    for i in big:
        a, b = int(t[i]), int(t[i + 1])
        if any(a <= x < b for x in stops) or any(a < x <= b for x in sess_starts):
            continue  # a pause or the next session: real time passed
        out.append((b, b - a - step))
    return out


def _shift_times(ts: np.ndarray, jumps: list[tuple[int, int]]) -> np.ndarray:
    """Times with each clock jump taken off the times from it on (missing stay missing)."""
    missing = _MISSING_TS
    out = ts.copy()
    for at, shift in sorted(jumps, reverse=True):
        out = np.where((out != missing) & (out >= at), out - shift, out)
    return out


def _shift_intervals(intervals: np.ndarray, jumps: list[tuple[int, int]]) -> np.ndarray:
    big = _LAST_TS
    if not len(intervals):
        return intervals
    out = intervals.copy()
    for at, shift in sorted(jumps, reverse=True):
        for c in (0, 1):
            col = out[:, c]
            hit = (col != big) & (col != _MISSING_TS) & (col >= at)
            out[:, c] = np.where(hit, col - shift, col)
    return out


def _session_windows(
    sessions: list[dict[str, Any]],
    laps: list[dict[str, Any]],
    intervals: np.ndarray,
    rel_anchor: int | None,
    jumps: list[tuple[int, int]],
) -> list[tuple[int | None, int | None]]:
    """(start, end) of each session from the session, lap and timer-event structure.

    The end is the latest of start + elapsed time (plus a second: records carry whole
    seconds), the session's own timestamp, the end of its last lap and its last timer
    stop, each before the next session starts: a Suunto writes its summary before the
    last lap, an FR255 or FR25 reports an elapsed time shorter than its records span.
    """

    def fix(t: int | None) -> int | None:
        if t is None or not jumps:
            return t
        return int(_shift_times(np.array([t], dtype=np.int64), jumps)[0])

    starts = [fix(_to_ns(s.get("start_time"), rel_anchor)) for s in sessions]
    lap_ends = []
    for lap in laps:
        ls = fix(_to_ns(lap.get("start_time"), rel_anchor))
        le = fix(_to_ns(lap.get("timestamp"), rel_anchor))
        el = _num(lap.get("total_elapsed_time"))
        if ls is not None and not np.isnan(el):
            le_el = ls + round(el * _NS)
            le = max(le, le_el) if le is not None else le_el
        if ls is not None and le is not None:
            lap_ends.append((ls, le))
    big = _LAST_TS
    stops = [int(x) for x in intervals[:, 1] if x != big] if len(intervals) else []
    windows = []
    for k, sess in enumerate(sessions):
        start = starts[k]
        nxt = min((s for s in starts[k + 1 :] if s is not None and start is not None
                   and s > start), default=None)  # fmt: skip
        cands = []
        elapsed = _num(sess.get("total_elapsed_time"))
        if start is not None and not np.isnan(elapsed):
            cands.append(start + (int(np.ceil(elapsed)) + 1) * _NS)
        stamp = fix(_to_ns(sess.get("timestamp"), rel_anchor))
        if stamp is not None and (start is None or stamp >= start):
            cands.append(stamp)
        if start is not None:
            cands += [le for ls, le in lap_ends if ls >= start and (nxt is None or ls < nxt)]
            cands += [x for x in stops if x >= start and (nxt is None or x < nxt)]
        end = max(cands) if cands else None
        if end is not None and nxt is not None and end >= nxt:
            end = nxt - 1
        windows.append((start, end))
    return windows


def _left_out(
    ts: np.ndarray,
    start: int | None,
    end: int | None,
    starts: list[int | None],
    k: int,
) -> int:
    """Records after session ``k``'s end and before the next session's start (after the
    first session, records before its start too): read by no run."""
    if end is None:
        return 0
    ok = ts != _MISSING_TS
    later = [s for s in starts[k + 1 :] if s is not None and start is not None and s > start]
    hi = min(later) if later else _LAST_TS
    n = int((ok & (ts > end) & (ts < hi)).sum())
    if k == 0 and start is not None:
        n += int((ok & (ts < start)).sum())
    return n


def _in_window(msg: dict[str, Any], start: Any, end: Any, rel_anchor: Any) -> bool:
    t = _to_ns(msg.get("start_time", msg.get("timestamp")), rel_anchor)
    if t is None or start is None:
        return True
    return bool(t >= start and (end is None or t <= end))


def _select_session(
    ts: np.ndarray,
    cols: dict[str, np.ndarray],
    start: int | None,
    end: int | None,
    starts: list[int | None],
    k: int,
    synthetic: bool,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The records of session ``k``: those between its start and end."""
    if synthetic or (start is None and end is None):
        return ts, dict(cols)
    mask = np.ones(len(ts), dtype=bool)
    if start is not None:
        mask &= ts >= start
    if end is not None:
        mask &= ts <= end
    # a record on the boundary of the next session belongs to the next session
    later = [s for j, s in enumerate(starts) if j > k and s is not None and start is not None
             and s > start]  # fmt: skip
    if later:
        mask &= ts < min(later)
    if mask.all():  # one session holding every record: no copies (~0.1 ms a run)
        return ts, dict(cols)
    return ts[mask], {c: v[mask] for c, v in cols.items()}


def _clean_times(
    ts: np.ndarray, cols: dict[str, np.ndarray]
) -> tuple[np.ndarray, dict[str, np.ndarray], list[str]]:
    """Drop records without a time, sort records out of order, merge records sharing a time
    (per column, the last value that is not NaN)."""
    notes: list[str] = []
    valid = ts != _MISSING_TS
    if not valid.all():
        notes.append(f"{int((~valid).sum())} record(s) without a timestamp dropped")
        ts, cols = ts[valid], {c: v[valid] for c, v in cols.items()}
    if len(ts) > 1:
        d = np.diff(ts)
        if (d < 0).any():
            notes.append(f"{int((d < 0).sum())} record(s) out of time order: sorted")
            order = np.argsort(ts, kind="stable")
            ts, cols = ts[order], {c: v[order] for c, v in cols.items()}
            d = np.diff(ts)
        if (d == 0).any():
            new_group = np.concatenate(([True], d != 0))
            notes.append(f"{int((~new_group).sum())} record(s) sharing a timestamp merged")
            group = np.cumsum(new_group) - 1
            merged = {}
            for c, v in cols.items():
                out = np.full(int(group[-1]) + 1, np.nan)
                at = np.flatnonzero(~np.isnan(v))
                last = np.concatenate((group[at][1:] != group[at][:-1], [True])) if len(at) else at
                out[group[at][last]] = v[at][last]
                merged[c] = out
            ts, cols = ts[new_group], merged
    return ts, cols, notes


def _time_columns(
    ts: np.ndarray, start: int | None, intervals: np.ndarray, notes: list[str]
) -> dict[str, np.ndarray]:
    """``elapsed_s``, ``timer_s`` and ``timer_running`` of each record."""
    n = len(ts)
    if start is None or n == 0:
        return {"elapsed_s": np.zeros(n), "timer_s": np.zeros(n),
                "timer_running": np.ones(n, dtype=bool)}  # fmt: skip
    s0 = start
    elapsed = (ts - s0) / 1e9
    if len(intervals):
        lo = intervals[:, 0][None, :]
        hi = intervals[:, 1][None, :]
        running = ((ts[:, None] >= lo) & (ts[:, None] <= hi)).any(axis=1)
        # timer time accrued up to each record: overlap of [s0, t] with every interval
        a = np.maximum(lo, s0)
        b = np.minimum(hi, ts[:, None])
        timer = np.clip(b - a, 0, None).sum(axis=1) / 1e9
        if not running.any():
            notes.append("timer events do not cover this session: all its records used")
            running = np.ones(n, dtype=bool)
            timer = elapsed.copy()
    else:
        running = np.ones(n, dtype=bool)
        timer = elapsed.copy()
    return {"elapsed_s": elapsed, "timer_s": timer.astype(float), "timer_running": running}


#: Sports that say nothing of what was done (FIT ``generic``, enum 0).
_GENERIC_SPORTS = frozenset({"generic", "0"})
#: Share of records that must look like running for a generic session to be read as a run.
RUNNING_SHARE_MIN = 0.7


def _running_share(cols: dict[str, np.ndarray]) -> float:
    """Share of records with cadence, speed and step length all in running ranges:
    140-220 steps/min, 1.8-7 m/s, 0.6-1.8 m per step. Walks fail on cadence and speed, rides
    (cadence read as strides: 60-100 rpm x 2) fail on step length or speed."""
    cad, speed = cols.get("cadence_spm"), cols.get("speed_mps")
    if cad is None or speed is None or not len(cad):
        return 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        step = speed / (cad / 60.0)
        ok = ((cad >= 140) & (cad <= 220) & (speed >= 1.8) & (speed <= 7.0)
              & (step >= 0.6) & (step <= 1.8))  # fmt: skip
    return float(ok.sum() / len(cad))


def _session_times(
    ts: np.ndarray, start: int | None, end: int | None, intervals: np.ndarray
) -> tuple[float, float]:
    """Timer and elapsed time of a session from its timer events and records. [s]

    The session runs from its start to the later of its last record and its last timer
    stop inside the session window (a watch may stop writing records seconds before the
    timer stops: FR25). Timer time is the overlap of the timer-running intervals with that
    span, so it never exceeds the elapsed time. NaN without a start or records.
    """
    if start is None or len(ts) == 0:
        return float("nan"), float("nan")
    s0 = start
    stop = int(ts[-1])
    big = _LAST_TS
    if len(intervals):
        hi = intervals[:, 1]
        inside = (hi != big) & (hi >= s0) & (hi <= (end if end is not None else stop))
        if inside.any():
            stop = max(stop, int(hi[inside].max()))
        lo = np.maximum(intervals[:, 0], s0)
        timer = float(np.clip(np.minimum(hi, stop) - lo, 0, None).sum() / 1e9)
        if timer <= 0:  # the events belong to another session of the file: no pauses known
            timer = (stop - s0) / 1e9
    else:
        timer = (stop - s0) / 1e9
    elapsed = (stop - s0) / 1e9
    return min(timer, elapsed), elapsed


def _laps_frame(
    laps: list[dict[str, Any]], start: Any, end: Any, rel_anchor: int | None
) -> pd.DataFrame:
    rows = []
    for lap in laps:
        ls = _to_ns(lap.get("start_time"), rel_anchor)
        if start is not None and ls is not None and (ls < start or (end is not None and ls > end)):
            continue
        sport = _sport_name(lap.get("sport"))
        cad = np.nan
        base = _num(lap.get("avg_running_cadence", lap.get("avg_cadence")))
        if sport in FOOT_SPORTS or "avg_running_cadence" in lap:
            frac = _num(lap.get("avg_fractional_cadence"))
            cad = 2.0 * (base + (0.0 if np.isnan(frac) else frac))
        speed = _num(lap.get("enhanced_avg_speed"))
        if np.isnan(speed):
            speed = _num(lap.get("avg_speed"))
        rows.append(
            {
                "start_time": ls,
                "elapsed_time_s": _num(lap.get("total_elapsed_time")),
                "timer_time_s": _num(lap.get("total_timer_time")),
                "distance_m": _num(lap.get("total_distance")),
                "avg_speed_mps": speed,
                "avg_cadence_spm": cad,
                "avg_step_length_m": _num(lap.get("avg_step_length")) / 1000.0,
            }
        )
    columns = ["start_time", "elapsed_time_s", "timer_time_s", "distance_m", "avg_speed_mps",
               "avg_cadence_spm", "avg_step_length_m"]  # fmt: skip
    if not rows:
        return pd.DataFrame(rows, columns=columns)
    # by column, the numbers as float arrays: only start_time goes through type inference
    data: dict[str, Any] = {
        "start_time": [None if r["start_time"] is None else pd.Timestamp(r["start_time"], tz="UTC")
                       for r in rows]
    }  # fmt: skip
    for col in columns[1:]:
        data[col] = np.array([r[col] for r in rows], dtype=float)
    return pd.DataFrame(data)


def read_fit(
    source: Source,
    *,
    sport: str | Iterable[str] | None = None,
    name: str | None = None,
    fast: bool = True,
) -> list[Run]:
    """Read every session of a FIT activity file as a :class:`~stridekeeper.schema.Run`.

    Parameters
    ----------
    source
        Path (``.fit`` or ``.fit.gz``), bytes, binary file object or an opened source
        (:func:`~stridekeeper.io.source.open_source`).
    sport
        Keep only sessions of this sport (or these sports), e.g. ``"running"``. ``None``
        keeps all; ``session_index`` always counts every session of the file.
    name
        How to name the file in messages and ``meta['source']`` (default: the path).
    fast
        Use the columnar decoder where it applies (see :func:`decode_fit`);
        ``meta['decoder']`` says which decoder read the file.

    Returns
    -------
    list of Run
        One per session, in file order. Damage that could be recovered from is reported
        with a :class:`~stridekeeper.errors.DataQualityWarning` and in ``meta['warnings']``.

    Raises
    ------
    CorruptFileError
        Nothing usable could be decoded (the message names the file and byte offset).
    UnsupportedFormatError
        The bytes are not a FIT file.
    """
    return runs_from_decoded(decode_fit(source, name=name, fast=fast), sport=sport)


def runs_from_decoded(dec: DecodedFit, *, sport: str | Iterable[str] | None = None) -> list[Run]:
    """The runs of a decoded FIT file (:func:`decode_fit`), as :func:`read_fit` gives them.

    For callers that decode once and use the messages for more than runs; ``dec`` is not
    modified.
    """
    try:
        runs = _build_runs(dec)
    except StridekeeperError:
        raise
    except Exception as exc:  # a damaged file must never leak a raw exception
        log.debug("building runs from %s failed", dec.source, exc_info=True)
        raise CorruptFileError(
            dec.source, f"inconsistent FIT content ({type(exc).__name__}: {exc})", dec.damaged_at
        ) from exc
    # file-level notes are shared by every session: say each once
    warn_notes(runs, dec.source)
    return filter_sport(runs, sport)
