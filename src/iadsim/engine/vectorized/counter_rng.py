"""Counter-based random numbers for the vectorized engine.

Every random quantity of a replication has an address — (purpose, indices…), e.g. the
exponential that decides when sensor 3 first detects threat 12 in coverage interval 0 — and its
value is a hash of the replication's key and that address. So replication r gets the same
numbers whether it is simulated alone, in a block of 4096, or in another worker process: results
never depend on how the work is split. The run's root key comes from NumPy's SeedSequence; the
key of replication r is a hash of the root key and r.

The hash is SplitMix64's finaliser (Steele, Lea & Flood 2014) chained over the address words,
the usual counter-based construction; 53 bits of it make a uniform in (0, 1).
"""

from __future__ import annotations

import numba
import numpy as np

# The purposes of the draws (the first word of every address).
READY, ORDERS, STRIKE, LINK_CUT, DISABLE, ARRIVALS, ARRIVAL_TIME, DETECT, DECISION, ACQUIRE, \
    ENGAGE_TIME, LAUNCH, KILL_DRAW, SHARED_READY = range(14)
# Draws that analyses make per replication outside the engines (a hypothesis's prior draws),
# addressed far from the engines' purposes so that they never share a number with them.
PRIOR_DRAW = 64

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = (np.uint64(s) for s in (30, 27, 31, 11))


def _mix(z: np.ndarray) -> np.ndarray:
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


def root_key(seed: int) -> np.uint64:
    """The 64-bit key of a whole run, from its integer seed."""
    return np.random.SeedSequence(seed).generate_state(1, np.uint64)[0]


def replication_keys(seed: int, replications: np.ndarray) -> np.ndarray:
    """Keys of the given replication indices."""
    with np.errstate(over="ignore"):
        return _mix(root_key(seed) ^ _mix(replications.astype(np.uint64) * _GOLDEN + _GOLDEN))


class CounterStreams:
    """Random numbers addressed by (replication, purpose, indices)."""

    def __init__(self, keys: np.ndarray):
        self.keys = keys  # (B,) uint64

    def uniform(self, purpose: int, *index: int | np.ndarray) -> np.ndarray:
        """Uniforms in (0, 1), shape (B, *broadcast(index)): every replication, every index."""
        arrays = np.broadcast_arrays(*(np.asarray(i, dtype=np.uint64) for i in index))
        shape = arrays[0].shape if index else ()
        words = np.stack([a.reshape(-1) for a in arrays], axis=1) if index else \
            np.zeros((1, 0), np.uint64)
        return _grid(self.keys, purpose, words).reshape((len(self.keys),) + shape)


def hash_word(word: np.ndarray | np.uint64) -> np.ndarray:
    """The hash of address words, which depends on nothing else: compiled loops take the
    words of fixed entities (a threat, a unit) hashed once, not once per draw."""
    with np.errstate(over="ignore"):
        return _mix(np.asarray(word, dtype=np.uint64) * _GOLDEN + _GOLDEN)


@numba.njit(cache=True, inline="always")
def _mix_one(z: np.uint64) -> np.uint64:
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@numba.njit(cache=True, inline="always")
def hash_one(word) -> np.uint64:
    """hash_word of one word, in compiled code."""
    return _mix_one(np.uint64(word) * _GOLDEN + _GOLDEN)


@numba.njit(cache=True, inline="always")
def _to_uniform(z: np.uint64) -> float:
    return (float(z >> _S11) + 0.5) * (1.0 / 9007199254740992.0)


@numba.njit(cache=True, inline="always")
def prefix(key: np.uint64, purpose: int, hashed: tuple) -> np.uint64:
    """The state after the key, the purpose and some hashed words of an address: draws whose
    addresses share those words continue from it (`extend`)."""
    z = np.uint64(key) ^ hash_one(purpose)
    for h in hashed:
        z = _mix_one(z ^ h)
    return z


@numba.njit(cache=True, inline="always")
def extend(z: np.uint64, word) -> float:
    """The uniform at the address of `prefix` state z followed by one more word."""
    return _to_uniform(_mix_one(z ^ hash_one(word)))


@numba.njit(cache=True, inline="always")
def uniform_hashed(key: np.uint64, purpose: int, hashed: tuple) -> float:
    """The uniform at address (purpose, *words), given the words hashed (hash_word)."""
    return _to_uniform(prefix(key, purpose, hashed))


@numba.njit(cache=True)
def uniform_at(key: np.uint64, purpose: int, words: tuple) -> float:
    """The uniform `CounterStreams` gives replication `key` at address (purpose, *words), for
    compiled code; `words` is a tuple of np.uint64 (Numba cannot loop over mixed tuples)."""
    z = np.uint64(key) ^ hash_one(purpose)
    for w in words:
        z = _mix_one(z ^ hash_one(w))
    return _to_uniform(z)


@numba.njit(cache=True)
def _grid(keys, purpose, words):
    """(B, K) uniforms: every key at each of K addresses (purpose, *words[k])."""
    hashed = np.empty_like(words)
    for k in range(words.shape[0]):
        for w in range(words.shape[1]):
            hashed[k, w] = hash_one(words[k, w])
    out = np.empty((len(keys), words.shape[0]))
    for b in range(len(keys)):
        start = keys[b] ^ hash_one(purpose)
        for k in range(hashed.shape[0]):
            z = start
            for w in range(hashed.shape[1]):
                z = _mix_one(z ^ hashed[k, w])
            out[b, k] = _to_uniform(z)
    return out
