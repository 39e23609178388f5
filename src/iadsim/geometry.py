"""Geometry that does not depend on chance: the local frame, radar reach, and the intervals of a
route spent inside a sensor's coverage or a fire unit's envelope.

Heights are metres above flat ground; terrain masking is out of scope, the radar horizon is not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from geographiclib.geodesic import Geodesic

Interval = tuple[float, float]

_SAMPLE_STEP_S = 0.5  # route sampling step for finding interval ends, refined by bisection
_MIN_SAMPLES_PER_LEG = 64
_MAX_SAMPLES_PER_LEG = 20_000
_BISECTIONS = 60


def radar_horizon_km(antenna_height_m: float, target_height_m: float | np.ndarray) -> np.ndarray:
    """Radar horizon range, 4/3-Earth model: 4.12 (√h_antenna + √h_target) km."""
    return 4.12 * (np.sqrt(antenna_height_m) + np.sqrt(np.maximum(target_height_m, 0.0)))


def detection_range_km(range_1m2_km: float, rcs_m2: float) -> float:
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

    def sample_times(self, px: float, py: float, pz: float, radii_m: tuple[float, ...] = (),
                     altitudes_m: tuple[float, ...] = ()) -> np.ndarray:
        """Times fine enough to find every entry and exit near a point: a grid, each leg's
        closest approach, and the exact times the slant range crosses each radius and the
        altitude crosses each level (so thin shells are not missed at any speed)."""
        parts = [self.t]
        for i in range(len(self.t) - 1):
            t0, t1 = self.t[i], self.t[i + 1]
            n = int(np.clip((t1 - t0) / _SAMPLE_STEP_S, _MIN_SAMPLES_PER_LEG, _MAX_SAMPLES_PER_LEG))
            parts.append(np.linspace(t0, t1, n + 1))
            d = np.array([self.x[i + 1] - self.x[i], self.y[i + 1] - self.y[i],
                          self.z[i + 1] - self.z[i]])
            w = np.array([self.x[i] - px, self.y[i] - py, self.z[i] - pz])
            a, b = float(d @ d), float(2 * d @ w)
            if a > 0:  # |w + u d|² = R² for the leg fraction u in [0, 1]
                roots = [-b / (2 * a)]
                for r in radii_m:
                    disc = b * b - 4 * a * (float(w @ w) - r * r)
                    if disc >= 0:
                        roots += [(-b - np.sqrt(disc)) / (2 * a), (-b + np.sqrt(disc)) / (2 * a)]
                if d[2] != 0:
                    roots += [(h - self.z[i]) / d[2] for h in altitudes_m]
                u = np.clip(np.array(roots), 0.0, 1.0)
                parts.append(t0 + u * (t1 - t0))
        times = np.unique(np.concatenate(parts))
        return np.unique(np.concatenate([times, 0.5 * (times[1:] + times[:-1])]))


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


def intervals_inside(times: np.ndarray, margin: Callable[[np.ndarray], np.ndarray]
                     ) -> list[Interval]:
    """Maximal intervals of [times[0], times[-1]] where margin(t) ≥ 0 (margin continuous)."""
    inside = margin(times) >= 0.0
    if not inside.any():
        return []
    change = np.flatnonzero(inside[1:] != inside[:-1])
    lo, hi = times[change].copy(), times[change + 1].copy()
    entering = ~inside[change]
    for _ in range(_BISECTIONS):  # vectorized bisection of every crossing at once
        mid = 0.5 * (lo + hi)
        mid_inside = margin(mid) >= 0.0
        move_hi = mid_inside == entering
        hi = np.where(move_hi, mid, hi)
        lo = np.where(move_hi, lo, mid)
    crossing = np.where(entering, hi, lo)
    starts = ([float(times[0])] if inside[0] else []) + crossing[entering].tolist()
    ends = crossing[~entering].tolist() + ([float(times[-1])] if inside[-1] else [])
    return list(zip(starts, ends, strict=True))


def coverage_intervals(track: Track, rcs_m2: float, px: float, py: float, height_m: float,
                       range_1m2_km: float) -> list[Interval]:
    """When a radar can see the route: within R·σ^(1/4) and the radar horizon."""
    reach_rcs_m = detection_range_km(range_1m2_km, rcs_m2) * 1000.0

    def margin(t: np.ndarray) -> np.ndarray:
        _, _, z = track.position(t)
        reach = np.minimum(reach_rcs_m, radar_horizon_km(height_m, z) * 1000.0)
        return reach - track.slant_range_m(t, px, py, height_m)

    return intervals_inside(track.sample_times(px, py, height_m, (reach_rcs_m,)), margin)


def envelope_intervals(track: Track, px: float, py: float, height_m: float, min_range_km: float,
                       max_range_km: float, min_alt_m: float, max_alt_m: float
                       ) -> list[Interval]:
    """When the route is inside a fire unit's range and altitude band."""

    def margin(t: np.ndarray) -> np.ndarray:
        _, _, z = track.position(t)
        r = track.slant_range_m(t, px, py, height_m)
        return np.minimum.reduce([r - min_range_km * 1000.0, max_range_km * 1000.0 - r,
                                  z - min_alt_m, max_alt_m - z])

    radii = (min_range_km * 1000.0, max_range_km * 1000.0)
    return intervals_inside(track.sample_times(px, py, height_m, radii, (min_alt_m, max_alt_m)),
                            margin)
