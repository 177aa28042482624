"""engine/db/session.py on real PostgreSQL: a pooled connection lost while idle is replaced before use,
and one just used is handed out without a ping (a round trip per request otherwise)."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from engine.db.session import make_engine


def _backend_pid(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _terminate(database_url: str, pid: int) -> None:
    libpq = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,)).fetchone()[0]


def test_a_connection_lost_while_idle_is_replaced_before_use(database_url):
    engine = make_engine(database_url, pool_size=1, idle_ping_seconds=0)
    try:
        first = _backend_pid(engine)
        _terminate(database_url, first)  # as a server restart would, while the connection sat in the pool
        assert _backend_pid(engine) != first  # no error: pinged, found dead, replaced
    finally:
        engine.dispose()


def test_a_connection_just_used_is_handed_out_without_a_ping(database_url, monkeypatch):
    engine = make_engine(database_url, pool_size=1, idle_ping_seconds=3600)
    pings: list[object] = []
    monkeypatch.setattr(engine.dialect, "do_ping", lambda conn: pings.append(conn) or True)
    try:
        first = _backend_pid(engine)
        assert _backend_pid(engine) == first and pings == []
        # the other side of the bargain: a connection lost between two busy requests fails one request
        _terminate(database_url, first)
        with pytest.raises(OperationalError):
            _backend_pid(engine)
        assert _backend_pid(engine) != first  # the pool replaced it for the next one
    finally:
        engine.dispose()


def test_a_request_whose_connection_was_lost_gets_a_503_in_chinese_and_the_next_one_works(
        database_url, settings, role_users, db):
    from sqlalchemy import select

    from engine.auth import create_api_token
    from engine.db.models import User
    from engine.db.session import make_sessionmaker
    from web.app import create_app

    token = create_api_token(db, db.scalar(select(User).where(User.username == "viewer")), "test")
    db.commit()
    engine = make_engine(database_url, pool_size=1, idle_ping_seconds=3600)  # no ping: the loss shows
    client = create_app(settings, make_sessionmaker(engine), config={"TESTING": True}).test_client()
    headers = {"Authorization": f"Bearer {token}"}
    try:
        assert client.get("/api/v1/tasks", headers=headers).status_code == 200
        _terminate(database_url, _backend_pid(engine))
        lost = client.get("/api/v1/tasks", headers=headers)
        assert lost.status_code == 503
        assert lost.get_json()["error"]["code"] == "database_unavailable"
        assert "数据库" in lost.get_json()["error"]["message"]
        assert client.get("/api/v1/tasks", headers=headers).status_code == 200
    finally:
        engine.dispose()


def test_the_token_lookups_connection_goes_back_to_the_pool_as_it_came(database_url, settings):
    """web.db.driver_autocommit: autocommit while the lookup runs (no transaction begun), off again in the
    pool; a refused statement is SQLAlchemy's error and leaves the connection in the pool, usable."""
    from psycopg.pq import TransactionStatus
    from sqlalchemy.exc import ProgrammingError

    from engine.db.session import make_sessionmaker
    from web.app import create_app
    from web.db import driver_autocommit

    engine = make_engine(database_url, pool_size=1)
    app = create_app(settings, make_sessionmaker(engine), config={"TESTING": True})
    try:
        with app.app_context():
            with driver_autocommit() as connection:
                assert connection.autocommit
                assert connection.execute("SELECT 1").fetchone() == (1,)
                assert connection.info.transaction_status == TransactionStatus.IDLE
            with engine.connect() as again:
                assert again.connection.driver_connection is connection and not connection.autocommit
            with pytest.raises(ProgrammingError) as refused, driver_autocommit() as same:
                same.execute("SELEC 1")
            assert same is connection and not refused.value.connection_invalidated
            with engine.connect() as again:
                assert again.connection.driver_connection is connection and not connection.autocommit
                assert again.execute(text("SELECT 2")).scalar_one() == 2
    finally:
        engine.dispose()
