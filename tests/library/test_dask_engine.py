"""The Dask engine: same library and same analysis as the local engine, on a 20-athlete cohort."""

from __future__ import annotations

import builtins
import json
from pathlib import Path

import pandas as pd
import pytest

from stridekeeper.analysis.link import link_exposure
from stridekeeper.analysis.stats import analyze
from stridekeeper.cli import main
from stridekeeper.library import Library, import_paths
from stridekeeper.synth.files import run_fit_bytes
from stridekeeper.synth.runs import simulate_run
from stridekeeper.testing import write_cohort_export

distributed = pytest.importorskip("distributed")

from stridekeeper.analysis.dask_analysis import analyze_dask, link_exposure_dask  # noqa: E402
from stridekeeper.library.dask_engine import import_paths_dask  # noqa: E402

N_ATHLETES, N_RUNS = 20, 6
ATHLETES = {f"athlete_{i:02d}" for i in range(N_ATHLETES)}


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  host="127.0.0.1", dashboard_address=None) as c:  # fmt: skip
        yield c


@pytest.fixture(scope="module")
def client(cluster):
    with distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> Path:
    return write_cohort_export(tmp_path_factory.mktemp("cohort") / "export", N_ATHLETES, N_RUNS,
                               minutes=25, seed=9)  # fmt: skip


@pytest.fixture(scope="module")
def libraries(cohort: Path, cluster, tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("libs")
    local = root / "local"
    dask = root / "dask"
    rep_l = import_paths([cohort], local, jobs=2, athlete_from_path=True)
    rep_d = import_paths_dask([cohort], dask, scheduler=cluster.scheduler_address,
                              athlete_from_path=True)  # fmt: skip
    assert rep_l.failures == [] and rep_d.failures == []
    assert rep_l.to_dict() == rep_d.to_dict()
    assert rep_d.imported_runs == N_ATHLETES * N_RUNS
    return local, dask


def _table(frame: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    # when and where (file name) a row was written differ between any two imports
    frame = frame.drop(columns=[c for c in ("imported_at", "records_file") if c in frame.columns])
    return frame.sort_values(key).reset_index(drop=True)


def test_same_library_with_both_engines(libraries: tuple[Path, Path]) -> None:
    a, b = (Library.open(p) for p in libraries)
    runs_a, runs_b = _table(a.runs(), ["run_id"]), _table(b.runs(), ["run_id"])
    pd.testing.assert_frame_equal(runs_a, runs_b)
    assert runs_a["run_id"].is_unique and len(runs_a) == N_ATHLETES * N_RUNS
    assert set(runs_b["athlete"]) == ATHLETES
    assert (runs_b.groupby("athlete").size() == N_RUNS).all()
    mob_key = ["athlete", "start_time"]
    pd.testing.assert_frame_equal(_table(a.mobility(), mob_key), _table(b.mobility(), mob_key))
    assert set(b.mobility()["athlete"]) == ATHLETES
    src_a, src_b = _table(a.sources(), ["path"]), _table(b.sources(), ["path"])
    pd.testing.assert_frame_equal(src_a, src_b)
    # every file's athlete is the folder it lies in
    assert all(Path(p).parent.name == who for p, who in zip(src_b["path"], src_b["athlete"],
                                                             strict=True))  # fmt: skip
    rid = runs_b["run_id"].iloc[0]
    pd.testing.assert_frame_equal(a.records(rid), b.records(rid))


def test_same_analysis_with_both_engines(libraries: tuple[Path, Path], client) -> None:
    lib_l, lib_d = (Library.open(p) for p in libraries)
    local = analyze(lib_l.runs(), lib_l.mobility(), seed=3)
    runs, sessions = lib_d.runs(), lib_d.mobility()
    remote = analyze_dask(runs, sessions, seed=3, client=client)
    assert remote.to_dict() == local.to_dict()
    # athletes whose 14-day windows lie inside their own log for at least 5 runs
    linked = link_exposure(runs, sessions, windows_days=(14,))
    known = linked[linked["sessions_per_week_14d"].notna()].groupby("athlete").size()
    assert remote.cohort is not None and remote.cohort.n_athletes == int((known >= 5).sum())
    assert len(remote.athletes) == N_ATHLETES
    # the linking alone, in the original row order
    windows = (7, 14)
    pd.testing.assert_frame_equal(
        link_exposure_dask(runs, sessions, windows_days=windows, client=client),
        link_exposure(runs, sessions, windows_days=windows),
    )
    other = analyze_dask(runs, sessions, exposure="minutes_per_week", window_days=7,
                         client=client)  # fmt: skip
    assert other.to_dict() == analyze(runs, sessions, exposure="minutes_per_week",
                                      window_days=7).to_dict()  # fmt: skip


def test_cli_dask_engine(cohort: Path, cluster, libraries, tmp_path: Path, capsys,
                         monkeypatch) -> None:  # fmt: skip
    monkeypatch.setenv("DASK_LOGGING__DISTRIBUTED", "warning")
    lib = tmp_path / "lib"
    addr = cluster.scheduler_address
    assert main(["import", str(cohort), "--library", str(lib), "--engine", "dask",
                 "--scheduler", addr, "--athlete-from-path", "--json"]) == 0  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert out["imported_runs"] == N_ATHLETES * N_RUNS and out["failures"] == []
    assert set(Library.open(lib).runs()["athlete"]) == ATHLETES
    assert main(["analyze", "--library", str(lib), "--json"]) == 0
    local = json.loads(capsys.readouterr().out)
    assert main(["analyze", "--library", str(lib), "--json", "--engine", "dask",
                 "--scheduler", addr]) == 0  # fmt: skip
    assert json.loads(capsys.readouterr().out) == local


def _write(path: Path, day: int) -> None:
    sim = simulate_run(start_time=pd.Timestamp("2026-01-05T07:00Z") + pd.Timedelta(days=day),
                       duration_s=1500, seed=day)  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(run_fit_bytes(sim))


def test_athlete_from_path_local_engine(tmp_path: Path) -> None:
    export = tmp_path / "export"
    _write(export / "ann" / "a.fit", 1)
    _write(export / "bob" / "sub" / "b.fit", 2)
    _write(export / "loose.fit", 3)
    named = tmp_path / "named.fit"
    _write(named, 4)
    report = import_paths([export, named], tmp_path / "lib", jobs=1, athlete="team",
                          athlete_from_path=True)  # fmt: skip
    assert report.imported_runs == 4 and report.failures == []
    lib = Library.open(tmp_path / "lib")
    got = dict(zip(lib.sources()["path"].map(lambda p: Path(p).name), lib.sources()["athlete"],
                   strict=True))  # fmt: skip
    assert got == {"a.fit": "ann", "b.fit": "bob", "loose.fit": "team", "named.fit": "team"}
    assert sorted(lib.runs()["athlete"]) == ["ann", "bob", "team", "team"]


def test_default_local_cluster(tmp_path: Path) -> None:
    """Without a scheduler: a loopback cluster of `jobs` workers, closed afterwards."""
    _write(tmp_path / "in" / "a.fit", 1)
    _write(tmp_path / "in" / "b.fit", 2)
    report = import_paths([tmp_path / "in"], tmp_path / "lib", engine="dask", jobs=1)
    assert report.imported_runs == 2
    again = import_paths([tmp_path / "in"], tmp_path / "lib", engine="dask", jobs=1)
    assert again.unchanged == 2 and again.imported_runs == 0


def test_unknown_engine(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown engine"):
        import_paths([tmp_path], tmp_path / "lib", engine="spark")


def test_missing_dask_is_one_line(tmp_path: Path, capsys, monkeypatch) -> None:
    real_import = builtins.__import__

    def no_dask(name, *args, **kw):
        if name.split(".")[0] in ("dask", "distributed"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kw)

    monkeypatch.setattr(builtins, "__import__", no_dask)
    _write(tmp_path / "in" / "a.fit", 1)
    assert main(["import", str(tmp_path / "in"), "--library", str(tmp_path / "lib"),
                 "--engine", "dask"]) == 1  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "pip install 'stridekeeper[dask]'" in err
    assert not (tmp_path / "lib").exists()
    monkeypatch.setattr(builtins, "__import__", real_import)
    assert main(["import", str(tmp_path / "in"), "--library", str(tmp_path / "lib")]) == 0
    capsys.readouterr()
    monkeypatch.setattr(builtins, "__import__", no_dask)
    assert main(["analyze", "--library", str(tmp_path / "lib"), "--engine", "dask"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "pip install 'stridekeeper[dask]'" in err
