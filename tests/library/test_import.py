"""The athlete library: whole exports, idempotent re-import, atomic commits, safety."""

from __future__ import annotations

import gzip
import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from stridekeeper.cli import INSPECT_KEYS, main
from stridekeeper.errors import StridekeeperError
from stridekeeper.library import Library, import_paths
from stridekeeper.synth.files import run_fit_bytes
from stridekeeper.synth.runs import simulate_run


def _fit(day: int, minutes: int = 25, seed: int | None = None, **kw) -> bytes:
    sim = simulate_run(start_time=pd.Timestamp("2026-01-05T07:00Z") + pd.Timedelta(days=day),
                       duration_s=minutes * 60, seed=day if seed is None else seed, **kw)  # fmt: skip
    return run_fit_bytes(sim)


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


@pytest.fixture
def garmin_export(tmp_path: Path) -> Path:
    inner = _zip({f"{1000 + d}_ACTIVITY.fit": _fit(d) for d in range(3)})
    inner2 = _zip({f"{2000 + d}_ACTIVITY.fit": _fit(d) for d in range(3, 5)})
    outer = _zip({
        "DI_CONNECT/DI-Connect-Uploaded-Files/UploadedFiles_0-_Part1.zip": inner,
        "DI_CONNECT/DI-Connect-Uploaded-Files/UploadedFiles_0-_Part2.zip": inner2,
        "DI_CONNECT/DI-Connect-User/user_profile.json": b'{"gender": "x"}',
        "DI_CONNECT/DI-Connect-Wellness/sleep.json": b"[]",
        "README.txt": b"your data",
    })  # fmt: skip
    p = tmp_path / "garmin_export.zip"
    p.write_bytes(outer)
    return p


@pytest.fixture
def strava_export(tmp_path: Path) -> Path:
    members = {
        "activities.csv": b"Activity ID,Activity Date,Activity Name,Activity Type,Filename\n"
                          b"11,\"Jan 5, 2026, 7:00:00 AM\",Run,Run,activities/11.fit.gz\n",
        "activities/11.fit.gz": gzip.compress(_fit(10)),
        "activities/12.fit.gz": gzip.compress(_fit(11)),
        "profile.csv": b"Athlete ID,Email\n1,a@b.c\n",
    }  # fmt: skip
    p = tmp_path / "strava_export.zip"
    p.write_bytes(_zip(members))
    return p


def test_garmin_export_with_nested_zips(garmin_export: Path, tmp_path: Path) -> None:
    before = garmin_export.read_bytes()
    report = import_paths([garmin_export], tmp_path / "lib", jobs=1)
    assert report.imported_runs == 5 and report.failures == []
    assert report.ignored == 3  # profile, sleep, readme: not data we read, not failures
    lib = Library.open(tmp_path / "lib")
    runs = lib.runs()
    assert len(runs) == 5 and runs["run_id"].is_unique
    assert runs["start_time"].is_monotonic_increasing
    rec = lib.records(runs["run_id"].iloc[0])
    assert len(rec) == 25 * 60 and str(rec.index.tz) == "UTC"
    assert garmin_export.read_bytes() == before  # sources are only read


def test_strava_export_with_gzipped_fit(strava_export: Path, tmp_path: Path) -> None:
    report = import_paths([strava_export], tmp_path / "lib", jobs=2)
    assert report.imported_runs == 2
    assert report.failures == []


def test_reimport_is_a_no_op(garmin_export: Path, tmp_path: Path) -> None:
    import_paths([garmin_export], tmp_path / "lib", jobs=1)
    lib = Library.open(tmp_path / "lib")
    gen, runs = lib.generation, lib.runs()
    again = import_paths([garmin_export], tmp_path / "lib", jobs=1)
    assert again.imported_runs == 0 and again.unchanged == 5
    lib = Library.open(tmp_path / "lib")
    assert lib.generation == gen
    pd.testing.assert_frame_equal(lib.runs(), runs)


def test_changed_file_replaces_its_runs(tmp_path: Path) -> None:
    f = tmp_path / "run.fit"
    f.write_bytes(_fit(1))
    import_paths([f], tmp_path / "lib", jobs=1)
    old = Library.open(tmp_path / "lib").runs()["run_id"].tolist()
    f.write_bytes(_fit(1, minutes=30, seed=99))
    import_paths([f], tmp_path / "lib", jobs=1)
    lib = Library.open(tmp_path / "lib")
    runs = lib.runs()
    assert len(runs) == 1 and runs["run_id"].tolist() != old
    assert len(lib.records(runs["run_id"].iloc[0])) == 30 * 60


def test_bad_file_among_good_ones(tmp_path: Path) -> None:
    folder = tmp_path / "watch"
    folder.mkdir()
    for d in range(3):
        (folder / f"run{d}.fit").write_bytes(_fit(d))
    (folder / "broken.fit").write_bytes(_fit(5)[:300])
    (folder / "garbage.fit").write_bytes(b"\x00" * 50)
    report = import_paths([folder], tmp_path / "lib", jobs=2)
    failed = {Path(f).name for f, _ in report.failures}
    assert failed == {"garbage.fit"} or failed == {"garbage.fit", "broken.fit"}
    assert report.imported_runs >= 3
    assert len(Library.open(tmp_path / "lib").runs()) == report.imported_runs


def test_zip_slip_and_absolute_paths_refused(tmp_path: Path) -> None:
    evil = _zip({"../../escape.fit": _fit(1), "/abs/path.fit": _fit(2), "ok/run.fit": _fit(3)})
    p = tmp_path / "evil.zip"
    p.write_bytes(evil)
    report = import_paths([p], tmp_path / "lib", jobs=1)
    reasons = " ".join(r for _, r in report.failures)
    assert len(report.failures) == 2 and "unsafe path" in reasons
    assert report.imported_runs == 1
    assert not (tmp_path.parent / "escape.fit").exists()


def test_oversize_archive_refused(garmin_export: Path, tmp_path: Path) -> None:
    report = import_paths([garmin_export], tmp_path / "lib", jobs=1, max_archive_bytes=10_000)
    assert report.imported_runs == 0
    assert any("cap" in r for _, r in report.failures)


def test_cli_import_runs_json_and_exit_codes(garmin_export: Path, tmp_path: Path, capsys) -> None:
    lib = str(tmp_path / "lib")
    assert main(["import", str(garmin_export), "--library", lib, "--jobs", "1", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["imported_runs"] == 5
    assert main(["runs", "--library", lib, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 5
    extra = {"run_id", "athlete", "utc_offset_s", "start_time_local"}
    assert set(INSPECT_KEYS) | extra == set(rows[0])
    assert main(["runs", "--library", lib, "--json", "--since", "2026-01-06",
                 "--until", "2026-01-07"]) == 0  # fmt: skip
    assert len(json.loads(capsys.readouterr().out)) == 2
    bad = tmp_path / "bad.fit"
    bad.write_bytes(b"nope" * 10)
    assert main(["import", str(bad), "--library", lib, "--jobs", "1"]) == 1
    assert "bad.fit" in capsys.readouterr().err


def test_runs_without_a_library_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(StridekeeperError, match="no stridekeeper library"):
        Library.open(tmp_path)
    res = subprocess.run([sys.executable, "-m", "stridekeeper.cli", "runs", "--library",
                          str(tmp_path)], capture_output=True, text=True)  # fmt: skip
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_killed_import_leaves_a_consistent_library(tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for d in range(40):
        (folder / f"run{d:02d}.fit").write_bytes(_fit(d, minutes=20))
    lib_dir = tmp_path / "lib"
    proc = subprocess.Popen(
        [sys.executable, "-m", "stridekeeper.cli", "import", str(folder), "--library",
         str(lib_dir), "--jobs", "1", "--commit-every", "1", "--json"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    manifest = lib_dir / "library.json"
    while time.monotonic() < deadline:
        if manifest.is_file() and json.loads(manifest.read_text())["generation"] >= 4:
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    lib = Library.open(lib_dir)
    runs = lib.runs()
    sources = lib.sources()
    assert 4 <= len(runs) < 40, "killed before the end, after a few commits"
    assert len(runs) == lib.generation  # one file, one run, one commit each
    assert sorted(sources["sha256"]) == sorted(runs["source_sha256"])
    for run_id in runs["run_id"]:
        assert len(lib.records(run_id)) == 20 * 60
    # finishing the import later adds exactly the rest
    report = import_paths([folder], lib_dir, jobs=1)
    assert report.imported_runs == 40 - len(runs)
    assert len(Library.open(lib_dir).runs()) == 40


def test_mobility_log_takes_the_runs_offset(tmp_path: Path) -> None:
    """A log holds local times only: the import reads it in the athlete's runs' offset."""
    folder = tmp_path / "export"
    folder.mkdir()
    sim = simulate_run(start_time="2026-01-05T07:00Z", duration_s=1500, seed=3)
    (folder / "run.fit").write_bytes(run_fit_bytes(sim, utc_offset_s=-5 * 3600))
    (folder / "mobility.csv").write_text("date,duration_min,focus\n2026-01-05T23:30,20,hips\n")
    report = import_paths([folder], tmp_path / "lib", jobs=2)
    assert report.imported_runs == 1 and report.mobility_sessions == 1
    lib = Library.open(tmp_path / "lib")
    assert lib.typical_utc_offset_s() == -5 * 3600
    mob = lib.mobility()
    assert mob["start_time"].iloc[0] == pd.Timestamp("2026-01-06T04:30Z")
    assert str(mob["local_date"].iloc[0]) == "2026-01-05"
    assert mob["regions"].iloc[0] == ("hips",)


@pytest.mark.parametrize("jobs", [1, 2])
def test_mobility_log_years_outside_the_runs_are_row_errors(tmp_path: Path, jobs: int) -> None:
    """The import gives the log reader the runs' date range: a session dated more than a
    year outside it (a typo in the year) is that row's error; the runs of the same call
    count, and so do the runs already in the library."""
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "run.fit").write_bytes(_fit(0))  # 2026-01-05
    (folder / "mobility.csv").write_text(
        "date,duration_min,focus\n2026-01-04,20,hips\n2025-02-01,15,ankles\n2021-01-04,10,hips\n"
    )
    report = import_paths([folder], tmp_path / "lib", jobs=jobs)
    assert report.imported_runs == 1 and report.mobility_sessions == 2
    assert len(report.rejected_rows) == 1
    assert "line 4" in report.rejected_rows[0] or ":4" in report.rejected_rows[0]
    assert "2021-01-04" in report.rejected_rows[0] and "athlete's runs" in report.rejected_rows[0]
    # a second log imported later is checked against the runs already in the library
    (tmp_path / "later.csv").write_text("date,duration_min\n2019-06-01,10\n2026-02-01,10\n")
    later = import_paths([tmp_path / "later.csv"], tmp_path / "lib", jobs=1)
    assert later.mobility_sessions == 1 and len(later.rejected_rows) == 1
    assert "athlete's runs" in later.rejected_rows[0]


def test_apple_health_export_zip_streams_runs_and_mobility(tmp_path: Path) -> None:
    from stridekeeper.testing import write_apple_health_export

    xml = tmp_path / "export.xml"
    write_apple_health_export(xml, runs=2, mobility=(("Yoga", 20.0),))
    zpath = tmp_path / "export.zip"
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(xml, "apple_health_export/export.xml")
    xml.unlink()
    report = import_paths([zpath], tmp_path / "lib", jobs=1)
    assert report.failures == []
    assert report.imported_runs == 2 and report.mobility_sessions >= 1
    lib = Library.open(tmp_path / "lib")
    assert len(lib.runs()) == 2 and (lib.runs()["format"] == "apple_health").all()
    again = import_paths([zpath], tmp_path / "lib", jobs=1)
    assert again.unchanged == 1 and again.imported_runs == 0


def test_worker_record_files_pipe_and_in_process_give_the_same_library(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers hand records back in a mapped temporary file (or, without a temporary
    folder, through the pool's pipe); every route stores the same records, and no
    temporary file outlives the import."""
    from stridekeeper.library import importer

    folder = tmp_path / "runs"
    folder.mkdir()
    for d in range(6):  # two months, so two record files per library
        (folder / f"r{d}.fit").write_bytes(_fit(d * 9, minutes=22))
    spill_root = tmp_path / "tmp"
    spill_root.mkdir()
    monkeypatch.setenv("TMPDIR", str(spill_root))
    monkeypatch.setattr(importer.tempfile, "tempdir", None)  # re-read TMPDIR
    made: list[str | None] = []
    real_folder = importer._spill_folder

    def recording_folder(stack):
        made.append(real_folder(stack))
        return made[-1]

    monkeypatch.setattr(importer, "_spill_folder", recording_folder)
    spilled = import_paths([folder], tmp_path / "spilled", jobs=2)
    assert made and made[0] is not None and Path(made[0]).parent == spill_root
    assert list(spill_root.iterdir()) == []  # the workers' files are gone
    monkeypatch.setattr(importer, "_spill_folder", lambda stack: None)
    piped = import_paths([folder], tmp_path / "piped", jobs=2)
    local = import_paths([folder], tmp_path / "local", jobs=1)
    assert spilled.imported_runs == piped.imported_runs == local.imported_runs == 6
    libs = [Library.open(tmp_path / name) for name in ("spilled", "piped", "local")]
    ids = [set(lib.runs()["run_id"]) for lib in libs]
    assert ids[0] == ids[1] == ids[2]
    for run_id in ids[0]:
        first = libs[0].records(run_id)
        assert len(first) > 1000 and first.index.tz is not None
        for other in libs[1:]:
            pd.testing.assert_frame_equal(first, other.records(run_id))
    assert len(libs[0]._manifest["records"]) == 2


def test_this_process_decodes_beside_its_workers_and_the_library_is_the_same(
    tmp_path: Path, monkeypatch
) -> None:
    """With jobs=2 this process decodes whatever the one worker has no room for; the
    library is the one a single process builds (runs, records, sources)."""
    from stridekeeper.library import importer

    folder = tmp_path / "runs"
    folder.mkdir()
    for d in range(12):
        (folder / f"r{d:02d}.fit").write_bytes(_fit(d * 5, minutes=21, seed=d))
    here: list[str] = []
    real = importer._decode_item

    def counted(display, *a, **kw):
        here.append(display)  # in a forked worker this list is the worker's own copy
        return real(display, *a, **kw)

    monkeypatch.setattr(importer, "_decode_item", counted)
    monkeypatch.setattr(importer, "CHUNK_FILES", 1)
    both = import_paths([folder], tmp_path / "both", jobs=2)
    assert 0 < len(here) < 12, here  # this process took some, the worker the others
    one = import_paths([folder], tmp_path / "one", jobs=1)
    assert both.imported_runs == one.imported_runs == 12
    a, b = Library.open(tmp_path / "both"), Library.open(tmp_path / "one")
    ra, rb = (x.runs().drop(columns=["imported_at"]).sort_values("run_id").reset_index(drop=True)
              for x in (a, b))  # fmt: skip
    pd.testing.assert_frame_equal(ra.drop(columns="records_file"), rb.drop(columns="records_file"))
    for run_id in ra["run_id"]:
        pd.testing.assert_frame_equal(a.records(run_id), b.records(run_id))
    sa, sb = (x.sources().drop(columns="imported_at").sort_values("path").reset_index(drop=True)
              for x in (a, b))  # fmt: skip
    pd.testing.assert_frame_equal(sa, sb)


def test_a_vanished_temporary_folder_falls_back_to_the_pipe(tmp_path: Path) -> None:
    from stridekeeper.library import importer

    data = _fit(3, minutes=22)
    out = importer._decode_item("r.fit", data, "me", 1 << 30, spill_dir=str(tmp_path / "gone"))
    assert out["error"] is None and len(out["runs"]) == 1
    row, records = out["runs"][0]
    assert not isinstance(records, importer._Spilled) and records.num_rows > 1000


def test_record_files_of_earlier_versions_read_and_compact(tmp_path: Path) -> None:
    """Record files written before run_id was dictionary-encoded (a plain string column,
    default encodings) still read, and compaction merges them with new ones."""
    import pyarrow.parquet as pq

    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    (first / "r0.fit").write_bytes(_fit(0, minutes=22))
    (second / "r1.fit").write_bytes(_fit(1, minutes=22))
    lib_dir = tmp_path / "lib"
    import_paths([first], lib_dir, jobs=1)
    lib = Library.open(lib_dir)
    (old_file,) = lib._manifest["records"]
    run0 = lib.runs()["run_id"].iloc[0]
    before = lib.records(run0)
    # rewrite it as the earlier versions did: pandas -> Parquet, run_id a plain string,
    # every value column a float
    from stridekeeper.library.store import _as_floats

    frame = _as_floats(pq.read_table(lib_dir / old_file)).to_pandas()
    frame["run_id"] = frame["run_id"].astype(str)
    pq.write_table(_pa_table(frame), lib_dir / old_file, compression="zstd")
    assert not str(pq.read_schema(lib_dir / old_file).field("run_id").type).startswith("dict")
    pd.testing.assert_frame_equal(Library.open(lib_dir).records(run0), before)
    import_paths([second], lib_dir, jobs=1)  # same month: a second file, then compaction
    lib = Library.open(lib_dir)
    assert len(lib._manifest["records"]) == 1 and lib._manifest["records"] != [old_file]
    pd.testing.assert_frame_equal(lib.records(run0), before)
    assert len(lib.runs()) == 2 and all(len(lib.records(r)) > 1000 for r in lib.runs()["run_id"])


def _pa_table(frame: pd.DataFrame):
    import pyarrow as pa

    return pa.Table.from_pandas(frame, preserve_index=False)


def test_default_jobs_decode_a_few_files_here_and_many_in_a_pool(
    tmp_path: Path, monkeypatch
) -> None:
    from stridekeeper.library import importer

    started: list[int] = []

    class Pool(importer.ProcessPoolExecutor):
        def __init__(self, *a, **kw):
            started.append(kw.get("max_workers", 0))
            super().__init__(*a, **kw)

    monkeypatch.setattr(importer, "ProcessPoolExecutor", Pool)
    monkeypatch.setattr(importer.os, "cpu_count", lambda: 2)
    few, many = tmp_path / "few", tmp_path / "many"
    for folder, n in ((few, importer.FEW_FILES), (many, importer.FEW_FILES + 2)):
        folder.mkdir()
        for i in range(n):
            (folder / f"r{i}.fit").write_bytes(_fit(i, minutes=21, seed=i))
    assert import_paths([few], tmp_path / "lib1").imported_runs == importer.FEW_FILES
    assert started == []  # no pool for so few files
    rep = import_paths([many], tmp_path / "lib2")
    assert rep.imported_runs == importer.FEW_FILES + 2 and started == [
        1
    ]  # one worker beside this process
    # asked for explicitly, workers are started whatever the number of files
    assert import_paths([few], tmp_path / "lib3", jobs=2).imported_runs == importer.FEW_FILES
    assert started == [1, 1]
