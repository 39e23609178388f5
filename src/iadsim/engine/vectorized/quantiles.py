"""The quantile functions of the duration distributions (distributions.py), compiled for the
vectorized engine's loops: a duration is its distribution's quantile at an addressed uniform."""

from __future__ import annotations

import math

import numba

from iadsim.distributions import EXPONENTIAL, FIXED, TRIANGULAR, UNIFORM

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
