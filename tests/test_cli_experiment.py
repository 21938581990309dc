"""CLI: plan, log (append, --yesterday, --undo), mobility --last, analyze --experiment, power."""

import csv
import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from stridekeeper.cli import main
from stridekeeper.library import Library


def test_plan_stores_and_refuses_to_overwrite(tmp_path, capsys):
    lib, out = tmp_path / "lib", tmp_path / "out"
    start = (date.today() + timedelta(days=1)).isoformat()
    args = ["plan", "--weeks", "24", "--block-weeks", "2", "--seed", "3", "--start", start,
            "--library", str(lib), "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "6 pairs" in text and "Chance of detecting 2 % points" in text
    plan = json.loads((lib / "experiment.json").read_text())
    # an empty library: the default run SD and an assumed block wander, both said
    assert plan["sd_source"] == plan["block_sd_source"] == "default"
    assert plan["block_sd_pct"] == 1.5 and "assumed" in text
    assert f"{100 * plan['power_at_plan']:.0f} % with 6 pairs" in text
    assert plan["pairs_needed"] > 6 and f"80 % needs {plan['pairs_needed']} pairs" in text
    assert plan["outcome"] == "stride_dropoff_pct" and plan["created_utc"][:10] <= start
    assert len(plan["blocks"]) == 12
    ics = (out / "experiment-schedule.ics").read_bytes()
    assert ics.count(b"BEGIN:VEVENT") == 12 and b"\r\n" in ics
    assert main(args) == 2  # a stored plan is not silently replaced
    assert main([*args, "--replace"]) == 0
    assert main(["plan", "--weeks", "10", "--library", str(tmp_path / "x")]) == 2
    assert "multiple" in capsys.readouterr().err


def test_plan_warns_when_pairs_cannot_reach_significance(tmp_path, capsys):
    assert main(["plan", "--weeks", "12", "--library", str(tmp_path), "--out", str(tmp_path),
                 "--seed", "1"]) == 0  # fmt: skip
    assert "3 pairs can never give p < 0.05" in capsys.readouterr().out


def test_log_append_undo_and_last_week(tmp_path, capsys):
    lib = str(tmp_path / "lib")
    assert main(["log", "12", "hips,ankles", "--library", lib]) == 0
    assert main(["log", "20", "--focus", "thoracic", "--drills", "90/90, ankle rocks", "--rpe",
                 "3", "--context", "post-run", "--range", "open", "--pain", "2",
                 "--library", lib]) == 0  # fmt: skip
    assert main(["log", "--yesterday", "15", "hips", "--library", lib]) == 0
    rows = list(csv.DictReader(open(tmp_path / "lib" / "mobility_log.csv")))
    assert [r["duration_min"] for r in rows] == ["12", "20", "15"]
    assert rows[1]["context"] == "post-run" and rows[1]["range_feel"] == "open"
    assert rows[1]["drills"] == "90/90;ankle rocks" and rows[1]["pain_before"] == "2"
    assert rows[2]["date"] == (date.today() - timedelta(days=1)).isoformat()
    assert main(["log", "--undo", "--library", lib]) == 0
    assert len(list(csv.DictReader(open(tmp_path / "lib" / "mobility_log.csv")))) == 2
    capsys.readouterr()
    assert main(["mobility", "--last", "7", "--library", lib, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [s["duration_min"] for s in out["sessions"]] == [12.0, 20.0]
    assert out["sessions"][1]["context"] == "post-run" and out["sessions"][1]["pain_before"] == 2
    # the log's own fields are in the library's session table (import and analysis see them)
    mob = Library.open(lib).mobility().sort_values("duration_min").reset_index(drop=True)
    assert len(mob) == 2  # the undone entry is gone from the library too
    assert mob["context"].tolist() == ["", "post-run"]
    assert mob["range_feel"].tolist() == ["", "open"]
    assert mob["pain_before"].tolist()[1] == 2.0 and not mob["balance"].any()
    assert main(["log", "5", "elbows", "--library", lib]) == 2
    assert main(["log", "5", "hips", "--context", "lunch", "--library", lib]) == 2


def test_analyze_experiment_without_plan_is_one_line(tmp_path, capsys):
    assert main(["log", "12", "hips", "--library", str(tmp_path)]) == 0
    assert main(["analyze", "--experiment", "--library", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no experiment plan" in err[0]


def test_power_experiment_design(capsys):
    assert main(["power", "--design", "experiment", "--effect", "2", "--weeks", "12",
                 "--sims", "200", "--json"]) == 0  # fmt: skip
    rows = {r["pairs"]: r for r in json.loads(capsys.readouterr().out)["rows"]}
    assert rows[3]["power"] == 0.0 and rows[3]["min_p"] == 0.25
    assert rows[10]["power"] > rows[6]["power"] > 0


def test_cli_vocabularies_match_the_reader():
    from stridekeeper.commands import experiment
    from stridekeeper.io import mobility_log

    assert experiment.CONTEXTS == mobility_log.CONTEXTS
    assert experiment.RANGE_FEELS == mobility_log.RANGE_FEELS


ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("command", ["plan", "log"])
def test_help_has_examples(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and f"stridekeeper {command} " in out


def test_readme_find_out_for_yourself_has_a_worked_example():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Find out for yourself", 1)[1].split("\n## ", 1)[0]
    for step in (
        "$ stridekeeper plan ",
        "$ stridekeeper log ",
        "$ stridekeeper analyze --experiment",
    ):
        assert step in section
    assert "iCalendar" in section and "log --undo" in section and "mobility --last 7" in section


@pytest.mark.slow
def test_validation_script_prints_the_power_table():
    """benchmarks/experiment_validation.py: false positives (effect 0) and power by pairs."""
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "experiment_validation.py"),
                           "1"], capture_output=True, text=True, timeout=600,
                          env={"PYTHONPATH": str(ROOT / "src"), "PATH": ""})  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[1].startswith("pairs | effect 0 |")
    assert [ln.split("|")[0].strip() for ln in lines[2:6]] == ["3", "6", "8", "10"]
