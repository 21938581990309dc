"""One row of every per-run metric: :func:`summarize`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..schema import SUMMARY_COLUMNS, Run
from .averages import (
    avg_cadence_spm,
    avg_step_length_m,
    device_cadence_spm,
    distance_m,
    running_cadence_spm,
    zero_cadence_policy,
)
from .dropoff import stride_dropoff
from .moving import GAIT_CADENCE_SPM, _col, _Columns, moving_mask, sample_weights_s

if TYPE_CHECKING:
    import pandas as pd
else:
    from ..lazy import pandas as pd

__all__ = ["SUMMARY_COLUMNS", "elevation_gain_m", "summarize"]

_FOOT = ("running", "walking", "hiking", "trail_running")
_COLUMNS = list(SUMMARY_COLUMNS)


def elevation_gain_m(records: pd.DataFrame, *, smooth_samples: int = 15) -> float:
    """Total ascent of the smoothed altitude profile.

    Altitude is smoothed with a centred rolling mean (altimeter and GPS noise would
    otherwise add metres on flat ground), then the rises are summed.

    Parameters
    ----------
    records
        A ``Run.records`` table.
    smooth_samples
        Rolling-mean window in samples.

    Returns
    -------
    float
        Ascent [m]; NaN without altitude.
    """
    alt = _col(records, "altitude_m")
    alt = alt[np.isfinite(alt)]
    if len(alt) < 2:
        return float("nan")
    sm = _centred_mean(alt - alt[0], smooth_samples)  # relative: a flat profile sums to 0
    return float(np.clip(np.diff(sm), 0.0, None).sum())


def _centred_mean(x: np.ndarray, window: int) -> np.ndarray:
    """Mean of the ``window`` samples centred on each one, fewer at the ends.

    What ``pd.Series(x).rolling(window, center=True, min_periods=1).mean()`` gives (equal
    to ~1e-12), as one convolution: each window summed directly, no running sum to drift.
    """
    n = len(x)
    # sample i averages x[i - window // 2 : i + (window - 1) // 2 + 1], as pandas centres
    start = (window - 1) // 2
    sums = np.convolve(x, np.ones(window))[start : start + n]
    # how many samples each window holds: the same integers a second convolution (of
    # ones) gives, at a fifth of its cost
    end = np.arange(start, start + n)
    counts = np.minimum(end, n - 1) - np.maximum(end - window + 1, 0) + 1
    return sums / counts


def summarize(run: Run, **dropoff_kw: Any) -> pd.Series:
    """Every per-run metric of docs/methods.md (averages, drop-off) as one row.

    Parameters
    ----------
    run
        A run from any reader.
    **dropoff_kw
        Passed to :func:`~stridekeeper.metrics.dropoff.stride_dropoff`.

    Returns
    -------
    pandas.Series
        Indexed by :data:`SUMMARY_COLUMNS`. Metrics that can't be computed are NaN; a
        missing drop-off has its ``dropoff_reason``.

    Notes
    -----
    A summary-only run (``meta['summary_only']``: Garmin ``Activities.csv`` and
    ``summarizedActivities.json``, Strava ``activities.csv``) has no samples: its distance,
    times, average speed, cadence and step length come from ``meta['device_summary']``
    (step length derived as speed / (cadence / 60) when the source gives none), running
    cadence and drop-off are NaN and ``dropoff_reason`` is ``"summary only"``.
    """
    row = summary_row(run, **dropoff_kw)
    # object labels: a Series builds ~4x faster
    index = pd.Index(_COLUMNS, dtype=object)
    return pd.Series([row[c] for c in _COLUMNS], index=index, dtype=object)


def summary_row(run: Run, **dropoff_kw: Any) -> dict[str, Any]:
    """:func:`summarize` as a plain dict (column -> value, in :data:`SUMMARY_COLUMNS` order):
    what the importer stores, without building a Series per run."""
    if run.meta.get("summary_only"):
        return _summary_only_row(run)
    rec = _Columns.of(run)  # each column taken out once (no frame when the reader gave arrays)
    meta = run.meta
    sport = meta.get("sport")
    w = sample_weights_s(rec)
    moving = moving_mask(rec)
    dist = distance_m(rec)
    timer, elapsed_s = _session_times(rec, meta)
    foot = sport in _FOOT or sport is None
    zeros = zero_cadence_policy(meta.get("manufacturer"), meta.get("product"))
    cad = avg_cadence_spm(rec, zeros=zeros) if foot else float("nan")
    cad = device_cadence_spm(cad, meta.get("manufacturer"), whole_strides=_whole_strides(meta))
    strides = _num((meta.get("device_summary") or {}).get("total_strides"))
    step = (avg_step_length_m(rec, distance=dist, total_strides=strides) if foot
            else float("nan"))  # fmt: skip
    temp = _col(rec, "temperature_c")
    temp_mean = float(np.nanmean(temp[moving])) if np.isfinite(temp[moving]).any() else np.nan
    if sport == "running" or (sport is None and foot):
        own_mask = not ({"min_speed_mps", "min_cadence_spm"} & set(dropoff_kw))
        d = stride_dropoff(rec, moving=moving if own_mask else None, **dropoff_kw)
    else:
        from .dropoff import DropoffResult

        d = DropoffResult(reason=f"not a run (sport: {sport})")
    row = {
        "source": meta.get("source"),
        "session_index": meta.get("session_index"),
        "sport": sport,
        "sub_sport": meta.get("sub_sport"),
        "device": meta.get("device"),
        "start_time": meta.get("start_time"),
        "distance_m": dist,
        "elapsed_time_s": elapsed_s,
        "timer_time_s": timer,
        # the first sample stands for one spacing the timer may not have counted
        "moving_time_s": min(float(w[moving].sum()), timer)
        if np.isfinite(timer)
        else float(w[moving].sum()),
        "avg_speed_mps": dist / timer if timer and np.isfinite(dist) else np.nan,
        "avg_cadence_spm": cad,
        "running_cadence_spm": _running_cadence(rec, moving, d, dropoff_kw) if foot else np.nan,
        "avg_step_length_m": step,
        "avg_stride_length_m": 2.0 * step,
        "step_length_source": d.step_length_source,
        "stride_dropoff_pct": d.stride_dropoff_pct,
        "stride_dropoff_raw_pct": d.stride_dropoff_raw_pct,
        "stride_dropoff_ci95_low_pct": d.ci95_pct[0],
        "stride_dropoff_ci95_high_pct": d.ci95_pct[1],
        "cadence_drift_pct": d.cadence_drift_pct,
        "dropoff_reason": d.reason,
        "dropoff_model": d.model,
        "dropoff_warning": d.warning,
        "gait_excluded_pct": d.excluded_gait_pct,
        "gait_cadence_spm": d.gait_cadence_spm,
        "gait_estimate_spm": d.gait_estimate_spm,
        "dropoff_elasticity": d.elasticity_data,
        "dropoff_elasticity_se": d.elasticity_data_se,
        "dropoff_prior": "population" if d.model else None,
        "elevation_gain_m": elevation_gain_m(rec),
        "avg_temperature_c": temp_mean,
        "n_warnings": len(meta.get("warnings", [])),
    }
    return row


def _running_cadence(
    rec: _Columns, moving: np.ndarray, d: Any, dropoff_kw: dict[str, Any]
) -> float:
    """Running cadence with the gait rule the drop-off used (its own when it got that far)."""
    if np.isfinite(d.running_cadence_spm):
        return float(d.running_cadence_spm)
    gait = dropoff_kw.get("gait_cadence_spm", GAIT_CADENCE_SPM)
    return running_cadence_spm(rec, moving=moving, gait_cadence_spm=gait)


def _session_times(rec: _Columns, meta: Any) -> tuple[float, float]:
    """Timer and elapsed time [s]: the reader's, from the session's timer events (FIT),
    else the records' last accrued timer and elapsed time. Timer never exceeds elapsed."""
    timer = _num(meta.get("timer_time_s"))
    elapsed = _num(meta.get("elapsed_time_s"))
    if np.isnan(elapsed):
        e = _col(rec, "elapsed_s")
        elapsed = float(np.nanmax(e)) if np.isfinite(e).any() else np.nan
    if np.isnan(timer):
        t = _col(rec, "timer_s")
        if np.isfinite(t).any():
            timer = float(np.nanmax(t) - np.nanmin(t[np.isfinite(t)]))
        elif len(rec):
            timer = float(sample_weights_s(rec).sum())
    if np.isfinite(timer) and np.isfinite(elapsed):
        timer = min(timer, elapsed)
    return timer, elapsed


def _whole_strides(meta: Any) -> bool:
    """True when the device's own summary gives cadence in whole strides/min (FIT: an
    average cadence without ``avg_fractional_cadence``)."""
    dev = meta.get("device_summary") or {}
    raw = dev.get("raw") or {}
    return bool(raw) and dev.get("avg_cadence_spm") is not None and \
        raw.get("avg_fractional_cadence") is None  # fmt: skip


def _num(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return float("nan")
    return out if np.isfinite(out) else float("nan")


def _summary_only_row(run: Run) -> dict[str, Any]:
    """The row of a run known only by the source's averages (no samples)."""
    meta = run.meta
    dev = meta.get("device_summary") or {}
    dist = _num(dev.get("distance_m"))
    timer = _num(dev.get("timer_time_s"))
    speed = _num(dev.get("avg_speed_mps"))
    if np.isnan(speed) and timer > 0:
        speed = dist / timer
    cad = _num(dev.get("avg_cadence_spm"))
    step = _num(dev.get("avg_step_length_m"))
    source = "summary" if np.isfinite(step) else None
    if np.isnan(step) and speed > 0 and cad > 0:
        step = speed / (cad / 60.0)
        source = "derived (summary)"
    row = {
        "source": meta.get("source"),
        "session_index": meta.get("session_index"),
        "sport": meta.get("sport"),
        "sub_sport": meta.get("sub_sport"),
        "device": meta.get("device"),
        "start_time": meta.get("start_time"),
        "distance_m": dist,
        "elapsed_time_s": _num(dev.get("elapsed_time_s")),
        "timer_time_s": timer,
        "moving_time_s": _num(dev.get("moving_time_s")),
        "avg_speed_mps": speed,
        "avg_cadence_spm": cad,
        "running_cadence_spm": np.nan,
        "avg_step_length_m": step,
        "avg_stride_length_m": 2.0 * step,
        "step_length_source": source,
        "stride_dropoff_pct": np.nan,
        "stride_dropoff_raw_pct": np.nan,
        "stride_dropoff_ci95_low_pct": np.nan,
        "stride_dropoff_ci95_high_pct": np.nan,
        "cadence_drift_pct": np.nan,
        "dropoff_reason": "summary only",
        "dropoff_model": None,
        "dropoff_warning": None,
        "gait_excluded_pct": np.nan,
        "gait_cadence_spm": np.nan,
        "gait_estimate_spm": np.nan,
        "dropoff_elasticity": np.nan,
        "dropoff_elasticity_se": np.nan,
        "dropoff_prior": None,
        "elevation_gain_m": _num(dev.get("total_ascent_m")),
        "avg_temperature_c": _num(dev.get("avg_temperature_c")),
        "n_warnings": len(meta.get("warnings", [])),
    }
    return row
