"""pandas, imported on first use.

Importing pandas costs a process about 0.25 s, more than importing a FIT file takes to
decode, summarise and store: the import path (reader, metrics, library commit) works on
numpy and Arrow alone and never imports it. Modules on that path write::

    from typing import TYPE_CHECKING

    if TYPE_CHECKING:
        import pandas as pd
    else:
        from ..lazy import pandas as pd

and use ``pd`` as usual in the functions that need it (the first attribute looked up
imports pandas); :func:`is_frame` tests for a DataFrame without importing it.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any

__all__ = ["is_frame", "pandas"]


class _Lazy(ModuleType):
    """A module imported on first attribute lookup; each attribute is then kept here."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)  # pickle, copy and inspect probe these
        value = getattr(importlib.import_module(self.__name__), name)
        setattr(self, name, value)
        return value


pandas: Any = _Lazy("pandas")


def is_frame(x: Any) -> bool:
    """True for a pandas DataFrame (without importing pandas)."""
    mod = sys.modules.get("pandas")  # not imported: x can't be one of its objects
    return mod is not None and isinstance(x, mod.DataFrame)
