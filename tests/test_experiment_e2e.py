"""End to end: simulated FIT runs + a stored plan + a log that follows it (with lapses) ->
``import`` -> ``analyze --experiment --json`` gives the right verdict, with and without an effect.

The athlete comes from :func:`~stridekeeper.synth.experiment.simulate_experiment` (season
trend, load cycle, autocorrelated noise, adherence lapses); each run's drop-off is written
into a simulated watch file as late-run fatigue, so the library measures it from the records
like any watch file's (not read from the simulation).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from stridekeeper.cli import main
from stridekeeper.library import Library
from stridekeeper.pipeline import PLAN_FILE
from stridekeeper.synth.experiment import simulate_experiment
from stridekeeper.synth.files import run_fit_bytes
from stridekeeper.synth.runs import simulate_run

# 16 one-week blocks = 8 pairs: the smallest exact p is 2/256, so a real effect can show
DESIGN = {"weeks": 16, "block_weeks": 1, "wash_in_days": 2, "noise_pct": 0.7,
          "lapse_prob": 0.3, "seed": 0}  # fmt: skip


def _library(tmp_path: Path, effect_pct: float, capsys) -> tuple[dict, object]:
    a = simulate_experiment(effect_pct=effect_pct, **DESIGN)
    watch = tmp_path / "watch"
    watch.mkdir()
    for i, row in enumerate(a.runs.itertuples()):
        sim = simulate_run(start_time=row.start_time, duration_s=1800, seed=i,
                           fatigue_pct=max(0.0, float(row.stride_dropoff_pct)))  # fmt: skip
        (watch / f"run{i:03d}.fit").write_bytes(run_fit_bytes(sim, utc_offset_s=0))
    lines = ["date,duration_min,focus,context,range_feel"]
    for k, s in enumerate(a.sessions.itertuples()):
        when = s.start_time.strftime("%Y-%m-%dT%H:%M")
        context = "post-run" if k % 3 else "rest-day"
        lines.append(f"{when},{s.duration_min:g},{';'.join(s.regions)},{context},normal")
    log = tmp_path / "mobility_log.csv"
    log.write_text("\n".join(lines) + "\n")
    lib = tmp_path / "lib"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["import", str(watch), str(log), "--library", str(lib), "--jobs", "2"]) == 0
        # the plan, as `stridekeeper plan` stored it before the first block (dated then)
        (lib / PLAN_FILE).write_text(json.dumps(a.plan.to_dict()))
        capsys.readouterr()
        assert main(["analyze", "--experiment", "--library", str(lib), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(Library.open(lib).runs()) == len(a.runs)
    return out, a


@pytest.mark.slow
def test_an_effect_is_found_with_the_right_sign_and_size(tmp_path: Path, capsys) -> None:
    out, a = _library(tmp_path, 5.0, capsys)
    itt = out["intention_to_treat"]
    assert not out["interim"] and itt["n_pairs"] == 8
    assert itt["p_value"] <= 0.05  # the verdict: mobility work as planned changed drop-off
    assert out["conclusion"].startswith("Mobility work as planned changed")
    # truth: -5 % points at the planned dose, less in the lapsed block and with off sessions
    assert -6.0 < itt["estimate_pct"] < -2.5
    assert itt["ci_low_pct"] < itt["estimate_pct"] < itt["ci_high_pct"] < 0
    # adherence from the log: the lapsed block is reported; per-protocol is the check
    assert out["off_plan_blocks"] == [2]
    assert out["per_protocol"]["n_pairs"] == 8 - len(out["off_plan_blocks"])
    # the exploratory kinds: every kind logged, p adjusted across them (never below p)
    kinds = {k["kind"]: k for k in out["kinds_exploratory"]}
    assert {"region:hips", "region:ankles", "context:post-run", "context:rest-day"} <= set(kinds)
    assert all(k["p_adjusted"] >= k["p_value"] - 1e-12 for k in kinds.values())


@pytest.mark.slow
def test_no_effect_is_not_called_an_effect(tmp_path: Path, capsys) -> None:
    out, _ = _library(tmp_path, 0.0, capsys)
    itt = out["intention_to_treat"]
    assert not out["interim"] and itt["p_value"] > 0.05
    assert out["conclusion"].startswith("No detectable difference")
    assert itt["ci_low_pct"] < 0 < itt["ci_high_pct"] and abs(itt["estimate_pct"]) < 1.5
