"""The vectorised metric kernels equal the straightforward computations they replace."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from stridekeeper.metrics.dropoff import _block_counts, _huber_fit, _percentiles
from stridekeeper.metrics.moving import _centred_median5
from stridekeeper.metrics.summary import _centred_mean, elevation_gain_m

_values = st.one_of(
    st.floats(-50, 50, allow_nan=False), st.just(np.nan), st.just(np.inf), st.just(-np.inf)
)


@settings(max_examples=300, deadline=None)
@given(arrays(np.float64, st.integers(0, 40), elements=_values))
def test_centred_median_equals_pandas_rolling_median(x: np.ndarray) -> None:
    expected = pd.Series(x, dtype=float).rolling(5, center=True, min_periods=2).median()
    np.testing.assert_array_equal(_centred_median5(x), expected.to_numpy())


def test_block_counts_are_uniform_draws_with_replacement() -> None:
    rng = np.random.default_rng(3)
    counts = _block_counts(rng, 7, 20_000)
    assert counts.shape == (20_000, 7)
    assert (counts.sum(axis=1) == 7).all()  # every replicate draws as many blocks as there are
    # multinomial(7, 1/7): each count has mean 1 and variance 6/7
    np.testing.assert_allclose(counts.mean(axis=0), 1.0, atol=0.03)
    np.testing.assert_allclose(counts.var(axis=0), 6 / 7, atol=0.05)


def test_huber_fit_downweights_an_outlier_and_batches_agree() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(2.5, 4.0, 300)
    y = 0.4 + 0.2 * x + rng.normal(0, 0.01, 300)
    y[10] += 5.0  # one wild value: least squares would tilt, Huber should not
    X = np.column_stack([np.ones_like(x), x])
    w = rng.uniform(0.5, 1.5, 300)
    beta, scale = _huber_fit(X, y, w[None, :])
    np.testing.assert_allclose(beta[0], [0.4, 0.2], atol=0.01)
    # a batch of weight vectors gives, row by row, what each vector gives alone
    W = np.stack([w, w[::-1], np.ones(300)])
    batch, _ = _huber_fit(X, y, W, scale=scale)
    for row, wv in zip(batch, W, strict=True):
        np.testing.assert_allclose(row, _huber_fit(X, y, wv[None, :], scale=scale)[0][0],
                                   rtol=1e-12)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(
    arrays(np.float64, st.integers(1, 60), elements=st.floats(-500, 3000, allow_nan=False)),
    st.integers(1, 20),
)
def test_centred_mean_equals_pandas_rolling_mean(x: np.ndarray, window: int) -> None:
    expected = pd.Series(x).rolling(window, center=True, min_periods=1).mean().to_numpy()
    np.testing.assert_allclose(_centred_mean(x, window), expected, rtol=1e-9, atol=1e-9)


def test_flat_profile_gains_nothing() -> None:
    records = pd.DataFrame({"altitude_m": np.full(600, 123.4)})
    assert elevation_gain_m(records) == 0.0


@settings(max_examples=200, deadline=None)
@given(arrays(np.float64, st.integers(1, 500), elements=st.floats(-1e3, 1e3, allow_nan=False)))
def test_percentiles_equal_numpy(x: np.ndarray) -> None:
    np.testing.assert_array_equal(_percentiles(x, (2.5, 97.5)), np.percentile(x, [2.5, 97.5]))
