"""``stridekeeper analyze``: is mobility consistency associated with less stride drop-off?"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

#: Exposure names the command accepts (kept here so ``--help`` needs no heavy import;
#: tests check it against :data:`stridekeeper.analysis.link.EXPOSURES`).
EXPOSURE_CHOICES: tuple[str, ...] = (
    "sessions_per_week", "minutes_per_week", "active_day_share", "longest_gap_days", "gap_cv",
    "minutes_per_week_hips", "minutes_per_week_ankles", "minutes_per_week_thoracic",
    "minutes_per_week_calves", "minutes_per_week_hamstrings", "minutes_per_week_quads",
    "minutes_per_week_glutes", "minutes_per_week_feet", "minutes_per_week_lower_back",
    "minutes_per_week_shoulders", "minutes_per_week_full_body", "ewm_load_min",
)  # fmt: skip


def _positive_days(value: str) -> float:
    try:
        days = float(value)
    except ValueError:
        days = float("nan")
    if not days > 0 or days == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of days, got {value!r}")
    return days


def register(sub: Any) -> None:
    """Add the ``analyze`` command."""
    p = sub.add_parser(
        "analyze",
        help="is mobility consistency associated with less late-run stride drop-off?",
        description=("Relate each run's late-run stride drop-off to the mobility work logged "
                     "before it: rank correlation with a block-bootstrap interval, a "
                     "permutation test that respects autocorrelation, a regression "
                     "controlling for run length, speed, climbing and temperature, a lag scan "
                     "with multiple-comparison correction and a dose-response table. With "
                     "several athletes, a mixed model separates within- from between-athlete "
                     "associations."),
    )  # fmt: skip
    p.add_argument("--library", metavar="DIR", default=None,
                   help="library folder (default: $STRIDEKEEPER_HOME or the user data folder)")  # fmt: skip
    p.add_argument("--window-days", type=_positive_days, default=14.0, metavar="N",
                   help="look-back window of the exposure in days (default 14)")  # fmt: skip
    p.add_argument("--exposure", default="sessions_per_week", choices=EXPOSURE_CHOICES,
                   metavar="NAME",
                   help="consistency measure (default sessions_per_week; also minutes_per_week, "
                        "active_day_share, longest_gap_days, gap_cv, minutes_per_week_<region>, "
                        "ewm_load_min)")  # fmt: skip
    p.add_argument("--athlete", default=None, help="one athlete (default: everyone in the library)")
    p.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    from .library import _engine_args

    _engine_args(p)
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="with --engine dask and no --scheduler: local workers (default 2)")  # fmt: skip
    p.add_argument(
        "--experiment",
        action="store_true",
        help="evaluate the stored experiment plan (see `stridekeeper plan`)",
    )
    p.add_argument("--json", action="store_true", help="the result as one JSON object")
    p.set_defaults(func=cmd_analyze)


def _load(args: argparse.Namespace) -> tuple[Any, Any]:
    """The runs and mobility tables of the library (raises StridekeeperError without one)."""
    from ..library import Library

    lib = Library.open(args.library)
    return lib.runs(athlete=args.athlete), lib.mobility(athlete=args.athlete)


def cmd_analyze(args: argparse.Namespace) -> int:
    """Run the analysis and print it; 1 with a one-line error when the library can't be read."""
    if getattr(args, "experiment", False):
        from .experiment import cmd_experiment

        return cmd_experiment(args)
    from ..errors import StridekeeperError

    try:
        runs, sessions = _load(args)
    except (StridekeeperError, OSError) as exc:
        print(f"error: {exc}".splitlines()[0], file=sys.stderr)
        return 1
    from ..analysis.stats import analyze

    if args.athlete is not None and len(runs) == 0:
        print(f"error: no runs of athlete {args.athlete!r} in the library", file=sys.stderr)
        return 1
    try:
        if getattr(args, "engine", "local") == "dask":
            from ..library.dask_engine import analyze_dask
            from .library import _quiet_dask

            _quiet_dask(args)
            result = analyze_dask(runs, sessions, exposure=args.exposure,
                                  window_days=args.window_days, seed=args.seed,
                                  scheduler=args.scheduler, n_workers=args.jobs)  # fmt: skip
        else:
            result = analyze(runs, sessions, exposure=args.exposure,
                             window_days=args.window_days, seed=args.seed)  # fmt: skip
    except StridekeeperError as exc:
        print(f"error: {exc}".splitlines()[0], file=sys.stderr)
        return 1
    if args.json:
        json.dump(result.to_dict(), sys.stdout, indent=2, allow_nan=False)
        print()
    else:
        print(result.to_text())
    return 0
