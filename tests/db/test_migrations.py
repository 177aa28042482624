"""The Alembic migrations build exactly the schema the models declare (no change without a migration)."""

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from engine.db.models import Base


def test_models_match_migrations(db_engine):
    with db_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_reports_are_stored_uncompressed(collection, db):
    """Migration 0005: reports are written as they are, not compressed with pglz (its CPU was the largest
    part of PostgreSQL's work on a submit): a submission's out of line, keeping its row small; a
    revision's inline. A revision row over the target is still compressed."""
    import json

    from sqlalchemy import text

    from engine import submissions
    from tests.conftest import principal_of, valid_report
    from tests.db.test_flow_service import sub_of

    def toast_chunks(table: str) -> int:
        toast = db.scalar(text("SELECT reltoastrelid::regclass::text FROM pg_class WHERE oid = CAST(:t AS regclass)"),
                          {"t": table})
        return db.scalar(text(f"SELECT count(*) FROM {toast}"))

    sub = sub_of(db, collection)
    submissions.submit(db, principal_of(db, "clerk_xikou"), sub.id, valid_report(), revision=sub.revision)
    db.commit()
    stored = db.execute(text(
        "SELECT pg_column_compression(s.data), pg_column_size(s.data), pg_column_compression(r.data),"
        " pg_column_size(r.data)"
        " FROM submissions s JOIN submission_revisions r ON r.submission_id = s.id WHERE s.id = :id"
    ), {"id": sub.id}).one()
    assert stored[1] > 2032 and stored[3] > 2032  # over the size at which PostgreSQL compresses by default
    assert stored[0] is None and stored[2] is None
    assert toast_chunks("submissions") >= 2  # out of line, in ~2 KB chunks
    assert toast_chunks("submission_revisions") == 0  # inline
    big = {**valid_report(), "note": "很长的说明" * 2000}
    db.execute(text("UPDATE submission_revisions SET data = CAST(:d AS jsonb) WHERE submission_id = :id"),
               {"d": json.dumps(big, ensure_ascii=False), "id": sub.id})
    assert db.scalar(text("SELECT pg_column_compression(data) FROM submission_revisions WHERE submission_id = :id"),
                     {"id": sub.id}) == "pglz"
    db.rollback()


def test_report_storage_goes_down_and_up_again(migration_db):
    """Migration 0005 down gives PostgreSQL's defaults back (compressed, inline when it fits); up again
    its own settings. Runs in a database of its own (the shared test database stays at head)."""
    from alembic import command
    from sqlalchemy import text

    from engine.db.migrate import alembic_config
    from engine.db.session import make_engine

    def settings() -> tuple[str, list[str] | None]:
        with engine.connect() as conn:
            return conn.execute(text(
                "SELECT (SELECT attstorage FROM pg_attribute WHERE attrelid = 'submissions'::regclass"
                " AND attname = 'data'),"
                " (SELECT reloptions FROM pg_class WHERE oid = 'submission_revisions'::regclass)"
            )).one()

    engine = make_engine(migration_db)
    try:
        assert tuple(settings()) == ("e", ["toast_tuple_target=8160"])
        command.downgrade(alembic_config(migration_db), "0004")
        assert tuple(settings()) == ("x", None)
        command.upgrade(alembic_config(migration_db), "head")
        assert tuple(settings()) == ("e", ["toast_tuple_target=8160"])
    finally:
        engine.dispose()



@pytest.mark.parametrize(("before", "table", "row"), [
    ("0005", "user_sessions", "INSERT INTO user_sessions (id, user_id) SELECT repeat('a', 64), id FROM users"),
    ("0006", "login_failures", "INSERT INTO login_failures VALUES ('username', 'u', 5, now())"),
])
def test_sign_in_tables_go_down_and_up_again(migration_db, before, table, row):
    """Migrations 0006 (sign-ins) and 0007 (failed sign-ins): each table goes with its revision (and
    those after it), the tables before stay, and it comes back empty (what it held is over: its users
    sign in again, their counts start afresh)."""
    gone = {"0005": {"user_sessions", "login_failures"}, "0006": {"login_failures"}}[before]
    from alembic import command
    from sqlalchemy import text

    from engine.db.migrate import alembic_config
    from engine.db.session import make_engine

    def tables() -> set[str]:
        with engine.connect() as conn:
            return set(conn.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")))

    engine = make_engine(migration_db)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO users (username, display_name, password_hash, active)"
                              " VALUES ('u', 'u', 'x', true)"))
            conn.execute(text(row))
        at_head = tables()
        command.downgrade(alembic_config(migration_db), before)
        assert table in gone and at_head - tables() == gone
        command.upgrade(alembic_config(migration_db), "head")
        assert tables() == at_head
        with engine.connect() as conn:
            assert conn.scalar(text(f"SELECT count(*) FROM {table}")) == 0
    finally:
        engine.dispose()


def test_tokens_from_before_expiry_get_a_year_from_the_upgrade(migration_db):
    """Migration 0008: a token issued before tokens expired keeps working for the default validity counted
    from the upgrade (not from its issue, which could end it on the spot); down again, no expiry."""
    from alembic import command
    from sqlalchemy import text

    from engine.db.migrate import alembic_config
    from engine.db.session import make_engine

    def column() -> tuple[str, str] | None:
        with engine.connect() as conn:
            return conn.execute(text("SELECT data_type, is_nullable FROM information_schema.columns"
                                     " WHERE table_name = 'api_tokens' AND column_name = 'expires_at'")).first()

    engine = make_engine(migration_db)
    try:
        command.downgrade(alembic_config(migration_db), "0007")
        assert column() is None
        with engine.begin() as conn:  # 0007's shape: a token issued two years ago, no expiry
            conn.execute(text("INSERT INTO users (username, display_name, password_hash, active)"
                              " VALUES ('u', 'u', 'x', true)"))
            conn.execute(text("INSERT INTO api_tokens (user_id, name, token_hash, created_at)"
                              " SELECT id, 'old', repeat('c', 64), now() - interval '2 years' FROM users"))
        command.upgrade(alembic_config(migration_db), "head")
        assert tuple(column()) == ("timestamp with time zone", "NO")
        with engine.connect() as conn:
            left = conn.scalar(text("SELECT expires_at - now() FROM api_tokens"))
        assert abs(left - dt.timedelta(days=365)) < dt.timedelta(minutes=1)
        command.downgrade(alembic_config(migration_db), "0007")
        assert column() is None
    finally:
        engine.dispose()
