"""Issues: what can be wrong with a record, as values a report can show.

Every issue carries a stable code (``E_…`` rejects the record or a portal,
``W_…`` only warns), the field (source column and AVIV path), the value seen,
and a French message an agency can act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Issue:
    code: str
    message: str
    severity: Severity = Severity.ERROR
    source_field: str | None = None
    aviv_path: str | None = None
    value: str | None = None
    # Portal concerned when the issue only makes one portal ineligible.
    portal: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


def error(code: str, message: str, **kw: str | None) -> Issue:
    return Issue(code=code, message=message, severity=Severity.ERROR, **kw)


def warning(code: str, message: str, **kw: str | None) -> Issue:
    return Issue(code=code, message=message, severity=Severity.WARNING, **kw)
