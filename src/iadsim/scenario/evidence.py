"""Evidence and hypotheses files (MODEL.md, Analyses → Inference): what the reports say, who
says it and on what origin it rests, and the explanations to weigh against them.

An evidence file lists `sources` (an outlet carrying a report, and the origin the report rests
on) and `observations`: predicates over one replication's outcome
(`launches[guidance=radar] == 0`), each citing its sources with a reliability r, the chance the
report is right. Two observations of one predicate may not share an origin: one voice repeated
by several outlets is one report.

A hypotheses file names hypotheses, each a set of parameter values (paths of the parameter
space; a value may be a prior distribution drawn per replication), a prior weight, and
optionally a scenario profile or other hypotheses it combines. Both are read like scenarios:
every problem at its file:line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BeforeValidator,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    field_validator,
    model_validator,
)

from iadsim.scenario.load import (
    Path_,
    Source,
    builtin_scenarios,
    read_text,
    read_yaml,
    validated,
)
from iadsim.scenario.schema import (
    Identifier,
    MaybeInfinite,
    NotBoolean,
    Positive,
    Probability,
    Strict,
    _at,
)

D = TypeVar("D", "Evidence", "Hypotheses")

# --- predicates -------------------------------------------------------------------------------

COMPARATORS = ("==", "!=", "<=", ">=", "<", ">")
_TERM = re.compile(r"^\s*(?P<observable>[a-z_]+(\[[^\]]*\])?)\s*(?P<op>==|!=|<=|>=|<|>)\s*"
                   r"(?P<value>[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?)\s*$")


@dataclass(frozen=True)
class Term:
    """One comparison of an observable with a number, e.g. `launches[guidance=radar] == 0`."""

    observable: str
    op: str
    value: float

    def __str__(self) -> str:
        return f"{self.observable} {self.op} {self.value:g}"

    def holds(self, x: Any) -> Any:
        """Whether the comparison holds for per-replication values x (an array or a number)."""
        v = self.value
        return {"==": x == v, "!=": x != v, "<=": x <= v, ">=": x >= v, "<": x < v,
                ">": x > v}[self.op]


def parse_predicate(text: str) -> tuple[Term, ...]:
    """The terms of `OBSERVABLE OP NUMBER [and …]`; ValueError saying what was expected."""
    terms = []
    for part in re.split(r"\s+and\s+", text.strip()):
        m = _TERM.match(part)
        if not m:
            raise ValueError(f"cannot read {part.strip()!r}: expected OBSERVABLE OP NUMBER, e.g. "
                             "'launches[guidance=radar] == 0' (OP one of "
                             f"{', '.join(COMPARATORS)}; join several with 'and')")
        terms.append(Term(m["observable"].replace(" ", ""), m["op"], float(m["value"])))
    return tuple(terms)


def canonical(terms: tuple[Term, ...]) -> str:
    """One spelling of a predicate, whatever its spacing, the order of its terms and the way
    a comparison of counts (whole numbers) is written: `kills > 0` is `kills >= 1`."""
    return " and ".join(sorted(str(_whole(t)) for t in terms))


def _whole(term: Term) -> Term:
    v, op = term.value, term.op
    if op in (">", ">="):
        return Term(term.observable, ">=", math.floor(v) + 1 if op == ">" else math.ceil(v))
    if op in ("<", "<="):
        return Term(term.observable, "<=", math.ceil(v) - 1 if op == "<" else math.floor(v))
    return term


# --- the evidence file ------------------------------------------------------------------------


def _text(value: Any) -> Any:
    """YAML reads 2026-01-26 as a date: keep it as written."""
    return value.isoformat() if isinstance(value, date) else value


class ReportSource(Strict):
    """An outlet carrying a report, and the origin the report rests on (an interview, a
    newspaper's reporting, a speech): sources with one origin are one voice."""

    id: Identifier
    outlet: str = Field(description="Who published it, e.g. 'Latin Times'.")
    date: Annotated[str | None, BeforeValidator(_text)] = None
    quoted: str | None = Field(None, description="Who is quoted or relied on.")
    origin: Identifier = Field(description="The origin the report rests on; two outlets "
                               "quoting one interview give it the same origin.")
    url: str | None = None


class Observation(Strict):
    """A report about the outcome, as a predicate over one replication, with its sources and
    reliability r: P(report | predicate true) = r, P(report | predicate false) = 1 − r."""

    id: Identifier
    claim: str = Field("", description="What the report says, in its words.")
    predicate: str = Field(description="OBSERVABLE OP NUMBER, several joined with 'and', e.g. "
                           "'launches[guidance=radar] == 0'.")
    sources: list[Identifier] = Field(min_length=1)
    reliability: Probability = Field(description="The chance the report is right: a stated "
                                     "judgement, varied by the analysis, not a prior.")
    note: str = ""

    @field_validator("predicate")
    @classmethod
    def _readable(cls, text: str) -> str:
        parse_predicate(text)
        return text

    @property
    def terms(self) -> tuple[Term, ...]:
        return parse_predicate(self.predicate)


class Evidence(Strict):
    """What the reports say about one scenario's outcome."""

    _source: Any = PrivateAttr(default=None)

    scenario: str | None = Field(None, description="The scenario the observables refer to.")
    description: str = ""
    sources: list[ReportSource] = Field(min_length=1)
    observations: list[Observation] = Field(min_length=1)

    @property
    def source(self) -> Source | None:
        return self._source

    def origins(self, observation: Observation) -> tuple[str, ...]:
        """The origins an observation rests on, through its sources."""
        by_id = {s.id: s.origin for s in self.sources}
        return tuple(dict.fromkeys(by_id[s] for s in observation.sources if s in by_id))


def _evidence_problems(raw: dict[str, Any]) -> list[tuple[Path_, str]]:
    """Unknown or repeated ids, and one origin counted twice for one predicate."""
    problems: list[tuple[Path_, str]] = []
    sources = [s for s in raw.get("sources") or [] if isinstance(s, dict)] \
        if isinstance(raw.get("sources"), list) else []
    origin = {s["id"]: s.get("origin") for s in sources if isinstance(s.get("id"), str)}
    problems += _repeated_ids(raw, "sources")
    problems += _repeated_ids(raw, "observations")
    seen: dict[str, list[tuple[int, str, set[str]]]] = {}
    observations = raw.get("observations") if isinstance(raw.get("observations"), list) else []
    for i, obs in enumerate(observations):
        if not isinstance(obs, dict):
            continue
        cited = obs.get("sources") if isinstance(obs.get("sources"), list) else []
        for j, sid in enumerate(cited):
            if isinstance(sid, str) and sid not in origin:
                problems.append((("observations", i, "sources", j),
                                 f"{sid!r} is not the id of any source; sources: "
                                 + ", ".join(origin)))
        try:
            key = canonical(parse_predicate(str(obs.get("predicate", ""))))
        except ValueError:
            continue
        mine = {origin[s] for s in cited if s in origin and isinstance(origin[s], str)}
        for k, other_id, theirs in seen.get(key, []):
            shared = sorted(mine & theirs)
            if shared:
                problems.append((("observations", i, "predicate"),
                                 f"same predicate as observations[{k}] ({other_id}) and the same "
                                 f"origin {', '.join(map(repr, shared))}: reports resting on one "
                                 "origin are one observation; cite all their sources in one"))
        seen.setdefault(key, []).append((i, str(obs.get("id")), mine))
    return problems


# --- the hypotheses file ----------------------------------------------------------------------

PRIOR_FAMILIES = ("point", "uniform", "beta", "triangular")
Finite = Annotated[float, NotBoolean]


class PointPrior(Strict):
    """Always the same value."""

    dist: Literal["point"]
    value: Any


class UniformPrior(Strict):
    """Uniform on [low, high] (scipy.stats.uniform)."""

    dist: Literal["uniform"]
    low: Finite
    high: Finite

    @model_validator(mode="after")
    def _proper(self) -> UniformPrior:
        if not self.low < self.high:
            raise _at("high", "an improper prior: high must be greater than low")
        return self

    def ppf(self, u: Any) -> Any:
        """The quantiles at uniforms u."""
        return self.low + u * (self.high - self.low)

    def support(self) -> tuple[float, float]:
        return self.low, self.high

    def mean(self) -> float:
        return (self.low + self.high) / 2


class BetaPrior(Strict):
    """Beta(a, b) on [0, 1] (scipy.stats.beta), mean a / (a + b)."""

    dist: Literal["beta"]
    a: Annotated[Positive, Field(allow_inf_nan=False)]
    b: Annotated[Positive, Field(allow_inf_nan=False)]

    def ppf(self, u: Any) -> Any:
        from scipy import stats

        return stats.beta.ppf(u, self.a, self.b)

    def support(self) -> tuple[float, float]:
        return 0.0, 1.0

    def mean(self) -> float:
        return self.a / (self.a + self.b)


class TriangularPrior(Strict):
    """Triangular on [low, high] with its mode (scipy.stats.triang)."""

    dist: Literal["triangular"]
    low: Finite
    mode: Finite
    high: Finite

    @model_validator(mode="after")
    def _proper(self) -> TriangularPrior:
        if not self.low < self.high:
            raise _at("high", "an improper prior: high must be greater than low")
        if not self.low <= self.mode <= self.high:
            raise _at("mode", "expected low <= mode <= high")
        return self

    def ppf(self, u: Any) -> Any:
        from scipy import stats

        width = self.high - self.low
        return stats.triang.ppf(u, (self.mode - self.low) / width, loc=self.low, scale=width)

    def support(self) -> tuple[float, float]:
        return self.low, self.high

    def mean(self) -> float:
        return (self.low + self.mode + self.high) / 3


Prior = PointPrior | UniformPrior | BetaPrior | TriangularPrior
Drawn = UniformPrior | BetaPrior | TriangularPrior  # a prior drawn per replication


def spec(prior: Drawn) -> str:
    """beta(2, 3), uniform(0.2, 0.8), triangular(low, mode, high)."""
    values = [v for k, v in prior.model_dump().items() if k != "dist"]
    return f"{prior.dist}(" + ", ".join(f"{v:g}" for v in values) + ")"


def _kind_of_value(value: Any) -> str:
    """A mapping whose `dist` is a prior family is a prior; anything else is a value."""
    return value["dist"] if isinstance(value, dict) and value.get("dist") in PRIOR_FAMILIES \
        else "value"


ValueOrPrior = Annotated[
    Annotated[PointPrior, Tag("point")] | Annotated[UniformPrior, Tag("uniform")]
    | Annotated[BetaPrior, Tag("beta")] | Annotated[TriangularPrior, Tag("triangular")]
    | Annotated[Any, Tag("value")], Discriminator(_kind_of_value)]


class Hypothesis(Strict):
    """An explanation as parameter values over the baseline: a profile's, others combined,
    and values by path (a number, a name, true/false, or a prior drawn per replication)."""

    description: str = ""
    prior: Annotated[MaybeInfinite, Field(gt=0.0)] = Field(
        1.0, description="Prior weight; the weights are normalised over the hypotheses.")
    profile: str | None = Field(None, description="A scenario profile whose values (where they "
                                "differ from the baseline) this hypothesis sets.")
    combine: list[str] = Field(default_factory=list, description="Other hypotheses whose "
                               "values this one sets too (H1 + H3); they may not disagree.")
    values: dict[str, ValueOrPrior] = Field(
        default_factory=dict, description="Parameter path → a value or a prior "
        "({dist: beta, a, b}, {dist: uniform, low, high}, {dist: triangular, low, mode, high}, "
        "{dist: point, value}). A whole duration field (…decision_delay) takes a value as in a "
        "scenario; a prior goes on one of its parameters (…decision_delay.mean).")

    @field_validator("prior")
    @classmethod
    def _finite(cls, weight: float) -> float:
        if not math.isfinite(weight):
            raise ValueError("an improper prior: the weight must be a finite number")
        return weight

    def priors(self) -> dict[str, Prior]:
        """The values written as priors."""
        return {p: v for p, v in self.values.items()
                if isinstance(v, (PointPrior, UniformPrior, BetaPrior, TriangularPrior))}


HypothesisName = Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.:+-]+$")]  # H1+H3


class Hypotheses(Strict):
    """Competing explanations of one scenario's outcome, each a point or a prior over its
    parameter space."""

    _source: Any = PrivateAttr(default=None)

    scenario: str | None = Field(None, description="The scenario the paths refer to.")
    description: str = ""
    baseline: str = Field("base", description="The profile every hypothesis starts from "
                          "(`base`: the scenario's own values).")
    hypotheses: dict[HypothesisName, Hypothesis] = Field(min_length=2)

    @property
    def source(self) -> Source | None:
        return self._source

    def parts(self, name: str) -> list[str]:
        """The hypotheses a hypothesis is made of, itself last, each once."""
        out: list[str] = []
        for part in self.hypotheses[name].combine:
            out += [p for p in self.parts(part) if p not in out]
        return [*out, name]


def _hypotheses_problems(raw: dict[str, Any]) -> list[tuple[Path_, str]]:
    """Combinations of hypotheses that do not exist, or that contain themselves."""
    problems: list[tuple[Path_, str]] = []
    hyps = raw.get("hypotheses") if isinstance(raw.get("hypotheses"), dict) else {}
    combine = {name: [c for c in h.get("combine") or [] if isinstance(c, str)]
               for name, h in hyps.items() if isinstance(h, dict)
               and isinstance(h.get("combine") or [], list)}
    for name, parts in combine.items():
        for j, part in enumerate(parts):
            if part not in hyps:
                problems.append((("hypotheses", name, "combine", j),
                                 f"{part!r} is not a hypothesis here; hypotheses: "
                                 + ", ".join(map(str, hyps))))
    for name in combine:
        stack, seen = list(combine[name]), set()
        while stack:
            part = stack.pop()
            if part == name:
                problems.append((("hypotheses", name, "combine"),
                                 f"{name!r} combines itself (through {', '.join(combine[name])})"))
                break
            if part not in seen:
                seen.add(part)
                stack += combine.get(part, [])
    return problems


def _repeated_ids(raw: dict[str, Any], key: str) -> list[tuple[Path_, str]]:
    items = raw.get(key) if isinstance(raw.get(key), list) else []
    first: dict[str, int] = {}
    problems: list[tuple[Path_, str]] = []
    for i, item in enumerate(items):
        ident = item.get("id") if isinstance(item, dict) else None
        if isinstance(ident, str) and ident in first:
            problems.append(((key, i, "id"),
                             f"duplicate id {ident!r} (also {key}[{first[ident]}])"))
        elif isinstance(ident, str):
            first[ident] = i
    return problems


# --- reading them -----------------------------------------------------------------------------


def load_evidence(path: str | Path) -> Evidence:
    """Read and validate an evidence file (ScenarioError: every problem at its file:line)."""
    return _load(path, Evidence, "evidence", _evidence_problems)


def load_hypotheses(path: str | Path) -> Hypotheses:
    """Read and validate a hypotheses file (ScenarioError: every problem at its file:line)."""
    return _load(path, Hypotheses, "hypotheses", _hypotheses_problems)


def _load(path: str | Path, model: type[D], what: str,
          checks: Callable[[dict[str, Any]], list[tuple[Path_, str]]]) -> D:
    name = str(path)
    text = read_text(Path(path))
    raw, lines, problems = read_yaml(text, name, what)
    document = validated(model, raw, lines, name, problems, checks)
    document._source = Source(name, lines, text.splitlines())
    return document


def companion(scenario: str | Path, kind: str) -> Path | None:
    """The evidence or hypotheses file that goes with a scenario: SCENARIO.<kind>.yaml beside
    it (built-in scenarios ship theirs), if there is one."""
    path = Path(scenario)
    if not path.is_file():
        path = builtin_scenarios().get(str(scenario), path)
    found = path.with_name(f"{path.name.removesuffix('.yaml')}.{kind}.yaml")
    return found if found.is_file() else None
