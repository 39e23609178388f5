"""Engagements for a block of replications at once, and the outcome of every passage.

Every (replication, passage) with an engageable window is a *candidate*. A unit's next event is
its head candidate — FCFS: earliest engageable, and behind those already waiting after a miss —
at max(engageable since, first free channel): it starts that engagement, leaves a window it
could not be served in, or retires because its threat is dead, its unit is out of missiles, or
the unit already engaged that threat. Units interact only through kills, so each round plays,
in every replication, every unit's next event that no unplayed event could affect (no other
candidate could kill its threat sooner); the result is the same as playing events one at a time
in time order, which a test checks. Engagement outcomes are drawn at the start; a threat's kill
is credited to the engagement that resolves first with a kill (MODEL.md).
"""

from __future__ import annotations

import numpy as np

from iadsim.engine.counter_rng import CounterStreams
from iadsim.engine.results import LINKS, UNIT_COUNTS, Results, RunInfo
from iadsim.engine.sampling import duration_quantile
from iadsim.engine.vectorized import ENGAGE_TIME, INF, KILL, LAUNCH, TRAINED, Block

ENGAGEMENTS, LAUNCHES, LAUNCH_FAILURES, MISSES, KILLS, MISSILES_FIRED = range(len(UNIT_COUNTS))
NONE, ABORTED, NO_LAUNCH, MISS, KILL_DRAW = range(5)


class Battle:
    """The engagement state of a block: channels, magazines, kills, and the candidates."""

    def __init__(self, block: Block):
        self.block, self.plan, self.cs = block, block.plan, block.cs
        B, U = block.B, len(self.cs.units)
        J, P = len(block.threat_id), len(block.p_threat)
        cmax = int(self.plan.channels.max(initial=1))
        self.free_at = np.where(np.arange(cmax)[None, None, :] < self.plan.channels[None, :, None],
                                -INF, INF) * np.ones((B, 1, 1))
        self.next_free = self.free_at.min(axis=2)
        self.missiles = np.broadcast_to(self.plan.missiles, (B, U)).copy()
        self.kill_time = np.full((B, J), INF)
        self.killer = np.full((B, J), -1, dtype=np.int64)
        self.engaged = np.zeros((B, J, U), dtype=bool)
        self.counts = np.zeros((B, len(UNIT_COUNTS), U), dtype=np.int64)
        # per (replication, passage): what happened
        self.n_engaged = np.zeros((B, P), dtype=np.int64)
        self.last_outcome = np.zeros((B, P), dtype=np.int8)
        self.last_resolution = np.full((B, P), -INF)
        self.skipped = np.zeros((B, P), dtype=bool)
        # All candidates wait in `pending`, by engageable-since time; those before the horizon
        # are `active`, grouped by (replication, unit), and by threat through `by_threat`.
        b, p = np.nonzero(np.isfinite(block.win_lo[:, :, 0]))
        since = block.win_lo[b, p, 0]
        order = np.argsort(since, kind="stable")
        self.pending = {"b": b[order], "p": p[order], "ready_from": since[order]}
        self.cursor, self.horizon, self.clock = 0, -INF, 0
        self.chunk = max(4 * B, len(b) // 16)
        none = np.zeros(0, dtype=np.int64)
        self.b, self.p, self.window, self.ready_from = none, none, none, np.zeros(0)
        self.queued = none  # when it joined its queue at ready_from: a rejoin goes behind
        self.u, self.j = none, none
        self._regroup()

    def _activate(self) -> None:
        """Move the horizon on by a chunk of pending candidates and make them active. No
        pending candidate can act, or kill, before the horizon, so events before it can be
        played among the active ones alone."""
        pending, n = self.pending, len(self.pending["b"])
        end = min(n, self.cursor + self.chunk)
        take = slice(self.cursor, end)
        self.cursor = end
        self.horizon = pending["ready_from"][end] if end < n else INF
        keep = self.live
        b = np.r_[self.b[keep], pending["b"][take]]
        p = np.r_[self.p[keep], pending["p"][take]]
        window = np.r_[self.window[keep], np.zeros(end - take.start, dtype=np.int64)]
        ready_from = np.r_[self.ready_from[keep], pending["ready_from"][take]]
        queued = np.r_[self.queued[keep], np.zeros(end - take.start, dtype=np.int64)]
        u = self.block.p_unit[p]
        order = np.lexsort((p, u, b))
        self.b, self.p, self.u = b[order], p[order], u[order]
        self.j = self.block.p_threat[self.p]
        self.window, self.ready_from = window[order], ready_from[order]
        self.queued = queued[order]
        self._regroup()

    def _regroup(self) -> None:
        """Flat indices into the per-replication arrays, and the boundaries of the
        (replication, unit), (replication, threat) and replication groups."""
        J, P = len(self.block.threat_id), len(self.block.p_threat)
        U, W = len(self.cs.units), self.block.win_lo.shape[2]
        self.bu, self.bj, self.bp = self.b * U + self.u, self.b * J + self.j, self.b * P + self.p
        self.bju, self.bpw = self.bj * U + self.u, self.bp * W
        self.once_rule = ~self.plan.sls[self.u]
        new = np.r_[True, (self.b[1:] != self.b[:-1]) | (self.u[1:] != self.u[:-1])]
        self.unit_first, self.unit_group = np.flatnonzero(new), np.cumsum(new) - 1
        self.by_threat = np.lexsort((np.arange(len(self.b)), self.j, self.b))
        tb, tj = self.b[self.by_threat], self.j[self.by_threat]
        new = np.r_[True, (tb[1:] != tb[:-1]) | (tj[1:] != tj[:-1])]
        self.threat_first, self.threat_group = np.flatnonzero(new), np.cumsum(new) - 1
        new = np.r_[True, self.b[1:] != self.b[:-1]]
        self.rep_first, self.rep_group = np.flatnonzero(new), np.cumsum(new) - 1
        self.live = np.isfinite(self.ready_from)

    def run(self) -> None:
        while True:
            self._retire()
            if len(self.b) and self.live.mean() < 0.6:
                self._compact()
            if self._round():
                continue
            if self.cursor == len(self.pending["b"]):
                break  # the horizon is at infinity and nothing is left to play
            self._activate()

    def _tick(self) -> int:
        """A number larger than any before: the order in which candidates joined queues."""
        self.clock += 1
        return self.clock

    def _start(self) -> np.ndarray:
        """No candidate can start before max(engageable since, its unit's first free channel)."""
        return np.maximum(self.ready_from, self.next_free.ravel()[self.bu])

    def _retire(self) -> None:
        """Settle, for every candidate at once, what needs no channel: if its threat is dead by
        the earliest time it could start, or its unit is out of missiles, or (without
        shoot-look-shoot) its unit already engaged the threat, it is done; if its window ends
        before then, it moves on to its next window (keeping its place in the queue if the two
        windows touch)."""
        block, live = self.block, self.live
        start = self._start()
        once = self.once_rule & self.engaged.ravel()[self.bju]
        skip = live & once & (self.n_engaged.ravel()[self.bp] == 0)
        self.skipped.ravel()[self.bp[skip]] = True
        live &= (self.kill_time.ravel()[self.bj] > start) & \
            (self.missiles.ravel()[self.bu] > 0) & ~once
        win_lo, win_hi, end = block.win_lo.ravel(), block.win_hi.ravel(), block.win_lo.shape[2]
        for _ in range(end):
            hi = win_hi[self.bpw + self.window]
            drop = np.flatnonzero(live & (start > hi))
            if not len(drop):
                break
            nw = self.window[drop] + 1
            nlo = np.where(nw < end, win_lo[self.bpw[drop] + np.minimum(nw, end - 1)], INF)
            self.window[drop] = np.minimum(nw, end - 1)
            rejoin = nlo != hi[drop]
            self.ready_from[drop] = np.where(rejoin, nlo, self.ready_from[drop])
            self.queued[drop] = np.where(rejoin, self._tick(), self.queued[drop])
            start[drop] = np.maximum(self.ready_from[drop],
                                     self.next_free.ravel()[self.bu[drop]])
            live[drop] &= np.isfinite(nlo) & (self.kill_time.ravel()[self.bj[drop]] > start[drop])
        self.ready_from[~live] = INF

    def _compact(self) -> None:
        keep = self.live
        for name in ("b", "p", "u", "j", "window", "ready_from", "queued"):
            setattr(self, name, getattr(self, name)[keep])
        self._regroup()

    def _round(self) -> bool:
        """Every unit's next event whose outcome cannot depend on events not yet played.

        A unit's next event is its head candidate (FCFS: earliest engageable) at
        max(engageable since, first free channel). Other units interact with it only by
        killing its threat first, and a kill comes no sooner than a candidate's earliest start
        plus its unit's shortest engagement. So the head is played now when no other candidate
        on its threat could kill before the head starts. Only events before the horizon are
        played; the earliest of each replication always qualifies. Returns whether any was.
        """
        block, n = self.block, len(self.b)
        if not self.live.any():
            return False
        start = self._start()
        head = np.zeros(n, dtype=bool)
        head[_group_winners(self.unit_first, self.unit_group, self.ready_from, self.queued)] = True
        earliest = np.zeros(n, dtype=bool)
        earliest[_group_winners(self.rep_first, self.rep_group, start, self.ready_from,
                                self.queued)] = True
        order = self.by_threat
        kill_from = (start + self.plan.min_engagement_s[self.u])[order]
        first = _group_winners(self.threat_first, self.threat_group, kill_from)
        best = kill_from[first][self.threat_group]
        others = kill_from.copy()
        others[first] = INF
        second = np.minimum.reduceat(others, self.threat_first)[self.threat_group]
        is_first = np.zeros(n, dtype=bool)
        is_first[first] = True
        rivals = np.empty(n)
        rivals[order] = np.where(is_first, second, best)
        sel = np.flatnonzero(head & self.live & ((start < rivals) | earliest) &
                             (start < self.horizon))
        if not len(sel):
            return False
        b, p, t, j, u = self.b[sel], self.p[sel], start[sel], self.j[sel], self.u[sel]
        w = self.window[sel]
        done = np.zeros(len(sel), dtype=bool)
        # the threat died while this candidate waited for a channel
        done |= self.kill_time[b, j] <= t
        # it left its window before a channel freed: on to its next window, if any
        end = block.win_lo.shape[2]
        drop = ~done & (t > block.win_hi[b, p, w])
        if drop.any():
            nw = np.minimum(w[drop] + 1, end - 1)
            nlo = block.win_lo[b[drop], p[drop], nw]
            has = (w[drop] + 1 < end) & np.isfinite(nlo)
            touching = nlo == block.win_hi[b[drop], p[drop], w[drop]]
            ii = sel[drop]
            self.window[ii] = nw
            self.ready_from[ii] = np.where(touching, self.ready_from[ii], nlo)
            self.queued[ii] = np.where(touching, self.queued[ii], self._tick())
            done[np.flatnonzero(drop)[~has]] = True
        # a unit engages a threat at most once without shoot-look-shoot
        once = ~done & ~drop & ~self.plan.sls[u] & self.engaged[b, j, u]
        self.skipped[b[once], p[once]] = self.n_engaged[b[once], p[once]] == 0
        done |= once
        fire = ~done & ~drop
        if fire.any():
            again = self._engage(sel[fire], b[fire], p[fire], t[fire], j[fire], u[fire])
            done[np.flatnonzero(fire)[~again]] = True
        self.live[sel[done]] = False
        self.ready_from[sel[done]] = INF
        return True

    def _engage(self, sel: np.ndarray, b: np.ndarray, p: np.ndarray, t: np.ndarray,
                j: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Start engagements; returns which candidates may engage again (shoot-look-shoot)."""
        block, plan, cs = self.block, self.plan, self.cs
        k = self.n_engaged[b, p]
        fired = np.minimum(plan.salvo[u], self.missiles[b, u])
        self.missiles[b, u] -= fired  # one event per replication a round: (b, u) are unique
        self.counts[b, ENGAGEMENTS, u] += 1
        self.counts[b, MISSILES_FIRED, u] += fired
        f = block.threat_flight[j]
        address = (block.threat_id[j], u, plan.passages["envelope"][block.p_static[p]], k)
        draws = CounterStreams(block.rng.keys[b])
        duration = np.empty(len(b))
        since_start = t - block.t0[b, j]
        for fi in np.unique(f):  # default: acquisition, then flyout to the range at launch
            m = f == fi
            x, y, z = cs.flights[fi].track.position(since_start[m])
            ux, uy, uz = plan.unit_xyz[u[m]].T
            distance = np.sqrt((x - ux) ** 2 + (y - uy) ** 2 + (z - uz) ** 2)
            duration[m] = plan.acquisition_s[u[m]] + distance / plan.missile_speed[u[m]]
        for ui in np.unique(u):
            if cs.units[ui].engagement_time is not None:
                m = u == ui
                u_time = draws.uniform_aligned(ENGAGE_TIME, *address)[m]
                duration[m] = duration_quantile(cs.units[ui].engagement_time, u_time)
        resolve = t + duration
        c = np.argmin(self.free_at[b, u], axis=1)
        self.free_at[b, u, c] = resolve
        self.next_free[b, u] = self.free_at[b, u].min(axis=1)
        self.engaged[b, j, u] = True
        self.n_engaged[b, p] = k + 1
        self.last_resolution[b, p] = resolve
        aborted = block.destroyed_at["fire_unit"][b, u] <= resolve
        trained = block.ready["fire_unit"][b, u, TRAINED] | plan.autonomous_crew[u]
        crew = np.where(trained, 1.0, cs.untrained_crew_factor)
        g = np.clip(np.searchsorted(plan.pk_lo, resolve, side="right") - 1, 0,
                    len(plan.pk_lo) - 1)
        p_launch = np.minimum(1.0, plan.reliability[u] * crew)
        p_kill = np.minimum(1.0, plan.pk[u, f] * crew * plan.pk_factor[u, g])
        salvo = np.arange(int(plan.salvo.max(initial=1)))[None, :]
        in_salvo = salvo < fired[:, None]
        u_launch = draws.uniform_aligned(LAUNCH, *(a[:, None] for a in address), salvo)
        u_kill = draws.uniform_aligned(KILL, *(a[:, None] for a in address), salvo)
        launched = in_salvo & (u_launch < p_launch[:, None])
        kills = launched & (u_kill < p_kill[:, None])
        kills &= (resolve <= block.t0[b, j] + plan.track_end[f])[:, None]
        n_launched = np.where(aborted, 0, launched.sum(1))
        n_kills = np.where(aborted, 0, kills.sum(1))
        self.counts[b, LAUNCHES, u] += n_launched
        self.counts[b, LAUNCH_FAILURES, u] += np.where(aborted, 0, fired - n_launched)
        self.counts[b, MISSES, u] += n_launched - n_kills
        kill = ~aborted & (n_kills > 0)
        outcome = np.select([aborted, kill, n_launched > 0], [ABORTED, KILL_DRAW, MISS],
                            NO_LAUNCH).astype(np.int8)
        self.last_outcome[b, p] = outcome
        # the kill goes to the engagement that resolves first (several may share a threat)
        np.minimum.at(self.kill_time, (b[kill], j[kill]), resolve[kill])
        first = kill & (self.kill_time[b, j] == resolve)
        self.killer[b[first], j[first]] = u[first]
        # shoot-look-shoot: rejoin the queue at the resolution, in this window or a later one
        again = plan.sls[u] & ~aborted & ~kill
        if again.any():
            self._rejoin(sel[again], b[again], p[again], resolve[again])
        return again

    def _rejoin(self, sel: np.ndarray, b: np.ndarray, p: np.ndarray, t: np.ndarray) -> None:
        block = self.block
        hi = block.win_hi[b, p]  # (n, W)
        later = hi >= t[:, None]
        w = np.argmax(later, axis=1)
        has = later.any(axis=1)
        lo = block.win_lo[b, p, w]
        self.window[sel] = w
        self.ready_from[sel] = np.where(has, np.maximum(t, lo), INF)  # INF: retired next round
        self.queued[sel] = self._tick()


def _group_winners(first: np.ndarray, group: np.ndarray, key: np.ndarray,
                   *ties: np.ndarray) -> np.ndarray:
    """Position of the smallest (key, *ties, position) in each contiguous group."""
    n = len(key)
    cand = key == np.minimum.reduceat(key, first)[group]
    for tie in ties:
        big = np.iinfo(tie.dtype).max if tie.dtype.kind == "i" else INF
        cand &= tie == np.minimum.reduceat(np.where(cand, tie, big), first)[group]
    return np.minimum.reduceat(np.where(cand, np.arange(n), n), first)


def play(block: Block, reps: np.ndarray, rows: bool = True) -> Results:
    """Play the block's engagements and record every replication (MODEL.md)."""
    battle = Battle(block)
    battle.run()
    return _record(block, battle, reps, rows)


def _record(block: Block, battle: Battle, reps: np.ndarray, rows: bool) -> Results:
    cs = block.cs
    B, U = block.B, len(cs.units)
    killer = np.where(block.active, battle.killer, -1)
    counts = battle.counts.copy()
    for ui in range(U):
        counts[:, KILLS, ui] = (killer == ui).sum(axis=1)
    # the first broken link of every passage that failed
    j, u = block.p_threat, block.p_unit
    kt = battle.kill_time[:, j]
    credited = (battle.killer[:, j] == u[None]) & (kt == battle.last_resolution) & \
        (battle.last_outcome == KILL_DRAW)
    cut = kt <= np.maximum(block.p_hi, battle.last_resolution)
    counted = block.p_valid & ~credited & ~cut & ~battle.skipped
    held = block.link_held
    unengaged = np.argmin(held, axis=2)  # first link that never held (index of first False)
    unengaged = np.where(held.all(axis=2), LINKS.index("capacity"), unengaged)
    by_outcome = np.array([0, LINKS.index("unit_ready"), LINKS.index("launched"),
                           LINKS.index("killed"), LINKS.index("killed")])
    link = np.where(battle.n_engaged > 0, by_outcome[battle.last_outcome], unengaged)
    links = np.bincount((np.arange(B)[:, None] * len(LINKS) + link)[counted],
                        minlength=B * len(LINKS)).reshape(B, len(LINKS)).astype(np.int32)
    if not rows:  # the long tables are wanted only when rows are written
        counted, active = np.zeros_like(counted), np.zeros_like(block.active)
    else:
        active = block.active
    rb, rp = np.nonzero(counted)
    tb, tj = np.nonzero(active)
    destroyed = np.concatenate([block.destroyed_at[k] <= cs.duration_s
                                for k in ("sensor", "command_post", "fire_unit")], axis=1)
    empty = RunInfo("", "", 0, "", (), (), (), (), ())
    return Results(
        info=empty, replication=reps, unit_counts=counts.astype(np.int32),
        threats=block.active.sum(axis=1).astype(np.int32),
        killed=(killer >= 0).sum(axis=1).astype(np.int32), links=links, destroyed=destroyed,
        threat_rows={"replication": reps[tb], "threat": _rank(tb).astype(np.int32),
                     "flight": block.threat_flight[tj].astype(np.int32),
                     "start_s": block.t0[tb, tj], "killer": killer[tb, tj].astype(np.int32),
                     "kill_time_s": np.where(killer[tb, tj] >= 0, battle.kill_time[tb, tj],
                                             np.nan)},
        passage_rows={"replication": reps[rb], "threat": _threat_rank(block)[rb, j[rp]],
                      "unit": u[rp].astype(np.int32), "link": link[rb, rp].astype(np.int8),
                      "entry_s": block.p_lo[rb, rp], "exit_s": block.p_hi[rb, rp]})


def _rank(rows: np.ndarray) -> np.ndarray:
    """0, 1, 2, … within each run of equal values of a sorted array."""
    start = np.r_[0, np.flatnonzero(rows[1:] != rows[:-1]) + 1]
    return np.arange(len(rows)) - np.repeat(start, np.diff(np.r_[start, len(rows)]))


def _threat_rank(block: Block) -> np.ndarray:
    """Index of each threat slot among the replication's active threats."""
    return (np.cumsum(block.active, axis=1) - 1).astype(np.int32)
