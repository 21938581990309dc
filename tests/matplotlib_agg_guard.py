"""Imported by conftest: plot tests must never open a window."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
