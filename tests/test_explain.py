"""Shapley attribution between two profiles (iadsim explain), checked against answers known in
closed form: additive independent parts, symmetric groups, a group with no effect, and the
efficiency identity against the plain run path."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import iadsim
from iadsim.analysis.explain import MAX_EXACT_GROUPS, ExplainError, shapley
from iadsim.cli import app
from iadsim.model import compile_scenario
from iadsim.scenario.load import parse_scenario

TWO_PARTS = """
name: two-parts
duration_s: 3600
reference: {lat: 10.0, lon: -66.0}
fire_units:
  - {id: a, guidance: infrared, acquire_rate: 0.05, lat: 10.0, lon: -66.0, max_range_km: 5,
     max_alt_m: 5000, missiles: 4, pk: {default: 0.5, fixed_wing: 0.3}, shoot_look_shoot: true}
  - {id: b, guidance: infrared, acquire_rate: 0.05, lat: 12.0, lon: -66.0, max_range_km: 5,
     max_alt_m: 5000, missiles: 4, pk: {default: 0.5, fixed_wing: 0.3}, shoot_look_shoot: true}
  - {id: c, guidance: infrared, acquire_rate: 0.05, lat: 14.0, lon: -66.0, max_range_km: 5,
     max_alt_m: 5000, missiles: 4, pk: 0.5}
threats:
  - {id: ta, class: drone, count: 3, rcs_m2: 1, speed_mps: 60,
     route: [{lat: 9.9, lon: -66.0, alt_m: 100}, {lat: 10.1, lon: -66.0, alt_m: 100}]}
  - {id: tb, class: drone, count: 3, rcs_m2: 1, speed_mps: 60,
     route: [{lat: 11.9, lon: -66.0, alt_m: 100}, {lat: 12.1, lon: -66.0, alt_m: 100}]}
profiles:
  degraded:
    values:
      fire_units.a.readiness.available: %(a)s
      fire_units.b.readiness.trained: %(b)s
      fire_units.c.readiness.available: 0.1
"""
GROUPS = {"a": ["fire_units.a.readiness.available"], "b": ["fire_units.b.readiness.trained"],
          "idle": ["fire_units.c.readiness.available"]}


def model(a: float = 0.4, b: float = 0.2) -> iadsim.Model:
    return compile_scenario(parse_scenario(TWO_PARTS % {"a": a, "b": b}, "two-parts.yaml"))


def test_shapley_of_known_games():
    """Exact values of small games: additive, symmetric, and the glove game."""
    k, R = 3, 1
    additive = np.array([[sum((2.0, 5.0, -1.0)[i] for i in range(k) if m >> i & 1)]
                         for m in range(1 << k)])
    np.testing.assert_allclose(shapley(additive)[:, 0], [2.0, 5.0, -1.0])
    # glove game: player 0 has a left glove, players 1 and 2 right gloves: (2/3, 1/6, 1/6)
    glove = np.array([[1.0 if (m & 1) and (m & 6) else 0.0] for m in range(8)])
    np.testing.assert_allclose(shapley(glove)[:, 0], [2 / 3, 1 / 6, 1 / 6])
    assert shapley(np.zeros((1, R))).shape == (0, R)


def test_independent_parts_get_their_own_effect_and_an_idle_group_gets_zero():
    """Each group acts on its own unit and threats: its Shapley value is its own effect, in
    every replication (so the means agree exactly), and undoing it alone undoes it all; the
    idle group (a unit no threat comes near) gets exactly 0."""
    e = iadsim.explain(model(), "base", "degraded", groups=GROUPS, runs=400, seed=3)
    by = {g.name: g for g in e.groups}
    for name in ("a", "b"):
        g = by[name]
        assert g.shapley.mean == pytest.approx(g.alone.mean, abs=1e-12)
        assert g.fix.mean == pytest.approx(-g.alone.mean, abs=1e-12)
        assert g.shapley.mean > 4 * g.shapley.se  # the part does matter
    assert by["idle"].shapley.mean == 0 and by["idle"].alone.mean == 0
    table = e.to_arrow()
    assert table.column("group").to_pylist() == ["a", "b", "idle"]
    assert table.column("shapley_mean").to_pylist() == [g.shapley.mean for g in e.groups]
    assert sum(g.shapley.mean for g in e.groups) == pytest.approx(e.difference.mean, abs=1e-9)


def test_symmetric_groups_get_equal_values():
    """Unit a loses availability and unit b its crew with the same expected effect on its
    own identical part: equal values within their Monte Carlo error."""
    symmetric = compile_scenario(parse_scenario(
        (TWO_PARTS % {"a": 0.5, "b": 0.5}).replace(
            "fire_units.b.readiness.trained", "fire_units.b.readiness.available"),
        "two-parts.yaml"))
    e = iadsim.explain(symmetric, "base", "degraded", runs=1500, seed=4,
                       groups={"a": ["fire_units.a.readiness.available"],
                               "b": ["fire_units.b.readiness.available"],
                               "idle": ["fire_units.c.*"]})
    a, b = e.groups[0].shapley, e.groups[1].shapley
    assert abs(a.mean - b.mean) < 4 * np.hypot(a.se, b.se)
    assert a.mean > 4 * a.se


def test_caracas_shares_sum_to_the_plain_runs_difference():
    """Efficiency against an independent code path: the means of `run` at each profile on the
    same seed and replications."""
    m = iadsim.load("caracas-2026")
    e = iadsim.explain(m, "full", "reported", runs=200, seed=11)
    plain = {p: iadsim.run(iadsim.load("caracas-2026", p), 200, seed=11)
             .observable("leakers").mean() for p in ("full", "reported")}
    total = sum(g.shapley.mean for g in e.groups)
    assert total == pytest.approx(plain["reported"] - plain["full"], abs=1e-9)
    streamed = {p: iadsim.simulate(iadsim.load("caracas-2026", p), 200, seed=11)
                .estimates["leakers"].mean for p in ("full", "reported")}  # what `iadsim run
    # --profile P --seed 11 --runs 200` prints
    assert total == pytest.approx(streamed["reported"] - streamed["full"], abs=1e-9)
    assert e.from_value.mean == pytest.approx(plain["full"], abs=1e-12)
    assert e.efficiency_gap < 1e-9
    assert "electronic attack" in e.unchanged


@pytest.mark.parametrize("groups, message", [
    ({"a": ["fire_units.a.readiness.available"]}, "in no group: fire_units.b.readiness.trained"),
    ({**GROUPS, "again": ["fire_units.a.readiness.*"]}, "claimed by two groups, 'a' and "
                                                        "'again': fire_units.a.readiness."),
    ({**GROUPS, "nothing": ["sensors.*"]}, "'sensors.*' names no parameter"),
])
def test_groups_must_cover_the_difference_once(groups, message):
    with pytest.raises(ExplainError) as info:
        iadsim.explain(model(), "base", "degraded", groups=groups, runs=10)
    assert any(message in p for p in info.value.problems), info.value.problems


def test_too_many_groups_for_the_exact_method():
    """Thirteen parameters differ, one group each: more than the exact method takes."""
    paths = [f"fire_units.{u}.{p}" for u in "abc" for p in (
        "readiness.available", "readiness.deployed", "readiness.trained", "missiles")] + \
        ["fire_units.a.channels"]
    values = "".join(f"      {p}: {0.5 if 'readiness' in p else 2}\n" for p in paths)
    text = (TWO_PARTS % {"a": 0.4, "b": 0.2}) + f"  many:\n    values:\n{values}"
    m = compile_scenario(parse_scenario(text, "two-parts.yaml"))
    assert len(paths) > MAX_EXACT_GROUPS
    with pytest.raises(ExplainError, match="at most 12"):
        iadsim.explain(m, "base", "many", groups={p: [p] for p in paths}, runs=10)
    # permutation sampling takes them, and keeps efficiency exactly
    e = iadsim.explain(m, "base", "many", groups={p: [p] for p in paths}, runs=20,
                       sampled=8, seed=1)
    assert e.method == "sampled (8 permutations)" and len(e.groups) == len(paths)
    assert e.efficiency_gap < 1e-9


def test_sampled_shares_of_independent_parts_are_exact():
    """In an additive game every order gives each group the same marginal: permutation
    sampling returns the exact values, and its interval is the replications' alone."""
    exact = iadsim.explain(model(), "base", "degraded", groups=GROUPS, runs=300, seed=3)
    sampled = iadsim.explain(model(), "base", "degraded", groups=GROUPS, runs=300, seed=3,
                             sampled=5)
    for g, h in zip(exact.groups, sampled.groups, strict=True):
        assert h.shapley.mean == pytest.approx(g.shapley.mean, abs=1e-12)
        assert h.shapley.se == pytest.approx(g.shapley.se, rel=1e-9)


def test_cli_explain_prints_json_and_writes_the_figure(tmp_path, monkeypatch):
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mpl"))
    figure = tmp_path / "w.svg"
    result = CliRunner().invoke(app, ["explain", "caracas-2026", "--from", "full", "--to",
                                      "reported", "--runs", "50", "--json", "--figure",
                                      str(figure)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["figure"] == str(figure) and figure.read_text().lstrip().startswith("<?xml")
    assert {g["name"] for g in data["groups"]} >= {"equipment", "orders", "training"}
    assert data["shapley_sum"] == pytest.approx(data["difference"]["mean"], abs=1e-9)
    assert set(data["first_broken_link_by_unit_type"]) == {"full", "reported"}


@pytest.mark.parametrize("args, message", [
    (["--from", "full", "--to", "nosuch"], "no profile 'nosuch'"),
    (["--from", "full", "--to", "reported", "--observable", "nonsense"], "unknown observable"),
])
def test_cli_explain_bad_input_is_one_line_and_exit_1(args, message, tmp_path):
    result = CliRunner().invoke(app, ["explain", "caracas-2026", "--runs", "5", "--no-figure",
                                      *args])
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr


def test_an_interrupted_explanation_keeps_the_profiles_it_ran(monkeypatch):
    """The two profiles run first: stopped after that batch, their means and difference are
    reported (the same numbers the finished analysis gives), with how many coalitions ran."""
    from iadsim.analysis import explain as module

    monkeypatch.setattr(module, "_ROWS_PER_BATCH", 2 * 100)  # two coalitions a batch

    def stop(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(module.ExplainInterrupted) as info:
        iadsim.explain(model(), "base", "degraded", groups=GROUPS, runs=100, seed=3,
                       progress=stop)
    assert (info.value.done, info.value.total) == (2, 8)
    start, end, difference = info.value.profiles
    finished = iadsim.explain(model(), "base", "degraded", groups=GROUPS, runs=100, seed=3)
    assert start.mean == finished.from_value.mean and end.mean == finished.to_value.mean
    assert difference.mean == pytest.approx(finished.difference.mean, abs=1e-12)


def test_a_figure_name_that_cannot_be_written_fails_before_the_analysis(tmp_path):
    for bad in (tmp_path / "out", tmp_path / "nodir" / "w.png"):
        result = CliRunner().invoke(app, ["explain", "caracas-2026", "--from", "full", "--to",
                                          "reported", "--figure", str(bad)])
        assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1, \
            result.output
        assert not bad.exists()
