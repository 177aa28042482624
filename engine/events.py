"""In-transaction events: other parts (roll-ups) react to approvals in the same transaction.

A listener table instead of direct calls keeps the task service free of roll-up details, and keeps
roll-ups current the moment an approval commits. Bulk operations defer events (``deferred``) and
hand them over as one batch, so a listener can merge the work of many approvals (1,500 villages of a
township add up to one update per ancestor row, not 1,500).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


ApprovalListener = Callable[[Session, list[ApprovalChanged]], None]
APPROVAL_LISTENERS: list[ApprovalListener] = []

_BATCH_KEY = "grassroots.deferred_approval_events"


def on_approval_changed(listener: ApprovalListener) -> ApprovalListener:
    """Register ``listener(session, events)``; it always receives a list (one event when not deferred)."""
    if listener not in APPROVAL_LISTENERS:
        APPROVAL_LISTENERS.append(listener)
    return listener


def approval_changed(session: Session, event: ApprovalChanged) -> None:
    batch = session.info.get(_BATCH_KEY)
    if batch is not None:
        batch.append(event)
        return
    _dispatch(session, [event])


@contextmanager
def deferred(session: Session) -> Iterator[None]:
    """Collect approval events raised inside the block and dispatch them together at its end."""
    if _BATCH_KEY in session.info:  # already deferring: the outer block dispatches
        yield
        return
    session.info[_BATCH_KEY] = []
    try:
        yield
        events = session.info[_BATCH_KEY]
    finally:
        pending = session.info.pop(_BATCH_KEY)
    if pending:
        _dispatch(session, events)


def _dispatch(session: Session, events: list[ApprovalChanged]) -> None:
    for listener in APPROVAL_LISTENERS:
        listener(session, events)
