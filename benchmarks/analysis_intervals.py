"""Coverage of ``analyze``'s 95 % intervals on simulated seasons with known truth.

Seasons of ``stridekeeper.synth.season`` (16 weeks, 3.5 runs a week; effect 0, 1 and 2 %
points per session a week) and null seasons of ``stridekeeper.synth.confounded`` (every
confounding mechanism, no effect) are analysed exactly as ``stridekeeper analyze`` does.
Per scenario it prints how often the headline rank correlation's interval covers the truth
(0 for null seasons, else the mean rho over the scenario's seasons), how often it excludes
zero and how often p < 0.05, how often interval and test agree, the same for the check
regression's slope (truth: minus the effect), and the verdicts.

    .venv/bin/python benchmarks/analysis_intervals.py [SEASONS]      # default 150
"""

from __future__ import annotations

import sys
import time
import warnings
from collections import Counter
from concurrent.futures import ProcessPoolExecutor

import numpy as np

SCENARIOS = ("null", "effect 1", "effect 2", "confounded null")


def _one(args: tuple[str, int]) -> tuple[float, ...] | None:
    warnings.simplefilter("ignore")
    from stridekeeper.analysis.stats import analyze
    from stridekeeper.synth.confounded import simulate_confounded
    from stridekeeper.synth.season import simulate_season

    name, seed = args
    if name == "confounded null":
        season = simulate_confounded("all", seed=9000 + seed)
    else:
        effect = 0.0 if name == "null" else float(name.split()[1])
        season = simulate_season(effect=effect, seed=11000 + seed)
    r = analyze(season.runs, season.sessions)
    if r.rho is None or r.partial is None or r.partial.ci95 is None:
        return None
    verdict = {"associated": 0, "inconclusive": 1}.get(r.verdict, 2)
    return (r.rho, *r.ci95, r.p_value, r.partial.coef, *r.partial.ci95, r.partial.p_value,
            verdict)  # fmt: skip


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 150
    t0 = time.perf_counter()
    tasks = [(name, k) for name in SCENARIOS for k in range(n)]
    with ProcessPoolExecutor(2) as pool:
        out = list(pool.map(_one, tasks, chunksize=4))
    print(
        "| seasons | rho covered | rho interval excludes 0 | p < 0.05 | agree | slope "
        "covered | slope interval excludes 0 | associated / inconclusive / none |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name in SCENARIOS:
        rows = np.array([o for (s, _), o in zip(tasks, out, strict=True)
                         if s == name and o is not None], dtype=float)  # fmt: skip
        rho, lo, hi, p, _, blo, bhi, _, verdict = rows.T
        effect = 0.0 if "null" in name else float(name.split()[1])
        truth = 0.0 if effect == 0 else float(rho.mean())
        excl = (lo > 0) | (hi < 0)
        counts = Counter(verdict.astype(int))
        print(f"| {name} ({len(rows)}) | {np.mean((lo <= truth) & (truth <= hi)):.0%} | "
              f"{excl.mean():.0%} | {np.mean(p < 0.05):.0%} | {np.mean(excl == (p < 0.05)):.0%} | "
              f"{np.mean((blo <= -effect) & (-effect <= bhi)):.0%} | "
              f"{np.mean((blo > 0) | (bhi < 0)):.0%} | "
              f"{counts[0]} / {counts[1]} / {counts[2]} |")  # fmt: skip
    print(f"\n{n} seasons per row, {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
