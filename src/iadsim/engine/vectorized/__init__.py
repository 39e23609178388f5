"""The vectorized engine: MODEL.md exactly as the reference engine implements it, computed for a
block of rows at once — NumPy arrays over rows, with the loops inside each replication compiled
by Numba (chain_kernels.py, battle_kernels.py). Counter-based random numbers (counter_rng.py)
make a row's results depend on its replication index and parameters only: not on its block, and
for common random numbers, not on the other rows.

plan.py: what is computed once per run; block.py: a block's world and kill chain; battle.py:
its engagements and what they record.
"""

from __future__ import annotations

import numpy as np

from iadsim import engine, interrupt
from iadsim.compile import CompiledScenario
from iadsim.engine.results import Results
from iadsim.engine.vectorized.battle import play
from iadsim.engine.vectorized.block import Block, arrivals
from iadsim.engine.vectorized.counter_rng import CounterStreams, replication_keys
from iadsim.engine.vectorized.plan import Plan
from iadsim.tables import ParamTable

__all__ = ["Plan", "loops_cached", "run_vectorized"]


def run_vectorized(cs: CompiledScenario, table: ParamTable, *, seed: int,
                   plan: Plan | None = None, block_size: int | None = None, rows: bool = True
                   ) -> Results:
    """Run every row of the table, a block at a time (`rows`: also the per-threat and
    per-passage tables). `plan` is the scenario's Plan, if already built."""
    plan = plan or Plan(cs)
    size = block_size or engine.block_size(cs, plan)
    order = None
    if plan.streams and len(table) > size:  # a stream's threats take as many slots in a block
        # as its busiest row has arrivals: rows of like arrivals are played together, and put
        # back in order at the end
        with interrupt.deferred():  # compiled code (see below)
            keys = replication_keys(seed, table.replication)
            order = np.argsort(arrivals(cs, CounterStreams(keys)).sum(axis=1), kind="stable")
        table = table.take(order)
    parts = []
    for lo in range(0, len(table), size):
        block_rows = table.rows(lo, min(lo + size, len(table)))
        rng = CounterStreams(replication_keys(seed, block_rows.replication))
        with interrupt.deferred():  # Ctrl-C acts after the block: raised inside a callback
            # from compiled code (Numba loading a cache) it would become a SystemError
            parts.append(play(Block(plan, block_rows.params(), rng), rows).labelled(block_rows))
    results = Results.concat(parts) if parts else Results.empty(table)
    return results if order is None else results.take(np.argsort(order))


def loops_cached() -> bool:
    """Whether Numba's cache holds every compiled loop for this code (else the first block
    compiles them: some 20 s once after install or after a change of the engine)."""
    from iadsim.engine.vectorized import battle_kernels, chain_kernels, counter_rng

    loops = (counter_rng._grid, chain_kernels.command_chain, chain_kernels.order_times,
             chain_kernels.passage_windows, battle_kernels.play_block,
             battle_kernels.first_broken_links, battle_kernels.passage_rows,
             battle_kernels.threat_rows)
    try:  # the index of each loop's cache, empty when missing or stale
        return all(loop._cache._cache_file._load_index() for loop in loops)
    except Exception:  # a Numba without this layout: say nothing rather than guess
        return True
