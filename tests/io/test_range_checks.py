"""Physical range checks in the readers' common finaliser: impossible samples become NaN,
counted in one DataQualityWarning, and every reader goes through them."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from stridekeeper.errors import DataQualityWarning
from stridekeeper.io.csv import read_csv_run
from stridekeeper.io.records import finalize_records, records_from_arrays
from stridekeeper.metrics.averages import avg_cadence_spm


def _csv(n: int, cadence) -> bytes:
    rows = ["timestamp,distance_m,speed_mps,cadence_spm,heart_rate_bpm"]
    for i in range(n):
        t = pd.Timestamp("2026-03-02T06:00Z") + pd.Timedelta(seconds=i)
        rows.append(f"{t.isoformat()},{3.0 * i},3.0,{cadence(i)},150")
    return ("\n".join(rows) + "\n").encode()


def test_csv_cadence_of_1e9_is_dropped_and_counted() -> None:
    data = _csv(600, lambda i: "1e9" if i == 300 else "170")
    with pytest.warns(DataQualityWarning, match=r"1 sample value\(s\) out of physical range"):
        (run,) = read_csv_run(data)
    rec = run.records
    assert np.isnan(rec["cadence_spm"].iloc[300]) and rec["cadence_spm"].notna().sum() == 599
    assert avg_cadence_spm(rec) == pytest.approx(170.0)  # was 1,666,833 with the 1e9 kept


def test_each_limit_and_the_count() -> None:
    n = 10
    ts = pd.date_range("2026-03-02T06:00Z", periods=n, freq="s").asi8
    cols = {
        "distance_m": np.arange(n, dtype=float) * 3,
        "speed_mps": np.full(n, 3.0),
        "cadence_spm": np.full(n, 170.0),
        "heart_rate_bpm": np.full(n, 150.0),
        "latitude_deg": np.full(n, 47.0),
        "longitude_deg": np.full(n, 8.0),
    }
    cols["speed_mps"][1] = 55.0  # > 12.5 m/s
    cols["speed_mps"][2] = np.inf
    cols["cadence_spm"][3] = 320.0
    cols["heart_rate_bpm"][4] = 0.0
    cols["latitude_deg"][5] = 95.0  # its longitude goes too: half a position is none
    cols["distance_m"][6] = 5000.0  # one spike: that sample, not everything after it
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rec = records_from_arrays(ts, cols)
    notes = [str(w.message) for w in caught if issubclass(w.category, DataQualityWarning)]
    assert len(notes) == 1 and notes[0].startswith("6 sample value(s)")
    assert rec.attrs["quality_notes"] == notes
    assert rec["speed_mps"].isna().tolist() == [False, True, True] + [False] * 7
    assert rec["cadence_spm"].isna().sum() == 1 and rec["heart_rate_bpm"].isna().sum() == 1
    assert np.isnan(rec["longitude_deg"].iloc[5]) and rec["longitude_deg"].isna().sum() == 1
    d = rec["distance_m"]
    assert np.isnan(d.iloc[6]) and d.notna().sum() == 9
    assert d.dropna().is_monotonic_increasing
    assert not np.isinf(rec.to_numpy(float)).any()


def test_a_distance_reset_drops_the_fewer_samples() -> None:
    idx = pd.date_range("2026-03-02T06:00Z", periods=8, freq="s", name="timestamp")
    d = [0.0, 3, 6, 9, 12, 2, 15, 18]  # one sample falls back
    with pytest.warns(DataQualityWarning, match="distance_m decreasing: 1"):
        rec = finalize_records(pd.DataFrame({"distance_m": d}, index=idx))
    assert rec["distance_m"].isna().tolist() == [False] * 5 + [True, False, False]


def test_clean_input_has_no_warning_and_is_unchanged() -> None:
    idx = pd.date_range("2026-03-02T06:00Z", periods=5, freq="s", name="timestamp")
    frame = pd.DataFrame({"distance_m": [0.0, 3, 6, 9, 12], "cadence_spm": [170.0] * 5},
                         index=idx)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rec = finalize_records(frame)
    assert rec["distance_m"].tolist() == [0.0, 3, 6, 9, 12]
    assert "quality_notes" not in rec.attrs


def test_one_impossible_time_drops_that_sample_not_the_file() -> None:
    from stridekeeper.io.gpx import read_gpx
    from stridekeeper.io.tcx import read_tcx
    from stridekeeper.synth.fuzz import seeds

    base = seeds()
    for name, reader, tag in (("run.gpx", read_gpx, "<time>"), ("run.tcx", read_tcx, "<Time>")):
        text = base[name].decode()
        n_good = text.count(tag)
        i = text.index(tag, len(text) // 2)
        bad = text[:i] + tag + "9999-12-31T23:59:59Z" + text[i + len(tag) + 20 :]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            (run,) = reader(bad.encode())
        assert any("without a valid time" in str(w.message) for w in caught), name
        assert len(run.records) == n_good - 1, name
        assert run.records.index.max() < pd.Timestamp("2027-01-01", tz="UTC")


def test_a_csv_row_in_another_offset_is_converted() -> None:
    rows = ["timestamp,distance_m,cadence_spm"]
    for i in range(120):
        t = pd.Timestamp("2026-03-02T06:00:00Z") + pd.Timedelta(seconds=i)
        text = t.isoformat()
        if i == 60:
            text = (t + pd.Timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S") + "+02:00"
        rows.append(f"{text},{3 * i},170")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        (run,) = read_csv_run(("\n".join(rows) + "\n").encode())
    idx = run.records.index
    assert len(idx) == 120 and idx.is_monotonic_increasing
    assert idx[60] == pd.Timestamp("2026-03-02T06:01:00Z")
