"""Load a YAML file into a pydantic model, with errors that name the file and line.

Shared by the mapping configs and ``agencies.yaml``: one way to report a bad
configuration (exit code 2), never a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from etl.errors import ConfigError

M = TypeVar("M", bound=BaseModel)
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _line_index(node: yaml.Node, path: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            k = key.value
            out[path + (k,)] = key.start_mark.line + 1
            _line_index(value, path + (k,), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_index(item, path + (i,), out)


def _closest_line(lines: dict[tuple[Any, ...], int], loc: tuple[Any, ...]) -> int | None:
    for n in range(len(loc), -1, -1):
        # pydantic locations may carry union-branch or type tags that are not in the YAML.
        candidate = tuple(p for p in loc[:n])
        if candidate in lines:
            return lines[candidate]
    return None


def parse_yaml_model(text: str, model: type[M], *, source: str) -> M:
    try:
        # One parse gives both the nodes (their marks carry line numbers) and the data; libyaml's
        # parser is ~10x faster than the pure-Python one (a mapping config is ~800 lines).
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{where}: YAML invalide : {problem}") from None
    if data is None:
        raise ConfigError(f"{source}: le fichier est vide")
    lines: dict[tuple[Any, ...], int] = {}
    if node is not None:
        _line_index(node, (), lines)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        messages = []
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            line = _closest_line(lines, loc)
            dotted = ".".join(str(p) for p in loc) or "(racine)"
            where = f"{source}:{line}" if line else source
            messages.append(f"{where}: {dotted}: {err['msg']}")
        raise ConfigError("\n".join(messages)) from None


def load_yaml_model(path: str | Path, model: type[M]) -> M:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: fichier introuvable") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: illisible ({exc.__class__.__name__})") from None
    return parse_yaml_model(text, model, source=str(path))
