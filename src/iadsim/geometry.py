"""Geometry that does not depend on chance: the local frame, radar reach, and the intervals of a
route spent inside a sensor's coverage or a fire unit's envelope.

Heights are metres above flat ground; terrain masking is out of scope, the radar horizon is not.

A route is piecewise linear in time, so the intervals come from closed forms per leg, for every
leg of every track against every point at once (NumPy arrays of legs × points). On a leg the
position is P + u·d for the leg fraction u ∈ [0, 1], so the squared slant range to a point is the
quadratic a u² + b u + c (a = d·d, b = 2 d·w, c = w·w, w = P − point) and the altitude is linear:

- a fire unit's envelope (min_range ≤ r ≤ max_range, min_alt ≤ z ≤ max_alt) is, on a leg, the
  roots of two quadratics and two linear equations: at most two intervals;
- a radar's coverage (r ≤ min(R·σ^(1/4), radar horizon)) is a quadratic for the range law and,
  since g(u) = horizon(z(u)) − r(u) is concave (a concave root of an affine altitude minus a
  convex norm), one interval for the horizon: a quadratic on a level leg, and on a climbing or
  descending leg the maximum of g and then each end found by bisection to float precision.

The sets are closed (a boundary point is inside); intervals of consecutive legs that touch at a
waypoint are merged, so each (track, point) gets the maximal intervals over [0, track end].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from geographiclib.geodesic import Geodesic

Interval = tuple[float, float]
IntervalTable = dict[tuple[int, int], tuple[Interval, ...]]  # (track, point) → intervals

_HORIZON_KM = 4.12  # radar horizon per √metre of height, 4/3-Earth model
_BISECTIONS = 60  # halvings of the leg fraction: below a float's resolution of the time
_SNAP = 1e-12  # leg fractions this close to a waypoint are at it (see _snapped)
_TINY = 1e-300  # keeps a slope finite where the altitude or the slant range is zero


def radar_horizon_km(antenna_height_m: float | np.ndarray,
                     target_height_m: float | np.ndarray) -> np.ndarray:
    """Radar horizon range, 4/3-Earth model: 4.12 (√h_antenna + √h_target) km."""
    return _HORIZON_KM * (np.sqrt(antenna_height_m) + np.sqrt(np.maximum(target_height_m, 0.0)))


def detection_range_km(range_1m2_km: float | np.ndarray, rcs_m2: float | np.ndarray
                       ) -> float | np.ndarray:
    """Radar range against a target of the given cross-section: R · σ^(1/4)."""
    return range_1m2_km * rcs_m2 ** 0.25


@dataclass(frozen=True)
class LocalFrame:
    """East-north-up frame centred on a reference point (azimuthal equidistant on WGS84)."""

    lat: float
    lon: float

    def to_enu(self, lat: float, lon: float) -> tuple[float, float]:
        """East and north metres of a point from the frame's origin."""
        g = Geodesic.WGS84.Inverse(self.lat, self.lon, lat, lon)
        azimuth = np.radians(g["azi1"])
        return float(g["s12"] * np.sin(azimuth)), float(g["s12"] * np.cos(azimuth))

    def distance_m(self, lat1: float, lon1: float, lat2: float, lon2: float) -> float:
        """Geodesic distance between two points."""
        return float(Geodesic.WGS84.Inverse(lat1, lon1, lat2, lon2)["s12"])


@dataclass(frozen=True)
class Track:
    """A route in the local frame: waypoint times (s after the flight's start) and positions."""

    t: np.ndarray
    x: np.ndarray
    y: np.ndarray
    z: np.ndarray

    @property
    def duration_s(self) -> float:
        return float(self.t[-1])

    def position(self, t: float | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Position at time(s) t, held at the ends."""
        return (np.interp(t, self.t, self.x), np.interp(t, self.t, self.y),
                np.interp(t, self.t, self.z))

    def slant_range_m(self, t: float | np.ndarray, px: float, py: float, pz: float) -> np.ndarray:
        """Straight-line distance from a point to the route at time(s) t."""
        x, y, z = self.position(t)
        return np.sqrt((x - px) ** 2 + (y - py) ** 2 + (z - pz) ** 2)


def intersect(a: Sequence[Interval], b: Sequence[Interval]) -> list[Interval]:
    """Intersection of two interval sets."""
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


# --- many tracks × many points at once ----------------------------------------------------------


def coverage_table(tracks: Sequence[Track], rcs_m2: Sequence[float], radars: np.ndarray,
                   range_1m2_km: Sequence[float]) -> IntervalTable:
    """When each radar sees each route: within R·σ^(1/4) and the radar horizon.

    `radars` is (n, 3): east, north and antenna height (m); track i has cross-section
    rcs_m2[i], radar j range range_1m2_km[j] against 1 m². Keys (track, radar), in that order.
    """
    radars = np.asarray(radars, dtype=float).reshape(-1, 3)
    if not tracks or not len(radars):
        return {}
    legs = _legs(tracks)
    a, b, c = _range_quadratic(legs, radars)
    reach_m = 1000.0 * detection_range_km(np.asarray(range_1m2_km, dtype=float)[None, :],
                                          np.asarray(rcs_m2, dtype=float)[:, None])  # (track,
    # radar)
    lo, hi = _within(a, b, c, reach_m[legs.track])
    h_lo, h_hi = _below_horizon(legs, radars, a, b, c, lo, hi)
    return _table(legs, len(tracks), len(radars), [(np.maximum(lo, h_lo), np.minimum(hi, h_hi))])


def envelope_table(tracks: Sequence[Track], units: np.ndarray, min_range_km: Sequence[float],
                   max_range_km: Sequence[float], min_alt_m: Sequence[float],
                   max_alt_m: Sequence[float]) -> IntervalTable:
    """When each route is inside each fire unit's range and altitude band.

    `units` is (n, 3): east, north and height (m); the bounds are per unit. Keys (track, unit),
    in that order.
    """
    units = np.asarray(units, dtype=float).reshape(-1, 3)
    if not tracks or not len(units):
        return {}
    legs = _legs(tracks)
    a, b, c = _range_quadratic(legs, units)
    r_lo, r_hi = _within(a, b, c, 1000.0 * np.asarray(max_range_km, dtype=float))
    z_lo, z_hi = _band(legs, np.asarray(min_alt_m, dtype=float),
                       np.asarray(max_alt_m, dtype=float))
    lo, hi = np.maximum(r_lo, z_lo), np.minimum(r_hi, z_hi)
    near, far = _beyond(a, b, c, 1000.0 * np.asarray(min_range_km, dtype=float))
    return _table(legs, len(tracks), len(units),
                  [(lo, np.minimum(hi, near)), (np.maximum(lo, far), hi)])


# --- the closed forms, per (leg, point) ----------------------------------------------------------


@dataclass(frozen=True)
class _Legs:
    """Every leg of many tracks, flattened in track order (a leg: waypoint i to i + 1)."""

    track: np.ndarray  # (L,) the track each leg belongs to
    t0: np.ndarray  # (L,) start time
    t1: np.ndarray  # (L,) end time
    start: np.ndarray  # (L, 3) start position
    step: np.ndarray  # (L, 3) displacement over the leg


def _legs(tracks: Sequence[Track]) -> _Legs:
    """The legs of all tracks as arrays, so that each formula runs once for all of them."""
    t = np.concatenate([tr.t for tr in tracks]).astype(float)
    xyz = np.concatenate([np.column_stack([tr.x, tr.y, tr.z]) for tr in tracks]).astype(float)
    sizes = np.array([len(tr.t) for tr in tracks])
    first = np.ones(len(t), dtype=bool)  # waypoints that start a leg: all but each track's last
    first[np.cumsum(sizes) - 1] = False
    i = np.flatnonzero(first)
    return _Legs(np.repeat(np.arange(len(tracks)), sizes - 1), t[i], t[i + 1], xyz[i],
                 xyz[i + 1] - xyz[i])


def _range_quadratic(legs: _Legs, points: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """a, b, c with squared slant range a u² + b u + c on each leg (rows) to each point
    (columns); a is (L, 1), b and c are (L, P)."""
    w = legs.start[:, None, :] - points[None, :, :]
    a = np.einsum("lk,lk->l", legs.step, legs.step)[:, None]
    b = 2.0 * np.einsum("lpk,lk->lp", w, legs.step)
    c = np.einsum("lpk,lpk->lp", w, w)
    return a, b, c


def _roots(a: np.ndarray, b: np.ndarray, c: np.ndarray, radius: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where a u² + b u + c = radius² (a > 0): the discriminant and both roots, lower first
    (NaN-free: the roots are meaningless where the discriminant is negative or a = 0)."""
    disc = b * b - 4.0 * a * (c - radius * radius)
    root = np.sqrt(np.maximum(disc, 0.0))
    two_a = 2.0 * np.where(a > 0, a, 1.0)
    return disc, (-b - root) / two_a, (-b + root) / two_a


def _within(a: np.ndarray, b: np.ndarray, c: np.ndarray, radius: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """The interval of u where the slant range is ≤ radius (lo > hi: none). A leg that does
    not move (a = 0) is inside everywhere or nowhere."""
    disc, u1, u2 = _roots(a, b, c, radius)
    held_inside = c <= radius * radius
    lo = np.where(a > 0, np.where(disc >= 0, u1, np.inf), np.where(held_inside, -np.inf, np.inf))
    hi = np.where(a > 0, np.where(disc >= 0, u2, -np.inf),
                  np.where(held_inside, np.inf, -np.inf))
    return lo, hi


def _beyond(a: np.ndarray, b: np.ndarray, c: np.ndarray, radius: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """(near, far) with slant range ≥ radius exactly on u ≤ near or u ≥ far. Everywhere:
    near = far = ∞ (a tangent or a zero radius included: the ball's inside is open); nowhere
    (a leg held inside): near = −∞, far = ∞."""
    disc, u1, u2 = _roots(a, b, c, radius)
    crossed = (a > 0) & (disc > 0) & (radius > 0)
    held_inside = (a == 0) & (c < radius * radius)
    near = np.where(crossed, u1, np.where(held_inside, -np.inf, np.inf))
    far = np.where(crossed, u2, np.inf)
    return near, far


def _band(legs: _Legs, low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The interval of u where low ≤ altitude ≤ high, per leg (rows) and band (columns); a
    level leg is in the band everywhere or nowhere."""
    z0, dz = legs.start[:, 2:3], legs.step[:, 2:3]
    level = dz == 0
    slope = np.where(level, 1.0, dz)
    at_low, at_high = (low - z0) / slope, (high - z0) / slope
    in_band = (low <= z0) & (z0 <= high)
    lo = np.where(level, np.where(in_band, -np.inf, np.inf), np.minimum(at_low, at_high))
    hi = np.where(level, np.where(in_band, np.inf, -np.inf), np.maximum(at_low, at_high))
    return lo, hi


def _below_horizon(legs: _Legs, radars: np.ndarray, a: np.ndarray, b: np.ndarray,
                   c: np.ndarray, lo: np.ndarray, hi: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """The interval of u where the slant range is within the radar horizon, per leg and radar,
    as far as it matters within [lo, hi] ∩ [0, 1] (where the range law already holds).

    On a level leg the horizon is a fixed radius (a quadratic). On a climbing or descending leg
    the margin g = horizon − range is concave, so it is ≥ 0 on all of [lo, hi] if it is at both
    ends (no cut: everywhere); only where an end is beyond the horizon is the interval found
    numerically.
    """
    h = radars[None, :, 2]
    h_lo, h_hi = _within(a, b, c, 1000.0 * radar_horizon_km(h, legs.start[:, 2:3]))
    lo, hi = np.maximum(lo, 0.0), np.minimum(hi, 1.0)
    leg, radar = np.nonzero((legs.step[:, 2:3] != 0) & (lo <= hi))
    if len(leg):
        w, d, mast = legs.start[leg] - radars[radar], legs.step[leg], radars[radar, 2]
        cut = ((_horizon_margin(lo[leg, radar], w, d, mast) < 0)
               | (_horizon_margin(hi[leg, radar], w, d, mast) < 0))
        h_lo[leg, radar], h_hi[leg, radar] = -np.inf, np.inf
        leg, radar = leg[cut], radar[cut]
        h_lo[leg, radar], h_hi[leg, radar] = _concave_interval(w[cut], d[cut], mast[cut])
    return h_lo, h_hi


def _horizon_margin(u: np.ndarray, w: np.ndarray, d: np.ndarray, h: np.ndarray) -> np.ndarray:
    """g(u) = radar horizon − slant range (m) at leg fraction u, for a leg w + u d from the
    radar (antenna height h); concave in u."""
    rel = w + u[:, None] * d
    return (1000.0 * radar_horizon_km(h, rel[:, 2] + h)
            - np.sqrt(np.einsum("kj,kj->k", rel, rel)))


def _horizon_slope(u: np.ndarray, w: np.ndarray, d: np.ndarray, h: np.ndarray) -> np.ndarray:
    """dg/du: 1000 · 4.12 dz / (2√z) − (rel·d) / r, kept finite where z or r is zero."""
    rel = w + u[:, None] * d
    z = np.maximum(rel[:, 2] + h, _TINY)
    r = np.maximum(np.sqrt(np.einsum("kj,kj->k", rel, rel)), _TINY)
    return 500.0 * _HORIZON_KM * d[:, 2] / np.sqrt(z) - np.einsum("kj,kj->k", rel, d) / r


def _concave_interval(w: np.ndarray, d: np.ndarray, h: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """{u ∈ [0, 1]: g(u) ≥ 0} for a concave g (_horizon_margin), as (lo, hi) with lo > hi when
    empty: bisect the slope's sign for the maximum, then each side for the crossing."""
    lo, hi = np.zeros(len(w)), np.ones(len(w))
    for _ in range(_BISECTIONS):
        mid = 0.5 * (lo + hi)
        rising = _horizon_slope(mid, w, d, h) > 0
        lo, hi = np.where(rising, mid, lo), np.where(rising, hi, mid)
    ends = np.column_stack([np.zeros(len(w)), 0.5 * (lo + hi), np.ones(len(w))])  # 0, peak, 1
    g = np.column_stack([_horizon_margin(ends[:, k], w, d, h) for k in range(3)])
    top = ends[np.arange(len(w)), np.argmax(g, axis=1)]
    # bisect [0, top] and [top, 1] together; an end already inside stays put
    inside = np.concatenate([np.where(g[:, 0] >= 0, 0.0, top), np.where(g[:, 2] >= 0, 1.0, top)])
    outside = np.concatenate([np.zeros(len(w)), np.ones(len(w))])
    w2, d2, h2 = np.concatenate([w, w]), np.concatenate([d, d]), np.concatenate([h, h])
    for _ in range(_BISECTIONS):
        mid = 0.5 * (inside + outside)
        ok = _horizon_margin(mid, w2, d2, h2) >= 0
        inside, outside = np.where(ok, mid, inside), np.where(ok, outside, mid)
    seen = g.max(axis=1) >= 0
    return (np.where(seen, inside[:len(w)], np.inf), np.where(seen, inside[len(w):], -np.inf))


# --- from leg fractions to each pair's merged time intervals -------------------------------------


def _table(legs: _Legs, n_tracks: int, n_points: int,
           pieces: list[tuple[np.ndarray, np.ndarray]]) -> IntervalTable:
    """Each (track, point)'s maximal time intervals from per-(leg, point) intervals of u, in
    time order; intervals of consecutive legs that meet at a waypoint are merged."""
    lo = _snapped(np.stack([np.maximum(p[0], 0.0) for p in pieces], axis=-1))  # (L, P, pieces)
    hi = _snapped(np.stack([np.minimum(p[1], 1.0) for p in pieces], axis=-1))
    some = lo <= hi
    leg, point, _ = np.nonzero(some)  # in leg, point, piece order
    lo, hi = lo[some], hi[some]
    pair = legs.track[leg] * n_points + point
    order = np.argsort(pair, kind="stable")  # by pair, keeping time order within a pair
    pair, leg, start, end = (pair[order], leg[order], _time(legs, leg, lo)[order],
                             _time(legs, leg, hi)[order])
    new = np.ones(len(pair), dtype=bool)
    new[1:] = (pair[1:] != pair[:-1]) | (start[1:] > end[:-1])
    last = np.append(new[1:], True)[:len(pair)]  # (none at all when no route enters)
    found: dict[int, list[Interval]] = {}
    for p, s, e in zip(pair[new].tolist(), start[new].tolist(), end[last].tolist(), strict=True):
        found.setdefault(p, []).append((s, e))
    return {(f, q): tuple(found.get(f * n_points + q, ()))
            for f in range(n_tracks) for q in range(n_points)}


def _snapped(u: np.ndarray) -> np.ndarray:
    """Leg fractions within _SNAP of a waypoint put on it: a boundary crossed at a waypoint
    solves to a root a few ulps short of it, which would split one interval in two."""
    u = np.where((u >= 0.0) & (u < _SNAP), 0.0, u)
    return np.where((u > 1.0 - _SNAP) & (u <= 1.0), 1.0, u)


def _time(legs: _Legs, leg: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The time at leg fraction u, exact at both waypoints (so touching intervals merge)."""
    t0, t1 = legs.t0[leg], legs.t1[leg]
    return np.where(u >= 1.0, t1, t0 + u * (t1 - t0))
