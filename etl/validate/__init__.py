"""Portal rules (AVIV "Manage classifieds" use-case page) → Verdict."""

from etl.validate.portals import evaluate
from etl.validate.settings import PORTAL_LABELS, PORTALS, BdFloor, BdZone, PortalRules
from etl.validate.verdict import Verdict

__all__ = ["PORTALS", "PORTAL_LABELS", "BdFloor", "BdZone", "PortalRules", "Verdict", "evaluate"]
