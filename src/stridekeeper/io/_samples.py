"""Reading a source (path, bytes, file object, ``.gz``) and decoding its text.

What is left here of the readers' old shared helpers: parsing, geo and record building
have their own modules (``parsing``, ``geo``, ``records``); this belongs with opening a
source and goes there with it.
"""

from __future__ import annotations

import hashlib
from os import PathLike
from pathlib import Path
from typing import IO

from ..errors import CorruptFileError, StridekeeperError, UnsupportedFormatError
from ._common import gunzip

__all__ = ["decode_text", "read_source"]


def read_source(
    source: str | PathLike[str] | bytes | IO[bytes] | IO[str], name: str | None = None
) -> tuple[bytes, str, str]:
    """All bytes of a source, ``.gz`` inflated, with its display name and SHA-256.

    Parameters
    ----------
    source
        Path, bytes, or a binary (or text) file object.
    name
        Display name; default the path, the file object's ``name`` or ``<bytes>``.

    Returns
    -------
    (bytes, str, str)
        Content, display name, hex SHA-256 of the bytes as stored (before inflating).

    Raises
    ------
    StridekeeperError
        The path can't be read.
    CorruptFileError
        Damaged gzip data.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        raw, display = bytes(source), name or "<bytes>"
    elif hasattr(source, "read"):
        raw = source.read()
        display = name or str(getattr(source, "name", "<stream>"))
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        if not isinstance(raw, bytes):
            raise UnsupportedFormatError(f"{display}: expected a binary stream")
    elif isinstance(source, str | PathLike):
        display = name or str(source)
        try:
            raw = Path(source).read_bytes()
        except IsADirectoryError as exc:
            raise StridekeeperError(f"{display}: is a folder, not a file") from exc
        except FileNotFoundError as exc:
            raise StridekeeperError(f"{display}: no such file") from exc
        except OSError as exc:
            raise StridekeeperError(f"{display}: cannot read ({exc.strerror or exc})") from exc
    else:
        raise TypeError(f"expected a path, bytes or a file object, got {type(source).__name__}")
    sha = hashlib.sha256(raw).hexdigest()
    return gunzip(raw, display), display, sha


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
