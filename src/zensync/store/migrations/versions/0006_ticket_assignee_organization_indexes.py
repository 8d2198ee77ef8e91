"""Version 6: a requester's, an assignee's and an organization's tickets, newest first, by index.

The MCP tools (``get_user``, ``get_organization``, ``list_tickets``) ask for exactly that.
Without an index for assignee and organization a 100,000-ticket copy is read whole for each
question; the requester index gains ``updated_at`` so SQLite's planner (which has no table
statistics) takes it rather than walking every ticket in ``updated_at`` order.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_tickets_requester", "tickets")
    op.create_index("ix_tickets_requester", "tickets", ["connection_id", "requester_id", "updated_at"])
    op.create_index("ix_tickets_assignee", "tickets", ["connection_id", "assignee_id", "updated_at"])
    op.create_index("ix_tickets_organization", "tickets", ["connection_id", "organization_id", "updated_at"])
