"""The vectorised metric kernels equal the straightforward computations they replace."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from stridekeeper.metrics.dropoff import _floor_div
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


@settings(max_examples=300, deadline=None)
@given(arrays(np.float64, st.integers(9, 40), elements=st.integers(-3, 3) | st.floats(-50, 50)))
def test_centred_median_of_finite_values_equals_pandas(x: np.ndarray) -> None:
    # every value finite: the selection network inside, the ends from 3 or 4 values (ties
    # are common in real speed columns, hence the small integers)
    expected = pd.Series(x).rolling(5, center=True, min_periods=2).median()
    np.testing.assert_array_equal(_centred_median5(x), expected.to_numpy())


@settings(max_examples=300, deadline=None)
@given(
    arrays(np.float64, st.integers(0, 50), elements=st.floats(0, 1e6) | st.integers(0, 900)),
    st.sampled_from([60.0, 1.0, 7.0, 30.0, 2.5]),
)
def test_floor_div_equals_numpy_floor_division(x: np.ndarray, d: float) -> None:
    # the blocks' numbers: whole multiples and their float neighbours are the hard cases
    x = np.concatenate(
        [x, np.nextafter(x, 0), np.arange(20) * d, np.nextafter(np.arange(20) * d, 0)]
    )
    np.testing.assert_array_equal(_floor_div(x, d), x // d)


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
