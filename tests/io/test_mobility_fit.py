"""Watch-recorded mobility sessions: FIT yoga/flexibility/pilates/breathing/mobility."""

from __future__ import annotations

import gzip
import warnings
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stridekeeper.errors import CorruptFileError, DataQualityWarning, UnsupportedFormatError
from stridekeeper.io.mobility_fit import (
    CATEGORY_PLANES,
    CATEGORY_REGIONS,
    is_mobility_session,
    read_fit_mobility,
)
from stridekeeper.io.mobility_log import read_mobility_log
from stridekeeper.schema import MOBILITY_COLUMNS, PLANES, REGIONS, validate_sessions
from stridekeeper.synth.fitwrite import SessionSpec, encode_activity

T0 = pd.Timestamp("2024-05-01T22:30:00Z")


def at(seconds: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(seconds=seconds)


#: 4 min hip stability, 30 s rest, 2 min plank, 1 min hip stability again (timer 7.5 min).
YOGA_SETS = [
    {"start_time": at(0), "duration_s": 240, "category": "hip_stability", "repetitions": 10},
    {"start_time": at(240), "duration_s": 30, "set_type": "rest"},
    {"start_time": at(270), "duration_s": 120, "category": "plank"},
    {"start_time": at(390), "duration_s": 60, "category": "hip_stability"},
]


def fit_bytes(sport: str, sub_sport: str, sets=YOGA_SETS, utc_offset_s: int = 7200, **kw):
    spec = SessionSpec(sport=sport, sub_sport=sub_sport, sets=sets, **kw)
    return encode_activity([spec], utc_offset_s=utc_offset_s)


def run_records(start: pd.Timestamp, n: int) -> pd.DataFrame:
    idx = pd.date_range(start, periods=n, freq="1s")
    return pd.DataFrame(
        {"distance_m": np.arange(n) * 3.0, "speed_mps": 3.0, "cadence_spm": 170.0}, index=idx
    )


# -- the table ---------------------------------------------------------------------------------
def test_yoga_with_sets_gives_one_full_row() -> None:
    table = read_fit_mobility(fit_bytes("training", "yoga"), name="watch/yoga.fit")
    assert list(table.columns) == list(MOBILITY_COLUMNS)
    validate_sessions(table)
    assert len(table) == 1
    row = table.iloc[0]
    assert row["start_time"] == T0
    assert str(table["start_time"].dtype) == "datetime64[us, UTC]"
    assert row["local_date"] == date(2024, 5, 2)  # 22:30 UTC + 2 h is the next day
    assert row["duration_min"] == pytest.approx(7.5)
    assert row["drills"] == ("hip_stability", "plank")  # order kept, rest skipped, de-duplicated
    assert row["regions"] == ("hips",)
    assert row["planes"] == ()
    assert np.isnan(row["rpe"])
    assert row["source"] == "watch/yoga.fit"
    assert row["notes"] == "watch: yoga"
    assert isinstance(row["session_id"], str) and len(row["session_id"]) == 16


@pytest.mark.parametrize(
    ("sport", "sub_sport", "note"),
    [
        ("training", "flexibility_training", "watch: flexibility_training"),
        ("training", "pilates", "watch: pilates"),
        ("training", "breathing", "watch: breathing"),
        ("mobility", "generic", "watch: mobility"),
        (86, 0, "watch: mobility"),
    ],
)
def test_every_mobility_kind_is_read(sport, sub_sport, note) -> None:
    table = read_fit_mobility(fit_bytes(sport, sub_sport))
    assert len(table) == 1
    assert table.loc[0, "notes"] == note
    assert table.loc[0, "drills"] == ("hip_stability", "plank")
    assert table.loc[0, "source"] == "<bytes>"


def test_sport_86_is_reported_by_number_and_still_recognised() -> None:
    from stridekeeper.io.fit import read_fit

    runs = read_fit(fit_bytes("mobility", "generic"))
    assert runs[0].meta["sport"] in ("86", "mobility")
    for value in ("86", 86, "mobility", "Mobility"):
        assert is_mobility_session(value, None)
    assert is_mobility_session("training", "yoga") and is_mobility_session("10", "43")
    assert not is_mobility_session("training", "strength_training")
    assert not is_mobility_session("running", "generic") and not is_mobility_session(None, None)


def test_strength_training_and_runs_give_an_empty_table() -> None:
    strength = fit_bytes("training", "strength_training")
    run = encode_activity([SessionSpec(records=run_records(T0, 120))])
    for data in (strength, run):
        table = read_fit_mobility(data)
        assert table.empty and list(table.columns) == list(MOBILITY_COLUMNS)
        validate_sessions(table)


def test_multisport_file_keeps_only_the_yoga_session() -> None:
    run = SessionSpec(records=run_records(T0 - pd.Timedelta(hours=1), 600))
    yoga = SessionSpec(sport="training", sub_sport="yoga", sets=YOGA_SETS)
    table = read_fit_mobility(encode_activity([run, yoga], utc_offset_s=7200))
    assert len(table) == 1
    assert table.loc[0, "start_time"] == T0 and table.loc[0, "notes"] == "watch: yoga"
    assert table.loc[0, "drills"] == ("hip_stability", "plank")


def test_two_mobility_sessions_keep_their_own_sets() -> None:
    later = [
        {"start_time": at(3600), "duration_s": 300, "category": "calf_raise"},
        {"start_time": at(3900), "duration_s": 300, "category": "lunge"},
    ]
    a = SessionSpec(sport="training", sub_sport="yoga", sets=YOGA_SETS)
    b = SessionSpec(sport="training", sub_sport="flexibility_training", sets=later)
    table = read_fit_mobility(encode_activity([a, b]))
    assert list(table["drills"]) == [("hip_stability", "plank"), ("calf_raise", "lunge")]
    assert table.loc[1, "regions"] == ("calves", "quads", "glutes")
    assert table.loc[1, "planes"] == ("sagittal",)
    assert table["session_id"].is_unique


def test_session_without_sets_has_no_drills_and_timer_duration() -> None:
    idx = pd.date_range(T0, periods=900, freq="1s")
    hr = pd.DataFrame({"heart_rate_bpm": 70.0}, index=idx)
    data = fit_bytes("training", "breathing", sets=(), records=hr, pauses=[(at(300), at(420))])
    row = read_fit_mobility(data).iloc[0]
    assert row["drills"] == () and row["regions"] == ()
    # timer time excludes the 2-minute pause: (899 - 120) s
    assert row["duration_min"] == pytest.approx((899 - 120) / 60)


def test_numeric_and_array_categories_are_named() -> None:
    sets = [
        {"start_time": at(0), "duration_s": 60, "category": 1},  # calf_raise
        {"start_time": at(60), "duration_s": 60, "category": "unknown"},
    ]
    row = read_fit_mobility(fit_bytes("training", "yoga", sets=sets)).iloc[0]
    assert row["drills"] == ("calf_raise",)
    assert row["regions"] == ("calves",)


def test_local_date_falls_back_to_tz_when_the_file_has_no_offset(monkeypatch) -> None:
    import stridekeeper.io.mobility_fit as mf
    from stridekeeper.io.fit import read_fit as real_read_fit

    def no_offset(*args, **kwargs):
        runs = real_read_fit(*args, **kwargs)
        for r in runs:
            r.meta["utc_offset_s"] = None
        return runs

    monkeypatch.setattr(mf, "read_fit", no_offset)
    data = fit_bytes("training", "yoga")
    assert read_fit_mobility(data, tz="America/New_York").loc[0, "local_date"] == date(2024, 5, 1)
    assert read_fit_mobility(data, tz="Europe/Copenhagen").loc[0, "local_date"] == date(2024, 5, 2)
    assert read_fit_mobility(data, tz=0).loc[0, "local_date"] == date(2024, 5, 1)
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    assert read_fit_mobility(data).loc[0, "local_date"] == date(2024, 5, 2)


def test_file_offset_wins_over_tz() -> None:
    data = fit_bytes("training", "yoga", utc_offset_s=-4 * 3600)
    assert read_fit_mobility(data, tz="Asia/Tokyo").loc[0, "local_date"] == date(2024, 5, 1)


def test_session_id_is_stable_and_uses_the_log_rule(tmp_path: Path) -> None:
    data = fit_bytes("training", "yoga")
    a, b = read_fit_mobility(data), read_fit_mobility(data, name="other.fit")
    assert a.loc[0, "session_id"] == b.loc[0, "session_id"]
    # a log row with the same start, duration, regions and drills gets the same id
    log = tmp_path / "log.csv"
    log.write_text(
        "date,duration_min,focus,drills\n2024-05-01T22:30:00Z,7.5,hips,hip_stability;plank\n"
    )
    assert read_mobility_log(log).sessions.loc[0, "session_id"] == a.loc[0, "session_id"]


def test_paths_and_gzip(tmp_path: Path) -> None:
    data = fit_bytes("training", "pilates")
    plain = tmp_path / "p.fit"
    plain.write_bytes(data)
    gz = tmp_path / "p.fit.gz"
    gz.write_bytes(gzip.compress(data))
    t1, t2 = read_fit_mobility(plain), read_fit_mobility(gz)
    assert t1.loc[0, "source"] == str(plain) and t2.loc[0, "source"] == str(gz)
    assert t1.loc[0, "session_id"] == t2.loc[0, "session_id"]
    assert read_fit_mobility(gzip.compress(data)).loc[0, "notes"] == "watch: pilates"
    with open(plain, "rb") as fh:
        assert len(read_fit_mobility(fh)) == 1


def test_bad_input_raises_the_package_errors(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFormatError):
        read_fit_mobility(b"date,duration_min\n2024-05-01,10\n")
    with pytest.raises(CorruptFileError):
        read_fit_mobility(fit_bytes("training", "yoga")[:10])
    with pytest.raises(CorruptFileError):
        read_fit_mobility(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(ValueError, match="time zone"):
        read_fit_mobility(fit_bytes("training", "yoga"), tz="Nowhere/Nothing")
    with pytest.raises(TypeError):
        read_fit_mobility(42)  # type: ignore[arg-type]


def test_vocabulary_tables_use_only_canonical_words() -> None:
    for regions in CATEGORY_REGIONS.values():
        assert set(regions) <= set(REGIONS)
    for planes in CATEGORY_PLANES.values():
        assert set(planes) <= set(PLANES)
    assert CATEGORY_REGIONS["hip_stability"] == ("hips",)
    assert CATEGORY_REGIONS["calf_raise"] == ("calves",)
    assert "plank" not in CATEGORY_REGIONS and "core" not in CATEGORY_REGIONS


# -- real files --------------------------------------------------------------------------------
def real_strength_files(realdata: Path) -> list[Path]:
    files = sorted((realdata / "jarkko-fit-analyzer").glob("*.fit"))
    files.append(realdata / "elevate" / "flagged-hr.fit")
    return files


def test_real_strength_training_files_give_no_sessions(realdata: Path) -> None:
    files = real_strength_files(realdata)
    assert len(files) == 5 and all(f.is_file() for f in files)
    for path in files:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataQualityWarning)
            table = read_fit_mobility(path)
        assert table.empty, path
        assert list(table.columns) == list(MOBILITY_COLUMNS)


@pytest.mark.parametrize(
    ("sport", "sub_sport", "expect"),
    [("fitness_equipment", "pilates", True), ("fitness_equipment", "yoga", True),
     ("training", "flexibility_training", True), ("yoga", None, True), ("pilates", None, True),
     ("breathing", None, True), ("mobility", None, True), ("86", "generic", True),
     (4, 44, True), ("running", "generic", False), ("fitness_equipment", "treadmill", False),
     ("training", "strength_training", False), (None, "yoga", False)],
)  # fmt: skip
def test_mobility_in_every_encoding(sport, sub_sport, expect) -> None:
    from stridekeeper.io.mobility_fit import is_mobility_session

    assert is_mobility_session(sport, sub_sport) is expect
