"""Version 1: the five entity tables, the sync cursor and the run log.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _head() -> list[sa.Column[Any]]:
    return [
        sa.Column("connection_id", sa.String(64), nullable=False),
        sa.Column("id", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("entity_id", sa.String(64), nullable=False),
        sa.Column("name", sa.Text, nullable=False, server_default=""),
        sa.Column("web_url", sa.Text),
        sa.Column("created_at", _ts()),
        sa.Column("updated_at", _ts()),
    ]


def _tail(table: str) -> list[Any]:
    return [
        sa.Column("data", _json(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("synced_at", _ts(), nullable=False),
        sa.Column("last_seen_run", sa.Integer),
        sa.PrimaryKeyConstraint("connection_id", "id", name=f"pk_{table}"),
    ]


def upgrade() -> None:
    op.create_table(
        "organizations",
        *_head(),
        sa.Column("external_id", sa.Text),
        sa.Column("group_id", sa.BigInteger),
        *_tail("organizations"),
    )
    op.create_table(
        "users",
        *_head(),
        sa.Column("email", sa.Text),
        sa.Column("role", sa.String(32)),
        sa.Column("active", sa.Boolean),
        sa.Column("suspended", sa.Boolean),
        sa.Column("organization_id", sa.BigInteger),
        sa.Column("organization_name", sa.Text),
        *_tail("users"),
    )
    op.create_index("ix_users_email", "users", ["connection_id", "email"])
    op.create_table(
        "tickets",
        *_head(),
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
        *_tail("tickets"),
    )
    op.create_index("ix_tickets_status", "tickets", ["connection_id", "status"])
    op.create_index("ix_tickets_updated_at", "tickets", ["connection_id", "updated_at"])
    op.create_index("ix_tickets_requester", "tickets", ["connection_id", "requester_id"])
    op.create_table(
        "comments",
        *_head(),
        sa.Column("ticket_id", sa.BigInteger, nullable=False),
        sa.Column("author_id", sa.BigInteger),
        sa.Column("author_name", sa.Text),
        sa.Column("public", sa.Boolean),
        *_tail("comments"),
    )
    op.create_index("ix_comments_ticket", "comments", ["connection_id", "ticket_id"])
    op.create_table(
        "attachments",
        *_head(),
        sa.Column("ticket_id", sa.BigInteger, nullable=False),
        sa.Column("comment_id", sa.BigInteger, nullable=False),
        sa.Column("file_name", sa.Text),
        sa.Column("content_type", sa.Text),
        sa.Column("size", sa.BigInteger),
        sa.Column("inline", sa.Boolean),
        sa.Column("malware_scan_result", sa.String(32)),
        sa.Column("content_sha256", sa.String(64)),
        *_tail("attachments"),
    )
    op.create_index("ix_attachments_ticket", "attachments", ["connection_id", "ticket_id"])
    op.create_index("ix_attachments_comment", "attachments", ["connection_id", "comment_id"])
    op.create_index("ix_attachments_sha256", "attachments", ["content_sha256"])

    op.create_table(
        "sync_state",
        sa.Column("connection_id", sa.String(64), primary_key=True),
        sa.Column("cursor", _json()),
        sa.Column("updated_at", _ts(), nullable=False),
    )
    op.create_table(
        "sync_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("connection_id", sa.String(64), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", _ts(), nullable=False),
        sa.Column("finished_at", _ts()),
        sa.Column("report", _json()),
        sa.Column("progress", _json()),
        sa.Column("error", sa.Text),
        sa.CheckConstraint("mode IN ('full', 'incremental')", name="ck_sync_runs_mode"),
        sa.CheckConstraint(
            "status IN ('running', 'succeeded', 'failed', 'interrupted')", name="ck_sync_runs_status"
        ),
    )
    op.create_index("ix_sync_runs_connection", "sync_runs", ["connection_id", "id"])


def downgrade() -> None:
    for table in ("sync_runs", "sync_state", "attachments", "comments", "tickets", "users", "organizations"):
        op.drop_table(table)
