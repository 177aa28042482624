"""user_sessions: a browser's sign-in, so that logout and a password change end it

The session cookie is signed, not stored: a copy of it kept working until it expired (8 hours), after
the user had logged out or their password had been reset. Each sign-in is now a row, named in the
cookie by a random id (the row holds its SHA-256); a request is signed in while the row is there.
Logout deletes it, a password change or deactivation all of the user's (engine.login_sessions).

Cookies issued before this revision name no row: their users sign in again once.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_user_sessions_user_id"), "user_sessions", ["user_id"], unique=False)
    op.create_index(op.f("ix_user_sessions_created_at"), "user_sessions", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_table("user_sessions")
