"""The first schema: search events, votes, surveys, requests and their events, outbox,
audit log, idempotency keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-23

Written against plain SQLAlchemy types, never by importing selfservice.store.tables:
a migration is frozen history, the tables module moves on.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIME = sa.DateTime(timezone=True)


def _id(table: str) -> tuple[sa.Column[int], sa.PrimaryKeyConstraint]:
    return sa.Column("id", ID, autoincrement=True, nullable=False), sa.PrimaryKeyConstraint("id", name=f"pk_{table}")


def upgrade() -> None:
    id_col, pk = _id("search_events")
    op.create_table(
        "search_events",
        id_col,
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("query_norm", sa.String(512), nullable=False),
        sa.Column("locale", sa.String(16), nullable=False),
        sa.Column("result_count", sa.Integer(), nullable=False),
        sa.Column("zero_results", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("clicked_slug", sa.String(200), nullable=True),
        sa.Column("clicked_rank", sa.Integer(), nullable=True),
        sa.Column("session_hash", sa.String(64), nullable=True),
        pk,
    )
    op.create_index("ix_search_events_created_at", "search_events", ["created_at"])
    op.create_index("ix_search_events_clicked_slug", "search_events", ["clicked_slug"])

    id_col, pk = _id("votes")
    op.create_table(
        "votes",
        id_col,
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("page_kind", sa.String(32), nullable=False),
        sa.Column("page_slug", sa.String(200), nullable=False),
        sa.Column("visitor_hash", sa.String(64), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(64), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        pk,
        sa.UniqueConstraint("page_kind", "page_slug", "visitor_hash", name="uq_votes_page_kind_page_slug_visitor_hash"),
    )
    op.create_index("ix_votes_created_at", "votes", ["created_at"])

    id_col, pk = _id("surveys")
    op.create_table(
        "surveys",
        id_col,
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("context", JSON, nullable=False),
        pk,
        sa.CheckConstraint(
            "(kind = 'csat' AND score BETWEEN 1 AND 5) OR (kind = 'nps' AND score BETWEEN 0 AND 10)",
            name="ck_surveys_kind_score",
        ),
    )
    op.create_index("ix_surveys_created_at", "surveys", ["created_at"])
    op.create_index("ix_surveys_kind", "surveys", ["kind"])

    id_col, pk = _id("requests")
    op.create_table(
        "requests",
        id_col,
        sa.Column("reference", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("topic", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("order_ref", sa.String(64), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("acknowledged_at", TIME, nullable=True),
        sa.Column("first_response_at", TIME, nullable=True),
        sa.Column("resolved_at", TIME, nullable=True),
        sa.Column("closed_at", TIME, nullable=True),
        sa.Column("due_at", TIME, nullable=True),
        sa.Column("assignee", sa.String(120), nullable=True),
        sa.Column("locale", sa.String(16), nullable=False),
        sa.Column("satisfaction", sa.Integer(), nullable=True),
        pk,
        sa.UniqueConstraint("reference", name="uq_requests_reference"),
        sa.CheckConstraint("kind IN ('contact', 'complaint')", name="ck_requests_kind"),
        sa.CheckConstraint("satisfaction IS NULL OR satisfaction BETWEEN 1 AND 5", name="ck_requests_satisfaction"),
    )
    op.create_index("ix_requests_created_at", "requests", ["created_at"])
    op.create_index("ix_requests_kind_created_at", "requests", ["kind", "created_at"])
    op.create_index("ix_requests_status_due_at", "requests", ["status", "due_at"])
    op.create_index("ix_requests_email", "requests", ["email"])

    id_col, pk = _id("request_events")
    op.create_table(
        "request_events",
        id_col,
        sa.Column("request_id", ID, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("author", sa.String(16), nullable=False),
        sa.Column("status", sa.String(32), nullable=True),
        sa.Column("body", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("internal", sa.Boolean(), server_default=sa.false(), nullable=False),
        pk,
        sa.ForeignKeyConstraint(
            ["request_id"], ["requests.id"], name="fk_request_events_request_id_requests", ondelete="CASCADE"
        ),
        sa.CheckConstraint("author IN ('customer', 'staff', 'system')", name="ck_request_events_author"),
    )
    op.create_index("ix_request_events_request_id_created_at", "request_events", ["request_id", "created_at"])

    id_col, pk = _id("outbox")
    op.create_table(
        "outbox",
        id_col,
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", TIME, nullable=False),
        sa.Column("sent_at", TIME, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        pk,
        sa.CheckConstraint("kind IN ('mail', 'webhook')", name="ck_outbox_kind"),
    )
    op.create_index("ix_outbox_sent_at_next_attempt_at", "outbox", ["sent_at", "next_attempt_at"])

    id_col, pk = _id("audit_log")
    op.create_table(
        "audit_log",
        id_col,
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("details", JSON, nullable=False),
        pk,
    )
    op.create_index("ix_audit_log_created_at", "audit_log", ["created_at"])
    op.create_index("ix_audit_log_target", "audit_log", ["target"])

    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("scope", sa.String(64), nullable=False),
        sa.Column("result_ref", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_idempotency_keys"),
    )
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])


def downgrade() -> None:
    newest_first = ("idempotency_keys", "audit_log", "outbox", "request_events", "requests", "surveys", "votes")
    for table in (*newest_first, "search_events"):
        op.drop_table(table)
