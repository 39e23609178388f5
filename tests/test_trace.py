"""The event trace of one replication (the fast engine replays it): it must agree with what
the run recorded for that replication, and its events must follow the kill chain's order."""

from __future__ import annotations

import numpy as np
import pytest

from iadsim.api import load
from iadsim.engine import run, trace
from iadsim.reports.report import representative
from iadsim.rules import ENGAGEMENTS, LAUNCHES, MISSILES_FIRED

SEED = 3


@pytest.fixture(scope="module")
def recorded():
    model = load("caracas-2026", "full")
    return model, run(model, 40, seed=SEED)


@pytest.mark.parametrize("replication", [0, 7, 23, 39])
def test_a_trace_agrees_with_the_recorded_replication(recorded, replication):
    model, results = recorded
    t = trace(model, replication, seed=SEED)
    assert t.replication == replication
    mine, theirs = t.results.threat_rows, results.threat_rows
    row = theirs["row"] == replication
    for column in ("flight", "start_s", "killer", "kill_time_s", "deepest_link"):
        assert np.array_equal(mine[column], theirs[column][row], equal_nan=column ==
                              "kill_time_s"), column
    assert np.array_equal(t.results.unit_counts[0], results.unit_counts[replication])
    engaged = [e for e in t.events if e["kind"] == "engaged"]
    counts = results.unit_counts[replication]
    assert len(engaged) == counts[ENGAGEMENTS].sum()
    fired = sum(int(e["outcome"].split("(")[1].split()[0]) for e in engaged)
    launched = sum(int(e["outcome"].split(", ")[1].split()[0]) for e in engaged)
    assert (fired, launched) == (counts[MISSILES_FIRED].sum(), counts[LAUNCHES].sum())
    units = {u.id: k for k, u in enumerate(model.structure.units)}
    for e in (e for e in t.events if e["kind"] == "killed"):  # a kill resolves an engagement
        assert any(g["threat"] == e["threat"] and g["entity"] == e["entity"] and
                   g["end_s"] == e["time_s"] and g["outcome"].startswith("kill")
                   for g in engaged), e
        assert units[e["entity"]] in mine["killer"]
    fates = [e for e in t.events if e["kind"] in ("killed", "leaked")]
    assert len(fates) == len(mine["killer"])  # every threat has one fate


def test_trace_events_follow_the_kill_chain(recorded):
    model, _ = recorded
    t = trace(model, 5, seed=SEED)
    times = [e["time_s"] for e in t.events]
    assert times == sorted(times)
    started = {e["threat"]: e["time_s"] for e in t.events if e["kind"] == "started"}
    chain: dict[tuple[int, str], dict[str, float]] = {}
    for e in t.events:
        if e["kind"] in ("detected", "reported", "ordered"):
            chain.setdefault((e["threat"], e["entity"]), {})[e["kind"]] = e["time_s"]
        if e["kind"] == "engaged":
            assert started[e["threat"]] <= e["time_s"] <= e["end_s"]
    assert chain
    for steps in chain.values():  # a report follows a detection, an order a report
        if "reported" in steps:
            assert steps["detected"] <= steps["reported"]
        if "ordered" in steps:
            assert steps["reported"] <= steps["ordered"]
    again = trace(model, 5, seed=SEED)
    assert again.events == t.events


def test_the_representative_replication_is_the_median_outcome(recorded):
    _, results = recorded
    r = representative(results)
    killed = results.observable("threats_killed")
    assert abs(killed[r] - np.median(killed)) == np.abs(killed - np.median(killed)).min()
