"""Read-side queries over the copy that serve search and the MCP server.

The store's write path and bookkeeping live in ``store.py``; the SQL that only reads what a
sync stored, for showing it, lives here so that no module outside ``zensync.store`` builds
queries of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from zensync.entities import EntityType
from zensync.store.schema import ENTITY_TABLES, organizations, tickets, users

if TYPE_CHECKING:
    from zensync.store.store import Store

# (connection, id) pairs per IN (...) list: two parameters each, well under SQLite's limit.
BRIEF_CHUNK = 400


def entity_briefs(
    store: Store, entity_type: EntityType, keys: Sequence[tuple[str, int]]
) -> list[tuple[Any, ...]]:
    """What a search result shows of the rows at ``keys`` ((connection, id) pairs):
    connection_id, id, entity_id, name, web_url, created_at, updated_at, then status,
    organization_id and organization_name (a ticket's; a user's organization; an
    organization itself; None where they do not apply)."""
    table = ENTITY_TABLES[entity_type]
    extra: list[Any]
    if table is tickets:
        extra = [tickets.c.status, tickets.c.organization_id, tickets.c.organization_name]
    elif table is users:
        extra = [sa.null(), users.c.organization_id, users.c.organization_name]
    elif table is organizations:
        extra = [sa.null(), organizations.c.id, organizations.c.name]
    else:
        extra = [sa.null(), sa.null(), sa.null()]
    out: list[tuple[Any, ...]] = []
    with store.engine.connect() as conn:
        for start in range(0, len(keys), BRIEF_CHUNK):
            part = keys[start : start + BRIEF_CHUNK]
            out.extend(
                tuple(row)
                for row in conn.execute(
                    sa.select(
                        table.c.connection_id,
                        table.c.id,
                        table.c.entity_id,
                        table.c.name,
                        table.c.web_url,
                        table.c.created_at,
                        table.c.updated_at,
                        *extra,
                    ).where(sa.tuple_(table.c.connection_id, table.c.id).in_(part))
                )
            )
    return out
