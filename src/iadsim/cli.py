"""The `iadsim` command: a thin layer over iadsim.api that parses arguments and prints."""

from __future__ import annotations

import json
import os
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from iadsim import __version__
from iadsim.engine import DEFAULT_ENGINE, ENGINES, MemoryBudgetError, check_engine

if TYPE_CHECKING:  # the analyses and engines are imported by the commands that use them, so
    # that `iadsim --help`, `schema` and `scenarios` start fast
    from iadsim.analysis.explain import Explanation
    from iadsim.analysis.summary import Estimate
    from iadsim.api import RunSummary
    from iadsim.model import Model
    from iadsim.params import ParameterError
    from iadsim.scenario import ScenarioError

app = typer.Typer(
    help="iadsim: simulate an integrated air-defence system and explain why it does or does "
         "not stop a raid. An analysis and teaching tool; system figures are illustrative.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
out = Console(width=None if sys.stdout.isatty() else 120)  # piped: no wrapping at 80
err = Console(stderr=True)


Seed = Annotated[int, typer.Option("--seed", "-s", min=0)]
Engine = Annotated[str, typer.Option(help=f"One of: {', '.join(ENGINES)}.")]
NoFigure = Annotated[bool, typer.Option("--no-figure", help="Draw no figure.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON object only.")]
SET = typer.Option("--set", help="PATH=VALUE: set a parameter (see `iadsim params`) after "
                   "the profile; repeat for several.")


def _fail(error: ScenarioError | ParameterError | Exception | str, code: int = 2
          ) -> typer.Exit:
    """Print one `error:` line per problem (an error with `problems`: each of them) and give
    the exit to raise."""
    listed = getattr(error, "problems", None)
    problems = listed if isinstance(listed, list) else [error]
    for p in problems:
        err.print(f"[red]error:[/red] {escape(str(p))}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _load(scenario: str, profile: str | None, settings: list[str] | None,
          engine: str | None = None) -> Model:
    """The scenario at a profile and `--set` values; bad input exits 1 with one line each.
    With the fast engine, a run that must first compile its loops says so in one line."""
    from iadsim.api import load
    from iadsim.params import ParameterError
    from iadsim.scenario import ScenarioError

    values = {}
    for item in settings or []:
        path, sep, text = item.partition("=")
        if not sep or not path.strip():
            raise _fail(f"--set {item!r}: expected PATH=VALUE, e.g. "
                        "command_posts.cp.authority=autonomous", 1)
        try:
            values[path.strip()] = yaml.safe_load(text)
        except yaml.YAMLError:
            raise _fail(f"--set {item!r}: cannot read the value {text!r}", 1) from None
    try:
        model = load(scenario, profile, values)
    except (ScenarioError, ParameterError) as exc:
        raise _fail(exc, 1) from None
    _note_compile(engine)
    return model


def _note_compile(engine: str) -> None:
    """Say so when the fast engine's loops are about to be compiled (once after install)."""
    if engine == "vectorized":
        from iadsim.engine.vectorized import loops_cached

        if not loops_cached():
            err.print("compiling the fast engine's loops, once after install (about 20 s; "
                      "`iadsim warmup` does it ahead)", soft_wrap=True)


def _need_plotly(what: str) -> None:
    """Refuse, in one line, a command whose output needs the `report` extra."""
    try:
        import plotly  # noqa: F401
    except ImportError:
        raise _fail(f"{what} needs Plotly: pip install 'iadsim[report]'", 1) from None


def _progress(quiet: bool) -> Progress:
    """The progress bar of a long command, on stderr (none with --json)."""
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), console=err, transient=True, disable=quiet)


def _figure(result: Any, draw: Any, figure: Path | None, default: str, no_figure: bool
            ) -> Path | None:
    """Draw the result's figure (unless --no-figure), at --figure or the default name."""
    if no_figure:
        return None
    path = figure or Path(default)
    draw(result, path)
    return path


def _print_json(result: Any, figure: Path | None) -> None:
    sys.stdout.write(json.dumps({**result.to_dict(),
                                 "figure": str(figure) if figure else None}) + "\n")


AS_PROGRAM = False  # set by the `iadsim` program (main.entry), not when called in-process


def _stopped(seconds: float = 10.0) -> typer.Exit:
    """The exit of a command stopped by Ctrl-C, its finished work written: should the
    interpreter's shutdown then hang on a helper thread of a stopped worker pool (a thread
    left waiting on a worker that was terminated), the `iadsim` program still ends, with
    status 130, `seconds` later."""
    import threading

    if not AS_PROGRAM:
        return typer.Exit(130)

    def leave() -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)

    timer = threading.Timer(seconds, leave)
    timer.daemon = True
    timer.start()
    return typer.Exit(130)


def _capped(workers: int) -> int:
    """At most one worker per CPU: more only compete for the same cores."""
    cpus = os.cpu_count() or 1
    if workers > cpus:
        err.print(f"[yellow]warning:[/yellow] --workers {workers}: this machine has {cpus} "
                  f"CPUs; using {cpus}")
    return min(workers, cpus)


def _warn_inert(model: Model) -> None:
    """One warning line on stderr per parameter that cannot act at the model's point and whose
    value was written down (a file, a profile, --set); one line counts the defaults."""
    from iadsim.api import inert

    found = inert(model)
    for path, why, _ in (i for i in found if i.written):
        err.print(f"[yellow]warning:[/yellow] {escape(path)}: {escape(why)}", highlight=False,
                  soft_wrap=True)
    if unwritten := sum(not i.written for i in found):
        err.print(f"[dim]({unwritten} more parameters left at default or catalog values cannot "
                  "act here; iadsim.inert(model) lists them)[/dim]", highlight=False,
                  soft_wrap=True)


@app.command("run")
def run_command(
    scenario: Annotated[str, typer.Argument(help="Scenario file, or a built-in scenario name.")],
    runs: Annotated[int, typer.Option("--runs", "-n", min=1, help="Replications.")] = 2000,
    seed: Annotated[int, typer.Option("--seed", "-s", min=0, help="Fixes the whole run.")] = 0,
    profile: Annotated[str | None, typer.Option(
        "--profile", "-p", help="Readiness profile; default: the scenario's own readiness."
    )] = None,
    engine: Annotated[str, typer.Option(
        help=f"One of: {', '.join(ENGINES)} (the oracle).")] = DEFAULT_ENGINE,
    workers: Annotated[int, typer.Option(
        "--workers", "-w", min=1, help="Local worker processes (same results for any).")] = 1,
    as_json: AsJson = False,
    out_dir: Annotated[str | None, typer.Option(
        "--out", help="Also write per-replication results (Parquet datasets) into this "
        "folder.")] = None,
    memory: Annotated[float, typer.Option(
        "--memory", min=0.01, help="Gigabytes the blocks of replications may use (the block "
        "size adapts; a scenario one replication of which cannot fit is refused).")] = 1.0,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Complete the run whose results --out holds (an interrupted or "
        "killed one): only the missing replications run.")] = False,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="Replace the results --out holds.")] = False,
    settings: Annotated[list[str] | None, SET] = None,
) -> None:
    """Run a scenario many times and summarise what happened and where the kill chain broke."""
    from iadsim.api import Interrupted, simulate
    from iadsim.engine.results import TABLES
    from iadsim.store import ResultsError, check_folder

    try:
        check_engine(engine)
    except ValueError as exc:
        raise _fail(f"--engine: {exc}") from None
    if (resume or overwrite) and out_dir is None:
        raise _fail("--resume and --overwrite need --out", 1)
    if resume and overwrite:
        raise _fail("give --resume or --overwrite, not both", 1)
    if out_dir is not None:
        try:
            check_folder(out_dir)
        except ResultsError as exc:
            raise _fail(str(exc), 1) from None
    workers = _capped(workers)
    model = _load(scenario, profile, settings, engine)
    _warn_inert(model)
    interrupted = False
    with _progress(as_json) as bar:
        task = bar.add_task(f"{model.name} · {model.profile}", total=runs)
        try:
            summary = simulate(model, runs, seed=seed, engine=engine, workers=workers,
                               out=out_dir, progress=lambda n: bar.advance(task, n),
                               mode="resume" if resume else "overwrite" if overwrite
                               else "new", memory=memory * 2**30)
        except Interrupted as stop:
            if stop.summary is None:
                raise _fail("interrupted before any replication finished", 130) from None
            summary, interrupted = stop.summary, True
        except (ResultsError, MemoryBudgetError) as exc:
            raise _fail(str(exc), 1) from None
    if out_dir is not None and not as_json:
        err.print(f"wrote {', '.join(TABLES)} (Parquet datasets) and summary.json to "
                  f"{escape(str(out_dir))}")
    if as_json:
        sys.stdout.write(json.dumps(summary.as_dict()) + "\n")
    else:
        _print_summary(summary)
    if interrupted:
        err.print(f"[yellow]interrupted:[/yellow] summary of the {summary.runs} replications "
                  "that finished")
        raise _stopped()


@app.command("explain")
def explain_command(
    scenario: Annotated[str, typer.Argument(help="Scenario file, or a built-in scenario name.")],
    from_profile: Annotated[str, typer.Option("--from", help="The profile to start from.")],
    to_profile: Annotated[str, typer.Option("--to", help="The profile to explain.")],
    observable: Annotated[str, typer.Option(help="What to apportion, e.g. leakers, "
                                            "launches[guidance=radar].")] = "leakers",
    groups_file: Annotated[Path | None, typer.Option(
        "--groups", help="YAML: group name → list of parameter paths or globs; default: the "
        "scenario's explanations.")] = None,
    runs: Annotated[int, typer.Option("--runs", "-n", min=2, help="Replications per "
                                      "coalition (the same for all).")] = 2000,
    seed: Seed = 0,
    engine: Engine = DEFAULT_ENGINE,
    figure: Annotated[Path | None, typer.Option(
        help="Waterfall figure file (.png, .svg or .pdf); default: "
        "explain-SCENARIO-FROM-TO.png here.")] = None,
    no_figure: NoFigure = False,
    sampled: Annotated[int | None, typer.Option(
        "--sampled", min=2, help="Estimate the shares from this many random orders of the "
        "groups (permutation sampling) instead of every coalition; needed beyond 12 "
        "groups.")] = None,
    as_json: AsJson = False,
) -> None:
    """Apportion the difference between two profiles among the explanations (Shapley).

    Each explanation's Shapley share, its effect alone, and the single fixes, on common random
    numbers, with a waterfall figure."""
    from iadsim.analysis.explain import ExplainInterrupted
    from iadsim.analysis.problems import AnalysisError
    from iadsim.api import explain
    from iadsim.engine.results import UnknownObservable
    from iadsim.reports.figures import check_figure_path, waterfall
    from iadsim.scenario import ScenarioError

    try:
        check_engine(engine)
        groups = _read_groups(groups_file) if groups_file else None
        if figure is not None and not no_figure:
            check_figure_path(figure)
    except ValueError as exc:
        raise _fail(str(exc), 1) from None
    model = _load(scenario, None, None, engine)
    with _progress(as_json) as bar:
        task = bar.add_task(f"{model.name} · coalitions", total=None)
        try:
            result = explain(model, from_profile, to_profile, groups=groups,
                             observable=observable, runs=runs, seed=seed, engine=engine,
                             sampled=sampled,
                             progress=lambda done, total: bar.update(task, completed=done,
                                                                     total=total))
        except ExplainInterrupted as stop:
            bar.stop()
            if stop.profiles is not None:
                start, end, difference = stop.profiles
                err.print(f"{escape(model.name)}: {escape(observable)} per run, "
                          f"{escape(from_profile)} {_est(start)}, {escape(to_profile)} "
                          f"{_est(end)}: difference {_est(difference)} ({runs} runs each)")
            raise _fail(f"interrupted after {stop.done} of {stop.total} coalitions: the "
                        "Shapley shares need every coalition", 130) from None
        except (ScenarioError, AnalysisError) as exc:
            raise _fail(exc, 1) from None
        except UnknownObservable as exc:
            raise _fail(str(exc), 1) from None
    path = _figure(result, waterfall, figure,
                   f"explain-{model.name}-{from_profile}-{to_profile}.png", no_figure)
    if as_json:
        _print_json(result, path)
        return
    _print_explanation(result)
    if path is not None:
        err.print(f"wrote {escape(str(path))}")


def _read_groups(path: Path) -> dict[str, list[str]]:
    """A --groups file: a mapping of group name → list of paths."""
    what = "group name → list of parameter paths"
    data = _read_mapping(path, "--groups", what)
    if not all(isinstance(v, list) and all(isinstance(p, str) for p in v)
               for v in data.values()):
        raise ValueError(f"--groups {path}: expected a mapping of {what}")
    return data


def _print_explanation(e: Explanation) -> None:
    from iadsim.rules import LINKS

    out.print(f"[bold]{escape(e.scenario)}[/bold]: {escape(e.observable)} per run, from "
              f"[bold]{escape(e.from_profile)}[/bold] {_est(e.from_value)} to "
              f"[bold]{escape(e.to_profile)}[/bold] {_est(e.to_value)}: difference "
              f"{_est(e.difference)} ({e.runs} runs each, seed {e.seed}, common random "
              "numbers)")
    table = Table(title=f"Shapley shares of the difference ({e.method}), and each explanation "
                  "alone")
    for col in ("explanation", "parameters", "Shapley share", "alone: from + this − from",
                "single fix: to with this as in from − to"):
        table.add_column(col, justify="left" if col == "explanation" else "right")
    for g in e.groups:
        table.add_row(escape(g.name), str(len(g.paths)), _est(g.shapley), _est(g.alone),
                      _est(g.fix))
    out.print(table)
    total = sum(g.shapley.mean for g in e.groups)
    out.print(f"efficiency: the shares sum to {total:.6g}; to − from = "
              f"{e.difference.mean:.6g} (largest gap in one run: {e.efficiency_gap:.1e})")
    if e.unchanged:
        out.print(f"no parameter differs in: {', '.join(e.unchanged)} (share 0)")
    links = Table(title="First broken links per run, by unit type")
    links.add_column("unit type")
    links.add_column("profile")
    for link in LINKS:
        links.add_column(link, justify="right")
    for unit_type in next(iter(e.links.values())):
        for profile, by_type in e.links.items():
            links.add_row(escape(unit_type), escape(profile),
                          *(f"{by_type[unit_type][link]:.2f}" for link in LINKS))
    out.print(links)
    deepest = Table(title="Deepest link of each unkilled threat, per run")
    deepest.add_column("profile")
    for link in LINKS:
        deepest.add_column(link, justify="right")
    for profile, by_link in e.deepest.items():
        deepest.add_row(escape(profile), *(f"{by_link[link]:.2f}" for link in LINKS))
    out.print(deepest)


def _est(v: Estimate) -> str:
    return f"{v.mean:.3g} [{v.ci_low:.3g}, {v.ci_high:.3g}]"


@app.command("compare")
def compare_command(
    scenario: Annotated[str, typer.Argument(help="Scenario file, or a built-in scenario name.")],
    profiles: Annotated[str, typer.Option(
        "--profiles", help="Comma-separated profiles; differences are from the first, e.g. "
        "reported,ai-command,electronic-attack.")],
    observables: Annotated[list[str] | None, typer.Option(
        "--observable", "-o", help="An observable to compare (repeat for several); default: "
        "the run summary's.")] = None,
    runs: Annotated[int, typer.Option("--runs", "-n", min=2, help="Replications per profile "
                                      "(the same for all).")] = 2000,
    seed: Seed = 0,
    engine: Engine = DEFAULT_ENGINE,
    as_json: AsJson = False,
) -> None:
    """Compare profiles side by side, with paired differences under common random numbers."""
    from iadsim.analysis.problems import AnalysisError
    from iadsim.api import compare
    from iadsim.engine.results import DEFAULT_OBSERVABLES, UnknownObservable
    from iadsim.scenario import ScenarioError

    try:
        check_engine(engine)
    except ValueError as exc:
        raise _fail(str(exc), 1) from None
    model = _load(scenario, None, None, engine)
    names = [p.strip() for p in profiles.split(",") if p.strip()]
    with err.status(f"running {len(names)} profiles × {runs} replications", spinner="dots") \
            if not as_json else nullcontext():
        try:
            result = compare(model, names, observables=observables or DEFAULT_OBSERVABLES,
                             runs=runs, seed=seed, engine=engine)
        except ScenarioError as exc:
            raise _fail(exc, 1) from None
        except AnalysisError as exc:
            raise _fail(exc, 1) from None
        except UnknownObservable as exc:
            raise _fail(str(exc), 1) from None
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict()) + "\n")
        return
    base = result.profiles[0]
    table = Table(title=f"{escape(result.scenario)}: means per run ({result.runs} runs, seed "
                  f"{result.seed}); Δ: paired difference from {escape(base)}, 95% interval")
    table.add_column("observable")
    table.add_column(escape(base), justify="right")
    for p in result.profiles[1:]:
        table.add_column(escape(p), justify="right")
        table.add_column(f"Δ {escape(p)}", justify="right")
    for o in result.observables:
        cells = [f"{result.values[o][base].mean:.3g}"]
        for p in result.profiles[1:]:
            d = result.differences[o][p]
            cells += [f"{result.values[o][p].mean:.3g}", _est(d)]
        table.add_row(escape(o), *cells)
    out.print(table)


@app.command("sensitivity")
def sensitivity_command(
    scenario: Annotated[str, typer.Argument(help="Scenario file, or a built-in scenario name.")],
    params_file: Annotated[Path, typer.Option(
        "--params", help="YAML: parameter path (or group path, or a unit's …pk) → "
        "[low, high].")],
    method: Annotated[str, typer.Option(help="sobol (S1, ST) or morris (μ*, σ).")] = "sobol",
    observable: Annotated[str, typer.Option(help="The observable to analyse.")] = "leakers",
    profile: Annotated[str | None, typer.Option(
        "--profile", "-p", help="The point the other parameters keep.")] = None,
    samples: Annotated[int, typer.Option(
        min=2, help="SALib's N: base samples (sobol) or trajectories (morris).")] = 256,
    runs_per_point: Annotated[int, typer.Option(
        "--runs-per-point", min=1, help="Replications averaged at each sample point.")] = 100,
    seed: Seed = 0,
    engine: Engine = DEFAULT_ENGINE,
    figure: Annotated[Path | None, typer.Option(
        help="Bar figure file (.png, .svg or .pdf); default: "
        "sensitivity-SCENARIO-METHOD.png here.")] = None,
    no_figure: NoFigure = False,
    as_json: AsJson = False,
) -> None:
    """Rank parameters by influence (SALib Sobol or Morris), against a noise floor."""
    from iadsim.analysis.problems import AnalysisError
    from iadsim.analysis.sensitivity import SensitivityInterrupted
    from iadsim.api import sensitivity
    from iadsim.engine.results import UnknownObservable
    from iadsim.params import ParameterError
    from iadsim.reports.figures import check_figure_path, index_bars

    try:
        check_engine(engine)
        ranges = _read_mapping(params_file, "--params", "parameter path → [low, high]")
        if figure is not None and not no_figure:
            check_figure_path(figure)
    except ValueError as exc:
        raise _fail(str(exc), 1) from None
    model = _load(scenario, profile, None, engine)
    with _progress(as_json) as bar:
        task = bar.add_task(f"{model.name} · sample points", total=None)
        try:
            result = sensitivity(model, ranges, method=method, observable=observable,
                                 samples=samples, runs_per_point=runs_per_point, seed=seed,
                                 engine=engine, progress=lambda done, total: bar.update(
                                     task, completed=done, total=total))
        except SensitivityInterrupted as stop:
            raise _fail(f"interrupted after {stop.done} of {stop.total} sample points: the "
                        "indices need every point", 130) from None
        except (ParameterError, AnalysisError) as exc:
            raise _fail(exc, 1) from None
        except UnknownObservable as exc:
            raise _fail(str(exc), 1) from None
    path = _figure(result, index_bars, figure, f"sensitivity-{model.name}-{method}.png",
                   no_figure)
    if as_json:
        _print_json(result, path)
        return
    keys = ["S1", "S1_conf", "ST", "ST_conf"] if method == "sobol" else \
        ["mu_star", "mu_star_conf", "sigma"]
    table = Table(title=f"{escape(result.scenario)} ({escape(result.profile)}): {method} "
                  f"indices of {escape(observable)}, {result.points} points × "
                  f"{result.runs_per_point} runs; the last row is the noise floor")
    table.add_column("parameter")
    for k in keys:
        table.add_column(k, justify="right")
    for i, name in enumerate(result.names):
        table.add_row(escape(name), *(f"{result.indices[k][i]:.3f}" for k in keys))
    out.print(table)
    if path is not None:
        err.print(f"wrote {escape(str(path))}")


@app.command("infer")
def infer_command(
    scenario: Annotated[str, typer.Argument(help="Scenario file, or a built-in scenario name.")],
    evidence: Annotated[Path | None, typer.Option(
        "--evidence", "-e", help="Evidence file (sources, observations); default: "
        "SCENARIO.evidence.yaml beside the scenario (built-in scenarios ship theirs).")] = None,
    hypotheses: Annotated[Path | None, typer.Option(
        "--hypotheses", "-H", help="Hypotheses file; default: SCENARIO.hypotheses.yaml beside "
        "the scenario.")] = None,
    runs: Annotated[int, typer.Option("--runs", "-n", min=2, help="Replications per "
                                      "hypothesis (the first batch, with --target-se).")] = 2000,
    target_se: Annotated[float | None, typer.Option(
        "--target-se", help="Add replications until every posterior's Monte Carlo standard "
        "error is below this.")] = None,
    max_runs: Annotated[int, typer.Option(
        "--max-runs", min=2, help="At most this many replications per hypothesis with "
        "--target-se.")] = 200_000,
    seed: Seed = 0,
    engine: Engine = DEFAULT_ENGINE,
    figure: Annotated[Path | None, typer.Option(
        help="Figure file (.png, .svg or .pdf): posterior bars, leave-one-out, reliability "
        "curves; default: infer-SCENARIO.png here.")] = None,
    no_figure: NoFigure = False,
    ach: Annotated[Path | None, typer.Option(
        "--ach", help="Also write the ACH matrix (reports × hypotheses, with the product of "
        "rows and the joint likelihood) as CSV here.")] = None,
    as_json: AsJson = False,
) -> None:
    """Weigh the explanations against the reported evidence: a posterior with its uncertainty.

    Each hypothesis runs on the same replications (common random numbers), its parameters
    drawn from its priors; the reports' joint likelihood per run gives the posterior, Bayes
    factors, each report's weight and reliability sensitivity, the drawn parameters' posterior
    means and the ACH matrix."""
    from iadsim.analysis.inference import InferenceInterrupted
    from iadsim.analysis.problems import AnalysisError
    from iadsim.api import infer
    from iadsim.reports.figures import check_figure_path, posterior_bars
    from iadsim.reports.inference_tables import print_inference
    from iadsim.scenario import ScenarioError

    try:
        check_engine(engine)
        if figure is not None and not no_figure:
            check_figure_path(figure)
        if ach is not None and not ach.parent.is_dir():
            raise ValueError(f"--ach {ach}: no folder {ach.parent}")
    except ValueError as exc:
        raise _fail(str(exc), 1) from None
    model = _load(scenario, None, None, engine)
    interrupted = False
    with _progress(as_json) as bar:
        task = bar.add_task(f"{model.name} · runs × hypotheses", total=None)
        try:
            result = infer(model, evidence, hypotheses, runs=runs, target_se=target_se,
                           max_runs=max_runs, seed=seed, engine=engine,
                           progress=lambda done, total: bar.update(task, completed=done,
                                                                   total=total))
        except InferenceInterrupted as stop:
            if stop.inference is None:
                raise _fail("interrupted before two replications finished", 130) from None
            result, interrupted = stop.inference, True
        except (ScenarioError, AnalysisError) as exc:
            raise _fail(exc, 1) from None
    if not result.consistent:
        raise _fail(result.warnings()[0], 1)
    path = _figure(result, posterior_bars, figure, f"infer-{model.name}.png", no_figure)
    if ach is not None:
        _write_csv(result.ach_table(), ach)
    if as_json:
        _print_json(result, path)
    else:
        print_inference(out, result)
        for written in (path, ach):
            if written is not None:
                err.print(f"wrote {escape(str(written))}")
    if interrupted:
        raise _fail(f"interrupted: weighed on the {result.runs} replications per hypothesis "
                    "that finished", 130)


def _write_csv(table: Any, path: Path) -> None:
    """A table as CSV, written aside and renamed (complete on disk or not there)."""
    import pyarrow.csv

    from iadsim.store import write_aside

    write_aside(path, lambda tmp: pyarrow.csv.write_csv(table, tmp))


def _read_mapping(path: Path, option: str, what: str) -> dict[str, Any]:
    """A YAML file holding one mapping, read by the loader every input file goes through."""
    from iadsim.scenario import ScenarioError
    from iadsim.scenario.load import read_text, read_yaml

    try:
        data = read_yaml(read_text(path), str(path), what)[0]
    except ScenarioError as exc:
        raise ValueError(f"{option} {exc}") from None
    return {str(k): v for k, v in data.items()}


@app.command("sweep")
def sweep_command(
    sweep_file: Annotated[Path, typer.Argument(help="The sweep file (YAML): scenario, "
                                               "parameters, design, replications, seed.")],
    store: Annotated[Path, typer.Option("--store", help="The results store (a folder); "
                                        "created if need be.")],
    workers: Annotated[int, typer.Option(
        "--workers", "-w", min=1, help="Local worker processes.")] = 1,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", help="Send the tasks to a Dask cluster, e.g. tcp://HOST:8786, "
        "instead of local processes.")] = None,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="Replace the results of a sweep of the same name.")] = False,
    as_json: AsJson = False,
) -> None:
    """Run a design over the parameter space (grid, LHS, Sobol, table) into a results store.

    Every point runs the same replications (common random numbers). `iadsim query` and
    `iadsim plot` read the store. Rerun the same command to complete a sweep that was
    stopped or killed: finished tasks are kept and the rest run."""
    from iadsim.api import load_sweep, sweep
    from iadsim.scenario import ScenarioError
    from iadsim.store import ResultsError
    from iadsim.sweeps import SweepError, SweepInterrupted
    from iadsim.sweeps.run import task_size

    if scheduler and workers > 1:
        raise _fail("give --workers (local processes) or --scheduler (a Dask cluster), not "
                    "both", 1)
    workers = _capped(workers)
    try:
        spec = load_sweep(sweep_file)
    except ScenarioError as exc:
        err.print(f"[red]{len(exc.problems)} problem(s) in {escape(str(sweep_file))}[/red]")
        raise _fail(exc, 1) from None
    _note_compile(spec.engine)
    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                   TextColumn("{task.fields[points]}"), TextColumn("{task.fields[rate]}"),
                   TimeRemainingColumn(), console=err, transient=True, disable=as_json)
    with bar:
        task = bar.add_task(f"sweep {spec.name}", total=None, points="", rate="")
        started = [0.0]

        def show(p: Any) -> None:
            import time

            now = time.monotonic()
            started[0] = started[0] or now
            rate = p.replications / (now - started[0]) if now > started[0] else 0.0
            bar.update(task, completed=p.replications, total=p.replications
                       + p.replications_left, points=f"points {p.points_done}/{p.points}, "
                       f"tasks {p.tasks_done}/{p.tasks}",
                       rate=f"{rate:,.0f} replications/s" if rate else "")

        try:
            report = sweep(spec, store, workers=workers, scheduler=scheduler,
                           overwrite=overwrite, progress=show)
        except SweepInterrupted as stop:
            bar.stop()
            r = stop.report
            err.print(f"[yellow]interrupted:[/yellow] {r.tasks_run} more task(s) committed; "
                      f"run the same command again to complete sweep {escape(r.name)}")
            raise _stopped() from None
        except (ResultsError, SweepError, MemoryBudgetError) as exc:
            raise _fail(str(exc), 1) from None
    if as_json:
        sys.stdout.write(json.dumps(report.as_dict()) + "\n")
        return
    skipped = report.tasks - report.tasks_run
    out.print(f"sweep [bold]{escape(report.name)}[/bold]: {report.points:,} points × "
              f"{report.replications:,} replications in {report.tasks:,} tasks "
              f"({report.tasks_run:,} run now"
              + (f", {skipped:,} already in the store" if skipped else "")
              + f") on {escape(report.executor)}, {report.seconds:.1f} s → "
              f"{escape(report.store)}")
    asked = spec.task_replications
    if asked and task_size(spec) != report.task_replications:
        err.print(f"[yellow]note:[/yellow] task_replications {asked:,} not applied: the store's "
                  f"sweep {escape(report.name)} began with tasks of "
                  f"{report.task_replications:,} and keeps them (results do not depend on it; "
                  "--overwrite starts the sweep again)", soft_wrap=True)
    out.print(f"query it: iadsim query {escape(report.store)} \"SELECT * FROM summaries "
              f"WHERE observable = 'leakers'\"", highlight=False, soft_wrap=True)


@app.command("query")
def query_command(
    folder: Annotated[Path, typer.Argument(help="A sweep store, or a `run --out` folder.")],
    sql: Annotated[str, typer.Argument(help="DuckDB SQL over the views replications, units, "
                                       "threats, passages (and, in a store, points, "
                                       "summaries, sweeps).")],
    as_csv: Annotated[bool, typer.Option("--csv", help="Print every row as CSV.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print every row as a JSON array "
                                          "of objects.")] = False,
    rows: Annotated[int, typer.Option("--rows", min=1, help="Rows shown in the table (CSV "
                                      "and JSON print all).")] = 50,
) -> None:
    """Query stored results with SQL (DuckDB) and print a table, CSV or JSON."""
    from iadsim.api import query
    from iadsim.views import QueryError

    if as_csv and as_json:
        raise _fail("give --csv or --json, not both", 1)
    try:
        table = query(folder, sql)
    except QueryError as exc:
        raise _fail(str(exc), 1) from None
    if as_csv:
        import pyarrow as pa
        import pyarrow.csv as pcsv

        sink = pa.BufferOutputStream()
        try:
            pcsv.write_csv(table, sink)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise _fail(f"cannot write this result as CSV ({str(exc).splitlines()[0]}); "
                        "--json can", 1) from None
        sys.stdout.flush()
        sys.stdout.buffer.write(sink.getvalue().to_pybytes())
        return
    names = table.column_names
    columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
    if as_json:  # a column name given twice keeps its first value
        records = [dict(reversed(list(zip(names, r, strict=True))))
                   for r in zip(*columns, strict=True)]
        sys.stdout.write(json.dumps(records, default=str) + "\n")
        return
    shown_rows = list(zip(*(c[:rows] for c in columns), strict=True))
    if table.num_columns <= WIDE_COLUMNS:
        shown = Table(*names, show_lines=False)
        for row in shown_rows:
            shown.add_row(*(_cell(v) for v in row))
        out.print(shown)
    else:  # too wide for columns: each row as name / value lines (psql's expanded display)
        width = max(len(c) for c in names)
        for n, row in enumerate(shown_rows, start=1):
            out.print(f"[dim]-- row {n} --[/dim]")
            for name, v in zip(names, row, strict=True):
                out.print(f"{escape(name):<{width}}  {_cell(v)}", highlight=False)
    if table.num_rows > rows:
        out.print(f"… {table.num_rows - rows:,} more rows ({table.num_rows:,} in all; --csv or "
                  "--json prints them all)")


WIDE_COLUMNS = 10  # more columns than this are shown a row at a time


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return escape(str(value)) if value is not None else ""


@app.command("plot")
def plot_command(
    store: Annotated[Path, typer.Argument(help="A sweep store.")],
    x: Annotated[str, typer.Option("--x", help="The parameter path on the x axis.")],
    y: Annotated[str | None, typer.Option("--y", help="A second parameter path: a heat map "
                                          "over both.")] = None,
    observable: Annotated[str, typer.Option(help="What to plot (its mean per point, with "
                                            "its 95% interval).")] = "leakers",
    sweep_name: Annotated[str | None, typer.Option(
        "--sweep", help="Which sweep of the store (needed when it holds several).")] = None,
    figure: Annotated[Path | None, typer.Option(
        "--figure", "-o", help="Figure file (.png, .svg or .pdf); default: "
        "sweep-NAME-OBSERVABLE.png here.")] = None,
) -> None:
    """Draw a sweep's observable against one parameter (lines) or two (a heat map)."""
    import re

    from iadsim.api import plot_sweep
    from iadsim.reports.figures import check_figure_path
    from iadsim.reports.sweep_figure import SweepFigureError
    from iadsim.sweeps.store import sweeps
    from iadsim.views import QueryError

    try:
        if figure is not None:
            check_figure_path(figure)
        if y == x:
            raise ValueError(f"--x and --y are both {x}: give two parameters, or --x alone")
        named = [s["name"] for s in sweeps(store)]
        name = sweep_name or (named[0] if len(named) == 1 else "store")
        path = figure or Path(f"sweep-{name}-"
                              f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', observable)}.png")
        written = plot_sweep(store, observable, x, y, sweep=sweep_name, path=path)
    except (QueryError, SweepFigureError, ValueError) as exc:
        raise _fail(str(exc), 1) from None
    out.print(f"wrote {escape(str(written))}")


@app.command("report")
def report_command(
    scenario: Annotated[str, typer.Argument(help="Scenario file, or a built-in scenario name.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML file to write.")],
    profile: Annotated[str | None, typer.Option(
        "--profile", "-p", help="The profile to report; default: the scenario's own values."
    )] = None,
    from_profile: Annotated[str | None, typer.Option(
        "--from", help="With --to: explain the difference from this profile (Shapley).")] = None,
    to_profile: Annotated[str | None, typer.Option(
        "--to", help="With --from: the profile reported and explained.")] = None,
    evidence: Annotated[Path | None, typer.Option(
        "--evidence", help="Weigh the explanations against this evidence file.")] = None,
    hypotheses: Annotated[Path | None, typer.Option(
        "--hypotheses", help="The hypotheses to weigh (with --evidence).")] = None,
    runs: Annotated[int, typer.Option("--runs", "-n", min=2, help="Replications.")] = 2000,
    seed: Seed = 0,
    engine: Engine = DEFAULT_ENGINE,
) -> None:
    """Write a self-contained HTML report: map, outcomes, where the chain broke, sources.

    It opens offline (scripts and data inline) and prints readably. With --from and --to it
    adds the Shapley explanation; with --evidence (and --hypotheses) the inference."""
    from iadsim.analysis.problems import AnalysisError
    from iadsim.api import report
    from iadsim.scenario import ScenarioError
    from iadsim.store import probe_write

    if profile and (from_profile or to_profile):
        raise _fail("give --profile, or --from with --to, not both", 1)
    if bool(from_profile) != bool(to_profile):
        raise _fail("--from and --to go together", 1)
    for given in (evidence, hypotheses):
        if given is not None and not given.is_file():
            raise _fail(f"{given}: no such file", 1)
    if output.suffix.lower() not in (".html", ".htm"):
        raise _fail(f"{output}: a report file ends in .html", 1)
    if output.is_dir():
        raise _fail(f"{output}: is a folder; give the report's file name", 1)
    if not output.parent.is_dir():
        raise _fail(f"{output}: no folder {output.parent}", 1)
    try:  # checked before the runs, so that nothing computed is lost to a bad name
        probe_write(output.parent)
    except OSError as exc:
        raise _fail(f"{output}: cannot write in {output.parent}: {exc.strerror or exc}",
                    1) from None
    _need_plotly("the report")
    model = _load(scenario, to_profile or profile, None, engine)
    with _progress(False) as bar:
        bar.add_task(f"{model.name} · {model.profile} · report", total=None)
        try:
            written = report(model, output, runs=runs, seed=seed, engine=engine,
                             explain_from=from_profile, evidence=evidence,
                             hypotheses=hypotheses)
        except (ScenarioError, AnalysisError, ValueError) as exc:
            raise _fail(exc, 1) from None
        except OSError as exc:
            raise _fail(f"{output}: cannot write: {exc.strerror or exc}", 1) from None
    out.print(f"wrote {escape(str(written))} ({written.stat().st_size / 2**20:.1f} MB)")


@app.command("serve")
def serve_command(
    scenario: Annotated[str, typer.Argument(help="Scenario file, or a built-in scenario name.")],
    port: Annotated[int, typer.Option("--port", min=0, max=65535,
                                      help="The port (0: any free one).")] = 8765,
    host: Annotated[str, typer.Option("--host", help="The address to listen on.")
                    ] = "127.0.0.1",
    allow_remote: Annotated[bool, typer.Option(
        "--allow-remote", help="Listen on a --host other than this machine's loopback "
        "address (anyone who reaches it can run the scenario).")] = False,
    profile: Annotated[str, typer.Option("--profile", "-p", help="The profile to start "
                                         "from.")] = "reported",
    fixed: Annotated[str, typer.Option("--fixed", help="The profile a fixed explanation "
                                       "takes its values from.")] = "full",
    runs: Annotated[int, typer.Option("--runs", "-n", min=2, help="Replications per "
                                      "setting (the same for all).")] = 2000,
    seed: Seed = 0,
    engine: Engine = DEFAULT_ENGINE,
) -> None:
    """Serve a what-if page: fix explanations, change authority or electronic attack.

    Each change re-runs the scenario on the same replications and updates the outcomes and
    the link breakdown. Ctrl-C stops it."""
    from iadsim.analysis.problems import AnalysisError
    from iadsim.api import serve
    from iadsim.reports.server import is_loopback
    from iadsim.scenario import ScenarioError

    if not is_loopback(host):
        if not allow_remote:
            raise _fail(f"--host {host}: not this machine's loopback address; the page runs "
                        "the scenario for anyone who reaches it: give --allow-remote to "
                        "mean it", 1)
        err.print(f"[yellow]warning:[/yellow] listening on {escape(host)}: anyone who reaches "
                  "this address can use the page")
    _need_plotly("the page")
    model = _load(scenario, None, None, engine)
    try:
        server = serve(model, port=port, host=host, allow_remote=allow_remote,
                       profile=profile, fixed=fixed, runs=runs, seed=seed, engine=engine)
    except (ScenarioError, AnalysisError) as exc:
        err.print(f"the page starts from --profile {escape(profile)} and fixes explanations "
                  f"with --fixed {escape(fixed)}'s values: give profiles this scenario has")
        raise _fail(exc, 1) from None
    except OSError as exc:
        raise _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}", 1) from None
    where = server.server_address
    name = f"[{where[0]}]" if ":" in where[0] else where[0]
    out.print(f"serving {escape(model.name)} at http://{name}:{where[1]}/ (Ctrl-C stops)",
              highlight=False)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@app.command()
def validate(
    file: Annotated[str, typer.Argument(help="Scenario file, or a built-in scenario name.")],
    profile: Annotated[str | None, typer.Option(
        "--profile", "-p", help="Warn about the parameters that cannot act at this profile; "
        "default: the scenario's own values.")] = None,
) -> None:
    """Check a scenario file and report every problem at once (exit 1 if any).

    Its evidence and hypotheses files beside it (SCENARIO.evidence.yaml,
    SCENARIO.hypotheses.yaml), if any, are checked against it too."""
    from iadsim.api import check, check_inference_files, load
    from iadsim.params import ParameterError
    from iadsim.scenario import ScenarioError

    try:
        scenario = check(file)
        model = load(file, profile)
    except (ScenarioError, ParameterError) as exc:
        err.print(f"[red]{len(exc.problems)} problem(s) in {escape(str(file))}[/red]")
        raise _fail(exc, 1) from None
    out.print(f"[green]ok[/green] {escape(str(file))}: {len(scenario.sensors)} sensors, "
              f"{len(scenario.command_posts)} command posts, {len(scenario.fire_units)} fire "
              f"units, {len(scenario.threats)} threat flights, {len(scenario.streams)} streams, "
              f"profiles: {', '.join(scenario.profiles) or 'none'}")
    _warn_inert(model)
    found = check_inference_files(model)
    for path, problems in found.items():
        if problems:
            err.print(f"[red]{len(problems)} problem(s) in {escape(path)}[/red]")
            for p in problems:
                err.print(f"[red]error:[/red] {escape(p)}", highlight=False, soft_wrap=True)
        else:
            out.print(f"[green]ok[/green] {escape(path)}")
    if any(found.values()):
        raise typer.Exit(1)


@app.command("params")
def params_command(
    scenario: Annotated[str, typer.Argument(help="Scenario file, or a built-in scenario name.")],
    profile: Annotated[str | None, typer.Option(
        "--profile", "-p", help="Show the values of this profile.")] = None,
    as_json: AsJson = False,
    settings: Annotated[list[str] | None, SET] = None,
    structure: Annotated[bool, typer.Option(
        "--structure", help="Also list the structure fields (each change compiles anew).")
    ] = False,
) -> None:
    """List the parameters profiles, tables and analyses can set, with values and sources."""
    from iadsim.api import parameters

    model = _load(scenario, profile, settings)
    rows = parameters(model, structure)
    if as_json:
        sys.stdout.write(json.dumps({"scenario": model.name, "profile": model.profile,
                                     "parameters": rows}) + "\n")
        return
    table = Table(box=None)
    table.add_column("path", no_wrap=True, min_width=max(len(r["path"]) for r in rows))
    table.add_column("value", no_wrap=True)
    table.add_column("allowed")
    table.add_column("source (whole in --json)")
    for row in rows:  # long sources are cut short
        source = row["source"] if len(row["source"]) <= 80 else row["source"][:79] + "…"
        table.add_row(escape(row["path"]), escape(str(row["value"])), escape(row["allowed"]),
                      escape(source))
    out.print(f"[bold]{escape(model.name)}[/bold] · profile [bold]{escape(model.profile)}[/bold]"
              f" · {sum('expands_to' not in r and 'structure' not in r for r in rows)} "
              "parameters; a group path sets every member that has the parameter")
    out.print(table)


@app.command()
def warmup() -> None:
    """Compile and cache the fast engine's loops now, rather than in the first run."""
    import time

    from iadsim.api import load, run

    start = time.process_time()
    run(load("caracas-2026"), 8, seed=0)  # every compiled loop, with the per-threat rows
    out.print("the fast engine's compiled loops are cached "
              f"({time.process_time() - start:.1f} s of CPU)")


@app.command()
def schema() -> None:
    """Print the JSON Schema of scenario files."""
    from iadsim.scenario.schema import Scenario

    sys.stdout.write(json.dumps(Scenario.model_json_schema(by_alias=True), indent=2) + "\n")


@app.command()
def scenarios() -> None:
    """List the built-in scenarios."""
    from iadsim.scenario import builtin_scenarios
    from iadsim.scenario.load import load_scenario

    table = Table("name", "description", "profiles", box=None)
    for name, path in sorted(builtin_scenarios().items()):
        sc = load_scenario(path)
        about = " ".join(sc.description.split())
        table.add_row(name, about if len(about) < 70 else about[:67] + "…",
                      ", ".join(sc.profiles))
    out.print(table)


@app.callback(invoke_without_command=True)
def main(version: Annotated[bool, typer.Option("--version", help="Show the version.")] = False
         ) -> None:
    if version:
        out.print(f"iadsim {__version__}")
        raise typer.Exit()


# --- the readable summary -----------------------------------------------------------------------


def _ci(e: Estimate, digits: int = 2) -> str:
    if e.ci_high != e.ci_high:  # one replication: no interval
        return f"{e.mean:.{digits}f} [dim]± undefined[/dim]"
    return f"{e.mean:.{digits}f} [dim]±{(e.ci_high - e.ci_low) / 2:.{digits}f}[/dim]"


def _print_summary(summary: RunSummary) -> None:
    from iadsim.rules import LINKS

    info, est = summary.info, summary.estimates
    out.print(f"\n[bold]{escape(info.scenario)}[/bold] · profile [bold]{escape(info.profile)}"
              f"[/bold] · {summary.runs} runs · seed {info.seed} · {info.engine} engine")
    if info.settings:
        out.print("set: " + ", ".join(f"{escape(k)} = {escape(str(v))}"
                                      for k, v in info.settings.items()), highlight=False)
    out.print("[dim]means per run ± half-width of the 95% confidence interval; "
              "system figures are illustrative[/dim]\n")

    fates = Table("threat fates", "per run", box=None)
    for name in ("threats", "threats_killed", "leakers"):
        fates.add_row(name, _ci(est[name]))
    out.print(fates)

    units = Table("unit type", "guidance", "engaged", "launches", "failed", "misses", "kills",
                  box=None)
    for t, g in dict.fromkeys(zip(info.unit_types, info.unit_guidance, strict=True)):
        row = [est[f"{c}[unit_type={t}]"]
               for c in ("engagements", "launches", "launch_failures", "misses", "kills")]
        units.add_row(escape(t), g, *(_ci(e) for e in row))
    for g in ("radar", "infrared"):
        units.add_row(f"[bold]all {g}[/bold]", g, "", _ci(est[f"launches[guidance={g}]"]),
                      "", "", "")
    out.print()
    out.print(units)

    totals = summary.links
    failed = sum(totals.values())
    links = Table("first broken link", "passages", "share", "per run", "", box=None)
    for name in LINKS:
        share = totals[name] / failed if failed else 0.0
        links.add_row(name, str(totals[name]), f"{share:6.1%}", _ci(est[name]),
                      "█" * round(30 * share))
    out.print()
    out.print(links)
    out.print(f"[dim]{failed} threat–unit passages ended without a kill; each is counted at the "
              "first link of the kill chain that broke (MODEL.md).[/dim]")

    deepest = summary.deepest
    unkilled = sum(deepest.values())
    table = Table("deepest link", "threats", "share", "", box=None)
    for name in LINKS:
        share = deepest[name] / unkilled if unkilled else 0.0
        table.add_row(name, str(deepest[name]), f"{share:6.1%}", "█" * round(30 * share))
    out.print()
    out.print(table)
    out.print(f"[dim]{unkilled} threats were not killed after entering an envelope; each is "
              "counted at the deepest link any unit's chain reached against it.[/dim]")
