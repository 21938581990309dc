"""The scaling table: import, ``runs``, ``analyze`` and ``report`` at N = 200, 2,000, 20,000 runs.

For each N it writes N one-hour 1 Hz runs as FIT (every third with late fatigue) plus a
mobility log spanning the same days, imports them into a new library with all cores, then
runs ``runs --json``, ``analyze --json`` and ``report`` against it, each as its own process
(start-up included). It prints one Markdown row per N: wall seconds and the peak resident
memory of the command's process, and the time per run, so super-linear growth shows.

Run: ``.venv/bin/python benchmarks/scaling.py 200 2000 [20000]`` (default ``200 2000``;
``STRIDEKEEPER_BENCH_RUNS`` alone sets one N, as ``make bench`` does).
``--keep DIR`` keeps the generated files and libraries under DIR (and reuses them when run
again), so the commands can be timed again without regenerating the runs. ``--readme``
also writes the table into ``benchmarks/README.md``, between the ``scaling:begin`` and
``scaling:end`` markers, with the date and the machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from stridekeeper.synth.files import write_run_fit
from stridekeeper.synth.runs import simulate_run

T0 = pd.Timestamp("2016-01-01T07:00Z")


def write_inputs(folder: Path, n: int) -> tuple[Path, Path]:
    """N FIT files (one every 40 h, so N = 2,000 is about nine years) and a mobility log."""
    runs = folder / "runs"
    done = folder / ".complete"
    log_path = folder / "mobility.csv"
    if done.exists():
        return runs, log_path
    shutil.rmtree(runs, ignore_errors=True)
    runs.mkdir(parents=True)
    for i in range(n):
        start = T0 + pd.Timedelta(hours=40 * i)
        sim = simulate_run(start_time=start, duration_s=3600, fatigue_pct=4.0 * (i % 3 == 0),
                           seed=i)  # fmt: skip
        write_run_fit(sim, runs / f"run{i:05d}.fit")
    rng = np.random.default_rng(0)
    days = pd.date_range(T0 - pd.Timedelta(days=30), T0 + pd.Timedelta(hours=40 * n), freq="D")
    rows = [f"{d.date()}T19:00,20,hips" for d in days if rng.random() < 0.35]
    log_path.write_text("date,duration_min,focus\n" + "\n".join(rows) + "\n")
    done.touch()
    return runs, log_path


def timed(*args: str) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one ``stridekeeper`` process."""
    t = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([sys.executable, "-m", "stridekeeper.cli", *args],
                                stdout=subprocess.DEVNULL, stderr=err)  # fmt: skip
        _, status, usage = os.wait4(proc.pid, 0)  # this process's own peak, not the largest
        wall = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode not in (0, 1):
            err.seek(0)
            msg = err.read().decode(errors="replace").strip()[-500:]
            raise SystemExit(f"stridekeeper {' '.join(args)} failed: {msg}")
    # Import's workers are grandchildren: their peak is not in this process's ru_maxrss.
    return wall, usage.ru_maxrss / 1024


def measure(folder: Path, n: int) -> dict[str, tuple[float, float]]:
    """Import, runs, analyze and report of N runs; the library is built fresh every time."""
    runs, log = write_inputs(folder, n)
    lib = folder / "lib"
    shutil.rmtree(lib, ignore_errors=True)
    print(f"N={n}: inputs ready", file=sys.stderr, flush=True)
    jobs = {
        "import": ("import", str(runs), str(log), "--library", str(lib), "--json"),
        "runs --json": ("runs", "--library", str(lib), "--json"),
        "analyze": ("analyze", "--library", str(lib), "--json"),
        "report": ("report", "--library", str(lib), "--out", str(folder / "report.pdf")),
    }
    out: dict[str, tuple[float, float]] = {}
    for name, args in jobs.items():
        out[name] = timed(*args)
        # One line per command on stderr, so a run stopped part-way still leaves its figures.
        wall, rss = out[name]
        print(f"N={n}: {name} {wall:.2f} s ({rss:.0f} MB)", file=sys.stderr, flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sizes", nargs="*", type=int, default=[200, 2000])
    ap.add_argument("--keep", metavar="DIR", help="keep (and reuse) generated files here")
    ap.add_argument(
        "--readme",
        action="store_true",
        help="write the table into benchmarks/README.md (between its markers)",
    )
    args = ap.parse_args()
    if not sys.argv[1:] and os.environ.get("STRIDEKEEPER_BENCH_RUNS"):  # make bench: one small N
        args.sizes = [int(os.environ["STRIDEKEEPER_BENCH_RUNS"])]
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="sk-scaling-"))
    lines = [f"{dt.date.today().isoformat()}, {os.cpu_count()} cores, load "
             f"{os.getloadavg()[0]:.1f} at the start; wall seconds (peak RSS of the command's "
             "main process, MB)", "",
             "| runs | import | runs --json | analyze | report | import ms/run | report ms/run |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    print("\n".join(lines), flush=True)
    try:
        for n in args.sizes:
            res = subprocess.run([sys.executable, __file__, "--one", str(n), str(root / f"n{n}")],
                                 capture_output=True, text=True)  # fmt: skip
            if res.returncode:
                raise SystemExit(res.stderr.strip()[-800:])
            lines.append(res.stdout.strip())
            print(lines[-1], flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    if args.readme:
        write_readme(Path(__file__).with_name("README.md"), lines)


BEGIN, END = "<!-- scaling:begin -->", "<!-- scaling:end -->"


def write_readme(readme: Path, lines: list[str]) -> None:
    """Put ``lines`` between the scaling markers of ``readme`` (the rest is kept)."""
    text = readme.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{readme}: no {BEGIN} ... {END} markers to write the table between")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(head + BEGIN + "\n" + "\n".join(lines) + "\n" + END + tail,
                      encoding="utf-8")  # fmt: skip


def _one(n: int, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    m = measure(folder, n)
    cells = [f"{m[k][0]:.2f} s ({m[k][1]:.0f} MB)" for k in ("import", "runs --json", "analyze",
                                                             "report")]  # fmt: skip
    print(f"| {n:,} | " + " | ".join(cells)
          + f" | {1000 * m['import'][0] / n:.2f} | {1000 * m['report'][0] / n:.2f} |")  # fmt: skip


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--one":
        _one(int(sys.argv[2]), Path(sys.argv[3]))
    else:
        main()
