"""login_failures: failed sign-ins counted per username and per network address

Wrong passwords were answered as fast as they came, each costing an argon2 hash. Failed sign-ins are
now counted (engine.login_throttle) in the database, which every gunicorn worker shares: after the
limit within the window, further attempts are refused before any hashing until the window ends.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "subject"),
    )
    op.create_index(op.f("ix_login_failures_since"), "login_failures", ["since"], unique=False)


def downgrade() -> None:
    op.drop_table("login_failures")
