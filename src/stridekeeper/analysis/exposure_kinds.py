"""Which kind of mobility work: exposures by region, context and range feel (exploratory).

The kinds come from the session table's own columns (``regions``, and the log's ``context``
and ``range_feel``, stored in the library). For every run, the sessions of one *kind* (a body region, a context such as post-run, or a
range feel) in the ``window_days`` before the run's start, per week. Each kind is related to
``stride_dropoff_pct`` with Spearman's rho and the circular-shift permutation p-value of
:func:`~stridekeeper.analysis.stats.circular_shift_test`; p-values are adjusted across every
kind tried (Benjamini-Hochberg, :func:`~stridekeeper.analysis.stats.bh_adjust`). These are
exploratory: the primary question is the planned experiment or the pre-set primary exposure.

Besides the kinds, one *trend*: the range-feel trend (:data:`TREND_KIND`) of a run is the share
of the window's sessions with a logged range feel that felt ``open`` minus the share that felt
``restricted`` (-1: every one restricted, +1: every one open; undefined, so the run is left out
of that test, when no session in the window has a range feel). It is tested and adjusted with
the kinds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..io.mobility_log import CONTEXTS, RANGE_FEELS
from ..schema import REGIONS
from .stats import bh_adjust, circular_shift_test

__all__ = [
    "KIND_COLUMNS",
    "TREND_KIND",
    "exposure_by_kind",
    "kind_exposures",
    "kinds_done",
    "range_feel_trend",
]

#: Kinds by family: "region:<r>", "context:<c>", "range_feel:<f>".
KIND_COLUMNS: tuple[str, ...] = (
    *(f"region:{r}" for r in REGIONS),
    *(f"context:{c}" for c in CONTEXTS),
    *(f"range_feel:{f}" for f in RANGE_FEELS),
)

#: The range-feel trend's name in :func:`kind_exposures` and :func:`exposure_by_kind`.
TREND_KIND = "range_feel:trend"


def _kinds(sessions: pd.DataFrame, details: pd.DataFrame | None) -> pd.DataFrame:
    """One boolean column per kind, one row per session (``start_time`` kept)."""
    keep = [c for c in ("session_id", "start_time", "regions", "context", "range_feel")
            if c in sessions.columns]  # fmt: skip
    s = sessions[keep].copy()
    if details is not None and len(details):  # a separate table overrides the session's own
        s = s.drop(columns=[c for c in details.columns if c != "session_id" and c in s])
        s = s.merge(details, on="session_id", how="left")
    out = pd.DataFrame({"start_time": pd.to_datetime(s["start_time"], utc=True)})
    for r in REGIONS:
        out[f"region:{r}"] = [r in (v or ()) for v in s["regions"]]
    ctx = s["context"].fillna("") if "context" in s else pd.Series("", index=s.index)
    feel = s["range_feel"].fillna("") if "range_feel" in s else pd.Series("", index=s.index)
    for c in CONTEXTS:
        out[f"context:{c}"] = (ctx == c).to_numpy()
    for f in RANGE_FEELS:
        out[f"range_feel:{f}"] = (feel == f).to_numpy()
    return out


def kinds_done(sessions: pd.DataFrame, details: pd.DataFrame | None = None) -> pd.DataFrame:
    """How many sessions of each kind the athlete did: columns ``kind``, ``sessions``."""
    k = _kinds(sessions, details)
    counts = [(c, int(k[c].sum())) for c in KIND_COLUMNS]
    return pd.DataFrame([c for c in counts if c[1] > 0], columns=["kind", "sessions"])


def kind_exposures(runs: pd.DataFrame, sessions: pd.DataFrame,
                   details: pd.DataFrame | None = None, *,
                   window_days: float = 14.0) -> pd.DataFrame:  # fmt: skip
    """Per run (index as ``runs``), sessions per week of each kind strictly before the start,
    and the range-feel trend (column :data:`TREND_KIND`, see :func:`range_feel_trend`)."""
    counts = _window_counts(runs, _kinds(sessions, details), window_days)
    out = {col: counts[col] * 7.0 / window_days for col in KIND_COLUMNS}
    out[TREND_KIND] = _trend(counts)
    return pd.DataFrame(out, index=runs.index)


def range_feel_trend(runs: pd.DataFrame, sessions: pd.DataFrame,
                     details: pd.DataFrame | None = None, *,
                     window_days: float = 14.0) -> pd.Series:  # fmt: skip
    """Per run, share of 'open' minus share of 'restricted' among the window's felt sessions.

    The sessions strictly before the run's start and within ``window_days`` that have a
    logged range feel (open, normal or restricted) are the denominator; NaN when there is
    none. Values run from -1 (all restricted) to +1 (all open).
    """
    counts = _window_counts(runs, _kinds(sessions, details), window_days)
    return pd.Series(_trend(counts), index=runs.index, name=TREND_KIND)


def _window_counts(runs: pd.DataFrame, k: pd.DataFrame, window_days: float) -> dict[str, Any]:
    """Sessions of each kind in the window strictly before each run's start (counts)."""
    starts = pd.to_datetime(runs["start_time"], utc=True).dt.tz_localize(None).to_numpy("M8[s]")
    t = k["start_time"].dt.tz_localize(None).to_numpy("M8[s]")
    win = np.timedelta64(int(window_days * 86400), "s")
    out = {}
    for col in KIND_COLUMNS:
        ts = np.sort(t[k[col].to_numpy()])
        hi = np.searchsorted(ts, starts, side="left")
        lo = np.searchsorted(ts, starts - win, side="left")
        out[col] = (hi - lo).astype(float)
    return out


def _trend(counts: dict[str, Any]) -> np.ndarray:
    felt = sum(counts[f"range_feel:{f}"] for f in RANGE_FEELS)
    diff = counts["range_feel:open"] - counts["range_feel:restricted"]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(felt > 0, diff / np.where(felt > 0, felt, 1.0), np.nan)


def exposure_by_kind(runs: pd.DataFrame, sessions: pd.DataFrame,
                     details: pd.DataFrame | None = None, *, window_days: float = 14.0,
                     min_sessions: int = 3) -> pd.DataFrame:  # fmt: skip
    """Exploratory association of each kind done at least ``min_sessions`` times.

    Returns
    -------
    pandas.DataFrame
        ``kind``, ``sessions``, ``n_runs``, ``rho``, ``p_value``, ``p_adjusted`` (BH across
        the kinds tested and the range-feel trend), ``exploratory`` (always True), sorted by
        ``p_value``. The trend's row (:data:`TREND_KIND`; when ``min_sessions`` sessions felt
        open or restricted) counts those sessions, and only the runs with a felt session in
        their window.
    """
    cols = ["kind", "sessions", "n_runs", "rho", "p_value", "p_adjusted", "exploratory"]
    runs = runs.sort_values("start_time")
    y = pd.to_numeric(runs["stride_dropoff_pct"], errors="coerce").to_numpy()
    ok = np.isfinite(y)
    every = kinds_done(sessions, details)
    done = every[every["sessions"] >= min_sessions]
    if not len(done) or ok.sum() < 3:
        return pd.DataFrame(columns=cols)
    ex = kind_exposures(runs, sessions, details, window_days=window_days)
    rows = []
    for kind, n in zip(done["kind"], done["sessions"], strict=True):
        x = ex[kind].to_numpy()[ok]
        rho, p = circular_shift_test(y[ok], x)
        rows.append([kind, int(n), int(ok.sum()), rho, p])
    rows.extend(_trend_row(y, ok, ex[TREND_KIND].to_numpy(), every, min_sessions))
    table = pd.DataFrame(rows, columns=cols[:5])
    table["p_adjusted"] = bh_adjust(table["p_value"].tolist())
    table["exploratory"] = True
    return table.sort_values("p_value", kind="stable").reset_index(drop=True)


def _trend_row(y: np.ndarray, ok: np.ndarray, x: np.ndarray, every: pd.DataFrame,
               min_sessions: int) -> list[list[Any]]:  # fmt: skip
    """The range-feel trend's row when ``min_sessions`` sessions felt open or restricted and
    3+ runs with a drop-off have a felt session in their window (else none)."""
    n = every.set_index("kind")["sessions"]
    felt = sum(int(n.get(f"range_feel:{f}", 0)) for f in ("open", "restricted"))
    both = ok & np.isfinite(x)
    if felt < min_sessions or both.sum() < 3:
        return []
    rho, p = circular_shift_test(y[both], x[both])  # the felt runs, in time order
    return [[TREND_KIND, felt, int(both.sum()), rho, p]]
