"""Version 2: source connections (managed by the web service) and pending OAuth consents.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "connections",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("subdomain", sa.String(63), nullable=False),
        sa.Column("base_url", sa.Text),
        sa.Column("exclude_closed_tickets", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("auth_kind", sa.String(16), nullable=False),
        sa.Column("client_id", sa.Text),
        sa.Column("secrets_encrypted", sa.Text),
        sa.Column("token_expires_at", ts),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_detail", sa.Text),
        sa.Column("sync_interval_seconds", sa.Integer),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("updated_at", ts, nullable=False),
        sa.Column("last_sync_at", ts),
        sa.CheckConstraint(
            "auth_kind IN ('oauth', 'api_token', 'access_token')", name="ck_connections_auth_kind"
        ),
        sa.CheckConstraint(
            "status IN ('pending_auth', 'active', 'needs_reauth', 'error')", name="ck_connections_status"
        ),
    )
    op.create_table(
        "oauth_states",
        sa.Column("state_hash", sa.String(128), primary_key=True),
        sa.Column(
            "connection_id",
            sa.String(64),
            sa.ForeignKey("connections.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("payload_encrypted", sa.Text, nullable=False),
        sa.Column("redirect_uri", sa.Text, nullable=False),
        sa.Column("expires_at", ts, nullable=False),
        sa.Column("used_at", ts),
    )
    op.create_index("ix_oauth_states_connection", "oauth_states", ["connection_id"])


def downgrade() -> None:
    op.drop_table("oauth_states")
    op.drop_table("connections")
