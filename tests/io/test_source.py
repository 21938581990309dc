"""One source opener for every reader: path, bytes, file object and .gz read alike, and the
stored bytes' SHA-256 in meta whichever door a file comes in by (the disagreements of old:
read_fit refused .gz; read_tcx and read_runs gave one .tcx.gz two hashes, so two run ids)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import warnings
from pathlib import Path

import pandas as pd
import pytest

from stridekeeper.errors import CorruptFileError, DataQualityWarning, StridekeeperError
from stridekeeper.io import decode, read_bytes, read_runs
from stridekeeper.io.apple_health import read_apple_health
from stridekeeper.io.csv import read_csv_run
from stridekeeper.io.fit import read_fit
from stridekeeper.io.garmin_export import read_garmin_activities_csv, read_garmin_summary_json
from stridekeeper.io.gpx import read_gpx
from stridekeeper.io.mobility_fit import read_fit_mobility
from stridekeeper.io.source import MissingFileError, open_source
from stridekeeper.io.strava_export import read_strava_activities_csv
from stridekeeper.io.tcx import read_tcx
from stridekeeper.synth.fitwrite import SessionSpec, encode_activity
from stridekeeper.testing import (
    SOURCE_KINDS,
    check_reader_conforms,
    write_apple_health_export,
)

GARMIN_CSV = ("Activity Type,Date,Favorite,Title,Distance,Calories,Time,Avg HR,Avg Run Cadence\n"
              'Running,2024-05-04 07:31:10,false,"Run","10.00","712","00:50:00","151","170"\n')  # fmt: skip
STRAVA_CSV = ("Activity ID,Activity Date,Activity Name,Activity Type,Elapsed Time,Distance,"
              "Filename,Elapsed Time,Moving Time,Distance,Average Speed,Average Cadence\n"
              '1,"Oct 7, 2020, 2:43:11 PM",Run,Run,2838,8.03,activities/1.fit.gz,2838.0,2747.0,'
              "8032.3,2.924,84.5\n")  # fmt: skip
GARMIN_JSON = json.dumps([{"summarizedActivitiesExport": [
    {"activityId": 1, "activityType": "running", "startTimeGmt": 1.7e12, "distance": 5e5,
     "duration": 1.5e6}]}])  # fmt: skip


@pytest.fixture(scope="module")
def files(realdata: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple]:
    """reader name -> (reader, file): one file of every reader's format."""
    tmp = tmp_path_factory.mktemp("sources")
    apple = tmp / "export.xml"
    write_apple_health_export(apple, runs=1, run_minutes=10)
    texts = {"Activities.csv": GARMIN_CSV, "activities.csv": STRAVA_CSV,
             "summarizedActivities.json": GARMIN_JSON}  # fmt: skip
    for n, text in texts.items():
        (tmp / n).write_text(text)
    return {
        "fit": (read_fit, realdata / "python-fitparse/garmin-fenix-5-run.fit"),
        "tcx": (read_tcx, realdata / "heartandsole/testdata.tcx"),
        "gpx": (read_gpx, realdata / "heartandsole/testdata.gpx"),
        "csv": (read_csv_run, realdata / "python-fitparse/garmin-fenix-5-run-records.csv"),
        "garmin_activities_csv": (read_garmin_activities_csv, tmp / "Activities.csv"),
        "strava_activities_csv": (read_strava_activities_csv, tmp / "activities.csv"),
        "garmin_summary_json": (read_garmin_summary_json, tmp / "summarizedActivities.json"),
        "apple_health": (read_apple_health, apple),
    }


READERS = ["fit", "tcx", "gpx", "csv", "garmin_activities_csv", "strava_activities_csv",
           "garmin_summary_json", "apple_health"]  # fmt: skip


@pytest.mark.parametrize("kind", SOURCE_KINDS)
@pytest.mark.parametrize("fmt", READERS)
def test_every_reader_reads_every_kind_of_source_alike(files, fmt: str, kind: str,
                                                       tmp_path: Path) -> None:  # fmt: skip
    reader, path = files[fmt]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        runs = check_reader_conforms(reader, path, kind, tmp_path)
    assert all(r.meta["format"] == fmt for r in runs)


@pytest.mark.parametrize("fmt", READERS)
def test_the_reader_and_the_registry_agree_on_a_gz(files, fmt: str, tmp_path: Path) -> None:
    """Same .gz file: the same sha256 (and so run id) through the reader, read_runs,
    read_bytes and decode; the hash is the stored (compressed) bytes'."""
    reader, path = files[fmt]
    stored = gzip.compress(path.read_bytes(), mtime=0)
    gz = tmp_path / f"{path.name}.gz"
    gz.write_bytes(stored)
    want = hashlib.sha256(stored).hexdigest()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        ways = {
            "reader": reader(gz),
            "read_runs": read_runs(gz),
            "read_bytes": read_bytes(stored, gz.name),
            "decode": decode(gz).runs,
        }
    for way, runs in ways.items():
        assert runs, way
        assert {r.meta["sha256"] for r in runs} == {want}, way
        assert [r.meta["format"] for r in runs] == [fmt] * len(runs), way


def test_read_fit_reads_a_gz(files, tmp_path: Path) -> None:
    _, path = files["fit"]
    gz = tmp_path / "run.fit.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        plain, packed = read_fit(path), read_fit(gz)
    assert len(plain) == len(packed) == 1
    assert packed[0].records.equals(plain[0].records)
    assert packed[0].meta["source"] == str(gz)


def test_the_opener_caps_and_reports(tmp_path: Path) -> None:
    bomb = gzip.compress(b"0" * 5000)
    with pytest.raises(CorruptFileError, match="more than 1000 bytes"):
        open_source(bomb, "bomb.gz", cap=1000)
    with pytest.raises(CorruptFileError, match="damaged gzip"):
        open_source(b"\x1f\x8bnot gzip at all", "bad.gz")
    with pytest.raises(MissingFileError, match="nope.fit: no such file") as info:
        read_fit(tmp_path / "nope.fit")
    assert isinstance(info.value, StridekeeperError) and isinstance(info.value, OSError)
    with pytest.raises(StridekeeperError, match="is a folder"):
        read_tcx(tmp_path)
    text = io.StringIO("not bytes")
    opened = open_source(text, "t.csv")
    assert opened.data == b"not bytes" and opened.name == "t.csv"
    assert open_source(opened) is opened


def test_one_decode_gives_a_fit_files_runs_and_mobility_sessions() -> None:
    t0 = pd.Timestamp("2024-05-01T06:00:00Z")
    sets = [{"start_time": t0, "duration_s": 240, "category": "hip_stability"}]
    data = encode_activity([SessionSpec(sport="training", sub_sport="yoga", sets=sets)],
                           utc_offset_s=7200)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        dec = decode(data, "yoga.fit")
        alone = read_fit_mobility(data, name="yoga.fit")
    assert dec.format.name == "fit"
    assert [r.meta["sub_sport"] for r in dec.runs] == ["yoga"]
    assert dec.sessions is not None
    assert dec.sessions.equals(alone)
    assert dec.sessions["drills"].iloc[0] == ("hip_stability",)


def test_one_pass_over_an_apple_export_gives_runs_and_workouts(tmp_path: Path) -> None:
    from stridekeeper.io.apple_health import read_apple_health_export, read_apple_health_mobility

    path = tmp_path / "export.xml"
    write_apple_health_export(path, runs=2, run_minutes=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        both = read_apple_health_export(path)
        runs, sessions = read_apple_health(path), read_apple_health_mobility(path)
    assert len(both.runs) == len(runs) == 2
    for a, b in zip(both.runs, runs, strict=True):
        assert a.records.equals(b.records)
        assert a.meta["sha256"] == b.meta["sha256"]
    assert both.sessions.equals(sessions)
