"""Mutation fuzz of the readers and the importer, with the outcome table.

    PYTHONPATH=src python benchmarks/fuzz_import.py [--n 10000] [--seed 0] [--concurrency]
                                                    [--kills 5]

Decodes ``--n`` seeded mutants (FIT with header and CRCs fixed up, TCX, GPX, CSV, a
mobility log, zips of them) as the importer does and counts, per format: inputs, ``ok``
(read, values possible), clean errors (one line naming the file), defects (any other
exception: a bug) and silent garbage (read "ok" with impossible values). ``--concurrency``
runs two imports into one library at once; ``--kills N`` SIGKILLs N imports mid-way and
checks the library, the workers and the temporary folder each time.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from stridekeeper.synth.fuzz import mutants, outcome, seeds


def _fmt(name: str) -> str:
    base = name.split("!")[0]
    if base.endswith(".zip"):
        return "zip"
    return {".fit": "fit", ".tcx": "tcx", ".gpx": "gpx"}.get(Path(base).suffix, "csv" if
            "run.csv" in base else "mobility")  # fmt: skip


def fuzz(n: int, seed: int) -> int:
    table: dict[str, Counter] = defaultdict(Counter)
    examples: dict[str, list[str]] = defaultdict(list)
    t0 = time.perf_counter()
    base = seeds()
    for name, data in mutants(n, seed=seed, base=base):
        fmt = _fmt(name)
        table[fmt]["inputs"] += 1
        for file, cls, detail in outcome(name, data):
            table[fmt][cls] += 1
            if cls in ("defect", "garbage") and len(examples[cls]) < 10:
                examples[cls].append(f"{file}: {detail[:160]}")
    wall = time.perf_counter() - t0
    cols = ("inputs", "ok", "clean_error", "defect", "garbage")
    print(f"{n} inputs, seed {seed}, {wall:.1f} s ({n / wall:.0f} inputs/s)\n")
    print("| format | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    total: Counter = Counter()
    for fmt in sorted(table):
        total.update(table[fmt])
        print(f"| {fmt} | " + " | ".join(str(table[fmt][c]) for c in cols) + " |")
    print("| all | " + " | ".join(str(total[c]) for c in cols) + " |")
    for cls, lines in examples.items():
        print(f"\n{cls}:")
        for line in lines:
            print("  " + line)
    return int(total["defect"] + total["garbage"])


def _folder(path: Path, days: range) -> Path:
    import pandas as pd

    from stridekeeper.synth.files import run_fit_bytes
    from stridekeeper.synth.runs import simulate_run

    path.mkdir(parents=True, exist_ok=True)
    for d in days:
        sim = simulate_run(start_time=pd.Timestamp("2026-01-05T07:00Z") + pd.Timedelta(days=d),
                           duration_s=600, seed=d)  # fmt: skip
        (path / f"run{d:03d}.fit").write_bytes(run_fit_bytes(sim))
    return path


def _import(folder: Path, lib: Path, tmp: Path, jobs: int = 1) -> subprocess.Popen:
    env = {**os.environ, "TMPDIR": str(tmp)}
    return subprocess.Popen([sys.executable, "-m", "stridekeeper.cli", "import", str(folder),
                             "--library", str(lib), "--jobs", str(jobs), "--commit-every", "4",
                             "--json"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip


def concurrency(trials: int = 3) -> None:
    from stridekeeper.library import Library

    ok = 0
    for t in range(trials):
        with tempfile.TemporaryDirectory() as tmp:
            tmp_p = Path(tmp)
            a, b = _folder(tmp_p / "a", range(0, 30)), _folder(tmp_p / "b", range(50, 80))
            procs = [_import(f, tmp_p / "lib", tmp_p) for f in (a, b)]
            codes = [p.wait() for p in procs]
            lib = Library.open(tmp_p / "lib")
            fine = codes == [0, 0] and len(lib.runs()) == 60 and lib.check().ok
            ok += fine
            print(f"concurrency trial {t + 1}: exit codes {codes}, {len(lib.runs())} of 60 runs, "
                  f"check {'ok' if lib.check().ok else 'FAILED'}")  # fmt: skip
    print(f"concurrency: {ok} of {trials} trials lost nothing")


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        out += [int(x) for x in (task / "children").read_text().split()]
    return out


def _alive(pid: int) -> bool:
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def kills(n: int) -> None:
    from stridekeeper.library import Library, import_paths

    orphans = spills = damaged = leftovers = 0
    with tempfile.TemporaryDirectory() as tmp:
        tmp_p = Path(tmp)
        tempfile.tempdir = tmp  # this process's import cleans up where the killed one spilled
        folder = _folder(tmp_p / "in", range(240))
        for k in range(n):
            lib_dir = tmp_p / f"lib{k}"
            proc = _import(folder, lib_dir, tmp_p, jobs=2)
            time.sleep(1.0 + 0.4 * k)
            workers = _children(proc.pid)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            time.sleep(2.0)
            orphans += sum(_alive(w) for w in workers)
            spills += len(list(tmp_p.glob(f"stridekeeper-import-{proc.pid}-*")))
            lib = Library.create(lib_dir)  # empty when killed before its first commit
            rep = lib.check()
            leftovers += len(rep.orphans)  # unnamed files of the killed commit: garbage only
            damaged += not rep.consistent
            at_kill = len(lib.runs())
            import_paths([folder], lib_dir, jobs=2)
            after = Library.open(lib_dir)
            print(json.dumps({"kill": k + 1, "runs_at_kill": at_kill, "workers": len(workers),
                              "orphaned_workers_so_far": orphans,
                              "complete_after_reimport": len(after.runs()) == 240,
                              "check_after": after.check().ok}))  # fmt: skip
        tempfile.tempdir = None
    print(
        f"kills: {n}; orphaned workers {orphans}; spill folders right after a kill {spills}; "
        f"inconsistent libraries {damaged}; unnamed files left by killed commits "
        f"{leftovers} (removed by the next commit or check --repair)"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--concurrency", action="store_true")
    ap.add_argument("--kills", type=int, default=0)
    args = ap.parse_args()
    bad = fuzz(args.n, args.seed)
    if args.concurrency:
        concurrency()
    if args.kills:
        kills(args.kills)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
