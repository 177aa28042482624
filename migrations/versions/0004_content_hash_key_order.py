"""indicator_set_versions.content_hash covers key order

A definition's key order is the order of its sections and fields on the form, and the content is stored
as json (not jsonb) to keep it. The hash was taken over sorted keys, so a version sent again with its
fields in another order counted as the same content (publishing it was a silent no-op), and a draft
whose fields were moved kept its hash (an editor working from before the move was not told). The hash
is now taken over the content in its own key order; stored versions are hashed again from their stored
content, and down again with sorted keys.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 21:00:00
"""

from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _hash(doc: object, *, sort_keys: bool) -> str:
    # engine.definitions.content_hash as of this revision (sort_keys=False), or before it (kept here: a
    # migration is frozen)
    canonical = json.dumps(doc, sort_keys=sort_keys, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _rehash(*, sort_keys: bool) -> None:
    conn = op.get_bind()
    # content::text is the stored json as written, so json.loads gives back its key order
    rows = conn.execute(sa.text("SELECT id, content::text FROM indicator_set_versions")).all()
    update = sa.text("UPDATE indicator_set_versions SET content_hash = :hash WHERE id = :id")
    for version_id, content in rows:
        conn.execute(update, {"id": version_id, "hash": _hash(json.loads(content), sort_keys=sort_keys)})


def upgrade() -> None:
    _rehash(sort_keys=False)


def downgrade() -> None:
    _rehash(sort_keys=True)
