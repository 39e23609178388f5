"""Apportion the difference an observable makes between two profiles among named groups of
parameters (the explanations): exact Shapley values over every coalition, and the
one-at-a-time counterfactuals both ways.

A coalition is a parameter point: its groups' parameters at the `to` profile, the others at
`from`. Every coalition runs on the same replications (common random numbers), so each
replication gives its own Shapley values, a fixed linear combination of its coalition outcomes;
their means and intervals are taken over replications, and per replication the values sum
exactly to the replication's `to − from` difference (efficiency).
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from iadsim.analysis.problems import AnalysisError
from iadsim.engine import DEFAULT_ENGINE
from iadsim.engine import run as run_engine
from iadsim.engine.results import Z95, Estimate, Results
from iadsim.model import Model
from iadsim.params import ParameterSpace
from iadsim.rules import LINKS
from iadsim.tables import ParamTable

MAX_EXACT_GROUPS = 12  # 4,096 coalitions
_ROWS_PER_BATCH = 100_000  # rows run between progress reports


class ExplainError(AnalysisError):
    """Groups or profiles that cannot be explained, one line per problem."""


@dataclass(frozen=True)
class GroupEffect:
    """One explanation's share of the difference, and what it does on its own."""

    name: str
    paths: tuple[str, ...]  # the parameters that differ between the profiles
    shapley: Estimate  # its Shapley value
    alone: Estimate  # `from` with only this group at `to`, minus `from`
    fix: Estimate  # `to` with only this group back at `from`, minus `to` (the single fix)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "paths": list(self.paths),
                "shapley": self.shapley.as_dict(), "alone": self.alone.as_dict(),
                "fix": self.fix.as_dict()}


@dataclass(frozen=True)
class Explanation:
    """The Shapley values of the groups for one observable between two profiles."""

    scenario: str
    observable: str
    from_profile: str
    to_profile: str
    runs: int
    seed: int
    engine: str
    from_value: Estimate
    to_value: Estimate
    difference: Estimate  # to − from, paired over replications
    groups: tuple[GroupEffect, ...]
    unchanged: tuple[str, ...]  # declared groups none of whose parameters differ
    efficiency_gap: float  # largest |Σ Shapley − (to − from)| over replications
    method: str = "exact"  # or "sampled (M permutations)"
    links: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    # profile → unit type → link → failed passages per run
    deepest: dict[str, dict[str, float]] = field(default_factory=dict)
    # profile → link → unkilled threats per run whose deepest link it is

    def to_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "observable": self.observable,
                "from": self.from_profile, "to": self.to_profile, "runs": self.runs,
                "seed": self.seed, "engine": self.engine,
                "from_value": self.from_value.as_dict(), "to_value": self.to_value.as_dict(),
                "difference": self.difference.as_dict(),
                "shapley_sum": sum(g.shapley.mean for g in self.groups),
                "efficiency_gap": self.efficiency_gap, "method": self.method,
                "groups": [g.to_dict() for g in self.groups], "unchanged": list(self.unchanged),
                "first_broken_link_by_unit_type": self.links, "deepest_link": self.deepest}

    def to_arrow(self) -> Any:
        """One row per group: its Shapley share, its effect alone and its single fix, each
        with a 95% interval."""
        import pyarrow as pa

        columns: dict[str, list[Any]] = {"group": [g.name for g in self.groups],
                                         "parameters": [len(g.paths) for g in self.groups]}
        for what in ("shapley", "alone", "fix"):
            for part in ("mean", "ci_low", "ci_high"):
                columns[f"{what}_{part}"] = [getattr(getattr(g, what), part)
                                             for g in self.groups]
        return pa.table(columns)


def explain(model: Model, from_profile: str, to_profile: str,
            groups: Mapping[str, Sequence[str]], *, observable: str = "leakers",
            runs: int = 2000, seed: int = 0, engine: str = DEFAULT_ENGINE,
            progress: Callable[[int, int], None] | None = None,
            sampled: int | None = None) -> Explanation:
    """Exact Shapley values of `groups` (name → parameter paths or patterns) for
    `observable`, from profile `from_profile` to `to_profile`, on `runs` common replications
    (or, with `sampled`, estimated from that many random orders of the groups, each share's
    interval over the orders); `progress(done, total)` is told the coalitions run."""
    space = model.space
    start, end = named_profile(space, from_profile), named_profile(space, to_profile)
    plan = None
    if engine == "vectorized":  # built once, handed to every batch
        from iadsim.engine.vectorized import Plan

        plan = Plan(model.structure)
    run_engine(model, 2, seed=seed, engine=engine, rows=False, plan=plan).observable(
        observable)  # a name the results cannot answer fails now, before any coalition
    members, unchanged = assign(space, start.theta, end.theta, groups)
    k = len(members)
    if k > MAX_EXACT_GROUPS and not sampled:
        raise ExplainError([f"{k} groups differ between the profiles: the exact method takes "
                            f"at most {MAX_EXACT_GROUPS} (4,096 coalitions); sample "
                            "permutations instead (--sampled N)"])
    slots = [np.array([space.by_path[p].slot for p in paths], dtype=np.int64)
             for paths in members.values()]
    full = (1 << k) - 1
    orders = np.random.default_rng(seed).permuted(
        np.tile(np.arange(k), (sampled or 0, 1)), axis=1) if sampled else None
    masks = _masks(k, orders)  # ∅ first, every group alone and every single fix, N last
    row = {m: r for r, m in enumerate(masks)}
    points = np.repeat(start.theta[None, :], len(masks), axis=0)
    for r, mask in enumerate(masks):
        for i in range(k):
            if mask >> i & 1:
                points[r, slots[i]] = end.theta[slots[i]]
    values, from_to = _run_coalitions(model, points, observable, runs, seed, engine, plan,
                                      progress)
    if orders is None:
        phi = shapley(values)
        shares, phi_sum = [Estimate.of(v) for v in phi], phi.sum(axis=0)
    else:  # one estimate per permutation: its marginal contributions, averaged over runs
        marginal = np.zeros((k, len(orders), runs))
        for n, order in enumerate(orders):
            mask = 0
            for i in order:
                marginal[i, n] = values[row[mask | 1 << i]] - values[row[mask]]
                mask |= 1 << i
        shares = [_sampled_share(m) for m in marginal]
        phi_sum = marginal.mean(axis=1).sum(axis=0)
    base, top = values[row[0]], values[row[full]]
    effects = tuple(
        GroupEffect(name, tuple(paths), shares[i],
                    alone=Estimate.of(values[row[1 << i]] - base),
                    fix=Estimate.of(values[row[full & ~(1 << i)]] - top))
        for i, (name, paths) in enumerate(members.items()))
    difference = top - base
    gap = float(np.max(np.abs(phi_sum - difference))) if k else 0.0
    labels = {from_profile: from_to[0], to_profile: from_to[1]}
    return Explanation(
        scenario=model.scenario.name, observable=observable, from_profile=from_profile,
        to_profile=to_profile, runs=runs, seed=seed, engine=engine,
        from_value=Estimate.of(base), to_value=Estimate.of(top),
        difference=Estimate.of(difference), groups=effects, unchanged=tuple(unchanged),
        efficiency_gap=gap,
        method=f"sampled ({sampled} permutations)" if sampled else "exact",
        links={name: r.links_by_unit_type() for name, r in labels.items()},
        deepest={name: dict(zip(LINKS, r.deepest.mean(axis=0).tolist(), strict=True))
                 for name, r in labels.items()})


def _sampled_share(marginal: np.ndarray) -> Estimate:
    """A share estimated from (orders, runs) marginal contributions: its standard error
    combines the spread between the sampled orders and the replications' own error (every
    order ran on the same replications)."""
    orders, runs = Estimate.of(marginal.mean(axis=1)), Estimate.of(marginal.mean(axis=0))
    se = float(np.hypot(orders.se, runs.se))
    return Estimate(runs.mean, runs.mean - Z95 * se, runs.mean + Z95 * se, se)


def _masks(k: int, orders: np.ndarray | None) -> list[int]:
    """The coalitions to run: all 2**k, or those the sampled orders pass through plus each
    group alone and each single fix; ∅ first and the grand coalition last."""
    full = (1 << k) - 1
    if orders is None:
        return list(range(full + 1))
    needed = {0, full, *(1 << i for i in range(k)), *(full & ~(1 << i) for i in range(k))}
    for order in orders:
        mask = 0
        for i in order:
            mask |= 1 << int(i)
            needed.add(mask)
    return [0, *sorted(needed - {0, full}), full] if k else [0]


def shapley(values: np.ndarray) -> np.ndarray:
    """Exact Shapley values (k, R) from a (2**k, R) array of coalition values (coalition =
    bit mask of the players), per column."""
    K = len(values)
    k = K.bit_length() - 1
    if 1 << k != K:
        raise ValueError(f"expected 2**k coalitions, got {K}")
    size = np.array([bin(m).count("1") for m in range(K)])
    weight = np.array([math.factorial(s) * math.factorial(k - s - 1) / math.factorial(k)
                       if s < k else 0.0 for s in range(k + 1)])
    phi = np.zeros((k, values.shape[1]))
    for i in range(k):
        bit = 1 << i
        without = np.array([m for m in range(K) if not m & bit], dtype=np.int64)
        phi[i] = weight[size[without]] @ (values[without | bit] - values[without])
    return phi


def assign(space: ParameterSpace, start: np.ndarray, end: np.ndarray,
           groups: Mapping[str, Sequence[str]]) -> tuple[dict[str, list[str]], list[str]]:
    """The parameter paths that differ between two points, by group (a duration field's paths
    go together), and the groups none of whose paths differ; ExplainError if a differing path
    is in no group or in two, or a pattern names nothing."""
    differ = [p.path for p in space.parameters
              if not (start[p.slot] == end[p.slot] or
                      (math.isnan(start[p.slot]) and math.isnan(end[p.slot])))]
    fields: dict[str, list[str]] = {}
    for path in differ:
        fields.setdefault(space.field(path), []).append(path)
    every = [p.path for p in space.parameters]
    problems: list[str] = []
    owner: dict[str, str] = {}
    members: dict[str, list[str]] = {}
    unchanged: list[str] = []
    for name, patterns in groups.items():
        claimed = []
        for pattern in patterns:
            matched = _match(space, pattern, every)
            if not matched:
                problems.append(f"group {name!r}: {pattern!r} names no parameter")
            claimed += [f for f in fields if any(space.field(p) == f for p in matched)
                        or f in matched]
        twice: dict[str, list[str]] = {}
        for f in dict.fromkeys(claimed):
            if f in owner and owner[f] != name:
                twice.setdefault(owner[f], []).append(f)
            owner.setdefault(f, name)
        problems += [f"claimed by two groups, {other!r} and {name!r}: {', '.join(fs)}"
                     for other, fs in twice.items()]
        paths = [p for f in dict.fromkeys(claimed) if owner[f] == name for p in fields[f]]
        if paths:
            members[name] = paths
        else:
            unchanged.append(name)
    left = [f for f in fields if f not in owner]
    if left:
        problems.append("differing between the profiles but in no group: " + ", ".join(left))
    if problems:
        raise ExplainError(problems)
    return members, unchanged


def _match(space: ParameterSpace, pattern: str, every: list[str]) -> list[str]:
    """The parameter paths a pattern names: a path, a group path, a field (its sub-paths), or
    a glob (`fire_units.*.readiness.trained`)."""
    if any(ch in pattern for ch in "*?["):
        return [p for p in every if fnmatch.fnmatchcase(p, pattern)
                or fnmatch.fnmatchcase(p, pattern + ".*")]
    try:
        found = space.expand(pattern)
    except ValueError:
        return []
    return [p for p in every if p in found or any(p.startswith(f + ".") for f in found)]


def named_profile(space: ParameterSpace, name: str) -> Any:
    """The point of a profile (`base`: the scenario's own values); ExplainError naming the
    profiles if there is no such one."""
    if name != "base" and name not in space.scenario.profiles:
        known = ", ".join(["base", *space.scenario.profiles])
        raise ExplainError([f"no profile {name!r}; profiles: {known}"])
    return space.profile(name)  # a profile with bad values raises ScenarioError


def _run_coalitions(model: Model, points: np.ndarray, observable: str, runs: int, seed: int,
                    engine: str, plan: Any, progress: Callable[[int, int], None] | None
                    ) -> tuple[np.ndarray, tuple[Results, Results]]:
    """(coalitions, runs) values of the observable, and the results of the first and last
    coalitions (the two profiles), run a few coalitions at a time on the same replications:
    the two profiles first, so that an interrupt (ExplainInterrupted) still reports them."""
    K = len(points)
    replication = np.arange(runs, dtype=np.int64)
    per_batch = max(2, _ROWS_PER_BATCH // max(runs, 1))
    order = np.array([0, K - 1, *range(1, K - 1)] if K > 1 else [0], dtype=np.int64)
    values = np.empty((K, runs))
    ends: dict[int, Results] = {}
    done = 0
    try:
        for lo in range(0, K, per_batch):
            rows = order[lo:lo + per_batch]
            table = ParamTable(model.space, points, np.repeat(rows, runs),
                               np.tile(replication, len(rows)))
            results = run_engine(model, seed=seed, engine=engine, table=table, rows=False,
                                 plan=plan)
            values[rows] = results.observable(observable).reshape(len(rows), runs)
            for c in (0, K - 1):
                if c in rows:
                    at = int(np.flatnonzero(rows == c)[0]) * runs
                    ends[c] = _slice(results, at, at + runs)
            done += len(rows)
            if progress is not None:
                progress(done, K)
    except KeyboardInterrupt:
        profiles = None
        if 0 in ends and K - 1 in ends:
            profiles = (Estimate.of(values[0]), Estimate.of(values[K - 1]),
                        Estimate.of(values[K - 1] - values[0]))
        raise ExplainInterrupted(done, K, profiles) from None
    return values, (ends[0], ends[K - 1])


class ExplainInterrupted(Exception):
    """An explanation stopped before every coalition ran: how many did, and, once the two
    profiles have run, their means and paired difference."""

    def __init__(self, done: int, total: int,
                 profiles: tuple[Estimate, Estimate, Estimate] | None):
        self.done, self.total, self.profiles = done, total, profiles
        super().__init__(f"interrupted after {done} of {total} coalitions")


def _slice(results: Results, lo: int, hi: int) -> Results:
    """Rows lo … hi − 1 of results run without long tables."""
    return replace(results, table=results.table.rows(lo, hi),
                   unit_counts=results.unit_counts[lo:hi],
                   flight_threats=results.flight_threats[lo:hi],
                   flight_killed=results.flight_killed[lo:hi],
                   unit_links=results.unit_links[lo:hi], deepest=results.deepest[lo:hi],
                   destroyed=results.destroyed[lo:hi])
