"""engine/db/lazy_description.py on real PostgreSQL: the description is psycopg's own, built only when
read, and SQLAlchemy does not read it for a statement it has run before (the reason it is lazy)."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import Integer, String, column, select, table, text
from sqlalchemy.engine import make_url

from engine.db import lazy_description
from engine.db.lazy_description import LazyDescriptionCursor
from engine.db.session import make_engine

WIDE = "SELECT 1 AS id, 'x'::varchar(12) AS name, 2.5::numeric(6, 2) AS share, ARRAY[1, 2] AS ids, now() AS at"


@pytest.fixture
def conn(database_url):
    libpq = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as connection:
        yield connection


def _described(description) -> list[tuple]:
    return [(c.name, c.type_code, c.display_size, c.internal_size, c.precision, c.scale, tuple(c))
            for c in description]


def test_it_describes_a_result_as_psycopg_does(conn):
    expected = _described(conn.cursor().execute(WIDE).description)
    cursor = LazyDescriptionCursor(conn)
    description = cursor.execute(WIDE).description
    assert len(description) == 5
    assert _described(description) == expected
    assert description[1].name == "name" and description[-1].name == "at"
    assert [c.name for c in description[1:3]] == ["name", "share"]


def test_a_description_stays_that_of_its_own_statement(conn):
    cursor = LazyDescriptionCursor(conn)
    description = cursor.execute(WIDE).description
    cursor.execute("SELECT 'other' AS other")  # before a column of the first one was read
    assert [c.name for c in description] == ["id", "name", "share", "ids", "at"]
    assert [c.name for c in cursor.description] == ["other"]


def test_no_rows_no_description_and_an_empty_select_an_empty_one(conn):
    cursor = LazyDescriptionCursor(conn)
    conn.execute("CREATE TEMP TABLE lazy_t (id int)")
    assert cursor.execute("INSERT INTO lazy_t VALUES (1)").description is None
    empty = cursor.execute("SELECT").description
    assert empty is not None and len(empty) == 0 and list(empty) == []
    assert conn.cursor().execute("SELECT").description == []  # psycopg's own answer, for comparison


def test_sqlalchemy_reads_no_column_of_a_statement_it_ran_before(database_url, monkeypatch):
    built: list[int] = []
    real = lazy_description.LazyDescription._built

    def counting(self):
        if self._columns is None:
            built.append(len(self))
        return real(self)

    monkeypatch.setattr(lazy_description.LazyDescription, "_built", counting)
    engine = make_engine(database_url, pool_size=1)
    units = table("org_units", column("code", String), column("level", Integer))
    statements = [select(units.c.code, units.c.level).where(units.c.level == 99),
                  text("SELECT 1 AS one, 'a' AS two").columns(column("one", Integer), column("two", String)),
                  text("SELECT code, level FROM org_units WHERE code = :code")
                  .columns(column("code", String), column("level", Integer)).bindparams(code="none")]
    try:
        with engine.connect() as connection:
            assert isinstance(connection.connection.dbapi_connection.cursor(), LazyDescriptionCursor)
            first = [connection.execute(s).all() for s in statements]
            built_first = len(built)
            again = [connection.execute(s).all() for s in statements]
            assert again == first and first[1] == [(1, "a")]
            assert built_first >= 1  # the first run describes its columns
            assert len(built) == built_first  # later runs use what SQLAlchemy kept with the statement
            # a textual statement without typed columns is described on every run (hence .columns())
            connection.execute(text("SELECT 1 AS x")).all()
            connection.execute(text("SELECT 1 AS x")).all()
            assert len(built) == built_first + 2
    finally:
        engine.dispose()
