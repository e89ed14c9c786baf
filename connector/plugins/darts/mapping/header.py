"""Finding and checking a report's header row, and explaining in the user's terms how it differs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from connector.plugins.darts.mapping.fields import HEADER_SEARCH_ROWS

if TYPE_CHECKING:
    from connector.plugins.darts.mapping.columns import Column, ColumnMapping
    from connector.plugins.darts.mapping.problems import Problems


class HeaderChecks:
    """The parser's header part (mixed into ``parser._Parser``): which columns are present, or why not."""

    m: ColumnMapping
    problems: Problems
    header_problem: bool
    titles: tuple[str, ...]

    def _match(self, cells: list[str]) -> list[Column] | None:
        """The columns present, in file order, when ``cells`` is the header (optional ones may be absent)."""
        got = [c.strip() for c in cells]
        present: list[Column] = []
        for col in self.m.columns:
            if len(present) < len(got) and got[len(present)] == col.title:
                present.append(col)
            elif not col.optional:
                return None
        return present if len(present) == len(got) else None

    def _read_header(self, rows: Iterator[tuple[int, list[str]]]) -> list[Column] | None:
        peeked: list[tuple[int, list[str]]] = []
        for number, cells in rows:
            peeked.append((number, cells))
            present = self._match(cells)
            if present is not None:
                if number > 1:
                    self.header_problem = True
                    self.problems.add(
                        1,
                        "(row)",
                        self._row_text(peeked[0][1]),
                        f"the header row as row 1; it was found on row {number}: delete the "
                        f"{number - 1} row{'s' if number > 2 else ''} above it",
                    )
                return present
            if len(peeked) >= HEADER_SEARCH_ROWS:
                break
        self.header_problem = True
        if not peeked:
            self.problems.add(1, "(header)", "", "the header row; the file is empty")
            return None
        # Explain against the row that looks most like the header, so a title row on top is not blamed for all.
        known = set(self.titles)
        best_number, best = max(peeked, key=lambda p: (sum(c.strip() in known for c in p[1]), -p[0]))
        if best_number > 1:
            self.problems.add(
                1,
                "(row)",
                self._row_text(peeked[0][1]),
                f"the header row as row 1; row {best_number} looks like the header: delete the rows above it",
            )
        self._explain_header([c.strip() for c in best], best_number)
        return None

    def _row_text(self, cells: list[str]) -> str:
        """A row as the user would recognise it: its cells joined, without the trailing empty ones."""
        return self.m.delimiter.join(c.strip() for c in cells).rstrip(self.m.delimiter)[:100]

    def _explain_header(self, got: list[str], row: int) -> None:
        """Say which columns are missing, unexpected, renamed or out of order."""
        cols = self.m.columns
        known = {c.title for c in cols}
        present = set(got)
        missing = [i for i, c in enumerate(cols) if c.title not in present and not c.optional]
        seen: set[str] = set()
        unexpected = []
        for i, title in enumerate(got):
            if title not in known or title in seen:
                unexpected.append(i)
            seen.add(title)
        if missing and len(missing) == len(unexpected):
            for ci, gi in zip(missing, unexpected, strict=True):
                self.problems.add(
                    row,
                    cols[ci].title,
                    got[gi],
                    f"{cols[ci].title!r} as column {gi + 1}: the column was renamed or replaced",
                )
            return
        for ci in missing:
            before = cols[ci - 1].title if ci > 0 else None
            where = f"after {before!r}" if before else "as the first column"
            self.problems.add(row, cols[ci].title, "", f"a column titled {cols[ci].title!r} {where}: it is missing")
        for gi in unexpected:
            what = "a second column with this title" if got[gi] in known else "a column this format does not have"
            self.problems.add(
                row,
                got[gi] or f"(column {gi + 1})",
                got[gi],
                f"no column {gi + 1} like this ({what}); remove it",
            )
        if not missing and not unexpected:
            expected = [c.title for c in cols if c.title in present]
            for gi, (g, e) in enumerate(zip(got, expected, strict=True)):
                if g != e:
                    self.problems.add(row, e, g, f"{e!r} as column {gi + 1}: the columns were reordered")
