"""The main job end to end, on the public API: library -> analysis -> report inputs -> PDF.

Used by ``stridekeeper report`` and ``stridekeeper demo``; importable for notebooks.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from .report.build import ReportInputs

__all__ = ["report_inputs", "run_table_path", "write_report"]


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
    from .analysis.consistency import weekly_summary
    from .analysis.link import link_exposure
    from .analysis.stats import analysis_windows, analyze_linked
    from .library.store import Library
    from .metrics.dropoff import stride_dropoff

    lib = Library.open(library)
    runs = lib.runs(since=since, until=until, athlete=athlete)
    all_sessions = lib.mobility(athlete=athlete)
    sessions = all_sessions
    if len(sessions):
        # the period the report names: the dates given, else the days of its first and last run
        day = pd.Timedelta(days=1)
        first = runs["start_time"].min().normalize() if len(runs) else None
        last = runs["start_time"].max().normalize() + day if len(runs) else None
        lo = pd.Timestamp(since, tz="UTC") if since is not None else first
        hi = pd.Timestamp(until, tz="UTC") + day if until is not None else last
        keep = pd.Series(True, index=sessions.index)
        if lo is not None:
            keep &= sessions["start_time"] >= lo
        if hi is not None:
            keep &= sessions["start_time"] < hi
        sessions = sessions[keep].reset_index(drop=True)
    analysis = None
    linked = None
    example = None
    if len(runs):
        # linked once: the analysis and the scatter read the same table
        windows, lagged = analysis_windows(window_days)
        linked = link_exposure(runs, all_sessions, windows_days=windows,
                               lagged_windows_days=lagged)  # fmt: skip
        analysis = analyze_linked(linked, exposure=exposure, window_days=window_days, seed=seed)
        with_drop = runs[runs["stride_dropoff_pct"].notna()]
        if len(with_drop):
            row = with_drop.iloc[-1]
            records = lib.records(row["run_id"])
            label = pd.Timestamp(row["start_time"]).strftime("%Y-%m-%d")
            example = (records, _stored_dropoff(records, row, stride_dropoff), label)
    weekly = weekly_summary(sessions) if len(sessions) else None
    return ReportInputs(runs=runs, sessions=sessions, linked=linked, analysis=analysis,
                        example=example, since=since, until=until, athlete=athlete,
                        weekly=weekly,
                        experiment=experiment_for_report(library, runs, all_sessions),
                        kinds=_kinds(runs, sessions, all_sessions))  # fmt: skip


def _kinds(runs: pd.DataFrame, sessions: pd.DataFrame, all_sessions: pd.DataFrame) -> Any:
    """Sessions per kind in the period, and the exploratory test of each kind (BH-adjusted)."""
    if not len(sessions):
        return None
    from .analysis.exposure_kinds import exposure_by_kind, kinds_done

    explored = exposure_by_kind(runs, all_sessions) if len(runs) else None
    return kinds_done(sessions), explored


def _stored_dropoff(records: pd.DataFrame, row: pd.Series, stride_dropoff: Any) -> Any:
    """The run's drop-off for its detail page: windows and fit again, the numbers as stored
    (so the page shows what the library and every other page say about this run)."""
    import dataclasses

    gait = pd.to_numeric(row.get("gait_cadence_spm"), errors="coerce")
    res = stride_dropoff(records, **({"gait_cadence_spm": float(gait)} if pd.notna(gait) else {}))
    lo = row.get("stride_dropoff_ci95_low_pct", float("nan"))
    hi = row.get("stride_dropoff_ci95_high_pct", float("nan"))
    return dataclasses.replace(res, stride_dropoff_pct=float(row["stride_dropoff_pct"]),
                               ci95_pct=(float(lo), float(hi)))  # fmt: skip


def run_table_path(out: str | os.PathLike[str]) -> Path:
    """Where the per-run CSV of the report at ``out`` goes: ``<name>-runs.csv`` beside it."""
    pdf = Path(out)
    return pdf.with_name(f"{pdf.stem}-runs.csv")


def write_report(
    inputs: ReportInputs,
    out: str | os.PathLike[str],
    *,
    author: str = "stridekeeper",
    run_table: bool = False,
    csv: bool = True,
) -> Path:
    """Build the report's pages from ``inputs`` and write the PDF to ``out``.

    Every run of the period also goes to ``<name>-runs.csv`` beside the PDF (``csv=False``
    skips it); ``run_table=True`` lists them in the PDF too, as plain text.
    """
    from .plots.document import write_pdf
    from .report.build import build_report, run_table_csv

    path = write_pdf(build_report(inputs, author=author, run_table=run_table), out)
    if csv and len(inputs.runs):
        target = run_table_path(path)
        tmp = target.with_name(f".{target.name}.tmp")
        run_table_csv(inputs.runs).to_csv(tmp, index=False)
        os.replace(tmp, target)
    return path


#: The stored experiment plan, beside the library's manifest.
PLAN_FILE = "experiment.json"


def load_plan(library: str | os.PathLike[str] | None) -> Any:
    """The stored :class:`~stridekeeper.analysis.experiment.ExperimentPlan`, or None."""
    import json

    from .analysis.experiment import ExperimentPlan
    from .library.store import default_library_path

    root = Path(library).expanduser() if library else default_library_path()
    path = root / PLAN_FILE
    if not path.is_file():
        return None
    return ExperimentPlan.from_dict(json.loads(path.read_text()))


def experiment_for_report(library: Any, runs: Any, sessions: Any) -> tuple[Any, Any] | None:
    """(result, logged dates) of the library's stored plan for the report, or None."""
    from .analysis.experiment import analyze_experiment

    plan = load_plan(library)
    if plan is None:
        return None
    result = analyze_experiment(plan, runs, sessions)
    return result, list(sessions["local_date"]) if len(sessions) else []
