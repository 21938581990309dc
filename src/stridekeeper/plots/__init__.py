"""Figures: the only part of stridekeeper that imports matplotlib.

Every function follows the xarray convention: ``plot_<thing>(data, *, ax=None, ...)`` draws
on ``ax`` (or on a new figure when ``ax`` is None), never calls ``plt.show()`` and returns
the Axes. matplotlib is imported inside the functions, so importing this package is cheap.
Empty or all-NaN inputs draw a "not enough data" note instead of raising.

=============================  ==========================================================
function                       what it shows
=============================  ==========================================================
:func:`plot_run_stride`        one run's step length and cadence over moving time, the
                               drop-off windows and the speed/grade-predicted step length
:func:`plot_step_vs_speed`     one run's step length vs speed, reference vs late window
:func:`plot_dropoff_season`    drop-off per run across the season, trend, typical band
:func:`plot_exposure_vs_dropoff`  exposure vs drop-off, OLS line and 95 % band, rho, N
:func:`plot_lag_scan`          Spearman rho per look-back window, BH-adjusted p
:func:`plot_mobility_calendar` calendar heatmap of mobility minutes per local day
:func:`plot_kinds_done`        sessions per body region, context and range feel
:func:`plot_weekly_volume`     weekly running km (bars) and mobility minutes (line)
=============================  ==========================================================
"""

from .mobility import plot_kinds_done, plot_mobility_calendar
from .run import plot_run_stride, plot_step_vs_speed
from .season import (
    plot_dropoff_season,
    plot_exposure_vs_dropoff,
    plot_lag_scan,
    plot_weekly_volume,
)

__all__ = [
    "plot_dropoff_season",
    "plot_exposure_vs_dropoff",
    "plot_kinds_done",
    "plot_lag_scan",
    "plot_mobility_calendar",
    "plot_run_stride",
    "plot_step_vs_speed",
    "plot_weekly_volume",
]
