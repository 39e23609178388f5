"""Global sensitivity (SALib) against answers computed in closed form, and the noise floor."""

from __future__ import annotations

import numpy as np
import pytest

from iadsim.analysis.sensitivity import DUMMY, SensitivityError, sensitivity
from iadsim.model import compile_scenario
from iadsim.scenario.load import parse_scenario

ONE_UNIT = """
name: one-unit
duration_s: 3600
reference: {lat: 10.0, lon: -66.0}
fire_units:
  - {id: u, guidance: infrared, acquire_rate: .inf, lat: 10.0, lon: -66.0, max_range_km: 5,
     max_alt_m: 5000, missiles: 100, pk: 1.0, launch_reliability: 1.0, channels: %(n)s}
threats:
  - {id: t, class: drone, count: %(n)s, rcs_m2: 1, speed_mps: 60,
     route: [{lat: 9.9, lon: -66.0, alt_m: 100}, {lat: 10.1, lon: -66.0, alt_m: 100}]}
"""


def model(n: int = 1):
    return compile_scenario(parse_scenario(ONE_UNIT % {"n": n}, "one-unit.yaml"))


def test_sobol_indices_of_a_product_of_link_probabilities():
    """P(kill) = available × deployed (detection certain, pk 1): for independent uniforms the
    Sobol indices follow from the product formula. Tolerance: SALib's 95% half-width doubled,
    plus the share of the total variance that the binomial noise of R replications adds."""
    (a1, b1), (a2, b2) = (0.2, 1.0), (0.5, 1.0)
    R = 200
    s = sensitivity(model(), {"fire_units.u.readiness.available": [a1, b1],
                              "fire_units.u.readiness.deployed": [a2, b2]},
                    method="sobol", observable="threats_killed", samples=512,
                    runs_per_point=R, seed=5)
    m1, m2 = (a1 + b1) / 2, (a2 + b2) / 2
    v1, v2 = (b1 - a1) ** 2 / 12, (b2 - a2) ** 2 / 12
    V1, V2, V12 = v1 * m2 ** 2, v2 * m1 ** 2, v1 * v2
    V = V1 + V2 + V12
    noise = (m1 * m2 - (v1 + m1 ** 2) * (v2 + m2 ** 2)) / R  # E[p(1 − p)] / R
    share = noise / (V + noise)
    expected = {"S1": (V1 / V, V2 / V), "ST": ((V1 + V12) / V, (V2 + V12) / V)}
    for key, values in expected.items():
        for i, want in enumerate(values):
            got, conf = s.indices[key][i], s.indices[f"{key}_conf"][i]
            assert abs(got - want) <= 2 * conf + share * max(want, 1 - want), (key, i, got,
                                                                                 want, conf)
    # the dummy: only noise, of the size the binomial noise predicts
    assert s.names[-1] == DUMMY
    assert s.indices["ST"][-1] <= share + 2 * s.indices["ST_conf"][-1]


def test_morris_of_a_linear_observable():
    """Expected kills n·pk (n threats, one shot each, detection certain): μ* = n × (high −
    low) and σ ≈ 0; the dummy's μ* is noise only."""
    n, (lo, hi) = 3, (0.2, 0.9)
    s = sensitivity(model(n), {"fire_units.u.pk": [lo, hi]}, method="morris",
                    observable="threats_killed", samples=30, runs_per_point=400, seed=2)
    mu, conf, sigma = (s.indices[k][0] for k in ("mu_star", "mu_star_conf", "sigma"))
    se_step = np.sqrt(n * 0.25 / 400) * 2 / (2 / 3)  # a step's EE: difference of two means
    # on shared replications is at most this noisy (Δ = 2/3 of the range at 4 levels)
    assert abs(mu - n * (hi - lo)) <= 2 * conf + 3 * se_step / np.sqrt(30)
    assert sigma <= 3 * se_step
    assert s.indices["mu_star"][1] < mu / 3  # the noise floor is well below the real effect


@pytest.mark.parametrize("ranges, message", [
    ({"fire_units.u.nosuch": [0, 1]}, "not a parameter path"),
    ({"fire_units.u.pk": [0.5, 0.2]}, "low < high"),
    ({"fire_units.u.pk": [0.5, 1.5]}, "expected"),
    ({"fire_units.u.shoot_look_shoot": [0, 1]}, "no range"),
    ({}, "at least one parameter"),
])
def test_bad_ranges_are_errors(ranges, message):
    with pytest.raises(SensitivityError, match=message):
        sensitivity(model(), ranges, samples=4, runs_per_point=2)


def test_cli_sensitivity_json_figure_and_errors(tmp_path, monkeypatch):
    import json

    from typer.testing import CliRunner

    from iadsim.cli import app

    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mpl"))
    ranges = tmp_path / "ranges.yaml"
    ranges.write_text("command_posts.cp-air-defence.orders_prob: [0.0, 1.0]\n"
                      "groups.manpads.readiness.trained: [0.0, 1.0]\n")
    figure = tmp_path / "bars.png"
    ok = CliRunner().invoke(app, ["sensitivity", "caracas-2026", "--params", str(ranges),
                                  "--method", "morris", "--samples", "4",
                                  "--runs-per-point", "5", "--figure", str(figure), "--json"])
    assert ok.exit_code == 0, ok.output
    data = json.loads(ok.stdout)
    assert [p["path"] for p in data["parameters"]][-1] == DUMMY
    assert figure.read_bytes()[:4] == b"\x89PNG"
    ranges.write_text("command_posts.cp-air-defence.orders_prob: [0.0, 2.0]\n")
    bad = CliRunner().invoke(app, ["sensitivity", "caracas-2026", "--params", str(ranges),
                                   "--no-figure"])
    assert bad.exit_code == 1 and len(bad.stderr.strip().splitlines()) == 1, bad.output


def test_morris_refuses_count_parameters():
    with pytest.raises(SensitivityError, match="count takes whole numbers"):
        sensitivity(model(), {"fire_units.u.missiles": [1, 4]}, method="morris", samples=4,
                    runs_per_point=2)
