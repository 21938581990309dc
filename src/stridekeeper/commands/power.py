"""``stridekeeper power``: how many weeks of logging would detect an effect of a given size?"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def _weeks(value: str) -> int:
    try:
        weeks = int(value)
    except ValueError:
        weeks = 0
    if weeks < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of weeks >= 1, got {value!r}")
    return weeks


def _sims(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 10:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 10, got {value!r}")
    return n


def register(sub: Any) -> None:
    """Add the ``power`` command."""
    p = sub.add_parser(
        "power",
        help="chance of detecting an effect of a given size, by weeks of logging",
        description=("Simulate athletes whose late-run stride drop-off changes by EFFECT % "
                     "points per extra mobility session per week (over the prior 14 days) "
                     "and report how often the headline detects it (its own test: the rank "
                     "correlation adjusted for run characteristics, training load and time "
                     "trend, permutation p < 0.05 and a 95 %% interval excluding zero, with the "
                     "right sign) after N/4, N/2, N and 2N weeks of logging."),
    )  # fmt: skip
    p.add_argument(
        "--design",
        choices=("season", "experiment"),
        default="season",
        help="season: logging as you go (default); experiment: a planned on/off "
        "block experiment (`stridekeeper plan`), power by number of pairs",
    )
    p.add_argument(
        "--block-weeks",
        type=_weeks,
        default=2,
        metavar="N",
        help="with --design experiment: weeks per block (default 2)",
    )
    p.add_argument(
        "--wash-in-days",
        type=int,
        default=7,
        metavar="D",
        help="with --design experiment: days per block not analysed (default 7)",
    )
    p.add_argument("--effect", type=float, required=True, metavar="X",
                   help="drop-off change per session/week, %% points (positive = mobility "
                        "goes with less drop-off); 1 is moderate, 2 strong")  # fmt: skip
    p.add_argument("--weeks", type=_weeks, default=None, metavar="N",
                   help="weeks of logging (required unless --from-library)")  # fmt: skip
    p.add_argument("--from-library", action="store_true",
                   help="use this athlete's own run-to-run variance, autocorrelation, runs and "
                        "sessions per week from the library, and say how many more weeks "
                        "would tell")  # fmt: skip
    p.add_argument("--library", metavar="DIR", default=None,
                   help="library folder for --from-library")  # fmt: skip
    p.add_argument("--athlete", default=None, help="with --from-library: one athlete")
    p.add_argument("--sims", type=_sims, default=200, metavar="K",
                   help="simulated athletes per season length (default 200; each is analysed "
                        "with the headline's full test)")  # fmt: skip
    p.add_argument("--runs-per-week", type=float, default=3.5, metavar="R",
                   help="runs per week (default 3.5)")  # fmt: skip
    p.add_argument("--noise-pct", type=float, default=2.0, metavar="SD",
                   help="run-to-run SD of drop-off, %% points (default 2)")  # fmt: skip
    p.add_argument("--block-sd-pct", type=float, default=None, metavar="SD",
                   help="with --design experiment: how much a block's mean drop-off wanders "
                        "beyond its runs' scatter (training cycle, autocorrelation, trend), "
                        "%% points (default 0.75 x --noise-pct)")  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--json", action="store_true", help="the table as JSON")
    p.set_defaults(func=cmd_power)


def weeks_around(n: int) -> list[int]:
    """N/4, N/2, N and 2N weeks (rounded, at least 1, no repeats)."""
    return sorted({max(1, round(n / 4)), max(1, round(n / 2)), n, 2 * n})


def cmd_power(args: argparse.Namespace) -> int:
    """Print the probability of detection per season length."""
    if not 0 < args.runs_per_week <= 7:
        print("error: --runs-per-week must be in (0, 7]", file=sys.stderr)
        return 2
    if not args.noise_pct > 0:
        print("error: --noise-pct must be positive", file=sys.stderr)
        return 2
    if args.design == "experiment":
        from .experiment import cmd_power_experiment

        return cmd_power_experiment(args)
    from ..synth.season import power

    own: dict[str, float] | None = None
    if args.from_library:
        from ..errors import StridekeeperError
        from ..library import Library
        from ..synth.season import parameters_from_library

        try:
            lib = Library.open(args.library)
            own = parameters_from_library(lib.runs(athlete=args.athlete),
                                          lib.mobility(athlete=args.athlete))  # fmt: skip
        except (StridekeeperError, OSError, ValueError) as exc:
            print(f"error: {exc}".splitlines()[0], file=sys.stderr)
            return 1
    elif args.weeks is None:
        print("error: --weeks is required (or use --from-library)", file=sys.stderr)
        return 2
    if own is not None:
        now = int(own["weeks"])
        weeks_list = sorted({now, now + 4, now + 8, now + 16, now + 32, *(
            [args.weeks] if args.weeks else [])})  # fmt: skip
        table = power(args.effect, weeks_list=weeks_list, n_sim=args.sims,
                      runs_per_week=own["runs_per_week"], noise_pct=own["noise_pct"],
                      exposure_autocorr=own["exposure_autocorr"],
                      mean_sessions_per_week=own["mean_sessions_per_week"],
                      noise_autocorr=own["noise_autocorr"], seed=args.seed)  # fmt: skip
        args.runs_per_week, args.noise_pct = own["runs_per_week"], own["noise_pct"]
    else:
        table = power(args.effect, weeks_list=weeks_around(args.weeks), n_sim=args.sims,
                      runs_per_week=args.runs_per_week, noise_pct=args.noise_pct,
                      seed=args.seed)  # fmt: skip
    rows = [
        {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        for row in table.to_dict("records")
    ]
    true_rho = rows[0]["true_rho"] if rows else None
    if args.json:
        out = {"effect_pct_per_session": args.effect, "true_rho": true_rho, "alpha": 0.05,
               "runs_per_week": args.runs_per_week, "noise_pct": args.noise_pct,
               "n_sim": args.sims, "rows": rows, "from_library": own}  # fmt: skip
        json.dump(out, sys.stdout, indent=2)
        print()
        return 0
    print(f"An effect of {args.effect:g} % points of drop-off per mobility session/week "
          f"(true rank correlation about {true_rho:+.2f}), {args.runs_per_week:g} runs a week, "
          f"run-to-run SD {args.noise_pct:g} % points; {args.sims} simulated athletes per row.")  # fmt: skip
    print()
    if own is not None:
        print(f"From your library: {own['weeks']:.0f} weeks so far, {own['runs_per_week']:.1f} "
              f"runs a week, run-to-run SD {own['noise_pct']:.1f} % points (autocorrelation "
              f"{own['noise_autocorr']:.2f}), {own['mean_sessions_per_week']:.1f} sessions a "
              f"week (week-to-week autocorrelation {own['exposure_autocorr']:.2f}).")  # fmt: skip
        hit = [r for r in rows if r["power"] >= 0.8]
        more = (f"about {hit[0]['weeks'] - int(own['weeks'])} more weeks" if hit
                else f"more than {rows[-1]['weeks'] - int(own['weeks'])} more weeks")  # fmt: skip
        print(f"How many more weeks would tell? {more} (80 % chance that the headline says "
              "associated).")  # fmt: skip
    print(f"  {'weeks':>5}  {'runs':>5}  {'detected':>8}")
    for r in rows:
        print(f"  {r['weeks']:>5}  {r['n_runs']:>5}  {100 * r['power']:>7.0f}%")
    print()
    print("'Detected' = the headline's test says associated: the load-adjusted permutation "
          "p < 0.05 and its 95 % interval excludes zero, with the right sign. Fewer than 20 "
          "runs can never reach p < 0.05. Aim for a season length detected at least 80 % of "
          "the time.")  # fmt: skip
    return 0
