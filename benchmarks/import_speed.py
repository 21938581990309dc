"""Import rate: N one-hour 1 Hz runs (default 200) into a new library.

Times (a) fitdecode alone reading every record of every file in one process and
(b) ``stridekeeper import`` of the same files (decode + metrics + atomic Parquet writes,
all cores), and prints runs/s, records/s, peak memory and the ratio (b)/(a).

Run: ``.venv/bin/python benchmarks/import_speed.py [N]`` (or ``make bench``, which uses a
smaller N so it stays quick: ``STRIDEKEEPER_BENCH_RUNS``).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from stridekeeper.synth.files import write_run_fit
from stridekeeper.synth.runs import simulate_run


def _write_runs(folder: Path, n: int) -> int:
    t0 = pd.Timestamp("2024-01-01T07:00Z")
    records = 0
    for i in range(n):
        sim = simulate_run(start_time=t0 + pd.Timedelta(days=i), duration_s=3600,
                           fatigue_pct=4.0 * (i % 3 == 0), hills_amplitude_m=10.0 * (i % 2),
                           seed=i)  # fmt: skip
        records += len(sim.records)
        write_run_fit(sim, folder / f"run{i:04d}.fit")
    return records


def _fitdecode_only(folder: Path) -> float:
    code = (
        "import sys, fitdecode, pathlib\n"
        "n = 0\n"
        "for p in sorted(pathlib.Path(sys.argv[1]).glob('*.fit')):\n"
        "    with fitdecode.FitReader(str(p)) as r:\n"
        "        for f in r:\n"
        "            if isinstance(f, fitdecode.FitDataMessage) and f.name == 'record':\n"
        "                n += len(f.fields)\n"
    )
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, str(folder)], check=True)
    return time.perf_counter() - t


def main() -> None:
    n = (
        int(sys.argv[1])
        if len(sys.argv) > 1
        else int(os.environ.get("STRIDEKEEPER_BENCH_RUNS", 200))
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "runs"
        folder.mkdir()
        records = _write_runs(folder, n)
        a = _fitdecode_only(folder)
        lib = Path(tmp) / "lib"
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "stridekeeper.cli", "import", str(folder),
                        "--library", str(lib), "--json"], check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        b = time.perf_counter() - t
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"{n} one-hour runs, {records:,} records, {os.cpu_count()} cores")
    print(f"(a) fitdecode alone, one process: {a:.1f} s ({records / a:,.0f} records/s)")
    print(f"(b) stridekeeper import, all cores: {b:.1f} s ({n / b:.1f} runs/s, "
          f"{records / b:,.0f} records/s)")  # fmt: skip
    print(f"peak memory of a child process: {peak_mb:.0f} MB")
    print(f"ratio (b)/(a): {b / a:.3f}")


if __name__ == "__main__":
    main()
