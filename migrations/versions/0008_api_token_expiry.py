"""api_tokens.expires_at: a bearer token works until it expires

Tokens never expired: one copied out of a department system's configuration years ago still worked.
Each token now has an expiry (``grassroots users token --days``, 365 unless told), and a request with
an expired one is refused with 401 ``token_expired``.

Tokens issued before this revision keep working for the default validity counted from the upgrade
(365 days), not from their issue: counted from their issue, an old token would stop at once and the
department system using it with it, on the day of an upgrade nobody told them about. The operator lists
them with ``grassroots users tokens NAME`` and replaces them in that year.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("api_tokens", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE api_tokens SET expires_at = now() + interval '365 days'")
    op.alter_column("api_tokens", "expires_at", nullable=False)


def downgrade() -> None:
    op.drop_column("api_tokens", "expires_at")
