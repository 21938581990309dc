"""Import files, folders and whole watch exports into the library, incrementally and safely.

Inputs are expanded into items (plain files, ``.gz`` files, members of zip archives, also
nested ones such as Garmin's ``UploadedFiles_*.zip``); each item is decoded in a worker
process into run summaries, records and mobility sessions; the main process commits them
in batches, each batch atomically (see :mod:`stridekeeper.library.store`).

Safety: zip members with absolute paths or ``..`` are refused and reported; an archive
whose members decompress to more than ``max_archive_bytes`` is refused; a bad file never
stops the batch; source files are only read.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import shutil
import sys
import tempfile
import time
import warnings
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd

from ..errors import StridekeeperError, UnsupportedFormatError
from .store import Commit, Library, typical_offset, write_lock

__all__ = ["ImportReport", "import_paths"]

log = logging.getLogger(__name__)

#: A local process pool's task: up to this many files, or this many bytes. [-], [bytes]
CHUNK_FILES = 4
CHUNK_BYTES = 8 * 1024**2
#: Default cap on what one archive may decompress to. [bytes]
MAX_ARCHIVE_BYTES = 4 * 1024**3
#: Largest single file or archive member read (decompressed): one activity file or log is
#: a few tens of MB; anything bigger is refused before it is held in memory. [bytes]
MAX_MEMBER_BYTES = 128 * 1024**2
#: Input bytes handed to the workers at once, at most (beyond one task): with members of up
#: to MAX_MEMBER_BYTES, this is what keeps an import's memory bounded. [bytes]
MAX_INFLIGHT_BYTES = 256 * 1024**2
#: Same activity as a summary row and as a file: start within this and distance within 2 %.
SAME_ACTIVITY_START_S = 120.0
#: ... or start within this, whatever the distances. [s]
SAME_START_EXACT_S = 2.0
SAME_ACTIVITY_DISTANCE_REL = 0.02
_SKIP_NAMES = {".DS_Store", "Thumbs.db"}
#: Archives inside archives deeper than this are refused (Garmin nests two levels).
MAX_ZIP_DEPTH = 8
#: Prefix of the workers' temporary record folders (``<prefix><pid>-<random>``).
SPILL_PREFIX = "stridekeeper-import-"
#: In folders and archives: activity files (a failure is reported) ...
ACTIVITY_EXTENSIONS = (".fit", ".tcx", ".gpx")
#: ... files that may or may not be data (tried; ignored when not a format stridekeeper reads)
MAYBE_EXTENSIONS = (".csv", ".json", ".jsonl", ".ndjson", ".xml")


@dataclass
class _Item:
    """One file to import: a path on disk, or bytes taken out of an archive."""

    display: str
    path: Path | None = None
    data: bytes | None = None
    explicit: bool = False  # named on the command line (else found in a folder or archive)
    apple: bool = False  # an Apple Health export: streamed from disk, never held in memory

    def read(self) -> bytes:
        if self.data is not None:
            return self.data
        if self.path is None:
            raise OSError(f"{self.display}: nothing to read")
        return self.path.read_bytes()


@dataclass
class ImportReport:
    """What an import did.

    Attributes
    ----------
    files_seen
        Files (and archive members) looked at.
    imported_files, imported_runs
        New or changed files, and the runs they gave.
    unchanged
        Files whose content was already in the library.
    skipped_by_sport
        Non-running sessions left out, counted by sport.
    mobility_sessions
        Mobility sessions added (logs and watch-recorded).
    superseded_summaries
        Summary-only rows dropped because the same activity came as a file.
    personalised_runs
        Runs whose drop-off was computed again with the athlete's own step-speed relation
        (their late window was outside their own fresh speeds; see :mod:`.personal`).
    ignored
        Files in folders or archives that are not data stridekeeper reads (readme files,
        settings, other JSON): counted, not failures.
    rejected_rows
        Bad rows of mobility logs (file:line: column: value: what is allowed); the good
        rows of those logs are imported.
    failures
        (file, reason) of everything that could not be imported.
    """

    files_seen: int = 0
    imported_files: int = 0
    imported_runs: int = 0
    unchanged: int = 0
    skipped_by_sport: Counter = field(default_factory=Counter)
    mobility_sessions: int = 0
    superseded_summaries: int = 0
    personalised_runs: int = 0
    ignored: int = 0
    rejected_rows: list[str] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "files_seen": self.files_seen,
            "imported_files": self.imported_files,
            "imported_runs": self.imported_runs,
            "unchanged": self.unchanged,
            "skipped_by_sport": dict(self.skipped_by_sport),
            "mobility_sessions": self.mobility_sessions,
            "superseded_summaries": self.superseded_summaries,
            "personalised_runs": self.personalised_runs,
            "ignored": self.ignored,
            "rejected_rows": list(self.rejected_rows),
            "failures": [{"file": f, "reason": r} for f, r in self.failures],
        }


# --------------------------------------------------------------------------- expansion
def _safe_member(name: str) -> bool:
    p = PurePosixPath(name.replace("\\", "/"))
    return not (p.is_absolute() or name.startswith(("/", "\\")) or ".." in p.parts
                or (len(name) > 1 and name[1] == ":"))  # fmt: skip


def _expand_zip(
    data_or_path: bytes | Path | io.IOBase,
    display: str,
    budget: list[int],
    failures: list[tuple[str, str]],
    depth: int = 0,
) -> Iterator[_Item]:
    if depth > MAX_ZIP_DEPTH:
        failures.append((display, f"archive refused: zips nested more than {MAX_ZIP_DEPTH} "
                         "levels deep"))  # fmt: skip
        return
    try:
        zf = zipfile.ZipFile(io.BytesIO(data_or_path) if isinstance(data_or_path, bytes)
                             else data_or_path)  # type: ignore[arg-type]  # fmt: skip
    except Exception as exc:  # any damage: that archive's failure line, never the batch's
        failures.append((display, f"damaged zip archive ({type(exc).__name__}: {exc})"))
        return
    with zf:
        # not ZipInfo.is_dir(): it fails on an empty name (zipfile cuts names at a NUL)
        infos = [i for i in zf.infolist() if not i.filename.endswith("/")]
        declared = sum(i.file_size for i in infos)
        if declared > budget[0]:
            failures.append((display, f"archive refused: its members decompress to "
                             f"{declared / 1e9:.1f} GB, over the {budget[0] / 1e9:.1f} GB cap "
                             "(--max-archive-gb)"))  # fmt: skip
            return
        for info in infos:
            name = info.filename
            where = f"{display}!{name}"
            if not name.strip("\x00 ") or name.startswith("\x00"):
                failures.append((where, "archive member with an empty or NUL name: refused"))
                continue
            if not _safe_member(name):
                failures.append((where, "unsafe path in archive (absolute or '..'): refused"))
                continue
            if PurePosixPath(name).name in _SKIP_NAMES or "__MACOSX" in name:
                continue
            nested = name.lower().endswith(".zip")
            if not nested and _kind(_Item(display=where)) == "ignore":
                yield _Item(display=where, data=b"")  # counted as ignored, never read
                continue
            if not nested and info.file_size > MAX_MEMBER_BYTES:
                failures.append((where, f"member refused: {info.file_size / 1e6:.0f} MB, over "
                                 f"the {MAX_MEMBER_BYTES / 1e6:.0f} MB an activity file may be"))  # fmt: skip
                continue
            try:
                with zf.open(info) as fh:
                    if nested:  # spooled to an unnamed file: memory stays bounded
                        payload = _spool(fh, budget[0] + 1)
                    else:
                        payload = fh.read(min(budget[0], MAX_MEMBER_BYTES) + 1)
            except (zipfile.BadZipFile, OSError, EOFError, zlib.error, RuntimeError) as exc:
                failures.append((where, f"damaged archive member ({exc})"))
                continue
            except Exception as exc:  # LZMA/bzip2 errors, unsupported methods, ...
                failures.append((where, f"damaged archive member ({type(exc).__name__}: {exc})"))
                continue
            size = payload.seek(0, os.SEEK_END) if not isinstance(payload, bytes) else len(payload)
            budget[0] -= size
            if budget[0] < 0:
                failures.append((display, "archive refused: decompressed size over the cap"))
                return
            if nested:
                payload.seek(0)  # type: ignore[union-attr]
                with payload:  # type: ignore[union-attr]
                    yield from _expand_zip(payload, where, budget, failures, depth + 1)
            elif size > MAX_MEMBER_BYTES:
                failures.append((where, f"member refused: over the {MAX_MEMBER_BYTES / 1e6:.0f} "
                                 "MB an activity file may be"))  # fmt: skip
            else:
                yield _Item(display=where, data=payload)  # type: ignore[arg-type]


def _spool(fh: Any, limit: int) -> Any:
    """Copy a stream into an unnamed temporary file (in memory while small), up to
    ``limit`` bytes; returns the file, positioned at its end."""
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024**2)
    left = limit
    while left > 0:
        chunk = fh.read(min(1 << 20, left))
        if not chunk:
            break
        out.write(chunk)
        left -= len(chunk)
    return out


def _expand(
    paths: Sequence[str | os.PathLike[str]],
    failures: list[tuple[str, str]],
    max_archive_bytes: int,
    exclude: Path | None,
) -> Iterator[_Item]:
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            failures.append((str(path), "no such file or folder"))
            continue
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file())
        else:
            files = [path]
        for f in files:
            try:
                yield from _expand_file(f, path, failures, max_archive_bytes, exclude)
            except Exception as exc:  # one file's trouble is that file's failure line
                failures.append((str(f), f"cannot read ({type(exc).__name__}: {exc})"))


def _expand_file(
    f: Path,
    path: Path,
    failures: list[tuple[str, str]],
    max_archive_bytes: int,
    exclude: Path | None,
) -> Iterator[_Item]:
    """The items of one file found under (or named as) ``path``."""
    if exclude is not None and exclude in f.resolve().parents:
        return
    if f.name in _SKIP_NAMES or f.name.startswith("."):
        return
    if _is_apple_export(f):
        declared = _zip_declared_bytes(f)
        if declared > max_archive_bytes:
            failures.append((str(f), f"archive refused: its members decompress to "
                             f"{declared / 1e9:.1f} GB, over the "
                             f"{max_archive_bytes / 1e9:.1f} GB cap (--max-archive-gb)"))  # fmt: skip
            return
        yield _Item(display=str(f), path=f, explicit=f == path, apple=True)
    elif f.is_file() and f.suffix.lower() != ".zip" and _too_big(f):
        failures.append((str(f), f"file refused: over the {MAX_MEMBER_BYTES / 1e6:.0f} MB an "
                         "activity file may be"))  # fmt: skip
    elif f.suffix.lower() == ".zip":
        yield from _expand_zip(f, str(f), [max_archive_bytes], failures)
    else:
        yield _Item(display=str(f), path=f, explicit=f == path)


def _zip_declared_bytes(path: Path) -> int:
    """What a zip's members say they decompress to (0 for an ``export.xml``). [bytes]"""
    if path.suffix.lower() != ".zip":
        return 0
    try:
        with zipfile.ZipFile(path) as zf:
            return sum(i.file_size for i in zf.infolist())
    except Exception:
        return 0


def _too_big(path: Path) -> bool:
    try:
        return path.stat().st_size > MAX_MEMBER_BYTES
    except OSError:
        return False


def _is_apple_export(path: Path) -> bool:
    """An Apple Health ``export.xml`` or the ``export.zip`` holding one."""
    name = path.name.lower()
    if name == "export.xml":
        try:
            with open(path, "rb") as fh:
                head = fh.read(4096)
        except OSError:
            return False
        return b"<HealthData" in head or b"<!DOCTYPE HealthData" in head
    if path.suffix.lower() != ".zip":
        return False
    try:
        with zipfile.ZipFile(path) as zf:
            return any(_is_apple_export_member(zf, n) for n in zf.namelist())
    except Exception:  # a damaged zip is reported by the ordinary zip expansion
        return False


def _is_apple_export_member(zf: zipfile.ZipFile, name: str) -> bool:
    """``export.xml`` at the export's root (``export.xml`` or ``<folder>/export.xml``)
    whose first bytes are Apple Health's ``<HealthData`` document."""
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if not parts or parts[-1].lower() != "export.xml" or len(parts) > 2:
        return False
    try:
        with zf.open(name) as fh:
            head = fh.read(4096)
    except Exception:
        return False
    return b"<HealthData" in head or b"<!DOCTYPE HealthData" in head


def _athlete_from_path(display: str, roots: Sequence[str | os.PathLike[str]], default: str) -> str:
    """The first folder level below the PATH argument a file was found under."""
    file = Path(display.split("!", 1)[0])
    for root in roots:
        base = Path(root)
        try:
            parts = file.relative_to(base).parts
        except ValueError:
            continue
        if len(parts) > 1:
            return parts[0]
    return default


def _source_key(sha: str, athlete: str, display: str) -> str:
    """What makes two files "the same source": the content hash, and for a mobility log the
    athlete too (two athletes' folders may hold identical logs; each is that athlete's)."""
    return f"{athlete}\0{sha}" if _is_log_name(display) else sha


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _kind(item: _Item) -> str:
    """``"activity"`` (failures reported), ``"maybe"`` (tried quietly) or ``"ignore"``."""
    if item.explicit:
        return "activity"
    name = item.display.rsplit("!", 1)[-1].lower().removesuffix(".gz")
    if name.endswith(".gpx") and "routes" in name.replace("\\", "/").split("/")[:-1]:
        return "ignore"  # a Strava export's planned routes (routes/*.gpx): no times, no run
    if name.endswith(ACTIVITY_EXTENSIONS):
        return "activity"
    if name.endswith(MAYBE_EXTENSIONS):
        return "maybe"
    return "ignore"


# --------------------------------------------------------------------------- decoding
def _looks_like_mobility_log(data: bytes, name: str) -> bool:
    low = name.lower().removesuffix(".gz")
    if not low.endswith((".csv", ".tsv", ".txt", ".json", ".jsonl", ".ndjson")):
        return False
    head = data[:4096].decode("utf-8-sig", errors="replace").lower()
    return "date" in head and "duration_min" in head


def _decode_apple(out: dict[str, Any], path: Path, display: str, athlete: str) -> dict[str, Any]:
    from ..io.apple_health import read_apple_health, read_apple_health_mobility

    for run in read_apple_health(path, name=display):
        if run.meta.get("sport") in ("running", None):
            out["runs"].append(_run_entry(run, athlete, None))
        else:
            out["skipped"][str(run.meta.get("sport"))] += 1
    out["sessions"] = read_apple_health_mobility(path, name=display)
    return out


def _is_log_name(display: str) -> bool:
    name = display.rsplit("!", 1)[-1].lower().removesuffix(".gz")
    return name.endswith((".csv", ".tsv", ".txt", ".json", ".jsonl", ".ndjson"))


def _decode_items(items: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Worker: :func:`_decode_item` for each argument tuple, in order."""
    return [_decode_item(*args) for args in items]


def _decode_item(
    display: str,
    data: bytes | None,
    athlete: str,
    cap: int,
    log_tz: int | None = None,
    apple_path: Path | None = None,
    spill_dir: str | None = None,
) -> dict[str, Any]:
    """Worker: bytes -> run rows, records, mobility sessions. Never raises for bad input.

    With ``spill_dir`` (a local process pool) each run's records are written there as an
    Arrow IPC file and only its path is sent back (see :func:`_spill`).
    """
    from ..io import dispatch
    from ..io._common import gunzip
    from ..io.mobility_fit import is_mobility_session

    out: dict[str, Any] = {"display": display, "runs": [], "sessions": None,
                           "skipped": Counter(), "error": None, "rejected": []}  # fmt: skip
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if apple_path is not None:
                return _decode_apple(out, apple_path, display, athlete)
            if data is None:
                raise StridekeeperError(f"{display}: nothing to read")
            data = gunzip(data, display, min(cap, MAX_MEMBER_BYTES))
            if _looks_like_mobility_log(data, display):
                out["sessions"], out["rejected"] = _read_log(data, display, log_tz)
                return out
            fmt = dispatch.detect_format(data[:512], display)
            if fmt not in dispatch._READERS:
                raise UnsupportedFormatError(f"{display}: not an activity or mobility file this "
                                             "version reads")  # fmt: skip
            runs = dispatch._READERS[fmt](data, display, None)
            _refuse_empty(runs, fmt, display)
            mobility_runs = []
            for run in runs:
                if is_mobility_session(run.meta.get("sport"), run.meta.get("sub_sport")):
                    mobility_runs.append(run)
                elif run.meta.get("sport") not in ("running", None):
                    # sport None: a GPX or CSV that does not say; it was given as a run
                    out["skipped"][str(run.meta.get("sport"))] += 1
                else:
                    out["runs"].append(_run_entry(run, athlete, spill_dir))
            if mobility_runs:
                out["sessions"] = _watch_sessions(data, display)
    except StridekeeperError as exc:
        out["error"] = str(exc)
        out["unsupported"] = isinstance(exc, UnsupportedFormatError)
    except RecursionError:
        out["error"] = (
            f"{display}: nested too deeply to read (e.g. JSON nested thousands of levels)"
        )
    except MemoryError:
        out["error"] = f"{display}: too large to read in memory"
    except Exception as exc:  # a bug must not stop the batch: report it with the file
        log.debug("unexpected error importing %s", display, exc_info=True)
        out["error"] = f"{display}: internal error ({type(exc).__name__}: {exc})"
    if out["error"]:
        out["runs"], out["sessions"] = [], None
    return out


#: A run from a cut-short file with fewer samples than this and no device summary is not
#: a usable run: the file is that file's failure, not an imported "run". [-]
MIN_USABLE_SAMPLES = 10


def _refuse_empty(runs: list[Any], fmt: str, display: str) -> None:
    """Raise for a file that gave nothing: a FIT without activity content, or a truncated
    file whose only "run" is a few samples with no summary."""
    if not runs:
        if fmt == "fit":
            raise UnsupportedFormatError(f"{display}: not an activity file (a FIT file with no "
                                         "activity content: no records, laps or sessions)")  # fmt: skip
        raise UnsupportedFormatError(f"{display}: no activity in this file")
    usable = [r for r in runs if len(r.records) >= MIN_USABLE_SAMPLES
              or r.meta.get("device_summary") or r.meta.get("summary_only")]  # fmt: skip
    if usable:
        return
    notes = [str(n) for r in runs for n in r.meta.get("warnings", [])]
    cut = next((n for n in notes if "truncated" in n or "damaged" in n), None)
    if cut is not None:
        from ..errors import CorruptFileError

        n = max(len(r.records) for r in runs)
        raise CorruptFileError(display, f"no usable run: {cut}; only {n} sample(s) before it")


def _read_log(data: bytes, display: str, tz: int | None) -> tuple[pd.DataFrame, list[str]]:
    from ..io.mobility_log import read_mobility_log

    fh = io.BytesIO(data)
    fh.name = display  # type: ignore[attr-defined]
    result = read_mobility_log(fh, source=display, tz=tz)
    return result.sessions, [str(e) for e in result.errors]


def _watch_sessions(data: bytes, display: str) -> pd.DataFrame:
    from ..io.mobility_fit import read_fit_mobility

    return read_fit_mobility(data, name=display)


def _run_entry(run: Any, athlete: str, spill_dir: str | None) -> tuple[dict[str, Any], Any]:
    """Worker: a run's row of the runs table and its records as an Arrow table (or, with
    ``spill_dir``, the path of the file holding that table)."""
    from ..metrics.summary import summary_row
    from .store import records_table

    table = records_table(run.records)
    records: Any = table
    if spill_dir is not None:
        try:
            records = _spill(table, spill_dir)
        except OSError as exc:  # a full or vanished temporary folder: send the table itself
            log.debug("could not write records to %s (%s): sent by pipe", spill_dir, exc)
    return _run_row(run, summary_row(run), athlete), records


@dataclass(frozen=True)
class _Spilled:
    """Records a worker left in a file: the main process maps it (:func:`_unspill`)."""

    path: str


def _spill(table: Any, folder: str) -> _Spilled:
    """Write an Arrow table as an uncompressed IPC file.

    Sending a run's records back through the process pool's pipe (pickled, copied twice,
    unpickled by the main process) cost ~0.6 ms of wall time per run, as much as a tenth of
    decoding and summarising it; writing the same bytes to a file the main process maps
    costs a memory copy.
    """
    import uuid

    import pyarrow as pa

    path = os.path.join(folder, f"{uuid.uuid4().hex}.arrow")
    with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return _Spilled(path)


def _spill_folder(stack: contextlib.ExitStack) -> str | None:
    """A temporary folder for the workers' record files (removed when ``stack`` closes),
    or None to send records through the pool's pipe: on Windows (a mapped file can't be
    unlinked there) or when no temporary folder can be made. Folders left by a killed
    import (their pid no longer alive) are removed first."""
    if os.name == "nt":
        return None
    _remove_stale_spills()
    try:
        return stack.enter_context(
            tempfile.TemporaryDirectory(prefix=f"{SPILL_PREFIX}{os.getpid()}-")
        )
    except OSError as exc:
        log.debug("no temporary folder for record files (%s): sending them by pipe", exc)
        return None


def _remove_stale_spills() -> None:
    """Remove spill folders of imports that were killed (the pid in the name is gone)."""
    from .store import _pid_alive

    try:
        entries = list(Path(tempfile.gettempdir()).glob(f"{SPILL_PREFIX}*"))
    except OSError:
        return
    for entry in entries:
        pid = entry.name[len(SPILL_PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            shutil.rmtree(entry, ignore_errors=True)


def _worker_init(parent: int, spill_dir: str | None = None) -> None:
    """Worker: die with the importing process, even when it is killed with SIGKILL, and
    take its temporary record folder along (``PR_SET_PDEATHSIG`` sends SIGTERM on Linux;
    elsewhere, and as a backup, a thread watches the parent's pid)."""
    import signal
    import threading

    def orphaned() -> None:
        if spill_dir is not None:
            # the other worker may still be writing a file into the folder as this one
            # empties it: try again until the folder is gone (each worker does the same)
            for _ in range(40):
                shutil.rmtree(spill_dir, ignore_errors=True)
                if not os.path.exists(spill_dir):
                    break
                time.sleep(0.025)
        os._exit(1)

    def on_term(signum: int, frame: Any) -> None:
        # the death signal comes when the thread that started this worker exits; while the
        # importer's other threads are still dying the parent pid stays the same for a
        # moment, so wait briefly for the re-parenting before deciding
        for _ in range(40):
            if os.getppid() != parent:
                orphaned()
            time.sleep(0.025)
        os._exit(1)

    with contextlib.suppress(KeyboardInterrupt, ValueError):
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
        signal.signal(signal.SIGTERM, on_term)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before the signal was armed
        orphaned()

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                orphaned()

    threading.Thread(target=watch, name="stridekeeper-parent-watch", daemon=True).start()


def _unspill(records: Any) -> Any:
    """The table behind a :class:`_Spilled` (memory-mapped; the file is unlinked at once,
    the mapping stays valid), or ``records`` unchanged."""
    if not isinstance(records, _Spilled):
        return records
    import pyarrow as pa

    with pa.memory_map(records.path) as source:
        table = pa.ipc.open_file(source).read_all()
    os.unlink(records.path)
    return table


def _run_row(run: Any, summary: dict[str, Any], athlete: str) -> dict[str, Any]:
    meta = run.meta
    row = dict(summary)
    sha = meta.get("sha256") or ""
    row["run_id"] = hashlib.sha256(f"{sha}:{meta.get('session_index')}".encode()).hexdigest()[:16]
    row["athlete"] = athlete
    row["source_sha256"] = sha
    row["format"] = meta.get("format")
    row["utc_offset_s"] = meta.get("utc_offset_s")
    dev = meta.get("device_summary")
    row["device_summary_json"] = json.dumps(
        None if dev is None else {k: v for k, v in dev.items() if k != "raw"}
    )
    notes = list(meta.get("warnings", []))
    notes += [n for n in run.records.attrs.get("quality_notes", []) if n not in notes]
    dev_km = (dev or {}).get("distance_m") if isinstance(dev, dict) else None
    if (len(run.records) == 0 and not meta.get("summary_only")
            and isinstance(dev_km, int | float) and dev_km > 0):  # fmt: skip
        notes.append(f"no records could be decoded although the device's summary says "
                     f"{dev_km / 1000:.1f} km (record definition unreadable?)")  # fmt: skip
    row["warnings_json"] = json.dumps(notes)
    row["summary_only"] = bool(meta.get("summary_only", False))
    row["imported_at"] = pd.Timestamp.now(tz="UTC")
    return row


# --------------------------------------------------------------------------- the pipeline
class _Progress:
    def __init__(self, enabled: bool) -> None:
        self.bar = None
        self.count = 0
        self.last = time.monotonic()
        self.enabled = enabled
        if enabled and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(unit="file", desc="importing", file=sys.stderr)

    def tick(self, runs: int) -> None:
        self.count += 1
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(runs=runs, refresh=False)
        elif self.enabled and time.monotonic() - self.last > 5.0:
            print(f"... {self.count} files read, {runs} runs so far", file=sys.stderr)
            self.last = time.monotonic()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _same_activity(a: pd.Series, b: pd.Series) -> bool:
    dt = abs((pd.Timestamp(a["start_time"]) - pd.Timestamp(b["start_time"])).total_seconds())
    da, db = a["distance_m"], b["distance_m"]
    if dt <= SAME_START_EXACT_S:
        return True  # one athlete starts no two activities in the same seconds, whatever
        # the distances say (Strava's activities.csv may disagree with the file's by > 2 %)
    if dt > SAME_ACTIVITY_START_S or not (pd.notna(da) and pd.notna(db)):
        return False
    return abs(da - db) <= SAME_ACTIVITY_DISTANCE_REL * max(da, db, 1.0)


def import_paths(
    paths: Sequence[str | os.PathLike[str]],
    library: str | os.PathLike[str] | None = None,
    *,
    athlete: str = "me",
    jobs: int | None = None,
    commit_every: int = 256,
    commit_seconds: float = 10.0,
    max_archive_bytes: int = MAX_ARCHIVE_BYTES,
    progress: bool = False,
    on_commit: Callable[[int], None] | None = None,
    log_tz_s: int | None = None,
    engine: str = "local",
    scheduler: str | None = None,
    athlete_from_path: bool = False,
    lock_wait_s: float | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> ImportReport:
    """Import files, folders and archives into a library (created if needed).

    Parameters
    ----------
    paths
        Files, folders (searched recursively), ``.gz`` files and zip archives (Garmin
        Connect and Strava bulk exports included).
    library
        Library folder; default :func:`~stridekeeper.library.store.default_library_path`.
    athlete
        Name stored with every run and session (for cohort libraries).
    jobs
        Worker processes (default: all cores; 1 decodes in this process). With
        ``engine="dask"`` and no ``scheduler``: workers of the local Dask cluster (default 2).
    commit_every, commit_seconds
        An atomic commit happens after this many files or this many seconds, whichever
        comes first (an interrupted import loses at most that much work).
    max_archive_bytes
        Largest total an archive may decompress to. [bytes]
    progress
        Show a progress bar on a terminal (plain periodic lines otherwise).
    on_commit
        Called with the library generation after each commit (tests, progress).
    log_tz_s
        UTC offset of the local times in mobility logs [s]; default: the athlete's most
        common offset over the runs in the library and in this import, else the system's
        time zone.
    engine
        ``"local"`` (a process pool on this machine) or ``"dask"``: files are decoded as
        Dask tasks (:mod:`stridekeeper.library.dask_engine`); the commits still happen here,
        so the library is the same as with the local engine.
    scheduler
        Address of a running Dask scheduler (``engine="dask"``); default: a local cluster on
        the loopback interface, closed afterwards.
    athlete_from_path
        The athlete of each file is the first folder below the PATH it was found under
        (one folder per athlete); files directly in PATH, or named themselves, get
        ``athlete``.
    lock_wait_s
        How long to wait while another process writes the library: None as long as it
        takes, 0 refuse at once (:class:`~stridekeeper.library.store.LibraryBusyError`). [s]
    on_wait
        Called with a one-line message when the import has to wait (default: logged).

    Returns
    -------
    ImportReport

    Raises
    ------
    ValueError
        On an unknown engine.
    StridekeeperError
        With ``engine="dask"`` when Dask is not installed or the scheduler can't be reached.
    """
    if engine not in ("local", "dask"):
        raise ValueError(f"unknown engine {engine!r}; choose 'local' or 'dask'")
    if engine == "dask":
        from ..cluster import require_dask

        require_dask()
    from .store import default_library_path

    # one writer at a time, for the whole import: sources and runs are read under the lock
    held = contextlib.ExitStack()
    held.enter_context(write_lock(
        Path(library).expanduser() if library is not None else default_library_path(),
        wait_s=lock_wait_s, on_wait=on_wait or log.warning))  # fmt: skip
    with held:
        return _import_locked(paths, library, athlete, jobs, commit_every, commit_seconds,
                              max_archive_bytes, progress, on_commit, log_tz_s, engine,
                              scheduler, athlete_from_path)  # fmt: skip


def _import_locked(
    paths: Sequence[str | os.PathLike[str]],
    library: str | os.PathLike[str] | None,
    athlete: str,
    jobs: int | None,
    commit_every: int,
    commit_seconds: float,
    max_archive_bytes: int,
    progress: bool,
    on_commit: Callable[[int], None] | None,
    log_tz_s: int | None,
    engine: str,
    scheduler: str | None,
    athlete_from_path: bool,
) -> ImportReport:
    """:func:`import_paths` with the library's writer lock held."""
    if engine == "dask":
        from ..cluster import dask_executor
    lib = Library.create(library)
    report = ImportReport()
    expand_failures: list[tuple[str, str]] = []
    known = lib.sources()
    # a file that failed before is tried again (a newer version may read it), and so is
    # one whose runs lost their records (a crash, a full disk): never "unchanged"
    ok = known[(known["status"] == "imported") & known["sha256"].notna()]
    ok = ok[~ok["sha256"].isin(lib.lost_sources())]
    owners = ok["athlete"].fillna(athlete) if "athlete" in ok else pd.Series(athlete, ok.index)
    sha_known = {_source_key(sha, who, path)
                 for sha, who, path in zip(ok["sha256"], owners, ok["path"], strict=True)}  # fmt: skip
    # identical files in one import: decoded once; a failure is each copy's failure
    failed_sha: dict[str, tuple[str, str]] = {}
    copies_of: dict[str, list[str]] = {}
    path_sha = dict(zip(known["path"], known["sha256"], strict=False))
    runs_now = lib.runs()
    jobs_arg = jobs
    jobs = max(1, jobs if jobs is not None else (os.cpu_count() or 1))

    pending: list[dict[str, Any]] = []
    progress_ui = _Progress(progress)

    def all_items() -> Iterator[_Item]:
        # logs last: they hold local times only, read in the offset of the runs imported
        logs = []
        for item in _expand(paths, expand_failures, max_archive_bytes, lib.root.resolve()):
            if _is_log_name(item.display):
                logs.append(item)
            else:
                yield item
        yield from logs

    def athlete_of(item: _Item) -> str:
        return _athlete_from_path(item.display, paths, athlete) if athlete_from_path else athlete

    def items_to_decode() -> Iterator[tuple[_Item, bytes, str, str]]:
        for item in all_items():
            report.files_seen += 1
            kind = _kind(item)
            if kind == "ignore":
                report.ignored += 1
                continue
            try:
                if item.apple and item.path is not None:
                    data, sha = b"", _sha256_file(item.path)
                else:
                    data = item.read()
                    sha = hashlib.sha256(data).hexdigest()
            except OSError as exc:
                report.failures.append((item.display, f"cannot read ({exc.strerror or exc})"))
                continue
            key = _source_key(sha, athlete_of(item), item.display)
            if key in failed_sha:
                report.failures.append((item.display, _as_copy(failed_sha[key], item.display)))  # fmt: skip
                continue
            if key in copies_of:
                copies_of[key].append(item.display)
                continue
            if key in sha_known:
                report.unchanged += 1
                progress_ui.tick(report.imported_runs)
                continue
            sha_known.add(key)
            copies_of[key] = []
            yield item, data, sha, kind

    last_commit = [time.monotonic()]

    def flush(last: bool = False) -> None:
        nonlocal runs_now
        last_commit[0] = time.monotonic()
        if not pending:
            return
        change = _build_commit(pending, runs_now, path_sha, athlete, report)
        lib.commit(change)
        if not last:  # the next batch is checked against the runs committed so far
            runs_now = lib.runs()
        pending.clear()
        if on_commit is not None:
            on_commit(lib.generation)

    def log_tz() -> int | None:
        if log_tz_s is not None:
            return log_tz_s
        offsets = list(runs_now.get("utc_offset_s", [])) + [
            row["utc_offset_s"] for p in pending for row, _ in p["runs"]
        ]
        return typical_offset(offsets)

    def handle(result: dict[str, Any], sha: str, size: int, kind: str, who: str) -> None:
        result["sha256"], result["size"], result["athlete"] = sha, size, who
        key = _source_key(sha, who, result["display"])
        if result["error"] and kind == "maybe" and result.get("unsupported"):
            report.ignored += 1 + len(copies_of.pop(key, []))  # not ours to read
            sha_known.discard(key)
            progress_ui.tick(report.imported_runs)
            return
        result["runs"] = [(row, _unspill(rec)) for row, rec in result["runs"]]
        copies = copies_of.pop(key, [])
        if result["error"]:
            report.failures.append((result["display"], result["error"]))
            failed_sha[key] = (result["display"], result["error"])
            report.failures.extend((c, _as_copy(failed_sha[key], c)) for c in copies)
            pending.append({**result, "runs": [], "sessions": None})  # remembered as failed
        else:
            report.unchanged += len(copies)
            pending.append(result)
        report.skipped_by_sport.update(result["skipped"])
        report.rejected_rows.extend(result.get("rejected", []))
        progress_ui.tick(report.imported_runs + sum(len(p["runs"]) for p in pending))
        if len(pending) >= commit_every or time.monotonic() - last_commit[0] > commit_seconds:
            flush()

    stack = contextlib.ExitStack()
    try:
        if jobs == 1 and engine == "local":
            for item, data, sha, kind in items_to_decode():
                tz = log_tz() if _is_log_name(item.display) else None
                apple = item.path if item.apple else None
                who = athlete_of(item)
                handle(_decode_item(item.display, data, who, max_archive_bytes, tz, apple),
                       sha, len(data), kind, who)  # fmt: skip
        else:
            spill = None
            if engine == "dask":
                executor: Any = dask_executor(scheduler, n_workers=jobs_arg)
            else:
                spill = _spill_folder(stack)
                executor = ProcessPoolExecutor(max_workers=jobs, initializer=_worker_init,
                                               initargs=(os.getpid(), spill))  # fmt: skip
            with executor as pool:
                width = getattr(pool, "width", jobs)
                # a local pool gets a few files per task: each task costs a worker ~0.5 ms
                # of pipe round trip and wake-ups, a tenth of decoding a one-hour run
                per_task = CHUNK_FILES if engine == "local" else 1
                inflight: dict[Future, list[tuple[str, int, str, str]]] = {}
                chunk: list[tuple[tuple[Any, ...], tuple[str, int, str, str]]] = []
                chunk_bytes = 0
                warmed = False

                def finish(fut: Future) -> None:
                    for result, meta in zip(fut.result(), inflight.pop(fut), strict=True):
                        handle(result, *meta)

                def send() -> None:
                    nonlocal chunk_bytes, warmed
                    if chunk:
                        fut = pool.submit(_decode_items, [args for args, _ in chunk])
                        inflight[fut] = [meta for _, meta in chunk]
                        chunk.clear()
                        chunk_bytes = 0
                    while len(inflight) >= 4 * width or (
                        len(inflight) > 1 and _inflight_bytes(inflight) > MAX_INFLIGHT_BYTES
                    ):
                        if not warmed:  # the workers are busy: load what the commit needs
                            import pyarrow.parquet  # noqa: F401

                            warmed = True
                        done, _ = wait(inflight, return_when=FIRST_COMPLETED)
                        for f in done:
                            finish(f)

                for item, data, sha, kind in items_to_decode():
                    tz = None
                    if _is_log_name(item.display):  # runs decoded so far set the offset
                        send()
                        for f in list(inflight):
                            finish(f)
                        tz = log_tz()
                    who = athlete_of(item)
                    args = (item.display, data, who, max_archive_bytes, tz,
                            item.path if item.apple else None, spill)  # fmt: skip
                    chunk.append((args, (sha, len(data), kind, who)))
                    chunk_bytes += len(data)
                    if len(chunk) >= per_task or chunk_bytes > CHUNK_BYTES or item.apple:
                        send()
                send()
                for f in list(inflight):
                    finish(f)
        flush(last=True)
        from .personal import personalise_dropoff

        report.personalised_runs = personalise_dropoff(lib)
        lib.compact()
    finally:
        stack.close()
        progress_ui.close()
    report.failures = expand_failures + report.failures
    return report


def _inflight_bytes(inflight: dict[Any, list[tuple[str, int, str, str]]]) -> int:
    """Bytes of input sent to the workers and not yet decoded."""
    return sum(meta[1] for metas in inflight.values() for meta in metas)


def _as_copy(failure: tuple[str, str], display: str) -> str:
    """The failure (file, reason) of one file, reworded for an identical copy."""
    orig, error = failure
    reason = error[len(orig) + 2 :] if error.startswith(f"{orig}: ") else error
    return f"{display}: {reason}"


def _build_commit(
    pending: list[dict[str, Any]],
    runs_now: pd.DataFrame,
    path_sha: dict[str, str],
    athlete: str,
    report: ImportReport,
) -> Commit:
    now = pd.Timestamp.now(tz="UTC")
    run_rows: list[dict[str, Any]] = []
    records: dict[str, pd.DataFrame] = {}
    sessions: list[pd.DataFrame] = []
    source_rows: list[dict[str, Any]] = []
    drop_runs: set[str] = set()
    drop_mob: set[tuple[str, str]] = set()  # (athlete, sha): that athlete's copy changed
    for res in pending:
        display, sha = res["display"], res["sha256"]
        old_sha = path_sha.get(display)
        if old_sha is not None and old_sha != sha:  # the file changed: its runs are replaced
            drop_runs |= set(runs_now.loc[runs_now["source_sha256"] == old_sha, "run_id"])
            drop_mob.add((res.get("athlete", athlete), old_sha))
        path_sha[display] = sha
        who = res.get("athlete", athlete)
        n_sessions = 0
        if res["sessions"] is not None and len(res["sessions"]):
            s = res["sessions"].copy()
            s["athlete"] = who
            s["source_sha256"] = sha
            sessions.append(s)
            n_sessions = len(s)
        for row, rec in res["runs"]:
            run_rows.append(row)
            records[row["run_id"]] = rec
        source_rows.append({"path": display, "sha256": sha, "size_bytes": res["size"],
                            "n_runs": len(res["runs"]), "n_sessions": n_sessions,
                            "status": "failed" if res["error"] else "imported",
                            "detail": res["error"] or "", "athlete": who,
                            "imported_at": now})  # fmt: skip
        if not res["error"]:
            report.imported_files += 1
            report.mobility_sessions += n_sessions
    new = pd.DataFrame(run_rows)
    # the same activity as a summary row and as a file: the file wins
    if len(new):
        existing = runs_now[~runs_now["run_id"].isin(drop_runs)]
        both = pd.concat([existing.assign(_new=False), new.assign(_new=True)], ignore_index=True)
        both["summary_only"] = both.get("summary_only", False)
        both["summary_only"] = both["summary_only"].fillna(False).astype(bool)
        summaries = both[both["summary_only"]]
        files = both[~both["summary_only"]]
        from .dedup import superseded_summaries

        losers = superseded_summaries(summaries, files, start_tolerance_s=SAME_ACTIVITY_START_S,
                                      distance_rel=SAME_ACTIVITY_DISTANCE_REL,
                                      exact_start_s=SAME_START_EXACT_S)  # fmt: skip
        if losers:
            report.superseded_summaries += len(losers)
            drop_runs |= {r for r in losers if r in set(existing["run_id"])}
            new = new[~new["run_id"].isin(losers)]
            for r in losers:
                records.pop(r, None)
    report.imported_runs += len(new)
    mob = pd.concat(sessions, ignore_index=True) if sessions else pd.DataFrame()
    return Commit(
        runs=new,
        records=records,
        mobility=mob,
        sources=pd.DataFrame(source_rows),
        drop_run_ids=frozenset(drop_runs),
        drop_athlete_mobility=frozenset(drop_mob),
    )
