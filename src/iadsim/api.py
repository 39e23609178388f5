"""The Python API behind every CLI command: load a scenario, list and set its parameters, run it
(at one point or over a parameter table), summarise, and evaluate designs SALib-style.

`simulate` streams a run block by block — summaries are accumulated and per-replication rows
written as they come — so memory stays bounded at any number of replications. `run` keeps every
row in memory, for notebooks, tests and analyses.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from iadsim import interrupt
from iadsim.analysis.inference import Inference, InferenceError
from iadsim.analysis.inference import infer as weigh
from iadsim.analysis.summary import Accumulator, Estimate, summary_observables
from iadsim.compile import structure_values
from iadsim.engine import DEFAULT_ENGINE, EngineInterrupted, block_size, check_engine
from iadsim.engine import run as run_engine
from iadsim.engine.results import DEFAULT_OBSERVABLES, Results, RunInfo, run_info
from iadsim.inert import Inert, inert_parameters
from iadsim.model import Model, compile_scenario, model_digest
from iadsim.params import ParameterSpace
from iadsim.scenario import Scenario, ScenarioError, load_scenario
from iadsim.scenario.evidence import (
    Evidence,
    Hypotheses,
    companion,
    load_evidence,
    load_hypotheses,
)
from iadsim.store import ResultsError, ResultsStore
from iadsim.tables import ParamTable
from iadsim.workers import quiet_worker
from iadsim.workers import stop as stop_pool

if TYPE_CHECKING:  # the analyses are imported when used: checking a file needs none of them
    from iadsim.analysis.compare import Comparison
    from iadsim.analysis.explain import Explanation
    from iadsim.analysis.sensitivity import Sensitivity

REFERENCE_CHUNK = 250  # reference-engine replications between progress updates


def load(source: str | Path, profile: str | None = None,
         values: Mapping[str, Any] | None = None) -> Model:
    """Load a scenario (file or built-in name) and compile it, at a profile and values."""
    return compile_scenario(load_scenario(source), profile, values)


def check(source: str | Path) -> Scenario:
    """Load a scenario and resolve every profile: all problems at once (ScenarioError)."""
    scenario = load_scenario(source)
    space = ParameterSpace.build(scenario)
    problems = []
    for name in scenario.profiles:
        try:
            space.profile(name)
        except ScenarioError as exc:  # each problem at its file:line
            problems += exc.problems
    if problems:
        raise ScenarioError(problems)
    return scenario


def inert(model: Model) -> list[Inert]:
    """The parameters that cannot change any outcome at the model's point, each (path, why)
    (MODEL.md, "Parameters that cannot act"); `validate` and `run` print them as warnings."""
    return inert_parameters(model)


def explain(model: Model, from_profile: str, to_profile: str, *,
            groups: Mapping[str, Sequence[str]] | None = None, observable: str = "leakers",
            runs: int = 2000, seed: int = 0, engine: str = DEFAULT_ENGINE,
            progress: Callable[[int, int], None] | None = None,
            sampled: int | None = None) -> Explanation:
    """Which explanation cost the defence how much: exact Shapley values of the parameter
    groups (default: the scenario's `explanations`) for `observable` between two profiles, on
    common replications, with each group's effect alone and its single fix; `sampled`:
    estimate them from that many random orders of the groups instead (for more than 12)."""
    from iadsim.analysis.explain import ExplainError
    from iadsim.analysis.explain import explain as explain_groups

    if groups is None:
        groups = model.scenario.explanations
        if not groups:
            raise ExplainError([f"{model.scenario.name} declares no explanations: give groups "
                                "(name → parameter paths)"])
    return explain_groups(model, from_profile, to_profile, groups, observable=observable,
                          runs=runs, seed=seed, engine=engine, progress=progress,
                          sampled=sampled)


def compare(model: Model, profiles: Sequence[str], *,
            observables: Sequence[str] = DEFAULT_OBSERVABLES, runs: int = 2000, seed: int = 0,
            engine: str = DEFAULT_ENGINE) -> Comparison:
    """Profiles side by side on the same replications (common random numbers): each
    observable's mean under each, and its paired difference from the first profile."""
    from iadsim.analysis.compare import compare as compare_profiles

    return compare_profiles(model, profiles, observables, runs=runs, seed=seed, engine=engine)


def sensitivity(model: Model, ranges: Mapping[str, Sequence[float]], *,
                method: str = "sobol", observable: str = "leakers", samples: int = 256,
                runs_per_point: int = 100, seed: int = 0, engine: str = DEFAULT_ENGINE,
                progress: Callable[[int, int], None] | None = None) -> Sensitivity:
    """Which parameters matter: Sobol (S1, ST) or Morris (μ*, σ) indices of `observable` for
    parameters over ranges (path → [low, high]) around the model's point, via SALib, with a
    dummy parameter whose indices are the Monte Carlo noise floor."""
    from iadsim.analysis.sensitivity import sensitivity as analyse_sensitivity

    return analyse_sensitivity(model, ranges, method=method, observable=observable,
                               samples=samples, runs_per_point=runs_per_point, seed=seed,
                               engine=engine, progress=progress)


def infer(model: Model, evidence: Evidence | str | Path | None = None,
          hypotheses: Hypotheses | str | Path | None = None, *, runs: int = 2000,
          target_se: float | None = None, max_runs: int = 200_000, seed: int = 0,
          engine: str = DEFAULT_ENGINE,
          progress: Callable[[int, int], None] | None = None) -> Inference:
    """Weigh hypotheses against reported evidence (MODEL.md, Inference): the posterior with
    Monte Carlo errors, each report's weight, the reliability sensitivity, the drawn
    parameters' posterior means and the ACH matrix. `evidence`, `hypotheses`: loaded files,
    paths, or None for the scenario's own (SCENARIO.evidence.yaml and
    SCENARIO.hypotheses.yaml beside it). With `target_se`, replications are added (from
    `runs`, up to `max_runs`) until every posterior's standard error is below it."""
    evidence = _companion_file(model, evidence, "evidence", load_evidence)
    hypotheses = _companion_file(model, hypotheses, "hypotheses", load_hypotheses)
    problems = [f"{doc.source.file if doc.source else kind}: scenario: the {kind} are about "
                f"{doc.scenario!r}, not {model.name!r}"
                for kind, doc in (("evidence", evidence), ("hypotheses", hypotheses))
                if doc.scenario is not None and doc.scenario != model.name]
    if problems:
        raise InferenceError(problems)
    return weigh(model, evidence, hypotheses, runs=runs, target_se=target_se,
                 max_runs=max_runs, seed=seed, engine=engine, progress=progress)


def check_inference_files(model: Model) -> dict[str, list[str]]:
    """The scenario's own evidence and hypotheses files (beside it), each read and checked
    against the scenario: file → its problems (empty when it is sound)."""
    from iadsim.analysis.inference import candidates_of, reports_of

    out: dict[str, list[str]] = {}
    for kind, read, resolve in (("evidence", load_evidence, reports_of),
                                ("hypotheses", load_hypotheses, candidates_of)):
        path = _companion_path(model, kind)
        if path is None:
            continue
        try:
            resolve(read(path), model)
            out[str(path)] = []
        except ScenarioError as exc:
            out[str(path)] = [str(p) for p in exc.problems]
        except InferenceError as exc:
            out[str(path)] = list(exc.problems)
    return out


def _companion_path(model: Model, kind: str) -> Path | None:
    source = model.scenario.source
    return companion(source.file, kind) if source is not None else None


def _companion_file(model: Model, given: Any, kind: str, read: Callable[[Any], Any]) -> Any:
    if given is not None and not isinstance(given, (str, Path)):
        return given
    if given is None:
        given = _companion_path(model, kind)
        if given is None:
            raise InferenceError([f"{model.name} has no {kind} file beside it "
                                  f"({model.name}.{kind}.yaml): give one"])
    return read(given)


def run(model: Model, runs: int | None = None, *, seed: int, table: ParamTable | None = None,
        engine: str = DEFAULT_ENGINE, first: int = 0) -> Results:
    """Every row's results in memory: replications first … first + runs − 1 at the model's
    point, or the rows of a parameter table."""
    return run_engine(model, runs, seed=seed, engine=engine, first=first, table=table)


def table(model: Model, columns: Mapping[str, Sequence[Any]]) -> ParamTable:
    """A parameter table from columns: `replication` (required) and parameter paths; every
    other parameter stays at the model's point. Rows that share a replication index run on
    the same random numbers."""
    return ParamTable.from_columns(model.space, model.point, columns)


def problem(paths: Sequence[str], bounds: Sequence[Sequence[float]]) -> dict[str, Any]:
    """A SALib problem over parameter paths: {"num_vars", "names", "bounds"}."""
    if len(paths) != len(bounds):
        raise ValueError(f"{len(paths)} paths but {len(bounds)} bounds")
    for path, b in zip(paths, bounds, strict=True):
        if len(b) != 2 or not b[0] <= b[1]:
            raise ValueError(f"{path}: bounds must be [low, high] with low <= high (got {b!r})")
    return {"num_vars": len(paths), "names": list(paths),
            "bounds": [[float(lo), float(hi)] for lo, hi in bounds]}


def design(model: Model, names: Sequence[str], X: np.ndarray, runs_per_row: int,
           first: int = 0) -> ParamTable:
    """The table of a design: each row of X (a point, one column per path in `names`) with
    replications first … first + runs_per_row − 1, the same for every point."""
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != len(names):
        raise ValueError(f"X must have one column per parameter ({len(names)}); got shape "
                         f"{X.shape}")
    n = len(X)
    points = table(model, {"replication": np.zeros(n, dtype=np.int64),
                           **{name: X[:, d] for d, name in enumerate(names)}})
    return ParamTable(model.space, points.points, np.repeat(points.point, runs_per_row),
                      np.tile(np.arange(first, first + runs_per_row, dtype=np.int64), n),
                      points.labels)


def evaluate(model: Model, problem: Mapping[str, Any], X: np.ndarray, *, observable: str,
             runs_per_row: int, seed: int, engine: str = DEFAULT_ENGINE) -> np.ndarray:
    """Y for a SALib sample X: the mean of `observable` over `runs_per_row` replications at
    each row's parameters, every row on the same replications (common random numbers). A
    count parameter (salvo, missiles, channels) takes whole numbers: round its column of X;
    an on/off one takes 0 and 1."""
    rows = design(model, problem["names"], X, runs_per_row)
    values = run(model, seed=seed, table=rows, engine=engine).observable(observable)
    return values.reshape(len(X), runs_per_row).mean(axis=1)


# --- streaming runs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunSummary:
    """What a run adds up to: estimates of observables and first-broken-link totals."""

    info: RunInfo
    runs: int
    estimates: dict[str, Estimate]
    links: dict[str, int]
    deepest: dict[str, int]

    def as_dict(self, observables: tuple[str, ...] | None = None) -> dict[str, Any]:
        """The `--json` output."""
        names = observables or tuple(self.estimates)
        return {
            "scenario": self.info.scenario, "profile": self.info.profile,
            "settings": dict(self.info.settings), "runs": self.runs,
            "seed": self.info.seed, "engine": self.info.engine,
            "observables": {k: self.estimates[k].as_dict() for k in names},
            "first_broken_link": self.links, "deepest_link": self.deepest,
        }


class Interrupted(Exception):
    """A run stopped by the user; `summary` covers the replications that finished."""

    def __init__(self, summary: RunSummary | None):
        self.summary = summary
        super().__init__("interrupted")


def chunk_size(model: Model, engine: str, plan: Any = None, memory: float | None = None
               ) -> int:
    """Rows handed to an engine at once (results never depend on it): for the vectorized
    engine, a block that fits half of `memory` bytes (default 1 GB); MemoryBudgetError if
    one replication cannot fit."""
    return REFERENCE_CHUNK if engine == "reference" else \
        block_size(model.structure, plan, memory)


@interrupt.operation
def simulate(model: Model, runs: int, *, seed: int, engine: str = DEFAULT_ENGINE,
             workers: int = 1, out: str | Path | None = None, mode: str = "new",
             memory: float | None = None,
             progress: Callable[[int], None] | None = None) -> RunSummary:
    """Run replications 0 … runs − 1 at the model's point in blocks (in `workers` processes),
    accumulating the summary and, with `out`, committing per-replication rows to the results
    folder part by part (store.py; `mode`: "new", "overwrite" or "resume"). On Ctrl-C (or
    SIGTERM, which the CLI turns into one) raise Interrupted with the summary of the finished
    blocks, all of them written; a write error (a full disk) is a ResultsError that says what
    was kept. `memory`: the bytes blocks may use (default 1 GB); a scenario one replication of
    which cannot fit is refused before any work (MemoryBudgetError)."""
    check_engine(engine)
    plan = None
    if engine == "vectorized":
        from iadsim.engine.vectorized import Plan

        plan = Plan(model.structure)  # once per run, handed to every block
    size = chunk_size(model, engine, plan, memory)  # refuses what cannot fit, before work
    info = run_info(model.structure, model.table(0), seed, engine, model.settings)
    names = summary_observables(info)
    total = Accumulator(names)  # the committed blocks (all of them without a store)
    pending = Accumulator(names)
    store: ResultsStore | None = None
    interrupted = finishing = False
    try:
        try:
            with interrupt.deferred():  # the folder opened and its kept parts counted, whole
                if out is not None:
                    store = ResultsStore(out, _manifest(model, runs, seed, engine), mode)
                    for record in store.committed:
                        total.merge(Accumulator.from_state(record["state"]))
            if progress is not None and total.n:
                progress(total.n)
            spans = store.remaining() if store else [(0, runs)]
            for first, counted, block in _blocks(model, spans, seed, engine, workers, size,
                                                 out is not None, plan, names):
                with interrupt.deferred():  # counted and queued together, or neither
                    pending.merge(counted)
                    if store is not None:
                        store.append(block.with_info(info), first)
                if store is not None and store.due():
                    with interrupt.deferred():
                        _commit(store, pending, total)
                        pending = Accumulator(names)
                if progress is not None:
                    progress(counted.n)
                interrupt.check()
        except KeyboardInterrupt:
            interrupted = True
        with interrupt.deferred(reraise=False):  # done or stopping: finish writing
            if store is not None:
                _commit(store, pending, total)
            else:
                total.merge(pending)
            summary = _summary(info, total) if total.n else None
            if store is not None:
                finishing = True  # the folder is released even if summary.json fails
                store.finish(summary.as_dict() if summary else None)
    except OSError as exc:
        if out is None:  # not a results folder's write
            raise
        if store is None:
            raise ResultsError(f"{out}: cannot open the results folder "
                               f"({exc.strerror or exc})") from None
        written = False
        with interrupt.deferred(reraise=False):  # what was kept, said whole
            if not finishing:
                kept = _summary(info, total) if total.n else None
                with contextlib.suppress(OSError):
                    store.finish(kept.as_dict() if kept else None)
                    written = kept is not None
        raise ResultsError(f"{out}: cannot write results ({exc.strerror or exc}); kept the "
                           f"{total.n} replications already written"
                           + (" and their summary.json" if written else "")) from None
    except BaseException:
        if store is not None:  # the folder released; its committed parts stay for --resume
            store.finish(None)
        raise
    if interrupted or summary is None:
        raise Interrupted(summary)
    return summary


def _commit(store: Any, pending: Accumulator, total: Accumulator) -> None:
    """Commit the held blocks with their summary state, and count them in the total."""
    if store.pending:
        store.commit(pending.state())
        total.merge(pending)


def _manifest(model: Model, runs: int, seed: int, engine: str) -> dict[str, Any]:
    """What identifies a run in its results folder: --resume continues only the same one."""
    return {"scenario": model.name, "profile": model.profile,
            "settings": {k: v for k, v in model.settings.items()}, "seed": seed,
            "engine": engine, "model": model_digest(model), "runs": runs}


def _summary(info: RunInfo, total: Accumulator) -> RunSummary:
    return RunSummary(info, total.n, total.estimates(), total.link_totals(),
                      total.deepest_totals())


_WORKER: dict[str, Any] = {}  # a worker process's model and plan, set once by _start_worker


def _start_worker(model: Model, plan: Any) -> None:
    """A worker leaves Ctrl-C to its parent and dies with it."""
    quiet_worker()
    _WORKER.update(model=model, plan=plan)


def _counted(results: Results, names: tuple[str, ...], rows: bool
             ) -> tuple[Accumulator, Results | None]:
    """A block's summary, and its results if its rows are to be written."""
    return Accumulator.of(results, names), results if rows else None


def _run_block(first: int, n: int, seed: int, engine: str, rows: bool, names: tuple[str, ...]
               ) -> tuple[Accumulator, Results | None]:
    """A block in a worker: its summary is made there, and only rows to be written travel
    back, without the parameter space (the parent labels them again)."""
    results = run_engine(_WORKER["model"], n, seed=seed, engine=engine, first=first, rows=rows,
                         plan=_WORKER["plan"])
    counted, kept = _counted(results, names, rows)
    return counted, replace(kept, table=None, info=None) if kept is not None else None


def _blocks(model: Model, spans: Sequence[tuple[int, int]], seed: int, engine: str,
            workers: int, size: int, rows: bool, plan: Any, names: tuple[str, ...]
            ) -> Iterator[tuple[int, Accumulator, Results | None]]:
    """(first replication, summary, results if `rows`) of the blocks of the spans, made
    lazily; in order with one worker. On Ctrl-C the blocks that finished are yielded before it
    is raised again."""
    starts = ((first, min(size, hi - first)) for lo, hi in spans
              for first in range(lo, hi, size))
    if workers <= 1:
        for first, n in starts:
            try:
                yield first, *_counted(run_engine(model, n, seed=seed, engine=engine,
                                                  first=first, rows=rows, plan=plan),
                                       names, rows)
            except EngineInterrupted as stop:
                if stop.partial is not None:
                    yield first, *_counted(stop.partial, names, rows)
                raise KeyboardInterrupt from None
        return

    def labelled(first: int, done: tuple[Accumulator, Results | None]
                 ) -> tuple[int, Accumulator, Results | None]:
        counted, results = done
        return first, counted, None if results is None else \
            results.labelled(model.table(counted.n, first))

    pool = ProcessPoolExecutor(max_workers=workers, initializer=_start_worker,
                               initargs=(model, plan))
    pending: list[tuple[int, Future[tuple[Accumulator, Results | None]]]] = []
    try:
        for first, n in starts:
            with interrupt.ignored() if not pending else contextlib.nullcontext():
                # workers are started by the first submit: they inherit Ctrl-C ignored
                pending.append((first, pool.submit(_run_block, first, n, seed, engine, rows,
                                                   names)))
            if len(pending) > 2 * workers:  # bounded read-ahead: bounded memory
                first_done, future = pending.pop(0)
                yield labelled(first_done, future.result())
        while pending:
            first_done, future = pending.pop(0)
            yield labelled(first_done, future.result())
    except KeyboardInterrupt:
        stop_pool(pool, [fut for _, fut in pending])
        finished = [(f, fut) for f, fut in pending if fut.done() and not fut.cancelled()
                    and fut.exception() is None]
        for first, future in finished:
            yield labelled(first, future.result())
        raise
    except BaseException:
        stop_pool(pool)
        raise
    pool.shutdown(wait=True)


# --- the parameter listing ------------------------------------------------------------------------


def parameters(model: Model, structure: bool = False) -> list[dict[str, Any]]:
    """Every parameter at the model's point: path, value, allowed values, and the comment of
    the line that set it (or the catalog type it comes from); then each group path with the
    members' paths it sets; with `structure`, then the structure fields a new compile can
    change (marked `"structure": true`)."""
    space, point = model.space, model.point
    source = model.scenario.source
    rows = []
    for p in space.parameters:
        x = point.theta[p.slot]
        if math.isnan(x):
            continue  # a parameter of a distribution family not in force
        rows.append({"path": p.path, "value": p.decode(x), "allowed": p.allowed,
                     "source": _source_of(model, point.origin[p.slot], source)})
    for group, members in model.scenario.groups.items():
        suffixes = dict.fromkeys(".".join(parts[2:]) for parts in
                                 (p.path.split(".") for p in space.parameters)
                                 if len(parts) >= 3 and parts[1] in members)
        for suffix in suffixes:
            paths = [q for q in space.expand(f"groups.{group}.{suffix}")
                     if not math.isnan(point.theta[space.by_path[q].slot])]
            if not paths:
                continue
            values = {space.by_path[q].decode(point.theta[space.by_path[q].slot]) for q in paths}
            rows.append({"path": f"groups.{group}.{suffix}",
                         "value": values.pop() if len(values) == 1 else "mixed",
                         "allowed": space.by_path[paths[0]].allowed, "expands_to": paths,
                         "source": "sets " + ", ".join(q.split(".")[1] for q in paths)})
    if structure:
        rows += [{"path": path, "value": value, "allowed": "structure: compiles anew",
                  "structure": True, "source": _source_of(model, origin, source)}
                 for path, value, origin in structure_values(model.scenario)]
    return rows


def _source_of(model: Model, origin: Any, source: Any) -> str:
    if origin is None:
        return "default"
    if isinstance(origin, str):
        return f"set ({origin})"
    comment = source.comment(tuple(origin)) if source is not None else None
    if comment:
        return comment
    if source is not None and tuple(origin) in source.lines:
        return f"line {source.lines[tuple(origin)]}"
    kind, index = origin[0], origin[1] if len(origin) > 1 else None
    entity_type = None
    if kind in ("sensors", "fire_units", "threats", "streams") and isinstance(index, int):
        entity_type = getattr(model.scenario, kind)[index].type
    return f"catalog: {entity_type}" if entity_type else "default"


# --- sweeps and stored results --------------------------------------------------------------------


def load_sweep(path: str | Path, engine: str | None = None) -> Any:
    """A sweep file with its scenario compiled and its design drawn (iadsim.sweeps.Sweep);
    ScenarioError listing every problem at file:line."""
    from iadsim.sweeps import load_sweep as load

    return load(path, engine)


def sweep(spec: Any, store: str | Path, *, workers: int = 1, scheduler: str | None = None,
          overwrite: bool = False, progress: Callable[[Any], None] | None = None) -> Any:
    """Run a sweep (a Sweep, or a sweep file's path) into a store: on a local pool of
    `workers` processes, or on the Dask cluster at `scheduler`; tasks the store already holds
    are skipped. Returns a SweepReport; SweepInterrupted on Ctrl-C."""
    from iadsim.sweeps import Sweep, run_sweep

    if not isinstance(spec, Sweep):
        spec = load_sweep(spec)
    return run_sweep(spec, store, workers=workers, scheduler=scheduler, overwrite=overwrite,
                     progress=progress)


def query(folder: str | Path, sql: str) -> Any:
    """SQL (DuckDB) over a sweep store or a `run --out` folder, as an Arrow table; views:
    replications, units, threats, passages, and in a store points, summaries, sweeps."""
    from iadsim.views import query as run_query

    return run_query(folder, sql)


def relation(folder: str | Path, sql: str) -> Any:
    """The same as `query`, as a lazy DuckDB relation (chain `.filter`, `.aggregate`, …)."""
    from iadsim.views import relation as make

    return make(folder, sql)


def plot_sweep(store: str | Path, observable: str, x: str, y: str | None = None, *,
               sweep: str | None = None, path: str | Path) -> Path:
    """A sweep's observable (mean and 95% interval per point) against one parameter, or a
    heat map over two, written to `path` (.png, .svg, .pdf)."""
    from iadsim.reports.sweep_figure import sweep_figure

    return sweep_figure(store, observable, x, y, sweep=sweep, path=path)


# --- the HTML report ------------------------------------------------------------------------------


def report(model: Model, path: str | Path, *, runs: int = 2000, seed: int = 0,
           engine: str = DEFAULT_ENGINE, explain_from: str | None = None,
           evidence: Evidence | str | Path | None = None,
           hypotheses: Hypotheses | str | Path | None = None) -> Path:
    """A self-contained HTML report of `runs` replications at the model's point, written to
    `path`: the map, the timeline of the median replication (chosen among the fast engine's
    replications, which replays it with its events), outcomes and link breakdowns, and the
    scenario's sources; with `explain_from` a profile, the Shapley explanation from it to the
    model's profile; with `evidence` or `hypotheses` (files or objects; True-ish paths), the
    inference. Needs Plotly (`pip install 'iadsim[report]'`)."""
    from iadsim.engine import trace
    from iadsim.reports.map import coast_for
    from iadsim.reports.report import build_report, representative

    results = run(model, runs, seed=seed, engine=engine)
    # the replay is the fast engine's: another engine's median replication, which draws other
    # random numbers, could replay to another outcome
    replayed = results if engine == "vectorized" else \
        run_engine(model, runs, seed=seed, engine="vectorized", rows=False)
    events = trace(model, int(replayed.replication[representative(replayed)]), seed=seed)
    names = summary_observables(results.info)
    total = Accumulator.of(results, names)
    summary = _summary(results.info, total).as_dict()
    explanation = explain(model, explain_from, model.profile, runs=runs, seed=seed,
                          engine=engine) if explain_from else None
    inference = infer(model, evidence, hypotheses, runs=runs, seed=seed, engine=engine) \
        if evidence is not None or hypotheses is not None else None
    return build_report(results, model.scenario, path, summary=summary,
                        coast=coast_for(model.scenario),
                        sources=parameters(model), explanation=explanation,
                        inference=inference, trace=events)


def what_if(model: Model, profile: str = "reported", fixed: str = "full", *,
            runs: int = 2000, seed: int = 0, engine: str = DEFAULT_ENGINE) -> Any:
    """The what-if controls between `profile` and `fixed` (iadsim.analysis.whatif.WhatIf):
    `w.evaluate(w.choice({"fixed": ["orders"], "authority": {"cp-air-defence":
    "autonomous"}}))` gives the outcome on the same replications as every other choice."""
    from iadsim.analysis.whatif import WhatIf

    return WhatIf(model, profile, fixed, runs=runs, seed=seed, engine=engine)


def serve(model: Model, *, port: int = 8765, host: str = "127.0.0.1",
          allow_remote: bool = False, profile: str = "reported", fixed: str = "full",
          runs: int = 2000, seed: int = 0, engine: str = DEFAULT_ENGINE) -> Any:
    """The what-if page's server (call `serve_forever()`; `server_address` says where), bound
    to `host`: the loopback address unless `allow_remote` (ValueError otherwise). Needs
    Plotly."""
    from iadsim.reports.map import coast_for
    from iadsim.reports.server import make_server

    return make_server(what_if(model, profile, fixed, runs=runs, seed=seed, engine=engine),
                       model.scenario, coast_for(model.scenario),
                       host, port, allow_remote)
