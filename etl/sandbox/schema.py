"""Request-body validation against the official AVIV v4 spec, reported the way the real API does.

The spec's ``components`` are wrapped into a Draft 7 root document (digest §7) and
compiled once. Validity is decided by ``jsonschema_rs`` (about 100× faster than
the pure-Python validator, which matters on the POST hot path) and, when a body
is refused, the pure-Python ``jsonschema`` walks it again to produce Ajv-like
items: ``{"name": "/data/location/postalcode", "reason": "must NOT have additional
properties: foo."}``, ``name`` being a JSON pointer as in the spec's examples.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft7Validator, FormatChecker
from jsonschema.exceptions import ValidationError

try:  # a compiled validator; the pure-Python one is the fallback
    import jsonschema_rs
except ImportError:  # pragma: no cover - jsonschema-rs is a declared dependency
    jsonschema_rs = None

SPEC_PATH = Path(__file__).resolve().parent.parent / "model" / "aviv-classified-api-v4.json"
MAX_ERRORS = 100


@dataclass(frozen=True, slots=True)
class FieldError:
    """One item of a ValidationErrorResponse's ``errors``."""

    name: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "reason": self.reason}


@cache
def load_spec() -> dict[str, Any]:
    return json.loads(SPEC_PATH.read_text(encoding="utf-8"))


# --- formats -------------------------------------------------------------------------
# The same functions serve both validators, so they never disagree on a format.
# Regexes follow ajv-formats (the real API's error wording is Ajv's).

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_EMAIL = re.compile(
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$",
    re.IGNORECASE,
)
_UUID = re.compile(r"^(?:urn:uuid:)?[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$", re.IGNORECASE)


def is_url(value: object) -> bool:
    """``format: url`` is not a JSON-Schema format; the spec means an absolute http(s) URL."""
    if not isinstance(value, str):
        return True
    if any(c.isspace() for c in value):
        return False
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises on a malformed port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def is_date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _DATE.match(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    m = _DATE_TIME.match(value)
    if not m or not is_date(m.group(1)):
        return False
    hour, minute, second = int(m.group(2)), int(m.group(3)), int(m.group(4))
    return hour <= 23 and minute <= 59 and second <= 60  # 60: leap second, as RFC 3339 allows


def is_email(value: object) -> bool:
    return not isinstance(value, str) or bool(_EMAIL.match(value))


def is_uuid(value: object) -> bool:
    return not isinstance(value, str) or bool(_UUID.match(value))


FORMATS: dict[str, Callable[[object], bool]] = {
    "url": is_url,
    "date": is_date,
    "date-time": is_date_time,
    "email": is_email,
    "uuid": is_uuid,
    "float": lambda _v: True,  # an OpenAPI annotation, not a constraint
}


def _format_checker() -> FormatChecker:
    checker = FormatChecker(formats=())
    for name, fn in FORMATS.items():
        checker.checks(name)(fn)
    return checker


# --- schema documents ------------------------------------------------------------------


def schema_document(component: str) -> dict[str, Any]:
    """A Draft 7 document whose root is ``#/components/schemas/<component>``."""
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$ref": f"#/components/schemas/{component}",
        "components": load_spec()["components"],
    }


class BodyValidator:
    """A compiled validator for one spec component, returning Ajv-like errors."""

    def __init__(self, component: str) -> None:
        document = schema_document(component)
        self._py = Draft7Validator(document, format_checker=_format_checker())
        self._rs = None
        if jsonschema_rs is not None:
            self._rs = jsonschema_rs.Draft7Validator(
                document, validate_formats=True, formats={k: _rs_format(v) for k, v in FORMATS.items()}
            )

    def is_valid(self, body: Any) -> bool:
        return self._rs.is_valid(body) if self._rs is not None else self._py.is_valid(body)

    def errors(self, body: Any) -> list[FieldError]:
        if self.is_valid(body):
            return []
        found = _dedupe(e for err in self._py.iter_errors(body) for e in _convert(err))
        if not found and self._rs is not None:
            # The two engines differ on a few regex corner cases (Python's "$" accepts a
            # trailing newline, ECMA's does not); the compiled one is closer to the real API.
            found = _dedupe(e for err in self._rs.iter_errors(body) for e in _convert_rs(err))
        return found[:MAX_ERRORS]


def _rs_format(fn: Callable[[object], bool]) -> Callable[[str], bool]:
    return lambda value: fn(value)


@cache
def classified_validator() -> BodyValidator:
    return BodyValidator("AvivClassified")


@cache
def webhook_validator() -> BodyValidator:
    return BodyValidator("Webhook")


# --- Ajv-like error items -----------------------------------------------------------------


def pointer(path: Iterable[Any]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def _num(n: Any) -> str:
    return str(int(n)) if isinstance(n, float) and n.is_integer() else str(n)


def _simple_reason(validator: str, value: Any) -> str | None:
    match validator:
        case "enum":
            return f"must be equal to one of the allowed values: {', '.join(str(v) for v in value)}."
        case "type":
            return f"must be {','.join(value) if isinstance(value, list) else value}."
        case "format":
            return f'must match format "{value}".'
        case "pattern":
            return f'must match pattern "{value}".'
        case "maxLength":
            return f"must NOT have more than {value} characters."
        case "minLength":
            return f"must NOT have fewer than {value} characters."
        case "maximum":
            return f"must be <= {_num(value)}."
        case "minimum":
            return f"must be >= {_num(value)}."
        case "exclusiveMaximum":
            return f"must be < {_num(value)}."
        case "exclusiveMinimum":
            return f"must be > {_num(value)}."
        case "maxItems":
            return f"must NOT have more than {value} items."
        case "minItems":
            return f"must NOT have fewer than {value} items."
        case "maxProperties":
            return f"must NOT have more than {value} properties."
        case "minProperties":
            return f"must NOT have fewer than {value} properties."
        case "uniqueItems":
            return "must NOT have duplicate items."
        case "const":
            return "must be equal to constant."
        case "multipleOf":
            return f"must be multiple of {_num(value)}."
        case "not":
            return "must NOT be valid."
    return None


def _convert(err: ValidationError) -> list[FieldError]:
    base = pointer(err.absolute_path)
    v = err.validator
    if v == "additionalProperties" and isinstance(err.instance, dict):
        declared = err.schema.get("properties", {})
        patterns = [re.compile(p) for p in err.schema.get("patternProperties", {})]
        extras = [k for k in err.instance if k not in declared and not any(p.search(k) for p in patterns)]
        return [FieldError(f"{base}/{pointer([k])[1:]}", f"must NOT have additional properties: {k}.") for k in extras]
    if v == "required" and isinstance(err.instance, dict):
        return [
            FieldError(f"{base}/{pointer([k])[1:]}", f"must have required property '{k}'.")
            for k in err.validator_value
            if k not in err.instance
        ]
    if v in ("oneOf", "anyOf"):
        branches: dict[Any, list[ValidationError]] = {}
        for sub in err.context or ():
            branches.setdefault(sub.schema_path[0] if sub.schema_path else 0, []).append(sub)
        if v == "oneOf" and not branches:
            return [FieldError(base, "must match exactly one schema in oneOf.")]
        closest = min(branches.values(), key=len) if branches else []
        inner = [e for sub in closest for e in _convert(sub)]
        if len(err.validator_value) == 1:
            return inner  # a single-branch oneOf (media items) is just that schema
        head = "must match exactly one schema in oneOf." if v == "oneOf" else "must match a schema in anyOf."
        return [FieldError(base, head), *inner]
    if v is False or err.validator_value is False:
        return [FieldError(base, "boolean schema is false.")]
    reason = _simple_reason(str(v), err.validator_value)
    return [FieldError(base, reason or err.message)]


def _convert_rs(err: Any) -> list[FieldError]:
    kind = err.kind
    base = pointer(err.instance_path)
    name = type(kind).__name__
    if name in ("OneOfNotValid", "AnyOf"):
        branches = [b for b in (getattr(kind, "context", None) or []) if b]
        inner = [e for sub in (min(branches, key=len) if branches else []) for e in _convert_rs(sub)]
        if len(branches) <= 1 and inner:
            return inner
        head = "must match exactly one schema in oneOf." if name == "OneOfNotValid" else "must match a schema in anyOf."
        return [FieldError(base, head), *inner]
    if name == "AdditionalProperties":
        return [
            FieldError(f"{base}/{pointer([extra])[1:]}", f"must NOT have additional properties: {extra}.")
            for extra in kind.unexpected
        ]
    if name == "Required":
        return [FieldError(f"{base}/{pointer([kind.property])[1:]}", f"must have required property '{kind.property}'.")]
    keyword = {
        "Enum": ("enum", "options"),
        "Type": ("type", "types"),
        "Format": ("format", "format"),
        "Pattern": ("pattern", "pattern"),
        "MaxLength": ("maxLength", "limit"),
        "MinLength": ("minLength", "limit"),
        "Maximum": ("maximum", "limit"),
        "Minimum": ("minimum", "limit"),
        "MaxItems": ("maxItems", "limit"),
        "MinItems": ("minItems", "limit"),
    }.get(name)
    if keyword is not None:
        value = getattr(kind, keyword[1], None)
        if isinstance(value, list) and keyword[0] == "type" and len(value) == 1:
            value = value[0]
        reason = _simple_reason(keyword[0], value)
        if reason:
            return [FieldError(base, reason)]
    return [FieldError(base, err.message.rstrip(".") + ".")]


def _dedupe(errors: Iterable[FieldError]) -> list[FieldError]:
    return list(dict.fromkeys(errors))
