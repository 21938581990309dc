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
    linked = link_exposure(runs, sessions, windows_days=(7,))
    # a session starting at the run's start does not count; one a second before does
    assert list(linked["sessions_per_week_7d"]) == [1.0, 2.0, 3.0]
    assert list(linked["minutes_per_week_hips_7d"]) == [20.0, 40.0, 60.0]


def test_returns_a_copy_with_every_column_in_the_same_order() -> None:
    sessions = sessions_at(["2026-03-01T18:00"])
    runs = runs_at(["2026-03-09T07:00", "2026-03-02T07:00"]).set_index(pd.Index([10, 3]))
    before = runs.copy()
    linked = link_exposure(runs, sessions)
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
    assert masked["sessions_per_week_14d"].iloc[1] == 0.5
    zero = link_exposure(runs, sessions, mask_before_first_session=False)
    assert zero["sessions_per_week_14d"].iloc[0] == 0.0


def test_each_athlete_gets_their_own_sessions() -> None:
    sessions = sessions_at(["2026-03-01T18:00", "2026-03-02T18:00", "2026-03-03T18:00"],
                           athlete=["ann", "bob", "bob"])  # fmt: skip
    runs = runs_at(["2026-03-05T07:00", "2026-03-05T07:00", "2026-03-05T07:00"],
                   athlete=["ann", "bob", "cat"])  # fmt: skip
    linked = link_exposure(runs, sessions, windows_days=(7,))
    assert linked["sessions_per_week_7d"].iloc[0] == 1.0
    assert linked["sessions_per_week_7d"].iloc[1] == 2.0
    assert np.isnan(linked["sessions_per_week_7d"].iloc[2])  # cat logged nothing
    # without an athlete column on one side, everyone shares every session
    shared = link_exposure(runs.drop(columns="athlete"), sessions, windows_days=(7,))
    assert list(shared["sessions_per_week_7d"]) == [3.0, 3.0, 3.0]


def test_missing_start_time_gives_nan_and_bad_tables_raise() -> None:
    sessions = sessions_at(["2026-03-01T18:00"])
    runs = runs_at(["2026-03-05T07:00", "2026-03-06T07:00"])
    runs.loc[1, "start_time"] = pd.NaT
    linked = link_exposure(runs, sessions)
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
