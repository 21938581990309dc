"""Pick the reader for a file: explicit ``format=`` first, then magic bytes, then extension."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable, Iterable
from os import PathLike
from pathlib import Path

from ..errors import CorruptFileError, StridekeeperError, UnsupportedFormatError
from ..schema import Run

__all__ = ["SUPPORTED_FORMATS", "detect_format", "read_runs"]

#: Run formats this version reads, with their usual file extensions.
SUPPORTED_FORMATS: dict[str, tuple[str, ...]] = {
    "fit": (".fit",),
}

#: Refuse to inflate a .gz beyond this. [bytes]
MAX_GZIP_BYTES = 1 << 30


def _fit_reader(data: bytes, name: str, sport: str | Iterable[str] | None) -> list[Run]:
    from .fit import read_fit

    return read_fit(data, sport=sport, name=name)


_READERS: dict[str, Callable[[bytes, str, str | Iterable[str] | None], list[Run]]] = {
    "fit": _fit_reader,
}


def detect_format(head: bytes, name: str = "") -> str | None:
    """Guess the format from the first bytes (preferred) or the file name.

    Parameters
    ----------
    head
        The first few hundred bytes of the (decompressed) file.
    name
        File name, used when the bytes are not conclusive.

    Returns
    -------
    str or None
        A key of :data:`SUPPORTED_FORMATS`, or None when unknown.
    """
    if len(head) >= 12 and head[8:12] == b".FIT":
        return "fit"
    suffix = Path(name.removesuffix(".gz")).suffix.lower()
    for fmt, exts in SUPPORTED_FORMATS.items():
        if suffix in exts:
            return fmt
    return None


def _read_bytes(path: str | PathLike[str]) -> tuple[bytes, str]:
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except IsADirectoryError as exc:
        raise StridekeeperError(f"{name}: is a folder, not a file") from exc
    except FileNotFoundError as exc:
        raise StridekeeperError(f"{name}: no such file") from exc
    except OSError as exc:
        raise StridekeeperError(f"{name}: cannot read ({exc.strerror or exc})") from exc
    if data[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=__import__("io").BytesIO(data)) as gz:
                data = gz.read(MAX_GZIP_BYTES + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise CorruptFileError(name, f"damaged gzip data ({exc})") from exc
        if len(data) > MAX_GZIP_BYTES:
            raise CorruptFileError(name, f"decompresses to more than {MAX_GZIP_BYTES} bytes")
    return data, name


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
    sport
        Keep only sessions of this sport or these sports (``"running"``); None keeps all.
    format
        Force a format (a key of :data:`SUPPORTED_FORMATS`) instead of detecting it.

    Returns
    -------
    list of Run
        One per session.

    Raises
    ------
    UnsupportedFormatError
        The format is not recognised (the message lists what is supported).
    CorruptFileError
        The file is damaged beyond recovery.
    """
    data, name = _read_bytes(path)
    fmt = format.lower() if format else detect_format(data[:512], name)
    if fmt not in _READERS:
        supported = ", ".join(f"{k} ({'/'.join(v)})" for k, v in SUPPORTED_FORMATS.items())
        what = f"format {format!r} is not supported" if format else "unrecognised file format"
        raise UnsupportedFormatError(f"{name}: {what}; supported: {supported}")
    return _READERS[fmt](data, name, sport)
