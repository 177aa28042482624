"""In-transaction events: other parts (roll-ups) react to approvals in the same transaction.

A listener table instead of direct calls keeps the task service free of roll-up details, and
keeps roll-ups current the moment an approval commits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class ApprovalChanged:
    submission_id: int
    collection_id: int
    org_code: str
    old_level: int | None  # highest org level that had approved (None: not approved)
    new_level: int | None
    final: bool


ApprovalListener = Callable[[Session, ApprovalChanged], None]
APPROVAL_LISTENERS: list[ApprovalListener] = []


def on_approval_changed(listener: ApprovalListener) -> ApprovalListener:
    if listener not in APPROVAL_LISTENERS:
        APPROVAL_LISTENERS.append(listener)
    return listener


def approval_changed(session: Session, event: ApprovalChanged) -> None:
    for listener in APPROVAL_LISTENERS:
        listener(session, event)
