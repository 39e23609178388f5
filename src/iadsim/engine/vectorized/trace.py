"""The event trace of one replication: the fast engine replays it, keeping what a block
computes and then forgets — when each command post's radars first detected each threat, when
it was reported and ordered, each engagement with its outcome — beside the replication's
recorded results, which the trace must agree with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from iadsim.compile import CompiledScenario
from iadsim.engine.results import Results
from iadsim.engine.vectorized import battle_kernels as kernels
from iadsim.engine.vectorized.battle import candidates, fight, record
from iadsim.engine.vectorized.block import Block
from iadsim.engine.vectorized.counter_rng import CounterStreams, replication_keys
from iadsim.engine.vectorized.plan import Plan
from iadsim.rules import ABORTED, INF, KILL, MISS, NO_LAUNCH
from iadsim.tables import ParamTable

OUTCOME_NAMES = {KILL: "kill", MISS: "miss", NO_LAUNCH: "no launch", ABORTED: "aborted"}
MAX_ENGAGEMENTS = 1_000_000  # a trace keeps at most this many engagements


@dataclass(frozen=True)
class Trace:
    """One replication's events, in time order, and its results (one row)."""

    replication: int
    events: list[dict[str, Any]]  # time_s, kind, threat, flight, entity, end_s, outcome
    results: Results


def trace_row(cs: CompiledScenario, table: ParamTable, *, seed: int,
              plan: Plan | None = None) -> Trace:
    """Replay the single row of `table` with its events kept."""
    if len(table) != 1:
        raise ValueError("a trace replays one replication: give a table of one row")
    plan = plan or Plan(cs)
    block = Block(plan, table.params(), CounterStreams(replication_keys(seed,
                                                                        table.replication)))
    cand = candidates(block)
    # every engagement fires at least one missile: the magazines bound their number
    rows = min(int(block.params.missiles.sum()), MAX_ENGAGEMENTS) if len(block.p_threat) else 0
    log = np.full((rows, len(kernels.LOG_COLUMNS)), np.nan)
    battle = fight(block, cand, log)
    results = record(block, cand, battle, True).labelled(table)
    log = log[~np.isnan(log[:, 0])]
    return Trace(int(table.replication[0]), _events(cs, block, battle, log), results)


def _events(cs: CompiledScenario, block: Block, battle: kernels.Outcomes,
            log: np.ndarray) -> list[dict[str, Any]]:
    flights = [f.id for f in cs.flights]
    posts = [c.id for c in cs.command_posts]
    units = [u.id for u in cs.units]
    events: list[dict[str, Any]] = []

    def add(time: float, kind: str, j: int, entity: str = "", end: float | None = None,
            outcome: str = "") -> None:
        events.append({"time_s": float(time), "kind": kind, "threat": int(j),
                       "flight": flights[int(block.threat_flight[j])], "entity": entity,
                       "end_s": None if end is None else float(end), "outcome": outcome})

    for j in np.flatnonzero(block.active[0]):
        start = block.t0[0, j]
        end = start + block.plan.track_end[block.threat_flight[j]]
        add(start, "started", j, end=end)
        for c, post in enumerate(posts):
            for kind, times in (("detected", block.detected_at), ("reported",
                                                                   block.reported_at),
                                ("ordered", block.ordered_at)):
                if times[0, j, c] < INF:
                    add(times[0, j, c], kind, j, post)
        killer = battle.killer[0, j]
        if killer >= 0:
            add(battle.kill_time[0, j], "killed", j, units[killer])
        else:
            add(end, "leaked", j)
    for row in log:
        _, _, u, j, t, resolve, fired, launched, kills, outcome = row
        add(t, "engaged", int(j), units[int(u)], end=resolve,
            outcome=f"{OUTCOME_NAMES[int(outcome)]} ({int(fired)} fired, {int(launched)} "
                    f"launched, {int(kills)} hit)")
    order = {"started": 0, "detected": 1, "reported": 2, "ordered": 3, "engaged": 4,
             "killed": 5, "leaked": 6}
    return sorted(events, key=lambda e: (e["time_s"], order[e["kind"]], e["threat"]))
