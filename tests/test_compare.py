"""iadsim compare: profiles side by side on common random numbers."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import iadsim
from iadsim.analysis.compare import CompareError
from iadsim.cli import app

OBS = ("leakers", "launches[guidance=radar]")


def test_each_column_is_the_plain_run_and_differences_are_paired():
    m = iadsim.load("caracas-2026")
    c = iadsim.compare(m, ["reported", "ai-command"], observables=OBS, runs=300, seed=7)
    for p in c.profiles:
        plain = iadsim.run(iadsim.load("caracas-2026", p), 300, seed=7)
        for o in OBS:
            assert c.values[o][p].mean == pytest.approx(plain.observable(o).mean(), abs=1e-12)
    d = c.differences["leakers"]["ai-command"]
    assert d.mean == pytest.approx(c.values["leakers"]["ai-command"].mean
                                   - c.values["leakers"]["reported"].mean, abs=1e-12)
    assert c.to_arrow().num_rows == len(OBS) * 2


@pytest.mark.parametrize("profiles, message", [
    (["reported", "nosuch"], "no profile 'nosuch'"),
    (["reported"], "at least two profiles"),
    (["full", "full"], "named twice"),
])
def test_bad_profiles_are_errors(profiles, message):
    with pytest.raises(CompareError, match=message):
        iadsim.compare(iadsim.load("caracas-2026"), profiles, observables=OBS, runs=5)


def test_cli_compare_json_and_errors():
    ok = CliRunner().invoke(app, ["compare", "caracas-2026", "--profiles", "reported,full",
                                  "-o", "leakers", "--runs", "20", "--json"])
    assert ok.exit_code == 0, ok.output
    data = json.loads(ok.stdout)
    assert data["baseline"] == "reported" and "full" in data["observables"]["leakers"][
        "difference"]
    bad = CliRunner().invoke(app, ["compare", "caracas-2026", "--profiles", "reported,x",
                                   "--runs", "5"])
    assert bad.exit_code == 1 and len(bad.stderr.strip().splitlines()) == 1, bad.output
