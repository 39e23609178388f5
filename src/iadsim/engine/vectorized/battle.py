"""Engagements for a block of replications, and the outcome of every passage.

Every (replication, passage) with an engageable window is a *candidate*; battle_kernels.py plays
them as MODEL.md's queues, each replication in strict time order, in compiled code. This module
hands it the block's arrays and records what happened.
"""

from __future__ import annotations

import numpy as np

from iadsim.engine.results import Results
from iadsim.engine.vectorized import battle_kernels as kernels
from iadsim.engine.vectorized.block import Block
from iadsim.rules import INF, KILLS, KINDS, LINKS, TRAINED, UNIT_COUNTS


def fight(block: Block, cand: kernels.Candidates, log: np.ndarray | None = None
          ) -> kernels.Outcomes:
    """Play every replication's engagements (compiled; see battle_kernels.py); with `log`,
    a (rows, len(LOG_COLUMNS)) array, each engagement is also written there (until full; the
    rows written are those not left NaN)."""
    plan, par = block.plan, block.params
    B, U, J, P = block.B, len(block.cs.units), len(block.threat_id), len(block.p_threat)
    out = kernels.Outcomes(
        kill_time=np.full((B, J), INF), killer=np.full((B, J), -1, dtype=np.int64),
        counts=np.zeros((B, len(UNIT_COUNTS), U), dtype=np.int64),
        n_engaged=np.zeros((B, P), dtype=np.int64), last_outcome=np.zeros((B, P), dtype=np.int8),
        last_resolution=np.full((B, P), -INF), last_engaged=np.full((B, J), -INF),
        empty_at=np.full((B, U), INF))
    if P == 0:  # no unit ever has a threat in its envelope (or there are no units)
        return out
    track_off, track_t, track_x, track_y, track_z = plan.tracks
    kernels.play_block(
        keys=block.rng.keys, cand=cand,
        threats=kernels.Threats(block.threat_word, block.threat_flight, block.t0, plan.track_end,
                                track_off, track_t, track_x, track_y, track_z),
        units=kernels.Units(
            channels=par.channels, salvo=par.salvo, missiles=par.missiles,
            sls=par.shoot_look_shoot, reliability=par.launch_reliability, pk=par.pk,
            pk_factor=block.pk_factor, launch_factor=block.launch_factor,
            trained=block.ready["fire_unit"][:, :, TRAINED] | block.automated,
            untrained_factor=par.untrained_crew_factor,
            destroyed_at=block.destroyed_at["fire_unit"], engagement_time=par.engagement_time,
            acquisition_s=par.acquisition_time, missile_speed=par.missile_speed,
            xyz=plan.unit_xyz, pk_lo=plan.pk_lo),
        out=out, log=log if log is not None else _NO_LOG, n_log=np.zeros(1, np.int64))
    return out


_NO_LOG = np.empty((0, len(kernels.LOG_COLUMNS)))


def play(block: Block, rows: bool = True) -> Results:
    """Play the block's engagements and record every row (MODEL.md)."""
    cand = candidates(block)
    return record(block, cand, fight(block, cand), rows)


def record(block: Block, cand: kernels.Candidates, battle: kernels.Outcomes, rows: bool
           ) -> Results:
    """The block's results from its fought battle (the trace records a replayed one too)."""
    cs = block.cs
    B, U = block.B, len(cs.units)
    killer = np.where(block.active, battle.killer, -1)
    counts = battle.counts.copy()
    counts[:, KILLS] = np.bincount((np.arange(B)[:, None] * U + killer)[killer >= 0],
                                   minlength=B * U).reshape(B, U)
    # the first broken link of every passage that failed, or held fire
    link = np.empty(block.windows.hi.shape, dtype=np.int8)
    listed = np.empty(block.windows.hi.shape, dtype=bool)
    unit_links = np.zeros((B, U, len(LINKS)), dtype=np.int32)
    deepest = np.full(block.active.shape, -1, dtype=np.int8)
    kernels.first_broken_links(cand=cand, windows=block.windows, out=battle, link=link,
                               listed=listed, unit_links=unit_links, deepest=deepest)
    deepest = np.where(block.active & (killer < 0), deepest, -1)  # of unkilled threats only
    of_flight = (block.threat_flight[:, None] == np.arange(len(cs.flights))[None, :]).astype(
        np.int32)  # (J, F)
    if not rows:  # the long tables are wanted only when rows are written
        listed, active = np.zeros_like(listed), np.zeros_like(block.active)
    else:
        active = block.active
    row = np.arange(B, dtype=np.int64)
    passage_table = kernels.passage_rows(listed=listed, reps=row, active=block.active,
                                         p_threat=block.p_threat, p_unit=block.p_unit, link=link,
                                         p_lo=block.windows.lo, p_hi=block.windows.hi)
    threat_table = kernels.threat_rows(
        active=active, flight=block.threat_flight, t0=block.t0, killer=killer,
        kill_time=battle.kill_time, deepest=deepest, last_engaged=battle.last_engaged,
        track_end=block.plan.track_end)
    destroyed = np.concatenate([block.destroyed_at[k] <= cs.duration_s for k in KINDS], axis=1)
    return Results(
        info=None, table=None, unit_counts=counts.astype(np.int32),  # type: ignore[arg-type]
        flight_threats=block.active.astype(np.int32) @ of_flight,
        flight_killed=(killer >= 0).astype(np.int32) @ of_flight,
        unit_links=unit_links, deepest=_per_row(deepest, len(LINKS)), destroyed=destroyed,
        threat_rows=dict(zip(("row", "threat", "flight", "start_s", "killer", "kill_time_s",
                              "deepest_link", "arrived_first"), threat_table, strict=True)),
        passage_rows=dict(zip(("row", "threat", "unit", "link", "entry_s", "exit_s"),
                              passage_table, strict=True)))


def _per_row(values: np.ndarray, n: int) -> np.ndarray:
    """Counts of each value 0 … n − 1 in each row of a (B, J) array (−1 not counted)."""
    B = len(values)
    index = (np.arange(B)[:, None] * n + values)[values >= 0]
    return np.bincount(index, minlength=B * n).reshape(B, n).astype(np.int32)


def candidates(block: Block) -> kernels.Candidates:
    """The block's threat–unit passages, as the battle kernel takes them."""
    static = block.plan.passages
    return kernels.Candidates(block.windows.win_lo, block.windows.win_hi, block.p_unit,
                              block.p_threat, static["words"][block.p_static],
                              static["priority"][block.p_static], block.windows.lo)
