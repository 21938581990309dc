"""The few numerical routines the analysis needs, in numpy and the standard library.

``scipy.stats`` and ``statsmodels.api`` take one to four seconds to import on a small
machine, more than the whole analysis of a decade of runs computes. What the analysis
uses of them is small and well defined, so it lives here: average ranks, the
Benjamini-Hochberg adjustment, Student's t distribution (its survival function and
quantile, from the regularized incomplete beta function) and least squares with the AR(1)
feasible-GLS and Newey-West (HAC) errors that ``statsmodels`` computes (``GLSAR`` with
``iterative_fit``, ``OLS`` with ``cov_type="HAC"``). The tests check every one against
scipy and statsmodels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "LinearFit",
    "bh_adjust",
    "code_ranks",
    "dense_codes",
    "glsar_ar1",
    "hac_fit",
    "rankdata",
    "t_ppf",
    "t_sf",
    "yule_walker_ar1",
]


# --------------------------------------------------------------------------- ranks, FDR
def rankdata(a: np.ndarray) -> np.ndarray:
    """Average ranks (1..N) along the last axis; ties share their mean rank (as
    ``scipy.stats.rankdata(a, axis=-1)``)."""
    a = np.asarray(a)
    if a.shape[-1] == 0:
        return np.zeros(a.shape, dtype=float)
    flat = a.reshape(-1, a.shape[-1])
    order = np.argsort(flat, axis=-1, kind="mergesort")
    sorted_a = np.take_along_axis(flat, order, axis=-1)
    n = flat.shape[-1]
    # a new group starts where the sorted value changes
    new = np.ones(sorted_a.shape, dtype=bool)
    new[:, 1:] = sorted_a[:, 1:] != sorted_a[:, :-1]
    group = np.cumsum(new, axis=-1) - 1  # group index along each row
    pos = np.broadcast_to(np.arange(1, n + 1, dtype=float), flat.shape)
    rows = flat.shape[0]
    offset = (np.arange(rows) * n)[:, None]
    gid = (group + offset).ravel()
    total = np.bincount(gid, weights=pos.ravel(), minlength=rows * n)
    count = np.bincount(gid, minlength=rows * n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
    ranks_sorted = mean[gid].reshape(flat.shape)
    out = np.empty(flat.shape, dtype=float)
    np.put_along_axis(out, order, ranks_sorted, axis=-1)
    if out.dtype.kind == "f" and np.issubdtype(flat.dtype, np.floating):
        out[np.isnan(flat).any(axis=-1)] = np.nan  # as scipy: a NaN makes the row NaN
    return out.reshape(a.shape)


def dense_codes(a: np.ndarray) -> np.ndarray | None:
    """Each value's index among its row's sorted distinct values (``(R, N)`` ints), or
    None when a row holds a NaN. Resamples of the rows rank by these codes exactly as by
    the values (:func:`code_ranks`)."""
    a = np.asarray(a, dtype=float).reshape(-1, np.shape(a)[-1])
    if np.isnan(a).any():
        return None
    return np.stack([np.unique(row, return_inverse=True)[1].reshape(-1) for row in a])


def code_ranks(codes: np.ndarray, n_codes: int) -> np.ndarray:
    """Average ranks along the last axis of integer codes in ``[0, n_codes)``: the same
    numbers :func:`rankdata` gives for the values the codes stand for, by counting instead
    of sorting (a bootstrap ranks thousands of resamples)."""
    rows = codes.reshape(-1, codes.shape[-1])
    r = rows.shape[0]
    flat = (rows + (np.arange(r) * n_codes)[:, None]).ravel()
    counts = np.bincount(flat, minlength=r * n_codes).reshape(r, n_codes)
    mid = np.cumsum(counts, axis=1) - counts + (counts + 1) * 0.5
    return np.take_along_axis(mid, rows, axis=1).reshape(codes.shape)


def bh_adjust(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values of finite ``p`` (as statsmodels'
    ``multipletests(p, method="fdr_bh")[1]``)."""
    p = np.asarray(p, dtype=float)
    m = len(p)
    if m == 0:
        return p.copy()
    order = np.argsort(p, kind="mergesort")
    scaled = p[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out


# --------------------------------------------------------------------------- Student's t
def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 100_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        step = d * c
        h *= step
        if abs(step - 1.0) < 1e-16:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x)
                 + b * math.log1p(-x))  # fmt: skip
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def t_sf(t: float, df: float) -> float:
    """P(T > t) for Student's t with ``df`` degrees of freedom (``scipy.stats.t.sf``)."""
    if math.isnan(t) or not df > 0:
        return math.nan
    if math.isinf(t):
        return 0.0 if t > 0 else 1.0
    tail = 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t))
    return tail if t >= 0 else 1.0 - tail


def t_ppf(q: float, df: float) -> float:
    """The ``q`` quantile of Student's t (``scipy.stats.t.ppf``), by bisection on
    :func:`t_sf` (to ~1e-13 relative; the analysis asks for a handful)."""
    if not 0.0 < q < 1.0 or not df > 0:
        return {0.0: -math.inf, 1.0: math.inf}.get(q, math.nan) if df > 0 else math.nan
    if q < 0.5:
        return -t_ppf(1.0 - q, df)
    if q == 0.5:
        return 0.0
    target = 1.0 - q
    lo, hi = 0.0, 1.0
    while t_sf(hi, df) > target:
        lo, hi = hi, hi * 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if t_sf(mid, df) > target:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-14 * hi:
            break
    return 0.5 * (lo + hi)


# --------------------------------------------------------------------------- least squares
@dataclass(frozen=True)
class LinearFit:
    """Coefficients, their covariance and the t degrees of freedom of a linear fit."""

    params: np.ndarray
    cov: np.ndarray
    df_resid: float

    def coef_test(self, j: int, alpha: float = 0.05) -> tuple[float, float, float, float]:
        """(coefficient, low, high, two-sided p) of parameter ``j``, t distribution."""
        coef = float(self.params[j])
        se = math.sqrt(max(float(self.cov[j, j]), 0.0))
        half = t_ppf(1.0 - alpha / 2.0, self.df_resid) * se
        p = 2.0 * t_sf(abs(coef / se), self.df_resid) if se > 0 else math.nan
        return coef, coef - half, coef + half, p


def _ols(y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(params, pinv(X'X), residuals) of ordinary least squares, as statsmodels' OLS."""
    pinv_x = np.linalg.pinv(x)
    params = pinv_x @ y
    return params, pinv_x @ pinv_x.T, y - x @ params


def yule_walker_ar1(resid: np.ndarray) -> float:
    """AR(1) coefficient of ``resid`` by the adjusted Yule-Walker estimate (statsmodels'
    ``yule_walker(x, order=1)``)."""
    x = np.asarray(resid, dtype=float) - np.mean(resid)
    n = len(x)
    r0 = float((x**2).sum()) / n
    r1 = float((x[:-1] * x[1:]).sum()) / (n - 1)
    return r1 / r0


def _whiten(a: np.ndarray, rho: float) -> np.ndarray:
    return a[1:] - rho * a[:-1]


def glsar_ar1(y: np.ndarray, x: np.ndarray, *, maxiter: int = 20, rtol: float = 1e-4,
              rho: float | None = None) -> tuple[float, LinearFit]:  # fmt: skip
    """Least squares with AR(1) errors (feasible GLS, the first observation dropped).

    With ``rho`` None the AR coefficient is estimated as statsmodels'
    ``GLSAR(y, x, rho=1).iterative_fit(maxiter)`` does (Cochrane-Orcutt: fit, Yule-Walker
    on the residuals, until the coefficients change by less than ``rtol``); with ``rho``
    given, the fit is ``GLSAR(y, x, rho=[rho]).fit()``. Returns (rho, fit).
    """
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    if rho is None:
        phi, last = 0.0, None
        for i in range(maxiter - 1):
            params, _, _ = _ols(_whiten(y, phi), _whiten(x, phi))
            if i > 0 and last is not None:
                if np.max(np.abs(last - params) / np.abs(last)) < rtol:
                    break
            last = params
            phi = yule_walker_ar1(y - x @ params)
        rho = phi
    wy, wx = _whiten(y, rho), _whiten(x, rho)
    params, normalized_cov, wresid = _ols(wy, wx)
    df_resid = len(wy) - np.linalg.matrix_rank(wx)
    scale = float(wresid @ wresid) / df_resid
    return float(rho), LinearFit(params, normalized_cov * scale, float(df_resid))


def hac_fit(y: np.ndarray, x: np.ndarray, maxlags: int) -> LinearFit:
    """Ordinary least squares with Newey-West (Bartlett) standard errors and the
    small-sample correction N / (N - k), as statsmodels' ``OLS(y, x).fit(cov_type="HAC",
    cov_kwds={"maxlags": maxlags, "use_correction": True}, use_t=True)``."""
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    params, hess_inv, resid = _ols(y, x)
    xu = x * resid[:, None]
    weights = 1.0 - np.arange(maxlags + 1) / (maxlags + 1.0)
    s = xu.T @ xu
    for lag in range(1, maxlags + 1):
        part = xu[lag:].T @ xu[:-lag]
        s += weights[lag] * (part + part.T)
    nobs, k = xu.shape
    cov = hess_inv @ s @ hess_inv.T * (nobs / float(nobs - k))
    df_resid = nobs - np.linalg.matrix_rank(x)
    return LinearFit(params, cov, float(df_resid))
