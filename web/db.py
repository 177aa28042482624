"""One SQLAlchemy session per request; views commit explicitly, teardown closes (and rolls back)."""

from __future__ import annotations

from flask import current_app, g
from sqlalchemy.orm import Session

EXTENSION_KEY = "grassroots.sessionmaker"


def db() -> Session:
    if "db_session" not in g:
        g.db_session = current_app.extensions[EXTENSION_KEY]()
    return g.db_session


def close_session(exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
