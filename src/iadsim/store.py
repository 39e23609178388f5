"""Per-replication results on disk (`--out DIR`), written so that nothing computed is lost and
nothing partial is ever read:

    DIR/run.json                       what run this is (scenario, point, seed, engine, runs)
    DIR/replications/part-*.parquet    one Parquet dataset per table (pyarrow.dataset, DuckDB:
    DIR/units/part-*.parquet           `read_parquet('DIR/units/*.parquet')`), each part a set
    DIR/threats/part-*.parquet         of whole blocks of replications
    DIR/passages/part-*.parquet
    DIR/parts/part-*.json              a part's commit record: its replications and summary state
    DIR/summary.json                   the summary of every committed part
    DIR/.lock                          held while a run writes the folder

Finished blocks are gathered into a part up to a bounded size (64 MB of tables in memory), or for
a few seconds at most, and
then committed: each table's file written aside (a hidden name) and renamed, then the commit
record, last. A part without its record (a run killed between the renames) is not part of the
results: `--resume` deletes it and runs its replications again. The summary is always that of
the committed parts, so it agrees with the tables.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from iadsim.engine.results import TABLES, Results

__all__ = ["TABLES", "ResultsError", "ResultsStore", "parquet_bytes", "write_aside", "write_json"]

MANIFEST, SUMMARY, COMMITS, LOCK = "run.json", "summary.json", "parts", ".lock"
STORE_MARK = "store.json"  # marks a sweep store (iadsim.sweeps.store): never a run's folder
PART_BYTES = 64 << 20  # a part is committed once its tables hold this much (in memory) …
ROW_GROUP_ROWS = 1 << 20  # rows per Parquet row group, whatever the blocks were
WRITE_BATCH_ROWS = 1 << 16  # rows Parquet encodes at a time (its default, 1,024, costs 6% more)
WRITE_BUFFER_BYTES = 1 << 18  # bytes gathered before each write to a file
PART_SECONDS = 5.0  # … or at least this often, while blocks finish


class ResultsError(Exception):
    """The results folder cannot be used or written; one line for the user."""


class ResultsStore:
    """A results folder opened for one run: `mode` "new" (refuses a folder holding results),
    "overwrite" (removes them first) or "resume" (keeps the committed parts of the same run)."""

    def __init__(self, folder: str | Path, manifest: Mapping[str, Any], mode: str = "new"):
        self.folder = check_folder(folder)
        self.manifest = dict(manifest)
        self._lock = _take_lock(self.folder)
        try:
            self.committed = self._open(mode)
        except BaseException:
            self._release()
            raise
        self._pending: list[dict[str, Any]] = []
        self._ranges: list[tuple[int, int]] = []
        self._rows = self._bytes = 0
        self._since = time.monotonic()

    # --- opening ------------------------------------------------------------------------------

    def _open(self, mode: str) -> list[dict[str, Any]]:
        """The commit records kept (resume), after clearing what must not stay."""
        held = self.holds_results()
        if (self.folder / STORE_MARK).exists():
            raise ResultsError(f"{self.folder}: is a sweep store (iadsim sweep --store); give "
                               "--out another folder")
        if mode == "resume":
            if not (self.folder / MANIFEST).is_file():
                raise ResultsError(f"{self.folder}: nothing to resume (no {MANIFEST})")
            before = json.loads((self.folder / MANIFEST).read_text(encoding="utf-8"))
            changed = [k for k in self.manifest if k != "runs"
                       and before.get(k) != self.manifest[k]]
            if changed:
                raise ResultsError(f"{self.folder}: holds another run ({', '.join(changed)} "
                                   "differ): --resume continues the same run; use "
                                   "--overwrite to replace it")
            records = part_records(self.folder)
            self._clear_uncommitted({r["name"] for r in records})
            done = sum(hi - lo for r in records for lo, hi in r["ranges"])
            if done > self.manifest["runs"]:
                raise ResultsError(f"{self.folder}: already holds {done} replications, more "
                                   f"than --runs {self.manifest['runs']}")
        elif held and mode != "overwrite":
            raise ResultsError(f"{self.folder}: already holds results; give --resume to "
                               "complete that run or --overwrite to replace it")
        else:
            self._remove_results()
            records = []
        self._write_json(MANIFEST, self.manifest)
        for name in (*TABLES, COMMITS):
            (self.folder / name).mkdir(exist_ok=True)
        return records

    def holds_results(self) -> bool:
        return any((self.folder / n).exists() for n in (MANIFEST, SUMMARY, COMMITS, *TABLES)) \
            or any((self.folder / f"{t}.parquet").exists() for t in TABLES)

    def _clear_uncommitted(self, names: set[str]) -> None:
        """Remove table parts without a commit record, and files left written aside."""
        for sub in (*TABLES, COMMITS):
            for p in (self.folder / sub).glob("*") if (self.folder / sub).is_dir() else ():
                if p.name.startswith(".") or p.name.split(".")[0] not in names:
                    p.unlink()

    def _remove_results(self) -> None:
        for name in (MANIFEST, SUMMARY, *(f"{t}.parquet" for t in TABLES)):
            with contextlib.suppress(FileNotFoundError):
                (self.folder / name).unlink()
        for name in (*TABLES, COMMITS):
            shutil.rmtree(self.folder / name, ignore_errors=True)

    def remaining(self) -> list[tuple[int, int]]:
        """The replication ranges of 0 … runs − 1 not yet committed, in order."""
        done = sorted(tuple(r) for rec in self.committed for r in rec["ranges"])
        out, at = [], 0
        for lo, hi in done:
            if lo > at:
                out.append((at, lo))
            at = max(at, hi)
        if at < self.manifest["runs"]:
            out.append((at, self.manifest["runs"]))
        return out

    # --- writing ------------------------------------------------------------------------------

    def append(self, results: Results, first: int) -> None:
        """Hold a finished block (replications first … first + runs − 1) for the next part."""
        tables = results.tables()
        self._pending.append(tables)
        self._bytes += sum(t.nbytes for t in tables.values())
        if self._ranges and self._ranges[-1][1] == first:
            self._ranges[-1] = (self._ranges[-1][0], first + results.runs)
        else:
            self._ranges.append((first, first + results.runs))
        self._rows += results.runs

    @property
    def pending(self) -> int:
        """Replications held, not yet committed."""
        return self._rows

    def due(self) -> bool:
        """Whether the held blocks should be committed now."""
        return self._bytes >= PART_BYTES or (
            self._rows > 0 and time.monotonic() - self._since >= PART_SECONDS)

    def commit(self, state: Mapping[str, Any]) -> None:
        """Write the held blocks as one part with its summary `state`; on an error (a full
        disk) nothing of the part stays and the error is raised."""
        import pyarrow as pa

        if not self._pending:
            return
        name = f"part-{self._ranges[0][0]:012d}"
        written: list[Path] = []
        try:
            for table in TABLES:
                data = pa.concat_tables([p[table] for p in self._pending])
                written.append(write_aside(self.folder / table / f"{name}.parquet",
                                           lambda tmp, data=data: _parquet_file(data, tmp)))
            record = {"name": name, "ranges": self._ranges, "state": dict(state)}
            written.append(self._write_json(f"{COMMITS}/{name}.json", record))
        except BaseException:
            for p in written:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(p)
            raise
        self.committed.append(record)
        self._pending, self._ranges, self._rows, self._bytes = [], [], 0, 0
        self._since = time.monotonic()

    def finish(self, summary: Mapping[str, Any] | None) -> None:
        """Write summary.json (of the committed parts) and release the folder."""
        try:
            if summary is not None:
                self._write_json(SUMMARY, summary)
        finally:
            self._release()

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.close()  # closing the descriptor releases the lock
            self._lock = None

    def _write_json(self, name: str, data: Any) -> Path:
        return write_json(self.folder / name, data)


def part_records(folder: Path) -> list[dict[str, Any]]:
    """The commit records of a results folder's parts, in order."""
    return [json.loads(p.read_text(encoding="utf-8"))
            for p in sorted((folder / COMMITS).glob("part-*.json"))]


def parquet_bytes(table: Any) -> bytes:
    """A table as the bytes of a Parquet file written as `_write_parquet` writes it (a worker
    encodes its rows; the process that owns the folder only writes them down)."""
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    _write_parquet(table, sink)
    return sink.getvalue().to_pybytes()


def _write_parquet(table: Any, sink: Any) -> None:
    """One table as Parquet to an Arrow stream, in row groups of ROW_GROUP_ROWS: labels
    dictionary-encoded as they come, and the replication (runs of equal values); other numbers
    are not (trying costs more than it saves); statistics on the replication only (what a
    reader filters on)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    keyed = [c for c in ("replication",) if c in table.column_names]
    labels = [f.name for f in table.schema if pa.types.is_dictionary(f.type)]
    pq.write_table(table, sink, row_group_size=ROW_GROUP_ROWS, use_dictionary=labels + keyed,
                   write_statistics=keyed, write_batch_size=WRITE_BATCH_ROWS)


def _parquet_file(table: Any, path: str) -> None:
    """One table as a Parquet file, written through a buffer: pyarrow writing the file itself
    makes a system call per page and per page header (10% to 45% more CPU than the encoding,
    as measured)."""
    import pyarrow as pa

    with pa.output_stream(path, compression=None, buffer_size=WRITE_BUFFER_BYTES) as sink:
        _write_parquet(table, sink)


def check_folder(folder: str | Path) -> Path:
    """A folder results can be written to, created if need be; ResultsError saying why not
    (checked before any work, so that nothing computed is lost to a bad name)."""
    text = str(folder)
    if not text.strip():
        raise ResultsError("--out: give a folder name")
    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise ResultsError(f"{path}: exists and is not a folder")
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        raise ResultsError(f"{path}: {existing} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe_write(path)
    except OSError as exc:
        raise ResultsError(f"{path}: cannot write here: {exc.strerror or exc}") from None
    return path


def probe_write(folder: Path) -> None:
    """Create and remove a hidden file in the folder: OSError if it cannot be written."""
    fd, probe = tempfile.mkstemp(prefix=".probe.", dir=folder)
    os.close(fd)
    os.unlink(probe)


def _take_lock(folder: Path) -> Any:
    """An exclusive lock on the folder for this process, or ResultsError naming the holder."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        return None
    f = open(folder / LOCK, "a+", encoding="utf-8")  # noqa: SIM115 (held until released)
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.seek(0)
        holder = f.read().strip() or "another process"
        f.close()
        raise ResultsError(f"{folder}: another iadsim run (pid {holder}) is writing here; "
                           "wait for it or choose another folder") from None
    f.seek(0)
    f.truncate()
    f.write(str(os.getpid()))
    f.flush()
    return f


def write_json(target: str | Path, data: Any) -> Path:
    """Data as an indented JSON file, written aside and renamed."""
    def dump(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2)

    return write_aside(target, dump)


def write_aside(target: str | Path, write: Callable[[str], None]) -> Path:
    """Write a file whole or not at all: `write(tmp)` fills a hidden file beside `target`,
    which then gets ordinary permissions and is renamed into place (removed on any error).
    Every file iadsim writes goes through here."""
    target = Path(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial",
                               dir=target.parent)
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return target
