"""The columnar FIT decoder gives fitdecode's values, or says why it leaves a file to it.

Every file is decoded both ways: fitdecode's ``FitReader`` (collected the way
``io.fit.decode_fit`` collects it: ``_message_dict`` per message, ``dev_<name>`` developer
columns) and :func:`decode_fit_columnar`. Either the two agree exactly (row counts, column
names, values to 1e-9 relative with NaN == None/invalid, and the session/lap/event/...
dicts) or the fast path returned ``None`` and logged why.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import math
import random
import struct
import warnings
from pathlib import Path
from typing import Any

import fitdecode
import numpy as np
import pandas as pd
import pytest
from fitdecode import profile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stridekeeper.io.fit import _COLUMNAR_MESSAGES as COLUMNAR_MESSAGES
from stridekeeper.io.fit import _message_dict, _num, _snake
from stridekeeper.io.fit_columnar import (
    DEFAULT_MESSAGES,
    MISSING_TIMESTAMP,
    ColumnarFit,
    decode_fit_columnar,
)
from stridekeeper.synth.fitwrite import (
    BASE_TYPES,
    RECORD_FIELDS,
    FitEncoder,
    SessionSpec,
    chain,
    encode_activity,
    fit_crc,
)

LOGGER = "stridekeeper.io.fit_columnar"
_FIT_EPOCH_S = 631_065_600
_HYPOTHESIS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


# --------------------------------------------------------------------------- reference
def fitdecode_reference(
    data: bytes, partial: bool = False
) -> tuple[list[dict[str, Any]] | None, list[str]]:
    """Segments as io.fit.decode_fit collects them, and fitdecode's complaints.

    Returns ``(None, complaints)`` when fitdecode raised, or with ``partial``, the
    segments read before it raised and, last among the complaints,
    ``"<offset> <exception type>: <message>"``.
    """
    segments: list[dict[str, Any]] = []
    dev_names: dict[tuple[int, int], str] = {}
    reader = fitdecode.FitReader(
        io.BytesIO(data),
        check_crc=fitdecode.CrcCheck.WARN,
        error_handling=fitdecode.ErrorHandling.WARN,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            for frame in reader:
                if isinstance(frame, fitdecode.FitHeader):
                    segments.append({"records": [], "messages": {}, "dev_units": {}})
                    dev_names = {}
                    continue
                if not isinstance(frame, fitdecode.FitDataMessage):
                    continue
                seg = segments[-1]
                if frame.name != "record":
                    if frame.name in DEFAULT_MESSAGES:
                        seg["messages"].setdefault(frame.name, []).append(_message_dict(frame))
                    continue
                rec = _message_dict(frame)
                for fd in frame.fields:  # as io.fit.decode_fit names developer fields
                    if getattr(fd.field_def, "is_dev", False) and fd.value is not None:
                        key = (fd.field_def.dev_data_index, fd.field_def.def_num)
                        col = dev_names.get(key)
                        if col is None:
                            col = "dev_" + _snake(str(fd.name))
                            if col in dev_names.values():
                                col = f"{col}_{key[0]}"
                            dev_names[key] = col
                            seg["dev_units"][col] = str(getattr(fd, "units", "") or "")
                        rec[col] = fd.value
                seg["records"].append(rec)
        except Exception as exc:  # fitdecode raises many types on damaged bytes
            if partial:
                where = f"{getattr(exc, 'offset', None)} {type(exc).__name__}: {exc}"
                return segments, [str(w.message) for w in caught] + [where]
            return None, [f"{type(exc).__name__}: {exc}"]
    return segments, [str(w.message) for w in caught]


def _fit_seconds(value: Any) -> int:
    if value is None:
        return MISSING_TIMESTAMP
    if isinstance(value, dt.datetime):
        return round(value.timestamp()) - _FIT_EPOCH_S
    return int(value)


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9)
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def assert_same(ref: list[dict[str, Any]], fast: ColumnarFit) -> None:
    """The columnar result holds exactly what fitdecode gave."""
    assert len(fast.segments) == len(ref)
    for k, (r, f) in enumerate(zip(ref, fast.segments, strict=True)):
        rows = r["records"]
        assert f.n_records == len(rows), f"segment {k}: record count"
        keys = set().union(*rows) if rows else set()
        assert set(f.records) == keys, f"segment {k}: columns"
        for key, got in f.records.items():
            assert len(got) == len(rows)
            if key == "timestamp":
                assert got.dtype == np.int64
                want_ts = np.array([_fit_seconds(x.get(key)) for x in rows], dtype=np.int64)
                np.testing.assert_array_equal(got, want_ts, err_msg=f"segment {k}: timestamp")
                continue
            assert got.dtype == np.float64
            want = np.array([_num(x.get(key)) for x in rows], dtype=np.float64)
            np.testing.assert_allclose(got, want, rtol=1e-9, atol=0, err_msg=f"seg {k}: {key}")
        assert f.dev_units == r["dev_units"]
        assert set(f.messages) == set(r["messages"]), f"segment {k}: message names"
        for name, msgs in r["messages"].items():
            assert len(f.messages[name]) == len(msgs), f"segment {k}: {name} count"
            for i, (want_msg, got_msg) in enumerate(zip(msgs, f.messages[name], strict=True)):
                assert got_msg.keys() == want_msg.keys(), f"segment {k}: {name}[{i}]"
                for field_name, value in want_msg.items():
                    assert _same_value(got_msg[field_name], value), (name, i, field_name)


def check(data: bytes, caplog: pytest.LogCaptureFixture, name: str = "test.fit") -> bool:
    """Decode both ways; True if the fast path decoded the file (and agreed).

    A file the fast path leaves to fitdecode must have its reason logged.
    """
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        fast = decode_fit_columnar(data, name=name)
    ref, complaints = fitdecode_reference(data)
    if fast is None:
        assert any(name in m and "fitdecode instead" in m for m in caplog.messages), (
            "routed to fitdecode without a logged reason"
        )
        return False
    assert ref is not None, f"fitdecode failed where the fast path did not: {complaints}"
    assert not complaints, f"fitdecode complained where the fast path did not: {complaints}"
    assert_same(ref, fast)
    return True


def _reason(data: bytes, caplog: pytest.LogCaptureFixture, **kw: Any) -> str:
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        assert decode_fit_columnar(data, name="x.fit", **kw) is None
    return " ".join(caplog.messages)


# --------------------------------------------------------------------------- real files
def _reference_of(dec: Any) -> list[dict[str, Any]] | None:
    """The reference of :func:`assert_same` from io.fit's fitdecode decode of a file (the
    one the session shares between the real-data sweeps), None if fitdecode failed."""
    if isinstance(dec, Exception):
        return None
    out = []
    for seg in dec.segments:
        msgs: dict[str, list[dict[str, Any]]] = {}
        for mname, got in (("file_id", [seg.file_id] if seg.file_id else []),
                           ("session", seg.sessions), ("lap", seg.laps), ("event", seg.events),
                           ("activity", [seg.activity] if seg.activity else []),
                           ("set", seg.sets), ("sport", seg.sports)):  # fmt: skip
            if got:
                msgs[mname] = list(got)
        out.append({"records": seg.records, "messages": msgs, "dev_units": seg.dev_units})
    return out


def _as_segments_keep(fast: ColumnarFit) -> ColumnarFit:
    """``fast`` with the messages io.fit keeps: the first file_id, the last activity."""
    for seg in fast.segments:
        m = seg.messages
        if "file_id" in m:
            m["file_id"] = m["file_id"][:1]
        if "activity" in m:
            m["activity"] = m["activity"][-1:]
    return fast


def test_realdata_matches_fitdecode_or_is_routed(
    realdata: Path, fitdecode_decoded: dict[Path, Any], caplog: pytest.LogCaptureFixture
) -> None:
    files = list(fitdecode_decoded)
    fast, routed = [], []
    for path in files:
        name = str(path.relative_to(realdata))
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger=LOGGER):
            got = decode_fit_columnar(path.read_bytes(), name=name, messages=COLUMNAR_MESSAGES)
        dec = fitdecode_decoded[path]
        ref = _reference_of(dec)
        complaints = [] if ref is None else list(dec.warnings)
        if got is None:
            routed.append(name)
            reason = " ".join(m for m in caplog.messages if "fitdecode instead" in m)
            assert name in reason, f"{name}: routed to fitdecode without a logged reason"
            # routed only when fitdecode itself fails or warns, or for the documented
            # exceptions (hr messages; an empty file, which is not FIT at all)
            assert ref is None or complaints or "hr messages" in reason or "empty" in reason
            continue
        assert ref is not None, f"{name}: fitdecode failed where the fast path did not"
        assert not complaints, f"{name}: fitdecode complained where the fast path did not"
        assert_same(ref, _as_segments_keep(got))
        fast.append(name)
    print(f"\nrealdata: {len(fast)} of {len(files)} FIT files decoded by the fast path; "
          f"routed to fitdecode: {', '.join(routed)}")  # fmt: skip
    assert len(files) >= 40
    assert len(fast) >= 38


def test_realdata_damaged_files_recover_what_fitdecode_recovers(
    realdata: Path, fitdecode_decoded: dict[Path, Any]
) -> None:
    # recover=True: cut-short files, CRC mismatches and misaligned field sizes are read
    # by the fast path; the messages equal those io.fit's fitdecode path kept
    from stridekeeper.io.fit import decode_fit

    fast, damaged = [], []
    for path, dec in fitdecode_decoded.items():
        if isinstance(dec, Exception):
            continue
        got = decode_fit_columnar(path.read_bytes(), messages=COLUMNAR_MESSAGES, recover=True)
        if got is None:
            continue
        assert got.damaged_at == dec.damaged_at, path.name
        assert_same(_reference_of(dec), _as_segments_keep(got))
        assert decode_fit(path).warnings == dec.warnings, path.name
        fast.append(path.name)
        if dec.warnings:
            damaged.append(path.name)
    print(f"\nrealdata, recover=True: {len(fast)} fast, of which damaged: {', '.join(damaged)}")
    assert len(damaged) >= 6 and len(fast) >= 46


def test_realdata_chained_and_developer_files_take_the_fast_path(realdata: Path) -> None:
    dev = decode_fit_columnar(
        (realdata / "python-fitparse/developer-types-sample.fit").read_bytes()
    )
    assert dev is not None and any(c.startswith("dev_") for c in dev.segments[0].records)
    csd = decode_fit_columnar(
        (realdata / "python-fitparse/compressed-speed-distance.fit").read_bytes()
    )
    assert csd is not None  # compressed_speed_distance -> speed, accumulated distance
    dist = csd.segments[0].records["distance"]
    assert np.nanmax(dist) > 1000 and (np.diff(dist[~np.isnan(dist)]) >= 0).all()


# --------------------------------------------------------------------------- synthetic files
def test_synthetic_fixtures_take_the_fast_path(
    synthetic_fit_files: dict, caplog: pytest.LogCaptureFixture
) -> None:
    for name, path in synthetic_fit_files.items():
        assert check(path.read_bytes(), caplog, name), name


_RANGES = {
    "latitude_deg": (-89.0, 89.0), "longitude_deg": (-179.0, 179.0),
    "distance_m": (0.0, 40_000.0), "speed_mps": (0.0, 8.0), "altitude_m": (-400.0, 4000.0),
    "heart_rate_bpm": (40.0, 210.0), "cadence_spm": (0.0, 240.0),
    "step_length_m": (0.0, 2.5), "vertical_oscillation_mm": (0.0, 150.0),
    "stance_time_ms": (100.0, 400.0), "power_w": (0.0, 800.0), "temperature_c": (-20.0, 45.0),
}  # fmt: skip


@st.composite
def activity_files(draw: st.DrawFn) -> bytes:
    """Activity files from the project's encoder with random columns, layouts and values."""
    columns = draw(st.sets(st.sampled_from(sorted(RECORD_FIELDS))))
    compressed = draw(st.booleans())
    big_endian = draw(st.booleans())
    dev_power = draw(st.sampled_from([False, True, "both"]))
    n_sessions = draw(st.integers(1, 3))
    chained = n_sessions > 1 and draw(st.booleans())
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    start = pd.Timestamp("2024-05-01T06:00Z") + pd.Timedelta(seconds=int(rng.integers(1e7)))
    specs = []
    for _ in range(n_sessions):
        n = int(rng.integers(2, 300))
        steps = np.where(rng.random(n) < 0.05, rng.integers(2, 90, n), 1)  # some gaps >= 32 s
        t = start + pd.to_timedelta(np.cumsum(steps), unit="s")
        frame = pd.DataFrame(index=pd.DatetimeIndex(t, name="timestamp"))
        for col in sorted(columns):
            lo, hi = _RANGES[col]
            values = rng.uniform(lo, hi, n)
            values[rng.random(n) < 0.1] = np.nan
            frame[col] = values
        span = (t[-1] - t[0]).total_seconds()
        pauses = []
        if span > 60 and rng.random() < 0.5:
            p0 = t[0] + pd.Timedelta(seconds=span / 3)
            pauses = [(p0, p0 + pd.Timedelta(seconds=20))]
        laps = [t[0] + pd.Timedelta(seconds=span / 2)] if span > 10 and rng.random() < 0.5 else []
        sport = str(rng.choice(["running", "cycling", "walking", "training"]))
        specs.append(SessionSpec(sport=sport, records=frame, pauses=pauses, laps=laps))
        start = t[-1] + pd.Timedelta(seconds=int(rng.integers(5, 600)))
    kw = dict(compressed_timestamps=compressed, big_endian=big_endian,
              with_developer_power=dev_power)  # fmt: skip
    if chained:
        return chain(*(encode_activity([s], **kw) for s in specs))
    return encode_activity(specs, **kw)


@_HYPOTHESIS
@given(data=activity_files())
def test_encoded_activities_match_fitdecode(data: bytes, caplog: pytest.LogCaptureFixture) -> None:
    assert check(data, caplog)


# --------------------------------------------------------------------------- raw layouts
_RECORD_PROFILE = profile.MESSAGE_TYPES[20].fields
_OTHER_TYPES = ["enum", "sint8", "uint8", "sint16", "uint16", "sint32", "uint32", "uint8z",
                "uint16z", "uint32z", "float32", "float64", "sint64", "uint64"]  # fmt: skip
_PROCESSED = ("date_time", "bool", "local_date_time", "localtime_into_day")


def _value(base: str, count: int, rng: random.Random) -> Any:
    bt = BASE_TYPES[base]
    if base == "string":
        return rng.choice(["", "abc", "x" * count])[:count]
    if base == "byte":
        return bytes(rng.choice([0xFF, rng.randrange(256)]) for _ in range(count))

    def one() -> Any:
        if rng.random() < 0.15:
            return None
        if bt.is_float:
            return rng.choice([rng.uniform(-1e3, 1e3), math.inf])
        lo, hi = bt.valid_range
        return rng.randint(max(lo, -(10**9)), min(hi, 10**9)) if rng.random() < 0.8 else hi

    return one() if count == 1 else [one() for _ in range(count)]


def random_layout_file(rng: random.Random) -> bytes:
    """Record messages with random field sets, base types, local types, byte orders and
    developer fields; definitions interleaved and redefined; compressed timestamps."""
    enc = FitEncoder()
    enc.define(5, 0, [(0, "enum"), (4, "uint32")], big_endian=rng.random() < 0.5)
    enc.write(5, [4, 1_000_000_000])
    devs: list[tuple[int, Any, int]] = []
    if rng.random() < 0.6:
        enc.define(6, 207, [(1, ("byte", 16)), (3, "uint8")])
        enc.write(6, [bytes(range(16)), 0])
        enc.define(7, 206, [(0, "uint8"), (1, "uint8"), (2, "uint8"), (3, ("string", 16)),
                            (8, ("string", 8))])  # fmt: skip
        for num in range(rng.randint(1, 3)):
            base = rng.choice(["uint16", "sint8", "float32", "uint32", "string", "uint8"])
            name = rng.choice(["Power", "Cadence", "Form Power", "power", "Leg Spring"])
            enc.write(7, [0, num, BASE_TYPES[base].type_id, name, rng.choice(["Watts", ""])])
            if base == "string":
                devs.append((num, ("string", 4), 0))
            else:
                devs.append((num, (base, rng.choice([1, 1, 2])), 0))
    ts = 1_000_000_000 + rng.randrange(100_000)
    layouts = []
    for _ in range(rng.randint(1, 4)):
        fields: list[tuple[int, Any]] = []
        for num in rng.sample(sorted(_RECORD_PROFILE), rng.randint(1, 12)):
            f = _RECORD_PROFILE[num]
            base = "uint32" if num == 253 else f.base_type.name
            plain = num != 253 and not f.components and f.type.name not in _PROCESSED
            if base == "byte":
                typ: Any = ("byte", 3)
            elif plain and rng.random() < 0.1:
                typ = (base, rng.randint(2, 3))
            elif plain and rng.random() < 0.1:
                typ = rng.choice(_OTHER_TYPES)  # not the profile's base type
            else:
                typ = base
            fields.append((num, typ))
        if rng.random() < 0.2:  # a field the profile does not know
            fields.append((rng.choice([150, 200, 240]), rng.choice(["uint16", ("uint8", 2)])))
        chosen = [d for d in devs if rng.random() < 0.7]
        local = rng.randrange(4) if rng.random() < 0.7 else rng.randrange(8, 16)
        layouts.append((local, fields, chosen, rng.random() < 0.5))
    for local, fields, chosen, big in layouts:
        enc.define(local, 20, fields, chosen, big_endian=big)
    enc.define(4, 21, [(253, "uint32"), (0, "enum"), (1, "enum"), (3, "uint32")])
    active = {layout[0]: layout for layout in layouts}
    for _ in range(rng.randint(5, 150)):
        r = rng.random()
        if r < 0.03:  # redefine a local type mid-stream
            layout = rng.choice(layouts)
            enc.define(layout[0], 20, layout[1], layout[2], big_endian=layout[3])
            active[layout[0]] = layout
            continue
        if r < 0.08:  # a message with a full timestamp between records
            ts += rng.randint(0, 40)
            enc.write(4, [ts, 0, rng.choice([0, 4, None]), rng.choice([0, 1, None])])
            continue
        local, fields, chosen, _ = rng.choice(list(active.values()))
        values = []
        for num, typ in fields:
            base, count = (typ, 1) if isinstance(typ, str) else typ
            if num == 253:
                ts += rng.randint(0, 3)
                values.append(ts if rng.random() > 0.05 else None)
            else:
                values.append(_value(base, count, rng))
        for _, typ, _ in chosen:
            base, count = (typ, 1) if isinstance(typ, str) else typ
            values.append(_value(base, count, rng))
        if local < 4 and rng.random() < 0.4:
            ts += rng.randint(0, 20)
            enc.write_compressed_timestamp(local, ts & 0x1F, values)
        else:
            enc.write(local, values)
    return enc.to_bytes()


@_HYPOTHESIS
@given(seed=st.integers(0, 2**32 - 1))
def test_random_layouts_match_fitdecode(seed: int, caplog: pytest.LogCaptureFixture) -> None:
    assert check(random_layout_file(random.Random(seed)), caplog)


def _reseal(body: bytes) -> bytes:
    return body + struct.pack("<H", fit_crc(body))


@_HYPOTHESIS
@given(seed=st.integers(0, 2**32 - 1), flips=st.integers(1, 3))
def test_damaged_bytes_match_fitdecode_or_are_routed(
    seed: int, flips: int, caplog: pytest.LogCaptureFixture
) -> None:
    # damage that keeps the CRC valid: whatever the fast path accepts must decode as
    # fitdecode decodes it; anything else must be routed with a reason
    rng = random.Random(seed)
    data = bytearray(random_layout_file(rng))
    for _ in range(flips):
        data[rng.randrange(14, len(data) - 2)] = rng.randrange(256)
    check(_reseal(bytes(data[:-2])), caplog)


@_HYPOTHESIS
@given(seed=st.integers(0, 2**32 - 1), frac=st.floats(0.0, 1.0), crc=st.booleans())
def test_cut_or_miscrc_layouts_recover_what_fitdecode_recovers(
    seed: int, frac: float, crc: bool, caplog: pytest.LogCaptureFixture
) -> None:
    # a file cut short anywhere (or with a wrong CRC) under recover=True: the messages
    # fitdecode yields before it stops, its CRC warnings, and where and why it stopped
    data = random_layout_file(random.Random(seed))
    if crc:
        data = data[:-1] + bytes([data[-1] ^ 0x21])
    else:
        data = data[: 14 + round((len(data) - 14) * frac)]
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        fast = decode_fit_columnar(data, name="cut.fit", recover=True)
    ref, complaints = fitdecode_reference(data, partial=True)
    if fast is None:
        assert any("fitdecode instead" in m for m in caplog.messages)
        return
    assert ref is not None
    damage = [] if fast.damage is None else [f"{fast.damaged_at} {fast.damage}"]
    assert fast.warnings + damage == complaints
    assert_same(ref, fast)


# --------------------------------------------------------------------------- routing
@pytest.fixture(scope="module")
def small_file() -> bytes:
    """A two-minute run with power written as a Stryd-like developer field."""
    from stridekeeper.synth.runs import simulate_run

    records = simulate_run(duration_s=120, seed=3).records
    records = records.assign(power_w=np.linspace(200.0, 260.0, len(records)))
    return encode_activity([SessionSpec(records=records)], with_developer_power=True)


def test_crc_mismatch_is_routed_unless_unchecked(
    small_file: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    bad = small_file[:-1] + bytes([small_file[-1] ^ 0xFF])
    assert "CRC mismatch" in _reason(bad, caplog)
    unchecked = decode_fit_columnar(bad, check_crc=False)
    assert unchecked is not None and not unchecked.crc_checked
    header = bytearray(small_file)
    header[12] ^= 0x01
    assert "header CRC" in _reason(bytes(header), caplog)


def test_truncation_and_stray_bytes_are_routed(
    small_file: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    assert "truncated" in _reason(small_file[:-100], caplog)
    assert "stray bytes" in _reason(small_file + b"\x00\x01", caplog)
    assert "no FIT header" in _reason(small_file + bytes(20), caplog)
    assert "empty" in _reason(b"", caplog)


def test_layout_problems_are_routed(caplog: pytest.LogCaptureFixture) -> None:
    enc = FitEncoder()  # heart_rate declared as a 3-byte uint16: fitdecode warns
    enc.write_raw(bytes([0x40, 0, 0]) + struct.pack("<HB", 20, 1) + bytes([3, 3, 0x84]))
    enc.write_raw(bytes([0x00, 1, 2, 3]))
    assert "invalid size" in _reason(enc.to_bytes(), caplog)

    enc = FitEncoder()
    enc.define(0, 20, [(253, "uint32")])
    enc.write_raw(bytes([0x03]))  # a data message of local type 3, never defined
    assert "undefined local type" in _reason(enc.to_bytes(), caplog)

    enc = FitEncoder()
    enc.define(0, 20, [(253, "uint32")], dev_fields=[(0, "uint16", 0)])  # never described
    enc.write(0, [1_000_000_000, 5])
    assert "not described" in _reason(enc.to_bytes(), caplog)

    enc = FitEncoder()
    enc.define(0, 132, [(253, "uint32"), (6, "uint8")])  # hr, asked for
    enc.write(0, [1_000_000_000, 100])
    assert "hr messages" in _reason(enc.to_bytes(), caplog, messages=["hr"])

    enc = FitEncoder()  # the last message runs past the data size in the header
    enc.define(0, 20, [(253, "uint32")])
    data = bytearray(enc.to_bytes())
    data[4:8] = struct.pack("<I", len(data) - 14 - 2 + 3)
    data[12:14] = struct.pack("<H", fit_crc(bytes(data[:12])))
    data = data[:-2] + bytes([0x00, 1, 2])
    assert "crosses the end" in _reason(_reseal(bytes(data)), caplog)


# --------------------------------------------------------------------------- details
def test_output_structure(small_file: bytes) -> None:
    fit = decode_fit_columnar(small_file, name="small.fit")
    assert fit is not None and fit.source == "small.fit" and fit.crc_checked
    (seg,) = fit.segments
    assert seg.n_records > 100
    assert seg.records["timestamp"].dtype == np.int64
    assert (seg.records["timestamp"] > 0x10000000).all()  # absolute FIT seconds
    assert {"distance", "enhanced_speed", "cadence", "fractional_cadence", "step_length",
            "dev_power", "Power"} <= set(seg.records)  # fmt: skip
    assert seg.dev_units == {"dev_power": "Watts"}
    assert seg.messages["file_id"][0]["type"] == "activity"
    assert isinstance(seg.messages["session"][0]["start_time"], dt.datetime)
    only = decode_fit_columnar(small_file, messages={"session"})
    assert only is not None and set(only.segments[0].messages) == {"session"}


def test_records_without_timestamp() -> None:
    enc = FitEncoder()
    enc.define(0, 20, [(3, "uint8")])
    enc.write(0, [150])
    enc.write(0, [None])
    fit = decode_fit_columnar(enc.to_bytes())
    assert fit is not None
    (seg,) = fit.segments
    assert seg.n_records == 2 and "timestamp" not in seg.records
    np.testing.assert_array_equal(seg.records["heart_rate"], [150.0, np.nan])


@pytest.mark.parametrize("n", [0, 1, 255, 256, 257, 1000, 4097, 65_537, 300_001])
def test_numpy_crc_matches_the_fit_sdk_crc(n: int) -> None:
    from stridekeeper.io import fit_crc as crc

    data = np.random.default_rng(n).integers(0, 256, n, dtype=np.uint8).tobytes()
    reference = _sdk_crc(data)
    assert crc.crc16_numpy(data) == reference
    assert crc.fit_crc(data) == reference  # fastcrc when installed
    assert crc.fit_crc(data[n // 3 :], crc.fit_crc(data[: n // 3])) == reference
    assert crc._numpy_with_start(data[n // 3 :], crc.fit_crc(data[: n // 3])) == reference


def _sdk_crc(data: bytes) -> int:
    """``FitCRC_Get16`` of the FIT SDK, nibble by nibble as it is written there."""
    table = (0x0000, 0xCC01, 0xD801, 0x1400, 0xF001, 0x3C00, 0x2800, 0xE401,
             0xA001, 0x6C00, 0x7800, 0xB401, 0x5000, 0x9C01, 0x8801, 0x4400)  # fmt: skip
    crc = 0
    for byte in data:
        tmp = table[crc & 0xF]
        crc = (crc >> 4) & 0x0FFF
        crc = crc ^ tmp ^ table[byte & 0xF]
        tmp = table[crc & 0xF]
        crc = (crc >> 4) & 0x0FFF
        crc = crc ^ tmp ^ table[(byte >> 4) & 0xF]
    return crc


def test_hr_messages_take_the_fast_path_and_set_the_timestamp_base(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An HRM's hr messages are walked over (the real files with event_timestamp_12 are in
    the realdata test); their timestamp still sets the base compressed timestamps count from."""
    enc = FitEncoder()
    enc.define(0, 20, [(253, "uint32"), (3, "uint8")])  # record
    enc.define(1, 132, [(253, "uint32"), (6, ("uint8", 8))])  # hr
    enc.define(2, 20, [(3, "uint8")])  # record, compressed timestamp
    enc.write(0, [1_000_000_000, 140])
    enc.write(1, [1_000_000_040, [150] * 8])
    enc.write_rows(2, [np.array([151, 152, 153])], time_offsets=np.array([41, 42, 43]) % 32)
    data = enc.to_bytes()
    assert check(data, caplog)
    fast = decode_fit_columnar(data)
    assert fast is not None
    assert "hr messages" in _reason(data, caplog, messages=["hr"])
