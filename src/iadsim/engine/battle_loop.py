"""The engagement event loop of the vectorized engine, and each passage's first broken link,
compiled with Numba.

Each replication of a block is played as MODEL.md's queueing system in strict time order: the
next event is the earliest head candidate over all units (a unit's head is its FCFS first —
earliest engageable, behind those already waiting after a miss — and it acts at max(engageable
since, first free channel)). Before a unit's head acts, its queue is settled: candidates whose
threat is dead, whose unit is out of missiles, or which the engage-at-most-once rule blocks
retire, and those that missed their window move on to the next one. Randomness is addressed
(counter_rng.uniform_at), so the order in which replications are played does not matter.

Events at the same time are played in the order (engageable since, time of joining the queue,
unit, passage); of two kills resolving at the same time, the one played first is credited.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from iadsim.engine.counter_rng import ENGAGE_TIME, KILL, LAUNCH, uniform_at
from iadsim.engine.results import (
    ENGAGEMENTS,
    LAUNCH_FAILURES,
    LAUNCHES,
    LINKS,
    MISSES,
    MISSILES_FIRED,
)

INF = math.inf
# engagement time kinds (the unit's `engagement_time` field); DEFAULT: acquisition, then flyout
DEFAULT, FIXED, EXPONENTIAL, UNIFORM, TRIANGULAR, LOGNORMAL = range(6)
# the outcome of a passage's last engagement
NONE, ABORTED, NO_LAUNCH, MISS, KILL_DRAW = range(5)
CAPACITY = LINKS.index("capacity")
# the link an engaged passage broke at, by its last engagement's outcome
BY_OUTCOME = (0, LINKS.index("unit_ready"), LINKS.index("launched"), LINKS.index("killed"),
              LINKS.index("killed"))


def engagement_time_codes(units: list) -> tuple[np.ndarray, np.ndarray]:
    """Each unit's engagement-time field as a kind code and up to three parameters."""
    kind, params = np.zeros(len(units), dtype=np.int64), np.zeros((len(units), 3))
    for i, u in enumerate(units):
        et = u.engagement_time
        if et is None:
            kind[i] = DEFAULT
        elif isinstance(et, (int, float)):
            kind[i], params[i, 0] = FIXED, et
        else:
            kind[i], fields = {"fixed": (FIXED, ("value",)),
                               "exponential": (EXPONENTIAL, ("mean",)),
                               "uniform": (UNIFORM, ("low", "high")),
                               "triangular": (TRIANGULAR, ("low", "mode", "high")),
                               "lognormal": (LOGNORMAL, ("median", "sigma"))}[et.dist]
            params[i, :len(fields)] = [getattr(et, f) for f in fields]
    return kind, params


# Acklam's rational approximation of the inverse normal CDF, refined by one Halley step
_A = (-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
      1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00)
_B = (-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
      6.680131188771972e+01, -1.328068155288572e+01)
_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
      -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00)
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
      3.754408661907416e+00)


@numba.njit(cache=True)
def _ndtri(p: float) -> float:
    """The standard normal quantile at p in (0, 1), to about 1e-14 (scipy's ndtri outside
    compiled code). Works in the lower half, where 1 − p is exact and erfc accurate."""
    lower = min(p, 1 - p)
    if lower < 0.02425:
        q = math.sqrt(-2 * math.log(lower))
        x = (((((_C[0] * q + _C[1]) * q + _C[2]) * q + _C[3]) * q + _C[4]) * q + _C[5]) / \
            ((((_D[0] * q + _D[1]) * q + _D[2]) * q + _D[3]) * q + 1)
    else:
        q = lower - 0.5
        r = q * q
        x = (((((_A[0] * r + _A[1]) * r + _A[2]) * r + _A[3]) * r + _A[4]) * r + _A[5]) * q / \
            (((((_B[0] * r + _B[1]) * r + _B[2]) * r + _B[3]) * r + _B[4]) * r + 1)
    e = 0.5 * math.erfc(-x / math.sqrt(2)) - lower
    step = e * math.sqrt(2 * math.pi) * math.exp(x * x / 2)
    x -= step / (1 + x * step / 2)
    return x if p < 0.5 else -x


@numba.njit(cache=True)
def _duration(kind: int, a: float, b: float, c: float, u: float) -> float:
    """A draw of an engagement-time distribution at the uniform u (sampling.duration_quantile)."""
    if kind == FIXED:
        return a
    if kind == EXPONENTIAL:
        return -a * math.log1p(-u)
    if kind == UNIFORM:
        return a + u * (b - a)
    if kind == TRIANGULAR:
        if c == a:
            return a
        if u < (b - a) / (c - a):
            return a + math.sqrt(u * (c - a) * (b - a))
        return c - math.sqrt((1 - u) * (c - a) * (c - b))
    return a * math.exp(b * _ndtri(u))  # LOGNORMAL


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


@numba.njit(cache=True)
def _settle(u, first, last, live, window, ready_from, queued, tick, c_p, c_j, win_lo, win_hi,
            next_free, missiles, sls, engaged, n_engaged, skipped, kill_time):
    """Retire or move on the live candidates of unit u (positions first … last − 1); returns
    (head position or −1, the next free tick)."""
    W = win_lo.shape[1]
    head, steps = -1, 0
    for c in range(first, last):
        if not live[c]:
            continue
        p, j = c_p[c], c_j[c]
        if not sls[u] and engaged[j, u]:
            if n_engaged[p] == 0:
                skipped[p] = True
            live[c] = False
            continue
        start = max(ready_from[c], next_free[u])
        if kill_time[j] <= start or missiles[u] <= 0:
            live[c] = False
            continue
        i = 0
        while start > win_hi[p, window[c]]:  # its window passed before a channel freed
            i += 1
            hi = win_hi[p, window[c]]
            nlo = win_lo[p, window[c] + 1] if window[c] + 1 < W else INF
            window[c] = min(window[c] + 1, W - 1)
            if nlo != hi:  # a window that does not touch the last one: rejoin the queue
                ready_from[c] = nlo
                queued[c] = tick + i
            start = max(ready_from[c], next_free[u])
            if not (nlo < INF and kill_time[j] > start):
                live[c] = False
                break
        steps = max(steps, i)
        if live[c] and (head < 0 or ready_from[c] < ready_from[head] or (
                ready_from[c] == ready_from[head] and queued[c] < queued[head])):
            head = c
    return head, tick + steps + 1


@numba.njit(cache=True)
def play_block(keys, win_lo, win_hi, p_unit, p_threat, p_envelope, threat_id, threat_flight,
               t0, destroyed_at, trained, channels, salvo, missiles0, sls, reliability, pk,
               pk_lo, pk_factor, track_end, unit_xyz, acquisition_s, missile_speed, et_kind,
               et_params, track_off, track_t, track_x, track_y, track_z, untrained_factor,
               kill_time, killer, counts, n_engaged, last_outcome, last_resolution, skipped):
    """Play every replication of a block; fills the output arrays (the last seven)."""
    B, P, W = win_lo.shape
    U, J = len(channels), threat_id.shape[0]
    cmax = max(1, channels.max())
    n_pk = len(pk_lo)
    # scratch, reused by every replication: candidates (at most P), grouped by unit
    first, fill = np.empty(U + 1, np.int64), np.empty(U, np.int64)
    c_p, c_j = np.empty(P, np.int64), np.empty(P, np.int64)
    live, window = np.empty(P, np.bool_), np.empty(P, np.int64)
    ready_from, queued = np.empty(P), np.empty(P, np.int64)
    free_at, next_free = np.empty((U, cmax)), np.empty(U)
    missiles, engaged, head = np.empty_like(missiles0), np.empty((J, U), np.bool_), \
        np.empty(U, np.int64)
    for b in range(B):
        key = keys[b]
        lo_b, hi_b = win_lo[b], win_hi[b]
        n_engaged_b, skipped_b = n_engaged[b], skipped[b]
        kill_b = kill_time[b]
        # the candidates: passages with a window, grouped by unit (in passage order)
        first[:] = 0
        for p in range(P):
            if lo_b[p, 0] < INF:
                first[p_unit[p] + 1] += 1
        for u in range(U):
            first[u + 1] += first[u]
            fill[u] = first[u]
        for p in range(P):
            if lo_b[p, 0] < INF:
                c = fill[p_unit[p]]
                fill[p_unit[p]] += 1
                c_p[c], c_j[c], ready_from[c] = p, p_threat[p], lo_b[p, 0]
                live[c], window[c], queued[c] = True, 0, 0
        for u in range(U):
            free_at[u, :] = INF
            free_at[u, :channels[u]] = -INF
            next_free[u] = -INF if channels[u] > 0 else INF
        missiles[:] = missiles0
        engaged[:] = False
        tick = 1
        for u in range(U):
            head[u], tick = _settle(u, first[u], first[u + 1], live, window, ready_from, queued,
                                    tick, c_p, c_j, lo_b, hi_b, next_free, missiles, sls,
                                    engaged, n_engaged_b, skipped_b, kill_b)
        while True:
            # the earliest head over all units; a head whose threat died meanwhile retires
            best, best_start = -1, INF
            for u in range(U):
                h = head[u]
                while h >= 0 and kill_b[c_j[h]] <= max(ready_from[h], next_free[u]):
                    h, tick = _settle(u, first[u], first[u + 1], live, window, ready_from,
                                      queued, tick, c_p, c_j, lo_b, hi_b, next_free, missiles,
                                      sls, engaged, n_engaged_b, skipped_b, kill_b)
                    head[u] = h
                if h < 0:
                    continue
                start = max(ready_from[h], next_free[u])
                if best < 0 or start < best_start or (start == best_start and (
                        ready_from[h] < ready_from[best] or (
                            ready_from[h] == ready_from[best] and queued[h] < queued[best]))):
                    best, best_start = h, start
            if best < 0:
                break
            c, t = best, best_start
            p, j = c_p[c], c_j[c]
            u = p_unit[p]
            # start the engagement
            k = n_engaged_b[p]
            fired = min(salvo[u], missiles[u])
            missiles[u] -= fired
            counts[b, ENGAGEMENTS, u] += 1
            counts[b, MISSILES_FIRED, u] += fired
            f = threat_flight[j]
            address = (threat_id[j], np.uint64(u), np.uint64(p_envelope[p]), np.uint64(k))
            if et_kind[u] == DEFAULT:  # acquisition, then flyout to the range at launch
                s, e = track_off[f], track_off[f + 1]
                since = t - t0[b, j]
                distance = math.sqrt(
                    (_interp(since, track_t[s:e], track_x[s:e]) - unit_xyz[u, 0]) ** 2 +
                    (_interp(since, track_t[s:e], track_y[s:e]) - unit_xyz[u, 1]) ** 2 +
                    (_interp(since, track_t[s:e], track_z[s:e]) - unit_xyz[u, 2]) ** 2)
                duration = acquisition_s[u] + distance / missile_speed[u]
            else:
                duration = _duration(et_kind[u], et_params[u, 0], et_params[u, 1],
                                     et_params[u, 2], uniform_at(key, ENGAGE_TIME, address))
            resolve = t + duration
            ch = np.argmin(free_at[u])
            free_at[u, ch] = resolve
            next_free[u] = free_at[u].min()
            engaged[j, u] = True
            n_engaged_b[p] = k + 1
            last_resolution[b, p] = resolve
            aborted = destroyed_at[b, u] <= resolve
            crew = 1.0 if trained[b, u] else untrained_factor
            g = min(max(np.searchsorted(pk_lo, resolve, side="right") - 1, 0), n_pk - 1)
            p_launch = min(1.0, reliability[u] * crew)
            p_kill = min(1.0, pk[u, f] * crew * pk_factor[u, g])
            in_time = resolve <= t0[b, j] + track_end[f]
            n_launched, n_kills = 0, 0
            for m in range(fired):
                draw = address + (np.uint64(m),)
                if uniform_at(key, LAUNCH, draw) < p_launch:
                    n_launched += 1
                    if uniform_at(key, KILL, draw) < p_kill and in_time:
                        n_kills += 1
            if aborted:
                n_launched, n_kills = 0, 0
            else:
                counts[b, LAUNCH_FAILURES, u] += fired - n_launched
            counts[b, LAUNCHES, u] += n_launched
            counts[b, MISSES, u] += n_launched - n_kills
            kill = not aborted and n_kills > 0
            last_outcome[b, p] = ABORTED if aborted else KILL_DRAW if kill else \
                MISS if n_launched > 0 else NO_LAUNCH
            if kill and resolve < kill_b[j]:  # the kill goes to the first to resolve (at
                # equal times, to the one that started first: it was scheduled first)
                kill_b[j] = resolve
                killer[b, j] = u
            live[c] = False
            if sls[u] and not aborted and not kill:  # shoot-look-shoot: rejoin the queue
                for w in range(W):
                    if hi_b[p, w] >= resolve:
                        window[c] = w
                        ready_from[c] = max(resolve, lo_b[p, w])
                        queued[c] = tick
                        tick += 1
                        live[c] = True
                        break
            head[u], tick = _settle(u, first[u], first[u + 1], live, window, ready_from, queued,
                                    tick, c_p, c_j, lo_b, hi_b, next_free, missiles, sls,
                                    engaged, n_engaged_b, skipped_b, kill_b)


@numba.njit(cache=True)
def first_broken_links(p_threat, p_unit, p_hi, p_valid, link_held, kill_time, killer, n_engaged,
                       last_outcome, last_resolution, skipped, link, counted, links):
    """MODEL.md's first broken link of every passage into link (B, P), whether the passage
    counts (it failed on its own: not credited with the kill, not cut short by another unit's
    kill, not blocked by the engage-at-most-once rule) into counted, and per replication the
    counts of each link over counted passages into links (B, len(LINKS))."""
    B, P = p_hi.shape
    for b in range(B):
        for p in range(P):
            j, u = p_threat[p], p_unit[p]
            if n_engaged[b, p] > 0:  # the last engagement decides
                k = BY_OUTCOME[last_outcome[b, p]]
            else:  # the first of the cumulative links that never held
                k = CAPACITY
                for i in range(link_held.shape[2]):
                    if not link_held[b, p, i]:
                        k = i
                        break
            link[b, p] = k
            kt = kill_time[b, j]
            credited = killer[b, j] == u and kt == last_resolution[b, p] and \
                last_outcome[b, p] == KILL_DRAW
            cut = kt <= max(p_hi[b, p], last_resolution[b, p])
            counted[b, p] = p_valid[b, p] and not credited and not cut and not skipped[b, p]
            if counted[b, p]:
                links[b, k] += 1


@numba.njit(cache=True)
def passage_rows(counted, reps, active, p_threat, p_unit, link, p_lo, p_hi):
    """The per-passage table of the counted passages, in (replication, passage) order:
    replication, threat (its rank among the replication's active threats), unit, link, entry
    and exit times."""
    n = 0
    for b in range(counted.shape[0]):
        for p in range(counted.shape[1]):
            n += counted[b, p]
    replication, threat = np.empty(n, reps.dtype), np.empty(n, np.int32)
    unit, first_link = np.empty(n, np.int32), np.empty(n, np.int8)
    entry, exit_ = np.empty(n), np.empty(n)
    rank = np.empty(active.shape[1], np.int32)
    r = 0
    for b in range(counted.shape[0]):
        k = 0
        for j in range(active.shape[1]):
            rank[j] = k
            k += active[b, j]
        for p in range(counted.shape[1]):
            if counted[b, p]:
                replication[r], threat[r], unit[r] = reps[b], rank[p_threat[p]], p_unit[p]
                first_link[r], entry[r], exit_[r] = link[b, p], p_lo[b, p], p_hi[b, p]
                r += 1
    return replication, threat, unit, first_link, entry, exit_
