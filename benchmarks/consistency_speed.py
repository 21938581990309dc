"""How fast is :func:`stridekeeper.analysis.consistency.consistency`?

300 reference times (runs) x 4 windows (2, 7, 14, 28 days) over a season of ~150 mobility
sessions, all 11 regions. Prints the median of several timings.

Run with ``python benchmarks/consistency_speed.py``.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import pandas as pd

from stridekeeper.analysis.consistency import consistency
from stridekeeper.schema import MOBILITY_COLUMNS, REGIONS, validate_sessions

N_SESSIONS = 150
N_TIMES = 300
SEASON_DAYS = 200
REPEATS = 15


def season(seed: int = 0) -> tuple[pd.DataFrame, pd.DatetimeIndex]:
    """A synthetic season: sessions and run start times, both UTC."""
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    starts = t0 + pd.to_timedelta(np.sort(rng.uniform(0, SEASON_DAYS, N_SESSIONS)), unit="D")
    starts = starts.round("min")
    regions = [
        tuple(r for r in REGIONS if r in set(rng.choice(REGIONS, size=rng.integers(1, 4))))
        for _ in range(N_SESSIONS)
    ]
    sessions = pd.DataFrame(
        {
            "session_id": [f"s{i:04d}" for i in range(N_SESSIONS)],
            "start_time": starts,
            "local_date": [ts.date() for ts in starts],
            "duration_min": rng.uniform(5, 45, N_SESSIONS).round(),
            "regions": regions,
            "planes": [()] * N_SESSIONS,
            "drills": [()] * N_SESSIONS,
            "rpe": np.nan,
            "source": "bench.csv",
            "notes": "",
        }
    )[list(MOBILITY_COLUMNS)]
    runs = t0 + pd.to_timedelta(np.sort(rng.uniform(0, SEASON_DAYS, N_TIMES)), unit="D")
    return validate_sessions(sessions), runs


def main() -> None:
    sessions, runs = season()
    consistency(sessions, runs)  # warm-up
    timings = []
    for _ in range(REPEATS):
        t = time.perf_counter()
        table = consistency(sessions, runs, windows_days=(2, 7, 14, 28))
        timings.append(time.perf_counter() - t)
    print(
        f"consistency: {N_TIMES} reference times x 4 windows, {N_SESSIONS} sessions, "
        f"{table.shape[1]} columns: median {statistics.median(timings) * 1e3:.1f} ms "
        f"(min {min(timings) * 1e3:.1f} ms, {REPEATS} runs)"
    )


if __name__ == "__main__":
    main()
