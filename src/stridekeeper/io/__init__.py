"""Readers, one module per format, and the format registry that picks one.

The registry (:mod:`stridekeeper.io.dispatch`) imports a reader when its row is first
used, and is itself loaded on first use of the names below, so importing one reader (or a
helper such as :mod:`stridekeeper.io.source`) doesn't load all the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .dispatch import FORMATS, decode, read_bytes, read_runs

__all__ = ["FORMATS", "decode", "read_bytes", "read_runs"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import dispatch

        return getattr(dispatch, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
