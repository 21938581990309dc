"""Issue 17 item 5: power (and the runs the too-few message quotes) uses the headline's test."""

from __future__ import annotations

import numpy as np
import pytest

from stridekeeper.analysis.stats import primary_controls, primary_test
from stridekeeper.synth.season import _simulate_arrays, power, simulate_season


def test_null_power_is_the_headline_false_positive_rate() -> None:
    table = power(0.0, weeks_list=(16,), n_sim=200, seed=4)
    assert table["power"].iloc[0] <= 0.08  # said "associated" with no effect


def test_headline_test_needs_more_runs_than_the_unadjusted_one() -> None:
    kw = dict(weeks_list=(12,), n_sim=200, seed=6)
    headline = power(2.0, **kw)["power"].iloc[0]
    unadjusted = power(2.0, test="unadjusted", **kw)["power"].iloc[0]
    assert 0.4 < headline < unadjusted  # controls and the interval cost some power


def test_primary_test_is_what_analyze_reports() -> None:
    from stridekeeper.analysis.stats import analyze

    s = simulate_season(effect=2.0, weeks=12, seed=8)
    res = analyze(s.runs, s.sessions, seed=3)
    assert res.rho is not None and res.primary_controls
    assert "time_trend_days" in res.primary_controls


def test_unknown_test_is_refused() -> None:
    with pytest.raises(ValueError, match="headline"):
        power(1.0, weeks_list=(4,), n_sim=2, test="t-test")


def test_primary_test_interval_and_p_agree_on_a_strong_season() -> None:
    rng = np.random.default_rng(1)
    arr = _simulate_arrays(1, weeks=20, runs_per_week=3.5, effect=3.0, noise_pct=1.0,
                           exposure_autocorr=0.7, mean_sessions_per_week=2.0, confounding=0.0,
                           rng=rng)  # fmt: skip
    from stridekeeper.synth.season import _runs_table

    frame = _runs_table(arr, ["a"])
    z = primary_controls(frame, np.ones(len(frame), bool))[0]
    rho, p, (lo, hi), length = primary_test(arr["y"][0], arr["x"][0], z)
    assert rho < -0.4 and p < 0.05 and hi < 0 and lo < rho < hi and length >= 1
