"""The TCX reader: units, laps, several activities, pauses, cross-format agreement with FIT."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stridekeeper.errors import CorruptFileError, DataQualityWarning, UnsupportedFormatError
from stridekeeper.io import read_runs
from stridekeeper.io.tcx import read_tcx
from stridekeeper.metrics import summarize
from stridekeeper.metrics.averages import avg_cadence_spm
from stridekeeper.testing import check_run_conforms


def _quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return fn(*args, **kw)


def _tcx(activities: list[str], *, ns: str = "ns3") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"'
        f' xmlns:{ns}="http://www.garmin.com/xmlschemas/ActivityExtension/v2">\n<Activities>\n'
        + "".join(activities)
        + "</Activities>\n</TrainingCenterDatabase>\n"
    ).encode()


def _activity(start: str = "2024-05-01T06:00:00Z", n: int = 60, *, cad: float = 85,
              speed: float = 3.0, sport: str = "Running", gap_at: int | None = None,
              gap_s: int = 0, ns: str = "ns3", laps: bool = True) -> str:  # fmt: skip
    import pandas as pd

    t0 = pd.Timestamp(start)
    pts = []
    dist = 0.0
    t = 0
    for i in range(n):
        if gap_at is not None and i == gap_at:
            t += gap_s  # standing still: time passes, no distance
        ts = (t0 + pd.Timedelta(seconds=t)).strftime("%Y-%m-%dT%H:%M:%SZ")
        pts.append(
            f"<Trackpoint><Time>{ts}</Time><Position><LatitudeDegrees>{55 + i * 1e-5}"
            f"</LatitudeDegrees><LongitudeDegrees>12.5</LongitudeDegrees></Position>"
            f"<AltitudeMeters>10</AltitudeMeters><DistanceMeters>{dist}</DistanceMeters>"
            f"<HeartRateBpm><Value>150</Value></HeartRateBpm><Extensions><{ns}:TPX>"
            f"<{ns}:Speed>{speed}</{ns}:Speed><{ns}:RunCadence>{cad:g}</{ns}:RunCadence>"
            f"</{ns}:TPX></Extensions></Trackpoint>\n"
        )
        dist += speed
        t += 1
    lap_open = (f'<Lap StartTime="{t0.strftime("%Y-%m-%dT%H:%M:%SZ")}"><TotalTimeSeconds>'
                f"{n - 1}</TotalTimeSeconds><DistanceMeters>{dist - speed}</DistanceMeters>"
                "<Track>\n")  # fmt: skip
    lap_close = (f"</Track><Extensions><{ns}:LX><{ns}:AvgSpeed>{speed}</{ns}:AvgSpeed>"
                 f"<{ns}:AvgRunCadence>{cad:g}</{ns}:AvgRunCadence></{ns}:LX></Extensions>"
                 "</Lap>\n")  # fmt: skip
    body = lap_open + "".join(pts) + lap_close if laps else "<Lap><Track>" + "".join(pts) + \
        "</Track></Lap>"  # fmt: skip
    return (f'<Activity Sport="{sport}"><Id>{start}</Id>{body}<Creator><Name>Forerunner 945'
            "</Name></Creator></Activity>\n")  # fmt: skip


# --------------------------------------------------------------------------- real files
def test_every_realdata_tcx_conforms(realdata: Path) -> None:
    files = sorted(realdata.rglob("*.tcx"))
    assert len(files) >= 3
    for path in files:
        runs = _quiet(read_runs, path)
        assert runs and all(r.meta["format"] == "tcx" for r in runs)
        for run in runs:
            check_run_conforms(run)
            summarize(run)


@pytest.mark.parametrize("stem", ["elevate/sloatsburg", "heartandsole/testdata"])
def test_tcx_agrees_with_the_fit_file_of_the_same_run(realdata: Path, stem: str) -> None:
    (tcx,) = _quiet(read_runs, realdata / f"{stem}.tcx")
    (fit,) = _quiet(read_runs, realdata / f"{stem}.fit")
    a, b = summarize(tcx), summarize(fit)
    assert a["distance_m"] == pytest.approx(b["distance_m"], rel=0.01)
    # TCX RunCadence is whole strides/min; FIT adds the fractional part: < 1 step/min apart
    assert abs(a["avg_cadence_spm"] - b["avg_cadence_spm"]) < 1.0
    # pauses inferred from gaps, checked against the laps' timer totals, match the timer events
    assert tcx.records["timer_s"].iloc[-1] == pytest.approx(fit.records["timer_s"].iloc[-1],
                                                           abs=2.0)  # fmt: skip
    dev_t, dev_f = tcx.meta["device_summary"], fit.meta["device_summary"]
    assert dev_t["distance_m"] == pytest.approx(dev_f["distance_m"], rel=1e-4)
    assert dev_t["timer_time_s"] == pytest.approx(dev_f["timer_time_s"], abs=0.01)
    assert dev_t["avg_cadence_spm"] == pytest.approx(dev_f["avg_cadence_spm"], abs=2.5)
    assert tcx.meta["cadence_convention"]["decision"] == "per_foot_doubled"
    assert tcx.meta["device"] == fit.meta["device"]  # "Forerunner 945" -> garmin/fr945


def test_sloatsburg_samples_match_fit_sample_by_sample(realdata: Path) -> None:
    (tcx,) = _quiet(read_runs, realdata / "elevate/sloatsburg.tcx")
    (fit,) = _quiet(read_runs, realdata / "elevate/sloatsburg.fit")
    common = tcx.records.index.intersection(fit.records.index)
    assert len(common) > 0.99 * len(fit.records)
    a, b = tcx.records.loc[common], fit.records.loc[common]
    np.testing.assert_allclose(a["distance_m"], b["distance_m"], atol=0.01)
    # whole per-foot numbers doubled vs FIT's with the 1/128 fraction
    diff = b["cadence_spm"] - a["cadence_spm"]
    assert (diff >= -1e-9).all() and (diff < 2.0).all()
    assert avg_cadence_spm(a) == pytest.approx(avg_cadence_spm(b), abs=1.0)


def test_laps_and_device_summary(realdata: Path) -> None:
    (run,) = _quiet(read_tcx, realdata / "elevate/sloatsburg.tcx")
    laps = run.laps
    assert list(laps["avg_cadence_spm"]) == [158.0, 160.0]  # AvgRunCadence 79, 80 x 2
    assert laps["timer_time_s"].sum() == pytest.approx(4989.112)
    assert laps["start_time"].iloc[0] == run.meta["start_time"]
    assert run.meta["device_summary"]["distance_m"] == pytest.approx(14004.85, abs=0.01)


def test_namespaces_bound_differently_read_alike(realdata: Path) -> None:
    # runpandas' 11km.tcx binds ActivityExtension as the default namespace of <TPX>
    (run,) = _quiet(read_tcx, realdata / "runpandas/11km.tcx")
    assert run.records["speed_mps"].notna().mean() > 0.9
    assert run.records["cadence_spm"].median() > 150
    one = _quiet(read_tcx, _tcx([_activity(ns="x")], ns="x"))[0]
    two = _quiet(read_tcx, _tcx([_activity(ns="ns3")]))[0]
    assert one.records.equals(two.records)


# --------------------------------------------------------------------------- behaviour
def test_cadence_already_in_steps_per_minute_is_detected() -> None:
    (per_foot,) = _quiet(read_tcx, _tcx([_activity(cad=86)]))
    (steps,) = _quiet(read_tcx, _tcx([_activity(cad=172)]))
    assert per_foot.records["cadence_spm"].median() == 172
    assert steps.records["cadence_spm"].median() == 172
    assert per_foot.meta["cadence_convention"]["decision"] == "per_foot_doubled"
    assert steps.meta["cadence_convention"]["decision"] == "steps_per_min"
    assert steps.laps["avg_cadence_spm"].iloc[0] == 172  # laps follow the same decision


def test_several_activities_give_several_runs() -> None:
    data = _tcx([_activity("2024-05-01T06:00:00Z"), _activity("2024-05-02T06:00:00Z",
                                                              sport="Biking")])  # fmt: skip
    runs = _quiet(read_tcx, data, name="two.tcx")
    assert [r.sport for r in runs] == ["running", "cycling"]
    assert [r.meta["session_index"] for r in runs] == [0, 1]
    assert "cadence_spm" in runs[1].records  # RunCadence is a step rate whatever the sport
    only = _quiet(read_tcx, data, sport="cycling")
    assert [r.meta["session_index"] for r in only] == [1]
    for run in runs:
        check_run_conforms(run)


def test_pause_inferred_from_a_gap_without_distance() -> None:
    (run,) = _quiet(read_tcx, _tcx([_activity(n=120, gap_at=60, gap_s=45, laps=False)]))
    rec = run.records
    assert rec["elapsed_s"].iloc[-1] == pytest.approx(119 + 45)
    assert rec["timer_s"].iloc[-1] == pytest.approx(119 + 45 - 46)  # the gap adds nothing
    assert run.meta["pause_inference"]["n_pauses"] == 1
    assert rec["timer_running"].all()
    # a long gap crossed at running speed (GPS dropout) is no pause
    (moving,) = _quiet(read_tcx, _tcx([_activity(n=120, gap_at=60, gap_s=0, laps=False)]))
    assert moving.meta["pause_inference"]["n_pauses"] == 0


def test_truncated_tcx_keeps_what_was_complete(realdata: Path, tmp_path: Path) -> None:
    data = (realdata / "elevate/sloatsburg.tcx").read_bytes()
    cut = tmp_path / "cut.tcx"
    cut.write_bytes(data[: len(data) // 2])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (run,) = read_runs(cut)
    assert any("ends early" in str(w.message) for w in caught
               if issubclass(w.category, DataQualityWarning))  # fmt: skip
    assert 1000 < len(run.records) < 4988
    assert any("ends early" in w for w in run.warnings)
    check_run_conforms(run)
    early = tmp_path / "early.tcx"
    early.write_bytes(data[:600])
    with pytest.raises(CorruptFileError, match="early.tcx"):
        read_runs(early)


def test_not_tcx_and_courses_are_refused() -> None:
    with pytest.raises(UnsupportedFormatError, match="root element <gpx>"):
        read_tcx(b'<?xml version="1.0"?><gpx></gpx>', name="x.tcx")
    course = b"<TrainingCenterDatabase><Courses><Course><Track/></Course></Courses></TrainingCenterDatabase>"
    with pytest.raises(UnsupportedFormatError, match="without activities"):
        read_tcx(course, name="c.tcx")
    with pytest.raises(UnsupportedFormatError, match="not XML"):
        read_tcx(b"hello, world", name="h.tcx")


def test_timer_is_the_sum_of_lap_times_not_the_span(tmp_path) -> None:
    """Two laps of 60 s with a 120-s gap between them: timer 120 s, elapsed 240 s."""

    def tp(s: int, d: float) -> str:
        t = (pd.Timestamp("2024-05-01T07:00:00Z") + pd.Timedelta(seconds=s)).isoformat()
        return f"<Trackpoint><Time>{t}</Time><DistanceMeters>{d}</DistanceMeters></Trackpoint>"

    def lap(s0: int, d0: float) -> str:
        t = (pd.Timestamp("2024-05-01T07:00:00Z") + pd.Timedelta(seconds=s0)).isoformat()
        pts = "".join(tp(s0 + i, d0 + 3.0 * i) for i in range(61))
        return (f'<Lap StartTime="{t}"><TotalTimeSeconds>60</TotalTimeSeconds>'
                f"<DistanceMeters>180</DistanceMeters><Track>{pts}</Track></Lap>")  # fmt: skip

    xml = ('<?xml version="1.0"?><TrainingCenterDatabase xmlns='
           '"http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"><Activities>'
           '<Activity Sport="Running"><Id>2024-05-01T07:00:00Z</Id>'
           f"{lap(0, 0.0)}{lap(180, 180.0)}</Activity></Activities></TrainingCenterDatabase>")  # fmt: skip
    path = tmp_path / "gap.tcx"
    path.write_text(xml)
    (run,) = read_tcx(path)
    s = summarize(run)
    assert s["timer_time_s"] == pytest.approx(120.0)
    assert s["elapsed_time_s"] == pytest.approx(240.0)
