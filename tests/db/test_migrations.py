"""The Alembic migrations build exactly the schema the models declare (no change without a migration)."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from engine.db.models import Base


def test_models_match_migrations(db_engine):
    with db_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
