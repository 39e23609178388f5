"""Clip Natural Earth's 1:10m land outlines to a scenario's region, for the report's map.

    npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz
    python tools/clip_coastline.py package/land-10m.json -70 8.5 -63.5 13.5 \
        src/iadsim/scenarios/caracas-2026.coast.json

world-atlas (ISC licence) is Natural Earth's 1:10m land as TopoJSON; Natural Earth is in the
public domain. The output is the outlines' points inside the box (lon/lat degrees, 4 decimals:
about 10 m), as polylines, with the source stated in the file.
"""

from __future__ import annotations

import json
import sys


def decode_arcs(topology: dict) -> list[list[tuple[float, float]]]:
    """Every arc of a quantized TopoJSON topology, in lon/lat."""
    scale = topology["transform"]["scale"]
    shift = topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * scale[0] + shift[0], y * scale[1] + shift[1]))
        arcs.append(points)
    return arcs


def clip(lines: list[list[tuple[float, float]]], box: tuple[float, float, float, float]
         ) -> list[list[list[float]]]:
    """The runs of consecutive points inside the box (a line leaving it is cut there)."""
    west, south, east, north = box
    out = []
    for line in lines:
        run: list[list[float]] = []
        for lon, lat in line:
            if west <= lon <= east and south <= lat <= north:
                run.append([round(lon, 4), round(lat, 4)])
            elif run:
                if len(run) > 1:
                    out.append(run)
                run = []
        if len(run) > 1:
            out.append(run)
    return out


def main() -> None:
    source, *numbers, target = sys.argv[1:]
    box = tuple(float(v) for v in numbers)
    topology = json.load(open(source, encoding="utf-8"))
    lines = clip(decode_arcs(topology), box)  # type: ignore[arg-type]
    data = {"source": "Natural Earth 1:10m land (public domain), via world-atlas 2.0.2 "
                      "(TopoJSON, ISC); clipped by tools/clip_coastline.py",
            "box": {"west": box[0], "south": box[1], "east": box[2], "north": box[3]},
            "lines": lines}
    with open(target, "w", encoding="utf-8") as f:
        json.dump(data, f, separators=(",", ":"))
    print(f"{target}: {len(lines)} lines, {sum(len(x) for x in lines)} points")


if __name__ == "__main__":
    main()
