"""``stridekeeper import`` and ``stridekeeper runs``: fill the library and list its runs."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(sub: Any) -> None:
    """Add the ``import`` and ``runs`` commands."""
    p = sub.add_parser(
        "import",
        help="import files, folders and watch exports into the library",
        description=("Import FIT files, folders (recursively), .gz files and zip archives "
                     "(Garmin Connect and Strava bulk exports) and mobility logs. Running it "
                     "again only adds what is new."),
    )  # fmt: skip
    p.add_argument("paths", nargs="+", metavar="PATH")
    _library_arg(p)
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="worker processes (default: all cores)")  # fmt: skip
    p.add_argument("--athlete", default="me", help="athlete name stored with the data")
    p.add_argument("--athlete-from-path", action="store_true",
                   help="the athlete is the first folder below each PATH (one folder per "
                        "athlete); files directly in PATH get --athlete")  # fmt: skip
    _engine_args(p)
    p.add_argument("--max-archive-gb", type=float, default=4.0, metavar="GB",
                   help="refuse archives that decompress to more (default 4)")  # fmt: skip
    p.add_argument("--commit-every", type=int, default=256, metavar="N", help=argparse.SUPPRESS)
    p.add_argument("--json", action="store_true", help="the end summary as JSON")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("runs", help="the runs in the library")
    _library_arg(p)
    p.add_argument("--since", metavar="DATE", help="first day (YYYY-MM-DD)")
    p.add_argument("--until", metavar="DATE", help="last day (YYYY-MM-DD)")
    p.add_argument("--athlete", default=None, help="one athlete's runs")
    p.add_argument("--json", action="store_true", help="a JSON array on stdout")
    p.set_defaults(func=cmd_runs)


def _engine_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--engine", choices=("local", "dask"), default="local",
                   help="local: processes on this machine (default); dask: tasks on a Dask "
                        "cluster (pip install 'stridekeeper[dask]')")  # fmt: skip
    p.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="with --engine dask: a running scheduler, e.g. tcp://host:8786 "
                        "(default: a local cluster on 127.0.0.1 with --jobs workers, default 2)")  # fmt: skip


def _quiet_dask(args: argparse.Namespace) -> None:
    """Dask's own INFO lines (cluster start and stop) only with ``-vv``."""
    if getattr(args, "engine", "local") == "dask" and getattr(args, "verbose", 0) < 2:
        import os

        # read by distributed when it is imported, here and in the local workers
        os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")


def _library_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--library", metavar="DIR", default=None,
                   help="library folder (default: $STRIDEKEEPER_HOME or the user data folder)")  # fmt: skip


def cmd_import(args: argparse.Namespace) -> int:
    """Import and print the end summary; exit 1 if any file failed."""
    from ..library import import_paths

    _quiet_dask(args)
    report = import_paths(
        args.paths,
        args.library,
        athlete=args.athlete,
        jobs=args.jobs,
        commit_every=max(1, args.commit_every),
        max_archive_bytes=int(args.max_archive_gb * 1024**3),
        progress=not args.json,
        engine=args.engine,
        scheduler=args.scheduler,
        athlete_from_path=args.athlete_from_path,
    )
    merged_note = _merged_note(args.library, report.mobility_sessions)
    if args.json:
        json.dump(report.to_dict(), sys.stdout, indent=2)
        print()
    else:
        skipped = ", ".join(f"{n} {s}" for s, n in sorted(report.skipped_by_sport.items()))
        print(f"imported {report.imported_runs} runs from {report.imported_files} files; "
              f"{report.unchanged} unchanged; {report.mobility_sessions} mobility sessions"
              + (f"; skipped (not running): {skipped}" if skipped else "")
              + (f"; {report.superseded_summaries} summary rows replaced by their files"
                 if report.superseded_summaries else "") + merged_note)  # fmt: skip
    for row in report.rejected_rows:
        print(f"rejected: {row}", file=sys.stderr)
    for file, reason in report.failures:
        print(f"failed: {reason if reason.startswith(file) else f'{file}: {reason}'}",
              file=sys.stderr)  # fmt: skip
    if report.failures:
        print(f"{len(report.failures)} file(s) failed", file=sys.stderr)
    return 1 if report.failures or report.rejected_rows else 0


def cmd_runs(args: argparse.Namespace) -> int:
    """List the library's runs (``--json``: the inspect keys plus ``run_id``)."""
    from ..cli import INSPECT_KEYS, _clean, _print_table
    from ..library import Library

    lib = Library.open(args.library)
    runs = lib.runs(since=args.since, until=args.until, athlete=args.athlete)
    rows = [_runs_row(r, INSPECT_KEYS, _clean) for r in runs.to_dict("records")]
    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        print()
    elif rows:
        _print_table(rows)
    else:
        print("no runs in this period")
    return 0


def _runs_row(r: dict[str, Any], keys: tuple[str, ...], clean: Any) -> dict[str, Any]:
    row = {k: r.get(k) for k in keys}
    row["stride_dropoff_ci95"] = [r.get("stride_dropoff_ci95_low_pct"),
                                  r.get("stride_dropoff_ci95_high_pct")]  # fmt: skip
    if all(v is None or v != v for v in row["stride_dropoff_ci95"]):
        row["stride_dropoff_ci95"] = None
    row["device_summary"] = json.loads(r.get("device_summary_json") or "null")
    row["warnings"] = json.loads(r.get("warnings_json") or "[]")
    out = {k: clean(row.get(k)) for k in keys}
    out["run_id"] = r["run_id"]
    out["athlete"] = r.get("athlete")
    return out


def _merged_note(library: str | None, imported: int) -> str:
    """When the library counts fewer sessions (one both logged and recorded counts once)."""
    from ..errors import StridekeeperError
    from ..library import Library

    try:
        held = len(Library.open(library).mobility())
    except (StridekeeperError, OSError):
        return ""
    if not imported or held >= imported:
        return ""
    return (f" ({held} in the library: {imported - held} both logged and recorded by the "
            "watch, counted once)")  # fmt: skip
