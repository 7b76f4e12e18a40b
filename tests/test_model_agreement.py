"""The model and the spec oracle agree on bodies neither side has seen.

Bodies are drawn from the raw spec (not from our generated types), with every key any
``allOf`` branch declares — so the traps where a sibling branch refuses a key are drawn
too — near-limit lengths and numbers, good and bad formats, and now and then a value of
the wrong JSON type. For each body: the model accepts exactly when the oracle accepts, and
every path the model blames is one the oracle blames.

Not drawn: the inputs where the model is stricter than the oracle on purpose (a media
title that spans lines or is only U+FEFF, an e-mail without a domain; docs/model.md).
"""

from __future__ import annotations

import string
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import orjson
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from oracle import error_paths, example_body, spec

from etl.model.check import check_body

SCHEMAS = spec()["components"]["schemas"]
MAX_DEPTH = 6

JSON_OF_ANOTHER_TYPE = st.sampled_from([None, True, 0, 1.5, "x", "", [], {}, ["SL"], {"fr": "x"}])
SAFE_TEXT = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",), blacklist_characters="\n\r\u2028\u2029\x1c\x1d\x1e\x1f\ufeff"
    ),
    max_size=6,
)


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = spec()
        for part in node["$ref"][2:].split("/"):
            target = target[int(part)] if isinstance(target, list) else target[part]
        node = target
    return node


def branches(node: dict[str, Any]) -> list[dict[str, Any]]:
    """The node and every allOf/oneOf branch under it, resolved."""
    node = resolve(node)
    out = [node]
    for sub in [*node.get("allOf", []), *node.get("oneOf", [])]:
        out.extend(branches(sub))
    return out


def merged(node: dict[str, Any]) -> dict[str, Any]:
    """What to draw from: the first type, the union of properties, required and enums."""
    parts = branches(node)
    info: dict[str, Any] = {"properties": {}, "required": set()}
    for part in parts:
        for key, value in part.items():
            if key == "properties":
                for name, sub in value.items():
                    info["properties"].setdefault(name, []).append(sub)
            elif key == "required":
                info["required"].update(value)
            elif key not in ("allOf", "oneOf", "description", "example"):
                info.setdefault(key, value)
    return info


def noisy(clean: st.SearchStrategy[Any], noise: int) -> st.SearchStrategy[Any]:
    """Mostly ``clean``; with noise, now and then a value of another JSON type."""
    if noise == 0:
        return clean
    # one_of picks branches evenly: repeating `clean` sets the odds (1 in 9, or 1 in 31).
    return st.one_of(*([clean] * (8 if noise > 1 else 30)), JSON_OF_ANOTHER_TYPE)


def strings(info: dict[str, Any], noise: int) -> st.SearchStrategy[Any]:
    if "enum" in info:
        choice = st.sampled_from(info["enum"])
        if noise:
            return st.one_of(choice, choice, choice, st.sampled_from(["LI", "FR", "fr", "STUDIO", "x"]))
        return choice
    fmt = info.get("format")
    if fmt == "date":
        good = st.dates(min_value=date(1, 1, 1)).map(date.isoformat)
        bad = st.sampled_from(
            ["2025-02-29", "2025-06-31", "2025-9-1", "2025-09-01T00:00:00Z", "01/09/2025", ""]
        )
        return st.one_of(good, good, good, bad) if noise else good
    if fmt == "date-time":
        zones = st.sampled_from(
            [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))]
        )
        moments = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=zones)
        good = st.one_of(
            moments.map(lambda d: d.isoformat()),
            moments.map(lambda d: d.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")),
            moments.map(lambda d: d.astimezone(UTC).strftime("%Y-%m-%dt%H:%M:%S.%fz")),
        )
        bad = st.sampled_from(
            [
                "2025-09-01",
                "2025-09-01T10:00:00",
                "2025-09-01 10:00:00Z",
                "2025-09-01T25:00:00Z",
                "2025-02-30T10:00:00+01:00",
            ]
        )
        return st.one_of(good, good, good, bad) if noise else good
    if fmt == "url":
        hosts = st.sampled_from(
            ["media.example-agency.fr", "a.fr", "xn--caf-dma.fr", "localhost:8080", "1.2.3.4"]
        )
        paths = st.text(alphabet=string.ascii_letters + string.digits + "/?#=&.-_%éà", max_size=12)
        schemes = st.sampled_from(["https://", "http://", "HTTPS://"])
        good = st.builds(lambda s, h, p: s + h + ("/" + p if p else ""), schemes, hosts, paths)
        bad = st.sampled_from(
            [
                "/biens/1.jpg",
                "ftp://a.fr/1.jpg",
                "https://a.fr/1 2.jpg",
                "https://",
                "https://u:p@a.fr/",
                "https://[::1]/x",
                "https://é.fr/",
                "https://a.fr:123456/",
                "www.a.fr/1.jpg",
            ]
        )
        return st.one_of(good, good, good, bad) if noise else good
    if fmt == "email":
        good = st.sampled_from(["contact@agence.fr", "a.b+c@example.co.uk"])
        return st.one_of(good, st.sampled_from(["contact-agence.fr", "x"])) if noise else good
    if fmt == "uuid":
        good = st.uuids().map(str)
        return st.one_of(good, st.just("not-a-uuid")) if noise else good
    if "pattern" in info:  # MediaTitle
        good = SAFE_TEXT.filter(lambda s: s.strip() != "" and not s.isspace())
        return st.one_of(good, good, st.sampled_from(["", " ", "\t", "\u00a0", "\u3000 "])) if noise else good
    limit = info.get("maxLength")
    if limit is not None:
        sizes = st.integers(max(0, limit - 2), limit + (2 if noise else 0))
        return st.one_of(SAFE_TEXT, sizes.map(lambda n: "é" * n))
    return SAFE_TEXT


def numbers(info: dict[str, Any], noise: int) -> st.SearchStrategy[Any]:
    low, high = info.get("minimum"), info.get("maximum")
    edge = [v for v in (low, high) if v is not None]
    around = (
        st.sampled_from([e + d for e in edge for d in ((-1, 0, 1) if noise else (0,))])
        if edge
        else st.nothing()
    )
    lo = low if (low is not None and not noise) else None
    hi = high if (high is not None and not noise) else None
    ints = st.integers(min_value=lo if lo is None else int(lo), max_value=hi if hi is None else int(hi))
    if info["type"] == "integer":
        wholes = ints.filter(lambda n: abs(n) < 2**53).map(float)
        extra = [st.sampled_from([1.5, -0.5, 2.25])] if noise else []
        return st.one_of(ints, around, wholes, *extra)
    floats = st.floats(min_value=lo, max_value=hi, allow_nan=False, allow_infinity=False)
    return st.one_of(ints, floats, around)


def value(node: dict[str, Any], noise: int, depth: int) -> st.SearchStrategy[Any]:
    info = merged(node)
    if "anyOf" in info:
        return noisy(st.one_of([value(b, noise, depth + 1) for b in info["anyOf"]]), noise)
    kind = info.get("type", "object" if info["properties"] else None)
    if kind == "object":
        return noisy(objects(info, noise, depth), noise)
    if kind == "array":
        items = value(info["items"], noise, depth + 1)
        if info.get("uniqueItems"):  # portals: duplicates and six items only with noise
            return st.lists(items, max_size=6 if noise else 5, unique=not noise)
        return noisy(st.lists(items, max_size=3), noise)
    if kind == "string":
        return noisy(strings(info, noise), noise)
    if kind in ("integer", "number"):
        return noisy(numbers(info, noise), noise)
    if kind == "boolean":
        return noisy(st.booleans(), noise)
    raise AssertionError(f"unexpected schema {info}")


def objects(info: dict[str, Any], noise: int, depth: int) -> st.SearchStrategy[dict[str, Any]]:
    props: dict[str, list[dict[str, Any]]] = info["properties"]
    required = sorted(info["required"])
    optional = sorted(k for k in props if k not in info["required"])

    @st.composite
    def draw_object(draw: st.DrawFn) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in required:
            if noise and draw(st.integers(0, 40)) == 0:
                continue  # a missing required key
            out[key] = draw(value(draw(st.sampled_from(props[key])), noise, depth + 1))
        if depth < MAX_DEPTH and optional:
            chosen = draw(st.lists(st.sampled_from(optional), unique=True, max_size=min(3, len(optional))))
            for key in chosen:
                out[key] = draw(value(draw(st.sampled_from(props[key])), noise, depth + 1))
        if noise and draw(st.integers(0, 30)) == 0:
            out[draw(st.sampled_from(["classifiedId", "displayOrder", "FR", "zz", "postalCode"]))] = 1
        return out

    return draw_object()


BODIES = st.integers(0, 2).flatmap(lambda noise: value(SCHEMAS["AvivClassified"], noise, 0))


def agree(body: dict[str, Any]) -> None:
    issues = check_body(body)
    spec_paths = error_paths(body)
    event("accepted" if not spec_paths else "rejected")
    assert (not issues) == (not spec_paths), (issues, spec_paths)
    assert {i.aviv_path for i in issues} <= spec_paths, (issues, spec_paths)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(BODIES)
def test_model_and_oracle_agree_on_bodies_drawn_from_the_spec(body: dict[str, Any]) -> None:
    agree(body)


# Paths into the example where a drawn value replaces the original.
EXAMPLE_SLOTS: list[tuple[tuple[str | int, ...], dict[str, Any]]] = []


def _slots(node: dict[str, Any], path: tuple[str | int, ...], depth: int) -> None:
    info = merged(node)
    EXAMPLE_SLOTS.append((path, node))
    if depth >= 5:
        return
    for key, subs in info["properties"].items():
        _slots(subs[0], (*path, key), depth + 1)
    if info.get("type") == "array" and "properties" in merged(info["items"]):
        _slots(info["items"], (*path, 0), depth + 1)


_slots(SCHEMAS["AvivClassified"], (), 0)
EXAMPLE_SLOTS = [(p, n) for p, n in EXAMPLE_SLOTS if p]


@st.composite
def mutated_examples(draw: st.DrawFn) -> dict[str, Any]:
    body = example_body()
    for _ in range(draw(st.integers(1, 3))):
        path, node = draw(st.sampled_from(EXAMPLE_SLOTS))
        parent: Any = body
        for part in path[:-1]:
            if isinstance(part, int):
                if not isinstance(parent, list) or not parent:
                    break
                parent = parent[part]
            else:
                if not isinstance(parent, dict):
                    break
                parent = parent.setdefault(part, {})
        else:
            last = path[-1]
            if isinstance(parent, dict) and isinstance(last, str):
                if draw(st.integers(0, 5)) == 0:
                    parent.pop(last, None)
                else:
                    parent[last] = draw(value(node, draw(st.integers(0, 2)), len(path)))
    return body


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(mutated_examples())
def test_model_and_oracle_agree_on_mutations_of_the_example(body: dict[str, Any]) -> None:
    agree(body)


def _probe_values(node: dict[str, Any]) -> list[Any]:
    """For one schema: a value at the edge of valid, and values just past it."""
    info = merged(node)
    kind = info.get("type", "object" if info["properties"] or "anyOf" in info else None)
    if kind == "string":
        if "enum" in info:
            return [info["enum"][0], info["enum"][0].lower() + "_", 1]
        fmt = info.get("format")
        samples = {
            "date": ["2024-02-29", "2023-02-29", "2025-09-01T00:00:00Z"],
            "date-time": ["2025-09-01T00:00:00+02:00", "2025-09-01", "2025-09-01T00:00:00"],
            "url": ["https://a.fr/x.jpg?t=1", "/x.jpg", "https://a.fr/x y.jpg"],
            "email": ["contact@agence.fr", "agence.fr"],
            "uuid": ["0b6f6b0e-6c1e-4c59-9b59-1b1c7e8a9a11", "0b6f6b0e"],
        }
        if fmt in samples:
            return samples[fmt]
        if "pattern" in info:
            return ["Séjour", " ", ""]
        if "maxLength" in info:
            return ["é" * info["maxLength"], "é" * (info["maxLength"] + 1), None]
        return ["texte", 1, None]
    if kind in ("integer", "number"):
        low, high = info.get("minimum"), info.get("maximum")
        values: list[Any] = [low if low is not None else 0, True, "1"]
        if low is not None:
            values.append(low - 1)
        if high is not None:
            values += [high, high + 1]
        values.append(2.0 if kind == "integer" else 2.5)
        if kind == "integer":
            values.append(1.5)
        return values
    if kind == "boolean":
        return [False, "true", 0]
    if kind == "array":
        return [[], "x", [None]]
    return [{}, "x", []]


def _probes() -> list[tuple[tuple[str | int, ...], Any]]:
    probes = []
    for path, node in EXAMPLE_SLOTS:
        if (
            len(path) >= 2
            and isinstance(path[-1], str)
            and len(path[-1]) == 2
            and path[-1] not in ("fr", "en", "de", "be", "at", "ch")
        ):
            continue  # one or two language codes tell as much as 184
        probes.extend((path, v) for v in _probe_values(node))
    return probes


def test_model_and_oracle_agree_on_edge_values_at_every_path_of_the_example() -> None:
    disagreements = []
    example = orjson.dumps(example_body())
    for path, new in _probes():
        body = orjson.loads(example)
        parent: Any = body
        for part in path[:-1]:
            if isinstance(part, int):
                parent = parent[part] if isinstance(parent, list) and parent else None
            else:
                parent = parent.setdefault(part, {}) if isinstance(parent, dict) else None
            if parent is None:
                break
        if not isinstance(parent, dict):
            continue
        parent[path[-1]] = new
        issues, spec_paths = check_body(body), error_paths(body)
        if (not issues) != (not spec_paths) or not {i.aviv_path for i in issues} <= spec_paths:
            disagreements.append((path, new, [i.code for i in issues], sorted(spec_paths)))
    assert disagreements == []
