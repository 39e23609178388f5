"""Parameters that cannot act (MODEL.md, "Precise rules"): those of a model's point that no
outcome can depend on, given the compiled structure (wiring, coverage, envelopes, doctrine,
strike times) and the categorical values in force at the point (authority, whether an
electronic-attack window is on, a duration's family). They are accepted; `validate` and `run`
name them in a warning, so that an analyst does not believe a change mattered.

Only what follows from the engines' rules with certainty is named. A parameter made inert by
another one's *number* (a readiness of 0 or 1, a pk of 0) is not: a sweep of that other
number would make it act.

The vectorized engine addresses every draw by its purpose (common random numbers), so a run
gives identical results whatever values the named parameters take. The reference engine draws
from one generator in sequence, and a command post that receives reports but has no fire unit
still draws its decision delays there: a change to such a post's parameters (or to its
sensors') can move the draws that follow — other luck, the same distribution of outcomes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import NamedTuple

from iadsim import distributions as dist
from iadsim.model import Model
from iadsim.rules import AUTHORITIES, AUTONOMOUS, DELEGATED
from iadsim.scenario.schema import THREAT_CLASSES

__all__ = ["Inert", "inert_parameters"]

COLLECTIONS = ("sensors", "command_posts", "fire_units")
COMMAND = ("orders_prob", "report_delay_s", "decision_delay", "autonomous_delay_s",
           "readiness.available", "readiness.deployed")  # a post's part in ordering
ENGAGEMENT = ("launch_reliability", "salvo", "missiles", "channels", "shoot_look_shoot",
              "engagement_time", "acquisition_time_s", "missile_speed_mps",
              "readiness.trained")  # a unit's parameters that act only once it engages, and pk
EFFECTS = ("detect_factor", "link_cut_prob", "disable_prob", "pk_factor", "launch_factor")


# what each electronic-attack effect must target to act
_REACH = {"detect_factor": "sensor or infrared fire unit whose detections count",
          "link_cut_prob": "link that carries reports or orders",
          "disable_prob": "sensor, command post or fire unit that acts",
          "pk_factor": "fire unit that engages", "launch_factor": "fire unit that engages"}


class Inert(NamedTuple):
    """A parameter path that cannot change any outcome at the model's point, and why. A
    duration field (`…decision_delay`, `…engagement_time`) is named once for all its paths
    (`.dist`, `.mean`, …)."""

    path: str
    why: str
    written: bool  # set in the scenario file, a profile or --set (not a default or catalog
    # value that nobody wrote down)


def inert_parameters(model: Model) -> list[Inert]:
    """Every parameter of the model's current point that cannot change any outcome, with the
    reason, in the parameter listing's order (each path once, with its first reason)."""
    found: dict[str, str] = {}
    _Rules(model, found).apply()
    order = {path: i for i, path in enumerate(_paths_in_force(model))}
    written = _written(model)
    return [Inert(path, found[path], path in written)
            for path in sorted(found, key=lambda path: order.get(path, len(order)))]


def _written(model: Model) -> set[str]:
    """The paths (duration fields once) whose value someone wrote: in the scenario file, a
    profile or a --set, rather than a schema default or a catalog type's figure."""
    source, origin = model.scenario.source, model.point.origin
    out = set()
    for p in model.space.parameters:
        o = origin[p.slot]
        if isinstance(o, str) or (isinstance(o, tuple) and (source is None or o in source.lines)):
            out.add(model.space.field(p.path))
    return out


class _Rules:
    """The rules, read from the engines (reference and vectorized alike)."""

    def __init__(self, model: Model, found: dict[str, str]):
        self.model, self.found = model, found
        cs, space, theta = model.structure, model.space, model.point.theta
        self.cs = cs
        self.owned = _owned(model)
        self.authority = [int(theta[space.by_path[f"command_posts.{c.id}.authority"].slot])
                          for c in cs.command_posts]  # rules.AUTHORITIES
        F = len(cs.flights)
        # which flights enter each unit's envelope, and each sensor's coverage
        self.enters = [[f for f in range(F) if cs.envelope[f, u]] for u in range(len(cs.units))]
        self.covers = [any(cs.coverage[f, s] for f in range(F)) for s in range(len(cs.sensors))]
        self.units_of = [[u for u, unit in enumerate(cs.units) if unit.command_post == c]
                         for c in range(len(cs.command_posts))]
        # search sensors whose detections can reach a command post: they report to one and
        # some threat's route enters their coverage
        self.reporters = [[s for s, sensor in enumerate(cs.sensors)
                           if sensor.role == "search" and sensor.command_post == c
                           and self.covers[s]] for c in range(len(cs.command_posts))]
        # a post whose orders can reach a unit: something reports to it, and it has units
        self.orders = [bool(self.reporters[c] and self.units_of[c])
                       for c in range(len(cs.command_posts))]
        fire_control = {u.fire_control_radar for u in cs.units if u.fire_control_radar >= 0}
        self.sensor_acts = [
            self.covers[s] and (s in fire_control or (
                sensor.role == "search" and sensor.command_post >= 0
                and bool(self.units_of[sensor.command_post])))
            for s, sensor in enumerate(cs.sensors)]
        # a unit acts if a threat of a class its doctrine engages enters its envelope …
        self.unit_acts = [any(unit.priority[THREAT_CLASSES.index(cs.flights[f].threat_class)]
                              >= 0 for f in self.enters[u]) for u, unit in enumerate(cs.units)]
        # … and it engages if, besides, it may fire on its own acquisition (no post, or a
        # delegated one) or its post receives reports (MODEL.md: authorised = ordered ∪ own)
        self.engages = [self.unit_acts[u] and (unit.command_post < 0 or self.authority[
            unit.command_post] == DELEGATED or bool(self.reporters[unit.command_post]))
                        for u, unit in enumerate(cs.units)]

    def silent(self, c: int) -> str:
        """Why command post c never receives a report."""
        if any(s.role == "search" and s.command_post == c for s in self.cs.sensors):
            return ("no threat's route enters the coverage of the search sensors that report "
                    "to this command post")
        return "no search sensor reports to this command post"

    def name(self, paths: Iterable[str], why: str) -> None:
        for path in paths:
            self.found.setdefault(path, why)

    def own(self, collection: str, eid: str, *names: str) -> list[str]:
        """The entity's paths in force: all of them, or those with the given names."""
        paths = self.owned.get((collection, eid), [])
        if not names:
            return paths
        return [p for p in paths if p.removeprefix(f"{collection}.{eid}.") in names]

    def apply(self) -> None:
        self.sensors()
        self.command_posts()
        self.fire_units()
        self.attacks()
        self.strikes()
        self.crew_factor()

    def sensors(self) -> None:
        cs = self.cs
        for s, sensor in enumerate(cs.sensors):
            if self.sensor_acts[s]:
                continue
            if not self.covers[s]:
                why = "no threat's route enters this sensor's coverage, so it never detects"
            elif sensor.role == "fire_control":
                why = "no fire unit uses this fire-control radar"
            elif sensor.command_post < 0:
                why = ("this search sensor reports to no command post and is no fire unit's "
                       "fire-control radar, so its detections reach no one")
            else:
                why = (f"its command post {cs.command_posts[sensor.command_post].id} has no "
                       "fire unit to order, and no fire unit uses it for fire control")
            self.name(self.own("sensors", sensor.id), why)

    def command_posts(self) -> None:
        cs = self.cs
        for c, post in enumerate(cs.command_posts):
            own = self.own
            if not self.reporters[c]:
                self.name(own("command_posts", post.id, *COMMAND),
                          f"{self.silent(c)}, so it never orders anything")
            if not self.units_of[c]:
                self.name(own("command_posts", post.id, *COMMAND, "authority"),
                          "no fire unit takes this command post's orders")
            if self.authority[c] == AUTONOMOUS:
                self.name(own("command_posts", post.id, "orders_prob", "decision_delay"),
                          "authority is autonomous: orders are always issued, after "
                          "autonomous_delay_s")
            else:
                self.name(own("command_posts", post.id, "autonomous_delay_s"),
                          f"authority is {AUTHORITIES[self.authority[c]]}: this delay acts only "
                          "under autonomous authority")

    def fire_units(self) -> None:
        cs, space, theta = self.cs, self.model.space, self.model.point.theta
        for u, unit in enumerate(cs.units):
            own = self.own
            if not self.enters[u]:
                self.name(own("fire_units", unit.id),
                          "no threat's route enters this fire unit's envelope")
                continue
            if not self.unit_acts[u]:
                self.name(own("fire_units", unit.id), "this fire unit's doctrine holds fire on "
                          "every class whose route enters its envelope")
                continue
            cp = unit.command_post
            if cp < 0:
                self.name(own("fire_units", unit.id, "readiness.connected"),
                          "this fire unit has no command post, so no orders reach it")
            elif not self.reporters[cp]:
                self.name(own("fire_units", unit.id, "readiness.connected"),
                          f"its command post {cs.command_posts[cp].id} never orders anything "
                          f"({self.silent(cp).replace('this command post', 'it')})")
            if not self.engages[u]:
                self.name(own("fire_units", unit.id, *ENGAGEMENT, *self.pk(unit.id)),
                          f"this fire unit never engages: it fires only on orders (authority "
                          f"{AUTHORITIES[self.authority[cp]]}) and its command post "
                          f"{cs.command_posts[cp].id} never orders anything")
            classes = {cs.flights[f].threat_class for f in self.enters[u]}
            for k, c in enumerate(THREAT_CLASSES):
                if c not in classes:
                    why = f"no {c} flight enters this fire unit's envelope"
                elif unit.priority[k] < 0:
                    why = f"this fire unit's doctrine holds fire on {c}"
                else:
                    continue
                self.name(own("fire_units", unit.id, f"pk.{c}"), why)
            if cp >= 0 and self.authority[cp] == AUTONOMOUS:
                self.name(own("fire_units", unit.id, "readiness.trained"),
                          f"its command post {cs.command_posts[cp].id} is autonomous: its crew "
                          "counts as trained")
            family = space.by_path[f"fire_units.{unit.id}.engagement_time.dist"]
            chosen = family.decode(theta[family.slot])
            if chosen != "flyout":
                self.name(own("fire_units", unit.id, "acquisition_time_s", "missile_speed_mps"),
                          f"engagement_time is {dist.described(chosen)}: the flyout time "
                          "(acquisition_time_s + flight at missile_speed_mps) is not used")

    def pk(self, eid: str) -> list[str]:
        """The names of a unit's pk paths (one per threat class flown)."""
        return [c for c in (p.removeprefix(f"fire_units.{eid}.")
                            for p in self.own("fire_units", eid)) if c.startswith("pk.")]

    def attacks(self) -> None:
        """An electronic-attack window's effects act only through targets they can change."""
        cs, space, theta = self.cs, self.model.space, self.model.point.theta
        for attack in cs.attacks:
            reach: dict[str, bool] = dict.fromkeys(EFFECTS, False)
            for t in attack.targets:
                if t.kind == "sensor" and self.sensor_acts[t.index]:
                    for effect in ("detect_factor", "link_cut_prob", "disable_prob"):
                        reach[effect] = True
                elif t.kind == "command_post" and self.orders[t.index]:
                    reach["link_cut_prob"] = reach["disable_prob"] = True
                elif t.kind == "fire_unit" and self.unit_acts[t.index]:
                    unit = cs.units[t.index]
                    reach["disable_prob"] = True
                    if self.engages[t.index]:
                        reach["pk_factor"] = reach["launch_factor"] = True
                    if unit.guidance == "infrared":
                        reach["detect_factor"] = True
                    if unit.command_post >= 0 and self.reporters[unit.command_post]:
                        reach["link_cut_prob"] = True  # orders reach it through its link
            prefix = f"electronic_attack.{attack.id}"
            for effect in EFFECTS:
                if not reach[effect]:
                    self.name([f"{prefix}.{effect}"],
                              f"this electronic-attack window targets no {_REACH[effect]}")
            if not any(reach.values()):
                self.name([f"{prefix}.active"],
                          "this electronic-attack window targets nothing it can change")
            active = space.by_path[f"{prefix}.active"]
            if not active.decode(theta[active.slot]):
                self.name([f"{prefix}.{effect}" for effect in EFFECTS],
                          "this electronic-attack window is off (active: false)")

    def strikes(self) -> None:
        for strike in self.cs.strikes:
            if strike.time_s > self.cs.duration_s:
                self.name([f"strikes.{strike.key}.p_destroy"],
                          f"this strike comes after the scenario ends ({self.cs.duration_s:g} s)")

    def crew_factor(self) -> None:
        cs = self.cs
        engaging = [u for u in range(len(cs.units)) if self.engages[u]]
        if not engaging:
            self.name(["untrained_crew_factor"], "no fire unit can engage")
        elif all(cs.units[u].command_post >= 0
                 and self.authority[cs.units[u].command_post] == AUTONOMOUS for u in engaging):
            self.name(["untrained_crew_factor"], "every fire unit that can engage is under an "
                      "autonomous command post, so its crew counts as trained")


def _paths_in_force(model: Model) -> list[str]:
    """Every parameter path in force at the point, a duration field once, in listing order."""
    space, theta = model.space, model.point.theta
    out: dict[str, None] = {}
    for p in space.parameters:
        if not math.isnan(theta[p.slot]):
            out[model.space.field(p.path)] = None
    return list(out)


def _owned(model: Model) -> dict[tuple[str, str], list[str]]:
    """Each entity's paths in force, by (collection, id); an id may contain dots, so a path
    belongs to the longest id it starts with."""
    ids = {"sensors": [s.id for s in model.structure.sensors],
           "command_posts": [c.id for c in model.structure.command_posts],
           "fire_units": [u.id for u in model.structure.units]}
    out: dict[tuple[str, str], list[str]] = {}
    for path in _paths_in_force(model):
        collection = path.partition(".")[0]
        if collection not in COLLECTIONS:
            continue
        owners = [i for i in ids[collection] if path.startswith(f"{collection}.{i}.")]
        if owners:
            out.setdefault((collection, max(owners, key=len)), []).append(path)
    return out
