"""The tables every piece of customer input lands in: one ``MetaData``, SQLAlchemy Core.

Feature modules (feedback, cases, insights, the outbox worker) import these ``Table`` objects
and build statements with them; no other module spells a table or column name as a string.

Why it looks like this:

* Timestamps are :class:`UTCDateTime`: aware UTC ``datetime`` in, aware UTC out, on both
  SQLite (which has no time zones) and PostgreSQL, so comparisons never mix local and UTC time.
* Ids are ``BIGINT`` on PostgreSQL and ``INTEGER`` on SQLite (only ``INTEGER PRIMARY KEY``
  is SQLite's auto-incrementing rowid).
* JSON is ``JSONB`` on PostgreSQL, JSON text on SQLite.
* Every constraint has a name (``NAMING_CONVENTION``) so later migrations can drop or alter
  it, including SQLite's copy-and-move "batch" migrations.
* Indexes follow the staff dashboard and queue queries: time ranges (``created_at``), kinds,
  page slugs, statuses and references.
* Privacy: search events keep a salted session hash, never an IP address; the audit log keeps
  outcomes, never secrets. Columns that could hold personal data are the ones a customer
  typed (``requests.email``, ``message``, ``comment``) and are deleted with their request.

The migrations in ``migrations/versions`` must produce exactly this schema;
``tests/test_store.py`` compares them on both backends.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = [
    "NAMING_CONVENTION",
    "UTCDateTime",
    "audit_log",
    "deflections",
    "idempotency_keys",
    "insights_search_queries",
    "insights_search_totals",
    "metadata",
    "outbox",
    "request_events",
    "requests",
    "search_events",
    "surveys",
    "utcnow",
    "votes",
]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """The current time as an aware UTC datetime: the default of every ``created_at``."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always an aware UTC ``datetime`` in Python.

    Naive datetimes are refused rather than guessed at: a naive local time stored as UTC
    would silently shift every SLA deadline by the server's offset.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware datetime, e.g. datetime.now(UTC)")
        value = value.astimezone(UTC)
        # SQLite stores text without an offset; keep it UTC so text order is time order.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _id() -> Column[int]:
    id_type: TypeEngine[int] = BigInteger().with_variant(Integer(), "sqlite")
    return Column("id", id_type, primary_key=True, autoincrement=True)


def _json() -> TypeEngine[Any]:
    return JSON().with_variant(JSONB(), "postgresql")


def _created_at() -> Column[datetime]:
    return Column("created_at", UTCDateTime(), nullable=False, default=utcnow)


search_events = Table(
    "search_events",
    metadata,
    _id(),
    _created_at(),
    Column("query_norm", String(512), nullable=False),
    Column("locale", String(16), nullable=False),
    Column("result_count", Integer, nullable=False),
    Column("zero_results", Boolean, nullable=False, server_default=false()),
    Column("clicked_slug", String(200)),
    Column("clicked_rank", Integer),
    Column("session_hash", String(64)),
    Column("event_key", String(32)),
    Index(None, "created_at"),
    Index(None, "clicked_slug"),
    Index(None, "event_key"),
)
"""One search (and, once the customer clicks, the result they chose). Never an IP address.

``event_key`` (added in 0004) is the random key of the search's click-through links, so a
click finds its search row (see :mod:`selfservice.store.search_events`)."""

votes = Table(
    "votes",
    metadata,
    _id(),
    _created_at(),
    Column("updated_at", UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow),
    Column("page_kind", String(32), nullable=False),
    Column("page_slug", String(200), nullable=False),
    Column("visitor_hash", String(64), nullable=False),
    Column("helpful", Boolean, nullable=False),
    Column("reason", String(64)),
    Column("comment", Text),
    # One vote per visitor and page: changing your mind updates the row (see upsert()).
    UniqueConstraint("page_kind", "page_slug", "visitor_hash"),
    Index(None, "created_at"),
    # Insights' helpfulness per page for a period (0006): read from the index alone, in page
    # order, so grouping by page needs no sort (a year of votes: 0.1 s instead of 0.8 s).
    Index(None, "page_kind", "page_slug", "updated_at", "helpful"),
)
""""Was this page helpful?" — one row per visitor and page."""

surveys = Table(
    "surveys",
    metadata,
    _id(),
    _created_at(),
    Column("kind", String(8), nullable=False),
    Column("score", Integer, nullable=False),
    Column("comment", Text),
    Column("context", _json(), nullable=False),
    CheckConstraint(
        "(kind = 'csat' AND score BETWEEN 1 AND 5) OR (kind = 'nps' AND score BETWEEN 0 AND 10)",
        name="kind_score",
    ),
    Index(None, "created_at"),
    Index(None, "kind"),
    # Insights' score distributions for a period: answered from the index alone (0006).
    Index(None, "created_at", "kind", "score"),
)
"""CSAT (1–5) and NPS (0–10) answers; ``context`` says where the survey was shown."""

requests = Table(
    "requests",
    metadata,
    _id(),
    Column("reference", String(32), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("status", String(32), nullable=False),
    Column("topic", String(64), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("message", Text, nullable=False),
    Column("email", String(320), nullable=False),
    Column("order_ref", String(64)),
    _created_at(),
    Column("acknowledged_at", UTCDateTime()),
    Column("first_response_at", UTCDateTime()),
    Column("resolved_at", UTCDateTime()),
    Column("closed_at", UTCDateTime()),
    Column("due_at", UTCDateTime()),
    Column("assignee", String(120)),
    Column("locale", String(16), nullable=False),
    Column("satisfaction", Integer),
    Column("escalated_at", UTCDateTime()),
    Column("updated_at", UTCDateTime()),
    Column("session_hash", String(64)),
    UniqueConstraint("reference"),
    CheckConstraint("kind IN ('contact', 'complaint')", name="kind"),
    CheckConstraint("satisfaction IS NULL OR satisfaction BETWEEN 1 AND 5", name="satisfaction"),
    Index(None, "created_at"),
    Index(None, "kind", "created_at"),
    Index(None, "status", "due_at"),
    Index(None, "email"),
    Index(None, "assignee", "status", "due_at"),  # the staff inbox's assignee filter (added in 0005)
)
"""Contact requests and complaints; the customer knows theirs by ``reference``.

``status`` is one of ``received``, ``acknowledged``, ``in_progress``, ``waiting_for_customer``,
``resolved``, ``closed`` (see :mod:`selfservice.store.cases`); ``due_at`` is the promised
response date and ``escalated_at`` is set once when it passed unanswered. ``updated_at`` moves
with every event, so staff queues can sort by latest activity (added in 0002).
``session_hash`` (added in 0006) is the keyed hash of the sender's IP address the contact
forms also give their suggestion lists (``deflections``), so insights can tell whether a
visitor shown articles wrote to us anyway; never the address itself."""

request_events = Table(
    "request_events",
    metadata,
    _id(),
    Column("request_id", ForeignKey("requests.id", ondelete="CASCADE"), nullable=False),
    _created_at(),
    Column("kind", String(16), nullable=False),
    Column("author", String(16), nullable=False),
    Column("status", String(32)),
    Column("body", Text, nullable=False, server_default=text("''")),
    Column("internal", Boolean, nullable=False, server_default=false()),
    CheckConstraint("author IN ('customer', 'staff', 'system')", name="author"),
    Index(None, "request_id", "created_at"),
)
"""A request's timeline: status changes, replies, internal notes (``internal`` hides them)."""

outbox = Table(
    "outbox",
    metadata,
    _id(),
    _created_at(),
    Column("kind", String(16), nullable=False),
    Column("payload", _json(), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", UTCDateTime(), nullable=False, default=utcnow),
    Column("sent_at", UTCDateTime()),
    Column("last_error", Text),
    CheckConstraint("kind IN ('mail', 'webhook')", name="kind"),
    # The worker's query: unsent rows whose time has come.
    Index(None, "sent_at", "next_attempt_at"),
)
"""Mail and webhooks written in the same transaction as the record they announce."""

audit_log = Table(
    "audit_log",
    metadata,
    _id(),
    _created_at(),
    Column("actor", String(120), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(200), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("details", _json(), nullable=False),
    Index(None, "created_at"),
    Index(None, "target"),
)
"""Who did what to which record, and whether it worked. Never passwords, tokens or keys."""

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(128), primary_key=True),
    _created_at(),
    Column("scope", String(64), nullable=False),
    Column("result_ref", String(200)),
    Index(None, "created_at"),
)
"""Form tokens already used: a double submit returns ``result_ref`` instead of a second record."""

deflections = Table(
    "deflections",
    metadata,
    _id(),
    _created_at(),
    Column("form", String(16), nullable=False),
    Column("query_norm", String(512), nullable=False),
    Column("suggested", _json(), nullable=False),
    Column("clicked_slug", String(200)),
    Column("session_hash", String(64)),
    Index(None, "created_at"),
)
"""Articles suggested while a customer typed a contact or complaint subject (added in 0002).

One row per suggestion list shown; ``clicked_slug`` is set when they opened one instead of
writing to us, which is what "deflection" measures. Like search events: never an IP address."""


# === insights rollups ===========================================================================
# Search analytics summarised per UTC day and per calendar month (selfservice.store.insights,
# added in 0006), so the staff dashboard reads a year of searches as a few thousand rows. They
# are derived data: rebuilt from search_events, deleted with them (search_retention_days).

insights_search_totals = Table(
    "insights_search_totals",
    metadata,
    Column("span", String(1), primary_key=True),
    Column("start", Date, primary_key=True),
    Column("searches", Integer, nullable=False),
    Column("zero_results", Integer, nullable=False),
    Column("clicks", Integer, nullable=False),
    Column("rank_clicks", _json(), nullable=False),
    CheckConstraint("span IN ('d', 'm')", name="span"),
)
"""One row per summarised day (``span`` ``d``) or month (``m``): its row is also the mark that
the period is summarised. ``rank_clicks`` maps a result rank ("1"…) to the clicks it got."""

insights_search_queries = Table(
    "insights_search_queries",
    metadata,
    Column("span", String(1), primary_key=True),
    Column("start", Date, primary_key=True),
    Column("query_norm", String(512), primary_key=True),
    Column("searches", Integer, nullable=False),
    Column("zero_results", Integer, nullable=False),
    Column("clicks", Integer, nullable=False),
    Column("results", BigInteger, nullable=False),
    CheckConstraint("span IN ('d', 'm')", name="span"),
)
"""Per summarised day or month and normalised query: searches, how many found nothing, how
many were followed by a click, and the sum of their result counts."""


# === accounts ===================================================================================
# The demo account backend's customers, orders and invoices (selfservice.accounts.demo, added
# in migration 0003). A host with its own user store never writes to these tables: its
# AccountBackend reads its own database. The account *actions* log to ``audit_log`` above.

__all__ += ["account_customers", "account_invoices", "account_order_events", "account_orders"]

account_customers = Table(
    "account_customers",
    metadata,
    _id(),
    _created_at(),
    Column("username", String(150), nullable=False),
    Column("email", String(320), nullable=False),
    Column("name", String(200), nullable=False, server_default=text("''")),
    Column("phone", String(40), nullable=False, server_default=text("''")),
    Column("address", _json(), nullable=False),
    Column("preferences", _json(), nullable=False),
    Column("password_hash", String(256), nullable=False),
    Column("last_login", UTCDateTime()),
    Column("active", Boolean, nullable=False, server_default=text("'1'")),
    UniqueConstraint("username"),
    Index(None, "email"),
)
"""Demo customers. ``password_hash`` is scrypt (``scrypt$n$r$p$salt$hash``), never a password."""

account_orders = Table(
    "account_orders",
    metadata,
    _id(),
    Column("number", String(32), nullable=False),
    Column("customer_id", ForeignKey("account_customers.id", ondelete="SET NULL")),
    Column("email", String(320), nullable=False),
    Column("postcode", String(16), nullable=False, server_default=text("''")),
    Column("status", String(32), nullable=False),
    Column("summary", String(200), nullable=False, server_default=text("''")),
    Column("total_minor", Integer, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("placed_at", UTCDateTime(), nullable=False),
    Column("next_step", Text, nullable=False, server_default=text("''")),
    UniqueConstraint("number"),
    Index(None, "customer_id", "placed_at"),
)
"""Demo orders; a guest order has no ``customer_id`` and is found by number + email or postcode."""

account_order_events = Table(
    "account_order_events",
    metadata,
    _id(),
    Column("order_id", ForeignKey("account_orders.id", ondelete="CASCADE"), nullable=False),
    _created_at(),
    Column("status", String(32), nullable=False),
    Column("note", Text, nullable=False, server_default=text("''")),
    Index(None, "order_id", "created_at"),
)
"""An order's status timeline, oldest first."""

account_invoices = Table(
    "account_invoices",
    metadata,
    _id(),
    Column("number", String(32), nullable=False),
    Column("customer_id", ForeignKey("account_customers.id", ondelete="CASCADE"), nullable=False),
    Column("issued_at", UTCDateTime(), nullable=False),
    Column("due_at", UTCDateTime()),
    Column("amount_minor", Integer, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(16), nullable=False),
    Column("description", String(200), nullable=False, server_default=text("''")),
    UniqueConstraint("number"),
    CheckConstraint("status IN ('open', 'paid', 'overdue', 'void')", name="status"),
    Index(None, "customer_id", "issued_at"),
)
"""Demo invoices; the balance is the sum of the open and overdue ones."""
