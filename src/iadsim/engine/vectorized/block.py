"""One block of replications of the vectorized engine: the world as drawn before anything moves,
and when each kill-chain link holds, as arrays over the block's rows.

Everything that changes an entity's state over time — a strike, an electronic-attack window —
happens at times fixed by the scenario, so time splits into the plan's segments in which every
entity's state is constant in each replication. Random numbers are addressed (counter_rng.py):
a row's draws depend on its replication index only, never on its parameters or its block.
"""

from __future__ import annotations

import math

import numpy as np

from iadsim.compile import CompiledScenario
from iadsim.engine.vectorized import chain_kernels as kernels
from iadsim.engine.vectorized.counter_rng import (
    ARRIVAL_TIME,
    ARRIVALS,
    DISABLE,
    LINK_CUT,
    ORDERS,
    READY,
    SHARED_READY,
    STRIKE,
    CounterStreams,
    hash_word,
)
from iadsim.engine.vectorized.plan import Plan
from iadsim.params import Params
from iadsim.rules import (
    AUTONOMOUS,
    CONNECTED,
    DELEGATED,
    HELD_LINKS,
    INF,
    KINDS,
    UP,
)
from iadsim.scenario.schema import READINESS_FACTORS


class Block:
    """The world of a block of rows and when each link holds, as arrays over them."""

    def __init__(self, plan: Plan, params: Params, rng: CounterStreams):
        self.plan, self.cs, self.params, self.rng = plan, plan.cs, params, rng
        self.B = len(rng.keys)
        self._draw_world()
        self._threats()
        self._command_chain()
        self._passages()

    # step 1: readiness, strikes, electronic attack -- all before anything moves
    def _draw_world(self) -> None:
        plan, cs, rng, par = self.plan, self.cs, self.rng, self.params
        G = len(plan.seg_lo)
        factors = np.arange(len(READINESS_FACTORS))[None, :]
        draws = {kind: rng.uniform(READY, ki, np.arange(plan.counts[kind])[:, None], factors)
                 for ki, kind in enumerate(KINDS)}
        shared_u = rng.uniform(SHARED_READY, np.arange(len(cs.shared)))
        for g, shared in enumerate(cs.shared):  # one draw for the group, per factor
            for e in shared.members:
                draws[e.kind][:, e.index, shared.factor] = shared_u[:, g]
        self.ready = {kind: draws[kind] < par.readiness(kind) for kind in KINDS}
        orders_prob = np.where(par.authority == AUTONOMOUS, 1.0, par.orders_prob)
        self.issues_orders = rng.uniform(ORDERS, np.arange(len(cs.command_posts))) < orders_prob
        self.destroyed_at = {k: np.full((self.B, n), INF) for k, n in plan.counts.items()}
        hits = rng.uniform(STRIKE, np.arange(len(cs.strikes))) < par.p_destroy
        for i, s in enumerate(cs.strikes):
            if s.time_s <= cs.duration_s:
                hit = hits[:, i]
                col = self.destroyed_at[s.target.kind][:, s.target.index]
                col[:] = np.where(hit, np.minimum(col, s.time_s), col)
        self.cut = {k: np.zeros((self.B, n, G), dtype=bool) for k, n in plan.counts.items()}
        self.disabled = {k: np.zeros((self.B, n, G), dtype=bool) for k, n in plan.counts.items()}
        for a, attack in enumerate(cs.attacks):
            active = par.attack_active[:, a, None]
            kind = np.array([KINDS.index(t.kind) for t in attack.targets], dtype=np.int64)
            index = np.array([t.index for t in attack.targets], dtype=np.int64)
            cuts = (rng.uniform(LINK_CUT, a, kind, index) < par.link_cut_prob[:, a, None]) & active
            offs = (rng.uniform(DISABLE, a, kind, index) < par.disable_prob[:, a, None]) & active
            on = plan.attack_on[a][None, :]
            for i, t in enumerate(attack.targets):
                self.cut[t.kind][:, t.index] |= cuts[:, i, None] & on
                self.disabled[t.kind][:, t.index] |= offs[:, i, None] & on
        alive = {k: plan.seg_lo[None, None, :] < d[:, :, None]
                 for k, d in self.destroyed_at.items()}

        def up(kind: str) -> np.ndarray:
            ok = self.ready[kind][:, :, list(UP[kind])].all(axis=2)
            return ok[:, :, None] & alive[kind] & ~self.disabled[kind]

        self.sensor_on = up("sensor")
        self.sensor_link = self.sensor_on & self.ready["sensor"][:, :, CONNECTED, None] & \
            ~self.cut["sensor"]
        self.cp_on = up("command_post")
        self.cp_link = self.cp_on & ~self.cut["command_post"]
        self.unit_ready = up("fire_unit")
        detect = _times(par.detect_rate[:, :, None],
                        self._factor("sensor", par.detect_factor, plan.attack_on))
        acquire = _times(par.acquire_rate[:, :, None],
                         self._factor("fire_unit", par.detect_factor, plan.attack_on))
        self.search_rate = np.where(self.sensor_on, detect, 0.0)
        self.fire_control_rate = np.where(self.sensor_link, detect, 0.0)
        self.infrared_rate = np.where(self.unit_ready, acquire, 0.0)
        self.pk_factor = self._factor("fire_unit", par.pk_factor, plan.attack_on_pk)
        self.launch_factor = self._factor("fire_unit", par.launch_factor, plan.attack_on_pk)
        # authority, per unit: engages on own acquisition; crew counts as trained
        has_cp = self.plan.unit_cp >= 0
        unit_authority = par.authority[:, np.maximum(self.plan.unit_cp, 0)] if has_cp.any() \
            else np.zeros((self.B, len(has_cp)), dtype=np.int64)
        self.own = ~has_cp | (unit_authority == DELEGATED)
        self.automated = has_cp & (unit_authority == AUTONOMOUS)

    def _factor(self, kind: str, factors: np.ndarray, on: np.ndarray) -> np.ndarray:
        """Product of the active attacks' factors (B, A), per row, entity and segment."""
        out = np.ones((self.B, self.plan.counts[kind], on.shape[1]))
        for a in range(on.shape[0]):
            hit = self.plan.targets[kind][a][None, :, None] & on[a][None, None, :] & \
                self.params.attack_active[:, a, None, None]
            out *= np.where(hit, factors[:, a, None, None], 1.0)
        return out

    # the threats: fixed flights, and Poisson arrivals of streams
    def _threats(self) -> None:
        cs, rng, B = self.cs, self.rng, self.B
        flights, t0, active, ident = [], [], [], []
        counts = arrivals(cs, rng)
        for f, flight in enumerate(cs.flights):
            if flight.stream_rate_per_s > 0:
                span = flight.stream_end_s - flight.start_s
                n = counts[:, f]
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
        self.threat_word = hash_word(self.threat_id)
        self.threats = kernels.Threats(self.t0, self.active, self.threat_word)

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
        segments = kernels.Segments(plan.seg_lo, plan.seg_hi)
        kernels.command_chain(
            keys=self.rng.keys, duration=cs.duration_s, threats=self.threats,
            items=kernels.SearchItems(j, s, plan.sensor_cp[s], items["a"][k], items["b"][k],
                                      items["words"][k]),
            search_rate=self.search_rate, sensor_link=self.sensor_link, cp_link=self.cp_link,
            report_delay=self.params.report_delay, seg=segments, detected=self.detected_at,
            reported=self.reported_at)
        self.ordered_at = np.full((B, J, C), INF)
        par = self.params
        kernels.order_times(
            keys=self.rng.keys, duration=cs.duration_s, words=self.threat_word,
            reported=self.reported_at,
            orders=kernels.Orders(self.issues_orders, par.authority, par.decision_delay,
                                  par.autonomous_delay, self.disabled["command_post"],
                                  self.destroyed_at["command_post"]),
            seg=segments, ordered=self.ordered_at)

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
        # windows per passage, in time order (sub-intervals, then segments), and the links
        G = len(plan.seg_lo)
        slot = (np.arange(len(a_p)) - np.searchsorted(a_p, a_p, side="left"))
        W = max(1, int(np.bincount(a_p, minlength=P).max(initial=0)) * G)
        self.windows = kernels.Windows(np.empty((B, P)), np.empty((B, P)),
                                       np.empty((B, P), dtype=bool), np.full((B, P, W), INF),
                                       np.full((B, P, W), INF),
                                       np.zeros((B, P, HELD_LINKS), dtype=bool))
        cp = plan.unit_cp[self.p_unit]
        none = np.full((B, len(self.threat_id), 1), INF)  # the column of units with no post
        command = kernels.Command(*(np.concatenate([times, none], axis=2) for times in (
            self.detected_at, self.reported_at, self.ordered_at)))
        kernels.passage_windows(
            keys=self.rng.keys, duration=cs.duration_s, threats=self.threats,
            passages=kernels.Passages(pj, self.p_unit,
                                      np.where(cp < 0, len(cs.command_posts), cp),
                                      P_items["a"][pk], P_items["b"][pk]),
            acq=kernels.Acquisitions(a_p, slot, A_items["a"][a_k], A_items["b"][a_k], source,
                                     A_items["words"][a_k]),
            fc=kernels.FireControl(
                np.concatenate([self.fire_control_rate, self.infrared_rate], axis=1),
                np.concatenate([self.sensor_link, self.unit_ready], axis=1), self.unit_ready,
                self.own,
                self.ready["fire_unit"][:, :, CONNECTED, None] & ~self.cut["fire_unit"]),
            command=command, seg=kernels.Segments(plan.seg_lo, plan.seg_hi), out=self.windows)


def arrivals(cs: CompiledScenario, rng: CounterStreams) -> np.ndarray:
    """(B, flights) arrivals of each stream in each replication (0 for the fixed flights): the
    Poisson quantile of its addressed uniform."""
    out = np.zeros((len(rng.keys), len(cs.flights)), dtype=np.int64)
    for f, flight in enumerate(cs.flights):
        if flight.stream_rate_per_s > 0:
            mean = flight.stream_rate_per_s * (flight.stream_end_s - flight.start_s)
            out[:, f] = poisson_quantile(rng.uniform(ARRIVALS, f), mean)
    return out


def poisson_quantile(u: np.ndarray, mean: float) -> np.ndarray:
    """The smallest n with P(N ≤ n) ≥ u for N ~ Poisson(mean), without importing SciPy on the
    run path: the distribution summed over the mean ± 40 standard deviations (the mass outside
    is below 1e-300), the upper tail from the top. It gives scipy.stats.poisson.ppf's counts
    for every u below 1 − 1e-9; above, SciPy's tail (1 − its CDF) rounds and may be one off."""
    if mean <= 0:
        return np.zeros(np.shape(u), dtype=np.int64)
    spread = 40.0 * math.sqrt(mean) + 40.0
    lo, hi = max(0, math.floor(mean - spread)), math.ceil(mean + spread)
    k = np.arange(lo + 1, hi + 1, dtype=float)  # log pmf by its ratio recurrence from lo
    log_pmf = np.concatenate([[lo * math.log(mean) - mean - math.lgamma(lo + 1.0)],
                              math.log(mean) - np.log(k)])
    pmf = np.exp(np.cumsum(log_pmf))
    cdf = np.cumsum(pmf)
    above = np.append(np.cumsum(pmf[:0:-1])[::-1], 0.0)  # P(N > n), summed from the top so
    # that the upper tail keeps its precision: there 1 − u is exact
    u = np.asarray(u)
    n = np.where(u <= 0.5, np.searchsorted(cdf, u, side="left"),
                 np.searchsorted(-above, u - 1.0, side="left"))
    return lo + np.minimum(n, hi - lo)


def _times(rate: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """rate × factor, where a zero factor stops even an infinite rate."""
    return np.where(factor == 0.0, 0.0, rate * factor)
