"""Search API routes (api-reference.md, "Search"; query language in search.py).

- ``GET /api/v2/search`` (agents): offset pagination only, at most 100 a page and 1,000
  results a query: a page past the limit (``page=11`` at 100 a page) answers 422 ("Results
  limit"); ``count`` is the true number of results even beyond 1,000. Sideloads (``include``)
  as for the objects found: ``users``, ``groups``, ``organizations`` for tickets.
- ``GET /api/v2/search/count`` (agents): ``{"count": n}``.
- ``GET /api/v2/search/export`` (agents): cursor pagination only, ``page[size]`` up to
  1,000, one object type given in ``filter[type]`` ("Searches with type in the query string
  will result in an error": a ``type:`` term naming another type answers 400), ordered
  only by ``created_at``, no 1,000 limit; ``links.prev`` is always null ("backward
  pagination is not supported").

Errors: an unreadable query answers 400 ``{"error": "invalid", "description": ...}`` ("Errors
JSON Format": error "unavailable" or "invalid").
"""

from __future__ import annotations

import base64
import binascii
import json
import re

from starlette.requests import Request
from starlette.responses import Response

from .api_base import (
    MAX_PAGE_SIZE,
    ApiBase,
    Reply,
    RouteTable,
    _base,
    _includes,
    _int_param,
    _kept_params,
    _url,
    json_response,
    pagination_error,
)
from .auth import Principal
from .data import JSON
from .search import TYPES, SearchError, parse, result

SEARCH_RESULTS_LIMIT = 1000
MAX_EXPORT_PAGE_SIZE = 1000
RESULTS_LIMIT_BODY = {
    "error": "invalid",
    "description": "Invalid search: Requested response size was greater than Search Response Limits",
}


def _invalid(description: str, status: int = 400) -> Reply:
    return Reply(json_response({"error": "invalid", "description": description}, status))


class SearchRoutes(ApiBase):
    def route_table(self) -> RouteTable:
        return [
            *super().route_table(),
            ("/api/v2/search", self.search, ["GET"]),
            ("/api/v2/search/count", self.search_count, ["GET"]),
            ("/api/v2/search/export", self.search_export, ["GET"]),
        ]

    def _query(self, request: Request) -> str:
        query = request.query_params.get("query", "").strip()
        if not query:
            raise _invalid("query is required: /api/v2/search.json?query=type:ticket status:open")
        return query

    def _found(self, request: Request, query_text: str, me: int) -> list[tuple[str, JSON]]:
        try:
            query = parse(
                query_text,
                request.query_params.get("sort_by"),
                request.query_params.get("sort_order"),
                me=me,
            )
        except SearchError as exc:
            raise _invalid(str(exc)) from None
        return self.account.searcher.search(query)

    def _search_sideload(self, request: Request, results: list[JSON], principal: Principal) -> JSON:
        """Search "Side-loading": ``include=tickets(users)`` sideloads the users of the
        ticket results; ``users(...)`` and ``organizations(...)`` likewise name the sideloads
        of those results (each type's own, as on its list endpoint). A bare name applies to
        tickets. Lists two types both sideload (``organizations``) are merged by id."""
        include = _includes(request)
        out: JSON = {}
        for kind, sideload in (
            ("ticket", lambda rs, names: self._sideload(request, rs, names)),
            ("user", lambda rs, names: self._user_sideload(request, principal, names)(rs)),
            ("organization", lambda rs, names: self._org_sideload(request, principal, names)(rs)),
        ):
            names = _typed_includes(include, kind)
            found = [r for r in results if r["result_type"] == kind]
            if not names or not found:
                continue
            for key, value in sideload(found, names).items():
                if isinstance(value, list) and isinstance(out.get(key), list):
                    seen = {item.get("id") for item in out[key] if isinstance(item, dict)}
                    out[key] += [v for v in value if not (isinstance(v, dict) and v.get("id") in seen)]
                else:
                    out[key] = value
        return out

    async def search(self, request: Request) -> Response:
        principal = await self._principal(request)
        query = self._query(request)
        page = _int_param(request, "page", 1, minimum=1)
        per_page = _int_param(request, "per_page", MAX_PAGE_SIZE, minimum=1)
        assert page is not None and per_page is not None
        per_page = min(per_page, MAX_PAGE_SIZE)
        start = (page - 1) * per_page
        if start + per_page > SEARCH_RESULTS_LIMIT:
            raise Reply(json_response(RESULTS_LIMIT_BODY, 422))
        found = self._found(request, query, principal.user_id)
        base = _base(request)
        results = [result(kind, obj, base) for kind, obj in found[start : start + per_page]]
        kept = _kept_params(request, ("page", "per_page"))
        reachable = min(len(found), SEARCH_RESULTS_LIMIT)
        body: JSON = {
            "results": results,
            "facets": None,
            "next_page": _url(request, {**kept, "page": str(page + 1), "per_page": str(per_page)})
            if start + per_page < reachable
            else None,
            "previous_page": _url(request, {**kept, "page": str(page - 1), "per_page": str(per_page)})
            if page > 1
            else None,
            "count": len(found),
        }
        body.update(self._search_sideload(request, results, principal))
        return json_response(body)

    async def search_count(self, request: Request) -> Response:
        principal = await self._principal(request)
        return json_response({"count": len(self._found(request, self._query(request), principal.user_id))})

    async def search_export(self, request: Request) -> Response:
        principal = await self._principal(request)
        query = self._query(request)
        kind = request.query_params.get("filter[type]")
        if kind not in TYPES:
            raise _invalid(f"filter[type] is required: one of {', '.join(TYPES)}")
        # "Searches with type in the query string will result in an error": one naming another
        # type than filter[type] does; Zenpy, written against Zendesk, repeats the same type.
        if any(p.lower().startswith("type:") and p.lower() != f"type:{kind}" for p in query.split()):
            raise _invalid("Invalid search: give the object type in filter[type], not in the query")
        size = _int_param(request, "page[size]", 100, minimum=1)
        assert size is not None
        if size > MAX_EXPORT_PAGE_SIZE:
            raise pagination_error(f"page[size] must be at most {MAX_EXPORT_PAGE_SIZE}, got {size}")
        found = self.account.searcher.export_order(
            [(k, o) for k, o in self._found(request, f"type:{kind} {query}", principal.user_id) if k == kind]
        )
        start = 0
        after = request.query_params.get("page[after]")
        if after:
            start = _decode_position(after)
        page = found[start : start + size]
        base = _base(request)
        results = [result(k, obj, base) for k, obj in page]
        has_more = start + size < len(found)
        after_cursor = _encode_position(start + size) if has_more else None
        kept = _kept_params(request, ("page[after]",))
        next_url = _url(request, {**kept, "page[after]": after_cursor}) if after_cursor else None
        body: JSON = {
            "results": results,
            "facets": None,
            "meta": {"has_more": has_more, "after_cursor": after_cursor, "before_cursor": None},
            "links": {"prev": None, "next": next_url},
        }
        body.update(self._search_sideload(request, results, principal))
        return json_response(body)


def _typed_includes(include: set[str], kind: str) -> set[str]:
    """The sideloads ``include`` names for results of one type: ``tickets(users,groups)``
    for tickets, ``users(organizations)`` for users; a bare name is a ticket sideload."""
    out: set[str] = set()
    for name in include:
        typed = re.fullmatch(r"(\w+)\(([^()]*)\)", name)
        if typed is None:
            if kind == "ticket":
                out.add(name)
        elif typed.group(1) in (kind, f"{kind}s"):
            out |= {part.strip() for part in typed.group(2).split(",") if part.strip()}
    return out


def _encode_position(position: int) -> str:
    raw = json.dumps({"search_export_position": position}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_position(text: str) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        position = data["search_export_position"]
        if not isinstance(position, int) or position < 0:
            raise ValueError
        return position
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise pagination_error("page[after] is not valid") from None
