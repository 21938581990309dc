"""Damaged or arbitrary bytes: every new reader gives runs that validate or a
StridekeeperError naming the file, never another exception (as the FIT reader does)."""

from __future__ import annotations

import gzip
import io
import json
import warnings
import zipfile
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stridekeeper.errors import StridekeeperError
from stridekeeper.io.apple_health import read_apple_health, read_apple_health_mobility
from stridekeeper.io.csv import read_csv_run
from stridekeeper.io.dispatch import detect_format, read_bytes
from stridekeeper.io.garmin_export import read_garmin_activities_csv, read_garmin_summary_json
from stridekeeper.io.gpx import read_gpx
from stridekeeper.io.strava_export import read_strava_activities_csv
from stridekeeper.io.tcx import read_tcx
from stridekeeper.schema import validate_records, validate_sessions
from stridekeeper.testing import write_apple_health_export


def _tcx() -> bytes:
    pts = "".join(
        f"<Trackpoint><Time>2024-01-01T00:00:{i:02d}Z</Time><DistanceMeters>{i * 3}"
        f"</DistanceMeters><Extensions><ns3:TPX><ns3:Speed>3</ns3:Speed><ns3:RunCadence>85"
        "</ns3:RunCadence></ns3:TPX></Extensions></Trackpoint>" for i in range(30))  # fmt: skip
    return ('<?xml version="1.0"?><TrainingCenterDatabase xmlns:ns3="urn:x"><Activities>'
            '<Activity Sport="Running"><Id>2024-01-01T00:00:00Z</Id>'
            '<Lap StartTime="2024-01-01T00:00:00Z"><TotalTimeSeconds>29</TotalTimeSeconds>'
            f"<Track>{pts}</Track></Lap></Activity></Activities></TrainingCenterDatabase>"
            ).encode()  # fmt: skip


def _gpx() -> bytes:
    pts = "".join(f'<trkpt lat="{55 + i * 3e-5}" lon="12"><time>2024-01-01T00:00:{i:02d}Z</time>'
                  "<extensions><x:TrackPointExtension><x:cad>85</x:cad></x:TrackPointExtension>"
                  "</extensions></trkpt>" for i in range(30))  # fmt: skip
    return (f'<gpx xmlns:x="urn:x"><trk><type>running</type><trkseg>{pts}</trkseg></trk>'
            "</gpx>").encode()  # fmt: skip


def _apple() -> bytes:
    buf = io.BytesIO()
    write_apple_health_export(buf, runs=1, run_minutes=2, sample_interval_s=10, pause=None,
                              mobility=(("Yoga", 10.0),), filler_records=4)  # fmt: skip
    return buf.getvalue()


SAMPLES: dict[str, tuple[Callable, bytes]] = {
    "tcx": (read_tcx, _tcx()),
    "gpx": (read_gpx, _gpx()),
    "csv": (read_csv_run, b"timestamp,distance,speed,cadence\n" + b"".join(
        f"2024-01-01T00:00:{i:02d}Z,{i * 3},3.0,85\n".encode() for i in range(30))),
    "garmin_csv": (read_garmin_activities_csv,
                   b"Activity Type,Date,Distance,Time,Avg Run Cadence,Avg Stride Length\n"
                   b"Running,2024-01-01 10:00:00,5.00,00:25:00,170,1.18\n"),
    "strava": (read_strava_activities_csv,
               b"Activity ID,Activity Date,Activity Type,Elapsed Time,Distance,Moving Time,"
               b'Distance,Average Cadence\n1,"Oct 7, 2020, 2:43:11 PM",Run,2838,8.03,2747,'
               b"8032.3,84.5\n"),
    "garmin_json": (read_garmin_summary_json, json.dumps([{"summarizedActivitiesExport": [
        {"activityId": 1, "activityType": "running", "startTimeGmt": 1.7e12,
         "distance": 5e5, "duration": 1.5e6, "avgDoubleCadence": 170}]}]).encode()),
    "apple": (read_apple_health, _apple()),
    "apple_mobility": (read_apple_health_mobility, _apple()),
}  # fmt: skip


def _check(reader: Callable, data: bytes) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = reader(data, name="damaged.x")
        except StridekeeperError as exc:
            assert "damaged.x" in str(exc)
            return
    if reader is read_apple_health_mobility:
        validate_sessions(out)
        return
    for run in out:
        validate_records(run.records)


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_the_undamaged_samples_read(kind: str) -> None:
    reader, data = SAMPLES[kind]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = reader(data, name="ok.x")
    assert len(out) >= 1


@pytest.mark.parametrize("kind", sorted(SAMPLES))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_damage_never_escapes(kind: str, data) -> None:
    reader, good = SAMPLES[kind]
    raw = bytearray(good)
    how = data.draw(st.sampled_from(["flip", "truncate", "both", "insert"]))
    if how in ("flip", "both"):
        for pos, val in data.draw(st.lists(st.tuples(st.integers(0, len(raw) - 1),
                                                     st.integers(0, 255)), min_size=1,
                                           max_size=8)):  # fmt: skip
            raw[pos] = val
    if how in ("truncate", "both"):
        raw = raw[: data.draw(st.integers(0, len(raw)))]
    if how == "insert":
        at = data.draw(st.integers(0, len(raw)))
        raw[at:at] = data.draw(st.binary(min_size=1, max_size=40))
    _check(reader, bytes(raw))


@pytest.mark.parametrize("kind", sorted(SAMPLES))
@settings(max_examples=40, deadline=None)
@given(blob=st.binary(max_size=300))
def test_arbitrary_bytes_never_escape(kind: str, blob: bytes) -> None:
    _check(SAMPLES[kind][0], blob)


@settings(max_examples=100, deadline=None)
@given(
    blob=st.one_of(st.binary(max_size=600), st.text(max_size=300).map(str.encode)),
    name=st.sampled_from(["x.tcx", "x.gpx", "x.csv", "x.json", "x.xml", "x.zip", "x"]),
)
def test_dispatch_of_arbitrary_bytes(blob: bytes, name: str) -> None:
    """What read_runs does for any file: detection, then the reader, StridekeeperError only."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fmt = detect_format(blob[:512], name)
            if fmt is None:
                return
            runs = read_bytes(blob, name, format=fmt)
        except StridekeeperError:
            return
    for run in runs:
        validate_records(run.records)


def test_compressed_damage_is_a_clear_error() -> None:
    data = SAMPLES["apple"][1]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("apple_health_export/export.xml", data)
    z = bytearray(buf.getvalue())
    z[len(z) // 3] ^= 0xFF  # inside the deflated member
    _check(read_apple_health, bytes(z))
    gz = bytearray(gzip.compress(data))
    _check(read_apple_health, bytes(gz[: len(gz) // 2]))
    _check(read_tcx, gzip.compress(SAMPLES["tcx"][1])[:-20])
