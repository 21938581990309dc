"""Mobility sessions recorded by a watch (FIT yoga, flexibility, pilates, breathing, mobility).

A FIT activity file holds one ``session`` message per session (a multisport file may hold a
run and a yoga session). :func:`read_fit_mobility` keeps the sessions a watch records for
mobility work (docs/methods.md, "Mobility consistency") and turns each into one row of the canonical
mobility-session table (:data:`~stridekeeper.schema.MOBILITY_COLUMNS`), so that watch
recordings and a hand-kept log (:func:`~stridekeeper.io.mobility_log.read_mobility_log`) can
be combined and de-duplicated.

Which sessions count
--------------------
================  ==================================================  =====================
FIT sport         FIT sub_sport                                       ``notes``
================  ==================================================  =====================
``training`` (10) ``flexibility_training`` (19), ``yoga`` (43),       ``watch: <sub_sport>``
                  ``pilates`` (44), ``breathing`` (62)
``mobility`` (86) any (fitdecode may report the sport as ``86``)      ``watch: mobility``
================  ==================================================  =====================

``training`` / ``strength_training`` and every other sport are *not* mobility work and are
skipped silently; a file without mobility sessions gives an empty table.

Drills and regions from ``set`` messages
----------------------------------------
The exercise categories of the session's active ``set`` messages (rest sets skipped) become
``drills``, in order, each once. A category maps to body regions and planes only where the
category itself says which (:data:`CATEGORY_REGIONS`, :data:`CATEGORY_PLANES`); every other
category adds a drill but no region. ``unknown`` (65534) and empty categories are ignored.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable
from datetime import timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DataQualityWarning
from ..schema import PLANES, REGIONS, Run, empty_sessions, sessions_table, validate_sessions
from ..timezones import resolve_tz
from .fit import MOBILITY_SUB_SPORTS, read_fit
from .source import Source, open_source

if TYPE_CHECKING:
    import pandas as pd
else:
    from ..lazy import pandas as pd

__all__ = [
    "CATEGORY_PLANES",
    "CATEGORY_REGIONS",
    "MOBILITY_SPORTS",
    "is_mobility_session",
    "mobility_sessions",
    "read_fit_mobility",
]

logger = logging.getLogger(__name__)

#: FIT sport values meaning "mobility" on newer devices (enum 86; older fitdecode profiles
#: don't know its name and report the number).
MOBILITY_SPORTS = frozenset({"mobility", "86", 86})

# (sport, sub_sport) pairs of io.fit, as the strings Run.meta carries ("training", "yoga",
# or "10", "43" when the decoder had no name for a value).
_MOBILITY_PAIRS = frozenset((str(a).lower(), str(b).lower()) for a, b in MOBILITY_SUB_SPORTS)

#: FIT ``exercise_category`` -> body regions (from :data:`~stridekeeper.schema.REGIONS`).
#: Only categories whose name says which region they work are listed; trunk work (``core``,
#: ``plank``, ``crunch``, ``sit_up``) has no word in the region vocabulary and is *not*
#: counted as ``full_body`` (that would inflate whole-body minutes); ``total_body`` is.
CATEGORY_REGIONS: dict[str, tuple[str, ...]] = {
    "hip_stability": ("hips",),
    "hip_swing": ("hips",),
    "hip_raise": ("hips", "glutes"),  # bridges
    "leg_raise": ("hips",),  # hip flexors
    "calf_raise": ("calves",),
    "lunge": ("quads", "glutes"),
    "squat": ("quads", "glutes"),
    "leg_curl": ("hamstrings",),
    "deadlift": ("hamstrings", "glutes"),
    "hyperextension": ("lower_back",),
    "shoulder_stability": ("shoulders",),
    "shoulder_press": ("shoulders",),
    "lateral_raise": ("shoulders",),
    "total_body": ("full_body",),
}

#: FIT ``exercise_category`` -> planes of motion (from :data:`~stridekeeper.schema.PLANES`),
#: only where the category fixes the plane. Categories that mix planes (``hip_stability``:
#: clamshells and fire hydrants; ``hip_swing``: front-back or side leg swings) or hold a
#: position (``plank``) get none.
CATEGORY_PLANES: dict[str, tuple[str, ...]] = {
    "calf_raise": ("sagittal",),
    "lunge": ("sagittal",),
    "squat": ("sagittal",),
    "hip_raise": ("sagittal",),
    "leg_curl": ("sagittal",),
    "deadlift": ("sagittal",),
    "crunch": ("sagittal",),
    "sit_up": ("sagittal",),
    "lateral_raise": ("frontal",),
    "chop": ("transverse",),
}

_IGNORED_CATEGORIES = frozenset({"unknown", "65534"})
_REST = frozenset({"rest", "0", 0})


#: Sub-sports (names and FIT enum numbers) that are mobility work whatever sport carries
#: them; a sport of that name (``yoga``, ``pilates``, ``breathing``) is mobility too.
MOBILITY_SUB_SPORT_NAMES = frozenset(
    {"flexibility_training", "yoga", "pilates", "breathing", "19", "43", "44", "62"}
)
#: Sports under which those sub-sports appear: training (10), fitness_equipment (4),
#: generic (0).
_MOBILITY_HOST_SPORTS = frozenset(
    {"training", "10", "fitness_equipment", "4", "generic", "0"}
)  # fmt: skip


def is_mobility_session(sport: Any, sub_sport: Any) -> bool:
    """True when a FIT (sport, sub_sport) pair is mobility work (see the module's table).

    Parameters
    ----------
    sport, sub_sport
        As :func:`~stridekeeper.io.fit.read_fit` puts them in ``Run.meta`` (names such as
        ``"training"``, ``"yoga"``, or numbers as text or int).

    Returns
    -------
    bool
    """
    if sport is None:
        return False
    s = str(sport).lower()
    if s in MOBILITY_SPORTS or sport in MOBILITY_SPORTS or s in MOBILITY_SUB_SPORT_NAMES:
        return True
    sub = str(sub_sport).lower()
    if (s, sub) in _MOBILITY_PAIRS:
        return True
    # the same sub-sports under other sports: an FR55 writes fitness_equipment/pilates,
    # others fitness_equipment/yoga or generic/breathing
    return s in _MOBILITY_HOST_SPORTS and sub in MOBILITY_SUB_SPORT_NAMES


def _category_names() -> dict[int, str]:
    import fitdecode.profile  # local: keeps `stridekeeper --help` light

    return dict(fitdecode.profile.FIELD_TYPES["exercise_category"].enum)


def _categories(value: Any, names: dict[int, str]) -> list[str]:
    """A set's ``category`` (name, number, or an array of them) as category names."""
    items = value if isinstance(value, list | tuple) else [value]
    out: list[str] = []
    for item in items:
        if item is None or isinstance(item, bool):
            continue
        if isinstance(item, int | np.integer):
            name = names.get(int(item), f"exercise_category_{int(item)}")
        elif isinstance(item, str) and item.strip():
            name = item.strip().lower()
            if name.isdigit():
                name = names.get(int(name), f"exercise_category_{name}")
        else:
            continue
        if name not in _IGNORED_CATEGORIES:
            out.append(name)
    return out


def _drills(sets: Iterable[dict[str, Any]], names: dict[int, str]) -> tuple[str, ...]:
    drills: list[str] = []
    for s in sets:
        if s.get("set_type") in _REST or str(s.get("set_type")).lower() in _REST:
            continue
        drills.extend(_categories(s.get("category"), names))
    return tuple(dict.fromkeys(drills))


def _positive(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if np.isfinite(out) and out > 0 else None


def _duration_min(run: Run) -> float | None:
    """Timer time, else elapsed time (device summary), else the records' span. [min]"""
    summary = run.meta.get("device_summary") or {}
    for key in ("timer_time_s", "elapsed_time_s"):
        sec = _positive(summary.get(key))
        if sec is not None:
            return sec / 60.0
    rec = run.records
    if "elapsed_s" in rec and len(rec):
        sec = _positive(np.nanmax(rec["elapsed_s"].to_numpy(float)))
        if sec is not None:
            return sec / 60.0
    return None


def read_fit_mobility(
    source: Source,
    *,
    name: str | None = None,
    tz: str | tzinfo | int | None = None,
) -> pd.DataFrame:
    """Read the mobility sessions of a FIT activity file as canonical session rows.

    Parameters
    ----------
    source
        Path (``.fit`` or ``.fit.gz``), bytes or binary file object.
    name
        What to record in ``source`` and in messages (default: the path as given, the file
        object's ``name``, or ``<bytes>``).
    tz
        Zone for ``local_date`` when the file does not record its local time offset
        (``activity.local_timestamp``): an IANA name, a ``tzinfo`` or a UTC offset in
        seconds; None means the system's local zone (the rule of
        :func:`~stridekeeper.io.mobility_log.read_mobility_log`). The file's own offset wins
        when present.

    Returns
    -------
    pandas.DataFrame
        The canonical session table (:data:`~stridekeeper.schema.MOBILITY_COLUMNS`, that
        order), validated by :func:`~stridekeeper.schema.validate_sessions`, one row per
        mobility session of the file, sorted by ``start_time``, ``RangeIndex``; empty (same
        columns) when the file has none:

        ============  ==========================  ==============================================
        column        dtype / unit                from the FIT file
        ============  ==========================  ==============================================
        session_id    str                         same hash as the log reader: sha1 of start (UTC),
                                                  duration, sorted regions, sorted drills
        start_time    datetime64[us, UTC]         ``session.start_time``
        local_date    ``datetime.date``           start + the file's UTC offset (else ``tz``)
        duration_min  float64, [min]              ``total_timer_time`` / 60, else
                                                  ``total_elapsed_time`` / 60, else the records'
                                                  span
        regions       tuple of str                from the drills, :data:`CATEGORY_REGIONS`
        planes        tuple of str                from the drills, :data:`CATEGORY_PLANES`
        drills        tuple of str                active sets' exercise categories, in order,
                                                  each once (``"hip_stability"``, ``"plank"``)
        rpe           float64                     NaN (watches don't record it)
        source        str                         ``name`` or the path
        notes         str                         ``"watch: yoga"``, ``"watch: mobility"``...
        ============  ==========================  ==============================================

    Raises
    ------
    UnsupportedFormatError
        The bytes are not a FIT activity file.
    CorruptFileError
        Nothing usable could be decoded (damaged file, damaged gzip).
    StridekeeperError
        The path can't be read (missing, a folder, no permission).
    ValueError
        ``tz`` is not a known time zone.

    Notes
    -----
    A mobility session without a start time, or with no positive duration anywhere, can't be
    placed on the calendar: it is skipped with a
    :class:`~stridekeeper.errors.DataQualityWarning`. Damage the FIT reader recovered from is
    reported by :func:`~stridekeeper.io.fit.read_fit` with its own warnings.
    """
    zone = resolve_tz(tz)  # a bad zone fails before the file is read
    opened = open_source(source, name)
    return mobility_sessions(read_fit(opened), name=opened.name, tz=zone)


def mobility_sessions(
    runs: Iterable[Run], *, name: str | None = None, tz: str | tzinfo | int | None = None
) -> pd.DataFrame:
    """The mobility sessions among the decoded sessions of a FIT file, as session rows.

    The function of decoded sessions behind :func:`read_fit_mobility`: an importer that
    has read a file's runs with :func:`~stridekeeper.io.fit.read_fit` gets its mobility
    sessions from the same decode.

    Parameters
    ----------
    runs
        Every session of one file, as :func:`~stridekeeper.io.fit.read_fit` gives them
        (sessions of other sports are left out here).
    name
        What to record in ``source`` (default: the runs' ``meta['source']``).
    tz
        Zone for ``local_date`` when a session has no local offset (see
        :func:`read_fit_mobility`).

    Returns
    -------
    pandas.DataFrame
        The canonical session table, as :func:`read_fit_mobility` documents it.
    """
    zone = resolve_tz(tz)
    runs = list(runs)
    display = name or (str(runs[0].meta.get("source")) if runs else "<bytes>")
    mobility = [
        r for r in runs if is_mobility_session(r.meta.get("sport"), r.meta.get("sub_sport"))
    ]
    if not mobility:
        logger.debug("%s: no mobility sessions among %d session(s)", display, len(runs))
        return empty_sessions()

    names = _category_names()
    rows: list[dict[str, Any]] = []
    for run in mobility:
        meta = run.meta
        idx = meta.get("session_index")
        start = meta.get("start_time")
        duration = _duration_min(run)
        if start is None or pd.isna(start) or duration is None:
            what = "start time" if start is None or pd.isna(start) else "duration"
            warnings.warn(
                f"{display}: mobility session {idx} has no {what}; skipped",
                DataQualityWarning,
                stacklevel=2,
            )
            continue
        start = pd.Timestamp(start).tz_convert("UTC")
        offset = meta.get("utc_offset_s")
        local_zone = zone if offset is None else timezone(timedelta(seconds=float(offset)))
        drills = _drills(meta.get("sets") or [], names)
        regions = {r for d in drills for r in CATEGORY_REGIONS.get(d, ())}
        planes = {p for d in drills for p in CATEGORY_PLANES.get(d, ())}
        sport = str(meta.get("sport")).lower()
        kind = "mobility" if sport in MOBILITY_SPORTS else str(meta.get("sub_sport"))
        rows.append(
            {
                "start_time": start,
                "local_date": start.tz_convert(local_zone).date(),
                "duration_min": float(duration),
                "regions": tuple(r for r in REGIONS if r in regions),
                "planes": tuple(p for p in PLANES if p in planes),
                "drills": drills,
                "rpe": np.nan,
                "source": display,
                "notes": f"watch: {kind}",
            }
        )
    return validate_sessions(_table(rows))


def _table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return sessions_table(rows)
