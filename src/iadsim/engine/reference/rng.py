"""Seeding of the reference engine: one integer seed fixes a whole run.

Replication r gets its own generator, a child of the run's SeedSequence addressed by r, so
results do not depend on how the replications are split into batches or processes. (The
vectorized engine addresses its draws the same way, through counter_rng.py.)
"""

from __future__ import annotations

import numpy as np


def replication_rng(seed: int, replication: int) -> np.random.Generator:
    """The random stream of one replication."""
    seq = np.random.SeedSequence(seed, spawn_key=(0, replication))
    return np.random.Generator(np.random.PCG64(seq))
