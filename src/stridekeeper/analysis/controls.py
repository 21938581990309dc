"""What the statistics are computed on: the outcome, the runs needed, the controls usable.

Shared by the single-athlete statistics (:mod:`.stats`) and the cohort model (:mod:`.cohort`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["DEFAULT_CONTROLS", "MAX_CONTROL_MISSING", "MIN_RUNS", "OUTCOME", "select_controls"]

#: The outcome column.
OUTCOME = "stride_dropoff_pct"
#: Columns controlled for in the partial regression, where present.
DEFAULT_CONTROLS: tuple[str, ...] = (
    "moving_time_s",
    "avg_speed_mps",
    "elevation_gain_m",
    "avg_temperature_c",
)
#: Fewest runs (with a drop-off and an exposure) the statistics are computed on.
MIN_RUNS = 10
#: Controls with this share of missing values or more are left out.
MAX_CONTROL_MISSING = 0.2


def select_controls(
    frame: pd.DataFrame, candidates: Sequence[str] = DEFAULT_CONTROLS
) -> tuple[list[str], list[str]]:
    """Controls usable in the regression: present, numeric, varying, < 20 % missing.

    Parameters
    ----------
    frame
        The runs that enter the analysis.
    candidates
        Column names to consider.

    Returns
    -------
    used, left_out
        Column names; ``left_out`` as ``"name (reason)"`` strings.
    """
    used: list[str] = []
    left: list[str] = []
    for col in candidates:
        if col not in frame.columns:
            left.append(f"{col} (absent)")
            continue
        values = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)
        finite = np.isfinite(values)
        if len(values) == 0 or (~finite).mean() >= MAX_CONTROL_MISSING:
            left.append(f"{col} (missing in {100 * (~finite).mean():.0f} % of runs)")
        elif np.nanmax(values) - np.nanmin(values) <= 0:
            left.append(f"{col} (no variation)")
        else:
            used.append(col)
    return used, left
