"""Item 1 of issue 17: one conclusion that never contradicts itself."""

from __future__ import annotations

import numpy as np
import pytest

from stridekeeper.analysis.result import AnalysisResult, PartialResult, TypicalVariation
from stridekeeper.analysis.stats import analyze
from stridekeeper.synth.season import simulate_season


def result(p: float, ci: tuple[float, float], rho: float = -0.4, n: int = 56, **kw):
    base = dict(n_runs=n, rho=rho, ci95=ci, p_value=p, primary_controls=("acute_load_7d_h",),
                typical_variation_pct=TypicalVariation(sd=2.0, mad=1.9, n_runs=n))  # fmt: skip
    return AnalysisResult(**{**base, **kw}).with_conclusion()


def test_associated_only_when_test_and_interval_agree() -> None:
    both = result(0.01, (-0.6, -0.1))
    assert both.verdict == "associated" and both.associated
    assert "was associated with less late-run stride drop-off" in both.conclusion
    test_only = result(0.03, (-0.6, 0.05))
    assert test_only.verdict == "inconclusive" and not test_only.associated
    assert "suggestive of less late-run stride drop-off but inconclusive" in test_only.conclusion
    assert "the permutation test is below 0.05 but the 95 % interval includes zero" in (
        test_only.conclusion)  # fmt: skip
    ci_only = result(0.103, (-0.89, -0.02), rho=-0.63)  # the case the issue quotes
    assert ci_only.verdict == "inconclusive"
    assert "the 95 % interval excludes zero but the permutation test is not below 0.05" in (
        ci_only.conclusion)  # fmt: skip
    assert "no detectable association" not in ci_only.conclusion
    more = result(0.03, (-0.05, 0.6), rho=0.4)
    assert "suggestive of more late-run stride drop-off" in more.conclusion
    none = result(0.4, (-0.3, 0.2), rho=-0.05)
    assert none.verdict == "no detectable association"
    assert "there was no detectable association" in none.conclusion


def test_p_at_the_permutation_floor_is_said() -> None:
    floor = result(1 / 56, (-0.7, -0.3))
    assert floor.at_permutation_floor
    assert "floor of the permutation test with 56 runs (1/56)" in floor.conclusion
    assert not result(0.04, (-0.7, -0.3)).at_permutation_floor


def test_adjusted_model_is_a_check_in_named_units_against_typical_variation() -> None:
    agree = PartialResult(coef=-1.2, ci95=(-2.0, -0.4), p_value=0.01, controls=("moving_time_s",))
    r = result(0.01, (-0.6, -0.1), partial=agree)
    text = r.check_sentence()
    assert text.startswith("Check: the adjusted regression (controlling for moving time) agrees")
    assert "1.20 % points less drop-off per extra session a week" in text
    assert "0.60 of your typical run-to-run variation (SD 2.0 % points)" in text
    disagree = PartialResult(coef=-1.63, ci95=(-2.4, -0.9), p_value=0.0005, controls=())
    r = result(0.103, (-0.3, 0.1), partial=disagree)
    assert "does not agree" in r.check_sentence()
    assert "it is a check, not the primary result" in r.check_sentence()
    r = result(0.01, (-0.6, -0.1), partial=PartialResult(coef=-0.2, ci95=(-1, 0.6), p_value=0.6))
    assert "does not agree" in r.check_sentence() and "with caution" in r.check_sentence()
    # minutes are stated per 10 minutes a week
    mins = result(0.01, (-0.6, -0.1), exposure="minutes_per_week",
                  partial=PartialResult(coef=-0.05, ci95=(-0.08, -0.02), p_value=0.01))  # fmt: skip
    assert "0.50 % points less drop-off per extra 10 minutes a week" in mins.check_sentence()


@pytest.mark.parametrize("effect", [0.0, 2.0])
def test_simulated_conclusions_never_contradict_their_interval(effect: float) -> None:
    for seed in range(12):
        s = simulate_season(effect=effect, seed=100 + seed)
        res = analyze(s.runs, s.sessions)
        lo, hi = res.ci95
        excludes = lo > 0 or hi < 0
        if "was associated with" in res.conclusion:
            assert res.p_value < 0.05 and excludes
        if "no detectable association" in res.conclusion:
            assert res.p_value >= 0.05 and not excludes
        if "inconclusive" in res.conclusion:
            assert (res.p_value < 0.05) != excludes
        assert "Methods (fixed in advance)" in res.to_text()
        assert res.check_sentence() in res.to_text()
    assert np.isfinite(lo)
