"""Embedded PostgreSQL for machines with nothing installed.

When ``DATABASE_URL`` is unset the program runs its own PostgreSQL (PyPI ``pgserver``, whose wheels
carry the server binaries) with its data directory inside the instance folder, so stopping and
starting again keeps all data. The server stops when the last process using it exits.
"""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
from psycopg import sql

DEFAULT_DB_NAME = "grassroots"


def database_url(instance_path: Path, *, db_name: str = DEFAULT_DB_NAME, pgdata_name: str = "pgdata") -> str:
    """The SQLAlchemy URL to use: ``DATABASE_URL`` when set, else an embedded server's database."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return normalise_url(url)
    return start_embedded(instance_path / pgdata_name, db_name)


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use the psycopg 3 driver for them."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def start_embedded(pgdata: Path, db_name: str) -> str:
    import pgserver  # imported lazily: only the embedded mode needs it

    pgdata.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    _SERVERS.append(server)  # keep a handle for the life of the process
    admin_uri = server.get_uri()
    ensure_database(admin_uri, db_name)
    return normalise_url(server.get_uri(db_name))


def ensure_database(admin_uri: str, db_name: str) -> None:
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db_name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {} ENCODING 'UTF8' TEMPLATE template0").format(sql.Identifier(db_name)))


def drop_database(admin_uri: str, db_name: str) -> None:
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db_name)))


_SERVERS: list[object] = []
