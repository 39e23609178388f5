"""Duration distributions (decision delays, engagement times) as plain numbers: a code and up to
three parameters, with one quantile function for compiled code and one sampler for the
reference engine, which draws from its own generator.

The parameters sit in fixed slots whatever the family: value, mean, low and median in the
first; mode and sigma in the second; high in the third."""

from __future__ import annotations

import math

import numba
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


# Acklam's rational approximation of the inverse normal CDF, refined by one Halley step
_A = (-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
      1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00)
_B = (-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
      6.680131188771972e+01, -1.328068155288572e+01)
_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
      -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00)
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
      3.754408661907416e+00)


@numba.njit(cache=True)
def ndtri(p: float) -> float:
    """The standard normal quantile at p in (0, 1), to about 1e-14. Works in the lower half,
    where 1 − p is exact and erfc accurate."""
    lower = min(p, 1 - p)
    if lower < 0.02425:
        q = math.sqrt(-2 * math.log(lower))
        x = (((((_C[0] * q + _C[1]) * q + _C[2]) * q + _C[3]) * q + _C[4]) * q + _C[5]) / \
            ((((_D[0] * q + _D[1]) * q + _D[2]) * q + _D[3]) * q + 1)
    else:
        q = lower - 0.5
        r = q * q
        x = (((((_A[0] * r + _A[1]) * r + _A[2]) * r + _A[3]) * r + _A[4]) * r + _A[5]) * q / \
            (((((_B[0] * r + _B[1]) * r + _B[2]) * r + _B[3]) * r + _B[4]) * r + 1)
    e = 0.5 * math.erfc(-x / math.sqrt(2)) - lower
    step = e * math.sqrt(2 * math.pi) * math.exp(x * x / 2)
    x -= step / (1 + x * step / 2)
    return x if p < 0.5 else -x


@numba.njit(cache=True)
def quantile(code: int, a: float, b: float, c: float, u: float) -> float:
    """The distribution's quantile at the uniform u (not for FLYOUT)."""
    if code == FIXED:
        return a
    if code == EXPONENTIAL:
        return -a * math.log1p(-u)
    if code == UNIFORM:
        return a + u * (c - a)
    if code == TRIANGULAR:
        if c == a:
            return a
        if u < (b - a) / (c - a):
            return a + math.sqrt(u * (c - a) * (b - a))
        return c - math.sqrt((1 - u) * (c - a) * (c - b))
    return a * math.exp(b * ndtri(u))  # LOGNORMAL
