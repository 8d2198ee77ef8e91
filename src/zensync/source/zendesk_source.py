"""ZendeskSource: everything in a Zendesk account as typed entities, page by page, resumable.

Streams (docs/design.md, "Source"); a run reads them all at once after a first run's ticket
survey (see ``_tickets_and_comments``), each from its own position in the cursor:

``organizations``
    Incremental Organization Export (time based, api-reference.md "Incremental Organization
    Export"); same-timestamp repeats across page boundaries are dropped; an organization with
    ``deleted_at`` set becomes a :class:`Deletion`.
``users``
    Incremental User Export, Cursor Based; users without an email are kept; ``active: false``
    ("false if the user has been deleted", spec ``UserForAdmin``) becomes a :class:`Deletion`.
``tickets``
    Incremental Ticket Export, Cursor Based, 1,000 a page, with the ``users``, ``groups`` and
    ``organizations`` sideloads that resolve most names for free. Archived tickets are in it;
    ``status: "deleted"`` becomes a :class:`Deletion` (the store then drops the ticket's
    comments and attachments too).
``comments``
    Every comment of every ticket in scope, inline images included, and each comment's
    attachments as their own entities.

How comments are read is a cost decision between two rate-limit budgets (api-reference.md
"Rate limits" and "Incremental Exports"):

* per ticket: ``/api/v2/tickets/{id}/comments.json`` with cursor paging (``page[size]=100``,
  every page, so a ticket with 5,000 comments is complete) and ``include_inline_images``;
  one request per 100 comments on the plan budget (``account``, 700/min on Enterprise), run
  ``concurrency`` at a time;
* in bulk: ``/api/v2/incremental/ticket_events.json?include=comment_events`` carries every
  comment of every ticket, up to 1,000 events a request, on the ``incremental-exports`` budget
  (10/min, shared with the other exports).

Incremental runs always read the changed tickets' comments per ticket (a redaction changes an
old comment, which the event stream does not repeat). A first full run with more than one
page of tickets first *surveys* the ticket stream (emitting the tickets, counting them by
``generated_timestamp`` day, and noting which are in scope in a one-bit-per-id bitmap), then
picks a split time ``X`` that makes both budgets finish together: the event stream covers
tickets last changed before ``X`` (all their comments are older than ``X``), and the ticket
stream is re-read from ``X`` with per-ticket comment reads for the rest; both run at once.
The re-read builds only the tickets changed since the survey emitted them again
(``settled_before`` in the cursor); of the others it keeps the id and name its comments need.
The tickets from ``X`` on are listed once before that, to take them out of the event
stream's scope, so no comment is emitted twice in two forms (events carry no ``metadata``).

``exclude_closed_tickets``: a closed ticket is never emitted; it becomes a :class:`Deletion`
(so a ticket closed since an earlier sync leaves the store together with its comments and
attachments), no comment request is ever made for it, and its comments are skipped in the
event stream.

Paging is :mod:`.paging`'s (one small class per Zendesk scheme, one loop that drives them);
the cursor is :mod:`.cursor`'s typed, versioned :class:`SourceCursor`: each stream's position,
the phase of the run, and the ids of tickets already emitted whose comments are still owed
(``pending``). Every yielded page's cursor resumes without
loss: a ticket page is yielded before its comments, and its tickets stay in ``pending`` until
all their comments have been yielded. Re-emitting is allowed (at-least-once); the store treats
equal hashes as unchanged.

Errors are never logged and skipped: the client has already retried, so an error here stops
the run and the engine resumes later from the last committed cursor. The one exception is a
404 for a ticket's comments, which means the ticket is gone: it is emitted as a deletion.
Memory is bounded: one page of tickets, ``concurrency`` tickets' comments, bounded LRU name
caches, and (on a surveyed first run only) a bitmap of one bit per ticket id.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import functools
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from zensync.config import ZendeskConfig
from zensync.entities import (
    Breadcrumb,
    Deletion,
    SourcePage,
    ZendeskAttachmentEntity,
    ZendeskCommentEntity,
    ZendeskEntity,
    ZendeskOrganizationEntity,
    ZendeskTicketEntity,
    ZendeskUserEntity,
    ticket_name,
)
from zensync.readahead import Budget, BudgetQueue, page_weight
from zensync.source.context import TicketContext
from zensync.zendesk.account import connecting_user, require_admin
from zensync.zendesk.errors import AuthenticationError, NotFound, ZendeskError

from .answers import (
    COMMENT_EVENT_TYPES,
    ticket_events,
    ticket_export,
    ticket_ids,
    ticket_reread,
    user_export,
)
from .cursor import Bitmap, BulkState, SourceCursor, SurveyState, load_cursor
from .names import DEFAULT_CACHE_SIZE, NameResolver
from .paging import (
    Client,
    CursorPaging,
    ExportCursorPaging,
    ExportPosition,
    Page,
    TimeBasedPaging,
    TimePosition,
    export_start,
    paginate,
)

__all__ = ["CommentStrategy", "ZendeskSource"]

logger = logging.getLogger("zensync.source")

CommentStrategy = Literal["auto", "per_ticket", "bulk"]

EXPORT_PAGE = 1000  # per_page maximum of the incremental exports
COMMENT_PAGE = 100  # page[size] maximum of cursor pagination
# Per-ticket comment results are gathered into pages of at least this many entities, unless
# MAX_HOLD_SECONDS have passed since the last page: each page costs a store transaction.
MIN_COMMENT_PAGE = 200
# What the source may hold of pages read but not yet taken by its reader (entities,
# estimated bytes; see zensync.readahead): pages in its queues, and the page it last yielded
# until the reader asks for the next one (the sync engine asks once there is room in its own
# budget: a page of tickets, about 9 MB, is stored before the next page is asked for). A
# page of tickets therefore waits alone, and while it is being stored no other export answer
# is read; an event page is about 2 MB, a user page about 5 MB. The exports are paced at ten
# requests a minute, so a little read-ahead keeps them busy: a quarter of (1,000, 6 MB) is as
# fast and holds 12 MB less at 30,000 tickets (bench/README.md, "Memory, flat").
READ_AHEAD = (250, 1536 * 1024)
MAX_HOLD_SECONDS = 1.0
# Tickets changed less than this before the newest one a survey saw are read whole again by the
# re-read after it (``_plan``), beside the minute the exports hold back.
SETTLED_MARGIN_SECONDS = 60
DAY = 86_400
# Defaults when the client has not yet seen a bucket's limit (Enterprise; design.md table).
DEFAULT_ACCOUNT_LIMIT = 700
DEFAULT_EXPORT_LIMIT = 10
# A bitmap beyond this many ticket ids (16 MiB) is not worth it: read comments per ticket.
MAX_BITMAP_IDS = 1 << 27
# What a download depends on, refreshed when a failed one is retried (Show Attachment).
_DOWNLOAD_FIELDS = (
    "content_url",
    "mapped_content_url",
    "size",
    "deleted",
    "malware_scan_result",
    "malware_access_override",
)

TICKETS_EXPORT = "/api/v2/incremental/tickets/cursor.json"
USERS_EXPORT = "/api/v2/incremental/users/cursor.json"
ORGANIZATIONS_EXPORT = "/api/v2/incremental/organizations.json"
EVENTS_EXPORT = "/api/v2/incremental/ticket_events.json"
# names for the ticket's ids, and its Ticket Metrics (first reply, resolution times) at no
# extra request (api-reference.md, "Incremental Exports": sideloads work on exports)
TICKET_SIDELOADS = "users,groups,organizations,metric_sets"


def _epoch(value: Any) -> int | None:
    """Unix seconds from Zendesk's ISO-8601 timestamps or numbers."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
    return None


def _event_time(event: dict[str, Any]) -> int | None:
    """When a ticket event happened: ``timestamp`` (Unix) or ``created_at``."""
    when = event.get("timestamp")
    return int(when) if isinstance(when, int | float) else _epoch(event.get("created_at"))


def _organization_key(raw: dict[str, Any]) -> str:
    """An organization version: the same id and ``updated_at`` again is a repeat."""
    return f"{raw.get('id')}|{raw.get('updated_at')}"


def _organization_time(raw: dict[str, Any]) -> int | None:
    return _epoch(raw.get("updated_at"))


def _event_key(event: dict[str, Any]) -> str:
    return str(event.get("id"))


# --------------------------------------------------------------------------------------------
# the source


@dataclass
class _Item:
    """One unit of output handed from a producer task to the generator, in production order."""

    kind: Literal["tickets", "comments", "bulk", "organizations", "users", "done", "error"]
    page: SourcePage | None = None
    ticket_position: ExportPosition | None = None
    owed: list[int] = field(default_factory=list)  # ticket ids now owed comments
    settled: list[int] = field(default_factory=list)  # ticket ids whose comments are all in page
    bulk: BulkState | None = None
    bulk_done: bool = False
    position: TimePosition | ExportPosition | None = None  # an organizations or users page's
    stream_done: bool = False  # ... and whether the stream has been read to its end
    error: BaseException | None = None
    producer: str = ""


class ZendeskSource:
    """Reads a Zendesk account as :class:`SourcePage`\\ s (see the module docstring).

    ``exclude_closed_tickets`` (from :class:`ZendeskConfig`): closed tickets, their comments
    and their attachments are neither fetched (no per-ticket comment request; their events are
    skipped in the bulk stream) nor emitted; a ticket closed after an earlier sync is emitted
    as a :class:`Deletion` (reason ``"closed"``), which removes its comments and attachments.

    ``comment_strategy``: ``"auto"`` decides by cost as described above; ``"per_ticket"`` never
    uses the event stream; ``"bulk"`` surveys every first run, however small.
    ``budgets``: requests per minute to plan with per bucket (``{"account": 200}``) when the
    account's budget is shared with other integrations; by default what the responses said.
    """

    def __init__(
        self,
        client: Client,
        config: ZendeskConfig,
        *,
        comment_strategy: CommentStrategy = "auto",
        concurrency: int = 8,
        name_cache_size: int = DEFAULT_CACHE_SIZE,
        export_page_size: int = EXPORT_PAGE,
        budgets: Mapping[str, int] | None = None,
        read_ahead: tuple[int, int] = READ_AHEAD,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if len(read_ahead) != 2 or min(read_ahead) < 1:
            raise ValueError("read_ahead is (entities, bytes), both at least 1")
        if not 1 <= export_page_size <= EXPORT_PAGE:
            raise ValueError(
                f"export_page_size must be between 1 and {EXPORT_PAGE} (Zendesk's per_page limit)"
            )
        self.client = client
        self.config = config
        self.comment_strategy = comment_strategy
        self.concurrency = concurrency
        self.export_page_size = export_page_size
        # Requests per minute to plan with, per bucket, instead of what the client has seen:
        # for an account whose budget is shared with other integrations.
        self.budgets = dict(budgets or {})
        self.name_cache_size = name_cache_size
        # What may be read ahead of the reader: entities and estimated bytes (READ_AHEAD).
        self.read_ahead = read_ahead
        self.names = NameResolver(client, name_cache_size)
        # field titles, form, brand and status names: read once per run (source/context.py)
        self.context = TicketContext(client)
        # The event stream's first page, read to decide the comment plan, handed to the stream.
        self._probe: dict[str, Any] | None = None

    # ---------------------------------------------------------------------------- validate

    async def validate(self) -> dict[str, Any]:
        """The connecting user, if the credentials work and the user may run the exports
        (:mod:`zensync.zendesk.account`)."""
        return require_admin(await connecting_user(self.client))

    # ---------------------------------------------------------------------------- cursor

    @staticmethod
    def initial_state() -> dict[str, Any]:
        """The cursor of a run that has read nothing yet (what ``None`` means)."""
        return SourceCursor().dump()

    # ---------------------------------------------------------------------------- run

    async def generate_entities(self, cursor: dict[str, Any] | None = None) -> AsyncIterator[SourcePage]:
        """Yield the account's changes since ``cursor`` (everything when ``None``)."""
        state = load_cursor(cursor)
        # Names are cached for one run only: a group renamed or added between runs is seen.
        self.names = NameResolver(self.client, self.name_cache_size)
        self._probe = None
        if state.phase == "done":
            # a finished run: the next one starts over, incrementally
            state.phase = "start"
            state.organizations_done = state.users_done = False
        if state.phase == "start":
            # Organizations and users are read alongside the tickets' comments
            # (``_tickets_and_comments``), not before them: the comment work, and the
            # attachment downloads it brings, then start after the (first run's) ticket survey
            # alone, and the export budget's first burst goes to the survey.
            state.phase = "tickets"
        if state.phase == "tickets" and state.tickets.cursor is None and self._wants_survey(state):
            state.phase = "survey"
            state.survey = SurveyState()
        # ``del page`` after each yield: otherwise this frame holds the page last handed on
        # (a thousand tickets, or users) until the next one is ready, i.e. while the next one
        # is read and built and while other streams' pages are; a sync would then hold two
        # pages where one is meant, whenever the pages come from two different streams.
        if state.phase == "survey":
            async for page in self._survey(state):
                yield page
                del page
        if state.phase == "tickets":
            async for page in self._tickets_and_comments(state):
                yield page
                del page

    def _wants_survey(self, state: SourceCursor) -> bool:
        """A first full run (no ticket position yet, nothing owed) may use the event stream."""
        return (
            self.comment_strategy != "per_ticket"
            and not state.pending
            and not state.surveyed
            and state.bulk is None
        )

    # ---------------------------------------------------------------------------- organizations

    async def _organizations(self, position: TimePosition) -> AsyncIterator[tuple[SourcePage, bool]]:
        """Incremental Organization Export (time based); pages, and whether the stream ended."""
        paging = TimeBasedPaging("organizations", position, key=_organization_key, time_of=_organization_time)
        async for page in paginate(
            self.client, ORGANIZATIONS_EXPORT, paging, {"per_page": self.export_page_size}
        ):
            last = page.last
            organizations = page.take_items()
            del page  # the answer is not held while the page waits to be stored
            entities: list[ZendeskEntity] = []
            deletions: list[Deletion] = []
            # Each raw object is let go once its entity is built (as for users, below).
            organizations.reverse()
            while organizations:
                self._add_organization(organizations.pop(), entities, deletions)
            # Handed on without a name left for it here: this generator waits at the yield
            # until its stream's next turn, while other streams' pages are read and stored.
            out = [SourcePage(stream="organizations", entities=entities, deletions=deletions)]
            del entities, deletions
            yield out.pop(), last

    def _add_organization(
        self, raw: dict[str, Any], entities: list[ZendeskEntity], deletions: list[Deletion]
    ) -> None:
        if raw.get("deleted_at"):
            deletions.append(Deletion(entity_type="organization", entity_id=f"organization:{raw['id']}"))
            return
        self.names.remember("organization", raw.get("id"), raw.get("name"))
        entities.append(ZendeskOrganizationEntity.from_api(raw, web_url=self.config.agent_org_url(raw["id"])))

    # ---------------------------------------------------------------------------- users

    async def _users(self, position: ExportPosition) -> AsyncIterator[tuple[SourcePage, bool]]:
        """Incremental User Export, Cursor Based; inactive (deleted) users become deletions."""
        paging = ExportCursorPaging("users", position)
        params = {"per_page": self.export_page_size, "include": "organizations"}
        # The sideloaded organizations are read as names only (answers.user_export).
        async for page in paginate(self.client, USERS_EXPORT, paging, params, decode=user_export):
            self.names.remember_objects("organization", page.data.get("organizations"))
            last = page.last
            users = page.take_items()
            del page  # the rest of the answer goes now
            org_names = await self.names.resolve(
                "organization", (u.get("organization_id") for u in users if u.get("active") is not False)
            )
            entities: list[ZendeskEntity] = []
            deletions: list[Deletion] = []
            # Each raw user is let go once its entity is built: a page's 1,000 raw users and
            # their entities (about 3.5 and 4.5 MB of objects) are not all held at once.
            users.reverse()
            while users:
                self._add_user(users.pop(), org_names, entities, deletions)
            out = [SourcePage(stream="users", entities=entities, deletions=deletions)]
            del entities, deletions  # as for organizations: not held until this stream's next turn
            yield out.pop(), last

    def _add_user(
        self,
        raw: dict[str, Any],
        org_names: Mapping[Any, str | None],
        entities: list[ZendeskEntity],
        deletions: list[Deletion],
    ) -> None:
        if raw.get("active") is False:
            deletions.append(Deletion(entity_type="user", entity_id=f"user:{raw['id']}"))
            return
        self.names.remember("user", raw.get("id"), raw.get("name"))
        entities.append(
            ZendeskUserEntity.from_api(
                raw,
                web_url=self.config.agent_user_url(raw["id"]),
                organization_name=org_names.get(raw.get("organization_id")),
            )
        )

    # ---------------------------------------------------------------------------- tickets

    def _ticket_pages(
        self,
        position: ExportPosition,
        include: str = TICKET_SIDELOADS,
        decode: Callable[[bytes | bytearray], dict[str, Any]] = ticket_export,
    ) -> AsyncIterator[Page]:
        """The cursor-based ticket export from ``position`` (moved on page by page)."""
        return paginate(
            self.client,
            TICKETS_EXPORT,
            ExportCursorPaging("tickets", position),
            {"per_page": self.export_page_size, "include": include},
            decode=decode,
        )

    def _take_tickets(self, page: Page) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """A ticket export answer's tickets and metric sets, taken out of ``page``, once the
        names its sideloads give are remembered; the rest of the answer (about a third of its
        12 MB of objects) is let go at once, and :meth:`_ticket_entities` lets each ticket's
        raw object go as soon as its entity is built."""
        self._remember_sideloads(page.data)
        metric_sets = page.data.get("metric_sets")
        return page.take_items(), metric_sets if isinstance(metric_sets, list) else []

    def _remember_sideloads(self, data: dict[str, Any]) -> None:
        self.names.remember_objects("user", data.get("users"))
        self.names.remember_objects("group", data.get("groups"))
        self.names.remember_objects("organization", data.get("organizations"))

    def _out_of_scope(self, raw: dict[str, Any]) -> str | None:
        """Why a ticket from the export is not kept: ``"deleted"``, ``"closed"`` or ``None``."""
        status = raw.get("status")
        if status == "deleted":
            return "deleted"
        if status == "closed" and self.config.exclude_closed_tickets:
            return "closed"
        return None

    async def _ticket_entities(
        self, tickets: list[dict[str, Any]], metric_sets: list[dict[str, Any]] | None = None
    ) -> tuple[list[ZendeskEntity], list[Deletion], list[int]]:
        """Entities, deletions and ids of the in-scope tickets of one export page.

        A ticket changed while the export was being read can appear twice in one page; only
        its last version counts. ``tickets`` and ``metric_sets`` are consumed (emptied): each
        raw ticket is let go once its entity is built, so a page's raw objects and its
        entities are not all in memory at once.
        """
        latest: dict[int, dict[str, Any]] = {}
        for raw in tickets:
            latest[raw["id"]] = raw
        tickets.clear()
        kept = [raw for raw in latest.values() if self._out_of_scope(raw) is None]
        users = await self.names.resolve(
            "user", (raw.get(k) for raw in kept for k in ("requester_id", "submitter_id", "assignee_id"))
        )
        orgs = await self.names.resolve("organization", (raw.get("organization_id") for raw in kept))
        groups = await self.names.resolve("group", (raw.get("group_id") for raw in kept))
        if kept:
            await self.context.load()
        del kept
        metrics = {m.get("ticket_id"): m for m in metric_sets or [] if isinstance(m, dict)}
        if metric_sets:
            metric_sets.clear()
        entities: list[ZendeskEntity] = []
        deletions: list[Deletion] = []
        owed: list[int] = []
        for ticket_id in list(latest):
            raw = latest.pop(ticket_id)
            reason = self._out_of_scope(raw)
            if reason is not None:
                deletions.append(
                    Deletion(entity_type="ticket", entity_id=f"ticket:{raw['id']}", reason=reason)
                )
                continue
            entity = ZendeskTicketEntity.from_api(
                raw,
                web_url=self.config.agent_ticket_url(raw["id"]),
                requester_name=users.get(raw.get("requester_id")),
                submitter_name=users.get(raw.get("submitter_id")),
                assignee_name=users.get(raw.get("assignee_id")),
                organization_name=orgs.get(raw.get("organization_id")),
                group_name=groups.get(raw.get("group_id")),
                context=self.context.describe(raw, metrics.pop(raw["id"], None)),
            )
            self.names.remember("ticket", entity.id, entity.name)
            entities.append(entity)
            owed.append(entity.id)
        return entities, deletions, owed

    # ---------------------------------------------------------------------------- survey

    async def _survey(self, state: SourceCursor) -> AsyncIterator[SourcePage]:
        """First full run: read every ticket once, noting what the comment plan needs.

        When the first page is the whole stream and per-ticket reads of its tickets cannot take
        longer than two export requests, it simply becomes the first page of the per-ticket
        ticket stream (no second read).
        """
        survey = state.survey
        assert survey is not None
        in_scope = Bitmap.decode(survey.in_scope)
        histogram = survey.histogram
        comment_days = survey.comment_days
        first = survey.cursor is None
        # comment_count ("Side-Loading": tickets) sizes the comment work; it is not kept on
        # the entity, so a ticket hashes the same whichever stream read it.
        async for page in self._ticket_pages(survey, f"{TICKET_SIDELOADS},comment_count"):
            done = page.last
            tickets, metric_sets = self._take_tickets(page)
            del page  # the rest of the answer goes now
            comment_counts = {raw["id"]: raw.pop("comment_count", None) for raw in tickets}
            # What the plan needs of each ticket (its last version in the page), noted before
            # the raw objects go as their entities are built.
            noted = [
                (
                    raw["id"],
                    int(raw.get("generated_timestamp") or _epoch(raw.get("updated_at")) or 0),
                    _epoch(raw.get("created_at")),
                )
                for raw in {raw["id"]: raw for raw in tickets}.values()
            ]
            entities, deletions, owed = await self._ticket_entities(tickets, metric_sets)
            del tickets, metric_sets
            acc = self._bucket_limit("account", DEFAULT_ACCOUNT_LIMIT)
            exp = self._bucket_limit("incremental-exports", DEFAULT_EXPORT_LIMIT)
            if first and done and self.comment_strategy == "auto" and len(owed) / acc <= 2 / exp:
                state.tickets = ExportPosition(start_time=0, cursor=survey.cursor)
                state.pending = owed
                state.survey = None
                state.surveyed = True
                state.phase = "tickets"
                yield SourcePage(
                    stream="tickets", entities=entities, deletions=deletions, cursor=state.dump()
                )
                return
            first = False
            kept = set(owed)
            for ticket_id, g, created in noted:
                survey.max_g = max(survey.max_g, g)
                counts = histogram.setdefault(str(g // DAY), [0, 0])
                counts[0] += 1
                n_comments = comment_counts.get(ticket_id)
                if ticket_id in kept:
                    # requests a per-ticket read of this ticket costs
                    counts[1] += max(1, math.ceil((n_comments or 1) / COMMENT_PAGE))
                    in_scope.add(ticket_id)
                else:
                    in_scope.discard(ticket_id)
                if isinstance(n_comments, int) and n_comments > 0:
                    # Its comments lie between its creation and its last change: spread them
                    # evenly over those days (a difference array: +rate at the first day,
                    # -rate after the last).
                    start_day = (created or g) // DAY
                    end_day = max(start_day, g // DAY)
                    rate = n_comments / (end_day - start_day + 1)
                    comment_days[str(start_day)] = comment_days.get(str(start_day), 0.0) + rate
                    comment_days[str(end_day + 1)] = comment_days.get(str(end_day + 1), 0.0) - rate
                else:
                    survey.uncounted = True
            survey.in_scope = in_scope.encode()
            del noted, comment_counts, kept
            yield SourcePage(stream="tickets", entities=entities, deletions=deletions, cursor=state.dump())
            del entities, deletions, owed  # not held while the next page is read
            if done:
                # Planned once the last page is stored and let go: the plan reads a page of
                # events and lists the tickets left to per-ticket reads, which beside a page of
                # ticket entities made the first run's highest memory. Resumed from here, the
                # survey reads an empty last page and plans then.
                await self._decide_split(state, in_scope)
                yield SourcePage(stream="tickets", cursor=state.dump())
                return

    def _bucket_limit(self, bucket: str, default: int) -> int:
        """Requests per minute of a bucket: as configured, as the client last saw it, or the default."""
        if bucket in self.budgets:
            return self.budgets[bucket]
        budget = getattr(self.client, "budget", None)
        if callable(budget):
            state = budget(bucket)
            limit = getattr(state, "limit", None)
            if isinstance(limit, int) and limit > 0:
                return limit
        return default

    async def _decide_split(self, state: SourceCursor, in_scope: Bitmap) -> None:
        """Choose the split time X that makes both budgets finish soonest, and set up both.

        Cost model per candidate X (a day boundary of ``generated_timestamp``):

        * event stream: the events before X / 1,000 requests, plus the re-read of the ticket
          stream from X, on the export budget. Events are estimated from the tickets'
          ``comment_count`` spread over each ticket's lifetime, scaled by what the stream's
          first page shows (events that are not comments); without counts, from the event
          density of that first page;
        * per ticket: ``ceil(comments / 100)`` requests for each in-scope ticket last changed at
          or after X, on the plan budget.

        Time is the larger of the two, each divided by its bucket's limit per minute.
        """
        survey = state.survey
        assert survey is not None
        histogram = {int(day): counts for day, counts in survey.histogram.items()}
        horizon = survey.max_g + 1
        probe: dict[str, Any] | None = None
        if (
            self.comment_strategy != "per_ticket"
            and len(in_scope) > 0
            and in_scope.capacity() <= MAX_BITMAP_IDS
        ):
            probe = await self._events_page(0)
        if probe is None:
            self._plan(state, split=0, in_scope=in_scope, probe=None)
            return
        events_before = self._event_estimator(survey, probe)
        acc = self._bucket_limit("account", DEFAULT_ACCOUNT_LIMIT)
        exp = self._bucket_limit("incremental-exports", DEFAULT_EXPORT_LIMIT)
        # Candidates: day starts. Tickets with generated_timestamp >= X are exactly those in
        # days >= X // DAY; the horizon (after the newest ticket) means "all by events".
        candidates = [0] + [day * DAY for day in sorted(histogram) if day > 0] + [horizon]
        best: tuple[float, float, int] | None = None
        chosen = 0
        for x in candidates:
            all_after = sum(c[0] for day, c in histogram.items() if day * DAY >= x)
            pages_after = sum(c[1] for day, c in histogram.items() if day * DAY >= x)
            bulk_requests = math.ceil(events_before(x) / self.export_page_size) if x else 0
            # the tickets from X are listed twice: once to take them out of the event stream's
            # scope, once to read their comments
            listing = max(1, math.ceil(all_after / self.export_page_size))
            export_requests = bulk_requests + (2 * listing if x else listing)
            minutes = max(export_requests / exp, pages_after / acc)
            key = (minutes, export_requests + pages_after, -x)
            if best is None or key < best:
                best, chosen = key, x
        if self.comment_strategy == "bulk":
            chosen = horizon
        if chosen:
            await self._leave_to_per_ticket(chosen, in_scope)
        self._plan(state, split=chosen, in_scope=in_scope, probe=probe)
        # What each side is expected to read, to keep them abreast (``_tickets_and_comments``).
        state.per_ticket_progress = [
            0,
            sum(c[1] for day, c in histogram.items() if day * DAY >= chosen),
        ]
        if state.bulk is not None:
            state.bulk.events = [0, max(1, round(events_before(chosen)))]
        logger.info(
            "comment plan: event stream up to %s, per-ticket reads after it; estimated %.1f min "
            "(account %s/min, exports %s/min)",
            chosen,
            best[0] if best else 0.0,
            acc,
            exp,
        )

    async def _leave_to_per_ticket(self, split: int, in_scope: Bitmap) -> None:
        """Take the tickets changed since ``split`` out of the event stream's scope.

        Their comments are read per ticket; reading them from events too would emit each of
        those comments twice, in two forms (events carry no ``metadata``), in whichever order
        the two streams happen to run.
        """
        paging = ExportCursorPaging("tickets", ExportPosition(start_time=split))
        params = {"per_page": self.export_page_size}
        async for page in paginate(self.client, TICKETS_EXPORT, paging, params, decode=ticket_ids):
            for raw in page.items:
                in_scope.discard(raw["id"])
            del page  # not held while the next page is read

    @staticmethod
    def _event_estimator(survey: SurveyState, probe: dict[str, Any]) -> Callable[[int], float]:
        """events(X): how many ticket events happened before time X (see ``_decide_split``)."""
        events = probe.get("ticket_events") or []
        times = sorted(t for t in (_event_time(e) for e in events) if t is not None)
        if probe.get("end_of_stream"):
            return lambda x: float(sum(1 for t in times if t <= x))
        first = times[0] if times else 0
        end_time = int(probe.get("end_time") or first)
        diffs = {int(day): rate for day, rate in survey.comment_days.items()}
        if not diffs or survey.uncounted:
            density = len(events) / max(1, end_time - first)
            return lambda x: max(0.0, (x - first) * density)
        days = sorted(diffs)
        totals: list[float] = []  # comments on the days before days[i]
        rates: list[float] = []  # comments a day from days[i] on
        rate = total = 0.0
        for i, day in enumerate(days):
            total += rate * (day - days[i - 1]) if i else 0.0
            rate += diffs[day]
            totals.append(total)
            rates.append(rate)

        def comments_before(x: int) -> float:
            day = x // DAY
            i = bisect.bisect_right(days, day) - 1
            return 0.0 if i < 0 else totals[i] + rates[i] * (day - days[i])

        predicted = comments_before(end_time + DAY) - comments_before(first)
        scale = min(20.0, max(1.0, len(events) / predicted)) if predicted > 0 else 1.0
        return lambda x: comments_before(x) * scale

    def _plan(
        self, state: SourceCursor, *, split: int, in_scope: Bitmap, probe: dict[str, Any] | None
    ) -> None:
        """After the survey: bulk events up to ``split``, ticket stream re-read from ``split``.

        The re-read builds again only the tickets changed since the survey read them: those
        whose ``generated_timestamp`` is at least the newest one the survey saw, less a minute.
        The exports never return the most recent minute, "to prevent race conditions"
        (api-reference.md, "Incremental Exports", start_time), so a version the survey did not
        see is newer than every one it saw; the extra minute is a margin.
        """
        survey = state.survey
        state.settled_before = (
            survey.max_g - SETTLED_MARGIN_SECONDS if survey is not None and survey.max_g > 0 else None
        )
        state.bulk = BulkState(start_time=0, until=split, in_scope=in_scope.encode()) if split > 0 else None
        state.tickets = ExportPosition(start_time=split)
        state.pending = []
        state.survey = None
        state.surveyed = True
        state.phase = "tickets"
        self._probe = probe if split > 0 else None

    # ---------------------------------------------------------------------------- events

    async def _events_page(self, start_time: int) -> dict[str, Any]:
        return await self.client.get_json(
            EVENTS_EXPORT,
            params={
                "start_time": export_start(start_time),
                "include": "comment_events",
                "per_page": self.export_page_size,
            },
            decode=ticket_events,
        )

    # ---------------------------------------------------------------------------- comments

    async def _comment_entities(
        self,
        ticket_id: int,
        ticket_bc: Breadcrumb,
        comments: list[dict[str, Any]],
        authors: Mapping[Any, str | None] | None = None,
    ) -> list[ZendeskEntity]:
        if authors is None:
            authors = await self.names.resolve("user", (c.get("author_id") for c in comments))
        out: list[ZendeskEntity] = []
        web_url = self.config.agent_ticket_url(ticket_id)
        for raw in comments:
            comment = ZendeskCommentEntity.from_api(
                raw,
                ticket=ticket_bc,
                ticket_id=ticket_id,
                web_url=web_url,
                author_name=authors.get(raw.get("author_id")),
            )
            out.append(comment)
            for att in raw.get("attachments") or []:
                if isinstance(att, dict) and att.get("id") is not None:
                    out.append(ZendeskAttachmentEntity.from_api(att, comment=comment, ticket=ticket_bc))
        return out

    async def _ticket_comments(self, ticket_id: int, name: str) -> tuple[list[ZendeskEntity], list[Deletion]]:
        """Every comment of one ticket (every page), inline images included, with attachments."""
        ticket_bc = Breadcrumb(entity_id=f"ticket:{ticket_id}", name=name, entity_type="ticket")
        out: list[ZendeskEntity] = []
        pages = paginate(
            self.client,
            f"/api/v2/tickets/{ticket_id}/comments.json",
            CursorPaging("comments", COMMENT_PAGE),
            {"include_inline_images": "true", "include": "users"},
        )
        try:
            async for page in pages:
                self.names.remember_objects("user", page.data.get("users"))
                out.extend(await self._comment_entities(ticket_id, ticket_bc, page.items))
        except NotFound:
            # The ticket was deleted (or merged away) since it was listed.
            return [], [Deletion(entity_type="ticket", entity_id=f"ticket:{ticket_id}")]
        return out, []

    async def reread_attachments(
        self, stored: list[ZendeskAttachmentEntity]
    ) -> tuple[list[ZendeskAttachmentEntity], list[Deletion]]:
        """Stored attachments with what Zendesk says of them now (Show Attachment): a fresh
        ``content_url`` to retry a download that failed. One that is gone is a deletion."""
        found: list[ZendeskAttachmentEntity] = []
        gone: list[Deletion] = []
        limit = asyncio.Semaphore(self.concurrency)

        async def reread(attachment: ZendeskAttachmentEntity) -> None:
            async with limit:
                try:
                    data = await self.client.get_json(f"/api/v2/attachments/{attachment.id}.json")
                except NotFound:
                    gone.append(Deletion(entity_type="attachment", entity_id=attachment.entity_id))
                    return
                except AuthenticationError:
                    raise
                except ZendeskError as exc:  # it stays recorded as failed: the next run tries again
                    logger.info("attachment %s not re-read: %s", attachment.id, exc)
                    return
            raw = data.get("attachment")
            if not isinstance(raw, dict):
                return
            fresh = {k: raw[k] for k in _DOWNLOAD_FIELDS if k in raw}
            found.append(ZendeskAttachmentEntity.model_validate({**attachment.model_dump(), **fresh}))

        try:
            async with asyncio.TaskGroup() as group:
                for attachment in stored:
                    group.create_task(reread(attachment))
        except BaseExceptionGroup as errors:
            raise errors.exceptions[0] from None
        return found, gone

    async def _owed_names(self, ticket_ids: list[int]) -> list[tuple[int, str]]:
        """Ticket ids owed comments, with the names their comments' breadcrumbs show."""
        names = await self.names.resolve("ticket", ticket_ids)
        return [(i, names.get(i) or f"Ticket #{i}") for i in ticket_ids]

    async def _tickets_and_comments(self, state: SourceCursor) -> AsyncIterator[SourcePage]:
        """The ticket stream with per-ticket comment reads, the event stream if planned, and the
        organization and user exports if this run has not finished them yet, all at once.

        Output is taken from two queues: ``out`` (the ticket stream and the per-ticket comment
        reads, on the plan budget) and ``side`` (the export streams' pages, on the export
        budget). When both have something and the store is the slower end (attachment
        downloads at their own limit), the side that is further behind its share of the plan
        goes first: the per-ticket reads by requests made of those planned, the event stream
        by events read of those estimated. Both then finish together, as the plan intended,
        instead of one budget's work being left for the end. Without an event stream the two
        queues take turns page by page.

        Each producer moves its own copy of its stream's position; the consumer takes a
        position over with the page it came with, so a yielded cursor never runs ahead of what
        has been yielded.
        """
        # Two queues for the order pages go out in, one budget for what they and the page last
        # yielded weigh (READ_AHEAD): entities and estimated bytes, not pages, since a ticket
        # page is a thousand tickets and a comment result may be one comment.
        budget = Budget(*self.read_ahead)
        out: BudgetQueue[_Item] = BudgetQueue(budget=budget)
        side: BudgetQueue[_Item] = BudgetQueue(budget=budget)
        arrived = asyncio.Event()
        work: asyncio.Queue[tuple[int, str] | None] = asyncio.Queue(maxsize=self.export_page_size)
        tasks: list[asyncio.Task[None]] = []

        async def put(queue: BudgetQueue[_Item], item: _Item) -> None:
            await queue.put(item, page_weight(item.page) if item.page is not None else None)
            arrived.set()

        side_turn = False  # an export page goes next, if one is ready
        # The export streams (tickets, events, users, organizations) read their answers one at
        # a time, each only once there is room for its page (READ_AHEAD): at most one of their
        # pages is held outside the queues, instead of one per stream waiting for room. They
        # share the export rate limit, so taking turns costs them little.
        export_turns = asyncio.Lock()

        @contextlib.asynccontextmanager
        async def export_turn() -> AsyncIterator[None]:
            """An export stream's turn to read an answer and put its page: once there is room."""
            async with export_turns:
                await budget.room()
                yield

        def events_behind() -> bool:
            """Whether the event stream has done less of its share than the per-ticket reads."""
            bulk = state.bulk
            if bulk is None or not bulk.events:
                return side_turn
            events_read, events_total = bulk.events
            requests_made, requests_total = state.per_ticket_progress or (0, 0)
            per_ticket_share = requests_made / requests_total if requests_total else 1.0
            return bool(events_read / max(1, events_total) <= per_ticket_share)

        async def next_item() -> tuple[_Item, tuple[int, ...]]:
            """The next item, with its weight: still taken from ``budget`` until the reader has
            asked for the page after the one it goes into."""
            nonlocal side_turn
            while True:
                if events_behind() and not side.empty():
                    side_turn = False
                    return side.get_held()
                if not out.empty():
                    return out.get_held()
                if not side.empty():
                    side_turn = False
                    return side.get_held()
                arrived.clear()
                await arrived.wait()

        async def guarded(name: str, body: Callable[[], Awaitable[None]], queue: BudgetQueue[_Item]) -> None:
            try:
                await body()
                await put(queue, _Item(kind="done", producer=name))
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # handed to the consumer, which re-raises it
                await put(queue, _Item(kind="error", error=exc, producer=name))

        async def ticket_stream() -> None:
            for owed in await self._owed_names(list(state.pending)):
                await work.put(owed)
            position = state.tickets.model_copy()
            # Re-read after a survey, a ticket that has not changed since is not built again:
            # the survey emitted it as it is, and only its comments are owed.
            settled_before = state.settled_before
            decode = ticket_export if settled_before is None else ticket_reread(settled_before)
            pages = self._ticket_pages(position, decode=decode)
            while True:
                async with export_turn():
                    page = await anext(pages, None)
                    if page is None:
                        break
                    settled = page.data.pop("settled_tickets", None) or []
                    tickets, metric_sets = self._take_tickets(page)
                    del page
                    entities, deletions, owed_ids = await self._ticket_entities(tickets, metric_sets)
                    del tickets, metric_sets
                    named = [(e.id, e.name) for e in entities if isinstance(e, ZendeskTicketEntity)]
                    for brief in settled:
                        if self._out_of_scope(brief) is None:  # else the survey emitted its deletion
                            name = ticket_name(brief)
                            self.names.remember("ticket", brief["id"], name)
                            named.append((brief["id"], name))
                            owed_ids.append(brief["id"])
                    del settled
                    item = _Item(
                        kind="tickets",
                        page=SourcePage(stream="tickets", entities=entities, deletions=deletions),
                        ticket_position=position.model_copy(),
                        owed=owed_ids,
                    )
                    await put(out, item)
                    # Only the queue refers to the page now: once stored it goes, while this
                    # task hands its tickets to the comment workers (out of turn).
                    del item, entities, deletions
                for pair in named:
                    await work.put(pair)
            for _ in range(self.concurrency):
                await work.put(None)

        async def comment_worker() -> None:
            while True:
                item = await work.get()
                if item is None:
                    return
                ticket_id, name = item
                entities, deletions = await self._ticket_comments(ticket_id, name)
                page = SourcePage(stream="comments", entities=entities, deletions=deletions)
                await put(out, _Item(kind="comments", page=page, settled=[ticket_id]))
                del page, entities, deletions  # not held while waiting for the next ticket

        async def event_stream() -> None:
            assert state.bulk is not None
            bulk = state.bulk.model_copy(deep=True)
            in_scope = Bitmap.decode(bulk.in_scope)
            probe, self._probe = self._probe, None
            paging = TimeBasedPaging(
                "ticket_events", bulk, key=_event_key, time_of=_event_time, until=bulk.until
            )
            params = {"include": "comment_events", "per_page": self.export_page_size}
            first = probe if probe is not None and bulk.start_time == 0 else None
            del probe  # paginate holds the first page until it has handed it on
            pages = paginate(self.client, EVENTS_EXPORT, paging, params, first=first, decode=ticket_events)
            del first
            while True:
                async with export_turn():
                    page = await anext(pages, None)
                    if page is None:
                        break
                    n_events = len(page.data.get("ticket_events") or [])
                    last = page.last
                    events = page.take_items()
                    del page  # the answer is not held while the page waits in the queue
                    entities = await self._event_comments(events, bulk.until, in_scope)
                    del events
                    if bulk.events:
                        read, estimate = bulk.events
                        bulk.events = [read + n_events, estimate]
                    item = _Item(
                        kind="bulk",
                        page=SourcePage(stream="comments", entities=entities),
                        bulk=bulk.model_copy(deep=True),
                        bulk_done=last,
                    )
                    await put(side, item)
                    del item, entities  # not held while the next page is read

        async def export_stream(kind: Literal["organizations", "users"]) -> None:
            position: TimePosition | ExportPosition
            if kind == "organizations":
                position = state.organizations.model_copy(deep=True)
                pages = self._organizations(position)
            else:
                position = state.users.model_copy(deep=True)
                pages = self._users(position)
            while True:
                async with export_turn():
                    found = await anext(pages, None)
                    if found is None:
                        break
                    page, done = found
                    del found
                    item = _Item(
                        kind=kind, page=page, position=position.model_copy(deep=True), stream_done=done
                    )
                    del page
                    await put(side, item)
                    del item  # not held while the next page is read

        producers: dict[str, tuple[Callable[[], Awaitable[None]], BudgetQueue[_Item]]] = {
            "tickets": (ticket_stream, out)
        }
        if state.bulk is not None:
            producers["events"] = (event_stream, side)
        if not state.organizations_done:
            producers["organizations"] = (functools.partial(export_stream, "organizations"), side)
        if not state.users_done:
            producers["users"] = (functools.partial(export_stream, "users"), side)
        for i in range(self.concurrency):
            producers[f"worker-{i}"] = (comment_worker, out)
        try:
            for name, (body, queue) in producers.items():
                tasks.append(asyncio.create_task(guarded(name, body, queue), name=f"zensync-source-{name}"))
            running = len(producers)
            batch: list[ZendeskEntity] = []
            batch_deletions: list[Deletion] = []
            settled: set[int] = set()
            flushed_at = time.monotonic()

            def flush() -> SourcePage:
                if settled:
                    state.pending = [p for p in state.pending if p not in settled]
                page = SourcePage(
                    stream="comments",
                    entities=list(batch),
                    deletions=list(batch_deletions),
                    cursor=state.dump(),
                    complete_tickets=sorted(settled),
                )
                batch.clear()
                batch_deletions.clear()
                settled.clear()
                return page

            while running:
                item, weight = await next_item()
                if item.kind == "error":
                    assert item.error is not None
                    raise item.error
                if item.kind == "done":
                    running -= 1
                    continue
                assert item.page is not None
                if item.kind == "comments":
                    if state.per_ticket_progress:
                        comments = sum(isinstance(e, ZendeskCommentEntity) for e in item.page.entities)
                        state.per_ticket_progress[0] += max(1, math.ceil(comments / COMMENT_PAGE))
                    batch.extend(item.page.entities)
                    batch_deletions.extend(item.page.deletions)
                    settled.update(item.settled)
                    del item  # its entities are the batch's now, and go once it is handed on
                    # Small results wait in the batch without weighing on the budget: counted,
                    # they could fill it and leave the batch waiting for results that wait for
                    # room.
                    budget.give(weight)
                    # Each page is one store transaction: small ones are held back while
                    # more comments are on their way (until MIN_COMMENT_PAGE entities, or a
                    # second after the last page), so a stream of one-ticket results does not
                    # become a stream of commits.
                    held = time.monotonic() - flushed_at
                    if len(batch) >= EXPORT_PAGE or (
                        out.empty() and (len(batch) >= MIN_COMMENT_PAGE or held >= MAX_HOLD_SECONDS)
                    ):
                        side_turn = True
                        yield flush()
                        flushed_at = time.monotonic()
                    continue
                if settled or batch:
                    yield flush()
                if item.kind == "tickets":
                    assert item.ticket_position is not None
                    state.tickets = item.ticket_position
                    known = set(state.pending)
                    state.pending.extend(i for i in item.owed if i not in known)
                elif item.kind == "bulk":
                    state.bulk = None if item.bulk_done else item.bulk
                elif item.kind == "organizations":
                    assert isinstance(item.position, TimePosition)
                    state.organizations = item.position
                    state.organizations_done = state.organizations_done or item.stream_done
                elif item.kind == "users":
                    assert isinstance(item.position, ExportPosition)
                    state.users = item.position
                    state.users_done = state.users_done or item.stream_done
                page = item.page
                del item  # nothing here holds the page once it is stored
                assert page is not None
                page.cursor = state.dump()
                yield page
                del page
                # The page's weight counted until the reader asked for the next page (it is
                # done with this one, or has room beside it).
                budget.give(weight)
            if settled or batch:
                yield flush()
            state.phase = "done"
            state.pending = []
            state.bulk = None
            state.settled_before = None
            yield SourcePage(stream="tickets", cursor=state.dump())
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _event_comments(
        self, events: list[dict[str, Any]], until: int, in_scope: Bitmap
    ) -> list[ZendeskEntity]:
        """Comments (and attachments) of in-scope tickets among one page's new events.

        ``events`` is consumed (emptied): each ticket's comment events are let go once its
        entities are built, so a page's decoded events (about 2.3 MB of objects for 1,000) and
        their entities are not all held at once.
        """
        by_ticket: dict[int, list[dict[str, Any]]] = {}
        for event in events:
            when = _event_time(event)
            if when is None or when > until:
                continue
            ticket_id = event.get("ticket_id")
            if not isinstance(ticket_id, int) or ticket_id not in in_scope:
                continue
            for child in event.get("child_events") or []:
                if child.get("event_type") in COMMENT_EVENT_TYPES and child.get("id") is not None:
                    if "created_at" not in child and event.get("created_at"):
                        child = {**child, "created_at": event["created_at"]}
                    by_ticket.setdefault(ticket_id, []).append(child)
        events.clear()
        if not by_ticket:
            return []
        names = await self.names.resolve("ticket", by_ticket)
        # The page's comment authors in one look-up (show_many, 100 ids a request) before the
        # tickets are built one by one: asked ticket by ticket, each ticket whose author the
        # bounded cache has let go costs a request of its own (49,000 requests at 100,000
        # tickets, where the users outnumber the cache).
        authors = await self.names.resolve(
            "user", (c.get("author_id") for comments in by_ticket.values() for c in comments)
        )
        entities: list[ZendeskEntity] = []
        for ticket_id in list(by_ticket):
            comments = by_ticket.pop(ticket_id)
            name = names.get(ticket_id) or f"Ticket #{ticket_id}"
            bc = Breadcrumb(entity_id=f"ticket:{ticket_id}", name=name, entity_type="ticket")
            entities.extend(await self._comment_entities(ticket_id, bc, comments, authors))
        return entities
