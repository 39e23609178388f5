"""Benchmark: the HTML report and the what-if page on caracas-2026, measured in one run.

    python benchmarks/bench_report.py

Prints the report's size (limit 8 MB) and build time, without and with the Shapley explanation
(`--from full --to reported`), and the time the what-if page takes to answer a change of
control (best of 3, wall clock).
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_params import best_of  # noqa: E402

from iadsim.api import load, report, what_if  # noqa: E402

LIMIT = 8 << 20


def main() -> None:
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.2f}; Python {platform.python_version()}")
    model = load("caracas-2026", "reported")
    with tempfile.TemporaryDirectory(prefix="iadsim-bench-report-") as name:
        folder = Path(name)
        report(model, folder / "warm.html", runs=100)  # imports, compiled loops
        for label, options in (("reported, 2,000 runs", {}),
                               ("with the explanation from full", {"explain_from": "full"})):
            path = folder / "report.html"
            start = time.perf_counter()
            report(model, path, runs=2000, seed=1, **options)
            took = time.perf_counter() - start
            size = path.stat().st_size
            print(f"report ({label}): {size / 2**20:.2f} MB (limit 8 MB: "
                  f"{'met' if size < LIMIT else 'NOT met'}), built in {took:.2f} s")
    w = what_if(load("caracas-2026"), runs=2000)
    w.evaluate(w.choice({}))
    for request in ({"fixed": ["orders"]}, {"fixed": list(w.groups)},
                    {"authority": "autonomous", "electronic_attack": True}):
        t = best_of(lambda request=request: w.evaluate(w.choice(request)), 3)
        print(f"what-if {request}: {1e3 * t:.0f} ms for 2,000 replications")


if __name__ == "__main__":
    main()
