"""Late-run stride drop-off at the same speed and grade (SCIENCE.md section 3).

Step length rises with speed and falls uphill, so the late part of a run is compared with
what a model fitted on the early part predicts *for the late part's own speed and grade*:

1. moving samples only; the warm-up (first 10 % of moving time, at least 5 min) and
   samples steeper than +-4 % are dropped;
2. reference window: end of warm-up to 50 % of moving time; late window: last 25 %;
3. ``step_length_m ~ a + b * speed_mps (+ c * grade_pct)`` fitted on the reference window
   with a Huber M-estimator (time-weighted);
4. ``stride_dropoff_pct = 100 * (1 - mean(observed late) / mean(predicted late))``:
   positive means shorter steps late than speed and grade predict;
5. a 95 % interval from a moving-block bootstrap over 60-s blocks of moving time (blocks
   resampled within each window, the model refitted each time with the Huber weights of the
   full fit held fixed: all replicates at once, as one matrix product);
6. runs that can't support the comparison get NaN and a ``reason``.

Everything here is vectorised: no Python loop over samples or bootstrap replicates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .averages import step_length_series_m
from .moving import MIN_CADENCE_SPM, MIN_SPEED_MPS, _col, moving_mask, sample_weights_s

__all__ = ["DropoffResult", "stride_dropoff"]

_HUBER_C = 1.345


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
        95 % block-bootstrap interval of ``stride_dropoff_pct``. [%]
    cadence_drift_pct
        Late cadence vs what speed and grade predict: positive = higher cadence late. [%]
    reason
        Why the drop-off is NaN, else None.
    model
        ``"speed+grade"``, ``"speed"`` or ``"constant-speed"`` (reference too steady to fit
        a slope and the late window at the same speed: the prediction is the mean).
    step_length_source
        ``"device"`` (per-record step length) or ``"derived"`` (speed / cadence).
    coef
        Fitted coefficients (intercept [m], per m/s [s], per % grade [m/%]).
    windows_s
        Moving-time boundaries: ``warmup_end``, ``reference_end``, ``late_start``, ``total``. [s]
    n_reference, n_late
        Samples used in each window.
    """

    stride_dropoff_pct: float = float("nan")
    stride_dropoff_raw_pct: float = float("nan")
    ci95_pct: tuple[float, float] = (float("nan"), float("nan"))
    cadence_drift_pct: float = float("nan")
    reason: str | None = None
    model: str | None = None
    step_length_source: str = "none"
    coef: tuple[float, ...] = ()
    windows_s: dict[str, float] = field(default_factory=dict)
    n_reference: int = 0
    n_late: int = 0


def _wmean(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted mean along the last axis (w may be batched)."""
    return (y * w).sum(axis=-1) / w.sum(axis=-1)


class _WLS:
    """Weighted least squares on a fixed design for many weight vectors.

    The per-sample outer products are formed once, so each solve is two matrix products
    (BLAS) and a batch of p x p solves.
    """

    def __init__(self, X: np.ndarray, y: np.ndarray):
        n, p = X.shape
        self.X, self.y, self.p = X, y, p
        self.xx = (X[:, :, None] * X[:, None, :]).reshape(n, p * p)
        self.xy = X * y[:, None] if y.ndim == 1 else None
        self.ridge = 1e-9 * np.eye(p)

    def solve(self, W: np.ndarray) -> np.ndarray:
        """Coefficients for a batch of weight vectors W (B, n) -> (B, p) (row b of a 2-D
        ``y`` is the response of weight vector b)."""
        xtwx = (W @ self.xx).reshape(-1, self.p, self.p) + self.ridge
        xtwy = W @ self.xy if self.xy is not None else (W * self.y) @ self.X
        return np.linalg.solve(xtwx, xtwy[..., None])[..., 0]


def _huber_fit(
    X: np.ndarray,
    y: np.ndarray,
    W: np.ndarray,
    *,
    scale: float | np.ndarray | None = None,
    n_iter: int = 8,
) -> tuple[np.ndarray, Any]:
    """Huber M-estimate (IRLS) for a batch of weight vectors.

    Parameters
    ----------
    X
        Design, shape (n, p).
    y
        Response, shape (n,) (shared by every weight vector), or (B, n): several
        responses fitted at once, row b with weight vector b (several fits for the price of
        one: the cost is in the per-iteration overhead, not the arithmetic).
    W
        Sample weights, shape (B, n).
    scale
        Residual scale; default: 1.4826 x the median absolute residual of a first
        least-squares fit, of the first weight vector for a 1-D ``y`` (then held fixed, so
        every bootstrap replicate is down-weighted on the same scale), of each row's own
        fit for a 2-D ``y``.
    n_iter
        IRLS iterations.

    Returns
    -------
    (numpy.ndarray, float or numpy.ndarray)
        Coefficients (B, p) and the scale used (one per row for a 2-D ``y``).
    """
    wls = _WLS(X, y)
    beta = wls.solve(W)
    if scale is None and y.ndim == 1:
        r0 = np.abs(y - X @ beta[0])[W[0] > 0]
        scale = float(1.4826 * np.median(r0)) if len(r0) else 1.0
    elif scale is None:
        r0 = np.abs(y - beta @ X.T)
        if (W > 0).all():
            scale = 1.4826 * np.median(r0, axis=1)
        else:
            scale = np.array([1.4826 * np.median(r[wv > 0]) if (wv > 0).any() else 1.0
                              for r, wv in zip(r0, W, strict=True)])  # fmt: skip
    scale = np.maximum(scale, 1e-9) if isinstance(scale, np.ndarray) else max(scale, 1e-9)
    cut = _HUBER_C * (scale[:, None] if isinstance(scale, np.ndarray) else scale)
    XT = X.T
    for _ in range(n_iter):
        absr = np.abs(y - beta @ XT)
        h = np.minimum(1.0, cut / np.maximum(absr, 1e-12))
        beta = wls.solve(W * h)
    return beta, scale


def _weighted_sd(x: np.ndarray, w: np.ndarray) -> float:
    """Weighted standard deviation with ``np.cov(x, aweights=w)``'s bias correction."""
    v1 = float(w.sum())
    if v1 <= 0:
        return 0.0
    dev = x - float(w @ x) / v1
    fact = v1 - float(w @ w) / v1
    return float(np.sqrt(max(float((w * dev) @ dev) / fact, 0.0))) if fact > 0 else 0.0


def _percentiles(x: np.ndarray, qs: tuple[float, ...]) -> np.ndarray:
    """``np.percentile(x, qs)`` (linear interpolation, same arithmetic), from one sort:
    numpy's general path costs ~50 us per call in overhead, more than the sort."""
    srt = np.sort(x)
    virtual = (len(srt) - 1) * (np.asarray(qs, dtype=float) / 100.0)
    below = np.floor(virtual).astype(np.intp)
    above = np.minimum(below + 1, len(srt) - 1)
    t = virtual - below
    a, b = srt[below], srt[above]
    diff = b - a
    return np.where(t >= 0.5, b - diff * (1 - t), a + diff * t)


def _block_starts(moving_time_s: np.ndarray, block_s: float) -> np.ndarray:
    """First position of each ``block_s`` block of a non-decreasing moving time."""
    blk = (moving_time_s // block_s).astype(np.int64)
    return np.flatnonzero(np.r_[True, blk[1:] != blk[:-1]])


def _block_counts(rng: np.random.Generator, n_blocks: int, n_boot: int) -> np.ndarray:
    """How often each of ``n_blocks`` blocks is drawn in each of ``n_boot`` replicates.

    Each replicate draws ``n_blocks`` blocks uniformly with replacement (a multinomial
    count vector), as one array of integers and one bincount: ~5x faster than
    ``Generator.multinomial`` row by row.
    """
    draws = rng.integers(0, n_blocks, size=(n_boot, n_blocks))
    draws += (np.arange(n_boot) * n_blocks)[:, None]
    return np.bincount(draws.ravel(), minlength=n_boot * n_blocks).reshape(n_boot, n_blocks)


def stride_dropoff(
    records: pd.DataFrame,
    *,
    warmup_fraction: float = 0.10,
    min_warmup_s: float = 300.0,
    reference_end_fraction: float = 0.50,
    late_fraction: float = 0.25,
    max_abs_grade_pct: float = 4.0,
    min_moving_s: float = 1200.0,
    min_window_s: float = 120.0,
    min_speed_sd_mps: float = 0.03,
    max_speed_gap_mps: float = 0.05,
    block_s: float = 60.0,
    n_boot: int = 400,
    seed: int = 0,
    min_speed_mps: float = MIN_SPEED_MPS,
    min_cadence_spm: float = MIN_CADENCE_SPM,
    moving: np.ndarray | None = None,
) -> DropoffResult:
    """Speed- and grade-normalised late-run stride drop-off of one run.

    Parameters
    ----------
    records
        A ``Run.records`` table.
    warmup_fraction
        Share of moving time dropped at the start. [0-1]
    min_warmup_s
        Shortest warm-up dropped. [s]
    reference_end_fraction
        The reference window ends at this share of moving time. [0-1]
    late_fraction
        The late window is this last share of moving time. [0-1]
    max_abs_grade_pct
        Samples on steeper ground are dropped. [%]
    min_moving_s
        Runs with less moving time get NaN. [s]
    min_window_s
        Each window needs at least this much usable time. [s]
    min_speed_sd_mps
        Below this speed SD in the reference window no speed slope is fitted (a steady
        treadmill belt); the prediction is then the reference mean. [m/s]
    max_speed_gap_mps
        With no speed slope, the late window's mean speed must lie this close to the
        reference window's, else the drop-off is NaN. [m/s]
    block_s
        Bootstrap block length in moving time. [s]
    n_boot
        Bootstrap replicates.
    seed
        Random seed, so the interval is reproducible.
    min_speed_mps, min_cadence_spm
        Moving-sample thresholds. [m/s], [steps/min]
    moving
        A moving mask already computed with these thresholds (saves recomputing it).

    Returns
    -------
    DropoffResult
    """
    sl, source = step_length_series_m(records)
    base = {"step_length_source": source}
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
    w = np.where(moving, sample_weights_s(records), 0.0)
    total = float(w.sum())
    if total < min_moving_s:
        return DropoffResult(
            reason=f"too short: {total / 60:.0f} min of running (needs {min_moving_s / 60:.0f})",
            windows_s={"total": total},
            **base,
        )
    mt = np.cumsum(w) - w / 2.0  # moving time at each sample's midpoint
    warm_end = max(warmup_fraction * total, min_warmup_s)
    ref_end = reference_end_fraction * total
    late_start = (1.0 - late_fraction) * total
    windows = {"warmup_end": warm_end, "reference_end": ref_end, "late_start": late_start,
               "total": total}  # fmt: skip
    grade = _col(records, "grade_pct")
    cad = _col(records, "cadence_spm")
    in_ref = moving & (mt >= warm_end) & (mt < ref_end)
    in_late = moving & (mt >= late_start)
    use_grade = bool(np.isfinite(grade[in_ref]).mean() >= 0.9) if in_ref.any() else False
    ok = np.isfinite(sl) & np.isfinite(speed) & (w > 0)
    if use_grade:
        ok &= np.isfinite(grade) & (np.abs(grade) <= max_abs_grade_pct)
    else:
        with np.errstate(invalid="ignore"):
            ok &= ~(np.abs(grade) > max_abs_grade_pct)
    ref = in_ref & ok
    late = in_late & ok
    base.update(windows_s=windows, n_reference=int(ref.sum()), n_late=int(late.sum()))
    if w[ref].sum() < min_window_s or w[late].sum() < min_window_s:
        return DropoffResult(
            reason=(f"not enough level running in the windows ({w[ref].sum() / 60:.1f} min "
                    f"reference, {w[late].sum() / 60:.1f} min late; needs "
                    f"{min_window_s / 60:.0f} each)"),
            **base,
        )  # fmt: skip
    s_ref, s_late = speed[ref], speed[late]
    sd_ref = _weighted_sd(s_ref, w[ref]) if len(s_ref) > 2 else 0.0
    if sd_ref < min_speed_sd_mps:
        # a steady belt: no slope to fit, and none needed if the late window is at that speed
        gap = abs(_wmean(s_late, w[late]) - _wmean(s_ref, w[ref]))
        if gap > max_speed_gap_mps:
            return DropoffResult(
                reason=(f"reference speed too steady to fit a speed model (SD {sd_ref:.3f} "
                        f"m/s) and the late window is {gap:.2f} m/s faster or slower"),
                **base,
            )  # fmt: skip
        model = "constant-speed"
        cols = [np.ones(len(speed))]
    else:
        model = "speed"
        cols = [np.ones(len(speed)), speed]
        g_ref = grade[ref] if use_grade else np.zeros(1)
        if use_grade and g_ref.std() > 0.3:  # finite: ``ok`` required grade
            model = "speed+grade"
            cols.append(np.nan_to_num(grade))
    X = np.column_stack(cols)
    idx_ref, idx_late = np.flatnonzero(ref), np.flatnonzero(late)
    Xr, Xl = X[idx_ref], X[idx_late]
    wr, wl = w[idx_ref], w[idx_late]
    y = sl[idx_ref]
    drift = float("nan")
    if np.isfinite(cad[idx_ref]).all() and np.isfinite(cad[idx_late]).all():
        # step length and cadence on the same design: one batched fit, own scale each
        betas2, scales = _huber_fit(Xr, np.stack([y, cad[idx_ref]]), np.stack([wr, wr]))
        beta, scale, bc = betas2[0], float(scales[0]), betas2[1]
        drift = 100.0 * (_wmean(cad[idx_late], wl) / _wmean(Xl @ bc, wl) - 1.0)
    else:
        beta_1, scale = _huber_fit(Xr, y, wr[None, :])
        beta = beta_1[0]
    pred_late = Xl @ beta
    obs_late = sl[idx_late]
    dropoff = 100.0 * (1.0 - _wmean(obs_late, wl) / _wmean(pred_late, wl))
    raw = 100.0 * (1.0 - _wmean(obs_late, wl) / _wmean(y, wr))
    # moving-block bootstrap, every replicate at once
    rng = np.random.default_rng(seed)
    # moving time only grows, so block numbers are sorted: each block is one slice
    start_r = _block_starts(mt[idx_ref], block_s)
    start_l = _block_starts(mt[idx_late], block_s)
    nbr, nbl = len(start_r), len(start_l)
    cnt_r = _block_counts(rng, nbr, n_boot)
    cnt_l = _block_counts(rng, nbl, n_boot)
    # each replicate keeps the Huber weights of the full fit (a fixed-weights bootstrap), so
    # a replicate is a weighted least-squares problem whose sums are block counts times
    # per-block sums: everything reduces to small matrix products over blocks, not samples
    p = Xr.shape[1]
    h = np.minimum(1.0, _HUBER_C * scale / np.maximum(np.abs(y - Xr @ beta), 1e-12))
    wh = wr * h
    xx = (Xr[:, :, None] * Xr[:, None, :]).reshape(len(y), p * p)
    blk_xx = np.add.reduceat(wh[:, None] * xx, start_r, axis=0)
    blk_xy = np.add.reduceat((wh * y)[:, None] * Xr, start_r, axis=0)
    xtwx = (cnt_r @ blk_xx).reshape(n_boot, p, p) + 1e-9 * np.eye(p)
    xtwy = cnt_r @ blk_xy
    betas = np.linalg.solve(xtwx, xtwy[..., None])[..., 0]
    blk_w = np.add.reduceat(wl, start_l)
    blk_wobs = np.add.reduceat(wl * obs_late, start_l)
    blk_wx = np.add.reduceat(wl[:, None] * Xl, start_l, axis=0)
    tot_w = cnt_l @ blk_w
    mean_obs = (cnt_l @ blk_wobs) / tot_w
    mean_pred = np.einsum("bp,bp->b", cnt_l @ blk_wx, betas) / tot_w
    with np.errstate(invalid="ignore", divide="ignore"):
        boot = 100.0 * (1.0 - mean_obs / mean_pred)
    boot = boot[np.isfinite(boot)]
    ci = (float("nan"), float("nan"))
    if len(boot):
        lo, hi = _percentiles(boot, (2.5, 97.5))
        ci = (float(lo), float(hi))
    return DropoffResult(
        stride_dropoff_pct=float(dropoff),
        stride_dropoff_raw_pct=float(raw),
        ci95_pct=ci,
        cadence_drift_pct=float(drift),
        reason=None,
        model=model,
        coef=tuple(float(b) for b in beta),
        **base,
    )
