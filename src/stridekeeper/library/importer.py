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
import itertools
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
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from ..errors import StridekeeperError, UnsupportedFormatError
from ..io.dispatch import APPLE_HEALTH, FORMATS, format_of_path, is_log_name
from ..io.source import Opened, gunzip
from .dedup import activity_key
from .store import Commit, Library, typical_offset, write_lock

if TYPE_CHECKING:
    import pandas as pd
else:
    from ..lazy import pandas as pd

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
#: ... or name the same activity id (Strava: ``activities/<id>.fit.gz``) and start within
#: this, whatever the distances (a day: a date written in local time still matches). [s]
SAME_ID_START_S = 86400.0
_SKIP_NAMES = {".DS_Store", "Thumbs.db"}
#: Archives inside archives deeper than this are refused (Garmin nests two levels).
MAX_ZIP_DEPTH = 8
#: Prefix of the workers' temporary record folders (``<prefix><pid>-<random>``).
SPILL_PREFIX = "stridekeeper-import-"
#: In folders and archives: activity files (a failure is reported) ...
ACTIVITY_EXTENSIONS = (".fit", ".tcx", ".gpx")
#: ... files that may or may not be data (tried; ignored when not a format stridekeeper
#: reads): every other extension of the format registry but ``.zip`` (expanded) and ``.txt``
MAYBE_EXTENSIONS = tuple(dict.fromkeys(
    e for f in FORMATS for e in f.extensions if e not in (*ACTIVITY_EXTENSIONS, ".zip", ".txt")
))  # fmt: skip


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
            nested = name.lower().endswith(".zip")
            refusal = _member_refusal(info, where, nested)
            if refusal == "skip":
                continue
            if refusal == "ignore":
                yield _Item(display=where, data=b"")  # counted as ignored, never read
                continue
            if refusal:
                failures.append((where, refusal))
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


def _member_refusal(info: zipfile.ZipInfo, where: str, nested: bool) -> str | None:
    """Why an archive member is not read: a failure reason, ``"skip"`` (system files),
    ``"ignore"`` (not data, counted), or None to read it."""
    name = info.filename
    if not name.strip("\x00 ") or name.startswith("\x00"):
        return "archive member with an empty or NUL name: refused"
    if not _safe_member(name):
        return "unsafe path in archive (absolute or '..'): refused"
    if PurePosixPath(name).name in _SKIP_NAMES or "__MACOSX" in name:
        return "skip"
    if not nested and _kind(_Item(display=where)) == "ignore":
        return "ignore"
    if not nested and info.file_size > MAX_MEMBER_BYTES:
        return (f"member refused: {info.file_size / 1e6:.0f} MB, over the "
                f"{MAX_MEMBER_BYTES / 1e6:.0f} MB an activity file may be")  # fmt: skip
    return None


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
        inside = _Inside(exclude)
        for f in files:
            try:
                if f != path and inside(f):
                    continue  # the library's own files, unless named (the log it keeps)
                yield from _expand_file(f, path, failures, max_archive_bytes)
            except Exception as exc:  # one file's trouble is that file's failure line
                failures.append((str(f), f"cannot read ({type(exc).__name__}: {exc})"))


def _expand_file(
    f: Path,
    path: Path,
    failures: list[tuple[str, str]],
    max_archive_bytes: int,
) -> Iterator[_Item]:
    """The items of one file found under (or named as) ``path``."""
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


class _Inside:
    """Whether a file lies inside the folder ``exclude`` once links are resolved: each
    folder resolved once (a file's own resolution is ~20 us, half of expanding it), a
    file that is itself a link on its own."""

    def __init__(self, exclude: Path | None) -> None:
        self.exclude = exclude
        self.folders: dict[Path, bool] = {}

    def __call__(self, f: Path) -> bool:
        if self.exclude is None:
            return False
        if f.is_symlink():
            return self.exclude in f.resolve().parents
        inside = self.folders.get(f.parent)
        if inside is None:
            real = f.parent.resolve()
            inside = self.folders[f.parent] = real == self.exclude or self.exclude in real.parents
        return inside


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
    """An Apple Health export (``export.xml``, ``export.zip``...), by the format registry;
    only files with the export's usual extensions are looked at."""
    if not path.name.lower().removesuffix(".gz").endswith(APPLE_HEALTH.extensions):
        return False
    try:
        return format_of_path(path) is APPLE_HEALTH
    except (StridekeeperError, OSError):  # reported by the ordinary expansion or decode
        return False


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
    return f"{athlete}\0{sha}" if is_log_name(display) else sha


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
def _load_decoders() -> None:
    """Import what :func:`_decode_item` imports on first use (the readers, fitdecode's
    profile, the metrics, pyarrow): ~55 ms a process, paid once before the workers fork."""
    import fitdecode.processors  # noqa: F401
    import pyarrow.ipc  # noqa: F401  (the records' table and file: 25 ms a process)

    from ..io import dispatch, fit_columnar, mobility_fit  # noqa: F401
    from ..metrics import summary  # noqa: F401


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
    runs_span: tuple[date, date] | None = None,
    sha256: str | None = None,
) -> dict[str, Any]:
    """Worker: bytes -> run rows, records, mobility sessions. Never raises for bad input.

    ``sha256`` is the hash the main process already took of ``data``: the readers reuse it
    instead of hashing the bytes again.

    ``runs_span`` (first and last local date of the athlete's runs) is passed to the log
    reader, which refuses a session dated more than a year outside it.

    With ``spill_dir`` (a local process pool) each run's records are written there as an
    Arrow IPC file and only its path is sent back (see :func:`_spill`).
    """
    from ..io import dispatch
    from ..io.mobility_fit import is_mobility_session

    out: dict[str, Any] = {"display": display, "runs": [], "sessions": None,
                           "skipped": Counter(), "error": None, "rejected": []}  # fmt: skip
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if apple_path is not None:  # streamed from disk: never held in memory
                dec = dispatch.decode(apple_path, display, format="apple_health")
            elif data is None:
                raise StridekeeperError(f"{display}: nothing to read")
            else:
                cap = min(cap, MAX_MEMBER_BYTES)
                src = data if sha256 is None else Opened(gunzip(data, display, cap), display,
                                                          sha256)  # fmt: skip
                dec = dispatch.decode(src, display, tz=log_tz, runs_span=runs_span,
                                      max_bytes=cap)  # fmt: skip
            # no sessions: None (an empty typed frame costs ~0.25 ms to pickle and back)
            out["sessions"] = (
                dec.sessions if dec.sessions is not None and len(dec.sessions) else None
            )
            out["rejected"] = [str(e) for e in dec.errors]
            if dec.format.read is None:  # a mobility log: sessions only
                return out
            if not dec.format.streamed:
                _refuse_empty(dec.runs, dec.format.name, display)
            for run in dec.runs:
                if is_mobility_session(run.meta.get("sport"), run.meta.get("sub_sport")):
                    continue  # in dec.sessions, from the same decode
                if run.meta.get("sport") not in ("running", None):
                    # sport None: a GPX or CSV that does not say; it was given as a run
                    out["skipped"][str(run.meta.get("sport"))] += 1
                else:
                    out["runs"].append(_run_entry(run, athlete, spill_dir))
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
    usable = [r for r in runs if r.n_records >= MIN_USABLE_SAMPLES
              or r.meta.get("device_summary") or r.meta.get("summary_only")]  # fmt: skip
    if usable:
        return
    notes = [str(n) for r in runs for n in r.meta.get("warnings", [])]
    cut = next((n for n in notes if "truncated" in n or "damaged" in n), None)
    if cut is not None:
        from ..errors import CorruptFileError

        n = max(r.n_records for r in runs)
        raise CorruptFileError(display, f"no usable run: {cut}; only {n} sample(s) before it")


def _runs_local_span(runs: pd.DataFrame, new_rows: list[dict[str, Any]],
                    athlete: str) -> tuple[date, date] | None:  # fmt: skip
    """First and last local date of ``athlete``'s runs (stored ones and ``new_rows``), or None."""
    frames = [runs, pd.DataFrame(new_rows)] if new_rows else [runs]
    starts: list[pd.Series] = []
    for f in frames:
        if not len(f) or "start_time" not in f:
            continue
        if "athlete" in f:
            f = f[f["athlete"] == athlete]
        off = pd.to_numeric(f.get("utc_offset_s", 0), errors="coerce")
        off = off.fillna(0) if isinstance(off, pd.Series) else 0
        local = pd.to_datetime(f["start_time"], utc=True) + pd.to_timedelta(off, unit="s")
        starts.append(local.dropna())
    every = pd.concat(starts) if starts else pd.Series(dtype="datetime64[ns, UTC]")
    if not len(every):
        return None
    return every.min().date(), every.max().date()


def _run_entry(run: Any, athlete: str, spill_dir: str | None) -> tuple[dict[str, Any], Any]:
    """Worker: a run's row of the runs table and its records as an Arrow table (or, with
    ``spill_dir``, the path of the file holding that table)."""
    from ..metrics.summary import summary_row
    from .store import records_table

    table = records_table(run.columns if run.columns is not None else run.records)
    records: Any = table
    if spill_dir is not None:
        try:
            records = _spill(table, spill_dir)
        except OSError as exc:  # a full or vanished temporary folder: send the table itself
            log.debug("could not write records to %s (%s): sent by pipe", spill_dir, exc)
    return _run_row(run, summary_row(run), athlete), records


@dataclass(frozen=True)
class _Spilled:
    """Records a worker left in a file: the main process reads it (:func:`_unspill`)."""

    path: str


def _spill(table: Any, folder: str) -> _Spilled:
    """Write an Arrow table as an uncompressed IPC file.

    Sending a run's records back through the process pool's pipe (pickled, copied twice,
    unpickled by the main process) cost ~0.6 ms of wall time per run, as much as a tenth of
    decoding and summarising it; writing the same bytes to a file the main process reads
    costs a memory copy.
    """
    import uuid

    import pyarrow as pa

    path = os.path.join(folder, f"{uuid.uuid4().hex}.arrow")
    # straight to the file: building it in memory first and writing that at once (one
    # system call, not ~35) cost a third more (a copy of every byte)
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
            tempfile.TemporaryDirectory(prefix=f"{SPILL_PREFIX}{os.getpid()}-", dir=_spill_parent())
        )
    except OSError as exc:
        log.debug("no temporary folder for record files (%s): sending them by pipe", exc)
        return None


#: Where the spill folder goes when the user names no temporary folder (``TMPDIR``,
#: ``TEMP``, ``TMP``): Linux's memory file system, when it has :data:`SHM_MIN_FREE` to
#: spare (a container's may have 64 MB). A file a run created and unlinked on ext4 cost
#: ~2 % of an import's CPU in the file system's inode allocation; on tmpfs next to nothing
#: (the system time of an import of 200 runs 17 % lower). [-], [bytes]
SHM_FOLDER = "/dev/shm"
SHM_MIN_FREE = 1024**3


def _spill_parent() -> str | None:
    """The folder to make the spill folder in (None: the temporary folder)."""
    if not sys.platform.startswith("linux") or any(
        os.environ.get(v) for v in ("TMPDIR", "TEMP", "TMP")
    ):
        return None
    try:
        room = os.statvfs(SHM_FOLDER)
    except OSError:
        return None
    if room.f_bavail * room.f_frsize < SHM_MIN_FREE or not os.access(SHM_FOLDER, os.W_OK):
        return None
    return SHM_FOLDER


def _remove_stale_spills() -> None:
    """Remove spill folders of imports that were killed (the pid in the name is gone)."""
    from .store import _pid_alive

    entries: list[Path] = []
    for parent in dict.fromkeys([tempfile.gettempdir(), SHM_FOLDER]):
        with contextlib.suppress(OSError):
            entries += Path(parent).glob(f"{SPILL_PREFIX}*")
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
    """The table behind a :class:`_Spilled`, or ``records`` unchanged.

    The file is mapped with its pages populated at once (Linux): the table's buffers are
    the page cache's pages, not a copy in fresh memory (reading it was ~0.3 ms a run of
    this process's time, faulting and zeroing new pages; mapping it lazily faulted them
    one by one later). The file is unlinked at once: the mapping keeps its pages."""
    if not isinstance(records, _Spilled):
        return records
    import mmap

    import pyarrow as pa

    fd = os.open(records.path, os.O_RDONLY)
    try:
        flags = mmap.MAP_PRIVATE | getattr(mmap, "MAP_POPULATE", 0)
        data: Any = mmap.mmap(fd, 0, flags=flags, prot=mmap.PROT_READ)
    except (OSError, ValueError):  # an empty file, or no mapping here: read it
        data = os.read(fd, os.fstat(fd).st_size)
    finally:
        os.close(fd)
        os.unlink(records.path)
    return pa.ipc.open_file(pa.py_buffer(data)).read_all()


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
    notes += [n for n in run.record_notes if n not in notes]
    dev_km = (dev or {}).get("distance_m") if isinstance(dev, dict) else None
    if (run.n_records == 0 and not meta.get("summary_only")
            and isinstance(dev_km, int | float) and dev_km > 0):  # fmt: skip
        notes.append(f"no records could be decoded although the device's summary says "
                     f"{dev_km / 1000:.1f} km (record definition unreadable?)")  # fmt: skip
    row["warnings_json"] = json.dumps(notes)
    row["summary_only"] = bool(meta.get("summary_only", False))
    row["activity_id"] = activity_key(meta)
    row["imported_at"] = datetime.now(UTC)
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
    commit_every: int | None = None,
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
        Processes decoding files (default: all cores): this one and ``jobs - 1`` workers,
        this one decoding whenever the workers have enough queued (1: no workers). With
        ``engine="dask"`` and no ``scheduler``: workers of the local Dask cluster (default 2).
    commit_every, commit_seconds
        An atomic commit happens after this many files or this many seconds, whichever
        comes first (an interrupted import loses at most that much work). ``None``: 256
        files, or an eighth of the runs already in the library when that is more, and at
        most 256 MiB of records (every commit rewrites the library's tables, so a long
        history commits in bigger batches and the cost stays close to linear).
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
        opt = _Options(
            athlete,
            jobs,
            commit_every,
            commit_seconds,
            max_archive_bytes,
            progress,
            on_commit,
            log_tz_s,
            engine,
            scheduler,
            athlete_from_path,
        )
        return _Pipeline(paths, Library.create(library), opt).run()


@dataclass
class _Options:
    """What :func:`import_paths` was asked to do (besides the paths and the library)."""

    athlete: str
    jobs: int | None
    commit_every: int | None
    commit_seconds: float
    max_archive_bytes: int
    progress: bool
    on_commit: Callable[[int], None] | None
    log_tz_s: int | None
    engine: str
    scheduler: str | None
    athlete_from_path: bool


#: What a decoded item's result is matched back with: (sha256, size, kind, athlete).
_Meta = tuple[str, int, str, str]


class _Pipeline:
    """One import, in three stages: **expand** the inputs into items (files, archive
    members) not in the library yet; **decode** each in a worker (or in this process); and
    **commit** the results in batches. Runs with the library's writer lock held."""

    def __init__(self, paths: Sequence[str | os.PathLike[str]], lib: Library, opt: _Options):
        self.paths, self.lib, self.opt = paths, lib, opt
        self.report = ImportReport()
        self.expand_failures: list[tuple[str, str]] = []
        # the sources with pyarrow alone and the runs table on first use (see runs_now):
        # the workers start before pandas is imported, which then overlaps their decoding
        known = lib.source_rows(["path", "sha256", "status", "athlete"])
        lost = lib.lost_sources() if known else set()
        # a file that failed before is tried again (a newer version may read it), and so is
        # one whose runs lost their records (a crash, a full disk): never "unchanged"
        self.sha_known = {_source_key(r["sha256"], r.get("athlete") or opt.athlete, r["path"])
                          for r in known if r["status"] == "imported"
                          and r["sha256"] is not None and r["sha256"] not in lost}  # fmt: skip
        # identical files in one import: decoded once; a failure is each copy's failure
        self.failed_sha: dict[str, tuple[str, str]] = {}
        self.copies_of: dict[str, list[str]] = {}
        self.path_sha = {r["path"]: r["sha256"] for r in known}
        self._runs_now: pd.DataFrame | None = None
        self.n_stored = lib.n_runs()
        self.jobs = max(1, opt.jobs if opt.jobs is not None else (os.cpu_count() or 1))
        self.pending: list[dict[str, Any]] = []
        self.pending_runs = 0
        self.pending_bytes = 0
        self.progress = _Progress(opt.progress)
        self.last_commit = time.monotonic()
        self.last_records: dict[str, Any] = {}  # the last commit's records (see flush)

    @property
    def runs_now(self) -> pd.DataFrame:
        """The library's runs as of the last commit (read when first asked for)."""
        if self._runs_now is None:
            self._runs_now = self.lib.runs()
        return self._runs_now

    # ------------------------------------------------------------------ expand
    def _items(self) -> Iterator[_Item]:
        # logs last: they hold local times only, read in the offset of the runs imported
        logs = []
        for item in _expand(self.paths, self.expand_failures, self.opt.max_archive_bytes,
                            self.lib.root.resolve()):  # fmt: skip
            if is_log_name(item.display):
                logs.append(item)
            else:
                yield item
        yield from logs

    def athlete_of(self, item: _Item) -> str:
        if self.opt.athlete_from_path:
            return _athlete_from_path(item.display, self.paths, self.opt.athlete)
        return self.opt.athlete

    def to_decode(self) -> Iterator[tuple[_Item, bytes, str, str]]:
        """(item, bytes, sha256, kind) of every item whose content is new to the library."""
        report = self.report
        for item in self._items():
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
            key = _source_key(sha, self.athlete_of(item), item.display)
            if key in self.failed_sha:
                report.failures.append((item.display, _as_copy(self.failed_sha[key], item.display)))  # fmt: skip
            elif key in self.copies_of:
                self.copies_of[key].append(item.display)
            elif key in self.sha_known:
                report.unchanged += 1
                self.progress.tick(report.imported_runs)
            else:
                self.sha_known.add(key)
                self.copies_of[key] = []
                yield item, data, sha, kind

    def decode_args(self, item: _Item, data: bytes, sha: str, tz: int | None,
                    spill: str | None) -> tuple[Any, ...]:  # fmt: skip
        """The arguments of :func:`_decode_item` for one item."""
        who = self.athlete_of(item)
        span = self.log_span(who) if is_log_name(item.display) else None
        return (item.display, data, who, self.opt.max_archive_bytes, tz,
                item.path if item.apple else None, spill, span, sha)  # fmt: skip

    def log_span(self, who: str) -> tuple[date, date] | None:
        """First and last local date of ``who``'s runs, stored and decoded so far."""
        new = [row for p in self.pending for row, _ in p["runs"]]
        return _runs_local_span(self.runs_now, new, who)

    # ------------------------------------------------------------------ commit
    def log_tz(self) -> int | None:
        """UTC offset of mobility logs' local times: asked for, else the athlete's usual."""
        if self.opt.log_tz_s is not None:
            return self.opt.log_tz_s
        offsets = list(self.runs_now.get("utc_offset_s", [])) + [
            row["utc_offset_s"] for p in self.pending for row, _ in p["runs"]
        ]
        return typical_offset(offsets)

    def handle(self, result: dict[str, Any], sha: str, size: int, kind: str, who: str) -> None:
        """Take one decoded item's result; commit when a batch is due."""
        report = self.report
        result["sha256"], result["size"], result["athlete"] = sha, size, who
        key = _source_key(sha, who, result["display"])
        if result["error"] and kind == "maybe" and result.get("unsupported"):
            report.ignored += 1 + len(self.copies_of.pop(key, []))  # not ours to read
            self.sha_known.discard(key)
            self.progress.tick(report.imported_runs)
            return
        result["runs"] = [(row, _unspill(rec)) for row, rec in result["runs"]]
        copies = self.copies_of.pop(key, [])
        if result["error"]:
            report.failures.append((result["display"], result["error"]))
            self.failed_sha[key] = (result["display"], result["error"])
            report.failures.extend((c, _as_copy(self.failed_sha[key], c)) for c in copies)
            self.pending.append({**result, "runs": [], "sessions": None})  # remembered as failed
        else:
            report.unchanged += len(copies)
            self.pending.append(result)
        report.skipped_by_sport.update(result["skipped"])
        report.rejected_rows.extend(result.get("rejected", []))
        self.pending_runs += len(self.pending[-1]["runs"])
        self.progress.tick(report.imported_runs + self.pending_runs)
        self.pending_bytes += sum(_records_bytes(rec) for _, rec in result["runs"])
        if self._commit_due():
            self.flush()

    def _commit_due(self) -> bool:
        if time.monotonic() - self.last_commit > self.opt.commit_seconds:
            return True
        if self.opt.commit_every is not None:
            return len(self.pending) >= self.opt.commit_every
        return (len(self.pending) >= max(COMMIT_FILES, self.n_stored // 8)
                or self.pending_bytes >= COMMIT_BYTES)  # fmt: skip

    def flush(self, last: bool = False) -> None:
        """Commit what is pending, atomically."""
        self.last_commit = time.monotonic()
        if not self.pending:
            return
        change = _build_commit(self.pending, lambda: self.runs_now, self.path_sha,
                               self.opt.athlete, self.report, self.lib.has_summary_rows())  # fmt: skip
        self.lib.commit(change)
        # the personal pass after the last commit reads these runs' records from memory
        self.last_records = change.records if last else {}
        self._runs_now = None  # the next batch is checked against the runs committed so far
        if not last:  # sizes the next batch (after the last, reading it is ~17 ms for nothing)
            self.n_stored = self.lib.n_runs()
        self.pending.clear()
        self.pending_runs = 0
        self.pending_bytes = 0
        if self.opt.on_commit is not None:
            self.opt.on_commit(self.lib.generation)

    # ------------------------------------------------------------------ the stages run
    def run(self) -> ImportReport:
        stack = contextlib.ExitStack()
        try:
            items = self.to_decode()
            if self.opt.engine == "local" and self.jobs > 1 and self.opt.jobs is None:
                few, items = _peek_few(items)
                if few:  # starting workers would cost more than they save
                    self.jobs = 1
            if self.jobs == 1 and self.opt.engine == "local":
                self._decode_here(items)
            else:
                self._decode_in_pool(stack, items)
            self.flush(last=True)
            from .personal import personalise_dropoff

            self.report.personalised_runs = personalise_dropoff(self.lib,
                                                                records=self.last_records)  # fmt: skip
            self.last_records = {}
            self.lib.compact()
        finally:
            stack.close()
            self.progress.close()
        self.report.failures = self.expand_failures + self.report.failures
        return self.report

    def _decode_here(self, items: Iterator[tuple[_Item, bytes, str, str]]) -> None:
        for item, data, sha, kind in items:
            tz = self.log_tz() if is_log_name(item.display) else None
            args = self.decode_args(item, data, sha, tz, None)
            self.handle(_decode_item(*args), sha, len(data), kind, args[2])

    def _decode_in_pool(
        self, stack: contextlib.ExitStack, items: Iterator[tuple[_Item, bytes, str, str]]
    ) -> None:
        spill = None
        local = self.opt.engine == "local"
        if not local:
            from ..cluster import dask_executor

            executor: Any = dask_executor(self.opt.scheduler, n_workers=self.opt.jobs)
        else:  # this process is one of the `jobs` decoders: it decodes whenever the
            # workers have enough queued (see _Feed.full)
            spill = _spill_folder(stack)
            _load_decoders()  # once, here: the workers are forked with them loaded
            executor = ProcessPoolExecutor(max_workers=self.jobs - 1, initializer=_worker_init,
                                           initargs=(os.getpid(), spill))  # fmt: skip
        with executor as pool:
            feed = _Feed(self, pool, getattr(pool, "width", self.jobs - local),
                         CHUNK_FILES if local else 1, helping=local)  # fmt: skip
            for item, data, sha, kind in items:
                tz = None
                if is_log_name(item.display):  # runs decoded so far set the offset
                    feed.drain()
                    tz = self.log_tz()
                here = feed.full() and len(data) <= HELP_MAX_BYTES and not item.apple
                args = self.decode_args(item, data, sha, tz, None if here else spill)
                meta = (sha, len(data), kind, args[2])
                if here:
                    feed.collect()
                    self.handle(_decode_item(*args), *meta)
                else:
                    feed.add(args, meta, flush=item.apple)
            feed.drain()


#: This process decodes files up to this size itself when the workers have enough queued;
#: a larger one (a big GPX, an Apple Health export) goes to a worker, so that the workers
#: are never left waiting for this process to finish one long file. [bytes]
HELP_MAX_BYTES = 2 * 1024**2

#: The default batch of a commit: files, at least, and records' bytes, at most (see
#: :func:`import_paths`' ``commit_every``). [-], [bytes]
COMMIT_FILES = 256
COMMIT_BYTES = 256 * 1024**2


def _records_bytes(records: Any) -> int:
    """Memory of one run's records (the Arrow table :func:`_run_entry` built), or 0."""
    # the buffers' size: Table.nbytes walks every column's slices (0.03-0.15 ms a run)
    return 0 if records is None else int(records.get_total_buffer_size())


#: With the default ``jobs``, an import of at most this many new files, holding at most
#: this many bytes, decodes in the main process: a pool's start (forking, the workers'
#: imports) costs more than two workers save on so few (measured: 1 file 12 % slower with
#: two workers, 4-16 files even, 200 files 15 % faster). [-], [bytes]
FEW_FILES = 4
FEW_BYTES = 16 * 1024**2


def _peek_few(items: Iterator[Any]) -> tuple[bool, Iterator[Any]]:
    """Whether ``items`` holds only a few files (see :data:`FEW_FILES`), and the items."""
    head: list[Any] = []
    size = 0
    for it in items:
        head.append(it)
        size += len(it[1])
        # an Apple Health export is streamed from disk (no bytes here) and is never small
        if len(head) > FEW_FILES or size > FEW_BYTES or it[0].apple:
            return False, itertools.chain(head, items)
    return True, iter(head)


class _Feed:
    """Hands items to a pool a few at a time, keeping the bytes in flight bounded."""

    def __init__(self, pipeline: _Pipeline, pool: Any, width: int, per_task: int,
                 helping: bool = False) -> None:  # fmt: skip
        # a local pool gets a few files per task: each task costs a worker ~0.5 ms of pipe
        # round trip and wake-ups, a tenth of decoding a one-hour run
        self.pipeline, self.pool, self.width, self.per_task = pipeline, pool, width, per_task
        self.helping = helping  # the caller decodes what the workers have no room for
        self.inflight: dict[Future, list[_Meta]] = {}
        self.chunk: list[tuple[tuple[Any, ...], _Meta]] = []
        self.chunk_bytes = 0

    def add(self, args: tuple[Any, ...], meta: _Meta, flush: bool = False) -> None:
        self.chunk.append((args, meta))
        self.chunk_bytes += meta[1]
        if flush or len(self.chunk) >= self.per_task or self.chunk_bytes > CHUNK_BYTES:
            self.send()

    def full(self) -> bool:
        """Whether the workers have enough queued that the caller should decode the next
        item itself (only when helping): one task running and one waiting per worker, so
        no worker waits for work and at most two tasks per worker are left at the end."""
        return self.helping and not self.chunk and len(self.inflight) >= 2 * self.width

    def collect(self) -> None:
        """Take back the results that are ready, without waiting."""
        for f in [f for f in self.inflight if f.done()]:
            self._finish(f)

    def _finish(self, fut: Future) -> None:
        for result, meta in zip(fut.result(), self.inflight.pop(fut), strict=True):
            self.pipeline.handle(result, *meta)

    def send(self) -> None:
        if self.chunk:
            fut = self.pool.submit(_decode_items, [args for args, _ in self.chunk])
            self.inflight[fut] = [meta for _, meta in self.chunk]
            self.chunk.clear()
            self.chunk_bytes = 0
        while len(self.inflight) >= 4 * self.width or (
            len(self.inflight) > 1 and _inflight_bytes(self.inflight) > MAX_INFLIGHT_BYTES
        ):
            done, _ = wait(self.inflight, return_when=FIRST_COMPLETED)
            for f in done:
                self._finish(f)

    def drain(self) -> None:
        """Send what is waiting and take every result back."""
        self.send()
        for f in list(self.inflight):
            self._finish(f)


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
    runs_now: Callable[[], pd.DataFrame],
    path_sha: dict[str, str],
    athlete: str,
    report: ImportReport,
    stored_summaries: bool,
) -> Commit:
    """The commit of the pending results: rows of the runs and sources tables as dicts
    (pandas is imported only to de-duplicate summary rows, or when a file changed).

    ``runs_now`` gives the library's runs table; ``stored_summaries`` says whether it holds
    summary-only rows (an export's summaries that a file may duplicate)."""
    now = datetime.now(UTC)
    run_rows: list[dict[str, Any]] = []
    records: dict[str, Any] = {}
    sessions: list[pd.DataFrame] = []
    source_rows: list[dict[str, Any]] = []
    drop_runs: set[str] = set()
    drop_mob: set[tuple[str, str]] = set()  # (athlete, sha): that athlete's copy changed
    for res in pending:
        display, sha = res["display"], res["sha256"]
        old_sha = path_sha.get(display)
        if old_sha is not None and old_sha != sha:  # the file changed: its runs are replaced
            stored = runs_now()
            drop_runs |= set(stored.loc[stored["source_sha256"] == old_sha, "run_id"])
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
    # the same activity as a summary row and as a file: the file wins
    new_summaries = any(r.get("summary_only") for r in run_rows)
    if run_rows and (new_summaries or stored_summaries):
        stored = runs_now()
        existing = stored[~stored["run_id"].isin(drop_runs)]
        new = pd.DataFrame(run_rows)
        both = pd.concat([existing.assign(_new=False), new.assign(_new=True)], ignore_index=True)
        both["summary_only"] = both.get("summary_only", False)
        both["summary_only"] = both["summary_only"].fillna(False).astype(bool)
        summaries = both[both["summary_only"]]
        files = both[~both["summary_only"]]
        from .dedup import superseded_summaries

        losers = superseded_summaries(summaries, files, start_tolerance_s=SAME_ACTIVITY_START_S,
                                      distance_rel=SAME_ACTIVITY_DISTANCE_REL,
                                      exact_start_s=SAME_START_EXACT_S,
                                      id_start_s=SAME_ID_START_S)  # fmt: skip
        if losers:
            report.superseded_summaries += len(losers)
            drop_runs |= {r for r in losers if r in set(existing["run_id"])}
            run_rows = [r for r in run_rows if r["run_id"] not in losers]
            for r in losers:
                records.pop(r, None)
    report.imported_runs += len(run_rows)
    return Commit(
        runs=run_rows,
        records=records,
        mobility=pd.concat(sessions, ignore_index=True) if sessions else [],
        sources=source_rows,
        drop_run_ids=frozenset(drop_runs),
        drop_athlete_mobility=frozenset(drop_mob),
    )
