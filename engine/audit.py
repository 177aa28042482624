"""Audit trail: who did what to which object, when (one row per action, in the caller's transaction)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine.db.models import AuditEntry


def record(
    session: Session,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: str,
    details: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEntry(actor_id=actor_id, action=action, object_type=object_type, object_id=object_id,
                   details=details or {})
    )
