"""Shared helpers for scenario tests: a minimal valid scenario, YAML dumping, line lookup."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from iadsim.scenario.load import Problem, ScenarioError, parse_scenario

_MINIMAL: dict[str, Any] = {
    "name": "minimal",
    "duration_s": 600,
    "sensors": [
        {"id": "sr1", "role": "search", "lat": 50.0, "lon": 30.0, "range_km": 200,
         "detect_rate": 0.1, "command_post": "cp1"},
        {"id": "fcr1", "role": "fire_control", "lat": 50.0, "lon": 30.1, "range_km": 100,
         "detect_rate": 0.2},
    ],
    "command_posts": [
        {"id": "cp1", "lat": 50.0, "lon": 30.0},
    ],
    "fire_units": [
        {"id": "sam1", "lat": 50.0, "lon": 30.1, "guidance": "radar",
         "fire_control_radar": "fcr1", "command_post": "cp1",
         "max_range_km": 40, "max_alt_m": 20000, "missiles": 8, "pk": 0.7},
    ],
    "threats": [
        {"id": "t1", "class": "fixed_wing", "rcs_m2": 1.0, "speed_mps": 250,
         "route": [{"lat": 51.0, "lon": 30.0, "alt_m": 5000},
                   {"lat": 50.0, "lon": 30.0, "alt_m": 5000}]},
    ],
}


def minimal_scenario() -> dict[str, Any]:
    """A fresh, minimal VALID scenario as a dict; tests mutate it and dump it with `dump`."""
    return copy.deepcopy(_MINIMAL)


def dump(data: dict[str, Any]) -> str:
    """Scenario dict → YAML text, keys in insertion order (block style, one key a line)."""
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)


def line_of(text: str, *needles: str) -> int:
    """1-based line of the last needle, each needle searched from the previous one's line on.

    A line matches a needle when, stripped of indentation and a leading list dash, it starts
    with the needle; so `line_of(text, "id: sam1", "readiness:", "available:")` is the line of
    `available:` inside the readiness block of the entity whose id is sam1.
    """
    lines = text.splitlines()
    start = 0
    found = None
    for needle in needles:
        for i in range(start, len(lines)):
            bare = lines[i].strip()
            if bare.startswith("- "):
                bare = bare[2:].lstrip()
            if bare.startswith(needle):
                found = i
                start = i + 1
                break
        else:
            raise AssertionError(f"{needle!r} not found after line {start} in:\n{text}")
    assert found is not None
    return found + 1


def insert_line(text: str, after: int, new: str, indent_like: int | None = None) -> str:
    """Insert `new` after 1-based line `after`, indented like line `indent_like` (or `after`)."""
    lines = text.splitlines()
    ref = lines[(indent_like or after) - 1]
    indent = ref[: len(ref) - len(ref.lstrip())]
    if ref.lstrip().startswith("- "):
        indent += "  "
    lines.insert(after, indent + new)
    return "\n".join(lines) + "\n"


def problems_of(text: str, filename: str = "scenario.yaml") -> list[Problem]:
    """The problems parse_scenario reports for `text`; fails the test if it loads."""
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, filename)
    problems = info.value.problems
    assert problems, "ScenarioError raised with no problems"
    return problems


def only_problem(text: str, filename: str = "scenario.yaml") -> Problem:
    """The single problem reported for `text`."""
    problems = problems_of(text, filename)
    assert len(problems) == 1, "expected exactly one problem, got:\n" + "\n".join(
        str(p) for p in problems)
    return problems[0]


@pytest.fixture
def scenario() -> dict[str, Any]:
    """A minimal valid scenario dict to mutate."""
    return minimal_scenario()
