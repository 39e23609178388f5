"""A scenario ready to run: its structure compiled once, its parameter space, and the point
(profile and values) it runs at. Changing the point never recompiles."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from iadsim.compile import CompiledScenario, compile_structure, is_structure, with_structure
from iadsim.params import ParameterSpace, Point
from iadsim.scenario import Scenario
from iadsim.tables import ParamTable


@dataclass(frozen=True)
class Model:
    """A compiled scenario at one parameter point."""

    scenario: Scenario
    structure: CompiledScenario
    space: ParameterSpace
    point: Point

    @property
    def name(self) -> str:
        return self.structure.name

    @property
    def profile(self) -> str:
        """The name of the point: a profile's, or `base` for the scenario's own values."""
        return self.point.name

    def at(self, profile: str | None = None, values: Mapping[str, Any] | None = None) -> Model:
        """The same compiled scenario at a profile's values (or the scenario's own), then
        `values` (path → value). A structure path among the values compiles anew."""
        if values and any(is_structure(path) for path in values):
            return compile_scenario(self.scenario, profile, values)
        return replace(self, point=self.space.point(profile, values))

    def table(self, runs: int, first: int = 0) -> ParamTable:
        """Replications first … first + runs − 1 at this model's point."""
        return ParamTable.repeat(self.space, self.point, runs, first)


def compile_scenario(scenario: Scenario, profile: str | None = None,
                     values: Mapping[str, Any] | None = None) -> Model:
    """Compile a scenario's structure and parameter space, at a profile and values (structure
    paths among them change the scenario before it is compiled)."""
    values = dict(values or {})
    changed = {path: values.pop(path) for path in list(values) if is_structure(path)}
    if changed:
        scenario = with_structure(scenario, changed)
    structure = compile_structure(scenario)
    space = ParameterSpace.build(scenario)
    point = space.point(profile, values)
    if changed and not point.name.endswith("+set"):
        point = replace(point, name=f"{point.name}+set")
    return Model(scenario, structure, space, point)
