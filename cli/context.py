"""Opening the database for a command: embedded PostgreSQL or DATABASE_URL, migrated."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from engine.db.embedded import database_url
from engine.db.migrate import upgrade
from engine.db.session import make_engine, make_sessionmaker
from web.settings import Settings


@dataclass
class Runtime:
    settings: Settings
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


def open_runtime(*, migrate: bool = True, secure_cookies_default: bool = False) -> Runtime:
    settings = Settings.from_env(secure_cookies_default=secure_cookies_default)
    url = database_url(settings.instance_path)
    if migrate:
        upgrade(url)
    return Runtime(settings, url)
