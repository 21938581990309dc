"""Apple Health exports (``export.xml`` or the ``export.zip`` the Health app shares).

The export holds every sample of a person's life (often gigabytes), so it is streamed with
defusedxml's hardened expat SAX reader, twice: the first pass collects the workouts (they
come after the samples), the second the samples inside the running workouts' time spans.
Nothing else is kept, so memory stays flat in the file size (see ``benchmarks/``).

Running workouts (``HKWorkoutActivityTypeRunning``) become :class:`~stridekeeper.schema.Run`
objects, one row per sample time inside the workout:

===========================  =========  =====================================================
column                       unit       Apple Health source (``Record`` samples)
===========================  =========  =====================================================
``elapsed_s``                s          sample time - workout ``startDate``
``timer_s``                  s          elapsed time minus the workout's pauses
``timer_running``            bool       outside ``WorkoutEvent`` pause/resume intervals
``distance_m``               m          ``DistanceWalkingRunning`` (km, mi, m...), each
                                        sample spread evenly over its interval, cumulated
``speed_mps``                m/s        ``RunningSpeed`` (km/hr, m/s, mi/hr), else distance
                                        sample / its interval
``cadence_spm``              steps/min  ``StepCount`` / its interval x 60 (no cadence type)
``step_length_m``            m          ``RunningStrideLength`` (ONE step, m)
``heart_rate_bpm``           1/min      ``HeartRate`` (count/min)
``stance_time_ms``           ms         ``RunningGroundContactTime`` (ms)
``vertical_oscillation_mm``  mm         ``RunningVerticalOscillation`` (cm x 10)
``power_w``                  W          ``RunningPower``
===========================  =========  =====================================================

Samples are converted by their own ``unit`` attribute. When the workout's own source (the
watch) wrote samples of a kind, only those are used: the phone counts the same steps and
metres in parallel and summing both would double them. A point sample (heart rate, speed,
step length) holds for up to 15 s.

The device summary comes from the ``Workout`` element: ``duration`` (timer time),
``totalDistance`` or its ``WorkoutStatistics``, steps and averages from
``WorkoutStatistics``, ascent and temperature from its metadata. Dates such as
``2026-03-02 07:00:00 +0100`` carry the export's own offset: it gives ``utc_offset_s`` and
mobility sessions' local dates. The export's ``locale``, ``ExportDate`` and ``Me`` are
recorded in ``meta['apple_health']``.

Mobility workouts (:data:`MOBILITY_TYPES`) are read by :func:`read_apple_health_mobility`
into the canonical mobility-session table.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import functools
import hashlib
import io
import logging
import re
import shutil
import tempfile
import zipfile
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any, cast
from xml.sax.handler import ContentHandler

import numpy as np

from ..errors import CorruptFileError, StridekeeperError, UnsupportedFormatError
from ..jsonsafe import json_safe
from ..schema import Run, sessions_table, validate_sessions
from ._xml import XmlDamage, looks_like_xml, sax_feed, sniff_root
from .geo import attach_grade
from .records import (
    device_summary,
    empty_laps,
    empty_records,
    filter_sport,
    finalize_records,
    warn_notes,
)
from .source import Opened, Source, is_zip, zip_member_names

if TYPE_CHECKING:
    import pandas as pd
else:
    from ..lazy import pandas as pd

__all__ = [
    "MOBILITY_TYPES",
    "RUN_TYPES",
    "SAMPLE_TYPES",
    "AppleHealthExport",
    "apple_time",
    "export_member",
    "find_export_member",
    "read_apple_health",
    "read_apple_health_export",
    "read_apple_health_mobility",
    "sniff",
]

log = logging.getLogger(__name__)

_HK = "HKQuantityTypeIdentifier"
#: Sample types read inside running workouts -> internal kind.
SAMPLE_TYPES: dict[str, str] = {
    f"{_HK}RunningStrideLength": "stride",
    f"{_HK}RunningSpeed": "speed",
    f"{_HK}StepCount": "steps",
    f"{_HK}RunningGroundContactTime": "gct",
    f"{_HK}RunningVerticalOscillation": "vo",
    f"{_HK}DistanceWalkingRunning": "distance",
    f"{_HK}HeartRate": "hr",
    f"{_HK}RunningPower": "power",
}
#: Workout types that become runs -> (sport, sub_sport).
RUN_TYPES: dict[str, tuple[str, str | None]] = {
    "HKWorkoutActivityTypeRunning": ("running", None),
    "HKWorkoutActivityTypeWalking": ("walking", None),
    "HKWorkoutActivityTypeHiking": ("hiking", None),
}
#: Workout types that are mobility sessions.
MOBILITY_TYPES = frozenset({
    "HKWorkoutActivityTypeFlexibility", "HKWorkoutActivityTypeYoga",
    "HKWorkoutActivityTypePilates", "HKWorkoutActivityTypePreparationAndRecovery",
    "HKWorkoutActivityTypeCooldown", "HKWorkoutActivityTypeMindAndBody",
})  # fmt: skip

#: unit -> factor to the canonical unit of the kind's quantity.
_LENGTH_M = {"m": 1.0, "km": 1000.0, "mi": 1609.344, "ft": 0.3048, "cm": 0.01, "mm": 0.001,
             "yd": 0.9144, "in": 0.0254}  # fmt: skip
_SPEED_MPS = {"m/s": 1.0, "km/hr": 1 / 3.6, "km/h": 1 / 3.6, "mi/hr": 0.44704, "mph": 0.44704,
              "m/min": 1 / 60.0, "ft/s": 0.3048}  # fmt: skip
_TIME_MS = {"ms": 1.0, "s": 1000.0, "min": 60000.0}
_RATE_PER_MIN = {"count/min": 1.0, "count/s": 60.0, "Hz": 60.0}
_POWER_W = {"W": 1.0, "kW": 1000.0}
_COUNT = {"count": 1.0}
_FACTORS: dict[str, dict[str, float]] = {
    "stride": _LENGTH_M,
    "distance": _LENGTH_M,
    "vo": {k: v * 1000.0 for k, v in _LENGTH_M.items()},  # -> mm
    "speed": _SPEED_MPS,
    "gct": _TIME_MS,
    "hr": _RATE_PER_MIN,
    "power": _POWER_W,
    "steps": _COUNT,
}
_DURATION_S = {"min": 60.0, "s": 1.0, "sec": 1.0, "hr": 3600.0, "h": 3600.0, "ms": 0.001}
_PAUSES = {"HKWorkoutEventTypePause", "HKWorkoutEventTypeMotionPaused"}
_RESUMES = {"HKWorkoutEventTypeResume", "HKWorkoutEventTypeMotionResumed"}
#: A point sample's value holds this long at other sample times. [s]
HOLD_S = 15.0


# --------------------------------------------------------------------------- dates
_EPOCH = dt.date(1970, 1, 1)


@functools.lru_cache(maxsize=16384)
def _day_s(day: str) -> int:
    return (dt.date.fromisoformat(day) - _EPOCH).days * 86400


@functools.lru_cache(maxsize=256)
def _offset_s(text: str) -> int:
    sign = -1 if text[0] == "-" else 1
    return sign * (int(text[1:3]) * 3600 + int(text[3:5]) * 60)


def apple_time(text: str | None) -> tuple[int, int] | None:
    """``2026-03-02 07:00:00 +0100`` -> (UTC ns since 1970, UTC offset [s]), or None.

    The fixed layout of the export is parsed by slicing (a million samples take a
    second); anything else goes through pandas (naive times read as UTC).
    """
    if not text:
        return None
    try:
        if len(text) == 25 and text[10] == " " and text[19] == " " and text[20] in "+-":
            off = _offset_s(text[20:])
            sec = (_day_s(text[:10]) + int(text[11:13]) * 3600 + int(text[14:16]) * 60
                   + int(text[17:19]) - off)  # fmt: skip
            return sec * 1_000_000_000, off
        ts = pd.Timestamp(text)
    except (ValueError, TypeError, OverflowError):
        return None
    if pd.isna(ts):
        return None
    off = ts.utcoffset()
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return int(ts.as_unit("ns").value), int(off.total_seconds()) if off is not None else 0


# --------------------------------------------------------------------------- sources
def find_export_member(names: Iterable[str]) -> str | None:
    """The ``export.xml`` member of an Apple Health zip (``apple_health_export/export.xml``
    or any ``*/export.xml``; never ``export_cda.xml``), or None."""
    names = list(names)
    for n in names:
        if n.replace("\\", "/") == "apple_health_export/export.xml":
            return n
    for n in names:
        base = n.replace("\\", "/").rsplit("/", 1)[-1]
        if base.lower() == "export.xml":
            return n
    return None


def _root_members(names: Iterable[str]) -> list[str]:
    """``export.xml`` members at an export's root (``export.xml``, ``<folder>/export.xml``),
    Apple's own folder name first."""
    out = []
    for n in names:
        parts = PurePosixPath(n.replace("\\", "/")).parts
        if parts and parts[-1].lower() == "export.xml" and len(parts) <= 2:
            out.append(n)
    return sorted(out, key=lambda n: n.replace("\\", "/") != "apple_health_export/export.xml")


def export_member(zf: zipfile.ZipFile) -> str | None:
    """The member of a zip that is an Apple Health export: ``export.xml`` at the export's
    root whose document is ``<HealthData>``; None when there is none."""
    for n in _root_members(zf.namelist()):
        try:
            with zf.open(n) as fh:
                head = fh.read(4096)
        except Exception:  # a damaged member is not evidence
            continue
        if sniff_root(head) == "HealthData":
            return n
    return None


def sniff(head: bytes) -> bool:
    """True when the first bytes start an Apple Health export: an XML document whose root
    is ``<HealthData>`` (or its DOCTYPE), or a zip holding one (:func:`export_member`; with
    only the archive's start, an ``export.xml`` at the root among the names found there)."""
    if is_zip(head):
        try:
            with zipfile.ZipFile(io.BytesIO(head)) as zf:
                return export_member(zf) is not None
        except (zipfile.BadZipFile, ValueError, OSError, EOFError):
            names, _ = zip_member_names(head)
            return bool(_root_members(names)) or any("apple_health_export" in n for n in names)
    return sniff_root(head) == "HealthData"


class _Source:
    """Re-openable binary stream of the export's XML (plain, ``.gz`` or inside a zip)."""

    def __init__(self, source: Source, name: str | None):
        self._tmp: Any = None
        self._sha: str | None = None
        self._bytes: bytes | None = None
        self._path: Path | None = None
        if isinstance(source, Opened):  # opened by the dispatcher: inflated, hashed
            self._bytes = source.data
            self.name = name or source.name
            self._sha = source.sha256
        elif isinstance(source, bytes | bytearray | memoryview):
            self._bytes = bytes(source)
            self.name = name or "<bytes>"
        elif isinstance(source, str | PathLike):
            self._bytes, self._path = None, Path(source)
            self.name = name or str(source)
            if not self._path.exists():
                raise StridekeeperError(f"{self.name}: no such file")
            if self._path.is_dir():
                raise StridekeeperError(f"{self.name}: is a folder, not a file")
        elif hasattr(source, "read"):
            self.name = name or str(getattr(source, "name", "<stream>"))
            # spool to disk, not memory: the stream may be gigabytes
            self._tmp = tempfile.TemporaryFile()
            shutil.copyfileobj(source, self._tmp, 1 << 20)
            self._bytes, self._path = None, None
        else:
            raise TypeError(f"expected a path, bytes or a file object, got {type(source).__name__}")
        with self._raw() as fh:
            head = fh.read(4)
        self.kind = "zip" if head[:2] == b"PK" else ("gzip" if head[:2] == b"\x1f\x8b" else "xml")
        self.member: str | None = None
        if self.kind == "zip":
            try:
                with self._raw() as fh, zipfile.ZipFile(fh) as zf:
                    self.member = export_member(zf)
                    names = zf.namelist()
            except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
                raise CorruptFileError(self.name, f"damaged zip archive ({exc})") from None
            if self.member is None:
                shown = ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")
                raise UnsupportedFormatError(
                    f"{self.name}: a zip archive without an Apple Health export.xml (members: "
                    f"{shown or 'none'}); unzip it and read the activity files inside"
                )

    @contextlib.contextmanager
    def _raw(self) -> Iterator[IO[bytes]]:
        if self._bytes is not None:
            yield io.BytesIO(self._bytes)
        elif self._path is not None:
            try:
                fh = open(self._path, "rb")
            except OSError as exc:
                raise StridekeeperError(
                    f"{self.name}: cannot read ({exc.strerror or exc})"
                ) from exc
            with fh:
                yield fh
        else:
            self._tmp.seek(0)
            yield self._tmp

    @contextlib.contextmanager
    def open(self) -> Iterator[IO[bytes]]:
        """The XML document as a binary stream (inflated on the fly)."""
        import gzip

        with self._raw() as raw:
            if self.kind == "zip":
                assert self.member is not None  # __init__ refused a zip without one
                try:  # errors opening the archive only; reading errors are the parser's
                    zf = zipfile.ZipFile(raw)
                    member = zf.open(self.member)
                except (zipfile.BadZipFile, ValueError, EOFError, OSError) as exc:
                    raise CorruptFileError(self.name, f"damaged zip archive ({exc})") from None
                with zf, member:
                    yield member
            elif self.kind == "gzip":
                with gzip.GzipFile(fileobj=raw) as gz:
                    yield cast(IO[bytes], gz)
            else:
                yield raw

    def sha256(self) -> str:
        if self._sha is not None:
            return self._sha
        h = hashlib.sha256()
        with self._raw() as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.close()


# --------------------------------------------------------------------------- pass 1
@dataclass
class _Workout:
    attrs: dict[str, str]
    metadata: dict[str, str] = field(default_factory=dict)
    events: list[tuple[str, str]] = field(default_factory=list)
    stats: dict[str, dict[str, str]] = field(default_factory=dict)


class _WorkoutPass(ContentHandler):
    """First pass: export header and the workouts worth keeping."""

    def __init__(self, name: str, keep: frozenset[str]):
        super().__init__()
        self.name = name
        self.keep = keep
        self.root: str | None = None
        self.header: dict[str, Any] = {}
        self.workouts: list[_Workout] = []
        self.other_workouts = 0
        self._cur: _Workout | None = None

    def startElement(self, name: str, attrs: Any) -> None:
        if self.root is None:
            self.root = name
            if name != "HealthData":
                raise UnsupportedFormatError(f"{self.name}: not an Apple Health export (root "
                                             f"element <{name}>, expected <HealthData>)")  # fmt: skip
            self.header["locale"] = attrs.get("locale")
            return
        if name == "Record":
            return
        cur = self._cur
        if name == "Workout":
            if attrs.get("workoutActivityType") in self.keep:
                self._cur = _Workout(attrs=dict(attrs.items()))
            else:
                self.other_workouts += 1
        elif cur is not None:
            if name == "MetadataEntry":
                cur.metadata[attrs.get("key", "")] = attrs.get("value", "")
            elif name == "WorkoutEvent":
                cur.events.append((attrs.get("type", ""), attrs.get("date", "")))
            elif name == "WorkoutStatistics":
                cur.stats[attrs.get("type", "")] = dict(attrs.items())
        elif name == "ExportDate":
            self.header["export_date"] = attrs.get("value")
        elif name == "Me":
            self.header["me"] = {k.removeprefix("HKCharacteristicTypeIdentifier"): v
                                 for k, v in attrs.items()}  # fmt: skip

    def endElement(self, name: str) -> None:
        if name == "Workout" and self._cur is not None:
            self.workouts.append(self._cur)
            self._cur = None


# --------------------------------------------------------------------------- pass 2
class _Buffer:
    """Samples of one kind inside one workout, packed (26 bytes a sample, not ~200)."""

    __slots__ = ("end", "source", "start", "value")

    def __init__(self) -> None:
        self.start = array("q")
        self.end = array("q")
        self.value = array("d")
        self.source = array("I")


class _SamplePass(ContentHandler):
    """Second pass: samples of the wanted types overlapping a workout's span."""

    def __init__(self, spans: list[tuple[int, int]]):
        super().__init__()
        order = sorted(range(len(spans)), key=lambda i: spans[i][0])
        self.order = order
        self.starts = [spans[i][0] for i in order]
        self.ends = [spans[i][1] for i in order]
        self.samples: list[dict[str, _Buffer]] = [{} for _ in spans]
        self.source_ids: dict[str, int] = {}
        self.bad_units: dict[tuple[str, str], int] = {}
        self.bad_dates = 0

    def startElement(self, name: str, attrs: Any) -> None:
        if name != "Record":
            return
        kind = SAMPLE_TYPES.get(attrs.get("type"))
        if kind is None:
            return
        s = apple_time(attrs.get("startDate"))
        e = apple_time(attrs.get("endDate"))
        if s is None or e is None:
            self.bad_dates += 1
            return
        s_ns, e_ns = s[0], e[0]
        i = bisect.bisect_right(self.starts, e_ns) - 1
        hit = None
        while i >= 0:  # spans rarely overlap: look back only while they could
            if s_ns <= self.ends[i]:
                hit = self.order[i]
                break
            if i == 0 or self.ends[i - 1] < s_ns:
                break
            i -= 1
        if hit is None:
            return
        unit = attrs.get("unit", "")
        factor = _FACTORS[kind].get(unit)
        if factor is None:
            self.bad_units[(kind, unit)] = self.bad_units.get((kind, unit), 0) + 1
            return
        try:
            value = float(attrs.get("value", "nan")) * factor
        except ValueError:
            return
        src = attrs.get("sourceName", "")
        sid = self.source_ids.setdefault(src, len(self.source_ids))
        buf = self.samples[hit].get(kind)
        if buf is None:
            buf = self.samples[hit][kind] = _Buffer()
        buf.start.append(s_ns)
        buf.end.append(e_ns)
        buf.value.append(value)
        buf.source.append(sid)


# --------------------------------------------------------------------------- building
def _num(text: Any) -> float:
    try:
        out = float(text)
    except (TypeError, ValueError):
        return float("nan")
    return out if np.isfinite(out) else float("nan")


def _quantity(text: str | None, factors: dict[str, float]) -> float:
    """``"4520 cm"`` -> 45.2 with ``factors`` = length in m."""
    if not text:
        return float("nan")
    m = re.fullmatch(r"\s*([-+]?\d+(?:\.\d+)?)\s*([A-Za-z/]+)\s*", text)
    if not m or m.group(2) not in factors:
        return float("nan")
    return float(m.group(1)) * factors[m.group(2)]


def _temperature_c(text: str | None) -> float:
    if not text:
        return float("nan")
    m = re.fullmatch(r"\s*([-+]?\d+(?:\.\d+)?)\s*(degF|degC|K)\s*", text)
    if not m:
        return float("nan")
    v = float(m.group(1))
    return {"degF": (v - 32.0) * 5.0 / 9.0, "degC": v, "K": v - 273.15}[m.group(2)]


def _device(text: str | None) -> tuple[str | None, str | None]:
    """Manufacturer and model from ``<<HKDevice: 0x..>, name:Apple Watch, ..., hardware:Watch6,2>``."""
    if not text:
        return None, None
    fields = dict(re.findall(r"(\w+):([^,>]*(?:,\d+)?)", text))
    manu = fields.get("manufacturer", "").strip().lower()
    manufacturer = "apple" if "apple" in manu or "apple" in text.lower() else (manu or None)
    product = (fields.get("hardware") or fields.get("model") or fields.get("name") or "").strip()
    return manufacturer, product or None


def _hold(
    grid: np.ndarray, s: np.ndarray, e: np.ndarray, v: np.ndarray, hold_ns: int
) -> np.ndarray:
    """Value of the latest sample started at or before each grid time, while it lasts."""
    out = np.full(len(grid), np.nan)
    if len(s) == 0:
        return out
    order = np.argsort(s, kind="stable")
    s, e, v = s[order], e[order], v[order]
    idx = np.searchsorted(s, grid, side="right") - 1
    ok = idx >= 0
    j = np.where(ok, idx, 0)
    until = np.maximum(e[j], s[j] + hold_ns)
    ok &= grid <= until
    out[ok] = v[j[ok]]
    return out


def _cumulative(grid: np.ndarray, s: np.ndarray, e: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Cumulative total of interval samples at each grid time, each spread over its span."""
    if len(s) == 0:
        return np.full(len(grid), np.nan)
    order = np.argsort(s, kind="stable")
    s, e, v = s[order], e[order], v[order]
    e = np.maximum(e, s)
    cum = np.cumsum(v)
    prev = np.r_[0.0, cum[:-1]]
    if len(s) < 2 or (s[1:] >= e[:-1]).all():
        x = np.empty(2 * len(s), dtype=np.int64)
        y = np.empty(2 * len(s))
        x[0::2], x[1::2] = s, e
        y[0::2], y[1::2] = prev, cum
        keep = np.r_[True, np.diff(x) > 0]  # zero-length samples: a step, kept once
        return np.interp(grid, x[keep], y[keep], left=0.0)
    ends = np.sort(e)
    return np.interp(grid, ends, np.cumsum(v[np.argsort(e, kind="stable")]), left=0.0)


def _running_intervals(events: list[tuple[str, str]], start: int, end: int) -> np.ndarray:
    marks = []
    for etype, date in events:
        t = apple_time(date)
        if t is None:
            continue
        if etype in _PAUSES:
            marks.append((t[0], 0))
        elif etype in _RESUMES:
            marks.append((t[0], 1))
    marks.sort()
    intervals: list[tuple[int, int]] = []
    open_at: int | None = start
    for at, is_resume in marks:
        if not is_resume and open_at is not None:
            intervals.append((open_at, at))
            open_at = None
        elif is_resume and open_at is None:
            open_at = at
    if open_at is not None:
        intervals.append((open_at, end))
    return np.array(intervals, dtype=np.int64).reshape(-1, 2)


def _build_run(w: _Workout, samples: dict[str, _Buffer], source_names: list[str], k: int,
               name: str, sha: str, header: dict[str, Any], notes: list[str]) -> Run:  # fmt: skip
    notes = list(notes)
    a = w.attrs
    sport, sub = RUN_TYPES[a["workoutActivityType"]]
    if w.metadata.get("HKIndoorWorkout") in ("1", "true"):
        sub = "indoor_running" if sport == "running" else "indoor_walking"
    st = apple_time(a.get("startDate"))
    en = apple_time(a.get("endDate"))
    all_s = [min(b.start) for b in samples.values()]
    all_e = [max(b.end) for b in samples.values()]
    start_ns = st[0] if st else (min(all_s) if all_s else 0)
    end_ns = en[0] if en else (max(all_e) if all_e else start_ns)
    offset = float(st[1]) if st else None
    source_name = a.get("sourceName", "")
    own_id = source_names.index(source_name) if source_name in source_names else -1

    used_sources: dict[str, list[str]] = {}
    left_out: dict[str, int] = {}
    arrays: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for kind, buf in samples.items():
        src = np.frombuffer(buf.source, dtype=np.uint32)
        own = src == own_id
        # the phone counts the same steps and metres in parallel: expected, not a defect
        pick = own if own.any() else np.ones(len(src), dtype=bool)
        used_sources[kind] = sorted({source_names[i] for i in np.unique(src[pick])})
        if own.any() and not own.all():
            left_out[kind] = int((~own).sum())
        s_ns = np.clip(np.frombuffer(buf.start, dtype=np.int64)[pick], start_ns, end_ns)
        e_ns = np.clip(np.frombuffer(buf.end, dtype=np.int64)[pick], start_ns, end_ns)
        arrays[kind] = (s_ns, e_ns, np.frombuffer(buf.value, dtype=np.float64)[pick].copy())

    stats = w.stats
    summary = device_summary(
        raw=json_safe({"workout": a, "metadata": w.metadata, "statistics": stats}),
        **_workout_figures(w, start_ns, end_ns),
    )
    manufacturer, product = _device(a.get("device"))
    meta_common = {
        "source": name,
        "sha256": sha,
        "format": "apple_health",
        "session_index": k,
        "sport": sport,
        "sub_sport": sub,
        "manufacturer": manufacturer or "apple",
        "product": product,
        "device": f"{manufacturer or 'apple'}/{product}",
        "source_name": source_name,
        "start_time": pd.Timestamp(start_ns, tz="UTC").as_unit("ns"),
        "utc_offset_s": offset,
        "device_summary": summary,
        "sample_sources": used_sources,
        "samples_from_other_sources_left_out": left_out,
        "apple_health": dict(header),
    }
    if not arrays:
        notes.append("no samples inside this workout: its figures are the workout's totals")
        meta = {**meta_common, "summary_only": True, "warnings": notes}
        return Run(records=finalize_records(empty_records()), laps=empty_laps(), meta=meta)

    # sample times: every sample's end (point samples: their time), and the start
    times = [np.array([start_ns], dtype=np.int64)]
    for _s, e_ns, _v in arrays.values():
        times.append(e_ns)
    grid = np.unique(np.concatenate(times))
    hold = int(HOLD_S * 1e9)
    cols: dict[str, np.ndarray] = {}
    if "distance" in arrays:
        cols["distance_m"] = _cumulative(grid, *arrays["distance"])
    if "speed" in arrays:
        cols["speed_mps"] = _hold(grid, *arrays["speed"], hold)
        speed_source = "RunningSpeed"
    elif "distance" in arrays:
        s_ns, e_ns, v = arrays["distance"]
        dur = (e_ns - s_ns) / 1e9
        ok = dur >= 1.0
        cols["speed_mps"] = _hold(grid, s_ns[ok], e_ns[ok], v[ok] / dur[ok], 0)
        speed_source = "DistanceWalkingRunning / interval"
    else:
        speed_source = "none"
    if "steps" in arrays:
        s_ns, e_ns, v = arrays["steps"]
        dur = (e_ns - s_ns) / 1e9
        ok = dur >= 1.0
        cols["cadence_spm"] = _hold(grid, s_ns[ok], e_ns[ok], v[ok] / dur[ok] * 60.0, 0)
    for kind, col in (("stride", "step_length_m"), ("hr", "heart_rate_bpm"),
                      ("gct", "stance_time_ms"), ("vo", "vertical_oscillation_mm"),
                      ("power", "power_w")):  # fmt: skip
        if kind in arrays:
            cols[col] = _hold(grid, *arrays[kind], hold)
    frame = pd.DataFrame(cols, index=pd.DatetimeIndex(grid.view("datetime64[ns]"), tz="UTC"))
    frame.index.name = "timestamp"
    intervals = _running_intervals(w.events, start_ns, end_ns)
    t = grid
    lo, hi = intervals[:, 0][None, :], intervals[:, 1][None, :]
    running = ((t[:, None] >= lo) & (t[:, None] <= hi)).any(axis=1) if len(intervals) else \
        np.ones(len(t), dtype=bool)  # fmt: skip
    if len(intervals):
        overlap = np.clip(np.minimum(hi, t[:, None]) - np.maximum(lo, start_ns), 0, None)
        timer = overlap.sum(axis=1) / 1e9
    else:
        timer = (t - start_ns) / 1e9
    frame["elapsed_s"] = (t - start_ns) / 1e9
    frame["timer_s"] = timer.astype(float)
    frame["timer_running"] = running
    records = finalize_records(attach_grade(frame, sub_sport=sub))
    meta = {**meta_common, "summary_only": False, "speed_source": speed_source,
            "pause_inference": {"method": "workout events", "n_pauses": max(len(intervals) - 1, 0)},
            "warnings": notes}  # fmt: skip
    return Run(records=records, laps=empty_laps(), meta=meta)


def _workout_figures(w: _Workout, start_ns: int, end_ns: int) -> dict[str, Any]:
    a, stats = w.attrs, w.stats
    timer = _num(a.get("duration")) * _DURATION_S.get(a.get("durationUnit", "min"), np.nan)
    dist = _num(a.get("totalDistance")) * _LENGTH_M.get(a.get("totalDistanceUnit", ""), np.nan)
    dstat = stats.get(f"{_HK}DistanceWalkingRunning", {})
    if not np.isfinite(dist) and dstat:
        dist = _num(dstat.get("sum")) * _LENGTH_M.get(dstat.get("unit", ""), np.nan)
    steps = _num(stats.get(f"{_HK}StepCount", {}).get("sum"))
    sstat = stats.get(f"{_HK}RunningStrideLength", {})
    step_len = _num(sstat.get("average")) * _LENGTH_M.get(sstat.get("unit", ""), np.nan)
    hstat = stats.get(f"{_HK}HeartRate", {})
    return {
        "distance_m": dist,
        "timer_time_s": timer,
        "elapsed_time_s": (end_ns - start_ns) / 1e9,
        "avg_speed_mps": dist / timer if timer > 0 else np.nan,
        "avg_cadence_spm": steps / timer * 60.0 if timer > 0 else np.nan,
        "avg_step_length_m": step_len,
        "total_strides": steps / 2.0,
        "total_ascent_m": _quantity(w.metadata.get("HKElevationAscended"), _LENGTH_M),
        "avg_temperature_c": _temperature_c(w.metadata.get("HKWeatherTemperature")),
        "avg_heart_rate_bpm": _num(hstat.get("average")),
    }


# --------------------------------------------------------------------------- entry points
def _first_pass(src: _Source, keep: frozenset[str]) -> tuple[_WorkoutPass, list[str]]:
    handler = _WorkoutPass(src.name, keep)
    notes: list[str] = []
    try:
        with src.open() as fh:
            sax_feed(fh, src.name, handler)
    except XmlDamage as exc:
        if handler.root is None:
            try:
                with src.open() as fh:
                    head = fh.read(64)
            except Exception:  # damaged compression: not readable as XML at all
                head = b""
            if not looks_like_xml(head):
                raise UnsupportedFormatError(f"{src.name}: not an Apple Health export (not "
                                             "XML)") from None  # fmt: skip
            raise
        what = "ends early" if exc.truncated else "is malformed"
        where = f" at line {exc.line}" if exc.line is not None else ""
        if not handler.workouts:
            raise CorruptFileError(src.name, f"export.xml {what}{where}, before any workout of "
                                   "the kind asked for (workouts follow the samples in the "
                                   "file)") from None  # fmt: skip
        notes.append(f"export.xml {what}{where}: the {len(handler.workouts)} workout(s) "
                     "complete before it were kept (workouts follow the samples in the file, "
                     "so later ones are lost)")  # fmt: skip
    if handler.root is None:
        raise CorruptFileError(src.name, "empty document")
    return handler, notes


@dataclass(frozen=True, eq=False)
class AppleHealthExport:
    """Everything stridekeeper reads from one Apple Health export, from one streaming pass
    over its workouts (and one over the samples inside the running workouts).

    Attributes
    ----------
    runs
        The foot workouts asked for, as :func:`read_apple_health` returns them.
    sessions
        The mobility workouts, as :func:`read_apple_health_mobility` returns them.
    """

    runs: list[Run]
    sessions: pd.DataFrame


def _run_types(sport: str | Iterable[str] | None) -> tuple[set[str], frozenset[str]]:
    wanted = {"running"} if sport is None else ({sport} if isinstance(sport, str) else set(sport))
    return wanted, frozenset(t for t, (sp, _) in RUN_TYPES.items() if sp in wanted)


@contextlib.contextmanager
def _reading(source: Source, name: str | None) -> Iterator[_Source]:
    """An export opened for reading, closed after; damaged content that raises anything but
    a StridekeeperError becomes the file's one clear error (never a raw exception)."""
    src = _Source(source, name)
    try:
        yield src
    except StridekeeperError:
        raise
    except Exception as exc:
        raise _unreadable(src, exc) from exc
    finally:
        src.close()


def read_apple_health_export(
    source: Source,
    *,
    name: str | None = None,
    sport: str | Iterable[str] | None = None,
) -> AppleHealthExport:
    """Read the runs and the mobility workouts of an Apple Health export at once.

    The workouts are streamed once for both (then the samples once, for the runs), where
    :func:`read_apple_health` and :func:`read_apple_health_mobility` called one after the
    other would stream the workouts twice.

    Parameters
    ----------
    source, name, sport
        As for :func:`read_apple_health`.

    Returns
    -------
    AppleHealthExport
        ``runs`` and ``sessions``.

    Raises
    ------
    UnsupportedFormatError
        Not an Apple Health export (or a zip without ``export.xml``).
    CorruptFileError
        Nothing usable (damaged before the first workout), or the XML declares entities.
    """
    wanted, keep = _run_types(sport)
    with _reading(source, name) as src:
        first, notes = _first_pass(src, keep | MOBILITY_TYPES)
        mobility = [w for w in first.workouts if w.attrs.get("workoutActivityType") in
                    MOBILITY_TYPES]  # fmt: skip
        first.workouts = [w for w in first.workouts if w.attrs.get("workoutActivityType") in keep]
        runs = _read_runs(src, first, list(notes))
        table, mobility_notes = _mobility_table(mobility, src.name, list(notes))
    warn_notes(runs, src.name)
    _warn(mobility_notes, src.name)
    return AppleHealthExport(filter_sport(runs, wanted), table)


def read_apple_health(
    source: Source,
    *,
    name: str | None = None,
    sport: str | Iterable[str] | None = None,
) -> list[Run]:
    """Read the running workouts of an Apple Health export as runs.

    Parameters
    ----------
    source
        ``export.xml`` (optionally ``.gz``), the Health app's ``export.zip``, bytes of
        either, a binary file object (copied to a temporary file, not to memory), or an
        opened source (:func:`~stridekeeper.io.source.open_source`).
    name
        How to name the file in messages and ``meta['source']``.
    sport
        ``"running"`` (the default when None), ``"walking"`` or ``"hiking"``, or several:
        the foot workouts to rebuild from the samples. Other workouts are not runs.

    Returns
    -------
    list of Run
        One per workout in file order (``session_index`` counts the selected ones). A
        workout without samples is summary-only (``meta['summary_only']``). ``meta`` adds
        ``source_name``, ``sample_sources``, ``speed_source`` and ``apple_health``
        (``locale``, ``export_date``, ``me``).

    Raises
    ------
    UnsupportedFormatError
        Not an Apple Health export (or a zip without ``export.xml``).
    CorruptFileError
        Nothing usable (damaged before the first workout), or the XML declares entities.
    """
    wanted, keep = _run_types(sport)
    with _reading(source, name) as src:
        first, notes = _first_pass(src, keep)
        runs = _read_runs(src, first, notes)
    warn_notes(runs, src.name)
    return filter_sport(runs, wanted)


def _unreadable(src: _Source, exc: Exception) -> CorruptFileError:
    log.debug("reading %s failed", src.name, exc_info=True)
    return CorruptFileError(src.name, f"unreadable Apple Health export ({type(exc).__name__}: "
                            f"{exc})")  # fmt: skip


def _read_runs(src: _Source, first: _WorkoutPass, notes: list[str]) -> list[Run]:
    """Second pass: the samples inside the kept workouts, then one run per workout."""
    header = dict(first.header)
    workouts = first.workouts
    if not workouts:
        return []
    spans = []
    for w in workouts:
        st, en = apple_time(w.attrs.get("startDate")), apple_time(w.attrs.get("endDate"))
        s = st[0] if st else 0
        spans.append((s, en[0] if en else s))
    second = _SamplePass(spans)
    try:
        with src.open() as fh:
            sax_feed(fh, src.name, second)
    except XmlDamage:
        pass  # reported by the first pass
    if second.bad_units:
        what = ", ".join(f"{k} in {u!r} ({n})" for (k, u), n in second.bad_units.items())
        notes.append(f"samples with units stridekeeper does not convert were left out: {what}")
    if second.bad_dates:
        notes.append(f"{second.bad_dates} sample(s) with unreadable dates left out")
    sha = src.sha256()
    names = list(second.source_ids)
    runs = []
    for k, w in enumerate(workouts):
        runs.append(_build_run(w, second.samples[k], names, k, src.name, sha, header, notes))
        second.samples[k] = {}  # free the packed samples once the run holds them
    return runs


# --------------------------------------------------------------------------- mobility
def _kind_words(activity_type: str) -> str:
    base = activity_type.removeprefix("HKWorkoutActivityType")
    return " ".join(w.lower() for w in re.findall(r"[A-Z][a-z]*", base)) or base.lower()


def _sessions_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return sessions_table([{"regions": (), "planes": (), "drills": (), "rpe": np.nan, **r}
                           for r in rows])  # fmt: skip


def read_apple_health_mobility(
    source: Source, *, name: str | None = None, tz: object = None
) -> pd.DataFrame:
    """Read the mobility workouts of an Apple Health export as canonical sessions.

    Workouts of :data:`MOBILITY_TYPES` (flexibility, yoga, pilates, preparation and
    recovery, cooldown, mind and body) become one row each. Only the workouts are read
    (one streaming pass).

    Parameters
    ----------
    source
        ``export.xml`` (optionally ``.gz``), ``export.zip``, bytes or a binary file object.
    name
        What to record in ``source`` and in messages.
    tz
        Not used: the export's dates carry their own UTC offset (accepted so that every
        mobility reader of the format registry is called alike).

    Returns
    -------
    pandas.DataFrame
        The canonical session table (:data:`~stridekeeper.schema.MOBILITY_COLUMNS`),
        validated, sorted by ``start_time``:

        ============  ======================  ============================================
        column        dtype / unit            from the export
        ============  ======================  ============================================
        session_id    str                     the mobility log's id scheme (sha1 of start,
                                              duration, regions, drills)
        start_time    datetime64[us, UTC]     ``Workout/@startDate``
        local_date    ``datetime.date``       start in the export's own UTC offset
        duration_min  float64 [min]           ``duration`` (``durationUnit``), else
                                              ``endDate - startDate``
        regions       tuple                   ``()`` (Apple records no body regions)
        planes        tuple                   ``()``
        drills        tuple                   ``()``
        rpe           float64                 NaN
        source        str                     ``name`` or the path
        notes         str                     ``"apple health: yoga"``...
        ============  ======================  ============================================

    Raises
    ------
    UnsupportedFormatError
        Not an Apple Health export.
    CorruptFileError
        Damaged before anything could be read, or the XML declares entities.
    """
    with _reading(source, name) as src:
        first, notes = _first_pass(src, MOBILITY_TYPES)
        table, notes = _mobility_table(first.workouts, src.name, notes)
    _warn(notes, src.name)
    return table


def _warn(notes: list[str], name: str) -> None:
    import warnings

    from ..errors import DataQualityWarning

    for note in dict.fromkeys(notes):
        warnings.warn(f"{name}: {note}", DataQualityWarning, stacklevel=3)


def _mobility_table(
    workouts: list[_Workout], name: str, notes: list[str]
) -> tuple[pd.DataFrame, list[str]]:
    """The session table of the mobility workouts, and the notes (skipped workouts added)."""
    rows = []
    for w in workouts:
        a = w.attrs
        st, en = apple_time(a.get("startDate")), apple_time(a.get("endDate"))
        if st is None:
            notes.append(f"a {_kind_words(a.get('workoutActivityType', ''))} workout without "
                         "a readable start date was skipped")  # fmt: skip
            continue
        dur = _num(a.get("duration")) * _DURATION_S.get(a.get("durationUnit", "min"), np.nan)
        if not dur > 0 and en is not None:
            dur = (en[0] - st[0]) / 1e9
        if not dur > 0:
            notes.append("a mobility workout without a positive duration was skipped")
            continue
        start = pd.Timestamp(st[0], tz="UTC")
        local = (start + pd.Timedelta(seconds=st[1])).tz_localize(None)
        rows.append({"start_time": start, "local_date": local.date(),
                     "duration_min": dur / 60.0, "source": name,
                     "notes": f"apple health: {_kind_words(a['workoutActivityType'])}"})  # fmt: skip
    return validate_sessions(_sessions_table(rows)), notes
