"""Strava's bulk-export ``activities.csv``: one row of averages per activity.

Each row becomes a summary-only :class:`~stridekeeper.schema.Run` (empty records,
``meta['summary_only'] = True``, figures in ``meta['device_summary']``, the row under
``raw``). Strava repeats some headers: the first ``Distance`` is in the athlete's display
units (km or mi), a later ``Distance`` in metres; ``Elapsed Time`` likewise appears twice
(seconds both times). The metric (later) columns are used; the first ``Distance`` only when
it is the only one (km, or metres when above 300, noted).

=====================  ==========  ==================================================
device_summary key     unit        ``activities.csv`` column
=====================  ==========  ==================================================
``distance_m``         m           the last ``Distance`` (metres)
``timer_time_s``       s           ``Timer Time``, else ``Moving Time``
``elapsed_time_s``     s           ``Elapsed Time``
``moving_time_s``      s           ``Moving Time``
``avg_speed_mps``      m/s         ``Average Speed``, else distance / timer time
``avg_cadence_spm``    steps/min   ``Average Cadence`` x 2 for runs whose average is
                                   below 120 (Strava stores one foot), else x 1
``avg_step_length_m``  m           None: Strava has no stride length
``total_strides``      strides     ``Total Steps`` / 2
``total_ascent_m``     m           ``Elevation Gain``
``avg_heart_rate_bpm`` 1/min       ``Average Heart Rate``
``avg_temperature_c``  degC        ``Average Temperature``
=====================  ==========  ==================================================

``Activity Date`` (``Oct 7, 2020, 2:43:11 PM``) is UTC. ``Filename`` links the row to its
activity file in the export (``activities/123.fit.gz``): it is kept in
``meta['linked_file']`` so an import can prefer the file, which has every sample.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import CorruptFileError, StridekeeperError, UnsupportedFormatError
from ..schema import Run
from .garmin_export import activity_sport
from .parsing import csv_rows, parse_number
from .records import (
    cadence_convention,
    device_summary,
    filter_sport,
    has_figures,
    summary_run,
    warn_notes,
    warn_skipped,
)
from .source import Source, csv_header, decode_text, open_source

if TYPE_CHECKING:
    import pandas as pd
else:
    from ..lazy import pandas as pd

__all__ = ["is_strava_activities_header", "read_strava_activities_csv", "sniff"]

log = logging.getLogger(__name__)

_FOOT = ("running", "walking", "hiking")


def _norm(h: str) -> str:
    return " ".join(h.strip().lower().split())


def is_strava_activities_header(header: list[str]) -> bool:
    """True for the header of Strava's ``activities.csv`` (``Activity ID`` + ``Activity Type``)."""
    keys = {_norm(h) for h in header}
    return "activity id" in keys and "activity type" in keys


def sniff(head: bytes) -> bool:
    """True when the first bytes are the header of Strava's ``activities.csv``."""
    return is_strava_activities_header(csv_header(head))


def read_strava_activities_csv(
    source: Source,
    *,
    name: str | None = None,
    sport: str | Iterable[str] | None = None,
) -> list[Run]:
    """Read Strava's ``activities.csv`` as summary-only runs, one per activity.

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
        In file order; ``meta`` adds ``activity_id``, ``title``, ``activity_type``,
        ``linked_file`` (path inside the export, or None), ``display_distance_unit`` and
        ``cadence_convention``.

    Raises
    ------
    UnsupportedFormatError
        Not Strava's activities.csv (no ``Activity ID`` and ``Activity Type`` columns).
    """
    data, display, sha = open_source(source, name)
    try:
        runs = _read(data, display, sha)
    except StridekeeperError:
        raise
    except Exception as exc:  # damaged content must never leak a raw exception
        log.debug("reading %s failed", display, exc_info=True)
        raise CorruptFileError(display, f"unreadable activities.csv ({type(exc).__name__}: "
                               f"{exc})") from exc  # fmt: skip
    warn_notes(runs, display)
    return filter_sport(runs, sport)


def _read(data: bytes, name: str, sha: str) -> list[Run]:
    text = decode_text(data, name)
    header, rows, _ = csv_rows(text, name)
    if not is_strava_activities_header(header):
        raise UnsupportedFormatError(f"{name}: not Strava's activities.csv (needs 'Activity ID' "
                                     f"and 'Activity Type'; found: {', '.join(header)})")  # fmt: skip
    positions: dict[str, list[int]] = {}
    for i, h in enumerate(header):
        positions.setdefault(_norm(h), []).append(i)

    def cell(row: list[str], col: str, which: int = -1) -> str | None:
        pos = positions.get(col)
        if not pos:
            return None
        i = pos[which]
        return row[i] if i < len(row) else None

    def num(row: list[str], col: str, which: int = -1) -> float:
        return parse_number(cell(row, col, which))

    rows = [r for r in rows if any(v.strip() for v in r)]
    two_distances = len(positions.get("distance", [])) >= 2
    display_unit = None
    if two_distances:
        ratios = [num(r, "distance", -1) / num(r, "distance", 0) for r in rows
                  if num(r, "distance", 0) > 0 and num(r, "distance", -1) > 0]  # fmt: skip
        if ratios:
            med = float(np.median(ratios))
            display_unit = "mi" if abs(np.log(med / 1609.344)) < abs(np.log(med / 1000.0)) else "km"
    dates = pd.to_datetime(pd.Series([cell(r, "activity date", 0) for r in rows], dtype=object),
                           errors="coerce", format="%b %d, %Y, %I:%M:%S %p")  # fmt: skip
    if dates.isna().any():
        alt = pd.to_datetime(pd.Series([cell(r, "activity date", 0) for r in rows], dtype=object),
                             errors="coerce", format="mixed")  # fmt: skip
        dates = dates.fillna(alt)
    runs: list[Run] = []
    skipped = 0
    for k, row in enumerate(rows):
        notes: list[str] = []
        atype = cell(row, "activity type", 0)
        sport, sub = activity_sport(atype)
        if two_distances:
            dist = num(row, "distance", -1)
        else:
            d = num(row, "distance", 0)
            dist = d if d > 300 else d * 1000.0
            notes.append("a single Distance column: read as metres" if d > 300
                         else "a single Distance column: read as kilometres")  # fmt: skip
        moving = num(row, "moving time")
        timer = num(row, "timer time")
        if not timer > 0:
            timer = moving
        elapsed = num(row, "elapsed time", -1)
        if not np.isfinite(elapsed):
            elapsed = num(row, "elapsed time", 0)
        speed = num(row, "average speed")
        if not np.isfinite(speed) and timer > 0 and np.isfinite(dist):
            speed = dist / timer
        cad_raw = num(row, "average cadence")
        convention = None
        cad = np.nan
        if cad_raw > 0 and sport in (*_FOOT, None):
            factor, decision, med = cadence_convention(np.array([cad_raw]))
            cad = cad_raw * factor
            convention = {"decision": decision, "factor": factor, "median_nonzero": med}
        steps = num(row, "total steps")
        start = dates.iloc[k]
        if pd.isna(start):
            notes.append(f"activity date {cell(row, 'activity date', 0)!r} not understood")
        summary = device_summary(
            raw={h: (row[i] if i < len(row) else None) for i, h in enumerate(header)},
            distance_m=dist,
            timer_time_s=timer,
            elapsed_time_s=elapsed,
            avg_speed_mps=speed,
            avg_cadence_spm=cad,
            avg_step_length_m=None,
            total_strides=steps / 2.0 if steps > 0 else np.nan,
            total_ascent_m=num(row, "elevation gain"),
            avg_temperature_c=num(row, "average temperature"),
            moving_time_s=moving,
            avg_heart_rate_bpm=num(row, "average heart rate"),
        )
        if not has_figures(summary):
            skipped += 1
            continue
        linked: Any = (cell(row, "filename", 0) or "").strip() or None
        runs.append(summary_run(
            source=name, sha256=sha, fmt="strava_activities_csv", session_index=k, sport=sport,
            sub_sport=sub,
            start_time=None if pd.isna(start) else pd.Timestamp(start).tz_localize("UTC").as_unit("ns"),
            utc_offset_s=None, summary=summary, notes=notes,
            activity_id=cell(row, "activity id", 0), title=cell(row, "activity name", 0),
            activity_type=atype, linked_file=linked, display_distance_unit=display_unit,
            cadence_convention=convention,
        ))  # fmt: skip
    warn_skipped(name, skipped)
    return runs
