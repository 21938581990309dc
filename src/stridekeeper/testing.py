"""Helpers for testing readers: the shared conformance check and synthetic exports.

:func:`check_run_conforms` is what every reader's output must satisfy (the MNE
``_test_raw_reader`` idea): each format's tests call it on their own files.
:func:`write_apple_health_export` writes an Apple Health ``export.xml`` with known truth,
streamed line by line so that benchmark-sized files (hundreds of megabytes) cost no memory.
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import IO, Any

import numpy as np

from .schema import RECORD_COLUMNS, Run, validate_records

__all__ = ["SOURCE_KINDS", "AppleRunTruth", "check_reader_conforms", "check_run_conforms",
           "write_apple_health_export", "write_cohort_export"]  # fmt: skip


def check_run_conforms(run: Run) -> None:
    """Raise AssertionError unless ``run`` follows the canonical schema and conventions.

    Checks the records against :func:`~stridekeeper.schema.validate_records`, the metadata
    keys every reader fills, a tz-aware start, canonical column names, plausible units
    (cadence in steps/min, step length in metres, latitude in degrees) and a timer that
    never runs backwards. Summary-only runs must have empty records and a device summary.

    Parameters
    ----------
    run
        Any reader's output.
    """
    validate_records(run.records)
    for key in ("source", "sha256", "format", "session_index", "sport", "start_time",
                "utc_offset_s", "device_summary", "warnings"):  # fmt: skip
        assert key in run.meta, key
    assert len(run.meta["sha256"]) == 64
    start = run.meta["start_time"]
    assert start is None or start.tzinfo is not None
    rec = run.records
    known = [c for c in rec.columns if not c.startswith("dev_")]
    assert set(known) <= set(RECORD_COLUMNS)
    if "cadence_spm" in rec and rec["cadence_spm"].notna().any():
        assert rec["cadence_spm"].max() < 400  # steps/min, not per foot doubled twice
    if "step_length_m" in rec and rec["step_length_m"].notna().any():
        assert rec["step_length_m"].median() < 3.0  # metres, not mm
    if "latitude_deg" in rec and rec["latitude_deg"].notna().any():
        assert rec["latitude_deg"].abs().max() <= 90
    assert (np.diff(rec["timer_s"].to_numpy()) >= -1e-9).all()
    assert isinstance(run.meta["warnings"], list)
    if run.meta.get("summary_only"):
        assert len(rec) == 0
        assert isinstance(run.meta["device_summary"], dict)


#: The ways a reader is given a file: a path, its bytes, a binary file object, a ``.gz``.
SOURCE_KINDS: tuple[str, ...] = ("path", "bytes", "file", "gz")


def check_reader_conforms(
    reader: Callable[..., list[Run]], path: str | PathLike[str], kind: str, tmp_dir: Path
) -> list[Run]:
    """Raise AssertionError unless ``reader`` reads ``path`` given as ``kind`` (one of
    :data:`SOURCE_KINDS`) exactly as it reads the path itself, and conformant.

    Every run passes :func:`check_run_conforms`; records, session indices and device
    summaries equal those read from the path; ``meta['sha256']`` is the SHA-256 of the
    bytes as given (the ``.gz`` file's own for ``"gz"``, the file's for the others), so a
    library keys the same stored file the same way whichever door it came in by.

    Parameters
    ----------
    reader
        A reader entry point, ``reader(source, name=...)`` -> list of Run.
    path
        A file the reader reads.
    kind
        How to hand it over.
    tmp_dir
        Where to write the ``.gz`` copy.

    Returns
    -------
    list of Run
        What the reader gave for ``kind``.
    """
    import gzip
    import hashlib
    import io
    import json

    import pandas as pd

    raw = Path(path).read_bytes()
    name = Path(path).name
    expected = reader(path, name=name)
    if kind == "path":
        got, stored = expected, raw
    elif kind == "bytes":
        got, stored = reader(raw, name=name), raw
    elif kind == "file":
        got, stored = reader(io.BytesIO(raw), name=name), raw
    elif kind == "gz":
        stored = gzip.compress(raw, mtime=0)
        gz = Path(tmp_dir) / f"{name}.gz"
        gz.write_bytes(stored)
        got = reader(gz, name=name)
    else:
        raise ValueError(f"kind must be one of {SOURCE_KINDS}, got {kind!r}")
    assert len(got) == len(expected) > 0, (kind, len(got), len(expected))
    sha = hashlib.sha256(stored).hexdigest()
    for run, ref in zip(got, expected, strict=True):
        check_run_conforms(run)
        assert run.meta["sha256"] == sha, (kind, "sha256 is not the stored bytes' hash")
        assert run.meta["session_index"] == ref.meta["session_index"]
        same = [json.dumps(r.meta["device_summary"], sort_keys=True, default=str)
                for r in (run, ref)]  # fmt: skip
        assert same[0] == same[1], (kind, "device summaries differ")
        pd.testing.assert_frame_equal(run.records, ref.records)
    return got


# --------------------------------------------------------------------------- Apple Health
@dataclass
class AppleRunTruth:
    """What a synthetic running workout was written with (canonical units)."""

    start_utc_s: float
    duration_s: float
    pause: tuple[float, float] | None
    speed_mps: float
    cadence_spm: float
    heart_rate_bpm: float
    stance_time_ms: float
    vertical_oscillation_mm: float
    timer_s: float = 0.0
    distance_m: float = 0.0
    step_length_m: float = field(init=False)

    def __post_init__(self) -> None:
        self.step_length_m = self.speed_mps / (self.cadence_spm / 60.0)


_HK = "HKQuantityTypeIdentifier"
_DEVICE = ("&lt;&lt;HKDevice: 0x283a&gt;, name:Apple Watch, manufacturer:Apple Inc., "
           "model:Watch, hardware:Watch6,2, software:9.0&gt;")  # fmt: skip
_DTD = """<!DOCTYPE HealthData [
<!-- HealthKit Export Version: 14 -->
<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout|ActivitySummary)*)>
<!ATTLIST HealthData
  locale CDATA #REQUIRED
>
<!ELEMENT ExportDate EMPTY>
<!ATTLIST ExportDate
  value CDATA #REQUIRED
>
<!ELEMENT Me EMPTY>
<!ATTLIST Me
  HKCharacteristicTypeIdentifierDateOfBirth         CDATA #REQUIRED
  HKCharacteristicTypeIdentifierBiologicalSex       CDATA #REQUIRED
>
<!ELEMENT Record ((MetadataEntry|HeartRateVariabilityMetadataList)*)>
<!ATTLIST Record
  type          CDATA #REQUIRED
  unit          CDATA #IMPLIED
  value         CDATA #IMPLIED
  sourceName    CDATA #REQUIRED
  sourceVersion CDATA #IMPLIED
  device        CDATA #IMPLIED
  creationDate  CDATA #IMPLIED
  startDate     CDATA #REQUIRED
  endDate       CDATA #REQUIRED
>
<!ELEMENT Workout ((MetadataEntry|WorkoutEvent|WorkoutRoute|WorkoutStatistics)*)>
<!ATTLIST Workout
  workoutActivityType   CDATA #REQUIRED
  duration              CDATA #IMPLIED
  durationUnit          CDATA #IMPLIED
  totalDistance         CDATA #IMPLIED
  totalDistanceUnit     CDATA #IMPLIED
  sourceName            CDATA #REQUIRED
  device                CDATA #IMPLIED
  startDate             CDATA #REQUIRED
  endDate               CDATA #REQUIRED
>
]>
"""


def _offset_s(offset: str) -> int:
    sign = -1 if offset[0] == "-" else 1
    return sign * (int(offset[1:3]) * 3600 + int(offset[3:5]) * 60)


def write_apple_health_export(
    dest: str | PathLike[str] | IO[bytes],
    *,
    runs: int = 1,
    run_minutes: float = 30.0,
    sample_interval_s: float = 5.0,
    pause: tuple[float, float] | None = (600.0, 60.0),
    mobility: Sequence[tuple[str, float]] = (("Yoga", 20.0), ("Flexibility", 10.0)),
    filler_records: int = 0,
    phone_duplicates: bool = True,
    first_start: str = "2026-03-02 07:00:00",
    offset: str = "+0100",
    locale: str = "da_DK",
    seed: int = 0,
) -> list[AppleRunTruth]:
    """Write an Apple Health ``export.xml`` whose running workouts have a known truth.

    Each run (one per day from ``first_start``, local time in ``offset``) has samples every
    ``sample_interval_s`` seconds from the workout's source: step counts (steps/min =
    cadence), distance in km, speed in km/hr, stride length in m (ONE step), heart rate,
    ground contact time in ms and vertical oscillation in cm; during ``pause`` (start and
    length [s]) there are none, and the workout records Pause/Resume events. With
    ``phone_duplicates`` the phone writes the same steps and metres in parallel, as real
    phones do. ``mobility`` workouts (HealthKit type suffix, minutes) follow each day's run
    by two hours; ``filler_records`` heart-rate and step records from the phone precede them
    all (the bulk of a real export).

    Parameters
    ----------
    dest
        Path or binary file object.
    runs, run_minutes, sample_interval_s, pause, mobility, filler_records, phone_duplicates
        Content, see above.
    first_start, offset, locale
        Local start of the first run, the export's UTC offset (``+0100``) and locale.
    seed
        Random seed for the per-run speed, cadence and heart rate.

    Returns
    -------
    list of AppleRunTruth
        One per running workout, in file order.
    """
    rng = np.random.default_rng(seed)
    off = _offset_s(offset)
    base_utc = calendar.timegm(time.strptime(first_start, "%Y-%m-%d %H:%M:%S")) - off

    def stamp(t_utc: float) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(round(t_utc) + off)) + " " + offset

    own = f'sourceName="Test Watch" sourceVersion="9.0" device="{_DEVICE}"'
    phone = 'sourceName="Test Phone" sourceVersion="16.0"'
    truths: list[AppleRunTruth] = []
    workouts: list[str] = []
    close = False
    if isinstance(dest, str | PathLike):
        fh: Any = open(Path(dest), "w", encoding="utf-8", newline="\n")
        close = True
    else:
        import io

        fh = io.TextIOWrapper(dest, encoding="utf-8", newline="\n", write_through=True)
    try:
        w = fh.write
        w('<?xml version="1.0" encoding="UTF-8"?>\n')
        w(_DTD)
        w(f'<HealthData locale="{locale}">\n')
        w(f' <ExportDate value="{stamp(base_utc + 86400 * (runs + 1))}"/>\n')
        w(' <Me HKCharacteristicTypeIdentifierDateOfBirth="1990-01-01" '
          'HKCharacteristicTypeIdentifierBiologicalSex="HKBiologicalSexFemale"/>\n')  # fmt: skip
        # the bulk: the phone's heart rate and steps on the days before
        t = base_utc - 86400.0 * 30
        for i in range(filler_records):
            if i % 2:
                w(f' <Record type="{_HK}HeartRate" {phone} unit="count/min" '
                  f'creationDate="{stamp(t)}" startDate="{stamp(t)}" endDate="{stamp(t)}" '
                  f'value="{60 + i % 40}">\n  <MetadataEntry key="HKMetadataKeyHeartRateMotion'
                  'Context" value="0"/>\n </Record>\n')  # fmt: skip
            else:
                w(f' <Record type="{_HK}StepCount" {phone} unit="count" '
                  f'creationDate="{stamp(t + 60)}" startDate="{stamp(t)}" '
                  f'endDate="{stamp(t + 60)}" value="{i % 90}"/>\n')  # fmt: skip
            t += 30.0
        for r in range(runs):
            start = base_utc + 86400.0 * r
            dur = run_minutes * 60.0
            speed = float(rng.uniform(2.6, 3.6))
            cad = float(rng.uniform(160, 180))
            hr = float(rng.uniform(130, 160))
            gct, vo = float(rng.uniform(220, 280)), float(rng.uniform(7.0, 10.0))
            truth = AppleRunTruth(start, dur, pause, speed, cad, hr, gct, vo * 10.0)
            dt = sample_interval_s
            steps_total = 0.0
            dist_km = 0.0
            k = 0.0
            while k + dt <= dur + 1e-9:
                if pause is not None and pause[0] <= k < pause[0] + pause[1]:
                    k += dt
                    continue
                a, b = stamp(start + k), stamp(start + k + dt)
                steps = cad * dt / 60.0
                km = speed * dt / 1000.0
                steps_total += steps
                dist_km += km
                w(f' <Record type="{_HK}StepCount" {own} unit="count" creationDate="{b}" '
                  f'startDate="{a}" endDate="{b}" value="{steps:.4f}"/>\n'
                  f' <Record type="{_HK}DistanceWalkingRunning" {own} unit="km" '
                  f'creationDate="{b}" startDate="{a}" endDate="{b}" value="{km:.7f}"/>\n'
                  f' <Record type="{_HK}RunningSpeed" {own} unit="km/hr" creationDate="{b}" '
                  f'startDate="{b}" endDate="{b}" value="{speed * 3.6:.5f}"/>\n'
                  f' <Record type="{_HK}RunningStrideLength" {own} unit="m" '
                  f'creationDate="{b}" startDate="{b}" endDate="{b}" '
                  f'value="{truth.step_length_m:.5f}"/>\n'
                  f' <Record type="{_HK}HeartRate" {own} unit="count/min" creationDate="{b}" '
                  f'startDate="{b}" endDate="{b}" value="{hr:.2f}"/>\n'
                  f' <Record type="{_HK}RunningGroundContactTime" {own} unit="ms" '
                  f'creationDate="{b}" startDate="{b}" endDate="{b}" value="{gct:.2f}"/>\n'
                  f' <Record type="{_HK}RunningVerticalOscillation" {own} unit="cm" '
                  f'creationDate="{b}" startDate="{b}" endDate="{b}" value="{vo:.3f}"/>\n')  # fmt: skip
                if phone_duplicates:
                    w(f' <Record type="{_HK}StepCount" {phone} unit="count" creationDate="{b}" '
                      f'startDate="{a}" endDate="{b}" value="{steps:.4f}"/>\n'
                      f' <Record type="{_HK}DistanceWalkingRunning" {phone} unit="km" '
                      f'creationDate="{b}" startDate="{a}" endDate="{b}" value="{km:.7f}"/>\n')  # fmt: skip
                k += dt
            paused = pause[1] if pause is not None and pause[0] < dur else 0.0
            truth.timer_s = dur - paused
            truth.distance_m = dist_km * 1000.0
            truths.append(truth)
            events = ""
            if paused:
                events = (f'  <WorkoutEvent type="HKWorkoutEventTypePause" '
                          f'date="{stamp(start + pause[0])}"/>\n'
                          f'  <WorkoutEvent type="HKWorkoutEventTypeResume" '
                          f'date="{stamp(start + pause[0] + pause[1])}"/>\n')  # fmt: skip
            workouts.append(
                f' <Workout workoutActivityType="HKWorkoutActivityTypeRunning" '
                f'duration="{truth.timer_s / 60.0:.6f}" durationUnit="min" '
                f'totalDistance="{dist_km:.6f}" totalDistanceUnit="km" {own} '
                f'creationDate="{stamp(start + dur)}" startDate="{stamp(start)}" '
                f'endDate="{stamp(start + dur)}">\n'
                '  <MetadataEntry key="HKIndoorWorkout" value="0"/>\n'
                '  <MetadataEntry key="HKElevationAscended" value="4520 cm"/>\n'
                '  <MetadataEntry key="HKWeatherTemperature" value="68 degF"/>\n'
                f"{events}"
                f'  <WorkoutStatistics type="{_HK}StepCount" startDate="{stamp(start)}" '
                f'endDate="{stamp(start + dur)}" sum="{steps_total:.3f}" unit="count"/>\n'
                f'  <WorkoutStatistics type="{_HK}DistanceWalkingRunning" '
                f'startDate="{stamp(start)}" endDate="{stamp(start + dur)}" '
                f'sum="{dist_km:.6f}" unit="km"/>\n'
                " </Workout>\n"
            )  # fmt: skip
            for j, (kind, minutes) in enumerate(mobility):
                ms = start + 7200.0 + 3600.0 * j
                workouts.append(
                    f' <Workout workoutActivityType="HKWorkoutActivityType{kind}" '
                    f'duration="{minutes:.4f}" durationUnit="min" {own} '
                    f'creationDate="{stamp(ms + minutes * 60)}" startDate="{stamp(ms)}" '
                    f'endDate="{stamp(ms + minutes * 60)}">\n'
                    '  <MetadataEntry key="HKIndoorWorkout" value="1"/>\n'
                    " </Workout>\n"
                )  # fmt: skip
        for text in workouts:
            w(text)
        w("</HealthData>\n")
    finally:
        if close:
            fh.close()
        else:
            fh.flush()
            fh.detach()
    return truths


def write_cohort_export(
    folder: str | PathLike[str],
    n_athletes: int = 20,
    runs_per_athlete: int = 6,
    *,
    minutes: float = 25.0,
    seed: int = 0,
) -> Path:
    """Write a simulated cohort: one folder per athlete with FIT runs and a mobility log.

    ``folder/athlete_00/run_00.fit`` ... and ``folder/athlete_00/mobility.csv``. Athlete
    ``i`` logs mobility sessions on a random share of days (its own rate); each run's
    simulated fatigue falls with the sessions of the 14 days before it, so the analysis has
    something to find. Every file's content is unique (the import de-duplicates by content).

    Parameters
    ----------
    folder
        Created if needed.
    n_athletes, runs_per_athlete
        Cohort size.
    minutes
        Moving time of each run. [min]
    seed
        Seed of everything random.

    Returns
    -------
    pathlib.Path
        ``folder``.
    """
    import pandas as pd

    from .synth.files import write_run_fit
    from .synth.runs import simulate_run

    root = Path(folder)
    rng = np.random.default_rng(seed)
    day0 = pd.Timestamp("2026-01-05T07:00Z")
    for i in range(n_athletes):
        own = root / f"athlete_{i:02d}"
        own.mkdir(parents=True, exist_ok=True)
        rate = float(rng.uniform(0.1, 0.7))
        n_days = 16 + 3 * runs_per_athlete
        days = np.flatnonzero(rng.random(n_days) < rate)
        lines = ["date,duration_min,focus"]
        for d in days:
            local = (day0 + pd.Timedelta(days=int(d), hours=11)).tz_localize(None)
            lines.append(f"{local:%Y-%m-%dT%H:%M},{int(rng.integers(10, 40))},hips")
        (own / "mobility.csv").write_text("\n".join(lines) + "\n")
        base = float(rng.normal(4.0, 1.0))
        for j in range(runs_per_athlete):
            day = 16 + 3 * j
            recent = int(((days < day) & (days >= day - 14)).sum())
            fatigue = max(0.0, base - 0.3 * recent + float(rng.normal(0, 0.5)))
            sim = simulate_run(
                start_time=day0 + pd.Timedelta(days=day),
                duration_s=minutes * 60,
                fatigue_pct=fatigue,
                seed=int(rng.integers(1 << 31)),
            )
            write_run_fit(sim, own / f"run_{j:02d}.fit")
    return root
