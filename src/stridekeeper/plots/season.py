"""Plots across many runs: drop-off over the season, exposure vs drop-off, lag scan, volume."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._common import (
    COLORS,
    as_frame,
    date_axis,
    exposure_label,
    get_axes,
    legend_below,
    no_data,
    numeric,
    utc_naive,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "plot_dropoff_season",
    "plot_exposure_vs_dropoff",
    "plot_lag_scan",
    "plot_weekly_volume",
]

_DROPOFF_LABEL = "stride drop-off [%]"


def plot_dropoff_season(
    runs: pd.DataFrame,
    *,
    ax: Axes | None = None,
    rolling: int = 5,
    band: tuple[float, float] | None = None,
) -> Axes:
    """Late-run stride drop-off of every run across the season.

    Each run with a drop-off is a point at its start time with its 95 % interval as an
    error bar; a centred rolling median over ``rolling`` runs shows the
    trend; the shaded band is the athlete's typical run-to-run variation (median +- 1 SD of
    the drop-offs, or ``band``), so a single run can be read against it. Runs without a
    drop-off (too short, treadmill at changing speed...) are counted in the title.

    Parameters
    ----------
    runs
        One row per run, with :data:`~stridekeeper.metrics.summary.SUMMARY_COLUMNS`
        ``start_time``, ``stride_dropoff_pct`` and, when available,
        ``stride_dropoff_ci95_low_pct`` / ``stride_dropoff_ci95_high_pct``. Object
        columns (a table of ``summarize`` rows) are fine. Not modified.
    ax
        Axes to draw on; a new figure when None.
    rolling
        Runs in the rolling median (centred; at least half of them must be present).
        1 draws no trend line.
    band
        (low, high) of the typical-variation band [%]; default median +- 1 SD of the
        runs' drop-offs (needs 3 runs).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        When ``rolling`` is below 1 or ``band`` is not two numbers with low <= high.
    """
    if int(rolling) < 1:
        raise ValueError(f"rolling must be at least 1 run, got {rolling!r}")
    if band is not None and (len(band) != 2 or not float(band[0]) <= float(band[1])):
        raise ValueError(f"band must be (low, high) with low <= high, got {band!r}")
    ax = get_axes(ax, figsize=(9.0, 4.5))
    title = "Late-run stride drop-off per run"
    xlabel = "run start (UTC)"
    frame = as_frame(runs)
    if len(frame) == 0 or "start_time" not in frame.columns:
        return no_data(ax, "no runs", title=title, xlabel=xlabel, ylabel=_DROPOFF_LABEL)
    t = utc_naive(frame["start_time"])
    y = numeric(frame, "stride_dropoff_pct")
    lo = numeric(frame, "stride_dropoff_ci95_low_pct")
    hi = numeric(frame, "stride_dropoff_ci95_high_pct")
    ok = np.isfinite(y) & ~np.isnat(t)
    n_missing = int((~ok).sum())
    if not ok.any():
        return no_data(ax, "no run has a drop-off", title=title, xlabel=xlabel,
                       ylabel=_DROPOFF_LABEL)  # fmt: skip
    order = np.argsort(t[ok], kind="stable")
    t, y, lo, hi = t[ok][order], y[ok][order], lo[ok][order], hi[ok][order]

    if band is not None:
        b_lo, b_hi = float(band[0]), float(band[1])
        center = (b_lo + b_hi) / 2.0
        band_label = f"typical variation ({b_lo:.1f} to {b_hi:.1f} %)"
    elif len(y) >= 3:
        center, sd = float(np.median(y)), float(np.std(y, ddof=1))
        b_lo, b_hi = center - sd, center + sd
        band_label = f"typical variation: median {center:.1f} % \u00b1 1 SD ({sd:.1f} %)"
    else:
        b_lo = b_hi = center = float("nan")
        band_label = ""
    if np.isfinite(b_lo):
        ax.axhspan(b_lo, b_hi, color=COLORS["grey"], alpha=0.2, lw=0, label=band_label)
        ax.axhline(center, color=COLORS["grey"], lw=1.0, ls=":")
    ax.axhline(0.0, color=COLORS["black"], lw=0.8)

    err = np.vstack([np.clip(y - lo, 0, None), np.clip(hi - y, 0, None)])
    err = np.nan_to_num(err, nan=0.0)
    ax.errorbar(t, y, yerr=err, fmt="o", ms=5, color=COLORS["blue"], ecolor=COLORS["blue"],
                elinewidth=1.0, capsize=2, alpha=0.85, label="run (95 % CI)")  # fmt: skip
    if int(rolling) > 1 and len(y) >= 2:
        med = (pd.Series(y).rolling(int(rolling), center=True, min_periods=(int(rolling) + 1) // 2)
               .median().to_numpy())  # fmt: skip
        ax.plot(t, med, color=COLORS["vermillion"], lw=2.0,
                label=f"rolling median ({int(rolling)} runs)")  # fmt: skip
    date_axis(ax)
    if len(t) == 1:
        one = t[0]
        ax.set_xlim(one - np.timedelta64(7, "D"), one + np.timedelta64(7, "D"))
    note = f"N = {len(y)} runs" + (f"; {n_missing} without a drop-off" if n_missing else "")
    ax.set_title(f"{title}\n{note}", fontsize=11)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"{_DROPOFF_LABEL}\n(+ = shorter steps late)")
    ax.grid(True, axis="y", alpha=0.3)
    legend_below(ax)
    return ax


def _ranks(x: np.ndarray) -> np.ndarray:
    return pd.Series(x).rank(method="average").to_numpy(dtype=float)


def plot_exposure_vs_dropoff(
    linked: pd.DataFrame,
    *,
    exposure: str = "sessions_per_week_14d",
    outcome: str = "stride_dropoff_pct",
    ax: Axes | None = None,
) -> Axes:
    """Scatter of mobility exposure against drop-off, with a fitted line and its 95 % band.

    The line is an ordinary least-squares fit (numpy); the band is its analytic 95 %
    confidence interval for the mean (Student t, N - 2 degrees of freedom). The corner
    text gives Spearman's rho and N. This is a picture of an association: the intervals,
    autocorrelation and controls belong to the analysis, not to the plot.

    Parameters
    ----------
    linked
        One row per run with the ``exposure`` and ``outcome`` columns (e.g. the summary
        rows joined with :func:`~stridekeeper.analysis.consistency.consistency`). Rows
        missing either are left out. Not modified.
    exposure
        Exposure column, e.g. ``"sessions_per_week_14d"`` or ``"minutes_per_week_7d"``.
    outcome
        Outcome column. [%]
    ax
        Axes to draw on; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = get_axes(ax, figsize=(6.5, 5.0))
    xlabel = exposure_label(exposure)
    ylabel = _DROPOFF_LABEL if outcome == "stride_dropoff_pct" else outcome
    title = "Mobility exposure vs late-run drop-off"
    frame = as_frame(linked)
    x, y = numeric(frame, exposure), numeric(frame, outcome)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    n = len(x)
    if n < 3:
        return no_data(ax, f"N = {n} runs with both values; needs 3", title=title,
                       xlabel=xlabel, ylabel=ylabel)  # fmt: skip
    ax.axhline(0.0, color=COLORS["black"], lw=0.8)
    ax.scatter(x, y, s=28, color=COLORS["blue"], alpha=0.75, edgecolor="white", lw=0.5,
               label="run", zorder=3)  # fmt: skip
    sxx = float(((x - x.mean()) ** 2).sum())
    if sxx > 0:
        from ..analysis.numerics import t_ppf

        slope, intercept = np.polyfit(x, y, 1)
        resid = y - (intercept + slope * x)
        s = float(np.sqrt((resid**2).sum() / (n - 2)))
        grid = np.linspace(x.min(), x.max(), 100)
        fit = intercept + slope * grid
        half = t_ppf(0.975, n - 2) * s * np.sqrt(1.0 / n + (grid - x.mean()) ** 2 / sxx)
        ax.fill_between(grid, fit - half, fit + half, color=COLORS["grey"], alpha=0.3, lw=0,
                        label="95 % CI of the fit")  # fmt: skip
        ax.plot(grid, fit, color=COLORS["black"], lw=1.8,
                label=f"least-squares fit ({slope:+.2f} % per unit)")  # fmt: skip
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rho = float(np.corrcoef(_ranks(x), _ranks(y))[0, 1]) if sxx > 0 else float("nan")
    rho_txt = f"{rho:+.2f}" if np.isfinite(rho) else "n/a (exposure constant)"
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"{ylabel}\n(+ = shorter steps late)" if ylabel == _DROPOFF_LABEL else ylabel)
    ax.set_title(f"{title}\nSpearman rho = {rho_txt}, N = {n} runs", fontsize=11)
    ax.grid(True, alpha=0.3)
    legend_below(ax)
    return ax


def _lag_frame(lag_scan: Any) -> pd.DataFrame:
    """Normalise the lag scan to columns window_days, rho, p_adjusted, ci_low, ci_high."""
    frame = as_frame(lag_scan)
    out = pd.DataFrame(index=frame.index)
    for col in ("window_days", "rho", "p_value", "p_adjusted"):
        out[col] = numeric(frame, col)
    lo = numeric(frame, "ci95_low")
    hi = numeric(frame, "ci95_high")
    if "ci95" in frame.columns:
        for i, value in enumerate(frame["ci95"].to_numpy(dtype=object)):
            if isinstance(value, Sequence | np.ndarray) and not isinstance(value, str):
                if len(value) == 2:
                    lo[i], hi[i] = (float(v) if v is not None else np.nan for v in value)
            elif isinstance(value, Mapping):
                lo[i] = float(value.get("low", np.nan))
                hi[i] = float(value.get("high", np.nan))
    out["ci_low"], out["ci_high"] = lo, hi
    return out


def plot_lag_scan(lag_scan: Any, *, ax: Axes | None = None, alpha: float = 0.05) -> Axes:
    """Spearman's rho of exposure vs drop-off for each look-back window.

    One point per window (evenly spaced, labelled with the window), its 95 % interval as
    an error bar when given, a filled marker when the Benjamini-Hochberg-adjusted p-value
    is below ``alpha`` and an open one otherwise (the adjusted p is written beside each
    point), and a zero line.

    Parameters
    ----------
    lag_scan
        A list of dicts (or a DataFrame) with ``window_days``, ``rho``, ``p_value`` and
        ``p_adjusted``; optionally ``ci95`` as ``(low, high)`` or ``ci95_low`` /
        ``ci95_high``. Not modified.
    ax
        Axes to draw on; a new figure when None.
    alpha
        Significance level for the adjusted p-values.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = get_axes(ax, figsize=(6.5, 4.5))
    title = "Lag scan: exposure window vs drop-off"
    xlabel, ylabel = "mobility look-back window", "Spearman rho"
    frame = _lag_frame(lag_scan)
    frame = frame[np.isfinite(frame["window_days"]) & np.isfinite(frame["rho"])]
    if len(frame) == 0:
        return no_data(ax, "no windows with a correlation", title=title, xlabel=xlabel,
                       ylabel=ylabel)  # fmt: skip
    frame = frame.sort_values("window_days", kind="stable").reset_index(drop=True)
    pos = np.arange(len(frame), dtype=float)
    rho = frame["rho"].to_numpy()
    lo, hi = frame["ci_low"].to_numpy(), frame["ci_high"].to_numpy()
    p_adj = frame["p_adjusted"].to_numpy()
    has_ci = np.isfinite(lo) & np.isfinite(hi)
    ax.axhline(0.0, color=COLORS["black"], lw=0.8)
    if has_ci.any():
        err = np.vstack([np.clip(rho - lo, 0, None), np.clip(hi - rho, 0, None)])[:, has_ci]
        ax.errorbar(pos[has_ci], rho[has_ci], yerr=err, fmt="none", ecolor=COLORS["blue"],
                    elinewidth=1.2, capsize=4, label="95 % CI")  # fmt: skip
    sig = np.isfinite(p_adj) & (p_adj < alpha)
    ax.scatter(pos[sig], rho[sig], s=70, marker="o", color=COLORS["vermillion"],
               edgecolor=COLORS["vermillion"], zorder=3,
               label=f"p adj. < {alpha:g}")  # fmt: skip
    ax.scatter(pos[~sig], rho[~sig], s=70, marker="o", facecolor="white",
               edgecolor=COLORS["blue"], lw=1.6, zorder=3,
               label=f"p adj. >= {alpha:g}")  # fmt: skip
    for xi, r, p in zip(pos, rho, p_adj, strict=True):
        if np.isfinite(p):
            txt = "p adj. < 0.001" if p < 0.001 else f"p adj. = {p:.3f}"
            ax.annotate(txt, (xi, r), xytext=(9, 0), textcoords="offset points", va="center",
                        fontsize=7.5, color="#444444")  # fmt: skip
    labels = [("48 h" if w == 2 else f"{w:g} d") for w in frame["window_days"]]
    ax.set_xticks(pos, labels)
    ax.set_xlim(-0.6, len(pos) - 0.4 + 0.5)
    top = np.nanmax(np.concatenate([np.abs(rho), np.abs(lo[has_ci]), np.abs(hi[has_ci])]))
    lim = min(1.05, max(0.3, float(top) * 1.2))
    ax.set_ylim(-lim, lim)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=11)
    ax.grid(True, axis="y", alpha=0.3)
    legend_below(ax)
    ax.get_legend().set_title("p adjusted (Benjamini\u2013Hochberg)", prop={"size": 8})
    return ax


def _week_ordinals(days: np.ndarray) -> np.ndarray:
    """Day ordinals (days since 1970-01-01) -> ordinal of their ISO week's Monday."""
    return days - (days + 3) % 7  # 1970-01-01 was a Thursday


#: Up to this many weeks the weekly volume is drawn as bars, beyond as one filled step line.
MAX_WEEK_BARS = 104


def plot_weekly_volume(
    runs: pd.DataFrame,
    sessions: pd.DataFrame | None = None,
    *,
    ax: Axes | None = None,
    weekly: pd.DataFrame | None = None,
) -> Axes:
    """Weekly running distance (bars) and weekly mobility minutes (line, right axis).

    Weeks run Monday to Sunday; runs are placed by their UTC start date (the summary table
    carries no local offset), mobility sessions by their ``local_date`` (as
    :func:`~stridekeeper.analysis.consistency.weekly_summary` counts them). Weeks without
    runs or sessions between the first and last week show as zero.

    Parameters
    ----------
    runs
        One row per run with ``start_time`` and ``distance_m``. Not modified.
    sessions
        Canonical mobility-session table, or None for distance only. Not modified.
    ax
        Axes to draw on; a new figure when None. Mobility minutes go on ``ax.twinx()``.
    weekly
        ``weekly_summary(sessions)`` when the caller has it already (the report does);
        counted here when None.

    Returns
    -------
    matplotlib.axes.Axes
        The distance Axes.
    """
    ax = get_axes(ax, figsize=(9.0, 4.5))
    title = "Weekly volume"
    xlabel, ylabel = "week (Monday)", "running distance [km/week]"
    frame = as_frame(runs)
    run_weeks = np.empty(0, dtype=np.int64)
    km = np.empty(0)
    if len(frame) and "start_time" in frame.columns:
        t = utc_naive(frame["start_time"])
        dist = numeric(frame, "distance_m") / 1000.0
        ok = ~np.isnat(t) & np.isfinite(dist)
        run_weeks = _week_ordinals(t[ok].astype("datetime64[D]").astype(np.int64))
        km = dist[ok]
    mob_weeks = np.empty(0, dtype=np.int64)
    mob_min = np.empty(0)
    if sessions is not None and len(sessions):
        from ..analysis.consistency import weekly_summary

        ws = weekly_summary(sessions) if weekly is None else weekly
        mob_weeks = (pd.to_datetime(pd.Series(ws["week_start"], dtype=object))
                     .to_numpy(dtype="datetime64[D]").astype(np.int64))  # fmt: skip
        mob_min = ws["minutes"].to_numpy(dtype=float)
    if len(run_weeks) == 0 and len(mob_weeks) == 0:
        return no_data(ax, "no runs or mobility sessions", title=title, xlabel=xlabel,
                       ylabel=ylabel)  # fmt: skip
    all_weeks = np.concatenate([run_weeks, mob_weeks])
    weeks = np.arange(all_weeks.min(), all_weeks.max() + 1, 7)
    km_week = np.zeros(len(weeks))
    np.add.at(km_week, (run_weeks - weeks[0]) // 7, km)
    x = weeks.astype("datetime64[D]")
    # bars centred on the week (Monday + 3.5 days), 6 days wide; date units are days
    centre = x + np.timedelta64(84, "h")
    if len(weeks) <= MAX_WEEK_BARS:
        ax.bar(centre, km_week, width=6.0, color=COLORS["blue"], alpha=0.85,
               label="running distance")  # fmt: skip
    else:  # years of weeks: one filled step outline, not hundreds of bar artists
        edges = np.append(x, x[-1] + np.timedelta64(7, "D"))
        ax.stairs(km_week, edges, fill=True, color=COLORS["blue"], alpha=0.85,
                  label="running distance")  # fmt: skip
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel, color=COLORS["blue"])
    ax.tick_params(axis="y", colors=COLORS["blue"])
    ax.set_ylim(0, max(float(km_week.max()), 1.0) * 1.15)
    ax.grid(True, axis="y", alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    legend_ax = ax
    if len(mob_weeks):
        mins = np.zeros(len(weeks))
        np.add.at(mins, (mob_weeks - weeks[0]) // 7, mob_min)
        tw = ax.twinx()
        few = len(weeks) <= MAX_WEEK_BARS  # markers only where one can tell them apart
        tw.plot(centre, mins, color=COLORS["vermillion"], lw=1.8 if few else 0.8,
                marker="o" if few else None, ms=4, label="mobility minutes")  # fmt: skip
        tw.set_ylim(0, max(float(mins.max()), 1.0) * 1.15)
        tw.set_ylabel("mobility [min/week]", color=COLORS["vermillion"])
        tw.tick_params(axis="y", colors=COLORS["vermillion"])
        h2, l2 = tw.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
        legend_ax = tw
    date_axis(ax)
    pad = np.timedelta64(2, "D")
    ax.set_xlim(x[0] - pad, x[-1] + np.timedelta64(7, "D") + pad)
    total = f"{km_week.sum():.0f} km in {len(weeks)} weeks"
    ax.set_title(f"{title}: {total}", fontsize=11)
    legend_below(ax, handles, labels, host=legend_ax)
    return ax
