"""Every simulator response validates against its response schema in Zendesk's OpenAPI spec.

The schema for each request is looked up from the spec by path, method and status, so the
test checks what the spec says about that endpoint, not a schema picked to pass. Where the
spec disagrees with what Zendesk serves, the relaxation is listed in ``RELAXED`` with its
reason (the fact sheet's "Known spec quirks", and ``null`` for optional fields the spec
forgets to mark ``nullable``); nothing else is loosened.

Besides validity, objects must carry *every* readable field of their schema.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from openapi_schema_validator import OAS30ReadValidator, oas30_format_checker

from zendesk_simulator.testing import SimulatorHandle, running_simulator

SPEC_PATH = Path("/work/shared/zendesk/support-oas.yaml")
if not SPEC_PATH.exists():  # a clone keeps the shared folder next to the repository
    SPEC_PATH = Path(__file__).resolve().parents[3] / "shared" / "zendesk" / "support-oas.yaml"

# Optional fields Zendesk returns as null when unset although the spec types them without
# `nullable` (e.g. an unassigned ticket's assignee_id, a user without email).
NULLABLE: dict[str, tuple[str, ...]] = {
    "TicketObject": (
        "assignee_id",
        "group_id",
        "organization_id",
        "type",
        "priority",
        "problem_id",
        "external_id",
        "forum_topic_id",
        "recipient",
        "subject",
        "raw_subject",
    ),
    "UserForAdmin": ("email", "signature", "last_login_at", "default_group_id", "remote_photo_url"),
    "UserForEndUser": ("email", "phone", "organization_id", "photo", "shared_phone_number"),
    "DeletedUserObject": ("email", "organization_id"),
    # the objects tickets point to: unset means null (a live form's deleted_at, a brand without
    # host mapping or logo, a field a person (no app) created, a rating without a reason id,
    # a ticket not yet assigned or solved)
    "TicketFieldObject": ("creator_app_name",),
    "TicketFormObject": ("deleted_at",),
    "BrandObject": ("host_mapping",),
    "SatisfactionRatingObject": ("reason_id", "assignee_id", "group_id"),
    "TicketMetricObject": ("assigned_at", "initially_assigned_at", "assignee_updated_at", "solved_at"),
    "TicketMetricTimeObject": ("business", "calendar"),
    # "The refresh token, if generated" (OAuth Tokens): none for a client_credentials token
    "OauthTokenObject": ("refresh_token", "refresh_token_expires_at"),
}
RELAXED = {
    "nullable optional fields": NULLABLE,
    "attachment width/height": "typed string in this copy of the spec, integers (or null) in newer ones",
    "ticket custom field value": "null when the field is unset",
    "deleted user shared_phone_number": "typed string in DeletedUserObject, boolean (or null) in UserObject",
    "cursor meta/links on an empty page": "null when there is no item to point at",
    "ticket status in exports": "'deleted' for deleted tickets (Incremental Exports: deletions are in it)",
    "ticket_events items": "the spec points them at TicketMetricEventBaseObject (known quirk); "
    "checked against the documented event shape instead",
    "audit change values": "any JSON value (a tags change carries a list, an unassignment null)",
    "ticket_audits cursors": "after_cursor/after_url (before_*) are null on the last (first) page",
    "ticket metric times": "{calendar, business} minutes are null until the metric is reached",
    "show ticket metric / satisfaction rating": "one object (the spec types ticket_metric and "
    "satisfaction_rating of the show responses as arrays)",
}

# Fields of a schema that responses never carry: write-only ones ("POST requests only").
POST_ONLY = {
    "TicketObject": {"collaborators", "macro_ids", "via_followup_source_id"},
    "TicketCommentObject": {"uploads"},
}


class Loader(yaml.SafeLoader):
    """The spec has one `!!value` node that `safe_load` refuses (fact sheet)."""


Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


@cache
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(SPEC_PATH.read_text(), Loader=Loader)  # noqa: S506 - SafeLoader subclass
    return loaded


@cache
def components(exports: bool) -> dict[str, Any]:
    comps = copy.deepcopy(spec()["components"])
    schemas = comps["schemas"]
    for name, props in NULLABLE.items():
        for prop in props:
            schemas[name]["properties"][prop]["nullable"] = True
            if "enum" in schemas[name]["properties"][prop]:  # OAS 3.0.3: null must be listed too
                schemas[name]["properties"][prop]["enum"].append(None)
    schemas["DeletedUserObject"]["properties"]["shared_phone_number"] = {"type": "boolean", "nullable": True}
    base = schemas["AttachmentBaseObject"]["properties"]
    for prop in ("width", "height"):
        base[prop] = {"type": "integer", "nullable": True, "readOnly": True}
    schemas["TicketObject"]["properties"]["custom_fields"]["items"]["properties"]["value"]["nullable"] = True
    pagination = schemas["Pagination"]["properties"]
    for prop in ("next", "prev"):
        pagination["links"]["properties"][prop]["nullable"] = True
    for prop in ("after_cursor", "before_cursor"):
        pagination["meta"]["properties"][prop]["nullable"] = True
    schemas["AuditObject"]["properties"]["events"]["items"]["properties"]["value"] = {}
    schemas["TicketMetricsByTicketMetricIdResponse"]["properties"]["ticket_metric"] = {
        "$ref": "#/components/schemas/TicketMetricObject"
    }
    schemas["SatisfactionRatingResponse"]["properties"]["satisfaction_rating"] = {
        "$ref": "#/components/schemas/SatisfactionRatingObject"
    }
    for prop in ("after_cursor", "after_url", "before_cursor", "before_url"):
        schemas["TicketAuditsResponse"]["properties"][prop]["nullable"] = True
    if exports:
        schemas["TicketObject"]["properties"]["status"]["enum"].append("deleted")
    # "Incremental Ticket Event Export": audits with child events; with comment_events, every
    # comment as a child of type Comment (id, author_id, body, html_body, public, attachments,
    # audit_id, created_at).
    schemas["ExportIncrementalTicketEventsResponse"]["properties"]["ticket_events"]["items"] = {
        "type": "object",
        "required": [
            "id",
            "ticket_id",
            "timestamp",
            "created_at",
            "updater_id",
            "event_type",
            "child_events",
        ],
        "properties": {
            "id": {"type": "integer"},
            "ticket_id": {"type": "integer"},
            "timestamp": {"type": "integer"},
            "created_at": {"type": "string", "format": "date-time"},
            "updater_id": {"type": "integer"},
            "event_type": {"type": "string", "enum": ["Audit"]},
            "child_events": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "event_type"],
                    "properties": {"id": {"type": "integer"}, "event_type": {"type": "string"}},
                    "if": {
                        "properties": {"event_type": {"enum": ["Comment"]}, "body": {}},
                        "required": ["body"],
                    },
                    "then": {
                        "required": [
                            "author_id",
                            "body",
                            "html_body",
                            "public",
                            "attachments",
                            "audit_id",
                            "created_at",
                        ],
                        "properties": {
                            "author_id": {"type": "integer"},
                            "body": {"type": "string"},
                            "html_body": {"type": "string"},
                            "public": {"type": "boolean"},
                            "attachments": {
                                "type": "array",
                                "items": {"$ref": "#/components/schemas/AttachmentObject"},
                            },
                            "audit_id": {"type": "integer"},
                            "created_at": {"type": "string", "format": "date-time"},
                        },
                    },
                },
            },
        },
    }
    return comps


def response_schema(path: str, method: str, status: str) -> dict[str, Any]:
    schema: dict[str, Any] = spec()["paths"][path][method]["responses"][status]["content"][
        "application/json"
    ]["schema"]
    return schema


def validate(
    body: Any,
    path: str,
    method: str = "get",
    status: str = "200",
    *,
    exports: bool = False,
    cursor: bool = False,
) -> None:
    """Validate ``body`` against the spec's schema for (path, method, status)."""
    schema = dict(response_schema(path, method, status))
    if cursor:  # cursor-paginated lists add `meta` and `links` ("Pagination")
        schema = {"allOf": [schema, {"$ref": "#/components/schemas/Pagination"}]}
    root = {**schema, "components": components(exports)}
    validator = OAS30ReadValidator(root, format_checker=oas30_format_checker)
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


def readable_fields(schema_name: str) -> set[str]:
    props: dict[str, Any] = {}
    pending = [spec()["components"]["schemas"][schema_name]]
    while pending:
        node = pending.pop()
        if "$ref" in node:
            pending.append(spec()["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]])
            continue
        props.update(node.get("properties", {}))
        pending += node.get("allOf", [])
    return {k for k, v in props.items() if not v.get("writeOnly")} - POST_ONLY.get(schema_name, set())


def assert_complete(objects: list[dict[str, Any]], schema_name: str) -> None:
    """Every object carries every readable field of ``schema_name``."""
    assert objects, f"no {schema_name} to check"
    wanted = readable_fields(schema_name)
    for obj in objects:
        missing = wanted - set(obj)
        assert not missing, f"{schema_name} {obj.get('id')} lacks {sorted(missing)}"


@pytest.fixture(scope="module")
def admin(simulator: SimulatorHandle) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=simulator.base_url, headers={"Authorization": simulator.basic_auth_header()}, timeout=30
    ) as client:
        yield client


def get(client: httpx.Client, url: str, **params: Any) -> Any:
    for _ in range(20):
        response = client.get(url, params=params or None)
        if response.status_code != 429:
            assert response.status_code == 200, response.text
            return response.json()
        time.sleep(float(response.headers["retry-after"]))
    raise AssertionError(f"still rate limited: {url}")


# ------------------------------------------------------------------------ reads


def test_ticket_endpoints(admin: httpx.Client) -> None:
    offset = get(admin, "/api/v2/tickets.json", include="users,groups,organizations")
    validate(offset, "/api/v2/tickets")
    assert_complete(offset["tickets"], "TicketObject")
    validate(get(admin, "/api/v2/tickets.json", **{"page[size]": 25}), "/api/v2/tickets", cursor=True)
    validate(get(admin, "/api/v2/tickets/3.json"), "/api/v2/tickets/{ticket_id}")
    validate(get(admin, "/api/v2/tickets/show_many.json", ids="1,2,3"), "/api/v2/tickets/show_many")
    validate(get(admin, "/api/v2/deleted_tickets.json"), "/api/v2/deleted_tickets")


def test_sideloaded_metric_events(admin: httpx.Client) -> None:
    """Show Ticket with ``include=metric_events``: the ticket still validates, and each event
    is a TicketMetricEventBaseObject with every readable field."""
    body = get(admin, "/api/v2/tickets/3.json", include="metric_events")
    validate(body, "/api/v2/tickets/{ticket_id}")
    events = [e for items in body["metric_events"].values() for e in items]
    root = {"$ref": "#/components/schemas/TicketMetricEventBaseObject", "components": components(False)}
    validator = OAS30ReadValidator(root, format_checker=oas30_format_checker)
    for event in events:
        errors = list(validator.iter_errors(event))
        assert not errors, errors[0].message
    assert_complete(events, "TicketMetricEventBaseObject")


def test_comment_endpoint(admin: httpx.Client) -> None:
    comments = []
    for tid in range(1, 40):
        response = admin.get(f"/api/v2/tickets/{tid}/comments.json", params={"include_inline_images": "true"})
        if response.status_code == 200:
            validate(response.json(), "/api/v2/tickets/{ticket_id}/comments")
            comments += response.json()["comments"]
    assert_complete(comments, "TicketCommentObject")
    attachments = [a for c in comments for a in c["attachments"]]
    assert_complete(attachments, "AttachmentObject")
    validate(
        get(admin, "/api/v2/tickets/18/comments.json", **{"page[size]": 100}),
        "/api/v2/tickets/{ticket_id}/comments",
        cursor=True,
    )
    validate(
        get(admin, f"/api/v2/attachments/{attachments[0]['id']}.json"), "/api/v2/attachments/{attachment_id}"
    )


def test_user_organization_group_endpoints(admin: httpx.Client) -> None:
    users = get(admin, "/api/v2/users.json")
    validate(users, "/api/v2/users")
    assert_complete(users["users"], "UserForAdmin")
    assert any(u["email"] is None for u in users["users"])  # the nullable relaxation is exercised
    validate(get(admin, "/api/v2/users.json", **{"page[size]": 10}), "/api/v2/users", cursor=True)
    validate(get(admin, "/api/v2/users/me.json"), "/api/v2/users/me")
    one = users["users"][5]["id"]
    validate(get(admin, f"/api/v2/users/{one}.json"), "/api/v2/users/{user_id}")
    validate(get(admin, "/api/v2/users/show_many.json", ids=str(one)), "/api/v2/users/show_many")
    deleted_users = get(admin, "/api/v2/deleted_users.json")
    assert deleted_users["deleted_users"]
    validate(deleted_users, "/api/v2/deleted_users")
    first_deleted = deleted_users["deleted_users"][0]["id"]
    validate(
        get(admin, f"/api/v2/deleted_users/{first_deleted}.json"), "/api/v2/deleted_users/{deleted_user_id}"
    )

    orgs = get(admin, "/api/v2/organizations.json")
    validate(orgs, "/api/v2/organizations")
    assert_complete(orgs["organizations"], "OrganizationObject")
    validate(
        get(admin, f"/api/v2/organizations/{orgs['organizations'][0]['id']}.json"),
        "/api/v2/organizations/{organization_id}",
    )
    validate(
        get(admin, "/api/v2/organizations/show_many.json", ids=str(orgs["organizations"][0]["id"])),
        "/api/v2/organizations/show_many",
    )

    groups = get(admin, "/api/v2/groups.json")
    validate(groups, "/api/v2/groups")
    assert_complete(groups["groups"], "GroupObject")
    validate(get(admin, f"/api/v2/groups/{groups['groups'][0]['id']}.json"), "/api/v2/groups/{group_id}")


def test_incremental_exports(admin: httpx.Client) -> None:
    tickets = get(admin, "/api/v2/incremental/tickets/cursor.json", start_time=0, include="users")
    validate(tickets, "/api/v2/incremental/tickets/cursor", exports=True)
    assert any(t["status"] == "deleted" for t in tickets["tickets"])
    assert_complete(tickets["tickets"], "TicketObject")
    validate(
        get(admin, "/api/v2/incremental/tickets.json", start_time=0, per_page=50),
        "/api/v2/incremental/tickets",
        exports=True,
    )
    validate(
        get(admin, "/api/v2/incremental/users/cursor.json", start_time=0), "/api/v2/incremental/users/cursor"
    )
    validate(get(admin, "/api/v2/incremental/users.json", start_time=0), "/api/v2/incremental/users")
    validate(
        get(admin, "/api/v2/incremental/organizations.json", start_time=0),
        "/api/v2/incremental/organizations",
    )
    events = get(admin, "/api/v2/incremental/ticket_events.json", start_time=0, include="comment_events")
    validate(events, "/api/v2/incremental/ticket_events")
    children = [c for e in events["ticket_events"] for c in e["child_events"] if c["event_type"] == "Comment"]
    assert children and all("body" in c for c in children)


def test_audit_endpoints(admin: httpx.Client) -> None:
    for tid in (5, 18):
        audits = get(admin, f"/api/v2/tickets/{tid}/audits.json")
        validate(audits, "/api/v2/tickets/{ticket_id}/audits")
        assert_complete(audits["audits"], "TicketAuditObject")
        validate(
            get(admin, f"/api/v2/tickets/{tid}/audits.json", **{"page[size]": 10}),
            "/api/v2/tickets/{ticket_id}/audits",
            cursor=True,
        )
        one = audits["audits"][1]["id"]
        validate(
            get(admin, f"/api/v2/tickets/{tid}/audits/{one}.json"),
            "/api/v2/tickets/{ticket_id}/audits/{ticket_audit_id}",
        )
        validate(
            get(admin, f"/api/v2/tickets/{tid}/audits/count.json"), "/api/v2/tickets/{ticket_id}/audits/count"
        )
    page = get(admin, "/api/v2/ticket_audits.json", limit=1000)
    validate(page, "/api/v2/ticket_audits")
    last = get(admin, page["after_url"])
    validate(last, "/api/v2/ticket_audits")
    validate(
        get(admin, "/api/v2/ticket_audits.json", **{"page[size]": 50}), "/api/v2/ticket_audits", cursor=True
    )


# (list path, spec path, key, schema) of the objects tickets, users and organizations point to
OBJECT_LISTS = [
    ("/api/v2/ticket_fields.json", "/api/v2/ticket_fields", "ticket_fields", "TicketFieldObject"),
    ("/api/v2/user_fields.json", "/api/v2/user_fields", "user_fields", "UserFieldObject"),
    (
        "/api/v2/organization_fields.json",
        "/api/v2/organization_fields",
        "organization_fields",
        "OrganizationFieldObject",
    ),
    ("/api/v2/ticket_forms.json", "/api/v2/ticket_forms", "ticket_forms", "TicketFormObject"),
    ("/api/v2/brands.json", "/api/v2/brands", "brands", "BrandObject"),
    ("/api/v2/custom_statuses.json", "/api/v2/custom_statuses", "custom_statuses", "CustomStatusObject"),
    (
        "/api/v2/group_memberships.json",
        "/api/v2/group_memberships",
        "group_memberships",
        "GroupMembershipObject",
    ),
    (
        "/api/v2/organization_memberships.json",
        "/api/v2/organization_memberships",
        "organization_memberships",
        "OrganizationMembershipObject",
    ),
    (
        "/api/v2/satisfaction_ratings.json",
        "/api/v2/satisfaction_ratings",
        "satisfaction_ratings",
        "SatisfactionRatingObject",
    ),
    ("/api/v2/ticket_metrics.json", "/api/v2/ticket_metrics", "ticket_metrics", "TicketMetricObject"),
    ("/api/v2/macros.json", "/api/v2/macros", "macros", "MacroObject"),
    ("/api/v2/macros/active.json", "/api/v2/macros/active", "macros", "MacroObject"),
    ("/api/v2/slas/policies.json", "/api/v2/slas/policies", "sla_policies", "SLAPolicyObject"),
    (
        "/api/v2/users/370000000005/identities.json",
        "/api/v2/users/{user_id}/identities",
        "identities",
        "UserIdentityObject",
    ),
]
# objects whose list leaves out fields the spec lists (usage sideloads of macros, only with include)
SIDELOAD_ONLY = {
    "MacroObject": {
        "app_installation",
        "categories",
        "permissions",
        "usage_1h",
        "usage_7d",
        "usage_24h",
        "usage_30d",
    }
}
SHOW = {
    "ticket_fields": ("/api/v2/ticket_fields/{id}.json", "/api/v2/ticket_fields/{ticket_field_id}"),
    "user_fields": ("/api/v2/user_fields/{id}.json", "/api/v2/user_fields/{user_field_id}"),
    "organization_fields": (
        "/api/v2/organization_fields/{id}.json",
        "/api/v2/organization_fields/{organization_field_id}",
    ),
    "ticket_forms": ("/api/v2/ticket_forms/{id}.json", "/api/v2/ticket_forms/{ticket_form_id}"),
    "brands": ("/api/v2/brands/{id}.json", "/api/v2/brands/{brand_id}"),
    "custom_statuses": ("/api/v2/custom_statuses/{id}.json", "/api/v2/custom_statuses/{custom_status_id}"),
    "group_memberships": (
        "/api/v2/group_memberships/{id}.json",
        "/api/v2/group_memberships/{group_membership_id}",
    ),
    "organization_memberships": (
        "/api/v2/organization_memberships/{id}.json",
        "/api/v2/organization_memberships/{organization_membership_id}",
    ),
    "satisfaction_ratings": (
        "/api/v2/satisfaction_ratings/{id}.json",
        "/api/v2/satisfaction_ratings/{satisfaction_rating_id}",
    ),
    "ticket_metrics": ("/api/v2/ticket_metrics/{id}.json", "/api/v2/ticket_metrics/{ticket_metric_id}"),
    "macros": ("/api/v2/macros/{id}.json", "/api/v2/macros/{macro_id}"),
    "sla_policies": ("/api/v2/slas/policies/{id}.json", "/api/v2/slas/policies/{sla_policy_id}"),
    "identities": (
        "/api/v2/users/370000000005/identities/{id}.json",
        "/api/v2/users/{user_id}/identities/{user_identity_id}",
    ),
}


@pytest.mark.parametrize(
    ("url", "path", "key", "schema"), OBJECT_LISTS, ids=[x[2] + ":" + x[0] for x in OBJECT_LISTS]
)
def test_object_endpoints(admin: httpx.Client, url: str, path: str, key: str, schema: str) -> None:
    body = get(admin, url)
    validate(body, path)
    objects = body[key]
    assert objects, f"{url} lists nothing"
    wanted = readable_fields(schema) - SIDELOAD_ONLY.get(schema, set())
    for obj in objects:
        assert not wanted - set(obj), f"{schema} {obj.get('id')} lacks {sorted(wanted - set(obj))}"
    if key in SHOW:
        show_url, show_path = SHOW[key]
        validate(get(admin, show_url.format(id=objects[0]["id"])), show_path)


def test_object_extras_and_search(admin: httpx.Client) -> None:
    validate(get(admin, "/api/v2/ticket_fields/count.json"), "/api/v2/ticket_fields/count")
    validate(
        get(admin, "/api/v2/ticket_forms/show_many.json", ids="480000000001"),
        "/api/v2/ticket_forms/show_many",
    )
    validate(get(admin, "/api/v2/tags.json"), "/api/v2/tags")
    validate(get(admin, "/api/v2/tickets/5/tags.json"), "/api/v2/tickets/{ticket_id}/tags")
    validate(
        get(admin, "/api/v2/group_memberships.json", **{"page[size]": 5}),
        "/api/v2/group_memberships",
        cursor=True,
    )
    events = get(admin, "/api/v2/incremental/ticket_metric_events.json", start_time=0)
    validate(events, "/api/v2/incremental/ticket_metric_events")
    assert_complete(events["ticket_metric_events"], "TicketMetricEventBaseObject")
    found = get(admin, "/api/v2/search.json", query="type:ticket status<solved", include="users")
    validate(found, "/api/v2/search")
    assert found["results"] and "users" in found
    validate(get(admin, "/api/v2/search/count.json", query="type:user"), "/api/v2/search/count")
    validate(
        get(
            admin,
            "/api/v2/search/export.json",
            query="status:open",
            **{"filter[type]": "ticket", "page[size]": 5},
        ),
        "/api/v2/search/export",
    )


def test_counts_and_lists_by_parent(admin: httpx.Client, simulator: SimulatorHandle) -> None:
    """The remaining GETs: the Count endpoints against their own schemas; the lists narrowed to
    one parent, which this copy of the spec does not list as paths (group, user and
    organization memberships, user and organization tags, a ticket's metrics), against the
    schema of the list or show they narrow; the OAuth token in use against Show Token."""
    for kind in ("tickets", "users", "organizations"):
        validate(get(admin, f"/api/v2/{kind}/count.json"), f"/api/v2/{kind}/count")
    group_membership = get(admin, "/api/v2/group_memberships.json")["group_memberships"][0]
    org_membership = get(admin, "/api/v2/organization_memberships.json")["organization_memberships"][0]
    narrowed = {
        f"/api/v2/groups/{group_membership['group_id']}/memberships.json": "/api/v2/group_memberships",
        f"/api/v2/users/{group_membership['user_id']}/group_memberships.json": "/api/v2/group_memberships",
        f"/api/v2/users/{org_membership['user_id']}/organization_memberships.json": (
            "/api/v2/organization_memberships"
        ),
        f"/api/v2/organizations/{org_membership['organization_id']}/organization_memberships.json": (
            "/api/v2/organization_memberships"
        ),
        f"/api/v2/users/{org_membership['user_id']}/tags.json": "/api/v2/tickets/{ticket_id}/tags",
        f"/api/v2/organizations/{org_membership['organization_id']}/tags.json": (
            "/api/v2/tickets/{ticket_id}/tags"
        ),
        "/api/v2/tickets/5/metrics.json": "/api/v2/ticket_metrics/{ticket_metric_id}",
    }
    for url, path in narrowed.items():
        body = get(admin, url)
        assert any(isinstance(v, list) and v for v in body.values()) or "ticket_metric" in body, url
        validate(body, path)
    granted = httpx.post(
        f"{simulator.base_url}/oauth/tokens",
        json={
            "grant_type": "client_credentials",
            "client_id": "zensync",
            "client_secret": "zensync-secret",
            "scope": "read",
            "expires_in": 3600,
        },
    )
    assert granted.status_code == 201, granted.text  # Create Token answers 201
    bearer = {"Authorization": f"Bearer {granted.json()['access_token']}"}
    with httpx.Client(base_url=simulator.base_url, headers=bearer) as client:
        validate(get(client, "/api/v2/oauth/tokens/current.json"), "/api/v2/oauth/tokens/{oauth_token_id}")


def test_error_bodies(admin: httpx.Client) -> None:
    bad = admin.get("/api/v2/tickets.json", params={"page[size]": 5, "page[after]": "zzz"})
    assert bad.status_code == 400
    root = {"$ref": "#/components/schemas/Errors", "components": components(False)}
    OAS30ReadValidator(root).validate(bad.json())
    deep = admin.get("/api/v2/tickets.json", params={"page": 101})
    OAS30ReadValidator(root).validate(deep.json())


# ------------------------------------------------------------------------ writes


@pytest.fixture(scope="module")
def writable() -> Iterator[SimulatorHandle]:
    with running_simulator(tickets=60, seed=3, minute_seconds=1) as sim:
        yield sim


def test_write_responses(writable: SimulatorHandle) -> None:
    created = writable.request(
        "POST",
        "/api/v2/tickets.json",
        json={"ticket": {"subject": "Schema check", "comment": {"body": "Hello"}, "tags": ["a"]}},
    )
    assert created.status_code == 201
    validate(created.json(), "/api/v2/tickets", "post", "201")
    assert_complete([created.json()["ticket"]], "TicketObject")
    tid = created.json()["ticket"]["id"]
    updated = writable.request(
        "PUT",
        f"/api/v2/tickets/{tid}.json",
        json={"ticket": {"status": "open", "tags": ["a", "b"], "comment": {"body": "More"}}},
    )
    assert updated.status_code == 200
    validate(updated.json(), "/api/v2/tickets/{ticket_id}", "put")
    user = writable.request("POST", "/api/v2/users.json", json={"user": {"name": "Schema User"}})
    validate(user.json(), "/api/v2/users", "post", "201")
    org = writable.request(
        "POST", "/api/v2/organizations.json", json={"organization": {"name": "Schema Org"}}
    )
    validate(org.json(), "/api/v2/organizations", "post", "201")
    gone = writable.request("DELETE", f"/api/v2/users/{user.json()['user']['id']}.json")
    validate(gone.json(), "/api/v2/users/{user_id}", "delete")
    with httpx.Client(base_url=writable.base_url, timeout=30) as client:
        upload = client.post(
            "/api/v2/uploads.json",
            params={"filename": "a.txt"},
            content=b"hello",
            headers={"Authorization": writable.basic_auth_header(), "Content-Type": "text/plain"},
        )
    assert upload.status_code == 201
    validate(upload.json(), "/api/v2/uploads", "post", "201")
