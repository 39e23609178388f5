"""Sweeps: tasks reproducible on their own, rows independent of the executor, a store that
survives SIGKILL, and DuckDB views that read only committed files.

Stores are compared as sorted rows of every table (read through the query views, so that the
views are tested too). Real signals go to real `iadsim sweep` processes, sent once a stated
condition holds on disk, never after a fixed time.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import dump, minimal_scenario
from typer.testing import CliRunner

from iadsim.api import load, load_sweep, query, relation, run, sweep
from iadsim.cli import app
from iadsim.engine.results import TABLES
from iadsim.store import ResultsError
from iadsim.sweeps import Progress, SweepError
from iadsim.sweeps.run import tasks_of
from iadsim.views import VIEWS, QueryError, connect

runner = CliRunner()
posix = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
KEYS = {"replications": ["replication"], "units": ["replication", "unit"],
        "threats": ["replication", "threat"],
        "passages": ["replication", "threat", "unit", "entry_s"]}


def write_sweep(folder: Path, name: str = "grid", **fields: Any) -> Path:
    """A sweep file over the minimal scenario (written beside it): a 2 × 2 grid by default."""
    (folder / "scenario.yaml").write_text(dump(minimal_scenario()))
    data = {"name": name, "scenario": "scenario.yaml",
            "parameters": {"fire_units.sam1.pk.fixed_wing": [0.3, 0.9],
                           "command_posts.cp1.authority": ["central", "autonomous"]},
            "replications": 400, "seed": 5, "task_replications": 150, **fields}
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def stored(store: Path, sweep_name: str | None = None) -> dict[str, Any]:
    """Every table of a store, through the views, sorted by point, replication and row keys."""
    where = f"WHERE sweep = '{sweep_name}'" if sweep_name else ""
    return {t: query(store, f"SELECT * FROM {t} {where} ORDER BY sweep, point, "
                            f"{', '.join(KEYS[t])}") for t in TABLES}


def assert_same_rows(a: dict[str, Any], b: dict[str, Any]) -> None:
    for name in TABLES:
        x, y = a[name], b[name]
        assert x.column_names == y.column_names and x.num_rows == y.num_rows, name
        for column in x.column_names:
            u = x[column].to_numpy(zero_copy_only=False)
            v = y[column].to_numpy(zero_copy_only=False)
            assert np.array_equal(u, v, equal_nan=u.dtype.kind == "f"), f"{name}.{column}"


def iadsim(*args: Any) -> subprocess.Popen[str]:
    """`iadsim ARGS` as its own process."""
    return subprocess.Popen([sys.executable, "-c", "from iadsim.main import entry; entry()",
                             *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def committed(store: Path) -> int:
    return len(list(store.glob("sweeps/*/tasks/point=*/task-*.json")))


def wait_for(condition: Any, proc: subprocess.Popen[str] | None, what: str,
             limit: float = 300) -> None:
    """Poll until `condition()` holds; fail if the process ends first or after `limit` s."""
    end = time.monotonic() + limit
    while not condition():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"ended before {what}: {proc.communicate()[1]}")
        assert time.monotonic() < end, f"no {what} within {limit} s"
        time.sleep(0.02)


# --- what a sweep computes ------------------------------------------------------------------------


def test_each_point_is_a_run_on_the_same_replications(tmp_path):
    spec = load_sweep(write_sweep(tmp_path))
    report = sweep(spec, tmp_path / "store")
    assert (report.points, report.tasks, report.tasks_run) == (4, 12, 12)
    rows = stored(tmp_path / "store")["replications"]
    points = query(tmp_path / "store", "SELECT * FROM points ORDER BY point").to_pylist()
    assert [p["point"] for p in points] == [0, 1, 2, 3]
    model = load(tmp_path / "scenario.yaml")
    for p in points:
        values = {k: v for k, v in p.items() if k not in ("sweep", "point")}
        alone = run(model.at(values=values), 400, seed=5).tables()["replications"]
        mine = rows.filter(np.asarray(rows["point"]) == p["point"])
        for column in alone.column_names:
            assert np.array_equal(mine[column].to_numpy(), alone[column].to_numpy()), \
                (p, column)
    # common random numbers: the points differ by parameters only, so at a pk of 0.3 and 0.9
    # (same authority) the same replications have the same threats
    by_point = {p: rows.filter(np.asarray(rows["point"]) == p) for p in range(4)}
    assert np.array_equal(by_point[0]["threats"].to_numpy(), by_point[2]["threats"].to_numpy())


def test_summaries_agree_with_the_rows(tmp_path):
    sweep(load_sweep(write_sweep(tmp_path)), tmp_path / "store")
    both = query(tmp_path / "store", """
        SELECT s.point, s.mean, s.runs, r.mean AS rows_mean, r.n
        FROM summaries s JOIN (SELECT point, avg(leakers) AS mean, count(*) AS n
                               FROM replications GROUP BY point) r USING (point)
        WHERE s.observable = 'leakers' ORDER BY point""").to_pylist()
    assert len(both) == 4
    for row in both:
        assert row["runs"] == row["n"] == 400
        assert row["mean"] == pytest.approx(row["rows_mean"], rel=1e-12)


def test_rows_and_summaries_do_not_depend_on_workers(tmp_path):
    path = write_sweep(tmp_path)
    sweep(load_sweep(path), tmp_path / "one")
    sweep(load_sweep(path), tmp_path / "two", workers=2)
    assert_same_rows(stored(tmp_path / "one"), stored(tmp_path / "two"))
    summaries = "SELECT * FROM summaries ORDER BY point, observable"
    assert query(tmp_path / "one", summaries).equals(query(tmp_path / "two", summaries))


def test_progress_counts_every_task_once(tmp_path):
    seen: list[Progress] = []
    sweep(load_sweep(write_sweep(tmp_path)), tmp_path / "store", progress=seen.append)
    assert [p.tasks_done for p in seen] == list(range(13))
    assert seen[-1].points_done == 4 and seen[-1].replications == 1600
    assert seen[-1].replications_left == 0


def test_tasks_cover_every_replication_of_every_point_once():
    tasks = tasks_of(3, 1000, 300)
    assert len(tasks) == 12
    for p in range(3):
        spans = sorted((f, f + n) for q, f, n in tasks if q == p)
        assert spans[0][0] == 0 and spans[-1][1] == 1000
        assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))


# --- the store ------------------------------------------------------------------------------------


def test_a_rerun_skips_what_is_done_and_a_changed_file_is_refused(tmp_path):
    path = write_sweep(tmp_path)
    store = tmp_path / "store"
    sweep(load_sweep(path), store)
    again = sweep(load_sweep(path), store)
    assert again.tasks_run == 0
    write_sweep(tmp_path, replications=500)
    with pytest.raises(ResultsError, match=r"holds sweep 'grid' from a different sweep file "
                                           r"\(replications changed\)"):
        sweep(load_sweep(path), store)
    replaced = sweep(load_sweep(path), store, overwrite=True)
    assert replaced.tasks_run == replaced.tasks == 16
    count = query(store, "SELECT count(*) AS n FROM replications").to_pylist()[0]["n"]
    assert count == 4 * 500


def test_ctrl_c_while_the_store_opens_is_a_stopped_sweep(tmp_path, monkeypatch):
    """Stopped after the store is taken but before a task ran: a stopped sweep (not a bare
    KeyboardInterrupt), and the store is free for the rerun that completes it."""
    from iadsim.sweeps.run import SweepInterrupted
    from iadsim.sweeps.store import SweepStore

    def stopped(self: SweepStore) -> Any:
        raise KeyboardInterrupt

    path = write_sweep(tmp_path)
    store = tmp_path / "store"
    monkeypatch.setattr(SweepStore, "clear_uncommitted", stopped)
    with pytest.raises(SweepInterrupted) as stop:
        sweep(load_sweep(path), store)
    assert (stop.value.report.tasks, stop.value.report.tasks_run) == (12, 0)
    monkeypatch.undo()
    done = sweep(load_sweep(path), store)
    assert done.tasks_run == done.tasks == 12


def test_a_changed_task_size_keeps_the_stores_and_says_so(tmp_path):
    path = write_sweep(tmp_path, replications=300)
    store = tmp_path / "store"
    first = sweep(load_sweep(path), store)
    assert (first.task_replications, first.tasks) == (150, 8)
    write_sweep(tmp_path, replications=300, task_replications=100)  # rows do not depend on it
    result = runner.invoke(app, ["sweep", str(path), "--store", str(store)])
    assert result.exit_code == 0, result.output
    assert "task_replications 100 not applied" in result.output
    assert "began with tasks of 150" in result.output
    again = sweep(load_sweep(path), store)
    assert (again.task_replications, again.tasks, again.tasks_run) == (150, 8, 0)


def test_sweeps_of_other_names_share_a_store(tmp_path):
    store = tmp_path / "store"
    sweep(load_sweep(write_sweep(tmp_path, "a")), store)
    sweep(load_sweep(write_sweep(tmp_path, "b", seed=6)), store)
    counts = query(store, "SELECT sweep, count(*) AS n FROM replications GROUP BY sweep "
                          "ORDER BY sweep").to_pylist()
    assert counts == [{"sweep": "a", "n": 1600}, {"sweep": "b", "n": 1600}]
    names = query(store, "SELECT name, seed FROM sweeps ORDER BY name").to_pylist()
    assert names == [{"name": "a", "seed": 5}, {"name": "b", "seed": 6}]


def test_a_folder_that_is_not_a_store_is_refused(tmp_path):
    path = write_sweep(tmp_path)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(ResultsError, match="not an iadsim store"):
        sweep(load_sweep(path), busy)
    assert sorted(p.name for p in busy.iterdir()) == [".lock", "notes.txt"]
    with pytest.raises(QueryError, match="holds no iadsim results"):
        query(busy, "SELECT 1")
    (tmp_path / "fake").mkdir()
    (tmp_path / "fake" / "store.json").write_text("[1, 2]")
    with pytest.raises(QueryError, match="does not mark an iadsim store"):
        query(tmp_path / "fake", "SELECT 1")


def test_uncommitted_files_are_not_read_and_are_cleared_on_rerun(tmp_path):
    path = write_sweep(tmp_path)
    store = tmp_path / "store"
    sweep(load_sweep(path), store)
    whole = stored(store)
    record = next(store.glob("sweeps/grid/tasks/point=1/task-*.json"))
    record.unlink()  # as if killed after the task's tables were renamed, before its record
    stray = store / "threats" / "sweep=grid" / "point=0" / ".task-x.parquet.partial"
    stray.write_bytes(b"half a file")
    n = query(store, "SELECT count(*) AS n FROM replications").to_pylist()[0]["n"]
    assert n == 1600 - 150  # the task without its record is not seen, the partial file never
    rerun = sweep(load_sweep(path), store)
    assert rerun.tasks_run == 1 and not stray.exists()
    assert_same_rows(whole, stored(store))


def test_run_out_folders_are_queried_the_same_way(tmp_path):
    result = runner.invoke(app, ["run", str(write_sweep(tmp_path).parent / "scenario.yaml"),
                                 "-n", "300", "--out", str(tmp_path / "run"), "--json"])
    assert result.exit_code == 0, result.output
    rows = query(tmp_path / "run", "SELECT count(*) AS n, sum(threats) AS t FROM replications"
                 ).to_pylist()
    assert rows == [{"n": 300, "t": 300}]
    mean = query(tmp_path / "run", "SELECT mean FROM summaries WHERE observable = 'threats'")
    assert mean.to_pylist() == [{"mean": 1.0}]
    plotted = runner.invoke(app, ["plot", str(tmp_path / "run"), "--x", "a"])
    assert plotted.exit_code == 1 and "not a sweep store" in plotted.output


def test_a_kill_while_overwriting_or_lost_files_never_mix_sweeps(tmp_path):
    store = tmp_path / "store"
    sweep(load_sweep(write_sweep(tmp_path)), store)
    # killed in --overwrite just after the sweep's records were renamed away: its tables stay
    (store / "sweeps" / "grid").rename(store / "sweeps" / ".grid.removed")
    changed = write_sweep(tmp_path, seed=9)
    sweep(load_sweep(changed), store)
    sweep(load_sweep(changed), tmp_path / "fresh")
    assert_same_rows(stored(tmp_path / "fresh"), stored(store))
    assert query(store, "SELECT * FROM summaries ORDER BY point, observable").equals(
        query(tmp_path / "fresh", "SELECT * FROM summaries ORDER BY point, observable"))
    # a committed task whose table file went missing is run again, not read
    lost = next(store.glob("passages/sweep=grid/point=2/task-*.parquet"))
    lost.unlink()
    assert sweep(load_sweep(changed), store).tasks_run == 1
    assert_same_rows(stored(tmp_path / "fresh"), stored(store))


def test_a_store_is_not_a_run_folder_and_names_must_suit_a_store(tmp_path):
    store = tmp_path / "store"
    sweep(load_sweep(write_sweep(tmp_path)), store)
    refused = runner.invoke(app, ["run", str(tmp_path / "scenario.yaml"), "-n", "5", "--out",
                                  str(store), "--overwrite"])
    assert refused.exit_code == 1 and "is a sweep store" in refused.output
    assert query(store, "SELECT count(*) AS n FROM replications").to_pylist() == [{"n": 1600}]
    odd = write_sweep(tmp_path, "x")
    text = yaml.safe_load(odd.read_text())
    del text["name"]
    (tmp_path / "p=1.yaml").write_text(yaml.safe_dump(text))
    from iadsim.scenario import ScenarioError

    with pytest.raises(ScenarioError, match="give `name:`"):
        load_sweep(tmp_path / "p=1.yaml")


def test_sweeps_of_different_scenarios_share_a_store(tmp_path):
    store = tmp_path / "store"
    sweep(load_sweep(write_sweep(tmp_path, "small")), store)
    other = minimal_scenario()
    other["sensors"].append({"id": "sr2", "role": "search", "lat": 50.2, "lon": 30.0,
                             "range_km": 150, "detect_rate": 0.1, "command_post": "cp1"})
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "scenario.yaml").write_text(dump(other))
    path = tmp_path / "other" / "wider.yaml"
    path.write_text(yaml.safe_dump({
        "name": "wider", "scenario": "scenario.yaml", "replications": 100,
        "parameters": {"fire_units.sam1.shoot_look_shoot": [True, False]}}))
    sweep(load_sweep(path), store)
    rows = query(store, "SELECT sweep, count(*) AS n, count(\"destroyed[id=sr2]\") AS sr2 "
                        "FROM replications GROUP BY sweep ORDER BY sweep").to_pylist()
    assert rows == [{"sweep": "small", "n": 1600, "sr2": 0},
                    {"sweep": "wider", "n": 200, "sr2": 200}]
    lazy = relation(store, "SELECT sweep, leakers FROM replications")
    assert lazy.aggregate("sweep, count(*) AS n").order("sweep").fetchall() == [
        ("small", 1600), ("wider", 200)]
    points = query(store, "SELECT * FROM points WHERE sweep = 'wider' ORDER BY point")
    assert points["fire_units.sam1.shoot_look_shoot"].to_pylist() == [True, False]


def test_queries_only_read_the_results(tmp_path):
    store = tmp_path / "store"
    sweep(load_sweep(write_sweep(tmp_path)), store)
    for sql, message in (
            (f"COPY (SELECT 1) TO '{tmp_path / 'x.csv'}'", "give one SELECT"),
            ("SELECT 1; SELECT 2", "give one SELECT"),
            ("CREATE TABLE t AS SELECT 1", "give one SELECT"),
            ("SELECT * FROM read_csv('/etc/passwd')", "Permission")):
        with pytest.raises(QueryError, match=message):
            query(store, sql)
    assert not (tmp_path / "x.csv").exists()


def test_a_query_opens_the_views_it_names_and_sees_the_same_rows(tmp_path):
    store = tmp_path / "store"
    sweep(load_sweep(write_sweep(tmp_path)), store)
    con = connect(store, ["Units", "nothing"])
    try:
        views = {r[0] for r in con.sql("SELECT view_name FROM duckdb_views() WHERE NOT internal")
                 .fetchall()}
    finally:
        con.close()
    assert views == {"units"}
    joined = "SELECT count(*) AS n FROM replications JOIN units USING (sweep, point, replication)"
    assert query(store, joined).to_pylist() == [{"n": 4 * 400}]  # one unit
    # a view named only inside a string is not seen by the parse: every view is opened then
    hidden = query(store, "SELECT count(*) AS n FROM query_table('threats')")
    assert hidden.to_pylist() == query(store, "SELECT count(*) AS n FROM threats").to_pylist()
    with pytest.raises(QueryError, match="no_such_view"):
        query(store, "SELECT * FROM no_such_view")
    # what lists the views by name (SHOW, the catalog) sees all of them
    for sql in ("SHOW TABLES", "SELECT name FROM (SHOW TABLES)",
                "SELECT table_name AS name FROM information_schema.tables"):
        listed = set(query(store, sql)["name"].to_pylist())
        assert set(VIEWS) <= listed, sql


# --- the command line -----------------------------------------------------------------------------


def test_the_commands_sweep_query_and_plot(tmp_path):
    path = write_sweep(tmp_path)
    store = tmp_path / "store"
    done = runner.invoke(app, ["sweep", str(path), "--store", str(store), "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["tasks_run"] == 12
    shown = runner.invoke(app, ["query", str(store), "SELECT point, count(*) AS n FROM "
                                "replications GROUP BY point ORDER BY point", "--json"])
    assert json.loads(shown.stdout) == [{"point": p, "n": 400} for p in range(4)]
    csv = runner.invoke(app, ["query", str(store), "SELECT point FROM points ORDER BY point",
                              "--csv"])
    assert csv.stdout.split() == ['"point"', "0", "1", "2", "3"]
    bad = runner.invoke(app, ["query", str(store), "SELEC point FROM points"])
    assert bad.exit_code == 1
    assert bad.output.count("error:") == 1 and "syntax error" in bad.output
    assert len(bad.output.strip().splitlines()) == 1
    for figure, extra in (("line.png", []), ("map.svg", ["--y", "command_posts.cp1.authority"])):
        drawn = runner.invoke(app, ["plot", str(store), "--x", "fire_units.sam1.pk.fixed_wing",
                                    *extra, "--observable", "threats_killed", "-o",
                                    str(tmp_path / figure)])
        assert drawn.exit_code == 0, drawn.output
        head = (tmp_path / figure).read_bytes()[:64]
        assert head.startswith(b"\x89PNG") if figure.endswith("png") else b"<svg" in \
            (tmp_path / figure).read_bytes()[:2000] or head.startswith(b"<?xml")
    folder = runner.invoke(app, ["plot", str(store), "--x", "fire_units.sam1.pk.fixed_wing",
                                 "-o", str(tmp_path)])
    assert folder.exit_code == 1 and "is a folder" in folder.output
    unknown = runner.invoke(app, ["plot", str(store), "--x", "fire_units.sam1.salvo"])
    assert unknown.exit_code == 1 and "has no parameter 'fire_units.sam1.salvo'" in \
        unknown.output and "fire_units.sam1.pk.fixed_wing" in unknown.output
    nothing = runner.invoke(app, ["plot", str(store), "--x", "fire_units.sam1.pk.fixed_wing",
                                  "--observable", "nonsense"])
    assert nothing.exit_code == 1 and "observables: " in nothing.output


def test_a_query_process_exits(tmp_path):
    """DuckDB 2.0.0 could hang at interpreter exit: a process that queried must end."""
    sweep(load_sweep(write_sweep(tmp_path)), tmp_path / "store")
    proc = iadsim("query", tmp_path / "store", "SELECT count(*) FROM units")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "1600" in out


@pytest.mark.parametrize("peer", ["refused", "silent", "malformed"])
def test_an_unreachable_scheduler_is_one_line_within_seconds(tmp_path, peer):
    """Nothing listening, a peer that accepts and never answers, a malformed address: a
    SweepError within seconds, and nothing written."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        if peer == "silent":
            s.listen()
        address = "tcp:/127.0.0.1" if peer == "malformed" else f"tcp://127.0.0.1:{port}"
        start = time.monotonic()
        with pytest.raises(SweepError, match="expected tcp://HOST:PORT" if peer == "malformed"
                           else rf"cannot reach a Dask scheduler at {address}"):
            sweep(load_sweep(write_sweep(tmp_path)), tmp_path / "store", scheduler=address)
    assert time.monotonic() - start < 10
    assert not (tmp_path / "store").exists()


# --- kills and clusters ---------------------------------------------------------------------------


def caracas_sweep(folder: Path, task: int = 200) -> Path:
    """A sweep of many small tasks on the built-in scenario: a kill lands between commits."""
    path = folder / "caracas.yaml"
    path.write_text(yaml.safe_dump({
        "name": "kill", "scenario": "caracas-2026", "profile": "reported",
        "parameters": {"groups.s300.readiness.connected": [0.0, 0.5, 1.0],
                       "command_posts.cp-air-defence.authority": ["central", "autonomous"]},
        "replications": 1200, "seed": 2, "task_replications": task}))
    return path


@posix
@pytest.mark.slow
@pytest.mark.parametrize("moment", ["started", "committed"])
def test_sigkill_then_rerun_completes_the_sweep_exactly(tmp_path, moment):
    path = caracas_sweep(tmp_path)
    sweep(load_sweep(path), tmp_path / "whole")
    store = tmp_path / "killed"
    proc = iadsim("sweep", path, "--store", store, "--workers", 2, "--json")
    wait_for((lambda: (store / "sweeps" / "kill" / "sweep.json").exists()) if moment ==
             "started" else (lambda: committed(store) >= 2), proc, moment)
    proc.kill()
    proc.communicate(timeout=30)
    kept = committed(store)
    assert kept < 36, "the kill came after the sweep ended: nothing was tested"
    n = query(store, "SELECT count(*) AS n FROM replications").to_pylist()[0]["n"]
    assert n == 200 * kept  # every committed task whole, nothing else
    rerun = iadsim("sweep", path, "--store", store, "--workers", 2, "--json")
    out, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err
    assert json.loads(out)["tasks_run"] == 36 - kept
    assert_same_rows(stored(tmp_path / "whole"), stored(store))
    a = query(tmp_path / "whole", "SELECT * FROM summaries ORDER BY point, observable")
    b = query(store, "SELECT * FROM summaries ORDER BY point, observable")
    assert a.equals(b)


@posix
@pytest.mark.slow
def test_ctrl_c_stops_a_sweep_that_a_rerun_completes(tmp_path):
    path = caracas_sweep(tmp_path)
    store = tmp_path / "store"
    proc = iadsim("sweep", path, "--store", store, "--workers", 2)
    wait_for(lambda: committed(store) >= 1, proc, "a committed task")
    proc.send_signal(signal.SIGINT)
    start = time.monotonic()
    out, err = proc.communicate(timeout=60)
    assert time.monotonic() - start < 30
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "run the same command again" in err
    rerun = iadsim("sweep", path, "--store", store, "--json")
    out, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err
    n = query(store, "SELECT count(*) AS n FROM replications").to_pylist()[0]["n"]
    assert n == 6 * 1200


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A Dask LocalCluster of 2 worker processes."""
    distributed = pytest.importorskip("distributed")
    folder = tmp_path_factory.mktemp("dask")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, local_directory=str(folder),
                                  silence_logs=40) as c:
        yield c


@pytest.mark.slow
def test_a_dask_cluster_writes_the_same_rows(tmp_path, cluster):
    path = caracas_sweep(tmp_path)
    sweep(load_sweep(path), tmp_path / "local", workers=2)
    report = sweep(load_sweep(path), tmp_path / "dask", scheduler=cluster.scheduler_address)
    assert report.executor.startswith("Dask at") and report.tasks_run == 36
    assert_same_rows(stored(tmp_path / "local"), stored(tmp_path / "dask"))


@posix
@pytest.mark.slow
def test_a_dask_worker_killed_mid_task_loses_nothing(tmp_path, cluster):
    from distributed import Client

    path = caracas_sweep(tmp_path, task=600)  # 12 tasks, long enough to be killed in
    sweep(load_sweep(path), tmp_path / "whole")
    store = tmp_path / "dask"
    with Client(cluster.scheduler_address) as client:
        pids = sorted(client.run(os.getpid).values())
    failure: list[BaseException] = []

    def work() -> None:
        try:
            sweep(load_sweep(path), store, scheduler=cluster.scheduler_address)
        except BaseException as exc:  # noqa: BLE001 (reported below)
            failure.append(exc)

    worker = threading.Thread(target=work)
    worker.start()
    wait_for(lambda: committed(store) >= 2, None, "two committed tasks")
    os.kill(pids[0], signal.SIGKILL)  # mid-task: the worker has tasks in flight
    assert committed(store) < 12, "the kill came after the sweep ended: nothing was tested"
    worker.join(timeout=600)
    assert not worker.is_alive()
    if failure:  # the cluster gave up on the task: a rerun completes the sweep
        assert isinstance(failure[0], SweepError), failure
        sweep(load_sweep(path), store, scheduler=cluster.scheduler_address)
    assert_same_rows(stored(tmp_path / "whole"), stored(store))
