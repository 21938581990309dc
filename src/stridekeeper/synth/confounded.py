"""Null athletes whose mobility work and drop-off share causes other than mobility.

An independent check on the analysis: this simulator was written *without* reference to
the model in :mod:`stridekeeper.analysis.stats` and its confounding is not the one
:mod:`stridekeeper.synth.season` builds (a latent AR(1) load that lengthens runs). Here
mobility has **no effect** on drop-off, yet the two move together through:

* ``"easy_weeks"`` -- a build/easy-week cycle (three building weeks, one easy week at 60 %
  volume); drop-off rises with the last 7 days' running time (fatigue) and the athlete
  stretches more in easy weeks;
* ``"reactive"`` -- one long run a week (about 40 % of the week's time); the athlete tends to
  stretch the day after it, and drop-off rises with the acute load the long run adds;
* ``"seasonal"`` -- a slow seasonal wave (random phase, one-year period) raises both the
  mobility rate and drop-off (heat, racing season);
* ``"missing_weeks"`` -- in busy weeks (high volume) the log is often not kept at all: those
  weeks' sessions are missing from the log although they happened, so logged exposure dips
  exactly when load (and drop-off) is high;
* ``"all"`` -- every mechanism at once.

Volume also grows slowly over the season (a time trend in load). Each athlete runs four
times a week on fixed weekdays (one long run), so every athlete has ``4 * weeks`` runs;
mobility sessions are logged from six weeks before the first run.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .season import _T0, Season, _runs_table, _sessions_table

__all__ = ["SCENARIOS", "simulate_confounded", "simulate_confounded_cohort"]

SCENARIOS: tuple[str, ...] = ("easy_weeks", "reactive", "seasonal", "missing_weeks", "all")
#: Days of mobility log (and running) before the first analysed run.
LEAD_DAYS = 42
_RUN_WEEKDAYS = (1, 3, 5, 6)  # Tue, Thu, Sat, Sun (Sunday = long run)
_LONG = 3


def _arrays(
    n_athletes: int,
    *,
    weeks: int,
    scenario: str,
    strength: float,
    mean_sessions_per_week: np.ndarray,
    noise_pct: float,
    rng: np.random.Generator,
) -> dict[str, Any]:
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; choose one of: {', '.join(SCENARIOS)}")
    on = {s: scenario in (s, "all") for s in SCENARIOS[:-1]}
    a = int(n_athletes)
    lead_weeks = LEAD_DAYS // 7
    total_weeks = weeks + lead_weeks
    n_days = 7 * total_weeks
    week = np.arange(total_weeks)
    day = np.arange(n_days)

    # weekly running volume [h]: base x growth x build/easy cycle x noise
    base_h = rng.uniform(3.0, 5.0, (a, 1))
    growth = 1.0 + 0.25 * week[None, :] / total_weeks
    phase = rng.integers(0, 4, (a, 1))
    easy = ((week[None, :] + phase) % 4 == 3) if on["easy_weeks"] else np.zeros((a, 1), bool)
    easy = np.broadcast_to(easy, (a, total_weeks))
    cycle = np.where(easy, 0.6, 1.0 + 0.08 * ((week[None, :] + phase) % 4))
    vol = base_h * growth * cycle * np.exp(0.12 * rng.standard_normal((a, total_weeks)))

    # runs: 4 a week on fixed days, the Sunday one long
    share = np.array([0.2, 0.2, 0.2, 0.4]) if on["reactive"] else np.full(4, 0.25)
    run_h = np.empty((a, total_weeks, 4))
    for k in range(4):
        run_h[:, :, k] = vol * share[k] * np.exp(0.1 * rng.standard_normal((a, total_weeks)))
    run_day_all = (7 * week[:, None] + np.asarray(_RUN_WEEKDAYS)[None, :]).ravel()  # (W*4,)
    run_h_flat = run_h.reshape(a, -1)
    daily_h = np.zeros((a, n_days))
    daily_h[:, run_day_all] = run_h_flat

    # seasonal wave (shared by mobility and drop-off)
    ph = rng.uniform(0, 2 * np.pi, (a, 1))
    wave = np.sin(2 * np.pi * day[None, :] / 365.25 + ph) if on["seasonal"] else np.zeros((1, 1))
    wave = np.broadcast_to(wave, (a, n_days))

    # mobility sessions (no effect on drop-off)
    rate = np.repeat(np.broadcast_to(mean_sessions_per_week[:, None], (a, total_weeks)), 7, 1)
    boost = strength * (1.2 * np.repeat(easy, 7, axis=1) + 0.9 * wave)
    p = np.clip(rate / 7.0 * np.exp(boost), 0.0, 0.95)
    if on["reactive"]:
        # the day after the long run, more likely the longer it was
        long_h = run_h[:, :, _LONG]
        long_z = (long_h - long_h.mean(axis=1, keepdims=True)) / (
            long_h.std(axis=1, keepdims=True) + 1e-9
        )
        after = 7 * week + _RUN_WEEKDAYS[_LONG] + 1
        keep = after < n_days
        p[:, after[keep]] = np.clip(0.35 + 0.25 * strength * long_z[:, keep], 0.0, 0.97)
    did = rng.random((a, n_days)) < p
    logged = did.copy()
    if on["missing_weeks"]:
        z = (vol - vol.mean(axis=1, keepdims=True)) / (vol.std(axis=1, keepdims=True) + 1e-9)
        p_miss = np.clip(0.08 + 0.25 * strength * z, 0.0, 0.6)
        p_miss[:, : lead_weeks // 2] = 0.0  # the log's first weeks are kept
        miss = rng.random((a, total_weeks)) < p_miss
        logged &= ~np.repeat(miss, 7, axis=1)

    # drop-off: fatigue from acute load, the seasonal wave, run length, AR(1) noise
    cs = np.concatenate([np.zeros((a, 1)), np.cumsum(daily_h, axis=1)], axis=1)
    first = lead_weeks * 4
    rd = run_day_all[first:]
    acute = cs[:, rd] - cs[:, np.maximum(rd - 7, 0)]  # h in the 7 days before the run
    acute_z = (acute - acute.mean(axis=1, keepdims=True)) / (acute.std(axis=1, keepdims=True)
                                                             + 1e-9)  # fmt: skip
    n_runs = len(rd)
    e = rng.standard_normal((a, n_runs))
    noise = np.empty_like(e)
    noise[:, 0] = e[:, 0]
    for i in range(1, n_runs):
        noise[:, i] = 0.3 * noise[:, i - 1] + math.sqrt(1 - 0.09) * e[:, i]
    moving_h = run_h_flat[:, first:]
    y = (3.0 + strength * 1.5 * acute_z + 2.0 * strength * wave[:, rd]
         + 1.5 * (moving_h - 1.0) + noise_pct * noise)  # fmt: skip
    speed = 3.0 * np.exp(0.05 * rng.standard_normal((a, n_runs)))
    moving_s = moving_h * 3600.0
    return {
        "y": y,
        "run_day": np.broadcast_to(rd, (a, n_runs)).copy(),
        "run_offset_s": 6 * 3600 + rng.integers(0, 7200, (a, n_runs)),
        "moving_time_s": moving_s,
        "avg_speed_mps": speed,
        "elevation_gain_m": moving_s / 3300.0 * rng.gamma(2.0, 25.0, (a, n_runs)),
        "avg_temperature_c": 10.0 + 8.0 * wave[:, rd] + 3.0 * rng.standard_normal((a, n_runs)),
        "session_day": logged,
        "session_offset_s": 18 * 3600 + rng.integers(0, 3 * 3600, (a, n_days)),
        "session_min": rng.choice(np.array([10.0, 15.0, 20.0, 25.0, 30.0]), (a, n_days)),
        "_earlier_runs": (run_day_all[:first], run_h_flat[:, :first]),
    }


def _with_lead_in_runs(runs: Any, arr: dict[str, Any], names: list[str]) -> Any:
    """Add the lead-in runs (no drop-off) so training load is known from the first run."""
    import pandas as pd

    days, hours = arr["_earlier_runs"]
    rows = []
    for i, name in enumerate(names):
        for d, h in zip(days, hours[i], strict=True):
            rows.append({"athlete": name, "start_time": _T0 + pd.Timedelta(days=int(d), hours=7),
                         "moving_time_s": float(h * 3600.0), "timer_time_s": float(h * 3600.0),
                         "run_id": f"{name}-lead{int(d):04d}"})  # fmt: skip
    lead = pd.DataFrame(rows)
    out = pd.concat([lead, runs], ignore_index=True)
    out["start_time"] = pd.to_datetime(out["start_time"], utc=True)
    return out.sort_values(["athlete", "start_time"], kind="stable").reset_index(drop=True)


def simulate_confounded(
    scenario: str = "all",
    *,
    weeks: int = 16,
    strength: float = 1.0,
    mean_sessions_per_week: float = 2.5,
    noise_pct: float = 2.0,
    athlete: str = "sim",
    seed: int = 0,
) -> Season:
    """One null athlete (mobility has no effect) confounded by ``scenario``.

    Parameters
    ----------
    scenario
        One of :data:`SCENARIOS`.
    weeks
        Weeks of analysed running (4 runs a week); 6 weeks of running and mobility log
        precede them, their runs without a drop-off.
    strength
        Scale of every confounding path (0 = none).
    mean_sessions_per_week
        Baseline mobility rate. [sessions/week]
    noise_pct
        SD of the run-to-run drop-off noise (AR(1), 0.3). [% points]
    athlete, seed
        Name and random seed.

    Returns
    -------
    Season
        ``truth['effect_pct_per_session'] == 0``.
    """
    rng = np.random.default_rng(seed)
    arr = _arrays(1, weeks=int(weeks), scenario=scenario, strength=float(strength),
                  mean_sessions_per_week=np.array([float(mean_sessions_per_week)]),
                  noise_pct=float(noise_pct), rng=rng)  # fmt: skip
    runs = _with_lead_in_runs(_runs_table(arr, [athlete]), arr, [athlete])
    truth = {"effect_pct_per_session": 0.0, "scenario": scenario, "strength": float(strength),
             "weeks": int(weeks), "seed": seed}  # fmt: skip
    return Season(runs=runs, sessions=_sessions_table(arr, [athlete], seed), truth=truth)


def simulate_confounded_cohort(
    n_athletes: int = 8,
    scenario: str = "all",
    *,
    weeks: int = 16,
    strength: float = 1.0,
    noise_pct: float = 2.0,
    seed: int = 0,
) -> Season:
    """Several null athletes (means 1-4 sessions a week), each confounded by ``scenario``.

    Parameters
    ----------
    n_athletes, scenario, weeks, strength, noise_pct, seed
        As in :func:`simulate_confounded`.

    Returns
    -------
    Season
        Athletes ``sim01``, ``sim02``, ...
    """
    rng = np.random.default_rng(seed)
    names = [f"sim{i + 1:02d}" for i in range(n_athletes)]
    means = rng.uniform(1.0, 4.0, n_athletes)
    arr = _arrays(n_athletes, weeks=int(weeks), scenario=scenario, strength=float(strength),
                  mean_sessions_per_week=means, noise_pct=float(noise_pct), rng=rng)  # fmt: skip
    runs = _with_lead_in_runs(_runs_table(arr, names), arr, names)
    truth = {"effect_pct_per_session": 0.0, "scenario": scenario, "strength": float(strength),
             "weeks": int(weeks), "seed": seed}  # fmt: skip
    return Season(runs=runs, sessions=_sessions_table(arr, names, seed), truth=truth)


def _said_associated(res: Any) -> bool:
    """Did the headline say "associated"? (``verdict`` where the result has one.)"""
    verdict = getattr(res, "verdict", None)
    if verdict is not None:
        return verdict == "associated"
    return bool(res.p_value is not None and res.p_value < 0.05)


def headline_and_adjusted(season: Season, seed: int = 0) -> tuple[bool, bool]:
    """What :func:`~stridekeeper.analysis.stats.analyze` (default exposure and window) says
    of ``season``, computed without its exploratory grid: (headline says "associated",
    adjusted regression p < 0.05). The same functions on the same data: equal to the full
    analysis, about ten times faster."""
    from ..analysis.link import link_exposure
    from ..analysis.stats import (
        OUTCOME,
        _numeric,
        _time_sorted,
        partial_circular_shift_test,
        primary_controls,
        primary_test,
    )

    linked = link_exposure(season.runs, season.sessions, windows_days=(14,),
                           lagged_windows_days=())  # fmt: skip
    frame = _time_sorted(linked)
    y, x = _numeric(frame, OUTCOME), _numeric(frame, "sessions_per_week_14d")
    ok = np.isfinite(y) & np.isfinite(x)
    z = primary_controls(frame, ok)[0]
    _, p, _, _ = primary_test(y[ok], x[ok], z, interval=False)
    said = False
    if p < 0.05:
        _, _, (lo, hi), _ = primary_test(y[ok], x[ok], z, seed=seed)
        said = bool(lo > 0 or hi < 0)
    _, p_adj = partial_circular_shift_test(y[ok], x[ok], z, rank=False)
    return said, bool(p_adj < 0.05)


def null_scenario_table(
    n_seasons: int = 100,
    *,
    scenarios: tuple[str, ...] = ("none", *SCENARIOS),
    n_cohorts: int = 0,
    weeks: int = 16,
    seed: int = 0,
    headline_only: bool = False,
) -> list[dict[str, Any]]:
    """Share of null seasons the analysis calls "associated", per confounding scenario.

    Parameters
    ----------
    n_seasons
        Simulated null athletes per scenario.
    scenarios
        Scenarios (``"none"`` = ``"all"`` at strength 0, no confounding).
    n_cohorts
        Null cohorts of 8 athletes (scenario ``"all"``) for the mixed model; 0 skips them.
    weeks, seed
        Season length and seed.
    headline_only
        Only the headline and the adjusted model (:func:`headline_and_adjusted`): the
        exploratory columns are None.

    Returns
    -------
    list of dict
        One row per scenario: ``scenario``, ``n``, ``headline_pct`` (headline says
        associated), ``adjusted_pct`` (adjusted regression p < 0.05), ``any_choice_pct``
        (some exposure x window has an unadjusted p < 0.05), ``exploratory_pct`` (some
        exploratory choice has a BH-adjusted p < 0.05, when the result reports them); and a
        ``cohort`` row (within-athlete effect p < 0.05).
    """
    from ..analysis.stats import analyze

    rows = []
    for scen in scenarios:
        head = adj = anyp = expl = 0
        n_expl = 0
        for i in range(n_seasons):
            s = simulate_confounded("all" if scen == "none" else scen,
                                    strength=0.0 if scen == "none" else 1.0, weeks=weeks,
                                    seed=seed + 1000 * i + 17)  # fmt: skip
            if headline_only:
                said, sig = headline_and_adjusted(s, seed=i)
                head, adj = head + said, adj + sig
                continue
            res = analyze(s.runs, s.sessions, seed=i)
            head += _said_associated(res)
            p = res.partial
            adj += bool(p is not None and p.p_value is not None and p.p_value < 0.05)
            tried = getattr(res, "exploratory", None) or res.lag_scan
            anyp += any(t.p_value is not None and t.p_value < 0.05 for t in tried)
            if getattr(res, "exploratory", None):
                n_expl += 1
                expl += any(t.p_adjusted is not None and t.p_adjusted < 0.05 for t in tried)
        rows.append({"scenario": scen, "n": n_seasons, "headline_pct": 100 * head / n_seasons,
                     "adjusted_pct": 100 * adj / n_seasons,
                     "any_choice_pct": None if headline_only else 100 * anyp / n_seasons,
                     "exploratory_pct": 100 * expl / n_expl if n_expl else None})  # fmt: skip
    if n_cohorts:
        from ..analysis.cohort import analyze_cohort
        from ..analysis.link import link_exposure

        hits = 0
        for i in range(n_cohorts):
            c = simulate_confounded_cohort(8, "all", weeks=weeks, seed=seed + 7919 * i + 3)
            linked = link_exposure(c.runs, c.sessions, windows_days=(14,))
            res = analyze_cohort(linked)
            w = res.within
            hits += bool(w is not None and w.p_value is not None and w.p_value < 0.05)
        rows.append({"scenario": "cohort (all, 8 athletes)", "n": n_cohorts,
                     "headline_pct": 100 * hits / n_cohorts, "adjusted_pct": None,
                     "any_choice_pct": None, "exploratory_pct": None})  # fmt: skip
    return rows
