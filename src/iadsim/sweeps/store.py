"""A sweep store: the results of sweeps, partitioned by sweep and point, in the `--out` layout
(one Parquet dataset per table), written so that nothing computed is lost and nothing partial
is ever read:

    STORE/store.json                                       marks the folder as a store
    STORE/sweeps/NAME/sweep.json                           the sweep: definition, digest, tasks
    STORE/sweeps/NAME/points.parquet                       the design: point, parameter values
    STORE/sweeps/NAME/tasks/point=K/task-F.json            a task's commit record (its summary)
    STORE/replications/sweep=NAME/point=K/task-F.parquet   per-replication rows of a task
    STORE/units/…, STORE/threats/…, STORE/passages/…       the other tables, likewise
    STORE/summaries/sweep=NAME/point=K/summary.parquet     a finished point's summary
    STORE/.lock                                            held while a sweep writes

A task (point K, replications F … F + n − 1) is committed by writing each table's file aside and
renaming it, then its record, last. Readers take only files that a record names, so a task
killed between renames is not seen; a resumed sweep deletes its files and runs it again.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from iadsim.store import (
    STORE_MARK,
    TABLES,
    ResultsError,
    _take_lock,
    check_folder,
    write_aside,
    write_json,
)

__all__ = ["SUMMARY_TABLE", "SweepStore", "TaskOutput", "is_store"]

SWEEPS, SUMMARY_TABLE = "sweeps", "summaries"
GLOB = set("*?[]{}")  # DuckDB reads a path with these as a pattern: refused in store paths
FORMAT = {"kind": "iadsim-store", "version": 1}


@dataclass(frozen=True)
class TaskOutput:
    """What a task hands back: its summary state and each table as Parquet bytes."""

    point: int
    first: int
    runs: int
    state: dict[str, Any]
    files: dict[str, bytes]


def is_store(folder: str | Path) -> bool:
    return (Path(folder) / STORE_MARK).is_file()


def task_file(point: int, first: int) -> str:
    return f"point={point}/task-{first:012d}"


class SweepStore:
    """A store opened to write one sweep (`definition`, `digest`): refuses a store that holds
    another sweep of the same name unless `overwrite`, which removes that sweep first."""

    def __init__(self, folder: str | Path, name: str, definition: Mapping[str, Any],
                 digest: str, task_replications: int, overwrite: bool = False):
        if GLOB & set(str(Path(folder).absolute())):
            raise ResultsError(f"{folder}: a store's path may not contain any of "
                               f"{' '.join(sorted(GLOB))} (DuckDB would read it as a pattern)")
        self.folder = check_folder(folder)
        self.name = name
        self.replications = int(definition["replications"])
        self._lock = _take_lock(self.folder)
        try:
            self._open(definition, digest, task_replications, overwrite)
        except BaseException:
            self.close()
            raise

    @property
    def sweep_dir(self) -> Path:
        return self.folder / SWEEPS / self.name

    def _open(self, definition: Mapping[str, Any], digest: str, task_replications: int,
              overwrite: bool) -> None:
        if not is_store(self.folder):
            if any(not p.name.startswith(".") for p in self.folder.iterdir()):
                raise ResultsError(f"{self.folder}: not an iadsim store (no {STORE_MARK}) and "
                                   "not empty: give a new or empty folder")
            write_json(self.folder / STORE_MARK, FORMAT)
        else:
            check_store(self.folder)
        self._finish_removals()
        recorded = self.sweep_dir / "sweep.json"
        if recorded.is_file() and overwrite:
            self._remove_sweep()
        if recorded.is_file():
            before = json.loads(recorded.read_text(encoding="utf-8"))
            if before.get("digest") != digest:
                changed = [k for k, v in definition.items() if before.get(k) != v] \
                    or ["the design's points"]
                raise ResultsError(
                    f"{self.folder}: holds sweep {self.name!r} from a different sweep file "
                    f"({', '.join(changed)} changed): give this one another `name:`, or "
                    "--overwrite to replace that sweep's results")
            self.task_replications = int(before["task_replications"])
        else:
            self.task_replications = task_replications
            self.sweep_dir.mkdir(parents=True, exist_ok=True)
            write_json(recorded, {**definition, "digest": digest,
                                  "task_replications": task_replications})

    def _remove_sweep(self) -> None:
        """Remove this sweep: its record folder is renamed away first (one step: from then on
        the sweep is gone), then its files are deleted; a kill in between is finished at the
        next opening."""
        self.sweep_dir.rename(self.folder / SWEEPS / f".{self.name}.removed")
        self._finish_removals()

    def _finish_removals(self) -> None:
        """Delete the files of sweeps removed by a run that was killed while removing them."""
        for trash in (self.folder / SWEEPS).glob(".*.removed"):
            name = trash.name[1:].removesuffix(".removed")
            if not (self.folder / SWEEPS / name / "sweep.json").is_file():
                for table in (*TABLES, SUMMARY_TABLE):
                    shutil.rmtree(self.folder / table / f"sweep={name}", ignore_errors=True)
            shutil.rmtree(trash, ignore_errors=True)

    # --- what is there ----------------------------------------------------------------------

    def records(self) -> list[dict[str, Any]]:
        """The commit records of this sweep's finished tasks."""
        return task_records(self.sweep_dir)

    def clear_uncommitted(self) -> list[dict[str, Any]]:
        """Make the store hold exactly the committed tasks, and return their records (as
        `records()`): a record whose files are not all there is dropped with them; table
        files without a record, summaries of points not complete, and files left written
        aside are removed."""
        records = self.records()
        whole = []
        for r in records:
            files = [self.folder / f for f in r["files"].values()]
            if all(f.is_file() for f in files):
                whole.append(r)
                continue
            self._record_file(task_file(r["point"], r["first"])).unlink()
        done = {task_file(r["point"], r["first"]) for r in whole}
        runs: dict[int, int] = {}
        for r in whole:
            runs[r["point"]] = runs.get(r["point"], 0) + r["runs"]
        for table in (*TABLES, SUMMARY_TABLE):
            root = self.folder / table / f"sweep={self.name}"
            for p in root.glob("point=*/*") if root.is_dir() else ():
                key = f"{p.parent.name}/{p.name.split('.')[0]}"
                point = int(p.parent.name.removeprefix("point="))
                stale = runs.get(point, 0) < self.replications if table == SUMMARY_TABLE \
                    else key not in done
                if p.name.startswith(".") or stale:
                    p.unlink()
        for p in self.sweep_dir.rglob(".*"):
            if p.is_file():
                p.unlink()
        return whole

    def write_points(self, columns: Mapping[str, list[Any]]) -> None:
        """The design, once: point and each parameter path's value."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        target = points_file(self.folder, self.name)
        if target.is_file():
            return
        n = len(next(iter(columns.values())))
        table = pa.table({"point": np.arange(n, dtype=np.int64),
                          **{k: pa.array(v) for k, v in columns.items()}})
        write_aside(target, lambda tmp: pq.write_table(table, tmp))

    # --- writing ----------------------------------------------------------------------------

    def commit(self, out: TaskOutput) -> None:
        """Write a task's tables, then its record; on an error nothing of it stays."""
        key = task_file(out.point, out.first)
        written: list[Path] = []
        try:
            for table in TABLES:
                target = self.folder / table / f"sweep={self.name}" / f"{key}.parquet"
                target.parent.mkdir(parents=True, exist_ok=True)
                data = out.files[table]
                written.append(write_aside(target, lambda tmp, data=data: Path(tmp).write_bytes(
                    data)))
            record = self._record_file(key)
            record.parent.mkdir(parents=True, exist_ok=True)
            written.append(write_json(record, {
                "point": out.point, "first": out.first, "runs": out.runs, "state": out.state,
                "files": {t: f"{t}/sweep={self.name}/{key}.parquet" for t in TABLES}}))
        except BaseException:
            for p in written:
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()
            raise

    def write_summary(self, point: int, rows: Mapping[str, list[Any]]) -> None:
        """A finished point's summary (one row per observable)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        target = self._summary_file(point)
        target.parent.mkdir(parents=True, exist_ok=True)
        n = len(next(iter(rows.values())))
        table = pa.table({"sweep": [self.name] * n, "point": pa.array([point] * n, pa.int64()),
                          **rows})
        write_aside(target, lambda tmp: pq.write_table(table, tmp))

    def has_summary(self, point: int) -> bool:
        return self._summary_file(point).is_file()

    def _summary_file(self, point: int) -> Path:
        return self.folder / SUMMARY_TABLE / f"sweep={self.name}" / f"point={point}" \
            / "summary.parquet"

    def _record_file(self, key: str) -> Path:
        return self.sweep_dir / "tasks" / f"{key}.json"

    def close(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None


def check_store(folder: str | Path) -> dict[str, Any]:
    """The store's format record; ResultsError if the folder is not a store iadsim can read."""
    folder = Path(folder)
    try:
        mark = json.loads((folder / STORE_MARK).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{folder}: not an iadsim store ({STORE_MARK}: "
                           f"{getattr(exc, 'strerror', None) or exc})") from None
    if not isinstance(mark, dict) or mark.get("kind") != FORMAT["kind"]:
        raise ResultsError(f"{folder}: {STORE_MARK} does not mark an iadsim store")
    if mark.get("version") != FORMAT["version"]:
        raise ResultsError(f"{folder}: a store of format version {mark.get('version')}; this "
                           f"iadsim reads version {FORMAT['version']}")
    return mark


def task_records(sweep_dir: Path) -> list[dict[str, Any]]:
    """The commit records under a sweep's folder, in (point, first) order."""
    records = [json.loads(p.read_text(encoding="utf-8"))
               for p in (sweep_dir / "tasks").glob("point=*/task-*.json")]
    return sorted(records, key=lambda r: (r["point"], r["first"]))


def sweeps(folder: str | Path) -> list[dict[str, Any]]:
    """Each sweep's record in a store, by name."""
    root = Path(folder) / SWEEPS
    found = [json.loads(p.read_text(encoding="utf-8")) for p in root.glob("*/sweep.json")]
    return sorted(found, key=lambda s: s["name"])


def points_file(folder: str | Path, name: str) -> Path:
    """The design of a store's sweep: point and each parameter path's value."""
    return Path(folder) / SWEEPS / name / "points.parquet"


def committed_files(folder: str | Path, records: Iterable[Mapping[str, Any]],
                    tables: Iterable[str]) -> dict[str, list[Path]]:
    """The files of each table that commit records name, over the sweeps of these records
    (`sweeps(folder)`; each task record read once for all the tables); for `summaries`, the
    summaries of each sweep's finished points."""
    folder = Path(folder)
    out: dict[str, list[Path]] = {t: [] for t in tables}
    named = [t for t in out if t != SUMMARY_TABLE]
    for sweep in records:
        if SUMMARY_TABLE in out:
            out[SUMMARY_TABLE] += sorted((folder / SUMMARY_TABLE / f"sweep={sweep['name']}")
                                         .glob("point=*/summary.parquet"))
        if named:
            for record in task_records(folder / SWEEPS / sweep["name"]):
                for table in named:
                    out[table].append(folder / record["files"][table])
    return out
