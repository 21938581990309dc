"""The per-sample CSV reader: header recognition, units, time zones, column_map, errors."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stridekeeper.errors import DataQualityWarning, UnsupportedFormatError
from stridekeeper.io import read_runs
from stridekeeper.io.csv import read_csv_run
from stridekeeper.metrics.averages import avg_cadence_spm
from stridekeeper.testing import check_run_conforms


def _read(data: bytes | Path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        (run,) = read_csv_run(data, **kw)
    check_run_conforms(run)
    return run


def _rows(header: str, n: int, row) -> bytes:
    return (header + "\n" + "\n".join(row(i) for i in range(n)) + "\n").encode()


def test_fitparse_dump_against_its_fit_file(realdata: Path) -> None:
    run = _read(realdata / "python-fitparse/garmin-fenix-5-run-records.csv")
    (fit,) = read_runs(realdata / "python-fitparse/garmin-fenix-5-run.fit")
    # 'Sun Jun 11 07:34:09 PDT 2017': the zone abbreviation gives UTC and the offset
    assert run.records.index.equals(fit.records.index)
    assert run.meta["utc_offset_s"] == fit.meta["utc_offset_s"] == -7 * 3600
    a, b = run.records, fit.records
    np.testing.assert_allclose(a["distance_m"], b["distance_m"])
    np.testing.assert_allclose(a["speed_mps"], b["speed_mps"])
    np.testing.assert_allclose(a["latitude_deg"], b["latitude_deg"])  # semicircles converted
    np.testing.assert_allclose(a["altitude_m"], b["altitude_m"])
    # per-foot cadence detected and doubled; FIT adds the fraction the CSV lacks
    assert run.meta["cadence_convention"]["decision"] == "per_foot_doubled"
    diff = b["cadence_spm"] - a["cadence_spm"]
    assert (diff >= 0).all() and (diff < 2).all()
    assert avg_cadence_spm(a) == pytest.approx(avg_cadence_spm(b), abs=1.0)


def test_units_stated_in_headers() -> None:
    data = _rows("Time (s),Distance (km),Speed (km/h),Cadence (spm),Stride Length (cm),"
                 "Heart Rate (bpm),Elevation (ft)", 600,
                 lambda i: f"{i},{i * 3 / 1000:.6f},10.8,170,{3 / (170 / 60) * 100:.4f},150,"
                           "32.8084")  # fmt: skip
    run = _read(data, start_time="2024-05-01T06:00:00Z")
    rec = run.records
    assert rec.index[0] == pd.Timestamp("2024-05-01T06:00:00Z")
    assert rec["distance_m"].iloc[-1] == pytest.approx(599 * 3)
    assert rec["speed_mps"].median() == pytest.approx(3.0)
    assert rec["cadence_spm"].median() == 170  # 'spm' in the header: not doubled
    # Garmin's/Apple's "stride length" is one step: cm -> m, not halved
    assert rec["step_length_m"].median() == pytest.approx(3 / (170 / 60), rel=1e-4)
    assert rec["altitude_m"].median() == pytest.approx(10.0, rel=1e-4)
    assert "one step" in run.meta["column_units"]["step_length"]


def test_units_in_suffixes_and_pace_as_text() -> None:
    data = _rows("timestamp,distance_mi,pace_min_per_mi,cadence,step_length_mm", 300,
                 lambda i: f"2024-05-01T06:{i // 60:02d}:{i % 60:02d}+02:00,"
                           f"{i * 3 / 1609.344:.7f},8:56.4,86,1050")  # fmt: skip
    run = _read(data)
    rec = run.records
    assert rec.index[0] == pd.Timestamp("2024-05-01T04:00:00Z")
    assert run.meta["utc_offset_s"] == 7200
    assert rec["distance_m"].iloc[-1] == pytest.approx(299 * 3, rel=1e-6)
    assert rec["speed_mps"].median() == pytest.approx(1609.344 / 536.4, rel=1e-6)
    assert rec["cadence_spm"].median() == 172  # per foot by magnitude: doubled
    assert rec["step_length_m"].median() == pytest.approx(1.05)


def test_canonical_stride_length_is_two_steps() -> None:
    data = _rows("elapsed_s,speed_mps,stride_length_m", 10, lambda i: f"{i},3.0,2.2")
    run = _read(data)
    assert run.records["step_length_m"].median() == pytest.approx(1.1)


def test_column_map_wins() -> None:
    data = _rows("Zeit;Tempo;Schritte;Weg", 120,
                 lambda i: f"{i};{12.6:.1f};174;{i * 3.5:.1f}".replace(".", ","))  # fmt: skip
    with pytest.raises(UnsupportedFormatError) as info:
        read_csv_run(data, name="de.csv")
    msg = str(info.value)
    assert "Zeit, Tempo, Schritte, Weg" in msg and "time column" in msg and "speed" in msg
    run = _read(data, column_map={"elapsed_s": "Zeit", "speed_kmh": "Tempo",
                                  "cadence_spm": "Schritte", "distance_m": "Weg"})  # fmt: skip
    rec = run.records
    assert rec["speed_mps"].median() == pytest.approx(3.5)  # decimal comma, km/h
    assert rec["cadence_spm"].median() == 174
    assert rec["distance_m"].iloc[-1] == pytest.approx(119 * 3.5)
    with pytest.raises(ValueError, match="unknown column_map key"):
        read_csv_run(data, column_map={"speed": "Tempo"})


def test_epoch_times_and_unknown_zone() -> None:
    t0 = 1_717_225_200  # 2024-06-01T07:00:00Z
    run = _read(_rows("time,speed", 5, lambda i: f"{(t0 + i) * 1000},3.0"))
    assert run.records.index[0] == pd.Timestamp(t0, unit="s", tz="UTC")
    with pytest.warns(DataQualityWarning, match="unknown time-zone abbreviation"):
        read_csv_run(_rows("timestamp,speed", 3, lambda i: f"Sat Jun 01 07:00:0{i} XYZ 2024,3"))


def test_pauses_inferred_from_gaps() -> None:
    times = list(range(100)) + [130 + i for i in range(50)]
    data = (
        "Elapsed Time (s),distance\n"
        + "\n".join(f"{t},{min(i, 99) * 3 + max(0, i - 99) * 3}" for i, t in enumerate(times))
        + "\n"
    ).encode()
    run = _read(data)
    assert run.meta["pause_inference"]["n_pauses"] == 1
    assert run.records["timer_s"].iloc[-1] == pytest.approx(179 - 31)


def test_tables_that_are_not_samples_are_refused(realdata: Path) -> None:
    with pytest.raises(UnsupportedFormatError, match="needs a time column"):
        read_csv_run(realdata / "device_summaries.csv")
    data = _rows("date,distance", 4, lambda i: f"2024-05-0{4 - i},{i}")
    with pytest.raises(UnsupportedFormatError, match="does not increase"):
        read_csv_run(data, name="table.csv")


def test_slash_units_and_the_briefs_column_map() -> None:
    data = _rows("Time,Speed m/s,Temperature (°F)", 5,
                 lambda i: f"2024-05-01 06:00:0{i},3.0,50")  # fmt: skip
    auto = _read(data)
    mapped = _read(data, column_map={"timestamp": "Time", "speed_mps": "Speed m/s"})
    assert auto.records.equals(mapped.records)
    assert auto.records["speed_mps"].eq(3.0).all()
    assert auto.records["temperature_c"].iloc[0] == pytest.approx(10.0)
