"""Damaged FIT files: a flagged recovery or a StridekeeperError, never anything else."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stridekeeper.errors import CorruptFileError, DataQualityWarning, StridekeeperError
from stridekeeper.io import read_runs
from stridekeeper.io.fit import read_fit
from stridekeeper.schema import validate_records


def _manifest(realdata: Path) -> pd.DataFrame:
    return pd.read_csv(realdata / "MANIFEST.tsv", sep="\t")


def test_every_damaged_realdata_file_is_flagged_or_refused(realdata: Path) -> None:
    man = _manifest(realdata)
    damaged = man[man["notes"].str.contains("corrupt|truncated|broken|decode_error", na=False)]
    assert len(damaged) >= 8
    for rel in damaged["local_path"]:
        path = realdata / rel
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                runs = read_runs(path)
            except StridekeeperError as exc:
                assert str(path) in str(exc), f"error must name the file: {exc}"
                continue
        for run in runs:
            validate_records(run.records)
        flagged = [w for w in caught if issubclass(w.category, DataQualityWarning)]
        notes = [n for r in runs for n in r.meta["warnings"]]
        if "decode_error" in str(man.loc[man.local_path == rel, "notes"].iloc[0]):
            assert flagged and notes, f"{rel}: recovered data must be flagged"


def test_empty_file_names_file_and_offset(realdata: Path) -> None:
    path = realdata / "elevate" / "empty.fit"
    with pytest.raises(CorruptFileError) as info:
        read_runs(path)
    assert str(path) in str(info.value) and "byte 0" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_truncated_file_keeps_records_before_the_damage(realdata: Path) -> None:
    path = realdata / "python-fitparse" / "activity-unexpected-eof.fit"
    with pytest.warns(DataQualityWarning, match="byte 768"):
        runs = read_runs(path)
    assert len(runs) == 1 and len(runs[0].records) == 14
    assert any("truncated" in w for w in runs[0].meta["warnings"])


def test_crc_mismatch_is_flagged_not_refused(realdata: Path) -> None:
    with pytest.warns(DataQualityWarning, match="checksum"):
        runs = read_runs(realdata / "python-fitparse" / "activity-filecrc.fit")
    assert runs[0].meta["device_summary"]["distance_m"] == pytest.approx(5.73)


def test_cut_short_file_without_session_becomes_one_flagged_run(realdata: Path) -> None:
    with pytest.warns(DataQualityWarning, match="no session message"):
        runs = read_runs(realdata / "muktihari-fit" / "activity_truncated.fit")
    assert len(runs) == 1 and runs[0].meta["device_summary"] is None


def test_foreign_file_is_unsupported(tmp_path: Path) -> None:
    p = tmp_path / "notes.fit"
    p.write_bytes(b"this is a text file pretending to be a FIT file, long enough")
    with pytest.raises(StridekeeperError, match="not a FIT file"):
        read_runs(p)


def _damage_strategy(size: int):
    return st.lists(
        st.tuples(st.integers(0, size - 1), st.integers(0, 255)), min_size=1, max_size=8
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_byte_damage_never_escapes(data, small_fit_bytes: bytes) -> None:
    raw = bytearray(small_fit_bytes)
    kind = data.draw(st.sampled_from(["flip", "truncate", "both"]))
    if kind in ("flip", "both"):
        for pos, val in data.draw(_damage_strategy(len(raw))):
            raw[pos] = val
    if kind in ("truncate", "both"):
        raw = raw[: data.draw(st.integers(0, len(raw)))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            runs = read_fit(bytes(raw), name="damaged.fit")
        except StridekeeperError as exc:
            assert "damaged.fit" in str(exc)
            return
    for run in runs:
        validate_records(run.records)
