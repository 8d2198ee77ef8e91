"""What the MCP tools return: pydantic models (their JSON schemas are the tools' output
schemas) and the short text an agent or a person reads beside them.

Every record carries its Zendesk id and ``web_url`` (the agent-UI link), so an agent can cite
what it found and a person can open it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field

TICKET_STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
TicketStatus = Literal["new", "open", "pending", "hold", "solved", "closed"]
SearchType = Literal["ticket", "comment", "attachment", "user", "organization"]


class Ref(BaseModel):
    """A user, organization or group a record points to: id and the name the sync resolved."""

    id: int
    name: str | None = None


class TicketSummary(BaseModel):
    """A ticket in a list: enough to decide whether to open it with ``get_ticket``."""

    id: int
    subject: str
    status: str | None = None
    priority: str | None = None
    type: str | None = None
    requester: Ref | None = None
    assignee: Ref | None = None
    organization: Ref | None = None
    group: Ref | None = None
    tags: list[str] = Field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    web_url: str | None = None

    def line(self) -> str:
        who = f" — {self.requester.name or f'user {self.requester.id}'}" if self.requester else ""
        return f"#{self.id} [{self.status or '?'}] {self.subject}{who} (updated {_day(self.updated_at)})"


class Match(BaseModel):
    """The record that matched: the ticket itself, one of its comments or attachments, a
    user or an organization."""

    type: SearchType
    id: int
    name: str
    web_url: str | None = None


class SearchHit(BaseModel):
    ticket: TicketSummary | None = Field(
        None, description="The ticket the match belongs to (none for user and organization matches)"
    )
    match: Match
    snippet: str = Field(description="Text around the match; matched words are wrapped in **")
    score: float = Field(description="Relevance, higher is better (comparable within one result list)")
    web_url: str | None = Field(None, description="Agent-UI link of the ticket, user or organization")


class SearchResult(BaseModel):
    query: str
    connection: str
    mode: Literal["keyword", "hybrid", "semantic"] = Field(
        description="How the hits were found: words, meaning (vectors), or both fused"
    )
    notice: str | None = Field(None, description="Why the mode differs from the one asked for, if it does")
    hits: list[SearchHit]
    public_only: bool = Field(description="True when internal notes and private comments were left out")

    def text(self) -> str:
        notice = f" ({self.notice})" if self.notice else ""
        if not self.hits:
            return f"No results for {self.query!r} in {self.connection}{notice}."
        lines = [
            f"{len(self.hits)} result(s) for {self.query!r} in {self.connection}, {self.mode} search{notice}:"
        ]
        for n, hit in enumerate(self.hits, 1):
            if hit.ticket is not None:
                head = hit.ticket.line()
                if hit.match.type != "ticket":
                    head += f" — in {hit.match.type} {hit.match.id}"
            else:
                head = f"{hit.match.type} {hit.match.id}: {hit.match.name}"
            lines.append(f"{n}. {head}\n   {hit.snippet}\n   {hit.web_url or ''}".rstrip())
        return "\n".join(lines)


class AttachmentOut(BaseModel):
    id: int
    file_name: str | None = None
    content_type: str | None = None
    size: int | None = Field(None, description="Bytes, as Zendesk reports them")
    inline: bool = False
    stored: bool = Field(description="Whether the file's bytes are stored in this copy")


class Author(BaseModel):
    id: int | None = None
    name: str | None = None
    role: str | None = Field(None, description="end-user, agent or admin, when the user is synced")


class CommentOut(BaseModel):
    id: int
    position: int = Field(description="1-based place in the conversation (of the comments shown)")
    author: Author
    public: bool = Field(description="False for an internal note")
    created_at: datetime | None = None
    body: str
    truncated: bool = Field(False, description="The body was cut to fit max_chars")
    body_chars: int = Field(description="Length of the whole body")
    attachments: list[AttachmentOut] = Field(default_factory=list)


FieldValue = str | int | float | bool | list[str] | None


class CustomField(BaseModel):
    """A custom ticket field that has a value: what it is called and what agents see."""

    id: int
    title: str | None = Field(None, description="The field's name (Ticket Fields); null if unknown")
    value: FieldValue = Field(None, description="The stored value (a drop-down's tag)")
    display_value: FieldValue = Field(
        None, description="The value as agents see it (a drop-down's option name)"
    )

    def show(self) -> str:
        shown = self.display_value if self.display_value not in (None, "", []) else self.value
        text = ", ".join(str(v) for v in shown) if isinstance(shown, list) else str(shown)
        return f"{self.title or f'field {self.id}'}: {text}"


class Satisfaction(BaseModel):
    score: str = Field(description="good, bad, offered or unoffered")
    comment: str | None = Field(None, description="What the requester wrote with the rating")


class TicketMetrics(BaseModel):
    """Ticket Metrics (calendar minutes), as of the last sync."""

    first_reply_time_minutes: int | None = None
    full_resolution_time_minutes: int | None = None
    replies: int | None = Field(None, description="Public agent replies")
    solved_at: datetime | None = None


class TicketDetail(TicketSummary):
    submitter: Ref | None = None
    requester_email: str | None = None
    channel: str | None = Field(None, description="How the ticket came in (via.channel)")
    due_at: datetime | None = None
    brand: Ref | None = None
    form: Ref | None = Field(None, description="The ticket form")
    custom_status: Ref | None = Field(None, description="The custom ticket status (agent label)")
    custom_fields: list[CustomField] = Field(default_factory=list)
    satisfaction: Satisfaction | None = Field(None, description="Satisfaction rating, if any")
    metrics: TicketMetrics | None = Field(None, description="Reply and resolution times, when synced")


class ConversationPage(BaseModel):
    comments: list[CommentOut]
    total_comments: int = Field(description="Comments in the whole conversation (of those shown)")
    next_cursor: str | None = Field(
        None, description="Pass as cursor to get_ticket for the next comments; null at the end"
    )


class TicketResult(BaseModel):
    connection: str
    ticket: TicketDetail
    conversation: ConversationPage
    public_only: bool

    def text(self) -> str:
        t = self.ticket
        lines = [
            f"Ticket #{t.id}: {t.subject}",
            f"Status {t.status or '?'}, priority {t.priority or '-'}, type {t.type or '-'}; "
            f"created {_when(t.created_at)}, updated {_when(t.updated_at)}",
            "Requester: " + _ref(t.requester) + (f" <{t.requester_email}>" if t.requester_email else ""),
            f"Assignee: {_ref(t.assignee)}; group: {_ref(t.group)}; organization: {_ref(t.organization)}",
        ]
        if t.tags:
            lines.append("Tags: " + ", ".join(t.tags))
        context = [
            f"{label}: {ref.name or ref.id}"
            for label, ref in (("Brand", t.brand), ("form", t.form), ("custom status", t.custom_status))
            if ref is not None
        ]
        if context:
            lines.append("; ".join(context))
        if t.custom_fields:
            lines.append("Custom fields: " + "; ".join(f.show() for f in t.custom_fields))
        if t.satisfaction:
            said = f' — "{t.satisfaction.comment}"' if t.satisfaction.comment else ""
            lines.append(f"Satisfaction: {t.satisfaction.score}{said}")
        if t.metrics:
            lines.append(_metrics_line(t.metrics))
        if t.web_url:
            lines.append(t.web_url)
        page = self.conversation
        shown = (
            f"comments {page.comments[0].position}–{page.comments[-1].position} of {page.total_comments}"
            if page.comments
            else f"no comments of {page.total_comments} on this page"
        )
        hidden = " (internal notes hidden)" if self.public_only else ""
        lines.append(f"\nConversation, {shown}{hidden}:")
        for c in page.comments:
            kind = "public reply" if c.public else "INTERNAL NOTE"
            role = f", {c.author.role}" if c.author.role else ""
            lines.append(
                f"\n[{c.position}] {c.author.name or c.author.id}{role} — {kind}, {_when(c.created_at)}"
            )
            lines.append(
                c.body + (f" […cut at {len(c.body)} of {c.body_chars} characters]" if c.truncated else "")
            )
            for a in c.attachments:
                stored = "stored" if a.stored else "not stored"
                lines.append(f"  📎 {a.file_name} ({a.content_type or '?'}, {a.size or 0} bytes, {stored})")
        if page.next_cursor:
            lines.append(f"\nMore comments: call get_ticket again with cursor={page.next_cursor!r}.")
        return "\n".join(lines)


class UserRecord(BaseModel):
    id: int
    name: str
    email: str | None = None
    role: str | None = None
    active: bool | None = None
    suspended: bool | None = None
    organization: Ref | None = None
    tags: list[str] = Field(default_factory=list)
    time_zone: str | None = None
    locale: str | None = None
    phone: str | None = None
    details: str | None = Field(None, description="Left out with public_only")
    notes: str | None = Field(None, description="Agents' notes about the user; left out with public_only")
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_login_at: datetime | None = None
    web_url: str | None = None


class UserResult(BaseModel):
    connection: str
    user: UserRecord
    requested_count: int = Field(description="Tickets this user requested")
    recent_requested: list[TicketSummary] = Field(description="Most recently updated first")
    assigned_count: int = Field(description="Tickets assigned to this user (agents)")
    recent_assigned: list[TicketSummary]
    public_only: bool

    def text(self) -> str:
        u = self.user
        lines = [
            f"User {u.id}: {u.name}" + (f" <{u.email}>" if u.email else "") + f", {u.role or 'role unknown'}",
        ]
        if u.organization:
            lines.append(f"Organization: {_ref(u.organization)}")
        if u.tags:
            lines.append("Tags: " + ", ".join(u.tags))
        if u.web_url:
            lines.append(u.web_url)
        lines.append(f"Requested {self.requested_count} ticket(s); most recent:")
        lines += [f"  {t.line()}" for t in self.recent_requested] or ["  none"]
        if self.assigned_count:
            lines.append(f"Assigned {self.assigned_count} ticket(s); most recent:")
            lines += [f"  {t.line()}" for t in self.recent_assigned]
        return "\n".join(lines)


class OrganizationRecord(BaseModel):
    id: int
    name: str
    domain_names: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    external_id: str | None = None
    group_id: int | None = None
    details: str | None = Field(None, description="Left out with public_only")
    notes: str | None = Field(None, description="Left out with public_only")
    created_at: datetime | None = None
    updated_at: datetime | None = None
    web_url: str | None = None


class OrganizationResult(BaseModel):
    connection: str
    organization: OrganizationRecord
    user_count: int
    ticket_count: int
    tickets_by_status: dict[str, int]
    recent_tickets: list[TicketSummary] = Field(description="Most recently updated first")
    public_only: bool

    def text(self) -> str:
        o = self.organization
        by_status = ", ".join(f"{k} {v}" for k, v in sorted(self.tickets_by_status.items()))
        lines = [
            f"Organization {o.id}: {o.name}" + (f" ({', '.join(o.domain_names)})" if o.domain_names else ""),
            f"{self.user_count} user(s), {self.ticket_count} ticket(s)"
            + (f": {by_status}" if by_status else ""),
        ]
        if o.web_url:
            lines.append(o.web_url)
        lines.append("Most recent tickets:")
        lines += [f"  {t.line()}" for t in self.recent_tickets] or ["  none"]
        return "\n".join(lines)


class TicketList(BaseModel):
    connection: str
    tickets: list[TicketSummary] = Field(description="Most recently updated first")
    total: int = Field(description="Tickets matching the filters")
    next_cursor: str | None = Field(None, description="Pass as cursor for the next page; null at the end")

    def text(self) -> str:
        if not self.tickets:
            return f"No tickets match in {self.connection} ({self.total} in all)."
        lines = [f"{len(self.tickets)} of {self.total} matching ticket(s) in {self.connection}:"]
        lines += [f"- {t.line()}  {t.web_url or ''}".rstrip() for t in self.tickets]
        if self.next_cursor:
            lines.append(f"More: call list_tickets again with cursor={self.next_cursor!r}.")
        return "\n".join(lines)


class RunInfo(BaseModel):
    id: int
    mode: str
    status: str
    started_at: datetime
    finished_at: datetime | None = None
    duration_seconds: float | None = None
    error: str | None = None


class StreamPosition(BaseModel):
    stream: str
    position: datetime | None = Field(None, description="Changes after this time are not in the copy yet")
    age_seconds: int | None = None


class ConnectionStatus(BaseModel):
    id: str
    name: str
    subdomain: str | None = None
    status: str | None = Field(None, description="The stored connection's state (null for CLI-only syncs)")
    public_only: bool = Field(description="Whether this connection's internal notes are hidden from agents")
    counts: dict[str, int] = Field(description="Stored live records per type")
    last_run: RunInfo | None = None
    last_success_at: datetime | None = None
    data_age_seconds: int | None = Field(None, description="Seconds since the last successful sync ended")
    streams: list[StreamPosition] = Field(default_factory=list)
    web_url: str | None = Field(None, description="The account's agent UI")

    def line(self, now: datetime) -> str:
        age = _age(self.data_age_seconds)
        run = f"last run {self.last_run.status}" if self.last_run else "never synced"
        counts = ", ".join(f"{v} {k}s" for k, v in self.counts.items())
        return f"{self.id}: data as of {age} ({run}); {counts}"


class SyncStatusResult(BaseModel):
    generated_at: datetime
    connections: list[ConnectionStatus]

    def text(self) -> str:
        if not self.connections:
            return "No account has been synced into this copy yet."
        return "\n".join(c.line(self.generated_at) for c in self.connections)


def _metrics_line(m: TicketMetrics) -> str:
    parts = [
        f"first reply {_minutes(m.first_reply_time_minutes)}",
        f"full resolution {_minutes(m.full_resolution_time_minutes)}",
    ]
    if m.replies is not None:
        parts.append(f"{m.replies} repl{'y' if m.replies == 1 else 'ies'}")
    if m.solved_at:
        parts.append(f"solved {_when(m.solved_at)}")
    return "Metrics: " + ", ".join(parts)


def _minutes(value: int | None) -> str:
    if value is None:
        return "-"
    hours, minutes = divmod(value, 60)
    days, hours = divmod(hours, 24)
    shown = " ".join(f"{n}{u}" for n, u in ((days, "d"), (hours, "h")) if n)
    return f"{shown} {minutes}m".strip() if shown else f"{minutes}m"


def _ref(ref: Ref | None) -> str:
    if ref is None:
        return "-"
    return f"{ref.name} ({ref.id})" if ref.name else str(ref.id)


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "?"


def _day(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d") if value else "?"


def _age(seconds: int | None) -> str:
    if seconds is None:
        return "never"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return f"{seconds} seconds ago"
