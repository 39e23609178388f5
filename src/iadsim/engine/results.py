"""What a run records (MODEL.md, "What a run records"), the same for every engine."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from iadsim.compile import CompiledScenario

LINKS = ("unit_ready", "detected", "reported", "ordered", "fire_control", "capacity",
         "launched", "killed")
UNIT_COUNTS = ("engagements", "launches", "launch_failures", "misses", "kills", "missiles_fired")
ENGAGEMENTS, LAUNCHES, LAUNCH_FAILURES, MISSES, KILLS, MISSILES_FIRED = range(len(UNIT_COUNTS))


@dataclass(frozen=True)
class RunInfo:
    """Which scenario, profile, seed and engine produced the results, and the labels of units,
    flights and entities that the arrays index."""

    scenario: str
    profile: str
    seed: int
    engine: str
    unit_ids: tuple[str, ...]
    unit_types: tuple[str, ...]
    unit_guidance: tuple[str, ...]
    flight_ids: tuple[str, ...]
    entity_ids: tuple[str, ...]  # sensors, then command posts, then fire units


def run_info(cs: CompiledScenario, seed: int, engine: str) -> RunInfo:
    """Labels for the results of a run of this compiled scenario."""
    return RunInfo(
        scenario=cs.name, profile=cs.profile, seed=seed, engine=engine,
        unit_ids=tuple(u.id for u in cs.units), unit_types=tuple(u.unit_type for u in cs.units),
        unit_guidance=tuple(u.guidance for u in cs.units),
        flight_ids=tuple(f.id for f in cs.flights),
        entity_ids=tuple(e.id for e in (*cs.sensors, *cs.command_posts, *cs.units)))


@dataclass
class Replication:
    """One replication's record, filled in by an engine."""

    unit_counts: np.ndarray  # (len(UNIT_COUNTS), units)
    destroyed: np.ndarray  # (entities,) bool
    threat_flight: list[int] = field(default_factory=list)
    threat_start: list[float] = field(default_factory=list)
    killer: list[int] = field(default_factory=list)  # unit index, -1: leaked
    kill_time: list[float] = field(default_factory=list)
    passages: list[tuple[int, int, int, float, float]] = field(default_factory=list)
    # (threat, unit, link index, envelope entry, envelope exit) of each failed passage


@dataclass
class Results:
    """Per-replication outcomes of a run, as arrays over replications plus long tables."""

    info: RunInfo
    replication: np.ndarray  # (R,) replication index
    unit_counts: np.ndarray  # (R, len(UNIT_COUNTS), units)
    threats: np.ndarray  # (R,) threats flown
    killed: np.ndarray  # (R,) threats killed
    links: np.ndarray  # (R, len(LINKS)) failed passages by first broken link
    destroyed: np.ndarray  # (R, entities) destroyed by strikes
    threat_rows: dict[str, np.ndarray]  # replication, threat, flight, start_s, killer, kill_time_s
    passage_rows: dict[str, np.ndarray]  # replication, threat, unit, link, entry_s, exit_s

    @property
    def runs(self) -> int:
        return len(self.replication)

    @property
    def leakers(self) -> np.ndarray:
        return self.threats - self.killed

    @classmethod
    def from_replications(cls, info: RunInfo, records: Sequence[Replication],
                          first: int = 0) -> Results:
        """Stack replication records numbered first, first + 1, …"""
        n_units = len(info.unit_ids)
        reps = np.arange(first, first + len(records), dtype=np.int64)
        links = np.zeros((len(records), len(LINKS)), dtype=np.int32)
        for r, rec in enumerate(records):
            for p in rec.passages:
                links[r, p[2]] += 1
        nthreats = [len(rec.killer) for rec in records]
        threat_rows = {
            "replication": np.repeat(reps, nthreats),
            "threat": np.concatenate([np.arange(n) for n in nthreats] or [np.zeros(0)]).astype(
                np.int32),
            "flight": _cat([rec.threat_flight for rec in records], np.int32),
            "start_s": _cat([rec.threat_start for rec in records], np.float64),
            "killer": _cat([rec.killer for rec in records], np.int32),
            "kill_time_s": _cat([rec.kill_time for rec in records], np.float64),
        }
        npass = [len(rec.passages) for rec in records]
        flat = [p for rec in records for p in rec.passages]
        passage_rows = {
            "replication": np.repeat(reps, npass),
            "threat": np.array([p[0] for p in flat], dtype=np.int32),
            "unit": np.array([p[1] for p in flat], dtype=np.int32),
            "link": np.array([p[2] for p in flat], dtype=np.int8),
            "entry_s": np.array([p[3] for p in flat], dtype=np.float64),
            "exit_s": np.array([p[4] for p in flat], dtype=np.float64),
        }
        return cls(
            info=info, replication=reps,
            unit_counts=np.stack([rec.unit_counts for rec in records]) if records
            else np.zeros((0, len(UNIT_COUNTS), n_units), dtype=np.int32),
            threats=np.array(nthreats, dtype=np.int32),
            killed=np.array([sum(k >= 0 for k in rec.killer) for rec in records], dtype=np.int32),
            links=links,
            destroyed=np.stack([rec.destroyed for rec in records]) if records
            else np.zeros((0, len(info.entity_ids)), dtype=bool),
            threat_rows=threat_rows, passage_rows=passage_rows)

    def with_info(self, info: RunInfo) -> Results:
        """The same results, labelled."""
        from dataclasses import replace

        return replace(self, info=info)

    @classmethod
    def empty(cls, info: RunInfo) -> Results:
        """Results of no replication."""
        return cls.from_replications(info, [])

    @classmethod
    def concat(cls, parts: Sequence[Results]) -> Results:
        """Join results of consecutive blocks of one run."""
        first = parts[0]
        return cls(
            info=first.info,
            replication=np.concatenate([p.replication for p in parts]),
            unit_counts=np.concatenate([p.unit_counts for p in parts]),
            threats=np.concatenate([p.threats for p in parts]),
            killed=np.concatenate([p.killed for p in parts]),
            links=np.concatenate([p.links for p in parts]),
            destroyed=np.concatenate([p.destroyed for p in parts]),
            threat_rows={k: np.concatenate([p.threat_rows[k] for p in parts])
                         for k in first.threat_rows},
            passage_rows={k: np.concatenate([p.passage_rows[k] for p in parts])
                          for k in first.passage_rows})


def _cat(lists: list[list], dtype: type) -> np.ndarray:
    return np.array([x for xs in lists for x in xs], dtype=dtype)
