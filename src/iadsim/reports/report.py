"""A self-contained HTML report of a run: one file that opens offline (Plotly's script and all
data inline), with the map, outcome distributions, the first-broken-link breakdown by unit
type, each flight's deepest links, optionally the Shapley explanation between two profiles and
the inference against the evidence, and the scenario's assumptions and sources. Every page
carries the label that the figures are illustrative, not fire-control data."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from iadsim.analysis.whatif import OUTCOME_LABELS
from iadsim.engine.results import LINKS, Estimate, Results
from iadsim.reports.map import Coast, scenario_map
from iadsim.store import write_aside

__all__ = ["LABEL", "OUTCOMES", "build_report", "representative"]

LABEL = "Illustrative figures, not fire-control data"
OUTCOMES = tuple(OUTCOME_LABELS.items())  # the what-if page's outcomes, labelled


def representative(results: Results) -> int:
    """The row of the median outcome: threats killed closest to its median, then launches
    closest to theirs, then the first."""
    killed, launches = results.observable("threats_killed"), results.observable("launches")
    key = np.lexsort((np.arange(results.runs), np.abs(launches - np.median(launches)),
                      np.abs(killed - np.median(killed))))
    return int(key[0])


def build_report(results: Results, scenario: Any, path: str | Path, *,
                 summary: Mapping[str, Any], coast: Coast | None = None,
                 sources: Sequence[Mapping[str, Any]] = (), explanation: Any = None,
                 inference: Any = None, trace: Any = None) -> Path:
    """Write the report of `results` (a run of `scenario`) to `path`, whole or not at all.
    `summary` is the run's JSON summary (embedded for readers and tests), `sources` the
    parameter listing with each value's source, `explanation` and `inference` the analyses'
    results to include, `trace` the event trace of the representative replication."""
    import plotly.offline

    info = results.info
    sections = [
        ("map", "Map", _plotly(scenario_map(scenario, coast), "map"),
         "Sites, radar coverage (dotted) and engagement envelopes (solid; dashed: the minimum "
         "range) against each threat class at its median altitude and cross-section, drawn "
         "where that altitude meets each slant range (pick the class in the legend), routes "
         "and strikes. "
         + (f"Coastline: {html.escape(coast.source)}." if coast
            else "No coastline is shipped with this scenario.")),
        ("outcomes", "Outcomes", _outcomes(results),
         f"Distributions over {results.runs:,} replications (seed {info.seed}); each title gives "
         "the mean and its 95% confidence interval."),
        ("links", "Where the kill chain broke", _links_by_type(results),
         "Failed threat–unit passages by their first broken link, per replication, by unit "
         "type (MODEL.md: the first link, in kill-chain order, that did not hold)."),
        ("deepest", "Deepest link reached by each flight's unkilled threats", _deepest(results),
         "For each threat not killed, the deepest link any unit's chain reached against it."),
    ]
    if trace is not None:
        sections.insert(1, (
            "timeline", f"Timeline of replication {trace.replication}", _timeline(trace),
            "The replication whose threats killed are closest to the median (then launches "
            "closest to theirs), replayed with its events kept: each threat's flight (red to "
            "its kill, grey to the end of its route), the first detection, report and order "
            "of any command post's network, and each engagement with its outcome."
            + ("" if info.engine == "vectorized" else
               f" The fast engine replays it, so it is chosen among the fast engine's run of "
               f"the same replications (the {info.engine} engine draws other random "
               "numbers).")))
    if explanation is not None:
        sections.append(("explanation", "Explanation between two profiles",
                         _svg(explanation, "waterfall") + _single_fixes(explanation),
                         "Shapley shares of the difference, on common random numbers, and each "
                         "group fixed alone."))
    if inference is not None:
        sections.append(("inference", "The explanations against the evidence",
                         _svg(inference, "posterior") + _claims(inference),
                         "Posterior with 95% Monte Carlo intervals, leave-one-out effects and "
                         "the claims with their sources and reliabilities."))
    sections.append(("sources", "Assumptions and sources", _sources(sources),
                     "Every parameter's value at this profile and where it comes from."))
    title = f"{info.scenario} · {info.profile}: iadsim report"
    body = "\n".join(
        f'<section id="{key}"><h2>{html.escape(name)}</h2><p class="note">{note}</p>'
        f"{content}</section>" for key, name, content, note in sections)
    page = _PAGE.format(
        title=html.escape(title), label=LABEL, plotly=plotly.offline.get_plotlyjs(),
        summary=_json_script(summary),
        heading=html.escape(title), description=html.escape(scenario.description or ""),
        body=body)
    target = Path(path)
    write_aside(target, lambda tmp: Path(tmp).write_text(page, encoding="utf-8"))
    return target


def _plotly(fig: Any, name: str) -> str:
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=f"fig-{name}",
                       config={"displaylogo": False, "responsive": True,
                               "displayModeBar": "hover"})


def _ci(e: Estimate) -> str:
    if e.ci_low != e.ci_low:  # one replication: no interval
        return f"mean {e.mean:.3g}"
    return f"mean {e.mean:.3g} (95% CI {e.ci_low:.3g}–{e.ci_high:.3g})"


def _outcomes(results: Results) -> str:
    import plotly.graph_objects as go

    out = []
    for name, label in OUTCOMES:
        values = results.observable(name)
        e = Estimate.of(values)
        counts = np.bincount(values.astype(np.int64)) if len(values) else np.zeros(1)
        fig = go.Figure(go.Bar(x=np.arange(len(counts)), y=counts / max(len(values), 1),
                               name=name, hovertemplate="%{x}: %{y:.1%} of runs<extra></extra>"))
        fig.update_layout(title=f"{label}: {_ci(e)}", xaxis_title=name,
                          yaxis_title="share of runs", yaxis_tickformat=".0%", height=300,
                          margin={"l": 60, "r": 20, "t": 50, "b": 40})
        out.append(f'<div class="cell" data-observable="{html.escape(name)}" '
                   f'data-mean="{e.mean!r}">{_plotly(fig, "outcome-" + str(len(out)))}</div>')
    return '<div class="grid">' + "".join(out) + "</div>"


def _links_by_type(results: Results) -> str:
    import plotly.graph_objects as go

    by_type = results.links_by_unit_type()
    fig = go.Figure()
    for link in LINKS:
        y = [links[link] for links in by_type.values()]
        if any(y):
            fig.add_trace(go.Bar(x=list(by_type), y=y, name=link,
                                 hovertemplate=f"{link}: %{{y:.2f}} per run<extra></extra>"))
    fig.update_layout(barmode="stack", title="Failed passages per run by first broken link",
                      yaxis_title="passages per run", height=380,
                      margin={"l": 60, "r": 20, "t": 50, "b": 40})
    return _plotly(fig, "links")


def _deepest(results: Results) -> str:
    import plotly.graph_objects as go

    rows = results.threat_rows
    flights = results.info.flight_ids
    deepest = rows["deepest_link"]
    fig = go.Figure()
    for k, link in enumerate(LINKS):
        y = [float(((rows["flight"] == f) & (deepest == k)).sum()) / max(results.runs, 1)
             for f in range(len(flights))]
        if any(y):
            fig.add_trace(go.Bar(x=list(flights), y=y, name=link,
                                 hovertemplate=f"{link}: %{{y:.2f}} per run<extra></extra>"))
    fig.update_layout(barmode="stack", title="Unkilled threats per run by deepest link, per "
                      "flight", yaxis_title="threats per run", height=380,
                      margin={"l": 60, "r": 20, "t": 50, "b": 40})
    return _plotly(fig, "deepest")


def _timeline(trace: Any) -> str:
    import plotly.graph_objects as go

    events = trace.events
    start = {e["threat"]: e["time_s"] for e in events if e["kind"] == "started"}
    threats = sorted({(e["threat"], e["flight"]) for e in events}, key=lambda t: start[t[0]])
    label = {j: f"{flight} #{j}" for j, flight in threats}
    fate = {e["threat"]: e for e in events if e["kind"] in ("killed", "leaked")}
    fig = go.Figure()
    for outcome, colour in (("killed", "#c0392b"), ("leaked", "#999999")):
        mine = [j for j, _ in threats if fate[j]["kind"] == outcome]
        fig.add_trace(go.Bar(
            name=f"flight until {outcome}", orientation="h", y=[label[j] for j in mine],
            base=[start[j] for j in mine], x=[fate[j]["time_s"] - start[j] for j in mine],
            marker={"color": colour, "opacity": 0.35}, width=0.5,
            hovertext=[f"{label[j]}: {outcome}" + (f" by {fate[j]['entity']}" if
                       fate[j]["entity"] else "") + f" at {fate[j]['time_s']:.0f} s"
                       for j in mine], hoverinfo="text"))
    engaged = [e for e in events if e["kind"] == "engaged"]
    fig.add_trace(go.Bar(
        name="engagements", orientation="h", y=[label[e["threat"]] for e in engaged],
        base=[e["time_s"] for e in engaged], x=[e["end_s"] - e["time_s"] for e in engaged],
        width=0.8, marker={"color": "#1f4e79"},
        hovertext=[f"{e['entity']} engages {label[e['threat']]} at {e['time_s']:.0f} s: "
                   f"{e['outcome']} at {e['end_s']:.0f} s" for e in engaged],
        hoverinfo="text"))
    symbols = {"detected": "circle-open", "reported": "diamond-open", "ordered": "square",
               "killed": "x"}
    for kind, symbol in symbols.items():
        first: dict[int, dict[str, Any]] = {}
        for e in events:
            if e["kind"] == kind and e["threat"] not in first:
                first[e["threat"]] = e
        fig.add_trace(go.Scatter(
            name=f"first {kind}" if kind != "killed" else "killed", mode="markers",
            y=[label[j] for j in first], x=[e["time_s"] for e in first.values()],
            marker={"symbol": symbol, "size": 9},
            hovertext=[f"{label[j]} {kind} at {e['time_s']:.0f} s ({e['entity']})"
                       for j, e in first.items()], hoverinfo="text"))
    fig.update_layout(barmode="overlay", title=f"Replication {trace.replication}: who "
                      "detected, reported, ordered and engaged what, when",
                      xaxis_title="seconds from the start", height=max(360, 22 * len(threats)),
                      margin={"l": 140, "r": 20, "t": 50, "b": 40},
                      yaxis={"autorange": "reversed"})
    return _plotly(fig, "timeline") + \
        f'<script type="application/json" id="iadsim-trace">{_json_script(trace.events)}' \
        "</script>"


def _json_script(data: Any) -> str:
    """JSON to place inside a <script> element: read back exactly, never closing it."""
    return json.dumps(data).replace("&", "\\u0026").replace("<", "\\u003c").replace(
        ">", "\\u003e")


def _svg(result: Any, kind: str) -> str:
    """An analysis's Matplotlib figure, inline as SVG."""
    from iadsim.reports.figures import posterior_bars, to_svg, waterfall

    svg = to_svg(waterfall if kind == "waterfall" else posterior_bars, result)
    return f'<div class="svg" id="fig-{kind}">{svg}</div>'


def _table(head: Sequence[str], rows: Sequence[Sequence[Any]], cls: str) -> str:
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in r) + "</tr>"
                   for r in rows)
    return f'<table class="{cls}"><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>'


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    return "" if v is None else str(v)


def _single_fixes(explanation: Any) -> str:
    """Each group's Shapley share, its effect alone (the `from` profile with only it
    changed) and its single fix (the `to` profile with only it set back), with intervals."""
    d = explanation.to_dict()

    def ci(e: Mapping[str, Any]) -> str:
        return f"{e['mean']:+.3g} ({e['ci_low']:+.3g} to {e['ci_high']:+.3g})"

    rows = [(g["name"], ci(g["shapley"]), ci(g["alone"]), ci(g["fix"])) for g in d["groups"]]
    o, a, b = d["observable"], d["from"], d["to"]
    return _table(("group", f"Shapley share of {o}", f"alone: {a} with only it as in {b}",
                   f"single fix: {b} with only it as in {a}"), rows, "fixes")


def _claims(inference: Any) -> str:
    d = inference.to_dict()
    rows = [(r.get("id"), r.get("claim") or r.get("text"), r.get("source") or
             ", ".join(r.get("sources") or []), r.get("reliability")) for r in d["reports"]]
    return _table(("claim", "what was reported", "source", "reliability"), rows, "claims")


def _sources(sources: Sequence[Mapping[str, Any]]) -> str:
    rows = [(s["path"], s.get("value"), s.get("source") or "") for s in sources
            if "path" in s and "value" in s]
    return _table(("parameter", "value", "source"), rows, "sources")


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1150px; padding: 0 1em;
       color: #222; }}
.label {{ background: #fff3cd; border: 1px solid #e0c060; padding: 0.3em 0.8em;
         font-weight: 600; margin: 0.5em 0; }}
h1 {{ font-size: 1.5em; }} h2 {{ font-size: 1.2em; border-bottom: 1px solid #ccc; }}
.note {{ color: #555; font-size: 0.9em; }}
.grid {{ display: grid; grid-template-columns: 1fr 1fr; gap: 0.5em; }}
table {{ border-collapse: collapse; font-size: 0.85em; width: 100%; }}
td, th {{ border-bottom: 1px solid #ddd; padding: 0.2em 0.4em; text-align: left;
          vertical-align: top; }}
.svg svg {{ max-width: 100%; height: auto; }}
@page {{ margin: 2cm 1.5cm;
  @top-center {{ content: "{label}"; font: 600 10pt system-ui, sans-serif; }} }}
@media print {{
  .modebar-container {{ display: none !important; }}
  section {{ break-inside: avoid; }}
  .grid {{ grid-template-columns: 1fr; }}
}}
</style>
<script>{plotly}</script>
</head><body>
<div class="label" id="label">{label}</div>
<h1>{heading}</h1>
<p>{description}</p>
{body}
<script type="application/json" id="iadsim-summary">{summary}</script>
<div class="label">{label}</div>
<script>
// printed pages are narrower than the screen: draw the figures to the page's width
const figures = () => document.querySelectorAll('.js-plotly-plot');
window.addEventListener('beforeprint', () => figures().forEach(
  f => Plotly.relayout(f, {{width: 660, autosize: false}})));
window.addEventListener('afterprint', () => figures().forEach(
  f => Plotly.relayout(f, {{width: null, autosize: true}})));
</script>
</body></html>
"""
