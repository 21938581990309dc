"""Moved: merging logged and recorded mobility sessions lives with the readers.

See :mod:`stridekeeper.io.merge`; this name is kept so existing imports still work.
"""

from __future__ import annotations

from ..io.merge import LOG_SUFFIXES, merge_duplicate_sessions

__all__ = ["LOG_SUFFIXES", "merge_duplicate_sessions"]
