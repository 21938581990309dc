"""Which kind of mobility work: exposures by region, context and range feel (exploratory).

The kinds come from the session table's own columns (``regions``, and the log's ``context``
and ``range_feel``, stored in the library). For every run, the sessions of one *kind* (a body region, a context such as post-run, or a
range feel) in the ``window_days`` before the run's start, per week. Each kind is related to
``stride_dropoff_pct`` with Spearman's rho and the circular-shift permutation p-value of
:func:`~stridekeeper.analysis.stats.circular_shift_test`; p-values are adjusted across every
kind tried (Benjamini-Hochberg, :func:`~stridekeeper.analysis.stats.bh_adjust`). These are
exploratory: the primary question is the planned experiment or the pre-set primary exposure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..io.mobility_log import CONTEXTS, RANGE_FEELS
from ..schema import REGIONS
from .stats import bh_adjust, circular_shift_test

__all__ = ["KIND_COLUMNS", "exposure_by_kind", "kinds_done", "kind_exposures"]

#: Kinds by family: "region:<r>", "context:<c>", "range_feel:<f>".
KIND_COLUMNS: tuple[str, ...] = (
    *(f"region:{r}" for r in REGIONS),
    *(f"context:{c}" for c in CONTEXTS),
    *(f"range_feel:{f}" for f in RANGE_FEELS),
)


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
    """Per run (index as ``runs``), sessions per week of each kind strictly before the start."""
    k = _kinds(sessions, details)
    starts = pd.to_datetime(runs["start_time"], utc=True).dt.tz_localize(None).to_numpy("M8[s]")
    t = k["start_time"].dt.tz_localize(None).to_numpy("M8[s]")
    win = np.timedelta64(int(window_days * 86400), "s")
    out = {}
    for col in KIND_COLUMNS:
        ts = np.sort(t[k[col].to_numpy()])
        hi = np.searchsorted(ts, starts, side="left")
        lo = np.searchsorted(ts, starts - win, side="left")
        out[col] = (hi - lo) * 7.0 / window_days
    return pd.DataFrame(out, index=runs.index)


def exposure_by_kind(runs: pd.DataFrame, sessions: pd.DataFrame,
                     details: pd.DataFrame | None = None, *, window_days: float = 14.0,
                     min_sessions: int = 3) -> pd.DataFrame:  # fmt: skip
    """Exploratory association of each kind done at least ``min_sessions`` times.

    Returns
    -------
    pandas.DataFrame
        ``kind``, ``sessions``, ``n_runs``, ``rho``, ``p_value``, ``p_adjusted`` (BH across
        the kinds tested), ``exploratory`` (always True), sorted by ``p_value``.
    """
    cols = ["kind", "sessions", "n_runs", "rho", "p_value", "p_adjusted", "exploratory"]
    runs = runs.sort_values("start_time")
    y = pd.to_numeric(runs["stride_dropoff_pct"], errors="coerce").to_numpy()
    ok = np.isfinite(y)
    done = kinds_done(sessions, details)
    done = done[done["sessions"] >= min_sessions]
    if not len(done) or ok.sum() < 3:
        return pd.DataFrame(columns=cols)
    ex = kind_exposures(runs, sessions, details, window_days=window_days)
    rows = []
    for kind, n in zip(done["kind"], done["sessions"], strict=True):
        x = ex[kind].to_numpy()[ok]
        rho, p = circular_shift_test(y[ok], x)
        rows.append([kind, int(n), int(ok.sum()), rho, p])
    table = pd.DataFrame(rows, columns=cols[:5])
    table["p_adjusted"] = bh_adjust(table["p_value"].tolist())
    table["exploratory"] = True
    return table.sort_values("p_value", kind="stable").reset_index(drop=True)
