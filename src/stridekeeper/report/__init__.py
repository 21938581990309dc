"""The PDF trend report: pages assembled from computed results (no statistics here)."""

from .build import ReportInputs, build_report

__all__ = ["ReportInputs", "build_report"]
