"""stridekeeper: does my mobility work keep my stride from falling apart late in my runs?

Public API (imported lazily, so the command line starts fast)::

    import stridekeeper as sk
    runs = sk.read_runs("morning_run.fit", sport="running")
    row = sk.summarize(runs[0])          # cadence, step length, drop-off ...
    row["stride_dropoff_pct"]

    lib = sk.import_paths(["~/watch/"], "my-library")      # or the `stridekeeper import` CLI
    result = sk.analyze(sk.Library.open("my-library").runs(), sk.Library.open("my-library").mobility())
    print(result.to_text())

Plots live in ``stridekeeper.plots`` (the only module that imports matplotlib).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "Run": ".schema",
    "RECORD_COLUMNS": ".schema",
    "REGIONS": ".schema",
    "validate_records": ".schema",
    "validate_sessions": ".schema",
    "StridekeeperError": ".errors",
    "UnsupportedFormatError": ".errors",
    "CorruptFileError": ".errors",
    "SchemaError": ".errors",
    "MobilityLogError": ".errors",
    "InsufficientDataError": ".errors",
    "DataQualityWarning": ".errors",
    "read_runs": ".io.dispatch",
    "read_bytes": ".io.dispatch",
    "read_fit": ".io.fit",
    "read_tcx": ".io.tcx",
    "read_gpx": ".io.gpx",
    "read_csv_run": ".io.csv",
    "read_apple_health": ".io.apple_health",
    "read_apple_health_mobility": ".io.apple_health",
    "summarize": ".metrics.summary",
    "stride_dropoff": ".metrics.dropoff",
    "moving_mask": ".metrics.moving",
    "simulate_run": ".synth.runs",
    "simulate_season": ".synth.season",
    "simulate_cohort": ".synth.season",
    "power": ".synth.season",
    "AnalysisResult": ".analysis.result",
    "Library": ".library.store",
    "import_paths": ".library.importer",
    "read_mobility": ".io.mobility",
    "read_mobility_log": ".io.mobility_log",
    "read_fit_mobility": ".io.mobility_fit",
    "consistency": ".analysis.consistency",
    "weekly_summary": ".analysis.consistency",
    "link_exposure": ".analysis.link",
    "analyze": ".analysis.stats",
    "report_inputs": ".pipeline",
    "write_report": ".pipeline",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'stridekeeper' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
