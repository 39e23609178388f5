"""Engines: each turns a CompiledScenario and a seed into Results (engine/results.py)."""

from __future__ import annotations

from collections.abc import Callable

from iadsim.compile import CompiledScenario
from iadsim.engine.reference import run_reference
from iadsim.engine.results import LINKS, UNIT_COUNTS, Results, RunInfo
from iadsim.engine.vectorized import run_vectorized

Engine = Callable[..., Results]
ENGINES: dict[str, Engine] = {"vectorized": run_vectorized, "reference": run_reference}

__all__ = ["ENGINES", "LINKS", "UNIT_COUNTS", "Results", "RunInfo", "run"]


def run(cs: CompiledScenario, runs: int, *, seed: int, engine: str = "reference", first: int = 0,
        progress: Callable[[int], None] | None = None, rows: bool = True) -> Results:
    """Run replications first … first + runs − 1 of a compiled scenario with the named engine;
    without `rows` an engine may leave out the per-threat and per-passage tables."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
    return ENGINES[engine](cs, runs, seed=seed, first=first, progress=progress, rows=rows)
