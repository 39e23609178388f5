"""End-to-end tests of the `iadsim` command line.

Most tests drive `iadsim.cli.app` in-process with typer's CliRunner (fast; stdout and stderr are
captured separately). One test runs the installed `iadsim` console script in a subprocess to
prove that the entry point itself works.

Statistical claims are checked with confidence bounds, not raw thresholds, and every run uses
few replications so the whole file stays fast.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from conftest import dump, line_of, minimal_scenario
from scipy.stats import beta
from typer.testing import CliRunner

from iadsim.api import chunk_size, load
from iadsim.cli import app
from iadsim.scenario import builtin_scenarios, load_scenario

SCENARIO = "caracas-2026"
LINKS = ("unit_ready", "detected", "reported", "ordered", "fire_control", "magazine", "channel",
         "launched", "killed")
REQUIRED_OBSERVABLES = ("threats_killed", "leakers", "engagements", "launches",
                        "launches[guidance=radar]", "launches[guidance=infrared]",
                        "launch_failures", "misses", *LINKS)
TOP_KEYS = {"scenario", "profile", "runs", "seed", "engine", "observables", "first_broken_link"}
TABLES = ("replications", "units", "threats", "passages")

runner = CliRunner()


# --- helpers -------------------------------------------------------------------------------------


def invoke(*args: str | os.PathLike[str]) -> Any:
    """Run `iadsim ARGS` in-process; never let an exception escape silently."""
    return runner.invoke(app, [str(a) for a in args])


def everything(result: Any) -> str:
    """Everything the command printed, stdout and stderr."""
    text = result.stdout
    try:
        text += result.stderr
    except ValueError:  # older runners that mix stderr into stdout
        pass
    return text


def strict_json(text: str) -> Any:
    """json.loads that rejects NaN/Infinity, which are not JSON."""
    def no_constant(name: str) -> Any:
        raise ValueError(f"{name} is not valid JSON")
    return json.loads(text, parse_constant=no_constant)


def assert_ok(result: Any) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"exception {result.exception!r}\n{everything(result)}")
    assert result.exit_code == 0, everything(result)


def assert_clean_error(result: Any) -> str:
    """A user error: non-zero exit, a message, no Python traceback. Returns the output."""
    text = everything(result)
    assert result.exit_code != 0, text
    assert "Traceback" not in text, text
    # A SystemExit is how typer reports the exit code; anything else escaped the CLI.
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"unhandled {result.exception!r}\n{text}")
    assert text.strip(), "error exit without any message"
    return text


def run_json(*args: str | os.PathLike[str]) -> dict[str, Any]:
    result = invoke("run", *args, "--json")
    assert_ok(result)
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, f"--json must print one JSON object and nothing else:\n{result.stdout}"
    data = strict_json(result.stdout)
    assert isinstance(data, dict)
    return data


def radar_zero_fraction_lower_bound(units: dict[str, list[Any]], confidence: float
                                    ) -> tuple[float, int, int]:
    """One-sided Clopper–Pearson lower bound of P(no radar-guided launch in a replication)."""
    radar = defaultdict(int)
    replications = set(units["replication"])
    for rep, guidance, launches in zip(units["replication"], units["guidance"],
                                       units["launches"], strict=True):
        if guidance == "radar":
            radar[rep] += launches
    n = len(replications)
    k = sum(1 for rep in replications if radar[rep] == 0)
    lower = 0.0 if k == 0 else float(beta.ppf(1 - confidence, k, n - k + 1))
    return lower, k, n


# --- shared runs ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def full_json() -> dict[str, Any]:
    return run_json(SCENARIO, "--runs", "200", "--seed", "1", "--profile", "full")


@pytest.fixture(scope="module")
def reported_out(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """`--profile reported --json --out DIR`: the printed summary and the folder."""
    folder = tmp_path_factory.mktemp("reported") / "nested" / "out"   # parents are created
    data = run_json(SCENARIO, "--runs", "200", "--seed", "3", "--profile", "reported",
                    "--out", folder)
    return data, folder


@pytest.fixture
def bad_file(tmp_path: Path) -> tuple[Path, int, int]:
    """A scenario with an unknown top-level key and a probability of 1.5; their lines."""
    data = minimal_scenario()
    data["fire_units"][0]["pk"] = 1.5
    data["bogus_key"] = 3
    text = dump(data)
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    return path, line_of(text, "id: sam1", "pk:"), line_of(text, "bogus_key:")


# --- run --json ----------------------------------------------------------------------------------


def test_run_json_shape(full_json: dict[str, Any]) -> None:
    data = full_json
    assert set(data) >= TOP_KEYS
    assert data["scenario"] == SCENARIO
    assert data["profile"] == "full"
    assert data["runs"] == 200
    assert data["seed"] == 1
    assert data["engine"] == "vectorized"  # the default engine

    observables = data["observables"]
    missing = [name for name in REQUIRED_OBSERVABLES if name not in observables]
    assert not missing, f"observables missing: {missing}"
    for name, est in observables.items():
        assert set(est) >= {"mean", "ci_low", "ci_high"}, name
        assert all(isinstance(est[k], int | float) and math.isfinite(est[k])
                   for k in ("mean", "ci_low", "ci_high")), (name, est)
        assert est["ci_low"] <= est["mean"] <= est["ci_high"], (name, est)

    links = data["first_broken_link"]
    assert set(links) == set(LINKS)
    for name, count in links.items():
        assert isinstance(count, int) and not isinstance(count, bool), (name, count)
        assert count >= 0
    # The totals are the per-run link means summed over the runs.
    for name in LINKS:
        assert observables[name]["mean"] * data["runs"] == pytest.approx(links[name]), name


def test_full_profile_engages_with_radar(full_json: dict[str, Any]) -> None:
    radar = full_json["observables"]["launches[guidance=radar]"]
    assert radar["mean"] > 0
    assert radar["ci_low"] > 0, radar


def test_reported_profile_mostly_no_radar_launches(
        reported_out: tuple[dict[str, Any], Path]) -> None:
    data, folder = reported_out
    assert data["profile"] == "reported"
    units = pq.read_table(folder / "units").to_pydict()
    lower, k, n = radar_zero_fraction_lower_bound(units, confidence=0.999)
    assert n == 200
    assert lower > 0.5, (f"{k}/{n} replications without radar-guided launches; 99.9% lower "
                         f"bound {lower:.3f} is not above 0.5")
    # The MANPADS teams (infrared, delegated authority) can still fire.
    infrared = data["observables"]["launches[guidance=infrared]"]
    assert infrared["mean"] > 0
    assert infrared["ci_low"] > 0, infrared


def test_same_seed_same_json_different_seed_different_means() -> None:
    args = (SCENARIO, "--runs", "40", "--profile", "full")
    first = invoke("run", *args, "--seed", "7", "--json")
    again = invoke("run", *args, "--seed", "7", "--json")
    other = invoke("run", *args, "--seed", "8", "--json")
    for result in (first, again, other):
        assert_ok(result)
    assert first.stdout == again.stdout
    a, b = json.loads(first.stdout)["observables"], json.loads(other.stdout)["observables"]
    stochastic = ("threats_killed", "launches", "misses", "channel")
    assert any(a[name]["mean"] != b[name]["mean"] for name in stochastic), (
        "seeds 7 and 8 gave the same means for " + ", ".join(stochastic))


def test_seed_fixes_each_replication_whatever_the_number_of_runs(tmp_path: Path) -> None:
    """README: the same seed gives the same per-replication results."""
    for runs in (10, 25):
        assert_ok(invoke("run", SCENARIO, "--runs", runs, "--seed", "5", "--json",
                         "--out", tmp_path / str(runs)))
    short = pq.read_table(tmp_path / "10" / "units").to_pylist()
    long = pq.read_table(tmp_path / "25" / "units").to_pylist()
    assert short == [row for row in long if row["replication"] < 10]


# --- run --out -----------------------------------------------------------------------------------


def test_out_writes_tables_and_summary(reported_out: tuple[dict[str, Any], Path]) -> None:
    data, folder = reported_out
    runs = data["runs"]
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted([*TABLES, "parts", "run.json", "summary.json", ".lock"])
    left = [p for p in folder.rglob("*") if p.name.endswith(".partial")]
    assert not left, f"temporary files left: {left}"
    for table in TABLES:  # one Parquet dataset per table, whole parts only
        assert [p.suffix for p in (folder / table).iterdir()] == [".parquet"]

    assert json.loads((folder / "summary.json").read_text()) == data

    n_units = len(load_scenario(SCENARIO).fire_units)
    replications = pq.read_table(folder / "replications")
    units = pq.read_table(folder / "units")
    threats = pq.read_table(folder / "threats")
    passages = pq.read_table(folder / "passages")
    assert replications.num_rows == runs
    assert sorted(replications.column("replication").to_pylist()) == list(range(runs))
    assert units.num_rows == runs * n_units
    assert {"replication", "unit", "unit_type", "guidance", "launches"} <= set(units.column_names)
    # One threats row per threat per replication; one passages row per failed passage, and
    # one per passage held by the fire doctrine.
    assert threats.num_rows == sum(replications.column("threats").to_pylist())
    links = passages.column("link").to_pylist()
    assert len(links) - links.count("held") == sum(data["first_broken_link"].values())
    assert links.count("held") > 0
    for table in (replications, units, threats, passages):
        assert set(table.column("replication").to_pylist()) <= set(range(runs))
    # The per-replication table agrees with the printed summary.
    killed = replications.column("threats_killed").to_pylist()
    assert sum(killed) / runs == pytest.approx(data["observables"]["threats_killed"]["mean"])


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_out_files_respect_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        assert_ok(invoke("run", SCENARIO, "--runs", "3", "--json", "--out", tmp_path))
    finally:
        os.umask(old)
    modes = {str(p.relative_to(tmp_path)): p.stat().st_mode & 0o777
             for p in tmp_path.rglob("*")}
    assert all(mode == (0o755 if (tmp_path / p).is_dir() else 0o644)
               for p, mode in modes.items()), modes


def test_out_without_json_reports_files_on_stderr(tmp_path: Path) -> None:
    result = invoke("run", SCENARIO, "--runs", "5", "--out", tmp_path)
    assert_ok(result)
    assert "threat fates" in result.stdout
    assert (tmp_path / "summary.json").exists()
    assert json.loads((tmp_path / "summary.json").read_text())["runs"] == 5


# --- readable summary ----------------------------------------------------------------------------


def test_readable_summary() -> None:
    result = invoke("run", SCENARIO, "--runs", "20", "--profile", "reported")
    assert_ok(result)
    text = result.stdout
    for heading in ("threat fates", "unit type", "first broken link"):
        assert heading in text, f"{heading!r} missing from:\n{text}"
    for link in LINKS:
        assert link in text, f"link {link!r} missing from:\n{text}"
    for name in ("threats_killed", "leakers", SCENARIO, "reported"):
        assert name in text
    assert not text.lstrip().startswith("{")


# --- interrupt -----------------------------------------------------------------------------------


def test_interrupt_summarises_and_writes_finished_replications(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """README: Ctrl-C stops the run; finished replications are still summarised and written."""
    import iadsim.api

    real_run = iadsim.api.run_engine
    calls = []

    def interrupted_run(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs.get("first"))
        if len(calls) > 1:
            raise KeyboardInterrupt
        return real_run(*args, **kwargs)

    monkeypatch.setattr(iadsim.api, "run_engine", interrupted_run)
    CHUNK = chunk_size(load(SCENARIO), "vectorized")
    result = invoke("run", SCENARIO, "--runs", 2 * CHUNK, "--json", "--out", tmp_path)
    assert result.exit_code == 130, everything(result)
    data = strict_json(result.stdout)
    assert data["runs"] == CHUNK
    assert pq.read_table(tmp_path / "replications").num_rows == CHUNK
    assert "interrupted" in result.stderr


def test_interrupt_before_any_replication(monkeypatch: pytest.MonkeyPatch) -> None:
    import iadsim.api

    def interrupted_run(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(iadsim.api, "run_engine", interrupted_run)
    result = invoke("run", SCENARIO, "--runs", "10", "--json")
    assert result.exit_code == 130
    assert "interrupted" in assert_clean_error(result)
    assert result.stdout == ""


# --- errors --------------------------------------------------------------------------------------


def test_unknown_scenario_names_builtins() -> None:
    result = invoke("run", "no-such-scenario", "--runs", "5")
    text = assert_clean_error(result)
    assert "no-such-scenario" in text
    builtins = builtin_scenarios()
    assert SCENARIO in builtins
    for name in builtins:
        assert name in text, text


def test_unknown_profile_lists_profiles() -> None:
    result = invoke("run", SCENARIO, "--profile", "no-such-profile", "--runs", "5")
    text = assert_clean_error(result)
    assert "no-such-profile" in text
    profiles = list(load_scenario(SCENARIO).profiles)
    assert {"full", "reported"} <= set(profiles)
    for name in profiles:
        assert name in text, text


@pytest.mark.parametrize("command", ["run", "validate"])
def test_bad_file_reports_every_problem_with_line(
        command: str, bad_file: tuple[Path, int, int]) -> None:
    path, pk_line, bogus_line = bad_file
    result = invoke(command, path)
    text = assert_clean_error(result)
    if command == "validate":
        assert result.exit_code == 1, text      # README: exit 1 if there are any problems
    assert f"{path}:{pk_line}:" in text, text
    assert f"{path}:{bogus_line}:" in text, text
    assert "bogus_key" in text and "1.5" in text
    assert result.stdout.strip() == "", "problems belong on stderr"


def test_validate_accepts_valid_file(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(dump(minimal_scenario()))
    result = invoke("validate", path)
    assert_ok(result)
    assert "ok" in result.stdout


def test_validate_builtin_file() -> None:
    assert_ok(invoke("validate", builtin_scenarios()[SCENARIO]))


def test_validate_missing_file(tmp_path: Path) -> None:
    result = invoke("validate", tmp_path / "missing.yaml")
    assert result.exit_code == 1
    assert "missing.yaml" in assert_clean_error(result)


def test_valid_file_runs(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(dump(minimal_scenario()))
    data = run_json(path, "--runs", "5")
    assert data["scenario"] == minimal_scenario()["name"]
    assert data["profile"] == "base"          # README: no --profile is reported as `base`
    assert data["runs"] == 5


@pytest.mark.parametrize("runs", ["0", "-3", "many"])
def test_bad_runs(runs: str) -> None:
    assert_clean_error(invoke("run", SCENARIO, "--runs", runs))


def test_unknown_engine() -> None:
    text = assert_clean_error(invoke("run", SCENARIO, "--runs", "5", "--engine", "nonsense"))
    assert "nonsense" in text and "reference" in text


def test_problem_text_is_printed_verbatim(tmp_path: Path) -> None:
    path = tmp_path / "weird.yaml"
    path.write_text(dump(minimal_scenario()) + '"[/x]": 1\n"[bold]": 2\n')
    result = invoke("validate", path)
    text = assert_clean_error(result)
    assert "[/x]" in text and "[bold]" in text, text


def test_json_is_strict_with_one_run() -> None:
    result = invoke("run", SCENARIO, "--runs", "1", "--json")
    assert_ok(result)
    strict_json(result.stdout)


# --- other commands ------------------------------------------------------------------------------


def test_schema_is_json_schema() -> None:
    result = invoke("schema")
    assert_ok(result)
    schema = json.loads(result.stdout)
    assert isinstance(schema, dict)
    assert "properties" in schema
    assert "fire_units" in schema["properties"]
    assert schema.get("type") == "object"


def test_scenarios_lists_builtin() -> None:
    result = invoke("scenarios")
    assert_ok(result)
    assert SCENARIO in result.stdout


def test_help_lists_commands() -> None:
    result = invoke("--help")
    assert_ok(result)
    for command in ("run", "validate", "schema", "scenarios"):
        assert command in result.stdout


def test_no_arguments_shows_help() -> None:
    result = invoke()
    assert "run" in everything(result) and "validate" in everything(result)
    assert "Traceback" not in everything(result)


def test_run_help_lists_options() -> None:
    result = invoke("run", "--help")
    assert_ok(result)
    for option in ("--runs", "--seed", "--profile", "--json", "--out", "--engine"):
        assert option in result.stdout


# --- the installed console script ----------------------------------------------------------------


def test_console_script_entry_point(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / ("iadsim.exe" if os.name == "nt" else "iadsim")
    assert exe.exists(), f"console script not installed next to {sys.executable}"
    env = {**os.environ, "NO_COLOR": "1"}

    done = subprocess.run([str(exe), "run", SCENARIO, "--runs", "20", "--seed", "2", "--json"],
                          capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    data = strict_json(done.stdout)
    assert set(data) >= TOP_KEYS
    assert data["runs"] == 20 and data["seed"] == 2

    # The same run in-process gives the same JSON: the entry point is this app.
    assert data == run_json(SCENARIO, "--runs", "20", "--seed", "2")

    failed = subprocess.run([str(exe), "run", "no-such-scenario"], capture_output=True,
                            text=True, timeout=300, env=env, cwd=tmp_path)
    assert failed.returncode != 0
    assert failed.stdout == ""
    assert SCENARIO in failed.stderr and "Traceback" not in failed.stderr


def test_help_schema_and_scenarios_start_without_the_engines() -> None:
    """`iadsim --help`, `schema` and `scenarios` import neither Numba nor the engines nor the
    analyses: the commands import what they use."""
    assert _loaded_by([["--help"], ["schema"], ["scenarios"]], (
        "numba", "pyarrow", "iadsim.api", "iadsim.engine.results", "iadsim.analysis.explain",
        "scipy")) == []


def test_validate_checks_a_scenario_without_the_compiler() -> None:
    """`iadsim validate` compiles the scenario's structure but loads neither Numba nor SciPy
    nor the engines: checking a file stays quick."""
    assert _loaded_by([["validate", "caracas-2026"]], (
        "numba", "scipy", "iadsim.engine.vectorized", "iadsim.engine.reference")) == []


def _loaded_by(commands: list[list[str]], modules: tuple[str, ...]) -> list[str]:
    """Which of `modules` a fresh process has imported after running the commands (each must
    succeed)."""
    script = ("import json, sys; from iadsim.cli import app; from typer.testing import CliRunner;"
              f" assert all(CliRunner().invoke(app, a).exit_code == 0 for a in {commands!r}); "
              f"print(json.dumps(sorted(m for m in {modules!r} if m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout.strip()
    return json.loads(out)


@pytest.mark.parametrize("given", [None, "4"])
def test_numpy_starts_no_blas_threads_unless_asked(given) -> None:
    """The program does no linear algebra and runs in parallel by processes: OpenBLAS's idle
    threads only burn CPU, so its entry point asks for one, unless the user set a number."""
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if given is not None:
        env["OPENBLAS_NUM_THREADS"] = given
    out = subprocess.run([sys.executable, "-c", "import os, iadsim.main; "
                          "print(os.environ['OPENBLAS_NUM_THREADS'])"],
                         capture_output=True, text=True, check=True, env=env).stdout.strip()
    assert out == (given or "1")


def test_a_run_that_must_compile_says_so_in_one_line(monkeypatch, tmp_path) -> None:
    """The first run after install compiles the fast engine's loops for some 20 s: it says so
    first, on stderr; a run on a filled cache says nothing of it."""
    from iadsim.engine import vectorized

    empty = subprocess.run(
        [sys.executable, "-c", "from iadsim.engine.vectorized import loops_cached; "
         "print(loops_cached())"], capture_output=True, text=True, check=True,
        env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}).stdout.strip()
    assert empty == "False"
    assert "compiling" not in invoke("run", "caracas-2026", "-n", "5").stderr
    assert vectorized.loops_cached()
    monkeypatch.setattr(vectorized, "loops_cached", lambda: False)
    notice = invoke("run", "caracas-2026", "-n", "5").stderr
    assert "compiling the fast engine's loops" in notice and "iadsim warmup" in notice
    assert "compiling" not in invoke("run", "caracas-2026", "-n", "5", "--engine",
                                     "reference").stderr


def test_warmup_caches_the_compiled_loops() -> None:
    result = invoke("warmup")
    assert_ok(result)
    assert "compiled loops are cached" in result.stdout
