"""Inflating a ``.gz`` source, capped: what is left here of the readers' old shared helpers.

Parsing, geo and record building have their own modules (``parsing``, ``geo``,
``records``); this belongs with opening a source and goes there with it.
"""

from __future__ import annotations

import gzip
import io
import zlib

from ..errors import CorruptFileError

__all__ = ["MAX_INFLATED_BYTES", "gunzip"]


#: Refuse to inflate a ``.gz`` beyond this. [bytes]
MAX_INFLATED_BYTES = 1 << 30


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
