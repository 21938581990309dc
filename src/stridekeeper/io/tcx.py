"""TCX (Garmin Training Center XML) activity files, parsed with defusedxml.

One :class:`~stridekeeper.schema.Run` per ``<Activity>``, so a file holding several
activities gives several runs. Elements are matched on their local names: exporters bind the
ActivityExtension namespace to ``ns3``, ``x``, the default namespace... Record columns
produced (when the file has them):

===========================  =========  =====================================================
column                       unit       TCX source
===========================  =========  =====================================================
``elapsed_s``                s          Trackpoint ``Time`` - activity start (``Id``)
``timer_s``                  s          elapsed time minus inferred pauses (see below)
``timer_running``            bool       True (TCX writes no samples while the timer is off)
``distance_m``               m          ``DistanceMeters``, else from positions (haversine)
``speed_mps``                m/s        ``TPX/Speed``, else from distance / time
``cadence_spm``              steps/min  ``TPX/RunCadence`` x 2 (per foot), or x 1 when the
                                        file already holds steps/min (median non-zero > 120)
``heart_rate_bpm``           1/min      ``HeartRateBpm/Value``
``altitude_m``               m          ``AltitudeMeters``
``grade_pct``                %          derived from altitude and distance (smoothed)
``latitude_deg``             deg        ``Position/LatitudeDegrees``
``longitude_deg``            deg        ``Position/LongitudeDegrees``
``power_w``                  W          ``TPX/Watts``
===========================  =========  =====================================================

Laps (``Run.laps``): ``StartTime``, ``TotalTimeSeconds`` (timer), ``DistanceMeters``,
``LX/AvgSpeed`` and ``LX/AvgRunCadence`` (same convention as the samples). The device
summary sums the laps: distance, timer time; cadence is the timer-time-weighted mean of the
laps' ``AvgRunCadence``.

Cadence: ``RunCadence`` (ActivityExtension v2) counts one foot. A running activity with only
the plain ``<Cadence>`` element (bike rpm in the schema) is read the same way, as some apps
write running cadence there; a cycling activity's cadence is not a step rate and is dropped.
The decision is recorded in ``meta['cadence_convention']``.

Pauses: TCX has no timer events. Watches write no trackpoints while paused, so a gap of more
than 10 s between trackpoints crossed at under 1 m/s (no distance gained) is a pause and adds
only one sample spacing to ``timer_s``; ``meta['pause_inference']`` says how many were found
and compares with the laps' own timer total.

Damage: a file cut short gives the activities (and trackpoints) complete before the cut with
a :class:`~stridekeeper.errors.DataQualityWarning` and a note in ``meta['warnings']``; a file
with nothing usable raises :class:`~stridekeeper.errors.CorruptFileError` naming the file.
Entity declarations and external references are refused (CorruptFileError), never expanded.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import CorruptFileError, StridekeeperError, UnsupportedFormatError
from ..schema import Run
from ._xml import XmlDamage, iter_events, local_name, looks_like_xml, sniff_root
from .geo import attach_grade, gps_distance, speed_from_distance
from .parsing import times_utc
from .records import (
    cadence_convention,
    clean_index,
    device_summary,
    empty_laps,
    filter_sport,
    finalize_records,
    infer_timer,
    pause_candidates,
    warn_notes,
)
from .source import Source, open_source

if TYPE_CHECKING:
    import pandas as pd
else:
    from ..lazy import pandas as pd

__all__ = ["read_tcx", "sniff"]

log = logging.getLogger(__name__)

#: TCX ``Activity/@Sport`` -> stridekeeper sport name.
SPORTS = {"running": "running", "biking": "cycling", "other": "other"}

#: Trackpoint element (local name) -> internal column.
_POINT_FIELDS = {
    "LatitudeDegrees": "latitude_deg",
    "LongitudeDegrees": "longitude_deg",
    "AltitudeMeters": "altitude_m",
    "DistanceMeters": "distance_m",
    "Speed": "speed_mps",
    "RunCadence": "run_cadence",
    "Cadence": "cadence",
    "Watts": "power_w",
}
_LAP_FIELDS = {"TotalTimeSeconds": "timer_time_s", "DistanceMeters": "distance_m",
               "MaximumSpeed": "max_speed_mps", "Calories": "calories",
               "Intensity": "intensity", "TriggerMethod": "trigger"}  # fmt: skip
_LX_FIELDS = {"AvgSpeed": "avg_speed_mps", "AvgRunCadence": "avg_run_cadence",
              "MaxRunCadence": "max_run_cadence", "AvgWatts": "avg_power_w",
              "Steps": "steps"}  # fmt: skip
_GARMIN_NAMES = re.compile(r"forerunner|fenix|f[eē]nix|edge|vivo|venu|epix|enduro|instinct|"
                           r"approach|descent|quatix|tactix|marq|garmin", re.I)  # fmt: skip


def _num(text: Any) -> float:
    if text is None:
        return np.nan
    try:
        out = float(str(text).strip())
    except ValueError:
        return np.nan
    return out if np.isfinite(out) else np.nan


@dataclass
class _Lap:
    start: str | None
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Activity:
    sport_raw: str | None
    id_text: str | None = None
    laps: list[_Lap] = field(default_factory=list)
    times: list[str | None] = field(default_factory=list)
    cols: dict[str, list[float]] = field(default_factory=dict)
    hr: list[float] = field(default_factory=list)
    creator: dict[str, Any] = field(default_factory=dict)
    complete: bool = False

    def add_point(self, elem: Any) -> None:
        n = len(self.times)
        t = None
        hr = np.nan
        for child in elem.iter():
            key = local_name(child.tag)
            if key == "Time":
                t = (child.text or "").strip() or None
            elif key == "Value":  # only inside HeartRateBpm in a trackpoint
                hr = _num(child.text)
            elif key in _POINT_FIELDS:
                col = _POINT_FIELDS[key]
                lst = self.cols.setdefault(col, [np.nan] * n)
                if len(lst) == n:
                    lst.append(_num(child.text))
        self.times.append(t)
        self.hr.append(hr)
        for lst in self.cols.values():
            if len(lst) == n:
                lst.append(np.nan)


def _product(creator_name: str | None) -> tuple[str | None, str | None]:
    """Manufacturer and FIT-style product from a TCX Creator name ("Forerunner 945")."""
    if not creator_name:
        return None, None
    if not _GARMIN_NAMES.search(creator_name):
        return None, creator_name.strip().lower()
    m = re.search(r"forerunner\s*(\d+\w*)", creator_name, re.I)
    product = f"fr{m.group(1).lower()}" if m else re.sub(r"\W+", "_", creator_name.strip().lower())
    return "garmin", product


def _parse(data: bytes, name: str) -> tuple[list[_Activity], list[str]]:
    acts: list[_Activity] = []
    notes: list[str] = []
    cur: _Activity | None = None
    lap: _Lap | None = None
    path: list[str] = []
    root_seen = False
    try:
        for event, elem in iter_events(data, name):
            tag = local_name(elem.tag)
            if event == "start":
                if not root_seen:
                    root_seen = True
                    if tag != "TrainingCenterDatabase":
                        raise UnsupportedFormatError(
                            f"{name}: not a TCX file (root element <{tag}>, expected "
                            "<TrainingCenterDatabase>)"
                        )
                path.append(tag)
                if tag == "Activity":
                    cur = _Activity(sport_raw=elem.get("Sport"))
                elif tag == "Lap" and cur is not None:
                    lap = _Lap(start=elem.get("StartTime"))
                continue
            parent = path[-2] if len(path) > 1 else ""
            if tag == "Trackpoint" and cur is not None:
                cur.add_point(elem)
                elem.clear()
            elif lap is not None and parent == "Lap" and tag in _LAP_FIELDS:
                lap.values[_LAP_FIELDS[tag]] = (elem.text or "").strip()
            elif lap is not None and parent == "AverageHeartRateBpm" and tag == "Value":
                lap.values["avg_heart_rate_bpm"] = (elem.text or "").strip()
            elif lap is not None and parent == "LX" and tag in _LX_FIELDS:
                lap.values[_LX_FIELDS[tag]] = (elem.text or "").strip()
            elif lap is not None and tag == "Cadence" and parent == "Lap":
                lap.values["cadence"] = (elem.text or "").strip()
            elif tag == "Lap" and cur is not None and lap is not None:
                cur.laps.append(lap)
                lap = None
                elem.clear()
            elif tag == "Id" and parent == "Activity" and cur is not None:
                cur.id_text = (elem.text or "").strip()
            elif parent == "Creator" and cur is not None and tag in ("Name", "ProductID",
                                                                    "UnitId"):  # fmt: skip
                cur.creator[tag] = (elem.text or "").strip()
            elif tag == "Activity" and cur is not None:
                cur.complete = True
                acts.append(cur)
                cur = None
                elem.clear()
            path.pop()
    except XmlDamage as exc:
        if not root_seen:
            if not looks_like_xml(data):
                raise UnsupportedFormatError(f"{name}: not a TCX file (not XML)") from None
            raise
        if cur is not None and cur.times:
            if lap is not None and lap.values.get("timer_time_s"):
                cur.laps.append(lap)
            acts.append(cur)
        if not any(a.times or a.laps for a in acts):
            raise CorruptFileError(name, f"no complete trackpoint before the damage ({exc.reason})"
                                   ) from None  # fmt: skip
        what = "ends early" if exc.truncated else "is malformed"
        where = f" at line {exc.line}" if exc.line is not None else ""
        notes.append(f"TCX {what}{where}: the {len(acts)} activit{'y' if len(acts) == 1 else 'ies'}"
                     " and trackpoints complete before it were kept")  # fmt: skip
    if not acts:
        raise UnsupportedFormatError(
            f"{name}: TCX file without activities (a course or workout plan, not a recorded "
            "activity)"
        )
    return acts, notes


def _laps_frame(laps: list[_Lap], factor: float, end: pd.Timestamp | None) -> pd.DataFrame:
    if not laps:
        return empty_laps()
    starts = pd.to_datetime([lp.start for lp in laps], utc=True, errors="coerce",
                            format="ISO8601").as_unit("ns")  # fmt: skip
    rows = []
    for i, lp in enumerate(laps):
        v = lp.values
        timer = _num(v.get("timer_time_s"))
        dist = _num(v.get("distance_m"))
        speed = _num(v.get("avg_speed_mps"))
        if np.isnan(speed) and timer > 0:
            speed = dist / timer
        cad = _num(v.get("avg_run_cadence")) * factor
        nxt = starts[i + 1] if i + 1 < len(laps) else end
        elapsed = (nxt - starts[i]).total_seconds() if nxt is not None and not (
            pd.isna(nxt) or pd.isna(starts[i])) else np.nan  # fmt: skip
        rows.append({"start_time": starts[i], "elapsed_time_s": elapsed, "timer_time_s": timer,
                     "distance_m": dist, "avg_speed_mps": speed, "avg_cadence_spm": cad,
                     "avg_step_length_m": np.nan})  # fmt: skip
    frame = pd.DataFrame(rows, columns=list(empty_laps().columns))
    return frame


def _lap_checked_pauses(
    t: np.ndarray, dist: np.ndarray, laps: list[_Lap], t0_ns: int
) -> tuple[np.ndarray | None, str]:
    """Which gaps were pauses, chosen so each lap's timer time matches its own total.

    Standing still with smart recording also leaves long, slow gaps, so the gap rule alone
    over-counts pauses. A lap's ``TotalTimeSeconds`` is its timer time: the lap's elapsed
    span minus that is the time paused in it. Within each lap the candidate gaps (the gap
    rule) are taken slowest first while they fit that budget (2 s or 5 % tolerance).
    """
    cand, gap_speed = pause_candidates(t, dist)
    if len(t) < 2 or not laps:
        return None, "time gaps"
    starts = pd.to_datetime([lp.start for lp in laps], utc=True, errors="coerce",
                            format="ISO8601").as_unit("ns")  # fmt: skip
    timers = np.array([_num(lp.values.get("timer_time_s")) for lp in laps])
    if starts.isna().any() or not np.isfinite(timers).all():
        return None, "time gaps"
    rel = (starts.asi8 - t0_ns) / 1e9
    ends = np.r_[rel[1:], t[-1]]
    budgets = ends - rel - timers
    dt = np.diff(t)
    lap_of_gap = np.searchsorted(rel, t[1:], side="right") - 1
    pauses = np.zeros(len(dt), dtype=bool)
    for i, budget in enumerate(budgets):
        idx = np.flatnonzero(cand & (lap_of_gap == i))
        if not len(idx) or not np.isfinite(budget) or budget <= 0:
            continue
        idx = idx[np.lexsort((-dt[idx], gap_speed[idx]))]
        tol = max(2.0, 0.05 * budget)
        total = 0.0
        for j in idx:
            if total + dt[j] <= budget + tol:
                pauses[j] = True
                total += dt[j]
    return pauses, "time gaps checked against the laps' timer totals"


def _build(act: _Activity, k: int, name: str, sha: str, file_notes: list[str]) -> Run:
    notes = list(file_notes)
    sport = SPORTS.get((act.sport_raw or "").strip().lower(), (act.sport_raw or "").lower() or None)
    n = len(act.times)
    cols = {c: np.asarray(v, dtype=float) for c, v in act.cols.items() if len(v) == n}
    cols["heart_rate_bpm"] = np.asarray(act.hr, dtype=float)
    idx = times_utc(act.times)  # a year-9999 sample is dropped, not the file
    frame = pd.DataFrame(cols, index=pd.DatetimeIndex(idx).as_unit("ns"))
    frame = frame.loc[:, frame.notna().any()]
    frame, clean_notes = clean_index(frame)
    notes += clean_notes

    # cadence: RunCadence (per foot) first; plain Cadence only for foot activities
    raw_cad = None
    source_el = None
    if "run_cadence" in frame:
        raw_cad, source_el = frame.pop("run_cadence").to_numpy(float), "RunCadence"
    if "cadence" in frame:
        plain = frame.pop("cadence").to_numpy(float)
        if raw_cad is None and sport in ("running", "other", None):
            raw_cad, source_el = plain, "Cadence"
        elif raw_cad is None:
            notes.append(f"{sport} cadence (rpm) is not a step rate: not kept")
    convention: dict[str, Any] | None = None
    factor = 2.0
    lap_cads = np.array([_num(lp.values.get("avg_run_cadence")) for lp in act.laps])
    if raw_cad is not None or np.isfinite(lap_cads).any():
        basis = raw_cad if raw_cad is not None and np.isfinite(raw_cad).any() else lap_cads
        factor, decision, median = cadence_convention(basis)
        convention = {"decision": decision, "factor": factor, "median_nonzero": median,
                      "element": source_el or "AvgRunCadence"}  # fmt: skip
        if raw_cad is not None:
            frame["cadence_spm"] = raw_cad * factor

    t = (frame.index.asi8 - (frame.index.asi8[0] if len(frame) else 0)) / 1e9
    t = np.asarray(t, dtype=float)
    speed_source = "TPX/Speed"
    if "distance_m" not in frame and {"latitude_deg", "longitude_deg"} <= set(frame.columns):
        dist, spikes = gps_distance(t, frame["latitude_deg"].to_numpy(float),
                                    frame["longitude_deg"].to_numpy(float))  # fmt: skip
        frame["distance_m"] = dist
        if spikes.any():
            notes.append(f"{int(spikes.sum())} GPS position spike(s) (implied speed > 12 m/s) "
                         "left out of the distance")  # fmt: skip
    dist = frame["distance_m"].to_numpy(float) if "distance_m" in frame else np.full(len(t), np.nan)
    t0_ns = int(frame.index.asi8[0]) if len(frame) else 0
    pauses, method = _lap_checked_pauses(t, dist, act.laps, t0_ns)
    timer, running, pause_info = infer_timer(t, dist, pauses=pauses)
    pause_info["method"] = method
    if "speed_mps" not in frame:
        speed_source = "derived from distance" if np.isfinite(dist).any() else "none"
        brk = np.zeros(len(t), dtype=bool)
        if len(t) > 1:
            brk[1:] = np.diff(timer) < np.diff(t) - 1e-9
        frame["speed_mps"] = speed_from_distance(t, dist, brk)

    lap_timer = np.array([_num(lp.values.get("timer_time_s")) for lp in act.laps])
    lap_dist = np.array([_num(lp.values.get("distance_m")) for lp in act.laps])
    pause_info["lap_timer_s"] = (
        float(np.nansum(lap_timer)) if np.isfinite(lap_timer).any() else None
    )
    pause_info["inferred_timer_s"] = float(timer[-1]) if len(timer) else None

    # the first lap's start is the session start (Garmin's Id is truncated to the minute)
    start = None
    if act.laps:
        start = pd.to_datetime(act.laps[0].start, utc=True, errors="coerce", format="ISO8601")
    if start is None or pd.isna(start):
        start = pd.to_datetime(act.id_text, utc=True, errors="coerce", format="ISO8601")
    if pd.isna(start):
        start = frame.index[0] if len(frame) else None
    if start is not None:
        start = pd.Timestamp(start).as_unit("ns")
        if len(frame) and frame.index[0] < start:
            start = frame.index[0]
    t0 = start.value if start is not None else (frame.index.asi8[0] if len(frame) else 0)
    frame["elapsed_s"] = (frame.index.asi8 - t0) / 1e9
    # timer time counts from the session start, like the FIT reader's
    frame["timer_s"] = timer + (frame["elapsed_s"].iloc[0] if len(frame) else 0.0)
    frame["timer_running"] = running

    end = frame.index[-1] if len(frame) else None
    laps = _laps_frame(act.laps, factor, end)
    has_lap_cad = np.isfinite(lap_cads) & np.isfinite(lap_timer) & (lap_timer > 0)
    avg_cad = (float(np.sum(lap_cads[has_lap_cad] * factor * lap_timer[has_lap_cad])
                     / np.sum(lap_timer[has_lap_cad])) if has_lap_cad.any() else None)  # fmt: skip
    tot_timer = float(np.nansum(lap_timer)) if np.isfinite(lap_timer).any() else None
    tot_dist = float(np.nansum(lap_dist)) if np.isfinite(lap_dist).any() else None
    elapsed_total = ((end - start).total_seconds() if end is not None and start is not None
                     else None)  # fmt: skip
    summary = device_summary(
        raw={"laps": [dict(lp.values, start_time=lp.start) for lp in act.laps]},
        distance_m=tot_dist,
        timer_time_s=tot_timer,
        elapsed_time_s=(end - start).total_seconds() if end is not None and start is not None
        else None,
        avg_speed_mps=tot_dist / tot_timer if tot_dist is not None and tot_timer else None,
        avg_cadence_spm=avg_cad,
    ) if act.laps else None  # fmt: skip

    manufacturer, product = _product(act.creator.get("Name"))
    if not act.complete:
        notes.append("this activity was cut short by the damage: no lap totals after it")
    records = finalize_records(attach_grade(frame))
    meta = {
        "source": name,
        "sha256": sha,
        "format": "tcx",
        "session_index": k,
        "sport": sport,
        "sub_sport": None,
        "manufacturer": manufacturer,
        "product": product,
        "device": None if manufacturer is None else f"{manufacturer}/{product}",
        "creator": dict(act.creator),
        "start_time": start,
        "utc_offset_s": None,  # TCX times are UTC and carry no local offset
        "device_summary": summary,
        # the timer time is the laps' TotalTimeSeconds added up (gaps between laps are
        # pauses); elapsed time spans the whole session and is never shorter than it
        "timer_time_s": tot_timer,
        "elapsed_time_s": (
            max(elapsed_total, tot_timer or 0.0) if elapsed_total is not None else tot_timer
        ),
        "cadence_convention": convention,
        "speed_source": speed_source,
        "pause_inference": pause_info,
        # an activity entered by hand has laps but no trackpoints: its figures are the laps'
        "summary_only": n == 0 and summary is not None,
        "warnings": notes,
    }
    return Run(records=records, laps=laps, meta=meta)


def sniff(head: bytes) -> bool:
    """True when the first bytes start a TCX document (root ``<TrainingCenterDatabase>``)."""
    return sniff_root(head) == "TrainingCenterDatabase"


def read_tcx(
    source: Source,
    *,
    name: str | None = None,
    sport: str | Iterable[str] | None = None,
) -> list[Run]:
    """Read every activity of a TCX file as a :class:`~stridekeeper.schema.Run`.

    Parameters
    ----------
    source
        Path (``.tcx`` or ``.tcx.gz``), bytes or binary file object.
    name
        How to name the file in messages and ``meta['source']`` (default: the path).
    sport
        Keep only activities of this sport (or these), e.g. ``"running"``; None keeps all.
        ``session_index`` counts every activity of the file.

    Returns
    -------
    list of Run
        One per ``<Activity>``, in file order; ``meta`` also holds ``cadence_convention``,
        ``pause_inference``, ``speed_source`` and ``creator``.

    Raises
    ------
    UnsupportedFormatError
        Not a TCX file, or one without activities (a course).
    CorruptFileError
        Nothing usable (damaged before the first trackpoint), or the XML declares entities.
    """
    data, display, sha = open_source(source, name)
    try:
        acts, notes = _parse(data, display)
        runs = [_build(a, k, display, sha, notes) for k, a in enumerate(acts)]
    except StridekeeperError:
        raise
    except Exception as exc:  # damaged content must never leak a raw exception
        log.debug("reading %s failed", display, exc_info=True)
        raise CorruptFileError(display, f"unreadable TCX content ({type(exc).__name__}: {exc})"
                               ) from exc  # fmt: skip
    warn_notes(runs, display)
    return filter_sport(runs, sport)
