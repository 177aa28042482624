"""Migration 0004: an indicator set's content hash covers its key order (the order of its fields and
sections). Stored versions get the new hash from their stored content, and down again the old one.

Runs in a database of its own (the shared test database stays at head)."""

import hashlib
import json

from alembic import command
from sqlalchemy import text

from engine.db.migrate import alembic_config
from engine.db.session import make_engine, make_sessionmaker
from engine.definitions import content_hash
from engine.publishing import publish_tree
from tests.conftest import ROOT


def _hashes(engine) -> dict[int, tuple[str, dict]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, content_hash, content::text FROM indicator_set_versions")).all()
    return {i: (h, json.loads(content)) for i, h, content in rows}


def test_stored_hashes_follow_the_key_order_up_and_down(migration_db):
    engine = make_engine(migration_db)
    factory = make_sessionmaker(engine)
    try:
        with factory() as db:
            publish_tree(db, ROOT / "definitions")
            db.commit()
        at_head = _hashes(engine)
        assert len(at_head) == 5  # every shipped indicator-set version
        assert all(h == content_hash(doc) for h, doc in at_head.values())

        command.downgrade(alembic_config(migration_db), "0003")
        for h, doc in _hashes(engine).values():  # 0003's hash: sorted keys
            sorted_json = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            assert h == hashlib.sha256(sorted_json.encode()).hexdigest() != content_hash(doc)

        command.upgrade(alembic_config(migration_db), "head")
        assert _hashes(engine) == at_head
        with factory() as db:  # the shipped files are the published versions again: nothing new
            assert not any(r.created for r in publish_tree(db, ROOT / "definitions"))
    finally:
        engine.dispose()
