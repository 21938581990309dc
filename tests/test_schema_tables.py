"""The schema owns the tables: runs and mobility-session columns defined once, typed empties."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from stridekeeper.io.fit import read_fit
from stridekeeper.library.store import RUN_ID_COLUMNS
from stridekeeper.metrics import summarize
from stridekeeper.metrics.summary import SUMMARY_COLUMNS as SUMMARY_FROM_METRICS
from stridekeeper.schema import (
    LIBRARY_RUN_COLUMNS,
    MOBILITY_COLUMNS,
    MOBILITY_DTYPES,
    RUN_COLUMNS,
    SUMMARY_COLUMNS,
    empty_runs,
    empty_sessions,
    mobility_session_id,
    sessions_table,
    validate_sessions,
)
from stridekeeper.synth.files import run_fit_bytes
from stridekeeper.synth.runs import simulate_run


def test_summary_columns_are_the_schemas_and_every_run_column_has_unit_and_dtype() -> None:
    assert SUMMARY_FROM_METRICS is SUMMARY_COLUMNS
    assert list(RUN_COLUMNS) == [*SUMMARY_COLUMNS, *LIBRARY_RUN_COLUMNS]
    assert RUN_ID_COLUMNS == tuple(LIBRARY_RUN_COLUMNS)
    for name, col in RUN_COLUMNS.items():
        assert col.description and col.dtype, name
        # a name ending in a unit carries that unit
        for suffix, unit in (("_m", "m"), ("_s", "s"), ("_pct", "%"), ("_spm", "steps/min")):
            if name.endswith(suffix):
                assert col.unit == unit, name
    assert SUMMARY_COLUMNS["distance_m"] == "distance covered [m]"
    assert SUMMARY_COLUMNS["start_time"] == "session start (UTC)"


def test_summarize_gives_exactly_the_schema_columns_in_their_dtypes() -> None:
    (run,) = read_fit(run_fit_bytes(simulate_run(duration_s=1200, seed=3)))
    row = summarize(run)
    assert list(row.index) == list(SUMMARY_COLUMNS)
    for name, col in RUN_COLUMNS.items():
        if name not in row.index or row[name] is None:
            continue
        value = row[name]
        if col.dtype == "float64":
            assert isinstance(value, float | np.floating), name
        elif col.dtype == "int64":
            assert isinstance(value, int | np.integer), name
        elif col.dtype == "str":
            assert isinstance(value, str), name


def test_empty_runs_are_typed() -> None:
    empty = empty_runs()
    assert list(empty.columns) == list(RUN_COLUMNS)
    assert len(empty) == 0
    assert str(empty["start_time"].dtype) == "datetime64[us, UTC]"
    assert empty["distance_m"].dtype == np.float64
    assert empty["session_index"].dtype == np.int64
    assert empty["summary_only"].dtype == bool
    assert pd.api.types.is_string_dtype(empty["run_id"])
    assert list(empty_runs(["athlete", "nope", "run_id"]).columns) == ["athlete", "run_id"]


def test_empty_sessions_are_typed_and_valid() -> None:
    empty = empty_sessions()
    assert list(empty.columns) == list(MOBILITY_COLUMNS) == list(MOBILITY_DTYPES)
    assert str(empty["start_time"].dtype) == "datetime64[us, UTC]"
    assert empty["duration_min"].dtype == np.float64
    validate_sessions(empty)


def test_sessions_table_ids_order_and_types() -> None:
    t0 = pd.Timestamp("2026-03-02T18:00", tz="Europe/Berlin")
    base = {"local_date": dt.date(2026, 3, 2), "duration_min": 20.0, "regions": ("hips",),
            "planes": (), "drills": ("pigeon",), "rpe": np.nan, "source": "a.csv", "notes": ""}  # fmt: skip
    rows = [{**base, "start_time": t0 + pd.Timedelta(days=1)}, {**base, "start_time": t0},
            {**base, "start_time": t0}]  # fmt: skip
    table = sessions_table(rows, {"context": ["x", "y", "z"]})
    assert list(table.columns) == [*MOBILITY_COLUMNS, "context"]
    # sorted by start (stable), UTC, the repeat of one session numbered
    assert list(table["context"]) == ["y", "z", "x"]
    assert table["start_time"][0] == pd.Timestamp("2026-03-02T17:00", tz="UTC")
    first = mobility_session_id(
        pd.Timestamp("2026-03-02T17:00", tz="UTC"), 20.0, ["hips"], ["pigeon"]
    )
    assert list(table["session_id"][:2]) == [first, f"{first}-2"]
    # the id does not depend on the order of regions or drills
    assert mobility_session_id(t0, 5.0, ["hips", "calves"], []) == mobility_session_id(
        t0, 5.0, ["calves", "hips"], []
    )
    assert table["regions"][0] == ("hips",)  # tuples kept as objects
    validate_sessions(table[list(MOBILITY_COLUMNS)])
