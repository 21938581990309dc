"""The main job end to end, on the public API: library -> analysis -> report inputs -> PDF.

Used by ``stridekeeper report`` and ``stridekeeper demo``; importable for notebooks.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from .report.build import ReportInputs

__all__ = ["report_inputs", "write_report"]


def report_inputs(
    library: str | os.PathLike[str] | None = None,
    *,
    since: str | None = None,
    until: str | None = None,
    athlete: str | None = None,
    exposure: str = "sessions_per_week",
    window_days: float = 14,
    seed: int = 0,
) -> ReportInputs:
    """Compute everything the report shows for one period.

    Parameters
    ----------
    library
        Library folder (default location when None).
    since, until
        Period (``YYYY-MM-DD``; open when None). Mobility work before ``since`` still
        counts towards the exposure of the first runs.
    athlete
        One athlete of a cohort library.
    exposure, window_days
        The main exposure measure and its look-back window. [days]
    seed
        Bootstrap seed.

    Returns
    -------
    ReportInputs
    """
    from .analysis.link import link_exposure
    from .analysis.stats import LAG_WINDOWS_DAYS, analyze
    from .library import Library
    from .metrics.dropoff import stride_dropoff

    lib = Library.open(library)
    runs = lib.runs(since=since, until=until, athlete=athlete)
    all_sessions = lib.mobility(athlete=athlete)
    sessions = all_sessions
    if len(sessions):
        keep = pd.Series(True, index=sessions.index)
        if since is not None:
            keep &= sessions["start_time"] >= pd.Timestamp(since, tz="UTC")
        if until is not None:
            keep &= sessions["start_time"] < pd.Timestamp(until, tz="UTC") + pd.Timedelta(days=1)
        sessions = sessions[keep].reset_index(drop=True)
    analysis: dict[str, Any] | None = None
    linked = None
    example = None
    if len(runs):
        result = analyze(runs, all_sessions, exposure=exposure, window_days=window_days, seed=seed)
        analysis = result.to_dict()
        windows = sorted({*LAG_WINDOWS_DAYS, float(window_days)})
        linked = link_exposure(runs, all_sessions, windows_days=windows)
        with_drop = runs[runs["stride_dropoff_pct"].notna()]
        if len(with_drop):
            row = with_drop.iloc[-1]
            records = lib.records(row["run_id"])
            label = pd.Timestamp(row["start_time"]).strftime("%Y-%m-%d")
            example = (records, stride_dropoff(records), label)
    from .commands.experiment import experiment_for_report

    return ReportInputs(runs=runs, sessions=sessions, linked=linked, analysis=analysis,
                        example=example, since=since, until=until, athlete=athlete,
                        experiment=experiment_for_report(library, runs, all_sessions))  # fmt: skip


def write_report(
    inputs: ReportInputs, out: str | os.PathLike[str], *, author: str = "stridekeeper"
) -> Path:
    """Build the report's pages from ``inputs`` and write the PDF to ``out``."""
    from .plots.document import write_pdf
    from .report.build import build_report

    return write_pdf(build_report(inputs, author=author), out)
