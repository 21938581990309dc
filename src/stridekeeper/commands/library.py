"""``stridekeeper import``, ``runs`` and ``check``: fill the library, list its runs, mend it."""

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
                   help="processes decoding files: this one and N-1 workers (default: all cores)")  # fmt: skip
    p.add_argument("--athlete", default="me", help="athlete name stored with the data")
    p.add_argument("--athlete-from-path", action="store_true",
                   help="the athlete is the first folder below each PATH (one folder per "
                        "athlete); files directly in PATH get --athlete")  # fmt: skip
    _engine_args(p)
    p.add_argument("--max-archive-gb", type=float, default=4.0, metavar="GB",
                   help="refuse archives that decompress to more (default 4)")  # fmt: skip
    p.add_argument("--no-wait", action="store_true",
                   help="refuse at once when another process is writing the library "
                        "(default: wait for it)")  # fmt: skip
    p.add_argument("--commit-every", type=int, default=None, metavar="N", help=argparse.SUPPRESS)
    p.add_argument("--json", action="store_true", help="the end summary as JSON")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("runs", help="the runs in the library")
    _library_arg(p)
    p.add_argument("--since", metavar="DATE", help="first day (YYYY-MM-DD)")
    p.add_argument("--until", metavar="DATE", help="last day (YYYY-MM-DD)")
    p.add_argument("--athlete", default=None, help="one athlete's runs")
    p.add_argument("--units", choices=("km", "mi"), default="km",
                   help="distance in km and pace in min/km (default) or miles and min/mile")  # fmt: skip
    p.add_argument("--json", action="store_true", help="a JSON array on stdout")
    p.set_defaults(func=cmd_runs)

    p = sub.add_parser("check", help="check the library for damage (and mend it with --repair)",
                       description="Check the library: a complete manifest, every table and "
                                   "records file present and readable, no run without its "
                                   "records, no file left by an interrupted commit. "
                                   "--repair mends what it finds; runs whose records are "
                                   "lost come back by importing their files again.")  # fmt: skip
    _library_arg(p)
    p.add_argument("--repair", action="store_true", help="mend what the check finds")
    p.add_argument("--json", action="store_true", help="the findings as JSON")
    p.set_defaults(func=cmd_check)


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
        lock_wait_s=0 if args.no_wait else None,
        on_wait=lambda msg: print(msg, file=sys.stderr, flush=True),
        athlete=args.athlete,
        jobs=args.jobs,
        commit_every=None if args.commit_every is None else max(1, args.commit_every),
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
        print(f"rejected: {escape(row)}", file=sys.stderr)
    for file, reason in report.failures:
        line = reason if reason.startswith(file) else f"{file}: {reason}"
        print(f"failed: {escape(line)}", file=sys.stderr)
    if report.failures:
        print(f"{len(report.failures)} file(s) failed", file=sys.stderr)
    return 1 if report.failures or report.rejected_rows else 0


def escape(text: str) -> str:
    """``text`` with control characters (newlines, NUL, escapes) written as ``\\n``,
    ``\\x00``...: a file name can't forge a line of the summary or move the cursor."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def cmd_check(args: argparse.Namespace) -> int:
    """Check (and with ``--repair`` mend) the library; exit 1 if damage remains."""
    from ..library import Library

    lib = Library.open(args.library, check=False)
    rep = lib.repair() if args.repair else lib.check()
    if args.json:
        json.dump(rep.to_dict(), sys.stdout, indent=2)
        print()
        return 0 if rep.ok or rep.repaired else 1
    for line in rep.problems:
        print(f"{'repaired' if rep.repaired else 'problem'}: {escape(line)}")
    if rep.ok:
        print(f"{lib.root}: library is whole (generation {lib.generation})")
        return 0
    if rep.repaired:
        lost = len(rep.lost_sources)
        print(f"{lib.root}: repaired (generation {lib.generation})"
              + (f"; import the {lost} file(s) whose runs were lost again to bring them back"
                 if lost else ""))  # fmt: skip
        return 0
    print(f"{len(rep.problems)} problem(s); run `stridekeeper check --repair` to mend them",
          file=sys.stderr)  # fmt: skip
    return 1


def cmd_runs(args: argparse.Namespace) -> int:
    """List the library's runs (``--json``: the inspect keys plus ``run_id``); exit 1 when
    the quick check finds damage (each problem is a line on stderr)."""
    from ..jsonsafe import json_safe
    from ..library.store import Library
    from .output import INSPECT_KEYS

    lib = Library.open(args.library)  # logs each problem the quick check finds
    # only the columns shown: the stored table also has ids, hashes, paths and timestamps
    cols = [*INSPECT_KEYS, "stride_dropoff_ci95_low_pct", "stride_dropoff_ci95_high_pct",
            "device_summary_json", "warnings_json", "run_id", "athlete", "utc_offset_s"]  # fmt: skip
    if args.since is None and args.until is None:  # pyarrow alone: no pandas to import
        records = lib.run_rows(cols, athlete=args.athlete)
    else:
        runs = lib.runs(since=args.since, until=args.until, athlete=args.athlete, columns=cols)
        records = runs.to_dict("records")
    rows = [_runs_row(r, INSPECT_KEYS, json_safe) for r in records]
    if args.json:
        # one run a line: the C encoder (indent= falls back to pure Python, 5x slower)
        body = ",\n".join(json.dumps(row, allow_nan=False) for row in rows)
        sys.stdout.write(f"[\n{body}\n]\n" if rows else "[]\n")
    elif rows:
        _print_runs(rows, getattr(args, "units", "km"))
    else:
        print("no runs in this period")
    return 1 if lib.open_problems else 0


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
    offset = r.get("utc_offset_s")
    out["utc_offset_s"] = None if offset is None or offset != offset else int(offset)
    out["start_time_local"] = local_start(r.get("start_time"), out["utc_offset_s"])
    return out


#: Metres per mile.
METRES_PER_MILE = 1609.344


def local_start(start: Any, utc_offset_s: int | None) -> str | None:
    """ISO 8601 local start time with its offset (``2026-03-01T08:15+01:00``), from the
    device's UTC offset; the UTC time (``+00:00``) when the offset is unknown."""
    from datetime import UTC, datetime, timedelta, timezone

    if start is None or (isinstance(start, float) and start != start):
        return None
    if not isinstance(start, datetime):  # a pandas Timestamp is a datetime already
        import pandas as pd

        start = pd.Timestamp(start)
    t = start.replace(tzinfo=UTC) if start.tzinfo is None else start.astimezone(UTC)
    local = t.astimezone(timezone(timedelta(seconds=utc_offset_s or 0)))
    return local.isoformat(timespec="minutes")


def _print_runs(rows: list[dict[str, Any]], units: str = "km") -> None:
    """The runs table: athlete, local start, distance and pace in ``units``, drop-off."""
    per = 1000.0 if units == "km" else METRES_PER_MILE
    head = (f"{'athlete':12} {'start (local)':22} {units:>6} {'moving':>7} "
            f"{'pace /' + units:>9} {'spm':>6} {'drop %':>6}  run")  # fmt: skip
    print(head)
    print("-" * len(head))
    for r in rows:
        dist = r.get("distance_m")
        d = "-" if dist is None else f"{dist / per:.2f}"
        mov = r.get("moving_time_s")
        mov_s = "-" if mov is None else f"{int(mov // 3600)}:{int(mov % 3600 // 60):02d}"
        speed = r.get("avg_speed_mps")
        if speed:
            sec = per / speed
            pace = f"{int(sec // 60)}:{int(round(sec % 60)):02d}".replace(":60", ":59")
        else:
            pace = "-"
        start = (r.get("start_time_local") or "-").replace("T", " ")
        cad = r.get("avg_cadence_spm")
        drop = r.get("stride_dropoff_pct")
        print(f"{str(r.get('athlete') or '-')[:12]:12} {start:22} {d:>6} {mov_s:>7} {pace:>9} "
              f"{'-' if cad is None else format(cad, '.1f'):>6} "
              f"{'-' if drop is None else format(drop, '.1f'):>6}  {r['run_id']}")  # fmt: skip


def _merged_note(library: str | None, imported: int) -> str:
    """When the library counts fewer sessions (one both logged and recorded counts once)."""
    from ..errors import StridekeeperError
    from ..library import Library

    if not imported:
        return ""
    try:
        held = len(Library.open(library).mobility())
    except (StridekeeperError, OSError):
        return ""
    if held >= imported:
        return ""
    return (f" ({held} in the library: {imported - held} both logged and recorded by the "
            "watch, counted once)")  # fmt: skip
