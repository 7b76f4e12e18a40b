"""``mapping check``: convert the first rows of a file with a mapping and show, per AVIV field,
how many listings it fills and with what, so a vendor sees at once what a column change did."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from etl.outcome import Outcome

_SAMPLES = 3


def leaves(node: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Dotted AVIV path → value, for every scalar of a body (lists of media counted as one)."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from leaves(v, f"{prefix}.{k}" if prefix else k)
    elif isinstance(node, list) and node and isinstance(node[0], dict):
        yield prefix, f"{len(node)} élément(s)"
    else:
        yield prefix, node


@dataclass
class Coverage:
    read: int = 0
    accepted: int = 0
    filled: Counter[str] = field(default_factory=Counter)
    samples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    problems: Counter[tuple[str, str]] = field(default_factory=Counter)
    examples: dict[tuple[str, str], str] = field(default_factory=dict)

    def add(self, outcome: Outcome) -> None:
        self.read += 1
        if outcome.accepted and outcome.body is not None:
            self.accepted += 1
            for path, value in leaves(outcome.body.get("data", {}), "data"):
                self._fill(path, value)
            if outcome.body.get("media"):
                self._fill("media", f"{len(outcome.body['media'])} photo(s)")
        for issue in outcome.issues:
            key = (issue.code, issue.source_field or issue.aviv_path or "")
            self.problems[key] += 1
            self.examples.setdefault(key, f"{outcome.location} : {issue.message}")

    def _fill(self, path: str, value: Any) -> None:
        if path.startswith("data.metaData"):
            return
        self.filled[path] += 1
        shown = " ".join(str(value).split())[:40]
        if len(self.samples[path]) < _SAMPLES and shown not in self.samples[path]:
            self.samples[path].append(shown)


def report(outcomes: Iterable[Outcome]) -> str:
    cov = Coverage()
    for outcome in outcomes:
        cov.add(outcome)
    lines = [f"{cov.read} annonce(s) converties : {cov.accepted} acceptée(s), {cov.read - cov.accepted} refusée(s).", "",
             f"{'champ AVIV':58} {'rempli':>9}  exemples (annonces acceptées)"]
    for path in sorted(cov.filled):
        lines.append(f"{path:58} {cov.filled[path]:>4}/{cov.accepted:<4}  {', '.join(cov.samples[path])}")
    if cov.problems:
        lines += ["", "problèmes (code, colonne : nombre, premier exemple) :"]
        for (code, where), n in cov.problems.most_common(25):
            lines.append(f"  {code} {where} : {n} — {cov.examples[(code, where)][:160]}")
    return "\n".join(lines)
