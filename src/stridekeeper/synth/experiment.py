"""Simulated athletes who follow (more or less) a planned on/off mobility experiment.

Known truth for the randomisation test: a season trend in drop-off, a 4-week load cycle
(3 build weeks, 1 easy), autocorrelated run-to-run noise, adherence lapses (an on block done at
half dose, a few sessions in off blocks), and an effect of mobility that scales with the
sessions actually done (``effect_pct`` at the planned on dose; positive = less drop-off).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from ..analysis.experiment import ExperimentPlan, analyze_experiment, make_plan

__all__ = ["ExperimentAthlete", "simulate_experiment", "validate_experiment"]


@dataclass(frozen=True)
class ExperimentAthlete:
    """What a simulated athlete did: the plan, the runs and the logged sessions."""

    plan: ExperimentPlan
    runs: pd.DataFrame  # start_time (UTC), utc_offset_s, stride_dropoff_pct
    sessions: pd.DataFrame  # session_id, start_time, local_date, duration_min, regions


def simulate_experiment(
    *,
    weeks: int = 12,
    block_weeks: int = 2,
    wash_in_days: int = 7,
    effect_pct: float = 0.0,
    runs_per_week: float = 3.5,
    noise_pct: float = 2.0,
    ar1: float = 0.3,
    trend_pct_per_week: float = 0.1,
    load_cycle_pct: float = 0.8,
    lapse_prob: float = 0.15,
    off_sessions_per_week: float = 0.3,
    start: date = date(2026, 1, 5),
    seed: int = 0,
) -> ExperimentAthlete:
    """One athlete who ran a plan drawn with ``seed``; everything else from the same seed."""
    rng = np.random.default_rng(seed)
    plan = make_plan(start=start, weeks=weeks, block_weeks=block_weeks,
                     wash_in_days=wash_in_days, seed=int(rng.integers(2**31)),
                     created=pd.Timestamp(start - timedelta(days=3), tz="UTC"), with_power=False)  # fmt: skip
    on_dose = plan.sessions_per_week_on
    ses_rows: list[tuple[date, float]] = []
    dose_by_day: dict[date, float] = {}
    for b in plan.blocks:
        days = [b.start + timedelta(days=i) for i in range((b.end - b.start).days + 1)]
        if b.condition == "on":
            rate = on_dose * (0.5 if rng.random() < lapse_prob else 1.0)
        else:
            rate = off_sessions_per_week * (3.0 if rng.random() < lapse_prob else 1.0)
        n_ses = min(len(days), int(rng.poisson(rate * len(days) / 7)) if b.condition == "off"
                    else int(round(rate * len(days) / 7)))  # fmt: skip
        for k in sorted(rng.choice(len(days), size=n_ses, replace=False)):
            ses_rows.append((days[int(k)], 10.0))
        dose = sum(1 for s, _ in ses_rows if b.start <= s <= b.end) / (len(days) / 7)
        for d in days:
            dose_by_day[d] = dose
    n_days = 7 * weeks
    run_days = []  # a regular habit: about runs_per_week runs in every week, spread out
    for w in range(weeks):
        k = int(runs_per_week) + int(rng.random() < runs_per_week - int(runs_per_week))
        picks = sorted(rng.choice(7, size=min(7, k), replace=False))
        run_days += [start + timedelta(days=7 * w + int(i)) for i in picks]
    run_days = [d for d in run_days if (d - start).days < n_days]
    drops = []
    e = 0.0
    for d in run_days:
        t_weeks = (d - start).days / 7
        week = int(t_weeks)
        load = load_cycle_pct * (1.0 if week % 4 != 3 else -2.0)
        e = ar1 * e + np.sqrt(1 - ar1**2) * rng.normal(0, noise_pct)
        drops.append(4.0 + trend_pct_per_week * t_weeks + load + e
                     - effect_pct * dose_by_day.get(d, 0.0) / on_dose)  # fmt: skip
    runs = pd.DataFrame({
        "start_time": pd.to_datetime([pd.Timestamp(d) + pd.Timedelta(hours=17) for d in run_days],
                                     utc=True),
        "utc_offset_s": 0,
        "stride_dropoff_pct": np.asarray(drops, dtype=float),
    })  # fmt: skip
    sessions = pd.DataFrame({
        "session_id": [f"s{i}" for i in range(len(ses_rows))],
        "start_time": pd.to_datetime([pd.Timestamp(d) + pd.Timedelta(hours=7) for d, _ in ses_rows],
                                     utc=True),
        "local_date": [d for d, _ in ses_rows],
        "duration_min": [m for _, m in ses_rows],
        "regions": [("hips", "ankles")] * len(ses_rows),
    })  # fmt: skip
    return ExperimentAthlete(plan=plan, runs=runs, sessions=sessions)


def validate_experiment(
    *,
    effects: tuple[float, ...] = (0.0, 1.0, 2.0, 3.0),
    pairs: tuple[int, ...] = (3, 6, 8, 10),
    block_weeks: int = 1,
    wash_in_days: int = 2,
    n_sim: int = 200,
    seed: int = 0,
    **kw: float,
) -> pd.DataFrame:
    """Share of simulated athletes whose test gives p <= 0.05 (any sign for no effect,
    the right sign otherwise), by effect and number of pairs; primary (intention-to-treat)."""
    rows = []
    for n_pairs in pairs:
        for eff in effects:
            hits = 0
            for i in range(n_sim):
                a = simulate_experiment(weeks=2 * block_weeks * n_pairs, block_weeks=block_weeks,
                                        wash_in_days=wash_in_days, effect_pct=eff,
                                        seed=seed + 100_000 * n_pairs + 1000 * int(10 * eff) + i,
                                        **kw)  # type: ignore[arg-type]  # fmt: skip
                r = analyze_experiment(a.plan, a.runs, a.sessions, as_of=a.plan.end, what_if=False)
                p, est = r.itt["p_value"], r.itt["estimate_pct"]
                if np.isfinite(p) and p <= 0.05 and (eff == 0 or est < 0):
                    hits += 1
            rows.append({"pairs": n_pairs, "effect_pct": eff, "rejected": hits / n_sim,
                         "n_sim": n_sim})  # fmt: skip
    return pd.DataFrame(rows)


def demo_experiment(seed: int = 2026) -> tuple[object, list[date]]:
    """The demo's athlete who ran a 12-week plan of 1-week blocks (6 pairs, 2-day wash-in)
    with a true effect of 2 % points: (ExperimentResult at the plan's end, logged dates)."""
    a = simulate_experiment(weeks=12, block_weeks=1, wash_in_days=2, effect_pct=2.0,
                            runs_per_week=4.0, noise_pct=1.5, seed=seed)  # fmt: skip
    result = analyze_experiment(a.plan, a.runs, a.sessions, as_of=a.plan.end)
    return result, list(a.sessions["local_date"])
