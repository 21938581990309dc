"""The synthetic FIT encoder, checked by decoding its output with fitdecode."""

from __future__ import annotations

import datetime as dt
import io
import time
from typing import Any

import fitdecode
import fitdecode.utils
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stridekeeper.synth.fitwrite import (
    FIT_EPOCH,
    FULL_TIMESTAMP_EVERY,
    RECORD_FIELDS,
    FitEncoder,
    SessionSpec,
    chain,
    encode_activity,
    fit_crc,
    summarize_spec,
    to_fit_time,
)

T0 = pd.Timestamp("2024-05-01T06:00:00Z")
SEMI = 2**31 / 180.0


# -- helpers ---------------------------------------------------------------------------


def frames(data: bytes) -> list[Any]:
    """Every frame, with header and file CRCs checked (raises on mismatch)."""
    with fitdecode.FitReader(io.BytesIO(data), check_crc=fitdecode.CrcCheck.RAISE) as fr:
        return list(fr)


def messages(data: bytes, name: str) -> list[fitdecode.FitDataMessage]:
    return [f for f in frames(data) if isinstance(f, fitdecode.FitDataMessage) and f.name == name]


def value(msg: fitdecode.FitDataMessage, name: str) -> Any:
    """A field's value (the first field of that name, not a component expansion)."""
    return msg.get_value(name, fallback=None)


def run_records(n: int = 600, *, start: pd.Timestamp = T0, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    idx = pd.date_range(start, periods=n, freq="1s", name="timestamp")
    speed = 3.2 + 0.3 * np.sin(np.arange(n) / 60)
    cad = 170 + rng.normal(0, 3, n)
    return pd.DataFrame(
        {
            "distance_m": np.cumsum(speed),
            "speed_mps": speed,
            "cadence_spm": cad,
            "step_length_m": speed / (cad / 60),
            "heart_rate_bpm": np.round(140 + 10 * rng.random(n)),
            "altitude_m": 420 + 5 * np.sin(np.arange(n) / 50),
            "latitude_deg": 47.3769 + np.arange(n) * 2e-5,
            "longitude_deg": 8.5417 - np.arange(n) * 1e-5,
            "vertical_oscillation_mm": 80 + rng.random(n) * 10,
            "stance_time_ms": 230 + rng.random(n) * 20,
            "power_w": np.round(250 + rng.normal(0, 10, n)),
            "temperature_c": 18.0,
        },
        index=idx,
    )


# -- CRC and header --------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 13, 2047, 2048, 5000, 70_001])
def test_crc_matches_fitdecode(n: int) -> None:
    assert fit_crc(b"") == 0
    data = np.random.default_rng(n).integers(0, 256, n, dtype=np.uint8).tobytes()
    assert fit_crc(data) == fitdecode.utils.compute_crc(data)
    assert fit_crc(data, crc=0x1234) == fitdecode.utils.compute_crc(data, crc=0x1234)


def test_header_and_file_crc() -> None:
    data = encode_activity([SessionSpec(records=run_records(60))])
    assert data[0] == 14 and data[1] == 0x20 and data[8:12] == b".FIT"
    assert int.from_bytes(data[4:8], "little") == len(data) - 16
    fr = frames(data)
    header = fr[0]
    assert isinstance(header, fitdecode.FitHeader)
    assert header.crc_matched and header.proto_ver == (2, 0)
    assert isinstance(fr[-1], fitdecode.FitCRC) and fr[-1].matched
    corrupt = bytearray(data)
    corrupt[100] ^= 0xFF
    with pytest.raises(fitdecode.FitCRCError):
        frames(bytes(corrupt))


# -- records ---------------------------------------------------------------------------


def test_record_fields_round_trip() -> None:
    df = run_records(600)
    data = encode_activity([SessionSpec(records=df)])
    recs = messages(data, "record")
    assert len(recs) == len(df)
    assert [value(r, "timestamp") for r in recs] == list(df.index.to_pydatetime())

    got = {
        name: np.array([value(r, name) for r in recs], dtype=float)
        for name in (
            "enhanced_speed", "speed", "enhanced_altitude", "distance", "heart_rate",
            "cadence", "fractional_cadence", "step_length", "position_lat",
            "position_long", "vertical_oscillation", "stance_time", "power", "temperature",
        )
    }  # fmt: skip
    spm = 2 * (got["cadence"] + got["fractional_cadence"])
    assert np.abs(spm - df["cadence_spm"]).max() <= 1 / 64
    assert (got["cadence"] == np.floor(df["cadence_spm"] / 2)).mean() > 0.95  # strides/min
    np.testing.assert_allclose(got["step_length"], df["step_length_m"] * 1000, atol=0.05)
    np.testing.assert_allclose(got["enhanced_speed"], df["speed_mps"], atol=5e-4)
    np.testing.assert_allclose(got["speed"], df["speed_mps"], atol=5e-4)
    np.testing.assert_allclose(got["enhanced_altitude"], df["altitude_m"], atol=0.1)
    np.testing.assert_allclose(got["distance"], df["distance_m"], atol=5e-3)
    np.testing.assert_array_equal(got["position_lat"], np.round(df["latitude_deg"] * SEMI))
    np.testing.assert_array_equal(got["position_long"], np.round(df["longitude_deg"] * SEMI))
    np.testing.assert_array_equal(got["heart_rate"], df["heart_rate_bpm"])
    np.testing.assert_allclose(
        got["vertical_oscillation"], df["vertical_oscillation_mm"], atol=0.05
    )
    np.testing.assert_allclose(got["stance_time"], df["stance_time_ms"], atol=0.05)
    np.testing.assert_array_equal(got["power"], df["power_w"])
    np.testing.assert_array_equal(got["temperature"], df["temperature_c"])
    # step_length is in mm with scale 10 on the raw value
    raw = recs[0].get_field("step_length").raw_value
    assert raw == round(df["step_length_m"].iloc[0] * 10_000)


def test_nan_is_invalid_and_absent_column_is_absent() -> None:
    df = run_records(30)[["distance_m", "speed_mps", "cadence_spm", "heart_rate_bpm"]].copy()
    df.iloc[5, df.columns.get_loc("heart_rate_bpm")] = np.nan
    df.iloc[7, df.columns.get_loc("cadence_spm")] = np.nan
    df.iloc[9, df.columns.get_loc("speed_mps")] = np.nan
    recs = messages(encode_activity([SessionSpec(records=df)]), "record")
    assert recs[5].has_field("heart_rate") and value(recs[5], "heart_rate") is None
    assert value(recs[7], "cadence") is None and value(recs[7], "fractional_cadence") is None
    assert value(recs[9], "enhanced_speed") is None
    assert value(recs[6], "heart_rate") is not None
    for absent in ("step_length", "power", "position_lat", "enhanced_altitude", "temperature"):
        assert not recs[0].has_field(absent)


def test_out_of_range_values_are_invalid() -> None:
    idx = pd.date_range(T0, periods=3, freq="1s")
    df = pd.DataFrame({"heart_rate_bpm": [-1.0, 300.0, 120.0], "altitude_m": [-600, 0, 1e9]}, idx)
    recs = messages(encode_activity([SessionSpec(records=df)]), "record")
    assert [value(r, "heart_rate") for r in recs] == [None, None, 120]
    assert [value(r, "enhanced_altitude") for r in recs] == [None, 0.0, None]


def test_pauses_write_timer_events_and_drop_records() -> None:
    df = run_records(600)
    pause = (T0 + pd.Timedelta(seconds=100), T0 + pd.Timedelta(seconds=160))
    spec = SessionSpec(records=df, pauses=[pause])
    data = encode_activity([spec])
    events = [(value(e, "event_type"), value(e, "timestamp")) for e in messages(data, "event")]
    assert events == [
        ("start", T0.to_pydatetime()),
        ("stop_all", pause[0].to_pydatetime()),
        ("start", pause[1].to_pydatetime()),
        ("stop_all", df.index[-1].to_pydatetime()),
    ]
    recs = messages(data, "record")
    times = pd.DatetimeIndex([value(r, "timestamp") for r in recs])
    assert len(recs) == 600 - 59
    assert not ((times > pause[0]) & (times < pause[1])).any()
    session = messages(data, "session")[0]
    assert value(session, "total_elapsed_time") == 599.0
    assert value(session, "total_timer_time") == 599.0 - 60.0
    assert summarize_spec(spec)["timer_time_s"] == 539.0


# -- summaries -------------------------------------------------------------------------


def test_session_summary_matches_summarize_spec() -> None:
    df = run_records(900)
    spec = SessionSpec(records=df, laps=[T0 + pd.Timedelta(seconds=300)])
    data = encode_activity([spec], utc_offset_s=7200)
    truth = summarize_spec(spec)
    s = messages(data, "session")[0]
    assert value(s, "sport") == "running" and value(s, "sub_sport") == "generic"
    assert value(s, "total_distance") == pytest.approx(truth["distance_m"])
    assert truth["distance_m"] == pytest.approx(df["distance_m"].iloc[-1], abs=0.01)
    assert value(s, "total_timer_time") == truth["timer_time_s"] == 899.0
    assert value(s, "total_elapsed_time") == truth["elapsed_time_s"]
    spm = 2 * (value(s, "avg_running_cadence") + value(s, "avg_fractional_cadence"))
    assert spm == pytest.approx(truth["avg_cadence_spm"])
    assert spm == pytest.approx(df["cadence_spm"].mean(), abs=1 / 32)
    assert value(s, "avg_step_length") / 1000 == pytest.approx(truth["avg_step_length_m"])
    assert truth["avg_step_length_m"] == pytest.approx(df["step_length_m"].mean(), abs=1e-4)
    assert value(s, "enhanced_avg_speed") == pytest.approx(truth["avg_speed_mps"])
    assert value(s, "total_strides") == truth["total_strides"]
    assert value(s, "num_laps") == 2 and value(s, "first_lap_index") == 0

    laps = messages(data, "lap")
    assert [value(lap, "total_elapsed_time") for lap in laps] == [300.0, 599.0]
    assert sum(value(lap, "total_distance") for lap in laps) == pytest.approx(truth["distance_m"])
    assert value(laps[0], "avg_running_cadence") is not None

    act = messages(data, "activity")[0]
    assert value(act, "num_sessions") == 1
    assert value(act, "total_timer_time") == 899.0
    assert value(act, "local_timestamp") - value(act, "timestamp") == dt.timedelta(hours=2)
    fid = messages(data, "file_id")[0]
    assert value(fid, "type") == "activity" and value(fid, "manufacturer") == "garmin"
    assert value(fid, "time_created") == T0.to_pydatetime()
    assert messages(data, "device_info")


def test_summary_counts_zero_cadence_and_is_time_weighted() -> None:
    idx = T0 + pd.to_timedelta([0, 1, 2, 3, 13, 14], unit="s")  # one 10-s gap
    df = pd.DataFrame({"cadence_spm": [180, 180, 180, 0, 160, 160]}, index=idx)
    truth = summarize_spec(SessionSpec(records=df))
    # weights: timer seconds until the next record, the last one the median (1 s)
    expected = (180 * 3 + 0 * 10 + 160 * 2) / 15
    assert truth["avg_cadence_spm"] == pytest.approx(expected, abs=1 / 64)


def test_step_length_without_per_record_values_is_distance_over_steps() -> None:
    idx = pd.date_range(T0, periods=601, freq="1s")
    df = pd.DataFrame({"distance_m": np.arange(601) * 3.0, "cadence_spm": 180.0}, index=idx)
    truth = summarize_spec(SessionSpec(records=df))
    # 601 samples of 1 s at 3 steps/s; 1800 m
    assert truth["avg_step_length_m"] == pytest.approx(1800 / (601 * 3), abs=1e-4)


def test_summary_overrides() -> None:
    spec = SessionSpec(
        records=run_records(120),
        summary_overrides={"total_distance": 5000.0, "avg_cadence": 85.25, "avg_step_length": None},
    )
    data = encode_activity([spec])
    s = messages(data, "session")[0]
    truth = summarize_spec(spec)
    assert value(s, "total_distance") == truth["distance_m"] == 5000.0
    assert value(s, "avg_running_cadence") == 85
    assert value(s, "avg_fractional_cadence") == 0.25
    assert truth["avg_cadence_spm"] == 170.5
    assert not s.has_field("avg_step_length") and np.isnan(truth["avg_step_length_m"])
    with pytest.raises(ValueError, match="unknown session field"):
        encode_activity([SessionSpec(records=run_records(5), summary_overrides={"nope": 1})])


# -- multisport, mobility, developer data ----------------------------------------------


def test_multisport_file_with_two_sessions() -> None:
    run = SessionSpec(records=run_records(300), laps=[T0 + pd.Timedelta(seconds=120)])
    t1 = T0 + pd.Timedelta(minutes=10)
    walk_df = run_records(200, start=t1)[["distance_m", "cadence_spm", "heart_rate_bpm"]].copy()
    walk_df["cadence_spm"] = 110.0
    walk = SessionSpec(sport="walking", sub_sport="casual_walking", records=walk_df)
    data = encode_activity([run, walk])
    sessions = messages(data, "session")
    assert [value(s, "sport") for s in sessions] == ["running", "walking"]
    assert [value(s, "first_lap_index") for s in sessions] == [0, 2]
    assert [value(s, "num_laps") for s in sessions] == [2, 1]
    assert [value(s, "start_time") for s in sessions] == [T0.to_pydatetime(), t1.to_pydatetime()]
    assert len(messages(data, "record")) == 500
    assert len(messages(data, "lap")) == 3
    assert value(messages(data, "activity")[0], "num_sessions") == 2
    types = [value(e, "event_type") for e in messages(data, "event")]
    assert types == ["start", "stop_all", "start", "stop_all"]
    walking = sessions[1]
    assert 2 * (value(walking, "avg_cadence") + value(walking, "avg_fractional_cadence")) == 110


def test_yoga_session_with_sets() -> None:
    idx = pd.date_range(T0, periods=1200, freq="1s")
    hr = pd.DataFrame({"heart_rate_bpm": 80.0}, index=idx)
    sets = [
        {"start_time": T0 + pd.Timedelta(seconds=60), "duration_s": 90, "category": "hip_stability",
         "repetitions": 12},
        {"start_time": T0 + pd.Timedelta(seconds=200), "duration_s": 60, "category": "plank"},
        {"start_time": T0 + pd.Timedelta(seconds=300), "duration_s": 45.5, "category": 5,
         "set_type": "rest"},
    ]  # fmt: skip
    spec = SessionSpec(sport="training", sub_sport="yoga", records=hr, sets=sets)
    data = encode_activity([spec])
    s = messages(data, "session")[0]
    assert value(s, "sport") == "training" and value(s, "sub_sport") == "yoga"
    assert not s.has_field("total_distance")
    got = messages(data, "set")
    assert [value(m, "category") for m in got] == ["hip_stability", "plank", "core"]
    assert [value(m, "duration") for m in got] == [90.0, 60.0, 45.5]
    assert [value(m, "repetitions") for m in got] == [12, None, None]
    assert [value(m, "set_type") for m in got] == ["active", "active", "rest"]
    assert value(got[0], "start_time") == (T0 + pd.Timedelta(seconds=60)).to_pydatetime()
    assert [value(m, "message_index") for m in got] == [0, 1, 2]


def test_session_with_sets_only() -> None:
    sets = [{"start_time": T0, "duration_s": 600, "category": "core"}]
    spec = SessionSpec(sport="training", sub_sport="flexibility_training", sets=sets)
    data = encode_activity([spec])
    assert not messages(data, "record")
    s = messages(data, "session")[0]
    assert value(s, "total_elapsed_time") == 600.0 == summarize_spec(spec)["elapsed_time_s"]
    assert value(s, "sub_sport") == "flexibility_training"


@pytest.mark.parametrize("mode", [True, "both"])
def test_developer_power_field(mode: bool | str) -> None:
    df = run_records(50)
    data = encode_activity([SessionSpec(records=df)], with_developer_power=mode)
    (dev_id,) = messages(data, "developer_data_id")
    assert value(dev_id, "developer_data_index") == 0
    (desc,) = messages(data, "field_description")
    assert value(desc, "field_name") == "Power" and value(desc, "units") == "Watts"
    recs = messages(data, "record")
    assert recs[0].def_mesg.is_developer_data
    assert [value(r, "Power") for r in recs] == df["power_w"].astype(int).tolist()
    assert recs[0].has_field("power") == (mode == "both")


# -- encodings: compressed timestamps, big-endian, chained -----------------------------


def test_compressed_timestamps() -> None:
    df = run_records(400)
    # gaps of 40 s (>= 32: needs a full timestamp) and 20 s, and a pause
    new_index = df.index.to_series()
    new_index.iloc[100:] += pd.Timedelta(seconds=40)
    new_index.iloc[200:] += pd.Timedelta(seconds=20)
    df.index = pd.DatetimeIndex(new_index, name="timestamp")
    pause = (df.index[300], df.index[300] + pd.Timedelta(seconds=30))
    spec = SessionSpec(records=df, pauses=[pause], laps=[df.index[250]])
    plain = encode_activity([spec])
    packed = encode_activity([spec], compressed_timestamps=True)
    assert len(packed) < len(plain)
    recs = messages(packed, "record")
    assert [value(r, "timestamp") for r in recs] == [
        value(r, "timestamp") for r in messages(plain, "record")
    ]
    compressed = [r.time_offset is not None for r in recs]
    assert sum(compressed) > 0.9 * len(recs)
    assert not compressed[0] and not compressed[100]  # start, 40-s gap
    runs = np.diff(np.flatnonzero(~np.array(compressed)))
    assert runs.max() <= FULL_TIMESTAMP_EVERY
    np.testing.assert_array_equal(
        [value(r, "heart_rate") for r in recs],
        [value(r, "heart_rate") for r in messages(plain, "record")],
    )


def test_big_endian_definitions() -> None:
    df = run_records(100)
    data = encode_activity([SessionSpec(records=df)], big_endian=True, with_developer_power="both")
    defs = [f for f in frames(data) if isinstance(f, fitdecode.FitDefinitionMessage)]
    assert defs and all(d.endian == ">" for d in defs)
    recs = messages(data, "record")
    little = messages(encode_activity([SessionSpec(records=df)]), "record")
    for name in ("timestamp", "distance", "enhanced_speed", "position_lat", "step_length", "power"):
        assert [value(r, name) for r in recs] == [value(r, name) for r in little]


def test_chained_files() -> None:
    a = encode_activity([SessionSpec(records=run_records(60))])
    b = encode_activity(
        [SessionSpec(records=run_records(90, start=T0 + pd.Timedelta(hours=3)))],
        compressed_timestamps=True,
    )
    fr = frames(chain(a, b))
    assert sum(isinstance(f, fitdecode.FitHeader) for f in fr) == 2
    assert sum(isinstance(f, fitdecode.FitCRC) and f.matched for f in fr) == 2
    recs = [f for f in fr if isinstance(f, fitdecode.FitDataMessage) and f.name == "record"]
    assert len(recs) == 150
    with pytest.raises(ValueError):
        chain(a, b"not a fit file")


def test_garmin_sdk_decodes_output() -> None:
    """The official FIT SDK (no compressed-timestamp support) agrees with fitdecode."""
    sdk = pytest.importorskip("garmin_fit_sdk")
    yoga_sets = [{"start_time": T0 + pd.Timedelta(hours=2), "duration_s": 30, "category": "plank"}]
    data = encode_activity(
        [
            SessionSpec(
                records=run_records(300),
                pauses=[(T0 + pd.Timedelta(seconds=50), T0 + pd.Timedelta(seconds=70))],
            ),
            SessionSpec(sport="training", sub_sport="yoga", sets=yoga_sets),
        ],
        big_endian=True,
        with_developer_power="both",
    )
    assert sdk.Decoder(sdk.Stream.from_byte_array(bytearray(data))).check_integrity()
    msgs, errors = sdk.Decoder(sdk.Stream.from_byte_array(bytearray(data))).read()
    assert errors == []
    assert len(msgs["record_mesgs"]) == 300 - 19
    assert len(msgs["session_mesgs"]) == 2 and msgs["set_mesgs"][0]["category"] == "plank"
    rec = msgs["record_mesgs"][0]
    assert rec["developer_fields"] == {0: rec["power"]}


# -- low-level encoder -----------------------------------------------------------------


@pytest.mark.parametrize("big_endian", [False, True])
def test_low_level_encoder_types(big_endian: bool) -> None:
    enc = FitEncoder()
    fields = [
        (0, "enum"), (1, "sint8"), (2, ("uint16", 3)), (3, ("string", 12)), (4, "float32"),
        (5, "uint64"), (6, ("byte", 4)), (7, "sint32"), (8, "float64"), (9, "uint32z"),
        (10, "sint16"),
    ]  # fmt: skip
    enc.define(3, 0xFF00, fields, big_endian=big_endian)
    values = [
        2,
        -5,
        [1, None, 65534],
        "héllo",
        1.5,
        2**63 + 7,
        b"\x01\x02\x03\x04",
        -(2**31),
        -2.25,
        7,
        -300,
    ]
    enc.write(3, values)
    enc.write(3, [None] * len(fields))
    enc.write(3, [None, None, None, None, float("nan"), None, None, None, np.nan, 0, None])
    msgs = [f for f in frames(enc.to_bytes()) if isinstance(f, fitdecode.FitDataMessage)]
    assert len(msgs) == 3
    got = [f.value for f in msgs[0].fields]
    assert got[:2] == [2, -5]
    assert tuple(got[2]) == (1, None, 65534)
    assert got[3] == "héllo" and got[4] == 1.5 and got[5] == 2**63 + 7
    assert bytes(got[6]) == b"\x01\x02\x03\x04"
    assert got[7:] == [-(2**31), -2.25, 7, -300]
    for m in msgs[1:]:
        vals = [f.value for f in m.fields]
        assert vals[2] == (None, None, None)
        assert all(v is None for i, v in enumerate(vals) if i != 2)


def test_low_level_compressed_timestamp_and_dev_fields() -> None:
    enc = FitEncoder()
    enc.define(0, 207, [(1, ("byte", 16)), (3, "uint8")])
    enc.write(0, [bytes(range(16)), 0])
    enc.define(
        0, 206, [(0, "uint8"), (1, "uint8"), (2, "uint8"), (3, ("string", 8)), (8, ("string", 4))]
    )
    enc.write(0, [0, 1, 0x88, "Eff", "%"])
    enc.define(1, 20, [(253, "uint32"), (3, "uint8")], dev_fields=[(1, "float32", 0)])
    enc.define(2, 20, [(3, "uint8")], dev_fields=[(1, "float32", 0)])
    t0 = 1_100_000_030  # & 0x1F == 30, so the next offsets wrap around
    enc.write(1, [t0, 100, 0.5])
    for dt_s in (1, 2, 5, 31):
        enc.write_compressed_timestamp(2, (t0 + dt_s) & 0x1F, [100 + dt_s, 0.25 * dt_s])
    recs = messages(enc.to_bytes(), "record")
    times = [value(r, "timestamp") for r in recs]
    expect = [FIT_EPOCH + pd.Timedelta(seconds=t0 + d) for d in (0, 1, 2, 5, 31)]
    assert times == [t.to_pydatetime() for t in expect]
    assert [value(r, "Eff") for r in recs] == [0.5, 0.25, 0.5, 1.25, 7.75]
    assert [value(r, "heart_rate") for r in recs] == [100, 101, 102, 105, 131]


def test_low_level_errors() -> None:
    enc = FitEncoder()
    with pytest.raises(ValueError, match="not defined"):
        enc.write(0, [1])
    with pytest.raises(ValueError, match="base type"):
        enc.define(0, 20, [(3, "uint9")])
    with pytest.raises(ValueError, match="0-15"):
        enc.define(16, 20, [(3, "uint8")])
    enc.define(5, 20, [(3, "uint8"), (4, ("string", 4))])
    with pytest.raises(ValueError, match="out of range"):
        enc.write(5, [256, "a"])
    with pytest.raises(ValueError, match="string"):
        enc.write(5, [1, "too long"])
    with pytest.raises(ValueError, match="0-3"):
        enc.write_compressed_timestamp(5, 3, [1, "a"])
    with pytest.raises(ValueError, match="fields"):
        enc.write(5, [1])


def test_high_level_input_errors() -> None:
    naive = pd.DataFrame({"cadence_spm": [170.0]}, index=pd.date_range("2024-01-01", periods=1))
    with pytest.raises(ValueError, match="tz-aware"):
        encode_activity([SessionSpec(records=naive)])
    df = run_records(5)
    with pytest.raises(ValueError, match="strictly increasing"):
        encode_activity([SessionSpec(records=df.iloc[::-1])])
    with pytest.raises(ValueError, match="unknown sport"):
        encode_activity([SessionSpec(sport="quidditch", records=df)])
    with pytest.raises(ValueError, match="lap"):
        encode_activity([SessionSpec(records=df, laps=[T0 - pd.Timedelta(seconds=1)])])
    with pytest.raises(ValueError, match="records or sets"):
        encode_activity([SessionSpec()])
    with pytest.raises(ValueError):
        encode_activity([])


def test_to_fit_time() -> None:
    assert to_fit_time("1989-12-31T00:00:01Z") == 1
    assert to_fit_time(dt.datetime(1990, 1, 1, tzinfo=dt.UTC)) == 86400
    idx = pd.DatetimeIndex(["2024-05-01T08:00:00.4+02:00"])
    assert to_fit_time(idx)[0] == to_fit_time(T0)


def test_one_hour_run_encodes_fast() -> None:
    spec = SessionSpec(records=run_records(3600))
    best = np.inf
    for _ in range(5):
        t = time.perf_counter()
        encode_activity([spec])
        best = min(best, time.perf_counter() - t)
    assert best < 0.1


# -- property test ---------------------------------------------------------------------

_RESOLUTION = {  # column -> (decoded field, tolerance in field units, factor to field units)
    "distance_m": ("distance", 0.005 + 1e-9, 1.0),
    "speed_mps": ("enhanced_speed", 0.0005 + 1e-9, 1.0),
    "altitude_m": ("enhanced_altitude", 0.1 + 1e-9, 1.0),
    "heart_rate_bpm": ("heart_rate", 0.5, 1.0),
    "step_length_m": ("step_length", 0.05 + 1e-9, 1000.0),
    "latitude_deg": ("position_lat", 0.5, SEMI),
    "longitude_deg": ("position_long", 0.5, SEMI),
    "vertical_oscillation_mm": ("vertical_oscillation", 0.05 + 1e-9, 1.0),
    "stance_time_ms": ("stance_time", 0.05 + 1e-9, 1.0),
    "power_w": ("power", 0.5, 1.0),
    "temperature_c": ("temperature", 0.5, 1.0),
}
_RANGES = {
    "distance_m": (0, 50_000), "speed_mps": (0, 8), "altitude_m": (-400, 4000),
    "heart_rate_bpm": (40, 220), "step_length_m": (0, 2), "latitude_deg": (-89, 89),
    "longitude_deg": (-179, 179), "vertical_oscillation_mm": (0, 150),
    "stance_time_ms": (100, 400), "power_w": (0, 800), "temperature_c": (-20, 45),
    "cadence_spm": (0, 250),
}  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(
    columns=st.lists(st.sampled_from(sorted(RECORD_FIELDS)), unique=True),
    n=st.integers(1, 250),
    seed=st.integers(0, 2**32 - 1),
    nan_frac=st.sampled_from([0.0, 0.1, 1.0]),
    compressed=st.booleans(),
    big_endian=st.booleans(),
    dev_power=st.booleans(),
)
def test_random_records_always_decode(
    columns: list[str],
    n: int,
    seed: int,
    nan_frac: float,
    compressed: bool,
    big_endian: bool,
    dev_power: bool,
) -> None:
    rng = np.random.default_rng(seed)
    steps = rng.choice([1, 1, 1, 2, 5, 31, 32, 45], size=n)
    idx = T0 + pd.to_timedelta(np.cumsum(steps), unit="s")
    df = pd.DataFrame(index=pd.DatetimeIndex(idx, name="timestamp"))
    for c in columns:
        lo, hi = _RANGES[c]
        v = rng.uniform(lo, hi, n)
        v[rng.random(n) < nan_frac] = np.nan
        df[c] = v
    data = encode_activity(
        [SessionSpec(records=df)],
        compressed_timestamps=compressed,
        big_endian=big_endian,
        with_developer_power=dev_power,
    )
    recs = messages(data, "record")
    assert len(recs) == n
    assert [value(r, "timestamp") for r in recs] == list(idx.to_pydatetime())
    for c in columns:
        x = df[c].to_numpy()
        if c == "cadence_spm":
            cad = [value(r, "cadence") for r in recs]
            frac = [value(r, "fractional_cadence") for r in recs]
            for xi, ci, fi in zip(x, cad, frac, strict=True):
                if np.isnan(xi):
                    assert ci is None and fi is None
                else:
                    assert abs(2 * (ci + fi) - xi) <= 1 / 64
            continue
        if c == "power_w" and dev_power:
            name, tol, factor = "Power", 0.5, 1.0
        else:
            name, tol, factor = _RESOLUTION[c]
        got = [value(r, name) for r in recs]
        for xi, gi in zip(x, got, strict=True):
            if np.isnan(xi):
                assert gi is None
            else:
                assert abs(gi - xi * factor) <= tol
    s = messages(data, "session")[0]
    assert value(s, "num_laps") == 1
