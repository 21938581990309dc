"""What the commands print: JSON-ready values, the run table, one line per failure.

Shared by every module of :mod:`stridekeeper.commands`.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

#: Keys of ``inspect --json`` objects, in order.
INSPECT_KEYS = (
    "source", "session_index", "sport", "sub_sport", "device", "start_time", "distance_m",
    "elapsed_time_s", "timer_time_s", "moving_time_s", "avg_speed_mps", "avg_cadence_spm",
    "running_cadence_spm", "avg_step_length_m", "avg_stride_length_m", "stride_dropoff_pct",
    "stride_dropoff_raw_pct", "stride_dropoff_ci95", "cadence_drift_pct", "dropoff_reason",
    "device_summary", "warnings",
)  # fmt: skip


class _Failures:
    """Collects per-file failures and prints each as one line on stderr."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, source: str, reason: str) -> None:
        self.items.append((source, reason))
        print(f"error: {reason if reason.startswith(source) else f'{source}: {reason}'}",
              file=sys.stderr)  # fmt: skip


def _expand(paths: Sequence[str], suffixes: tuple[str, ...]) -> Iterator[Path]:
    for p in paths:
        path = Path(p)
        if path.is_dir():
            found = sorted(
                f for f in path.rglob("*") if f.is_file() and f.name.lower().endswith(suffixes)
            )
            yield from found
        else:
            yield path


def _fmt(value: Any, spec: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return format(value, spec)


def _print_table(rows: list[dict[str, Any]]) -> None:
    head = (f"{'file':28} {'#':>2} {'sport':10} {'start (UTC)':16} {'km':>6} {'moving':>7} "
            f"{'spm':>6} {'step m':>6} {'drop %':>6} {'95% CI':>13}  note")  # fmt: skip
    print(head)
    print("-" * len(head))
    for r in rows:
        start = (r["start_time"] or "")[:16].replace("T", " ")
        km = _fmt(r["distance_m"] / 1000 if r["distance_m"] is not None else None, ".2f")
        mov = r["moving_time_s"]
        mov_s = "-" if mov is None else f"{int(mov // 3600)}:{int(mov % 3600 // 60):02d}"
        ci = r["stride_dropoff_ci95"]
        ci_s = "-" if not ci or ci[0] is None else f"[{ci[0]:.1f}, {ci[1]:.1f}]"
        name = Path(r["source"]).name
        name = name if len(name) <= 28 else "..." + name[-25:]
        note = r["dropoff_reason"] or ""
        if r["warnings"]:
            note = (note + "; " if note else "") + f"{len(r['warnings'])} warning(s)"
        print(f"{name:28} {r['session_index']:>2} {(r['sport'] or '?')[:10]:10} {start:16} "
              f"{km:>6} {mov_s:>7} {_fmt(r['avg_cadence_spm'], '.1f'):>6} "
              f"{_fmt(r['avg_step_length_m'], '.3f'):>6} {_fmt(r['stride_dropoff_pct'], '.1f'):>6} "
              f"{ci_s:>13}  {note}")  # fmt: skip
