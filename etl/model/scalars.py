"""Configs and scalar types the generated AVIV types (``classified.py``) are written with.

JSON Schema reading (Draft 7) that these reproduce:

- ``integer``: an int, or a float with no fractional part (``2.0``); never a bool or a str.
- ``number``: an int or a float, never a bool or a str; NaN and ±inf are refused because a
  body must be JSON.
- ``string``/``boolean``/``array``/``object``: exactly those JSON types (pydantic strict
  mode): no ``"1"`` read as 1, no tuple read as an array.
- An optional property that is absent stays absent; ``null`` is refused (the spec has no
  ``nullable``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import AfterValidator, ConfigDict, Field, GetCoreSchemaHandler
from pydantic_core import PydanticCustomError, core_schema

from etl.model import formats

# `additionalProperties: false`.
CLOSED = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
# No `additionalProperties: false`: unknown keys pass, unvalidated.
OPEN = ConfigDict(extra="allow", strict=True, allow_inf_nan=False)


def _whole_float_to_int(value: float) -> int:
    if value.is_integer():
        return int(value)
    raise PydanticCustomError("int_type", "Input should be a valid integer")


@dataclass(frozen=True, slots=True)
class Integer:
    """``type: integer`` with optional ``minimum``/``maximum`` (see module doc)."""

    ge: int | None = None
    le: int | None = None

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        typed = core_schema.union_schema(
            [
                core_schema.int_schema(strict=True),
                core_schema.chain_schema(
                    [
                        core_schema.float_schema(strict=True, allow_inf_nan=False),
                        core_schema.no_info_plain_validator_function(_whole_float_to_int),
                    ]
                ),
            ],
            mode="left_to_right",
            custom_error_type="int_type",
        )
        if self.ge is None and self.le is None:
            return typed
        return core_schema.chain_schema([typed, core_schema.int_schema(ge=self.ge, le=self.le)])


# `type: number`: in strict mode a float field accepts an int and refuses bool and str.
Number = float


def _format(check: Callable[[str], bool], kind: str, message: str) -> AfterValidator:
    def validate(value: str) -> str:
        if check(value):
            return value
        raise PydanticCustomError(kind, message)

    return AfterValidator(validate)


EMAIL = _format(formats.is_email, "format_email", "Input should be an e-mail address")
UUID = _format(formats.is_uuid, "format_uuid", "Input should be a UUID")
# Checked by pydantic-core's Rust regex, no Python call: one URL and title per picture.
URL = Field(pattern=formats.URL_PATTERN)
MEDIA_TITLE = Field(pattern=formats.MEDIA_TITLE_PATTERN)
DATE = Field(pattern=formats.DATE_PATTERN)
DATE_TIME = Field(pattern=formats.DATE_TIME_PATTERN)


def _unique(items: list[Any]) -> list[Any]:
    if len(set(items)) != len(items):
        raise PydanticCustomError("unique_items", "Items should be unique")
    return items


UNIQUE = AfterValidator(_unique)


@dataclass(frozen=True, slots=True)
class _AnyOf:
    """``anyOf``: one error for the whole union instead of one per branch."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        schema = handler(source)
        if schema["type"] != "union":
            raise TypeError(f"anyOf marker on a {schema['type']} schema")
        return {
            **schema,
            # Any branch that accepts is enough: stop at the first (smart mode tries all).
            "mode": "left_to_right",
            "custom_error_type": "any_of",
            "custom_error_message": "Input should match one of the allowed shapes",
        }


ANY_OF = _AnyOf()
