"""The FIT reader on real files: units, sessions, time, developer fields, conformance."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stridekeeper.errors import DataQualityWarning
from stridekeeper.io import read_runs
from stridekeeper.io.fit import read_fit
from stridekeeper.schema import Run
from stridekeeper.testing import check_run_conforms


def _read(path: Path, **kw) -> list[Run]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return read_runs(path, **kw)


def test_every_realdata_fit_file_conforms(realdata: Path) -> None:
    files = sorted(realdata.rglob("*.fit")) + sorted(realdata.rglob("*.FIT"))
    read = 0
    for path in files:
        try:
            runs = _read(path)
        except ValueError:
            continue  # refused with a clear error: covered by the damage tests
        read += 1
        for run in runs:
            check_run_conforms(run)
    assert read >= 40


def test_units_against_the_csv_oracle(realdata: Path) -> None:
    (run,) = _read(realdata / "python-fitparse" / "garmin-fenix-5-run.fit")
    oracle = pd.read_csv(realdata / "python-fitparse" / "garmin-fenix-5-run-records.csv")
    rec = run.records
    assert len(rec) == len(oracle)
    # per-foot cadence doubled (fractional part added)
    assert (rec["cadence_spm"].to_numpy() >= 2 * oracle["cadence"].to_numpy()).all()
    assert (rec["cadence_spm"].to_numpy() - 2 * oracle["cadence"].to_numpy() < 2).all()
    np.testing.assert_allclose(rec["distance_m"], oracle["distance"])
    np.testing.assert_allclose(rec["speed_mps"], oracle["speed"])
    np.testing.assert_allclose(rec["latitude_deg"], oracle["position_lat"] * 180 / 2**31)
    np.testing.assert_allclose(rec["longitude_deg"], oracle["position_long"] * 180 / 2**31)
    np.testing.assert_allclose(rec["altitude_m"], oracle["altitude"])
    # step length in metres (the file holds mm), one step
    assert rec["step_length_m"].dropna().between(0.4, 1.3).all()
    # local time: the oracle prints PDT, the index is UTC, the offset is in meta
    assert run.meta["utc_offset_s"] == -7 * 3600
    assert rec.index[0] == pd.Timestamp("2017-06-11 14:34:09", tz="UTC")


def test_device_summary_and_identity(realdata: Path) -> None:
    (run,) = _read(realdata / "elevate" / "portland.fit")
    assert run.meta["device"] == "garmin/fr935"
    assert run.meta["utc_offset_s"] == -8 * 3600
    dev = run.meta["device_summary"]
    assert dev["avg_cadence_spm"] == pytest.approx(164.766, abs=0.001)
    assert dev["avg_step_length_m"] == pytest.approx(0.8811)
    assert dev["distance_m"] == pytest.approx(16075.72)
    assert dev["raw"]["total_strides"] == 8277


def test_developer_fields_kept_and_power_mapped(realdata: Path) -> None:
    (run,) = _read(realdata / "elevate" / "sloatsburg.fit")
    rec = run.records
    assert {"dev_power", "dev_form_power", "dev_leg_spring_stiffness"} <= set(rec.columns)
    assert run.meta["dev_field_units"]["dev_power"] == "Watts"
    np.testing.assert_array_equal(rec["power_w"], rec["dev_power"])


def test_summary_first_and_last_give_the_same_sessions(realdata: Path) -> None:
    """session.timestamp is unreliable when summaries come first: windows use start + elapsed."""
    first = _read(realdata / "muktihari-fit" / "triathlon_summary_first.fit")
    last = _read(realdata / "muktihari-fit" / "triathlon_summary_last.fit")
    assert [r.sport for r in first] == ["swimming", "transition", "cycling", "transition",
                                        "running"]  # fmt: skip
    for a, b in zip(first, last, strict=True):
        assert len(a.records) == len(b.records)
        assert a.records.index.equals(b.records.index)


def test_chained_file_counts_sessions_across_the_chain(realdata: Path) -> None:
    runs = _read(realdata / "python-fitparse" / "sample_mulitple_header.fit")
    assert [r.meta["session_index"] for r in runs] == [0, 1, 2, 3, 4]
    assert runs[4].sport == "running"
    only = _read(realdata / "python-fitparse" / "sample_mulitple_header.fit", sport="running")
    assert [r.meta["session_index"] for r in only] == [4]


def test_cycling_cadence_is_not_steps(realdata: Path) -> None:
    (run,) = _read(realdata / "python-fitparse" / "garmin-fenix-5-bike.fit")
    assert run.sport == "cycling"
    assert "cadence_spm" not in run.records


def test_device_relative_clock_is_flagged(realdata: Path) -> None:
    with pytest.warns(DataQualityWarning, match="device-relative"):
        (run,) = read_runs(realdata / "python-fitparse" / "compressed-speed-distance.fit")
    assert run.meta["device_summary"]["timer_time_s"] == pytest.approx(3772.75)
    # no timer start event in this file: the timer ran from the start until the first stop
    assert run.records["timer_s"].iloc[-1] == pytest.approx(3772.75, abs=10)


def test_reading_never_modifies_the_source(realdata: Path) -> None:
    path = realdata / "elevate" / "trosku.fit"
    before = path.read_bytes()
    _read(path)
    assert path.read_bytes() == before


def test_bytes_and_stream_sources(small_fit_bytes: bytes, tmp_path: Path) -> None:
    import io

    a = read_fit(small_fit_bytes, name="x.fit")
    b = read_fit(io.BytesIO(small_fit_bytes))
    p = tmp_path / "x.fit"
    p.write_bytes(small_fit_bytes)
    c = read_runs(p)
    assert a[0].records.equals(b[0].records) and a[0].records.equals(c[0].records)
    assert a[0].meta["sha256"] == c[0].meta["sha256"]
    assert a[0].meta["source"] == "x.fit" and c[0].meta["source"] == str(p)


def test_gzipped_fit_is_read(small_fit_bytes: bytes, tmp_path: Path) -> None:
    import gzip

    p = tmp_path / "run.fit.gz"
    p.write_bytes(gzip.compress(small_fit_bytes))
    (run,) = read_runs(p)
    assert len(run.records) > 100
