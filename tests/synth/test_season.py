"""Simulated seasons: shapes, schema, truth, reproducibility, cohorts and the power table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stridekeeper.analysis.link import link_exposure
from stridekeeper.metrics.summary import SUMMARY_COLUMNS
from stridekeeper.schema import validate_sessions
from stridekeeper.synth.season import (
    Season,
    power,
    simulate_cohort,
    simulate_season,
    true_rho,
    true_rho_season,
)


def test_season_tables_are_shaped_like_the_real_ones() -> None:
    season = simulate_season(weeks=8, runs_per_week=3.5, seed=1)
    assert isinstance(season, Season)
    runs, sessions = season.runs, season.sessions
    assert len(runs) == 28
    assert list(runs.columns) == [*SUMMARY_COLUMNS, "run_id", "athlete"]
    assert str(runs["start_time"].dtype).endswith("UTC]")
    assert runs["start_time"].is_monotonic_increasing
    assert runs["run_id"].is_unique and (runs["athlete"] == "sim").all()
    for col in ("stride_dropoff_pct", "moving_time_s", "avg_speed_mps", "elevation_gain_m",
                "avg_temperature_c"):  # fmt: skip
        assert np.isfinite(runs[col].to_numpy(dtype=float)).all(), col
    assert (runs["moving_time_s"] >= 1500).all() and (runs["avg_speed_mps"] > 2).all()
    validate_sessions(sessions.drop(columns="athlete"))
    assert (sessions["athlete"] == "sim").all()
    # four weeks of mobility logging come before the first run, so every window is full
    log_start = pd.Timestamp("2026-01-05", tz="UTC")
    assert sessions["start_time"].min() >= log_start
    assert runs["start_time"].min() >= log_start + pd.Timedelta(days=28)
    assert season.simulated_runs == ()


def test_same_seed_same_season_other_seed_other_season() -> None:
    a = simulate_season(seed=3)
    b = simulate_season(seed=3)
    c = simulate_season(seed=4)
    pd.testing.assert_frame_equal(a.runs, b.runs)
    pd.testing.assert_frame_equal(a.sessions, b.sessions)
    assert not np.allclose(a.runs["stride_dropoff_pct"], c.runs["stride_dropoff_pct"])


def test_true_exposure_is_what_link_exposure_computes() -> None:
    season = simulate_season(seed=5, mean_sessions_per_week=3.0)
    linked = link_exposure(season.runs, season.sessions)
    np.testing.assert_allclose(linked["sessions_per_week_14d"], season.truth["exposure"])


def test_drop_off_follows_the_model() -> None:
    """Drop-off minus its stated causes leaves AR(1) noise of the stated size."""
    season = simulate_season(weeks=400, effect=1.5, noise_pct=2.0, seed=6)
    r = season.runs
    x = season.truth["exposure"]
    y = r["stride_dropoff_pct"].to_numpy(dtype=float)
    hours = r["moving_time_s"].to_numpy(dtype=float) / 3600.0
    speed = r["avg_speed_mps"].to_numpy(dtype=float)
    noise = y - (3.0 - 1.5 * x + 3.0 * (hours - 55 / 60) + 2.0 * (speed - 3.0))
    assert noise.mean() == pytest.approx(0.0, abs=0.25)
    assert noise.std() == pytest.approx(2.0, rel=0.08)
    assert np.corrcoef(noise[:-1], noise[1:])[0, 1] == pytest.approx(0.3, abs=0.08)
    assert abs(np.corrcoef(noise, x)[0, 1]) < 0.08
    # and a regression on the causes finds the effect
    design = np.column_stack([np.ones(len(y)), x, hours, speed])
    coef = np.linalg.lstsq(design, y, rcond=None)[0]
    assert coef[1] == pytest.approx(-1.5, abs=0.2)
    assert coef[2] > 2.0  # longer runs drop more


def test_exposure_is_autocorrelated_week_to_week() -> None:
    lo = simulate_season(weeks=300, exposure_autocorr=0.0, seed=7)
    hi = simulate_season(weeks=300, exposure_autocorr=0.9, seed=7)

    def weekly_r1(season: Season) -> float:
        s = season.sessions
        weeks = (s["start_time"] - s["start_time"].min()).dt.days // 7
        counts = np.bincount(weeks.to_numpy())
        return float(np.corrcoef(counts[:-1], counts[1:])[0, 1])

    # weekly counts add binomial noise to the AR(1) rate, so their autocorrelation is lower
    assert abs(weekly_r1(lo)) < 0.1
    assert weekly_r1(hi) > 0.3


def test_confounding_ties_mobility_to_longer_runs() -> None:
    plain = simulate_season(weeks=300, confounding=0.0, seed=8)
    tied = simulate_season(weeks=300, confounding=0.9, seed=8)

    def corr(season: Season) -> float:
        return float(np.corrcoef(season.truth["exposure"], season.runs["moving_time_s"])[0, 1])

    assert abs(corr(plain)) < 0.1
    assert corr(tied) > 0.2
    # and so a spurious positive rank correlation with drop-off, with no effect at all
    assert tied.truth["true_rho"] > 0.08 and abs(plain.truth["true_rho"]) < 0.03


def test_truth_rho_sign_and_size() -> None:
    assert abs(true_rho(effect=0.0)) < 0.03
    moderate = true_rho(effect=1.0)
    strong = true_rho(effect=2.0)
    assert -0.5 < moderate < -0.4
    assert -0.75 < strong < -0.65
    # one season sees less of the exposure's slow variation than the long run
    assert moderate < true_rho_season(weeks=16, effect=1.0) < 0
    season = simulate_season(effect=2.0, seed=1)
    assert season.truth["true_rho"] == strong
    assert season.truth["effect_pct_per_session"] == 2.0


def test_as_runs_gives_one_simulated_run_per_row_with_its_drop_off() -> None:
    season = simulate_season(weeks=1, runs_per_week=2, effect=1.0, seed=9, as_runs=True)
    assert len(season.simulated_runs) == len(season.runs) == 2
    for sim, row in zip(season.simulated_runs, season.runs.itertuples(), strict=True):
        assert sim.truth["fatigue_pct"] == pytest.approx(row.stride_dropoff_pct)
        assert sim.records.index[0] == row.start_time
        assert sim.truth["moving_time_s"] == pytest.approx(row.moving_time_s, abs=1)


def test_cohort_has_every_athlete_and_known_slopes() -> None:
    cohort = simulate_cohort(5, weeks=8, effect=1.0, between_effect=0.5, seed=2)
    assert sorted(cohort.runs["athlete"].unique()) == [f"sim0{i}" for i in range(1, 6)]
    assert cohort.runs.groupby("athlete").size().eq(28).all()
    assert set(cohort.sessions["athlete"]) <= set(cohort.runs["athlete"])
    assert cohort.runs["run_id"].is_unique
    validate_sessions(cohort.sessions.drop(columns="athlete"))
    assert cohort.truth["within_slope_pct_per_session"] == -1.0
    assert cohort.truth["between_slope_pct_per_session"] == -1.5
    assert len(cohort.truth["athletes"]) == 5


def test_power_table() -> None:
    table = power(2.0, weeks_list=(4, 16), n_sim=100, seed=1)
    assert list(table["weeks"]) == [4, 16]
    assert list(table["n_runs"]) == [14, 56]
    # 14 runs: the smallest permutation p-value is 1/14 > 0.05, so nothing is ever detected
    assert table["power"].iloc[0] == 0.0
    assert table["power"].iloc[1] > 0.6
    assert (table["true_rho"] < -0.6).all()
    assert {"power_se", "median_rho", "n_sim", "alpha"} <= set(table.columns)


@pytest.mark.parametrize(
    ("kw", "match"),
    [({"weeks": 0}, "weeks"), ({"runs_per_week": 8}, "runs_per_week"),
     ({"confounding": 2}, "confounding")],
)  # fmt: skip
def test_bad_parameters_are_refused(kw: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        simulate_season(**kw)
