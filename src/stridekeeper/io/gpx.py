"""GPX tracks (Garmin Connect, Strava, phone apps), parsed with defusedxml.

One :class:`~stridekeeper.schema.Run` per ``<trk>``; its ``<trkseg>`` segments are parts of
one activity separated by pauses. Elements are matched on local names, so Garmin's
TrackPointExtension v1 and v2 (bound to ``gpxtpx``, ``ns3``, ``tpx``...) read alike. Record
columns produced (when the file has them):

===========================  =========  =====================================================
column                       unit       GPX source
===========================  =========  =====================================================
``elapsed_s``                s          ``trkpt/time`` - first point
``timer_s``                  s          elapsed time minus inferred pauses (see below)
``timer_running``            bool       True (apps write no points while paused)
``distance_m``               m          haversine between positions, GPS spikes removed
``speed_mps``                m/s        extension ``speed`` if present, else centred
                                        differences of distance; impossible accelerations
                                        (> 3 m/s^2) or speeds (> 12 m/s) set to NaN
``cadence_spm``              steps/min  ``cad`` x 2 when the file counts one foot (median
                                        non-zero < 120), else x 1; see ``cadence_convention``
``heart_rate_bpm``           1/min      ``hr``
``altitude_m``               m          ``ele``
``grade_pct``                %          derived from altitude and distance (smoothed)
``latitude_deg``             deg        ``trkpt/@lat``
``longitude_deg``            deg        ``trkpt/@lon``
``power_w``                  W          ``power`` (Strava, Garmin PowerExtension)
``temperature_c``            degC       ``atemp``
===========================  =========  =====================================================

Sport: from ``trk/type`` (Garmin Connect writes ``running``, Strava ``running`` or its
activity-type number, 9 for a run), else None. ``gpxtpx:cad`` is documented as revolutions
per minute; Garmin writes strides/min (one foot), some apps steps/min: the file decides by its
median non-zero cadence (docs/methods.md, "Units and device traps"), for running files and files of unknown sport.
A cycling track's cadence is rpm and is not kept.

Pauses: GPX has no timer. A gap of more than 10 s between points crossed at under 1 m/s
average, or a new ``<trkseg>``, is a pause: it adds nothing to ``timer_s``
(``meta['pause_inference']``). GPX carries no device summary: ``device_summary`` is None.

Damage: points complete before a truncation are kept with a
:class:`~stridekeeper.errors.DataQualityWarning`; nothing usable raises
:class:`~stridekeeper.errors.CorruptFileError`. Entity declarations are refused.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import CorruptFileError, StridekeeperError, UnsupportedFormatError
from ..schema import Run
from ._xml import XmlDamage, iter_events, local_name, looks_like_xml, sniff_root
from .geo import accel_spikes, attach_grade, gps_distance, speed_from_distance
from .parsing import times_utc
from .records import (
    cadence_convention,
    clean_index,
    empty_laps,
    filter_sport,
    finalize_records,
    infer_timer,
    warn_notes,
)
from .source import Source, open_source

if TYPE_CHECKING:
    import pandas as pd
else:
    from ..lazy import pandas as pd

__all__ = ["GPX_TYPES", "read_gpx", "sniff"]

log = logging.getLogger(__name__)

#: ``trk/type`` values -> (sport, sub_sport). Numbers are Strava's activity types.
GPX_TYPES: dict[str, tuple[str, str | None]] = {
    "running": ("running", None),
    "run": ("running", None),
    "9": ("running", None),
    "trail_running": ("running", "trail"),
    "trailrun": ("running", "trail"),
    "treadmill_running": ("running", "treadmill"),
    "street_running": ("running", "street"),
    "track_running": ("running", "track"),
    "walking": ("walking", None),
    "walk": ("walking", None),
    "10": ("walking", None),
    "hiking": ("hiking", None),
    "hike": ("hiking", None),
    "4": ("hiking", None),
    "cycling": ("cycling", None),
    "biking": ("cycling", None),
    "ride": ("cycling", None),
    "1": ("cycling", None),
}

#: Extension element (local name, lower case) -> internal column.
_EXT_FIELDS = {
    "hr": "heart_rate_bpm",
    "heartrate": "heart_rate_bpm",
    "cad": "cadence",
    "cadence": "cadence",
    "runcadence": "cadence",
    "atemp": "temperature_c",
    "temp": "temperature_c",
    "power": "power_w",
    "powerinwatts": "power_w",
    "speed": "speed_mps",
}
_FOOT = ("running", "walking", "hiking")


def _num(text: Any) -> float:
    if text is None:
        return np.nan
    try:
        out = float(str(text).strip())
    except ValueError:
        return np.nan
    return out if np.isfinite(out) else np.nan


@dataclass
class _Track:
    name: str | None = None
    type_raw: str | None = None
    times: list[str | None] = field(default_factory=list)
    seg: list[int] = field(default_factory=list)
    cols: dict[str, list[float]] = field(default_factory=dict)
    n_seg: int = 0

    def add_point(self, elem: Any) -> None:
        n = len(self.times)
        t = None
        values = {"latitude_deg": _num(elem.get("lat")), "longitude_deg": _num(elem.get("lon"))}
        for child in elem.iter():
            key = local_name(child.tag)
            if key == "time" and t is None:
                t = (child.text or "").strip() or None
            elif key == "ele":
                values["altitude_m"] = _num(child.text)
            else:
                col = _EXT_FIELDS.get(key.lower())
                if col is not None and col not in values:
                    values[col] = _num(child.text)
        for col, v in values.items():
            lst = self.cols.setdefault(col, [np.nan] * n)
            lst.append(v)
        for lst in self.cols.values():
            if len(lst) == n:
                lst.append(np.nan)
        self.times.append(t)
        self.seg.append(self.n_seg)


def _parse(data: bytes, name: str) -> tuple[list[_Track], dict[str, Any], list[str]]:
    tracks: list[_Track] = []
    head: dict[str, Any] = {}
    notes: list[str] = []
    cur: _Track | None = None
    path: list[str] = []
    root_seen = False
    try:
        for event, elem in iter_events(data, name):
            tag = local_name(elem.tag)
            if event == "start":
                if not root_seen:
                    root_seen = True
                    if tag != "gpx":
                        raise UnsupportedFormatError(
                            f"{name}: not a GPX file (root element <{tag}>, expected <gpx>)"
                        )
                    head["creator"] = elem.get("creator")
                    head["version"] = elem.get("version")
                path.append(tag)
                if tag == "trk":
                    cur = _Track()
                elif tag == "trkseg" and cur is not None:
                    cur.n_seg += 1
                continue
            parent = path[-2] if len(path) > 1 else ""
            if tag == "trkpt" and cur is not None:
                cur.add_point(elem)
                elem.clear()
            elif parent == "trk" and cur is not None and tag in ("name", "type"):
                setattr(cur, "name" if tag == "name" else "type_raw", (elem.text or "").strip())
            elif parent == "metadata" and tag in ("time", "name"):
                head[f"metadata_{tag}"] = (elem.text or "").strip()
            elif tag == "trk" and cur is not None:
                tracks.append(cur)
                cur = None
                elem.clear()
            elif tag in ("wpt", "rte"):
                elem.clear()
            path.pop()
    except XmlDamage as exc:
        if not root_seen:
            if not looks_like_xml(data):
                raise UnsupportedFormatError(f"{name}: not a GPX file (not XML)") from None
            raise
        if cur is not None and cur.times:
            tracks.append(cur)
        if not any(tr.times for tr in tracks):
            raise CorruptFileError(name, f"no complete track point before the damage "
                                   f"({exc.reason})") from None  # fmt: skip
        what = "ends early" if exc.truncated else "is malformed"
        where = f" at line {exc.line}" if exc.line is not None else ""
        notes.append(f"GPX {what}{where}: the track points complete before it were kept")
    tracks = [tr for tr in tracks if tr.times]
    if not tracks:
        raise UnsupportedFormatError(f"{name}: GPX file without track points (a route or "
                                     "waypoints, not a recorded activity)")  # fmt: skip
    return tracks, head, notes


def _sport(type_raw: str | None) -> tuple[str | None, str | None]:
    if not type_raw:
        return None, None
    key = type_raw.strip().lower().replace(" ", "_")
    if key in GPX_TYPES:
        return GPX_TYPES[key]
    if key.isdigit():
        return None, None
    return key, None


def _build(tr: _Track, k: int, name: str, sha: str, head: dict[str, Any],
           file_notes: list[str]) -> Run:  # fmt: skip
    notes = list(file_notes)
    sport, sub_sport = _sport(tr.type_raw)
    n = len(tr.times)
    cols = {c: np.asarray(v, dtype=float) for c, v in tr.cols.items() if len(v) == n}
    cols["_seg"] = np.asarray(tr.seg, dtype=float)
    idx = times_utc(tr.times)  # a year-9999 sample is dropped, not the file
    frame = pd.DataFrame(cols, index=pd.DatetimeIndex(idx).as_unit("ns"))
    if frame.index.isna().all():
        raise UnsupportedFormatError(f"{name}: GPX track without times (a planned route, not a "
                                     "recorded activity)")  # fmt: skip
    frame, clean_notes = clean_index(frame)
    notes += clean_notes
    frame = frame.loc[:, frame.notna().any()]
    seg = frame.pop("_seg").to_numpy(float)
    t = (frame.index.asi8 - frame.index.asi8[0]) / 1e9
    breaks = np.zeros(len(t), dtype=bool)
    breaks[1:] = np.diff(seg) != 0

    convention = None
    if "cadence" in frame:
        raw = frame.pop("cadence").to_numpy(float)
        if sport in _FOOT or sport is None:
            factor, decision, median = cadence_convention(raw)
            convention = {"decision": decision, "factor": factor, "median_nonzero": median,
                          "element": "cad"}  # fmt: skip
            frame["cadence_spm"] = raw * factor
            if sport is None:
                notes.append("sport unknown (no <type>): cadence read as a foot sport's")
        else:
            notes.append(f"{sport} cadence (rpm) is not a step rate: not kept")

    lat = (
        frame["latitude_deg"].to_numpy(float)
        if "latitude_deg" in frame
        else np.full(len(t), np.nan)
    )
    lon = (
        frame["longitude_deg"].to_numpy(float)
        if "longitude_deg" in frame
        else np.full(len(t), np.nan)
    )
    dist, pos_spikes = gps_distance(t, lat, lon)
    frame["distance_m"] = dist
    timer, running, pause_info = infer_timer(t, dist, breaks=breaks)
    after_pause = np.zeros(len(t), dtype=bool)
    if len(t) > 1:
        after_pause[1:] = np.diff(timer) < np.diff(t) - 1e-9
    speed_source = "extension speed"
    if "speed_mps" not in frame:
        speed_source = "derived from positions"
        frame["speed_mps"] = speed_from_distance(t, dist, after_pause)
    speed = frame["speed_mps"].to_numpy(float)
    spikes = accel_spikes(t, speed)
    if spikes.any():
        frame.loc[spikes, "speed_mps"] = np.nan
    if pos_spikes.any() or spikes.any():
        notes.append(
            f"GPS spikes: {int(pos_spikes.sum())} position(s) implying more than 12 m/s left "
            f"out of the distance, {int(spikes.sum())} speed sample(s) implying more than "
            "3 m/s^2 or 12 m/s set to NaN"
        )

    start = frame.index[0]
    frame["elapsed_s"] = t
    frame["timer_s"] = timer
    frame["timer_running"] = running
    records = finalize_records(attach_grade(frame, sub_sport=sub_sport))
    creator = head.get("creator") or ""
    manufacturer = "garmin" if "garmin" in creator.lower() else None
    meta = {
        "source": name,
        "sha256": sha,
        "format": "gpx",
        "session_index": k,
        "sport": sport,
        "sub_sport": sub_sport,
        # Garmin Connect only exports what Garmin devices recorded; other creators are apps
        "manufacturer": manufacturer,
        "product": None,
        "device": None if manufacturer is None else f"{manufacturer}/None",
        "creator": head.get("creator"),
        "track_name": tr.name,
        "gpx_type": tr.type_raw,
        "start_time": start,
        "utc_offset_s": None,  # GPX times are UTC
        "device_summary": None,  # GPX has none
        "cadence_convention": convention,
        "speed_source": speed_source,
        "pause_inference": pause_info,
        "warnings": notes,
    }
    return Run(records=records, laps=empty_laps(), meta=meta)


def sniff(head: bytes) -> bool:
    """True when the first bytes start a GPX document (root ``<gpx>``)."""
    return sniff_root(head) == "gpx"


def read_gpx(
    source: Source,
    *,
    name: str | None = None,
    sport: str | Iterable[str] | None = None,
) -> list[Run]:
    """Read every track of a GPX file as a :class:`~stridekeeper.schema.Run`.

    Parameters
    ----------
    source
        Path (``.gpx`` or ``.gpx.gz``), bytes or binary file object.
    name
        How to name the file in messages and ``meta['source']`` (default: the path).
    sport
        Keep only tracks of this sport (or these); None keeps all. ``session_index``
        counts every track.

    Returns
    -------
    list of Run
        One per ``<trk>`` with timed points; ``meta`` also holds ``cadence_convention``,
        ``pause_inference``, ``speed_source``, ``creator``, ``track_name`` and ``gpx_type``.

    Raises
    ------
    UnsupportedFormatError
        Not GPX, or a GPX without timed track points (a route).
    CorruptFileError
        Nothing usable before the damage, or the XML declares entities.
    """
    data, display, sha = open_source(source, name)
    try:
        tracks, head, notes = _parse(data, display)
        runs = [_build(tr, k, display, sha, head, notes) for k, tr in enumerate(tracks)]
    except StridekeeperError:
        raise
    except Exception as exc:  # damaged content must never leak a raw exception
        log.debug("reading %s failed", display, exc_info=True)
        raise CorruptFileError(display, f"unreadable GPX content ({type(exc).__name__}: {exc})"
                               ) from exc  # fmt: skip
    warn_notes(runs, display)
    return filter_sport(runs, sport)
