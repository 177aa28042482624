"""Reports are stored uncompressed: out of line for submissions, inline for their revisions

A village report is 2–3 KB as jsonb, just over the size (~2 KB) at which PostgreSQL compresses a row's
largest values with pglz, and every submit writes it twice (the submission and its revision): pglz was
the largest single part of PostgreSQL's work on a bulk submit, 18.6 % of its CPU (`perf`, 9,600
reports). The embedded server is built without lz4, the cheaper method. Now neither copy is compressed
(docs/performance.md, round 12):

- ``submissions.data`` is stored EXTERNAL: out of line in the TOAST table, uncompressed. The row itself
  stays small (~0.2 KB instead of ~1.4 KB), and it is the row the status changes rewrite (each approval)
  and the completeness counts scan: a larger inline report would have made both read and write more.
- ``submission_revisions`` rows are written once and read one at a time: their reports stay inline as
  written (``toast_tuple_target`` at its maximum; a row over 8,160 bytes is still compressed).

The price is disk: ≈ 1.2 KB more per report in each table. Rows already stored keep their compression
until rewritten.

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


def upgrade() -> None:
    op.execute("ALTER TABLE submissions ALTER COLUMN data SET STORAGE EXTERNAL")
    op.execute("ALTER TABLE submission_revisions SET (toast_tuple_target = 8160)")


def downgrade() -> None:
    op.execute("ALTER TABLE submission_revisions RESET (toast_tuple_target)")
    op.execute("ALTER TABLE submissions ALTER COLUMN data SET STORAGE EXTENDED")
