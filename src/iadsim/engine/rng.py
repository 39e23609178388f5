"""Seeding: one integer seed fixes a whole run, however the work is split.

Each replication (reference engine) or each fixed-size block of replications (vectorized
engine) gets its own child of the run's SeedSequence, addressed by its index, so results do not
depend on batch sizes, worker counts or the order in which work finishes.
"""

from __future__ import annotations

import numpy as np

BLOCK_SIZE = 4096  # replications per block of the vectorized engine; part of the seeding contract


def replication_rng(seed: int, replication: int) -> np.random.Generator:
    """The random stream of one replication (reference engine)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(0, replication))))


def block_rng(seed: int, block: int) -> np.random.Generator:
    """The random stream of one block of BLOCK_SIZE replications (vectorized engine)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(1, block))))
