"""The same activity as a summary row and as a file: find the summary rows a file supersedes.

A Garmin export lists every activity in ``summarizedActivities.json`` and ships most of them
as FIT files too. A summary row and a file are the same activity when they belong to the same
athlete, start within a tolerance of each other and cover about the same distance; the file
wins (it has the records). Comparing every summary row with every file is quadratic (minutes
per commit at 2,000 x 2,000); here the files' start times are sorted once per athlete and each
summary row looks only at the files inside its time window: O((S + F) log F).

A Strava export names each activity's file after its activity id (``activities/<id>.fit.gz``,
the ``Filename`` column of ``activities.csv``): a row and a file with the same id (column
``activity_id``) are the same activity when they start within ``id_start_s`` of each other,
whatever their distances say.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
else:
    from ..lazy import pandas as pd

__all__ = ["activity_key", "superseded_summaries"]


def activity_key(meta: dict) -> str | None:
    """The id that names an activity in its export: a summary row's linked file's stem (or
    its ``activity_id``), a file's own name without extensions (``activities/11.fit.gz``
    -> ``"11"``); None when there is none."""
    if meta.get("summary_only"):
        linked, ident = meta.get("linked_file"), meta.get("activity_id")
        name = str(linked) if linked else (None if ident is None else str(ident))
    else:
        name = meta.get("source")
    if not name:
        return None
    stem = str(name).replace("\\", "/").rsplit("!", 1)[-1].rsplit("/", 1)[-1].lower()
    for ext in (".gz", ".fit", ".tcx", ".gpx", ".csv"):
        stem = stem.removesuffix(ext)
    return stem.strip() or None


def _ns(times: pd.Series) -> np.ndarray:
    """UTC start times as int64 nanoseconds; NaT as the int64 minimum (matches nothing)."""
    t = pd.to_datetime(times, utc=True)
    return t.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[ns]").view("i8")


def superseded_summaries(
    summaries: pd.DataFrame,
    files: pd.DataFrame,
    *,
    start_tolerance_s: float,
    distance_rel: float,
    exact_start_s: float = 0.0,
    id_start_s: float = 0.0,
) -> set[str]:
    """The ``run_id`` of every summary row that some file of the same athlete duplicates.

    A summary row ``s`` and a file ``f`` are the same activity when ``s.athlete ==
    f.athlete``, ``|s.start_time - f.start_time| <= start_tolerance_s`` and both distances
    are known with ``|s.distance_m - f.distance_m| <= distance_rel * max(s, f, 1 m)``; or
    when they start within ``exact_start_s`` of each other, whatever the distances say (no
    athlete starts two activities in the same seconds; Strava's ``activities.csv`` may
    disagree with the file's distance by more than the tolerance).

    Parameters
    ----------
    summaries, files
        Runs tables with ``run_id``, ``athlete``, ``start_time`` (UTC) and ``distance_m``.
    start_tolerance_s
        Largest difference of start times. [s]
    distance_rel
        Largest relative difference of distances. [0-1]
    exact_start_s
        Start times this close are the same activity regardless of distance. [s]
    id_start_s
        A summary row and a file with the same ``activity_id`` (both tables need the
        column) starting this close are the same activity regardless of distance; 0
        turns the id rule off. [s]

    Returns
    -------
    set of str
        The superseded summary rows' ``run_id``.
    """
    out: set[str] = set()
    if not len(summaries) or not len(files):
        return out
    if id_start_s > 0:
        out |= _same_id(summaries, files, id_start_s)
    tol = np.int64(round(max(start_tolerance_s, exact_start_s) * 1e9))
    exact = np.int64(round(exact_start_s * 1e9))
    nat = np.iinfo(np.int64).min
    f_groups = files.groupby("athlete", sort=False, dropna=True).indices
    for who, s_idx in summaries.groupby("athlete", sort=False, dropna=True).indices.items():
        f_idx = f_groups.get(who)
        if f_idx is None:
            continue
        f = files.iloc[f_idx]
        s = summaries.iloc[s_idx]
        ft = _ns(f["start_time"])
        fd = pd.to_numeric(f["distance_m"], errors="coerce").to_numpy(dtype=float)
        order = np.argsort(ft, kind="stable")
        ft, fd = ft[order], fd[order]
        valid_f = ft != nat
        ft, fd = ft[valid_f], fd[valid_f]
        st = _ns(s["start_time"])
        sd = pd.to_numeric(s["distance_m"], errors="coerce").to_numpy(dtype=float)
        ok = st != nat
        st_ok = np.where(ok, st, 0)
        lo = np.searchsorted(ft, st_ok - tol, side="left")
        hi = np.searchsorted(ft, st_ok + tol, side="right")
        cnt = np.where(ok, hi - lo, 0)
        total = int(cnt.sum())
        if total == 0:
            continue
        owner = np.repeat(np.arange(len(st)), cnt)  # the summary row of each candidate pair
        first = np.cumsum(cnt) - cnt
        cand = lo[owner] + (np.arange(total) - first[owner])  # the file of each candidate pair
        da, db = sd[owner], fd[cand]
        dt = np.abs(st[owner] - ft[cand])
        with np.errstate(invalid="ignore"):
            same = (dt <= tol) & (
                np.abs(da - db) <= distance_rel * np.maximum(np.maximum(da, db), 1.0)
            )
        same |= dt <= exact
        hit = np.zeros(len(st), dtype=bool)
        hit[owner[same]] = True
        out.update(s["run_id"].to_numpy()[hit].tolist())
    return out


def _same_id(summaries: pd.DataFrame, files: pd.DataFrame, within_s: float) -> set[str]:
    """Summary rows whose ``activity_id`` names a file of the same athlete starting within
    ``within_s`` of the row. [s]"""
    if "activity_id" not in summaries or "activity_id" not in files:
        return set()
    f = files[files["activity_id"].notna()]
    keys = zip(f["athlete"], f["activity_id"].astype(str), strict=True)
    f_ns = dict(zip(keys, _ns(f["start_time"]), strict=True))
    s = summaries[summaries["activity_id"].notna()]
    nat, tol = np.iinfo(np.int64).min, within_s * 1e9
    out = set()
    for run_id, who, key, t in zip(s["run_id"], s["athlete"], s["activity_id"].astype(str),
                                   _ns(s["start_time"]), strict=True):  # fmt: skip
        ft = f_ns.get((who, key))
        if ft is not None and ft != nat and t != nat and abs(int(t) - int(ft)) <= tol:
            out.add(run_id)
    return out
