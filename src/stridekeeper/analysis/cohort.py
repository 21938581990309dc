"""Several athletes: a mixed model separating within- from between-athlete associations.

An athlete who does more mobility work than another may differ in many ways (age, build,
training history); an athlete doing more mobility work than *they usually do* is compared
with themselves. So the exposure is split into the athlete's mean (between) and the
deviation from it (within), and both enter a linear mixed model with a random intercept
and a random within-slope per athlete (statsmodels ``MixedLM``). The within effect is the
one that bears on "does my mobility work go with my stride"; the between effect is the
cross-sectional association, open to confounding between people.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .link import LOAD_COLUMNS, exposure_column, training_load
from .result import CohortResult, Effect, _ci, _more, _peq, _span, _unit

__all__ = ["MIN_RUNS_PER_ATHLETE", "analyze_cohort"]

#: Athletes with fewer usable runs than this are left out of the mixed model.
MIN_RUNS_PER_ATHLETE = 5


def _effect(fit: object, j: int, df: int) -> Effect:
    """The mixed model's coefficient ``j`` with a t reference of ``df`` degrees of freedom.

    MixedLM's own Wald interval uses the normal distribution, which is honest only with
    many athletes: a between-athlete slope rests on one mean per athlete, so with six
    athletes its z test rejected a true null in 9-12 % of simulated cohorts, and a t with
    (athletes - 2) degrees of freedom in 4 %.
    """
    from scipy.stats import t as t_dist

    coef = float(np.asarray(fit.fe_params)[j])  # type: ignore[attr-defined]
    se = float(np.asarray(fit.bse_fe)[j])  # type: ignore[attr-defined]
    if not (np.isfinite(se) and se > 0):
        return Effect(coef=coef, ci95=(float("nan"), float("nan")), p_value=float("nan"))
    half = float(t_dist.ppf(0.975, df)) * se
    p = float(2 * t_dist.sf(abs(coef) / se, df))
    return Effect(coef=coef, ci95=(coef - half, coef + half), p_value=p)


def _fit(y: np.ndarray, exog: np.ndarray, groups: np.ndarray, exog_re: np.ndarray | None):
    """Fit one MixedLM; returns (result or None, clean: bool)."""
    from statsmodels.regression.mixed_linear_model import MixedLM
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit = MixedLM(y, exog, groups, exog_re=exog_re).fit(
                reml=True, method=["bfgs", "lbfgs", "cg", "powell"]
            )
        except (np.linalg.LinAlgError, ValueError):
            return None, False
        bse = np.asarray(fit.bse_fe, dtype=float)
        cov = np.asarray(fit.cov_re, dtype=float)
    bad = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    finite = bool(np.isfinite(bse).all() and np.isfinite(cov).all())
    clean = bool(fit.converged) and not bad and finite
    if exog_re is not None and clean:
        clean = bool(np.linalg.eigvalsh(cov).min() > 1e-8 * max(np.abs(cov).max(), 1e-12))
    return (fit if finite else None), clean


def analyze_cohort(
    linked: pd.DataFrame,
    *,
    exposure: str = "sessions_per_week",
    window_days: float = 14,
    controls: Sequence[str] | None = None,
    min_runs_per_athlete: int = MIN_RUNS_PER_ATHLETE,
    column: str | None = None,
) -> CohortResult:
    """Within- and between-athlete association of exposure with drop-off.

    Model: ``dropoff ~ 1 + x_within + x_between + controls``, random intercept and random
    ``x_within`` slope per athlete, REML. ``x_between`` is the athlete's mean exposure over
    their runs, ``x_within = x - x_between``. When the random-slope model does not converge
    cleanly (a warning, a singular random-effects covariance, e.g. a slope variance at
    zero), a random-intercept-only model is fitted instead and the result says so.

    Parameters
    ----------
    linked
        Runs of several athletes with their exposure columns
        (:func:`~stridekeeper.analysis.link.link_exposure`) and an ``athlete`` column.
    exposure, window_days
        As in :func:`~stridekeeper.analysis.stats.analyze`.
    controls
        Candidate control columns (default: moving time, speed, elevation gain,
        temperature; used where present, varying and < 20 % missing; standardised). The
        training load and time trend of :data:`~stridekeeper.analysis.link.LOAD_COLUMNS`
        are always added.
    min_runs_per_athlete
        Athletes with fewer runs that have a drop-off and an exposure are left out.
    column
        The exposure column of ``linked`` to use (default:
        :func:`~stridekeeper.analysis.link.exposure_column` of ``exposure`` and
        ``window_days``).

    Returns
    -------
    CohortResult
        Effects in drop-off % points per unit of exposure; ``between`` is None with fewer
        than 3 athletes (a between-athlete slope from 2 means says nothing).

    Notes
    -----
    The mixed model treats one athlete's runs as independent given their random effects;
    with autocorrelated runs its p-values are somewhat optimistic. The within effect is
    also reported per athlete with autocorrelation-aware tests by
    :func:`~stridekeeper.analysis.stats.analyze`.
    """
    from .controls import DEFAULT_CONTROLS, MIN_RUNS, OUTCOME, select_controls

    column = column or exposure_column(exposure, window_days)
    win = None if column == exposure else float(window_days)
    cands = tuple(DEFAULT_CONTROLS if controls is None else controls)
    # training load and time trend (docs/methods.md), computed when the table lacks them
    if not all(c in linked.columns for c in LOAD_COLUMNS):
        linked = linked.assign(**{c: v for c, v in training_load(linked).items()})
    # a run with no earlier run has no known load: the athlete's median, not a lost run
    filled = {c: linked.groupby(linked["athlete"].astype(str) if "athlete" in linked.columns
                                else np.zeros(len(linked)))[c].transform(lambda v: v.fillna(v.median()))
              for c in LOAD_COLUMNS}  # fmt: skip
    linked = linked.assign(**filled)
    linked = linked.assign(time_trend_days_squared=(linked["time_trend_days"]
                           - linked["time_trend_days"].mean()) ** 2)  # fmt: skip
    cands = cands + tuple(c for c in (*LOAD_COLUMNS, "time_trend_days_squared") if c not in cands)

    notes: list[str] = []

    def empty(note: str, n_ath: int, n_runs: int) -> CohortResult:
        full = "; ".join([note, *notes])
        return CohortResult(n_athletes=n_ath, n_runs=n_runs, within=None, between=None,
                            model=None, converged=False, controls=(), note=full,
                            conclusion=f"No mixed model: {note}.", exposure=exposure,
                            window_days=win)  # fmt: skip

    if "athlete" not in linked.columns or OUTCOME not in linked.columns:
        return empty("the runs table has no athlete or drop-off column", 0, 0)
    y_all = pd.to_numeric(linked[OUTCOME], errors="coerce").to_numpy(dtype=float)
    x_all = pd.to_numeric(linked[column], errors="coerce").to_numpy(dtype=float)
    ath = linked["athlete"].astype(object)
    ok = np.isfinite(y_all) & np.isfinite(x_all) & ath.notna().to_numpy()
    frame = linked[ok]
    counts = frame["athlete"].astype(object).value_counts()
    dropped = sorted(str(a) for a in counts.index[counts < min_runs_per_athlete])
    frame = frame[frame["athlete"].isin(counts.index[counts >= min_runs_per_athlete])]
    n_ath = int(frame["athlete"].nunique())
    if dropped:
        notes.append(f"left out (fewer than {min_runs_per_athlete} usable runs): "
                     + ", ".join(dropped))  # fmt: skip
    if n_ath < 2 or len(frame) < MIN_RUNS:
        return empty(f"{n_ath} athlete(s) with {len(frame)} usable runs; at least 2 athletes "
                     f"and {MIN_RUNS} runs are needed", n_ath, len(frame))  # fmt: skip

    used, _ = select_controls(frame, cands)
    ctrl = np.column_stack([pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float)
                            for c in used]) if used else np.empty((len(frame), 0))  # fmt: skip
    complete = np.isfinite(ctrl).all(axis=1)
    frame, ctrl = frame[complete], ctrl[complete]
    y = pd.to_numeric(frame[OUTCOME], errors="coerce").to_numpy(dtype=float)
    x = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    groups = frame["athlete"].astype(str).to_numpy()
    between = pd.Series(x).groupby(groups).transform("mean").to_numpy()
    within = x - between
    n_ath = len(np.unique(groups))
    with_between = n_ath >= 3 and np.ptp(between) > 0
    if not with_between:
        notes.append("between-athlete effect not estimated (needs at least 3 athletes whose "
                     "mean exposure differs)")  # fmt: skip
    if ctrl.shape[1]:
        sd = ctrl.std(axis=0)
        keep = sd > 0
        ctrl = (ctrl[:, keep] - ctrl[:, keep].mean(axis=0)) / sd[keep]
        used = [c for c, k in zip(used, keep, strict=True) if k]
    cols = [np.ones(len(y)), within] + ([between] if with_between else [])
    # drop controls collinear with the exposure and the controls before them
    base = np.column_stack(cols)
    keep_j: list[int] = []
    for j in range(ctrl.shape[1]):
        trial = np.column_stack([base, ctrl[:, keep_j + [j]]])
        if np.linalg.matrix_rank(trial) == trial.shape[1] and trial.shape[1] < len(y) - 3:
            keep_j.append(j)
    ctrl = ctrl[:, keep_j]
    used = [used[j] for j in keep_j]
    exog = np.column_stack([*cols, ctrl])
    if np.ptp(within) <= 0:
        return empty("no athlete's exposure varies", n_ath, len(y))

    fit, clean = _fit(y, exog, groups, np.column_stack([np.ones(len(y)), within]))
    model = "random intercept and slope"
    if not clean:
        fit2, clean2 = _fit(y, exog, groups, None)
        if fit2 is not None:
            notes.append("the random-slope model did not converge cleanly, so a random "
                         "intercept only model is reported")  # fmt: skip
            fit, clean, model = fit2, clean2, "random intercept only"
        elif fit is not None:
            notes.append("the random-slope model did not converge cleanly; its estimates are "
                         "reported with caution")  # fmt: skip
    two = _two_stage(y, within, ctrl, groups)
    if fit is None and two is None:
        return empty("the mixed model could not be fitted", n_ath, len(y))
    if fit is None:
        assert two is not None
        # the two-stage within-athlete test needs no mixed model
        notes.append("the mixed model could not be fitted, so the between-athlete effect "
                     "is not estimated")  # fmt: skip
        model, clean, with_between = "two-stage only", False, False
        w_eff = two[0]
    else:
        w_eff = _effect(fit, 1, max(n_ath - 1, 1))
    if two is not None and fit is not None:
        notes.append(f"within-athlete interval and p-value from the {two[1]} athletes' own "
                     "slopes (two-stage, t test across athletes), robust to autocorrelated runs; "
                     f"the mixed model's own estimate {w_eff.coef:+.2f}, {_peq(w_eff.p_value)}")  # fmt: skip
        w_eff = two[0]
    b_eff = _effect(fit, 2, max(n_ath - 2, 1)) if with_between and fit is not None else None
    sentence = _sentence(n_ath, len(y), exposure, win, model, w_eff, b_eff, used)
    return CohortResult(
        n_athletes=n_ath,
        n_runs=int(len(y)),
        within=w_eff,
        between=b_eff,
        model=model,
        converged=clean,
        controls=tuple(used),
        note="; ".join(notes) or None,
        conclusion=sentence,
        exposure=exposure,
        window_days=win,
    )


def _two_stage(
    y: np.ndarray, within: np.ndarray, ctrl: np.ndarray, groups: np.ndarray
) -> tuple[Effect, int] | None:
    """Mean of the athletes' own least-squares slopes and a t test across athletes.

    Each athlete's slope of drop-off on their centred exposure (with the controls) is one
    number whose spread across athletes carries all the within-athlete dependence, so the
    test stays honest when runs are autocorrelated (the mixed model treats them as
    independent and was "significant" in 85 % of load-confounded null cohorts).
    """
    from scipy.stats import t as t_dist

    slopes = []
    for g in np.unique(groups):
        m = groups == g
        design = np.column_stack([np.ones(m.sum()), within[m], ctrl[m]])
        if m.sum() < design.shape[1] + 3 or np.ptp(within[m]) <= 0:
            continue
        coef, *_ = np.linalg.lstsq(design, y[m], rcond=None)
        slopes.append(float(coef[1]))
    k = len(slopes)
    if k < 3:
        return None
    mean = float(np.mean(slopes))
    se = float(np.std(slopes, ddof=1) / np.sqrt(k))
    if not se > 0:
        return None
    half = float(t_dist.ppf(0.975, k - 1)) * se
    p = float(2 * t_dist.sf(abs(mean) / se, k - 1))
    return Effect(coef=mean, ci95=(mean - half, mean + half), p_value=p), k


def _clause(label: str, eff: Effect | None, more: str, unit: str) -> str | None:
    if eff is None or eff.coef is None:
        return None
    stats = (f"{eff.coef:+.2f} % points per {unit}, 95 % interval {_ci(eff.ci95)}, "
             f"{_peq(eff.p_value)}")  # fmt: skip
    if eff.p_value is not None and eff.p_value < 0.05:
        direction = "less" if eff.coef < 0 else "more"
        return f"{label}, having {more} was associated with {direction} drop-off ({stats})"
    return f"{label}, there was no detectable association ({stats})"


def _sentence(
    n_ath: int,
    n_runs: int,
    exposure: str,
    win: float | None,
    model: str,
    within: Effect,
    between: Effect | None,
    controls: Sequence[str],
) -> str:
    more = _more(exposure) + _span(win)
    unit = _unit(exposure)
    parts = [_clause("within an athlete", within, more, unit),
             _clause("between athletes", between, "a higher mean exposure", unit)]  # fmt: skip
    body = "; ".join(p for p in parts if p)
    from .link import LOAD_COLUMNS

    load = any(c in LOAD_COLUMNS for c in controls)
    runs_c = sum(c not in LOAD_COLUMNS and not c.startswith("time_trend") for c in controls)
    ctrl = ""
    if controls:
        ctrl = f", controlling for {runs_c} run characteristics" + (
            ", training load and a time trend" if load else ""
        )
    how = (
        "the athletes' own slopes, two-stage"
        if model == "two-stage only"
        else f"mixed model, {model}"
    )
    return f"Across {n_ath} athletes and {n_runs} runs ({how}{ctrl}): {body}."
