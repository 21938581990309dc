"""The columnar fast path and fitdecode give the same runs, file by file."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

from stridekeeper.errors import StridekeeperError
from stridekeeper.io.fit import read_fit, runs_from_decoded


def _both(data: bytes, name: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            slow = read_fit(data, name=name, fast=False)
        except StridekeeperError:
            slow = None
        try:
            fast = read_fit(data, name=name, fast=True)
        except StridekeeperError:
            fast = None
    return slow, fast


def _assert_same(slow, fast) -> None:
    assert (slow is None) == (fast is None)
    if slow is None:
        return
    assert len(slow) == len(fast)
    for a, b in zip(slow, fast, strict=True):
        pd.testing.assert_frame_equal(a.records, b.records, check_exact=False, rtol=1e-9)
        pd.testing.assert_frame_equal(a.laps, b.laps, check_exact=False, rtol=1e-9)
        ma = {k: v for k, v in a.meta.items() if k != "decoder"}
        mb = {k: v for k, v in b.meta.items() if k != "decoder"}
        assert ma == mb


def test_realdata_runs_identical_with_both_decoders(fitdecode_decoded: dict[Path, object]) -> None:
    fast_count = 0
    files = list(fitdecode_decoded)
    for path in files:
        dec = fitdecode_decoded[path]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                slow = None if isinstance(dec, StridekeeperError) else runs_from_decoded(dec)
            except StridekeeperError:
                slow = None
            try:
                fast = read_fit(path.read_bytes(), name=str(path), fast=True)
            except StridekeeperError:
                fast = None
        _assert_same(slow, fast)
        fast_count += bool(fast) and fast[0].meta["decoder"] == "columnar"
    print(f"columnar fast path: {fast_count} of {len(files)} realdata FIT files")
    assert fast_count >= 35


def test_synthetic_runs_identical(synthetic_fit_files: dict[str, Path]) -> None:
    for path in synthetic_fit_files.values():
        slow, fast = _both(path.read_bytes(), path.name)
        assert fast[0].meta["decoder"] == "columnar"
        _assert_same(slow, fast)


@pytest.mark.parametrize("cut", [100, 1000, 5000])
def test_damaged_file_routes_to_fitdecode(small_fit_bytes: bytes, cut: int) -> None:
    slow, fast = _both(small_fit_bytes[:cut], "cut.fit")
    _assert_same(slow, fast)
    if fast:
        assert fast[0].meta["decoder"] == "fitdecode"
        assert any("truncated" in w for w in fast[0].meta["warnings"])
