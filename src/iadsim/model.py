"""A scenario ready to run: its structure compiled once, its parameter space, and the point
(profile and values) it runs at. Changing the point never recompiles."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from iadsim.compile import CompiledScenario, compile_structure
from iadsim.params import ParameterSpace, ParamTable, Point
from iadsim.scenario import Scenario


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
        `values` (path → value)."""
        return replace(self, point=self.space.point(profile, values))

    def table(self, runs: int, first: int = 0) -> ParamTable:
        """Replications first … first + runs − 1 at this model's point."""
        return ParamTable.repeat(self.space, self.point, runs, first)


def compile_scenario(scenario: Scenario, profile: str | None = None,
                     values: Mapping[str, Any] | None = None) -> Model:
    """Compile a scenario's structure and parameter space, at a profile and values."""
    structure = compile_structure(scenario)
    space = ParameterSpace.build(scenario)
    return Model(scenario, structure, space, space.point(profile, values))
