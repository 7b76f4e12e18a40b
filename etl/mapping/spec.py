"""The mapping config (``mappings/*.yaml``): how a source record becomes an AVIV classified.

A mapping is an ordered list of rules. Each rule reads one or more source
fields and writes one AVIV path (or, for builders, a small subtree). Rules run
in order, so a ``when`` on an AVIV path sees what earlier rules wrote.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Closed):
    """``field`` tests a source value (folded: case/accents ignored); ``path`` tests the body built so far."""

    field: str | None = None
    path: str | None = None
    equals: Any = None
    in_: list[Any] | None = Field(default=None, alias="in")
    filled: bool | None = None
    at_most: float | None = None
    all: list[Condition] | None = None
    any: list[Condition] | None = None
    not_: Condition | None = Field(default=None, alias="not")

    @model_validator(mode="after")
    def _one_subject(self) -> Condition:
        combinators = [self.all, self.any, self.not_]
        if sum(x is not None for x in combinators) + bool(self.field or self.path) != 1:
            raise ValueError("a condition names exactly one of: field, path, all, any, not")
        if (self.field or self.path) and self.equals is None and self.in_ is None \
                and self.filled is None and self.at_most is None:
            raise ValueError("a field/path condition needs equals, in, filled or at_most")
        return self


class Rule(_Closed):
    to: str = Field(description="AVIV path (dotted), or @name for a mapping-level output such as @portals")
    from_: str | list[str] | None = Field(default=None, alias="from")
    convert: str | None = None
    table: str | None = None
    column: str | None = None
    build: str | None = None
    value: Any = None
    when: Condition | None = None
    required: bool = False
    # What a value that cannot be converted does: reject the record, or drop the field with a warning.
    invalid: Literal["error", "warning"] | None = None
    message: str | None = Field(default=None, description="French message when a required value is missing")
    code: str | None = None
    # An optional value whose absence the agency should hear about (an empty headline): a warning
    # with ``code`` and ``message``, the listing still goes out.
    warn_if_missing: bool = False

    @model_validator(mode="after")
    def _one_source(self) -> Rule:
        kinds = [self.convert is not None, self.table is not None, self.build is not None]
        if self.value is not None:
            if any(kinds) or self.from_ is not None:
                raise ValueError("a constant rule (value) takes no from/convert/table/build")
        elif sum(kinds) != 1:
            raise ValueError("a rule needs exactly one of: value, convert, table, build")
        elif self.from_ is None:
            raise ValueError("a convert/table/build rule needs from")
        if self.table is not None and self.column is None:
            raise ValueError("a table rule needs column")
        return self

    @property
    def sources(self) -> list[str]:
        if self.from_ is None:
            return []
        return [self.from_] if isinstance(self.from_, str) else list(self.from_)


class FieldSpec(_Closed):
    """What one source field's values mean beyond their type, declared per field because it
    differs from field to field (Poliris' ``0`` is "empty" in most fields but the ground floor
    in field 24)."""

    blank: list[str] | None = Field(default=None, description="values meaning 'empty' here (replaces the mapping's `blank`)")
    placeholders: list[str] = Field(default=[], description="software defaults: dropped with W_PLACEHOLDER_IGNORED")
    placeholder_when: Condition | None = Field(
        default=None, description="the placeholders only count as such when this holds (e.g. a kitchen code on a parking lot)")


class Identity(_Closed):
    source_system: str = "classifieds-etl"
    source_system_version: str | None = None  # None: this tool's version
    offerer_estate_id: str = "{agency_id}-{source_key}"
    marketing_key: str = "listing_reference"


class MappingSpec(_Closed):
    mapping: str
    # Another mapping this one starts from (name or path beside it): each top-level key given
    # here replaces the base's (generic-excel is generic-csv with another format).
    extends: str | None = None
    format: str  # the registry name of the feed format this mapping reads; the feed's must match
    # Options for the feed format (a spreadsheet's header aliases, an XML feed's record element and
    # XPaths…): validated by the format when it opens the feed. ``agencies.yaml`` may override them.
    source: dict[str, Any] = {}
    description: str | None = None
    identity: Identity = Identity()
    tables: dict[str, dict[str, Any]] = {}
    settings: dict[str, Any] = {}
    # Values meaning "empty" in every field that does not declare its own (``fields.<name>.blank``).
    # None: the feed format's (``FeedFormat.blank_markers``: Poliris' ``0``, ``00/00/0000``…).
    blank: list[str] | None = None
    # How converters read numbers and dates: "export" (software-written: "1.250" is 1.25) or
    # "spreadsheet" (typed by hand: "1,250" is refused as ambiguous, "12/03/25" and Excel serial
    # days are dates). See etl/mapping/converters.py.
    values: Literal["export", "spreadsheet"] = "export"
    fields: dict[str, FieldSpec] = {}
    rules: list[Rule] = []

    @model_validator(mode="after")
    def _has_rules(self) -> MappingSpec:
        if not self.rules and self.extends is None:
            raise ValueError("a mapping needs rules (or extends another mapping)")
        return self
