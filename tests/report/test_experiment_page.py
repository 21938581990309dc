"""'Your experiment' pages: the words follow the result; the charts draw the plan and blocks."""

import matplotlib

matplotlib.use("Agg")

from stridekeeper.analysis.experiment import analyze_experiment
from stridekeeper.report.experiment import experiment_pages, kinds_pages
from stridekeeper.synth.experiment import demo_experiment, simulate_experiment


def test_pages_words_and_charts():
    result, dates = demo_experiment()
    text, charts = experiment_pages(result, dates)
    words = dict(text.sections)
    assert words["The test in plain words"].endswith(result.conclusion)
    assert "64" in words["The test in plain words"] or "63" in words["The test in plain words"]
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2)
    charts.charts[0](ax=axes[0])
    charts.charts[1](ax=axes[1])
    # one cell per day of the plan (12 weeks) and one bar per block
    assert len(axes[0].patches) == 84 and len(axes[1].patches) == 12
    plt.close(fig)


def test_interim_next_step_says_continue():
    a = simulate_experiment(weeks=12, block_weeks=1, wash_in_days=2, seed=3)
    mid = analyze_experiment(a.plan, a.runs, a.sessions, as_of=a.plan.blocks[5].end)
    words = dict(experiment_pages(mid)[0].sections)
    assert words["Next step"].startswith("Continue as planned")
    assert experiment_pages(None) == []


def test_kinds_pages_chart_and_exploratory_table():
    import pandas as pd

    done = pd.DataFrame({"kind": ["region:hips", "context:post-run"], "sessions": [8, 5]})
    explored = pd.DataFrame({"kind": ["context:post-run", "region:hips"], "sessions": [5, 8],
                             "n_runs": [30, 30], "rho": [-0.41, 0.05], "p_value": [0.01, 0.7],
                             "p_adjusted": [0.02, 0.7], "exploratory": [True, True]})  # fmt: skip
    chart, table = kinds_pages(done, explored)
    assert chart.title == "Which kinds of mobility work"
    assert table.table["kind"].tolist() == ["post-run (context)", "hips (body region)"]
    assert table.table["p adjusted"].tolist() == ["0.020", "0.700"]
    assert "Benjamini-Hochberg" in table.intro and "Exploratory" in table.intro
    assert len(kinds_pages(done)) == 1 and kinds_pages(None) == []


def test_kinds_page_shows_the_range_feel_trend():
    import numpy as np
    import pandas as pd

    from stridekeeper.analysis.exposure_kinds import exposure_by_kind, kinds_done

    rng = np.random.default_rng(3)
    day0 = pd.Timestamp("2026-01-01", tz="UTC")
    days = np.flatnonzero(rng.random(120) < 0.5)
    feel = rng.choice(["open", "normal", "restricted"], len(days))
    s = pd.DataFrame({"session_id": [f"s{i}" for i in range(len(days))],
                      "start_time": [day0 + pd.Timedelta(days=int(d), hours=7) for d in days],
                      "regions": [("hips",)] * len(days), "range_feel": feel})  # fmt: skip
    runs = pd.DataFrame({"start_time": [day0 + pd.Timedelta(days=int(d), hours=18)
                                        for d in range(1, 120, 2)]})  # fmt: skip
    runs["stride_dropoff_pct"] = 5 + rng.normal(0, 1, len(runs))
    explored = exposure_by_kind(runs, s)
    _, table = kinds_pages(kinds_done(s), explored)
    row = table.table.set_index("kind").loc["range-feel trend (open minus restricted)"]
    trend = explored.set_index("kind").loc["range_feel:trend"]
    assert (
        row["rho"] == f"{trend['rho']:+.2f}" and row["p adjusted"] == f"{trend['p_adjusted']:.3f}"
    )
    assert int(row["sessions"]) == int((feel != "normal").sum())  # the open and restricted ones
    assert "range-feel trend" in table.intro
