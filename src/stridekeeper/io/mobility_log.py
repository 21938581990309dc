"""Read a hand-kept mobility log (CSV, JSON or JSON Lines) into the canonical session table.

The reader is forgiving about *form* (header case and spacing, a UTF-8 byte-order mark,
blank lines, ``#`` comment lines, quoted fields with commas or newlines, common names for
body regions such as "hip flexors" or "t-spine", ``;``/tab-separated CSV) and exact about
*content*: every row that can't be read is reported with its physical line, column, value and
what is allowed, all in one pass.

Input columns
-------------
============  ========  ===========================================================================
column        required  content
============  ========  ===========================================================================
date          yes       ``YYYY-MM-DD`` or a local ``YYYY-MM-DDTHH:MM[:SS]`` (space instead of
                        ``T`` is fine; a trailing ``Z`` or ``+HH:MM`` offset is honoured)
duration_min  yes       session length in minutes, a number > 0 and <= 600
focus         no        body regions, separated by ``;`` (or ``,``), from :data:`REGIONS` or a
                        synonym (see :func:`normalize_region`); empty means "not recorded"
planes        no        planes of motion separated by ``;`` (or ``,``), from :data:`PLANES`
drills        no        drill names separated by ``;``
rpe           no        rating of perceived exertion, 0-10
notes         no        free text
============  ========  ===========================================================================

Header names match case-insensitively, ignoring surrounding spaces; a few common alternatives
are accepted (``duration``/``minutes`` for ``duration_min``, ``regions`` for ``focus``,
``comments`` for ``notes``..., see :data:`COLUMN_MAP`). Other columns are ignored with a
:class:`~stridekeeper.errors.DataQualityWarning`.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import os
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, Any

from ..errors import CorruptFileError, DataQualityWarning, MobilityLogError, RowError
from ..schema import (
    PLANES,
    REGIONS,
    empty_sessions,
    sessions_table,
    validate_sessions,
)
from ..timezones import resolve_tz
from .parsing import sniff_delimiter
from .source import Opened, Source, csv_header, json_head, open_source

if TYPE_CHECKING:
    import pandas as pd
else:
    from ..lazy import pandas as pd

__all__ = [
    "COLUMN_MAP",
    "LOG_EXTENSIONS",
    "LOG_SUFFIXES",
    "PLANE_SYNONYMS",
    "REGION_SYNONYMS",
    "MobilityLogResult",
    "DETAIL_COLUMNS",
    "normalize_details",
    "normalize_region",
    "read_mobility_log",
    "sniff",
]

logger = logging.getLogger(__name__)

#: Header names accepted in a log (after lower-casing, trimming, dropping brackets and turning
#: runs of spaces/hyphens into ``_``) -> canonical input column.
COLUMN_MAP: dict[str, str] = {
    "date": "date",
    "datetime": "date",
    "date_time": "date",
    "start": "date",
    "start_time": "date",
    "duration_min": "duration_min",
    "duration": "duration_min",
    "duration_minutes": "duration_min",
    "minutes": "duration_min",
    "mins": "duration_min",
    "min": "duration_min",
    "focus": "focus",
    "regions": "focus",
    "region": "focus",
    "body_regions": "focus",
    "body_region": "focus",
    "areas": "focus",
    "area": "focus",
    "planes": "planes",
    "plane": "planes",
    "drills": "drills",
    "drill": "drills",
    "exercises": "drills",
    "rpe": "rpe",
    "effort": "rpe",
    "notes": "notes",
    "note": "notes",
    "comment": "notes",
    "comments": "notes",
    "context": "context",
    "when": "context",
    "range_feel": "range_feel",
    "range": "range_feel",
    "pain_before": "pain_before",
    "pain": "pain_before",
    "pain_after": "pain_after",
    "balance": "balance",
    "proprioception": "balance",
    "breathwork": "breathwork",
    "breathing": "breathwork",
    "example": "example",
    "before_run": "before_run",
    "before_running": "before_run",
    "before_the_run": "before_run",
}

_REQUIRED = ("date", "duration_min")
_OPTIONAL = ("focus", "planes", "drills", "rpe", "notes", "context", "range_feel",
             "pain_before", "pain_after", "balance", "breathwork", "example",
             "before_run")  # fmt: skip

#: When a session was done, relative to running (``context``).
CONTEXTS: tuple[str, ...] = ("warm-up", "post-run", "standalone", "rest-day")
_CONTEXT_SYNONYMS = {"warmup": "warm-up", "warm up": "warm-up", "pre-run": "warm-up",
                     "pre run": "warm-up", "prerun": "warm-up", "before": "warm-up",
                     "cool-down": "post-run", "cooldown": "post-run", "cool down": "post-run",
                     "post run": "post-run", "postrun": "post-run", "after": "post-run",
                     "rest day": "rest-day", "restday": "rest-day", "rest": "rest-day",
                     "alone": "standalone", "stand-alone": "standalone"}  # fmt: skip
#: How open the ranges felt (``range_feel``).
RANGE_FEELS: tuple[str, ...] = ("open", "normal", "restricted")
#: Columns of the log beyond :data:`~stridekeeper.schema.MOBILITY_COLUMNS`: in the session
#: table after the canonical ones (and in :attr:`MobilityLogResult.details`), stored in the
#: library's mobility table.
DETAIL_COLUMNS: tuple[str, ...] = ("context", "range_feel", "pain_before", "pain_after",
                                   "balance", "breathwork")  # fmt: skip
#: Columns of the sessions table besides the canonical ones: ``time_known`` (False = the
#: row gave a date only) and ``before_run`` (True = done before that day's run, False =
#: after it, None = not said), which decide whether a date-only session counts for a run
#: on its own date (:func:`~stridekeeper.analysis.link.link_exposure`).
TIMING_COLUMNS: tuple[str, ...] = ("time_known", "before_run")
_YES = {"yes", "y", "true", "1", "x"}
_NO = {"no", "n", "false", "0", ""}


def normalize_details(sessions: pd.DataFrame) -> pd.DataFrame:
    """The session table with every column of :data:`TIMING_COLUMNS` and
    :data:`DETAIL_COLUMNS`, in canonical dtypes.

    ``context`` and ``range_feel`` are str (``""`` when not given), ``pain_before`` and
    ``pain_after`` float64 [0-10] (NaN when not given), ``balance`` and ``breathwork`` the
    nullable ``boolean`` dtype (``<NA>`` when not given). Missing columns are added with those
    blanks, so watch recordings and tables stored before these fields existed fit the same
    table; a missing ``time_known`` is True (a recorded session's time is known) and a missing
    ``before_run`` None. Returns a new table; the input is not modified.
    """
    out = sessions.copy()
    n = len(out)
    if "time_known" not in out:
        out["time_known"] = pd.Series([True] * n, index=out.index, dtype=object)
    if "before_run" not in out:
        out["before_run"] = pd.Series([None] * n, index=out.index, dtype=object)
    for col in ("context", "range_feel"):
        v = out[col] if col in out else pd.Series([""] * n, index=out.index, dtype=object)
        out[col] = pd.Series(["" if _is_blank_cell(x) else str(x) for x in v],
                             index=out.index, dtype=str)  # fmt: skip
    for col in ("pain_before", "pain_after"):
        v = out[col] if col in out else pd.Series(math.nan, index=out.index)
        out[col] = pd.to_numeric(v, errors="coerce").astype("float64")
    for col in ("balance", "breathwork"):
        v = out[col] if col in out else pd.Series([None] * n, index=out.index, dtype=object)
        out[col] = pd.array([None if _is_blank_cell(x) else bool(x) for x in v], dtype="boolean")
    return out


def _is_blank_cell(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


def normalize_context(name: str) -> str | None:
    """``"cool-down"`` -> ``"post-run"``, ``"warmup"`` -> ``"warm-up"``...; None if unknown."""
    key = str(name).strip().lower()
    if key in CONTEXTS:
        return key
    return _CONTEXT_SYNONYMS.get(key) or _CONTEXT_SYNONYMS.get(key.replace("_", " "))


#: File extensions that mark a mobility log, and the format each one means (folders are
#: searched for these). The one list of log names: the format registry, the importer and
#: the log/watch merge all use it (through :data:`LOG_SUFFIXES`).
LOG_EXTENSIONS: dict[str, str] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
#: Every name a log may end with: :data:`LOG_EXTENSIONS` and ``.txt`` (read as CSV when
#: given by name; ``.txt`` files in folders are not searched: they are READMEs).
LOG_SUFFIXES: tuple[str, ...] = (*LOG_EXTENSIONS, ".txt")

#: Common names for body regions -> the vocabulary word in :data:`REGIONS`. Keys are lower
#: case with single spaces (``_`` and ``-`` are read as spaces before looking up).
REGION_SYNONYMS: dict[str, str] = {
    # hips
    "hip": "hips",
    "hip flexor": "hips",
    "hip flexors": "hips",
    "hipflexor": "hips",
    "hipflexors": "hips",
    "psoas": "hips",
    "iliopsoas": "hips",
    "adductor": "hips",
    "adductors": "hips",
    "groin": "hips",
    # ankles
    "ankle": "ankles",
    "ankle joint": "ankles",
    # thoracic
    "t spine": "thoracic",
    "tspine": "thoracic",
    "upper back": "thoracic",
    "mid back": "thoracic",
    "middle back": "thoracic",
    "thoracic spine": "thoracic",
    # calves
    "calf": "calves",
    "calfs": "calves",
    "soleus": "calves",
    "gastroc": "calves",
    "gastrocs": "calves",
    "gastrocnemius": "calves",
    # hamstrings
    "hamstring": "hamstrings",
    "hammies": "hamstrings",
    "hammy": "hamstrings",
    "hams": "hamstrings",
    # quads
    "quad": "quads",
    "quadricep": "quads",
    "quadriceps": "quads",
    # glutes
    "glute": "glutes",
    "gluteals": "glutes",
    "gluteus": "glutes",
    "butt": "glutes",
    "bum": "glutes",
    "piriformis": "glutes",
    # feet
    "foot": "feet",
    "toes": "feet",
    "plantar fascia": "feet",
    # lower back
    "low back": "lower_back",
    "lower back": "lower_back",
    "lumbar": "lower_back",
    "lumbar spine": "lower_back",
    # shoulders
    "shoulder": "shoulders",
    # full body
    "full body": "full_body",
    "fullbody": "full_body",
    "whole body": "full_body",
    "total body": "full_body",
    "all": "full_body",
    "everything": "full_body",
}

#: Common names for planes of motion -> the vocabulary word in :data:`PLANES`.
PLANE_SYNONYMS: dict[str, str] = {
    "coronal": "frontal",
    "lateral": "frontal",
    "horizontal": "transverse",
    "rotational": "transverse",
    "rotation": "transverse",
}

#: Longest session accepted. [min]
MAX_DURATION_MIN = 600.0

_ROW = "(row)"  # the RowError column for problems with a whole row

_DATE_RE = re.compile(
    r"""^\s*(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})
        (?:[Tt\s]+(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<frac>\d{1,6})\d*)?)?
           \s*(?P<off>[Zz]|[+-]\d{2}:?\d{2})?
        )?\s*$""",
    re.VERBOSE,
)
_DURATION_RE = re.compile(
    r"^\s*(?P<num>[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+))\s*(?:min|mins|minutes|m)?\.?\s*$",
    re.IGNORECASE,
)

_MSG_DATE = (
    "expected a date YYYY-MM-DD or a local date-time YYYY-MM-DDTHH:MM[:SS] "
    "(a space instead of T is fine)"
)
_MSG_DURATION = f"expected the session length in minutes, a number > 0 and <= {MAX_DURATION_MIN:g}"
_MSG_RPE = "expected a number from 0 to 10 (rating of perceived exertion), or leave it empty"


@dataclass(frozen=True, eq=False)
class MobilityLogResult:
    """What :func:`read_mobility_log` returns, whatever the flags.

    Attributes
    ----------
    sessions
        The canonical session table (:data:`~stridekeeper.schema.MOBILITY_COLUMNS`, in that
        order), one row per good row of the log, sorted by ``start_time``.
    errors
        One :class:`~stridekeeper.errors.RowError` per bad value, in file order; empty when
        every row was read.
    """

    sessions: pd.DataFrame
    errors: list[RowError] = field(default_factory=list)
    #: Per session (``session_id``): context, range_feel, pain_before, pain_after [0-10],
    #: balance, breathwork (bool); NaN/"" when not given. The same columns as in ``sessions``.
    details: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["session_id", *DETAIL_COLUMNS]))  # fmt: skip
    #: Exact duplicate rows dropped (each counted once), as ``(line, line of the first copy)``.
    duplicates: list[tuple[int, int]] = field(default_factory=list)
    #: Rows marked ``example=yes`` (the bundled template's), never imported as data.
    example_rows: int = 0


# --------------------------------------------------------------------------------------------
# vocabulary
# --------------------------------------------------------------------------------------------
def _vocab_key(name: str) -> str:
    return re.sub(r"[\s_\-]+", " ", name.strip().strip(".").lower()).strip()


_REGION_LOOKUP: dict[str, str] = {_vocab_key(r): r for r in REGIONS}
_REGION_LOOKUP.update({_vocab_key(k): v for k, v in REGION_SYNONYMS.items()})
_PLANE_LOOKUP: dict[str, str] = {_vocab_key(p): p for p in PLANES}
_PLANE_LOOKUP.update({_vocab_key(k): v for k, v in PLANE_SYNONYMS.items()})
_PLANE_LOOKUP.update({f"{_vocab_key(p)} plane": p for p in PLANES})


def normalize_region(name: str) -> str | None:
    """Map a body-region name as people write it to the vocabulary in :data:`REGIONS`.

    Matching ignores case, surrounding spaces and the difference between spaces, ``_`` and
    ``-``; common synonyms are accepted (``"Hip flexors"`` -> ``"hips"``, ``"T-spine"`` ->
    ``"thoracic"``, ``"calf"`` -> ``"calves"``, ``"low back"`` -> ``"lower_back"``,
    ``"whole body"`` -> ``"full_body"``; the full list is :data:`REGION_SYNONYMS`).

    Parameters
    ----------
    name
        One region name.

    Returns
    -------
    str or None
        The vocabulary word, or None when the name is not a known region.
    """
    if not isinstance(name, str):
        return None
    return _REGION_LOOKUP.get(_vocab_key(name))


def _normalize_plane(name: str) -> str | None:
    return _PLANE_LOOKUP.get(_vocab_key(name))


# --------------------------------------------------------------------------------------------
# time zones
# --------------------------------------------------------------------------------------------
def _localize(naive: list[datetime], tz: tzinfo) -> list[pd.Timestamp]:
    """Local wall-clock times -> UTC; nonexistent times shift forward, ambiguous take the first."""
    if not naive:
        return []
    local = pd.DatetimeIndex(naive).tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward")
    out: list[pd.Timestamp] = []
    for dt, ts in zip(naive, local, strict=True):
        if pd.isna(ts):  # ambiguous (the repeated hour when clocks go back): fold=0 = first
            ts = pd.Timestamp(dt.replace(tzinfo=tz, fold=0).astimezone(UTC))
        out.append(pd.Timestamp(ts).tz_convert("UTC"))
    return out


# --------------------------------------------------------------------------------------------
# reading the bytes
# --------------------------------------------------------------------------------------------
def sniff(head: bytes) -> bool:
    """True when the first bytes start a mobility log: a header (or JSON keys) with both
    required columns, ``date`` and ``duration_min``."""
    text = json_head(head)
    if text is not None:
        low = text.lower()
        return '"duration_min"' in low and '"date"' in low
    keys = {_norm_header(f) for f in csv_header(head)}
    return "date" in keys and "duration_min" in keys


def _read_input(path_or_file: Any) -> tuple[bytes | str, str | None]:
    if isinstance(path_or_file, str | os.PathLike | bytes | Opened):
        opened = open_source(path_or_file)  # one opener for every reader; .gz inflated
        return opened.data, None if isinstance(path_or_file, bytes) else opened.name
    if hasattr(path_or_file, "read"):
        data = path_or_file.read()
        shown = getattr(path_or_file, "name", None)
        if not isinstance(data, bytes | str):
            raise TypeError(f"read() returned {type(data).__name__}, expected bytes or str")
        return data, shown if isinstance(shown, str) else None
    raise TypeError(f"expected a path or a file object, got {type(path_or_file).__name__}")


def _decode(data: bytes | str, display: str) -> str:
    if isinstance(data, str):
        text = data
    else:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise CorruptFileError(
                display, "is UTF-16 text; save the log as UTF-8 (e.g. 'CSV UTF-8' in Excel)"
            )
        if data.startswith(b"PK\x03\x04"):
            raise CorruptFileError(
                display, "is a zip or spreadsheet (.xlsx) file, not a text log; export it as CSV"
            )
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            if b"\x00" in data:
                raise CorruptFileError(
                    display,
                    "is binary data, not a text mobility log (NUL byte)",
                    offset=data.index(b"\x00"),
                ) from None
            raise CorruptFileError(
                display,
                f"is not UTF-8 text; save the log as UTF-8 (found byte 0x{data[exc.start]:02x})",
                offset=exc.start,
            ) from None
    text = text.removeprefix("\ufeff")
    if "\x00" in text:
        raise CorruptFileError(
            display, "is binary data, not a text mobility log (NUL byte)", offset=text.index("\x00")
        )
    return text


def _detect_format(name: str | None, text: str) -> str:
    if name:
        ext = os.path.splitext(name.lower().removesuffix(".gz"))[1]
        if ext in LOG_EXTENSIONS:
            return LOG_EXTENSIONS[ext]
    stripped = text.lstrip()
    if stripped.startswith("["):
        return "json"
    if stripped.startswith("{"):
        try:
            obj = json.loads(text)
        except json.JSONDecodeError:
            return "jsonl"
        if isinstance(obj, dict) and any(_norm_header(k) == "sessions" for k in obj):
            return "json"
        return "jsonl"
    return "csv"


# --------------------------------------------------------------------------------------------
# turning a file into raw rows: (line, {canonical column: raw value})
# --------------------------------------------------------------------------------------------
def _norm_header(name: Any) -> str:
    key = str(name).replace("\ufeff", "").strip().lower()
    key = re.sub(r"[()\[\]]", " ", key)
    return re.sub(r"[\s\-]+", "_", key.strip())


@dataclass
class _Parsed:
    rows: list[tuple[int, dict[str, Any]]]
    errors: list[RowError]
    found: list[str]  # column names as found in the file
    unknown: list[str]  # those that mean nothing to the reader


def _map_columns(found: list[str], display: str) -> tuple[dict[str, str], list[str]]:
    """Found names -> canonical names; returns (mapping, unknown names)."""
    mapping: dict[str, str] = {}
    seen: dict[str, str] = {}
    unknown: list[str] = []
    for raw in found:
        canon = COLUMN_MAP.get(_norm_header(raw))
        if canon is None:
            if str(raw).strip():
                unknown.append(str(raw).strip())
            continue
        if canon in seen:
            raise MobilityLogError(
                f"{display}: columns {seen[canon]!r} and {str(raw).strip()!r} both mean "
                f"{canon!r}; keep one of them"
            )
        seen[canon] = str(raw).strip()
        mapping[raw] = canon
    return mapping, unknown


def _check_required(canon: set[str], found: list[str], display: str) -> None:
    missing = [c for c in _REQUIRED if c not in canon]
    if missing:
        shown = ", ".join(repr(str(f).strip()) for f in found if str(f).strip()) or "none"
        raise MobilityLogError(
            f"{display}: missing required column(s) {', '.join(repr(m) for m in missing)}; "
            f"found columns: {shown}. Required: {', '.join(_REQUIRED)}; "
            f"optional: {', '.join(_OPTIONAL)}"
        )


def _physical_lines(text: str) -> list[str]:
    """The file's lines as the CSV parser counts them (``\n``, ``\r\n`` or ``\r``)."""
    return [ln.rstrip("\r\n") for ln in io.StringIO(text, newline="")]


def _rows_csv(text: str, display: str) -> _Parsed:
    lines = _physical_lines(text)
    first = next((ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")), None)
    if first is None:
        raise MobilityLogError(
            f"{display}: the file is empty (no header row); expected columns: "
            f"{', '.join(_REQUIRED + _OPTIONAL)}"
        )
    delim = sniff_delimiter(first, lambda f: _norm_header(f) in COLUMN_MAP) or ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=False)
    header: list[str] | None = None
    mapping: dict[str, str] = {}
    rows: list[tuple[int, dict[str, Any]]] = []
    errors: list[RowError] = []
    prev = 0
    last_start = 0
    try:
        for record in reader:
            start, prev = prev + 1, reader.line_num
            last_start = start
            if not any(f.strip() for f in record):
                continue  # blank line (or a row of empty fields)
            if record[0].lstrip().startswith("#"):
                continue  # comment line
            if header is None:
                header = record
                mapping, _ = _map_columns(header, display)
                _check_required(set(mapping.values()), header, display)
                continue
            extra = record[len(header) :]
            if any(f.strip() for f in extra):
                errors.append(
                    RowError(
                        display,
                        start,
                        _ROW,
                        delim.join(record),
                        f"row has {len(record)} fields but the header has {len(header)}; "
                        "put fields that contain the separator in double quotes",
                    )
                )
                continue
            values = {
                mapping[h]: record[i]
                for i, h in enumerate(header)
                if h in mapping and i < len(record)
            }
            rows.append((start, values))
    except csv.Error as exc:
        raise CorruptFileError(display, f"can't be read as CSV: {exc}") from None
    if rows and rows[-1][0] == last_start:
        tail = "\n".join(lines[last_start - 1 :])
        if tail.count('"') % 2 == 1 and prev > last_start:
            rows.pop()
            errors.append(
                RowError(
                    display,
                    last_start,
                    _ROW,
                    lines[last_start - 1] if last_start - 1 < len(lines) else "",
                    "a double quote opened in this row is never closed",
                )
            )
    if header is None:  # every line was blank to the CSV parser (e.g. a lone `""`)
        raise MobilityLogError(
            f"{display}: no header row found; expected columns: {', '.join(_REQUIRED + _OPTIONAL)}"
        )
    return _Parsed(rows, errors, list(header), _map_columns(header, display)[1])


def _rows_from_objects(
    objects: list[tuple[int, Any]], display: str, errors: list[RowError]
) -> _Parsed:
    rows: list[tuple[int, dict[str, Any]]] = []
    found: dict[str, None] = {}  # every key seen, in order
    canon_seen: set[str] = set()
    unknown: dict[str, None] = {}
    for line, obj in objects:
        if not isinstance(obj, Mapping):
            errors.append(
                RowError(
                    display,
                    line,
                    _ROW,
                    _as_text(obj)[:80],
                    "expected a JSON object with keys " + ", ".join(_REQUIRED + _OPTIONAL),
                )
            )
            continue
        values: dict[str, Any] = {}
        keys: dict[str, str] = {}
        clash = False
        for k, v in obj.items():
            found.setdefault(str(k))
            canon = COLUMN_MAP.get(_norm_header(k))
            if canon is None:
                unknown.setdefault(str(k).strip())
                continue
            canon_seen.add(canon)
            if canon in keys:  # two spellings of one column in the same object
                errors.append(
                    RowError(
                        display,
                        line,
                        canon,
                        _as_text(v),
                        f"keys {keys[canon]!r} and {k!r} both mean {canon!r}; keep one",
                    )
                )
                clash = True
                continue
            keys[canon] = str(k)
            if v is not None:
                values[canon] = v
        if not clash:
            rows.append((line, values))
    if rows or canon_seen:
        _check_required(canon_seen, list(found), display)
    return _Parsed(rows, errors, list(found), list(unknown))


def _rows_json(text: str, display: str) -> _Parsed:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CorruptFileError(
            display, f"is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    if isinstance(obj, Mapping):
        keys = {_norm_header(k): k for k in obj}
        if "sessions" in keys and isinstance(obj[keys["sessions"]], list):
            obj = obj[keys["sessions"]]
    if not isinstance(obj, list):
        raise MobilityLogError(
            f'{display}: expected a JSON list of session objects or {{"sessions": [...]}}, '
            f"found {type(obj).__name__}"
        )
    # Line numbers for JSON are the object's 1-based position in the list.
    return _rows_from_objects(list(enumerate(obj, start=1)), display, [])


def _rows_jsonl(text: str, display: str) -> _Parsed:
    objects: list[tuple[int, Any]] = []
    errors: list[RowError] = []
    n_lines = 0
    for lineno, line in enumerate(_physical_lines(text), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        n_lines += 1
        try:
            objects.append((lineno, json.loads(line)))
        except json.JSONDecodeError as exc:
            errors.append(
                RowError(
                    display,
                    lineno,
                    _ROW,
                    line.strip()[:80],
                    f"not valid JSON ({exc.msg}); each line must hold one JSON object",
                )
            )
    if n_lines and not objects:
        raise CorruptFileError(display, "is not JSON Lines: no line holds valid JSON")
    return _rows_from_objects(objects, display, errors)


# --------------------------------------------------------------------------------------------
# values
# --------------------------------------------------------------------------------------------
def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or isinstance(value, list | dict | tuple):
        return json.dumps(value, default=str)
    return str(value)


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _parse_date(value: Any) -> tuple[datetime, date, tzinfo | None] | str:
    """Returns (wall-clock datetime, local date, explicit offset or None) or an error message."""
    if not isinstance(value, str):
        return _MSG_DATE
    m = _DATE_RE.match(value)
    if m is None:
        return _MSG_DATE
    try:
        day = date(int(m["y"]), int(m["mo"]), int(m["d"]))
    except ValueError:
        return f"not a real calendar date; {_MSG_DATE}"
    if m["h"] is None:
        # Date only: the time of day is unknown; local noon is the neutral middle of the day
        # (its time_known is False: the analysis counts it from the next day, see link.py).
        return datetime(day.year, day.month, day.day, 12, 0), day, None
    hour, minute, sec = int(m["h"]), int(m["mi"]), int(m["s"] or 0)
    micro = int((m["frac"] or "0").ljust(6, "0"))
    if hour > 23 or minute > 59 or sec > 59:
        return f"not a real time of day; {_MSG_DATE}"
    wall = datetime(day.year, day.month, day.day, hour, minute, sec, micro)
    off: tzinfo | None = None
    if m["off"]:
        o = m["off"].upper()
        if o == "Z":
            off = UTC
        else:
            sign = -1 if o[0] == "-" else 1
            digits = o[1:].replace(":", "")
            hh, mm = int(digits[:2]), int(digits[2:])
            if hh > 23 or mm > 59:
                return f"not a valid UTC offset {m['off']!r}; {_MSG_DATE}"
            off = timezone(sign * timedelta(hours=hh, minutes=mm))
    return wall, day, off


def _parse_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        m = _DURATION_RE.match(value)
        if m is None:
            return None
        return float(m["num"].replace(",", "."))
    return None


def _parse_duration(value: Any) -> float | str:
    num = _parse_number(value)
    if num is None or not math.isfinite(num) or not (0 < num <= MAX_DURATION_MIN):
        return _MSG_DURATION
    return num


def _parse_rpe(value: Any) -> float | str:
    if isinstance(value, str) and re.search(r"[a-z]", value, re.IGNORECASE):
        return _MSG_RPE
    num = _parse_number(value)
    if num is None or not math.isfinite(num) or not (0 <= num <= 10):
        return _MSG_RPE
    return num


def _split(value: Any, seps: str) -> list[str] | None:
    """Split a list-ish value into stripped non-empty items; None when the type is wrong."""
    if isinstance(value, str):
        return [p.strip() for p in re.split(f"[{re.escape(seps)}]", value) if p.strip()]
    if isinstance(value, list | tuple):
        if not all(isinstance(v, str) for v in value):
            return None
        out: list[str] = []
        for v in value:
            out.extend(_split(v, seps) or [])
        return out
    return None


def _parse_vocab(
    value: Any, lookup: Any, vocab: tuple[str, ...], what: str
) -> tuple[str, ...] | str:
    items = _split(value, ";,")
    allowed = ", ".join(vocab)
    if items is None:
        return f"expected {what}s separated by ';'; allowed: {allowed}"
    found: set[str] = set()
    bad: list[str] = []
    for item in items:
        canon = lookup(item)
        if canon is None:
            bad.append(item)
        else:
            found.add(canon)
    if bad:
        names = ", ".join(repr(b) for b in bad)
        return (
            f"unknown {what}(s) {names}; allowed: {allowed} "
            f"(common synonyms are accepted; separate several with ';')"
        )
    return tuple(v for v in vocab if v in found)


def _parse_drills(value: Any) -> tuple[str, ...] | str:
    items = _split(value, ";")
    if items is None:
        return "expected drill names separated by ';' (or a JSON list of strings)"
    return tuple(dict.fromkeys(items))


def _parse_row(
    values: dict[str, Any],
) -> tuple[dict[str, Any] | None, list[tuple[str, Any, str]]]:
    """Returns (parsed fields, [(column, raw value, message)])."""
    problems: list[tuple[str, Any, str]] = []
    out: dict[str, Any] = {}

    raw = values.get("date")
    if _is_blank(raw):
        problems.append(("date", raw, f"required: {_MSG_DATE}"))
    else:
        parsed = _parse_date(raw)
        if isinstance(parsed, str):
            problems.append(("date", raw, parsed))
        else:
            out["wall"], out["local_date"], out["offset"] = parsed
            out["date_only"] = ":" not in str(raw)  # no time of day was written

    raw = values.get("duration_min")
    if _is_blank(raw):
        problems.append(("duration_min", raw, f"required: {_MSG_DURATION}"))
    else:
        dur = _parse_duration(raw)
        if isinstance(dur, str):
            problems.append(("duration_min", raw, dur))
        else:
            out["duration_min"] = dur

    for col, lookup, vocab, what in (
        ("focus", normalize_region, REGIONS, "body region"),
        ("planes", _normalize_plane, PLANES, "plane"),
    ):
        raw = values.get(col)
        parsed_v = () if _is_blank(raw) else _parse_vocab(raw, lookup, vocab, what)
        if isinstance(parsed_v, str):
            problems.append((col, raw, parsed_v))
        else:
            out["regions" if col == "focus" else col] = parsed_v

    raw = values.get("drills")
    drills = () if _is_blank(raw) else _parse_drills(raw)
    if isinstance(drills, str):
        problems.append(("drills", raw, drills))
    else:
        out["drills"] = drills

    raw = values.get("rpe")
    rpe = math.nan if _is_blank(raw) else _parse_rpe(raw)
    if isinstance(rpe, str):
        problems.append(("rpe", raw, rpe))
    else:
        out["rpe"] = rpe

    raw = values.get("notes")
    out["notes"] = "" if raw is None else _as_text(raw).strip()

    raw = values.get("context")
    ctx = "" if _is_blank(raw) else normalize_context(_as_text(raw))
    if ctx is None:
        problems.append(("context", raw, f"expected one of {', '.join(CONTEXTS)} "
                                         "(cool-down = post-run), or leave it empty"))  # fmt: skip
    else:
        out["context"] = ctx
    raw = values.get("range_feel")
    feel = "" if _is_blank(raw) else _as_text(raw).strip().lower()
    if feel and feel not in RANGE_FEELS:
        problems.append(("range_feel", raw, f"expected one of {', '.join(RANGE_FEELS)}"))
    else:
        out["range_feel"] = feel
    for col in ("pain_before", "pain_after"):
        raw = values.get(col)
        v = math.nan if _is_blank(raw) else _parse_rpe(raw)
        if isinstance(v, str):
            problems.append((col, raw, "expected pain from 0 to 10, or leave it empty"))
        else:
            out[col] = v
    for col in ("balance", "breathwork"):
        raw = values.get(col)
        text = "" if raw is None else _as_text(raw).strip().lower()
        if text in _YES:
            out[col] = True
        elif text in _NO:
            out[col] = False
        else:
            problems.append((col, raw, "expected yes or no"))
    raw = values.get("before_run")
    text = "" if raw is None else _as_text(raw).strip().lower()
    if text in _YES or text in _NO - {""}:
        out["before_run"] = text in _YES
    elif text:
        problems.append(("before_run", raw, "expected yes (done before that day's run) or no, "
                                            "or leave it empty"))  # fmt: skip
    else:  # a warm-up is before the run, a post-run session after it
        ctx = out.get("context")
        out["before_run"] = True if ctx == "warm-up" else False if ctx == "post-run" else None
    if "wall" in out:
        out["time_known"] = not out.pop("date_only", False)
    return (None if problems else out), problems


# --------------------------------------------------------------------------------------------
# assembling the table
# --------------------------------------------------------------------------------------------
def _build_table(good: list[dict[str, Any]], tz: tzinfo, source: str) -> pd.DataFrame:
    if not good:
        empty = empty_sessions()
        for c in (*TIMING_COLUMNS, *DETAIL_COLUMNS):
            empty[c] = pd.Series([], dtype=object)
        return empty
    naive_idx = [i for i, g in enumerate(good) if g["offset"] is None]
    starts: list[pd.Timestamp | None] = [None] * len(good)
    for i, ts in zip(naive_idx, _localize([good[i]["wall"] for i in naive_idx], tz), strict=True):
        starts[i] = ts
    for i, g in enumerate(good):
        if g["offset"] is not None:
            starts[i] = pd.Timestamp(g["wall"].replace(tzinfo=g["offset"])).tz_convert("UTC")

    rows = [{**g, "start_time": st, "source": source} for g, st in zip(good, starts, strict=True)]
    extra = {c: [g.get(c) for g in good] for c in TIMING_COLUMNS}
    extra.update({c: [g.get(c, "" if c in ("context", "range_feel") else math.nan) for g in good]
                  for c in DETAIL_COLUMNS})  # fmt: skip
    return sessions_table(rows, extra)


def read_mobility_log(
    path_or_file: Source,
    *,
    tz: str | tzinfo | int | None = None,
    strict: bool = False,
    source: str | None = None,
    format: str | None = None,
    today: date | None = None,
    runs_span: tuple[date, date] | None = None,
) -> MobilityLogResult:
    """Read a mobility log (CSV, JSON or JSON Lines) into the canonical session table.

    Parameters
    ----------
    path_or_file
        A path (``.gz`` inflated), bytes, an open file (binary or text), or an opened source
        (:func:`~stridekeeper.io.source.open_source`).
    tz
        Time zone of the times written in the log: an IANA name (``"Europe/Copenhagen"``),
        a :class:`zoneinfo.ZoneInfo` (any ``tzinfo``), or a fixed UTC offset in seconds
        (``7200``). Default None means the system's local time zone. The library's import
        layer passes the athlete's own time zone (the local offset of their runs), so that
        logs and watch files agree. Times written with an explicit offset (``Z``,
        ``+02:00``) keep that offset.
    strict
        If True, any bad row makes the whole file fail with :class:`MobilityLogError`
        (carrying every bad row). If False (default), good rows are kept, bad ones are
        listed in ``errors`` and one :class:`DataQualityWarning` says how many were rejected.
    source
        What to record in the ``source`` column and in error messages; default: the path as
        given (``str``), the file object's ``name``, or ``"<stream>"``.
    today
        The reading day (default: the system's); a session dated later than the day after
        is a row error (``date`` column).
    runs_span
        First and last local date of the athlete's runs; a session more than a year outside
        it is a row error. Default None: only dates before 1990 are refused.
    format
        ``"csv"``, ``"json"`` or ``"jsonl"`` to skip detection. By default the extension
        decides (``.csv``/``.tsv``/``.txt``, ``.json``, ``.jsonl``/``.ndjson``); otherwise
        the first non-blank character (``[`` or ``{`` -> JSON / JSON Lines, else CSV).

    Returns
    -------
    MobilityLogResult
        ``sessions``: the canonical table, validated by
        :func:`~stridekeeper.schema.validate_sessions`, columns in this order, sorted by
        ``start_time`` (ties in file order), ``RangeIndex``:

        ============  ==========================  ====================================================
        column        dtype / unit                meaning
        ============  ==========================  ====================================================
        session_id    str                         16 hex chars of sha1(start time UTC, duration,
                                                  sorted regions, sorted drills); identical rows in
                                                  one file get ``-2``, ``-3``... Stable across
                                                  re-reads (for the same ``tz``).
        start_time    datetime64[us, UTC]         session start
        local_date    object (``datetime.date``)  calendar date as written in the log
        duration_min  float64, [min]              session length
        regions       object (tuple of str)       body regions, :data:`REGIONS` order; ``()`` if none
        planes        object (tuple of str)       planes of motion, :data:`PLANES` order
        drills        object (tuple of str)       drill names in written order, duplicates dropped
        rpe           float64, [0-10]             perceived exertion; NaN when not given
        source        str                         the ``source`` argument or the path
        notes         str                         free text, ``""`` when empty
        time_known    object (bool)               False when the row gave a date only
        before_run    object (bool or None)       the ``before_run`` column (yes/no); else True
                                                  for a ``warm-up``, False for ``post-run``,
                                                  None when not said
        context       str                         warm-up, post-run, standalone, rest-day or ``""``
        range_feel    str                         open, normal, restricted or ``""``
        pain_before   float64, [0-10]             pain before the session; NaN when not given
        pain_after    float64, [0-10]             pain after the session; NaN when not given
        balance       boolean (nullable)          proprioception work (a blank cell = no)
        breathwork    boolean (nullable)          breathwork done (a blank cell = no)
        ============  ==========================  ====================================================

        ``errors``: one :class:`~stridekeeper.errors.RowError` per bad value (a row with two
        bad columns gives two), in file order. ``line`` is the physical line in the file where
        the row starts (header = line 1, blank and comment lines counted, a quoted field
        spanning lines counts every line); for a JSON list it is the object's 1-based position
        in the list; for JSON Lines the line number.

    Raises
    ------
    MobilityLogError
        A required column (``date``, ``duration_min``) is missing (the message names it and
        the columns found); two columns mean the same thing; a JSON file is not a list of
        objects; or ``strict=True`` and some row is bad.
    CorruptFileError
        The file can't be read as text at all: binary data, not UTF-8, invalid JSON.
    ValueError
        ``tz`` is not a known time zone.

    Notes
    -----
    - A date-only row (``2024-05-01``) starts at **local 12:00** with ``time_known``
      False: the time of day is unknown, so the analysis counts it for runs from the next
      day on, unless ``before_run`` is yes (done before that day's run; a ``context`` of
      ``warm-up`` says the same) or the user gives a habitual time
      (``stridekeeper analyze --date-only-time HH:MM``). Give a time to be exact.
    - Local times are converted to UTC with the zone's DST rules: a time that does not
      exist (skipped when clocks go forward, e.g. 02:30 on Europe/Copenhagen's spring-forward
      day) is **shifted forward** to the first valid time (03:00 local); a time that occurs
      twice (when clocks go back) is taken at its **first occurrence** (summer time).
      ``local_date`` is always the date as written, so a session at 23:30 local belongs to
      that day whatever its UTC date.
    - ``duration_min`` accepts a decimal comma (``"12,5"``) and a trailing ``min``;
      ``focus`` and ``planes`` also accept ``,`` between items and, in JSON, a list.
    - Empty ``focus``, ``planes`` or ``drills`` give ``()``; an empty ``rpe`` gives NaN.
    """
    zone = resolve_tz(tz)
    data, name = _read_input(path_or_file)
    display = source if source is not None else (name or "<stream>")
    text = _decode(data, display)
    fmt = (format or "").lower() or _detect_format(name or source, text)
    if fmt == "csv":
        parsed = _rows_csv(text, display)
    elif fmt == "json":
        parsed = _rows_json(text, display)
    elif fmt in ("jsonl", "ndjson"):
        parsed = _rows_jsonl(text, display)
    else:
        raise ValueError(f"format must be 'csv', 'json' or 'jsonl', got {format!r}")

    unknown = parsed.unknown
    if unknown:
        warnings.warn(
            f"{display}: ignored unknown column(s) {', '.join(repr(u) for u in unknown)}; "
            f"known columns: {', '.join(_REQUIRED + _OPTIONAL)}",
            DataQualityWarning,
            stacklevel=2,
        )

    errors = list(parsed.errors)
    good: list[dict[str, Any]] = []
    latest = (today or date.today()) + timedelta(days=1)
    earliest = date(1990, 1, 1)
    if runs_span is not None:
        earliest = max(earliest, runs_span[0] - timedelta(days=366))
        latest = min(latest, runs_span[1] + timedelta(days=366))
    first_copy: dict[tuple, int] = {}
    duplicates: list[tuple[int, int]] = []
    n_example = 0
    for line, values in parsed.rows:
        example = str(values.get("example") or "").strip().lower()
        if example in _YES:
            n_example += 1
            continue
        key = tuple(sorted((k, _as_text(v).strip()) for k, v in values.items() if k != "example"))
        if key in first_copy:
            duplicates.append((line, first_copy[key]))
            continue
        first_copy[key] = line
        out, problems = _parse_row(values)
        if out is not None and not earliest <= out["local_date"] <= latest:
            raw = values.get("date")
            tomorrow = (today or date.today()) + timedelta(days=1)
            if out["local_date"] > tomorrow:
                why = f"is later than tomorrow ({tomorrow})"
            elif runs_span is not None:
                why = f"is outside {earliest} to {latest} (the athlete's runs +- a year)"
            else:
                why = f"is before {earliest}"
            problems.append(("date", raw, f"date {why}; fix the year or the month"))
            out = None
        for col, raw, msg in problems:
            errors.append(RowError(display, line, col, _as_text(raw), msg))
        if out is not None:
            out["line"] = line
            good.append(out)
    errors.sort(key=lambda e: e.line)  # stable: columns stay in order within a row

    n_bad = len({e.line for e in errors})
    n_rows = len(good) + n_bad
    if errors and strict:
        raise MobilityLogError(
            f"{display}: {n_bad} of {n_rows} row(s) can't be read (strict mode)", errors
        )

    table = normalize_details(_build_table(good, zone, display))
    sessions = validate_sessions(table)
    details = table[["session_id", *DETAIL_COLUMNS]].reset_index(drop=True)
    if duplicates:
        warnings.warn(
            f"{display}: {len(duplicates)} exact duplicate row(s) counted once (line(s) "
            + ", ".join(f"{a} = {b}" for a, b in duplicates)
            + ")",
            DataQualityWarning,
            stacklevel=2,
        )
    if n_example:
        warnings.warn(
            f"{display}: {n_example} example row(s) (example=yes, as in the bundled template) "
            "not imported",
            DataQualityWarning,
            stacklevel=2,
        )
    if errors:
        warnings.warn(
            f"{display}: rejected {n_bad} of {n_rows} row(s); kept {len(good)}. "
            "See the result's .errors for each line.",
            DataQualityWarning,
            stacklevel=2,
        )
    logger.debug("read %d mobility session(s) from %s", len(sessions), display)
    return MobilityLogResult(
        sessions=sessions,
        errors=errors,
        details=details,
        duplicates=duplicates,
        example_rows=n_example,
    )
