"""Write simulated runs as the FIT files a watch would produce (stridekeeper's own encoder)."""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Any

from .fitwrite import SessionSpec, encode_activity
from .runs import SimulatedRun

__all__ = ["run_fit_bytes", "write_run_fit"]


def run_fit_bytes(
    sim: SimulatedRun,
    *,
    sub_sport: str = "generic",
    utc_offset_s: int = 3600,
    **encode_kw: Any,
) -> bytes:
    """Encode a :class:`~stridekeeper.synth.runs.SimulatedRun` as a FIT activity.

    Parameters
    ----------
    sim
        The simulated run.
    sub_sport
        FIT sub-sport; ``"treadmill"`` for treadmill runs.
    utc_offset_s
        The athlete's local time offset written to ``activity.local_timestamp``. [s]
    **encode_kw
        Passed to :func:`~stridekeeper.synth.fitwrite.encode_activity`.

    Returns
    -------
    bytes
    """
    if sim.truth.get("treadmill") and sub_sport == "generic":
        sub_sport = "treadmill"
    spec = SessionSpec(sport="running", sub_sport=sub_sport, records=sim.records,
                       pauses=tuple(sim.pauses))  # fmt: skip
    return encode_activity([spec], utc_offset_s=utc_offset_s, **encode_kw)


def write_run_fit(sim: SimulatedRun, path: str | PathLike[str], **kw: Any) -> Path:
    """Write :func:`run_fit_bytes` to ``path`` (parents created) and return the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(run_fit_bytes(sim, **kw))
    return out
