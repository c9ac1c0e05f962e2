"""Accounts: the demo account backend's customers, orders, order events and invoices.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

Plain SQLAlchemy types, as in 0001. A host with its own AccountBackend leaves these empty.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIME = sa.DateTime(timezone=True)


def _id(table: str) -> tuple[sa.Column[int], sa.PrimaryKeyConstraint]:
    return sa.Column("id", ID, autoincrement=True, nullable=False), sa.PrimaryKeyConstraint("id", name=f"pk_{table}")


def upgrade() -> None:
    id_col, pk = _id("account_customers")
    op.create_table(
        "account_customers",
        id_col,
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("username", sa.String(150), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("name", sa.String(200), server_default=sa.text("''"), nullable=False),
        sa.Column("phone", sa.String(40), server_default=sa.text("''"), nullable=False),
        sa.Column("address", JSON, nullable=False),
        sa.Column("preferences", JSON, nullable=False),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("last_login", TIME, nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.text("'1'"), nullable=False),
        pk,
        sa.UniqueConstraint("username", name="uq_account_customers_username"),
    )
    op.create_index("ix_account_customers_email", "account_customers", ["email"])

    id_col, pk = _id("account_orders")
    op.create_table(
        "account_orders",
        id_col,
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("customer_id", ID, nullable=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("postcode", sa.String(16), server_default=sa.text("''"), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("summary", sa.String(200), server_default=sa.text("''"), nullable=False),
        sa.Column("total_minor", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("placed_at", TIME, nullable=False),
        sa.Column("next_step", sa.Text(), server_default=sa.text("''"), nullable=False),
        pk,
        sa.ForeignKeyConstraint(
            ["customer_id"], ["account_customers.id"], name="fk_account_orders_customer_id_account_customers",
            ondelete="SET NULL",
        ),
        sa.UniqueConstraint("number", name="uq_account_orders_number"),
    )
    op.create_index("ix_account_orders_customer_id_placed_at", "account_orders", ["customer_id", "placed_at"])

    id_col, pk = _id("account_order_events")
    op.create_table(
        "account_order_events",
        id_col,
        sa.Column("order_id", ID, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("note", sa.Text(), server_default=sa.text("''"), nullable=False),
        pk,
        sa.ForeignKeyConstraint(
            ["order_id"], ["account_orders.id"], name="fk_account_order_events_order_id_account_orders",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_account_order_events_order_id_created_at", "account_order_events", ["order_id", "created_at"])

    id_col, pk = _id("account_invoices")
    op.create_table(
        "account_invoices",
        id_col,
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("issued_at", TIME, nullable=False),
        sa.Column("due_at", TIME, nullable=True),
        sa.Column("amount_minor", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("description", sa.String(200), server_default=sa.text("''"), nullable=False),
        pk,
        sa.ForeignKeyConstraint(
            ["customer_id"], ["account_customers.id"], name="fk_account_invoices_customer_id_account_customers",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("number", name="uq_account_invoices_number"),
        sa.CheckConstraint("status IN ('open', 'paid', 'overdue', 'void')", name="ck_account_invoices_status"),
    )
    op.create_index("ix_account_invoices_customer_id_issued_at", "account_invoices", ["customer_id", "issued_at"])


def downgrade() -> None:
    for table in ("account_invoices", "account_order_events", "account_orders", "account_customers"):
        op.drop_table(table)
