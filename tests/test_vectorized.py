"""The vectorized engine: reproducible at any split of the work and in a fresh process, and
sound on a defence with nothing to fire."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml

from iadsim.api import load, simulate
from iadsim.engine import run
from iadsim.engine.results import UNIT_COUNTS, Results
from iadsim.model import compile_scenario
from iadsim.scenario import load_scenario
from iadsim.scenario.load import parse_scenario

STRESS = Path(__file__).parent / "scenarios" / "stress-mixed.yaml"


def run_vectorized(model, runs, *, seed, first=0, block_size=None):
    return run(model, runs, seed=seed, first=first, engine="vectorized", block_size=block_size)


def digest(r: Results) -> str:
    h = hashlib.sha256()
    for a in (r.replication, r.unit_counts, r.threats, r.killed, r.links, r.destroyed,
              *r.threat_rows.values(), *r.passage_rows.values()):
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def stress():
    return compile_scenario(load_scenario(STRESS))


def test_block_size_does_not_change_results(stress):
    whole = run_vectorized(stress, 600, seed=11)
    for size in (1, 7, 64, 600):
        assert digest(run_vectorized(stress, 600, seed=11, block_size=size)) == digest(whole)


def test_replication_results_do_not_depend_on_where_the_run_starts(stress):
    whole = run_vectorized(stress, 300, seed=5)
    tail = run_vectorized(stress, 100, seed=5, first=200)
    np.testing.assert_array_equal(tail.unit_counts, whole.unit_counts[200:])
    np.testing.assert_array_equal(tail.links, whole.links[200:])
    np.testing.assert_array_equal(tail.threats, whole.threats[200:])


def test_seed_changes_results(stress):
    assert digest(run_vectorized(stress, 200, seed=1)) != digest(run_vectorized(stress, 200,
                                                                                seed=2))


@pytest.mark.parametrize("build", ["cached", pytest.param("fresh", marks=pytest.mark.slow)])
def test_same_seed_same_results_in_a_fresh_process(stress, build, tmp_path):
    """Also with the compiled loops built afresh. Numba rebuilds a cached loop only when its own
    file changes, not when something it uses from another module does; if "fresh" fails,
    delete the stale *.nbi and *.nbc files in src/iadsim/engine/__pycache__."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)} if build == "fresh" else None
    here, stress_file = str(Path(__file__).parent), str(STRESS)
    code = (f"import sys; sys.path.insert(0, {here!r});"
            "from test_vectorized import digest;"
            "from iadsim.model import compile_scenario;"
            "from iadsim.scenario import load_scenario;"
            "from iadsim.engine import run;"
            f"print(digest(run(compile_scenario(load_scenario({stress_file!r})), 150,"
            " seed=3, engine='vectorized')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=env).stdout.strip()
    assert out == digest(run_vectorized(stress, 150, seed=3))


def test_workers_do_not_change_results(tmp_path):
    prepared = load(STRESS)
    serial = simulate(prepared, 3000, seed=9, out=tmp_path / "one")
    pooled = simulate(prepared, 3000, seed=9, workers=2, out=tmp_path / "two")
    assert serial.as_dict() == pooled.as_dict()
    for table in ("replications", "units", "threats", "passages"):
        one = pq.read_table(tmp_path / "one" / table)
        two = pq.read_table(tmp_path / "two" / table)
        assert one.schema == two.schema and one.num_rows == two.num_rows > 0, table
        for name in one.column_names:  # NaN equals NaN here (kill times of leakers)
            np.testing.assert_array_equal(one[name].to_numpy(zero_copy_only=False),
                                          two[name].to_numpy(zero_copy_only=False), name)


def test_summary_is_the_same_whether_or_not_rows_are_written(tmp_path):
    prepared = load(STRESS)
    assert simulate(prepared, 2500, seed=6).as_dict() == \
        simulate(prepared, 2500, seed=6, out=tmp_path).as_dict()


@pytest.mark.parametrize("engine", ["vectorized", "reference"])
def test_a_defence_without_fire_units_kills_nothing(engine):
    text = STRESS.read_text()
    scenario = yaml.safe_load(text)
    scenario["fire_units"] = []
    for key in ("strikes", "electronic_attack"):  # they name fire units
        scenario.pop(key, None)
    cs = compile_scenario(parse_scenario(yaml.safe_dump(scenario), "no-units.yaml"))
    results = run(cs, 30, seed=2, engine=engine)
    assert results.threats.sum() > 0
    assert results.killed.sum() == 0 and results.links.sum() == 0
    assert results.unit_counts.shape == (30, len(UNIT_COUNTS), 0)


def test_a_streams_rows_are_played_with_rows_of_like_arrivals(stress, monkeypatch):
    """With a stream, a block's threat slots follow its rows' arrivals, not the busiest row of
    the run: the rows are played in increasing arrivals, so each block pads only up to its
    own busiest row, and the results come back in the table's order."""
    import iadsim.engine.vectorized as vectorized

    played = []

    def recording(plan, params, rng):
        block = real(plan, params, rng)
        played.append(block.active.sum(axis=1))
        return block

    real = vectorized.Block
    monkeypatch.setattr(vectorized, "Block", recording)
    result = run_vectorized(stress, 2000, seed=3, block_size=250)
    assert all(a.max() <= b.min() for a, b in zip(played, played[1:], strict=False))
    np.testing.assert_array_equal(np.sort(np.concatenate(played)), np.sort(result.threats))
    monkeypatch.setattr(vectorized, "Block", real)
    assert digest(result) == digest(run_vectorized(stress, 2000, seed=3, block_size=1))
