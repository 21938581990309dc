"""The library under stress: one writer at a time, check and repair, clean failures."""

from __future__ import annotations

import dataclasses
import errno
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

from stridekeeper.cli import main
from stridekeeper.commands.library import escape
from stridekeeper.errors import StridekeeperError
from stridekeeper.library import Library, import_paths
from stridekeeper.library import store as store_mod
from stridekeeper.library.store import LibraryBusyError, LibraryWriteError, write_lock
from stridekeeper.synth.files import run_fit_bytes
from stridekeeper.synth.runs import simulate_run

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _fit(day: int, minutes: int = 5) -> bytes:
    sim = simulate_run(start_time=pd.Timestamp("2026-01-05T07:00Z") + pd.Timedelta(days=day),
                       duration_s=minutes * 60, seed=day)  # fmt: skip
    return run_fit_bytes(sim)


def _folder(path: Path, days: range, minutes: int = 5) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for d in days:
        (path / f"run{d:03d}.fit").write_bytes(_fit(d, minutes))
    return path


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": SRC, "TMPDIR": str(tmp_path)}


def _cli(*args: str, tmp_path: Path, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "stridekeeper.cli", *args],
                            env=_env(tmp_path), **kw)  # fmt: skip


# --------------------------------------------------------------------------- locking
def test_second_writer_refuses_or_waits(tmp_path: Path) -> None:
    lib_dir = tmp_path / "lib"
    f = _folder(tmp_path / "in", range(2))
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from stridekeeper.library.store import "
         "write_lock\nwith write_lock(sys.argv[1]):\n print('held', flush=True); time.sleep(2)",
         str(lib_dir)], env=_env(tmp_path), stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(LibraryBusyError, match="another stridekeeper process"):
        import_paths([f], lib_dir, jobs=1, lock_wait_s=0)
    waited: list[str] = []
    report = import_paths([f], lib_dir, jobs=1, on_wait=waited.append)
    assert holder.wait() == 0
    assert len(waited) == 1 and "waiting for another stridekeeper process" in waited[0]
    assert report.imported_runs == 2
    # readers take no lock: reading while a writer holds it works
    with write_lock(lib_dir):
        assert len(Library.open(lib_dir).runs()) == 2


def test_concurrent_imports_lose_nothing(tmp_path: Path) -> None:
    lib_dir = tmp_path / "lib"
    a = _folder(tmp_path / "a", range(0, 12))
    b = _folder(tmp_path / "b", range(40, 52))
    procs = [_cli("import", str(p), "--library", str(lib_dir), "--jobs", "1", "--commit-every",
                  "2", "--json", tmp_path=tmp_path, stdout=subprocess.PIPE,
                  stderr=subprocess.PIPE, text=True) for p in (a, b)]  # fmt: skip
    outs = [p.communicate(timeout=170) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert sorted(json.loads(o)["imported_runs"] for o, _ in outs) == [12, 12]
    lib = Library.open(lib_dir)
    runs = lib.runs()
    assert len(runs) == 24 and runs["run_id"].is_unique
    assert lib.check().ok
    for run_id in runs["run_id"]:
        assert len(lib.records(run_id)) == 5 * 60


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        text = (task / "children").read_text().split()
        out += [int(t) for t in text]
    return out


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_killed_import_leaves_no_workers_no_spill_and_a_whole_library(
    tmp_path: Path, monkeypatch
) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    folder = _folder(tmp_path / "many", range(60), minutes=10)
    lib_dir = tmp_path / "lib"
    proc = _cli("import", str(folder), "--library", str(lib_dir), "--jobs", "2",
                "--commit-every", "4", "--json", tmp_path=tmp_path,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    manifest = lib_dir / "library.json"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if manifest.is_file() and json.loads(manifest.read_text())["generation"] >= 2:
            break
        time.sleep(0.02)
    workers = _children(proc.pid)
    assert workers, "the import runs worker processes"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(w) for w in workers), "workers die with the import"
    lib = Library.open(lib_dir)
    assert lib.open_problems == [] and lib.check().consistent  # at most unnamed leftovers
    n = len(lib.runs())
    assert 1 <= n < 60
    # the orphaned workers removed the killed import's spill folder as they went
    left = list(tmp_path.glob(f"stridekeeper-import-{proc.pid}-*"))
    assert not left, [sorted(p.name for p in d.iterdir()) for d in left]
    report = import_paths([folder], lib_dir, jobs=2)
    assert report.imported_runs == 60 - n and report.unchanged == n
    assert Library.open(lib_dir).check().ok  # the next commit removed any leftovers
    assert not list(tmp_path.glob("stridekeeper-import-*"))


# --------------------------------------------------------------------------- check, repair
def test_lost_records_are_found_repaired_and_reimported(tmp_path: Path, capsys) -> None:
    lib_dir = tmp_path / "lib"
    f = _folder(tmp_path / "in", [0, 40, 80])  # three months: three records files
    import_paths([f], lib_dir, jobs=1)
    lib = Library.open(lib_dir)
    victim = sorted(lib._manifest["records"])[1]
    (lib_dir / victim).unlink()
    lib = Library.open(lib_dir)
    assert len(lib.open_problems) == 1 and "missing" in lib.open_problems[0]
    assert main(["runs", "--library", str(lib_dir)]) == 1  # listed, but not "all fine"
    rep = lib.check()
    assert not rep.ok and len(rep.lost_run_ids) == 1 and len(rep.lost_sources) == 1
    assert main(["check", "--library", str(lib_dir)]) == 1
    assert main(["check", "--repair", "--library", str(lib_dir)]) == 0
    lib = Library.open(lib_dir)
    assert len(lib.runs()) == 2 and lib.check().ok
    assert (lib.sources()["status"] == "lost").sum() == 1
    report = import_paths([f], lib_dir, jobs=1)  # the lost run comes back, never "unchanged"
    assert report.imported_runs == 1 and report.unchanged == 2
    assert len(Library.open(lib_dir).runs()) == 3
    capsys.readouterr()


def test_lost_records_reimported_without_repair(tmp_path: Path) -> None:
    lib_dir = tmp_path / "lib"
    f = _folder(tmp_path / "in", [0, 40])
    import_paths([f], lib_dir, jobs=1)
    for name in Library.open(lib_dir)._manifest["records"]:
        (lib_dir / name).write_bytes(b"PAR1 truncated")
    report = import_paths([f], lib_dir, jobs=1)
    assert report.imported_runs == 2 and report.unchanged == 0
    lib = Library.open(lib_dir)
    assert lib.check().ok
    assert all(len(lib.records(r)) == 300 for r in lib.runs()["run_id"])


def test_incomplete_manifest_and_truncated_table(tmp_path: Path, capsys) -> None:
    lib_dir = tmp_path / "lib"
    import_paths([_folder(tmp_path / "in", range(3))], lib_dir, jobs=1)
    (lib_dir / "library.json").write_text('{"version": 1}')
    with pytest.raises(StridekeeperError, match="incomplete library manifest"):
        Library.open(lib_dir)
    assert main(["runs", "--library", str(lib_dir)]) == 1
    err = capsys.readouterr().err
    assert "incomplete" in err and "internal error" not in err
    assert main(["check", "--repair", "--library", str(lib_dir)]) == 0
    assert len(Library.open(lib_dir).runs()) == 3
    # a truncated runs table: a clear line, then a repair that lets the files come back
    lib = Library.open(lib_dir)
    runs_file = lib_dir / lib._manifest["runs"]
    runs_file.write_bytes(runs_file.read_bytes()[:100])
    assert main(["runs", "--library", str(lib_dir)]) == 1
    err = capsys.readouterr().err
    assert "check --repair" in err and "internal error" not in err
    rep = Library.open(lib_dir, check=False).repair()
    assert rep.repaired and "runs" in rep.damaged_tables
    assert import_paths([tmp_path / "in"], lib_dir, jobs=1).imported_runs == 3


def test_unreferenced_files_are_found_and_removed(tmp_path: Path) -> None:
    lib_dir = tmp_path / "lib"
    import_paths([_folder(tmp_path / "in", range(2))], lib_dir, jobs=1)
    (lib_dir / "runs-00000099.parquet").write_bytes(b"left over")
    (lib_dir / "records" / "2026-01" / ".x.parquet.1234.tmp").write_bytes(b"half")
    rep = Library.open(lib_dir).check()
    assert len(rep.orphans) == 2
    assert Library.open(lib_dir).repair().repaired
    assert not (lib_dir / "runs-00000099.parquet").exists()
    assert Library.open(lib_dir).check().ok and len(Library.open(lib_dir).runs()) == 2


# --------------------------------------------------------------------------- write errors
@pytest.mark.parametrize("code, words", [(errno.ENOSPC, "no space left on device"),
                                         (errno.EROFS, "read-only file system")])  # fmt: skip
def test_full_disk_is_one_line_and_changes_nothing(tmp_path: Path, monkeypatch, capsys,
                                                   code: int, words: str) -> None:  # fmt: skip
    lib_dir = tmp_path / "lib"
    import_paths([_folder(tmp_path / "a", range(2))], lib_dir, jobs=1)
    before = sorted(p.name for p in lib_dir.rglob("*"))
    gen = Library.open(lib_dir).generation
    real = store_mod._write_table

    def full(table, path):
        real(table, path)  # a first file gets written, then the disk is full
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(store_mod, "_write_table", full)
    with pytest.raises(LibraryWriteError, match=f"{words} while writing the library at .*"
                       "nothing was changed"):  # fmt: skip
        import_paths([_folder(tmp_path / "b", range(10, 12))], lib_dir, jobs=1)
    assert main(["import", str(tmp_path / "b"), "--library", str(lib_dir), "--jobs", "1"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and words in err[-1] and "internal" not in err[-1]
    monkeypatch.undo()
    assert sorted(p.name for p in lib_dir.rglob("*")) == before
    lib = Library.open(lib_dir)
    assert lib.generation == gen and len(lib.runs()) == 2 and lib.check().ok


# --------------------------------------------------------------------------- hostile inputs
def _zip(members: list[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members:
            zf.writestr(zipfile.ZipInfo(name) if name else zipfile.ZipInfo("x"), data)
    return buf.getvalue()


def _rename_member(data: bytes, old: bytes, new: bytes) -> bytes:
    assert len(old) == len(new)
    return data.replace(old, new)


def test_hostile_members_each_get_a_line(tmp_path: Path, capsys) -> None:
    good = _fit(0)
    z = _zip([("good.fit", good), ("XXXX.fit", _fit(1)), ("YYYY.fit", b"garbage")])
    z = _rename_member(z, b"XXXX.fit", b"\x00XXX.fit")  # a name with a leading NUL
    z = _rename_member(z, b"YYYY.fit", b"a\nb:.fit")  # a newline in the name
    (tmp_path / "hostile.zip").write_bytes(z)
    lz = _zip([("run.fit", _fit(2) * 3)], zipfile.ZIP_LZMA)
    cut = bytearray(lz)
    cut[60:200] = bytes(140)  # a damaged LZMA stream
    (tmp_path / "lzma.zip").write_bytes(bytes(cut))
    nested = _fit(3)
    name = "run.fit"
    for i in range(60):  # zips nested very deep
        nested, name = _zip([(name, nested)]), f"level{i}.zip"
    (tmp_path / "deep.zip").write_bytes(nested)
    deep_json = b'{"a":' * 20000 + b"1" + b"}" * 20000
    (tmp_path / "deep_mobility.json").write_bytes(b'[{"date": "x", "duration_min": ' + deep_json
                                                  + b"}]")  # fmt: skip
    (tmp_path / "log.csv").write_bytes(b"date,duration_min,type\n2026-01-05,20,yoga\n")
    code = main(["import", str(tmp_path / "hostile.zip"), str(tmp_path / "lzma.zip"),
                 str(tmp_path / "deep.zip"), str(tmp_path / "deep_mobility.json"),
                 str(tmp_path / "log.csv"), "--library", str(tmp_path / "lib"), "--jobs",
                 "1"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 1, err
    assert "imported 1 runs" in out and "1 mobility sessions" in out, err
    lines = err.strip().splitlines()
    fails = [ln for ln in lines if ln.startswith("failed: ")]
    assert len(fails) == 5, lines
    assert all("internal error" not in ln for ln in lines)
    assert any("hostile.zip!:" in ln and "NUL name" in ln for ln in fails)
    assert any("a\\nb:.fit" in ln for ln in fails)  # escaped: no forged line
    assert any("lzma.zip" in ln and "damaged" in ln for ln in fails)
    assert any("nested more than" in ln for ln in fails)
    assert any("deep_mobility.json" in ln and "nested too deeply" in ln for ln in fails)
    assert lines[-1] == "5 file(s) failed"


def test_identical_failing_files_each_get_their_line(tmp_path: Path) -> None:
    members = [(f"bad{i:03d}.fit", b"\x0e\x10" + b"not a fit file" * 4) for i in range(50)]
    members.append(("good.fit", _fit(0)))
    (tmp_path / "many.zip").write_bytes(_zip(members))
    report = import_paths([tmp_path / "many.zip"], tmp_path / "lib", jobs=2)
    assert len(report.failures) == 50 and report.unchanged == 0
    assert sorted(f.rsplit("!", 1)[1] for f, _ in report.failures) == [m for m, _ in members[:50]]
    assert all(r.startswith(f) for f, r in report.failures)
    assert report.imported_runs == 1


def test_fit_without_activity_content_is_not_an_activity(tmp_path: Path) -> None:
    from stridekeeper.synth.fuzz import fit_container

    (tmp_path / "empty.fit").write_bytes(fit_container(b""))  # a bare header, no messages
    report = import_paths([tmp_path / "empty.fit"], tmp_path / "lib", jobs=1)
    assert report.imported_files == 0 and report.imported_runs == 0
    assert len(report.failures) == 1 and "not an activity file" in report.failures[0][1]


def test_truncated_fit_with_no_usable_run_is_a_failure(tmp_path: Path) -> None:
    (tmp_path / "cut.fit").write_bytes(_fit(0)[:200])
    report = import_paths([tmp_path / "cut.fit"], tmp_path / "lib", jobs=1)
    assert report.imported_runs == 0 and len(report.failures) == 1
    assert "truncated" in report.failures[0][1] and "no usable run" in report.failures[0][1]


def test_escape() -> None:
    assert escape("plain ü name.fit") == "plain ü name.fit"
    assert escape("a\nfailed: b\x00\x1b[2J") == "a\\nfailed: b\\x00\\x1b[2J"


def test_no_records_while_the_device_says_12_km_is_a_warning() -> None:
    from stridekeeper.io.records import device_summary, empty_records, finalize_records
    from stridekeeper.library.importer import _run_row
    from stridekeeper.schema import Run

    laps = pd.DataFrame()
    meta = {"sha256": "ab", "session_index": 0, "format": "fit",
            "device_summary": device_summary(distance_m=12000.0, timer_time_s=3600.0)}  # fmt: skip
    run = Run(records=finalize_records(empty_records()), laps=laps, meta=meta)
    notes = json.loads(_run_row(run, {}, "me")["warnings_json"])
    assert len(notes) == 1 and "12.0 km" in notes[0]
    summary = Run(records=finalize_records(empty_records()), laps=laps,
                  meta={**meta, "summary_only": True})  # fmt: skip
    assert json.loads(_run_row(summary, {}, "me")["warnings_json"]) == []


def test_oversized_member_refused_before_it_is_read(tmp_path: Path, monkeypatch) -> None:
    from stridekeeper.library import importer

    monkeypatch.setattr(importer, "MAX_MEMBER_BYTES", 100_000)
    big = b"\x00" * 300_000
    inner = _zip([("huge.fit", big), ("ok.fit", _fit(1))])
    (tmp_path / "a.zip").write_bytes(_zip([("big.fit", big), ("good.fit", _fit(0)),
                                           ("nested.zip", inner)]))  # fmt: skip
    (tmp_path / "plain.fit").write_bytes(big)
    report = import_paths([tmp_path / "a.zip", tmp_path / "plain.fit"], tmp_path / "lib", jobs=1)
    refused = sorted(f.rsplit("/", 1)[-1] for f, r in report.failures if "refused" in r)
    assert refused == ["a.zip!big.fit", "a.zip!nested.zip!huge.fit", "plain.fit"]
    assert report.imported_runs == 2  # good.fit, and ok.fit read from the spooled nested zip


def test_a_fit_gz_inflating_past_the_member_cap_is_refused(tmp_path: Path, monkeypatch) -> None:
    """A .fit.gz is inflated only up to the per-member cap (the 2 GiB case, scaled down)."""
    import gzip

    from stridekeeper.library import importer

    monkeypatch.setattr(importer, "MAX_MEMBER_BYTES", 100_000)
    (tmp_path / "bomb.fit.gz").write_bytes(gzip.compress(b"\x00" * 2_000_000))
    (tmp_path / "good.fit.gz").write_bytes(gzip.compress(_fit(0)))
    report = import_paths([tmp_path], tmp_path / "lib", jobs=1)
    reasons = {Path(f).name: r for f, r in report.failures}
    assert list(reasons) == ["bomb.fit.gz"] and "more than 100000 bytes" in reasons["bomb.fit.gz"]
    assert report.imported_runs == 1


def test_max_archive_gb_applies_to_an_apple_health_export_zip(tmp_path: Path) -> None:
    apple = (b'<?xml version="1.0"?>\n<!DOCTYPE HealthData [\n]>\n<HealthData locale="en">'
             + b"<!-- filler -->" * 20_000 + b"</HealthData>")  # fmt: skip
    (tmp_path / "export.zip").write_bytes(_zip([("apple_health_export/export.xml", apple)]))
    report = import_paths([tmp_path / "export.zip"], tmp_path / "lib", jobs=1,
                          max_archive_bytes=100_000)  # fmt: skip
    ((file, reason),) = report.failures
    assert file.endswith("export.zip") and "archive refused" in reason and "0.3 GB" not in reason
    assert "--max-archive-gb" in reason


def test_a_table_without_its_key_columns_is_one_line(tmp_path: Path, capsys) -> None:
    lib_dir = tmp_path / "lib"
    import_paths([_folder(tmp_path / "in", range(2))], lib_dir, jobs=1)
    lib = Library.open(lib_dir)
    runs_file = lib_dir / lib._manifest["runs"]
    pd.read_parquet(runs_file).drop(columns=["records_file"]).to_parquet(runs_file)
    assert main(["runs", "--library", str(lib_dir)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "records_file" in err[0] and "KeyError" not in err[0]
    rep = Library.open(lib_dir).repair()
    assert "runs" in rep.damaged_tables
    assert import_paths([tmp_path / "in"], lib_dir, jobs=1).imported_runs == 2
    assert Library.open(lib_dir).check().ok


def test_only_apple_healths_own_export_xml_goes_to_its_reader(tmp_path: Path) -> None:
    from stridekeeper.library.importer import _is_apple_export

    other = b'<?xml version="1.0"?><export><item/></export>'
    apple = (
        b'<?xml version="1.0"?>\n<!DOCTYPE HealthData [\n]>\n<HealthData locale="en"></HealthData>'
    )
    (tmp_path / "deep.zip").write_bytes(_zip([("a/b/c/export.xml", apple), ("run.fit", _fit(0))]))
    (tmp_path / "other.zip").write_bytes(_zip([("export.xml", other), ("run.fit", _fit(1))]))
    (tmp_path / "apple.zip").write_bytes(_zip([("apple_health_export/export.xml", apple)]))
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "export.xml").write_bytes(other)
    assert not _is_apple_export(tmp_path / "deep.zip")  # not at the export's root
    assert not _is_apple_export(tmp_path / "other.zip")  # not Apple Health's
    assert not _is_apple_export(tmp_path / "x" / "export.xml")
    assert _is_apple_export(tmp_path / "apple.zip")
    report = import_paths([tmp_path / "deep.zip", tmp_path / "other.zip"], tmp_path / "lib",
                          jobs=1)  # fmt: skip
    assert report.imported_runs == 2 and report.failures == []


def test_a_reader_opened_before_a_commit_still_reads(tmp_path: Path) -> None:
    lib_dir = tmp_path / "lib"
    import_paths([_folder(tmp_path / "a", [0])], lib_dir, jobs=1)
    reader = Library.open(lib_dir)
    run_id = reader.runs()["run_id"].iloc[0]
    old_files = set(reader._manifest["records"]) | {reader._manifest["runs"]}
    import_paths([_folder(tmp_path / "b", [1, 2])], lib_dir, jobs=1)  # same month: compacted
    assert not any((lib_dir / f).exists() for f in old_files)  # removed under the reader
    assert len(reader.records(run_id)) == 300  # reads the new generation instead
    assert len(reader.runs()) == 3


def test_record_files_declare_a_column_nullable_exactly_when_it_has_gaps(tmp_path: Path) -> None:
    """Columns without a gap are stored non-nullable (no definition levels); a month's
    file merged from runs with and without heart rate keeps the gaps as nulls."""
    import pyarrow.parquet as pq

    lib_dir = tmp_path / "lib"
    import_paths([_folder(tmp_path / "a", [0])], lib_dir, jobs=1)
    sim = simulate_run(start_time=pd.Timestamp("2026-01-06T07:00Z"), duration_s=300, seed=1)
    sim = dataclasses.replace(sim, records=sim.records.drop(columns="heart_rate_bpm"))
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "no_hr.fit").write_bytes(run_fit_bytes(sim))
    import_paths([tmp_path / "b"], lib_dir, jobs=1)  # same month: the two files merged
    lib = Library.open(lib_dir)
    (name,) = lib._manifest["records"]
    schema = pq.read_schema(lib_dir / name)
    assert schema.field("heart_rate_bpm").nullable
    assert not schema.field("distance_m").nullable and not schema.field("timestamp").nullable
    runs = lib.runs().set_index("source")
    with_hr = lib.records(runs.loc[str(tmp_path / "a" / "run000.fit"), "run_id"])
    without = lib.records(runs.loc[str(tmp_path / "b" / "no_hr.fit"), "run_id"])
    assert with_hr["heart_rate_bpm"].notna().all() and len(with_hr) == 300
    assert "heart_rate_bpm" not in without and without["distance_m"].notna().all()


def test_stale_spill_folders_of_dead_imports_are_removed(tmp_path: Path, monkeypatch) -> None:
    import tempfile

    from stridekeeper.library.importer import _remove_stale_spills

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()  # fmt: skip
    stale = tmp_path / f"stridekeeper-import-{dead}-abc"
    live = tmp_path / f"stridekeeper-import-{os.getpid()}-def"
    for d in (stale, live):
        d.mkdir()
        (d / "x.arrow").write_bytes(b"spilled")
    _remove_stale_spills()
    assert not stale.exists() and live.exists()


def test_a_killed_commits_leftovers_go_at_the_end_of_the_next_import(tmp_path: Path) -> None:
    lib_dir = tmp_path / "lib"
    import_paths([_folder(tmp_path / "a", range(2))], lib_dir, jobs=1)
    leftover = lib_dir / "runs-00000099.parquet"
    leftover.write_bytes(b"left over by a killed commit")
    lib = Library.open(lib_dir)
    before = lib.generation
    import_paths([_folder(tmp_path / "b", range(2, 4))], lib_dir, jobs=1)
    assert not leftover.exists()
    after = Library.open(lib_dir)
    assert after.generation > before and after.check().ok and len(after.runs()) == 4
    # each commit removed what the generation before it named
    named = {p.relative_to(lib_dir).as_posix() for p in lib_dir.rglob("*.parquet")}
    assert named == _named(after)


def _named(lib: Library) -> set[str]:
    from stridekeeper.library.store import _named_files

    return _named_files(lib._manifest)


def test_default_commit_batches_grow_with_the_library(tmp_path: Path, monkeypatch) -> None:
    from stridekeeper.library import importer

    monkeypatch.setattr(importer, "COMMIT_FILES", 2)
    lib_dir = tmp_path / "lib"
    import_paths([_folder(tmp_path / "a", range(40))], lib_dir, jobs=1)
    gens: list[int] = []
    import_paths([_folder(tmp_path / "b", range(40, 52))], lib_dir, jobs=1, on_commit=gens.append)
    # batches of max(2, runs stored // 8): 5 files (40 stored), 5 (45), then the last 2
    assert len(gens) == 3 and len(Library.open(lib_dir).runs()) == 52
    gens.clear()  # a batch size asked for is kept whatever the library holds
    import_paths([_folder(tmp_path / "c", range(52, 56))], lib_dir, jobs=1, commit_every=1,
                 on_commit=gens.append)  # fmt: skip
    assert len(gens) == 4


def test_a_folder_holding_the_library_imports_none_of_its_files(tmp_path: Path) -> None:
    """Importing a folder the library lives in skips what lies inside the library, also
    through a link, and still reads the folder's other files (a link included)."""
    data = _folder(tmp_path / "data", [0])
    lib_dir = data / "lib"
    import_paths([data], lib_dir, jobs=1)
    (lib_dir / "inside.fit").write_bytes(_fit(1))
    (data / "link_in.fit").symlink_to(lib_dir / "inside.fit")
    (tmp_path / "elsewhere.fit").write_bytes(_fit(2))
    (data / "link_out.fit").symlink_to(tmp_path / "elsewhere.fit")
    report = import_paths([data], lib_dir, jobs=1)
    assert report.imported_files == 1 and report.unchanged == 1  # link_out.fit, run000.fit
    assert len(Library.open(lib_dir).runs()) == 2


def test_spill_folder_in_memory_unless_a_temporary_folder_is_named(
    tmp_path: Path, monkeypatch
) -> None:
    from stridekeeper.library import importer

    for var in ("TMPDIR", "TEMP", "TMP"):
        monkeypatch.delenv(var, raising=False)
    if not (sys.platform.startswith("linux") and os.path.isdir(importer.SHM_FOLDER)):
        pytest.skip("no /dev/shm on this system")
    room = os.statvfs(importer.SHM_FOLDER)
    roomy = room.f_bavail * room.f_frsize >= importer.SHM_MIN_FREE
    assert importer._spill_parent() == (importer.SHM_FOLDER if roomy else None)
    monkeypatch.setattr(importer, "SHM_MIN_FREE", 2**62)  # a container's 64 MB /dev/shm
    assert importer._spill_parent() is None
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the user's choice wins
    monkeypatch.setattr(importer, "SHM_MIN_FREE", 0)
    assert importer._spill_parent() is None
