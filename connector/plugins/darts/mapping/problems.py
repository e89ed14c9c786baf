"""The problems found in one report: the first ``MAX_PROBLEMS`` kept, all counted."""

from __future__ import annotations

from connector.core.frequent_buyer.pos_types import PosReportProblem
from connector.plugins.darts.mapping.fields import MAX_PROBLEMS


class Problems:
    """Keeps the first ``MAX_PROBLEMS`` problems and counts the rest."""

    def __init__(self) -> None:
        self.kept: list[PosReportProblem] = []
        self.count = 0

    def add(self, row: int, column: str, value: str, expected: str) -> None:
        self.count += 1
        if len(self.kept) < MAX_PROBLEMS:
            self.kept.append(PosReportProblem(row, column, value, expected))
