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
import os
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__version__ = "0.1.0"


def numba_cache_dir(package: Path, environ: Mapping[str, str],
                    writable: Callable[[Path], bool]) -> str | None:
    """Where Numba should cache the compiled loops, if not beside the code: None when
    NUMBA_CACHE_DIR is set or the package's folders can be written; else the user's cache
    folder (XDG_CACHE_HOME, ~/.cache, ~/Library/Caches, LOCALAPPDATA), or a folder in the
    temporary directory when that cannot be written either."""
    if environ.get("NUMBA_CACHE_DIR"):
        return None
    folders = (package, package / "engine" / "vectorized")  # where compiled loops are defined
    if all(writable(f / "__pycache__" if (f / "__pycache__").exists() else f)
           for f in folders):
        return None
    if sys.platform == "win32":
        base = Path(environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    user = os.getuid() if hasattr(os, "getuid") else 0
    for folder in (base / "iadsim" / "numba", Path(tempfile.gettempdir()) / f"iadsim-{user}"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if writable(folder):
                return str(folder)
        except OSError:
            continue
    return None


_cache = numba_cache_dir(Path(__file__).parent, os.environ, lambda p: os.access(p, os.W_OK))
if _cache is not None:  # before Numba is first imported: it reads the setting once
    os.environ["NUMBA_CACHE_DIR"] = _cache

_WHERE = {
    **dict.fromkeys(("Interrupted", "RunSummary", "compare", "design", "evaluate", "explain",
                     "inert", "infer", "load", "load_evidence", "load_hypotheses",
                     "load_sweep", "parameters", "plot_sweep", "problem", "query", "relation",
                     "report", "run", "sensitivity", "serve", "simulate", "sweep", "table",
                     "what_if"),
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
