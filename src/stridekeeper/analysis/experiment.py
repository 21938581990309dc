"""A planned N-of-1 mobility experiment: design, exact randomisation test, adherence.

Design (Edgington & Onghena's randomised block design for one person): the season is cut into
blocks of ``block_weeks`` weeks, grouped in consecutive *pairs*; in each pair one block is
"on" (the planned mobility dose) and one "off", the order drawn at random. The first
``wash_in_days`` of each block are not analysed (the change needs time to act or wear off).

Analysis (fixed when the plan is made): outcome ``stride_dropoff_pct``; per block the mean
drop-off of the analysed runs; per pair ``d = mean(on) - mean(off)``; statistic ``T = mean(d)``;
p-value = share of the ``2**pairs`` schedules the design could have produced (every pair's
order flipped or not) whose ``|T|`` is at least the observed one (exact, two-sided). Under no
effect, this test rejects at most ``alpha`` of the time whatever the season trend, load cycle or
autocorrelation, because the schedule was random. The interval is the set of constant effects
the same test does not reject (test inversion). Negative ``T`` = less drop-off with mobility.

Everything here is pure: tables in, tables and dataclasses out.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "Block",
    "ExperimentPlan",
    "ExperimentResult",
    "analyze_experiment",
    "exact_randomization_test",
    "make_plan",
    "parse_dose",
    "plan_to_csv",
    "plan_to_ics",
    "power_experiment",
    "runs_needed_per_block",
]

OUTCOME = "stride_dropoff_pct"
ANALYSIS = (
    "exact randomisation test over all 2^pairs schedules of the balanced-pair design; "
    "statistic: mean over pairs of (mean drop-off of on block - mean drop-off of off block), "
    "two-sided; interval by inverting the test; intention-to-treat primary, per-protocol check"
)
#: Run-to-run SD of drop-off used when the library has too few runs. [% points]
DEFAULT_SD_PCT = 2.0
#: A block mean's own wander beyond its runs' scatter, as a share of the run-to-run SD, when
#: the library holds too short a season to measure it (:func:`block_noise_pct`; seasons of
#: the experiment simulator, with a 4-week training cycle, a trend and autocorrelated runs,
#: measure 0.8 for 1-week and 1.0 for 2-week blocks).
DEFAULT_BLOCK_SD_FRACTION = 0.75
#: Smallest on-off difference worth detecting, the default target of the power figure. [% points]
DEFAULT_EFFECT_PCT = 2.0


@dataclass(frozen=True)
class Block:
    """One block of the plan. Dates are local calendar dates; ``end`` is inclusive."""

    index: int
    pair: int
    condition: str  # "on" or "off"
    start: date
    end: date
    analysed_from: date  # first day after the wash-in

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("start", "end", "analysed_from"):
            d[k] = d[k].isoformat()
        return d


@dataclass(frozen=True)
class ExperimentPlan:
    """A fixed experiment: schedule, outcome, analysis and rules, dated when made."""

    created_utc: str
    start: date
    weeks: int
    block_weeks: int
    wash_in_days: int
    dose_on: str
    dose_off: str
    sessions_per_week_on: float
    sessions_per_week_off: float
    seed: int
    blocks: tuple[Block, ...]
    outcome: str = OUTCOME
    analysis: str = ANALYSIS
    alpha: float = 0.05
    min_runs_per_block: int = 1
    sd_pct: float = DEFAULT_SD_PCT
    sd_source: str = "default"
    block_sd_pct: float = 0.0
    block_sd_source: str = "default"
    runs_per_week: float = 3.5
    effect_pct: float = DEFAULT_EFFECT_PCT
    runs_needed_per_block: int | None = None
    power_at_plan: float = float("nan")
    pairs_needed: int | None = None

    @property
    def n_pairs(self) -> int:
        return len(self.blocks) // 2

    @property
    def end(self) -> date:
        return self.blocks[-1].end

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["start"] = self.start.isoformat()
        d["end"] = self.end.isoformat()
        d["blocks"] = [b.to_dict() for b in self.blocks]
        d["power_at_plan"] = None if not math.isfinite(self.power_at_plan) else self.power_at_plan
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ExperimentPlan:
        kw = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        kw["start"] = date.fromisoformat(d["start"])
        kw["blocks"] = tuple(
            Block(
                index=b["index"],
                pair=b["pair"],
                condition=b["condition"],
                start=date.fromisoformat(b["start"]),
                end=date.fromisoformat(b["end"]),
                analysed_from=date.fromisoformat(b["analysed_from"]),
            )
            for b in d["blocks"]
        )
        if kw.get("power_at_plan") is None:
            kw["power_at_plan"] = float("nan")
        return cls(**kw)


def parse_dose(text: str) -> float:
    """Sessions per week of a dose written like ``"4 sessions/week, 10 min, hips+ankles"``.

    ``"none"`` (or an empty text) is 0; ``"daily"`` is 7; otherwise the first number before
    ``session``/``x``/``per week``, or the first number at all.

    Raises
    ------
    ValueError
        No number of sessions can be read.
    """
    t = text.strip().lower()
    if t in ("", "none", "no", "0", "nothing", "rest"):
        return 0.0
    if t.startswith("daily") or "every day" in t:
        return 7.0
    m = re.search(r"(\d+(?:\.\d+)?)\s*(?:x|×|sessions?|times?|/\s*w|per\s*week)", t)
    if m is None:
        m = re.match(r"\s*(\d+(?:\.\d+)?)", t)
    if m is None:
        raise ValueError(
            f"can't read sessions per week from {text!r}; write e.g. '4 sessions/week, 10 min'"
        )
    return float(m.group(1))


# --------------------------------------------------------------------------------------------
# the test
# --------------------------------------------------------------------------------------------
def _signs(n_pairs: int) -> np.ndarray:
    """All 2^n sign patterns, shape (2^n, n)."""
    return np.array(list(itertools.product((1.0, -1.0), repeat=n_pairs)))


def exact_randomization_test(diffs: Any, *, alpha: float = 0.05) -> dict[str, float]:
    """Exact two-sided randomisation test of balanced pairs and its inverted interval.

    Parameters
    ----------
    diffs
        Per pair, mean drop-off of the on block minus that of the off block. [% points]
    alpha
        Level of the test and 1 - coverage of the interval.

    Returns
    -------
    dict
        ``estimate_pct`` (mean of ``diffs``), ``p_value`` (share of the 2^n schedules with
        ``|T| >= |T_obs|``), ``min_p`` (the smallest p this many pairs can give: 2 / 2^n),
        ``ci_low_pct``/``ci_high_pct`` (constant effects not rejected at ``alpha``; NaN
        bounds when even the most extreme schedule can't reach ``alpha``), ``n_pairs``.
    """
    d = np.asarray(diffs, dtype=float)
    d = d[np.isfinite(d)]
    n = len(d)
    nan = float("nan")
    if n == 0:
        return {"estimate_pct": nan, "p_value": nan, "min_p": nan, "ci_low_pct": nan,
                "ci_high_pct": nan, "n_pairs": 0}  # fmt: skip
    signs = _signs(n)
    t_obs = float(d.mean())
    tol = 1e-9 * max(1.0, float(np.abs(d).max()))
    p = float(np.mean(np.abs(signs @ d / n) >= abs(t_obs) - tol))
    min_p = 2.0 / 2**n
    lo = hi = nan
    if min_p <= alpha:
        spread = float(np.ptp(d)) + float(np.abs(d).max()) + 1.0
        grid = np.linspace(t_obs - 3 * spread, t_obs + 3 * spread, 4001)
        shifted = d[None, :] - grid[:, None]  # (grid, n)
        t = shifted.mean(axis=1)
        dist = np.abs(shifted @ signs.T / n)  # (grid, 2^n)
        pg = np.mean(dist >= np.abs(t)[:, None] - tol, axis=1)
        keep = grid[pg > alpha]
        if len(keep):
            lo, hi = float(keep.min()), float(keep.max())
    return {"estimate_pct": t_obs, "p_value": p, "min_p": min_p, "ci_low_pct": lo,
            "ci_high_pct": hi, "n_pairs": n}  # fmt: skip


def block_noise_pct(
    runs: pd.DataFrame, *, block_weeks: int, wash_in_days: int, min_pairs: int = 4
) -> tuple[float, float, int] | None:
    """How much a past season's block means wander: the noise a plan's power must face.

    The season's runs are cut into consecutive blocks as a plan would cut them (weeks from
    the first Monday, the wash-in days left out) and adjacent blocks paired. Runs within a
    block scatter by the run-to-run SD; block means move beyond that by the season's
    autocorrelation, training cycles and trend, which a power from runs treated as
    independent leaves out (it promised 67-75 % where simulated athletes reached 26-29 %).

    Parameters
    ----------
    runs
        Past runs with ``start_time`` (UTC; local dates from ``utc_offset_s`` when present)
        and ``stride_dropoff_pct``.
    block_weeks, wash_in_days
        As in :func:`make_plan`.
    min_pairs
        Fewest pairs of blocks with runs needed for an estimate.

    Returns
    -------
    (float, float, int) or None
        Run SD within blocks [% points], SD of a block's mean beyond it [% points] (from
        the pairs' mean squared difference, so a trend counts, as it does against a random
        order), pairs used; None with fewer than ``min_pairs`` pairs or no block of two runs.
    """
    if not len(runs) or "stride_dropoff_pct" not in runs.columns:
        return None
    y = pd.to_numeric(runs["stride_dropoff_pct"], errors="coerce").to_numpy(dtype=float)
    days = _local_dates(runs)
    ok = np.isfinite(y) & days.notna().to_numpy()
    if ok.sum() < 2 * min_pairs:
        return None
    y, days = y[ok], days[ok]
    first = min(days)
    origin = first - timedelta(days=first.weekday())
    offset = np.array([(d - origin).days for d in days])
    block = offset // (7 * block_weeks)
    analysed = offset - block * 7 * block_weeks >= wash_in_days
    means: dict[int, tuple[float, int]] = {}
    ss, dof = 0.0, 0
    for b in np.unique(block[analysed]):
        v = y[analysed & (block == b)]
        means[int(b)] = (float(v.mean()), len(v))
        ss += float(((v - v.mean()) ** 2).sum())
        dof += len(v) - 1
    pairs = [(means[b], means[b + 1]) for b in means if b % 2 == 0 and b + 1 in means]
    if len(pairs) < min_pairs or dof < 1:
        return None
    sd_within = math.sqrt(ss / dof)
    d2 = float(np.mean([(a[0] - b[0]) ** 2 for a, b in pairs]))
    inv_r = float(np.mean([(1.0 / a[1] + 1.0 / b[1]) / 2.0 for a, b in pairs]))
    block_var = max(0.0, d2 / 2.0 - sd_within**2 * inv_r)
    return sd_within, math.sqrt(block_var), len(pairs)


def power_experiment(
    effect_pct: float,
    *,
    n_pairs: int,
    runs_per_block: float,
    sd_pct: float = DEFAULT_SD_PCT,
    block_sd_pct: float = 0.0,
    alpha: float = 0.05,
    n_sim: int = 2000,
    seed: int = 0,
) -> float:
    """Chance the test finds an on-off difference of ``effect_pct`` (right sign, p <= alpha).

    Block means are simulated as normal with variance ``sd_pct**2 / runs_per_block +
    block_sd_pct**2`` (run-to-run scatter plus the block mean's own wander,
    :func:`block_noise_pct`); the effect lowers drop-off in on blocks (a positive
    ``effect_pct`` means mobility helps).
    """
    if n_pairs < 1 or runs_per_block <= 0:
        return 0.0
    if 2.0 / 2**n_pairs > alpha:
        return 0.0
    rng = np.random.default_rng(seed)
    d = rng.normal(-effect_pct, _pair_sd(sd_pct, runs_per_block, block_sd_pct),
                   size=(n_sim, n_pairs))  # fmt: skip
    t_obs = d.mean(axis=1)
    p = np.empty(n_sim)
    step = max(1, 2**22 // 2**n_pairs)  # simulations at a time: memory stays bounded
    for a in range(0, n_sim, step):
        # every schedule's sum, doubled one pair at a time (2^n additions, not n 2^n)
        sums = np.zeros((len(d[a : a + step]), 1))
        for j in range(n_pairs):
            col = d[a : a + step, j : j + 1]
            sums = np.concatenate([sums + col, sums - col], axis=1)
        dist = np.abs(sums) / n_pairs
        p[a : a + step] = np.mean(dist >= np.abs(t_obs[a : a + step])[:, None] - 1e-12, axis=1)
    return float(np.mean((p <= alpha) & (t_obs < 0)))


def _pair_sd(sd_pct: float, runs_per_block: float, block_sd_pct: float) -> float:
    """SD of one pair's on - off difference: two block means, each its runs' scatter over
    their number plus the block's own wander. [% points]"""
    return math.sqrt(2.0 * (sd_pct**2 / runs_per_block + block_sd_pct**2))


def runs_needed_per_block(
    effect_pct: float,
    *,
    n_pairs: int,
    sd_pct: float = DEFAULT_SD_PCT,
    block_sd_pct: float = 0.0,
    alpha: float = 0.05,
    power: float = 0.8,
    max_runs: int = 60,
) -> int | None:
    """Fewest analysed runs per block giving ``power``; None when not reachable by ``max_runs``
    (more runs shrink only the run-to-run part of a block mean's noise)."""
    if 2.0 / 2**n_pairs > alpha:
        return None
    if power_experiment(effect_pct, n_pairs=n_pairs, runs_per_block=max_runs, sd_pct=sd_pct,
                        block_sd_pct=block_sd_pct, alpha=alpha, n_sim=1000) < power:  # fmt: skip
        return None
    for n in range(1, max_runs + 1):
        if power_experiment(effect_pct, n_pairs=n_pairs, runs_per_block=n, sd_pct=sd_pct,
                            block_sd_pct=block_sd_pct, alpha=alpha, n_sim=1000) >= power:  # fmt: skip
            return n
    return None


def pairs_needed(
    effect_pct: float,
    *,
    runs_per_block: float,
    sd_pct: float = DEFAULT_SD_PCT,
    block_sd_pct: float = 0.0,
    alpha: float = 0.05,
    power: float = 0.8,
    max_pairs: int = 40,
) -> int | None:
    """Fewest pairs giving ``power`` at ``runs_per_block``; None when not reachable by
    ``max_pairs``."""
    for n in range(1, max_pairs + 1):
        if 2.0 / 2**n > alpha:
            continue
        if n > 16:  # 2^n schedules: beyond 16 pairs the normal approximation of the test
            se = _pair_sd(sd_pct, runs_per_block, block_sd_pct) / math.sqrt(n)
            z = NormalDist()
            if z.cdf(effect_pct / se - z.inv_cdf(1 - alpha / 2)) >= power:
                return n
            continue
        if power_experiment(effect_pct, n_pairs=n, runs_per_block=runs_per_block,
                            sd_pct=sd_pct, block_sd_pct=block_sd_pct, alpha=alpha,
                            n_sim=1000) >= power:  # fmt: skip
            return n
    return None


# --------------------------------------------------------------------------------------------
# the plan
# --------------------------------------------------------------------------------------------
def make_plan(
    *,
    start: date,
    weeks: int = 12,
    block_weeks: int = 2,
    wash_in_days: int = 7,
    dose_on: str = "4 sessions/week, 10 min, hips+ankles",
    dose_off: str = "none",
    seed: int | None = None,
    created: datetime | None = None,
    sd_pct: float | None = None,
    block_sd_pct: float | None = None,
    runs_per_week: float | None = None,
    effect_pct: float = DEFAULT_EFFECT_PCT,
    min_runs_per_block: int = 1,
    alpha: float = 0.05,
    with_power: bool = True,
) -> ExperimentPlan:
    """Draw a balanced-pair block schedule and fix its analysis.

    Parameters
    ----------
    start
        First day of the first block (local date).
    weeks, block_weeks
        Length of the experiment and of one block [weeks]; ``weeks`` must be a multiple of
        ``2 * block_weeks`` (whole pairs).
    wash_in_days
        Days at the start of each block whose runs are not analysed. [days]
    dose_on, dose_off
        The two conditions in words; sessions per week are read by :func:`parse_dose`.
    seed
        Random seed of the schedule (None: fresh randomness; the drawn seed is stored).
    sd_pct, runs_per_week
        The athlete's run-to-run SD of drop-off [% points] and runs per week; None: defaults.
    block_sd_pct
        SD of a block mean beyond its runs' scatter (:func:`block_noise_pct`) [% points];
        None: :data:`DEFAULT_BLOCK_SD_FRACTION` x the run-to-run SD.
    effect_pct
        On-off difference the power figure is for. [% points]
    with_power
        Compute the runs needed and the power (a short simulation; off for validation).

    Raises
    ------
    ValueError
        Lengths that don't make whole pairs, a wash-in as long as a block, unreadable doses.
    """
    if block_weeks < 1 or weeks < 2 * block_weeks or weeks % (2 * block_weeks):
        raise ValueError(
            f"--weeks ({weeks}) must be a positive multiple of 2 x --block-weeks "
            f"({2 * block_weeks}): the blocks come in on/off pairs"
        )
    if not 0 <= wash_in_days < 7 * block_weeks:
        raise ValueError(
            f"--wash-in-days must be from 0 to {7 * block_weeks - 1} (shorter than a block)"
        )
    on, off = parse_dose(dose_on), parse_dose(dose_off)
    if on <= off:
        raise ValueError(f"the on dose ({on:g} sessions/week) must exceed the off dose ({off:g})")
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**31))
    rng = np.random.default_rng(seed)
    n_pairs = weeks // (2 * block_weeks)
    blocks: list[Block] = []
    for pair in range(n_pairs):
        order = ("on", "off") if rng.random() < 0.5 else ("off", "on")
        for cond in order:
            i = len(blocks)
            b_start = start + timedelta(days=7 * block_weeks * i)
            blocks.append(Block(index=i + 1, pair=pair + 1, condition=cond, start=b_start,
                                end=b_start + timedelta(days=7 * block_weeks - 1),
                                analysed_from=b_start + timedelta(days=wash_in_days)))  # fmt: skip
    sd_source = "default" if sd_pct is None else "library"
    sd = DEFAULT_SD_PCT if sd_pct is None else float(sd_pct)
    tau = DEFAULT_BLOCK_SD_FRACTION * sd if block_sd_pct is None else float(block_sd_pct)
    rpw = 3.5 if runs_per_week is None else float(runs_per_week)
    analysed_weeks = (7 * block_weeks - wash_in_days) / 7
    needed, n_needed, pw = None, None, float("nan")
    if with_power:
        needed = runs_needed_per_block(effect_pct, n_pairs=n_pairs, sd_pct=sd,
                                       block_sd_pct=tau, alpha=alpha)  # fmt: skip
        per_block = max(1.0, rpw * analysed_weeks)
        pw = power_experiment(effect_pct, n_pairs=n_pairs, runs_per_block=per_block,
                              sd_pct=sd, block_sd_pct=tau, alpha=alpha)  # fmt: skip
        n_needed = pairs_needed(effect_pct, runs_per_block=per_block, sd_pct=sd,
                                block_sd_pct=tau, alpha=alpha)  # fmt: skip
    created = created or datetime.now().astimezone()
    return ExperimentPlan(
        created_utc=pd.Timestamp(created).tz_convert("UTC").isoformat(),
        start=start, weeks=weeks, block_weeks=block_weeks, wash_in_days=wash_in_days,
        dose_on=dose_on, dose_off=dose_off, sessions_per_week_on=on, sessions_per_week_off=off,
        seed=seed, blocks=tuple(blocks), alpha=alpha, min_runs_per_block=min_runs_per_block,
        sd_pct=sd, sd_source=sd_source, block_sd_pct=tau,
        block_sd_source="default" if block_sd_pct is None else "library",
        runs_per_week=rpw, effect_pct=effect_pct,
        runs_needed_per_block=needed, power_at_plan=pw, pairs_needed=n_needed,
    )  # fmt: skip


def plan_to_csv(plan: ExperimentPlan) -> str:
    """The schedule as CSV text (one row per block)."""
    rows = []
    for b in plan.blocks:
        dose = plan.dose_on if b.condition == "on" else plan.dose_off
        rows.append({"block": b.index, "pair": b.pair, "condition": b.condition,
                     "start_date": b.start.isoformat(), "end_date": b.end.isoformat(),
                     "analysed_from": b.analysed_from.isoformat(), "dose": dose})  # fmt: skip
    return pd.DataFrame(rows).to_csv(index=False, lineterminator="\n")


def _ics_escape(text: str) -> str:
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\n", "\\n"))  # fmt: skip


def _ics_fold(line: str) -> list[str]:
    """RFC 5545 3.1: lines of at most 75 octets, continuation lines start with a space."""
    out: list[str] = []
    data = line.encode("utf-8")
    limit = 75
    while len(data) > limit:
        cut = limit
        while cut > 0 and (data[cut] & 0xC0) == 0x80:  # don't split a UTF-8 character
            cut -= 1
        out.append(data[:cut].decode("utf-8"))
        data = b" " + data[cut:]
        limit = 75
    out.append(data.decode("utf-8"))
    return out


def plan_to_ics(plan: ExperimentPlan) -> str:
    """The schedule as an iCalendar file: one all-day event per block, CRLF line endings."""
    stamp = pd.Timestamp(plan.created_utc).strftime("%Y%m%dT%H%M%SZ")
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//stridekeeper//experiment plan//EN",
             "CALSCALE:GREGORIAN", "METHOD:PUBLISH"]  # fmt: skip
    n = len(plan.blocks)
    for b in plan.blocks:
        dose = plan.dose_on if b.condition == "on" else plan.dose_off
        label = "Mobility ON" if b.condition == "on" else "Mobility OFF"
        desc = (f"Block {b.index} of {n} (pair {b.pair}): {dose}. Runs from "
                f"{b.analysed_from.isoformat()} count (the first {plan.wash_in_days} days are "
                "wash-in). Log each session: stridekeeper log MINUTES REGIONS")  # fmt: skip
        lines += [
            "BEGIN:VEVENT",
            f"UID:stridekeeper-{plan.seed}-{plan.start.isoformat()}-block{b.index}@stridekeeper",
            f"DTSTAMP:{stamp}",
            f"DTSTART;VALUE=DATE:{b.start.strftime('%Y%m%d')}",
            f"DTEND;VALUE=DATE:{(b.end + timedelta(days=1)).strftime('%Y%m%d')}",
            f"SUMMARY:{_ics_escape(f'{label}: {dose}')}",
            f"DESCRIPTION:{_ics_escape(desc)}",
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(part + "\r\n" for line in lines for part in _ics_fold(line))


# --------------------------------------------------------------------------------------------
# evaluating the plan
# --------------------------------------------------------------------------------------------
@dataclass
class ExperimentResult:
    """What :func:`analyze_experiment` found (see :meth:`to_text`)."""

    plan: ExperimentPlan
    as_of: date
    interim: bool
    blocks: pd.DataFrame
    itt: dict[str, float]
    per_protocol: dict[str, float]
    off_plan_blocks: list[int]
    one_more_pair: dict[str, float]
    conclusion: str
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        def clean(v: Any) -> Any:
            if isinstance(v, float) and not math.isfinite(v):
                return None
            if isinstance(v, np.generic):
                return clean(v.item())
            if isinstance(v, date):
                return v.isoformat()
            return v

        blocks = [{k: clean(v) for k, v in r.items()} for r in self.blocks.to_dict("records")]
        return {
            "as_of": self.as_of.isoformat(), "interim": self.interim,
            "plan": self.plan.to_dict(), "blocks": blocks,
            "intention_to_treat": {k: clean(v) for k, v in self.itt.items()},
            "per_protocol": {k: clean(v) for k, v in self.per_protocol.items()},
            "off_plan_blocks": self.off_plan_blocks,
            "one_more_pair": {k: clean(v) for k, v in self.one_more_pair.items()},
            "conclusion": self.conclusion, "notes": list(self.notes),
        }  # fmt: skip

    def to_text(self) -> str:
        p = self.plan
        head = "INTERIM (so far) " if self.interim else ""
        out = [f"{head}Mobility experiment {p.start} to {p.end} ({p.n_pairs} pairs of "
               f"{p.block_weeks}-week blocks, wash-in {p.wash_in_days} days), as of {self.as_of}",
               "", f"  {'block':>5} {'pair':>4} {'cond':4} {'dates':23} {'sessions/wk':>11} "
               f"{'plan':>5} {'runs':>4} {'drop-off %':>10}  note"]  # fmt: skip
        for r in self.blocks.to_dict("records"):
            drop = "-" if not np.isfinite(r["mean_dropoff_pct"]) else f"{r['mean_dropoff_pct']:.2f}"
            note = r["note"]
            out.append(f"  {r['block']:>5} {r['pair']:>4} {r['condition']:4} "
                       f"{r['start_date']} - {r['end_date']} {r['sessions_per_week']:>11.1f} "
                       f"{r['planned_per_week']:>5g} {r['runs']:>4} {drop:>10}  {note}")  # fmt: skip
        out += ["", self.conclusion]
        pp = self.per_protocol
        if self.off_plan_blocks:
            out.append(f"Blocks off plan: {', '.join(map(str, self.off_plan_blocks))}. "
                       + (f"Per-protocol check ({pp['n_pairs']} pairs): on - off "
                          f"{_pct(pp['estimate_pct'])}, p = {_p(pp['p_value'])}"
                          + (f" ({pp['n_pairs']} pairs can never give p < {self.plan.alpha:g}: "
                             f"the smallest possible is {_p(pp['min_p'])})"
                             if pp["min_p"] > self.plan.alpha else "") + "."
                          if pp.get("n_pairs") else "Per-protocol check: no complete pair left."))  # fmt: skip
        else:
            out.append("Every block followed the plan (per-protocol = intention-to-treat).")
        m = self.one_more_pair
        if m:
            out.append(f"Another pair of blocks: smallest possible p {_p(m['min_p_now'])} -> "
                       f"{_p(m['min_p_next'])}; if the true difference is what was seen so far, "
                       f"chance of a clear result {100 * m['power_now']:.0f} % -> "
                       f"{100 * m['power_next']:.0f} %.")  # fmt: skip
        out += self.notes
        return "\n".join(out)


def _pct(v: float) -> str:
    return "-" if not np.isfinite(v) else f"{v:+.2f} % points"


def _p(v: float) -> str:
    return "-" if not np.isfinite(v) else f"{v:.3f}"


def _local_dates(frame: pd.DataFrame, col: str = "start_time") -> pd.Series:
    if "local_date" in frame.columns:
        return pd.Series([pd.Timestamp(d).date() for d in frame["local_date"]], index=frame.index)
    ts = pd.to_datetime(frame[col], utc=True)
    if "utc_offset_s" in frame.columns:
        off = pd.to_timedelta(pd.to_numeric(frame["utc_offset_s"], errors="coerce").fillna(0), "s")
        ts = ts + off
    return pd.Series([t.date() for t in ts], index=frame.index)


def block_table(plan: ExperimentPlan, runs: pd.DataFrame, sessions: pd.DataFrame,
                as_of: date) -> pd.DataFrame:  # fmt: skip
    """Per block: runs analysed, mean drop-off, sessions logged per week, on plan or not."""
    run_days = _local_dates(runs) if len(runs) else pd.Series([], dtype=object)
    ses_days = _local_dates(sessions) if len(sessions) else pd.Series([], dtype=object)
    rows = []
    for b in plan.blocks:
        planned = plan.sessions_per_week_on if b.condition == "on" else plan.sessions_per_week_off
        other = plan.sessions_per_week_off if b.condition == "on" else plan.sessions_per_week_on
        last = min(b.end, as_of)
        started = as_of >= b.start
        in_r = (run_days >= b.analysed_from) & (run_days <= last) if len(runs) else []
        drop = (pd.to_numeric(runs.loc[in_r, OUTCOME], errors="coerce").dropna()
                if len(runs) else pd.Series([], dtype=float))  # fmt: skip
        n_days = (last - b.start).days + 1 if started else 0
        n_ses = int(((ses_days >= b.start) & (ses_days <= last)).sum()) if len(sessions) else 0
        per_week = 7.0 * n_ses / n_days if n_days > 0 else float("nan")
        complete = as_of >= b.end
        on_plan = (abs(per_week - planned) <= abs(per_week - other)) if n_days >= 7 else True
        note = []
        if not started:
            note.append("not started")
        elif not complete:
            note.append("in progress")
        if n_days >= 7 and not on_plan:
            note.append("OFF PLAN")
        if started and len(drop) < plan.min_runs_per_block and as_of >= b.analysed_from:
            note.append(f"< {plan.min_runs_per_block} runs")
        rows.append({"block": b.index, "pair": b.pair, "condition": b.condition,
                     "start_date": b.start, "end_date": b.end, "complete": complete,
                     "sessions": n_ses, "sessions_per_week": per_week,
                     "planned_per_week": planned, "on_plan": bool(on_plan),
                     "runs": int(len(drop)),
                     "mean_dropoff_pct": float(drop.mean()) if len(drop) else float("nan"),
                     "note": ", ".join(note)})  # fmt: skip
    return pd.DataFrame(rows)


def _pair_diffs(blocks: pd.DataFrame, min_runs: int, *, per_protocol: bool) -> np.ndarray:
    out = []
    for _, g in blocks.groupby("pair"):
        if len(g) != 2 or not g["complete"].all() or (g["runs"] < min_runs).any():
            continue
        if per_protocol and not g["on_plan"].all():
            continue
        on = g.loc[g["condition"] == "on", "mean_dropoff_pct"].iloc[0]
        off = g.loc[g["condition"] == "off", "mean_dropoff_pct"].iloc[0]
        out.append(on - off)
    return np.asarray(out, dtype=float)


def analyze_experiment(
    plan: ExperimentPlan,
    runs: pd.DataFrame,
    sessions: pd.DataFrame,
    *,
    as_of: date | None = None,
    seed: int = 0,
    what_if: bool = True,
) -> ExperimentResult:
    """Evaluate a plan on the runs and the log so far.

    Parameters
    ----------
    plan
        The stored plan.
    runs
        Run table with ``start_time`` (UTC), ``stride_dropoff_pct`` and optionally
        ``utc_offset_s`` (local dates come from it).
    sessions
        Mobility sessions with ``local_date`` or ``start_time``.
    as_of
        The day of the analysis (default today); before the plan's end the result is interim.

    Returns
    -------
    ExperimentResult
        The intention-to-treat test (every complete pair as planned), the per-protocol check
        (pairs whose blocks both followed the plan), adherence per block, what one more pair
        would add, and a conclusion in words that says *interim* before the planned end.
    """
    as_of = as_of or date.today()
    blocks = block_table(plan, runs, sessions, as_of)
    interim = as_of < plan.end
    itt = exact_randomization_test(
        _pair_diffs(blocks, plan.min_runs_per_block, per_protocol=False), alpha=plan.alpha
    )
    pp = exact_randomization_test(
        _pair_diffs(blocks, plan.min_runs_per_block, per_protocol=True), alpha=plan.alpha
    )
    off_plan = [int(b) for b in blocks.loc[~blocks["on_plan"], "block"]]
    d = _pair_diffs(blocks, plan.min_runs_per_block, per_protocol=False)
    n = len(d)
    more: dict[str, float] = {}
    if n >= 1 and what_if:
        sd_d = float(np.std(d, ddof=1)) if n >= 2 else plan.sd_pct * math.sqrt(2 / 3.5)
        sd_d = max(sd_d, 1e-6)
        r = max(1.0, float(blocks.loc[blocks["complete"], "runs"].mean()))
        sd_run = sd_d * math.sqrt(r / 2)
        eff = -float(np.mean(d))
        more = {"min_p_now": 2 / 2**n, "min_p_next": 2 / 2 ** (n + 1),
                "power_now": power_experiment(eff, n_pairs=n, runs_per_block=r, sd_pct=sd_run,
                                              alpha=plan.alpha, n_sim=1000, seed=seed),
                "power_next": power_experiment(eff, n_pairs=n + 1, runs_per_block=r,
                                               sd_pct=sd_run, alpha=plan.alpha, n_sim=1000,
                                               seed=seed)}  # fmt: skip
    conclusion = _conclusion(plan, itt, n_complete=n, interim=interim)
    notes = [f"Primary outcome {plan.outcome}, analysis fixed on {plan.created_utc[:10]}: "
             "exact randomisation test over the 2^pairs schedules the plan could have drawn."]  # fmt: skip
    return ExperimentResult(plan=plan, as_of=as_of, interim=interim, blocks=blocks, itt=itt,
                            per_protocol=pp, off_plan_blocks=off_plan, one_more_pair=more,
                            conclusion=conclusion, notes=notes)  # fmt: skip


def _conclusion(plan: ExperimentPlan, itt: dict[str, float], *, n_complete: int,
                interim: bool) -> str:  # fmt: skip
    if n_complete == 0:
        msg = "No complete pair of blocks yet: nothing to test."
        return ("INTERIM: " + msg) if interim else msg
    est, p = itt["estimate_pct"], itt["p_value"]
    lo, hi = itt["ci_low_pct"], itt["ci_high_pct"]
    conf = 100 * (1 - plan.alpha)
    ci = (f"{conf:.0f} % interval {lo:+.2f} to {hi:+.2f}" if np.isfinite(lo)
          else f"no {conf:.0f} % interval yet: {n_complete} pair(s) can't reach p < {plan.alpha:g} "
               f"(smallest possible p {itt['min_p']:.3f})")  # fmt: skip
    side = "less" if est < 0 else "more"
    base = (f"On - off difference in drop-off {est:+.2f} % points ({side} drop-off with "
            f"mobility), {ci}; randomisation p = {p:.3f} over {2**n_complete} schedules "
            f"({n_complete} complete pair(s)).")  # fmt: skip
    if interim:
        return ("INTERIM, not a result: the plan ends on " f"{plan.end}; "
                f"{n_complete} of {plan.n_pairs} pairs done. " + base)  # fmt: skip
    if p <= plan.alpha:
        verdict = f"Mobility work as planned changed your late-run drop-off: {side} with it."
    else:
        verdict = (
            "No detectable difference between the on and off blocks (this does not "
            "show there is none: see the interval)."
        )
    return verdict + " " + base
