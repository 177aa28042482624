"""content-addressed workflow states: workflow_states, process_instances.state_digest

Instances of a collection start in one state and mostly move through the same few, so a state is
stored once (keyed by the BLAKE2b of its canonical JSON) and an instance points at it. Replaces
process_instances.state and collections.initial_state.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 08:00:00
"""

from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _digest(state: object) -> str:
    # the same canonical form as engine.transitions.state_digest (kept here: a migration is frozen)
    canonical = json.dumps(state, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()


def upgrade() -> None:
    op.create_table(
        "workflow_states",
        sa.Column("digest", sa.String(length=32), nullable=False),
        sa.Column("process_version_id", sa.Integer(), nullable=False),
        sa.Column("state", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["process_version_id"], ["process_versions.id"]),
        sa.PrimaryKeyConstraint("digest"),
    )
    op.add_column("process_instances", sa.Column("state_digest", sa.String(length=32), nullable=True))
    bind = op.get_bind()
    states = sa.text("INSERT INTO workflow_states (digest, process_version_id, state)"
                     " VALUES (:d, :p, CAST(:s AS jsonb)) ON CONFLICT DO NOTHING")
    for cid, pvid, state in bind.execute(sa.text(
            "SELECT id, process_version_id, initial_state FROM collections WHERE initial_state IS NOT NULL")):
        digest = _digest(state)
        bind.execute(states, {"d": digest, "p": pvid, "s": json.dumps(state, ensure_ascii=False)})
        bind.execute(sa.text("UPDATE process_instances SET state_digest = :d"
                             " WHERE collection_id = :c AND state IS NULL"), {"d": digest, "c": cid})
    for iid, pvid, state in bind.execute(sa.text(
            "SELECT id, process_version_id, state FROM process_instances WHERE state IS NOT NULL")):
        digest = _digest(state)
        bind.execute(states, {"d": digest, "p": pvid, "s": json.dumps(state, ensure_ascii=False)})
        bind.execute(sa.text("UPDATE process_instances SET state_digest = :d WHERE id = :i"),
                     {"d": digest, "i": iid})
    op.alter_column("process_instances", "state_digest", nullable=False)
    op.create_foreign_key("process_instances_state_digest_fkey", "process_instances", "workflow_states",
                          ["state_digest"], ["digest"])
    op.drop_column("process_instances", "state")
    op.drop_column("collections", "initial_state")


def downgrade() -> None:
    op.add_column("collections", sa.Column("initial_state", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column("process_instances", sa.Column("state", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.execute("UPDATE process_instances p SET state = w.state FROM workflow_states w WHERE w.digest = p.state_digest")
    op.drop_constraint("process_instances_state_digest_fkey", "process_instances", type_="foreignkey")
    op.drop_column("process_instances", "state_digest")
    op.drop_table("workflow_states")
