"""Pick the reader for a file: explicit ``format=`` first, then the content, then the extension.

=========================  =======================  ==============================================
format                     usual file               recognised by its content
=========================  =======================  ==============================================
``fit``                    ``*.fit``                ``.FIT`` at byte 8
``tcx``                    ``*.tcx``                XML root ``<TrainingCenterDatabase>``
``gpx``                    ``*.gpx``                XML root ``<gpx>``
``apple_health``           ``export.xml``,          XML root ``<HealthData>`` (or its DOCTYPE); a
                           ``export.zip``           zip holding ``*/export.xml``
``garmin_activities_csv``  ``Activities.csv``       header with activity type + date (any of the
                                                    languages in ``garmin_export.HEADERS``)
``strava_activities_csv``  ``activities.csv``       header with ``Activity ID`` + ``Activity Type``
``garmin_summary_json``    ``*summarizedActivities  JSON with ``summarizedActivitiesExport``
                           .json``
``csv``                    ``*.csv``                any other CSV (per-sample columns)
=========================  =======================  ==============================================

Content wins over the extension, except for a plain CSV header (weak evidence): a text file
named ``*.fit`` is reported as "not a FIT file" rather than read as samples. ``.gz`` files
are decompressed on the fly. Known files that are not activities get a hint:
a mobility log (``date`` + ``duration_min``) is read by ``stridekeeper mobility``; a zip
without an Apple Health export should be unpacked.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable
from os import PathLike
from pathlib import Path
from typing import NoReturn

from ..errors import CorruptFileError, StridekeeperError, UnsupportedFormatError
from ..schema import Run
from ._common import gunzip
from ._xml import looks_like_xml, sniff_root
from .parsing import sniff_delimiter
from .records import filter_sport

__all__ = ["SUPPORTED_FORMATS", "detect_format", "read_runs"]

#: Run formats this version reads, with their usual file extensions.
SUPPORTED_FORMATS: dict[str, tuple[str, ...]] = {
    "fit": (".fit",),
    "tcx": (".tcx",),
    "gpx": (".gpx",),
    "csv": (".csv", ".tsv", ".txt"),
    "garmin_activities_csv": (".csv",),
    "strava_activities_csv": (".csv",),
    "garmin_summary_json": (".json",),
    "apple_health": (".xml", ".zip"),
}

#: Extension -> format when the content does not decide.
_BY_EXTENSION: dict[str, str] = {
    ".fit": "fit",
    ".tcx": "tcx",
    ".gpx": "gpx",
    ".csv": "csv",
    ".tsv": "csv",
    ".json": "garmin_summary_json",
    ".xml": "apple_health",
    ".zip": "apple_health",
}

#: XML root element -> format.
_XML_ROOTS = {"TrainingCenterDatabase": "tcx", "gpx": "gpx", "HealthData": "apple_health"}

#: Bytes of a file looked at to detect its format. [bytes]
HEAD_BYTES = 1 << 16

_MOBILITY_HINT = "this is a mobility log: use `stridekeeper mobility`"

Reader = Callable[[bytes | Path, str, str | Iterable[str] | None], list[Run]]


def _fit_reader(data: bytes | Path, name: str, sport: str | Iterable[str] | None) -> list[Run]:
    from .fit import read_fit

    return read_fit(data, sport=sport, name=name)


def _tcx_reader(data: bytes | Path, name: str, sport: str | Iterable[str] | None) -> list[Run]:
    from .tcx import read_tcx

    return read_tcx(data, name=name, sport=sport)


def _gpx_reader(data: bytes | Path, name: str, sport: str | Iterable[str] | None) -> list[Run]:
    from .gpx import read_gpx

    return read_gpx(data, name=name, sport=sport)


def _csv_reader(data: bytes | Path, name: str, sport: str | Iterable[str] | None) -> list[Run]:
    from .csv import read_csv_run

    return filter_sport(read_csv_run(data, name=name), sport)


def _garmin_csv_reader(data: bytes | Path, name: str,
                       sport: str | Iterable[str] | None) -> list[Run]:  # fmt: skip
    from .garmin_export import read_garmin_activities_csv

    return read_garmin_activities_csv(data, name=name, sport=sport)


def _strava_csv_reader(data: bytes | Path, name: str,
                       sport: str | Iterable[str] | None) -> list[Run]:  # fmt: skip
    from .strava_export import read_strava_activities_csv

    return read_strava_activities_csv(data, name=name, sport=sport)


def _garmin_json_reader(data: bytes | Path, name: str,
                        sport: str | Iterable[str] | None) -> list[Run]:  # fmt: skip
    from .garmin_export import read_garmin_summary_json

    return read_garmin_summary_json(data, name=name, sport=sport)


def _apple_reader(data: bytes | Path, name: str, sport: str | Iterable[str] | None) -> list[Run]:
    from .apple_health import read_apple_health

    return read_apple_health(data, name=name, sport=sport)


#: format -> reader taking (bytes or path, display name, sport filter).
_READERS: dict[str, Reader] = {
    "fit": _fit_reader,
    "tcx": _tcx_reader,
    "gpx": _gpx_reader,
    "csv": _csv_reader,
    "garmin_activities_csv": _garmin_csv_reader,
    "strava_activities_csv": _strava_csv_reader,
    "garmin_summary_json": _garmin_json_reader,
    "apple_health": _apple_reader,
}


# --------------------------------------------------------------------------- detection
def _zip_names(data: bytes) -> tuple[list[str], bool]:
    """Member names of a zip, and whether the listing is complete (whole archive given)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return zf.namelist(), True
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        pass
    # only the first bytes: the names in the local headers found there
    names = []
    for m in re.finditer(rb"PK\x03\x04", data):
        at = m.start()
        if at + 30 > len(data):
            break
        n = int.from_bytes(data[at + 26 : at + 28], "little")
        raw = data[at + 30 : at + 30 + n]
        if len(raw) == n:
            names.append(raw.decode("utf-8", errors="replace"))
    return names, False


def _zip_format(data: bytes, name: str) -> str | None:
    from .apple_health import find_export_member

    names, complete = _zip_names(data)
    if find_export_member(names) is not None or any("apple_health_export" in n for n in names):
        return "apple_health"
    if complete:
        _zip_hint(names, name)
    return None


def _text_head(head: bytes) -> str | None:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="ignore")
    if b"\x00" in head[:1024]:
        return None
    return head.decode("utf-8-sig", errors="replace")


def _header_fields(text: str) -> list[str]:
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        return []
    first = lines[0]
    delim = sniff_delimiter(first)
    if delim is None:
        return []
    try:
        return [h.strip() for h in next(csv.reader([first], delimiter=delim))]
    except (csv.Error, StopIteration):
        return []


def _is_mobility_header(fields: list[str]) -> bool:
    keys = {re.sub(r"[\s\-]+", "_", f.strip().lower()) for f in fields}
    return "date" in keys and "duration_min" in keys


def detect_format(head: bytes, name: str = "") -> str | None:
    """Guess the format from the first bytes (preferred) or the file name.

    Parameters
    ----------
    head
        The first bytes of the (decompressed) file; a few hundred suffice for everything
        but a zip, whose member list needs the whole archive (with only its start, the
        first members' names are used).
    name
        File name, used when the bytes are not conclusive.

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
    if len(head) >= 12 and head[8:12] == b".FIT":
        return "fit"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        fmt = _zip_format(head, name)
        if fmt is not None:
            return fmt
    elif looks_like_xml(head):
        root = sniff_root(head)
        if root in _XML_ROOTS:
            return _XML_ROOTS[root]
        if root is not None:
            raise UnsupportedFormatError(
                f"{name}: an XML document with root <{root}>, not an activity format this "
                f"version reads; supported: {_supported()}"
            )
    else:
        text = _text_head(head)
        if text is not None:
            stripped = text.lstrip()
            if stripped[:1] in ("[", "{"):
                if "summarizedActivitiesExport" in stripped or '"activityId"' in stripped:
                    return "garmin_summary_json"
                if '"duration_min"' in stripped and '"date"' in stripped:
                    raise UnsupportedFormatError(f"{name}: {_MOBILITY_HINT}")
            else:
                fields = _header_fields(text)
                if fields:
                    from .garmin_export import is_garmin_activities_header
                    from .strava_export import is_strava_activities_header

                    if is_strava_activities_header(fields):
                        return "strava_activities_csv"
                    if is_garmin_activities_header(fields):
                        return "garmin_activities_csv"
                    if _is_mobility_header(fields):
                        raise UnsupportedFormatError(f"{name}: {_MOBILITY_HINT}")
    suffix = Path(name.removesuffix(".gz")).suffix.lower()
    if suffix in _BY_EXTENSION:
        return _BY_EXTENSION[suffix]
    text = _text_head(head)
    if text is not None and len(_header_fields(text)) >= 2 and not looks_like_xml(head):
        return "csv"
    return None


def _supported() -> str:
    return ", ".join(f"{k} ({'/'.join(v)})" for k, v in SUPPORTED_FORMATS.items())


# --------------------------------------------------------------------------- reading
def _open_error(name: str, exc: OSError) -> StridekeeperError:
    if isinstance(exc, IsADirectoryError):
        return StridekeeperError(f"{name}: is a folder, not a file")
    if isinstance(exc, FileNotFoundError):
        return StridekeeperError(f"{name}: no such file")
    return StridekeeperError(f"{name}: cannot read ({exc.strerror or exc})")


def _read_bytes(path: str | PathLike[str]) -> tuple[bytes, str]:
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise _open_error(name, exc) from exc
    return gunzip(data, name), name


def _peek(path: str | PathLike[str]) -> bytes:
    """The first :data:`HEAD_BYTES` of a file, decompressed when it is gzip."""
    name = str(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(HEAD_BYTES)
    except OSError as exc:
        raise _open_error(name, exc) from exc
    if head[:2] == b"\x1f\x8b":
        try:
            with gzip.open(path, "rb") as gz:
                head = gz.read(HEAD_BYTES)
        except (OSError, EOFError, zlib.error) as exc:
            raise CorruptFileError(name, f"damaged gzip data ({exc})") from exc
    return head


def _zip_path_format(path: str | PathLike[str], name: str) -> str | None:
    from .apple_health import find_export_member

    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise CorruptFileError(name, f"damaged zip archive ({exc})") from exc
    if find_export_member(names) is not None:
        return "apple_health"
    _zip_hint(names, name)


def _zip_hint(names: list[str], name: str) -> NoReturn:
    shown = ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")
    raise UnsupportedFormatError(
        f"{name}: a zip archive without an Apple Health export.xml (members: {shown or 'none'}); "
        f"to import every activity in it (a Strava or Garmin bulk export) run "
        f"`stridekeeper import {name}`, or unzip it and inspect the activity files inside"
    )


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
        The file; ``.gz`` files are decompressed on the fly (the source is never modified).
        Apple Health exports (``export.xml``, ``export.zip``) are streamed from disk.
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
    name = str(path)
    fmt = format.lower() if format else None
    if fmt is None:
        head = _peek(path)
        if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
            fmt = _zip_path_format(path, name)
        else:
            fmt = detect_format(head, name)
    if fmt not in _READERS:
        what = f"format {format!r} is not supported" if format else "unrecognised file format"
        raise UnsupportedFormatError(f"{name}: {what}; supported: {_supported()}")
    if fmt == "apple_health":
        # streamed from disk twice: memory stays flat however large the export
        return _READERS[fmt](Path(path), name, sport)
    data, name = _read_bytes(path)
    return _READERS[fmt](data, name, sport)
