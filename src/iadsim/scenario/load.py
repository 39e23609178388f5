"""Read a scenario file: YAML → catalog defaults → pydantic model, with errors at file:line."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from iadsim.scenario import schema
from iadsim.scenario.catalog import CATALOG, KIND_OF_LIST
from iadsim.scenario.schema import Scenario

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario file, located for the person who wrote it."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field or '(top level)'}: {self.message}"


class ScenarioError(Exception):
    """A scenario file could not be loaded; `problems` lists every reason found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def builtin_scenarios() -> dict[str, Path]:
    """Names and paths of the scenarios shipped with iadsim."""
    folder = resources.files("iadsim") / "scenarios"
    return {p.name.removesuffix(".yaml"): Path(str(p)) for p in folder.iterdir()
            if p.name.endswith(".yaml")}


def resolve(source: str | Path) -> Path:
    """A scenario path, or the path of the built-in scenario of that name."""
    path = Path(source)
    if path.is_file():
        return path
    builtins = builtin_scenarios()
    if str(source) in builtins:
        return builtins[str(source)]
    raise ScenarioError([Problem(str(source), None, "", (
        "no such file, and not a built-in scenario; built-in: " + ", ".join(sorted(builtins))))])


def load_scenario(source: str | Path) -> Scenario:
    """Load and validate a scenario from a file path or a built-in name."""
    path = resolve(source)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([Problem(str(path), None, "", f"cannot read: {exc}")]) from None
    return parse_scenario(text, str(path))


def parse_scenario(text: str, filename: str = "<scenario>") -> Scenario:
    """Validate scenario YAML text; raises ScenarioError listing all problems at once."""
    try:
        lines, duplicates = _line_marks(yaml.compose(text, Loader=yaml.SafeLoader))
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise ScenarioError([Problem(filename, line, "", f"not valid YAML: {exc}")]) from None
    if not isinstance(raw, dict):
        raise ScenarioError([Problem(filename, 1, "", "expected a mapping of scenario fields")])

    def at(path: Path_, message: str) -> Problem:
        return Problem(filename, _line_of(lines, path), _dotted(path), message)

    problems = [at(p, "duplicate key: each key may appear once") for p in duplicates]
    merged, type_problems = _apply_catalog(raw)
    problems += [at(p, m) for p, m in type_problems]
    model = None
    try:
        model = Scenario.model_validate(merged)
    except ValidationError as exc:
        reported: set[Path_] = set()
        for err in exc.errors():
            path = _data_path(merged, err["loc"])
            if path not in reported:  # one message a field: the first union branch's
                reported.add(path)
                problems.append(at(path, _explain(err)))
    problems += [at(p, m) for p, m in check_references(merged)]
    if problems or model is None:
        raise ScenarioError(_unique(problems))
    return model


# --- catalog types ---------------------------------------------------------------------------


def _apply_catalog(raw: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[Path_, str]]]:
    """Fill each entity's missing fields from its catalog type; the entity's own values win."""
    merged = dict(raw)
    problems: list[tuple[Path_, str]] = []
    for key, kind in KIND_OF_LIST.items():
        items = raw.get(key)
        if not isinstance(items, list):
            continue
        out = []
        for i, item in enumerate(items):
            if isinstance(item, dict) and isinstance(item.get("type"), str):
                entry = CATALOG.get(item["type"])
                if entry is None or entry.kind != kind:
                    known = sorted(n for n, e in CATALOG.items() if e.kind == kind)
                    problems.append(((key, i, "type"),
                                     f"unknown {kind} type {item['type']!r}; the catalog has: "
                                     + ", ".join(known)))
                else:
                    item = {**entry.fields, **item}
            out.append(item)
        merged[key] = out
    return merged, problems


# --- cross-references ----------------------------------------------------------------------


def check_references(raw: dict[str, Any]) -> list[tuple[Path_, str]]:
    """Dangling or duplicate ids, and references to the wrong kind of entity."""
    problems: list[tuple[Path_, str]] = []
    ids: dict[str, set[str]] = {}
    seen: dict[str, Path_] = {}
    for key in ("sensors", "command_posts", "fire_units", "threats", "streams"):
        ids[key] = set()
        for i, item in _items(raw, key):
            ident = item.get("id")
            if not isinstance(ident, str):
                continue
            if ident in seen:
                problems.append(((key, i, "id"), f"duplicate id {ident!r} (also at "
                                 f"{_dotted(seen[ident])})"))
            seen[ident] = (key, i)
            ids[key].add(ident)
    fire_control = {item.get("id") for _, item in _items(raw, "sensors")
                    if item.get("role") == "fire_control"}
    defence = ids["sensors"] | ids["command_posts"] | ids["fire_units"]
    groups = raw.get("groups") if isinstance(raw.get("groups"), dict) else {}

    def need(path: Path_, value: Any, allowed: set[str], what: str) -> None:
        if isinstance(value, str) and value not in allowed:
            hint = difflib.get_close_matches(value, sorted(allowed), n=1)
            extra = f"; did you mean {hint[0]!r}?" if hint else ""
            problems.append((path, f"{value!r} is not the id of any {what}{extra}"))

    for i, item in _items(raw, "sensors"):
        need(("sensors", i, "command_post"), item.get("command_post"), ids["command_posts"],
             "command post")
        if item.get("role") == "fire_control" and item.get("command_post") is not None:
            problems.append((("sensors", i, "command_post"),
                             "a fire_control radar serves the unit that names it; it does not "
                             "report to a command post (use a search radar for that)"))
    for i, item in _items(raw, "fire_units"):
        need(("fire_units", i, "command_post"), item.get("command_post"), ids["command_posts"],
             "command post")
        need(("fire_units", i, "fire_control_radar"), item.get("fire_control_radar"),
             {x for x in fire_control if isinstance(x, str)}, "sensor with role fire_control")
    for i, item in _items(raw, "strikes"):
        need(("strikes", i, "target"), item.get("target"), defence,
             "sensor, command post or fire unit")
    for name, members in groups.items():
        if isinstance(members, list):
            for j, member in enumerate(members):
                need(("groups", name, j), member, defence, "sensor, command post or fire unit")
    if isinstance(raw.get("group_readiness"), dict):
        for name in raw["group_readiness"]:
            need(("group_readiness", name), name, set(groups), "group")
    selections: list[tuple[Path_, Any]] = [
        (("electronic_attack", i, "targets"), item.get("targets"))
        for i, item in _items(raw, "electronic_attack")]
    if isinstance(raw.get("profiles"), dict):
        for name, profile in raw["profiles"].items():
            if isinstance(profile, dict):
                for j, ov in enumerate(profile.get("overrides") or []):
                    if isinstance(ov, dict):
                        selections.append((("profiles", name, "overrides", j, "select"),
                                           ov.get("select")))
    types = {item.get("type") for key in KIND_OF_LIST for _, item in _items(raw, key)}
    for path, sel in selections:
        if not isinstance(sel, dict):
            continue
        for j, value in enumerate(_list(sel.get("ids"))):
            need((*path, "ids", j), value, defence, "sensor, command post or fire unit")
        for j, value in enumerate(_list(sel.get("groups"))):
            need((*path, "groups", j), value, set(groups), "group")
        for j, value in enumerate(_list(sel.get("types"))):
            need((*path, "types", j), value, {t for t in types if isinstance(t, str)},
                 "type used in this scenario")
    return problems


def _items(raw: dict[str, Any], key: str) -> Iterable[tuple[int, dict[str, Any]]]:
    items = raw.get(key)
    if isinstance(items, list):
        yield from ((i, x) for i, x in enumerate(items) if isinstance(x, dict))


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


# --- locating errors -------------------------------------------------------------------------


def _line_marks(node: yaml.Node | None) -> tuple[dict[Path_, int], list[Path_]]:
    """Line of every key and list item in the YAML, and the paths of duplicate keys."""
    lines: dict[Path_, int] = {}
    duplicates: list[Path_] = []

    def walk(n: yaml.Node, path: Path_) -> None:
        if isinstance(n, yaml.MappingNode):
            keys: set[Any] = set()
            for k, v in n.value:
                key = k.value
                sub = (*path, key)
                if key in keys:
                    duplicates.append(sub)
                keys.add(key)
                lines[sub] = k.start_mark.line + 1
                walk(v, sub)
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                lines[(*path, i)] = v.start_mark.line + 1
                walk(v, (*path, i))

    if node is not None:
        lines[()] = node.start_mark.line + 1
        walk(node, ())
    return lines, duplicates


def _data_path(data: Any, loc: tuple[Any, ...]) -> Path_:
    """Drop the parts of a pydantic error location that name union members, not data."""
    path: list[str | int] = []
    for part in loc:
        if isinstance(data, dict) and part in data:
            data = data[part]
            path.append(part)
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
            path.append(part)
        elif isinstance(data, dict) and isinstance(part, str) and part.isidentifier() and \
                part in _FIELD_NAMES:
            path.append(part)  # a missing field: it has no data, but it has a name
            data = None
    return tuple(path)


def _line_of(lines: dict[Path_, int], path: Path_) -> int | None:
    for n in range(len(path), -1, -1):
        if path[:n] in lines:
            return lines[path[:n]]
    return None


def _dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _all_field_names() -> set[str]:
    names: set[str] = set()
    for obj in vars(schema).values():
        if isinstance(obj, type) and issubclass(obj, BaseModel):
            for name, field in obj.model_fields.items():
                names.add(field.alias or name)
    return names


_FIELD_NAMES = _all_field_names()
_UNIT_SUFFIXES = {"_km": "kilometres", "_m": "metres", "_s": "seconds", "_mps": "metres per second",
                  "_m2": "square metres", "rate": "events per second"}


def _explain(err: Any) -> str:
    """A pydantic error, said for the person who wrote the file."""
    kind, loc, value = err["type"], err["loc"], err.get("input")
    field = next((p for p in reversed(loc) if isinstance(p, str) and p in _FIELD_NAMES), "")
    if kind == "extra_forbidden":
        hint = difflib.get_close_matches(str(loc[-1]), sorted(_FIELD_NAMES), n=1)
        return f"unknown key {loc[-1]!r}" + (f"; did you mean {hint[0]!r}?" if hint else "")
    if kind == "missing":
        return "required field is missing"
    if isinstance(value, str) and re.match(r"^\s*[-+]?\d+(\.\d*)?\s*[^\d\s.]", value):
        unit = next((u for s, u in _UNIT_SUFFIXES.items() if field.endswith(s)), "the unit")
        return (f"wrong unit: {value!r}; write a plain number in {unit} "
                f"(the unit is in the field name {field!r})")
    message = err["msg"]
    if kind.startswith(("greater", "less")) and field in {"pk", "available", "deployed",
                                                         "emitting", "connected", "trained",
                                                         "orders_prob", "p_destroy",
                                                         "launch_reliability"}:
        message = "a probability must be between 0 and 1"
    message = message.removeprefix("Value error, ")
    shown = value if not isinstance(value, (dict, list)) else None
    return f"{message} (got {shown!r})" if shown is not None else message


def _unique(problems: list[Problem]) -> list[Problem]:
    out: list[Problem] = []
    for p in problems:
        if p not in out:
            out.append(p)
    return sorted(out, key=lambda p: (p.line or 0))
