"""Text to values, shared by the text readers: numbers and durations as exports write
them, CSV rows and their delimiter, ISO times to UTC, local wall-clock times to UTC.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import CorruptFileError, UnsupportedFormatError

if TYPE_CHECKING:
    import pandas as pd
else:
    from ..lazy import pandas as pd

__all__ = [
    "DELIMITERS",
    "MISSING_TOKENS",
    "csv_rows",
    "localize",
    "parse_duration_s",
    "parse_number",
    "parse_numbers",
    "sniff_delimiter",
    "times_utc",
]

#: How exports write a missing number.
MISSING_TOKENS = frozenset({"", "--", "-", "nan", "NaN", "NA", "N/A", "null", "None"})

#: The delimiters a CSV export may use, the first one winning a tie.
DELIMITERS: tuple[str, ...] = (",", ";", "\t")


def parse_number(text: Any, *, decimal_comma: bool = False, thousands: bool = True) -> float:
    """A number as exports write it: ``--`` and blanks are NaN, ``1,067`` is 1067.

    Parameters
    ----------
    text
        A string or a number.
    decimal_comma
        Localised exports: ``5,02`` is 5.02 and ``1.067`` 1067.
    thousands
        Without ``decimal_comma``, drop ``,`` as a thousands separator (else ``1,5`` is NaN).

    Returns
    -------
    float
        NaN for :data:`MISSING_TOKENS`, text that is not a number, and infinities.
    """
    if text is None:
        return float("nan")
    if isinstance(text, int | float) and not isinstance(text, bool):
        return float(text) if np.isfinite(text) else float("nan")
    s = str(text).strip().replace("\u00a0", "").replace(" ", "")
    if s in MISSING_TOKENS:
        return float("nan")
    if decimal_comma:
        s = s.replace(".", "").replace(",", ".")
    elif thousands:
        s = s.replace(",", "")
    try:
        out = float(s)
    except ValueError:
        return float("nan")
    return out if np.isfinite(out) else float("nan")


def parse_numbers(
    values: Any, *, decimal_comma: bool = False, thousands: bool = True
) -> np.ndarray:
    """:func:`parse_number` of every value, vectorised (a CSV column at once). [float array]"""
    s = pd.Series(values, dtype=object).astype(str).str.strip()
    s = s.str.replace("\u00a0", "", regex=False).str.replace(" ", "", regex=False)
    s = s.where(~s.isin(MISSING_TOKENS), "")
    if decimal_comma:
        s = s.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    elif thousands:
        s = s.str.replace(",", "", regex=False)
    out = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
    return np.where(np.isfinite(out), out, np.nan)


def parse_duration_s(text: Any) -> float:
    """``h:mm:ss``, ``mm:ss`` (optionally with decimals) or plain seconds. [s]"""
    if text is None:
        return float("nan")
    s = str(text).strip()
    if s in ("", "--", "-"):
        return float("nan")
    parts = s.split(":")
    try:
        nums = [float(p.replace(",", ".")) for p in parts]
    except ValueError:
        return float("nan")
    if not 1 <= len(nums) <= 3 or any(not np.isfinite(x) or x < 0 for x in nums):
        return float("nan")
    total = 0.0
    for x in nums:
        total = total * 60.0 + x
    return total


def sniff_delimiter(header: str, known: Callable[[str], bool] | None = None) -> str | None:
    """The delimiter of a CSV file, from its header line.

    Parameters
    ----------
    header
        The first line that is neither blank nor a ``#`` comment.
    known
        True for a header field this reader knows. Given, the delimiter that splits the line
        into the most known fields wins (a log whose notes contain commas still splits on
        ``;``); else the one found most often.

    Returns
    -------
    str or None
        One of :data:`DELIMITERS` (the first on a tie; ``,`` when nothing is known), or
        None when counting and the line holds none of them.
    """
    import csv

    if known is None:
        best = max(DELIMITERS, key=header.count)
        return best if header.count(best) else None
    scores = [
        sum(known(f) for f in next(csv.reader([header], delimiter=d), [])) for d in DELIMITERS
    ]
    return DELIMITERS[scores.index(max(scores))]


def csv_rows(text: str, name: str) -> tuple[list[str], list[list[str]], str]:
    """Header, rows and delimiter of a CSV export (``,``, ``;`` or tab; ``#`` lines skipped).

    Raises
    ------
    UnsupportedFormatError
        Empty, or the first line has no delimiter.
    """
    import csv

    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise UnsupportedFormatError(f"{name}: empty CSV file (no header)")
    delim = sniff_delimiter(lines[0])
    if delim is None:
        raise UnsupportedFormatError(f"{name}: not a CSV file (no ',', ';' or tab in the header)")
    try:
        rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delim))
    except csv.Error as exc:
        raise CorruptFileError(name, f"malformed CSV ({exc})") from exc
    header = [h.strip().lstrip("\ufeff").strip() for h in rows[0]]
    return header, rows[1:], delim


def times_utc(values: Any, *, format: str = "ISO8601") -> pd.DatetimeIndex:
    """Texts -> UTC times (ns), unreadable ones NaT: ``pd.to_datetime(..., utc=True,
    errors="coerce")``, except that one impossible sample (a year 9999, outside what a
    nanosecond time can hold) or a row in another UTC offset becomes NaT or is converted
    instead of refusing the whole file. The readers drop NaT rows with a note."""
    s = pd.Series(list(values), dtype=object)
    try:
        out = pd.to_datetime(s, utc=True, errors="coerce", format=format)
        return pd.DatetimeIndex(out).as_unit("ns")
    except (pd.errors.OutOfBoundsDatetime, OverflowError, ValueError, TypeError):
        pass
    parsed = []
    for v in s:
        try:
            t = pd.Timestamp(v)
            t = t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
            parsed.append(t.as_unit("ns"))
        except (ValueError, TypeError, OverflowError, pd.errors.OutOfBoundsDatetime):
            parsed.append(pd.NaT)
    return pd.DatetimeIndex(parsed, tz="UTC").as_unit("ns")


def localize(naive: pd.DatetimeIndex, tz: Any) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Local wall-clock times in ``tz`` -> UTC, with each time's UTC offset [s].

    Nonexistent times (spring forward) shift forward; ambiguous ones (the repeated hour)
    take the first (daylight-saving) reading.
    """
    local = pd.DatetimeIndex(naive).tz_localize(tz, ambiguous=np.ones(len(naive), dtype=bool),
                                                nonexistent="shift_forward")  # fmt: skip
    utc = local.tz_convert("UTC").as_unit("ns")
    wall = pd.DatetimeIndex(naive).as_unit("ns")
    with np.errstate(invalid="ignore"):
        off = (wall.asi8 - utc.asi8) / 1e9
    off = np.where(utc.isna(), np.nan, off)
    return utc, off
