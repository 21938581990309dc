"""How long reading and summarising a one-hour 1 Hz run takes.

Run: ``make bench`` or ``.venv/bin/python benchmarks/metrics_speed.py``.
"""

from __future__ import annotations

import statistics
import time
import warnings

from stridekeeper.io.fit import read_fit
from stridekeeper.metrics import summarize
from stridekeeper.synth.files import run_fit_bytes
from stridekeeper.synth.runs import simulate_run


def _timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    sim = simulate_run(duration_s=3600, fatigue_pct=5.0, hills_amplitude_m=10.0, seed=1)
    data = run_fit_bytes(sim)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (run,) = read_fit(data)
        summarize(run)  # warm-up
        read = _timed(lambda: read_fit(data), 5)
        summ = _timed(lambda: summarize(run), 20)
    print(f"one-hour 1 Hz run: {len(run.records)} records, {len(data) / 1e3:.0f} kB")
    print(f"read_fit (columnar fast path): median {statistics.median(read) * 1e3:.0f} ms "
          f"({len(run.records) / statistics.median(read):,.0f} records/s)")  # fmt: skip
    print(
        f"summarize (incl. 400-replicate bootstrap): median {statistics.median(summ) * 1e3:.1f} ms"
    )


if __name__ == "__main__":
    main()
