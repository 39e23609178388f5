"""The parameter space: paths, profiles as values, per-row parameter tables, common random
numbers, and clear errors for bad paths and values."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from typer.testing import CliRunner

import iadsim
from iadsim.cli import app
from iadsim.engine import run
from iadsim.engine.results import LINKS
from iadsim.model import compile_scenario
from iadsim.params import ParameterError
from iadsim.scenario import ScenarioError, builtin_scenarios
from iadsim.scenario.load import parse_scenario

runner = CliRunner()

# Two infrared teams far apart, each on the route of its own flight only: whatever one team's
# parameters, nothing the other team or its threats do can change (MODEL.md: the passages of
# one unit depend on its own draws, addressed by threat and unit).
DISJOINT = """
name: disjoint
duration_s: 2000
reference: {lat: 10.0, lon: -66.0}
command_posts:
  - {id: cp, authority: central, orders_prob: 0.7, decision_delay: {dist: exponential, mean: 30}}
sensors:
  - {id: sr, role: search, lat: 10.0, lon: -66.0, range_km: 300, detect_rate: 0.05,
     command_post: cp}
  - {id: fcr, role: fire_control, lat: 10.0, lon: -65.0, range_km: 60, detect_rate: 0.2}
fire_units:
  - {id: west, type: igla-class, lat: 10.0, lon: -67.0, readiness: {available: 0.5}}
  - {id: east, type: buk-m2-class, lat: 10.0, lon: -65.0, command_post: cp,
     fire_control_radar: fcr, readiness: {available: 0.5}}
threats:
  - {id: w, type: helicopter, count: 3,
     route: [{lat: 10.3, lon: -67.0, alt_m: 200}, {lat: 9.7, lon: -67.0, alt_m: 200}]}
  - {id: e, type: fixed-wing, count: 3,
     route: [{lat: 10.6, lon: -65.0, alt_m: 3000}, {lat: 9.4, lon: -65.0, alt_m: 3000}]}
electronic_attack:
  - {id: jam, start_s: 0, end_s: 900, targets: {ids: [sr, fcr]}, detect_factor: 0.2,
     link_cut_prob: 0.5, pk_factor: 0.5}
groups:
  radars: [sr, fcr]
profiles:
  automated:
    values:
      command_posts.cp.authority: autonomous
  quiet:
    values:
      electronic_attack.jam.active: false
"""


@pytest.fixture(scope="module")
def model():
    return compile_scenario(parse_scenario(DISJOINT, "disjoint.yaml"))


def per_unit(results, unit: int) -> np.ndarray:
    return results.unit_counts[:, :, unit]


@pytest.mark.parametrize("engine", ["vectorized", "reference"])
def test_a_table_row_gives_the_results_of_its_own_single_point_run(model, engine):
    rng = np.random.default_rng(3)
    n = 24 if engine == "reference" else 60
    columns = {"replication": rng.integers(0, 40, n),
               "fire_units.east.readiness.available": rng.choice([0.2, 0.9], n),
               "command_posts.cp.orders_prob": rng.uniform(0, 1, n),
               "electronic_attack.jam.active": rng.choice([True, False], n)}
    table = iadsim.table(model, columns)
    together = run(model, seed=5, table=table, engine=engine)
    for i in range(n):
        point = model.at(values={k: (v[i].item()) for k, v in columns.items()
                                 if k != "replication"})
        alone = run(point, 1, seed=5, first=int(columns["replication"][i]), engine=engine)
        np.testing.assert_array_equal(together.unit_counts[i], alone.unit_counts[0])
        np.testing.assert_array_equal(together.links[i], alone.links[0])
        assert together.killed[i] == alone.killed[0] and together.threats[i] == alone.threats[0]
        mine = together.passage_rows["row"] == i
        for key in ("threat", "unit", "link", "entry_s", "exit_s"):
            np.testing.assert_array_equal(together.passage_rows[key][mine],
                                          alone.passage_rows[key])


def test_common_random_numbers_a_parameter_acts_only_where_it_acts(model):
    """Raising the west team's `available` changes nothing of the east battery, in any
    replication, and does change the west team's outcomes."""
    low = run(model.at(values={"fire_units.west.readiness.available": 0.2}), 3000, seed=8)
    high = run(model.at(values={"fire_units.west.readiness.available": 0.9}), 3000, seed=8)
    np.testing.assert_array_equal(per_unit(low, 1), per_unit(high, 1))
    east = low.info.flight_ids.index("e")
    for rows in (low.threat_rows, high.threat_rows):
        assert np.all(rows["killer"][rows["flight"] == east] != 0)
    east_rows = [r.threat_rows["flight"] == east for r in (low, high)]
    for key in ("killer", "kill_time_s"):
        np.testing.assert_array_equal(low.threat_rows[key][east_rows[0]],
                                      high.threat_rows[key][east_rows[1]])
    assert (per_unit(low, 0) != per_unit(high, 0)).any()
    # and it only ever adds west engagements: the same luck, a unit up more often
    assert np.all(per_unit(high, 0)[:, 0] >= per_unit(low, 0)[:, 0])


def test_common_random_numbers_pay(model):
    """A paired difference under common random numbers has a much smaller variance than the
    difference of two independent runs."""
    a = run(model.at(values={"command_posts.cp.orders_prob": 0.5}), 4000, seed=2)
    b = run(model.at(values={"command_posts.cp.orders_prob": 0.6}), 4000, seed=2)
    c = run(model.at(values={"command_posts.cp.orders_prob": 0.6}), 4000, seed=3)
    paired = np.var(b.observable("kills") - a.observable("kills"))
    independent = np.var(c.observable("kills") - a.observable("kills"))
    assert paired < independent / 4


@pytest.mark.parametrize("engine", ["vectorized", "reference"])
def test_a_profile_can_automate_command(engine):
    """Under an autonomous command post orders are always issued (MODEL.md), even where the
    scenario's own post never issues any."""
    text = DISJOINT.replace("orders_prob: 0.7", "orders_prob: 0.0")
    base = compile_scenario(parse_scenario(text, "disjoint.yaml"))
    never = run(base, 200, seed=4, engine=engine)
    automated = run(base.at("automated"), 200, seed=4, engine=engine)
    assert never.observable("engagements[id=east]").sum() == 0
    assert never.observable("ordered").sum() > 0
    assert automated.observable("engagements[id=east]").sum() > 0


def test_switching_an_attack_off_is_the_same_as_making_it_harmless(model):
    off = run(model.at("quiet"), 1500, seed=6)
    harmless = run(model.at(values={"electronic_attack.jam.detect_factor": 1.0,
                                    "electronic_attack.jam.link_cut_prob": 0.0,
                                    "electronic_attack.jam.pk_factor": 1.0}), 1500, seed=6)
    on = run(model, 1500, seed=6)
    np.testing.assert_array_equal(off.unit_counts, harmless.unit_counts)
    np.testing.assert_array_equal(off.links, harmless.links)
    assert on.observable("kills").mean() < off.observable("kills").mean()


def test_a_group_path_sets_every_member_that_has_the_parameter(model):
    point = model.at(values={"groups.radars.readiness.emitting": 0.25}).point
    space = model.space
    for path in ("sensors.sr.readiness.emitting", "sensors.fcr.readiness.emitting"):
        assert point.theta[space.by_path[path].slot] == 0.25
    assert space.expand("fire_units.east.pk") == ["fire_units.east.pk.fixed_wing",
                                                  "fire_units.east.pk.helicopter"]


@pytest.mark.parametrize("path, value, words", [
    ("fire_units.eats.readiness.available", 0.5, ["unknown", "fire_units"]),
    ("fire_units.east.readiness.availble", 0.5, ["did you mean",
                                                 "fire_units.east.readiness.available"]),
    ("fire_units.east.readiness.available", 1.5, ["[0, 1]", "1.5"]),
    ("fire_units.east.readiness.emitting", 0.5, ["unknown"]),
    ("sensors.sr.role", "search", ["structure", "scenario file"]),
    ("command_posts.cp.authority", "ai", ["central", "autonomous"]),
    ("fire_units.east.salvo", 1.5, ["whole"]),
    ("groups.radars.readiness.trained", 0.5, ["no member"]),
    ("command_posts.cp.decision_delay", {"dist": "uniform", "low": 5, "high": 1},
     ["high must be at least low"]),
])
def test_a_bad_path_or_value_is_a_clear_error(model, path, value, words):
    with pytest.raises(ParameterError) as info:
        model.at(values={path: value})
    text = str(info.value)
    assert path in text
    for word in words:
        assert word in text, text


def validate_changed(tmp_path, old: str, new: str) -> tuple[object, str]:
    """`iadsim validate` on DISJOINT with one line changed: the result, and `file:line:` of
    the changed line."""
    text = DISJOINT.replace(old, new)
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    line = text.splitlines().index(new.splitlines()[-1]) + 1
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    return result, f"{path}:{line}:"


def test_a_bad_profile_value_is_reported_at_its_line(tmp_path):
    result, where = validate_changed(tmp_path, "      electronic_attack.jam.active: false",
                                     "      electronic_attack.jam.actve: false")
    assert where in result.output and "actve" in result.output
    path = tmp_path / "bad.yaml"
    result = runner.invoke(app, ["params", str(path), "--profile", "quiet"])
    assert result.exit_code == 1 and where in result.output
    with pytest.raises(ScenarioError):
        iadsim.load(path, "quiet")


def test_a_table_with_a_bad_column_names_it(model):
    with pytest.raises(ParameterError) as info:
        iadsim.table(model, {"replication": np.arange(3),
                             "fire_units.east.missiles": [1, -2, 3],
                             "no.such.path": [1, 2, 3]})
    assert "fire_units.east.missiles: row 1" in str(info.value)
    assert "no.such.path" in str(info.value)


@pytest.mark.parametrize("name", sorted(builtin_scenarios()))
def test_params_lists_every_built_in_scenario(name):
    scenario = iadsim.load_scenario(name)
    for profile in [None, *scenario.profiles]:
        args = ["params", name, "--json"] + (["--profile", profile] if profile else [])
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        rows = json.loads(result.stdout)["parameters"]
        paths = {r["path"] for r in rows}
        assert {"untrained_crew_factor",
                *(f"fire_units.{u.id}.readiness.available" for u in scenario.fire_units),
                *(f"command_posts.{c.id}.authority" for c in scenario.command_posts)} <= paths
        model = iadsim.load(name, profile)
        for r in rows:  # what is listed is the point's value, and can be set back
            if "expands_to" not in r:
                model.at(profile, {r["path"]: r["value"]})
    table = runner.invoke(app, ["params", name]).stdout
    assert "readiness.available" in table


def test_params_shows_profile_values_and_their_sources():
    rows = {r["path"]: r for r in iadsim.parameters(iadsim.load("caracas-2026", "reported"))}
    row = rows["command_posts.cp-air-defence.orders_prob"]
    assert row["value"] == 0.1 and "EVIDENCE" in row["source"]
    group = rows["groups.fire_control_radars.readiness.connected"]
    assert group["value"] == 0.1 and len(group["expands_to"]) == 3


def test_set_on_the_command_line_changes_the_run():
    args = ["run", "caracas-2026", "--runs", "200", "--json", "--profile", "full"]
    base = json.loads(runner.invoke(app, args).stdout)["observables"]
    automated = runner.invoke(app, [*args, "--set", "command_posts.cp-air-defence.orders_prob=0",
                                    "--set", "groups.sam_units.missiles=0"])
    assert automated.exit_code == 0, automated.output
    none = json.loads(automated.stdout)["observables"]
    assert base["launches[guidance=radar]"]["mean"] > 0
    assert none["launches[guidance=radar]"]["mean"] == 0


@pytest.mark.parametrize("setting, words", [
    ("no-equals-sign", ["PATH=VALUE"]),
    ("fire_units.s300-1.salvo=0.5", ["fire_units.s300-1.salvo", "whole number"]),
    ("command_posts.cp-air-defence.authority=ai", ["central | delegated | autonomous"
                                                   .replace(" |", ",")]),
])
def test_a_bad_set_is_one_clear_line_and_exit_1(setting, words):
    result = runner.invoke(app, ["run", "caracas-2026", "--runs", "5", "--set", setting])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    for word in words:
        assert word in lines[0]


def test_evaluate_returns_one_value_per_row_of_x_in_order(model):
    problem = iadsim.problem(["fire_units.east.readiness.available",
                              "command_posts.cp.orders_prob"], [[0, 1], [0, 1]])
    X = np.array([[0.9, 0.5], [0.1, 0.5], [0.5, 0.5], [0.1, 0.5]])
    Y = iadsim.evaluate(model, problem, X, observable="engagements", runs_per_row=300, seed=3)
    assert Y.shape == (4,) and Y[1] == Y[3]
    for x, y in zip(X, Y, strict=True):
        alone = run(model.at(values=dict(zip(problem["names"], x, strict=True))), 300, seed=3)
        assert alone.observable("engagements").mean() == y
    assert Y[0] > Y[2] > Y[1]  # more often available: more engagements, on the same luck


def test_a_design_table_has_one_point_per_distinct_row(model):
    X = np.array([[0.2], [0.7], [0.2]])
    rows = iadsim.design(model, ["fire_units.east.readiness.available"], X, 5)
    assert len(rows) == 15 and len(rows.points) == 2
    np.testing.assert_array_equal(rows.point, np.repeat([0, 1, 0], 5))
    np.testing.assert_array_equal(rows.replication, np.tile(np.arange(5), 3))


def test_changing_a_distribution_family_clears_the_old_parameters(model):
    point = model.at(values={"command_posts.cp.decision_delay.dist": "fixed",
                             "command_posts.cp.decision_delay.value": 3.0})
    listed = {r["path"]: r["value"] for r in iadsim.parameters(point)}
    assert listed["command_posts.cp.decision_delay.dist"] == "fixed"
    assert listed["command_posts.cp.decision_delay.value"] == 3.0
    assert "command_posts.cp.decision_delay.mean" not in listed
    with pytest.raises(ParameterError, match="mean is not a parameter of a fixed"):
        model.at(values={"command_posts.cp.decision_delay.dist": "fixed",
                         "command_posts.cp.decision_delay.value": 3.0,
                         "command_posts.cp.decision_delay.mean": 9.0})
    with pytest.raises(ParameterError, match="needs median, sigma"):
        model.at(values={"command_posts.cp.decision_delay.dist": "lognormal"})


def test_a_bad_distribution_in_a_profile_is_reported_at_its_line(tmp_path):
    result, where = validate_changed(tmp_path, "      electronic_attack.jam.active: false",
                                     "      command_posts.cp.decision_delay.dist: lognormal")
    assert where in result.output and "median, sigma" in result.output


@pytest.mark.parametrize("column, words", [
    (0.5, ["one value per row"]),
    ([[0.5, 0.5, 0.5]], ["one value per row"]),
    ([0.5, None, 0.2], ["row 1", "None"]),
    ([0.5, "high", 0.2], ["row 1", "'high'"]),
])
def test_a_bad_table_column_is_a_clear_error(model, column, words):
    with pytest.raises(ParameterError) as info:
        iadsim.table(model, {"replication": np.arange(3),
                             "fire_units.east.readiness.available": column})
    for word in words:
        assert word in str(info.value), str(info.value)


def test_a_structure_value_compiles_anew_and_a_parameter_does_not(model):
    wider = model.at(values={"fire_units.west.max_range_km": 9.0})
    assert wider.structure is not model.structure and wider.profile == "base+set"
    assert model.at(values={"fire_units.west.pk": 0.1}).structure is model.structure
    assert wider.structure.envelope[0, 0] != model.structure.envelope[0, 0]
    assert wider.scenario.fire_units[0].max_range_km == 9.0
    with pytest.raises(ParameterError, match="impossible envelope"):
        model.at(values={"fire_units.west.max_range_km": 0.1})
    with pytest.raises(ParameterError, match="vary by row"):
        iadsim.table(model, {"replication": np.arange(2),
                             "fire_units.west.max_range_km": [4.0, 5.0]})


def test_params_lists_structure_on_request():
    result = runner.invoke(app, ["params", "caracas-2026", "--structure", "--json"])
    rows = {r["path"]: r for r in json.loads(result.stdout)["parameters"]}
    assert rows["sensors.s300-1-sr.range_km"]["structure"] is True
    assert rows["strikes.strike-buk-carlota.time_s"]["value"] == 450.0
    assert "EVIDENCE" in rows["fire_units.buk-carlota.lat"]["source"]
    plain = runner.invoke(app, ["params", "caracas-2026", "--json"])
    assert not any("structure" in r for r in json.loads(plain.stdout)["parameters"])


def test_the_parameters_are_recorded_with_the_results(model, tmp_path):
    import pyarrow.parquet as pq

    result = runner.invoke(app, ["run", "caracas-2026", "--runs", "30", "--json", "--out",
                                 str(tmp_path), "--profile", "reported", "--set",
                                 "command_posts.cp-air-defence.authority=autonomous"])
    assert result.exit_code == 0, result.output
    meta = pq.read_table(tmp_path / "replications").schema.metadata
    recorded = json.loads(meta[b"parameters"])
    assert recorded["command_posts.cp-air-defence.authority"] == "autonomous"
    assert recorded["command_posts.cp-air-defence.orders_prob"] == 0.1
    table = iadsim.table(model, {"replication": [0, 0, 1],
                                 "command_posts.cp.authority": ["central", "delegated",
                                                                "central"]})
    arrow = run(model, seed=1, table=table).to_arrow()
    assert arrow["command_posts.cp.authority"].to_pylist() == ["central", "delegated", "central"]
    assert arrow["replication"].to_pylist() == [0, 0, 1]
    assert "command_posts.cp.authority" not in json.loads(arrow.schema.metadata[b"parameters"])


def test_at_with_values_builds_on_the_current_point():
    reported = iadsim.load("caracas-2026", "reported")
    ai = reported.at(values={"command_posts.cp-air-defence.authority": "autonomous"})
    listed = {r["path"]: r["value"] for r in iadsim.parameters(ai)}
    assert ai.profile == "reported+set" and listed["fire_units.s300-1.readiness.available"] == 0.4
    assert ai.settings == {"command_posts.cp-air-defence.authority": "autonomous"}
    wider = ai.at(values={"sensors.s300-1-sr.range_km": 250.0})  # a new compile keeps both
    listed = {r["path"]: r["value"] for r in iadsim.parameters(wider)}
    assert listed["command_posts.cp-air-defence.authority"] == "autonomous"
    assert listed["fire_units.s300-1.readiness.available"] == 0.4
    assert wider.settings == {"command_posts.cp-air-defence.authority": "autonomous",
                              "sensors.s300-1-sr.range_km": 250.0}
    full = wider.at("full")  # a profile replaces the values, not the structure
    assert full.settings == {"sensors.s300-1-sr.range_km": 250.0}
    assert full.at("base").profile == "base+set"
    result = runner.invoke(app, ["run", "caracas-2026", "--runs", "20", "--json", "--set",
                                 "fire_units.s300-1.salvo=1"])
    assert json.loads(result.stdout)["settings"] == {"fire_units.s300-1.salvo": 1}


def test_results_of_several_points_say_which_row_and_point(model):
    table = iadsim.table(model, {"replication": [0, 0, 1, 1],
                                 "fire_units.east.pk": [0.2, 0.9, 0.2, 0.9]})
    tables = run(model, seed=1, table=table).tables()
    for name in ("replications", "units", "threats", "passages"):
        assert "row" in tables[name].column_names, name
    assert tables["replications"]["point"].to_pylist() == [0, 1, 0, 1]
    one_point = run(model, 4, seed=1).tables()
    assert "row" not in one_point["threats"].column_names


def test_label_columns_hold_the_names_and_an_index_out_of_range_is_refused():
    model = iadsim.load("caracas-2026")
    results = run(model, 60, seed=2)
    threats, info = results.tables()["threats"].to_pydict(), results.info
    killer, deepest = results.threat_rows["killer"], results.threat_rows["deepest_link"]
    assert threats["killer"] == [info.unit_ids[k] if k >= 0 else "" for k in killer]
    assert threats["deepest_link"] == [LINKS[k] if k >= 0 else "" for k in deepest]
    assert {"", info.unit_ids[0]} <= set(threats["killer"])  # both kinds of row are checked
    passages = results.passage_rows
    wrong = dataclasses.replace(results, passage_rows={
        **passages, "unit": passages["unit"] + len(info.unit_ids)})
    with pytest.raises(IndexError, match="outside"):  # never a file of undecodable labels
        wrong.tables()


def test_an_override_that_acts_on_nothing_is_reported_at_its_line(tmp_path):
    result, where = validate_changed(tmp_path,
                                     "    values:\n      electronic_attack.jam.active: false",
                                     "    overrides:\n      - select: {ids: [west]}"
                                     "\n        set: {emitting: 0.5}")
    assert where in result.output and "acts on none" in result.output


@pytest.mark.parametrize("engine", ["vectorized", "reference"])
def test_observables_by_unit_flight_and_class_add_up(engine):
    model = iadsim.load("caracas-2026", "reported")
    results = run(model, 40 if engine == "reference" else 400, seed=3, engine=engine)
    info = results.info
    for link in ("unit_ready", "channel", "killed"):
        by_unit = sum(results.observable(f"{link}[id={u}]") for u in info.unit_ids)
        np.testing.assert_array_equal(by_unit, results.observable(link))
        by_type = sum(results.observable(f"{link}[unit_type={t}]") for t in set(info.unit_types))
        np.testing.assert_array_equal(by_type, results.observable(link))
    for base in ("threats", "threats_killed", "leakers"):
        by_flight = sum(results.observable(f"{base}[flight={f}]") for f in info.flight_ids)
        by_class = sum(results.observable(f"{base}[class={c}]") for c in set(info.flight_classes))
        np.testing.assert_array_equal(by_flight, results.observable(base))
        np.testing.assert_array_equal(by_class, results.observable(base))
    assert results.observable("threats[class=helicopter]").min() == 11
    destroyed = results.observable("destroyed[id=buk-carlota]")
    assert set(np.unique(destroyed)) <= {0.0, 1.0} and destroyed.mean() > 0.5
    # a strike that cannot succeed destroys nothing
    assert run(model.at(values={"strikes.strike-buk-carlota.p_destroy": 0.0}), 20, seed=3,
               engine=engine).observable("destroyed[id=buk-carlota]").max() == 0
    with pytest.raises(ValueError, match="filter by one of flight, class"):
        results.observable("leakers[id=s300-1]")
    for typo in ("leakers[class=fixed-wing]", "threats[flight=nope]", "channel[id=s300]"):
        with pytest.raises(ValueError, match="known:"):
            results.observable(typo)
    assert results.observable("leakers[class=cruise_missile]").max() == 0  # none flies
