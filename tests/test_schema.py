"""validate_records: each way a table can break the canonical schema."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stridekeeper.errors import SchemaError, StridekeeperError
from stridekeeper.schema import validate_records


def _good(n: int = 5) -> pd.DataFrame:
    idx = pd.date_range("2026-01-01", periods=n, freq="s", tz="UTC", name="timestamp")
    return pd.DataFrame(
        {
            "elapsed_s": np.arange(n, dtype=float),
            "timer_s": np.arange(n, dtype=float),
            "timer_running": np.ones(n, dtype=bool),
            "distance_m": np.arange(n) * 3.0,
            "speed_mps": np.full(n, 3.0),
        },
        index=idx,
    )


def test_good_table_passes_unchanged() -> None:
    t = _good()
    assert validate_records(t) is t


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda t: t.tz_convert("Europe/Copenhagen"), "UTC"),
        (lambda t: t.tz_localize(None), "UTC"),
        (lambda t: t.rename_axis("time"), "named 'timestamp'"),
        (lambda t: t.iloc[[0, 2, 1, 3, 4]], "strictly increasing"),
        (lambda t: t.iloc[[0, 1, 1, 2]], "strictly increasing"),
        (lambda t: t.drop(columns="speed_mps"), "speed_mps"),
        (lambda t: t.assign(cad=1.0), "unknown records column 'cad'"),
        (lambda t: t.assign(speed_mps="fast"), "numeric"),
        (lambda t: t.assign(timer_running=1.0), "bool"),
        (lambda t: t.reset_index(drop=True), "DatetimeIndex"),
    ],
)
def test_broken_tables_raise_schema_error(breakage, message) -> None:
    with pytest.raises(SchemaError, match=message) as info:
        validate_records(breakage(_good()))
    assert isinstance(info.value, StridekeeperError) and isinstance(info.value, ValueError)


def test_developer_columns_allowed() -> None:
    validate_records(_good().assign(dev_power=200.0))


def test_run_from_columns_builds_its_frames_when_asked_and_pickles() -> None:
    import pickle

    import numpy as np

    from stridekeeper.io.records import record_columns
    from stridekeeper.schema import Run

    ts = np.arange(5, dtype=np.int64) * 1_000_000_000 + 1_700_000_000 * 10**9
    cols = record_columns(ts, {"speed_mps": np.full(5, 3.0), "cadence_spm": np.full(5, 170.0)})
    built = []

    def laps():
        built.append(1)
        return pd.DataFrame({"distance_m": [15.0]})

    run = Run(records=cols, laps=laps, meta={"sport": "running"})
    assert run.n_records == 5 and run.columns is cols and not built
    assert str(run.records.index.tz) == "UTC" and run.records["cadence_spm"].iloc[0] == 170.0
    assert run.laps["distance_m"].iloc[0] == 15.0 and built == [1]
    again = pickle.loads(pickle.dumps(run))
    assert again.records.equals(run.records) and again.laps.equals(run.laps)
    with pytest.raises(AttributeError):
        run.meta = {}
