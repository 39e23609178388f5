"""Running a sweep: its work cut into tasks (a point × a block of replications), each
reproducible on its own, sent to a local process pool or a Dask cluster, and committed to a
store as they finish. Every point runs the same replication indices, so points differ by their
parameters only (common random numbers); a task's rows do not depend on where it ran."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from iadsim import interrupt
from iadsim.analysis.summary import Accumulator, summary_observables
from iadsim.engine import block_size
from iadsim.engine import run as run_engine
from iadsim.engine.results import run_info
from iadsim.model import Model
from iadsim.params import Point
from iadsim.store import TABLES, ResultsError, parquet_bytes
from iadsim.sweeps.spec import Sweep
from iadsim.sweeps.store import SweepStore, TaskOutput
from iadsim.tables import ParamTable
from iadsim.workers import quiet_worker, tune_allocator
from iadsim.workers import stop as stop_pool

__all__ = ["Progress", "SweepError", "SweepInterrupted", "SweepReport", "run_sweep"]

CONNECT_SECONDS = 5  # an unreachable scheduler is reported after this long


class SweepError(Exception):
    """A sweep cannot start or go on; one line for the user."""


@dataclass(frozen=True)
class Progress:
    """Where a sweep stands: tasks and points done of all, replications done in this call."""

    tasks_done: int
    tasks: int
    points_done: int
    points: int
    replications: int  # committed by this call
    replications_left: int  # still to run when this call started, less those committed


@dataclass(frozen=True)
class SweepReport:
    """What a call to run_sweep did."""

    name: str
    store: str
    points: int
    replications: int  # per point
    tasks: int
    tasks_run: int  # by this call (the others were already committed)
    seconds: float
    executor: str
    task_replications: int  # replications per task: the size the store's sweep began with

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class SweepInterrupted(Exception):
    """Stopped by the user; what was committed stays, and a rerun completes the sweep."""

    def __init__(self, report: SweepReport):
        self.report = report
        super().__init__("interrupted")


@dataclass
class Job:
    """What every task of one sweep needs, sent once to each worker: the model, the points,
    the seed. The fast engine's Plan is built where the job lands, once."""

    model: Model
    thetas: np.ndarray
    seed: int
    engine: str
    names: tuple[str, ...]
    sweep: str
    _plan: Any = field(default=None, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_plan": None}

    def plan(self) -> Any:
        """The fast engine's Plan, built on first use where the job is (a worker)."""
        if self.engine == "vectorized" and self._plan is None:
            tune_allocator()
            from iadsim.engine.vectorized import Plan

            self._plan = Plan(self.model.structure)
        return self._plan

    def table(self, point: int, first: int, runs: int) -> ParamTable:
        """The rows of a task: replications first … first + runs − 1 at one point."""
        return ParamTable.repeat(self.model.space,
                                 Point(f"{self.model.profile}+sweep", self.thetas[point], ()),
                                 runs, first)


_JOB: dict[str, Job] = {}  # a local worker's job, set once by _start_worker


def _start_worker(job: Job) -> None:
    quiet_worker()
    _JOB["job"] = job


def run_task(job: Job | None, point: int, first: int, runs: int) -> TaskOutput:
    """One task, anywhere: its summary state and its tables as Parquet bytes (so that the
    process owning the store only writes them down)."""
    job = job if job is not None else _JOB["job"]
    results = run_engine(job.model, seed=job.seed, engine=job.engine,
                         table=job.table(point, first, runs), plan=job.plan())
    import pyarrow as pa

    tables = results.tables()
    files = {}
    for name in TABLES:
        table = tables[name]
        n = table.num_rows
        sweep = pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int8)),
                                               pa.array([job.sweep]))
        table = table.add_column(0, "point", pa.array(np.full(n, point, np.int64)))
        files[name] = parquet_bytes(table.add_column(0, "sweep", sweep))
    return TaskOutput(point, first, runs, Accumulator.of(results, job.names).state(), files)


# --- executors -----------------------------------------------------------------------------------


class _InProcess:
    """One worker: tasks run in this process, one at a time, as they are submitted."""

    name = "in-process"

    def __init__(self, job: Job):
        self.job = job

    slots = 1

    def submit(self, point: int, first: int, runs: int) -> Future[TaskOutput]:
        done: Future[TaskOutput] = Future()
        try:
            done.set_result(run_task(self.job, point, first, runs))
        except Exception as exc:  # noqa: BLE001 (reported as the task's failure)
            done.set_exception(exc)
        return done

    def close(self, now: bool = False) -> None:
        pass


class _LocalPool:
    """A pool of local processes; each gets the job once, when it starts."""

    def __init__(self, job: Job, workers: int):
        self.name = f"local pool of {workers}"
        self.slots = workers
        self.futures: list[Future[TaskOutput]] = []  # submitted, maybe still running
        self.pool = ProcessPoolExecutor(max_workers=workers, initializer=_start_worker,
                                        initargs=(job,))
        self.started = False

    def submit(self, point: int, first: int, runs: int) -> Future[TaskOutput]:
        with interrupt.ignored() if not self.started else contextlib.nullcontext():
            # workers start at the first submit: they inherit Ctrl-C ignored
            self.started = True
            future = self.pool.submit(run_task, None, point, first, runs)
        self.futures = [f for f in self.futures if not f.done()] + [future]
        return future

    def close(self, now: bool = False) -> None:
        if now:
            stop_pool(self.pool, self.futures)
        else:
            self.pool.shutdown(wait=True)


def connect(address: str) -> Any:
    """A Dask client of the scheduler at `address`, or SweepError within a few seconds
    saying why not (no Dask, a malformed address, nothing answering, no workers)."""
    import threading

    try:
        from distributed import Client
    except ImportError:
        raise SweepError("--scheduler needs Dask: pip install 'iadsim[cluster]'") from None
    if not re.fullmatch(r"(tcp|tls)://[^\s/:]+:\d{1,5}", address):
        raise SweepError(f"--scheduler {address!r}: expected tcp://HOST:PORT, as `dask "
                         "scheduler` prints it")
    found: list[Any] = []

    def attempt() -> None:  # in a thread: a peer that accepts and never answers cannot hang us
        try:
            found.append(Client(address, timeout=f"{CONNECT_SECONDS}s", set_as_default=False))
        except BaseException as exc:  # noqa: BLE001 (reported below)
            found.append(exc)

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(CONNECT_SECONDS + 3)
    why = "no answer" if not found else str(found[0]).splitlines()[0] \
        if isinstance(found[0], BaseException) else ""
    if why:
        raise SweepError(f"cannot reach a Dask scheduler at {address}: {why} (start one with "
                         "`dask scheduler`, and workers with `dask worker ADDRESS`)")
    client = found[0]
    if not client.scheduler_info().get("workers"):
        client.close()
        raise SweepError(f"the Dask scheduler at {address} has no workers: start some with "
                         f"`dask worker {address}`")
    return client


class _Dask:
    """A Dask distributed cluster: the job is scattered to every worker once, and each task
    refers to it."""

    def __init__(self, job: Job, client: Any, address: str):
        self.client = client
        workers = client.scheduler_info().get("workers", {})
        self.slots = max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))
        self.name = f"Dask at {address} ({len(workers)} workers)"
        try:
            self.job = client.scatter(job, broadcast=True)
        except Exception as exc:  # noqa: BLE001 (the cluster's own words, in one line)
            raise SweepError(f"cannot send the sweep to the Dask cluster at {address}: "
                             f"{str(exc).splitlines()[0]}") from None
        self.executor = client.get_executor()

    def submit(self, point: int, first: int, runs: int) -> Future[TaskOutput]:
        return self.executor.submit(run_task, self.job, point, first, runs)

    def close(self, now: bool = False) -> None:
        with contextlib.suppress(Exception):
            self.executor.shutdown(wait=not now)
        with contextlib.suppress(Exception):
            self.client.close()


# --- the sweep -------------------------------------------------------------------------------


def task_size(sweep: Sweep) -> int:
    """Replications per task: the sweep file's, or one engine block (tasks big enough that
    their overhead does not count, small enough to fit in memory)."""
    if sweep.task_replications:
        return min(sweep.task_replications, sweep.replications)
    if sweep.engine == "reference":
        return min(sweep.replications, 1000)
    return min(sweep.replications, block_size(sweep.model.structure))


def tasks_of(points: int, replications: int, size: int) -> list[tuple[int, int, int]]:
    """(point, first, runs) of every task, point by point."""
    return [(p, first, min(size, replications - first)) for p in range(points)
            for first in range(0, replications, size)]


@interrupt.operation
def run_sweep(sweep: Sweep, store: str | Path, *, workers: int = 1,
              scheduler: str | None = None, overwrite: bool = False,
              progress: Callable[[Progress], None] | None = None) -> SweepReport:
    """Run the tasks of a sweep that the store does not hold yet, committing each as it
    finishes, then write the summary of every finished point. On Ctrl-C, SweepInterrupted
    (what was committed stays); a task's failure is a SweepError."""
    from iadsim.engine import check_engine

    check_engine(sweep.engine)
    start = time.monotonic()
    committed = 0
    executor: Any = None
    executor_name = "none"

    def report() -> SweepReport:
        size = target.task_replications
        return SweepReport(sweep.name, str(target.folder), sweep.points, sweep.replications,
                           len(tasks_of(sweep.points, sweep.replications, size)), committed,
                           time.monotonic() - start, executor_name, size)

    client = connect(scheduler) if scheduler else None  # before anything is written
    try:
        target = SweepStore(store, sweep.name, sweep.definition, sweep.digest,
                            task_size(sweep), overwrite)
    except BaseException:
        if client is not None:
            client.close()
        raise
    try:
        tasks = tasks_of(sweep.points, sweep.replications, target.task_replications)
        records = target.clear_uncommitted()
        target.write_points(sweep.columns)
        done = {(r["point"], r["first"]) for r in records}
        todo = [t for t in tasks if (t[0], t[1]) not in done]
        names = summary_observables(run_info(sweep.model.structure, sweep.model.table(0),
                                             sweep.seed, sweep.engine))
        points = _Points(target, sweep, names, records)
        left = sum(t[2] for t in todo)
        if progress is not None:
            progress(Progress(len(done), len(tasks), points.done, sweep.points, 0, left))
        if not todo:
            executor_name = "none (all tasks were done)"
        else:
            job = Job(sweep.model, sweep.thetas, sweep.seed, sweep.engine, names, sweep.name)
            executor = _executor(job, workers, client, scheduler)
            client = None  # the executor closes it
            executor_name = executor.name
            replicated = 0
            for out in _completed(executor, todo, window=2 * executor.slots + 1):
                with interrupt.deferred():  # the task and its point's summary, together
                    try:
                        target.commit(out)
                        points.add(out)
                    except OSError as exc:
                        raise ResultsError(
                            f"{target.folder}: cannot write results ({exc.strerror or exc})"
                            f"; kept the {len(done) + committed} tasks committed: run the "
                            "same command again to complete the sweep") from None
                committed += 1
                replicated += out.runs
                if progress is not None:
                    progress(Progress(len(done) + committed, len(tasks), points.done,
                                      sweep.points, replicated, left - replicated))
                interrupt.check()
            executor.close()
        return report()
    except BaseException as exc:
        if executor is not None:
            executor.close(now=True)
        if isinstance(exc, KeyboardInterrupt):  # Ctrl-C, or an engine stopped by it
            raise SweepInterrupted(report()) from None
        raise
    finally:
        target.close()
        if client is not None:
            client.close()


def _executor(job: Job, workers: int, client: Any, scheduler: str | None) -> Any:
    if client is not None:
        try:
            return _Dask(job, client, str(scheduler))
        except BaseException:
            client.close()
            raise
    if workers <= 1:
        return _InProcess(job)
    return _LocalPool(job, workers)


def _completed(executor: Any, tasks: Iterable[tuple[int, int, int]], window: int
               ) -> Iterator[TaskOutput]:
    """Each task's output as it finishes, with at most `window` tasks in flight (bounded
    memory); a task's error is a SweepError naming it."""
    queue = iter(tasks)
    running: dict[Future[TaskOutput], tuple[int, int, int]] = {}
    while True:
        while len(running) < window and (task := next(queue, None)) is not None:
            running[executor.submit(*task)] = task
        if not running:
            return
        finished: set[Future[TaskOutput]] = set()
        while not finished:  # Ctrl-C acts between short waits, never inside one: raised
            # while `wait` takes the futures' locks, it would leave them held (and the pool
            # unable to stop)
            with interrupt.deferred():
                finished, _ = wait(running, timeout=0.25, return_when=FIRST_COMPLETED)
        for future in finished:
            point, first, runs = running.pop(future)
            try:
                out = future.result()
            except KeyboardInterrupt:  # an engine's EngineInterrupted too
                raise
            except Exception as exc:  # noqa: BLE001 (a worker's error, for the user)
                raise SweepError(f"task point {point}, replications {first}…{first + runs - 1} "
                                 f"failed: {type(exc).__name__}: {exc}") from exc
            yield out


class _Points:
    """The committed tasks of each point; a point's summary file is written once all its
    replications are committed, merged in replication order (the same summary bit for bit
    whichever order the tasks finished in)."""

    def __init__(self, store: SweepStore, sweep: Sweep, names: tuple[str, ...],
                 records: list[dict[str, Any]]):
        self.store, self.sweep, self.names = store, sweep, names
        self.states: dict[int, dict[int, dict[str, Any]]] = {p: {} for p in range(sweep.points)}
        for r in records:
            self.states[r["point"]][r["first"]] = r["state"]
        self.done = 0
        for p in range(sweep.points):
            self._finish(p)

    def add(self, out: TaskOutput) -> None:
        self.states[out.point][out.first] = out.state
        self._finish(out.point)

    def _finish(self, point: int) -> None:
        states = self.states[point]
        if sum(int(s["n"]) for s in states.values()) < self.sweep.replications:
            return
        self.done += 1
        if self.store.has_summary(point):
            return
        total = Accumulator(self.names)
        for first in sorted(states):
            total.merge(Accumulator.from_state(states[first]))
        estimates = total.estimates()
        self.store.write_summary(point, {
            "observable": list(estimates), "runs": [total.n] * len(estimates),
            "mean": [e.mean for e in estimates.values()],
            "se": [e.se for e in estimates.values()],
            "ci_low": [e.ci_low for e in estimates.values()],
            "ci_high": [e.ci_high for e in estimates.values()]})
