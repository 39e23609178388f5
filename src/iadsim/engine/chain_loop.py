"""Compiled loops of the vectorized engine's kill chain: when detection and acquisition first
happen, and the windows in which each passage can be engaged.

Time is cut into the plan's segments, in each of which every entity's state is constant, so a
detection process is a piecewise-constant hazard and a link holds over whole segments. The
loops run over replications and items and keep no (replications × items × segments) arrays;
each random draw is made where it is used, at its counter_rng address.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from iadsim.engine.counter_rng import uniform_at

INF = math.inf


@numba.njit(cache=True, inline="always")
def _first_event(rate, lo, hi, hazard, seg_lo, seg_hi):
    """When the cumulative hazard of the per-segment rate over [lo, hi] reaches `hazard`
    (a unit exponential); inf if it does not. An infinite rate fires on entry."""
    t, entry, cum, found = INF, INF, 0.0, False
    for g in range(len(seg_lo)):
        s, e = max(lo, seg_lo[g]), min(hi, seg_hi[g])
        inside = s < e or (s == e and seg_lo[g] <= s and s < seg_hi[g])
        r = rate[g]
        if r == INF:
            if inside:
                entry = min(entry, s)
            r = 0.0
        h = r * (e - s) if inside else 0.0
        cum += h
        if not found and cum >= hazard:  # the segment where the hazard reaches the draw
            found = True
            t = s + (hazard - (cum - h)) / r
    return min(t, entry)


@numba.njit(cache=True, inline="always")
def _silent(rate):
    """Whether a per-segment rate is zero throughout (no event, so no draw is needed)."""
    for g in range(len(rate)):
        if rate[g] > 0:
            return False
    return True


@numba.njit(cache=True, inline="always")
def _sort_small(a):
    """Sort a short array in place (insertion sort: a handful of windows)."""
    for i in range(1, len(a)):
        x, k = a[i], i - 1
        while k >= 0 and a[k] > x:
            a[k + 1] = a[k]
            k -= 1
        a[k + 1] = x


@numba.njit(cache=True)
def command_chain(keys, purpose, t0, active, duration, item_j, item_s, item_c, item_interval,
                  item_lo, item_hi, threat_id, search_rate, sensor_link, cp_link, delay, seg_lo,
                  seg_hi, detected, reported):
    """Search detections of the threats of each (flight, sensor, coverage interval) item, and
    their reports once the sensor's and command post's links are both up: the earliest per
    (replication, threat, command post), into detected and reported (B, J, C; inf where none).
    An item's interval is relative to its threat's start and cut at the scenario's end."""
    for b in range(len(keys)):
        for i in range(len(item_j)):
            s, j, c = item_s[i], item_j[i], item_c[i]
            lo, hi = t0[b, j] + item_lo[i], min(t0[b, j] + item_hi[i], duration)
            if not (active[b, j] and lo <= duration) or _silent(search_rate[b, s]):
                continue
            address = (threat_id[j], np.uint64(s), np.uint64(item_interval[i]))
            hazard = -math.log(uniform_at(keys[b], purpose, address))
            t = _first_event(search_rate[b, s], lo, hi, hazard, seg_lo, seg_hi)
            if t == INF:
                continue
            detected[b, j, c] = min(detected[b, j, c], t)
            for g in range(len(seg_lo)):
                if sensor_link[b, s, g] and cp_link[b, c, g]:
                    sent = max(t, seg_lo[g])
                    if sent <= min(hi, seg_hi[g]):
                        reported[b, j, c] = min(reported[b, j, c], sent + delay[c])
                        break  # segments are in time order: this is the earliest


@numba.njit(cache=True)
def passage_windows(keys, purpose, t0, active, duration, threat_id, p_threat, p_unit, p_cp, own,
                    p_rel_lo, p_rel_hi, a_passage, a_slot, a_envelope, a_k, a_rel_lo, a_rel_hi,
                    rates, hold, source, unit_ready, detected, reported, ordered, seg_lo, seg_hi,
                    p_lo, p_hi, p_valid, win_lo, win_hi, link_held):
    """Every passage's span (p_lo, p_hi, p_valid: B, P), its engageable windows — acquired,
    authorised, unit ready and fire control holding — in time order into win_lo, win_hi
    (B, P, W; inf padding), and which of MODEL.md's cumulative links 1–5 ever held, into
    link_held (B, P, 5).

    Fire control may acquire over sub-intervals of a passage (the a_* items), at the rate and
    holding of rates[b, source[i]], hold[b, source[i]] (B, E, G). The command post's times are
    (B, J, C + 1), with a last column of inf for units with none."""
    B, P, W = win_lo.shape
    G = len(seg_lo)
    acq_any = np.zeros(P, np.bool_)
    for b in range(B):
        acq_any[:] = False
        for p in range(P):
            j = p_threat[p]
            p_lo[b, p] = t0[b, j] + p_rel_lo[p]
            p_hi[b, p] = min(t0[b, j] + p_rel_hi[p], duration)
            p_valid[b, p] = active[b, j] and p_lo[b, p] <= duration
        for i in range(len(a_passage)):
            p = a_passage[i]
            j, u = p_threat[p], p_unit[p]
            lo, hi = t0[b, j] + a_rel_lo[i], min(t0[b, j] + a_rel_hi[i], duration)
            if not (p_valid[b, p] and lo <= duration) or _silent(rates[b, source[i]]):
                continue
            address = (threat_id[j], np.uint64(u), np.uint64(a_envelope[i]), np.uint64(a_k[i]))
            hazard = -math.log(uniform_at(keys[b], purpose, address))
            ta = _first_event(rates[b, source[i]], lo, hi, hazard, seg_lo, seg_hi)
            if ta == INF:
                continue
            start = max(ta, -INF if own[p] else ordered[b, j, p_cp[p]])
            for g in range(G):
                if not (unit_ready[b, u, g] and hold[b, source[i], g]):
                    continue
                w_lo, w_hi = max(start, seg_lo[g]), min(hi, seg_hi[g])
                if max(ta, seg_lo[g]) <= w_hi:
                    acq_any[p] = True
                # becoming ready just as the passage ends is no window (as in the reference)
                empty = w_lo == w_hi and w_lo == seg_lo[g] and lo < seg_lo[g]
                if w_lo <= w_hi and not empty:
                    win_lo[b, p, a_slot[i] * G + g] = w_lo
                    win_hi[b, p, a_slot[i] * G + g] = w_hi
        for p in range(P):
            if W > 1:  # disjoint windows: sorting starts and ends apart keeps them paired
                _sort_small(win_lo[b, p])
                _sort_small(win_hi[b, p])
            if not p_valid[b, p]:
                continue
            # ready ∩ [t, ∞) ∩ [lo, hi] is non-empty exactly when t ≤ the last ready moment
            last_ready = -INF
            for g in range(G):
                end = min(p_hi[b, p], seg_hi[g])
                if unit_ready[b, p_unit[p], g] and max(p_lo[b, p], seg_lo[g]) <= end:
                    last_ready = max(last_ready, end)
            j, c = p_threat[p], p_cp[p]
            own_any = own[p] and acq_any[p]
            link_held[b, p, 0] = last_ready > -INF
            link_held[b, p, 1] = detected[b, j, c] <= last_ready or own_any
            link_held[b, p, 2] = reported[b, j, c] <= last_ready or own_any
            link_held[b, p, 3] = ordered[b, j, c] <= last_ready or own_any
            link_held[b, p, 4] = win_lo[b, p, 0] < INF
