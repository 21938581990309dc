"""The columnar fast path and fitdecode give the same runs, file by file."""

from __future__ import annotations

import math
import random
import warnings
from pathlib import Path

import pandas as pd
import pytest

from stridekeeper.errors import StridekeeperError
from stridekeeper.io.fit import decode_fit, read_fit, runs_from_decoded
from stridekeeper.synth.fitwrite import fit_crc


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
        ma = {k: _nan_free(v) for k, v in a.meta.items() if k != "decoder"}
        mb = {k: _nan_free(v) for k, v in b.meta.items() if k != "decoder"}
        assert ma == mb


def _nan_free(value):
    """NaN as a marker that equals itself (two NaN floats compare unequal in a dict)."""
    return "<NaN>" if isinstance(value, float) and math.isnan(value) else value


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


def _same_decode(data: bytes) -> str | None:
    """decode_fit gives the same messages, notes and damage offset on both paths; the
    fast path's decoder name (None when fitdecode refuses the bytes)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            slow = decode_fit(data, name="cut.fit", fast=False)
        except StridekeeperError as exc:
            with pytest.raises(type(exc)) as info:
                decode_fit(data, name="cut.fit", fast=True)
            assert str(info.value) == str(exc)
            return None
        fast = decode_fit(data, name="cut.fit", fast=True)
    assert fast.warnings == slow.warnings
    assert fast.damaged_at == slow.damaged_at
    assert len(fast.segments) == len(slow.segments)
    _assert_same(runs_from_decoded(slow), runs_from_decoded(fast))
    return fast.decoder


def test_file_cut_anywhere_gives_what_fitdecode_recovers(small_fit_bytes: bytes) -> None:
    # a watch whose battery died: the bytes end anywhere, in a record, a definition, the
    # CRC; both paths keep the same messages and say the same thing about the damage
    n = len(small_fit_bytes)
    rng = random.Random(7)
    cuts = sorted({*range(12, 80), *rng.sample(range(80, n), 60), n - 2, n - 1})
    decoders = [_same_decode(small_fit_bytes[:cut]) for cut in cuts]
    fast = decoders.count("columnar")
    assert fast >= 0.8 * sum(d is not None for d in decoders), decoders


def test_file_crc_mismatch_is_decoded_with_fitdecodes_warning(small_fit_bytes: bytes) -> None:
    data = bytearray(small_fit_bytes)
    data[-1] ^= 0x5A  # the footer CRC
    assert _same_decode(bytes(data)) == "columnar"
    data[12] ^= 0x01  # and the header CRC
    assert _same_decode(bytes(data)) == "columnar"
    hit = decode_fit(bytes(data), name="x.fit")
    assert [w.split(" (")[0] for w in hit.warnings] == ["checksum mismatch"] * 2


def test_undefined_local_type_stops_reading_as_fitdecode_does(small_fit_bytes: bytes) -> None:
    data = bytearray(small_fit_bytes)
    runs = read_fit(bytes(data), name="x.fit")
    n_full = len(runs[0].records)
    at = len(data) // 2
    while data[at] & 0x80 or data[at] & 0x40:  # find a normal data-message header
        at += 1
    fast = None
    for shift in range(200):  # the first record header at or after `at`
        data2 = bytearray(data)
        data2[at + shift] = 0x0F  # local type 15: never defined by the encoder
        body = bytes(data2[:-2])
        data2 = bytearray(body + fit_crc(body).to_bytes(2, "little"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            slow = decode_fit(bytes(data2), name="x.fit", fast=False)
        if slow.damaged_at == at + shift:
            fast = _same_decode(bytes(data2))
            break
    assert fast == "columnar"
    got = read_fit(bytes(data2), name="x.fit")
    assert 0 < len(got[0].records) < n_full
    assert any("local message 15 not defined" in w for w in got[0].meta["warnings"])


def test_real_files_cut_short_give_what_fitdecode_recovers(realdata: Path) -> None:
    # every real FIT file cut at a random byte (a watch whose battery died mid-run, a copy
    # interrupted): both paths keep the same runs and say the same thing
    rng = random.Random(11)
    decoders = []
    for path in sorted(p for p in realdata.rglob("*") if p.suffix.lower() == ".fit"):
        data = path.read_bytes()
        if len(data) > 100:
            decoders.append(_same_decode(data[: rng.randrange(14, len(data))]))
    assert len(decoders) >= 40
    assert decoders.count("columnar") >= 0.75 * len(decoders), decoders
