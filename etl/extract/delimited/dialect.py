"""Which character separates a CSV's cells, read off its first lines.

Each candidate splits the sample with the csv module (quotes and multi-line cells honoured);
the one giving the same width (≥ 2) to most rows wins. Title rows above the header have one
cell whatever the separator, so they lower every candidate alike.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass
from typing import Final

CANDIDATES: Final = (";", ",", "\t", "|")
SAMPLE_ROWS: Final = 50


@dataclass(frozen=True, slots=True)
class Dialect:
    delimiter: str
    width: int  # cells in most rows
    consistency: float  # share of the sample's rows with that width
    rows: int  # rows in the sample

    @property
    def shown(self) -> str:
        return "tabulation" if self.delimiter == "\t" else f"« {self.delimiter} »"


def sniff(text: str, *, cut: bool = True, forced: str | None = None) -> Dialect | None:
    """The best separator for ``text`` (a file's beginning; ``cut``: its last line may be partial)."""
    best: Dialect | None = None
    for d in (forced,) if forced else CANDIDATES:
        dialect = _measure(text, d, cut)
        if dialect is None:
            continue
        if best is None or (dialect.consistency, dialect.width) > (best.consistency, best.width):
            best = dialect
    return best


def _measure(text: str, delimiter: str, cut: bool) -> Dialect | None:
    try:
        rows = [r for r in csv.reader(io.StringIO(text), delimiter=delimiter) if any(c.strip() for c in r)]
    except csv.Error:
        return None
    if cut and len(rows) > 1:
        rows.pop()  # the sample may end mid-row
    rows = rows[:SAMPLE_ROWS]
    if not rows:
        return None
    widths = Counter(len(_trimmed(r)) for r in rows)
    width, n = widths.most_common(1)[0]
    if width < 2:
        return None
    return Dialect(delimiter, width, n / len(rows), len(rows))


def _trimmed(row: list[str]) -> list[str]:
    """A row without its trailing empty cells (spreadsheets pad rows with separators)."""
    end = len(row)
    while end > 1 and not row[end - 1].strip():
        end -= 1
    return row[:end] if end < len(row) and end >= 1 else row
