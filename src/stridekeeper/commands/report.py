"""``stridekeeper report``: the multi-page PDF trend report of a period."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    """Add the ``report`` command."""
    p = sub.add_parser("report", help="write the PDF trend report",
                       description="Write a multi-page PDF: summary in plain words, charts, "
                                   "every run, mobility week by week, and the methods.")  # fmt: skip
    p.add_argument("--library", metavar="DIR", default=None, help="library folder")
    p.add_argument("--since", metavar="DATE", help="first day (YYYY-MM-DD)")
    p.add_argument("--until", metavar="DATE", help="last day (YYYY-MM-DD)")
    p.add_argument("--athlete", default=None, help="one athlete of a cohort library")
    p.add_argument("--window-days", type=float, default=14, metavar="N",
                   help="look-back window of the headline exposure (default 14)")  # fmt: skip
    p.add_argument("--exposure", default="sessions_per_week", metavar="NAME",
                   help="headline exposure measure (default sessions_per_week)")  # fmt: skip
    p.add_argument("--each-athlete", action="store_true",
                   help="one report per athlete (FILE_<athlete>.pdf) plus a short cohort page "
                        "(FILE_cohort.txt)")  # fmt: skip
    p.add_argument("--out", required=True, metavar="FILE.pdf", help="where to write the PDF")
    p.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    """Compute the period's results and write the PDF."""
    import warnings

    from ..pipeline import report_inputs, write_report

    athletes = _athletes(args.library)
    if args.each_athlete or (args.athlete is None and len(athletes) > 1):
        if not args.each_athlete:
            print(f"error: the library holds {len(athletes)} athletes ({', '.join(athletes)}); "
                  "one report never pools them: use --athlete NAME or --each-athlete",
                  file=sys.stderr)  # fmt: skip
            return 2
        return _each_athlete(args, athletes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        inputs = report_inputs(args.library, since=args.since, until=args.until,
                               athlete=args.athlete, exposure=args.exposure,
                               window_days=args.window_days)  # fmt: skip
        path = write_report(inputs, args.out)
    print(f"report written: {path} ({len(inputs.runs)} runs, {len(inputs.sessions)} mobility "
          "sessions)")  # fmt: skip
    if inputs.analysis and inputs.analysis.get("conclusion"):
        print(inputs.analysis["conclusion"])
    return 0


def _athletes(library: str | None) -> list[str]:
    """Athlete names in the library (empty when it can't be opened: the report says why)."""
    try:
        from ..library import Library

        runs = Library.open(library).runs()
    except Exception:
        return []
    if "athlete" not in runs.columns:
        return []
    return sorted(str(a) for a in runs["athlete"].dropna().unique())


def _each_athlete(args: argparse.Namespace, athletes: list[str]) -> int:
    """One PDF per athlete and a short cohort page with the mixed-model result."""
    import re
    import warnings

    from ..analysis.stats import analyze
    from ..library import Library
    from ..pipeline import report_inputs, write_report

    out = Path(args.out)
    lines = [f"Cohort of {len(athletes)} athletes", ""]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in athletes:
            safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
            inputs = report_inputs(args.library, since=args.since, until=args.until,
                                   athlete=name, exposure=args.exposure,
                                   window_days=args.window_days)  # fmt: skip
            path = write_report(inputs, out.with_name(f"{out.stem}_{safe}{out.suffix or '.pdf'}"))
            conclusion = (inputs.analysis or {}).get("conclusion") or ""
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
