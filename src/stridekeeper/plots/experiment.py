"""Figures of the planned experiment: the schedule against the log, and drop-off per block."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

ON, OFF = "#2a9d8f", "#d9d9d9"


def plot_experiment_calendar(result: Any, sessions_dates: Any = (), ax: Any = None) -> Any:
    """One row per week, one cell per day: on blocks green, off grey, wash-in paler; a dot on
    each day with a logged session. Returns the Axes."""
    from matplotlib.patches import Rectangle

    from ._common import get_axes

    ax = get_axes(ax, figsize=(7, 3))
    plan = result.plan
    logged = set(sessions_dates)
    n_weeks = ((plan.end - plan.start).days + 1 + 6) // 7
    for b in plan.blocks:
        d = b.start
        while d <= b.end:
            i = (d - plan.start).days
            week, dow = divmod(i, 7)
            color = ON if b.condition == "on" else OFF
            alpha = 0.45 if d < b.analysed_from else 1.0
            ax.add_patch(Rectangle((dow, week), 0.95, 0.95, color=color, alpha=alpha, lw=0))
            if d in logged:
                ax.plot(dow + 0.475, week + 0.475, "o", color="black", ms=3)
            d += timedelta(days=1)
    ax.set_xlim(0, 7)
    ax.set_ylim(n_weeks, 0)
    ax.set_xticks([i + 0.475 for i in range(7)], ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat",
                                                   "Sun"][: 7])  # fmt: skip
    ax.set_yticks([w + 0.475 for w in range(n_weeks)],
                  [str(plan.start + timedelta(days=7 * w)) for w in range(n_weeks)], fontsize=6)  # fmt: skip
    ax.set_title("Plan (green on, grey off, pale = wash-in) and logged sessions (dots)",
                 fontsize=8)  # fmt: skip
    return ax


def plot_experiment_blocks(result: Any, ax: Any = None) -> Any:
    """Mean drop-off of each block's analysed runs, on vs off, pairs side by side."""
    from ._common import get_axes

    ax = get_axes(ax, figsize=(7, 3))
    b = result.blocks
    colors = [ON if c == "on" else OFF for c in b["condition"]]
    ax.bar(b["block"], b["mean_dropoff_pct"].fillna(0), color=colors, edgecolor="black", lw=0.5)
    for x, n in zip(b["block"], b["runs"], strict=True):
        ax.annotate(f"{n} runs", (x, 0), xytext=(0, -12), textcoords="offset points",
                    ha="center", fontsize=6)  # fmt: skip
    ax.set_xlabel("block")
    ax.set_ylabel("mean drop-off [% points]")
    ax.set_title("Drop-off per block (green on, grey off)", fontsize=8)
    return ax
