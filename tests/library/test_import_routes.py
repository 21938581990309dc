"""A Strava export's planned routes are ignored, not failed."""

from __future__ import annotations

from stridekeeper.library.importer import _Item, _kind


def test_strava_routes_are_ignored_activities_are_not() -> None:
    assert _kind(_Item("export_123.zip!routes/9876.gpx")) == "ignore"
    assert _kind(_Item("export/routes/9876.gpx")) == "ignore"
    assert _kind(_Item("export_123.zip!activities/111.fit.gz")) == "activity"
    assert _kind(_Item("export_123.zip!activities/112.gpx")) == "activity"
    # named on the command line: always read, and a failure is reported
    assert _kind(_Item("routes/9876.gpx", explicit=True)) == "activity"


def test_file_and_csv_row_starting_together_are_one_activity() -> None:
    import pandas as pd

    from stridekeeper.library.importer import _same_activity

    t = pd.Timestamp("2024-05-01 07:00:00", tz="UTC")
    f = pd.Series({"start_time": t, "distance_m": 10_000.0})
    # the CSV says 10.5 km (5 % off): the same start second still makes it the same run
    assert _same_activity(pd.Series({"start_time": t, "distance_m": 10_500.0}), f)
    later = t + pd.Timedelta(seconds=60)
    assert _same_activity(pd.Series({"start_time": later, "distance_m": 10_100.0}), f)
    assert not _same_activity(pd.Series({"start_time": later, "distance_m": 10_500.0}), f)
