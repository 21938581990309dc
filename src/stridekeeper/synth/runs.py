"""Simulated runs whose truth is known: the step-length model, fatigue, pauses, hills, and
the measurement noise real watches add.

A simulated runner's true step length follows

    step_length_m = g(speed_mps) * (1 + c * grade_pct) * fatigue(t) * (1 + noise(t))

with ``g`` the literature's linear model by default (step length rises ~28 % from 3.15 to
4.12 m/s, Cavanagh & Kram 1989; falls ~4 % from 0 to 7 % incline, Padulo et al. 2013) or an
individual curve in log-log form (``step_curve``), ``fatigue`` a step (or a ramp, with
``fatigue_ramp_s``) down by ``fatigue_pct`` from ``fatigue_onset_fraction`` of the run on, and
AR(1) noise. Cadence is whatever the speed needs: ``cadence_spm = 60 * speed / step_length``.

What the watch then records is not the truth: :class:`WatchNoise` (the default) adds GPS speed
error (AR(1), SD ~0.1 m/s, rho ~0.9 at 1 Hz, rare spikes), the watch's speed filter lag,
cadence quantised to whole strides per minute, barometric altitude with drift and 0.2 m
steps, and, for an independent step sensor (``step_source="sensor"``, a foot pod), its own
step-length error. ``noise=None`` gives the old noise-free recording.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.signal import lfilter

__all__ = ["STEP_MODEL", "SimulatedRun", "WatchNoise", "simulate_run"]

#: (intercept [m], per speed [m per m/s], per grade [m per %]) of the step-length model.
STEP_MODEL: tuple[float, float, float] = (0.073, 0.31, -0.006)


@dataclass(frozen=True)
class WatchNoise:
    """How a watch's recording departs from the truth (defaults: a typical wrist GPS watch).

    Attributes
    ----------
    gps_speed_sd_mps, gps_speed_rho
        GPS speed error: AR(1) with this marginal SD [m/s] and lag-1 correlation at 1 Hz.
    spikes_per_hour, spike_mps
        Rare GPS speed spikes: how many per hour and their size. [1/h], [m/s]
    speed_lag_s
        Time constant of the watch's speed filter (exponential smoothing). [s]
    cadence_quantum_spm
        Cadence recorded in steps of this size (whole strides/min = 2 steps/min). [steps/min]
    altitude_drift_m
        SD of the barometric altimeter's drift over an hour (random walk). [m]
    altitude_quantum_m
        Altitude recorded in steps of this size. [m]
    sensor_step_sd_pct, sensor_step_rho, sensor_step_bias_pct
        An independent step sensor's error: AR(1) SD and lag-1 correlation, and a calibration
        offset. [%], [-], [%]
    cadence_dropouts_per_hour, cadence_dropout_s
        Spans where the watch records no cadence (and so no step length) while the run goes
        on: how many per hour and the (shortest, longest) span. [1/h], [s] Drawn from a
        stream of their own, so runs without dropouts are the same with any setting.
    """

    gps_speed_sd_mps: float = 0.10
    gps_speed_rho: float = 0.9
    spikes_per_hour: float = 2.0
    spike_mps: float = 1.5
    speed_lag_s: float = 2.0
    cadence_quantum_spm: float = 2.0
    altitude_drift_m: float = 4.0
    altitude_quantum_m: float = 0.2
    sensor_step_sd_pct: float = 2.0
    sensor_step_rho: float = 0.8
    sensor_step_bias_pct: float = 0.0
    cadence_dropouts_per_hour: float = 0.0
    cadence_dropout_s: tuple[float, float] = (20.0, 120.0)


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
        ``stride_dropoff_pct`` (true late-window drop-off at equal speed and grade: the
        mean fatigue over the last 25 % of running time, walking and standing left out),
        ``moving_time_s``, ``distance_m``, ``avg_cadence_spm`` and the parameters used.
    """

    records: pd.DataFrame
    pauses: list[tuple[pd.Timestamp, pd.Timestamp]] = field(default_factory=list)
    truth: dict[str, float | str | bool] = field(default_factory=dict)


def _ar1(rng: np.random.Generator, n: int, sd: float, phi: float) -> np.ndarray:
    """Stationary AR(1) noise with marginal standard deviation ``sd``."""
    e = rng.normal(0.0, sd * np.sqrt(1 - phi**2), n)
    acc = rng.normal(0.0, sd)
    return lfilter([1.0], [1.0, -phi], e, zi=[phi * acc])[0]


def _quantise(x: np.ndarray, step: float) -> np.ndarray:
    return np.round(x / step) * step if step > 0 else x


def _true_step_m(
    speed: np.ndarray,
    grade: np.ndarray,
    step_model: tuple[float, float, float],
    step_curve: tuple[float, float, float] | None,
) -> np.ndarray:
    """The runner's fresh step length at this speed and grade. [m]"""
    a, b, c = step_model
    if step_curve is None:
        return a + b * speed + c * grade
    s0, elasticity, curvature = step_curve
    u = np.log(np.maximum(speed, 0.5) / 3.3)
    rel_grade = c / (a + b * 3.3)  # the linear model's grade effect, relative
    return s0 * np.exp(elasticity * u + curvature * u**2) * (1.0 + rel_grade * grade)


def simulate_run(
    *,
    start_time: pd.Timestamp | str = "2026-03-02T07:00:00Z",
    duration_s: float = 3600.0,
    speed_mps: float = 3.0,
    progression: float = 0.0,
    speed_profile: np.ndarray | None = None,
    hills_amplitude_m: float = 0.0,
    hills_wavelength_m: float = 1600.0,
    grade_profile: np.ndarray | None = None,
    fatigue_pct: float = 0.0,
    fatigue_onset_fraction: float = 2.0 / 3.0,
    fatigue_ramp_s: float = 0.0,
    pauses: list[tuple[float, float]] | None = None,
    walk_break: tuple[float, float] | None = None,
    walk_breaks: list[tuple[float, float]] | None = None,
    stops: list[tuple[float, float]] | None = None,
    treadmill: bool = False,
    with_step_length: bool = True,
    step_source: str | None = None,
    step_noise_pct: float = 1.5,
    speed_noise_mps: float = 0.04,
    speed_wander_mps: float = 0.12,
    temperature_c: float = 12.0,
    step_model: tuple[float, float, float] = STEP_MODEL,
    step_curve: tuple[float, float, float] | None = None,
    noise: WatchNoise | None = WatchNoise(),
    seed: int = 0,
) -> SimulatedRun:
    """Simulate one 1 Hz run with a known late-run drop-off.

    Parameters
    ----------
    start_time
        Start, UTC.
    duration_s
        Timer-running duration (pauses come on top; walking and stops are inside). [s]
    speed_mps
        Mean speed at the start. [m/s]
    progression
        Relative speed rise from start to end (0.3 = 30 % faster at the end).
    speed_profile
        Relative speed per second (length ``duration_s``), multiplying ``speed_mps``;
        replaces ``progression`` (warm-ups, intervals, kicks, fades).
    hills_amplitude_m, hills_wavelength_m
        Sinusoidal hills: half the height difference [m] and their wavelength [m].
    grade_profile
        Grade per second (length ``duration_s``), added to the hills. [%]
    fatigue_pct
        Steps are this much shorter from ``fatigue_onset_fraction`` of the run on. [%]
    fatigue_onset_fraction
        Share of the run at which fatigue sets in.
    fatigue_ramp_s
        Fatigue grows linearly over this long after its onset (0: a step). [s]
    pauses
        (at second, length [s]) timer pauses.
    walk_break, walk_breaks
        (at second, length [s]) walks at 1.3-1.8 m/s and 110-130 steps/min, timer running.
    stops
        (at second, length [s]) standing still with the timer running (traffic lights).
    treadmill
        No GPS position and no altitude.
    with_step_length
        Record a per-record step length (``False`` is ``step_source="none"``).
    step_source
        ``"watch"`` (the watch's own speed / cadence, sharing the GPS error), ``"sensor"``
        (an independent foot pod with its own error) or ``"none"``.
    step_noise_pct, speed_noise_mps, speed_wander_mps
        True step-length variation (AR(1), %), white speed error on top of ``noise`` and
        slow pace wander (AR(1), rho 0.995: minutes). [%], [m/s], [m/s]
    temperature_c
        Temperature. [degC]
    step_model
        (a, b, c) of the linear step-length model; ``c`` also sets the grade effect of a
        ``step_curve``.
    step_curve
        (step length at 3.3 m/s [m], elasticity at 3.3 m/s, curvature): an individual
        curve ``log(step) = log(s0) + e*u + k*u**2`` with ``u = log(speed / 3.3)``.
    noise
        The watch's measurement noise; ``None`` records the truth (plus the white error).
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
    if speed_profile is not None:
        profile = np.asarray(speed_profile, dtype=float)[:n]
        true_speed = speed_mps * profile + wander
    else:
        true_speed = speed_mps * (1.0 + progression * frac) + wander
    walking = np.zeros(n, dtype=bool)
    walk_list = list(walk_breaks or []) + ([walk_break] if walk_break is not None else [])
    walk_speed = np.zeros(n)
    walk_cad = np.zeros(n)
    for at, length in walk_list:
        inside = (t >= at) & (t < at + length)
        walking |= inside
        walk_speed[inside] = rng.uniform(1.3, 1.8)
        walk_cad[inside] = rng.uniform(110.0, 130.0)
    standing = np.zeros(n, dtype=bool)
    for at, length in stops or []:
        standing |= (t >= at) & (t < at + length)
    true_speed = np.where(walking, walk_speed, true_speed)
    grade = np.zeros(n)
    altitude = np.full(n, 100.0)
    if not treadmill:
        distance = np.cumsum(np.maximum(true_speed, 0.0))
        if hills_amplitude_m > 0:
            k = 2 * np.pi / hills_wavelength_m
            grade = 100.0 * hills_amplitude_m * k * np.cos(k * distance)
        if grade_profile is not None:
            grade = grade + np.asarray(grade_profile, dtype=float)[:n]
        if hills_amplitude_m > 0 or grade_profile is not None:
            # runners slow uphill and speed up downhill a little
            true_speed = np.where(walking, true_speed, true_speed * (1.0 - 0.02 * grade))
    true_speed = np.where(standing, 0.0, np.maximum(true_speed, 0.3))
    distance = np.concatenate([[0.0], np.cumsum(true_speed[:-1])])
    if not treadmill:
        altitude = 100.0 + np.concatenate([[0.0], np.cumsum((grade / 100.0 * true_speed)[:-1])])
    running = ~walking & ~standing
    onset = fatigue_onset_fraction * (n - 1)
    if fatigue_ramp_s > 0:
        level = np.clip((t - onset) / fatigue_ramp_s, 0.0, 1.0)
    else:
        level = (t >= onset).astype(float)
    fatigue = 1.0 - level * fatigue_pct / 100.0
    step_var = _ar1(rng, n, step_noise_pct / 100.0, 0.7)
    step = _true_step_m(true_speed, grade, step_model, step_curve) * fatigue * (1.0 + step_var)
    with np.errstate(divide="ignore", invalid="ignore"):
        cadence = np.where(running, 60.0 * true_speed / step, 0.0)
    step = np.where(walking, walk_speed / np.maximum(walk_cad, 1.0) * 60.0, step)
    cadence = np.where(walking, walk_cad, cadence)
    step = np.where(standing, np.nan, step)
    measured_speed = true_speed + rng.normal(0.0, speed_noise_mps, n)
    source = step_source or ("watch" if with_step_length else "none")
    if noise is not None:
        gps = _ar1(rng, n, noise.gps_speed_sd_mps, noise.gps_speed_rho)
        if treadmill:  # a treadmill's speed comes from the wrist or a pod, still noisy
            gps = gps * 0.5
        measured_speed = true_speed + gps
        if noise.speed_lag_s > 0:
            alpha = 1.0 / (1.0 + noise.speed_lag_s)
            measured_speed = lfilter([alpha], [1.0, alpha - 1.0], measured_speed,
                                     zi=[(1.0 - alpha) * measured_speed[0]])[0]  # fmt: skip
        n_spikes = rng.poisson(noise.spikes_per_hour * n / 3600.0)
        at = rng.integers(0, n, n_spikes)
        measured_speed[at] += noise.spike_mps * rng.choice([-1.0, 1.0], n_spikes)
        cadence = _quantise(cadence, noise.cadence_quantum_spm)
        if not treadmill:
            drift = np.cumsum(rng.normal(0.0, noise.altitude_drift_m / 60.0, n))
            altitude = _quantise(altitude + drift, noise.altitude_quantum_m)
    measured_speed = np.clip(measured_speed, 0.0, None)
    start = pd.Timestamp(start_time)
    start = start.tz_localize("UTC") if start.tzinfo is None else start.tz_convert("UTC")
    # clock time: timer seconds plus the pauses before each one
    offset = np.zeros(n)
    pause_list = []
    for at, length in sorted(pauses or []):
        offset[t >= at] += length
    for at, length in sorted(pauses or []):
        before = float(offset[np.searchsorted(t, at) - 1]) if at > 0 else 0.0
        p0 = start + pd.Timedelta(seconds=at + before)
        pause_list.append((p0, p0 + pd.Timedelta(seconds=length)))
    index = pd.DatetimeIndex(start + pd.to_timedelta(t + offset, unit="s"), name="timestamp")
    # the watch integrates its own speed into distance
    rec_distance = distance if noise is None else np.concatenate(
        [[0.0], np.cumsum(measured_speed[:-1])])  # fmt: skip
    cols: dict[str, np.ndarray] = {
        "distance_m": rec_distance,
        "speed_mps": measured_speed,
        "cadence_spm": cadence,
        "heart_rate_bpm": np.round(140 + 20 * frac + 3 * rng.normal(size=n)),
        "temperature_c": np.full(n, temperature_c),
    }
    with np.errstate(divide="ignore", invalid="ignore"):
        if source == "watch":
            # watches compute per-record step length from their own speed and cadence, so
            # the speed error is shared by both (as on real devices)
            cols["step_length_m"] = np.where(cadence > 0, measured_speed / (cadence / 60.0),
                                             np.nan)  # fmt: skip
        elif source == "sensor":
            sd = noise.sensor_step_sd_pct if noise is not None else 0.0
            rho = noise.sensor_step_rho if noise is not None else 0.0
            bias = noise.sensor_step_bias_pct if noise is not None else 0.0
            err = 1.0 + bias / 100.0 + _ar1(rng, n, sd / 100.0, rho)
            cols["step_length_m"] = np.where(cadence > 0, step * err, np.nan)
    if noise is not None and noise.cadence_dropouts_per_hour > 0:
        gaps = np.random.default_rng([seed, 7])
        for _ in range(gaps.poisson(noise.cadence_dropouts_per_hour * n / 3600.0)):
            at, span = gaps.integers(0, n), gaps.uniform(*noise.cadence_dropout_s)
            lost = (t >= at) & (t < at + span)
            cols["cadence_spm"] = np.where(lost, np.nan, cols["cadence_spm"])
            if "step_length_m" in cols:
                cols["step_length_m"] = np.where(lost, np.nan, cols["step_length_m"])
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
    run_idx = np.flatnonzero(running)
    late = run_idx[int(np.floor(0.75 * len(run_idx))) :]
    late_fatigue = float(1.0 - fatigue[late].mean()) * 100.0 if len(late) else 0.0
    truth: dict[str, float | str | bool] = {
        "stride_dropoff_pct": late_fatigue,
        "moving_time_s": float(running.sum()),
        "walking_s": float(walking.sum()),
        "standing_s": float(standing.sum()),
        "distance_m": float(distance[-1]),
        "avg_cadence_spm": float(cadence.mean()),
        # the true distance over the true steps (walking included, standing adds neither)
        "avg_step_length_m": float(distance[-1] / (cadence / 60.0).sum()),
        "fatigue_pct": fatigue_pct,
        "progression": progression,
        "treadmill": treadmill,
        "step_source": source,
    }
    return SimulatedRun(records=records, pauses=pause_list, truth=truth)
