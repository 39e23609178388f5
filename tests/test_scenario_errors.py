"""Scenario errors name the file, the line and the field, and say what was expected.

Requirement: unknown keys, wrong units or types, dangling ids, probabilities outside [0, 1] and
impossible envelopes are errors that name the file, the line and the field, and say what was
expected; all of them are reported at once.

Expected line numbers are computed from the YAML text each test writes (see `line_of`), never
hard-coded.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from typing import Any

import pytest
from conftest import dump, insert_line, line_of, only_problem, problems_of

from iadsim.scenario import schema
from iadsim.scenario.catalog import CATALOG
from iadsim.scenario.load import Problem, ScenarioError, load_scenario, parse_scenario

FILE = "scenario.yaml"


def by_field(problems: list[Problem], field: str) -> Problem:
    matches = [p for p in problems if p.field == field]
    assert matches, f"no problem for {field!r} in:\n" + "\n".join(str(p) for p in problems)
    return matches[0]


def suggestion(message: str) -> str | None:
    m = re.search(r"did you mean '([^']+)'", message)
    return m.group(1) if m else None


# --- a valid scenario, catalog defaults ----------------------------------------------------------


def test_minimal_scenario_loads(scenario):
    model = parse_scenario(dump(scenario), FILE)
    assert isinstance(model, schema.Scenario)
    assert model.name == "minimal"
    assert [s.id for s in model.sensors] == ["sr1", "fcr1"]
    assert model.fire_units[0].fire_control_radar == "fcr1"
    assert model.fire_units[0].pk == 0.7


def test_load_scenario_reads_a_file(tmp_path, scenario):
    path = tmp_path / "ok.yaml"
    path.write_text(dump(scenario), encoding="utf-8")
    assert load_scenario(path).name == "minimal"
    assert load_scenario(str(path)).name == "minimal"


def test_load_scenario_names_the_file_in_problems(tmp_path, scenario):
    scenario["fire_units"][0]["pk"] = 1.3
    text = dump(scenario)
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    (problem,) = info.value.problems
    assert problem.file == str(path)
    assert problem.line == line_of(text, "id: sam1", "pk:")
    assert str(problem).startswith(f"{path}:{problem.line}: fire_units[0].pk: ")


def test_load_scenario_missing_file_is_a_problem_not_a_traceback(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ScenarioError) as info:
        load_scenario(missing)
    (problem,) = info.value.problems
    assert problem.file == str(missing)
    assert "no such file" in problem.message


def test_catalog_defaults_are_applied(scenario):
    igla = CATALOG["igla-class"].fields
    scenario["fire_units"].append({"id": "manpads1", "type": "igla-class", "lat": 50.2,
                                   "lon": 30.2})
    unit = parse_scenario(dump(scenario), FILE).fire_units[1]
    assert unit.max_range_km == igla["max_range_km"]
    assert unit.min_range_km == igla["min_range_km"]
    assert unit.max_alt_m == igla["max_alt_m"]
    assert unit.guidance == igla["guidance"] == "infrared"
    assert unit.acquire_rate == igla["acquire_rate"]
    assert unit.missiles == igla["missiles"]
    assert unit.pk == igla["pk"]
    assert unit.type == "igla-class"


def test_entity_fields_override_catalog_fields(scenario):
    scenario["fire_units"].append({"id": "manpads1", "type": "igla-class", "lat": 50.2,
                                   "lon": 30.2, "max_range_km": 4.0, "missiles": 6, "pk": 0.5})
    unit = parse_scenario(dump(scenario), FILE).fire_units[1]
    assert unit.max_range_km == 4.0
    assert unit.missiles == 6
    assert unit.pk == 0.5
    # fields the entity did not set still come from the catalog
    assert unit.max_alt_m == CATALOG["igla-class"].fields["max_alt_m"]


def test_threat_class_overrides_catalog_via_its_yaml_name(scenario):
    route = scenario["threats"][0]["route"]
    scenario["threats"] = [{"id": "t1", "type": "helicopter", "class": "drone", "route": route}]
    threat = parse_scenario(dump(scenario), FILE).threats[0]
    assert threat.threat_class == "drone"
    assert threat.rcs_m2 == CATALOG["helicopter"].fields["rcs_m2"]


def test_catalog_kinds_are_the_known_ones():
    assert {entry.kind for entry in CATALOG.values()} <= {"sensor", "fire_unit", "threat"}


def _add_catalog_entity(data: dict[str, Any], name: str, n: int) -> tuple[str, int]:
    """Add an entity of catalog type `name` to data; return (list key, index)."""
    entry = CATALOG[name]
    ident = f"{entry.kind}{n}"
    if entry.kind == "sensor":
        item: dict[str, Any] = {"id": ident, "type": name, "lat": 50.0, "lon": 30.0 + n / 100}
        if entry.fields.get("role") == "search":
            item["command_post"] = "cp1"
        key = "sensors"
    elif entry.kind == "fire_unit":
        item = {"id": ident, "type": name, "lat": 50.0, "lon": 30.0 + n / 100}
        if entry.fields.get("guidance") == "radar":
            item["fire_control_radar"] = "fcr1"
        key = "fire_units"
    elif entry.kind == "threat":
        item = {"id": ident, "type": name,
                "route": [{"lat": 51.0, "lon": 30.0, "alt_m": 1000},
                          {"lat": 50.0, "lon": 30.0, "alt_m": 1000}]}
        key = "threats"
    else:  # pragma: no cover - guarded by test_catalog_kinds_are_the_known_ones
        raise AssertionError(entry.kind)
    data[key].append(item)
    return key, len(data[key]) - 1


def _assert_catalog_fields(model: schema.Scenario, key: str, index: int, name: str) -> None:
    entity = getattr(model, key)[index]
    for field, value in CATALOG[name].fields.items():
        attr = "threat_class" if field == "class" else field
        assert getattr(entity, attr) == value, f"{name}.{field}"


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_each_catalog_type_is_valid_for_its_kind(name, scenario):
    key, index = _add_catalog_entity(scenario, name, 0)
    model = parse_scenario(dump(scenario), FILE)
    _assert_catalog_fields(model, key, index, name)


def test_a_scenario_using_every_catalog_type_loads(scenario):
    added = [(name, *_add_catalog_entity(scenario, name, n))
             for n, name in enumerate(sorted(CATALOG))]
    # and every threat type also works as the type of a stream
    for name in sorted(n for n, e in CATALOG.items() if e.kind == "threat"):
        scenario.setdefault("streams", []).append({
            "id": f"stream-{name}", "type": name, "rate_per_s": 0.01, "end_s": 300,
            "route": [{"lat": 51.0, "lon": 30.0, "alt_m": 1000},
                      {"lat": 50.0, "lon": 30.0, "alt_m": 1000}]})
    model = parse_scenario(dump(scenario), FILE)
    for name, key, index in added:
        _assert_catalog_fields(model, key, index, name)
    assert len(model.streams) == sum(e.kind == "threat" for e in CATALOG.values())


# --- the format of a problem ----------------------------------------------------------------


def test_problem_str_is_file_line_field_message():
    p = Problem("a.yaml", 12, "fire_units[0].pk", "a probability must be between 0 and 1")
    assert str(p) == "a.yaml:12: fire_units[0].pk: a probability must be between 0 and 1"


def test_scenario_error_message_lists_every_problem(scenario):
    scenario["fire_units"][0]["pk"] = 1.3
    scenario["command_posts"][0]["orders_prob"] = 2
    with pytest.raises(ScenarioError) as info:
        parse_scenario(dump(scenario), FILE)
    assert str(info.value).splitlines() == [str(p) for p in info.value.problems]


# --- unknown keys ---------------------------------------------------------------------------


def test_unknown_key_typo_in_a_fire_unit(scenario):
    scenario["fire_units"][0]["rnage_km"] = 40
    text = dump(scenario)
    p = only_problem(text)
    assert p.file == FILE
    assert p.field == "fire_units[0].rnage_km"
    assert p.line == line_of(text, "id: sam1", "rnage_km:")
    assert "unknown key" in p.message
    assert "rnage_km" in p.message
    assert suggestion(p.message) is not None


@pytest.mark.parametrize(("path", "typo", "right"), [
    (("sensors", 0), "rnage_km", "range_km"),
    (("sensors", 0), "detect_rte", "detect_rate"),
    (("fire_units", 0), "max_rnage_km", "max_range_km"),
    (("fire_units", 0), "chanels", "channels"),
    (("command_posts", 0), "orders_prb", "orders_prob"),
    ((), "duraton_s", "duration_s"),
])
def test_unknown_key_suggests_the_right_one(scenario, path, typo, right):
    target = scenario
    for part in path:
        target = target[part]
    target[typo] = 1
    text = dump(scenario)
    problems = problems_of(text)
    field = ".".join(
        f"{p}" if isinstance(p, str) else f"[{p}]" for p in (*path, typo)).replace(".[", "[")
    p = by_field(problems, field)
    needles = ([f"id: {target['id']}"] if "id" in target else []) + [f"{typo}:"]
    assert p.line == line_of(text, *needles)
    assert f"unknown key {typo!r}" in p.message
    assert suggestion(p.message) == right


def test_unknown_key_in_nested_readiness(scenario):
    scenario["fire_units"][0]["readiness"] = {"avialable": 0.9}
    text = dump(scenario)
    p = only_problem(text)
    assert p.field == "fire_units[0].readiness.avialable"
    assert p.line == line_of(text, "id: sam1", "readiness:", "avialable:")
    assert suggestion(p.message) == "available"


def test_unknown_key_hint_is_a_key_the_entity_accepts(scenario):
    scenario["fire_units"][0]["range_km"] = 40  # a sensor's field, not a fire unit's
    text = dump(scenario)
    p = only_problem(text)
    assert p.field == "fire_units[0].range_km"
    hint = suggestion(p.message)
    assert hint in schema.FireUnit.model_fields, p.message  # min_range_km or max_range_km


def test_unknown_key_in_a_distribution_suggests_its_fields(scenario):
    scenario["command_posts"][0]["decision_delay"] = {"dist": "exponential", "meen": 5}
    text = dump(scenario)
    problems = problems_of(text)
    p = by_field(problems, "command_posts[0].decision_delay.meen")
    assert p.line == line_of(text, "id: cp1", "decision_delay:", "meen:")
    assert suggestion(p.message) == "mean"
    # a mapping was written: the number branch of the duration does not complain too
    assert not any("valid number" in q.message for q in problems)


def test_unknown_key_hint_uses_the_yaml_name_of_an_aliased_field(scenario):
    scenario["threats"][0]["clas"] = "drone"
    p = by_field(problems_of(dump(scenario)), "threats[0].clas")
    assert suggestion(p.message) == "class"


# --- wrong units ----------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "field", "value", "unit"), [
    (("sensors", 0), "range_km", "200 km", "kilometres"),
    (("fire_units", 0), "max_range_km", "40km", "kilometres"),
    (("fire_units", 0), "max_alt_m", "20 km", "metres"),
    (("sensors", 0), "height_m", "10 ft", "metres"),
    ((), "duration_s", "10 min", "seconds"),
    (("threats", 0), "speed_mps", "250 m/s", "metres per second"),
    (("threats", 0), "rcs_m2", "1 m2", "square metres"),
    (("sensors", 0), "detect_rate", "0.1 /s", "events per second"),
])
def test_wrong_unit(scenario, path, field, value, unit):
    target = scenario
    for part in path:
        target = target[part]
    target[field] = value
    text = dump(scenario)
    p = only_problem(text)
    dotted = "".join(f"[{x}]" if isinstance(x, int) else f".{x}" for x in path) + f".{field}"
    assert p.field == dotted.lstrip(".")
    needles = ([f"id: {target['id']}"] if "id" in target else []) + [f"{field}:"]
    assert p.line == line_of(text, *needles)
    assert "wrong unit" in p.message
    assert f"plain number in {unit}" in p.message
    assert value in p.message


def test_wrong_unit_in_a_route_waypoint(scenario):
    scenario["threats"][0]["route"][1]["alt_m"] = "5000 ft"
    text = dump(scenario)
    p = only_problem(text)
    assert p.field == "threats[0].route[1].alt_m"
    assert p.line == line_of(text, "id: t1", "route:", "lat:", "lat:", "alt_m:")
    assert "wrong unit" in p.message and "metres" in p.message


def test_wrong_unit_in_a_duration_says_seconds(scenario):
    scenario["command_posts"][0]["decision_delay"] = "5 s"
    text = dump(scenario)
    p = only_problem(text)
    assert p.field == "command_posts[0].decision_delay"
    assert p.line == line_of(text, "id: cp1", "decision_delay:")
    assert "wrong unit" in p.message
    assert "seconds" in p.message


def test_wrong_unit_in_engagement_time_says_seconds(scenario):
    scenario["fire_units"][0]["engagement_time"] = "30 s"
    p = only_problem(dump(scenario))
    assert p.field == "fire_units[0].engagement_time"
    assert "plain number in seconds" in p.message


def test_bad_value_in_a_distribution_is_reported_once_at_its_field(scenario):
    scenario["command_posts"][0]["decision_delay"] = {"dist": "uniform", "low": 5, "high": 2}
    text = dump(scenario)
    p = only_problem(text)
    assert p.field == "command_posts[0].decision_delay.high"
    assert p.line == line_of(text, "id: cp1", "decision_delay:", "high:")
    assert "at least low" in p.message


def test_pk_with_a_percent_sign_says_probability(scenario):
    scenario["fire_units"][0]["pk"] = "70 %"
    p = only_problem(dump(scenario))
    assert p.field == "fire_units[0].pk"
    assert "between 0 and 1" in p.message and "'70 %'" in p.message


# --- wrong types ----------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "field", "value", "expected"), [
    (("fire_units", 0), "channels", "many", "integer"),
    (("fire_units", 0), "missiles", 2.5, "integer"),
    (("fire_units", 0), "guidance", "laser", "'radar' or 'infrared'"),
    (("sensors", 0), "role", "tracking", "'search' or 'fire_control'"),
    (("threats", 0), "class", "jet", "'fixed_wing'"),
    (("command_posts", 0), "authority", "king", "'central'"),
    (("fire_units", 0), "shoot_look_shoot", "maybe", "boolean"),
    (("threats", 0), "route", 5, "list"),
    (("fire_units", 0), "lat", 95, "90"),
    (("sensors", 0), "id", "has space", "pattern"),
])
def test_wrong_type(scenario, path, field, value, expected):
    target = scenario
    for part in path:
        target = target[part]
    target[field] = value
    text = dump(scenario)
    p = only_problem(text)
    dotted = "".join(f"[{x}]" if isinstance(x, int) else f".{x}" for x in path) + f".{field}"
    assert p.field == dotted.lstrip(".")
    if field == "id":
        needles = [f"{path[0]}:", "id:"]
    else:
        needles = ([f"id: {target['id']}"] if path else []) + [f"{field}:"]
    assert p.line == line_of(text, *needles)
    assert expected in p.message
    assert repr(value) in p.message or str(value) in p.message


@pytest.mark.parametrize(("path", "field", "value"), [
    (("fire_units", 0), "channels", True),
    (("fire_units", 0), "salvo", False),
    (("fire_units", 0), "missiles", 8.0),
    (("threats", 0), "count", True),
])
def test_integer_fields_reject_booleans_and_floats(scenario, path, field, value):
    target = scenario[path[0]][path[1]]
    target[field] = value
    text = dump(scenario)
    p = only_problem(text)
    assert p.field == f"{path[0]}[{path[1]}].{field}"
    assert p.line == line_of(text, f"id: {target['id']}", f"{field}:")
    assert "integer" in p.message and repr(value) in p.message


def test_integer_fields_accept_yaml_integers(scenario):
    scenario["fire_units"][0].update(channels=3, salvo=2, missiles=0)
    unit = parse_scenario(dump(scenario), FILE).fire_units[0]
    assert (unit.channels, unit.salvo, unit.missiles) == (3, 2, 0)


@pytest.mark.parametrize(("path", "field", "value"), [
    (("fire_units", 0), "max_range_km", math.nan),
    (("fire_units", 0), "max_range_km", math.inf),
    (("fire_units", 0), "pk", math.nan),
    (("sensors", 0), "detect_rate", math.nan),
    (("sensors", 0), "lat", math.nan),
    ((), "duration_s", math.inf),
])
def test_nan_and_inf_are_rejected(scenario, path, field, value):
    target = scenario[path[0]][path[1]] if path else scenario
    target[field] = value
    text = dump(scenario)
    p = only_problem(text)
    assert p.field == (f"{path[0]}[{path[1]}].{field}" if path else field)
    assert p.line == line_of(text, *([f"id: {target['id']}"] if path else []), f"{field}:")
    assert "finite" in p.message or "not .nan" in p.message


def test_inf_is_accepted_for_rates_and_for_the_end_of_electronic_attack(scenario):
    scenario["sensors"][0]["detect_rate"] = math.inf
    unit = scenario["fire_units"][0]
    del unit["fire_control_radar"]
    unit.update(guidance="infrared", acquire_rate=math.inf)
    scenario["electronic_attack"] = [{"id": "jam", "targets": {"all": True}, "end_s": math.inf}]
    model = parse_scenario(dump(scenario), FILE)
    assert model.sensors[0].detect_rate == math.inf
    assert model.fire_units[0].acquire_rate == math.inf
    assert model.electronic_attack[0].end_s == math.inf


def test_electronic_attack_end_rejects_nan(scenario):
    scenario["electronic_attack"] = [{"id": "jam", "targets": {"all": True}, "end_s": math.nan}]
    text = dump(scenario)
    p = only_problem(text)
    assert p.field == "electronic_attack[0].end_s"
    assert p.line == line_of(text, "electronic_attack:", "end_s:")


def test_misspelt_choice_suggests_the_right_one(scenario):
    scenario["fire_units"][0]["guidance"] = "radr"
    p = only_problem(dump(scenario))
    assert p.field == "fire_units[0].guidance"
    assert suggestion(p.message) == "radar"


def test_number_as_a_key_is_located_at_its_line(scenario):
    scenario["groups"] = {"north": ["sam1"], 7: ["sr1"]}
    scenario["fire_units"][0][3] = 1
    scenario[5] = 1
    text = dump(scenario)
    problems = problems_of(text)
    assert {p.field: p.line for p in problems} == {
        "groups.7": line_of(text, "groups:", "7:"),
        "fire_units[0].3": line_of(text, "id: sam1", "3:"),
        "5": line_of(text, "5:"),
    }
    assert all("quote it" in p.message for p in problems)


def test_missing_required_field(scenario):
    del scenario["fire_units"][0]["max_range_km"]
    text = dump(scenario)
    p = only_problem(text)
    assert p.field == "fire_units[0].max_range_km"
    assert p.line == line_of(text, "id: sam1")  # the entity that lacks it
    assert "required" in p.message and "missing" in p.message


def test_top_level_must_be_a_mapping():
    p = only_problem("- just\n- a list\n")
    assert p.line == 1
    assert "mapping" in p.message


def test_empty_file_is_a_problem():
    p = only_problem("")
    assert "mapping" in p.message


# --- dangling ids ---------------------------------------------------------------------------


def test_fire_unit_command_post_dangling(scenario):
    scenario["fire_units"][0]["command_post"] = "cp9"
    text = dump(scenario)
    p = only_problem(text)
    assert p.field == "fire_units[0].command_post"
    assert p.line == line_of(text, "id: sam1", "command_post:")
    assert "'cp9' is not the id of any command post" in p.message
    assert suggestion(p.message) == "cp1"


def test_fire_unit_fire_control_radar_dangling(scenario):
    scenario["fire_units"][0]["fire_control_radar"] = "radar-x"
    text = dump(scenario)
    p = only_problem(text)
    assert p.field == "fire_units[0].fire_control_radar"
    assert p.line == line_of(text, "id: sam1", "fire_control_radar:")
    assert "'radar-x'" in p.message and "fire_control" in p.message


def test_fire_control_radar_naming_a_search_radar(scenario):
    scenario["fire_units"][0]["fire_control_radar"] = "sr1"
    text = dump(scenario)
    p = only_problem(text)
    assert p.field == "fire_units[0].fire_control_radar"
    assert p.line == line_of(text, "id: sam1", "fire_control_radar:")
    assert "'sr1'" in p.message and "role fire_control" in p.message


def test_sensor_command_post_dangling(scenario):
    scenario["sensors"][0]["command_post"] = "hq"
    text = dump(scenario)
    p = only_problem(text)
    assert p.field == "sensors[0].command_post"
    assert p.line == line_of(text, "id: sr1", "command_post:")
    assert "'hq' is not the id of any command post" in p.message


def test_fire_control_radar_must_not_report_to_a_command_post(scenario):
    scenario["sensors"][1]["command_post"] = "cp1"
    text = dump(scenario)
    p = only_problem(text)
    assert p.field == "sensors[1].command_post"
    assert p.line == line_of(text, "id: fcr1", "command_post:")
    assert "search radar" in p.message


def test_strike_target_dangling(scenario):
    scenario["strikes"] = [{"target": "sam1", "time_s": 10},
                           {"target": "sam2", "time_s": 20}]
    text = dump(scenario)
    p = only_problem(text)
    assert p.field == "strikes[1].target"
    assert p.line == line_of(text, "strikes:", "target:", "target:")
    assert "'sam2' is not the id of any sensor, command post or fire unit" in p.message
    assert suggestion(p.message) == "sam1"


def test_strike_cannot_target_a_threat(scenario):
    scenario["strikes"] = [{"target": "t1", "time_s": 10}]
    text = dump(scenario)
    p = only_problem(text)
    assert p.field == "strikes[0].target"
    assert p.line == line_of(text, "strikes:", "target:")


def test_group_and_selection_references_dangling(scenario):
    scenario["groups"] = {"north": ["sam1", "ghost"]}
    scenario["group_readiness"] = {"south": {"available": 0.5}}
    scenario["electronic_attack"] = [
        {"id": "jam", "targets": {"ids": ["sr9"], "groups": ["east"]}}]
    text = dump(scenario)
    problems = problems_of(text)
    assert {p.field for p in problems} == {
        "groups.north[1]", "group_readiness.south",
        "electronic_attack[0].targets.ids[0]", "electronic_attack[0].targets.groups[0]"}
    assert by_field(problems, "groups.north[1]").line == line_of(text, "groups:", "north:",
                                                                 "sam1", "ghost")
    assert by_field(problems, "group_readiness.south").line == line_of(text, "group_readiness:",
                                                                       "south:")
    assert by_field(problems, "electronic_attack[0].targets.ids[0]").line == line_of(
        text, "electronic_attack:", "ids:", "sr9")
    assert by_field(problems, "electronic_attack[0].targets.groups[0]").line == line_of(
        text, "electronic_attack:", "groups:", "east")


def test_malformed_overrides_are_a_problem_not_a_traceback(scenario):
    scenario["profiles"] = {"degraded": {"overrides": 5}}
    text = dump(scenario)
    p = only_problem(text)
    assert p.field == "profiles.degraded.overrides"
    assert p.line == line_of(text, "profiles:", "overrides:")


# --- probabilities ------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "value"), [
    (("fire_units", 0, "pk"), 1.3),
    (("fire_units", 0, "pk"), -0.2),
    (("fire_units", 0, "readiness", "available"), -0.1),
    (("sensors", 0, "readiness", "emitting"), 1.01),
    (("readiness", "trained"), 7),
    (("command_posts", 0, "orders_prob"), 2),
    (("fire_units", 0, "launch_reliability"), 1.5),
])
def test_probability_outside_0_1(scenario, path, value):
    target = scenario
    for part in path[:-1]:
        target = target.setdefault(part, {}) if isinstance(part, str) else target[part]
    target[path[-1]] = value
    text = dump(scenario)
    p = only_problem(text)
    dotted = "".join(f"[{x}]" if isinstance(x, int) else f".{x}" for x in path).lstrip(".")
    assert p.field == dotted
    ident = {"fire_units": "sam1", "sensors": "sr1", "command_posts": "cp1"}.get(path[0])
    needles = ([f"id: {ident}"] if ident else []) + [f"{x}:" for x in path if isinstance(x, str)
                                                     and x not in ("fire_units", "sensors",
                                                                   "command_posts")]
    assert p.line == line_of(text, *needles)
    assert "probability must be between 0 and 1" in p.message
    assert str(value) in p.message


def test_probability_in_a_strike_and_a_profile(scenario):
    scenario["strikes"] = [{"target": "sam1", "time_s": 10, "p_destroy": 1.2}]
    scenario["profiles"] = {"degraded": {"overrides": [
        {"select": {"all": True}, "set": {"orders_prob": 2}}]}}
    text = dump(scenario)
    problems = problems_of(text)
    assert len(problems) == 2
    strike = by_field(problems, "strikes[0].p_destroy")
    assert strike.line == line_of(text, "strikes:", "p_destroy:")
    profile = by_field(problems, "profiles.degraded.overrides[0].set.orders_prob")
    assert profile.line == line_of(text, "profiles:", "set:", "orders_prob:")
    for p in problems:
        assert "between 0 and 1" in p.message


@pytest.mark.parametrize("field", ["untrained_crew_factor"])
def test_other_probabilities_outside_0_1_say_what_is_expected(scenario, field):
    scenario[field] = 1.5
    text = dump(scenario)
    p = only_problem(text)
    assert p.field == field
    assert p.line == line_of(text, f"{field}:")
    assert "1" in p.message and "1.5" in p.message  # the bound and the value


@pytest.mark.parametrize(("path", "value"), [
    (("untrained_crew_factor",), 1.5),
    (("electronic_attack", 0, "link_cut_prob"), 1.5),
    (("electronic_attack", 0, "disable_prob"), -0.5),
    (("group_readiness", "north", "connected"), 2),
    (("strikes", 0, "p_destroy"), -1),
])
def test_every_probability_field_says_probability(scenario, path, value):
    scenario["groups"] = {"north": ["sam1"]}
    scenario["group_readiness"] = {"north": {"available": 0.5}}
    scenario["electronic_attack"] = [{"id": "jam", "targets": {"all": True}}]
    scenario["strikes"] = [{"target": "sam1", "time_s": 10}]
    target = scenario
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    text = dump(scenario)
    p = only_problem(text)
    assert p.field == "".join(f"[{x}]" if isinstance(x, int) else f".{x}"
                              for x in path).lstrip(".")
    assert p.line == line_of(text, *[f"{x}:" for x in path if isinstance(x, str)])
    assert f"a probability must be between 0 and 1 (got {value!r})" in p.message


def test_probability_in_a_pk_table(scenario):
    scenario["fire_units"][0]["pk"] = {"default": 0.7, "helicopter": 1.3}
    text = dump(scenario)
    problems = problems_of(text)
    p = by_field(problems, "fire_units[0].pk.helicopter")
    assert p.line == line_of(text, "id: sam1", "pk:", "helicopter:")
    assert "between 0 and 1" in p.message


def test_probability_in_a_pk_table_is_reported_once(scenario):
    scenario["fire_units"][0]["pk"] = {"default": 0.7, "helicopter": 1.3}
    p = only_problem(dump(scenario))
    assert p.field == "fire_units[0].pk.helicopter"


def test_pk_table_with_default_rejects_unknown_threat_class(scenario):
    scenario["fire_units"][0]["pk"] = {"default": 0.7, "helicoptr": 0.5}
    p = only_problem(dump(scenario))
    assert "helicoptr" in p.message


def test_pk_table_without_default_rejects_unknown_threat_class(scenario):
    scenario["fire_units"][0]["pk"] = {"fixed_wing": 0.7, "helicoptr": 0.5}
    text = dump(scenario)
    p = only_problem(text)  # the bad key; the missing 'default' once the keys are right
    assert p.field == "fire_units[0].pk.helicoptr"
    assert p.line == line_of(text, "id: sam1", "pk:", "helicoptr:")
    assert "helicoptr" in p.message
    assert suggestion(p.message) == "helicopter"


def test_pk_table_must_have_a_default(scenario):
    scenario["fire_units"][0]["pk"] = {"fixed_wing": 0.7, "helicopter": 0.5}
    text = dump(scenario)
    p = only_problem(text)
    assert p.field == "fire_units[0].pk"
    assert p.line == line_of(text, "id: sam1", "pk:")
    assert "must have a 'default'" in p.message


def test_pk_table_of_every_threat_class_and_default_loads(scenario):
    table = {name: 0.5 for name in schema.THREAT_CLASSES} | {"default": 0.6}
    scenario["fire_units"][0]["pk"] = table
    assert parse_scenario(dump(scenario), FILE).fire_units[0].pk == table


# --- impossible envelopes -------------------------------------------------------------------


@pytest.mark.parametrize(("low", "high", "low_value", "high_value"), [
    ("min_range_km", "max_range_km", 50, 40),
    ("min_range_km", "max_range_km", 40, 40),
    ("min_alt_m", "max_alt_m", 30000, 20000),
    ("min_alt_m", "max_alt_m", 20000, 20000),
])
def test_impossible_envelope(scenario, low, high, low_value, high_value):
    unit = scenario["fire_units"][0]
    unit[low], unit[high] = low_value, high_value
    text = dump(scenario)
    p = only_problem(text)
    assert p.field.startswith("fire_units[0]")
    # the problem points at the entity (or at one of the two fields in conflict)
    assert p.line in {line_of(text, "id: sam1"), line_of(text, "id: sam1", f"{low}:"),
                      line_of(text, "id: sam1", f"{high}:")}
    assert "impossible envelope" in p.message
    assert low in p.message and high in p.message
    assert "below" in p.message


def test_impossible_envelope_against_catalog_default(scenario):
    max_range = CATALOG["igla-class"].fields["max_range_km"]
    scenario["fire_units"].append({"id": "manpads1", "type": "igla-class", "lat": 50.2,
                                   "lon": 30.2, "min_range_km": max_range + 1})
    text = dump(scenario)
    p = only_problem(text)
    assert p.field.startswith("fire_units[1]")
    assert p.line in {line_of(text, "id: manpads1"), line_of(text, "id: manpads1",
                                                             "min_range_km:")}
    assert "min_range_km" in p.message and str(max_range) in p.message


def test_radar_unit_without_fire_control_radar(scenario):
    del scenario["fire_units"][0]["fire_control_radar"]
    text = dump(scenario)
    p = only_problem(text)
    assert p.field.startswith("fire_units[0]")
    assert "fire_control_radar" in p.message


@pytest.mark.parametrize(("low", "high"), [("min_range_km", "max_range_km"),
                                           ("min_alt_m", "max_alt_m")])
def test_impossible_envelope_points_at_the_upper_bound(scenario, low, high):
    scenario["fire_units"][0].update({low: 50, high: 40})
    text = dump(scenario)
    p = only_problem(text)
    assert p.field == f"fire_units[0].{high}"
    assert p.line == line_of(text, "id: sam1", f"{high}:")
    assert p.message == f"impossible envelope: {low} (50) must be below {high} (40)"


def test_impossible_envelope_against_catalog_default_points_at_the_written_bound(scenario):
    scenario["fire_units"].append({"id": "manpads1", "type": "igla-class", "lat": 50.2,
                                   "lon": 30.2, "min_range_km": 9})
    text = dump(scenario)
    p = only_problem(text)
    assert p.field == "fire_units[1].min_range_km"  # max_range_km is not in the file
    assert p.line == line_of(text, "id: manpads1", "min_range_km:")
    assert p.message == "impossible envelope: min_range_km (9) must be below max_range_km (5.2)"


def test_checks_across_fields_point_at_the_field(scenario):
    route = [dict(waypoint) for waypoint in scenario["threats"][0]["route"]]
    scenario["threats"][0]["route"][0]["time_s"] = 5
    scenario["streams"] = [{"id": "s1", "class": "drone", "rcs_m2": 0.1, "speed_mps": 50,
                            "rate_per_s": 0.01, "start_s": 100, "end_s": 50, "route": route}]
    text = dump(scenario)
    problems = problems_of(text)
    assert {p.field: p.line for p in problems} == {
        "threats[0].route[0].time_s": line_of(text, "id: t1", "route:", "time_s:"),
        "streams[0].end_s": line_of(text, "id: s1", "end_s:"),
    }


def test_infrared_unit_without_acquire_rate(scenario):
    unit = scenario["fire_units"][0]
    del unit["fire_control_radar"]
    unit["guidance"] = "infrared"
    text = dump(scenario)
    p = only_problem(text)
    assert p.field == "fire_units[0].acquire_rate"
    assert p.line == line_of(text, "id: sam1")  # not in the file: the entity that lacks it
    assert "acquire_rate" in p.message


# --- catalog types ------------------------------------------------------------------------------


def test_unknown_catalog_type(scenario):
    scenario["fire_units"][0]["type"] = "patriot-class"
    text = dump(scenario)
    p = only_problem(text)
    assert p.field == "fire_units[0].type"
    assert p.line == line_of(text, "id: sam1", "type:")
    assert "unknown fire_unit type 'patriot-class'" in p.message
    for name, entry in CATALOG.items():  # lists what the catalog has, for this kind only
        assert (name in p.message) == (entry.kind == "fire_unit")


@pytest.mark.parametrize(("key", "name"), [
    ("fire_units", "search-radar"),
    ("sensors", "s300-class"),
    ("threats", "buk-fire-control-radar"),
])
def test_catalog_type_of_the_wrong_kind(scenario, key, name):
    scenario[key][0]["type"] = name
    text = dump(scenario)
    problems = problems_of(text)
    p = by_field(problems, f"{key}[0].type")
    assert p.line == line_of(text, f"{key}:", "type:")
    assert f"type {name!r}" in p.message


def test_unknown_catalog_type_is_the_only_validation_problem_of_its_entity(scenario):
    scenario["fire_units"].append({"id": "sam2", "type": "patriot-class", "lat": 50.2,
                                   "lon": 30.2, "command_post": "cp9"})
    text = dump(scenario)
    problems = problems_of(text)
    # no 'required field is missing' for what the catalog would have given; references still
    assert {p.field for p in problems} == {"fire_units[1].type", "fire_units[1].command_post"}


# --- duplicates -----------------------------------------------------------------------------


def test_duplicate_ids(scenario):
    scenario["command_posts"].append({"id": "sam1", "lat": 50.0, "lon": 30.3})
    text = dump(scenario)
    p = only_problem(text)
    # the later entity (fire_units comes after command_posts in the check) is the duplicate
    assert "duplicate id 'sam1'" in p.message
    assert p.field in {"command_posts[1].id", "fire_units[0].id"}
    other = "fire_units[0]" if p.field.startswith("command_posts") else "command_posts[1]"
    assert other in p.message
    section = p.field.split("[")[0]
    assert p.line == line_of(text, f"{section}:", "id: sam1")


def test_duplicate_ids_in_the_same_list(scenario):
    scenario["sensors"][1]["id"] = "sr1"
    # the unit no longer needs the renamed radar: make it infrared
    del scenario["fire_units"][0]["fire_control_radar"]
    scenario["fire_units"][0]["guidance"] = "infrared"
    scenario["fire_units"][0]["acquire_rate"] = 0.1
    text = dump(scenario)
    p = only_problem(text)
    assert p.field == "sensors[1].id"
    assert p.line == line_of(text, "id: sr1", "id: sr1")
    assert "duplicate id 'sr1'" in p.message and "sensors[0]" in p.message


def test_duplicate_yaml_key_in_an_entity(scenario):
    text = dump(scenario)
    pk_line = line_of(text, "id: sam1", "pk:")
    text = insert_line(text, pk_line, "pk: 0.5")
    p = only_problem(text)
    assert p.field == "fire_units[0].pk"
    assert p.line == pk_line + 1
    assert "duplicate key" in p.message


def test_duplicate_yaml_key_at_top_level(scenario):
    text = dump(scenario)
    text = insert_line(text, line_of(text, "duration_s:"), "name: again")
    p = only_problem(text)
    assert p.field == "name"
    assert p.line == line_of(text, "name:", "name:")
    assert "duplicate key" in p.message


def test_duplicate_ids_of_strikes_and_electronic_attacks(scenario):
    scenario["strikes"] = [{"id": "hit", "target": "sam1", "time_s": 10},
                           {"id": "hit", "target": "sr1", "time_s": 20}]
    scenario["electronic_attack"] = [{"id": "jam", "targets": {"all": True}},
                                     {"id": "jam", "targets": {"all": True}}]
    text = dump(scenario)
    problems = problems_of(text)
    assert {p.field: p.line for p in problems} == {
        "strikes[1].id": line_of(text, "strikes:", "id: hit", "id: hit"),
        "electronic_attack[1].id": line_of(text, "electronic_attack:", "id: jam", "id: jam"),
    }
    assert all("duplicate id" in p.message for p in problems)


# --- invalid YAML ---------------------------------------------------------------------------


def test_invalid_yaml_is_a_problem_with_a_line_not_a_traceback(scenario):
    text = dump(scenario)
    bad = line_of(text, "id: sam1", "missiles:")
    lines = text.splitlines()
    lines[bad - 1] = "\t" + lines[bad - 1].lstrip()  # a tab cannot indent YAML
    text = "\n".join(lines) + "\n"
    p = only_problem(text)
    assert p.file == FILE
    assert p.line == bad
    assert "not valid YAML" in p.message


def test_unclosed_flow_sequence_is_a_problem_with_a_line(scenario):
    text = dump(scenario)
    bad = line_of(text, "id: sam1", "max_range_km:")
    lines = text.splitlines()
    lines[bad - 1] = lines[bad - 1].replace("max_range_km: 40", "max_range_km: [40")
    text = "\n".join(lines) + "\n"
    p = only_problem(text)
    assert p.line is not None and p.line >= bad
    assert "not valid YAML" in p.message


def test_two_documents_is_a_problem_with_a_line(scenario):
    text = dump(scenario) + "---\nname: other\n"
    p = only_problem(text)
    assert p.line == line_of(text, "---")
    assert "not valid YAML" in p.message


def test_non_scalar_key_is_a_problem_not_a_traceback(scenario):
    text = dump(scenario) + "? [a, b]\n: 1\n"
    problems = problems_of(text)
    assert problems[0].line == line_of(text, "? [a, b]")


# --- all at once --------------------------------------------------------------------------------


def test_several_errors_are_all_reported_at_once(scenario):
    scenario["fire_units"][0]["rnage_km"] = 40                  # unknown key
    scenario["sensors"][0]["range_km"] = "200 km"              # wrong unit
    scenario["fire_units"][0]["channels"] = "many"             # wrong type
    scenario["fire_units"][0]["command_post"] = "cp9"          # dangling id
    scenario["command_posts"][0]["orders_prob"] = 2            # probability
    scenario["threats"][0]["speed_mps"] = -5                   # out of range
    scenario["strikes"] = [{"target": "ghost", "time_s": 1}]   # dangling id
    scenario["sensors"].append({"id": "x1", "type": "no-such-radar", "lat": 50, "lon": 30,
                                "role": "search", "range_km": 50, "detect_rate": 0.1})
    text = dump(scenario)
    expected = {
        "fire_units[0].rnage_km": line_of(text, "id: sam1", "rnage_km:"),
        "sensors[0].range_km": line_of(text, "id: sr1", "range_km:"),
        "fire_units[0].channels": line_of(text, "id: sam1", "channels:"),
        "fire_units[0].command_post": line_of(text, "id: sam1", "command_post:"),
        "command_posts[0].orders_prob": line_of(text, "id: cp1", "orders_prob:"),
        "threats[0].speed_mps": line_of(text, "id: t1", "speed_mps:"),
        "strikes[0].target": line_of(text, "strikes:", "target:"),
        "sensors[2].type": line_of(text, "id: x1", "type:"),
    }
    problems = problems_of(text)
    assert len(problems) == len(expected), "\n".join(str(p) for p in problems)
    assert {p.field: p.line for p in problems} == expected
    assert len({p.line for p in problems}) == len(expected)  # all on distinct lines
    assert all(p.file == FILE for p in problems)
    assert [p.line for p in problems] == sorted(p.line for p in problems)  # in file order


def test_catalog_and_reference_errors_reported_with_yaml_duplicates(scenario):
    text = dump(scenario)
    pk_line = line_of(text, "id: sam1", "pk:")
    text = insert_line(text, pk_line, "pk: 0.5")
    text = text.replace("fire_control_radar: fcr1", "fire_control_radar: fcr2")
    text = text.replace("guidance: radar", "guidance: radar\n  type: nope")
    problems = problems_of(text)
    fields = {p.field for p in problems}
    assert {"fire_units[0].pk", "fire_units[0].fire_control_radar",
            "fire_units[0].type"} <= fields
    assert by_field(problems, "fire_units[0].type").line == line_of(text, "id: sam1", "type:")


# --- the command line -------------------------------------------------------------------------


def test_validate_command_reports_all_problems_and_exits_non_zero(tmp_path, scenario):
    pytest.importorskip("iadsim.cli", reason="iadsim.cli (the `iadsim validate` command) "
                        "does not exist yet")
    scenario["fire_units"][0]["pk"] = 1.3
    scenario["command_posts"][0]["orders_prob"] = 2
    scenario["fire_units"][0]["rnage_km"] = 3
    text = dump(scenario)
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, str(path))
    result = subprocess.run(
        [sys.executable, "-c", "from iadsim.cli import app; app()", "validate", str(path)],
        capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    out = result.stdout + result.stderr
    for p in info.value.problems:
        assert f"{p.line}" in out and p.field in out, (str(p), out)


def test_validate_command_accepts_a_valid_file(tmp_path, scenario):
    pytest.importorskip("iadsim.cli", reason="iadsim.cli (the `iadsim validate` command) "
                        "does not exist yet")
    path = tmp_path / "ok.yaml"
    path.write_text(dump(scenario), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-c", "from iadsim.cli import app; app()", "validate", str(path)],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("field", ["max_range_km", "pk", "launch_reliability", "lat"])
def test_true_or_false_is_not_a_number(scenario: dict[str, Any], field: str) -> None:
    scenario["fire_units"][0][field] = True
    text = dump(scenario)
    problem = only_problem(text)
    assert problem.field == f"fire_units[0].{field}"
    assert problem.line == line_of(text, "fire_units:", f"{field}: true")
    assert "not true/false" in problem.message


# --- shared readiness draws and fire doctrine ---------------------------------------------------


def test_shared_readiness_problems_are_located(scenario):
    scenario["groups"] = {"north": ["sam1", "sr1"], "south": ["sam1"], "empty": [],
                          "posts": ["cp1"]}
    scenario["shared_readiness"] = {"north": ["deployed", "deployed"], "south": ["deployed"],
                                    "empty": ["available"], "posts": ["trained"],
                                    "west": ["available"], "north2": ["broken"]}
    text = dump(scenario)
    problems = problems_of(text)
    message = {p.field: p.message for p in problems}
    assert "listed twice" in message["shared_readiness.north[1]"]
    assert "'sam1' is in groups 'north' and 'south'" in message["shared_readiness.south[0]"]
    assert "no members" in message["shared_readiness.empty"]
    assert "acts on none of the members" in message["shared_readiness.posts[0]"]
    assert "'west' is not a group" in message["shared_readiness.west"]
    assert "got 'broken'" in message["shared_readiness.north2[0]"]
    assert by_field(problems, "shared_readiness.south[0]").line == line_of(
        text, "shared_readiness:", "south:", "deployed")


def test_doctrine_problems_are_located(scenario):
    scenario["doctrine"] = [
        {"select": {"ids": ["sam1"]}, "engages": ["fixed_wing", "bomber"]},
        {"select": {"ids": ["sam1"]}, "engages": [["drone", "helicopter"], "drone"]},
        {"select": {"ids": ["ghost"]}, "engages": ["drone"]}]
    text = dump(scenario)
    problems = problems_of(text)
    assert "got 'bomber'" in by_field(problems, "doctrine[0].engages[1]").message
    assert "listed twice" in by_field(problems, "doctrine[1].engages").message
    assert "'ghost' is not the id" in by_field(problems, "doctrine[2].select.ids[0]").message


def test_a_doctrine_that_selects_no_fire_unit_is_an_error(scenario):
    from iadsim.model import compile_scenario

    scenario["doctrine"] = [{"select": {"kinds": ["sensor"]}, "engages": ["drone"]}]
    text = dump(scenario)
    with pytest.raises(ScenarioError) as info:
        compile_scenario(parse_scenario(text, FILE))
    (p,) = info.value.problems
    assert p.field == "doctrine[0].select" and "selects no fire unit" in p.message
    assert p.line == line_of(text, "doctrine:", "select:")


def test_a_waypoint_time_before_the_flight_can_get_there_is_an_error(scenario):
    from iadsim.model import compile_scenario

    # 111 km at 250 m/s takes ~445 s: a waypoint at time_s 100 after it would run time backwards
    scenario["threats"][0]["route"].append({"lat": 50.0, "lon": 30.1, "alt_m": 5000,
                                            "time_s": 100})
    text = dump(scenario)
    with pytest.raises(ScenarioError) as info:
        compile_scenario(parse_scenario(text, FILE))
    (p,) = info.value.problems
    assert p.field == "threats[0].route[2].time_s" and "must be after" in p.message
    assert p.line == line_of(text, "threats:", "route:", "lat:", "lat:", "lat:", "time_s:")


def test_a_structure_change_that_runs_a_route_backwards_names_the_value(scenario):
    from iadsim.model import compile_scenario
    from iadsim.parameter import ParameterError

    scenario["threats"][0]["route"].append({"lat": 50.0, "lon": 30.1, "alt_m": 5000,
                                            "time_s": 1000})
    model = compile_scenario(parse_scenario(dump(scenario), FILE))  # ~445 s, then 1000: fine
    with pytest.raises(ParameterError) as info:
        model.at(values={"threats.t1.speed_mps": 50})  # now ~2,220 s to the second waypoint
    (message,) = info.value.problems
    assert message.startswith("threats.t1.speed_mps=50: threats[0].route[2].time_s: ")


def test_a_repeated_waypoint_flown_at_speed_is_accepted(scenario):
    from iadsim.model import compile_scenario

    route = scenario["threats"][0]["route"]
    route.insert(1, dict(route[0]))  # a zero-length leg, no time_s
    assert compile_scenario(parse_scenario(dump(scenario), FILE)).structure.flights
