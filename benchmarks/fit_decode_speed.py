"""FIT decoding speed: fitdecode against stridekeeper's columnar decoder.

Writes N one-hour 1 Hz runs (default 50) with the project's simulator and FIT encoder,
then times (a) fitdecode reading every file and collecting its ``record`` messages as
dicts (what ``io.fit.decode_fit`` does) and (b) ``decode_fit_columnar`` on the same bytes
(all records as numpy columns plus the session/lap/event/... dicts), and prints
records/s for both and the speed-up. Both run in this process, on bytes in memory.

Run: ``.venv/bin/python benchmarks/fit_decode_speed.py [N]`` (``make bench`` sets N with
``STRIDEKEEPER_BENCH_RUNS``).
"""

from __future__ import annotations

import io
import os
import sys
import time
import warnings

import numpy as np
import pandas as pd

from stridekeeper.io import fit_columnar
from stridekeeper.io.fit_columnar import decode_fit_columnar
from stridekeeper.synth.files import run_fit_bytes
from stridekeeper.synth.runs import simulate_run


def _files(n: int) -> list[bytes]:
    t0 = pd.Timestamp("2024-01-01T07:00Z")
    out = []
    for i in range(n):
        sim = simulate_run(start_time=t0 + pd.Timedelta(days=i), duration_s=3600,
                           fatigue_pct=4.0 * (i % 3 == 0), hills_amplitude_m=10.0 * (i % 2),
                           pauses=[(1200.0, 60.0)] if i % 4 == 0 else None, seed=i)  # fmt: skip
        out.append(run_fit_bytes(sim))
    return out


def _fitdecode_records(data: bytes) -> list[dict]:
    import fitdecode

    reader = fitdecode.FitReader(
        io.BytesIO(data),
        check_crc=fitdecode.CrcCheck.WARN,
        error_handling=fitdecode.ErrorHandling.WARN,
    )
    records = []
    for frame in reader:
        if isinstance(frame, fitdecode.FitDataMessage) and frame.name == "record":
            records.append({fd.name: fd.value for fd in frame.fields})
    return records


def main() -> None:
    n = (
        int(sys.argv[1])
        if len(sys.argv) > 1
        else int(os.environ.get("STRIDEKEEPER_BENCH_RUNS", 50))
    )
    files = _files(n)
    mb = sum(len(f) for f in files) / 1e6

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.perf_counter()
        n_ref = sum(len(_fitdecode_records(f)) for f in files)
        t_ref = time.perf_counter() - t

    def columnar(**kw: bool) -> tuple[float, int]:
        best, count = np.inf, 0
        for _ in range(5):
            t = time.perf_counter()
            decoded = [decode_fit_columnar(f, **kw) for f in files]
            best = min(best, time.perf_counter() - t)
            count = sum(s.n_records for d in decoded if d is not None for s in d.segments)
            if any(d is None for d in decoded):
                raise SystemExit("a synthetic file was routed to fitdecode: a bug")
        return best, count

    t_col, n_col = columnar()
    t_nocrc, _ = columnar(check_crc=False)
    if n_col != n_ref:
        raise SystemExit(f"record counts differ: fitdecode {n_ref}, columnar {n_col}")

    print(f"{n} one-hour 1 Hz runs: {n_ref:,} records, {mb:.1f} MB")
    print(f"fitdecode (records only):   {t_ref:7.2f} s   {n_ref / t_ref:12,.0f} records/s")
    print(f"decode_fit_columnar:        {t_col:7.3f} s   {n_col / t_col:12,.0f} records/s  "
          f"(CRC: {fit_columnar.CRC_BACKEND})")  # fmt: skip
    print(f"  same, check_crc=False:    {t_nocrc:7.3f} s   {n_col / t_nocrc:12,.0f} records/s")
    print(f"speed-up: {t_ref / t_col:.0f}x ({t_ref / t_nocrc:.0f}x without the CRC check)")


if __name__ == "__main__":
    main()
