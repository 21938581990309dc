"""The PDF's fonts: the standard Helvetica when every text is in its encoding, else the
embedded DejaVu Sans, which has the characters Helvetica lacks."""

from __future__ import annotations

from pathlib import Path

import pytest
from pypdf import PdfReader

from stridekeeper.plots.document import ChartPage, Document, TextPage, write_pdf


def _chart(ax) -> None:  # negative ticks: drawn with a hyphen under the standard fonts
    ax.plot([-3.0, 0.0, 2.0], [-1.0, 0.5, 1.0])
    ax.set_xlabel("speed [m/s]")


def _doc(name: str) -> Document:
    return Document(
        title="Trend report", author="stridekeeper", subject="test",
        pages=[
            TextPage("Summary", [("Who", f"Runs of {name}: drop-off 3.1 % ± 0.4, 12 × 5 km.")]),
            ChartPage("Chart", charts=[_chart]),
        ],
    )  # fmt: skip


def _fonts(pdf: Path) -> set[str]:
    out = set()
    for page in PdfReader(str(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            f = font.get_object()
            out.add(f"{f['/Subtype']} {f['/BaseFont']}")
    return out


def test_western_text_uses_the_standard_fonts(tmp_path: Path) -> None:
    pdf = write_pdf(_doc("Zoë Müller-Sørensen"), tmp_path / "r.pdf")
    fonts = _fonts(pdf)
    assert fonts and all(f.startswith("/Type1 /Helvetica") for f in fonts), fonts
    text = PdfReader(str(pdf)).pages[0].extract_text()
    assert "Zoë Müller-Sørensen" in text and "± 0.4" in text  # searchable, as written
    assert "-2" in PdfReader(str(pdf)).pages[1].extract_text()  # a tick label's minus


@pytest.mark.parametrize("name", ["Łukasz Żółć", "Γιώργος", "山田太郎"])
def test_other_scripts_embed_a_font_that_has_them(tmp_path: Path, name: str) -> None:
    pdf = write_pdf(_doc(name), tmp_path / "r.pdf")
    fonts = _fonts(pdf)
    assert not any("Helvetica" in f for f in fonts), fonts
    assert any("DejaVu" in f for f in fonts), fonts
