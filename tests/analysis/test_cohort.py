"""The mixed model of several athletes: within versus between, fallbacks, too few athletes."""

from __future__ import annotations

import json

import numpy as np
import pytest

import stridekeeper.analysis.cohort as cohort_mod
from stridekeeper.analysis.cohort import analyze_cohort
from stridekeeper.analysis.link import link_exposure
from stridekeeper.synth.season import simulate_cohort


@pytest.fixture(scope="module")
def opposed():
    """Within an athlete mobility goes with less drop-off; between athletes, with more."""
    sim = simulate_cohort(10, weeks=16, effect=1.5, effect_sd=0.3, between_effect=-3.5,
                          sessions_sd_between=1.0, base_sd_pct=0.3, seed=4)  # fmt: skip
    return sim, link_exposure(sim.runs, sim.sessions)


def test_within_and_between_effects_are_separated(opposed) -> None:
    sim, linked = opposed
    res = analyze_cohort(linked)
    known = int(np.isfinite(linked["sessions_per_week_14d"]).sum())  # windows inside the log
    assert res.n_athletes == 10 and res.n_runs == known and 550 <= known <= 560
    assert {"acute_load_7d_h", "chronic_load_42d_h", "acute_chronic_ratio",
            "weekly_volume_14d_h", "time_trend_days"} <= set(res.controls)  # fmt: skip
    lo, hi = res.within.ci95
    assert lo < sim.truth["within_slope_pct_per_session"] < hi
    assert res.within.p_value < 0.01  # two-stage t test across the 10 athletes' slopes
    assert "two-stage" in res.note
    # true between slope +2 per session/week of an athlete's *true* mean rate; on the observed
    # mean exposure (noisy over 16 weeks) it is attenuated, but clearly not the within slope
    assert res.between.coef > 0
    assert res.between.ci95[0] > sim.truth["within_slope_pct_per_session"]
    assert res.controls[:4] == ("moving_time_s", "avg_speed_mps", "elevation_gain_m",
                                "avg_temperature_c")  # fmt: skip
    assert res.model in ("random intercept and slope", "random intercept only")
    assert f"10 athletes and {known} runs" in res.conclusion
    assert "within an athlete, having more mobility sessions" in res.conclusion
    assert "associated with less drop-off" in res.conclusion
    json.dumps(res.to_dict(), allow_nan=False)


def test_falls_back_to_random_intercept_when_the_slope_model_fails(opposed, monkeypatch) -> None:
    _, linked = opposed
    real = cohort_mod._fit

    def slope_fails(y, exog, groups, exog_re):
        fit, clean = real(y, exog, groups, exog_re)
        return (fit, False) if exog_re is not None else (fit, clean)

    monkeypatch.setattr(cohort_mod, "_fit", slope_fails)
    res = analyze_cohort(linked)
    assert res.model == "random intercept only"
    assert "did not converge" in res.note
    assert res.within is not None and res.within.coef < 0
    assert "random intercept only" in res.conclusion and "random intercept only" in res.to_text()


def test_two_athletes_have_no_between_effect() -> None:
    sim = simulate_cohort(2, weeks=10, effect=1.0, seed=5)
    res = analyze_cohort(link_exposure(sim.runs, sim.sessions))
    assert res.n_athletes == 2 and res.between is None
    assert "between-athlete effect not estimated" in res.note
    assert res.within is not None


def test_too_few_athletes_or_runs() -> None:
    sim = simulate_cohort(3, weeks=4, seed=6)
    linked = link_exposure(sim.runs, sim.sessions)
    one = analyze_cohort(linked[linked["athlete"] == "sim01"])
    assert one.within is None and one.conclusion.startswith("No mixed model")
    sparse = linked.groupby("athlete").head(3)
    res = analyze_cohort(sparse)
    assert res.within is None and "left out" in res.note
    assert analyze_cohort(linked.drop(columns="athlete")).within is None


def test_between_athlete_test_holds_its_level_with_few_athletes() -> None:
    """Four null athletes a cohort: the between slope rests on four means, so a normal
    reference (MixedLM's Wald z) called 17 % of such cohorts associated; t with 2 df ~3 %."""
    p = []
    for s in range(40):
        sim = simulate_cohort(4, weeks=12, seed=1000 + s)
        res = analyze_cohort(link_exposure(sim.runs, sim.sessions))
        assert res.between is not None and res.n_athletes == 4
        p.append(res.between.p_value)
        lo, hi = res.between.ci95
        assert (lo > 0 or hi < 0) == (res.between.p_value < 0.05)  # interval and test agree
    assert np.mean(np.array(p) < 0.05) <= 0.10


def test_two_stage_result_stands_when_the_mixed_model_cannot_be_fitted(
    opposed, monkeypatch
) -> None:
    sim, linked = opposed
    monkeypatch.setattr(cohort_mod, "_fit", lambda *a: (None, False))
    res = analyze_cohort(linked)
    assert res.model == "two-stage only" and res.between is None
    lo, hi = res.within.ci95
    assert lo < sim.truth["within_slope_pct_per_session"] < hi and res.within.p_value < 0.01
    assert "could not be fitted" in res.note
    assert res.conclusion.startswith("Across 10 athletes") and "two-stage" in res.conclusion
