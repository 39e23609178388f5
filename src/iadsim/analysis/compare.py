"""Profiles side by side on the same replications: each observable's mean under each profile, and
its paired difference from the first profile with a 95% interval (common random numbers make
the interval of a difference much narrower than those of the two means)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from iadsim.analysis.problems import AnalysisError
from iadsim.engine import DEFAULT_ENGINE
from iadsim.engine import run as run_engine
from iadsim.engine.results import Estimate
from iadsim.model import Model
from iadsim.tables import ParamTable


class CompareError(AnalysisError):
    """Profiles or observables that cannot be compared, one line per problem."""


@dataclass(frozen=True)
class Comparison:
    """Observables (rows) under profiles (columns), and differences from the first profile."""

    scenario: str
    profiles: tuple[str, ...]
    observables: tuple[str, ...]
    runs: int
    seed: int
    engine: str
    values: dict[str, dict[str, Estimate]]  # observable → profile → mean
    differences: dict[str, dict[str, Estimate]]  # observable → profile (not the first) →
    # paired difference from the first profile

    def to_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "profiles": list(self.profiles),
                "baseline": self.profiles[0], "runs": self.runs, "seed": self.seed,
                "engine": self.engine,
                "observables": {o: {"values": {p: e.as_dict() for p, e in self.values[o].items()},
                                    "difference": {p: e.as_dict() for p, e in
                                                   self.differences[o].items()}}
                                for o in self.observables}}

    def to_arrow(self) -> Any:
        """One row per (observable, profile): mean, interval, and the paired difference."""
        import pyarrow as pa

        rows: dict[str, list[Any]] = {k: [] for k in (
            "observable", "profile", "mean", "ci_low", "ci_high", "difference",
            "difference_ci_low", "difference_ci_high")}
        for o in self.observables:
            for p in self.profiles:
                v, d = self.values[o][p], self.differences[o].get(p)
                rows["observable"].append(o)
                rows["profile"].append(p)
                rows["mean"].append(v.mean)
                rows["ci_low"].append(v.ci_low)
                rows["ci_high"].append(v.ci_high)
                rows["difference"].append(d.mean if d else 0.0)
                rows["difference_ci_low"].append(d.ci_low if d else 0.0)
                rows["difference_ci_high"].append(d.ci_high if d else 0.0)
        return pa.table(rows)


def compare(model: Model, profiles: Sequence[str], observables: Sequence[str], *,
            runs: int = 2000, seed: int = 0, engine: str = DEFAULT_ENGINE) -> Comparison:
    """Run every profile on replications 0 … runs − 1 of one seed, as one parameter table."""
    space = model.space
    known = ["base", *space.scenario.profiles]
    problems = [f"no profile {p!r}; profiles: {', '.join(known)}" for p in profiles
                if p not in known]
    if len(profiles) < 2:
        problems.append("give at least two profiles to compare")
    if len(set(profiles)) < len(profiles):
        problems.append("a profile is named twice")
    if problems:
        raise CompareError(problems)
    points = np.stack([space.profile(p).theta for p in profiles])
    n = len(profiles)
    table = ParamTable(space, points, np.repeat(np.arange(n), runs),
                       np.tile(np.arange(runs, dtype=np.int64), n), tuple(profiles))
    results = run_engine(model, seed=seed, engine=engine, table=table, rows=False)
    values: dict[str, dict[str, Estimate]] = {}
    differences: dict[str, dict[str, Estimate]] = {}
    for o in observables:
        per_run = results.observable(o).reshape(n, runs)
        values[o] = {p: Estimate.of(per_run[i]) for i, p in enumerate(profiles)}
        differences[o] = {p: Estimate.of(per_run[i] - per_run[0])
                          for i, p in enumerate(profiles) if i}
    return Comparison(model.scenario.name, tuple(profiles), tuple(observables), runs, seed,
                      engine, values, differences)
