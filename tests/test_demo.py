"""The demo and the bundled sample season: it runs, and the sample files keep their truth."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from pypdf import PdfReader

from stridekeeper.cli import main
from stridekeeper.io import read_runs
from stridekeeper.metrics import summarize

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"


def _manifest() -> dict:
    return yaml.safe_load((SAMPLE / "MANIFEST.yml").read_text(encoding="utf-8"))


def _manifest_truth() -> dict[str, float]:
    """file -> true drop-off from MANIFEST.yml."""
    return {name: float(entry["truth"]["stride_dropoff_pct"])
            for name, entry in _manifest()["files"].items()
            if "stride_dropoff_pct" in (entry.get("truth") or {})}  # fmt: skip


def test_manifest_is_yaml_and_names_every_sample_file() -> None:
    manifest = _manifest()
    files = manifest["files"]
    on_disk = {p.relative_to(SAMPLE).as_posix() for p in (SAMPLE / "watch").iterdir()}
    assert {n for n in files if n.startswith("watch/")} == on_disk
    assert files["watch/2026-02-12-1025-ride.fit"]["description"].startswith("a bike ride: ")
    assert manifest["season"]["parameters"]["weeks"] == 14
    assert "mobility_log.csv" in files


def test_sample_runs_measure_their_simulated_dropoff() -> None:
    truth = _manifest_truth()
    assert len(truth) >= 40
    errors = []
    for name, expected in truth.items():
        (run,) = read_runs(SAMPLE / name)
        s = summarize(run)
        errors.append(s["stride_dropoff_pct"] - expected)
    errors = [e for e in errors if e == e]
    assert len(errors) >= 40
    assert sum(abs(e) <= 1.0 for e in errors) / len(errors) >= 0.9


def test_demo_end_to_end(tmp_path: Path, capsys) -> None:
    out = tmp_path / "demo.pdf"
    assert main(["demo", "--json", "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["imported_runs"] == 49
    assert summary["skipped_by_sport"] == {"cycling": 1}
    assert len(summary["rejected_rows"]) == 3  # the log's deliberately imperfect rows
    assert "associated" in summary["conclusion"]
    assert summary["seconds"] < 60
    pages = PdfReader(str(out)).pages
    assert len(pages) >= 6
    text = "\n".join(p.extract_text() for p in pages)
    # the demo athlete's simulated 12-week plan, and the kinds of mobility work done
    assert "Your experiment" in text and "6 pairs of 1-week blocks" in text
    assert "Which kinds of mobility work" in text and "hips (body region)" in text


def test_sample_data_is_what_the_generator_writes(tmp_path: Path) -> None:
    from stridekeeper.synth.sample import write_sample_season

    write_sample_season(tmp_path)
    ours = sorted(p.relative_to(SAMPLE) for p in (SAMPLE / "watch").glob("*.fit"))
    theirs = sorted(p.relative_to(tmp_path) for p in (tmp_path / "watch").glob("*.fit"))
    assert ours == theirs
    for rel in ours:
        assert (tmp_path / rel).read_bytes() == (SAMPLE / rel).read_bytes(), rel
    assert (tmp_path / "mobility_log.csv").read_bytes() == (
        SAMPLE / "mobility_log.csv"
    ).read_bytes()


def test_sample_data_is_small() -> None:
    size = sum(p.stat().st_size for p in SAMPLE.rglob("*") if p.is_file())
    assert size < 10 * 1024**2


@pytest.mark.parametrize("name", ["mobility_template.csv", "mobility_log.csv"])
def test_sample_logs_read(name: str) -> None:
    from stridekeeper.io.mobility_log import read_mobility_log

    res = read_mobility_log(SAMPLE / name, tz="Europe/Copenhagen")
    # the template's rows are marked example=yes: never data
    assert len(res.sessions) + res.example_rows >= 3
    assert len(res.errors) == (3 if name == "mobility_log.csv" else 0)
