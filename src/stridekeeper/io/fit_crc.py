"""The FIT CRC (CRC-16/ARC), one implementation for the decoders and the encoder.

Computed by the Rust-backed ``fastcrc`` package (about 2 us for 100 kB); when it cannot be
loaded, by a block-parallel numpy table method (about 1.4 ns a byte). :data:`CRC_BACKEND`
says which. ``binascii.crc_hqx`` is CRC-CCITT, another polynomial.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

__all__ = ["CRC_BACKEND", "crc16_numpy", "fit_crc"]


@functools.cache
def _crc_tables() -> tuple[tuple[int, ...], np.ndarray]:
    """The byte table and the two-byte table of the numpy method, built on first use
    (~2 ms: an import with ``fastcrc`` never needs them)."""
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0xA001 if c & 1 else c >> 1
        table.append(c)
    t8 = np.array(table, dtype=np.uint16)
    # two bytes at once: the register after feeding word x = b0 | b1 << 8 into register 0
    x = np.arange(1 << 16, dtype=np.uint32)
    c1 = t8[x & 0xFF]
    t16 = (c1 >> 8) ^ t8[(c1 ^ (x >> 8)) & 0xFF]
    return tuple(table), t16.astype(np.uint16)


_CRC_BLOCK = 32  # bytes per block; measured fastest for 3 kB to 1 MB


@functools.cache
def _crc_zero_words(words: int) -> np.ndarray:
    """Table of the register after feeding ``2 * words`` zero bytes (`words` a power of 2)."""
    if words == 1:
        return _crc_tables()[1]
    half = _crc_zero_words(words // 2)
    return half[half]


def crc16_numpy(data: bytes) -> int:
    """CRC-16/ARC (the FIT CRC) of `data`: blocks in parallel, combined in a tree.

    The register is linear in the input and starts at 0, so leading zero bytes leave it
    unchanged and ``CRC(A + B) = Z_len(B)(CRC(A)) ^ CRC(B)``, with ``Z_k`` the table of
    "feed k zero bytes". Blocks of :data:`_CRC_BLOCK` bytes are processed two bytes a step
    with a 65536-entry table, then combined pairwise.
    """
    t8, t16 = _crc_tables()
    n = len(data)
    if n < 256:
        crc = 0
        for b in data:
            crc = (crc >> 8) ^ t8[(crc ^ b) & 0xFF]
        return crc
    nblocks = -(-n // _CRC_BLOCK)
    pad = nblocks * _CRC_BLOCK - n
    words = np.frombuffer(bytes(pad) + data, dtype="<u2").reshape(nblocks, _CRC_BLOCK // 2)
    reg = np.zeros(nblocks, dtype=np.uint16)
    for row in words.T.copy():
        reg = t16[reg ^ row]
    words_per_block = _CRC_BLOCK // 2
    while len(reg) > 1:
        if len(reg) & 1:  # a leading zero block changes nothing
            reg = np.concatenate([np.zeros(1, dtype=np.uint16), reg])
        reg = _crc_zero_words(words_per_block)[reg[0::2]] ^ reg[1::2]
        words_per_block *= 2
    return int(reg[0])


def _numpy_with_start(data: bytes, crc: int = 0) -> int:
    if not crc:
        return crc16_numpy(data)
    # the register is linear: a start value adds its own image after len(data) zero bytes
    t8 = _crc_tables()[0]
    for b in bytes(len(data)):
        crc = (crc >> 8) ^ t8[(crc ^ b) & 0xFF]
    return crc ^ crc16_numpy(data)


def _backend() -> tuple[Callable[[bytes, int], int], str]:
    try:
        from fastcrc import crc16  # Rust-backed, a dependency; numpy if it will not load

        if crc16.arc(b"123456789") == 0xBB3D and crc16.arc(b"789", crc16.arc(b"123456")) == 0xBB3D:
            return crc16.arc, "fastcrc"
    except Exception:  # any failure means: use numpy
        pass
    return _numpy_with_start, "numpy"


#: Which library computes the FIT CRCs: ``"fastcrc"`` or ``"numpy"``.
_impl, CRC_BACKEND = _backend()


def fit_crc(data: bytes, crc: int = 0) -> int:
    """FIT CRC-16 of `data` (CRC-16/ARC, the FIT SDK's ``FitCRC_Get16`` over every byte).

    Parameters
    ----------
    data
        Bytes to checksum.
    crc
        CRC of the bytes before `data` (0 to start): ``fit_crc(b, fit_crc(a)) ==
        fit_crc(a + b)``.

    Returns
    -------
    int
        The 16-bit CRC.
    """
    return int(_impl(bytes(data), crc))
