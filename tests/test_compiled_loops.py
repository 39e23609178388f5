"""The compiled loops' own numerics agree with the NumPy/SciPy functions they stand in for."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import ndtri

from iadsim.engine import battle_loop
from iadsim.engine.counter_rng import CounterStreams, replication_keys, uniform_at
from iadsim.engine.sampling import duration_quantile
from iadsim.scenario.schema import Exponential, Fixed, LogNormal, Triangular, Uniform

U = np.r_[1e-300, 1e-12, np.linspace(1e-6, 1 - 1e-6, 2001), 1 - 1e-12, 0.5]


def test_inverse_normal_matches_scipy_to_double_precision():
    got = np.array([battle_loop._ndtri(u) for u in U])
    np.testing.assert_allclose(got, ndtri(U), rtol=4e-15, atol=4e-15)


class _Unit:
    def __init__(self, engagement_time):
        self.engagement_time = engagement_time


@pytest.mark.parametrize("dist", [
    7.5, Fixed(dist="fixed", value=3.0), Exponential(dist="exponential", mean=20.0),
    Uniform(dist="uniform", low=5.0, high=12.0),
    Triangular(dist="triangular", low=2.0, mode=3.0, high=9.0),
    Triangular(dist="triangular", low=4.0, mode=4.0, high=4.0),
    LogNormal(dist="lognormal", median=10.0, sigma=0.6)], ids=repr)
def test_engagement_time_draws_match_the_numpy_quantiles(dist):
    (kind,), (params,) = battle_loop.engagement_time_codes([_Unit(dist)])
    got = np.array([battle_loop._duration(kind, *params, u) for u in U])
    np.testing.assert_allclose(got, duration_quantile(dist, U), rtol=1e-13)


def test_compiled_draws_are_the_counter_streams_draws():
    keys = replication_keys(17, np.arange(50))
    words = (2**40 + 3, 4, 0, 9)
    expected = CounterStreams(keys).uniform(12, *words)
    got = [uniform_at(k, 12, tuple(np.uint64(w) for w in words)) for k in keys]
    np.testing.assert_array_equal(got, expected)
