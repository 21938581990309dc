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
