"""Tests for merging a logged mobility session with the same session recorded by a watch."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from stridekeeper.analysis.merge import merge_duplicate_sessions
from stridekeeper.errors import SchemaError
from stridekeeper.schema import MOBILITY_COLUMNS, validate_sessions

LOG, WATCH = "mobility.csv", "garmin/2024-05-01-07-10.fit"


def session(
    sid: str,
    start: str,
    duration_min: float,
    source: str,
    *,
    regions: tuple = (),
    planes: tuple = (),
    drills: tuple = (),
    rpe: float = np.nan,
    notes: str = "",
    local_date: date | None = None,
) -> dict:
    ts = pd.Timestamp(start)
    return {
        "session_id": sid,
        "start_time": ts,
        "local_date": local_date or ts.date(),
        "duration_min": float(duration_min),
        "regions": regions,
        "planes": planes,
        "drills": drills,
        "rpe": rpe,
        "source": source,
        "notes": notes,
    }


def table(*rows: dict) -> pd.DataFrame:
    n = len(rows)
    data = {}
    for col in MOBILITY_COLUMNS:
        values = np.empty(n, dtype=object)
        for i, r in enumerate(rows):
            values[i] = r[col]
        data[col] = values
    frame = pd.DataFrame(data)
    frame["start_time"] = pd.DatetimeIndex(list(frame["start_time"])).tz_convert("UTC")
    frame["duration_min"] = frame["duration_min"].astype(float)
    frame["rpe"] = frame["rpe"].astype(float)
    for col in ("session_id", "source", "notes"):
        frame[col] = frame[col].astype(str)
    return validate_sessions(frame)


def test_logged_and_recorded_session_merge():
    sessions = table(
        session(
            "log1",
            "2024-05-01T07:00Z",
            20,
            LOG,
            regions=("hips", "thoracic"),
            planes=("sagittal",),
            drills=("90/90", "open books"),
            rpe=4,
            notes="before the long run",
        ),
        session(
            "watch1",
            "2024-05-01T07:10Z",
            17.5,
            WATCH,
            regions=("ankles", "hips"),
            planes=("frontal",),
            drills=("ankle rocks", "90/90"),
            rpe=6,
            notes="auto",
        ),
    )
    out = merge_duplicate_sessions(sessions)
    assert len(out) == 1
    row = out.iloc[0]
    assert row["session_id"] == "watch1"
    assert row["start_time"] == pd.Timestamp("2024-05-01T07:10Z")  # the watch's
    assert row["duration_min"] == 17.5  # the watch's
    assert row["regions"] == ("hips", "ankles", "thoracic")  # union, vocabulary order
    assert row["planes"] == ("sagittal", "frontal")
    assert row["drills"] == ("90/90", "open books", "ankle rocks")  # log's first, no repeats
    assert row["rpe"] == 4  # the log's
    assert row["notes"] == "before the long run"  # the log's
    assert row["source"] == f"{WATCH};{LOG}"
    assert list(out.columns) == list(MOBILITY_COLUMNS)
    validate_sessions(out)


def test_log_leaves_rpe_and_notes_empty_then_the_watch_fills_them():
    sessions = table(
        session("log1", "2024-05-01T07:00Z", 20, LOG),
        session("watch1", "2024-05-01T07:05Z", 20, WATCH, rpe=5, notes="from watch"),
    )
    row = merge_duplicate_sessions(sessions).iloc[0]
    assert row["rpe"] == 5 and row["notes"] == "from watch"


@pytest.mark.parametrize(
    ("log_start", "log_min", "watch_start", "watch_min", "merged"),
    [
        ("2024-05-01T07:00Z", 20, "2024-05-01T07:30Z", 20, True),  # exactly 30 min apart
        ("2024-05-01T07:00Z", 20, "2024-05-01T07:31Z", 20, False),  # 31 min apart
        ("2024-05-01T07:30Z", 20, "2024-05-01T07:00Z", 20, True),  # watch first: symmetric
        ("2024-05-01T07:00Z", 40, "2024-05-01T07:00Z", 20, True),  # ratio exactly 0.5
        ("2024-05-01T07:00Z", 60, "2024-05-01T07:00Z", 20, False),  # ratio 1/3, 40 min apart
        ("2024-05-01T07:00Z", 10, "2024-05-01T07:00Z", 4, True),  # ratio 0.4, within 15 min
        ("2024-05-01T07:00Z", 35, "2024-05-01T07:00Z", 16, False),  # ratio 0.46, 19 min apart
        ("2024-05-01T07:00Z", 30, "2024-05-01T07:00Z", 15, True),  # both rules hold
    ],
)
def test_match_rules(log_start, log_min, watch_start, watch_min, merged):
    sessions = table(
        session("log1", log_start, log_min, LOG), session("watch1", watch_start, watch_min, WATCH)
    )
    out = merge_duplicate_sessions(sessions)
    assert len(out) == (1 if merged else 2)


def test_different_local_dates_never_merge():
    # 20 minutes apart, but either side of local midnight.
    sessions = table(
        session("log1", "2024-05-01T21:50Z", 20, LOG, local_date=date(2024, 5, 1)),
        session("watch1", "2024-05-01T22:10Z", 20, WATCH, local_date=date(2024, 5, 2)),
    )
    assert len(merge_duplicate_sessions(sessions)) == 2


def test_tolerances_are_parameters():
    sessions = table(
        session("log1", "2024-05-01T07:00Z", 60, LOG),
        session("watch1", "2024-05-01T07:45Z", 20, WATCH),
    )
    assert len(merge_duplicate_sessions(sessions)) == 2
    loose = merge_duplicate_sessions(
        sessions, max_start_diff_min=60, duration_rel_tol=0.7, duration_abs_tol_min=0
    )
    assert len(loose) == 1


def test_one_to_one_closest_start_wins():
    sessions = table(
        session("logA", "2024-05-01T07:00Z", 20, LOG, notes="A"),
        session("logB", "2024-05-01T07:20Z", 20, LOG, notes="B"),
        session("watch1", "2024-05-01T07:15Z", 20, WATCH),
    )
    out = merge_duplicate_sessions(sessions)
    assert len(out) == 2
    merged = out[out["source"].str.contains(";")]
    assert merged["notes"].tolist() == ["B"]  # 5 min away beats 15 min away
    assert out[~out["source"].str.contains(";")]["session_id"].tolist() == ["logA"]


def test_two_recordings_and_two_log_rows_pair_up():
    sessions = table(
        session("watchAM", "2024-05-01T07:05Z", 15, WATCH),
        session("logPM", "2024-05-01T18:00Z", 10, LOG, notes="pm"),
        session("logAM", "2024-05-01T07:00Z", 15, LOG, notes="am"),
        session("watchPM", "2024-05-01T18:10Z", 12, "watch/pm.fit"),
    )
    out = merge_duplicate_sessions(sessions)
    assert out["session_id"].tolist() == ["watchAM", "watchPM"]
    assert out["notes"].tolist() == ["am", "pm"]


def test_log_only_or_watch_only_tables_are_unchanged():
    logs = table(
        session("b", "2024-05-02T07:00Z", 20, LOG), session("a", "2024-05-01T07:00Z", 20, LOG)
    )
    out = merge_duplicate_sessions(logs)
    assert out["session_id"].tolist() == ["a", "b"]  # sorted by start
    pd.testing.assert_frame_equal(
        out, logs.sort_values("start_time").reset_index(drop=True), check_dtype=True
    )


def test_idempotent_and_input_not_mutated():
    sessions = table(
        session("log1", "2024-05-01T07:00Z", 20, LOG, regions=("hips",)),
        session("watch1", "2024-05-01T07:10Z", 20, WATCH, regions=("calves",)),
        session("log2", "2024-05-03T07:00Z", 20, LOG),
    )
    before = sessions.copy(deep=True)
    once = merge_duplicate_sessions(sessions)
    pd.testing.assert_frame_equal(sessions, before)
    twice = merge_duplicate_sessions(once)
    pd.testing.assert_frame_equal(once, twice)
    # A merged row is never merged again, even with another watch recording close by.
    more = pd.concat(
        [once, table(session("watch2", "2024-05-01T07:12Z", 20, "other.fit"))], ignore_index=True
    )
    assert len(merge_duplicate_sessions(more)) == 3


def test_is_log_overrides_detection_by_source():
    sessions = table(
        session("mine", "2024-05-01T07:00Z", 20, "typed by hand", notes="mine"),
        session("rec", "2024-05-01T07:05Z", 20, "phone app"),
    )
    assert len(merge_duplicate_sessions(sessions)) == 2  # neither looks like a log file
    out = merge_duplicate_sessions(sessions, is_log=[True, False])
    assert len(out) == 1
    assert out["session_id"].iloc[0] == "rec" and out["notes"].iloc[0] == "mine"
    assert out["source"].iloc[0] == "phone app;typed by hand"


def test_bad_arguments():
    sessions = table(session("log1", "2024-05-01T07:00Z", 20, LOG))
    with pytest.raises(ValueError, match="duration_rel_tol"):
        merge_duplicate_sessions(sessions, duration_rel_tol=1.5)
    with pytest.raises(ValueError, match=">= 0"):
        merge_duplicate_sessions(sessions, max_start_diff_min=-1)
    with pytest.raises(ValueError, match="is_log"):
        merge_duplicate_sessions(sessions, is_log=[True, False])
    with pytest.raises(SchemaError, match="source"):
        merge_duplicate_sessions(sessions.drop(columns="source"))
