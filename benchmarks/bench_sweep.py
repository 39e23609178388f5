"""Benchmark: sweeps and the results store, measured in one run on this machine.

    python benchmarks/bench_sweep.py           # about three minutes
    python benchmarks/bench_sweep.py --quick   # smaller runs

It prints:

1. speed-up from 1 to 2 workers, with the local pool and with a Dask LocalCluster of 2 worker
   processes (the cluster's start-up is reported apart), on a caracas-2026 sweep;
2. write throughput: replication rows (and rows of all four tables) committed per second of
   the sweep, and the parent's time to write one task down;
3. per-task overhead: the same replications in many small tasks against a few large ones;
4. query time on a store of at least 10^6 replication rows (in process and through the
   `iadsim query` command, start-up included).

Times are wall-clock, best of a few repeats where stated; the machine's load is printed.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).parent))

from bench_params import best_of  # noqa: E402

from iadsim.api import load_sweep, query, sweep  # noqa: E402
from iadsim.store import TABLES  # noqa: E402
from iadsim.sweeps.store import SweepStore  # noqa: E402

IADSIM = [str(Path(sys.executable).parent / "iadsim")]
CARACAS = {"name": "bench", "scenario": "caracas-2026", "profile": "reported",
           "parameters": {"groups.s300.readiness.connected": [0.0, 0.5, 1.0],
                          "command_posts.cp-air-defence.authority": ["central", "autonomous"]},
           "seed": 1}


def sweep_file(folder: Path, **fields: Any) -> Path:
    path = folder / f"sweep-{len(list(folder.glob('sweep-*.yaml')))}.yaml"
    path.write_text(yaml.safe_dump({**CARACAS, **fields}))
    return path


def timed_sweep(path: Path, store: Path, **options: Any) -> float:
    """Wall time of a sweep into a fresh store."""
    shutil.rmtree(store, ignore_errors=True)
    spec = load_sweep(path)
    start = time.perf_counter()
    sweep(spec, store, **options)
    return time.perf_counter() - start


def speedup(folder: Path, replications: int) -> None:
    path = sweep_file(folder, replications=replications, task_replications=replications // 4)
    store = folder / "speed"
    timed_sweep(path, store)  # compiled loops loaded, caches warm
    one = best_of(lambda: timed_sweep(path, store), 2)
    two = best_of(lambda: timed_sweep(path, store, workers=2), 2)
    from distributed import LocalCluster

    start = time.perf_counter()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=40,
                      local_directory=str(folder)) as cluster:
        started = time.perf_counter() - start
        timed_sweep(path, store, scheduler=cluster.scheduler_address)  # workers load loops
        dask = best_of(lambda: timed_sweep(path, store, scheduler=cluster.scheduler_address),
                       2)
    reps = 6 * replications
    print(f"1. {reps:,} replications (6 points, 24 tasks): 1 process {one:.2f} s; local pool "
          f"of 2 {two:.2f} s: x{one / two:.2f}; Dask LocalCluster of 2 {dask:.2f} s: "
          f"x{one / dask:.2f} (the cluster started in {started:.2f} s, not counted)")
    print(f"2. write throughput (local pool of 2): {reps / two:,.0f} replication rows/s, "
          f"{_rows(store) / two:,.0f} rows/s of all four tables; "
          f"{_bytes(store) / two / 2**20:.1f} MB/s of Parquet")


def _rows(store: Path) -> int:
    return sum(query(store, f"SELECT count(*) AS n FROM {t}").to_pylist()[0]["n"]
               for t in TABLES)


def _bytes(store: Path) -> int:
    return sum(p.stat().st_size for p in store.rglob("*.parquet"))


def commit_cost(folder: Path) -> None:
    """The parent's share of a task: writing its files and its record."""
    from iadsim.sweeps.run import Job, run_task, tasks_of

    path = sweep_file(folder, replications=4000, task_replications=1000)
    spec = load_sweep(path)
    from iadsim.analysis.summary import summary_observables
    from iadsim.engine.results import run_info

    names = summary_observables(run_info(spec.model.structure, spec.model.table(0), 1,
                                         "vectorized"))
    job = Job(spec.model, spec.thetas, spec.seed, spec.engine, names, spec.name)
    outputs = [run_task(job, *t) for t in tasks_of(spec.points, 4000, 1000)]
    store = SweepStore(folder / "commit", spec.name, spec.definition, spec.digest, 1000)
    try:
        start = time.perf_counter()
        for out in outputs:
            store.commit(out)
        per = (time.perf_counter() - start) / len(outputs)
    finally:
        store.close()
    size = sum(len(b) for b in outputs[0].files.values())
    print(f"   the parent writes a task of 1,000 replications ({size / 2**20:.2f} MB of "
          f"Parquet) in {1e3 * per:.1f} ms")


def overhead(folder: Path, replications: int) -> None:
    big = sweep_file(folder, replications=replications, task_replications=replications)
    small = sweep_file(folder, replications=replications, task_replications=replications // 20)
    store = folder / "overhead"
    t_big = best_of(lambda: timed_sweep(big, store), 3)
    t_small = best_of(lambda: timed_sweep(small, store), 3)
    extra = (t_small - t_big) / (6 * 20 - 6)
    print(f"3. per-task overhead: 6 tasks {t_big:.2f} s, 120 tasks {t_small:.2f} s: "
          f"{1e3 * extra:.1f} ms per task (in process)")


def query_time(folder: Path, replications: int) -> None:
    (folder / "scenario").mkdir()
    sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
    from conftest import dump, minimal_scenario

    (folder / "scenario" / "minimal.yaml").write_text(dump(minimal_scenario()))
    path = folder / "scenario" / "big.yaml"
    path.write_text(yaml.safe_dump({
        "name": "big", "scenario": "minimal.yaml",
        "parameters": {"fire_units.sam1.pk.fixed_wing": [0.2, 0.4, 0.6, 0.8, 1.0]},
        "replications": replications // 5, "seed": 1, "task_replications": 50_000}))
    store = folder / "big"
    wrote = timed_sweep(path, store, workers=2)
    n = query(store, "SELECT count(*) AS n FROM replications").to_pylist()[0]["n"]
    sql = {
        "count": "SELECT count(*) FROM replications",
        "mean per point": "SELECT point, avg(leakers), stddev(leakers) FROM replications "
                          "GROUP BY point",
        "join with the design": "SELECT p.\"fire_units.sam1.pk.fixed_wing\" AS pk, "
                                "avg(r.threats_killed) FROM replications r JOIN points p "
                                "USING (sweep, point) GROUP BY pk",
        "per-unit links": "SELECT unit, sum(detected), sum(launched) FROM units GROUP BY unit",
    }
    print(f"4. a store of {n:,} replication rows ({_bytes(store) / 2**20:.0f} MB, written in "
          f"{wrote:.1f} s by a local pool of 2):")
    for what, text in sql.items():
        t = best_of(lambda text=text: query(store, text), 3)
        print(f"   {what}: {1e3 * t:.0f} ms")
    t = best_of(lambda: subprocess.run([*IADSIM, "query", str(store), sql["mean per point"]],
                                       check=True, capture_output=True), 3)
    print(f"   `iadsim query` (mean per point), the whole command: {t:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs")
    args = parser.parse_args()
    q = 4 if args.quick else 1
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.2f}; Python {platform.python_version()}")
    folder = Path(tempfile.mkdtemp(prefix="iadsim-bench-sweep-"))
    try:
        speedup(folder, 40_000 // q)
        commit_cost(folder)
        overhead(folder, 12_000 // q)
        query_time(folder, 1_000_000 if not args.quick else 1_000_000 // 4)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
