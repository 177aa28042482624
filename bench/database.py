"""The benchmark's own database: a fresh sibling on the server of the given URL, never the demo or test DB."""

from __future__ import annotations

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
