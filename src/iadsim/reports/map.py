"""The report's map: a scenario drawn on longitude/latitude axes (no tiles, no network):
coastline, sites, radar coverage and engagement envelopes as rings at the raid's altitude,
routes, strikes and a scale bar. A Plotly figure; every trace is named so that a reader (and a
test) can tell what it shows."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any

import numpy as np

from iadsim.compile import local_frame
from iadsim.geometry import detection_range_km, radar_horizon_km
from iadsim.scenario import Scenario

EARTH_KM = 6371.0088
COLOURS = {"sensor": "#1f77b4", "command_post": "#7f7f7f", "radar": "#d62728",
           "infrared": "#ff7f0e", "route": "#2ca02c", "strike": "#9467bd", "coast": "#555555"}


@dataclass(frozen=True)
class Coast:
    """Coastline polylines (lon, lat) and where they come from."""

    lines: list[list[list[float]]]
    source: str


def coast_for(scenario: Scenario) -> Coast | None:
    """The coastline shipped beside the scenario's file (SCENARIO.coast.json), if there is
    one."""
    if scenario.source is None:
        return None
    scenario_path = Path(scenario.source.file)
    path = scenario_path.with_name(scenario_path.name.removesuffix(".yaml") + ".coast.json")
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return Coast(data["lines"], data["source"])


def threat_classes(scenario: Scenario) -> list[tuple[str, float, float]]:
    """(class, altitude, cross-section) of each threat class of the raid, the class with the
    most aircraft first: its flights' median waypoint altitude and median cross-section (the
    altitude and target at which its rings are drawn)."""
    flights = [*scenario.threats, *scenario.streams]
    out = []
    for cls in dict.fromkeys(f.threat_class for f in flights):
        mine = [f for f in flights if f.threat_class == cls]
        out.append((sum(f.count for f in mine), cls,
                    float(median(w.alt_m for f in mine for w in f.route)),
                    float(median(f.rcs_m2 for f in mine))))
    return [(c, a, r) for _, c, a, r in sorted(out, key=lambda x: -x[0])]


def _rings(fig: Any, scenario: Scenario, cls: str, alt: float, rcs: float, visible: bool
           ) -> None:
    """Radar coverage (dotted) and engagement envelopes (solid) against one threat class, at
    its altitude: one legend entry that shows or hides them all. The model's ranges are slant
    ranges; a ring is where the class's altitude meets them, at ground radius √(R² − Δh²)."""
    import plotly.graph_objects as go

    group = f"rings against {cls} ({rcs:g} m², {alt:,.0f} m)"
    shown = True if visible else "legendonly"
    first = True
    for s in scenario.sensors:
        radius = ground_km(min(detection_range_km(s.range_km, rcs),
                               radar_horizon_km(s.height_m, alt)), alt - s.height_m)
        if radius is None:
            continue
        x, y = _circle(s.lat, s.lon, radius)
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name=group, legendgroup=group,
                                 showlegend=first, visible=shown,
                                 line={"color": COLOURS["sensor"], "width": 1, "dash": "dot"},
                                 hovertext=f"{s.id}: covers {radius:.0f} km against {cls} "
                                 f"at {alt:,.0f} m",
                                 hoverinfo="text", meta={"ring": "coverage", "site": s.id}))
        first = False
    for u in scenario.fire_units:  # only where the class flies inside the unit's altitudes
        if not u.min_alt_m <= alt <= u.max_alt_m:
            continue
        for slant, dash in ((u.max_range_km, None), (u.min_range_km, "dash")):
            radius = ground_km(slant, alt - u.height_m)
            if radius is None:
                continue
            x, y = _circle(u.lat, u.lon, radius)
            fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name=group, legendgroup=group,
                                     showlegend=first, visible=shown,
                                     line={"color": COLOURS[u.guidance], "width": 1.5,
                                           "dash": dash},
                                     hovertext=f"{u.id}: envelope {slant:g} km slant, "
                                     f"{radius:.1f} km at {alt:,.0f} m"
                                     + (" (minimum)" if dash else ""), hoverinfo="text",
                                     meta={"ring": "envelope", "site": u.id}))
            first = False


def ground_km(slant_km: float, height_m: float) -> float | None:
    """The ground radius at which a slant range reaches `height_m` above (or below) its site,
    or None where it never does (a slant range of zero, or shorter than the height)."""
    reach = float(slant_km) ** 2 - (height_m / 1000.0) ** 2
    return math.sqrt(reach) if slant_km > 0 and reach > 0 else None


def _circle(lat: float, lon: float, radius_km: float, n: int = 96) -> tuple[list, list]:
    """A circle of ground radius `radius_km` around a point, as lon/lat lists."""
    angle = np.linspace(0.0, 2.0 * math.pi, n)
    d = radius_km / EARTH_KM
    phi, lam = math.radians(lat), math.radians(lon)
    lat2 = np.arcsin(math.sin(phi) * np.cos(d) + math.cos(phi) * np.sin(d) * np.cos(angle))
    lon2 = lam + np.arctan2(np.sin(angle) * np.sin(d) * math.cos(phi),
                            np.cos(d) - math.sin(phi) * np.sin(lat2))
    return np.degrees(lon2).round(5).tolist(), np.degrees(lat2).round(5).tolist()


def scenario_map(scenario: Scenario, coast: Coast | None = None) -> Any:
    """The map of a scenario as a Plotly figure."""
    import plotly.graph_objects as go

    fig = go.Figure()
    if coast is not None:
        lon, lat = _joined(coast.lines)
        fig.add_trace(go.Scatter(x=lon, y=lat, mode="lines", name="coastline",
                                 line={"color": COLOURS["coast"], "width": 1},
                                 hoverinfo="skip"))
    for n, (cls, alt, rcs) in enumerate(threat_classes(scenario)):
        _rings(fig, scenario, cls, alt, rcs, visible=n == 0)
    for f in (*scenario.threats, *scenario.streams):
        fig.add_trace(go.Scatter(
            x=[w.lon for w in f.route], y=[w.lat for w in f.route], mode="lines+markers",
            name=f"route {f.id}", legendgroup="routes", showlegend=False,
            line={"color": COLOURS["route"], "width": 1.5}, marker={"size": 4},
            hovertext=[f"{f.id} ({f.threat_class}, ×{f.count}): {w.alt_m:.0f} m"
                       for w in f.route], hoverinfo="text"))
    sites = [("sensor", s.id, s.lat, s.lon, f"{s.id}: {s.role} radar")
             for s in scenario.sensors]
    sites += [("command_post", c.id, c.lat, c.lon, f"{c.id}: command post ({c.authority})")
              for c in scenario.command_posts if c.lat is not None and c.lon is not None]
    sites += [(u.guidance, u.id, u.lat, u.lon, f"{u.id}: {u.unit_type or 'fire unit'} "
               f"({u.guidance}, {u.max_range_km:g} km)") for u in scenario.fire_units]
    symbols = {"sensor": "diamond", "command_post": "square", "radar": "triangle-up",
               "infrared": "triangle-up"}
    for kind in ("sensor", "command_post", "radar", "infrared"):
        mine = [s for s in sites if s[0] == kind]
        if not mine:
            continue
        fig.add_trace(go.Scatter(
            x=[s[3] for s in mine], y=[s[2] for s in mine], mode="markers+text",
            name={"sensor": "radars", "command_post": "command posts",
                  "radar": "radar-guided SAMs", "infrared": "infrared SAMs"}[kind],
            text=[s[1] for s in mine], textposition="top center", textfont={"size": 9},
            hovertext=[s[4] for s in mine], hoverinfo="text",
            marker={"symbol": symbols[kind], "size": 10, "color": COLOURS[kind],
                    "line": {"width": 1, "color": "white"}},
            meta={"sites": [s[1] for s in mine]}))
    located = {e.id: (e.lat, e.lon) for e in (*scenario.sensors, *scenario.fire_units,
                                               *scenario.command_posts)
               if e.lat is not None and e.lon is not None}
    strikes = [(k.id or k.target, *located[k.target], k.time_s) for k in scenario.strikes
               if k.target in located]
    if strikes:
        fig.add_trace(go.Scatter(
            x=[s[2] for s in strikes], y=[s[1] for s in strikes], mode="markers",
            name="strikes", marker={"symbol": "x", "size": 14, "color": COLOURS["strike"]},
            hovertext=[f"strike on {s[0]} at {s[3]:.0f} s" for s in strikes],
            hoverinfo="text"))
    _scale_bar(fig, scenario)
    lat0 = local_frame(scenario).lat
    drawn = [t for t in fig.data if t.name != "coastline" and t.visible is not False
             and t.visible != "legendonly"]
    xs = [v for t in drawn for v in t.x if v is not None]
    ys = [v for t in drawn for v in t.y if v is not None]
    pad = 0.05 * max(max(xs) - min(xs), max(ys) - min(ys), 0.1)
    # two views: the whole raid, and the defence's sites close up (their labels readable)
    site_x = [e.lon for e in (*scenario.sensors, *scenario.fire_units)]
    site_y = [e.lat for e in (*scenario.sensors, *scenario.fire_units)]
    near = 0.15 * max(max(site_x) - min(site_x), max(site_y) - min(site_y), 0.1) + 0.02
    views = {"whole raid": ([min(xs) - pad, max(xs) + pad], [min(ys) - pad, max(ys) + pad]),
             "defence close up": ([min(site_x) - near, max(site_x) + near],
                                  [min(site_y) - near, max(site_y) + near])}
    fig.update_layout(updatemenus=[{
        "type": "buttons", "direction": "right", "x": 1.0, "xanchor": "right", "y": 1.12,
        "buttons": [{"label": name, "method": "relayout",
                     "args": [{"xaxis.range": x, "yaxis.range": y}]}
                    for name, (x, y) in views.items()]}])
    fig.update_layout(
        title=f"{scenario.name}: sites, coverage (dotted), envelopes (solid) per threat "
              "class (legend), routes, strikes",
        xaxis={"title": "longitude (°)", "scaleanchor": "y",
               "scaleratio": 1 / math.cos(math.radians(lat0)),
               "range": [min(xs) - pad, max(xs) + pad]},
        yaxis={"title": "latitude (°)", "range": [min(ys) - pad, max(ys) + pad]},
        height=640, legend={"orientation": "h"},
        margin={"l": 60, "r": 20, "t": 60, "b": 40}, plot_bgcolor="#eef3f7")
    return fig


def _joined(lines: list[list[list[float]]]) -> tuple[list, list]:
    """Polylines as one trace's x and y, separated by gaps."""
    x: list[float | None] = []
    y: list[float | None] = []
    for line in lines:
        x += [p[0] for p in line] + [None]
        y += [p[1] for p in line] + [None]
    return x, y


def _scale_bar(fig: Any, scenario: Scenario) -> None:
    """A 50 km bar below the southernmost site, labelled."""
    import plotly.graph_objects as go

    lats = [e.lat for e in (*scenario.sensors, *scenario.fire_units)]
    lons = [e.lon for e in (*scenario.sensors, *scenario.fire_units)]
    if not lats:
        return
    lat = min(lats) - 0.25
    west = min(lons)
    span = 50.0 / (EARTH_KM * math.cos(math.radians(lat)) * math.pi / 180.0)
    fig.add_trace(go.Scatter(x=[west, west + span], y=[lat, lat], mode="lines+text",
                             name="scale: 50 km", text=["", "50 km"],
                             textposition="middle right", showlegend=False,
                             line={"color": "black", "width": 4}, hoverinfo="skip"))
