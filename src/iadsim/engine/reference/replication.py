"""The reference engine: one replication at a time, written to be read. It is the oracle that
faster engines must agree with.

A replication runs in three steps (MODEL.md):
1. draw everything fixed before anything moves: readiness, electronic-attack effects, strikes,
   stream arrivals;
2. work out, threat by threat, when each link of the kill chain holds — detection, reporting,
   orders, fire-control acquisition — which depends on chance but not on other threats;
3. play the engagements in SimPy, where threats compete for channels and missiles and a kill by
   one unit ends the others' chances; then record the first broken link of every failed passage.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass, field

import numpy as np
import simpy

from iadsim import distributions
from iadsim.compile import CompiledScenario, CompiledUnit, Entity
from iadsim.engine.reference.intervals import (
    ALWAYS,
    Intervals,
    StepRate,
    first_at_or_after,
    intersect,
    intersect_all,
    minus,
    since,
    union,
)
from iadsim.engine.reference.rng import replication_rng
from iadsim.engine.results import Replication
from iadsim.params import Params
from iadsim.rules import (
    ABORTED,
    AUTONOMOUS,
    CHANNEL,
    CONNECTED,
    DELEGATED,
    DETECTED,
    ENGAGEMENTS,
    FIRE_CONTROL,
    HELD,
    INF,
    KILL,
    KILLS,
    KINDS,
    LAUNCH_FAILURES,
    LAUNCHES,
    LINK_OF_OUTCOME,
    MAGAZINE,
    MISS,
    MISSES,
    MISSILES_FIRED,
    NO_LAUNCH,
    ORDERED,
    REPORTED,
    TRAINED,
    UNIT_COUNTS,
    UNIT_READY,
    UP,
)
from iadsim.scenario.schema import THREAT_CLASSES


def simulate_row(cs: CompiledScenario, params: Params, seed: int, replication: int
                 ) -> Replication:
    """One row: replication `replication` of the seed, at one row's parameter values."""
    return simulate_replication(cs, params, replication_rng(seed, replication))


# --- step 1: the world as drawn before anything moves ------------------------------------------


@dataclass
class World:
    """Everything in one replication that is fixed before anything moves."""

    ready: dict[str, np.ndarray]  # kind → (n, 5) bool, READINESS_FACTORS
    issues_orders: np.ndarray  # per command post
    destroyed_at: dict[str, np.ndarray]  # kind → time destroyed by a strike (inf: never)
    disabled: dict[Entity, Intervals] = field(default_factory=dict)
    link_cut: dict[Entity, Intervals] = field(default_factory=dict)
    detect_factors: dict[Entity, list[tuple[float, float, float]]] = field(default_factory=dict)
    pk_factors: dict[Entity, list[tuple[float, float, float]]] = field(default_factory=dict)
    launch_factors: dict[Entity, list[tuple[float, float, float]]] = field(default_factory=dict)
    threats: list[tuple[int, float]] = field(default_factory=list)  # (flight, start time)


def draw_world(cs: CompiledScenario, par: Params, rng: np.random.Generator) -> World:
    """Readiness, orders, electronic-attack effects, strike outcomes and stream arrivals."""
    draws = {kind: rng.random(par.readiness(kind).shape) for kind in KINDS}
    for shared in cs.shared:  # one draw for the group, compared with each member's probability
        u = rng.random()
        for e in shared.members:
            draws[e.kind][e.index, shared.factor] = u
    ready = {kind: draws[kind] < par.readiness(kind) for kind in KINDS}
    orders_prob = np.where(par.authority == AUTONOMOUS, 1.0, par.orders_prob)
    issues_orders = np.array([rng.random() < p for p in orders_prob], dtype=bool)
    destroyed_at = {kind: np.full(cs.count(kind), INF) for kind in KINDS}
    world = World(ready, issues_orders, destroyed_at)
    for i, strike in enumerate(cs.strikes):
        if rng.random() < par.p_destroy[i] and strike.time_s <= cs.duration_s:
            t = destroyed_at[strike.target.kind]
            t[strike.target.index] = min(t[strike.target.index], strike.time_s)
    for a, attack in enumerate(cs.attacks):
        window, active = (attack.start_s, attack.end_s), par.attack_active[a]
        for target in attack.targets:  # an inactive window draws, but does nothing
            if rng.random() < par.link_cut_prob[a] and active:
                world.link_cut.setdefault(target, []).append(window)
            if rng.random() < par.disable_prob[a] and active:
                world.disabled.setdefault(target, []).append(window)
            if active:
                world.detect_factors.setdefault(target, []).append(
                    (*window, par.detect_factor[a]))
                world.pk_factors.setdefault(target, []).append((*window, par.pk_factor[a]))
                world.launch_factors.setdefault(target, []).append(
                    (*window, par.launch_factor[a]))
    for f, flight in enumerate(cs.flights):
        if flight.stream_rate_per_s > 0:
            span = flight.stream_end_s - flight.start_s
            starts = np.sort(flight.start_s + span * rng.random(rng.poisson(
                flight.stream_rate_per_s * span)))
        else:
            starts = np.array([flight.start_s])
        world.threats += [(f, float(t)) for t in starts for _ in range(flight.count)]
    return world


# --- step 2: when each link holds, threat by threat ----------------------------------------------


class Chain:
    """When each entity is up in one replication, and the kill-chain times derived from it."""

    def __init__(self, cs: CompiledScenario, par: Params, world: World,
                 rng: np.random.Generator):
        self.cs, self.par, self.world, self.rng = cs, par, world, rng
        horizon = [(0.0, cs.duration_s)]
        self.sensor_on = [self._up(Entity("sensor", i), horizon, UP["sensor"])
                          for i in range(len(cs.sensors))]
        self.sensor_link = [minus(self.sensor_on[i] if world.ready["sensor"][i, CONNECTED] else [],
                                  world.link_cut.get(Entity("sensor", i), []))
                            for i in range(len(cs.sensors))]
        self.cp_on = [self._up(Entity("command_post", i), horizon, UP["command_post"])
                      for i in range(len(cs.command_posts))]
        self.cp_link = [minus(self.cp_on[i], world.link_cut.get(Entity("command_post", i), []))
                        for i in range(len(cs.command_posts))]
        self.unit_ready = [self._up(Entity("fire_unit", i), horizon, UP["fire_unit"])
                           for i in range(len(cs.units))]
        # when orders reach each unit: it is connected, and its link is not cut
        self.order_link = [minus(horizon if world.ready["fire_unit"][i, CONNECTED] else [],
                                 world.link_cut.get(Entity("fire_unit", i), []))
                           for i in range(len(cs.units))]
        self.search_rate = [StepRate.build(self.sensor_on[i], par.detect_rate[i],
                                           world.detect_factors.get(Entity("sensor", i), []))
                            for i in range(len(cs.sensors))]
        self.fire_control_rate = [StepRate.build(self.sensor_link[i], par.detect_rate[i],
                                                 world.detect_factors.get(Entity("sensor", i), []))
                                  for i in range(len(cs.sensors))]
        self.infrared_rate = [StepRate.build(self.unit_ready[i], par.acquire_rate[i],
                                             world.detect_factors.get(Entity("fire_unit", i), []))
                              for i in range(len(cs.units))]

    def _up(self, entity: Entity, horizon: Intervals, factors: tuple[int, ...]) -> Intervals:
        """Times the entity works: all its readiness factors drawn true, before any strike
        destroys it, outside the windows in which it is disabled."""
        if not all(self.world.ready[entity.kind][entity.index, f] for f in factors):
            return []
        end = self.world.destroyed_at[entity.kind][entity.index]
        if end <= horizon[0][0]:
            return []  # destroyed at the start: gone from the first moment
        alive = intersect(horizon, [(-INF, end)]) if end < INF else horizon
        return minus(alive, self.world.disabled.get(entity, []))

    def shifted(self, intervals: tuple[tuple[float, float], ...], start: float) -> Intervals:
        """Route-relative intervals moved to a threat's start and cut to the scenario's end."""
        return [(a + start, min(b + start, self.cs.duration_s)) for a, b in intervals
                if a + start <= self.cs.duration_s]

    def command_times(self, flight: int, start: float) -> list[tuple[float | None, float | None,
                                                                       float | None]]:
        """Per command post: first detection by one of its search radars, first report, order."""
        cs = self.cs
        detected: list[float | None] = [None] * len(cs.command_posts)
        reported: list[float | None] = [None] * len(cs.command_posts)
        for s, sensor in enumerate(cs.sensors):
            if sensor.role != "search" or sensor.command_post < 0:
                continue
            c = sensor.command_post
            for lo, hi in self.shifted(cs.coverage[flight, s], start):
                t = self.search_rate[s].first_event(self.rng.exponential(), lo, hi)
                if t is None:
                    continue
                detected[c] = _earliest(detected[c], t)
                sent = first_at_or_after(intersect(self.sensor_link[s], self.cp_link[c]), t)
                if sent is not None and sent <= hi:
                    reported[c] = _earliest(reported[c], sent + self.par.report_delay[c])
        return [(detected[c], reported[c], self._order(c, reported[c]))
                for c in range(len(cs.command_posts))]

    def _order(self, c: int, reported: float | None) -> float | None:
        """When the command post orders the engagement of a reported track, if it does."""
        par = self.par
        if reported is None or not self.world.issues_orders[c]:
            return None
        code, a, b, z = par.decision_delay[c]
        delay = (par.autonomous_delay[c] if par.authority[c] == AUTONOMOUS
                 else distributions.sample(int(code), a, b, z, self.rng))
        t = reported + delay
        for lo, hi in sorted(self.world.disabled.get(Entity("command_post", c), [])):
            if lo <= t < hi:
                t = hi
        if t >= self.cs.duration_s:
            return None  # an order at the end of the scenario comes too late
        return t if t < self.world.destroyed_at["command_post"][c] else None

    def acquisition(self, u: int, flight: int, start: float, lo: float, hi: float) -> Intervals:
        """When the unit's fire control holds the threat during one envelope passage."""
        unit = self.cs.units[u]
        if unit.guidance == "infrared":
            t = self.infrared_rate[u].first_event(self.rng.exponential(), lo, hi)
            return [] if t is None else intersect([(t, hi)], self.unit_ready[u])
        radar = unit.fire_control_radar
        held: Intervals = []
        for c_lo, c_hi in intersect([(lo, hi)], self.shifted(self.cs.coverage[flight, radar],
                                                              start)):
            t = self.fire_control_rate[radar].first_event(self.rng.exponential(), c_lo, c_hi)
            if t is not None:
                held += intersect([(t, c_hi)], self.sensor_link[radar])
        return union(held)


    def own_acquisition_authorises(self, u: int) -> bool:
        """Whether the unit may engage on its own acquisition, without an order."""
        cp = self.cs.units[u].command_post
        return cp < 0 or self.par.authority[cp] == DELEGATED

    def automated(self, u: int) -> bool:
        """Whether the unit's command post is autonomous (its crew counts as trained)."""
        cp = self.cs.units[u].command_post
        return cp >= 0 and self.par.authority[cp] == AUTONOMOUS


def _earliest(a: float | None, b: float) -> float:
    return b if a is None else min(a, b)


@dataclass
class Passage:
    """One threat crossing one unit's envelope, and what happened in it."""

    threat: int
    unit: int
    entry: float
    exit: float
    ready: Intervals  # when link 1 holds …
    detected: Intervals  # … links 1–2 …
    reported: Intervals  # … 1–3 …
    ordered: Intervals  # … 1–4 …
    engageable: Intervals  # … and 1–5 hold together
    priority: int  # the unit's fire doctrine for the threat's class (0 first; −1: held fire)
    outcomes: list[int] = field(default_factory=list)  # per engagement: rules.ABORTED … KILL
    last_resolution: float = -INF


def plan_passages(cs: CompiledScenario, world: World, chain: Chain) -> list[Passage]:
    """Every (threat, unit, envelope interval) with the times its links hold."""
    passages = []
    for j, (f, start) in enumerate(world.threats):
        command = chain.command_times(f, start)
        for u, unit in enumerate(cs.units):
            for lo, hi in chain.shifted(cs.envelope[f, u], start):
                passages.append(_passage(cs, chain, command, j, u, unit, f, start, lo, hi))
    passages.sort(key=lambda p: (p.entry, p.threat, p.unit))
    return passages


def _passage(cs: CompiledScenario, chain: Chain, command: list, j: int, u: int,
             unit: CompiledUnit, f: int, start: float, lo: float, hi: float) -> Passage:
    ready = intersect([(lo, hi)], chain.unit_ready[u])
    acquired = chain.acquisition(u, f, start, lo, hi)
    own_authorises = chain.own_acquisition_authorises(u)
    own = acquired if own_authorises else []
    detected_at, reported_at, ordered_at = command[unit.command_post] if unit.command_post >= 0 \
        else (None, None, None)
    if ordered_at is not None:  # the order reaches the unit once its link is up
        ordered_at = first_at_or_after(chain.order_link[u], ordered_at)
    ordered = union(since(ordered_at), own)
    authorised = ALWAYS if own_authorises else since(ordered_at)
    return Passage(
        threat=j, unit=u, entry=lo, exit=hi, ready=ready,
        detected=intersect(ready, union(since(detected_at), acquired)),  # under any authority
        reported=intersect(ready, union(since(reported_at), own)),
        ordered=intersect(ready, ordered),
        engageable=intersect_all(ready, authorised, acquired),
        priority=unit.priority[THREAT_CLASSES.index(cs.flights[f].threat_class)])


# --- step 3: engagements --------------------------------------------------------------------------


# SimPy's event priorities are 0 (urgent) and 1 (normal); these come after every normal event of
# the same instant, grants first, then window ends
_GRANT, _WINDOW_END = 2, 3


class Channels(simpy.PriorityResource):
    """A unit's channels: served by priority, then first-come, first-served (MODEL.md, fire
    doctrine). Free channels are handed out once every other event of the instant has run, so
    that threats that become engageable at the same instant are served by priority, as the
    vectorized engine serves them, not by which process happened to ask first."""

    def __init__(self, env: simpy.Environment, capacity: int):
        super().__init__(env, capacity)
        self._grant: simpy.Event | None = None

    def _trigger_put(self, get_event: object) -> None:
        if self._grant is None:
            self._grant = _scheduled(self._env, 0.0, _GRANT)
            self._grant.callbacks.append(self._hand_out)

    def _hand_out(self, _: object) -> None:
        self._grant = None
        super()._trigger_put(None)


def _scheduled(env: simpy.Environment, delay: float, priority: int) -> simpy.Event:
    """An event that fires after `delay`, after the events of lower priority of that instant."""
    event = simpy.Event(env)
    event._ok, event._value = True, None  # triggered: SimPy has no public call for a priority
    env.schedule(event, priority, delay)  # type: ignore[arg-type]
    return event


def _after_grants(env: simpy.Environment, hi: float) -> simpy.Event:
    """The end of an engageable window at `hi`: a channel handed out at that very instant still
    starts an engagement (no start after the window, but one at its end)."""
    return _scheduled(env, max(0.0, hi - env.now), _WINDOW_END)


class Battle:
    """The engagements of one replication, played out in SimPy."""

    def __init__(self, cs: CompiledScenario, par: Params, world: World, chain: Chain,
                 rng: np.random.Generator):
        self.cs, self.par, self.world, self.chain, self.rng = cs, par, world, chain, rng
        self.env = simpy.Environment()
        self.channels = [Channels(self.env, capacity=int(c)) for c in par.channels]
        self.missiles = [int(m) for m in par.missiles]
        # when each unit fired its last missile (−inf: it had none; inf: never)
        self.empty_at = [INF if m > 0 else -INF for m in self.missiles]
        self.counts = np.zeros((len(UNIT_COUNTS), len(cs.units)), dtype=np.int32)
        n = len(world.threats)
        self.killed = [self.env.event() for _ in range(n)]
        self.killer = [-1] * n
        self.kill_time = [math.nan] * n
        self.last_resolution = [-INF] * n  # of the threat's last engagement, by any unit

    def run(self, passages: list[Passage]) -> None:
        for p in passages:
            if p.engageable and p.priority >= 0:  # a class the doctrine holds is never fought
                self.env.process(self._fight(p))
        self.env.run()

    def _fight(self, p: Passage) -> Generator[simpy.Event, object, None]:
        """Engage the threat whenever it is engageable and a channel is free, by priority, then
        first-come, first-served."""
        unit = self.cs.units[p.unit]
        for lo, hi in p.engageable:
            while max(lo, self.env.now) <= hi:
                if self.env.now < lo:
                    yield self.env.timeout(lo - self.env.now)
                if self.killed[p.threat].triggered:
                    return
                request = self.channels[p.unit].request(priority=p.priority)
                yield request | self.killed[p.threat] | _after_grants(self.env, hi)
                if not request.triggered:
                    request.cancel()
                    if self.killed[p.threat].triggered:
                        return
                    break  # left this window while waiting for a channel
                if self.killed[p.threat].triggered or self.missiles[p.unit] == 0:
                    self.channels[p.unit].release(request)
                    return
                yield from self._engage(p, unit)
                self.channels[p.unit].release(request)
                if p.outcomes[-1] in (KILL, ABORTED) or not self.par.shoot_look_shoot[p.unit]:
                    return

    def _engage(self, p: Passage, unit: CompiledUnit) -> Generator[simpy.Event, object, None]:
        """One engagement: fire a salvo, hold the channel, then resolve each missile."""
        u, j = p.unit, p.threat
        par = self.par
        fired = min(int(par.salvo[u]), self.missiles[u])
        self.missiles[u] -= fired
        if self.missiles[u] == 0 and self.empty_at[u] == INF:
            self.empty_at[u] = self.env.now
        self.counts[ENGAGEMENTS, u] += 1
        self.counts[MISSILES_FIRED, u] += fired
        yield self.env.timeout(self._engagement_time(u, j))
        p.last_resolution = self.env.now
        self.last_resolution[j] = max(self.last_resolution[j], self.env.now)
        if self.world.destroyed_at["fire_unit"][u] <= self.env.now:
            p.outcomes.append(ABORTED)
            return
        crew = 1.0 if self._trained(u) else par.untrained_crew_factor
        flight = self.world.threats[j][0]
        p_launch = min(1.0, par.launch_reliability[u] * crew *
                       self._factor(self.world.launch_factors, u))
        p_kill = min(1.0, par.pk[u, flight] * crew * self._factor(self.world.pk_factors, u))
        launched = self.rng.random(fired) < p_launch
        kills = launched & (self.rng.random(fired) < p_kill)
        if self.env.now > self.world.threats[j][1] + self.cs.flights[flight].track.duration_s:
            kills[:] = False  # the threat reached the end of its route first: a leaker
        self.counts[LAUNCHES, u] += launched.sum()
        self.counts[LAUNCH_FAILURES, u] += fired - launched.sum()
        self.counts[MISSES, u] += launched.sum() - kills.sum()
        if kills.any() and not self.killed[j].triggered:
            self.counts[KILLS, u] += 1
            self.killer[j], self.kill_time[j] = u, self.env.now
            self.killed[j].succeed()
            p.outcomes.append(KILL)
        else:
            p.outcomes.append(MISS if launched.any() else NO_LAUNCH)

    def _engagement_time(self, u: int, j: int) -> float:
        unit = self.cs.units[u]
        code, a, b, c = self.par.engagement_time[u]
        if code != distributions.FLYOUT:
            return distributions.sample(int(code), a, b, c, self.rng)
        flight, start = self.world.threats[j]
        track = self.cs.flights[flight].track
        distance = float(track.slant_range_m(self.env.now - start, *unit.xyz))
        return self.par.acquisition_time[u] + distance / self.par.missile_speed[u]

    def _trained(self, u: int) -> bool:
        """Crew skill; automated command is immune to it (MODEL.md, authority modes)."""
        return bool(self.world.ready["fire_unit"][u, TRAINED]) or self.chain.automated(u)

    def _factor(self, factors: dict[Entity, list[tuple[float, float, float]]], u: int) -> float:
        """The product of the attack factors on unit u that are active now."""
        t = self.env.now
        return math.prod(f for lo, hi, f in factors.get(Entity("fire_unit", u), [])
                         if lo <= t < hi)


def first_broken_link(p: Passage, empty_at: float) -> int:
    """The first link of the chain that broke in a passage that did not kill (MODEL.md);
    `empty_at`: when its unit fired its last missile."""
    if p.outcomes:
        return LINK_OF_OUTCOME[p.outcomes[-1]]
    for link, held in ((UNIT_READY, p.ready), (DETECTED, p.detected), (REPORTED, p.reported),
                       (ORDERED, p.ordered), (FIRE_CONTROL, p.engageable)):
        if not held:
            return link
    # links 1–5 held: missiles remained when they first did, so no channel was free in time
    return CHANNEL if p.engageable[0][0] < empty_at else MAGAZINE


def simulate_replication(cs: CompiledScenario, par: Params, rng: np.random.Generator
                         ) -> Replication:
    """One replication of the scenario at one row's parameters (MODEL.md), recorded."""
    world = draw_world(cs, par, rng)
    chain = Chain(cs, par, world, rng)
    passages = plan_passages(cs, world, chain)
    battle = Battle(cs, par, world, chain, rng)
    battle.run(passages)
    record = Replication(
        unit_counts=battle.counts,
        destroyed=np.concatenate([world.destroyed_at[k] <= cs.duration_s for k in KINDS]),
        threat_flight=[f for f, _ in world.threats],
        threat_start=[t for _, t in world.threats],
        killer=battle.killer, kill_time=battle.kill_time,
        arrived_first=[k < 0 and t > start + cs.flights[f].track.duration_s
                       for k, t, (f, start) in zip(battle.killer, battle.last_resolution,
                                                   world.threats, strict=True)])
    for p in passages:
        if KILL in p.outcomes:
            continue
        kill_time = battle.kill_time[p.threat]
        if not math.isnan(kill_time) and kill_time <= max(p.exit, p.last_resolution):
            continue  # cut short by another unit's kill: not a failure
        link = HELD if p.priority < 0 else first_broken_link(p, battle.empty_at[p.unit])
        record.passages.append((p.threat, p.unit, link, p.entry, p.exit))
    return record
