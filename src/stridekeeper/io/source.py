"""One way to open what a reader is given: a path, bytes, a file object, a ``.gz``.

:func:`open_source` is the only function that turns a reader's ``source`` argument into
bytes; every reader calls it, so every reader accepts the same inputs, inflates ``.gz`` the
same way (with the same cap) and records the same ``meta["sha256"]``: the SHA-256 of the
bytes **as stored** (before inflating), which is also what the library's sources table
records. An :class:`Opened` source passes through unchanged, so a dispatcher can open a file
once, look at its head and hand it to the reader without reading it again.

:func:`read_head` peeks at the first bytes of a file (inflated) for format detection, and
:func:`text_head` / :func:`csv_header` are the helpers the readers' ``sniff`` functions share.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import re
import zipfile
import zlib
from os import PathLike
from pathlib import Path
from typing import IO, NamedTuple

from ..errors import CorruptFileError, StridekeeperError, UnsupportedFormatError
from .parsing import sniff_delimiter

__all__ = [
    "HEAD_BYTES",
    "MAX_INFLATED_BYTES",
    "FolderNotFileError",
    "MissingFileError",
    "UnreadableFileError",
    "Opened",
    "Source",
    "csv_header",
    "gunzip",
    "is_zip",
    "json_head",
    "open_error",
    "open_source",
    "read_head",
    "text_head",
    "zip_member_names",
]

#: Refuse to inflate a ``.gz`` beyond this. [bytes]
MAX_INFLATED_BYTES = 1 << 30
#: Bytes of a file looked at to detect its format. [bytes]
HEAD_BYTES = 1 << 16


class Opened(NamedTuple):
    """A source's content, ``.gz`` inflated, with its display name and the SHA-256 of the
    bytes as stored (before inflating)."""

    data: bytes
    name: str
    sha256: str


#: What a reader accepts as its ``source``.
Source = str | PathLike[str] | bytes | bytearray | memoryview | IO[bytes] | IO[str] | Opened


def gunzip(data: bytes, name: str, cap: int = MAX_INFLATED_BYTES) -> bytes:
    """``data`` inflated when it is gzip (else unchanged), refusing more than ``cap`` bytes.

    Raises
    ------
    CorruptFileError
        Damaged gzip data, or more than ``cap`` bytes inside.
    """
    if data[:2] != b"\x1f\x8b":
        return data
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
            out = gz.read(cap + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise CorruptFileError(name, f"damaged gzip data ({exc})") from exc
    if len(out) > cap:
        raise CorruptFileError(name, f"decompresses to more than {cap} bytes")
    return out


class UnreadableFileError(StridekeeperError, OSError):
    """A path that can't be read (no permission...): both stridekeeper's error and an
    ``OSError``, so callers can catch either."""


class MissingFileError(UnreadableFileError, FileNotFoundError):
    """A path that does not exist (also a ``FileNotFoundError``)."""


class FolderNotFileError(UnreadableFileError, IsADirectoryError):
    """A folder given where a file was expected (also an ``IsADirectoryError``)."""


def open_error(name: str, exc: OSError) -> UnreadableFileError:
    """The one-line error for a path that can't be read."""
    if isinstance(exc, IsADirectoryError):
        return FolderNotFileError(f"{name}: is a folder, not a file")
    if isinstance(exc, FileNotFoundError):
        return MissingFileError(f"{name}: no such file")
    return UnreadableFileError(f"{name}: cannot read ({exc.strerror or exc})")


def open_source(
    source: Source, name: str | None = None, *, cap: int = MAX_INFLATED_BYTES
) -> Opened:
    """All bytes of a source, ``.gz`` inflated, with its display name and SHA-256.

    Parameters
    ----------
    source
        Path, bytes, a binary (or text) file object, or an :class:`Opened` source (returned
        as it is, renamed when ``name`` is given).
    name
        Display name; default the path, the file object's ``name`` or ``<bytes>``.
    cap
        Largest size a ``.gz`` may inflate to. [bytes]

    Returns
    -------
    Opened
        Content, display name, hex SHA-256 of the bytes as stored (before inflating).

    Raises
    ------
    UnreadableFileError
        The path can't be read (:class:`MissingFileError`, :class:`FolderNotFileError`,
        no permission): a :class:`~stridekeeper.errors.StridekeeperError` and an ``OSError``.
    CorruptFileError
        Damaged gzip data, or more than ``cap`` bytes inside.
    UnsupportedFormatError
        A file object whose ``read()`` gives neither bytes nor text.
    TypeError
        ``source`` is none of the above.
    """
    if isinstance(source, Opened):
        return source if name is None or name == source.name else source._replace(name=name)
    if isinstance(source, bytes | bytearray | memoryview):
        raw, display = bytes(source), name or "<bytes>"
    elif hasattr(source, "read"):
        got = source.read()
        display = name or str(getattr(source, "name", "<stream>"))
        if isinstance(got, str):
            got = got.encode("utf-8")
        if not isinstance(got, bytes):
            raise UnsupportedFormatError(f"{display}: expected a binary stream")
        raw = got
    elif isinstance(source, str | PathLike):
        display = name or str(source)
        try:
            raw = Path(source).read_bytes()
        except OSError as exc:
            raise open_error(display, exc) from exc
    else:
        raise TypeError(f"expected a path, bytes or a file object, got {type(source).__name__}")
    sha = hashlib.sha256(raw).hexdigest()
    return Opened(gunzip(raw, display, cap), display, sha)


def read_head(path: str | PathLike[str], size: int = HEAD_BYTES, *, inflate: bool = True) -> bytes:
    """The first ``size`` bytes of a file, inflated when it is gzip (unless ``inflate`` is
    False).

    Raises
    ------
    UnreadableFileError
        The path can't be read.
    CorruptFileError
        Damaged gzip data.
    """
    name = str(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(size)
    except OSError as exc:
        raise open_error(name, exc) from exc
    if inflate and head[:2] == b"\x1f\x8b":
        try:
            with gzip.open(path, "rb") as gz:
                head = gz.read(size)
        except (OSError, EOFError, zlib.error) as exc:
            raise CorruptFileError(name, f"damaged gzip data ({exc})") from exc
    return head


def is_zip(head: bytes) -> bool:
    """True when the bytes start a zip archive."""
    return head[:4] in (b"PK\x03\x04", b"PK\x05\x06")


def zip_member_names(data: bytes) -> tuple[list[str], bool]:
    """Member names of a zip, and whether the listing is complete (the whole archive given;
    with only its start, the names in the local headers found there)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return zf.namelist(), True
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        pass
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


def text_head(head: bytes) -> str | None:
    """The first bytes as text (UTF-16 with a BOM, else UTF-8), None for binary data."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="ignore")
    if b"\x00" in head[:1024] or is_zip(head):
        return None
    return head.decode("utf-8-sig", errors="replace")


def csv_header(head: bytes) -> list[str]:
    """The header fields of a delimited text file's first bytes (``,``, ``;`` or tab; lines
    starting with ``#`` skipped); empty for binary data, XML, JSON or a single column."""
    text = text_head(head)
    if text is None:
        return []
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines or lines[0].lstrip()[:1] in ("<", "[", "{"):
        return []
    first = lines[0]
    delim = sniff_delimiter(first)
    if delim is None:
        return []
    try:
        return [h.strip() for h in next(csv.reader([first], delimiter=delim))]
    except (csv.Error, StopIteration):
        return []


def json_head(head: bytes) -> str | None:
    """The first bytes as text when they start a JSON document (``[`` or ``{``), else None."""
    text = text_head(head)
    if text is None:
        return None
    stripped = text.lstrip()
    return stripped if stripped[:1] in ("[", "{") else None


def decode_text(data: bytes, name: str) -> str:
    """Text of a CSV/JSON export: UTF-8 (BOM or not), UTF-16 with a BOM, else cp1252.

    Raises
    ------
    UnsupportedFormatError
        The bytes are binary (NUL bytes without a UTF-16 BOM).
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise CorruptFileError(name, f"damaged UTF-16 text ({exc})") from exc
    if b"\x00" in data[:4096]:
        raise UnsupportedFormatError(f"{name}: binary data, not a text (CSV/JSON) file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # spreadsheet programs on Windows save exports in the ANSI code page
        return data.decode("cp1252", errors="replace")
