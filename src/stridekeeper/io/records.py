"""Building a run: canonical record columns and range checks, the per-file cadence
convention, pauses inferred from time gaps, the device summary, run metadata and warnings.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DataQualityWarning
from ..schema import LAP_COLUMNS, RECORD_COLUMNS, REQUIRED_RECORD_COLUMNS, RecordColumns, Run
from .geo import INDOOR_SUB_SPORTS, grade_from_altitude

if TYPE_CHECKING:
    import pandas as pd
else:
    from ..lazy import pandas as pd

__all__ = [
    "DISTANCE_BACKSTEP_M",
    "PAUSE_GAP_S",
    "PAUSE_MAX_SPEED_MPS",
    "PER_FOOT_BELOW_SPM",
    "RANGE_LIMITS",
    "SUMMARY_KEYS",
    "cadence_convention",
    "clean_index",
    "device_summary",
    "empty_laps",
    "empty_records",
    "filter_sport",
    "finalize_records",
    "has_figures",
    "infer_timer",
    "pause_candidates",
    "record_columns",
    "records_from_arrays",
    "summary_run",
    "warn_notes",
    "warn_skipped",
]

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


def empty_records() -> pd.DataFrame:
    """An empty records table with the required columns and a UTC index."""
    idx = pd.DatetimeIndex([], tz="UTC", name="timestamp")
    frame = pd.DataFrame(index=idx, columns=list(REQUIRED_RECORD_COLUMNS), dtype=float)
    frame["timer_running"] = frame["timer_running"].astype(bool)
    return frame


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
        low, high = RANGE_LIMITS.get(col, (-np.inf, np.inf))
        # the common case at two reductions: every value finite and in range (NaN ignored)
        lo, hi = np.fmin.reduce(values), np.fmax.reduce(values)
        if -np.inf < lo and hi < np.inf and low <= lo and hi <= high:
            continue
        # NaN compares False: it stays as it is
        bad = np.isinf(values) | (values < low) | (values > high)
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
    if not (np.less(dist[1:], dist[:-1]).any() or np.isnan(dist).any()):  # never decreasing
        return np.zeros(len(dist), dtype=bool)
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


def record_columns(
    ts_ns: np.ndarray, columns: dict[str, np.ndarray], *, sub_sport: str | None = None
) -> RecordColumns:
    """A finished records table straight from numpy columns (the readers' fast path).

    The columns of ``finalize_records(attach_grade(frame, sub_sport=sub_sport))`` of the
    frame these make, without building any frame (:meth:`RecordColumns.frame` builds it).
    Warns (:class:`DataQualityWarning`) with the range check's notes.

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
    data, notes = _checked(_canonical_columns(present, len(ts_ns)))
    if notes:
        warnings.warn("; ".join(notes), DataQualityWarning, stacklevel=2)
    return RecordColumns(np.asarray(ts_ns, dtype=np.int64), data, tuple(notes))


def records_from_arrays(
    ts_ns: np.ndarray, columns: dict[str, np.ndarray], *, sub_sport: str | None = None
) -> pd.DataFrame:
    """:func:`record_columns` as the records DataFrame."""
    return record_columns(ts_ns, columns, sub_sport=sub_sport).frame()


#: A running file whose median non-zero cadence is below this counts one foot. [1/min]
PER_FOOT_BELOW_SPM = 120.0


def cadence_convention(
    values: np.ndarray, *, threshold_spm: float = PER_FOOT_BELOW_SPM
) -> tuple[float, str, float]:
    """Decide per file whether cadence counts one foot or both (docs/methods.md, units).

    A running file whose median non-zero cadence is below ``threshold_spm`` counts one foot
    (strides/min: Garmin's TCX ``RunCadence``, GPX ``cad``, FIT): it is doubled. Above, it is
    already steps/min (Apple, some phone apps).

    Parameters
    ----------
    values
        Cadence samples as written in the file.
    threshold_spm
        The decision threshold. [1/min]

    Returns
    -------
    (float, str, float)
        The factor to steps/min (2 or 1), the decision (``"per_foot_doubled"`` or
        ``"steps_per_min"``) and the median non-zero value it rests on (NaN if none).
    """
    v = np.asarray(values, dtype=float)
    nz = v[np.isfinite(v) & (v > 0)]
    if len(nz) == 0:
        return 2.0, "per_foot_doubled", float("nan")
    med = float(np.median(nz))
    if med < threshold_spm:
        return 2.0, "per_foot_doubled", med
    return 1.0, "steps_per_min", med


#: A gap between samples longer than this may be a pause. [s]
PAUSE_GAP_S = 10.0

#: ... and is one when the average speed across it is below this. [m/s]
PAUSE_MAX_SPEED_MPS = 1.0


def pause_candidates(
    t_s: np.ndarray,
    dist_m: np.ndarray,
    *,
    gap_s: float = PAUSE_GAP_S,
    max_speed_mps: float = PAUSE_MAX_SPEED_MPS,
) -> tuple[np.ndarray, np.ndarray]:
    """Gaps between samples that look like pauses.

    Returns
    -------
    (numpy.ndarray of bool, numpy.ndarray)
        Per gap (``len(t_s) - 1``): longer than ``gap_s`` and crossed at under
        ``max_speed_mps`` (unknown distance: not a pause); and the average speed across each
        gap [m/s].
    """
    dt = np.diff(np.asarray(t_s, float))
    dd = np.diff(np.asarray(dist_m, float)) if len(t_s) > 1 else np.zeros(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        v = dd / np.maximum(dt, 1e-9)
    slow = np.where(np.isfinite(v), v < max_speed_mps, False)
    return (dt > gap_s) & slow, v


def infer_timer(
    t_s: np.ndarray,
    dist_m: np.ndarray,
    *,
    breaks: np.ndarray | None = None,
    pauses: np.ndarray | None = None,
    gap_s: float = PAUSE_GAP_S,
    max_speed_mps: float = PAUSE_MAX_SPEED_MPS,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Timer time for formats without timer events, from gaps between samples.

    Watches and apps stop writing samples while paused (auto-pause or the stop button), so
    a gap longer than ``gap_s`` crossed at less than ``max_speed_mps`` on average (no
    distance gained: a stop, not a GPS dropout on the move) is a pause, as the FIT timer
    events of the same activities show. A pause adds nothing to the timer (the sample that
    resumes is written when the timer restarts, as in FIT files); any other gap counts in
    full. ``breaks`` (e.g. GPX track-segment boundaries) are pauses whatever their speed.

    Parameters
    ----------
    t_s
        Sample times, increasing. [s]
    dist_m
        Cumulative distance [m]; NaN where unknown (an unknown gap is not a pause).
    breaks
        True at a sample that starts a new segment after a recorded pause.
    pauses
        Per gap (``len(t_s) - 1``), which ones are pauses: overrides the gap rule (the TCX
        reader chooses them against the laps' own timer totals).
    gap_s
        Shortest gap that may be a pause. [s]
    max_speed_mps
        Fastest average speed across a gap that still counts as standing. [m/s]

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, dict)
        ``timer_s`` per sample [s] (from 0), ``timer_running`` per sample (all True: samples
        are only written while the timer runs) and a description of the inference
        (``n_pauses``, ``paused_s``, the thresholds).
    """
    n = len(t_s)
    info: dict[str, Any] = {"method": "time gaps", "gap_s": gap_s,
                            "max_speed_mps": max_speed_mps, "n_pauses": 0, "paused_s": 0.0}  # fmt: skip
    if n == 0:
        return np.zeros(0), np.zeros(0, dtype=bool), info
    dt = np.diff(np.asarray(t_s, float))
    if pauses is None:
        pause, _ = pause_candidates(t_s, dist_m, gap_s=gap_s, max_speed_mps=max_speed_mps)
    else:
        pause = np.asarray(pauses, bool).copy()
    if breaks is not None and n > 1:
        pause |= np.asarray(breaks, bool)[1:] & (dt > 0)
    inc = np.where(pause, 0.0, dt)
    timer = np.concatenate([[0.0], np.cumsum(inc)])
    info["n_pauses"] = int(pause.sum())
    info["paused_s"] = float(dt[pause].sum())
    return timer, np.ones(n, dtype=bool), info


def clean_index(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Drop samples without a time, sort, merge samples sharing a timestamp.

    Returns
    -------
    (pandas.DataFrame, list of str)
        The cleaned frame and notes on what was done.
    """
    notes: list[str] = []
    valid = ~frame.index.isna()
    if not valid.all():
        notes.append(f"{int((~valid).sum())} sample(s) without a valid time dropped")
        frame = frame.loc[valid]
    if len(frame) > 1:
        d = np.diff(frame.index.asi8)
        if (d < 0).any():
            notes.append(f"{int((d < 0).sum())} sample(s) out of time order: sorted")
            frame = frame.sort_index(kind="stable")
        if frame.index.has_duplicates:
            # lap boundaries repeat the last point of a lap as the first of the next
            frame = frame.groupby(level=0, sort=True).last()
    frame.index.name = "timestamp"
    return frame, notes


#: Keys of ``meta['device_summary']`` (canonical names and units), in order.
SUMMARY_KEYS = (
    "distance_m",
    "timer_time_s",
    "elapsed_time_s",
    "avg_speed_mps",
    "avg_cadence_spm",
    "avg_step_length_m",
    "total_strides",
    "total_ascent_m",
    "avg_temperature_c",
)


def _finite(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if np.isfinite(out) else None


def device_summary(raw: Any = None, **values: Any) -> dict[str, Any]:
    """The ``meta['device_summary']`` dictionary: every key of :data:`SUMMARY_KEYS`.

    Parameters
    ----------
    raw
        The untouched source values (JSON-safe), kept under ``raw``.
    **values
        Canonical figures; missing or non-finite ones become None. Extra keys (e.g.
        ``moving_time_s``) are kept after the standard ones.

    Returns
    -------
    dict
    """
    out: dict[str, Any] = {k: _finite(values.get(k)) for k in SUMMARY_KEYS}
    for k, v in values.items():
        if k not in out:
            out[k] = _finite(v)
    out["raw"] = raw
    return out


def empty_laps() -> pd.DataFrame:
    """A lap table with the canonical columns and no rows."""
    frame = pd.DataFrame({c: pd.Series(dtype=float) for c in LAP_COLUMNS})
    frame["start_time"] = pd.Series(pd.DatetimeIndex([], tz="UTC"))
    return frame


def warn_notes(runs: Iterable[Run], source: str, *, stacklevel: int = 3) -> None:
    """Emit each distinct note of ``meta['warnings']`` once as a DataQualityWarning."""
    said: set[str] = set()
    for run in runs:
        for note in run.meta.get("warnings", []):
            if note not in said:
                said.add(note)
                warnings.warn(f"{source}: {note}", DataQualityWarning, stacklevel=stacklevel)


def filter_sport(runs: list[Run], sport: str | Iterable[str] | None) -> list[Run]:
    """Keep runs of ``sport`` (one name or several); None keeps all."""
    if sport is None:
        return runs
    wanted = {sport} if isinstance(sport, str) else set(sport)
    return [r for r in runs if r.meta.get("sport") in wanted]


def has_figures(summary: Mapping[str, Any]) -> bool:
    """True when a summary row holds a distance or a duration (else it is only a name)."""
    return any(summary.get(k) is not None for k in ("distance_m", "timer_time_s",
                                                   "elapsed_time_s"))  # fmt: skip


def warn_skipped(source: str, n: int) -> None:
    """One DataQualityWarning for summary rows without any figure."""
    if n:
        warnings.warn(f"{source}: {n} row(s) without distance or duration skipped (nothing to "
                      "analyse)", DataQualityWarning, stacklevel=3)  # fmt: skip


def summary_run(
    *,
    source: str,
    sha256: str,
    fmt: str,
    session_index: int,
    sport: str | None,
    sub_sport: str | None,
    start_time: pd.Timestamp | None,
    utc_offset_s: float | None,
    summary: dict[str, Any],
    notes: list[str],
    **extra: Any,
) -> Run:
    """A run known only by its averages: empty records, ``meta['summary_only'] = True``.

    The records table has the required columns and no rows; the figures live in
    ``meta['device_summary']``, which :func:`~stridekeeper.metrics.summary.summarize`
    reports for such runs.
    """
    meta: dict[str, Any] = {
        "source": source,
        "sha256": sha256,
        "format": fmt,
        "session_index": session_index,
        "sport": sport,
        "sub_sport": sub_sport,
        "manufacturer": extra.pop("manufacturer", None),
        "product": extra.pop("product", None),
        "device": extra.pop("device", None),
        "start_time": start_time,
        "utc_offset_s": utc_offset_s,
        "device_summary": summary,
        "summary_only": True,
        **extra,
        "warnings": list(notes),
    }
    records, laps = _empty_summary_frames()
    return Run(records=records.copy(), laps=laps.copy(), meta=meta)


@functools.lru_cache(maxsize=1)
def _empty_summary_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The empty records and laps of a summary run, built once (a copy each is 30x cheaper:
    a Garmin export has thousands of summary rows)."""
    return finalize_records(empty_records()), empty_laps()
