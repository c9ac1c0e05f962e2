"""The staff inbox's "assigned to …" filter gets an index.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23

Adds ``ix_requests_assignee_status_due_at``: the inbox filtered by assignee ("me", a name,
or unassigned) and status, in response-date order. Without it that filter walks every open
request through the status index (``benchmarks/inbox_scale.py``: about 3× slower at 50,000
requests). Only an index: no table change, no backfill.
"""

from __future__ import annotations

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index("ix_requests_assignee_status_due_at", "requests", ["assignee", "status", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_requests_assignee_status_due_at", table_name="requests")
