"""``stridekeeper plan`` and ``stridekeeper log``: a planned mobility experiment, logged in seconds.

The plan is stored as ``experiment.json`` beside the library's manifest (written atomically);
the athlete's own log is ``mobility_log.csv`` in the library folder, appended atomically and
re-imported into the library after every change.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

LOG_FILE = "mobility_log.csv"
LOG_HEADER = ("date", "duration_min", "focus", "drills", "rpe", "context", "range_feel",
              "pain_before", "pain_after", "balance", "breathwork", "notes")  # fmt: skip

PLAN_EXAMPLES = """examples:
  stridekeeper plan --weeks 24 --block-weeks 2 --seed 7
  stridekeeper plan --weeks 12 --block-weeks 1 --wash-in-days 2 \\
      --dose-on "4 sessions/week, 10 min, hips+ankles" --dose-off "none"
The schedule is printed and written as experiment-schedule.csv and .ics (import the .ics into
a phone calendar); the plan, its analysis and rules are stored in the library, dated, before
any outcome is seen. Evaluate it with: stridekeeper analyze --experiment"""

#: Kept here so ``--help`` imports nothing heavy; a test checks them against the reader's.
CONTEXTS = ("warm-up", "post-run", "standalone", "rest-day")
RANGE_FEELS = ("open", "normal", "restricted")

LOG_EXAMPLES = """examples:
  stridekeeper log 12 hips,ankles
  stridekeeper log 20 --focus thoracic --drills "90/90, ankle rocks" --rpe 3 \\
      --context post-run --range open --pain 2
  stridekeeper log --yesterday 15 hips
  stridekeeper log --undo            (remove the last entry)
  stridekeeper mobility --last 7     (the week's sessions)"""


def _positive_int(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {value!r}")
    return n


def _date_arg(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {value!r}") from None


def _scale(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = -1
    if not 0 <= n <= 10:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 to 10, got {value!r}")
    return n


def register(sub: Any) -> None:
    """Add the ``plan`` and ``log`` commands."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser(
        "plan", help="design a randomised on/off mobility experiment (N-of-1)",
        description=("Cut the coming weeks into blocks with and without mobility work, "
                     "randomised in balanced pairs (one on, one off, order drawn at random), "
                     "so a season trend can't pass for an effect."),
        epilog=PLAN_EXAMPLES, formatter_class=fmt,
    )  # fmt: skip
    p.add_argument("--weeks", type=_positive_int, default=12, help="length in weeks (default 12)")
    p.add_argument("--block-weeks", type=_positive_int, default=2, metavar="N",
                   help="weeks per block (default 2)")  # fmt: skip
    p.add_argument("--dose-on", default="4 sessions/week, 10 min, hips+ankles", metavar="TEXT")
    p.add_argument("--dose-off", default="none", metavar="TEXT")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: fresh)")
    p.add_argument("--wash-in-days", type=int, default=7, metavar="D",
                   help="days at the start of each block not analysed (default 7)")  # fmt: skip
    p.add_argument("--start", type=_date_arg, default=None, metavar="DATE",
                   help="first day (default: next Monday)")  # fmt: skip
    p.add_argument("--effect", type=float, default=2.0, metavar="X",
                   help="on-off difference to plan for, %% points of drop-off (default 2)")  # fmt: skip
    p.add_argument("--min-runs", type=_positive_int, default=1, metavar="N",
                   help="a pair counts only when both blocks have N analysed runs (default 1)")  # fmt: skip
    p.add_argument("--out", metavar="DIR", default=".",
                   help="folder for experiment-schedule.csv/.ics (default: here)")  # fmt: skip
    p.add_argument("--replace", action="store_true", help="replace a stored plan")
    p.add_argument("--library", metavar="DIR", default=None)
    p.add_argument("--json", action="store_true", help="the plan as JSON")
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser(
        "log", help="add one mobility session to your log in seconds",
        description="Append one session to the mobility log kept in the library.",
        epilog=LOG_EXAMPLES, formatter_class=fmt,
    )  # fmt: skip
    p.add_argument("minutes", nargs="?", type=float, help="session length [min]")
    p.add_argument("regions", nargs="?", default="", help="body regions, e.g. hips,ankles")
    p.add_argument("--focus", default=None, help="body regions (instead of REGIONS)")
    p.add_argument("--drills", default="", help='drill names, e.g. "90/90, ankle rocks"')
    p.add_argument("--rpe", type=_scale, default=None, help="perceived exertion 0-10")
    p.add_argument("--context", default=None, metavar="WHEN",
                   help=f"one of: {', '.join(CONTEXTS)} (cool-down = post-run)")  # fmt: skip
    p.add_argument("--range", dest="range_feel", choices=RANGE_FEELS, default=None,
                   help="how ranges felt")  # fmt: skip
    p.add_argument("--pain", "--pain-before", dest="pain_before", type=_scale, default=None,
                   help="pain before, 0-10")  # fmt: skip
    p.add_argument("--pain-after", type=_scale, default=None, help="pain after, 0-10")
    p.add_argument("--balance", action="store_true", help="included balance/proprioception work")
    p.add_argument("--breathwork", action="store_true", help="included breathwork")
    p.add_argument("--notes", default="")
    when = p.add_mutually_exclusive_group()
    when.add_argument("--yesterday", action="store_true", help="the session was yesterday")
    when.add_argument("--date", type=_date_arg, default=None, help="the session's date")
    p.add_argument("--undo", action="store_true", help="remove the last entry")
    p.add_argument("--athlete", default="me")
    p.add_argument("--library", metavar="DIR", default=None)
    p.set_defaults(func=cmd_log)


# --------------------------------------------------------------------------------------------
def _library_root(library: str | None) -> Path:
    from ..library.store import default_library_path

    return Path(library).expanduser() if library else default_library_path()


def _atomic_write(path: Path, data: bytes) -> None:
    from ..library.store import _atomic_write_bytes

    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write_bytes(path, data)


def _athlete_sd(
    library: str | None, *, block_weeks: int, wash_in_days: int
) -> tuple[float | None, float | None, float | None]:
    """(run-to-run SD of drop-off, SD of a block mean beyond it, runs per week) from the
    library, when it has >= 8 runs; the block term only when its season holds >= 4 pairs of
    blocks of the plan's length (:func:`~stridekeeper.analysis.experiment.block_noise_pct`)."""
    from ..analysis.experiment import block_noise_pct
    from ..errors import StridekeeperError
    from ..library import Library

    try:
        runs = Library.open(library).runs()
    except (StridekeeperError, OSError):
        return None, None, None
    import pandas as pd

    drop = pd.to_numeric(runs.get("stride_dropoff_pct", pd.Series(dtype=float)),
                         errors="coerce").dropna()  # fmt: skip
    if len(drop) < 8:
        return None, None, None
    ts = pd.to_datetime(runs["start_time"], utc=True)
    weeks = max(1.0, (ts.max() - ts.min()).total_seconds() / 86400 / 7)
    rpw = min(7.0, len(runs) / weeks)
    noise = block_noise_pct(runs, block_weeks=block_weeks, wash_in_days=wash_in_days)
    if noise is None:
        return float(drop.std(ddof=1)), None, rpw
    return noise[0], noise[1], rpw


def cmd_plan(args: argparse.Namespace) -> int:
    """Draw, store and print the plan."""
    from ..analysis.experiment import make_plan, plan_to_csv, plan_to_ics
    from ..pipeline import PLAN_FILE

    root = _library_root(args.library)
    if (root / PLAN_FILE).is_file() and not args.replace:
        print(f"error: {root / PLAN_FILE}: a plan is already stored (changing it after the "
              "start spoils the test); pass --replace to draw a new one", file=sys.stderr)  # fmt: skip
        return 2
    today = date.today()
    start = args.start or today + timedelta(days=(7 - today.weekday()) % 7 or 7)
    if start < today:
        print(f"error: --start {start} is in the past; a plan must be fixed before its "
              "outcomes are seen", file=sys.stderr)  # fmt: skip
        return 2
    sd, block_sd, rpw = _athlete_sd(args.library, block_weeks=args.block_weeks,
                                    wash_in_days=args.wash_in_days)  # fmt: skip
    try:
        plan = make_plan(start=start, weeks=args.weeks, block_weeks=args.block_weeks,
                         wash_in_days=args.wash_in_days, dose_on=args.dose_on,
                         dose_off=args.dose_off, seed=args.seed, sd_pct=sd, block_sd_pct=block_sd,
                         runs_per_week=rpw, effect_pct=args.effect,
                         min_runs_per_block=args.min_runs)  # fmt: skip
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from ..library import Library

    Library.create(root)
    if (root / PLAN_FILE).is_file():  # --replace: keep the old one for the record
        old = root / f"experiment-replaced-{datetime.now():%Y%m%dT%H%M%S}.json"
        os.replace(root / PLAN_FILE, old)
    _atomic_write(root / PLAN_FILE, json.dumps(plan.to_dict(), indent=1).encode())
    out = Path(args.out)
    _atomic_write(out / "experiment-schedule.csv", plan_to_csv(plan).encode())
    _atomic_write(out / "experiment-schedule.ics", plan_to_ics(plan).encode())
    if args.json:
        json.dump(plan.to_dict(), sys.stdout, indent=2)
        print()
        return 0
    print(plan_text(plan))
    print(f"\nStored: {root / PLAN_FILE}\nWritten: {out / 'experiment-schedule.csv'}, "
          f"{out / 'experiment-schedule.ics'}")  # fmt: skip
    return 0


def plan_text(plan: Any) -> str:
    """The schedule and the power figures in words."""
    lines = [f"Mobility experiment, fixed {plan.created_utc[:10]}: {plan.weeks} weeks from "
             f"{plan.start}, {plan.n_pairs} pairs of {plan.block_weeks}-week blocks, seed "
             f"{plan.seed}.", f"  on:  {plan.dose_on}", f"  off: {plan.dose_off}", ""]  # fmt: skip
    for b in plan.blocks:
        lines.append(f"  block {b.index:>2}  pair {b.pair:>2}  {b.condition.upper():3}  "
                     f"{b.start} - {b.end}   runs count from {b.analysed_from}")  # fmt: skip
    lines.append("")
    lines.append(f"Outcome: {plan.outcome}; analysis: exact randomisation test over "
                 f"{2**plan.n_pairs} possible schedules; a pair counts when both blocks have "
                 f">= {plan.min_runs_per_block} runs after the wash-in.")  # fmt: skip
    src = "your runs" if plan.sd_source == "library" else "a default: no runs in the library"
    min_p = 2 / 2**plan.n_pairs
    if min_p > plan.alpha:
        need = 1
        while 2 / 2**need > plan.alpha:
            need += 1
        lines.append(f"Warning: {plan.n_pairs} pairs can never give p < {plan.alpha:g} (smallest "
                     f"possible p {min_p:.3f}); the test needs at least {need} pairs, e.g. "
                     f"--weeks {need * 2 * plan.block_weeks} or shorter blocks.")  # fmt: skip
    if min_p <= plan.alpha:
        src2 = ("your season's blocks" if plan.block_sd_source == "library"
                else "assumed: too short a season in the library to measure it")  # fmt: skip
        chance = (f"Chance of detecting {plan.effect_pct:g} % points: "
                  f"{100 * plan.power_at_plan:.0f} % with {plan.n_pairs} pairs at "
                  f"{plan.runs_per_week:.1f} runs a week")  # fmt: skip
        if plan.power_at_plan < 0.8:
            more = [f"{plan.pairs_needed} pairs"] if plan.pairs_needed else []
            if plan.runs_needed_per_block:
                more.append(f"{plan.runs_needed_per_block} runs per block after the wash-in")
            chance += (f"; 80 % needs {' or '.join(more)}" if more
                       else "; 80 % is out of reach at this block length")  # fmt: skip
        lines.append(f"{chance}. Noise: run-to-run SD {plan.sd_pct:.2f} % points ({src}), a "
                     f"block mean's own wander {plan.block_sd_pct:.2f} % points ({src2}); more "
                     "runs per block shrink only the first. The chance assumes every block "
                     "follows the plan.")  # fmt: skip
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
def _read_log_rows(path: Path) -> list[list[str]]:
    if not path.is_file():
        return []
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    return rows[1:] if rows else []


def _write_log_rows(path: Path, rows: list[list[str]]) -> None:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(LOG_HEADER)
    w.writerows(rows)
    _atomic_write(path, buf.getvalue().encode("utf-8"))


def cmd_log(args: argparse.Namespace) -> int:
    """Append (or ``--undo``) one session, then refresh the library's mobility table."""
    from ..io.mobility_log import normalize_context, normalize_region
    from ..library import Library, import_paths

    root = _library_root(args.library)
    path = root / LOG_FILE
    rows = _read_log_rows(path)
    if args.undo:
        if not rows:
            print(f"error: {path}: the log is empty; nothing to undo", file=sys.stderr)
            return 2
        last = rows.pop()
        _write_log_rows(path, rows)
        print(f"removed: {last[0]} {last[1]} min {last[2]}")
    else:
        if args.minutes is None:
            print("error: give the session length in minutes, e.g. `stridekeeper log 12 hips`",
                  file=sys.stderr)  # fmt: skip
            return 2
        if not 0 < args.minutes <= 600:
            print(f"error: minutes must be > 0 and <= 600, got {args.minutes:g}", file=sys.stderr)
            return 2
        focus = args.focus if args.focus is not None else args.regions
        regions = [r.strip() for r in focus.replace(";", ",").replace("+", ",").split(",")
                   if r.strip()]  # fmt: skip
        bad = [r for r in regions if normalize_region(r) is None]
        if bad:
            from ..schema import REGIONS

            print(f"error: unknown region(s) {', '.join(map(repr, bad))}; allowed: "
                  f"{', '.join(REGIONS)}", file=sys.stderr)  # fmt: skip
            return 2
        context = ""
        if args.context is not None:
            context = normalize_context(args.context) or ""
            if not context:
                print(f"error: --context {args.context!r}; allowed: {', '.join(CONTEXTS)}",
                      file=sys.stderr)  # fmt: skip
                return 2
        day = args.date or (date.today() - timedelta(days=1) if args.yesterday else None)
        when = day.isoformat() if day else datetime.now().strftime("%Y-%m-%dT%H:%M")
        drills = ";".join(d.strip() for d in args.drills.split(",") if d.strip())

        def opt(v: Any) -> str:
            return "" if v is None else str(v)

        row = [when, f"{args.minutes:g}", ";".join(normalize_region(r) for r in regions),
               drills, opt(args.rpe), context, opt(args.range_feel), opt(args.pain_before),
               opt(args.pain_after), "yes" if args.balance else "",
               "yes" if args.breathwork else "", args.notes]  # fmt: skip
        rows.append(row)
        _write_log_rows(path, rows)
        print(f"logged: {when} {args.minutes:g} min {row[2] or '(no regions)'}"
              + (f" [{context}]" if context else "") + f"  ({len(rows)} in {path})")  # fmt: skip
    Library.create(root)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = import_paths([path], root, athlete=args.athlete, jobs=1)
    for r in report.rejected_rows:
        print(f"rejected: {r}", file=sys.stderr)
    return 0


def cmd_experiment(args: argparse.Namespace) -> int:
    """``analyze --experiment``: evaluate the stored plan."""
    from ..analysis.experiment import analyze_experiment
    from ..errors import StridekeeperError
    from ..library import Library
    from ..pipeline import load_plan

    plan = load_plan(args.library)
    if plan is None:
        print(f"error: {_library_root(args.library)}: no experiment plan stored; make one with "
              "`stridekeeper plan`", file=sys.stderr)  # fmt: skip
        return 1
    try:
        lib = Library.open(args.library)
        runs, sessions = lib.runs(athlete=args.athlete), lib.mobility(athlete=args.athlete)
    except (StridekeeperError, OSError) as exc:
        print(f"error: {exc}".splitlines()[0], file=sys.stderr)
        return 1
    as_of = getattr(args, "as_of", None)
    result = analyze_experiment(plan, runs, sessions, as_of=as_of)
    kinds = _kinds_section(runs, sessions)
    if args.json:
        out = result.to_dict()
        out["kinds_exploratory"] = json.loads(kinds.to_json(orient="records"))
        json.dump(out, sys.stdout, indent=2, allow_nan=False)
        print()
    else:
        print(result.to_text())
        if len(kinds):
            print("\nWhich kinds of work (exploratory, p adjusted across all kinds, BH):")
            for r in kinds.to_dict("records"):
                print(f"  {r['kind']:24} {r['sessions']:>4} sessions  rho {r['rho']:+.2f}  "
                      f"p {r['p_value']:.3f}  adjusted {r['p_adjusted']:.3f}")  # fmt: skip
    return 0


def _kinds_section(runs: Any, sessions: Any) -> Any:
    """Exploratory table by kind (region, and the log's context and range feel)."""
    from ..analysis.exposure_kinds import exposure_by_kind

    if not len(runs) or not len(sessions):
        import pandas as pd

        return pd.DataFrame()
    return exposure_by_kind(runs, sessions)


def library_log_paths(library: str | None) -> list[str]:
    """The log kept by ``stridekeeper log`` in the library, when there is one."""
    path = _library_root(library) / LOG_FILE
    return [str(path)] if path.is_file() else []


def last_days(sessions: Any, days: int) -> Any:
    """Sessions whose local date is within the last ``days`` days (today included)."""
    first = date.today() - timedelta(days=max(days, 1) - 1)
    keep = [d >= first for d in sessions["local_date"]]
    return sessions.loc[keep].reset_index(drop=True)


def cmd_power_experiment(args: argparse.Namespace) -> int:
    """``power --design experiment``: chance of a clear result by number of block pairs."""
    from ..analysis.experiment import DEFAULT_BLOCK_SD_FRACTION, power_experiment

    block_sd = args.block_sd_pct
    if block_sd is None:
        block_sd = DEFAULT_BLOCK_SD_FRACTION * args.noise_pct
    if not block_sd >= 0:
        print("error: --block-sd-pct must be 0 or more", file=sys.stderr)
        return 2
    days = 7 * args.block_weeks - args.wash_in_days
    if days < 1:
        print("error: --wash-in-days must be shorter than a block", file=sys.stderr)
        return 2
    per_block = max(1.0, args.runs_per_week * days / 7)
    max_pairs = max(1, args.weeks // (2 * args.block_weeks))
    pairs = sorted({max(1, max_pairs // 2), max_pairs, max_pairs + 1, 2 * max_pairs, 6, 8, 10})
    rows = [{"pairs": n, "weeks": 2 * n * args.block_weeks, "min_p": 2 / 2**n,
             "power": power_experiment(args.effect, n_pairs=n, runs_per_block=per_block,
                                       sd_pct=args.noise_pct, block_sd_pct=block_sd,
                                       n_sim=args.sims, seed=args.seed)}
            for n in pairs]  # fmt: skip
    if args.json:
        json.dump({"design": "experiment", "effect_pct": args.effect,
                   "block_weeks": args.block_weeks, "wash_in_days": args.wash_in_days,
                   "runs_per_block": per_block, "noise_pct": args.noise_pct,
                   "block_sd_pct": block_sd, "rows": rows},
                  sys.stdout, indent=2)  # fmt: skip
        print()
        return 0
    print(f"A planned experiment: {args.block_weeks}-week blocks, {args.wash_in_days}-day "
          f"wash-in, about {per_block:.1f} analysed runs per block, run-to-run SD "
          f"{args.noise_pct:g} % points, a block mean's own wander {block_sd:g} % points; "
          f"on - off difference {args.effect:g} % points.\n")  # fmt: skip
    print(f"  {'pairs':>5}  {'weeks':>5}  {'min p':>6}  {'detected':>8}")
    for r in rows:
        print(f"  {r['pairs']:>5}  {r['weeks']:>5}  {r['min_p']:>6.3f}  {100 * r['power']:>7.0f}%")
    print("\n'Detected' = exact randomisation p < 0.05 with the right sign. Fewer than 6 pairs "
          "can never reach it (min p).")  # fmt: skip
    return 0
