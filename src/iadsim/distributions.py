"""Duration distributions (decision delays, engagement times) as plain numbers: a code and up to
three parameters, with one sampler for the reference engine, which draws from its own
generator; the vectorized engine's compiled quantile function is engine/vectorized/quantiles.py.
Nothing here imports Numba, so that checking a scenario does not load the compiler.

The parameters sit in fixed slots whatever the family: value, mean, low and median in the
first; mode and sigma in the second; high in the third."""

from __future__ import annotations

import math

import numpy as np

# FLYOUT: an engagement lasts the acquisition time plus the flyout to the target (MODEL.md)
FLYOUT, FIXED, EXPONENTIAL, UNIFORM, TRIANGULAR, LOGNORMAL = range(6)
FAMILIES = ("flyout", "fixed", "exponential", "uniform", "triangular", "lognormal")
PARAMETERS = {"flyout": (), "fixed": ("value",), "exponential": ("mean",),
              "uniform": ("low", "high"), "triangular": ("low", "mode", "high"),
              "lognormal": ("median", "sigma")}
SLOT = {"value": 0, "mean": 0, "low": 0, "median": 0, "mode": 1, "sigma": 1, "high": 2}
NAMES = tuple(SLOT)  # every family's parameters, each a parameter of its own in a point


def encode(value: object) -> tuple[int, float, float, float]:
    """(code, a, b, c) of a duration field: None (flyout), a number, or a distribution."""
    if value is None:
        return FLYOUT, 0.0, 0.0, 0.0
    if isinstance(value, (int, float)):
        return FIXED, float(value), 0.0, 0.0
    family = value.dist  # type: ignore[attr-defined]
    slots = [0.0, 0.0, 0.0]
    for name in PARAMETERS[family]:
        slots[SLOT[name]] = float(getattr(value, name))
    return FAMILIES.index(family), slots[0], slots[1], slots[2]


def described(family: str) -> str:
    """'an exponential distribution', 'a uniform distribution', …"""
    return f"{'an' if family[0] in 'aeio' else 'a'} {family} distribution"  # not 'an uniform'


def pack(named: np.ndarray) -> np.ndarray:
    """(code, a, b, c) rows from rows of (code, *NAMES), NaN where a family has no such
    parameter: (B, 1 + len(NAMES)) → (B, 4)."""
    code = named[:, 0]
    out = np.zeros((len(named), 4))
    out[:, 0] = code
    for family, names in PARAMETERS.items():
        rows = code == FAMILIES.index(family)
        for name in names:
            out[rows, 1 + SLOT[name]] = named[rows, 1 + NAMES.index(name)]
    return out


def problem(named: np.ndarray) -> str | None:
    """What is wrong with one (code, *NAMES) row, if anything."""
    family = FAMILIES[int(named[0])]
    values = dict(zip(NAMES, named[1:], strict=True))
    missing = [n for n in PARAMETERS[family] if math.isnan(values[n])]
    if missing:
        return f"{described(family)} needs {', '.join(missing)}"
    if family == "uniform" and values["high"] < values["low"]:
        return "high must be at least low"
    if family == "triangular" and not values["low"] <= values["mode"] <= values["high"]:
        return "expected low <= mode <= high"
    return None


def sample(code: int, a: float, b: float, c: float, rng: np.random.Generator) -> float:
    """One draw from the reference engine's generator (not for FLYOUT)."""
    if code == FIXED:
        return float(a)
    if code == EXPONENTIAL:
        return float(rng.exponential(a))
    if code == UNIFORM:
        return float(rng.uniform(a, c))
    if code == TRIANGULAR:
        return a if c == a else float(rng.triangular(a, b, c))
    if code == LOGNORMAL:
        return float(a * np.exp(b * rng.standard_normal()))
    raise ValueError(f"no draw for distribution code {code}")
