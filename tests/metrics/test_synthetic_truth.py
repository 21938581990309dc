"""Metrics against simulated runs whose truth is known, read back from real FIT bytes.

The runs are simulated (``stridekeeper.synth.runs``), written by the project's own FIT
encoder and decoded by the FIT reader, so the whole path is under test.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from stridekeeper.io import read_runs
from stridekeeper.metrics import stride_dropoff, summarize
from stridekeeper.metrics.averages import avg_step_length_m
from stridekeeper.synth.runs import WatchNoise, simulate_run


def _summary(synthetic_fit_files: dict[str, Path], name: str):
    (run,) = read_runs(synthetic_fit_files[name])
    return run, summarize(run)


def test_six_percent_late_shortening_is_found(synthetic_fit_files, simulated) -> None:
    _, s = _summary(synthetic_fit_files, "fatigued")
    truth = simulated["fatigued"].truth["stride_dropoff_pct"]
    assert truth == pytest.approx(6.0)
    assert s["stride_dropoff_pct"] == pytest.approx(6.0, abs=1.0)
    assert s["stride_dropoff_ci95_low_pct"] <= truth <= s["stride_dropoff_ci95_high_pct"]
    assert s["dropoff_reason"] is None


def test_progression_run_is_not_fatigue(synthetic_fit_files) -> None:
    _, s = _summary(synthetic_fit_files, "progression")
    assert abs(s["stride_dropoff_pct"]) <= 1.0
    assert s["stride_dropoff_raw_pct"] < -5.0  # raw steps got clearly longer late


def test_fresh_run_reads_no_drop_off(synthetic_fit_files) -> None:
    _, s = _summary(synthetic_fit_files, "fresh")
    assert abs(s["stride_dropoff_pct"]) <= 1.0
    # one run's interval misses the truth 5 % of the time: coverage is tested over many runs
    assert s["stride_dropoff_ci95_high_pct"] - s["stride_dropoff_ci95_low_pct"] > 0.2


def test_timer_pauses_do_not_change_the_averages(synthetic_fit_files) -> None:
    run_p, p = _summary(synthetic_fit_files, "paused")
    run_u, u = _summary(synthetic_fit_files, "unpaused")
    assert (~run_p.records["timer_running"]).sum() == 0  # no samples are written in a pause
    assert run_p.records["elapsed_s"].iloc[-1] == pytest.approx(
        run_u.records["elapsed_s"].iloc[-1] + 420.0
    )
    assert p["timer_time_s"] == pytest.approx(u["timer_time_s"])
    for key in ("avg_cadence_spm", "running_cadence_spm", "avg_step_length_m", "distance_m",
                "moving_time_s"):  # fmt: skip
        assert p[key] == pytest.approx(u[key], rel=1e-9), key
    # the drop-off leaves out the first seconds after a resume (the watch's speed lags)
    for key in ("stride_dropoff_pct", "stride_dropoff_raw_pct"):
        assert p[key] == pytest.approx(u[key], abs=0.15), key
    assert p["elapsed_time_s"] > u["elapsed_time_s"] + 400


def test_treadmill_run_without_gps(synthetic_fit_files, simulated) -> None:
    run, s = _summary(synthetic_fit_files, "treadmill")
    assert run.meta["sub_sport"] == "treadmill"
    assert "latitude_deg" not in run.records and "grade_pct" not in run.records
    # the watch integrates its own noisy speed: the truth within GPS-noise distance error
    assert s["distance_m"] == pytest.approx(simulated["treadmill"].truth["distance_m"], rel=5e-3)
    assert s["distance_m"] == pytest.approx(simulated["treadmill"].records["distance_m"].iloc[-1],
                                            abs=0.05)  # fmt: skip
    assert s["stride_dropoff_pct"] == pytest.approx(4.0, abs=1.0)


def test_run_without_step_length_derives_it(synthetic_fit_files, simulated) -> None:
    run, s = _summary(synthetic_fit_files, "no_step_length")
    assert "step_length_m" not in run.records
    assert s["step_length_source"] == "derived"
    truth = simulated["no_step_length"].truth
    steps = truth["avg_cadence_spm"] * truth["moving_time_s"] / 60.0
    assert s["avg_step_length_m"] == pytest.approx(truth["distance_m"] / steps, rel=0.01)
    assert s["avg_stride_length_m"] == pytest.approx(2 * s["avg_step_length_m"])
    assert s["stride_dropoff_pct"] == pytest.approx(6.0, abs=1.0)


def test_hills_are_normalised_by_grade(synthetic_fit_files) -> None:
    _, s = _summary(synthetic_fit_files, "hilly")
    assert s["dropoff_model"] == "speed+grade"
    assert s["stride_dropoff_pct"] == pytest.approx(5.0, abs=1.0)


def test_short_run_gets_nan_and_a_reason(synthetic_fit_files) -> None:
    _, s = _summary(synthetic_fit_files, "short")
    assert math.isnan(s["stride_dropoff_pct"])
    assert "too short" in s["dropoff_reason"]


@pytest.mark.parametrize("name", ["fatigued", "paused", "treadmill", "no_step_length"])
def test_device_comparable_averages_match_the_written_summary(synthetic_fit_files, name) -> None:
    run, s = _summary(synthetic_fit_files, name)
    dev = run.meta["device_summary"]
    assert s["avg_cadence_spm"] == pytest.approx(dev["avg_cadence_spm"], abs=0.1)
    assert s["distance_m"] == pytest.approx(dev["distance_m"], abs=0.01)
    if dev["avg_step_length_m"] is not None:
        assert s["avg_step_length_m"] == pytest.approx(dev["avg_step_length_m"], rel=0.001)


def test_interval_coverage_over_many_simulated_runs() -> None:
    """The 95 % interval covers the true drop-off in most of 20 simulated runs."""
    covered, errors = 0, []
    for seed in range(20):
        sim = simulate_run(duration_s=3000, fatigue_pct=6.0, seed=500 + seed)
        rec = sim.records.assign(
            elapsed_s=np.arange(len(sim.records), dtype=float),
            timer_s=np.arange(len(sim.records), dtype=float),
            timer_running=True,
        )
        d = stride_dropoff(rec)
        errors.append(d.stride_dropoff_pct - 6.0)
        covered += d.ci95_pct[0] <= 6.0 <= d.ci95_pct[1]
    assert covered >= 16
    assert abs(np.mean(errors)) < 0.25


def test_step_length_from_cadence_survives_cadence_dropouts() -> None:
    """Without a per-record step length, a cadence dropout's distance has no steps beside it:
    counting it made the average step 1-12 % long at three 20-120 s dropouts an hour."""
    errors = []
    for seed in range(10):
        sim = simulate_run(duration_s=3600, with_step_length=False, walk_breaks=[(1800, 60)],
                           noise=WatchNoise(cadence_dropouts_per_hour=3.0), seed=seed)  # fmt: skip
        n = len(sim.records)
        rec = sim.records.assign(elapsed_s=np.arange(n, dtype=float),
                                 timer_s=np.arange(n, dtype=float), timer_running=True)  # fmt: skip
        assert rec["cadence_spm"].isna().any() or seed == 0
        errors.append(avg_step_length_m(rec) / sim.truth["avg_step_length_m"] - 1.0)
    assert np.abs(errors).max() < 0.01
    assert abs(np.mean(errors)) < 0.003


def test_metrics_do_not_mutate_their_input(synthetic_fit_files) -> None:
    (run,) = read_runs(synthetic_fit_files["hilly"])
    before = run.records.copy()
    summarize(run)
    assert run.records.equals(before)
