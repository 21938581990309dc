"""The report's 'Your experiment' and 'Which kinds of mobility work' pages.

Computes nothing: words, tables and charts of results computed beforehand.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from ..plots.document import ChartPage, TextPage, TextTablePage


def _next_step(result: Any) -> str:
    itt, plan = result.itt, result.plan
    if result.interim:
        return ("Continue as planned: the result is interim until the plan ends on "
                f"{plan.end}. Don't change the schedule now; that would spoil the test.")  # fmt: skip
    if itt.get("n_pairs", 0) and itt["p_value"] <= plan.alpha:
        return ("Stop here, or repeat the experiment to check the result holds; either way "
                "keep the dose that gave less drop-off.")  # fmt: skip
    m = result.one_more_pair
    if m and m.get("power_next", 0) > m.get("power_now", 0) + 0.1:
        return ("Extend by one pair of blocks (draw it with `stridekeeper plan --replace` from "
                f"the day after {plan.end}): it would raise the chance of a clear answer from "
                f"{100 * m['power_now']:.0f} % to {100 * m['power_next']:.0f} %.")  # fmt: skip
    return ("Stop: another pair would add little. The difference, if any, is smaller than this "
            "design can find; choose the dose you prefer.")  # fmt: skip


def experiment_pages(result: Any, session_dates: Any = ()) -> list[Any]:
    """'Your experiment': the calendar, drop-off per block, the test in words, the next step."""
    if result is None:
        return []
    from ..plots.experiment import plot_experiment_blocks, plot_experiment_calendar

    plan = result.plan
    followed = ("every block followed the plan" if not result.off_plan_blocks else
                f"blocks {', '.join(map(str, result.off_plan_blocks))} did not follow the plan "
                "(the primary analysis still counts them as planned: intention-to-treat)")  # fmt: skip
    words = [
        ("The design", f"{plan.n_pairs} pairs of {plan.block_weeks}-week blocks from "
         f"{plan.start} to {plan.end}, the order in each pair drawn at random (seed "
         f"{plan.seed}); the first {plan.wash_in_days} days of each block are not analysed. "
         f"On: {plan.dose_on}. Off: {plan.dose_off}. Fixed on {plan.created_utc[:10]}."),
        ("The test in plain words", "If mobility work made no difference, which blocks were "
         "'on' would be a coin toss in each pair, so the on-minus-off difference seen would be "
         f"no more extreme than for the other {2**plan.n_pairs - 1} schedules the coin could have "
         "drawn. " + result.conclusion),
        ("Adherence", f"Sessions logged per block against the plan: {followed}."),
        ("Next step", _next_step(result)),
    ]  # fmt: skip
    return [
        TextPage(title="Your experiment", sections=words),
        ChartPage(title="Your experiment: plan, log and drop-off",
                  charts=[partial(plot_experiment_calendar, result, session_dates),
                          partial(plot_experiment_blocks, result)],
                  caption="Top: the plan against the logged sessions. Bottom: mean drop-off of "
                          "the analysed runs of each block."),
    ]  # fmt: skip


_FAMILIES = {"region": "body region", "context": "context", "range_feel": "range feel"}


def _kind_label(kind: str) -> str:
    if kind == "range_feel:trend":
        return "range-feel trend (open minus restricted)"
    family, _, name = str(kind).partition(":")
    return f"{name} ({_FAMILIES.get(family, family)})"


def kinds_pages(done: Any, exploratory: Any = None) -> list[Any]:
    """'Which kinds of mobility work': sessions by region, context and range feel, and the
    exploratory association of each kind with drop-off (p adjusted across every kind)."""
    if done is None or not len(done):
        return []
    from ..plots.mobility import plot_kinds_done

    pages: list[Any] = [ChartPage(
        title="Which kinds of mobility work", charts=[lambda ax: plot_kinds_done(done, ax=ax)],
        caption="Sessions of each kind in the period: body regions (a session with two counts "
                "in both), when it was done (context) and how open the ranges felt, as logged.",
    )]  # fmt: skip
    if exploratory is not None and len(exploratory):
        import pandas as pd

        table = pd.DataFrame({
            "kind": [_kind_label(k) for k in exploratory["kind"]],
            "sessions": [f"{int(n)}" for n in exploratory["sessions"]],
            "runs": [f"{int(n)}" for n in exploratory["n_runs"]],
            "rho": [f"{r:+.2f}" for r in exploratory["rho"]],
            "p": [f"{p:.3f}" for p in exploratory["p_value"]],
            "p adjusted": [f"{q:.3f}" for q in exploratory["p_adjusted"]],
        })  # fmt: skip
        pages.append(TextTablePage(
            title="Which kinds of mobility work: exploratory", table=table,
            intro=("Each kind done at least 3 times: Spearman's rho between its sessions per "
                   "week in the 14 days before a run and that run's drop-off (negative = less "
                   "drop-off after more of it), with a circular-shift permutation p-value, "
                   "adjusted across every kind tried (Benjamini-Hochberg). The range-feel "
                   "trend is the share of those days' sessions that felt open minus the share "
                   "that felt restricted (-1 to +1; negative rho = less drop-off when ranges "
                   "felt more open), over the runs with a felt session before them; it is "
                   "adjusted with the kinds. Exploratory: many "
                   "kinds are tried, so a small p here is a lead to test with a planned "
                   "experiment (`stridekeeper plan`), not a finding. Sessions: every one "
                   "logged, also before the period (they count towards its first runs)."),
        ))  # fmt: skip
    return pages
