"""What every extractor yields: a source record, or an error naming where it was."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from etl.issues import Issue


# What agency software writes for "nothing" in a number or a date (Poliris and the XML feeds the
# same software writes): a format's ``blank_markers``, and the converters' default empties.
SOFTWARE_BLANKS: Final = frozenset({"0", "0.0", "0.00", "00/00/0000", "0000-00-00", "00/00/00"})


@dataclass(slots=True)  # not frozen: one is built per record, and frozen init costs ~5% of the parse
class SourceLocation:
    """Where a record sits in its source: file (and member inside an archive), line, record number."""

    file: str
    line: int  # 1-based physical line the record starts on (0 when not line-based)
    record: int  # 1-based record number within the file
    xpath: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}, ligne {self.line}" if self.line else self.file
        if self.xpath:
            where += f", {self.xpath}"
        return where


@dataclass(slots=True)
class SourceRecord:
    """One listing as read from the source: raw strings, nothing interpreted yet.

    ``values`` is positional (``values[i]`` is source column ``i``); ``columns``
    names the positions for this source (shared by every record of a file), so a
    mapping resolves names to indexes once and reads by index per record.
    """

    agency_id: str
    source_key: str
    location: SourceLocation
    values: Sequence[str]
    columns: Mapping[str, int]
    format_version: str | None = None
    # Extraction notes that do not stop the record (e.g. key fell back to field 2).
    issues: list[Issue] = field(default_factory=list)

    def get(self, name: str) -> str:
        i = self.columns.get(name)
        if i is None or i >= len(self.values):
            return ""
        return self.values[i]


@dataclass(slots=True)
class RecordError:
    """A record the extractor could not read: never skipped silently."""

    location: SourceLocation
    issues: list[Issue]
    agency_id: str | None = None
    source_key: str | None = None
    raw: str | None = None  # a prefix of the offending text, for the report


ExtractResult = SourceRecord | RecordError


@dataclass(slots=True)
class FeedFacts:
    """Facts about one source as a whole, final once its records have been read to the end.

    The one feed-statistics type: extractors fill it while reading, the conductor reads it,
    and reports and the loader's guard rely on ``complete`` (False: the source ended
    mid-record or could not be read to its end, so nothing may be deleted on its account).
    """

    source: str
    format: str | None = None  # registry name ("poliris")
    dialect: str | None = None  # what detection or reading saw ("4.09", "Kyero v3")
    records: int = 0  # records yielded, errors included
    errors: int = 0
    lines: int = 0  # physical lines read, for line-based formats
    complete: bool = True
    encoding: str | None = None  # "utf-8" | "cp1252" | "mixed" …
    problems: list[str] = field(default_factory=list)  # French, for the run summary
    other_agencies: int = 0  # records skipped because the run takes one agency of a grouped send

    def mark_incomplete(self, problem: str) -> None:
        self.complete = False
        self.problems.append(problem)
