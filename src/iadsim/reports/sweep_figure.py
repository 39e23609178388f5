"""A sweep's summary figure: an observable's mean (with its 95% interval) against one parameter
(a line per combination of the others), or against two (a heat map when the points form a
grid, else points coloured by the mean). Read from the store's finished points."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from iadsim.reports.figures import save_figure
from iadsim.views import connect

__all__ = ["SweepFigureError", "SweepSeries", "sweep_figure", "sweep_series"]


class SweepFigureError(ValueError):
    """What to draw is not in the store; one line saying what is."""


@dataclass(frozen=True)
class SweepSeries:
    """The finished points of a sweep: parameter values and the observable's estimate."""

    sweep: str
    observable: str
    parameters: dict[str, list[Any]]  # every parameter path of the sweep → value per point
    mean: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    runs: int


def sweep_series(folder: str | Path, observable: str, sweep: str | None = None
                 ) -> SweepSeries:
    """An observable's estimate at each finished point of a sweep (the store's only sweep if
    `sweep` is None)."""
    import pyarrow.parquet as pq

    from iadsim.sweeps.store import is_store, points_file, sweeps

    if not is_store(folder):
        raise SweepFigureError(f"{folder}: not a sweep store (iadsim sweep --store); a "
                               "`run --out` folder has no sweep to plot")
    names = [s["name"] for s in sweeps(folder)]
    if not names:
        raise SweepFigureError(f"{folder}: holds no sweep")
    if sweep is None and len(names) > 1:
        raise SweepFigureError(f"{folder}: holds several sweeps; name one with --sweep: "
                               f"{', '.join(names)}")
    sweep = sweep or names[0]
    if sweep not in names:
        raise SweepFigureError(f"{folder}: no sweep {sweep!r}; sweeps: {', '.join(names)}")
    con = connect(folder, ["summaries"])
    try:
        rows = con.sql("SELECT point, runs, mean, ci_low, ci_high FROM summaries "
                       "WHERE sweep = $1 AND observable = $2 ORDER BY point",
                       params=[sweep, observable]).to_arrow_table()
        known = [] if rows.num_rows else [r[0] for r in con.execute(
            "SELECT DISTINCT observable FROM summaries WHERE sweep = ? ORDER BY 1",
            [sweep]).fetchall()]
    finally:
        con.close()
    if rows.num_rows == 0:
        raise SweepFigureError(f"sweep {sweep!r}: no finished point has {observable!r}" + (
            f"; observables: {', '.join(known)}" if known else
            " (no point is finished yet: rerun the sweep to complete it)"))
    points = pq.read_table(points_file(folder, sweep))  # the design, in point order
    at = np.searchsorted(points["point"].to_numpy(), rows["point"].to_numpy())
    params = {c: [points[c][int(i)].as_py() for i in at] for c in points.column_names
              if c != "point" and points[c].null_count < points.num_rows}
    return SweepSeries(sweep, observable, params, rows["mean"].to_numpy(),
                       rows["ci_low"].to_numpy(), rows["ci_high"].to_numpy(),
                       int(rows["runs"].to_numpy().min()))


def sweep_figure(folder: str | Path, observable: str, x: str, y: str | None = None, *,
                 sweep: str | None = None, path: str | Path) -> Path:
    """Draw `observable` against parameter `x` (and `y`) for a sweep in a store; the format
    follows the suffix (.png, .svg, .pdf)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = sweep_series(folder, observable, sweep)
    for name in (x, y):
        if name is not None and name not in s.parameters:
            raise SweepFigureError(f"sweep {s.sweep!r} has no parameter {name!r}; its "
                                   f"parameters: {', '.join(s.parameters)}")
    fig, ax = plt.subplots(figsize=(7, 4.8), layout="constrained")
    title = f"{s.sweep}: {observable} ({s.runs:,} runs per point, 95% intervals)"
    if y is None:
        _lines(ax, s, x)
        ax.set_ylabel(observable)
    else:
        _map(fig, ax, s, x, y)
        title = f"{s.sweep}: mean {observable} ({s.runs:,} runs per point)"
    ax.set_title(title, fontsize=10)
    return save_figure(fig, path)


def _positions(values: list[Any]) -> tuple[np.ndarray, list[Any] | None]:
    """Numbers stay numbers; other values (choices) are placed in order of appearance."""
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return np.asarray(values, dtype=float), None
    labels = list(dict.fromkeys(values))
    return np.array([labels.index(v) for v in values], dtype=float), labels


def _lines(ax: Any, s: SweepSeries, x: str) -> None:
    """One line (with its interval band) per combination of the other parameters."""
    xs, labels = _positions(s.parameters[x])
    others = [k for k in s.parameters if k != x]
    keys = [tuple(s.parameters[k][i] for k in others) for i in range(len(xs))]
    groups = list(dict.fromkeys(keys))
    many = len(groups) > 8
    for g in groups:
        idx = np.array([i for i, k in enumerate(keys) if k == g])
        idx = idx[np.argsort(xs[idx], kind="stable")]
        label = ", ".join(f"{'.'.join(k.split('.')[-3:])}={v}"
                          for k, v in zip(others, g, strict=True))
        if many:
            ax.errorbar(xs[idx], s.mean[idx], yerr=[s.mean[idx] - s.ci_low[idx],
                                                    s.ci_high[idx] - s.mean[idx]],
                        fmt="o", markersize=3, alpha=0.6, color="#2e86c1", linewidth=0.8)
            continue
        (line,) = ax.plot(xs[idx], s.mean[idx], marker="o", label=label or None)
        ax.fill_between(xs[idx], s.ci_low[idx], s.ci_high[idx], alpha=0.2,
                        color=line.get_color())
    if labels is not None:
        ax.set_xticks(range(len(labels)), labels)
    ax.set_xlabel(x)
    if not many and others:
        ax.legend(fontsize=8)


def _map(fig: Any, ax: Any, s: SweepSeries, x: str, y: str) -> None:
    """A heat map over a grid of (x, y), one cell per pair, else points coloured by mean."""
    xs, xlabels = _positions(s.parameters[x])
    ys, ylabels = _positions(s.parameters[y])
    ux, uy = np.unique(xs), np.unique(ys)
    pairs = set(zip(xs.tolist(), ys.tolist(), strict=True))
    if len(pairs) == len(xs) == len(ux) * len(uy):  # a full grid, each cell once
        grid = np.full((len(uy), len(ux)), np.nan)
        grid[np.searchsorted(uy, ys), np.searchsorted(ux, xs)] = s.mean
        image = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
        middle = np.nanmean(grid)
        for (i, j), v in np.ndenumerate(grid):
            ax.annotate(f"{v:.4g}", (j, i), ha="center", va="center", fontsize=8,
                        color="white" if v < middle else "black")
        ax.set_xticks(range(len(ux)), xlabels if xlabels else [f"{v:g}" for v in ux])
        ax.set_yticks(range(len(uy)), ylabels if ylabels else [f"{v:g}" for v in uy])
    else:
        image = ax.scatter(xs, ys, c=s.mean, cmap="viridis", s=36)
        if xlabels:
            ax.set_xticks(range(len(xlabels)), xlabels)
        if ylabels:
            ax.set_yticks(range(len(ylabels)), ylabels)
    fig.colorbar(image, ax=ax, label=s.observable)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
