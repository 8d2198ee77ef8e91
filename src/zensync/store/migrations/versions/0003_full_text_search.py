"""Version 3: full-text search over tickets, comments, users, organizations, attachment names.

Each entity table gains ``search_text`` (the entity's ``search_text()``), backfilled here
from the stored JSON. Then:

- SQLite: one FTS5 external-content table per entity table (``tickets_fts`` ...), indexing
  ``name`` and ``search_text`` without storing the text twice, kept in step by triggers so
  every insert, update and delete (including cascades and sweeps) updates the index.
  Tokenizer: Porter stemming over unicode61 with diacritics folded.
- PostgreSQL: a stored generated ``search_vector`` (``english`` configuration; the name is
  weighted A, the rest B) with a GIN index.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from zensync.entities import EntityType

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES: dict[EntityType, str] = {
    "organization": "organizations",
    "user": "users",
    "ticket": "tickets",
    "comment": "comments",
    "attachment": "attachments",
}
FTS_TOKENIZE = "porter unicode61 remove_diacritics 2"
TS_CONFIG = "english"
BACKFILL_BATCH = 1000


def _backfill(table: str, entity_type: EntityType) -> None:
    """Compute ``search_text`` for rows written before this version, in keyset batches."""
    from zensync.store.rows import search_text_from_data

    bind = op.get_bind()
    rows_table = sa.table(
        table,
        sa.column("connection_id", sa.String),
        sa.column("id", sa.BigInteger),
        sa.column("name", sa.Text),
        sa.column("data", sa.JSON().with_variant(postgresql.JSONB(), "postgresql")),
        sa.column("search_text", sa.Text),
    )
    last: tuple[str, int] = ("", -(2**63))
    while True:
        batch = bind.execute(
            sa.select(rows_table.c.connection_id, rows_table.c.id, rows_table.c.name, rows_table.c.data)
            .where(sa.tuple_(rows_table.c.connection_id, rows_table.c.id) > sa.tuple_(*last))
            .order_by(rows_table.c.connection_id, rows_table.c.id)
            .limit(BACKFILL_BATCH)
        ).all()
        if not batch:
            return
        bind.execute(
            sa.update(rows_table)
            .where(rows_table.c.connection_id == sa.bindparam("b_connection_id"))
            .where(rows_table.c.id == sa.bindparam("b_id"))
            .values(search_text=sa.bindparam("b_search_text")),
            [
                {
                    "b_connection_id": row.connection_id,
                    "b_id": row.id,
                    "b_search_text": search_text_from_data(entity_type, row.data, row.name),
                }
                for row in batch
            ],
        )
        last = (batch[-1].connection_id, batch[-1].id)


def _sqlite_fts(table: str) -> None:
    fts = f"{table}_fts"
    op.execute(
        f"CREATE VIRTUAL TABLE {fts} USING fts5(name, search_text, content='{table}', "
        f"content_rowid='rowid', tokenize='{FTS_TOKENIZE}')"
    )
    op.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")  # noqa: S608
    op.execute(
        f"CREATE TRIGGER {table}_fts_insert AFTER INSERT ON {table} BEGIN "  # noqa: S608
        f"INSERT INTO {fts}(rowid, name, search_text) VALUES (new.rowid, new.name, new.search_text); "
        "END"
    )
    op.execute(
        f"CREATE TRIGGER {table}_fts_delete AFTER DELETE ON {table} BEGIN "  # noqa: S608
        f"INSERT INTO {fts}({fts}, rowid, name, search_text) "
        "VALUES ('delete', old.rowid, old.name, old.search_text); "
        "END"
    )
    op.execute(
        f"CREATE TRIGGER {table}_fts_update AFTER UPDATE OF name, search_text ON {table} BEGIN "  # noqa: S608
        f"INSERT INTO {fts}({fts}, rowid, name, search_text) "
        "VALUES ('delete', old.rowid, old.name, old.search_text); "
        f"INSERT INTO {fts}(rowid, name, search_text) VALUES (new.rowid, new.name, new.search_text); "
        "END"
    )


# PostgreSQL's parser keeps "invoice.pdf", "ada@example.com" or "a/b" as single lexemes, so a
# search for "invoice" would miss the file; SQLite's tokenizer splits them. Indexing the text a
# second time with that punctuation turned into spaces gives PostgreSQL both forms.
_SPLIT_FROM = "._@/:"
_SPLIT_TO = " " * len(_SPLIT_FROM)


def _weighted(column: str, weight: str) -> str:
    text = f"coalesce({column}, '')"
    split = f"translate({text}, '{_SPLIT_FROM}', '{_SPLIT_TO}')"
    return (
        f"setweight(to_tsvector('{TS_CONFIG}'::regconfig, {text}) || "
        f"to_tsvector('{TS_CONFIG}'::regconfig, {split}), '{weight}')"
    )


def _postgres_tsvector(table: str) -> None:
    op.add_column(
        table,
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            sa.Computed(f"{_weighted('name', 'A')} || {_weighted('search_text', 'B')}", persisted=True),
        ),
    )
    op.create_index(f"ix_{table}_search", table, ["search_vector"], postgresql_using="gin")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for entity_type, table in TABLES.items():
        op.add_column(table, sa.Column("search_text", sa.Text))
        _backfill(table, entity_type)
        if dialect == "sqlite":
            _sqlite_fts(table)
        elif dialect == "postgresql":
            _postgres_tsvector(table)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in TABLES.values():
        if dialect == "sqlite":
            for suffix in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_fts_{suffix}")
            op.execute(f"DROP TABLE IF EXISTS {table}_fts")
        elif dialect == "postgresql":
            op.drop_index(f"ix_{table}_search", table_name=table)
            op.drop_column(table, "search_vector")
        with op.batch_alter_table(table) as batch:
            batch.drop_column("search_text")
