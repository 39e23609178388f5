"""Summaries of runs too long to keep in memory: means and 95% confidence intervals of
observables, accumulated block by block."""

from __future__ import annotations

import numpy as np

from iadsim.engine.results import DEFAULT_OBSERVABLES, LINKS, Estimate, Results, RunInfo

__all__ = ["DEFAULT_OBSERVABLES", "Accumulator", "Estimate", "summary_observables"]


def summary_observables(info: RunInfo) -> tuple[str, ...]:
    """The defaults, and each unit type's engagement counts (for the readable summary)."""
    per_type = tuple(f"{count}[unit_type={t}]" for t in dict.fromkeys(info.unit_types)
                     for count in ("engagements", "launches", "launch_failures", "misses",
                                   "kills"))
    return DEFAULT_OBSERVABLES + per_type


class Accumulator:
    """Running means and variances of observables over blocks of replications (Chan et al.'s
    pairwise update), and first-broken-link and deepest-link totals: a summary in bounded
    memory."""

    def __init__(self, names: tuple[str, ...]):
        self.names = names
        self.n = 0
        self.mean = np.zeros(len(names))
        self.m2 = np.zeros(len(names))
        self.links = np.zeros(len(LINKS), dtype=np.int64)
        self.deepest = np.zeros(len(LINKS), dtype=np.int64)

    def add(self, results: Results) -> None:
        if results.runs == 0:
            return
        values = np.stack([results.observable(name) for name in self.names], axis=1)
        n_b = len(values)
        mean_b = values.mean(axis=0)
        m2_b = ((values - mean_b) ** 2).sum(axis=0)
        n = self.n + n_b
        delta = mean_b - self.mean
        self.mean = self.mean + delta * n_b / n
        self.m2 = self.m2 + m2_b + delta ** 2 * self.n * n_b / n
        self.n = n
        self.links += results.links.sum(axis=0)
        self.deepest += results.deepest.sum(axis=0)

    def estimates(self) -> dict[str, Estimate]:
        return {name: Estimate.from_moments(self.n, self.mean[i], self.m2[i])
                for i, name in enumerate(self.names)}

    def link_totals(self) -> dict[str, int]:
        """Failed passages by first broken link."""
        return {name: int(self.links[i]) for i, name in enumerate(LINKS)}

    def deepest_totals(self) -> dict[str, int]:
        """Unkilled threats by deepest link."""
        return {name: int(self.deepest[i]) for i, name in enumerate(LINKS)}
