"""Issue 17 item 4: a date-only session counts for a run that day only when it was before it."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pandas as pd
import pytest

import stridekeeper.cli as cli
from stridekeeper.analysis.link import link_exposure, place_date_only
from stridekeeper.io.mobility_log import read_mobility_log
from stridekeeper.library import Library
from stridekeeper.library.store import Commit

LOG = """date,duration_min,context,before_run
2026-03-10,20,,
2026-03-10,15,,yes
2026-03-10,10,warm-up,
2026-03-10,25,post-run,
2026-03-10T06:00,30,,
"""


def _read(text: str, tz: str = "Europe/Copenhagen") -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_mobility_log(io.StringIO(text), tz=tz).sessions


def test_reader_marks_date_only_rows_and_when_they_were_done() -> None:
    s = _read(LOG).set_index("duration_min")
    assert s["time_known"].to_dict() == {20: False, 15: False, 10: False, 25: False, 30: True}
    assert s["before_run"].to_dict() == {20: None, 15: True, 10: True, 25: False, 30: None}


def test_bad_before_run_is_a_row_error_with_line_and_column() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = read_mobility_log(io.StringIO("date,duration_min,before_run\n2026-03-10,20,maybe\n"))
    assert [(e.line, e.column) for e in res.errors] == [(2, "before_run")]
    assert len(res.sessions) == 0


def _minutes_before(sessions: pd.DataFrame, run_utc: str, **kw) -> float:
    runs = pd.DataFrame({"run_id": ["r"], "start_time": pd.to_datetime([run_utc], utc=True)})
    linked = link_exposure(runs, sessions, windows_days=(2,), mask_before_first_session=False,
                           load=False, **kw)  # fmt: skip
    return float(linked["minutes_per_week_2d"].iloc[0]) * 2 / 7  # minutes in the 2 days


def test_a_morning_run_counts_only_what_the_log_says_came_before_it() -> None:
    sessions = _read(LOG)
    # 08:00 local (07:00 UTC) on the sessions' date: the timed 06:00 session, the one marked
    # before_run and the warm-up count; the unmarked and the post-run ones count from tomorrow
    assert _minutes_before(sessions, "2026-03-10T07:00Z") == pytest.approx(30 + 15 + 10)
    assert _minutes_before(sessions, "2026-03-11T07:00Z") == pytest.approx(100)
    # the user's habitual time: 07:00 local is before the run, 19:00 is not
    early = place_date_only(sessions, "07:00")
    assert _minutes_before(early, "2026-03-10T07:00Z") == pytest.approx(30 + 15 + 10 + 20)
    late = place_date_only(sessions, "19:00")
    assert _minutes_before(late, "2026-03-10T07:00Z") == pytest.approx(30 + 15 + 10)
    assert late["time_known"].all()
    assert _minutes_before(late, "2026-03-10T07:00Z", date_only="07:00") == pytest.approx(55)


def test_template_says_when_its_rows_were_done() -> None:
    from pathlib import Path

    template = Path(__file__).resolve().parents[2] / "sample_data" / "mobility_template.csv"
    text = template.read_text().replace(",yes\n", ",\n")
    s = _read(text)
    assert s["before_run"].tolist() == [True, False, False]
    assert s["time_known"].tolist() == [True, False, True]


def test_timing_columns_survive_the_library_and_the_cli_option(tmp_path, capsys) -> None:
    from stridekeeper.synth.season import simulate_season

    season = simulate_season(weeks=6, seed=3)
    sessions = season.sessions.copy()
    n = len(sessions)
    sessions["time_known"] = np.arange(n) % 2 == 0
    sessions["before_run"] = [None if i % 3 == 0 else bool(i % 3 == 1) for i in range(n)]
    runs = season.runs.assign(device_summary_json="null", warnings_json="[]")
    lib = Library.create(tmp_path / "lib")
    lib.commit(Commit(runs=runs, records={}, mobility=sessions.assign(source_sha256="sim"),
                      sources=pd.DataFrame()))  # fmt: skip
    back = Library.open(tmp_path / "lib").mobility(merged=False).sort_values("start_time")
    assert back["time_known"].tolist() == sessions["time_known"].tolist()
    # stored as a nullable flag (bool, or 1.0 / 0.0 / NaN): the same three answers
    said = [None if pd.isna(v) else bool(v) for v in back["before_run"]]
    assert said == sessions["before_run"].tolist()
    args = ["analyze", "--library", str(tmp_path / "lib"), "--json"]
    assert cli.main([*args, "--date-only-time", "18:30"]) == 0
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        cli.main([*args, "--date-only-time", "25:00"])
    assert exc.value.code == 2 and "HH:MM" in capsys.readouterr().err
