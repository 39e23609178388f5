"""Observables (MODEL.md) and their means with 95% confidence intervals."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from iadsim.engine.results import LINKS, UNIT_COUNTS, Results, RunInfo

DEFAULT_OBSERVABLES = (
    "threats", "threats_killed", "leakers", "engagements", "launches",
    "launches[guidance=radar]", "launches[guidance=infrared]", "launch_failures", "misses",
    "missiles_fired", *LINKS,
)
_FILTER_KEYS = ("guidance", "unit_type", "id")
_NAME = re.compile(r"^(?P<base>[a-z_]+)(\[(?P<key>[a-z_]+)=(?P<value>[^\]]+)\])?$")
_Z95 = 1.959963984540054


class UnknownObservable(ValueError):
    """An observable name that the results cannot answer."""


def observable(results: Results, name: str) -> np.ndarray:
    """Per-replication values of a named observable, e.g. `launches[guidance=radar]`."""
    m = _NAME.match(name.strip())
    if not m:
        raise UnknownObservable(f"cannot read observable {name!r}; expected NAME or "
                                f"NAME[key=value]")
    base, key, value = m["base"], m["key"], m["value"]
    if key is None:
        if base == "threats":
            return results.threats.astype(float)
        if base == "threats_killed":
            return results.killed.astype(float)
        if base == "leakers":
            return results.leakers.astype(float)
        if base in LINKS:
            return results.links[:, LINKS.index(base)].astype(float)
    if base in UNIT_COUNTS:
        units = np.ones(len(results.info.unit_ids), dtype=bool)
        if key is not None:
            if key not in _FILTER_KEYS:
                raise UnknownObservable(f"{name!r}: filter by one of {', '.join(_FILTER_KEYS)}")
            labels = {"guidance": results.info.unit_guidance, "unit_type": results.info.unit_types,
                      "id": results.info.unit_ids}[key]
            units = np.array([label == value for label in labels], dtype=bool)
        return results.unit_counts[:, UNIT_COUNTS.index(base), units].sum(axis=1).astype(float)
    raise UnknownObservable(
        f"unknown observable {name!r}; known: threats, threats_killed, leakers, "
        f"{', '.join(UNIT_COUNTS)} (with [guidance=…], [unit_type=…] or [id=…]), "
        f"and the links {', '.join(LINKS)}")


@dataclass(frozen=True)
class Estimate:
    """A mean over replications with its 95% confidence interval and standard error."""

    mean: float
    ci_low: float
    ci_high: float
    se: float

    def as_dict(self) -> dict[str, float | None]:
        """Plain data for JSON; an interval that cannot be computed (one run) is None."""
        return {k: (None if v != v else v) for k, v in
                (("mean", self.mean), ("ci_low", self.ci_low), ("ci_high", self.ci_high))}


def summary_observables(info: RunInfo) -> tuple[str, ...]:
    """The defaults, and each unit type's engagement counts (for the readable summary)."""
    per_type = tuple(f"{count}[unit_type={t}]" for t in dict.fromkeys(info.unit_types)
                     for count in ("engagements", "launches", "launch_failures", "misses",
                                   "kills"))
    return DEFAULT_OBSERVABLES + per_type


class Accumulator:
    """Running means and variances of observables over blocks of replications (Chan et al.'s
    pairwise update), and first-broken-link totals: a summary in bounded memory."""

    def __init__(self, names: tuple[str, ...]):
        self.names = names
        self.n = 0
        self.mean = np.zeros(len(names))
        self.m2 = np.zeros(len(names))
        self.links = np.zeros(len(LINKS), dtype=np.int64)

    def add(self, results: Results) -> None:
        if results.runs == 0:
            return
        values = np.stack([observable(results, name) for name in self.names], axis=1)
        n_b = len(values)
        mean_b = values.mean(axis=0)
        m2_b = ((values - mean_b) ** 2).sum(axis=0)
        n = self.n + n_b
        delta = mean_b - self.mean
        self.mean = self.mean + delta * n_b / n
        self.m2 = self.m2 + m2_b + delta ** 2 * self.n * n_b / n
        self.n = n
        self.links += results.links.sum(axis=0)

    def estimates(self) -> dict[str, Estimate]:
        out = {}
        for i, name in enumerate(self.names):
            if self.n > 1:
                se = float(np.sqrt(self.m2[i] / (self.n - 1) / self.n))
                out[name] = Estimate(float(self.mean[i]), float(self.mean[i] - _Z95 * se),
                                     float(self.mean[i] + _Z95 * se), se)
            else:
                nan = float("nan")
                out[name] = Estimate(float(self.mean[i]) if self.n else nan, nan, nan, nan)
        return out

    def link_totals(self) -> dict[str, int]:
        return {name: int(self.links[i]) for i, name in enumerate(LINKS)}

