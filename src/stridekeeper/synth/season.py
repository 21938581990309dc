"""Simulated athletes with a known truth: a season of runs and mobility sessions.

The model, for one athlete (all of it vectorised across athletes):

* **Weeks.** A latent training load ``L_w`` and an independent factor ``u_w`` are AR(1) over
  weeks with coefficient ``exposure_autocorr`` and unit variance. The athlete's mobility
  rate is ``rate_w = clip(mean_sessions_per_week + rate_sd * z_w, 0, 7)`` sessions/week with
  ``z_w = confounding * L_w + sqrt(1 - confounding^2) * u_w``, so it is autocorrelated week
  to week and, with ``confounding != 0``, tied to the training load.
* **Sessions.** Each day holds one session with probability ``rate_w / 7``, in the evening
  (18:00-21:00 UTC), 10-30 minutes long. Four weeks of sessions precede the first run so
  every look-back window is full.
* **Runs.** ``round(weeks * runs_per_week)`` runs on distinct days, in the morning
  (06:00-08:00 UTC). Moving time rises with the week's load
  (``3300 s * exp(0.25 L_w + 0.25 e)``); speed, climbing and temperature vary on their own.
* **Drop-off** (``stride_dropoff_pct``, % points):
  ``base - effect * x + 3.0 * (moving_time_h - 55/60) + 2.0 * (speed - 3 m/s) + noise``
  where ``x`` is sessions/week over the prior 14 days (sessions strictly before the run)
  and ``noise`` is AR(1) from run to run (coefficient 0.3, SD ``noise_pct``). Longer and
  faster runs drop more; with ``confounding`` the load drives both mobility and run length,
  a spurious association that controlling for moving time removes.

``effect`` is the true change of drop-off per extra session/week (positive = mobility work
goes with less drop-off, a negative rank correlation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from .runs import STEP_MODEL, SimulatedRun, simulate_run

__all__ = [
    "Season",
    "parameters_from_library",
    "power",
    "simulate_cohort",
    "simulate_season",
    "true_rho",
    "true_rho_season",
]

_DAY_S = 86_400
#: Weeks of mobility sessions simulated before the first run.
BURN_IN_WEEKS = 4
#: Drop-off per hour of moving time and per m/s of average speed. [% points]
DROP_PER_HOUR = 3.0
DROP_PER_MPS = 2.0
#: Run-to-run AR(1) coefficient of the drop-off noise.
NOISE_AUTOCORR = 0.3
#: SD of the weekly mobility rate, as a fraction of its mean.
RATE_SD_FRACTION = 0.5
#: Window of the true effect. [days]
EFFECT_WINDOW_DAYS = 14
_T0 = pd.Timestamp("2026-01-05T00:00Z")  # a Monday; burn-in starts here
_DRILLS = {"hips": "90/90 hip switch", "ankles": "knee-to-wall ankle rocks",
           "thoracic": "open books", "calves": "wall calf stretch",
           "hamstrings": "active straight-leg raise"}  # fmt: skip


@dataclass(frozen=True)
class Season:
    """A simulated season of one or several athletes.

    Attributes
    ----------
    runs
        One row per run, shaped like :func:`~stridekeeper.metrics.summarize` rows (every
        ``SUMMARY_COLUMNS`` column; those the simulation does not model are NaN) plus
        ``run_id`` and ``athlete``; sorted by athlete, then time.
    sessions
        Canonical mobility-session table plus ``athlete``.
    truth
        ``effect_pct_per_session`` (true drop-off change per session/week [% points]),
        ``true_rho`` (Spearman's rho of drop-off and ``x`` in a very long simulation with
        the same parameters), ``true_rho_season`` (its expected value in one season of this
        length), ``exposure`` (the true ``x`` of each run), ``exposure_column`` and the
        parameters; cohorts add per-athlete ``athletes``.
    simulated_runs
        With ``as_runs=True``: one :class:`~stridekeeper.synth.runs.SimulatedRun` per row of
        ``runs`` (``fatigue_pct`` = that run's drop-off), for writing FIT files; else empty.
    """

    runs: pd.DataFrame
    sessions: pd.DataFrame
    truth: dict[str, Any]
    simulated_runs: tuple[SimulatedRun, ...] = field(default=())


# --------------------------------------------------------------------------- the arrays
def _ar1(rng: np.random.Generator, shape: tuple[int, int], phi: float) -> np.ndarray:
    """Stationary unit-variance AR(1) along the last axis."""
    from scipy.signal import lfilter

    phi = float(np.clip(phi, -0.999, 0.999))
    e = rng.standard_normal(shape)
    z0 = rng.standard_normal((shape[0], 1))
    out, _ = lfilter([math.sqrt(1 - phi**2)], [1.0, -phi], e, axis=-1, zi=phi * z0)
    return out


def _simulate_arrays(
    n_athletes: int,
    *,
    weeks: int,
    runs_per_week: float,
    effect: np.ndarray | float,
    noise_pct: float,
    exposure_autocorr: float,
    mean_sessions_per_week: np.ndarray | float,
    confounding: float,
    base_pct: np.ndarray | float = 3.0,
    noise_autocorr: float = NOISE_AUTOCORR,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Every athlete's season as ``(n_athletes, n_runs)`` arrays (and the session days)."""
    a = int(n_athletes)
    if weeks < 1:
        raise ValueError(f"weeks must be >= 1, got {weeks!r}")
    if not 0 < runs_per_week <= 7:
        raise ValueError(f"runs_per_week must be in (0, 7], got {runs_per_week!r}")
    if not -1 <= confounding <= 1:
        raise ValueError(f"confounding must be in [-1, 1], got {confounding!r}")
    n_runs = max(1, round(weeks * runs_per_week))
    total_weeks = weeks + BURN_IN_WEEKS
    n_days = 7 * total_weeks
    mean = np.broadcast_to(np.asarray(mean_sessions_per_week, dtype=float), (a,))[:, None]
    eff = np.broadcast_to(np.asarray(effect, dtype=float), (a,))[:, None]
    base = np.broadcast_to(np.asarray(base_pct, dtype=float), (a,))[:, None]

    load = _ar1(rng, (a, total_weeks), exposure_autocorr)
    own = _ar1(rng, (a, total_weeks), exposure_autocorr)
    z = confounding * load + math.sqrt(1 - confounding**2) * own
    rate = np.clip(mean + RATE_SD_FRACTION * mean * z, 0.0, 7.0)  # sessions/week
    day_rate = np.repeat(rate, 7, axis=1)  # (a, n_days)
    session_day = rng.random((a, n_days)) < day_rate / 7.0

    # runs on distinct days after the burn-in, sorted
    pick = np.argsort(rng.random((a, 7 * weeks)), axis=1)[:, :n_runs]
    run_day = np.sort(pick, axis=1) + 7 * BURN_IN_WEEKS
    cs = np.concatenate([np.zeros((a, 1), dtype=np.int64), np.cumsum(session_day, axis=1)], 1)
    # sessions in [t - w days, t) for a morning run on day d: the evenings of days d-w .. d-1
    lo = run_day - EFFECT_WINDOW_DAYS
    count = np.take_along_axis(cs, run_day, 1) - np.take_along_axis(cs, lo, 1)
    x = count * 7.0 / EFFECT_WINDOW_DAYS

    run_load = np.take_along_axis(load, run_day // 7, 1)
    moving = np.clip(3300.0 * np.exp(0.25 * run_load + 0.25 * rng.standard_normal(x.shape)),
                     1500.0, 10800.0)  # fmt: skip
    speed = 3.0 * np.exp(0.05 * rng.standard_normal(x.shape))
    climb = moving / 3300.0 * rng.gamma(2.0, 25.0, x.shape)
    season = -8.0 * np.cos(2 * np.pi * (run_day - 20) / 365.25)
    temp = 10.0 + season + 3.0 * rng.standard_normal(x.shape)
    noise = noise_pct * _ar1(rng, x.shape, noise_autocorr)
    y = (base - eff * x + DROP_PER_HOUR * (moving / 3600.0 - 55.0 / 60.0)
         + DROP_PER_MPS * (speed - 3.0) + noise)  # fmt: skip
    return {
        "y": y,
        "x": x,
        "run_day": run_day,
        "run_offset_s": 6 * 3600 + rng.integers(0, 7200, x.shape),
        "moving_time_s": moving,
        "avg_speed_mps": speed,
        "elevation_gain_m": climb,
        "avg_temperature_c": temp,
        "session_day": session_day,
        "session_offset_s": 18 * 3600 + rng.integers(0, 3 * 3600, session_day.shape),
        "session_min": rng.choice(np.array([10.0, 15.0, 20.0, 25.0, 30.0]), session_day.shape),
    }


@lru_cache(maxsize=64)
def _true_rho_cached(key: tuple) -> float:
    from ..analysis.stats import spearman_rho

    kw = dict(key)
    weeks = 10_000
    arr = _simulate_arrays(1, weeks=weeks, rng=np.random.default_rng(20260101), **kw)
    return float(spearman_rho(arr["y"][0], arr["x"][0]))


@lru_cache(maxsize=64)
def _true_rho_season_cached(key: tuple, weeks: int) -> float:
    from ..analysis.stats import spearman_rho

    kw = dict(key)
    n_seasons = int(np.clip(250_000 / (weeks * kw["runs_per_week"]), 100, 4000))
    arr = _simulate_arrays(n_seasons, weeks=weeks, rng=np.random.default_rng(20260102), **kw)
    with np.errstate(invalid="ignore"):
        return float(np.nanmean(spearman_rho(arr["y"], arr["x"])))


def _key(**kw: float) -> tuple:
    return tuple((k, float(v)) for k, v in sorted(kw.items()))


def true_rho(
    *,
    effect: float,
    noise_pct: float = 2.0,
    exposure_autocorr: float = 0.7,
    mean_sessions_per_week: float = 2.0,
    confounding: float = 0.0,
    runs_per_week: float = 3.5,
) -> float:
    """Spearman's rho of drop-off and exposure implied by the parameters.

    Computed from one simulated season of 10 000 weeks (about 35 000 runs; its standard
    error is about 0.01), cached.

    Parameters
    ----------
    effect
        True drop-off change per session/week. [% points]
    noise_pct, exposure_autocorr, mean_sessions_per_week, confounding, runs_per_week
        As in :func:`simulate_season`.

    Returns
    -------
    float
    """
    key = _key(effect=effect, noise_pct=noise_pct, exposure_autocorr=exposure_autocorr,
               mean_sessions_per_week=mean_sessions_per_week, confounding=confounding,
               runs_per_week=runs_per_week)  # fmt: skip
    return _true_rho_cached(key)


def true_rho_season(
    *,
    weeks: int,
    effect: float,
    noise_pct: float = 2.0,
    exposure_autocorr: float = 0.7,
    mean_sessions_per_week: float = 2.0,
    confounding: float = 0.0,
    runs_per_week: float = 3.5,
) -> float:
    """Expected Spearman's rho of one season of ``weeks`` weeks.

    The mean over up to 4000 simulated seasons (fewer for long seasons: about 250 000 runs in
    all, at least 100 seasons).

    A season's rank correlation only sees the exposure's variation within the season, so for
    a true effect it is smaller in size than the long-run :func:`true_rho` (at 16 weeks and
    the default athlete, about -0.64 against -0.71). This is what one season's estimate
    aims at; cached.

    Parameters
    ----------
    weeks
        Season length. [weeks]
    effect, noise_pct, exposure_autocorr, mean_sessions_per_week, confounding, runs_per_week
        As in :func:`simulate_season`.

    Returns
    -------
    float
    """
    key = _key(effect=effect, noise_pct=noise_pct, exposure_autocorr=exposure_autocorr,
               mean_sessions_per_week=mean_sessions_per_week, confounding=confounding,
               runs_per_week=runs_per_week)  # fmt: skip
    return _true_rho_season_cached(key, int(weeks))


# --------------------------------------------------------------------------- tables
def _runs_table(arr: dict[str, np.ndarray], names: list[str]) -> pd.DataFrame:
    from ..metrics.summary import SUMMARY_COLUMNS

    a, n = arr["y"].shape
    start = (_T0 + pd.to_timedelta(arr["run_day"].ravel() * _DAY_S + arr["run_offset_s"].ravel(),
                                   unit="s"))  # fmt: skip
    moving = arr["moving_time_s"].ravel()
    speed = arr["avg_speed_mps"].ravel()
    step = STEP_MODEL[0] + STEP_MODEL[1] * speed
    athlete = np.repeat(np.asarray(names, dtype=object), n)
    cols: dict[str, Any] = {c: np.full(a * n, np.nan) for c in SUMMARY_COLUMNS}
    cols.update({
        "source": [f"simulated:{name}" for name in athlete],
        "session_index": np.zeros(a * n, dtype=np.int64),
        "sport": "running",
        "sub_sport": "generic",
        "device": "simulated",
        "start_time": pd.DatetimeIndex(start, tz="UTC"),
        "distance_m": moving * speed,
        "elapsed_time_s": moving,
        "timer_time_s": moving,
        "moving_time_s": moving,
        "avg_speed_mps": speed,
        "avg_cadence_spm": 60.0 * speed / step,
        "running_cadence_spm": 60.0 * speed / step,
        "avg_step_length_m": step,
        "avg_stride_length_m": 2.0 * step,
        "step_length_source": "device",
        "stride_dropoff_pct": arr["y"].ravel(),
        "dropoff_reason": None,
        "dropoff_model": "speed",
        "elevation_gain_m": arr["elevation_gain_m"].ravel(),
        "avg_temperature_c": arr["avg_temperature_c"].ravel(),
        "n_warnings": np.zeros(a * n, dtype=np.int64),
    })  # fmt: skip
    frame = pd.DataFrame(cols)[list(SUMMARY_COLUMNS)]
    frame["run_id"] = [f"{name}-run{i % n:04d}" for i, name in enumerate(athlete)]
    frame["athlete"] = athlete
    return frame


def _sessions_table(arr: dict[str, np.ndarray], names: list[str], seed: int) -> pd.DataFrame:
    from ..schema import MOBILITY_COLUMNS

    ath, day = np.nonzero(arr["session_day"])
    offset = arr["session_offset_s"][ath, day]
    start = pd.DatetimeIndex(_T0 + pd.to_timedelta(day * _DAY_S + offset, unit="s"), tz="UTC")
    rng = np.random.default_rng(seed + 7)
    keys = list(_DRILLS)
    picks = rng.integers(0, len(keys), (len(day), 2))
    regions = np.empty(len(day), dtype=object)
    drills = np.empty(len(day), dtype=object)
    planes = np.empty(len(day), dtype=object)
    for i, (p, q) in enumerate(picks):  # a few hundred small tuples
        regs = tuple(sorted({keys[p], keys[q]}))
        regions[i] = regs
        drills[i] = tuple(_DRILLS[r] for r in regs)
        planes[i] = ("sagittal",)
    local = np.empty(len(day), dtype=object)
    local[:] = list(start.date)
    names_arr = np.asarray(names, dtype=object)
    frame = pd.DataFrame(
        {
            "session_id": [f"{names_arr[a]}-mob{d:05d}" for a, d in zip(ath, day, strict=True)],
            "start_time": start,
            "local_date": pd.Series(local, dtype=object),
            "duration_min": arr["session_min"][ath, day],
            "regions": pd.Series(regions, dtype=object),
            "planes": pd.Series(planes, dtype=object),
            "drills": pd.Series(drills, dtype=object),
            "rpe": np.nan,
            "source": "simulated",
            "notes": "",
        }
    )[list(MOBILITY_COLUMNS)]
    frame["athlete"] = names_arr[ath]
    return frame


def _as_runs(runs: pd.DataFrame, seed: int) -> tuple[SimulatedRun, ...]:
    out = []
    for i, row in enumerate(runs.itertuples(index=False)):
        out.append(
            simulate_run(
                start_time=row.start_time,
                duration_s=float(round(row.moving_time_s)),
                speed_mps=float(row.avg_speed_mps),
                fatigue_pct=float(row.stride_dropoff_pct),
                temperature_c=float(round(row.avg_temperature_c, 1)),
                seed=seed * 100_003 + i,
            )
        )
    return tuple(out)


def _params(**kw: Any) -> dict[str, Any]:
    return {k: (float(v) if isinstance(v, int | float | np.floating) else v) for k, v in kw.items()}


def simulate_season(
    *,
    weeks: int = 16,
    runs_per_week: float = 3.5,
    effect: float = 0.0,
    noise_pct: float = 2.0,
    exposure_autocorr: float = 0.7,
    mean_sessions_per_week: float = 2.0,
    confounding: float = 0.0,
    athlete: str = "sim",
    seed: int = 0,
    as_runs: bool = False,
) -> Season:
    """Simulate one athlete's season with a known mobility effect (see the module docstring).

    Parameters
    ----------
    weeks
        Weeks of running (mobility sessions start 4 weeks earlier).
    runs_per_week
        Mean runs per week; the season has ``round(weeks * runs_per_week)`` runs.
    effect
        True drop-off change per extra mobility session per week over the prior 14 days;
        positive = more mobility, less drop-off. [% points per session/week]
    noise_pct
        SD of the run-to-run drop-off noise (AR(1), coefficient 0.3). [% points]
    exposure_autocorr
        Week-to-week AR(1) coefficient of the mobility rate (and of the training load).
    mean_sessions_per_week
        Mean mobility rate. [sessions/week]
    confounding
        Correlation of the weekly mobility rate with the training load that lengthens runs
        (and so raises drop-off), in [-1, 1].
    athlete
        Name in the ``athlete`` columns and ids.
    seed
        Random seed.
    as_runs
        Also simulate every run at 1 Hz (``Season.simulated_runs``; slow: about 0.1 s a run).

    Returns
    -------
    Season
    """
    rng = np.random.default_rng(seed)
    kw = _params(runs_per_week=runs_per_week, effect=effect, noise_pct=noise_pct,
                 exposure_autocorr=exposure_autocorr,
                 mean_sessions_per_week=mean_sessions_per_week, confounding=confounding)  # fmt: skip
    arr = _simulate_arrays(1, weeks=int(weeks), rng=rng, **kw)
    runs = _runs_table(arr, [athlete])
    sessions = _sessions_table(arr, [athlete], seed)
    truth = {
        "effect_pct_per_session": float(effect),
        "true_rho": true_rho(**kw),
        "true_rho_season": true_rho_season(weeks=int(weeks), **kw),
        "exposure_column": f"sessions_per_week_{EFFECT_WINDOW_DAYS}d",
        "exposure": arr["x"][0].copy(),
        "weeks": int(weeks),
        "seed": seed,
        **kw,
    }
    sims = _as_runs(runs, seed) if as_runs else ()
    return Season(runs=runs, sessions=sessions, truth=truth, simulated_runs=sims)


def simulate_cohort(
    n_athletes: int = 8,
    *,
    weeks: int = 16,
    runs_per_week: float = 3.5,
    effect: float = 0.0,
    effect_sd: float = 0.0,
    between_effect: float = 0.0,
    noise_pct: float = 2.0,
    exposure_autocorr: float = 0.7,
    mean_sessions_per_week: float = 2.0,
    sessions_sd_between: float = 0.8,
    base_sd_pct: float = 1.0,
    confounding: float = 0.0,
    seed: int = 0,
) -> Season:
    """Simulate several athletes whose within- and between-athlete effects differ.

    Athlete ``i`` logs ``m_i ~ clip(N(mean_sessions_per_week, sessions_sd_between), 0.3, 5)``
    sessions a week on average, has its own within-athlete effect
    ``effect + effect_sd * N(0, 1)`` and a baseline drop-off
    ``3 + base_sd_pct * N(0, 1) - between_effect * (m_i - mean_sessions_per_week)``: athletes
    who do more mobility work may simply drop less (``between_effect``), whatever
    mobility does within an athlete (``effect``).

    Parameters
    ----------
    n_athletes
        Athletes (named ``sim01``, ``sim02`` ...).
    effect, effect_sd
        Mean and SD of the within-athlete effects. [% points per session/week]
    between_effect
        Between-athlete association of baseline drop-off with mean exposure.
        [% points per session/week]
    sessions_sd_between
        SD of athletes' mean mobility rates. [sessions/week]
    base_sd_pct
        SD of athletes' baseline drop-off beyond ``between_effect``. [% points]
    weeks, runs_per_week, noise_pct, exposure_autocorr, mean_sessions_per_week, confounding,
    seed
        As in :func:`simulate_season`.

    Returns
    -------
    Season
        ``truth`` holds ``effect_pct_per_session`` (the mean within effect),
        ``between_effect_pct_per_session``, the slopes a mixed model estimates,
        ``within_slope_pct_per_session = -effect`` and ``between_slope_pct_per_session =
        -(effect + between_effect)`` (drop-off change per session/week; the between slope
        carries the within mechanism too and is per session/week of an athlete's *true* mean
        rate: regressed on the observed mean exposure of a season it comes out attenuated
        towards the within slope), and per athlete ``athletes`` (name -> mean
        sessions/week, effect, base).
    """
    rng = np.random.default_rng(seed)
    names = [f"sim{i + 1:02d}" for i in range(n_athletes)]
    mean_i = np.clip(rng.normal(mean_sessions_per_week, sessions_sd_between, n_athletes), 0.3, 5)
    eff_i = effect + effect_sd * rng.standard_normal(n_athletes)
    base_i = (3.0 + base_sd_pct * rng.standard_normal(n_athletes)
              - between_effect * (mean_i - mean_sessions_per_week))  # fmt: skip
    arr = _simulate_arrays(n_athletes, weeks=int(weeks), runs_per_week=float(runs_per_week),
                           effect=eff_i, noise_pct=noise_pct, exposure_autocorr=exposure_autocorr,
                           mean_sessions_per_week=mean_i, confounding=confounding,
                           base_pct=base_i, rng=rng)  # fmt: skip
    truth = {
        "effect_pct_per_session": float(effect),
        "between_effect_pct_per_session": float(between_effect),
        "within_slope_pct_per_session": -float(effect),
        "between_slope_pct_per_session": -float(effect + between_effect),
        "exposure_column": f"sessions_per_week_{EFFECT_WINDOW_DAYS}d",
        "athletes": {
            n: {"mean_sessions_per_week": float(m), "effect_pct_per_session": float(e),
                "base_pct": float(b)}
            for n, m, e, b in zip(names, mean_i, eff_i, base_i, strict=True)
        },
        "weeks": int(weeks),
        "seed": seed,
    }  # fmt: skip
    return Season(runs=_runs_table(arr, names), sessions=_sessions_table(arr, names, seed),
                  truth=truth)  # fmt: skip


def power(
    effect: float,
    weeks_list: tuple[int, ...] | list[int] = (4, 8, 12, 16, 24, 32),
    n_sim: int = 200,
    alpha: float = 0.05,
    *,
    runs_per_week: float = 3.5,
    noise_pct: float = 2.0,
    exposure_autocorr: float = 0.7,
    mean_sessions_per_week: float = 2.0,
    confounding: float = 0.0,
    noise_autocorr: float = NOISE_AUTOCORR,
    seed: int = 0,
    test: str = "headline",
) -> pd.DataFrame:
    """Probability of detecting a true effect, by weeks of logging.

    For each number of weeks, ``n_sim`` athletes are simulated (summary level, all at once)
    and each is analysed with the test the headline uses
    (:func:`~stridekeeper.analysis.stats.primary_test`: partial rank correlation given the
    run characteristics, training load and time trend, circular-shift p-value, and the
    interval from the same shifts); an effect is detected when the headline would say
    "associated": ``p < alpha``, the 95 % interval excludes zero and rho has the right sign
    (negative for a positive ``effect``; either sign for ``effect = 0``, which gives the
    false-positive rate).

    Parameters
    ----------
    effect
        True drop-off change per session/week. [% points per session/week]
    weeks_list
        Season lengths. [weeks]
    n_sim
        Simulated athletes per season length.
    alpha
        Significance level.
    runs_per_week, noise_pct, exposure_autocorr, mean_sessions_per_week, confounding
        As in :func:`simulate_season`.
    noise_autocorr
        Run-to-run AR(1) coefficient of the drop-off noise (default 0.3).
    seed
        Random seed.
    test
        ``"headline"`` (default) or ``"unadjusted"``: the plain circular-shift test of
        :func:`~stridekeeper.analysis.stats.circular_shift_test` (p only, no controls), as
        before the headline controlled for training load.

    Returns
    -------
    pandas.DataFrame
        One row per season length: ``weeks``, ``n_runs``, ``power`` (share detected, 0-1),
        ``power_se`` (its Monte-Carlo standard error), ``median_rho``, ``true_rho``,
        ``effect_pct_per_session``, ``n_sim``, ``alpha``. Fewer than ``1/alpha`` runs can
        never reach ``p < alpha``: power 0.
    """
    from ..analysis.stats import circular_shift_test

    if test not in ("headline", "unadjusted"):
        raise ValueError(f"test must be 'headline' or 'unadjusted', got {test!r}")
    kw = _params(runs_per_week=runs_per_week, effect=effect, noise_pct=noise_pct,
                 exposure_autocorr=exposure_autocorr,
                 mean_sessions_per_week=mean_sessions_per_week, confounding=confounding)  # fmt: skip
    truth = true_rho(**kw)
    rng = np.random.default_rng(seed)
    rows = []
    for weeks in weeks_list:
        arr = _simulate_arrays(int(n_sim), weeks=int(weeks), rng=rng,
                               noise_autocorr=float(noise_autocorr), **kw)  # fmt: skip
        sign = np.sign(-effect)
        if test == "headline":
            rho, hit = _headline_hits(arr, alpha, sign, seed)
        else:
            with np.errstate(invalid="ignore"):
                rho, p = circular_shift_test(arr["y"], arr["x"])
            right = np.ones(len(rho), dtype=bool) if sign == 0 else np.sign(rho) == sign
            hit = np.isfinite(p) & (p < alpha) & right
        share = float(hit.mean())
        rows.append({
            "weeks": int(weeks),
            "n_runs": int(arr["y"].shape[1]),
            "power": share,
            "power_se": math.sqrt(share * (1 - share) / n_sim),
            "median_rho": float(np.nanmedian(rho)) if np.isfinite(rho).any() else np.nan,
            "true_rho": truth,
            "effect_pct_per_session": float(effect),
            "n_sim": int(n_sim),
            "alpha": float(alpha),
        })  # fmt: skip
    return pd.DataFrame(rows)


def _headline_hits(
    arr: dict[str, np.ndarray], alpha: float, sign: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each simulated athlete analysed with the headline's test: (rho, said "associated")."""
    from ..analysis.stats import primary_controls, primary_test

    a = arr["y"].shape[0]
    names = [f"sim{i:04d}" for i in range(a)]
    runs = _runs_table(arr, names)
    n = arr["y"].shape[1]
    rho = np.full(a, np.nan)
    hit = np.zeros(a, dtype=bool)
    ok = np.ones(n, dtype=bool)
    for i in range(a):
        frame = runs.iloc[i * n : (i + 1) * n]  # one athlete, in time order
        y, x = arr["y"][i], arr["x"][i]
        if n < 10:
            continue
        z = primary_controls(frame, ok)[0]
        r, p, _, _ = primary_test(y, x, z, interval=False)
        rho[i] = r
        right = sign == 0 or np.sign(r) == sign
        if not (np.isfinite(p) and p < alpha and right):
            continue
        _, _, (lo, hi), _ = primary_test(y, x, z, seed=seed + i)
        hit[i] = bool(lo > 0 or hi < 0)
    return rho, hit


def parameters_from_library(runs: pd.DataFrame, sessions: pd.DataFrame) -> dict[str, float]:
    """This athlete's own simulation parameters, estimated from their library.

    Parameters
    ----------
    runs
        Runs table with ``start_time`` and ``stride_dropoff_pct``.
    sessions
        Mobility sessions with ``start_time``.

    Returns
    -------
    dict
        ``weeks`` (logged so far, whole weeks from the first to the last run),
        ``runs_per_week`` (runs with a drop-off per week, clipped to (0, 7]),
        ``noise_pct`` (1.4826 x MAD of drop-off, an SD robust to the odd wild run),
        ``noise_autocorr`` (lag-1 autocorrelation of drop-off in time order, clipped to
        [0, 0.9]), ``mean_sessions_per_week`` and ``exposure_autocorr`` (lag-1
        autocorrelation of the weekly session counts, clipped to [0, 0.95]).

    Raises
    ------
    ValueError
        With fewer than 10 runs with a drop-off or no mobility session.
    """
    from ..analysis.stats import lag1_autocorr

    times = pd.to_datetime(runs["start_time"], utc=True)
    y = pd.to_numeric(runs["stride_dropoff_pct"], errors="coerce")
    ok = y.notna() & times.notna()
    if ok.sum() < 10 or len(sessions) == 0:
        raise ValueError("need at least 10 runs with a stride drop-off and a mobility log")
    order = np.argsort(times[ok].to_numpy())
    yv = y[ok].to_numpy(dtype=float)[order]
    t = times[ok].iloc[order]
    weeks = max(1, int(math.ceil((t.iloc[-1] - t.iloc[0]).total_seconds() / (7 * _DAY_S))))
    mad = 1.4826 * float(np.median(np.abs(yv - np.median(yv))))
    st = pd.to_datetime(sessions["start_time"], utc=True).dropna()
    week_idx = ((st - st.min()).dt.total_seconds() // (7 * _DAY_S)).astype(int)
    counts = np.bincount(week_idx.to_numpy(), minlength=int(week_idx.max()) + 1).astype(float)
    n_weeks_log = max(len(counts), 1)
    r1x = lag1_autocorr(counts) if len(counts) > 3 else 0.7
    return {
        "weeks": float(weeks),
        "runs_per_week": float(np.clip(ok.sum() / weeks, 0.1, 7.0)),
        "noise_pct": float(mad if mad > 0 else np.std(yv, ddof=1)),
        "noise_autocorr": float(np.clip(np.nan_to_num(lag1_autocorr(yv)), 0.0, 0.9)),
        "mean_sessions_per_week": float(len(st) / n_weeks_log),
        "exposure_autocorr": float(np.clip(np.nan_to_num(r1x, nan=0.7), 0.0, 0.95)),
    }
