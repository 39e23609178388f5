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
    _memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)
    # what depends on the points only (the engine arrays of a single point, the constants),
    # shared by the table's slices: a run computes it once, not once per block

    def __len__(self) -> int:
        return len(self.replication)

    @classmethod
    def repeat(cls, space: ParameterSpace, point: Point, runs: int, first: int = 0,
               memo: dict[Any, Any] | None = None) -> ParamTable:
        """Replications first … first + runs − 1, all at one point; `memo`: one shared by
        every table of this point (a run's blocks), or None."""
        return cls(space, point.theta[None, :], np.zeros(runs, dtype=np.int64),
                   np.arange(first, first + runs, dtype=np.int64), (point.name,),
                   {} if memo is None else memo)

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
                          self.labels, self._memo)

    def params(self) -> Params:
        """The engine arrays of every row."""
        used, inverse = np.unique(self.point, return_inverse=True)
        if len(used) == 1:
            k = int(used[0])
            if k not in self._memo:
                self._memo[k] = self.space.arrays(self.points[used])
            return _take(self._memo[k], inverse)
        return _take(self.space.arrays(self.points[used]), inverse)

    def varying(self) -> list[Parameter]:
        """The parameters whose value differs between the table's points."""
        points = self.points
        same = ((points == points[0]) | (np.isnan(points) & np.isnan(points[0]))).all(axis=0)
        return [p for p in self.space.parameters if not same[p.slot]]

    def constants(self) -> dict[str, Any]:
        """path → value of every parameter that applies and is the same on every row."""
        if "constants" not in self._memo:
            varying = {p.slot for p in self.varying()}
            first = self.points[0]
            self._memo["constants"] = {
                p.path: p.decode(first[p.slot]) for p in self.space.parameters
                if p.slot not in varying and not np.isnan(first[p.slot])}
        return dict(self._memo["constants"])

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
