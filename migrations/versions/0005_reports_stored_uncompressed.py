"""Reports are stored uncompressed (toast_tuple_target 8160 on submissions and submission_revisions)

A village report is 2–3 KB as jsonb, just over the size (~2 KB) at which PostgreSQL compresses a row's
largest values with pglz. Every submit writes the report twice (the submission and its revision), so
pglz was the largest single cost of PostgreSQL's work on a bulk submit: 18.6 % of its CPU in a profile
(`perf`, 9,600 reports), and 0.06–0.08 ms of CPU per report off when turned off (docs/performance.md,
round 12). The embedded server is built without lz4, the cheaper method. With the target at its
maximum, a row is compressed only above 8,160 bytes, so the reports of the shipped sets stay inline as
written and larger ones (a long repeat) are still compressed; the price is disk: the two tables take
about twice the space (≈ 2.4 KB per report and revision instead of ≈ 1.2 KB). Rows already stored keep
their compression until rewritten.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 07:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = ("submissions", "submission_revisions")


def upgrade() -> None:
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} SET (toast_tuple_target = 8160)")


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} RESET (toast_tuple_target)")
