"""Numbered schema versions: 0001, 0002, ... (Alembic revisions)."""
