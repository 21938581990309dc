"""Peak memory of ``stridekeeper import`` on hostile archives (issue 16, item 7).

Builds, in a temporary folder:

* ``big-member.zip``: one 1.2 GiB member (``activity.fit``, zeros: a few MB on disk), below
  the 4 GB ``--max-archive-gb`` default;
* ``big.fit.gz``: 2 GiB of zeros, gzipped;
* ``export.zip``: an Apple Health export (``apple_health_export/export.xml``, ~``XML_MB``
  MB of phone records plus running workouts), imported once with ``--max-archive-gb`` below
  its size (refused) and once with the default (read, streamed);

and imports each into a fresh library in a child process under ``/usr/bin/time -v``
("Maximum resident set size": the largest single process of the import, workers included).
Target: every peak under ~1 GB.

Run: ``PYTHONPATH=src python benchmarks/hostile_memory.py [XML_MB]`` (default 150).
"""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

GIB = 1024**3
_ZEROS = bytes(16 * 1024**2)


def _write_zeros(fh, n: int) -> None:
    while n > 0:
        k = min(n, len(_ZEROS))
        fh.write(_ZEROS[:k])
        n -= k


def _build(tmp: Path, xml_mb: float) -> dict[str, Path]:
    from stridekeeper.testing import write_apple_health_export

    big_zip = tmp / "big-member.zip"
    with zipfile.ZipFile(big_zip, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("activity.fit", "w", force_zip64=True) as fh:
            _write_zeros(fh, int(1.2 * GIB))
    big_gz = tmp / "big.fit.gz"
    with gzip.open(big_gz, "wb", compresslevel=1) as fh:
        _write_zeros(fh, 2 * GIB)
    xml = tmp / "apple_health_export" / "export.xml"
    xml.parent.mkdir()
    filler = max(0, int((xml_mb - 300 * 0.27) * 1e6 / 280))
    write_apple_health_export(xml, runs=300, run_minutes=30, sample_interval_s=20,
                              filler_records=filler, mobility=(("Yoga", 20.0),))  # fmt: skip
    export = tmp / "export.zip"
    with zipfile.ZipFile(export, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.write(xml, "apple_health_export/export.xml")
    xml.unlink()
    return {"zip": big_zip, "gz": big_gz, "apple": export}


def _import(path: Path, lib: Path, *extra: str) -> tuple[float, int, str]:
    """Peak RSS [MB], exit code and the import's last line."""
    cmd = ["/usr/bin/time", "-v", sys.executable, "-c",
           "from stridekeeper.cli import console; console()",
           "import", str(path), "--library", str(lib), "--jobs", "2", *extra]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    peak = int(m.group(1)) / 1024 if m else float("nan")
    lines = [ln for ln in (done.stdout + done.stderr).splitlines()
             if ln.strip() and not ln.startswith(("\t", "Command exited"))]  # fmt: skip
    failed = [ln for ln in lines if "refused" in ln or "more than" in ln]
    lines = failed or lines
    return peak, done.returncode, (lines[-1] if lines else "")[:160]


def main(xml_mb: float = 150.0) -> None:
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="stridekeeper-hostile-") as tmp_s:
        tmp = Path(tmp_s)
        files = _build(tmp, xml_mb)
        xml_bytes = zipfile.ZipFile(files["apple"]).infolist()[0].file_size
        cap_gb = round(xml_bytes / 2 / 1e9, 3)
        cases = [
            ("zip, one 1.2 GiB member", files["zip"], ()),
            ("2 GiB .fit.gz", files["gz"], ()),
            (f"Apple Health export.zip ({xml_bytes / 1e6:.0f} MB), --max-archive-gb {cap_gb}",
             files["apple"], ("--max-archive-gb", str(cap_gb))),
            (f"Apple Health export.zip ({xml_bytes / 1e6:.0f} MB), default cap", files["apple"], ()),
        ]  # fmt: skip
        print(f"built in {time.perf_counter() - t0:.0f} s")
        print(f"{'input':58} | peak RSS | exit | last line")
        for i, (label, path, extra) in enumerate(cases):
            peak, code, last = _import(path, tmp / f"lib{i}", *extra)
            print(f"{label:58} | {peak:5.0f} MB | {code:4} | {last}")
    print(
        f"({time.perf_counter() - t0:.0f} s; python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPU(s))"
    )


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 150.0)
