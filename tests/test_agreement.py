"""Statistical agreement between the reference engine (SimPy, the oracle) and the vectorized one.

Both engines implement MODEL.md, so on any scenario they must produce the same distribution of
outcomes; they draw from unrelated random streams (a NumPy Generator per replication versus
counter-based hashes), so their two samples are independent whatever the seeds. On every
scenario below, for every observable of DEFAULT_OBSERVABLES the two means must agree within a
bound derived from the standard errors, and the first-broken-link distributions must agree by a
chi-square test. The scenarios: the analytic validation cases of tests/test_validation.py,
caracas-2026 under its base readiness and each of its profiles, and two built to stress the hard
parts (a saturation stream against few channels with shoot-look-shoot; central versus delegated
command with orders_prob < 1, electronic attack and strikes in mid-raid).

Statistics (the seeds are fixed; they must not be changed to make a failing check pass):

* False alarms. The whole file gets a family-wise false-alarm budget ALPHA = 0.001 under the
  union bound, half for the mean checks and half for the chi-square tests, so a correct pair of
  engines fails this file for fewer than 1 seed in 1,000.

* Means. Each observable x is compared by |mean_v − mean_r| ≤ Z · SE with Z the Bonferroni
  bound norm.isf(ALPHA / 2 / (2 M)) over the M mean checks of the file, and
      SE = max( √(se_r² + se_v²),  s_pooled · √(1/n_r + 1/n_v) ),
  se_e the standard error of engine e's mean and s_pooled the standard deviation of both samples
  together. The first term is the usual (Welch) bound; alone, it is badly anti-conservative for
  rare observables: when the smaller sample happens to hold no event its SE is 0 and a handful of
  events in the larger sample "disagree" (computed exactly for a 0/1 observable with n_r = 500,
  n_v = 5,000 at this Z: 10² to 10⁴ times the nominal false-alarm rate for event probabilities
  0.3%–3%). The second term is the SE under the null hypothesis that both engines have the same
  distribution; alone, it is anti-conservative when the smaller sample has an upward fluctuation
  (up to 10² times nominal at n_v / n_r = 10, 10³ at 20). Their maximum is at or below the
  nominal rate in every case computed (0/1 observables, p from 1e-4 to 0.5, (n_r, n_v) from
  (200, 4,000) to (1,500, 15,000)) and loses almost no power when the normal approximation holds
  (the two terms then agree). When both engines' SEs are 0 (a constant observable) the means
  must be equal exactly.

* First-broken-link distributions. The failed passages of a replication are NOT independent: one
  readiness draw fails every passage through a unit, one command post that issues no orders fails
  every passage of its units, one exhausted magazine fails the rest. Pooling the passage counts
  over replications and applying Pearson's chi-square as if passages were independent multinomial
  draws is therefore wrong: the generalised design effects reach 10 (stress-command) and 30
  (caracas-2026 `reported`), where the two engines' pooled counts give X² = 169 on 7 dof (naive
  p ~ 1e-32) although they agree. We keep chi2_contingency's Pearson X² of the pooled 2 × K
  table (engine × link category) and apply the Rao–Scott second-order correction for cluster
  samples (Rao & Scott 1981, 1984; the replication is the cluster): with δ_1 … δ_{K−1} the
  eigenvalues of Σ_mult⁻¹ V, where Σ_mult is the multinomial covariance of the difference between
  the two engines' link proportions and V its actual covariance (replication-level linearisation
  of the two ratio estimators, summed), X² / (δ̄ (1 + a²)) is referred to χ² with
  ν = (K − 1) / (1 + a²) degrees of freedom, a² = Σ(δ_j − δ̄)² / ((K − 1) δ̄²). Categories too
  rare for the asymptotics (expected count under 5 in either engine's row, or present in fewer
  than 10 replications) are merged into one bin, itself folded into the commonest category if
  still too thin. Calibration, from 400 (stress-command) and 200 (caracas-2026 `reported`)
  comparisons of two independent runs of one engine with 400–500 against 4,000 replications:
  rejection rates 0.095 / 0.043–0.055 / 0.000–0.013 at levels 0.1 / 0.05 / 0.01, as nominal; a
  cluster-robust Wald test on the same data rejected 0.15 / 0.09 / 0.03 on `reported`. The
  per-link MEANS are observables too (DEFAULT_OBSERVABLES ends with the links), so each is also
  checked on its own above.

* Deepest links. The unkilled threats' deepest-link categories (MODEL.md) are compared by the
  same Rao–Scott test, the replication again being the cluster; the chi-square half of the
  budget is shared by the two tests of every case.

* The test can fail: test_a_deliberately_altered_parameter_is_caught compares the reference engine
  on a scenario with the vectorized engine on the same scenario with one parameter changed, and
  requires the same comparison to report disagreement.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from scipy.stats import chi2, chi2_contingency, norm
from test_validation import (
    erlang_yaml,
    infrared_window_yaml,
    layered_yaml,
    search_window_yaml,
    shoot_look_shoot_yaml,
)

from iadsim.engine import run
from iadsim.engine.results import DEFAULT_OBSERVABLES, LINKS, Results
from iadsim.model import Model, compile_scenario
from iadsim.scenario.load import load_scenario, parse_scenario

ALPHA = 0.001  # family-wise false-alarm budget of this file, half for means, half for chi-square

# =================================================================================================
# Stress scenarios
# =================================================================================================

SATURATION = """
name: stress-saturation
duration_s: 1500
sensors:
  - {id: fcr, role: fire_control, lat: 10.0, lon: -66.0, height_m: 10, range_km: 40,
     detect_rate: 0.1}
fire_units:
  - {id: sam, lat: 10.0, lon: -66.0, guidance: radar, fire_control_radar: fcr,
     max_range_km: 20, max_alt_m: 10000, channels: 2, missiles: 14, salvo: 2,
     launch_reliability: 0.85, pk: 0.5, engagement_time: {dist: exponential, mean: 25},
     shoot_look_shoot: true}
  - {id: manpads, lat: 10.05, lon: -66.0, guidance: infrared, acquire_rate: 0.05,
     max_range_km: 5, max_alt_m: 3000, channels: 1, missiles: 6, salvo: 1,
     launch_reliability: 0.9, pk: 0.4, engagement_time: {dist: exponential, mean: 8},
     shoot_look_shoot: true}
streams:
  - {id: raid, class: drone, rcs_m2: 0.5, rate_per_s: 0.06, start_s: 0, end_s: 600,
     speed_mps: 150,
     route: [{lat: 9.7, lon: -66.0, alt_m: 1000}, {lat: 10.3, lon: -66.0, alt_m: 1000}]}
"""
"""A Poisson stream (~36 drones in 10 minutes, each ~4.5 minutes in the SAM's envelope) against a
two-channel SAM and a one-channel MANPADS team nested in it, both with shoot-look-shoot,
exponential engagement times, two-missile salvoes on the SAM and magazines that run dry: queues,
re-engagements, exhaustion, and passages cut short by the other unit's kill. No command post:
both units engage on their own acquisition."""

COMMAND = """
name: stress-command
duration_s: 2400
readiness: {available: 0.9, deployed: 0.95, emitting: 0.9, connected: 0.85, trained: 0.7}
untrained_crew_factor: 0.6
sensors:
  - {id: sr-north, role: search, lat: 10.3, lon: -66.0, height_m: 30, range_km: 120,
     detect_rate: 0.02, command_post: cp-central}
  - {id: sr-south, role: search, lat: 9.9, lon: -66.05, height_m: 20, range_km: 80,
     detect_rate: 0.05, command_post: cp-central}
  - {id: sr-local, role: search, lat: 10.0, lon: -65.95, height_m: 10, range_km: 40,
     detect_rate: 0.1, command_post: cp-delegated}
  - {id: sr-east, role: search, lat: 10.02, lon: -65.8, height_m: 20, range_km: 60,
     detect_rate: 0.05, command_post: cp-auto}
  - {id: fcr-a, role: fire_control, lat: 10.1, lon: -66.0, height_m: 15, range_km: 60,
     detect_rate: 0.08}
  - {id: fcr-b, role: fire_control, lat: 9.95, lon: -66.0, height_m: 15, range_km: 50,
     detect_rate: 0.1}
command_posts:
  - {id: cp-central, authority: central, orders_prob: 0.6, report_delay_s: 10,
     decision_delay: {dist: exponential, mean: 40}}
  - {id: cp-delegated, authority: delegated, orders_prob: 0.7, report_delay_s: 20,
     decision_delay: {dist: exponential, mean: 60}}
  - {id: cp-auto, authority: autonomous, autonomous_delay_s: 3, report_delay_s: 5}
fire_units:
  - {id: sam-a, lat: 10.1, lon: -66.0, guidance: radar, fire_control_radar: fcr-a,
     command_post: cp-central, max_range_km: 35, max_alt_m: 20000, channels: 2, missiles: 8,
     salvo: 2, launch_reliability: 0.9, pk: 0.6, engagement_time: {dist: exponential, mean: 20},
     shoot_look_shoot: true}
  - {id: sam-b, lat: 9.95, lon: -66.0, guidance: radar, fire_control_radar: fcr-b,
     command_post: cp-delegated, min_range_km: 2, max_range_km: 25, max_alt_m: 15000,
     channels: 1, missiles: 6, launch_reliability: 0.9, pk: {default: 0.5, helicopter: 0.7},
     missile_speed_mps: 800, acquisition_time_s: 6}
  - {id: ir-1, lat: 10.0, lon: -66.0, guidance: infrared, acquire_rate: 0.03,
     command_post: cp-delegated, max_range_km: 5, max_alt_m: 3500, missiles: 4, pk: 0.35,
     launch_reliability: 0.85, engagement_time: {dist: uniform, low: 5, high: 12},
     shoot_look_shoot: true}
  - {id: ir-2, lat: 10.05, lon: -66.02, guidance: infrared, acquire_rate: 0.05,
     command_post: cp-central, max_range_km: 5, max_alt_m: 3500, missiles: 3, pk: 0.4,
     engagement_time: 6}
  - {id: ir-3, lat: 10.02, lon: -65.9, guidance: infrared, acquire_rate: 0.04,
     command_post: cp-auto, max_range_km: 5, max_alt_m: 3500, missiles: 4, pk: 0.4,
     launch_reliability: 0.9, engagement_time: 8}
threats:
  - {id: jets, class: fixed_wing, count: 4, rcs_m2: 3, speed_mps: 250, start_s: 0,
     route: [{lat: 11.0, lon: -66.0, alt_m: 3000}, {lat: 9.0, lon: -66.0, alt_m: 3000}]}
  - {id: helos, class: helicopter, count: 3, rcs_m2: 8, speed_mps: 70, start_s: 100,
     route: [{lat: 10.4, lon: -66.01, alt_m: 200}, {lat: 9.7, lon: -66.01, alt_m: 200}]}
  - {id: cruise, class: cruise_missile, count: 2, rcs_m2: 0.1, speed_mps: 240, start_s: 300,
     route: [{lat: 10.02, lon: -65.3, alt_m: 50}, {lat: 10.02, lon: -66.6, alt_m: 50}]}
strikes:
  - {target: sam-a, time_s: 600, p_destroy: 0.5}
  - {target: cp-central, time_s: 900, p_destroy: 0.6}
  - {target: sr-south, time_s: 700, p_destroy: 0.5}
electronic_attack:
  - {id: jam, start_s: 400, end_s: 800, detect_factor: 0.3, link_cut_prob: 0.3,
     targets: {kinds: [sensor], area: {lat: 10.02, lon: -65.9, radius_km: 3}}}
  - {id: cyber, start_s: 500, end_s: 1000, targets: {ids: [cp-central, sam-b, ir-1]},
     disable_prob: 0.3, pk_factor: 0.7, link_cut_prob: 0.4, launch_factor: 0.8}
"""
"""Central command (orders_prob 0.6, exponential decision delay) over a SAM and a MANPADS team
that fire only on its orders, delegated command (orders_prob 0.7) over a SAM with a minimum range
and the flyout engagement time and a MANPADS team that may fire on their own acquisition, and an
autonomous command post over a third MANPADS team (fixed delay, immune to the crew factor); search
radars reporting to each; readiness below 1 everywhere and a crew factor; three flights of
several aircraft each (jets, helicopters that loiter through the envelopes, cruise missiles)
overlapping in time; jamming (detect_factor, link cuts) and a cyber attack (disable, pk_factor)
over windows that open and close while threats are inside envelopes, on entities selected by
kind, id and area; strikes in mid-raid that may destroy a SAM (aborting its engagements), the
central command post and a search radar."""

DOCTRINE = COMMAND.replace("strikes:", """\
  - {id: patrol, class: helicopter, count: 2, rcs_m2: 8, speed_mps: 60, start_s: 200,
     route: [{lat: 10.3, lon: -66.0, alt_m: 300}, {lat: 9.93, lon: -66.0, alt_m: 300},
             {lat: 10.3, lon: -66.0, alt_m: 300}]}
strikes:""") + """\
groups: {north: [sam-a, fcr-a, sr-north], teams: [ir-1, ir-2]}
shared_readiness: {north: [available, deployed], teams: [trained]}
doctrine:
  - {select: {ids: [sam-a]}, engages: [fixed_wing, cruise_missile, helicopter]}
  - {select: {ids: [sam-b]}, engages: [[helicopter, cruise_missile]]}
"""
"""stress-command with shared readiness draws (a SAM with its fire-control and search radar, two
MANPADS crews), fire doctrine (a priority order; a unit that holds fire on jets) and a pair of
helicopters flying out and back through the southern envelopes."""


# =================================================================================================
# The comparison
# =================================================================================================


@dataclass(frozen=True)
class Case:
    """A scenario (compiled lazily) and how many replications each engine runs on it."""

    id: str
    build: Callable[[], Model]
    n_ref: int
    n_vec: int
    seeds: tuple[int, int]  # (reference, vectorized)
    slow: bool = False


def _yaml(text: str, name: str) -> Model:
    return compile_scenario(parse_scenario(text, name))


def _caracas(profile: str | None) -> Model:
    return compile_scenario(load_scenario("caracas-2026"), profile=profile)


CARACAS_PROFILES = (None, "full", "reported", "no-orders", "unready-equipment", "electronic-attack",
                    "ai-command")


def _cases() -> list[Case]:
    cases = [
        Case("layered", lambda: _yaml(layered_yaml(), "layered.yaml"), 15_000, 150_000, (11, 12)),
        Case("shoot-look-shoot", lambda: _yaml(shoot_look_shoot_yaml(22.0, 0.3, 0.8, 1, 100, True),
                                               "sls.yaml"), 15_000, 150_000, (21, 22)),
        Case("shoot-look-shoot-salvo-magazine",
             lambda: _yaml(shoot_look_shoot_yaml(13.0, 0.25, 0.9, 2, 5, True), "sls2.yaml"),
             15_000, 150_000, (31, 32)),
        Case("one-shot", lambda: _yaml(shoot_look_shoot_yaml(22.0, 0.3, 1.0, 1, 100, False),
                                       "one-shot.yaml"), 15_000, 150_000, (41, 42)),
        Case("detection-window-infrared",
             lambda: _yaml(infrared_window_yaml(0.02), "ir.yaml"), 15_000, 150_000, (51, 52)),
        Case("detection-window-search-central",
             lambda: _yaml(search_window_yaml(0.0025, 20.0, 30.0), "search.yaml"),
             15_000, 150_000, (61, 62)),
        Case("erlang-stream", lambda: _yaml(erlang_yaml(3, 2.0, 1.0, 60.0), "erlang.yaml"),
             600, 6000, (71, 72), slow=True),
    ]
    for i, profile in enumerate(CARACAS_PROFILES):
        cases.append(Case(f"caracas-2026[{profile or 'base'}]",
                          functools.partial(_caracas, profile), 1500, 15_000,
                          (81 + 2 * i, 82 + 2 * i), slow=True))
    cases += [
        Case("stress-saturation", lambda: _yaml(SATURATION, "saturation.yaml"), 4000, 40_000,
             (101, 102), slow=True),
        Case("stress-command", lambda: _yaml(COMMAND, "command.yaml"), 6000, 60_000, (111, 112),
             slow=True),
        # parameters set by path rather than in the file: an authority switched, an attack
        # window switched off, a launcher's connection and a strike's odds changed
        Case("stress-command[values]", lambda: _yaml(COMMAND, "command.yaml").at(values={
            "command_posts.cp-central.authority": "autonomous",
            "command_posts.cp-delegated.authority": "central",
            "electronic_attack.jam.active": False,
            "fire_units.sam-b.readiness.connected": 0.4,
            "strikes.0.p_destroy": 0.9}), 6000, 60_000, (121, 122), slow=True),
        Case("stress-doctrine", lambda: _yaml(DOCTRINE, "doctrine.yaml"), 6000, 60_000,
             (131, 132), slow=True),
    ]
    return cases


CASES = _cases()
N_MEAN_CHECKS = len(CASES) * len(DEFAULT_OBSERVABLES)
Z = float(norm.isf(ALPHA / 2 / (2 * N_MEAN_CHECKS)))  # two-sided, Bonferroni
ALPHA_CHI = ALPHA / 2 / (2 * len(CASES))  # two chi-square tests per case: first and deepest


@dataclass(frozen=True)
class Check:
    """One comparison between the engines, and whether it passed."""

    what: str
    ok: bool
    detail: str

    def __str__(self) -> str:
        return f"{self.what}: {'ok' if self.ok else 'DISAGREE'}: {self.detail}"


def mean_check(name: str, r: np.ndarray, v: np.ndarray, z: float = Z) -> Check:
    """|mean_v − mean_r| ≤ z · max(Welch SE, pooled SE); exact equality for constants."""
    n_r, n_v = len(r), len(v)
    m_r, m_v = float(r.mean()), float(v.mean())
    se_r = float(r.std(ddof=1)) / math.sqrt(n_r)
    se_v = float(v.std(ddof=1)) / math.sqrt(n_v)
    if se_r == 0.0 and se_v == 0.0:
        return Check(name, m_r == m_v, f"reference {m_r:.6g} (constant), vectorized {m_v:.6g} "
                     "(constant): must be equal")
    se_pooled = float(np.concatenate([r, v]).std(ddof=1)) * math.sqrt(1 / n_r + 1 / n_v)
    se = max(math.hypot(se_r, se_v), se_pooled)
    diff = m_v - m_r
    return Check(name, abs(diff) <= z * se,
                 f"reference {m_r:.5g} ± {se_r:.3g} (n={n_r}), vectorized {m_v:.5g} ± {se_v:.3g} "
                 f"(n={n_v}); difference {diff:+.4g} = {diff / se:+.2f} SE (bound ±{z:.2f} SE, "
                 f"SE {se:.3g})")


def link_categories(ref: np.ndarray, vec: np.ndarray, min_expected: float = 5.0,
                    min_reps: int = 10) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Per-replication counts (R, K) of the link categories kept for the chi-square test:
    categories too rare for its asymptotics are merged (see the module docstring)."""
    total = ref.sum(0) + vec.sum(0)
    n_ref, n_vec = ref.sum(), vec.sum()
    share = min(n_ref, n_vec) / max(n_ref + n_vec, 1)  # the smaller row's share of the table

    def enough(r: np.ndarray, v: np.ndarray) -> bool:
        return (r.sum() + v.sum()) * share >= min_expected and \
            (r > 0).sum() + (v > 0).sum() >= min_reps

    names, cols_r, cols_v, rare = [], [], [], []
    for k, link in enumerate(LINKS):
        if enough(ref[:, k], vec[:, k]):
            names.append(link)
            cols_r.append(ref[:, k])
            cols_v.append(vec[:, k])
        elif total[k] > 0:
            rare.append(k)
    if rare:
        r, v, label = ref[:, rare].sum(1), vec[:, rare].sum(1), "+".join(LINKS[k] for k in rare)
        if enough(r, v):
            names.append(label)
            cols_r.append(r)
            cols_v.append(v)
        elif names:
            i = int(np.argmax([a.sum() + b.sum() for a, b in zip(cols_r, cols_v, strict=True)]))
            names[i] += "+" + label
            cols_r[i] = cols_r[i] + r
            cols_v[i] = cols_v[i] + v
    if not names:
        return [], np.zeros((len(ref), 0)), np.zeros((len(vec), 0))
    return names, np.stack(cols_r, 1).astype(float), np.stack(cols_v, 1).astype(float)


def _cluster_covariance(x: np.ndarray) -> np.ndarray:
    """Covariance of the pooled proportions Σ_i x_i / Σ_i t_i (t_i = x_i's total) over
    independent replications i, by linearising the ratio estimator."""
    t = x.sum(1)
    p = x.sum(0) / t.sum()
    residual = x - np.outer(t, p)
    return residual.T @ residual * len(x) / (len(x) - 1) / t.sum() ** 2


def link_check(ref: np.ndarray, vec: np.ndarray, alpha: float = ALPHA_CHI,
               what: str = "first-broken-link distribution") -> Check:
    """Rao–Scott (second-order) chi-square test that the two engines' failed passages fall into
    the first-broken-link categories in the same proportions; ref, vec are (R, len(LINKS))."""
    names, a, b = link_categories(ref, vec)
    counts = "; ".join(f"{n}: {int(x)} / {int(y)}" for n, x, y in
                       zip(names, a.sum(0), b.sum(0), strict=True))
    if len(names) < 2:
        return Check(what, True,
                     f"fewer than two categories to compare ({counts or 'no failed passage'}); "
                     "the per-link means are checked above")
    table = np.stack([a.sum(0), b.sum(0)])
    x2, _, dof, _ = chi2_contingency(table, correction=False)
    n_r, n_v = table.sum(1)
    p = table.sum(0) / table.sum()
    multinomial = (np.diag(p) - np.outer(p, p)) * (1 / n_r + 1 / n_v)
    actual = _cluster_covariance(a) + _cluster_covariance(b)
    k = len(names) - 1  # drop one category: proportions sum to 1
    deff = np.linalg.eigvals(np.linalg.solve(multinomial[:k, :k], actual[:k, :k])).real
    mean_deff = float(deff.mean())
    a2 = float(((deff - mean_deff) ** 2).sum() / (k * mean_deff ** 2))
    nu = k / (1 + a2)
    statistic = x2 / (mean_deff * (1 + a2))
    p_value = float(chi2.sf(statistic, nu))
    return Check(what, p_value > alpha,
                 f"counts reference / vectorized: {counts}; Pearson X² {x2:.2f} on {dof} dof, "
                 f"design effects {np.round(np.sort(deff), 2).tolist()}, Rao–Scott X² "
                 f"{statistic:.2f} on {nu:.2f} dof: p = {p_value:.3g} (must exceed {alpha:.2g})")


def compare(ref: Results, vec: Results, z: float = Z, alpha: float = ALPHA_CHI) -> list[Check]:
    """Every check of the two engines' results against each other."""
    checks = [mean_check(name, ref.observable(name), vec.observable(name), z)
              for name in DEFAULT_OBSERVABLES]
    checks.append(link_check(ref.links, vec.links, alpha))
    checks.append(link_check(ref.deepest, vec.deepest, alpha, "deepest-link distribution"))
    return checks


def engine_disagreements(cs_ref: Model, n_ref: int, n_vec: int,
                         seeds: tuple[int, int], cs_vec: Model | None = None
                         ) -> list[Check]:
    """The failing checks of reference (n_ref replications) against vectorized (n_vec) — on the
    same scenario, or on cs_vec if given (to show that a difference is caught)."""
    ref = _reference(cs_ref, n_ref, seeds[0])
    vec = run(cs_vec or cs_ref, n_vec, seed=seeds[1], engine="vectorized")
    assert ref.runs == n_ref and vec.runs == n_vec
    return [c for c in compare(ref, vec) if not c.ok]


def assert_engines_agree(cs: Model, n_ref: int, n_vec: int,
                         seeds: tuple[int, int]) -> None:
    failures = engine_disagreements(cs, n_ref, n_vec, seeds)
    assert not failures, f"engines disagree on {cs.name} ({cs.profile}):\n" + "\n".join(
        f"  {c}" for c in failures)


_REFERENCE_CACHE: dict[tuple[int, int, int], Results] = {}


def _reference(cs: Model, n: int, seed: int) -> Results:
    """The reference run, kept for the altered-parameter tests (the slow engine runs once)."""
    key = (id(cs), n, seed)
    if key not in _REFERENCE_CACHE:
        _REFERENCE_CACHE[key] = run(cs, n, seed=seed, engine="reference")
    return _REFERENCE_CACHE[key]


@functools.cache
def _compiled(case_id: str) -> Model:
    return next(c for c in CASES if c.id == case_id).build()


# =================================================================================================
# The tests
# =================================================================================================


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=[pytest.mark.slow] if c.slow
                                               else []) for c in CASES])
def test_engines_agree(case: Case):
    assert_engines_agree(_compiled(case.id), case.n_ref, case.n_vec, case.seeds)


ALTERED = [
    # (case, text replaced in the vectorized engine's copy, replacement, checks that must fail)
    pytest.param("stress-saturation", "launch_reliability: 0.85, pk: 0.5,",
                 "launch_reliability: 0.85, pk: 0.4,", {"threats_killed", "misses"},
                 id="saturation-sam-pk-0.5-to-0.4"),
    pytest.param("stress-command", "orders_prob: 0.6,", "orders_prob: 0.45,",
                 {"ordered", "first-broken-link distribution"},
                 id="command-central-orders-prob-0.6-to-0.45"),
]


@pytest.mark.slow
@pytest.mark.parametrize("case_id, old, new, must_fail", ALTERED)
def test_a_deliberately_altered_parameter_is_caught(case_id, old, new, must_fail):
    """The comparison has power: the vectorized engine run on a copy of the scenario with one
    parameter changed must be reported as disagreeing with the reference on the original, by
    the named checks among others."""
    case = next(c for c in CASES if c.id == case_id)
    text = {"stress-saturation": SATURATION, "stress-command": COMMAND}[case_id]
    assert text.count(old) == 1
    altered = _yaml(text.replace(old, new), "altered.yaml")
    failures = engine_disagreements(_compiled(case_id), case.n_ref, case.n_vec, case.seeds,
                                    cs_vec=altered)
    failed = {c.what for c in failures}
    assert must_fail <= failed, (
        f"altering {old!r} → {new!r} went unnoticed by {sorted(must_fail - failed)}; "
        "failing checks:\n" + "\n".join(f"  {c}" for c in failures))


# --- the statistics themselves --------------------------------------------------------------------


def test_mean_check_rules():
    ones = np.ones(100)
    assert mean_check("c", ones, ones).ok
    assert not mean_check("c", ones, 2 * ones).ok  # constants must be equal exactly
    # a rare event: none among the reference's 500 replications and 30 among the vectorized
    # 5,000 is no evidence of a difference (given 30 events in all, P(none among the 500) =
    # (10/11)^30 ≈ 0.06), though Welch's SE alone would put the difference at 5.5 SE
    r, v = np.zeros(500), np.zeros(5000)
    v[:30] = 1
    assert math.hypot(r.std(ddof=1) / math.sqrt(500), v.std(ddof=1) / math.sqrt(5000)) * Z < \
        v.mean()
    assert mean_check("rare", r, v).ok
    v[:250] = 1  # 0/500 against 5%: P = (10/11)^250 ≈ 4e-11
    assert not mean_check("rare", r, v).ok


def test_link_check_accounts_for_clustering():
    """Replications whose passages all fail for one reason (as a readiness draw does) look like
    a huge sample to a naive chi-square; the design-effect correction must not be fooled, yet a
    real change in proportions must still be found."""
    rng = np.random.default_rng(7)

    def sample(n: int, p: tuple[float, ...]) -> np.ndarray:
        out = np.zeros((n, len(LINKS)), dtype=np.int64)
        cause = np.array([0, 1, 5])[rng.choice(3, size=n, p=p)]  # unit_ready, detected, magazine
        out[np.arange(n), cause] = rng.poisson(20, n)  # every passage of a replication alike
        return out

    null = (0.5, 0.3, 0.2)
    pairs = [(sample(400, null), sample(4000, null)) for _ in range(20)]
    corrected = [link_check(a, b) for a, b in pairs]
    assert all(c.ok for c in corrected), [str(c) for c in corrected if not c.ok]
    naive = [chi2_contingency(np.stack([a.sum(0), b.sum(0)])[:, [0, 1, 5]]).pvalue
             for a, b in pairs]
    assert np.mean(np.array(naive) < ALPHA_CHI) > 0.5  # the naive test cries wolf
    shifted = link_check(sample(400, (0.5, 0.3, 0.2)), sample(4000, (0.35, 0.45, 0.2)))
    assert not shifted.ok, str(shifted)
