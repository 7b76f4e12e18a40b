"""Output folders: created when missing, refused with a clear message when unusable, cleaned of
the previous run's own files when reused, and pruned to a retention count."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import orjson
from etl.errors import OutputDirError

# Files a run writes whatever its agencies; per-agency files are found in the previous summary.json.
FIXED_NAMES = ("summary.json", "rejections.csv", "report.html", "report.xlsx", "load.json")
RUN_DIR = re.compile(r"^(run|plan|status)-\d{8}-\d{6}(-\d+)?$")
NIGHT_DIR = re.compile(r"^night-\d{8}T\d{6}Z$")


def prepare_out_dir(path: Path) -> Path:
    """Create ``path`` if needed and check a file can be written in it."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-check-"):
            pass
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise OutputDirError(f"dossier de sortie inutilisable : {path} ({reason}) ; "
                             f"indiquez un dossier où l'on peut écrire avec --out") from None
    return path


def _safe_name(name: object) -> str | None:
    # Only plain file names, never a path out of the folder.
    if isinstance(name, str) and name and "/" not in name and "\\" not in name and name not in (".", ".."):
        return name
    return None


def previous_files(path: Path) -> list[Path]:
    """The files the previous run wrote into ``path`` (from its summary.json), plus the fixed names."""
    names = set(FIXED_NAMES)
    try:
        data = orjson.loads((path / "summary.json").read_bytes())
    except (OSError, orjson.JSONDecodeError):
        data = None
    if isinstance(data, dict) and data.get("format") == "classifieds-etl/summary":
        names.update(n for n in map(_safe_name, (data.get("reports") or {}).values()) if n)
        for a in (data.get("agencies") or {}).values():
            if isinstance(a, dict):
                names.update(n for n in map(_safe_name, (a.get("reports") or {}).values()) if n)
    return [path / n for n in sorted(names) if (path / n).is_file()]


def clean_previous(path: Path, *, keep: tuple[str, ...] = ()) -> int:
    """Remove the previous run's reports from a reused folder; returns how many files went."""
    n = 0
    for f in previous_files(path):
        if f.name in keep:
            continue
        f.unlink(missing_ok=True)
        n += 1
    return n


def prune_runs(reports_dir: Path, keep: int) -> list[Path]:
    """Keep the ``keep`` newest run-*/plan-*/status-* folders of ``reports_dir``; remove the others."""
    try:
        runs = sorted((p for p in reports_dir.iterdir() if p.is_dir() and RUN_DIR.match(p.name)),
                      key=lambda p: (p.name.split("-", 1)[1], p.name))
    except OSError:
        return []
    gone = runs[:-keep] if keep > 0 else runs
    for p in gone:
        shutil.rmtree(p, ignore_errors=True)
    return gone


def prune_nights(reports_dir: Path, keep: int, current: str) -> list[Path]:
    """Keep the ``keep`` newest night-* folders of queued nights (and ``current``, the one being
    written, whatever its age); remove the others."""
    try:
        nights = sorted(p for p in reports_dir.iterdir() if p.is_dir() and NIGHT_DIR.match(p.name))
    except OSError:
        return []
    gone = [p for p in (nights[:-keep] if keep > 0 else nights) if p.name != current]
    for p in gone:
        shutil.rmtree(p, ignore_errors=True)
    return gone
