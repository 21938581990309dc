"""Exposures by kind of mobility work: counts, windows, and exploratory tests."""

import numpy as np
import pandas as pd

from stridekeeper.analysis.exposure_kinds import exposure_by_kind, kind_exposures, kinds_done


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
