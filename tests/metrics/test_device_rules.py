"""Device rules for the device-comparable averages, on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stridekeeper.metrics.averages import (
    avg_cadence_spm,
    avg_step_length_m,
    device_cadence_spm,
    zero_cadence_policy,
)

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


def test_zero_excluding_devices_leave_standing_still_out() -> None:
    # 60 s running at 176 steps/min, then a stop: the foot pod's cadence decays over 5 s
    # (120, 80, 40) while its speed reads 0, then 20 s of 0 cadence
    n_run, decay = 60, [120.0, 80.0, 40.0]
    cad = np.r_[np.full(n_run, 176.0), decay, np.zeros(20)]
    speed = np.r_[np.full(n_run, 3.0), np.zeros(len(decay) + 20)]
    idx = pd.date_range(T0, periods=len(cad), freq="1s", name="timestamp")
    rec = pd.DataFrame({"timer_s": np.arange(len(cad), dtype=float), "timer_running": True,
                        "cadence_spm": cad, "speed_mps": speed}, index=idx)  # fmt: skip
    assert avg_cadence_spm(rec, zeros="exclude") == pytest.approx(176.0)
    # zeros included (Garmin's usual rule): standing time counts as 0
    assert avg_cadence_spm(rec, zeros="include") == pytest.approx(
        (n_run * 176 + sum(decay)) / len(cad)
    )
    # no speed column: zero cadence alone marks standing still
    no_speed = rec.drop(columns="speed_mps")
    assert avg_cadence_spm(no_speed, zeros="exclude") == pytest.approx(
        (n_run * 176 + sum(decay)) / (n_run + len(decay))
    )


def test_zero_cadence_policy_by_device() -> None:
    assert zero_cadence_policy("garmin", "fr945") == "include"
    assert zero_cadence_policy("garmin", "fr25") == "exclude"
    assert zero_cadence_policy("garmin", "FR70") == "exclude"
    assert zero_cadence_policy("coros", "841") == "exclude"
    assert zero_cadence_policy("suunto", None) == "exclude"


@pytest.mark.parametrize(
    ("cad", "maker", "whole", "expected"),
    [
        (149.39, "stryd", True, 148.0),  # 74.69 strides/min cut to 74
        (149.99, "stryd", True, 148.0),
        (148.0, "stryd", True, 148.0),  # already whole: stays
        (149.39, "stryd", False, 149.39),  # a summary with fractional cadence: exact
        (183.37, "coros", True, 183.37),  # rounding devices: the unrounded average
        (145.73, "garmin", True, 145.73),
    ],
)
def test_device_cadence_at_the_device_resolution(
    cad: float, maker: str, whole: bool, expected: float
) -> None:
    assert device_cadence_spm(cad, maker, whole_strides=whole) == pytest.approx(expected)
    assert np.isnan(device_cadence_spm(float("nan"), "stryd", whole_strides=True))


def test_resume_without_a_record_inside_the_pause() -> None:
    # every second: 5 s at 160, the last written at the stop; 10 s paused with no record;
    # the resume record (timer still at 4 s) at 180, then 4 s more at 180
    secs = [0, 1, 2, 3, 4, 14, 15, 16, 17, 18]
    idx = pd.DatetimeIndex([T0 + pd.Timedelta(seconds=s) for s in secs], name="timestamp")
    timer = np.array([0, 1, 2, 3, 4, 4, 5, 6, 7, 8], dtype=float)
    cad = np.array([160] * 5 + [180] * 5, dtype=float)
    rec = pd.DataFrame({"timer_s": timer, "elapsed_s": np.array(secs, dtype=float),
                        "timer_running": True, "cadence_spm": cad}, index=idx)  # fmt: skip
    # the watch averages its ten per-second samples: the resume's counts one second
    assert avg_cadence_spm(rec) == pytest.approx(170.0)
    # smart recording (records 3 s apart): the record at the resume instant adds nothing
    secs3 = [0, 3, 6, 9, 19, 22, 25]
    timer3 = np.array([0, 3, 6, 9, 9, 12, 15], dtype=float)
    cad3 = np.array([160] * 4 + [200, 180, 180], dtype=float)
    idx3 = pd.DatetimeIndex([T0 + pd.Timedelta(seconds=s) for s in secs3], name="timestamp")
    rec3 = pd.DataFrame({"timer_s": timer3, "elapsed_s": np.array(secs3, dtype=float),
                         "timer_running": True, "cadence_spm": cad3}, index=idx3)  # fmt: skip
    # first record: the median spacing (3 s); 3 x 3 s at 160 and 2 x 3 s at 180
    assert avg_cadence_spm(rec3) == pytest.approx((4 * 3 * 160 + 2 * 3 * 180) / 18)


def test_indoor_run_with_speed_zero_throughout_keeps_its_cadence() -> None:
    # a treadmill run without a foot pod: speed written as 0 in every record
    idx = pd.date_range(T0, periods=120, freq="1s", name="timestamp")
    cad = np.r_[np.full(100, 170.0), np.zeros(20)]
    rec = pd.DataFrame({"timer_s": np.arange(120.0), "timer_running": True,
                        "cadence_spm": cad, "speed_mps": 0.0}, index=idx)  # fmt: skip
    assert avg_cadence_spm(rec, zeros="exclude") == pytest.approx(170.0)
