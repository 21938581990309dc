"""Running cadence is the cadence of running: walk breaks don't pull it down."""

from __future__ import annotations

import numpy as np
import pytest

from stridekeeper.metrics import summarize
from stridekeeper.metrics.averages import running_cadence_spm
from stridekeeper.metrics.moving import moving_mask, sample_weights_s
from stridekeeper.synth.files import run_fit_bytes
from stridekeeper.synth.runs import simulate_run
from stridekeeper.synth.scenarios import with_timer

WALKS = [(900.0 + 600.0 * i, 90.0) for i in range(4)]  # four 90 s walks, 110-130 steps/min


def _run(seed: int):
    sim = simulate_run(duration_s=3600, walk_breaks=WALKS, seed=seed)
    t = np.arange(len(sim.records))
    walking = np.zeros(len(t), dtype=bool)
    for at, length in WALKS:
        walking |= (t >= at) & (t < at + length)
    return sim, walking


@pytest.mark.parametrize("seed", [1, 2, 4])
def test_walk_breaks_are_left_out(seed: int) -> None:
    sim, walking = _run(seed)
    rec = with_timer(sim.records)
    cad = rec["cadence_spm"].to_numpy()
    expected = cad[~walking].mean()  # 1 Hz, the timer running throughout
    assert running_cadence_spm(rec) == pytest.approx(expected, abs=0.3)
    # what "over moving samples" gave: the walks at 120-130 steps/min counted, 2-5 low
    m, w = moving_mask(rec), sample_weights_s(rec)
    assert (cad[m] * w[m]).sum() / w[m].sum() < expected - 1.5


def test_the_imported_row_uses_the_same_rule() -> None:
    from stridekeeper.io.fit import read_fit

    sim, walking = _run(2)
    run = read_fit(run_fit_bytes(sim))[0]
    cad = sim.records["cadence_spm"].to_numpy()
    assert summarize(run)["running_cadence_spm"] == pytest.approx(cad[~walking].mean(), abs=0.5)
