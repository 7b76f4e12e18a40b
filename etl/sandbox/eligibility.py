"""Where the sandbox publishes a classified: our own portal rules, then the intermediary's contract.

The one place the sandbox meets ``etl.validate``: the rules the converter applies
before sending are the rules the sandbox applies after receiving, so a rehearsal
against the sandbox shows what AVIV is expected to do. Quotas are applied later,
at processing time, by the engine (they depend on what is already published).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from etl.validate import PORTALS, PortalRules, evaluate


@dataclass(slots=True)
class Eligibility:
    portals: list[str]  # requested ∩ contract ∩ eligible, in spec order
    # Why each refused portal is refused ("*": the classified as a whole).
    refused: dict[str, list[str]] = field(default_factory=dict)


class EligibilityRules:
    """PortalRules per contract, built once (the rules are compiled per instance)."""

    def __init__(self, overrides: Mapping[str, Any]) -> None:
        self._overrides = dict(overrides)
        self._by_contract: dict[tuple[str, ...], PortalRules] = {}
        # Fail at start-up, not at the first classified, on a bad portal_rules section.
        self.rules_for(PORTALS)

    def rules_for(self, contract_portals: Sequence[str]) -> PortalRules:
        key = tuple(contract_portals)
        rules = self._by_contract.get(key)
        if rules is None:
            # No default portals: an empty request is an error on AVIV's side (use-case page).
            rules = PortalRules(**{**self._overrides, "contract_portals": list(key), "default_portals": []})
            self._by_contract[key] = rules
        return rules

    def assess(self, body: Mapping[str, Any], contract_portals: Sequence[str]) -> Eligibility:
        requested = body.get("portals") or []
        if not requested:
            return Eligibility([], {"*": ["At least one portal must be requested (empty 'portals')."]})
        verdict = evaluate(body, requested, self.rules_for(contract_portals))
        refused: dict[str, list[str]] = {}
        for issue in verdict.issues:
            refused.setdefault(issue.portal or "*", []).append(f"{issue.code}: {issue.message}")
        return Eligibility(list(verdict.portals), refused)
