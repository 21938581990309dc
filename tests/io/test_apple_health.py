"""Apple Health exports: runs rebuilt from samples, units, sources, zip, mobility, streaming."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import tracemalloc
import warnings
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from stridekeeper.errors import CorruptFileError, DataQualityWarning, UnsupportedFormatError
from stridekeeper.io import read_runs
from stridekeeper.io.apple_health import apple_time, read_apple_health, read_apple_health_mobility
from stridekeeper.metrics import summarize
from stridekeeper.schema import MOBILITY_COLUMNS
from stridekeeper.testing import check_run_conforms, write_apple_health_export


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    path = tmp_path_factory.mktemp("apple") / "export.xml"
    truth = write_apple_health_export(path, runs=3, filler_records=2000)
    return path, truth


def _quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return fn(*args, **kw)


def test_runs_match_the_truth(export: tuple[Path, list]) -> None:
    path, truth = export
    runs = read_apple_health(path)
    assert len(runs) == len(truth) == 3
    for run, tr in zip(runs, truth, strict=True):
        check_run_conforms(run)
        rec = run.records
        assert run.start_time == pd.Timestamp(tr.start_utc_s, unit="s", tz="UTC")
        assert run.meta["utc_offset_s"] == 3600  # "+0100" in the export's dates
        assert run.meta["format"] == "apple_health" and run.sport == "running"
        assert rec["distance_m"].iloc[-1] == pytest.approx(tr.distance_m, rel=1e-5)
        assert rec["cadence_spm"].median() == pytest.approx(tr.cadence_spm, rel=1e-4)
        assert rec["step_length_m"].median() == pytest.approx(tr.step_length_m, rel=1e-4)
        assert rec["speed_mps"].median() == pytest.approx(tr.speed_mps, rel=1e-4)  # km/hr
        assert rec["vertical_oscillation_mm"].median() == pytest.approx(
            tr.vertical_oscillation_mm, rel=1e-3)  # cm -> mm  # fmt: skip
        assert rec["stance_time_ms"].median() == pytest.approx(tr.stance_time_ms, rel=1e-3)
        assert rec["heart_rate_bpm"].median() == pytest.approx(tr.heart_rate_bpm, rel=1e-3)
        # the pause events: timer excludes 60 s
        assert rec["timer_s"].iloc[-1] == pytest.approx(tr.timer_s)
        assert rec["elapsed_s"].iloc[-1] - rec["timer_s"].iloc[-1] == pytest.approx(60.0)
        dev = run.meta["device_summary"]
        assert dev["timer_time_s"] == pytest.approx(tr.timer_s, abs=0.01)
        assert dev["distance_m"] == pytest.approx(tr.distance_m, rel=1e-5)
        assert dev["total_ascent_m"] == pytest.approx(45.2)  # "4520 cm"
        assert dev["avg_temperature_c"] == pytest.approx(20.0)  # "68 degF"
        assert dev["avg_cadence_spm"] == pytest.approx(tr.cadence_spm, rel=1e-4)
        row = summarize(run)
        assert row["avg_cadence_spm"] == pytest.approx(tr.cadence_spm, rel=1e-3)
        assert row["avg_step_length_m"] == pytest.approx(tr.step_length_m, rel=1e-3)
        assert row["distance_m"] == pytest.approx(tr.distance_m, rel=1e-4)


def test_phone_samples_are_not_counted_twice(export: tuple[Path, list]) -> None:
    path, truth = export
    run = read_apple_health(path)[0]
    assert run.meta["sample_sources"]["steps"] == ["Test Watch"]
    assert run.meta["samples_from_other_sources_left_out"]["steps"] > 0
    assert run.records["distance_m"].iloc[-1] < 1.01 * truth[0].distance_m


def test_export_metadata(export: tuple[Path, list]) -> None:
    run = read_apple_health(export[0])[0]
    info = run.meta["apple_health"]
    assert info["locale"] == "da_DK"
    assert info["export_date"].endswith("+0100")
    assert info["me"]["BiologicalSex"] == "HKBiologicalSexFemale"
    assert run.meta["device"] == "apple/Watch6,2"


def test_zip_gzip_stream_and_dispatch_read_the_same(export: tuple[Path, list],
                                                    tmp_path: Path) -> None:  # fmt: skip
    path, _ = export
    ref = read_apple_health(path)
    zpath = tmp_path / "export.zip"
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("apple_health_export/export_cda.xml", "<ClinicalDocument/>")
        zf.write(path, "apple_health_export/export.xml")
        zf.writestr("apple_health_export/workout-routes/route_1.gpx", "<gpx/>")
    gz = tmp_path / "export.xml.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    for runs in (read_runs(zpath), read_runs(gz), read_apple_health(io.BytesIO(path.read_bytes())),
                 read_apple_health(path.read_bytes())):  # fmt: skip
        assert len(runs) == len(ref)
        for a, b in zip(runs, ref, strict=True):
            assert a.records.equals(b.records)
    empty = tmp_path / "other.zip"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("activities/1.fit", b"x")
    with pytest.raises(UnsupportedFormatError, match="without an Apple Health export.xml"):
        read_apple_health(empty)


def test_units_by_the_unit_attribute(tmp_path: Path) -> None:
    rec = ('<Record type="HKQuantityTypeIdentifier{t}" sourceName="W" unit="{u}" '
           'startDate="{s}" endDate="{e}" value="{v}"/>\n')  # fmt: skip
    body = []
    for i in range(10):
        s = f"2026-03-02 07:00:{i * 5:02d} -0500"
        e = f"2026-03-02 07:00:{i * 5 + 5:02d} -0500"
        body.append(rec.format(t="DistanceWalkingRunning", u="mi", s=s, e=e, v=15 / 1609.344))
        body.append(rec.format(t="RunningSpeed", u="m/s", s=e, e=e, v=3.0))
        body.append(rec.format(t="StepCount", u="count", s=s, e=e, v=14))
        body.append(rec.format(t="RunningGroundContactTime", u="ms", s=e, e=e, v=250))
    doc = ('<?xml version="1.0"?>\n<HealthData locale="en_US">\n' + "".join(body)
           + '<Workout workoutActivityType="HKWorkoutActivityTypeRunning" duration="50" '
           'durationUnit="s" totalDistance="0.0932" totalDistanceUnit="mi" sourceName="W" '
           'startDate="2026-03-02 07:00:00 -0500" endDate="2026-03-02 07:00:50 -0500"/>\n'
           "</HealthData>\n")  # fmt: skip
    (run,) = read_apple_health(doc.encode(), name="units.xml")
    rec_ = run.records
    assert rec_["distance_m"].iloc[-1] == pytest.approx(150.0)
    assert rec_["speed_mps"].dropna().eq(3.0).all()
    assert rec_["cadence_spm"].dropna().eq(14 / 5 * 60).all()  # steps over the interval
    assert run.meta["utc_offset_s"] == -5 * 3600
    assert run.meta["device_summary"]["distance_m"] == pytest.approx(0.0932 * 1609.344)
    assert run.meta["device_summary"]["timer_time_s"] == 50.0


def test_mobility_workouts(tmp_path: Path) -> None:
    path = tmp_path / "export.xml"
    # runs at 19:00 local (-0500): the mobility sessions 2 h and 3 h later fall after
    # midnight UTC but on the same local day
    write_apple_health_export(
        path,
        runs=2,
        first_start="2026-03-02 19:00:00",
        offset="-0500",
        mobility=(("Yoga", 20.0), ("PreparationAndRecovery", 12.5)),
    )
    table = read_apple_health_mobility(path)
    assert list(table.columns) == list(MOBILITY_COLUMNS)
    assert len(table) == 4 and table["session_id"].is_unique
    assert list(table["notes"][:2]) == ["apple health: yoga",
                                        "apple health: preparation and recovery"]  # fmt: skip
    assert table["start_time"].iloc[0] == pd.Timestamp("2026-03-03T02:00:00Z")
    assert table["local_date"].iloc[0] == dt.date(2026, 3, 2)
    assert list(table["duration_min"][:2]) == [20.0, 12.5]
    assert table["regions"].iloc[0] == () and pd.isna(table["rpe"].iloc[0])
    again = read_apple_health_mobility(path)
    assert list(again["session_id"]) == list(table["session_id"])  # stable ids
    # a run-only read ignores them, and they are no runs
    assert all(r.sport == "running" for r in read_apple_health(path))


def test_truncated_export(export: tuple[Path, list], tmp_path: Path) -> None:
    data = export[0].read_bytes()
    second = data.index(
        b"HKWorkoutActivityTypeRunning", data.index(b"HKWorkoutActivityTypeRunning") + 10
    )
    cut_at = second + 300  # inside the second running workout
    cut = tmp_path / "cut.xml"
    cut.write_bytes(data[:cut_at])
    with pytest.warns(DataQualityWarning, match="ends early"):
        runs = read_apple_health(cut)
    assert len(runs) == 1  # the first running workout was complete
    assert any("ends early" in w for w in runs[0].warnings)
    samples_only = tmp_path / "samples.xml"
    samples_only.write_bytes(data[: data.index(b"<Workout ") - 500])
    with pytest.raises(CorruptFileError, match="samples.xml"):
        read_apple_health(samples_only)


def test_not_an_export() -> None:
    with pytest.raises(UnsupportedFormatError, match="root element <gpx>"):
        read_apple_health(b"<gpx></gpx>", name="x.xml")
    with pytest.raises(UnsupportedFormatError, match="not XML"):
        read_apple_health(b"Date,Value\n", name="x.xml")
    assert read_apple_health(b'<HealthData locale="en"/>') == []


def test_dates() -> None:
    assert apple_time("2026-03-02 07:00:00 +0100") == (
        int(pd.Timestamp("2026-03-02T06:00:00Z").value), 3600)  # fmt: skip
    assert apple_time("2026-03-02T07:00:00-05:30")[1] == -19800
    assert apple_time("nonsense") is None and apple_time(None) is None


def test_memory_stays_flat(tmp_path: Path) -> None:
    """Peak memory does not grow with the file: 4x the samples, the same peak."""
    peaks, sizes = [], []
    for filler in (5_000, 80_000):
        path = tmp_path / f"export_{filler}.xml"
        write_apple_health_export(path, runs=4, filler_records=filler, mobility=())
        sizes.append(path.stat().st_size)
        tracemalloc.start()
        try:
            runs = read_apple_health(path)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        assert len(runs) == 4
    assert sizes[1] > 4 * sizes[0]
    assert peaks[1] < 1.3 * peaks[0] + 1e6, (peaks, sizes)
    assert peaks[1] < sizes[1] / 3, (peaks, sizes)


def test_mobility_command_reads_an_apple_health_export(tmp_path: Path) -> None:
    """``stridekeeper mobility export.xml`` / ``export.zip``: the export's mobility workouts."""
    import zipfile

    from stridekeeper.io.mobility import read_mobility

    path = tmp_path / "export.xml"
    mob = (("Flexibility", 15.0), ("MindAndBody", 10.0), ("Pilates", 30.0),
           ("Cooldown", 5.0))  # fmt: skip
    write_apple_health_export(path, runs=1, first_start="2026-03-02 07:00:00", mobility=mob)
    res = read_mobility(path)
    assert res.failures == []
    assert sorted(res.sessions["duration_min"]) == [5.0, 10.0, 15.0, 30.0]
    zpath = tmp_path / "export.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.write(path, "apple_health_export/export.xml")
    res = read_mobility(zpath)
    assert res.failures == [] and len(res.sessions) == 4
