"""The error every analysis raises for input it cannot take."""

from __future__ import annotations

from collections.abc import Sequence


class AnalysisError(ValueError):
    """Input an analysis cannot take, one line per problem."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))
