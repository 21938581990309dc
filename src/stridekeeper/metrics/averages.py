"""Per-run averages of cadence and step length, device-comparable and running-only.

docs/methods.md, "Per-run averages". Device-comparable averages reproduce the watch's own session summary;
running averages use moving samples only and feed the drop-off.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np

from .moving import GAIT_CADENCE_SPM, _col, _running, gait_mask, moving_mask, sample_weights_s

if TYPE_CHECKING:
    import pandas as pd
else:
    from ..lazy import pandas as pd

__all__ = [
    "avg_cadence_spm",
    "device_cadence_spm",
    "avg_step_length_m",
    "distance_m",
    "running_cadence_spm",
    "step_length_series_m",
    "zero_cadence_policy",
]

ZeroPolicy = Literal["auto", "include", "exclude"]


#: Garmin products whose firmware leaves standing-still samples out of the session average
#: (FR630 and FR735XT per the realdata notes; the footpod-era FR70 and the FR25, whose
#: session and every lap's whole-number cadence need the standing time left out).
ZERO_EXCLUDING_PRODUCTS = frozenset({"fr25", "fr70", "fr630", "fr735xt"})

#: Makers whose summary writes a whole number of strides/min cut down, not rounded: the
#: Stryd app (cadence 74.69 -> 74 and power 218.73 W -> 218 in the same session).
TRUNCATING_MANUFACTURERS = frozenset({"stryd"})


def zero_cadence_policy(
    manufacturer: str | None, product: str | None = None
) -> Literal["include", "exclude"]:
    """How a device averages cadence: Garmin counts standing still as 0, others skip it.

    Parameters
    ----------
    manufacturer
        ``meta['manufacturer']`` of the run (``"garmin"``, ``"coros"``...).
    product
        ``meta['product']``; a few Garmin products exclude zeros.

    Returns
    -------
    str
        ``"include"`` or ``"exclude"``.
    """
    if (product or "").lower() in ZERO_EXCLUDING_PRODUCTS:
        return "exclude"
    return "include" if (manufacturer or "").lower() in ("garmin", "1", "dynastream") else "exclude"


def _wmean(values: np.ndarray, weights: np.ndarray) -> float:
    ok = np.isfinite(values) & (weights > 0)
    total = weights[ok].sum()
    return float((values[ok] * weights[ok]).sum() / total) if total > 0 else float("nan")


def avg_cadence_spm(records: pd.DataFrame, *, zeros: ZeroPolicy = "include") -> float:
    """Time-weighted cadence over timer-running time, as the device's summary computes it.

    Parameters
    ----------
    records
        A ``Run.records`` table.
    zeros
        ``"include"`` counts zero-cadence samples (standing still; Garmin), ``"exclude"``
        drops standing-still samples (COROS, Suunto, some Garmin firmware): zero cadence,
        or zero speed where speed is recorded (a foot pod's cadence decays for a few
        seconds after the runner stops; its speed reads 0 at once; a speed of 0 in most
        stepping samples is read as no speed). ``"auto"`` means include.

    Returns
    -------
    float
        Average cadence [steps/min], NaN without cadence.
    """
    cad = _col(records, "cadence_spm")
    w = sample_weights_s(records)
    if zeros == "exclude":
        stepping = cad > 0
        standing = _col(records, "speed_mps") == 0
        # a speed of 0 while stepping most of the time is no speed at all (an indoor run
        # without a foot pod), not standing still
        if (stepping & standing).sum() > 0.5 * max(stepping.sum(), 1):
            standing[:] = False
        w = np.where(stepping & ~standing, w, 0.0)
    return _wmean(cad, w)


def device_cadence_spm(
    cadence_spm: float, manufacturer: str | None, *, whole_strides: bool
) -> float:
    """The device-comparable cadence at the resolution the device writes it.

    A session summary without ``avg_fractional_cadence`` holds whole strides/min. Most
    devices round, which an unrounded average matches to within the tolerance as often
    as a rounded one; a device that cuts the fraction off (:data:`TRUNCATING_MANUFACTURERS`)
    reads one step/min low on average, so its average is cut down the same way.

    Parameters
    ----------
    cadence_spm
        Average cadence. [steps/min]
    manufacturer
        ``meta['manufacturer']`` of the run.
    whole_strides
        True when the device's summary carries no fractional cadence.

    Returns
    -------
    float
        Cadence [steps/min]: ``2 x floor(cadence_spm / 2)`` for a truncating device
        writing whole strides, else ``cadence_spm`` unchanged.
    """
    if not whole_strides or not np.isfinite(cadence_spm):
        return cadence_spm
    if (manufacturer or "").lower() in TRUNCATING_MANUFACTURERS:
        return 2.0 * float(np.floor(cadence_spm / 2.0 + 1e-9))
    return cadence_spm


def running_cadence_spm(
    records: pd.DataFrame,
    *,
    moving: np.ndarray | None = None,
    gait_cadence_spm: float = GAIT_CADENCE_SPM,
    gait: np.ndarray | None = None,
    **moving_kw: float,
) -> float:
    """Time-weighted cadence while running: over the moving samples that are not walking
    (:func:`~stridekeeper.metrics.moving.gait_mask`: cadence at least ``gait_cadence_spm``
    or faster than 2.2 m/s), so walk breaks don't pull it down. [steps/min]

    ``moving`` may pass a :func:`~stridekeeper.metrics.moving.moving_mask` already computed,
    ``gait`` the running samples themselves.
    """
    cad = _col(records, "cadence_spm")
    if gait is None:
        mask = moving_mask(records, **moving_kw) if moving is None else moving
        gait = gait_mask(cad, _col(records, "speed_mps"), mask, gait_cadence_spm)
    w = np.where(gait, sample_weights_s(records), 0.0)
    return _wmean(cad, w)


def step_length_series_m(
    records: pd.DataFrame, *, min_device_coverage: float = 0.9
) -> tuple[np.ndarray, str]:
    """Step length per sample from one consistent source.

    The device's per-record step length when it covers at least ``min_device_coverage``
    of the samples with cadence, else speed / (cadence / 60) for every sample: mixing the
    two within a run would show the difference between sources as a change of stride.

    Parameters
    ----------
    records
        A ``Run.records`` table.
    min_device_coverage
        Share of samples with cadence that must carry a device step length. [0-1]

    Returns
    -------
    (numpy.ndarray, str)
        Step length [m] (NaN where unknown or cadence is 0) and its origin,
        ``"device"``, ``"derived"`` or ``"none"``.
    """
    dev = _col(records, "step_length_m")
    speed = _col(records, "speed_mps")
    cad = _col(records, "cadence_spm")
    with_cad = np.isfinite(cad) & (cad > 0)
    has_dev = np.isfinite(dev) & (dev > 0)
    if has_dev.any():
        coverage = (has_dev & with_cad).sum() / max(with_cad.sum(), 1)
        if coverage >= min_device_coverage or not with_cad.any():
            return np.where(has_dev, dev, np.nan), "device"
    with np.errstate(invalid="ignore", divide="ignore"):
        derived = np.where(with_cad, speed / (cad / 60.0), np.nan)
    if np.isfinite(derived).any():
        return derived, "derived"
    return derived, "none"


def distance_m(records: pd.DataFrame) -> float:
    """Distance covered in the session: last minus first recorded cumulative distance. [m]

    A session whose first distance is small (the device starts counting at 0 but records a
    few metres in) counts from 0, as the device does.
    """
    d = _col(records, "distance_m")
    d = d[np.isfinite(d)]
    if len(d) == 0:
        return float("nan")
    first, last = float(d[0]), float(d.max())
    # devices count from the session start at 0; a first sample within ~30 s of running
    # (< 150 m) is distance already covered in this session
    return last - first if first > 150.0 else last


def avg_step_length_m(
    records: pd.DataFrame, *, distance: float | None = None, total_strides: float | None = None
) -> float:
    """Average step length as the device reports it.

    With per-record step length: its time-weighted mean over timer-running samples (what
    watches with running dynamics report: the plain mean at 1 Hz; time weighting also
    matches smart-recording files). Without: total distance / (2 x ``total_strides``)
    when the session carries the device's stride counter (what FR920XT, fenix 3,
    vivoactive HR and foot-pod runs report; the counter integrates every second, which
    smart-recorded cadence samples cannot), else total distance / total steps, the steps
    integrated from cadence over timer-running time and the distance over the samples that
    carry cadence (a cadence dropout's distance without its steps would read as a longer
    step). The drop-off keeps the per-record
    derivation (:func:`step_length_series_m`).

    Parameters
    ----------
    records
        A ``Run.records`` table.
    distance
        Total distance [m]; default :func:`distance_m`.
    total_strides
        The session's stride counter (``device_summary['total_strides']``, one stride =
        two steps); NaN or None when the device wrote none.

    Returns
    -------
    float
        Average step length [m], NaN when neither step length nor cadence is known.
    """
    dev = _col(records, "step_length_m")
    running = _running(records)
    w = sample_weights_s(records)
    if (np.isfinite(dev) & (dev > 0)).any():
        return _wmean(np.where(dev > 0, dev, np.nan), np.where(running, w, 0.0))
    dist = distance_m(records) if distance is None else distance
    if total_strides is not None and np.isfinite(total_strides) and total_strides > 0:
        return dist / (2.0 * total_strides) if np.isfinite(dist) else float("nan")
    cad = _col(records, "cadence_spm")
    ok = np.isfinite(cad)
    steps = float((cad[ok] / 60.0 * w[ok]).sum())
    if steps <= 0 or not np.isfinite(dist):
        return float("nan")
    if (~ok & (w > 0)).any():
        # the steps of a cadence dropout are not counted, so neither is its distance
        dist *= _distance_share(records, ok, w)
    return dist / steps


def _distance_share(records: pd.DataFrame, with_cadence: np.ndarray, w: np.ndarray) -> float:
    """Share of the timer-running distance covered in samples that carry cadence.

    A sample stands for the interval since the previous one (:func:`sample_weights_s`), so
    its distance is the cumulative distance's increment, else speed x its seconds, else
    its seconds alone.
    """
    d = _col(records, "distance_m")
    inc = np.full(len(d), np.nan)
    if len(d) > 1:
        inc[1:] = np.diff(d)
    by_speed = _col(records, "speed_mps") * w
    inc = np.where(np.isfinite(inc), inc, by_speed)
    inc = np.where(np.isfinite(inc) & (w > 0), np.clip(inc, 0.0, None), 0.0)
    if inc.sum() <= 0:  # no distance at all: time stands in for it
        inc = np.where(w > 0, w, 0.0)
    total = float(inc.sum())
    return float(inc[with_cadence].sum() / total) if total > 0 else 1.0
