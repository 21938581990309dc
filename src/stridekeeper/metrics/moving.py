"""Which samples count: timer-running time, moving samples, GPS speed spikes, time weights.

docs/methods.md, "Which samples count". All functions are pure: they take a records table and return new arrays.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from ..schema import RecordColumns
else:
    from ..lazy import pandas as pd

__all__ = [
    "GAIT_CADENCE_SPM",
    "GAIT_RUN_SPEED_MPS",
    "MAX_ACCEL_MPS2",
    "MIN_CADENCE_SPM",
    "MIN_SPEED_MPS",
    "gait_mask",
    "moving_mask",
    "sample_weights_s",
    "speed_spike_mask",
]

#: Below this speed a sample is standing or shuffling, not running. [m/s]
MIN_SPEED_MPS = 1.0
#: Below this cadence a sample is walking or standing. [steps/min]
MIN_CADENCE_SPM = 120.0
#: Faster changes of speed than this are GPS artefacts, not running. [m/s^2]
MAX_ACCEL_MPS2 = 3.0
#: Running cadence: below this it is walking (brisk walking is 110-130). [steps/min]
GAIT_CADENCE_SPM = 140.0
#: Faster than this is running whatever the cadence (very brisk walking is ~2 m/s,
#: 7.2 km/h; beyond it is race walking). [m/s]
GAIT_RUN_SPEED_MPS = 2.2


def gait_mask(cadence_spm: np.ndarray, speed_mps: np.ndarray, moving: np.ndarray,
              gait_cadence_spm: float = GAIT_CADENCE_SPM) -> np.ndarray:  # fmt: skip
    """The moving samples that are running, not walking: cadence at least
    ``gait_cadence_spm`` (the library sets each athlete's own) or faster than
    :data:`GAIT_RUN_SPEED_MPS`. [steps/min], [m/s]"""
    with np.errstate(invalid="ignore"):
        return moving & ((cadence_spm >= gait_cadence_spm) | (speed_mps >= GAIT_RUN_SPEED_MPS))


class _Columns:
    """A records table whose columns are taken out as arrays once each.

    :func:`~stridekeeper.metrics.summary.summarize` asks for the same few columns (and the
    same sample weights) some thirty times through the metric functions; each pandas
    column lookup costs ~10 us, more than the arithmetic done with it. The metric
    functions accept this in place of the DataFrame (internal: the public type stays
    ``pandas.DataFrame``). Arrays handed out are shared: callers must not modify them.
    :meth:`of` takes a run's numpy columns as they are when its reader built them so (no
    DataFrame at all).
    """

    def __init__(self, records: pd.DataFrame):
        self.records: pd.DataFrame | None = records
        self._n = len(records)
        self._names = set(map(str, records.columns))
        self._cols: dict[str, np.ndarray] = {}
        self._weights: np.ndarray | None = None
        self._ts_ns: np.ndarray | None = None
        if self._n and all(dt.kind in "fb" for dt in records.dtypes):
            # one 2-D copy of the whole (float and bool) table, rows made contiguous
            block = np.ascontiguousarray(records.to_numpy(dtype=float).T)
            self._cols = dict(zip(map(str, records.columns), block, strict=True))

    @classmethod
    def of(cls, run: Any) -> _Columns:
        """The columns of a :class:`~stridekeeper.schema.Run`: its arrays when it has them."""
        cols = run.columns
        if cols is None:
            return cls(run.records)
        return cls.from_columns(cols)

    @classmethod
    def from_columns(cls, cols: RecordColumns) -> _Columns:
        """The columns of a :class:`~stridekeeper.schema.RecordColumns` (no DataFrame)."""
        self = cls.__new__(cls)
        self.records, self._n, self._weights = None, len(cols), None
        self._names = set(cols.data)
        self._ts_ns = cols.ts_ns
        self._cols = {k: v.astype(float) if v.dtype.kind == "b" else v
                      for k, v in cols.data.items()}  # fmt: skip
        return self

    def __len__(self) -> int:
        return self._n

    def __contains__(self, name: str) -> bool:
        return name in self._names

    def col(self, name: str) -> np.ndarray:
        out = self._cols.get(name)
        if out is None:
            if self.records is not None:
                out = _frame_col(self.records, name)
            else:
                out = np.full(self._n, np.nan)
            self._cols[name] = out
        return out

    def times_s(self) -> np.ndarray:
        """Sample times, seconds since 1970."""
        if self._ts_ns is None:
            self._ts_ns = self.records.index.as_unit("ns").asi8 if self._n else np.zeros(0)
        return self._ts_ns / 1e9


def _frame_col(records: pd.DataFrame, name: str) -> np.ndarray:
    if name in records:
        return records[name].to_numpy(dtype=float)
    return np.full(len(records), np.nan)


def _col(records: pd.DataFrame | _Columns, name: str) -> np.ndarray:
    """A column as float (NaN when the table lacks it)."""
    if isinstance(records, _Columns):
        return records.col(name)
    return _frame_col(records, name)


def _running(records: pd.DataFrame | _Columns) -> np.ndarray:
    """``timer_running`` as bool (all True when the table lacks it)."""
    if "timer_running" not in records:
        return np.ones(len(records), dtype=bool)
    if isinstance(records, _Columns):
        return records.col("timer_running") > 0
    return records["timer_running"].to_numpy(bool)


def _times_s(records: pd.DataFrame | _Columns) -> np.ndarray:
    """Sample times, seconds since 1970."""
    if isinstance(records, _Columns):
        return records.times_s()
    if not len(records):
        return np.zeros(0)
    # whatever the index's unit (ns, us, ms), as float seconds
    return records.index.as_unit("ns").asi8 / 1e9


def sample_weights_s(records: pd.DataFrame) -> np.ndarray:
    """Timer-running seconds each sample stands for.

    A sample stands for the timer time since the previous sample (pauses add nothing):
    watches with smart recording write a sample when the value has changed, and this
    weighting reproduces their session averages best on the real files in
    ``realdata`` (82 % within 1 step/min against 71 % for forward-holding and 61 % for a
    plain mean). The first sample gets the median spacing. Samples recorded while the
    timer was stopped weigh 0.

    Parameters
    ----------
    records
        A ``Run.records`` table with ``timer_s`` and ``timer_running``.

    Returns
    -------
    numpy.ndarray
        Weight per sample. [s]
    """
    if isinstance(records, _Columns):
        if records._weights is None:
            records._weights = _weights_s(records)
        return records._weights
    return _weights_s(records)


def _median(x: np.ndarray) -> float:
    """``np.median`` of a non-empty array, at once when every value is the same: regular
    sampling's spacings (np.median takes ~90 us on 3,600 equal values, and a run's
    metrics take the median spacing four times). Otherwise from ``np.partition`` as
    ``np.median`` takes it, without what ``np.median`` imports on first use (``numpy.ma``,
    6 ms a process)."""
    lo, hi = x.min(), x.max()
    if lo == hi or not (lo == lo and hi == hi):  # all equal, or a NaN (the median is NaN)
        return float(lo) if lo == hi else float("nan")
    n = len(x)
    mid = np.partition(x, [(n - 1) // 2, n // 2])
    return float((mid[(n - 1) // 2] + mid[n // 2]) / 2.0) if n % 2 == 0 else float(mid[n // 2])


def _weights_s(records: pd.DataFrame | _Columns) -> np.ndarray:
    n = len(records)
    if n == 0:
        return np.zeros(0)
    timer = _col(records, "timer_s")
    if np.isnan(timer).all():
        timer = _col(records, "elapsed_s")
    w = np.empty(n)
    if n > 1:
        w[1:] = np.diff(timer)
        pos = w[1:][w[1:] > 0]
        w[0] = _median(pos) if len(pos) else 1.0
    else:
        w[0] = 1.0
    w = np.where(np.isfinite(w) & (w > 0), w, 0.0)
    running = _running(records)
    if n > 1:
        resumed, spacing = _resumes(records, w, running)
        w = np.where(resumed, spacing, w)
    return np.where(running, w, 0.0)


def _resumes(records: pd.DataFrame, w: np.ndarray, running: np.ndarray) -> tuple[np.ndarray, float]:
    """The first records after a timer resume, and the time each counts for. [s]

    Such a record accrues no timer time since the record before the pause, but the watch
    counts its second like any other (weight 0 read interval sessions 1-1.5 steps/min
    high): it gets one sample spacing. A resume is a running record after a stopped one;
    with every-second recording also a record whose timer stood still while the clock
    moved on (the record before the pause written at the stop): such watches average
    their per-second samples, the resume's included (fenix 5X Plus, FR945 treadmill,
    FR935, FR920XT: 0.1-0.15 steps/min high without it, within 0.01 with it). A
    smart-recording watch writes that record at the resume instant with no second of its
    own (the next record covers the seconds after it): it adds nothing there (FR220).
    """
    resumed = np.concatenate(([False], running[1:] & ~running[:-1])) & (w == 0)
    pos = w[running & (w > 0)]
    spacing = _median(pos) if len(pos) else 1.0
    if spacing <= 1.0:
        clock = _col(records, "elapsed_s")
        with np.errstate(invalid="ignore"):
            resumed |= np.concatenate(([False], np.diff(clock) > 0)) & running & (w == 0)
    return resumed, spacing


#: A 5-input sorting network (9 compare-exchanges).
_SORT5 = ((0, 1), (3, 4), (2, 4), (2, 3), (0, 3), (0, 2), (1, 4), (1, 3), (1, 2))


def _centred_median5(x: np.ndarray) -> np.ndarray:
    """Median of the 5 samples centred on each one, NaN skipped, NaN when fewer than 2.

    Equals ``pd.Series(x).rolling(5, center=True, min_periods=2).median()`` (+-inf skipped
    like NaN; the same middle value, or the same mean of the two middle ones for an even
    count), computed with a sorting network over five shifted copies: whole-array min/max,
    no per-sample loop.
    """
    n = len(x)
    if n == 0:
        return np.zeros(0)
    finite = np.isfinite(x)  # pandas' rolling windows skip +-inf as they skip NaN
    if n >= 9 and finite.all():  # the usual case: five values in every inner window
        return _median5_finite(x)
    pad = np.full(n + 4, np.inf)
    pad[2:-2] = np.where(finite, x, np.inf)
    # values per window (a gap stands in as +inf, sorted last, and is not counted)
    k = np.convolve(finite.astype(float), np.ones(5))[2 : n + 2].astype(np.int64)  # exact
    s = [pad[i : i + n] for i in range(5)]
    for i, j in _SORT5:
        lo, hi = np.minimum(s[i], s[j]), np.maximum(s[i], s[j])
        s[i], s[j] = lo, hi
    srt = np.stack(s)
    rows = np.arange(n)
    lo = srt[np.maximum(k - 1, 0) // 2, rows]
    hi = srt[np.maximum(k, 1) // 2, rows]
    with np.errstate(invalid="ignore"):
        return np.where(k >= 2, (lo + hi) / 2.0, np.nan)


def _median5_finite(x: np.ndarray) -> np.ndarray:
    """:func:`_centred_median5` of finite ``x`` (at least 9 values): inside, the middle of
    five by a selection network (drop the lowest and the highest of four, then the middle
    of three: 10 whole-array min/max, a third of the full sort's cost); the two samples
    at each end from the three or four values their windows hold."""
    a, b, c, d, e = (x[i : len(x) - 4 + i] for i in range(5))
    lo = np.maximum(np.minimum(a, b), np.minimum(d, e))
    hi = np.minimum(np.maximum(a, b), np.maximum(d, e))
    mid = np.maximum(np.minimum(lo, hi), np.minimum(np.maximum(lo, hi), c))
    first3, first4 = sorted(x[:3].tolist()), sorted(x[:4].tolist())
    last4, last3 = sorted(x[-4:].tolist()), sorted(x[-3:].tolist())
    head = [first3[1], (first4[1] + first4[2]) / 2.0]
    tail = [(last4[1] + last4[2]) / 2.0, last3[1]]
    return np.concatenate((head, mid, tail))


def speed_spike_mask(
    records: pd.DataFrame, *, max_accel_mps2: float = MAX_ACCEL_MPS2
) -> np.ndarray:
    """True where speed departs from its neighbours faster than a runner can accelerate.

    A sample is a spike when it differs from the median of the 5 samples around it by
    more than ``max_accel_mps2`` times its spacing (at least 1 s): GPS jumps, not running.

    Parameters
    ----------
    records
        A ``Run.records`` table.
    max_accel_mps2
        Largest plausible change of speed per second. [m/s^2]

    Returns
    -------
    numpy.ndarray of bool
    """
    speed = _col(records, "speed_mps")
    if len(speed) < 3 or np.isnan(speed).all():
        return np.zeros(len(speed), dtype=bool)
    med = _centred_median5(speed)
    t = _times_s(records)
    dt_s = np.ones(len(speed))
    if len(t) > 1:
        gaps = np.diff(t)
        dt_s[1:] = np.maximum(dt_s[1:], gaps)
    with np.errstate(invalid="ignore"):
        return np.abs(speed - med) > max_accel_mps2 * dt_s


def moving_mask(
    records: pd.DataFrame,
    *,
    min_speed_mps: float = MIN_SPEED_MPS,
    min_cadence_spm: float = MIN_CADENCE_SPM,
    max_accel_mps2: float = MAX_ACCEL_MPS2,
) -> np.ndarray:
    """Samples that count as running: timer on, fast enough, high enough cadence, no spike.

    When the run has no cadence at all, the cadence condition is dropped (speed alone).

    Parameters
    ----------
    records
        A ``Run.records`` table.
    min_speed_mps
        Slowest running speed. [m/s]
    min_cadence_spm
        Lowest running cadence. [steps/min]
    max_accel_mps2
        Speed spikes beyond this are excluded. [m/s^2]

    Returns
    -------
    numpy.ndarray of bool
    """
    running = _running(records)
    speed = _col(records, "speed_mps")
    cad = _col(records, "cadence_spm")
    with np.errstate(invalid="ignore"):
        mask = running & (speed >= min_speed_mps)
        if not np.isnan(cad).all():
            mask &= cad >= min_cadence_spm
    return mask & ~speed_spike_mask(records, max_accel_mps2=max_accel_mps2)
