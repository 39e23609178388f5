"""Benchmark: `explain` on caracas-2026 against a plain run of the same number of replications.

    python benchmarks/bench_explain.py            # 7 groups (128 coalitions) × 2,000 replications
    python benchmarks/bench_explain.py --quick    # × 500

Seven groups differ between `full` and `reported` here: the scenario's explanations, with
`equipment` split into the SAM batteries' and the MANPADS teams'. The analysis runs 128
coalitions on the same replications; the plain run does 128 × R replications at one point. The
ratio of the two times is what the analysis adds beyond the runs (issue target ≤ 1.3×). Both
run in this process on one core, after a warm-up that loads the compiled loops.
"""

from __future__ import annotations

import argparse
import time

import iadsim


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer replications")
    args = parser.parse_args()
    runs = 500 if args.quick else 2000
    model = iadsim.load("caracas-2026")
    groups = dict(model.scenario.explanations)
    groups["equipment"] = ["groups.sam_units.readiness.available", "groups.radars.readiness."
                           "available", "groups.s300.readiness.deployed",
                           "groups.buk.readiness.deployed"]
    groups["manpads equipment"] = ["groups.manpads.readiness.available"]
    reported = model.at("reported")
    iadsim.run(reported, 64, seed=1)  # warm-up
    times = []
    for _ in range(2):
        start = time.perf_counter()
        e = iadsim.explain(model, "full", "reported", groups=groups, runs=runs, seed=1)
        analysis = time.perf_counter() - start
        start = time.perf_counter()
        iadsim.engine.run(reported, 128 * runs, seed=1, rows=False)
        plain = time.perf_counter() - start
        times.append((analysis, plain))
    analysis, plain = min(t[0] for t in times), min(t[1] for t in times)
    n = 128 * runs
    print(f"explain caracas-2026 full → reported: {len(e.groups)} groups, "
          f"{1 << len(e.groups)} coalitions × {runs} replications = {n} replications")
    print(f"   explain:     {analysis:7.2f} s   {n / analysis:9.0f} replications/s")
    print(f"   plain run:   {plain:7.2f} s   {n / plain:9.0f} replications/s (one point)")
    ratio = analysis / plain
    print(f"   explain/plain time: {ratio:.2f}× (target ≤ 1.3×) "
          f"{'met' if ratio <= 1.3 else 'NOT met'}")


if __name__ == "__main__":
    main()
