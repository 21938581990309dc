"""``stridekeeper demo``: the main job on the bundled sample season, end to end."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    """Add the command's parser to ``sub`` (the CLI's subparsers)."""
    p = sub.add_parser("demo", help="run the main job on the bundled sample data")
    p.add_argument("--sample-data", metavar="DIR", help="folder of sample data")
    p.add_argument(
        "--out", metavar="FILE.pdf", help="report path (default reports/demo-report.pdf)"
    )
    p.add_argument("--json", action="store_true", help="the summary as JSON")
    p.set_defaults(func=cmd_demo)


def _sample_data_dir() -> Path:
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "sample_data"
        if candidate.is_dir():
            return candidate
    return Path.cwd() / "sample_data"


def cmd_demo(args: argparse.Namespace) -> int:
    """``stridekeeper demo``: the main job on the sample season, end to end.

    Imports ``sample_data/`` (the watch files and the hand-kept log) into a temporary
    library, analyses it, writes ``reports/demo-report.pdf`` and prints a short summary.
    """
    import tempfile
    import time
    import warnings

    from ..library import import_paths
    from ..pipeline import report_inputs, write_report

    folder = Path(args.sample_data) if args.sample_data else _sample_data_dir()
    inputs = [p for p in (folder / "watch", folder / "mobility_log.csv") if p.exists()]
    if not inputs:
        print(f"error: {folder}: no sample data (watch/ and mobility_log.csv) found",
              file=sys.stderr)  # fmt: skip
        return 1
    out = Path(args.out) if args.out else Path.cwd() / "reports" / "demo-report.pdf"
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="stridekeeper-demo-") as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = import_paths(inputs, Path(tmp) / "library", athlete="sample")
        data = report_inputs(Path(tmp) / "library")
        if data.experiment is None:  # the demo's athlete also ran a 12-week on/off plan
            import dataclasses

            from ..synth.experiment import demo_experiment

            data = dataclasses.replace(data, experiment=demo_experiment())
        path = write_report(data, out)
    summary = {
        "imported_runs": report.imported_runs,
        "mobility_sessions": report.mobility_sessions,
        "skipped_by_sport": dict(report.skipped_by_sport),
        "rejected_rows": list(report.rejected_rows),
        "failures": [f"{f}: {r}" for f, r in report.failures],
        "conclusion": data.analysis.conclusion if data.analysis is not None else None,
        "report": str(path),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    if args.json:
        json.dump(summary, sys.stdout, indent=2)
        print()
        return 0
    skipped = ", ".join(f"{n} {s}" for s, n in summary["skipped_by_sport"].items()) or "none"
    print(f"stridekeeper demo: {folder}")
    print(f"  imported {report.imported_runs} runs and {report.mobility_sessions} mobility "
          f"sessions (not runs, skipped: {skipped})")  # fmt: skip
    for row in report.rejected_rows:
        print(f"  rejected (the sample log's deliberately imperfect rows): {row}")
    for file, reason in report.failures:
        print(f"  failed: {file}: {reason}")
    print(f"  {summary['conclusion'] or 'not enough data for the analysis'}")
    if data.experiment is not None:
        print(f"  experiment (simulated 12-week plan): {data.experiment[0].conclusion}")
    print(f"  report: {path}  ({summary['seconds']} s)")
    return 0
