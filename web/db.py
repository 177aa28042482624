"""One SQLAlchemy session per request; views commit explicitly, teardown closes (and rolls back)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from flask import current_app, g
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
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
def driver_autocommit() -> Iterator[psycopg.Connection[Any]]:
    """A pooled connection's own psycopg connection in autocommit mode, outside the request's transaction:
    each statement is kept as it runs, in one round trip, and SQLAlchemy's layers are not in the way (the
    token lookup before every API request, engine.auth.principal_for_token).

    Handed back to the pool as it came (autocommit off), or dropped from it when it broke. A database
    error is raised as SQLAlchemy raises it for the rest of the request (a lost connection: 503,
    web.errors)."""
    engine: Engine = current_app.extensions[EXTENSION_KEY].kw["bind"]
    pooled = engine.raw_connection()  # the pool's checkout: a connection idle too long is pinged first
    connection = pooled.driver_connection
    assert isinstance(connection, psycopg.Connection)
    try:
        connection.autocommit = True
        yield connection
    except psycopg.Error as err:
        raise DBAPIError.instance(None, None, err, psycopg.Error, connection_invalidated=connection.broken) from err
    finally:
        try:
            connection.autocommit = False  # as the pool hands it out; refused by a connection that broke
        except psycopg.Error:
            pooled.invalidate()
        pooled.close()
