"""``stridekeeper analyze`` and ``stridekeeper power``: output, exit codes, one-line errors."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

import stridekeeper.cli as cli
import stridekeeper.commands.analyze as analyze_cmd
import stridekeeper.commands.power as power_cmd
from stridekeeper.analysis.link import EXPOSURES
from stridekeeper.errors import StridekeeperError
from stridekeeper.synth.season import simulate_cohort, simulate_season


@pytest.fixture
def main(monkeypatch):
    """cli.main with the two commands registered (cli.py's COMMAND_MODULES is not ours)."""
    names = tuple(dict.fromkeys((*cli.COMMAND_MODULES, "analyze", "power")))
    monkeypatch.setattr(cli, "COMMAND_MODULES", names)
    return cli.main


class FakeLibrary:
    """The slice of ``stridekeeper.library.Library`` the command uses."""

    def __init__(self, runs, sessions):
        self._runs, self._sessions = runs, sessions
        self.calls: list[tuple] = []

    def runs(self, since=None, until=None, athlete=None):
        self.calls.append(("runs", athlete))
        r = self._runs
        return r if athlete is None else r[r["athlete"] == athlete]

    def mobility(self, athlete=None):
        self.calls.append(("mobility", athlete))
        s = self._sessions
        return s if athlete is None else s[s["athlete"] == athlete]


@pytest.fixture
def fake(monkeypatch):
    season = simulate_season(effect=2.0, seed=3)
    lib = FakeLibrary(season.runs, season.sessions)
    opened: list = []

    def load(args):
        opened.append(args.library)
        return lib.runs(athlete=args.athlete), lib.mobility(athlete=args.athlete)

    monkeypatch.setattr(analyze_cmd, "_load", load)
    lib.opened = opened
    return lib


def test_analyze_json(main, fake, capsys) -> None:
    assert main(["analyze", "--json", "--library", "/some/where"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_runs"] == 56 and out["window_days"] == 14
    assert out["exposure"] == "sessions_per_week" and out["outcome"] == "stride_dropoff_pct"
    assert out["p_value"] < 0.05 and "associated" in out["conclusion"]
    assert fake.opened == ["/some/where"]


def test_analyze_text_and_options(main, fake, capsys) -> None:
    assert main(["analyze", "--window-days", "7", "--exposure", "minutes_per_week",
                 "--athlete", "sim"]) == 0  # fmt: skip
    text = capsys.readouterr().out
    assert "minutes of mobility work per week over the prior 7 days" in text
    # not the primary exposure/window: said to be exploratory, in the conclusion itself
    assert "Conclusion: Exploratory, not the primary result" in text and "Across 56 runs" in text
    assert ("runs", "sim") in fake.calls and ("mobility", "sim") in fake.calls


def test_analyze_unknown_athlete_is_one_line(main, fake, capsys) -> None:
    assert main(["analyze", "--athlete", "nobody"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: no runs of athlete 'nobody' in the library"]


def test_analyze_cohort_json(main, monkeypatch, capsys) -> None:
    sim = simulate_cohort(3, weeks=10, effect=1.5, seed=1)
    monkeypatch.setattr(analyze_cmd, "_load", lambda args: (sim.runs, sim.sessions))
    assert main(["analyze", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["cohort"]["n_athletes"] == 3 and set(out["athletes"]) == {"sim01", "sim02",
                                                                        "sim03"}  # fmt: skip


def test_library_that_cannot_be_opened_is_one_line(main, monkeypatch, capsys) -> None:
    def broken(args):
        raise StridekeeperError("/x: no stridekeeper library here\nsecond line")

    monkeypatch.setattr(analyze_cmd, "_load", broken)
    assert main(["analyze", "--json"]) == 1
    cap = capsys.readouterr()
    assert cap.out == ""
    assert cap.err.strip() == "error: /x: no stridekeeper library here"


def test_real_library_missing_and_empty(main, tmp_path: Path, capsys) -> None:
    assert main(["analyze", "--library", str(tmp_path / "none")]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "no stridekeeper library" in err
    from stridekeeper.library import Library

    Library.create(tmp_path / "empty")
    assert main(["analyze", "--json", "--library", str(tmp_path / "empty")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_runs"] == 0 and "Only 0 runs" in out["conclusion"] and out["rho"] is None


def test_real_library_with_runs_and_sessions(main, tmp_path: Path, capsys) -> None:
    """Through the real Parquet library: dtypes after a round trip must not matter."""
    import pandas as pd

    from stridekeeper.library import Library
    from stridekeeper.library.store import Commit

    season = simulate_season(effect=2.0, seed=3)
    lib = Library.create(tmp_path / "lib")
    mob = season.sessions.assign(source_sha256="sim")
    lib.commit(Commit(runs=season.runs, records={}, mobility=mob, sources=pd.DataFrame()))
    assert main(["analyze", "--json", "--library", str(tmp_path / "lib")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_runs"] == 56 and out["rho_unadjusted"] < -0.5 and out["rho"] < -0.3
    assert out["primary_source"] == "default" and out["verdict"] == "associated"


def test_set_primary_is_stored_with_its_date_and_drives_the_headline(main, tmp_path, capsys):
    import datetime

    import pandas as pd

    from stridekeeper.library import Library
    from stridekeeper.library.store import Commit

    season = simulate_season(effect=2.0, seed=3)
    lib = Library.create(tmp_path / "lib")
    mob = season.sessions.assign(source_sha256="sim")
    lib.commit(Commit(runs=season.runs, records={}, mobility=mob, sources=pd.DataFrame()))
    where = str(tmp_path / "lib")
    assert main(["analyze", "--json", "--library", where,
                 "--set-primary", "minutes_per_week:7-35"]) == 0  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    stored = json.loads((tmp_path / "lib" / "primary.json").read_text())
    assert stored == {"exposure": "minutes_per_week", "window": "7-35", "set_on": today}
    assert out["exposure"] == "minutes_per_week" and out["window_days"] == [7, 35]
    assert out["primary_source"] == f"set {today}"
    assert "from 35 to 7 days before the run" in out["conclusion"]
    # later runs use the stored primary; another choice is exploratory
    assert main(["analyze", "--json", "--library", where]) == 0
    assert json.loads(capsys.readouterr().out)["exposure_column"] == "minutes_per_week_7to35d"
    assert main(["analyze", "--json", "--library", where, "--exposure", "sessions_per_week",
                 "--window-days", "14"]) == 0  # fmt: skip
    other = json.loads(capsys.readouterr().out)
    assert other["conclusion"].startswith("Exploratory, not the primary result")
    assert "minutes_per_week over 7-35 days, set " + today in other["conclusion"]


def test_usage_errors_exit_2(main, capsys) -> None:
    for argv in (["analyze", "--exposure", "yoga"], ["analyze", "--window-days", "0"],
                 ["analyze", "--window-days", "x"], ["analyze", "--window-days", "35-7"],
                 ["analyze", "--set-primary", "yoga:14"],
                 ["power", "--effect", "1", "--weeks", "0"],
                 ["power", "--effect", "1", "--weeks", "8", "--sims", "3"]):  # fmt: skip
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2, argv
    capsys.readouterr()


def test_exposure_choices_match_the_analysis() -> None:
    assert analyze_cmd.EXPOSURE_CHOICES == tuple(EXPOSURES)


def test_power_json_and_text(main, capsys) -> None:
    assert main(["power", "--effect", "2", "--weeks", "8", "--sims", "50", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["weeks"] for r in out["rows"]] == [2, 4, 8, 16]
    assert out["rows"][0]["power"] == 0.0  # 7 runs can never reach p < 0.05
    assert out["rows"][-1]["power"] > out["rows"][0]["power"]
    assert out["true_rho"] < -0.6 and out["effect_pct_per_session"] == 2.0
    assert main(["power", "--effect", "1", "--weeks", "16", "--sims", "20"]) == 0
    text = capsys.readouterr().out
    rows = [line.split() for line in text.splitlines() if line[:7].strip().isdigit()]
    assert [r[:2] for r in rows] == [["4", "14"], ["8", "28"], ["16", "56"], ["32", "112"]]
    assert all(r[2].endswith("%") for r in rows) and "true rank correlation" in text


def test_power_weeks_around() -> None:
    assert power_cmd.weeks_around(16) == [4, 8, 16, 32]
    assert power_cmd.weeks_around(1) == [1, 2]
    assert power_cmd.weeks_around(6) == [2, 3, 6, 12]


def test_command_modules_import_nothing_heavy() -> None:
    code = ("import sys, stridekeeper.commands.analyze, stridekeeper.commands.power; "
            "print(sorted(m for m in ('pandas', 'numpy', 'statsmodels', 'scipy') "
            "if m in sys.modules))")  # fmt: skip
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and res.stdout.strip() == "[]"


def test_register_builds_standalone_parsers() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    analyze_cmd.register(sub)
    power_cmd.register(sub)
    args = parser.parse_args(["analyze"])
    assert args.window_days is None and args.exposure is None  # the primary one decides
    assert analyze_cmd.DEFAULT_PRIMARY == ("sessions_per_week", 14.0)
    assert args.func is analyze_cmd.cmd_analyze
    args = parser.parse_args(["power", "--effect", "1.5", "--weeks", "12"])
    assert args.sims == 200 and args.func is power_cmd.cmd_power  # each runs the full headline test


def test_parameters_from_library_recover_the_simulated_athlete() -> None:
    from stridekeeper.synth.season import parameters_from_library

    season = simulate_season(effect=0.0, weeks=30, noise_pct=3.0, seed=11)
    own = parameters_from_library(season.runs, season.sessions)
    assert own["weeks"] == pytest.approx(30, abs=1)
    assert own["runs_per_week"] == pytest.approx(3.5, abs=0.2)
    # drop-off SD: noise 3 plus run length and speed terms, about 3.2
    assert 2.4 < own["noise_pct"] < 4.0
    assert own["mean_sessions_per_week"] == pytest.approx(2.0, abs=0.5)
    assert 0.0 <= own["noise_autocorr"] < 0.6 and 0.2 < own["exposure_autocorr"] < 0.95
    with pytest.raises(ValueError, match="at least 10 runs"):
        parameters_from_library(season.runs.iloc[:5], season.sessions)


def test_power_from_library_says_how_many_more_weeks(main, tmp_path, capsys) -> None:
    import pandas as pd

    from stridekeeper.library import Library
    from stridekeeper.library.store import Commit

    season = simulate_season(effect=0.0, weeks=12, seed=3)
    lib = Library.create(tmp_path / "lib")
    mob = season.sessions.assign(source_sha256="sim")
    lib.commit(Commit(runs=season.runs, records={}, mobility=mob, sources=pd.DataFrame()))
    argv = ["power", "--from-library", "--library", str(tmp_path / "lib"), "--effect", "2",
            "--sims", "60"]  # fmt: skip
    assert main([*argv, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    weeks = [r["weeks"] for r in out["rows"]]
    now = int(out["from_library"]["weeks"])
    assert weeks == [now, now + 4, now + 8, now + 16, now + 32]
    power = [r["power"] for r in out["rows"]]
    assert power[-1] > power[0]  # more weeks, more power
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "From your library:" in text and "How many more weeks would tell?" in text
    assert main(["power", "--effect", "2"]) == 2  # --weeks needed without --from-library
