"""Simulated runs whose truth is known: the step-length model, fatigue, pauses, hills.

A simulated runner's step length follows

    step_length_m = (a + b * speed_mps + c * grade_pct) * fatigue(t) * (1 + noise(t))

with ``a``, ``b``, ``c`` from the literature (step length rises ~28 % from 3.15 to 4.12 m/s,
Cavanagh & Kram 1989; falls ~4 % from 0 to 7 % incline, Padulo et al. 2013), ``fatigue`` a
step down by ``fatigue_pct`` from ``fatigue_onset_fraction`` of the run on, and AR(1) noise.
Cadence is whatever the speed needs: ``cadence_spm = 60 * speed / step_length``. So a run
simulated with ``fatigue_pct=6`` and onset at 2/3 has a true late-window drop-off of 6 %.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["STEP_MODEL", "SimulatedRun", "simulate_run"]

#: (intercept [m], per speed [m per m/s], per grade [m per %]) of the step-length model.
STEP_MODEL: tuple[float, float, float] = (0.073, 0.31, -0.006)


@dataclass(frozen=True)
class SimulatedRun:
    """A simulated run: what a watch would record, plus the truth.

    Attributes
    ----------
    records
        Per-second samples with a UTC index, columns as the encoder and readers expect
        (``distance_m``, ``speed_mps``, ``cadence_spm``, ``step_length_m`` unless disabled,
        ``heart_rate_bpm``, ``altitude_m``/``latitude_deg``/``longitude_deg`` outdoors,
        ``temperature_c``). Samples inside pauses are absent.
    pauses
        (start, end) UTC timestamps of timer pauses.
    truth
        ``stride_dropoff_pct`` (true late-window drop-off at equal speed and grade),
        ``moving_time_s``, ``distance_m``, ``avg_cadence_spm`` and the parameters used.
    """

    records: pd.DataFrame
    pauses: list[tuple[pd.Timestamp, pd.Timestamp]] = field(default_factory=list)
    truth: dict[str, float | str | bool] = field(default_factory=dict)


def _ar1(rng: np.random.Generator, n: int, sd: float, phi: float) -> np.ndarray:
    """Stationary AR(1) noise with marginal standard deviation ``sd``."""
    e = rng.normal(0.0, sd * np.sqrt(1 - phi**2), n)
    out = np.empty(n)
    acc = rng.normal(0.0, sd)
    for i in range(n):  # n is at most a few hours of seconds; lfilter would add scipy here
        acc = phi * acc + e[i]
        out[i] = acc
    return out


def simulate_run(
    *,
    start_time: pd.Timestamp | str = "2026-03-02T07:00:00Z",
    duration_s: float = 3600.0,
    speed_mps: float = 3.0,
    progression: float = 0.0,
    hills_amplitude_m: float = 0.0,
    hills_wavelength_m: float = 1600.0,
    fatigue_pct: float = 0.0,
    fatigue_onset_fraction: float = 2.0 / 3.0,
    pauses: list[tuple[float, float]] | None = None,
    walk_break: tuple[float, float] | None = None,
    treadmill: bool = False,
    with_step_length: bool = True,
    step_noise_pct: float = 1.5,
    speed_noise_mps: float = 0.04,
    speed_wander_mps: float = 0.12,
    temperature_c: float = 12.0,
    step_model: tuple[float, float, float] = STEP_MODEL,
    seed: int = 0,
) -> SimulatedRun:
    """Simulate one 1 Hz run with a known late-run drop-off.

    Parameters
    ----------
    start_time
        Start, UTC.
    duration_s
        Moving duration (pauses come on top). [s]
    speed_mps
        Mean speed at the start. [m/s]
    progression
        Relative speed rise from start to end (0.3 = 30 % faster at the end).
    hills_amplitude_m, hills_wavelength_m
        Sinusoidal hills: half the height difference [m] and their wavelength [m].
    fatigue_pct
        Steps are this much shorter from ``fatigue_onset_fraction`` of the run on. [%]
    fatigue_onset_fraction
        Share of moving time at which fatigue sets in.
    pauses
        (at moving second, length [s]) timer pauses.
    walk_break
        (at moving second, length [s]) a walk at 1.4 m/s and 110 steps/min, timer running.
    treadmill
        No GPS position and no altitude.
    with_step_length
        Record the device's per-record step length (running dynamics).
    step_noise_pct, speed_noise_mps, speed_wander_mps
        Noise: step length (AR(1), %), GPS speed error and slow pace wander. [%], [m/s]
    temperature_c
        Temperature. [degC]
    step_model
        (a, b, c) of the step-length model.
    seed
        Random seed.

    Returns
    -------
    SimulatedRun
    """
    rng = np.random.default_rng(seed)
    n = int(round(duration_s))
    t = np.arange(n, dtype=float)
    frac = t / max(n - 1, 1)
    wander = _ar1(rng, n, speed_wander_mps, 0.995)
    true_speed = speed_mps * (1.0 + progression * frac) + wander
    walking = np.zeros(n, dtype=bool)
    if walk_break is not None:
        at, length = walk_break
        walking = (t >= at) & (t < at + length)
        true_speed = np.where(walking, 1.4, true_speed)
    distance = np.concatenate([[0.0], np.cumsum(true_speed[:-1])])
    if hills_amplitude_m > 0 and not treadmill:
        k = 2 * np.pi / hills_wavelength_m
        altitude = 100.0 + hills_amplitude_m * np.sin(k * distance)
        grade = 100.0 * hills_amplitude_m * k * np.cos(k * distance)
        # runners slow uphill and speed up downhill a little
        true_speed = true_speed * (1.0 - 0.02 * grade)
        distance = np.concatenate([[0.0], np.cumsum(true_speed[:-1])])
        altitude = 100.0 + hills_amplitude_m * np.sin(k * distance)
        grade = 100.0 * hills_amplitude_m * k * np.cos(k * distance)
    else:
        altitude = np.full(n, 100.0)
        grade = np.zeros(n)
    a, b, c = step_model
    fatigue = np.where(frac >= fatigue_onset_fraction, 1.0 - fatigue_pct / 100.0, 1.0)
    noise = _ar1(rng, n, step_noise_pct / 100.0, 0.7)
    step = (a + b * true_speed + c * grade) * fatigue * (1.0 + noise)
    cadence = 60.0 * true_speed / step
    step = np.where(walking, 1.4 / (110 / 60.0), step)
    cadence = np.where(walking, 110.0, cadence)
    measured_speed = np.clip(true_speed + rng.normal(0.0, speed_noise_mps, n), 0.0, None)
    start = pd.Timestamp(start_time)
    start = start.tz_localize("UTC") if start.tzinfo is None else start.tz_convert("UTC")
    # clock time: moving seconds plus the pauses before each one
    offset = np.zeros(n)
    pause_list = []
    for at, length in sorted(pauses or []):
        offset[t >= at] += length
    for at, length in sorted(pauses or []):
        before = float(offset[np.searchsorted(t, at) - 1]) if at > 0 else 0.0
        p0 = start + pd.Timedelta(seconds=at + before)
        pause_list.append((p0, p0 + pd.Timedelta(seconds=length)))
    index = pd.DatetimeIndex(start + pd.to_timedelta(t + offset, unit="s"), name="timestamp")
    cols: dict[str, np.ndarray] = {
        "distance_m": distance,
        "speed_mps": measured_speed,
        "cadence_spm": cadence,
        "heart_rate_bpm": np.round(140 + 20 * frac + 3 * rng.normal(size=n)),
        "temperature_c": np.full(n, temperature_c),
    }
    if with_step_length:
        # watches compute per-record step length from their own speed and cadence, so
        # the speed error is shared by both (as on real devices)
        with np.errstate(divide="ignore", invalid="ignore"):
            cols["step_length_m"] = np.where(cadence > 0, measured_speed / (cadence / 60.0), np.nan)
    if not treadmill:
        cols["altitude_m"] = altitude
        lat0, lon0 = 55.68, 12.57
        heading = np.cumsum(rng.normal(0, 0.02, n))
        dx = np.diff(distance, prepend=0.0)
        cols["latitude_deg"] = lat0 + np.cumsum(dx * np.cos(heading)) / 111_320.0
        cols["longitude_deg"] = lon0 + np.cumsum(dx * np.sin(heading)) / (
            111_320.0 * np.cos(np.radians(lat0))
        )
    records = pd.DataFrame(cols, index=index)
    moving = ~walking
    late = frac >= 0.75
    # with a step change of fatigue at or before the late window, every late step is short
    late_fatigue = (
        float(1.0 - fatigue[late & moving].mean()) * 100.0 if (late & moving).any() else 0.0
    )
    truth: dict[str, float | str | bool] = {
        "stride_dropoff_pct": late_fatigue,
        "moving_time_s": float(moving.sum()),
        "distance_m": float(distance[-1]),
        "avg_cadence_spm": float(cadence.mean()),
        "fatigue_pct": fatigue_pct,
        "progression": progression,
        "treadmill": treadmill,
    }
    return SimulatedRun(records=records, pauses=pause_list, truth=truth)
