"""The PDF report: pages, words, metadata, no 'nan', an empty period, the demo."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from stridekeeper.cli import main
from stridekeeper.library import import_paths

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"


@pytest.fixture(scope="module")
def sample_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lib = tmp_path_factory.mktemp("report") / "lib"
    report = import_paths([SAMPLE], lib, jobs=2)
    assert report.imported_runs >= 7
    return lib


def _text(pdf: Path) -> tuple[PdfReader, list[str]]:
    reader = PdfReader(str(pdf))
    return reader, [page.extract_text() or "" for page in reader.pages]


def test_report_pages_text_and_metadata(sample_library: Path, tmp_path: Path) -> None:
    out = tmp_path / "season.pdf"
    assert main(["report", "--library", str(sample_library), "--out", str(out)]) == 0
    reader, pages = _text(out)
    assert len(pages) >= 6
    meta = reader.metadata
    assert meta.title == "stridekeeper report" and meta.author
    assert "Late-run stride drop-off" in (meta.subject or "")
    first = pages[0]
    assert "Stride and mobility report" in first and "Period:" in first
    assert re.search(r"associated|no detectable association|not enough data", first)
    assert "caused" not in " ".join(pages).lower()
    for i, text in enumerate(pages):
        assert not re.search(r"\bnan\b", text, flags=re.IGNORECASE), f"'nan' on page {i + 1}"
    joined = " ".join(pages)
    assert "Every run" in joined and "Mobility, week by week" in joined
    assert "How the numbers are made" in joined and "60-second blocks" in joined


def test_empty_period_is_one_clear_page(sample_library: Path, tmp_path: Path) -> None:
    out = tmp_path / "empty.pdf"
    assert main(["report", "--library", str(sample_library), "--out", str(out),
                 "--since", "2031-01-01", "--until", "2031-02-01"]) == 0  # fmt: skip
    _, pages = _text(out)
    assert len(pages) == 1 and "nothing to report" in pages[0]


def test_report_without_library_is_one_line_error(tmp_path: Path, capsys) -> None:
    assert main(["report", "--library", str(tmp_path / "none"), "--out",
                 str(tmp_path / "x.pdf")]) == 1  # fmt: skip
    err = capsys.readouterr().err
    assert "no stridekeeper library" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.pdf").exists()
