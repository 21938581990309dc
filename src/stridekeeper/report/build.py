"""Assemble the PDF trend report from results already computed: words, charts, tables.

Nothing here computes a statistic; it only chooses words, rounds numbers for people and
decides what goes on which page. Drawing is done by :mod:`stridekeeper.plots`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Any

import pandas as pd

from ..plots.document import ChartPage, Document, TablePage, TextPage

__all__ = ["ReportInputs", "build_report", "fmt"]

NOT_ENOUGH = "not enough data"

METHODS = (
    ("Which samples count",
     "Averages that are compared with the watch use the time its timer was running. Running "
     "averages and the drop-off use moving samples only: timer running, speed at least "
     "1.0 m/s, cadence at least 120 steps/min, GPS speed spikes (over 3 m/s²) excluded."),
    ("Late-run stride drop-off",
     "Step length rises with speed and falls uphill, so a late run is compared with itself at "
     "the same speed and grade. The warm-up (first 10 % of moving time, at least 5 min) and "
     "ground steeper than ±4 % are left out. A robust (Huber) fit of step length on speed and "
     "grade over the reference window (end of warm-up to 50 % of moving time) predicts the "
     "late window (last 25 %). Drop-off = 100 × (1 − observed / predicted late step length): "
     "positive means shorter steps late than speed and grade explain. The 95 % interval comes "
     "from a moving-block bootstrap over 60-second blocks. Runs under 20 minutes of running "
     "get no value."),
    ("Mobility consistency",
     "For every run, the mobility sessions strictly before its start are counted in windows "
     "of 48 hours, 7, 14 and 28 days (sessions and minutes per week, share of days with a "
     "session, longest gap, per body region)."),
    ("Relating the two",
     "Spearman's rank correlation between exposure and drop-off, with a 95 % moving-block "
     "bootstrap interval and a permutation p-value from circular shifts of the exposure series "
     "(which keeps its week-to-week autocorrelation). Runs close in time are not independent: "
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
        Runs joined with their exposure (for the scatter), or None.
    analysis
        ``AnalysisResult.to_dict()`` of the period, or None.
    example
        (records, DropoffResult, label) of one run to show in detail, or None.
    since, until
        The period (dates as text, or None for open ends).
    athlete
        Whose data.
    """

    runs: pd.DataFrame
    sessions: pd.DataFrame
    linked: pd.DataFrame | None
    analysis: dict[str, Any] | None
    example: tuple[pd.DataFrame, Any, str] | None
    since: str | None
    until: str | None
    athlete: str | None = None
    #: (ExperimentResult, logged session dates) of a stored plan, or None (report/experiment.py).
    experiment: tuple[Any, Any] | None = None


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


def _period(inp: ReportInputs) -> str:
    runs = inp.runs
    first = inp.since or (runs["start_time"].min().date().isoformat() if len(runs) else None)
    last = inp.until or (runs["start_time"].max().date().isoformat() if len(runs) else None)
    if first is None and last is None:
        return "all time"
    return f"{first or 'the beginning'} to {last or 'today'}"


def _summary_page(inp: ReportInputs) -> TextPage:
    runs, an = inp.runs, inp.analysis or {}
    n_drop = int(runs["stride_dropoff_pct"].notna().sum()) if len(runs) else 0
    km = runs["distance_m"].sum() / 1000 if len(runs) else 0.0
    minutes = inp.sessions["duration_min"].sum() if len(inp.sessions) else 0.0
    sections: list[tuple[str | None, str]] = [
        ("What was analysed",
         f"{len(runs)} runs ({km:,.0f} km) between {_period(inp)}, {n_drop} of them long and "
         f"steady enough for a drop-off; {len(inp.sessions)} mobility sessions "
         f"({minutes:,.0f} minutes)."),
    ]  # fmt: skip
    conclusion = an.get("conclusion") or NOT_ENOUGH
    sections.append(("The headline", conclusion))
    part = an.get("partial") or {}
    if part.get("coef") is not None:
        names = [CONTROL_WORDS.get(c, c.replace("_", " ")) for c in part.get("controls") or []]
        controls = (", ".join(names[:-1]) + " and " + names[-1]) if len(names) > 1 else (
            names[0] if names else "nothing")  # fmt: skip
        ci = part.get("ci95") or [None, None]
        sections.append((
            "Controlling for the runs themselves",
            f"Holding {controls} fixed, each extra unit of exposure went with a drop-off change "
            f"of {fmt(part['coef'], '+.2f', ' % points')} (95 % interval "
            f"{fmt(ci[0], '+.2f')} to {fmt(ci[1], '+.2f')}; p {fmt_p(part.get('p_value'))}).",
        ))  # fmt: skip
    tv = an.get("typical_variation_pct") or {}
    if tv:
        sd = tv.get("sd_pct", tv.get("sd"))
        sections.append((
            "How much a single run says",
            f"Your drop-off varies from run to run by about {fmt(sd, '.1f', ' % points')} "
            "(standard deviation), so judge a single run against that, not against zero.",
        ))  # fmt: skip
    if an.get("n_eff") is not None:
        sections.append((
            "How much independent evidence",
            f"Runs close in time are alike; the {an.get('n_runs')} runs are worth about "
            f"{fmt(an['n_eff'], '.0f')} independent ones.",
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


def _charts(inp: ReportInputs) -> list[ChartPage]:
    from .. import plots

    pages = [
        ChartPage(
            title="Your season",
            charts=[partial(_call, plots.plot_dropoff_season, inp.runs),
                    partial(_call, plots.plot_weekly_volume, inp.runs, inp.sessions),
                    partial(_call, plots.plot_mobility_calendar, inp.sessions)],
            caption=("Top: late-run stride drop-off per run with its 95 % interval, a rolling "
                     "median and your typical run-to-run band. Middle: weekly running distance "
                     "and mobility minutes. Bottom: mobility minutes per day."),
        )
    ]  # fmt: skip
    an = inp.analysis or {}
    if inp.linked is not None and len(inp.linked):
        col = an.get("exposure_column") or "sessions_per_week_14d"
        pages.append(ChartPage(
            title="Mobility and stride",
            charts=[partial(_call, plots.plot_exposure_vs_dropoff, inp.linked, exposure=col),
                    partial(_call, plots.plot_lag_scan, an.get("lag_scan") or [])],
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


def _run_table(runs: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for r in runs.itertuples(index=False):
        lo, hi = r.stride_dropoff_ci95_low_pct, r.stride_dropoff_ci95_high_pct
        drop = fmt(r.stride_dropoff_pct, "+.1f")
        if drop != NOT_ENOUGH and fmt(lo) != NOT_ENOUGH:
            drop = f"{drop} [{lo:+.1f}, {hi:+.1f}]"
        elif isinstance(r.dropoff_reason, str) and r.dropoff_reason:
            drop = (
                "—"
                if r.dropoff_reason == "summary only"
                else "too short"
                if r.dropoff_reason.startswith("too short")
                else "—"
            )
        rows.append({
            "date (UTC)": pd.Timestamp(r.start_time).strftime("%Y-%m-%d %H:%M"),
            "km": fmt(r.distance_m / 1000 if r.distance_m == r.distance_m else None, ".1f"),
            "moving": _hm(r.moving_time_s),
            "pace /km": _pace(r.avg_speed_mps),
            "spm": fmt(r.running_cadence_spm, ".0f"),
            "step m": fmt(r.avg_step_length_m, ".2f"),
            "drop-off % [95 %]": drop,
        })  # fmt: skip
    return pd.DataFrame(rows, columns=["date (UTC)", "km", "moving", "pace /km", "spm", "step m",
                                       "drop-off % [95 %]"])  # fmt: skip


def _hm(seconds: Any) -> str:
    if seconds is None or not isinstance(seconds, int | float) or not math.isfinite(seconds):
        return NOT_ENOUGH
    return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}"


def _pace(speed: Any) -> str:
    if (
        speed is None
        or not isinstance(speed, int | float)
        or not math.isfinite(speed)
        or speed <= 0
    ):
        return NOT_ENOUGH
    s = 1000.0 / speed
    return f"{int(s // 60)}:{int(round(s % 60)) % 60:02d}"


def _mobility_table(sessions: pd.DataFrame) -> pd.DataFrame:
    from ..analysis.consistency import weekly_summary

    if not len(sessions):
        return pd.DataFrame(columns=["week of", "sessions", "minutes", "active days", "regions"])
    weekly = weekly_summary(sessions)
    region_cols = [c for c in weekly.columns if c.startswith("minutes_") and c != "minutes"]
    rows = []
    for w in weekly.itertuples(index=False):
        d = w._asdict()
        top = sorted(((d[c], c.removeprefix("minutes_").removesuffix("_min")) for c in region_cols
                      if isinstance(d[c], int | float) and d[c] > 0), reverse=True)[:3]  # fmt: skip
        rows.append({
            "week of": str(d.get("week_start")),
            "sessions": fmt(d.get("sessions"), ".0f"),
            "minutes": fmt(d.get("minutes"), ".0f"),
            "active days": fmt(d.get("active_days"), ".0f"),
            "regions": ", ".join(name.replace("_", " ") for _, name in top) or "—",
        })  # fmt: skip
    return pd.DataFrame(rows)


def build_report(inp: ReportInputs, *, author: str = "stridekeeper") -> Document:
    """The report's pages for one period.

    Parameters
    ----------
    inp
        Computed inputs (see :class:`ReportInputs`).
    author
        PDF author metadata.

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
    pages.append(TablePage(title="Every run", table=_run_table(inp.runs),
                           note=("Drop-off: positive = shorter steps late than speed and grade "
                                 "predict; [95 % interval]. Runs under 20 minutes of running "
                                 "have none."),
                           col_widths=[0.2, 0.08, 0.1, 0.11, 0.08, 0.1, 0.33]))  # fmt: skip
    pages.append(TablePage(title="Mobility, week by week", table=_mobility_table(inp.sessions),
                           note="Regions: the three with the most minutes that week.",
                           col_widths=[0.16, 0.11, 0.11, 0.13, 0.49]))  # fmt: skip
    if inp.experiment is not None:
        from .experiment import experiment_pages

        pages.extend(experiment_pages(*inp.experiment))
    pages.append(TextPage(title="How the numbers are made", sections=list(METHODS)))
    return Document(title=title, author=author, subject=subject, pages=pages)
