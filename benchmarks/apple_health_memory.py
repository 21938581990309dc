"""Memory and time of reading a ~200 MB Apple Health ``export.xml``.

Writes a synthetic export into a temporary folder (mostly the phone's heart-rate and step
records, plus ~300 running workouts with their watch samples), then reads it twice, each in
a fresh subprocess so that nothing else inflates the figures:

* plain: wall time, and the peak resident set size (``ru_maxrss``) minus the RSS after
  the imports (the reader's own share);
* under ``tracemalloc``: the peak of Python allocations during the read.

Run: ``.venv/bin/python benchmarks/apple_health_memory.py [target_mb]``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_CHILD = r"""
import json, resource, sys, time, tracemalloc, warnings
import numpy, pandas  # noqa: F401  (imported before the baseline)
from stridekeeper.io.apple_health import read_apple_health
path, traced = sys.argv[1], sys.argv[2] == "1"

def rss_kb():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

base = rss_kb()
if traced:
    tracemalloc.start()
t0 = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    runs = read_apple_health(path)
wall = time.perf_counter() - t0
peak = tracemalloc.get_traced_memory()[1] if traced else None
maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"runs": len(runs), "wall_s": wall, "base_kb": base, "maxrss_kb": maxrss,
                  "tracemalloc_peak_b": peak,
                  "records": int(sum(len(r.records) for r in runs))}))
"""


def _child(path: Path, traced: bool) -> dict:
    out = subprocess.run([sys.executable, "-c", _CHILD, str(path), "1" if traced else "0"],
                         check=True, capture_output=True, text=True)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(target_mb: float = 200.0) -> None:
    from stridekeeper.testing import write_apple_health_export

    workouts = 300
    # one 30-min workout sampled every 20 s writes ~800 records (~0.27 MB); a filler record
    # (the phone's heart rate or steps) ~280 bytes: the filler is most of the file
    per_workout_mb = 0.27
    filler = max(0, int((target_mb - workouts * per_workout_mb) * 1e6 / 280))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.xml"
        t0 = time.perf_counter()
        write_apple_health_export(path, runs=workouts, run_minutes=30, sample_interval_s=20,
                                  filler_records=filler, mobility=(("Yoga", 20.0),))  # fmt: skip
        size = path.stat().st_size
        print(f"wrote {size / 1e6:.0f} MB ({filler:,} filler records, {workouts} running "
              f"workouts) in {time.perf_counter() - t0:.0f} s")  # fmt: skip
        plain = _child(path, traced=False)
        traced = _child(path, traced=True)
    rss_delta = (plain["maxrss_kb"] - plain["base_kb"]) * 1024
    print(f"read_apple_health: {plain['runs']} runs, {plain['records']:,} records")
    print(f"wall time: {plain['wall_s']:.1f} s ({size / 1e6 / plain['wall_s']:.0f} MB/s, two "
          "streaming passes)")  # fmt: skip
    print(f"peak RSS over the post-import baseline: {rss_delta / 1e6:.1f} MB "
          f"({100 * rss_delta / size:.1f} % of the file)")  # fmt: skip
    print(f"tracemalloc peak: {traced['tracemalloc_peak_b'] / 1e6:.1f} MB "
          f"({100 * traced['tracemalloc_peak_b'] / size:.1f} % of the file; wall time under "
          f"tracemalloc {traced['wall_s']:.1f} s)")  # fmt: skip
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPU(s)")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 200.0)
