"""The demo and the bundled sample data: it runs, and the sample runs keep their truth."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from stridekeeper.cli import main

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"


def _manifest_truth() -> dict[str, float]:
    """name -> true drop-off from MANIFEST.yml (tiny parser: the file is ours)."""
    truth, name = {}, None
    for line in (SAMPLE / "MANIFEST.yml").read_text().splitlines():
        m = re.match(r"^  ([\w-]+):$", line)
        if m:
            name = m.group(1)
        m = re.match(r"^      stride_dropoff_pct: (.+)$", line)
        if m and name:
            truth[name] = float(m.group(1))
    return truth


def test_demo_reports_every_sample_run_near_its_truth(capsys) -> None:
    assert main(["demo", "--json"]) == 0
    out = capsys.readouterr().out
    rows = json.loads(out[out.index("[") :])
    by_name = {r["source"].rsplit("/", 1)[-1].removesuffix(".fit"): r for r in rows}
    truth = _manifest_truth()
    assert set(truth) == set(by_name)
    for name, expected in truth.items():
        got = by_name[name]["stride_dropoff_pct"]
        if by_name[name]["dropoff_reason"]:
            assert got is None and "short" in name
            continue
        assert got == pytest.approx(expected, abs=1.0), name


def test_sample_data_is_what_the_generator_writes(tmp_path) -> None:
    from stridekeeper.synth.sample import write_sample_runs

    write_sample_runs(tmp_path)
    for path in sorted((SAMPLE / "runs").glob("*.fit")):
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name
    assert len(list(tmp_path.glob("*.fit"))) == len(list((SAMPLE / "runs").glob("*.fit")))
