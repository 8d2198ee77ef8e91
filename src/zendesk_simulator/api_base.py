"""Plumbing shared by the simulator's route modules: responses, parameters, cursors, paging.

The behaviour it implements is described in ``api.py`` (pagination, errors) with the
sections of Zendesk's reference it follows.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .auth import FORBIDDEN_BODY, AuthFailure, Principal, authenticate
from .config import SimulatorConfig
from .data import JSON, Account, RecordInvalid, RecordNotFound, TimeIndex
from .oauth import OAuthServer
from .stats import Stats

Handler = Callable[[Request], Awaitable[Response]]

NOT_FOUND_BODY = {"error": "RecordNotFound", "description": "Not found"}
INVALID_ENDPOINT_BODY = {"error": "InvalidEndpoint", "description": "Not found"}
MAX_PAGE_SIZE = 100
MAX_OFFSET_PAGES = 100
MAX_OFFSET_RECORDS = 10_000
MAX_EXPORT_PAGE = 1000
MAX_SHOW_MANY = 100
PRESIGN_TTL = 900
DELETED_USER_FIELDS = (
    "id",
    "name",
    "email",
    "created_at",
    "updated_at",
    "time_zone",
    "phone",
    "shared_phone_number",
    "photo",
    "locale_id",
    "locale",
    "organization_id",
    "role",
    "active",
)
OFFSET_DEPTH_ERROR = {
    "errors": [
        {
            "code": "InvalidPaginationDepth",
            "title": (
                "Pagination requests using Offset Pagination are limited to page 100 or up to "
                "10000 records (page * per_page)"
            ),
            "detail": (
                "There are limits to the page depth in Offset Pagination. Offset Pagination will be "
                "deprecated fully in the near future.\nPlease switch to Cursor Pagination at the "
                "earliest. Cursor Pagination does not have any limits.\nSee "
                "https://developer.zendesk.com/documentation/api-basics/pagination/"
                "comparing-cursor-pagination-and-offset-pagination\n"
            ),
        }
    ]
}
_EXPORT_CURSOR_RE = re.compile(r"^(-?\d+)\.0\|\|(-?\d+)\|(b?)$")


class Reply(Exception):
    """Stop handling and answer with ``response`` (bad parameters, forbidden, ...)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(body, status_code=status, headers=headers, media_type="application/json; charset=utf-8")


def bad_request(description: str, error: str = "InvalidValue") -> Reply:
    return Reply(json_response({"error": error, "description": description}, 400))


def pagination_error(title: str) -> Reply:
    return Reply(json_response({"errors": [{"code": "InvalidPaginationParameter", "title": title}]}, 400))


def forbidden() -> AuthFailure:
    return AuthFailure(JSONResponse(FORBIDDEN_BODY, status_code=403))


def _base(request: Request) -> str:
    """``scheme://host[:port]`` the client used: every URL in a body points back at it."""
    return f"{request.url.scheme}://{request.url.netloc}"


def _int_param(request: Request, name: str, default: int | None = None, *, minimum: int = 0) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise bad_request(f"{name} must be at least {minimum}, got {value}")
    return value


def _bool_param(request: Request, name: str) -> bool:
    return request.query_params.get(name, "").lower() in ("true", "1", "yes")


# Every metric of Ticket Metric Events (support-oas.yaml, TicketMetricEventBaseObject.metric).
METRIC_EVENT_METRICS = (
    "agent_work_time",
    "pausable_update_time",
    "periodic_update_time",
    "reply_time",
    "requester_wait_time",
    "resolution_time",
    "group_ownership_time",
)


def _user_abilities(principal: Principal, user: JSON) -> JSON:
    """What ``principal`` can do with ``user`` ("Side-Loading", "Special Sideloads: Abilities"):
    admins everything; agents edit end users only (as Update User allows here), and themselves."""
    own = int(user["id"]) == principal.user_id
    admin = principal.role == "admin"
    can_edit = admin or own or (principal.role == "agent" and user.get("role") == "end-user")
    return {
        "url": user["url"],
        "user_id": user["id"],
        "can_edit": can_edit,
        "can_edit_password": admin or own,
        "can_manage_identities_of": can_edit,
        "can_verify_identities": admin,
    }


def _includes(request: Request) -> set[str]:
    """The names in ``include``, split at commas outside parentheses: the Search API's
    per-type form ``tickets(users,groups)`` stays one name (see ``api_search``)."""
    raw = request.query_params.get("include", "")
    return {part.strip() for part in re.split(r",(?![^()]*\))", raw) if part.strip()}


def _url(request: Request, params: dict[str, str]) -> str:
    """This endpoint's URL with ``params`` replacing the query string."""
    return f"{_base(request)}{request.url.path}?{urlencode(params, safe='[]')}"


def _kept_params(request: Request, drop: Sequence[str]) -> dict[str, str]:
    return {k: v for k, v in request.query_params.items() if k not in drop}


def _encode_list_cursor(key: int) -> str:
    raw = json.dumps({"o": "id", "v": key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_list_cursor(text: str, name: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        data = json.loads(raw)
        value = data["v"]
        if data.get("o") != "id" or not isinstance(value, int) or isinstance(value, bool):
            raise ValueError
        return value
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise pagination_error(f"{name} is not valid") from None


def encode_export_cursor(key: tuple[int, int], *, before: bool = False) -> str:
    """Like Zendesk's (``MTU3NjYxMzUzOS4wfHw0Njd8`` is ``1576613539.0||467|``): opaque base64."""
    raw = f"{key[0]}.0||{key[1]}|{'b' if before else ''}"
    return base64.b64encode(raw.encode()).decode()


def decode_export_cursor(text: str) -> tuple[tuple[int, int], bool]:
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    m = _EXPORT_CURSOR_RE.match(raw)
    if m is None:
        raise Reply(
            json_response(
                {
                    "errors": [
                        {
                            "code": "InvalidPaginationParameter",
                            "title": "cursor is not valid",
                            "detail": (
                                "Pass the after_cursor of a previous response, or start over with start_time."
                            ),
                        }
                    ]
                },
                400,
            )
        )
    return (int(m.group(1)), int(m.group(2))), m.group(3) == "b"


class Keys(Protocol):
    """What ``_paginate`` walks: sorted integer keys (``SortedIds`` or a time-ordered view)."""

    def __len__(self) -> int: ...
    def slice(self, start: int, stop: int) -> list[int]: ...
    def after(self, key: int, limit: int) -> list[int]: ...
    def before(self, key: int, limit: int) -> list[int]: ...
    def has_before(self, key: int) -> bool: ...


RouteTable = list[tuple[str, Handler, list[str]]]


class ApiBase:
    """State and plumbing every route module shares; ``api.SimulatorApi`` composes them."""

    def __init__(self, config: SimulatorConfig, account: Account, oauth: OAuthServer, stats: Stats) -> None:
        self.config = config
        self.account = account
        self.oauth = oauth
        self.stats = stats

    @property
    def minute(self) -> float:
        return float(self.config.minute_seconds)

    def route_table(self) -> RouteTable:
        """(path, handler, methods) of this module's routes; ``.json`` twins are added."""
        return []

    def _wrap(self, handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request)
            except AuthFailure as exc:
                return exc.response
            except Reply as exc:
                return exc.response
            except RecordNotFound:
                return json_response(NOT_FOUND_BODY, 404)
            except RecordInvalid as exc:
                return json_response(
                    {"error": "RecordInvalid", "description": exc.description, "details": exc.details}, 422
                )

        endpoint.__name__ = getattr(handler, "__name__", "endpoint")
        return endpoint

    async def _principal(self, request: Request, need: str = "agent") -> Principal:
        """Authenticate, then check the role the endpoint is "Allowed For"."""
        principal = await authenticate(request, self.account, self.oauth)
        if need == "admin" and principal.role != "admin":
            raise forbidden()
        if need == "agent" and principal.role not in ("agent", "admin"):
            raise forbidden()
        return principal

    async def _body(self, request: Request, key: str) -> Any:
        raw = await request.body()
        try:
            data = json.loads(raw or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise bad_request(f'The body must be JSON: {{"{key}": {{...}}}}', "InvalidJSON") from None
        if not isinstance(data, dict) or key not in data:
            raise Reply(
                json_response(
                    {
                        "error": "RecordInvalid",
                        "description": "Record validation errors",
                        "details": {
                            key: [
                                {
                                    "description": f'Send the object under "{key}": {{"{key}": {{...}}}}',
                                    "error": "BlankValue",
                                }
                            ]
                        },
                    },
                    422,
                )
            )
        return data[key]

    # ------------------------------------------------------------------ pagination

    def _paginate(
        self,
        request: Request,
        keys: Keys,
        render: Callable[[list[int]], list[JSON]],
        name: str,
        extra: Callable[[list[JSON]], JSON] | None = None,
        *,
        cursor_only: bool = False,
    ) -> Response:
        """Cursor or offset pagination over sorted ``keys``, as Zendesk's list endpoints do
        (``cursor_only``: endpoints that document cursor pagination only)."""
        q = request.query_params
        if cursor_only or any(k in q for k in ("page[size]", "page[after]", "page[before]")):
            size = _int_param(request, "page[size]", MAX_PAGE_SIZE, minimum=1)
            assert size is not None
            if size > MAX_PAGE_SIZE:
                raise pagination_error(f"page[size] must be at most {MAX_PAGE_SIZE}, got {size}")
            after, before = q.get("page[after]"), q.get("page[before]")
            if after is not None and before is not None:
                raise pagination_error("page[before] and page[after] can't be used together")
            if before is not None:
                cursor = _decode_list_cursor(before, "page[before]")
                page_keys = keys.before(cursor, size)
                has_more = bool(page_keys) and keys.has_before(page_keys[0])
            else:
                if after is None:
                    page_keys = keys.slice(0, size + 1)
                else:
                    page_keys = keys.after(_decode_list_cursor(after, "page[after]"), size + 1)
                has_more = len(page_keys) > size
                page_keys = page_keys[:size]
            items = render(page_keys)
            kept = _kept_params(request, ("page[after]", "page[before]", "page[size]"))
            body: JSON = {name: items}
            if page_keys:
                after_cursor = _encode_list_cursor(page_keys[-1])
                before_cursor = _encode_list_cursor(page_keys[0])
                body["meta"] = {
                    "has_more": has_more,
                    "after_cursor": after_cursor,
                    "before_cursor": before_cursor,
                }
                body["links"] = {
                    "prev": _url(request, {**kept, "page[size]": str(size), "page[before]": before_cursor}),
                    "next": _url(request, {**kept, "page[size]": str(size), "page[after]": after_cursor}),
                }
            else:
                body["meta"] = {"has_more": False, "after_cursor": None, "before_cursor": None}
                body["links"] = {"prev": None, "next": None}
            if extra is not None:
                body.update(extra(items))
            return json_response(body)
        page = _int_param(request, "page", 1, minimum=1)
        per_page = _int_param(request, "per_page", MAX_PAGE_SIZE, minimum=1)
        assert page is not None and per_page is not None
        per_page = min(per_page, MAX_PAGE_SIZE)
        if page > MAX_OFFSET_PAGES or page * per_page > MAX_OFFSET_RECORDS:
            raise Reply(json_response(OFFSET_DEPTH_ERROR, 400))
        total = len(keys)
        start = (page - 1) * per_page
        page_keys = keys.slice(start, start + per_page)
        items = render(page_keys)
        kept = _kept_params(request, ("page", "per_page"))
        next_page = None
        if start + per_page < total:
            next_page = _url(request, {**kept, "page": str(page + 1), "per_page": str(per_page)})
        previous_page = None
        if page > 1:
            previous_page = _url(request, {**kept, "page": str(page - 1), "per_page": str(per_page)})
        body = {name: items, "next_page": next_page, "previous_page": previous_page, "count": total}
        if extra is not None:
            body.update(extra(items))
        return json_response(body)

    def _ids_param(self, request: Request) -> list[int]:
        raw = request.query_params.get("ids", "")
        parts = [p.strip() for p in raw.split(",") if p.strip()]
        if not parts:
            raise bad_request("ids is required: a comma-separated list of up to 100 ids, e.g. ids=1,2,3")
        try:
            ids = [int(p) for p in parts]
        except ValueError:
            raise bad_request(f"ids must be comma-separated integers, got {raw!r}") from None
        if len(ids) > MAX_SHOW_MANY:
            raise bad_request(
                f"ids accepts at most {MAX_SHOW_MANY} ids per request, got {len(ids)}; split the list"
            )
        return ids

    # ------------------------------------------------------------------ sideloads

    def _sideload(
        self, request: Request, tickets: list[JSON], include: set[str], *, export: bool = False
    ) -> JSON:
        """Ticket sideloads ("Side-Loading", tickets): ``users``, ``groups``, ``organizations``,
        ``metric_sets``, ``last_audits`` (not on exports: "include sideloads work, not
        last_audits"), ``ticket_forms``, ``brands``, ``custom_statuses``; ``dates``, ``slas``,
        ``incident_counts`` and ``comment_count`` add to each ticket (``_tickets_with``).
        Unknown names are ignored, as Zendesk does."""
        base = _base(request)
        out: JSON = {}
        a = self.account
        if "users" in include:
            ids: set[int] = set()
            for t in tickets:
                for key in ("requester_id", "submitter_id", "assignee_id"):
                    if t.get(key):
                        ids.add(int(t[key]))
                ids.update(int(x) for x in t.get("collaborator_ids") or [])
            out["users"] = [u for u in (a.render_user(i, base) for i in sorted(ids)) if u]
        if "groups" in include:
            gids = sorted({int(t["group_id"]) for t in tickets if t.get("group_id")})
            out["groups"] = [g for g in (a.render_group(i, base) for i in gids) if g]
        if "organizations" in include:
            oids = sorted({int(t["organization_id"]) for t in tickets if t.get("organization_id")})
            out["organizations"] = [o for o in (a.render_org(i, base) for i in oids) if o]
        if "metric_sets" in include:
            metrics = (a.catalog.ticket_metric(int(t["id"]), base) for t in tickets)
            out["metric_sets"] = [m for m in metrics if m is not None]
        if "last_audits" in include and not export:
            last = (a.audits.for_ticket(int(t["id"]), base) for t in tickets)
            out["audits"] = [audits[-1][0] for audits in last if audits]
        if "ticket_forms" in include:
            forms = sorted({int(t["ticket_form_id"]) for t in tickets if t.get("ticket_form_id")})
            out["ticket_forms"] = [f for f in (a.catalog.ticket_form(i, base) for i in forms) if f]
        if "brands" in include:
            brands = sorted({int(t["brand_id"]) for t in tickets if t.get("brand_id")})
            out["brands"] = [b for b in (a.catalog.brand(i, base) for i in brands) if b]
        if "custom_statuses" in include:
            statuses = sorted({int(t["custom_status_id"]) for t in tickets if t.get("custom_status_id")})
            out["custom_statuses"] = [c for c in (a.catalog.custom_status(i, base) for i in statuses) if c]
        return out

    def _metric_events(self, ticket_id: int) -> JSON:
        """``include=metric_events`` on Show Ticket ("Side-Loading", tickets): the ticket's
        Ticket Metric Events, grouped by metric (every metric named, empty when none)."""
        grouped: JSON = {metric: [] for metric in METRIC_EVENT_METRICS}
        for event in self.account.catalog.metric_events(ticket_id):
            grouped.setdefault(event["metric"], []).append(event)
        return grouped

    def _user_sideload(
        self, request: Request, principal: Principal, include: set[str] | None = None
    ) -> Callable[[list[JSON]], JSON]:
        """User sideloads ("Side-Loading", users): ``organizations``, ``groups`` (default
        groups), ``identities``, ``open_ticket_count`` (tickets requested, not yet solved),
        ``abilities`` (what the requesting user can do with each user, "Special Sideloads:
        Abilities") and ``roles`` (the users' custom agent roles: none in a simulated
        account, whose agents have ``custom_role_id`` null). Unknown names are ignored."""
        include = _includes(request) if include is None else include
        base = _base(request)
        a = self.account

        def sideload(users: list[JSON]) -> JSON:
            out: JSON = {}
            if "abilities" in include:
                out["abilities"] = [_user_abilities(principal, u) for u in users]
            if "roles" in include:
                out["roles"] = []
            if "organizations" in include:
                oids = sorted({int(u["organization_id"]) for u in users if u.get("organization_id")})
                out["organizations"] = [o for o in (a.render_org(i, base) for i in oids) if o]
            if "groups" in include:
                gids = sorted({int(u["default_group_id"]) for u in users if u.get("default_group_id")})
                out["groups"] = [g for g in (a.render_group(i, base) for i in gids) if g]
            if "identities" in include:
                out["identities"] = [i for u in users for i in a.catalog.identities(u, base)]
            if "open_ticket_count" in include:
                counts = a.open_ticket_counts()
                out["open_ticket_count"] = {str(u["id"]): counts.get(int(u["id"]), 0) for u in users}
            return out

        return sideload

    def _org_sideload(
        self, request: Request, principal: Principal, include: set[str] | None = None
    ) -> Callable[[list[JSON]], JSON]:
        """Organization sideloads ("Side-Loading", organizations): ``abilities``, what the
        requesting user can do with each organization. Unknown names are ignored."""
        include = _includes(request) if include is None else include

        def sideload(orgs: list[JSON]) -> JSON:
            out: JSON = {}
            if "abilities" in include:
                out["abilities"] = [
                    {"url": o["url"], "organization_id": o["id"], "can_edit": principal.role == "admin"}
                    for o in orgs
                ]
            return out

        return sideload

    def _tickets_with(self, request: Request, tickets: list[JSON]) -> list[JSON]:
        """Sideloads that add a property to each ticket: ``comment_count``, ``dates``,
        ``slas``, ``incident_counts``."""
        include = _includes(request)
        a = self.account
        for t in tickets:
            tid = int(t["id"])
            if "comment_count" in include:
                t["comment_count"] = a.comment_count(tid)
            if "dates" in include:
                metric = a.catalog.ticket_metric(tid, "") or {}
                t["dates"] = {
                    k: metric.get(k)
                    for k in (
                        "assignee_updated_at",
                        "requester_updated_at",
                        "status_updated_at",
                        "initially_assigned_at",
                        "assigned_at",
                        "solved_at",
                        "latest_comment_added_at",
                    )
                }
            if "slas" in include:
                t["slas"] = {"policy_metrics": a.catalog.sla_metrics(t)}
            if "incident_counts" in include:
                t["incident_count"] = a.incident_count(tid) if t.get("type") == "problem" else 0
        return tickets

    # ------------------------------------------------------------------ incremental exports

    def _start_time(self, request: Request) -> int:
        raw = request.query_params.get("start_time")
        if raw is None or raw == "":
            raise bad_request(
                "start_time is required: pass start_time=<Unix seconds, at least one minute in the past> "
                "(0 exports everything)"
            )
        try:
            start = int(float(raw))
        except ValueError:
            raise bad_request(f"start_time must be Unix epoch seconds, got {raw!r}") from None
        if start > time.time() - self.minute:
            raise Reply(
                json_response(
                    {
                        "error": "InvalidValue",
                        "description": "Too recent start_time. Use a start_time older than 1 minute",
                    },
                    422,
                )
            )
        return max(0, start)

    def _per_page(self, request: Request) -> int:
        value = _int_param(request, "per_page", MAX_EXPORT_PAGE, minimum=1)
        assert value is not None
        return min(value, MAX_EXPORT_PAGE)

    def _cutoff(self) -> float:
        """Exports hold back the most recent minute ("Incremental Exports", start_time)."""
        return time.time() - self.minute

    def _cursor_export(
        self,
        request: Request,
        index: TimeIndex,
        name: str,
        render: Callable[[int], JSON | None],
        skip: Callable[[int], bool] = lambda _id: False,
        sideload: Callable[[list[JSON]], JSON] | None = None,
    ) -> Response:
        """Cursor-based incremental export over ``index`` (tickets, users)."""
        per_page = self._per_page(request)
        cursor = request.query_params.get("cursor")
        from_cursor = bool(cursor)
        if cursor:
            key, backwards = decode_export_cursor(cursor)
        else:
            key, backwards = (self._start_time(request) - 1, 1 << 62), False
        cutoff = self._cutoff()
        scanned: list[tuple[int, int]] = []
        kept: list[int] = []
        if backwards:
            for entry in index.iter_before(key):
                if entry[0] > cutoff:
                    continue
                scanned.append(entry)
                if not skip(entry[1]):
                    kept.append(entry[1])
                    if len(kept) == per_page:
                        break
            scanned.reverse()
            kept.reverse()
        else:
            for entry in index.iter_after(key):
                if entry[0] > cutoff:
                    break
                scanned.append(entry)
                if not skip(entry[1]):
                    kept.append(entry[1])
                    if len(kept) == per_page:
                        break
        last = scanned[-1] if scanned else key
        more = False
        for entry in index.iter_after(last):
            more = entry[0] <= cutoff
            break
        items = [x for x in (render(i) for i in kept) if x is not None]
        after_cursor = encode_export_cursor(last)
        before_cursor = encode_export_cursor(scanned[0], before=True) if (scanned and from_cursor) else None
        keep = _kept_params(request, ("cursor", "start_time"))
        body: JSON = {
            name: items,
            "after_url": _url(request, {**keep, "cursor": after_cursor}),
            "after_cursor": after_cursor,
            "before_url": _url(request, {**keep, "cursor": before_cursor}) if before_cursor else None,
            "before_cursor": before_cursor,
            "end_of_stream": not more,
        }
        if sideload is not None:
            body.update(sideload(items))
        return json_response(body)

    def _time_export(
        self,
        request: Request,
        index: TimeIndex,
        name: str,
        render: Callable[[int], JSON | None],
        sideload: Callable[[list[JSON]], JSON] | None = None,
        skip: Callable[[int], bool] = lambda _id: False,
    ) -> Response:
        """Time-based incremental export: ``end_time`` is the last item's timestamp."""
        start = self._start_time(request)
        per_page = self._per_page(request)
        cutoff = self._cutoff()
        entries: list[tuple[int, int]] = []
        iterator = index.iter_after((start - 1, 1 << 62))
        for entry in iterator:
            if entry[0] > cutoff:
                break
            if len(entries) >= per_page and entry[0] != entries[-1][0]:
                break
            entries.append(entry)
        more = False
        if entries:
            for entry in index.iter_after(entries[-1]):
                more = entry[0] <= cutoff
                break
        if entries:
            end_time = entries[-1][0]
            if more and entries[0][0] == end_time:
                # The whole page shares one timestamp: step past it or the next page repeats it.
                end_time += 1
        else:
            end_time = start
        items = [x for x in (render(i) for _, i in entries if not skip(i)) if x is not None]
        keep = _kept_params(request, ("start_time",))
        body: JSON = {
            name: items,
            "count": len(items),
            "end_time": end_time,
            "next_page": _url(request, {**keep, "start_time": str(end_time)}),
            "end_of_stream": not more,
        }
        if sideload is not None:
            body.update(sideload(items))
        return json_response(body)
