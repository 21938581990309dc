"""Garmin Connect summaries: ``Activities.csv`` and the data export's ``summarizedActivities.json``.

Both hold one row of averages per activity and no samples. Each activity becomes a
summary-only :class:`~stridekeeper.schema.Run`: empty records (with the required columns),
``meta['summary_only'] = True`` and the figures, in canonical units, in
``meta['device_summary']`` (the source row under ``raw``):

=====================  ==========  ==========================================  ============================
device_summary key     unit        ``Activities.csv``                          ``summarizedActivities.json``
=====================  ==========  ==========================================  ============================
``distance_m``         m           Distance (km, or mi in US files)            distance [cm] / 100
``timer_time_s``       s           Time (``h:mm:ss``)                          duration [ms] / 1000
``elapsed_time_s``     s           Elapsed Time                                elapsedDuration [ms] / 1000
``moving_time_s``      s           Moving Time                                 movingDuration [ms] / 1000
``avg_speed_mps``      m/s         distance / timer time                       avgSpeed [cm/ms] x 10
``avg_cadence_spm``    steps/min   Avg Run Cadence (steps/min already)         avgDoubleCadence, else
                                                                               2 x avgRunCadence
``avg_step_length_m``  m           Avg Stride Length (ONE step; m, or ft)      avgStrideLength [cm] / 100
``total_strides``      strides     Steps / 2                                   steps / 2
``total_ascent_m``     m           Total Ascent (m, or ft in US files)         elevationGain [cm] / 100
``avg_heart_rate_bpm`` 1/min       Avg HR                                      avgHr
``avg_temperature_c``  degC        mean of Min Temp and Max Temp               mean of min/maxTemperature
=====================  ==========  ==========================================  ============================

``Activities.csv``: headers may be localised (English, Danish, Norwegian, German, Swedish,
Dutch, French, Spanish variants in :data:`HEADERS`); ``--`` means missing; ``Date`` is local
wall-clock time without an offset, read in ``tz`` (default: the system's zone). US and
metric files use the same headers: the units are found from the rows themselves (step length
x cadence must equal distance / time, which holds in one unit system only), else metric with a
note, unless ``units=`` says.

``summarizedActivities.json``: the export's list holding ``{"summarizedActivitiesExport":
[...]}`` (a bare list of activities is read too); ``startTimeGmt`` [ms since 1970, UTC] is
the start, ``startTimeLocal - startTimeGmt`` the local offset.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import CorruptFileError, StridekeeperError, UnsupportedFormatError
from ..jsonsafe import json_safe
from ..schema import Run
from ..timezones import resolve_tz
from .parsing import csv_rows, localize, parse_duration_s, parse_number
from .records import (
    device_summary,
    filter_sport,
    has_figures,
    summary_run,
    warn_notes,
    warn_skipped,
)
from .source import Source, csv_header, decode_text, json_head, open_source

if TYPE_CHECKING:
    import pandas as pd
else:
    from ..lazy import pandas as pd

__all__ = [
    "HEADERS",
    "activity_sport",
    "is_garmin_activities_header",
    "read_garmin_activities_csv",
    "read_garmin_summary_json",
    "sniff_activities_csv",
    "sniff_summary_json",
]

log = logging.getLogger(__name__)


def _key(header: str) -> str:
    """Header as matched: lower case, no ®/™, single spaces."""
    h = header.replace("®", "").replace("™", "").strip().lower()
    return re.sub(r"\s+", " ", h)


#: Canonical field -> header spellings (matched case-insensitively, spaces collapsed).
HEADERS: dict[str, tuple[str, ...]] = {
    "activity_type": ("activity type", "aktivitetstype", "aktivitätstyp", "aktivitetstyp",
                      "activiteittype", "type d'activité", "tipo de actividad",
                      "tipo di attività", "typ aktywności"),
    "date": ("date", "dato", "datum", "fecha", "data", "start", "date de début"),
    "title": ("title", "titel", "tittel", "titre", "título", "titolo", "activity name"),
    "distance": ("distance", "distanse", "distanz", "distancia", "afstand", "distanza",
                 "sträcka", "dystans"),
    "calories": ("calories", "kalorier", "totale kalorier", "kalorien", "calorías", "calorie"),
    "time": ("time", "tid", "zeit", "temps", "tiempo", "tijd", "czas"),
    "moving_time": ("moving time", "tid i bevegelse", "bevægelsestid", "tid i bevægelse",
                    "bewegungszeit", "temps de déplacement", "tiempo en movimiento",
                    "tijd in beweging", "rörelsetid"),
    "elapsed_time": ("elapsed time", "medgått tid", "forløbet tid", "samlet tid",
                     "verstrichene zeit", "gesamtzeit", "temps écoulé", "tiempo transcurrido",
                     "verstreken tijd", "förfluten tid"),
    "avg_hr": ("avg hr", "gennemsnitlig puls", "gjennomsnittlig puls", "ø herzfrequenz",
               "genomsnittlig puls", "gem. hartslag", "fc moyenne", "fc media"),
    "max_hr": ("max hr", "maks. puls", "makspuls", "maks puls", "maximale herzfrequenz",
               "max. herzfrequenz", "maxpuls", "max. hartslag", "fc max.", "fc máxima"),
    "avg_run_cadence": ("avg run cadence", "avg cadence", "gennemsnit kadence løb",
                        "gennemsnitlig løbekadence", "gns. løbekadence",
                        "gjennomsnittlig frekvens for løping",
                        "gjennomsnittlig frekvens for loping", "ø schrittfrequenz (laufen)",
                        "ø laufkadenz", "genomsnittlig löpkadens", "gem. loopcadans",
                        "cadence de course moyenne", "cadencia de carrera media"),
    "max_run_cadence": ("max run cadence", "max cadence", "maksimum kadence løb",
                        "maksimal frekvens for løping", "max. schrittfrequenz (laufen)",
                        "max. laufkadenz"),
    "avg_pace": ("avg pace", "gennemsnitstempo", "gjennomsnittlig tempo", "ø pace",
                 "genomsnittligt tempo", "gem. tempo", "allure moyenne", "ritmo medio"),
    "total_ascent": ("total ascent", "elev gain", "elevation gain", "højdeforøgelse",
                     "samlet stigning", "total stigning", "stigning totalt",
                     "positiver höhenunterschied", "anstieg gesamt", "total stigning",
                     "totale stijging", "ascension totale", "ascenso total"),
    "total_descent": ("total descent", "elev loss", "højdereduktion", "samlet fald",
                      "totalt fall", "negativer höhenunterschied", "abstieg gesamt"),
    "avg_stride_length": ("avg stride length", "gennemsnitlig skridtlængde",
                          "gns. skridtlængde", "gjennomsnittlig skrittlengde",
                          "ø schrittlänge", "genomsnittlig steglängd", "gem. staplengte",
                          "longueur moyenne des foulées", "longitud media de zancada"),
    "avg_vertical_ratio": ("avg vertical ratio", "gennemsnitligt vertikalt forhold",
                           "gjennomsnittlig vertikalt forholdstall", "ø vertikales verhältnis"),
    "avg_vertical_oscillation": ("avg vertical oscillation",
                                 "gennemsnitligt vertikalt udsving",
                                 "gjennomsnittlig vertikal oscillasjon",
                                 "ø vertikale bewegung"),
    "avg_ground_contact_time": ("avg ground contact time",
                                "gjennomsnittlig tid med bakkekontakt",
                                "gennemsnitlig jordkontakttid", "ø bodenkontaktzeit"),
    "steps": ("steps", "skridt", "skritt", "schritte", "steg", "stappen", "pas", "pasos"),
    "min_temp": ("min temp", "minimum temperatur", "minimumstemperatur", "min. temperatur"),
    "max_temp": ("max temp", "maksimum temperatur", "makstemperatur", "max. temperatur"),
    "avg_power": ("avg power", "gennemsnitlig kraft", "gjennomsnittlig kraft",
                  "ø leistung"),
    "laps": ("number of laps", "antal omgange", "antal løb", "antall runder",
             "anzahl runden"),
}  # fmt: skip

_LOOKUP: dict[str, str] = {sp: field for field, spellings in HEADERS.items() for sp in spellings}

#: Words in an activity type that mean running (English and the export's languages).
_RUN_WORDS = ("running", "run", "løb", "løping", "loping", "laufen", "lauf", "course",
              "carrera", "corsa", "hardlopen", "löpning", "juoksu", "bieg", "corrida",
              "løbebånd", "tredemølle", "laufband", "treadmill")  # fmt: skip
_SUB_WORDS = {
    "trail": ("trail", "terræn", "terreng", "terrain"),
    "treadmill": ("treadmill", "løbebånd", "tredemølle", "laufband", "tapis", "löpband",
                  "cinta", "loopband"),
    "track": ("track", "bane", "bahn", "piste", "pista"),
    "indoor_running": ("indoor", "indendørs", "innendørs", "drinnen", "intérieur"),
    "virtual_activity": ("virtual",),
    "street": ("street",),
}  # fmt: skip
_OTHER_SPORTS = {
    "walking": ("walking", "walk", "gang", "gåtur", "gå", "gehen", "marche", "caminar",
                "wandelen"),
    "hiking": ("hiking", "hike", "vandring", "fottur", "wandern", "randonnée", "senderismo"),
    "cycling": ("cycling", "biking", "cykling", "sykling", "radfahren", "vélo", "ciclismo",
                "fietsen", "ride"),
}  # fmt: skip


def activity_sport(activity_type: Any) -> tuple[str | None, str | None]:
    """(sport, sub_sport) from an activity type in any of the export's languages.

    ``"Running"``, ``"street_running"``, ``"Løb"``, ``"Trail Running"`` -> running (sub-sport
    trail, treadmill, track, indoor_running, street where said); walking, hiking and cycling
    likewise; anything else its own name in snake case.
    """
    if activity_type is None:
        return None, None
    text = str(activity_type).strip().lower()
    if not text or text == "--":
        return None, None
    words = re.split(r"[\s_\-/]+", text)
    if any(w in _RUN_WORDS or w.endswith(("running", "løb", "løping")) for w in words):
        for sub, subwords in _SUB_WORDS.items():
            if any(w in subwords or w.startswith(subwords) for w in words):
                return "running", sub
        return "running", None
    for sport, names in _OTHER_SPORTS.items():
        if any(w in names for w in words):
            return sport, None
    return re.sub(r"\W+", "_", text).strip("_") or None, None


def _fields(header: list[str]) -> dict[str, int]:
    """Canonical field -> first column holding it."""
    out: dict[str, int] = {}
    for i, h in enumerate(header):
        f = _LOOKUP.get(_key(h))
        if f is not None and f not in out:
            out[f] = i
    return out


def is_garmin_activities_header(header: list[str]) -> bool:
    """True for the header row of a Garmin Connect ``Activities.csv`` (any language).

    An activity type, a date, and a distance or time column, and no ``Activity ID`` (that
    is Strava's export).
    """
    keys = {_key(h) for h in header}
    if "activity id" in keys:
        return False
    f = _fields(header)
    return "activity_type" in f and "date" in f and ("distance" in f or "time" in f)


def sniff_activities_csv(head: bytes) -> bool:
    """True when the first bytes are the header of a Garmin Connect ``Activities.csv``."""
    fields = csv_header(head)
    return bool(fields) and is_garmin_activities_header(fields)


def sniff_summary_json(head: bytes) -> bool:
    """True when the first bytes start Garmin's ``*summarizedActivities.json``."""
    text = json_head(head)
    return text is not None and ("summarizedActivitiesExport" in text or '"activityId"' in text)


# --------------------------------------------------------------------------- Activities.csv


def _decide_units(rows: list[dict[str, float]]) -> tuple[str, str, str]:
    """(distance unit, stride unit, why) from rows' distance, time, cadence and stride."""
    best = None
    for dist_unit, dfac in (("km", 1000.0), ("mi", 1609.344)):
        for stride_unit, sfac in (("m", 1.0), ("ft", 0.3048)):
            errs = []
            for r in rows:
                d, t, c, s = r["distance"], r["time"], r["cadence"], r["stride"]
                if all(np.isfinite(x) and x > 0 for x in (d, t, c, s)):
                    errs.append(abs(np.log(d * dfac / t / (c / 60.0) / (s * sfac))))
            if errs:
                score = float(np.median(errs))
                if best is None or score < best[0]:
                    best = (score, dist_unit, stride_unit, len(errs))
    if best is None or best[0] > 0.05:
        return "", "", ""
    return best[1], best[2], (f"step length x cadence matches distance / time in "
                              f"{best[1]} and {best[2]} ({best[3]} rows)")  # fmt: skip


def read_garmin_activities_csv(
    source: Source,
    *,
    name: str | None = None,
    sport: str | Iterable[str] | None = None,
    tz: Any = None,
    units: str | None = None,
) -> list[Run]:
    """Read a Garmin Connect ``Activities.csv`` as summary-only runs, one per row.

    Parameters
    ----------
    source
        Path, bytes or file object.
    name
        How to name the file in messages and ``meta['source']``.
    sport
        Keep only activities of this sport (or these), e.g. ``"running"``; None keeps all.
    tz
        Zone of the local ``Date`` column: IANA name, tzinfo or UTC offset [s]; None means
        the system's zone.
    units
        ``"metric"`` (km, m) or ``"statute"`` (mi, ft); None finds them from the rows.

    Returns
    -------
    list of Run
        Summary-only runs in file order (``session_index`` = row number from 0);
        ``meta['title']``, ``meta['activity_type']`` and ``meta['units']`` added.

    Raises
    ------
    UnsupportedFormatError
        Not a Garmin ``Activities.csv`` (the header lacks activity type and date).
    ValueError
        ``tz`` or ``units`` is not valid.
    """
    if units not in (None, "metric", "statute"):
        raise ValueError(f"units must be 'metric', 'statute' or None, got {units!r}")
    zone = resolve_tz(tz)
    data, display, sha = open_source(source, name)
    try:
        runs = _activities_csv(data, display, sha, zone, units, tz)
    except StridekeeperError:
        raise
    except Exception as exc:  # damaged content must never leak a raw exception
        log.debug("reading %s failed", display, exc_info=True)
        raise CorruptFileError(display, f"unreadable Activities.csv ({type(exc).__name__}: "
                               f"{exc})") from exc  # fmt: skip
    warn_notes(runs, display)
    return filter_sport(runs, sport)


def _activities_csv(data: bytes, name: str, sha: str, zone: Any, units: str | None,
                    tz: Any) -> list[Run]:  # fmt: skip
    text = decode_text(data, name)
    header, rows, delim = csv_rows(text, name)
    if not is_garmin_activities_header(header):
        raise UnsupportedFormatError(f"{name}: not a Garmin Connect Activities.csv (needs "
                                     f"activity type, date and distance or time columns; "
                                     f"found: {', '.join(header)})")  # fmt: skip
    f = _fields(header)
    decimal_comma = delim == ";"

    def cell(row: list[str], field: str) -> str | None:
        i = f.get(field)
        return row[i] if i is not None and i < len(row) else None

    def num(row: list[str], field: str) -> float:
        return parse_number(cell(row, field), decimal_comma=decimal_comma)

    parsed = []
    for row in rows:
        if not any(v.strip() for v in row):
            continue
        parsed.append({
            "row": row,
            "distance": num(row, "distance"),
            "time": parse_duration_s(cell(row, "time")),
            "cadence": num(row, "avg_run_cadence"),
            "stride": num(row, "avg_stride_length"),
        })  # fmt: skip
    notes: list[str] = []
    if units is not None:
        dist_unit, stride_unit = ("km", "m") if units == "metric" else ("mi", "ft")
        why = "given by the caller"
    else:
        dist_unit, stride_unit, why = _decide_units(parsed)
        if not dist_unit:
            dist_unit, stride_unit = "km", "m"
            why = "assumed metric (no row lets step length and cadence tell)"
            notes.append("units not stated in Activities.csv and not decidable from the rows: "
                         "read as metric (km, m); pass units='statute' for a US file")  # fmt: skip
    statute = dist_unit == "mi"
    dfac = 1609.344 if statute else 1000.0
    sfac = 0.3048 if stride_unit == "ft" else 1.0
    efac = 0.3048 if statute else 1.0

    dates = [cell(p["row"], "date") for p in parsed]
    naive = pd.to_datetime(pd.Series(dates, dtype=object), errors="coerce", format="mixed")
    utc, offsets = localize(pd.DatetimeIndex(naive), zone)
    zone_name = str(getattr(zone, "key", zone))
    if tz is None:
        notes.append(f"start times are local wall-clock times without an offset: read in the "
                     f"system's time zone ({zone_name}); pass tz= to say which")  # fmt: skip

    runs: list[Run] = []
    skipped = 0
    for k, p in enumerate(parsed):
        row = p["row"]
        sport, sub = activity_sport(cell(row, "activity_type"))
        dist = p["distance"] * dfac
        timer = p["time"]
        cad = p["cadence"]
        step = p["stride"] * sfac
        if not (step > 0):
            step = np.nan
        if not (cad > 0) or sport not in ("running", "walking", "hiking", None):
            cad = np.nan  # a bike's cadence is not a step rate
        tmin, tmax = num(row, "min_temp"), num(row, "max_temp")
        temps = [x for x in (tmin, tmax) if np.isfinite(x)]
        steps = num(row, "steps")
        summary = device_summary(
            raw={h: (row[i] if i < len(row) else None) for i, h in enumerate(header)},
            distance_m=dist,
            timer_time_s=timer,
            elapsed_time_s=parse_duration_s(cell(row, "elapsed_time")),
            avg_speed_mps=dist / timer if timer and timer > 0 and np.isfinite(dist) else np.nan,
            avg_cadence_spm=cad,
            avg_step_length_m=step,
            total_strides=steps / 2.0 if steps > 0 else np.nan,
            total_ascent_m=num(row, "total_ascent") * efac,
            avg_temperature_c=float(np.mean(temps)) if temps else np.nan,
            moving_time_s=parse_duration_s(cell(row, "moving_time")),
            avg_heart_rate_bpm=num(row, "avg_hr"),
            avg_vertical_oscillation_mm=num(row, "avg_vertical_oscillation") * 10.0,
            avg_stance_time_ms=num(row, "avg_ground_contact_time"),
        )
        if not has_figures(summary):
            skipped += 1
            continue
        start = utc[k]
        row_notes = list(notes)
        if pd.isna(start):
            row_notes.append(f"date {cell(row, 'date')!r} not understood: start time unknown")
        runs.append(summary_run(
            source=name, sha256=sha, fmt="garmin_activities_csv", session_index=k,
            sport=sport, sub_sport=sub,
            start_time=None if pd.isna(start) else start,
            utc_offset_s=None if not np.isfinite(offsets[k]) else float(offsets[k]),
            summary=summary, notes=row_notes, manufacturer="garmin",
            title=cell(row, "title"), activity_type=cell(row, "activity_type"),
            time_zone=zone_name,
            units={"distance": dist_unit, "step_length": stride_unit,
                   "elevation": "ft" if statute else "m", "basis": why},
        ))  # fmt: skip
    warn_skipped(name, skipped)
    return runs


# --------------------------------------------------------------------------- JSON
#: Garmin activity type keys that are runs, with their sub-sport.
_JSON_RUN_TYPES = {
    "running": None, "street_running": "street", "track_running": "track",
    "trail_running": "trail", "treadmill_running": "treadmill",
    "indoor_running": "indoor_running", "virtual_run": "virtual_activity",
    "ultra_run": None, "obstacle_run": None,
}  # fmt: skip


def _json_activities(obj: Any) -> list[dict[str, Any]] | None:
    if isinstance(obj, dict):
        if "summarizedActivitiesExport" in obj:
            return _json_activities(obj["summarizedActivitiesExport"])
        return [obj] if "activityId" in obj or "startTimeGmt" in obj else None
    if isinstance(obj, list):
        out: list[dict[str, Any]] = []
        found = False
        for item in obj:
            if isinstance(item, dict) and "summarizedActivitiesExport" in item:
                inner = _json_activities(item["summarizedActivitiesExport"])
                if inner is not None:
                    out.extend(inner)
                    found = True
            elif isinstance(item, dict) and ("activityId" in item or "startTimeGmt" in item):
                out.append(item)
                found = True
        return out if found else None
    return None


def _f(act: dict[str, Any], key: str, factor: float = 1.0) -> float:
    v = act.get(key)
    if isinstance(v, bool) or not isinstance(v, int | float):
        return np.nan
    v = float(v)
    return v * factor if np.isfinite(v) else np.nan


def read_garmin_summary_json(
    source: Source,
    *,
    name: str | None = None,
    sport: str | Iterable[str] | None = None,
) -> list[Run]:
    """Read Garmin's ``summarizedActivities.json`` as summary-only runs.

    Parameters
    ----------
    source
        Path, bytes or file object.
    name
        How to name the file in messages and ``meta['source']``.
    sport
        Keep only activities of this sport (or these); None keeps all.

    Returns
    -------
    list of Run
        One per activity in file order; ``meta['activity_id']``, ``meta['title']``,
        ``meta['activity_type']`` and ``meta['time_zone']`` added.

    Raises
    ------
    UnsupportedFormatError
        JSON that is not a Garmin activity summary export.
    CorruptFileError
        The file is not valid JSON.
    """
    data, display, sha = open_source(source, name)
    try:
        text = decode_text(data, display)
        try:
            obj = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise CorruptFileError(display, f"not valid JSON ({exc})") from None
        acts = _json_activities(obj)
        if acts is None:
            raise UnsupportedFormatError(f"{display}: JSON, but not Garmin's summarized "
                                         "activities export (no 'summarizedActivitiesExport' "
                                         "or activities with 'activityId')")  # fmt: skip
        runs = [_json_run(a, k, display, sha) for k, a in enumerate(acts)]
    except StridekeeperError:
        raise
    except Exception as exc:  # damaged content must never leak a raw exception
        log.debug("reading %s failed", display, exc_info=True)
        raise CorruptFileError(display, f"unreadable summary JSON ({type(exc).__name__}: "
                               f"{exc})") from exc  # fmt: skip
    warn_notes(runs, display)
    return filter_sport(runs, sport)


def _json_run(act: dict[str, Any], k: int, name: str, sha: str) -> Run:
    notes: list[str] = []
    atype = act.get("activityType")
    if isinstance(atype, dict):
        atype = atype.get("typeKey")
    type_key = str(atype).lower() if atype is not None else None
    if type_key in _JSON_RUN_TYPES:
        sport, sub = "running", _JSON_RUN_TYPES[type_key]
    elif type_key is not None:
        sport, sub = activity_sport(type_key)
    else:
        sport, sub = activity_sport(act.get("sportType"))
    start_ms = _f(act, "startTimeGmt")
    if not np.isfinite(start_ms):
        start_ms = _f(act, "beginTimestamp")
    start = pd.Timestamp(int(start_ms), unit="ms", tz="UTC").as_unit("ns") if np.isfinite(
        start_ms) else None  # fmt: skip
    local_ms = _f(act, "startTimeLocal")
    offset = None
    if np.isfinite(local_ms) and np.isfinite(start_ms):
        off = (local_ms - start_ms) / 1000.0
        if abs(off) <= 14 * 3600:
            offset = float(round(off / 900.0) * 900.0)
    if start is None:
        notes.append("no startTimeGmt: start time unknown")
    dist = _f(act, "distance", 0.01)
    timer = _f(act, "duration", 0.001)
    speed = _f(act, "avgSpeed", 10.0)
    if not np.isfinite(speed) and timer > 0:
        speed = dist / timer
    cad = _f(act, "avgDoubleCadence")
    if not np.isfinite(cad):
        cad = _f(act, "avgRunCadence", 2.0)
    if not (cad > 0):
        cad = np.nan
    step = _f(act, "avgStrideLength", 0.01)
    if not (step > 0):
        step = np.nan
    steps = _f(act, "steps")
    tmin, tmax = _f(act, "minTemperature"), _f(act, "maxTemperature")
    temps = [x for x in (tmin, tmax) if np.isfinite(x)]
    summary = device_summary(
        raw=json_safe(act),
        distance_m=dist,
        timer_time_s=timer,
        elapsed_time_s=_f(act, "elapsedDuration", 0.001),
        avg_speed_mps=speed,
        avg_cadence_spm=cad,
        avg_step_length_m=step,
        total_strides=steps / 2.0 if steps > 0 else np.nan,
        total_ascent_m=_f(act, "elevationGain", 0.01),
        avg_temperature_c=float(np.mean(temps)) if temps else np.nan,
        moving_time_s=_f(act, "movingDuration", 0.001),
        avg_heart_rate_bpm=_f(act, "avgHr"),
    )
    manu = act.get("manufacturer")
    manufacturer = str(manu).lower() if manu else "garmin"
    return summary_run(
        source=name, sha256=sha, fmt="garmin_summary_json", session_index=k, sport=sport,
        sub_sport=sub, start_time=start, utc_offset_s=offset, summary=summary, notes=notes,
        manufacturer=manufacturer, activity_id=act.get("activityId"), title=act.get("name"),
        activity_type=type_key, time_zone=act.get("timeZoneId"),
    )  # fmt: skip
