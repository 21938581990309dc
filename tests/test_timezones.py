"""The one time-zone resolver."""

from __future__ import annotations

import datetime as dt
import sys
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from stridekeeper.timezones import resolve_tz, system_timezone


def test_names_offsets_and_tzinfos() -> None:
    zone = resolve_tz("Europe/Copenhagen")
    assert zone == ZoneInfo("Europe/Copenhagen")
    # its DST rules, not one fixed offset: summer +2 h, winter +1 h
    assert pd.Timestamp("2026-07-01T12:00", tz=zone).utcoffset() == dt.timedelta(hours=2)
    assert pd.Timestamp("2026-01-01T12:00", tz=zone).utcoffset() == dt.timedelta(hours=1)
    assert resolve_tz(-18000).utcoffset(None) == dt.timedelta(hours=-5)
    assert resolve_tz(19800.0).utcoffset(None) == dt.timedelta(hours=5, minutes=30)
    assert resolve_tz(dt.UTC) is dt.UTC


def test_bad_zones_say_what_is_allowed() -> None:
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'.*IANA"):
        resolve_tz("Mars/Olympus")
    with pytest.raises(ValueError, match="less than one day"):
        resolve_tz(86400)
    with pytest.raises(TypeError, match="bool"):
        resolve_tz(True)
    with pytest.raises(TypeError):
        resolve_tz([3600])  # type: ignore[arg-type]


def test_system_zone_from_tz_then_tzlocal_then_the_system(monkeypatch) -> None:
    monkeypatch.setenv("TZ", "America/Chicago")
    assert system_timezone() == ZoneInfo("America/Chicago")
    assert resolve_tz(None) == ZoneInfo("America/Chicago")
    monkeypatch.delenv("TZ")
    monkeypatch.setitem(sys.modules, "tzlocal", None)  # not installed: the fallback still works
    zone = system_timezone()
    assert isinstance(zone, dt.tzinfo)
    now = dt.datetime.now()
    assert now.replace(tzinfo=zone).utcoffset() == now.astimezone().utcoffset()


def test_the_one_json_cleaner() -> None:
    import json

    import numpy as np

    from stridekeeper.jsonsafe import json_safe

    value = {1: (np.float64("nan"), np.int64(3), np.bool_(True), np.array([1.5, np.inf]),
                 pd.Timestamp("2026-01-01T07:00", tz="UTC"), dt.date(2026, 1, 2), b"\x01\xff")}  # fmt: skip
    out = json_safe(value)
    assert out == {"1": [None, 3, True, [1.5, None], "2026-01-01T07:00:00+00:00", "2026-01-02",
                         "01ff"]}  # fmt: skip
    assert type(out["1"][1]) is int and type(out["1"][3][0]) is float
    json.dumps(out, allow_nan=False)
