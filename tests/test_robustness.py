"""Nothing lost, nothing hangs, no traceback: interrupts, signals and the results folder.

Real signals go to real `iadsim run` processes; each test waits for a stated condition on disk
(the run's manifest, a committed part) before it signals, never for a fixed time. After every
stop, the files on disk must be whole, readable as one dataset per table, and agree with
summary.json; `--resume` must complete the run to the rows of an uninterrupted one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from conftest import dump, minimal_scenario
from typer.testing import CliRunner

from iadsim.cli import app
from iadsim.engine.results import TABLES

runner = CliRunner()
SCENARIO = "caracas-2026"
posix = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")


def iadsim(*args: Any, **popen: Any) -> subprocess.Popen[str]:
    """`iadsim ARGS` as its own process (the installed entry point's code)."""
    return subprocess.Popen([sys.executable, "-c", "from iadsim.main import entry; entry()",
                             *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **popen)


def wait_for(condition: Any, proc: subprocess.Popen[str], what: str, limit: float = 120) -> None:
    """Poll until `condition()` holds (the process must still be running)."""
    deadline = time.monotonic() + limit
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"process ended before {what}: {proc.communicate()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"no {what} within {limit} s")
        time.sleep(0.05)


def committed(folder: Path) -> int:
    return len(list((folder / "parts").glob("part-*.json"))) if (folder / "parts").is_dir() \
        else 0


def tables(folder: Path) -> dict[str, Any]:
    """Every table as one dataset (hidden files, such as parts written aside, are not read)."""
    return {t: ds.dataset(folder / t, format="parquet").to_table() for t in TABLES}


def _decoded(table: pa.Table) -> pa.Table:
    """The table with its dictionary-encoded labels as plain strings (sortable)."""
    return pa.table({name: column.cast(pa.string()) if pa.types.is_dictionary(column.type)
                     else column for name, column in zip(table.column_names, table.columns,
                                                         strict=True)})


def assert_consistent(folder: Path, summary: dict[str, Any] | None = None) -> int:
    """The tables hold the same whole replications, the summary counts exactly them, and no
    file written aside is left behind. Returns the number of replications."""
    summary = summary or json.loads((folder / "summary.json").read_text())
    data = {t: ds.dataset(folder / t, format="parquet").to_table(
        columns=["replication", "threats_killed"] if t == "replications" else ["replication"])
        for t in TABLES}
    reps = np.sort(data["replications"].column("replication").to_numpy())
    assert len(reps) == len(np.unique(reps)), "a replication written twice"
    assert summary["runs"] == len(reps)
    for name in ("units", "threats", "passages"):
        assert np.isin(data[name].column("replication").to_numpy(), reps).all(), name
    n_units = data["units"].num_rows / max(1, len(reps))
    assert n_units == int(n_units)
    killed = data["replications"].column("threats_killed").to_numpy().sum()
    assert killed / len(reps) == pytest.approx(summary["observables"]["threats_killed"]["mean"])
    assert not [p for p in folder.rglob("*.partial")]
    return len(reps)


# --- signals -----------------------------------------------------------------------------------


@posix
@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("moment", ["started", "committed"])
def test_a_stopped_run_summarises_exactly_what_it_wrote(tmp_path, signum, moment):
    folder = tmp_path / "out"
    proc = iadsim("run", SCENARIO, "--runs", 2_000_000, "--out", folder, "--json")
    wait_for((lambda: (folder / "run.json").exists()) if moment == "started"
             else (lambda: committed(folder) >= 1), proc, moment)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    if not out:  # stopped before a block finished: nothing to summarise, nothing written
        assert moment == "started" and "before any replication finished" in err
        assert committed(folder) == 0 and not (folder / "summary.json").exists()
        return
    summary = json.loads(out)
    assert json.loads((folder / "summary.json").read_text()) == summary
    assert assert_consistent(folder, summary) > 0


@posix
@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_sigkill_loses_only_uncommitted_blocks_and_resume_completes_the_run(tmp_path, workers):
    runs = 40_000  # parts of ~8,000 replications (64 MB): a kill mid-run keeps a few
    whole = tmp_path / "whole"
    proc = iadsim("run", SCENARIO, "--runs", runs, "--out", whole, "--json", "--seed", 3)
    proc.communicate(timeout=600)
    assert proc.returncode == 0
    folder = tmp_path / "killed"
    proc = iadsim("run", SCENARIO, "--runs", runs, "--out", folder, "--json", "--seed", 3,
                  "--workers", workers)
    wait_for(lambda: committed(folder) >= 1, proc, "a committed part")
    children = _children(proc.pid)
    proc.kill()
    proc.communicate(timeout=30)
    _assert_gone(children)  # workers die with their parent
    kept = tables(folder)  # every committed part is readable; nothing partial is read
    assert kept["replications"].num_rows > 0
    resumed = iadsim("run", SCENARIO, "--runs", runs, "--out", folder, "--json", "--seed", 3,
                     "--resume")
    out, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err
    a, b = tables(whole), tables(folder)
    for name in TABLES:
        keys = ["replication"] + (["unit"] if name == "units" else
                                  ["threat"] if name in ("threats", "passages") else [])
        if name == "passages":
            keys += ["unit", "entry_s"]
        x, y = (_decoded(t[name]).sort_by([(k, "ascending") for k in keys]) for t in (a, b))
        assert x.column_names == y.column_names and x.num_rows == y.num_rows, name
        for column in x.column_names:  # NaN (no kill time) equals NaN here
            u, v = x[column].to_numpy(zero_copy_only=False), y[column].to_numpy(
                zero_copy_only=False)
            same = np.array_equal(u, v, equal_nan=u.dtype.kind == "f")
            assert same, f"{name}.{column} differs after resume"
    s1 = json.loads((whole / "summary.json").read_text())
    s2 = json.loads(out)
    assert s1["runs"] == s2["runs"] == runs
    assert s1["first_broken_link"] == s2["first_broken_link"]
    for name, est in s1["observables"].items():
        assert s2["observables"][name]["mean"] == pytest.approx(est["mean"], rel=1e-9), name


@posix
@pytest.mark.slow
def test_ctrl_c_with_two_workers_stops_promptly_without_tracebacks(tmp_path):
    folder = tmp_path / "out"
    proc = iadsim("run", SCENARIO, "--runs", 2_000_000, "--out", folder, "--json",
                  "--workers", 2)
    wait_for(lambda: committed(folder) >= 1, proc, "a committed part")
    children = _children(proc.pid)
    assert children, "no worker processes"
    proc.send_signal(signal.SIGINT)
    start = time.monotonic()
    out, err = proc.communicate(timeout=30)
    assert time.monotonic() - start < 15
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert_consistent(folder, json.loads(out))
    _assert_gone(children)


def _children(pid: int) -> list[int]:
    """Processes whose parent is pid (Linux /proc; empty elsewhere)."""
    out = []
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = entry.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(entry.parent.name))
    return out


def _assert_gone(pids: list[int], limit: float = 10) -> None:
    deadline = time.monotonic() + limit
    alive = pids
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if Path(f"/proc/{p}").exists()
                 and "Z" not in Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1][:3]]
        time.sleep(0.05)
    assert not alive, f"worker processes left running: {alive}"


# --- in-process: the reference engine, a full disk, the folder --------------------------------


def test_the_reference_engine_keeps_every_finished_replication(tmp_path, monkeypatch):
    import iadsim.engine.reference as reference

    real = reference.simulate_row
    calls = []

    def interrupted(*args: Any) -> Any:
        calls.append(1)
        if len(calls) == 8:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(reference, "simulate_row", interrupted)
    result = runner.invoke(app, ["run", SCENARIO, "--runs", 100, "--engine", "reference",
                                 "--json", "--out", str(tmp_path / "out")])
    assert result.exit_code == 130
    summary = json.loads(result.stdout)
    assert summary["runs"] == 7
    assert assert_consistent(tmp_path / "out", summary) == 7


def test_a_full_disk_is_one_line_and_keeps_what_was_written(tmp_path, monkeypatch):
    import errno

    import pyarrow.parquet as pq

    from iadsim import store

    monkeypatch.setattr(store, "PART_BYTES", 1)  # a part per block
    real = pq.write_table
    writes = []

    def full(table: Any, where: Any, **kw: Any) -> None:
        writes.append(where)
        if len(writes) == 6:  # the second part's second table
            real(table.slice(0, 1), where, **kw)  # something was written before it failed
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(table, where, **kw)

    monkeypatch.setattr(pq, "write_table", full)
    folder = tmp_path / "out"
    result = runner.invoke(app, ["run", SCENARIO, "--runs", 5000, "--out", str(folder),
                                 "--json"])
    assert result.exit_code == 1
    lines = [line for line in (result.stderr or result.output).splitlines()
             if line.strip() and not line.startswith(("warning:", "("))]  # inert parameters
    assert len(lines) == 1 and "No space left on device" in lines[0], lines
    assert "kept the" in lines[0] and "Traceback" not in result.output
    kept = assert_consistent(folder)
    assert kept == json.loads((folder / "summary.json").read_text())["runs"] > 0
    assert committed(folder) == 1


def test_a_summary_that_cannot_be_written_is_one_line_that_does_not_claim_it(tmp_path,
                                                                                monkeypatch):
    import errno

    from iadsim.api import load, simulate
    from iadsim.store import SUMMARY, ResultsError, ResultsStore

    real = ResultsStore._write_json

    def full(self: ResultsStore, name: str, data: Any) -> Path:
        if name == SUMMARY:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, name, data)

    monkeypatch.setattr(ResultsStore, "_write_json", full)
    folder = tmp_path / "out"
    with pytest.raises(ResultsError) as stop:
        simulate(load(SCENARIO), 300, seed=1, out=folder)
    assert "No space left on device" in str(stop.value)
    assert "kept the 300 replications already written" in str(stop.value)
    assert "summary.json" not in str(stop.value) and not (folder / "summary.json").exists()
    monkeypatch.undo()
    assert simulate(load(SCENARIO), 300, seed=1, out=folder, mode="resume").runs == 300


def test_an_os_error_is_called_a_results_error_only_where_a_folder_was_written(tmp_path,
                                                                                monkeypatch):
    import errno

    from iadsim.api import load, simulate
    from iadsim.store import ResultsError, ResultsStore

    def denied(*args: Any) -> Any:
        raise OSError(errno.EACCES, os.strerror(errno.EACCES))

    model = load(SCENARIO)
    with pytest.raises(OSError):  # the caller's own error, no folder involved (a
        simulate(model, 100, seed=1, progress=denied)  # ResultsError is not an OSError)
    monkeypatch.setattr(ResultsStore, "_open", denied)
    with pytest.raises(ResultsError, match="cannot open the results folder"):
        simulate(model, 100, seed=1, out=tmp_path / "out")


def test_a_folder_with_results_is_refused_unless_resume_or_overwrite(tmp_path):
    folder = str(tmp_path / "out")
    first = runner.invoke(app, ["run", SCENARIO, "--runs", 50, "--out", folder, "--json"])
    assert first.exit_code == 0
    again = runner.invoke(app, ["run", SCENARIO, "--runs", 50, "--out", folder, "--json"])
    assert again.exit_code == 1
    assert "already holds results" in again.output and "--resume" in again.output
    over = runner.invoke(app, ["run", SCENARIO, "--runs", 30, "--out", folder, "--json",
                               "--overwrite"])
    assert over.exit_code == 0 and assert_consistent(tmp_path / "out") == 30
    done = runner.invoke(app, ["run", SCENARIO, "--runs", 30, "--out", folder, "--json",
                               "--resume"])
    assert done.exit_code == 0
    assert json.loads(done.stdout) == json.loads(over.stdout)  # nothing left to run
    other = runner.invoke(app, ["run", SCENARIO, "--runs", 30, "--out", folder, "--json",
                                "--resume", "--seed", "4"])
    assert other.exit_code == 1 and "seed" in other.output


@posix
def test_two_runs_cannot_write_one_folder(tmp_path):
    from iadsim.store import ResultsStore

    folder = tmp_path / "out"
    holder = ResultsStore(folder, {"runs": 1})
    try:
        result = runner.invoke(app, ["run", SCENARIO, "--runs", 10, "--out", str(folder)])
        assert result.exit_code == 1
        assert f"another iadsim run (pid {os.getpid()}) is writing here" in result.output
    finally:
        holder.finish(None)


@pytest.mark.parametrize("target, message", [
    ("file", "exists and is not a folder"),
    ("file/below", "is a file, not a folder"),
    ("", "give a folder name"),
])
def test_a_bad_out_is_refused_before_any_work(tmp_path, monkeypatch, target, message):
    import iadsim.api

    (tmp_path / "file").write_text("x")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(iadsim.api, "load", lambda *a, **k: pytest.fail("compiled anyway"))
    result = runner.invoke(app, ["run", SCENARIO, "--out", target])
    assert result.exit_code == 1 and message in result.output, result.output


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes anywhere")
def test_an_unwritable_out_is_refused_before_any_work(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    result = runner.invoke(app, ["run", SCENARIO, "--out", str(locked / "out")])
    assert result.exit_code == 1 and "cannot write here" in result.output


def test_a_defence_without_fire_units_writes_its_tables(tmp_path):
    scenario = minimal_scenario()
    scenario["fire_units"] = []
    path = tmp_path / "none.yaml"
    path.write_text(dump(scenario))
    result = runner.invoke(app, ["run", str(path), "-n", "40", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    written = tables(tmp_path / "out")
    assert written["replications"].num_rows == 40 and written["units"].num_rows == 0
    assert written["passages"].num_rows == 0
    assert assert_consistent(tmp_path / "out") == 40


def test_one_run_shows_its_interval_as_undefined():
    result = runner.invoke(app, ["run", SCENARIO, "--runs", 1])
    assert result.exit_code == 0
    assert "± undefined" in result.stdout and "±0.00" not in result.stdout


def test_workers_are_capped_at_the_cpu_count(tmp_path):
    result = runner.invoke(app, ["run", SCENARIO, "--runs", 20, "--workers", 1000, "--json"])
    assert result.exit_code == 0
    assert f"using {os.cpu_count()}" in (result.stderr or result.output)


def test_blocks_are_made_lazily():
    """`--runs` far beyond any machine starts at once: the blocks are generated as they run."""
    from iadsim.api import _blocks, load

    gen = _blocks(load(SCENARIO), [(0, 2 ** 70)], 0, "vectorized", 1, 64, True, None,
                  ("threats",))
    first, counted, block = next(gen)
    gen.close()
    assert first == 0 and block.runs == 64 and counted.n == 64
    assert np.all(block.replication == np.arange(64))


# --- hostile input ----------------------------------------------------------------------------

MINIMAL = """name: tiny
duration_s: 600
reference: {lat: 10.0, lon: -66.0}
threats:
  - id: t
    class: helicopter
    rcs_m2: 5
    speed_mps: 50
    route:
      - {lat: 10.0, lon: -66.0, alt_m: 100}
      - {lat: 10.1, lon: -66.0, alt_m: 100}
"""


def guarded(*args: Any, memory_gb: float = 4.0, timeout: float = 120) -> Any:
    """`iadsim ARGS` in a subprocess whose address space is capped: a regression that blows
    up fails the test instead of the machine."""
    import resource

    def cap() -> None:
        limit = int(memory_gb * 2 ** 30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return subprocess.run([sys.executable, "-c", "from iadsim.main import entry; entry()",
                           *map(str, args)], capture_output=True, text=True, timeout=timeout,
                          preexec_fn=cap)


@posix
def test_an_alias_bomb_is_refused_in_bounded_memory(tmp_path):
    lines = ["name: bomb", "duration_s: 60", "a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    assert path.stat().st_size < 500  # 9^9 values once expanded
    result = guarded("validate", path)
    assert result.returncode == 1, result.stderr
    assert "aliases (*name) expand to more than" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("text, message", [
    ("[" * 2000 + "]" * 2000, "nested too deeply"),
    ("name: x\nduration_s: " + "9" * 5000 + "\n", "cannot read a number"),
])
def test_unreadable_yaml_is_one_line(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1 and message in result.output, result.output


def test_a_file_beyond_the_size_limit_is_refused_unread(tmp_path, monkeypatch):
    from iadsim.scenario import load as loader

    path = tmp_path / "big.yaml"
    path.write_text(MINIMAL + "# padding\n" * 200)
    monkeypatch.setattr(loader, "MAX_FILE_BYTES", 1024)
    monkeypatch.setattr(Path, "read_text", lambda *a, **k: pytest.fail("read anyway"))
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1 and "input files are limited to" in result.output


@posix
def test_a_folder_or_a_pipe_as_scenario_says_what_it_is(tmp_path):
    result = runner.invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code == 1 and "is a folder, not a file" in result.output
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    result = runner.invoke(app, ["run", str(fifo)])
    assert result.exit_code == 1 and "not a regular file" in result.output


@pytest.mark.parametrize("field, value, message", [
    ("alt_m", "1e308", "less than or equal to 100000"),
    ("missiles", str(2 ** 63), "less than or equal to 100000"),
    ("channels", "1000000000", "less than or equal to 1000"),
    ("rate_per_s", "1e6", "less than or equal to 1000"),
    ("end_s", "1e12", "less than or equal to 2592000"),
    ("range_km", "1e9", "less than or equal to 5000"),
])
def test_numbers_no_machine_can_run_are_refused_by_validate(tmp_path, field, value, message):
    text = {
        "alt_m": MINIMAL.replace("alt_m: 100}\n      - {lat: 10.1", f"alt_m: {value}}}\n"
                                 "      - {lat: 10.1"),
        "missiles": MINIMAL + FIRE_UNIT.format(missiles=value, channels=1),
        "channels": MINIMAL + FIRE_UNIT.format(missiles=4, channels=value),
        "rate_per_s": MINIMAL + STREAM.format(rate=value, end=600),
        "end_s": MINIMAL + STREAM.format(rate=0.1, end=value),
        "range_km": MINIMAL + SENSOR.format(range=value),
    }[field]
    path = tmp_path / "s.yaml"
    path.write_text(text)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1, result.output
    assert "s.yaml:" in result.output and field in result.output and message in result.output, \
        result.output


FIRE_UNIT = """fire_units:
  - id: u
    lat: 10.05
    lon: -66.0
    guidance: infrared
    acquire_rate: 0.1
    max_range_km: 5
    max_alt_m: 3000
    missiles: {missiles}
    channels: {channels}
    pk: 0.5
"""
STREAM = """streams:
  - id: s
    class: drone
    rcs_m2: 0.1
    speed_mps: 50
    rate_per_s: {rate}
    end_s: {end}
    route:
      - {{lat: 10.0, lon: -66.0, alt_m: 100}}
      - {{lat: 10.1, lon: -66.0, alt_m: 100}}
"""
SENSOR = """sensors:
  - id: r
    role: search
    lat: 10.0
    lon: -66.0
    range_km: {range}
    detect_rate: 0.1
"""


def test_a_scenario_validate_accepts_runs(tmp_path):
    """No sensor and no fire unit: nothing places the frame, so `validate` asks for a
    reference (with file:line) rather than `run` failing later."""
    path = tmp_path / "s.yaml"
    path.write_text(MINIMAL.replace("reference: {lat: 10.0, lon: -66.0}\n", ""))
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1 and "s.yaml:1: reference: give a reference point" in \
        result.output, result.output
    path.write_text(MINIMAL)
    assert runner.invoke(app, ["validate", str(path)]).exit_code == 0
    assert runner.invoke(app, ["run", str(path), "--runs", 5]).exit_code == 0


def test_an_interrupt_during_start_up_exits_130_quietly(monkeypatch, capsys):
    """Ctrl-C while the program is still importing: status 130, one word, no traceback."""
    import builtins

    from iadsim import interrupt, main

    monkeypatch.setattr(interrupt, "install", lambda: None)  # leave this process's handlers
    real_import = builtins.__import__

    def importing(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "iadsim.cli":
            raise KeyboardInterrupt
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", importing)
    with pytest.raises(SystemExit) as info:
        main.entry()
    assert info.value.code == 130
    assert capsys.readouterr().err == "interrupted\n"


# --- property: whatever the file, one clear answer --------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

BASE = MINIMAL + FIRE_UNIT.format(missiles=4, channels=1) + SENSOR.format(range=50)
NUMBERS = [line.split(":")[0].strip().lstrip("- {") for line in BASE.splitlines()
           if ":" in line and line.split(":", 1)[1].strip()[:1].isdigit()]
HOSTILE = st.one_of(
    st.sampled_from(["1e308", "-1", "0", ".nan", ".inf", "-.inf", str(2 ** 63), "9" * 400,
                     "true", "null", "'3 km'", "[1, 2]", "{a: 1}", "[[[[[[]]]]]]", "''"]),
    st.integers(-10 ** 12, 10 ** 12).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
)


@pytest.fixture
def memory_guard():
    """This process's address space capped at 3 GB above what it uses now, for one test: a
    regression raises MemoryError instead of taking the machine down."""
    import resource

    if not Path("/proc/self/statm").exists():
        yield
        return
    used = int(Path("/proc/self/statm").read_text().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (used + 3 * 2 ** 30, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@settings(max_examples=60, deadline=20_000, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(NUMBERS), value=HOSTILE, which=st.integers(0, 3))
def test_any_mutated_scenario_gets_a_clear_answer(memory_guard, field, value, which):
    """A numeric field of a valid scenario replaced by hostile values: `validate` accepts or
    names the problem (exit 0 or 1, never a traceback), and whatever it accepts, a short
    `run` runs; each example within 20 s and 3 GB."""
    lines = BASE.splitlines()
    hits = [i for i, line in enumerate(lines) if line.strip().lstrip("- {").startswith(field)]
    i = hits[which % len(hits)]
    key, _, rest = lines[i].partition(f"{field}:")
    tail = rest.split(",", 1)[1] if "," in rest and "{" in lines[i] else \
        ("}" if rest.rstrip().endswith("}") else "")
    lines[i] = f"{key}{field}: {value}" + ("," + tail if "," in rest and "{" in lines[i]
                                           else tail)
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mutated.yaml"
        path.write_text("\n".join(lines) + "\n")
        checked = runner.invoke(app, ["validate", str(path)])
        assert checked.exit_code in (0, 1), checked.output
        assert "Traceback" not in checked.output and checked.exception is None or \
            isinstance(checked.exception, SystemExit), checked.output
        if checked.exit_code == 0:
            ran = runner.invoke(app, ["run", str(path), "--runs", 3, "--json"])
            assert ran.exit_code == 0, (lines[i], ran.output)


# --- memory: the block size adapts, and what cannot fit is refused up front --------------------

def stream_only(rate: float, end: float) -> str:
    """A fire unit and one stream of drones, nothing else."""
    return (MINIMAL.split("threats:")[0] + FIRE_UNIT.format(missiles=10, channels=2)
            + STREAM.format(rate=rate, end=end))


def test_a_stream_no_machine_can_hold_is_refused_before_any_work(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(stream_only(1000, 30 * 86_400))
    assert runner.invoke(app, ["validate", str(path)]).exit_code == 0
    result = runner.invoke(app, ["run", str(path), "--runs", 5, "--out", str(tmp_path / "o")])
    assert result.exit_code == 1, result.output
    assert "one replication would need about" in result.output and "s: " in result.output
    assert not (tmp_path / "o" / "run.json").exists()


@posix
def test_many_stream_arrivals_run_in_bounded_memory(tmp_path):
    """180,000 arrivals a run: the block shrinks to fit the budget, under a 4 GB address-space
    cap (imports and compiled code included)."""
    path = tmp_path / "s.yaml"
    path.write_text(stream_only(1000, 180))
    result = guarded("run", path, "--runs", 4, "--json", "--memory", 0.5, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout)["runs"] == 4


def test_a_read_only_installation_caches_compiled_loops_in_the_user_cache(tmp_path):
    """Where the package cannot be written and NUMBA_CACHE_DIR is unset, the compiled loops go
    to the user's cache folder (then a temporary one), so that no command fails on import."""
    from iadsim import numba_cache_dir

    package = Path(__import__("iadsim").__file__).parent
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    everywhere = numba_cache_dir(package, env, lambda p: True)
    assert everywhere is None
    assert numba_cache_dir(package, {**env, "NUMBA_CACHE_DIR": "/x"}, lambda p: False) is None
    if sys.platform.startswith("linux"):
        chosen = numba_cache_dir(package, env, lambda p: tmp_path in p.parents)
        assert chosen == str(tmp_path / "cache" / "iadsim" / "numba")
        fallback = numba_cache_dir(package, env, lambda p: "iadsim-" in p.name)
        assert fallback is not None and Path(fallback).parent == Path(__import__(
            "tempfile").gettempdir())



def test_numpy_runtime_warnings_never_reach_the_user(monkeypatch):
    import warnings

    import iadsim.cli
    from iadsim import interrupt, main

    monkeypatch.setattr(interrupt, "install", lambda: None)

    def noisy() -> None:
        np.log(np.zeros(1))  # "divide by zero encountered in log"
        warnings.warn("overflow encountered", RuntimeWarning, stacklevel=1)

    monkeypatch.setattr(iadsim.cli, "app", noisy)
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")  # as if nothing filtered them
        main.entry()
    assert not [w for w in shown if issubclass(w.category, RuntimeWarning)]


@pytest.mark.parametrize("setting, message", [
    ("fire_units.s300-1.channels=1000000000", "≤ 1000 (got 1000000000)"),
    ("fire_units.s300-1.missiles=9223372036854775807", "≤ 100000"),
    ("command_posts.cp-air-defence.decision_delay.mean=1e12", "2.592e+06"),
    ("sensors.sr-caracas.detect_rate=1e6", "[0, 1000] or inf"),
])
def test_set_values_keep_the_schemas_bounds(setting, message):
    """What a file may not write, `--set` (and profiles, tables, hypotheses) may not either."""
    result = runner.invoke(app, ["run", SCENARIO, "--runs", 3, "--set", setting])
    assert result.exit_code == 1, result.output
    assert message in result.output and "Traceback" not in result.output


@posix
def test_signals_during_a_block_act_after_it_and_ignored_ones_stay_ignored():
    """The fast engine computes a block with Ctrl-C held (an interrupt raised inside a callback
    from compiled code would turn into a SystemError); a worker, which ignores Ctrl-C, keeps
    ignoring it."""
    from iadsim import interrupt

    steps = []
    # Python's own Ctrl-C handler, even when this process started with SIGINT ignored (as a
    # shell's background job does)
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            with interrupt.deferred():
                os.kill(os.getpid(), signal.SIGINT)
                steps.append("the block went on")
    finally:
        signal.signal(signal.SIGINT, old)
    assert steps == ["the block went on"]
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with interrupt.deferred():
            os.kill(os.getpid(), signal.SIGINT)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, old)


@posix
def test_a_stop_request_stops_only_the_run_it_came_during():
    """A run stopped by Ctrl-C (in a notebook, or in a program that handles it as `iadsim`
    does) leaves nothing behind that would stop the next run after its first block."""
    from iadsim import interrupt
    from iadsim.api import Interrupted, load, simulate

    model = load(SCENARIO)
    old = signal.signal(signal.SIGINT, interrupt.request)
    try:
        with pytest.raises(Interrupted) as stop:
            simulate(model, 20_000, seed=1, progress=lambda n: os.kill(os.getpid(),
                                                                        signal.SIGINT))
        assert 0 < stop.value.summary.runs < 20_000
        assert simulate(model, 3000, seed=1).runs == 3000  # more than one block
        with pytest.raises(KeyboardInterrupt):  # as the engine holds one during a block of
            with interrupt.deferred():  # iadsim.run, which is no operation of its own
                os.kill(os.getpid(), signal.SIGINT)
        assert simulate(model, 3000, seed=1).runs == 3000
    finally:
        signal.signal(signal.SIGINT, old)


@pytest.mark.parametrize("step", ["_open", "remaining"])  # while it opens, once it is open
def test_ctrl_c_while_the_folder_opens_is_an_interrupted_run(tmp_path, monkeypatch, step):
    """Stopped as the folder is taken, before a block finished: said so, and the folder is
    free for the next run."""
    from iadsim.api import load, simulate
    from iadsim.store import ResultsStore

    def stopped(self: ResultsStore, *args: Any) -> Any:
        raise KeyboardInterrupt

    folder = tmp_path / "out"
    monkeypatch.setattr(ResultsStore, step, stopped)
    result = runner.invoke(app, ["run", SCENARIO, "--runs", 100, "--out", str(folder),
                                 "--json"])
    assert result.exit_code == 130
    assert "interrupted before any replication finished" in result.output
    assert committed(folder) == 0 and not (folder / "summary.json").exists()
    monkeypatch.undo()
    assert simulate(load(SCENARIO), 100, seed=1, out=folder, mode="overwrite").runs == 100
