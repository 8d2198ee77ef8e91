"""The MCP server's answers, read from the store (the SQL is in ``zensync.store.reads``).

Each public method of :class:`Reader` answers one tool call inside ONE read transaction
(:func:`zensync.store.reads.snapshot`), so a sync committing pages meanwhile is never seen
half-way: on SQLite (WAL) the snapshot starts at the first SELECT and lasts until the
transaction ends; on PostgreSQL the transaction is ``REPEATABLE READ, READ ONLY``.

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
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from zensync.entities import EntityType, ZendeskEntity
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
    Satisfaction,
    SearchHit,
    SearchResult,
    StreamPosition,
    SyncStatusResult,
    TicketDetail,
    TicketList,
    TicketMetrics,
    TicketResult,
    TicketSummary,
    UserRecord,
    UserResult,
)
from zensync.store import Store
from zensync.store.base import MATCH_END, MATCH_START
from zensync.store.reads import Snapshot, TicketFilters, has_vectors, snapshot
from zensync.store.reads import utc as _utc
from zensync.store.rows import entity_from_data

__all__ = ["MAX_ID", "NotFound", "ReadError", "Reader", "TicketFilters", "decode_cursor", "encode_cursor"]

SEARCH_TYPES = ("ticket", "comment", "attachment", "user", "organization")
DEFAULT_SEARCH_TYPES = ("ticket", "comment", "attachment")
TICKET_LINKED = frozenset({"ticket", "comment", "attachment"})
MAX_ID = 2**63 - 1  # Zendesk ids are 64-bit integers (support-oas.yaml: format int64)
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


def _bad_cursor(kind: str) -> ReadError:
    return ReadError(
        f"That cursor is damaged: pass the next_cursor of the previous {kind} result unchanged, "
        "or leave cursor out to start from the beginning."
    )


def cursor_int(data: Mapping[str, Any], key: str, kind: str) -> int:
    """A whole number of a cursor this server made (a count or a 64-bit id)."""
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ID:
        raise _bad_cursor(kind)
    return value


def cursor_time(data: Mapping[str, Any], key: str, kind: str) -> datetime | None:
    """A timestamp of a cursor this server made (ISO 8601), or None when it holds none."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _bad_cursor(kind)
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        raise _bad_cursor(kind) from None
    if stamp.tzinfo is None:
        raise _bad_cursor(kind)
    return stamp


def check_ids(**ids: int | None) -> None:
    """ReadError unless each id given can be a Zendesk id (a positive 64-bit integer)."""
    for name, value in ids.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
            raise ReadError(
                f"{name}={value!r} is not an id: Zendesk ids are whole numbers from 1 to {MAX_ID}."
            )


def check_filter_ids(filters: TicketFilters) -> None:
    check_ids(
        requester_id=filters.requester_id,
        organization_id=filters.organization_id,
        assignee_id=filters.assignee_id,
    )


# ------------------------------------------------------------------------------------- reader


class Reader:
    """Read-only questions about the copy, each answered in one transaction."""

    def __init__(self, store: Store, *, public_only: bool = False, connection: str | None = None) -> None:
        self.store = store
        self.public_only = public_only
        self.connection = connection
        self.dialect = store.dialect

    # -- plumbing ---------------------------------------------------------------------------

    def _scope(self, db: Snapshot, requested: str | None) -> Scope:
        known = db.known_connections()
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

    @staticmethod
    def _stored(
        db: Snapshot, scope: Scope, entity_type: EntityType, object_id: int, missing: str
    ) -> ZendeskEntity:
        """The stored ticket, user or organization; :class:`NotFound` with ``missing`` if none."""
        data = db.data(scope.connection_id, entity_type, object_id)
        if data is None:
            raise NotFound(missing)
        return entity_from_data(entity_type, data)

    # -- ticket rows -----------------------------------------------------------------------

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

    def _summaries(self, db: Snapshot, scope: Scope, ids: Sequence[int]) -> dict[int, TicketSummary]:
        return {int(r.id): self._summary(r) for r in db.ticket_summaries(scope.connection_id, ids)}

    def _recent(
        self, db: Snapshot, scope: Scope, filters: TicketFilters, limit: int
    ) -> tuple[int, list[TicketSummary]]:
        total, rows = db.tickets_newest_first(scope.connection_id, filters, limit=limit)
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
        check_filter_ids(filters)
        with snapshot(self.store) as db:
            scope = self._scope(db, connection)
            after: tuple[datetime | None, int] | None = None
            if cursor:
                data = decode_cursor(cursor, "list_tickets")
                if data.get("f") != filters.digest() or data.get("c") != scope.connection_id:
                    raise ReadError(
                        "That cursor belongs to a list_tickets call with other filters; repeat the "
                        "call with the same filters, or leave cursor out to start again."
                    )
                # no "u": inside the trailing tickets without updated_at
                after = (
                    cursor_time(data, "u", "list_tickets"),
                    cursor_int(data, "i", "list_tickets"),
                )
            total, rows = db.tickets_newest_first(scope.connection_id, filters, limit=limit + 1, after=after)
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
        check_ids(ticket_id=ticket_id)
        with snapshot(self.store) as db:
            scope = self._scope(db, connection)
            entity = self._stored(
                db,
                scope,
                "ticket",
                ticket_id,
                f"No ticket #{ticket_id} in the copy of {scope.connection_id} (never synced, deleted, "
                "or a wrong number); find ids with search or list_tickets.",
            )
            detail = self._ticket_detail(db, scope, entity)

            position = 0
            after: tuple[datetime | None, int] | None = None
            if cursor:
                data = decode_cursor(cursor, "get_ticket")
                if data.get("t") != ticket_id or data.get("c") != scope.connection_id:
                    raise ReadError(
                        f"That cursor belongs to another ticket (#{data.get('t')}); pass it with that "
                        "ticket_id, or leave cursor out to start this ticket's conversation."
                    )
                position = cursor_int(data, "n", "get_ticket")
                after = (cursor_time(data, "a", "get_ticket"), cursor_int(data, "i", "get_ticket"))
            total, page, more = self._page(db, scope, ticket_id, after, max_comments, max_chars)
            authors = db.authors(scope.connection_id, {r.author_id for r in page if r.author_id is not None})
            files = self._attachments(db, scope, [int(r.id) for r in page])
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
    def _page(
        db: Snapshot,
        scope: Scope,
        ticket_id: int,
        after: tuple[datetime | None, int] | None,
        max_comments: int,
        max_chars: int,
    ) -> tuple[int, list[Any], bool]:
        """How many comments the ticket shows, those after ``after`` that fit the page (at most
        ``max_comments`` and about ``max_chars`` characters of body; always at least one, cut if
        it alone is longer), and whether more follow. Comments are read ``COMMENT_CHUNK`` at a
        time, so a long page (the resource's) never loads far more rows than it shows."""
        page: list[Any] = []
        used = 0
        total: int | None = None
        while True:
            want = min(COMMENT_CHUNK, max_comments - len(page))
            count, rows = db.comments_of(
                scope.connection_id, ticket_id, public_only=scope.public_only, limit=want + 1, after=after
            )
            total = count if total is None else total
            for r in rows[:want]:
                size = len(_comment_body(r.data))
                if page and used + size > max_chars:
                    return total, page, True
                page.append(r)
                used += size
            if len(rows) <= want:
                return total, page, False
            if len(page) >= max_comments:
                return total, page, True
            after = (page[-1].created_at, int(page[-1].id))

    def _ticket_detail(self, db: Snapshot, scope: Scope, t: ZendeskEntity) -> TicketDetail:
        data = t.model_dump(mode="json")
        requester_email = None
        if data.get("requester_id") is not None:
            requester_email = db.user_email(scope.connection_id, data["requester_id"])
        raw_rating = data.get("satisfaction_rating")
        rating: dict[str, Any] = raw_rating if isinstance(raw_rating, dict) else {}
        score = data.get("satisfaction_score") or rating.get("score")
        metrics = TicketMetrics(
            first_reply_time_minutes=data.get("first_reply_time_minutes"),
            full_resolution_time_minutes=data.get("full_resolution_time_minutes"),
            replies=data.get("replies"),
            solved_at=data.get("solved_at"),
        )
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
            brand=_ref(data.get("brand_id"), data.get("brand_name")),
            form=_ref(data.get("ticket_form_id"), data.get("ticket_form_name")),
            custom_status=_ref(data.get("custom_status_id"), data.get("custom_status_name")),
            custom_fields=_custom_fields(data),
            satisfaction=Satisfaction(
                score=str(score), comment=data.get("satisfaction_comment") or rating.get("comment") or None
            )
            if score
            else None,
            metrics=metrics if metrics.model_dump(exclude_none=True) else None,
        )

    def _attachments(
        self, db: Snapshot, scope: Scope, comment_ids: list[int]
    ) -> dict[int, list[AttachmentOut]]:
        rows = db.attachments_of(scope.connection_id, comment_ids)
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
        check_ids(user_id=user_id)
        with snapshot(self.store) as db:
            scope = self._scope(db, connection)
            u = self._stored(
                db,
                scope,
                "user",
                user_id,
                f"No user {user_id} in the copy of {scope.connection_id}; user ids appear as requester, "
                "assignee and author ids in tickets, or search with types=['user'].",
            ).model_dump(mode="json")
            requested_count, requested = self._recent(db, scope, TicketFilters(requester_id=user_id), recent)
            assigned_count, assigned = self._recent(db, scope, TicketFilters(assignee_id=user_id), recent)
        hide = scope.public_only
        record = UserRecord(
            id=int(u["id"]),
            name=u.get("name") or f"User {user_id}",
            email=u.get("email"),
            role=u.get("role"),
            active=u.get("active"),
            suspended=u.get("suspended"),
            organization=_ref(u.get("organization_id"), u.get("organization_name")),
            time_zone=u.get("iana_time_zone") or u.get("time_zone"),
            locale=u.get("locale"),
            phone=u.get("phone"),
            last_login_at=u.get("last_login_at"),
            **_shared_fields(u, hide),
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
        check_ids(organization_id=organization_id)
        with snapshot(self.store) as db:
            scope = self._scope(db, connection)
            o = self._stored(
                db,
                scope,
                "organization",
                organization_id,
                f"No organization {organization_id} in the copy of {scope.connection_id}; organization "
                "ids appear on tickets and users, or search with types=['organization'].",
            ).model_dump(mode="json")
            ticket_count, recent_tickets = self._recent(
                db, scope, TicketFilters(organization_id=organization_id), recent
            )
            by_status = db.tickets_by_status(scope.connection_id, organization_id)
            user_count = db.users_in_organization(scope.connection_id, organization_id)
        hide = scope.public_only
        record = OrganizationRecord(
            id=int(o["id"]),
            name=o.get("name") or f"Organization {organization_id}",
            domain_names=[str(x) for x in o.get("domain_names") or []],
            external_id=o.get("external_id"),
            group_id=o.get("group_id"),
            **_shared_fields(o, hide),
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
        connection = connection or None  # an empty name means none, as for the other tools
        now = datetime.now(UTC)
        out: list[ConnectionStatus] = []
        with snapshot(self.store) as db:
            known = db.known_connections()
            if connection is not None and connection not in known:
                choices = ", ".join(known) or "none"
                raise NotFound(f"No account {connection!r} in this copy; the accounts here are: {choices}.")
            chosen = [connection] if connection is not None else list(known)
            for cid in chosen:
                record = known[cid]
                counts = db.entity_counts(cid)
                latest = db.latest_run(cid)
                last_ok = db.last_success_at(cid)
                cursor = db.cursor(cid)
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
                        web_url=db.agent_url(cid),
                    )
                )
        return SyncStatusResult(generated_at=now, connections=out)

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
        check_filter_ids(filters)
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
            with snapshot(self.store) as db:
                scope = self._scope(db, connection)
            if scope.public_only:
                if mode != "auto":
                    notice = "public-only copies are searched by keyword only"
            elif mode != "auto" or has_vectors(self.store):
                return self._search_by_meaning(query, chosen, filters, limit, scope, mode)
        with snapshot(self.store) as db:
            scope = self._scope(db, connection)
            if not query.strip() or not _WORD_RE.search(query):
                rows: list[dict[str, Any]] = []
            else:
                rows = db.keyword_matches(
                    scope.connection_id, scope.public_only, query, chosen, filters, limit * 3
                )
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
            db.fill_snippets(list(best.values()))
            summaries = self._summaries(db, scope, sorted({k[1] for k in best if k[0] == "ticket"}))
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
        with snapshot(self.store) as db:
            summaries = self._summaries(
                db, scope, sorted({r.id for r in response.results if r.entity_type == "ticket"})
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

    def ticket_markdown(self, ticket_id: int, *, connection: str | None = None) -> str:
        """A ticket and its conversation as text, for the ticket resources: every comment
        (Zendesk keeps at most 5,000 per ticket) up to the largest page a tool gives,
        ``RESOURCE_MAX_CHARS`` of comment text; past it, the text ends with the cursor for
        ``get_ticket`` to read on."""
        result = self.get_ticket(
            ticket_id, max_comments=MAX_TICKET_COMMENTS, max_chars=RESOURCE_MAX_CHARS, connection=connection
        )
        return result.text()


# A ticket holds at most 5,000 comments (api-reference.md, "Ticket Comments", "Creating ticket
# comments").
MAX_TICKET_COMMENTS = 5_000
RESOURCE_MAX_CHARS = 200_000  # as get_ticket's largest max_chars
COMMENT_CHUNK = 200  # comment rows read per query


def _ref(object_id: Any, name: Any) -> Ref | None:
    if object_id is None:
        return None
    return Ref(id=int(object_id), name=name)


def _shared_fields(record: Mapping[str, Any], hide: bool) -> dict[str, Any]:
    """What users and organizations show alike: tags, agents' details and notes (hidden when
    public-only), times and the agent-UI link."""
    return {
        "tags": [str(x) for x in record.get("tags") or []],
        "details": None if hide else record.get("details"),
        "notes": None if hide else record.get("notes"),
        "created_at": record.get("created_at"),
        "updated_at": record.get("updated_at"),
        "web_url": record.get("web_url"),
    }


def _custom_fields(data: Mapping[str, Any]) -> list[CustomField]:
    """The ticket's set custom fields with their titles (``custom_field_values``, which the sync
    resolves from Ticket Fields); a ticket stored without them shows its bare ``custom_fields``."""
    described = [f for f in data.get("custom_field_values") or [] if isinstance(f, dict)]
    raw = described or [f for f in data.get("custom_fields") or [] if isinstance(f, dict)]
    out: list[CustomField] = []
    for f in raw:
        if not isinstance(f.get("id"), int) or f.get("value") in (None, "", []):
            continue
        title = f.get("title")
        out.append(
            CustomField(
                id=f["id"],
                title=str(title) if title else None,
                value=f["value"],
                display_value=f.get("display_value", f["value"]),
            )
        )
    return out


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
