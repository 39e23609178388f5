"""Read a scenario file: YAML → catalog defaults → pydantic model, with errors at file:line."""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

import annotated_types
import yaml
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from iadsim.scenario import schema
from iadsim.scenario.catalog import CATALOG, KIND_OF_LIST, YAML_LOADER
from iadsim.scenario.schema import Scenario

Path_ = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


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


COMPANIONS = ("evidence", "hypotheses")  # SCENARIO.evidence.yaml etc. beside a scenario


def builtin_scenarios() -> dict[str, Path]:
    """Names and paths of the scenarios shipped with iadsim (not their companion files)."""
    folder = resources.files("iadsim") / "scenarios"
    return {p.name.removesuffix(".yaml"): Path(str(p)) for p in folder.iterdir()
            if p.name.endswith(".yaml")
            and not p.name.endswith(tuple(f".{c}.yaml" for c in COMPANIONS))}


MAX_FILE_BYTES = 10 << 20  # larger input files are refused: no scenario needs them
MAX_NODES = 200_000  # YAML nodes, aliases expanded: beyond, a file is refused (alias bombs)
_TOO_DEEP = "nested too deeply (lists or mappings inside each other hundreds of levels down)"


def resolve(source: str | Path) -> Path:
    """A scenario path, or the path of the built-in scenario of that name."""
    path = Path(source)
    if path.exists() or str(source) not in builtin_scenarios():
        return path
    return builtin_scenarios()[str(source)]


def load_scenario(source: str | Path) -> Scenario:
    """Load and validate a scenario from a file path or a built-in name."""
    path = resolve(source)
    if not path.exists():
        raise ScenarioError([Problem(str(source), None, "", (
            "no such file, and not a built-in scenario; built-in: "
            + ", ".join(sorted(builtin_scenarios()))))])
    return parse_scenario(read_text(path), str(path))


def read_text(path: Path) -> str:
    """The text of an input file (scenario, evidence, hypotheses): a regular file of at most
    MAX_FILE_BYTES, in UTF-8; ScenarioError saying what is wrong otherwise."""
    def fail(message: str) -> ScenarioError:
        return ScenarioError([Problem(str(path), None, "", message)])

    if path.is_dir():
        raise fail("is a folder, not a file")
    if path.exists() and not path.is_file():
        raise fail("is not a regular file (a pipe, a device or a socket?): give a YAML file")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise fail(f"is {size / 2**20:.1f} MB; input files are limited to "
                       f"{MAX_FILE_BYTES >> 20} MB")
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise fail("no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"cannot read: {exc}") from None


def parse_scenario(text: str, filename: str = "<scenario>") -> Scenario:
    """Validate scenario YAML text; raises ScenarioError listing all problems at once."""
    raw, lines, problems = read_yaml(text, filename, "scenario")
    merged, type_problems = _apply_catalog(raw)
    problems += type_problems
    untyped = {path[:2] for path, _ in type_problems}  # their other problems would be noise
    model = validated(Scenario, merged, lines, filename, problems, check_references,
                      skip=lambda path: path[:2] in untyped)
    model._source = Source(filename, lines, text.splitlines())
    return model


def read_yaml(text: str, filename: str, what: str
              ) -> tuple[dict[str, Any], dict[Path_, int], list[tuple[Path_, str]]]:
    """(data, line of every key, duplicate-key problems) of a YAML mapping: the one reader of
    every file iadsim takes (scenarios, evidence, hypotheses)."""
    def fail(line: int | None, message: str) -> ScenarioError:
        return ScenarioError([Problem(filename, line, "", message)])

    if len(text) > MAX_FILE_BYTES:
        raise fail(None, f"longer than {MAX_FILE_BYTES >> 20} MB; input files are limited to it")
    try:  # parsed once: the node tree gives the lines, the data is built from it
        loader = YAML_LOADER(text)
        try:
            node = loader.get_single_node()
            lines, duplicates = _line_marks(node)
            raw = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        if "maximum nesting depth" in str(exc):  # libyaml's own limit
            raise fail(None, _TOO_DEEP) from None
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise fail(line, f"not valid YAML: {exc}") from None
    except _TooBig as exc:
        raise fail(exc.line, f"its aliases (*name) expand to more than {MAX_NODES:,} values: "
                   "refused (write the values out, or use fewer aliases)") from None
    except RecursionError:
        raise fail(None, _TOO_DEEP) from None
    except ValueError as exc:  # an integer too long for Python to read
        raise fail(None, f"cannot read a number: {exc}") from None
    if not isinstance(raw, dict):
        raise ScenarioError([Problem(filename, 1, "", f"expected a mapping of {what} fields")])
    return raw, lines, [(p, "duplicate key: each key may appear once") for p in duplicates]


def validated(model: type[M], data: dict[str, Any], lines: dict[Path_, int], filename: str,
              problems: list[tuple[Path_, str]],
              checks: Callable[[dict[str, Any]], list[tuple[Path_, str]]] | None = None,
              skip: Callable[[Path_], bool] = lambda path: False) -> M:
    """`data` as a `model`, or ScenarioError with every problem (the ones found before, the
    schema's, then `checks`') at its file:line, in line order."""
    result = None
    try:
        result = model.model_validate(data)
    except ValidationError as exc:
        problems = problems + [(path, message) for path, message in
                               _validation_problems(exc, data, lines, model) if not skip(path)]
    if checks is not None:
        problems = problems + checks(data)
    if problems or result is None:
        found = {Problem(filename, _line_of(lines, path), _dotted(path, data), message): None
                 for path, message in problems}  # a dict: unique, in the order found
        raise ScenarioError(sorted(found, key=lambda p: p.line or 0))
    return result


@dataclass(frozen=True)
class Source:
    """The file a scenario was read from: the line of every key, and its comments."""

    file: str
    lines: dict[Path_, int]
    text: list[str]

    def line(self, path: Path_) -> int | None:
        """The line of `path`, or of the nearest enclosing thing written in the file."""
        return _line_of(self.lines, path)

    def comment(self, path: Path_) -> str | None:
        """The comment at the end of the line where `path` itself is written, if any."""
        line = self.lines.get(path)
        return _comment(self.text[line - 1]) if line else None


def _comment(line: str) -> str | None:
    """The text of a YAML end-of-line comment (a # outside quotes, after a space)."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"" and line[:i].rstrip()[-1:] in ("", ":", "-", "[", "{", ","):
            quote = ch  # a quoted scalar starts (not an apostrophe inside a word)
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[i + 1:].strip() or None
    return None


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
    for key in ("sensors", "command_posts", "fire_units", "threats", "streams", "strikes",
                "electronic_attack"):
        ids[key] = set()
        for i, item in _items(raw, key):
            ident = item.get("id")
            if isinstance(ident, str) and ident in seen:
                problems.append(((key, i, "id"), f"duplicate id {ident!r} (also at "
                                 f"{_dotted(seen[ident])})"))
            if isinstance(ident, str):
                seen[ident] = (key, i)
                ids[key].add(ident)
    fire_control = {item["id"] for _, item in _items(raw, "sensors")
                    if item.get("role") == "fire_control" and isinstance(item.get("id"), str)}
    defence = ids["sensors"] | ids["command_posts"] | ids["fire_units"]
    groups = raw.get("groups") if isinstance(raw.get("groups"), dict) else {}

    def need(path: Path_, value: Any, allowed: set[str], what: str = _DEFENCE) -> None:
        if isinstance(value, str) and value not in allowed:
            hint = difflib.get_close_matches(value, sorted(allowed), n=1)
            extra = f"; did you mean {hint[0]!r}?" if hint else ""
            problems.append((path, f"{value!r} is not the id of any {what}{extra}"))

    for i, item in _items(raw, "sensors"):
        path = ("sensors", i, "command_post")
        need(path, item.get("command_post"), ids["command_posts"], "command post")
        if item.get("role") == "fire_control" and item.get("command_post") is not None:
            problems.append((path, "a fire_control radar serves the unit that names it; it does "
                             "not report to a command post (use a search radar for that)"))
    for i, item in _items(raw, "fire_units"):
        need(("fire_units", i, "command_post"), item.get("command_post"), ids["command_posts"],
             "command post")
        need(("fire_units", i, "fire_control_radar"), item.get("fire_control_radar"),
             fire_control, "sensor with role fire_control")
    for i, item in _items(raw, "strikes"):
        need(("strikes", i, "target"), item.get("target"), defence)
    for name, members in groups.items():
        for j, member in enumerate(_list(members)):
            need(("groups", name, j), member, defence)
    group_readiness = raw.get("group_readiness")
    for name in group_readiness if isinstance(group_readiness, dict) else {}:
        need(("group_readiness", name), name, set(groups), "group")
    kind_of = {eid: kind for key, kind in (("sensors", "sensor"), ("command_posts",
               "command_post"), ("fire_units", "fire_unit")) for eid in ids[key]}
    problems += _shared_problems(raw.get("shared_readiness"), groups, kind_of)
    selections: list[tuple[Path_, Any]] = [
        (("electronic_attack", i, "targets"), item.get("targets"))
        for i, item in _items(raw, "electronic_attack")]
    selections += [(("doctrine", i, "select"), item.get("select"))
                   for i, item in _items(raw, "doctrine")]
    profiles = raw.get("profiles") if isinstance(raw.get("profiles"), dict) else {}
    for name, profile in profiles.items():
        for j, override in enumerate(_list(profile.get("overrides"))
                                     if isinstance(profile, dict) else []):
            if isinstance(override, dict):
                selections.append((("profiles", name, "overrides", j, "select"),
                                   override.get("select")))
    types = {item.get("type") for key in KIND_OF_LIST for _, item in _items(raw, key)}
    for path, sel in selections:
        if isinstance(sel, dict):
            for j, value in enumerate(_list(sel.get("ids"))):
                need((*path, "ids", j), value, defence)
            for j, value in enumerate(_list(sel.get("groups"))):
                need((*path, "groups", j), value, set(groups), "group")
            for j, value in enumerate(_list(sel.get("types"))):
                need((*path, "types", j), value, {t for t in types if isinstance(t, str)},
                     "type used in this scenario")
    return problems


_DEFENCE = "sensor, command post or fire unit"


def _shared_problems(shared: Any, groups: dict[str, Any], kind_of: dict[str, str]
                     ) -> list[tuple[Path_, str]]:
    """Shared readiness draws (MODEL.md): of an existing, non-empty group, on factors that act
    on some member, and at most one group sharing a given factor per entity."""
    problems: list[tuple[Path_, str]] = []
    sharer: dict[tuple[str, str], str] = {}  # (entity, factor) → the group that shares it
    for name, factors in shared.items() if isinstance(shared, dict) else ():
        if name not in groups:
            hint = difflib.get_close_matches(str(name), sorted(groups), n=1)
            problems.append((("shared_readiness", name), f"{name!r} is not a group"
                             + (f"; did you mean {hint[0]!r}?" if hint else "")))
            continue
        members = [m for m in _list(groups[name]) if isinstance(m, str) and m in kind_of]
        if not members:
            problems.append((("shared_readiness", name),
                             f"group {name!r} has no members: there is nothing to share"))
            continue
        for j, factor in enumerate(_list(factors)):
            if not isinstance(factor, str):
                continue
            path: Path_ = ("shared_readiness", name, j)
            if factor in _list(factors)[:j]:
                problems.append((path, f"{factor!r} is listed twice"))
                continue
            acting = [m for m in members if factor in schema.FACTORS_OF_KIND[kind_of[m]]]
            if factor in schema.READINESS_FACTORS and not acting:
                problems.append((path, f"{factor!r} acts on none of the members of {name!r} "
                                 f"(it acts on {_kinds_with(factor)})"))
            for m in acting:
                other = sharer.setdefault((m, factor), name)
                if other != name:
                    problems.append((path, f"{m!r} is in groups {other!r} and {name!r}, which "
                                     f"both share {factor!r}: an entity may share a factor "
                                     "with one group only"))
    return problems


def _kinds_with(factor: str) -> str:
    return " and ".join(k.replace("_", " ") + "s" for k, names in
                        schema.FACTORS_OF_KIND.items() if factor in names)


def _items(raw: dict[str, Any], key: str) -> Iterable[tuple[int, dict[str, Any]]]:
    items = raw.get(key)
    if isinstance(items, list):
        yield from ((i, x) for i, x in enumerate(items) if isinstance(x, dict))


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


# --- locating problems in the file ----------------------------------------------------------


def _line_marks(node: yaml.Node | None) -> tuple[dict[Path_, int], list[Path_]]:
    """Line of every key and list item in the YAML, and the paths of duplicate keys."""
    lines: dict[Path_, int] = {}
    duplicates: list[Path_] = []
    keys = yaml.constructor.SafeConstructor()  # keys as safe_load reads them: `1:` is 1

    count = 0

    def walk(n: yaml.Node, path: Path_) -> None:
        nonlocal count
        count += 1
        if count > MAX_NODES:
            raise _TooBig(n.start_mark.line + 1)
        if isinstance(n, yaml.MappingNode):
            seen: set[Any] = set()
            for k, v in n.value:
                if not isinstance(k, yaml.ScalarNode) or k.tag == "tag:yaml.org,2002:merge":
                    continue  # a list as a key is an error safe_load reports
                sub = (*path, keys.construct_object(k))
                if sub[-1] in seen:
                    duplicates.append(sub)
                seen.add(sub[-1])
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


class _TooBig(Exception):
    def __init__(self, line: int):
        self.line = line


def _line_of(lines: dict[Path_, int], path: Path_) -> int | None:
    """The line of `path`, or of the nearest enclosing thing written in the file."""
    return next((lines[path[:n]] for n in range(len(path), -1, -1) if path[:n] in lines), None)


def _value_at(data: Any, path: Path_) -> Any:
    for part in path:
        try:
            data = data[part] if isinstance(data, (dict, list)) else None
        except (KeyError, IndexError, TypeError):
            data = None
    return data


def _dotted(path: Path_, data: Any = None) -> str:
    """`fire_units[0].pk`; a number as a mapping key is a name (`groups.1`), not an index."""
    out = ""
    for n, part in enumerate(path):
        index = isinstance(part, int) and not isinstance(_value_at(data, path[:n]), dict)
        out += f"[{part}]" if index else (f".{part}" if out else str(part))
    return out


# --- what a pydantic error is about -----------------------------------------------------------


@dataclass
class _Where:
    """What a pydantic error location points at, in the data and in the schema."""

    model: type[BaseModel]  # the model whose key is path[-1]
    path: list[Any] = field(default_factory=list)  # in the data: no union branch names
    name: str = ""  # path[-1] if it is a field of that model
    declared: Any = None  # that field's declared type
    leaf: Any = None  # the type of the value at the end (of the key, for a key error)
    key: bool = False  # the error is about a mapping key, not its value
    branches: list[tuple[Path_, bool]] = field(default_factory=list)  # at path: a mapping one?


def _locate(loc: tuple[Any, ...], root: type[BaseModel]) -> _Where:
    """Walk the schema from `root` along a pydantic error location."""
    where = _Where(root, leaf=root)
    tp: Any = root
    key_type: Any = None
    for part in loc:
        tp = _strip(tp)[0]
        if part == "[key]":
            where.key, tp = True, key_type
            break
        if _members(tp):  # a union: `part` names one of its branches
            tp = _branch(_members(tp), str(part))
            where.branches.append((tuple(where.path), _is_mapping(tp)))
            continue
        where.path.append(part)
        if _is_model(tp):
            where.model = tp
            if part not in _fields(tp):  # an unknown key
                return where
            where.name, tp = part, _fields(tp)[part]
            where.declared = tp
        elif get_origin(tp) is list:
            tp = get_args(tp)[0]
        elif get_origin(tp) is dict:
            key_type, tp = get_args(tp)
        else:
            tp = Any
    where.leaf = tp
    return where


def _strip(tp: Any) -> tuple[Any, list[Any]]:
    """`tp` without Annotated (whose metadata is returned, flattened) and without `| None`."""
    meta: list[Any] = []
    while True:
        if get_origin(tp) is Annotated:
            for m in tp.__metadata__:
                meta += [m, *m.metadata] if isinstance(m, FieldInfo) else [m]
            tp = get_args(tp)[0]
        elif len(_members(tp)) == 1:
            tp = _members(tp)[0]
        else:
            return tp, meta


def _members(tp: Any) -> list[Any]:
    union = isinstance(tp, UnionType) or get_origin(tp) is Union
    return [m for m in get_args(tp) if m is not type(None)] if union else []


def _branch(members: list[Any], tag: str) -> Any:
    """The union member that pydantic calls `tag` in error locations: 'Area',
    'function-after[_ordered(), Uniform]', 'uniform' (a discriminator value),
    'tagged-union[…]', 'dict[…]', or else a scalar one ('float', 'constrained-float', …)."""
    for member in members:
        base = _strip(member)[0]
        if _is_model(base):
            tags = {base.__name__, *(v for t in _fields(base).values() for v in _literals(t))}
            if tag in tags or tag.endswith(f" {base.__name__}]"):
                return member
        elif _members(base) and tag.startswith("tagged-union["):
            return member
        elif get_origin(base) in (list, dict) and tag.startswith(f"{get_origin(base).__name__}["):
            return member
    return next((m for m in members if not _is_mapping(m)), Any)


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _flat(tp: Any) -> list[Any]:
    """The types `tp` is a union of, nested unions flattened, Annotated and None dropped."""
    base = _strip(tp)[0]
    return [b for m in _members(base) for b in _flat(m)] if _members(base) else [base]


def _is_mapping(tp: Any) -> bool:
    return all(get_origin(b) is dict or _is_model(b) for b in _flat(tp))


def _literals(tp: Any) -> tuple[Any, ...]:
    return tuple(v for b in _flat(tp) if get_origin(b) is Literal for v in get_args(b))


def _is_probability(tp: Any) -> bool:
    """Annotated like schema.Probability: ge=0 and le=1."""
    meta = _strip(tp)[1]
    return (any(isinstance(m, annotated_types.Ge) and m.ge == 0 for m in meta)
            and any(isinstance(m, annotated_types.Le) and m.le == 1 for m in meta))


@functools.cache
def _fields(model: type[BaseModel]) -> dict[str, Any]:
    """The keys a model accepts (field names, and aliases such as `class`) → declared type."""
    hints = get_type_hints(model, include_extras=True)
    return {key: hints[name] for name, info in model.model_fields.items()
            for key in {name, info.alias or name}}


# --- saying it --------------------------------------------------------------------------------


def _validation_problems(exc: ValidationError, data: dict[str, Any],
                         lines: dict[Path_, int], root: type[BaseModel]
                         ) -> list[tuple[Path_, str]]:
    """One problem a field; of a union's branches, the one that fits: a mapping or not."""
    located = [(err, _locate(err["loc"], root)) for err in exc.errors()]

    def fits(where: _Where) -> bool:
        return all(isinstance(_value_at(data, at), dict) == mapping
                   for at, mapping in where.branches)

    fitting = {at for _, where in located if fits(where) for at, _ in where.branches}
    out: dict[Path_, str] = {}
    for err, where in located:
        if not fits(where) and any(at in fitting for at, _ in where.branches):
            continue
        path = tuple(where.path)
        if (err.get("ctx") or {}).get("at"):  # a model check about one of its fields
            candidates = [(*path, *rel) for rel in err["ctx"]["at"]]
            path = next((c for c in candidates if c in lines), candidates[0])
        out.setdefault(path, _explain(err, where))
    return list(out.items())


_UNIT_SUFFIXES = {"_km": "kilometres", "_m": "metres", "_s": "seconds", "_mps": "metres per second",
                  "_m2": "square metres", "rate": "events per second"}
_READ_AS = {"int": "a number", "float": "a number", "bool": "true or false", "NoneType": "null"}


def _explain(err: Any, where: _Where) -> str:
    """A pydantic error, said for the person who wrote the file."""
    kind, value, last = err["type"], err.get("input"), where.path[-1] if where.path else ""
    if kind == "invalid_key" or (where.key and not isinstance(value, str)):
        key = value if where.key else last
        read_as = _READ_AS.get(type(key).__name__, type(key).__name__)
        return f"the key {key!r} is read as {read_as}, not a name; quote it if it is one"
    if kind == "extra_forbidden":
        hint = difflib.get_close_matches(str(last), sorted(_fields(where.model)), n=1)
        return f"unknown key {last!r}" + (f"; did you mean {hint[0]!r}?" if hint else "")
    if kind == "missing":
        return "required field is missing"
    unit = "seconds" if schema.Duration in (where.declared, *get_args(where.declared)) else \
        next((u for s, u in _UNIT_SUFFIXES.items() if where.name.endswith(s)), None)
    if kind.endswith(("_parsing", "_type")) and isinstance(value, str) and \
            re.match(r"^\s*[-+]?\d+(\.\d*)?\s*[^\d\s.]", value):  # a number and a unit
        if _is_probability(where.leaf):
            return f"write a probability as a plain number between 0 and 1 (got {value!r})"
        if unit:
            return (f"wrong unit: {value!r}; write a plain number in {unit} "
                    f"(the unit is in the field name {where.name!r})")
    message = err["msg"].removeprefix("Value error, ")
    if kind.startswith(("greater", "less")) and _is_probability(where.leaf):
        message = "a probability must be between 0 and 1"
    if where.key:
        message = f"invalid key: {message}"
    if not isinstance(value, (dict, list)):
        message += f" (got {value!r})"
    hint = (difflib.get_close_matches(value, [str(v) for v in _literals(where.leaf)], n=1)
            if kind == "literal_error" and isinstance(value, str) else [])
    return message + (f"; did you mean {hint[0]!r}?" if hint else "")
