"""``stridekeeper report``: the multi-page PDF trend report of a period."""

from __future__ import annotations

import argparse
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
    p.add_argument("--out", required=True, metavar="FILE.pdf", help="where to write the PDF")
    p.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    """Compute the period's results and write the PDF."""
    import warnings

    from ..pipeline import report_inputs, write_report

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
