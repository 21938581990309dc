"""The one time-zone resolver: an IANA name, a tzinfo or a UTC offset -> a tzinfo; and
UTC instants as integer nanoseconds since 1970 and back (:func:`utc_ns`, :func:`utc_datetime`).

Readers of local wall-clock times (mobility logs, summary exports), the weekly mobility
summary and the CLI's ``--tz`` all resolve a zone here. ``None`` means the system's zone,
found by ``tzlocal`` (which knows the platforms' conventions) with its DST rules. The FIT
reader and the library's Arrow tables keep times as integers (no pandas on the import
path) and convert them here.
"""

from __future__ import annotations

import datetime as dt
import os
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["TimeZone", "resolve_tz", "system_timezone", "utc_datetime", "utc_ns"]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def utc_ns(value: dt.datetime) -> int:
    """A datetime (or pandas Timestamp, to the microsecond) as int ns since 1970 UTC; a
    naive one is taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    d = value - _EPOCH
    return (d.days * 86400 + d.seconds) * 1_000_000_000 + d.microseconds * 1000


def utc_datetime(ns: int) -> dt.datetime:
    """Int ns since 1970 as a UTC datetime (to the microsecond)."""
    return _EPOCH + dt.timedelta(microseconds=ns // 1000)


#: What a ``tz`` parameter accepts: an IANA name, a tzinfo, a UTC offset in seconds, or None.
TimeZone = str | dt.tzinfo | int | float | None

_UNKNOWN = ("unknown time zone {!r}; give an IANA name such as 'Europe/Copenhagen' "
            "or a UTC offset in seconds")  # fmt: skip


def system_timezone() -> dt.tzinfo:
    """The system's local time zone, with its DST rules when they can be found.

    ``$TZ`` first, then ``tzlocal`` (when installed), then ``/etc/localtime``; as a last
    resort today's fixed offset.
    """
    key = os.environ.get("TZ", "").lstrip(":")
    if key:
        try:
            return ZoneInfo(key)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    try:
        import tzlocal

        name = tzlocal.get_localzone_name()
        if name:
            return ZoneInfo(name)
    except Exception:  # tzlocal missing, or a system setting it cannot read
        pass
    try:
        real = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in real:
            return ZoneInfo(real.split("zoneinfo/", 1)[1])
        with open("/etc/localtime", "rb") as fh:
            return ZoneInfo.from_file(fh, key="localtime")
    except (OSError, ZoneInfoNotFoundError, ValueError):
        pass
    local = dt.datetime.now().astimezone().tzinfo
    return local if local is not None else dt.UTC


def resolve_tz(tz: TimeZone) -> dt.tzinfo:
    """A time zone as a tzinfo.

    Parameters
    ----------
    tz
        An IANA name (``"Europe/Copenhagen"``), a ``tzinfo``, a fixed UTC offset [s]
        (less than a day), or None for :func:`system_timezone`.

    Returns
    -------
    datetime.tzinfo

    Raises
    ------
    ValueError
        An unknown zone name, or an offset of a day or more.
    TypeError
        Anything else (a bool included).
    """
    if tz is None:
        return system_timezone()
    if isinstance(tz, bool):
        raise TypeError("tz must be an IANA name, a tzinfo or an offset in seconds, not a bool")
    if isinstance(tz, int | float):
        if not abs(tz) < 86400:
            raise ValueError(f"tz offset must be less than one day in seconds, got {tz}")
        return dt.timezone(dt.timedelta(seconds=float(tz)))
    if isinstance(tz, str):
        try:
            return ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
            raise ValueError(_UNKNOWN.format(tz)) from exc
    if isinstance(tz, dt.tzinfo):
        return tz
    raise TypeError(f"tz must be an IANA name, a tzinfo or an offset in seconds, got {tz!r}")
