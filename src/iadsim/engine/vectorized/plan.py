"""What the vectorized engine computes once per run: the chance-free arrays of a scenario's
structure — time segments, wiring, routes, and the static items of the kill chain."""

from __future__ import annotations

import numpy as np

from iadsim.compile import CompiledScenario
from iadsim.engine import MemoryBudgetError
from iadsim.engine.vectorized.counter_rng import hash_word
from iadsim.geometry import intersect
from iadsim.rules import INF
from iadsim.scenario.schema import THREAT_CLASSES

DEFAULT_BLOCK = 1024  # replications computed together; any value gives the same results
_CELLS_PER_BLOCK = 6_000_000  # bound on the cells of a block's (replications × passages ×
# windows) arrays, estimated as replications × items × segments
DEFAULT_MEMORY = float(1 << 30)  # bytes a run may use for its blocks (`--memory`)
_BYTES_PER_SLOT_ENTITY = 80.0  # measured: a block's peak bytes per replication, threat slot
# and (sensor, fire unit), with a margin


class Plan:
    """Chance-free arrays of a compiled scenario: segments, wiring, routes and static items.
    Electronic-attack windows cut time into segments whether or not a row switches them on."""

    def __init__(self, cs: CompiledScenario):
        self.cs = cs
        points = {0.0, cs.duration_s, INF}
        points.update(s.time_s for s in cs.strikes if s.time_s <= cs.duration_s)
        for a in cs.attacks:
            points.update(t for t in (a.start_s, a.end_s) if 0.0 <= t < INF)  # even past the end:
            # an attack still disables a unit, or cuts a pk, for engagements resolving then
        edges = np.array(sorted(points))
        # the kill chain lives in [0, duration]; kills may resolve later (for the pk lookup)
        self.pk_lo, pk_hi = edges[:-1], edges[1:]
        self.seg_lo, self.seg_hi = self.pk_lo[self.pk_lo < cs.duration_s], \
            pk_hi[self.pk_lo < cs.duration_s]
        self.streams = any(f.stream_rate_per_s > 0 for f in cs.flights)
        self.counts = {kind: cs.count(kind) for kind in ("sensor", "command_post", "fire_unit")}
        # attack a is on in segment g (and pk segment g), and which entities it targets
        self.attack_on = self._active(self.seg_lo, self.seg_hi)
        self.attack_on_pk = self._active(self.pk_lo, pk_hi)
        self.targets = {k: np.zeros((len(cs.attacks), n), dtype=bool)
                        for k, n in self.counts.items()}
        for i, a in enumerate(cs.attacks):
            for t in a.targets:
                self.targets[t.kind][i, t.index] = True
        self.sensor_cp = np.array([s.command_post for s in cs.sensors], dtype=np.int64)
        units = cs.units  # float and int64 arrays: the compiled loops are built for those
        self.unit_cp = np.array([u.command_post for u in units], dtype=np.int64)
        self.unit_radar = np.array([u.fire_control_radar for u in units], dtype=np.int64)
        self.unit_xyz = np.array([u.xyz for u in units], dtype=float).reshape(len(units), 3)
        self.track_end = np.array([f.track.duration_s for f in cs.flights], dtype=float)
        tracks = [f.track for f in cs.flights]  # every flight's waypoints, and where each starts
        self.tracks = (np.cumsum([0] + [len(t.t) for t in tracks], dtype=np.int64),
                       *(np.concatenate([getattr(t, a) for t in tracks] or [np.zeros(0)],
                                        dtype=float) for a in "txyz"))
        self.search_items = self._search_items()
        self.passages, self.acq = self._passages()

    def _active(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Whether attack a's window covers segment g, (attacks, segments)."""
        return np.array([[(a.start_s <= s) and (e <= a.end_s) for s, e in zip(lo, hi, strict=True)]
                         for a in self.cs.attacks], dtype=bool).reshape(len(self.cs.attacks),
                                                                        len(lo))

    def _search_items(self) -> dict[str, np.ndarray]:
        """(flight, search sensor, coverage interval) of every possible search detection."""
        rows = [(f, s, i, a, b) for f in range(len(self.cs.flights))
                for s, sensor in enumerate(self.cs.sensors)
                if sensor.role == "search" and sensor.command_post >= 0
                for i, (a, b) in enumerate(self.cs.coverage[f, s])]
        cols = np.array(rows, dtype=float).reshape(len(rows), 5)
        ints = cols[:, :3].astype(np.int64)
        return {"flight": ints[:, 0], "sensor": ints[:, 1], "a": cols[:, 3], "b": cols[:, 4],
                "words": hash_word(ints[:, 1:])}  # sensor and interval: the draw's address

    def _passages(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Every (flight, unit, envelope interval) with the unit's priority for the flight's
        class (−1: held fire), and the sub-intervals over which fire
        control may acquire in it (the envelope, or its part inside the radar's coverage)."""
        rows, acq = [], []
        for f in range(len(self.cs.flights)):
            for u, unit in enumerate(self.cs.units):
                rank = unit.priority[THREAT_CLASSES.index(self.cs.flights[f].threat_class)]
                for e, (a, b) in enumerate(self.cs.envelope[f, u]):
                    p = len(rows)
                    rows.append((f, u, e, a, b, rank))
                    subs = [(a, b)] if unit.guidance == "infrared" else \
                        intersect([(a, b)], self.cs.coverage[f, unit.fire_control_radar])
                    acq += [(p, k, lo, hi) for k, (lo, hi) in enumerate(subs)]
        p_cols = np.array(rows, dtype=float).reshape(len(rows), 6)
        a_cols = np.array(acq, dtype=float).reshape(len(acq), 4)
        ints = p_cols[:, :3].astype(np.int64)  # flight, unit, envelope interval
        passages = {"flight": ints[:, 0], "unit": ints[:, 1], "a": p_cols[:, 3],
                    "b": p_cols[:, 4], "priority": p_cols[:, 5].astype(np.int64),
                    "words": hash_word(ints[:, 1:])}  # unit and interval: the draws' address
        passage, k = a_cols[:, 0].astype(np.int64), a_cols[:, 1].astype(np.int64)
        # the draw's address words after the threat's: unit, envelope interval, sub-interval
        words = np.concatenate([passages["words"][passage], hash_word(k)[:, None]], axis=1)
        return passages, {"passage": passage, "a": a_cols[:, 2], "b": a_cols[:, 3],
                          "words": words}

    def threat_slots(self) -> list[tuple[str, float]]:
        """(flight id, threat slots one replication holds for it): its count, times the arrivals
        a block allows for a stream (the Poisson mean plus six standard deviations)."""
        out = []
        for f in self.cs.flights:
            arrivals = 1.0
            if f.stream_rate_per_s > 0:
                mean = f.stream_rate_per_s * max(0.0, f.stream_end_s - f.start_s)
                arrivals = mean + 6.0 * mean ** 0.5 + 1.0
            out.append((f.id, f.count * arrivals))
        return out

    def bytes_per_replication(self) -> float:
        """A bound on a replication's memory in a block: threat slots × entities, at the rate
        measured on the built-in and test scenarios (about 800 bytes per slot with six
        entities), plus a fixed part."""
        entities = self.counts["sensor"] + self.counts["fire_unit"] + 4
        slots = sum(n for _, n in self.threat_slots())
        return 16_384.0 + _BYTES_PER_SLOT_ENTITY * slots * entities

    def check_memory(self, budget: float) -> None:
        """MemoryBudgetError, naming the flights that need it, if one replication cannot fit."""
        need = self.bytes_per_replication()
        if need > budget:
            heavy = sorted(self.threat_slots(), key=lambda x: -x[1])[:3]
            raise MemoryBudgetError(
                f"one replication would need about {_size(need)} (budget {_size(budget)}): "
                + ", ".join(f"{fid}: {n:,.0f} threats per run" for fid, n in heavy)
                + "; lower a stream's rate_per_s or its window (end_s − start_s), or raise "
                "--memory")

    def block_size(self, budget: float = DEFAULT_MEMORY) -> int:
        """Replications per block: the per-passage window arrays stay moderate, and the block
        fits half the memory budget (the rest is for results on their way out)."""
        per_flight = max((f.count for f in self.cs.flights), default=1)
        items = max(1, len(self.search_items["a"]), len(self.acq["a"])) * per_flight
        per_rep = items * len(self.seg_lo)
        by_cells = int(np.clip(_CELLS_PER_BLOCK // per_rep, 64, DEFAULT_BLOCK))
        by_memory = int(0.5 * budget // self.bytes_per_replication())
        return max(1, min(by_cells, by_memory))


def _size(n: float) -> str:
    return f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{n / 2**20:.0f} MB"
