"""Issue 17 item 9: the report shows local start times and --units mi gives miles."""

from __future__ import annotations

import pandas as pd
import pytest

from stridekeeper.report.build import ReportInputs, build_report


def _runs() -> pd.DataFrame:
    start = pd.to_datetime(["2026-03-01T06:30Z", "2026-03-03T23:10Z", "2026-03-05T07:00Z"])
    return pd.DataFrame({
        "run_id": ["a", "b", "c"],
        "start_time": start,
        "utc_offset_s": [3600, -5 * 3600, None],  # Paris, New York, unknown (UTC)
        "distance_m": [10_000.0, 16_093.44, 5_000.0],
        "moving_time_s": [3000.0, 4828.032, 1500.0],
        "avg_speed_mps": [10_000 / 3000, 16_093.44 / 4828.032, 5000 / 1500],
        "running_cadence_spm": [170.0, 168.0, 172.0],
        "avg_step_length_m": [1.1, 1.2, 1.0],
        "stride_dropoff_pct": [2.0, None, 1.0],
        "stride_dropoff_ci95_low_pct": [1.0, None, 0.0],
        "stride_dropoff_ci95_high_pct": [3.0, None, 2.0],
        "dropoff_reason": [None, "too short", None],
    })  # fmt: skip


def _tables(units: str) -> dict[str, pd.DataFrame]:
    inp = ReportInputs(runs=_runs(), sessions=pd.DataFrame(columns=["start_time", "duration_min"]),
                       linked=None, analysis=None, example=None, since=None, until=None,
                       units=units)  # fmt: skip
    doc = build_report(inp, run_table=True)
    return {p.title: p.table for p in doc.pages if hasattr(p, "table")}


@pytest.mark.parametrize("units", ["km", "mi"])
def test_every_run_in_local_time_and_units(units: str) -> None:
    every = _tables(units)["Every run"]
    assert list(every["start (local)"]) == ["2026-03-01 07:30", "2026-03-03 18:10",
                                             "2026-03-05 07:00"]  # fmt: skip
    if units == "mi":
        # 10 km = 6.2 mi at 5:00 /km = 8:03 /mi; 16.09 km = 10 mi at 8:03 /mi
        assert list(every["mi"]) == ["6.2", "10.0", "3.1"]
        assert list(every["pace /mi"]) == ["8:03", "8:03", "8:03"]
    else:
        assert list(every["km"]) == ["10.0", "16.1", "5.0"]
        assert list(every["pace /km"]) == ["5:00", "5:00", "5:00"]


def test_notable_and_left_out_tables_follow_the_units() -> None:
    tables = _tables("mi")
    notable = tables["Notable runs"]
    assert {"start (local)", "mi", "pace /mi"} <= set(notable.columns)
    assert notable.loc[notable["why"].str.startswith("longest"), "mi"].tolist() == ["10.0"]
    left = tables["Runs the analysis left out"]
    assert left["start (local)"].tolist() == ["2026-03-03 18:10"] and left["mi"].tolist() == [
        "10.0"
    ]
    period = next(t for name, t in tables.items() if name.startswith("The period"))
    assert "mi" in period.columns and "km" not in period.columns
    assert pd.to_numeric(period["mi"]).sum() == pytest.approx(19, abs=1)  # 6.2 + 10 + 3.1
