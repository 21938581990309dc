"""A Strava export's planned routes are ignored, not failed."""

from __future__ import annotations

import pytest

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


def _strava_export(tmp_path, rows: list[str], files: dict[str, bytes]):
    import gzip
    import io
    import zipfile

    header = ("Activity ID,Activity Date,Activity Name,Activity Type,Elapsed Time,Distance,"
              "Filename,Moving Time,Distance\n")  # fmt: skip
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("activities.csv", header + "".join(rows))
        for name, data in files.items():
            zf.writestr(name, gzip.compress(data))
    p = tmp_path / "export_1.zip"
    p.write_bytes(buf.getvalue())
    return p


def test_strava_row_and_its_file_are_one_run_whatever_the_distances(tmp_path) -> None:
    """Item 7: the row names its file (activity id) and starts with it: the file wins, even
    when Strava's distance is 10 % off and its date an hour off (local time); a row
    starting in the same second as a file, with another distance, is that file too."""
    import pandas as pd

    from stridekeeper.io import read_runs
    from stridekeeper.library import Library, import_paths
    from stridekeeper.metrics import summarize
    from stridekeeper.synth.files import run_fit_bytes
    from stridekeeper.synth.runs import simulate_run

    t1, t2 = pd.Timestamp("2026-01-05T07:00Z"), pd.Timestamp("2026-01-07T07:00Z")
    fit1 = run_fit_bytes(simulate_run(start_time=t1, duration_s=1500, seed=1))
    fit2 = run_fit_bytes(simulate_run(start_time=t2, duration_s=1500, seed=2))
    (tmp_path / "one.fit").write_bytes(fit1)
    km1 = summarize(read_runs(tmp_path / "one.fit")[0])["distance_m"] / 1000
    rows = [
        # id 11 = activities/11.fit.gz; an hour late, 10 % long
        f'11,"Jan 5, 2026, 8:00:00 AM",Morning Run,Run,1500,{km1 * 1.1:.2f},'
        f"activities/11.fit.gz,1500,{km1 * 1100:.1f}\n",
        # id 12 has no file of that name, but starts in the file's second; 20 % short
        '12,"Jan 7, 2026, 7:00:00 AM",Run,Run,1500,3.00,,1500,3000.0\n',
        # id 13: no file at all: stays as a summary-only run
        '13,"Jan 9, 2026, 7:00:00 AM",Run,Run,1800,5.00,,1800,5000.0\n',
    ]
    export = _strava_export(tmp_path, rows, {"activities/11.fit.gz": fit1,
                                             "activities/2002.fit.gz": fit2})  # fmt: skip
    report = import_paths([export], tmp_path / "lib", jobs=1)
    assert report.failures == []
    assert report.superseded_summaries == 2
    runs = Library.open(tmp_path / "lib").runs().sort_values("start_time")
    assert len(runs) == 3  # two files and the row without one: no run stored twice
    assert list(runs["summary_only"]) == [False, False, True]
    assert runs["distance_m"].iloc[0] == pytest.approx(km1 * 1000)  # the file's distance
    # importing the same export again changes nothing
    again = import_paths([export], tmp_path / "lib", jobs=1)
    assert again.imported_runs == 0
    assert len(Library.open(tmp_path / "lib").runs()) == 3
