"""The benchmark's own database: a fresh sibling on the server of the given URL, never the demo or test DB."""

from __future__ import annotations

import time

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from engine.db.embedded import drop_database, ensure_database, normalise_url
from engine.db.migrate import upgrade

DEFAULT_BENCH_DB = "grassroots_bench"
_PROTECTED = {"grassroots", "grassroots_test", "postgres", "template0", "template1"}


def libpq_url(sqlalchemy_url: str) -> str:
    """The same database as a plain ``postgresql://`` URL for psycopg (keeps the unix-socket ``host``)."""
    return make_url(normalise_url(sqlalchemy_url)).set(drivername="postgresql").render_as_string(hide_password=False)


def _admin_url(any_url: str, target: str) -> str:
    """A connection for CREATE/DROP DATABASE: the given URL's database, or ``postgres`` when that is the target."""
    url = make_url(normalise_url(any_url))
    if url.database in (None, "", target):
        url = url.set(database="postgres")
    return libpq_url(url.render_as_string(hide_password=False))


def fresh_bench_database(server_url: str, name: str = DEFAULT_BENCH_DB) -> str:
    """Drop and re-create ``name`` on ``server_url``'s server, migrate it; returns its SQLAlchemy URL."""
    if name in _PROTECTED:
        raise ValueError(f"refusing to use {name!r} as the benchmark database")
    admin = _admin_url(server_url, name)
    drop_database(admin, name)
    ensure_database(admin, name)
    bench_url = make_url(normalise_url(server_url)).set(database=name).render_as_string(hide_password=False)
    upgrade(bench_url)
    return bench_url


def drop_bench_database(bench_url: str) -> None:
    name = make_url(bench_url).database or ""
    if name in _PROTECTED:
        raise ValueError(f"refusing to drop {name!r}")
    drop_database(_admin_url(bench_url, name), name)


def clone_database(bench_url: str, name: str) -> str:
    """A file copy of the benchmark database as ``name`` (dropped first if left over); returns its URL.

    PostgreSQL copies a database only while nobody is connected to it: the caller closes its own
    connections first. Autovacuum workers are stopped by the server; a clone attempted while one is
    still leaving is tried again."""
    source = make_url(bench_url).database or ""
    if name in _PROTECTED or source in _PROTECTED:
        raise ValueError(f"refusing to clone {source!r} as {name!r}")
    admin = _admin_url(bench_url, name)
    drop_database(admin, name)
    with psycopg.connect(admin, autocommit=True) as conn:
        version = conn.info.server_version
        # FILE_COPY (PostgreSQL 15+): a checkpoint and a copy of the files; the default writes every page to the WAL
        strategy = sql.SQL(" STRATEGY FILE_COPY") if version >= 150000 else sql.SQL("")
        statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(source))
        for attempt in range(5):
            try:
                conn.execute(statement + strategy)
                break
            except psycopg.errors.ObjectInUse:
                if attempt == 4:
                    raise
                time.sleep(1)
    return make_url(bench_url).set(database=name).render_as_string(hide_password=False)


def settle_database(conninfo: str) -> None:
    """``VACUUM (ANALYZE)`` and a ``CHECKPOINT`` (skipped for a role without pg_checkpoint): the
    maintenance a phase's writes leave, done before the next phase is measured (``Bench.settle``)."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
        try:
            conn.execute("CHECKPOINT")
        except psycopg.errors.InsufficientPrivilege:
            pass  # a server's role without pg_checkpoint: the vacuum alone
