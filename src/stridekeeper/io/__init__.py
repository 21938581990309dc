"""Readers, one module per format, and the dispatcher that picks one."""

from .dispatch import read_runs

__all__ = ["read_runs"]
