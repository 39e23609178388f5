"""The engagement event loop of the vectorized engine, and each passage's first broken link,
compiled with Numba.

Each replication of a block is played as MODEL.md's queueing system in strict time order: the
next event is the earliest head candidate over all units. A unit's head is served when its
first channel frees, or when its first candidate becomes engageable if that is later: of the
candidates waiting then, the first by the fire doctrine's priority, then first-come,
first-served (earliest engageable, behind those already waiting after a miss). Before a unit's
head acts, its queue is settled: candidates whose threat is dead or whose unit is out of
missiles retire, and those that missed their window move on to the next one. Without
shoot-look-shoot a candidate retires after its engagement: a unit engages a threat at most
once per passage. Randomness is addressed
(counter_rng), so the order in which replications are played does not matter.

Events at the same time are played in the order (engageable since, time of joining the queue,
envelope entry, threat, unit); of two kills resolving at the same time, the one played first is
credited.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np

from iadsim import distributions
from iadsim.engine.vectorized import quantiles
from iadsim.engine.vectorized.counter_rng import (
    ENGAGE_TIME,
    KILL_DRAW,
    LAUNCH,
    extend,
    hash_one,
    prefix,
    uniform_hashed,
)
from iadsim.rules import (
    ABORTED,
    CHANNEL,
    ENGAGEMENTS,
    HELD,
    INF,
    KILL,
    LAUNCH_FAILURES,
    LAUNCHES,
    LINK_OF_OUTCOME,
    MAGAZINE,
    MISS,
    MISSES,
    MISSILES_FIRED,
    NO_LAUNCH,
)


class Candidates(NamedTuple):
    """The block's passages as the battle sees them."""

    win_lo: np.ndarray  # (B, P, W) float: engageable windows in time order, inf padding
    win_hi: np.ndarray  # (B, P, W) float
    unit: np.ndarray  # (P,) int64
    threat: np.ndarray  # (P,) int64
    words: np.ndarray  # (P, 2) uint64: its unit and envelope interval's number, hashed (the
    # engagement draws' address words after the threat's)
    rank: np.ndarray  # (P,) int64: the unit's priority for the threat's class (0 first; −1:
    # held fire, never a candidate)
    entry: np.ndarray  # (B, P) float: envelope entry, which (then the threat) orders equal
    # candidates, as the reference starts its processes


class Threats(NamedTuple):
    """The block's threats and their routes."""

    word: np.ndarray  # (J,) uint64: each threat's address word, hashed (counter_rng.hash_word)
    flight: np.ndarray  # (J,) int64
    t0: np.ndarray  # (B, J) float: start time
    track_end: np.ndarray  # (F,) float: the route's duration, per flight
    track_off: np.ndarray  # (F + 1,) int64: where each flight's waypoints start in …
    track_t: np.ndarray  # (N,) float: … the waypoint times and positions
    track_x: np.ndarray  # (N,) float
    track_y: np.ndarray  # (N,) float
    track_z: np.ndarray  # (N,) float


class Units(NamedTuple):
    """The fire units, per replication (the parameters of each row)."""

    channels: np.ndarray  # (B, U) int64
    salvo: np.ndarray  # (B, U) int64
    missiles: np.ndarray  # (B, U) int64: ready rounds at the start
    sls: np.ndarray  # (B, U) bool: shoot-look-shoot
    reliability: np.ndarray  # (B, U) float: launch reliability
    pk: np.ndarray  # (B, U, F) float: by flight
    pk_factor: np.ndarray  # (B, U, Gk) float: electronic attack, per pk segment
    launch_factor: np.ndarray  # (B, U, Gk) float: electronic attack, per pk segment
    trained: np.ndarray  # (B, U) bool: crew trained (or automated command)
    untrained_factor: np.ndarray  # (B,) float
    destroyed_at: np.ndarray  # (B, U) float
    engagement_time: np.ndarray  # (B, U, 4) float: distribution (code, a, b, c)
    acquisition_s: np.ndarray  # (B, U) float: for the flyout engagement time …
    missile_speed: np.ndarray  # (B, U) float
    xyz: np.ndarray  # (U, 3) float: … and the unit's position
    pk_lo: np.ndarray  # (Gk,) float: where each pk segment starts


LOG_COLUMNS = ("replication", "passage", "unit", "threat", "start_s", "resolve_s", "fired",
               "launched", "kills", "outcome")  # an engagement in play_block's log


class Outcomes(NamedTuple):
    """What the battle fills in."""

    kill_time: np.ndarray  # (B, J) float: inf if not killed
    killer: np.ndarray  # (B, J) int64: −1 if none
    counts: np.ndarray  # (B, len(UNIT_COUNTS), U) int64
    n_engaged: np.ndarray  # (B, P) int64: engagements of the passage
    last_outcome: np.ndarray  # (B, P) int8: rules.NO_ENGAGEMENT … KILL of its last one
    last_resolution: np.ndarray  # (B, P) float: when its last engagement resolved
    last_engaged: np.ndarray  # (B, J) float: when the threat's last engagement resolved
    empty_at: np.ndarray  # (B, U) float: when the unit fired its last missile (−inf: it had
    # none, inf: never)


class Queue(NamedTuple):
    """Scratch of one replication's candidates, grouped by unit (reused across
    replications)."""

    first: np.ndarray  # (U + 1,) int64: unit u's candidates are first[u] … first[u + 1] − 1
    passage: np.ndarray  # (P,) int64
    threat: np.ndarray  # (P,) int64
    live: np.ndarray  # (P,) bool
    window: np.ndarray  # (P,) int64: its current window
    ready_from: np.ndarray  # (P,) float: engageable since
    queued: np.ndarray  # (P,) int64: tick at which it joined the queue
    rank: np.ndarray  # (P,) int64: its priority (fire doctrine)
    entry: np.ndarray  # (P,) float: its passage's envelope entry


class Replication(NamedTuple):
    """One replication's state while its battle is played (views of the block's arrays and
    of reused scratch)."""

    win_lo: np.ndarray  # (P, W) float: its passages' engageable windows
    win_hi: np.ndarray  # (P, W) float
    next_free: np.ndarray  # (U,) float: when each unit's first channel frees
    missiles: np.ndarray  # (U,) int64: rounds left
    sls: np.ndarray  # (U,) bool: shoot-look-shoot
    n_engaged: np.ndarray  # (P,) int64: engagements of each passage
    kill_time: np.ndarray  # (J,) float: inf while alive

@numba.njit(cache=True, inline="always")
def _interp(x, xp, fp):
    """np.interp at one point, by NumPy's formula, without allocating."""
    n = len(xp)
    if x < xp[0]:
        return fp[0]
    if x >= xp[n - 1]:
        return fp[n - 1]
    j = np.searchsorted(xp, x, side="right") - 1  # xp[j] <= x < xp[j + 1]
    if xp[j] == x:
        return fp[j]
    slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j])
    y = slope * (x - xp[j]) + fp[j]
    if math.isnan(y):
        y = slope * (x - xp[j + 1]) + fp[j + 1]
        if math.isnan(y) and fp[j] == fp[j + 1]:
            y = fp[j]
    return y


@numba.njit(cache=True, inline="always")
def _earlier(q, c, h):
    """Whether candidate c comes before h first-come, first-served: engageable since, time of
    joining the queue, envelope entry, threat."""
    if q.ready_from[c] != q.ready_from[h]:
        return q.ready_from[c] < q.ready_from[h]
    if q.queued[c] != q.queued[h]:
        return q.queued[c] < q.queued[h]
    if q.entry[c] != q.entry[h]:
        return q.entry[c] < q.entry[h]
    return q.threat[c] < q.threat[h]


@numba.njit(cache=True)
def _settle(u, q, r, tick):
    """Retire or move on the live candidates of unit u in the queue q of replication r;
    returns (head position or −1, the next free tick). The head is served when the next
    channel frees, or when the first candidate becomes engageable if that is later: of those
    waiting then, the first by priority, then by the time they became engageable."""
    W = r.win_lo.shape[1]
    head, steps, ranked = -1, 0, False
    for c in range(q.first[u], q.first[u + 1]):
        if not q.live[c]:
            continue
        p, j = q.passage[c], q.threat[c]
        start = max(q.ready_from[c], r.next_free[u])
        if r.kill_time[j] <= start or r.missiles[u] <= 0:
            q.live[c] = False
            continue
        i = 0
        while start > r.win_hi[p, q.window[c]]:  # its window passed before a channel freed
            i += 1
            hi = r.win_hi[p, q.window[c]]
            nlo = r.win_lo[p, q.window[c] + 1] if q.window[c] + 1 < W else INF
            q.window[c] = min(q.window[c] + 1, W - 1)
            if nlo != hi:  # a window that does not touch the last one: rejoin the queue
                q.ready_from[c] = nlo
                q.queued[c] = tick + i
            start = max(q.ready_from[c], r.next_free[u])
            if not (nlo < INF and r.kill_time[j] > start):
                q.live[c] = False
                break
        steps = max(steps, i)
        if q.live[c]:  # the first-come, first-served head
            if head >= 0 and q.rank[c] != q.rank[head]:
                ranked = True
            if head < 0 or _earlier(q, c, head):
                head = c
    if not ranked or head < 0:  # one priority among the live: first come, first served
        return head, tick + steps + 1
    serve = max(q.ready_from[head], r.next_free[u])
    head = -1
    for c in range(q.first[u], q.first[u + 1]):
        if q.live[c] and q.ready_from[c] <= serve and (
                head < 0 or q.rank[c] < q.rank[head] or (
                    q.rank[c] == q.rank[head] and _earlier(q, c, head))):
            head = c
    return head, tick + steps + 1


@numba.njit(cache=True)
def play_block(keys, cand, threats, units, out, log, n_log):
    """Play every replication of a block (Candidates, Threats, Units); fills `out`
    (Outcomes). Each engagement is also written to `log` (rows of LOG_COLUMNS, while there is
    room; n_log[0] counts them): a trace, empty in ordinary runs."""
    B, P, W = cand.win_lo.shape
    U = units.channels.shape[1]
    cmax = max(1, units.channels.max())
    n_pk = len(units.pk_lo)
    # scratch, reused by every replication: candidates (at most P), grouped by unit
    q = Queue(np.empty(U + 1, np.int64), np.empty(P, np.int64), np.empty(P, np.int64),
              np.empty(P, np.bool_), np.empty(P, np.int64), np.empty(P), np.empty(P, np.int64),
              np.empty(P, np.int64), np.empty(P))
    fill = np.empty(U, np.int64)
    free_at, next_free = np.empty((U, cmax)), np.empty(U)
    missiles, head = np.empty(U, np.int64), np.empty(U, np.int64)
    for b in range(B):
        key = keys[b]
        lo_b, hi_b = cand.win_lo[b], cand.win_hi[b]
        n_engaged_b, kill_b, channels_b = out.n_engaged[b], out.kill_time[b], units.channels[b]
        r = Replication(lo_b, hi_b, next_free, missiles, units.sls[b], n_engaged_b, kill_b)
        # the candidates: passages with a window that the doctrine engages, grouped by unit
        # (in passage order)
        q.first[:] = 0
        for p in range(P):
            if lo_b[p, 0] < INF and cand.rank[p] >= 0:
                q.first[cand.unit[p] + 1] += 1
        for u in range(U):
            q.first[u + 1] += q.first[u]
            fill[u] = q.first[u]
        for p in range(P):
            if lo_b[p, 0] < INF and cand.rank[p] >= 0:
                c = fill[cand.unit[p]]
                fill[cand.unit[p]] += 1
                q.passage[c], q.threat[c], q.ready_from[c] = p, cand.threat[p], lo_b[p, 0]
                q.live[c], q.window[c], q.queued[c], q.rank[c] = True, 0, 0, cand.rank[p]
                q.entry[c] = cand.entry[b, p]
        for u in range(U):
            free_at[u, :] = INF
            free_at[u, :channels_b[u]] = -INF
            next_free[u] = -INF if channels_b[u] > 0 else INF
        missiles[:] = units.missiles[b]
        for u in range(U):
            out.empty_at[b, u] = INF if missiles[u] > 0 else -INF
        tick = 1
        for u in range(U):
            head[u], tick = _settle(u, q, r, tick)
        while True:
            # the earliest head over all units; a head whose threat died meanwhile retires
            best, best_start = -1, INF
            for u in range(U):
                h = head[u]
                while h >= 0 and kill_b[q.threat[h]] <= max(q.ready_from[h], next_free[u]):
                    h, tick = _settle(u, q, r, tick)
                    head[u] = h
                if h < 0:
                    continue
                start = max(q.ready_from[h], next_free[u])
                if best < 0 or start < best_start or (start == best_start and
                                                        _earlier(q, h, best)):
                    best, best_start = h, start
            if best < 0:
                break
            c, t = best, best_start
            p, j = q.passage[c], q.threat[c]
            u = cand.unit[p]
            # start the engagement
            k = n_engaged_b[p]
            fired = min(units.salvo[b, u], missiles[u])
            missiles[u] -= fired
            if missiles[u] == 0 and out.empty_at[b, u] == INF:
                out.empty_at[b, u] = t
            out.counts[b, ENGAGEMENTS, u] += 1
            out.counts[b, MISSILES_FIRED, u] += fired
            f = threats.flight[j]
            address = (threats.word[j], cand.words[p, 0], cand.words[p, 1], hash_one(k))
            code, x, y, z = units.engagement_time[b, u]
            if code == distributions.FLYOUT:  # acquisition, then flyout to the range at launch
                s, e = threats.track_off[f], threats.track_off[f + 1]
                since = t - threats.t0[b, j]
                distance = math.sqrt(
                    (_interp(since, threats.track_t[s:e], threats.track_x[s:e]) -
                     units.xyz[u, 0]) ** 2 +
                    (_interp(since, threats.track_t[s:e], threats.track_y[s:e]) -
                     units.xyz[u, 1]) ** 2 +
                    (_interp(since, threats.track_t[s:e], threats.track_z[s:e]) -
                     units.xyz[u, 2]) ** 2)
                duration = units.acquisition_s[b, u] + distance / units.missile_speed[b, u]
            else:
                duration = quantiles.quantile(int(code), x, y, z,
                                              uniform_hashed(key, ENGAGE_TIME, address))
            resolve = t + duration
            ch = np.argmin(free_at[u])
            free_at[u, ch] = resolve
            next_free[u] = free_at[u].min()
            n_engaged_b[p] = k + 1
            out.last_resolution[b, p] = resolve
            out.last_engaged[b, j] = max(out.last_engaged[b, j], resolve)
            aborted = units.destroyed_at[b, u] <= resolve
            crew = 1.0 if units.trained[b, u] else units.untrained_factor[b]
            g = min(max(np.searchsorted(units.pk_lo, resolve, side="right") - 1, 0), n_pk - 1)
            p_launch = min(1.0, units.reliability[b, u] * crew * units.launch_factor[b, u, g])
            p_kill = min(1.0, units.pk[b, u, f] * crew * units.pk_factor[b, u, g])
            in_time = resolve <= threats.t0[b, j] + threats.track_end[f]
            n_launched, n_kills = 0, 0
            launch = prefix(key, LAUNCH, address)  # each missile's draws: the address + m
            hit = prefix(key, KILL_DRAW, address)
            for m in range(fired):
                if extend(launch, m) < p_launch:
                    n_launched += 1
                    if extend(hit, m) < p_kill and in_time:
                        n_kills += 1
            if aborted:
                n_launched, n_kills = 0, 0
            else:
                out.counts[b, LAUNCH_FAILURES, u] += fired - n_launched
            out.counts[b, LAUNCHES, u] += n_launched
            out.counts[b, MISSES, u] += n_launched - n_kills
            kill = not aborted and n_kills > 0
            out.last_outcome[b, p] = ABORTED if aborted else KILL if kill else \
                MISS if n_launched > 0 else NO_LAUNCH
            if n_log[0] < log.shape[0]:
                e = log[n_log[0]]
                e[0], e[1], e[2], e[3], e[4], e[5] = b, p, u, j, t, resolve
                e[6], e[7], e[8], e[9] = fired, n_launched, n_kills, out.last_outcome[b, p]
                n_log[0] += 1
            if kill and resolve < kill_b[j]:  # the kill goes to the first to resolve (at
                # equal times, to the one that started first: it was scheduled first)
                kill_b[j] = resolve
                out.killer[b, j] = u
            q.live[c] = False
            if r.sls[u] and not aborted and not kill:  # shoot-look-shoot: rejoin the queue
                for w in range(W):
                    if hi_b[p, w] >= resolve:
                        q.window[c] = w
                        q.ready_from[c] = max(resolve, lo_b[p, w])
                        q.queued[c] = tick
                        tick += 1
                        q.live[c] = True
                        break
            head[u], tick = _settle(u, q, r, tick)


@numba.njit(cache=True)
def first_broken_links(cand, windows, out, link, listed, unit_links, deepest):
    """MODEL.md's first broken link of every passage into link (B, P) (rules.HELD where the
    doctrine holds fire), whether the passage is listed in the passage table (it failed on its
    own or was held: not credited with the kill, not cut short by another unit's kill) into
    listed, and per replication and unit the counts of each link over the listed passages
    that were not held into unit_links (B, U, len(LINKS)), and each threat's deepest link, the
    latest first-broken link of those passages, into deepest (B, J; −1 where it has none).
    `windows` is the chain's Windows, `out` the battle's Outcomes."""
    B, P = windows.hi.shape
    for b in range(B):
        for p in range(P):
            j, u = cand.threat[p], cand.unit[p]
            if cand.rank[p] < 0:
                k = HELD
            elif out.n_engaged[b, p] > 0:  # the last engagement decides
                k = LINK_OF_OUTCOME[out.last_outcome[b, p]]
            else:  # the first of the cumulative links that never held
                k = -1
                for i in range(windows.link_held.shape[2]):
                    if not windows.link_held[b, p, i]:
                        k = i
                        break
                if k < 0:  # links 1–5 held: were there missiles when they first did?
                    k = CHANNEL if windows.win_lo[b, p, 0] < out.empty_at[b, u] else MAGAZINE
            link[b, p] = k
            kt = out.kill_time[b, j]
            credited = out.killer[b, j] == u and kt == out.last_resolution[b, p] and \
                out.last_outcome[b, p] == KILL
            cut = kt <= max(windows.hi[b, p], out.last_resolution[b, p])
            listed[b, p] = windows.valid[b, p] and not credited and not cut
            if listed[b, p] and k != HELD:
                unit_links[b, u, k] += 1
                deepest[b, j] = max(deepest[b, j], k)


@numba.njit(cache=True)
def threat_rows(active, flight, t0, killer, kill_time, deepest, last_engaged, track_end):
    """The per-threat table of the active threats, in (row, threat) order: row, threat (its
    rank among the row's active threats), flight, start, killer (−1: none), kill time (NaN:
    not killed), deepest link, and whether it arrived first (a leaker whose last engagement
    resolved after the end of its route)."""
    n = 0
    for b in range(active.shape[0]):
        for j in range(active.shape[1]):
            n += active[b, j]
    row, threat = np.empty(n, np.int64), np.empty(n, np.int32)
    of_flight, start, by = np.empty(n, np.int32), np.empty(n), np.empty(n, np.int32)
    killed_at, deepest_link = np.empty(n), np.empty(n, deepest.dtype)
    arrived_first = np.empty(n, np.bool_)
    r = 0
    for b in range(active.shape[0]):
        k = 0
        for j in range(active.shape[1]):
            if active[b, j]:
                f = flight[j]
                row[r], threat[r], of_flight[r], start[r] = b, k, f, t0[b, j]
                by[r], deepest_link[r] = killer[b, j], deepest[b, j]
                killed_at[r] = kill_time[b, j] if killer[b, j] >= 0 else np.nan
                arrived_first[r] = killer[b, j] < 0 and \
                    last_engaged[b, j] > t0[b, j] + track_end[f]
                k += 1
                r += 1
    return row, threat, of_flight, start, by, killed_at, deepest_link, arrived_first


@numba.njit(cache=True)
def passage_rows(listed, reps, active, p_threat, p_unit, link, p_lo, p_hi):
    """The per-passage table of the listed passages, in (row, passage) order: the row's label
    from reps, threat (its rank among the row's active threats), unit, link, entry and exit
    times."""
    n = 0
    for b in range(listed.shape[0]):
        for p in range(listed.shape[1]):
            n += listed[b, p]
    replication, threat = np.empty(n, reps.dtype), np.empty(n, np.int32)
    unit, first_link = np.empty(n, np.int32), np.empty(n, np.int8)
    entry, exit_ = np.empty(n), np.empty(n)
    rank = np.empty(active.shape[1], np.int32)
    r = 0
    for b in range(listed.shape[0]):
        k = 0
        for j in range(active.shape[1]):
            rank[j] = k
            k += active[b, j]
        for p in range(listed.shape[1]):
            if listed[b, p]:
                replication[r], threat[r], unit[r] = reps[b], rank[p_threat[p]], p_unit[p]
                first_link[r], entry[r], exit_[r] = link[b, p], p_lo[b, p], p_hi[b, p]
                r += 1
    return replication, threat, unit, first_link, entry, exit_
