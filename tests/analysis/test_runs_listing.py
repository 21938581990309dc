"""Issue 17 items 8-9: ``runs`` shows the athlete, local start times and miles on request."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import stridekeeper.cli as cli
from stridekeeper.commands.library import METRES_PER_MILE, local_start
from stridekeeper.library import Library
from stridekeeper.library.store import Commit
from stridekeeper.synth.season import simulate_cohort


@pytest.fixture
def lib(tmp_path) -> str:
    cohort = simulate_cohort(2, weeks=2, seed=1)
    runs = cohort.runs.assign(utc_offset_s=[3600] * 7 + [-5 * 3600] * 7,
                              device_summary_json="null", warnings_json="[]")  # fmt: skip
    library = Library.create(tmp_path / "lib")
    mob = cohort.sessions.assign(source_sha256="sim")
    library.commit(Commit(runs=runs, records={}, mobility=mob, sources=pd.DataFrame()))
    return str(tmp_path / "lib")


def test_local_start_uses_the_device_offset() -> None:
    t = pd.Timestamp("2026-03-01T07:30Z")
    assert local_start(t, 3600) == "2026-03-01T08:30+01:00"
    assert local_start(t, -5 * 3600) == "2026-03-01T02:30-05:00"
    assert local_start(t, None) == "2026-03-01T07:30+00:00"


def test_runs_shows_athlete_local_time_and_miles(lib, capsys) -> None:
    assert cli.main(["runs", "--library", lib, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["athlete"] for r in rows} == {"sim01", "sim02"}
    first = next(r for r in rows if r["athlete"] == "sim01")
    utc = pd.Timestamp(first["start_time"])
    local = pd.Timestamp(first["start_time_local"])
    assert local == utc.floor("min") and first["start_time_local"].endswith("+01:00")
    assert cli.main(["runs", "--library", lib, "--units", "mi"]) == 0
    text = capsys.readouterr().out
    header = text.splitlines()[0]
    assert "athlete" in header and "start (local)" in header and "pace /mi" in header
    line = next(li for li in text.splitlines() if li.startswith("sim01"))
    miles = f"{first['distance_m'] / METRES_PER_MILE:.2f}"
    assert miles in line and "+01:00" in line
    sec = METRES_PER_MILE / first["avg_speed_mps"]
    assert f"{int(sec // 60)}:" in line
    assert cli.main(["runs", "--library", lib]) == 0
    km_line = next(li for li in capsys.readouterr().out.splitlines() if li.startswith("sim01"))
    assert f"{first['distance_m'] / 1000:.2f}" in km_line


def test_runs_json_reads_without_pandas_and_agrees_with_the_dated_path(lib, capsys) -> None:
    """Issue 18 item 3: `runs --json` lists with pyarrow alone (pandas not even imported);
    the rows are those the pandas path (taken with --since) gives."""
    import subprocess
    import sys

    code = ("import sys; from stridekeeper.cli import main; "
            f"main(['runs', '--library', {lib!r}, '--json', '--athlete', 'sim02']); "
            "print('pandas' in sys.modules, file=sys.stderr)")  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)  # fmt: skip
    assert proc.stderr.strip().splitlines()[-1] == "False"
    fast = json.loads(proc.stdout)
    assert fast and {r["athlete"] for r in fast} == {"sim02"}
    assert cli.main(["runs", "--library", lib, "--json", "--athlete", "sim02",
                     "--since", "2000-01-01"]) == 0  # fmt: skip
    assert json.loads(capsys.readouterr().out) == fast
