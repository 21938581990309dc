"""Helpers shared by the readers: canonical column order, grade, JSON-safe metadata."""

from __future__ import annotations

import gzip
import io
import warnings
import zlib
from typing import Any

import numpy as np
import pandas as pd

from ..errors import CorruptFileError, DataQualityWarning
from ..jsonsafe import json_safe
from ..schema import RECORD_COLUMNS, REQUIRED_RECORD_COLUMNS
from ..timezones import system_timezone

__all__ = [
    "attach_grade",
    "empty_records",
    "finalize_records",
    "gunzip",
    "json_safe",
    "records_from_arrays",
    "system_timezone",
    "times_utc",
]

#: Distance over which grade is measured (centred on each sample). [m]
GRADE_WINDOW_M = 40.0
#: Grades beyond this are altimeter or GPS artefacts, not ground. [%]
GRADE_LIMIT_PCT = 45.0


#: Physically possible values of the record columns (inclusive; units in the names). A
#: sample outside becomes NaN, counted in one DataQualityWarning per table. Speed: the
#: fastest human sprint is ~12.4 m/s; cadence: elite sprinters reach ~250 steps/min.
RANGE_LIMITS: dict[str, tuple[float, float]] = {
    "speed_mps": (0.0, 12.5),
    "cadence_spm": (0.0, 260.0),
    "heart_rate_bpm": (25.0, 250.0),
    "latitude_deg": (-90.0, 90.0),
    "longitude_deg": (-180.0, 180.0),
    "distance_m": (0.0, 1.0e6),
    "altitude_m": (-500.0, 9000.0),
    "step_length_m": (0.0, 3.5),
    "stride_length_m": (0.0, 7.0),
}
#: A distance this far below an earlier one is a decrease, not rounding. [m]
DISTANCE_BACKSTEP_M = 0.5

#: Refuse to inflate a ``.gz`` beyond this. [bytes]
MAX_INFLATED_BYTES = 1 << 30


def gunzip(data: bytes, name: str, cap: int = MAX_INFLATED_BYTES) -> bytes:
    """``data`` inflated when it is gzip (else unchanged), refusing more than ``cap`` bytes.

    Raises
    ------
    CorruptFileError
        Damaged gzip data, or more than ``cap`` bytes inside.
    """
    if data[:2] != b"\x1f\x8b":
        return data
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
            out = gz.read(cap + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise CorruptFileError(name, f"damaged gzip data ({exc})") from exc
    if len(out) > cap:
        raise CorruptFileError(name, f"decompresses to more than {cap} bytes")
    return out


def empty_records() -> pd.DataFrame:
    """An empty records table with the required columns and a UTC index."""
    idx = pd.DatetimeIndex([], tz="UTC", name="timestamp")
    frame = pd.DataFrame(index=idx, columns=list(REQUIRED_RECORD_COLUMNS), dtype=float)
    frame["timer_running"] = frame["timer_running"].astype(bool)
    return frame


def grade_from_altitude(distance_m: np.ndarray, altitude_m: np.ndarray,
                        window_m: float = GRADE_WINDOW_M) -> np.ndarray:  # fmt: skip
    """Ground grade from altitude over distance, centred over ``window_m`` metres.

    Parameters
    ----------
    distance_m
        Cumulative distance per sample. [m]
    altitude_m
        Altitude per sample. [m]
    window_m
        Horizontal distance the rise is measured over. [m]

    Returns
    -------
    numpy.ndarray
        Grade per sample [%], NaN where either input is missing or the window is not covered.
    """
    d = np.asarray(distance_m, dtype=float)
    a = np.asarray(altitude_m, dtype=float)
    out = np.full(d.shape, np.nan)
    ok = np.isfinite(d) & np.isfinite(a)
    if ok.sum() < 3:
        return out
    dd = np.maximum.accumulate(d[ok])
    aa = a[ok]
    # collapse repeated distances (standing still) to their mean altitude for interpolation;
    # dd never decreases, so its distinct values are where it steps (np.unique without a sort)
    step = np.empty(len(dd), dtype=bool)
    step[0] = True
    np.not_equal(dd[1:], dd[:-1], out=step[1:])
    uniq = dd[step]
    inv = np.cumsum(step) - 1
    if len(uniq) < 3 or uniq[-1] - uniq[0] < window_m:
        return out
    alt_u = np.bincount(inv, weights=aa) / np.bincount(inv)
    half = window_m / 2.0
    lo = np.clip(dd - half, uniq[0], uniq[-1])
    hi = np.clip(dd + half, uniq[0], uniq[-1])
    span = hi - lo
    rise = np.interp(hi, uniq, alt_u) - np.interp(lo, uniq, alt_u)
    with np.errstate(invalid="ignore", divide="ignore"):
        g = np.where(span >= half, 100.0 * rise / span, np.nan)
    g = np.where(np.abs(g) <= GRADE_LIMIT_PCT, g, np.nan)
    out[ok] = g
    return out


#: Sub-sports on a machine or indoors: the ground is level whatever the altimeter says.
INDOOR_SUB_SPORTS = frozenset({"treadmill", "indoor_running", "indoor_walking", "virtual_activity"})


def attach_grade(records: pd.DataFrame, *, sub_sport: str | None = None) -> pd.DataFrame:
    """Return ``records`` with ``grade_pct`` derived from altitude and distance (if absent).

    Indoors (treadmill) the grade is left unknown: a barometer's drift there is not ground.
    """
    if "grade_pct" in records or "altitude_m" not in records or "distance_m" not in records:
        return records
    if sub_sport in INDOOR_SUB_SPORTS:
        return records
    out = records.copy()
    out["grade_pct"] = grade_from_altitude(
        records["distance_m"].to_numpy(float), records["altitude_m"].to_numpy(float)
    )
    return out


def finalize_records(records: pd.DataFrame) -> pd.DataFrame:
    """Canonical column order and dtypes; required columns present (NaN if unknown).

    Builds one new frame from numpy arrays (one allocation, no per-column pandas
    assignment: this runs once per session of every imported file).
    """
    present = {c: records[c].to_numpy() for c in records.columns}
    index = pd.DatetimeIndex(records.index, name="timestamp")
    data, notes = _checked(_canonical_columns(present, len(records)))
    return _with_notes(pd.DataFrame(data, index=index, copy=False), notes)


def _with_notes(frame: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Attach the range check's notes (``attrs['quality_notes']``) and warn once."""
    if notes:
        frame.attrs["quality_notes"] = notes
        warnings.warn("; ".join(notes), DataQualityWarning, stacklevel=3)
    return frame


def _checked(data: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], list[str]]:
    """Physical range checks: infinite and impossible samples (:data:`RANGE_LIMITS`), a
    position with only one good coordinate, and distance that goes backwards become NaN.

    Returns the columns (changed ones copied, never written in place) and one note
    counting what was removed, per cause.
    """
    counts: dict[str, int] = {}
    for col, values in data.items():
        if values.dtype.kind != "f" or not len(values):
            continue
        bad = ~np.isfinite(values) & ~np.isnan(values)
        limits = RANGE_LIMITS.get(col)
        if limits is not None:
            with np.errstate(invalid="ignore"):
                bad |= (values < limits[0]) | (values > limits[1])
        if bad.any():
            values = values.copy()
            values[bad] = np.nan
            data[col] = values
            counts[f"{col} impossible"] = int(bad.sum())
    if "latitude_deg" in data and "longitude_deg" in data:
        lat, lon = data["latitude_deg"], data["longitude_deg"]
        half = np.isnan(lat) != np.isnan(lon)
        if half.any():
            data["latitude_deg"], data["longitude_deg"] = lat.copy(), lon.copy()
            data["latitude_deg"][half] = np.nan
            data["longitude_deg"][half] = np.nan
    dist = data.get("distance_m")
    if dist is not None and len(dist) > 1 and dist.dtype.kind == "f":
        back = _distance_backsteps(dist)
        if back.any():
            dist = dist.copy()
            dist[back] = np.nan
            data["distance_m"] = dist
            counts["distance_m decreasing"] = int(back.sum())
    if not counts:
        return data, []
    total = sum(counts.values())
    detail = ", ".join(f"{k}: {n}" for k, n in counts.items())
    return data, [f"{total} sample value(s) out of physical range set to NaN ({detail})"]


def _distance_backsteps(dist: np.ndarray) -> np.ndarray:
    """Samples to drop so that distance never decreases: those below an earlier value, or
    those above a later one (a spike), whichever are fewer."""
    ok = ~np.isnan(dist)
    prev_max = np.fmax.accumulate(np.where(ok, dist, -np.inf))
    prev_max = np.concatenate([[-np.inf], prev_max[:-1]])
    later_min = np.fmin.accumulate(np.where(ok, dist, np.inf)[::-1])[::-1]
    later_min = np.concatenate([later_min[1:], [np.inf]])
    low = ok & (dist < prev_max - DISTANCE_BACKSTEP_M)
    high = ok & (dist > later_min + DISTANCE_BACKSTEP_M)
    if not low.any():
        return low
    return high if high.sum() < low.sum() else low


def _canonical_columns(present: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    """Record columns in canonical order (extras sorted after), required ones filled in,
    ``timer_running`` bool and everything else float (non-numbers NaN)."""
    order = [c for c in RECORD_COLUMNS if c in present or c in REQUIRED_RECORD_COLUMNS]
    order += sorted(c for c in present if c not in RECORD_COLUMNS)
    data: dict[str, np.ndarray] = {}
    for col in order:
        values = present.get(col)
        if values is None:
            values = np.ones(n, dtype=bool) if col == "timer_running" else np.full(n, np.nan)
        elif col == "timer_running":
            values = np.asarray(values).astype(bool, copy=False)
        elif np.asarray(values).dtype.kind == "f":
            values = np.asarray(values).astype(float, copy=False)
        else:
            values = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(float)
        data[col] = values
    return data


def records_from_arrays(
    ts_ns: np.ndarray, columns: dict[str, np.ndarray], *, sub_sport: str | None = None
) -> pd.DataFrame:
    """A finished records table straight from numpy columns (the readers' fast path).

    The same table as ``finalize_records(attach_grade(frame, sub_sport=sub_sport))`` of
    the frame these columns make, built as one DataFrame: no intermediate frames.

    Parameters
    ----------
    ts_ns
        Sample times, UTC nanoseconds since 1970 (int64).
    columns
        Column name -> values (float; ``timer_running`` bool), each as long as ``ts_ns``.
    sub_sport
        Indoors (:data:`INDOOR_SUB_SPORTS`) no grade is derived.
    """
    present = dict(columns)
    if ("grade_pct" not in present and "altitude_m" in present and "distance_m" in present
            and sub_sport not in INDOOR_SUB_SPORTS):  # fmt: skip
        present["grade_pct"] = grade_from_altitude(present["distance_m"], present["altitude_m"])
    index = pd.DatetimeIndex(np.asarray(ts_ns, dtype=np.int64).view("datetime64[ns]"),
                             tz="UTC", name="timestamp")  # fmt: skip
    data, notes = _checked(_canonical_columns(present, len(ts_ns)))
    return _with_notes(pd.DataFrame(data, index=index, copy=False), notes)


def times_utc(values: Any, *, format: str = "ISO8601") -> pd.DatetimeIndex:
    """Texts -> UTC times (ns), unreadable ones NaT: ``pd.to_datetime(..., utc=True,
    errors="coerce")``, except that one impossible sample (a year 9999, outside what a
    nanosecond time can hold) or a row in another UTC offset becomes NaT or is converted
    instead of refusing the whole file. The readers drop NaT rows with a note."""
    s = pd.Series(list(values), dtype=object)
    try:
        out = pd.to_datetime(s, utc=True, errors="coerce", format=format)
        return pd.DatetimeIndex(out).as_unit("ns")
    except (pd.errors.OutOfBoundsDatetime, OverflowError, ValueError, TypeError):
        pass
    parsed = []
    for v in s:
        try:
            t = pd.Timestamp(v)
            t = t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
            parsed.append(t.as_unit("ns"))
        except (ValueError, TypeError, OverflowError, pd.errors.OutOfBoundsDatetime):
            parsed.append(pd.NaT)
    return pd.DatetimeIndex(parsed, tz="UTC").as_unit("ns")
