"""What if: the outcome of a profile with some explanations fixed, the SAM command's authority
changed, or electronic attack switched on or off, always on the same replications (common
random numbers), so that moving one control changes the outcome by that control's effect
alone. The page `iadsim serve` shows is a thin layer over `WhatIf.evaluate`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from iadsim.analysis.explain import assign, named_profile
from iadsim.analysis.problems import AnalysisError
from iadsim.engine import DEFAULT_ENGINE
from iadsim.engine import run as run_engine
from iadsim.model import Model
from iadsim.rules import AUTHORITIES
from iadsim.tables import ParamTable

OUTCOME_LABELS = {"threats_killed": "threats killed", "leakers": "leakers",
                  "launches[guidance=radar]": "launches by radar-guided units",
                  "launches[guidance=infrared]": "launches by infrared units"}
OUTCOMES = tuple(OUTCOME_LABELS)


class WhatIfError(AnalysisError):
    """A request the what-if cannot answer: an unknown control or value."""


@dataclass(frozen=True)
class Choice:
    """One setting of the controls."""

    fixed: tuple[str, ...] = ()  # explanation groups set to the `fixed` profile's values
    authority: tuple[tuple[str, str], ...] = ()  # (command post, authority) set
    electronic_attack: bool | None = None  # every electronic attack on or off, or None


class WhatIf:
    """The controls over a scenario between a profile as it is (`profile`) and as it would be
    fixed (`fixed`), and their outcome on `runs` common replications."""

    def __init__(self, model: Model, profile: str = "reported", fixed: str = "full", *,
                 runs: int = 2000, seed: int = 0, engine: str = DEFAULT_ENGINE):
        space = model.space
        self.model, self.profile, self.fixed, self.runs, self.seed, self.engine = \
            model, profile, fixed, runs, seed, engine
        self.start = named_profile(space, profile).theta
        self.end = named_profile(space, fixed).theta
        groups = model.scenario.explanations or {}
        members, _ = assign(space, self.start, self.end, groups)
        self.groups = {name: np.array([space.by_path[p].slot for p in paths], dtype=np.int64)
                       for name, paths in members.items()}
        self.authority = {p.path.split(".")[1]: p for p in space.parameters
                          if p.path.startswith("command_posts.") and
                          p.path.endswith(".authority")}
        self.attack = [p.slot for p in space.parameters
                       if p.path.startswith("electronic_attack.") and p.path.endswith(".active")]
        self.plan = None
        if engine == "vectorized":
            from iadsim.engine.vectorized import Plan

            self.plan = Plan(model.structure)

    def controls(self) -> dict[str, Any]:
        """What can be set, for the page: the groups, the authorities, electronic attack."""
        return {"profile": self.profile, "fixed": self.fixed, "runs": self.runs,
                "seed": self.seed, "groups": list(self.groups),
                "authority": {cp: p.decode(self.start[p.slot])
                              for cp, p in self.authority.items()},
                "authorities": list(AUTHORITIES),
                "electronic_attack": bool(self.attack)}

    def choice(self, request: Mapping[str, Any]) -> Choice:
        """A request's choice ({"fixed": [...], "authority": ..., "electronic_attack": ...}),
        or WhatIfError naming what is wrong."""
        if not isinstance(request, Mapping):
            raise WhatIfError(["expected a JSON object"])
        problems = [f"unknown control {k!r}; controls: fixed, authority, electronic_attack"
                    for k in request if k not in ("fixed", "authority", "electronic_attack")]
        fixed = request.get("fixed", [])
        if not isinstance(fixed, list) or not all(isinstance(g, str) for g in fixed):
            problems.append("fixed: expected a list of group names")
            fixed = []
        problems += [f"fixed: no group {g!r}; groups: {', '.join(self.groups)}"
                     for g in fixed if g not in self.groups]
        authority = request.get("authority", {})
        if not isinstance(authority, Mapping):
            problems.append("authority: expected {command post: central, delegated or "
                            "autonomous}")
            authority = {}
        for cp, value in authority.items():
            if cp not in self.authority:
                problems.append(f"authority: no command post {cp!r}; command posts: "
                                f"{', '.join(self.authority) or 'none'}")
            elif value not in AUTHORITIES:
                problems.append(f"authority.{cp}: expected one of {', '.join(AUTHORITIES)} "
                                f"(got {value!r})")
        attack = request.get("electronic_attack")
        if attack is not None and (not isinstance(attack, bool) or not self.attack):
            problems.append("electronic_attack: expected true or false" if self.attack else
                            "electronic_attack: this scenario has none")
        if problems:
            raise WhatIfError(problems)
        return Choice(tuple(g for g in self.groups if g in fixed),
                      tuple((cp, authority[cp]) for cp in self.authority if cp in authority),
                      attack)

    def point(self, choice: Choice) -> np.ndarray:
        """The parameter point of a choice."""
        theta = self.start.copy()
        for g in choice.fixed:
            theta[self.groups[g]] = self.end[self.groups[g]]
        for cp, value in choice.authority:
            p = self.authority[cp]
            theta[p.slot] = p.encode(value)
        if choice.electronic_attack is not None:
            theta[self.attack] = 1.0 if choice.electronic_attack else 0.0
        return theta

    def evaluate(self, choice: Choice) -> dict[str, Any]:
        """The outcome of a choice: each outcome's mean and 95% interval, and failed passages
        per run by first broken link for each unit type."""
        table = ParamTable(self.model.space, self.point(choice)[None, :],
                           np.zeros(self.runs, dtype=np.int64),
                           np.arange(self.runs, dtype=np.int64), ("what-if",))
        results = run_engine(self.model, seed=self.seed, engine=self.engine, table=table,
                             rows=False, plan=self.plan)
        return {"choice": {"fixed": list(choice.fixed), "authority": dict(choice.authority),
                           "electronic_attack": choice.electronic_attack},
                "runs": self.runs, "seed": self.seed,
                "outcomes": {k: e.as_dict() for k, e in results.summary(OUTCOMES).items()},
                "links": results.links_by_unit_type()}
