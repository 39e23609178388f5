"""A scenario ready to run: its structure compiled once, its parameter space, and the point
(profile and values) it runs at. A new point never recompiles; a new structure value does."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from iadsim.compile import CompiledScenario, compile_structure, is_structure, with_structure
from iadsim.parameter import ParameterError
from iadsim.params import Assignment, ParameterSpace, Point
from iadsim.scenario import Scenario, ScenarioError
from iadsim.tables import ParamTable


@dataclass(frozen=True)
class Model:
    """A compiled scenario at one parameter point, and the values set beyond its profile."""

    scenario: Scenario
    structure: CompiledScenario
    space: ParameterSpace
    point: Point
    settings: Mapping[str, Any] = field(default_factory=dict)  # path → value, structure too
    _memo: dict[Any, Any] = field(default_factory=dict, init=False, compare=False, repr=False)
    # shared by the tables of this point (ParamTable._memo): fresh in every replace()

    @property
    def name(self) -> str:
        return self.structure.name

    @property
    def profile(self) -> str:
        """The name of the point: a profile's, or `base` for the scenario's own values, with
        `+set` when values were set beyond it."""
        return self.point.name

    def at(self, profile: str | None = None, values: Mapping[str, Any] | None = None) -> Model:
        """This model at another point: a profile's values (`base`: the scenario's own; None:
        this model's point), then `values` (path → value). Structure paths among the values
        compile anew; the other values never do."""
        changed, values = _split(values)
        model = self
        if changed:  # the parameter space keeps its layout: the point carries over
            scenario, structure = _recompiled(self.scenario, changed)
            model = Model(scenario, structure, ParameterSpace.build(scenario), self.point,
                          self.settings)
        structural = {p: v for p, v in model.settings.items() if is_structure(p)}
        if profile is None:
            start, settings = model.point, {**model.settings, **changed, **values}
            name = start.name.removesuffix("+set")
        else:
            start, settings = model.space.profile(profile), {**structural, **changed, **values}
            name = start.name
        point = model.space.apply(start, [Assignment(k, v, "values") for k, v in values.items()],
                                  name) if values else start
        return replace(model, point=replace(point, name=f"{name}+set" if settings else name),
                       settings=settings)

    def table(self, runs: int, first: int = 0) -> ParamTable:
        """Replications first … first + runs − 1 at this model's point."""
        return ParamTable.repeat(self.space, self.point, runs, first, self._memo)


def compile_scenario(scenario: Scenario, profile: str | None = None,
                     values: Mapping[str, Any] | None = None) -> Model:
    """Compile a scenario's structure and parameter space, at a profile (default: the
    scenario's own values) and values (structure paths among them change the scenario before
    it is compiled)."""
    changed, values = _split(values)
    scenario, structure = _recompiled(scenario, changed) if changed else \
        (scenario, compile_structure(scenario))
    space = ParameterSpace.build(scenario)
    model = Model(scenario, structure, space, space.profile("base"), changed)
    return model.at(profile or "base", values)


def _recompiled(scenario: Scenario, changed: Mapping[str, Any]
                ) -> tuple[Scenario, CompiledScenario]:
    """The scenario with structure values changed, and compiled; a change that makes the
    structure impossible (a route that runs backwards in time) is a ParameterError naming it."""
    scenario = with_structure(scenario, changed)
    try:
        return scenario, compile_structure(scenario)
    except ScenarioError as exc:
        values = ", ".join(f"{p}={v}" for p, v in changed.items())
        raise ParameterError([f"{values}: {p.field}: {p.message}"
                              for p in exc.problems]) from None


def _split(values: Mapping[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(structure values, parameter values)."""
    values = dict(values or {})
    return {p: v for p, v in values.items() if is_structure(p)}, \
        {p: v for p, v in values.items() if not is_structure(p)}


def model_digest(model: Model) -> str:
    """A hash of the scenario (with its structure values) and of the point: the same for the
    same model, whatever process computes it; stored results name the model they came from."""
    import hashlib
    import json

    import numpy as np

    digest = hashlib.sha256(json.dumps(model.scenario.model_dump(mode="json"),
                                       sort_keys=True).encode())
    digest.update(np.ascontiguousarray(model.point.theta).tobytes())
    return digest.hexdigest()
