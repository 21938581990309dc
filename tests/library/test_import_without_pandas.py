"""An import of activity files never imports pandas (0.25 s a process: issue 18's import
rate), and the library it writes reads back as the DataFrame path wrote it."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from stridekeeper.library import Library, import_paths
from stridekeeper.library.arrow import arrow_strings, concat, numpy_column, rows_table
from stridekeeper.library.store import Commit
from stridekeeper.synth.files import run_fit_bytes
from stridekeeper.synth.runs import simulate_run

SRC = str(Path(__file__).resolve().parents[2] / "src")

# long enough for a drop-off (and so for the personal pass to have work to consider)
_RUNS = [(0, 40, 0.0), (2, 45, 5.0), (4, 40, 0.0)]


def _folder(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for day, minutes, fatigue in _RUNS:
        sim = simulate_run(start_time=pd.Timestamp("2026-03-02T07:00Z") + pd.Timedelta(days=day),
                           duration_s=minutes * 60, fatigue_pct=fatigue, seed=day)  # fmt: skip
        (path / f"run{day}.fit").write_bytes(run_fit_bytes(sim))
    return path


_CHILD = """
import sys
sys.path.insert(0, {src!r})
from stridekeeper.cli import main
for jobs in ("1", "2"):
    lib = {lib!r} + jobs
    for _ in range(2):  # a new library, then the same files again (all unchanged)
        code = main(["import", {folder!r}, "--library", lib, "--jobs", jobs, "--json"])
        assert code == 0, code
print("PANDAS" if "pandas" in sys.modules else "NO PANDAS")
"""


def test_import_of_fit_files_never_imports_pandas(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "runs")
    lib = str(tmp_path / "lib")
    out = subprocess.run([sys.executable, "-c", _CHILD.format(src=SRC, lib=lib, folder=str(folder))],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("NO PANDAS")
    runs = Library.open(lib + "2").runs()
    assert len(runs) == 3
    assert str(runs["start_time"].dtype) == "datetime64[us, UTC]"
    assert runs["start_time"].dt.day.tolist() == [2, 4, 6]
    assert runs["records_file"].notna().all() and runs["summary_only"].eq(False).all()
    # the declared types, whatever the values (a column that holds nothing stays text)
    assert runs["dropoff_reason"].dtype == runs["sport"].dtype
    assert runs["session_index"].tolist() == [0, 0, 0]


def test_arrow_commit_reads_back_as_the_dataframe_commit(tmp_path: Path) -> None:
    """The same rows committed as dicts (the importer) and as a DataFrame (the API) give
    the same runs table."""
    import_paths([_folder(tmp_path / "runs")], tmp_path / "a", jobs=1)
    rows = Library.open(tmp_path / "a").run_rows()
    frame = Library.open(tmp_path / "a").runs()
    for name, runs in (("dicts", rows), ("frame", frame)):
        lib = Library.create(tmp_path / name)
        lib.commit(Commit(runs=runs, records={}, mobility=[], sources=[]))
    a, b = Library.open(tmp_path / "dicts").runs(), Library.open(tmp_path / "frame").runs()
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
    pd.testing.assert_frame_equal(a, frame, check_dtype=False)


def test_arrow_helpers_round_trip() -> None:
    when = dt.datetime(2026, 3, 2, 7, 0, 1, 250, tzinfo=dt.UTC)
    rows = [{"x": 1.5, "s": "a", "t": when, "n": 3, "b": True},
            {"x": None, "s": None, "t": None, "n": None, "b": False},
            {"x": float("nan"), "s": "é", "extra": 2.0}]  # fmt: skip
    table = rows_table(rows, {"n": "int64", "b": "bool"})
    assert table.column_names == ["x", "s", "t", "n", "b", "extra"]
    assert table["s"].to_pylist() == ["a", None, "é"]
    assert table["t"].type == pa.timestamp("us", tz="UTC")
    assert table["t"].cast(pa.int64()).to_pylist()[0] == int(when.timestamp() * 1e6)
    np.testing.assert_array_equal(numpy_column(table["x"]), [1.5, np.nan, np.nan])
    np.testing.assert_array_equal(numpy_column(table["n"]), [3.0, np.nan, np.nan])  # gaps: floats
    assert table["b"].null_count == 1  # a row without the key: null, not False
    sliced = arrow_strings(["p", None, "q", "r"]).slice(1)
    assert sliced.to_pylist() == [None, "q", "r"]
    ints = pa.chunked_array([pa.array([1, 2, 3], pa.int64()).slice(1)])
    assert numpy_column(ints).tolist() == [2, 3]


def test_concat_gives_a_column_that_held_nothing_the_other_type() -> None:
    old = pa.table({"reason": pa.nulls(2, pa.float64()), "v": pa.array([1.0, 2.0])})
    new = rows_table([{"reason": "too short", "v": 3.0, "w": "x"}], {"reason": "str"})
    out = concat([old, new], {"reason": "str"})
    assert out.schema.field("reason").type == pa.large_string()
    assert out["reason"].to_pylist() == [None, None, "too short"]
    assert out["w"].to_pylist() == [None, None, "x"]
    with pytest.raises(pa.ArrowInvalid):  # real text can't become a number
        concat([new, pa.table({"reason": pa.array([1.5])})], {"reason": "float64"})


def test_results_do_not_depend_on_which_process_decoded_a_run(tmp_path: Path) -> None:
    """One process or two, the same runs table to the last bit: the personal pass pools
    the athletes' runs in runs() order, whatever order the workers finished in."""
    from stridekeeper.testing import write_cohort_export

    cohort = write_cohort_export(tmp_path / "export", 6, 6, minutes=25, seed=9)
    tables = []
    for jobs in (1, 2):
        import_paths([cohort], tmp_path / f"lib{jobs}", jobs=jobs, athlete_from_path=True)
        runs = Library.open(tmp_path / f"lib{jobs}").runs()
        tables.append(runs.drop(columns=["imported_at", "records_file"]))
    assert tables[0]["dropoff_prior"].astype(str).str.startswith("personal").any()
    pd.testing.assert_frame_equal(tables[0], tables[1], check_exact=True)
