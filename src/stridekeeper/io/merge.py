"""Merge a mobility session typed in the log with the same session recorded by a watch."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import SchemaError
from ..schema import MOBILITY_COLUMNS, PLANES, REGIONS
from .mobility_log import LOG_SUFFIXES  # file names whose sessions count as typed in a log

__all__ = ["LOG_SUFFIXES", "ORIGINS", "merge_duplicate_sessions"]

logger = logging.getLogger(__name__)


#: Columns only a log fills (see ``mobility_log.DETAIL_COLUMNS``): a merged row takes the log's.
_LOG_ONLY_COLUMNS = ("context", "range_feel", "pain_before", "pain_after", "balance", "breathwork")

#: Values of an optional ``origin`` column: typed in a log, or recorded by a device.
ORIGINS: tuple[str, ...] = ("log", "recorded")


def _is_log_source(source: object) -> bool:
    text = str(source)
    return os.path.splitext(text)[1].lower() in LOG_SUFFIXES


def _union(first: tuple, second: tuple, vocab: tuple[str, ...] | None) -> tuple:
    items = dict.fromkeys([*first, *second])
    if vocab is None:
        return tuple(items)
    return tuple(v for v in vocab if v in items)


def merge_duplicate_sessions(
    sessions: pd.DataFrame,
    *,
    max_start_diff_min: float = 30,
    duration_rel_tol: float = 0.5,
    duration_abs_tol_min: float = 15,
    is_log: Sequence[bool] | np.ndarray | pd.Series | None = None,
) -> pd.DataFrame:
    """Merge sessions that were both typed in the mobility log and recorded by a watch.

    A logged row and a recorded row are the same session when **all** of these hold:

    - they have the same ``local_date``;
    - their start times differ by at most ``max_start_diff_min``;
    - their durations are similar: the shorter is at least ``1 - duration_rel_tol`` of the
      longer (default: at least half), **or** they differ by at most ``duration_abs_tol_min``
      (so a 10-minute log entry still matches a 4-minute recording of a watch stopped early).

    Each recorded row merges with at most one logged row and vice versa: candidate pairs are
    taken closest start first (then closest duration, then table order). The merged row keeps
    the **recording's** ``session_id``, ``start_time``, ``local_date`` and ``duration_min``;
    ``regions``, ``planes`` and ``drills`` are the union of both (vocabulary order for regions
    and planes; the log's drills first); ``rpe`` and ``notes`` are the **log's** (the
    recording's when the log left them empty), and so are the log's own fields (``context``,
    ``range_feel``, pain, ``balance``, ``breathwork``) where the table has them; ``source`` is ``"<recording>;<log>"``.

    Parameters
    ----------
    sessions
        Canonical mobility-session table holding both kinds of row. Not modified.
    max_start_diff_min
        Largest difference between the two start times. [min]
    duration_rel_tol
        Relative duration tolerance, between 0 and 1. [1]
    duration_abs_tol_min
        Absolute duration tolerance that also counts as similar. [min]
    is_log
        One bool per row: True for rows typed in a log. Default: the table's ``origin``
        column where it has one (``"log"`` or ``"recorded"``, :data:`ORIGINS`); only a table
        without it falls back to the ``source``'s extension (:data:`LOG_SUFFIXES`, e.g.
        ``.csv``, ``.json``), as tables written before ``origin`` existed need.
        Rows whose ``source`` already lists several sources (contains ``;``), i.e. merged
        earlier, are never merged again, so the function is idempotent.

    Returns
    -------
    pandas.DataFrame
        A new table with the same columns, merged rows in place of each pair, sorted by
        ``start_time`` (stable), ``RangeIndex``.

    Raises
    ------
    SchemaError
        When a column of :data:`~stridekeeper.schema.MOBILITY_COLUMNS` is missing.
    ValueError
        On a negative tolerance, ``duration_rel_tol`` above 1, ``is_log`` of the wrong
        length, or an ``origin`` outside :data:`ORIGINS`.

    Notes
    -----
    A log row written with a date only starts at local noon (see
    :func:`~stridekeeper.io.mobility_log.read_mobility_log`), so it merges only with a
    recording that started within ``max_start_diff_min`` of noon.
    """
    if not isinstance(sessions, pd.DataFrame):
        raise SchemaError(f"sessions must be a DataFrame, got {type(sessions).__name__}")
    missing = [c for c in MOBILITY_COLUMNS if c not in sessions.columns]
    if missing:
        raise SchemaError(f"sessions lack column(s): {', '.join(missing)}")
    if max_start_diff_min < 0 or duration_abs_tol_min < 0:
        raise ValueError("max_start_diff_min and duration_abs_tol_min must be >= 0")
    if not 0 <= duration_rel_tol <= 1:
        raise ValueError(f"duration_rel_tol must be between 0 and 1, got {duration_rel_tol}")

    table = sessions.reset_index(drop=True).copy()
    n = len(table)
    sources = table["source"].astype(str).to_numpy()
    already = np.array([";" in s for s in sources], dtype=bool)
    if is_log is None and "origin" in table.columns:
        origin = table["origin"].astype(str)
        bad = sorted(set(origin) - set(ORIGINS))
        if bad:
            raise ValueError(f"origin must be one of {ORIGINS}, got {', '.join(bad)}")
        log_mask = (origin == "log").to_numpy()
    elif is_log is None:
        log_mask = np.array([_is_log_source(s) for s in sources], dtype=bool)
    else:
        log_mask = np.asarray(is_log, dtype=bool)
        if log_mask.shape != (n,):
            raise ValueError(f"is_log must have one bool per row ({n}), got shape {log_mask.shape}")
    log_idx = np.flatnonzero(log_mask & ~already)
    rec_idx = np.flatnonzero(~log_mask & ~already)
    if len(log_idx) == 0 or len(rec_idx) == 0:
        return table.sort_values("start_time", kind="stable").reset_index(drop=True)

    # Candidate pairs: same local date (a join, not a loop over all pairs).
    left = pd.DataFrame({"log": log_idx, "day": table["local_date"].to_numpy()[log_idx]})
    right = pd.DataFrame({"rec": rec_idx, "day": table["local_date"].to_numpy()[rec_idx]})
    pairs = left.merge(right, on="day")
    if pairs.empty:
        return table.sort_values("start_time", kind="stable").reset_index(drop=True)
    start_ns = pd.DatetimeIndex(table["start_time"]).tz_convert("UTC").as_unit("ns").asi8
    dur = pd.to_numeric(table["duration_min"], errors="coerce").to_numpy(dtype=float)
    li, ri = pairs["log"].to_numpy(), pairs["rec"].to_numpy()
    dstart_min = np.abs(start_ns[li] - start_ns[ri]) / 60e9
    d_log, d_rec = dur[li], dur[ri]
    shorter, longer = np.minimum(d_log, d_rec), np.maximum(d_log, d_rec)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio_ok = shorter / longer >= 1 - duration_rel_tol
    similar = ratio_ok | (np.abs(d_log - d_rec) <= duration_abs_tol_min)
    ok = (dstart_min <= max_start_diff_min) & similar
    pairs = pairs.assign(dstart=dstart_min, ddur=np.abs(d_log - d_rec))[ok]
    pairs = pairs.sort_values(["dstart", "ddur", "log", "rec"], kind="stable")

    used_log: set[int] = set()
    used_rec: set[int] = set()
    matches: list[tuple[int, int]] = []
    for lg, rc in zip(pairs["log"].to_numpy(), pairs["rec"].to_numpy(), strict=True):
        if lg in used_log or rc in used_rec:
            continue
        used_log.add(int(lg))
        used_rec.add(int(rc))
        matches.append((int(lg), int(rc)))

    for lg, rc in matches:
        log_row, rec_row = table.loc[lg], table.loc[rc]
        rpe = rec_row["rpe"] if pd.isna(log_row["rpe"]) else log_row["rpe"]
        notes = log_row["notes"] if str(log_row["notes"] or "").strip() else rec_row["notes"]
        merged = {
            "regions": _union(tuple(rec_row["regions"]), tuple(log_row["regions"]), REGIONS),
            "planes": _union(tuple(rec_row["planes"]), tuple(log_row["planes"]), PLANES),
            "drills": _union(tuple(log_row["drills"]), tuple(rec_row["drills"]), None),
            "rpe": rpe,
            "notes": notes,
            "source": f"{rec_row['source']};{log_row['source']}",
        }
        for col in _LOG_ONLY_COLUMNS:  # context, range feel, pain...: only a log has them
            if col in table.columns and not pd.isna(log_row[col]) and log_row[col] != "":
                merged[col] = log_row[col]
        for col, value in merged.items():
            table.at[rc, col] = value
        logger.debug(
            "merged logged session %s into recorded %s",
            log_row["session_id"],
            rec_row["session_id"],
        )

    out = table.drop(index=[lg for lg, _ in matches])
    return out.sort_values("start_time", kind="stable").reset_index(drop=True)
