"""Weigh hypotheses against reports (MODEL.md, Analyses → Inference).

Each hypothesis is run on the same replications (common random numbers), its parameters drawn
per replication from its priors with common uniforms too. Per replication i of hypothesis h, the
reports' joint likelihood is L_hi = Π_j (r_j if report j's predicate holds, else 1 − r_j); the
outcomes within one run are correlated, so this product is taken per run and only then averaged:
the marginal likelihood is Z_h = mean_i L_hi, the posterior π_h ∝ w_h Z_h.

Everything else follows from the per-run predicate matches, without running again: Monte Carlo
standard errors by the delta method on the paired replications; each report's leave-one-out and
reversed effects, and the posterior as its reliability varies (Z_h is linear in each r_j);
importance-weighted posterior means of the drawn parameters; the posterior predictive of each
report; and the Analysis of Competing Hypotheses matrix (Heuer), whose product of per-report
likelihoods assumes the reports independent.
"""

from __future__ import annotations

import itertools
import math
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from pydantic import BaseModel

from iadsim import distributions as dist
from iadsim.analysis.problems import AnalysisError
from iadsim.engine import DEFAULT_ENGINE
from iadsim.engine import run as run_engine
from iadsim.engine.results import Z95, Results, UnknownObservable, run_info
from iadsim.model import Model
from iadsim.params import profile_assignments
from iadsim.scenario.evidence import (
    BetaPrior,
    Drawn,
    Evidence,
    Hypotheses,
    PointPrior,
    Term,
    TriangularPrior,
    UniformPrior,
    spec,
)
from iadsim.scenario.load import Problem, ScenarioError
from iadsim.tables import ParamTable

RARE = 100  # fewer effective replications than this behind a likelihood: rare evidence
UNEXPLAINED = 0.05  # a report whose predicate the other reports' posterior gives less than this
RELIABILITIES = tuple(np.round(np.linspace(0.5, 1.0, 11), 2))  # the sensitivity grid
_ROWS_PER_BATCH = 40_000  # rows run between progress reports
_CONTINUOUS = ("probability", "nonnegative", "positive", "rate")


class InferenceError(AnalysisError):
    """Evidence or hypotheses that cannot be weighed, one line per problem."""


class InferenceInterrupted(Exception):
    """Stopped by the user; `inference` weighs the replications that finished (None if
    fewer than two)."""

    def __init__(self, inference: Inference | None):
        self.inference = inference
        super().__init__("interrupted")


# --- what is weighed ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    """An observation as weighed: its predicate, reliability and where it comes from."""

    id: str
    claim: str
    predicate: str
    terms: tuple[Term, ...]
    reliability: float
    source_ids: tuple[str, ...]
    sources: tuple[str, ...]  # "outlet (quoted)" of each cited source
    origins: tuple[str, ...]

    def holds(self, results: Results, hypotheses: int) -> np.ndarray:
        """(hypotheses, runs) whether the predicate holds in each row."""
        ok = np.ones(results.runs, dtype=bool)
        for term in self.terms:
            ok &= term.holds(results.observable(term.observable))
        return ok.reshape(hypotheses, -1)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "claim": self.claim, "predicate": self.predicate,
                "reliability": self.reliability, "source_ids": list(self.source_ids),
                "sources": list(self.sources),
                "origins": list(self.origins)}


@dataclass(frozen=True)
class Draw:
    """A parameter drawn per replication from a prior: the path written, the slots it sets
    (one value for all of them), and the address of its uniforms."""

    path: str
    slots: tuple[int, ...]
    prior: Drawn

    @property
    def word(self) -> int:
        """Where its uniforms are addressed: the same path draws the same uniforms in every
        hypothesis (common random numbers for the priors too)."""
        return zlib.crc32(self.path.encode())

    def values(self, u: np.ndarray) -> np.ndarray:
        """The prior's quantiles at uniforms u."""
        return self.prior.ppf(u)

    def spec(self) -> str:
        return spec(self.prior)


@dataclass(frozen=True)
class Candidate:
    """A hypothesis as run: its point (the baseline with its values) and its draws."""

    name: str
    description: str
    weight: float
    parts: tuple[str, ...]
    theta: np.ndarray
    draws: tuple[Draw, ...]

    def rows(self, n: int, u: dict[int, np.ndarray]) -> np.ndarray:
        """(n, parameters) points of n replications whose uniforms are u (word → values)."""
        points = np.tile(self.theta, (n, 1))
        for d in self.draws:
            points[:, list(d.slots)] = d.values(u[d.word])[:, None]
        return points


def reports_of(evidence: Evidence, model: Model) -> list[Report]:
    """The evidence's observations, their observables checked against the scenario
    (InferenceError, at file:line)."""
    info = run_info(model.structure, model.table(0), 0, DEFAULT_ENGINE)
    probe = Results.empty(model.table(0)).with_info(info)
    sources = {s.id: s for s in evidence.sources}
    problems, out = [], []
    for i, obs in enumerate(evidence.observations):
        for term in obs.terms:
            try:
                probe.observable(term.observable)
            except UnknownObservable as exc:
                problems.append(_at(evidence, ("observations", i, "predicate"), str(exc)))
        out.append(Report(obs.id, obs.claim, " ".join(obs.predicate.split()), obs.terms,
                          obs.reliability,
                          tuple(obs.sources), tuple(_cited(sources[s]) for s in obs.sources),
                          evidence.origins(obs)))
    if problems:
        raise InferenceError(problems)
    return out


def _cited(source: Any) -> str:
    who = f" ({source.quoted})" if source.quoted else ""
    return f"{source.outlet}{who}"


def candidates_of(hypotheses: Hypotheses, model: Model) -> list[Candidate]:
    """Each hypothesis as a point over the baseline and its prior draws; an unknown path, a
    value or prior the parameter does not accept, or parts that set one path differently are
    InferenceErrors at file:line."""
    space = model.space
    problems: list[str] = []
    try:
        baseline = space.profile(hypotheses.baseline)
    except ScenarioError as exc:
        raise InferenceError([_at(hypotheses, ("baseline",), p.message)
                              for p in exc.problems]) from None
    out = []
    for name, hyp in hypotheses.hypotheses.items():
        parts = hypotheses.parts(name)
        setter: dict[int, tuple[str, Any, str, str]] = {}  # slot → (part, number or Draw,
        # path, the value as written)
        conflicts: dict[tuple[str, str, str], str] = {}
        for part in parts:
            mine = _part_values(model, hypotheses, part, problems)
            for slot, (value, path, written) in mine.items():
                if slot in setter and not _same(setter[slot][1], value):
                    other, _, _, was = setter[slot]
                    conflicts.setdefault((other, part, path), f"{other} and {part} set {path} "
                                         f"differently ({was} and {written})")
                setter[slot] = (part, value, path, written)
        problems += [_at(hypotheses, ("hypotheses", name, "combine"), c)
                     for c in conflicts.values()]
        theta = baseline.theta.copy()
        for slot, (_, value, _, _) in setter.items():
            theta[slot] = value.prior.mean() if isinstance(value, Draw) else value  # a draw's
            # placeholder, so that the duration it belongs to can be checked
        problems += _settled(hypotheses, name, space, theta, setter)
        draws = {}
        for slot, (_, value, _, _) in setter.items():
            if isinstance(value, Draw):  # each draw sets the slots no later value took
                draws.setdefault(value.path, replace(value, slots=()))
                draws[value.path] = replace(draws[value.path],
                                            slots=(*draws[value.path].slots, slot))
        out.append(Candidate(name, hyp.description, hyp.prior, tuple(parts), theta,
                             tuple(draws.values())))
    if problems:
        raise InferenceError(list(dict.fromkeys(problems)))
    return out


def _part_values(model: Model, hypotheses: Hypotheses, part: str, problems: list[str]
                 ) -> dict[int, tuple[Any, str, str]]:
    """The slots one hypothesis sets itself: its profile's values, then its own (later ones
    win), each slot → (number or Draw, path, the value as written)."""
    space, spec = model.space, hypotheses.hypotheses[part]
    where: tuple[str | int, ...] = ("hypotheses", part)
    mine: dict[int, tuple[Any, str, str]] = {}
    if spec.profile is not None:
        if spec.profile not in model.scenario.profiles:
            problems.append(_at(hypotheses, (*where, "profile"), (
                f"no profile {spec.profile!r}; {model.name} has: "
                f"{', '.join(model.scenario.profiles) or 'none'}")))
        else:
            for a in profile_assignments(model.scenario, spec.profile)[0]:
                try:
                    for slot, x in space.encode(a.path, a.value):
                        mine[slot] = (x, a.path, f"{a.value} by profile {spec.profile}")
                except ValueError as exc:
                    problems.append(_at(hypotheses, (*where, "profile"), (
                        f"profile {spec.profile!r}: {a.path}: {exc}")))
    for path, value in spec.values.items():
        try:
            if isinstance(value, (UniformPrior, BetaPrior, TriangularPrior)) and \
                    path not in space.durations:
                draw = _draw(space, path, value)
                for slot in draw.slots:
                    mine[slot] = (draw, path, draw.spec())
                continue
            if isinstance(value, PointPrior):
                value = value.value
            elif isinstance(value, BaseModel):
                value = value.model_dump()  # a duration field written like a prior
            written = _written(value)
            for slot, x in space.encode(path, value):
                mine[slot] = (x, path, written)
        except ValueError as exc:
            problems.append(_at(hypotheses, (*where, "values", path), str(exc)))
    return mine


def _written(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {v}" for k, v in value.items()) + "}"
    return str(value)


def _draw(space: Any, path: str, prior: Any) -> Draw:
    """A prior on a path, checked against every parameter it sets (ValueError)."""
    concrete = space.expand(path)
    low, high = prior.support()
    slots = []
    for c in concrete:
        if c in space.durations:
            raise ValueError(f"{c} is a whole duration; put the prior on one of its "
                             f"parameters ({c}.mean, {c}.value, …)")
        p = space.by_path[c]
        if p.kind not in _CONTINUOUS:
            raise ValueError(f"{c} takes {p.allowed}: give it a value, not a prior "
                             f"(priors are for continuous parameters)")
        if low < p.low or high > p.high:
            raise ValueError(f"an improper prior for {c}: {spec(prior)} reaches outside "
                             f"{p.allowed}")
        slots.append(p.slot)
    return Draw(path, tuple(slots), prior)


def _settled(hypotheses: Hypotheses, name: str, space: Any, theta: np.ndarray,
             setter: dict[int, tuple[str, Any, str, str]]) -> list[str]:
    """Duration fields as now set, for every value their drawn parameters can take (the
    ends of each prior's support), and draws on parameters in force: their problems."""
    problems = []
    touched = {space.duration_of[s] for s in setter if s in space.duration_of}
    for path in touched:
        slots = space.durations[path]
        message = space.settle_duration(theta, path, {s for s in slots.tolist()
                                                       if s in setter})
        drawn = [(s, setter[s][1]) for s in slots.tolist()
                 if s in setter and isinstance(setter[s][1], Draw)]
        for ends in itertools.product(*(d.prior.support() for _, d in drawn)):
            if message:
                break
            trial = theta.copy()
            trial[[s for s, _ in drawn]] = ends
            wrong = dist.problem(trial[slots])
            if wrong:
                message = (f"{wrong} for some values of its priors ("
                           + ", ".join(f"{d.path}: {d.spec()}" for _, d in drawn) + ")")
        if message:
            problems.append(_at(hypotheses, ("hypotheses", name), f"{path}: {message}"))
    for slot, (part, value, path, _) in setter.items():
        if isinstance(value, Draw) and math.isnan(theta[slot]):
            problems.append(_at(hypotheses, ("hypotheses", part, "values", path), (
                f"{space.parameters[slot].path} is not in force in {name} (its distribution "
                "family has no such parameter)")))
    return problems


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, Draw) or isinstance(b, Draw):
        return a is b or (isinstance(a, Draw) and isinstance(b, Draw) and a.path == b.path
                          and a.prior == b.prior)
    return a == b or (math.isnan(a) and math.isnan(b))


def _at(document: Any, path: tuple[str | int, ...], message: str) -> str:
    source = document.source
    if source is None:
        return f"{'.'.join(map(str, path))}: {message}"
    from iadsim.scenario.load import _dotted

    return str(Problem(source.file, source.line(path), _dotted(path), message))


# --- the run -----------------------------------------------------------------------------------


def infer(model: Model, evidence: Evidence, hypotheses: Hypotheses, *, runs: int = 2000,
          target_se: float | None = None, max_runs: int = 200_000, seed: int = 0,
          engine: str = DEFAULT_ENGINE,
          progress: Callable[[int, int], None] | None = None) -> Inference:
    """Weigh the hypotheses against the evidence on `runs` replications each (common random
    numbers), or with `target_se` until every posterior's standard error is below it (starting
    from `runs`, at most `max_runs`). `progress(done, total)` counts rows. On Ctrl-C raise
    InferenceInterrupted with the inference of the batches that finished."""
    if runs < 2:
        raise InferenceError([f"runs: expected at least 2 replications (got {runs})"])
    if target_se is not None and not 0 < target_se < 1:
        raise InferenceError([f"target-se: expected a number in (0, 1) (got {target_se})"])
    reports = reports_of(evidence, model)
    candidates = candidates_of(hypotheses, model)
    blocks: list[tuple[np.ndarray, dict[str, np.ndarray]]] = []
    done, goal = 0, runs

    def weighed() -> Inference:
        return Inference.of(model, evidence, hypotheses, reports, candidates, blocks, seed,
                            engine, target_se)

    try:
        while done < goal:
            for batch in _batches(model, reports, candidates, done, goal, seed, engine):
                blocks.append(batch)
                done += batch[0].shape[1]
                if progress is not None:
                    progress(done * len(candidates), goal * len(candidates))
            if target_se is not None:
                now = weighed()
                if now.consistent and not now.settled(target_se) and done < max_runs:
                    need = now.runs_needed(target_se)
                    goal = int(min(max_runs, max(done + 500, min(need, 4 * done))))
    except KeyboardInterrupt:
        raise InferenceInterrupted(weighed() if done >= 2 else None) from None
    return weighed()


def _batches(model: Model, reports: Sequence[Report], candidates: Sequence[Candidate],
             lo: int, hi: int, seed: int, engine: str
             ) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
    """Replications lo … hi − 1 under every hypothesis, a batch at a time: (predicate matches
    (H, n, J), the drawn values by path (H, n), NaN where a hypothesis does not draw it)."""
    from iadsim.engine.vectorized.counter_rng import (
        PRIOR_DRAW,
        CounterStreams,
        replication_keys,
    )

    H = len(candidates)
    step = max(1, _ROWS_PER_BATCH // H)
    words = {d.word for c in candidates for d in c.draws}
    for a in range(lo, hi, step):
        b = min(hi, a + step)
        n = b - a
        reps = np.arange(a, b, dtype=np.int64)
        streams = CounterStreams(replication_keys(seed, reps))
        u = {w: streams.uniform(PRIOR_DRAW, w) for w in words}
        points = np.concatenate([c.rows(n, u) for c in candidates])
        table = ParamTable(model.space, points, np.arange(len(points), dtype=np.int64),
                           np.tile(reps, H), tuple(c.name for c in candidates))
        results = run_engine(model, seed=seed, engine=engine, table=table, rows=False)
        matches = np.stack([r.holds(results, H) for r in reports], axis=2) if reports \
            else np.ones((H, n, 0), dtype=bool)
        drawn: dict[str, np.ndarray] = {}
        for h, c in enumerate(candidates):
            for d in c.draws:
                drawn.setdefault(d.path, np.full((H, n), np.nan))[h] = \
                    points[h * n:(h + 1) * n, d.slots[0]]
        yield matches, drawn


# --- the answer --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Inference:
    """The hypotheses weighed against the reports, with everything derived from the per-run
    predicate matches."""

    scenario: str
    evidence_file: str | None
    hypotheses_file: str | None
    baseline: str
    seed: int
    engine: str
    target_se: float | None
    names: tuple[str, ...]
    descriptions: tuple[str, ...]
    parts: tuple[tuple[str, ...], ...]
    prior: np.ndarray  # (H,) normalised prior weights
    reports: tuple[Report, ...]
    matches: np.ndarray  # (H, N, J) bool: report j's predicate holds in run i under h
    drawn: dict[str, np.ndarray]  # path → (H, N) values drawn (NaN where not drawn)
    draws: tuple[tuple[Draw, ...], ...]  # each hypothesis's draws
    _cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, model: Model, evidence: Evidence, hypotheses: Hypotheses,
           reports: Sequence[Report], candidates: Sequence[Candidate],
           blocks: Sequence[tuple[np.ndarray, dict[str, np.ndarray]]], seed: int, engine: str,
           target_se: float | None) -> Inference:
        weights = np.array([c.weight for c in candidates])
        weights = weights / weights.max()  # huge weights: no overflow in the sum
        H = len(candidates)
        matches = np.concatenate([m for m, _ in blocks], axis=1)
        paths = dict.fromkeys(p for _, d in blocks for p in d)
        drawn = {p: np.concatenate([d.get(p, np.full((H, m.shape[1]), np.nan))
                                    for m, d in blocks], axis=1) for p in paths}
        return cls(model.name, _file(evidence), _file(hypotheses), hypotheses.baseline, seed,
                   engine, target_se, tuple(c.name for c in candidates),
                   tuple(c.description for c in candidates), tuple(c.parts for c in candidates),
                   weights / weights.sum(), tuple(reports), matches, drawn,
                   tuple(c.draws for c in candidates))

    @property
    def runs(self) -> int:
        """Replications per hypothesis."""
        return self.matches.shape[1]

    @property
    def reliability(self) -> np.ndarray:
        return np.array([r.reliability for r in self.reports])

    # --- likelihoods ------------------------------------------------------------------------

    def factors(self, reliability: np.ndarray | None = None) -> np.ndarray:
        """(H, N, J): P(report j | run i of h) = r_j where its predicate holds, else 1 − r_j."""
        r = self.reliability if reliability is None else reliability
        return np.where(self.matches, r, 1.0 - r)

    @property
    def likelihood(self) -> np.ndarray:
        """(H, N) the joint likelihood of all reports in each run: the product over reports."""
        if "L" not in self._cache:
            self._cache["L"] = self.factors().prod(axis=2)
        return self._cache["L"]

    @property
    def marginal(self) -> np.ndarray:
        """(H,) Z_h = mean over runs of the joint likelihood."""
        return self.likelihood.mean(axis=1)

    @property
    def marginal_se(self) -> np.ndarray:
        return self.likelihood.std(axis=1, ddof=1) / math.sqrt(self.runs)

    @property
    def consistent(self) -> bool:
        """Whether any run under any hypothesis gives the reports a likelihood above zero."""
        return bool((self.marginal > 0).any())

    @property
    def posterior(self) -> np.ndarray:
        """(H,) π_h ∝ w_h Z_h (NaN if no run is consistent with the reports)."""
        return _posterior(self.prior, self.marginal)

    @property
    def posterior_se(self) -> np.ndarray:
        """(H,) Monte Carlo standard errors of the posterior: the delta method on the ratio
        π_h = w_h Z_h / Σ_k w_k Z_k, with every hypothesis on the same replications."""
        L, w = self.likelihood, self.prior[:, None]
        total = (w * L).sum(axis=0)  # (N,)
        S = total.mean()
        if S <= 0:
            return np.full(len(self.names), math.nan)
        psi = (w * L - self.posterior[:, None] * total) / S
        return psi.std(axis=1, ddof=1) / math.sqrt(self.runs)

    @property
    def largest_se(self) -> float:
        return float(np.max(self.posterior_se))

    @property
    def posterior_bound(self) -> np.ndarray:
        """(H,) for a hypothesis none of whose runs is consistent with the reports (Z = 0, where
        the standard error says nothing): a 95% upper bound on its posterior — fewer than 3/N
        of its runs would be consistent (the rule of three), each with a likelihood of at most
        Π max(r, 1 − r). NaN for the others."""
        Z, w = self.marginal, self.prior
        r = self.reliability
        most = 3.0 / self.runs * float(np.prod(np.maximum(r, 1.0 - r)))
        out = np.full(len(Z), math.nan)
        zero = Z == 0
        out[zero] = w[zero] * most / ((w * Z).sum() + w[zero] * most)
        return out

    def settled(self, target_se: float) -> bool:
        """Whether the posterior is known to `target_se`: every standard error below it,
        every likelihood carried by at least RARE runs, and every hypothesis no run supports
        bounded below it."""
        ess, bound = self.effective_runs, self.posterior_bound
        return (self.largest_se <= target_se and bool((ess[self.marginal > 0] >= RARE).all())
                and bool((np.nan_to_num(bound) <= target_se).all()))

    def runs_needed(self, target_se: float) -> int:
        """Replications per hypothesis that `settled` should want, from the rates so far."""
        n = self.runs
        need = [n * (self.largest_se / target_se) ** 2]
        ess = self.effective_runs[self.marginal > 0]
        if len(ess) and ess.min() > 0:
            need.append(n * RARE / ess.min())
        bound = np.nan_to_num(self.posterior_bound)
        if bound.max() > 0:
            need.append(n * bound.max() / target_se)
        return int(1.1 * max(need))

    @property
    def leader(self) -> int:
        """The hypothesis with the largest posterior."""
        return int(np.nanargmax(self.posterior)) if self.consistent else 0

    def log10_bayes_factors(self) -> tuple[np.ndarray, np.ndarray]:
        """(H,) log10 Z_h / Z_leader and its standard error (paired delta method)."""
        Z, L, b = self.marginal, self.likelihood, self.leader
        with np.errstate(divide="ignore", invalid="ignore"):
            value = np.log10(Z / Z[b])
            d = L / Z[:, None] - L[b] / Z[b]
            se = d.std(axis=1, ddof=1) / math.sqrt(self.runs) / math.log(10)
        se[b] = 0.0
        return value, se

    @property
    def effective_runs(self) -> np.ndarray:
        """(H,) Kish's effective number of replications behind each likelihood,
        (Σ L)² / Σ L²: how many runs carry the weight."""
        L = self.likelihood
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.nan_to_num(L.sum(axis=1) ** 2 / (L ** 2).sum(axis=1))

    def warnings(self) -> list[str]:
        """Rare evidence and reports no hypothesis explains, said for a reader."""
        out = []
        if not self.consistent:
            return ["no run under any hypothesis is consistent with the reports (a report "
                    "with reliability 1 contradicts every run): lower a reliability, or check "
                    "the predicates"]
        certain = [rep.id for rep in self.reports if rep.reliability in (0.0, 1.0)]
        for h, (name, ess) in enumerate(zip(self.names, self.effective_runs, strict=True)):
            if self.marginal[h] == 0:
                out.append(f"{name}: no run of its {self.runs} is consistent with the reports"
                           + (f" (certain reports: {', '.join(certain)})" if certain else "")
                           + f": its posterior is below {self.posterior_bound[h]:.2g} (95%)")
            elif ess < RARE:
                out.append(f"{name}: only {ess:.0f} of {self.runs} replications carry its "
                           "likelihood (rare evidence): run more (--runs, --target-se) before "
                           "trusting its posterior")
        for report, p, never in zip(self.reports, self.predictive(), self.never_true(),
                                    strict=True):
            if never:
                out.append(f"{report.id}: its predicate ({report.predicate}) held in no run "
                           "under any hypothesis: no hypothesis explains it")
            elif p < UNEXPLAINED:
                out.append(f"{report.id}: under the posterior the other reports give, its "
                           f"predicate holds with P = {p:.3f}: the hypotheses they favour do "
                           "not explain it")
        return out

    # --- each report's weight ---------------------------------------------------------------

    def _split(self) -> tuple[np.ndarray, np.ndarray]:
        """(H, J) A_hj = mean_i L_hi^(−j) m_hij and B_hj = mean_i L_hi^(−j) (1 − m_hij),
        with L^(−j) the likelihood of the other reports: Z_h = r_j A_hj + (1 − r_j) B_hj."""
        if "AB" not in self._cache:
            F = self.factors()
            ones = np.ones(F.shape[:2] + (1,))
            before = np.concatenate([ones, np.cumprod(F, axis=2)[:, :, :-1]], axis=2)
            after = np.concatenate([np.cumprod(F[:, :, ::-1], axis=2)[:, :, ::-1][:, :, 1:],
                                    ones], axis=2)
            others = before * after  # (H, N, J): the product over the reports but j
            self._cache["AB"] = ((others * self.matches).mean(axis=1),
                                 (others * ~self.matches).mean(axis=1))
        return self._cache["AB"]

    def without(self, j: int) -> np.ndarray:
        """(H,) the posterior without report j."""
        A, B = self._split()
        return _posterior(self.prior, A[:, j] + B[:, j])

    def reversed(self, j: int) -> np.ndarray:
        """(H,) the posterior if report j had said the opposite."""
        A, B = self._split()
        r = self.reliability[j]
        return _posterior(self.prior, (1 - r) * A[:, j] + r * B[:, j])

    def at_reliability(self, j: int, r: float) -> np.ndarray:
        """(H,) the posterior with report j's reliability set to r."""
        A, B = self._split()
        return _posterior(self.prior, r * A[:, j] + (1 - r) * B[:, j])

    def leave_one_out(self) -> np.ndarray:
        """(J, H) what each report adds to log10 of each hypothesis's Bayes factor against the
        leader: log10 BF(h : leader) with all reports minus without report j."""
        A, B = self._split()
        Z, b = self.marginal, self.leader
        with np.errstate(divide="ignore", invalid="ignore"):
            gain = np.log10(Z[:, None] / (A + B))  # (H, J)
            return (gain - gain[b]).T

    def most_decisive(self) -> tuple[int, np.ndarray, float] | None:
        """The report that, reversed, would most change the posterior: (its index, the
        posterior it would give, the total variation distance from the posterior now)."""
        if not self.reports or not self.consistent:
            return None
        shifts = [0.5 * float(np.abs(self.reversed(j) - self.posterior).sum())
                  for j in range(len(self.reports))]
        best = int(np.nanargmax(shifts))
        return best, self.reversed(best), shifts[best]

    def reliability_curves(self) -> np.ndarray:
        """(J, len(RELIABILITIES), H): the posterior as each report's reliability runs over
        [0.5, 1], the others as stated."""
        return np.array([[self.at_reliability(j, r) for r in RELIABILITIES]
                         for j in range(len(self.reports))])

    def never_true(self) -> np.ndarray:
        """(J,) reports whose predicate held in no run under any hypothesis."""
        return ~self.matches.any(axis=(0, 1))

    def predictive(self) -> np.ndarray:
        """(J,) posterior predictive P(report j's predicate holds | the other reports): under
        the mixture fit without report j, so a report does not vouch for itself."""
        A, B = self._split()
        out = np.full(len(self.reports), math.nan)
        for j in range(len(self.reports)):
            weight = self.prior * (A[:, j] + B[:, j])
            if weight.sum() > 0:
                out[j] = float((self.prior * A[:, j]).sum() / weight.sum())
        return out

    # --- the ACH matrix ---------------------------------------------------------------------

    def holds(self) -> np.ndarray:
        """(J, H) P(predicate j holds | h): each report on its own."""
        return self.matches.mean(axis=1).T

    def ach(self) -> np.ndarray:
        """(J, H) P(report j | h) = r_j p + (1 − r_j)(1 − p): the cells of an ACH matrix."""
        p, r = self.holds(), self.reliability[:, None]
        return r * p + (1 - r) * (1 - p)

    def diagnosticity(self) -> np.ndarray:
        """(J,) log10 of the largest over the smallest of a row's likelihoods: 0 for a report
        every hypothesis explains equally (Heuer: no diagnostic value)."""
        cells = self.ach()
        with np.errstate(divide="ignore"):
            return np.log10(cells.max(axis=1) / cells.min(axis=1))

    def ach_product(self) -> np.ndarray:
        """(H,) Π_j P(report j | h): ACH's product, as if the reports were independent."""
        return self.ach().prod(axis=0)

    def ach_posterior(self) -> np.ndarray:
        return _posterior(self.prior, self.ach_product())

    def ach_table(self) -> Any:
        """The ACH matrix as an Arrow table: a row per report (its likelihood under each
        hypothesis, its diagnosticity), then the product of the rows and the joint likelihood
        iadsim uses, and the posterior from each."""
        import pyarrow as pa

        cells, diag = self.ach(), self.diagnosticity()
        rows: dict[str, list[Any]] = {"row": [], "predicate": [], "reliability": [],
                                      "origins": [], **{n: [] for n in self.names},
                                      "diagnosticity_log10": []}

        def add(row: str, predicate: str, r: float | None, origins: str, values: Any,
                d: float | None) -> None:
            rows["row"].append(row)
            rows["predicate"].append(predicate)
            rows["reliability"].append(r)
            rows["origins"].append(origins)
            for n, v in zip(self.names, values, strict=True):
                rows[n].append(float(v))
            rows["diagnosticity_log10"].append(d)

        for j, rep in enumerate(self.reports):
            add(rep.id, rep.predicate, rep.reliability, "; ".join(rep.origins), cells[j],
                float(diag[j]))
        add("product of rows (ACH: reports independent)", "", None, "", self.ach_product(),
            None)
        add("joint likelihood (iadsim: per run, then averaged)", "", None, "", self.marginal,
            None)
        add("posterior from the product", "", None, "", self.ach_posterior(), None)
        add("posterior from the joint likelihood", "", None, "", self.posterior, None)
        return pa.table(rows)

    # --- the parameters ---------------------------------------------------------------------

    def parameters(self) -> list[dict[str, Any]]:
        """Each hypothesis's drawn parameters: prior mean and 90% interval, and the posterior
        (importance-weighted by the reports' likelihood) mean, its standard error and 90%
        interval."""
        out = []
        for h, (name, draws) in enumerate(zip(self.names, self.draws, strict=True)):
            w = self.likelihood[h]
            for d in draws:
                x = self.drawn[d.path][h]
                row: dict[str, Any] = {
                    "hypothesis": name, "path": d.path, "prior": d.spec(),
                    "prior_mean": d.prior.mean(), "prior_interval": _quantiles(x, None),
                    "effective_runs": float(self.effective_runs[h])}
                if w.sum() > 0:
                    mean = float((w * x).sum() / w.sum())
                    se = float(np.sqrt((w ** 2 * (x - mean) ** 2).sum()) / w.sum())
                    row.update(posterior_mean=mean, posterior_se=se,
                               posterior_interval=_quantiles(x, w))
                else:
                    row.update(posterior_mean=None, posterior_se=None, posterior_interval=None)
                out.append(row)
        return out

    # --- output -----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The `--json` output."""
        post, se = self.posterior, self.posterior_se
        bf, bf_se = self.log10_bayes_factors()
        loo = self.leave_one_out()
        decisive = self.most_decisive()
        curves = self.reliability_curves()
        cells, holds = self.ach(), self.holds()
        return _clean({
            "scenario": self.scenario, "evidence": self.evidence_file,
            "hypotheses_file": self.hypotheses_file, "baseline": self.baseline,
            "runs": self.runs, "seed": self.seed, "engine": self.engine,
            "target_se": self.target_se,
            "hypotheses": [{
                "name": n, "description": self.descriptions[h], "parts": list(self.parts[h]),
                "prior": float(self.prior[h]), "likelihood": float(self.marginal[h]),
                "likelihood_se": float(self.marginal_se[h]),
                "posterior": float(post[h]), "posterior_se": float(se[h]),
                "posterior_ci": [max(0.0, float(post[h] - Z95 * se[h])),
                                 min(1.0, float(post[h] + Z95 * se[h]))],
                "posterior_upper_bound": float(self.posterior_bound[h]),
                "log10_bayes_factor": float(bf[h]), "log10_bayes_factor_se": float(bf_se[h]),
                "effective_runs": float(self.effective_runs[h])}
                for h, n in enumerate(self.names)],
            "leader": self.names[self.leader],
            "reports": [{
                **rep.to_dict(),
                "p_holds": {n: float(holds[j, h]) for h, n in enumerate(self.names)},
                "likelihood": {n: float(cells[j, h]) for h, n in enumerate(self.names)},
                "diagnosticity_log10": float(self.diagnosticity()[j]),
                "leave_one_out_log10_bf": {n: float(loo[j, h])
                                           for h, n in enumerate(self.names)},
                "posterior_without": dict(zip(self.names, map(float, self.without(j)),
                                              strict=True)),
                "posterior_reversed": dict(zip(self.names, map(float, self.reversed(j)),
                                               strict=True)),
                "reliability_curve": {f"{r:g}": dict(zip(self.names, map(float, curves[j, g]),
                                                         strict=True))
                                      for g, r in enumerate(RELIABILITIES)},
                "predictive": float(self.predictive()[j]),
                "never_true": bool(self.never_true()[j])}
                for j, rep in enumerate(self.reports)],
            "most_decisive": None if decisive is None else {
                "report": self.reports[decisive[0]].id,
                "total_variation": decisive[2],
                "leader_if_reversed": self.names[int(np.argmax(decisive[1]))],
                "posterior_if_reversed": dict(zip(self.names, map(float, decisive[1]),
                                                  strict=True))},
            "ach": {"product": dict(zip(self.names, map(float, self.ach_product()),
                                        strict=True)),
                    "posterior_from_product": dict(zip(self.names,
                                                       map(float, self.ach_posterior()),
                                                       strict=True))},
            "parameters": self.parameters(),
            "warnings": self.warnings(),
        })


def _posterior(prior: np.ndarray, marginal: np.ndarray) -> np.ndarray:
    total = float((prior * marginal).sum())
    if not total > 0:
        return np.full(len(prior), math.nan)
    return prior * marginal / total


def _quantiles(x: np.ndarray, w: np.ndarray | None, q: tuple[float, float] = (0.05, 0.95)
               ) -> list[float]:
    """Weighted quantiles (the step function of the weighted empirical distribution)."""
    order = np.argsort(x)
    xs = x[order]
    ws = np.ones_like(xs) if w is None else w[order]
    cum = np.cumsum(ws) / ws.sum()
    return [float(xs[min(np.searchsorted(cum, p), len(xs) - 1)]) for p in q]


def _file(document: Any) -> str | None:
    return document.source.file if document.source is not None else None


def _clean(value: Any) -> Any:
    """JSON-ready: NaN and infinities as None."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
