"""The vectorized engine: MODEL.md exactly as the reference engine implements it, computed for a
whole block of replications at once — NumPy arrays over replications, with the loops over the
items of each replication compiled by Numba (chain_loop.py, battle_loop.py).

Two facts make this possible. First, everything that changes an entity's state over time — a
strike, an electronic-attack window — happens at times fixed by the scenario, so time splits into
a few global *segments* in which every entity's state is constant in each replication. Second,
random numbers come from counter-based streams (counter_rng.py), so each draw is addressed, not
consumed in order, and a replication's results do not depend on the block it is computed in.

This module draws the world and works out when each kill-chain link holds; vector_battle.py
plays the engagements and records the outcomes.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from iadsim.compile import AVAILABLE, CONNECTED, DEPLOYED, EMITTING, KINDS, CompiledScenario
from iadsim.engine import chain_loop as loop
from iadsim.engine.battle_loop import engagement_time_codes
from iadsim.engine.counter_rng import (
    ACQUIRE,
    ARRIVAL_TIME,
    ARRIVALS,
    DECISION,
    DETECT,
    DISABLE,
    LINK_CUT,
    ORDERS,
    READY,
    STRIKE,
    CounterStreams,
    replication_keys,
)
from iadsim.engine.results import Results, run_info
from iadsim.engine.sampling import duration_quantile

INF = math.inf

DEFAULT_BLOCK = 1024  # replications computed together; any value gives the same results
_CELLS_PER_BLOCK = 6_000_000  # bound on the cells of a block's (replications × passages ×
# windows) arrays, estimated as replications × items × segments


def run_vectorized(cs: CompiledScenario, runs: int, *, seed: int, first: int = 0,
                   progress: Callable[[int], None] | None = None,
                   block_size: int | None = None, rows: bool = True) -> Results:
    """Run replications first … first + runs − 1 of the scenario, a block at a time
    (`rows`: also the per-threat and per-passage tables)."""
    from iadsim.engine.vector_battle import play

    plan = Plan(cs)
    size = block_size or plan.block_size()
    parts = []
    for lo in range(first, first + runs, size):
        reps = np.arange(lo, min(lo + size, first + runs), dtype=np.int64)
        block = Block(plan, CounterStreams(replication_keys(seed, reps)))
        parts.append(play(block, reps, rows))
        if progress is not None:
            progress(len(reps))
    info = run_info(cs, seed, "vectorized")
    return Results.concat([p.with_info(info) for p in parts]) if parts else \
        Results.empty(info)


# --- what does not depend on chance ---------------------------------------------------------------


class Plan:
    """Chance-free arrays of a compiled scenario: segments, per-segment factors, wiring."""

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
        self.counts = {"sensor": len(cs.sensors), "command_post": len(cs.command_posts),
                       "fire_unit": len(cs.units)}
        # attack a active in segment g, and which entities it targets
        self.attack_on = self._active(self.seg_lo, self.seg_hi)
        self.targets = {k: np.zeros((len(cs.attacks), n), dtype=bool)
                        for k, n in self.counts.items()}
        for i, a in enumerate(cs.attacks):
            for t in a.targets:
                self.targets[t.kind][i, t.index] = True
        # detection rates per entity and segment, while the entity is up
        detect_factor = [a.detect_factor for a in cs.attacks]
        detect = np.array([s.detect_rate for s in cs.sensors], dtype=float)[:, None]
        acquire = np.array([u.acquire_rate for u in cs.units], dtype=float)[:, None]
        self.detect_rate = _times(detect, self._factor("sensor", detect_factor))
        self.acquire_rate = _times(acquire, self._factor("fire_unit", detect_factor))
        self.sensor_cp = np.array([s.command_post for s in cs.sensors], dtype=np.int64)
        self.report_delay = np.array([c.report_delay_s for c in cs.command_posts], dtype=float)
        self.pk_factor = self._factor("fire_unit", [a.pk_factor for a in cs.attacks],
                                      self._active(self.pk_lo, pk_hi))
        units = cs.units  # float and int64 arrays: the compiled loops are built for those
        self.channels = np.array([u.channels for u in units], dtype=np.int64)
        self.salvo = np.array([u.salvo for u in units], dtype=np.int64)
        self.missiles = np.array([u.missiles for u in units], dtype=np.int64)
        self.sls = np.array([u.shoot_look_shoot for u in units], dtype=bool)
        self.own = np.array([u.own_acquisition_authorises for u in units], dtype=bool)
        self.autonomous_crew = np.array([u.authority == "autonomous" for u in units], dtype=bool)
        self.unit_cp = np.array([u.command_post for u in units], dtype=np.int64)
        self.unit_radar = np.array([u.fire_control_radar for u in units], dtype=np.int64)
        self.reliability = np.array([u.launch_reliability for u in units], dtype=float)
        self.unit_xyz = np.array([u.xyz for u in units], dtype=float).reshape(len(units), 3)
        self.acquisition_s = np.array([u.acquisition_time_s for u in units], dtype=float)
        self.missile_speed = np.array([u.missile_speed_mps for u in units], dtype=float)
        self.engagement_time = engagement_time_codes(units)
        self.pk = np.array([u.pk for u in units], dtype=float).reshape(len(units), len(cs.flights))
        self.track_end = np.array([f.track.duration_s for f in cs.flights], dtype=float)
        tracks = [f.track for f in cs.flights]  # every flight's waypoints, and where each starts
        self.tracks = (np.cumsum([0] + [len(t.t) for t in tracks], dtype=np.int64),
                       *(np.concatenate([getattr(t, a) for t in tracks] or [np.zeros(0)],
                                        dtype=float) for a in "txyz"))
        self.search_items = self._search_items()
        self.passages, self.acq = self._passages()

    def _active(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Whether attack a is on in segment g, (attacks, segments)."""
        return np.array([[(a.start_s <= s) and (e <= a.end_s) for s, e in zip(lo, hi, strict=True)]
                         for a in self.cs.attacks], dtype=bool).reshape(len(self.cs.attacks),
                                                                        len(lo))

    def _factor(self, kind: str, factors: list[float], on: np.ndarray | None = None
                ) -> np.ndarray:
        """Product of the active attacks' factors, per entity and segment."""
        on = self.attack_on if on is None else on
        out = np.ones((self.counts[kind], on.shape[1]))
        for i, f in enumerate(factors):
            out *= np.where(self.targets[kind][i][:, None] & on[i][None, :], f, 1.0)
        return out

    def _search_items(self) -> dict[str, np.ndarray]:
        """(flight, search sensor, coverage interval) of every possible search detection."""
        rows = [(f, s, i, a, b) for f in range(len(self.cs.flights))
                for s, sensor in enumerate(self.cs.sensors)
                if sensor.role == "search" and sensor.command_post >= 0
                for i, (a, b) in enumerate(self.cs.coverage[f, s])]
        cols = np.array(rows, dtype=float).reshape(len(rows), 5)
        return {"flight": cols[:, 0].astype(np.int64), "sensor": cols[:, 1].astype(np.int64),
                "interval": cols[:, 2].astype(np.int64), "a": cols[:, 3], "b": cols[:, 4]}

    def _passages(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Every (flight, unit, envelope interval), and the sub-intervals over which fire
        control may acquire in it (the envelope, or its part inside the radar's coverage)."""
        from iadsim.engine.intervals import intersect

        rows, acq = [], []
        for f in range(len(self.cs.flights)):
            for u, unit in enumerate(self.cs.units):
                for e, (a, b) in enumerate(self.cs.envelope[f, u]):
                    p = len(rows)
                    rows.append((f, u, e, a, b))
                    subs = [(a, b)] if unit.guidance == "infrared" else \
                        intersect([(a, b)], self.cs.coverage[f, unit.fire_control_radar])
                    acq += [(p, k, lo, hi) for k, (lo, hi) in enumerate(subs)]
        p_cols = np.array(rows, dtype=float).reshape(len(rows), 5)
        a_cols = np.array(acq, dtype=float).reshape(len(acq), 4)
        passages = {"flight": p_cols[:, 0].astype(np.int64), "unit": p_cols[:, 1].astype(np.int64),
                    "envelope": p_cols[:, 2].astype(np.int64), "a": p_cols[:, 3],
                    "b": p_cols[:, 4]}
        return passages, {"passage": a_cols[:, 0].astype(np.int64),
                          "k": a_cols[:, 1].astype(np.int64), "a": a_cols[:, 2],
                          "b": a_cols[:, 3]}

    def block_size(self) -> int:
        """Replications per block, so that the per-passage window arrays stay moderate."""
        per_flight = max((f.count for f in self.cs.flights), default=1)
        items = max(1, len(self.search_items["a"]), len(self.acq["a"])) * per_flight
        per_rep = items * len(self.seg_lo)
        return int(np.clip(_CELLS_PER_BLOCK // per_rep, 64, DEFAULT_BLOCK))


# --- one block's world ----------------------------------------------------------------------------


class Block:
    """The world of a block of replications and when each link holds, as arrays over them."""

    def __init__(self, plan: Plan, rng: CounterStreams):
        self.plan, self.cs, self.rng = plan, plan.cs, rng
        self.B = len(rng.keys)
        self._draw_world()
        self._threats()
        self._command_chain()
        self._passages()

    # step 1: readiness, strikes, electronic attack -- all before anything moves
    def _draw_world(self) -> None:
        plan, cs, rng = self.plan, self.cs, self.rng
        G = len(plan.seg_lo)
        self.ready = {kind: rng.uniform(READY, ki, np.arange(p.shape[0])[:, None],
                                        np.arange(5)[None, :]) < p
                      for ki, (kind, p) in enumerate(cs.readiness.items())}
        self.issues_orders = rng.uniform(ORDERS, np.arange(len(cs.command_posts))) < \
            np.array([c.orders_prob for c in cs.command_posts])
        self.destroyed_at = {k: np.full((self.B, n), INF) for k, n in plan.counts.items()}
        for i, s in enumerate(cs.strikes):
            if s.time_s <= cs.duration_s:
                hit = rng.uniform(STRIKE, i) < s.p_destroy
                col = self.destroyed_at[s.target.kind][:, s.target.index]
                col[:] = np.where(hit, np.minimum(col, s.time_s), col)
        self.cut = {k: np.zeros((self.B, n, G), dtype=bool) for k, n in plan.counts.items()}
        self.disabled = {k: np.zeros((self.B, n, G), dtype=bool) for k, n in plan.counts.items()}
        for a, attack in enumerate(cs.attacks):
            for t in attack.targets:
                ki = KINDS.index(t.kind)
                on = plan.attack_on[a]
                cut = rng.uniform(LINK_CUT, a, ki, t.index) < attack.link_cut_prob
                off = rng.uniform(DISABLE, a, ki, t.index) < attack.disable_prob
                self.cut[t.kind][:, t.index] |= cut[:, None] & on[None, :]
                self.disabled[t.kind][:, t.index] |= off[:, None] & on[None, :]
        alive = {k: plan.seg_lo[None, None, :] < d[:, :, None]
                 for k, d in self.destroyed_at.items()}

        def up(kind: str, factors: tuple[int, ...]) -> np.ndarray:
            ok = self.ready[kind][:, :, list(factors)].all(axis=2)
            return ok[:, :, None] & alive[kind] & ~self.disabled[kind]

        self.sensor_on = up("sensor", (AVAILABLE, DEPLOYED, EMITTING))
        self.sensor_link = self.sensor_on & self.ready["sensor"][:, :, CONNECTED, None] & \
            ~self.cut["sensor"]
        self.cp_on = up("command_post", (AVAILABLE, DEPLOYED))
        self.cp_link = self.cp_on & ~self.cut["command_post"]
        self.unit_ready = up("fire_unit", (AVAILABLE, DEPLOYED))
        self.search_rate = np.where(self.sensor_on, plan.detect_rate[None], 0.0)
        self.fire_control_rate = np.where(self.sensor_link, plan.detect_rate[None], 0.0)
        self.infrared_rate = np.where(self.unit_ready, plan.acquire_rate[None], 0.0)

    # the threats: fixed flights, and Poisson arrivals of streams
    def _threats(self) -> None:
        cs, rng, B = self.cs, self.rng, self.B
        flights, t0, active, ident = [], [], [], []
        for f, flight in enumerate(cs.flights):
            if flight.stream_rate_per_s > 0:
                from scipy.stats import poisson

                span = flight.stream_end_s - flight.start_s
                n = poisson.ppf(rng.uniform(ARRIVALS, f), flight.stream_rate_per_s * span)
                n = n.astype(np.int64)
                n_max = int(n.max(initial=0))
                arrive = flight.start_s + span * rng.uniform(ARRIVAL_TIME, f, np.arange(n_max))
                arrive = np.sort(np.where(np.arange(n_max)[None] < n[:, None], arrive, INF), 1)
                instances = np.arange(n_max)
            else:
                arrive = np.full((B, 1), flight.start_s)
                instances = np.zeros(1, dtype=np.int64)
            for i in instances:
                for c in range(flight.count):
                    flights.append(f)
                    t0.append(arrive[:, i])
                    active.append(np.isfinite(arrive[:, i]))
                    ident.append((f << 40) | (int(i) << 16) | c)
        self.threat_flight = np.array(flights, dtype=np.int64)
        self.threat_id = np.array(ident, dtype=np.uint64)
        self.t0 = np.stack(t0, axis=1) if t0 else np.zeros((B, 0))
        self.active = np.stack(active, axis=1) if active else np.zeros((B, 0), dtype=bool)
        self.t0 = np.where(self.active, self.t0, 0.0)

    def _expand(self, items: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Pair each static item with each threat of its flight: (threat, item) indices."""
        by_flight = [np.flatnonzero(self.threat_flight == f) for f in range(len(self.cs.flights))]
        js, ks = [], []
        for k, f in enumerate(items["flight"]):
            js.append(by_flight[f])
            ks.append(np.full(len(by_flight[f]), k))
        return (np.concatenate(js).astype(np.int64) if js else np.zeros(0, np.int64),
                np.concatenate(ks).astype(np.int64) if ks else np.zeros(0, np.int64))

    # step 2a: search detection, reports and orders, per threat and command post
    def _command_chain(self) -> None:
        cs, plan, B = self.cs, self.plan, self.B
        J, C = len(self.threat_id), len(cs.command_posts)
        items = plan.search_items
        j, k = self._expand(items)
        s = items["sensor"][k]
        self.detected_at = np.full((B, J, C), INF)
        self.reported_at = np.full((B, J, C), INF)
        loop.command_chain(
            keys=self.rng.keys, purpose=DETECT, t0=self.t0, active=self.active,
            duration=cs.duration_s, item_j=j, item_s=s, item_c=plan.sensor_cp[s],
            item_interval=items["interval"][k], item_lo=items["a"][k], item_hi=items["b"][k],
            threat_id=self.threat_id, search_rate=self.search_rate,
            sensor_link=self.sensor_link, cp_link=self.cp_link, delay=plan.report_delay,
            seg_lo=plan.seg_lo, seg_hi=plan.seg_hi, detected=self.detected_at,
            reported=self.reported_at)
        self.ordered_at = np.full((B, J, C), INF)
        for ci, post in enumerate(cs.command_posts):
            reported = self.reported_at[:, :, ci]
            if post.authority == "autonomous":
                wait = np.full(reported.shape, post.autonomous_delay_s)
            else:
                wait = duration_quantile(post.decision_delay,
                                         self.rng.uniform(DECISION, self.threat_id, ci))
            t = reported + wait
            dis = self.disabled["command_post"][:, ci]  # (B, G)
            for _ in range(len(plan.seg_lo)):  # push out of disabled windows, in order
                g = np.clip(np.searchsorted(plan.seg_lo, t, side="right") - 1, 0,
                            len(plan.seg_lo) - 1)
                inside = np.take_along_axis(dis, g, axis=1) & (t < cs.duration_s)
                t = np.where(inside, plan.seg_hi[g], t)
            t = np.where(t < cs.duration_s, t, INF)  # an order at the end comes too late
            ok = self.issues_orders[:, ci, None] & \
                (t < self.destroyed_at["command_post"][:, ci, None])
            self.ordered_at[:, :, ci] = np.where(ok & np.isfinite(reported), t, INF)

    # step 2b: fire-control acquisition and the links of every passage
    def _passages(self) -> None:
        cs, plan, B = self.cs, self.plan, self.B
        P_items, A_items = plan.passages, plan.acq
        pj, pk = self._expand(P_items)  # passage p = (threat pj, static passage pk)
        self.p_threat, self.p_static = pj, pk
        self.p_unit = P_items["unit"][pk]
        # acquisition items: each (passage, sub-interval); the passages of one static passage
        # are consecutive in the expansion, starting at `starts`
        P = len(pj)
        starts = np.searchsorted(pk, np.arange(len(P_items["a"])), side="left")
        ai_static = A_items["passage"]
        reps_per = np.bincount(pk, minlength=len(P_items["a"]))
        a_p = np.concatenate([starts[s] + np.arange(reps_per[s]) for s in ai_static]) \
            if len(ai_static) else np.zeros(0, np.int64)
        a_k = np.repeat(np.arange(len(ai_static)), reps_per[ai_static]) if len(ai_static) \
            else np.zeros(0, np.int64)
        order = np.argsort(a_p, kind="stable")
        a_p, a_k = a_p[order].astype(np.int64), a_k[order].astype(np.int64)
        u = self.p_unit[a_p]
        radar = plan.unit_radar[u]
        # fire control: the radar's own (rates and links of sensors), or the infrared unit's
        source = np.where(radar < 0, len(cs.sensors) + u, radar)
        rates = np.concatenate([self.fire_control_rate, self.infrared_rate], axis=1)
        hold = np.concatenate([self.sensor_link, self.unit_ready], axis=1)
        # windows per passage, in time order (sub-intervals, then segments), and the links
        G = len(plan.seg_lo)
        slot = (np.arange(len(a_p)) - np.searchsorted(a_p, a_p, side="left"))
        W = max(1, int(np.bincount(a_p, minlength=P).max(initial=0)) * G)
        self.p_lo, self.p_hi = np.empty((B, P)), np.empty((B, P))
        self.p_valid = np.empty((B, P), dtype=bool)
        self.win_lo = np.full((B, P, W), INF)
        self.win_hi = np.full((B, P, W), INF)
        self.link_held = np.zeros((B, P, 5), dtype=bool)
        cp = plan.unit_cp[self.p_unit]
        none = np.full((B, len(self.threat_id), 1), INF)  # the column of units with no post
        detected, reported, ordered = (np.concatenate([times, none], axis=2) for times in (
            self.detected_at, self.reported_at, self.ordered_at))
        loop.passage_windows(
            keys=self.rng.keys, purpose=ACQUIRE, t0=self.t0, active=self.active,
            duration=cs.duration_s, threat_id=self.threat_id, p_threat=pj, p_unit=self.p_unit,
            p_cp=np.where(cp < 0, len(cs.command_posts), cp), own=plan.own[self.p_unit],
            p_rel_lo=P_items["a"][pk], p_rel_hi=P_items["b"][pk], a_passage=a_p, a_slot=slot,
            a_envelope=P_items["envelope"][pk[a_p]], a_k=A_items["k"][a_k],
            a_rel_lo=A_items["a"][a_k], a_rel_hi=A_items["b"][a_k], rates=rates, hold=hold,
            source=source, unit_ready=self.unit_ready, detected=detected, reported=reported,
            ordered=ordered, seg_lo=plan.seg_lo, seg_hi=plan.seg_hi, p_lo=self.p_lo,
            p_hi=self.p_hi, p_valid=self.p_valid, win_lo=self.win_lo, win_hi=self.win_hi,
            link_held=self.link_held)

def _times(rate: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """rate × factor, where a zero factor stops even an infinite rate."""
    return np.where(factor == 0.0, 0.0, rate * factor)
