"""Shared fixtures: a real PostgreSQL (embedded, or the server in DATABASE_URL), the web app, Chromium.

The test database is created fresh for each run and migrated with Alembic, exactly like production.
Each test that touches the database starts from empty tables (TRUNCATE after the test), so tests can
commit for real and exercise concurrency.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from engine.db.embedded import drop_database, ensure_database, normalise_url, start_embedded
from engine.db.migrate import upgrade
from engine.db.models import Base
from engine.db.session import make_engine, make_sessionmaker

ROOT = Path(__file__).resolve().parents[1]
# One database per test run: parallel runs (several developers, CI) on one server never collide.
TEST_DB_PREFIX = "grassroots_test_"
TEST_DB = f"{TEST_DB_PREFIX}{os.getpid()}"
PASSWORD = "test-password-1"

# Role fixtures: username -> (role, org code) in the sample province 39.
ROLE_USERS: dict[str, tuple[str, str]] = {
    "clerk_xikou": ("village_clerk", "390121101201"),
    "clerk_shangjie": ("village_clerk", "390121101202"),
    "clerk_baishi": ("village_clerk", "390121201201"),
    "rev_yunxi": ("township_reviewer", "390121101000"),
    "rev_baishi": ("township_reviewer", "390121201000"),
    "rev_county": ("county_reviewer", "390121000000"),
    "dept_county": ("county_department", "390121000000"),
    "rev_other_county": ("county_reviewer", "390281000000"),
    "admin": ("province_admin", "390000000000"),
    "viewer": ("department_viewer", "390000000000"),
}


def _drop_stale_test_databases(admin: str) -> None:
    """Databases left by test runs whose process is gone (killed runs cannot clean up)."""
    import psycopg

    with psycopg.connect(admin, autocommit=True) as conn:
        names = [r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s",
                                            (TEST_DB_PREFIX + "%",))]
    for name in names:
        pid = name.removeprefix(TEST_DB_PREFIX)
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            drop_database(admin, name)


def _server_urls() -> tuple[str, str] | None:
    """(admin URL, test database URL) on the configured or embedded server; None for TEST_DATABASE_URL."""
    if os.environ.get("TEST_DATABASE_URL"):
        return None
    base = os.environ.get("DATABASE_URL")
    # Never the configured database itself: a sibling database on the same server.
    url = make_url(normalise_url(base) if base else start_embedded(ROOT / "instance" / "test-pgdata", "postgres"))
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return admin, url.set(database=TEST_DB).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    urls = _server_urls()
    if urls is None:
        url = normalise_url(os.environ["TEST_DATABASE_URL"])
        upgrade(url)
        yield url
        return
    admin, url = urls
    _drop_stale_test_databases(admin)
    ensure_database(admin, TEST_DB)
    upgrade(url)
    yield url
    drop_database(admin, TEST_DB)


@pytest.fixture
def migration_db(database_url: str) -> Iterator[str]:
    """A database of its own, migrated to head, for tests that move the schema down and up again (the
    shared test database stays at head)."""
    url = make_url(database_url)
    name = f"grassroots_migtest_{os.getpid()}"
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    ensure_database(admin, name)
    own = url.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(own)
        yield own
    finally:
        drop_database(admin, name)


@pytest.fixture(scope="session")
def db_engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url, pool_size=10)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def session_factory(db_engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(db_engine)


def _truncate_all(engine: Engine) -> None:
    names = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
def clean_db(db_engine: Engine) -> Iterator[None]:
    yield
    _truncate_all(db_engine)


@pytest.fixture
def db(session_factory: sessionmaker[Session], clean_db: None) -> Iterator[Session]:
    with session_factory() as session:
        yield session


@pytest.fixture
def sample_province(db: Session) -> Session:
    from engine.orgs import load_sample_province

    load_sample_province(db)
    db.commit()
    return db


@pytest.fixture
def role_users(sample_province: Session) -> dict[str, int]:
    """One user per role fixture, all with password PASSWORD; returns username -> user id."""
    from engine.auth import create_user

    ids = {}
    for username, (role, org) in ROLE_USERS.items():
        ids[username] = create_user(sample_province, username, PASSWORD, roles=[(role, org)]).id
    sample_province.commit()
    return ids


@pytest.fixture
def settings(tmp_path: Path):
    from web.settings import Settings

    return Settings(
        instance_path=tmp_path,
        secret_key="test-secret-key",
        port=0,
        secure_cookies=False,
        definitions_path=ROOT / "definitions",
    )


def _app(settings, session_factory: sessionmaker[Session], config: dict) -> Iterator[Flask]:
    from web.app import create_app
    from web.db import USE_LOG_KEY

    app = create_app(settings, session_factory, config={"TESTING": True, **config})
    yield app
    # the token uses still noted are written now, before the tables are emptied, not into the next test
    app.extensions[USE_LOG_KEY].flush()


@pytest.fixture
def app(settings, session_factory: sessionmaker[Session], clean_db: None):
    yield from _app(settings, session_factory, {})


@pytest.fixture
def csrf_off_app(settings, session_factory: sessionmaker[Session], clean_db: None):
    """For tests of engine behaviour through HTTP where the CSRF token is not the subject."""
    yield from _app(settings, session_factory, {"WTF_CSRF_ENABLED": False})


@pytest.fixture
def client(app):
    return app.test_client()


def login(client, username: str, password: str = PASSWORD):
    """Log in through the real login form, CSRF token included."""
    import re

    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    data = {"username": username, "password": password}
    if token:
        data["csrf_token"] = token.group(1)
    return client.post("/login", data=data)


# --- browser -----------------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def live_server(app) -> Iterator[str]:
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make test` (it installs Debian's chromium) "
                    "or `apt-get install chromium`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="zh-CN")
    p = context.new_page()
    p.set_default_timeout(10_000)
    yield p
    context.close()


# --- published definitions and a running collection ---------------------------------------------

VALID_V1 = ROOT / "definitions/indicators/village_basic/examples/v1/valid-lingxia-2024.json"


@contextlib.contextmanager
def statements_sent(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements sent while the block runs."""
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def principal_of(db, username: str):
    from sqlalchemy import select

    from engine.auth import principal_for
    from engine.db.models import User

    return principal_for(db.scalar(select(User).where(User.username == username)))


@pytest.fixture
def published(role_users, db):
    """Everything under definitions/ published, as `make demo` does."""
    from engine.publishing import publish_tree

    results = publish_tree(db, ROOT / "definitions")
    db.commit()
    return {(r.kind, r.code, r.version): r.id for r in results}


@pytest.fixture
def collection(published, db):
    """village_basic v1 on village_report v1 over 云溪县 (10 villages)."""
    import datetime as dt

    from engine.collections import start_collection

    started = start_collection(
        db, title="2024年村级基本情况年报", period="2024", scope_org_code="390121000000",
        indicator_set_version_id=published[("indicator_set", "village_basic", 1)],
        process_version_id=published[("process", "village_report", 1)],
        opens_on=dt.date(2025, 1, 1), deadline=dt.date(2025, 3, 31),
    )
    db.commit()
    return started.collection


def valid_report() -> dict:
    import json

    return json.loads(VALID_V1.read_text(encoding="utf-8"))
