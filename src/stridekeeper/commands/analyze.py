"""``stridekeeper analyze``: is mobility consistency associated with less stride drop-off?"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC
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


#: File in the library folder that holds the primary exposure and window, with its date.
PRIMARY_FILE = "primary.json"
DEFAULT_PRIMARY = ("sessions_per_week", 14.0)


def _positive_days(value: str) -> float | tuple[float, float]:
    """``14`` or a lagged window ``7-35`` (7 to 35 days before the run)."""
    text = value.strip()
    if "-" in text[1:]:
        near, _, far = text.partition("-")
        try:
            a, b = float(near), float(far)
        except ValueError:
            a = b = float("nan")
        if not (0 < a < b < float("inf")):
            raise argparse.ArgumentTypeError(f"a lagged window is NEAR-FAR days with 0 < NEAR < "
                                             f"FAR, got {value!r}")  # fmt: skip
        return (a, b)
    try:
        days = float(text)
    except ValueError:
        days = float("nan")
    if not days > 0 or days == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of days, got {value!r}")
    return days


def _primary_spec(value: str) -> tuple[str, float | tuple[float, float]]:
    """``EXPOSURE`` or ``EXPOSURE:WINDOW`` (window 14 by default)."""
    name, _, window = value.partition(":")
    if name not in EXPOSURE_CHOICES:
        raise argparse.ArgumentTypeError(f"unknown exposure {name!r}; choose one of: "
                                         + ", ".join(EXPOSURE_CHOICES))  # fmt: skip
    return name, _positive_days(window) if window else 14.0


def _clock_time(value: str) -> str:
    """``"18:30"`` -> ``"18:30"``; anything else is a usage error."""
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", value.strip())
    if m is None or int(m[1]) > 23 or int(m[2]) > 59:
        raise argparse.ArgumentTypeError(f"expected a local time HH:MM, got {value!r}")
    return f"{int(m[1]):02d}:{m[2]}"


def _window_text(w: float | tuple[float, float]) -> str:
    return f"{w[0]:g}-{w[1]:g}" if isinstance(w, tuple | list) else f"{w:g}"


def read_primary(library: str | None) -> dict[str, Any] | None:
    """The stored primary exposure and window (``exposure``, ``window``, ``set_on``), or None."""
    from ..library import Library

    try:
        path = Library.open(library).root / PRIMARY_FILE
        data = json.loads(path.read_text(encoding="utf-8"))
        window = _positive_days(str(data["window"]))
        if data["exposure"] not in EXPOSURE_CHOICES:
            return None
        return {"exposure": data["exposure"], "window": window, "set_on": str(data["set_on"])}
    except (OSError, ValueError, KeyError, TypeError, argparse.ArgumentTypeError, Exception):
        return None


def write_primary(library: str | None, exposure: str, window: float | tuple[float, float],
                  today: str | None = None) -> dict[str, Any]:  # fmt: skip
    """Store the primary exposure and window in the library with today's date (UTC)."""
    from datetime import datetime

    from ..library import Library

    lib = Library.open(library)
    data = {"exposure": exposure, "window": _window_text(window),
            "set_on": today or datetime.now(UTC).date().isoformat()}  # fmt: skip
    (lib.root / PRIMARY_FILE).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return data


def register(sub: Any) -> None:
    """Add the ``analyze`` command."""
    p = sub.add_parser(
        "analyze",
        help="is mobility consistency associated with less late-run stride drop-off?",
        description=("Relate each run's late-run stride drop-off to the mobility work logged "
                     "before it: rank correlation with an interval and "
                     "a permutation test that respect autocorrelation, a regression "
                     "controlling for run length, speed, climbing and temperature, a lag scan "
                     "with multiple-comparison correction and a dose-response table. With "
                     "several athletes, a mixed model separates within- from between-athlete "
                     "associations."),
    )  # fmt: skip
    p.add_argument("--library", metavar="DIR", default=None,
                   help="library folder (default: $STRIDEKEEPER_HOME or the user data folder)")  # fmt: skip
    p.add_argument("--window-days", type=_positive_days, default=None, metavar="N",
                   help="look-back window of the exposure in days (default: the primary one, "
                        "14); NEAR-FAR (e.g. 7-35) for a lagged window")  # fmt: skip
    p.add_argument("--set-primary", type=_primary_spec, default=None, metavar="EXPOSURE[:N]",
                   help="fix the primary exposure and window in advance (stored in the library "
                        "with today's date), e.g. sessions_per_week:14 or minutes_per_week:7-35; "
                        "any other choice is then reported as exploratory")  # fmt: skip
    p.add_argument("--exposure", default=None, choices=EXPOSURE_CHOICES,
                   metavar="NAME",
                   help="consistency measure (default sessions_per_week; also minutes_per_week, "
                        "active_day_share, longest_gap_days, gap_cv, minutes_per_week_<region>, "
                        "ewm_load_min)")  # fmt: skip
    p.add_argument("--athlete", default=None, help="one athlete (default: everyone in the library)")
    p.add_argument("--date-only-time", type=_clock_time, default=None, metavar="HH:MM",
                   help="your habitual local time for sessions logged with a date only (by "
                        "default they count from the next day, unless the log says "
                        "before_run=yes)")  # fmt: skip
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

    if args.set_primary is not None:
        try:
            stored = write_primary(args.library, *args.set_primary)
        except (StridekeeperError, OSError) as exc:
            print(f"error: {exc}".splitlines()[0], file=sys.stderr)
            return 1
        print(f"primary result fixed: {stored['exposure']} over window {stored['window']} days "
              f"(set {stored['set_on']})", file=sys.stderr)  # fmt: skip
    primary = read_primary(args.library)
    p_exp, p_win = (primary["exposure"], primary["window"]) if primary else DEFAULT_PRIMARY
    exposure = args.exposure or p_exp
    window = args.window_days if args.window_days is not None else (
        p_win if exposure == p_exp else 14.0)  # fmt: skip
    if (exposure, window) == (p_exp, p_win):
        source = f"set {primary['set_on']}" if primary else "default"
    else:
        what = f"{p_exp} over {_window_text(p_win)} days"
        source = (f"exploratory: the primary result is {what}"
                  + (f", set {primary['set_on']}" if primary else " (the default)"))  # fmt: skip
    args.exposure, args.window_days = exposure, window
    if getattr(args, "date_only_time", None):
        from ..analysis.link import place_date_only

        sessions = place_date_only(sessions, args.date_only_time)
    if args.athlete is not None and len(runs) == 0:
        print(f"error: no runs of athlete {args.athlete!r} in the library", file=sys.stderr)
        return 1
    try:
        if getattr(args, "engine", "local") == "dask":
            from ..analysis.dask_analysis import analyze_dask
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
    import dataclasses

    result = dataclasses.replace(result, primary_source=source)
    if result.p_value is not None:
        result = result.with_conclusion()
    if args.json:
        json.dump(result.to_dict(), sys.stdout, indent=2, allow_nan=False)
        print()
    else:
        print(result.to_text())
    return 0
