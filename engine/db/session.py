"""Engine and session factories. Nothing here is global: callers keep what these return."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import Any

import psycopg
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from engine.db.lazy_description import LazyDescriptionCursor

# A pooled connection unused for longer than this is pinged before it is handed out.
IDLE_PING_SECONDS = 10.0


def make_engine(url: str, *, pool_size: int = 5, echo: bool = False,
                idle_ping_seconds: float = IDLE_PING_SECONDS) -> Engine:
    # hide_parameters: an error message must not carry a statement's values (a password hash, a
    # personal field) into a terminal, a log or a bug report
    engine = create_engine(url, pool_size=pool_size, max_overflow=10, echo=echo, hide_parameters=True)
    _ping_after_idle(engine, idle_ping_seconds)
    event.listen(engine, "connect", _describe_lazily)
    return engine


def _describe_lazily(dbapi_connection: Any, record: Any) -> None:
    if isinstance(dbapi_connection, psycopg.Connection):
        dbapi_connection.cursor_factory = LazyDescriptionCursor


def _ping_after_idle(engine: Engine, seconds: float) -> None:
    """Ping a pooled connection before use only when it has been idle: a connection from a restarted
    or restarting server is replaced (the pool tries a fresh one, up to three times) instead of failing
    the request. SQLAlchemy's ``pool_pre_ping`` pings on every checkout: a round trip per request, ~2.5 %
    of a worker's CPU per HTTP submit, for connections a busy server used milliseconds ago."""

    @event.listens_for(engine, "checkin")
    def idle_from(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_from"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def ping_when_idle(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        idle_from = record.info.get("idle_from")
        if idle_from is None or time.monotonic() - idle_from < seconds:
            return  # new, or just used
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as err:
            raise DisconnectionError(f"pooled connection lost while idle: {err}") from err


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: web views render objects after committing.
    return sessionmaker(bind=engine, expire_on_commit=False)


class DatabaseAccess:
    """An engine, a sessionmaker and a committing ``session()`` for an object that has a ``url``.

    Shared by the command-line runtime and the benchmark, which both open the database from a URL.
    """

    url: str

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.url)

    @cached_property
    def sessionmaker(self) -> sessionmaker[Session]:
        return make_sessionmaker(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose work is committed when the block ends without an error."""
        with self.sessionmaker() as s, s.begin():
            yield s
