"""Summary sources: Garmin Activities.csv and summarizedActivities.json, Strava activities.csv.

The files are written here with a known truth: Garmin and Strava exports are personal data,
so none is in ``realdata``. Headers follow real exports (English, US units, Danish).
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from stridekeeper.errors import DataQualityWarning, UnsupportedFormatError
from stridekeeper.io.garmin_export import (
    activity_sport,
    read_garmin_activities_csv,
    read_garmin_summary_json,
)
from stridekeeper.io.strava_export import read_strava_activities_csv
from stridekeeper.metrics import summarize
from stridekeeper.testing import check_run_conforms


def _quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        runs = fn(*args, **kw)
    for run in runs:
        check_run_conforms(run)
        assert run.meta["summary_only"] is True and run.records.empty
    return runs


# --------------------------------------------------------------------------- Activities.csv
EN_HEADER = ("Activity Type,Date,Favorite,Title,Distance,Calories,Time,Avg HR,Max HR,Aerobic TE,"
             "Avg Run Cadence,Max Run Cadence,Avg Pace,Best Pace,Total Ascent,Total Descent,"
             "Avg Stride Length,Avg Vertical Ratio,Avg Vertical Oscillation,"
             "Avg Ground Contact Time,Training Stress Score®,Avg Power,Max Power,Steps,"
             "Min Temp,Max Temp,Number of Laps,Moving Time,Elapsed Time,Min Elevation,"
             "Max Elevation")  # fmt: skip
# 10.00 km in 50:00 at 170 steps/min: 3.3333 m/s, one step = 3.3333 / (170/60) = 1.1765 m
EN_ROWS = [
    'Running,2024-05-04 07:31:10,false,"Copenhagen Running","10.00","712","00:50:00","151",'
    '"172","3.4","170","188","5:00","4:11","52","50","1.18","8.1","9.4","244","--","--",'
    '"--","8,500","18.0","22.0","10","00:49:30","00:51:10","2","29"',
    'Trail Running,2024-05-05 09:00:00,false,"Trail","12.50","900","01:15:00","148","170",'
    '"3.0","166","190","6:00","4:30","320","318","1.00","--","--","--","--","--","--","--",'
    '"--","--","13","01:14:00","01:20:00","10","180"',
    'Strength,2024-05-06 18:00:00,false,"Gym","0.00","210","00:40:00","110","150","1.0",'
    '"--","--","--","--","--","--","0.00","--","--","--","--","--","--","--","--","--","1",'
    '"00:40:00","00:40:00","--","--"',
]
# statute: 5.00 mi in 41:40 at 170 steps/min -> 3.2187 m/s, one step 1.1360 m = 3.727 ft
US_ROW_FT = ('Running,2024-05-04 07:31:10,false,"Chicago Running","5.00","520","00:41:40",'
             '"151","172","3.4","170","188","8:20","6:11","171","164","3.73","8.1","9.4","244",'
             '"--","--","--","8,500","--","--","5","00:41:00","00:42:00","590","640"')  # fmt: skip
# the 2017 US export wrote stride length in metres under "Avg Cadence" headers
US_2017 = ("Activity Type,Date,Favorite,Title,Distance,Calories,Time,Avg HR,Max HR,Aerobic TE,"
           "Avg Cadence,Max Cadence,Avg Pace,Best Pace,Elev Gain,Elev Loss,Avg Stride Length,"
           "Avg Vertical Ratio,Avg Vertical Oscillation,Avg Ground Contact Time,Avg GCT Balance,"
           "Avg Cadence,Max Cadence\n"
           'running,2017-07-09 09:47:33,false,"Glenview Running","5.00","1,067","41:40","--",'
           '"--","0.0","170","175","8:20","4:47","65","65","1.14","0.0","0.0","--","--","--",'
           '"--"\n'
           'street_running,2017-06-24 08:00:47,false,"5k","3.11","327","21:05","--","--","0.0",'
           '"179","190","6:47","5:27","36","38","1.32","0.0","0.0","--","--","--","--"\n')  # fmt: skip
DA_HEADER = ("Aktivitetstype,Dato,Favorit,Titel,Distance,Kalorier,Tid,Gennemsnitlig puls,"
             "Maks. puls,Gennemsnit kadence løb,Maksimum kadence løb,Gennemsnitstempo,"
             "Bedste tempo,Højdeforøgelse,Højdereduktion,Gennemsnitlig skridtlængde,"
             "Gennemsnitligt vertikalt forhold,Gennemsnitligt vertikalt udsving,"
             "Training Stress Score®,Hårdhed,Flow,Bundtid,Minimum temperatur,"
             "Overfladeinterval,Dekompression,Tid for bedste omgang,Antal løb,"
             "Maksimum temperatur")  # fmt: skip
DA_ROW = ('Løb,2024-03-02 15:05:08,false,"Aarhus Løb","8.00","560","00:42:30","150","167",'
          '"168","201","5:19","4:15","69","68","1.12","0.0","0.0","0.0","0.0","0.0","0:00",'
          '"0.0","0:00","Nej","01:46.70","8","0.0"')  # fmt: skip


def test_english_metric_activities_csv() -> None:
    data = (EN_HEADER + "\n" + "\n".join(EN_ROWS) + "\n").encode()
    runs = _quiet(read_garmin_activities_csv, data, name="Activities.csv", tz="Europe/Copenhagen")
    assert [r.sport for r in runs] == ["running", "running", "strength"]
    assert runs[1].meta["sub_sport"] == "trail"
    run = runs[0]
    dev = run.meta["device_summary"]
    assert dev["distance_m"] == 10000.0
    assert dev["timer_time_s"] == 3000.0
    assert dev["moving_time_s"] == 2970.0 and dev["elapsed_time_s"] == 3070.0
    assert dev["avg_cadence_spm"] == 170.0  # Avg Run Cadence is steps/min already
    assert dev["avg_step_length_m"] == 1.18  # Avg Stride Length: one step, metres
    assert dev["total_strides"] == 4250.0  # Steps "8,500" / 2
    assert dev["total_ascent_m"] == 52.0 and dev["avg_temperature_c"] == 20.0
    assert math.isnan(runs[2].meta["device_summary"]["avg_cadence_spm"] or math.nan)
    # local wall-clock time, read in the given zone (CEST = UTC+2 in May)
    assert run.start_time == pd.Timestamp("2024-05-04T05:31:10Z")
    assert run.meta["utc_offset_s"] == 7200
    assert run.meta["units"]["distance"] == "km" and run.meta["units"]["step_length"] == "m"
    assert runs[0].meta["session_index"] == 0 and runs[2].meta["session_index"] == 2
    only = _quiet(read_garmin_activities_csv, data, tz=0, sport="running")
    assert len(only) == 2


def test_us_activities_csv_units_found_from_the_rows() -> None:
    (run,) = _quiet(read_garmin_activities_csv, (EN_HEADER + "\n" + US_ROW_FT + "\n").encode(),
                    tz="America/Chicago")  # fmt: skip
    dev = run.meta["device_summary"]
    assert run.meta["units"]["distance"] == "mi" and run.meta["units"]["step_length"] == "ft"
    assert dev["distance_m"] == pytest.approx(5 * 1609.344)
    assert dev["avg_step_length_m"] == pytest.approx(3.73 * 0.3048)
    assert dev["total_ascent_m"] == pytest.approx(171 * 0.3048)
    runs = _quiet(read_garmin_activities_csv, US_2017.encode(), tz="America/Chicago")
    assert runs[0].meta["units"]["distance"] == "mi" and runs[0].meta["units"]["step_length"] == "m"
    assert runs[0].meta["device_summary"]["avg_cadence_spm"] == 170  # first "Avg Cadence"
    assert runs[0].meta["device_summary"]["timer_time_s"] == 2500  # "41:40" is mm:ss
    assert runs[1].meta["sub_sport"] == "street"


def test_danish_activities_csv() -> None:
    (run,) = _quiet(read_garmin_activities_csv, (DA_HEADER + "\n" + DA_ROW + "\n").encode(),
                    tz="Europe/Copenhagen")  # fmt: skip
    assert run.sport == "running"  # "Løb"
    dev = run.meta["device_summary"]
    assert dev["distance_m"] == 8000.0 and dev["timer_time_s"] == 2550.0
    assert dev["avg_cadence_spm"] == 168.0 and dev["avg_step_length_m"] == 1.12
    assert dev["total_ascent_m"] == 69.0
    assert run.start_time == pd.Timestamp("2024-03-02T14:05:08Z")
    row = summarize(run)
    assert row["avg_speed_mps"] == pytest.approx(8000 / 2550)


def test_units_unknown_without_stride_rows_are_assumed_metric() -> None:
    header = "Activity Type,Date,Title,Distance,Time"
    with pytest.warns(DataQualityWarning, match="units='statute'"):
        (run,) = read_garmin_activities_csv(f"{header}\nRunning,2024-01-01 10:00:00,x,5.0,"
                                            "00:25:00\n".encode(), tz=0)  # fmt: skip
    assert run.meta["device_summary"]["distance_m"] == 5000.0
    (us,) = _quiet(read_garmin_activities_csv,
                   f"{header}\nRunning,2024-01-01 10:00:00,x,5.0,00:25:00\n".encode(), tz=0,
                   units="statute")  # fmt: skip
    assert us.meta["device_summary"]["distance_m"] == pytest.approx(8046.72)


@pytest.mark.parametrize(("text", "sport", "sub"), [
    ("Running", "running", None), ("Løb", "running", None), ("Trail Running", "running", "trail"),
    ("Treadmill Running", "running", "treadmill"), ("Løbebånd", "running", "treadmill"),
    ("Løping", "running", None), ("Walking", "walking", None), ("Cykling", "cycling", None),
    ("Virtual Run", "running", "virtual_activity"), ("Yoga", "yoga", None), ("--", None, None),
])  # fmt: skip
def test_activity_types_in_several_languages(text: str, sport: str, sub: str | None) -> None:
    assert activity_sport(text) == (sport, sub)


def test_not_an_activities_csv() -> None:
    with pytest.raises(UnsupportedFormatError, match="not a Garmin Connect Activities.csv"):
        read_garmin_activities_csv(b"date,duration_min\n2024-01-01,20\n", name="log.csv")


# --------------------------------------------------------------------------- JSON
def _garmin_activity(**over) -> dict:
    act = {
        "activityId": 12345678901, "name": "Aarhus Løb", "activityType": "running",
        "sportType": "RUNNING", "timeZoneId": 124,
        "startTimeGmt": 1709388308000.0,  # 2024-03-02T14:05:08Z
        "startTimeLocal": 1709391908000.0,  # +1 h
        "duration": 3000000.0, "elapsedDuration": 3100000.0, "movingDuration": 2990000.0,
        "distance": 1000000.0, "avgSpeed": 0.3333333, "avgDoubleCadence": 170.0,
        "avgRunCadence": 85.0, "avgStrideLength": 117.65, "steps": 8500,
        "elevationGain": 4520.0, "avgHr": 150.0, "minTemperature": 18.0,
        "maxTemperature": 22.0, "manufacturer": "GARMIN",
    }  # fmt: skip
    act.update(over)
    return act


def test_summarized_activities_json_units() -> None:
    doc = [{"summarizedActivitiesExport": [
        _garmin_activity(),
        _garmin_activity(activityId=2, activityType="treadmill_running", avgDoubleCadence=None,
                         avgRunCadence=86.5),
        _garmin_activity(activityId=3, activityType="lap_swimming", sportType="SWIMMING",
                         avgDoubleCadence=None, avgRunCadence=None, avgStrideLength=None),
    ]}]  # fmt: skip
    runs = _quiet(read_garmin_summary_json, json.dumps(doc).encode(), name="sum.json")
    assert [r.sport for r in runs] == ["running", "running", "lap_swimming"]
    run = runs[0]
    dev = run.meta["device_summary"]
    assert dev["distance_m"] == 10000.0  # cm
    assert dev["timer_time_s"] == 3000.0  # ms
    assert dev["elapsed_time_s"] == 3100.0 and dev["moving_time_s"] == 2990.0
    assert dev["avg_speed_mps"] == pytest.approx(3.333333)  # cm/ms x 10
    assert dev["avg_cadence_spm"] == 170.0
    assert dev["avg_step_length_m"] == pytest.approx(1.1765)  # cm, one step
    assert dev["total_ascent_m"] == pytest.approx(45.2)
    assert run.start_time == pd.Timestamp("2024-03-02T14:05:08Z")
    assert run.meta["utc_offset_s"] == 3600
    assert runs[1].meta["device_summary"]["avg_cadence_spm"] == 173.0  # 2 x avgRunCadence
    assert runs[1].meta["sub_sport"] == "treadmill"
    assert runs[2].meta["device_summary"]["avg_cadence_spm"] is None
    assert [r.meta["session_index"] for r in runs] == [0, 1, 2]


def test_json_that_is_not_a_garmin_summary() -> None:
    with pytest.raises(UnsupportedFormatError, match="not Garmin's summarized"):
        read_garmin_summary_json(b'{"gender": "x"}', name="profile.json")
    with pytest.raises(UnsupportedFormatError):
        read_garmin_summary_json(b"[]", name="sleep.json")


# --------------------------------------------------------------------------- Strava
STRAVA_HEADER = (
    "Activity ID,Activity Date,Activity Name,Activity Type,Activity Description,Elapsed Time,"
    "Distance,Max Heart Rate,Relative Effort,Commute,Activity Private Note,Activity Gear,"
    "Filename,Athlete Weight,Bike Weight,Elapsed Time,Moving Time,Distance,Max Speed,"
    "Average Speed,Elevation Gain,Elevation Loss,Elevation Low,Elevation High,Max Grade,"
    "Average Grade,Average Positive Grade,Average Negative Grade,Max Cadence,Average Cadence,"
    "Max Heart Rate,Average Heart Rate,Max Watts,Average Watts,Calories,Max Temperature,"
    "Average Temperature,Relative Effort,Total Work,Number of Runs,Uphill Time,Downhill Time,"
    "Other Time,Perceived Exertion,Type,Start Time,Weighted Average Power,Power Count,"
    "Prefer Perceived Exertion,Perceived Relative Effort,Commute,Total Weight Lifted,"
    "From Upload,Grade Adjusted Distance,Timer Time,Total Steps"
)  # fmt: skip


def _strava_row(id_: int, date: str, type_: str, display: str, metres: float, elapsed: int,
                moving: int, speed: float, cad: str, filename: str) -> str:  # fmt: skip
    cells = [str(id_), f'"{date}"', "Afternoon Run", type_, "", str(elapsed), display, "181.0",
             "96.0", "false", "", "", filename, "", "", f"{elapsed}.0", f"{moving}.0",
             f"{metres}", "4.8", f"{speed}", "52.0", "50.0", "3.0", "30.0", "9.1", "0.01",
             "", "", "92.0", cad, "181.0", "152.3", "", "", "650", "", "17.0", "96.0", "", "",
             "", "", "", "", "", "", "", "", "", "", "0.0", "", "1.0", f"{metres + 30}",
             f"{moving}.0", "13600"]  # fmt: skip
    return ",".join(cells)


def test_strava_activities_csv() -> None:
    rows = [
        _strava_row(4152069421, "Oct 7, 2020, 2:43:11 PM", "Run", "8.03", 8032.3, 2838, 2747,
                    2.924, "84.5", "activities/4152069421.fit.gz"),
        _strava_row(4152069422, "Oct 8, 2020, 6:00:00 AM", "Ride", "31.1", 31100.0, 3600,
                    3500, 8.9, "88.0", ""),
    ]  # fmt: skip
    data = (STRAVA_HEADER + "\n" + "\n".join(rows) + "\n").encode()
    runs = _quiet(read_strava_activities_csv, data, name="activities.csv")
    assert [r.sport for r in runs] == ["running", "cycling"]
    run = runs[0]
    dev = run.meta["device_summary"]
    assert dev["distance_m"] == pytest.approx(8032.3)  # the metres column, not display km
    assert dev["elapsed_time_s"] == 2838 and dev["timer_time_s"] == 2747
    assert dev["avg_speed_mps"] == pytest.approx(2.924)
    assert dev["avg_cadence_spm"] == 169.0  # one foot doubled
    assert dev["avg_step_length_m"] is None  # Strava has none
    assert dev["total_strides"] == 6800.0
    assert run.start_time == pd.Timestamp("2020-10-07T14:43:11Z")  # UTC as written
    assert run.meta["linked_file"] == "activities/4152069421.fit.gz"
    assert run.meta["display_distance_unit"] == "km"
    assert run.meta["cadence_convention"]["decision"] == "per_foot_doubled"
    assert runs[1].meta["linked_file"] is None
    assert runs[1].meta["device_summary"]["avg_cadence_spm"] is None  # rpm, not steps
    miles = (STRAVA_HEADER + "\n" + _strava_row(1, "Oct 7, 2020, 2:43:11 PM", "Run", "4.99",
             8032.3, 2838, 2747, 2.924, "84.5", "") + "\n").encode()  # fmt: skip
    assert _quiet(read_strava_activities_csv, miles)[0].meta["display_distance_unit"] == "mi"


def test_strava_rows_without_figures_are_skipped() -> None:
    data = (b"Activity ID,Activity Date,Activity Name,Activity Type,Filename\n"
            b'11,"Jan 5, 2026, 7:00:00 AM",Run,Run,activities/11.fit.gz\n')  # fmt: skip
    with pytest.warns(DataQualityWarning, match="without distance or duration"):
        assert read_strava_activities_csv(data) == []


# --------------------------------------------------------------------------- summarize
def test_summarize_reports_a_summary_only_run() -> None:
    (run,) = _quiet(read_garmin_summary_json, json.dumps([_garmin_activity()]).encode())
    row = summarize(run)
    assert row["distance_m"] == 10000.0
    assert row["timer_time_s"] == 3000.0 and row["elapsed_time_s"] == 3100.0
    assert row["moving_time_s"] == 2990.0
    assert row["avg_speed_mps"] == pytest.approx(3.333333)
    assert row["avg_cadence_spm"] == 170.0
    assert row["avg_step_length_m"] == pytest.approx(1.1765)
    assert row["avg_stride_length_m"] == pytest.approx(2.353)
    assert row["step_length_source"] == "summary"
    assert row["dropoff_reason"] == "summary only"
    assert np.isnan(row["stride_dropoff_pct"]) and np.isnan(row["running_cadence_spm"])
    assert row["elevation_gain_m"] == pytest.approx(45.2)
    # Strava gives no step length: derived from its speed and cadence
    data = (STRAVA_HEADER + "\n" + _strava_row(1, "Oct 7, 2020, 2:43:11 PM", "Run", "8.03",
            8032.3, 2838, 2747, 2.924, "84.5", "") + "\n").encode()  # fmt: skip
    row = summarize(_quiet(read_strava_activities_csv, data)[0])
    assert row["avg_step_length_m"] == pytest.approx(2.924 / (169 / 60))
    assert row["step_length_source"] == "derived (summary)"
