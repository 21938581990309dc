"""The report's 'Your experiment' pages (computes nothing: words and charts of a result)."""

from __future__ import annotations

from functools import partial
from typing import Any

from ..plots.document import ChartPage, TextPage


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
