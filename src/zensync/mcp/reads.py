"""The MCP server's read queries over the store: SQLite and PostgreSQL alike.

Each public method of :class:`Reader` answers one tool call inside ONE read transaction, so a
sync committing pages meanwhile is never seen half-way: on SQLite (WAL) the snapshot starts at
the first SELECT and lasts until the transaction ends; on PostgreSQL the transaction is
``REPEATABLE READ, READ ONLY``.

``public_only`` (the server's ``--public-only`` or the connection's ``mcp_public_only``) hides
internal notes everywhere: private comments and their attachments are never read, search
matches only public comments, and the ticket, user and organization texts that can hold
agent-only words (a ticket's description is its first comment, which may be an internal note;
users' and organizations' notes) are searched by name only.

Inputs an agent gets wrong raise :class:`ReadError` (``NotFound`` for unknown ids) whose
message says what to do instead.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from zensync.entities import ZendeskEntity
from zensync.mcp.models import (
    AttachmentOut,
    Author,
    CommentOut,
    ConnectionStatus,
    ConversationPage,
    CustomField,
    Match,
    OrganizationRecord,
    OrganizationResult,
    Ref,
    RunInfo,
    SearchHit,
    SearchResult,
    StreamPosition,
    SyncStatusResult,
    TicketDetail,
    TicketList,
    TicketResult,
    TicketSummary,
    UserRecord,
    UserResult,
)
from zensync.store import Store
from zensync.store.base import MATCH_END, MATCH_START
from zensync.store.rows import entity_from_data
from zensync.store.schema import (
    attachments,
    comments,
    connections,
    organizations,
    sync_runs,
    sync_state,
    tickets,
    users,
)
from zensync.store.search import BM25_WEIGHTS, SNIPPET_WORDS, TS_CONFIG, _fts5_string, fts5_query

SEARCH_TYPES = ("ticket", "comment", "attachment", "user", "organization")
DEFAULT_SEARCH_TYPES = ("ticket", "comment", "attachment")
TICKET_LINKED = frozenset({"ticket", "comment", "attachment"})
_WORD_RE = re.compile(r"\w", re.UNICODE)


class ReadError(ValueError):
    """A request the copy cannot answer as asked; the message names the fix."""


class NotFound(ReadError):
    """No such ticket, user, organization or connection in the copy."""


@dataclass(frozen=True)
class Scope:
    """The connection a call reads and whether its internal notes are hidden."""

    connection_id: str
    public_only: bool


@dataclass(frozen=True)
class TicketFilters:
    """Filters on tickets shared by ``search`` and ``list_tickets``."""

    statuses: tuple[str, ...] = ()
    requester_id: int | None = None
    organization_id: int | None = None
    assignee_id: int | None = None
    tag: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None

    @property
    def any(self) -> bool:
        return bool(self.statuses) or any(
            v is not None
            for v in (
                self.requester_id,
                self.organization_id,
                self.assignee_id,
                self.tag,
                self.created_after,
                self.created_before,
                self.updated_after,
                self.updated_before,
            )
        )

    def digest(self) -> str:
        """A short fingerprint, so a cursor cannot be replayed against other filters."""
        raw = json.dumps(
            [
                list(self.statuses),
                self.requester_id,
                self.organization_id,
                self.assignee_id,
                self.tag,
                *(
                    _utc(d).isoformat() if d else None
                    for d in (
                        self.created_after,
                        self.created_before,
                        self.updated_after,
                        self.updated_before,
                    )
                ),
            ]
        )
        return hashlib.sha256(raw.encode()).hexdigest()[:12]


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# ------------------------------------------------------------------------------------- cursors


def encode_cursor(data: Mapping[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, kind: str) -> dict[str, Any]:
    """The cursor's fields; ReadError for anything this server did not hand out for ``kind``."""
    try:
        padded = cursor.strip() + "=" * (-len(cursor.strip()) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error):
        data = None
    if not isinstance(data, dict) or data.get("k") != kind:
        raise ReadError(
            f"That cursor is not one this server returned for {kind}; pass the next_cursor of the "
            "previous result unchanged, or leave cursor out to start from the beginning."
        )
    return data


# ------------------------------------------------------------------------------------- reader


class Reader:
    """Read-only questions about the copy, each answered in one transaction."""

    def __init__(self, store: Store, *, public_only: bool = False, connection: str | None = None) -> None:
        self.store = store
        self.public_only = public_only
        self.connection = connection
        self.dialect = store.dialect

    # -- plumbing ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _tx(self) -> Iterator[Connection]:
        with self.store.engine.connect() as conn:
            if self.dialect == "postgresql":
                conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            with conn.begin():
                yield conn

    def _known_connections(self, conn: Connection) -> dict[str, Mapping[str, Any] | None]:
        """Connection id → its stored record (None for a CLI sync without a stored connection)."""
        records = {row["id"]: row for row in conn.execute(sa.select(connections)).mappings()}
        synced = conn.execute(sa.select(sync_state.c.connection_id)).scalars().all()
        found: dict[str, Mapping[str, Any] | None] = dict.fromkeys(sorted(synced))
        found.update(records)
        return dict(sorted(found.items()))

    def _scope(self, conn: Connection, requested: str | None) -> Scope:
        known = self._known_connections(conn)
        wanted = requested or self.connection
        if wanted is not None:
            if wanted not in known:
                choices = ", ".join(known) or "none yet"
                raise NotFound(f"No account {wanted!r} in this copy; the accounts here are: {choices}.")
        elif len(known) == 1:
            wanted = next(iter(known))
        elif not known:
            raise NotFound("This copy holds no synced account yet: run `zensync sync` first.")
        else:
            raise ReadError(
                f"This copy holds several accounts ({', '.join(known)}); pass connection= with one of them."
            )
        record = known[wanted]
        hidden = self.public_only or bool(record and record.get("mcp_public_only"))
        return Scope(connection_id=wanted, public_only=hidden)

    # -- ticket rows -----------------------------------------------------------------------

    _SUMMARY_COLUMNS = (
        tickets.c.id,
        tickets.c.name,
        tickets.c.subject,
        tickets.c.status,
        tickets.c.priority,
        tickets.c.type,
        tickets.c.requester_id,
        tickets.c.requester_name,
        tickets.c.assignee_id,
        tickets.c.assignee_name,
        tickets.c.organization_id,
        tickets.c.organization_name,
        tickets.c.group_id,
        tickets.c.group_name,
        tickets.c.created_at,
        tickets.c.updated_at,
        tickets.c.web_url,
    )

    def _summary_select(self) -> sa.Select[Any]:
        return sa.select(*self._SUMMARY_COLUMNS, tickets.c.data["tags"].label("tags"))

    @staticmethod
    def _summary(row: Any) -> TicketSummary:
        tags = row.tags
        if isinstance(tags, str):  # some drivers hand JSON back as text
            tags = json.loads(tags)
        return TicketSummary(
            id=int(row.id),
            subject=row.subject or row.name or f"Ticket #{row.id}",
            status=row.status,
            priority=row.priority,
            type=row.type,
            requester=_ref(row.requester_id, row.requester_name),
            assignee=_ref(row.assignee_id, row.assignee_name),
            organization=_ref(row.organization_id, row.organization_name),
            group=_ref(row.group_id, row.group_name),
            tags=[str(t) for t in tags or []],
            created_at=row.created_at,
            updated_at=row.updated_at,
            web_url=row.web_url,
        )

    def _ticket_conditions(self, filters: TicketFilters, table: sa.Table = tickets) -> list[Any]:
        c = table.c
        where: list[Any] = []
        if filters.statuses:
            where.append(c.status.in_(filters.statuses))
        if filters.requester_id is not None:
            where.append(c.requester_id == filters.requester_id)
        if filters.organization_id is not None:
            where.append(c.organization_id == filters.organization_id)
        if filters.assignee_id is not None:
            where.append(c.assignee_id == filters.assignee_id)
        if filters.created_after is not None:
            where.append(c.created_at >= _utc(filters.created_after))
        if filters.created_before is not None:
            where.append(c.created_at < _utc(filters.created_before))
        if filters.updated_after is not None:
            where.append(c.updated_at >= _utc(filters.updated_after))
        if filters.updated_before is not None:
            where.append(c.updated_at < _utc(filters.updated_before))
        if filters.tag is not None:
            where.append(self._has_tag(table, filters.tag))
        return where

    def _has_tag(self, table: sa.Table, tag: str) -> Any:
        name = table.name
        if self.dialect == "postgresql":
            return sa.text(f"({name}.data -> 'tags') @> jsonb_build_array(CAST(:tag AS text))").bindparams(
                tag=tag
            )
        exact = f"EXISTS (SELECT 1 FROM json_each({name}.data, '$.tags') AS tg WHERE tg.value = :tag)"  # noqa: S608
        if not _WORD_RE.search(tag):
            return sa.text(exact).bindparams(tag=tag)
        # Tags are part of a ticket's indexed text: the index finds the few candidates, the
        # JSON check keeps the exact ones (instead of reading every ticket's JSON).
        return sa.text(
            f"{name}.rowid IN (SELECT rowid FROM {name}_fts WHERE {name}_fts MATCH :tag_match) AND {exact}"  # noqa: S608
        ).bindparams(tag=tag, tag_match=f"search_text : {_fts5_string(tag)}")

    def _summaries(self, conn: Connection, scope: Scope, ids: Sequence[int]) -> dict[int, TicketSummary]:
        if not ids:
            return {}
        rows = conn.execute(
            self._summary_select().where(
                tickets.c.connection_id == scope.connection_id, tickets.c.id.in_(ids)
            )
        )
        return {int(r.id): self._summary(r) for r in rows}

    def _recent(
        self, conn: Connection, scope: Scope, where: Any, limit: int
    ) -> tuple[int, list[TicketSummary]]:
        base = [tickets.c.connection_id == scope.connection_id, where]
        total = int(conn.execute(sa.select(sa.func.count()).select_from(tickets).where(*base)).scalar_one())
        rows: Any = (
            conn.execute(
                self._summary_select()
                .where(*base)
                .order_by(tickets.c.updated_at.desc().nulls_last(), tickets.c.id.desc())
                .limit(limit)
            )
            if limit
            else []
        )
        return total, [self._summary(r) for r in rows]

    # -- tools -----------------------------------------------------------------------------

    def list_tickets(
        self,
        filters: TicketFilters,
        *,
        limit: int,
        cursor: str | None = None,
        connection: str | None = None,
    ) -> TicketList:
        with self._tx() as conn:
            scope = self._scope(conn, connection)
            where = [tickets.c.connection_id == scope.connection_id, *self._ticket_conditions(filters)]
            total = int(
                conn.execute(sa.select(sa.func.count()).select_from(tickets).where(*where)).scalar_one()
            )
            page_where = list(where)
            if cursor:
                data = decode_cursor(cursor, "list_tickets")
                if data.get("f") != filters.digest() or data.get("c") != scope.connection_id:
                    raise ReadError(
                        "That cursor belongs to a list_tickets call with other filters; repeat the "
                        "call with the same filters, or leave cursor out to start again."
                    )
                after_id = int(data["i"])
                if data.get("u") is None:  # inside the trailing tickets without updated_at
                    page_where.append(sa.and_(tickets.c.updated_at.is_(None), tickets.c.id < after_id))
                else:
                    after_time = datetime.fromisoformat(str(data["u"]))
                    page_where.append(
                        sa.or_(
                            tickets.c.updated_at < after_time,
                            sa.and_(tickets.c.updated_at == after_time, tickets.c.id < after_id),
                            tickets.c.updated_at.is_(None),
                        )
                    )
            rows = conn.execute(
                self._summary_select()
                .where(*page_where)
                .order_by(tickets.c.updated_at.desc().nulls_last(), tickets.c.id.desc())
                .limit(limit + 1)
            ).all()
        found = [self._summary(r) for r in rows[:limit]]
        next_cursor = None
        if len(rows) > limit and found:
            last = found[-1]
            next_cursor = encode_cursor(
                {
                    "k": "list_tickets",
                    "c": scope.connection_id,
                    "f": filters.digest(),
                    "u": last.updated_at.isoformat() if last.updated_at else None,
                    "i": last.id,
                }
            )
        return TicketList(connection=scope.connection_id, tickets=found, total=total, next_cursor=next_cursor)

    def get_ticket(
        self,
        ticket_id: int,
        *,
        cursor: str | None = None,
        max_comments: int = 50,
        max_chars: int = 20_000,
        connection: str | None = None,
    ) -> TicketResult:
        with self._tx() as conn:
            scope = self._scope(conn, connection)
            row = conn.execute(
                sa.select(tickets.c.data).where(
                    tickets.c.connection_id == scope.connection_id, tickets.c.id == ticket_id
                )
            ).first()
            if row is None:
                raise NotFound(
                    f"No ticket #{ticket_id} in the copy of {scope.connection_id} (never synced, deleted, "
                    "or a wrong number); find ids with search or list_tickets."
                )
            entity = entity_from_data("ticket", row.data)
            detail = self._ticket_detail(conn, scope, entity)

            visible = [comments.c.connection_id == scope.connection_id, comments.c.ticket_id == ticket_id]
            if scope.public_only:
                visible.append(comments.c.public.is_(True))
            total = int(
                conn.execute(sa.select(sa.func.count()).select_from(comments).where(*visible)).scalar_one()
            )
            position = 0
            page_where = list(visible)
            if cursor:
                data = decode_cursor(cursor, "get_ticket")
                if data.get("t") != ticket_id or data.get("c") != scope.connection_id:
                    raise ReadError(
                        f"That cursor belongs to another ticket (#{data.get('t')}); pass it with that "
                        "ticket_id, or leave cursor out to start this ticket's conversation."
                    )
                position = int(data["n"])
                after_time = datetime.fromisoformat(str(data["a"])) if data.get("a") else None
                after_id = int(data["i"])
                order_key = sa.func.coalesce(comments.c.created_at, _EPOCH)
                after_key = after_time or _EPOCH
                page_where.append(
                    sa.or_(order_key > after_key, sa.and_(order_key == after_key, comments.c.id > after_id))
                )
            rows = conn.execute(
                sa.select(
                    comments.c.id,
                    comments.c.author_id,
                    comments.c.author_name,
                    comments.c.public,
                    comments.c.created_at,
                    comments.c.data,
                )
                .where(*page_where)
                .order_by(sa.func.coalesce(comments.c.created_at, _EPOCH), comments.c.id)
                .limit(max_comments + 1)
            ).all()
            page, more = self._fit(rows, max_comments, max_chars)
            authors = self._authors(conn, scope, {r.author_id for r in page if r.author_id is not None})
            files = self._attachments(conn, scope, [int(r.id) for r in page])
        out: list[CommentOut] = []
        for n, r in enumerate(page, position + 1):
            body = _comment_body(r.data)
            budget = max_chars if n == position + 1 else len(body)
            author = authors.get(int(r.author_id)) if r.author_id is not None else None
            out.append(
                CommentOut(
                    id=int(r.id),
                    position=n,
                    author=Author(
                        id=int(r.author_id) if r.author_id is not None else None,
                        name=(author or {}).get("name") or r.author_name,
                        role=(author or {}).get("role"),
                    ),
                    public=bool(r.public),
                    created_at=r.created_at,
                    body=body[:budget],
                    truncated=len(body) > budget,
                    body_chars=len(body),
                    attachments=files.get(int(r.id), []),
                )
            )
        next_cursor = None
        if more and page:
            last = page[-1]
            next_cursor = encode_cursor(
                {
                    "k": "get_ticket",
                    "c": scope.connection_id,
                    "t": ticket_id,
                    "n": position + len(page),
                    "a": last.created_at.isoformat() if last.created_at else None,
                    "i": int(last.id),
                }
            )
        return TicketResult(
            connection=scope.connection_id,
            ticket=detail,
            conversation=ConversationPage(comments=out, total_comments=total, next_cursor=next_cursor),
            public_only=scope.public_only,
        )

    @staticmethod
    def _fit(rows: Sequence[Any], max_comments: int, max_chars: int) -> tuple[list[Any], bool]:
        """The comments that fit the page: at most ``max_comments`` and about ``max_chars``
        characters of body (always at least one, cut if it alone is longer)."""
        page: list[Any] = []
        used = 0
        for r in rows[:max_comments]:
            size = len(_comment_body(r.data))
            if page and used + size > max_chars:
                return page, True
            page.append(r)
            used += size
        return page, len(rows) > len(page)

    def _ticket_detail(self, conn: Connection, scope: Scope, t: ZendeskEntity) -> TicketDetail:
        data = t.model_dump(mode="json")
        requester_email = None
        if data.get("requester_id") is not None:
            requester_email = conn.execute(
                sa.select(users.c.email).where(
                    users.c.connection_id == scope.connection_id, users.c.id == data["requester_id"]
                )
            ).scalar_one_or_none()
        rating = data.get("satisfaction_rating") or {}
        return TicketDetail(
            id=int(data["id"]),
            subject=data.get("subject") or t.name,
            status=data.get("status"),
            priority=data.get("priority"),
            type=data.get("type"),
            requester=_ref(data.get("requester_id"), data.get("requester_name")),
            submitter=_ref(data.get("submitter_id"), data.get("submitter_name")),
            assignee=_ref(data.get("assignee_id"), data.get("assignee_name")),
            organization=_ref(data.get("organization_id"), data.get("organization_name")),
            group=_ref(data.get("group_id"), data.get("group_name")),
            tags=[str(x) for x in data.get("tags") or []],
            created_at=t.created_at,
            updated_at=t.updated_at,
            web_url=t.web_url,
            requester_email=requester_email,
            channel=(data.get("via") or {}).get("channel"),
            due_at=data.get("due_at"),
            custom_fields=[
                CustomField(id=int(f["id"]), value=f.get("value"))
                for f in data.get("custom_fields") or []
                if isinstance(f, dict) and f.get("id") is not None and f.get("value") not in (None, "", [])
            ],
            satisfaction=rating.get("score") if isinstance(rating, dict) else None,
        )

    def _authors(self, conn: Connection, scope: Scope, ids: set[int]) -> dict[int, dict[str, Any]]:
        if not ids:
            return {}
        rows = conn.execute(
            sa.select(users.c.id, users.c.name, users.c.role).where(
                users.c.connection_id == scope.connection_id, users.c.id.in_(sorted(ids))
            )
        )
        return {int(r.id): {"name": r.name, "role": r.role} for r in rows}

    def _attachments(
        self, conn: Connection, scope: Scope, comment_ids: list[int]
    ) -> dict[int, list[AttachmentOut]]:
        if not comment_ids:
            return {}
        found = conn.execute(
            sa.select(
                attachments.c.id,
                attachments.c.comment_id,
                attachments.c.file_name,
                attachments.c.content_type,
                attachments.c.size,
                attachments.c.inline,
                attachments.c.content_sha256,
            )
            .where(
                attachments.c.connection_id == scope.connection_id, attachments.c.comment_id.in_(comment_ids)
            )
        )
        # Sorted here: with an ORDER BY, SQLite's planner (no statistics) may walk every
        # attachment of the account in key order instead of using the comment index.
        rows = sorted(found, key=lambda r: (int(r.comment_id), int(r.id)))
        out: dict[int, list[AttachmentOut]] = {}
        blobs = self.store.blobs
        for r in rows:
            stored = bool(r.content_sha256) and (
                not blobs.configured or self.store.has_blob(r.content_sha256)
            )
            out.setdefault(int(r.comment_id), []).append(
                AttachmentOut(
                    id=int(r.id),
                    file_name=r.file_name,
                    content_type=r.content_type,
                    size=int(r.size) if r.size is not None else None,
                    inline=bool(r.inline),
                    stored=stored,
                )
            )
        return out

    def get_user(self, user_id: int, *, recent: int = 10, connection: str | None = None) -> UserResult:
        with self._tx() as conn:
            scope = self._scope(conn, connection)
            data = conn.execute(
                sa.select(users.c.data).where(
                    users.c.connection_id == scope.connection_id, users.c.id == user_id
                )
            ).scalar_one_or_none()
            if data is None:
                raise NotFound(
                    f"No user {user_id} in the copy of {scope.connection_id}; user ids appear as requester, "
                    "assignee and author ids in tickets, or search with types=['user']."
                )
            u = entity_from_data("user", data).model_dump(mode="json")
            requested_count, requested = self._recent(conn, scope, tickets.c.requester_id == user_id, recent)
            assigned_count, assigned = self._recent(conn, scope, tickets.c.assignee_id == user_id, recent)
        hide = scope.public_only
        record = UserRecord(
            id=int(u["id"]),
            name=u.get("name") or f"User {user_id}",
            email=u.get("email"),
            role=u.get("role"),
            active=u.get("active"),
            suspended=u.get("suspended"),
            organization=_ref(u.get("organization_id"), u.get("organization_name")),
            tags=[str(x) for x in u.get("tags") or []],
            time_zone=u.get("iana_time_zone") or u.get("time_zone"),
            locale=u.get("locale"),
            phone=u.get("phone"),
            details=None if hide else u.get("details"),
            notes=None if hide else u.get("notes"),
            created_at=u.get("created_at"),
            updated_at=u.get("updated_at"),
            last_login_at=u.get("last_login_at"),
            web_url=u.get("web_url"),
        )
        return UserResult(
            connection=scope.connection_id,
            user=record,
            requested_count=requested_count,
            recent_requested=requested,
            assigned_count=assigned_count,
            recent_assigned=assigned,
            public_only=hide,
        )

    def get_organization(
        self, organization_id: int, *, recent: int = 10, connection: str | None = None
    ) -> OrganizationResult:
        with self._tx() as conn:
            scope = self._scope(conn, connection)
            data = conn.execute(
                sa.select(organizations.c.data).where(
                    organizations.c.connection_id == scope.connection_id,
                    organizations.c.id == organization_id,
                )
            ).scalar_one_or_none()
            if data is None:
                raise NotFound(
                    f"No organization {organization_id} in the copy of {scope.connection_id}; organization "
                    "ids appear on tickets and users, or search with types=['organization']."
                )
            o = entity_from_data("organization", data).model_dump(mode="json")
            ticket_count, recent_tickets = self._recent(
                conn, scope, tickets.c.organization_id == organization_id, recent
            )
            by_status = {
                str(status or "unknown"): int(n)
                for status, n in conn.execute(
                    sa.select(tickets.c.status, sa.func.count())
                    .where(
                        tickets.c.connection_id == scope.connection_id,
                        tickets.c.organization_id == organization_id,
                    )
                    .group_by(tickets.c.status)
                )
            }
            user_count = int(
                conn.execute(
                    sa.select(sa.func.count())
                    .select_from(users)
                    .where(
                        users.c.connection_id == scope.connection_id,
                        users.c.organization_id == organization_id,
                    )
                ).scalar_one()
            )
        hide = scope.public_only
        record = OrganizationRecord(
            id=int(o["id"]),
            name=o.get("name") or f"Organization {organization_id}",
            domain_names=[str(x) for x in o.get("domain_names") or []],
            tags=[str(x) for x in o.get("tags") or []],
            external_id=o.get("external_id"),
            group_id=o.get("group_id"),
            details=None if hide else o.get("details"),
            notes=None if hide else o.get("notes"),
            created_at=o.get("created_at"),
            updated_at=o.get("updated_at"),
            web_url=o.get("web_url"),
        )
        return OrganizationResult(
            connection=scope.connection_id,
            organization=record,
            user_count=user_count,
            ticket_count=ticket_count,
            tickets_by_status=by_status,
            recent_tickets=recent_tickets,
            public_only=hide,
        )

    def sync_status(self, *, connection: str | None = None) -> SyncStatusResult:
        now = datetime.now(UTC)
        out: list[ConnectionStatus] = []
        with self._tx() as conn:
            known = self._known_connections(conn)
            if connection is not None and connection not in known:
                choices = ", ".join(known) or "none"
                raise NotFound(f"No account {connection!r} in this copy; the accounts here are: {choices}.")
            chosen = [connection] if connection is not None else list(known)
            for cid in chosen:
                record = known[cid]
                counts = {}
                for name, table in (
                    ("ticket", tickets),
                    ("comment", comments),
                    ("user", users),
                    ("organization", organizations),
                    ("attachment", attachments),
                ):
                    counts[name] = int(
                        conn.execute(
                            sa.select(sa.func.count()).select_from(table).where(table.c.connection_id == cid)
                        ).scalar_one()
                    )
                latest = (
                    conn.execute(
                        sa.select(sync_runs)
                        .where(sync_runs.c.connection_id == cid)
                        .order_by(sync_runs.c.id.desc())
                        .limit(1)
                    )
                    .mappings()
                    .first()
                )
                last_ok = conn.execute(
                    sa.select(sa.func.max(sync_runs.c.finished_at)).where(
                        sync_runs.c.connection_id == cid, sync_runs.c.status == "succeeded"
                    )
                ).scalar_one_or_none()
                if isinstance(last_ok, str):  # max() over SQLite text loses the column type
                    last_ok = datetime.fromisoformat(last_ok)
                if last_ok is not None and last_ok.tzinfo is None:
                    last_ok = last_ok.replace(tzinfo=UTC)
                cursor = conn.execute(
                    sa.select(sync_state.c.cursor).where(sync_state.c.connection_id == cid)
                ).scalar_one_or_none()
                public_only = self.public_only or bool(record and record.get("mcp_public_only"))
                out.append(
                    ConnectionStatus(
                        id=cid,
                        name=(record or {}).get("name") or cid,
                        subdomain=(record or {}).get("subdomain"),
                        status=(record or {}).get("status"),
                        public_only=public_only,
                        counts=counts,
                        last_run=_run_info(dict(latest)) if latest else None,
                        last_success_at=last_ok,
                        data_age_seconds=int((now - last_ok).total_seconds()) if last_ok else None,
                        streams=_stream_positions(cursor, now),
                        web_url=self._agent_url(conn, cid),
                    )
                )
        return SyncStatusResult(generated_at=now, connections=out)

    @staticmethod
    def _agent_url(conn: Connection, connection_id: str) -> str | None:
        """The account's agent UI, from the links the sync stored (they follow --base-url)."""
        for table in (tickets, users, organizations):
            link = conn.execute(
                sa.select(table.c.web_url)
                .where(table.c.connection_id == connection_id, table.c.web_url.is_not(None))
                .limit(1)
            ).scalar_one_or_none()
            if link and "/agent/" in link:
                return str(link).split("/agent/", 1)[0] + "/agent"
        return None

    # -- search ----------------------------------------------------------------------------

    def search(
        self,
        query: str,
        *,
        types: Sequence[str] | None = None,
        filters: TicketFilters | None = None,
        limit: int = 10,
        connection: str | None = None,
        mode: str = "auto",
    ) -> SearchResult:
        """One hit per ticket (its best match) or per user/organization.

        ``mode``: ``keyword`` (the full-text index, here), ``semantic`` or ``hybrid``
        (:func:`zensync.search.search` over the vectors ``zensync index`` made), ``auto``:
        hybrid when vectors exist, else keyword. Public-only reads search by keyword only: a
        ranking by meaning would be shaped by internal notes even with their text left out.
        """
        filters = filters or TicketFilters()
        if mode not in ("auto", "keyword", "hybrid", "semantic"):
            raise ReadError(f"Unknown mode {mode!r}; choose among auto, keyword, hybrid, semantic.")
        chosen = tuple(dict.fromkeys(types)) if types else DEFAULT_SEARCH_TYPES
        unknown = [t for t in chosen if t not in SEARCH_TYPES]
        if unknown:
            raise ReadError(f"Unknown type {unknown[0]!r}; choose among {', '.join(SEARCH_TYPES)}.")
        ticket_only = filters.statuses or any(
            v is not None
            for v in (
                filters.requester_id,
                filters.assignee_id,
                filters.tag,
                filters.created_after,
                filters.created_before,
                filters.updated_after,
                filters.updated_before,
            )
        )
        if ticket_only and not TICKET_LINKED.intersection(chosen):
            raise ReadError(
                "status, requester, tag and date filters apply to tickets: search types ticket, comment "
                "or attachment with them, or drop the filters to find users and organizations."
            )
        if ticket_only:
            chosen = tuple(t for t in chosen if t in TICKET_LINKED)
        query = query.replace("\x00", " ")
        notice = None
        if mode != "keyword":
            with self._tx() as conn:
                scope = self._scope(conn, connection)
            if scope.public_only:
                if mode != "auto":
                    notice = "public-only copies are searched by keyword only"
            elif mode != "auto" or self._has_vectors():
                return self._search_by_meaning(query, chosen, filters, limit, scope, mode)
        with self._tx() as conn:
            scope = self._scope(conn, connection)
            if not query.strip() or not _WORD_RE.search(query):
                rows: list[dict[str, Any]] = []
            elif self.dialect == "postgresql":
                rows = self._search_postgresql(conn, scope, query, chosen, filters, limit * 3)
            else:
                rows = self._search_sqlite(conn, scope, query, chosen, filters, limit * 3)
            rows.sort(key=lambda r: (-float(r["score"]), r["entity_type"], int(r["id"])))
            best: dict[tuple[str, int], dict[str, Any]] = {}
            for row in rows:
                ticket_id = row["ticket_id"]
                key = (
                    ("ticket", int(ticket_id))
                    if ticket_id is not None
                    else (row["entity_type"], int(row["id"]))
                )
                if key not in best:
                    best[key] = row
                if len(best) >= limit:
                    break
            if self.dialect != "postgresql":
                self._sqlite_snippets(conn, list(best.values()))
            summaries = self._summaries(conn, scope, sorted({k[1] for k in best if k[0] == "ticket"}))
        hits: list[SearchHit] = []
        for key, row in best.items():
            ticket = summaries.get(key[1]) if key[0] == "ticket" else None
            hits.append(
                SearchHit(
                    ticket=ticket,
                    match=Match(
                        type=row["entity_type"],
                        id=int(row["id"]),
                        name=row["name"] or "",
                        web_url=row["web_url"],
                    ),
                    snippet=_snippet_text(row.get("snippet") or ""),
                    score=round(float(row["score"]), 6),
                    web_url=ticket.web_url if ticket else row["web_url"],
                )
            )
        return SearchResult(
            query=query,
            connection=scope.connection_id,
            mode="keyword",
            notice=notice,
            hits=hits,
            public_only=scope.public_only,
        )

    def _has_vectors(self) -> bool:
        from zensync.store.vectors import VectorStore

        try:
            vectors = VectorStore(self.store)
            return vectors.supported() is None and vectors.has_vectors()
        except sa.exc.SQLAlchemyError:
            return False

    def _search_by_meaning(
        self,
        query: str,
        types: Sequence[str],
        filters: TicketFilters,
        limit: int,
        scope: Scope,
        mode: str,
    ) -> SearchResult:
        """Semantic or hybrid search through :mod:`zensync.search`; the filters it does not
        know (requester, assignee, tag, update times) are applied here to its results."""
        from zensync import search as meaning

        extra = any(
            v is not None
            for v in (
                filters.requester_id,
                filters.assignee_id,
                filters.tag,
                filters.updated_after,
                filters.updated_before,
            )
        )
        try:
            response = meaning.search(
                self.store,
                query,
                mode=mode,
                types=list(types),
                status=list(filters.statuses) or None,
                organization=filters.organization_id,
                since=filters.created_after,
                until=filters.created_before,
                limit=min(200, limit * 10 if extra else limit),
                connection_id=scope.connection_id,
            )
        except (
            meaning.SearchInputError,
            meaning.NoVectors,
            meaning.VectorsUnavailable,
            meaning.IndexModelMismatch,
        ) as exc:
            raise ReadError(str(exc)) from exc
        with self._tx() as conn:
            summaries = self._summaries(
                conn, scope, sorted({r.id for r in response.results if r.entity_type == "ticket"})
            )
        hits: list[SearchHit] = []
        for result in response.results:
            ticket = summaries.get(result.id) if result.entity_type == "ticket" else None
            if result.entity_type == "ticket" and (ticket is None or not _ticket_passes(ticket, filters)):
                continue
            passage = result.passages[0] if result.passages else None
            hits.append(
                SearchHit(
                    ticket=ticket,
                    match=Match(
                        type=passage.entity_type if passage else result.entity_type,  # type: ignore[arg-type]
                        id=passage.id if passage else result.id,
                        name=result.name
                        if passage is None or passage.entity_type == result.entity_type
                        else f"{passage.entity_type} {passage.id}",
                        web_url=(passage.web_url if passage else None) or result.web_url,
                    ),
                    snippet=_snippet_from_html(passage.snippet if passage else ""),
                    score=round(float(result.score), 6),
                    web_url=result.web_url,
                )
            )
            if len(hits) >= limit:
                break
        return SearchResult(
            query=query,
            connection=scope.connection_id,
            mode="semantic"
            if response.mode == "semantic"
            else "hybrid"
            if response.mode == "hybrid"
            else "keyword",
            notice=response.notice,
            hits=hits,
            public_only=False,
        )

    def _search_sqlite(
        self,
        conn: Connection,
        scope: Scope,
        query: str,
        types: Sequence[str],
        filters: TicketFilters,
        k: int,
    ) -> list[dict[str, Any]]:
        """The best ``k`` matches per type (snippets come later, for the chosen rows only).

        FTS5 ranks its matches cheaply on its own; joining every match to its row (to filter by
        connection, status, public flag…) is what costs. So each type ranks the best few
        hundred matches in the index alone, joins and filters only those, and widens the window
        only when filters left fewer than ``k``.
        """
        match = fts5_query(query)
        if match is None:
            return []
        params: dict[str, Any] = {"c": scope.connection_id, "k": k}
        ticket_sql, ticket_params = self._ticket_filter_sql(filters, "t")
        own_sql, _ = self._ticket_filter_sql(filters, "x")
        params.update(ticket_params)
        found: list[dict[str, Any]] = []
        for entity_type in types:
            table = _TABLE_NAMES[entity_type]
            fts = f"{table}_fts"
            joins = ""
            where = ""
            ticket_id = "CAST(NULL AS BIGINT)"
            # In public-only mode, texts that can hold agent-only words are matched by name only.
            if scope.public_only and entity_type in ("ticket", "user", "organization"):
                type_match = f"name : ({match})"
            else:
                type_match = match
            if entity_type == "ticket":
                ticket_id = "x.id"
                where = own_sql
            elif entity_type in ("comment", "attachment"):
                ticket_id = "x.ticket_id"
                joins = "JOIN tickets AS t ON t.connection_id = x.connection_id AND t.id = x.ticket_id"
                where = ticket_sql
                if scope.public_only:
                    if entity_type == "comment":
                        where += " AND x.public = 1"
                    else:
                        joins += _PUBLIC_COMMENT_JOIN
                        where += " AND pc.public = 1"
            elif entity_type == "organization" and filters.organization_id is not None:
                where = " AND x.id = :f_org"
            elif entity_type == "user" and filters.organization_id is not None:
                where = " AND x.organization_id = :f_org"
            ranked = f"""
                SELECT x.rowid AS rid, x.id AS id, x.name AS name, x.web_url AS web_url,
                       {ticket_id} AS ticket_id, -top.b AS score
                FROM (SELECT rowid AS r, bm25({fts}, {BM25_WEIGHTS[0]}, {BM25_WEIGHTS[1]}) AS b
                      FROM {fts} WHERE {fts} MATCH :m ORDER BY b LIMIT :window) AS top
                JOIN {table} AS x ON x.rowid = top.r {joins}
                WHERE x.connection_id = :c {where}
                ORDER BY top.b LIMIT :k"""  # noqa: S608
            window = max(8 * k, 200)
            matches: int | None = None
            while True:
                rows = conn.execute(sa.text(ranked), {**params, "m": type_match, "window": window}).all()
                if len(rows) >= k:
                    break
                if matches is None:
                    matches = int(
                        conn.execute(
                            sa.text(f"SELECT count(*) FROM {fts} WHERE {fts} MATCH :m"),  # noqa: S608
                            {"m": type_match},
                        ).scalar_one()
                    )
                if window >= matches:
                    break
                window *= 8
            for row in rows:
                found.append({**row._asdict(), "entity_type": entity_type, "fts": fts, "match": type_match})
        return found

    def _sqlite_snippets(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        """Fill ``snippet`` of the chosen rows: FTS5's snippet() for just those rows."""
        by_query: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for row in rows:
            by_query.setdefault((row["fts"], row["match"]), []).append(row)
        for (fts, type_match), group in by_query.items():
            ids = [int(r["rid"]) for r in group]
            marks = ", ".join(f":r{n}" for n in range(len(ids)))
            found = conn.execute(
                sa.text(
                    f"SELECT rowid, snippet({fts}, -1, :start, :end, '…', {SNIPPET_WORDS}) "  # noqa: S608
                    f"FROM {fts} WHERE {fts} MATCH :m AND rowid IN ({marks})"
                ),
                {"m": type_match, "start": MATCH_START, "end": MATCH_END}
                | {f"r{n}": rid for n, rid in enumerate(ids)},
            ).all()
            snippets = {int(r[0]): r[1] for r in found}
            for row in group:
                row["snippet"] = snippets.get(int(row["rid"]), "")

    def _search_postgresql(
        self,
        conn: Connection,
        scope: Scope,
        query: str,
        types: Sequence[str],
        filters: TicketFilters,
        k: int,
    ) -> list[Any]:
        params: dict[str, Any] = {"c": scope.connection_id, "k": k, "query": query}
        ticket_sql, ticket_params = self._ticket_filter_sql(filters, "t")
        own_sql, _ = self._ticket_filter_sql(filters, "x")
        params.update(ticket_params)
        parts = []
        for entity_type in types:
            table = _TABLE_NAMES[entity_type]
            joins = ""
            where = ""
            ticket_id = "CAST(NULL AS BIGINT)"
            vector = "x.search_vector"
            document = "coalesce(nullif(x.search_text, ''), x.name)"
            if scope.public_only and entity_type in ("ticket", "user", "organization"):
                # Name only (weight A): the rest can hold agent-only words.
                where += " AND ts_filter(x.search_vector, '{a}') @@ q.query"
                document = "x.name"
            if entity_type == "ticket":
                ticket_id = "x.id"
                where += own_sql
            elif entity_type in ("comment", "attachment"):
                ticket_id = "x.ticket_id"
                joins = "JOIN tickets AS t ON t.connection_id = x.connection_id AND t.id = x.ticket_id"
                where += ticket_sql
                if scope.public_only:
                    if entity_type == "comment":
                        where += " AND x.public IS TRUE"
                    else:
                        joins += _PUBLIC_COMMENT_JOIN
                        where += " AND pc.public IS TRUE"
            elif entity_type == "organization" and filters.organization_id is not None:
                where += " AND x.id = :f_org"
            elif entity_type == "user" and filters.organization_id is not None:
                where += " AND x.organization_id = :f_org"
            parts.append(
                f"""(SELECT '{entity_type}' AS entity_type, x.id AS id, x.name AS name, x.web_url AS web_url,
                        {ticket_id} AS ticket_id, ts_rank({vector}, q.query) AS score, {document} AS document
                     FROM q, {table} AS x {joins}
                     WHERE {vector} @@ q.query AND x.connection_id = :c {where}
                     ORDER BY score DESC LIMIT :k)"""  # noqa: S608
            )
        if not parts:
            return []
        options = (
            f'StartSel="{MATCH_START}", StopSel="{MATCH_END}", MaxWords={SNIPPET_WORDS}, '
            f'MinWords={SNIPPET_WORDS // 2}, MaxFragments=2, FragmentDelimiter=" … "'
        )
        params["options"] = options
        sql = f"""
            WITH q AS (SELECT websearch_to_tsquery('{TS_CONFIG}', :query) AS query),
            hits AS (SELECT * FROM ({" UNION ALL ".join(parts)}) AS found ORDER BY score DESC LIMIT :k)
            SELECT hits.entity_type, hits.id, hits.name, hits.web_url, hits.ticket_id, hits.score,
                   ts_headline('{TS_CONFIG}', hits.document, q.query, :options) AS snippet
            FROM hits, q ORDER BY hits.score DESC
        """  # noqa: S608
        return [dict(r._asdict()) for r in conn.execute(sa.text(sql), params).all()]

    def _ticket_filter_sql(self, filters: TicketFilters, alias: str) -> tuple[str, dict[str, Any]]:
        """SQL conditions (on the ticket alias) and their parameters for the search queries."""
        sql: list[str] = []
        params: dict[str, Any] = {}
        if filters.statuses:
            names = []
            for n, status in enumerate(filters.statuses):
                params[f"f_status{n}"] = status
                names.append(f":f_status{n}")
            sql.append(f"{alias}.status IN ({', '.join(names)})")
        for column, value, key in (
            ("requester_id", filters.requester_id, "f_requester"),
            ("organization_id", filters.organization_id, "f_org"),
            ("assignee_id", filters.assignee_id, "f_assignee"),
        ):
            if value is not None:
                sql.append(f"{alias}.{column} = :{key}")
                params[key] = value
        times: tuple[tuple[str, str, datetime | None, str], ...] = (
            ("created_at", ">=", filters.created_after, "f_created_after"),
            ("created_at", "<", filters.created_before, "f_created_before"),
            ("updated_at", ">=", filters.updated_after, "f_updated_after"),
            ("updated_at", "<", filters.updated_before, "f_updated_before"),
        )
        for column, op, moment, key in times:
            if moment is not None:
                sql.append(f"{alias}.{column} {op} :{key}")
                params[key] = self._time_param(moment)
        if filters.tag is not None:
            params["f_tag"] = filters.tag
            if self.dialect == "postgresql":
                sql.append(f"({alias}.data -> 'tags') @> jsonb_build_array(CAST(:f_tag AS text))")
            else:
                sql.append(
                    f"EXISTS (SELECT 1 FROM json_each({alias}.data, '$.tags') AS tg "  # noqa: S608
                    "WHERE tg.value = :f_tag)"
                )
        return "".join(f" AND {s}" for s in sql), params

    def _time_param(self, value: datetime) -> Any:
        value = _utc(value)
        if self.dialect == "sqlite":
            # The store keeps SQLite timestamps as ISO text in UTC without offset (schema.py).
            return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        return value

    def ticket_markdown(self, ticket_id: int, *, connection: str | None = None) -> str:
        """A ticket and its conversation as text, for the ``zendesk://tickets/{id}`` resource."""
        result = self.get_ticket(
            ticket_id, max_comments=500, max_chars=RESOURCE_MAX_CHARS, connection=connection
        )
        return result.text()


RESOURCE_MAX_CHARS = 200_000
_PUBLIC_COMMENT_JOIN = " JOIN comments AS pc ON pc.connection_id = x.connection_id AND pc.id = x.comment_id"
_TABLE_NAMES = {
    "ticket": "tickets",
    "comment": "comments",
    "attachment": "attachments",
    "user": "users",
    "organization": "organizations",
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _ref(object_id: Any, name: Any) -> Ref | None:
    if object_id is None:
        return None
    return Ref(id=int(object_id), name=name)


def _comment_body(data: Mapping[str, Any] | None) -> str:
    data = data or {}
    for key in ("plain_body", "body"):
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value
    html_body = data.get("html_body")
    if isinstance(html_body, str):
        from zensync.entities import _strip_html

        return _strip_html(html_body)
    return ""


def _ticket_passes(ticket: TicketSummary, filters: TicketFilters) -> bool:
    """The filters :func:`zensync.search.search` does not apply, checked on a found ticket."""
    if filters.requester_id is not None and (
        ticket.requester is None or ticket.requester.id != filters.requester_id
    ):
        return False
    if filters.assignee_id is not None and (
        ticket.assignee is None or ticket.assignee.id != filters.assignee_id
    ):
        return False
    if filters.tag is not None and filters.tag not in ticket.tags:
        return False
    updated = ticket.updated_at
    if filters.updated_after is not None and (updated is None or updated < _utc(filters.updated_after)):
        return False
    return not (
        filters.updated_before is not None and (updated is None or updated >= _utc(filters.updated_before))
    )


def _snippet_from_html(snippet: str) -> str:
    """A snippet of :mod:`zensync.search` (escaped, ``<mark>`` around matches) in this module's form."""
    import html

    return " ".join(html.unescape(snippet.replace("<mark>", "**").replace("</mark>", "**")).split())


def _snippet_text(raw: str) -> str:
    return " ".join(raw.replace(MATCH_START, "**").replace(MATCH_END, "**").split())


def _run_info(row: Mapping[str, Any]) -> RunInfo:
    report = row.get("report") or {}
    return RunInfo(
        id=int(row["id"]),
        mode=row["mode"],
        status=row["status"],
        started_at=row["started_at"],
        finished_at=row.get("finished_at"),
        duration_seconds=report.get("duration_seconds") if isinstance(report, dict) else None,
        error=row.get("error"),
    )


def _stream_positions(cursor: Any, now: datetime) -> list[StreamPosition]:
    """Where each export stream stands: time-based exports keep ``start_time`` (Unix seconds,
    api-reference.md "Incremental Exports"); other keys of the cursor are bookkeeping."""
    out: list[StreamPosition] = []
    for stream, value in (cursor or {}).items():
        if not isinstance(value, dict) or "start_time" not in value:
            continue
        start = value.get("start_time")
        if isinstance(start, int | float) and start > 0:
            position = datetime.fromtimestamp(start, UTC)
            out.append(
                StreamPosition(
                    stream=stream, position=position, age_seconds=int((now - position).total_seconds())
                )
            )
        else:
            out.append(StreamPosition(stream=stream))
    return out
