"""Unit tests of the statistics and of :func:`analyze`'s result and words."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from stridekeeper.analysis.link import link_exposure
from stridekeeper.analysis.result import AnalysisResult
from stridekeeper.analysis.stats import (
    MIN_RUNS,
    RUNS_FOR_MODERATE_EFFECT,
    RUNS_FOR_STRONG_EFFECT,
    analyze,
    analyze_linked,
    bh_adjust,
    block_bootstrap_rho,
    bootstrap_interval,
    circular_shift_test,
    default_block_length,
    dose_response,
    effective_sample_size,
    lag1_autocorr,
    partial_regression,
    select_controls,
    spearman_rho,
    typical_variation,
)
from stridekeeper.synth.season import simulate_cohort, simulate_season

REQUIRED_KEYS = {
    "n_runs", "window_days", "exposure", "outcome", "rho", "ci95", "p_value", "n_eff",
    "partial", "lag_scan", "dose_response", "typical_variation_pct", "conclusion", "cohort",
}  # fmt: skip


@pytest.fixture(scope="module")
def strong() -> tuple[pd.DataFrame, pd.DataFrame]:
    season = simulate_season(effect=2.0, seed=3)
    return season.runs, season.sessions


@pytest.fixture(scope="module")
def null() -> tuple[pd.DataFrame, pd.DataFrame]:
    season = simulate_season(effect=0.0, seed=4)
    return season.runs, season.sessions


# --------------------------------------------------------------------------- rank statistics
def test_spearman_matches_scipy_with_ties_and_in_batches() -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(size=(5, 40))
    x = np.round(rng.normal(size=(5, 40)))  # many ties
    ours = spearman_rho(y, x)
    for i in range(5):
        assert ours[i] == pytest.approx(spearmanr(y[i], x[i]).statistic, abs=1e-12)
    assert isinstance(spearman_rho(y[0], x[0]), float)
    assert np.isnan(spearman_rho(y[0], np.ones(40)))


def test_circular_shift_p_value_is_the_brute_force_count() -> None:
    rng = np.random.default_rng(1)
    n = 30
    x = np.cumsum(rng.normal(size=n))
    y = 0.3 * x + rng.normal(size=n)
    rho, p = circular_shift_test(y, x)
    shifted = [spearmanr(y, np.roll(x, k)).statistic for k in range(1, n)]
    assert rho == pytest.approx(spearmanr(y, x).statistic)
    expected = (1 + sum(abs(s) >= abs(rho) - 1e-9 for s in shifted)) / n
    assert p == pytest.approx(expected)
    # batches give the same answers
    rb, pb = circular_shift_test(np.stack([y, y[::-1]]), np.stack([x, x]))
    assert rb[0] == pytest.approx(rho) and pb[0] == pytest.approx(p)
    assert pb[1] == pytest.approx(circular_shift_test(y[::-1], x)[1])


def test_smallest_permutation_p_is_one_over_n() -> None:
    x = np.arange(15.0)
    rho, p = circular_shift_test(-x, x)
    assert rho == pytest.approx(-1.0) and p == pytest.approx(1 / 15)


def test_block_bootstrap_is_vectorised_reproducible_and_keeps_pairs() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=50)
    y = x + 0.5 * rng.normal(size=50)
    a = block_bootstrap_rho(y, x, block_length=5, n_boot=300, rng=7)
    b = block_bootstrap_rho(y, x, block_length=5, n_boot=300, rng=7)
    assert a.shape == (300,)
    np.testing.assert_array_equal(a, b)
    assert np.all((a >= -1) & (a <= 1))
    assert abs(np.median(a) - spearman_rho(y, x)) < 0.05
    # perfectly related pairs stay perfectly related in every resample
    assert np.allclose(block_bootstrap_rho(x, x, block_length=3, n_boot=50, rng=1), 1.0)
    # several series at once, in chunks smaller than one series' replicates
    batch = block_bootstrap_rho(np.stack([y, -y]), np.stack([x, x]), block_length=5,
                                n_boot=40, rng=1, max_elements=500)  # fmt: skip
    assert batch.shape == (2, 40) and (batch[0] > 0).all() and (batch[1] < 0).all()
    lo, hi = bootstrap_interval(a)
    assert lo < spearman_rho(y, x) < hi


def test_default_block_length() -> None:
    assert default_block_length(56) == 8  # ceil(2 * 56 ** (1/3))
    assert default_block_length(56, 0.9, 0.9) > 8  # long dependence, longer blocks
    assert default_block_length(12, 0.9, 0.9) == 3  # at most N/4
    assert default_block_length(3) == 1


# --------------------------------------------------------------------------- dependence
def test_lag1_autocorrelation() -> None:
    rng = np.random.default_rng(3)
    e = rng.normal(size=20_000)
    ar = np.empty_like(e)
    ar[0] = e[0]
    for i in range(1, len(e)):
        ar[i] = 0.6 * ar[i - 1] + e[i]
    assert lag1_autocorr(ar) == pytest.approx(0.6, abs=0.02)
    assert abs(lag1_autocorr(e)) < 0.03
    assert np.isnan(lag1_autocorr(np.ones(10)))


def test_effective_sample_size_formula() -> None:
    assert effective_sample_size(100, 0.5, 0.5) == pytest.approx(100 * 0.75 / 1.25)
    assert effective_sample_size(56, 0.3, 0.86) == pytest.approx(
        56 * (1 - 0.3 * 0.86) / (1 + 0.3 * 0.86)
    )
    assert effective_sample_size(100, 0.0, 0.9) == 100  # one white series: no loss
    assert effective_sample_size(100, -0.5, 0.5) == 100  # capped at N
    assert effective_sample_size(10, 0.99, 0.99) == 2  # at least 2
    assert math.isnan(effective_sample_size(10, float("nan"), 0.5))


def test_benjamini_hochberg_keeps_the_input_order() -> None:
    p = [0.04, 0.01, 0.03, 0.20]
    # sorted: 0.01*4/1 = 0.04, 0.03*4/2 = 0.06, 0.04*4/3 = 0.0533, 0.20; then step-up minima
    np.testing.assert_allclose(bh_adjust(p), [0.04 * 4 / 3, 0.04, 0.04 * 4 / 3, 0.20])
    np.testing.assert_allclose(bh_adjust([0.2, np.nan, 0.01]), [0.2, np.nan, 0.02])
    assert (bh_adjust(p) >= np.asarray(p)).all()


def test_lag_scan_p_adjusted_belongs_to_its_window(strong) -> None:
    res = analyze(*strong)
    windows = [r.window_days for r in res.lag_scan]
    assert windows == [2, 7, 14, 28]
    # p adjusted across every exposure x window tried (no forking paths), not just 4 windows
    grid = res.exploratory
    assert len(grid) > 40 and sum(g.primary for g in grid) == 1
    assert {g.column for g in grid} >= {"sessions_per_week_7to35d", "minutes_per_week_28d",
                                        "ewm_load_min"}  # fmt: skip
    adjusted = dict(zip([g.column for g in grid], bh_adjust([g.p_value for g in grid]),
                        strict=True))  # fmt: skip
    np.testing.assert_allclose([r.p_adjusted for r in res.lag_scan],
                               [adjusted[r.column] for r in res.lag_scan])  # fmt: skip
    main = next(r for r in res.lag_scan if r.window_days == 14)
    assert main.rho == pytest.approx(res.rho) and main.p_value == pytest.approx(res.p_value)
    assert "Benjamini-Hochberg" in res.to_dict()["lag_scan_note"]
    assert "Benjamini-Hochberg" in res.to_text()
    # an extra window joins the scan
    res9 = analyze(*strong, window_days=9)
    assert [r.window_days for r in res9.lag_scan] == [2, 7, 9, 14, 28]


# --------------------------------------------------------------------------- regression
def test_partial_regression_recovers_the_effect_and_names_controls(strong) -> None:
    res = analyze(*strong)
    p = res.partial
    assert p.controls == ("moving_time_s", "avg_speed_mps", "elevation_gain_m",
                          "avg_temperature_c", "acute_load_7d_h", "chronic_load_42d_h",
                          "acute_chronic_ratio", "weekly_volume_14d_h", "time_trend_days",
                          "time_trend_days_squared")  # fmt: skip
    assert p.ci95[0] < -2.0 < p.ci95[1]  # the true effect is -2 % points per session/week
    # the permutation check (floor 1/56) and the AR(1) model's own p
    assert p.p_value <= 2 / 56 and p.n_runs == 56 and p.gls_p_value < 0.05
    assert "permutation" in p.method
    assert 0 <= p.error_autocorr < 0.7
    assert p.hac_maxlags == 3 and p.hac_p_value < 0.01


def test_controls_are_chosen_by_presence_variation_and_missingness() -> None:
    frame = pd.DataFrame({
        "moving_time_s": np.arange(10.0),
        "avg_speed_mps": 3.0,  # no variation
        "elevation_gain_m": [np.nan] * 2 + list(range(8)),  # 20 % missing: too many
        "avg_temperature_c": [np.nan] + list(range(9)),  # 10 % missing: kept
    })  # fmt: skip
    used, left = select_controls(frame)
    assert used == ["moving_time_s", "avg_temperature_c"]
    assert left == ["avg_speed_mps (no variation)", "elevation_gain_m (missing in 20 % of runs)"]
    assert select_controls(frame.drop(columns="moving_time_s"))[1][0] == "moving_time_s (absent)"


def test_partial_regression_drops_collinear_controls_and_needs_runs() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=40)
    c = rng.normal(size=40)
    y = -1.0 * x + 0.5 * c + rng.normal(size=40) * 0.1
    res = partial_regression(y, x, np.column_stack([c, 2 * c]), control_names=["c", "c2"])
    assert res.controls == ("c",)
    assert res.coef == pytest.approx(-1.0, abs=0.05)
    few = partial_regression(y[:6], x[:6], np.column_stack([c[:6]]), control_names=["c"])
    assert few.coef is None and "too few" in few.note


def test_left_out_controls_are_reported(strong) -> None:
    runs, sessions = strong
    runs = runs.assign(avg_temperature_c=12.0)
    res = analyze(runs, sessions)
    assert "avg_temperature_c" not in res.partial.controls
    assert res.partial.left_out == ("avg_temperature_c (no variation)",)
    assert "Not controlled for: avg_temperature_c (no variation)" in res.to_text()


# --------------------------------------------------------------------------- descriptives
def test_dose_response_bands_for_sessions_per_week() -> None:
    x = np.array([0, 0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 5.0])
    y = np.array([4, 6, 3, 5, 2, 2, 1, 0, -1, -3], dtype=float)
    bands = dose_response(y, x, "sessions_per_week", min_runs=0)
    assert [b.band for b in bands] == ["0", "(0, 1]", "(1, 2]", "(2, 3]", "> 3"]
    assert [b.n_runs for b in bands] == [2, 2, 2, 2, 2]
    assert [b.median_pct for b in bands] == [5.0, 4.0, 2.0, 0.5, -2.0]
    assert bands[0].mean_pct == 5.0
    # empty bands stay in the table
    none = dose_response(y[2:4], x[2:4], "sessions_per_week", min_runs=0)
    assert [b.n_runs for b in none] == [0, 2, 0, 0, 0]
    assert none[0].median_pct is None
    assert none[-1].to_dict()["high"] is None  # infinity becomes null


def test_small_dose_bands_are_merged_with_a_neighbour() -> None:
    x = np.array([0, 0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 5.0])
    y = np.array([4, 6, 3, 5, 2, 2, 1, 0, -1, -3], dtype=float)
    x = np.repeat(x, [3, 3, 1, 1, 1, 1, 1, 1, 1, 1])  # bands of 6, 2, 2, 2, 2 runs
    y = np.repeat(y, [3, 3, 1, 1, 1, 1, 1, 1, 1, 1])
    bands = dose_response(y, x, "sessions_per_week")
    assert all(b.n_runs >= 5 for b in bands) and sum(b.n_runs for b in bands) == 14
    assert [b.band for b in bands] == ["0", "> 0"] and bands[1].merged and not bands[0].merged
    assert bands[1].mean_pct == pytest.approx(np.mean([3, 5, 2, 2, 1, 0, -1, -3]))
    lo, hi = bands[0].mean_ci95
    sd = np.std([4, 4, 4, 6, 6, 6], ddof=1)
    assert hi - lo == pytest.approx(2 * 2.5706 * sd / math.sqrt(6), rel=1e-3)
    one = dose_response(y[2:4], x[2:4], "sessions_per_week")  # 2 runs in all: one band
    assert len(one) == 1 and one[0].n_runs == 2


def test_dose_response_tertiles_for_other_exposures() -> None:
    x = np.arange(30.0)
    y = -x
    bands = dose_response(y, x, "minutes_per_week")
    assert len(bands) == 3 and [b.n_runs for b in bands] == [10, 10, 10]
    assert bands[0].median_pct > bands[1].median_pct > bands[2].median_pct
    assert bands[0].band.startswith("<=") and bands[2].band.startswith(">")
    # ties that make cut points coincide give fewer bands, every run in one of them
    tied = dose_response(np.arange(10.0), np.array([0.0] * 8 + [5.0, 6.0]), "minutes_per_week")
    assert sum(b.n_runs for b in tied) == 10 and len(tied) < 3


def test_typical_variation() -> None:
    y = np.array([1.0, 2.0, 3.0, 4.0, 5.0, np.nan])
    tv = typical_variation(y)
    assert tv.sd == pytest.approx(np.std([1, 2, 3, 4, 5], ddof=1))
    assert tv.mad == pytest.approx(1.4826 * 1.0)
    assert tv.n_runs == 5
    wild = typical_variation(np.array([1.0, 2.0, 3.0, 4.0, 5.0, 100.0]))
    assert wild.mad < 3 < wild.sd  # MAD ignores the wild run
    assert typical_variation(np.array([1.0])).sd is None


# --------------------------------------------------------------------------- analyze
def test_analyze_agrees_with_the_array_functions_and_ignores_row_order(strong) -> None:
    runs, sessions = strong
    res = analyze(runs, sessions)
    linked = link_exposure(runs, sessions).sort_values("start_time")
    y = linked["stride_dropoff_pct"].to_numpy(dtype=float)
    x = linked["sessions_per_week_14d"].to_numpy(dtype=float)
    rho, p = circular_shift_test(y, x)
    assert res.rho_unadjusted == pytest.approx(rho) and res.p_value_unadjusted == pytest.approx(p)
    assert res.primary_controls == res.partial.controls
    assert res.rho < 0 and res.p_value < 0.05
    assert res.n_runs == 56 and res.window_days == 14
    assert res.n_eff == pytest.approx(effective_sample_size(56, lag1_autocorr(y),
                                                            lag1_autocorr(x)))  # fmt: skip
    assert res.ci95[0] < res.rho < res.ci95[1]
    shuffled = analyze(runs.sample(frac=1.0, random_state=1), sessions)
    assert shuffled.rho == pytest.approx(res.rho) and shuffled.ci95 == res.ci95
    assert analyze(runs, sessions, seed=1).ci95 == res.ci95  # every shift: nothing is drawn
    assert res.associated and "associated with less" in res.conclusion


def test_runs_without_drop_off_or_exposure_are_left_out(strong) -> None:
    runs, sessions = strong
    runs = runs.copy()
    runs.loc[runs.index[:5], "stride_dropoff_pct"] = np.nan
    runs.loc[runs.index[5], "dropoff_reason"] = "too short"
    early = runs.iloc[[6]].assign(start_time=pd.Timestamp("2025-12-01T07:00Z"),
                                  run_id="early")  # fmt: skip
    res = analyze(pd.concat([runs, early]), sessions)
    assert res.n_runs == 51 and res.n_runs_total == 57
    assert res.n_runs_with_dropoff == 52 and res.n_runs_before_log == 1
    assert "Across 51 runs" in res.conclusion


def test_fewer_than_ten_runs_says_how_many_more_are_needed(strong) -> None:
    runs, sessions = strong
    res = analyze(runs.iloc[:7], sessions)
    assert res.n_runs == 7 < MIN_RUNS
    assert res.rho is None and res.ci95 is None and res.p_value is None
    assert res.partial is None and res.lag_scan == () and res.n_eff is None
    text = res.conclusion
    assert text.startswith("Only 7 runs have a stride drop-off and logged mobility work, not "
                           "enough data yet")  # fmt: skip
    assert "at least 10" in text and "(3 more)" in text and text.count(". ") == 0
    assert f"about {RUNS_FOR_STRONG_EFFECT} runs" in text
    assert f"about {RUNS_FOR_MODERATE_EFFECT} for a moderate one" in text
    json.dumps(res.to_dict(), allow_nan=False)
    assert "Only 7 runs" in res.to_text()
    none = analyze(runs.iloc[:0], sessions)
    assert "Only 0 runs" in none.conclusion and "(10 more)" in none.conclusion
    one = analyze(runs.iloc[:1], sessions)
    assert one.conclusion.startswith("Only 1 run has")


def test_no_sessions_at_all(strong) -> None:
    runs, sessions = strong
    res = analyze(runs, sessions.iloc[:0])
    assert res.n_runs == 0 and res.n_runs_before_log == 56
    assert "Only 0 of the 56 runs with a stride drop-off" in res.conclusion


def test_to_dict_is_json_ready_with_every_key(strong, null) -> None:
    for tables in (strong, null):
        d = analyze(*tables).to_dict()
        assert REQUIRED_KEYS <= set(d)
        assert d["outcome"] == "stride_dropoff_pct" and d["exposure"] == "sessions_per_week"
        assert d["window_days"] == 14 and d["cohort"] is None
        assert len(d["ci95"]) == 2 and d["ci95"][0] < d["ci95"][1]
        assert {"coef", "ci95", "p_value", "controls"} <= set(d["partial"])
        assert all({"window_days", "rho", "p_value", "p_adjusted"} <= set(r)
                   for r in d["lag_scan"])  # fmt: skip
        assert {"sd", "mad"} <= set(d["typical_variation_pct"])
        assert sum(b["n_runs"] for b in d["dose_response"]) == d["n_runs"]
        assert all(b["n_runs"] >= 5 for b in d["dose_response"])
        text = json.dumps(d, allow_nan=False)
        assert "NaN" not in text


def test_null_season_reads_no_detectable_association(null) -> None:
    res = analyze(*null)
    assert not res.associated and res.verdict != "associated"
    assert res.conclusion.startswith("Across 56 runs, ")
    assert "no detectable association" in res.conclusion or "inconclusive" in res.conclusion
    assert "associated with" not in res.conclusion
    assert "95 % interval" in res.conclusion and "permutation p" in res.conclusion


def test_words_never_claim_causation(strong, null) -> None:
    cohort = simulate_cohort(3, weeks=8, effect=1.0, seed=1)
    results = [analyze(*strong), analyze(*null), analyze(strong[0].iloc[:5], strong[1]),
               analyze(cohort.runs, cohort.sessions),
               analyze(*strong, exposure="minutes_per_week_hips", window_days=7),
               analyze(*strong, exposure="ewm_load_min")]  # fmt: skip
    for res in results:
        for text in (res.to_text(), json.dumps(res.to_dict()), res.conclusion):
            assert "caused" not in text.lower() and "causes" not in text.lower()
        text = res.to_text()
        assert "weak and mixed" in text and "alternate blocks" in text
        assert ("associated" in res.conclusion or "no detectable association" in res.conclusion
                or "inconclusive" in res.conclusion
                or "not enough data yet" in res.conclusion)  # fmt: skip


def test_text_states_n_interval_and_controls(strong) -> None:
    text = analyze(*strong).to_text()
    assert "56 runs" in text and "95 % interval" in text
    assert (
        "controlling for moving time, average speed, elevation gain, temperature, acute load"
        in text
    )
    assert "Effective sample size" in text and "circular shifts" in text
    assert "Typical run-to-run variation" in text


def test_other_exposures() -> None:
    season = simulate_season(effect=2.0, seed=3)
    ewm = analyze(season.runs, season.sessions, exposure="ewm_load_min")
    assert ewm.exposure_column == "ewm_load_min" and ewm.window_days is None
    assert ewm.lag_scan == ()
    minutes = analyze(season.runs, season.sessions, exposure="minutes_per_week", window_days=28)
    assert minutes.exposure_column == "minutes_per_week_28d"
    assert len(minutes.dose_response) == 3  # tertiles
    with pytest.raises(ValueError, match="unknown exposure"):
        analyze(season.runs, season.sessions, exposure="yoga")


def test_object_columns_from_summarize_rows_work(strong) -> None:
    """summarize() rows are object Series; a table built from them has object columns."""
    runs, sessions = strong
    as_objects = pd.DataFrame([r for _, r in runs.astype(object).iterrows()])
    res = analyze(as_objects, sessions)
    assert res.rho == pytest.approx(analyze(runs, sessions).rho)


def test_several_athletes_give_a_cohort_and_per_athlete_results() -> None:
    cohort = simulate_cohort(4, weeks=12, effect=1.5, seed=2)
    res = analyze(cohort.runs, cohort.sessions)
    assert isinstance(res, AnalysisResult)
    assert res.cohort is not None and res.cohort.n_athletes == 4
    assert [name for name, _ in res.athletes] == ["sim01", "sim02", "sim03", "sim04"]
    assert all(r.n_runs == 42 and r.athlete == name for name, r in res.athletes)
    assert res.rho is None and res.n_runs == 168
    d = res.to_dict()
    assert set(d["athletes"]) == {"sim01", "sim02", "sim03", "sim04"}
    assert d["cohort"]["within"]["coef"] < 0
    json.dumps(d, allow_nan=False)
    # one athlete of them: no cohort
    one = analyze(cohort.runs[cohort.runs["athlete"] == "sim01"], cohort.sessions)
    assert one.cohort is None and one.athlete == "sim01" and one.rho is not None


def test_analyze_linked_needs_the_exposure_column(strong) -> None:
    linked = link_exposure(*strong, windows_days=(7,))
    with pytest.raises(ValueError, match="sessions_per_week_14d"):
        analyze_linked(linked)
    assert analyze_linked(linked, window_days=7).n_runs == 56
