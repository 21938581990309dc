"""Run scenarios with known truth for validating the drop-off under realistic watch noise.

Each scenario is a recipe for :func:`~stridekeeper.synth.runs.simulate_run`: a pace profile,
terrain, breaks and a step-length source, with an individual runner drawn at random for
every run (base speed, duration, and a curved step-speed relation), recorded with
:class:`~stridekeeper.synth.runs.WatchNoise`. ``benchmarks/dropoff_validation.py`` runs many
of each and prints bias, RMSE and interval coverage; the tests run a fast subset.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from .runs import SimulatedRun, WatchNoise, simulate_run

__all__ = ["SCENARIOS", "simulate_scenario", "with_timer"]

Recipe = Callable[[np.random.Generator, int], dict[str, Any]]


def _ramp(n: int, start: int, end: int, lo: float, hi: float) -> np.ndarray:
    x = np.clip((np.arange(n) - start) / max(end - start, 1), 0.0, 1.0)
    return lo + (hi - lo) * x


def _steady(rng: np.random.Generator, n: int) -> dict[str, Any]:
    return {}


def _warmup(rng: np.random.Generator, n: int) -> dict[str, Any]:
    return {"speed_profile": _ramp(n, 0, int(rng.uniform(480, 720)), 0.8, 1.0)}


def _progressive(rng: np.random.Generator, n: int) -> dict[str, Any]:
    prof = _ramp(n, 0, n, 1.0, 1.0 + rng.uniform(0.12, 0.22))
    kick = int(rng.uniform(180, 300))
    prof[-kick:] *= 1.0 + rng.uniform(0.06, 0.12)
    return {"speed_profile": prof}


def _fade(rng: np.random.Generator, n: int) -> dict[str, Any]:
    return {"speed_profile": _ramp(n, int(0.55 * n), n, 1.0, 1.0 - rng.uniform(0.10, 0.18))}


def _intervals(rng: np.random.Generator, n: int) -> dict[str, Any]:
    prof = np.full(n, 0.9)
    t = np.arange(n)
    on_s, off_s = int(rng.uniform(150, 240)), int(rng.uniform(90, 150))
    after = t >= 720
    phase = (t - 720) % (on_s + off_s)
    prof[after & (phase < on_s)] = 1.0 + rng.uniform(0.15, 0.25)
    prof[after & (phase >= on_s)] = 0.85
    return {"speed_profile": prof}


def _hills_climb(rng: np.random.Generator, n: int) -> dict[str, Any]:
    grade = np.zeros(n)
    grade[-int(0.08 * n) :] = rng.uniform(3.0, 5.0)
    return {"hills_amplitude_m": rng.uniform(5.0, 10.0), "hills_wavelength_m": 1400.0,
            "grade_profile": grade}  # fmt: skip


def _hill_finish(pct: float) -> Recipe:
    def recipe(rng: np.random.Generator, n: int) -> dict[str, Any]:
        grade = np.zeros(n)
        grade[-int(0.15 * n) :] = pct
        return {"grade_profile": grade}

    return recipe


def _traffic_lights(rng: np.random.Generator, n: int) -> dict[str, Any]:
    at = np.sort(rng.uniform(300, n - 120, int(rng.integers(6, 11))))
    return {"stops": [(float(a), float(rng.uniform(15, 60))) for a in at]}


def _walks_throughout(rng: np.random.Generator, n: int) -> dict[str, Any]:
    every = rng.uniform(420, 600)
    at = np.arange(600.0, n - 120, every)
    return {"walk_breaks": [(float(a), float(rng.uniform(45, 90))) for a in at]}


def _walks_late(rng: np.random.Generator, n: int) -> dict[str, Any]:
    at = np.sort(rng.uniform(0.70 * n, n - 150, 3))
    return {"walk_breaks": [(float(a), float(rng.uniform(60, 120))) for a in at]}


def _foot_pod(rng: np.random.Generator, n: int) -> dict[str, Any]:
    out = _progressive(rng, n)
    out["step_source"] = "sensor"
    return out


def _smart_recording(rng: np.random.Generator, n: int) -> dict[str, Any]:
    out = _progressive(rng, n)
    out["_thin_s"] = (1, 7)  # a sample every 1-7 s, as watches with smart recording write
    return out


def _noisy_gps_fade(rng: np.random.Generator, n: int) -> dict[str, Any]:
    out = _fade(rng, n)
    out["noise"] = WatchNoise(gps_speed_sd_mps=0.25)  # tall buildings, tree cover
    return out


def _thin(records: pd.DataFrame, rng: np.random.Generator, gaps: tuple[int, int]) -> pd.DataFrame:
    """Every sample a watch with smart recording would keep: gaps of ``gaps`` seconds."""
    keep = np.cumsum(rng.integers(gaps[0], gaps[1] + 1, size=len(records)))
    keep = np.r_[0, keep[keep < len(records)]]
    return records.iloc[keep]


#: name -> (recipe, fatigue shape): ``"step"`` sets in before the late window, ``"ramp"``
#: grows from mid-run (a gradual onset).
SCENARIOS: dict[str, tuple[Recipe, str]] = {
    "steady": (_steady, "step"),
    "warm-up": (_warmup, "step"),
    "progressive": (_progressive, "step"),
    "slowing late": (_fade, "step"),
    "intervals": (_intervals, "step"),
    "rolling hills, climb at end": (_hills_climb, "step"),
    "3 % hill finish": (_hill_finish(3.0), "step"),
    "6 % hill finish": (_hill_finish(6.0), "step"),
    "traffic lights": (_traffic_lights, "step"),
    "walk breaks throughout": (_walks_throughout, "step"),
    "walk breaks late": (_walks_late, "step"),
    "gradual onset": (_steady, "ramp"),
    "foot pod, progressive": (_foot_pod, "step"),
    "smart recording, progressive": (_smart_recording, "step"),
    "noisy GPS, slowing late": (_noisy_gps_fade, "step"),
}


def with_timer(records: pd.DataFrame) -> pd.DataFrame:
    """``records`` with ``elapsed_s``, ``timer_s`` and ``timer_running`` as a reader adds them
    (1 Hz, timer running throughout)."""
    t = (records.index - records.index[0]).total_seconds().to_numpy(dtype=float)
    return records.assign(elapsed_s=t, timer_s=t, timer_running=True)


def simulate_scenario(name: str, dropoff_pct: float, seed: int) -> SimulatedRun:
    """One run of scenario ``name`` with true normalised drop-off ``dropoff_pct``.

    Parameters
    ----------
    name
        A key of :data:`SCENARIOS`.
    dropoff_pct
        True drop-off: steps this much shorter at equal speed and grade. [%]
    seed
        Random seed (the runner and the run).

    Returns
    -------
    SimulatedRun
        Records with timer columns; ``truth["stride_dropoff_pct"]`` is the exact truth.
    """
    recipe, shape = SCENARIOS[name]
    rng = np.random.default_rng([seed, 1301])
    n = int(rng.uniform(50, 80) * 60)
    kw = recipe(rng, n)
    curve = (rng.uniform(1.0, 1.2), rng.uniform(0.6, 1.0), rng.uniform(-0.8, 0.3))
    if shape == "ramp":
        fat = {"fatigue_onset_fraction": 0.5, "fatigue_ramp_s": 0.35 * n,
               "fatigue_pct": dropoff_pct}  # fmt: skip
    else:
        fat = {"fatigue_onset_fraction": 0.70, "fatigue_pct": dropoff_pct}
    thin = kw.pop("_thin_s", None)
    sim = simulate_run(duration_s=n, speed_mps=rng.uniform(2.6, 3.7), step_curve=curve,
                       seed=seed, **fat, **kw)  # fmt: skip
    records = sim.records if thin is None else _thin(sim.records, rng, thin)
    return SimulatedRun(records=with_timer(records), pauses=sim.pauses, truth=sim.truth)
