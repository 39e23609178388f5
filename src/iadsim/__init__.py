"""iadsim: simulate an integrated air-defence system and explain why it does or does not stop a
raid. An analysis and teaching tool; all system figures are illustrative public nominal values.

The Python API (README, "Python API"): `load` a scenario at a profile, list its `parameters`
(and the `inert` ones, which cannot act there), `run` it at one point or over a parameter
`table`, read `Results.observable(name)`, `evaluate` a SALib sample over a `problem`, and
`explain`, `compare`, `sensitivity` and `infer` (hypotheses weighed against evidence).

The names are imported when first used, so that `import iadsim` (and the `iadsim` program's
start) stays light."""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_WHERE = {
    **dict.fromkeys(("Interrupted", "RunSummary", "compare", "design", "evaluate", "explain",
                     "inert", "infer", "load", "load_evidence", "load_hypotheses",
                     "parameters", "problem", "run", "sensitivity", "simulate", "table"),
                    "iadsim.api"),
    "Estimate": "iadsim.engine.results", "Results": "iadsim.engine.results",
    "Model": "iadsim.model", "compile_scenario": "iadsim.model",
    "ParameterError": "iadsim.params", "ScenarioError": "iadsim.scenario",
    "load_scenario": "iadsim.scenario", "ParamTable": "iadsim.tables",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'iadsim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])
