"""``stridekeeper mobility``: JSON shape and values, text output, exit codes, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from stridekeeper.cli import main
from stridekeeper.schema import MOBILITY_COLUMNS, REGIONS
from stridekeeper.synth.fitwrite import SessionSpec, encode_activity

HEADER = "date,duration_min,focus,planes,drills,rpe,notes\n"
T0 = pd.Timestamp("2024-05-01T16:00:00Z")  # 18:00 in Copenhagen


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "stridekeeper.cli", *args], capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip


def yoga_fit() -> bytes:
    sets = [
        {"start_time": T0, "duration_s": 600, "category": "hip_stability"},
        {"start_time": T0 + pd.Timedelta(minutes=10), "duration_s": 60, "set_type": "rest"},
        {"start_time": T0 + pd.Timedelta(minutes=11), "duration_s": 540, "category": "plank"},
    ]
    spec = SessionSpec(sport="training", sub_sport="yoga", sets=sets)
    return encode_activity([spec], utc_offset_s=7200)


@pytest.fixture
def good_log(tmp_path: Path) -> Path:
    path = tmp_path / "good.csv"
    path.write_text(
        HEADER
        + "2024-05-01T18:05,20,hip flexors,sagittal,couch stretch,5,after work\n"
        + "2024-05-08T07:00,10,ankles,,,,\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def bad_log(tmp_path: Path) -> Path:
    path = tmp_path / "bad.csv"
    path.write_text(
        "# my log\n"  # line 1: comment
        + HEADER  # line 2
        + "2024-05-02,15,calves,,,,\n"  # line 3: good
        + "\n"  # line 4: blank
        + "2024-05-03,abc,hips,,,,\n"  # line 5: bad duration
        + "2024-13-01,10,elbows,,,,\n"  # line 6: bad date and bad region
        + '2024-05-04,10,hips,,,11,"two\nlines"\n'  # lines 7-8: bad rpe
        + "2024-05-05,12,glutes,,,,\n",  # line 9: good
        encoding="utf-8",
    )
    return path


@pytest.fixture
def fit_file(tmp_path: Path) -> Path:
    path = tmp_path / "watch" / "yoga.fit"
    path.parent.mkdir()
    path.write_bytes(yoga_fit())
    return path


def test_json_shape_and_values(good_log: Path, fit_file: Path, capsys) -> None:
    code = main(["mobility", "--json", "--tz", "Europe/Copenhagen", str(good_log), str(fit_file)])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert set(out) == {"sessions", "errors", "weekly"}
    assert out["errors"] == []
    sessions = out["sessions"]
    assert len(sessions) == 2
    for s in sessions:
        assert list(s) == list(MOBILITY_COLUMNS)
        assert all(isinstance(s[k], list) for k in ("regions", "planes", "drills"))
    merged, ankles = sessions
    assert merged["start_time"] == "2024-05-01T16:00:00+00:00"
    assert merged["local_date"] == "2024-05-01"
    assert merged["duration_min"] == 20.0
    assert merged["regions"] == ["hips"] and merged["planes"] == ["sagittal"]
    assert merged["drills"] == ["couch stretch", "hip_stability", "plank"]
    assert merged["rpe"] == 5.0 and merged["notes"] == "after work"
    assert merged["source"] == f"{fit_file};{good_log}"
    assert ankles["rpe"] is None and ankles["planes"] == [] and ankles["notes"] == ""
    assert ankles["start_time"] == "2024-05-08T05:00:00+00:00"
    weekly = out["weekly"]
    assert [w["week_start"] for w in weekly] == ["2024-04-29", "2024-05-06"]
    assert [w["iso_week"] for w in weekly] == ["2024-W18", "2024-W19"]
    assert [w["sessions"] for w in weekly] == [1, 1]
    assert weekly[0]["minutes"] == 20.0 and weekly[0]["minutes_hips"] == 20.0
    assert weekly[1]["minutes_ankles"] == 10.0
    assert all(f"minutes_{r}" in weekly[0] for r in REGIONS)


def test_bad_rows_give_exit_1_and_each_error_with_its_line(bad_log: Path, capsys) -> None:
    code = main(["mobility", "--json", "--tz", "UTC", str(bad_log)])
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    got = [(e["line"], e["column"], e["value"]) for e in out["errors"]]
    assert got == [
        (5, "duration_min", "abc"),
        (6, "date", "2024-13-01"),
        (6, "focus", "elbows"),
        (7, "rpe", "11"),
    ]
    assert all(set(e) == {"file", "line", "column", "value", "message"} for e in out["errors"])
    assert all(e["file"] == str(bad_log) and e["message"] for e in out["errors"])
    assert [s["local_date"] for s in out["sessions"]] == ["2024-05-02", "2024-05-05"]


def test_text_output_lists_sessions_errors_and_weekly(bad_log: Path, fit_file: Path) -> None:
    res = _run("mobility", "--tz", "UTC", str(bad_log), str(fit_file.parent))
    assert res.returncode == 1 and "Traceback" not in res.stderr
    out = res.stdout
    assert out.index("Mobility sessions (3)") < out.index("Rejected rows (4)")
    assert out.index("Rejected rows") < out.index("Weekly summary")
    assert f"{bad_log}:5: column 'duration_min': 'abc': " in out
    assert f"{bad_log}:7: column 'rpe': '11': " in out
    assert "hip_stability; plank" in out and "watch: yoga" in out and "yoga.fit" in out
    assert "2024-W18" in out
    assert res.stderr == ""  # rejected rows are listed on stdout, not repeated as warnings


def test_clean_input_exits_0_with_text(good_log: Path) -> None:
    res = _run("mobility", "--tz", "Europe/Copenhagen", str(good_log))
    assert res.returncode == 0, res.stderr
    assert "Mobility sessions (2)" in res.stdout and "Rejected rows" not in res.stdout


def test_strict_refuses_the_log_and_exits_1(bad_log: Path, fit_file: Path, capsys) -> None:
    code = main(["mobility", "--json", "--strict", "--tz", "UTC", str(bad_log), str(fit_file)])
    cap = capsys.readouterr()
    out = json.loads(cap.out)
    assert code == 1
    assert [s["notes"] for s in out["sessions"]] == ["watch: yoga"]  # the watch still counts
    assert len(out["errors"]) == 4
    lines = [ln for ln in cap.err.splitlines() if ln.strip()]
    assert len(lines) == 1 and str(bad_log) in lines[0] and "refused" in lines[0]


def test_whole_file_failures_are_one_line_each_on_stderr(good_log: Path, tmp_path: Path) -> None:
    runs = tmp_path / "activities.csv"
    runs.write_text("Activity Type,Date,Distance\nRunning,2024-05-01,10\n")
    broken = tmp_path / "broken.fit"
    broken.write_bytes(yoga_fit()[:12])
    res = _run("mobility", "--json", str(good_log), str(runs), str(broken), "/no/such/log.csv")
    assert res.returncode == 1 and "Traceback" not in res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 3
    assert any(str(runs) in ln and "not a mobility log" in ln for ln in lines)
    assert any(str(broken) in ln for ln in lines)
    assert any("/no/such/log.csv" in ln and "no such file" in ln for ln in lines)
    assert len(json.loads(res.stdout)["sessions"]) == 2


def test_no_sessions_is_fine(tmp_path: Path, realdata: Path) -> None:
    res = _run("mobility", str(realdata / "elevate" / "flagged-hr.fit"))
    assert res.returncode == 0 and "No mobility sessions found." in res.stdout
    res = _run("mobility", "--json", str(realdata / "elevate" / "flagged-hr.fit"))
    assert res.returncode == 0 and json.loads(res.stdout) == {
        "sessions": [],
        "errors": [],
        "weekly": [],
    }


def test_usage_errors_exit_2(good_log: Path) -> None:
    assert _run("mobility").returncode == 2
    res = _run("mobility", "--tz", "Nowhere/Land", str(good_log))
    assert res.returncode == 2 and "unknown time zone" in res.stderr
    assert "Traceback" not in res.stderr
    with pytest.raises(SystemExit) as exc:
        main(["mobility", "--bogus", str(good_log)])
    assert exc.value.code == 2


def test_binary_junk_never_gives_a_traceback(tmp_path: Path) -> None:
    junk = tmp_path / "junk.json"
    junk.write_bytes(b"\x00\xff\xfe" * 50)
    res = _run("mobility", str(junk), str(tmp_path))
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert str(junk) in res.stderr


def test_apple_health_mobility_through_the_command_and_import(tmp_path: Path, capsys) -> None:
    """Issue 15 item 3 end to end: ``stridekeeper mobility export.zip`` lists the export's
    mobility workouts (Flexibility, Yoga, MindAndBody, PreparationAndRecovery, Cooldown,
    Pilates), and ``import`` stores the same sessions, not "not a mobility log"."""
    import zipfile

    from stridekeeper.library import Library
    from stridekeeper.testing import write_apple_health_export

    xml = tmp_path / "export.xml"
    mob = (("Flexibility", 15.0), ("Yoga", 20.0), ("MindAndBody", 10.0),
           ("PreparationAndRecovery", 12.5), ("Cooldown", 5.0), ("Pilates", 30.0))  # fmt: skip
    write_apple_health_export(xml, runs=1, first_start="2026-03-02 07:00:00", mobility=mob)
    zpath = tmp_path / "export.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.write(xml, "apple_health_export/export.xml")
    assert main(["mobility", "--json", str(zpath)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["errors"] == []
    assert sorted(s["duration_min"] for s in out["sessions"]) == [5.0, 10.0, 12.5, 15.0, 20.0, 30.0]
    lib = tmp_path / "lib"
    assert main(["import", "--library", str(lib), str(zpath)]) == 0
    stored = Library.open(lib).mobility()
    assert sorted(stored["duration_min"]) == [5.0, 10.0, 12.5, 15.0, 20.0, 30.0]
