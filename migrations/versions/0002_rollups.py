"""live roll-ups: rollup_values (one row per unit, field and stage) and rollup_members

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rollup_values",
        sa.Column("collection_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("org_code", sa.String(length=12), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("sum", sa.Numeric(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("min", sa.Numeric(), nullable=True),
        sa.Column("max", sa.Numeric(), nullable=True),
        sa.ForeignKeyConstraint(["collection_id"], ["collections.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("collection_id", "stage", "org_code", "key"),
    )
    op.create_table(
        "rollup_members",
        sa.Column("submission_id", sa.BigInteger(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("collection_id", sa.Integer(), nullable=False),
        sa.Column("org_code", sa.String(length=12), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["collection_id"], ["collections.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("submission_id", "stage"),
    )
    op.create_index(
        "ix_rollup_members_collection_org",
        "rollup_members",
        ["collection_id", "stage", "org_code"],
        unique=False,
        postgresql_ops={"org_code": "varchar_pattern_ops"},
    )


def downgrade() -> None:
    op.drop_index("ix_rollup_members_collection_org", table_name="rollup_members")
    op.drop_table("rollup_members")
    op.drop_table("rollup_values")
