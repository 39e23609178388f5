"""Engagements for a block of replications, and the outcome of every passage.

Every (replication, passage) with an engageable window is a *candidate*; battle_loop.py plays
them as MODEL.md's queues, each replication in strict time order, in compiled code. This module
hands it the block's arrays and records what happened.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from iadsim.compile import KINDS, TRAINED
from iadsim.engine.battle_loop import first_broken_links, passage_rows, play_block
from iadsim.engine.results import KILLS, LINKS, UNIT_COUNTS, Results, RunInfo
from iadsim.engine.vectorized import INF, Block


@dataclass
class Battle:
    """What the engagements of a block did: per threat, per unit and per passage."""

    kill_time: np.ndarray  # (B, J) when the threat was killed, inf if it was not
    killer: np.ndarray  # (B, J) the unit credited with the kill, −1 if none
    counts: np.ndarray  # (B, len(UNIT_COUNTS), U)
    n_engaged: np.ndarray  # (B, P) engagements of the passage
    last_outcome: np.ndarray  # (B, P) battle_loop.NONE, ABORTED, NO_LAUNCH, MISS or KILL_DRAW
    last_resolution: np.ndarray  # (B, P) when its last engagement resolved
    skipped: np.ndarray  # (B, P) blocked by the engage-at-most-once rule


def fight(block: Block) -> Battle:
    """Play every replication's engagements (compiled; see battle_loop.py)."""
    plan, cs = block.plan, block.cs
    B, U, J, P = block.B, len(cs.units), len(block.threat_id), len(block.p_threat)
    out = Battle(np.full((B, J), INF), np.full((B, J), -1, dtype=np.int64),
                 np.zeros((B, len(UNIT_COUNTS), U), dtype=np.int64),
                 np.zeros((B, P), dtype=np.int64), np.zeros((B, P), dtype=np.int8),
                 np.full((B, P), -INF), np.zeros((B, P), dtype=bool))
    if P == 0:  # no unit ever has a threat in its envelope (or there are no units)
        return out
    kind, params = plan.engagement_time
    track_off, track_t, track_x, track_y, track_z = plan.tracks
    play_block(
        keys=block.rng.keys, win_lo=block.win_lo, win_hi=block.win_hi, p_unit=block.p_unit,
        p_threat=block.p_threat, p_envelope=plan.passages["envelope"][block.p_static],
        threat_id=block.threat_id, threat_flight=block.threat_flight, t0=block.t0,
        destroyed_at=block.destroyed_at["fire_unit"],
        trained=block.ready["fire_unit"][:, :, TRAINED] | plan.autonomous_crew,
        channels=plan.channels, salvo=plan.salvo, missiles0=plan.missiles, sls=plan.sls,
        reliability=plan.reliability, pk=plan.pk, pk_lo=plan.pk_lo, pk_factor=plan.pk_factor,
        track_end=plan.track_end, unit_xyz=plan.unit_xyz, acquisition_s=plan.acquisition_s,
        missile_speed=plan.missile_speed, et_kind=kind, et_params=params, track_off=track_off,
        track_t=track_t, track_x=track_x, track_y=track_y, track_z=track_z,
        untrained_factor=float(cs.untrained_crew_factor), kill_time=out.kill_time,
        killer=out.killer, counts=out.counts, n_engaged=out.n_engaged,
        last_outcome=out.last_outcome, last_resolution=out.last_resolution, skipped=out.skipped)
    return out


def play(block: Block, reps: np.ndarray, rows: bool = True) -> Results:
    """Play the block's engagements and record every replication (MODEL.md)."""
    return _record(block, fight(block), reps, rows)


def _record(block: Block, battle: Battle, reps: np.ndarray, rows: bool) -> Results:
    cs = block.cs
    B, U = block.B, len(cs.units)
    killer = np.where(block.active, battle.killer, -1)
    counts = battle.counts.copy()
    counts[:, KILLS] = np.bincount((np.arange(B)[:, None] * U + killer)[killer >= 0],
                                   minlength=B * U).reshape(B, U)
    # the first broken link of every passage that failed
    j, u = block.p_threat, block.p_unit
    link = np.empty(block.p_hi.shape, dtype=np.int8)
    counted = np.empty(block.p_hi.shape, dtype=bool)
    links = np.zeros((B, len(LINKS)), dtype=np.int32)
    first_broken_links(p_threat=j, p_unit=u, p_hi=block.p_hi, p_valid=block.p_valid,
                       link_held=block.link_held, kill_time=battle.kill_time,
                       killer=battle.killer, n_engaged=battle.n_engaged,
                       last_outcome=battle.last_outcome, last_resolution=battle.last_resolution,
                       skipped=battle.skipped, link=link, counted=counted, links=links)
    if not rows:  # the long tables are wanted only when rows are written
        counted, active = np.zeros_like(counted), np.zeros_like(block.active)
    else:
        active = block.active
    tb, tj = np.nonzero(active)
    passage_table = passage_rows(counted=counted, reps=reps, active=block.active, p_threat=j,
                                 p_unit=u, link=link, p_lo=block.p_lo, p_hi=block.p_hi)
    destroyed = np.concatenate([block.destroyed_at[k] <= cs.duration_s for k in KINDS], axis=1)
    empty = RunInfo("", "", 0, "", (), (), (), (), ())
    return Results(
        info=empty, replication=reps, unit_counts=counts.astype(np.int32),
        threats=block.active.sum(axis=1).astype(np.int32),
        killed=(killer >= 0).sum(axis=1).astype(np.int32), links=links, destroyed=destroyed,
        threat_rows={"replication": reps[tb], "threat": _rank(tb).astype(np.int32),
                     "flight": block.threat_flight[tj].astype(np.int32),
                     "start_s": block.t0[tb, tj], "killer": killer[tb, tj].astype(np.int32),
                     "kill_time_s": np.where(killer[tb, tj] >= 0, battle.kill_time[tb, tj],
                                             np.nan)},
        passage_rows=dict(zip(("replication", "threat", "unit", "link", "entry_s", "exit_s"),
                              passage_table, strict=True)))


def _rank(rows: np.ndarray) -> np.ndarray:
    """0, 1, 2, … within each run of equal values of a sorted array."""
    start = np.r_[0, np.flatnonzero(rows[1:] != rows[:-1]) + 1]
    return np.arange(len(rows)) - np.repeat(start, np.diff(np.r_[start, len(rows)]))

