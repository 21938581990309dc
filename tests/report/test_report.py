"""The PDF report: pages, words, metadata, no 'nan', an empty period, the demo."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from pypdf import PdfReader

from stridekeeper.cli import main
from stridekeeper.library import import_paths
from stridekeeper.report.build import NOT_ENOUGH

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
    assert "The period, week by week" in joined and "Notable runs" in joined
    assert "Runs the analysis left out" in joined
    assert "Every run" not in joined  # the per-run table goes to the CSV beside the PDF
    assert "How the numbers are made" in joined and "60-second blocks" in joined


def test_every_run_goes_to_a_csv_and_the_pdf_only_when_asked(sample_library: Path,
                                                            tmp_path: Path) -> None:  # fmt: skip
    from stridekeeper.library import Library

    truth = Library.open(sample_library).runs()
    out = tmp_path / "season.pdf"
    assert main(["report", "--library", str(sample_library), "--out", str(out),
                 "--run-table"]) == 0  # fmt: skip
    table = pd.read_csv(tmp_path / "season-runs.csv")
    assert list(table["run_id"]) == list(truth["run_id"])
    assert table["distance_m"].to_numpy() == pytest.approx(truth["distance_m"].to_numpy())
    _, pages = _text(out)
    every = [p for p in pages if p.startswith("Every run") or "\nEvery run" in p[:40]]
    assert every, "--run-table lists every run in the PDF"
    # the longest run of the library is named in the notable runs, with its distance
    notable = next(p for p in pages if "Notable runs" in p)
    longest = truth.loc[truth["distance_m"].idxmax()]
    assert f"{longest['distance_m'] / 1000:.1f}" in notable
    # at its local start time (the watch's UTC offset), not UTC
    local = pd.Timestamp(longest["start_time"]) + pd.Timedelta(seconds=longest["utc_offset_s"])
    assert longest["utc_offset_s"] != 0 and local.strftime("%Y-%m-%d %H:%M") in notable


def test_report_covers_exactly_its_period(sample_library: Path, tmp_path: Path, capsys) -> None:
    from stridekeeper.library import Library

    lib = Library.open(sample_library)
    lo, hi = pd.Timestamp("2026-03-01", tz="UTC"), pd.Timestamp("2026-04-01", tz="UTC")
    runs = lib.runs()
    n_runs = int(((runs["start_time"] >= lo) & (runs["start_time"] < hi)).sum())
    ses = lib.mobility()
    in_ses = ses[(ses["start_time"] >= lo) & (ses["start_time"] < hi)]
    assert 0 < n_runs < len(runs) and 0 < len(in_ses) < len(ses)
    out = tmp_path / "march.pdf"
    assert main(["report", "--library", str(sample_library), "--out", str(out),
                 "--since", "2026-03-01", "--until", "2026-03-31"]) == 0  # fmt: skip
    assert f"({n_runs} runs, {len(in_ses)} mobility sessions" in capsys.readouterr().out
    table = pd.read_csv(tmp_path / "march-runs.csv")
    starts = pd.to_datetime(table["start_time"], utc=True)
    assert len(table) == n_runs and starts.min() >= lo and starts.max() < hi
    _, pages = _text(out)
    assert f"{n_runs} runs" in pages[0] and f"{len(in_ses)} mobility sessions" in pages[0]
    period = next(p for p in pages if "The period, week by week" in p)
    weeks = re.findall(r"^(\d{4}-\d{2}-\d{2})\s+(\d+)\s", period, flags=re.MULTILINE)
    first = min(runs["start_time"][runs["start_time"] >= lo].min(), in_ses["start_time"].min())
    monday = (first - pd.Timedelta(days=first.dayofweek)).strftime("%Y-%m-%d")
    assert weeks[0][0] == monday and weeks[-1][0] == "2026-03-30"  # the Mondays around March
    assert sum(int(n) for _, n in weeks) == n_runs
    mob_minutes = re.findall(r"^\d{4}-\d{2}-\d{2}(?:\s+\S+){6}\s+(\d+)$", period,
                             flags=re.MULTILINE)  # fmt: skip
    assert sum(int(m) for m in mob_minutes) == round(in_ses["duration_min"].sum())


@pytest.mark.parametrize(("args", "message"), [
    (["--since", "2026-02-30"], "not a calendar date"),
    (["--until", "03/01/2026"], "ambiguous"),
    (["--since", "yesterday"], "YYYY-MM-DD"),
])  # fmt: skip
def test_bad_dates_are_usage_errors(sample_library: Path, tmp_path: Path, capsys, args,
                                    message) -> None:  # fmt: skip
    with pytest.raises(SystemExit) as exc:
        main(["report", "--library", str(sample_library), "--out", str(tmp_path / "x.pdf"),
              *args])  # fmt: skip
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.pdf").exists()


def test_since_after_until_and_unknown_athlete_exit_2(sample_library: Path, tmp_path: Path,
                                                      capsys) -> None:  # fmt: skip
    out = str(tmp_path / "x.pdf")
    assert main(["report", "--library", str(sample_library), "--out", out,
                 "--since", "2026-04-01", "--until", "2026-03-01"]) == 2  # fmt: skip
    assert "--since 2026-04-01 is after --until 2026-03-01" in capsys.readouterr().err
    assert main(["report", "--library", str(sample_library), "--out", out,
                 "--athlete", "nobody"]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "no athlete 'nobody'" in err and "me" in err
    assert not Path(out).exists()


def test_single_run_without_mobility_gets_plain_sentences(tmp_path: Path, capsys) -> None:
    from stridekeeper.synth.files import write_run_fit
    from stridekeeper.synth.runs import simulate_run

    folder = tmp_path / "one"
    folder.mkdir()
    write_run_fit(simulate_run(duration_s=2400, seed=3), folder / "run.fit")
    lib = tmp_path / "lib"
    import_paths([folder], lib, jobs=1)
    out = tmp_path / "one.pdf"
    assert main(["report", "--library", str(lib), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert (
        "(1 run, 0 mobility sessions" in printed and "import your mobility log" in printed.lower()
    )
    _, pages = _text(out)
    first = " ".join(pages[0].split())  # lines wrap anywhere
    assert "1 run (" in first and "no mobility sessions" in first
    assert "Import your mobility log" in first
    assert NOT_ENOUGH not in first
    joined = " ".join(pages)
    assert "Mobility and stride" not in joined and "Notable runs" not in joined
    assert "The run has a drop-off." in joined


def test_empty_library_says_so(tmp_path: Path, capsys) -> None:
    from stridekeeper.library import Library

    Library.create(tmp_path / "lib")
    out = tmp_path / "empty.pdf"
    assert main(["report", "--library", str(tmp_path / "lib"), "--out", str(out)]) == 0
    assert "nothing to report yet" in capsys.readouterr().out
    _, pages = _text(out)
    assert len(pages) == 1 and "nothing to report" in pages[0]


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


def test_report_inputs_link_once_and_carry_typed_results(sample_library: Path,
                                                         monkeypatch) -> None:  # fmt: skip
    """One link of exposure serves the analysis and the scatter; the report reads the typed
    AnalysisResult (the same numbers `analyze` gives) and the weekly mobility table."""
    import stridekeeper.analysis.link as link
    from stridekeeper.analysis.consistency import weekly_summary
    from stridekeeper.analysis.result import AnalysisResult
    from stridekeeper.analysis.stats import analyze
    from stridekeeper.library import Library
    from stridekeeper.pipeline import report_inputs

    calls = []
    real = link.link_exposure

    def counting(*args, **kw):
        calls.append(1)
        return real(*args, **kw)

    monkeypatch.setattr(link, "link_exposure", counting)
    inp = report_inputs(sample_library)
    assert len(calls) == 1
    assert isinstance(inp.analysis, AnalysisResult)
    lib = Library.open(sample_library)
    direct = analyze(lib.runs(), lib.mobility())
    assert inp.analysis.rho == direct.rho and inp.analysis.p_value == direct.p_value
    assert inp.analysis.conclusion == direct.conclusion
    assert inp.analysis.exposure_column in inp.linked.columns
    pd.testing.assert_frame_equal(inp.weekly, weekly_summary(inp.sessions))


def test_the_calendar_shows_the_last_six_months_of_a_long_period() -> None:
    from stridekeeper.report.build import CALENDAR_MAX_DAYS, _calendar_start

    days = pd.date_range("2024-01-01", "2025-02-03", freq="3D").date
    sessions = pd.DataFrame({"local_date": days, "duration_min": 20.0})
    start, note = _calendar_start(sessions)
    assert (max(days) - start).days == CALENDAR_MAX_DAYS - 1
    assert "last 6 months" in note and str(start) in note
    assert _calendar_start(sessions.iloc[-30:]) == (None, "")  # 90 days: all of it
    assert _calendar_start(sessions.iloc[0:0]) == (None, "")
