"""Engines: each runs the rows of a parameter table on a compiled scenario and returns Results
(engine/results.py). `reference/` is the readable oracle, `vectorized/` the fast default; they
share only the rules (rules.py, distributions.py) and the Results type. The engines are imported
when first used."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from iadsim.compile import CompiledScenario
    from iadsim.engine.results import Results
    from iadsim.model import Model
    from iadsim.tables import ParamTable

ENGINES = ("vectorized", "reference")
DEFAULT_ENGINE = "vectorized"

__all__ = ["DEFAULT_ENGINE", "ENGINES", "EngineInterrupted", "MemoryBudgetError",
           "block_size", "check_engine", "run"]


class MemoryBudgetError(ValueError):
    """A scenario one replication of which cannot fit the memory budget: refused before any
    work, in one line naming what needs the memory."""


class EngineInterrupted(KeyboardInterrupt):
    """Ctrl-C inside an engine that runs rows one at a time: `partial` holds the rows that
    finished (the first ones of the table), so that none of them is lost."""

    def __init__(self, partial: Results | None):
        super().__init__()
        self.partial = partial


def block_size(structure: CompiledScenario, plan: Any = None, memory: float | None = None
               ) -> int:
    """Replications the vectorized engine plays at once within half of `memory` bytes
    (default 1 GB; results never depend on it); MemoryBudgetError if one cannot fit. `plan`:
    the scenario's Plan, if built."""
    from iadsim.engine.vectorized.plan import DEFAULT_MEMORY, Plan

    plan, budget = plan or Plan(structure), memory or DEFAULT_MEMORY
    plan.check_memory(budget)
    return plan.block_size(budget)


def check_engine(name: str) -> str:
    """The engine's name, or a ValueError naming the choices."""
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}; choose from {', '.join(ENGINES)}")
    return name


def run(model: Model, runs: int | None = None, *, seed: int, engine: str = DEFAULT_ENGINE,
        first: int = 0, table: ParamTable | None = None, rows: bool = True,
        plan: object = None, block_size: int | None = None) -> Results:
    """Run `table`'s rows, or else replications first … first + runs − 1 at the model's point,
    with the named engine; without `rows` an engine may leave out the per-threat and
    per-passage tables. `plan`, `block_size`: the vectorized engine's Plan of this scenario, if
    built, and its block size (results never depend on either)."""
    from iadsim.engine.results import run_info

    check_engine(engine)
    if table is not None and (runs is not None or first):
        raise ValueError("give runs (and first) or a table, not both")
    if table is None:
        if runs is None:
            raise ValueError("give runs or a table")
        table = model.table(runs, first)
    if engine == "reference":
        from iadsim.engine.reference import run_reference

        try:
            results = run_reference(model.structure, table, seed=seed, rows=rows)
        except EngineInterrupted as stop:
            if stop.partial is not None:
                stop.partial = stop.partial.with_info(run_info(
                    model.structure, table, seed, engine, model.settings))
            raise
    else:
        from iadsim.engine.vectorized import run_vectorized

        results = run_vectorized(model.structure, table, seed=seed, rows=rows,
                                 plan=plan,  # type: ignore[arg-type]
                                 block_size=block_size)
    return results.with_info(run_info(model.structure, table, seed, engine, model.settings))


def trace(model: Model, replication: int, *, seed: int, plan: object = None) -> Any:
    """The events of one replication at the model's point (who detected, reported, ordered
    and engaged what, when, and each threat's fate), replayed by the fast engine; its
    `results` are that replication's, as a run records them."""
    from iadsim.engine.results import run_info
    from iadsim.engine.vectorized.trace import Trace, trace_row

    table = model.table(1, replication)
    found = trace_row(model.structure, table, seed=seed, plan=plan)  # type: ignore[arg-type]
    return Trace(found.replication, found.events, found.results.with_info(
        run_info(model.structure, table, seed, "vectorized", model.settings)))
