"""Version 4: a connection can hide its internal notes from AI agents (``mcp_public_only``).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN on both backends (SQLite allows NOT NULL with a default): no table rebuild.
    op.add_column(
        "connections", sa.Column("mcp_public_only", sa.Boolean, nullable=False, server_default=sa.false())
    )
