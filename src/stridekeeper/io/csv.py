"""Per-second (per-sample) CSV exports: one row per sample, columns recognised by header.

Written by fitparse/fitdecode dumps, GoldenCheetah, Runalyze, spreadsheet exports, phone
apps... The header decides what a column is and, where it says so, its unit:
``speed (km/h)``, ``distance_km``, ``Pace [min/mi]``, ``stride length (cm)``. Where it does
not, the values decide (and the decision is recorded in ``meta['column_units']``).

===========================  =========  =====================================================
column                       unit       recognised headers (case, spaces, ``_`` ignored)
===========================  =========  =====================================================
index ``timestamp``          UTC        timestamp, time, datetime, date; ISO 8601 with or
                                        without offset, epoch s/ms, or ctime with a zone
                                        abbreviation (``Sun Jun 11 07:34:09 PDT 2017``)
``elapsed_s``                s          elapsed, elapsed time, seconds, time (s), or
                                        ``h:mm:ss`` durations (start at ``start_time=``)
``distance_m``               m          distance, dist: m, km, mi (header unit; unitless
                                        is checked against speed, else metres)
``speed_mps``                m/s        speed, velocity, enhanced_speed: m/s, km/h, mph; or
                                        pace: min/km, min/mi, as minutes or ``mm:ss``
``cadence_spm``              steps/min  cadence, cad, run cadence (+ fractional_cadence):
                                        x 2 when per foot (header ``rpm``/``strides/min``, or
                                        median non-zero < 120), x 1 when steps/min
``step_length_m``            m          step length, and "stride length" (Garmin's and
                                        Apple's stride is ONE step; only the canonical
                                        ``stride_length_m`` means two): m, cm, mm (header,
                                        else magnitude)
``heart_rate_bpm``           1/min      heart rate, hr, heartrate, bpm, pulse
``altitude_m``               m          altitude, elevation, ele, alt: m or ft
``latitude_deg``             deg        latitude, lat, position_lat (semicircles converted)
``longitude_deg``            deg        longitude, lon, lng, position_long
``power_w``                  W          power, watts
``temperature_c``            degC       temperature, temp, atemp (degF converted)
``vertical_oscillation_mm``  mm         vertical oscillation: mm or cm
``stance_time_ms``           ms         stance time, ground contact time, gct
``timer_s``/``timer_running``           taken as they are when present
===========================  =========  =====================================================

``column_map`` names columns explicitly, its keys saying the unit
(:data:`COLUMN_MAP_KEYS`): ``{"timestamp": "Time", "speed_mps": "Speed m/s"}``. Mapped
columns win over recognition; the other columns are still recognised.

Without ``timer_s``, pauses are inferred from gaps as for GPX (> 10 s at < 1 m/s). A file
without time, or without any of distance, speed or positions, raises
:class:`~stridekeeper.errors.UnsupportedFormatError` listing the columns found and what is
needed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import CorruptFileError, StridekeeperError, UnsupportedFormatError
from ..schema import Run
from .geo import accel_spikes, attach_grade, gps_distance, speed_from_distance
from .parsing import MISSING_TOKENS, csv_rows, parse_numbers, times_utc
from .records import (
    cadence_convention,
    clean_index,
    empty_laps,
    filter_sport,
    finalize_records,
    infer_timer,
    warn_notes,
)
from .source import Source, csv_header, decode_text, open_source

if TYPE_CHECKING:
    import pandas as pd
else:
    from ..lazy import pandas as pd

__all__ = ["COLUMN_MAP_KEYS", "TZ_ABBREVIATIONS", "read_csv_run", "sniff"]

log = logging.getLogger(__name__)

#: Keys accepted in ``column_map``: canonical name -> (quantity, unit).
COLUMN_MAP_KEYS: dict[str, tuple[str, str]] = {
    "timestamp": ("time", ""),
    "elapsed_s": ("elapsed", "s"),
    "distance_m": ("distance", "m"),
    "distance_km": ("distance", "km"),
    "distance_mi": ("distance", "mi"),
    "speed_mps": ("speed", "m/s"),
    "speed_kmh": ("speed", "km/h"),
    "speed_mph": ("speed", "mph"),
    "pace_min_per_km": ("pace", "min/km"),
    "pace_min_per_mi": ("pace", "min/mi"),
    "cadence_spm": ("cadence", "spm"),
    "cadence_per_foot": ("cadence", "per_foot"),
    "fractional_cadence": ("fractional_cadence", "per_foot"),
    "step_length_m": ("step_length", "m"),
    "step_length_cm": ("step_length", "cm"),
    "step_length_mm": ("step_length", "mm"),
    "stride_length_m": ("stride_length", "m"),
    "heart_rate_bpm": ("heart_rate", "bpm"),
    "altitude_m": ("altitude", "m"),
    "altitude_ft": ("altitude", "ft"),
    "latitude_deg": ("latitude", "deg"),
    "longitude_deg": ("longitude", "deg"),
    "power_w": ("power", "w"),
    "temperature_c": ("temperature", "c"),
    "vertical_oscillation_mm": ("vertical_oscillation", "mm"),
    "stance_time_ms": ("stance_time", "ms"),
}

#: Time-zone abbreviations -> UTC offset [h]. Ambiguous ones (IST, CST in China...) follow
#: the North American / European reading; an unknown abbreviation is read as UTC with a
#: DataQualityWarning.
TZ_ABBREVIATIONS: dict[str, float] = {
    "UTC": 0, "GMT": 0, "Z": 0, "WET": 0, "WEST": 1, "BST": 1, "IST": 1, "CET": 1,
    "CEST": 2, "MET": 1, "MEST": 2, "EET": 2, "EEST": 3, "MSK": 3, "PST": -8, "PDT": -7,
    "MST": -7, "MDT": -6, "CST": -6, "CDT": -5, "EST": -5, "EDT": -4, "AST": -4, "ADT": -3,
    "NST": -3.5, "NDT": -2.5, "AKST": -9, "AKDT": -8, "HST": -10, "JST": 9, "KST": 9,
    "AWST": 8, "ACST": 9.5, "ACDT": 10.5, "AEST": 10, "AEDT": 11, "NZST": 12, "NZDT": 13,
}  # fmt: skip

#: Header words (after normalising) -> quantity.
_ALIASES: dict[str, str] = {
    **dict.fromkeys(["timestamp", "time", "datetime", "date_time", "date", "utc", "time_utc",
                     "local_time", "clock_time", "record_timestamp"], "time"),
    **dict.fromkeys(["elapsed", "elapsed_time", "seconds", "secs", "sec", "time_s",
                     "elapsed_seconds", "secs_elapsed"], "elapsed"),
    **dict.fromkeys(["distance", "dist", "cumulative_distance", "total_distance"], "distance"),
    **dict.fromkeys(["speed", "velocity", "enhanced_speed", "gps_speed"], "speed"),
    **dict.fromkeys(["pace"], "pace"),
    **dict.fromkeys(["cadence", "cad", "run_cadence", "running_cadence", "steps_per_minute",
                     "step_rate", "step_cadence"], "cadence"),
    **dict.fromkeys(["fractional_cadence"], "fractional_cadence"),
    **dict.fromkeys(["step_length", "steplength", "step"], "step_length"),
    **dict.fromkeys(["stride_length", "stridelength", "stride"], "stride_length"),
    **dict.fromkeys(["heart_rate", "heartrate", "hr", "bpm", "pulse"], "heart_rate"),
    **dict.fromkeys(["altitude", "elevation", "ele", "alt", "enhanced_altitude", "height"],
                    "altitude"),
    **dict.fromkeys(["latitude", "lat", "position_lat"], "latitude"),
    **dict.fromkeys(["longitude", "lon", "lng", "long", "position_long"], "longitude"),
    **dict.fromkeys(["power", "watts"], "power"),
    **dict.fromkeys(["temperature", "temp", "atemp"], "temperature"),
    **dict.fromkeys(["vertical_oscillation", "vert_oscillation", "vo"], "vertical_oscillation"),
    **dict.fromkeys(["stance_time", "ground_contact_time", "ground_contact", "gct",
                     "contact_time"], "stance_time"),
    **dict.fromkeys(["timer"], "timer"),
    **dict.fromkeys(["timer_running"], "timer_running"),
}  # fmt: skip

#: Unit words found at the end of a header or in brackets -> normalised unit.
_UNITS: dict[str, str] = {
    "m": "m", "meter": "m", "meters": "m", "metre": "m", "metres": "m",
    "km": "km", "kilometers": "km", "kilometres": "km",
    "mi": "mi", "mile": "mi", "miles": "mi", "ft": "ft", "feet": "ft",
    "cm": "cm", "mm": "mm",
    "s": "s", "sec": "s", "secs": "s", "seconds": "s", "ms": "ms",
    "mps": "m/s", "m/s": "m/s", "ms-1": "m/s",
    "kmh": "km/h", "km/h": "km/h", "kph": "km/h", "km/hr": "km/h",
    "mph": "mph", "mi/h": "mph",
    "min/km": "min/km", "min/mi": "min/mi", "min/mile": "min/mi",
    "spm": "spm", "steps/min": "spm", "steps": "spm", "steps_per_min": "spm",
    "rpm": "per_foot", "strides/min": "per_foot", "per_foot": "per_foot", "spm/2": "per_foot",
    "bpm": "bpm", "w": "w", "watts": "w", "c": "c", "degc": "c", "celsius": "c",
    "f": "f", "degf": "f", "fahrenheit": "f", "deg": "deg", "degrees": "deg",
    "semicircles": "semicircles",
}  # fmt: skip

_DURATION = re.compile(r"^\s*-?\d+(:\d{1,2}){1,2}(\.\d+)?\s*$")
_ABBR = re.compile(r"(?<![A-Za-z])([A-Z]{1,5})(?![A-Za-z])")
_OFFSET = re.compile(r"(Z|[+-]\d{2}:?\d{2})\s*$")
_MISSING = MISSING_TOKENS


@dataclass
class _Col:
    header: str
    position: int
    quantity: str
    unit: str  # "" when the header does not say


def _split_header(header: str) -> tuple[str, str]:
    """(quantity words, unit) of one header."""
    h = header.strip().lower().replace("°", "deg")
    unit = ""
    m = re.search(r"[\(\[]\s*([^\)\]]*?)\s*[\)\]]", h)
    if m:
        unit = m.group(1).replace(" ", "")
        h = (h[: m.start()] + h[m.end() :]).strip()
    else:
        m = re.search(r"[\s_]+([a-z]+/[a-z]+)$", h)  # "Speed m/s", "pace min/km"
        if m and m.group(1) in _UNITS:
            unit = m.group(1)
            h = h[: m.start()].strip()
    tokens = [t for t in re.split(r"[^a-z0-9%/]+", h) if t]
    base = "_".join(tokens)
    if unit:
        unit = _UNITS.get(unit, _UNITS.get(unit.rstrip("."), unit))
        return base, unit
    # trailing unit words: distance_km, speed_kmh, pace_min_per_km, heart_rate_bpm, time_s
    for suffix, u in (("_min_per_km", "min/km"), ("_min_per_mi", "min/mi"),
                      ("_min_per_mile", "min/mi"), ("_per_km", "min/km"), ("_per_mi", "min/mi")):  # fmt: skip
        if base.endswith(suffix) and base != suffix.strip("_"):
            return base[: -len(suffix)], u
    if len(tokens) > 1 and tokens[-1] in _UNITS:
        return "_".join(tokens[:-1]), _UNITS[tokens[-1]]
    return base, ""


def _recognise(headers: list[str]) -> list[_Col]:
    cols: list[_Col] = []
    for i, h in enumerate(headers):
        base, unit = _split_header(h)
        q = _ALIASES.get(base)
        if q is None and base.endswith("_time") and base[:-5] in ("elapsed", "moving"):
            q = "elapsed"
        if q is None:
            continue
        if q == "time" and unit in ("s", "ms"):
            q = "elapsed"
        if q == "timer" and unit == "s":
            q = "timer_s"
        if base == "stride_length" and header_is_canonical(h):
            q = "stride_two_steps"
        cols.append(_Col(h, i, q, unit))
    return cols


def header_is_canonical(header: str) -> bool:
    """True for stridekeeper's own ``stride_length_m`` (two steps), not a watch's."""
    return header.strip() == "stride_length_m"


# --------------------------------------------------------------------------- values
def _durations_s(values: pd.Series) -> np.ndarray:
    """``h:mm:ss``, ``mm:ss`` or plain numbers as seconds."""
    s = values.astype(str).str.strip()
    parts = s.str.split(":", expand=True)
    out = np.full(len(s), np.nan)
    if parts.shape[1] == 1:
        return pd.to_numeric(s, errors="coerce").to_numpy(float)
    nums = parts.apply(pd.to_numeric, errors="coerce").to_numpy(float)
    ncol = (~np.isnan(nums)).sum(axis=1)
    sign = np.where(s.str.startswith("-"), -1.0, 1.0)
    absn = np.abs(nums)
    if nums.shape[1] >= 2:
        two = ncol == 2
        out[two] = absn[two, 0] * 60 + absn[two, 1]
    if nums.shape[1] >= 3:
        three = ncol == 3
        out[three] = absn[three, 0] * 3600 + absn[three, 1] * 60 + absn[three, 2]
    return out * sign


@dataclass
class _Times:
    ns: np.ndarray  # int64 UTC ns, min int64 for invalid
    offset_s: float | None
    kind: str
    notes: list[str]


_NAT = np.iinfo(np.int64).min


def _to_ns(idx: Any) -> np.ndarray:
    dti = pd.DatetimeIndex(idx)
    if dti.tz is None:
        dti = dti.tz_localize("UTC")
    dti = dti.tz_convert("UTC").as_unit("ns")
    out = dti.asi8.copy()
    out[dti.isna()] = _NAT
    return out


def _parse_times(values: pd.Series, start_time: Any, *, scale: float = 1.0) -> _Times:
    s = values.astype(str).str.strip()
    s = s.where(~s.isin(_MISSING), "")
    filled = s[s != ""]
    notes: list[str] = []
    if filled.empty:
        return _Times(np.full(len(s), _NAT), None, "none", ["no time values"])
    nums = pd.to_numeric(filled, errors="coerce")
    if nums.notna().mean() > 0.9:
        med = float(nums.median())
        v = pd.to_numeric(s, errors="coerce").to_numpy(float)
        if med > 1e11:
            return _Times(_epoch(v, 1e6), None, "epoch ms", notes)
        if med > 1e8:
            return _Times(_epoch(v, 1e9), None, "epoch s", notes)
        return _elapsed(v * scale, start_time, notes)
    if filled.str.match(_DURATION).mean() > 0.9:
        return _elapsed(_durations_s(s), start_time, notes)
    # a zone abbreviation (ctime and friends): 'Sun Jun 11 07:34:09 PDT 2017'
    if filled.map(_zone_abbreviation).notna().mean() > 0.9:
        return _parse_abbreviated(s, notes)
    parsed = pd.Series(times_utc(s), index=s.index)  # one odd row: NaT, not the file refused
    if parsed.notna().sum() < 0.9 * len(filled):
        parsed = pd.Series(times_utc(s, format="mixed"), index=s.index)
    m = filled.str.extract(_OFFSET, expand=False)
    offset = None
    if m.notna().mean() > 0.9:
        first = m.dropna().iloc[0]
        offset = 0.0 if first == "Z" else _offset_text(first)
        local = pd.to_datetime(filled.iloc[0], errors="coerce", format="ISO8601")
        if offset is None and local is not pd.NaT and local.tzinfo is not None:
            offset = local.utcoffset().total_seconds()
    else:
        notes.append("times carry no time zone: read as UTC")
    return _Times(_to_ns(parsed), offset, "datetime", notes)


def _offset_text(text: str) -> float | None:
    m = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", text)
    if not m:
        return None
    sign = -1.0 if m.group(1) == "-" else 1.0
    return sign * (int(m.group(2)) * 3600 + int(m.group(3)) * 60)


def _epoch(v: np.ndarray, factor: float) -> np.ndarray:
    out = np.full(len(v), _NAT, dtype=np.int64)
    ok = np.isfinite(v)
    out[ok] = np.round(v[ok] * factor).astype(np.int64)
    return out


def _elapsed(sec: np.ndarray, start_time: pd.Timestamp | None, notes: list[str]) -> _Times:
    if start_time is None:
        anchor = pd.Timestamp(0, tz="UTC")
        notes.append("no absolute time in the file (elapsed seconds only): samples anchored at "
                     "1970-01-01 UTC; pass start_time= to place the run")  # fmt: skip
    else:
        anchor = pd.Timestamp(start_time)
        anchor = anchor.tz_localize("UTC") if anchor.tzinfo is None else anchor.tz_convert("UTC")
    out = np.full(len(sec), _NAT, dtype=np.int64)
    ok = np.isfinite(sec)
    out[ok] = anchor.as_unit("ns").value + np.round(sec[ok] * 1e9).astype(np.int64)
    return _Times(out, None if start_time is None else _start_offset(start_time),
                  "elapsed" if start_time is None else "elapsed+start", notes)  # fmt: skip


def _start_offset(start: Any) -> float | None:
    ts = pd.Timestamp(start)
    off = ts.utcoffset() if ts.tzinfo is not None else None
    return None if off is None else off.total_seconds()


def _zone_abbreviation(text: str) -> str | None:
    """The last all-capitals word of a time stamp that is not AM/PM or the ISO 'T'."""
    found = [x for x in _ABBR.findall(text) if x not in ("AM", "PM", "T")]
    return found[-1] if found else None


def _parse_abbreviated(s: pd.Series, notes: list[str]) -> _Times:
    last = s.map(_zone_abbreviation)
    rest = pd.Series([(v.replace(f" {a}", "", 1) if a else v) for v, a in zip(s, last, strict=True)],
                     index=s.index, dtype=object)  # fmt: skip
    naive = None
    for fmt in ("%a %b %d %H:%M:%S %Y", "%b %d %H:%M:%S %Y", "%Y-%m-%d %H:%M:%S",
                "%Y-%m-%dT%H:%M:%S", "%d/%m/%Y %H:%M:%S", "%m/%d/%Y %H:%M:%S"):  # fmt: skip
        naive = pd.to_datetime(rest, errors="coerce", format=fmt)
        if naive.notna().mean() > 0.9:
            break
    if naive is None or naive.notna().mean() <= 0.9:
        naive = pd.to_datetime(rest, errors="coerce", format="mixed")
    offsets = last.map(lambda a: TZ_ABBREVIATIONS.get(a) if a else None)
    unknown = sorted({a for a, o in zip(last, offsets, strict=True) if a and o is None})
    if unknown:
        notes.append(f"unknown time-zone abbreviation(s) {', '.join(unknown)}: read as UTC")
    off_h = pd.to_numeric(offsets, errors="coerce").fillna(0.0).to_numpy(float)
    local_ns = _to_ns(naive)
    ok = local_ns != _NAT
    out = np.full(len(s), _NAT, dtype=np.int64)
    out[ok] = local_ns[ok] - np.round(off_h[ok] * 3600e9).astype(np.int64)
    first = next((o for o in offsets if o is not None and not pd.isna(o)), None)
    return _Times(out, None if first is None else float(first) * 3600.0, "datetime+zone", notes)


# --------------------------------------------------------------------------- reading
def _column(rows: list[list[str]], pos: int) -> pd.Series:
    return pd.Series([r[pos] if pos < len(r) else "" for r in rows], dtype=object)


def _pick(cols: list[_Col], quantity: str) -> _Col | None:
    for c in cols:
        if c.quantity == quantity:
            return c
    return None


def sniff(head: bytes) -> bool:
    """True when the first bytes look like a delimited table with two or more columns: weak
    evidence, so the format registry tries it only after the extensions of other formats."""
    return len(csv_header(head)) >= 2


def read_csv_run(
    source: Source,
    *,
    name: str | None = None,
    column_map: Mapping[str, str] | None = None,
    start_time: str | pd.Timestamp | None = None,
    sport: str | Iterable[str] | None = None,
) -> list[Run]:
    """Read a per-sample CSV export as one :class:`~stridekeeper.schema.Run`.

    Parameters
    ----------
    source
        Path (``.csv`` or ``.csv.gz``), bytes or file object.
    name
        How to name the file in messages and ``meta['source']``.
    column_map
        Explicit columns: canonical key (unit in the name, :data:`COLUMN_MAP_KEYS`) ->
        header in the file, e.g. ``{"timestamp": "Time", "speed_kmh": "Speed"}``.
    start_time
        Start of the run for files with elapsed seconds only (naive means UTC).
    sport
        Keep the run only if of this sport (or these sports); the file does not say, so a
        filter leaves nothing (the rule of every reader: ``None`` keeps all).

    Returns
    -------
    list of Run
        One run (none when ``sport`` filters it out). ``meta['column_units']`` says how each column was read,
        ``meta['cadence_convention']`` how cadence was counted; ``sport`` is None (the file
        does not say).

    Raises
    ------
    UnsupportedFormatError
        The columns can't be understood: the message lists the columns found and what is
        needed (a time column and distance, speed or positions).
    CorruptFileError
        Nothing usable (no row with a valid time).
    ValueError
        ``column_map`` has a key outside :data:`COLUMN_MAP_KEYS`.
    """
    if column_map:
        bad = [k for k in column_map if k not in COLUMN_MAP_KEYS]
        if bad:
            raise ValueError(f"unknown column_map key(s) {bad}; allowed: "
                             f"{', '.join(COLUMN_MAP_KEYS)}")  # fmt: skip
    data, display, sha = open_source(source, name)
    try:
        run = _read(data, display, sha, column_map or {}, start_time)
    except StridekeeperError:
        raise
    except Exception as exc:  # damaged content must never leak a raw exception
        log.debug("reading %s failed", display, exc_info=True)
        raise CorruptFileError(display, f"unreadable CSV content ({type(exc).__name__}: {exc})"
                               ) from exc  # fmt: skip
    warn_notes([run], display)
    return filter_sport([run], sport)


def _read(data: bytes, name: str, sha: str, column_map: Mapping[str, str],
          start_time: Any) -> Run:  # fmt: skip
    text = decode_text(data, name)
    header, rows, delim = csv_rows(text, name)
    cols = _apply_column_map(_recognise(header), header, column_map, name)
    decimal_comma = delim == ";" and any(re.fullmatch(r"-?\d+,\d+", v.strip() or "x")
                                         for r in rows[:50] for v in r)  # fmt: skip
    table = _Table(rows, decimal_comma)
    time_col = _require_columns(cols, header, name)
    units: dict[str, str] = {}
    times = _read_times(table, time_col, start_time, header, name)
    notes: list[str] = list(times.notes)
    units["time"] = f"{time_col.header}: {times.kind}"

    out: dict[str, np.ndarray] = {}
    speed = _speed(cols, table, units)
    dist = _distance(cols, table, units, speed, times.ns)
    _other_columns(cols, table, units, out)
    convention = _cadence(cols, table, out)
    _step_length(cols, table, units, out)

    frame = _frame(out, times, speed, dist, cols, table)
    frame, clean_notes = clean_index(frame)
    notes += clean_notes
    if frame.empty:
        raise CorruptFileError(name, "no row with a readable time")
    t = (frame.index.asi8 - frame.index.asi8[0]) / 1e9
    _fill_distance(frame, t, units, notes)
    dist_arr = frame["distance_m"].to_numpy(float)
    timer, running, pause_info = _timer(frame, t, dist_arr)
    _fill_speed(frame, t, dist_arr, timer, units, notes)
    start = frame.index[0]
    frame["elapsed_s"] = t
    frame["timer_s"] = timer
    frame["timer_running"] = running
    records = finalize_records(attach_grade(frame))
    recognised = {c.header for c in cols}
    ignored = [h for h in header if h not in recognised]
    meta = {
        "source": name,
        "sha256": sha,
        "format": "csv",
        "session_index": 0,
        "sport": None,
        "sub_sport": None,
        "manufacturer": None,
        "product": None,
        "device": None,
        "start_time": start,
        "utc_offset_s": times.offset_s,
        "device_summary": None,
        "cadence_convention": convention,
        "column_units": units,
        "ignored_columns": ignored,
        "pause_inference": pause_info,
        "warnings": notes,
    }
    return Run(records=records, laps=empty_laps(), meta=meta)


class _Table:
    """The file's rows, read column by column."""

    def __init__(self, rows: list[list[str]], decimal_comma: bool) -> None:
        self.rows = rows
        self.decimal_comma = decimal_comma

    def text(self, c: _Col) -> pd.Series:
        return _column(self.rows, c.position)

    def num(self, c: _Col) -> np.ndarray:
        return parse_numbers(_column(self.rows, c.position), decimal_comma=self.decimal_comma,
                             thousands=False)  # fmt: skip


def _apply_column_map(cols: list[_Col], header: list[str], column_map: Mapping[str, str],
                      name: str) -> list[_Col]:  # fmt: skip
    """Mapped columns first, replacing what recognition found at their position or quantity."""
    for key, head in column_map.items():
        if head not in header:
            raise UnsupportedFormatError(f"{name}: column_map names {head!r} for {key}, but the "
                                         f"file has no such column; found: {', '.join(header)}")  # fmt: skip
        q, unit = COLUMN_MAP_KEYS[key]
        pos = header.index(head)
        cols = [c for c in cols if c.position != pos and c.quantity != q]
        cols.insert(0, _Col(head, pos, "stride_two_steps" if key == "stride_length_m" else q, unit))
    return cols


def _require_columns(cols: list[_Col], header: list[str], name: str) -> _Col:
    """The time column; raises when time or motion (distance, speed, pace, positions) lacks."""
    time_col = _pick(cols, "time") or _pick(cols, "elapsed")
    have_motion = any(_pick(cols, q) for q in ("distance", "speed", "pace")) or (
        _pick(cols, "latitude") and _pick(cols, "longitude"))  # fmt: skip
    if time_col is not None and have_motion:
        return time_col
    need = []
    if time_col is None:
        need.append("a time column (timestamp, time, datetime, elapsed seconds)")
    if not have_motion:
        need.append("distance, speed or pace (or latitude and longitude)")
    raise UnsupportedFormatError(
        f"{name}: can't read this CSV as a run: it needs {' and '.join(need)}; found "
        f"columns: {', '.join(header) or '(none)'}; name them with column_map="
        "{'timestamp': ..., 'speed_mps': ...}"
    )


def _read_times(table: _Table, time_col: _Col, start_time: Any, header: list[str],
                name: str) -> _Times:  # fmt: skip
    """The time column parsed; raises when no time is readable or times do not increase."""
    times = _parse_times(table.text(time_col), start_time,
                         scale=1e-3 if time_col.unit == "ms" else 1.0)  # fmt: skip
    if (times.ns == _NAT).all():
        raise CorruptFileError(name, f"no readable time in column {time_col.header!r}")
    valid = times.ns[times.ns != _NAT]
    if len(valid) > 2 and (np.diff(valid) < 0).mean() > 0.1:
        raise UnsupportedFormatError(
            f"{name}: column {time_col.header!r} does not increase from row to row: not one "
            f"sample per row (a table of activities or laps?); found columns: {', '.join(header)}"
        )
    return times


def _speed(cols: list[_Col], table: _Table, units: dict[str, str]) -> np.ndarray | None:
    """Speed [m/s] from a speed column (unit from the header, else magnitude) or a pace one."""
    c = _pick(cols, "speed")
    if c is not None:
        v = table.num(c)
        unit = c.unit
        if unit not in ("m/s", "km/h", "mph"):
            med = np.nanmedian(v) if np.isfinite(v).any() else np.nan
            unit = "km/h" if med > 7.0 else "m/s"
            units["speed"] = f"{c.header}: {unit} (no unit in the header; from magnitude)"
        else:
            units["speed"] = f"{c.header}: {unit}"
        return v * {"m/s": 1.0, "km/h": 1 / 3.6, "mph": 0.44704}[unit]
    c = _pick(cols, "pace")
    if c is None:
        return None
    unit = c.unit if c.unit in ("min/km", "min/mi") else "min/km"
    raw = table.text(c)
    sec = _durations_s(raw) if raw.astype(str).str.contains(":").any() else table.num(c) * 60.0
    with np.errstate(divide="ignore", invalid="ignore"):
        speed = np.where(sec > 0, (1000.0 if unit == "min/km" else 1609.344) / sec, np.nan)
    units["speed"] = f"{c.header}: pace {unit}" + ("" if c.unit else " (assumed)")
    return speed


def _distance(cols: list[_Col], table: _Table, units: dict[str, str],
              speed: np.ndarray | None, ns: np.ndarray) -> np.ndarray | None:  # fmt: skip
    """Cumulative distance [m]; a unitless column is checked against speed."""
    c = _pick(cols, "distance")
    if c is None:
        return None
    v = table.num(c)
    unit = c.unit if c.unit in ("m", "km", "mi") else ""
    if not unit:
        unit = _distance_unit(v, speed, ns)
        units["distance"] = f"{c.header}: {unit} (no unit in the header; checked against speed)"
    else:
        units["distance"] = f"{c.header}: {unit}"
    return v * {"m": 1.0, "km": 1000.0, "mi": 1609.344}[unit]


#: Columns taken with at most a unit conversion: quantity, output column, conversion.
_PLAIN_COLUMNS = (
    ("heart_rate", "heart_rate_bpm", None), ("power", "power_w", None),
    ("latitude", "latitude_deg", "deg"), ("longitude", "longitude_deg", "deg"),
    ("altitude", "altitude_m", "alt"), ("temperature", "temperature_c", "temp"),
    ("vertical_oscillation", "vertical_oscillation_mm", "vo"),
    ("stance_time", "stance_time_ms", None),
)  # fmt: skip


def _other_columns(cols: list[_Col], table: _Table, units: dict[str, str],
                   out: dict[str, np.ndarray]) -> None:  # fmt: skip
    """Heart rate, power, positions, altitude, temperature, oscillation, stance time."""
    for q, col, conv in _PLAIN_COLUMNS:
        c = _pick(cols, q)
        if c is None:
            continue
        v = table.num(c)
        if conv == "deg" and np.nanmax(np.abs(v), initial=0.0) > 180.0:
            v = v * 180.0 / 2**31
            units[q] = f"{c.header}: semicircles"
        elif conv == "alt" and c.unit == "ft":
            v = v * 0.3048
            units[q] = f"{c.header}: ft"
        elif conv == "temp" and c.unit == "f":
            v = (v - 32.0) * 5.0 / 9.0
            units[q] = f"{c.header}: degF"
        elif conv == "vo" and c.unit == "cm":
            v = v * 10.0
            units[q] = f"{c.header}: cm"
        out[col] = v


def _cadence(cols: list[_Col], table: _Table, out: dict[str, np.ndarray]) -> dict[str, Any] | None:
    """Cadence in steps/min into `out`; returns how it was counted (None without cadence)."""
    c = _pick(cols, "cadence")
    if c is None:
        return None
    raw = table.num(c)
    frac = _pick(cols, "fractional_cadence")
    if frac is not None:
        raw = raw + np.nan_to_num(table.num(frac), nan=0.0)
    if c.unit == "spm":
        factor, decision, med = 1.0, "steps_per_min", float("nan")
        why = "header says steps/min"
    elif c.unit == "per_foot":
        factor, decision, med = 2.0, "per_foot_doubled", float("nan")
        why = "header says per foot (rpm / strides per minute)"
    else:
        factor, decision, med = cadence_convention(raw)
        why = "median non-zero cadence vs 120"
    out["cadence_spm"] = raw * factor
    return {"decision": decision, "factor": factor, "median_nonzero": med,
            "basis": why, "column": c.header}  # fmt: skip


def _step_length(cols: list[_Col], table: _Table, units: dict[str, str],
                 out: dict[str, np.ndarray]) -> None:  # fmt: skip
    """Step length [m]: one step, whatever "stride" says, except stridekeeper's own
    ``stride_length_m`` (two steps, halved)."""
    c = (
        _pick(cols, "step_length")
        or _pick(cols, "stride_length")
        or _pick(cols, "stride_two_steps")
    )
    if c is None:
        return
    v = table.num(c)
    unit = c.unit if c.unit in ("m", "cm", "mm", "ft") else ""
    if not unit:
        med = np.nanmedian(v) if np.isfinite(v).any() else np.nan
        unit = "m" if not med > 3.0 else ("cm" if med < 250.0 else "mm")
    v = v * {"m": 1.0, "cm": 0.01, "mm": 0.001, "ft": 0.3048}[unit]
    if c.quantity == "stride_two_steps":
        v = v / 2.0
    units["step_length"] = f"{c.header}: {unit}" + (
        ", two steps (halved)" if c.quantity == "stride_two_steps" else ", one step"
    )
    out["step_length_m"] = v


def _frame(out: dict[str, np.ndarray], times: _Times, speed: np.ndarray | None,
           dist: np.ndarray | None, cols: list[_Col], table: _Table) -> pd.DataFrame:  # fmt: skip
    """The samples on their UTC index (NaT where the time was unreadable)."""
    idx = pd.DatetimeIndex(times.ns.view("datetime64[ns]"), tz="UTC")
    idx = idx.where(times.ns != _NAT)
    frame = pd.DataFrame(out, index=idx)
    if speed is not None:
        frame["speed_mps"] = speed
    if dist is not None:
        frame["distance_m"] = dist
    timer_col = _pick(cols, "timer_s")
    running_col = _pick(cols, "timer_running")
    if timer_col is not None:
        frame["timer_s"] = table.num(timer_col)
    if running_col is not None:
        vals = table.text(running_col).astype(str).str.strip().str.lower()
        frame["timer_running"] = ~vals.isin(["false", "0", "no", "f"]).to_numpy()
    return frame


def _fill_distance(frame: pd.DataFrame, t: np.ndarray, units: dict[str, str],
                   notes: list[str]) -> None:  # fmt: skip
    """Without a distance column: integrated from speed, else from positions."""
    if "distance_m" in frame and not frame["distance_m"].isna().all():
        return
    lat = frame["latitude_deg"].to_numpy(float) if "latitude_deg" in frame else None
    lon = frame["longitude_deg"].to_numpy(float) if "longitude_deg" in frame else None
    if "speed_mps" in frame and frame["speed_mps"].notna().any():
        v = np.nan_to_num(frame["speed_mps"].to_numpy(float), nan=0.0)
        dt = np.r_[0.0, np.diff(t)]
        frame["distance_m"] = np.cumsum(v * dt)
        units["distance"] = "integrated from speed"
    elif lat is not None and lon is not None:
        d, spikes = gps_distance(t, lat, lon)
        frame["distance_m"] = d
        units["distance"] = "from positions (haversine)"
        if spikes.any():
            notes.append(f"{int(spikes.sum())} GPS position spike(s) (implied speed > 12 m/s) "
                         "left out of the distance")  # fmt: skip


def _timer(frame: pd.DataFrame, t: np.ndarray,
           dist_arr: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:  # fmt: skip
    """(timer_s, timer_running, how pauses were found): the file's timer, else inferred."""
    if "timer_s" in frame and frame["timer_s"].notna().all():
        timer = frame["timer_s"].to_numpy(float)
        running = (frame["timer_running"].to_numpy(bool) if "timer_running" in frame
                   else np.ones(len(t), dtype=bool))  # fmt: skip
        return timer, running, {"method": "timer_s column"}
    return infer_timer(t, dist_arr)


def _fill_speed(frame: pd.DataFrame, t: np.ndarray, dist_arr: np.ndarray, timer: np.ndarray,
                units: dict[str, str], notes: list[str]) -> None:  # fmt: skip
    """Without a speed column: derived from distance, spikes set to NaN."""
    if "speed_mps" in frame:
        return
    brk = np.zeros(len(t), dtype=bool)
    brk[1:] = np.diff(timer) < np.diff(t) - 1e-9
    frame["speed_mps"] = speed_from_distance(t, dist_arr, brk)
    units["speed"] = "derived from distance"
    spikes = accel_spikes(t, frame["speed_mps"].to_numpy(float))
    if spikes.any():
        frame.loc[spikes, "speed_mps"] = np.nan
        notes.append(f"{int(spikes.sum())} derived speed sample(s) implying more than "
                     "3 m/s^2 or 12 m/s set to NaN")  # fmt: skip


def _distance_unit(v: np.ndarray, speed: np.ndarray | None, ns: np.ndarray) -> str:
    """m, km or mi for a unitless cumulative distance column."""
    ok = np.isfinite(v) & (ns != _NAT)
    if ok.sum() < 2:
        return "m"
    total = np.nanmax(v[ok]) - np.nanmin(v[ok])
    dur = (ns[ok].max() - ns[ok].min()) / 1e9
    if speed is not None and np.isfinite(speed).any() and dur > 0:
        expected = np.nanmean(speed) * dur
        if expected > 0 and total > 0:
            best = min(((abs(np.log(total * f / expected)), u) for u, f in
                        (("m", 1.0), ("km", 1000.0), ("mi", 1609.344))))  # fmt: skip
            return best[1]
    # a running file covering < 100 over more than 10 minutes is not in metres
    if dur > 600 and 0 < total < 100:
        return "km"
    return "m"
