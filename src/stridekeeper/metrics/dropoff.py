"""Late-run stride drop-off at the same speed and grade, under real measurement noise.

Step length rises with speed and falls uphill, so the late part of a run is compared with
what a model fitted on the fresh part predicts *for the late part's own speed and grade*.
What a watch records is noisy (GPS speed error ~0.1 m/s, correlated over ~10 s; step length
often derived from that same speed), and a per-second regression of step length on speed
is then biased (shared noise inflates the slope; an independent step sensor's slope is
attenuated), so the method works on blocks:

1. **Gait.** Timer-running samples with speed >= 1 m/s, no GPS spike, and a running cadence
   (>= ``gait_cadence_spm``, 140 steps/min: brisk walking is 110-130) count as running;
   walking, standing and the ``settle_s`` after each break (the watch's speed filter lags)
   are left out and their share reported (``excluded_gait_pct``).
2. **Windows** in running time: the warm-up (first 10 %, at least 5 min) is dropped; the
   reference window runs to 50 %, the late window is the last 25 %.
3. **Blocks** of ``block_s`` (60 s) of running: per block the step length is distance per
   step (sum of step lengths over the steps taken), the speed the one *implied by that step
   length and the cadence* (``step x cadence``: for a derived step length this is the GPS
   speed, for a foot pod the pod's own speed, so the regressor never carries an error the
   step length doesn't share, which in log-log form biases the slope only toward 1, by
   little), the grade the block's climb over its distance (barometric drift and 0.2 m
   steps cancel over a block). Blocks steeper than +-4 % are left out.
4. **Model** ``log(step) = a + e * x + c * grade + k * x**2`` with ``x = log(speed / v0)``,
   fitted on the reference blocks (Huber-weighted), with weak priors on the elasticity
   ``e`` (0.8 +- 0.2, the literature's range), the grade effect ``c`` (-0.55 %/% +- 0.3)
   and the curvature ``k`` (-0.25 +- 0.35: steps lengthen less at higher speeds, where
   cadence takes over): where the reference window has a
   wide speed range the data decide, where it is narrow the prior does, and its
   uncertainty goes into the interval.
5. ``stride_dropoff_pct = 100 * (1 - exp(mean late residual))``: positive means shorter
   steps late than speed and grade predict.
6. **Interval**: the late mean's standard error and the model's prediction error at the
   late window's speed and grade, both inflated for the blocks' autocorrelation (lag-1,
   estimated from the residuals), with a t quantile on the effective degrees of freedom.
7. A late window faster or slower than the fitted speed range by more than
   ``max_extrapolation_pct`` gets NaN and a reason; within that, a warning says the number
   is an extrapolation (more than 3 % outside; the interval already carries the slope's
   uncertainty).

A single run's reference window is all this function sees; ``prior=`` takes a personal
elasticity fitted across an athlete's runs (:func:`personal_prior`), which narrows the
interval of runs with a speed change.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..schema import RecordColumns
from .averages import running_cadence_spm, step_length_series_m
from .moving import (
    GAIT_CADENCE_SPM,
    GAIT_RUN_SPEED_MPS,
    MIN_CADENCE_SPM,
    MIN_SPEED_MPS,
    _col,
    _Columns,
    _median,
    _times_s,
    gait_mask,
    moving_mask,
    sample_weights_s,
)

if TYPE_CHECKING:
    import pandas as pd
else:
    from ..lazy import pandas as pd

__all__ = [
    "DEFAULT_PRIOR",
    "DropoffResult",
    "StepPrior",
    "gait_threshold_spm",
    "personal_prior",
    "pooled_prior",
    "stride_dropoff",
]

_HUBER_C = 1.345
#: The robust (Huber) fit is iterated until no coefficient moves by more than this (a
#: hundredth of a percent of step length), at most _IRLS_MAX_ITER times (it took 4-18 on
#: real and simulated runs; six fixed iterations left real runs up to 0.2 points short,
#: and one swinging between answers). [log units], [-]
_IRLS_TOL = 1e-4
_IRLS_MAX_ITER = 50
#: The errors-in-variables correction takes out at most this share of the variation of log
#: speed that intercept, grade and curvature leave unexplained: taking out more made the
#: moment matrix indefinite and the fit swing between answers. [-]
_EIV_CAP = 0.7
#: Relative uncertainty of the estimated speed-noise variance, carried into the interval:
#: the AR(1) noise model read 17-20 % low on GPS error passed through a watch's smoothing
#: filter (per-run spread 4-5 %), and real filters differ. [-]
_NOISE_REL_SD = 0.25
#: A runner's own threshold is kept within these bounds. [steps/min]
GAIT_BOUNDS_SPM = (120.0, 150.0)


@dataclass(frozen=True)
class StepPrior:
    """Prior knowledge of how step length changes with speed and grade (log-log model).

    Attributes
    ----------
    elasticity, elasticity_sd
        d log(step length) / d log(speed), and its uncertainty.
    grade_per_pct, grade_sd
        d log(step length) per % of grade, and its uncertainty. [1/%]
    curvature, curvature_sd
        Second derivative of log(step length) in log(speed): step length flattens at
        higher speeds, where cadence takes over (negative = concave).
    """

    elasticity: float = 0.8
    elasticity_sd: float = 0.2
    grade_per_pct: float = -0.0055
    grade_sd: float = 0.003
    curvature: float = -0.25
    curvature_sd: float = 0.35


#: The population prior: step length ~ speed^0.8 (Cavanagh & Kram 1989: +28 % from 3.15 to
#: 4.12 m/s is an elasticity of ~0.9 at the group level; individuals range ~0.6-1.0) and
#: ~4 % shorter from 0 to 7 % incline (Padulo et al. 2013).
DEFAULT_PRIOR = StepPrior()


@dataclass(frozen=True)
class DropoffResult:
    """Late-run drop-off of one run.

    Attributes
    ----------
    stride_dropoff_pct
        Speed- and grade-normalised drop-off of step length. [%] (NaN with a ``reason``)
    stride_dropoff_raw_pct
        Late mean vs reference mean step length, no normalisation. [%]
    ci95_pct
        95 % interval of ``stride_dropoff_pct``. [%]
    cadence_drift_pct
        Late cadence vs what speed and grade predict: positive = higher cadence late. [%]
    reason
        Why the drop-off is NaN, else None.
    warning
        A caveat on a number that is given (e.g. an extrapolated speed), else None.
    model
        ``"speed+grade"`` or ``"speed"`` (no altitude: treadmill).
    step_length_source
        ``"device"`` (per-record step length) or ``"derived"`` (speed / cadence).
    coef
        ``(a, e, c, k)`` of ``log(step) = a + e * x + c * grade + k * x**2``,
        ``x = log(speed / v0)``.
    reference_speed_mps
        ``v0``, the reference window's mean speed. [m/s]
    speed_range_mps
        Block speeds the model was fitted on (min, max), and the late window's mean. [m/s]
    elasticity_data, elasticity_data_se
        The reference window's own elasticity estimate (no prior) and its standard error:
        what :func:`personal_prior` pools across runs.
    excluded_gait_pct
        Share of timer-running time left out as walking, standing or settling. [%]
    gait_cadence_spm
        The cadence threshold the gait rule used. [steps/min]
    running_cadence_spm
        Cadence over the samples that rule calls running
        (:func:`~stridekeeper.metrics.averages.running_cadence_spm`). [steps/min]
    gait_estimate_spm
        This run's own estimate of where walking ends and running starts
        (:func:`gait_threshold_spm`; NaN when the run can't tell). [steps/min]
    windows_s
        Running-time boundaries: ``warmup_end``, ``reference_end``, ``late_start``,
        ``total``. [s]
    n_reference, n_late
        Blocks used in each window.
    """

    stride_dropoff_pct: float = float("nan")
    stride_dropoff_raw_pct: float = float("nan")
    ci95_pct: tuple[float, float] = (float("nan"), float("nan"))
    cadence_drift_pct: float = float("nan")
    reason: str | None = None
    warning: str | None = None
    model: str | None = None
    step_length_source: str = "none"
    coef: tuple[float, ...] = ()
    reference_speed_mps: float = float("nan")
    speed_range_mps: tuple[float, float, float] = (float("nan"),) * 3
    elasticity_data: float = float("nan")
    elasticity_data_se: float = float("nan")
    excluded_gait_pct: float = float("nan")
    running_cadence_spm: float = float("nan")
    gait_cadence_spm: float = float("nan")
    gait_estimate_spm: float = float("nan")
    windows_s: dict[str, float] = field(default_factory=dict)
    n_reference: int = 0
    n_late: int = 0

    def predicted_step_m(self, speed_mps: Any, grade_pct: Any = 0.0) -> np.ndarray:
        """Step length the fresh-run model predicts at this speed and grade. [m]"""
        speed = np.asarray(speed_mps, dtype=float)
        if len(self.coef) < 2 or not np.isfinite(self.reference_speed_mps):
            return np.full(speed.shape, np.nan)
        a, e, c, k = (tuple(self.coef) + (0.0, 0.0))[:4]
        with np.errstate(invalid="ignore", divide="ignore"):
            x = np.log(speed / self.reference_speed_mps)
        grade = np.nan_to_num(np.asarray(grade_pct, dtype=float))
        return np.exp(a + e * x + c * grade + k * x**2)


def gait_threshold_spm(
    cadence_spm: np.ndarray,
    speed_mps: np.ndarray,
    weight_s: np.ndarray,
    *,
    default: float = GAIT_CADENCE_SPM,
    bounds: tuple[float, float] = GAIT_BOUNDS_SPM,
) -> float:
    """A runner's own cadence threshold between walking and slow running.

    Faster than ``GAIT_RUN_SPEED_MPS`` is running whatever the cadence, so only slower
    moving samples can be either. Their cadence is fitted with a two-component normal
    mixture (time-weighted EM): when it holds two clusters (means more than 2.5 SDs apart,
    each at least 5 % of the time), walking and running, the threshold is where a sample
    is equally likely to belong to either; else (only walking, or only running) ``default``.
    Never above ``default``, within ``bounds``; NaN with less than 5 min of slow samples.

    Parameters
    ----------
    cadence_spm, speed_mps, weight_s
        Moving samples' cadence, speed and the time each stands for. [steps/min], [m/s], [s]
    default
        The population threshold. [steps/min]
    bounds
        The range the estimate is kept in. [steps/min]

    Returns
    -------
    float
        Threshold. [steps/min]
    """
    c = np.asarray(cadence_spm, dtype=float)
    v = np.asarray(speed_mps, dtype=float)
    w = np.asarray(weight_s, dtype=float)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(c) & (c >= 80.0) & (c <= 220.0) & (w > 0) & (v < GAIT_RUN_SPEED_MPS)
    c, w = c[ok], w[ok]
    if float(w.sum()) < 300.0:
        return float("nan")
    mu = np.percentile(c, [3.0, 60.0]).astype(float)
    sd = np.full(2, max(float(np.std(c)) / 2.0, 2.0))
    pi = np.array([0.5, 0.5])
    # the EM is over the distinct cadences, each weighted by its samples' time: the same
    # sums (a watch's cadence takes a few hundred values over thousands of samples)
    c, inverse = np.unique(c, return_inverse=True)
    w = np.bincount(inverse, weights=w, minlength=len(c))
    for _ in range(40):
        dens = pi / sd * np.exp(-0.5 * ((c[:, None] - mu) / sd) ** 2)
        r = dens / np.maximum(dens.sum(axis=1, keepdims=True), 1e-300) * w[:, None]
        tot = np.maximum(r.sum(axis=0), 1e-12)
        pi = tot / tot.sum()
        mu = (r * c[:, None]).sum(axis=0) / tot
        sd = np.sqrt(np.maximum((r * (c[:, None] - mu) ** 2).sum(axis=0) / tot, 4.0))
    lo, hi = int(np.argmin(mu)), int(np.argmax(mu))
    if lo == hi or pi.min() < 0.05 or mu[hi] - mu[lo] < 2.5 * sd.max():
        return float(default)
    grid = np.arange(mu[lo], mu[hi], 0.5)
    d_lo = pi[lo] / sd[lo] * np.exp(-0.5 * ((grid - mu[lo]) / sd[lo]) ** 2)
    d_hi = pi[hi] / sd[hi] * np.exp(-0.5 * ((grid - mu[hi]) / sd[hi]) ** 2)
    est = float(grid[np.argmax(d_hi >= d_lo)]) if (d_hi >= d_lo).any() else float(default)
    return float(np.clip(round(min(default, est)), *bounds))


def _minutes(value_s: float, need_s: float) -> str:
    """Minutes to one decimal, or to two where one would read as the figure needed."""
    text = f"{value_s / 60:.1f}"
    if value_s < need_s and float(text) >= need_s / 60:
        text = f"{np.floor(value_s / 0.6) / 100:.2f}"
    return text


def _settled(t_s: np.ndarray, brk: np.ndarray, settle_s: float, before_s: float) -> np.ndarray:
    """False within ``settle_s`` after and ``before_s`` before any break sample."""
    n = len(t_s)
    if not brk.any() or n == 0:
        return np.ones(n, dtype=bool)
    last = np.maximum.accumulate(np.where(brk, t_s, -np.inf))
    nxt = np.minimum.accumulate(np.where(brk, t_s, np.inf)[::-1])[::-1]
    return ~brk & (t_s - last >= settle_s) & (nxt - t_s >= before_s)


def _floor_div(x: np.ndarray, d: float) -> np.ndarray:
    """``x // d`` (floor of the exact quotient) for ``x >= 0`` and whole ``d > 0``, at a
    third of the cost of numpy's float floor division: ``x / d`` can only round up to a
    whole number the exact quotient is just below, so one step back where it overshoots."""
    if not float(d).is_integer():  # q * d below may round: numpy's own
        return x // d
    q = np.floor(x / d)
    return q - (q * d > x)


def _blocks(key: np.ndarray, use: np.ndarray, cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per-block sums of ``cols`` over the samples in ``use``, blocks numbered by ``key``
    (non-decreasing); also the first and last index of each block."""
    idx = np.flatnonzero(use)
    if len(idx) == 0:
        return {"first": np.zeros(0, dtype=np.intp)}
    k = key[idx]
    starts = np.flatnonzero(np.concatenate(([True], k[1:] != k[:-1])))
    out = {name: np.add.reduceat(v[idx], starts) for name, v in cols.items()}
    out["first"] = idx[starts]
    out["last"] = idx[np.concatenate((starts[1:] - 1, [len(idx) - 1]))]
    out["key"] = k[starts]
    return out


def _fit(
    X: np.ndarray,
    Y: np.ndarray,
    w: np.ndarray,
    prior_mean: np.ndarray,
    prior_prec: np.ndarray,
    noise_var: np.ndarray | None = None,
    shared: np.ndarray | float = 1.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Huber-weighted least squares with a normal prior on some coefficients: ``k`` fits
    of the same design at once (one per row of ``Y``, ``prior_mean`` and ``prior_prec``).

    The prior precision is on the scale of the coefficients (1/sd**2); it is combined with
    the data precision X'WX / sigma**2, sigma estimated from the residuals, so a prior weighs
    as much as it should whatever the noise. ``noise_var`` (per row of ``X``) is the
    measurement error variance of column 1 (log speed), a ``shared`` share (per fit) of
    which is also in ``y``: its expected contribution is taken out of the moment sums
    (errors in variables). The fits are independent; doing them together saves the numpy
    calls' overhead, which on a run's few dozen blocks is most of the time. Returns
    (beta ``(k, p)``, covariance ``(k, p, p)``, sigma ``(k,)``, residuals ``(k, n)``,
    whether each fit settled within :data:`_IRLS_MAX_ITER` iterations ``(k,)``).
    """
    n, p = X.shape
    k = len(Y)
    h = np.ones((k, n))
    sigma2 = np.maximum(Y.var(axis=1), 1e-8) if n > 1 else np.full(k, 1e-4)
    beta = prior_mean.copy()
    eye = np.eye(p)
    prior_a = prior_prec[:, :, None] * eye + 1e-12 * eye
    prior_b = prior_prec * prior_mean
    dof_prior = (prior_prec > 0).sum(axis=1)
    shared = np.broadcast_to(np.asarray(shared, dtype=float), (k,))
    moved = np.full((k, p), np.inf)
    # each row's outer product, once: every iteration's X'WX is then one matrix product
    outer = (X[:, :, None] * X[:, None, :]).reshape(n, p * p)
    xt = X.T
    # the columns of zeros _partial_moment ignores (no altitude, one speed): the Huber
    # weights never reach zero, so they are the same at every iteration
    fix = _zero_columns((w @ outer).reshape(1, p, p), 1)[0] if noise_var is not None else None
    for _ in range(_IRLS_MAX_ITER):
        ww = w * h
        xx = (ww @ outer).reshape(k, p, p)
        xy = (ww * Y) @ X
        s2 = sigma2[:, None]
        b = xy / s2 + prior_b
        a = xx / s2[:, :, None] + prior_a
        if noise_var is None:
            new = np.linalg.solve(a, b[:, :, None])[:, :, 0]
        else:
            new = _eiv_step(xx, a, b, fix, ww @ noise_var, sigma2, shared)
        moved = np.abs(new - beta)
        beta = new
        r = Y - beta @ xt
        dof = np.maximum(ww.sum(axis=1) - p + dof_prior, 1.0)
        sigma2 = np.maximum((ww * r**2).sum(axis=1) / dof, 1e-8)
        h = np.minimum(1.0, _HUBER_C * np.sqrt(sigma2)[:, None] / np.maximum(np.abs(r), 1e-12))
        if moved.max() < _IRLS_TOL:
            break
    step = moved.max(axis=1)  # per fit
    # the covariance from the corrected moments (the data's information on the elasticity
    # is the true speed's spread, not the measured one's), plus the correction's own
    # uncertainty: the noise estimate's (_NOISE_REL_SD) and what the cap left out, through
    # d beta / d nv = A^-1 e_1 (beta_1 - shared) / s2
    ww = w * h
    xx = (ww @ outer).reshape(k, p, p)
    dnv2 = np.zeros(k)
    if noise_var is not None:
        full = ww @ noise_var
        nv = np.minimum(full, _EIV_CAP * _partial_moment(xx, 1))
        xx[:, 1, 1] -= nv
        dnv2 = (_NOISE_REL_SD * nv) ** 2 + (full - nv) ** 2
    cov = _inv(xx / sigma2[:, None, None] + prior_a)
    if dnv2.any():
        g = cov[:, :, 1] * ((beta[:, 1] - shared) / sigma2)[:, None]
        cov = cov + g[:, :, None] * g[:, None, :] * dnv2[:, None, None]
    return beta, cov, np.sqrt(sigma2), Y - beta @ xt, step < _IRLS_TOL


try:  # numpy's own gufunc behind np.linalg.inv (numpy 1.x and 2.x)
    from numpy.linalg import _umath_linalg
except ImportError:  # pragma: no cover - a numpy without it: the public function
    _umath_linalg = None


def _raise_singular(err: str, flag: int) -> None:
    raise np.linalg.LinAlgError("Singular matrix")


def _inv(a: np.ndarray) -> np.ndarray:
    """``np.linalg.inv`` of a stack of float64 matrices: the same gufunc under the same
    error state (a singular matrix raises ``LinAlgError``), without its per-call checks
    and conversions (~3 us of ~10, ten times a run)."""
    if _umath_linalg is None or a.dtype != np.float64:
        return np.linalg.inv(a)
    with np.errstate(call=_raise_singular, invalid="call", over="ignore", divide="ignore",
                     under="ignore"):  # fmt: skip
        return _umath_linalg.inv(a, signature="d->d")


def _zero_columns(xx: np.ndarray, j: int) -> np.ndarray:
    """A unit on the diagonal of each column of (numerically) zeros in a stack of moment
    matrices ``xx`` (``(k, p, p)``), column ``j`` apart; zeros elsewhere."""
    diag = xx.diagonal(axis1=1, axis2=2)
    zero = diag <= 1e-12 * diag.max(axis=1, keepdims=True)
    zero[:, j] = False
    return zero[:, :, None] * np.eye(xx.shape[1])


def _partial_moment(xx: np.ndarray, j: int, fix: np.ndarray | None = None) -> np.ndarray:
    """Weighted sum of squares of column ``j`` left after regressing it on the other
    columns (the Schur complement of a stack of moment matrices ``xx``, ``(k, p, p)``: one
    over the ``j`` diagonal of the inverse); a column of zeros among the others (no
    altitude; one speed only, so no curvature) is ignored (``fix``: its unit diagonal, from
    :func:`_zero_columns`, when already known)."""
    m = xx + (_zero_columns(xx, j) if fix is None else fix)
    try:
        inv_jj = _inv(m)[:, j, j]
    except np.linalg.LinAlgError:  # columns collinear (say grade with curvature)
        inv_jj = np.zeros(len(m))
    return _partial_from_inverse(xx, m, j, inv_jj)


def _partial_from_inverse(xx: np.ndarray, m: np.ndarray, j: int, inv_jj: np.ndarray) -> np.ndarray:
    """:func:`_partial_moment` from the ``j`` diagonal of the inverse of ``m`` (``xx``
    with its zero columns given a unit diagonal); the slow way, with a pseudo-inverse,
    where that inverse is not usable."""
    if ((inv_jj > 0) & (inv_jj < np.inf)).all():
        return 1.0 / inv_jj
    o = np.asarray([i for i in range(m.shape[1]) if i != j])
    c, mo = m[:, o, j], m[:, o[:, None], o]
    coef = np.einsum("kij,kj->ki", np.linalg.pinv(mo), c)
    return np.maximum(xx[:, j, j] - (c * coef).sum(axis=1), 0.0)


def _eiv_step(
    xx: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    fix: np.ndarray,
    full: np.ndarray,
    sigma2: np.ndarray,
    shared: np.ndarray,
) -> np.ndarray:
    """One iteration's coefficients of :func:`_fit` with the errors-in-variables
    correction: solves ``(a - nv/s2 e1 e1') beta = b - shared nv/s2 e1``, ``nv`` the noise's
    moment ``full`` capped at :data:`_EIV_CAP` of column 1's partial moment in ``xx``.

    Both inverses it needs (of ``xx`` for the partial moment and of ``a``) come from one
    batched call, the correction then by Sherman-Morrison: on a run's few dozen blocks the
    numpy calls' overhead is most of the time."""
    k = len(xx)
    m = xx + fix
    try:
        inv = _inv(np.concatenate((m, a)))
    except np.linalg.LinAlgError:  # one of them singular: each on its own
        nv = np.minimum(full, _EIV_CAP * _partial_moment(xx, 1, fix))
        a = a.copy()
        a[:, 1, 1] -= nv / sigma2
        b = b.copy()
        b[:, 1] -= shared * nv / sigma2
        return np.linalg.solve(a, b[:, :, None])[:, :, 0]
    nv = np.minimum(full, _EIV_CAP * _partial_from_inverse(xx, m, 1, inv[:k, 1, 1]))
    q = nv / sigma2
    ia = inv[k:]
    u = ia[:, :, 1]  # A^-1 e1 (a is symmetric)
    bb = b.copy()
    bb[:, 1] -= shared * q
    base = (ia @ bb[:, :, None])[:, :, 0]
    return base + u * (q * base[:, 1] / (1.0 - q * u[:, 1]))[:, None]


#: The share of squared differences :func:`_trimmed_mean_square` keeps, and the mean
#: square of a normal variable's values below that quantile of its squares, relative to
#: its variance. [-], [-]
_TRIM_KEEP = 0.99
_TRIM_FACTOR = 0.9248


def _trimmed_mean_square(sq: np.ndarray) -> float:
    """Mean of the squared differences ``sq`` without the largest 1 %, scaled back to the
    variance a normal variable's would estimate.

    A GPS speed spike (a single sample off by 1-2 m/s, under the acceleration limit that
    removes worse ones) adds two squared differences of ~0.1 in log speed where the rest
    are ~1e-4: at lags 1 and 2 alike, so they read as white noise, the AR(1) fit as almost
    no correlation, and the noise's long-run variance came out ~30 times too small in the
    runs that had one (half the simulated runs with default watch noise)."""
    n = len(sq)
    k = int(_TRIM_KEEP * n)
    if k < 10:
        return float(sq.mean())
    return float(np.partition(sq, k - 1)[:k].mean() / _TRIM_FACTOR)


def _block_noise_var(z: np.ndarray, use: np.ndarray, key: np.ndarray, t_s: np.ndarray) -> float:
    """Measurement-error long-run variance per second of ``z`` (log implied speed), from
    its high-frequency variation inside blocks: divided by a block's seconds, the error
    variance of its mean.

    For AR(1) noise of variance s2 and correlation rho per second, differences over ``L``
    and ``2 L`` seconds have mean squares 2 s2 (1 - rho**L) and 2 s2 (1 - rho**(2 L)); the
    true speed changes little over a few seconds, so both come from the noise. ``L`` is the
    shortest spacing that at least 10 pairs of samples (neighbours or next-but-one, in the
    same block) have at both ``L`` and ``2 L`` seconds: 1 s at 1 Hz; with smart recording
    (samples 1-7 s apart) the differences over one *sample* mix spacings, and taking them
    as seconds estimated a rho above 1 and a noise 100 times too large. Returns
    ``s2 * (1 + rho) / (1 - rho)``, 0 when no spacing qualifies.
    """
    idx = np.flatnonzero(use)
    if len(idx) < 10:
        return 0.0
    zz, kk, tt = z[idx], key[idx], t_s[idx]
    lags, sq = [], []
    for step in (1, 2):
        same = kk[step:] == kk[:-step]
        lags.append(np.rint(tt[step:] - tt[:-step])[same])
        sq.append(((zz[step:] - zz[:-step]) ** 2)[same])
    lag, d = np.concatenate(lags), np.concatenate(sq)
    ok = np.isfinite(d) & (lag >= 1)
    lag, d = lag[ok].astype(np.int64), d[ok]
    if len(lag) == 0:
        return 0.0
    count = np.bincount(lag)
    for L in range(1, (len(count) - 1) // 2 + 1):
        if count[L] >= 10 and count[2 * L] >= 10:
            d1, d2 = _trimmed_mean_square(d[lag == L]), _trimmed_mean_square(d[lag == 2 * L])
            break
    else:
        return 0.0
    if d1 <= 0:
        return 0.0
    rho_l = float(np.clip(d2 / d1 - 1.0, 0.0, 0.95**L))
    s2 = d1 / (2.0 * (1.0 - rho_l))
    rho = rho_l ** (1.0 / L)
    return s2 * (1.0 + rho) / (1.0 - rho)


def _average(values: np.ndarray, weights: np.ndarray) -> float:
    """Weighted mean (``np.average`` without its argument checks: ~10 us a call)."""
    return float((values * weights).sum() / weights.sum())


def _t975(dof: float) -> float:
    """The 97.5 % quantile of Student's t with ``dof`` degrees of freedom (Cornish-Fisher
    expansion; within 0.5 % of the exact value from 3 degrees of freedom up, without
    importing scipy on the path that reads one file)."""
    z = 1.959963984540054
    v = max(float(dof), 1.0)
    return (z + (z**3 + z) / (4 * v) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * v**2)
            + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * v**3))  # fmt: skip


def _long_run(*series: np.ndarray, lags: int = 8) -> tuple[float, float]:
    """Pooled lag-1 autocorrelation of residual series (each in time order) and the
    long-run variance factor ``1 + 2 * sum((1 - k / (L + 1)) * rho_k)`` (Newey-West, L
    lags), at least 1."""
    # per series, the sums of s[k:] * s[:-k] for k = 0..lags (one correlation each)
    num = np.zeros(lags + 1)
    den = np.zeros(lags + 1)  # sum of squares of the series longer than k
    for s in series:
        n = len(s)
        if n == 0:
            continue
        m = min(n, lags + 1)
        num[:m] += np.correlate(s, s, "full")[n - 1 : n - 1 + m]
        den[:m] += float(s @ s)
    rho = num / np.where(den > 0, den, np.inf)  # 0 where no series is that long
    k = np.arange(1, lags + 1)
    r1 = float(np.clip(rho[1], 0.0, 0.9))
    factor = 1.0 + 2.0 * float(((1.0 - k / (lags + 1)) * rho[1:]).sum())
    return r1, float(np.clip(factor, 1.0, 19.0))


def stride_dropoff(
    records: pd.DataFrame,
    *,
    warmup_fraction: float = 0.10,
    min_warmup_s: float = 300.0,
    reference_end_fraction: float = 0.50,
    late_fraction: float = 0.25,
    max_abs_grade_pct: float = 4.0,
    min_moving_s: float = 1200.0,
    min_window_s: float = 300.0,
    block_s: float = 60.0,
    gait_cadence_spm: float = GAIT_CADENCE_SPM,
    settle_s: float = 20.0,
    max_extrapolation_pct: float = 12.0,
    prior: StepPrior = DEFAULT_PRIOR,
    min_speed_mps: float = MIN_SPEED_MPS,
    min_cadence_spm: float = MIN_CADENCE_SPM,
    moving: np.ndarray | None = None,
) -> DropoffResult:
    """Speed- and grade-normalised late-run stride drop-off of one run.

    Parameters
    ----------
    records
        A ``Run.records`` table (or its :class:`~stridekeeper.schema.RecordColumns`).
    warmup_fraction
        Share of running time dropped at the start. [0-1]
    min_warmup_s
        Shortest warm-up dropped. [s]
    reference_end_fraction
        The reference window ends at this share of running time. [0-1]
    late_fraction
        The late window is this last share of running time. [0-1]
    max_abs_grade_pct
        Blocks on steeper ground are left out. [%]
    min_moving_s
        Runs with less running time get NaN. [s]
    min_window_s
        Each window needs at least this much usable running. [s]
    block_s
        Block length in running time. [s]
    gait_cadence_spm
        Lowest running cadence: a sample below it and slower than ``GAIT_RUN_SPEED_MPS``
        is walking (the library sets each athlete's own, :func:`gait_threshold_spm`).
        [steps/min]
    settle_s
        Running time left out after each walk, stop or pause (the watch's speed lags). [s]
    max_extrapolation_pct
        The late window's speed may lie this far outside the fitted speed range; beyond
        it the drop-off is NaN. [%]
    prior
        Prior on the elasticity and the grade effect; :func:`personal_prior` makes one from
        an athlete's runs.
    min_speed_mps, min_cadence_spm
        Moving-sample thresholds (the moving mask of :func:`moving_mask`). [m/s], [steps/min]
    moving
        A moving mask already computed with these thresholds (saves recomputing it).

    Returns
    -------
    DropoffResult
    """
    if isinstance(records, RecordColumns):  # the library's records read without pandas
        records = _Columns.from_columns(records)
    sl, source = step_length_series_m(records)
    base: dict[str, Any] = {"step_length_source": source}
    if len(records) == 0:
        return DropoffResult(reason="no records", **base)
    speed = _col(records, "speed_mps")
    if not np.isfinite(speed).any():
        return DropoffResult(reason="no speed data", **base)
    if source == "none":
        return DropoffResult(reason="no cadence or step length data", **base)
    if moving is None:
        moving = moving_mask(records, min_speed_mps=min_speed_mps,
                             min_cadence_spm=min_cadence_spm)  # fmt: skip
    w_all = sample_weights_s(records)
    cad = _col(records, "cadence_spm")
    gait = gait_mask(cad, speed, moving, gait_cadence_spm)
    base["running_cadence_spm"] = running_cadence_spm(records, gait=gait)
    base["gait_cadence_spm"] = float(gait_cadence_spm)
    base["gait_estimate_spm"] = gait_threshold_spm(cad[moving], speed[moving], w_all[moving])
    t_s = _times_s(records)
    gap = np.concatenate(([False], np.diff(t_s) > 3.0 * max(_median(np.diff(t_s)), 1.0))) \
        if len(t_s) > 1 else np.zeros(len(t_s), dtype=bool)  # fmt: skip
    # a break: not running (walk, stand, spike) while the timer runs, or a pause before it
    brk = (~gait & (w_all > 0)) | gap
    settled = _settled(t_s, brk & ~gap, settle_s, 5.0) & _settled(t_s, gap, settle_s, 0.0)
    timer_total = float(w_all.sum())
    w = np.where(gait, w_all, 0.0)
    total = float(w.sum())
    excluded = 100.0 * (1.0 - float(w[settled].sum()) / timer_total) if timer_total > 0 else 0.0
    base["excluded_gait_pct"] = excluded
    if total < min_moving_s:
        return DropoffResult(
            reason=(
                f"too short: {_minutes(total, min_moving_s)} min of running "
                f"(needs {min_moving_s / 60:g})"
            ),
            windows_s={"total": total},
            **base,
        )
    rt = np.cumsum(w) - w / 2.0  # running time at each sample's midpoint
    warm_end = max(warmup_fraction * total, min_warmup_s)
    ref_end = reference_end_fraction * total
    late_start = (1.0 - late_fraction) * total
    base["windows_s"] = {"warmup_end": warm_end, "reference_end": ref_end,
                         "late_start": late_start, "total": total}  # fmt: skip
    ok = gait & settled & np.isfinite(sl) & (sl > 0) & np.isfinite(cad) & (w > 0)
    window = np.where(rt < warm_end, 0, np.where(rt < ref_end, 1, np.where(rt >= late_start, 3, 2)))
    key = window * 100_000 + _floor_div(rt, block_s).astype(np.int64)
    steps = w * cad / 60.0
    alt = _col(records, "altitude_m")
    dist = _col(records, "distance_m")
    has_alt = bool(np.isfinite(alt[ok]).mean() > 0.9) if ok.any() else False
    blk = _blocks(key, ok & (window % 2 == 1), {"w": w, "steps": steps, "sl": steps * sl})
    if len(blk["first"]) == 0:
        return DropoffResult(reason="no running in the reference or late window", **base)
    keep = blk["w"] >= 0.5 * block_s
    win_b = blk["key"] // 100_000
    step_b = blk["sl"] / blk["steps"]
    speed_b = blk["sl"] / blk["w"]  # the speed the step length and cadence imply
    cad_b = 60.0 * blk["steps"] / blk["w"]
    grade_b = np.zeros(len(step_b))
    if has_alt:
        d_dist = dist[blk["last"]] - dist[blk["first"]]
        d_alt = alt[blk["last"]] - alt[blk["first"]]
        with np.errstate(invalid="ignore", divide="ignore"):
            grade_b = np.where(d_dist > 20.0, 100.0 * d_alt / d_dist, np.nan)
        with np.errstate(invalid="ignore"):
            keep &= np.isfinite(grade_b) & (np.abs(grade_b) <= max_abs_grade_pct)
    keep &= np.isfinite(step_b) & (speed_b > 0)
    ref, late = keep & (win_b == 1), keep & (win_b == 3)
    base.update(n_reference=int(ref.sum()), n_late=int(late.sum()))
    w_ref, w_late = float(blk["w"][ref].sum()), float(blk["w"][late].sum())
    if w_ref < min_window_s or w_late < min_window_s:
        return DropoffResult(
            reason=(f"not enough level running in the windows "
                    f"({_minutes(w_ref, min_window_s)} min reference, "
                    f"{_minutes(w_late, min_window_s)} min late; needs "
                    f"{min_window_s / 60:g} each)"),
            **base,
        )  # fmt: skip
    wb = blk["w"] / block_s
    wr = wb[ref]
    v0 = float(np.exp(_average(np.log(speed_b[ref]), wr)))
    x = np.log(speed_b / v0)
    y = np.log(step_b)
    model = "speed+grade" if has_alt else "speed"
    X = np.column_stack([np.ones(len(y)), x, grade_b if has_alt else np.zeros(len(y)), x**2])
    pm = np.array([0.0, prior.elasticity, prior.grade_per_pct, prior.curvature])
    pp = np.array([0.0, prior.elasticity_sd**-2, prior.grade_sd**-2 if has_alt else 1e12,
                   prior.curvature_sd**-2])  # fmt: skip
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.log(sl * cad / 60.0)
    per_second = _block_noise_var(z, ok & (window == 1), key, t_s)
    # a block mean's error variance: the noise's long-run variance per second over the
    # block's seconds (a time-weighted mean of samples 1-7 s apart, as smart recording
    # writes them, averages the noise as the 1 Hz samples would: it is correlated for longer)
    nvar = per_second / np.maximum(blk["w"], 1.0)
    # three fits of the reference blocks, done together: step length with the prior; the
    # reference window's own elasticity, without the prior (for a personal prior); and
    # cadence at the same speed and grade (the same design, the prior mirrored)
    yc = np.log(cad_b)
    pmc = np.array([0.0, 1.0 - prior.elasticity, -prior.grade_per_pct, -prior.curvature])
    own = bool(np.ptp(x[ref]) > 0.02 and ref.sum() >= 5)
    pp0 = np.array([0.0, 0.0, pp[2], pp[3]])
    fits = [(y, pm, pp, 1.0), (yc, pmc, pp, 0.0)] + ([(y, pm, pp0, 1.0)] if own else [])
    betas, covs, _, res, settled_fits = _fit(
        X[ref], np.array([f[0][ref] for f in fits]), wr, np.array([f[1] for f in fits]),
        np.array([f[2] for f in fits]), nvar[ref], np.array([f[3] for f in fits]))  # fmt: skip
    beta, cov, res_ref, bc = betas[0], covs[0], res[0], betas[1]
    e_data, e_se = float("nan"), float("nan")
    if own:
        e_data, e_se = float(betas[2][1]), float(np.sqrt(covs[2][1, 1]))
    res_late = y[late] - X[late] @ beta
    wl = wb[late]
    d_log = _average(res_late, wl)
    # uncertainty: the late mean and the prediction at the late window's speed and grade
    r1, infl = _long_run(res_ref, res_late - d_log)
    n_late_eff = float(wl.sum() ** 2 / (wl**2).sum())
    var_late_res = _average((res_late - d_log) ** 2, wl)
    var_ref_res = _average(res_ref**2, wr)
    n_ref = int(ref.sum())
    # pooled residual variance (the late window alone may hold few blocks)
    s2 = (var_ref_res * max(n_ref - 2, 1) + var_late_res * max(len(wl) - 1, 1)) / max(
        n_ref - 2 + len(wl) - 1, 1)  # fmt: skip
    g = (wl @ X[late]) / wl.sum()
    se = float(np.sqrt(infl * max(s2, var_late_res) / n_late_eff + infl * g @ cov @ g))
    dof = max((n_ref + len(wl)) * (1.0 - r1) / (1.0 + r1) - 2.0, 2.0)
    tq = _t975(dof)
    pct = 100.0 * (1.0 - np.exp(d_log))
    ci = (100.0 * (1.0 - np.exp(d_log + tq * se)), 100.0 * (1.0 - np.exp(d_log - tq * se)))
    raw = 100.0 * (1.0 - _average(step_b[late], wl) / _average(step_b[ref], wr))
    drift = 100.0 * (np.exp(_average(yc[late] - X[late] @ bc, wl)) - 1.0)
    lo_v, hi_v = float(np.exp(x[ref].min()) * v0), float(np.exp(x[ref].max()) * v0)
    v_late = float(np.exp(g[1]) * v0)
    base.update(coef=tuple(float(b) for b in beta), reference_speed_mps=v0,
                speed_range_mps=(lo_v, hi_v, v_late), elasticity_data=e_data,
                elasticity_data_se=e_se, model=model)  # fmt: skip
    outside = max(v_late / hi_v - 1.0, 1.0 - v_late / lo_v, 0.0) * 100.0
    if outside > max_extrapolation_pct:
        return DropoffResult(
            reason=(f"late window at {v_late:.2f} m/s, {outside:.0f} % outside the "
                    f"{lo_v:.2f}-{hi_v:.2f} m/s the model was fitted on (allows "
                    f"{max_extrapolation_pct:.0f} %)"),
            stride_dropoff_raw_pct=float(raw),
            **base,
        )  # fmt: skip
    notes = []
    if outside > 3.0:
        notes.append(f"late window at {v_late:.2f} m/s, outside the {lo_v:.2f}-{hi_v:.2f} m/s "
                     "the model was fitted on: an extrapolation, with the interval widened")  # fmt: skip
    if not settled_fits[0]:
        notes.append(f"the robust fit was still moving after {_IRLS_MAX_ITER} iterations: "
                     "the number is uncertain beyond its interval")  # fmt: skip
    if abs(pct) > 15.0:
        notes.append(f"a drop-off of {pct:.1f} % is beyond what fatigue does at equal speed "
                     "(check for a sensor change, terrain or a mislabelled activity)")  # fmt: skip
    warning = "; ".join(notes) or None
    return DropoffResult(
        stride_dropoff_pct=float(pct),
        stride_dropoff_raw_pct=float(raw),
        ci95_pct=(float(ci[0]), float(ci[1])),
        cadence_drift_pct=float(drift),
        warning=warning,
        **base,
    )


def personal_prior(
    results: Iterable[DropoffResult], *, base: StepPrior = DEFAULT_PRIOR
) -> StepPrior:
    """An athlete's own step-length elasticity, pooled from the fresh part of many runs.

    Each run's reference window gives an elasticity estimate with a standard error
    (``DropoffResult.elasticity_data``); they are pooled by a random-effects mean
    (DerSimonian-Laird), so the prior's SD is the uncertainty of that mean plus the
    run-to-run spread. Runs with no estimate are skipped; with fewer than 5, ``base`` is
    returned.

    Parameters
    ----------
    results
        Drop-off results of an athlete's runs.
    base
        The prior to start from (its grade terms are kept).

    Returns
    -------
    StepPrior
    """
    pairs = [(r.elasticity_data, r.elasticity_data_se) for r in results]
    return pooled_prior(np.array([p[0] for p in pairs], dtype=float),
                        np.array([p[1] for p in pairs], dtype=float), base=base)  # fmt: skip


def pooled_prior(
    elasticity: np.ndarray, elasticity_se: np.ndarray, *, base: StepPrior = DEFAULT_PRIOR
) -> StepPrior:
    """:func:`personal_prior` from the runs' elasticity estimates and their standard errors
    (the runs table's ``dropoff_elasticity`` and ``dropoff_elasticity_se``)."""
    e_all = np.asarray(elasticity, dtype=float)
    se_all = np.asarray(elasticity_se, dtype=float)
    ok = np.isfinite(e_all) & np.isfinite(se_all) & (se_all > 0)
    if ok.sum() < 5:
        return base
    e, se = e_all[ok], se_all[ok]
    wfix = se**-2
    mean_fix = float((wfix * e).sum() / wfix.sum())
    q = float((wfix * (e - mean_fix) ** 2).sum())
    tau2 = max(0.0, (q - (len(e) - 1)) / (wfix.sum() - (wfix**2).sum() / wfix.sum()))
    wre = 1.0 / (se**2 + tau2)
    mean = float((wre * e).sum() / wre.sum())
    sd = float(np.sqrt(1.0 / wre.sum() + tau2))
    return StepPrior(elasticity=mean, elasticity_sd=max(sd, 0.03),
                     grade_per_pct=base.grade_per_pct, grade_sd=base.grade_sd)  # fmt: skip
