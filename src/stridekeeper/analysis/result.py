"""Typed, immutable results of the analysis and their plain-English and JSON forms.

The words follow docs/statistics.md: an association is "associated with" or "no
detectable association", never a claim about what brought it about; every statement
carries N, the interval and what was controlled for.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from ..jsonsafe import json_safe

__all__ = [
    "CAVEATS",
    "AnalysisResult",
    "CohortResult",
    "DoseBand",
    "Effect",
    "ExploratoryResult",
    "LagResult",
    "PartialResult",
    "TypicalVariation",
    "describe_exposure",
]

#: Unit of each exposure (per-region minutes are min/week).
_UNITS = {
    "sessions_per_week": "session/week",
    "minutes_per_week": "min/week",
    "active_day_share": "share of days",
    "longest_gap_days": "day",
    "gap_cv": "unit of CV",
    "ewm_load_min": "min/day",
}

#: What "more" of an exposure reads as, for the conclusion.
_MORE = {
    "sessions_per_week": "more mobility sessions per week",
    "minutes_per_week": "more minutes of mobility work per week",
    "active_day_share": "a larger share of days with a mobility session",
    "longest_gap_days": "a longer longest gap between mobility sessions",
    "gap_cv": "more irregular gaps between mobility sessions",
    "ewm_load_min": "a higher exponentially weighted mobility load",
}

_CONTROL_WORDS = {
    "moving_time_s": "moving time",
    "avg_speed_mps": "average speed",
    "elevation_gain_m": "elevation gain",
    "avg_temperature_c": "temperature",
    "acute_load_7d_h": "acute load (7-day running time)",
    "chronic_load_42d_h": "chronic load (42-day running time)",
    "acute_chronic_ratio": "acute:chronic load ratio",
    "weekly_volume_14d_h": "weekly volume",
    "time_trend_days": "a time trend",
    "time_trend_days_squared": "its square",
}


_RUN_CONTROLS = ("moving_time_s", "avg_speed_mps", "elevation_gain_m", "avg_temperature_c")


def _controls_words(names: tuple[str, ...] | list[str]) -> str:
    return ", ".join(_CONTROL_WORDS.get(c, c) for c in names) or "nothing"


#: What every report says about the limits of the evidence.
CAVEATS: tuple[str, ...] = (
    "This is an association across runs, not proof that mobility work changes your stride: "
    "periods with more mobility work can differ in other ways (training load, sleep, terrain, "
    "shoes) that were not measured.",
    "The published evidence that stretching changes stride or running economy is weak and "
    "mixed (Caplan et al. 2009; Konrad et al. 2021; Warneke et al. 2025), so a null result "
    "here is an unsurprising, useful answer.",
    "The strongest design you can run yourself: alternate blocks of a few weeks with and "
    "without regular mobility work (say 4 weeks on, 4 weeks off, twice), keep your training "
    "otherwise similar, and run this analysis again.",
)


def _unit(exposure: str) -> str:
    if exposure.startswith("minutes_per_week"):
        return "min/week"
    return _UNITS.get(exposure, "unit")


def _more(exposure: str) -> str:
    if exposure in _MORE:
        return _MORE[exposure]
    region = exposure.removeprefix("minutes_per_week_").replace("_", " ")
    return f"more minutes per week of {region} mobility work"


#: An effect stated per a named amount of each exposure: (words, amount in exposure units).
_PER = {
    "sessions_per_week": ("per extra session a week", 1.0),
    "minutes_per_week": ("per extra 10 minutes a week", 10.0),
    "active_day_share": ("per 10 % more days with a session", 0.1),
    "longest_gap_days": ("per extra day in the longest gap", 1.0),
    "gap_cv": ("per 0.1 more irregularity of the gaps (CV)", 0.1),
    "ewm_load_min": ("per extra minute a day of weighted load", 1.0),
}


def _per(exposure: str) -> tuple[str, float]:
    if exposure.startswith("minutes_per_week_"):
        region = exposure.removeprefix("minutes_per_week_").replace("_", " ")
        return f"per extra 10 minutes a week of {region} work", 10.0
    return _PER.get(exposure, (f"per unit of {exposure}", 1.0))


def _span(window_days: float | tuple[float, float] | None) -> str:
    if window_days is None:
        return ""
    if isinstance(window_days, tuple | list):
        return f" from {window_days[1]:g} to {window_days[0]:g} days before the run"
    return " over the prior " + ("48 hours" if window_days == 2 else f"{window_days:g} days")


def describe_exposure(exposure: str, window_days: float | None) -> str:
    """Plain words for an exposure in a window, e.g. 'mobility sessions per week over the
    prior 14 days'."""
    from .link import EXPOSURES

    phrase = EXPOSURES.get(exposure, (None, exposure.replace("_", " ")))[1]
    return phrase + _span(window_days)


def _f(value: float | None, spec: str = ".2f") -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return format(value, spec)


def _p(p: float | None) -> str:
    if p is None or not math.isfinite(p):
        return "n/a"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _peq(p: float | None) -> str:
    """'p = 0.018' or 'p < 0.001'."""
    text = _p(p)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def _ci(ci: tuple[float, float] | None, spec: str = "+.2f") -> str:
    if ci is None or ci[0] is None or not math.isfinite(ci[0]):
        return "n/a"
    return f"{format(ci[0], spec)} to {format(ci[1], spec)}"


@dataclass(frozen=True)
class PartialResult:
    """Regression of drop-off on exposure, controlling for run characteristics.

    Attributes
    ----------
    coef
        Change in drop-off per unit of exposure, the controls held fixed, from the model
        with AR(1) errors. [% points per unit]
    ci95
        Its 95 % interval (t distribution). [% points per unit]
    p_value
        Two-sided p-value of ``coef = 0``.
    controls
        Columns controlled for.
    n_runs
        Runs in the regression (complete cases).
    method
        The model reported.
    error_autocorr
        AR(1) coefficient of the errors used (bias-corrected).
    hac_coef, hac_ci95, hac_p_value, hac_maxlags
        Cross-check: ordinary least squares with Newey-West standard errors over
        ``hac_maxlags`` runs (anti-conservative with few runs; see
        :func:`~stridekeeper.analysis.stats.partial_regression`).
    note
        Why it is missing, when it is.
    left_out
        Candidate controls not used, with the reason.
    gls_coef, gls_ci95, gls_p_value
        In :func:`~stridekeeper.analysis.stats.analyze`, where ``coef`` / ``ci95`` /
        ``p_value`` come from the permutation check, the AR(1) model's own figures.
    """

    coef: float | None = None
    ci95: tuple[float, float] | None = None
    p_value: float | None = None
    controls: tuple[str, ...] = ()
    n_runs: int = 0
    method: str | None = None
    error_autocorr: float | None = None
    hac_coef: float | None = None
    hac_ci95: tuple[float, float] | None = None
    hac_p_value: float | None = None
    hac_maxlags: int | None = None
    note: str | None = None
    left_out: tuple[str, ...] = ()
    gls_coef: float | None = None
    gls_ci95: tuple[float, float] | None = None
    gls_p_value: float | None = None

    def with_left_out(self, left_out: tuple[str, ...]) -> PartialResult:
        """A copy that lists the candidate controls left out."""
        return dataclasses.replace(self, left_out=left_out)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (NaN as None)."""
        return json_safe({f.name: getattr(self, f.name) for f in dataclasses.fields(self)})


@dataclass(frozen=True)
class LagResult:
    """One window of the lag scan.

    Attributes
    ----------
    window_days
        Look-back window. [days]
    column
        Exposure column.
    rho
        Spearman's rho.
    p_value
        Circular-shift permutation p-value, unadjusted.
    p_adjusted
        Benjamini-Hochberg adjusted over all windows scanned.
    n_runs
        Runs with drop-off and exposure.
    """

    window_days: float
    column: str
    rho: float | None
    p_value: float | None
    p_adjusted: float | None
    n_runs: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return json_safe(dataclasses.asdict(self))


@dataclass(frozen=True)
class ExploratoryResult:
    """One exposure x window tried besides (or as) the primary one.

    Attributes
    ----------
    exposure, window_days, window, column
        Which exposure and window (``window_days`` a number of days, a ``(near, far)``
        lagged window, or None for the windowless EWM load; ``window`` its label).
    rho, p_value
        Load- and trend-adjusted Spearman's rho and its circular-shift p-value, unadjusted
        for multiplicity.
    p_adjusted
        Benjamini-Hochberg adjusted across every exposure x window tried.
    n_runs
        Runs with drop-off and that exposure.
    primary
        Whether this is the primary exposure and window.
    """

    exposure: str
    window_days: float | tuple[float, float] | None
    window: str
    column: str
    rho: float | None
    p_value: float | None
    p_adjusted: float | None
    n_runs: int
    primary: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return json_safe(dataclasses.asdict(self))


@dataclass(frozen=True)
class DoseBand:
    """Drop-off in one exposure band.

    Attributes
    ----------
    band
        Label, e.g. ``"(1, 2]"``.
    low, high
        Band limits (sessions/week bands) or the smallest and largest exposure in the band
        (tertiles). [exposure unit]
    n_runs
        Runs in the band.
    median_pct, mean_pct
        Drop-off median and mean; None for an empty band. [%]
    mean_ci95
        95 % t interval of the mean (None with fewer than 2 runs). [%]
    merged
        Whether the band was merged from neighbours with too few runs.
    """

    band: str
    low: float
    high: float
    n_runs: int
    median_pct: float | None
    mean_pct: float | None
    mean_ci95: tuple[float, float] | None = None
    merged: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (infinite limits as None)."""
        return json_safe(dataclasses.asdict(self))


@dataclass(frozen=True)
class TypicalVariation:
    """Run-to-run variation of drop-off.

    Attributes
    ----------
    sd
        Standard deviation. [% points]
    mad
        1.4826 x median absolute deviation. [% points]
    n_runs
        Runs with a drop-off.
    """

    sd: float | None
    mad: float | None
    n_runs: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return json_safe(dataclasses.asdict(self))


@dataclass(frozen=True)
class Effect:
    """One fixed effect of the mixed model.

    Attributes
    ----------
    coef
        Change in drop-off per unit of exposure. [% points per unit]
    ci95
        95 % interval. [% points per unit]
    p_value
        Two-sided p-value (Wald).
    """

    coef: float | None
    ci95: tuple[float, float] | None
    p_value: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return json_safe(dataclasses.asdict(self))


@dataclass(frozen=True)
class CohortResult:
    """Several athletes: within- and between-athlete associations from a mixed model.

    Attributes
    ----------
    n_athletes, n_runs
        Athletes and runs in the model.
    within
        Association of drop-off with an athlete's exposure relative to their own mean.
    between
        Association of drop-off with athletes' mean exposure; None with fewer than 3
        athletes.
    model
        ``"random intercept and slope"`` or ``"random intercept only"``.
    converged
        Whether the reported model converged cleanly.
    controls
        Columns controlled for.
    note
        What happened (fallbacks, athletes left out).
    conclusion
        One plain sentence.
    """

    n_athletes: int
    n_runs: int
    within: Effect | None
    between: Effect | None
    model: str | None
    converged: bool
    controls: tuple[str, ...]
    note: str | None
    conclusion: str
    exposure: str = "sessions_per_week"
    window_days: float | None = 14

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return json_safe({f.name: getattr(self, f.name) for f in dataclasses.fields(self)})

    def to_text(self) -> str:
        """A short paragraph."""
        unit = _unit(self.exposure)
        lines = [f"Mixed model over {self.n_athletes} athletes and {self.n_runs} runs "
                 f"({self.model or 'not fitted'}):"]  # fmt: skip
        for label, eff in (("within an athlete", self.within), ("between athletes", self.between)):
            if eff is not None and eff.coef is not None:
                lines.append(f"  {label}: {eff.coef:+.2f} % points per {unit} "
                             f"(95 % interval {_ci(eff.ci95)}, {_peq(eff.p_value)})")  # fmt: skip
        if self.controls:
            lines.append("  controlled for: " + ", ".join(_CONTROL_WORDS.get(c, c)
                                                          for c in self.controls))  # fmt: skip
        if self.note:
            lines.append(f"  note: {self.note}")
        lines.append(self.conclusion)
        return "\n".join(lines)


@dataclass(frozen=True)
class AnalysisResult:
    """Everything :func:`~stridekeeper.analysis.stats.analyze` found, immutable.

    Statistics are None when there were too few runs (fewer than
    :data:`~stridekeeper.analysis.stats.MIN_RUNS` with a drop-off and an exposure) and, at
    the top level, for several athletes (see ``athletes`` and ``cohort``).

    Attributes
    ----------
    n_runs
        Runs with a drop-off and an exposure: the N of every statistic.
    n_runs_total, n_runs_with_dropoff, n_runs_before_log
        All runs; runs with a drop-off; runs with a drop-off before the mobility log began
        (their exposure is unknown).
    window_days
        Look-back window of the main exposure. [days]
    exposure, exposure_column, outcome
        Names.
    rho, ci95
        The primary result: Spearman's rho of drop-off and exposure with training load and
        a (quadratic) time trend regressed out of both ranks (``primary_controls``), and its
        95 % interval from the circular shifts' spread
        (:func:`~stridekeeper.analysis.stats.shift_interval`).
    p_value
        Its two-sided circular-shift permutation p-value.
    rho_unadjusted, p_value_unadjusted
        Plain Spearman's rho and its permutation p-value (nothing controlled).
    primary_controls
        Columns regressed out for the primary result.
    primary_source
        ``"default"`` or where the primary exposure and window were fixed (e.g.
        ``"set 2026-12-01"``).
    exploratory
        Every exposure x window tried, p-values Benjamini-Hochberg adjusted across all.
    n_eff
        Effective sample size ``N (1 - r1 r2) / (1 + r1 r2)``. [runs]
    r1_outcome, r1_exposure
        Lag-1 autocorrelations.
    block_length, n_boot
        Block length [runs] of the lag-aware checks and bootstrap replicates; the primary
        interval no longer resamples (``n_boot`` None).
    partial
        Regression controlling for run characteristics.
    lag_scan
        One entry per window, p-values Benjamini-Hochberg adjusted.
    dose_response
        Drop-off by exposure band.
    typical_variation_pct
        Run-to-run variation of drop-off. [% points]
    cohort
        Mixed model when several athletes are present, else None.
    athletes
        (name, result) per athlete when several are present.
    athlete, first_run, last_run
        Who, and the first and last run analysed (ISO 8601 UTC).
    conclusion
        One plain sentence.
    seed
        Bootstrap seed.
    """

    n_runs: int = 0
    n_runs_total: int = 0
    n_runs_with_dropoff: int = 0
    n_runs_before_log: int = 0
    window_days: float | tuple[float, float] | None = 14
    exposure: str = "sessions_per_week"
    exposure_column: str = "sessions_per_week_14d"
    outcome: str = "stride_dropoff_pct"
    rho: float | None = None
    ci95: tuple[float, float] | None = None
    p_value: float | None = None
    n_eff: float | None = None
    r1_outcome: float | None = None
    r1_exposure: float | None = None
    block_length: int | None = None
    n_boot: int | None = None
    rho_unadjusted: float | None = None
    p_value_unadjusted: float | None = None
    primary_controls: tuple[str, ...] = ()
    primary_source: str = "default"
    partial: PartialResult | None = None
    lag_scan: tuple[LagResult, ...] = ()
    exploratory: tuple[ExploratoryResult, ...] = ()
    dose_response: tuple[DoseBand, ...] = ()
    typical_variation_pct: TypicalVariation | None = None
    cohort: CohortResult | None = None
    athletes: tuple[tuple[str, AnalysisResult], ...] = field(default=())
    athlete: str | None = None
    first_run: str | None = None
    last_run: str | None = None
    conclusion: str = ""
    seed: int = 0

    # ------------------------------------------------------------------ words
    @property
    def verdict(self) -> str | None:
        """``"associated"`` (test and interval agree), ``"inconclusive"`` (they disagree) or
        ``"no detectable association"``; None without statistics."""
        if self.p_value is None:
            return None
        test = self.p_value < 0.05
        ci = self.ci95
        interval = ci is not None and ci[0] is not None and (ci[0] > 0 or ci[1] < 0)
        if test and interval:
            return "associated"
        if test or interval:
            return "inconclusive"
        return "no detectable association"

    @property
    def associated(self) -> bool | None:
        """True when the permutation test is below 0.05 *and* the 95 % interval excludes
        zero; None without statistics."""
        v = self.verdict
        return None if v is None else v == "associated"

    @property
    def at_permutation_floor(self) -> bool:
        """Whether the p-value is the smallest the permutation test can give (1/N)."""
        return bool(self.p_value is not None and self.n_runs
                    and self.p_value <= 1.0 / self.n_runs + 1e-12)  # fmt: skip

    def effect_sentence(self) -> str | None:
        """The adjusted model's effect in named units, against typical variation."""
        p = self.partial
        if p is None or p.coef is None:
            return None
        words, amount = _per(self.exposure)
        eff = p.coef * amount
        lo, hi = (v * amount for v in p.ci95) if p.ci95 else (float("nan"),) * 2
        text = (f"{abs(eff):.2f} % points {'less' if eff < 0 else 'more'} drop-off {words} "
                f"(95 % interval {lo:+.2f} to {hi:+.2f}, {_peq(p.p_value)})")  # fmt: skip
        tv = self.typical_variation_pct
        if tv is not None and tv.sd:
            text += (f", {abs(eff) / tv.sd:.2f} of your typical run-to-run variation "
                     f"(SD {tv.sd:.1f} % points)")  # fmt: skip
        return text

    def check_sentence(self) -> str:
        """Whether the adjusted model agrees with the primary result, in plain words."""
        p = self.partial
        if p is None or p.coef is None:
            note = p.note if p is not None else "not computed"
            return f"Check with the adjusted regression: not computed ({note})."
        ctrl = _controls_words(p.controls)
        eff = self.effect_sentence()
        sig = p.p_value is not None and p.p_value < 0.05
        same_sign = (self.rho or 0) * p.coef > 0
        if self.verdict == "associated":
            if sig and same_sign:
                return (f"Check: the adjusted regression (controlling for {ctrl}) agrees: "
                        f"{eff}.")  # fmt: skip
            return (f"Check: the adjusted regression (controlling for {ctrl}) does not agree: "
                    f"it finds {eff}, so read the association above with caution.")  # fmt: skip
        if sig:
            return (f"Check: the adjusted regression (controlling for {ctrl}) does not agree: "
                    f"taken alone it finds {eff}; it is a check, not the primary result, "
                    "and the primary result above does not support it.")  # fmt: skip
        return (f"Check: the adjusted regression (controlling for {ctrl}) agrees that nothing "
                f"clear shows: {eff}.")  # fmt: skip

    def with_conclusion(self) -> AnalysisResult:
        """A copy whose ``conclusion`` states the primary result from both its permutation
        test and its interval: "associated" only when both agree."""
        what = describe_exposure(self.exposure, self.window_days)
        adj = ("controlling for training load and time trend, " if self.primary_controls
               else "")  # fmt: skip
        stats = (f"{adj}Spearman rho {_f(self.rho, '+.2f')}, 95 % interval {_ci(self.ci95)}, "
                 f"permutation {_peq(self.p_value)}")  # fmt: skip
        more = _more(self.exposure)
        span = _span(self.window_days)
        direction = "less" if (self.rho or 0) < 0 else "more"
        verdict = self.verdict
        if verdict == "associated":
            text = (f"Across {self.n_runs} runs, having {more}{span} was associated with {direction} "
                    f"late-run stride drop-off ({stats}).")  # fmt: skip
        elif verdict == "inconclusive":
            if self.p_value is not None and self.p_value < 0.05:
                why = "the permutation test is below 0.05 but the 95 % interval includes zero"
            else:
                why = "the 95 % interval excludes zero but the permutation test is not below 0.05"
            text = (f"Across {self.n_runs} runs, having {more}{span} was suggestive of {direction} "
                    f"late-run stride drop-off but inconclusive: {why} ({stats}).")  # fmt: skip
        else:
            text = (f"Across {self.n_runs} runs, there was no detectable association between "
                    f"{what} and late-run stride drop-off ({stats}).")  # fmt: skip
        if self.primary_source.startswith("exploratory"):
            text = f"Exploratory, not the primary result ({self.primary_source[13:]}): {text}"
        if self.at_permutation_floor:
            text += (f" That p-value is the floor of the permutation test with {self.n_runs} runs "
                     f"(1/{self.n_runs}): it cannot go lower, so it is not evidence of a "
                     "stronger result than that.")  # fmt: skip
        return dataclasses.replace(self, conclusion=text)

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-ready data (NaN as None, tuples as lists).

        Returns
        -------
        dict
            Every attribute (nested results as dicts; ``athletes`` as name -> dict), plus
            ``lag_scan_note`` and ``caveats``.
        """
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "athletes":
                out[f.name] = {name: res.to_dict() for name, res in value} if value else None
            else:
                out[f.name] = json_safe(value)
        n_tried = len(self.exploratory) or len(self.lag_scan)
        out["lag_scan_note"] = (
            f"p_adjusted: Benjamini-Hochberg adjustment over all {n_tried} exposure x window "
            "choices tried (exploratory)" if self.lag_scan else None
        )  # fmt: skip
        out["verdict"] = self.verdict
        out["at_permutation_floor"] = self.at_permutation_floor
        out["check"] = self.check_sentence() if self.p_value is not None else None
        out["methods"] = self.methods()
        out["caveats"] = list(CAVEATS)
        return out

    def to_text(self) -> str:
        """A plain-English report.

        Returns
        -------
        str
            Several paragraphs: what was analysed, the conclusion, the numbers behind it, and
            what the analysis can and cannot say.
        """
        lines: list[str] = []
        who = f" ({self.athlete})" if self.athlete else ""
        lines.append(f"Mobility consistency and late-run stride drop-off{who}")
        lines.append("=" * len(lines[0]))
        what = describe_exposure(self.exposure, self.window_days)
        lines.append(f"Exposure: {what} ({self.exposure_column}).")
        lines.append("Outcome: late-run stride drop-off at the same speed and grade, in % "
                     "(stride_dropoff_pct; positive = shorter steps late).")  # fmt: skip
        if self.cohort is not None or self.athletes:
            lines.append(f"Runs: {self.n_runs} with a drop-off and logged mobility work, "
                         f"from {len(self.athletes)} athletes.")  # fmt: skip
            lines.append("")
            if self.cohort is not None:
                lines.append(self.cohort.to_text())
            lines.append("")
            lines.append("Each athlete on their own:")
            for name, res in self.athletes:
                lines.append(f"  {name}: {res.conclusion}")
            self._caveats(lines)
            return "\n".join(lines)

        span = ""
        if self.first_run and self.last_run:
            span = f" ({self.first_run[:10]} to {self.last_run[:10]})"
        lines.append(
            f"Runs: {self.n_runs} with a drop-off and logged mobility work{span}; "
            f"{self.n_runs_total} runs in all, {self.n_runs_total - self.n_runs_with_dropoff} "
            f"without a drop-off, {self.n_runs_before_log} before the mobility log began."
        )
        lines.append(f"Methods (fixed in advance): {self.methods()}")
        lines.append("")
        lines.append(f"Conclusion: {self.conclusion}")
        if self.p_value is not None:
            lines.append(self.check_sentence())
        if self.rho is None and self.p_value is None:
            self._variation(lines)
            self._caveats(lines)
            return "\n".join(lines)

        lines.append("")
        lines.append(
            f"Primary rank correlation (controlling for {_controls_words(self.primary_controls)}): "
            f"Spearman rho = {_f(self.rho, '+.2f')}, 95 % interval "
            f"{_ci(self.ci95)} (from the spread of the {self.n_runs - 1} circular shifts of the "
            f"exposure series); permutation {_peq(self.p_value)} (the same shifts)."
        )
        lines.append(f"Without any control: Spearman rho = {_f(self.rho_unadjusted, '+.2f')}, "
                     f"permutation {_peq(self.p_value_unadjusted)}.")  # fmt: skip
        if self.n_runs < 20 or self.at_permutation_floor:
            lines.append(f"With {self.n_runs} runs the smallest possible permutation p-value is "
                         f"1/{self.n_runs} = {1 / self.n_runs:.3f}.")  # fmt: skip
        lines.append(
            f"Effective sample size: about {_f(self.n_eff, '.0f')} independent runs of "
            f"{self.n_runs} (lag-1 autocorrelation of drop-off {_f(self.r1_outcome)}, of the "
            "exposure " + _f(self.r1_exposure) + "): consecutive runs are not independent."
        )
        p = self.partial
        if p is not None and p.coef is not None:
            ctrl = _controls_words(p.controls)
            lines.append(
                f"Adjusted regression (a check), controlling for {ctrl}: {p.coef:+.2f} % points "
                "of drop-off per "
                f"{_unit(self.exposure)} (95 % interval {_ci(p.ci95)}, {_peq(p.p_value)}; "
                f"{p.method}, error autocorrelation {_f(p.error_autocorr)}, {p.n_runs} runs). "
                f"Ordinary least squares with Newey-West errors ({p.hac_maxlags} lags), "
                f"which tends to overstate significance with few runs: {_f(p.hac_coef, '+.2f')} "
                f"(95 % interval {_ci(p.hac_ci95)}, {_peq(p.hac_p_value)})."
            )
            if p.left_out:
                lines.append("Not controlled for: " + "; ".join(p.left_out) + ".")
        elif p is not None:
            lines.append(f"Regression with controls: not computed ({p.note}).")
        if self.lag_scan:
            n_tried = len(self.exploratory) or len(self.lag_scan)
            lines.append("")
            lines.append(f"Lag scan, exploratory (p adjusted for all {n_tried} exposure x window "
                         "choices tried, Benjamini-Hochberg):")  # fmt: skip
            lines.append(f"  {'window':>8}  {'rho':>6}  {'p':>7}  {'p adj.':>7}  {'runs':>5}")
            for r in self.lag_scan:
                w = "48 h" if r.window_days == 2 else f"{r.window_days:g} d"
                lines.append(f"  {w:>8}  {_f(r.rho, '+.2f'):>6}  {_p(r.p_value):>7}  "
                             f"{_p(r.p_adjusted):>7}  {r.n_runs:>5}")  # fmt: skip
        if self.exploratory:
            tried = [e for e in self.exploratory if e.p_value is not None]
            hits = [e for e in tried if e.p_adjusted is not None and e.p_adjusted < 0.05]
            raw = [e for e in tried if e.p_value < 0.05]
            lines.append("")
            lines.append(
                f"Exploratory: {len(self.exploratory)} exposure x window choices tried; "
                f"{len(raw)} reach p < 0.05 unadjusted, {len(hits)} after Benjamini-Hochberg "
                "adjustment across all of them. These are not the result: only the primary "
                "exposure and window above, fixed in advance, drives the conclusion."
            )
            for e in sorted(tried, key=lambda e: e.p_value)[:5]:
                star = " (primary)" if e.primary else ""
                lines.append(f"  {e.column:<34} rho {_f(e.rho, '+.2f')}  p {_p(e.p_value)}  "
                             f"p adj. {_p(e.p_adjusted)}{star}")  # fmt: skip
        if self.dose_response:
            lines.append("")
            lines.append(f"Drop-off by exposure ({_unit(self.exposure)}; descriptive, not "
                         "controlled; bands under 5 runs merged with a neighbour):")  # fmt: skip
            lines.append(f"  {'band':>16}  {'runs':>5}  {'median %':>8}  {'mean %':>7}  "
                         "95 % interval of the mean")  # fmt: skip
            for b in self.dose_response:
                warn = "  (few runs: not a result)" if b.n_runs < 5 else ""
                lines.append(f"  {b.band:>16}  {b.n_runs:>5}  {_f(b.median_pct, '.1f'):>8}  "
                             f"{_f(b.mean_pct, '.1f'):>7}  {_ci(b.mean_ci95, '.1f')}{warn}")  # fmt: skip
        self._variation(lines)
        self._caveats(lines)
        return "\n".join(lines)

    def methods(self) -> str:
        """The primary result as fixed before looking at the data."""
        what = describe_exposure(self.exposure, self.window_days)
        if self.primary_source.startswith("exploratory"):
            return (f"this run is exploratory ({self.primary_source[13:]}); it is analysed like "
                    "the primary result but does not replace it.")  # fmt: skip
        src = ("the default" if self.primary_source == "default"
               else f"fixed by you ({self.primary_source})")  # fmt: skip
        return (
            f"the primary result ({src}) is the rank correlation of late-run stride "
            f"drop-off with {what}, with training load (7- and 42-day running time, their "
            "ratio, weekly volume) and a time trend regressed out of both, tested by "
            "circular-shift permutation with a 95 % interval from the same shifts; it reads "
            "'associated' only when the test (p < 0.05) and the interval (excluding zero) "
            "agree. The adjusted regression is a check; every other exposure and window is "
            "exploratory."
        )

    def _variation(self, lines: list[str]) -> None:
        tv = self.typical_variation_pct
        if tv is not None and tv.sd is not None:
            lines.append("")
            lines.append(
                f"Typical run-to-run variation of your drop-off: SD {tv.sd:.1f} % points "
                f"(MAD-based {_f(tv.mad, '.1f')}), over {tv.n_runs} runs; one run differing by "
                "less than this is ordinary variation."
            )

    @staticmethod
    def _caveats(lines: list[str]) -> None:
        lines.append("")
        lines.append("What this can and cannot say:")
        lines.extend(f"- {c}" for c in CAVEATS)
