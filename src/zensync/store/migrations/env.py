"""Alembic environment: migrations always run on a connection handed over by the store.

There is no ``alembic.ini``: :mod:`zensync.store.migrate` builds the configuration in code and
passes its open connection (already inside the transaction that serialises migrations).
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    version_table="schema_version",
    # SQLite cannot ALTER most things: batch mode rebuilds tables when a migration needs it.
    render_as_batch=connection.dialect.name == "sqlite",
    transaction_per_migration=False,
)
with context.begin_transaction():
    context.run_migrations()
