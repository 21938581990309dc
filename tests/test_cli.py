"""The command line: JSON shape, exit codes, one-line errors, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from stridekeeper.cli import INSPECT_KEYS, main


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "stridekeeper.cli", *args], capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip


def test_inspect_json_keys_and_values(synthetic_fit_files: dict[str, Path], capsys) -> None:
    path = synthetic_fit_files["fatigued"]
    assert main(["inspect", "--json", str(path)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 1
    row = rows[0]
    assert tuple(row) == INSPECT_KEYS
    assert row["source"] == str(path) and row["session_index"] == 0
    assert row["sport"] == "running"
    assert row["start_time"].startswith("2026-") and row["start_time"].endswith("+00:00")
    assert row["avg_cadence_spm"] == pytest.approx(row["device_summary"]["avg_cadence_spm"], abs=1)
    assert row["avg_stride_length_m"] == pytest.approx(2 * row["avg_step_length_m"])
    lo, hi = row["stride_dropoff_ci95"]
    assert lo <= row["stride_dropoff_pct"] <= hi
    assert row["dropoff_reason"] is None and row["warnings"] == []


def test_bad_file_is_one_line_and_others_still_reported(
    synthetic_fit_files: dict[str, Path], tmp_path: Path
) -> None:
    bad = tmp_path / "broken.fit"
    bad.write_bytes(synthetic_fit_files["fatigued"].read_bytes()[:10])
    res = _run("inspect", "--json", str(bad), str(synthetic_fit_files["fatigued"]))
    assert res.returncode == 1
    assert "Traceback" not in res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and str(bad) in lines[0]
    assert len(json.loads(res.stdout)) == 1


def test_missing_file_and_usage_errors() -> None:
    res = _run("inspect", "/no/such/file.fit")
    assert res.returncode == 1 and "no such file" in res.stderr and "Traceback" not in res.stderr
    assert _run("inspect").returncode == 2
    assert _run("no-such-command").returncode == 2


def test_table_output_names_every_session(realdata: Path) -> None:
    path = realdata / "muktihari-fit" / "triathlon_summary_last.fit"
    res = _run("inspect", str(path))
    assert res.returncode == 0, res.stderr
    for sport in ("swimming", "transition", "cycling", "running"):
        assert sport in res.stdout


def test_inspect_reports_every_session_of_a_multisport_file(realdata: Path, capsys) -> None:
    path = realdata / "muktihari-fit" / "triathlon_summary_first.fit"
    assert main(["inspect", "--json", str(path)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["session_index"] for r in rows] == [0, 1, 2, 3, 4]
    run = rows[4]
    assert run["sport"] == "running"
    assert run["avg_cadence_spm"] == pytest.approx(161.406, abs=0.1)
    assert run["avg_step_length_m"] == pytest.approx(1.0544, rel=0.001)
    assert run["device_summary"]["distance_m"] == pytest.approx(4491.51)


def test_help_is_fast_and_light() -> None:
    code = ("import sys, time; t=time.perf_counter(); from stridekeeper.cli import build_parser; "
            "build_parser().format_help(); "
            "print(any(m in sys.modules for m in ('matplotlib','scipy','statsmodels','pandas')))")  # fmt: skip
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.stdout.strip() == "False"


def test_inspect_does_not_import_plotting_or_statistics(synthetic_fit_files) -> None:
    path = synthetic_fit_files["fresh"]
    code = ("import sys; from stridekeeper.cli import main; "
            f"main(['inspect', '--json', {str(path)!r}]); "
            "print([m for m in ('matplotlib', 'scipy', 'statsmodels') if m in sys.modules], "
            "file=sys.stderr)")  # fmt: skip
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stderr.strip().splitlines()[-1] == "[]"


def test_inspect_csv_with_explicit_columns(tmp_path: Path, capsys) -> None:
    import numpy as np
    import pandas as pd

    t = pd.date_range("2026-01-01T07:00Z", periods=1500, freq="s")
    speed = np.full(1500, 3.0)
    pd.DataFrame({"Time": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "Velo": speed,
                  "Kad": np.full(1500, 180.0), "Weg": np.cumsum(speed)}).to_csv(
        tmp_path / "odd.csv", index=False)  # fmt: skip
    path = str(tmp_path / "odd.csv")
    assert main(["inspect", path]) == 1
    assert "found columns: Time, Velo, Kad, Weg" in capsys.readouterr().err
    cols = "timestamp=Time,speed_mps=Velo,cadence_spm=Kad,distance_m=Weg"
    assert main(["inspect", "--json", path, "--columns", cols]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["avg_cadence_spm"] == pytest.approx(180.0)
    assert row["avg_step_length_m"] == pytest.approx(1.0)
    assert _run("inspect", path, "--columns", "nonsense").returncode == 2


def test_command_leaves_quickly_with_all_its_output_and_status(tmp_path: Path) -> None:
    """The command skips interpreter teardown (os._exit) once done: output larger than
    any buffer still arrives whole, and the exit status is the command's."""
    sample = sorted((Path(__file__).parent.parent / "sample_data" / "watch").glob("*.fit"))
    assert len(sample) > 20
    bad = tmp_path / "bad.fit"
    bad.write_bytes(b"\x0e\x10" + b"\x00" * 40)
    res = _run("inspect", "--json", *map(str, sample), str(bad))
    rows = json.loads(res.stdout)  # ~50 kB through a pipe, complete
    assert len(rows) >= len(sample) and len(res.stdout) > 40_000
    assert res.returncode == 1  # one file was bad
    assert res.stderr.count("\n") == 1 and "bad.fit" in res.stderr
