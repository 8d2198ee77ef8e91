"""Schema versions: Alembic migrations shipped inside the package, run when a store opens.

The version lives in the ``schema_version`` table. Opening an older database upgrades it in
place; opening a database newer than this program refuses with a clear message rather than
guessing. Two processes opening the same new database at once are serialised: SQLite by the
write lock of ``BEGIN IMMEDIATE``, PostgreSQL by a transaction-level advisory lock.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from zensync.store.base import StoreError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
VERSION_TABLE = "schema_version"
# Arbitrary constant key for pg_advisory_xact_lock: "zensync schema".
_PG_MIGRATION_LOCK = 0x7A656E73796E63


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(connection: Connection) -> str | None:
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def upgrade(engine: Engine, target: str = "head") -> str | None:
    """Bring the schema to ``target`` (default: the newest) in one transaction; return it."""
    script = ScriptDirectory.from_config(_config())
    known = {rev.revision for rev in script.walk_revisions()}
    if target == "head":
        # Already current (the usual case): no write lock, so opening a store never waits
        # for a sync that is committing a page.
        with engine.connect() as connection:
            current = current_revision(connection)
        if current == script.get_current_head():
            return current
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            connection = connection.execution_options(zensync_write=True)
        with connection.begin():
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            current = current_revision(connection)
            if current is not None and current not in known:
                raise StoreError(
                    f"This database has schema version {current}, newer than this zensync knows "
                    f"(up to {script.get_current_head()}); upgrade zensync to open it."
                )
            wanted = script.get_current_head() if target == "head" else target
            if current != wanted:
                command.upgrade(_config(connection), target)
            return current_revision(connection)
