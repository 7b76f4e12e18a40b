"""Publication statuses as AVIV reports them: which call for the integrator, and the latest of a history."""

from __future__ import annotations

from typing import Any

# Statuses after which the integrator must act (fix and PUT again, or call support).
ACTION_REQUIRED = {"CREATED_WITH_MEDIA_ERROR", "UPDATED_WITH_MEDIA_ERROR", "CREATING_FAILED", "UPDATING_FAILED",
                   "DELETING_FAILED", "RECEIVING_FAILED"}


def latest_status(body: Any) -> dict[str, Any] | None:
    items = body.get("items") if isinstance(body, dict) else None
    if not items:
        return None
    return max(items, key=lambda i: (i.get("revision") or 0, i.get("statusDate") or ""))
