"""Parameters that cannot act (MODEL.md, "Precise rules"): which are named, that the naming is
true (setting them to extreme values changes no outcome, in either engine), and the warnings of
`iadsim validate` and `iadsim run`."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from iadsim.api import inert, load, run
from iadsim.cli import app
from iadsim.model import Model, compile_scenario
from iadsim.scenario.load import parse_scenario

ENGINES = ("reference", "vectorized")
MANPADS = "command_posts.cp-manpads"

# Every rule of inert.py once: a search radar with no command post, a fire-control radar no
# unit uses, a search radar whose post has no units, one that covers no route; posts with no
# sensor (delegated: its unit fires on its own), no units, no coverage (central: its unit never
# engages); units with no post, no envelope, a class or every class held by doctrine, a
# non-flyout engagement time; a strike after the end; attack windows that reach nothing, that
# cut the link of a unit with no post, and one switched off by a profile.
RULES = """
name: inert-rules
duration_s: 600
reference: {lat: 0, lon: 0}
sensors:
  - {id: sr, role: search, lat: 0, lon: 0, height_m: 10, range_km: 100, detect_rate: 0.2,
     command_post: cp}
  - {id: fcr, role: fire_control, lat: 0, lon: 0, height_m: 10, range_km: 100, detect_rate: 0.5}
  - {id: lone, role: search, lat: 0, lon: 0, height_m: 10, range_km: 100, detect_rate: 0.2}
  - {id: spare-fcr, role: fire_control, lat: 0, lon: 0, height_m: 10, range_km: 100,
     detect_rate: 0.5}
  - {id: orphan-sr, role: search, lat: 0, lon: 0, height_m: 10, range_km: 100, detect_rate: 0.2,
     command_post: idle}
  - {id: blind, role: search, lat: 5, lon: 5, height_m: 10, range_km: 10, detect_rate: 0.2,
     command_post: deaf}
command_posts:
  - {id: cp, orders_prob: 0.8, report_delay_s: 5, decision_delay: {dist: exponential, mean: 20}}
  - {id: silent, authority: delegated, decision_delay: {dist: exponential, mean: 30}}
  - {id: idle, decision_delay: 5}
  - {id: deaf}
fire_units:
  - {id: sam, guidance: radar, fire_control_radar: fcr, command_post: cp, lat: 0, lon: 0,
     max_range_km: 30, max_alt_m: 10000, missiles: 4, pk: 0.6,
     engagement_time: {dist: exponential, mean: 10}, readiness: {trained: 0.5}}
  - {id: ir, guidance: infrared, acquire_rate: 0.1, command_post: silent, lat: 0.02, lon: 0,
     max_range_km: 5, max_alt_m: 3000, missiles: 2, pk: {default: 0.3, helicopter: 0.5}}
  - {id: free, guidance: infrared, acquire_rate: 0.1, lat: -0.02, lon: 0, max_range_km: 5,
     max_alt_m: 3000, missiles: 2, pk: 0.3}
  - {id: far, guidance: infrared, acquire_rate: 0.1, command_post: cp, lat: 3, lon: 3,
     max_range_km: 5, max_alt_m: 3000, missiles: 2, pk: 0.3}
  - {id: deaf-ir, guidance: infrared, acquire_rate: 0.1, command_post: deaf, lat: 0, lon: 0.02,
     max_range_km: 5, max_alt_m: 3000, missiles: 2, pk: 0.3}
threats:
  - {id: jets, class: fixed_wing, count: 2, rcs_m2: 1, speed_mps: 250,
     route: [{lat: 0.5, lon: 0, alt_m: 5000}, {lat: -0.5, lon: 0, alt_m: 5000}]}
  - {id: helos, class: helicopter, count: 2, rcs_m2: 5, speed_mps: 60,
     route: [{lat: 0.1, lon: 0, alt_m: 100}, {lat: -0.1, lon: 0, alt_m: 100}]}
strikes:
  - {id: late, target: sam, time_s: 900, p_destroy: 0.5}
  - {id: early, target: sr, time_s: 100, p_destroy: 0.3}
electronic_attack:
  - {id: jam, targets: {ids: [sr]}, start_s: 0, end_s: 300, detect_factor: 0.5,
     link_cut_prob: 0.3}
  - {id: nowhere, targets: {ids: [idle, lone, far]}, detect_factor: 0.5, link_cut_prob: 0.5,
     disable_prob: 0.5, pk_factor: 0.5, launch_factor: 0.5}
  - {id: on-free, targets: {ids: [free]}, detect_factor: 0.5, link_cut_prob: 0.5,
     disable_prob: 0.2, pk_factor: 0.5}
  - {id: on-ir, targets: {ids: [ir, deaf-ir]}, detect_factor: 0.5, disable_prob: 0.2,
     pk_factor: 0.5}
doctrine:
  - {select: {ids: [free]}, engages: [fixed_wing]}
  - {select: {ids: [sam]}, engages: [fixed_wing]}
profiles:
  auto:
    overrides:
      - select: {ids: [cp]}
        set: {authority: autonomous}
    values: {electronic_attack.jam.active: false}
"""

OUTCOMES = ("unit_counts", "flight_threats", "flight_killed", "unit_links", "deepest",
            "destroyed")


def rules_model(profile: str | None = None) -> Model:
    return compile_scenario(parse_scenario(RULES, "inert-rules.yaml"), profile)


def named(model: Model) -> dict[str, str]:
    return {i.path: i.why for i in inert(model)}


def extreme(model: Model, path: str) -> Any:
    """A value far from the point's for a parameter path (a duration field: a long fixed
    delay)."""
    space, theta = model.space, model.point.theta
    if path not in space.by_path:
        return {"dist": "fixed", "value": 1e5}
    p = space.by_path[path]
    x = p.decode(theta[p.slot])
    if p.kind == "choice":  # authority
        return "autonomous" if x != "autonomous" else "central"
    if p.kind == "bool":
        return not x
    if p.kind == "probability":
        return 0.0 if x >= 0.5 else 1.0
    if p.kind == "rate":
        return 0.0 if x > 0 else 10.0
    return {"nonnegative": min(1e5, p.high), "positive": 1e-3, "count": 99}[p.kind]


def assert_same_outcomes(a, b) -> None:
    for name in OUTCOMES:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    for table in ("threat_rows", "passage_rows"):
        for column, values in getattr(a, table).items():
            np.testing.assert_array_equal(values, getattr(b, table)[column],
                                          err_msg=f"{table}.{column}")


def differs(a, b) -> bool:
    try:
        assert_same_outcomes(a, b)
    except AssertionError:
        return True
    return False


# --- which parameters are named ------------------------------------------------------------------


def test_manpads_command_post_parameters_are_named_with_the_reason():
    found = named(load("caracas-2026"))
    for name in ("orders_prob", "report_delay_s", "decision_delay", "autonomous_delay_s"):
        assert "no search sensor reports to this command post" in found[f"{MANPADS}.{name}"]
    # the MANPADS teams' link to their post carries no orders
    assert "cp-manpads never orders" in found["fire_units.igla-tiuna-n.readiness.connected"]
    # a central post's autonomous delay is not used
    assert "central" in found["command_posts.cp-air-defence.autonomous_delay_s"]


def test_parameters_that_act_are_not_named():
    found = named(load("caracas-2026", "reported"))
    for path in ("command_posts.cp-air-defence.orders_prob",
                 "command_posts.cp-air-defence.decision_delay",
                 "command_posts.cp-manpads.authority",  # delegated: the teams may fire
                 "fire_units.s300-1.readiness.connected",
                 "fire_units.igla-tiuna-n.readiness.trained",
                 "fire_units.igla-tiuna-n.pk.helicopter",
                 "sensors.s300-1-fcr.readiness.connected",
                 "sensors.sr-caracas.readiness.connected",
                 "untrained_crew_factor", "strikes.strike-buk-carlota.p_destroy"):
        assert path not in found, (path, found.get(path))


def test_delegated_post_with_reports_still_uses_orders():
    """Under delegated authority a unit engages on orders or on its own acquisition: orders
    act wherever a sensor reports to the post."""
    model = load("caracas-2026", values={
        "command_posts.cp-air-defence.authority": "delegated"})
    found = named(model)
    assert "command_posts.cp-air-defence.orders_prob" not in found
    assert "fire_units.s300-1.readiness.connected" not in found


def test_every_rule_names_what_it_should():
    found = named(rules_model())
    expected = {
        "sensors.lone.detect_rate": "reports to no command post",
        "sensors.lone.readiness.connected": "reports to no command post",
        "sensors.spare-fcr.readiness.connected": "no fire unit uses this fire-control radar",
        "sensors.orphan-sr.readiness.emitting": "idle has no fire unit",
        "sensors.blind.detect_rate": "coverage",
        "command_posts.silent.orders_prob": "no search sensor reports",
        "command_posts.silent.decision_delay": "no search sensor reports",
        "command_posts.idle.orders_prob": "no fire unit takes",
        "command_posts.idle.authority": "no fire unit takes",
        "command_posts.deaf.report_delay_s": "coverage",
        "command_posts.cp.autonomous_delay_s": "central",
        "fire_units.far.missiles": "envelope",
        "fire_units.far.engagement_time": "envelope",
        "fire_units.ir.pk.fixed_wing": "no fixed_wing flight",
        "fire_units.sam.pk.helicopter": "doctrine holds fire on helicopter",
        "fire_units.ir.readiness.connected": "silent never orders",
        "fire_units.sam.acquisition_time_s": "exponential",
        "fire_units.sam.missile_speed_mps": "exponential",
        "strikes.late.p_destroy": "after the scenario ends",
        "electronic_attack.nowhere.active": "nothing it can change",
        "electronic_attack.nowhere.detect_factor": "no sensor or infrared fire unit",
        "electronic_attack.on-free.pk_factor": "no fire unit that engages",
        "electronic_attack.on-free.active": "nothing it can change",
        "fire_units.free.readiness.available": "doctrine holds fire on every class",
        "fire_units.free.salvo": "doctrine holds fire on every class",
        "fire_units.deaf-ir.missiles": "never engages",
        "fire_units.deaf-ir.pk.helicopter": "never engages",
    }
    for path, reason in expected.items():
        assert path in found, path
        assert reason in found[path], (path, found[path])
    for path in ("command_posts.cp.orders_prob", "command_posts.cp.decision_delay",
                 "command_posts.silent.authority", "fire_units.sam.readiness.connected",
                 "fire_units.sam.readiness.trained", "fire_units.ir.pk.helicopter",
                 "sensors.sr.readiness.connected", "sensors.fcr.detect_rate",
                 "strikes.early.p_destroy", "untrained_crew_factor",
                 "electronic_attack.jam.detect_factor", "electronic_attack.jam.active",
                 "fire_units.deaf-ir.readiness.available", "fire_units.deaf-ir.acquire_rate",
                 "command_posts.deaf.authority",  # delegated, deaf-ir would fire on its own
                 "electronic_attack.on-ir.detect_factor", "electronic_attack.on-ir.disable_prob",
                 "electronic_attack.on-ir.pk_factor", "electronic_attack.on-ir.active"):
        assert path not in found, (path, found[path])


def test_autonomous_authority_from_a_profile():
    """A profile that makes a post autonomous makes its orders_prob, decision delay and its
    units' crew training inert, and its autonomous delay act; a window it switches off has no
    effect."""
    base, auto = named(rules_model()), named(rules_model("auto"))
    for path in ("command_posts.cp.orders_prob", "command_posts.cp.decision_delay",
                 "fire_units.sam.readiness.trained"):
        assert path not in base
        assert "autonomous" in auto[path], auto[path]
    assert "command_posts.cp.autonomous_delay_s" in base
    assert "command_posts.cp.autonomous_delay_s" not in auto
    assert "active: false" in auto["electronic_attack.jam.link_cut_prob"]
    assert "electronic_attack.jam.active" not in auto


# --- the warnings are true -----------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_manpads_command_post_cannot_change_any_outcome(engine):
    """The issue's case: cp-manpads's orders, delays and readiness at extreme values give
    byte-identical outcomes; the air-defence post's orders_prob does not."""
    model = load("caracas-2026", "reported")
    baseline = run(model, 200, seed=11, engine=engine)
    changed = model.at(None, {f"{MANPADS}.orders_prob": 0.0, f"{MANPADS}.report_delay_s": 1e6,
                              f"{MANPADS}.decision_delay": {"dist": "fixed", "value": 1e6},
                              f"{MANPADS}.autonomous_delay_s": 1e6,
                              f"{MANPADS}.readiness.available": 0.0,
                              "groups.manpads.readiness.connected": 0.0})
    assert_same_outcomes(baseline, run(changed, 200, seed=11, engine=engine))
    acting = model.at(None, {"command_posts.cp-air-defence.orders_prob": 1.0})
    assert differs(baseline, run(acting, 200, seed=11, engine=engine))


@pytest.mark.parametrize("profile", [None, "auto"])
@pytest.mark.parametrize("engine", ENGINES)
def test_every_named_parameter_at_once_changes_nothing(engine, profile):
    """All the parameters named at a point, set to extreme values together: the same
    outcomes; a parameter that acts, set likewise, changes them."""
    model = rules_model(profile)
    found = named(model)
    assert len(found) > 40
    baseline = run(model, 200, seed=5, engine=engine)
    changed = model.at(None, {path: extreme(model, path) for path in found})
    assert_same_outcomes(baseline, run(changed, 200, seed=5, engine=engine))
    acting = model.at(None, {"fire_units.ir.pk.helicopter": 0.0})
    assert differs(baseline, run(acting, 200, seed=5, engine=engine))


def test_each_named_parameter_alone_changes_nothing():
    """One at a time (vectorized engine: common random numbers make a change visible)."""
    model = rules_model("auto")
    baseline = run(model, 200, seed=5, engine="vectorized")
    for path in named(model):
        changed = run(model.at(None, {path: extreme(model, path)}), 200, seed=5,
                      engine="vectorized")
        assert not differs(baseline, changed), path


def test_post_without_units_vectorized_whatever_the_family():
    """A post that receives reports but has no fire unit: its decision delay, even of another
    family, changes nothing in the vectorized engine (its draws are addressed; the reference
    engine's sequential draws may shift, with the same distribution of outcomes)."""
    model = rules_model()
    assert "command_posts.idle.decision_delay" in named(model)
    baseline = run(model, 200, seed=5, engine="vectorized")
    changed = model.at(None, {"command_posts.idle.decision_delay":
                              {"dist": "exponential", "mean": 50},
                              "command_posts.idle.authority": "delegated"})
    assert_same_outcomes(baseline, run(changed, 200, seed=5, engine="vectorized"))


# --- the command line ----------------------------------------------------------------------------


def test_validate_warns_and_exits_zero():
    result = CliRunner().invoke(app, ["validate", "caracas-2026", "--profile", "reported"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok "), result.stdout
    lines = result.stderr.splitlines()
    assert (f"warning: {MANPADS}.orders_prob: no search sensor reports to this command post, "
            "so it never orders anything") in lines, result.stderr
    found = inert(load("caracas-2026", "reported"))
    written = [i for i in found if i.written]
    assert 0 < len(written) < len(found)
    assert lines[:-1] == [f"warning: {i.path}: {i.why}" for i in written]  # one line each
    assert lines[-1].startswith(f"({len(found) - len(written)} more parameters left at default")
    assert not any(i.written for i in found if i.path.endswith("autonomous_delay_s"))


def test_run_warns_on_stderr_and_json_stays_clean():
    result = CliRunner().invoke(app, ["run", "caracas-2026", "--runs", "5", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["runs"] == 5
    assert f"warning: {MANPADS}.report_delay_s:" in result.stderr
