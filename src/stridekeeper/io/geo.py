"""Positions and heights: haversine distance, GPS distance and speed with spike filtering,
acceleration spikes, and grade from altitude (left out indoors).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
else:
    from ..lazy import pandas as pd

__all__ = [
    "EARTH_RADIUS_M",
    "GRADE_LIMIT_PCT",
    "GRADE_WINDOW_M",
    "INDOOR_SUB_SPORTS",
    "MAX_GPS_ACCEL_MPS2",
    "MAX_GPS_SPEED_MPS",
    "accel_spikes",
    "attach_grade",
    "gps_distance",
    "grade_from_altitude",
    "haversine_m",
    "speed_from_distance",
]

#: Mean Earth radius (IUGG), for haversine distances on the WGS84 ellipsoid's sphere. [m]
EARTH_RADIUS_M = 6_371_008.8

#: GPS positions implying a faster speed than this are spikes (no runner goes 43 km/h). [m/s]
MAX_GPS_SPEED_MPS = 12.0

#: Position-derived speed changing faster than this is GPS noise, not running. [m/s^2]
MAX_GPS_ACCEL_MPS2 = 3.0


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
    nxt = np.where(np.concatenate((brk[1:], [False])), np.arange(n), nxt)
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


#: Distance over which grade is measured (centred on each sample). [m]
GRADE_WINDOW_M = 40.0

#: Grades beyond this are altimeter or GPS artefacts, not ground. [%]
GRADE_LIMIT_PCT = 45.0


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
    every = bool(ok.all())  # the usual case: no copies
    if (len(d) if every else ok.sum()) < 3:
        return out
    dd = np.maximum.accumulate(d if every else d[ok])
    aa = a if every else a[ok]
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
    lo = np.minimum(np.maximum(dd - half, uniq[0]), uniq[-1])  # np.clip, without its wrapper
    hi = np.minimum(np.maximum(dd + half, uniq[0]), uniq[-1])
    span = hi - lo
    rise = np.interp(hi, uniq, alt_u) - np.interp(lo, uniq, alt_u)
    with np.errstate(invalid="ignore", divide="ignore"):
        g = np.where(span >= half, 100.0 * rise / span, np.nan)
    g = np.where(np.abs(g) <= GRADE_LIMIT_PCT, g, np.nan)
    if every:
        return g
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
