"""Parameter tables: the rows an engine runs, each a replication index and a parameter point.

Rows that share a replication index run on the same random numbers in the vectorized engine,
which is how one design evaluates many points on the same luck (a SALib sample, Shapley
coalitions, prior draws). Engines read a block of rows as `Params` arrays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from iadsim.parameter import Parameter
from iadsim.params import ParameterSpace, Params, Point


@dataclass(frozen=True)
class ParamTable:
    """Rows to run: each a replication index and a parameter point. Rows that share a
    replication index run on the same random numbers (in the vectorized engine)."""

    space: ParameterSpace
    points: np.ndarray  # (K, parameters): the distinct points
    point: np.ndarray  # (R,) int64: each row's point
    replication: np.ndarray  # (R,) int64
    labels: tuple[str, ...] = ()  # a name per point (a profile's, or empty)
    _arrays: dict[int, Params] = field(default_factory=dict, compare=False, repr=False)
    # the engine arrays of single points, shared by the table's slices (a run at one point
    # computes them once, not once per block)

    def __len__(self) -> int:
        return len(self.replication)

    @classmethod
    def repeat(cls, space: ParameterSpace, point: Point, runs: int, first: int = 0
               ) -> ParamTable:
        """Replications first … first + runs − 1, all at one point."""
        return cls(space, point.theta[None, :], np.zeros(runs, dtype=np.int64),
                   np.arange(first, first + runs, dtype=np.int64), (point.name,))

    @classmethod
    def from_columns(cls, space: ParameterSpace, start: Point,
                     columns: Mapping[str, Sequence[Any]]) -> ParamTable:
        """Rows from columns: `replication` and parameter paths (group paths and `…pk` too);
        the other parameters keep their values at `start`. Rows with the same values share a
        point (ParameterSpace.points_from_columns)."""
        points, point, replication = space.points_from_columns(start, columns)
        return cls(space, points, point, replication, (f"{start.name}+table",))

    def rows(self, lo: int, hi: int) -> ParamTable:
        """Rows lo … hi − 1."""
        return self.take(slice(lo, hi))

    def take(self, index: np.ndarray | slice) -> ParamTable:
        """The rows at these positions, in this order."""
        return ParamTable(self.space, self.points, self.point[index], self.replication[index],
                          self.labels, self._arrays)

    def params(self) -> Params:
        """The engine arrays of every row."""
        used, inverse = np.unique(self.point, return_inverse=True)
        if len(used) == 1:
            k = int(used[0])
            if k not in self._arrays:
                self._arrays[k] = self.space.arrays(self.points[used])
            return _take(self._arrays[k], inverse)
        return _take(self.space.arrays(self.points[used]), inverse)

    def varying(self) -> list[Parameter]:
        """The parameters whose value differs between the table's points."""
        points = self.points
        same = (points == points[0]) | (np.isnan(points) & np.isnan(points[0]))
        return [p for p in self.space.parameters if not same[:, p.slot].all()]

    def constants(self) -> dict[str, Any]:
        """path → value of every parameter that applies and is the same on every row."""
        varying = {p.slot for p in self.varying()}
        first = self.points[0]
        return {p.path: p.decode(first[p.slot]) for p in self.space.parameters
                if p.slot not in varying and not np.isnan(first[p.slot])}

    def to_arrow(self) -> Any:
        """One row per table row: replication, point, and each parameter that varies."""
        import pyarrow as pa

        columns: dict[str, Any] = {"replication": self.replication, "point": self.point}
        for p in self.varying():
            col = self.points[self.point, p.slot]
            columns[p.path] = [p.decode(x) for x in col] if p.kind == "choice" else \
                col.astype(bool) if p.kind == "bool" else col
        return pa.table(columns)


def _take(params: Params, rows: np.ndarray) -> Params:
    return Params(*(a[rows] for a in params))
