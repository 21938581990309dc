"""Helpers shared by the TCX, GPX, CSV, summary and Apple Health readers.

Reading a source (path, bytes, file object, ``.gz``), the per-file cadence convention,
geodesic distance and GPS spike filtering, pause inference from time gaps, the device
summary dictionary and run metadata. Pure functions on arrays; nothing here reads more than
the caller hands it.
"""

from __future__ import annotations

import functools
import hashlib
import io
import warnings
from collections.abc import Iterable, Mapping
from os import PathLike
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from ..errors import CorruptFileError, DataQualityWarning, StridekeeperError, UnsupportedFormatError
from ..schema import LAP_COLUMNS, Run
from ..timezones import resolve_tz, system_timezone
from ._common import MAX_INFLATED_BYTES, gunzip

__all__ = [
    "EARTH_RADIUS_M",
    "MAX_GPS_ACCEL_MPS2",
    "MAX_GPS_SPEED_MPS",
    "MAX_INFLATED_BYTES",
    "PAUSE_GAP_S",
    "PAUSE_MAX_SPEED_MPS",
    "PER_FOOT_BELOW_SPM",
    "SUMMARY_KEYS",
    "accel_spikes",
    "cadence_convention",
    "clean_index",
    "csv_rows",
    "decode_text",
    "device_summary",
    "empty_laps",
    "filter_sport",
    "gps_distance",
    "has_figures",
    "haversine_m",
    "infer_timer",
    "localize",
    "parse_duration_s",
    "parse_number",
    "pause_candidates",
    "read_source",
    "resolve_tz",
    "speed_from_distance",
    "summary_run",
    "system_timezone",
    "warn_notes",
    "warn_skipped",
]

#: Mean Earth radius (IUGG), for haversine distances on the WGS84 ellipsoid's sphere. [m]
EARTH_RADIUS_M = 6_371_008.8
#: A running file whose median non-zero cadence is below this counts one foot. [1/min]
PER_FOOT_BELOW_SPM = 120.0
#: A gap between samples longer than this may be a pause. [s]
PAUSE_GAP_S = 10.0
#: ... and is one when the average speed across it is below this. [m/s]
PAUSE_MAX_SPEED_MPS = 1.0
#: GPS positions implying a faster speed than this are spikes (no runner goes 43 km/h). [m/s]
MAX_GPS_SPEED_MPS = 12.0
#: Position-derived speed changing faster than this is GPS noise, not running. [m/s^2]
MAX_GPS_ACCEL_MPS2 = 3.0

#: Keys of ``meta['device_summary']`` (canonical names and units), in order.
SUMMARY_KEYS = (
    "distance_m",
    "timer_time_s",
    "elapsed_time_s",
    "avg_speed_mps",
    "avg_cadence_spm",
    "avg_step_length_m",
    "total_strides",
    "total_ascent_m",
    "avg_temperature_c",
)


# --------------------------------------------------------------------------- sources
def read_source(
    source: str | PathLike[str] | bytes | IO[bytes] | IO[str], name: str | None = None
) -> tuple[bytes, str, str]:
    """All bytes of a source, ``.gz`` inflated, with its display name and SHA-256.

    Parameters
    ----------
    source
        Path, bytes, or a binary (or text) file object.
    name
        Display name; default the path, the file object's ``name`` or ``<bytes>``.

    Returns
    -------
    (bytes, str, str)
        Content, display name, hex SHA-256 of the bytes as stored (before inflating).

    Raises
    ------
    StridekeeperError
        The path can't be read.
    CorruptFileError
        Damaged gzip data.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        raw, display = bytes(source), name or "<bytes>"
    elif hasattr(source, "read"):
        raw = source.read()
        display = name or str(getattr(source, "name", "<stream>"))
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        if not isinstance(raw, bytes):
            raise UnsupportedFormatError(f"{display}: expected a binary stream")
    elif isinstance(source, str | PathLike):
        display = name or str(source)
        try:
            raw = Path(source).read_bytes()
        except IsADirectoryError as exc:
            raise StridekeeperError(f"{display}: is a folder, not a file") from exc
        except FileNotFoundError as exc:
            raise StridekeeperError(f"{display}: no such file") from exc
        except OSError as exc:
            raise StridekeeperError(f"{display}: cannot read ({exc.strerror or exc})") from exc
    else:
        raise TypeError(f"expected a path, bytes or a file object, got {type(source).__name__}")
    sha = hashlib.sha256(raw).hexdigest()
    return gunzip(raw, display), display, sha


def decode_text(data: bytes, name: str) -> str:
    """Text of a CSV/JSON export: UTF-8 (BOM or not), UTF-16 with a BOM, else cp1252.

    Raises
    ------
    UnsupportedFormatError
        The bytes are binary (NUL bytes without a UTF-16 BOM).
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise CorruptFileError(name, f"damaged UTF-16 text ({exc})") from exc
    if b"\x00" in data[:4096]:
        raise UnsupportedFormatError(f"{name}: binary data, not a text (CSV/JSON) file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # spreadsheet programs on Windows save exports in the ANSI code page
        return data.decode("cp1252", errors="replace")


# --------------------------------------------------------------------------- cadence
def cadence_convention(
    values: np.ndarray, *, threshold_spm: float = PER_FOOT_BELOW_SPM
) -> tuple[float, str, float]:
    """Decide per file whether cadence counts one foot or both (docs/methods.md, units).

    A running file whose median non-zero cadence is below ``threshold_spm`` counts one foot
    (strides/min: Garmin's TCX ``RunCadence``, GPX ``cad``, FIT): it is doubled. Above, it is
    already steps/min (Apple, some phone apps).

    Parameters
    ----------
    values
        Cadence samples as written in the file.
    threshold_spm
        The decision threshold. [1/min]

    Returns
    -------
    (float, str, float)
        The factor to steps/min (2 or 1), the decision (``"per_foot_doubled"`` or
        ``"steps_per_min"``) and the median non-zero value it rests on (NaN if none).
    """
    v = np.asarray(values, dtype=float)
    nz = v[np.isfinite(v) & (v > 0)]
    if len(nz) == 0:
        return 2.0, "per_foot_doubled", float("nan")
    med = float(np.median(nz))
    if med < threshold_spm:
        return 2.0, "per_foot_doubled", med
    return 1.0, "steps_per_min", med


# --------------------------------------------------------------------------- geodesy
def haversine_m(
    lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray
) -> np.ndarray:
    """Great-circle distance between points, vectorised. [m]

    Haversine on a sphere of the mean Earth radius: within 0.5 % of Vincenty on WGS84 at
    any latitude, far below GPS error over a run's sample spacing.

    Parameters
    ----------
    lat1, lon1, lat2, lon2
        Coordinates. [deg]

    Returns
    -------
    numpy.ndarray
        Distance per pair [m]; NaN where a coordinate is missing.
    """
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(np.asarray(lon2, float) - np.asarray(lon1, float))
    a = np.sin(dphi / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2.0) ** 2
    return 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def _segments(lat: np.ndarray, lon: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Distance from the previous kept point to each kept point (0 for the first)."""
    idx = np.flatnonzero(keep)
    seg = np.zeros(len(idx))
    if len(idx) > 1:
        seg[1:] = haversine_m(lat[idx[:-1]], lon[idx[:-1]], lat[idx[1:]], lon[idx[1:]])
    return seg


def gps_distance(
    t_s: np.ndarray,
    lat: np.ndarray,
    lon: np.ndarray,
    *,
    max_speed_mps: float = MAX_GPS_SPEED_MPS,
) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative distance from positions, GPS spikes removed.

    A point is a spike when reaching it *and* leaving it both imply more than
    ``max_speed_mps`` (a jump out and back), or when it is the first or last point and its
    only segment does; spikes are removed (up to three rounds, as removing one can expose a
    neighbour) and their distance is interpolated in time between kept points.

    Parameters
    ----------
    t_s
        Sample times. [s]
    lat, lon
        Positions [deg], NaN where missing.
    max_speed_mps
        Fastest plausible speed. [m/s]

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Cumulative distance per sample [m] (NaN before the first position) and the mask of
        samples whose position was a spike.
    """
    n = len(t_s)
    has = np.isfinite(lat) & np.isfinite(lon)
    keep = has.copy()
    for _ in range(3):
        idx = np.flatnonzero(keep)
        if len(idx) < 3:
            break
        seg = _segments(lat, lon, keep)[1:]
        dt = np.maximum(np.diff(t_s[idx]), 1.0)
        v = seg / dt
        fast = v > max_speed_mps
        bad = np.zeros(len(idx), dtype=bool)
        bad[1:-1] = fast[:-1] & fast[1:]
        bad[0] |= fast[0] and not fast[1]
        bad[-1] |= fast[-1] and not fast[-2]
        if not bad.any():
            break
        keep[idx[bad]] = False
    dist = np.full(n, np.nan)
    idx = np.flatnonzero(keep)
    if len(idx):
        cum = np.cumsum(_segments(lat, lon, keep))
        dist[idx] = cum
        later = np.arange(n) >= idx[0]
        dist[later] = np.interp(t_s[later], t_s[idx], cum)
    return dist, has & ~keep


def speed_from_distance(
    t_s: np.ndarray, dist_m: np.ndarray, breaks: np.ndarray | None = None
) -> np.ndarray:
    """Speed from cumulative distance by centred differences, never across a pause. [m/s]

    Parameters
    ----------
    t_s
        Sample times. [s]
    dist_m
        Cumulative distance. [m]
    breaks
        True at a sample that follows a pause: differences do not reach across it.

    Returns
    -------
    numpy.ndarray
        Speed per sample [m/s], NaN where distance is unknown.
    """
    n = len(t_s)
    if n < 2:
        return np.full(n, np.nan)
    brk = np.zeros(n, dtype=bool) if breaks is None else np.asarray(breaks, bool)
    prev = np.arange(n) - 1
    nxt = np.arange(n) + 1
    prev[0] = 0
    nxt[-1] = n - 1
    # don't step over a pause: a sample after a break looks forward only, one before it back
    prev = np.where(brk, np.arange(n), prev)
    nxt = np.where(np.r_[brk[1:], False], np.arange(n), nxt)
    dt = t_s[nxt] - t_s[prev]
    with np.errstate(invalid="ignore", divide="ignore"):
        v = (dist_m[nxt] - dist_m[prev]) / dt
    v = np.where(dt > 0, v, np.nan)
    return np.where(np.isfinite(v), np.maximum(v, 0.0), np.nan)


def accel_spikes(
    t_s: np.ndarray,
    speed: np.ndarray,
    *,
    max_accel_mps2: float = MAX_GPS_ACCEL_MPS2,
    max_speed_mps: float = MAX_GPS_SPEED_MPS,
) -> np.ndarray:
    """Speed samples implying an impossible acceleration (or speed): GPS artefacts.

    A sample is flagged when it departs from the median of the five samples around it by
    more than ``max_accel_mps2`` times its spacing (at least 1 s), the rule of
    :func:`~stridekeeper.metrics.moving.speed_spike_mask`, or exceeds ``max_speed_mps``.

    Returns
    -------
    numpy.ndarray of bool
    """
    n = len(speed)
    if n < 3:
        return np.zeros(n, dtype=bool)
    med = pd.Series(speed).rolling(5, center=True, min_periods=2).median().to_numpy()
    dt = np.ones(n)
    dt[1:] = np.maximum(np.diff(t_s), 1.0)
    with np.errstate(invalid="ignore"):
        return (np.abs(speed - med) > max_accel_mps2 * dt) | (speed > max_speed_mps)


# --------------------------------------------------------------------------- time
def pause_candidates(
    t_s: np.ndarray,
    dist_m: np.ndarray,
    *,
    gap_s: float = PAUSE_GAP_S,
    max_speed_mps: float = PAUSE_MAX_SPEED_MPS,
) -> tuple[np.ndarray, np.ndarray]:
    """Gaps between samples that look like pauses.

    Returns
    -------
    (numpy.ndarray of bool, numpy.ndarray)
        Per gap (``len(t_s) - 1``): longer than ``gap_s`` and crossed at under
        ``max_speed_mps`` (unknown distance: not a pause); and the average speed across each
        gap [m/s].
    """
    dt = np.diff(np.asarray(t_s, float))
    dd = np.diff(np.asarray(dist_m, float)) if len(t_s) > 1 else np.zeros(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        v = dd / np.maximum(dt, 1e-9)
    slow = np.where(np.isfinite(v), v < max_speed_mps, False)
    return (dt > gap_s) & slow, v


def infer_timer(
    t_s: np.ndarray,
    dist_m: np.ndarray,
    *,
    breaks: np.ndarray | None = None,
    pauses: np.ndarray | None = None,
    gap_s: float = PAUSE_GAP_S,
    max_speed_mps: float = PAUSE_MAX_SPEED_MPS,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Timer time for formats without timer events, from gaps between samples.

    Watches and apps stop writing samples while paused (auto-pause or the stop button), so
    a gap longer than ``gap_s`` crossed at less than ``max_speed_mps`` on average (no
    distance gained: a stop, not a GPS dropout on the move) is a pause, as the FIT timer
    events of the same activities show. A pause adds nothing to the timer (the sample that
    resumes is written when the timer restarts, as in FIT files); any other gap counts in
    full. ``breaks`` (e.g. GPX track-segment boundaries) are pauses whatever their speed.

    Parameters
    ----------
    t_s
        Sample times, increasing. [s]
    dist_m
        Cumulative distance [m]; NaN where unknown (an unknown gap is not a pause).
    breaks
        True at a sample that starts a new segment after a recorded pause.
    pauses
        Per gap (``len(t_s) - 1``), which ones are pauses: overrides the gap rule (the TCX
        reader chooses them against the laps' own timer totals).
    gap_s
        Shortest gap that may be a pause. [s]
    max_speed_mps
        Fastest average speed across a gap that still counts as standing. [m/s]

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, dict)
        ``timer_s`` per sample [s] (from 0), ``timer_running`` per sample (all True: samples
        are only written while the timer runs) and a description of the inference
        (``n_pauses``, ``paused_s``, the thresholds).
    """
    n = len(t_s)
    info: dict[str, Any] = {"method": "time gaps", "gap_s": gap_s,
                            "max_speed_mps": max_speed_mps, "n_pauses": 0, "paused_s": 0.0}  # fmt: skip
    if n == 0:
        return np.zeros(0), np.zeros(0, dtype=bool), info
    dt = np.diff(np.asarray(t_s, float))
    if pauses is None:
        pause, _ = pause_candidates(t_s, dist_m, gap_s=gap_s, max_speed_mps=max_speed_mps)
    else:
        pause = np.asarray(pauses, bool).copy()
    if breaks is not None and n > 1:
        pause |= np.asarray(breaks, bool)[1:] & (dt > 0)
    inc = np.where(pause, 0.0, dt)
    timer = np.concatenate([[0.0], np.cumsum(inc)])
    info["n_pauses"] = int(pause.sum())
    info["paused_s"] = float(dt[pause].sum())
    return timer, np.ones(n, dtype=bool), info


def clean_index(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Drop samples without a time, sort, merge samples sharing a timestamp.

    Returns
    -------
    (pandas.DataFrame, list of str)
        The cleaned frame and notes on what was done.
    """
    notes: list[str] = []
    valid = ~frame.index.isna()
    if not valid.all():
        notes.append(f"{int((~valid).sum())} sample(s) without a valid time dropped")
        frame = frame.loc[valid]
    if len(frame) > 1:
        d = np.diff(frame.index.asi8)
        if (d < 0).any():
            notes.append(f"{int((d < 0).sum())} sample(s) out of time order: sorted")
            frame = frame.sort_index(kind="stable")
        if frame.index.has_duplicates:
            # lap boundaries repeat the last point of a lap as the first of the next
            frame = frame.groupby(level=0, sort=True).last()
    frame.index.name = "timestamp"
    return frame, notes


# --------------------------------------------------------------------------- meta
def _finite(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if np.isfinite(out) else None


def device_summary(raw: Any = None, **values: Any) -> dict[str, Any]:
    """The ``meta['device_summary']`` dictionary: every key of :data:`SUMMARY_KEYS`.

    Parameters
    ----------
    raw
        The untouched source values (JSON-safe), kept under ``raw``.
    **values
        Canonical figures; missing or non-finite ones become None. Extra keys (e.g.
        ``moving_time_s``) are kept after the standard ones.

    Returns
    -------
    dict
    """
    out: dict[str, Any] = {k: _finite(values.get(k)) for k in SUMMARY_KEYS}
    for k, v in values.items():
        if k not in out:
            out[k] = _finite(v)
    out["raw"] = raw
    return out


def empty_laps() -> pd.DataFrame:
    """A lap table with the canonical columns and no rows."""
    frame = pd.DataFrame({c: pd.Series(dtype=float) for c in LAP_COLUMNS})
    frame["start_time"] = pd.Series(pd.DatetimeIndex([], tz="UTC"))
    return frame


def warn_notes(runs: Iterable[Run], source: str, *, stacklevel: int = 3) -> None:
    """Emit each distinct note of ``meta['warnings']`` once as a DataQualityWarning."""
    said: set[str] = set()
    for run in runs:
        for note in run.meta.get("warnings", []):
            if note not in said:
                said.add(note)
                warnings.warn(f"{source}: {note}", DataQualityWarning, stacklevel=stacklevel)


def filter_sport(runs: list[Run], sport: str | Iterable[str] | None) -> list[Run]:
    """Keep runs of ``sport`` (one name or several); None keeps all."""
    if sport is None:
        return runs
    wanted = {sport} if isinstance(sport, str) else set(sport)
    return [r for r in runs if r.meta.get("sport") in wanted]


def localize(naive: pd.DatetimeIndex, tz: Any) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Local wall-clock times in ``tz`` -> UTC, with each time's UTC offset [s].

    Nonexistent times (spring forward) shift forward; ambiguous ones (the repeated hour)
    take the first (daylight-saving) reading.
    """
    local = pd.DatetimeIndex(naive).tz_localize(tz, ambiguous=np.ones(len(naive), dtype=bool),
                                                nonexistent="shift_forward")  # fmt: skip
    utc = local.tz_convert("UTC").as_unit("ns")
    wall = pd.DatetimeIndex(naive).as_unit("ns")
    with np.errstate(invalid="ignore"):
        off = (wall.asi8 - utc.asi8) / 1e9
    off = np.where(utc.isna(), np.nan, off)
    return utc, off


def has_figures(summary: Mapping[str, Any]) -> bool:
    """True when a summary row holds a distance or a duration (else it is only a name)."""
    return any(summary.get(k) is not None for k in ("distance_m", "timer_time_s",
                                                   "elapsed_time_s"))  # fmt: skip


def warn_skipped(source: str, n: int) -> None:
    """One DataQualityWarning for summary rows without any figure."""
    if n:
        warnings.warn(f"{source}: {n} row(s) without distance or duration skipped (nothing to "
                      "analyse)", DataQualityWarning, stacklevel=3)  # fmt: skip


def summary_run(
    *,
    source: str,
    sha256: str,
    fmt: str,
    session_index: int,
    sport: str | None,
    sub_sport: str | None,
    start_time: pd.Timestamp | None,
    utc_offset_s: float | None,
    summary: dict[str, Any],
    notes: list[str],
    **extra: Any,
) -> Run:
    """A run known only by its averages: empty records, ``meta['summary_only'] = True``.

    The records table has the required columns and no rows; the figures live in
    ``meta['device_summary']``, which :func:`~stridekeeper.metrics.summary.summarize`
    reports for such runs.
    """
    meta: dict[str, Any] = {
        "source": source,
        "sha256": sha256,
        "format": fmt,
        "session_index": session_index,
        "sport": sport,
        "sub_sport": sub_sport,
        "manufacturer": extra.pop("manufacturer", None),
        "product": extra.pop("product", None),
        "device": extra.pop("device", None),
        "start_time": start_time,
        "utc_offset_s": utc_offset_s,
        "device_summary": summary,
        "summary_only": True,
        **extra,
        "warnings": list(notes),
    }
    records, laps = _empty_summary_frames()
    return Run(records=records.copy(), laps=laps.copy(), meta=meta)


@functools.lru_cache(maxsize=1)
def _empty_summary_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The empty records and laps of a summary run, built once (a copy each is 30x cheaper:
    a Garmin export has thousands of summary rows)."""
    from ._common import empty_records, finalize_records

    return finalize_records(empty_records()), empty_laps()


def parse_number(text: Any, *, decimal_comma: bool = False) -> float:
    """A number as exports write it: ``--`` and blanks are NaN, ``1,067`` is 1067.

    With ``decimal_comma`` (localised exports) ``5,02`` is 5.02 and ``1.067`` 1067.
    """
    if text is None:
        return float("nan")
    if isinstance(text, int | float) and not isinstance(text, bool):
        return float(text) if np.isfinite(text) else float("nan")
    s = str(text).strip().replace("\u00a0", "").replace(" ", "")
    if s in ("", "--", "-", "nan", "NaN", "None", "null", "N/A"):
        return float("nan")
    if decimal_comma:
        s = s.replace(".", "").replace(",", ".")
    else:
        s = s.replace(",", "")
    try:
        out = float(s)
    except ValueError:
        return float("nan")
    return out if np.isfinite(out) else float("nan")


def parse_duration_s(text: Any) -> float:
    """``h:mm:ss``, ``mm:ss`` (optionally with decimals) or plain seconds. [s]"""
    if text is None:
        return float("nan")
    s = str(text).strip()
    if s in ("", "--", "-"):
        return float("nan")
    parts = s.split(":")
    try:
        nums = [float(p.replace(",", ".")) for p in parts]
    except ValueError:
        return float("nan")
    if not 1 <= len(nums) <= 3 or any(not np.isfinite(x) or x < 0 for x in nums):
        return float("nan")
    total = 0.0
    for x in nums:
        total = total * 60.0 + x
    return total


def csv_rows(text: str, name: str) -> tuple[list[str], list[list[str]], str]:
    """Header, rows and delimiter of a CSV export (``,``, ``;`` or tab; ``#`` lines skipped).

    Raises
    ------
    UnsupportedFormatError
        Empty, or the first line has no delimiter.
    """
    import csv

    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise UnsupportedFormatError(f"{name}: empty CSV file (no header)")
    first = lines[0]
    delim = max((",", ";", "\t"), key=first.count)
    if first.count(delim) == 0:
        raise UnsupportedFormatError(f"{name}: not a CSV file (no ',', ';' or tab in the header)")
    try:
        rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delim))
    except csv.Error as exc:
        raise CorruptFileError(name, f"malformed CSV ({exc})") from exc
    header = [h.strip().lstrip("\ufeff").strip() for h in rows[0]]
    return header, rows[1:], delim
