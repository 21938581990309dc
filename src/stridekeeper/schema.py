"""The canonical data model: column names, units, dtypes, :class:`Run`, validation.

Every column name carries its unit (``snake_case_<unit>``) and is defined here once.
Readers translate their source's names into these; nothing downstream renames them.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from .errors import SchemaError

if TYPE_CHECKING:
    import pandas as pd
else:
    from .lazy import pandas as pd

__all__ = [
    "LAP_COLUMNS",
    "LIBRARY_RUN_COLUMNS",
    "MOBILITY_COLUMNS",
    "MOBILITY_DTYPES",
    "PLANES",
    "RECORD_COLUMNS",
    "REGIONS",
    "RUN_COLUMNS",
    "RecordColumns",
    "SUMMARY_COLUMNS",
    "Column",
    "Run",
    "empty_runs",
    "empty_sessions",
    "mobility_session_id",
    "runs_table",
    "sessions_table",
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

#: dtype of each :data:`MOBILITY_COLUMNS` column ("object" holds tuples and dates).
MOBILITY_DTYPES: dict[str, str] = {
    "session_id": "str",
    "start_time": "datetime64[us, UTC]",
    "local_date": "object",
    "duration_min": "float64",
    "regions": "object",
    "planes": "object",
    "drills": "object",
    "rpe": "float64",
    "source": "str",
    "notes": "str",
}


class Column(NamedTuple):
    """One column of a table: its unit, what it holds and its dtype."""

    unit: str
    description: str
    dtype: str


_S, _F, _I, _T = "str", "float64", "int64", "datetime64[us, UTC]"

#: The per-run metrics of ``summarize`` (one row per run), in order: name -> Column.
_SUMMARY: dict[str, Column] = {
    "source": Column("", "file the run was read from", _S),
    "session_index": Column("", "0-based position of the session in its file (all sports counted)", _I),
    "sport": Column("", "sport as the device recorded it", _S),
    "sub_sport": Column("", "sub-sport as the device recorded it", _S),
    "device": Column("", "manufacturer/product", _S),
    "start_time": Column("UTC", "session start", _T),
    "distance_m": Column("m", "distance covered", _F),
    "elapsed_time_s": Column("s", "session duration, pauses included", _F),
    "timer_time_s": Column("s", "time with the timer running", _F),
    "moving_time_s": Column("s", "time running (moving samples)", _F),
    "avg_speed_mps": Column("m/s", "distance / timer time", _F),
    "avg_cadence_spm": Column("steps/min", "device-comparable average cadence, timer time", _F),
    "running_cadence_spm": Column("steps/min", "average cadence over moving samples", _F),
    "avg_step_length_m": Column("m", "device-comparable average step length", _F),
    "avg_stride_length_m": Column("m", "2 x avg_step_length_m", _F),
    "step_length_source": Column("", "device (per-record) or derived (speed / cadence)", _S),
    "stride_dropoff_pct": Column("%", "late-run step-length drop-off at the same speed and grade", _F),
    "stride_dropoff_raw_pct": Column("%", "late vs reference step length, not normalised", _F),
    "stride_dropoff_ci95_low_pct": Column("%", "95 % interval of the drop-off, low end", _F),
    "stride_dropoff_ci95_high_pct": Column("%", "95 % interval of the drop-off, high end", _F),
    "cadence_drift_pct": Column("%", "late cadence vs speed/grade prediction (+ = higher)", _F),
    "dropoff_reason": Column("", "why the drop-off is missing (empty when it is computed)", _S),
    "dropoff_model": Column("", "speed+grade, or speed (no altitude)", _S),
    "dropoff_warning": Column("", "a caveat on the drop-off (extrapolated speed, implausible size)", _S),
    "gait_excluded_pct": Column("%", "timer time left out of the drop-off as walking, standing", _F),
    "gait_cadence_spm": Column("steps/min", "the gait rule's cadence threshold (walking below it, when slow)", _F),
    "gait_estimate_spm": Column("steps/min", "this run's own estimate of that threshold (for the athlete's)", _F),
    "dropoff_elasticity": Column("", "the fresh part's own step-speed elasticity (for the personal model)", _F),
    "dropoff_elasticity_se": Column("", "its standard error", _F),
    "dropoff_prior": Column("", "population (this run alone) or personal (the athlete's runs)", _S),
    "elevation_gain_m": Column("m", "total ascent", _F),
    "avg_temperature_c": Column("degC", "mean temperature while running", _F),
    "n_warnings": Column("", "data-quality notes attached by the reader", _I),
}  # fmt: skip

#: Columns the athlete library adds to each summary row: name -> Column.
LIBRARY_RUN_COLUMNS: dict[str, Column] = {
    "run_id": Column("", "stable id of the run (file content and session)", _S),
    "athlete": Column("", "whose run it is", _S),
    "source_sha256": Column("", "sha256 of the source file's stored bytes", _S),
    "format": Column("", "the reader's format name", _S),
    "utc_offset_s": Column("s", "local time offset at the run's start", _F),
    "summary_only": Column("bool", "True when only the source's averages are known (no samples)", "bool"),
    "device_summary_json": Column("", "the device's own session figures, as JSON", _S),
    "warnings_json": Column("", "the reader's data-quality notes, as JSON", _S),
    "records_file": Column("", "the library file holding the run's records", _S),
    "activity_id": Column("", "the export's id of the activity (Strava/Garmin), when known", _S),
    "imported_at": Column("UTC", "when the run was imported", _T),
}  # fmt: skip

#: The runs table: every :func:`~stridekeeper.metrics.summarize` column, then the library's.
RUN_COLUMNS: dict[str, Column] = {**_SUMMARY, **LIBRARY_RUN_COLUMNS}

#: The columns of :func:`~stridekeeper.metrics.summarize`'s row: name -> description with
#: the unit in brackets.
SUMMARY_COLUMNS: dict[str, str] = {
    name: c.description + (f" [{c.unit}]" if c.unit not in ("", "UTC") else " (UTC)" if c.unit else "")
    for name, c in _SUMMARY.items()
}  # fmt: skip


@dataclass(frozen=True, eq=False)
class RecordColumns:
    """A finished records table as numpy columns: what a reader's fast path builds.

    ``ts_ns`` are the sample times (UTC nanoseconds since 1970, int64, strictly
    increasing); ``data`` maps each column name (canonical order) to an array as long
    (``timer_running`` bool, everything else float); ``notes`` are the range check's notes.
    :meth:`frame` is the ``Run.records`` DataFrame these make. The importer reads the
    arrays directly: a DataFrame per run cost more than the metrics computed from it.
    """

    ts_ns: np.ndarray
    data: Mapping[str, np.ndarray]
    notes: Sequence[str] = ()

    def __len__(self) -> int:
        return len(self.ts_ns)

    def frame(self) -> pd.DataFrame:
        """The records DataFrame (index ``timestamp``, tz-aware UTC); shares the arrays."""
        index = pd.DatetimeIndex(np.asarray(self.ts_ns, dtype=np.int64).view("datetime64[ns]"),
                                 tz="UTC", name="timestamp")  # fmt: skip
        out = pd.DataFrame(dict(self.data), index=index, copy=False)
        if self.notes:
            out.attrs["quality_notes"] = list(self.notes)
        return out


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
        (a UTC ``datetime``: a ``pd.Timestamp``, or from the FIT reader a plain datetime;
        :attr:`start_time` always gives a Timestamp), ``utc_offset_s`` (local time offset, seconds), ``device_summary``
        (the device's own session figures, canonical names and units, plus ``raw`` with the
        untouched message), ``warnings`` (list of strings) and reader-specific keys.

    A reader may give ``records`` as :class:`RecordColumns` and ``laps`` as a function
    that builds them: each DataFrame is then built when first asked for (the importer
    never asks; it reads :attr:`columns`).
    """

    __slots__ = ("_columns", "_laps", "_records", "meta")
    _columns: RecordColumns | None
    _laps: pd.DataFrame | Callable[[], pd.DataFrame]
    _records: pd.DataFrame | None
    meta: Mapping[str, Any]

    def __init__(
        self,
        records: pd.DataFrame | RecordColumns,
        laps: pd.DataFrame | Callable[[], pd.DataFrame] | None = None,
        meta: Mapping[str, Any] | None = None,
    ):
        cols = records if isinstance(records, RecordColumns) else None
        object.__setattr__(self, "_columns", cols)
        object.__setattr__(self, "_records", None if cols is not None else records)
        object.__setattr__(self, "_laps", pd.DataFrame() if laps is None else laps)
        object.__setattr__(self, "meta", {} if meta is None else meta)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Run is read-only: cannot set {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:  # pickle and copy through __init__
        records = self._columns if self._columns is not None else self._records
        return (Run, (records, self.laps, self.meta))

    @property
    def records(self) -> pd.DataFrame:
        """The per-sample table (see the class docstring)."""
        if self._records is None:
            assert self._columns is not None  # one of the two is always set
            object.__setattr__(self, "_records", self._columns.frame())
        return self._records

    @property
    def laps(self) -> pd.DataFrame:
        """One row per lap, possibly empty."""
        if callable(self._laps):
            object.__setattr__(self, "_laps", self._laps())
        return self._laps

    @property
    def columns(self) -> RecordColumns | None:
        """The records as numpy columns when the reader built them so, else None."""
        return self._columns

    @property
    def n_records(self) -> int:
        """Number of samples, without building the records table."""
        return len(self._columns) if self._columns is not None else len(self.records)

    @property
    def record_notes(self) -> list[str]:
        """The range check's notes on the records (``records.attrs['quality_notes']``)."""
        if self._columns is not None:
            return list(self._columns.notes)
        return list(self.records.attrs.get("quality_notes", []))

    @property
    def sport(self) -> str | None:
        """The activity's sport (``'running'``, ``'cycling'``...), lower case, or None."""
        return self.meta.get("sport")

    @property
    def start_time(self) -> pd.Timestamp | None:
        """Session start, UTC, as a pandas Timestamp (``meta['start_time']`` may be a plain
        UTC datetime: the FIT reader keeps pandas off the import path)."""
        value = self.meta.get("start_time")
        return None if value is None else pd.Timestamp(value)

    @property
    def warnings(self) -> list[str]:
        """Data-quality notes attached by the reader."""
        return list(self.meta.get("warnings", []))

    def __repr__(self) -> str:
        src = self.meta.get("source")
        return (
            f"Run(sport={self.sport!r}, start_time={self.meta.get('start_time')}, "
            f"n_records={self.n_records}, source={src!r}, "
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


def _typed(values: Sequence[Any] | None, dtype: str, n: int) -> pd.Series:
    if dtype == "object":
        arr = np.empty(n, dtype=object)
        for i, v in enumerate(values or ()):  # element-wise: keeps tuples and dates as objects
            arr[i] = v
        return pd.Series(arr, dtype=object)
    if dtype.startswith("datetime64"):
        idx = pd.DatetimeIndex(pd.to_datetime(list(values or ()), utc=True))
        return pd.Series(idx.as_unit("us").array)
    return pd.Series(list(values or ()), dtype=dtype)


def empty_runs(columns: Iterable[str] | None = None) -> pd.DataFrame:
    """A runs table with no rows and every column typed as :data:`RUN_COLUMNS` says.

    Parameters
    ----------
    columns
        Keep these columns (default: all of :data:`RUN_COLUMNS`, in order).
    """
    names = list(RUN_COLUMNS) if columns is None else [c for c in columns if c in RUN_COLUMNS]
    return pd.DataFrame({c: _typed(None, RUN_COLUMNS[c].dtype, 0) for c in names})


def runs_table(
    rows: Sequence[Mapping[str, Any]], columns: Iterable[str] | None = None
) -> pd.DataFrame:
    """Summary rows (dicts keyed by :data:`RUN_COLUMNS` names) as one table, in order.

    Columns are those of ``columns`` (default: every :data:`SUMMARY_COLUMNS` column); a
    value a row lacks is missing. No rows give :func:`empty_runs` of those columns.
    """
    names = list(SUMMARY_COLUMNS) if columns is None else list(columns)
    if not rows:
        return empty_runs(names)
    return pd.DataFrame({c: [r.get(c) for r in rows] for c in names})


def mobility_session_id(
    start_time: pd.Timestamp, duration_min: float, regions: Iterable[str], drills: Iterable[str]
) -> str:
    """The stable id of a mobility session: the same session read twice gets the same id.

    Parameters
    ----------
    start_time
        Session start, tz-aware UTC.
    duration_min
        Duration. [min]
    regions, drills
        Body regions and drill names (order does not matter).
    """
    key = "|".join([start_time.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), f"{duration_min:.6f}",
                    ",".join(sorted(regions)), ";".join(sorted(drills))])  # fmt: skip
    return hashlib.sha1(key.encode("utf-8"), usedforsecurity=False).hexdigest()[:16]


def empty_sessions() -> pd.DataFrame:
    """A mobility-session table with no rows, typed as :data:`MOBILITY_DTYPES`."""
    return _empty_sessions_template().copy()


@functools.cache
def _empty_sessions_template() -> pd.DataFrame:
    # built once: typing a dozen empty columns costs ~2.5 ms, a copy ~0.1 ms (every FIT
    # file of an import asks for its, usually empty, mobility sessions)
    return pd.DataFrame({c: _typed(None, MOBILITY_DTYPES[c], 0) for c in MOBILITY_COLUMNS})


def sessions_table(
    rows: Sequence[Mapping[str, Any]], extra: Mapping[str, Sequence[Any]] | None = None
) -> pd.DataFrame:
    """The canonical mobility-session table from one dict per session, by start time.

    Parameters
    ----------
    rows
        One mapping per session with every :data:`MOBILITY_COLUMNS` key but ``session_id``
        (``start_time`` tz-aware). Ids come from :func:`mobility_session_id`; a repeat
        of the same session within the table gets ``-2``, ``-3``... appended.
    extra
        More columns (name -> one value per row, kept as objects) after the canonical ones.

    Returns
    -------
    pandas.DataFrame
        :data:`MOBILITY_COLUMNS` typed as :data:`MOBILITY_DTYPES`, then ``extra``, sorted by
        ``start_time`` (stable), index 0..n-1.
    """
    n = len(rows)
    ids: list[str] = []
    seen: dict[str, int] = {}
    for r in rows:
        start = pd.Timestamp(r["start_time"]).tz_convert("UTC")
        base = mobility_session_id(start, r["duration_min"], r["regions"], r["drills"])
        seen[base] = seen.get(base, 0) + 1
        ids.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    cols = {c: _typed(ids if c == "session_id" else [r[c] for r in rows], MOBILITY_DTYPES[c], n)
            for c in MOBILITY_COLUMNS}  # fmt: skip
    cols.update({c: _typed(v, "object", n) for c, v in (extra or {}).items()})
    table = pd.DataFrame(cols)
    return table.sort_values("start_time", kind="stable").reset_index(drop=True)
