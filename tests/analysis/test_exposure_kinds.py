"""Exposures by kind of mobility work: counts, windows, and exploratory tests."""

import numpy as np
import pandas as pd
import pytest

from stridekeeper.analysis.exposure_kinds import (
    TREND_KIND,
    exposure_by_kind,
    kind_exposures,
    kinds_done,
    range_feel_trend,
)


def _sessions():
    t = pd.to_datetime(["2026-01-01T07:00", "2026-01-03T07:00", "2026-01-10T07:00"], utc=True)
    s = pd.DataFrame({"session_id": ["a", "b", "c"], "start_time": t,
                      "regions": [("hips",), ("hips", "ankles"), ("thoracic",)]})  # fmt: skip
    d = pd.DataFrame({"session_id": ["a", "b", "c"], "context": ["post-run", "", "rest-day"],
                      "range_feel": ["open", "open", "restricted"]})  # fmt: skip
    return s, d


def test_kinds_done_counts():
    s, d = _sessions()
    done = dict(zip(*kinds_done(s, d).T.values, strict=True))
    assert done == {"region:hips": 2, "region:ankles": 1, "region:thoracic": 1,
                    "context:post-run": 1, "context:rest-day": 1, "range_feel:open": 2,
                    "range_feel:restricted": 1}  # fmt: skip


def test_window_counts_strictly_before_the_run():
    s, d = _sessions()
    runs = pd.DataFrame({"start_time": pd.to_datetime(
        ["2026-01-03T07:00", "2026-01-12T18:00", "2026-01-20T18:00"], utc=True)})  # fmt: skip
    ex = kind_exposures(runs, s, d, window_days=14)
    # hips: run 1 sees only a (b starts at the same instant: not before); run 2 sees a, b
    assert ex["region:hips"].tolist() == [0.5, 1.0, 0.0]  # run 3: both > 14 days back
    assert ex["context:rest-day"].tolist() == [0.0, 0.5, 0.5]


def test_exploratory_table_adjusts_and_finds_a_strong_kind():
    rng = np.random.default_rng(0)
    days = pd.date_range("2026-01-01", periods=120, freq="D", tz="UTC")
    hips = [d + pd.Timedelta(hours=7) for i, d in enumerate(days) if (i // 14) % 2 == 0]
    ank = [d + pd.Timedelta(hours=8) for d in days[rng.random(120) < 0.3]]
    s = pd.DataFrame({"session_id": [f"s{i}" for i in range(len(hips) + len(ank))],
                      "start_time": pd.DatetimeIndex(hips + ank),
                      "regions": [("hips",)] * len(hips) + [("ankles",)] * len(ank)})  # fmt: skip
    runs = pd.DataFrame({"start_time": days[::2] + pd.Timedelta(hours=18)})
    ex = kind_exposures(runs, s, window_days=14)
    runs["stride_dropoff_pct"] = 5 - 2.0 * ex["region:hips"] + rng.normal(0, 0.3, len(runs))
    t = exposure_by_kind(runs, s)
    assert t["kind"].iloc[0] == "region:hips" and t["rho"].iloc[0] < -0.5
    assert (t["p_adjusted"] >= t["p_value"] - 1e-12).all() and t["exploratory"].all()


def test_range_feel_trend_is_open_minus_restricted_share():
    s, d = _sessions()  # a, b open (Jan 1, 3); c restricted (Jan 10)
    runs = pd.DataFrame({"start_time": pd.to_datetime(
        ["2026-01-01T06:00", "2026-01-04T07:00", "2026-01-12T18:00", "2026-01-20T18:00"],
        utc=True)})  # fmt: skip
    trend = range_feel_trend(runs, s, d, window_days=14)
    assert np.isnan(trend.iloc[0])  # no felt session before the first run
    # Jan 4: a, b open; Jan 12: a, b open, c restricted; Jan 20: only c in the 14 days
    assert trend.iloc[1:].tolist() == pytest.approx([1.0, 1 / 3, -1.0])
    assert kind_exposures(runs, s, d)[TREND_KIND].iloc[1:].tolist() == pytest.approx(
        [1.0, 1 / 3, -1.0]
    )


def _feel_athlete(rng, effect_pct: float, days: int = 200):
    """A season where a slowly drifting tissue state sets how open sessions feel.

    ~4 sessions a week on random days (all regions hips, so the kinds carry no signal), range
    feel drawn from the state (open / normal / restricted); one run every other day whose
    drop-off is ``5 - effect_pct * trend`` (the range-feel trend of its 14 days: -1 to +1) plus
    autocorrelated run-to-run noise (sd ~1 % point).
    """
    state = np.zeros(days)
    for i in range(1, days):  # AR(1), about 10-day memory
        state[i] = 0.9 * state[i - 1] + rng.normal(0, 0.45)
    day0 = pd.Timestamp("2026-01-01", tz="UTC")
    sess_days = np.flatnonzero(rng.random(days) < 4 / 7)
    p_open = 1 / (1 + np.exp(-2 * state[sess_days]))
    u = rng.random(len(sess_days))
    feel = np.where(u < 0.8 * p_open, "open",
                    np.where(u > 1 - 0.8 * (1 - p_open), "restricted", "normal"))  # fmt: skip
    s = pd.DataFrame({
        "session_id": [f"s{i}" for i in range(len(sess_days))],
        "start_time": [day0 + pd.Timedelta(days=int(k), hours=7) for k in sess_days],
        "regions": [("hips",)] * len(sess_days), "range_feel": feel,
    })  # fmt: skip
    run_days = np.arange(1, days, 2)
    noise = np.zeros(len(run_days))
    for i in range(1, len(noise)):
        noise[i] = 0.5 * noise[i - 1] + rng.normal(0, 0.87)
    runs = pd.DataFrame({"start_time": [day0 + pd.Timedelta(days=int(k), hours=18)
                                        for k in run_days]})  # fmt: skip
    felt = np.nan_to_num(range_feel_trend(runs, s).to_numpy())  # how open the last 14 days felt
    runs["stride_dropoff_pct"] = 5 - effect_pct * felt + noise
    return runs, s


def _trend_result(runs, s):
    t = exposure_by_kind(runs, s).set_index("kind")
    assert (t["p_adjusted"] >= t["p_value"] - 1e-12).all() and t["exploratory"].all()
    return t.loc[TREND_KIND]


@pytest.mark.slow
def test_range_feel_trend_found_when_it_carries_an_effect():
    rng = np.random.default_rng(19)
    # 1.5 % points between an all-restricted and an all-open fortnight, noise sd ~1 % point
    rows = [_trend_result(*_feel_athlete(rng, effect_pct=1.5)) for _ in range(20)]
    assert np.median([r["rho"] for r in rows]) < -0.4  # more open -> less drop-off
    assert np.mean([r["p_value"] < 0.05 for r in rows]) >= 0.65
    assert np.mean([r["p_adjusted"] < 0.05 for r in rows]) >= 0.45  # after BH across kinds


@pytest.mark.slow
def test_range_feel_trend_rarely_significant_when_it_carries_none():
    rng = np.random.default_rng(4)
    rows = [_trend_result(*_feel_athlete(rng, effect_pct=0.0)) for _ in range(60)]
    assert abs(np.median([r["rho"] for r in rows])) < 0.1
    assert np.mean([r["p_value"] < 0.05 for r in rows]) <= 0.12  # nominal 5 %, 60 athletes
    assert np.mean([r["p_adjusted"] < 0.05 for r in rows]) <= 0.08
