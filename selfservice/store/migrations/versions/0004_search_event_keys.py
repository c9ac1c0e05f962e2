"""Search events learn the key of their click-through links.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

Adds the nullable ``search_events.event_key`` (existing rows need no backfill; ADD COLUMN of
a nullable column needs no table copy, on SQLite either) and its index, which a click uses to
find its search.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("search_events", sa.Column("event_key", sa.String(32), nullable=True))
    op.create_index("ix_search_events_event_key", "search_events", ["event_key"])


def downgrade() -> None:
    op.drop_index("ix_search_events_event_key", table_name="search_events")
    with op.batch_alter_table("search_events") as batch:
        batch.drop_column("event_key")
