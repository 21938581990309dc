"""Plots of one run: step length and cadence over moving time, step length against speed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..metrics.averages import step_length_series_m
from ..metrics.dropoff import DropoffResult, stride_dropoff
from ..metrics.moving import moving_mask, sample_weights_s
from ..schema import Run
from ._common import COLORS, get_axes, legend_below, no_data, pct_text

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_run_stride", "plot_step_vs_speed"]

#: Samples steeper than this are left out of the drop-off (and of the step/speed plot). [%]
_MAX_ABS_GRADE_PCT = 4.0


@dataclass(frozen=True)
class _RunData:
    moving_min: np.ndarray  # moving time at each moving sample [min]
    step_m: np.ndarray
    cadence_spm: np.ndarray
    speed_mps: np.ndarray
    grade_pct: np.ndarray
    dropoff: DropoffResult


def _records(data: pd.DataFrame | Run) -> pd.DataFrame:
    if isinstance(data, Run):
        return data.records
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"records must be a DataFrame or a Run, got {type(data).__name__}")
    return data


def _col(records: pd.DataFrame, name: str) -> np.ndarray:
    if name in records.columns:
        return pd.to_numeric(records[name], errors="coerce").to_numpy(dtype=float)
    return np.full(len(records), np.nan)


def _prepare(records: pd.DataFrame, dropoff: DropoffResult | None) -> _RunData | None:
    """Moving samples with their moving time (as :func:`stride_dropoff` counts it)."""
    if len(records) == 0 or "speed_mps" not in records.columns:
        return None
    moving = moving_mask(records)
    w = np.where(moving, sample_weights_s(records), 0.0)
    mt = np.cumsum(w) - w / 2.0
    keep = moving & (w > 0)
    if not keep.any():
        return None
    step, _ = step_length_series_m(records)
    if dropoff is None:
        dropoff = stride_dropoff(records)
    return _RunData(
        moving_min=mt[keep] / 60.0,
        step_m=step[keep],
        cadence_spm=_col(records, "cadence_spm")[keep],
        speed_mps=_col(records, "speed_mps")[keep],
        grade_pct=_col(records, "grade_pct")[keep],
        dropoff=dropoff,
    )


def _predicted_step_m(d: _RunData) -> np.ndarray | None:
    """coef . [1, speed, grade] for every moving sample, as the drop-off model predicts."""
    if not d.dropoff.coef:
        return None
    return d.dropoff.predicted_step_m(d.speed_mps, d.grade_pct)


def _rolling_median(minutes: np.ndarray, y: np.ndarray, window_s: float) -> np.ndarray:
    """Centred rolling median over a time window (irregular sampling allowed)."""
    if window_s <= 0 or len(y) == 0:
        return np.asarray(y, dtype=float)
    index = pd.to_timedelta(minutes * 60.0, unit="s")
    series = pd.Series(y, index=index)
    return (
        series.rolling(pd.Timedelta(seconds=window_s), center=True, min_periods=1)
        .median()
        .to_numpy()
    )


def _dropoff_title(d: DropoffResult) -> str:
    if np.isfinite(d.stride_dropoff_pct):
        lo, hi = d.ci95_pct
        ci = f" (95 % CI {lo:.1f} to {hi:.1f})" if np.isfinite(lo) and np.isfinite(hi) else ""
        return f"drop-off {pct_text(d.stride_dropoff_pct)}{ci}"
    return f"no drop-off: {d.reason}" if d.reason else "no drop-off"


def _robust_limits(*arrays: np.ndarray, pad: float = 0.08) -> tuple[float, float] | None:
    values = np.concatenate([a[np.isfinite(a)] for a in arrays if a is not None])
    if len(values) == 0:
        return None
    lo, hi = np.percentile(values, [0.5, 99.5])
    span = max(hi - lo, 1e-3 * max(abs(hi), 1.0))
    return float(lo - pad * span), float(hi + pad * span)


def plot_run_stride(
    records: pd.DataFrame | Run,
    dropoff: DropoffResult | None = None,
    *,
    ax: Axes | None = None,
    smooth_s: float = 30.0,
    show_raw: bool = True,
) -> Axes:
    """Step length and cadence of one run over moving time, with the drop-off windows.

    Step length (left axis) and cadence (right axis, a twin of ``ax``) are drawn over
    moving time (pauses, walking and standing left out, as the drop-off counts time), each
    smoothed with a centred rolling median. The dashed line is the step length the
    drop-off's speed/grade model predicts (``coef . [1, speed, grade]``) over the whole
    run, smoothed the same way: a late-window line below it is a drop-off. The reference
    and late windows of :func:`~stridekeeper.metrics.dropoff.stride_dropoff` are shaded.

    Parameters
    ----------
    records
        A ``Run.records`` table (or a :class:`~stridekeeper.schema.Run`). Not modified.
    dropoff
        The run's drop-off; computed with the defaults when None.
    ax
        Axes to draw on; a new figure when None. Cadence goes on ``ax.twinx()`` (found in
        ``ax.figure.axes``).
    smooth_s
        Rolling-median window; 0 draws the samples unsmoothed. [s]
    show_raw
        Also draw the unsmoothed step length, faintly.

    Returns
    -------
    matplotlib.axes.Axes
        The step-length Axes.
    """
    rec = _records(records)
    ax = get_axes(ax, figsize=(9.0, 4.8))
    xlabel, ylabel = "moving time [min]", "step length [m]"
    title = "Step length and cadence over the run"
    d = _prepare(rec, dropoff)
    if d is None or not np.isfinite(d.step_m).any():
        return no_data(ax, "no moving samples with step length", title=title, xlabel=xlabel,
                       ylabel=ylabel)  # fmt: skip
    x = d.moving_min
    step_sm = _rolling_median(x, d.step_m, smooth_s)
    cad_sm = _rolling_median(x, d.cadence_spm, smooth_s)
    pred = _predicted_step_m(d)
    pred_sm = _rolling_median(x, pred, smooth_s) if pred is not None else None

    win = d.dropoff.windows_s
    if {"warmup_end", "reference_end", "late_start", "total"} <= set(win):
        ax.axvspan(win["warmup_end"] / 60, win["reference_end"] / 60, color=COLORS["sky_blue"],
                   alpha=0.18, lw=0, label="reference window")  # fmt: skip
        ax.axvspan(win["late_start"] / 60, win["total"] / 60, color=COLORS["orange"],
                   alpha=0.22, lw=0, label="late window")  # fmt: skip
    if show_raw and smooth_s > 0:
        ax.plot(x, d.step_m, color=COLORS["blue"], lw=0.5, alpha=0.25, label="_raw")
    smooth_txt = f" ({smooth_s:g}-s median)" if smooth_s > 0 else ""
    ax.plot(x, step_sm, color=COLORS["blue"], lw=1.8, label=f"step length{smooth_txt}")
    if pred_sm is not None:
        pred_label = {"speed+grade": "predicted from speed and grade",
                      "speed": "predicted from speed"}.get(
            d.dropoff.model or "", "predicted")  # fmt: skip
        ax.plot(x, pred_sm, color=COLORS["black"], lw=1.4, ls="--", label=pred_label)
    lims = _robust_limits(step_sm, pred_sm if pred_sm is not None else np.array([]))
    if lims is not None:
        # room below the lines for the cadence, which the twin axis draws in the lower part
        lo, hi = lims
        ax.set_ylim(lo - 0.9 * (hi - lo), hi + 0.15 * (hi - lo))
    ax.set_xlim(0, float(np.nanmax(x)) * 1.01 if len(x) else 1)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel, color=COLORS["blue"])
    ax.tick_params(axis="y", colors=COLORS["blue"])
    ax.set_title(f"{title}\n{_dropoff_title(d.dropoff)}", fontsize=11)

    handles, labels = ax.get_legend_handles_labels()
    if np.isfinite(cad_sm).any():
        tw = ax.twinx()
        tw.plot(x, cad_sm, color=COLORS["green"], lw=1.3, label=f"cadence{smooth_txt}")
        clims = _robust_limits(cad_sm)
        if clims is not None:
            lo, hi = clims
            tw.set_ylim(lo - 0.15 * (hi - lo), hi + 1.1 * (hi - lo))
        tw.set_ylabel("cadence [steps/min]", color=COLORS["green"])
        tw.tick_params(axis="y", colors=COLORS["green"])
        h2, l2 = tw.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
        legend_ax = tw
    else:
        legend_ax = ax
    legend_below(ax, handles, labels, host=legend_ax)
    return ax


def plot_step_vs_speed(
    records: pd.DataFrame | Run,
    dropoff: DropoffResult | None = None,
    *,
    ax: Axes | None = None,
) -> Axes:
    """Step length against speed, reference window vs late window.

    The samples shown are those the drop-off compares: moving, with step length and speed,
    on ground no steeper than +-4 %, inside the reference or the late window. The reference
    line is the drop-off's own model at 0 % grade (a robust fit of step length on speed,
    and grade when the run is hilly), solid over the reference speeds and dashed where it
    is extrapolated; the late line is an ordinary least-squares fit of the late samples. A
    late line below the reference line means shorter steps late at the same speed.

    Parameters
    ----------
    records
        A ``Run.records`` table (or a :class:`~stridekeeper.schema.Run`). Not modified.
    dropoff
        The run's drop-off; computed with the defaults when None.
    ax
        Axes to draw on; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes
    """
    rec = _records(records)
    ax = get_axes(ax, figsize=(6.5, 5.0))
    xlabel, ylabel = "speed [m/s]", "step length [m]"
    title = "Step length vs speed: reference vs late window"
    d = _prepare(rec, dropoff)
    if d is None:
        return no_data(ax, "no moving samples", title=title, xlabel=xlabel, ylabel=ylabel)
    win = d.dropoff.windows_s
    if not {"warmup_end", "reference_end", "late_start"} <= set(win):
        reason = d.dropoff.reason or "no drop-off windows"
        return no_data(ax, reason, title=title, xlabel=xlabel, ylabel=ylabel)
    t_s = d.moving_min * 60.0
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(d.step_m) & np.isfinite(d.speed_mps) & ~(
            np.abs(d.grade_pct) > _MAX_ABS_GRADE_PCT)  # fmt: skip
    ref = ok & (t_s >= win["warmup_end"]) & (t_s < win["reference_end"])
    late = ok & (t_s >= win["late_start"])
    if ref.sum() < 3 or late.sum() < 3:
        return no_data(ax, "too few samples in the windows", title=title, xlabel=xlabel,
                       ylabel=ylabel)  # fmt: skip
    groups = (
        ("reference window", ref, COLORS["blue"], "o"),
        ("late window", late, COLORS["vermillion"], "^"),
    )
    for label, mask, color, marker in groups:
        ax.scatter(d.speed_mps[mask], d.step_m[mask], s=7, alpha=0.3, color=color,
                   marker=marker, lw=0, label=f"{label} (n = {int(mask.sum())})")  # fmt: skip
    s_all = d.speed_mps[ref | late]
    lo_all, hi_all = np.percentile(s_all, [1, 99])
    coef = d.dropoff.coef
    s_ref = d.speed_mps[ref]
    lo_r, hi_r = np.percentile(s_ref, [1, 99])
    if coef:
        model = d.dropoff

        def line(s: np.ndarray) -> np.ndarray:
            return model.predicted_step_m(s)

        fit_label = "reference model (drop-off fit, level ground)"
    else:
        b1, b0 = np.polyfit(s_ref, d.step_m[ref], 1)

        def line(s: np.ndarray) -> np.ndarray:
            return b0 + b1 * s

        fit_label = "reference fit (least squares)"
    grid = np.linspace(lo_r, hi_r, 50)
    ax.plot(grid, line(grid), color=COLORS["blue"], lw=2.2, label=fit_label)
    for a, b in ((lo_all, lo_r), (hi_r, hi_all)):
        if b > a:
            g = np.linspace(a, b, 20)
            ax.plot(g, line(g), color=COLORS["blue"], lw=1.5, ls="--")
    s_late, y_late = d.speed_mps[late], d.step_m[late]
    if np.ptp(s_late) > 1e-6:
        b1, b0 = np.polyfit(s_late, y_late, 1)
        lo_l, hi_l = np.percentile(s_late, [1, 99])
        g = np.linspace(lo_l, hi_l, 50)
        ax.plot(g, b0 + b1 * g, color=COLORS["vermillion"], lw=2.2,
                label="late fit (least squares)")  # fmt: skip
    else:
        ax.axhline(float(np.mean(y_late)), color=COLORS["vermillion"], lw=2.2,
                   label="late mean")  # fmt: skip
    y_all = d.step_m[ref | late]
    ylo, yhi = np.percentile(y_all, [0.5, 99.5])
    pad = 0.1 * max(yhi - ylo, 1e-3)
    ax.set_ylim(ylo - pad, yhi + pad)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(f"{title}\n{_dropoff_title(d.dropoff)}", fontsize=11)
    ax.grid(True, alpha=0.3)
    leg = ax.legend(loc="upper left", fontsize=8, markerscale=2.5)
    for handle in leg.legend_handles:
        if hasattr(handle, "set_alpha"):
            handle.set_alpha(0.9)
    return ax
