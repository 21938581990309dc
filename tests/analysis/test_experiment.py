"""The N-of-1 experiment: design, exact randomisation test, adherence, interim wording."""

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from stridekeeper.analysis.experiment import (
    ExperimentPlan,
    analyze_experiment,
    block_noise_pct,
    exact_randomization_test,
    make_plan,
    parse_dose,
    plan_to_csv,
    plan_to_ics,
    power_experiment,
)
from stridekeeper.synth.experiment import simulate_experiment

START = date(2027, 1, 4)


def test_exact_test_hand_computed():
    r = exact_randomization_test([-1, -2, -1.5, -0.5, -1, -2])
    assert r["estimate_pct"] == pytest.approx(-8 / 6)
    assert r["p_value"] == pytest.approx(2 / 64)  # only the observed schedule and its mirror
    assert r["min_p"] == pytest.approx(2 / 64)
    assert r["ci_low_pct"] < -8 / 6 < r["ci_high_pct"] < 0
    # 3 pairs: sums over the 8 sign patterns are 2,4,0,2,-2,0,-4,-2 -> 6 of 8 reach |2|
    r3 = exact_randomization_test([1, -1, 2])
    assert r3["p_value"] == pytest.approx(6 / 8)
    assert np.isnan(r3["ci_low_pct"])  # 3 pairs can't reach 0.05: no interval


def test_interval_is_test_inversion():
    d = np.array([-3.0, -1.0, -2.5, -0.2, -1.8, -2.2, -1.1])
    r = exact_randomization_test(d)
    for delta, inside in ((r["ci_low_pct"] + 0.01, True), (r["ci_low_pct"] - 0.05, False)):
        p = exact_randomization_test(d - delta)["p_value"]
        assert (p > 0.05) == inside


def test_plan_is_balanced_in_pairs_and_reproducible():
    a = make_plan(start=START, weeks=24, block_weeks=2, seed=5, with_power=False)
    b = make_plan(start=START, weeks=24, block_weeks=2, seed=5, with_power=False)
    assert [x.condition for x in a.blocks] == [x.condition for x in b.blocks]
    assert a.n_pairs == 6
    for pair in range(1, 7):
        conds = sorted(x.condition for x in a.blocks if x.pair == pair)
        assert conds == ["off", "on"]
    assert a.blocks[1].start == START + timedelta(days=14)
    assert a.blocks[0].analysed_from == START + timedelta(days=7)
    assert a.end == START + timedelta(days=24 * 7 - 1)
    again = ExperimentPlan.from_dict(a.to_dict())
    assert again.blocks == a.blocks and again.seed == 5
    # over many seeds, both orders occur about equally often
    firsts = [make_plan(start=START, weeks=4, block_weeks=2, seed=s, with_power=False)
              .blocks[0].condition for s in range(400)]  # fmt: skip
    assert 0.4 < firsts.count("on") / 400 < 0.6


@pytest.mark.parametrize("kw", [dict(weeks=10, block_weeks=2), dict(weeks=4, wash_in_days=14),
                                dict(dose_on="none", dose_off="1 session/week")])  # fmt: skip
def test_bad_designs_refused(kw):
    with pytest.raises(ValueError):
        make_plan(start=START, seed=1, with_power=False, **kw)


def test_parse_dose():
    assert parse_dose("4 sessions/week, 10 min, hips+ankles") == 4
    assert parse_dose("none") == 0
    assert parse_dose("1 session/week") == 1
    assert parse_dose("daily 5 min") == 7


def test_ics_and_csv():
    plan = make_plan(start=START, weeks=8, block_weeks=2, seed=2, with_power=False,
                     dose_on="4 sessions/week, 10 min, hips+ankles, with a long description")  # fmt: skip
    ics = plan_to_ics(plan)
    assert ics.endswith("END:VCALENDAR\r\n")
    assert "\n" not in ics.replace("\r\n", "")
    lines = ics.split("\r\n")[:-1]
    assert all(len(ln.encode()) <= 75 for ln in lines)
    assert ics.count("BEGIN:VEVENT") == 4
    assert "DTSTART;VALUE=DATE:20270104" in ics and "DTEND;VALUE=DATE:20270118" in ics
    assert "SUMMARY:Mobility" in ics and "hips+ankles\\," in ics.replace("\r\n ", "")
    csv = plan_to_csv(plan).splitlines()
    assert csv[0] == "block,pair,condition,start_date,end_date,analysed_from,dose"
    assert len(csv) == 5


def _athlete(plan, effect, *, skip_on_block=None):
    """Two runs in each analysed week; on blocks 4 sessions/week; drop-off 5 - effect (on)."""
    runs, ses = [], []
    for b in plan.blocks:
        for k in range(plan.block_weeks * 7):
            d = b.start + timedelta(days=k)
            if d >= b.analysed_from and k % 3 == 0:
                y = 5.0 - (effect if b.condition == "on" else 0.0) + 0.1 * (k % 2)
                runs.append((pd.Timestamp(d, tz="UTC") + pd.Timedelta(hours=18), y))
            if b.condition == "on" and k % 7 in (0, 2, 4, 6) and b.index != skip_on_block:
                ses.append(d)
    r = pd.DataFrame(runs, columns=["start_time", "stride_dropoff_pct"])
    s = pd.DataFrame({"local_date": ses,
                      "start_time": pd.to_datetime([pd.Timestamp(x) for x in ses], utc=True)})  # fmt: skip
    return r, s


def test_analysis_final_interim_and_adherence():
    plan = make_plan(start=START, weeks=24, block_weeks=2, seed=9, with_power=False)
    runs, ses = _athlete(plan, effect=2.0)
    final = analyze_experiment(plan, runs, ses, as_of=plan.end, what_if=False)
    assert not final.interim
    assert final.itt["estimate_pct"] == pytest.approx(-2.0, abs=1e-9)
    assert final.itt["p_value"] == pytest.approx(2 / 64)
    assert final.conclusion.startswith("Mobility work as planned changed")
    assert final.off_plan_blocks == []
    assert (final.blocks["sessions_per_week"][final.blocks["condition"] == "on"] == 4).all()
    mid = analyze_experiment(plan, runs, ses, as_of=plan.blocks[5].end, what_if=True)
    assert mid.interim and mid.conclusion.startswith("INTERIM, not a result")
    assert mid.itt["n_pairs"] == 3
    assert mid.one_more_pair["min_p_next"] == pytest.approx(2 / 16)
    # an on block without sessions is off plan; per-protocol drops its pair
    on_block = next(b.index for b in plan.blocks if b.condition == "on")
    runs2, ses2 = _athlete(plan, effect=2.0, skip_on_block=on_block)
    lapsed = analyze_experiment(plan, runs2, ses2, as_of=plan.end, what_if=False)
    assert lapsed.off_plan_blocks == [on_block]
    assert lapsed.itt["n_pairs"] == 6 and lapsed.per_protocol["n_pairs"] == 5
    assert "Blocks off plan" in lapsed.to_text()


def test_block_noise_recovers_a_known_run_and_block_scatter() -> None:
    """Runs scatter by 2 % points around block means that wander by 1 % point."""
    rng = np.random.default_rng(3)
    days = [START + timedelta(days=int(d)) for d in range(7 * 80) if rng.random() < 0.5]
    block = np.array([(d - START).days // 7 for d in days])
    y = 4.0 + rng.normal(0, 1.0, block.max() + 1)[block] + rng.normal(0, 2.0, len(days))
    runs = pd.DataFrame({"start_time": pd.to_datetime([pd.Timestamp(d) + pd.Timedelta(hours=17)
                                                       for d in days], utc=True),
                         "stride_dropoff_pct": y})  # fmt: skip
    sd_within, block_sd, pairs = block_noise_pct(runs, block_weeks=1, wash_in_days=2)
    assert 35 <= pairs <= 40  # a pair counts when both blocks have runs after the wash-in
    assert sd_within == pytest.approx(2.0, rel=0.1)
    assert block_sd == pytest.approx(1.0, abs=0.3)
    assert block_noise_pct(runs.head(10), block_weeks=1, wash_in_days=2) is None


def test_plan_power_holds_against_simulated_athletes() -> None:
    """The plan's chance, from a past season of the same athlete, against what simulated
    athletes who follow the plan (training cycle, trend, autocorrelated runs) reach. Runs
    taken as independent promised 64 % where 40 % were found."""
    kw = dict(weeks=16, block_weeks=1, wash_in_days=2, lapse_prob=0.0, off_sessions_per_week=0.0)
    found = 0
    for i in range(100):
        a = simulate_experiment(effect_pct=2.0, seed=i, **kw)
        r = analyze_experiment(a.plan, a.runs, a.sessions, as_of=a.plan.end, what_if=False)
        found += r.itt["p_value"] <= 0.05 and r.itt["estimate_pct"] < 0
    promised, naive = [], []
    for i in range(10):
        past = simulate_experiment(effect_pct=0.0, seed=10**6 + i, **{**kw, "weeks": 24}).runs
        sd, block_sd, _ = block_noise_pct(past, block_weeks=1, wash_in_days=2)
        args = dict(n_pairs=8, runs_per_block=3.5 * 5 / 7, n_sim=500, seed=i)
        promised.append(power_experiment(2.0, sd_pct=sd, block_sd_pct=block_sd, **args))
        naive.append(power_experiment(2.0, sd_pct=past["stride_dropoff_pct"].std(), **args))
    simulated = found / 100
    assert 0.25 <= simulated <= 0.55
    assert abs(np.mean(promised) - simulated) <= 0.15
    assert np.mean(naive) - simulated > 0.15


def test_per_protocol_check_says_when_it_cannot_reach_the_level() -> None:
    a = simulate_experiment(weeks=12, block_weeks=1, wash_in_days=2, effect_pct=2.0,
                            lapse_prob=0.3, seed=0)  # fmt: skip
    r = analyze_experiment(a.plan, a.runs, a.sessions, as_of=a.plan.end)
    assert r.off_plan_blocks and r.per_protocol["n_pairs"] == 5
    assert "5 pairs can never give p < 0.05: the smallest possible is 0.062" in r.to_text()
