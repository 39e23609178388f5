"""The catalog of illustrative system types shipped as data (catalog.yaml).

Figures are public nominal values, rounded and labelled illustrative: a scenario names a type to
take its figures as defaults and overrides any of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

KIND_OF_LIST = {"sensors": "sensor", "fire_units": "fire_unit", "threats": "threat",
                "streams": "threat"}


@dataclass(frozen=True)
class CatalogType:
    """One illustrative system type: its kind, what it stands for, and its default fields."""

    name: str
    kind: str
    description: str
    source: str
    fields: dict[str, Any]


YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when PyYAML
# has it: the same nodes and marks, ten times faster; every input file is read with it


def _read() -> dict[str, CatalogType]:
    text = (resources.files("iadsim.scenario") / "catalog.yaml").read_text(encoding="utf-8")
    out = {}
    for name, entry in yaml.load(text, Loader=YAML_LOADER).items():
        entry = dict(entry)
        out[name] = CatalogType(name, entry.pop("kind"), entry.pop("description"),
                                entry.pop("source"), entry)
    return out


CATALOG: dict[str, CatalogType] = _read()
