"""Scenario → CompiledScenario: the local frame, routes as tracks, coverage and envelope
intervals, resolved readiness for one profile, and index-based wiring. Engines read only this."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from iadsim.geometry import Interval, LocalFrame, Track, coverage_intervals, envelope_intervals
from iadsim.scenario.load import Problem, ScenarioError
from iadsim.scenario.schema import (
    READINESS_FACTORS,
    CommandPost,
    Distribution,
    ElectronicAttack,
    FireUnit,
    Flight,
    Scenario,
    Selection,
    Sensor,
    Stream,
)

KINDS = ("sensor", "command_post", "fire_unit")
# columns of CompiledScenario.readiness, in READINESS_FACTORS order
AVAILABLE, DEPLOYED, EMITTING, CONNECTED, TRAINED = range(len(READINESS_FACTORS))


@dataclass(frozen=True)
class Entity:
    """A defence entity's place in the compiled arrays."""

    kind: str
    index: int


@dataclass(frozen=True)
class CompiledSensor:
    id: str
    role: str
    xyz: tuple[float, float, float]
    detect_rate: float
    command_post: int  # -1: none


@dataclass(frozen=True)
class CompiledCommandPost:
    id: str
    authority: str
    orders_prob: float
    report_delay_s: float
    decision_delay: float | Distribution
    autonomous_delay_s: float


@dataclass(frozen=True)
class CompiledUnit:
    id: str
    unit_type: str
    guidance: str
    xyz: tuple[float, float, float]
    command_post: int  # -1: none
    authority: str  # of its command post: central, delegated, autonomous; "own" with none
    fire_control_radar: int  # -1 for infrared units
    acquire_rate: float
    channels: int
    missiles: int
    salvo: int
    launch_reliability: float
    pk: tuple[float, ...]  # by flight
    engagement_time: float | Distribution | None
    acquisition_time_s: float
    missile_speed_mps: float
    shoot_look_shoot: bool

    @property
    def own_acquisition_authorises(self) -> bool:
        """Whether the unit may engage on its own acquisition, without an order."""
        return self.authority in ("delegated", "own")


@dataclass(frozen=True)
class CompiledFlight:
    """A threat flight or a stream: `count` aircraft flying one track."""

    id: str
    threat_class: str
    count: int
    rcs_m2: float
    start_s: float
    track: Track
    stream_rate_per_s: float = 0.0  # > 0 for a stream
    stream_end_s: float = 0.0


@dataclass(frozen=True)
class CompiledStrike:
    target: Entity
    time_s: float
    p_destroy: float


@dataclass(frozen=True)
class CompiledAttack:
    id: str
    start_s: float
    end_s: float
    targets: tuple[Entity, ...]
    detect_factor: float
    link_cut_prob: float
    disable_prob: float
    pk_factor: float


@dataclass(frozen=True)
class CompiledScenario:
    """Plain, chance-free data for one scenario under one readiness profile."""

    name: str
    profile: str
    duration_s: float
    untrained_crew_factor: float
    sensors: tuple[CompiledSensor, ...]
    command_posts: tuple[CompiledCommandPost, ...]
    units: tuple[CompiledUnit, ...]
    flights: tuple[CompiledFlight, ...]
    strikes: tuple[CompiledStrike, ...]
    attacks: tuple[CompiledAttack, ...]
    readiness: dict[str, np.ndarray]  # kind → (n_entities, 5) probabilities, READINESS_FACTORS
    coverage: dict[tuple[int, int], tuple[Interval, ...]]  # (flight, sensor) → times from start
    envelope: dict[tuple[int, int], tuple[Interval, ...]]  # (flight, unit) → times from start


def compile_scenario(scenario: Scenario, profile: str | None = None) -> CompiledScenario:
    """Resolve one profile's readiness and compute every route's intervals once."""
    if profile is not None and profile not in scenario.profiles:
        known = ", ".join(scenario.profiles) or "none"
        raise ScenarioError([Problem(scenario.name, None, "profile",
                                     f"no profile {profile!r}; this scenario has: {known}")])
    ref = scenario.reference or (scenario.sensors[0] if scenario.sensors else
                                 scenario.fire_units[0] if scenario.fire_units else None)
    if ref is None:
        raise ScenarioError([Problem(scenario.name, None, "reference",
                                     "give a reference point or at least one sensor or unit")])
    frame = LocalFrame(ref.lat, ref.lon)
    index = {kind: {e.id: i for i, e in enumerate(_entities(scenario, kind))} for kind in KINDS}
    cp_index = index["command_post"]
    sensors = tuple(_sensor(s, frame, cp_index) for s in scenario.sensors)
    flights = tuple(_flight(f, frame) for f in [*scenario.threats, *scenario.streams])
    authority = {c.id: c.authority for c in scenario.command_posts}
    units = tuple(_unit(u, frame, cp_index, authority, index["sensor"], flights)
                  for u in scenario.fire_units)
    orders, readiness = _resolve_readiness(scenario, profile, frame)
    command_posts = tuple(_command_post(c, orders[i])
                          for i, c in enumerate(scenario.command_posts))
    by_id = {eid: Entity(kind, i) for kind in KINDS for eid, i in index[kind].items()}
    strikes = tuple(CompiledStrike(by_id[s.target], s.time_s, s.p_destroy)
                    for s in scenario.strikes)
    attacks = tuple(_attack(a, scenario, frame) for a in scenario.electronic_attack)
    coverage = {(f, s): tuple(coverage_intervals(fl.track, fl.rcs_m2, se.xyz[0], se.xyz[1],
                                                 se.xyz[2], spec.range_km))
                for f, fl in enumerate(flights)
                for s, (se, spec) in enumerate(zip(sensors, scenario.sensors, strict=True))}
    envelope = {(f, u): tuple(envelope_intervals(fl.track, un.xyz[0], un.xyz[1], un.xyz[2],
                                                 spec.min_range_km, spec.max_range_km,
                                                 spec.min_alt_m, spec.max_alt_m))
                for f, fl in enumerate(flights)
                for u, (un, spec) in enumerate(zip(units, scenario.fire_units, strict=True))}
    return CompiledScenario(
        name=scenario.name, profile=profile or "base", duration_s=scenario.duration_s,
        untrained_crew_factor=scenario.untrained_crew_factor, sensors=sensors,
        command_posts=command_posts, units=units, flights=flights, strikes=strikes,
        attacks=attacks, readiness=readiness, coverage=coverage, envelope=envelope)


def _entities(scenario: Scenario, kind: str) -> list[Sensor] | list[CommandPost] | list[FireUnit]:
    return {"sensor": scenario.sensors, "command_post": scenario.command_posts,
            "fire_unit": scenario.fire_units}[kind]


def _sensor(s: Sensor, frame: LocalFrame, cps: dict[str, int]) -> CompiledSensor:
    x, y = frame.to_enu(s.lat, s.lon)
    return CompiledSensor(s.id, s.role, (x, y, s.height_m), s.detect_rate,
                          cps.get(s.command_post, -1) if s.command_post else -1)


def _command_post(c: CommandPost, orders_prob: float) -> CompiledCommandPost:
    autonomous = c.authority == "autonomous"
    return CompiledCommandPost(c.id, c.authority, 1.0 if autonomous else orders_prob,
                               c.report_delay_s,
                               c.decision_delay, c.autonomous_delay_s)


def _unit(u: FireUnit, frame: LocalFrame, cps: dict[str, int], authority: dict[str, str],
          sensors: dict[str, int], flights: tuple[CompiledFlight, ...]) -> CompiledUnit:
    x, y = frame.to_enu(u.lat, u.lon)
    if isinstance(u.pk, dict):
        pk = tuple(u.pk.get(f.threat_class, u.pk["default"]) for f in flights)
    else:
        pk = tuple(u.pk for _ in flights)
    return CompiledUnit(
        id=u.id, unit_type=u.unit_type or u.type or u.guidance, guidance=u.guidance,
        xyz=(x, y, u.height_m), command_post=cps[u.command_post] if u.command_post else -1,
        authority=authority[u.command_post] if u.command_post else "own",
        fire_control_radar=sensors[u.fire_control_radar] if u.fire_control_radar else -1,
        acquire_rate=u.acquire_rate or 0.0, channels=u.channels, missiles=u.missiles,
        salvo=u.salvo, launch_reliability=u.launch_reliability, pk=pk,
        engagement_time=u.engagement_time, acquisition_time_s=u.acquisition_time_s,
        missile_speed_mps=u.missile_speed_mps, shoot_look_shoot=u.shoot_look_shoot)


def _flight(f: Flight, frame: LocalFrame) -> CompiledFlight:
    xs, ys, zs, ts = [], [], [], [0.0]
    for i, wp in enumerate(f.route):
        x, y = frame.to_enu(wp.lat, wp.lon)
        if i:
            if wp.time_s is not None:
                ts.append(wp.time_s)
            else:
                leg = np.sqrt((x - xs[-1]) ** 2 + (y - ys[-1]) ** 2 + (wp.alt_m - zs[-1]) ** 2)
                ts.append(ts[-1] + leg / (wp.speed_mps or f.speed_mps))  # type: ignore[operator]
        xs.append(x)
        ys.append(y)
        zs.append(wp.alt_m)
    track = Track(np.array(ts), np.array(xs), np.array(ys), np.array(zs))
    stream = isinstance(f, Stream)
    return CompiledFlight(f.id, f.threat_class, f.count, f.rcs_m2, f.start_s, track,  # type: ignore[attr-defined]
                          f.rate_per_s if stream else 0.0, f.end_s if stream else 0.0)  # type: ignore[attr-defined]


def select(scenario: Scenario, selection: Selection, frame: LocalFrame) -> tuple[Entity, ...]:
    """The defence entities a selection names (ids, catalog types, kinds, groups, area, all)."""
    ids = set(selection.ids)
    for g in selection.groups:
        ids |= set(scenario.groups.get(g, []))
    chosen = []
    for kind in KINDS:
        for i, e in enumerate(_entities(scenario, kind)):
            hit = (selection.all or e.id in ids or kind in selection.kinds
                   or getattr(e, "type", None) in selection.types)
            if not hit and selection.area is not None and getattr(e, "lat", None) is not None:
                a = selection.area
                hit = frame.distance_m(a.lat, a.lon, e.lat, e.lon) <= a.radius_km * 1000.0  # type: ignore[arg-type]
            if hit:
                chosen.append(Entity(kind, i))
    return tuple(chosen)


def _attack(a: ElectronicAttack, scenario: Scenario, frame: LocalFrame) -> CompiledAttack:
    return CompiledAttack(a.id, a.start_s, a.end_s, select(scenario, a.targets, frame),
                          a.detect_factor, a.link_cut_prob, a.disable_prob, a.pk_factor)


def _resolve_readiness(scenario: Scenario, profile: str | None, frame: LocalFrame
                       ) -> tuple[list[float], dict[str, np.ndarray]]:
    """Readiness per entity: scenario default < group < entity's own < profile overrides."""
    table = {kind: np.ones((len(_entities(scenario, kind)), len(READINESS_FACTORS)))
             for kind in KINDS}
    orders = [c.orders_prob for c in scenario.command_posts]
    member_of: dict[str, list[str]] = {}
    for g, members in scenario.groups.items():
        for m in members:
            member_of.setdefault(m, []).append(g)
    for kind in KINDS:
        for i, e in enumerate(_entities(scenario, kind)):
            layers = [scenario.readiness,
                      *(scenario.group_readiness[g] for g in member_of.get(e.id, [])
                        if g in scenario.group_readiness),
                      e.readiness]
            for layer in layers:
                for j, factor in enumerate(READINESS_FACTORS):
                    value = getattr(layer, factor)
                    if value is not None:
                        table[kind][i, j] = value
    if profile is not None:
        for override in scenario.profiles[profile].overrides:
            for ent in select(scenario, override.select, frame):
                for j, factor in enumerate(READINESS_FACTORS):
                    value = getattr(override.set, factor)
                    if value is not None:
                        table[ent.kind][ent.index, j] = value
                if override.set.orders_prob is not None and ent.kind == "command_post":
                    orders[ent.index] = override.set.orders_prob
    return orders, table
