"""What a run records (MODEL.md, "What a run records"), the same for every engine, and the
named observables read from it."""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from iadsim.compile import CompiledScenario
from iadsim.rules import HELD, LINKS, PASSAGE_LINKS, UNIT_COUNTS
from iadsim.scenario.schema import THREAT_CLASSES
from iadsim.tables import ParamTable

__all__ = ["LINKS", "TABLES", "UNIT_COUNTS", "Estimate", "Replication", "Results", "RunInfo",
           "UnknownObservable", "run_info"]

DEFAULT_OBSERVABLES = (
    "threats", "threats_killed", "leakers", "engagements", "launches",
    "launches[guidance=radar]", "launches[guidance=infrared]", "launch_failures", "misses",
    "missiles_fired", *LINKS,
)
_FILTER_KEYS = ("guidance", "unit_type", "id")
_FLIGHT_KEYS = ("flight", "class")
# filter values that are always valid, whether or not this scenario has any
_ALWAYS_KNOWN = {"guidance": ("radar", "infrared"), "class": THREAT_CLASSES}
_NAME = re.compile(r"^(?P<base>[a-z_]+)(\[((?P<key>[a-z_]+)=)?(?P<value>[^\]=]+)\])?$")
Z95 = 1.959963984540054  # the normal quantile of a two-sided 95% interval


@dataclass(frozen=True)
class RunInfo:
    """Which scenario, profile, seed and engine produced the results, and the labels of units,
    flights and entities that the arrays index."""

    scenario: str
    profile: str
    seed: int
    engine: str
    unit_ids: tuple[str, ...]
    unit_types: tuple[str, ...]
    unit_guidance: tuple[str, ...]
    flight_ids: tuple[str, ...]
    flight_classes: tuple[str, ...]
    entity_ids: tuple[str, ...]  # sensors, then command posts, then fire units
    settings: Mapping[str, Any] = field(default_factory=dict)  # values set beyond the profile


def run_info(cs: CompiledScenario, table: ParamTable, seed: int, engine: str,
             settings: Mapping[str, Any] | None = None) -> RunInfo:
    """Labels for the results of running a table of rows on this compiled scenario."""
    return RunInfo(
        scenario=cs.name, profile=",".join(dict.fromkeys(table.labels)) or "table", seed=seed,
        engine=engine, unit_ids=tuple(u.id for u in cs.units),
        unit_types=tuple(u.unit_type for u in cs.units),
        unit_guidance=tuple(u.guidance for u in cs.units),
        flight_ids=tuple(f.id for f in cs.flights),
        flight_classes=tuple(f.threat_class for f in cs.flights),
        entity_ids=tuple(e.id for e in (*cs.sensors, *cs.command_posts, *cs.units)),
        settings=dict(settings or {}))


class UnknownObservable(ValueError):
    """An observable name that the results cannot answer."""


@dataclass(frozen=True)
class Estimate:
    """A mean over replications with its 95% confidence interval and standard error."""

    mean: float
    ci_low: float
    ci_high: float
    se: float

    @classmethod
    def of(cls, values: np.ndarray) -> Estimate:
        """The mean of per-replication values, with a normal 95% interval (undefined for one
        replication)."""
        mean = float(np.mean(values)) if len(values) else math.nan
        return cls.from_moments(len(values), mean, float(((values - mean) ** 2).sum()))

    @classmethod
    def from_moments(cls, n: int, mean: float, m2: float) -> Estimate:
        """From the count, mean and sum of squared deviations of n values."""
        if n < 2:
            return cls(float(mean) if n else math.nan, math.nan, math.nan, math.nan)
        se = float(np.sqrt(m2 / (n - 1) / n))
        return cls(float(mean), float(mean - Z95 * se), float(mean + Z95 * se), se)

    def as_dict(self) -> dict[str, float | None]:
        """Plain data for JSON; an interval that cannot be computed (one run) is None."""
        return {k: (None if v != v else v) for k, v in
                (("mean", self.mean), ("ci_low", self.ci_low), ("ci_high", self.ci_high))}


@dataclass
class Replication:
    """One replication's record, filled in by the reference engine."""

    unit_counts: np.ndarray  # (len(UNIT_COUNTS), units)
    destroyed: np.ndarray  # (entities,) bool
    threat_flight: list[int] = field(default_factory=list)
    threat_start: list[float] = field(default_factory=list)
    killer: list[int] = field(default_factory=list)  # unit index, -1: leaked
    kill_time: list[float] = field(default_factory=list)
    arrived_first: list[bool] = field(default_factory=list)  # a leaker whose last engagement
    # resolved after it reached the end of its route
    passages: list[tuple[int, int, int, float, float]] = field(default_factory=list)
    # (threat, unit, link index, envelope entry, envelope exit) of each failed passage, and of
    # each passage held by the fire doctrine (link index rules.HELD)


@dataclass
class Results:
    """Outcomes of the rows of a parameter table (`table`), as arrays over rows plus long
    tables whose `row` column indexes them. `observable(name)` reads one per row."""

    info: RunInfo
    table: ParamTable  # the rows that were run, with their replications and parameters
    unit_counts: np.ndarray  # (R, len(UNIT_COUNTS), units)
    flight_threats: np.ndarray  # (R, flights) threats flown
    flight_killed: np.ndarray  # (R, flights) threats killed
    unit_links: np.ndarray  # (R, units, len(LINKS)) failed passages by first broken link
    deepest: np.ndarray  # (R, len(LINKS)) unkilled threats by deepest link (MODEL.md)
    destroyed: np.ndarray  # (R, entities) destroyed by strikes
    threat_rows: dict[str, np.ndarray]  # row, threat, flight, start_s, killer, kill_time_s,
    # deepest_link (−1: none, or killed), arrived_first
    passage_rows: dict[str, np.ndarray]  # row, threat, unit, link, entry_s, exit_s

    @property
    def runs(self) -> int:
        return len(self.unit_counts)

    @property
    def threats(self) -> np.ndarray:
        """(R,) threats flown."""
        return self.flight_threats.sum(axis=1, dtype=np.int32)

    @property
    def killed(self) -> np.ndarray:
        """(R,) threats killed."""
        return self.flight_killed.sum(axis=1, dtype=np.int32)

    @property
    def links(self) -> np.ndarray:
        """(R, len(LINKS)) failed passages by first broken link, over all units."""
        # (einsum: NumPy's sum over a short middle or inner axis is 4× slower)
        return np.einsum("rul->rl", self.unit_links).astype(np.int32, copy=False)

    @property
    def replication(self) -> np.ndarray:
        """Each row's replication index (its random numbers)."""
        return self.table.replication

    @property
    def leakers(self) -> np.ndarray:
        return self.threats - self.killed

    # --- reading ----------------------------------------------------------------------------

    def observable(self, name: str) -> np.ndarray:
        """Per-row values of a named observable, e.g. `launches[guidance=radar]`,
        `channel[id=s300-1]`, `leakers[class=helicopter]`, `destroyed[id=buk-carlota]`."""
        m = _NAME.match(name.strip())
        if not m:
            raise UnknownObservable(f"cannot read observable {name!r}; expected NAME or "
                                    f"NAME[key=value]")
        base, key, value = m["base"], m["key"], m["value"]
        if base == "deepest" and key is None and value in LINKS:
            return self.deepest[:, LINKS.index(value)].astype(float)
        if key is None and value is not None:
            raise UnknownObservable(f"{name!r}: write a filter as [key=value]; only "
                                    "deepest[LINK] takes a bare name")
        if base in ("threats", "threats_killed", "leakers"):
            flights = self._select(name, key, value, _FLIGHT_KEYS, {
                "flight": self.info.flight_ids, "class": self.info.flight_classes})
            flown = self.flight_threats[:, flights].sum(axis=1)
            killed = self.flight_killed[:, flights].sum(axis=1)
            return {"threats": flown, "threats_killed": killed,
                    "leakers": flown - killed}[base].astype(float)
        if base == "destroyed" and key == "id" and value in self.info.entity_ids:
            return self.destroyed[:, self.info.entity_ids.index(value)].astype(float)
        if base in UNIT_COUNTS or base in LINKS:
            units = self._select(name, key, value, _FILTER_KEYS, {
                "guidance": self.info.unit_guidance, "unit_type": self.info.unit_types,
                "id": self.info.unit_ids})
            if base in LINKS:
                return self.unit_links[:, units, LINKS.index(base)].sum(axis=1).astype(float)
            return self.unit_counts[:, UNIT_COUNTS.index(base), units].sum(axis=1).astype(float)
        raise UnknownObservable(
            f"unknown observable {name!r}; known: threats, threats_killed, leakers (with "
            f"[flight=…] or [class=…]), {', '.join(UNIT_COUNTS)} and the links "
            f"{', '.join(LINKS)} (with [guidance=…], [unit_type=…] or [id=…]), "
            "destroyed[id=…], and deepest[LINK]")

    @staticmethod
    def _select(name: str, key: str | None, value: str | None, keys: tuple[str, ...],
                labels: dict[str, tuple[str, ...]]) -> np.ndarray:
        """Which columns a `[key=value]` filter keeps (all without one)."""
        if key is None:
            return np.ones(len(next(iter(labels.values()))), dtype=bool)
        if key not in keys:
            raise UnknownObservable(f"{name!r}: filter by one of {', '.join(keys)}")
        known = _ALWAYS_KNOWN.get(key) or tuple(dict.fromkeys(labels[key]))
        if value not in known:
            raise UnknownObservable(f"{name!r}: no {key} {value!r} here; known: "
                                    f"{', '.join(known) or 'none'}")
        return np.array([label == value for label in labels[key]], dtype=bool)

    def links_by_unit_type(self) -> dict[str, dict[str, float]]:
        """Failed passages per run by first broken link, for each unit type."""
        types = self.info.unit_types
        per_run = self.unit_links.sum(axis=0) / max(self.runs, 1)  # (units, links)
        return {t: dict(zip(LINKS, per_run[[u == t for u in types]].sum(axis=0).tolist(),
                            strict=True)) for t in dict.fromkeys(types)}

    def summary(self, observables: Sequence[str] = DEFAULT_OBSERVABLES) -> dict[str, Estimate]:
        """Mean and 95% interval of each observable over the rows."""
        return {name: Estimate.of(self.observable(name)) for name in observables}

    def tables(self) -> dict[str, Any]:
        """The results as flat Arrow tables: replications, units, threats, passages (long
        format; the parameters that vary between rows are columns of `replications`)."""
        return _arrow_tables(self)

    def to_arrow(self, name: str = "replications") -> Any:
        """One of `tables()`, by default one row per replication with every count."""
        return self.tables()[name]

    # --- building ---------------------------------------------------------------------------

    def labelled(self, table: ParamTable) -> Results:
        """The same results, as the outcomes of these rows."""
        return replace(self, table=table)

    def take(self, index: np.ndarray) -> Results:
        """The results of the rows at these positions (each at most once), in this order; each
        row's long-table entries keep their order."""
        new_row = np.full(self.runs, -1, dtype=np.int64)
        new_row[index] = np.arange(len(index))

        def rows(long: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            row = new_row[long["row"]]
            keep = np.flatnonzero(row >= 0)
            keep = keep[np.argsort(row[keep], kind="stable")]
            return {k: (row if k == "row" else v)[keep] for k, v in long.items()}

        return replace(
            self, table=self.table.take(index), unit_counts=self.unit_counts[index],
            flight_threats=self.flight_threats[index], flight_killed=self.flight_killed[index],
            unit_links=self.unit_links[index], deepest=self.deepest[index],
            destroyed=self.destroyed[index], threat_rows=rows(self.threat_rows),
            passage_rows=rows(self.passage_rows))

    @classmethod
    def from_replications(cls, table: ParamTable, records: Sequence[Replication]) -> Results:
        """Stack the records of the table's rows, in order."""
        sc = table.space.scenario
        n_units, n_entities = len(sc.fire_units), \
            len(sc.sensors) + len(sc.command_posts) + len(sc.fire_units)
        rows = np.arange(len(records), dtype=np.int64)
        n_flights = len(sc.threats) + len(sc.streams)
        unit_links = np.zeros((len(records), n_units, len(LINKS)), dtype=np.int32)
        flight_threats = np.zeros((len(records), n_flights), dtype=np.int32)
        flight_killed = np.zeros((len(records), n_flights), dtype=np.int32)
        deepest = np.zeros((len(records), len(LINKS)), dtype=np.int32)
        deepest_link = []
        for r, rec in enumerate(records):
            latest = [-1] * len(rec.killer)
            for p in rec.passages:
                if p[2] != HELD:
                    unit_links[r, p[1], p[2]] += 1
                    latest[p[0]] = max(latest[p[0]], p[2])
            latest = [k if killer < 0 else -1 for k, killer in zip(latest, rec.killer,
                                                                    strict=True)]
            for k in latest:
                if k >= 0:
                    deepest[r, k] += 1
            deepest_link += latest
            for f, k in zip(rec.threat_flight, rec.killer, strict=True):
                flight_threats[r, f] += 1
                flight_killed[r, f] += k >= 0
        nthreats = [len(rec.killer) for rec in records]
        threat_rows = {
            "row": np.repeat(rows, nthreats),
            "threat": np.concatenate([np.arange(n) for n in nthreats] or [np.zeros(0)]).astype(
                np.int32),
            "flight": _cat([rec.threat_flight for rec in records], np.int32),
            "start_s": _cat([rec.threat_start for rec in records], np.float64),
            "killer": _cat([rec.killer for rec in records], np.int32),
            "kill_time_s": _cat([rec.kill_time for rec in records], np.float64),
            "deepest_link": np.array(deepest_link, dtype=np.int8),
            "arrived_first": _cat([rec.arrived_first for rec in records], np.bool_),
        }
        npass = [len(rec.passages) for rec in records]
        flat = [p for rec in records for p in rec.passages]
        passage_rows = {
            "row": np.repeat(rows, npass),
            "threat": np.array([p[0] for p in flat], dtype=np.int32),
            "unit": np.array([p[1] for p in flat], dtype=np.int32),
            "link": np.array([p[2] for p in flat], dtype=np.int8),
            "entry_s": np.array([p[3] for p in flat], dtype=np.float64),
            "exit_s": np.array([p[4] for p in flat], dtype=np.float64),
        }
        return cls(
            info=None, table=table,  # type: ignore[arg-type]
            unit_counts=np.stack([rec.unit_counts for rec in records]) if records
            else np.zeros((0, len(UNIT_COUNTS), n_units), dtype=np.int32),
            flight_threats=flight_threats, flight_killed=flight_killed, unit_links=unit_links,
            deepest=deepest,
            destroyed=np.stack([rec.destroyed for rec in records]) if records
            else np.zeros((0, n_entities), dtype=bool),
            threat_rows=threat_rows, passage_rows=passage_rows)

    def with_info(self, info: RunInfo) -> Results:
        """The same results, labelled."""
        return replace(self, info=info)

    @classmethod
    def empty(cls, table: ParamTable) -> Results:
        """Results of no row."""
        return cls.from_replications(table.rows(0, 0), [])

    @classmethod
    def concat(cls, parts: Sequence[Results]) -> Results:
        """Join results of consecutive blocks of rows of one table."""
        first = parts[0]
        if len(parts) == 1:
            return first
        offsets = np.cumsum([0] + [p.runs for p in parts])

        def rows(name: str, key: str) -> dict[str, np.ndarray]:
            tables = [getattr(p, name) for p in parts]
            out = {k: np.concatenate([t[k] for t in tables]) for k in tables[0] if k != key}
            index = np.empty(sum(len(t[key]) for t in tables), dtype=np.int64)
            start = 0
            for t, o in zip(tables, offsets, strict=False):  # each part's rows, shifted
                np.add(t[key], o, out=index[start:start + len(t[key])])
                start += len(t[key])
            return {key: index, **out}

        table = first.table
        return cls(
            info=first.info,
            table=ParamTable(table.space, table.points,
                             np.concatenate([p.table.point for p in parts]),
                             np.concatenate([p.table.replication for p in parts]), table.labels,
                             table._memo),
            unit_counts=np.concatenate([p.unit_counts for p in parts]),
            flight_threats=np.concatenate([p.flight_threats for p in parts]),
            flight_killed=np.concatenate([p.flight_killed for p in parts]),
            unit_links=np.concatenate([p.unit_links for p in parts]),
            deepest=np.concatenate([p.deepest for p in parts]),
            destroyed=np.concatenate([p.destroyed for p in parts]),
            threat_rows=rows("threat_rows", "row"), passage_rows=rows("passage_rows", "row"))


def _cat(lists: list[list], dtype: type) -> np.ndarray:
    return np.array([x for xs in lists for x in xs], dtype=dtype)


TABLES = ("replications", "units", "threats", "passages")


def _arrow_tables(results: Results) -> dict[str, Any]:
    info = results.info
    R, U = results.runs, len(info.unit_ids)
    threats, killed, links = results.threats, results.killed, results.links
    replications: dict[str, Any] = {
        "replication": results.replication, "threats": threats, "threats_killed": killed,
        "leakers": threats - killed}
    counts = np.einsum("rku->rk", results.unit_counts).astype(np.int64)  # (see links)
    for i, name in enumerate(UNIT_COUNTS):
        replications[name] = counts[:, i]
    for i, name in enumerate(LINKS):
        replications[name] = links[:, i]
    for e, eid in enumerate(info.entity_ids):
        replications[f"destroyed[id={eid}]"] = results.destroyed[:, e]
    several = len(results.table.points) > 1  # rows share replications: say which row and point
    varying = {}  # the parameters that vary between rows; the others are in the metadata
    if several:
        columns = results.table.to_arrow()
        varying = {name: columns[name] for name in columns.column_names[2:]}
    units: dict[str, Any] = {
        "replication": np.repeat(results.replication, U),
        "unit": _labels(info.unit_ids, R),
        "unit_type": _labels(info.unit_types, R),
        "guidance": _labels(info.unit_guidance, R)}
    for i, name in enumerate(UNIT_COUNTS):
        units[name] = results.unit_counts[:, i, :].reshape(-1)
    for i, name in enumerate(LINKS):  # the unit's failed passages, by first broken link
        units[name] = results.unit_links[:, :, i].reshape(-1)
    if several:
        replications = {"row": np.arange(R), "point": results.table.point, **replications}
        units = {"row": np.repeat(np.arange(R), U), **units}
    threats: dict[str, Any] = {"replication": results.replication[results.threat_rows["row"]],
                               **results.threat_rows}
    if not several:
        threats.pop("row")
    threats["flight"] = _labels(info.flight_ids, threats["flight"])
    threats["killer"] = _labels((*info.unit_ids, ""), threats["killer"])
    threats["deepest_link"] = _labels((*LINKS, ""), threats["deepest_link"])
    passages: dict[str, Any] = {"replication": results.replication[results.passage_rows["row"]],
                                **results.passage_rows}
    if not several:
        passages.pop("row")
    passages["unit"] = _labels(info.unit_ids, passages["unit"])
    passages["link"] = _labels(PASSAGE_LINKS, passages["link"])
    meta = {b"scenario": info.scenario.encode(), b"profile": info.profile.encode(),
            b"seed": str(info.seed).encode(), b"engine": info.engine.encode(),
            b"parameters": json.dumps(results.table.constants()).encode(),
            b"settings": json.dumps(dict(info.settings)).encode()}
    out = {}
    for name, columns in zip(TABLES, (replications, units, threats, passages), strict=True):
        out[name] = _table(columns, varying if name == "replications" else {}, meta)
    return out


def _table(columns: Mapping[str, Any], varying: Mapping[str, Any], meta: dict[bytes, bytes]
           ) -> Any:
    """An Arrow table of the columns, which never hold a null (declared so: Parquet then
    stores no null flags), then the varying parameters' columns (nullable: a parameter that
    does not apply at a point has none)."""
    import pyarrow as pa

    arrays = [c if isinstance(c, pa.Array) else pa.array(c) for c in columns.values()]
    fields = [pa.field(k, a.type, nullable=False) for k, a in zip(columns, arrays, strict=True)]
    fields += [pa.field(k, a.type) for k, a in varying.items()]
    return pa.Table.from_arrays([*arrays, *varying.values()],
                                schema=pa.schema(fields, metadata=meta))


def _labels(names: tuple[str, ...], index: np.ndarray | int) -> Any:
    """Names by index (−1 → the last name), or every name in turn `index` times over,
    dictionary-encoded: each name stored once, and per row an integer as narrow as the names
    allow (Parquet encodes narrow ones faster)."""
    import pyarrow as pa

    unique, of_name = _dictionary(names or ("",))
    if isinstance(index, int):  # (no names: no rows)
        codes = np.tile(of_name, index if names else 0)
    else:
        lo, hi = (int(index.min()), int(index.max())) if len(index) else (0, 0)
        if lo < -1 or hi >= len(of_name):  # (checked here: Arrow's own check costs 10× more)
            raise IndexError(f"label index {lo} … {hi} outside −1 … {len(of_name) - 1}")
        if len(unique) == len(of_name):  # distinct names are their own dictionary
            codes = index if lo >= 0 else np.where(index < 0, len(of_name) - 1, index)
        else:
            codes = of_name[index]
    return pa.DictionaryArray.from_arrays(codes.astype(of_name.dtype, copy=False), unique,
                                          safe=False)


@functools.lru_cache(maxsize=64)
def _dictionary(names: tuple[str, ...]) -> tuple[Any, np.ndarray]:
    """The distinct names (an Arrow array) and each name's place among them, as the narrowest
    integers that hold every place."""
    import pyarrow as pa

    code = np.int8 if len(names) <= 127 else np.int16 if len(names) <= 32767 else np.int32
    if len(set(names)) == len(names):
        return pa.array(names, type=pa.string()), np.arange(len(names), dtype=code)
    unique, of_name = np.unique(np.array(names, dtype=object), return_inverse=True)
    return pa.array(unique.tolist(), type=pa.string()), of_name.astype(code)
