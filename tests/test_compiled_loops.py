"""The compiled loops' own numerics agree with the NumPy/SciPy functions they stand in for."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.special import ndtri

from iadsim import distributions
from iadsim.engine.reference.intervals import StepRate
from iadsim.engine.vectorized import battle_kernels, chain_kernels, quantiles
from iadsim.engine.vectorized.counter_rng import CounterStreams, replication_keys, uniform_at
from iadsim.scenario.schema import Exponential, Fixed, LogNormal, Triangular, Uniform

U = np.r_[1e-300, 1e-12, np.linspace(1e-6, 1 - 1e-6, 2001), 1 - 1e-12, 0.5]


def test_inverse_normal_matches_scipy_to_double_precision():
    got = np.array([quantiles.ndtri(u) for u in U])
    np.testing.assert_allclose(got, ndtri(U), rtol=4e-15, atol=4e-15)


def _scipy_quantile(value, u):
    """The quantile by SciPy's distributions (an independent oracle)."""
    if isinstance(value, float):
        return np.full_like(u, value)
    match value.dist:
        case "fixed":
            return np.full_like(u, value.value)
        case "exponential":
            return stats.expon.ppf(u, scale=value.mean)
        case "uniform":
            return stats.uniform.ppf(u, loc=value.low, scale=value.high - value.low)
        case "triangular":
            if value.high == value.low:
                return np.full_like(u, value.low)
            width = value.high - value.low
            return stats.triang.ppf(u, (value.mode - value.low) / width, loc=value.low,
                                    scale=width)
        case "lognormal":
            return stats.lognorm.ppf(u, value.sigma, scale=value.median)


@pytest.mark.parametrize("dist", [
    7.5, Fixed(dist="fixed", value=3.0), Exponential(dist="exponential", mean=20.0),
    Uniform(dist="uniform", low=5.0, high=12.0),
    Triangular(dist="triangular", low=2.0, mode=3.0, high=9.0),
    Triangular(dist="triangular", low=4.0, mode=4.0, high=4.0),
    LogNormal(dist="lognormal", median=10.0, sigma=0.6)], ids=repr)
def test_duration_quantiles_match_scipy(dist):
    code, a, b, c = distributions.encode(dist)
    got = np.array([quantiles.quantile(code, a, b, c, u) for u in U])
    np.testing.assert_allclose(got, _scipy_quantile(dist, U), rtol=1e-12)


def _splitmix_uniform(key: int, purpose: int, words: tuple[int, ...]) -> float:
    """The documented construction in plain Python integers: SplitMix64's finaliser chained
    over the purpose and the address words, 53 bits of it as a uniform."""
    mask, golden = 2**64 - 1, 0x9E3779B97F4A7C15

    def mix(z: int) -> int:
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        return z ^ (z >> 31)

    z = key ^ mix((purpose * golden + golden) & mask)
    for w in words:
        z = mix(z ^ mix((w * golden + golden) & mask))
    return ((z >> 11) + 0.5) / 2.0**53


def test_every_way_of_drawing_gives_the_documented_uniforms():
    """NumPy grids, compiled single draws, draws from hashed words and from a shared prefix
    all give the construction's numbers (the engines rely on them being one stream)."""
    from iadsim.engine.vectorized.counter_rng import extend, hash_word, prefix, uniform_hashed

    keys = replication_keys(17, np.arange(20))
    words = (2**40 + 3, 4, 0, 9)
    expected = np.array([_splitmix_uniform(int(k), 12, words) for k in keys])
    np.testing.assert_array_equal(CounterStreams(keys).uniform(12, *words), expected)
    np.testing.assert_array_equal(
        [uniform_at(k, 12, tuple(np.uint64(w) for w in words)) for k in keys], expected)
    hashed = tuple(np.uint64(h) for h in hash_word(np.array(words, dtype=np.uint64)))
    np.testing.assert_array_equal([uniform_hashed(k, 12, hashed) for k in keys], expected)
    shared = [np.uint64(prefix(k, 12, hashed[:3])) for k in keys]
    np.testing.assert_array_equal([extend(z, words[3]) for z in shared], expected)
    grid = CounterStreams(keys).uniform(3, 7, np.arange(4)[:, None], np.arange(5)[None, :])
    assert grid.shape == (20, 4, 5)
    assert grid[6, 2, 3] == _splitmix_uniform(int(keys[6]), 3, (7, 2, 3))


def test_interpolation_along_a_route_matches_numpy():
    rng = np.random.default_rng(5)
    xp = np.r_[0.0, 10.0, 10.0, 25.0, 60.0]  # a repeated time: a zero-length leg
    fp = rng.normal(size=len(xp)) * 1e4
    x = np.r_[xp, -1.0, 70.0, rng.uniform(-5, 65, 500)]  # knots, both ends, and between
    got = [battle_kernels._interp(v, xp, fp) for v in x]
    np.testing.assert_array_equal(got, np.interp(x, xp, fp))


def test_first_detection_matches_the_reference_engines_step_rate():
    """The compiled hazard inversion and the reference engine's StepRate.first_event agree,
    with rates that are zero, infinite or finite in each segment."""
    rng = np.random.default_rng(6)
    for _ in range(2000):
        edges = np.r_[0.0, np.sort(rng.uniform(0, 100, rng.integers(0, 4))), np.inf]
        rates = rng.choice([0.0, np.inf, 0.01, 0.2, 3.0], size=len(edges) - 1,
                           p=[0.3, 0.1, 0.2, 0.2, 0.2])
        lo = rng.uniform(0, 100)
        hi = lo + rng.choice([0.0, rng.uniform(0, 60)])
        hazard = rng.exponential()
        want = StepRate(list(edges), list(rates)).first_event(hazard, lo, hi)
        got = chain_kernels._first_event(rates, lo, hi, hazard, edges[:-1], edges[1:])
        if want is None:
            assert got == np.inf, (edges, rates, lo, hi, hazard)
        else:
            assert got == pytest.approx(want, rel=1e-12, abs=1e-9), (edges, rates, lo, hi)


@pytest.mark.parametrize("mean", [1e-6, 0.05, 2.8, 30.0, 745.0, 1e4, 1e6])
def test_poisson_quantile_is_scipys(mean):
    """Stream arrivals are the Poisson quantile of an addressed uniform; iadsim computes it
    without SciPy and must give SciPy's counts. Uniforms within 1e-9 of 1 are left out: there
    SciPy's own upper tail (1 − its CDF) rounds, while iadsim sums the tail exactly."""
    from iadsim.engine.vectorized.block import poisson_quantile

    u = CounterStreams(replication_keys(3, np.arange(100_000))).uniform(5, 0)
    u = np.concatenate([u[u < 1 - 1e-9], [1e-300, 1e-12, 0.5, 1 - 1e-10]])
    np.testing.assert_array_equal(poisson_quantile(u, mean), stats.poisson.ppf(u, mean))
