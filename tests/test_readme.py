"""The README's commands are the ones CI runs, and the commands it names exist and work."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer.main
import yaml
from typer.testing import CliRunner

from iadsim.cli import app

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
CI = ROOT / ".ci" / "run"

runner = CliRunner()


def section(title: str) -> str:
    """The text of the `## title` section, up to the next heading of the same level."""
    m = re.search(rf"^## {re.escape(title)}[ \t]*\n(.*?)(?=^## |\Z)", README, re.M | re.S)
    assert m, f"README has no '## {title}' section"
    return m.group(1)


def code_blocks(text: str, lang: str) -> list[str]:
    return [b.strip() for b in re.findall(rf"^```{lang}[ \t]*\n(.*?)^```", text, re.M | re.S)]


def two_commands() -> list[str]:
    blocks = code_blocks(section("Two commands"), "bash")
    assert len(blocks) == 2, f"'Two commands' must have two bash blocks, found {len(blocks)}"
    for block in blocks:
        assert len(block.splitlines()) == 1, f"each command is one line:\n{block}"
    return blocks


def iadsim_run_args() -> list[str]:
    """The arguments after `iadsim` in the README's first command."""
    setup = two_commands()[0]
    last = setup.split("&&")[-1].strip()
    words = shlex.split(last)
    assert words[:3] == ["iadsim", "run", "caracas-2026"], setup
    assert all(w.startswith("-") or words[i - 1].startswith("-")
               for i, w in enumerate(words[3:], start=3)), f"only flags may follow: {last}"
    return words[1:]


def commands() -> dict[str, str]:
    """Registered subcommands and the first line of their help."""
    group = typer.main.get_command(app)
    return {name: (cmd.help or "").strip().splitlines()[0]
            for name, cmd in group.commands.items()}  # type: ignore[attr-defined]


def test_test_command_is_what_ci_runs() -> None:
    test_command = two_commands()[1]
    ci_lines = [line.strip() for line in CI.read_text(encoding="utf-8").splitlines()]
    assert test_command in ci_lines, f"{test_command!r} is not a line of .ci/run"
    assert "pytest" in test_command


def test_setup_command_ends_with_run_of_builtin_scenario() -> None:
    setup = two_commands()[0]
    assert re.search(r"&&\s*iadsim run caracas-2026(\s+--?[\w-]+(\s+[^\s-]\S*)?)*$", setup), setup
    assert "pip install -e ." in setup


def test_setup_command_runs() -> None:
    args = iadsim_run_args() + ["--runs", "50"]   # the last --runs wins; keeps it fast
    result = runner.invoke(app, args)
    assert result.exit_code == 0, f"iadsim {shlex.join(args)}:\n{result.output}"
    assert "first broken link" in result.stdout


def test_using_it_names_only_existing_subcommands() -> None:
    text = section("Using it")
    named = set(re.findall(r"\biadsim\s+([a-z][a-z-]*)", text))
    assert {"run", "validate", "schema", "scenarios"} <= named, named
    existing = commands()
    assert named <= set(existing), f"README names missing subcommands: {named - set(existing)}"
    for name in named:
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0, result.output


def test_help_listing_matches_commands() -> None:
    """The `iadsim --help` listing in README has every command, with its own help line."""
    listing = code_blocks(section("Using it"), "text")[0]
    rows = dict(re.findall(r"^\s{2,}([a-z][a-z-]*)\s{2,}(.+?)\s*$", listing, re.M))
    assert rows == commands()


def test_run_options_in_readme_exist() -> None:
    usage = re.search(r"`iadsim run SCENARIO([^`]*)`", section("Using it"))
    assert usage, "README lost the `iadsim run SCENARIO [...]` usage line"
    options = re.findall(r"--[a-z][a-z-]*", usage.group(1))
    assert {"--runs", "--seed", "--profile", "--json", "--out", "--engine"} <= set(options)
    help_text = runner.invoke(app, ["run", "--help"]).stdout
    for option in options:
        assert option in help_text, option


def test_readme_observables_are_readable() -> None:
    """Every observable the README names can be read from a run of the built-in scenario."""
    from iadsim.api import load
    from iadsim.api import run as run_model

    text = section("Using it")
    observables = text.split("### Observables")[1]
    names = set(re.findall(r"`([a-z_]+(?:\[[a-z_]+=[^\]`]+\])?)`", observables))
    assert {"launches[guidance=radar]", "misses[unit_type=igla-class]",
            "engagements[id=buk-carlota]", "unit_ready", "killed"} <= names
    run = run_model(load("caracas-2026"), 3, seed=0)
    for name in sorted(names):
        values = run.observable(name)
        assert len(values) == 3, name


def _is_sweep(block: str) -> bool:
    return re.search(r"^scenario:", block, re.M) is not None


_YAML = code_blocks(README, "yaml")
SCENARIO_BLOCKS = [b for b in _YAML if not _is_sweep(b)]
SWEEP_BLOCKS = [b for b in _YAML if _is_sweep(b)]


@pytest.mark.parametrize("block", range(len(SCENARIO_BLOCKS)))
def test_readme_yaml_is_a_valid_scenario(tmp_path: Path, block: int) -> None:
    path = tmp_path / "readme.yaml"
    path.write_text(SCENARIO_BLOCKS[block] + "\n", encoding="utf-8")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output


def test_readme_sweep_file_is_the_example_and_loads() -> None:
    from iadsim.api import load_sweep

    assert len(SWEEP_BLOCKS) == 1, "README shows one sweep file"
    example = ROOT / "examples" / "caracas-orders-and-links.sweep.yaml"
    assert yaml.safe_load(SWEEP_BLOCKS[0]) == yaml.safe_load(example.read_text())
    sweep = load_sweep(example)
    assert sweep.points == 25 and sweep.replications == 2000


def test_python_api_section_runs() -> None:
    """The README's Python section, run as written (its asserts are part of it)."""
    blocks = code_blocks(section("Python API"), "python")
    assert blocks, "README lost its Python example"
    for block in blocks:
        exec(compile(block, "README.md (Python API)", "exec"), {"__name__": "readme"})
