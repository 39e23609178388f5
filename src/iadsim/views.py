"""SQL over stored results with DuckDB: a sweep store or a `run --out` folder, seen as views.

A run folder gives `replications`, `units`, `threats` and `passages`. A sweep store gives the
same four tables with `sweep` and `point` columns first, and `points` (each sweep's design:
sweep, point, one column per parameter path), `summaries` (each finished point's observables:
runs, mean, se, ci_low, ci_high) and `sweeps` (what each sweep is). Views read only the files
that commit records name: a task or block still being written, or killed while it was, is not
seen.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from iadsim.store import COMMITS, MANIFEST, SUMMARY, TABLES, ResultsError
from iadsim.sweeps.store import GLOB, MARK, SUMMARY_TABLE, check_store, committed_files, sweeps

__all__ = ["QueryError", "connect", "query", "relation"]

_READ = "union_by_name = true, hive_partitioning = false"


class QueryError(Exception):
    """A folder that holds no results, or SQL DuckDB refused; one line for the user."""


def connect(folder: str | Path) -> Any:
    """An in-memory DuckDB connection with views over the results in `folder`."""
    import duckdb

    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise QueryError(f"{folder}: is a file; give the folder of a sweep store or of "
                         "`iadsim run --out`")
    if not folder.is_dir():
        raise QueryError(f"{folder}: no such folder")
    if not (folder / MARK).is_file() and not (folder / MANIFEST).is_file():
        raise QueryError(f"{folder}: holds no iadsim results (neither {MARK} of a sweep store "
                         f"nor {MANIFEST} of `iadsim run --out`)")
    root = folder.resolve()
    if GLOB & set(str(root)):
        raise QueryError(f"{folder}: a path with any of {' '.join(sorted(GLOB))} cannot be "
                         "read (DuckDB takes it as a pattern): move or rename the folder")
    con = duckdb.connect()
    try:
        if (folder / MARK).is_file():
            _store_views(con, root)
        else:
            _run_views(con, root)
        # queries read the results and nothing else: no other file, no writing
        con.execute(f"SET allowed_directories = [{_quoted(str(root) + os.sep)}]")
        con.execute("SET enable_external_access = false")
    except (ResultsError, OSError, ValueError, duckdb.Error) as exc:
        con.close()
        raise QueryError(_one_line(exc) if isinstance(exc, duckdb.Error) else str(exc)
                         ) from None
    return con


def relation(folder: str | Path, sql: str) -> Any:
    """The DuckDB relation of one SELECT on `folder`'s views (lazy: nothing read until
    used). Other statements (COPY, CREATE, SET, …) are refused: a query reads results."""
    import duckdb

    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(_one_line(exc)) from None
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        kinds = ", ".join(s.type.name for s in statements) or "nothing"
        raise QueryError(f"SQL: give one SELECT (or WITH … SELECT) statement; got {kinds}")
    con = connect(folder)
    try:
        return con.sql(sql)
    except duckdb.Error as exc:
        raise QueryError(_one_line(exc)) from None


def query(folder: str | Path, sql: str) -> Any:
    """A query's result as an Arrow table."""
    import duckdb

    rel = relation(folder, sql)
    try:
        return rel.to_arrow_table()
    except duckdb.Error as exc:  # errors raised as the query runs
        raise QueryError(_one_line(exc)) from None


def _one_line(exc: Exception) -> str:
    text = str(exc).strip()
    lines = [line for line in text.splitlines() if line.strip()]
    head = lines[0] if lines else type(exc).__name__
    hint = next((line.strip() for line in lines[1:] if line.strip().startswith("LINE")), "")
    kind = type(exc).__name__.removesuffix("Exception").removesuffix("Error")
    return f"SQL: {kind + ': ' if kind and kind not in head else ''}{head}" + (
        f" ({hint})" if hint else "")


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _files(paths: list[Path]) -> str:
    return "[" + ", ".join(_quoted(str(p)) for p in paths) + "]"


def _view(con: Any, name: str, paths: list[Path], options: str = "",
          empty: str = "SELECT NULL WHERE false") -> None:
    if not paths:
        con.execute(f"CREATE VIEW {name} AS {empty}")
        return
    source = f"read_parquet({_files(paths)}{', ' + options if options else ''})"
    con.execute(f"CREATE VIEW {name} AS SELECT * FROM {source}")


def _store_views(con: Any, folder: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    check_store(folder)
    empty = "SELECT NULL::VARCHAR AS sweep, NULL::BIGINT AS point WHERE false"
    for table in TABLES:
        _view(con, table, list(committed_files(folder, table)), _READ, empty=empty)
    _view(con, "summaries", list(committed_files(folder, SUMMARY_TABLE)), _READ,
          empty=empty.replace(" WHERE", ", NULL::VARCHAR AS observable, NULL::BIGINT AS runs, "
                              "NULL::DOUBLE AS mean, NULL::DOUBLE AS se, NULL::DOUBLE AS "
                              "ci_low, NULL::DOUBLE AS ci_high WHERE"))
    records = sweeps(folder)
    points = []
    for s in records:
        path = folder / "sweeps" / s["name"] / "points.parquet"
        if path.is_file():
            t = pq.read_table(path)
            points.append(t.add_column(0, "sweep", pa.array([s["name"]] * t.num_rows)))
    con.register("_points", pa.concat_tables(points, promote_options="permissive") if points
                 else pa.table({"sweep": pa.array([], pa.string()),
                                "point": pa.array([], pa.int64())}))
    con.execute("CREATE VIEW points AS SELECT * FROM _points")
    con.register("_sweeps", pa.Table.from_pylist(
        [{k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in s.items()}
         for s in records]) if records else pa.table({"name": pa.array([], pa.string())}))
    con.execute("CREATE VIEW sweeps AS SELECT * FROM _sweeps")


def _run_views(con: Any, folder: Path) -> None:
    import pyarrow as pa

    records = [json.loads(p.read_text(encoding="utf-8"))
               for p in sorted((folder / COMMITS).glob("part-*.json"))]
    for table in TABLES:
        _view(con, table, [folder / table / f"{r['name']}.parquet" for r in records])
    summary = json.loads((folder / SUMMARY).read_text(encoding="utf-8")) \
        if (folder / SUMMARY).is_file() else {"observables": {}, "runs": 0}
    found = summary["observables"]
    con.register("_summaries", pa.table({
        "observable": pa.array(list(found), pa.string()),
        "runs": pa.array([summary["runs"]] * len(found), pa.int64()),
        **{k: pa.array([v[k] for v in found.values()], pa.float64())
           for k in ("mean", "ci_low", "ci_high")}}))
    con.execute("CREATE VIEW summaries AS SELECT * FROM _summaries")
