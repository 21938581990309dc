"""Null-scenario table: how often the analysis says "associated" when mobility does nothing.

The athletes come from :mod:`stridekeeper.synth.confounded`, a simulator whose confounding
(build/easy-week cycle, reactive stretching after long runs, shared seasonal wave, missing
log weeks in busy weeks) was written apart from the model. Target: <= 6 % in every row.

    PYTHONPATH=src python benchmarks/null_scenarios.py --seasons 500 --cohorts 100
    PYTHONPATH=src python benchmarks/null_scenarios.py --seasons 1000 --cohorts 0 \
        --scenarios reactive missing_weeks   # one or two rows, more seasons
"""

from __future__ import annotations

import argparse
import math
import time

from stridekeeper.synth.confounded import SCENARIOS, null_scenario_table


def _fmt(v: float | None) -> str:
    return "   -" if v is None else f"{v:5.1f}"


def _half_width(n: int, pct: float = 5.0) -> float:
    """Half-width of the 95 % binomial interval of a share near ``pct`` % in ``n`` seasons:
    the chance spread of a row whose true rate is ``pct``. [% points]"""
    p = pct / 100.0
    return 100.0 * 1.96 * math.sqrt(p * (1.0 - p) / max(n, 1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seasons", type=int, default=200, help="null athletes per scenario")
    ap.add_argument("--cohorts", type=int, default=100, help="null cohorts of 8 athletes")
    ap.add_argument("--weeks", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scenarios", nargs="+", default=["none", *SCENARIOS],
                    choices=["none", *SCENARIOS], help="rows to run (default: all)")  # fmt: skip
    ap.add_argument("--headline-only", action="store_true",
                    help="only the headline and adjusted columns (no exploratory grid): "
                         "about ten times faster, for many seasons")  # fmt: skip
    args = ap.parse_args()
    t0 = time.perf_counter()
    rows = null_scenario_table(args.seasons, n_cohorts=args.cohorts, weeks=args.weeks,
                               seed=args.seed, scenarios=tuple(args.scenarios),
                               headline_only=args.headline_only)  # fmt: skip
    print(f"{'scenario':<26} {'n':>5} {'headline %':>10} {'adjusted %':>10} "
          f"{'any choice p<.05 %':>18} {'exploratory BH %':>16}")  # fmt: skip
    for r in rows:
        print(f"{r['scenario']:<26} {r['n']:>5} {_fmt(r['headline_pct']):>10} "
              f"{_fmt(r['adjusted_pct']):>10} {_fmt(r['any_choice_pct']):>18} "
              f"{_fmt(r['exploratory_pct']):>16}")  # fmt: skip
    n = rows[0]["n"] if rows else 0
    print(f"(a row whose true rate is 5 % reads 5 +/- {_half_width(n):.1f} % in {n} seasons "
          f"by chance; {time.perf_counter() - t0:.0f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
