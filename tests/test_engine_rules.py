"""Rules of MODEL.md that the analytic cases do not reach, checked on small scenarios."""

from __future__ import annotations

import numpy as np
import pytest

from iadsim.engine import run
from iadsim.engine.results import UNIT_COUNTS
from iadsim.model import compile_scenario
from iadsim.rules import HELD
from iadsim.scenario import load_scenario
from iadsim.scenario.load import parse_scenario

UNIT = """
name: rules
duration_s: 3600
reference: {lat: 10.0, lon: -66.0}
fire_units:
  - {id: u, guidance: infrared, acquire_rate: .inf, lat: 10.0, lon: -66.0, min_range_km: %(rmin)s,
     max_range_km: %(rmax)s, max_alt_m: 5000, missiles: 100, pk: %(pk)s, engagement_time: %(tau)s}
threats:
  - id: t
    class: drone
    rcs_m2: 1
    speed_mps: %(speed)s
    route: [{lat: 9.9, lon: -66.0, alt_m: 100}, {lat: %(end_lat)s, lon: -66.0, alt_m: 100}]
"""


def scenario(**values: object):
    fields = {"rmin": 0.0, "rmax": 5.0, "tau": 1.0, "speed": 100, "end_lat": 10.1,
              "pk": 1.0} | values
    return compile_scenario(parse_scenario(UNIT % fields, "rules.yaml"))


def test_thin_shell_is_found_at_any_speed():
    """An envelope 400 m thick is crossed twice, even at 2 km/s and at 20 km/s (the fastest
    speed a scenario may give)."""
    for speed in (2000, 20_000):
        cs = scenario(rmin=1.0, rmax=1.4, speed=speed)
        assert len(cs.structure.envelope[0, 0]) == 2, (speed, cs.structure.envelope)


@pytest.mark.parametrize("engine", ["reference", "vectorized"])
def test_no_kill_after_the_route_has_ended(engine):
    """A route ending at the unit (inside its envelope) ends ~11 s after entry; an engagement
    lasting 100 s resolves after the threat has arrived, so it never kills."""
    cs = scenario(tau=100.0, end_lat=10.0)
    results = run(cs, 200, seed=3, engine=engine)
    assert results.observable("engagements").min() == 1
    assert results.observable("threats_killed").max() == 0
    np.testing.assert_array_equal(results.observable("misses"),
                                  results.observable("launches"))
    assert results.observable("killed").sum() == 200  # each failed passage: the kill link


@pytest.mark.parametrize("engine", ["reference", "vectorized"])
def test_quick_engagement_kills_before_route_end(engine):
    cs = scenario(tau=1.0, end_lat=10.0)
    assert run(cs, 50, seed=3, engine=engine).observable("threats_killed").min() == 1


ONE_SAM = """
name: rules-sam
duration_s: 100
reference: {lat: 0, lon: 0}
sensors:
  - {id: fcr, role: fire_control, lat: 0, lon: 0, height_m: 10, range_km: 100, detect_rate: .inf}
fire_units:
  - {id: u, lat: 0, lon: 0, guidance: radar, fire_control_radar: fcr, max_range_km: 50,
     max_alt_m: 5000, missiles: %(missiles)s, pk: %(pk)s, engagement_time: %(tau)s,
     shoot_look_shoot: %(sls)s}
threats:
  - id: a
    class: fixed_wing
    rcs_m2: 1
    count: %(count)s
    start_s: %(start)s
    route: [{lat: 0.2, lon: 0, alt_m: 1000}, {lat: -0.2, lon: 0, alt_m: 1000, time_s: 400}]
%(extra)s
"""


def sam(extra: str = "", **values: object):
    fields = {"missiles": 4, "pk": 1.0, "tau": 5, "sls": "false", "count": 1, "start": 0,
              "extra": extra} | values
    return compile_scenario(parse_scenario(ONE_SAM % fields, "rules-sam.yaml"))


BOTH = pytest.mark.parametrize("engine", ["reference", "vectorized"])


NEVER_READY = {
    # an attack window that runs past the scenario's end still disables the unit
    "attack-past-the-end": "electronic_attack:\n  - {id: ea, start_s: 0, end_s: 1000,"
                           " targets: {ids: [u]}, disable_prob: 1.0}",
    # a unit struck at time 0 is gone from the first moment
    "struck-at-zero": "strikes:\n  - {target: u, time_s: 0, p_destroy: 1.0}",
    # disabled until exactly the end: ready only at the final instant is not ready
    "ready-only-at-the-end": "electronic_attack:\n  - {id: ea, start_s: 0, end_s: 100,"
                             " targets: {ids: [u]}, disable_prob: 1.0}",
}


@BOTH
@pytest.mark.parametrize("case", NEVER_READY)
def test_a_unit_that_is_never_ready_never_engages(engine, case):
    results = run(sam(NEVER_READY[case]), 50, seed=1, engine=engine)
    assert results.observable("engagements").max() == 0
    assert results.observable("unit_ready").min() == 1


@BOTH
def test_pk_factor_applies_to_an_engagement_resolving_past_the_end(engine):
    cs = sam("electronic_attack:\n  - {id: ea, start_s: 0, end_s: 1000, targets: {ids: [u]},"
             " pk_factor: 0.0}", tau=50, start=60)
    results = run(cs, 50, seed=1, engine=engine)
    assert results.observable("engagements").min() == 1
    assert results.observable("threats_killed").max() == 0


@BOTH
def test_after_a_miss_the_threat_queues_behind_those_already_waiting(engine):
    """One channel, zero engagement time, shoot-look-shoot, two threats and three missiles:
    the second threat is served before the first is engaged again, so it is never left
    without an engagement (MODEL.md: the threat rejoins the queue at that moment)."""
    cs = sam(missiles=3, pk=0.5, tau=0, sls="true", count=2)
    results = run(cs, 400, seed=2, engine=engine)
    assert results.observable("magazine").max() == 0
    assert results.observable("channel").max() == 0
    assert results.observable("engagements").min() >= 2


TIE = """
name: rules-tie
duration_s: 3600
reference: {lat: 10.0, lon: -66.0}
fire_units:
  - {id: late, guidance: infrared, acquire_rate: .inf, lat: 10.0, lon: -66.0, max_range_km: 5,
     max_alt_m: 5000, missiles: 100, pk: 1.0, engagement_time: 8}
  - {id: early, guidance: infrared, acquire_rate: .inf, lat: 10.0, lon: -66.0, max_range_km: 5,
     max_alt_m: 5000, missiles: 100, pk: 1.0, engagement_time: 10}
threats:
  - {id: t, class: drone, rcs_m2: 1, speed_mps: 100,
     route: [{lat: 9.9, lon: -66.0, alt_m: 100}, {lat: 10.1, lon: -66.0, alt_m: 100}]}
electronic_attack:  # "early" may engage from 100 s, "late" from 102 s: both resolve at 110 s
  - {id: hold-early, start_s: 0, end_s: 100, targets: {ids: [early]}, disable_prob: 1.0}
  - {id: hold-late, start_s: 0, end_s: 102, targets: {ids: [late]}, disable_prob: 1.0}
"""


@BOTH
def test_a_kill_resolving_together_with_another_goes_to_the_one_that_started_first(engine):
    """Both engagements kill and resolve at the same instant; the one that started first
    resolves first (it was scheduled first), so it is credited."""
    results = run(compile_scenario(parse_scenario(TIE, "rules-tie.yaml")), 20, seed=1,
                  engine=engine)
    kills = results.unit_counts[:, UNIT_COUNTS.index("kills")]
    assert results.observable("engagements").min() == 2
    np.testing.assert_array_equal(kills, np.tile([0, 1], (20, 1)))


COMMANDED = """
name: rules-commanded
duration_s: 400
reference: {lat: 0, lon: 0}
command_posts:
  - {id: cp, authority: %(authority)s}
sensors:
  - {id: sr, role: search, lat: 0, lon: 0, range_km: 200, detect_rate: .inf, command_post: cp}
  - {id: fcr, role: fire_control, lat: 0, lon: 0, range_km: 100, detect_rate: .inf}
fire_units:
  - {id: u, lat: 0, lon: 0, guidance: radar, fire_control_radar: fcr, command_post: cp,
     max_range_km: 50, max_alt_m: 5000, missiles: 4, pk: 1.0, engagement_time: 5,
     readiness: {connected: %(connected)s}}
threats:
  - {id: a, class: fixed_wing, rcs_m2: 1, count: 2,
     route: [{lat: 0.6, lon: 0, alt_m: 1000}, {lat: -0.6, lon: 0, alt_m: 1000, time_s: 400}]}
"""


@BOTH
@pytest.mark.parametrize("authority", ["central", "autonomous", "delegated"])
def test_orders_do_not_reach_a_unit_that_is_not_connected(engine, authority):
    """MODEL.md, link 4: the order must reach the unit (fire unit connected); under delegated
    authority the unit still engages on its own acquisition."""
    def results(connected: float):
        text = COMMANDED % {"authority": authority, "connected": connected}
        return run(compile_scenario(parse_scenario(text, "rules-commanded.yaml")), 20, seed=2,
                   engine=engine)

    cut, linked = results(0.0), results(1.0)
    assert linked.observable("threats_killed").min() == 2
    if authority == "delegated":
        assert cut.observable("threats_killed").min() == 2
    else:
        assert cut.observable("engagements").max() == 0
        assert cut.observable("ordered").min() == 2  # both passages break at `ordered`
        assert cut.links.sum() == cut.observable("ordered").sum()


@BOTH
def test_an_attack_can_make_missiles_fail_to_launch(engine):
    """MODEL.md, electronic attack: launch_factor multiplies launch reliability (at resolution
    time, like pk_factor): with 0, every missile fired fails and the chain breaks at
    `launched`; outside the window missiles fly."""
    jam = ("electronic_attack:\n  - {id: ea, start_s: 0, end_s: %s, targets: {ids: [u]},"
           " launch_factor: 0.0}")
    results = run(sam(jam % 1000, tau=5, start=60), 40, seed=4, engine=engine)
    assert results.observable("engagements").min() >= 1
    assert results.observable("launches").max() == 0
    np.testing.assert_array_equal(results.observable("launch_failures"),
                                  results.observable("missiles_fired"))
    assert results.observable("launched").min() == 1
    after = run(sam(jam % 30, tau=5, start=60), 40, seed=4, engine=engine)
    assert after.observable("threats_killed").min() == 1


@BOTH
@pytest.mark.parametrize("tau, pk, arrived", [(500, 1.0, True), (5, 0.0, False)])
def test_a_leaker_whose_last_engagement_resolved_after_it_arrived_is_marked(engine, tau, pk,
                                                                            arrived):
    """Both leak through the `killed` link: one because it reached the end of its route first,
    the other because the missile missed; the threat table tells them apart."""
    results = run(sam(tau=tau, pk=pk), 20, seed=5, engine=engine)
    assert results.observable("leakers").min() == 1
    assert results.observable("killed").min() == 1
    assert results.threat_rows["arrived_first"].tolist() == [arrived] * 20


@BOTH
def test_without_shoot_look_shoot_each_passage_may_be_engaged_once(engine):
    """MODEL.md: at most once per passage, not per run. The route crosses a thin shell twice
    (in and out); with pk 0 each crossing is engaged once."""
    results = run(scenario(rmin=1.0, rmax=1.4, tau=1.0, speed=20, pk=0.0), 30, seed=6,
                  engine=engine)
    assert results.observable("engagements").tolist() == [2.0] * 30
    assert results.observable("killed").tolist() == [2.0] * 30


def test_own_acquisition_is_a_detection_under_central_authority():
    """MODEL.md, link 2: a unit's own acquisition satisfies `detected` under every authority.
    An infrared team under a central command post with no search radar saw the threat; what
    broke is that nobody reported it."""
    text = UNIT.replace("fire_units:", "command_posts:\n  - {id: cp, authority: central}\n"
                        "fire_units:").replace("engagement_time: %(tau)s}",
                                               "engagement_time: %(tau)s, command_post: cp}")
    fields = {"rmin": 0.0, "rmax": 5.0, "tau": 1.0, "speed": 100, "end_lat": 10.1, "pk": 1.0}
    model = compile_scenario(parse_scenario(text % fields, "central.yaml"))
    for engine in ("reference", "vectorized"):
        results = run(model, 20, seed=7, engine=engine)
        assert results.observable("engagements").max() == 0
        assert results.observable("reported").tolist() == [1.0] * 20, engine
        assert results.observable("detected").max() == 0


SECOND = """  - {id: b, class: fixed_wing, rcs_m2: 1, start_s: 40,
     route: [{lat: 0.2, lon: 0, alt_m: 1000}, {lat: -0.2, lon: 0, alt_m: 1000, time_s: 400}]}"""


@BOTH
@pytest.mark.parametrize("missiles, tau, broken", [(1, 5, "magazine"), (4, 1000, "channel")])
def test_capacity_splits_into_magazine_and_channel(engine, missiles, tau, broken):
    """MODEL.md, links 6 and 7: a second threat arrives while the one-channel unit is out of
    missiles (magazine), or while its channel is held past the second threat's passage
    (channel). The first threat's missile misses (pk 0): its passage breaks at `killed`."""
    results = run(sam(SECOND, missiles=missiles, tau=tau, pk=0.0), 20, seed=8, engine=engine)
    assert results.observable("engagements").tolist() == [1.0] * 20
    assert results.observable(broken).tolist() == [1.0] * 20
    assert results.observable("killed").tolist() == [1.0] * 20
    assert results.links.sum() == 40


@BOTH
@pytest.mark.parametrize("end, engaged", [(200, True), (400, False)])
def test_an_order_waits_while_the_units_link_is_cut(engine, end, engaged):
    """MODEL.md, link 4: the order must reach the unit, its link up. With the link cut until
    200 s the first kill comes after 200 s; cut for the whole passage, nothing is engaged and
    the chain breaks at `ordered`."""
    text = (COMMANDED % {"authority": "central", "connected": 1.0}) + (
        f"electronic_attack:\n  - {{id: cut, start_s: 0, end_s: {end}, targets: {{ids: [u]}},"
        " link_cut_prob: 1.0}\n")
    results = run(compile_scenario(parse_scenario(text, "rules-cut.yaml")), 20, seed=9,
                  engine=engine)
    if engaged:
        assert results.observable("threats_killed").min() == 2
        assert np.nanmin(results.threat_rows["kill_time_s"]) > 200
    else:
        assert results.observable("engagements").max() == 0
        assert results.observable("ordered").min() == 2


@BOTH
def test_each_unkilled_threat_records_its_deepest_link(engine):
    """MODEL.md: the deepest link of a threat not killed is the latest first-broken link over
    its counted passages."""
    model = compile_scenario(load_scenario("caracas-2026"), "reported")
    results = run(model, 30 if engine == "reference" else 300, seed=10, engine=engine)
    threats, passages = results.threat_rows, results.passage_rows
    latest: dict[tuple[int, int], int] = {}
    for row, threat, link in zip(passages["row"], passages["threat"], passages["link"],
                                 strict=True):
        if link != HELD:  # held fire is no link of the chain
            latest[row, threat] = max(latest.get((row, threat), -1), int(link))
    for row, threat, killer, deepest in zip(threats["row"], threats["threat"],
                                            threats["killer"], threats["deepest_link"],
                                            strict=True):
        assert deepest == (latest.get((row, threat), -1) if killer < 0 else -1)
    counts = np.zeros_like(results.deepest)
    np.add.at(counts, (threats["row"][threats["deepest_link"] >= 0],
                       threats["deepest_link"][threats["deepest_link"] >= 0]), 1)
    np.testing.assert_array_equal(counts, results.deepest)
    assert results.observable("deepest[killed]").sum() > 0
    assert results.deepest.sum() <= results.observable("leakers").sum()


@BOTH
def test_an_order_issued_as_a_cut_begins_gets_through(engine):
    """The instant a link cut starts, the link still counts as up (as for reports): an order
    issued at 50 s, with the unit's link cut over [50, 200), reaches it at 50 s."""
    text = (COMMANDED % {"authority": "central", "connected": 1.0}).replace(
        "authority: central}", "authority: central, decision_delay: 50}") + (
        "electronic_attack:\n  - {id: cut, start_s: 50, end_s: 200, targets: {ids: [u]},"
        " link_cut_prob: 1.0}\n")
    results = run(compile_scenario(parse_scenario(text, "rules-cut-edge.yaml")), 10, seed=9,
                  engine=engine)
    assert results.observable("threats_killed").min() == 2
    assert np.nanmax(results.threat_rows["kill_time_s"]) < 200


@BOTH
@pytest.mark.parametrize("missiles, count, broken", [(0, 1, "magazine"), (2, 3, "channel")])
def test_magazine_and_channel_when_missiles_run_out_or_never_were(engine, missiles, count,
                                                                 broken):
    """No missiles at all: `magazine`. Missiles left when the third threat became engageable,
    gone while it waited for the one channel: `channel` (missiles remained at some moment when
    links 1–5 held, but no channel was free then)."""
    results = run(sam(missiles=missiles, count=count, pk=0.0, tau=5), 10, seed=11,
                  engine=engine)
    assert results.observable(broken).tolist() == [1.0] * 10


@BOTH
def test_a_radars_own_acquisition_is_a_detection_under_central_authority(engine):
    """MODEL.md, link 2, for a radar-guided unit: with no search radar, its fire-control radar
    is the only detection; under central authority nobody reports it, so the chain breaks at
    `reported`, not `detected`."""
    text = (COMMANDED % {"authority": "central", "connected": 1.0}).replace(
        "  - {id: sr, role: search, lat: 0, lon: 0, range_km: 200, detect_rate: .inf,"
        " command_post: cp}\n", "")
    assert "id: sr" not in text
    results = run(compile_scenario(parse_scenario(text, "rules-radar.yaml")), 10, seed=12,
                  engine=engine)
    assert results.observable("engagements").max() == 0
    assert results.observable("reported").tolist() == [2.0] * 10
    assert results.observable("detected").max() == 0


TWO_TEAMS = """
name: rules-shared
duration_s: 3600
reference: {lat: 10.0, lon: -66.0}
fire_units:
  - {id: a, guidance: infrared, acquire_rate: .inf, lat: 10.0, lon: -66.0, max_range_km: 5,
     max_alt_m: 5000, missiles: 10, pk: %(pk)s, readiness: {deployed: %(pa)s}}
  - {id: b, guidance: infrared, acquire_rate: .inf, lat: 10.0, lon: -66.0, max_range_km: 5,
     max_alt_m: 5000, missiles: 10, pk: %(pk)s, readiness: {deployed: %(pb)s}}
threats:
  - id: t
    class: %(cls)s
    rcs_m2: 1
    speed_mps: 100
    route: [{lat: 9.9, lon: -66.0, alt_m: 100}, {lat: 10.1, lon: -66.0, alt_m: 100}]
groups: {battery: [a, b]}
%(extra)s
"""


def teams(extra: str = "", **values: object):
    fields = {"pa": 0.5, "pb": 0.5, "pk": 0.0, "cls": "drone", "extra": extra} | values
    return compile_scenario(parse_scenario(TWO_TEAMS % fields, "rules-shared.yaml"))


@BOTH
def test_a_shared_factor_is_one_draw_for_the_whole_group(engine):
    """Equal probabilities: both up or both down in every run; different ones: whoever is up
    at the lower probability is up at the higher one too (MODEL.md, Readiness). Drawn alone,
    the two disagree in about half the runs."""
    runs = 400
    shared = run(teams("shared_readiness: {battery: [deployed]}"), runs, seed=5, engine=engine)
    down_a, down_b = (shared.observable(f"unit_ready[id={u}]") for u in "ab")
    np.testing.assert_array_equal(down_a, down_b)
    assert 0.4 < down_a.mean() < 0.6  # the draw is still a fair coin (SE 0.025)
    alone = run(teams(), runs, seed=5, engine=engine)
    assert (alone.observable("unit_ready[id=a]") != alone.observable("unit_ready[id=b]")).any()
    nested = run(teams("shared_readiness: {battery: [deployed]}", pa=0.3, pb=0.7), runs, seed=5,
                 engine=engine)
    up_a = nested.observable("unit_ready[id=a]") == 0
    up_b = nested.observable("unit_ready[id=b]") == 0
    assert np.all(up_b[up_a])
    assert 0.3 < up_b.mean() - up_a.mean() < 0.5  # P(b up, a down) = 0.4 (SE 0.025)


@BOTH
def test_sharing_one_factor_leaves_the_others_drawn_alone(engine):
    cs = teams("shared_readiness: {battery: [available]}")
    results = run(cs, 400, seed=5, engine=engine)
    assert (results.observable("unit_ready[id=a]") !=
            results.observable("unit_ready[id=b]")).any()


QUEUE = """
name: rules-doctrine
duration_s: 7200
reference: {lat: 0, lon: 0}
fire_units:
  - {id: u, guidance: infrared, acquire_rate: .inf, lat: 0, lon: 0, max_range_km: 50,
     max_alt_m: 5000, missiles: 10, pk: 1.0, engagement_time: 100}
threats:
%(threats)s
%(extra)s
"""
ROUTE = "[{lat: 1.0, lon: 0, alt_m: 1000}, {lat: -1.0, lon: 0, alt_m: 1000}]"


def queue(extra: str = "", classes: tuple[str, ...] = ("helicopter", "drone", "fixed_wing")):
    threats = "\n".join(f"  - {{id: t{i}, class: {c}, rcs_m2: 1, speed_mps: 50, start_s: "
                        f"{10 * i}, route: {ROUTE}}}" for i, c in enumerate(classes))
    return compile_scenario(parse_scenario(QUEUE % {"threats": threats, "extra": extra},
                                           "rules-doctrine.yaml"))


def kill_times(results) -> dict[str, float]:
    rows = results.threat_rows
    assert np.all(rows["row"] == 0)
    return {results.info.flight_ids[f]: t for f, t in zip(rows["flight"], rows["kill_time_s"],
                                                         strict=True)}


@BOTH
def test_waiting_threats_are_served_by_priority_then_first_come(engine):
    """t0 holds the only channel; t1 (a drone) then t2 (a jet) wait for it. First-come,
    first-served takes t1 first; a doctrine that ranks jets first takes t2 first."""
    fcfs = kill_times(run(queue(), 1, seed=1, engine=engine))
    assert fcfs["t0"] < fcfs["t1"] < fcfs["t2"]
    ranked = kill_times(run(queue("doctrine:\n  - {select: {ids: [u]}, engages: [fixed_wing, "
                                  "[helicopter, drone]]}"), 1, seed=1, engine=engine))
    assert ranked["t0"] < ranked["t2"] < ranked["t1"]
    assert ranked["t0"] == fcfs["t0"] and ranked["t2"] == fcfs["t1"]  # one slot each, swapped


@BOTH
def test_a_class_the_doctrine_does_not_engage_is_held_not_a_broken_link(engine):
    results = run(queue("doctrine:\n  - {select: {all: true}, engages: [fixed_wing]}",
                        classes=("drone", "fixed_wing")), 1, seed=1, engine=engine)
    assert results.observable("engagements")[0] == 1
    assert results.observable("threats_killed[class=fixed_wing]")[0] == 1
    assert results.observable("leakers[class=drone]")[0] == 1
    assert results.links.sum() == 0  # no link broke: the unit held fire
    assert results.threat_rows["deepest_link"].max() == -1
    passages = results.to_arrow("passages").to_pydict()
    assert passages["link"] == ["held"]


@BOTH
def test_threats_engageable_at_the_same_instant_are_served_by_priority(engine):
    """Both threats wait out the unit's disabled window and become engageable together when it
    ends, with the channel free: the doctrine's first class goes first, whichever entered the
    envelope first."""
    disabled = ("electronic_attack:\n  - {id: d, start_s: 0, end_s: 1300, targets: {ids: [u]},"
                " disable_prob: 1.0}")
    for doctrine, first in (("[fixed_wing, drone]", "t1"), ("[drone, fixed_wing]", "t0")):
        model = queue(f"doctrine:\n  - {{select: {{ids: [u]}}, engages: {doctrine}}}\n"
                      + disabled, classes=("drone", "fixed_wing"))
        times = kill_times(run(model, 1, seed=1, engine=engine))
        assert min(times, key=times.get) == first, (doctrine, times)
        assert min(times.values()) == 1400.0  # engaged as the window ends, for 100 s
