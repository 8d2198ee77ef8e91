"""Ticket Audits API (api-reference.md, "Ticket Audits"; spec ``/api/v2/ticket_audits``,
``/api/v2/tickets/{ticket_id}/audits``).

- List Audits for a Ticket (agents): cursor or offset pagination, at most 100 a page; an
  archived ticket's audits come in one page without pagination ("Audits for Archived Tickets
  do not support pagination for this endpoint").
- Show Audit and Count Audits for a Ticket (agents).
- List All Ticket Audits (admins): archived tickets' audits are not included (nor deleted
  tickets'), oldest first by (created_at, id). Two cursor schemes, as documented: the
  ``page[size]`` / ``page[after]`` / ``page[before]`` parameters (``meta`` + ``links``, at
  most 100 a page), and the older ``cursor`` / ``limit`` scheme of the spec's
  ``TicketAuditsResponse`` and its example (``after_cursor``, ``after_url``,
  ``before_cursor``, ``before_url``; ``limit`` up to 1,000). A request with neither is the
  first ``page[size]=100`` page.

Sideloads ("Side-Loading", ticket audits): ``users`` (authors and the ticket's people),
``tickets``, ``groups`` and ``organizations``; unknown names are ignored as Zendesk does.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from starlette.requests import Request
from starlette.responses import Response

from .api_base import (
    ApiBase,
    RouteTable,
    _base,
    _includes,
    _int_param,
    _kept_params,
    _url,
    decode_export_cursor,
    encode_export_cursor,
    json_response,
)
from .audits import generated_ticket_of
from .common import AUDIT_BASE
from .data import JSON, RecordNotFound, SortedIds, TimeIndex, iso

MAX_LEGACY_LIMIT = 1000
_SHIFT = 40  # a list cursor key packs (timestamp, audit id - AUDIT_BASE)
_LOW = (1 << _SHIFT) - 1


class TimeKeys:
    """Audits in export order as the integer keys ``ApiBase._paginate`` walks, minus skipped ones."""

    def __init__(self, index: TimeIndex, skip: Callable[[int], bool]) -> None:
        self.index = index
        self.skip = skip

    @staticmethod
    def pack(entry: tuple[int, int]) -> int:
        return entry[0] << _SHIFT | (entry[1] - AUDIT_BASE)

    @staticmethod
    def unpack(key: int) -> tuple[int, int]:
        return key >> _SHIFT, (key & _LOW) + AUDIT_BASE

    def _kept(self, entries: Iterator[tuple[int, int]], limit: int) -> list[int]:
        out: list[int] = []
        for entry in entries:
            if not self.skip(entry[1]):
                out.append(self.pack(entry))
                if len(out) >= limit:
                    break
        return out

    def __len__(self) -> int:
        return sum(1 for _ in self._kept(self.index.iter_after((-1, 0)), 1 << 62))

    def slice(self, start: int, stop: int) -> list[int]:
        return self._kept(self.index.iter_after((-1, 0)), stop)[start:]

    def after(self, key: int, limit: int) -> list[int]:
        return self._kept(self.index.iter_after(self.unpack(key)), limit)

    def before(self, key: int, limit: int) -> list[int]:
        return self._kept(self.index.iter_before(self.unpack(key)), limit)[::-1]

    def has_before(self, key: int) -> bool:
        return bool(self._kept(self.index.iter_before(self.unpack(key)), 1))


class HistoryRoutes(ApiBase):
    def route_table(self) -> RouteTable:
        return [
            *super().route_table(),
            ("/api/v2/ticket_audits", self.list_all_audits, ["GET"]),
            ("/api/v2/tickets/{id:int}/audits", self.list_ticket_audits, ["GET"]),
            ("/api/v2/tickets/{id:int}/audits/count", self.count_ticket_audits, ["GET"]),
            ("/api/v2/tickets/{id:int}/audits/{audit_id:int}", self.show_audit, ["GET"]),
        ]

    def _audit_ticket(self, audit_id: int) -> int | None:
        where = generated_ticket_of(audit_id)
        if where is not None:
            return where[0]
        ev = self.account.written_event(audit_id)
        return None if ev is None else ev.ticket_id

    def _audit_sideload(self, request: Request, audits: list[JSON]) -> JSON:
        include = _includes(request)
        base = _base(request)
        out: JSON = {}
        tickets = []
        if include & {"tickets", "users", "groups", "organizations"}:
            tids = sorted({int(a["ticket_id"]) for a in audits})
            tickets = [t for t in (self.account.render_ticket(tid, base) for tid in tids) if t]
        if "tickets" in include:
            out["tickets"] = tickets
        if "users" in include:
            ids = {int(a["author_id"]) for a in audits if a["author_id"] > 0}
            for t in tickets:
                ids.update(int(t[k]) for k in ("requester_id", "submitter_id", "assignee_id") if t.get(k))
            out["users"] = [u for u in (self.account.render_user(i, base) for i in sorted(ids)) if u]
        if "groups" in include:
            gids = sorted({int(t["group_id"]) for t in tickets if t.get("group_id")})
            out["groups"] = [g for g in (self.account.render_group(i, base) for i in gids) if g]
        if "organizations" in include:
            oids = sorted({int(t["organization_id"]) for t in tickets if t.get("organization_id")})
            out["organizations"] = [o for o in (self.account.render_org(i, base) for i in oids) if o]
        return out

    def _readable_ticket(self, request: Request) -> int:
        tid = int(request.path_params["id"])
        if self.account.ticket_state(tid) not in ("live", "archived"):
            raise RecordNotFound
        return tid

    async def list_ticket_audits(self, request: Request) -> Response:
        """List Audits for a Ticket."""
        await self._principal(request)
        tid = self._readable_ticket(request)
        base = _base(request)
        audits = [audit for audit, _comment in self.account.audits.for_ticket(tid, base)]
        if self.account.ticket_state(tid) == "archived":
            body: JSON = {"audits": audits, "next_page": None, "previous_page": None, "count": len(audits)}
            body.update(self._audit_sideload(request, audits))
            return json_response(body)
        return self._paginate(
            request,
            SortedIds(range(len(audits))),
            lambda page: [audits[k] for k in page],
            "audits",
            lambda items: self._audit_sideload(request, items),
        )

    async def count_ticket_audits(self, request: Request) -> Response:
        await self._principal(request)
        tid = self._readable_ticket(request)
        count = self.account.audits.count_for_ticket(tid)
        return json_response({"count": {"value": count, "refreshed_at": iso(time.time())}})

    async def show_audit(self, request: Request) -> Response:
        await self._principal(request)
        tid = self._readable_ticket(request)
        audit_id = int(request.path_params["audit_id"])
        found = self.account.audits.one(audit_id, _base(request))
        if found is None or found[0]["ticket_id"] != tid:
            raise RecordNotFound
        return json_response({"audit": found[0]})

    def _listed(self, audit_id: int) -> bool:
        tid = self._audit_ticket(audit_id)
        return tid is not None and self.account.ticket_state(tid) == "live"

    async def list_all_audits(self, request: Request) -> Response:
        """List All Ticket Audits (admins)."""
        await self._principal(request, "admin")
        base = _base(request)
        index = self.account.events_index()

        def render(keys: list[int]) -> list[JSON]:
            out = []
            for key in keys:
                found = self.account.audits.in_time_order(TimeKeys.unpack(key)[1], base)
                if found is not None:
                    out.append(found[0])
            return out

        q = request.query_params
        if "cursor" in q or "limit" in q:
            return self._legacy_audit_page(request, index, base)
        keys = TimeKeys(index, lambda audit_id: not self._listed(audit_id))
        return self._paginate(
            request,
            keys,
            render,
            "audits",
            lambda items: self._audit_sideload(request, items),
            cursor_only=True,
        )

    def _legacy_audit_page(self, request: Request, index: TimeIndex, base: str) -> Response:
        """The ``cursor`` / ``limit`` scheme of the spec's ``TicketAuditsResponse``."""
        limit = _int_param(request, "limit", MAX_LEGACY_LIMIT, minimum=1)
        assert limit is not None
        limit = min(limit, MAX_LEGACY_LIMIT)
        cursor = request.query_params.get("cursor")
        backwards = False
        key: tuple[int, int] = (-1, 0)
        if cursor:
            key, backwards = decode_export_cursor(cursor)
        entries: list[tuple[int, int]] = []
        source = index.iter_before(key) if backwards else index.iter_after(key)
        for entry in source:
            if self._listed(entry[1]):
                entries.append(entry)
                if len(entries) >= limit:
                    break
        if backwards:
            entries.reverse()
        audits = [
            found[0] for e in entries if (found := self.account.audits.in_time_order(e[1], base)) is not None
        ]
        keep = _kept_params(request, ("cursor",))
        after = before = None
        if entries:
            if any(self._listed(e[1]) for e in index.iter_after(entries[-1])):
                after = encode_export_cursor(entries[-1])
            if any(self._listed(e[1]) for e in index.iter_before(entries[0])):
                before = encode_export_cursor(entries[0], before=True)
        body: JSON = {
            "audits": audits,
            "after_cursor": after,
            "after_url": _url(request, {**keep, "cursor": after}) if after else None,
            "before_cursor": before,
            "before_url": _url(request, {**keep, "cursor": before}) if before else None,
        }
        body.update(self._audit_sideload(request, audits))
        return json_response(body)
