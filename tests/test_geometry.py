"""The closed-form route geometry (iadsim.geometry.coverage_table, envelope_table) against the
former sampling-and-bisection implementation (tests/geometry_oracle.py), and against hand values.

The randomized comparison asks for the same number of intervals and ends equal within 1e-6 s,
not bit for bit: the oracle bisects the float margin to its last bit, while the closed form
solves the same equations (quadratic and linear roots, a bisection in the leg fraction) with
different rounding, so an end may differ by a few ulps of the time (~1e-12 s).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from geometry_oracle import coverage_intervals, envelope_intervals

from iadsim.geometry import Track, coverage_table, envelope_table

TOLERANCE_S = 1e-6


def random_track(rng: np.random.Generator, points: np.ndarray) -> Track:
    """2–6 waypoints near the points: level, climbing and descending legs, hovering legs (same
    place, later time), and waypoints right over or at a point."""
    n = int(rng.integers(2, 7))
    scale = rng.choice([3e3, 30e3, 150e3])
    xyz = [np.array([*rng.uniform(-scale, scale, 2), rng.uniform(0, 12e3)])]
    t = [0.0]
    for _ in range(n - 1):
        kind = rng.choice(["free", "level", "hover", "over", "at", "ground"])
        p = points[rng.integers(len(points))]
        if kind == "hover":
            nxt = xyz[-1].copy()
        elif kind == "over":
            nxt = np.array([p[0], p[1], rng.uniform(0, 12e3)])
        elif kind == "at":
            nxt = p.copy()
        else:
            nxt = np.array([*rng.uniform(-scale, scale, 2), rng.uniform(0, 12e3)])
            if kind == "level":
                nxt[2] = xyz[-1][2]
            elif kind == "ground":
                nxt[2] = 0.0
        length = float(np.linalg.norm(nxt - xyz[-1]))
        t.append(t[-1] + (rng.uniform(5, 200) if length == 0 else length / rng.uniform(30, 900)))
        xyz.append(nxt)
    x, y, z = np.array(xyz).T
    return Track(np.array(t), x, y, z)


def random_points(rng: np.random.Generator, n: int) -> np.ndarray:
    """Points near the origin at heights from the ground to a mast."""
    return np.column_stack([rng.uniform(-20e3, 20e3, n), rng.uniform(-20e3, 20e3, n),
                            rng.choice([0.0, 4.0, 10.0, 25.0, 100.0], n)])


def assert_same(new: tuple, old: list, what: object) -> None:
    assert len(new) == len(old), (what, new, old)
    for (s1, e1), (s0, e0) in zip(new, old, strict=True):
        assert type(s1) is float and type(e1) is float, what
        assert abs(s1 - s0) <= TOLERANCE_S and abs(e1 - e0) <= TOLERANCE_S, (what, new, old)


def test_coverage_matches_oracle_on_random_routes():
    rng = np.random.default_rng(20260301)
    radars = random_points(rng, 5)
    tracks = [random_track(rng, radars) for _ in range(250)]
    rcs = rng.choice([0.01, 0.1, 1.0, 5.0, 20.0], len(tracks))
    range_km = rng.uniform(20, 400, len(radars))
    table = coverage_table(tracks, rcs, radars, range_km)
    assert list(table) == [(f, s) for f in range(len(tracks)) for s in range(len(radars))]
    found = 0
    for (f, s), got in table.items():
        expected = coverage_intervals(tracks[f], rcs[f], *radars[s], range_km[s])
        assert_same(got, expected, (f, s))
        found += len(got)
    assert found > 300  # the routes do come in and out of coverage


def test_envelope_matches_oracle_on_random_routes():
    rng = np.random.default_rng(7)
    units = random_points(rng, 6)
    tracks = [random_track(rng, units) for _ in range(250)]
    min_range = np.array([0.0, 0.0, 3.0, 5.0, 1.0, 12.0])
    max_range = np.array([5.2, 40.0, 25.0, 150.0, 3.0, 60.0])
    min_alt = np.array([0.0, 10.0, 0.0, 500.0, 0.0, 2000.0])
    max_alt = np.array([3500.0, 20e3, 8000.0, 25e3, 1000.0, 6000.0])
    table = envelope_table(tracks, units, min_range, max_range, min_alt, max_alt)
    assert list(table) == [(f, u) for f in range(len(tracks)) for u in range(len(units))]
    found = two = 0
    for (f, u), got in table.items():
        expected = envelope_intervals(tracks[f], *units[u], min_range[u], max_range[u],
                                      min_alt[u], max_alt[u])
        assert_same(got, expected, (f, u))
        found += len(got)
        two += len(got) > 1
    assert found > 300 and two > 20  # many passages, many of them split by min range or band


def straight(start: tuple[float, float, float], end: tuple[float, float, float],
             duration_s: float) -> Track:
    """A one-leg track."""
    x, y, z = np.array([start, end], dtype=float).T
    return Track(np.array([0.0, duration_s]), x, y, z)


def test_radial_pass_enters_at_the_reach():
    """Level flight straight over a radar: in coverage from slant range R·σ^(1/4) on the way
    in to the same range on the way out (the range law binds, the horizon is far)."""
    track = straight((100e3, 0.0, 2000.0), (-100e3, 0.0, 2000.0), 800.0)  # 250 m/s
    (entry, exit_), = coverage_table([track], [16.0], np.array([[0.0, 0.0, 25.0]]), [30.0])[0, 0]
    ground_m = math.sqrt(60e3 ** 2 - 1975.0 ** 2)  # reach 30 · 16^(1/4) = 60 km
    assert entry == pytest.approx((100e3 - ground_m) / 250.0, abs=1e-9)
    assert exit_ == pytest.approx((100e3 + ground_m) / 250.0, abs=1e-9)


def test_tangent_pass_touches_the_shell():
    """A pass tangent to the outer shell is a point interval at the closest approach; tangent
    to the inner shell it stays inside throughout (the sets are closed). The oracle's point is
    ~3 µs wide: at tangency the float slant range stays at 10 km for ±1.5e-4 m of flight."""
    track = straight((-20e3, 10e3, 0.0), (20e3, 10e3, 0.0), 400.0)
    unit = np.array([[0.0, 0.0, 0.0]])
    outer = envelope_table([track], unit, [0.0], [10.0], [0.0], [1000.0])[0, 0]
    inner = envelope_table([track], unit, [10.0], [40.0], [0.0], [1000.0])[0, 0]
    assert outer == ((200.0, 200.0),)
    (start, end), = envelope_intervals(track, 0.0, 0.0, 0.0, 0.0, 10.0, 0.0, 1000.0)
    assert 200.0 - 1e-5 < start <= 200.0 <= end < 200.0 + 1e-5
    assert inner == ((0.0, 400.0),)


def test_climb_crosses_the_horizon():
    """A vertical climb 57.68 km from a radar on a 16 m mast comes over the horizon at 100 m:
    4.12 (√16 + √100) km = 57.68 km of slant range."""
    ground_m = math.sqrt(57_680.0 ** 2 - 84.0 ** 2)
    track = straight((ground_m, 0.0, 0.0), (ground_m, 0.0, 1000.0), 100.0)  # 10 m/s up
    (entry, exit_), = coverage_table([track], [1.0], np.array([[0.0, 0.0, 16.0]]), [500.0])[0, 0]
    assert entry == pytest.approx(10.0, abs=1e-9)
    assert exit_ == 100.0


def test_hover_and_waypoints_merge():
    """Inbound, a hover over the unit and outbound: one interval across both waypoints; a route
    with no leg inside gives nothing."""
    x = np.array([-10e3, 0.0, 0.0, 10e3])
    track = Track(np.array([0.0, 100.0, 160.0, 260.0]), x, np.zeros(4), np.full(4, 300.0))
    unit = np.array([[0.0, 0.0, 0.0], [0.0, 50e3, 0.0]])
    table = envelope_table([track], unit, [0.0, 0.0], [5.0, 5.0], [0.0, 0.0], [1000.0, 1000.0])
    (entry, exit_), = table[0, 0]
    assert entry == pytest.approx(100.0 - math.sqrt(5e3 ** 2 - 300.0 ** 2) / 100.0, abs=1e-9)
    assert exit_ == pytest.approx(260.0 - entry, abs=1e-9)
    assert table[0, 1] == ()


def test_nothing_to_pair():
    track = straight((0.0, 0.0, 0.0), (1.0, 0.0, 0.0), 1.0)
    assert coverage_table([track], [1.0], np.zeros((0, 3)), []) == {}
    assert envelope_table([], np.zeros((1, 3)), [0.0], [1.0], [0.0], [1.0]) == {}


def test_no_route_anywhere_near_gives_no_interval():
    """A defence far from every route: every pair is present, with no interval."""
    track = Track(np.array([0.0, 100.0]), np.array([0.0, 1000.0]), np.zeros(2),
                  np.full(2, 300.0))
    far = np.array([[5e6, 5e6, 10.0]])
    assert envelope_table([track], far, [0.0], [5.0], [0.0], [1e4]) == {(0, 0): ()}
    assert coverage_table([track], [1.0], far, [50.0]) == {(0, 0): ()}


def test_a_boundary_crossed_at_a_waypoint_leaves_one_interval():
    """Routes that reach a unit's maximum range exactly at a turn and fly on inside: the root
    solves a few ulps short of the waypoint (about one route in thirteen here), which must not
    split the interval in two at the turn."""
    rng = np.random.default_rng(0)
    for _ in range(300):
        angle = rng.uniform(0.0, 2.0 * math.pi)
        turn = 5000.0 * np.array([math.cos(angle), math.sin(angle)])
        start = 2.3 * turn + rng.normal(0.0, 100.0, 2)
        xy = np.array([start, turn, 0.3 * turn])
        track = Track(np.array([0.0, 100.0, 200.0]), xy[:, 0], xy[:, 1], np.zeros(3))
        got = envelope_table([track], np.zeros((1, 3)), [0.0], [5.0], [0.0], [1e4])[0, 0]
        assert len(got) == 1 and abs(got[0][0] - 100.0) < 1e-9 and got[0][1] == 200.0, got
