"""Entity ⇄ row: which entity fields become typed columns, and the text that is indexed."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from zensync.entities import ENTITY_CLASSES, EntityType, ZendeskEntity
from zensync.store.schema import RawJSON

# Longest text indexed per row: PostgreSQL refuses tsvectors over 1 MB, and nobody searches
# for a word a hundred thousand characters into a comment.
MAX_SEARCH_TEXT = 100_000

# Typed columns per entity type, beyond those every entity table has. Each is read from the
# entity attribute of the same name (Zendesk's field or the resolved name).
TYPED_COLUMNS: dict[EntityType, tuple[str, ...]] = {
    "organization": ("external_id", "group_id"),
    "user": ("email", "role", "active", "suspended", "organization_id", "organization_name"),
    "ticket": (
        "subject",
        "status",
        "priority",
        "type",
        "requester_id",
        "requester_name",
        "submitter_id",
        "assignee_id",
        "assignee_name",
        "organization_id",
        "organization_name",
        "group_id",
        "group_name",
    ),
    "comment": ("ticket_id", "author_id", "author_name", "public"),
    "attachment": (
        "ticket_id",
        "comment_id",
        "file_name",
        "content_type",
        "size",
        "inline",
        "malware_scan_result",
        "content_sha256",
    ),
}

_INT_COLUMNS = frozenset(
    {
        "group_id",
        "organization_id",
        "requester_id",
        "submitter_id",
        "assignee_id",
        "ticket_id",
        "author_id",
        "comment_id",
        "size",
    }
)
_BOOL_COLUMNS = frozenset({"active", "suspended", "public", "inline"})


def _typed(column: str, value: Any) -> Any:
    """Coerce a value found in an extra (untyped) field to what the column holds."""
    if value is None:
        return None
    if column in _INT_COLUMNS:
        try:
            return int(value)
        except (TypeError, ValueError):
            return None
    if column in _BOOL_COLUMNS:
        return bool(value)
    return value if isinstance(value, str) else str(value)


def clip_search_text(text: str | None) -> str:
    return (text or "")[:MAX_SEARCH_TEXT]


def entity_row(
    entity: ZendeskEntity,
    connection_id: str,
    *,
    content_hash: str,
    synced_at: datetime,
    run_id: int | None,
) -> dict[str, Any]:
    """The row stored for ``entity``: key, common columns, typed columns, JSON, bookkeeping."""
    entity_type = entity.entity_type
    row: dict[str, Any] = {
        "connection_id": connection_id,
        "id": int(getattr(entity, "id")),  # noqa: B009 - every stored entity type declares id
        "entity_id": entity.entity_id,
        "name": entity.name or "",
        "web_url": entity.web_url,
        "created_at": entity.created_at,
        "updated_at": entity.updated_at,
    }
    for column in TYPED_COLUMNS[entity_type]:
        row[column] = _typed(column, getattr(entity, column, None))
    row["data"] = RawJSON(entity.model_dump_json())
    row["search_text"] = clip_search_text(entity.search_text())
    row["content_hash"] = content_hash
    row["synced_at"] = synced_at
    row["last_seen_run"] = run_id
    return row


def entity_from_data(entity_type: EntityType, data: Mapping[str, Any]) -> ZendeskEntity:
    """Rebuild the entity from its stored JSON."""
    return ENTITY_CLASSES[entity_type].model_validate(dict(data))


def search_text_from_data(entity_type: EntityType, data: Mapping[str, Any] | None, name: str) -> str:
    """The indexed text of a stored row; the name alone if the JSON no longer validates."""
    try:
        return clip_search_text(entity_from_data(entity_type, data or {}).search_text())
    except ValueError:
        return clip_search_text(name)
