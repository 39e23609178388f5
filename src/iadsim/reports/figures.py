"""Figures of analysis results, drawn with Matplotlib (Agg, no display) and written atomically:
a figure is complete on disk or not there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from iadsim.analysis.explain import Explanation
from iadsim.analysis.inference import RELIABILITIES, Inference
from iadsim.analysis.sensitivity import Sensitivity
from iadsim.store import write_aside


def waterfall(explanation: Explanation, path: str | Path) -> Path:
    """The Shapley values as a waterfall from the `from` profile's mean to the `to` profile's,
    each bar with its 95% interval; the format follows the suffix (.png, .svg, .pdf)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    e = explanation
    names = ["from: " + e.from_profile, *(g.name for g in e.groups), "to: " + e.to_profile]
    fig, ax = plt.subplots(figsize=(1.3 * len(names) + 2, 4.5), layout="constrained")
    level = e.from_value.mean
    ax.bar(0, level, color="#777777")
    for i, g in enumerate(e.groups, start=1):
        v = g.shapley
        ax.bar(i, v.mean, bottom=level, color="#c0392b" if v.mean >= 0 else "#2e86c1")
        ax.errorbar(i, level + v.mean, yerr=[[v.mean - v.ci_low], [v.ci_high - v.mean]],
                    color="black", capsize=3, linewidth=1)
        ax.annotate(f"{v.mean:+.2f}", (i, level + max(v.mean, 0)), ha="center",
                    va="bottom", fontsize=8, xytext=(0, 2), textcoords="offset points")
        level += v.mean
    ax.bar(len(names) - 1, e.to_value.mean, color="#777777")
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
    ax.set_ylabel(e.observable)
    ax.set_title(f"{e.scenario}: {e.observable} from {e.from_profile} to {e.to_profile}, "
                 f"Shapley shares ({e.runs} runs, seed {e.seed})", fontsize=10)
    ax.axhline(0, color="black", linewidth=0.5)
    return save_figure(fig, path)


FORMATS = (".png", ".svg", ".pdf")


def check_figure_path(path: str | Path) -> Path:
    """A figure path that can be written: a known suffix, in an existing folder (checked
    before a long analysis runs, so that nothing computed is lost to a bad name)."""
    target = Path(path)
    if target.is_dir():
        raise ValueError(f"{target}: is a folder; give a figure file name")
    if target.suffix.lower() not in FORMATS:
        raise ValueError(f"{target}: a figure file ends in {', '.join(FORMATS)}")
    if not target.parent.is_dir():
        raise ValueError(f"{target}: no folder {target.parent}")
    return target


def to_svg(draw: Any, result: Any) -> str:
    """A figure as SVG text with real text elements (searchable, printable): `draw` is one of
    this module's functions, `result` what it draws."""
    import io

    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        draw(result, buffer)
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def save_figure(fig: Any, path: Any) -> Any:
    """Write the figure atomically (the format follows the suffix) and close it; into a text
    buffer, as SVG."""
    import matplotlib.pyplot as plt

    if hasattr(path, "write"):
        try:
            fig.savefig(path, format="svg")
            return path
        finally:
            plt.close(fig)
    target = check_figure_path(path)
    try:
        return write_aside(target, lambda tmp: fig.savefig(
            tmp, dpi=150, format=target.suffix[1:].lower()))
    finally:
        plt.close(fig)


def index_bars(result: Sensitivity, path: str | Path) -> Path:
    """The sensitivity indices as bars with their intervals, and the noise floor (the dummy's
    index) as a line: an upper bound on what noise alone scores, since a real parameter's
    steps share their replications and the dummy's do not."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    r = result
    keys = (("S1", "S1_conf"), ("ST", "ST_conf")) if r.method == "sobol" else \
        (("mu_star", "mu_star_conf"),)
    names = list(r.names[:-1])
    fig, ax = plt.subplots(figsize=(1.2 * len(names) + 3, 4.5), layout="constrained")
    width = 0.8 / len(keys)
    for k, (key, conf) in enumerate(keys):
        xs = [i + (k - (len(keys) - 1) / 2) * width for i in range(len(names))]
        ax.bar(xs, r.indices[key][:-1], width, yerr=r.indices[conf][:-1], capsize=3,
               label=key)
        ax.axhline(r.indices[key][-1], color=f"C{k}", linestyle="--", linewidth=1,
                   label=f"{key} noise floor")
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("index" if r.method == "sobol" else "μ* (change per unit of range)")
    ax.set_title(f"{r.scenario} ({r.profile}): {r.method} indices of {r.observable}, "
                 f"{r.points} points × {r.runs_per_point} runs", fontsize=10)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def posterior_bars(inference: Inference, path: str | Path) -> Path:
    """Three panels: the posterior of each hypothesis with its 95% Monte Carlo interval (and
    the prior, and ACH's independent-reports posterior, for comparison); what each report adds
    to each hypothesis's log10 Bayes factor against the leader (leave one out); and the
    leader's posterior as each report's reliability runs over [0.5, 1]."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    r = inference
    H, J = len(r.names), len(r.reports)
    fig, (top, middle, bottom) = plt.subplots(
        3, 1, figsize=(max(8.0, 1.1 * H + 3), 12), layout="constrained",
        gridspec_kw={"height_ratios": [1.0, 1.2, 1.0]})
    x = np.arange(H)
    post, se = r.posterior, r.posterior_se
    top.bar(x - 0.27, r.prior, 0.27, color="#bbbbbb", label="prior")
    top.bar(x, post, 0.27, yerr=1.96 * se, capsize=3, color="#c0392b",
            label="posterior (joint likelihood per run), 95% MC interval")
    top.bar(x + 0.27, r.ach_posterior(), 0.27, color="#2e86c1",
            label="ACH: product of per-report likelihoods")
    top.set_xticks(x, r.names, rotation=20, ha="right", fontsize=8)
    top.set_ylabel("probability")
    top.set_title(f"{r.scenario}: hypotheses weighed against {J} reports ({r.runs} runs per "
                  f"hypothesis, seed {r.seed}); illustrative figures, judged reliabilities",
                  fontsize=10)
    top.legend(fontsize=8)
    loo = r.leave_one_out()
    finite = np.abs(loo[np.isfinite(loo)])
    reach = 1.2 * (finite.max() if finite.size and finite.max() > 0 else 1.0)
    width = 0.8 / H
    for h in range(H):
        ys = np.arange(J) + (h - (H - 1) / 2) * width
        middle.barh(ys, np.clip(np.nan_to_num(loo[:, h], nan=0.0), -reach, reach), width,
                    label=r.names[h], color=f"C{h % 10}")
        for y, v in zip(ys, loo[:, h], strict=True):
            if np.isinf(v):  # a certain report that rules the hypothesis out (or in)
                middle.annotate("ruled out" if v < 0 else "only it fits", (np.sign(v) * reach,
                                y), fontsize=6, va="center",
                                ha="left" if v < 0 else "right")
    middle.set_yticks(np.arange(J), [rep.id for rep in r.reports], fontsize=8)
    middle.invert_yaxis()
    middle.axvline(0, color="black", linewidth=0.5)
    middle.set_xlabel(f"what the report adds to log10 BF(hypothesis : {r.names[r.leader]})")
    middle.set_title("Leave one out: each report's weight", fontsize=10)
    middle.legend(fontsize=7, ncols=min(H, 4))
    curves = r.reliability_curves()
    for j, rep in enumerate(r.reports):
        bottom.plot(RELIABILITIES, curves[j, :, r.leader], marker="o", markersize=3,
                    label=rep.id)
        bottom.plot([rep.reliability], [post[r.leader]], marker="x", color="black")
    bottom.set_xlabel("the report's reliability r (others as stated; x: as stated)")
    bottom.set_ylabel(f"P({r.names[r.leader]})")
    bottom.set_title("How much rests on trusting each report", fontsize=10)
    bottom.legend(fontsize=7, ncols=2)
    return save_figure(fig, path)
