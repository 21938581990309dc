"""Shared fixtures: where the real third-party files live, and how to ask for them."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib_agg_guard  # noqa: F401  (sets the Agg backend before any test imports pyplot)
import pytest

ROOT = Path(__file__).resolve().parents[1]


def realdata_dir() -> Path:
    """``../shared/realdata`` beside the checkout, or $STRIDEKEEPER_REALDATA."""
    env = os.environ.get("STRIDEKEEPER_REALDATA")
    return Path(env) if env else (ROOT.parent / "shared" / "realdata")


@pytest.fixture(scope="session")
def realdata() -> Path:
    """The real-data folder; skips when absent, fails when STRIDEKEEPER_REQUIRE_SHARED=1."""
    path = realdata_dir()
    if not (path / "device_summaries.csv").is_file():
        msg = (f"real third-party files not found at {path} (clone beside ../shared or set "
               "STRIDEKEEPER_REALDATA)")  # fmt: skip
        if os.environ.get("STRIDEKEEPER_REQUIRE_SHARED") == "1":
            pytest.fail(msg + "; STRIDEKEEPER_REQUIRE_SHARED=1 demands them")
        pytest.skip(msg)
    return path


def realdata_fit_paths(root: Path) -> list[Path]:
    """Every real FIT file under ``root``, in a stable order."""
    return sorted(root.rglob("*.fit")) + sorted(root.rglob("*.FIT"))


@pytest.fixture(scope="session")
def fitdecode_decoded(realdata: Path) -> dict[Path, object]:
    """Each real FIT file decoded once by fitdecode (``decode_fit(fast=False)``), for every
    sweep that compares against it: path -> DecodedFit, or the StridekeeperError raised."""
    import warnings

    from stridekeeper.errors import StridekeeperError
    from stridekeeper.io.fit import decode_fit

    out: dict[Path, object] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in realdata_fit_paths(realdata):
            try:
                out[path] = decode_fit(path.read_bytes(), name=str(path), fast=False)
            except StridekeeperError as exc:
                out[path] = exc
    return out


# --------------------------------------------------------------------------- markers
#: Tests that took about 2 s or more each on a 2-core machine (`pytest --durations=40`),
#: as "path::function" (every parametrisation of the function) or a whole file "path".
SLOW = {
    "tests/test_notebooks.py::test_notebook_executes",
    "tests/test_demo.py::test_demo_end_to_end",
    "tests/report/test_report.py::test_report_pages_text_and_metadata",
    "tests/io/test_apple_health.py::test_memory_stays_flat",
    "tests/io/test_fit_columnar.py::test_synthetic_fixtures_take_the_fast_path",
    "tests/io/test_fit_columnar.py::test_encoded_activities_match_fitdecode",
    "tests/io/test_fit_columnar.py::test_damaged_bytes_match_fitdecode_or_are_routed",
    "tests/io/test_fit_columnar.py::test_random_layouts_match_fitdecode",
    "tests/io/test_fit_paths_agree.py::test_synthetic_runs_identical",
    "tests/io/test_fit_damage.py::test_random_byte_damage_never_escapes",
    "tests/analysis/test_validation.py::test_interval_covers_the_true_rank_correlation",
    "tests/analysis/test_validation.py::test_confounder_without_effect_is_not_significant_after_controls",
    "tests/analysis/test_consistency.py::test_sessions_at_or_after_reference_time_change_nothing",
    # measured on a quiet 2-core machine on 2026-12-02 (2-10 s each)
    "tests/analysis/test_validation.py::test_runs_needed_claims_match_the_power_simulation",
    "tests/analysis/test_analysis_commands.py::test_power_from_library_says_how_many_more_weeks",
    "tests/test_fuzz.py::test_mutants_keep_the_contract",
    "tests/synth/test_confounded.py::test_fast_null_subset_stays_near_the_nominal_rate",
    "tests/analysis/test_report_each_athlete.py::test_each_athlete_writes_one_report_each_and_a_cohort_page",
    "tests/report/test_report.py::test_report_covers_exactly_its_period",
    "tests/report/test_report.py::test_every_run_goes_to_a_csv_and_the_pdf_only_when_asked",
    "tests/library/test_integrity.py::test_killed_import_leaves_no_workers_no_spill_and_a_whole_library",
    "tests/library/test_integrity.py::test_second_writer_refuses_or_waits",
    "tests/test_cli_counts.py::test_report_says_its_period_and_the_library_count",
    "tests/library/test_integrity.py::test_concurrent_imports_lose_nothing",
    "tests/analysis/test_cohort.py::test_between_athlete_test_holds_its_level_with_few_athletes",
    "tests/analysis/test_experiment.py::test_plan_power_holds_against_simulated_athletes",
}
#: Fixtures that start a Dask cluster (tests/library/test_dask_engine.py).
DASK_FIXTURES = {"cluster", "client", "libraries"}
DASK_TESTS = {"tests/library/test_dask_engine.py::test_default_local_cluster"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark `realdata` (uses the real files), `dask` (starts a cluster) and `slow` tests.

    `make test-fast` deselects all three; `make test` runs everything.
    """
    for item in items:
        path = Path(item.fspath).resolve().relative_to(ROOT).as_posix()
        name = f"{path}::{getattr(item, 'originalname', item.name)}"
        fixtures = set(getattr(item, "fixturenames", ()))
        if "realdata" in fixtures:
            item.add_marker(pytest.mark.realdata)
        if fixtures & DASK_FIXTURES or name in DASK_TESTS:
            item.add_marker(pytest.mark.dask)
        if path in SLOW or name in SLOW:
            item.add_marker(pytest.mark.slow)


# --------------------------------------------------------------------------- synthetic runs
#: Simulated runs whose truth the tests check; one FIT file each.
SYNTHETIC = {
    "fatigued": dict(duration_s=3600, speed_mps=3.0, fatigue_pct=6.0, seed=1),
    "fresh": dict(duration_s=3600, speed_mps=3.0, seed=2),
    "progression": dict(duration_s=3600, speed_mps=2.8, progression=0.30, seed=3),
    "paused": dict(duration_s=3600, speed_mps=3.0, seed=4,
                   pauses=[(900.0, 120.0), (2400.0, 300.0)]),
    "unpaused": dict(duration_s=3600, speed_mps=3.0, seed=4),
    "treadmill": dict(duration_s=2700, speed_mps=3.2, treadmill=True, fatigue_pct=4.0, seed=5),
    "no_step_length": dict(duration_s=3000, speed_mps=3.1, with_step_length=False,
                           fatigue_pct=6.0, seed=6),
    "hilly": dict(duration_s=4200, speed_mps=3.0, hills_amplitude_m=15.0, fatigue_pct=5.0,
                  seed=7),
    "short": dict(duration_s=900, speed_mps=3.0, seed=8),
}  # fmt: skip


@pytest.fixture(scope="session")
def simulated() -> dict:
    """name -> SimulatedRun, for the names in SYNTHETIC."""
    from stridekeeper.synth.runs import simulate_run

    return {name: simulate_run(**kw) for name, kw in SYNTHETIC.items()}


@pytest.fixture(scope="session")
def synthetic_fit_files(tmp_path_factory: pytest.TempPathFactory, simulated: dict) -> dict:
    """name -> path of a FIT file written by the project's own encoder."""
    from stridekeeper.synth.files import write_run_fit

    folder = tmp_path_factory.mktemp("synthetic_fit")
    return {name: write_run_fit(sim, folder / f"{name}.fit") for name, sim in simulated.items()}


@pytest.fixture(scope="session")
def small_fit_bytes() -> bytes:
    """A small valid running FIT file (3 minutes, two pauses, laps) for damage tests."""
    from stridekeeper.synth.files import run_fit_bytes
    from stridekeeper.synth.runs import simulate_run

    sim = simulate_run(duration_s=180, pauses=[(60.0, 10.0)], seed=11)
    return run_fit_bytes(sim)
