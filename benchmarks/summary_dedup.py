"""Import N FIT files with and without a Garmin ``summarizedActivities.json`` of the same N runs.

Every summary row is the same activity as one of the files (start a few seconds off, distance
within 0.5 %), so the importer has to find and drop all N: with the pairwise comparison that
was quadratic (about 16 minutes a commit at 2,000 x 2,000); with sorted start times it should
cost little more than the files alone (target: within 1.3x). Each import goes into a new
library, as its own process. Run: ``.venv/bin/python benchmarks/summary_dedup.py [N]``
(default 2000); ``--keep DIR`` keeps (and reuses) the generated files.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scaling import write_inputs


def write_summary(folder: Path, runs: Path, n: int) -> Path:
    """summarizedActivities.json with one row per FIT file (read from a first import)."""
    out = folder / "export" / "summarizedActivities.json"
    if out.exists():
        return out
    lib = folder / "lib-files"
    shutil.rmtree(lib, ignore_errors=True)
    _import(lib, runs)
    from stridekeeper.library import Library

    table = Library.open(lib).runs(columns=["start_time", "distance_m", "moving_time_s"])
    rng = np.random.default_rng(0)
    acts = []
    for i, (t, d, mt) in enumerate(zip(table["start_time"], table["distance_m"],
                                       table["moving_time_s"], strict=True)):  # fmt: skip
        ms = t.value // 1_000_000 + int(rng.integers(-20_000, 20_000))
        acts.append({"activityId": 10_000_000 + i, "name": f"Run {i}", "activityType": "running",
                     "sportType": "RUNNING", "startTimeGmt": float(ms),
                     "startTimeLocal": float(ms + 3_600_000), "duration": mt * 1000.0,
                     "elapsedDuration": mt * 1000.0, "movingDuration": mt * 1000.0,
                     "distance": d * 100 * float(rng.uniform(0.996, 1.004)),
                     "avgSpeed": d / mt / 10, "avgDoubleCadence": 170.0,
                     "manufacturer": "GARMIN"})  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps([{"summarizedActivitiesExport": acts}]))
    shutil.rmtree(lib, ignore_errors=True)
    return out


def _import(lib: Path, *paths: Path) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "stridekeeper.cli", "import", *map(str, paths),
                    "--library", str(lib), "--json"], check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", nargs="?", type=int,
                    default=int(os.environ.get("STRIDEKEEPER_BENCH_RUNS", 2000)))  # fmt: skip
    ap.add_argument("--keep", metavar="DIR")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="sk-dedup-"))
    folder = root / f"n{args.n}"
    try:
        runs, _ = write_inputs(folder, args.n)
        summary = write_summary(folder, runs, args.n)
        files_only, with_summary = [], []
        for _ in range(args.repeat):  # alternate, so drift of the machine hits both alike
            lib = folder / "lib-bench"
            shutil.rmtree(lib, ignore_errors=True)
            files_only.append(_import(lib, runs))
            shutil.rmtree(lib, ignore_errors=True)
            with_summary.append(_import(lib, runs, summary.parent))
            from stridekeeper.library import Library

            n_runs = len(Library.open(lib).runs(columns=["run_id"]))
            shutil.rmtree(lib, ignore_errors=True)
        a, b = float(np.median(with_summary)), float(np.median(files_only))
        print(
            f"{args.n} FIT files: {b:.2f} s;  + {args.n} summary rows: {a:.2f} s;  "
            f"ratio {a / b:.2f} (median of {args.repeat}); runs in the library: {n_runs}"
        )
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
