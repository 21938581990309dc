"""Device rules for the device-comparable averages, on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stridekeeper.metrics.averages import avg_cadence_spm, avg_step_length_m

T0 = pd.Timestamp("2024-05-01 07:00", tz="UTC")


def test_first_record_after_resume_counts_one_second() -> None:
    # 5 s running at 160, a 10-s pause (one record when stopped), resume at 180 for 5 s
    idx = pd.DatetimeIndex([T0 + pd.Timedelta(seconds=s) for s in
                            [0, 1, 2, 3, 4, 9, 14, 15, 16, 17, 18]], name="timestamp")  # fmt: skip
    timer = np.array([0, 1, 2, 3, 4, 4, 4, 5, 6, 7, 8], dtype=float)
    running = np.array([1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1], dtype=bool)
    cad = np.array([160] * 5 + [0] + [180] * 5, dtype=float)
    rec = pd.DataFrame({"timer_s": timer, "timer_running": running, "cadence_spm": cad},
                       index=idx)  # fmt: skip
    # each running record one second: 5 x 160 + 5 x 180 over 10 s (the resume record counts)
    assert avg_cadence_spm(rec) == pytest.approx((5 * 160 + 5 * 180) / 10)


def test_step_length_from_the_device_stride_counter() -> None:
    idx = pd.date_range(T0, periods=100, freq="1s", name="timestamp")
    rec = pd.DataFrame({"distance_m": np.arange(100) * 3.0, "cadence_spm": 170.0,
                        "speed_mps": 3.0, "timer_s": np.arange(100.0),
                        "timer_running": True}, index=idx)  # fmt: skip
    # distance 297 m, counter 160 strides -> 297 / 320 m per step
    assert avg_step_length_m(rec, total_strides=160) == pytest.approx(297 / 320)
    # without the counter: steps integrated from cadence (100 s x 170/60)
    assert avg_step_length_m(rec) == pytest.approx(297 / (100 * 170 / 60))
