"""Write a run's per-replication results as Parquet tables, atomically."""

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


def tables(results: Results) -> dict[str, pa.Table]:
    """The run as flat tables: replications, units, threats, passages (long format)."""
    info = results.info
    R, U = results.runs, len(info.unit_ids)
    tag = {"scenario": info.scenario, "profile": info.profile, "seed": info.seed,
           "engine": info.engine}
    replications = {"replication": results.replication, "threats": results.threats,
                    "threats_killed": results.killed, "leakers": results.leakers}
    for i, name in enumerate(UNIT_COUNTS):
        replications[name] = results.unit_counts[:, i, :].sum(axis=1)
    for i, name in enumerate(LINKS):
        replications[name] = results.links[:, i]
    for e, eid in enumerate(info.entity_ids):
        replications[f"destroyed[id={eid}]"] = results.destroyed[:, e]
    units = {"replication": np.repeat(results.replication, U),
             "unit": np.tile(np.array(info.unit_ids, dtype=object), R),
             "unit_type": np.tile(np.array(info.unit_types, dtype=object), R),
             "guidance": np.tile(np.array(info.unit_guidance, dtype=object), R)}
    for i, name in enumerate(UNIT_COUNTS):
        units[name] = results.unit_counts[:, i, :].reshape(-1)
    threats = dict(results.threat_rows)
    threats["flight"] = np.array(info.flight_ids, dtype=object)[threats["flight"]]
    killer = np.array([*info.unit_ids, ""], dtype=object)[threats["killer"]]
    threats["killer"] = killer
    passages = dict(results.passage_rows)
    passages["unit"] = np.array(info.unit_ids, dtype=object)[passages["unit"]]
    passages["link"] = np.array(LINKS, dtype=object)[passages["link"]]
    out = {}
    for name, columns in (("replications", replications), ("units", units),
                          ("threats", threats), ("passages", passages)):
        table = pa.table({k: pa.array(v) for k, v in columns.items()})
        out[name] = table.append_column("profile", pa.array([tag["profile"]] * len(table)))
        out[name] = out[name].replace_schema_metadata({k.encode(): str(v).encode()
                                                       for k, v in tag.items()})
    return out


def write_results(results: Results, folder: str | Path, summary: dict[str, Any]) -> list[Path]:
    """Write `<table>.parquet` files and `summary.json` into folder; each file appears whole
    or not at all (written aside, then renamed)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in tables(results).items():
        written.append(_atomic(folder / f"{name}.parquet",
                               lambda path, t=table: pq.write_table(t, path)))
    written.append(_atomic(folder / "summary.json",
                           lambda path: Path(path).write_text(json.dumps(summary, indent=2))))
    return written


def _atomic(target: Path, write: Any) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target
