"""Per-replication results as Parquet tables, streamed block by block and renamed into place
when the run ends (or is interrupted), so a file is always whole."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from iadsim.engine.results import TABLES, Results

__all__ = ["TABLES", "ResultsWriter"]


class ResultsWriter:
    """Appends blocks of results to Parquet files written aside; `close` renames them into
    `folder` and writes `summary.json`."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._writers: dict[str, pq.ParquetWriter] = {}
        self._paths: dict[str, str] = {}

    def append(self, results: Results) -> None:
        for name, table in results.tables().items():
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
