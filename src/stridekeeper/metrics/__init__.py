"""Pure per-run metrics: moving mask, averages, late-run drop-off, the summary row."""

from .averages import (
    avg_cadence_spm,
    avg_step_length_m,
    distance_m,
    running_cadence_spm,
    step_length_series_m,
)
from .dropoff import DropoffResult, stride_dropoff
from .moving import moving_mask, sample_weights_s, speed_spike_mask
from .summary import SUMMARY_COLUMNS, summarize

__all__ = [
    "SUMMARY_COLUMNS",
    "DropoffResult",
    "avg_cadence_spm",
    "avg_step_length_m",
    "distance_m",
    "moving_mask",
    "running_cadence_spm",
    "sample_weights_s",
    "speed_spike_mask",
    "step_length_series_m",
    "stride_dropoff",
    "summarize",
]
