"""Scenario files: schema, catalog of illustrative types, loading and validation."""

from iadsim.scenario.load import Problem, ScenarioError, builtin_scenarios, load_scenario
from iadsim.scenario.schema import Scenario

__all__ = ["Problem", "Scenario", "ScenarioError", "builtin_scenarios", "load_scenario"]
