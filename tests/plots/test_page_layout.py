"""The chart pages' layout measures what sticks out of each axes without laying the ticks
out (plots.document._outer_px); it must find what matplotlib's own tight bbox finds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from stridekeeper.plots.document import PAGE_SIZE_IN, _outer_px, _shares_cell


def _tight_px(fig: Figure, ax) -> tuple[float, float, float, float]:
    box = ax.bbox
    outer = [a.get_tightbbox() for a in fig.axes if _shares_cell(a, ax)]
    outer = [b for b in outer if b is not None]
    return (max(box.x0 - b.x0 for b in outer), max(b.x1 - box.x1 for b in outer),
            max(b.y1 - box.y1 for b in outer), max(box.y0 - b.y0 for b in outer))  # fmt: skip


def _dates(ax) -> None:
    t = pd.date_range("2024-01-01", periods=300, freq="D", tz="UTC")
    ax.plot(t, np.sin(np.arange(300) / 20.0) * 3.0, label="drop-off")
    ax.set_ylabel("drop-off [%]")
    ax.set_title("A season\nwith a second title line", fontsize=11)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2, frameon=False)


def _twin(ax) -> None:
    ax.plot(np.arange(3600), 1.1 + 0.01 * np.random.default_rng(1).standard_normal(3600))
    ax.set_xlabel("time [s]")
    ax.set_ylabel("step length [m]")
    tw = ax.twinx()
    tw.plot(np.arange(3600), np.full(3600, 172.0))
    tw.set_ylabel("cadence [steps/min]")


def _offset_and_rotated(ax) -> None:
    ax.plot([2016.0001, 2016.0002, 2016.0003], [1e5, 3e5, 2e5])  # offset texts on both axes
    ax.tick_params(axis="x", labelrotation=45)


def _calendar(ax) -> None:
    mesh = ax.pcolormesh(np.random.default_rng(2).random((7, 26)))
    cax = ax.inset_axes((1.02, 0.0, 0.02, 1.0))
    ax.get_figure().colorbar(mesh, cax=cax, label="minutes")
    ax.set_yticks(range(7), ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"])
    ax.annotate("12 runs", (13, 0), xytext=(0, -30), textcoords="offset points")


def _bare(ax) -> None:
    ax.set_axis_off()
    ax.text(0.5, 0.5, "not enough data", transform=ax.transAxes, ha="center")


@pytest.mark.parametrize("draw", [_dates, _twin, _offset_and_rotated, _calendar, _bare])
def test_measured_extent_is_matplotlibs_tight_bbox(draw) -> None:
    fig = Figure(figsize=PAGE_SIZE_IN)
    ax, below = fig.subplots(2, 1)
    draw(ax)
    _twin(below)
    renderer = fig._get_renderer()
    for a in (ax, below):
        got = _outer_px(a, [b for b in fig.axes if _shares_cell(b, a)], renderer)
        want = _tight_px(fig, a)
        assert got == pytest.approx(want, abs=1.0), (draw.__name__, got, want)
