"""The analytic validation cases of MODEL.md ("Validation cases"), each run as a real scenario.

Every case is written as scenario YAML text, parsed, compiled and run through the engine, and its
Monte Carlo estimate is compared with the exact value.

Tolerances come from the Monte Carlo standard error, never tuned: a check passes when
|estimate − exact| ≤ Z·SE with Z = 4. For a Bernoulli observable the SE is computed from the EXACT
p and the number of replications n, SE = √(p(1 − p)/n); otherwise from the sample (the ratio
estimator for the Erlang case, whose arrivals are correlated within a replication). Under the
normal approximation a correct engine fails one such check with probability 2·(1 − Φ(4)) ≈ 6.3e-5;
this file makes fewer than 40 statistical checks, so a correct engine fails the file for fewer
than 1 in 400 seeds (union bound). The seeds are fixed, so the outcome is reproducible; they were
chosen before the results were seen and must not be changed to make a failing check pass.

Geometry (radar horizon, fourth-root range law, the local frame) is exact and checked to the
metre or better.
"""

from __future__ import annotations

import hashlib
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from geographiclib.geodesic import Geodesic
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad

from iadsim.engine import run
from iadsim.engine.results import Results
from iadsim.geometry import LocalFrame, detection_range_km, radar_horizon_km
from iadsim.model import Model, compile_scenario
from iadsim.scenario.load import parse_scenario

Z = 4.0  # tolerance in standard errors; two-sided false-failure rate ≈ 6.3e-5 per check


def compiled(yaml_text: str, name: str = "validation.yaml") -> Model:
    return compile_scenario(parse_scenario(yaml_text, name))


def only_interval(intervals: tuple[tuple[float, float], ...]) -> tuple[float, float]:
    assert len(intervals) == 1, f"expected one interval, got {intervals}"
    return intervals[0]


def assert_close(measured: float, exact: float, se: float, what: str) -> None:
    assert se > 0 and math.isfinite(se), f"{what}: bad standard error {se}"
    assert abs(measured - exact) <= Z * se, (
        f"{what}: measured {measured:.5f}, exact {exact:.5f}, SE {se:.5f}, "
        f"|diff| = {abs(measured - exact) / se:.2f} SE > {Z} SE")


def assert_probability(values: np.ndarray, p: float, what: str) -> None:
    """A 0/1 per-replication observable whose mean should be p; SE from the exact p."""
    assert set(np.unique(values)) <= {0.0, 1.0}, f"{what}: not a 0/1 observable"
    if p in (0.0, 1.0):  # a certainty: no noise at all
        np.testing.assert_array_equal(values, p, err_msg=what)
        return
    assert_close(float(values.mean()), p, math.sqrt(p * (1 - p) / len(values)), what)


# =================================================================================================
# 1. Radar horizon and the fourth-root range law, to the metre
# =================================================================================================


def test_radar_horizon_hand_values():
    # 4.12 (√h_antenna + √h_target) km
    assert radar_horizon_km(100.0, 10_000.0) == pytest.approx(4.12 * (10 + 100), abs=1e-9)
    assert radar_horizon_km(4.0, 0.0) == pytest.approx(8.24, abs=1e-9)
    assert radar_horizon_km(0.0, 2500.0) == pytest.approx(206.0, abs=1e-9)
    assert radar_horizon_km(9.0, 16.0) == pytest.approx(4.12 * 7, abs=1e-9)
    # a target below ground level is treated as on the ground
    assert radar_horizon_km(9.0, -5.0) == pytest.approx(12.36, abs=1e-9)
    np.testing.assert_allclose(radar_horizon_km(25.0, np.array([0.0, 1.0, 100.0])),
                               [20.6, 24.72, 61.8], atol=1e-9)


def test_detection_range_hand_values():
    # R · σ^(1/4)
    assert detection_range_km(100.0, 1.0) == pytest.approx(100.0, abs=1e-12)
    assert detection_range_km(100.0, 16.0) == pytest.approx(200.0, abs=1e-12)
    assert detection_range_km(50.0, 0.0016) == pytest.approx(10.0, abs=1e-12)
    assert detection_range_km(80.0, 81.0) == pytest.approx(240.0, abs=1e-12)
    assert detection_range_km(100.0, 0.01) == pytest.approx(100.0 / math.sqrt(10), abs=1e-12)


def test_local_frame_hand_values():
    frame = LocalFrame(0.0, 0.0)
    assert frame.to_enu(0.0, 0.0) == pytest.approx((0.0, 0.0), abs=1e-9)
    # one degree of longitude along the equator is a · π/180 on WGS84
    east, north = frame.to_enu(0.0, 1.0)
    assert east == pytest.approx(6378137.0 * math.pi / 180.0, abs=1e-3)
    assert north == pytest.approx(0.0, abs=1e-6)
    # one degree of latitude along the meridian: the meridian arc ∫ a(1−e²)/(1−e² sin²φ)^(3/2) dφ
    a, f = 6378137.0, 1 / 298.257223563
    e2 = f * (2 - f)
    arc, _ = quad(lambda phi: a * (1 - e2) / (1 - e2 * math.sin(phi) ** 2) ** 1.5,
                  0.0, math.radians(1.0), epsabs=1e-9)
    east, north = frame.to_enu(1.0, 0.0)
    assert east == pytest.approx(0.0, abs=1e-6)
    assert north == pytest.approx(arc, abs=1e-3)
    assert north == pytest.approx(110574.39, abs=0.01)  # the tabulated value
    # due west and due south come out negative
    assert frame.to_enu(0.0, -1.0)[0] == pytest.approx(-6378137.0 * math.pi / 180.0, abs=1e-3)
    assert frame.to_enu(-1.0, 0.0)[1] == pytest.approx(-arc, abs=1e-3)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(lat0=st.floats(-80, 80), lon0=st.floats(-179, 179),
       dlat=st.floats(-3, 3), dlon=st.floats(-3, 3))
def test_local_frame_preserves_distance_and_bearing_from_origin(lat0, lon0, dlat, dlon):
    """Azimuthal equidistant: the distance and azimuth from the origin are the geodesic's."""
    lat, lon = max(-89.0, min(89.0, lat0 + dlat)), lon0 + dlon
    east, north = LocalFrame(lat0, lon0).to_enu(lat, lon)
    g = Geodesic.WGS84.Inverse(lat0, lon0, lat, lon)
    assert math.hypot(east, north) == pytest.approx(g["s12"], abs=1e-6)
    if g["s12"] > 1.0:
        bearing = math.degrees(math.atan2(east, north))
        assert (bearing - g["azi1"] + 180.0) % 360.0 - 180.0 == pytest.approx(0.0, abs=1e-9)


RADAR_CASES = [
    # h antenna (m), target alt (m), range_km at 1 m², rcs (m²), which limit binds, reference
    pytest.param(10.0, 100.0, 200.0, 1.0, "horizon", None, id="horizon-low-flyer"),
    pytest.param(5.0, 50.0, 300.0, 10.0, "horizon", (9.7, -66.3), id="horizon-offset-frame"),
    pytest.param(30.0, 5000.0, 100.0, 0.1, "rcs", None, id="rcs-small-target"),
    pytest.param(20.0, 2000.0, 50.0, 16.0, "rcs", (10.4, -65.8), id="rcs-offset-frame"),
]


@pytest.mark.parametrize("h, alt, range_km, rcs, limit, reference", RADAR_CASES)
def test_coverage_entry_is_min_of_range_law_and_horizon(h, alt, range_km, rcs, limit, reference):
    """A threat flying radially at a constant altitude toward a search radar enters coverage at
    slant range min(range_km · σ^(1/4), 4.12(√h + √a)) km, to the metre."""
    ref = f"reference: {{lat: {reference[0]}, lon: {reference[1]}}}\n" if reference else ""
    cs = compiled(f"""
name: radar-reach
duration_s: 5000
{ref}sensors:
  - id: sr
    role: search
    lat: 10.0
    lon: -66.0
    height_m: {h}
    range_km: {range_km}
    detect_rate: 0.1
threats:
  - id: inbound
    class: fixed_wing
    rcs_m2: {rcs}
    speed_mps: 250
    route:
      - {{lat: 13.5, lon: -66.0, alt_m: {alt}}}
      - {{lat: 10.0, lon: -66.0, alt_m: {alt}}}
""")
    by_rcs_km = range_km * rcs ** 0.25
    horizon_km = 4.12 * (math.sqrt(h) + math.sqrt(alt))
    expected_m = 1000.0 * min(by_rcs_km, horizon_km)
    assert (by_rcs_km < horizon_km) == (limit == "rcs"), "case does not test the intended limit"
    assert abs(by_rcs_km - horizon_km) > 5.0  # the two limits are well apart

    track = cs.structure.flights[0].track
    sx, sy, sz = cs.structure.sensors[0].xyz
    assert sz == h
    entry, exit_ = only_interval(cs.structure.coverage[0, 0])
    assert 0.0 < entry < track.duration_s  # starts outside, comes in
    assert exit_ == pytest.approx(track.duration_s)  # overhead at the end: still covered
    assert float(track.slant_range_m(entry, sx, sy, sz)) == pytest.approx(expected_m, abs=1.0)
    # and it is a crossing: one second earlier the target is out of reach by ~250 m
    assert float(track.slant_range_m(entry - 1.0, sx, sy, sz)) > expected_m + 200.0


# =================================================================================================
# 2. Detection in a window of length T with rate λ: P = 1 − e^(−λT)
# =================================================================================================


def infrared_window_yaml(acquire_rate: float) -> str:
    """A MANPADS team with no command post (engages on its own acquisition), pk = 1: it kills
    exactly when it acquires the helicopter inside its envelope."""
    return f"""
name: infrared-window
duration_s: 3000
fire_units:
  - id: manpads
    lat: 10.0
    lon: -66.0
    guidance: infrared
    acquire_rate: {acquire_rate}
    max_range_km: 5
    max_alt_m: 3000
    channels: 1
    missiles: 10
    salvo: 1
    launch_reliability: 1.0
    pk: 1.0
    engagement_time: 2
threats:
  - id: helo
    class: helicopter
    rcs_m2: 5
    speed_mps: 100
    route:
      - {{lat: 9.9, lon: -66.0, alt_m: 300}}
      - {{lat: 10.1, lon: -66.0, alt_m: 300}}
      - {{lat: 10.3, lon: -66.0, alt_m: 300}}
"""


@pytest.mark.parametrize("acquire_rate, seed", [(0.004, 2101), (0.02, 2102)])
def test_detection_in_window_infrared(acquire_rate, seed):
    cs = compiled(infrared_window_yaml(acquire_rate))
    entry, exit_ = only_interval(cs.structure.envelope[0, 0])
    T = exit_ - entry
    # straight pass overhead at 300 m through a 5 km slant-range envelope at 100 m/s
    assert T == pytest.approx(2 * math.sqrt(5000.0 ** 2 - 300.0 ** 2) / 100.0, abs=0.05)
    p = 1 - math.exp(-acquire_rate * T)
    results = run(cs, 10_000, seed=seed, engine="reference")
    killed = results.observable("threats_killed")
    assert_probability(killed, p, f"P(kill) = 1 − exp(−{acquire_rate}·{T:.2f})")
    # every kill follows an acquisition inside the envelope, i.e. an engagement started by exit
    rows = results.threat_rows
    kill_t = rows["kill_time_s"][rows["killer"] >= 0]
    assert np.all(kill_t >= entry + 2.0 - 1e-9) and np.all(kill_t <= exit_ + 2.0 + 1e-9)


def search_window_yaml(detect_rate: float, report_delay: float, decision_delay: float) -> str:
    """Central command: the SAM engages only on an order. The fire-control radar acquires at once
    (detect_rate .inf) and covers the whole envelope, pk = 1, so the threat dies exactly when the
    search radar detects it early enough for the order (detection + report + decision delay) to
    come before the threat leaves the envelope."""
    return f"""
name: search-window
duration_s: 3000
sensors:
  - id: sr
    role: search
    lat: 10.0
    lon: -66.0
    height_m: 10
    range_km: 60
    detect_rate: {detect_rate}
    command_post: cp
  - id: fcr
    role: fire_control
    lat: 10.0
    lon: -66.0
    height_m: 10
    range_km: 40
    detect_rate: .inf
command_posts:
  - id: cp
    authority: central
    report_delay_s: {report_delay}
    decision_delay: {decision_delay}
fire_units:
  - id: sam
    lat: 10.0
    lon: -66.0
    guidance: radar
    fire_control_radar: fcr
    command_post: cp
    max_range_km: 20
    max_alt_m: 10000
    channels: 1
    missiles: 10
    launch_reliability: 1.0
    pk: 1.0
    engagement_time: 2
threats:
  - id: jet
    class: fixed_wing
    rcs_m2: 1
    speed_mps: 250
    route:
      - {{lat: 9.0, lon: -66.0, alt_m: 1000}}
      - {{lat: 11.0, lon: -66.0, alt_m: 1000}}
"""


@pytest.mark.parametrize("report_delay, decision_delay, seed",
                         [(0.0, 0.0, 2201), (20.0, 30.0, 2202)])
def test_detection_in_window_search_radar(report_delay, decision_delay, seed):
    rate = 0.0025
    cs = compiled(search_window_yaml(rate, report_delay, decision_delay))
    c0, c1 = only_interval(cs.structure.coverage[0, 0])  # search radar
    f0, f1 = only_interval(cs.structure.coverage[0, 1])  # fire-control radar
    e0, e1 = only_interval(cs.structure.envelope[0, 0])
    assert c0 < e0 and e1 < c1, "search coverage must contain the envelope"
    assert f0 <= e0 and e1 <= f1, "fire-control coverage must contain the envelope"
    # the order must come by envelope exit: detection by e1 − report − decision delay
    T = e1 - report_delay - decision_delay - c0
    assert T == pytest.approx((math.sqrt(60e3 ** 2 - 990.0 ** 2) + math.sqrt(20e3 ** 2 - 1e6))
                              / 250.0 - report_delay - decision_delay, abs=0.05)
    p = 1 - math.exp(-rate * T)
    results = run(cs, 10_000, seed=seed, engine="reference")
    assert_probability(results.observable("threats_killed"), p,
                       f"P(kill) = 1 − exp(−{rate}·{T:.2f}) (delays {report_delay}+"
                       f"{decision_delay})")


# =================================================================================================
# 3. Layered independent defence: P(survive) = Π_i (1 − ρ_i · pk_i)^(n_i)
# =================================================================================================

LAYERS = [  # (latitude, salvo n, launch reliability ρ, pk)
    (10.0, 1, 0.9, 0.5),
    (10.2, 2, 0.8, 0.3),
    (10.4, 3, 0.7, 0.4),
]


def layered_yaml() -> str:
    units = "".join(f"""
  - id: layer{i}
    lat: {lat}
    lon: -66.0
    guidance: infrared
    acquire_rate: .inf
    max_range_km: 5
    max_alt_m: 3000
    channels: 1
    missiles: 20
    salvo: {n}
    launch_reliability: {rho}
    pk: {pk}
    engagement_time: 3""" for i, (lat, n, rho, pk) in enumerate(LAYERS))
    return f"""
name: layered
duration_s: 5000
fire_units:{units}
threats:
  - id: helo
    class: helicopter
    rcs_m2: 5
    speed_mps: 100
    route:
      - {{lat: 9.9, lon: -66.0, alt_m: 300}}
      - {{lat: 10.6, lon: -66.0, alt_m: 300}}
      - {{lat: 10.8, lon: -66.0, alt_m: 300}}
"""


def test_layered_independent_defence():
    cs = compiled(layered_yaml())
    envelopes = [only_interval(cs.structure.envelope[0, u]) for u in range(len(LAYERS))]
    for (_, end), (start, _) in zip(envelopes[:-1], envelopes[1:], strict=True):
        assert end + 3.0 < start, "envelopes must not overlap, nor engagements spill over"
    single = [(1 - rho * pk) ** n for _, n, rho, pk in LAYERS]  # a layer fails to kill
    survive = math.prod(single)
    runs = 20_000
    results = run(cs, runs, seed=3001, engine="reference")
    assert_probability(results.observable("threats_killed"), 1 - survive,
                       "P(killed) = 1 − Π(1 − ρ pk)^n")
    # each layer engages exactly when every earlier layer failed: P = Π_{j<i}
    reach = 1.0
    for i, (_, n, rho, _) in enumerate(LAYERS):
        engaged = results.observable(f"engagements[id=layer{i}]")
        assert_probability(engaged, reach, f"P(layer{i} engages)")
        np.testing.assert_array_equal(results.observable(f"missiles_fired[id=layer{i}]"),
                                      n * engaged)
        launches = results.observable(f"launches[id=layer{i}]")
        sample_se = launches.std(ddof=1) / math.sqrt(runs)
        assert_close(float(launches.mean()), reach * n * rho, sample_se,
                     f"mean launches of layer{i}")
        reach *= single[i]
    # first broken link of the failed passages: no missile launched → "launched", else "killed"
    no_launch = sum(math.prod(single[:i]) * (1 - rho) ** n
                    for i, (_, n, rho, _) in enumerate(LAYERS))
    missed = sum(math.prod(single[:i]) * (single[i] - (1 - rho) ** n)
                 for i, (_, n, rho, _) in enumerate(LAYERS))
    for link, exact in (("launched", no_launch), ("killed", missed)):
        values = results.observable(link)
        assert_close(float(values.mean()), exact, values.std(ddof=1) / math.sqrt(runs),
                     f"mean '{link}' first-broken-link count")
    assert results.observable("magazine").sum() == 0
    assert results.observable("channel").sum() == 0
    assert results.observable("detected").sum() == 0


# =================================================================================================
# 4. Shoot-look-shoot with k shots that fit in the envelope: P(kill) = 1 − (1 − pk)^k
# =================================================================================================


def shoot_look_shoot_yaml(tau: float, pk: float, rho: float, salvo: int, missiles: int,
                          sls: bool) -> str:
    return f"""
name: shoot-look-shoot
duration_s: 3000
fire_units:
  - id: sam
    lat: 10.0
    lon: -66.0
    guidance: infrared
    acquire_rate: .inf
    max_range_km: 5
    max_alt_m: 3000
    channels: 1
    missiles: {missiles}
    salvo: {salvo}
    launch_reliability: {rho}
    pk: {pk}
    engagement_time: {{dist: fixed, value: {tau}}}
    shoot_look_shoot: {str(sls).lower()}
threats:
  - id: helo
    class: helicopter
    rcs_m2: 5
    speed_mps: 100
    route:
      - {{lat: 9.9, lon: -66.0, alt_m: 300}}
      - {{lat: 10.1, lon: -66.0, alt_m: 300}}
      - {{lat: 10.3, lon: -66.0, alt_m: 300}}
"""


SLS_CASES = [
    # τ (s), pk, ρ, salvo, missiles, seed
    pytest.param(22.0, 0.3, 1.0, 1, 100, 4001, id="k5"),
    pytest.param(13.0, 0.15, 1.0, 1, 100, 4002, id="k8"),
    # a launch failure leaves the target alive, so it is re-engaged too: per-shot ρ·pk
    pytest.param(22.0, 0.3, 0.8, 1, 100, 4003, id="k5-unreliable"),
    pytest.param(22.0, 0.2, 1.0, 2, 100, 4004, id="k5-salvo2"),
    # fewer missiles than fitting engagements: the magazine, not the envelope, limits
    pytest.param(22.0, 0.3, 1.0, 1, 3, 4005, id="k5-3missiles"),
]


@pytest.mark.parametrize("tau, pk, rho, salvo, missiles, seed", SLS_CASES)
def test_shoot_look_shoot(tau, pk, rho, salvo, missiles, seed):
    cs = compiled(shoot_look_shoot_yaml(tau, pk, rho, salvo, missiles, sls=True))
    entry, exit_ = only_interval(cs.structure.envelope[0, 0])
    T = exit_ - entry
    # engagements start at entry, entry + τ, … while ≤ exit: k = ⌊T/τ⌋ + 1, unambiguous only if
    # T/τ is far from an integer
    frac = T / tau - math.floor(T / tau)
    assert 0.2 < frac < 0.8, f"T/τ = {T / tau:.3f} is too near an integer"
    k = math.floor(T / tau) + 1
    engagements_possible = min(k, math.ceil(missiles / salvo))
    shots = min(k * salvo, missiles)
    q = 1 - rho * pk  # one missile fails to kill
    p = 1 - q ** shots
    runs = 10_000
    results = run(cs, runs, seed=seed, engine="reference")
    assert_probability(results.observable("threats_killed"), p,
                       f"P(kill) = 1 − (1 − ρ pk)^{shots} (k = {k})")
    engagements = results.observable("engagements")
    assert engagements.max() == engagements_possible  # never more, and all of them do happen
    # engagement i+1 happens iff the first i all failed
    per_engagement = q ** salvo
    mean_engagements = sum(per_engagement ** i for i in range(engagements_possible))
    assert_close(float(engagements.mean()), mean_engagements,
                 engagements.std(ddof=1) / math.sqrt(runs), "mean engagements")
    # kills come at the end of an engagement: entry + iτ for i = 1 … k
    rows = results.threat_rows
    kill_t = rows["kill_time_s"][rows["killer"] >= 0]
    slot = (kill_t - entry) / tau
    np.testing.assert_allclose(slot, np.round(slot), atol=1e-6)
    assert set(np.round(slot).astype(int)) == set(range(1, engagements_possible + 1))


def test_without_shoot_look_shoot_one_engagement():
    cs = compiled(shoot_look_shoot_yaml(22.0, 0.3, 1.0, 1, 100, sls=False))
    results = run(cs, 10_000, seed=4101, engine="reference")
    assert np.all(results.observable("engagements") == 1)
    assert_probability(results.observable("threats_killed"), 0.3, "P(kill) = pk, one shot")


# =================================================================================================
# 5. Erlang loss: unengaged fraction of a Poisson stream = Erlang B(c, λ/μ)
# =================================================================================================


def erlang_b(c: int, load: float) -> float:
    """Erlang B by the standard recursion B(0) = 1, B(k) = a B(k−1) / (k + a B(k−1))."""
    b = 1.0
    for k in range(1, c + 1):
        b = load * b / (k + load * b)
    return b


def test_erlang_b_recursion_hand_values():
    assert erlang_b(1, 1.0) == pytest.approx(0.5)
    assert erlang_b(2, 2.0) == pytest.approx(0.4)  # (a²/2) / (1 + a + a²/2)
    assert erlang_b(3, 2.0) == pytest.approx((8 / 6) / (1 + 2 + 2 + 8 / 6))
    load = 7.3
    direct = (load ** 10 / math.factorial(10)) / sum(load ** i / math.factorial(i)
                                                    for i in range(11))
    assert erlang_b(10, load) == pytest.approx(direct, rel=1e-12)


def erlang_yaml(channels: int, rate: float, mean_service: float, end_s: float) -> str:
    """A stream crosses a 20 cm envelope at 20 km/s (the fastest a scenario may fly; 10 µs: an
    instant), then flies on slowly for ~20 minutes, so every engagement resolves while the
    threat is still flying."""
    return f"""
name: erlang-loss
duration_s: {end_s + 60}
fire_units:
  - id: sam
    lat: 10.0
    lon: -66.0
    guidance: infrared
    acquire_rate: .inf
    max_range_km: 0.0001
    max_alt_m: 5000
    channels: {channels}
    missiles: 100000
    launch_reliability: 1.0
    pk: 1.0
    engagement_time: {{dist: exponential, mean: {mean_service}}}
streams:
  - id: raid
    class: cruise_missile
    rcs_m2: 0.1
    rate_per_s: {rate}
    start_s: 0
    end_s: {end_s}
    route:
      - {{lat: 9.8, lon: -66.0, alt_m: 0, speed_mps: 2.0e+4}}
      - {{lat: 10.2, lon: -66.0, alt_m: 0, speed_mps: 2.0e+4}}
      - {{lat: 11.2, lon: -66.0, alt_m: 1000, speed_mps: 100}}
"""


ERLANG_CASES = [
    # channels c, λ (per s), mean engagement 1/μ (s), replications, seed
    pytest.param(1, 1.0, 1.0, 60, 5001, id="c1-a1"),
    pytest.param(3, 2.0, 1.0, 100, 5002, id="c3-a2"),
    pytest.param(5, 2.0, 2.0, 60, 5003, id="c5-a4", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("channels, rate, mean_service, runs, seed", ERLANG_CASES)
def test_erlang_loss(channels, rate, mean_service, runs, seed):
    end_s, warmup_s = 320.0, 20.0 * mean_service
    cs = compiled(erlang_yaml(channels, rate, mean_service, end_s))
    entry, exit_ = only_interval(cs.structure.envelope[0, 0])
    crossing = exit_ - entry
    assert crossing < 1e-4
    exact = erlang_b(channels, rate * mean_service)
    results = run(cs, runs, seed=seed, engine="reference")
    assert np.all(results.observable("launch_failures") == 0)
    rows = results.threat_rows
    # The system starts empty; arrivals in the first 20 mean service times (transient below
    # e^-20 of its size) are dropped, the standard warm-up deletion.
    keep = rows["start_s"] >= warmup_s
    rep = rows["row"][keep]
    arrivals = np.bincount(rep, minlength=runs).astype(float)
    unengaged = np.bincount(rep, weights=(rows["killer"][keep] < 0), minlength=runs)
    assert arrivals.min() > 0
    # pooled fraction, with the ratio-estimator SE over independent replications (arrivals in one
    # replication are correlated through the queue; replications are independent)
    fraction = unengaged.sum() / arrivals.sum()
    residual = unengaged - fraction * arrivals
    se = math.sqrt((residual ** 2).sum() / (runs - 1) / runs) / arrivals.mean()
    # a blocked arrival still waits `crossing` seconds for a channel: bias ≤ B·cμ·crossing, which
    # must be negligible next to the SE
    assert exact * channels / mean_service * crossing < 0.01 * se
    assert_close(fraction, exact, se, f"unengaged fraction vs Erlang B({channels}, "
                 f"{rate * mean_service:g})")


# =================================================================================================
# Reproducibility: one seed fixes a whole run
# =================================================================================================


def repro_yaml() -> str:
    """Exercises most random draws: readiness, orders, a stream, search detection, delays,
    fire-control acquisition, salvoes, launch and kill draws, exponential engagement times."""
    return """
name: reproducibility
duration_s: 900
readiness: {available: 0.9, emitting: 0.9, connected: 0.9, trained: 0.8}
sensors:
  - {id: sr, role: search, lat: 10.0, lon: -66.0, range_km: 80, detect_rate: 0.05,
     command_post: cp}
  - {id: fcr, role: fire_control, lat: 10.05, lon: -66.0, range_km: 50, detect_rate: 0.2}
command_posts:
  - {id: cp, authority: delegated, orders_prob: 0.8, report_delay_s: 3,
     decision_delay: {dist: exponential, mean: 10}}
fire_units:
  - {id: sam, lat: 10.05, lon: -66.0, guidance: radar, fire_control_radar: fcr,
     command_post: cp, max_range_km: 30, max_alt_m: 15000, channels: 2, missiles: 12,
     salvo: 2, launch_reliability: 0.9, pk: 0.6,
     engagement_time: {dist: exponential, mean: 20}, shoot_look_shoot: true}
  - {id: manpads, lat: 10.1, lon: -66.0, guidance: infrared, acquire_rate: 0.05,
     max_range_km: 5, max_alt_m: 3500, missiles: 4, pk: 0.4}
threats:
  - {id: strikers, class: fixed_wing, count: 2, rcs_m2: 3, speed_mps: 250,
     route: [{lat: 9.3, lon: -66.0, alt_m: 3000}, {lat: 10.8, lon: -66.0, alt_m: 3000}]}
streams:
  - {id: drones, class: drone, rcs_m2: 0.05, rate_per_s: 0.02, start_s: 0, end_s: 300,
     speed_mps: 50,
     route: [{lat: 9.9, lon: -66.0, alt_m: 500}, {lat: 10.2, lon: -66.0, alt_m: 500}]}
"""


def digest(results: Results) -> str:
    """A hash of everything a run records, replication by replication."""
    h = hashlib.sha256()
    for arr in (results.replication, results.threats, results.killed, results.unit_counts,
                results.links, results.destroyed,
                *(results.threat_rows[k] for k in sorted(results.threat_rows)),
                *(results.passage_rows[k] for k in sorted(results.passage_rows))):
        a = np.ascontiguousarray(arr)
        h.update(str((a.dtype.str, a.shape)).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def test_same_seed_same_results():
    cs = compiled(repro_yaml())
    a = run(cs, 200, seed=6001, engine="reference")
    b = run(cs, 200, seed=6001, engine="reference")
    for name in ("threats", "threats_killed", "engagements", "launches", "misses",
                 "launch_failures", "magazine", "channel", "detected", "ordered",
                 "fire_control"):
        np.testing.assert_array_equal(a.observable(name), b.observable(name))
    assert digest(a) == digest(b)
    # the scenario is random enough for the check to mean something
    assert len(np.unique(a.observable("threats_killed"))) > 2
    assert digest(run(cs, 200, seed=6002, engine="reference")) != digest(a)


def test_results_do_not_depend_on_how_replications_are_split():
    cs = compiled(repro_yaml())
    whole = run(cs, 120, seed=6003, engine="reference")
    parts = Results.concat([run(cs, 50, seed=6003, first=0, engine="reference"),
                            run(cs, 70, seed=6003, first=50, engine="reference")])
    assert digest(parts) == digest(whole)


def test_same_seed_same_results_in_a_fresh_process(tmp_path):
    cs = compiled(repro_yaml())
    here = digest(run(cs, 100, seed=6004, engine="reference"))
    scenario = tmp_path / "repro.yaml"
    scenario.write_text(repro_yaml(), encoding="utf-8")
    code = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "from pathlib import Path\n"
        "from test_validation import digest, compiled\n"
        "from iadsim.engine import run\n"
        "cs = compiled(Path(sys.argv[2]).read_text(encoding='utf-8'))\n"
        "print(digest(run(cs, 100, seed=6004, engine='reference')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent), str(scenario)],
                         capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == here
