"""Benchmark: the route geometry of `compile_structure` (coverage and envelope intervals), the
former per-pair sampling and bisection against the vectorized closed forms.

    python benchmarks/bench_geometry.py            # 1,000 threats × 100 units × 40 sensors
    python benchmarks/bench_geometry.py --quick    # 200 threats

Both run in this process on the same tracks and points (the large synthetic scenario of
bench_engines.py, one aircraft per flight, each flight on its own route), timed in CPU seconds
(time.process_time). The former implementation is the test oracle, tests/geometry_oracle.py.
The target is a ratio of at least 20.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from bench_engines import large_scenario  # noqa: E402
from geometry_oracle import coverage_intervals, envelope_intervals  # noqa: E402

from iadsim.compile import compile_structure  # noqa: E402
from iadsim.geometry import IntervalTable, coverage_table, envelope_table  # noqa: E402
from iadsim.scenario.load import parse_scenario  # noqa: E402

TARGET = 20.0


def measure(threats: int = 1000, units: int = 100, sensors: int = 40) -> dict[str, Any]:
    """CPU seconds of the old and the new geometry over all (flight, sensor) and (flight, unit)
    pairs of the large scenario with one aircraft per flight, their ratio, and how far apart
    their answers are (interval counts must agree; ends within a few ulps)."""
    text = yaml.safe_dump(large_scenario(threats, units, sensors, flight_size=1),
                          sort_keys=False)
    scenario = parse_scenario(text, "large.yaml")
    cs = compile_structure(scenario)
    tracks = [fl.track for fl in cs.flights]
    rcs = [fl.rcs_m2 for fl in cs.flights]
    radars = [(se.xyz, spec.range_km) for se, spec in zip(cs.sensors, scenario.sensors,
                                                           strict=True)]
    fire_units = [(un.xyz, (spec.min_range_km, spec.max_range_km, spec.min_alt_m, spec.max_alt_m))
                  for un, spec in zip(cs.units, scenario.fire_units, strict=True)]

    start = time.process_time()
    old_coverage = {(f, s): tuple(coverage_intervals(tr, rcs[f], *xyz, range_km))
                    for f, tr in enumerate(tracks) for s, (xyz, range_km) in enumerate(radars)}
    old_envelope = {(f, u): tuple(envelope_intervals(tr, *xyz, *bounds))
                    for f, tr in enumerate(tracks) for u, (xyz, bounds) in enumerate(fire_units)}
    old_s = time.process_time() - start

    new_s = float("inf")
    for _ in range(3):  # best of three: the new call is short enough for a pause to matter
        start = time.process_time()
        new_coverage = coverage_table(tracks, rcs, np.array([xyz for xyz, _ in radars]),
                                      [range_km for _, range_km in radars])
        new_envelope = envelope_table(tracks, np.array([xyz for xyz, _ in fire_units]),
                                      *np.array([bounds for _, bounds in fire_units]).T)
        new_s = min(new_s, time.process_time() - start)

    same, max_diff = _agreement(old_coverage, new_coverage)
    same_env, max_diff_env = _agreement(old_envelope, new_envelope)
    return {"threats": len(tracks), "units": len(fire_units), "sensors": len(radars),
            "pairs": len(old_coverage) + len(old_envelope), "old_s": old_s, "new_s": new_s,
            "ratio": old_s / new_s, "target": TARGET, "met": old_s / new_s >= TARGET,
            "same_counts": same and same_env, "max_diff_s": max(max_diff, max_diff_env)}


def _agreement(old: IntervalTable, new: IntervalTable) -> tuple[bool, float]:
    """Whether every pair has as many intervals in both, and the largest difference of ends."""
    same = list(old) == list(new) and all(len(old[k]) == len(new[k]) for k in old)
    diffs = [abs(a - b) for k in old if len(old[k]) == len(new.get(k, ()))
             for i, j in zip(old[k], new[k], strict=True) for a, b in zip(i, j, strict=True)]
    return same, max(diffs, default=0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 threats instead of 1,000")
    args = parser.parse_args()
    r = measure(200 if args.quick else 1000, 100, 40)
    print(f"geometry of {r['threats']} threats × {r['units']} units × {r['sensors']} sensors "
          f"({r['pairs']} pairs), CPU seconds")
    print(f"  old (sampling + bisection per pair)  {r['old_s']:9.3f} s")
    print(f"  new (vectorized closed forms)        {r['new_s']:9.3f} s")
    print(f"  ratio                                {r['ratio']:9.1f}x")
    print(f"  same interval counts: {'yes' if r['same_counts'] else 'NO'}, "
          f"largest difference of an end: {r['max_diff_s']:.2g} s")
    print(f"target ≥{TARGET:.0f}×: {'met' if r['met'] else 'not met'}")


if __name__ == "__main__":
    main()
