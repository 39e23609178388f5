"""The Python API behind every CLI command: load, compile, run, summarise.

`simulate` streams a run block by block — summaries are accumulated and per-replication rows
written as they come — so memory stays bounded at any number of replications. `results` keeps
every replication in memory, for notebooks and tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iadsim.analysis.summary import Accumulator, Estimate, summary_observables
from iadsim.compile import CompiledScenario, compile_scenario
from iadsim.engine import ENGINES, run
from iadsim.engine.results import Results, RunInfo, run_info
from iadsim.engine.vectorized import Plan
from iadsim.scenario import Scenario, load_scenario

REFERENCE_CHUNK = 250  # reference-engine replications between progress updates


@dataclass(frozen=True)
class Prepared:
    """A scenario loaded and compiled for one profile, ready to run."""

    scenario: Scenario
    compiled: CompiledScenario


@dataclass(frozen=True)
class RunSummary:
    """What a run adds up to: estimates of observables and first-broken-link totals."""

    info: RunInfo
    runs: int
    estimates: dict[str, Estimate]
    links: dict[str, int]

    def as_dict(self, observables: tuple[str, ...] | None = None) -> dict[str, Any]:
        """The `--json` output."""
        names = observables or tuple(self.estimates)
        return {
            "scenario": self.info.scenario, "profile": self.info.profile, "runs": self.runs,
            "seed": self.info.seed, "engine": self.info.engine,
            "observables": {k: self.estimates[k].as_dict() for k in names},
            "first_broken_link": self.links,
        }


class Interrupted(Exception):
    """A run stopped by the user; `summary` covers the replications that finished."""

    def __init__(self, summary: RunSummary | None):
        self.summary = summary
        super().__init__("interrupted")


def prepare(source: str | Path, profile: str | None = None) -> Prepared:
    """Load a scenario (file or built-in name) and compile it for a profile."""
    scenario = load_scenario(source)
    return Prepared(scenario, compile_scenario(scenario, profile))


def chunk_size(prepared: Prepared, engine: str) -> int:
    """Replications handed to an engine at once (results never depend on it)."""
    return REFERENCE_CHUNK if engine == "reference" else Plan(prepared.compiled).block_size()


def simulate(prepared: Prepared, runs: int, *, seed: int, engine: str = "vectorized",
             workers: int = 1, out: str | Path | None = None,
             progress: Callable[[int], None] | None = None) -> RunSummary:
    """Run replications 0 … runs − 1 in blocks (in `workers` processes), accumulating the
    summary and, with `out`, streaming per-replication rows to Parquet. On Ctrl-C raise
    Interrupted with the summary of the blocks that finished (also written to `out`)."""
    from iadsim.store import ResultsWriter

    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
    info = run_info(prepared.compiled, seed, engine)
    total = Accumulator(summary_observables(info))
    writer = ResultsWriter(out) if out is not None else None
    try:
        for block in _blocks(prepared.compiled, runs, seed, engine, workers,
                             chunk_size(prepared, engine), rows=out is not None):
            total.add(block)
            if writer is not None:
                writer.append(block)
            if progress is not None:
                progress(block.runs)
    except KeyboardInterrupt:
        summary = _summary(info, total) if total.n else None
        if writer is not None:
            writer.close(summary.as_dict() if summary else None)
        raise Interrupted(summary) from None
    summary = _summary(info, total)
    if writer is not None:
        writer.close(summary.as_dict())
    return summary


def results(prepared: Prepared, runs: int, *, seed: int, engine: str = "vectorized",
            first: int = 0) -> Results:
    """Every replication's results in memory."""
    return run(prepared.compiled, runs, seed=seed, engine=engine, first=first)


def _summary(info: RunInfo, total: Accumulator) -> RunSummary:
    return RunSummary(info, total.n, total.estimates(), total.link_totals())


def _blocks(cs: CompiledScenario, runs: int, seed: int, engine: str, workers: int,
            size: int, rows: bool) -> Iterator[Results]:
    """Results of consecutive blocks of replications, in order."""
    spans = [(first, min(size, runs - first)) for first in range(0, runs, size)]
    if workers <= 1 or len(spans) == 1:
        for first, n in spans:
            yield run(cs, n, seed=seed, engine=engine, first=first, rows=rows)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        pending: list[Future[Results]] = []
        try:
            for first, n in spans:
                pending.append(pool.submit(run, cs, n, seed=seed, engine=engine, first=first,
                                           rows=rows))
                if len(pending) > 2 * workers:  # bounded read-ahead: bounded memory
                    yield pending.pop(0).result()
            while pending:
                yield pending.pop(0).result()
        finally:
            for f in pending:
                f.cancel()
