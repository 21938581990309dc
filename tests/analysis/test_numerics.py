"""The analysis's own ranks, FDR, t distribution and regressions agree with scipy and
statsmodels (which the analysis no longer imports: they cost seconds of start-up)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from stridekeeper.analysis import numerics as nm

stats = pytest.importorskip("scipy.stats")
sm = pytest.importorskip("statsmodels.api")


def test_rankdata_matches_scipy_with_ties_and_batches():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 7, size=(5, 40)).astype(float)  # many ties
    np.testing.assert_allclose(nm.rankdata(a), stats.rankdata(a, axis=-1))
    b = rng.normal(size=300)
    np.testing.assert_allclose(nm.rankdata(b), stats.rankdata(b))
    c = b.copy()
    c[3] = np.nan
    assert np.isnan(nm.rankdata(c)).all()


def test_bh_matches_statsmodels():
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(2)
    p = np.concatenate([rng.uniform(size=12), [0.001, 0.001, 0.04, 1.0]])
    np.testing.assert_allclose(nm.bh_adjust(p), multipletests(p, method="fdr_bh")[1],
                               rtol=1e-12)  # fmt: skip


@pytest.mark.parametrize("df", [1, 2, 3.5, 7, 30, 54, 199, 1998, 20000])
def test_t_distribution_matches_scipy(df):
    for t in (-40.0, -3.1, -0.2, 0.0, 0.7, 1.96, 2.5, 6.0, 30.0):
        assert nm.t_sf(t, df) == pytest.approx(stats.t.sf(t, df), rel=1e-9, abs=1e-300)
    for q in (0.5, 0.9, 0.975, 0.995, 0.025):
        assert nm.t_ppf(q, df) == pytest.approx(stats.t.ppf(q, df), rel=1e-10, abs=1e-12)


def _season(n, phi, seed):
    rng = np.random.default_rng(seed)
    e = np.zeros(n)
    for i in range(1, n):
        e[i] = phi * e[i - 1] + rng.normal(0, 1.5)
    x = np.clip(rng.normal(2, 1, n).cumsum() * 0.05 + rng.normal(2, 0.8, n), 0, None)
    ctrl = rng.normal(size=(n, 3))
    y = 1.0 - 0.3 * x + ctrl @ np.array([0.5, 0.0, -0.2]) + e
    return y, np.column_stack([np.ones(n), x, ctrl])


@pytest.mark.parametrize(("n", "phi", "seed"), [(30, 0.0, 0), (56, 0.4, 1), (400, 0.7, 2),
                                                (2000, 0.2, 3)])  # fmt: skip
def test_glsar_and_hac_match_statsmodels(n, phi, seed):
    y, design = _season(n, phi, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = sm.GLSAR(y, design, rho=1)
        ref.iterative_fit(maxiter=20)
    rho, _ = nm.glsar_ar1(y, design, maxiter=20)
    assert rho == pytest.approx(float(np.atleast_1d(ref.rho)[0]), rel=1e-9, abs=1e-12)
    ref_fit = sm.GLSAR(y, design, rho=[0.37]).fit(use_t=True)
    _, fit = nm.glsar_ar1(y, design, rho=0.37)
    coef, lo, hi, p = fit.coef_test(1)
    assert coef == pytest.approx(ref_fit.params[1], rel=1e-9)
    assert (lo, hi) == pytest.approx(tuple(np.asarray(ref_fit.conf_int(alpha=0.05))[1]), rel=1e-9)
    assert p == pytest.approx(ref_fit.pvalues[1], rel=1e-7, abs=1e-300)
    hac_ref = sm.OLS(y, design).fit(cov_type="HAC", cov_kwds={"maxlags": 4, "use_correction": True},
                                    use_t=True)  # fmt: skip
    coef, lo, hi, p = nm.hac_fit(y, design, 4).coef_test(1)
    assert coef == pytest.approx(hac_ref.params[1], rel=1e-9)
    assert (lo, hi) == pytest.approx(tuple(np.asarray(hac_ref.conf_int(alpha=0.05))[1]), rel=1e-9)
    assert p == pytest.approx(hac_ref.pvalues[1], rel=1e-7, abs=1e-300)


def test_code_ranks_rank_resamples_as_the_values():
    rng = np.random.default_rng(4)
    sample = np.round(rng.normal(size=(2, 60)), 1)  # ties
    codes = nm.dense_codes(sample)
    idx = rng.integers(0, 60, size=(2, 30, 60))
    values = np.take_along_axis(sample[:, None, :], idx, axis=-1)
    coded = np.take_along_axis(codes[:, None, :], idx, axis=-1)
    np.testing.assert_array_equal(nm.code_ranks(coded, 60), stats.rankdata(values, axis=-1))
    assert nm.dense_codes(np.array([1.0, np.nan])) is None
