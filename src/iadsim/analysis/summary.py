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
        self.merge(Accumulator.of(results, self.names))

    @classmethod
    def of(cls, results: Results, names: tuple[str, ...]) -> Accumulator:
        """The summary of one block of results (its moments as computed, so that merging it
        is adding the block)."""
        out = cls(names)
        if results.runs:
            values = np.stack([results.observable(name) for name in names], axis=1)
            out.n, out.mean = len(values), values.mean(axis=0)
            out.m2 = ((values - out.mean) ** 2).sum(axis=0)
            out.links, out.deepest = results.links.sum(axis=0), results.deepest.sum(axis=0)
        return out

    def merge(self, other: Accumulator) -> None:
        """Add another accumulator's replications (of the same observables)."""
        if other.n:
            self._join(other.n, other.mean, other.m2, other.links, other.deepest)

    def _join(self, n_b: int, mean_b: np.ndarray, m2_b: np.ndarray, links: np.ndarray,
              deepest: np.ndarray) -> None:
        n = self.n + n_b
        delta = mean_b - self.mean
        self.mean = self.mean + delta * n_b / n
        self.m2 = self.m2 + m2_b + delta ** 2 * self.n * n_b / n
        self.n = n
        self.links = self.links + links
        self.deepest = self.deepest + deepest

    def state(self) -> dict[str, object]:
        """Plain data that `from_state` reads back exactly (floats round-trip through JSON)."""
        return {"names": list(self.names), "n": self.n, "mean": self.mean.tolist(),
                "m2": self.m2.tolist(), "links": self.links.tolist(),
                "deepest": self.deepest.tolist()}

    @classmethod
    def from_state(cls, state: dict[str, object]) -> Accumulator:
        out = cls(tuple(state["names"]))  # type: ignore[arg-type]
        out.n = int(state["n"])  # type: ignore[arg-type]
        out.mean = np.array(state["mean"], dtype=float)
        out.m2 = np.array(state["m2"], dtype=float)
        out.links = np.array(state["links"], dtype=np.int64)
        out.deepest = np.array(state["deepest"], dtype=np.int64)
        return out

    def estimates(self) -> dict[str, Estimate]:
        return {name: Estimate.from_moments(self.n, self.mean[i], self.m2[i])
                for i, name in enumerate(self.names)}

    def link_totals(self) -> dict[str, int]:
        """Failed passages by first broken link."""
        return {name: int(self.links[i]) for i, name in enumerate(LINKS)}

    def deepest_totals(self) -> dict[str, int]:
        """Unkilled threats by deepest link."""
        return {name: int(self.deepest[i]) for i, name in enumerate(LINKS)}
