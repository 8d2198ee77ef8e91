"""The tables as SQLAlchemy Core objects, matching the newest migration.

The migrations (``store/migrations/versions``) create and change the real schema; these
objects are what the queries are written against. A test compares the two after migrating.

Timestamps are timezone-aware UTC in Python. PostgreSQL keeps them as ``timestamptz``;
SQLite as ISO-8601 UTC text (``2024-05-01 12:00:00.000000``), which sorts and compares
correctly in plain SQL.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

from zensync.entities import EntityType


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp stored as UTC and always returned timezone-aware.

    Naive datetimes given by callers are taken to be UTC already.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class RawJSON(str):
    """JSON text produced already (pydantic's ``model_dump_json``, written in Rust): stored
    as is instead of being parsed back and dumped again by the database driver."""


def dump_json(value: Any) -> str:
    """The engines' ``json_serializer``: RawJSON passes through, anything else is dumped."""
    if isinstance(value, RawJSON):
        return str(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def json_type() -> sa.types.TypeEngine[Any]:
    """JSON text on SQLite, JSONB on PostgreSQL (indexable, queryable with ->>)."""
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


metadata = sa.MetaData()


def _entity_columns() -> list[sa.Column[Any]]:
    """Columns every entity table has, first the key, last the bookkeeping."""
    return [
        sa.Column("connection_id", sa.String(64), primary_key=True),
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("entity_id", sa.String(64), nullable=False),
        sa.Column("name", sa.Text, nullable=False, server_default=""),
        sa.Column("web_url", sa.Text),
        sa.Column("created_at", UTCDateTime),
        sa.Column("updated_at", UTCDateTime),
    ]


def _bookkeeping_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("data", json_type(), nullable=False),
        sa.Column("search_text", sa.Text),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("synced_at", UTCDateTime, nullable=False),
        sa.Column("last_seen_run", sa.Integer),
    ]


organizations = sa.Table(
    "organizations",
    metadata,
    *_entity_columns(),
    sa.Column("external_id", sa.Text),
    sa.Column("group_id", sa.BigInteger),
    *_bookkeeping_columns(),
)

users = sa.Table(
    "users",
    metadata,
    *_entity_columns(),
    sa.Column("email", sa.Text),
    sa.Column("role", sa.String(32)),
    sa.Column("active", sa.Boolean),
    sa.Column("suspended", sa.Boolean),
    sa.Column("organization_id", sa.BigInteger),
    sa.Column("organization_name", sa.Text),
    *_bookkeeping_columns(),
    sa.Index("ix_users_email", "connection_id", "email"),
)

tickets = sa.Table(
    "tickets",
    metadata,
    *_entity_columns(),
    sa.Column("subject", sa.Text),
    sa.Column("status", sa.String(32)),
    sa.Column("priority", sa.String(32)),
    sa.Column("type", sa.String(32)),
    sa.Column("requester_id", sa.BigInteger),
    sa.Column("requester_name", sa.Text),
    sa.Column("submitter_id", sa.BigInteger),
    sa.Column("assignee_id", sa.BigInteger),
    sa.Column("assignee_name", sa.Text),
    sa.Column("organization_id", sa.BigInteger),
    sa.Column("organization_name", sa.Text),
    sa.Column("group_id", sa.BigInteger),
    sa.Column("group_name", sa.Text),
    *_bookkeeping_columns(),
    sa.Index("ix_tickets_status", "connection_id", "status"),
    sa.Index("ix_tickets_updated_at", "connection_id", "updated_at"),
    sa.Index("ix_tickets_requester", "connection_id", "requester_id", "updated_at"),
    sa.Index("ix_tickets_assignee", "connection_id", "assignee_id", "updated_at"),
    sa.Index("ix_tickets_organization", "connection_id", "organization_id", "updated_at"),
)

comments = sa.Table(
    "comments",
    metadata,
    *_entity_columns(),
    sa.Column("ticket_id", sa.BigInteger, nullable=False),
    sa.Column("author_id", sa.BigInteger),
    sa.Column("author_name", sa.Text),
    sa.Column("public", sa.Boolean),
    *_bookkeeping_columns(),
    sa.Index("ix_comments_ticket", "connection_id", "ticket_id"),
)

attachments = sa.Table(
    "attachments",
    metadata,
    *_entity_columns(),
    sa.Column("ticket_id", sa.BigInteger, nullable=False),
    sa.Column("comment_id", sa.BigInteger, nullable=False),
    sa.Column("file_name", sa.Text),
    sa.Column("content_type", sa.Text),
    sa.Column("size", sa.BigInteger),
    sa.Column("inline", sa.Boolean),
    sa.Column("malware_scan_result", sa.String(32)),
    sa.Column("content_sha256", sa.String(64)),
    *_bookkeeping_columns(),
    # Why the bytes could not be downloaded (NULL once they are), and how many times it was tried:
    # a later run asks Zendesk for the attachment again and retries.
    sa.Column("download_error", sa.Text),
    sa.Column("download_attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Index("ix_attachments_ticket", "connection_id", "ticket_id"),
    sa.Index("ix_attachments_comment", "connection_id", "comment_id"),
    sa.Index("ix_attachments_sha256", "content_sha256"),
)

ENTITY_TABLES: dict[EntityType, sa.Table] = {
    "organization": organizations,
    "user": users,
    "ticket": tickets,
    "comment": comments,
    "attachment": attachments,
}

sync_state = sa.Table(
    "sync_state",
    metadata,
    sa.Column("connection_id", sa.String(64), primary_key=True),
    sa.Column("cursor", json_type()),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

sync_runs = sa.Table(
    "sync_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("connection_id", sa.String(64), nullable=False),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime),
    sa.Column("report", json_type()),
    sa.Column("progress", json_type()),
    sa.Column("error", sa.Text),
    sa.CheckConstraint("mode IN ('full', 'incremental')", name="ck_sync_runs_mode"),
    sa.CheckConstraint(
        "status IN ('running', 'succeeded', 'failed', 'interrupted')", name="ck_sync_runs_status"
    ),
    sa.Index("ix_sync_runs_connection", "connection_id", "id"),
)

connections = sa.Table(
    "connections",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("subdomain", sa.String(63), nullable=False),
    sa.Column("base_url", sa.Text),
    sa.Column("exclude_closed_tickets", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("auth_kind", sa.String(16), nullable=False),
    sa.Column("client_id", sa.Text),
    sa.Column("secrets_encrypted", sa.Text),
    sa.Column("token_expires_at", UTCDateTime),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("status_detail", sa.Text),
    sa.Column("sync_interval_seconds", sa.Integer),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("last_sync_at", UTCDateTime),
    # Hide this account's internal notes and private comments from AI agents (zensync.mcp).
    sa.Column("mcp_public_only", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.CheckConstraint(
        "auth_kind IN ('oauth', 'api_token', 'access_token')", name="ck_connections_auth_kind"
    ),
    sa.CheckConstraint(
        "status IN ('pending_auth', 'active', 'needs_reauth', 'error')", name="ck_connections_status"
    ),
)

oauth_states = sa.Table(
    "oauth_states",
    metadata,
    sa.Column("state_hash", sa.String(128), primary_key=True),
    sa.Column(
        "connection_id",
        sa.String(64),
        sa.ForeignKey("connections.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("payload_encrypted", sa.Text, nullable=False),
    sa.Column("redirect_uri", sa.Text, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("used_at", UTCDateTime),
    sa.Index("ix_oauth_states_connection", "connection_id"),
)

# Search by meaning (migration 0005; the vectors' own table is made by zensync.store.vectors).
search_chunks = sa.Table(
    "search_chunks",
    metadata,
    sa.Column(
        "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    ),
    sa.Column("connection_id", sa.String(64), nullable=False),
    sa.Column("entity_type", sa.String(16), nullable=False),
    sa.Column("object_id", sa.BigInteger, nullable=False),
    sa.Column("ticket_id", sa.BigInteger),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Index("ix_search_chunks_entity", "connection_id", "entity_type", "object_id", "position", unique=True),
)

embedded_entities = sa.Table(
    "embedded_entities",
    metadata,
    sa.Column("connection_id", sa.String(64), primary_key=True),
    sa.Column("entity_type", sa.String(16), primary_key=True),
    sa.Column("object_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("text_hash", sa.String(64), nullable=False),
    sa.Column("chunks", sa.Integer, nullable=False),
)

vector_index = sa.Table(
    "vector_index",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
