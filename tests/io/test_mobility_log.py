"""Tests for the mobility-log reader: formats, every validation path, time zones, ids."""

from __future__ import annotations

import csv
import io
import json
import shutil
import warnings
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stridekeeper.errors import (
    CorruptFileError,
    DataQualityWarning,
    MobilityLogError,
    RowError,
    StridekeeperError,
)
from stridekeeper.io.mobility_log import (
    DETAIL_COLUMNS,
    TIMING_COLUMNS,
    MobilityLogResult,
    normalize_region,
    read_mobility_log,
)
from stridekeeper.schema import MOBILITY_COLUMNS, PLANES, REGIONS, validate_sessions

TEMPLATE = Path(__file__).resolve().parents[2] / "sample_data" / "mobility_template.csv"
HEADER = "date,duration_min,focus,planes,drills,rpe,notes\n"


def write(tmp_path: Path, text: str, name: str = "log.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def read_quiet(path_or_file, **kwargs) -> MobilityLogResult:
    """Read, silencing the rejected-rows warning (tests that check it do so explicitly)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return read_mobility_log(path_or_file, **kwargs)


def where(result: MobilityLogResult) -> list[tuple[int, str]]:
    return [(e.line, e.column) for e in result.errors]


# ---------------------------------------------------------------------------------------------
# the canonical table
# ---------------------------------------------------------------------------------------------
def test_template_rows_are_examples_never_data():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = read_mobility_log(TEMPLATE, tz="Europe/Copenhagen")
    assert result.errors == []
    assert len(result.sessions) == 0
    assert result.example_rows == 3
    assert any("3 example row(s)" in str(w.message) for w in caught)


def test_template_reads_cleanly_once_unmarked(tmp_path):
    text = TEMPLATE.read_text().replace(",yes\n", ",\n")
    path = tmp_path / "mine.csv"
    path.write_text(text)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = read_mobility_log(path, tz="Europe/Copenhagen")
    assert result.errors == []
    s = result.sessions
    assert len(s) == 3
    assert s["regions"].tolist() == [
        ("hips", "ankles"),
        ("thoracic", "hamstrings"),
        ("calves", "feet"),
    ]
    assert s["notes"].tolist() == ["before an easy run", "evening, after work", ""]
    assert s["local_date"].tolist() == [date(2024, 5, 6), date(2024, 5, 8), date(2024, 5, 11)]
    d = result.details
    assert d["context"].tolist() == ["warm-up", "standalone", "post-run"]
    assert d["range_feel"].tolist() == ["normal", "restricted", "open"]
    assert d["pain_before"].tolist()[:2] == [1.0, 2.0]
    assert d["balance"].tolist() == [False, True, False]
    assert d["session_id"].tolist() == s["session_id"].tolist()


def test_new_fields_bad_values_are_row_errors(tmp_path):
    path = write(
        tmp_path,
        "date,duration_min,context,range_feel,pain_before,balance\n"
        "2024-05-01,10,cool-down,open,3,yes\n"
        "2024-05-02,10,lunchtime,tight,11,maybe\n",
    )
    res = read_mobility_log(path, tz="UTC", today=date(2024, 6, 1))
    assert res.details["context"].tolist() == ["post-run"]
    assert where(res) == [(3, "context"), (3, "range_feel"), (3, "pain_before"), (3, "balance")]


def test_future_and_far_dates_are_row_errors(tmp_path):
    path = write(
        tmp_path,
        "date,duration_min\n2024-05-01,10\n2062-03-04,10\n2024-06-02,5\n2024-06-03,5\n"
        "2019-01-01,5\n",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = read_mobility_log(path, tz="UTC", today=date(2024, 6, 1))
        # tomorrow is fine, the day after is not
        assert where(res) == [(3, "date"), (5, "date")]
        assert "later than tomorrow" in res.errors[0].message
        span = read_mobility_log(path, tz="UTC", today=date(2024, 6, 1),
                                 runs_span=(date(2024, 3, 1), date(2024, 6, 1)))  # fmt: skip
    assert where(span) == [(3, "date"), (5, "date"), (6, "date")]
    assert "outside" in span.errors[-1].message


def test_exact_duplicates_counted_once(tmp_path):
    path = write(
        tmp_path,
        "date,duration_min,focus\n2024-05-01,10,hips\n2024-05-02,12,hips\n"
        "2024-05-01,10,hips\n2024-05-01,10,ankles\n",
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = read_mobility_log(path, tz="UTC", today=date(2024, 6, 1))
    assert len(res.sessions) == 3
    assert res.duplicates == [(4, 2)]
    assert any("1 exact duplicate" in str(w.message) for w in caught)


def test_output_schema(tmp_path):
    path = write(
        tmp_path, HEADER + "2024-05-01T07:30,20,hips;ankles,sagittal,90/90;ankle rocks,,\n"
    )
    result = read_mobility_log(path, tz="UTC")
    assert isinstance(result, MobilityLogResult)
    s = result.sessions
    validate_sessions(s)
    assert list(s.columns) == [*MOBILITY_COLUMNS, *TIMING_COLUMNS, *DETAIL_COLUMNS]
    assert s["context"].iloc[0] == "" and np.isnan(s["pain_after"].iloc[0])
    assert isinstance(s["start_time"].dtype, pd.DatetimeTZDtype)
    assert str(s["start_time"].dtype.tz) == "UTC"
    assert s["start_time"].iloc[0] == pd.Timestamp("2024-05-01T07:30Z")
    assert s["local_date"].dtype == object
    assert type(s["local_date"].iloc[0]) is date
    assert s["duration_min"].dtype == np.float64
    assert s["regions"].iloc[0] == ("hips", "ankles")
    assert s["planes"].iloc[0] == ("sagittal",)
    assert s["drills"].iloc[0] == ("90/90", "ankle rocks")
    assert s["rpe"].dtype == np.float64 and np.isnan(s["rpe"].iloc[0])
    assert s["notes"].iloc[0] == ""
    assert s["source"].iloc[0] == str(path)
    assert isinstance(s.index, pd.RangeIndex)


def test_return_type_does_not_depend_on_strict(tmp_path):
    path = write(tmp_path, HEADER + "2024-05-01,20,hips,,,,\n")
    a = read_mobility_log(path, tz="UTC")
    b = read_mobility_log(path, tz="UTC", strict=True)
    assert type(a) is type(b) is MobilityLogResult
    pd.testing.assert_frame_equal(a.sessions, b.sessions)
    assert a.errors == b.errors == []


def test_header_only_gives_empty_valid_table(tmp_path):
    result = read_mobility_log(write(tmp_path, HEADER), tz="UTC")
    assert result.errors == []
    assert len(result.sessions) == 0
    assert list(result.sessions.columns) == [*MOBILITY_COLUMNS, *TIMING_COLUMNS, *DETAIL_COLUMNS]
    assert str(result.sessions["start_time"].dtype.tz) == "UTC"
    validate_sessions(result.sessions)


def test_sorted_by_start_time(tmp_path):
    text = HEADER + "2024-05-03,10,,,,,\n2024-05-01,10,,,,,\n2024-05-02,10,,,,,\n"
    s = read_mobility_log(write(tmp_path, text), tz="UTC").sessions
    assert s["local_date"].tolist() == [date(2024, 5, d) for d in (1, 2, 3)]


def test_optional_columns_may_be_absent(tmp_path):
    s = read_mobility_log(write(tmp_path, "date,duration_min\n2024-05-01,10\n"), tz="UTC").sessions
    assert s["regions"].iloc[0] == () and s["planes"].iloc[0] == () and s["drills"].iloc[0] == ()
    assert np.isnan(s["rpe"].iloc[0]) and s["notes"].iloc[0] == ""


# ---------------------------------------------------------------------------------------------
# forgiving about form
# ---------------------------------------------------------------------------------------------
def test_header_case_spaces_bom_and_aliases(tmp_path):
    text = " Date ,  DURATION (min) ,Focus, RPE ,Comments\r\n2024-05-01,20,Hips,5,ok\r\n"
    path = tmp_path / "log.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    result = read_mobility_log(path, tz="UTC")
    assert result.errors == []
    s = result.sessions
    assert s["duration_min"].iloc[0] == 20
    assert s["regions"].iloc[0] == ("hips",)
    assert s["rpe"].iloc[0] == 5
    assert s["notes"].iloc[0] == "ok"


def test_quoted_fields_with_commas_and_quotes(tmp_path):
    text = HEADER + '2024-05-01,20,"hips, ankles",,"lunge, deep; pigeon",4,"sore, but ""fine"""\n'
    s = read_mobility_log(write(tmp_path, text), tz="UTC").sessions
    assert s["regions"].iloc[0] == ("hips", "ankles")
    assert s["drills"].iloc[0] == ("lunge, deep", "pigeon")
    assert s["notes"].iloc[0] == 'sore, but "fine"'


def test_blank_lines_comments_and_empty_rows_are_skipped(tmp_path):
    text = "# my log\n\n" + HEADER + "\n2024-05-01,20,,,,,\n   \n,,,,,,\n\n2024-05-02,15,,,,,\n"
    result = read_mobility_log(write(tmp_path, text), tz="UTC")
    assert result.errors == []
    assert len(result.sessions) == 2


def test_semicolon_separated_csv(tmp_path):
    text = 'date;duration_min;focus\n2024-05-01;20;"hips;ankles"\n'
    s = read_mobility_log(write(tmp_path, text), tz="UTC").sessions
    assert s["regions"].iloc[0] == ("hips", "ankles")


def test_tab_separated_csv(tmp_path):
    text = "date\tduration_min\tfocus\n2024-05-01\t20\tcalf\n"
    s = read_mobility_log(write(tmp_path, text, "log.tsv"), tz="UTC").sessions
    assert s["regions"].iloc[0] == ("calves",)


@pytest.mark.parametrize(
    ("raw", "minutes"),
    [
        ("20", 20.0),
        ("12.5", 12.5),
        ('"12,5"', 12.5),
        ("20 min", 20.0),
        ("600", 600.0),
        (" 7 ", 7.0),
    ],
)
def test_duration_forms(tmp_path, raw, minutes):
    s = read_mobility_log(write(tmp_path, f"date,duration_min\n2024-05-01,{raw}\n"), tz="UTC")
    assert s.errors == []
    assert s.sessions["duration_min"].iloc[0] == minutes


@pytest.mark.parametrize("raw", ["0", "10", "7.5"])
def test_rpe_edges_accepted(tmp_path, raw):
    s = read_mobility_log(
        write(tmp_path, f"date,duration_min,rpe\n2024-05-01,10,{raw}\n"), tz="UTC"
    )
    assert s.sessions["rpe"].iloc[0] == float(raw)


def test_unknown_column_warns_and_is_ignored(tmp_path):
    path = write(tmp_path, "date,duration_min,mood\n2024-05-01,10,great\n")
    with pytest.warns(DataQualityWarning, match="mood"):
        result = read_mobility_log(path, tz="UTC")
    assert result.errors == [] and len(result.sessions) == 1


def test_file_objects_binary_and_text(tmp_path):
    text = HEADER + "2024-05-01,20,hips,,,,\n"
    a = read_mobility_log(io.BytesIO(text.encode()), tz="UTC")
    b = read_mobility_log(io.StringIO(text), tz="UTC", source="phone.csv")
    assert a.sessions["source"].iloc[0] == "<stream>"
    assert b.sessions["source"].iloc[0] == "phone.csv"
    assert a.sessions["session_id"].tolist() == b.sessions["session_id"].tolist()


def test_source_argument_used_in_table_and_errors(tmp_path):
    path = write(tmp_path, HEADER + "2024-05-01,20,,,,,\n2024-05-02,-1,,,,,\n")
    result = read_quiet(path, tz="UTC", source="athlete/log")
    assert result.sessions["source"].tolist() == ["athlete/log"]
    assert result.errors[0].file == "athlete/log"


def test_path_given_as_str_is_kept_as_given(tmp_path, monkeypatch):
    write(tmp_path, HEADER + "2024-05-01,20,,,,,\n")
    monkeypatch.chdir(tmp_path)
    assert read_mobility_log("log.csv", tz="UTC").sessions["source"].iloc[0] == "log.csv"


# ---------------------------------------------------------------------------------------------
# region vocabulary
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "region"),
    [
        ("hip", "hips"),
        ("Hip Flexors", "hips"),
        ("hip flexor", "hips"),
        ("ankle", "ankles"),
        ("T-spine", "thoracic"),
        ("tspine", "thoracic"),
        ("upper back", "thoracic"),
        ("Thoracic Spine", "thoracic"),
        ("calf", "calves"),
        ("hammies", "hamstrings"),
        ("hamstring", "hamstrings"),
        ("quad", "quads"),
        ("Quadriceps", "quads"),
        ("glute", "glutes"),
        ("butt", "glutes"),
        ("foot", "feet"),
        ("low back", "lower_back"),
        ("Lower-Back", "lower_back"),
        ("lumbar", "lower_back"),
        ("shoulder", "shoulders"),
        ("full body", "full_body"),
        ("Whole Body", "full_body"),
        ("total body", "full_body"),
        ("ALL", "full_body"),
        ("  lower_back ", "lower_back"),
        *[(r, r) for r in REGIONS],
        *[(r.upper(), r) for r in REGIONS],
    ],
)
def test_normalize_region(name, region):
    assert normalize_region(name) == region


@pytest.mark.parametrize("name", ["knees", "", "  ", "elbow", "hips ankles"])
def test_normalize_region_unknown(name):
    assert normalize_region(name) is None


def test_synonyms_in_a_file_map_to_vocabulary_order(tmp_path):
    text = HEADER + '2024-05-01,20,"Hammies; T-Spine;hip flexors;hips",Coronal;SAGITTAL,,,\n'
    s = read_mobility_log(write(tmp_path, text), tz="UTC").sessions
    assert s["regions"].iloc[0] == ("hips", "thoracic", "hamstrings")  # REGIONS order, no repeats
    assert s["planes"].iloc[0] == ("sagittal", "frontal")


# ---------------------------------------------------------------------------------------------
# exact about content: every bad value, with its line
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("column", "raw", "needle"),
    [
        ("date", "", "required"),
        ("date", "01/05/2024", "YYYY-MM-DD"),
        ("date", "yesterday", "YYYY-MM-DD"),
        ("date", "2024-13-01", "calendar date"),
        ("date", "2024-02-30", "calendar date"),
        ("date", "2024-05-01T25:00", "time of day"),
        ("date", "2024-05-01T07", "YYYY-MM-DD"),
        ("duration_min", "", "required"),
        ("duration_min", "0", "> 0 and <= 600"),
        ("duration_min", "-5", "> 0 and <= 600"),
        ("duration_min", "601", "> 0 and <= 600"),
        ("duration_min", "abc", "> 0 and <= 600"),
        ("duration_min", "nan", "> 0 and <= 600"),
        ("duration_min", "inf", "> 0 and <= 600"),
        ("duration_min", "1:30", "> 0 and <= 600"),
        ("focus", "knees", "hips, ankles, thoracic"),
        ("focus", "hips;elbows", "'elbows'"),
        ("planes", "diagonal", "sagittal, frontal, transverse"),
        ("rpe", "11", "0 to 10"),
        ("rpe", "-1", "0 to 10"),
        ("rpe", "high", "0 to 10"),
        ("rpe", "7/10", "0 to 10"),
    ],
)
def test_each_bad_value_is_reported(tmp_path, column, raw, needle):
    row = {"date": "2024-05-01", "duration_min": "20", "focus": "hips", "planes": "", "rpe": ""}
    row[column] = raw
    text = "date,duration_min,focus,planes,rpe\n" + ",".join(row.values()) + "\n"
    text += "2024-05-02,10,ankles,,\n"
    path = write(tmp_path, text)
    with pytest.warns(DataQualityWarning, match="rejected 1 of 2"):
        result = read_mobility_log(path, tz="UTC")
    assert len(result.sessions) == 1  # the good row is kept
    assert len(result.errors) == 1
    err = result.errors[0]
    assert isinstance(err, RowError)
    assert (err.file, err.line, err.column, err.value) == (str(path), 2, column, raw)
    assert needle in err.message


def test_region_error_lists_the_whole_vocabulary(tmp_path):
    result = read_quiet(write(tmp_path, "date,duration_min,focus\n2024-05-01,10,knees\n"), tz="UTC")
    msg = result.errors[0].message
    assert all(r in msg for r in REGIONS)
    plane = read_quiet(write(tmp_path, "date,duration_min,planes\n2024-05-01,10,up\n"), tz="UTC")
    assert all(p in plane.errors[0].message for p in PLANES)


def test_all_errors_in_one_pass_with_physical_lines(tmp_path):
    text = (
        HEADER  # line 1
        + "\n"  # 2 blank
        + "2024-05-01,20,hips,,,,\n"  # 3 good
        + "2024-05-02,0,knees,,,,\n"  # 4 bad: duration and focus
        + "\n"  # 5 blank
        + '2024-05-03,10,hips,,,,"a note\n'  # 6 good, notes over lines 6-8
        + "spanning\n"  # 7
        + 'three lines"\n'  # 8
        + "2024-05-32,10,,,,11,\n"  # 9 bad: date and rpe
        + '2024-05-04,10,,,,,"x\n'  # 10 good, notes over 10-11
        + 'y"\n'  # 11
        + "2024-05-05,10,,diagonal,,,\n"  # 12 bad: planes
    )
    result = read_quiet(write(tmp_path, text), tz="UTC")
    assert where(result) == [
        (4, "duration_min"),
        (4, "focus"),
        (9, "date"),
        (9, "rpe"),
        (12, "planes"),
    ]
    assert len(result.sessions) == 3
    assert "a note\nspanning\nthree lines" in result.sessions["notes"].tolist()


def test_crlf_line_numbers(tmp_path):
    text = (HEADER + "2024-05-01,20,,,,,\n\n2024-05-02,x,,,,,\n").replace("\n", "\r\n")
    result = read_quiet(write(tmp_path, text), tz="UTC")
    assert where(result) == [(4, "duration_min")]


def test_one_warning_summarises_rejected_rows(tmp_path):
    text = HEADER + "2024-05-01,0,,,,,\n2024-05-02,0,knees,,,,\n2024-05-03,10,,,,,\n"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = read_mobility_log(write(tmp_path, text), tz="UTC")
    dq = [w for w in caught if issubclass(w.category, DataQualityWarning)]
    assert len(dq) == 1
    assert "rejected 2 of 3" in str(dq[0].message)
    assert len(result.errors) == 3


def test_no_warning_for_a_clean_file(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_mobility_log(write(tmp_path, HEADER + "2024-05-01,20,hips,,,,\n"), tz="UTC")


def test_strict_refuses_and_carries_every_error(tmp_path):
    text = HEADER + "2024-05-01,0,,,,,\n2024-05-02,10,,,,,\n2024-05-03,10,knees,,,99,\n"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # strict raises instead of warning
        with pytest.raises(MobilityLogError) as info:
            read_mobility_log(write(tmp_path, text), tz="UTC", strict=True)
    err = info.value
    assert isinstance(err, StridekeeperError) and isinstance(err, ValueError)
    assert [(e.line, e.column) for e in err.errors] == [
        (2, "duration_min"),
        (4, "focus"),
        (4, "rpe"),
    ]
    assert "2 of 3" in str(err)


def test_row_with_too_many_fields(tmp_path):
    text = "date,duration_min,notes\n2024-05-01,10,sore, but fine\n2024-05-02,10,ok,,\n"
    result = read_quiet(write(tmp_path, text), tz="UTC")
    assert where(result) == [(2, "(row)")]
    assert "double quotes" in result.errors[0].message
    assert len(result.sessions) == 1  # trailing empty fields are fine


def test_unclosed_quote_is_reported(tmp_path):
    text = HEADER + "2024-05-01,10,,,,,ok\n" + '2024-05-02,10,,,,,"oops\n2024-05-03,10,,,,,\n'
    result = read_quiet(write(tmp_path, text), tz="UTC")
    assert where(result) == [(3, "(row)")]
    assert "never closed" in result.errors[0].message
    assert len(result.sessions) == 1


# ---------------------------------------------------------------------------------------------
# columns and unreadable files
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("header", "missing"),
    [("date,focus", "duration_min"), ("duration_min,focus", "date"), ("when,how long", "date")],
)
def test_missing_required_column(tmp_path, header, missing):
    path = write(tmp_path, header + "\n2024-05-01,10\n")
    with pytest.raises(MobilityLogError, match=missing) as info:
        read_mobility_log(path, tz="UTC")
    msg = str(info.value)
    assert "found columns" in msg
    for found in header.split(","):
        assert repr(found) in msg


def test_missing_required_key_in_json(tmp_path):
    path = write(tmp_path, json.dumps([{"date": "2024-05-01", "focus": "hips"}]), "log.json")
    with pytest.raises(MobilityLogError, match="duration_min"):
        read_mobility_log(path, tz="UTC")


def test_two_columns_meaning_the_same(tmp_path):
    with pytest.raises(MobilityLogError, match="focus"):
        read_mobility_log(write(tmp_path, "date,duration_min,focus,regions\n"), tz="UTC")


def test_empty_csv_file(tmp_path):
    with pytest.raises(MobilityLogError, match="empty"):
        read_mobility_log(write(tmp_path, "\n\n"), tz="UTC")


@pytest.mark.parametrize(
    ("data", "name", "needle"),
    [
        (bytes(range(256)) * 4, "log.csv", "binary"),
        (b"date,duration_min\n2024-05-01,10\x00\x00\n", "log.csv", "binary"),
        (
            "date,duration_min,notes\n2024-05-01,10,caf\u00e9\n".encode("latin-1"),
            "log.csv",
            "UTF-8",
        ),
        (b'[{"date": "2024-05-01", "duration_min": 10', "log.json", "JSON"),
        (b"PK\x03\x04\x14\x00\x06\x00" + bytes(40), "log.csv", "CSV"),
        ("date,duration_min\n".encode("utf-16"), "log.csv", "UTF-16"),
        (b"not json at all\n{also not}\n", "log.jsonl", "JSON Lines"),
    ],
)
def test_unreadable_file(tmp_path, data, name, needle):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(CorruptFileError) as info:
        read_mobility_log(path, tz="UTC")
    msg = str(info.value)
    assert "\n" not in msg
    assert str(path) in msg
    assert needle in msg
    assert isinstance(info.value, ValueError)


def test_missing_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_mobility_log(tmp_path / "nope.csv", tz="UTC")


# ---------------------------------------------------------------------------------------------
# JSON and JSON Lines
# ---------------------------------------------------------------------------------------------
ROWS = [
    {"date": "2024-05-01T07:00", "duration_min": 20, "focus": "hips;ankles", "rpe": 4},
    {"Date": "2024-05-02", "Duration_Min": "15", "focus": ["calf", "Foot"], "drills": ["a", "b"]},
    {"date": "2024-05-03", "duration_min": 10, "planes": "frontal", "notes": None, "rpe": None},
]


@pytest.mark.parametrize("wrap", [False, True])
def test_json(tmp_path, wrap):
    payload = {"sessions": ROWS} if wrap else ROWS
    path = write(tmp_path, json.dumps(payload, indent=2), "log.json")
    result = read_mobility_log(path, tz="UTC")
    assert result.errors == []
    s = result.sessions
    assert s["regions"].tolist() == [("hips", "ankles"), ("calves", "feet"), ()]
    assert s["drills"].iloc[1] == ("a", "b")
    assert s["rpe"].iloc[0] == 4 and np.isnan(s["rpe"].iloc[2])
    assert s["duration_min"].tolist() == [20, 15, 10]


def test_json_errors_use_object_position(tmp_path):
    rows = [
        {"date": "2024-05-01", "duration_min": 10},
        {"date": "2024-05-02", "duration_min": 0},
        "not an object",
        {"date": 20240504, "duration_min": True, "focus": ["hips", 3]},
        {"duration_min": 10},
    ]
    path = write(tmp_path, json.dumps(rows, indent=2), "log.json")
    result = read_quiet(path, tz="UTC")
    assert where(result) == [
        (2, "duration_min"),
        (3, "(row)"),
        (4, "date"),
        (4, "duration_min"),
        (4, "focus"),
        (5, "date"),
    ]
    assert result.errors[2].value == "20240504"
    assert len(result.sessions) == 1


def test_json_that_is_not_a_list(tmp_path):
    with pytest.raises(MobilityLogError, match="list"):
        read_mobility_log(write(tmp_path, '{"date": "2024-05-01"}', "log.json"), tz="UTC")


def test_empty_json_list(tmp_path):
    result = read_mobility_log(write(tmp_path, "[]", "log.json"), tz="UTC")
    assert len(result.sessions) == 0 and result.errors == []


def test_jsonl_line_numbers(tmp_path):
    lines = [
        json.dumps(ROWS[0]),  # 1
        "",  # 2
        json.dumps({"date": "2024-05-02", "duration_min": 700}),  # 3
        "{broken",  # 4
        json.dumps(ROWS[2]),  # 5
        "[1, 2]",  # 6
    ]
    path = write(tmp_path, "\n".join(lines) + "\n", "log.jsonl")
    result = read_quiet(path, tz="UTC")
    assert where(result) == [(3, "duration_min"), (4, "(row)"), (6, "(row)")]
    assert len(result.sessions) == 2


@pytest.mark.parametrize(
    ("text", "n"),
    [
        (json.dumps(ROWS), 3),  # JSON list sniffed
        ("\n  " + json.dumps({"sessions": ROWS}), 3),  # wrapped JSON sniffed
        ("\n".join(json.dumps(r) for r in ROWS), 3),  # JSON Lines sniffed
        (json.dumps(ROWS[0]), 1),  # a one-line JSON Lines file
        ("date,duration_min\n2024-05-01,10\n", 1),  # CSV by default
    ],
)
def test_format_sniffing(tmp_path, text, n):
    for target in (write(tmp_path, text, "log.dat"), io.StringIO(text)):
        assert len(read_mobility_log(target, tz="UTC").sessions) == n


def test_explicit_format_wins(tmp_path):
    path = write(tmp_path, "\n".join(json.dumps(r) for r in ROWS), "log.csv")
    assert len(read_mobility_log(path, tz="UTC", format="jsonl").sessions) == 3
    with pytest.raises(ValueError, match="format"):
        read_mobility_log(path, tz="UTC", format="xlsx")


def test_same_sessions_from_every_format(tmp_path):
    csv_text = HEADER + "2024-05-01T07:00,20,hips;ankles,,,4,\n2024-05-02,15,calves;feet,,a;b,,\n"
    a = read_mobility_log(write(tmp_path, csv_text), tz="Europe/Copenhagen").sessions
    rows = [
        {"date": "2024-05-01T07:00", "duration_min": 20, "focus": "hips;ankles", "rpe": 4},
        {"date": "2024-05-02", "duration_min": 15, "focus": "calves;feet", "drills": "a;b"},
    ]
    b = read_mobility_log(write(tmp_path, json.dumps(rows), "l.json"), tz="Europe/Copenhagen")
    c = read_mobility_log(
        write(tmp_path, "\n".join(map(json.dumps, rows)), "l.jsonl"), tz="Europe/Copenhagen"
    )
    for other in (b.sessions, c.sessions):
        pd.testing.assert_frame_equal(
            a.drop(columns="source"), other.drop(columns="source"), check_dtype=True
        )


# ---------------------------------------------------------------------------------------------
# time zones and DST
# ---------------------------------------------------------------------------------------------
def one(tmp_path, when: str, tz) -> pd.Series:
    result = read_mobility_log(write(tmp_path, f"date,duration_min\n{when},10\n"), tz=tz)
    assert result.errors == []
    return result.sessions.iloc[0]


def test_late_evening_belongs_to_its_local_date(tmp_path):
    row = one(tmp_path, "2024-06-01T23:30", "Europe/Copenhagen")
    assert row["local_date"] == date(2024, 6, 1)
    assert row["start_time"] == pd.Timestamp("2024-06-01T21:30Z")
    row = one(tmp_path, "2024-06-01 23:30", "America/Los_Angeles")
    assert row["local_date"] == date(2024, 6, 1)
    assert row["start_time"] == pd.Timestamp("2024-06-02T06:30Z")  # next UTC day
    row = one(tmp_path, "2024-06-02T00:30:15", "Europe/Copenhagen")
    assert row["local_date"] == date(2024, 6, 2)
    assert row["start_time"] == pd.Timestamp("2024-06-01T22:30:15Z")


def test_date_only_starts_at_local_noon(tmp_path):
    assert one(tmp_path, "2024-01-15", "Europe/Copenhagen")["start_time"] == pd.Timestamp(
        "2024-01-15T11:00Z"
    )
    assert one(tmp_path, "2024-07-15", "Europe/Copenhagen")["start_time"] == pd.Timestamp(
        "2024-07-15T10:00Z"
    )


def test_copenhagen_spring_forward(tmp_path):
    # 2024-03-31: clocks jump from 02:00 CET to 03:00 CEST.
    assert one(tmp_path, "2024-03-31T01:30", "Europe/Copenhagen")["start_time"] == pd.Timestamp(
        "2024-03-31T00:30Z"
    )
    # 02:30 does not exist: shifted forward to 03:00 CEST.
    row = one(tmp_path, "2024-03-31T02:30", "Europe/Copenhagen")
    assert row["start_time"] == pd.Timestamp("2024-03-31T01:00Z")
    assert row["local_date"] == date(2024, 3, 31)
    assert one(tmp_path, "2024-03-31T03:30", "Europe/Copenhagen")["start_time"] == pd.Timestamp(
        "2024-03-31T01:30Z"
    )
    # Date-only on the short day: noon CEST.
    assert one(tmp_path, "2024-03-31", "Europe/Copenhagen")["start_time"] == pd.Timestamp(
        "2024-03-31T10:00Z"
    )


def test_copenhagen_fall_back(tmp_path):
    # 2024-10-27: clocks go back from 03:00 CEST to 02:00 CET; 02:30 happens twice.
    row = one(tmp_path, "2024-10-27T02:30", "Europe/Copenhagen")
    assert row["start_time"] == pd.Timestamp("2024-10-27T00:30Z")  # first occurrence (CEST)
    assert row["local_date"] == date(2024, 10, 27)
    assert one(tmp_path, "2024-10-27T01:30", "Europe/Copenhagen")["start_time"] == pd.Timestamp(
        "2024-10-26T23:30Z"
    )
    assert one(tmp_path, "2024-10-27T03:30", "Europe/Copenhagen")["start_time"] == pd.Timestamp(
        "2024-10-27T02:30Z"
    )


@pytest.mark.parametrize(
    ("tz", "expected"),
    [
        (ZoneInfo("Europe/Copenhagen"), "2024-05-01T05:00Z"),
        (3600, "2024-05-01T06:00Z"),
        (-5 * 3600, "2024-05-01T12:00Z"),
        (0, "2024-05-01T07:00Z"),
    ],
)
def test_tz_forms(tmp_path, tz, expected):
    assert one(tmp_path, "2024-05-01T07:00", tz)["start_time"] == pd.Timestamp(expected)


def test_default_tz_is_the_system_zone(tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    assert one(tmp_path, "2024-05-01T07:00", None)["start_time"] == pd.Timestamp(
        "2024-05-01T11:00Z"
    )


def test_explicit_offset_in_the_log_wins(tmp_path):
    row = one(tmp_path, "2024-05-01T07:00+02:00", "America/New_York")
    assert row["start_time"] == pd.Timestamp("2024-05-01T05:00Z")
    assert one(tmp_path, "2024-05-01T07:00Z", 7200)["start_time"] == pd.Timestamp(
        "2024-05-01T07:00Z"
    )


def test_unknown_tz(tmp_path):
    with pytest.raises(ValueError, match="time zone"):
        read_mobility_log(write(tmp_path, HEADER), tz="Mars/Olympus")


# ---------------------------------------------------------------------------------------------
# session ids
# ---------------------------------------------------------------------------------------------
def test_session_id_stable_across_rereads_and_paths(tmp_path):
    text = HEADER + "2024-05-01T07:00,20,hips,,a;b,,\n2024-05-02,15,calves,,,5,x\n"
    path = write(tmp_path, text)
    first = read_mobility_log(path, tz="Europe/Copenhagen").sessions["session_id"].tolist()
    again = read_mobility_log(path, tz="Europe/Copenhagen").sessions["session_id"].tolist()
    copy = tmp_path / "elsewhere.csv"
    shutil.copy(path, copy)
    moved = read_mobility_log(copy, tz="Europe/Copenhagen").sessions["session_id"].tolist()
    assert first == again == moved
    assert all(len(i) == 16 and int(i, 16) >= 0 for i in first)
    assert len(set(first)) == 2


def test_session_id_ignores_order_of_rows_regions_drills_and_notes(tmp_path):
    a = write(tmp_path, HEADER + "2024-05-01,20,hips;ankles,,a;b,,x\n2024-05-02,5,,,,,\n", "a.csv")
    b = write(tmp_path, HEADER + "2024-05-02,5,,,,,\n2024-05-01,20,ankle;hip,,b;a,7,y\n", "b.csv")
    ids_a = read_mobility_log(a, tz="UTC").sessions["session_id"].tolist()
    ids_b = read_mobility_log(b, tz="UTC").sessions["session_id"].tolist()
    assert ids_a == ids_b


def test_session_id_changes_with_content(tmp_path):
    base = read_mobility_log(write(tmp_path, HEADER + "2024-05-01,20,hips,,,,\n"), tz="UTC")
    for row in ("2024-05-01,21,hips,,,,", "2024-05-01,20,ankles,,,,", "2024-05-01,20,hips,,x,,"):
        other = read_mobility_log(write(tmp_path, HEADER + row + "\n"), tz="UTC")
        assert other.sessions["session_id"].iloc[0] != base.sessions["session_id"].iloc[0]


def test_duplicate_rows_counted_once_same_key_gets_suffix(tmp_path):
    text = HEADER + "2024-05-01,20,hips,,,,\n" * 3 + "2024-05-01,20,hips,,,,other note\n"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = read_mobility_log(write(tmp_path, text), tz="UTC")
    ids = res.sessions["session_id"].tolist()
    assert len(ids) == 2 and ids[1] == ids[0] + "-2"
    assert res.duplicates == [(3, 2), (4, 2)]


# ---------------------------------------------------------------------------------------------
# property: any well-formed log comes back exactly, bad rows are found on their lines
# ---------------------------------------------------------------------------------------------
note_text = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\x00"
    )
    | st.sampled_from([",", '"', "\n", ";", " "]),
    max_size=30,
)
log_rows = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=3000),  # day offset
        st.integers(min_value=0, max_value=1439),  # minute of day
        st.one_of(st.floats(min_value=0.5, max_value=600), st.just(0.0)),  # 0.0 = a bad row
        st.lists(st.sampled_from(REGIONS), max_size=3),
        note_text,
        st.booleans(),  # blank line before the row
    ),
    max_size=12,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=log_rows)
def test_roundtrip_and_line_numbers_property(tmp_path, rows):
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["date", "duration_min", "focus", "notes"])
    expected_good, expected_bad_lines = [], []
    seen = set()  # exact duplicate rows are counted once
    for day, minute, dur, regs, note, blank in rows:
        if blank:
            buf.write("\n")
        line = buf.getvalue().count("\n") + 1
        when = pd.Timestamp("2020-01-01") + pd.Timedelta(days=day, minutes=minute)
        writer.writerow([when.strftime("%Y-%m-%dT%H:%M"), repr(dur), ";".join(regs), note])
        key = (when, repr(dur), ";".join(regs), note.strip())
        if key in seen:
            continue
        seen.add(key)
        if dur == 0.0:
            expected_bad_lines.append(line)
        else:
            expected_good.append((when, dur, tuple(r for r in REGIONS if r in regs), note.strip()))
    path = write(tmp_path, buf.getvalue(), "prop.csv")
    result = read_quiet(path, tz="UTC", today=date(2030, 1, 1))
    assert [e.line for e in result.errors] == expected_bad_lines
    assert all(e.column == "duration_min" for e in result.errors)
    got = sorted(
        zip(
            result.sessions["start_time"].dt.tz_localize(None),
            result.sessions["duration_min"],
            result.sessions["regions"],
            result.sessions["notes"],
            strict=True,
        )
    )
    assert got == sorted(expected_good)
    validate_sessions(result.sessions)
