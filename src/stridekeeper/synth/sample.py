"""The bundled sample data: a few simulated runs written as a watch would write them."""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Any

import pandas as pd

from .files import write_run_fit
from .runs import simulate_run

__all__ = ["SAMPLE_RUNS", "write_sample_runs"]

#: name -> (days after the first run, simulate_run keywords, description).
SAMPLE_RUNS: dict[str, tuple[int, dict[str, Any], str]] = {
    "2026-03-02-easy": (0, dict(duration_s=3000, speed_mps=2.9, seed=101),
                        "easy 50 min, no fatigue"),
    "2026-03-05-long-fatigued": (3, dict(duration_s=5400, speed_mps=2.9, fatigue_pct=6.0,
                                         pauses=[(2700.0, 90.0)], seed=102),
                                 "long 90 min with a pause; steps 6 % shorter in the last third"),
    "2026-03-08-progression": (6, dict(duration_s=3600, speed_mps=2.7, progression=0.3, seed=103),
                               "progression run, 30 % faster by the end, no fatigue"),
    "2026-03-10-hills": (8, dict(duration_s=4200, speed_mps=2.8, hills_amplitude_m=15.0,
                                 fatigue_pct=4.0, seed=104),
                         "rolling hills, steps 4 % shorter in the last third"),
    "2026-03-12-treadmill": (10, dict(duration_s=2700, speed_mps=3.2, treadmill=True,
                                      with_step_length=False, seed=105),
                             "treadmill 45 min, no GPS, no per-record step length"),
    "2026-03-14-walk-break": (12, dict(duration_s=3300, speed_mps=3.0, walk_break=(1500.0, 180.0),
                                       fatigue_pct=3.0, seed=106),
                              "run with a 3-minute walk break; steps 3 % shorter late"),
    "2026-03-16-short": (14, dict(duration_s=900, speed_mps=3.1, seed=107),
                         "15-minute shake-out: too short for a drop-off"),
}  # fmt: skip


def write_sample_runs(folder: str | PathLike[str], *, start: str = "2026-03-02T06:30:00Z") -> dict:
    """Write the sample runs as FIT files into ``folder``.

    Parameters
    ----------
    folder
        Destination (created if needed).
    start
        Start of the first run, UTC.

    Returns
    -------
    dict
        name -> {"file", "description", "truth"} for a manifest.
    """
    out = Path(folder)
    t0 = pd.Timestamp(start)
    manifest = {}
    for name, (day, kw, desc) in SAMPLE_RUNS.items():
        sim = simulate_run(start_time=t0 + pd.Timedelta(days=day), **kw)
        path = write_run_fit(sim, out / f"{name}.fit")
        truth = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in sim.truth.items()}
        manifest[name] = {"file": path.name, "description": desc, "truth": truth}
    return manifest
