"""The SQLite driver: ``sqlean-py``'s DB-API module, which can load extensions everywhere.

Many Python builds (pyenv's and macOS's among them) compile the standard ``sqlite3`` module
without ``enable_load_extension``, and the vectors live in ``sqlite-vec``, a loadable
extension. ``sqlean.dbapi2`` is a drop-in copy of ``sqlite3`` built against its own, recent
SQLite (FTS5 included) that keeps extension loading; SQLAlchemy uses it through the pysqlite
dialect's ``module=`` argument, so nothing else in the store changes.

Every connection loads ``sqlite-vec`` as it opens: vector tables and the triggers that keep
them in step with the entity rows then work on every connection, in every transaction.
"""

from __future__ import annotations

from typing import Any

import sqlean.dbapi2 as dbapi  # type: ignore[import-untyped]
import sqlite_vec  # type: ignore[import-untyped]

SQLITE_BUSY = 5

__all__ = ["SQLITE_BUSY", "connect", "dbapi", "load_extensions"]


def load_extensions(dbapi_connection: Any) -> None:
    """Load sqlite-vec into a new connection (then forbid further loading)."""
    dbapi_connection.enable_load_extension(True)
    try:
        sqlite_vec.load(dbapi_connection)
    finally:
        dbapi_connection.enable_load_extension(False)


def connect(path: str, **kwargs: Any) -> Any:
    """A plain DB-API connection with the extensions loaded (tools and tests)."""
    connection = dbapi.connect(path, **kwargs)
    load_extensions(connection)
    return connection
