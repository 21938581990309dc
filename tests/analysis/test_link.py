"""Linking runs to the mobility work strictly before them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stridekeeper.analysis.link import EXPOSURES, exposure_column, link_exposure
from stridekeeper.errors import SchemaError
from stridekeeper.schema import MOBILITY_COLUMNS, REGIONS


def sessions_at(starts: list[str], athlete: list[str] | None = None) -> pd.DataFrame:
    times = pd.DatetimeIndex([pd.Timestamp(s) for s in starts], tz="UTC")
    n = len(times)
    col = np.empty(n, dtype=object)
    col[:] = [("hips",)] * n
    empty = np.empty(n, dtype=object)
    empty[:] = [()] * n
    local = np.empty(n, dtype=object)
    local[:] = list(times.date)
    frame = pd.DataFrame({
        "session_id": [f"s{i}" for i in range(n)], "start_time": times,
        "local_date": pd.Series(local, dtype=object), "duration_min": 20.0,
        "regions": pd.Series(col, dtype=object), "planes": pd.Series(empty, dtype=object),
        "drills": pd.Series(empty, dtype=object), "rpe": np.nan, "source": "t", "notes": "",
    })[list(MOBILITY_COLUMNS)]  # fmt: skip
    if athlete is not None:
        frame["athlete"] = athlete
    return frame


def runs_at(starts: list[str], athlete: list[str] | None = None) -> pd.DataFrame:
    frame = pd.DataFrame({
        "run_id": [f"r{i}" for i in range(len(starts))],
        "start_time": pd.DatetimeIndex([pd.Timestamp(s) for s in starts], tz="UTC"),
        "stride_dropoff_pct": np.arange(len(starts), dtype=float),
    })  # fmt: skip
    if athlete is not None:
        frame["athlete"] = athlete
    return frame


def test_only_sessions_strictly_before_the_run_count() -> None:
    sessions = sessions_at(["2026-03-01T18:00", "2026-03-05T07:00", "2026-03-05T08:00"])
    runs = runs_at(["2026-03-05T07:00", "2026-03-05T07:00:01", "2026-03-06T07:00"])
    linked = link_exposure(runs, sessions, windows_days=(7,), mask_before_first_session=False)
    # a session starting at the run's start does not count; one a second before does
    assert list(linked["sessions_per_week_7d"]) == [1.0, 2.0, 3.0]
    assert list(linked["minutes_per_week_hips_7d"]) == [20.0, 40.0, 60.0]


def test_returns_a_copy_with_every_column_in_the_same_order() -> None:
    sessions = sessions_at(["2026-03-01T18:00"])
    runs = runs_at(["2026-03-09T07:00", "2026-03-02T07:00"]).set_index(pd.Index([10, 3]))
    before = runs.copy()
    linked = link_exposure(runs, sessions, mask_before_first_session=False)
    pd.testing.assert_frame_equal(runs, before)
    assert list(linked.index) == [10, 3]
    assert list(linked["run_id"]) == ["r0", "r1"]
    for w in (2, 7, 14, 28):
        for name in ("sessions_per_week", "minutes_per_week", "active_day_share",
                     "longest_gap_days", "gap_cv"):  # fmt: skip
            assert f"{name}_{w}d" in linked.columns
        for region in REGIONS:
            assert f"minutes_per_week_{region}_{w}d" in linked.columns
    assert "ewm_load_min" in linked.columns
    assert linked.loc[3, "sessions_per_week_7d"] == 1.0
    assert linked.loc[10, "sessions_per_week_7d"] == 0.0  # 8 days later


def test_runs_before_the_log_began_have_unknown_exposure() -> None:
    sessions = sessions_at(["2026-03-10T18:00"])
    runs = runs_at(["2026-03-01T07:00", "2026-03-11T07:00"])
    masked = link_exposure(runs, sessions)
    assert np.isnan(masked["sessions_per_week_14d"].iloc[0])
    # the run a day after the log's first entry: its 14-day window reaches back before the
    # log began, so the exposure is unknown, not 0.5 sessions/week
    assert np.isnan(masked["sessions_per_week_14d"].iloc[1])
    zero = link_exposure(runs, sessions, mask_before_first_session=False)
    assert zero["sessions_per_week_14d"].iloc[0] == 0.0


def test_each_athlete_gets_their_own_sessions() -> None:
    sessions = sessions_at(["2026-03-01T18:00", "2026-03-02T18:00", "2026-03-03T18:00"],
                           athlete=["ann", "bob", "bob"])  # fmt: skip
    runs = runs_at(["2026-03-05T07:00", "2026-03-05T07:00", "2026-03-05T07:00"],
                   athlete=["ann", "bob", "cat"])  # fmt: skip
    linked = link_exposure(runs, sessions, windows_days=(7,), mask_before_first_session=False)
    assert linked["sessions_per_week_7d"].iloc[0] == 1.0
    assert linked["sessions_per_week_7d"].iloc[1] == 2.0
    assert linked["sessions_per_week_7d"].iloc[2] == 0.0  # cat logged nothing: zeros here
    masked = link_exposure(runs, sessions, windows_days=(2,))
    assert np.isnan(masked["sessions_per_week_2d"].iloc[2])  # ... and unknown by default
    # without an athlete column on one side, everyone shares every session
    shared = link_exposure(runs.drop(columns="athlete"), sessions, windows_days=(7,),
                           mask_before_first_session=False)  # fmt: skip
    assert list(shared["sessions_per_week_7d"]) == [3.0, 3.0, 3.0]


def test_missing_start_time_gives_nan_and_bad_tables_raise() -> None:
    sessions = sessions_at(["2026-03-01T18:00"])
    runs = runs_at(["2026-03-05T07:00", "2026-03-06T07:00"])
    runs.loc[1, "start_time"] = pd.NaT
    linked = link_exposure(runs, sessions, mask_before_first_session=False)
    assert np.isnan(linked["sessions_per_week_7d"].iloc[1])
    with pytest.raises(SchemaError):
        link_exposure(runs.drop(columns="start_time"), sessions)
    with pytest.raises(SchemaError):
        link_exposure(runs, sessions.drop(columns="regions"))


def test_empty_sessions() -> None:
    runs = runs_at(["2026-03-05T07:00"])
    linked = link_exposure(runs, sessions_at([]))
    assert np.isnan(linked["sessions_per_week_14d"].iloc[0])


def test_exposure_column_names() -> None:
    assert exposure_column("sessions_per_week", 14) == "sessions_per_week_14d"
    assert exposure_column("minutes_per_week_hips", 2) == "minutes_per_week_hips_2d"
    assert exposure_column("ewm_load_min", 14) == "ewm_load_min"
    assert exposure_column("gap_cv", 7.5) == "gap_cv_7.5d"
    assert len(EXPOSURES) == 5 + len(REGIONS) + 1
    with pytest.raises(ValueError, match="unknown exposure"):
        exposure_column("stretches", 14)
    with pytest.raises(ValueError, match="positive"):
        exposure_column("sessions_per_week", 0)


def test_windows_reaching_before_the_log_are_unknown_not_zero() -> None:
    """A true 3.5 sessions/week from the log's first day reads 3.5 in every known window."""
    days = pd.date_range("2026-03-01T18:00", periods=70, freq="2D", tz="UTC")
    sessions = sessions_at([str(d) for d in days[::1]])  # every other day = 3.5/week
    runs = runs_at(["2026-03-05T07:00", "2026-03-16T07:00", "2026-04-20T07:00"])
    linked = link_exposure(runs, sessions, windows_days=(7, 14, 28))
    assert np.isnan(linked["sessions_per_week_7d"].iloc[0])  # 7 days back: before the log
    assert linked["sessions_per_week_7d"].iloc[1] == pytest.approx(4.0)  # 03-09 .. 03-15
    assert linked["sessions_per_week_14d"].iloc[1] == pytest.approx(3.5)
    assert np.isnan(linked["sessions_per_week_28d"].iloc[1])
    assert linked["sessions_per_week_28d"].iloc[2] == pytest.approx(3.5)
    assert np.isnan(linked["ewm_load_min"].iloc[1]) and linked["ewm_load_min"].iloc[2] > 0
    # the old behaviour read the early weeks as 0.5 -> 2.0 sessions/week
    zero = link_exposure(runs, sessions, windows_days=(28,), mask_before_first_session=False)
    assert zero["sessions_per_week_28d"].iloc[1] == pytest.approx(2.0)


def test_lagged_window_counts_sessions_7_to_35_days_before() -> None:
    sessions = sessions_at(["2026-01-01T18:00", "2026-02-20T18:00", "2026-03-20T18:00",
                            "2026-03-29T18:00"])  # fmt: skip
    runs = runs_at(["2026-04-01T07:00", "2026-01-20T07:00"])
    linked = link_exposure(runs, sessions, windows_days=(14,))
    # [03-02 07:00, 03-25 07:00): only the 03-20 session; 03-29 is too recent
    assert linked["sessions_per_week_7to35d"].iloc[0] == pytest.approx(1 * 7 / 28)
    assert linked["minutes_per_week_7to35d"].iloc[0] == pytest.approx(20 * 7 / 28)
    assert np.isnan(linked["sessions_per_week_7to35d"].iloc[1])  # 35 days back: before log
    assert exposure_column("sessions_per_week", (7, 35)) == "sessions_per_week_7to35d"
    assert exposure_column("sessions_per_week", "7-35") == "sessions_per_week_7to35d"


def test_date_only_sessions_count_from_the_next_day_unless_before_the_run() -> None:
    # the reader puts a date-only session at local noon (here UTC)
    sessions = sessions_at(["2026-03-01T12:00", "2026-03-10T12:00", "2026-03-11T12:00"])
    sessions["time_known"] = [True, False, False]
    sessions["before_run"] = [None, None, True]
    runs = runs_at(["2026-03-10T18:00", "2026-03-11T18:00", "2026-03-11T07:00"])
    linked = link_exposure(runs, sessions, windows_days=(7,))
    per_week = linked["sessions_per_week_7d"].to_numpy()  # = sessions in the 7 days
    # evening run on 03-10: the date-only session of that day is not known to precede it
    assert per_week[0] == pytest.approx(0.0)
    # evening run 03-11: the 03-10 session (from 03-11 00:00) and the 03-11 "before run" one
    assert per_week[1] == pytest.approx(2.0)
    # morning run 03-11: 03-10's counts (next day), 03-11's was before the run, so counts
    assert per_week[2] == pytest.approx(2.0)
    habit = link_exposure(runs, sessions, windows_days=(7,), date_only="20:00")
    assert habit["sessions_per_week_7d"].iloc[0] == pytest.approx(0.0)
    assert habit["sessions_per_week_7d"].iloc[1] == pytest.approx(2.0)
    with pytest.raises(ValueError, match="date_only"):
        link_exposure(runs, sessions, date_only="evening")


def test_training_load_from_the_runs_before() -> None:
    from stridekeeper.analysis.link import training_load

    starts = pd.date_range("2026-03-01T07:00", periods=60, freq="D", tz="UTC")
    runs = runs_at([str(t) for t in starts])
    runs["moving_time_s"] = 3600.0  # one hour every day
    load = training_load(runs)
    assert np.isnan(load["acute_load_7d_h"].iloc[0])
    assert load["acute_load_7d_h"].iloc[50] == pytest.approx(7.0)
    assert load["chronic_load_42d_h"].iloc[50] == pytest.approx(7.0)
    assert load["acute_chronic_ratio"].iloc[50] == pytest.approx(1.0)
    assert load["weekly_volume_14d_h"].iloc[50] == pytest.approx(7.0)
    # 3 days in: scaled by the days known (3 h in 3 days -> 7 h a week), not zeros
    assert load["acute_load_7d_h"].iloc[3] == pytest.approx(7.0)
    assert load["time_trend_days"].iloc[10] == pytest.approx(10.0)
