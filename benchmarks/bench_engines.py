"""Benchmark: replications per second of both engines, in one process, and their ratio.

    python benchmarks/bench_engines.py            # the full benchmark (a few minutes)
    python benchmarks/bench_engines.py --quick    # a smaller one

Runs the reference (SimPy) and vectorized (NumPy + Numba) engines on `caracas-2026` and on a large
synthetic scenario (200 threats, 40 fire units, 20 sensors), then shows how the vectorized
engine's time grows with replications and with threats × units. Everything runs on one core
in this process, so the ratios are comparable across machines even when the absolute speeds
are not. The first run after installing also compiles the vectorized engine's loops (cached).
"""

from __future__ import annotations

import argparse
import math
import time

import yaml

from iadsim.engine import run
from iadsim.model import Model, compile_scenario
from iadsim.scenario import load_scenario
from iadsim.scenario.load import parse_scenario


def large_scenario(threats: int = 200, units: int = 40, sensors: int = 20,
                   flight_size: int = 10) -> dict:
    """A layered defence on a ring around a city, and a raid from the north in flights of
    `flight_size` aircraft, each flight on its own route.

    A quarter of the units are radar-guided batteries, each with a fire-control radar; the rest
    are infrared teams. The other sensors are search radars reporting to one of two command
    posts (central and delegated). Routes enter and leave within ±0.3° of the city's longitude.
    Up to 40 flights they pass the city 0.02° apart and start a minute apart, as they always
    have; with more flights (0.02° apart they would pass up to ±10° away at 1,000) the passes
    are spread evenly over ±0.3° and the starts over 40 minutes.
    """
    radar_units = units // 4
    search = sensors - radar_units
    lat0, lon0 = 10.0, -66.0

    def ring(i: int, n: int, radius_deg: float) -> tuple[float, float]:
        a = 2 * math.pi * i / n
        return lat0 + radius_deg * math.cos(a), lon0 + radius_deg * math.sin(a)

    out: dict = {
        "name": "large", "duration_s": 5400, "reference": {"lat": lat0, "lon": lon0},
        "command_posts": [
            {"id": "cp-central", "authority": "central", "orders_prob": 0.9,
             "report_delay_s": 10, "decision_delay": {"dist": "exponential", "mean": 30}},
            {"id": "cp-delegated", "authority": "delegated"}],
        "sensors": [], "fire_units": [], "threats": [],
    }
    for i in range(search):
        lat, lon = ring(i, search, 0.3)
        out["sensors"].append({"id": f"sr{i}", "type": "search-radar", "lat": lat, "lon": lon,
                               "command_post": "cp-central"})
    for i in range(radar_units):
        lat, lon = ring(i, radar_units, 0.15)
        out["sensors"].append({"id": f"fcr{i}", "type": "buk-fire-control-radar", "lat": lat,
                               "lon": lon})
        out["fire_units"].append({"id": f"sam{i}", "type": "buk-m2-class", "lat": lat, "lon": lon,
                                  "command_post": "cp-central", "fire_control_radar": f"fcr{i}"})
    for i in range(units - radar_units):
        lat, lon = ring(i, units - radar_units, 0.05)
        out["fire_units"].append({"id": f"ir{i}", "type": "igla-class", "lat": lat, "lon": lon,
                                  "command_post": "cp-delegated"})
    flights = max(1, threats // flight_size)
    pass_step, start_step = (0.02, 60.0) if flights <= 40 else (0.6 / flights, 2400.0 / flights)
    for f in range(flights):
        lon = lon0 - 0.3 + 0.6 * f / max(1, flights - 1)
        out["threats"].append({
            "id": f"raid{f}", "type": "helicopter" if f % 2 else "fixed-wing",
            "count": threats // flights, "start_s": start_step * f,
            "route": [{"lat": lat0 + 1.0, "lon": lon, "alt_m": 300},
                      {"lat": lat0, "lon": lon0 + pass_step * (f - flights / 2), "alt_m": 300},
                      {"lat": lat0 - 1.0, "lon": lon, "alt_m": 300}]})
    return out


def compiled_large(threats: int = 200, units: int = 40, sensors: int = 20) -> Model:
    text = yaml.safe_dump(large_scenario(threats, units, sensors), sort_keys=False)
    return compile_scenario(parse_scenario(text, "large.yaml"))


def run_reference(cs: Model, runs: int, seed: int) -> object:
    return run(cs, runs, seed=seed, engine="reference")


def run_vectorized(cs: Model, runs: int, seed: int) -> object:
    return run(cs, runs, seed=seed, engine="vectorized")


def rate(engine, cs: Model, runs: int, seed: int = 1, repeat: int = 3) -> float:
    """Replications per second of the best of `repeat` timed runs (after a small warm-up), so
    that a pause of the machine does not count against either engine."""
    engine(cs, min(runs, 20), seed=seed + 1)
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        engine(cs, runs, seed=seed)
        best = min(best, time.perf_counter() - start)
    return runs / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer replications")
    args = parser.parse_args()
    q = 4 if args.quick else 1

    print("engine comparison (replications per second, one core)")
    print(f"{'scenario':28s} {'reference':>10s} {'vectorized':>11s} {'ratio':>7s}")
    cases = [("caracas-2026 · full", compile_scenario(load_scenario("caracas-2026"), "full"),
              400 // q, 16384 // q),
             ("caracas-2026 · reported",
              compile_scenario(load_scenario("caracas-2026"), "reported"), 400 // q, 16384 // q),
             ("large (200 × 40 × 20)", compiled_large(), 12 // q + 2, 2048 // q)]
    for name, cs, n_ref, n_vec in cases:
        ref = rate(run_reference, cs, n_ref)
        vec = rate(run_vectorized, cs, n_vec)
        print(f"{name:28s} {ref:10.1f} {vec:11.1f} {vec / ref:6.1f}x", flush=True)

    print("\nvectorized engine: time against replications (caracas-2026 · full)")
    cs = cases[0][1]
    for runs in (1024, 4096, 16384, 65536 // q):
        start = time.perf_counter()
        run_vectorized(cs, runs, seed=2)
        dt = time.perf_counter() - start
        print(f"  {runs:7d} replications  {dt:7.2f} s  {runs / dt:9.0f} /s", flush=True)

    print("\nvectorized engine: time per replication against threats × units")
    for threats, units, sensors in ((50, 10, 5), (100, 20, 10), (200, 40, 20), (400, 80, 40)):
        cs = compiled_large(threats, units, sensors)
        runs = max(64, 2048 // q * 200 // threats // 2)
        start = time.perf_counter()
        run_vectorized(cs, runs, seed=3)
        dt = time.perf_counter() - start
        print(f"  {threats:4d} threats × {units:3d} units  {1e3 * dt / runs:8.3f} ms/replication",
              flush=True)


if __name__ == "__main__":
    main()
