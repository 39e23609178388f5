"""caracas-2026 has one profile per explanation the reports offer, and each does what its
description claims, in direction (not in tuned numbers): compared with another profile on the
same replications (common random numbers), the difference of the per-run means must exceed four
standard errors of the paired difference."""

from __future__ import annotations

import functools

import numpy as np
import pytest

import iadsim

RUNS = 2000
RADAR = "launches[guidance=radar]"
INFRARED = "launches[guidance=infrared]"
EXPLANATIONS = ("unready-equipment", "untrained-crews", "no-orders", "fatigue",
                "electronic-attack")


@functools.cache
def results(profile: str) -> iadsim.Results:
    return iadsim.run(iadsim.load("caracas-2026", profile), RUNS, seed=2026)


def per_run(profile: str, observable: str) -> np.ndarray:
    return results(profile).observable(observable)


def assert_fewer(low: np.ndarray, high: np.ndarray) -> None:
    """`low` below `high` on average, by more than four standard errors of the paired
    difference."""
    d = high - low
    se = d.std(ddof=1) / np.sqrt(len(d))
    assert d.mean() > 4 * se, (low.mean(), high.mean(), se)


def failure_share(profile: str) -> np.ndarray:
    """Per run, the share of missiles fired that failed to launch (0 where none was fired)."""
    fired = per_run(profile, "missiles_fired")
    return np.divide(per_run(profile, "launch_failures"), fired, out=np.zeros(RUNS),
                     where=fired > 0)


def test_every_explanation_has_a_described_profile():
    scenario = iadsim.load("caracas-2026").scenario
    for name in (*EXPLANATIONS, "reported", "full", "ai-command"):
        assert len(scenario.profiles[name].description) > 200, name


@pytest.mark.parametrize("profile", ["unready-equipment", "no-orders", "fatigue", "reported"])
def test_explanations_that_stop_the_radar_sams_launch_fewer_radar_missiles_than_full(profile):
    assert_fewer(per_run(profile, RADAR), per_run("full", RADAR))


@pytest.mark.parametrize("profile", ["no-orders", "unready-equipment", "reported"])
def test_manpads_under_delegated_authority_still_fire_without_orders_or_sams(profile):
    assert per_run(profile, INFRARED).mean() > 0.5


def test_untrained_crews_fail_to_launch_more_and_kill_fewer():
    assert_fewer(failure_share("full"), failure_share("untrained-crews"))
    assert_fewer(per_run("untrained-crews", "threats_killed"), per_run("full", "threats_killed"))


def test_electronic_attack_acts_only_in_its_own_profile():
    assert_fewer(per_run("electronic-attack", RADAR), per_run("full", RADAR))
    assert_fewer(per_run("electronic-attack", "threats_killed"), per_run("full", "threats_killed"))
    model = iadsim.load("caracas-2026", "electronic-attack")
    values = {p["path"]: p["value"] for p in iadsim.parameters(model)}
    assert values["electronic_attack.discombobulator.launch_factor"] < 1  # "went up and crashed"
    targets = {model.structure.units[t.index].id for t in model.structure.attacks[0].targets
               if t.kind == "fire_unit"}
    assert targets == {"s300-1", "buk-carlota", "buk-sw"}  # the MANPADS are not targeted
    for name in ("full", "reported", "ai-command",
                 *[e for e in EXPLANATIONS if e != "electronic-attack"]):
        model = iadsim.load("caracas-2026", name)
        slot = model.space.by_path["electronic_attack.discombobulator.active"].slot
        assert model.point.theta[slot] == 0, name


def test_reported_combines_the_explanations():
    """Fewer radar launches than any single SAM-side explanation."""
    for single in ("unready-equipment", "no-orders", "fatigue"):
        assert_fewer(per_run("reported", RADAR), per_run(single, RADAR))


def test_reported_draws_each_battery_as_one():
    """Shared draws: a battery's launcher and radars are stored together."""
    r = results("reported")
    stored = r.observable("unit_ready[id=s300-1]") > 0
    assert 0 < stored.mean() < 1
    launched = r.observable("launches[id=s300-1]")
    assert launched[stored].max() == 0  # not available or deployed: never fires


def test_ai_command_orders_what_reported_does_not():
    """Autonomous SAM command: more radar launches than `reported`, on the same equipment."""
    assert_fewer(per_run("reported", RADAR), per_run("ai-command", RADAR))
    model = iadsim.load("caracas-2026", "ai-command")
    authority = {p["path"]: p["value"] for p in iadsim.parameters(model)}
    assert authority["command_posts.cp-air-defence.authority"] == "autonomous"
    assert authority["command_posts.cp-manpads.authority"] == "delegated"
