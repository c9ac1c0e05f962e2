"""Insights: search rollups, covering indexes, and the request's session hash.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23

* ``insights_search_totals`` and ``insights_search_queries``: search analytics summarised per
  UTC day and month (derived data, filled by :mod:`selfservice.store.insights`).
* ``ix_votes_page_kind_page_slug_updated_at_helpful`` and
  ``ix_surveys_created_at_kind_score``: the dashboard's helpfulness and score queries read
  the index alone.
* ``requests.session_hash`` (nullable: existing rows need no backfill, and ADD COLUMN of a
  nullable column needs no table copy on SQLite either): links a request to the suggestion
  lists its sender was shown, for the deflection rate.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.add_column("requests", sa.Column("session_hash", sa.String(64), nullable=True))
    op.create_index("ix_votes_page_kind_page_slug_updated_at_helpful", "votes",
                    ["page_kind", "page_slug", "updated_at", "helpful"])
    op.create_index("ix_surveys_created_at_kind_score", "surveys", ["created_at", "kind", "score"])
    op.create_table(
        "insights_search_totals",
        sa.Column("span", sa.String(1), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("searches", sa.Integer(), nullable=False),
        sa.Column("zero_results", sa.Integer(), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.Column("rank_clicks", JSON, nullable=False),
        sa.CheckConstraint("span IN ('d', 'm')", name="ck_insights_search_totals_span"),
        sa.PrimaryKeyConstraint("span", "start", name="pk_insights_search_totals"),
    )
    op.create_table(
        "insights_search_queries",
        sa.Column("span", sa.String(1), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("query_norm", sa.String(512), nullable=False),
        sa.Column("searches", sa.Integer(), nullable=False),
        sa.Column("zero_results", sa.Integer(), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.Column("results", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("span IN ('d', 'm')", name="ck_insights_search_queries_span"),
        sa.PrimaryKeyConstraint("span", "start", "query_norm", name="pk_insights_search_queries"),
    )


def downgrade() -> None:
    op.drop_table("insights_search_queries")
    op.drop_table("insights_search_totals")
    op.drop_index("ix_surveys_created_at_kind_score", table_name="surveys")
    op.drop_index("ix_votes_page_kind_page_slug_updated_at_helpful", table_name="votes")
    with op.batch_alter_table("requests") as batch:
        batch.drop_column("session_hash")
