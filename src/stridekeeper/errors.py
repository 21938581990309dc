"""Exceptions and warnings raised by stridekeeper.

Every exception is both a :class:`StridekeeperError` and a builtin exception type,
so callers may catch either (``except ValueError`` keeps working).
"""

from __future__ import annotations

from dataclasses import dataclass
from os import PathLike

__all__ = [
    "CorruptFileError",
    "DataQualityWarning",
    "InsufficientDataError",
    "MobilityLogError",
    "RowError",
    "SchemaError",
    "StridekeeperError",
    "UnsupportedFormatError",
]


class StridekeeperError(Exception):
    """Base class of every error stridekeeper raises on purpose."""


class UnsupportedFormatError(StridekeeperError, ValueError):
    """The file is not in a format stridekeeper reads (or not an activity of that format)."""


class CorruptFileError(StridekeeperError, ValueError):
    """The file is in a known format but damaged so that nothing usable could be read.

    Parameters
    ----------
    path
        The file that failed.
    reason
        Why, in words a runner can act on.
    offset
        Byte offset where the damage was found, when known.
    """

    def __init__(self, path: str | PathLike[str] | None, reason: str, offset: int | None = None):
        self.path = None if path is None else str(path)
        self.reason = reason
        self.offset = offset
        where = f" at byte {offset}" if offset is not None else ""
        name = self.path if self.path is not None else "<stream>"
        super().__init__(f"{name}: {reason}{where}")


class SchemaError(StridekeeperError, ValueError):
    """A table does not follow stridekeeper's canonical schema."""


class InsufficientDataError(StridekeeperError, ValueError):
    """There is not enough data to compute what was asked."""


@dataclass(frozen=True)
class RowError:
    """One bad row of a mobility log.

    Attributes
    ----------
    file
        The log file.
    line
        Line number in the file, the header being line 1.
    column
        The column at fault.
    value
        The value found, as text.
    message
        What is allowed.
    """

    file: str
    line: int
    column: str
    value: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: column {self.column!r}: {self.value!r}: {self.message}"


class MobilityLogError(StridekeeperError, ValueError):
    """A mobility log has rows (or columns) that can't be read; carries every one of them."""

    def __init__(self, message: str, errors: list[RowError] | None = None):
        self.errors = list(errors or [])
        lines = [message] + [f"  {e}" for e in self.errors[:20]]
        if len(self.errors) > 20:
            lines.append(f"  ... and {len(self.errors) - 20} more")
        super().__init__("\n".join(lines))


class DataQualityWarning(UserWarning):
    """Something in the data was doubtful and was repaired, excluded or flagged."""
