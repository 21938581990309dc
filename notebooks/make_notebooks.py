"""Write the three notebooks (without outputs): ``python notebooks/make_notebooks.py``.

The notebooks are generated so their code stays reviewable as plain Python here; the test
suite executes the committed .ipynb files with nbclient.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SETUP = """\
from pathlib import Path
import tempfile
import warnings

import matplotlib.pyplot as plt
import pandas as pd

import stridekeeper as sk
from stridekeeper import plots

# the sample data shipped with stridekeeper (this notebook's folder is notebooks/)
SAMPLE = Path.cwd().parent / "sample_data" if (Path.cwd().parent / "sample_data").is_dir() else Path("sample_data")
warnings.simplefilter("ignore", sk.DataQualityWarning)
"""

NB1 = [
    new_markdown_cell(
        "# 1. Import and inspect\n\nRead watch files, build a library from a whole "
        "folder (or a Garmin/Strava export zip), and check stridekeeper's numbers "
        "against what the watch itself reported."
    ),
    new_code_cell(SETUP),
    new_markdown_cell(
        "## One file\n`read_runs` gives one `Run` per session (multisport files give "
        "several). Columns carry their units; the index is UTC."
    ),
    new_code_cell(
        'fit_files = sorted((SAMPLE / "watch").glob("*-run.fit"))\n'
        "runs = sk.read_runs(fit_files[0])\nrun = runs[0]\nrun"
    ),
    new_code_cell("run.records.head()"),
    new_code_cell('pd.Series(run.meta["device_summary"]).drop("raw")'),
    new_markdown_cell(
        "## Our averages vs the watch's\n`summarize` reproduces the device's own "
        "session averages (timer time, Garmin's zero-cadence rule)."
    ),
    new_code_cell(
        'row = sk.summarize(run)\ndev = run.meta["device_summary"]\n'
        'pd.DataFrame({"stridekeeper": [row.avg_cadence_spm, row.avg_step_length_m, row.distance_m],\n'
        '              "watch": [dev["avg_cadence_spm"], dev["avg_step_length_m"], dev["distance_m"]]},\n'
        '             index=["cadence [steps/min]", "step length [m]", "distance [m]"]).round(3)'
    ),
    new_markdown_cell(
        "## A library from a whole folder\nImport is incremental: running it again "
        "adds only what is new."
    ),
    new_code_cell(
        'library = Path(tempfile.mkdtemp()) / "library"\n'
        'files = [SAMPLE / "watch", SAMPLE / "mobility_log.csv"]\n'
        "report = sk.import_paths(files, library, jobs=2)\nreport.to_dict()"
    ),
    new_code_cell(
        "again = sk.import_paths(files, library, jobs=2)\n"
        'print("new runs:", again.imported_runs, "unchanged files:", again.unchanged)'
    ),
    new_code_cell(
        "lib = sk.Library.open(library)\ntable = lib.runs()\n"
        'table[["start_time", "distance_m", "moving_time_s", "avg_cadence_spm", '
        '"avg_step_length_m", "stride_dropoff_pct", "dropoff_reason"]].round(2)'
    ),
    new_code_cell("ax = plots.plot_weekly_volume(table, lib.mobility())\nplt.show()"),
]

NB2 = [
    new_markdown_cell(
        "# 2. Late-run stride drop-off\n\nShorter steps at the end of a run mean "
        "nothing until speed and grade are held fixed: step length rises with "
        "speed and falls uphill. This notebook shows how the drop-off is measured "
        "and why the raw comparison misleads."
    ),
    new_code_cell(SETUP),
    new_code_cell(
        "# the sample run whose late steps shortened most\n"
        'runs = [sk.read_runs(p)[0] for p in sorted((SAMPLE / "watch").glob("*-run.fit"))]\n'
        'fatigued = max(runs, key=lambda r: sk.summarize(r)["stride_dropoff_pct"])\n'
        "result = sk.stride_dropoff(fatigued.records)\nresult"
    ),
    new_markdown_cell(
        "The shaded windows are the reference (after the warm-up, to half-way) and "
        "the late window (last quarter). The dashed line is the step length the "
        "early part of the run predicts for the speed and grade actually run."
    ),
    new_code_cell(
        "fig, axes = plt.subplots(2, 1, figsize=(9, 8), layout='constrained')\n"
        "plots.plot_run_stride(fatigued.records, result, ax=axes[0])\n"
        "plots.plot_step_vs_speed(fatigued.records, result, ax=axes[1])\nplt.show()"
    ),
    new_markdown_cell(
        "## A progression run: raw numbers mislead\nThis run gets 30 % faster with "
        "no fatigue. Raw step length grows late (a negative raw drop-off); at the "
        "same speed there is no drop-off."
    ),
    new_code_cell(
        "from stridekeeper.synth.files import write_run_fit\n"
        "sim = sk.simulate_run(duration_s=3600, speed_mps=2.7, progression=0.3, seed=3)\n"
        'path = write_run_fit(sim, Path(tempfile.mkdtemp()) / "progression.fit")\n'
        "prog = sk.read_runs(path)[0]\n"
        "r = sk.summarize(prog)\n"
        'r[["stride_dropoff_pct", "stride_dropoff_raw_pct", "stride_dropoff_ci95_low_pct", '
        '"stride_dropoff_ci95_high_pct", "dropoff_model"]]'
    ),
    new_markdown_cell(
        "## Known truth\nThe sample runs are simulated with a known late "
        "shortening (see `sample_data/MANIFEST.yml`)."
    ),
    new_code_cell(
        'rows = []\nfor path in sorted((SAMPLE / "watch").glob("*-run.fit"))[:12]:\n'
        "    for run in sk.read_runs(path):\n"
        '        if run.sport == "running":\n'
        "            s = sk.summarize(run)\n"
        '            rows.append({"file": path.name, "drop-off %": s.stride_dropoff_pct,\n'
        '                         "95% low": s.stride_dropoff_ci95_low_pct, "95% high": s.stride_dropoff_ci95_high_pct,\n'
        '                         "reason": s.dropoff_reason})\n'
        "pd.DataFrame(rows).round(2)"
    ),
]

NB3 = [
    new_markdown_cell(
        "# 3. Mobility and stride\n\nDoes mobility work in the days before a run go "
        "with less late-run stride drop-off? Honest statistics for one athlete's "
        "autocorrelated season: rank correlation with a block-bootstrap interval, "
        "a circular-shift permutation test, the effective sample size, a "
        "regression with HAC errors, and a lag scan with adjusted p-values."
    ),
    new_code_cell(SETUP),
    new_code_cell(
        'library = Path(tempfile.mkdtemp()) / "library"\n'
        'sk.import_paths([SAMPLE / "watch", SAMPLE / "mobility_log.csv"], library, jobs=2)\n'
        "lib = sk.Library.open(library)\n"
        "runs, sessions = lib.runs(), lib.mobility()\nlen(runs), len(sessions)"
    ),
    new_code_cell(
        'fig, ax = plt.subplots(figsize=(10, 3), layout="constrained")\n'
        "plots.plot_mobility_calendar(sessions, ax=ax)\nplt.show()"
    ),
    new_markdown_cell(
        "## Exposure before each run\nOnly sessions strictly before a run's start count."
    ),
    new_code_cell(
        "linked = sk.link_exposure(runs, sessions)\n"
        'linked[["start_time", "stride_dropoff_pct", "sessions_per_week_14d", '
        '"minutes_per_week_14d"]].round(2).tail()'
    ),
    new_code_cell(
        'result = sk.analyze(runs, sessions, exposure="sessions_per_week", window_days=14)\n'
        "print(result.to_text())"
    ),
    new_code_cell(
        'fig, axes = plt.subplots(2, 1, figsize=(9, 8), layout="constrained")\n'
        "plots.plot_exposure_vs_dropoff(linked, ax=axes[0])\n"
        'plots.plot_lag_scan(result.to_dict()["lag_scan"], ax=axes[1])\nplt.show()'
    ),
    new_markdown_cell(
        "## How many weeks of logging would it take?\nThe power of the test for an "
        "effect of a given size, from simulated athletes."
    ),
    new_code_cell(
        "from stridekeeper.synth.season import power\n"
        "power(effect=1.0, weeks_list=(8, 16, 32), n_sim=40)"
    ),
]


def main() -> None:
    for name, cells in (("01_import_and_inspect", NB1), ("02_stride_dropoff", NB2),
                        ("03_mobility_and_stride", NB3)):  # fmt: skip
        nb = new_notebook(cells=cells, metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        })  # fmt: skip
        nbformat.write(nb, HERE / f"{name}.ipynb")


if __name__ == "__main__":
    main()
