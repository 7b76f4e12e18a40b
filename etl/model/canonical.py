"""Canonical JSON of a body, and the content hash that decides whether a PUT is needed.

Canonical form: keys sorted at every level, no whitespace, UTF-8 (no ``\\u`` escapes), arrays
in their given order (media order is display order), and every float with no fractional
part written as an integer, so ``289000.0`` and ``289000`` are the same content.

The hash leaves out the fields a receiver sets (``VOLATILE_PATHS``): a body read back from
the API (or one carrying them by mistake) hashes like the body that was sent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import orjson

__all__ = ["VOLATILE_PATHS", "canonical_json", "content_hash", "payload_and_hash", "without_volatile"]

# Set by AVIV, never by us: the classified id (GET adds it at the root) and the receiver's
# bookkeeping in metaData (spec: "set automatically by the receiver system").
VOLATILE_PATHS: tuple[tuple[str, ...], ...] = (
    ("classifiedId",),
    ("data", "metaData", "classifiedId"),
    ("data", "metaData", "createDate"),
    ("data", "metaData", "changeDate"),
    ("data", "metaData", "portalWebKey"),
    ("data", "metaData", "nbMedias"),
    ("data", "metaData", "changeLog"),
)

# orjson writes a whole float as `289000.0` (shortest form, so never `.00`) or, from 1e16
# up, as `1e+16`. When neither shape occurs the body holds no whole float and the walk below
# is skipped; a text that merely looks like one only costs the walk.
_INT_LIMIT = 2**63  # orjson serialises 64-bit integers
_NUMBER_ENDS = frozenset(b",}]")


def _may_hold_whole_float(raw: bytes) -> bool:
    # A one-byte search is a memchr (~0.3 us for a 2.5 KB body); a longer needle is a Python
    # fastsearch (~3 us). "+" is rare in a body, so "e+" is only looked for behind one.
    if b"+" in raw and b"e+" in raw:
        return True
    at = raw.find(b".0")
    while at != -1:
        if at + 2 < len(raw) and raw[at + 2] in _NUMBER_ENDS:
            return True
        at = raw.find(b".0", at + 2)
    return False


# VOLATILE_PATHS grouped by the object that holds them.
_VOLATILE_BY_PARENT: dict[tuple[str, ...], frozenset[str]] = {}
for _path in VOLATILE_PATHS:
    _VOLATILE_BY_PARENT[_path[:-1]] = _VOLATILE_BY_PARENT.get(_path[:-1], frozenset()) | {_path[-1]}


def canonical_json(body: Mapping[str, Any]) -> bytes:
    """``body`` as canonical JSON bytes (see module doc)."""
    raw = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    if not _may_hold_whole_float(raw):
        return raw
    return orjson.dumps(_whole_floats_as_ints(body), option=orjson.OPT_SORT_KEYS)


def content_hash(body: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of ``body`` without its volatile fields."""
    return hashlib.sha256(canonical_json(without_volatile(body))).hexdigest()


def payload_and_hash(body: Mapping[str, Any]) -> tuple[bytes, str]:
    """``body`` serialised for sending (canonical JSON) and its ``content_hash``.

    A body we built carries no volatile field, so one serialisation serves both: the
    convert hot path pays for one dump instead of two.
    """
    kept = without_volatile(body)
    raw = canonical_json(kept)
    return (raw if kept is body else canonical_json(body)), hashlib.sha256(raw).hexdigest()


def _holds_volatile(body: Mapping[str, Any]) -> bool:
    for parent, keys in _VOLATILE_BY_PARENT.items():
        node: Any = body
        for key in parent:
            node = node.get(key)
            if not isinstance(node, dict):
                break
        else:
            if not keys.isdisjoint(node):
                return True
    return False


def without_volatile(body: Mapping[str, Any]) -> Mapping[str, Any]:
    """``body`` minus ``VOLATILE_PATHS``: ``body`` itself when it has none, otherwise a copy
    of only the objects on the way to one."""
    if not _holds_volatile(body):  # every body convert builds: one loop, no copy, no recursion
        return body
    for parent, keys in _VOLATILE_BY_PARENT.items():
        body = _without_keys(body, parent, keys)
    return body


def _without_keys(
    node: Mapping[str, Any], parent: tuple[str, ...], keys: frozenset[str]
) -> Mapping[str, Any]:
    if not parent:
        if keys.isdisjoint(node):
            return node
        return {k: v for k, v in node.items() if k not in keys}
    child = node.get(parent[0])
    if not isinstance(child, dict):
        return node
    new_child = _without_keys(child, parent[1:], keys)
    return node if new_child is child else {**node, parent[0]: new_child}


def _whole_floats_as_ints(value: Any) -> Any:
    kind = type(value)  # exact types: isinstance against ABCs would dominate the walk
    if kind is float:
        return int(value) if value.is_integer() and abs(value) < _INT_LIMIT else value
    if kind is dict:
        return {k: _whole_floats_as_ints(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [_whole_floats_as_ints(v) for v in value]
    return value
