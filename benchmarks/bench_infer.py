"""Benchmark: `infer` on caracas-2026 with its shipped evidence and hypotheses, to a posterior
standard error of 0.01, against a plain run of as many replications at one point.

    python benchmarks/bench_infer.py              # --target-se 0.01 (the issue's measure)
    python benchmarks/bench_infer.py --quick      # --target-se 0.02

Reports the time to reach the target (every hypothesis's posterior SE below it), the
replications it took, and the ratio of that time to a plain run of hypotheses × replications at
the `reported` profile: what drawing priors per replication (each row its own parameter point),
evaluating the predicates and the likelihood algebra add beyond the runs. Both run in this
process on one core, after a warm-up that loads the compiled loops; the best of two.
"""

from __future__ import annotations

import argparse
import time

import iadsim


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="target SE 0.02")
    args = parser.parse_args()
    target = 0.02 if args.quick else 0.01
    model = iadsim.load("caracas-2026")
    reported = model.at("reported")
    iadsim.run(reported, 64, seed=1)  # warm-up
    iadsim.infer(model, runs=20, seed=1)
    times = []
    for _ in range(2):
        start = time.perf_counter()
        result = iadsim.infer(model, runs=500, target_se=target, seed=1)
        analysis = time.perf_counter() - start
        rows = len(result.names) * result.runs
        start = time.perf_counter()
        iadsim.engine.run(reported, rows, seed=1, rows=False)
        plain = time.perf_counter() - start
        times.append((analysis, plain))
    analysis, plain = min(t[0] for t in times), min(t[1] for t in times)
    print(f"infer caracas-2026 (shipped files): {len(result.names)} hypotheses × "
          f"{result.runs} replications = {rows} rows to a posterior SE < {target:g} "
          f"(largest {result.largest_se:.4f})")
    print(f"   infer:       {analysis:7.2f} s   {rows / analysis:9.0f} rows/s")
    print(f"   plain run:   {plain:7.2f} s   {rows / plain:9.0f} replications/s (one point)")
    print(f"   infer/plain time: {analysis / plain:.2f}×")


if __name__ == "__main__":
    main()
