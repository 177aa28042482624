"""One SQLAlchemy session per request; views commit explicitly, teardown closes (and rolls back)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import current_app, g
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from engine.auth import record_token_use
from engine.submit_queue import SubmitQueue
from engine.token_use import TokenUseLog

EXTENSION_KEY = "grassroots.sessionmaker"
QUEUE_KEY = "grassroots.submit_queue"
USE_LOG_KEY = "grassroots.token_use_log"


def db() -> Session:
    if "db_session" not in g:
        g.db_session = current_app.extensions[EXTENSION_KEY]()
    return g.db_session


def submit_queue() -> SubmitQueue:
    """The process's submit queue (engine.submit_queue): every submit of a page or the API goes through it."""
    queue: SubmitQueue = current_app.extensions[QUEUE_KEY]
    return queue


def token_use_log() -> TokenUseLog:
    """The process's log of API token uses, stamped once a second (engine.token_use)."""
    log: TokenUseLog = current_app.extensions[USE_LOG_KEY]
    return log


def token_use_writer(session_factory: sessionmaker[Session]) -> Callable[[list[int]], None]:
    def write(ids: list[int]) -> None:
        with session_factory() as session:
            record_token_use(session, ids)
            session.commit()

    return write


def close_session(exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


@contextmanager
def autocommit() -> Iterator[Connection]:
    """A connection outside the request's transaction, each statement committed as it runs (for work
    that must be kept whatever the request does, in one round trip)."""
    engine = db().get_bind()  # the session is the request's own; no transaction is begun by asking
    assert isinstance(engine, Engine)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        yield connection
