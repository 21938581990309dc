"""The library's own Parquet writer and reader give what pyarrow.parquet gives: the same
bytes on disk, the same tables back, the same errors for a missing or damaged file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from stridekeeper.library import parquet_files, store
from stridekeeper.synth.files import run_fit_bytes
from stridekeeper.synth.runs import simulate_run


def _records_table() -> pa.Table:
    from stridekeeper.io.fit import read_fit

    run = read_fit(run_fit_bytes(simulate_run(duration_s=900, seed=4, hills_amplitude_m=10.0)))[0]
    return store._records_file_table([("r1", store.records_table(run.columns))])


def _small_table() -> pa.Table:
    return pa.table({"run_id": ["a", "b", "c"], "distance_m": [1.5, np.nan, 3.0],
                     "n": pa.array([1, None, 3], pa.int32())})  # fmt: skip


@pytest.mark.parametrize("which", ["records", "small"])
def test_files_are_byte_for_byte_what_write_table_writes(tmp_path: Path, which: str) -> None:
    table = _records_table() if which == "records" else _small_table()
    options: dict = {"compression": "zstd", "compression_level": 1, "use_dictionary": False}
    if which == "records":
        table, layout = store._records_layout(table)
        options.update(layout)
    ours, theirs = tmp_path / "ours.parquet", tmp_path / "theirs.parquet"
    parquet_files.write(table, ours, options)
    pq.write_table(table, theirs, **options)
    assert ours.read_bytes() == theirs.read_bytes()


def test_reads_what_parquet_file_reads(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    table = _records_table()
    store._write_table(table, path)
    with parquet_files.opened(path) as file, pq.ParquetFile(path) as ref:
        assert file.names == ref.schema_arrow.names
        assert file.read().equals(ref.read())
        cols = ["speed_mps", "run_id", "no_such_column"]
        assert file.read(cols).equals(ref.read(columns=cols))
        assert file.read(cols).column_names == ["speed_mps", "run_id"]


def test_missing_and_damaged_files_raise_as_pyarrow_does(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError), parquet_files.opened(tmp_path / "nothing.parquet"):
        pass
    cut = tmp_path / "cut.parquet"
    store._write_table(_small_table(), cut)
    cut.write_bytes(cut.read_bytes()[:-40])
    with pytest.raises(ValueError), parquet_files.opened(cut):
        pass


def test_a_failed_write_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    refused = {"use_dictionary": False, "column_encoding": {"run_id": "BYTE_STREAM_SPLIT"}}
    with pytest.raises(OSError, match="BYTE_STREAM_SPLIT"):
        parquet_files.write(_small_table(), path, refused)
    assert not path.exists()


def test_an_import_and_runs_never_load_pyarrow_parquet(tmp_path: Path) -> None:
    folder = tmp_path / "runs"
    folder.mkdir()
    (folder / "a.fit").write_bytes(run_fit_bytes(simulate_run(duration_s=1800, seed=1)))
    code = (
        "import sys\n"
        "from stridekeeper.library import import_paths, Library\n"
        f"import_paths([{str(folder)!r}], {str(tmp_path / 'lib')!r})\n"
        f"Library.open({str(tmp_path / 'lib')!r}).runs()\n"
        "print(sorted(m for m in ('pyarrow.parquet', 'pyarrow.fs', 'ssl') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)  # fmt: skip
    assert out.stdout.strip() == "[]"
