"""Summary rows superseded by files: the sorted-window search agrees with the pairwise rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stridekeeper.library.dedup import superseded_summaries
from stridekeeper.library.importer import (
    SAME_ACTIVITY_DISTANCE_REL,
    SAME_ACTIVITY_START_S,
    SAME_START_EXACT_S,
    _same_activity,
)

KW = {"start_tolerance_s": SAME_ACTIVITY_START_S, "distance_rel": SAME_ACTIVITY_DISTANCE_REL,
      "exact_start_s": SAME_START_EXACT_S}  # fmt: skip


def _table(prefix: str, times: list[str], km: list[float], who: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"run_id": [f"{prefix}{i}" for i in range(len(times))],
                         "athlete": who, "start_time": pd.to_datetime(times, utc=True),
                         "distance_m": np.array(km, dtype=float) * 1000})  # fmt: skip


def test_hand_made_cases() -> None:
    files = _table("f", ["2026-03-02T07:00:00Z", "2026-03-03T07:00:00Z", "2026-03-04T07:00:00Z"],
                   [10.0, 8.0, 12.0], ["me", "me", "coach"])  # fmt: skip
    tol = SAME_ACTIVITY_START_S
    summaries = _table("s", [
        "2026-03-02T07:00:30Z",                                      # same run: start 30 s off
        (pd.Timestamp("2026-03-03T07:00Z") + pd.Timedelta(seconds=tol)).isoformat(),  # at the edge
        (pd.Timestamp("2026-03-03T07:00Z") + pd.Timedelta(seconds=tol + 1)).isoformat(),  # past it
        "2026-03-02T07:00:00Z",                     # same start, other distance: still the same
        "2026-03-04T07:00:00Z",                                      # another athlete's file
    ], [10.01, 8.0, 8.0, 15.0, 12.0], ["me", "me", "me", "me", "me"])  # fmt: skip
    assert superseded_summaries(summaries, files, **KW) == {"s0", "s1", "s3"}


@pytest.mark.parametrize("seed", range(6))
def test_agrees_with_the_pairwise_rule(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_f, n_s = 120, 90
    base = pd.Timestamp("2026-01-01T06:00Z")
    f_t = base + pd.to_timedelta(rng.integers(0, 20 * 86400, n_f), unit="s")
    files = pd.DataFrame({"run_id": [f"f{i}" for i in range(n_f)],
                          "athlete": rng.choice(["a", "b"], n_f),
                          "start_time": f_t,
                          "distance_m": rng.uniform(3000, 20000, n_f)})  # fmt: skip
    files.loc[rng.random(n_f) < 0.1, "distance_m"] = np.nan
    pick = rng.integers(0, n_f, n_s)  # summaries near a file, some jittered past the rules
    jitter = rng.normal(0, SAME_ACTIVITY_START_S, n_s)
    summaries = pd.DataFrame({
        "run_id": [f"s{i}" for i in range(n_s)],
        "athlete": np.where(rng.random(n_s) < 0.85, files["athlete"].to_numpy()[pick], "b"),
        "start_time": pd.DatetimeIndex(files["start_time"].iloc[pick])
        + pd.to_timedelta(jitter, unit="s"),
        "distance_m": files["distance_m"].to_numpy()[pick] * rng.normal(1, 0.03, n_s),
    })  # fmt: skip
    brute = {s["run_id"] for _, s in summaries.iterrows()
             if any(_same_activity(s, f) for _, f in files.iterrows()
                    if f["athlete"] == s["athlete"])}  # fmt: skip
    got = superseded_summaries(summaries, files, **KW)
    assert got == brute
    assert 0 < len(got) < n_s  # the draw exercises both outcomes


def test_empty_inputs() -> None:
    files = _table("f", ["2026-03-02T07:00:00Z"], [10.0], ["me"])
    assert superseded_summaries(files.iloc[:0], files, **KW) == set()
    assert superseded_summaries(files, files.iloc[:0], **KW) == set()


def test_same_activity_id_whatever_the_distance() -> None:
    files = _table("f", ["2026-03-02T07:00:00Z", "2026-03-03T07:00:00Z", "2026-03-04T07:00:00Z"],
                   [10.0, 8.0, 12.0], ["me", "me", "coach"])  # fmt: skip
    files["activity_id"] = ["111", "112", "113"]
    summaries = _table("s", [
        "2026-03-02T08:00:00Z",  # id 111, an hour off (a local date), 10 % longer: the same
        "2026-03-03T09:00:00Z",  # id 999 names no file, and start and distance disagree
        "2026-03-06T07:00:00Z",  # id 112 but three days later: not that file
        "2026-03-04T07:30:00Z",  # id 113 is another athlete's file
    ], [11.0, 9.0, 8.0, 12.0], ["me", "me", "me", "me"])  # fmt: skip
    summaries["activity_id"] = ["111", "999", "112", "113"]
    assert superseded_summaries(summaries, files, **KW, id_start_s=86400.0) == {"s0"}
    # the id rule off: only the start-and-distance rules (none of these rows meets them)
    assert superseded_summaries(summaries, files, **KW) == set()


def test_activity_key_of_rows_and_files() -> None:
    from stridekeeper.library.dedup import activity_key

    assert activity_key({"source": "/x/export_1.zip!activities/4152069421.fit.gz"}) == "4152069421"
    assert activity_key({"source": "export/activities/77.GPX"}) == "77"
    row = {"summary_only": True, "activity_id": "4152069421",
           "linked_file": "activities/4152069421.fit.gz"}  # fmt: skip
    assert activity_key(row) == "4152069421"
    # a row whose file is missing from the export: its id still names the activity
    assert activity_key({"summary_only": True, "activity_id": 55, "linked_file": None}) == "55"
    assert activity_key({"summary_only": True}) is None
