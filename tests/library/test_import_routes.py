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
