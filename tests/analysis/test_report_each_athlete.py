"""Issue 17 item 8: a report never pools two athletes; --each-athlete writes one each."""

from __future__ import annotations

import pandas as pd
import pytest

import stridekeeper.cli as cli
from stridekeeper.library import Library
from stridekeeper.library.store import Commit
from stridekeeper.synth.season import simulate_cohort


@pytest.fixture
def lib(tmp_path) -> str:
    cohort = simulate_cohort(3, weeks=6, seed=2)
    runs = cohort.runs.assign(device_summary_json="null", warnings_json="[]")
    library = Library.create(tmp_path / "lib")
    mob = cohort.sessions.assign(source_sha256="sim")
    library.commit(Commit(runs=runs, records={}, mobility=mob, sources=pd.DataFrame()))
    return str(tmp_path / "lib")


def test_no_report_pools_two_athletes(lib, tmp_path, capsys) -> None:
    out = tmp_path / "season.pdf"
    assert cli.main(["report", "--library", lib, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "3 athletes (sim01, sim02, sim03)" in err and "--each-athlete" in err
    assert not out.exists()


def test_each_athlete_writes_one_report_each_and_a_cohort_page(lib, tmp_path, capsys) -> None:
    out = tmp_path / "season.pdf"
    assert cli.main(["report", "--library", lib, "--out", str(out), "--each-athlete"]) == 0
    for name in ("sim01", "sim02", "sim03"):
        pdf = tmp_path / f"season_{name}.pdf"
        assert pdf.read_bytes()[:5] == b"%PDF-"
    page = (tmp_path / "season_cohort.txt").read_text()
    assert page.startswith("Cohort of 3 athletes")
    assert all(f"{n}: " in page for n in ("sim01", "sim02", "sim03"))
    assert "Mixed model over 3 athletes" in page
    text = capsys.readouterr().out
    assert text.count("report written") == 3 and "of sim02" in text
