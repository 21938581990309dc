"""Issue 17 item 8: a mobility log belongs to the athlete whose folder holds it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from stridekeeper.library import Library
from stridekeeper.library.importer import import_paths
from stridekeeper.synth.files import run_fit_bytes
from stridekeeper.synth.runs import simulate_run

LOG = "date,duration_min,focus\n2026-01-04T19:00,20,hips\n2026-01-06T19:30,15,calves\n"


def _write_run(path: Path, day: int) -> None:
    sim = simulate_run(start_time=pd.Timestamp("2026-01-05T07:00Z") + pd.Timedelta(days=day),
                       duration_s=1500, seed=day)  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(run_fit_bytes(sim))


def _export(tmp_path: Path) -> Path:
    export = tmp_path / "export"
    _write_run(export / "ann" / "a.fit", 1)
    _write_run(export / "bob" / "b.fit", 2)
    (export / "ann" / "mobility.csv").write_text(LOG)
    shutil.copy(export / "ann" / "mobility.csv", export / "bob" / "mobility.csv")
    return export


def test_identical_logs_in_two_folders_belong_to_each_athlete(tmp_path: Path) -> None:
    export = _export(tmp_path)
    report = import_paths([export], tmp_path / "lib", jobs=1, athlete_from_path=True)
    assert report.failures == [] and report.imported_runs == 2
    assert report.mobility_sessions == 4 and report.unchanged == 0
    lib = Library.open(tmp_path / "lib")
    mob = lib.mobility()
    assert mob.groupby("athlete").size().to_dict() == {"ann": 2, "bob": 2}
    src = lib.sources().set_index("athlete")
    assert src.loc[src["path"].str.endswith(".csv"), "n_sessions"].to_dict() == {"ann": 2, "bob": 2}
    # importing again: both copies are unchanged, nothing moves between athletes
    again = import_paths([export], tmp_path / "lib", jobs=1, athlete_from_path=True)
    assert again.unchanged == 4 and again.mobility_sessions == 0
    mob = Library.open(tmp_path / "lib").mobility()
    assert mob.groupby("athlete").size().to_dict() == {"ann": 2, "bob": 2}


def test_changing_one_athletes_copy_leaves_the_other(tmp_path: Path) -> None:
    export = _export(tmp_path)
    import_paths([export], tmp_path / "lib", jobs=1, athlete_from_path=True)
    (export / "bob" / "mobility.csv").write_text(LOG + "2026-01-08T19:00,10,hips\n")
    import_paths([export], tmp_path / "lib", jobs=1, athlete_from_path=True)
    mob = Library.open(tmp_path / "lib").mobility()
    assert mob.groupby("athlete").size().to_dict() == {"ann": 2, "bob": 3}
