"""Render a simple page model (text, charts, tables) to a multi-page PDF with matplotlib.

The report module decides what goes on which page; this module only draws it. Pages are
8.27 x 11 in, which prints without clipping on both A4 and US Letter.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["ChartPage", "Document", "TablePage", "TextPage", "TextTablePage", "write_pdf"]

#: Fits A4 (8.27 x 11.69 in) and Letter (8.5 x 11 in).
PAGE_SIZE_IN = (8.27, 11.0)
_MARGIN = 0.07


@dataclass(frozen=True)
class TextPage:
    """A page of headed paragraphs: ``sections`` is a list of (heading or None, paragraph)."""

    title: str
    sections: Sequence[tuple[str | None, str]]
    subtitle: str | None = None


@dataclass(frozen=True)
class ChartPage:
    """A page of up to three charts, each a function drawing on the Axes it is given."""

    title: str
    charts: Sequence[Callable[[Any], Any]]
    caption: str | None = None
    heights: Sequence[float] | None = None


@dataclass(frozen=True)
class TablePage:
    """A table (already formatted as text, no NaN) split over as many pages as needed."""

    title: str
    table: pd.DataFrame
    note: str | None = None
    col_widths: Sequence[float] | None = None
    rows_per_page: int = 34


@dataclass(frozen=True)
class TextTablePage:
    """A table as monospaced text (one text object a page: cheap at thousands of rows).

    ``table`` is already formatted as text, no NaN; columns are right-aligned under their
    headings, the first column left-aligned. ``intro`` is a paragraph above the table.
    """

    title: str
    table: pd.DataFrame
    note: str | None = None
    intro: str | None = None
    rows_per_page: int = 58


@dataclass(frozen=True)
class Document:
    """What a PDF holds, with its metadata."""

    title: str
    author: str
    subject: str
    pages: Sequence[TextPage | ChartPage | TablePage | TextTablePage] = field(default_factory=list)
    keywords: str = "running; stride; mobility"


def _footer(fig: Any, doc: Document, number: int) -> None:
    fig.text(0.5, 0.02, f"{doc.title}  ·  page {number}", ha="center", va="bottom",
             fontsize=8, color="#666666")  # fmt: skip


#: Lowest a text page's text may reach (the footer sits below). [0-1 of the page height]
_TEXT_BOTTOM = 0.06
_LINE = 0.0185  # a 9.5-pt body line's pitch [0-1 of the page height]
_WIDTH_CHARS = 92


def _section_lines(paragraph: str) -> list[list[str]]:
    return [textwrap.wrap(para, _WIDTH_CHARS) or [""] for para in paragraph.split("\n")]


def _text_pages(page: TextPage, doc: Document, first_number: int) -> list[Any]:
    """A text page, continued on as many pages as its sections need (none is dropped)."""
    from matplotlib.figure import Figure

    figs: list[Any] = []
    y = 0.0

    def new_page() -> Any:
        nonlocal y
        fig = Figure(figsize=PAGE_SIZE_IN)
        figs.append(fig)
        y = 1 - _MARGIN
        title = page.title if len(figs) == 1 else f"{page.title} (continued)"
        fig.text(_MARGIN, y, title, fontsize=18, weight="bold", va="top")
        y -= 0.045
        if page.subtitle and len(figs) == 1:
            fig.text(_MARGIN, y, page.subtitle, fontsize=10, color="#444444", va="top")
            y -= 0.035
        return fig

    fig = new_page()
    for heading, paragraph in page.sections:
        paras = _section_lines(paragraph)
        need = (0.04 if heading else 0.0) + sum(_LINE * len(w) + 0.006 for w in paras)
        if y - need < _TEXT_BOTTOM and y < 1 - _MARGIN - 0.1:  # doesn't fit: next page
            fig = new_page()
        if heading:
            y -= 0.012
            fig.text(_MARGIN, y, heading, fontsize=12, weight="bold", va="top")
            y -= 0.028
        for wrapped in paras:
            # one text object a paragraph (laid out once); 1.44 x the font's line height
            # is the _LINE pitch
            fig.text(_MARGIN, y, "\n".join(wrapped), fontsize=9.5, va="top",
                     family="sans-serif", linespacing=1.44)  # fmt: skip
            y -= _LINE * len(wrapped) + 0.006
    for k, f in enumerate(figs):
        _footer(f, doc, first_number + k)
    return figs


def _chart_page(page: ChartPage, doc: Document, number: int) -> Any:
    from matplotlib.figure import Figure

    n = max(1, len(page.charts))
    fig = Figure(figsize=PAGE_SIZE_IN)
    fig.suptitle(page.title, fontsize=15, weight="bold", x=_MARGIN, ha="left")
    axes = fig.subplots(n, 1, height_ratios=list(page.heights) if page.heights else None,
                        squeeze=False)[:, 0]  # fmt: skip
    for ax, draw in zip(axes, page.charts, strict=False):
        draw(ax)
    _place_axes(fig, list(axes))
    if page.caption:
        fig.text(_MARGIN, 0.04, "\n".join(textwrap.wrap(page.caption, 110)), fontsize=8,
                 color="#444444", va="bottom")  # fmt: skip
    _footer(fig, doc, number)
    return fig


#: Where a chart page's axes may go: above the caption and footer, below the title. [0-1]
_CHART_BOX = (0.03, 0.10, 0.97, 0.91)


def _place_axes(fig: Any, stack: list[Any]) -> None:
    """Margins and gaps of a page's stacked axes, from one measurement of what they drew.

    Each axes' outer extent (tick labels, axis labels, titles, legends, twin axes,
    colorbars) is measured once (:func:`_outer_px`), then the grid is set so everything
    fits inside :data:`_CHART_BOX`. A layout engine would re-measure every text on
    several passes; this is one pass.
    """
    w_px, h_px = fig.bbox.width, fig.bbox.height
    x0, y0, x1, y1 = _CHART_BOX
    renderer = fig._get_renderer()  # what Figure.get_tightbbox() would use
    left = right = 0.0
    tops, bottoms = [], []
    for ax in stack:
        lft, rgt, top, bot = _outer_px(ax, [a for a in fig.axes if _shares_cell(a, ax)], renderer)
        left, right = max(left, lft / w_px), max(right, rgt / w_px)
        tops.append(top / h_px)
        bottoms.append(bot / h_px)
    gap = max(t + b for t, b in zip(tops[1:], bottoms[:-1], strict=True)) if len(stack) > 1 else 0
    top, bottom = y1 - tops[0], y0 + bottoms[-1]
    height = max((top - bottom - gap * (len(stack) - 1)) / len(stack), 0.05)
    fig.subplots_adjust(left=x0 + left, right=x1 - right, top=top, bottom=bottom,
                        hspace=(gap + 0.015) / height)  # fmt: skip


def _outer_px(ax: Any, cell: list[Any], renderer: Any) -> tuple[float, float, float, float]:
    """How far what ``cell`` (``ax`` and its twins) draws reaches beyond ``ax``'s box, left,
    right, above and below. [px]

    What ``Axes.get_tightbbox`` gives, without its axis part, which updates and lays out
    every tick (the drawing does all that again): each axis comes from
    :func:`_axis_box`; the other children (titles, legends, texts, colorbars) are measured
    as ``get_tightbbox`` measures them, except those clipped to a box inside the axes
    (lines, markers, patches, images), which can't reach beyond it, and the spines, whose
    tick marks lie inside the tick labels (measuring a spine updates every tick again).
    """
    from matplotlib.spines import Spine

    box = ax.bbox
    boxes = [box]
    for a in cell:
        if not a.get_visible():
            continue
        boxes += [_axis_box(a, name, renderer) for name in ("x", "y")
                  if a.axison and getattr(a, f"{name}axis").get_visible()]  # fmt: skip
        titles = [t for t in (a.title, a._left_title, a._right_title) if t.get_visible()]
        extra = [c for c in a.get_default_bbox_extra_artists()
                 if not isinstance(c, Spine) and not _clipped_inside(c, box)]  # fmt: skip
        boxes += [c.get_tightbbox(renderer) for c in titles + extra]
    boxes = [b for b in boxes if b is not None and np.isfinite(b.bounds).all()
             and (b.width != 0 or b.height != 0)]  # fmt: skip
    return (max(box.x0 - b.x0 for b in boxes), max(b.x1 - box.x1 for b in boxes),
            max(b.y1 - box.y1 for b in boxes), max(box.y0 - b.y0 for b in boxes))  # fmt: skip


def _clipped_inside(artist: Any, box: Any) -> bool:
    """``artist`` is clipped to a box inside ``box`` (so it can't be drawn beyond it)."""
    clip = artist.get_clip_box() if artist.get_clip_on() else None
    return clip is not None and (
        clip.x0 >= box.x0 - 0.5
        and clip.x1 <= box.x1 + 0.5
        and clip.y0 >= box.y0 - 0.5
        and clip.y1 <= box.y1 + 0.5
    )


def _axis_box(ax: Any, name: str, renderer: Any) -> Any:
    """The extent of ``ax``'s x or y axis (``name``): tick labels and axis label, without
    updating its ticks (measuring them that way cost as much as drawing them, and the
    drawing lays them all out again). Each tick label's text (from the locator and the
    formatter) is measured as a bare text placed as the tick would place it; the axis
    label from its font, beyond the tick labels by its pad. [px]

    An axis with an offset text (``1e3``, ``+2.016e3``) is measured the usual way.
    """
    from matplotlib.transforms import Bbox

    axis, box = getattr(ax, f"{name}axis"), ax.bbox
    lo, hi = sorted(axis.get_view_interval())
    tol = 1e-9 * max(abs(hi - lo), 1e-300)
    locs = [v for v in axis.get_majorticklocs() if lo - tol <= v <= hi + tol]
    formatter = axis.get_major_formatter()
    texts = list(formatter.format_ticks(locs)) if locs else []
    if getattr(formatter, "get_offset", lambda: "")():
        return axis.get_tightbbox(renderer)
    boxes = [box]
    tick = axis.get_major_ticks(1)[0] if locs else None  # the drawing uses this tick too
    for edge, lab in ((0.0, tick.label1), (1.0, tick.label2)) if tick is not None else ():
        if lab.get_visible():
            boxes += [_text_box(lab, (v, edge) if name == "x" else (edge, v), t, renderer)
                      for v, t in zip(locs, texts, strict=True) if t]  # fmt: skip
    ext = [min(b.x0 for b in boxes), min(b.y0 for b in boxes), max(b.x1 for b in boxes),
           max(b.y1 for b in boxes)]  # fmt: skip
    label = axis.label
    if label.get_visible() and label.get_text():
        lab_ext = label.get_window_extent(renderer)
        side = {"bottom": 1, "top": 3, "left": 0, "right": 2}[axis.get_label_position()]
        depth = axis.labelpad * ax.get_figure(root=True).dpi / 72
        depth += lab_ext.height if name == "x" else lab_ext.width
        ext[side] += -depth if side < 2 else depth
        i = 0 if name == "x" else 1  # along the axis: the label's own extent
        ext[i] = min(ext[i], (lab_ext.x0, lab_ext.y0)[i])
        ext[i + 2] = max(ext[i + 2], (lab_ext.x1, lab_ext.y1)[i])
    return Bbox([[ext[0], ext[1]], [ext[2], ext[3]]])


def _text_box(like: Any, xy: tuple[float, float], text: str, renderer: Any) -> Any:
    """The extent of ``text`` drawn at ``xy`` as the text artist ``like`` is drawn (its
    transform, font, rotation, alignment). [px]"""
    from matplotlib.text import Text

    t = Text(*xy, text, fontproperties=like.get_fontproperties(),
             rotation=like.get_rotation(), linespacing=like.get_linespacing(),
             horizontalalignment=like.get_horizontalalignment(),
             verticalalignment=like.get_verticalalignment(),
             rotation_mode=like.get_rotation_mode(), transform=like.get_transform())  # fmt: skip
    t.set_figure(like.get_figure(root=True))
    return t.get_window_extent(renderer)


def _shares_cell(a: Any, ax: Any) -> bool:
    """``a`` is ``ax`` or one of its twins (insets and colorbars are ``ax``'s children)."""
    return a is ax or a.get_position().bounds == ax.get_position().bounds


def _table_pages(page: TablePage, doc: Document, first_number: int) -> list[Any]:
    from matplotlib.figure import Figure

    table = page.table
    chunks = [table.iloc[i : i + page.rows_per_page] for i in range(0, max(len(table), 1),
                                                                    page.rows_per_page)]  # fmt: skip
    figs = []
    for k, chunk in enumerate(chunks):
        fig = Figure(figsize=PAGE_SIZE_IN)
        title = page.title if len(chunks) == 1 else f"{page.title} ({k + 1}/{len(chunks)})"
        fig.text(_MARGIN, 1 - _MARGIN, title, fontsize=15, weight="bold", va="top")
        ax = fig.add_axes((_MARGIN, 0.1, 1 - 2 * _MARGIN, 0.78))
        ax.axis("off")
        if len(chunk):
            tab = ax.table(cellText=chunk.to_numpy().tolist(), colLabels=list(chunk.columns),
                           loc="upper center", cellLoc="right", colLoc="right",
                           colWidths=list(page.col_widths) if page.col_widths else None)  # fmt: skip
            tab.auto_set_font_size(False)
            tab.set_fontsize(7.5)
            tab.scale(1.0, 1.25)
            for (row, _col), cell in tab.get_celld().items():
                cell.set_edgecolor("#cccccc")
                if row == 0:
                    cell.set_text_props(weight="bold")
                    cell.set_facecolor("#eeeeee")
        else:
            ax.text(0.5, 0.9, "not enough data", ha="center", fontsize=12, color="#555555")
        if page.note:
            fig.text(_MARGIN, 0.06, "\n".join(textwrap.wrap(page.note, 110)), fontsize=8,
                     color="#444444", va="bottom")  # fmt: skip
        _footer(fig, doc, first_number + k)
        figs.append(fig)
    return figs


def _text_lines(table: pd.DataFrame) -> list[str]:
    """Header, rule and rows of ``table`` as fixed-width lines."""
    cols = [str(c) for c in table.columns]
    cells = [table[c].astype(str).tolist() for c in table.columns]
    widths = [max([len(h), *map(len, col)]) for h, col in zip(cols, cells, strict=True)]

    def line(values: Sequence[str]) -> str:
        parts = [v.ljust(w) if i == 0 else v.rjust(w)
                 for i, (v, w) in enumerate(zip(values, widths, strict=True))]  # fmt: skip
        return "  ".join(parts).rstrip()

    rows = [line(vals) for vals in zip(*cells, strict=True)] if cells else []
    return [line(cols), "-" * len(line(cols)), *rows]


def _text_table_pages(page: TextTablePage, doc: Document, first_number: int) -> list[Any]:
    from matplotlib.figure import Figure

    lines = _text_lines(page.table)
    header, body = lines[:2], lines[2:]
    intro = textwrap.wrap(page.intro, 92) if page.intro else []
    first_rows = max(page.rows_per_page - (len(intro) + 1 if intro else 0), 10)
    chunks = [body[:first_rows]]
    chunks += [body[i : i + page.rows_per_page]
               for i in range(first_rows, len(body), page.rows_per_page)]  # fmt: skip
    width = max(map(len, lines)) if lines else 1
    size = min(8.0, 7.6 * 100 / max(width, 1))  # ~100 characters fit at 7.6 pt
    figs = []
    for k, chunk in enumerate(chunks):
        fig = Figure(figsize=PAGE_SIZE_IN)
        title = page.title if len(chunks) == 1 else f"{page.title} ({k + 1}/{len(chunks)})"
        fig.text(_MARGIN, 1 - _MARGIN, title, fontsize=15, weight="bold", va="top")
        y = 1 - _MARGIN - 0.05
        if k == 0 and intro:
            fig.text(_MARGIN, y, "\n".join(intro), fontsize=9.5, va="top", linespacing=1.5)
            y -= 0.0185 * len(intro) + 0.015
        if body:
            fig.text(_MARGIN, y, "\n".join([*header, *chunk]), fontsize=size, va="top",
                     family="monospace", linespacing=1.25)  # fmt: skip
        else:
            fig.text(_MARGIN, y, "none", fontsize=10, va="top", color="#555555")
        if page.note:
            fig.text(_MARGIN, 0.06, "\n".join(textwrap.wrap(page.note, 110)), fontsize=8,
                     color="#444444", va="bottom")  # fmt: skip
        _footer(fig, doc, first_number + k)
        figs.append(fig)
    return figs


def write_pdf(doc: Document, path: str | PathLike[str]) -> Path:
    """Draw every page of ``doc`` into a PDF at ``path`` (written atomically).

    Parameters
    ----------
    doc
        The document.
    path
        Output file; its folder is created.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    import logging
    import os

    import matplotlib as mpl
    from matplotlib.backends.backend_pdf import PdfPages

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    now = dt.datetime.now(dt.UTC)
    meta = {"Title": doc.title, "Author": doc.author, "Subject": doc.subject,
            "Keywords": doc.keywords, "Creator": "stridekeeper", "CreationDate": now,
            "ModDate": now}  # fmt: skip
    figs: list[Any] = []
    for page in doc.pages:
        number = len(figs) + 1
        if isinstance(page, TablePage):
            figs += _table_pages(page, doc, number)
        elif isinstance(page, TextTablePage):
            figs += _text_table_pages(page, doc, number)
        elif isinstance(page, ChartPage):
            figs.append(_chart_page(page, doc, number))
        else:
            figs += _text_pages(page, doc, number)
    core = _core_fonts_suffice(figs)
    fonts_log = logging.getLogger("matplotlib.font_manager")
    level = fonts_log.level
    if core:  # the standard Helvetica's weight is "Medium": matplotlib says so every text
        fonts_log.setLevel(logging.ERROR)
    try:
        with mpl.rc_context(_CORE_FONTS_RC if core else {}):
            with PdfPages(tmp, metadata=meta) as pdf:
                for fig in figs:
                    pdf.savefig(fig)  # a bare Figure: no pyplot, no window manager to close
    finally:
        fonts_log.setLevel(level)
    os.replace(tmp, out)
    return out


#: The PDF standard fonts (Helvetica, Courier, which every PDF reader has): nothing
#: embedded, each text written as one string (matplotlib lays an embedded font out glyph
#: by glyph: most of a report's drawing time), searchable text, a PDF a third smaller.
#: Minus signs as hyphens: U+2212 is not in those fonts' encoding.
_CORE_FONTS_RC = {"pdf.use14corefonts": True, "axes.unicode_minus": False}


def _core_fonts_suffice(figs: list[Any]) -> bool:
    """True when every text of the pages is in the standard fonts' encoding (Windows-1252:
    Western European letters); else the document embeds DejaVu Sans, which has the rest
    (an athlete's name in Polish, Greek or Japanese)."""
    from matplotlib.text import Text

    for fig in figs:
        ticks = {
            id(label)
            for ax in fig.axes
            for axis in (ax.xaxis, ax.yaxis)
            for tick in (*axis.majorTicks, *axis.minorTicks)
            for label in (tick.label1, tick.label2)
        }  # formatted again as drawn
        for text in fig.findobj(Text):
            if id(text) in ticks:
                continue
            try:
                text.get_text().encode("cp1252")
            except UnicodeEncodeError:
                return False
    return True
