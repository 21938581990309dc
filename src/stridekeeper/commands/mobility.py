"""``stridekeeper mobility``: mobility sessions from logs and watch files, with a weekly summary."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import warnings
from pathlib import Path
from typing import Any

from ..jsonsafe import json_safe
from .output import _Failures

log = logging.getLogger("stridekeeper")


def register(sub: Any) -> None:
    """Add the command's parser to ``sub`` (the CLI's subparsers)."""
    p = sub.add_parser(
        "mobility",
        help="mobility sessions from logs and watch files, with a weekly summary",
        description="Read mobility logs (.csv/.tsv/.json/.jsonl/.ndjson) and FIT files "
        "(yoga, flexibility, pilates, breathing, mobility sessions); folders are searched. "
        "A session both logged and recorded is counted once.",
    )
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="mobility logs, FIT files or folders (default: the library's log)")  # fmt: skip
    p.add_argument("--last", type=int, default=None, metavar="DAYS",
                   help="only the last DAYS days (e.g. --last 7: the week)")  # fmt: skip
    p.add_argument("--json", action="store_true",
                   help='one JSON object {"sessions", "errors", "weekly"} on stdout')  # fmt: skip
    p.add_argument("--strict", action="store_true",
                   help="refuse a whole log when any of its rows is bad")  # fmt: skip
    p.add_argument("--tz", type=_tz_arg, metavar="ZONE",
                   help=("time zone of the log's times (IANA name; default: the most common "
                         "offset of the runs in the library, else of the runs in the FIT "
                         "files given, else the system's; the rule `import` uses)"))  # fmt: skip
    p.add_argument("--library", metavar="DIR", default=None,
                   help="library whose runs give the default time zone")  # fmt: skip
    p.set_defaults(func=cmd_mobility)


def _tz_arg(value: str) -> str:
    """argparse type of ``--tz``: an IANA zone name (checked here, so a typo is a usage error)."""
    from ..timezones import resolve_tz

    try:
        resolve_tz(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"unknown time zone {value!r}; give an IANA name such as 'Europe/Copenhagen' or 'UTC'"
        ) from exc
    return value


def mobility_session_to_dict(row: dict[str, Any]) -> dict[str, Any]:
    """One session of ``mobility --json``: the table's fields, JSON-ready.

    ``regions``, ``planes`` and ``drills`` become lists, ``start_time`` ISO 8601 UTC,
    ``local_date`` an ISO date, NaN ``null``; then the log's own fields (context, range
    feel, pain, balance, breathwork) where the table has them.
    """
    import pandas as pd

    from ..io.mobility_log import DETAIL_COLUMNS
    from ..schema import MOBILITY_COLUMNS

    out: dict[str, Any] = {}
    for col in [*MOBILITY_COLUMNS, *(c for c in DETAIL_COLUMNS if c in row)]:
        value = row.get(col)
        if value is pd.NA:
            value = None
        if col in ("regions", "planes", "drills"):
            value = list(value or ())
        elif col == "start_time" and value is not None:
            value = value.tz_convert("UTC")
        out[col] = json_safe(value)
    return out


def _short_source(source: str) -> str:
    return " + ".join(Path(s).name for s in str(source).split(";"))


def _print_mobility(sessions: list[dict[str, Any]], errors: list[Any], weekly: Any) -> None:
    from ..schema import REGIONS

    if not sessions:
        print("No mobility sessions found.")
    else:
        print(f"Mobility sessions ({len(sessions)}):")
        for s in sessions:
            start = s["start_time"][11:16]
            rpe = "-" if s["rpe"] is None else f"{s['rpe']:g}"
            parts = [
                f"  {s['local_date']}  {start} UTC  {s['duration_min']:6.1f} min  rpe {rpe:>3}"
            ]
            parts.append(", ".join(s["regions"]) or "(no regions)")
            if s["planes"]:
                parts[-1] += f" [{', '.join(s['planes'])}]"
            if s["drills"]:
                parts.append("drills: " + "; ".join(s["drills"]))
            parts.append(_short_source(s["source"]))
            if s["notes"]:
                parts.append(s["notes"])
            print(" | ".join(parts))
    if errors:
        print(f"\nRejected rows ({len(errors)}):")
        for e in errors:
            print(f"  {e}")
    if len(weekly):
        print("\nWeekly summary:")
        head = f"  {'week':8}  {'monday':10}  {'sessions':>8}  {'minutes':>7}  {'days':>4}  regions [min]"
        print(head)
        print("  " + "-" * (len(head) - 2))
        for w in weekly.to_dict("records"):
            regions = ", ".join(
                f"{r} {w[f'minutes_{r}']:g}" for r in REGIONS if w[f"minutes_{r}"] > 0
            )
            print(f"  {w['iso_week']:8}  {w['week_start'].isoformat():10}  {w['sessions']:>8}  "
                  f"{w['minutes']:>7.1f}  {w['active_days']:>4}  {regions or '-'}")  # fmt: skip


def cmd_mobility(args: argparse.Namespace) -> int:
    """``stridekeeper mobility PATH...``: mobility sessions from logs and watch files."""
    import dataclasses

    from ..analysis.consistency import weekly_summary
    from ..errors import DataQualityWarning
    from ..io.mobility import read_mobility

    tz: str | int | None = args.tz
    library = getattr(args, "library", None)
    if tz is None and library is not None:  # default: the athlete's runs' offset, as `import`
        tz = _library_offset(library)
    if tz is None and args.paths:  # runs in the files given (e.g. the log beside the watch)
        tz = _runs_offset(args.paths)
    if tz is None and library is None:
        tz = _library_offset(None)  # else the default library's runs, else the system's
    if not args.paths:
        from .experiment import library_log_paths

        args.paths = library_log_paths(args.library)
        if not args.paths:
            print("error: no PATH given and no log in the library (add one with "
                  "`stridekeeper log MINUTES REGIONS`)", file=sys.stderr)  # fmt: skip
            return 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = read_mobility(args.paths, tz=tz, strict=args.strict,
                               runs_span=_library_span(getattr(args, "library", None)))  # fmt: skip
    if args.last is not None:
        from .experiment import last_days

        result = dataclasses.replace(result, sessions=last_days(result.sessions, args.last))
    failures = _Failures()
    for source, reason in result.failures:
        failures.add(source, reason)
    notes: dict[str, None] = {}
    for w in caught:
        msg = str(w.message)
        if not issubclass(w.category, DataQualityWarning):
            log.debug("warning while reading: %s", msg)
        elif ".errors for each line" not in msg:  # rejected rows are listed one by one
            notes.setdefault(msg)
    for msg in notes:
        print(f"warning: {msg}", file=sys.stderr)

    sessions = [mobility_session_to_dict(r) for r in result.sessions.to_dict("records")]
    weekly = weekly_summary(result.sessions)
    if args.json:
        out = {
            "sessions": sessions,
            "errors": [json_safe(dataclasses.asdict(e)) for e in result.errors],
            "weekly": [json_safe(w) for w in weekly.to_dict("records")],
        }
        json.dump(out, sys.stdout, indent=2)
        print()
    else:
        _print_mobility(sessions, result.errors, weekly)
    return 1 if result.errors or failures.items else 0


def _library_span(library: str | None) -> tuple[Any, Any] | None:
    """First and last date of the library's runs (for the log's date sanity check), or None."""
    from ..errors import StridekeeperError
    from ..library import Library

    try:
        runs = Library.open(library).runs()
    except (StridekeeperError, OSError):
        return None
    if not len(runs):
        return None
    ts = runs["start_time"]
    return ts.min().date(), ts.max().date()


def _runs_offset(paths: list[str]) -> int | None:
    """Most common UTC offset of the runs in the FIT files among ``paths`` (folders searched).

    The rule ``import`` applies to a log beside the watch files: its local times are read in
    the runs' usual offset, so a session both logged and recorded is merged by both commands.
    """
    from ..errors import StridekeeperError
    from ..io.fit import read_fit
    from ..library.store import typical_offset

    files: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            files.extend(f for f in sorted(p.rglob("*"))
                         if f.name.lower().endswith((".fit", ".fit.gz"))
                         and not any(part.startswith(".") for part in f.relative_to(p).parts))  # fmt: skip
        elif p.name.lower().endswith((".fit", ".fit.gz")):
            files.append(p)
    offsets: list[Any] = []
    for f in files:
        try:
            offsets.extend(r.meta.get("utc_offset_s") for r in read_fit(f, sport="running"))
        except (StridekeeperError, OSError, ValueError):
            continue  # the reading pass below reports a bad file
    return typical_offset(offsets)


def _library_offset(library: str | None) -> int | None:
    """Most common UTC offset of the runs in the library, when there is one."""
    from ..errors import StridekeeperError
    from ..library import Library

    try:
        return Library.open(library).typical_utc_offset_s()
    except StridekeeperError:
        return None
