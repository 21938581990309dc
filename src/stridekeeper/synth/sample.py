"""The bundled sample season: what a runner's watch and notebook would hold after 14 weeks.

Written by :func:`write_sample_season` (``python sample_data/regenerate.py``): FIT runs as a
watch writes them (pauses, hills, a treadmill run, a walk break), a cycling ride, a
watch-recorded yoga session, and a hand-kept mobility log with a few imperfect rows, all
simulated with a known mobility effect (:func:`~stridekeeper.synth.season.simulate_season`).
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .files import write_run_fit
from .fitwrite import SessionSpec, encode_activity
from .runs import simulate_run
from .season import simulate_season

__all__ = ["SAMPLE_SEASON", "write_sample_season"]

#: Parameters of the sample athlete's season.
SAMPLE_SEASON: dict[str, Any] = dict(weeks=14, runs_per_week=3.5, effect=1.2, noise_pct=1.5,
                                     mean_sessions_per_week=2.5, athlete="sample", seed=2026)  # fmt: skip
#: The athlete's local time offset (Copenhagen in winter). [s]
UTC_OFFSET_S = 3600
#: Deliberately imperfect rows of the hand-kept log, and why each is rejected.
BAD_LOG_ROWS = (
    ("2026-02-30T18:00", "20", "hips", "", "", "date that does not exist"),
    ("2026-03-03T19:00", "0", "ankles", "", "", "zero minutes"),
    ("2026-03-10T18:30", "15", "hips;elbows", "", "", "region outside the vocabulary"),
)


def _flavour(i: int, n: int) -> tuple[str, dict[str, Any]]:
    """Variety as in a real season: hills, pauses, one treadmill run, one walk break."""
    if i == n // 2:
        return "treadmill", {"treadmill": True, "with_step_length": False}
    if i == n // 3:
        return "walk break", {"walk_break": (900.0, 150.0)}
    if i % 5 == 1:
        return "hills", {"hills_amplitude_m": 12.0}
    if i % 7 == 3:
        return "pause at a crossing", {"pauses": [(1200.0, 75.0)]}
    return "steady", {}


def _yoga_fit(start: pd.Timestamp, minutes: int) -> bytes:
    idx = pd.date_range(start, periods=minutes * 60 // 5, freq="5s", name="timestamp")
    rec = pd.DataFrame({"heart_rate_bpm": 70 + 8 * np.sin(np.arange(len(idx)) / 40)}, index=idx)
    sets = [
        {"start_time": start, "duration_s": 600, "category": "hip_stability"},
        {"start_time": start + pd.Timedelta(minutes=10), "duration_s": 300, "category": "calf_raise"},
        {"start_time": start + pd.Timedelta(minutes=15), "duration_s": (minutes - 15) * 60,
         "category": "plank"},
    ]  # fmt: skip
    spec = SessionSpec(sport="training", sub_sport="yoga", records=rec, sets=sets)
    return encode_activity([spec], utc_offset_s=UTC_OFFSET_S)


def _ride_fit(start: pd.Timestamp) -> bytes:
    n = 45 * 60
    idx = pd.date_range(start, periods=n, freq="s", name="timestamp")
    speed = 7.5 + 0.5 * np.sin(np.arange(n) / 300)
    rec = pd.DataFrame({"speed_mps": speed, "distance_m": np.cumsum(speed) - speed[0],
                        "heart_rate_bpm": np.full(n, 128.0)}, index=idx)  # fmt: skip
    return encode_activity([SessionSpec(sport="cycling", sub_sport="road", records=rec)],
                           utc_offset_s=UTC_OFFSET_S)  # fmt: skip


def _log_rows(sessions: pd.DataFrame) -> list[str]:
    rows = []
    for s in sessions.itertuples(index=False):
        local = pd.Timestamp(s.start_time) + pd.Timedelta(seconds=UTC_OFFSET_S)
        rpe = "" if not np.isfinite(s.rpe) else f"{s.rpe:g}"
        rows.append(",".join([local.strftime("%Y-%m-%dT%H:%M"), f"{s.duration_min:g}",
                              ";".join(s.regions), ";".join(s.drills), rpe, ""]))  # fmt: skip
    return rows


def write_sample_season(folder: str | PathLike[str]) -> dict[str, Any]:
    """Write the sample season into ``folder`` and return its manifest.

    Parameters
    ----------
    folder
        Destination (created if needed).

    Returns
    -------
    dict
        ``files``: name -> {"description", "truth"}; ``season``: the season's truth.
    """
    out = Path(folder)
    (out / "watch").mkdir(parents=True, exist_ok=True)
    season = simulate_season(**SAMPLE_SEASON)
    runs = season.runs.reset_index(drop=True)
    files: dict[str, Any] = {}
    for i, row in enumerate(runs.itertuples(index=False)):
        name, extra = _flavour(i, len(runs))
        start = pd.Timestamp(row.start_time)
        sim = simulate_run(start_time=start, duration_s=float(round(row.moving_time_s)),
                           speed_mps=float(row.avg_speed_mps),
                           fatigue_pct=float(row.stride_dropoff_pct),
                           temperature_c=float(round(row.avg_temperature_c, 1)),
                           seed=SAMPLE_SEASON["seed"] * 1000 + i, **extra)  # fmt: skip
        fname = f"watch/{start.strftime('%Y-%m-%d-%H%M')}-run.fit"
        write_run_fit(sim, out / fname, utc_offset_s=UTC_OFFSET_S)
        files[fname] = {"description": f"run, {sim.truth['moving_time_s'] / 60:.0f} min, {name}",
                        "truth": {"stride_dropoff_pct": round(sim.truth["stride_dropoff_pct"], 3),
                                  "moving_time_s": sim.truth["moving_time_s"],
                                  "distance_m": round(sim.truth["distance_m"], 1)}}  # fmt: skip
    sessions = season.sessions.sort_values("start_time").reset_index(drop=True)
    # the watch recorded one yoga session the athlete also typed into the log
    yoga = sessions.iloc[len(sessions) // 2]
    yoga_start = pd.Timestamp(yoga.start_time)
    yoga_name = f"watch/{yoga_start.strftime('%Y-%m-%d-%H%M')}-yoga.fit"
    (out / yoga_name).write_bytes(_yoga_fit(yoga_start, int(round(yoga.duration_min))))
    files[yoga_name] = {"description": "yoga session recorded by the watch (also in the log: "
                        "merged on import)", "truth": {"duration_min": float(yoga.duration_min)}}  # fmt: skip
    ride_start = pd.Timestamp(runs["start_time"].iloc[5]) + pd.Timedelta(days=1, hours=3)
    ride_name = f"watch/{ride_start.strftime('%Y-%m-%d-%H%M')}-ride.fit"
    (out / ride_name).write_bytes(_ride_fit(ride_start))
    files[ride_name] = {"description": "a bike ride: not a run, skipped on import", "truth": {}}
    header = "date,duration_min,focus,drills,rpe,notes"
    bad = [",".join(r[:5]) + f",{r[5]}" for r in BAD_LOG_ROWS]
    lines = [header, *_log_rows(sessions), *bad]
    (out / "mobility_log.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    files["mobility_log.csv"] = {
        "description": (f"hand-kept mobility log: {len(sessions)} sessions and "
                        f"{len(BAD_LOG_ROWS)} imperfect rows the reader reports"),
        "truth": {"sessions": len(sessions), "bad_rows": len(BAD_LOG_ROWS)},
    }  # fmt: skip
    truth = {k: v for k, v in season.truth.items() if isinstance(v, int | float | str)}
    return {"files": files, "season": truth}
