"""Null-scenario table: how often the analysis says "associated" when mobility does nothing.

The athletes come from :mod:`stridekeeper.synth.confounded`, a simulator whose confounding
(build/easy-week cycle, reactive stretching after long runs, shared seasonal wave, missing
log weeks in busy weeks) was written apart from the model. Target: <= 6 % in every row.

    PYTHONPATH=src python benchmarks/null_scenarios.py --seasons 200 --cohorts 100
"""

from __future__ import annotations

import argparse
import time

from stridekeeper.synth.confounded import null_scenario_table


def _fmt(v: float | None) -> str:
    return "   -" if v is None else f"{v:5.1f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seasons", type=int, default=200, help="null athletes per scenario")
    ap.add_argument("--cohorts", type=int, default=100, help="null cohorts of 8 athletes")
    ap.add_argument("--weeks", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    t0 = time.perf_counter()
    rows = null_scenario_table(args.seasons, n_cohorts=args.cohorts, weeks=args.weeks,
                               seed=args.seed)  # fmt: skip
    print(f"{'scenario':<26} {'n':>5} {'headline %':>10} {'adjusted %':>10} "
          f"{'any choice p<.05 %':>18} {'exploratory BH %':>16}")  # fmt: skip
    for r in rows:
        print(f"{r['scenario']:<26} {r['n']:>5} {_fmt(r['headline_pct']):>10} "
              f"{_fmt(r['adjusted_pct']):>10} {_fmt(r['any_choice_pct']):>18} "
              f"{_fmt(r['exploratory_pct']):>16}")  # fmt: skip
    print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
