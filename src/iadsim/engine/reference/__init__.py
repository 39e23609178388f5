"""The reference engine: one replication at a time, written to be read (replication.py). It is
the oracle that the vectorized engine must agree with.

Each row draws from its own NumPy generator (rng.py), consumed in order, so a change of
parameters changes which numbers later draws get: it does not give common random numbers."""

from __future__ import annotations

from iadsim.compile import CompiledScenario
from iadsim.engine.reference.replication import simulate_row
from iadsim.engine.results import Results
from iadsim.tables import ParamTable

__all__ = ["run_reference"]


def run_reference(cs: CompiledScenario, table: ParamTable, *, seed: int, rows: bool = True
                  ) -> Results:
    """Run every row of the table. (It always records the per-threat and per-passage tables;
    `rows` is for the engines' common signature.) On Ctrl-C raise EngineInterrupted with the
    rows that finished."""
    from iadsim.engine import EngineInterrupted

    params = table.params()
    records = []
    try:
        for i, replication in enumerate(table.replication):
            records.append(simulate_row(cs, params.row(i), seed, int(replication)))
    except KeyboardInterrupt:
        raise EngineInterrupted(Results.from_replications(table.rows(0, len(records)), records)
                                if records else None) from None
    return Results.from_replications(table, records)
