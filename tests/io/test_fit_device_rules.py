"""FIT files as real watches write them: unnamed developer fields, clock jumps, times."""

from __future__ import annotations

import struct
import warnings

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


def _dev_description_retyped(field_num: int, base_type: int) -> bytes:
    """The Stryd-like run with one string field of the developer field's description
    (3 = field_name, 8 = units; 16 bytes) declared as another base type: not text."""
    data = encode_activity([SessionSpec(records=_records())], with_developer_power=True)
    i = data.find(struct.pack("<H", 206))  # the field_description definition
    j = data.find(bytes([field_num, 16, 0x07]), i)
    assert i > 0 and j > i
    body = bytearray(data)
    body[j + 2] = base_type
    return _reseal(bytes(body))


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize("base_type", [0x02, 0x84, 0x8B])  # uint8, uint16, uint16z arrays
def test_a_developer_field_name_that_is_not_text_is_normalised(fast: bool, base_type: int) -> None:
    with pytest.warns(DataQualityWarning, match="name that isn't text"):
        (run,) = read_fit(_dev_description_retyped(3, base_type), fast=fast)
    assert (run.records["dev_0_0"] == 250).all()  # the samples are kept, under a stable name
    assert run.records["distance_m"].iloc[-1] == pytest.approx(300 * 3.2, rel=1e-3)


@pytest.mark.parametrize("fast", [True, False])
def test_developer_units_that_are_not_text_are_dropped(fast: bool) -> None:
    with pytest.warns(DataQualityWarning, match="aren't text; dropped"):
        (run,) = read_fit(_dev_description_retyped(8, 0x84), fast=fast)
    assert run.meta["dev_field_units"] == {"dev_power": ""}
    assert (run.records["dev_power"] == 250).all()


def _decoded(records: list[dict], events: list[dict], sessions: list[dict], laps=()):
    from stridekeeper.io.fit import DecodedFit, _Segment

    seg = _Segment(file_id={"manufacturer": "garmin", "product": "fr225", "type": "activity"},
                   sessions=sessions, laps=list(laps), records=records, events=events)  # fmt: skip
    return DecodedFit("mem.fit", "0" * 64, [seg], [])


def _rec(t: pd.Timestamp, dist: float) -> dict:
    return {"timestamp": t.to_pydatetime(), "distance": dist, "enhanced_speed": 3.0,
            "cadence": 85, "fractional_cadence": 0.0}  # fmt: skip


def _build(dec):
    from stridekeeper.io.fit import _build_runs

    return _build_runs(dec)


def test_clock_jump_mid_run_is_bridged_with_a_warning() -> None:
    """An FR225 whose clock jumped 20 days mid-run: every record is kept, time continuous."""
    jump = pd.Timedelta(days=20)
    t = [T0 + pd.Timedelta(seconds=i) for i in range(600)]
    t = t[:200] + [x + jump for x in t[200:]]
    recs = [_rec(x, 3.0 * i) for i, x in enumerate(t)]
    ev = [
        {"event": "timer", "event_type": "start", "timestamp": T0.to_pydatetime()},
        {"event": "timer", "event_type": "stop_all", "timestamp": t[-1].to_pydatetime()},
    ]
    sess = [{"sport": "running", "start_time": T0.to_pydatetime(), "total_elapsed_time": 200.0,
             "total_timer_time": 200.0, "timestamp": t[199].to_pydatetime()}]  # fmt: skip
    (run,) = _build(_decoded(recs, ev, sess))
    assert len(run.records) == 600
    assert run.records.index[-1] == T0 + pd.Timedelta(seconds=599)
    assert run.records["distance_m"].iloc[-1] == pytest.approx(3.0 * 599)
    assert any("clock jumped forward by 20.0 days" in w for w in run.meta["warnings"])
    assert run.meta["timer_time_s"] <= run.meta["elapsed_time_s"]


def test_records_after_a_summary_written_early_are_kept_or_counted() -> None:
    """A Suunto writes its session before the last lap: the lap's end extends the session;
    records beyond every structural end are counted in a warning, never dropped silently."""
    t = [T0 + pd.Timedelta(seconds=i) for i in range(900)]
    recs = [_rec(x, 3.0 * i) for i, x in enumerate(t)]
    ev = [{"event": "timer", "event_type": "start", "timestamp": T0.to_pydatetime()}]
    sess = [{"sport": "running", "start_time": T0.to_pydatetime(), "total_elapsed_time": 600.0,
             "total_timer_time": 600.0, "timestamp": t[600].to_pydatetime()}]  # fmt: skip
    laps = [{"start_time": t[600].to_pydatetime(), "timestamp": t[800].to_pydatetime(),
             "total_elapsed_time": 200.0}]  # fmt: skip
    (run,) = _build(_decoded(recs, ev, sess, laps))
    assert run.records.index[-1] == t[800]
    assert any("99 record(s) after the session's end" in w for w in run.meta["warnings"])


def test_timer_from_events_never_exceeds_elapsed() -> None:
    t = [T0 + pd.Timedelta(seconds=i) for i in range(300)]
    recs = [_rec(x, 3.0 * i) for i, x in enumerate(t)]
    ev = [
        {"event": "timer", "event_type": "start", "timestamp": T0.to_pydatetime()},
        {"event": "timer", "event_type": "stop_all", "timestamp": t[100].to_pydatetime()},
        {"event": "timer", "event_type": "start", "timestamp": t[150].to_pydatetime()},
        {"event": "timer", "event_type": "stop_all", "timestamp": t[299].to_pydatetime()},
    ]
    sess = [{"sport": "running", "start_time": T0.to_pydatetime(), "total_elapsed_time": 299.0,
             "total_timer_time": 249.0, "timestamp": t[299].to_pydatetime()}]  # fmt: skip
    (run,) = _build(_decoded(recs, ev, sess))
    assert run.meta["timer_time_s"] == pytest.approx(100 + 149)
    assert run.meta["elapsed_time_s"] == pytest.approx(299)


@pytest.mark.parametrize(
    ("speed", "cadence", "expect"),
    [(3.2, 170.0, "running"), (1.4, 110.0, "generic"), (8.0, 180.0, "generic")],
)  # fmt: skip
def test_generic_sport_run_is_read_as_running(speed: float, cadence: float, expect: str) -> None:
    """A run (3.2 m/s at 170 steps/min) recorded as generic is a run; a walk (1.4 m/s at
    110) and a ride (8 m/s at 90 rpm, read as 180) stay generic."""
    recs = _records(300, speed=speed, cadence=cadence)
    data = encode_activity([SessionSpec(records=recs, sport="generic")])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        (run,) = read_fit(data)
    assert run.meta["sport"] == expect
    if expect == "running":
        assert any("read as running" in w for w in run.meta["warnings"])
        assert run.records["cadence_spm"].median() == pytest.approx(cadence, abs=1)
