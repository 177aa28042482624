"""Alembic environment: the URL comes from the caller (engine.db.migrate) or DATABASE_URL."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import engine_from_config, pool

from engine.db.embedded import normalise_url
from engine.db.models import Base

config = context.config
target_metadata = Base.metadata

url = config.get_main_option("sqlalchemy.url") or normalise_url(os.environ["DATABASE_URL"])


def run_migrations_online() -> None:
    connectable = engine_from_config({"sqlalchemy.url": url}, prefix="sqlalchemy.", poolclass=pool.NullPool,
                                    hide_parameters=True)  # no values in error messages
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
