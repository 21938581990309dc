"""The one JSON cleaner: any value the package produces -> plain JSON types.

Used for the device's raw messages kept in a run's metadata, the analysis results'
``to_dict()`` and every ``--json`` output of the CLI.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

__all__ = ["json_safe"]


def json_safe(value: Any) -> Any:
    """A JSON-ready copy of ``value``.

    NaN and infinities become None; numpy scalars and arrays Python numbers and lists;
    datetimes, dates and timestamps ISO 8601 strings; bytes hex; tuples lists; dict keys
    strings; a dataclass its ``to_dict()`` (else its fields). Anything else is ``str()``.
    """
    kind = type(value)  # the common cases first (exact types: numpy scalars go below)
    if kind is int or kind is str:
        return value
    if kind is float:
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if hasattr(value, "to_dict"):
            return value.to_dict()
        return json_safe(dataclasses.asdict(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if hasattr(value, "tolist") and not isinstance(value, int | float):
        return json_safe(value.tolist())  # numpy scalars and arrays
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, int):
        return int(value)
    return str(value)
