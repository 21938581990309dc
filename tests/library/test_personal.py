"""After an import, runs that extrapolated get the athlete's own step-speed relation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stridekeeper.library import Library, import_paths
from stridekeeper.synth.files import write_run_fit
from stridekeeper.synth.runs import simulate_run

CURVE = (1.1, 0.6, 0.0)  # this runner's steps lengthen less with speed than the prior says


def _season(folder: Path) -> dict[str, float]:
    folder.mkdir(parents=True)
    truth = {}
    day0 = pd.Timestamp("2026-03-02T07:00Z")
    for k in range(10):  # runs whose fresh half spans a range of speeds
        sim = simulate_run(start_time=day0 + pd.Timedelta(days=2 * k), duration_s=3000,
                           speed_profile=np.linspace(0.9, 1.2, 3000), step_curve=CURVE,
                           seed=40 + k)  # fmt: skip
        write_run_fit(sim, folder / f"build_{k:02d}.fit")
    for k in range(3):  # steady, then a fast finish: the late window outside the fresh speeds
        prof = np.r_[np.ones(2400), np.full(1200, 1.22)]
        sim = simulate_run(start_time=day0 + pd.Timedelta(days=2 * k + 1), duration_s=3600,
                           speed_profile=prof, step_curve=CURVE, seed=80 + k)  # fmt: skip
        write_run_fit(sim, folder / f"kick_{k:02d}.fit")
        truth[sim.records.index[0].isoformat()] = sim.truth["stride_dropoff_pct"]
    return truth


def test_extrapolating_runs_get_the_personal_relation(tmp_path: Path) -> None:
    truth = _season(tmp_path / "in")
    lib_dir = tmp_path / "lib"
    report = import_paths([tmp_path / "in"], lib_dir, jobs=1)
    assert report.imported_runs == 13
    runs = Library.open(lib_dir).runs()
    kicks = runs[runs["source"].str.contains("kick_")]
    builds = runs[runs["source"].str.contains("build_")]
    # every run's late window is faster than its fresh part: all extrapolate, all are redone
    assert len(builds) == 10 and report.personalised_runs == 13
    assert (runs["dropoff_prior"] == "personal (13 runs)").all()
    # with the athlete's own relation the fast finish is not read as a change of stride
    # (the population prior refuses two of the three: too far outside the fresh speeds)
    assert kicks["stride_dropoff_pct"].notna().all()
    # an interval of +-2.5 pp or so: each covers the truth, and none reads a real drop-off.
    # (Under 1.5 pp while GPS spikes hid the speed noise: the elasticity leaned toward 1,
    # offsetting the population curvature this runner (curvature 0) does not have.)
    true = kicks["start_time"].map(lambda t: truth[pd.Timestamp(t).isoformat()])
    assert ((kicks["stride_dropoff_ci95_low_pct"] <= true)
            & (true <= kicks["stride_dropoff_ci95_high_pct"])).all()  # fmt: skip
    assert (kicks["stride_dropoff_pct"].abs() < 2.5).all(), kicks["stride_dropoff_pct"]
    lib = Library.open(lib_dir)
    assert lib.check().ok
    assert all(len(lib.records(r)) > 3000 for r in kicks["run_id"])  # records kept
    again = import_paths([tmp_path / "in"], lib_dir, jobs=1)
    assert again.unchanged == 13 and again.personalised_runs == 0


def _slow_runner(folder: Path, *, step_at_3_3_m: float) -> list[float]:
    """A runner at 1.95 m/s with four walk breaks a run (1.3-1.8 m/s, 110-130 steps/min)."""
    folder.mkdir(parents=True)
    truth = []
    day0 = pd.Timestamp("2026-03-02T07:00Z")
    for k in range(7):
        walks = [(1500.0 + 600.0 * i, 90.0) for i in range(4)]
        sim = simulate_run(start_time=day0 + pd.Timedelta(days=2 * k), duration_s=3600,
                           speed_mps=1.95, step_curve=(step_at_3_3_m, 0.8, -0.2),
                           walk_breaks=walks, fatigue_onset_fraction=0.7, fatigue_pct=5.0,
                           seed=300 + k)  # fmt: skip
        write_run_fit(sim, folder / f"slow_{k:02d}.fit")
        truth.append(sim.truth["stride_dropoff_pct"])
    return truth


def test_a_slow_low_cadence_runner_gets_their_own_gait_threshold(tmp_path: Path) -> None:
    # running at ~140 steps/min and 1.95 m/s: the population rule (walking below 140 when
    # slower than 2.2 m/s) calls half of it walking; the athlete's own runs show where their
    # walking (110-130) ends
    truth = _slow_runner(tmp_path / "in", step_at_3_3_m=1.33)
    lib_dir = tmp_path / "lib"
    import_paths([tmp_path / "in"], lib_dir, jobs=1)
    runs = Library.open(lib_dir).runs()
    assert len(runs) == 7
    gait = runs["gait_cadence_spm"].astype(float)
    assert gait.nunique() == 1 and 127 <= gait.iloc[0] <= 136, gait.tolist()
    d = runs["stride_dropoff_pct"].astype(float)
    assert d.notna().all(), runs["dropoff_reason"].tolist()
    assert abs(d.mean() - np.mean(truth)) < 1.0, d.tolist()
    # the walks stay out: about 4 x 90 s of 3600 s, plus settling
    assert runs["gait_excluded_pct"].astype(float).between(8.0, 20.0).all()
    # and running cadence is of the running, by the athlete's rule: every sample above the
    # walks' 110-130
    from stridekeeper.io.fit import read_fit

    for f in sorted((tmp_path / "in").glob("*.fit")):
        cad = read_fit(f.read_bytes())[0].columns.data["cadence_spm"]
        row = runs[runs["source"] == str(f)].iloc[0]
        assert row["running_cadence_spm"] == pytest.approx(cad[cad > 130.0].mean(), abs=0.3)


def test_a_usual_runner_keeps_the_population_gait_threshold(tmp_path: Path) -> None:
    _slow_runner(tmp_path / "in", step_at_3_3_m=1.05)  # ~175 steps/min at 1.95 m/s
    lib_dir = tmp_path / "lib"
    import_paths([tmp_path / "in"], lib_dir, jobs=1)
    runs = Library.open(lib_dir).runs()
    assert (runs["gait_cadence_spm"].astype(float) == 140.0).all()
    assert runs["stride_dropoff_pct"].notna().all()


def test_the_records_handed_on_by_the_import_are_the_records_the_library_reads(
    tmp_path: Path,
) -> None:
    """The import's personal pass reads the last commit's records from memory; they must be
    what ``Library.records`` reads back from the files, and so give the same pass."""
    from stridekeeper.library import personal
    from stridekeeper.library.store import records_frame

    _season(tmp_path / "in")
    seen: dict[str, object] = {}
    real = personal.personalise_dropoff

    def spy(library: Library, athletes: object = None, *, records: object = None) -> int:
        seen.update(records or {})  # type: ignore[call-overload]
        return real(library, records=records)  # type: ignore[arg-type]

    personal.personalise_dropoff = spy  # type: ignore[assignment]
    try:
        import_paths([tmp_path / "in"], tmp_path / "lib", jobs=1)
    finally:
        personal.personalise_dropoff = real  # type: ignore[assignment]
    lib = Library.open(tmp_path / "lib")
    assert set(seen) == set(lib.runs()["run_id"])
    for run_id, table in seen.items():
        pd.testing.assert_frame_equal(records_frame(table), lib.records(run_id))  # type: ignore[arg-type]
    # the pass from the files alone redoes nothing more: it found the same numbers
    assert personal.personalise_dropoff(lib) == 0
