"""stridekeeper.plots: every function draws on a given Axes, makes its own, survives empty input."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from stridekeeper import plots
from stridekeeper.io.fit import read_fit
from stridekeeper.metrics import stride_dropoff
from stridekeeper.plots._common import NO_DATA_TEXT
from stridekeeper.schema import MOBILITY_COLUMNS
from stridekeeper.synth.files import run_fit_bytes
from stridekeeper.synth.runs import simulate_run

SRC = Path(__file__).resolve().parents[2] / "src" / "stridekeeper"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# ------------------------------------------------------------------------------ inputs
@pytest.fixture(scope="module")
def fit_run():
    """A 40-minute run with 5 % shorter steps late, read back from its FIT file."""
    sim = simulate_run(duration_s=2400, speed_mps=3.0, fatigue_pct=5.0, seed=3,
                       pauses=[(1200.0, 60.0)])  # fmt: skip
    (run,) = read_fit(run_fit_bytes(sim), sport="running")
    return run


@pytest.fixture(scope="module")
def runs_table() -> pd.DataFrame:
    """Summary rows (object dtype, as a table of summarize() rows is) for 12 runs."""
    rng = np.random.default_rng(1)
    n = 12
    start = pd.Timestamp("2026-01-05T06:30Z") + pd.to_timedelta(np.arange(n) * 4.5, unit="D")
    d = rng.normal(2.0, 2.5, n)
    d[4] = np.nan  # a run without a drop-off
    frame = pd.DataFrame(
        {
            "start_time": start,
            "distance_m": rng.uniform(5000, 18000, n),
            "stride_dropoff_pct": d,
            "stride_dropoff_ci95_low_pct": d - 1.5,
            "stride_dropoff_ci95_high_pct": d + 1.8,
            "dropoff_reason": [None] * 4 + ["too short"] + [None] * 7,
        }
    )
    return frame.astype(object)


@pytest.fixture(scope="module")
def sessions_table() -> pd.DataFrame:
    """A canonical mobility-session table over seven weeks."""
    days = pd.date_range("2026-01-03", "2026-02-20", freq="2D")
    regions = [("hips",), ("ankles", "calves"), ("hips", "thoracic")] * len(days)
    frame = pd.DataFrame(
        {
            "session_id": [f"s{i}" for i in range(len(days))],
            "start_time": (days + pd.Timedelta(hours=18)).tz_localize("UTC"),
            "local_date": [d.date() for d in days],
            "duration_min": np.resize([10.0, 20.0, 35.0], len(days)),
            "regions": regions[: len(days)],
            "planes": [("sagittal",)] * len(days),
            "drills": [("90/90",)] * len(days),
            "rpe": np.nan,
            "source": "log.csv",
            "notes": "",
        }
    )
    return frame[list(MOBILITY_COLUMNS)]


@pytest.fixture(scope="module")
def linked_table() -> pd.DataFrame:
    rng = np.random.default_rng(2)
    x = rng.integers(0, 10, 25) / 2.0
    y = 3.0 - 0.4 * x + rng.normal(0, 1.5, 25)
    y[3] = np.nan
    return pd.DataFrame({"sessions_per_week_14d": x, "stride_dropoff_pct": y})


@pytest.fixture(scope="module")
def lag_scan() -> list[dict]:
    return [
        {"window_days": 7, "rho": -0.25, "p_value": 0.04, "p_adjusted": 0.08,
         "ci95": (-0.5, 0.05)},
        {"window_days": 2, "rho": 0.05, "p_value": 0.7, "p_adjusted": 0.7, "ci95": (-0.3, 0.35)},
        {"window_days": 14, "rho": -0.41, "p_value": 0.004, "p_adjusted": 0.016,
         "ci95": (-0.7, -0.1)},
        {"window_days": 28, "rho": -0.3, "p_value": 0.03, "p_adjusted": 0.06, "ci95": None},
    ]  # fmt: skip


def _empty_records(fit_run) -> pd.DataFrame:
    return fit_run.records.iloc[:0]


#: name -> (call(inputs, ax), inputs from the fixtures, empty inputs).
CASES: dict[str, tuple[Callable, Callable, Callable]] = {
    "run_stride": (
        lambda a, ax: plots.plot_run_stride(a["records"], ax=ax),
        lambda f: {"records": f["fit_run"].records},
        lambda f: {"records": _empty_records(f["fit_run"])},
    ),
    "step_vs_speed": (
        lambda a, ax: plots.plot_step_vs_speed(a["records"], ax=ax),
        lambda f: {"records": f["fit_run"].records},
        lambda f: {"records": _empty_records(f["fit_run"])},
    ),
    "dropoff_season": (
        lambda a, ax: plots.plot_dropoff_season(a["runs"], ax=ax),
        lambda f: {"runs": f["runs_table"]},
        lambda f: {"runs": f["runs_table"].iloc[:0]},
    ),
    "mobility_calendar": (
        lambda a, ax: plots.plot_mobility_calendar(a["sessions"], ax=ax),
        lambda f: {"sessions": f["sessions_table"]},
        lambda f: {"sessions": f["sessions_table"].iloc[:0]},
    ),
    "kinds_done": (
        lambda a, ax: plots.plot_kinds_done(a["kinds"], ax=ax),
        lambda f: {"kinds": KINDS},
        lambda f: {"kinds": KINDS.iloc[:0]},
    ),
    "exposure_vs_dropoff": (
        lambda a, ax: plots.plot_exposure_vs_dropoff(a["linked"], ax=ax),
        lambda f: {"linked": f["linked_table"]},
        lambda f: {"linked": f["linked_table"].iloc[:0]},
    ),
    "lag_scan": (
        lambda a, ax: plots.plot_lag_scan(a["lag"], ax=ax),
        lambda f: {"lag": f["lag_scan"]},
        lambda f: {"lag": []},
    ),
    "weekly_volume": (
        lambda a, ax: plots.plot_weekly_volume(a["runs"], a["sessions"], ax=ax),
        lambda f: {"runs": f["runs_table"], "sessions": f["sessions_table"]},
        lambda f: {"runs": f["runs_table"].iloc[:0], "sessions": None},
    ),
}


KINDS = pd.DataFrame({"kind": ["region:hips", "region:ankles", "context:post-run",
                               "range_feel:open", "context:warm-up"],
                      "sessions": [9, 4, 6, 2, 7]})  # fmt: skip


def test_kinds_done_one_bar_per_kind_grouped_by_family():
    fig, ax = plt.subplots()
    plots.plot_kinds_done(KINDS, ax=ax)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["hips (body region)", "ankles (body region)", "warm-up (context)",
                      "post-run (context)", "open (range feel)"]  # fmt: skip
    assert [p.get_width() for p in ax.patches] == [9, 4, 7, 6, 2]
    plt.close(fig)


@pytest.fixture(scope="module")
def fixtures(fit_run, runs_table, sessions_table, linked_table, lag_scan) -> dict:
    return {"fit_run": fit_run, "runs_table": runs_table, "sessions_table": sessions_table,
            "linked_table": linked_table, "lag_scan": lag_scan}  # fmt: skip


def _has_artists(ax) -> bool:
    return bool(ax.lines or ax.collections or ax.patches or ax.images)


def _texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def _same(a, b) -> None:
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b)
    else:
        assert a == b


# ------------------------------------------------------------------------------ contract
@pytest.mark.parametrize("name", list(CASES))
def test_draws_on_given_axes_and_keeps_inputs(name, fixtures):
    call, make, _ = CASES[name]
    inputs = make(fixtures)
    before = copy.deepcopy(inputs)
    fig, ax = plt.subplots()
    out = call(inputs, ax)
    assert out is ax
    assert _has_artists(ax)
    assert ax.get_title()
    assert NO_DATA_TEXT not in " ".join(_texts(ax))
    if name == "mobility_calendar":
        assert [t.get_text() for t in ax.get_yticklabels()][0] == "Mon"
    else:
        assert ax.get_xlabel() and ax.get_ylabel()
    for key, value in before.items():
        _same(value, inputs[key])


@pytest.mark.parametrize("name", list(CASES))
def test_creates_its_own_figure(name, fixtures):
    call, make, _ = CASES[name]
    n_before = len(plt.get_fignums())
    ax = call(make(fixtures), None)
    assert isinstance(ax, matplotlib.axes.Axes)
    assert len(plt.get_fignums()) == n_before + 1
    assert _has_artists(ax)


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("given_ax", [True, False])
def test_empty_input_says_not_enough_data(name, given_ax, fixtures):
    call, _, make_empty = CASES[name]
    ax_in = plt.subplots()[1] if given_ax else None
    ax = call(make_empty(fixtures), ax_in)
    assert ax is ax_in or not given_ax
    assert any(NO_DATA_TEXT in t for t in _texts(ax))
    assert ax.get_title()


@pytest.mark.parametrize("name", list(CASES))
def test_renders_to_png(name, fixtures, tmp_path):
    call, make, _ = CASES[name]
    ax = call(make(fixtures), None)
    path = tmp_path / f"{name}.png"
    ax.figure.savefig(path, dpi=60)
    assert path.stat().st_size > 2000


def test_all_nan_inputs_say_not_enough_data(runs_table, linked_table):
    runs = runs_table.copy()
    runs["stride_dropoff_pct"] = np.nan
    ax = plots.plot_dropoff_season(runs)
    assert any(NO_DATA_TEXT in t for t in _texts(ax))
    linked = linked_table.assign(stride_dropoff_pct=np.nan)
    ax = plots.plot_exposure_vs_dropoff(linked)
    assert any(NO_DATA_TEXT in t for t in _texts(ax))
    ax = plots.plot_lag_scan([{"window_days": 7, "rho": np.nan, "p_value": np.nan,
                               "p_adjusted": np.nan}])  # fmt: skip
    assert any(NO_DATA_TEXT in t for t in _texts(ax))


# ------------------------------------------------------------------------------ one run
def test_run_stride_shades_windows_and_draws_prediction(fit_run):
    d = stride_dropoff(fit_run.records)
    ax = plots.plot_run_stride(fit_run, d)
    labels = [line.get_label() for line in ax.lines]
    assert any(lab.startswith("predicted") for lab in labels)
    spans = {p.get_label() for p in ax.patches}
    assert {"reference window", "late window"} <= spans
    twins = [a for a in ax.figure.axes if a is not ax]
    assert len(twins) == 1 and "cadence" in twins[0].get_ylabel()
    assert "[min]" in ax.get_xlabel() and "[m]" in ax.get_ylabel()
    assert f"{d.stride_dropoff_pct:.1f} %" in ax.get_title()
    # the x-axis is moving time: the pause does not stretch it
    xmax = max(float(np.nanmax(line.get_xdata())) for line in ax.lines)
    assert xmax == pytest.approx(d.windows_s["total"] / 60, abs=0.5)


def test_run_stride_short_run_draws_without_windows():
    sim = simulate_run(duration_s=600, seed=8)
    (run,) = read_fit(run_fit_bytes(sim), sport="running")
    ax = plots.plot_run_stride(run.records)
    assert ax.lines and not ax.patches
    assert "too short" in ax.get_title()


def test_step_vs_speed_has_two_groups_and_two_lines(fit_run):
    ax = plots.plot_step_vs_speed(fit_run.records)
    assert len(ax.collections) == 2
    labels = [line.get_label() for line in ax.lines]
    assert any("reference" in lab for lab in labels)
    assert any("late" in lab for lab in labels)
    assert "[m/s]" in ax.get_xlabel()


def test_step_vs_speed_short_run_says_why():
    sim = simulate_run(duration_s=600, seed=8)
    (run,) = read_fit(run_fit_bytes(sim), sport="running")
    ax = plots.plot_step_vs_speed(run.records)
    assert any("too short" in t for t in _texts(ax))


# ------------------------------------------------------------------------------ season
def test_dropoff_season_band_and_rolling(runs_table):
    ax = plots.plot_dropoff_season(runs_table, band=(-1.0, 4.0), rolling=3)
    assert "N = 11 runs; 1 without a drop-off" in ax.get_title()
    band = [p for p in ax.patches if p.get_label().startswith("typical")]
    assert len(band) == 1
    if hasattr(band[0], "get_height"):  # matplotlib >= 3.9: a Rectangle
        ys = np.array([band[0].get_y(), band[0].get_y() + band[0].get_height()])
    else:  # a Polygon
        ys = np.asarray(band[0].get_xy())[:, 1]
    assert ys.min() == pytest.approx(-1.0) and ys.max() == pytest.approx(4.0)
    assert any("rolling median (3 runs)" == line.get_label() for line in ax.lines)


def test_dropoff_season_rejects_bad_arguments(runs_table):
    with pytest.raises(ValueError, match="rolling"):
        plots.plot_dropoff_season(runs_table, rolling=0)
    with pytest.raises(ValueError, match="band"):
        plots.plot_dropoff_season(runs_table, band=(3.0, 1.0))


def test_dropoff_season_single_run(runs_table):
    ax = plots.plot_dropoff_season(runs_table.iloc[:1])
    assert "N = 1 runs" in ax.get_title()


def test_exposure_vs_dropoff_annotates_rho_and_n(linked_table):
    ax = plots.plot_exposure_vs_dropoff(linked_table)
    x = linked_table["sessions_per_week_14d"].to_numpy()
    y = linked_table["stride_dropoff_pct"].to_numpy()
    ok = np.isfinite(y)
    rho = np.corrcoef(pd.Series(x[ok]).rank(), pd.Series(y[ok]).rank())[0, 1]
    assert f"rho = {rho:+.2f}" in ax.get_title()
    assert "N = 24 runs" in ax.get_title()
    assert "sessions per week" in ax.get_xlabel() and "14 days" in ax.get_xlabel()
    assert len(ax.collections) >= 2  # points and the confidence band


def test_exposure_vs_dropoff_constant_exposure_has_no_line(linked_table):
    linked = linked_table.assign(sessions_per_week_14d=1.0)
    ax = plots.plot_exposure_vs_dropoff(linked)
    assert "n/a" in ax.get_title()
    assert not any("fit" in line.get_label() for line in ax.lines)


def test_lag_scan_marks_significance_and_caption(lag_scan):
    ax = plots.plot_lag_scan(lag_scan)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["48 h", "7 d", "14 d", "28 d"]
    assert "Benjamini\u2013Hochberg" in ax.get_legend().get_title().get_text()
    sig = [c for c in ax.collections if c.get_label().startswith("p adj. <")]
    assert len(sig) == 1 and len(sig[0].get_offsets()) == 1
    assert any(line.get_ydata()[0] == 0 for line in ax.lines)  # the zero line


def test_lag_scan_accepts_a_frame_with_ci_columns():
    frame = pd.DataFrame({"window_days": [7, 14], "rho": [0.1, -0.2], "p_value": [0.5, 0.2],
                          "p_adjusted": [0.5, 0.4], "ci95_low": [-0.2, -0.5],
                          "ci95_high": [0.4, 0.1]})  # fmt: skip
    ax = plots.plot_lag_scan(frame)
    assert any(c.get_label() == "95 % CI" for c in ax.containers)


def test_mobility_calendar_counts_minutes(sessions_table):
    ax = plots.plot_mobility_calendar(sessions_table)
    mesh = ax.collections[0]
    values = np.ma.filled(mesh.get_array(), np.nan)
    assert np.nansum(values) == pytest.approx(sessions_table["duration_min"].sum())
    assert f"{len(sessions_table)} sessions" in ax.get_title()
    assert len(ax.child_axes) == 1  # the colour bar, inset beside the calendar


def test_mobility_calendar_region_and_dates(sessions_table):
    ax = plots.plot_mobility_calendar(sessions_table, region="hips", start="2026-01-10",
                                      end="2026-02-10")  # fmt: skip
    mask = [("hips" in r) for r in sessions_table["regions"]]
    days = pd.to_datetime(sessions_table["local_date"])
    inside = (days >= "2026-01-10") & (days <= "2026-02-10")
    expected = sessions_table.loc[np.array(mask) & inside.to_numpy(), "duration_min"].sum()
    values = np.ma.filled(ax.collections[0].get_array(), np.nan)
    assert np.nansum(values) == pytest.approx(expected)
    assert ax.get_title().startswith("Hips")
    with pytest.raises(ValueError, match="unknown region"):
        plots.plot_mobility_calendar(sessions_table, region="elbows")
    ax = plots.plot_mobility_calendar(sessions_table, start="2027-01-01")
    assert any(NO_DATA_TEXT in t for t in _texts(ax))


def test_weekly_volume_sums_distance(runs_table, sessions_table):
    ax = plots.plot_weekly_volume(runs_table)
    km = sum(p.get_height() for p in ax.patches)
    assert km == pytest.approx(pd.to_numeric(runs_table["distance_m"]).sum() / 1000)
    assert len(ax.figure.axes) == 1  # no mobility axis without sessions
    ax = plots.plot_weekly_volume(runs_table.iloc[:0], sessions_table)
    assert len(ax.figure.axes) == 2
    twin = [a for a in ax.figure.axes if a is not ax][0]
    assert twin.lines[0].get_ydata().sum() == pytest.approx(sessions_table["duration_min"].sum())


# ------------------------------------------------------------------------------ imports
def test_only_plots_imports_matplotlib():
    imports = re.compile(r"^\s*(import|from)\s+matplotlib\b", re.MULTILINE)
    offenders = [
        str(p.relative_to(SRC))
        for p in SRC.rglob("*.py")
        if "plots" not in p.relative_to(SRC).parts and imports.search(p.read_text("utf-8"))
    ]
    assert offenders == []


def test_summarize_does_not_import_matplotlib():
    code = (
        "import sys\n"
        "import stridekeeper as sk\n"
        "from stridekeeper.synth.files import run_fit_bytes\n"
        "from stridekeeper.synth.runs import simulate_run\n"
        "import stridekeeper.plots\n"
        "run = sk.read_fit(run_fit_bytes(simulate_run(duration_s=1500, seed=1)))[0]\n"
        "import stridekeeper.metrics\n"
        "row = stridekeeper.metrics.summarize(run)\n"
        "assert row['stride_dropoff_pct'] == row['stride_dropoff_pct']\n"
        "print('matplotlib' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)  # fmt: skip
    assert out.stdout.strip() == "False"


def test_text_table_pages_split_and_align(tmp_path):
    from pypdf import PdfReader

    from stridekeeper.plots.document import Document, TextTablePage, _text_lines, write_pdf

    table = pd.DataFrame({"week": [f"w{i}" for i in range(130)],
                          "km": [f"{i * 1.5:.1f}" for i in range(130)]})  # fmt: skip
    lines = _text_lines(table)
    assert lines[0] == "week     km" and lines[1] == "-" * 11
    assert lines[2] == "w0      0.0" and lines[-1] == "w129  193.5"  # right-aligned numbers
    page = TextTablePage(title="Weeks", table=table, rows_per_page=50)
    out = write_pdf(Document(title="t", author="a", subject="s", pages=[page]),
                    tmp_path / "t.pdf")  # fmt: skip
    texts = [p.extract_text() for p in PdfReader(str(out)).pages]
    assert len(texts) == 3 and "Weeks (3/3)" in texts[2]
    assert "w129" in texts[2] and "w49" in texts[0] and "w50" in texts[1]


def test_weekly_volume_of_years_is_one_step_line():
    from stridekeeper.plots.season import MAX_WEEK_BARS

    rng = np.random.default_rng(0)
    starts = pd.Timestamp("2016-01-04T07:00Z") + pd.to_timedelta(
        np.sort(rng.integers(0, 7 * (MAX_WEEK_BARS + 60), 400)), unit="D")  # fmt: skip
    runs = pd.DataFrame({"start_time": starts, "distance_m": rng.uniform(5000, 15000, 400)})
    ax = plots.plot_weekly_volume(runs)
    assert len(ax.patches) == 1  # a StepPatch, not a bar a week
    values = ax.patches[0].get_data().values
    assert len(values) > MAX_WEEK_BARS
    assert values.sum() == pytest.approx(runs["distance_m"].sum() / 1000)
    plt.close(ax.figure)


def test_a_long_text_page_continues_instead_of_dropping_sections(tmp_path):
    from pypdf import PdfReader

    from stridekeeper.plots.document import Document, TextPage, write_pdf

    words = " ".join(["stride"] * 400)  # ~30 lines a section
    sections = [(f"Section {i}", words) for i in range(6)]
    page = TextPage(title="Methods", sections=sections)
    out = write_pdf(Document(title="t", author="a", subject="s", pages=[page]),
                    tmp_path / "t.pdf")  # fmt: skip
    texts = [p.extract_text() for p in PdfReader(str(out)).pages]
    assert len(texts) >= 3
    assert "Methods (continued)" in texts[-1]
    for i in range(6):  # every section is somewhere, once
        assert sum(f"Section {i}" in t for t in texts) == 1
