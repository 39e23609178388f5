"""Sets of time as sorted lists of disjoint closed intervals [start, end] (start ≤ end), and
piecewise-constant rates over time. Small helpers the engines share."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from iadsim.geometry import intersect
from iadsim.rules import INF

__all__ = ["ALWAYS", "Intervals", "StepRate", "first_at_or_after", "intersect", "intersect_all",
           "minus", "since", "union"]

Interval = tuple[float, float]
Intervals = list[Interval]

ALWAYS: Intervals = [(-INF, INF)]


def since(t: float | None) -> Intervals:
    """The set [t, ∞), or the empty set for None."""
    return [] if t is None else [(t, INF)]


def intersect_all(first: Sequence[Interval], *rest: Sequence[Interval]) -> Intervals:
    out = list(first)
    for other in rest:
        out = intersect(out, other)
    return out


def union(*sets: Iterable[Interval]) -> Intervals:
    """Union of interval sets, merged."""
    items = sorted(iv for s in sets for iv in s)
    out: Intervals = []
    for lo, hi in items:
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def minus(a: Sequence[Interval], holes: Sequence[Interval]) -> Intervals:
    """a with the half-open windows [start, end) removed (and no lone instants left)."""
    out = list(a)
    for h0, h1 in holes:
        nxt: Intervals = []
        for lo, hi in out:
            if h1 <= lo or h0 > hi:
                nxt.append((lo, hi))
                continue
            if lo < h0:
                nxt.append((lo, h0))
            if h1 < hi:  # no lone instant at a hole's end
                nxt.append((h1, hi))
        out = nxt
    return out


def first_at_or_after(a: Sequence[Interval], t: float) -> float | None:
    """The earliest time ≥ t in the set, or None."""
    for lo, hi in a:
        if hi >= t:
            return max(lo, t)
    return None


class StepRate:
    """A rate that is constant between breakpoints: value[i] on [breaks[i], breaks[i+1])."""

    def __init__(self, breaks: Sequence[float], values: Sequence[float]):
        self.breaks = list(breaks)
        self.values = list(values)

    @classmethod
    def build(cls, up: Sequence[Interval], base: float,
              factors: Sequence[tuple[float, float, float]]) -> StepRate:
        """base × the product of the factors active at t while t is in `up`, else 0."""
        points = {-INF, INF}
        points.update(x for iv in up for x in iv)
        points.update(x for f in factors for x in f[:2])
        breaks = sorted(points)
        values = []
        for lo, hi in zip(breaks[:-1], breaks[1:], strict=True):
            mid = _midpoint(lo, hi)
            if not any(u0 <= mid <= u1 for u0, u1 in up):
                values.append(0.0)
                continue
            rate = base
            for f0, f1, factor in factors:
                if f0 <= mid < f1:
                    rate *= factor
            values.append(rate)
        return cls(breaks, values)

    def first_event(self, hazard: float, lo: float, hi: float) -> float | None:
        """Invert the cumulative hazard from lo: the time it reaches `hazard` (a unit
        exponential draw), or None if it does not by hi. An infinite rate fires at once."""
        acc = 0.0
        for b0, b1, v in zip(self.breaks[:-1], self.breaks[1:], self.values, strict=True):
            s, e = max(b0, lo), min(b1, hi)
            if s > e or (s == e and not (b0 <= s < b1)) or v <= 0.0:
                continue
            if math.isinf(v):
                return s
            if acc + v * (e - s) >= hazard:
                return s + (hazard - acc) / v
            acc += v * (e - s)
        return None


def _midpoint(lo: float, hi: float) -> float:
    if math.isinf(lo) and math.isinf(hi):
        return 0.0
    if math.isinf(lo):
        return hi - 1.0
    if math.isinf(hi):
        return lo + 1.0
    return 0.5 * (lo + hi)
