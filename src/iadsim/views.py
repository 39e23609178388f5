"""SQL over stored results with DuckDB: a sweep store or a `run --out` folder, seen as views.

A run folder gives `replications`, `units`, `threats` and `passages`. A sweep store gives the
same four tables with `sweep` and `point` columns first, and `points` (each sweep's design:
sweep, point, one column per parameter path), `summaries` (each finished point's observables:
runs, mean, se, ci_low, ci_high) and `sweeps` (what each sweep is). Views read only the files
that commit records name: a task or block still being written, or killed while it was, is not
seen. A query opens only the views it names (each view of a large store reads the footer of
every file it lists).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from iadsim.store import MANIFEST, STORE_MARK, SUMMARY, TABLES, ResultsError, part_records
from iadsim.sweeps.store import (
    GLOB,
    SUMMARY_TABLE,
    check_store,
    committed_files,
    is_store,
    points_file,
    sweeps,
)

__all__ = ["VIEWS", "QueryError", "connect", "query", "relation"]

_READ = "union_by_name = true, hive_partitioning = false"
VIEWS = (*TABLES, SUMMARY_TABLE, "points", "sweeps")  # a run folder has the first five
_CATALOG_SCHEMAS = ("information_schema", "pg_catalog")


class QueryError(Exception):
    """A folder that holds no results, or SQL DuckDB refused; one line for the user."""


def connect(folder: str | Path, views: Iterable[str] | None = None) -> Any:
    """An in-memory DuckDB connection with views over the results in `folder`: those named
    in `views` (case-insensitive; others ignored), or all of them."""
    import duckdb

    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise QueryError(f"{folder}: is a file; give the folder of a sweep store or of "
                         "`iadsim run --out`")
    if not folder.is_dir():
        raise QueryError(f"{folder}: no such folder")
    if not is_store(folder) and not (folder / MANIFEST).is_file():
        raise QueryError(f"{folder}: holds no iadsim results (neither {STORE_MARK} of a sweep "
                         f"store nor {MANIFEST} of `iadsim run --out`)")
    root = folder.resolve()
    if GLOB & set(str(root)):
        raise QueryError(f"{folder}: a path with any of {' '.join(sorted(GLOB))} cannot be "
                         "read (DuckDB takes it as a pattern): move or rename the folder")
    wanted = set(VIEWS) if views is None else {v.lower() for v in views} & set(VIEWS)
    con = duckdb.connect()
    try:
        con.execute("SET parquet_metadata_cache = true")  # footers read once, not per use
        if is_store(folder):
            _store_views(con, root, wanted)
        else:
            _run_views(con, root, wanted)
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
    names = _named_tables(sql)
    try:
        try:
            return _select(folder, names, sql)
        except duckdb.CatalogException as exc:
            words = set(re.findall(r"\w+", str(exc).lower()))
            if names is None or not (set(VIEWS) - names) & words:
                raise
        return _select(folder, None, sql)  # a view the parse did not show after all
    except duckdb.Error as exc:
        raise QueryError(_one_line(exc)) from None


def _select(folder: str | Path, views: set[str] | None, sql: str) -> Any:
    con = connect(folder, views)
    try:
        return con.sql(sql)
    except BaseException:
        con.close()
        raise


def query(folder: str | Path, sql: str) -> Any:
    """A query's result as an Arrow table."""
    import duckdb

    rel = relation(folder, sql)
    try:
        return rel.to_arrow_table()
    except duckdb.Error as exc:  # errors raised as the query runs
        raise QueryError(_one_line(exc)) from None


def _named_tables(sql: str) -> set[str] | None:
    """The views a statement needs, from DuckDB's parse tree (not bound: the views do not
    exist yet); None for every view: SQL it cannot parse, SHOW or DESCRIBE, table functions
    and the catalog's own tables (which list or reach views by name), or no view named."""
    import duckdb

    try:
        with duckdb.connect() as con:
            tree = json.loads(con.execute("SELECT json_serialize_sql($1)", [sql]).fetchone()[0])
    except duckdb.Error:
        return None
    if tree.get("error"):
        return None
    names: set[str] = set()
    stack: list[Any] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            kind = node.get("type")
            if kind in ("SHOW_REF", "TABLE_FUNCTION") or kind == "BASE_TABLE" and \
                    str(node.get("schema_name", "")).lower() in _CATALOG_SCHEMAS:
                return None
            if kind == "BASE_TABLE":
                names.add(str(node.get("table_name", "")).lower())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return names if names & set(VIEWS) else None


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


def _store_views(con: Any, folder: Path, wanted: set[str]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    check_store(folder)
    empty = "SELECT NULL::VARCHAR AS sweep, NULL::BIGINT AS point WHERE false"
    records = sweeps(folder)
    files = committed_files(folder, records,
                            [t for t in (*TABLES, SUMMARY_TABLE) if t in wanted])
    for table in TABLES:
        if table in files:
            _view(con, table, files[table], _READ, empty=empty)
    if SUMMARY_TABLE in files:
        _view(con, SUMMARY_TABLE, files[SUMMARY_TABLE], _READ, empty=empty.replace(
            " WHERE", ", NULL::VARCHAR AS observable, NULL::BIGINT AS runs, NULL::DOUBLE AS "
            "mean, NULL::DOUBLE AS se, NULL::DOUBLE AS ci_low, NULL::DOUBLE AS ci_high WHERE"))
    if "points" in wanted:
        points = []
        for s in records:
            path = points_file(folder, s["name"])
            if path.is_file():
                t = pq.read_table(path)
                points.append(t.add_column(0, "sweep", pa.array([s["name"]] * t.num_rows)))
        con.register("_points", pa.concat_tables(points, promote_options="permissive")
                     if points else pa.table({"sweep": pa.array([], pa.string()),
                                              "point": pa.array([], pa.int64())}))
        con.execute("CREATE VIEW points AS SELECT * FROM _points")
    if "sweeps" in wanted:
        con.register("_sweeps", pa.Table.from_pylist(
            [{k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in s.items()}
             for s in records]) if records else pa.table({"name": pa.array([], pa.string())}))
        con.execute("CREATE VIEW sweeps AS SELECT * FROM _sweeps")


def _run_views(con: Any, folder: Path, wanted: set[str]) -> None:
    import pyarrow as pa

    records = part_records(folder)
    for table in TABLES:
        if table in wanted:
            _view(con, table, [folder / table / f"{r['name']}.parquet" for r in records])
    if SUMMARY_TABLE not in wanted:
        return
    summary = json.loads((folder / SUMMARY).read_text(encoding="utf-8")) \
        if (folder / SUMMARY).is_file() else {"observables": {}, "runs": 0}
    found = summary["observables"]
    con.register("_summaries", pa.table({
        "observable": pa.array(list(found), pa.string()),
        "runs": pa.array([summary["runs"]] * len(found), pa.int64()),
        **{k: pa.array([v[k] for v in found.values()], pa.float64())
           for k in ("mean", "ci_low", "ci_high")}}))
    con.execute("CREATE VIEW summaries AS SELECT * FROM _summaries")
