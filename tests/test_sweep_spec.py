"""Sweep files (iadsim.sweeps.spec): the points a design gives, the digest that identifies a
sweep, and the problems a bad file reports, each at the file, line and field a user wrote.

Every sweep here runs over the minimal scenario of conftest, written beside the sweep file, so
that loading takes a fraction of a second and nothing is simulated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from conftest import dump, line_of, minimal_scenario
from typer.testing import CliRunner

from iadsim.cli import app
from iadsim.scenario import Problem, ScenarioError, builtin_scenarios
from iadsim.sweeps.spec import Sweep, load_sweep

# Parameter paths of the minimal scenario (`iadsim params scenario.yaml`).
PK = "fire_units.sam1.pk.fixed_wing"  # probability
RELIABILITY = "fire_units.sam1.launch_reliability"  # probability
SALVO = "fire_units.sam1.salvo"  # count, 1 … 100
MISSILES = "fire_units.sam1.missiles"  # count, 0 … 100000
AUTHORITY = "command_posts.cp1.authority"  # choice
SHOOT_LOOK_SHOOT = "fire_units.sam1.shoot_look_shoot"  # bool
TRAINED = "fire_units.sam1.readiness.trained"

runner = CliRunner()


# --- helpers -------------------------------------------------------------------------------------


def with_profiles() -> dict[str, Any]:
    """The minimal scenario with two profiles that differ in crew training."""
    scenario = minimal_scenario()
    scenario["profiles"] = {"weak": {"values": {TRAINED: 0.2}},
                            "strong": {"values": {TRAINED: 0.9}}}
    return scenario


def write_sweep(folder: Path, stem: str = "sweep", drop: tuple[str, ...] = (),
                scenario: dict[str, Any] | None = None, **fields: Any) -> Path:
    """STEM.yaml in `folder`, over the minimal scenario written beside it as scenario.yaml: a
    grid of two pk values unless `fields` say otherwise; keys in `drop` are left out."""
    (folder / "scenario.yaml").write_text(dump(scenario or minimal_scenario()))
    data = {"scenario": "scenario.yaml", "parameters": {PK: [0.3, 0.9]}, "replications": 10,
            "seed": 1, **fields}
    path = folder / f"{stem}.yaml"
    path.write_text(dump({k: v for k, v in data.items() if k not in drop}))
    return path


def sampled(kind: str, points: int, seed: int = 0, **bounds: tuple[float, float]
            ) -> dict[str, Any]:
    """The fields of an lhs or sobol sweep over path → (low, high)."""
    return {"design": {"kind": kind, "points": points, "seed": seed},
            "parameters": {path: {"low": low, "high": high}
                           for path, (low, high) in bounds.items()}}


def write_table(path: Path, columns: dict[str, list[Any]]) -> Path:
    """A design table, as Parquet or CSV after the file's suffix."""
    table = pa.table(columns)
    if path.suffix == ".parquet":
        pq.write_table(table, path)
    else:
        pcsv.write_csv(table, path)
    return path


def problems_of(path: Path) -> list[Problem]:
    """Every problem load_sweep reports for the file; fails the test if it loads."""
    with pytest.raises(ScenarioError) as info:
        load_sweep(path)
    assert info.value.problems, "ScenarioError raised with no problems"
    return info.value.problems


def only_problem(path: Path) -> Problem:
    problems = problems_of(path)
    assert len(problems) == 1, "\n".join(str(p) for p in problems)
    return problems[0]


def assert_at(problem: Problem, path: Path, line: int, field: str, *words: str) -> None:
    """The problem names the sweep file, the line and the field, and says `words`."""
    text = str(problem)
    assert (problem.file, problem.line, problem.field) == (str(path), line, field), text
    assert text.startswith(f"{path}:{line}: {field}: "), text
    for word in words:
        assert word in problem.message, f"{word!r} not in {text}"


def theta_column(sweep: Sweep, path: str) -> list[Any]:
    """The value of `path` at each point of the sweep, read back from the points themselves."""
    parameter = sweep.model.space.by_path[path]
    return [parameter.decode(x) for x in sweep.thetas[:, parameter.slot]]


def everything(result: Any) -> str:
    return result.stdout + result.stderr


# --- grid ----------------------------------------------------------------------------------------


def test_grid_is_every_combination_last_path_fastest(tmp_path):
    path = write_sweep(tmp_path, parameters={PK: [0.3, 0.6, 0.9],
                                             AUTHORITY: ["central", "autonomous"]},
                       replications=25, seed=7)
    sweep = load_sweep(path)
    assert (sweep.kind, sweep.points, sweep.replications, sweep.seed) == ("grid", 6, 25, 7)
    assert sweep.columns == {PK: [0.3, 0.3, 0.6, 0.6, 0.9, 0.9],
                             AUTHORITY: ["central", "autonomous"] * 3}
    assert sweep.thetas.shape[0] == 6
    for name, values in sweep.columns.items():  # the points carry the listed values
        assert theta_column(sweep, name) == values


def test_name_defaults_to_the_file_stem_and_the_file_can_give_one(tmp_path):
    assert load_sweep(write_sweep(tmp_path, "readiness-grid")).name == "readiness-grid"
    assert load_sweep(write_sweep(tmp_path, "other", name="my-sweep")).name == "my-sweep"


def test_scenario_and_table_are_found_beside_the_sweep_file(tmp_path, monkeypatch):
    (tmp_path / "scenario.yaml").write_text("not: a scenario\n")  # in the working folder
    folder = tmp_path / "sweeps"
    folder.mkdir()
    write_sweep(folder, "grid")
    write_table(folder / "points.csv", {PK: [0.1, 0.2]})
    write_sweep(folder, "table", design={"kind": "table", "file": "points.csv"},
                drop=("parameters",))
    monkeypatch.chdir(tmp_path)
    assert load_sweep(Path("sweeps/grid.yaml")).columns == {PK: [0.3, 0.9]}
    assert load_sweep(Path("sweeps/table.yaml")).columns == {PK: [0.1, 0.2]}


def test_engine_from_the_file_unless_given(tmp_path):
    assert load_sweep(write_sweep(tmp_path)).engine == "vectorized"
    assert load_sweep(write_sweep(tmp_path, engine="reference")).engine == "reference"
    assert load_sweep(write_sweep(tmp_path), engine="reference").engine == "reference"


# --- lhs and sobol -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["lhs", "sobol"])
def test_sampled_design_gives_the_points_asked_within_bounds(tmp_path, kind):
    bounds = {PK: (0.2, 0.4), RELIABILITY: (0.5, 1.0)}
    sweep = load_sweep(write_sweep(tmp_path, **sampled(kind, 7, **bounds)))
    assert (sweep.kind, sweep.points) == (kind, 7)
    for name, (low, high) in bounds.items():
        values = sweep.columns[name]
        assert len(values) == 7 and len(set(values)) == 7, values
        assert all(low <= v <= high for v in values), values
        assert theta_column(sweep, name) == pytest.approx(values)


@pytest.mark.parametrize("kind", ["lhs", "sobol"])
def test_sampled_design_same_seed_same_points_other_seed_others(tmp_path, kind):
    def sweep(seed: int) -> Sweep:
        return load_sweep(write_sweep(tmp_path, **sampled(kind, 8, seed, **{PK: (0.0, 1.0)})))

    first, again, other = sweep(3), sweep(3), sweep(4)
    assert first.columns == again.columns and first.digest == again.digest
    assert first.columns != other.columns and first.digest != other.digest


@pytest.mark.parametrize("kind", ["lhs", "sobol"])
def test_sampled_count_parameters_are_whole_numbers(tmp_path, kind):
    bounds = {SALVO: (1, 4), MISSILES: (2, 10)}
    sweep = load_sweep(write_sweep(tmp_path, **sampled(kind, 16, **bounds)))
    for name, (low, high) in bounds.items():
        values = sweep.columns[name]
        assert all(float(v).is_integer() and low <= v <= high for v in values), values
        assert len(set(values)) > 1, values


def test_a_latin_hypercube_gives_each_whole_number_an_equal_share(tmp_path):
    sweep = load_sweep(write_sweep(tmp_path, **sampled("lhs", 400, **{SALVO: (1, 4)})))
    values, counts = np.unique(sweep.columns[SALVO], return_counts=True)
    assert values.tolist() == [1, 2, 3, 4] and counts.tolist() == [100] * 4


def test_sampled_count_stays_within_fractional_bounds(tmp_path):
    sweep = load_sweep(write_sweep(tmp_path, **sampled("lhs", 16, **{SALVO: (1.2, 2.8)})))
    assert set(sweep.columns[SALVO]) == {2}


@pytest.mark.parametrize("kind", ["lhs", "sobol"])
@pytest.mark.parametrize("name, what", [(SHOOT_LOOK_SHOOT, "bool"), (AUTHORITY, "choice")])
def test_sampled_design_refuses_bool_and_choice(tmp_path, kind, name, what):
    path = write_sweep(tmp_path, **sampled(kind, 4, **{name: (0, 1)}))
    problem = only_problem(path)
    assert_at(problem, path, line_of(path.read_text(), "parameters:", f"{name}:"),
              f"parameters.{name}", what, "grid", "table")


def test_sampled_design_reports_a_bool_and_an_unknown_path_at_once(tmp_path):
    path = write_sweep(tmp_path, **sampled("lhs", 4, **{SHOOT_LOOK_SHOOT: (0, 1),
                                                        "fire_units.sam9.pk.fixed_wing": (0, 1)}))
    fields = {p.field for p in problems_of(path)}
    assert fields == {f"parameters.{SHOOT_LOOK_SHOOT}", "parameters.fire_units.sam9.pk.fixed_wing"}


# --- table ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_table_rows_are_the_points_duplicates_kept(tmp_path, suffix):
    columns = {PK: [0.5, 0.5, 0.9], AUTHORITY: ["central", "central", "autonomous"],
               SALVO: [1, 1, 3]}
    write_table(tmp_path / f"points{suffix}", columns)
    sweep = load_sweep(write_sweep(tmp_path, design={"kind": "table", "file": f"points{suffix}"},
                                   drop=("parameters",)))
    assert (sweep.kind, sweep.points) == ("table", 3)
    assert sweep.columns == columns
    for name, values in columns.items():
        assert theta_column(sweep, name) == values
    assert np.array_equal(sweep.thetas[0], sweep.thetas[1], equal_nan=True)


TABLE_PROBLEMS = {  # file name → (its columns, or None for no file; what the message says)
    "missing.csv": (None, ["missing.csv", "no such file"]),
    "header-only.csv": ({PK: pa.array([], pa.float64())}, ["header-only.csv", "no points"]),
    "replication.csv": ({"replication": [0, 1], PK: [0.5, 0.6]},
                        ["replication.csv", "replication", "replications"]),
    "holes.csv": ({PK: [0.5, None], SALVO: [1, 2]}, ["holes.csv", "empty cells", PK]),
    "holes.parquet": ({PK: [0.5, 0.6], SALVO: [None, 2]}, ["holes.parquet", "empty cells",
                                                           SALVO]),
    "unknown-path.csv": ({"fire_units.sam9.pk.fixed_wing": [0.5]}, ["unknown parameter path",
                                                                     "sam9"]),
    "out-of-range.csv": ({PK: [0.5, 1.5]}, [PK, "[0, 1]"]),
}


@pytest.mark.parametrize("file", list(TABLE_PROBLEMS))
def test_bad_table_is_reported_at_the_design_file(tmp_path, file):
    columns, words = TABLE_PROBLEMS[file]
    if columns is not None:
        write_table(tmp_path / file, columns)
    path = write_sweep(tmp_path, design={"kind": "table", "file": file}, drop=("parameters",))
    assert_at(only_problem(path), path, line_of(path.read_text(), "design:", "file:"),
              "design.file", *words)


def test_unreadable_parquet_is_reported_at_the_design_file(tmp_path):
    (tmp_path / "points.parquet").write_text("fire_units.sam1.pk.fixed_wing\n0.5\n")
    path = write_sweep(tmp_path, design={"kind": "table", "file": "points.parquet"},
                       drop=("parameters",))
    assert_at(only_problem(path), path, line_of(path.read_text(), "design:", "file:"),
              "design.file", "points.parquet", "cannot read as Parquet")


# --- digest --------------------------------------------------------------------------------------


def test_same_file_same_digest(tmp_path):
    path = write_sweep(tmp_path, scenario=with_profiles(), profile="weak")
    assert load_sweep(path).digest == load_sweep(path).digest


@pytest.mark.parametrize("change", [{"replications": 11}, {"seed": 2},
                                    {"parameters": {PK: [0.3, 0.8]}},
                                    {"parameters": {PK: [0.9, 0.3]}}, {"profile": "weak"},
                                    {"set": {RELIABILITY: 0.5}}, {"engine": "reference"}],
                         ids=["replications", "seed", "value", "order", "profile", "set",
                              "engine"])
def test_digest_changes_with_what_the_sweep_computes(tmp_path, change):
    before = load_sweep(write_sweep(tmp_path, scenario=with_profiles()))
    after = load_sweep(write_sweep(tmp_path, scenario=with_profiles(), **change))
    assert before.digest != after.digest


def test_digest_changes_between_profiles_and_with_the_scenario(tmp_path):
    weak = load_sweep(write_sweep(tmp_path, scenario=with_profiles(), profile="weak"))
    strong = load_sweep(write_sweep(tmp_path, scenario=with_profiles(), profile="strong"))
    edited = with_profiles()
    edited["fire_units"][0]["max_range_km"] = 30
    moved = load_sweep(write_sweep(tmp_path, scenario=edited, profile="weak"))
    assert len({weak.digest, strong.digest, moved.digest}) == 3


# --- bad sweep files -----------------------------------------------------------------------------

LHS4 = {"kind": "lhs", "points": 4}
BAD = {  # id → (fields of the sweep file, keys left out, needles for its line, field, words)
    "unknown path": ({"parameters": {"fire_units.sam9.pk.fixed_wing": [0.5]}}, (),
                     ("parameters:", "fire_units.sam9"), "parameters.fire_units.sam9.pk.fixed_wing",
                     ["unknown parameter path", "sam9"]),
    "misspelt path": ({"parameters": {"fire_units.sam1.pkk": [0.5]}}, (),
                      ("parameters:", "fire_units.sam1.pkk"), "parameters.fire_units.sam1.pkk",
                      ["unknown parameter path", "did you mean"]),
    "probability 1.5": ({"parameters": {PK: [0.5, 1.5]}}, (), ("parameters:", f"{PK}:"),
                        f"parameters.{PK}", ["[0, 1]", "1.5"]),
    "salvo 1.5": ({"parameters": {SALVO: [1.5]}}, (), ("parameters:", f"{SALVO}:"),
                  f"parameters.{SALVO}", ["whole number", "1.5"]),
    "empty list": ({"parameters": {PK: []}}, (), ("parameters:", f"{PK}:"), f"parameters.{PK}",
                   ["at least one value"]),
    "range under grid": ({"parameters": {PK: {"low": 0.1, "high": 0.9}}}, (),
                         ("parameters:", f"{PK}:"), f"parameters.{PK}",
                         ["a grid lists the values", "lhs and sobol"]),
    "list under lhs": ({"design": LHS4, "parameters": {PK: [0.1, 0.2]}}, (),
                       ("parameters:", f"{PK}:"), f"parameters.{PK}", ["low", "high"]),
    "lhs without points": ({"design": {"kind": "lhs"}, "parameters": {PK: {"low": 0, "high": 1}}},
                           (), ("design:", "kind:"), "design.kind", ["points"]),
    "sobol by name only": ({"design": "sobol", "parameters": {PK: {"low": 0, "high": 1}}}, (),
                           ("design:",), "design", ["points"]),
    "points on a grid": ({"design": {"kind": "grid", "points": 4}}, (), ("design:", "points:"),
                         "design.points", ["combinations", "leave `points` out"]),
    "file on a grid": ({"design": {"kind": "grid", "file": "points.csv"}}, (),
                       ("design:", "file:"), "design.file", ["only a table design"]),
    "table without file": ({"design": {"kind": "table"}}, ("parameters",), ("design:", "kind:"),
                           "design.kind", ["file"]),
    "table with parameters": ({"design": {"kind": "table", "file": "points.csv"}}, (),
                              ("parameters:",), "parameters", ["leave `parameters` out"]),
    "no parameters": ({"parameters": {}}, (), ("parameters:",), "parameters",
                      ["at least one parameter"]),
    "low above high": ({"design": LHS4, "parameters": {PK: {"low": 0.9, "high": 0.1}}}, (),
                       ("parameters:", f"{PK}:"), f"parameters.{PK}", ["low <= high", "0.9"]),
    "bounds with a step": ({"design": LHS4,
                            "parameters": {PK: {"low": 0, "high": 1, "step": 0.1}}}, (),
                           ("parameters:", f"{PK}:", "step:"), f"parameters.{PK}.step",
                           ["unknown key"]),
    "unknown top-level key": ({"paramters": {PK: [0.5]}}, (), ("paramters:",), "paramters",
                              ["unknown key", "did you mean 'parameters'"]),
    "unknown design": ({"design": "halton"}, (), ("design:",), "design", ["halton", "lhs"]),
    "zero replications": ({"replications": 0}, (), ("replications:",), "replications",
                          ["greater than or equal to 1"]),
    "no replications": ({}, ("replications",), ("scenario:",), "replications", ["missing"]),
    "name with a space": ({"name": "my sweep"}, (), ("name:",), "name", ["my sweep"]),
    "unknown engine": ({"engine": "fast"}, (), ("engine:",), "engine", ["vectorized"]),
    "bad set path": ({"set": {"fire_units.sam1.pkk": 0.5}}, (), ("set:",), "set",
                     ["fire_units.sam1.pkk", "unknown parameter path"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_sweep_file_names_file_line_and_field(tmp_path, case):
    fields, drop, needles, field, words = BAD[case]
    path = write_sweep(tmp_path, drop=drop, **fields)
    assert_at(only_problem(path), path, line_of(path.read_text(), *needles), field, *words)


def test_missing_scenario_lists_the_builtin_ones(tmp_path):
    path = write_sweep(tmp_path)
    path.write_text(path.read_text().replace("scenario.yaml", "no-such-scenario.yaml"))
    problem = only_problem(path)
    assert_at(problem, path, line_of(path.read_text(), "scenario:"), "scenario",
              "no-such-scenario.yaml", "built-in")
    assert builtin_scenarios()
    for name in builtin_scenarios():
        assert name in problem.message


def test_several_problems_are_reported_at_once_in_line_order(tmp_path):
    path = write_sweep(tmp_path, replications=0, bogus=1, design={"kind": "lhs"},
                       parameters={PK: [0.1, 0.2]})
    text = path.read_text()
    problems = problems_of(path)
    assert [(p.line, p.field) for p in problems] == [
        (line_of(text, "parameters:", f"{PK}:"), f"parameters.{PK}"),
        (line_of(text, "replications:"), "replications"),
        (line_of(text, "bogus:"), "bogus"),
        (line_of(text, "design:", "kind:"), "design.kind"),
    ]
    assert all(p.file == str(path) for p in problems)


def test_not_yaml_is_reported_with_its_line(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text("scenario: scenario.yaml\nreplications: 10\nparameters:\n"
                    f"  {PK}: [0.1\n")
    problem = only_problem(path)
    assert problem.file == str(path) and problem.line in (4, 5), str(problem)
    assert "not valid YAML" in problem.message


def test_missing_sweep_file(tmp_path):
    path = tmp_path / "missing.yaml"
    problem = only_problem(path)
    assert problem.file == str(path) and "no such file" in problem.message, str(problem)


def test_unknown_profile_is_reported_at_the_sweep_file(tmp_path):
    path = write_sweep(tmp_path, scenario=with_profiles(), profile="nope")
    assert_at(only_problem(path), path, line_of(path.read_text(), "profile:"), "profile",
              "nope", "weak", "strong")


def test_bad_value_is_shown_as_written(tmp_path):
    path = write_sweep(tmp_path, parameters={PK: [0.5, 1.5]})
    message = only_problem(path).message
    assert "(got 1.5)" in message and "np." not in message, message


# --- the command line ----------------------------------------------------------------------------


@pytest.mark.parametrize("store_exists", [False, True])
def test_cli_bad_sweep_file_exits_1_and_writes_nothing(tmp_path, store_exists):
    path = write_sweep(tmp_path, replications=0, bogus=1)
    text = path.read_text()
    store = tmp_path / "store"
    if store_exists:
        store.mkdir()
    result = runner.invoke(app, ["sweep", str(path), "--store", str(store)])
    output = everything(result)
    assert result.exit_code == 1, output
    assert "Traceback" not in output and result.stdout == "", output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert [e.split(": ")[1] for e in errors] == [
        f"{path}:{line_of(text, 'replications:')}",
        f"{path}:{line_of(text, 'bogus:')}",
    ], output
    assert not store.exists() or not any(store.iterdir())


def test_cli_workers_and_scheduler_together_are_refused(tmp_path):
    path = write_sweep(tmp_path)
    store = tmp_path / "store"
    result = runner.invoke(app, ["sweep", str(path), "--store", str(store), "--workers", "2",
                                 "--scheduler", "tcp://x:1"])
    output = everything(result)
    assert result.exit_code == 1, output
    assert "error:" in output and "--workers" in output and "--scheduler" in output, output
    assert "Traceback" not in output
    assert not store.exists() or not any(store.iterdir())
