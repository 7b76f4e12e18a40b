"""The acceptance oracle: the official AVIV v4 spec read by ``jsonschema`` (Draft 7).

Every suite that produces or checks bodies asks this module, never the project's own
models: ``assert_spec_valid(body)`` is what "the API would take this body" means in tests.

- The spec comes from the shared reference folder (``../shared/reference`` beside the
  clone), falling back to the project's copy only when that folder is absent.
- Formats are checked (``FormatChecker``: date, date-time via rfc3339-validator, email,
  uuid), plus ``url``, which JSON Schema does not define: an absolute http(s) URL as
  docs/model.md states it, written here independently of ``etl.model.formats`` (with
  ``urllib.parse``) so that each can catch the other's mistakes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft7Validator, FormatChecker
from jsonschema.exceptions import ValidationError

REFERENCE_DIR = Path(__file__).resolve().parents[2] / "shared" / "reference"
PROJECT_SPEC = Path(__file__).resolve().parents[1] / "etl" / "model" / "aviv-classified-api-v4.json"
EXAMPLE_PATH = REFERENCE_DIR / "aviv-v4-example.json"

_HOST_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~%!$&'()*+,;=-")


def spec_path() -> Path:
    official = REFERENCE_DIR / "aviv-classified-api-v4.json"
    return official if official.is_file() else PROJECT_SPEC


@cache
def spec() -> dict[str, Any]:
    return json.loads(spec_path().read_text(encoding="utf-8"))


def is_url(value: object) -> bool:
    """The project's ``url`` format: ``http(s)://host[:port][/…|?…|#…]``, see docs/model.md."""
    if not isinstance(value, str):
        return True  # formats only constrain strings
    if any(c.isspace() or c < " " or c == "\x7f" for c in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    if (
        parts.scheme.lower() not in ("http", "https")
        or value[len(parts.scheme) : len(parts.scheme) + 3] != "://"
    ):
        return False
    host, colon, port = parts.netloc.partition(":")
    if not host or not set(host) <= _HOST_CHARS:
        return False
    return not colon or (1 <= len(port) <= 5 and port.isascii() and port.isdigit())


def format_checker() -> FormatChecker:
    checker = FormatChecker()
    if "date-time" not in checker.checkers:
        raise RuntimeError("jsonschema cannot check date-time: install rfc3339-validator")
    checker.checks("url")(is_url)
    return checker


@cache
def spec_schema(name: str) -> Draft7Validator:
    """A validator for ``components.schemas.<name>`` (e.g. ``ErrorResponse``)."""
    components = spec()["components"]
    if name not in components["schemas"]:
        raise KeyError(f"no schema {name!r} in the AVIV spec")
    root = {"$ref": f"#/components/schemas/{name}", "components": components}
    Draft7Validator.check_schema(root)
    return Draft7Validator(root, format_checker=format_checker())


def spec_validator() -> Draft7Validator:
    """The validator of the request body, ``components.schemas.AvivClassified``."""
    return spec_schema("AvivClassified")


def spec_errors(body: Any, name: str = "AvivClassified") -> list[str]:
    """Each violation as ``"<dotted path>: <message>"``, sorted; ``[]`` when valid."""
    return sorted(f"{path}: {e.message}" for path, e in _leaves(spec_schema(name).iter_errors(body)))


def error_paths(body: Any, name: str = "AvivClassified") -> set[str]:
    """The dotted paths (``media[0].url``) of the values the spec rejects in ``body``.

    A refused or missing key is reported at the key (``data.location.city``), not at
    its object as jsonschema does, and a one-branch ``oneOf`` (media items) at the
    branch's own errors: the same places ``etl.model.check`` reports.
    """
    return {path for path, _ in _leaves(spec_schema(name).iter_errors(body))}


def assert_spec_valid(body: Any, name: str = "AvivClassified") -> None:
    errors = spec_errors(body, name)
    if errors:
        raise AssertionError(f"{len(errors)} spec violation(s):\n  " + "\n  ".join(errors))


def example_body() -> dict[str, Any]:
    """A fresh copy of the reference example (valid)."""
    return json.loads(EXAMPLE_PATH.read_text(encoding="utf-8"))


def _leaves(errors: Iterable[ValidationError]) -> Iterator[tuple[str, ValidationError]]:
    for e in errors:
        if e.validator in ("oneOf", "anyOf") and len(e.validator_value) == 1 and e.context:
            yield from _leaves(e.context)
        elif e.validator == "additionalProperties" and isinstance(e.instance, dict):
            declared = e.schema.get("properties", {})
            for key in e.instance:
                if key not in declared:
                    yield _dotted([*e.absolute_path, key]), e
        elif e.validator == "required" and isinstance(e.instance, dict):
            for key in e.validator_value:
                if key not in e.instance:
                    yield _dotted([*e.absolute_path, key]), e
        else:
            yield _dotted(e.absolute_path), e


def _dotted(path: Any) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
