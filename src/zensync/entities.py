"""The public data model: the five Zendesk entity types zensync keeps, and what a source emits.

Every entity keeps every field Zendesk returned for the object (unknown new fields are kept
too, via ``extra="allow"``), plus the common fields every zensync entity carries:
``entity_id``, ``breadcrumbs``, ``name``, ``created_at``, ``updated_at``, ``web_url``.

Change detection hashes the *content* (``content_hash``): Zendesk's fields and the resolved
names, never sync metadata, so an unchanged object hashes the same on every run.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

EntityType = Literal["ticket", "comment", "user", "organization", "attachment"]
ENTITY_TYPES: tuple[EntityType, ...] = ("organization", "user", "ticket", "comment", "attachment")


class Breadcrumb(BaseModel):
    """One step of the path from the top object to this one (ticket → comment → attachment)."""

    entity_id: str
    name: str
    entity_type: EntityType


class ZendeskEntity(BaseModel):
    """Fields common to every entity. Subclasses add Zendesk's own fields."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    entity_type: ClassVar[EntityType]
    # Fields that are sync metadata, not content: excluded from the hash.
    hash_excluded: ClassVar[frozenset[str]] = frozenset({"breadcrumbs"})

    entity_id: str
    breadcrumbs: list[Breadcrumb] = Field(default_factory=list)
    name: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    web_url: str | None = None

    def search_text(self) -> str:
        """The text indexed for full-text search. Subclasses refine it."""
        return self.name

    def content(self) -> dict[str, Any]:
        """The entity as JSON-compatible data, without sync metadata."""
        return self.model_dump(mode="json", exclude=set(self.hash_excluded))

    def content_hash(self) -> str:
        """A stable SHA-256 of the content: equal for equal content, whatever the key order."""
        payload = json.dumps(self.content(), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(payload.encode()).hexdigest()


class Deletion(BaseModel):
    """An object that no longer exists in Zendesk (or is out of scope): the store removes it.

    Deleting a ticket also removes its comments and their attachments; deleting a comment
    removes its attachments.
    """

    entity_type: EntityType
    entity_id: str
    reason: str = "deleted"


class SourcePage(BaseModel):
    """What a source yields: one page of work and the cursor to resume *after* it.

    The sync engine stores the page's entities, applies its deletions and saves ``cursor``
    in one transaction. Passing that cursor back to the source resumes without loss;
    re-emitting an entity already stored is allowed (it is then "unchanged").
    """

    stream: str
    entities: list[ZendeskEntity] = Field(default_factory=list)
    deletions: list[Deletion] = Field(default_factory=list)
    cursor: dict[str, Any] = Field(default_factory=dict)
    # True on the last page of a full read of a stream whose upstream cannot report
    # deletions; the engine may then remove stored objects of ``stream`` not seen this run.
    complete_snapshot: bool = False


class ZendeskOrganizationEntity(ZendeskEntity):
    entity_type: ClassVar[EntityType] = "organization"

    id: int
    url: str | None = None
    details: str | None = None
    notes: str | None = None
    domain_names: list[str] = Field(default_factory=list)
    external_id: str | None = None
    group_id: int | None = None
    shared_tickets: bool | None = None
    shared_comments: bool | None = None
    tags: list[str] = Field(default_factory=list)
    organization_fields: dict[str, Any] = Field(default_factory=dict)


class ZendeskUserEntity(ZendeskEntity):
    entity_type: ClassVar[EntityType] = "user"

    id: int
    url: str | None = None
    email: str | None = None
    role: str | None = None
    active: bool | None = None
    suspended: bool | None = None
    organization_id: int | None = None
    organization_name: str | None = None
    tags: list[str] = Field(default_factory=list)


class ZendeskTicketEntity(ZendeskEntity):
    entity_type: ClassVar[EntityType] = "ticket"

    id: int
    url: str | None = None
    subject: str | None = None
    description: str | None = None
    status: str | None = None
    priority: str | None = None
    type: str | None = None
    requester_id: int | None = None
    submitter_id: int | None = None
    assignee_id: int | None = None
    organization_id: int | None = None
    group_id: int | None = None
    requester_name: str | None = None
    submitter_name: str | None = None
    assignee_name: str | None = None
    organization_name: str | None = None
    group_name: str | None = None
    tags: list[str] = Field(default_factory=list)


class ZendeskCommentEntity(ZendeskEntity):
    entity_type: ClassVar[EntityType] = "comment"

    id: int
    ticket_id: int
    author_id: int | None = None
    author_name: str | None = None
    body: str | None = None
    html_body: str | None = None
    plain_body: str | None = None
    public: bool = True


class ZendeskAttachmentEntity(ZendeskEntity):
    entity_type: ClassVar[EntityType] = "attachment"

    id: int
    ticket_id: int
    comment_id: int
    file_name: str | None = None
    content_url: str | None = None
    content_type: str | None = None
    size: int | None = None
    inline: bool = False
    malware_scan_result: str | None = None
    # Filled by the sync when the bytes are downloaded: SHA-256 of the content.
    content_sha256: str | None = None


ENTITY_CLASSES: dict[EntityType, type[ZendeskEntity]] = {
    "organization": ZendeskOrganizationEntity,
    "user": ZendeskUserEntity,
    "ticket": ZendeskTicketEntity,
    "comment": ZendeskCommentEntity,
    "attachment": ZendeskAttachmentEntity,
}
