"""Version 7: attachments whose bytes could not be downloaded are recorded as such.

``attachments.download_error`` holds why (NULL once the bytes are stored) and
``download_attempts`` how many times it was tried; later runs retry them with a fresh link.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN on both dialects: the table (and, on SQLite, its full-text triggers)
    # stays as it is.
    op.add_column("attachments", sa.Column("download_error", sa.Text))
    op.add_column(
        "attachments", sa.Column("download_attempts", sa.Integer, nullable=False, server_default="0")
    )


def downgrade() -> None:
    with op.batch_alter_table("attachments") as batch:
        batch.drop_column("download_attempts")
        batch.drop_column("download_error")
