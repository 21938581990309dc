"""Merging logged and recorded sessions decides by the ``origin`` column when there is one."""

from __future__ import annotations

import pandas as pd
import pytest

from stridekeeper.io.merge import merge_duplicate_sessions
from stridekeeper.schema import validate_sessions


def _pair(log_source: str, watch_source: str) -> pd.DataFrame:
    """A logged and a recorded row of one session: 10 min apart, 20 and 18 min long."""
    frame = pd.DataFrame(
        {
            "session_id": ["log1", "watch1"],
            "start_time": pd.to_datetime(["2024-05-01T07:00Z", "2024-05-01T07:10Z"]),
            "local_date": [pd.Timestamp("2024-05-01").date()] * 2,
            "duration_min": [20.0, 18.0],
            "regions": [("hips",), ("ankles",)],
            "planes": [(), ()],
            "drills": [(), ()],
            "rpe": [4.0, 6.0],
            "source": [log_source, watch_source],
            "notes": ["typed", "auto"],
        }
    )
    return validate_sessions(frame)


def test_origin_wins_over_the_file_suffix() -> None:
    # the log came as a .xlsx export and the recording as a .csv: suffixes would say the opposite
    sessions = _pair("notes.xlsx", "watch-export.csv").assign(origin=["log", "recorded"])
    (row,) = merge_duplicate_sessions(sessions).itertuples(index=False)
    assert row.session_id == "watch1"  # the recording's id, start and duration
    assert row.duration_min == 18.0
    assert row.rpe == 4 and row.notes == "typed"  # the log's
    assert row.source == "watch-export.csv;notes.xlsx"
    assert row.origin == "recorded"


def test_two_recordings_never_merge_whatever_their_names() -> None:
    sessions = _pair("mobility.csv", "watch.fit").assign(origin=["recorded", "recorded"])
    assert len(merge_duplicate_sessions(sessions)) == 2


def test_without_origin_the_suffix_still_decides() -> None:
    out = merge_duplicate_sessions(_pair("mobility.csv", "watch.fit"))
    assert list(out["session_id"]) == ["watch1"]


def test_unknown_origin_is_refused() -> None:
    sessions = _pair("a.csv", "b.fit").assign(origin=["typed", "recorded"])
    with pytest.raises(ValueError, match="origin must be one of"):
        merge_duplicate_sessions(sessions)


def test_old_import_path_is_the_same_function() -> None:
    from stridekeeper.analysis import merge

    assert merge.merge_duplicate_sessions is merge_duplicate_sessions
