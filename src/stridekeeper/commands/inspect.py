"""``stridekeeper inspect``: per-session cadence, step length and drop-off of files."""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import warnings
from pathlib import Path
from typing import Any

from ..jsonsafe import json_safe
from .output import INSPECT_KEYS, _expand, _Failures, _print_table

log = logging.getLogger("stridekeeper")


def register(sub: Any) -> None:
    """Add the command's parser to ``sub`` (the CLI's subparsers)."""
    p = sub.add_parser("inspect", help="per-session cadence, step length and drop-off of files",
                       description="Report every session of every file (folders are searched).")  # fmt: skip
    p.add_argument("paths", nargs="+", metavar="PATH", help="activity files or folders")
    p.add_argument("--json", action="store_true", help="a JSON array on stdout")
    p.add_argument("--columns", type=_column_map_arg, metavar="MAP",
                   help=("for per-second CSV files whose headers are not recognised: "
                         "canonical=header pairs, e.g. 'timestamp=Time,speed_mps=Speed (m/s)'"))  # fmt: skip
    p.set_defaults(func=cmd_inspect)


def run_to_dict(run: Any, summary: Any) -> dict[str, Any]:
    """The ``inspect --json`` object of one session."""
    dev = run.meta.get("device_summary")
    row = {k: summary.get(k) for k in INSPECT_KEYS if k in summary.index}
    row["stride_dropoff_ci95"] = [
        summary["stride_dropoff_ci95_low_pct"],
        summary["stride_dropoff_ci95_high_pct"],
    ]
    if all(
        v is None or (isinstance(v, float) and math.isnan(v)) for v in row["stride_dropoff_ci95"]
    ):
        row["stride_dropoff_ci95"] = None
    row["device_summary"] = (
        None
        if not dev
        else {
            k: dev.get(k)
            for k in ("distance_m", "timer_time_s", "avg_cadence_spm", "avg_step_length_m")
        }  # fmt: skip
    )
    row["warnings"] = list(run.meta.get("warnings", []))
    return {k: json_safe(row.get(k)) for k in INSPECT_KEYS}


def _read_quietly(
    path: Path, failures: _Failures, column_map: dict[str, str] | None = None
) -> list[Any] | None:
    """Read one file; failures become one stderr line, warnings stay in meta."""
    from ..errors import StridekeeperError
    from ..io import read_runs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if column_map:  # explicit columns: for a per-sample CSV, by the format registry
                from ..io.dispatch import format_of_path

                fmt = format_of_path(path)
                if fmt is not None and fmt.name == "csv":
                    from ..io.csv import read_csv_run

                    return read_csv_run(path, column_map=column_map)
            return read_runs(path)
        except StridekeeperError as exc:
            failures.add(str(path), str(exc))
        except Exception as exc:  # a bug, not the user's fault: still one line
            log.debug("unexpected error reading %s", path, exc_info=True)
            failures.add(str(path), f"internal error ({type(exc).__name__}: {exc}); "
                                    "please report it with the file")  # fmt: skip
    return None


def cmd_inspect(args: argparse.Namespace) -> int:
    """``stridekeeper inspect PATH...``: every session of every file."""
    from ..metrics import summarize

    failures = _Failures()
    rows: list[dict[str, Any]] = []
    from ..io.dispatch import RUN_SUFFIXES

    for path in _expand(args.paths, RUN_SUFFIXES):
        runs = _read_quietly(path, failures, getattr(args, "columns", None))
        if runs is None:
            continue
        for run in runs:
            rows.append(run_to_dict(run, summarize(run)))
    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        print()
    else:
        if rows:
            _print_table(rows)
        for r in rows:
            for w in r["warnings"]:
                print(f"warning: {r['source']} (session {r['session_index']}): {w}",
                      file=sys.stderr)  # fmt: skip
    return 1 if failures.items else 0


def _column_map_arg(value: str) -> dict[str, str]:
    """argparse type of ``--columns``: ``canonical=header[,canonical=header...]``."""
    out: dict[str, str] = {}
    for part in value.split(","):
        key, sep, header = part.partition("=")
        if not sep or not key.strip() or not header.strip():
            raise argparse.ArgumentTypeError(
                f"expected canonical=header pairs separated by ',', got {part!r}"
            )
        out[key.strip()] = header.strip()
    return out
