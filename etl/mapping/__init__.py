"""Declarative mappings: ``mappings/*.yaml`` → compiled callables → AVIV bodies."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from etl.mapping import builders as _builders  # noqa: F401  (registers the builders)
from etl.mapping.engine import CompiledMapping, FeedContext, Mapped, MappingError
from etl.mapping.spec import MappingSpec
from etl.yaml_config import load_yaml_model

MAPPINGS_DIR = Path(__file__).resolve().parents[2] / "mappings"

__all__ = ["CompiledMapping", "FeedContext", "Mapped", "MappingError", "MappingSpec", "load_mapping",
           "resolve_mapping"]


def resolve_mapping(name_or_path: str | Path) -> Path:
    """A mapping is named (``poliris`` → ``mappings/poliris.yaml``) or given by path."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return path
    return MAPPINGS_DIR / f"{name_or_path}.yaml"


@lru_cache(maxsize=32)
def _load(path: str, mtime: float) -> MappingSpec:
    spec = load_yaml_model(path, MappingSpec)
    if spec.extends is None:
        return spec
    base_path = Path(path).parent / spec.extends
    base = load_mapping(base_path if base_path.suffix in (".yaml", ".yml") else spec.extends)
    merged = {**base.model_dump(by_alias=True, exclude_unset=True),
              **spec.model_dump(by_alias=True, exclude_unset=True), "extends": None}
    return MappingSpec.model_validate(merged)


def load_mapping(name_or_path: str | Path) -> MappingSpec:
    path = resolve_mapping(name_or_path)
    try:
        mtime = path.stat().st_mtime
    except OSError:
        mtime = 0.0
    return _load(str(path), mtime)
