"""``stridekeeper report``: the multi-page PDF trend report of a period."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import re
import sys
import time
from pathlib import Path
from typing import Any

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def report_date(text: str) -> str:
    """A ``--since``/``--until`` value: a real calendar date written ``YYYY-MM-DD``.

    Anything else (``03/01/2026`` could be March or January; ``2026-02-30`` does not exist)
    is a usage error, so the report never silently covers a period nobody asked for.
    """
    value = text.strip()
    if not _ISO_DATE.fullmatch(value):
        hint = (" (day and month order is ambiguous)" if re.fullmatch(
            r"\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}", value) else "")  # fmt: skip
        raise argparse.ArgumentTypeError(f"{text!r} is not a date written YYYY-MM-DD{hint}")
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a calendar date") from None
    return value


def register(sub: Any) -> None:
    """Add the ``report`` command."""
    p = sub.add_parser("report", help="write the PDF trend report",
                       description="Write a multi-page PDF: summary in plain words, charts, the "
                                   "period week by week or month by month, notable runs, runs "
                                   "left out and why, and the methods. Every run of the period "
                                   "goes to FILE-runs.csv beside the PDF.")  # fmt: skip
    p.add_argument("--library", metavar="DIR", default=None, help="library folder")
    p.add_argument("--since", metavar="DATE", type=report_date, help="first day (YYYY-MM-DD)")
    p.add_argument("--until", metavar="DATE", type=report_date, help="last day (YYYY-MM-DD)")
    p.add_argument("--athlete", default=None, help="one athlete of a cohort library")
    p.add_argument("--window-days", type=float, default=14, metavar="N",
                   help="look-back window of the headline exposure (default 14)")  # fmt: skip
    p.add_argument("--exposure", default="sessions_per_week", metavar="NAME",
                   help="headline exposure measure (default sessions_per_week)")  # fmt: skip
    p.add_argument("--each-athlete", action="store_true",
                   help="one report per athlete (FILE_<athlete>.pdf) plus a short cohort page "
                        "(FILE_cohort.txt)")  # fmt: skip
    p.add_argument("--run-table", action="store_true",
                   help="also list every run in the PDF (as plain text)")  # fmt: skip
    p.add_argument(
        "--units",
        choices=("km", "mi"),
        default="km",
        help="distances in km (default) or miles, paces per km or per mile",
    )
    p.add_argument("--out", required=True, metavar="FILE.pdf", help="where to write the PDF")
    p.set_defaults(func=cmd_report)


def _usage(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _progress(message: str, start: float) -> None:
    if sys.stderr.isatty():
        print(f"\r{message} ({time.perf_counter() - start:.1f} s)", end="", file=sys.stderr,
              flush=True)  # fmt: skip
    else:
        print(f"{message} ({time.perf_counter() - start:.1f} s)", file=sys.stderr, flush=True)


def cmd_report(args: argparse.Namespace) -> int:
    """Compute the period's results and write the PDF (and the per-run CSV beside it)."""
    import warnings

    if args.since and args.until and args.since > args.until:
        return _usage(f"--since {args.since} is after --until {args.until}")
    from ..library import Library
    from ..pipeline import report_inputs, run_table_path, write_report

    start = time.perf_counter()
    lib = Library.open(args.library)
    if args.athlete is not None:
        known = lib.athletes()
        if args.athlete not in known:
            names = ", ".join(sorted(known)) or "none"
            return _usage(f"no athlete {args.athlete!r} in {lib.root} (athletes: {names})")
    runs = lib.runs(columns=["athlete"])
    athletes = sorted(str(a) for a in runs["athlete"].dropna().unique()) if len(runs) else []
    if args.each_athlete or (args.athlete is None and len(athletes) > 1):
        if not args.each_athlete:
            return _usage(f"the library holds {len(athletes)} athletes ({', '.join(athletes)}); "
                          "one report never pools them: use --athlete NAME or --each-athlete")  # fmt: skip
        return _each_athlete(args, athletes)
    _progress("report: analysing the period", start)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        inputs = report_inputs(lib.root, since=args.since, until=args.until,
                               athlete=args.athlete, exposure=args.exposure,
                               window_days=args.window_days)  # fmt: skip
        inputs = dataclasses.replace(inputs, units=args.units)
        _progress(f"report: drawing {len(inputs.runs)} runs", start)
        path = write_report(inputs, args.out, run_table=args.run_table)
    _progress("report: done", start)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    if not len(inputs.runs) and not len(inputs.sessions):
        where = "in this period" if args.since or args.until else f"in {lib.root}"
        print(f"report written: {path} (no runs and no mobility sessions {where}: nothing to "
              "report yet)")  # fmt: skip
        return 0
    from ..report.build import headline

    extra = f"; every run in {run_table_path(path)}" if len(inputs.runs) else ""
    n_runs, n_ses = len(inputs.runs), len(inputs.sessions)
    print(f"report written: {path} ({n_runs} run{'' if n_runs == 1 else 's'}, {n_ses} mobility "
          f"session{'' if n_ses == 1 else 's'}{_in_library(lib, args.athlete, n_ses)}{extra})")  # fmt: skip
    print(headline(inputs))
    return 0


def _in_library(lib: Any, athlete: str | None, n_period: int) -> str:
    """`` in the report's period (46 in the library)`` when the period leaves some out."""
    n_all = len(lib.mobility(athlete=athlete))
    return "" if n_all == n_period else f" in the report's period ({n_all} in the library)"


def _each_athlete(args: argparse.Namespace, athletes: list[str]) -> int:
    """One PDF per athlete and a short cohort page with the mixed-model result."""
    import warnings

    from ..analysis.stats import analyze
    from ..library import Library
    from ..pipeline import report_inputs, write_report
    from ..report.build import headline

    out = Path(args.out)
    lines = [f"Cohort of {len(athletes)} athletes", ""]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in athletes:
            safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
            inputs = report_inputs(args.library, since=args.since, until=args.until,
                                   athlete=name, exposure=args.exposure,
                                   window_days=args.window_days)  # fmt: skip
            inputs = dataclasses.replace(inputs, units=args.units)
            path = write_report(inputs, out.with_name(f"{out.stem}_{safe}{out.suffix or '.pdf'}"),
                                run_table=args.run_table)  # fmt: skip
            conclusion = headline(inputs)
            print(f"report written: {path} ({len(inputs.runs)} runs of {name})")
            lines.append(f"{name}: {conclusion}")
        lib = Library.open(args.library)
        res = analyze(lib.runs(since=args.since, until=args.until), lib.mobility(),
                      exposure=args.exposure, window_days=args.window_days)  # fmt: skip
    lines += ["", res.cohort.to_text() if res.cohort is not None else res.conclusion]
    cohort = out.with_name(f"{out.stem}_cohort.txt")
    cohort.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"cohort page written: {cohort}")
    return 0
