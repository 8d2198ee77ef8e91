"""Routes for the objects tickets, users and organizations point to (catalog.py).

Each list answers with the pagination its reference page documents (cursor with
``page[size]``, else offset) and each object id tickets, users or organizations carry
resolves here: ``custom_fields[].id`` (Ticket Fields), ``ticket_form_id`` (Ticket Forms),
``brand_id`` (Brands), ``custom_status_id`` (Custom Ticket Statuses),
``satisfaction_rating.id`` (Satisfaction Ratings), ``user_fields`` / ``organization_fields``
keys, group and organization memberships, identities, and the macros referenced by audits.

Allowed for: agents, except where the reference says admins (Ticket Metric Events export,
SLA Policies) or anyone (Ticket Fields: "Anyone" means any signed-in user).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from .api_base import (
    ApiBase,
    RouteTable,
    _base,
    _includes,
    json_response,
)
from .auth import Principal
from .catalog import METRIC_BASE, Catalog
from .common import CUSTOM_STATUS_BASE, ORG_BASE, RATING_BASE, USER_BASE
from .data import JSON, RecordNotFound, SortedIds, TimeIndex, iso

Handler = Callable[[Request], Awaitable[Response]]

# List Macros' usage sideloads: the window each counts, in seconds.
MACRO_USAGE = {"usage_1h": 3600, "usage_24h": 86400, "usage_7d": 7 * 86400, "usage_30d": 30 * 86400}


@dataclass(frozen=True)
class Catalogued:
    """Objects whose list and show need nothing but the catalog: their ids and a renderer.

    ``lists`` are the paths of the list (none: only shown here, its list is a handler of its
    own); ``{id:int}`` under the first path shows one. ``need``: who is "Allowed For".
    """

    lists: tuple[str, ...]
    show: str
    many: str
    one: str
    render: Callable[[Catalog], Callable[[int, str], JSON | None]]
    ids: Callable[[Catalog], list[int]] | None = None
    need: str = "agent"
    # Sideloads of the list and of show, by the name of an ObjectRoutes method
    # (request, principal) → extra.
    sideload: str | None = None
    show_sideload: str | None = None


CATALOGUED: tuple[Catalogued, ...] = (
    # List Ticket Fields is a handler below ("Allowed For: Anyone"); Show Ticket Field is for
    # agents. Both sideload ``users``, the fields' creators.
    Catalogued(
        (),
        "/api/v2/ticket_fields",
        "ticket_fields",
        "ticket_field",
        lambda c: c.ticket_field,
        show_sideload="_creators_sideload",
    ),
    Catalogued(
        ("/api/v2/user_fields",),
        "/api/v2/user_fields",
        "user_fields",
        "user_field",
        lambda c: c.user_field,
        lambda c: c.user_field_ids(),
    ),
    Catalogued(
        ("/api/v2/organization_fields",),
        "/api/v2/organization_fields",
        "organization_fields",
        "organization_field",
        lambda c: c.org_field,
        lambda c: c.org_field_ids(),
    ),
    Catalogued(
        ("/api/v2/ticket_forms",),
        "/api/v2/ticket_forms",
        "ticket_forms",
        "ticket_form",
        lambda c: c.ticket_form,
        lambda c: c.ticket_form_ids(),
        need="any",
    ),
    Catalogued(
        ("/api/v2/brands",), "/api/v2/brands", "brands", "brand", lambda c: c.brand, lambda c: c.brand_ids()
    ),
    Catalogued((), "/api/v2/custom_statuses", "custom_statuses", "custom_status", lambda c: c.custom_status),
    Catalogued(
        (), "/api/v2/group_memberships", "group_memberships", "group_membership", lambda c: c.group_membership
    ),
    Catalogued(
        (),
        "/api/v2/organization_memberships",
        "organization_memberships",
        "organization_membership",
        lambda c: c.org_membership,
    ),
    Catalogued(
        (),
        "/api/v2/satisfaction_ratings",
        "satisfaction_ratings",
        "satisfaction_rating",
        lambda c: c.satisfaction_rating,
    ),
    # List Macros and List Active Macros: every macro is active.
    Catalogued(
        ("/api/v2/macros", "/api/v2/macros/active"),
        "/api/v2/macros",
        "macros",
        "macro",
        lambda c: c.macro,
        lambda c: c.macro_ids(),
        sideload="_macro_sideload",
    ),
    # SLA Policies: "Allowed For: Admins".
    Catalogued(
        ("/api/v2/slas/policies",),
        "/api/v2/slas/policies",
        "sla_policies",
        "sla_policy",
        lambda c: c.sla_policy,
        lambda c: c.sla_policy_ids(),
        need="admin",
    ),
)


class ObjectRoutes(ApiBase):
    def route_table(self) -> RouteTable:
        catalogued: RouteTable = []
        for kind in CATALOGUED:
            catalogued += [(path, self._lister(kind), ["GET"]) for path in kind.lists]
            catalogued.append((f"{kind.show}/{{id:int}}", self._shower(kind), ["GET"]))
        return [
            *super().route_table(),
            *catalogued,
            ("/api/v2/ticket_fields", self.list_ticket_fields, ["GET"]),
            ("/api/v2/ticket_fields/count", self.count_ticket_fields, ["GET"]),
            ("/api/v2/ticket_forms/show_many", self.show_many_ticket_forms, ["GET"]),
            ("/api/v2/custom_statuses", self.list_custom_statuses, ["GET"]),
            ("/api/v2/group_memberships", self.list_group_memberships, ["GET"]),
            ("/api/v2/groups/{id:int}/memberships", self.list_group_memberships, ["GET"]),
            ("/api/v2/users/{id:int}/group_memberships", self.list_group_memberships, ["GET"]),
            ("/api/v2/organization_memberships", self.list_org_memberships, ["GET"]),
            ("/api/v2/users/{id:int}/organization_memberships", self.list_org_memberships, ["GET"]),
            ("/api/v2/organizations/{id:int}/organization_memberships", self.list_org_memberships, ["GET"]),
            ("/api/v2/satisfaction_ratings", self.list_satisfaction_ratings, ["GET"]),
            ("/api/v2/tags", self.list_tags, ["GET"]),
            ("/api/v2/tickets/{id:int}/tags", self.ticket_tags, ["GET"]),
            ("/api/v2/users/{id:int}/tags", self.user_tags, ["GET"]),
            ("/api/v2/organizations/{id:int}/tags", self.org_tags, ["GET"]),
            ("/api/v2/ticket_metrics", self.list_ticket_metrics, ["GET"]),
            ("/api/v2/ticket_metrics/{id:int}", self.show_ticket_metric, ["GET"]),
            ("/api/v2/tickets/{id:int}/metrics", self.show_ticket_metric, ["GET"]),
            ("/api/v2/incremental/ticket_metric_events", self.export_ticket_metric_events, ["GET"]),
            ("/api/v2/users/{id:int}/identities", self.list_identities, ["GET"]),
            ("/api/v2/users/{id:int}/identities/{identity_id:int}", self.show_identity, ["GET"]),
        ]

    def _lister(self, kind: Catalogued) -> Handler:
        assert kind.ids is not None

        async def handler(request: Request) -> Response:
            principal = await self._principal(request, kind.need)
            cat = self.account.catalog
            assert kind.ids is not None
            extra = getattr(self, kind.sideload)(request, principal) if kind.sideload else None
            return self._list(request, kind.ids(cat), kind.render(cat), kind.many, extra)

        return handler

    def _shower(self, kind: Catalogued) -> Handler:
        async def handler(request: Request) -> Response:
            principal = await self._principal(request, kind.need)
            extra = getattr(self, kind.show_sideload)(request, principal) if kind.show_sideload else None
            return self._show(request, kind.render(self.account.catalog), kind.one, extra)

        return handler

    # ------------------------------------------------------------------ helpers

    def _list(
        self,
        request: Request,
        ids: list[int],
        render: Callable[[int, str], JSON | None],
        name: str,
        extra: Callable[[list[JSON]], JSON] | None = None,
    ) -> Response:
        base = _base(request)

        def page(keys: list[int]) -> list[JSON]:
            return [x for x in (render(k, base) for k in keys) if x is not None]

        return self._paginate(request, SortedIds(sorted(ids)), page, name, extra)

    def _show(
        self,
        request: Request,
        render: Callable[[int, str], JSON | None],
        name: str,
        extra: Callable[[list[JSON]], JSON] | None = None,
    ) -> Response:
        found = render(int(request.path_params["id"]), _base(request))
        if found is None:
            raise RecordNotFound
        return json_response({name: found, **(extra([found]) if extra is not None else {})})

    def _creators_sideload(self, request: Request, principal: Principal) -> Callable[[list[JSON]], JSON]:
        return self._users_sideload(request, "creator_user_id")

    def _macro_sideload(self, request: Request, principal: Principal) -> Callable[[list[JSON]], JSON]:
        """List Macros' sideloads (api-reference.md, "List Macros", Sideloads): ``usage_1h``,
        ``usage_24h``, ``usage_7d``, ``usage_30d`` (times each macro was applied in that
        window, from the histories; a property of each macro, as on triggers and automations),
        ``app_installation`` (none requires an app: null), ``permissions`` (``can_edit``:
        admins) and ``categories`` (the title parts before ``::``; none here). The reference
        names them without their shapes; these are the shapes of Zendesk's own answers."""
        include = _includes(request)
        windows = {name: seconds for name, seconds in MACRO_USAGE.items() if name in include}

        def extra(macros: list[JSON]) -> JSON:
            if windows:
                uses = self.account.catalog.macro_uses()
                now = time.time()
                for macro in macros:
                    times = uses.get(int(macro["id"]), [])
                    for name, seconds in windows.items():
                        macro[name] = sum(1 for ts in times if now - seconds <= ts <= now)
            for macro in macros:
                if "app_installation" in include:
                    macro["app_installation"] = None
                if "permissions" in include:
                    macro["permissions"] = {"can_edit": principal.role == "admin"}
            out: JSON = {}
            if "categories" in include:
                titles = [str(m["title"]) for m in macros]
                out["categories"] = sorted({t.split("::")[0].strip() for t in titles if "::" in t})
            return out

        return extra

    def _users_sideload(self, request: Request, key: str = "user_id") -> Callable[[list[JSON]], JSON]:
        def extra(items: list[JSON]) -> JSON:
            if "users" not in _includes(request):
                return {}
            base = _base(request)
            ids = sorted({int(x[key]) for x in items if x.get(key)})
            return {"users": [u for u in (self.account.render_user(i, base) for i in ids) if u]}

        return extra

    # ------------------------------------------------------------------ fields, forms, brands, statuses

    async def list_ticket_fields(self, request: Request) -> Response:
        """List Ticket Fields ("Allowed For: Anyone"); sideload ``users`` (creators)."""
        await self._principal(request, "any")
        cat = self.account.catalog
        return self._list(
            request,
            cat.ticket_field_ids(),
            cat.ticket_field,
            "ticket_fields",
            self._users_sideload(request, "creator_user_id"),
        )

    async def count_ticket_fields(self, request: Request) -> Response:
        await self._principal(request, "any")
        n = len(self.account.catalog.ticket_field_ids())
        return json_response({"count": {"value": n, "refreshed_at": iso(time.time())}})

    async def show_many_ticket_forms(self, request: Request) -> Response:
        await self._principal(request, "any")
        base = _base(request)
        forms = [
            f for f in (self.account.catalog.ticket_form(i, base) for i in self._ids_param(request)) if f
        ]
        return json_response({"ticket_forms": forms})

    async def list_custom_statuses(self, request: Request) -> Response:
        """List Custom Statuses: one list, no pagination (spec ``CustomStatusesResponse``)."""
        await self._principal(request)
        base = _base(request)
        categories = {
            c.strip() for c in request.query_params.get("status_categories", "").split(",") if c.strip()
        }
        statuses = [
            s
            for s in (self.account.catalog.custom_status(CUSTOM_STATUS_BASE + k + 1, base) for k in range(5))
            if s is not None and (not categories or s["status_category"] in categories)
        ]
        return json_response({"custom_statuses": statuses})

    # ------------------------------------------------------------------ memberships

    async def list_group_memberships(self, request: Request) -> Response:
        """List Memberships (all, of a group, or of a user); sideload ``users``, ``groups``."""
        await self._principal(request)
        cat = self.account.catalog
        ids = cat.group_membership_ids()
        path = request.url.path
        if "id" in request.path_params:
            owner = int(request.path_params["id"])
            key = "group_id" if path.startswith("/api/v2/groups/") else "user_id"
            if key == "group_id" and self.account.render_group(owner, "") is None:
                raise RecordNotFound
            if key == "user_id" and self.account.render_user(owner, "") is None:
                raise RecordNotFound
            ids = [m for m in ids if (cat.group_membership(m, "") or {}).get(key) == owner]

        def extra(items: list[JSON]) -> JSON:
            out = self._users_sideload(request)(items)
            if "groups" in _includes(request):
                base = _base(request)
                gids = sorted({int(x["group_id"]) for x in items})
                out["groups"] = [g for g in (self.account.render_group(i, base) for i in gids) if g]
            return out

        return self._list(request, ids, cat.group_membership, "group_memberships", extra)

    async def list_org_memberships(self, request: Request) -> Response:
        """List Memberships (all, of a user, or of an organization)."""
        await self._principal(request)
        cat = self.account.catalog
        ids = cat.org_membership_ids()
        if "id" in request.path_params:
            owner = int(request.path_params["id"])
            if request.url.path.startswith("/api/v2/organizations/"):
                if self.account.org_state(owner) != "live":
                    raise RecordNotFound
                ids = [m for m in ids if (cat.org_membership(m, "") or {}).get("organization_id") == owner]
            else:
                if self.account.render_user(owner, "") is None:
                    raise RecordNotFound
                ids = [m for m in ids if (cat.org_membership(m, "") or {}).get("user_id") == owner]
        ids = [
            m
            for m in ids
            if self.account.org_state(int((cat.org_membership(m, "") or {})["organization_id"])) == "live"
        ]
        return self._list(
            request, ids, cat.org_membership, "organization_memberships", self._users_sideload(request)
        )

    # ------------------------------------------------------------------ satisfaction, tags

    async def list_satisfaction_ratings(self, request: Request) -> Response:
        """List Satisfaction Ratings: the received ratings (good and bad), by id."""
        await self._principal(request)
        cat = self.account.catalog
        score = request.query_params.get("score")
        ids = [RATING_BASE + tid for tid in cat.rated_ticket_ids()]
        if score in ("good", "bad"):
            ids = [r for r in ids if (cat.satisfaction_rating(r, "") or {}).get("score") == score]
        return self._list(request, ids, cat.satisfaction_rating, "satisfaction_ratings")

    async def list_tags(self, request: Request) -> Response:
        """List Tags: tags on tickets, most used first, with how many tickets carry each."""
        await self._principal(request)
        counts: Counter[str] = self.account.ticket_tag_counts()
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        index = {n: (name, count) for n, (name, count) in enumerate(ranked)}

        def render(keys: list[int]) -> list[JSON]:
            return [{"name": index[k][0], "count": index[k][1]} for k in keys]

        return self._paginate(request, SortedIds(range(len(ranked))), render, "tags")

    async def ticket_tags(self, request: Request) -> Response:
        await self._principal(request)
        tid = int(request.path_params["id"])
        if self.account.ticket_state(tid) not in ("live", "archived"):
            raise RecordNotFound
        ticket = self.account.render_ticket(tid, "")
        assert ticket is not None
        return json_response({"tags": ticket["tags"]})

    async def user_tags(self, request: Request) -> Response:
        await self._principal(request)
        user = self.account.render_user(int(request.path_params["id"]), "")
        if user is None:
            raise RecordNotFound
        return json_response({"tags": user["tags"]})

    async def org_tags(self, request: Request) -> Response:
        await self._principal(request)
        oid = int(request.path_params["id"])
        if self.account.org_state(oid) != "live":
            raise RecordNotFound
        org = self.account.render_org(oid, "")
        assert org is not None
        return json_response({"tags": org["tags"]})

    # ------------------------------------------------------------------ metrics

    def _metric_ticket_ids(self) -> list[int]:
        a = self.account
        return [
            tid for tid in range(1, a.n_tickets_generated + 1) if a.ticket_state(tid) in ("live", "archived")
        ]

    async def list_ticket_metrics(self, request: Request) -> Response:
        """List Ticket Metrics: one per ticket that is not deleted (archived ones too), by id."""
        await self._principal(request)
        cat = self.account.catalog
        ids = [METRIC_BASE + tid for tid in self.account.metric_ticket_ids()]

        def render(metric_id: int, base: str) -> JSON | None:
            return cat.ticket_metric(metric_id - METRIC_BASE, base)

        return self._list(request, ids, render, "ticket_metrics")

    async def show_ticket_metric(self, request: Request) -> Response:
        """Show Ticket Metrics by metric id (a ticket id is accepted too, as Zendesk does), and
        a ticket's metrics (``tickets/{id}/metrics``, whose ids are below METRIC_BASE)."""
        await self._principal(request)
        key = int(request.path_params["id"])
        tid = key - METRIC_BASE if key > METRIC_BASE else key
        if self.account.ticket_state(tid) not in ("live", "archived"):
            raise RecordNotFound
        metric = self.account.catalog.ticket_metric(tid, _base(request))
        if metric is None:
            raise RecordNotFound
        return json_response({"ticket_metric": metric})

    async def export_ticket_metric_events(self, request: Request) -> Response:
        """Incremental Ticket Metric Event Export: time based, ``start_time`` (admins)."""
        await self._principal(request, "admin")
        index: TimeIndex = self.account.metric_events_index()

        def render(event_id: int) -> JSON | None:
            return self.account.metric_event(event_id)

        return self._time_export(request, index, "ticket_metric_events", render)

    # ------------------------------------------------------------------ identities

    def _user_identities(self, request: Request) -> list[JSON]:
        uid = int(request.path_params["id"])
        base = _base(request)
        user = self.account.render_user(uid, base)
        if user is None or uid < USER_BASE:
            raise RecordNotFound
        return self.account.catalog.identities(user, base)

    async def list_identities(self, request: Request) -> Response:
        await self._principal(request)
        identities = self._user_identities(request)
        return json_response(
            {"identities": identities, "next_page": None, "previous_page": None, "count": len(identities)}
        )

    async def show_identity(self, request: Request) -> Response:
        await self._principal(request)
        wanted = int(request.path_params["identity_id"])
        for identity in self._user_identities(request):
            if identity["id"] == wanted:
                return json_response({"identity": identity})
        raise RecordNotFound


__all__ = ["ORG_BASE", "ObjectRoutes"]
