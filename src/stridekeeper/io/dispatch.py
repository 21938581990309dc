"""The format registry: one ordered table of the formats stridekeeper reads, and the
functions that pick a reader from it (ObsPy/MNE style).

Every way in goes through :data:`FORMATS`: :func:`read_runs` (a path), :func:`read_bytes`
(bytes and a name), :func:`decode` (runs *and* mobility sessions of one file, what the
library's importer and ``stridekeeper inspect`` use), and the mobility reader
(:func:`~stridekeeper.io.mobility.read_mobility`). An explicit ``format=`` wins; otherwise
the content decides (each reader module exports a ``sniff(head) -> bool``), then the
extension, then weak evidence (a plain CSV header):

=========================  =======================  ==============================================
format                     usual file               recognised by its content (``sniff``)
=========================  =======================  ==============================================
``fit``                    ``*.fit``                ``.FIT`` at byte 8
``apple_health``           ``export.xml``,          XML root ``<HealthData>`` (or its DOCTYPE); a
                           ``export.zip``           zip holding ``*/export.xml``
``tcx``                    ``*.tcx``                XML root ``<TrainingCenterDatabase>``
``gpx``                    ``*.gpx``                XML root ``<gpx>``
``garmin_summary_json``    ``*summarizedActivities  JSON with ``summarizedActivitiesExport``
                           .json``
``strava_activities_csv``  ``activities.csv``       header with ``Activity ID`` + ``Activity Type``
``garmin_activities_csv``  ``Activities.csv``       header with activity type + date (any of the
                                                    languages in ``garmin_export.HEADERS``)
``mobility_log``           ``*.csv``, ``*.json``,   header (or JSON keys) with ``date`` +
                           ``*.jsonl``...           ``duration_min``: sessions, not runs
``csv``                    ``*.csv``                any other CSV (per-sample columns; weak)
=========================  =======================  ==============================================

A text file named ``*.fit`` is reported as "not a FIT file" rather than read as samples
(the extension beats weak evidence). ``.gz`` files are inflated (capped) by the one source
opener (:mod:`stridekeeper.io.source`). Known files that are not activities get a hint: a
mobility log is read by ``stridekeeper mobility``; a zip without an Apple Health export
should be imported or unpacked.
"""

from __future__ import annotations

import functools
import importlib
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, tzinfo
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import CorruptFileError, RowError, UnsupportedFormatError
from ..schema import Run

# the FIT reader and the mobility log's names are needed at once; every other reader is
# imported when its row is first asked for (an import of FIT files loads none of them)
from . import fit, mobility_fit, mobility_log
from ._xml import looks_like_xml, sniff_root
from .source import (
    HEAD_BYTES,
    MAX_INFLATED_BYTES,
    Opened,
    Source,
    is_zip,
    open_source,
    read_head,
    zip_member_names,
)

if TYPE_CHECKING:
    import pandas as pd
else:
    from ..lazy import pandas as pd

__all__ = [
    "FORMATS",
    "LOG_SUFFIXES",
    "RUN_SUFFIXES",
    "SUPPORTED_FORMATS",
    "Decoded",
    "Format",
    "decode",
    "detect_format",
    "find_format",
    "format_of_path",
    "is_log_name",
    "read_bytes",
    "read_runs",
    "sniff_format",
]

_MOBILITY_HINT = "this is a mobility log: use `stridekeeper mobility`"

#: Every name a mobility log may end with (the one list: the log reader's).
LOG_SUFFIXES = mobility_log.LOG_SUFFIXES


@dataclass(frozen=True, eq=False)
class Decoded:
    """What one file holds: its runs (every session that is not mobility work, every sport)
    and its mobility sessions, from one decode.

    Attributes
    ----------
    format
        The format it was read as.
    runs
        Sessions as runs (empty for a mobility log).
    sessions
        Mobility sessions (the canonical table), None when the format holds none.
    errors
        Bad rows of a mobility log (its good rows are in ``sessions``).
    """

    format: Format
    runs: list[Run]
    sessions: pd.DataFrame | None = None
    errors: list[RowError] = field(default_factory=list)


def _decode_runs(fmt: Format) -> Callable[..., Decoded]:
    def run(source: Any, *, name: str, tz: Any, runs_span: Any = None) -> Decoded:
        assert fmt.read is not None  # only for formats with a run reader
        return Decoded(fmt, fmt.read(source, name=name, sport=None))

    return run


def _decode_fit(source: Any, *, name: str, tz: Any, runs_span: Any = None) -> Decoded:
    runs = fit.read_fit(source, name=name)
    if not any(mobility_fit.is_mobility_session(r.meta.get("sport"), r.meta.get("sub_sport"))
               for r in runs):  # fmt: skip
        return Decoded(FIT, runs)  # no sessions table: an activity file imports without pandas
    return Decoded(FIT, runs, mobility_fit.mobility_sessions(runs, name=name, tz=tz))


def _decode_apple(source: Any, *, name: str, tz: Any, runs_span: Any = None) -> Decoded:
    export = APPLE_HEALTH.module.read_apple_health_export(source, name=name)
    return Decoded(APPLE_HEALTH, export.runs, export.sessions)


def _decode_log(source: Any, *, name: str, tz: Any, runs_span: Any = None) -> Decoded:
    result = mobility_log.read_mobility_log(source, source=name, tz=tz, runs_span=runs_span)
    return Decoded(MOBILITY_LOG, [], result.sessions, list(result.errors))


@dataclass(frozen=True, eq=False)
class Format:
    """One row of the registry.

    The reader's functions are named, not held: the module (``stridekeeper.io.<reader>``)
    is imported the first time one of them is asked for (ObsPy's registry works the same
    way), so reading one format doesn't load the others.

    Attributes
    ----------
    name
        The key (``format=``), also ``meta['format']`` of the runs it gives.
    extensions
        Usual file name endings (lower case, ``.gz`` aside).
    reader
        The reader module's name under :mod:`stridekeeper.io`.
    sniffs
        Its ``sniff(head) -> bool`` on the first bytes (inflated): :attr:`sniff`.
    reads
        Its ``read(source, *, name, sport) -> list[Run]``: :attr:`read`; None for a format
        without runs (a mobility log).
    reads_mobility
        Its ``read(source, *, name, tz) -> DataFrame`` of mobility sessions, or None:
        :attr:`read_mobility` (``module:name`` for one in another module).
    claims_extension
        Whether the extension alone picks this format when the content does not decide.
    weak
        Content evidence tried only after the extensions (a plain CSV header).
    streamed
        Read from disk as a stream, never held in memory (Apple Health exports).
    decoder
        ``decode(source, *, name, tz) -> Decoded``: runs and sessions of one file from
        one decode; default: the runs of :attr:`read`.
    """

    name: str
    extensions: tuple[str, ...]
    reader: str
    sniffs: str = "sniff"
    reads: str | None = None
    reads_mobility: str | None = None
    claims_extension: bool = True
    weak: bool = False
    streamed: bool = False
    decoder: Callable[..., Decoded] | None = None

    @functools.cached_property
    def module(self) -> Any:
        """The reader module (imported on first use)."""
        return importlib.import_module(f"{__package__}.{self.reader}")

    def _function(self, ref: str | None) -> Any:
        if ref is None:
            return None
        module, _, attr = ref.rpartition(":")
        where = importlib.import_module(f"{__package__}.{module}") if module else self.module
        return getattr(where, attr)

    @functools.cached_property
    def sniff(self) -> Callable[[bytes], bool]:
        """``sniff(head) -> bool``."""
        return self._function(self.sniffs)

    @functools.cached_property
    def read(self) -> Callable[..., list[Run]] | None:
        """``read(source, *, name, sport) -> list[Run]``, or None (no runs)."""
        return self._function(self.reads)

    @functools.cached_property
    def read_mobility(self) -> Callable[..., pd.DataFrame] | None:
        """``read(source, *, name, tz) -> DataFrame`` of mobility sessions, or None."""
        return self._function(self.reads_mobility)

    def decode(self, source: Any, *, name: str, tz: Any = None, runs_span: Any = None) -> Decoded:
        """Runs and mobility sessions of one file (see :func:`decode`)."""
        return (self.decoder or _decode_runs(self))(source, name=name, tz=tz, runs_span=runs_span)


FIT = Format("fit", (".fit",), "fit", reads="read_fit", decoder=_decode_fit,
             reads_mobility="mobility_fit:read_fit_mobility")  # fmt: skip
APPLE_HEALTH = Format("apple_health", (".xml", ".zip"), "apple_health",
                      reads="read_apple_health", reads_mobility="read_apple_health_mobility",
                      streamed=True, decoder=_decode_apple)  # fmt: skip
MOBILITY_LOG = Format("mobility_log", tuple(mobility_log.LOG_EXTENSIONS), "mobility_log",
                      reads_mobility="read_mobility_log", claims_extension=False,
                      decoder=_decode_log)  # fmt: skip

#: The registry, in the order content is tried.
FORMATS: tuple[Format, ...] = (
    FIT,
    APPLE_HEALTH,
    Format("tcx", (".tcx",), "tcx", reads="read_tcx"),
    Format("gpx", (".gpx",), "gpx", reads="read_gpx"),
    Format(
        "garmin_summary_json",
        (".json",),
        "garmin_export",
        sniffs="sniff_summary_json",
        reads="read_garmin_summary_json",
    ),
    Format(
        "strava_activities_csv",
        (".csv",),
        "strava_export",
        reads="read_strava_activities_csv",
        claims_extension=False,
    ),
    Format(
        "garmin_activities_csv",
        (".csv",),
        "garmin_export",
        sniffs="sniff_activities_csv",
        reads="read_garmin_activities_csv",
        claims_extension=False,
    ),
    MOBILITY_LOG,
    Format("csv", (".csv", ".tsv", ".txt"), "csv", reads="read_csv_run", weak=True),
)

#: Run formats this version reads, with their usual file extensions.
SUPPORTED_FORMATS: dict[str, tuple[str, ...]] = {
    f.name: f.extensions for f in FORMATS if f.reads is not None
}
#: File names searched for in folders by ``stridekeeper inspect``: every run format's
#: extensions but ``.txt`` (READMEs), plain and ``.gz``.
RUN_SUFFIXES: tuple[str, ...] = tuple(dict.fromkeys(
    e + gz for f in FORMATS if f.reads is not None for e in f.extensions if e != ".txt"
    for gz in ("", ".gz")
))  # fmt: skip
#: Extension -> format when the content does not decide.
_BY_EXTENSION: dict[str, Format] = {}
for _f in FORMATS:
    for _ext in _f.extensions:
        if _f.claims_extension and _ext != ".txt":
            _BY_EXTENSION.setdefault(_ext, _f)


def find_format(name: str) -> Format:
    """The registry row of a format name.

    Raises
    ------
    UnsupportedFormatError
        Not a format this version reads (the message lists them).
    """
    for f in FORMATS:
        if f.name == name.lower():
            return f
    raise UnsupportedFormatError(f"format {name!r} is not supported; supported: {_supported()}")


def _supported() -> str:
    return ", ".join(f"{k} ({'/'.join(v)})" for k, v in SUPPORTED_FORMATS.items())


def _suffix(name: str) -> str:
    return Path(name.rsplit("!", 1)[-1].lower().removesuffix(".gz")).suffix


def is_log_name(name: str) -> bool:
    """True when a file name (or ``archive!member``) ends like a mobility log
    (:data:`LOG_SUFFIXES`, ``.gz`` aside)."""
    return name.rsplit("!", 1)[-1].lower().removesuffix(".gz").endswith(LOG_SUFFIXES)


def _zip_hint(names: list[str], name: str) -> UnsupportedFormatError:
    shown = ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")
    return UnsupportedFormatError(
        f"{name}: a zip archive without an Apple Health export.xml (members: {shown or 'none'}); "
        f"to import every activity in it (a Strava or Garmin bulk export) run "
        f"`stridekeeper import {name}`, or unzip it and inspect the activity files inside"
    )


# --------------------------------------------------------------------------- detection
def sniff_format(
    head: bytes, name: str = "", *, zip_names: list[str] | None = None
) -> Format | None:
    """The registry row for a file: its content first, then its name, then weak evidence.

    Parameters
    ----------
    head
        The first bytes of the (inflated) file; a few hundred suffice for everything but a
        zip, whose member list needs the whole archive (with only its start, the first
        members' names are used).
    name
        File name, used when the bytes are not conclusive.

    Returns
    -------
    Format or None
        None when nothing matches. A mobility log is returned as :data:`MOBILITY_LOG`.

    Raises
    ------
    UnsupportedFormatError
        A zip without an Apple Health export (with a hint), an XML document of another kind.
    """
    if is_zip(head):
        if APPLE_HEALTH.sniff(head):
            return APPLE_HEALTH
        names, complete = zip_member_names(head)
        if complete:
            raise _zip_hint(names, name)
    else:
        for f in FORMATS:
            if not f.weak and f.sniff(head):
                return f
        if looks_like_xml(head):
            root = sniff_root(head)
            if root is not None:
                raise UnsupportedFormatError(
                    f"{name}: an XML document with root <{root}>, not an activity format this "
                    f"version reads; supported: {_supported()}"
                )
    by_name = _BY_EXTENSION.get(_suffix(name))
    if by_name is not None:
        return by_name
    if not looks_like_xml(head):
        return next((f for f in FORMATS if f.weak and f.sniff(head)), None)
    return None


def detect_format(head: bytes, name: str = "") -> str | None:
    """The run format of a file from its first bytes (preferred) or its name.

    Parameters
    ----------
    head, name
        As for :func:`sniff_format`.

    Returns
    -------
    str or None
        A key of :data:`SUPPORTED_FORMATS`, or None when unknown.

    Raises
    ------
    UnsupportedFormatError
        A file stridekeeper knows that is not an activity, with a hint: a mobility log, a
        zip without an Apple Health export, an XML document of another kind.
    """
    fmt = sniff_format(head, name)
    if fmt is not None and fmt.read is None:
        raise UnsupportedFormatError(f"{name}: {_MOBILITY_HINT}")
    return None if fmt is None else fmt.name


def _zip_on_disk(path: str | PathLike[str], name: str) -> Format:
    try:
        with zipfile.ZipFile(path) as zf:
            if APPLE_HEALTH.module.export_member(zf) is not None:
                return APPLE_HEALTH
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise CorruptFileError(name, f"damaged zip archive ({exc})") from exc
    raise _zip_hint(names, name)


def format_of_path(path: str | PathLike[str], name: str | None = None) -> Format | None:
    """The registry row for a file on disk (its first :data:`HEAD_BYTES`; for a zip, its
    member list and the head of its ``export.xml``), as :func:`sniff_format`.

    Raises
    ------
    UnreadableFileError
        The path can't be read.
    CorruptFileError
        Damaged gzip or zip data.
    UnsupportedFormatError
        As :func:`sniff_format`.
    """
    name = str(path) if name is None else name
    head = read_head(path)
    if is_zip(head) and is_zip(read_head(path, 4, inflate=False)):  # a zip on disk, not .zip.gz
        return _zip_on_disk(path, name)  # its whole member list, never the archive read
    return sniff_format(head, name)


def _unknown(name: str) -> UnsupportedFormatError:
    return UnsupportedFormatError(f"{name}: unrecognised file format; supported: {_supported()}")


def _run_format(fmt: Format | None, name: str) -> Format:
    if fmt is None:
        raise _unknown(name)
    if fmt.read is None:
        raise UnsupportedFormatError(f"{name}: {_MOBILITY_HINT}")
    return fmt


# --------------------------------------------------------------------------- reading
def _open(
    source: Source, name: str | None, format: str | None, max_bytes: int
) -> tuple[Format, Any, str]:
    """The format of a source, and what to hand its reader: the path itself for a streamed
    format (Apple Health), else the source opened once (:class:`Opened`)."""
    fmt = find_format(format) if format else None
    if isinstance(source, str | PathLike) and not isinstance(source, Opened):
        display = str(source) if name is None else name
        if fmt is None:
            fmt = format_of_path(source, display)
        if fmt is not None and fmt.streamed:
            return fmt, Path(source), display
    opened = open_source(source, name, cap=max_bytes)
    if fmt is None:
        head = opened.data if is_zip(opened.data) else opened.data[:HEAD_BYTES]
        fmt = sniff_format(head, opened.name)
    if fmt is None:
        raise _unknown(opened.name)
    return fmt, opened, opened.name


def read_runs(
    path: str | PathLike[str],
    *,
    sport: str | Iterable[str] | None = None,
    format: str | None = None,
) -> list[Run]:
    """Read every session of an activity file, whatever its format.

    Parameters
    ----------
    path
        The file; ``.gz`` files are inflated (the source is never modified). Apple Health
        exports (``export.xml``, ``export.zip``) are streamed from disk.
    sport
        Keep only sessions of this sport or these sports (``"running"``); None keeps all
        (for Apple Health: its running workouts).
    format
        Force a format (a key of :data:`SUPPORTED_FORMATS`) instead of detecting it.

    Returns
    -------
    list of Run
        One per session (per activity for the summary exports).

    Raises
    ------
    UnsupportedFormatError
        The format is not recognised (the message lists what is supported), or the file is
        known but not an activity (with a hint).
    CorruptFileError
        The file is damaged beyond recovery.
    """
    try:
        fmt, src, name = _open(path, None, format, MAX_INFLATED_BYTES)
    except UnsupportedFormatError as exc:
        if format and str(exc).startswith("format "):
            raise UnsupportedFormatError(f"{path}: {exc}") from None
        raise
    reader = _run_format(fmt, name).read
    assert reader is not None
    return reader(src, name=name, sport=sport)


def read_bytes(
    data: bytes,
    name: str = "<bytes>",
    *,
    sport: str | Iterable[str] | None = None,
    format: str | None = None,
    max_bytes: int = MAX_INFLATED_BYTES,
) -> list[Run]:
    """Read every session of a file given as bytes (e.g. an archive member).

    Parameters
    ----------
    data
        The file's bytes as stored (``.gz`` inflated here; ``meta['sha256']`` is the hash
        of these bytes, as for the same file read from disk).
    name
        Its name: in messages and ``meta['source']``, and for detection by extension.
    sport, format
        As for :func:`read_runs`.
    max_bytes
        Largest size a ``.gz`` may inflate to. [bytes]
    runs_span
        First and last local date of the athlete's runs: a mobility log's session more
        than a year outside them is a row error.

    Returns
    -------
    list of Run

    Raises
    ------
    UnsupportedFormatError, CorruptFileError
        As for :func:`read_runs`.
    """
    fmt, src, name = _open(data, name, format, max_bytes)
    reader = _run_format(fmt, name).read
    assert reader is not None
    return reader(src, name=name, sport=sport)


def decode(
    source: Source,
    name: str | None = None,
    *,
    format: str | None = None,
    tz: str | tzinfo | int | None = None,
    max_bytes: int = MAX_INFLATED_BYTES,
    runs_span: tuple[date, date] | None = None,
) -> Decoded:
    """Runs and mobility sessions of one file, from one decode, whatever its format.

    A FIT file's mobility sessions are a function of its decoded sessions
    (:func:`~stridekeeper.io.mobility_fit.mobility_sessions`); an Apple Health export's
    workouts are streamed once for runs and mobility workouts; a mobility log gives
    sessions only.

    Parameters
    ----------
    source
        Path (Apple Health exports streamed from it), bytes, file object or opened source.
    name
        Display name (default: the path, ``<bytes>``).
    format
        Force a format (any key of :data:`FORMATS`, ``"mobility_log"`` included).
    tz
        Zone of a mobility log's local times, and of FIT mobility sessions without a local
        offset (None: the system's).
    max_bytes
        Largest size a ``.gz`` may inflate to. [bytes]

    Returns
    -------
    Decoded

    Raises
    ------
    UnsupportedFormatError, CorruptFileError, MobilityLogError
        As the format's reader.
    """
    fmt, src, display = _open(source, name, format, max_bytes)
    return fmt.decode(src, name=display, tz=tz, runs_span=runs_span)
