"""Compiled loops of the vectorized engine's kill chain: when detection and acquisition first
happen, and the windows in which each passage can be engaged.

Time is cut into the plan's segments, in each of which every entity's state is constant, so a
detection process is a piecewise-constant hazard and a link holds over whole segments. The
loops run over replications and items and keep no (replications × items × segments) arrays;
each random draw is made where it is used, at its counter_rng address.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np

from iadsim.engine.vectorized import quantiles
from iadsim.engine.vectorized.counter_rng import (
    ACQUIRE,
    DECISION,
    DETECT,
    hash_one,
    uniform_hashed,
)
from iadsim.rules import (
    AUTONOMOUS,
    DETECTED,
    FIRE_CONTROL,
    INF,
    ORDERED,
    REPORTED,
    UNIT_READY,
)


class Segments(NamedTuple):
    """The plan's time segments [lo, hi), in each of which every entity's state is constant."""

    lo: np.ndarray  # (G,) float
    hi: np.ndarray  # (G,) float


class Threats(NamedTuple):
    """The block's threats."""

    t0: np.ndarray  # (B, J) float: start time (0 where inactive)
    active: np.ndarray  # (B, J) bool: flies in this replication
    word: np.ndarray  # (J,) uint64: each threat's address word, hashed (counter_rng.hash_word)


class SearchItems(NamedTuple):
    """(threat, search sensor, coverage interval) items that may detect; times from the
    threat's start."""

    threat: np.ndarray  # (N,) int64
    sensor: np.ndarray  # (N,) int64
    post: np.ndarray  # (N,) int64: the sensor's command post
    lo: np.ndarray  # (N,) float
    hi: np.ndarray  # (N,) float
    words: np.ndarray  # (N, 2) uint64: its sensor and coverage interval's number, hashed (the
    # draw's address words after the threat's)


class Orders(NamedTuple):
    """What decides each command post's order times, per replication."""

    issues: np.ndarray  # (B, C) bool: issues orders at all in this run
    authority: np.ndarray  # (B, C) int64, rules.AUTHORITIES
    decision: np.ndarray  # (B, C, 4) float: decision-delay distribution (code, a, b, c)
    autonomous_delay: np.ndarray  # (B, C) float
    disabled: np.ndarray  # (B, C, G) bool: the post is disabled in segment g
    destroyed_at: np.ndarray  # (B, C) float


class Passages(NamedTuple):
    """(threat, unit, envelope interval) passages; times from the threat's start."""

    threat: np.ndarray  # (P,) int64
    unit: np.ndarray  # (P,) int64
    post: np.ndarray  # (P,) int64: the unit's command post, C for none
    lo: np.ndarray  # (P,) float
    hi: np.ndarray  # (P,) float


class Acquisitions(NamedTuple):
    """Sub-intervals of passages over which fire control may acquire (the envelope, or its
    part inside the fire-control radar's coverage), in passage order."""

    passage: np.ndarray  # (Q,) int64
    slot: np.ndarray  # (Q,) int64: its rank among its passage's sub-intervals
    lo: np.ndarray  # (Q,) float
    hi: np.ndarray  # (Q,) float
    source: np.ndarray  # (Q,) int64: row of FireControl.rate/hold (a radar, or S + the unit)
    words: np.ndarray  # (Q, 3) uint64: its unit, envelope interval's number and sub-interval's
    # number, hashed (the draw's address words after the threat's)


class FireControl(NamedTuple):
    """Acquisition rates and holding of every source (radars, then infrared units), per
    replication and segment, and what the passages' units may do."""

    rate: np.ndarray  # (B, S + U, G) float
    hold: np.ndarray  # (B, S + U, G) bool
    unit_ready: np.ndarray  # (B, U, G) bool
    own: np.ndarray  # (B, U) bool: may engage on own acquisition
    order_link: np.ndarray  # (B, U, G) bool: orders reach the unit (connected, link not cut)


class Command(NamedTuple):
    """Per replication, threat and command post (a last column of inf for units with none):
    first detection by a search radar, first report, order."""

    detected: np.ndarray  # (B, J, C + 1) float
    reported: np.ndarray  # (B, J, C + 1) float
    ordered: np.ndarray  # (B, J, C + 1) float


class Windows(NamedTuple):
    """Outputs of passage_windows."""

    lo: np.ndarray  # (B, P) float: the passage's span …
    hi: np.ndarray  # (B, P) float
    valid: np.ndarray  # (B, P) bool: … and whether it happens
    win_lo: np.ndarray  # (B, P, W) float: engageable windows in time order, inf padding
    win_hi: np.ndarray  # (B, P, W) float
    link_held: np.ndarray  # (B, P, HELD_LINKS) bool: which cumulative links 1–5 ever held


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
def _first_up(t, up, seg):
    """The first moment at or after t in a segment where `up` holds; inf if none."""
    if t == INF:
        return INF
    for g in range(len(seg.lo)):
        if up[g] and seg.hi[g] >= t:  # as reports: a link is up at the instant a cut starts
            return max(t, seg.lo[g])
    return INF


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
def command_chain(keys, duration, threats, items, search_rate, sensor_link, cp_link,
                  report_delay, seg, detected, reported):
    """Search detections of the items, and their reports once the sensor's and command
    post's links are both up: the earliest per (replication, threat, command post) into
    detected and reported (B, J, C; inf where none). Rates and links are (B, S or C, G);
    report_delay (B, C). An item's interval is cut at the scenario's end."""
    for b in range(len(keys)):
        for i in range(len(items.threat)):
            s, j, c = items.sensor[i], items.threat[i], items.post[i]
            t0 = threats.t0[b, j]
            lo, hi = t0 + items.lo[i], min(t0 + items.hi[i], duration)
            if not (threats.active[b, j] and lo <= duration) or _silent(search_rate[b, s]):
                continue
            address = (threats.word[j], items.words[i, 0], items.words[i, 1])
            hazard = -math.log(uniform_hashed(keys[b], DETECT, address))
            t = _first_event(search_rate[b, s], lo, hi, hazard, seg.lo, seg.hi)
            if t == INF:
                continue
            detected[b, j, c] = min(detected[b, j, c], t)
            for g in range(len(seg.lo)):
                if sensor_link[b, s, g] and cp_link[b, c, g]:
                    sent = max(t, seg.lo[g])
                    if sent <= min(hi, seg.hi[g]):
                        reported[b, j, c] = min(reported[b, j, c], sent + report_delay[b, c])
                        break  # segments are in time order: this is the earliest


@numba.njit(cache=True)
def order_times(keys, duration, words, reported, orders, seg, ordered):
    """When each command post orders the engagement of each reported threat (B, J, C; inf if
    it does not; `words`: the threats' hashed address words): report time + decision delay
    (autonomous: its fixed delay), pushed out of
    the windows in which the post is disabled; none at or after the end, none once the post
    is destroyed, none from a post that issues no orders in this run."""
    G = len(seg.lo)
    B, J, C = reported.shape
    for b in range(B):
        for c in range(C):
            code, x, y, z = orders.decision[b, c]
            post = hash_one(c)
            for j in range(J):
                if reported[b, j, c] == INF:
                    continue
                if orders.authority[b, c] == AUTONOMOUS:
                    wait = orders.autonomous_delay[b, c]
                else:
                    u = uniform_hashed(keys[b], DECISION, (words[j], post))
                    wait = quantiles.quantile(int(code), x, y, z, u)
                t = reported[b, j, c] + wait
                for _ in range(G):  # push out of disabled windows, in order
                    g = min(max(np.searchsorted(seg.lo, t, side="right") - 1, 0), G - 1)
                    if orders.disabled[b, c, g] and t < duration:
                        t = seg.hi[g]
                if not t < duration:  # an order at the end comes too late
                    continue
                if orders.issues[b, c] and t < orders.destroyed_at[b, c]:
                    ordered[b, j, c] = t


@numba.njit(cache=True)
def passage_windows(keys, duration, threats, passages, acq, fc, command, seg, out):
    """Every passage's span, its engageable windows — acquired, authorised, unit ready and
    fire control holding — in time order, and which of MODEL.md's cumulative links 1–5 ever
    held, into `out` (Windows)."""
    B, P, W = out.win_lo.shape
    G = len(seg.lo)
    acq_any = np.zeros(P, np.bool_)
    for b in range(B):
        acq_any[:] = False
        for p in range(P):
            t0 = threats.t0[b, passages.threat[p]]
            out.lo[b, p] = t0 + passages.lo[p]
            out.hi[b, p] = min(t0 + passages.hi[p], duration)
            out.valid[b, p] = threats.active[b, passages.threat[p]] and out.lo[b, p] <= duration
        for i in range(len(acq.passage)):
            p = acq.passage[i]
            j, u, src = passages.threat[p], passages.unit[p], acq.source[i]
            lo, hi = threats.t0[b, j] + acq.lo[i], min(threats.t0[b, j] + acq.hi[i], duration)
            if not (out.valid[b, p] and lo <= duration) or _silent(fc.rate[b, src]):
                continue
            address = (threats.word[j], acq.words[i, 0], acq.words[i, 1], acq.words[i, 2])
            hazard = -math.log(uniform_hashed(keys[b], ACQUIRE, address))
            ta = _first_event(fc.rate[b, src], lo, hi, hazard, seg.lo, seg.hi)
            if ta == INF:
                continue
            ordered = _first_up(command.ordered[b, j, passages.post[p]], fc.order_link[b, u],
                                seg)
            start = max(ta, -INF if fc.own[b, u] else ordered)
            for g in range(G):
                if not (fc.unit_ready[b, u, g] and fc.hold[b, src, g]):
                    continue
                w_lo, w_hi = max(start, seg.lo[g]), min(hi, seg.hi[g])
                if max(ta, seg.lo[g]) <= w_hi:
                    acq_any[p] = True
                # becoming ready just as the passage ends is no window (as in the reference)
                empty = w_lo == w_hi and w_lo == seg.lo[g] and lo < seg.lo[g]
                if w_lo <= w_hi and not empty:
                    out.win_lo[b, p, acq.slot[i] * G + g] = w_lo
                    out.win_hi[b, p, acq.slot[i] * G + g] = w_hi
        for p in range(P):
            if W > 1:  # disjoint windows: sorting starts and ends apart keeps them paired
                _sort_small(out.win_lo[b, p])
                _sort_small(out.win_hi[b, p])
            if not out.valid[b, p]:
                continue
            u = passages.unit[p]
            # ready ∩ [t, ∞) ∩ [lo, hi] is non-empty exactly when t ≤ the last ready moment
            last_ready = -INF
            for g in range(G):
                end = min(out.hi[b, p], seg.hi[g])
                if fc.unit_ready[b, u, g] and max(out.lo[b, p], seg.lo[g]) <= end:
                    last_ready = max(last_ready, end)
            j, c = passages.threat[p], passages.post[p]
            own_any = fc.own[b, u] and acq_any[p]
            out.link_held[b, p, UNIT_READY] = last_ready > -INF
            # the unit's own acquisition is a detection under any authority (MODEL.md, link 2)
            out.link_held[b, p, DETECTED] = command.detected[b, j, c] <= last_ready or acq_any[p]
            out.link_held[b, p, REPORTED] = command.reported[b, j, c] <= last_ready or own_any
            ordered = _first_up(command.ordered[b, j, c], fc.order_link[b, u], seg)
            out.link_held[b, p, ORDERED] = ordered <= last_ready or own_any
            out.link_held[b, p, FIRE_CONTROL] = out.win_lo[b, p, 0] < INF
