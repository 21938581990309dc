"""Import rate against fitdecode's decode time, on simulated runs or on a mix of real files.

Times (a) fitdecode alone reading every record of every file in one process and
(b) ``stridekeeper import`` of the same files into a new, empty library (whole process, cold:
start-up, decode, metrics, atomic Parquet commits, default ``--jobs``; the median of six
such imports, three before (a) and three after), and prints runs/s, peak memory and the
ratio (b)/(a) (targets: <= 0.02 simulated, <= 0.03 real).

Then the breakdown: where (b)'s time goes, from one instrumented import in a fresh process
with ``--jobs 1`` (so every stage runs in one process and its seconds add up) and a plain
``--jobs 1`` process (the pool's gain is (b) minus that):

- start-up: the interpreter and the imports the command needs, to its first file;
- decode: FIT bytes to messages and record columns (``io.fit.decode_fit``);
- runs: messages to runs (sessions, timer, records table), the rest of the format's reader;
- metrics: everything else the worker does per file (``summarize``, the row, the records
  Arrow table);
- Parquet: writing the library's Parquet files; commit: the rest of the commits (the
  tables, manifest, locks, the personal drop-off pass) and the main process's own work.

Run: ``.venv/bin/python benchmarks/import_speed.py [N]`` (N simulated one-hour 1 Hz runs,
default 200; ``make bench`` uses ``STRIDEKEEPER_BENCH_RUNS``), or
``.venv/bin/python benchmarks/import_speed.py --real DIR [--copies K]``: every FIT file
under DIR (e.g. a folder of real watch files), K copies each (default 4) with the bytes
varied so their hashes differ (the header's profile version changes, header and file CRCs
recomputed, so a valid file stays valid and a damaged one stays damaged).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from stridekeeper.io.fit_crc import fit_crc
from stridekeeper.synth.files import write_run_fit
from stridekeeper.synth.runs import simulate_run


def write_simulated(folder: Path, n: int) -> None:
    t0 = pd.Timestamp("2024-01-01T07:00Z")
    for i in range(n):
        sim = simulate_run(start_time=t0 + pd.Timedelta(days=i), duration_s=3600,
                           fatigue_pct=4.0 * (i % 3 == 0), hills_amplitude_m=10.0 * (i % 2),
                           seed=i)  # fmt: skip
        write_run_fit(sim, folder / f"run{i:04d}.fit")


def varied(data: bytes, k: int) -> bytes:
    """``data`` with its first FIT header's profile version set from ``k`` (k = 0: as it
    is); the header CRC and the first segment's file CRC recomputed where they were right."""
    if k == 0 or len(data) < 14 or data[8:12] != b".FIT":
        return data
    size = data[0]
    end = size + int.from_bytes(data[4:8], "little")
    if size not in (12, 14) or end + 2 > len(data):
        return data
    body = bytearray(data)
    crc_ok = fit_crc(data[:end]) == int.from_bytes(data[end : end + 2], "little")
    body[2:4] = (2000 + k).to_bytes(2, "little")
    if size == 14 and data[12:14] != b"\0\0":
        body[12:14] = fit_crc(bytes(body[:12])).to_bytes(2, "little")
    if crc_ok:
        body[end : end + 2] = fit_crc(bytes(body[:end])).to_bytes(2, "little")
    return bytes(body)


def write_real_mix(folder: Path, source: Path, copies: int) -> None:
    files = sorted(p for p in source.rglob("*") if p.suffix.lower() == ".fit" and p.is_file())
    for j, path in enumerate(files):
        data = path.read_bytes()
        for k in range(copies):
            out = varied(data, k)
            if k and out == data:
                continue  # not a FIT file we can vary: once is enough
            (folder / f"f{j:03d}_{k}_{path.name}").write_bytes(out)


FITDECODE_ONLY = """
import sys, fitdecode, pathlib
n = 0
for p in sorted(pathlib.Path(sys.argv[1]).iterdir()):
    try:
        with fitdecode.FitReader(str(p), check_crc=fitdecode.CrcCheck.WARN,
                                 error_handling=fitdecode.ErrorHandling.WARN) as r:
            for f in r:
                if isinstance(f, fitdecode.FitDataMessage) and f.name == 'record':
                    n += len(f.fields)
    except Exception:
        pass  # a damaged file: fitdecode's time up to the damage counts
"""


def fitdecode_only(folder: Path) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-W", "ignore", "-c", FITDECODE_ONLY, str(folder)],
                   check=True)  # fmt: skip
    return time.perf_counter() - t


def timed_import(folder: Path, lib: Path, *extra: str) -> tuple[float, dict]:
    shutil.rmtree(lib, ignore_errors=True)
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "stridekeeper.cli", "import", str(folder),
                          "--library", str(lib), "--json", *extra],
                         capture_output=True, text=True)  # fmt: skip
    if out.returncode not in (0, 1):  # 1: some files failed (a real mix has damaged ones)
        raise SystemExit(f"import failed: {out.stderr.strip()[-500:]}")
    return time.perf_counter() - t, json.loads(out.stdout)


# The instrumented import: every stage's seconds, one process (--jobs 1).
INSTRUMENTED = """
import sys, time, json
t0 = time.perf_counter()
import stridekeeper.cli  # noqa: F401  (the command's settings: allocator, BLAS threads)
from stridekeeper.library import importer, store
from stridekeeper.io import fit, dispatch
import pyarrow.parquet as pq
spent = {"decode": 0.0, "reader": 0.0, "worker": 0.0, "parquet": 0.0, "commit": 0.0}
first = []
in_records = []  # record files are written on several threads: their wall time counts
def wrap(owner, name, key, flag=None):
    orig = getattr(owner, name)
    def timed(*a, **k):
        if not first:
            first.append(time.perf_counter())
        if in_records and flag is None and key == "parquet":
            return orig(*a, **k)  # inside the parallel record writes, already timed
        t = time.perf_counter()
        if flag is not None:
            flag.append(1)
        try:
            return orig(*a, **k)
        finally:
            if flag is not None:
                flag.pop()
            spent[key] += time.perf_counter() - t
    setattr(owner, name, timed)
wrap(fit, "decode_fit", "decode")
wrap(dispatch, "decode", "reader")
wrap(importer, "_decode_item", "worker")
wrap(pq, "write_table", "parquet")
wrap(pq.ParquetWriter, "write_table", "parquet")
import contextlib
write_records = store._records_written
@contextlib.contextmanager
def records_written(writes):  # the record files and, alongside, the small tables: wall time
    t = time.perf_counter()
    in_records.append(1)
    try:
        with write_records(writes) as wait:
            yield wait
    finally:
        in_records.pop()
        spent["parquet"] += time.perf_counter() - t
store._records_written = records_written
wrap(store.Library, "commit", "commit")
importer.import_paths([sys.argv[1]], sys.argv[2], jobs=1)
end = time.perf_counter()
spent["startup"] = (first[0] if first else end) - t0
spent["total_in_process"] = end - t0
print(json.dumps(spent), flush=True)
import os
os._exit(0)  # as the command does (stridekeeper.cli.console): no interpreter teardown
"""


def breakdown(folder: Path, lib: Path) -> dict[str, float]:
    shutil.rmtree(lib, ignore_errors=True)
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", INSTRUMENTED, str(folder),
                          str(lib)], check=True, capture_output=True, text=True)  # fmt: skip
    wall = time.perf_counter() - t
    spent = json.loads(out.stdout.strip().splitlines()[-1])
    spent["interpreter"] = wall - spent["total_in_process"]
    return spent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", nargs="?", type=int,
                    default=int(os.environ.get("STRIDEKEEPER_BENCH_RUNS", 200)))  # fmt: skip
    ap.add_argument("--real", metavar="DIR", help="a mix of the FIT files under DIR instead")
    ap.add_argument("--copies", type=int, default=4, help="copies of each real file")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "runs"
        folder.mkdir()
        if args.real:
            write_real_mix(folder, Path(args.real), args.copies)
            what = f"real mix: {len(list(folder.iterdir()))} files from {args.real}"
        else:
            write_simulated(folder, args.n)
            what = f"{args.n} simulated one-hour 1 Hz runs"
        mb = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
        lib = Path(tmp) / "lib"
        # (b): three cold imports before (a) and three after, the median of the six: a
        # shared machine's speed drifts over (a)'s half minute, and either order alone
        # would take (b) on one side of the drift
        runs_b = [timed_import(folder, lib) for _ in range(3)]
        a = fitdecode_only(folder)
        runs_b += [timed_import(folder, lib) for _ in range(3)]
        times_b = sorted(r[0] for r in runs_b)
        b = (times_b[2] + times_b[3]) / 2
        rep = runs_b[-1][1]
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        b1 = sorted(timed_import(folder, lib, "--jobs", "1")[0] for _ in range(3))[1]
        parts = breakdown(folder, lib)
    runs = rep.get("imported_runs", rep.get("runs", "?"))
    print(f"{what} ({mb:.1f} MB), {os.cpu_count()} cores; imported runs: {runs}")
    print(f"(a) fitdecode alone, one process: {a:.2f} s")
    print(
        f"(b) stridekeeper import, default --jobs, cold, empty library: {b:.2f} s (median of 6, "
        f"{times_b[0]:.2f}-{times_b[-1]:.2f} s)"
    )
    print(f"    --jobs 1: {b1:.2f} s; peak memory of a child process: {peak_mb:.0f} MB")
    if isinstance(runs, int):
        print(f"    {runs / b:.0f} runs/s, whole process")
    print(f"ratio (b)/(a): {b / a:.4f}")
    other = parts["total_in_process"] - parts["startup"] - parts["worker"] - parts["commit"]
    rows = [("start-up (interpreter)", parts["interpreter"] + 0.0),
            ("start-up (imports, to the first file)", parts["startup"]),
            ("decode (decode_fit)", parts["decode"]),
            ("runs (rest of the reader)", parts["reader"] - parts["decode"]),
            ("metrics (rest of the worker)", parts["worker"] - parts["reader"]),
            ("Parquet (records; the small tables beside)", parts["parquet"]),
            ("commit (rest)", parts["commit"] - parts["parquet"]),
            ("main process (expand, hash, personal pass)", other),
            ("pool: default --jobs minus --jobs 1", b - b1)]  # fmt: skip
    print("breakdown (--jobs 1, one instrumented process; seconds and share of (a)):")
    for label, sec in rows:
        print(f"  {label:<45} {sec:7.3f} s  {sec / a:.4f}")


if __name__ == "__main__":
    main()
