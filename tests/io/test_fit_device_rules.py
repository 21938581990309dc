"""FIT files as real watches write them: unnamed developer fields, clock jumps, times."""

from __future__ import annotations

import struct

import numpy as np
import pandas as pd
import pytest

from stridekeeper.errors import DataQualityWarning
from stridekeeper.io.fit import decode_fit, read_fit
from stridekeeper.synth.fitwrite import SessionSpec, encode_activity, fit_crc

T0 = pd.Timestamp("2024-05-01 07:00", tz="UTC")


def _records(n: int = 300, *, start: pd.Timestamp = T0, speed: float = 3.2,
             cadence: float = 170.0) -> pd.DataFrame:  # fmt: skip
    idx = pd.date_range(start, periods=n, freq="1s", name="timestamp")
    v = np.full(n, speed)
    return pd.DataFrame(
        {"distance_m": np.cumsum(v), "speed_mps": v, "cadence_spm": np.full(n, cadence),
         "power_w": np.full(n, 250.0)},
        index=idx,
    )  # fmt: skip


def _reseal(data: bytes) -> bytes:
    body = data[:-2]
    return body + struct.pack("<H", fit_crc(body))


def _unnamed_dev_file() -> bytes:
    """A run whose developer field description has no name (as RunScribe pods write)."""
    data = encode_activity([SessionSpec(records=_records())], with_developer_power=True)
    i = data.find(b"Power")
    assert i > 0
    body = bytearray(data)
    body[i : i + 5] = b"\0" * 5  # an all-zero string is FIT's "no value"
    return _reseal(bytes(body))


@pytest.mark.parametrize("fast", [True, False])
def test_unnamed_developer_field_gets_a_stable_name(fast: bool) -> None:
    data = _unnamed_dev_file()
    with pytest.warns(DataQualityWarning, match="no name"):
        (run,) = read_fit(data)
    assert "dev_0_0" in run.records
    assert (run.records["dev_0_0"] == 250).all()
    assert run.records["distance_m"].iloc[-1] == pytest.approx(300 * 3.2, rel=1e-3)
    assert any("dev_0_0" in w for w in run.meta["warnings"])
    # both decoders name it the same way
    seg = decode_fit(data, fast=fast).segments[0]
    assert seg.has_records
