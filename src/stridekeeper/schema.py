"""The canonical data model: column names, units, dtypes, :class:`Run`, validation.

Every column name carries its unit (``snake_case_<unit>``) and is defined here once.
Readers translate their source's names into these; nothing downstream renames them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .errors import SchemaError

__all__ = [
    "LAP_COLUMNS",
    "MOBILITY_COLUMNS",
    "PLANES",
    "RECORD_COLUMNS",
    "REGIONS",
    "Run",
    "validate_records",
    "validate_sessions",
]

#: Per-sample columns of ``Run.records``: name -> (unit, description).
#: The index is a tz-aware UTC ``DatetimeIndex`` named ``timestamp``.
RECORD_COLUMNS: dict[str, tuple[str, str]] = {
    "elapsed_s": ("s", "Time since the session's start, pauses included."),
    "timer_s": ("s", "Time with the timer running since the session's start (pauses excluded)."),
    "timer_running": ("bool", "True while the device's timer was running."),
    "distance_m": ("m", "Cumulative distance."),
    "speed_mps": ("m/s", "Speed over ground."),
    "cadence_spm": ("steps/min", "Cadence, both feet counted."),
    "step_length_m": ("m", "Length of one step (what watches call 'stride length')."),
    "heart_rate_bpm": ("beats/min", "Heart rate."),
    "altitude_m": ("m", "Altitude above sea level."),
    "grade_pct": ("%", "Slope of the ground (rise / run x 100)."),
    "latitude_deg": ("deg", "WGS84 latitude."),
    "longitude_deg": ("deg", "WGS84 longitude."),
    "vertical_oscillation_mm": ("mm", "Vertical oscillation of the torso."),
    "stance_time_ms": ("ms", "Ground contact time."),
    "power_w": ("W", "Running power (device or developer field, e.g. Stryd)."),
    "temperature_c": ("degC", "Temperature measured by the device."),
}

#: Columns a reader must always provide (NaN where unknown).
REQUIRED_RECORD_COLUMNS = ("elapsed_s", "timer_s", "timer_running", "distance_m", "speed_mps")

#: Per-lap columns of ``Run.laps``.
LAP_COLUMNS: dict[str, tuple[str, str]] = {
    "start_time": ("UTC", "Lap start."),
    "elapsed_time_s": ("s", "Lap elapsed time."),
    "timer_time_s": ("s", "Lap timer time."),
    "distance_m": ("m", "Lap distance."),
    "avg_speed_mps": ("m/s", "Device's average speed."),
    "avg_cadence_spm": ("steps/min", "Device's average cadence."),
    "avg_step_length_m": ("m", "Device's average step length."),
}

#: Fixed vocabulary of body regions for mobility work.
REGIONS: tuple[str, ...] = (
    "hips",
    "ankles",
    "thoracic",
    "calves",
    "hamstrings",
    "quads",
    "glutes",
    "feet",
    "lower_back",
    "shoulders",
    "full_body",
)

#: Planes of motion a drill works.
PLANES: tuple[str, ...] = ("sagittal", "frontal", "transverse")

#: Columns of the canonical mobility-session table: name -> (unit, description).
MOBILITY_COLUMNS: dict[str, tuple[str, str]] = {
    "session_id": ("", "Stable id: the same session read twice gets the same id."),
    "start_time": ("UTC", "Session start, tz-aware UTC."),
    "local_date": ("date", "Calendar date in the athlete's local time."),
    "duration_min": ("min", "Session duration."),
    "regions": ("", "Tuple of body regions from REGIONS."),
    "planes": ("", "Tuple of planes from PLANES, where known."),
    "drills": ("", "Tuple of drill names."),
    "rpe": ("0-10", "Rating of perceived exertion, NaN when not given."),
    "source": ("", "Where the session came from (file path; several joined by ';')."),
    "notes": ("", "Free text."),
}


@dataclass(frozen=True, eq=False)
class Run:
    """One session of one activity file, in the canonical form.

    Attributes
    ----------
    records
        Per-sample table; index ``timestamp`` (tz-aware UTC, strictly increasing), columns
        from :data:`RECORD_COLUMNS` (absent ones may be missing, never renamed).
    laps
        One row per lap (:data:`LAP_COLUMNS`), possibly empty.
    meta
        Everything else: ``source`` (path), ``sha256``, ``format``, ``session_index``,
        ``sport``, ``sub_sport``, ``manufacturer``, ``product``, ``device``, ``start_time``
        (UTC ``pd.Timestamp``), ``utc_offset_s`` (local time offset, seconds), ``device_summary``
        (the device's own session figures, canonical names and units, plus ``raw`` with the
        untouched message), ``warnings`` (list of strings) and reader-specific keys.
    """

    records: pd.DataFrame
    laps: pd.DataFrame = field(default_factory=pd.DataFrame)
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def sport(self) -> str | None:
        """The activity's sport (``'running'``, ``'cycling'``...), lower case, or None."""
        return self.meta.get("sport")

    @property
    def start_time(self) -> pd.Timestamp | None:
        """Session start, UTC."""
        return self.meta.get("start_time")

    @property
    def warnings(self) -> list[str]:
        """Data-quality notes attached by the reader."""
        return list(self.meta.get("warnings", []))

    def __repr__(self) -> str:
        src = self.meta.get("source")
        return (
            f"Run(sport={self.sport!r}, start_time={self.start_time}, "
            f"n_records={len(self.records)}, source={src!r}, "
            f"session_index={self.meta.get('session_index')})"
        )


def validate_records(records: pd.DataFrame) -> pd.DataFrame:
    """Check a records table against the canonical schema.

    Parameters
    ----------
    records
        A ``Run.records`` table.

    Returns
    -------
    pandas.DataFrame
        The same table, unchanged, so calls can be chained.

    Raises
    ------
    SchemaError
        When the index is not a strictly increasing tz-aware UTC ``DatetimeIndex`` named
        ``timestamp``, a required column is missing, an unknown column appears, or a numeric
        column is not numeric.
    """
    if not isinstance(records, pd.DataFrame):
        raise SchemaError(f"records must be a DataFrame, got {type(records).__name__}")
    idx = records.index
    if not isinstance(idx, pd.DatetimeIndex):
        raise SchemaError("records index must be a DatetimeIndex")
    if idx.name != "timestamp":
        raise SchemaError(f"records index must be named 'timestamp', not {idx.name!r}")
    if idx.tz is None or str(idx.tz) != "UTC":
        raise SchemaError(f"records index must be tz-aware UTC, got tz={idx.tz}")
    if len(idx) > 1 and not (np.diff(idx.asi8) > 0).all():
        raise SchemaError("records index must be strictly increasing")
    missing = [c for c in REQUIRED_RECORD_COLUMNS if c not in records.columns]
    if missing:
        raise SchemaError(f"records lack required column(s): {', '.join(missing)}")
    for col in records.columns:
        if col not in RECORD_COLUMNS and not str(col).startswith("dev_"):
            raise SchemaError(
                f"unknown records column {col!r}; allowed: {', '.join(RECORD_COLUMNS)} "
                "or developer fields prefixed 'dev_'"
            )
        if col == "timer_running":
            if records[col].dtype != bool:
                raise SchemaError("column 'timer_running' must be bool")
        elif not pd.api.types.is_numeric_dtype(records[col]):
            raise SchemaError(f"column {col!r} must be numeric, got {records[col].dtype}")
    return records


def validate_sessions(sessions: pd.DataFrame) -> pd.DataFrame:
    """Check a mobility-session table against :data:`MOBILITY_COLUMNS`.

    Parameters
    ----------
    sessions
        One row per mobility session.

    Returns
    -------
    pandas.DataFrame
        The same table, unchanged.

    Raises
    ------
    SchemaError
        On a missing column, a naive or non-UTC ``start_time``, a non-positive duration,
        a region outside :data:`REGIONS`, a plane outside :data:`PLANES`, or a duplicate id.
    """
    if not isinstance(sessions, pd.DataFrame):
        raise SchemaError(f"sessions must be a DataFrame, got {type(sessions).__name__}")
    missing = [c for c in MOBILITY_COLUMNS if c not in sessions.columns]
    if missing:
        raise SchemaError(f"sessions lack column(s): {', '.join(missing)}")
    st = sessions["start_time"]
    if len(st) and (not isinstance(st.dtype, pd.DatetimeTZDtype) or str(st.dtype.tz) != "UTC"):
        raise SchemaError(f"'start_time' must be tz-aware UTC, got {st.dtype}")
    dur = pd.to_numeric(sessions["duration_min"], errors="coerce")
    if len(dur) and not (dur > 0).all():
        raise SchemaError("'duration_min' must be > 0 for every session")
    for col, vocab in (("regions", REGIONS), ("planes", PLANES)):
        for value in sessions[col]:
            bad = [v for v in value if v not in vocab]
            if bad:
                raise SchemaError(f"{col} {bad} not in vocabulary: {', '.join(vocab)}")
    if sessions["session_id"].duplicated().any():
        raise SchemaError("'session_id' must be unique")
    return sessions
