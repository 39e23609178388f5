"""Rules of MODEL.md that the analytic cases do not reach, checked on small scenarios."""

from __future__ import annotations

import numpy as np
import pytest

from iadsim.analysis.summary import observable
from iadsim.compile import compile_scenario
from iadsim.engine import run
from iadsim.scenario.load import parse_scenario

UNIT = """
name: rules
duration_s: 3600
reference: {lat: 10.0, lon: -66.0}
fire_units:
  - {id: u, guidance: infrared, acquire_rate: .inf, lat: 10.0, lon: -66.0, min_range_km: %(rmin)s,
     max_range_km: %(rmax)s, max_alt_m: 5000, missiles: 100, pk: 1.0, engagement_time: %(tau)s}
threats:
  - id: t
    class: drone
    rcs_m2: 1
    speed_mps: %(speed)s
    route: [{lat: 9.9, lon: -66.0, alt_m: 100}, {lat: %(end_lat)s, lon: -66.0, alt_m: 100}]
"""


def scenario(**values: object):
    fields = {"rmin": 0.0, "rmax": 5.0, "tau": 1.0, "speed": 100, "end_lat": 10.1} | values
    return compile_scenario(parse_scenario(UNIT % fields, "rules.yaml"))


def test_thin_shell_is_found_at_any_speed():
    """An envelope 400 m thick is crossed twice, even at 2 km/s and at 1000 km/s."""
    for speed in (2000, 1_000_000):
        cs = scenario(rmin=1.0, rmax=1.4, speed=speed)
        assert len(cs.envelope[0, 0]) == 2, (speed, cs.envelope)


@pytest.mark.parametrize("engine", ["reference", "vectorized"])
def test_no_kill_after_the_route_has_ended(engine):
    """A route ending at the unit (inside its envelope) ends ~11 s after entry; an engagement
    lasting 100 s resolves after the threat has arrived, so it never kills."""
    cs = scenario(tau=100.0, end_lat=10.0)
    results = run(cs, 200, seed=3, engine=engine)
    assert observable(results, "engagements").min() == 1
    assert observable(results, "threats_killed").max() == 0
    np.testing.assert_array_equal(observable(results, "misses"),
                                  observable(results, "launches"))
    assert observable(results, "killed").sum() == 200  # each failed passage: the kill link


@pytest.mark.parametrize("engine", ["reference", "vectorized"])
def test_quick_engagement_kills_before_route_end(engine):
    cs = scenario(tau=1.0, end_lat=10.0)
    assert observable(run(cs, 50, seed=3, engine=engine), "threats_killed").min() == 1
