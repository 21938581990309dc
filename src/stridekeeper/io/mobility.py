"""All mobility sessions of some files and folders: logs and watch recordings, merged.

:func:`read_mobility` reads every mobility log (:func:`~.mobility_log.read_mobility_log`) and
every FIT file (:func:`~.mobility_fit.read_fit_mobility`) it is given or finds in the folders
it is given, then merges a session typed in the log with the same session recorded by the
watch (:func:`~stridekeeper.io.merge.merge_duplicate_sessions`). A file that can't be
read is listed in ``failures`` and the others go on.

=======================================  ===========================================
file                                     read as
=======================================  ===========================================
``.csv`` ``.tsv`` ``.json`` ``.jsonl``   mobility log
``.ndjson``
``.fit`` ``.fit.gz``                     FIT activity (mobility sessions only)
other names, given explicitly            FIT if the bytes say so, else a mobility log
other names, found in a folder           ignored (as are hidden files such as ``.DS_Store``)
=======================================  ===========================================
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataQualityWarning, MobilityLogError, RowError, StridekeeperError
from ..schema import MOBILITY_COLUMNS, empty_sessions, validate_sessions
from ..timezones import resolve_tz
from .dispatch import APPLE_HEALTH, FIT, MOBILITY_LOG, Format, format_of_path
from .merge import merge_duplicate_sessions
from .mobility_log import (
    DETAIL_COLUMNS,
    TIMING_COLUMNS,
    normalize_details,
    read_mobility_log,
)
from .source import read_head

__all__ = ["FIT_SUFFIXES", "MobilityResult", "read_mobility"]

logger = logging.getLogger(__name__)

#: File name endings read as FIT activity files (case-insensitive), from the registry.
FIT_SUFFIXES: tuple[str, ...] = (*FIT.extensions, *(e + ".gz" for e in FIT.extensions))


@dataclass(frozen=True, eq=False)
class MobilityResult:
    """What :func:`read_mobility` returns, whatever the flags.

    Attributes
    ----------
    sessions
        The canonical session table (:data:`~stridekeeper.schema.MOBILITY_COLUMNS`),
        validated, duplicates between log and watch merged, sorted by ``start_time``,
        ``RangeIndex``.
    errors
        Every bad row of every log, in file then line order
        (:class:`~stridekeeper.errors.RowError`). In strict mode this includes the rows of
        the logs that were refused, so they can be fixed.
    failures
        ``(file, reason)`` for each file (or folder) that gave nothing: unreadable, not a
        mobility log, damaged FIT, or a log refused in strict mode. ``reason`` does not
        repeat the file name.
    """

    sessions: pd.DataFrame
    errors: list[RowError] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)


def _kind(path: Path, explicit: bool) -> Format | None:
    """The registry row a file is read with (FIT, Apple Health or a mobility log), from its
    name and, for the export's names and unknown names given explicitly, its first bytes;
    None: not searched (in a folder)."""
    lower = path.name.lower().removesuffix(".gz")
    suffix = Path(lower).suffix
    if suffix in FIT.extensions:
        return FIT
    if suffix in APPLE_HEALTH.extensions:
        try:
            if format_of_path(path) is APPLE_HEALTH:
                return APPLE_HEALTH
        except (StridekeeperError, OSError):
            pass
    if suffix in MOBILITY_LOG.extensions:
        return MOBILITY_LOG
    if not explicit:
        return None
    try:  # another name, given explicitly: FIT if the bytes say so, else a log
        return FIT if FIT.sniff(read_head(path, 14)) else MOBILITY_LOG
    except (StridekeeperError, OSError):
        return MOBILITY_LOG  # the log reader reports the problem


def _expand(
    paths: Iterable[str | os.PathLike[str]], failures: list[tuple[str, str]]
) -> list[tuple[Path, Format]]:
    """(file, format) for every file to read, each once, in the order given (folders sorted)."""
    out: list[tuple[Path, Format]] = []
    seen: set[Path] = set()

    def add(p: Path, kind: Format) -> None:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            out.append((p, kind))

    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = []
            for f in sorted(p.rglob("*")):
                rel = f.relative_to(p).parts
                if any(part.startswith(".") for part in rel) or not f.is_file():
                    continue
                kind = _kind(f, explicit=False)
                if kind is not None:
                    found.append((f, kind))
            if not found:
                failures.append(
                    (
                        str(p),
                        f"no mobility logs ({', '.join(MOBILITY_LOG.extensions)}) or FIT "
                        f"files ({', '.join(FIT_SUFFIXES)}) in this folder",
                    )  # fmt: skip
                )
            for f, kind in found:
                add(f, kind)
        elif p.exists():
            add(p, _kind(p, explicit=True) or MOBILITY_LOG)
        else:
            failures.append((str(p), "no such file or folder"))
    return out


def _reason(exc: BaseException, file: str) -> str:
    """The exception's first line without a leading ``<file>: ``."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text.removeprefix(f"{file}: ").strip()


def read_mobility(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    tz: str | tzinfo | int | None = None,
    strict: bool = False,
    runs_span: tuple[Any, Any] | None = None,
) -> MobilityResult:
    """Read mobility logs and watch recordings from files and folders into one table.

    Parameters
    ----------
    paths
        A file or folder, or several. Folders are searched recursively for mobility logs
        (``.csv``, ``.tsv``, ``.json``, ``.jsonl``, ``.ndjson``) and FIT files (``.fit``,
        ``.fit.gz``); other files in them are ignored. A file given explicitly with another
        name is read as FIT when its bytes say so, else as a log. A file reached twice is
        read once.
    tz
        Time zone of the log's times and of FIT files without a local offset: an IANA name,
        a ``tzinfo`` or a UTC offset in seconds; None means the system's zone (see
        :func:`~stridekeeper.io.mobility_log.read_mobility_log`).
    strict
        If True, a log with any bad row is refused whole (a ``failures`` entry; its rows'
        problems still listed in ``errors``); other files go on. If False, a log's good
        rows are kept and its bad rows listed in ``errors``.
    runs_span
        First and last local date of the athlete's runs: log rows more than a year outside
        it are row errors (see :func:`~stridekeeper.io.mobility_log.read_mobility_log`).

    Returns
    -------
    MobilityResult
        ``sessions`` (validated canonical table, log/watch duplicates merged with
        :func:`~stridekeeper.io.merge.merge_duplicate_sessions`, whose ``source``
        then names both files as ``"<fit>;<log>"``; sorted by ``start_time``), ``errors``
        and ``failures``.

    Raises
    ------
    ValueError
        ``tz`` is not a known time zone.
    TypeError
        ``paths`` is not a path or an iterable of paths.

    Notes
    -----
    Never raises because of a file's content or a missing file: those become ``failures``.
    The same session found in two files (e.g. a copy of the log) has the same
    ``session_id``; it is kept once, with a :class:`~stridekeeper.errors.DataQualityWarning`.
    Readers' own data-quality warnings (rejected rows, recovered damage) are passed on.
    """
    zone = resolve_tz(tz)
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    elif not isinstance(paths, Iterable):
        raise TypeError(f"paths must be a path or an iterable of paths, got {type(paths).__name__}")
    failures: list[tuple[str, str]] = []
    errors: list[RowError] = []
    tables: list[pd.DataFrame] = []
    log_flags: list[np.ndarray] = []
    for path, kind in _expand(list(paths), failures):
        file = str(path)
        try:
            if kind.read_mobility is not None and kind is not MOBILITY_LOG:
                table = kind.read_mobility(path, tz=zone)
            else:
                res = read_mobility_log(path, tz=zone, strict=strict, runs_span=runs_span)
                table = res.sessions
                errors.extend(res.errors)
        except MobilityLogError as exc:
            errors.extend(exc.errors)
            reason = _reason(exc, file)
            if exc.errors and strict:
                reason = f"log refused: {reason}"
            elif not exc.errors and reason.startswith("missing required column"):
                reason = f"not a mobility log: {reason}"
            failures.append((file, reason))
            continue
        except StridekeeperError as exc:  # CorruptFileError, UnsupportedFormatError...
            failures.append((file, _reason(exc, file)))
            continue
        except OSError as exc:
            failures.append((file, f"cannot read ({exc.strerror or exc})"))
            continue
        logger.debug("%s: %d mobility session(s)", file, len(table))
        if len(table):
            tables.append(table)
            log_flags.append(np.full(len(table), kind is MOBILITY_LOG))

    if not tables:
        return MobilityResult(normalize_details(empty_sessions()), errors, failures)
    # a watch recording has blank log fields
    cols = [*MOBILITY_COLUMNS, *TIMING_COLUMNS, *DETAIL_COLUMNS]
    sessions = pd.concat([normalize_details(t)[cols] for t in tables], ignore_index=True)
    is_log = np.concatenate(log_flags)
    dup = sessions["session_id"].duplicated().to_numpy()
    if dup.any():
        first = dict(zip(sessions["session_id"][~dup], sessions["source"][~dup], strict=True))
        for sid, src in zip(sessions["session_id"][dup], sessions["source"][dup], strict=True):
            warnings.warn(
                f"{src}: session {sid} is also in {first[sid]}; kept once",
                DataQualityWarning,
                stacklevel=2,
            )
        sessions = sessions.loc[~dup].reset_index(drop=True)
        is_log = is_log[~dup]
    merged = merge_duplicate_sessions(sessions, is_log=is_log)
    return MobilityResult(validate_sessions(merged), errors, failures)
