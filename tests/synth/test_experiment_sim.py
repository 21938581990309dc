"""Simulated experiment athletes: no effect is rarely significant, a big effect usually is."""

from stridekeeper.synth.experiment import simulate_experiment, validate_experiment


def test_simulated_athlete_follows_plan_with_known_dose():
    a = simulate_experiment(weeks=12, block_weeks=2, effect_pct=0.0, seed=4, lapse_prob=0.0,
                            off_sessions_per_week=0.0)  # fmt: skip
    on_days = {d for b in a.plan.blocks if b.condition == "on"
               for d in [b.start, b.end]}  # fmt: skip
    assert len(a.runs) > 20 and len(a.sessions) > 10
    off = [b for b in a.plan.blocks if b.condition == "off"]
    assert not any(b.start <= d <= b.end for b in off for d in a.sessions["local_date"])
    assert on_days


def test_false_positives_bounded_and_power_grows():
    t = validate_experiment(effects=(0.0, 6.0), pairs=(6,), n_sim=40, seed=1, runs_per_week=4.0)
    null = t.loc[t["effect_pct"] == 0, "rejected"].item()
    strong = t.loc[t["effect_pct"] == 6, "rejected"].item()
    assert null <= 0.1  # exact test: <= 5 % in expectation; 40 draws leave room
    assert strong >= 0.5
