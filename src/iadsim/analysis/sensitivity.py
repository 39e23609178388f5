"""Global sensitivity of an observable to parameters over ranges, with SALib: Sobol (Saltelli
sampling; first-order S1 and total ST indices with intervals) or Morris (μ*, σ).

All sample points run as one design. A dummy parameter that the model never reads is always
added; it chooses which block of replications a point runs on, so its indices are what Monte
Carlo noise alone makes of "influence": the noise floor. Points that share a dummy block share
random numbers, so a step that changes one real parameter keeps its luck while the dummy's
steps do not: the floor is an upper bound on the noise in a real index, and an index below it
with a tight interval of its own can still be real.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from iadsim.analysis.problems import AnalysisError
from iadsim.engine import DEFAULT_ENGINE
from iadsim.engine import run as run_engine
from iadsim.model import Model
from iadsim.tables import ParamTable

METHODS = ("sobol", "morris")
DUMMY = "(noise floor)"
NOISE_BLOCKS = 8  # replication blocks the dummy chooses among


class SensitivityError(AnalysisError):
    """Parameters, ranges or settings that cannot be analysed, one line per problem."""


@dataclass(frozen=True)
class Sensitivity:
    """Indices per parameter path (and the dummy, last)."""

    scenario: str
    profile: str
    observable: str
    method: str
    names: tuple[str, ...]  # the paths, then DUMMY
    bounds: tuple[tuple[float, float], ...]
    points: int
    runs_per_point: int
    seed: int
    indices: dict[str, np.ndarray]  # sobol: S1, S1_conf, ST, ST_conf; morris: mu_star,
    # mu_star_conf, sigma

    def to_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "profile": self.profile,
                "observable": self.observable, "method": self.method, "points": self.points,
                "runs_per_point": self.runs_per_point, "seed": self.seed,
                "noise_floor": DUMMY,
                "parameters": [{"path": n, "bounds": list(b),
                                **{k: float(v[i]) for k, v in self.indices.items()}}
                               for i, (n, b) in enumerate(zip(self.names, self.bounds,
                                                              strict=True))]}

    def to_arrow(self) -> Any:
        import pyarrow as pa

        return pa.table({"path": list(self.names),
                         **{k: np.asarray(v, dtype=float) for k, v in self.indices.items()}})


def sensitivity(model: Model, ranges: Mapping[str, Sequence[float]], *, method: str = "sobol",
                observable: str = "leakers", samples: int = 256, runs_per_point: int = 100,
                seed: int = 0, engine: str = DEFAULT_ENGINE,
                progress: Callable[[int, int], None] | None = None) -> Sensitivity:
    """Sobol or Morris indices of `observable` for parameters (path → [low, high]) around the
    model's point; `samples`: SALib's N (base samples, or Morris trajectories)."""
    names, bounds = _check(model, ranges, method)
    problem = {"num_vars": len(names) + 1, "names": [*names, DUMMY],
               "bounds": [*map(list, bounds), [0.0, 1.0]]}
    if method == "sobol":
        from SALib.analyze import sobol as analyze
        from SALib.sample import sobol as sample

        X = sample.sample(problem, samples, calc_second_order=False, seed=seed)
    else:
        from SALib.analyze import morris as analyze
        from SALib.sample import morris as sample

        X = sample.sample(problem, samples, num_levels=4, seed=seed)
    Y = _evaluate(model, names, bounds, X, observable, runs_per_point, seed, engine, progress)
    if method == "sobol":
        r = analyze.analyze(problem, Y, calc_second_order=False, seed=seed)
        indices = {k: np.asarray(r[k], dtype=float) for k in ("S1", "S1_conf", "ST", "ST_conf")}
    else:
        r = analyze.analyze(problem, X, Y, num_levels=4, seed=seed)
        indices = {k: np.asarray(r[k], dtype=float) for k in ("mu_star", "mu_star_conf",
                                                              "sigma")}
    return Sensitivity(model.scenario.name, model.profile, observable, method,
                       (*names, DUMMY), (*bounds, (0.0, 1.0)), len(X), runs_per_point, seed,
                       indices)


def _check(model: Model, ranges: Mapping[str, Sequence[float]], method: str
           ) -> tuple[list[str], list[tuple[float, float]]]:
    problems = []
    if method not in METHODS:
        problems.append(f"unknown method {method!r}; one of: {', '.join(METHODS)}")
    if not ranges:
        problems.append("give at least one parameter with its range")
    names, bounds = [], []
    for path, b in ranges.items():
        try:  # a path, a group path or a unit's `…pk`: one factor, every slot it sets
            p = model.space.by_path[model.space.expand(path)[0]]
        except (ValueError, KeyError):
            problems.append(f"{path}: not a parameter path (see `iadsim params`)")
            continue
        if p.kind in ("choice", "bool"):
            problems.append(f"{path}: a {p.kind} parameter has no range to vary")
            continue
        if p.kind == "count" and method == "morris":
            problems.append(f"{path}: a count takes whole numbers, which Morris's levels do "
                            "not fall on; use --method sobol for it")
            continue
        if (not isinstance(b, (list, tuple)) or len(b) != 2
                or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in b)
                or not b[0] < b[1]):
            problems.append(f"{path}: expected [low, high] with low < high (got {b!r})")
            continue
        for x in b:
            try:
                p.encode(x)
            except ValueError as exc:
                problems.append(f"{path}: {exc}")
                break
        else:
            names.append(path)
            bounds.append((float(b[0]), float(b[1])))
    if problems:
        raise SensitivityError(problems)
    return names, bounds


def _evaluate(model: Model, names: list[str], bounds: list[tuple[float, float]],
              X: np.ndarray, observable: str, runs: int, seed: int, engine: str,
              progress: Callable[[int, int], None] | None) -> np.ndarray:
    """The mean observable at each sample point; the last column (the dummy) picks the block
    of replications. Count parameters take whole numbers."""
    space = model.space
    columns: dict[str, Any] = {}
    for d, name in enumerate(names):
        col = X[:, d]
        kind = space.by_path[space.expand(name)[0]].kind
        if kind == "count":  # low … high, each whole number over an equal share of the range
            low, high = bounds[d]
            col = np.minimum(low + np.floor((col - low) / (high - low) * (high - low + 1)),
                             high)
        columns[name] = col
    n = len(X)
    points = ParamTable.from_columns(space, model.point, {
        "replication": np.zeros(n, dtype=np.int64), **columns})
    block = np.minimum((X[:, -1] * NOISE_BLOCKS).astype(np.int64), NOISE_BLOCKS - 1)
    Y = np.empty(n)
    per_batch = max(1, 100_000 // runs)
    done = 0
    try:
        for lo in range(0, n, per_batch):
            hi = min(n, lo + per_batch)
            rows = np.arange(lo, hi)
            table = ParamTable(space, points.points, np.repeat(points.point[rows], runs),
                               (np.repeat(block[rows] * runs, runs)
                                + np.tile(np.arange(runs), hi - lo)).astype(np.int64),
                               points.labels)
            values = run_engine(model, seed=seed, engine=engine, table=table, rows=False)
            Y[lo:hi] = values.observable(observable).reshape(hi - lo, runs).mean(axis=1)
            done = hi
            if progress is not None:
                progress(done, n)
    except KeyboardInterrupt:
        raise SensitivityInterrupted(done, n) from None
    return Y


class SensitivityInterrupted(Exception):
    """Stopped before every sample point ran: how many did (the indices need them all)."""

    def __init__(self, done: int, total: int):
        self.done, self.total = done, total
        super().__init__(f"interrupted after {done} of {total} sample points")
