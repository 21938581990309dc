"""Tests for the mobility-consistency measures and the weekly summary."""

from __future__ import annotations

import math
import statistics
from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stridekeeper.analysis.consistency import consistency, weekly_summary
from stridekeeper.errors import SchemaError
from stridekeeper.schema import MOBILITY_COLUMNS, REGIONS, validate_sessions

T0 = pd.Timestamp("2024-05-01T00:00Z")


def make_sessions(rows: list[tuple], tz: str = "UTC") -> pd.DataFrame:
    """rows: (start, duration_min, regions[, local_date]); start is a Timestamp or ISO text."""
    starts, durs, regs, days = [], [], [], []
    for row in rows:
        start = pd.Timestamp(row[0])
        start = start.tz_localize("UTC") if start.tz is None else start.tz_convert("UTC")
        starts.append(start)
        durs.append(float(row[1]))
        regs.append(tuple(r for r in REGIONS if r in row[2]))
        days.append(row[3] if len(row) > 3 else start.tz_convert(tz).date())
    n = len(rows)
    local = np.empty(n, dtype=object)
    regions = np.empty(n, dtype=object)
    for i in range(n):
        local[i], regions[i] = days[i], regs[i]
    frame = pd.DataFrame(
        {
            "session_id": [f"s{i}" for i in range(n)],
            "start_time": pd.Series(
                pd.DatetimeIndex(starts, tz="UTC"), dtype="datetime64[us, UTC]"
            ),
            "local_date": pd.Series(local, dtype=object),
            "duration_min": pd.Series(durs, dtype=float),
            "regions": pd.Series(regions, dtype=object),
            "planes": pd.Series([()] * n, dtype=object),
            "drills": pd.Series([()] * n, dtype=object),
            "rpe": np.nan,
            "source": "test.csv",
            "notes": "",
        }
    )[list(MOBILITY_COLUMNS)]
    return validate_sessions(frame)


# ---------------------------------------------------------------------------------------------
# a small season counted by hand
# ---------------------------------------------------------------------------------------------
T = pd.Timestamp("2024-05-15T12:00Z")
HAND = make_sessions(
    [
        ("2024-05-01T12:00Z", 20, ("hips",)),  # A: exactly 14 days before T
        ("2024-05-08T08:00Z", 30, ("hips", "ankles")),  # B: 7 d 4 h before
        ("2024-05-10T12:00Z", 10, ("calves",)),  # C: 5 d before
        ("2024-05-14T06:00Z", 15, ("thoracic",)),  # D: 1 d 6 h before
        ("2024-05-15T12:00Z", 40, ("hips",)),  # E: exactly at T -> never counted
        ("2024-05-16T09:00Z", 25, ("hips",)),  # F: after T
    ]
)


def test_hand_counted_windows():
    out = consistency(HAND, [T])
    row = out.iloc[0]
    # 48 h = [05-13 12:00, 05-15 12:00): D only.
    assert row["sessions_per_week_2d"] == pytest.approx(3.5)  # 1 x 7/2
    assert row["minutes_per_week_2d"] == pytest.approx(52.5)  # 15 x 7/2
    assert row["active_day_share_2d"] == pytest.approx(0.5)  # 1 day / 2
    assert row["longest_gap_days_2d"] == pytest.approx(1.25)  # D -> T; window start -> D 0.75
    assert np.isnan(row["gap_cv_2d"])
    assert row["minutes_per_week_thoracic_2d"] == pytest.approx(52.5)
    assert row["minutes_per_week_hips_2d"] == 0
    # 7 d = [05-08 12:00, 05-15 12:00): C, D (B at 08:00 is just outside).
    assert row["sessions_per_week_7d"] == pytest.approx(2.0)
    assert row["minutes_per_week_7d"] == pytest.approx(25.0)
    assert row["active_day_share_7d"] == pytest.approx(2 / 7)
    assert row["longest_gap_days_7d"] == pytest.approx(3.75)  # C -> D; lead 2.0, tail 1.25
    assert np.isnan(row["gap_cv_7d"])  # only 2 sessions
    assert row["minutes_per_week_calves_7d"] == pytest.approx(10.0)
    assert row["minutes_per_week_hips_7d"] == 0
    # 14 d = [05-01 12:00, 05-15 12:00): A (on the edge, counted), B, C, D.
    assert row["sessions_per_week_14d"] == pytest.approx(2.0)  # 4 x 7/14
    assert row["minutes_per_week_14d"] == pytest.approx(37.5)  # 75 x 7/14
    assert row["active_day_share_14d"] == pytest.approx(4 / 14)
    assert row["longest_gap_days_14d"] == pytest.approx(41 / 6)  # A -> B = 6 d 20 h
    # gaps 6.8333, 2.1667, 3.75 days: mean 4.25, population sd 1.93769 -> CV 0.455926
    assert row["gap_cv_14d"] == pytest.approx(0.455926, abs=1e-6)
    assert row["minutes_per_week_hips_14d"] == pytest.approx(25.0)  # (20 + 30) x 7/14
    assert row["minutes_per_week_ankles_14d"] == pytest.approx(15.0)
    # 28 d = [04-17 12:00, 05-15 12:00): the same four sessions.
    assert row["sessions_per_week_28d"] == pytest.approx(1.0)
    assert row["minutes_per_week_28d"] == pytest.approx(18.75)
    assert row["active_day_share_28d"] == pytest.approx(4 / 28)
    assert row["longest_gap_days_28d"] == pytest.approx(14.0)  # window start -> A
    assert row["gap_cv_28d"] == pytest.approx(0.455926, abs=1e-6)
    # EWM, lambda = 2/29, q = 27/29, day block k = [T - (k+1) d, T - k d): D (1 d 6 h before)
    # is in block 1, C (exactly 5 d) in block 4, B (7 d 4 h) in 7, A (exactly 14 d) in 13.
    q = 27 / 29
    expected = 2 / 29 * (15 * q + 10 * q**4 + 30 * q**7 + 20 * q**13)
    assert row["ewm_load_min"] == pytest.approx(expected)
    assert row["ewm_load_min"] == pytest.approx(3.28074, abs=1e-5)


def test_columns_units_and_order():
    out = consistency(HAND, [T], windows_days=(2, 7), regions=("hips", "calves"))
    assert list(out.columns) == [
        "sessions_per_week_2d",
        "minutes_per_week_2d",
        "active_day_share_2d",
        "longest_gap_days_2d",
        "gap_cv_2d",
        "minutes_per_week_hips_2d",
        "minutes_per_week_calves_2d",
        "sessions_per_week_7d",
        "minutes_per_week_7d",
        "active_day_share_7d",
        "longest_gap_days_7d",
        "gap_cv_7d",
        "minutes_per_week_hips_7d",
        "minutes_per_week_calves_7d",
        "ewm_load_min",
    ]
    assert (out.dtypes == np.float64).all()
    full = consistency(HAND, [T])
    assert len(full.columns) == 4 * (5 + len(REGIONS)) + 1


def test_index_is_the_reference_times_in_given_order():
    at = pd.DatetimeIndex(["2024-05-20T00:00Z", "2024-05-02T00:00Z", "2024-05-20T00:00Z"])
    out = consistency(HAND, at)
    assert out.index.name == "reference_time"
    assert list(out.index) == list(at)
    assert str(out.index.tz) == "UTC"
    pd.testing.assert_series_equal(out.iloc[0], out.iloc[2], check_names=False)
    # Non-UTC zones are the same instants.
    local = at.tz_convert("Europe/Copenhagen")
    np.testing.assert_array_equal(consistency(HAND, local).to_numpy(), out.to_numpy())


def test_no_sessions_before():
    row = consistency(HAND, [pd.Timestamp("2024-04-01T00:00Z")]).iloc[0]
    for w in (2, 7, 14, 28):
        assert row[f"sessions_per_week_{w}d"] == 0
        assert row[f"minutes_per_week_{w}d"] == 0
        assert row[f"active_day_share_{w}d"] == 0
        assert row[f"longest_gap_days_{w}d"] == w
        assert np.isnan(row[f"gap_cv_{w}d"])
    assert row["ewm_load_min"] == 0


def test_empty_sessions_and_empty_times():
    empty = HAND.iloc[:0]
    row = consistency(empty, [T]).iloc[0]
    assert row["sessions_per_week_7d"] == 0 and row["longest_gap_days_7d"] == 7
    assert row["ewm_load_min"] == 0
    out = consistency(HAND, pd.DatetimeIndex([], tz="UTC"))
    assert len(out) == 0 and "ewm_load_min" in out.columns


def test_active_days_use_local_date_and_48h_can_touch_three_days():
    # Three sessions on three local dates inside 48 h: the share is capped at 1.
    s = make_sessions(
        [
            ("2024-05-13T13:00Z", 10, ()),
            ("2024-05-14T12:00Z", 10, ()),
            ("2024-05-15T08:00Z", 10, ()),
        ]
    )
    assert consistency(s, [T])["active_day_share_2d"].iloc[0] == 1.0
    # Two sessions on the same local date count once; local date, not UTC date, decides:
    # 22:30Z on 05-13 is 00:30 on 05-14 in Copenhagen.
    s = make_sessions(
        [("2024-05-13T22:30Z", 10, ()), ("2024-05-14T18:00Z", 10, ())], tz="Europe/Copenhagen"
    )
    assert s["local_date"].tolist() == [date(2024, 5, 14)] * 2
    assert consistency(s, [T])["active_day_share_7d"].iloc[0] == pytest.approx(1 / 7)
    s_utc = make_sessions([("2024-05-13T22:30Z", 10, ()), ("2024-05-14T18:00Z", 10, ())])
    assert consistency(s_utc, [T])["active_day_share_7d"].iloc[0] == pytest.approx(2 / 7)


def test_regular_rhythm_has_zero_cv():
    s = make_sessions([(T - pd.Timedelta(days=d), 10, ("hips",)) for d in range(1, 8)])
    assert consistency(s, [T])["gap_cv_7d"].iloc[0] == 0.0  # exactly, not 1e-17


def test_session_at_window_start_counts_and_at_reference_time_does_not():
    s = make_sessions([(T - pd.Timedelta(days=7), 10, ()), (T, 99, ())])
    row = consistency(s, [T], windows_days=(7,)).iloc[0]
    assert row["sessions_per_week_7d"] == 1.0
    assert row["minutes_per_week_7d"] == 10.0
    assert row["longest_gap_days_7d"] == 7.0  # from that session to T


def test_inputs_not_mutated():
    before = HAND.copy(deep=True)
    at = pd.Series(pd.DatetimeIndex([T, T - pd.Timedelta(days=3)]))
    at_before = at.copy()
    consistency(HAND, at)
    pd.testing.assert_frame_equal(HAND, before)
    pd.testing.assert_series_equal(at, at_before)


def test_bad_arguments():
    with pytest.raises(ValueError, match="tz-aware"):
        consistency(HAND, [pd.Timestamp("2024-05-01")])
    with pytest.raises(ValueError, match="NaT"):
        consistency(HAND, pd.DatetimeIndex([T, pd.NaT]))
    with pytest.raises(ValueError, match="windows_days"):
        consistency(HAND, [T], windows_days=(0, 7))
    with pytest.raises(ValueError, match="repeated"):
        consistency(HAND, [T], windows_days=(7, 7.0))
    with pytest.raises(ValueError, match="ewm_span_days"):
        consistency(HAND, [T], ewm_span_days=0)
    with pytest.raises(ValueError, match="knees"):
        consistency(HAND, [T], regions=("knees",))
    with pytest.raises(SchemaError, match="duration_min"):
        consistency(HAND.drop(columns="duration_min"), [T])


def test_scalar_reference_time_and_fractional_window():
    out = consistency(HAND, T, windows_days=(1.5,))
    assert len(out) == 1 and "sessions_per_week_1.5d" in out.columns


# ---------------------------------------------------------------------------------------------
# against a slow, obviously correct implementation
# ---------------------------------------------------------------------------------------------
def slow_reference(sessions: pd.DataFrame, t: pd.Timestamp, w: float, span: float) -> dict:
    rows = sorted(
        zip(sessions["start_time"], sessions["duration_min"], sessions["local_date"], strict=True)
    )
    start = t - pd.Timedelta(days=w)
    inside = [r for r in rows if start <= r[0] < t]
    day = pd.Timedelta(days=1)
    starts = [r[0] for r in inside]
    if starts:
        edges = [(starts[0] - start) / day, (t - starts[-1]) / day]
        gaps = [(b - a) / day for a, b in zip(starts, starts[1:], strict=False)]
        longest = max(edges + gaps)
    else:
        gaps, longest = [], w
    if len(inside) < 3 or statistics.mean(gaps) == 0:
        cv = math.nan
    else:
        cv = statistics.pstdev(gaps) / statistics.mean(gaps)
    lam = 2 / (span + 1)
    load = sum(
        lam * (1 - lam) ** (math.ceil((t - r[0]) / day) - 1) * r[1] for r in rows if r[0] < t
    )
    return {
        "sessions_per_week": len(inside) * 7 / w,
        "minutes_per_week": sum(r[1] for r in inside) * 7 / w,
        "active_day_share": min(len({r[2] for r in inside}) / w, 1.0),
        "longest_gap_days": longest,
        "gap_cv": cv,
        "ewm_load_min": load,
    }


def random_season(seed: int, shuffle_dates: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 60))
    minutes = np.sort(rng.integers(0, 90 * 1440, n))
    minutes[rng.random(n) < 0.1] = minutes[0] if n else 0  # some sessions at the same instant
    rows = []
    for m in minutes:
        start = T0 + pd.Timedelta(minutes=int(m))
        local = (start + pd.Timedelta(hours=int(rng.integers(-12, 13)))).date()
        rows.append((start, float(rng.integers(1, 60)), ("hips",), local))
    if not shuffle_dates:
        rows = [(r[0], r[1], r[2], r[0].date()) for r in rows]
    return make_sessions(rows)


@pytest.mark.parametrize("shuffle_dates", [False, True])
@pytest.mark.parametrize("seed", range(12))
def test_matches_slow_reference(seed, shuffle_dates):
    sessions = random_season(seed, shuffle_dates)
    rng = np.random.default_rng(1000 + seed)
    at = T0 + pd.to_timedelta(rng.integers(-5 * 1440, 100 * 1440, 25), unit="min")
    if len(sessions):
        at = at.append(pd.DatetimeIndex(sessions["start_time"].iloc[:5]))  # exactly at starts
    windows = (2, 7, 14, 28, 0.5)
    out = consistency(sessions, at, windows_days=windows, ewm_span_days=10)
    for i, t in enumerate(at):
        for w in windows:
            ref = slow_reference(sessions, t, w, 10)
            for name in ("sessions_per_week", "minutes_per_week", "active_day_share"):
                assert out[f"{name}_{w:g}d"].iloc[i] == pytest.approx(ref[name]), (name, w, t)
            assert out[f"longest_gap_days_{w:g}d"].iloc[i] == pytest.approx(ref["longest_gap_days"])
            got_cv = out[f"gap_cv_{w:g}d"].iloc[i]
            if math.isnan(ref["gap_cv"]):
                assert math.isnan(got_cv)
            else:
                assert got_cv == pytest.approx(ref["gap_cv"], rel=1e-7, abs=1e-9)
        assert out["ewm_load_min"].iloc[i] == pytest.approx(ref["ewm_load_min"], rel=1e-9)


# ---------------------------------------------------------------------------------------------
# property: nothing at or after the reference time is ever counted
# ---------------------------------------------------------------------------------------------
minute_offsets = st.integers(min_value=0, max_value=60 * 1440)


@settings(max_examples=80, deadline=None)
@given(
    before=st.lists(st.tuples(minute_offsets, st.integers(1, 120)), max_size=25),
    refs=st.lists(minute_offsets, min_size=1, max_size=6),
    later=st.lists(
        st.tuples(st.integers(0, 30 * 1440), st.integers(1, 120)), min_size=1, max_size=8
    ),
    region=st.sampled_from(REGIONS),
)
def test_sessions_at_or_after_reference_time_change_nothing(before, refs, later, region):
    at = pd.DatetimeIndex([T0 + pd.Timedelta(minutes=m) for m in refs])
    last = at.max()
    base_rows = [(T0 + pd.Timedelta(minutes=m), d, (region,)) for m, d in before]
    # extra sessions at the latest reference time or later (the first exactly at it)
    extra = [
        (last + pd.Timedelta(minutes=m if i else 0), d, (region,)) for i, (m, d) in enumerate(later)
    ]
    base = consistency(make_sessions(base_rows), at)
    more = consistency(make_sessions(base_rows + extra), at)
    pd.testing.assert_frame_equal(base, more)
    # and the order of the session rows is irrelevant
    shuffled = make_sessions(list(reversed(base_rows + extra)))
    pd.testing.assert_frame_equal(consistency(shuffled, at), more, check_exact=False)


# ---------------------------------------------------------------------------------------------
# weekly summary
# ---------------------------------------------------------------------------------------------
def test_weekly_summary_hand_counted():
    s = make_sessions(
        [
            ("2024-05-06T07:00Z", 20, ("hips",)),  # Mon, ISO week 19
            ("2024-05-08T07:00Z", 10, ("hips", "calves")),  # Wed
            ("2024-05-08T19:00Z", 5, ()),  # Wed again
            ("2024-05-12T20:00Z", 5, ("calves",)),  # Sun, still week 19
            ("2024-05-20T07:00Z", 15, ("thoracic",)),  # Mon, week 21 (week 20 empty)
        ]
    )
    out = weekly_summary(s)
    assert list(out.columns[:5]) == ["week_start", "iso_week", "sessions", "minutes", "active_days"]
    assert list(out.columns[5:]) == [f"minutes_{r}" for r in REGIONS]
    assert out["week_start"].tolist() == [date(2024, 5, 6), date(2024, 5, 13), date(2024, 5, 20)]
    assert out["iso_week"].tolist() == ["2024-W19", "2024-W20", "2024-W21"]
    assert out["sessions"].tolist() == [4, 0, 1]
    assert out["minutes"].tolist() == [40.0, 0.0, 15.0]
    assert out["active_days"].tolist() == [3, 0, 1]
    assert out["minutes_hips"].tolist() == [30.0, 0.0, 0.0]
    assert out["minutes_calves"].tolist() == [15.0, 0.0, 0.0]
    assert out["minutes_thoracic"].tolist() == [0.0, 0.0, 15.0]


def test_weekly_summary_tz_recomputes_local_dates():
    # Sunday 22:30 UTC is Monday 00:30 in Copenhagen (summer): the next ISO week.
    s = make_sessions([("2024-05-12T22:30Z", 10, ()), ("2024-05-06T10:00Z", 10, ())])
    assert weekly_summary(s)["sessions"].tolist() == [2]
    by_cph = weekly_summary(s, tz="Europe/Copenhagen")
    assert by_cph["week_start"].tolist() == [date(2024, 5, 6), date(2024, 5, 13)]
    assert by_cph["sessions"].tolist() == [1, 1]


def test_weekly_summary_iso_year_boundary_and_empty():
    s = make_sessions([("2024-12-30T10:00Z", 10, ()), ("2025-01-05T10:00Z", 10, ())])
    out = weekly_summary(s)
    assert out["iso_week"].tolist() == ["2025-W01"]
    assert out["week_start"].tolist() == [date(2024, 12, 30)]
    empty = weekly_summary(s.iloc[:0])
    assert len(empty) == 0 and list(empty.columns) == list(out.columns)
