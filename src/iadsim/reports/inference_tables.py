"""The inference as terminal tables (Rich): the posterior, the ACH matrix next to the joint
likelihood, each report's weight, the reliability sensitivity, the drawn parameters and the
posterior predictive check."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from iadsim.analysis.inference import RELIABILITIES, UNEXPLAINED, Inference
from iadsim.engine.results import Z95

BOX = box.SIMPLE_HEAD
CAVEAT = ("Illustrative system figures; reliabilities and priors are judgements written in the "
          "evidence and hypotheses files. The posterior says which explanation the model makes "
          "most consistent with the reports as weighed, not what happened.")


def print_inference(console: Console, r: Inference) -> None:
    """Every table of an inference, in reading order."""
    names = [escape(n) for n in short_names(r.names)]
    console.print(f"[bold]{escape(r.scenario)}[/bold]: {len(r.names)} hypotheses (baseline "
                  f"{escape(r.baseline)}) weighed against {len(r.reports)} reports, {r.runs} runs "
                  f"per hypothesis, seed {r.seed}, common random numbers"
                  + (f", until every posterior SE < {r.target_se:g}" if r.target_se else ""))
    post, se = r.posterior, r.posterior_se
    bf, bf_se = r.log10_bayes_factors()
    table = Table(title="Posterior over hypotheses", box=BOX)
    for col in ("hypothesis", "prior", "P(reports | H)", "posterior [95% MC]",
                f"log10 BF vs {names[r.leader]}", "eff. runs"):
        table.add_column(col, justify="left" if col == "hypothesis" else "right",
                         no_wrap=True)
    bound = r.posterior_bound
    for h in np.argsort(-np.nan_to_num(post)):
        table.add_row(escape(r.names[h]), f"{r.prior[h]:.3f}",
                      f"{r.marginal[h]:.3g} ± {r.marginal_se[h]:.1g}",
                      f"0 (< {bound[h]:.2g}, no run fits)" if r.marginal[h] == 0 else
                      f"{post[h]:.3f} [{max(0.0, post[h] - Z95 * se[h]):.3f}, "
                      f"{min(1.0, post[h] + Z95 * se[h]):.3f}]",
                      "—" if h == r.leader else f"{bf[h]:+.2f} ± {bf_se[h]:.2f}",
                      f"{r.effective_runs[h]:.0f}")
    console.print(table)
    _print_ach(console, r, names)
    _print_weights(console, r, names)
    _print_parameters(console, r, names)
    for w in r.warnings():
        console.print(f"[yellow]warning:[/yellow] {escape(w)}", soft_wrap=True)
    console.print(f"[dim]{escape(CAVEAT)}[/dim]")


def short_names(names: Sequence[str]) -> list[str]:
    """Column labels: a name up to its first '-' (H1-unready-equipment → H1) when that is
    unique, else the whole name."""
    heads = [n.split("-")[0] or n for n in names]
    return heads if len(set(heads)) == len(heads) else list(names)


def _print_ach(console: Console, r: Inference, names: list[str]) -> None:
    reports = Table(title="Reports: P(report | predicate) = r, P(report | not) = 1 − r",
                    box=BOX)
    for col in ("report", "predicate", "r", "sources · origins"):
        reports.add_column(col, justify="right" if col == "r" else "left",
                           no_wrap=col in ("report", "predicate"))
    for rep in r.reports:
        reports.add_row(escape(rep.id), escape(rep.predicate), f"{rep.reliability:g}",
                        escape(f"{', '.join(rep.source_ids)} · {', '.join(rep.origins)}"))
    console.print(reports)
    cells, diag = r.ach(), r.diagnosticity()
    table = Table(title="Evidence against hypotheses (ACH): P(report | H) from the simulation",
                  caption="ACH multiplies the rows as if the reports were independent; iadsim "
                  "takes the product per run, then averages (outcomes within a run are "
                  "correlated). Diagnosticity: log10 of a row's largest over smallest cell.",
                  box=BOX)
    table.add_column("report", no_wrap=True)
    for n in names:
        table.add_column(n, justify="right")
    table.add_column("diagn.", justify="right")
    for j, rep in enumerate(r.reports):
        table.add_row(escape(rep.id), *(f"{c:.3f}" for c in cells[j]), f"{diag[j]:.2f}")
    table.add_section()
    for label, values, fmt in (("product of rows (ACH)", r.ach_product(), ".2e"),
                               ("joint likelihood", r.marginal, ".2e"),
                               ("posterior from ACH", r.ach_posterior(), ".3f"),
                               ("posterior from joint", r.posterior, ".3f")):
        table.add_row(label, *(f"{v:{fmt}}" for v in values), "")
    console.print(table)


def _print_weights(console: Console, r: Inference, names: list[str]) -> None:
    leader = r.names[r.leader]
    loo = r.leave_one_out()
    table = Table(title=f"Each report's weight: what it adds to log10 BF(H : {names[r.leader]}), "
                  "and the posterior without it", box=BOX)
    table.add_column("report", no_wrap=True)
    for n in names:
        table.add_column(n, justify="right")
    table.add_column(f"P({names[r.leader]})\nwithout", justify="right")
    table.add_column("reversed:\nleader (P)", justify="right", no_wrap=True)
    for j, rep in enumerate(r.reports):
        rev = r.reversed(j)
        turned = "—" if not np.isfinite(rev).all() else \
            f"{names[int(np.argmax(rev))]} ({rev.max():.2f})"
        table.add_row(escape(rep.id), *(_signed(v) for v in loo[j]),
                      f"{r.without(j)[r.leader]:.3f}", turned)
    console.print(table)
    decisive = r.most_decisive()
    if decisive is not None:
        j, rev, shift = decisive
        turned = int(np.argmax(rev))
        console.print(
            f"Most decisive report: [bold]{escape(r.reports[j].id)}[/bold]: reversed, it would "
            f"move the posterior by {shift:.3f} (total variation); the leader would "
            + (f"be {escape(r.names[turned])} (P = {rev[turned]:.3f}; now {escape(leader)}, "
               f"P = {r.posterior[r.leader]:.3f})" if turned != r.leader else
               f"stay {escape(leader)} (P = {rev[turned]:.3f}, now {r.posterior[r.leader]:.3f})"))
    curves = r.reliability_curves()
    table = Table(title=f"How much rests on trusting each report: P({names[r.leader]}) as its "
                  "reliability runs over [0.5, 1] (the others as stated)", box=BOX)
    table.add_column("report", no_wrap=True)
    table.add_column("stated r", justify="right")
    for g in (0, len(RELIABILITIES) // 2, len(RELIABILITIES) - 1):
        table.add_column(f"r = {RELIABILITIES[g]:g}", justify="right")
    table.add_column("leader at r = 0.5 / 1", justify="right")
    table.add_column("P(holds | others)", justify="right")
    predictive = r.predictive()
    for j, rep in enumerate(r.reports):
        ends = [names[int(np.argmax(curves[j, g]))] if np.isfinite(curves[j, g]).all()
                else "—" for g in (0, -1)]
        flag = " [red]unexplained[/red]" if predictive[j] < UNEXPLAINED else ""
        table.add_row(escape(rep.id), f"{rep.reliability:g}",
                      *(f"{curves[j, g, r.leader]:.3f}" for g in
                        (0, len(RELIABILITIES) // 2, len(RELIABILITIES) - 1)),
                      " / ".join(ends),
                      f"{predictive[j]:.3f}{flag}")
    console.print(table)


def _print_parameters(console: Console, r: Inference, names: list[str]) -> None:
    rows = r.parameters()
    label = dict(zip(r.names, names, strict=True))
    if not rows:
        return
    table = Table(title="What the evidence implies for each hypothesis's drawn parameters "
                  "(importance-weighted by the reports' likelihood)", box=BOX)
    for col in ("", "parameter", "prior: mean [90%]", "posterior: mean ± SE [90%]",
                "eff. runs"):
        table.add_column(col, justify="right" if col == "eff. runs" else "left",
                         no_wrap=col != "parameter", overflow="fold")
    for row in rows:
        lo, hi = row["prior_interval"]
        post = "—" if row["posterior_mean"] is None else \
            f"{row['posterior_mean']:.3g} ± {row['posterior_se']:.2g} " \
            f"[{row['posterior_interval'][0]:.3g}, {row['posterior_interval'][1]:.3g}]"
        table.add_row(label[row["hypothesis"]], escape(row["path"]),
                      f"{escape(row['prior'])}: {row['prior_mean']:.3g} [{lo:.3g}, {hi:.3g}]",
                      post, f"{row['effective_runs']:.0f}")
    console.print(table)


def _signed(v: float) -> str:
    return "—" if not math.isfinite(v) else f"{v:+.2f}"
