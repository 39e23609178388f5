"""iadsim: simulate an integrated air-defence system and explain why it does or does not stop a
raid. An analysis and teaching tool; all system figures are illustrative public nominal values.

The Python API (README, "Python API"): `load` a scenario at a profile, list its `parameters`
(and the `inert` ones, which cannot act there), `run` it at one point or over a parameter
`table`, read `Results.observable(name)`, `evaluate` a SALib sample over a `problem`, and
`explain`, `compare`, `sensitivity` and `infer` (hypotheses weighed against evidence)."""

from iadsim.api import (
    Interrupted,
    RunSummary,
    compare,
    design,
    evaluate,
    explain,
    inert,
    infer,
    load,
    load_evidence,
    load_hypotheses,
    parameters,
    problem,
    run,
    sensitivity,
    simulate,
    table,
)
from iadsim.engine.results import Estimate, Results
from iadsim.model import Model, compile_scenario
from iadsim.params import ParameterError
from iadsim.scenario import ScenarioError, load_scenario
from iadsim.tables import ParamTable

__version__ = "0.1.0"

__all__ = ["Estimate", "Interrupted", "Model", "ParamTable", "ParameterError", "Results",
           "RunSummary", "ScenarioError", "compare", "compile_scenario", "design", "evaluate",
           "explain", "inert", "infer", "load", "load_evidence", "load_hypotheses",
           "load_scenario", "parameters", "problem", "run", "sensitivity", "simulate", "table"]
