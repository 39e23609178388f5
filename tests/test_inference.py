"""Inference (MODEL.md, Analyses → Inference): closed forms, the identities the derived tables
obey, the Monte Carlo error, and bad evidence or hypotheses files.

The closed-form cases run a scenario in which every replication is n independent shots with
kill probability pk (n threats, one channel each, one engagement per threat, certain launch), so
that the number of kills is Binomial(n, pk) and a report `kills == k` has the binomial
likelihood. Statistical checks pass within Z = 4 Monte Carlo standard errors (as in
test_validation.py); the seeds were fixed before the results were seen.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import special, stats
from typer.testing import CliRunner

from iadsim.analysis.inference import InferenceError, infer
from iadsim.api import infer as api_infer
from iadsim.api import load
from iadsim.cli import app
from iadsim.model import compile_scenario
from iadsim.scenario.evidence import load_evidence, load_hypotheses
from iadsim.scenario.load import ScenarioError, parse_scenario

Z = 4.0
N_SHOTS = 6
runner = CliRunner()

SHOTS = f"""
name: shots
duration_s: 3000
fire_units:
  - id: sam
    lat: 10.0
    lon: -66.0
    guidance: infrared
    acquire_rate: .inf
    max_range_km: 5
    max_alt_m: 3000
    channels: {N_SHOTS}
    missiles: 100
    salvo: 1
    launch_reliability: 1.0
    pk: 0.3
    engagement_time: {{dist: fixed, value: 10}}
    shoot_look_shoot: false
threats:
  - id: helo
    class: helicopter
    count: {N_SHOTS}
    rcs_m2: 5
    speed_mps: 100
    route:
      - {{lat: 9.9, lon: -66.0, alt_m: 300}}
      - {{lat: 10.1, lon: -66.0, alt_m: 300}}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def evidence_text(*observations: str, sources: str = "") -> str:
    return ("sources:\n  - {id: A, outlet: Outlet A, origin: a}\n"
            "  - {id: B, outlet: Outlet B, origin: b}\n" + sources
            + "observations:\n" + "".join(observations))


def observation(ident: str, predicate: str, r: float, source: str = "A") -> str:
    return (f"  - id: {ident}\n    predicate: '{predicate}'\n    sources: [{source}]\n"
            f"    reliability: {r}\n")


def hypotheses_text(**values: str) -> str:
    return "hypotheses:\n" + "".join(f"  {name}:\n    values:\n      fire_units.sam.pk: {v}\n"
                                     for name, v in values.items())


GOOD_H = hypotheses_text(low="0.2", high="0.6")
GOOD_E = evidence_text(observation("k", "kills >= 1", 0.8))


@pytest.fixture(scope="module")
def shots():
    return compile_scenario(parse_scenario(SHOTS, "shots.yaml"))


def weigh(model, tmp_path, evidence: str, hypotheses: str, **kw):
    return infer(model, load_evidence(write(tmp_path, "e.yaml", evidence)),
                 load_hypotheses(write(tmp_path, "h.yaml", hypotheses)), **kw)


def close(measured: float, exact: float, se: float, what: str) -> None:
    assert se > 0 and math.isfinite(se), f"{what}: bad standard error {se}"
    assert abs(measured - exact) <= Z * se, (
        f"{what}: measured {measured:.5f}, exact {exact:.5f}, SE {se:.5f}")


def test_the_shots_scenario_is_binomial(shots):
    from iadsim.api import run

    kills = run(shots, 20_000, seed=11).observable("kills")
    assert kills.max() <= N_SHOTS
    for k in range(N_SHOTS + 1):
        p = stats.binom.pmf(k, N_SHOTS, 0.3)
        close(float((kills == k).mean()), p, math.sqrt(p * (1 - p) / 20_000), f"P(k={k})")


# --- closed forms -----------------------------------------------------------------------------


def test_two_point_hypotheses_give_the_binomial_likelihood_ratio(shots, tmp_path):
    k, (pa, pb) = 2, (0.3, 0.6)
    result = weigh(shots, tmp_path, evidence_text(observation("k", f"kills == {k}", 1.0)),
                   hypotheses_text(low=str(pa), high=str(pb)), runs=4000, seed=21)
    exact = [stats.binom.pmf(k, N_SHOTS, p) for p in (pa, pb)]
    for h in range(2):
        close(result.marginal[h], exact[h], result.marginal_se[h], f"Z[{h}]")
    ratio = exact[0] / exact[1]  # = (pa/pb)^k ((1−pa)/(1−pb))^(n−k)
    assert ratio == pytest.approx((pa / pb) ** k * ((1 - pa) / (1 - pb)) ** (N_SHOTS - k))
    close(result.posterior[0], ratio / (1 + ratio), result.posterior_se[0], "posterior")
    bf, bf_se = result.log10_bayes_factors()
    assert result.leader == 0
    close(bf[1], -math.log10(ratio), bf_se[1], "log10 BF")


def test_a_beta_prior_gives_the_beta_posterior_mean(shots, tmp_path):
    k, a, b = 2, 2.0, 3.0
    result = weigh(shots, tmp_path, evidence_text(observation("k", f"kills == {k}", 1.0)),
                   hypotheses_text(beta=f"{{dist: beta, a: {a}, b: {b}}}", point="0.5"),
                   runs=6000, seed=22)
    (row,) = [p for p in result.parameters() if p["hypothesis"] == "beta"]
    assert row["prior_mean"] == pytest.approx(a / (a + b))
    close(row["posterior_mean"], (a + k) / (a + b + N_SHOTS), row["posterior_se"],
          "Beta(a + k, b + n − k) mean")


def test_beta_prior_models_have_beta_binomial_marginal_likelihoods(shots, tmp_path):
    k = 2
    priors = {"flat": (1.0, 1.0), "skewed": (5.0, 2.0)}
    result = weigh(shots, tmp_path, evidence_text(observation("k", f"kills == {k}", 1.0)),
                   hypotheses_text(**{n: f"{{dist: beta, a: {a}, b: {b}}}"
                                      for n, (a, b) in priors.items()}), runs=6000, seed=23)

    def beta_binomial(a: float, b: float) -> float:
        return special.comb(N_SHOTS, k) * special.beta(k + a, N_SHOTS - k + b) / special.beta(a, b)

    exact = [beta_binomial(*ab) for ab in priors.values()]
    assert exact[0] == pytest.approx(1 / (N_SHOTS + 1))  # the flat prior: every k alike
    for h in range(2):
        close(result.marginal[h], exact[h], result.marginal_se[h], f"Z[{h}]")
    close(result.posterior[0], exact[0] / sum(exact), result.posterior_se[0], "posterior")


def test_a_duplicated_report_with_reliability_one_half_changes_nothing(shots, tmp_path):
    once = evidence_text(observation("k", "kills >= 2", 0.8))
    twice = evidence_text(observation("k", "kills >= 2", 0.8),
                          observation("again", "kills >= 2", 0.5, source="B"))
    hyps = hypotheses_text(low="0.2", mid="{dist: uniform, low: 0.2, high: 0.6}")
    a = weigh(shots, tmp_path, once, hyps, runs=500, seed=24)
    b = weigh(shots, tmp_path, twice, hyps, runs=500, seed=24)
    np.testing.assert_allclose(b.posterior, a.posterior, rtol=1e-12)
    np.testing.assert_allclose(b.marginal, 0.5 * a.marginal, rtol=1e-12)


def test_an_impossible_certain_report_gives_posterior_zero(shots, tmp_path):
    result = weigh(shots, tmp_path, evidence_text(observation("hit", "kills >= 1", 1.0)),
                   hypotheses_text(harmless="0.0", armed="0.4"), runs=300, seed=25)
    assert result.posterior[0] == 0.0
    assert result.posterior[1] == 1.0
    assert result.effective_runs[0] == 0.0


@pytest.mark.slow
def test_the_posterior_standard_error_matches_the_spread_over_seeds(shots, tmp_path):
    """The delta-method SE against the spread of the posterior over 40 independent seeds: the
    sample variance over seeds, scaled by the mean reported variance, must lie in the two-sided
    99.9% range of χ²(K − 1)/(K − 1)."""
    evidence = evidence_text(observation("k", "kills == 2", 0.9),
                             observation("m", "misses >= 3", 0.7, source="B"))
    hyps = hypotheses_text(low="{dist: uniform, low: 0.1, high: 0.4}",
                           high="{dist: beta, a: 4, b: 4}")
    K = 40
    posts, ses = [], []
    for seed in range(1000, 1000 + K):
        r = weigh(shots, tmp_path, evidence, hyps, runs=400, seed=seed)
        posts.append(r.posterior[0])
        ses.append(r.posterior_se[0])
    ratio = np.var(posts, ddof=1) / np.mean(np.square(ses))
    lo, hi = stats.chi2.ppf([0.0005, 0.9995], K - 1) / (K - 1)
    assert lo <= ratio <= hi, f"spread²/SE² = {ratio:.3f} outside [{lo:.3f}, {hi:.3f}]"


# --- identities of the derived tables --------------------------------------------------------


@pytest.fixture(scope="module")
def caracas():
    model = load("caracas-2026")
    return model, api_infer(model, runs=300, seed=5)


def test_reliability_curve_and_leave_one_out_agree_with_a_rerun(caracas, tmp_path):
    model, result = caracas
    evidence = load_evidence(result.evidence_file)
    j = 1
    r = result.reports[j].reliability
    np.testing.assert_allclose(result.at_reliability(j, r), result.posterior, rtol=1e-10)
    np.testing.assert_allclose(result.at_reliability(j, 0.5), result.without(j), rtol=1e-10)
    fewer = evidence.model_copy(update={"observations": [o for i, o in enumerate(
        evidence.observations) if i != j]})
    rerun = api_infer(model, fewer, result.hypotheses_file, runs=300, seed=5)
    np.testing.assert_allclose(rerun.posterior, result.without(j), rtol=1e-10)
    flipped = evidence.model_copy(update={"observations": [
        o.model_copy(update={"reliability": 1 - o.reliability}) if i == j else o
        for i, o in enumerate(evidence.observations)]})
    rerun = api_infer(model, flipped, result.hypotheses_file, runs=300, seed=5)
    np.testing.assert_allclose(rerun.posterior, result.reversed(j), rtol=1e-10)
    loo = result.leave_one_out()
    assert np.all(loo[:, result.leader] == 0)


def test_ach_product_equals_the_joint_likelihood_for_one_report(shots, tmp_path):
    result = weigh(shots, tmp_path, evidence_text(observation("k", "kills >= 2", 0.7)),
                   hypotheses_text(low="0.2", high="0.5"), runs=400, seed=26)
    np.testing.assert_allclose(result.ach_product(), result.marginal, rtol=1e-12)
    assert result.diagnosticity()[0] > 0


def test_results_do_not_depend_on_how_replications_are_split(shots, tmp_path, monkeypatch):
    from iadsim.analysis import inference

    args = (shots, tmp_path, evidence_text(observation("k", "kills >= 2", 0.7)),
            hypotheses_text(a="{dist: beta, a: 2, b: 2}", b="{dist: beta, a: 2, b: 2}"))
    whole = weigh(*args, runs=300, seed=27)
    monkeypatch.setattr(inference, "_ROWS_PER_BATCH", 74)
    split = weigh(*args, runs=300, seed=27)
    np.testing.assert_array_equal(split.matches, whole.matches)
    np.testing.assert_array_equal(split.drawn["fire_units.sam.pk"],
                                  whole.drawn["fire_units.sam.pk"])
    # one prior, one path: both hypotheses draw the same values (common random numbers)
    drawn = whole.drawn["fire_units.sam.pk"]
    np.testing.assert_array_equal(drawn[0], drawn[1])
    np.testing.assert_array_equal(whole.matches[0], whole.matches[1])


def test_target_se_adds_replications_until_reached(shots, tmp_path):
    result = weigh(shots, tmp_path, evidence_text(observation("k", "kills == 2", 0.9)),
                   hypotheses_text(low="0.3", high="0.6"), runs=100, target_se=0.01, seed=28)
    assert result.largest_se < 0.01
    assert result.runs > 100


def test_an_interrupt_keeps_the_replications_that_finished(shots, tmp_path, monkeypatch):
    from iadsim.analysis import inference

    monkeypatch.setattr(inference, "_ROWS_PER_BATCH", 100)
    calls = []

    def stop_after_two(done: int, total: int) -> None:
        calls.append(done)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(inference.InferenceInterrupted) as info:
        weigh(shots, tmp_path, GOOD_E, GOOD_H, runs=1000, seed=29, progress=stop_after_two)
    partial = info.value.inference
    assert partial is not None and partial.runs == 100  # two batches of 50 per hypothesis
    whole = weigh(shots, tmp_path, GOOD_E, GOOD_H, runs=100, seed=29)
    np.testing.assert_array_equal(partial.matches, whole.matches)


def test_the_reference_engine_weighs_the_same_model(shots, tmp_path):
    """The oracle runs the same rows: its posterior agrees with the fast engine's within their
    Monte Carlo errors (independent runs: the two SEs combined)."""
    args = (shots, tmp_path, evidence_text(observation("k", "kills == 2", 1.0)),
            hypotheses_text(low="0.3", high="0.6"))
    fast = weigh(*args, runs=1500, seed=30)
    oracle = weigh(*args, runs=1500, seed=30, engine="reference")
    close(oracle.posterior[0], fast.posterior[0],
          math.hypot(oracle.posterior_se[0], fast.posterior_se[0]), "reference vs vectorized")


# --- the built-in files and the command ------------------------------------------------------


def test_caracas_infer_runs_with_the_builtin_files(tmp_path):
    ach = tmp_path / "ach.csv"
    figure = tmp_path / "posterior.svg"
    result = runner.invoke(app, ["infer", "caracas-2026", "--runs", "200", "--json",
                                 "--figure", str(figure), "--ach", str(ach)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    names = [h["name"] for h in data["hypotheses"]]
    assert {"H1-unready-equipment", "H3-no-orders", "H5-electronic-attack", "H1+H3"} <= set(names)
    assert sum(h["posterior"] for h in data["hypotheses"]) == pytest.approx(1.0)
    for rep in data["reports"]:
        assert rep["sources"] and rep["origins"] and 0 <= rep["reliability"] <= 1
        assert set(rep["reliability_curve"]) == {f"{r:g}" for r in np.linspace(0.5, 1, 11)}
    decisive = data["most_decisive"]
    assert decisive["report"] in {r["id"] for r in data["reports"]}
    assert decisive["total_variation"] == pytest.approx(max(
        0.5 * sum(abs(r["posterior_reversed"][n] - h["posterior"])
                  for n, h in zip(names, data["hypotheses"], strict=True))
        for r in data["reports"]))
    assert figure.stat().st_size > 0
    header = ach.read_text().splitlines()[0]
    assert all(f'"{n}"' in header for n in names)
    text = runner.invoke(app, ["infer", "caracas-2026", "--runs", "100", "--no-figure"])
    assert text.exit_code == 0, text.output
    for part in ("Posterior over hypotheses", "ACH", "Most decisive report", "not what happened"):
        assert part in text.stdout


def test_every_caracas_observation_cites_outlet_and_speaker():
    from iadsim.scenario.evidence import companion

    evidence = load_evidence(companion("caracas-2026", "evidence"))
    sources = {s.id: s for s in evidence.sources}
    for obs in evidence.observations:
        assert obs.claim and obs.sources
        for s in obs.sources:
            assert sources[s].outlet and sources[s].quoted and sources[s].origin
    text = companion("caracas-2026", "evidence").read_text()
    assert text.count("reliability:") == text.count("# assumption")


# --- bad input --------------------------------------------------------------------------------


def infer_cli(tmp_path: Path, evidence: str, hypotheses: str, *args: str):
    scenario = write(tmp_path, "shots.yaml", SHOTS)
    e, h = write(tmp_path, "e.yaml", evidence), write(tmp_path, "h.yaml", hypotheses)
    return runner.invoke(app, ["infer", str(scenario), "--evidence", str(e), "--hypotheses",
                               str(h), "--runs", "50", "--no-figure", *args])




@pytest.mark.parametrize("evidence, where, message", [
    (evidence_text(observation("k", "kils >= 1", 0.8)), "e.yaml:6: observations[0].predicate",
     "unknown observable"),
    (evidence_text(observation("k", "kills[unit_type=buk] >= 1", 0.8)), "e.yaml:6",
     "no unit_type 'buk'"),
    (evidence_text(observation("k", "kills >= 1", 1.5)), "e.yaml:8: observations[0].reliability",
     "between 0 and 1"),
    (evidence_text(observation("k", "kills >= 1", 0.8, source="C")),
     "e.yaml:7: observations[0].sources[0]", "'C' is not the id of any source"),
    (evidence_text(observation("k", "kills => 1", 0.8)), "e.yaml:6", "expected OBSERVABLE OP"),
    (evidence_text(observation("k", "kills >= 1", 0.8),
                   observation("k2", "kills>=1", 0.9, source="C"),
                   sources="  - {id: C, outlet: Outlet C, origin: a}\n"),
     "e.yaml:11: observations[1].predicate", "same origin 'a'"),
])
def test_bad_evidence_is_one_clear_line(tmp_path, evidence, where, message):
    result = infer_cli(tmp_path, evidence, GOOD_H)
    assert result.exit_code == 1, result.output
    assert where in result.output and message in result.output, result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("hypotheses, where, message", [
    (hypotheses_text(a="0.2", b="{dist: uniform, low: 0.6, high: 0.2}"),
     "h.yaml:7: hypotheses.b.values.fire_units.sam.pk.high", "improper prior"),
    (hypotheses_text(a="0.2", b="{dist: beta, a: 0, b: 2}"), "h.yaml:7", "greater than 0"),
    (hypotheses_text(a="0.2", b="{dist: uniform, low: 0.5, high: 1.5}"), "h.yaml:7",
     "reaches outside [0, 1]"),
    (hypotheses_text(a="0.2", b="1.2"), "h.yaml:7", "fire_units.sam.pk"),
    ("hypotheses:\n  a:\n    values:\n      fire_units.sam.pkk: 0.2\n  b: {}\n", "h.yaml:4",
     "unknown parameter path"),
    ("hypotheses:\n  a:\n    prior: 0\n  b: {}\n", "h.yaml:3: hypotheses.a.prior",
     "greater than 0"),
    ("hypotheses:\n  a:\n    values:\n      fire_units.sam.channels: {dist: uniform, low: 1, "
     "high: 3}\n  b: {}\n", "h.yaml:4", "not a prior"),
    (hypotheses_text(a="0.2", b="0.6") + "  both:\n    combine: [a, b]\n",
     "h.yaml:9: hypotheses.both.combine", "a and b set fire_units.sam.pk"),
    (hypotheses_text(a="0.2", b="0.6") + "  c:\n    combine: [a, z]\n", "h.yaml:9",
     "'z' is not a hypothesis"),
    ("hypotheses:\n  a: {profile: nope}\n  b: {}\n", "h.yaml:2", "no profile 'nope'"),
])
def test_bad_hypotheses_are_one_clear_line(tmp_path, hypotheses, where, message):
    result = infer_cli(tmp_path, GOOD_E, hypotheses)
    assert result.exit_code == 1, result.output
    assert where in result.output and message in result.output, result.output
    assert "Traceback" not in result.output


def test_evidence_no_run_satisfies_is_one_line_not_a_division_by_zero(tmp_path):
    result = infer_cli(tmp_path, evidence_text(observation("k", f"kills > {N_SHOTS}", 1.0)),
                       GOOD_H)
    assert result.exit_code == 1, result.output
    assert "no run under any hypothesis is consistent" in result.output
    assert "Traceback" not in result.output and "nan" not in result.output


def test_a_report_no_hypothesis_explains_is_flagged(tmp_path):
    result = infer_cli(tmp_path, evidence_text(observation("k", f"kills > {N_SHOTS}", 0.9)),
                       GOOD_H)
    assert result.exit_code == 0, result.output
    assert "held in no run under any hypothesis" in result.output


def test_files_about_another_scenario_are_refused(tmp_path):
    result = infer_cli(tmp_path, "scenario: caracas-2026\n" + GOOD_E, GOOD_H)
    assert result.exit_code == 1
    assert "about 'caracas-2026', not 'shots'" in result.output


def test_a_scenario_without_companion_files_says_so(tmp_path):
    scenario = write(tmp_path, "shots.yaml", SHOTS)
    result = runner.invoke(app, ["infer", str(scenario), "--runs", "10", "--no-figure"])
    assert result.exit_code == 1
    assert "no evidence file beside it (shots.evidence.yaml)" in result.output


def test_loading_errors_carry_file_and_line(tmp_path):
    with pytest.raises(ScenarioError) as info:
        load_hypotheses(write(tmp_path, "h.yaml", "hypotheses:\n  only: {}\n"))
    assert "h.yaml:1: hypotheses" in str(info.value) and "at least 2" in str(info.value)
    with pytest.raises(InferenceError):
        weigh(compile_scenario(parse_scenario(SHOTS, "shots.yaml")), tmp_path, GOOD_E, GOOD_H,
              runs=1)


def test_validate_checks_the_files_beside_a_scenario(tmp_path):
    write(tmp_path, "shots.yaml", SHOTS)
    write(tmp_path, "shots.evidence.yaml", GOOD_E)
    write(tmp_path, "shots.hypotheses.yaml", GOOD_H)
    ok = runner.invoke(app, ["validate", str(tmp_path / "shots.yaml")])
    assert ok.exit_code == 0 and "ok " + str(tmp_path / "shots.evidence.yaml") in ok.output
    write(tmp_path, "shots.hypotheses.yaml", hypotheses_text(a="0.2", b="2.5"))
    bad = runner.invoke(app, ["validate", str(tmp_path / "shots.yaml")])
    assert bad.exit_code == 1
    assert "shots.hypotheses.yaml:7: hypotheses.b.values.fire_units.sam.pk" in bad.output


# --- found in review ---------------------------------------------------------------------------


def test_target_se_does_not_stop_on_a_hypothesis_no_run_supports_yet(shots, tmp_path):
    """`kills == 6` with r = 1: under pk = 0.2 one run in 15,625 fits. The first batch has
    none, and a standard error of 0 must not end the run: the bound (or the SE, once runs
    fit) covers the exact posterior."""
    result = weigh(shots, tmp_path, evidence_text(observation("all", "kills == 6", 1.0)),
                   hypotheses_text(low="0.2", high="0.6"), runs=100, target_se=0.01,
                   max_runs=20_000, seed=31)
    exact = 0.2 ** 6 / (0.2 ** 6 + 0.6 ** 6)
    assert result.runs > 100
    if result.marginal[0] == 0:
        assert result.posterior_bound[0] >= exact
        assert any("no run of its" in w for w in result.warnings())
    else:
        close(result.posterior[0], exact, result.posterior_se[0], "rare posterior")


def test_huge_prior_weights_are_normalised_without_overflow(shots, tmp_path):
    hyps = ("hypotheses:\n  a: {prior: 1.0e+308, values: {fire_units.sam.pk: 0.2}}\n"
            "  b: {prior: 1.0e+308, values: {fire_units.sam.pk: 0.6}}\n")
    result = weigh(shots, tmp_path, GOOD_E, hyps, runs=200, seed=32)
    assert result.prior == pytest.approx([0.5, 0.5])
    assert np.isfinite(result.posterior).all()


def test_a_duration_and_a_prior_on_its_mean_in_one_hypothesis(shots, tmp_path):
    hyps = ("hypotheses:\n  slow:\n    values:\n"
            "      fire_units.sam.engagement_time: {dist: exponential, mean: 10}\n"
            "      fire_units.sam.engagement_time.mean: {dist: uniform, low: 5, high: 15}\n"
            "  fixed: {}\n")
    result = weigh(shots, tmp_path, GOOD_E, hyps, runs=100, seed=33)
    drawn = result.drawn["fire_units.sam.engagement_time.mean"][0]
    assert 5 <= drawn.min() and drawn.max() <= 15 and drawn.std() > 0


def test_a_prior_that_can_break_its_duration_is_refused(tmp_path):
    scenario = SHOTS.replace("{dist: fixed, value: 10}", "{dist: uniform, low: 5, high: 10}")
    hyps = ("hypotheses:\n  a:\n    values:\n      fire_units.sam.engagement_time.low: "
            "{dist: uniform, low: 0, high: 20}\n  b: {}\n")
    write(tmp_path, "shots.yaml", scenario)
    result = runner.invoke(app, ["infer", str(tmp_path / "shots.yaml"), "--evidence",
                                 str(write(tmp_path, "e.yaml", GOOD_E)), "--hypotheses",
                                 str(write(tmp_path, "h.yaml", hyps)), "--runs", "20",
                                 "--no-figure"])
    assert result.exit_code == 1
    assert "high must be at least low for some values of its priors" in result.output


@pytest.mark.parametrize("value", ["[0.1]", "{a: 1}"])
def test_a_value_of_the_wrong_shape_is_one_line(tmp_path, value):
    result = infer_cli(tmp_path, GOOD_E, hypotheses_text(a="0.2", b=value))
    assert result.exit_code == 1, result.output
    assert "h.yaml:7" in result.output and "Traceback" not in result.output


def test_one_origin_cannot_report_one_predicate_twice_in_other_words(tmp_path):
    evidence = evidence_text(observation("k", "kills >= 1", 0.8),
                             observation("k2", "kills > 0", 0.9, source="C"),
                             sources="  - {id: C, outlet: Outlet C, origin: a}\n")
    result = infer_cli(tmp_path, evidence, GOOD_H)
    assert result.exit_code == 1 and "same origin 'a'" in result.output
