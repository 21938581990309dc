"""How record files store their columns: fixed-point decimals as integers, read back as
the very floats that went in."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from stridekeeper.library import Library, import_paths, store
from stridekeeper.schema import RecordColumns
from stridekeeper.synth.files import run_fit_bytes
from stridekeeper.synth.runs import simulate_run


def _records(distance_m: np.ndarray, speed_mps: np.ndarray) -> RecordColumns:
    n = len(distance_m)
    ts = np.datetime64("2026-01-05T07:00:00", "ns").astype(np.int64) + np.arange(n) * 10**9
    return RecordColumns(ts, {"distance_m": distance_m, "speed_mps": speed_mps,
                              "cadence_spm": np.full(n, 170.0)})  # fmt: skip


def _stored(tmp_path: Path, rec: RecordColumns) -> tuple[pq.ParquetSchema, RecordColumns]:
    path = tmp_path / "records" / "2026-01" / "r.parquet"
    store._write_table(store._records_file_table([("run", store.records_table(rec))]), path)
    return pq.read_schema(path), store.records_columns(pq.read_table(path))


def _bits(a: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(a), 0, a.view(np.int64))


def test_fit_decimals_are_stored_as_integers_and_read_back_bit_for_bit(tmp_path: Path) -> None:
    raw_cm = np.cumsum(np.random.default_rng(1).integers(250, 350, 600))
    raw_mm_s = np.random.default_rng(2).integers(2500, 3500, 600)
    distance, speed = raw_cm / 100, raw_mm_s / 1000  # as the FIT reader scales them
    speed[[5, 17]] = np.nan  # gaps
    schema, back = _stored(tmp_path, _records(distance, speed))
    assert str(schema.field("distance_m").type) == "int64"
    assert str(schema.field("speed_mps").type) == "int64"
    assert schema.field("speed_mps").nullable and not schema.field("distance_m").nullable
    assert np.array_equal(_bits(back.data["distance_m"]), _bits(distance))
    assert np.array_equal(_bits(back.data["speed_mps"]), _bits(speed))
    assert np.isnan(back.data["speed_mps"][[5, 17]]).all()


def test_values_that_are_not_such_decimals_stay_floats(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    distance = np.cumsum(rng.uniform(2.5, 3.5, 600))  # a GPS track's haversine sums
    speed = np.round(rng.uniform(2.5, 3.5, 600), 3)
    speed[0] = -0.0  # the sign of a zero is a bit an integer would lose
    schema, back = _stored(tmp_path, _records(distance, speed))
    assert str(schema.field("distance_m").type) == "double"
    assert str(schema.field("speed_mps").type) == "double"
    assert np.array_equal(_bits(back.data["distance_m"]), _bits(distance))
    assert np.signbit(back.data["speed_mps"][0])


def test_a_month_merged_from_float_and_integer_files_keeps_every_value(tmp_path: Path) -> None:
    """A library written before integers were stored (floats) and runs added after: the
    month's files are merged on compaction with the values unchanged."""
    lib_dir = tmp_path / "lib"
    sims = [simulate_run(start_time=pd.Timestamp("2026-01-05T07:00Z") + pd.Timedelta(days=d),
                         duration_s=300, seed=d) for d in range(2)]  # fmt: skip
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.fit").write_bytes(run_fit_bytes(sims[0]))
    real_with_decimals = store._with_decimals
    store._with_decimals = lambda table: table  # the code before: floats
    try:
        import_paths([tmp_path / "a"], lib_dir, jobs=1)
    finally:
        store._with_decimals = real_with_decimals
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "two.fit").write_bytes(run_fit_bytes(sims[1]))
    import_paths([tmp_path / "b"], lib_dir, jobs=1)
    lib = Library.open(lib_dir)
    (name,) = lib._manifest["records"]  # compacted: one file for the month
    assert str(pq.read_schema(lib_dir / name).field("distance_m").type) == "int64"
    alone = tmp_path / "alone"
    import_paths([tmp_path / "a", tmp_path / "b"], alone, jobs=1)
    ref = Library.open(alone)
    for run_id in ref.runs()["run_id"]:
        pd.testing.assert_frame_equal(lib.records(run_id), ref.records(run_id))


def test_a_month_whose_runs_lack_a_column_stores_its_gaps(tmp_path: Path) -> None:
    """Runs without speed next to runs with it: the month's speed column is partly null
    (the concatenation fills it), still stored as integers and read back as gaps."""
    raw_cm = np.cumsum(np.full(600, 300))
    with_speed = store.records_table(_records(raw_cm / 100, np.full(600, 3.0)))
    without = store.records_table(RecordColumns(
        with_speed.column("timestamp").to_numpy().astype(np.int64) + 10**12,
        {"distance_m": raw_cm / 100}))  # fmt: skip
    path = tmp_path / "records" / "2026-01" / "r.parquet"
    store._write_table(store._records_file_table([("a", with_speed), ("b", without)]), path)
    schema = pq.read_schema(path)
    assert str(schema.field("speed_mps").type) == "int64" and schema.field("speed_mps").nullable
    back = store.records_columns(pq.read_table(path))
    assert np.isnan(back.data["speed_mps"][600:]).all()
    assert (back.data["speed_mps"][:600] == 3.0).all()
