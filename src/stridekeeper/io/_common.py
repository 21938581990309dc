"""Helpers shared by the readers: canonical column order, grade, JSON-safe metadata."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import math
import os
import zlib
from datetime import tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from ..errors import CorruptFileError
from ..schema import RECORD_COLUMNS, REQUIRED_RECORD_COLUMNS

__all__ = [
    "attach_grade",
    "empty_records",
    "finalize_records",
    "gunzip",
    "json_safe",
    "records_from_arrays",
    "system_timezone",
]

#: Distance over which grade is measured (centred on each sample). [m]
GRADE_WINDOW_M = 40.0
#: Grades beyond this are altimeter or GPS artefacts, not ground. [%]
GRADE_LIMIT_PCT = 45.0


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
    return pd.DataFrame(_canonical_columns(present, len(records)), index=index, copy=False)


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
    return pd.DataFrame(_canonical_columns(present, len(ts_ns)), index=index, copy=False)


def json_safe(obj: Any) -> Any:
    """Convert decoder output (datetimes, tuples, bytes, numpy scalars) to JSON types."""
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if isinstance(obj, dt.datetime | pd.Timestamp):
        return obj.isoformat()
    if isinstance(obj, bytes | bytearray):
        return obj.hex()
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, int):
        return obj
    return str(obj)


def system_timezone() -> tzinfo:
    """The system's local time zone, with its DST rules when they can be found."""
    key = os.environ.get("TZ", "").lstrip(":")
    if key:
        try:
            return ZoneInfo(key)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    try:
        real = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in real:
            return ZoneInfo(real.split("zoneinfo/", 1)[1])
        with open("/etc/localtime", "rb") as fh:
            return ZoneInfo.from_file(fh, key="localtime")
    except (OSError, ZoneInfoNotFoundError, ValueError):
        pass
    # Last resort (e.g. Windows without tzdata): today's fixed offset.
    local = dt.datetime.now().astimezone().tzinfo
    return local if local is not None else dt.UTC
