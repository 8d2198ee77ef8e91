"""Version 5: the bookkeeping of search by meaning (chunks of text and what was embedded).

- ``search_chunks``: the pieces of text that have a vector (a ticket's subject and
  description, a comment's body cut into overlapping windows, an attachment's file name),
  each with its connection, entity type, object id, ticket id and position.
- ``embedded_entities``: per entity, the content hash and text hash it was embedded from, so
  an index run embeds only new or changed text.
- ``vector_index``: which model built the vectors (a key/value table).

The vectors themselves go in a table made when the first index is built, because its width
is the model's dimension: an sqlite-vec ``vec0`` table on SQLite, a pgvector column with an
HNSW index on PostgreSQL (see ``zensync.store.vectors``).

Deleting an entity row (a deletion, a closed ticket under exclude_closed_tickets, a sweep, a
purge) deletes its chunks and embedding record in the same statement's transaction, by
trigger, so no vector outlives its row however the row goes.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

EMBEDDED_TABLES = {"ticket": "tickets", "comment": "comments", "attachment": "attachments"}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "search_chunks",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("connection_id", sa.String(64), nullable=False),
        sa.Column("entity_type", sa.String(16), nullable=False),
        sa.Column("object_id", sa.BigInteger, nullable=False),
        sa.Column("ticket_id", sa.BigInteger),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
    )
    op.create_index(
        "ix_search_chunks_entity",
        "search_chunks",
        ["connection_id", "entity_type", "object_id", "position"],
        unique=True,
    )
    op.create_table(
        "embedded_entities",
        sa.Column("connection_id", sa.String(64), primary_key=True),
        sa.Column("entity_type", sa.String(16), primary_key=True),
        sa.Column("object_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("text_hash", sa.String(64), nullable=False),
        sa.Column("chunks", sa.Integer, nullable=False),
    )
    op.create_table(
        "vector_index",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    for entity_type, table in EMBEDDED_TABLES.items():
        if dialect == "sqlite":
            op.execute(
                f"CREATE TRIGGER {table}_vectors_delete AFTER DELETE ON {table} BEGIN "  # noqa: S608
                "DELETE FROM search_chunks WHERE connection_id = old.connection_id "
                f"AND entity_type = '{entity_type}' AND object_id = old.id; "
                "DELETE FROM embedded_entities WHERE connection_id = old.connection_id "
                f"AND entity_type = '{entity_type}' AND object_id = old.id; "
                "END"
            )
    if dialect == "postgresql":
        op.execute(
            """CREATE FUNCTION zensync_drop_vectors() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              DELETE FROM search_chunks WHERE connection_id = OLD.connection_id
                AND entity_type = TG_ARGV[0] AND object_id = OLD.id;
              DELETE FROM embedded_entities WHERE connection_id = OLD.connection_id
                AND entity_type = TG_ARGV[0] AND object_id = OLD.id;
              RETURN NULL;
            END $$"""
        )
        for entity_type, table in EMBEDDED_TABLES.items():
            op.execute(
                f"CREATE TRIGGER {table}_vectors_delete AFTER DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION zensync_drop_vectors('{entity_type}')"
            )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in EMBEDDED_TABLES.values():
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_vectors_delete ON {table}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_vectors_delete")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS zensync_drop_vectors()")
        op.execute("DROP TABLE IF EXISTS chunk_vectors")
    else:
        op.execute("DROP TRIGGER IF EXISTS search_chunks_vectors_delete")
        op.execute("DROP TABLE IF EXISTS chunk_vectors")
    op.drop_table("vector_index")
    op.drop_table("embedded_entities")
    op.drop_index("ix_search_chunks_entity", table_name="search_chunks")
    op.drop_table("search_chunks")
