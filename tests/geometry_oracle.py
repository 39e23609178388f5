"""The former geometry implementation (iadsim.geometry before vectorization), kept verbatim as
the test oracle: it samples each route densely, refines every sign change of the margin by
bisection, and handles one (track, point) pair per call. Only `Track.sample_times` became a
function taking the track; tests and benchmarks compare the closed-form geometry against it."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from iadsim.geometry import Interval, Track, detection_range_km, radar_horizon_km

_SAMPLE_STEP_S = 0.5  # route sampling step for finding interval ends, refined by bisection
_MIN_SAMPLES_PER_LEG = 64
_MAX_SAMPLES_PER_LEG = 20_000
_BISECTIONS = 60


def sample_times(track: Track, px: float, py: float, pz: float, radii_m: tuple[float, ...] = (),
                 altitudes_m: tuple[float, ...] = ()) -> np.ndarray:
    """Times fine enough to find every entry and exit near a point: a grid, each leg's
    closest approach, and the exact times the slant range crosses each radius and the
    altitude crosses each level (so thin shells are not missed at any speed)."""
    parts = [track.t]
    for i in range(len(track.t) - 1):
        t0, t1 = track.t[i], track.t[i + 1]
        n = int(np.clip((t1 - t0) / _SAMPLE_STEP_S, _MIN_SAMPLES_PER_LEG, _MAX_SAMPLES_PER_LEG))
        parts.append(np.linspace(t0, t1, n + 1))
        d = np.array([track.x[i + 1] - track.x[i], track.y[i + 1] - track.y[i],
                      track.z[i + 1] - track.z[i]])
        w = np.array([track.x[i] - px, track.y[i] - py, track.z[i] - pz])
        a, b = float(d @ d), float(2 * d @ w)
        if a > 0:  # |w + u d|² = R² for the leg fraction u in [0, 1]
            roots = [-b / (2 * a)]
            for r in radii_m:
                disc = b * b - 4 * a * (float(w @ w) - r * r)
                if disc >= 0:
                    roots += [(-b - np.sqrt(disc)) / (2 * a), (-b + np.sqrt(disc)) / (2 * a)]
            if d[2] != 0:
                roots += [(h - track.z[i]) / d[2] for h in altitudes_m]
            u = np.clip(np.array(roots), 0.0, 1.0)
            parts.append(t0 + u * (t1 - t0))
    times = np.unique(np.concatenate(parts))
    return np.unique(np.concatenate([times, 0.5 * (times[1:] + times[:-1])]))


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

    return intervals_inside(sample_times(track, px, py, height_m, (reach_rcs_m,)), margin)


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
    return intervals_inside(sample_times(track, px, py, height_m, radii, (min_alt_m, max_alt_m)),
                            margin)
