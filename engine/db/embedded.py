"""Embedded PostgreSQL for machines with nothing installed.

When ``DATABASE_URL`` is unset the program runs its own PostgreSQL (PyPI ``pgserver``, whose wheels
carry the server binaries) with its data directory inside the instance folder, so stopping and
starting again keeps all data. The server stops when the last process using it exits.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import psycopg
from psycopg import sql

DEFAULT_DB_NAME = "grassroots"
URL_EXAMPLE = "postgresql://用户名:密码@主机:5432/数据库名"


def database_url(instance_path: Path, *, db_name: str = DEFAULT_DB_NAME, pgdata_name: str = "pgdata") -> str:
    """The SQLAlchemy URL to use: ``DATABASE_URL`` when set, else an embedded server's database."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return checked_url(url)
    return start_embedded(instance_path / pgdata_name, db_name)


def checked_url(url: str) -> str:
    """``DATABASE_URL`` normalised, or BadInput saying what is wrong with it (a malformed URL, or another
    database than PostgreSQL through psycopg 3, would otherwise end in a traceback on first use)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from engine.errors import BadInput

    try:
        parsed = make_url(normalise_url(url))
    except ArgumentError:
        raise BadInput(f"环境变量 DATABASE_URL 格式不正确，应形如 {URL_EXAMPLE}") from None
    if (parsed.get_backend_name(), parsed.get_driver_name()) != ("postgresql", "psycopg"):
        raise BadInput(f"环境变量 DATABASE_URL 只能指向 PostgreSQL（{URL_EXAMPLE}），"
                       f"不支持 {parsed.drivername}://；不设置它则使用内置数据库") from None
    return normalise_url(url)


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use the psycopg 3 driver for them."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def start_embedded(pgdata: Path, db_name: str) -> str:
    pgdata.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # pgserver asks platformdirs for a runtime folder, which warns on every command where
        # XDG_RUNTIME_DIR is unset (cron, systemd services, containers) and falls back to /tmp: two
        # lines of noise per tick, about nothing the operator must do
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        import pgserver  # imported lazily: only the embedded mode needs it

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
