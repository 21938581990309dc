"""The drop-off against simulated runs with realistic watch noise and known truth.

A fast subset of ``benchmarks/dropoff_validation.py`` (which runs every scenario 100 times):
each scenario here is simulated with GPS speed error, filter lag, quantised cadence,
barometric drift and a new runner with a curved step-speed relation every run.
"""

from __future__ import annotations

import numpy as np
import pytest

from stridekeeper.metrics import stride_dropoff
from stridekeeper.metrics.dropoff import DEFAULT_PRIOR, _block_noise_var, personal_prior
from stridekeeper.synth.runs import simulate_run
from stridekeeper.synth.scenarios import SCENARIOS, simulate_scenario, with_timer

FAST = ["steady", "progressive", "slowing late", "walk breaks late", "3 % hill finish",
        "foot pod, progressive", "intervals", "smart recording, progressive",
        "noisy GPS, slowing late"]  # fmt: skip


def _errors(name: str, truth_pct: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    err, cover = [], []
    for k in range(n):
        sim = simulate_scenario(name, truth_pct, 90_000 + 101 * k + int(truth_pct))
        d = stride_dropoff(sim.records)
        t = sim.truth["stride_dropoff_pct"]
        if np.isfinite(d.stride_dropoff_pct):
            err.append(d.stride_dropoff_pct - t)
            cover.append(d.ci95_pct[0] <= t <= d.ci95_pct[1])
    return np.array(err), np.array(cover)


@pytest.mark.parametrize("name", FAST)
def test_unbiased_with_honest_intervals_under_watch_noise(name: str) -> None:
    err, cover = _errors(name, 5.0, 16)
    assert len(err) >= 14  # a number for almost every run
    # 16 runs: the mean's own SE is ~0.15 pp, so 0.6 is the 0.5 pp target plus noise
    assert abs(err.mean()) <= 0.6, err.mean()
    assert cover.mean() >= 0.75, cover.mean()


def test_every_scenario_simulates_with_its_truth() -> None:
    for name in SCENARIOS:
        sim = simulate_scenario(name, 5.0, 1)
        assert 3.0 <= sim.truth["stride_dropoff_pct"] <= 5.0 + 1e-9, name
        assert sim.records.index.is_monotonic_increasing


def test_steady_runs_rmse_within_one_point() -> None:
    err, _ = _errors("steady", 0.0, 16)
    assert np.sqrt((err**2).mean()) <= 1.0


def test_the_old_per_second_regression_would_fail_here() -> None:
    """The scenario is hard: the late window is faster, so a naive raw comparison is far off."""
    sim = simulate_scenario("progressive", 0.0, 3)
    d = stride_dropoff(sim.records)
    assert d.stride_dropoff_raw_pct < -3.0  # steps got longer late only because of speed
    assert abs(d.stride_dropoff_pct) < 1.5


def test_walking_is_left_out_and_its_share_reported() -> None:
    sim = simulate_run(duration_s=3600, walk_breaks=[(2800.0, 120.0), (3200.0, 90.0)],
                       fatigue_pct=5.0, fatigue_onset_fraction=0.7, seed=4)  # fmt: skip
    rec = with_timer(sim.records)
    d = stride_dropoff(rec)
    walk_pct = 100.0 * sim.truth["walking_s"] / 3600.0
    # walking plus the settling seconds after each walk (the watch's speed filter lags)
    assert walk_pct <= d.excluded_gait_pct <= walk_pct + 2.0
    assert d.stride_dropoff_pct == pytest.approx(sim.truth["stride_dropoff_pct"], abs=1.0)


def test_brisk_walking_is_not_slow_running() -> None:
    """A walk at 1.8 m/s and 130 steps/min passes the moving mask but not the gait rule."""
    sim = simulate_run(duration_s=3000, speed_mps=1.8, seed=2)
    rec = with_timer(sim.records).assign(cadence_spm=130.0)
    d = stride_dropoff(rec)
    assert np.isnan(d.stride_dropoff_pct) and "too short" in d.reason
    assert d.excluded_gait_pct > 99.0


def test_no_confident_number_far_outside_the_fitted_speed() -> None:
    prof = np.r_[np.ones(2700), np.full(900, 1.45)]  # the whole late window 45 % faster
    sim = simulate_run(duration_s=3600, speed_profile=prof, seed=5)
    d = stride_dropoff(with_timer(sim.records))
    assert np.isnan(d.stride_dropoff_pct)
    assert "outside" in d.reason and "m/s" in d.reason


def test_mild_extrapolation_is_flagged_and_the_interval_widens() -> None:
    base = simulate_run(duration_s=3600, seed=6)
    prof = np.r_[np.ones(2700), np.full(900, 1.15)]
    fast = simulate_run(duration_s=3600, speed_profile=prof, seed=6)
    d0, d1 = stride_dropoff(with_timer(base.records)), stride_dropoff(with_timer(fast.records))
    assert d1.warning is not None and "extrapolation" in d1.warning
    assert np.diff(d1.ci95_pct)[0] > 1.3 * np.diff(d0.ci95_pct)[0]


def test_personal_prior_recovers_the_athletes_elasticity() -> None:
    results = []
    for k in range(24):
        prof = np.linspace(0.9, 1.25, 3600)  # the fresh half spans a useful speed range
        sim = simulate_run(duration_s=3600, speed_profile=prof, step_curve=(1.1, 0.65, 0.0),
                           seed=700 + k)  # fmt: skip
        results.append(stride_dropoff(with_timer(sim.records)))
    prior = personal_prior(results)
    assert prior.elasticity == pytest.approx(0.65, abs=0.08)
    assert prior.elasticity_sd < DEFAULT_PRIOR.elasticity_sd
    assert personal_prior(results[:3]) == DEFAULT_PRIOR  # too few runs: the population prior


def test_a_refusal_shows_the_figure_that_failed() -> None:
    sim = simulate_run(duration_s=1199, seed=9)
    d = stride_dropoff(with_timer(sim.records))
    assert d.reason is not None and "19.98 min of running (needs 20)" in d.reason


def test_block_noise_is_the_same_at_1_hz_and_with_smart_recording() -> None:
    """GPS speed error (AR(1) 0.9 a second, 0.1 m/s, through the watch's 2 s filter): the
    error variance of a 60 s block's mean, estimated from the samples, against the truth;
    samples 1-7 s apart average the error as 1 Hz does (it is correlated for longer), and
    taking one sample's step as one second made it 100 times too large."""
    from scipy.signal import lfilter

    rng = np.random.default_rng(0)
    n = 100_000
    gps = lfilter([1.0], [1.0, -0.9], rng.normal(0.0, 0.1 * np.sqrt(1 - 0.81), n))
    z = lfilter([1 / 3], [1.0, 1 / 3 - 1.0], gps) / 3.0  # log-speed error at 3 m/s
    key, t = np.arange(n) // 60, np.arange(n, dtype=float)
    truth = z[: n // 60 * 60].reshape(-1, 60).mean(axis=1).var()
    at_1hz = _block_noise_var(z, np.ones(n, dtype=bool), key, t) / 60
    keep = np.cumsum(rng.integers(1, 8, size=n))
    keep = np.r_[0, keep[keep < n]]
    smart = _block_noise_var(z[keep], np.ones(len(keep), dtype=bool), key[keep], t[keep]) / 60
    assert at_1hz == pytest.approx(truth, rel=0.3)
    assert smart == pytest.approx(at_1hz, rel=0.1)


@pytest.mark.parametrize("seed", range(6))
def test_a_gps_speed_spike_does_not_hide_the_noise(seed: int) -> None:
    """A reference window's half hour of 1 Hz log-speed error (as above) with one or two
    GPS spikes of 1-2 m/s (under the acceleration limit, so they stay in): the block noise
    comes out as it does without them. Averaging the squared differences, the spikes'
    four large ones (at lags 1 and 2 alike) read as white noise and the estimate fell to
    ~3 % of the truth, in half of the simulated runs."""
    from scipy.signal import lfilter

    rng = np.random.default_rng(seed)
    n = 1800
    gps = lfilter([1.0], [1.0, -0.9], rng.normal(0.0, 0.1 * np.sqrt(1 - 0.81), n))
    speed = 3.0 + lfilter([1 / 3], [1.0, 1 / 3 - 1.0], gps)
    key, t, use = np.arange(n) // 60, np.arange(n, dtype=float), np.ones(n, dtype=bool)
    clean = _block_noise_var(np.log(speed), use, key, t)
    spiky = speed.copy()
    at = rng.integers(60, n - 60, int(rng.integers(1, 3)))
    spiky[at] += rng.uniform(1.0, 2.0, len(at)) * rng.choice([-1.0, 1.0], len(at))
    assert _block_noise_var(np.log(spiky), use, key, t) == pytest.approx(clean, rel=0.15)
