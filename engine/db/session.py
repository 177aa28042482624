"""Engine and session factories. Nothing here is global: callers keep what these return."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, *, pool_size: int = 5, echo: bool = False) -> Engine:
    return create_engine(url, pool_size=pool_size, max_overflow=10, pool_pre_ping=True, echo=echo)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: web views render objects after committing.
    return sessionmaker(bind=engine, expire_on_commit=False)
