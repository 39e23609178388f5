"""A sweep file and the design it names: which scenario, which parameters, which points.

    name: radar-readiness        # the sweep's id in a store (default: the file's stem)
    scenario: caracas-2026       # a built-in name, or a path relative to this file
    profile: reported            # optional; `set:` path → value fixes more values
    parameters:                  # grid: a list of values per path …
      groups.sams.readiness.connected: [0.2, 0.5, 0.8]
    design: grid                 # … lhs / sobol: {low, high} per path, and points (and seed)
    replications: 2000           # per point; the same replication indices at every point
    seed: 1                      # (common random numbers across points)

A table design reads its points from a CSV or Parquet file whose columns are parameter paths
(`design: {kind: table, file: points.csv}`). Every problem is reported at once, with the file,
line and field (ScenarioError, as for scenario files).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from iadsim.model import Model, model_digest
from iadsim.scenario.load import Problem, ScenarioError, read_text, read_yaml, validated

__all__ = ["MAX_POINTS", "Sweep", "SweepFile", "load_sweep", "read_sweep"]

MAX_POINTS = 1_000_000  # designs beyond this are refused: a store of that many points is a mistake
NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"  # a sweep's id is a folder name in the store


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Bounds(_Strict):
    """The range a Latin hypercube or Sobol design samples uniformly."""

    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Bounds:
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low <= self.high):
            raise ValueError(f"expected finite low <= high (got {self.low}, {self.high})")
        return self


class Design(_Strict):
    """How the points are chosen: a full grid of the listed values, a Latin hypercube or a
    scrambled Sobol sequence in the bounds (scipy.stats.qmc), or a table from a file."""

    kind: Literal["grid", "lhs", "sobol", "table"]
    points: Annotated[int, Field(ge=1, le=MAX_POINTS)] | None = None
    seed: Annotated[int, Field(ge=0)] = 0  # of the sample, not of the replications
    file: str | None = None


class SweepFile(_Strict):
    """What a sweep file holds."""

    name: Annotated[str, Field(pattern=NAME)] | None = None
    scenario: str
    profile: str | None = None
    set: dict[str, Any] = {}
    parameters: dict[str, list[Any] | Bounds] = {}
    design: Literal["grid", "lhs", "sobol", "table"] | Design = "grid"
    replications: Annotated[int, Field(ge=1, le=10**9)]
    seed: Annotated[int, Field(ge=0)] = 0
    engine: Literal["vectorized", "reference"] = "vectorized"
    task_replications: Annotated[int, Field(ge=1)] | None = None  # per task; default: a block

    @property
    def plan(self) -> Design:
        return self.design if isinstance(self.design, Design) else Design(kind=self.design)


def _checks(data: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    """What the schema alone cannot say: which parameter form and design options go together."""
    design = data.get("design", "grid")
    kind = design.get("kind") if isinstance(design, dict) else design
    options = design if isinstance(design, dict) else {}
    params = data.get("parameters") or {}
    if not isinstance(params, dict):
        return []
    out: list[tuple[tuple[Any, ...], str]] = []
    where = ("design",) if isinstance(design, str) else ("design", "kind")
    if kind == "table":
        if not options.get("file"):
            out.append((where, "a table design names its file: {kind: table, file: points.csv}"))
        if params:
            out.append((("parameters",), "a table design takes its parameters from the file's "
                        "columns: leave `parameters` out"))
        return out
    if options.get("file") is not None:
        out.append((("design", "file"), f"only a table design reads a file (this is {kind})"))
    if not params:
        out.append((("parameters",), "name at least one parameter path to sweep"))
    for path, value in params.items():
        if kind == "grid" and isinstance(value, dict):
            out.append((("parameters", path), "a grid lists the values to take, e.g. "
                        "[0.2, 0.5, 0.8]; {low, high} is for lhs and sobol designs"))
        elif kind == "grid" and isinstance(value, list) and not value:
            out.append((("parameters", path), "list at least one value"))
        elif kind in ("lhs", "sobol") and not isinstance(value, dict):
            out.append((("parameters", path), f"a {kind} design samples a range: give "
                        "{low: …, high: …}"))
    if kind in ("lhs", "sobol") and options.get("points") is None:
        out.append((where, f"a {kind} design needs its number of points: "
                    f"{{kind: {kind}, points: 64}}"))
    if kind == "grid" and options.get("points") is not None:
        out.append((("design", "points"), "a grid's points are all combinations of the listed "
                    "values; leave `points` out"))
    sizes = [len(v) for v in params.values() if isinstance(v, list)]
    if kind == "grid" and sizes and math.prod(sizes) > MAX_POINTS:
        out.append((("parameters",), f"the grid has {math.prod(sizes):,} points; at most "
                    f"{MAX_POINTS:,}"))
    return out


def read_sweep(path: str | Path) -> tuple[SweepFile, dict[tuple[Any, ...], int]]:
    """The sweep file, validated, and the line of each of its keys (ScenarioError listing every
    problem with file:line)."""
    path = Path(path)
    raw, lines, problems = read_yaml(read_text(path), str(path), "sweep")
    return validated(SweepFile, raw, lines, str(path), problems, _checks), lines


@dataclass(frozen=True)
class Sweep:
    """A sweep ready to run: the model at its profile, each point's parameter values, and what
    identifies the sweep in a store (`digest`: a changed file is a different sweep)."""

    name: str
    model: Model
    kind: str  # grid, lhs, sobol or table
    columns: dict[str, list[Any]]  # path → each point's value, as set
    thetas: np.ndarray  # (points, parameters): each point in the parameter space
    replications: int
    seed: int
    engine: str
    task_replications: int | None

    @property
    def points(self) -> int:
        return len(self.thetas)

    @functools.cached_property
    def definition(self) -> dict[str, Any]:
        """What the sweep is, as plain data (its digest covers it and the points)."""
        return {"name": self.name, "scenario": self.model.name, "profile": self.model.profile,
                "settings": dict(self.model.settings), "design": self.kind,
                "parameters": list(self.columns), "points": self.points,
                "replications": self.replications, "seed": self.seed, "engine": self.engine,
                "model": model_digest(self.model)}

    @functools.cached_property
    def digest(self) -> str:
        definition = {k: v for k, v in self.definition.items() if k != "name"}
        h = hashlib.sha256(json.dumps(definition, sort_keys=True, default=str).encode())
        h.update(np.ascontiguousarray(self.thetas).tobytes())
        return h.hexdigest()


def load_sweep(path: str | Path, engine: str | None = None) -> Sweep:
    """A sweep file, its scenario compiled and its design drawn; ScenarioError with every
    problem (the file's own, then the parameters' against the scenario) at file:line."""
    from iadsim.model import compile_scenario
    from iadsim.params import ParameterError
    from iadsim.scenario.load import builtin_scenarios, load_scenario

    path = Path(path)
    spec, lines = read_sweep(path)
    filename = str(path)

    def problem(at: tuple[Any, ...], message: str) -> Problem:
        line = lines.get(at) or lines.get(at[:1])
        return Problem(filename, line, ".".join(str(a) for a in at), message)

    beside = path.parent / spec.scenario
    source = beside if spec.scenario not in builtin_scenarios() or beside.is_file() \
        else spec.scenario
    try:
        scenario = load_scenario(source)
    except ScenarioError as exc:
        if not Path(source).exists() and spec.scenario not in builtin_scenarios():
            raise ScenarioError([problem(("scenario",), f"{spec.scenario!r}: no such file "
                                         f"beside the sweep file, and not a built-in scenario; "
                                         f"built-in: {', '.join(sorted(builtin_scenarios()))}"
                                         )]) from None
        raise exc from None
    try:
        model = compile_scenario(scenario, spec.profile, spec.set)
    except (ParameterError, ScenarioError) as exc:
        found = [(getattr(p, "field", ""), getattr(p, "message", str(p))) for p in exc.problems]
        raise ScenarioError([problem(("profile",) if field == "profile" or (
            spec.profile and not spec.set) else ("set",), message)
            for field, message in found]) from None
    design = spec.plan
    try:
        columns = _columns(spec, design, path, model)
    except _DesignError as exc:
        raise ScenarioError([problem(at, m) for at, m in exc.problems]) from None
    n = len(next(iter(columns.values())))
    try:
        points, point, _ = model.space.points_from_columns(
            model.point, {"replication": np.zeros(n, dtype=np.int64), **columns})
    except ParameterError as exc:
        at = ("design", "file") if design.kind == "table" else ("parameters",)
        raise ScenarioError([problem(_at_path(at, p, columns), _point_rows(p, design.kind))
                             for p in exc.problems]) from None
    name = spec.name or path.stem
    if not re.match(NAME, name):
        raise ScenarioError([Problem(filename, None, "name", (
            f"the sweep's name comes from the file name, {name!r}, which a store cannot use "
            "(letters, digits, '_', '.' and '-', starting with a letter or digit): give "
            "`name:`"))])
    thetas = points[point]
    return Sweep(name=name, model=model, kind=design.kind,
                 columns={k: _decoded(model, k, thetas, v) for k, v in columns.items()},
                 thetas=thetas, replications=spec.replications, seed=spec.seed,
                 engine=engine or spec.engine, task_replications=spec.task_replications)


def _point_rows(message: str, kind: str) -> str:
    """A parameter table's "row N" said as the design's point N (a table file's data row)."""
    if kind == "table":
        return re.sub(r"\brow (\d+)\b", lambda m: f"data row {int(m[1]) + 1}", message)
    return re.sub(r"\brow (\d+)\b", r"point \1", message)


def _at_path(at: tuple[Any, ...], message: str, columns: dict[str, Any]) -> tuple[Any, ...]:
    """The sweep file key a parameter problem is about (`PATH: …` messages)."""
    path = message.split(":", 1)[0]
    return ("parameters", path) if at == ("parameters",) and path in columns else at


class _DesignError(Exception):
    def __init__(self, problems: list[tuple[tuple[Any, ...], str]]):
        self.problems = problems


def _columns(spec: SweepFile, design: Design, path: Path, model: Model
             ) -> dict[str, np.ndarray]:
    """path → each point's value, from the design."""
    if design.kind == "table":
        return _table_columns(path.parent / str(design.file))
    names = list(spec.parameters)
    if design.kind == "grid":
        values = [spec.parameters[k] for k in names]
        combos = list(itertools.product(*values))  # the last path varies fastest
        return {k: _array([c[d] for c in combos]) for d, k in enumerate(names)}
    from scipy.stats import qmc

    kinds = {k: _kind(model, k) for k in names}
    wrong = [(("parameters", k), f"a {design.kind} design samples numbers; {k} is "
              f"{kinds[k]}: sweep it with a grid or a table") for k in names
             if kinds[k] in ("bool", "choice")]
    for k in names:  # reported with the others, not after they are fixed
        if kinds[k] == "unknown":
            try:
                model.space.expand(k)
            except ValueError as exc:
                wrong.append((("parameters", k), f"{k}: {exc}"))
    bounds = [spec.parameters[k] for k in names]
    whole = {k: (math.ceil(b.low), math.floor(b.high))  # type: ignore[union-attr]
             for k, b in zip(names, bounds, strict=True) if kinds[k] == "count"}
    wrong += [(("parameters", k), f"{k} takes whole numbers; none lies in "
               f"[{spec.parameters[k].low:g}, {spec.parameters[k].high:g}]")  # type: ignore
              for k, (lo, hi) in whole.items() if lo > hi]
    if wrong:
        raise _DesignError(wrong)
    d = len(names)
    assert design.points is not None  # _checks
    if design.kind == "lhs":
        unit = qmc.LatinHypercube(d, rng=design.seed).random(design.points)
    else:
        import warnings

        with warnings.catch_warnings():  # not a power of two: still a valid (less balanced) set
            warnings.simplefilter("ignore", UserWarning)
            unit = qmc.Sobol(d, scramble=True, rng=design.seed).random(design.points)
    low = np.array([b.low for b in bounds])  # type: ignore[union-attr]
    high = np.array([b.high for b in bounds])  # type: ignore[union-attr]
    out = {}
    for i, k in enumerate(names):
        if k in whole:  # each whole number in the bounds over an equal share of the sample
            lo, hi = whole[k]
            out[k] = np.minimum(lo + np.floor(unit[:, i] * (hi - lo + 1)), hi)
        else:
            out[k] = low[i] + unit[:, i] * (high[i] - low[i])
    return out


def _kind(model: Model, path: str) -> str:
    """The kind of the parameters a path sets ("unknown" if it sets none: reported later)."""
    try:
        kinds = {model.space.by_path[c].kind for c in model.space.expand(path)
                 if c in model.space.by_path}
    except ValueError:
        return "unknown"
    return next(iter(kinds)) if len(kinds) == 1 else "mixed"


def _table_columns(file: Path) -> dict[str, np.ndarray]:
    """The columns of a design table (CSV or Parquet)."""
    at = ("design", "file")
    if not file.is_file():
        raise _DesignError([(at, f"{file}: no such file")])
    try:
        if file.suffix.lower() == ".parquet":
            import pyarrow.parquet as pq

            table = pq.read_table(file)
        else:
            import pyarrow.csv as pcsv

            table = pcsv.read_csv(file)
    except Exception as exc:  # noqa: BLE001 (any reader error is the file's fault)
        raise _DesignError([(at, f"{file}: cannot read as "
                             f"{'Parquet' if file.suffix.lower() == '.parquet' else 'CSV'}: "
                             f"{str(exc).splitlines()[0]}")]) from None
    problems = []
    if table.num_columns == 0 or table.num_rows == 0:
        problems.append((at, f"{file}: no points (expected a header of parameter paths and a "
                         "row per point)"))
    if "replication" in table.column_names:
        problems.append((at, f"{file}: a design gives points only; the sweep's `replications` "
                         "says how many runs each point gets (drop the 'replication' column)"))
    if table.num_rows > MAX_POINTS:
        problems.append((at, f"{file}: {table.num_rows:,} points; at most {MAX_POINTS:,}"))
    nulls = [c for c in table.column_names if table[c].null_count]
    if nulls:
        problems.append((at, f"{file}: empty cells in {', '.join(nulls)}"))
    if problems:
        raise _DesignError(problems)
    return {c: _array(table[c].to_pylist()) for c in table.column_names}


def _array(values: list[Any]) -> np.ndarray:
    """Design values as the parameter table reads them: numbers as numbers, others as given."""
    if any(isinstance(v, (str, bool, type(None), dict, list)) for v in values):
        return np.array(values, dtype=object)
    return np.asarray(values, dtype=float)


def _decoded(model: Model, path: str, thetas: np.ndarray, given: np.ndarray) -> list[Any]:
    """Each point's value of a path as the parameter reads it (true/false, a choice's name, a
    number), so that every sweep of a store writes a path's values with one type."""
    concrete = [c for c in model.space.expand(path) if c in model.space.by_path]
    if not concrete:  # a duration's field: as given
        return [v.item() if isinstance(v, np.generic) else v for v in given]
    p = model.space.by_path[concrete[0]]
    return [p.decode(theta[p.slot]) for theta in thetas]
