"""Readers, one module per format, and the format registry that picks one."""

from .dispatch import FORMATS, decode, read_bytes, read_runs

__all__ = ["FORMATS", "decode", "read_bytes", "read_runs"]
