"""The simulator's ``/api/v2`` routes, attachment downloads and ``/_simulator`` introspection.

Behaviour follows Zendesk's published reference (../shared/zendesk/api-reference.md, cited by
section) and the OpenAPI spec; where Zendesk publishes nothing, the choice is named here:

- Pagination ("Pagination", "Paginating through lists"): a request carrying ``page[size]``,
  ``page[after]`` or ``page[before]`` is cursor-paginated (``meta`` + ``links``), anything else
  is offset-paginated (``count``, ``next_page``, ``previous_page``). ``page[size]`` above 100 or
  an unreadable cursor answer 400 ``InvalidPaginationParameter``; ``per_page`` above 100 is
  clamped to 100. Offset requests past the first 100 pages / 10,000 records answer 400
  ``InvalidPaginationDepth`` with the body Zendesk serves (the text is taken from responses
  quoted by integrators; Zendesk's announcement "New limits for offset-based pagination" gives
  only the status).
- Incremental exports ("Incremental Exports"): admin only; ``start_time`` required for an
  initial request and at least one minute in the past, else 422 ``InvalidValue`` "Too recent
  start_time…" (the status and wording Zendesk serves; the reference gives the rule only);
  data of the most recent minute is held back; tickets are ordered and filtered by
  ``generated_timestamp``; deleted tickets appear with status ``deleted`` unless
  ``exclude_deleted=true``; time-based pages include every item sharing the last timestamp
  (so a page may exceed ``per_page``) and the next page starts at that timestamp again, so
  items repeat across pages, as documented.
- "A minute" is ``config.minute_seconds`` real seconds everywhere (rate-limit windows, the
  ``start_time`` floor, the held-back minute), so tests can run a simulated minute in a second.
- List Tickets excludes archived tickets ("Tickets", List Tickets); Show Ticket and Show Many
  return them. Deleted tickets and organizations answer 404; deleted users are still shown
  (``active: false``) but leave List Users.
- Attachments ("Attachments", ``content_url``): an authenticated GET of
  ``/attachments/token/{token}/?name=…`` answers 302 to a pre-signed URL on another host name
  (``localhost`` when the request came to ``127.0.0.1``, otherwise ``127.0.0.1``; both reach this
  process). The pre-signed URL serves the bytes without credentials and, like Amazon S3,
  refuses a request that also carries an ``Authorization`` header (400
  ``InvalidArgument``: only one auth mechanism allowed), so a client that leaks the account's
  credentials to the storage host fails loudly. It also refuses a request to any other host
  than the one it was issued for (the signature covers the host). Files flagged
  ``malware_found`` are refused with 403 (Zendesk: "If false, you can't download such an
  attachment").
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from .api_base import (
    DELETED_USER_FIELDS,
    INVALID_ENDPOINT_BODY,
    PRESIGN_TTL,
    ApiBase,
    Handler,
    Reply,
    _base,
    _bool_param,
    _includes,
    bad_request,
    forbidden,
    json_response,
)
from .api_history import HistoryRoutes
from .api_objects import ObjectRoutes
from .api_search import SearchRoutes
from .auth import authenticate
from .data import JSON, RecordNotFound, SortedIds, iso


class SimulatorApi(SearchRoutes, ObjectRoutes, HistoryRoutes, ApiBase):
    """Routes over one ``Account``; composed by ``app.create_app``."""

    def routes(self) -> list[BaseRoute]:
        def both(path: str, handler: Handler, methods: list[str]) -> list[BaseRoute]:
            wrapped = self._wrap(handler)
            return [Route(path, wrapped, methods=methods), Route(f"{path}.json", wrapped, methods=methods)]

        routes: list[BaseRoute] = []
        table: list[tuple[str, Handler, list[str]]] = [
            ("/api/v2/tickets", self.list_tickets, ["GET"]),
            ("/api/v2/tickets", self.create_ticket, ["POST"]),
            ("/api/v2/tickets/count", self.count_tickets, ["GET"]),
            ("/api/v2/tickets/show_many", self.show_many_tickets, ["GET"]),
            ("/api/v2/tickets/{id:int}", self.show_ticket, ["GET"]),
            ("/api/v2/tickets/{id:int}", self.update_ticket, ["PUT"]),
            ("/api/v2/tickets/{id:int}", self.delete_ticket, ["DELETE"]),
            ("/api/v2/tickets/{id:int}/comments", self.list_comments, ["GET"]),
            ("/api/v2/comment_redactions/{id:int}", self.redact_comment, ["PUT"]),
            ("/api/v2/deleted_tickets", self.list_deleted_tickets, ["GET"]),
            ("/api/v2/users", self.list_users, ["GET"]),
            ("/api/v2/users", self.create_user, ["POST"]),
            ("/api/v2/users/me", self.me, ["GET"]),
            ("/api/v2/users/count", self.count_users, ["GET"]),
            ("/api/v2/users/show_many", self.show_many_users, ["GET"]),
            ("/api/v2/users/{id:int}", self.show_user, ["GET"]),
            ("/api/v2/users/{id:int}", self.update_user, ["PUT"]),
            ("/api/v2/users/{id:int}", self.delete_user, ["DELETE"]),
            ("/api/v2/deleted_users", self.list_deleted_users, ["GET"]),
            ("/api/v2/deleted_users/{id:int}", self.show_deleted_user, ["GET"]),
            ("/api/v2/organizations", self.list_orgs, ["GET"]),
            ("/api/v2/organizations", self.create_org, ["POST"]),
            ("/api/v2/organizations/count", self.count_orgs, ["GET"]),
            ("/api/v2/organizations/show_many", self.show_many_orgs, ["GET"]),
            ("/api/v2/organizations/{id:int}", self.show_org, ["GET"]),
            ("/api/v2/organizations/{id:int}", self.update_org, ["PUT"]),
            ("/api/v2/organizations/{id:int}", self.delete_org, ["DELETE"]),
            ("/api/v2/groups", self.list_groups, ["GET"]),
            ("/api/v2/groups/{id:int}", self.show_group, ["GET"]),
            ("/api/v2/attachments/{id:int}", self.show_attachment, ["GET"]),
            ("/api/v2/uploads", self.upload, ["POST"]),
            ("/api/v2/incremental/tickets/cursor", self.export_tickets_cursor, ["GET"]),
            ("/api/v2/incremental/users/cursor", self.export_users_cursor, ["GET"]),
            ("/api/v2/incremental/tickets", self.export_tickets_time, ["GET"]),
            ("/api/v2/incremental/users", self.export_users_time, ["GET"]),
            ("/api/v2/incremental/organizations", self.export_orgs_time, ["GET"]),
            ("/api/v2/incremental/ticket_events", self.export_ticket_events, ["GET"]),
        ]
        for path, handler, methods in [*table, *self.route_table()]:
            routes.extend(both(path, handler, methods))
        download = self._wrap(self.download_attachment)
        routes += [
            Route("/attachments/token/{token}/", download, methods=["GET"]),
            Route("/attachments/token/{token}", download, methods=["GET"]),
            Route(
                "/attachment-storage/{token}/{name:path}",
                self._wrap(self.presigned_download),
                methods=["GET"],
            ),
            Route("/_simulator/truth", self._wrap(self.truth), methods=["GET"]),
            Route("/_simulator/stats", self._wrap(self.stats_route), methods=["GET"]),
            Route("/_simulator/health", self._wrap(self.health), methods=["GET"]),
            Route(
                "/api/v2/{rest:path}",
                self._wrap(self.unknown_endpoint),
                methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            ),
        ]
        return routes

    # ------------------------------------------------------------------ tickets

    async def list_tickets(self, request: Request) -> Response:
        """List Tickets: live tickets by id, archived tickets excluded."""
        await self._principal(request)
        base = _base(request)
        include = _includes(request)

        def render(ids: list[int]) -> list[JSON]:
            return self._tickets_with(
                request, [t for t in (self.account.render_ticket(i, base) for i in ids) if t]
            )

        return self._paginate(
            request,
            self.account.listable_ticket_ids(),
            render,
            "tickets",
            lambda items: self._sideload(request, items, include),
        )

    async def count_tickets(self, request: Request) -> Response:
        await self._principal(request)
        return json_response(
            {"count": {"value": self.account.live_count("ticket"), "refreshed_at": iso(time.time())}}
        )

    async def show_ticket(self, request: Request) -> Response:
        """Show Ticket: archived tickets too; deleted or unknown ones answer 404."""
        await self._principal(request)
        tid = int(request.path_params["id"])
        if self.account.ticket_state(tid) not in ("live", "archived"):
            raise RecordNotFound
        ticket = self.account.render_ticket(tid, _base(request))
        assert ticket is not None
        body: JSON = {"ticket": self._tickets_with(request, [ticket])[0]}
        include = _includes(request)
        body.update(self._sideload(request, [ticket], include))
        if "metric_events" in include:  # Show Ticket only ("Side-Loading", tickets)
            body["metric_events"] = self._metric_events(tid)
        return json_response(body)

    async def show_many_tickets(self, request: Request) -> Response:
        """Show Multiple Tickets: unknown and deleted ids are left out."""
        await self._principal(request)
        base = _base(request)
        tickets = [
            t
            for tid in self._ids_param(request)
            if self.account.ticket_state(tid) in ("live", "archived")
            for t in [self.account.render_ticket(tid, base)]
            if t is not None
        ]
        body: JSON = {"tickets": self._tickets_with(request, tickets)}
        body.update(self._sideload(request, tickets, _includes(request)))
        return json_response(body)

    async def create_ticket(self, request: Request) -> Response:
        """Create Ticket (201 with ``Location``); the ``comment`` becomes the description."""
        principal = await self._principal(request)
        data = await self._body(request, "ticket")
        ticket, audit = self.account.create_ticket(data, principal.user_id)
        rendered = self.account.render_ticket(int(ticket["id"]), _base(request))
        assert rendered is not None
        return json_response(
            {"ticket": rendered, "audit": self.account.render_audit(audit, _base(request))},
            201,
            headers={"Location": rendered["url"]},
        )

    async def update_ticket(self, request: Request) -> Response:
        principal = await self._principal(request)
        tid = int(request.path_params["id"])
        if self.account.ticket_state(tid) not in ("live", "archived"):
            raise RecordNotFound
        data = await self._body(request, "ticket")
        _ticket, audit = self.account.update_ticket(tid, data, principal.user_id)
        rendered = self.account.render_ticket(tid, _base(request))
        assert rendered is not None
        return json_response({"ticket": rendered, "audit": self.account.render_audit(audit, _base(request))})

    async def delete_ticket(self, request: Request) -> Response:
        """Delete Ticket: admins (agents need a permission the default role lacks)."""
        principal = await self._principal(request, "admin")
        self.account.delete_ticket(int(request.path_params["id"]), principal.user_id)
        return Response(status_code=204)

    async def redact_comment(self, request: Request) -> Response:
        """Redact Ticket Comment In Agent Workspace: agents; the body is not wrapped."""
        await self._principal(request)
        try:
            data = json.loads(await request.body() or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise bad_request(
                'The body must be JSON: {"ticket_id": ..., "html_body": ...}', "InvalidJSON"
            ) from None
        comment = self.account.redact_comment(int(request.path_params["id"]), data, _base(request))
        return json_response({"comment": comment})

    async def list_comments(self, request: Request) -> Response:
        """List Comments: oldest first; inline images only with include_inline_images=true."""
        await self._principal(request)
        tid = int(request.path_params["id"])
        if self.account.ticket_state(tid) not in ("live", "archived"):
            raise RecordNotFound
        base = _base(request)
        inline = _bool_param(request, "include_inline_images")
        n = self.account.comment_count(tid)
        descending = request.query_params.get("sort") == "-created_at" or (
            request.query_params.get("sort_order", "").lower() == "desc"
        )
        # Keys are comment positions; descending order walks negated positions upwards.
        keys = SortedIds([-k for k in range(n - 1, -1, -1)] if descending else list(range(n)))

        def render(page: list[int]) -> list[JSON]:
            return [self.account.render_comment(tid, abs(k), base, include_inline=inline) for k in page]

        def sideload(items: list[JSON]) -> JSON:
            if "users" not in _includes(request):
                return {}
            ids = sorted({int(c["author_id"]) for c in items})
            return {"users": [u for u in (self.account.render_user(i, base) for i in ids) if u]}

        return self._paginate(request, keys, render, "comments", sideload)

    async def list_deleted_tickets(self, request: Request) -> Response:
        """List Deleted Tickets ("Allowed For: Agents")."""
        await self._principal(request)

        def render(ids: list[int]) -> list[JSON]:
            return [self.account.deleted_ticket_record(i) for i in ids]

        return self._paginate(request, self.account.deleted_ticket_ids(), render, "deleted_tickets")

    # ------------------------------------------------------------------ users

    async def list_users(self, request: Request) -> Response:
        principal = await self._principal(request)
        base = _base(request)
        role = request.query_params.get("role")

        keys = self.account.listable_user_ids()
        if role:
            keys = SortedIds(
                [u for u in keys.ids if (self.account.render_user(u, "") or {}).get("role") == role]
            )

        def render(ids: list[int]) -> list[JSON]:
            return [u for u in (self.account.render_user(i, base) for i in ids) if u]

        return self._paginate(request, keys, render, "users", self._user_sideload(request, principal))

    async def count_users(self, request: Request) -> Response:
        await self._principal(request)
        return json_response(
            {"count": {"value": self.account.live_count("user"), "refreshed_at": iso(time.time())}}
        )

    async def me(self, request: Request) -> Response:
        """Show the Currently Authenticated User: any role."""
        principal = await self._principal(request, "any")
        user = self.account.render_user(principal.user_id, _base(request))
        if user is None:
            raise RecordNotFound
        return json_response({"user": user, **self._user_sideload(request, principal)([user])})

    async def show_user(self, request: Request) -> Response:
        """Show User: deleted users are still shown, with ``active: false``."""
        principal = await self._principal(request)
        user = self.account.render_user(int(request.path_params["id"]), _base(request))
        if user is None:
            raise RecordNotFound
        return json_response({"user": user, **self._user_sideload(request, principal)([user])})

    async def show_many_users(self, request: Request) -> Response:
        principal = await self._principal(request)
        base = _base(request)
        users = [u for u in (self.account.render_user(i, base) for i in self._ids_param(request)) if u]
        return json_response({"users": users, **self._user_sideload(request, principal)(users)})

    async def create_user(self, request: Request) -> Response:
        """Create User: admins."""
        await self._principal(request, "admin")
        data = await self._body(request, "user")
        user = self.account.create_user(data)
        rendered = self.account.render_user(int(user["id"]), _base(request))
        assert rendered is not None
        return json_response({"user": rendered}, 201, headers={"Location": rendered["url"]})

    async def update_user(self, request: Request) -> Response:
        """Update User: admins any user, agents end users only."""
        principal = await self._principal(request)
        uid = int(request.path_params["id"])
        current = self.account.render_user(uid, "")
        if current is None or self.account.user_state(uid) != "live":
            raise RecordNotFound
        data = await self._body(request, "user")
        if principal.role != "admin" and (
            current["role"] != "end-user"
            or (isinstance(data, dict) and data.get("role", "end-user") != "end-user")
        ):
            raise forbidden()
        self.account.update_user(uid, data)
        return json_response({"user": self.account.render_user(uid, _base(request))})

    async def delete_user(self, request: Request) -> Response:
        """Delete User (soft): 200 with the now inactive user."""
        principal = await self._principal(request, "admin")
        uid = int(request.path_params["id"])
        if uid == principal.user_id:
            raise Reply(
                json_response(
                    {
                        "error": "RecordInvalid",
                        "description": "Record validation errors",
                        "details": {
                            "base": [{"description": "You cannot delete yourself", "error": "InvalidValue"}]
                        },
                    },
                    422,
                )
            )
        self.account.delete_user(uid)
        return json_response({"user": self.account.render_user(uid, _base(request))})

    def _deleted_user(self, user_id: int, base: str) -> JSON | None:
        """A deleted user in ``DeletedUserObject`` shape, or None if the user is not deleted."""
        if self.account.user_state(user_id) != "deleted":
            return None
        user = self.account.render_user(user_id, base)
        if user is None:
            return None
        record = {k: user.get(k) for k in DELETED_USER_FIELDS}
        record["url"] = f"{base}/api/v2/deleted_users/{user_id}"
        return record

    async def list_deleted_users(self, request: Request) -> Response:
        """List Deleted Users ("Allowed For: Agents")."""
        await self._principal(request)
        base = _base(request)

        def render(ids: list[int]) -> list[JSON]:
            return [u for u in (self._deleted_user(i, base) for i in ids) if u]

        return self._paginate(request, self.account.deleted_user_ids(), render, "deleted_users")

    async def show_deleted_user(self, request: Request) -> Response:
        """Show Deleted User: 404 for users that are not deleted."""
        await self._principal(request)
        record = self._deleted_user(int(request.path_params["id"]), _base(request))
        if record is None:
            raise RecordNotFound
        return json_response({"deleted_user": record})

    # ------------------------------------------------------------------ organizations

    async def list_orgs(self, request: Request) -> Response:
        principal = await self._principal(request)
        base = _base(request)

        def render(ids: list[int]) -> list[JSON]:
            return [o for o in (self.account.render_org(i, base) for i in ids) if o]

        return self._paginate(
            request,
            self.account.listable_org_ids(),
            render,
            "organizations",
            self._org_sideload(request, principal),
        )

    async def count_orgs(self, request: Request) -> Response:
        await self._principal(request)
        return json_response(
            {"count": {"value": self.account.live_count("organization"), "refreshed_at": iso(time.time())}}
        )

    async def show_org(self, request: Request) -> Response:
        principal = await self._principal(request)
        oid = int(request.path_params["id"])
        if self.account.org_state(oid) != "live":
            raise RecordNotFound
        org = self.account.render_org(oid, _base(request))
        assert org is not None
        return json_response({"organization": org, **self._org_sideload(request, principal)([org])})

    async def show_many_orgs(self, request: Request) -> Response:
        principal = await self._principal(request)
        base = _base(request)
        orgs = [
            o
            for i in self._ids_param(request)
            if self.account.org_state(i) == "live"
            for o in [self.account.render_org(i, base)]
            if o
        ]
        return json_response({"organizations": orgs, **self._org_sideload(request, principal)(orgs)})

    async def create_org(self, request: Request) -> Response:
        await self._principal(request, "admin")
        data = await self._body(request, "organization")
        org = self.account.create_org(data)
        rendered = self.account.render_org(int(org["id"]), _base(request))
        assert rendered is not None
        return json_response({"organization": rendered}, 201, headers={"Location": rendered["url"]})

    async def update_org(self, request: Request) -> Response:
        await self._principal(request)
        oid = int(request.path_params["id"])
        if self.account.org_state(oid) != "live":
            raise RecordNotFound
        data = await self._body(request, "organization")
        self.account.update_org(oid, data)
        return json_response({"organization": self.account.render_org(oid, _base(request))})

    async def delete_org(self, request: Request) -> Response:
        await self._principal(request, "admin")
        self.account.delete_org(int(request.path_params["id"]))
        return Response(status_code=204)

    # ------------------------------------------------------------------ groups

    async def list_groups(self, request: Request) -> Response:
        await self._principal(request)
        base = _base(request)

        def render(ids: list[int]) -> list[JSON]:
            return [g for g in (self.account.render_group(i, base) for i in ids) if g]

        return self._paginate(request, self.account.group_ids(), render, "groups")

    async def show_group(self, request: Request) -> Response:
        await self._principal(request)
        group = self.account.render_group(int(request.path_params["id"]), _base(request))
        if group is None:
            raise RecordNotFound
        return json_response({"group": group})

    # ------------------------------------------------------------------ attachments

    async def show_attachment(self, request: Request) -> Response:
        await self._principal(request)
        info = self.account.attachment_info(int(request.path_params["id"]), _base(request))
        if info is None:
            raise RecordNotFound
        return json_response({"attachment": info})

    async def upload(self, request: Request) -> Response:
        """Upload Files: raw body, ``filename`` query parameter, optional ``token`` to add to."""
        await self._principal(request, "any")
        filename = request.query_params.get("filename")
        if not filename:
            raise bad_request(
                "filename is required: POST /api/v2/uploads?filename=report.pdf with the raw bytes"
            )
        content = await request.body()
        ctype = request.headers.get("content-type", "application/octet-stream").split(";")[0].strip()
        token, attachment = self.account.add_upload(
            filename, content, ctype, request.query_params.get("token")
        )
        base = _base(request)
        shown = self.account.attachment_info(int(attachment["id"]), base)
        return json_response(
            {
                "upload": {
                    "token": token,
                    "expires_at": iso(time.time() + 3600),
                    "attachments": [shown],
                    "attachment": shown,
                }
            },
            201,
        )

    def _presign_host(self, request: Request) -> str:
        """Another host name for the same process: S3 and Zendesk's API never share a host."""
        host = request.url.hostname or "127.0.0.1"
        other = "localhost" if host == "127.0.0.1" else "127.0.0.1"
        port = request.url.port
        return f"{other}:{port}" if port else other

    async def download_attachment(self, request: Request) -> Response:
        """``content_url``: authenticated; 302 to a short-lived pre-signed URL on another host."""
        await authenticate(request, self.account, self.oauth)
        token = request.path_params["token"]
        att_id = self.account.attachment_id_from_token(token)
        if att_id is None or self.account.attachment_info(att_id, "") is None:
            raise RecordNotFound
        if self.account.is_malware(att_id):
            raise Reply(
                json_response(
                    {
                        "error": "Forbidden",
                        "description": "This attachment was flagged as malware "
                        "(malware_scan_result: malware_found); "
                        "an admin must set malware_access_override to download it.",
                    },
                    403,
                )
            )
        info = self.account.attachment_info(att_id, "")
        assert info is not None
        host = self._presign_host(request)
        expires = int(time.time()) + PRESIGN_TTL
        signature = self.account.sign_download(f"{host}/{token}", expires)
        location = (
            f"{request.url.scheme}://{host}/attachment-storage/{token}/{storage_name(info['file_name'])}"
            f"?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires={PRESIGN_TTL}"
            f"&X-Amz-Date={expires}&X-Amz-Signature={signature}"
        )
        return RedirectResponse(location, status_code=302)

    async def presigned_download(self, request: Request) -> Response:
        """The storage host: bytes for a valid signature, no credentials accepted."""
        if "authorization" in request.headers:
            return _s3_error(
                400,
                "InvalidArgument",
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature "
                "query string parameter or the Authorization header should be specified",
            )
        token = request.path_params["token"]
        q = request.query_params
        try:
            expires = int(q.get("X-Amz-Date", ""))
        except ValueError:
            return _s3_error(403, "AccessDenied", "Request has invalid parameters")
        host = request.url.netloc
        expected = self.account.sign_download(f"{host}/{token}", expires)
        if q.get("X-Amz-Signature") != expected:
            return _s3_error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
        if time.time() > expires:
            return _s3_error(403, "AccessDenied", "Request has expired")
        att_id = self.account.attachment_id_from_token(token)
        found = self.account.attachment_bytes(att_id) if att_id is not None else None
        if found is None:
            return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
        content, ctype, name = found
        return Response(
            content,
            media_type=ctype,
            headers={"Content-Disposition": content_disposition(name), "Cache-Control": "private"},
        )

    # ------------------------------------------------------------------ incremental exports

    def _ticket_renderer(self, request: Request) -> Callable[[int], JSON | None]:
        base = _base(request)
        per_ticket = bool(_includes(request) & {"comment_count", "dates", "slas", "incident_counts"})

        def render(tid: int) -> JSON | None:
            t = self.account.render_ticket(tid, base)
            if t is not None and per_ticket and t["status"] != "deleted":
                self._tickets_with(request, [t])
            return t

        return render

    def _ticket_skip(self, request: Request) -> Callable[[int], bool]:
        if _bool_param(request, "exclude_deleted"):
            return lambda tid: self.account.ticket_state(tid) == "deleted"
        return lambda _tid: False

    async def export_tickets_cursor(self, request: Request) -> Response:
        """Incremental Ticket Export, Cursor Based (admins)."""
        await self._principal(request, "admin")
        include = _includes(request)
        return self._cursor_export(
            request,
            self.account.ticket_index,
            "tickets",
            self._ticket_renderer(request),
            self._ticket_skip(request),
            lambda items: self._sideload(request, items, include, export=True),
        )

    async def export_tickets_time(self, request: Request) -> Response:
        """Incremental Ticket Export, Time Based (admins)."""
        await self._principal(request, "admin")
        include = _includes(request)
        return self._time_export(
            request,
            self.account.ticket_index,
            "tickets",
            self._ticket_renderer(request),
            lambda items: self._sideload(request, items, include, export=True),
            self._ticket_skip(request),
        )

    async def export_users_cursor(self, request: Request) -> Response:
        """Incremental User Export, Cursor Based (admins): deleted users come with active false."""
        principal = await self._principal(request, "admin")
        base = _base(request)
        return self._cursor_export(
            request,
            self.account.user_index,
            "users",
            lambda uid: self.account.render_user(uid, base),
            sideload=self._user_sideload(request, principal),
        )

    async def export_users_time(self, request: Request) -> Response:
        principal = await self._principal(request, "admin")
        base = _base(request)
        return self._time_export(
            request,
            self.account.user_index,
            "users",
            lambda uid: self.account.render_user(uid, base),
            self._user_sideload(request, principal),
        )

    async def export_orgs_time(self, request: Request) -> Response:
        """Incremental Organization Export (admins): deleted ones carry ``deleted_at``."""
        principal = await self._principal(request, "admin")
        base = _base(request)
        return self._time_export(
            request,
            self.account.org_index,
            "organizations",
            lambda oid: self.account.render_org(oid, base),
            self._org_sideload(request, principal),
        )

    async def export_ticket_events(self, request: Request) -> Response:
        """Incremental Ticket Event Export (admins); ``include=comment_events`` adds comments."""
        await self._principal(request, "admin")
        base = _base(request)
        comment_events = "comment_events" in _includes(request)
        return self._time_export(
            request,
            self.account.events_index(),
            "ticket_events",
            lambda audit_id: self.account.render_event(audit_id, base, comment_events=comment_events),
        )

    # ------------------------------------------------------------------ introspection

    async def truth(self, request: Request) -> Response:
        return json_response(self.account.truth())

    async def stats_route(self, request: Request) -> Response:
        return json_response(self.stats.snapshot())

    async def health(self, request: Request) -> Response:
        return json_response(
            {
                "status": "ok",
                "subdomain": self.config.subdomain,
                "tickets": self.account.n_tickets_generated,
                "generation_seconds": round(self.account.generation_seconds, 3),
            }
        )

    async def unknown_endpoint(self, request: Request) -> Response:
        await authenticate(request, self.account, self.oauth, check_scope=False)
        return json_response(INVALID_ENDPOINT_BODY, 404)


def storage_name(name: str) -> str:
    """The file name as one harmless path segment of the storage URL.

    The object is found by its token alone; the name is there for people reading the URL. A
    name is the client's ("Upload Files": any ``filename``), so ``/``, ``..`` and control
    characters are replaced rather than passed through, where they would change the path.
    """
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")
    return cleaned[:200] or "file"


def content_disposition(name: str) -> str:
    """``attachment`` with the exact name (RFC 6266 / RFC 8187 ``filename*``) and an ASCII
    fallback without control characters, quotes or backslashes: a header value may not hold
    a NUL, CR or LF, and a raw one breaks the response."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in name) or "file"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _s3_error(status: int, code: str, message: str) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    )
    return Response(body, status_code=status, media_type="application/xml")
