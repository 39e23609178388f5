"""Scenario → CompiledScenario: the structure of a scenario, computed once — the local frame,
routes as tracks, coverage and envelope intervals, and index-based wiring. It holds plain data
and no parameter values: those live in the parameter space (params.py), so that a new parameter
point never recomputes geometry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import ValidationError

from iadsim.geometry import Interval, LocalFrame, Track, coverage_table, envelope_table
from iadsim.parameter import ParameterError
from iadsim.rules import KINDS
from iadsim.scenario.load import Problem, ScenarioError
from iadsim.scenario.schema import (
    FACTORS_OF_KIND,
    READINESS_FACTORS,
    THREAT_CLASSES,
    CommandPost,
    FireUnit,
    Flight,
    Scenario,
    Selection,
    Sensor,
    Stream,
)


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
    command_post: int  # -1: none


@dataclass(frozen=True)
class CompiledCommandPost:
    id: str


@dataclass(frozen=True)
class CompiledUnit:
    id: str
    unit_type: str
    guidance: str
    xyz: tuple[float, float, float]
    command_post: int  # -1: none (the unit engages on its own acquisition)
    fire_control_radar: int  # -1 for infrared units
    priority: tuple[int, ...] = (0,) * len(THREAT_CLASSES)  # per class: rank, −1: held fire


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
    key: str  # its id, or its position in the file
    target: Entity
    time_s: float


@dataclass(frozen=True)
class CompiledAttack:
    id: str
    start_s: float
    end_s: float
    targets: tuple[Entity, ...]


@dataclass(frozen=True)
class CompiledShared:
    """A readiness factor that a group draws once per run (MODEL.md, shared draws)."""

    group: str
    factor: int  # READINESS_FACTORS index
    members: tuple[Entity, ...]  # those the factor acts on


@dataclass(frozen=True)
class CompiledScenario:
    """The chance-free structure of one scenario, as plain data."""

    name: str
    duration_s: float
    sensors: tuple[CompiledSensor, ...]
    command_posts: tuple[CompiledCommandPost, ...]
    units: tuple[CompiledUnit, ...]
    flights: tuple[CompiledFlight, ...]
    strikes: tuple[CompiledStrike, ...]
    attacks: tuple[CompiledAttack, ...]
    coverage: dict[tuple[int, int], tuple[Interval, ...]]  # (flight, sensor) → times from start
    envelope: dict[tuple[int, int], tuple[Interval, ...]]  # (flight, unit) → times from start
    shared: tuple[CompiledShared, ...] = ()

    def count(self, kind: str) -> int:
        """Entities of a kind."""
        return len({"sensor": self.sensors, "command_post": self.command_posts,
                    "fire_unit": self.units}[kind])


def compile_structure(scenario: Scenario) -> CompiledScenario:
    """Compute every route's intervals and the wiring, once per scenario."""
    frame = local_frame(scenario)
    index = {kind: {e.id: i for i, e in enumerate(entities(scenario, kind))} for kind in KINDS}
    cp_index = index["command_post"]
    sensors = tuple(_sensor(s, frame, cp_index) for s in scenario.sensors)
    flights = tuple(_flight(f, frame) for f in [*scenario.threats, *scenario.streams])
    _check_times(scenario, flights)
    priority = _priorities(scenario, frame)
    units = tuple(_unit(u, frame, cp_index, index["sensor"], priority[i])
                  for i, u in enumerate(scenario.fire_units))
    by_id = {eid: Entity(kind, i) for kind in KINDS for eid, i in index[kind].items()}
    strikes = tuple(CompiledStrike(strike_key(i, s.id), by_id[s.target], s.time_s)
                    for i, s in enumerate(scenario.strikes))
    attacks = tuple(CompiledAttack(a.id, a.start_s, a.end_s, select(scenario, a.targets, frame))
                    for a in scenario.electronic_attack)
    tracks = [fl.track for fl in flights]
    coverage = coverage_table(tracks, [fl.rcs_m2 for fl in flights],
                              np.array([se.xyz for se in sensors]),
                              [spec.range_km for spec in scenario.sensors])
    fire_units = scenario.fire_units
    envelope = envelope_table(tracks, np.array([un.xyz for un in units]),
                              [spec.min_range_km for spec in fire_units],
                              [spec.max_range_km for spec in fire_units],
                              [spec.min_alt_m for spec in fire_units],
                              [spec.max_alt_m for spec in fire_units])
    return CompiledScenario(
        name=scenario.name, duration_s=scenario.duration_s, sensors=sensors,
        command_posts=tuple(CompiledCommandPost(c.id) for c in scenario.command_posts),
        units=units, flights=flights, strikes=strikes, attacks=attacks, coverage=coverage,
        envelope=envelope, shared=_shared(scenario, index))


def local_frame(scenario: Scenario) -> LocalFrame:
    """The scenario's east-north-up frame."""
    ref = scenario.reference or (scenario.sensors[0] if scenario.sensors else
                                 scenario.fire_units[0] if scenario.fire_units else None)
    if ref is None:
        raise ScenarioError([Problem(scenario.name, None, "reference",
                                     "give a reference point or at least one sensor or unit")])
    return LocalFrame(ref.lat, ref.lon)


def strike_key(position: int, strike_id: str | None) -> str:
    """How parameter paths name a strike: its id, or else its position in the file."""
    return strike_id if strike_id is not None else str(position)


def entities(scenario: Scenario, kind: str) -> list[Sensor] | list[CommandPost] | list[FireUnit]:
    """The scenario's entities of one kind, in file order."""
    return {"sensor": scenario.sensors, "command_post": scenario.command_posts,
            "fire_unit": scenario.fire_units}[kind]


def _sensor(s: Sensor, frame: LocalFrame, cps: dict[str, int]) -> CompiledSensor:
    x, y = frame.to_enu(s.lat, s.lon)
    return CompiledSensor(s.id, s.role, (x, y, s.height_m),
                          cps.get(s.command_post, -1) if s.command_post else -1)


def _unit(u: FireUnit, frame: LocalFrame, cps: dict[str, int], sensors: dict[str, int],
          priority: tuple[int, ...]) -> CompiledUnit:
    x, y = frame.to_enu(u.lat, u.lon)
    return CompiledUnit(
        id=u.id, unit_type=u.unit_type or u.type or u.guidance, guidance=u.guidance,
        xyz=(x, y, u.height_m), command_post=cps[u.command_post] if u.command_post else -1,
        fire_control_radar=sensors[u.fire_control_radar] if u.fire_control_radar else -1,
        priority=priority)


def _priorities(scenario: Scenario, frame: LocalFrame) -> list[tuple[int, ...]]:
    """Each unit's rank per threat class under the doctrine entries that select it (the last
    wins; −1: held fire); a doctrine that selects no fire unit is an error."""
    out = [(0,) * len(THREAT_CLASSES)] * len(scenario.fire_units)
    problems = []
    for i, doctrine in enumerate(scenario.doctrine):
        units = [e.index for e in select(scenario, doctrine.select, frame)
                 if e.kind == "fire_unit"]
        if not units:
            problems.append(_problem(scenario, ("doctrine", i, "select"),
                                     "selects no fire unit: a doctrine acts on fire units"))
        rank = doctrine.priorities()
        for u in units:
            out[u] = tuple(rank.get(c, -1) for c in THREAT_CLASSES)
    if problems:
        raise ScenarioError(problems)
    return out


def _shared(scenario: Scenario, index: dict[str, dict[str, int]]
            ) -> tuple[CompiledShared, ...]:
    """The shared readiness draws, each with the members its factor acts on (load.py has
    checked the groups)."""
    return tuple(
        CompiledShared(group, READINESS_FACTORS.index(factor), tuple(
            Entity(kind, index[kind][m]) for m in scenario.groups[group] for kind in KINDS
            if m in index[kind] and factor in FACTORS_OF_KIND[kind]))
        for group, factors in scenario.shared_readiness.items() for factor in factors)


def _problem(scenario: Scenario, path: tuple[str | int, ...], message: str) -> Problem:
    """A problem at a place in the scenario's file (if it came from one)."""
    source = scenario.source
    return Problem(source.file if source else scenario.name,
                   source.line(path) if source else None,
                   "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)[1:],
                   message)


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


def _check_times(scenario: Scenario, flights: tuple[CompiledFlight, ...]) -> None:
    """A waypoint's time_s must come after the time the flight reaches the waypoint before it
    (which legs flown at speed_mps may have made later than the file's earlier time_s)."""
    problems = []
    flown = [("threats", i) for i in range(len(scenario.threats))] + \
        [("streams", i) for i in range(len(scenario.streams))]
    for (collection, i), flight in zip(flown, flights, strict=True):
        t, route = flight.track.t, getattr(scenario, collection)[i].route
        for w in range(1, len(t)):
            if route[w].time_s is not None and t[w] <= t[w - 1]:
                problems.append(_problem(scenario, (collection, i, "route", w, "time_s"),
                                         f"time_s ({t[w]:g}) must be after the time the flight "
                                         f"reaches the waypoint before it ({t[w - 1]:.0f} s at "
                                         "the speeds given)"))
    if problems:
        raise ScenarioError(problems)


def select(scenario: Scenario, selection: Selection, frame: LocalFrame) -> tuple[Entity, ...]:
    """The defence entities a selection names (ids, catalog types, kinds, groups, area, all)."""
    ids = set(selection.ids)
    for g in selection.groups:
        ids |= set(scenario.groups.get(g, []))
    chosen = []
    for kind in KINDS:
        for i, e in enumerate(entities(scenario, kind)):
            hit = (selection.all or e.id in ids or kind in selection.kinds
                   or getattr(e, "type", None) in selection.types)
            if not hit and selection.area is not None and getattr(e, "lat", None) is not None:
                a = selection.area
                hit = frame.distance_m(a.lat, a.lon, e.lat, e.lon) <= a.radius_km * 1000.0  # type: ignore[arg-type]
            if hit:
                chosen.append(Entity(kind, i))
    return tuple(chosen)


# --- structure that a sweep may change (each change is a new compile) ----------------------------

STRUCTURE_FIELDS = {
    "sensors": ("lat", "lon", "height_m", "range_km"),
    "fire_units": ("lat", "lon", "height_m", "min_range_km", "max_range_km", "min_alt_m",
                   "max_alt_m"),
    "threats": ("count", "start_s", "rcs_m2", "speed_mps"),
    "streams": ("count", "start_s", "end_s", "rate_per_s", "rcs_m2", "speed_mps"),
    "strikes": ("time_s",),
    "electronic_attack": ("start_s", "end_s"),
}
SCENARIO_STRUCTURE = ("duration_s",)
# every structure field of an entity: those above, and what only the file can change
STRUCTURE_NAMES = {name for names in STRUCTURE_FIELDS.values() for name in names} | {
    "id", "type", "role", "command_post", "fire_control_radar", "guidance", "unit_type",
    "route", "class", "target", "targets"}


def is_structure(path: str) -> bool:
    """Whether a path names a structure field that a new compile can change."""
    parts = path.split(".")
    return (len(parts) == 1 and path in SCENARIO_STRUCTURE) or (
        len(parts) == 3 and parts[2] in STRUCTURE_FIELDS.get(parts[0], ()))


def structure_values(scenario: Scenario) -> list[tuple[str, Any, tuple[str | int, ...]]]:
    """(path, value, where in the file) of every structure field a sweep may change."""
    out: list[tuple[str, Any, tuple[str | int, ...]]] = [
        (name, getattr(scenario, name), (name,)) for name in SCENARIO_STRUCTURE]
    for collection, names in STRUCTURE_FIELDS.items():
        for i, item in enumerate(getattr(scenario, collection)):
            for name in names:
                value = getattr(item, name)
                if value is not None:
                    out.append((f"{collection}.{_key(collection, i, item)}.{name}", value,
                                (collection, i, name)))
    return out


def with_structure(scenario: Scenario, values: Mapping[str, Any]) -> Scenario:
    """The scenario with structure fields changed, validated again (ParameterError naming the
    path of every problem)."""
    data = scenario.model_dump(by_alias=True)
    problems = []
    for path, value in values.items():
        parts = path.split(".")
        if len(parts) == 1 and path in SCENARIO_STRUCTURE:
            data[path] = value
            continue
        items = data.get(parts[0]) if is_structure(path) else None
        if items is None:
            problems.append(f"{path}: not a structure path")
            continue
        index = next((i for i, item in enumerate(items)
                      if _key(parts[0], i, item) == parts[1]), None)
        if index is None:
            problems.append(f"{path}: no {parts[0]} entry {parts[1]!r}")
            continue
        items[index][parts[2]] = value
    if problems:
        raise ParameterError(problems)
    try:
        changed = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ParameterError([f"{_named(e['loc'], data)}: {e['msg']}"
                              for e in exc.errors()]) from None
    changed._source = scenario.source
    return changed


def _named(loc: tuple[Any, ...], data: dict[str, Any]) -> str:
    """A validation error's location as a path, entries named by _key."""
    parts = list(loc)
    if len(parts) > 1 and isinstance(parts[1], int) and isinstance(data.get(parts[0]), list):
        parts[1] = _key(parts[0], parts[1], data[parts[0]][parts[1]])
    return ".".join(str(p) for p in parts)


def _key(collection: str, position: int, item: Any) -> str:
    """How paths name an entry of a scenario list: its id (a strike without one: its
    position)."""
    ident = item.get("id") if isinstance(item, dict) else item.id
    return strike_key(position, ident) if collection == "strikes" else str(ident)
