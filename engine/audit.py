"""Audit trail: who did what to which object, when (one row per action, in the caller's transaction)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine.db.batch_writes import Insert, write_together
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


def record_many(
    session: Session,
    actor_id: int | None,
    action: str,
    object_type: str,
    entries: list[tuple[str, dict[str, Any]]],
) -> None:
    """One action on many objects (a bulk submit or approval): (object id, details) each, one INSERT."""
    write_together(session, Insert(AuditEntry.__table__, [
        {"actor_id": actor_id, "action": action, "object_type": object_type, "object_id": object_id,
         "details": details}
        for object_id, details in entries
    ]))
