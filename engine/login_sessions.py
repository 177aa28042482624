"""Browser sign-ins that can end before they expire: at logout, and at a password change.

The session cookie is signed, not stored, so a copy of it kept working for its whole lifetime whatever
the user did. Each sign-in now puts a random id in the cookie and a row keyed by its digest in
``user_sessions``: a request is signed in while the row is there. Logout deletes that row; a password
change or deactivation deletes all of the user's. The row is read with the user it belongs to (one
join), so a signed-in request reads nothing more than it did. Only the digest is stored: a database
dump, even with the signing key, names no live session.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from engine.db.models import User, UserSession

LIFETIME = dt.timedelta(hours=8)  # also the cookie's (web.auth), checked here too


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start_session(session: Session, user: User) -> str:
    """Record a sign-in; returns the id for the cookie. Sign-ins past their lifetime (never logged out)
    are cleared on the way (an index on their start)."""
    session.execute(delete(UserSession).where(UserSession.created_at < func.now() - LIFETIME))
    session_id = secrets.token_urlsafe(32)
    session.add(UserSession(id=_digest(session_id), user_id=user.id))
    return session_id


def end_session(session: Session, session_id: str | None) -> None:
    """Logout: the cookie's sign-in is over, for every copy of the cookie."""
    if session_id:
        session.execute(delete(UserSession).where(UserSession.id == _digest(session_id)))


def end_user_sessions(session: Session, user_id: int) -> int:
    """A password change or deactivation: every sign-in of the user is over; returns how many were open."""
    return session.execute(delete(UserSession).where(UserSession.user_id == user_id)).rowcount or 0


def session_user(session: Session, user_id: int, session_id: str) -> User | None:
    """The user of a sign-in still open (the cookie's user and id together), or None."""
    return session.scalar(
        select(User).join(UserSession, UserSession.user_id == User.id).where(
            UserSession.id == _digest(session_id), User.id == user_id,
            UserSession.created_at >= func.now() - LIFETIME,
        )
    )
