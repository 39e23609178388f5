"""Draws of the scenario's duration fields (a plain number or a distribution)."""

from __future__ import annotations

import numpy as np

from iadsim.scenario.schema import Distribution, Fixed


def sample_duration(value: float | Distribution | None, rng: np.random.Generator) -> float:
    """One draw of a duration field (a number or a distribution)."""
    if value is None:
        raise ValueError("no duration given")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, Fixed):
        return value.value
    match value.dist:
        case "exponential":
            return float(rng.exponential(value.mean))  # type: ignore[union-attr]
        case "uniform":
            return float(rng.uniform(value.low, value.high))  # type: ignore[union-attr]
        case "triangular":
            lo, mode, hi = value.low, value.mode, value.high  # type: ignore[union-attr]
            return lo if hi == lo else float(rng.triangular(lo, mode, hi))
        case "lognormal":
            return float(value.median * np.exp(value.sigma * rng.standard_normal()))  # type: ignore[union-attr]
    raise ValueError(f"unknown distribution {value!r}")


def duration_quantile(value: float | Distribution | None, u: np.ndarray) -> np.ndarray:
    """Draws of a duration field by inverting its distribution at uniforms u (vectorized)."""
    if value is None:
        raise ValueError("no duration given")
    if isinstance(value, (int, float)):
        return np.full(np.shape(u), float(value))
    if isinstance(value, Fixed):
        return np.full(np.shape(u), value.value)
    match value.dist:
        case "exponential":
            return -value.mean * np.log1p(-u)  # type: ignore[union-attr]
        case "uniform":
            return value.low + u * (value.high - value.low)  # type: ignore[union-attr]
        case "triangular":
            lo, mode, hi = value.low, value.mode, value.high  # type: ignore[union-attr]
            if hi == lo:
                return np.full(np.shape(u), lo)
            cut = (mode - lo) / (hi - lo)
            return np.where(u < cut, lo + np.sqrt(u * (hi - lo) * (mode - lo)),
                            hi - np.sqrt((1 - u) * (hi - lo) * (hi - mode)))
        case "lognormal":
            from scipy.special import ndtri

            return value.median * np.exp(value.sigma * ndtri(u))  # type: ignore[union-attr]
    raise ValueError(f"unknown distribution {value!r}")
