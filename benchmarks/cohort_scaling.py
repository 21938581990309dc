"""Cohort import and analysis: local engine vs Dask LocalCluster with 1 and 2 workers.

Writes a simulated cohort (``STRIDEKEEPER_BENCH_ATHLETES`` athletes, default 40, x
``STRIDEKEEPER_BENCH_ATHLETE_RUNS`` runs, default 10, of 30 minutes at 1 Hz, one folder per
athlete with a mobility log), then times ``import --athlete-from-path`` and ``analyze``
with each engine into fresh libraries, and checks that the analysis results agree.
Cluster start-up is included in the Dask figures (it is part of what a user waits for).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")

from stridekeeper.analysis.dask_analysis import analyze_dask
from stridekeeper.analysis.stats import analyze
from stridekeeper.library import Library, import_paths
from stridekeeper.testing import write_cohort_export


def main() -> None:
    n_ath = int(os.environ.get("STRIDEKEEPER_BENCH_ATHLETES", 40))
    n_runs = int(os.environ.get("STRIDEKEEPER_BENCH_ATHLETE_RUNS", 10))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        export = write_cohort_export(root / "export", n_ath, n_runs, minutes=30, seed=1)
        print(f"cohort: {n_ath} athletes x {n_runs} runs of 30 min written in "
              f"{time.perf_counter() - t:.1f} s (cores: {os.cpu_count()})")  # fmt: skip
        configs = [("local (jobs=2)", "local", 2), ("dask, 1 worker", "dask", 1),
                   ("dask, 2 workers", "dask", 2)]  # fmt: skip
        reference = None
        for label, engine, jobs in configs:
            lib = root / f"lib-{engine}-{jobs}"
            t = time.perf_counter()
            report = import_paths([export], lib, engine=engine, jobs=jobs, athlete_from_path=True)
            t_import = time.perf_counter() - t
            library = Library.open(lib)
            runs, sessions = library.runs(), library.mobility()
            t = time.perf_counter()
            if engine == "local":
                result = analyze(runs, sessions)
            else:
                result = analyze_dask(runs, sessions, n_workers=jobs)
            t_analyze = time.perf_counter() - t
            if reference is None:
                reference = result.to_dict()
            same = result.to_dict() == reference
            print(f"{label:16s} import {t_import:6.1f} s ({report.imported_runs / t_import:5.1f} "
                  f"runs/s)   analyze {t_analyze:5.1f} s   same result: {same}")  # fmt: skip


if __name__ == "__main__":
    main()
