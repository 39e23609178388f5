"""Per-replication results as Parquet tables, streamed block by block and renamed into place
when the run ends (or is interrupted), so a file is always whole."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from iadsim.engine.results import LINKS, UNIT_COUNTS, Results

TABLES = ("replications", "units", "threats", "passages")


def tables(results: Results) -> dict[str, pa.Table]:
    """The results as flat tables: replications, units, threats, passages (long format)."""
    info = results.info
    R, U = results.runs, len(info.unit_ids)
    replications: dict[str, Any] = {
        "replication": results.replication, "threats": results.threats,
        "threats_killed": results.killed, "leakers": results.leakers}
    for i, name in enumerate(UNIT_COUNTS):
        replications[name] = results.unit_counts[:, i, :].sum(axis=1)
    for i, name in enumerate(LINKS):
        replications[name] = results.links[:, i]
    for e, eid in enumerate(info.entity_ids):
        replications[f"destroyed[id={eid}]"] = results.destroyed[:, e]
    units: dict[str, Any] = {
        "replication": np.repeat(results.replication, U),
        "unit": _labels(info.unit_ids, np.tile(np.arange(U), R)),
        "unit_type": _labels(info.unit_types, np.tile(np.arange(U), R)),
        "guidance": _labels(info.unit_guidance, np.tile(np.arange(U), R))}
    for i, name in enumerate(UNIT_COUNTS):
        units[name] = results.unit_counts[:, i, :].reshape(-1)
    threats: dict[str, Any] = dict(results.threat_rows)
    threats["flight"] = _labels(info.flight_ids, threats["flight"])
    threats["killer"] = _labels((*info.unit_ids, ""), threats["killer"])
    passages: dict[str, Any] = dict(results.passage_rows)
    passages["unit"] = _labels(info.unit_ids, passages["unit"])
    passages["link"] = _labels(LINKS, passages["link"])
    meta = {b"scenario": info.scenario.encode(), b"profile": info.profile.encode(),
            b"seed": str(info.seed).encode(), b"engine": info.engine.encode()}
    out = {}
    for name, columns in zip(TABLES, (replications, units, threats, passages), strict=True):
        table = pa.table({k: v if isinstance(v, pa.Array) else pa.array(v)
                          for k, v in columns.items()})
        table = table.append_column("profile", pa.array([info.profile] * len(table),
                                                        type=pa.string()))
        out[name] = table.replace_schema_metadata(meta)
    return out


def _labels(names: tuple[str, ...], index: np.ndarray) -> pa.Array:
    """Names looked up by index (−1 → the last name), always typed as strings."""
    return pa.array(np.array(names, dtype=object)[np.asarray(index, dtype=np.int64)].tolist()
                    if len(names) else [""] * len(index), type=pa.string())


class ResultsWriter:
    """Appends blocks of results to Parquet files written aside; `close` renames them into
    `folder` and writes `summary.json`."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._writers: dict[str, pq.ParquetWriter] = {}
        self._paths: dict[str, str] = {}

    def append(self, results: Results) -> None:
        for name, table in tables(results).items():
            if name not in self._writers:
                fd, path = tempfile.mkstemp(prefix=f".{name}.", suffix=".partial",
                                            dir=self.folder)
                os.close(fd)
                self._paths[name] = path
                self._writers[name] = pq.ParquetWriter(path, table.schema)
            self._writers[name].write_table(table)

    def close(self, summary: dict[str, Any] | None) -> list[Path]:
        """Finish the files and move them into place; returns the paths written."""
        written = []
        for name, writer in self._writers.items():
            writer.close()
            written.append(_publish(self._paths[name], self.folder / f"{name}.parquet"))
        self._writers.clear()
        if summary is not None:
            fd, path = tempfile.mkstemp(prefix=".summary.", dir=self.folder)
            with os.fdopen(fd, "w") as f:
                json.dump(summary, f, indent=2)
            written.append(_publish(path, self.folder / "summary.json"))
        return written


def _publish(tmp: str, target: Path) -> Path:
    """Give the file ordinary permissions and rename it into place."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, target)
    return target
