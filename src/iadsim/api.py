"""The Python API behind every CLI command: load, compile, run, summarise."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iadsim.analysis.summary import DEFAULT_OBSERVABLES, link_totals, summarize
from iadsim.compile import CompiledScenario, compile_scenario
from iadsim.engine import run
from iadsim.engine.results import Results
from iadsim.scenario import Scenario, load_scenario

CHUNK = 250  # replications between progress updates and interrupt checkpoints


class Interrupted(Exception):
    """A run stopped by the user; `results` holds the replications that finished."""

    def __init__(self, results: Results | None):
        self.results = results
        super().__init__("interrupted")


@dataclass(frozen=True)
class Prepared:
    """A scenario loaded and compiled for one profile, ready to run."""

    scenario: Scenario
    compiled: CompiledScenario


def prepare(source: str | Path, profile: str | None = None) -> Prepared:
    """Load a scenario (file or built-in name) and compile it for a profile."""
    scenario = load_scenario(source)
    return Prepared(scenario, compile_scenario(scenario, profile))


def simulate(prepared: Prepared, runs: int, *, seed: int, engine: str = "reference",
             progress: Callable[[int], None] | None = None) -> Results:
    """Run replications in chunks; on Ctrl-C raise Interrupted with the finished ones."""
    parts: list[Results] = []
    try:
        for first in range(0, runs, CHUNK):
            n = min(CHUNK, runs - first)
            part = run(prepared.compiled, n, seed=seed, engine=engine, first=first,
                       progress=progress)
            parts.append(part)
    except KeyboardInterrupt:
        raise Interrupted(Results.concat(parts) if parts else None) from None
    return Results.concat(parts)


def report(results: Results, observables: tuple[str, ...] = DEFAULT_OBSERVABLES
           ) -> dict[str, Any]:
    """The run's summary as plain data (the `--json` output)."""
    info = results.info
    return {
        "scenario": info.scenario, "profile": info.profile, "runs": results.runs,
        "seed": info.seed, "engine": info.engine,
        "observables": {k: v.as_dict() for k, v in summarize(results, observables).items()},
        "first_broken_link": link_totals(results),
    }
