"""The on-disk athlete library (Parquet) and the import pipeline that fills it."""

from .importer import ImportReport, import_paths
from .store import Library, default_library_path

__all__ = ["ImportReport", "Library", "default_library_path", "import_paths"]
