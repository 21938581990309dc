"""Assemble the PDF trend report from results already computed: words, charts, tables.

Nothing here computes a statistic; it only chooses words, rounds numbers for people and
decides what goes on which page. Drawing is done by :mod:`stridekeeper.plots`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..plots.document import ChartPage, Document, TextPage, TextTablePage

if TYPE_CHECKING:
    from ..analysis.result import AnalysisResult

__all__ = ["ReportInputs", "build_report", "fmt", "headline", "run_table_csv"]

NOT_ENOUGH = "not enough data"

METHODS = (
    ("Which samples count",
     "Averages that are compared with the watch use the time its timer was running. Running "
     "averages use moving samples: timer running, speed at least 1.0 m/s, cadence at least "
     "120 steps/min, GPS speed spikes (over 3 m/s²) excluded. The drop-off uses running "
     "only: cadence at least 140 steps/min (brisk walking is 110-130; the athlete's own "
     "threshold where their runs show a lower one) or speed at least 2.2 m/s, and leaves out the "
     "20 s after every walk, stop or pause, while the watch's speed catches up."),
    ("Late-run stride drop-off",
     "Step length rises with speed and falls uphill, so the late run is compared with the "
     "fresh run at the same speed and grade. The warm-up (first 10 % of running time, at "
     "least 5 min) is left out and the rest cut into 60-second blocks (distance per step, the "
     "speed that step length implies, the block's own grade; blocks steeper than ±4 % left "
     "out), which beats the watch's GPS speed error. A log-log model of step length on speed "
     "and grade, fitted on the reference window (end of warm-up to 50 %) with weak priors "
     "from the literature and a correction for the speed error the data show, predicts the "
     "late window (last 25 %). Drop-off = 100 × (1 - observed / predicted late step length): "
     "positive means shorter steps late than speed and grade explain. The 95 % interval "
     "carries the late window's noise and the model's uncertainty, with dependence over "
     "minutes counted. Validated on 5,200 simulated runs with realistic watch noise (13 "
     "kinds of run, from steady to negative splits, walk breaks, hill finishes and foot "
     "pods): bias within ±0.3 % points in every kind, 95 % intervals covering the truth in "
     "88-98 % of runs. A late window far faster or slower than the fresh part gets no "
     "value; a gradual onset before mid-run is under-read. Runs under 20 minutes of "
     "running get no value."),
    ("Mobility consistency",
     "For every run, the mobility sessions strictly before its start are counted in windows "
     "of 48 hours, 7, 14 and 28 days (sessions and minutes per week, share of days with a "
     "session, longest gap, per body region)."),
    ("Relating the two",
     "Spearman's rank correlation between exposure and drop-off, with training load and a "
     "time trend regressed out, a permutation p-value from circular shifts of the exposure "
     "series (which keeps its week-to-week autocorrelation) and a 95 % interval from the "
     "same shifts' spread. Runs close in time are not independent: "
     "the effective sample size says how many independent runs the data are worth. A "
     "regression with AR(1) errors (Newey-West HAC errors as a cross-check) controls for "
     "moving time, speed, elevation gain and temperature where recorded. The scan over several windows adjusts its p-values "
     "(Benjamini-Hochberg). Several athletes: a mixed model separates within- from "
     "between-athlete effects."),
    ("What it can and cannot say",
     "This is an observational association, not a cause: weeks with more mobility work may "
     "differ in other ways. The evidence that stretching changes stride is weak and mixed. "
     "The strongest test an athlete can run is to alternate blocks of weeks with and without "
     "mobility work and compare."),
)  # fmt: skip


@dataclass(frozen=True)
class ReportInputs:
    """Everything the report shows, computed beforehand.

    Attributes
    ----------
    runs
        The runs table of the period (summarize() columns, ``run_id``).
    sessions
        The mobility sessions of the period.
    linked
        Runs joined with their exposure (for the scatter), or None: the table the analysis
        was computed on (linked once).
    analysis
        The period's :class:`~stridekeeper.analysis.result.AnalysisResult`, or None.
    weekly
        ``weekly_summary`` of the period's mobility sessions (for the weekly volume chart),
        or None to have the chart count them.
    example
        (records, DropoffResult, label) of one run to show in detail, or None.
    since, until
        The period (dates as text, or None for open ends).
    athlete
        Whose data.
    units
        ``"km"`` (default) or ``"mi"``: distances and paces in the report's tables.
    """

    runs: pd.DataFrame
    sessions: pd.DataFrame
    linked: pd.DataFrame | None
    analysis: AnalysisResult | None
    example: tuple[pd.DataFrame, Any, str] | None
    since: str | None
    until: str | None
    athlete: str | None = None
    weekly: pd.DataFrame | None = None
    #: (ExperimentResult, logged session dates) of a stored plan, or None (report/experiment.py).
    experiment: tuple[Any, Any] | None = None
    #: (sessions per kind, exploratory table by kind) of the period, or None (exposure_kinds).
    kinds: tuple[pd.DataFrame, pd.DataFrame] | None = None
    units: str = "km"


def fmt(value: Any, spec: str = ".1f", unit: str = "") -> str:
    """A number for people: rounded, with its unit; "not enough data" for None/NaN."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return NOT_ENOUGH
    try:
        return f"{format(value, spec)}{unit}"
    except (TypeError, ValueError):
        return str(value)


#: Control columns in words.
CONTROL_WORDS = {
    "moving_time_s": "run duration",
    "avg_speed_mps": "average speed",
    "elevation_gain_m": "elevation gain",
    "avg_temperature_c": "temperature",
    "distance_m": "distance",
}


def fmt_p(p: Any) -> str:
    """A p-value for people: three decimals, or "< 0.001"."""
    if p is None or (isinstance(p, float) and not math.isfinite(p)):
        return NOT_ENOUGH
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _period(inp: ReportInputs) -> str:
    runs = inp.runs
    first = inp.since or (runs["start_time"].min().date().isoformat() if len(runs) else None)
    last = inp.until or (runs["start_time"].max().date().isoformat() if len(runs) else None)
    if first is None and last is None:
        return "all time"
    return f"{first or 'the beginning'} to {last or 'today'}"


def headline(inp: ReportInputs) -> str:
    """The report's headline sentence (plain words when there is nothing to compare)."""
    runs, an = inp.runs, inp.analysis
    has_rho = an is not None and _finite(an.rho)
    if not len(inp.sessions) and not has_rho:
        conclusion = (
            "No mobility sessions are logged in this period, so there is nothing to compare your "
            "stride with yet. Import your mobility log (`stridekeeper import mobility.csv`) to "
            "compare your late-run stride drop-off with the mobility work before each run."
        )
    elif len(runs) == 1 and not has_rho:
        conclusion = ("There is one run in this period: a comparison needs many runs. Import more "
                      "runs, or choose a wider period with --since and --until.")  # fmt: skip
    else:
        conclusion = (an.conclusion if an is not None else "") or NOT_ENOUGH
    return conclusion


def _count(n: int, noun: str) -> str:
    """``1 run``, ``2 runs``."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def _summary_page(inp: ReportInputs) -> TextPage:
    runs, an = inp.runs, inp.analysis
    n_drop = int(runs["stride_dropoff_pct"].notna().sum()) if len(runs) else 0
    km = runs["distance_m"].sum() / UNIT_M[inp.units] if len(runs) else 0.0
    minutes = inp.sessions["duration_min"].sum() if len(inp.sessions) else 0.0
    sessions_text = (f"{_count(len(inp.sessions), 'mobility session')} ({minutes:,.0f} minutes)"
                     if len(inp.sessions) else "no mobility sessions")  # fmt: skip
    steady = ("it is" if n_drop == 1 else "none is") if len(runs) == 1 else (
        f"{n_drop} of them are")  # fmt: skip
    sections: list[tuple[str | None, str]] = [
        ("What was analysed",
         f"{_count(len(runs), 'run')} ({km:,.0f} {inp.units}) from {_period(inp)}"
         f"; {steady} long and steady enough for a drop-off; {sessions_text}."),
    ]  # fmt: skip
    conclusion = headline(inp)
    sections.append(("The headline", conclusion))
    part = an.partial if an is not None else None
    if part is not None and part.coef is not None:
        names = [CONTROL_WORDS.get(c, c.replace("_", " ")) for c in part.controls]
        controls = (", ".join(names[:-1]) + " and " + names[-1]) if len(names) > 1 else (
            names[0] if names else "nothing")  # fmt: skip
        ci = part.ci95 or (None, None)
        sections.append((
            "Controlling for the runs themselves",
            f"Holding {controls} fixed, each extra unit of exposure went with a drop-off change "
            f"of {fmt(part.coef, '+.2f', ' % points')} (95 % interval "
            f"{fmt(ci[0], '+.2f')} to {fmt(ci[1], '+.2f')}; p {fmt_p(part.p_value)}).",
        ))  # fmt: skip
    tv = an.typical_variation_pct if an is not None else None
    if tv is not None and _finite(tv.sd):
        sections.append((
            "How much a single run says",
            f"Your drop-off varies from run to run by about {fmt(tv.sd, '.1f', ' % points')} "
            "(standard deviation), so judge a single run against that, not against zero.",
        ))  # fmt: skip
    if an is not None and _finite(an.n_eff):
        sections.append((
            "How much independent evidence",
            f"Runs close in time are alike; the {an.n_runs} runs are worth about "
            f"{fmt(an.n_eff, '.0f')} independent ones.",
        ))  # fmt: skip
    sections.append((
        "Read this with care",
        "An association is not a cause. The evidence that stretching changes stride is weak and "
        "mixed. To find out for yourself, alternate blocks of 3-4 weeks with and without "
        "mobility work and let this report compare them.",
    ))  # fmt: skip
    who = f" for {inp.athlete}" if inp.athlete and inp.athlete != "me" else ""
    return TextPage(title="Stride and mobility report" + who,
                    subtitle=f"Period: {_period(inp)}", sections=sections)  # fmt: skip


#: Longest span the report's day-by-day mobility calendar shows (a week is a column: a
#: longer period makes cells too small to read). [days]
CALENDAR_MAX_DAYS = 182


def _calendar_start(sessions: pd.DataFrame) -> tuple[Any, str]:
    """First day of the report's mobility calendar (None: the first session's) and the
    caption's note when the period is longer than :data:`CALENDAR_MAX_DAYS`."""
    if not len(sessions) or "local_date" not in sessions:
        return None, ""
    days = pd.to_datetime(pd.Series(sessions["local_date"].to_numpy(), dtype=object),
                          errors="coerce").dropna()  # fmt: skip
    if not len(days) or (days.max() - days.min()).days < CALENDAR_MAX_DAYS:
        return None, ""
    start = (days.max() - pd.Timedelta(days=CALENDAR_MAX_DAYS - 1)).date()
    return start, f" over the last {CALENDAR_MAX_DAYS // 30} months (from {start})"


def _charts(inp: ReportInputs) -> list[ChartPage]:
    from .. import plots

    cal_start, cal_note = _calendar_start(inp.sessions)
    pages = [
        ChartPage(
            title="Your season",
            charts=[partial(_call, plots.plot_dropoff_season, inp.runs),
                    partial(_call, plots.plot_weekly_volume, inp.runs, inp.sessions,
                            weekly=inp.weekly),
                    partial(_call, plots.plot_mobility_calendar, inp.sessions,
                            start=cal_start)],
            caption=("Top: late-run stride drop-off per run with its 95 % interval, a rolling "
                     "median and your typical run-to-run band. Middle: weekly running distance "
                     f"and mobility minutes. Bottom: mobility minutes per day{cal_note}."),
        )
    ]  # fmt: skip
    an = inp.analysis
    if inp.linked is not None and len(inp.linked) and len(inp.sessions):
        col = an.exposure_column if an is not None else "sessions_per_week_14d"
        lags = [lag.to_dict() for lag in an.lag_scan] if an is not None else []
        pages.append(ChartPage(
            title="Mobility and stride",
            charts=[partial(_call, plots.plot_exposure_vs_dropoff, inp.linked, exposure=col),
                    partial(_call, plots.plot_lag_scan, lags)],
            caption=("Top: each run's drop-off against the mobility work before it, with a "
                     "straight-line fit and its 95 % band. Bottom: the same rank correlation "
                     "over different look-back windows; p-values adjusted for scanning several "
                     "windows (Benjamini-Hochberg)."),
        ))  # fmt: skip
    if inp.example is not None:
        records, dropoff, label = inp.example
        pages.append(ChartPage(
            title=f"One run in detail: {label}",
            charts=[partial(_call, plots.plot_run_stride, records, dropoff),
                    partial(_call, plots.plot_step_vs_speed, records, dropoff)],
            caption=("Top: step length and cadence through the run; shaded the reference and "
                     "late windows, dashed the step length the early part predicts for the "
                     "speed and grade actually run. Bottom: step length against speed, early "
                     "vs late."),
        ))  # fmt: skip
    return pages


def _call(fn: Any, *args: Any, **kw: Any) -> Any:
    ax = args[-1]
    return fn(*args[:-1], ax=ax, **kw)


#: The runs table written beside the PDF: raw values, units in the names.
RUN_TABLE_COLUMNS = (
    "run_id", "start_time", "athlete", "sport", "distance_m", "moving_time_s", "avg_speed_mps",
    "running_cadence_spm", "avg_step_length_m", "stride_dropoff_pct",
    "stride_dropoff_ci95_low_pct", "stride_dropoff_ci95_high_pct", "dropoff_reason",
    "summary_only", "source",
)  # fmt: skip


def run_table_csv(runs: pd.DataFrame) -> pd.DataFrame:
    """Every run of the period, one row each, for the CSV written beside the PDF."""
    cols = [c for c in RUN_TABLE_COLUMNS if c in runs.columns]
    out = runs[cols].copy()
    out["dropoff_reason"] = _reasons(runs)
    return out


def _num(values: Any, spec: str, scale: float = 1.0) -> pd.Series:
    """Vectorised :func:`fmt`: numbers as text, "—" for NaN (no per-row Python in a loop)."""
    x = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float) * scale
    text = [format(v, spec) if v == v else "—" for v in x.tolist()]
    return pd.Series(text, dtype=object)


def _hm_series(seconds: Any) -> pd.Series:
    x = pd.to_numeric(pd.Series(seconds), errors="coerce").to_numpy(dtype=float)
    return pd.Series([f"{int(v // 3600)}:{int(v % 3600 // 60):02d}" if v == v else "—"
                      for v in x.tolist()], dtype=object)  # fmt: skip


def _pace_series(speed: Any, units: str = "km") -> pd.Series:
    x = pd.to_numeric(pd.Series(speed), errors="coerce").to_numpy(dtype=float)
    return pd.Series([_pace(v, units) if v == v and v > 0 else "—" for v in x.tolist()],
                     dtype=object)  # fmt: skip


#: Metres in one unit of distance the tables can be written in (``--units``).
UNIT_M = {"km": 1000.0, "mi": 1609.344}
#: Heading of the start-time column: local wall-clock time, from the device's UTC offset.
START = "start (local)"


def _dates(runs: pd.DataFrame, spec: str = "%Y-%m-%d %H:%M") -> pd.Series:
    """Local start times of ``runs`` (the device's UTC offset; UTC when unknown)."""
    t = pd.DatetimeIndex(pd.to_datetime(runs["start_time"], utc=True)).tz_localize(None)
    offset = runs["utc_offset_s"] if "utc_offset_s" in runs.columns else pd.Series(0, runs.index)
    off = pd.to_numeric(offset, errors="coerce").fillna(0).to_numpy(dtype=float)
    return pd.Series((t + pd.to_timedelta(off, unit="s")).strftime(spec), dtype=object)


def _reasons(runs: pd.DataFrame) -> pd.Series:
    """Why each run has no drop-off ("" when it has one)."""
    n = len(runs)
    has = runs["stride_dropoff_pct"].notna().to_numpy() if n else np.zeros(0, bool)
    reason = (runs["dropoff_reason"].astype(object).where(runs["dropoff_reason"].notna(), "")
              if "dropoff_reason" in runs.columns else pd.Series([""] * n, index=runs.index))  # fmt: skip
    reason = reason.astype(str).str.strip().to_numpy(dtype=object)
    if "summary_only" in runs.columns:
        summary = runs["summary_only"].fillna(False).astype(bool).to_numpy()
        reason = np.where(summary & (reason == ""), "summary only (no records)", reason)
    reason = np.where(~has & (reason == ""), "no drop-off computed", reason)
    return pd.Series(np.where(has, "", reason), index=runs.index, dtype=object)


def _dropoff_text(runs: pd.DataFrame) -> pd.Series:
    drop = _num(runs["stride_dropoff_pct"], "+.1f")
    lo = _num(runs["stride_dropoff_ci95_low_pct"], "+.1f")
    hi = _num(runs["stride_dropoff_ci95_high_pct"], "+.1f")
    with_ci = (drop != "—") & (lo != "—")
    out = drop.where(~with_ci, drop + " [" + lo + ", " + hi + "]")
    return out.where(drop != "—", "—")


def _run_table(runs: pd.DataFrame, units: str = "km") -> pd.DataFrame:
    """Every run as text (only in the PDF with ``run_table=True``)."""
    return pd.DataFrame({
        START: _dates(runs),
        units: _num(runs["distance_m"], ".1f", 1 / UNIT_M[units]),
        "moving": _hm_series(runs["moving_time_s"]),
        f"pace /{units}": _pace_series(runs["avg_speed_mps"], units),
        "spm": _num(runs["running_cadence_spm"], ".0f"),
        "step m": _num(runs["avg_step_length_m"], ".2f"),
        "drop-off % [95 %]": _dropoff_text(runs.reset_index(drop=True)),
    })  # fmt: skip


def _hm(seconds: Any) -> str:
    if seconds is None or not isinstance(seconds, int | float) or not math.isfinite(seconds):
        return NOT_ENOUGH
    return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}"


def _pace(speed: Any, units: str = "km") -> str:
    if (
        speed is None
        or not isinstance(speed, int | float)
        or not math.isfinite(speed)
        or speed <= 0
    ):
        return NOT_ENOUGH
    s = round(UNIT_M[units] / speed)
    return f"{int(s // 60)}:{int(s % 60):02d}"


#: Periods up to this long are shown week by week, longer ones month by month. [days]
WEEKLY_UP_TO_DAYS = 183


def _bins(inp: ReportInputs) -> tuple[str, str]:
    """("W" or "M", heading word) for the period table."""
    times = [pd.to_datetime(t, utc=True) for t in (inp.runs["start_time"],
                                                   inp.sessions["start_time"]) if len(t)]  # fmt: skip
    lo = min(t.min() for t in times)
    hi = max(t.max() for t in times)
    if (hi - lo) <= pd.Timedelta(days=WEEKLY_UP_TO_DAYS):
        return "W", "week"
    return "M", "month"


def _period_table(inp: ReportInputs) -> tuple[pd.DataFrame, str]:
    """Runs and mobility per week (short periods) or month: counts, totals, median drop-off."""
    freq, word = _bins(inp)

    def key(times: pd.Series) -> pd.Series:
        t = pd.DatetimeIndex(pd.to_datetime(times, utc=True)).tz_localize(None)
        if freq == "W":
            return pd.Series(t.normalize() - pd.to_timedelta(t.dayofweek, unit="D"))
        return pd.Series(t.to_period("M").to_timestamp())

    runs, ses = inp.runs, inp.sessions
    r = pd.DataFrame({"k": key(runs["start_time"]).to_numpy(),
                      "km": runs["distance_m"].to_numpy(dtype=float) / UNIT_M[inp.units],
                      "h": runs["moving_time_s"].to_numpy(dtype=float) / 3600,
                      "drop": runs["stride_dropoff_pct"].to_numpy(dtype=float)})  # fmt: skip
    g = r.groupby("k").agg(runs=("km", "size"), km=("km", "sum"), h=("h", "sum"),
                           with_drop=("drop", "count"), drop=("drop", "median"))  # fmt: skip
    m = pd.DataFrame({"k": key(ses["start_time"]).to_numpy(),
                      "min": ses["duration_min"].to_numpy(dtype=float)})  # fmt: skip
    gm = m.groupby("k").agg(sessions=("min", "size"), minutes=("min", "sum"))
    keys = g.index.union(gm.index)
    if len(keys):
        step = pd.offsets.Week(weekday=0) if freq == "W" else pd.offsets.MonthBegin()
        keys = pd.date_range(keys.min(), keys.max(), freq=step)
    g = g.reindex(keys)
    gm = gm.reindex(keys)
    label = keys.strftime("%Y-%m-%d" if freq == "W" else "%Y-%m")
    zero_int = {"runs": 0, "with_drop": 0}
    g = g.fillna(zero_int | {"km": 0.0, "h": 0.0})
    gm = gm.fillna({"sessions": 0, "minutes": 0.0})
    table = pd.DataFrame({
        f"{word} of" if freq == "W" else word: pd.Series(label, dtype=object),
        "runs": _num(g["runs"], ".0f"),
        inp.units: _num(g["km"], ".0f"),
        "moving h": _num(g["h"], ".1f"),
        "with drop-off": _num(g["with_drop"], ".0f"),
        "median drop-off %": _num(g["drop"], "+.1f"),
        "mobility sessions": _num(gm["sessions"], ".0f"),
        "mobility min": _num(gm["minutes"], ".0f"),
    })  # fmt: skip
    return table, word


def _notable_runs(runs: pd.DataFrame, units: str = "km") -> pd.DataFrame:
    """The longest, fastest, and the largest and smallest drop-off of the period."""
    picks: list[tuple[str, int]] = []
    r = runs.reset_index(drop=True)

    def add(label: str, series: pd.Series, largest: bool) -> None:
        s = pd.to_numeric(series, errors="coerce")
        if s.notna().any():
            picks.append((label, int(s.idxmax() if largest else s.idxmin())))

    add("longest", r["distance_m"], True)
    add("longest moving time", r["moving_time_s"], True)
    long_enough = r["distance_m"].where(r["distance_m"] >= 5000)
    add("fastest (5 km or more)", r["avg_speed_mps"].where(long_enough.notna()), True)
    add("largest drop-off", r["stride_dropoff_pct"], True)
    add("smallest drop-off", r["stride_dropoff_pct"], False)
    if not picks:
        return pd.DataFrame(columns=["why", START, units, "moving", f"pace /{units}",
                                     "drop-off % [95 %]"])  # fmt: skip
    merged: dict[int, list[str]] = {}
    for label, i in picks:  # one row per run: a single run is longest and fastest at once
        merged.setdefault(i, []).append(label)
    rows = r.iloc[list(merged)].reset_index(drop=True)
    return pd.DataFrame({
        "why": pd.Series([", ".join(w) for w in merged.values()], dtype=object),
        START: _dates(rows),
        units: _num(rows["distance_m"], ".1f", 1 / UNIT_M[units]),
        "moving": _hm_series(rows["moving_time_s"]),
        f"pace /{units}": _pace_series(rows["avg_speed_mps"], units),
        "drop-off % [95 %]": _dropoff_text(rows),
    })  # fmt: skip


#: Excluded runs listed by name in the PDF; the rest are counted (and all are in the CSV).
MAX_EXCLUDED_LISTED = 60


def _excluded(inp: ReportInputs) -> tuple[pd.DataFrame, str]:
    """Runs without a drop-off (and so outside the analysis), with why; and a summary line."""
    runs = inp.runs.reset_index(drop=True)
    reasons = _reasons(runs).reset_index(drop=True)
    out = reasons != ""
    counts = reasons[out].value_counts()
    parts = [f"{n} {reason}" for reason, n in counts.items()]
    n_out = int(out.sum())
    if n_out:
        text = (f"{n_out} of {_count(len(runs), 'run')} {'has' if n_out == 1 else 'have'} no "
                f"drop-off and {'is' if n_out == 1 else 'are'} left out of the analysis: "
                f"{'; '.join(parts)}.")  # fmt: skip
    else:
        text = ("The run has a drop-off." if len(runs) == 1
                else f"All {len(runs):,} runs have a drop-off.")  # fmt: skip
    before = inp.analysis.n_runs_before_log if inp.analysis is not None else 0
    if before and len(inp.sessions):
        text += (f" {before} run(s) before the mobility log's first entry are also left out: "
                 "their exposure is unknown.")  # fmt: skip
    rows = runs[out.to_numpy()].head(MAX_EXCLUDED_LISTED)
    if int(out.sum()) > MAX_EXCLUDED_LISTED:
        text += (f" The first {MAX_EXCLUDED_LISTED} are listed; every run is in the CSV "
                 "written beside this PDF.")  # fmt: skip
    table = pd.DataFrame({
        START: _dates(rows),
        inp.units: _num(rows["distance_m"], ".1f", 1 / UNIT_M[inp.units]),
        "moving": _hm_series(rows["moving_time_s"]),
        "why left out": pd.Series(reasons[out].head(MAX_EXCLUDED_LISTED).tolist(), dtype=object),
    })  # fmt: skip
    return table, text


def build_report(
    inp: ReportInputs, *, author: str = "stridekeeper", run_table: bool = False
) -> Document:
    """The report's pages for one period.

    Parameters
    ----------
    inp
        Computed inputs (see :class:`ReportInputs`).
    author
        PDF author metadata.
    run_table
        Also list every run in the PDF (as plain text; the CSV beside the PDF always has them).

    Returns
    -------
    Document
        An empty period gives a single page that says so.
    """
    title = "stridekeeper report"
    subject = f"Late-run stride drop-off and mobility consistency, {_period(inp)}"
    if not len(inp.runs) and not len(inp.sessions):
        page = TextPage(
            title="Stride and mobility report",
            subtitle=f"Period: {_period(inp)}",
            sections=[(None, "There are no runs and no mobility sessions in this period, so "
                             "there is nothing to report yet. Import your watch files and "
                             "mobility log (`stridekeeper import`), or choose a wider period "
                             "with --since and --until.")],
        )  # fmt: skip
        return Document(title=title, author=author, subject=subject, pages=[page])
    pages: list[Any] = [_summary_page(inp), *_charts(inp)]
    if len(inp.runs) or len(inp.sessions):
        table, word = _period_table(inp)
        pages.append(TextTablePage(
            title=f"The period, {word} by {word}", table=table,
            intro=(f"Running and mobility per {word}"
                   + (" (weeks start on Monday)" if word == "week" else "")
                   + ". Median drop-off: of the runs with one; positive = shorter steps late."),
        ))  # fmt: skip
    if len(inp.runs):
        excluded, why = _excluded(inp)
    if len(inp.runs) >= 3:
        pages.append(TextTablePage(title="Notable runs", table=_notable_runs(inp.runs, inp.units),
                                   intro="The extremes of the period; every run is in the CSV "
                                         "written beside this PDF."))  # fmt: skip
    if len(inp.runs):
        pages.append(TextTablePage(title="Runs the analysis left out", table=excluded,
                                   intro=why))  # fmt: skip
        if run_table:
            pages.append(TextTablePage(title="Every run", table=_run_table(inp.runs, inp.units),
                                       note=("Drop-off: positive = shorter steps late than speed "
                                             "and grade predict; [95 % interval]. Runs under 20 "
                                             "minutes of running have none.")))  # fmt: skip
    if inp.experiment is not None:
        from .experiment import experiment_pages

        pages.extend(experiment_pages(*inp.experiment))
    if inp.kinds is not None:
        from .experiment import kinds_pages

        pages.extend(kinds_pages(*inp.kinds))
    pages.append(TextPage(title="How the numbers are made", sections=list(METHODS)))
    return Document(title=title, author=author, subject=subject, pages=pages)
