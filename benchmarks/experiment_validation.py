"""Validation of the N-of-1 experiment test: false-positive rate and power by effect and pairs.

Simulated athletes follow a balanced-pair plan of 1-week blocks (2-day wash-in) with adherence
lapses, a season trend, a build/easy load cycle and autocorrelated noise
(:func:`stridekeeper.synth.experiment.simulate_experiment`). Prints, per number of pairs and
true effect (% points of drop-off at the planned dose), the share with randomisation p <= 0.05
(right sign for a real effect). Effect 0 is the false-positive rate (target <= 5 %).

    PYTHONPATH=src python benchmarks/experiment_validation.py [N_SIM]
"""

import sys
import time

from stridekeeper.synth.experiment import validate_experiment

n_sim = int(sys.argv[1]) if len(sys.argv) > 1 else 200
t0 = time.perf_counter()
table = validate_experiment(n_sim=n_sim, runs_per_week=4.0)
wide = table.pivot(index="pairs", columns="effect_pct", values="rejected")
print(f"share with p <= 0.05, {n_sim} simulated athletes per cell (effect 0 = false positives)")
print("pairs | " + " | ".join(f"effect {e:g}" for e in wide.columns))
for pairs, row in wide.iterrows():
    print(f"{pairs:>5} | " + " | ".join(f"{100 * v:7.1f} %" for v in row))
print(f"({time.perf_counter() - t0:.0f} s)")
