"""The public data model: the five Zendesk entity types zensync keeps, and what a source emits.

Every entity keeps every field Zendesk returned for the object (the fields of the spec's
``OrganizationObject``, ``UserForAdmin``, ``TicketObject``, ``TicketCommentObject`` and
``AttachmentObject`` are typed; unknown new fields are kept too, via ``extra="allow"``), plus
the common fields every zensync entity carries: ``entity_id``, ``breadcrumbs``, ``name``,
``created_at``, ``updated_at``, ``web_url``.

Fields are optional wherever Zendesk may send ``null`` or leave them out (end-user views,
older objects, plan-dependent features), so a sparse object never fails validation.

Change detection hashes the *content* (``content_hash``): Zendesk's fields and the resolved
names, never sync metadata, so an unchanged object hashes the same on every run.

Each class has a ``from_api`` constructor that turns Zendesk's JSON into the entity; the source
passes in what the JSON alone does not say (agent-UI links, resolved names, the parent ticket
and comment), so the model stays free of any HTTP or configuration concern.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

EntityType = Literal["ticket", "comment", "user", "organization", "attachment"]
ENTITY_TYPES: tuple[EntityType, ...] = ("organization", "user", "ticket", "comment", "attachment")


class Breadcrumb(BaseModel):
    """One step of the path from the top object to this one (ticket → comment → attachment)."""

    entity_id: str
    name: str
    entity_type: EntityType


def _none_as_empty(cls: type[BaseModel], value: Any) -> Any:
    """Zendesk sends ``null`` for some list fields on older objects; keep the type simple."""
    return value if value is not None else []


def _strip_html(text: str) -> str:
    """Plain text of an HTML body, for search when Zendesk gave no ``plain_body``."""
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.IGNORECASE | re.DOTALL)
    text = re.sub(r"<br\s*/?>|</p>|</div>|</li>", "\n", text, flags=re.IGNORECASE)
    text = re.sub(r"<[^>]+>", " ", text)
    return re.sub(r"[ \t\r\f\v]+", " ", html.unescape(text)).strip()


def _join(*parts: Any) -> str:
    """Search text from the non-empty parts, one per line."""
    out: list[str] = []
    for part in parts:
        if part is None:
            continue
        if isinstance(part, list | tuple):
            text = " ".join(str(p) for p in part if p not in (None, ""))
        else:
            text = str(part)
        if text.strip():
            out.append(text.strip())
    return "\n".join(out)


class ZendeskEntity(BaseModel):
    """Fields common to every entity. Subclasses add Zendesk's own fields."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    entity_type: ClassVar[EntityType]
    # Fields that are sync metadata, not content: excluded from the hash.
    hash_excluded: ClassVar[frozenset[str]] = frozenset({"breadcrumbs"})
    # Python memory one entity of this type takes beside its top-level text (measured with
    # tracemalloc on CPython 3.11 for the simulator's objects: nested dicts, lists, numbers and
    # the model itself); :meth:`approx_size` adds the text. Read-ahead budgets count it.
    approx_overhead: ClassVar[int] = 3_000

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

    def approx_size(self) -> int:
        """About how many bytes this entity holds in memory (cheap: no serialization)."""
        size = self.approx_overhead
        for value in self.__dict__.values():
            if isinstance(value, str):
                size += len(value)
        for value in (self.__pydantic_extra__ or {}).values():
            if isinstance(value, str):
                size += len(value)
        return size

    def breadcrumb(self) -> Breadcrumb:
        """This entity as a step in its children's breadcrumbs."""
        return Breadcrumb(entity_id=self.entity_id, name=self.name, entity_type=self.entity_type)

    @staticmethod
    def make_entity_id(entity_type: EntityType, object_id: int | str) -> str:
        """``"{type}:{zendesk id}"``: stable across runs, unique across the five types."""
        return f"{entity_type}:{object_id}"


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
    # Tickets whose every comment, with every attachment, is in this page (read again in
    # full): the engine removes stored attachments of theirs that are not, as when an Agent
    # Workspace redaction takes an inline image out of a comment altogether.
    complete_tickets: list[int] = Field(default_factory=list)


class ZendeskOrganizationEntity(ZendeskEntity):
    """An organization (spec ``OrganizationObject``)."""

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
    # Present (non-null) in the incremental organization export for deleted organizations.
    deleted_at: datetime | None = None

    null_lists_as_empty = field_validator("domain_names", "tags", mode="before")(_none_as_empty)

    @field_validator("organization_fields", mode="before")
    @classmethod
    def _fields_dict(cls, value: Any) -> Any:
        return value if value is not None else {}

    @classmethod
    def from_api(cls, raw: dict[str, Any], *, web_url: str | None = None) -> ZendeskOrganizationEntity:
        data = dict(raw)
        data["entity_id"] = cls.make_entity_id("organization", raw["id"])
        data["name"] = raw.get("name") or f"Organization #{raw['id']}"
        data["web_url"] = web_url
        return cls.model_validate(data)

    def search_text(self) -> str:
        return _join(self.name, self.details, self.notes, self.domain_names, self.tags)


class ZendeskUserEntity(ZendeskEntity):
    """A user of any role, with or without an email (spec ``UserForAdmin``)."""

    entity_type: ClassVar[EntityType] = "user"
    approx_overhead: ClassVar[int] = 5_000

    id: int
    url: str | None = None
    email: str | None = None
    alias: str | None = None
    active: bool | None = None
    role: str | None = None
    role_type: int | None = None
    custom_role_id: int | None = None
    default_group_id: int | None = None
    organization_id: int | None = None
    external_id: str | None = None
    phone: str | None = None
    shared_phone_number: bool | None = None
    photo: dict[str, Any] | None = None
    locale: str | None = None
    locale_id: int | None = None
    time_zone: str | None = None
    iana_time_zone: str | None = None
    details: str | None = None
    notes: str | None = None
    signature: str | None = None
    tags: list[str] = Field(default_factory=list)
    user_fields: dict[str, Any] = Field(default_factory=dict)
    verified: bool | None = None
    suspended: bool | None = None
    restricted_agent: bool | None = None
    ticket_restriction: str | None = None
    only_private_comments: bool | None = None
    moderator: bool | None = None
    chat_only: bool | None = None
    shared: bool | None = None
    shared_agent: bool | None = None
    two_factor_auth_enabled: bool | None = None
    report_csv: bool | None = None
    remote_photo_url: str | None = None
    last_login_at: datetime | None = None
    # Resolved by the sync from ``organization_id``.
    organization_name: str | None = None

    null_lists_as_empty = field_validator("tags", mode="before")(_none_as_empty)

    @field_validator("user_fields", mode="before")
    @classmethod
    def _fields_dict(cls, value: Any) -> Any:
        return value if value is not None else {}

    @classmethod
    def from_api(
        cls, raw: dict[str, Any], *, web_url: str | None = None, organization_name: str | None = None
    ) -> ZendeskUserEntity:
        data = dict(raw)
        data["entity_id"] = cls.make_entity_id("user", raw["id"])
        data["name"] = raw.get("name") or raw.get("email") or f"User #{raw['id']}"
        data["web_url"] = web_url
        data["organization_name"] = organization_name
        return cls.model_validate(data)

    def search_text(self) -> str:
        return _join(
            self.name, self.email, self.alias, self.organization_name, self.details, self.notes, self.tags
        )


class ZendeskTicketEntity(ZendeskEntity):
    """A ticket, archived or not (spec ``TicketObject``)."""

    entity_type: ClassVar[EntityType] = "ticket"
    approx_overhead: ClassVar[int] = 8_500

    id: int
    url: str | None = None
    external_id: str | None = None
    type: str | None = None
    subject: str | None = None
    raw_subject: str | None = None
    description: str | None = None
    priority: str | None = None
    status: str | None = None
    custom_status_id: int | None = None
    recipient: str | None = None
    requester_id: int | None = None
    submitter_id: int | None = None
    assignee_id: int | None = None
    organization_id: int | None = None
    group_id: int | None = None
    collaborator_ids: list[int] = Field(default_factory=list)
    follower_ids: list[int] = Field(default_factory=list)
    email_cc_ids: list[int] = Field(default_factory=list)
    problem_id: int | None = None
    has_incidents: bool | None = None
    is_public: bool | None = None
    due_at: datetime | None = None
    tags: list[str] = Field(default_factory=list)
    custom_fields: list[dict[str, Any]] = Field(default_factory=list)
    satisfaction_rating: dict[str, Any] | None = None
    sharing_agreement_ids: list[int] = Field(default_factory=list)
    followup_ids: list[int] = Field(default_factory=list)
    ticket_form_id: int | None = None
    brand_id: int | None = None
    forum_topic_id: int | None = None
    allow_channelback: bool | None = None
    allow_attachments: bool | None = None
    from_messaging_channel: bool | None = None
    generated_timestamp: int | None = None
    via: dict[str, Any] | None = None
    # Resolved by the sync from the ids above.
    requester_name: str | None = None
    submitter_name: str | None = None
    assignee_name: str | None = None
    organization_name: str | None = None
    group_name: str | None = None
    # What the ids mean to the people reading the ticket (source/context.py): each set custom
    # field as {id, title, value, display_value}, form, brand and status names, the
    # satisfaction rating, and the Ticket Metrics people look at.
    custom_field_values: list[dict[str, Any]] = Field(default_factory=list)
    ticket_form_name: str | None = None
    brand_name: str | None = None
    custom_status_name: str | None = None
    satisfaction_score: str | None = None
    satisfaction_comment: str | None = None
    first_reply_time_minutes: int | None = None
    full_resolution_time_minutes: int | None = None
    replies: int | None = None
    solved_at: datetime | None = None

    # ``generated_timestamp`` moves on every system update, even one that changes nothing a
    # person can see; hashing it would report such tickets as changed. It is kept but not hashed.
    hash_excluded: ClassVar[frozenset[str]] = frozenset({"breadcrumbs", "generated_timestamp"})

    null_lists_as_empty = field_validator(
        "collaborator_ids",
        "follower_ids",
        "email_cc_ids",
        "tags",
        "custom_fields",
        "sharing_agreement_ids",
        "followup_ids",
        mode="before",
    )(_none_as_empty)

    @classmethod
    def from_api(
        cls,
        raw: dict[str, Any],
        *,
        web_url: str | None = None,
        requester_name: str | None = None,
        submitter_name: str | None = None,
        assignee_name: str | None = None,
        organization_name: str | None = None,
        group_name: str | None = None,
        context: dict[str, Any] | None = None,
    ) -> ZendeskTicketEntity:
        data = dict(raw)
        data.update(context or {})
        data["entity_id"] = cls.make_entity_id("ticket", raw["id"])
        data["name"] = ticket_name(raw)
        data["web_url"] = web_url
        data.update(
            requester_name=requester_name,
            submitter_name=submitter_name,
            assignee_name=assignee_name,
            organization_name=organization_name,
            group_name=group_name,
        )
        return cls.model_validate(data)

    def search_text(self) -> str:
        return _join(
            self.subject,
            self.description,
            self.tags,
            self.requester_name,
            self.submitter_name,
            self.assignee_name,
            self.organization_name,
            self.group_name,
            [f"{f.get('title') or ''}: {_shown(f.get('display_value'))}" for f in self.custom_field_values],
            self.ticket_form_name,
            self.brand_name,
            self.custom_status_name,
            self.satisfaction_comment,
        )


def _shown(value: Any) -> str:
    return ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)


def ticket_name(raw: dict[str, Any]) -> str:
    """A ticket's display name: its subject, or ``Ticket #id`` when it has none."""
    subject = raw.get("subject")
    return subject.strip() if isinstance(subject, str) and subject.strip() else f"Ticket #{raw['id']}"


class ZendeskCommentEntity(ZendeskEntity):
    """A comment or internal note on a ticket (spec ``TicketCommentObject``).

    The comment's attachments are entities of their own; the comment keeps their ids in
    ``attachment_ids`` (inline images included). Comments are never edited in place except by
    redaction, so ``updated_at`` is the creation time.
    """

    entity_type: ClassVar[EntityType] = "comment"

    id: int
    ticket_id: int
    type: str | None = None
    author_id: int | None = None
    author_name: str | None = None
    body: str | None = None
    html_body: str | None = None
    plain_body: str | None = None
    public: bool = True
    audit_id: int | None = None
    via: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    attachment_ids: list[int] = Field(default_factory=list)

    # Keys of the event-stream form of a comment (``ticket_events?include=comment_events``)
    # that describe the event, not the comment; dropped so both forms hash the same.
    _EVENT_ONLY: ClassVar[tuple[str, ...]] = ("event_type", "via_reference_id", "uploads", "attachments")

    @classmethod
    def from_api(
        cls,
        raw: dict[str, Any],
        *,
        ticket: Breadcrumb,
        ticket_id: int,
        web_url: str | None = None,
        author_name: str | None = None,
    ) -> ZendeskCommentEntity:
        data = {k: v for k, v in raw.items() if k not in cls._EVENT_ONLY}
        data["entity_id"] = cls.make_entity_id("comment", raw["id"])
        data["ticket_id"] = ticket_id
        data["name"] = f"Comment #{raw['id']} on #{ticket_id}"
        data["breadcrumbs"] = [ticket]
        data["web_url"] = web_url
        data["author_name"] = author_name
        data["updated_at"] = raw.get("updated_at") or raw.get("created_at")
        data["attachment_ids"] = [a["id"] for a in raw.get("attachments") or [] if isinstance(a, dict)]
        if data.get("public") is None:
            data["public"] = True
        return cls.model_validate(data)

    def search_text(self) -> str:
        if self.plain_body:
            return self.plain_body
        if self.body:
            return self.body
        return _strip_html(self.html_body or "")


class ZendeskAttachmentEntity(ZendeskEntity):
    """A file on a comment, inline images included (spec ``AttachmentObject``).

    ``ticket_id``, ``comment_id`` and ``public`` (the comment's flag: internal-note files must
    not be shown as public) tie it to its comment. ``content_url`` is where the bytes are;
    downloading them is the sync's choice, which then fills ``content_sha256``.
    """

    entity_type: ClassVar[EntityType] = "attachment"
    approx_overhead: ClassVar[int] = 2_000

    id: int
    ticket_id: int
    comment_id: int
    public: bool = True
    url: str | None = None
    file_name: str | None = None
    content_url: str | None = None
    mapped_content_url: str | None = None
    content_type: str | None = None
    size: int | None = None
    width: int | None = None
    height: int | None = None
    inline: bool = False
    deleted: bool | None = None
    malware_access_override: bool | None = None
    malware_scan_result: str | None = None
    thumbnails: list[dict[str, Any]] = Field(default_factory=list)
    # Filled by the sync when the bytes are downloaded: SHA-256 of the content.
    content_sha256: str | None = None

    # The bytes' hash is added by the sync after download, so it is not part of what Zendesk
    # said about the attachment.
    hash_excluded: ClassVar[frozenset[str]] = frozenset({"breadcrumbs", "content_sha256"})

    null_lists_as_empty = field_validator("thumbnails", mode="before")(_none_as_empty)

    @field_validator("width", "height", mode="before")
    @classmethod
    def _pixels(cls, value: Any) -> Any:
        """The spec types width/height as strings (newer copies: integers); keep a number."""
        if isinstance(value, str):
            return int(value) if value.strip().isdigit() else None
        return value

    @field_validator("inline", mode="before")
    @classmethod
    def _inline(cls, value: Any) -> Any:
        return bool(value) if value is not None else False

    @classmethod
    def from_api(
        cls,
        raw: dict[str, Any],
        *,
        comment: ZendeskCommentEntity,
        ticket: Breadcrumb,
    ) -> ZendeskAttachmentEntity:
        data = dict(raw)
        data["entity_id"] = cls.make_entity_id("attachment", raw["id"])
        data["ticket_id"] = comment.ticket_id
        data["comment_id"] = comment.id
        data["public"] = comment.public
        data["name"] = raw.get("file_name") or f"Attachment #{raw['id']}"
        data["breadcrumbs"] = [ticket, comment.breadcrumb()]
        data["web_url"] = comment.web_url
        data["created_at"] = raw.get("created_at") or comment.created_at
        data["updated_at"] = raw.get("updated_at") or comment.created_at
        return cls.model_validate(data)

    def search_text(self) -> str:
        return self.file_name or self.name


ENTITY_CLASSES: dict[EntityType, type[ZendeskEntity]] = {
    "organization": ZendeskOrganizationEntity,
    "user": ZendeskUserEntity,
    "ticket": ZendeskTicketEntity,
    "comment": ZendeskCommentEntity,
    "attachment": ZendeskAttachmentEntity,
}
