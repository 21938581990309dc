"""A large library: import peak memory, `runs --json`, `analyze` and `--help` times.

Builds N one-hour runs (default 2000; ``make bench`` uses ``STRIDEKEEPER_BENCH_RUNS``)
plus a five-year mobility log, imports them with all cores, then times the commands a
person runs against the library. Run: ``.venv/bin/python benchmarks/library_queries.py [N]``.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from stridekeeper.synth.files import write_run_fit
from stridekeeper.synth.runs import simulate_run


def _timed(*args: str) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "stridekeeper.cli", *args], check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    return time.perf_counter() - t


def main() -> None:
    n = (
        int(sys.argv[1])
        if len(sys.argv) > 1
        else int(os.environ.get("STRIDEKEEPER_BENCH_RUNS", 2000))
    )
    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp) / "runs"
        runs.mkdir()
        t0 = pd.Timestamp("2020-01-01T07:00Z")
        for i in range(n):
            sim = simulate_run(start_time=t0 + pd.Timedelta(hours=22 * i), duration_s=3600,
                               fatigue_pct=4.0 * (i % 3 == 0), seed=i)  # fmt: skip
            write_run_fit(sim, runs / f"run{i:05d}.fit")
        rng = np.random.default_rng(0)
        days = pd.date_range(t0 - pd.Timedelta(days=30), t0 + pd.Timedelta(hours=22 * n), freq="D")
        log = ["date,duration_min,focus"] + [f"{d.date()}T19:00,20,hips" for d in days
                                             if rng.random() < 0.35]  # fmt: skip
        (Path(tmp) / "mobility.csv").write_text("\n".join(log) + "\n")
        lib = str(Path(tmp) / "lib")
        t_import = _timed("import", str(runs), str(Path(tmp) / "mobility.csv"), "--library", lib,
                          "--json")  # fmt: skip
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        t_runs = _timed("runs", "--library", lib, "--json")
        t_analyze = _timed("analyze", "--library", lib, "--json")
        t_help = min(_timed("--help") for _ in range(3))
    print(f"{n} one-hour runs, {os.cpu_count()} cores")
    print(f"import: {t_import:.1f} s ({n / t_import:.0f} runs/s), peak memory of a process "
          f"{peak_mb:.0f} MB")  # fmt: skip
    print(f"runs --json: {t_runs:.2f} s   analyze: {t_analyze:.2f} s   --help: {t_help:.2f} s")


if __name__ == "__main__":
    main()
