"""The parameter space: every value an analyst may vary, by a stable path.

A scenario's *structure* (entities, positions, routes, envelopes, the times of strikes and of
electronic-attack windows) is compiled once (compile.py). Everything else is a *parameter*:
readiness probabilities, orders, authority, delays, pk, salvo and magazines, electronic-attack
effects, strike odds. Each parameter has a path such as `fire_units.s300-1.readiness.connected`
and a slot in a flat vector of numbers, a *point*; categorical values (authority, a distribution
family, on/off) are stored as their index. A group path (`groups.radars.readiness.emitting`)
sets the value of every member that has the parameter; `fire_units.X.pk` sets every class.

A profile is a list of values for paths, applied to the scenario's own values. A parameter table
(`ParamTable`) gives each row to run a replication index and a point; engines read a block of
rows as `Params`, arrays whose first dimension is the row.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
from pydantic import BaseModel

from iadsim import distributions as dist
from iadsim.compile import (
    STRUCTURE_NAMES,
    entities,
    is_structure,
    local_frame,
    select,
    strike_key,
)
from iadsim.parameter import Parameter, ParameterError
from iadsim.rules import AUTHORITIES, FACTORS, KINDS
from iadsim.scenario.load import Problem, ScenarioError
from iadsim.scenario.schema import (
    RATE_MAX,
    READINESS_FACTORS,
    THREAT_CLASSES,
    CommandPost,
    ElectronicAttack,
    Exponential,
    FireUnit,
    LogNormal,
    Scenario,
    Triangular,
    upper_bound,
)

__all__ = ["Assignment", "ParameterError", "ParameterSpace", "Params", "Point",
           "profile_assignments"]

COLLECTION = {"sensor": "sensors", "command_post": "command_posts", "fire_unit": "fire_units"}


class Params(NamedTuple):
    """Parameter values of a block of rows, as arrays whose first dimension B is the row. The
    readiness tables hold a probability of 1 for factors that do not act on a kind."""

    ready_sensor: np.ndarray  # (B, S, len(READINESS_FACTORS)) float
    ready_command_post: np.ndarray  # (B, C, len(READINESS_FACTORS))
    ready_fire_unit: np.ndarray  # (B, U, len(READINESS_FACTORS))
    detect_rate: np.ndarray  # (B, S)
    orders_prob: np.ndarray  # (B, C)
    authority: np.ndarray  # (B, C) int64, rules.AUTHORITIES
    report_delay: np.ndarray  # (B, C)
    decision_delay: np.ndarray  # (B, C, 4): distribution code, a, b, c
    autonomous_delay: np.ndarray  # (B, C)
    acquire_rate: np.ndarray  # (B, U)
    pk: np.ndarray  # (B, U, F) by flight
    launch_reliability: np.ndarray  # (B, U)
    salvo: np.ndarray  # (B, U) int64
    missiles: np.ndarray  # (B, U) int64
    channels: np.ndarray  # (B, U) int64
    shoot_look_shoot: np.ndarray  # (B, U) bool
    engagement_time: np.ndarray  # (B, U, 4): distribution code (FLYOUT: default), a, b, c
    acquisition_time: np.ndarray  # (B, U)
    missile_speed: np.ndarray  # (B, U)
    attack_active: np.ndarray  # (B, A) bool
    detect_factor: np.ndarray  # (B, A)
    link_cut_prob: np.ndarray  # (B, A)
    disable_prob: np.ndarray  # (B, A)
    pk_factor: np.ndarray  # (B, A)
    launch_factor: np.ndarray  # (B, A)
    p_destroy: np.ndarray  # (B, K) per strike
    untrained_crew_factor: np.ndarray  # (B,)

    def readiness(self, kind: str) -> np.ndarray:
        """The readiness table of one kind of entity."""
        return {"sensor": self.ready_sensor, "command_post": self.ready_command_post,
                "fire_unit": self.ready_fire_unit}[kind]

    def row(self, b: int) -> Params:
        """One row's values (the first dimension dropped), for engines that run one at a time."""
        return Params(*(a[b] for a in self))


_DTYPES = {"authority": np.int64, "salvo": np.int64, "missiles": np.int64,
           "channels": np.int64, "shoot_look_shoot": np.bool_, "attack_active": np.bool_}


@dataclass(frozen=True)
class Assignment:
    """A value for a path, and where it was written (for error messages and sources)."""

    path: str
    value: Any
    origin: tuple[str | int, ...] | str | None = None  # path in the scenario file, or a label


@dataclass
class ParameterSpace:
    """Every parameter of one scenario, the scenario's own values, and its profiles."""

    scenario: Scenario
    parameters: list[Parameter] = field(default_factory=list)
    by_path: dict[str, Parameter] = field(default_factory=dict)
    base: Any = field(default_factory=list)  # the scenario's own point (an array once built)
    origin: list[tuple[str | int, ...] | str | None] = field(default_factory=list)
    _layout: dict[str, tuple[np.ndarray, float]] = field(default_factory=dict)
    _durations: dict[str, np.ndarray] = field(default_factory=dict)  # field path → slots
    _duration_of: dict[int, str] = field(default_factory=dict)  # slot → its field path
    _profiles: dict[str, Point] = field(default_factory=dict)

    # --- building ---------------------------------------------------------------------------

    @classmethod
    def build(cls, scenario: Scenario) -> ParameterSpace:
        """The parameter space of a scenario, with its own values as the base point (no
        geometry is needed)."""
        space = cls(scenario)
        space._declare()
        space.base = np.array(space.base, dtype=float)
        return space

    def _add(self, path: str, kind: str, value: Any, origin: Any, minimum: float = 0.0,
             choices: tuple[str, ...] = (), excluded: tuple[str, ...] = (),
             bound: tuple[type[BaseModel], str] | None = None) -> int:
        """Declare a parameter with the scenario's value (NaN: none in force) and its slot;
        `bound`: the schema field whose upper bound it keeps."""
        high = 1.0 if kind in ("probability", "bool") else \
            upper_bound(*bound) if bound else RATE_MAX if kind == "rate" else math.inf
        p = Parameter(path, len(self.parameters), kind, minimum, high, choices, excluded)
        self.parameters.append(p)
        self.by_path[path] = p
        missing = isinstance(value, float) and math.isnan(value)  # not of this family
        self.base.append(math.nan if missing else p.encode(value))
        self.origin.append(origin)
        return p.slot

    def _declare(self) -> None:
        sc = self.scenario
        flights = [*sc.threats, *sc.streams]  # in the compiled order
        ready = _resolved_readiness(sc)
        # the engine arrays and, per cell, the slot that fills it (−1: the fill value)
        S, C, U = len(sc.sensors), len(sc.command_posts), len(sc.fire_units)
        R = len(READINESS_FACTORS)
        F, A, K = len(flights), len(sc.electronic_attack), len(sc.strikes)
        lay = {name: np.full(shape, -1, dtype=np.int64) for name, shape in (
            ("ready_sensor", (S, R)), ("ready_command_post", (C, R)), ("ready_fire_unit", (U, R)),
            ("detect_rate", (S,)), ("orders_prob", (C,)), ("authority", (C,)),
            ("report_delay", (C,)), ("autonomous_delay", (C,)),
            ("acquire_rate", (U,)), ("pk", (U, F)), ("launch_reliability", (U,)),
            ("salvo", (U,)), ("missiles", (U,)), ("channels", (U,)), ("shoot_look_shoot", (U,)),
            ("acquisition_time", (U,)), ("missile_speed", (U,)),
            ("attack_active", (A,)), ("detect_factor", (A,)), ("link_cut_prob", (A,)),
            ("disable_prob", (A,)), ("pk_factor", (A,)), ("launch_factor", (A,)),
            ("p_destroy", (K,)),
            ("untrained_crew_factor", ()))}
        fill = {"ready_sensor": 1.0, "ready_command_post": 1.0, "ready_fire_unit": 1.0,
                "acquire_rate": 0.0}

        lay["untrained_crew_factor"][()] = self._add(
            "untrained_crew_factor", "probability", sc.untrained_crew_factor,
            ("untrained_crew_factor",))
        for kind in KINDS:
            table = lay[f"ready_{kind}"]
            for i, e in enumerate(entities(sc, kind)):
                for f in FACTORS[kind]:
                    name = READINESS_FACTORS[f]
                    value, origin = ready[kind][i][f]
                    table[i, f] = self._add(f"{COLLECTION[kind]}.{e.id}.readiness.{name}",
                                            "probability", value, origin)
        for i, s in enumerate(sc.sensors):
            at = ("sensors", i)
            lay["detect_rate"][i] = self._add(f"sensors.{s.id}.detect_rate", "rate",
                                              s.detect_rate, (*at, "detect_rate"))
        for i, c in enumerate(sc.command_posts):
            at, p = ("command_posts", i), f"command_posts.{c.id}"
            lay["orders_prob"][i] = self._add(f"{p}.orders_prob", "probability", c.orders_prob,
                                              (*at, "orders_prob"))
            lay["authority"][i] = self._add(f"{p}.authority", "choice", c.authority,
                                            (*at, "authority"), choices=AUTHORITIES)
            lay["report_delay"][i] = self._add(f"{p}.report_delay_s", "nonnegative",
                                               c.report_delay_s, (*at, "report_delay_s"),
                                               bound=(CommandPost, "report_delay_s"))
            self._duration(f"{p}.decision_delay", c.decision_delay, (*at, "decision_delay"))
            lay["autonomous_delay"][i] = self._add(
                f"{p}.autonomous_delay_s", "nonnegative", c.autonomous_delay_s,
                (*at, "autonomous_delay_s"), bound=(CommandPost, "autonomous_delay_s"))
        classes = [c for c in THREAT_CLASSES if any(f.threat_class == c for f in flights)]
        for i, u in enumerate(sc.fire_units):
            at, p = ("fire_units", i), f"fire_units.{u.id}"
            pk_slot = {}
            for c in classes:
                value = u.pk.get(c, u.pk["default"]) if isinstance(u.pk, dict) else u.pk
                origin = (*at, "pk", c) if isinstance(u.pk, dict) and c in u.pk else \
                    (*at, "pk", "default") if isinstance(u.pk, dict) else (*at, "pk")
                pk_slot[c] = self._add(f"{p}.pk.{c}", "probability", value, origin)
            lay["pk"][i] = [pk_slot[f.threat_class] for f in flights]
            for name, kind, key in (("launch_reliability", "probability", "launch_reliability"),
                                    ("salvo", "count", "salvo"),
                                    ("acquisition_time_s", "nonnegative", "acquisition_time"),
                                    ("missile_speed_mps", "positive", "missile_speed")):
                lay[key][i] = self._add(f"{p}.{name}", kind, getattr(u, name), (*at, name),
                                        minimum=1.0 if kind == "count" else 0.0,
                                        bound=(FireUnit, name))
            lay["channels"][i] = self._add(f"{p}.channels", "count", u.channels,
                                           (*at, "channels"), minimum=1.0,
                                           bound=(FireUnit, "channels"))
            lay["missiles"][i] = self._add(f"{p}.missiles", "count", u.missiles,
                                           (*at, "missiles"), bound=(FireUnit, "missiles"))
            lay["shoot_look_shoot"][i] = self._add(f"{p}.shoot_look_shoot", "bool",
                                                   u.shoot_look_shoot, (*at, "shoot_look_shoot"))
            if u.guidance == "infrared":
                lay["acquire_rate"][i] = self._add(f"{p}.acquire_rate", "rate", u.acquire_rate,
                                                   (*at, "acquire_rate"))
            self._duration(f"{p}.engagement_time", u.engagement_time, (*at, "engagement_time"))
        for i, a in enumerate(sc.electronic_attack):
            at, p = ("electronic_attack", i), f"electronic_attack.{a.id}"
            lay["attack_active"][i] = self._add(f"{p}.active", "bool", a.active, (*at, "active"))
            for name, kind in (("detect_factor", "nonnegative"), ("link_cut_prob", "probability"),
                               ("disable_prob", "probability"), ("pk_factor", "nonnegative"),
                               ("launch_factor", "nonnegative")):
                lay[name][i] = self._add(f"{p}.{name}", kind, getattr(a, name), (*at, name),
                                         bound=(ElectronicAttack, name))
        for i, s in enumerate(sc.strikes):
            lay["p_destroy"][i] = self._add(f"strikes.{strike_key(i, s.id)}.p_destroy",
                                            "probability", s.p_destroy, ("strikes", i, "p_destroy"))
        self._layout = {name: (idx, fill.get(name, 0.0)) for name, idx in lay.items()}

    def _duration(self, path: str, value: Any, origin: tuple[str | int, ...]) -> None:
        """Declare a duration field: its family, then each of dist.NAMES (NaN where the family
        in force has no such parameter)."""
        code, *_ = dist.encode(value)
        family = dist.FAMILIES[code]
        given = {"value": float(value)} if isinstance(value, (int, float)) else \
            {n: getattr(value, n) for n in dist.PARAMETERS[family]}
        slots = [self._add(f"{path}.dist", "choice", family, origin, choices=dist.FAMILIES,
                           excluded=() if path.endswith("engagement_time") else ("flyout",))]
        for name in dist.NAMES:
            kind = "positive" if name in ("mean", "median") else "nonnegative"
            slots.append(self._add(f"{path}.{name}", kind, given.get(name, math.nan),
                                   origin if name in given else None,
                                   bound=(LogNormal, "sigma") if name == "sigma" else
                                   (Triangular, name if name != "value" else "low")
                                   if name in ("low", "mode", "high", "value") else
                                   (Exponential, "mean")))
        self._durations[path] = np.array(slots, dtype=np.int64)
        self._duration_of.update({slot: path for slot in slots})

    # --- paths --------------------------------------------------------------------------------

    @property
    def durations(self) -> Mapping[str, np.ndarray]:
        """Each duration field's path → its slots (family, then dist.NAMES)."""
        return self._durations

    @property
    def duration_of(self) -> Mapping[int, str]:
        """A duration parameter's slot → its field's path."""
        return self._duration_of

    def field(self, path: str) -> str:
        """The field a parameter path belongs to: a duration's paths (`…decision_delay.dist`,
        `….mean`) belong to the duration field, every other path to itself."""
        head = path.rpartition(".")[0]
        return head if head in self._durations else path

    def expand(self, path: str) -> list[str]:
        """The concrete paths a path sets: itself, a group's members that have the parameter,
        or every class of a unit's pk. A duration field (`…decision_delay`) is one path."""
        if path in self.by_path or path in self._durations:
            return [path]
        parts = path.split(".")
        if parts[0] == "groups" and len(parts) >= 3:
            group, rest = parts[1], ".".join(parts[2:])
            if group not in self.scenario.groups:
                raise ValueError(f"no group {group!r}; groups: "
                                 f"{', '.join(self.scenario.groups) or 'none'}")
            found = []
            for member in self.scenario.groups[group]:
                for kind in KINDS:
                    try:
                        found += self.expand(f"{COLLECTION[kind]}.{member}.{rest}")
                    except ValueError:
                        continue
            if not found:
                raise ValueError(f"no member of group {group!r} has the parameter {rest!r}")
            return found
        if parts[-1] == "pk":
            below = [p.path for p in self.parameters if p.path.startswith(path + ".")]
            if below:
                return below
        raise ValueError(self._unknown(path))

    def _unknown(self, path: str) -> str:
        import difflib

        parts = path.split(".")
        if len(parts) >= 3 and parts[0] in (*COLLECTION.values(), "threats", "streams",
                                             "strikes", "electronic_attack"):
            prefix = ".".join(parts[:2]) + "."
            own = sorted(p.path for p in self.parameters if p.path.startswith(prefix))
            if not own and parts[0] not in ("threats", "streams"):
                return f"unknown parameter path {path!r}: no {parts[0]} entry {parts[1]!r}"
            if parts[2] in STRUCTURE_NAMES:
                return (f"{path!r} is structure, not a parameter: it shapes the geometry or "
                        "the timeline, so it cannot be set in a profile or vary by row; "
                        + ("set it as a value (`--set`, load(values=…)): that compiles anew"
                           if is_structure(path) else "change it in the scenario file"))
        hint = difflib.get_close_matches(path, [*self.by_path, *self._durations], n=1)
        return f"unknown parameter path {path!r}" + (f"; did you mean {hint[0]!r}?" if hint
                                                     else "")

    # --- points -------------------------------------------------------------------------------

    def profile(self, name: str) -> Point:
        """A profile's point (resolved once, then kept); `base`, unless the scenario has a
        profile of that name, is the scenario's own values."""
        if name == "base" and name not in self.scenario.profiles:
            return Point("base", self.base, self.origin)
        if name not in self._profiles:
            if name not in self.scenario.profiles:
                known = ", ".join(self.scenario.profiles) or "none"
                raise ScenarioError([Problem(self.scenario.name, None, "profile",
                                             f"no profile {name!r}; this scenario has: {known}")])
            start = Point("base", self.base, self.origin)
            assignments, problems = profile_assignments(self.scenario, name)
            self._profiles[name] = self.apply(start, assignments, name, problems)
        return self._profiles[name]

    def apply(self, start: Point, assignments: Iterable[Assignment], name: str,
              problems: Sequence[tuple[Assignment, str]] = ()) -> Point:
        """A new point: `start` with the assignments made in order. Every unknown path or bad
        value is reported at once, after `problems` already found (ParameterError, or
        ScenarioError with file:line)."""
        theta, origin = start.theta.copy(), list(start.origin)
        problems = list(problems)
        set_slots: dict[str, set[int]] = {}  # duration field → its slots set here …
        last: dict[str, Assignment] = {}  # … and the last assignment that set one
        for a in assignments:
            try:
                for slot, x in self.encode(a.path, a.value):
                    theta[slot] = x
                    origin[slot] = a.origin
                    if slot in self._duration_of:
                        set_slots.setdefault(self._duration_of[slot], set()).add(slot)
                        last[self._duration_of[slot]] = a
            except ValueError as exc:
                problems.append((a, str(exc)))
        for path, slots in set_slots.items():
            message = self.settle_duration(theta, path, slots)
            if message:
                problems.append((last[path], f"{path}: {message}"))
        if problems:
            self._raise(problems)
        return Point(name, theta, origin)

    def settle_duration(self, theta: np.ndarray, path: str, assigned: set[int]) -> str | None:
        """Clear a duration field's slots that its family (as now set) does not use, and say
        what is wrong with it, if anything: a parameter set that the family does not have, or
        one it needs that is missing or out of order."""
        slots = self._durations[path]
        family = dist.FAMILIES[int(theta[slots[0]])]
        own = dist.PARAMETERS[family]
        foreign = [n for slot, n in zip(slots[1:], dist.NAMES, strict=True)
                   if slot in assigned and n not in own and not math.isnan(theta[slot])]
        if foreign:
            return (f"{', '.join(foreign)} is not a parameter of {dist.described(family)} "
                    f"(it has: {', '.join(own) or 'none'})")
        for slot, n in zip(slots[1:], dist.NAMES, strict=True):
            if n not in own:
                theta[slot] = math.nan
        return dist.problem(theta[slots])

    def encode(self, path: str, value: Any) -> list[tuple[int, float]]:
        """(slot, number) pairs that set `path` (a group path, a duration field…) to `value`;
        ValueError saying what was expected."""
        return [pair for concrete in self.expand(path) for pair in (
            self._encode_duration(concrete, value) if concrete in self._durations
            else [(self.by_path[concrete].slot, self.by_path[concrete].encode(value))])]

    def _encode_duration(self, path: str, value: Any) -> list[tuple[int, float]]:
        flyout = path.endswith("engagement_time")
        if value is None and flyout:
            code, numbers = dist.FLYOUT, {}
        elif isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
            code, numbers = dist.FIXED, {"value": self.by_path[f"{path}.value"].encode(value)}
        elif isinstance(value, Mapping) and value.get("dist") in dist.FAMILIES[1:]:
            family = value["dist"]
            names = dist.PARAMETERS[family]
            extra = set(value) - {"dist", *names}
            if extra or set(names) - set(value):
                raise ValueError(f"{dist.described(family)} has exactly the fields dist, "
                                 f"{', '.join(names)}")
            code = dist.FAMILIES.index(family)
            numbers = {n: self.by_path[f"{path}.{n}"].encode(value[n]) for n in names}
        else:
            raise ValueError("expected a number of seconds or a distribution "
                             "{dist: exponential, mean: …}" + (", or null (flyout)" if flyout
                                                              else "") + f" (got {value!r})")
        slots = self._durations[path]
        return [(slots[0], float(code))] + [
            (slot, numbers.get(name, math.nan)) for slot, name in zip(slots[1:], dist.NAMES,
                                                                     strict=True)]

    def _raise(self, problems: list[tuple[Assignment, str]]) -> None:
        source = self.scenario.source
        if source is not None and any(isinstance(a.origin, tuple) for a, _ in problems):
            raise ScenarioError([Problem(source.file, source.line(a.origin), _dotted(a.origin), m)
                                 if isinstance(a.origin, tuple) else
                                 Problem(source.file, None, a.path, m) for a, m in problems])
        raise ParameterError([m if m.startswith(a.path) else f"{a.path}: {m}"
                              for a, m in problems])

    def points_from_columns(self, start: Point, columns: Mapping[str, Sequence[Any]]
                            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(points, each row's point, replication) from table columns: `replication` and
        parameter paths; other parameters keep their values at `start`. Rows with the same
        values share a point, numbered in order of first appearance. Every bad path or value
        is reported at once (ParameterError)."""
        space = self
        if "replication" not in columns:
            raise ParameterError(["a parameter table needs a 'replication' column"])
        replication = np.asarray(columns["replication"])
        if replication.ndim != 1 or (len(replication) and (
                replication.dtype.kind not in "iu" or (replication < 0).any())):
            raise ParameterError(["replication: expected whole numbers ≥ 0, one per row"])
        R = len(replication)
        assigned: dict[int, np.ndarray] = {}
        problems = []
        for path, column in columns.items():
            if path == "replication":
                continue
            if np.ndim(column) != 1 or len(column) != R:
                problems.append(f"{path}: expected one value per row ({R})")
                continue
            try:
                for concrete in space.expand(path):
                    if concrete in space._durations:
                        raise ValueError("in a table, set a distribution by its parameters' "
                                         f"paths ({concrete}.dist, {concrete}.mean, …)")
                    p = space.by_path[concrete]
                    assigned[p.slot] = p.encode_column(column)
            except ValueError as exc:
                problems.append(f"{path}: {exc}")
        if problems:
            raise ParameterError(problems)
        slots = np.array(sorted(assigned), dtype=np.int64)
        values = np.stack([assigned[k] for k in slots], axis=1) if len(slots) else \
            np.zeros((R, 0))
        _, first, inverse = np.unique(np.where(np.isnan(values), -1.0, values), axis=0,
                                      return_index=True, return_inverse=True)
        order = np.argsort(first)  # number points by first appearance
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        points = np.tile(start.theta, (len(order), 1))
        points[:, slots] = values[first[order]]
        for path, field_slots in space._durations.items():
            mine = set(field_slots.tolist()) & set(slots.tolist())
            for k in range(len(points)) if mine else ():
                message = space.settle_duration(points[k], path, mine)
                if message:
                    problems.append(f"{path}: row {int(first[order][k])}: {message}")
                    break
        if problems:
            raise ParameterError(problems)
        return points, rank[inverse.reshape(-1)].astype(np.int64), replication.astype(np.int64)


    # --- engine arrays ------------------------------------------------------------------------

    def arrays(self, theta: np.ndarray) -> Params:
        """Params of rows of points, theta (B, parameters)."""
        B = theta.shape[0]
        out = {}
        for name, (idx, fill) in self._layout.items():
            values = theta[:, np.maximum(idx, 0)] if idx.size else np.zeros((B, *idx.shape))
            if (idx < 0).any():
                values = np.where(idx < 0, fill, values)
            out[name] = values.astype(_DTYPES.get(name, np.float64))
        for key, prefix, items in (
                ("decision_delay", "command_posts", self.scenario.command_posts),
                ("engagement_time", "fire_units", self.scenario.fire_units)):
            codes = np.zeros((B, len(items), 4))
            for i, e in enumerate(items):
                codes[:, i] = dist.pack(theta[:, self._durations[f"{prefix}.{e.id}.{key}"]])
            out[key] = codes
        return Params(**out)



def _dotted(path: tuple[str | int, ...]) -> str:
    return ".".join(str(p) for p in path)


@dataclass(frozen=True)
class Point:
    """Values for every parameter (NaN where a distribution family has no such parameter), and
    where each was set."""

    name: str
    theta: np.ndarray
    origin: Sequence[Any]


def profile_assignments(scenario: Scenario, name: str
                        ) -> tuple[list[Assignment], list[tuple[Assignment, str]]]:
    """A profile as values for paths, in order: its overrides (each field set on the selected
    entities it acts on), then its values; and the override fields that act on none."""
    profile = scenario.profiles[name]
    frame = local_frame(scenario)
    out, problems = [], []
    for j, override in enumerate(profile.overrides):
        at = ("profiles", name, "overrides", j, "set")
        chosen = select(scenario, override.select, frame)
        for key, value in override.set.model_dump(exclude_none=True).items():
            found = []
            for e in chosen:
                eid = entities(scenario, e.kind)[e.index].id
                if key in READINESS_FACTORS:
                    if READINESS_FACTORS.index(key) in FACTORS[e.kind]:
                        found.append(f"{COLLECTION[e.kind]}.{eid}.readiness.{key}")
                elif e.kind == "command_post":  # orders_prob, authority
                    found.append(f"command_posts.{eid}.{key}")
            out += [Assignment(path, value, (*at, key)) for path in found]
            if not found:
                problems.append((Assignment(key, value, (*at, key)),
                                 f"{key} acts on none of the {len(chosen)} selected entities"
                                 + _ACTS_ON.get(key, "")))
    for path, value in profile.values.items():
        out.append(Assignment(path, value, ("profiles", name, "values", path)))
    return out, problems


_ACTS_ON = {"emitting": " (it acts on sensors)", "trained": " (it acts on fire units)",
            "orders_prob": " (it acts on command posts)",
            "authority": " (it acts on command posts)",
            "connected": " (it acts on sensors and fire units)"}


def _resolved_readiness(sc: Scenario) -> dict[str, list[list[tuple[float, Any]]]]:
    """Readiness per entity and factor, with where it was set: scenario default < groups <
    the entity's own."""
    member_of: dict[str, list[str]] = {}
    for g, members in sc.groups.items():
        for m in members:
            member_of.setdefault(m, []).append(g)
    out: dict[str, list[list[tuple[float, Any]]]] = {}
    for kind in KINDS:
        rows = []
        for i, e in enumerate(entities(sc, kind)):
            layers = [(sc.readiness, ("readiness",)),
                      *((sc.group_readiness[g], ("group_readiness", g))
                        for g in member_of.get(e.id, []) if g in sc.group_readiness),
                      (e.readiness, (COLLECTION[kind], i, "readiness"))]
            row: list[tuple[float, Any]] = [(1.0, None)] * len(READINESS_FACTORS)
            for layer, at in layers:
                for j, factor in enumerate(READINESS_FACTORS):
                    value = getattr(layer, factor)
                    if value is not None:
                        row[j] = (value, (*at, factor))
            rows.append(row)
        out[kind] = rows
    return out
