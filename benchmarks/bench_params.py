"""Benchmark: the model as a function of its parameters, on `caracas-2026`.

    python benchmarks/bench_params.py            # about a minute
    python benchmarks/bench_params.py --quick    # fewer replications

Reports, in one process on one core:
1. the time to apply a parameter point to the compiled scenario (a profile and a value), and
   the time to compile the scenario, for scale;
2. replications per second of a parameter table of 1,000 points against the same number of
   runs at one point (the issue's bound: the table costs at most ~1.2× as much);
3. what common random numbers buy: the variance of a paired difference of two points run on
   the same replications, against the same difference from independent seeds.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

import iadsim
from iadsim.engine.vectorized import Plan


def best_of(f, repeat: int = 3, clock=time.perf_counter) -> float:
    """The smallest time of `repeat` calls (wall time, or the given clock), so that a pause of
    the machine does not count."""
    best = math.inf
    for _ in range(repeat):
        start = clock()
        f()
        best = min(best, clock() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer replications")
    args = parser.parse_args()
    q = 4 if args.quick else 1

    start = time.perf_counter()
    model = iadsim.load("caracas-2026")
    compile_s = time.perf_counter() - start
    path = "command_posts.cp-air-defence.orders_prob"
    model.at("reported")  # a profile is resolved once, then kept
    n = 2000
    apply_s = best_of(lambda: [model.at("reported", {path: 0.3}) for _ in range(n)]) / n
    print("1. applying a parameter point (caracas-2026)")
    print(f"   compile the scenario (geometry, once):    {1e3 * compile_s:9.1f} ms")
    print(f"   apply a profile and one value:            {1e3 * apply_s:9.3f} ms")

    reported = model.at("reported")
    plan = Plan(model.structure)
    points, per_point = 1000, 16 // q
    rng = np.random.default_rng(0)
    table = iadsim.table(reported, {
        "replication": np.tile(np.arange(per_point), points),
        "groups.sam_units.readiness.available": np.repeat(rng.uniform(0, 1, points), per_point),
        path: np.repeat(rng.uniform(0, 1, points), per_point)})
    runs = len(table)
    iadsim.run(reported, 64, seed=1)  # warm-up (compiled loops loaded)
    one = best_of(lambda: iadsim.engine.run(reported, runs, seed=1, plan=plan, rows=False))
    many = best_of(lambda: iadsim.engine.run(reported, seed=1, table=table, plan=plan,
                                             rows=False))
    print(f"\n2. a table of {points} points × {per_point} replications against {runs} runs "
          "at one point")
    print(f"   one point:   {runs / one:9.0f} replications/s")
    print(f"   the table:   {runs / many:9.0f} replications/s   table/one-point time: "
          f"{many / one:.2f}× (bound ~1.2×) {'met' if many / one <= 1.2 else 'NOT met'}")

    print("\n3. common random numbers: variance of a paired difference, same seed against "
          "independent seeds")
    print(f"   {'difference':66s} {'observable':10s} {'CRN':>8s} {'indep.':>8s} {'ratio':>6s}")
    R = 4000 // q
    full = model.at("full")
    cases = [("reported − full", full, reported)]
    for p, v in (("groups.sam_units.pk.helicopter", 0.6),
                 ("command_posts.cp-air-defence.decision_delay.mean", 120.0),
                 ("groups.manpads.readiness.trained", 0.3),
                 ("fire_units.s300-1.readiness.available", 0.8)):
        cases.append((f"full with {p} = {v}", full, model.at("full", {p: v})))
    for name, a_model, b_model in cases:
        for obs in ("leakers", "launches"):
            a = iadsim.run(a_model, R, seed=1).observable(obs)
            b = iadsim.run(b_model, R, seed=1).observable(obs)
            c = iadsim.run(b_model, R, seed=2).observable(obs)
            crn, ind = np.var(b - a, ddof=1), np.var(c - a, ddof=1)
            print(f"   {name:66s} {obs:10s} {crn:8.3f} {ind:8.3f} {ind / crn:5.1f}×")


if __name__ == "__main__":
    main()
