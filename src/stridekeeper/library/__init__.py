"""The on-disk athlete library (Parquet) and the import pipeline that fills it.

Imported lazily: ``runs`` and ``check`` open the library without loading the importer
(its readers and pandas).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .importer import ImportReport, import_paths
    from .store import Library, default_library_path

_LAZY = {
    "ImportReport": ".importer",
    "import_paths": ".importer",
    "Library": ".store",
    "default_library_path": ".store",
}

__all__ = ["ImportReport", "Library", "default_library_path", "import_paths"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
