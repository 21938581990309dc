"""Dispatch: formats recognised by content (whatever the extension), hints, every format read."""

from __future__ import annotations

import gzip
import io
import json
import shutil
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import pytest

from stridekeeper.cli import main
from stridekeeper.errors import DataQualityWarning, StridekeeperError, UnsupportedFormatError
from stridekeeper.io import read_runs
from stridekeeper.io.dispatch import FORMATS, SUPPORTED_FORMATS, detect_format
from stridekeeper.synth.files import write_run_fit
from stridekeeper.synth.runs import simulate_run
from stridekeeper.testing import check_run_conforms, write_apple_health_export

# small versions of the exports test_summaries.py checks in detail
EN_HEADER = "Activity Type,Date,Favorite,Title,Distance,Calories,Time,Avg HR,Avg Run Cadence"
EN_ROWS = ['Running,2024-05-04 07:31:10,false,"Run","10.00","712","00:50:00","151","170"']
DA_HEADER = ("Aktivitetstype,Dato,Favorit,Titel,Distance,Kalorier,Tid,Gennemsnitlig puls,"
             "Maks. puls,Gennemsnit kadence løb,Gennemsnitlig skridtlængde")  # fmt: skip
DA_ROW = (
    'Løb,2024-03-02 15:05:08,false,"Aarhus Løb","8.00","560","00:42:30","150","167","168","1.12"'
)
STRAVA_HEADER = ("Activity ID,Activity Date,Activity Name,Activity Type,Elapsed Time,Distance,"
                 "Filename,Elapsed Time,Moving Time,Distance,Average Speed,Average Cadence")  # fmt: skip


def _strava_row(id_: int, date: str, type_: str, display: str, metres: float, elapsed: int,
                moving: int, speed: float, cad: str, filename: str) -> str:  # fmt: skip
    return (
        f'{id_},"{date}",Run,{type_},{elapsed},{display},{filename},{elapsed}.0,{moving}.0,'
        f"{metres},{speed},{cad}"
    )


TCX_HEAD = (b'\xef\xbb\xbf  <?xml version="1.0" encoding="UTF-8"?>\n<!-- exported -->\n'
            b"<TrainingCenterDatabase xmlns=\"http://www.garmin.com/xmlschemas/Training"
            b'CenterDatabase/v2"><Activities>')  # fmt: skip
GPX_HEAD = b'<?xml version="1.0"?>\n<gpx version="1.1" creator="StravaGPX"><trk>'


def _read(path: Path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return read_runs(path, **kw)


def test_every_format_is_registered() -> None:
    assert {f.name for f in FORMATS if f.read is not None} == set(SUPPORTED_FORMATS)
    assert set(SUPPORTED_FORMATS) >= {"fit", "tcx", "gpx", "csv", "apple_health",
                                      "garmin_activities_csv", "strava_activities_csv",
                                      "garmin_summary_json"}  # fmt: skip


@pytest.mark.parametrize(("head", "fmt"), [
    (TCX_HEAD, "tcx"),
    (GPX_HEAD, "gpx"),
    ("<?xml version='1.0'?><gpx>".encode("utf-16"), "gpx"),  # UTF-16 with BOM
    (b'<?xml version="1.0"?>\n<!DOCTYPE HealthData [\n<!ELEMENT HealthData (ExportDate)>', "apple_health"),
    (b'<?xml version="1.0"?>\n<HealthData locale="en_US">', "apple_health"),
    ((STRAVA_HEADER + "\n").encode(), "strava_activities_csv"),
    ((EN_HEADER + "\n" + EN_ROWS[0]).encode(), "garmin_activities_csv"),
    ((DA_HEADER + "\n" + DA_ROW).encode("utf-8-sig"), "garmin_activities_csv"),
    (b'[{"summarizedActivitiesExport": [{"activityId": 1', "garmin_summary_json"),
    (b"timestamp,heart_rate,cadence,speed,distance\n", "csv"),
])  # fmt: skip
def test_detect_by_content_whatever_the_name(head: bytes, fmt: str) -> None:
    assert detect_format(head, "misnamed.dat") == fmt
    if fmt == "csv":  # a plain CSV header is weak evidence: a named format's extension wins
        assert detect_format(head[:512], "export.fit") == "fit"
    else:
        assert detect_format(head[:512], "export.fit") == fmt  # content beats the extension


def test_detect_hints_and_fallbacks(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFormatError, match="stridekeeper mobility"):
        detect_format(b"date,duration_min,focus\n2024-01-01,20,hips\n", "log.csv")
    with pytest.raises(UnsupportedFormatError, match="stridekeeper mobility"):
        detect_format(b'[{"date": "2024-01-01", "duration_min": 20}]', "log.json")
    with pytest.raises(UnsupportedFormatError, match="root <kml>"):
        detect_format(b'<?xml version="1.0"?><kml xmlns="x">', "a.kml")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("activities/1.fit", b"x" * 100)
    with pytest.raises(UnsupportedFormatError, match="run `stridekeeper import strava.zip`"):
        detect_format(buf.getvalue(), "strava.zip")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("apple_health_export/export.xml", b"<HealthData/>" * 1000)
    assert detect_format(buf.getvalue(), "export.zip") == "apple_health"
    assert detect_format(buf.getvalue()[:512], "x") == "apple_health"  # first member's name
    assert detect_format(b"\x00\x01\x02", "run.gpx.gz") == "gpx"  # falls back to the extension
    assert detect_format(b"\x00\x01\x02", "noext") is None


@pytest.fixture
def every_format(tmp_path: Path, realdata: Path) -> dict[str, Path]:
    """One file of every format, each saved under a wrong extension."""
    out = {}

    def put(fmt: str, name: str, data: bytes) -> None:
        p = tmp_path / name
        p.write_bytes(data)
        out[fmt] = p

    put("fit", "fit_file.tcx", (realdata / "python-fitparse/garmin-fenix-5-run.fit").read_bytes())
    put("tcx", "tcx_file.gpx", (realdata / "heartandsole/testdata.tcx").read_bytes())
    put("gpx", "gpx_file.xml", (realdata / "heartandsole/testdata.gpx").read_bytes())
    put("csv", "samples.dat",
        (realdata / "python-fitparse/garmin-fenix-5-run-records.csv").read_bytes())  # fmt: skip
    put("garmin_activities_csv", "activities_garmin.txt",
        (EN_HEADER + "\n" + "\n".join(EN_ROWS) + "\n").encode())  # fmt: skip
    put("strava_activities_csv", "activities_strava.json", (STRAVA_HEADER + "\n" + _strava_row(
        1, "Oct 7, 2020, 2:43:11 PM", "Run", "8.03", 8032.3, 2838, 2747, 2.924, "84.5",
        "activities/1.fit.gz") + "\n").encode())  # fmt: skip
    put("garmin_summary_json", "summary.csv", json.dumps([{"summarizedActivitiesExport": [
        {"activityId": 1, "activityType": "running", "startTimeGmt": 1.7e12, "distance": 5e5,
         "duration": 1.5e6}]}]).encode())  # fmt: skip
    apple = tmp_path / "apple.xml"
    write_apple_health_export(apple, runs=1, run_minutes=10)
    put("apple_health", "apple_export.gpx", apple.read_bytes())
    return out


def test_read_runs_by_content_with_wrong_extensions(every_format: dict[str, Path]) -> None:
    for fmt, path in every_format.items():
        runs = _read(path)
        assert runs, fmt
        for run in runs:
            assert run.meta["format"] == fmt, path
            check_run_conforms(run)


def test_gzipped_and_forced_formats(every_format: dict[str, Path], tmp_path: Path) -> None:
    for fmt, path in every_format.items():
        gz = tmp_path / (path.name + ".gz")
        gz.write_bytes(gzip.compress(path.read_bytes()))
        assert _read(gz)[0].meta["format"] == fmt
    with pytest.raises(UnsupportedFormatError, match="format 'kml' is not supported"):
        read_runs(every_format["gpx"], format="kml")
    with pytest.raises(StridekeeperError):
        read_runs(every_format["gpx"], format="tcx")  # forced, and wrong: a clear error


def test_apple_health_zip_through_read_runs(every_format: dict[str, Path], tmp_path: Path) -> None:
    z = tmp_path / "export.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(every_format["apple_health"], "apple_health_export/export.xml")
    (run,) = _read(z)
    assert run.meta["format"] == "apple_health"
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("a.fit", b"x")
    with pytest.raises(UnsupportedFormatError, match="unzip it"):
        read_runs(other)


def test_inspect_works_on_every_format(every_format: dict[str, Path], tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    folder = tmp_path / "inspect"
    folder.mkdir()
    for fmt, path in every_format.items():  # sensible names: inspect globs by suffix
        suffix = {"fit": ".fit", "tcx": ".tcx", "gpx": ".gpx", "csv": ".csv",
                  "garmin_activities_csv": ".csv", "strava_activities_csv": ".csv",
                  "garmin_summary_json": ".json", "apple_health": ".xml"}[fmt]  # fmt: skip
        shutil.copy(path, folder / f"{fmt}{suffix}")
    status = main(["inspect", "--json", str(folder)])
    rows = json.loads(capsys.readouterr().out)
    assert status == 0
    sources = {Path(r["source"]).stem for r in rows}
    assert sources == set(every_format)
    summary_rows = [r for r in rows if r["dropoff_reason"] == "summary only"]
    assert summary_rows and all(r["distance_m"] for r in summary_rows)


def test_a_fit_file_loads_no_other_reader(tmp_path: Path) -> None:
    # the registry names its readers' functions: reading FIT imports neither the XML, CSV
    # and export readers nor the XML parser; a GPX file then loads its own reader
    write_run_fit(simulate_run(duration_s=600, seed=1), tmp_path / "a.fit")
    code = (
        "import sys; from stridekeeper.io import dispatch; "
        f"runs = dispatch.read_runs({str(tmp_path / 'a.fit')!r}); "
        "others = ('apple_health', 'tcx', 'gpx', 'csv', 'garmin_export', 'strava_export'); "
        "print(len(runs), [m for m in others if 'stridekeeper.io.' + m in sys.modules], "
        "dispatch.find_format('gpx').read.__module__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1", "[]", "stridekeeper.io.gpx"]
