"""Requests learn escalation and activity times; suggestion ("deflection") events.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30

Adds ``requests.escalated_at`` and ``requests.updated_at`` (both nullable, so existing rows
need no backfill) and the ``deflections`` table. Plain SQLAlchemy types, as in 0001.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    # ADD COLUMN of a nullable column needs no table copy, on SQLite either.
    op.add_column("requests", sa.Column("escalated_at", TIME, nullable=True))
    op.add_column("requests", sa.Column("updated_at", TIME, nullable=True))
    op.create_table(
        "deflections",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("form", sa.String(16), nullable=False),
        sa.Column("query_norm", sa.String(512), nullable=False),
        sa.Column("suggested", JSON, nullable=False),
        sa.Column("clicked_slug", sa.String(200), nullable=True),
        sa.Column("session_hash", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_deflections"),
    )
    op.create_index("ix_deflections_created_at", "deflections", ["created_at"])


def downgrade() -> None:
    op.drop_table("deflections")
    with op.batch_alter_table("requests") as batch:
        batch.drop_column("updated_at")
        batch.drop_column("escalated_at")
