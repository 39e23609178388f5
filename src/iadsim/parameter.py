"""One parameter of the model: its path, its slot in a point, and the values it accepts,
stored as numbers (a choice as its index, true/false as 1/0)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np


class ParameterError(ValueError):
    """A parameter path or value that cannot be used; `problems` lists every one found."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Parameter:
    """One named input of the model: its path, where its value lives, and what it accepts."""

    path: str
    slot: int
    kind: str  # probability, nonnegative, positive, rate, count, bool or choice
    low: float = 0.0
    high: float = math.inf
    choices: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()  # choices this parameter does not accept

    @property
    def allowed(self) -> str:
        """The allowed values, said for a person."""
        if self.kind == "choice":
            return " | ".join(c for c in self.choices if c not in self.excluded)
        if self.kind == "bool":
            return "true | false"
        if self.kind == "count":
            return f"whole ≥ {self.low:g}" + (f", ≤ {self.high:g}" if math.isfinite(self.high)
                                              else "")
        if self.kind == "rate" and math.isfinite(self.high):
            return f"[{self.low:g}, {self.high:g}] or inf (at once)"
        high = f"{self.high:g}]" if not math.isinf(self.high) else \
            "∞]" if self.kind == "rate" else "∞)"
        return f"{'(' if self.kind == 'positive' else '['}{self.low:g}, {high}"

    def encode(self, value: Any) -> float:
        """The value as stored in a point; raises ValueError saying what was expected."""
        if self.kind == "choice":
            if isinstance(value, str) and value in self.choices and value not in self.excluded:
                return float(self.choices.index(value))
            raise ValueError(f"expected one of {self.allowed.replace(' |', ',')} (got {value!r})")
        if self.kind == "bool":
            if isinstance(value, (bool, np.bool_)):
                return float(value)
            raise ValueError(f"expected true or false (got {value!r})")
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
            raise ValueError(f"expected a number in {self.allowed} (got {value!r})")
        x = float(value)
        at_once = math.isinf(x) and x > 0 and self.kind == "rate"  # .inf: at once
        if math.isnan(x) or not (at_once or self.low <= x <= self.high) or (
                self.kind == "positive" and x == 0) or (math.isinf(x) and self.kind != "rate") \
                or (self.kind == "count" and x != int(x)):
            raise ValueError(f"expected {self.expected} (got {value!r})")
        return x

    @property
    def expected(self) -> str:
        """What a value must be, said for a person."""
        if self.kind == "count":
            return f"a whole number ≥ {self.low:g}" + (
                f" and ≤ {self.high:g}" if math.isfinite(self.high) else "")
        if self.kind == "bool":
            return "true or false"
        return f"a number in {self.allowed}"

    def encode_column(self, values: Any) -> np.ndarray:
        """A column of values as stored (encode, vectorized for numbers); raises ValueError
        naming the first bad row."""
        if not isinstance(values, np.ndarray):  # a list: its items as given (no casting)
            items = list(values)
            mixed = any(isinstance(v, (str, bool, type(None))) for v in items)
            values = np.array(items, dtype=object) if mixed else np.asarray(items)
        if values.dtype.kind == "b" and self.kind == "bool":
            return values.astype(float)
        if values.dtype.kind in "OUSb" or self.kind == "choice":  # one by one
            out = np.empty(len(values))
            for i, v in enumerate(values):
                try:
                    out[i] = self.encode(v.item() if isinstance(v, np.generic) else v)
                except ValueError as exc:
                    raise ValueError(f"row {i}: {exc}") from None
            return out
        x = values.astype(float)
        if self.kind == "bool":  # a numeric design: 0 and 1
            bad = (x != 0) & (x != 1)
        else:
            bad = np.isnan(x) | (x < self.low) | ((x > self.high) & ~(
                np.isposinf(x) & (self.kind == "rate")))
            bad |= (x == 0) if self.kind == "positive" else False
            bad |= np.isinf(x) if self.kind != "rate" else False
            bad |= (x != np.floor(x)) if self.kind == "count" else False
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            expected = "true or false (or 0/1)" if self.kind == "bool" else self.expected
            got = values[i].item() if isinstance(values[i], np.generic) else values[i]
            raise ValueError(f"row {i}: expected {expected} (got {got!r})")
        return x

    def decode(self, x: float) -> Any:
        """The stored number as the value a scenario file writes."""
        if self.kind == "choice":
            return self.choices[int(x)]
        if self.kind == "bool":
            return bool(x)
        if self.kind == "count":
            return int(x)
        return float(x)
