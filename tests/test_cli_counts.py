"""The counts printed by ``import``, ``mobility`` and ``report`` agree (issue 17 item 6).

``sample_data`` holds a log beside the watch files, one of whose sessions was also recorded by
the watch: the log's local times are in the runs' offset (UTC+1), not UTC, so only the runs'
offset merges the two. The report covers the runs' period and says how many it leaves out.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from stridekeeper.cli import main

SAMPLE = Path(__file__).parent.parent / "sample_data"


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of sample_data (so nothing is written into the repository)."""
    dst = tmp_path_factory.mktemp("counts") / "sample_data"
    shutil.copytree(SAMPLE, dst)
    return dst


def _library_count(text: str) -> int:
    m = re.search(r"\((\d+) in the library", text)
    assert m, text
    return int(m.group(1))


def _mobility_count(capsys: pytest.CaptureFixture[str], *argv: str) -> int:
    main(["mobility", *argv])
    m = re.search(r"^Mobility sessions \((\d+)\):", capsys.readouterr().out, re.M)
    assert m
    return int(m.group(1))


def test_import_and_mobility_agree_on_sample_data(
    sample: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STRIDEKEEPER_HOME", str(tmp_path / "home"))  # no default library
    lib = tmp_path / "lib"
    main(["import", str(sample), "--library", str(lib)])
    out = capsys.readouterr().out
    stored = _library_count(out)
    assert stored == 46  # 47 read, the one both logged and recorded counted once
    assert _mobility_count(capsys, str(sample)) == stored  # offset from the FIT files given
    assert _mobility_count(capsys, str(sample), "--library", str(lib)) == stored
    # the log alone, in the library's offset: the watch's copy of the session isn't read
    assert _mobility_count(capsys, str(sample / "mobility_log.csv"), "--library", str(lib)) == 46


@pytest.mark.slow
def test_report_says_its_period_and_the_library_count(
    sample: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lib = tmp_path / "lib"
    main(["import", str(sample), "--library", str(lib)])
    stored = _library_count(capsys.readouterr().out)
    main(["report", "--library", str(lib), "--out", str(tmp_path / "r.pdf")])
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("report written"))
    m = re.search(r"(\d+) mobility sessions in the report's period \((\d+) in the library\)", line)
    assert m, line
    in_period, in_library = map(int, m.groups())
    assert in_library == stored
    assert 0 < in_period < stored  # sessions before the first run are outside the period
