"""Engine and session factories. Nothing here is global: callers keep what these return."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, *, pool_size: int = 5, echo: bool = False) -> Engine:
    return create_engine(url, pool_size=pool_size, max_overflow=10, pool_pre_ping=True, echo=echo)


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
