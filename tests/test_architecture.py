"""The layout holds: stages never import the conductor, and meet only through the shared top-level types."""

from __future__ import annotations

import ast
from pathlib import Path

ETL = Path(__file__).resolve().parents[1] / "etl"
STAGES = ("extract", "mapping", "model", "validate", "report", "load", "sandbox")
# Which other stage each may use, and why. Everything else goes through etl/records.py, outcome.py,
# issues.py, errors.py, agencies.py (shared types and configuration) or through the conductor.
ALLOWED = {
    "extract": set(),
    "mapping": {"validate"},  # the one portal list (validate/settings.py)
    "model": set(),
    "validate": set(),
    "report": set(),
    "load": {"model"},  # the canonical JSON and hash of what is sent
    "sandbox": {"validate"},  # the portal list, for the sandbox's own portal checks
}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {name for name in found if name == "etl" or name.startswith("etl.")}


def _stage_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in (*STAGES, "pipeline") else None


def test_no_stage_imports_the_conductor_or_another_stage_beyond_what_is_allowed() -> None:
    wrong: list[str] = []
    for stage in STAGES:
        for path in sorted((ETL / stage).rglob("*.py")):
            for module in _imports(path):
                target = _stage_of(module)
                if target in (None, stage):
                    continue
                if target == "pipeline" or target not in ALLOWED[stage]:
                    wrong.append(f"{path.relative_to(ETL.parent)} imports {module}")
    assert wrong == []


def test_shared_top_level_modules_import_no_stage() -> None:
    entry_points = {"cli.py", "__main__.py", "demo.py"}  # they wire the commands
    configuration = {"agencies.py": {"validate"}}  # agencies.yaml embeds the portal rules' settings
    wrong = []
    for path in sorted(ETL.glob("*.py")):
        if path.name in entry_points:
            continue
        for module in _imports(path):
            target = _stage_of(module)
            if target is not None and target not in configuration.get(path.name, set()):
                wrong.append(f"{path.name} imports {module}")
    assert wrong == []


def test_the_checker_sees_an_import_hidden_in_a_function(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from etl.pipeline.run import run\n    return run\n", encoding="utf-8")
    assert _imports(module) == {"etl.pipeline.run"}
