"""read_mobility: logs and watch files together, folders, duplicates, failures."""

from __future__ import annotations

import dataclasses
import gzip
import shutil
import warnings
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from stridekeeper.errors import DataQualityWarning
from stridekeeper.io.mobility import MobilityResult, read_mobility
from stridekeeper.io.mobility_log import DETAIL_COLUMNS, TIMING_COLUMNS
from stridekeeper.schema import MOBILITY_COLUMNS, validate_sessions
from stridekeeper.synth.fitwrite import SessionSpec, encode_activity

HEADER = "date,duration_min,focus,drills,rpe,notes\n"
T0 = pd.Timestamp("2024-05-01T16:00:00Z")  # 18:00 in Copenhagen


def yoga_fit(start: pd.Timestamp = T0, minutes: float = 20, sub_sport: str = "yoga") -> bytes:
    sets = [
        {"start_time": start, "duration_s": minutes * 30, "category": "hip_stability"},
        {
            "start_time": start + pd.Timedelta(minutes=minutes / 2),
            "duration_s": minutes * 30,
            "category": "calf_raise",
        },
    ]
    spec = SessionSpec(sport="training", sub_sport=sub_sport, sets=sets)
    return encode_activity([spec], utc_offset_s=7200)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A log (one row the watch also recorded, one bad row, one only logged) and a watch file."""
    (tmp_path / "watch" / "2024").mkdir(parents=True)
    (tmp_path / "watch" / "2024" / "yoga.fit").write_bytes(yoga_fit())
    (tmp_path / "log.csv").write_text(
        HEADER
        + "2024-05-01T18:05,20,hip flexors,couch stretch,5,after work\n"
        + "2024-05-02,abc,hips,,,\n"
        + "2024-05-03T07:00,10,ankles,,3,\n",
        encoding="utf-8",
    )
    (tmp_path / "README.txt").write_text("not read")
    (tmp_path / ".hidden.csv").write_text("junk")
    return tmp_path


def read(*paths, **kw) -> MobilityResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return read_mobility(list(paths), **kw)


def test_log_and_watch_duplicate_is_merged_with_both_sources(folder: Path) -> None:
    res = read(folder, tz="Europe/Copenhagen")
    assert isinstance(res, MobilityResult) and dataclasses.is_dataclass(res)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.errors = []  # type: ignore[misc]
    s = res.sessions
    assert list(s.columns) == [*MOBILITY_COLUMNS, *TIMING_COLUMNS, *DETAIL_COLUMNS]
    validate_sessions(s)
    assert len(s) == 2 and list(s.index) == [0, 1]
    merged, logged = s.iloc[0], s.iloc[1]
    fit_path = str(folder / "watch" / "2024" / "yoga.fit")
    log_path = str(folder / "log.csv")
    assert merged["source"] == f"{fit_path};{log_path}"
    assert merged["start_time"] == T0  # the recording's start and duration
    assert merged["duration_min"] == pytest.approx(20)
    assert merged["regions"] == ("hips", "calves")
    assert merged["drills"] == ("couch stretch", "hip_stability", "calf_raise")
    assert merged["rpe"] == 5 and merged["notes"] == "after work"
    assert merged["local_date"] == date(2024, 5, 1)
    assert logged["source"] == log_path and logged["regions"] == ("ankles",)
    assert s["start_time"].is_monotonic_increasing
    assert [(e.file, e.line, e.column) for e in res.errors] == [(log_path, 3, "duration_min")]
    assert res.failures == []


def test_folder_recursion_picks_known_suffixes_only(folder: Path) -> None:
    sub = folder / "watch" / "2024"
    (sub / "b.FIT.gz").write_bytes(gzip.compress(yoga_fit(T0 + pd.Timedelta(days=3), 15)))
    (sub / "c.jsonl").write_text('{"date": "2024-05-10", "duration_min": 12}\n')
    (sub / "notes.md").write_text("# not read")
    res = read(sub, tz="UTC")
    assert sorted(Path(p).name for p in res.sessions["source"]) == [
        "b.FIT.gz",
        "c.jsonl",
        "yoga.fit",
    ]
    assert res.failures == [] and res.errors == []


def test_a_file_reached_twice_is_read_once(folder: Path) -> None:
    res = read(folder, folder / "log.csv", tz="Europe/Copenhagen")
    assert len(res.sessions) == 2 and len(res.errors) == 1


@pytest.mark.filterwarnings("ignore:.*rejected 1 of 3 row:stridekeeper.errors.DataQualityWarning")
def test_identical_copy_of_a_log_is_kept_once_with_a_warning(folder: Path) -> None:
    shutil.copy(folder / "log.csv", folder / "log-backup.csv")
    with pytest.warns(DataQualityWarning, match="kept once"):
        res = read_mobility(folder, tz="Europe/Copenhagen")
    assert len(res.sessions) == 2
    assert res.sessions["session_id"].is_unique


def test_failures_are_listed_and_good_files_go_on(folder: Path, tmp_path_factory) -> None:
    other = tmp_path_factory.mktemp("other")
    (other / "runs.csv").write_text("Activity Type,Date,Distance\nRunning,2024-05-01,10\n")
    (other / "broken.fit").write_bytes(yoga_fit()[:20])
    (other / "utf16.csv").write_bytes("date,duration_min\n".encode("utf-16"))
    (other / "empty").mkdir()
    missing = other / "nope.csv"
    res = read(folder, other, missing, tz="Europe/Copenhagen")
    assert len(res.sessions) == 2
    reasons = dict(res.failures)
    assert set(reasons) == {
        str(other / "runs.csv"),
        str(other / "broken.fit"),
        str(other / "utf16.csv"),
        str(missing),
    }
    assert reasons[str(other / "runs.csv")].startswith("not a mobility log")
    assert "duration_min" in reasons[str(other / "runs.csv")]
    assert "UTF-16" in reasons[str(other / "utf16.csv")]
    assert reasons[str(missing)] == "no such file or folder"
    for file, reason in res.failures:
        assert not reason.startswith(file) and "\n" not in reason


def test_empty_folder_is_a_failure(tmp_path: Path) -> None:
    res = read(tmp_path)
    assert res.sessions.empty
    assert list(res.sessions.columns) == [*MOBILITY_COLUMNS, *TIMING_COLUMNS, *DETAIL_COLUMNS]
    assert len(res.failures) == 1 and "no mobility logs" in res.failures[0][1]


def test_strict_refuses_the_bad_log_but_keeps_the_watch(folder: Path) -> None:
    res = read(folder, tz="Europe/Copenhagen", strict=True)
    assert len(res.sessions) == 1
    assert res.sessions.loc[0, "source"].endswith("yoga.fit")
    assert res.sessions.loc[0, "notes"] == "watch: yoga"
    assert [f for f, _ in res.failures] == [str(folder / "log.csv")]
    assert res.failures[0][1].startswith("log refused")
    assert [e.line for e in res.errors] == [3]  # the reason is still shown row by row


def test_explicit_file_with_unknown_name_is_sniffed(tmp_path: Path) -> None:
    fit = tmp_path / "download.bin"
    fit.write_bytes(yoga_fit())
    log = tmp_path / "mobility.txt"
    log.write_text(HEADER + "2024-05-05,10,calves,,,\n")
    res = read(fit, log, tz="UTC")
    assert len(res.sessions) == 2 and res.failures == []


def test_single_path_and_type_errors(folder: Path) -> None:
    assert len(read(str(folder / "log.csv"), tz="UTC").sessions) == 2
    assert len(read_mobility(folder / "watch", tz="UTC").sessions) == 1
    with pytest.raises(TypeError):
        read_mobility(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="time zone"):
        read_mobility(folder, tz="Mars/Olympus")


def test_watch_file_without_mobility_is_not_a_failure(tmp_path: Path, realdata: Path) -> None:
    strength = realdata / "jarkko-fit-analyzer" / "20748058539_ACTIVITY.fit"
    res = read(strength, realdata / "elevate" / "flagged-hr.fit")
    assert res.sessions.empty and res.failures == [] and res.errors == []
