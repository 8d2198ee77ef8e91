"""The objects tickets point to, sideloads and Search, over real HTTP.

Expectations come from api-reference.md (sections named per test) and the spec; the
objects must agree with the tickets, users and histories that point at them.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from zendesk_simulator.testing import SimulatorHandle, running_simulator


@pytest.fixture(scope="module")
def admin(simulator: SimulatorHandle) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=simulator.base_url, headers={"Authorization": simulator.basic_auth_header()}, timeout=30
    ) as client:
        yield client


def get(client: httpx.Client, url: str, **params: Any) -> httpx.Response:
    for _ in range(20):
        response = client.get(url, params=params or None)
        if response.status_code != 429:
            return response
        time.sleep(float(response.headers["retry-after"]))
    raise AssertionError(f"still rate limited: {url}")


def get_ok(client: httpx.Client, url: str, **params: Any) -> Any:
    response = get(client, url, **params)
    assert response.status_code == 200, response.text
    return response.json()


def all_tickets(client: httpx.Client) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    body = get_ok(client, "/api/v2/incremental/tickets/cursor.json", start_time=0, exclude_deleted="true")
    while True:
        out += body["tickets"]
        if body["end_of_stream"]:
            return out
        body = get_ok(client, body["after_url"])


def test_ids_on_tickets_users_and_orgs_resolve(admin: httpx.Client) -> None:
    tickets = all_tickets(admin)
    forms = {f["id"]: f for f in get_ok(admin, "/api/v2/ticket_forms.json")["ticket_forms"]}
    fields = {f["id"]: f for f in get_ok(admin, "/api/v2/ticket_fields.json")["ticket_fields"]}
    default = next(f for f in forms.values() if f["default"])
    assert set(default["ticket_field_ids"]) == set(fields)
    assert all(set(f["ticket_field_ids"]) <= set(fields) for f in forms.values())
    ratings = {r["id"]: r for r in get_ok(admin, "/api/v2/satisfaction_ratings.json")["satisfaction_ratings"]}
    statuses = {s["id"]: s for s in get_ok(admin, "/api/v2/custom_statuses.json")["custom_statuses"]}
    brands = {b["id"] for b in get_ok(admin, "/api/v2/brands.json")["brands"]}
    for t in tickets:
        assert t["ticket_form_id"] in forms and t["brand_id"] in brands
        # "Custom ticket statuses": a closed ticket keeps its solved status
        category = "solved" if t["status"] == "closed" else t["status"]
        assert statuses[t["custom_status_id"]]["status_category"] == category
        for value in t["custom_fields"]:
            field = fields[value["id"]]
            if field["custom_field_options"] and value["value"] is not None:
                assert value["value"] in {o["value"] for o in field["custom_field_options"]}
        if "id" in t["satisfaction_rating"]:
            rating = ratings[t["satisfaction_rating"]["id"]]
            assert (rating["ticket_id"], rating["score"], rating["comment"]) == (
                t["id"],
                t["satisfaction_rating"]["score"],
                t["satisfaction_rating"]["comment"],
            )
            assert rating["requester_id"] == t["requester_id"]
    assert len(ratings) == sum(1 for t in tickets if "id" in t["satisfaction_rating"])
    user_field_keys = {f["key"] for f in get_ok(admin, "/api/v2/user_fields.json")["user_fields"]}
    org_field_keys = {
        f["key"] for f in get_ok(admin, "/api/v2/organization_fields.json")["organization_fields"]
    }
    users = get_ok(admin, "/api/v2/users.json")["users"]
    assert all(set(u["user_fields"]) <= user_field_keys for u in users)
    orgs = get_ok(admin, "/api/v2/organizations.json")["organizations"]
    assert all(set(o["organization_fields"]) <= org_field_keys for o in orgs)


def test_memberships_agree_with_users(admin: httpx.Client) -> None:
    users = {u["id"]: u for u in get_ok(admin, "/api/v2/users.json")["users"]}
    group_memberships = get_ok(admin, "/api/v2/group_memberships.json")["group_memberships"]
    agents = {uid for uid, u in users.items() if u["role"] != "end-user"}
    assert {m["user_id"] for m in group_memberships} == agents
    for m in group_memberships:
        assert users[m["user_id"]]["default_group_id"] == m["group_id"]
    group = group_memberships[0]["group_id"]
    of_group = get_ok(admin, f"/api/v2/groups/{group}/memberships.json")["group_memberships"]
    assert of_group == [m for m in group_memberships if m["group_id"] == group]
    org_memberships = get_ok(admin, "/api/v2/organization_memberships.json")["organization_memberships"]
    for m in org_memberships:
        assert users[m["user_id"]]["organization_id"] == m["organization_id"]
    with_org = {uid for uid, u in users.items() if u["organization_id"]}
    assert {m["user_id"] for m in org_memberships} == with_org


def test_metrics_follow_the_history(admin: httpx.Client) -> None:
    for tid in (3, 5, 7, 40):
        ticket = get_ok(admin, f"/api/v2/tickets/{tid}.json")["ticket"]
        metric = get_ok(admin, f"/api/v2/tickets/{tid}/metrics.json")["ticket_metric"]
        audits = get_ok(admin, f"/api/v2/tickets/{tid}/audits.json")["audits"]
        assert metric["ticket_id"] == tid and metric["created_at"] == ticket["created_at"]
        solved = [
            a["created_at"]
            for a in audits
            for e in a["events"]
            if e["type"] in ("Change", "Create") and e["field_name"] == "status" and e["value"] == "solved"
        ]
        assert metric["solved_at"] == (solved[0] if solved else None)
        comments = [a["created_at"] for a in audits if any(e["type"] == "Comment" for e in a["events"])]
        assert metric["latest_comment_added_at"] == comments[-1]
        assert get_ok(admin, f"/api/v2/ticket_metrics/{metric['id']}.json")["ticket_metric"] == metric


def test_ticket_sideloads(admin: httpx.Client) -> None:
    """ "Side-Loading": each documented sideload comes back; unknown names are ignored."""
    body = get_ok(
        admin,
        "/api/v2/tickets.json",
        per_page=20,
        include="users,groups,organizations,metric_sets,last_audits,ticket_forms,brands,custom_statuses,"
        "dates,slas,comment_count,no_such_thing",
    )
    tickets = body["tickets"]
    assert {m["ticket_id"] for m in body["metric_sets"]} == {t["id"] for t in tickets}
    assert {a["ticket_id"] for a in body["audits"]} == {t["id"] for t in tickets}
    assert [f["id"] for f in body["ticket_forms"]] == sorted({t["ticket_form_id"] for t in tickets})
    assert [b["id"] for b in body["brands"]] == sorted({t["brand_id"] for t in tickets})
    assert body["custom_statuses"] and body["users"]
    assert "no_such_thing" not in body
    for t in tickets:
        assert t["comment_count"] >= 1 and set(t["dates"]) >= {"solved_at", "assigned_at"}
        assert isinstance(t["slas"]["policy_metrics"], list)
    exported = get_ok(
        admin, "/api/v2/incremental/tickets/cursor.json", start_time=0, include="metric_sets,last_audits"
    )
    assert exported["metric_sets"] and "audits" not in exported  # "not last_audits" on exports


def test_user_sideloads(admin: httpx.Client) -> None:
    body = get_ok(admin, "/api/v2/users.json", include="identities,organizations,groups,open_ticket_count")
    users = body["users"]
    by_user: dict[int, list[dict[str, Any]]] = {}
    for identity in body["identities"]:
        by_user.setdefault(identity["user_id"], []).append(identity)
    for u in users:
        emails = [i["value"] for i in by_user.get(u["id"], []) if i["type"] == "email"]
        assert emails == ([u["email"]] if u["email"] else [])
    assert set(body["open_ticket_count"]) == {str(u["id"]) for u in users}
    assert sum(body["open_ticket_count"].values()) > 0
    one = users[4]["id"]
    shown = get_ok(admin, f"/api/v2/users/{one}.json", include="identities")
    assert shown["identities"] == get_ok(admin, f"/api/v2/users/{one}/identities.json")["identities"]


def test_metric_events_sideload_on_show_ticket(admin: httpx.Client) -> None:
    """ "Side-Loading", tickets: ``metric_events`` comes with Show Ticket, grouped by metric;
    they are the ticket's events of the Incremental Ticket Metric Event Export."""
    exported = get_ok(admin, "/api/v2/incremental/ticket_metric_events.json", start_time=0)
    events = exported["ticket_metric_events"]
    tid = events[0]["ticket_id"]
    shown = get_ok(admin, f"/api/v2/tickets/{tid}.json", include="metric_events,users")
    assert shown["ticket"]["id"] == tid and shown["users"]
    grouped = shown["metric_events"]
    assert set(grouped) >= {"reply_time", "agent_work_time", "requester_wait_time", "resolution_time"}
    for metric, items in grouped.items():
        assert all(e["metric"] == metric and e["ticket_id"] == tid for e in items)
    flat = sorted((e for items in grouped.values() for e in items), key=lambda e: e["id"])
    assert flat == sorted((e for e in events if e["ticket_id"] == tid), key=lambda e: e["id"])
    assert any(e["type"] == "activate" for e in flat)
    # Not a sideload of lists: ignored there, like any name an endpoint does not know.
    listed = get_ok(admin, "/api/v2/tickets.json", per_page=5, include="metric_events")
    assert "metric_events" not in listed and listed["tickets"]


def test_abilities_and_roles_sideloads(admin: httpx.Client, simulator: SimulatorHandle) -> None:
    """ "Side-Loading", "Special Sideloads: Abilities": what the requesting user can do with
    each user or organization; ``roles``: the users' custom roles (none are set here)."""
    me = get_ok(admin, "/api/v2/users/me.json", include="abilities")
    assert me["abilities"] == [
        {
            "url": me["user"]["url"],
            "user_id": me["user"]["id"],
            "can_edit": True,
            "can_edit_password": True,
            "can_manage_identities_of": True,
            "can_verify_identities": True,
        }
    ]
    users = get_ok(admin, "/api/v2/users.json", per_page=30, include="abilities,roles")
    assert [a["user_id"] for a in users["abilities"]] == [u["id"] for u in users["users"]]
    assert all(a["can_edit"] for a in users["abilities"])  # an admin edits everyone
    assert users["roles"] == [] and all(u["custom_role_id"] is None for u in users["users"])
    with httpx.Client(
        base_url=simulator.base_url,
        headers={"Authorization": simulator.basic_auth_header(simulator.agent_email)},
        timeout=30,
    ) as agent:
        seen = get_ok(agent, "/api/v2/users.json", per_page=30, include="abilities")
        roles = {u["id"]: u["role"] for u in seen["users"]}
        agent_id = get_ok(agent, "/api/v2/users/me.json")["user"]["id"]
        for ability in seen["abilities"]:
            uid = ability["user_id"]
            assert ability["can_edit"] == (roles[uid] == "end-user" or uid == agent_id), ability
            assert ability["can_verify_identities"] is False
        assert {r for r in roles.values()} >= {"end-user", "admin"}
        org = get_ok(agent, "/api/v2/organizations.json", per_page=3, include="abilities")["abilities"][0]
        assert org["can_edit"] is False

    orgs = get_ok(admin, "/api/v2/organizations.json", per_page=10, include="abilities,no_such_thing")
    assert [a["organization_id"] for a in orgs["abilities"]] == [o["id"] for o in orgs["organizations"]]
    assert all(
        a["can_edit"] and a["url"].endswith(f"/organizations/{a['organization_id']}.json")
        for a in orgs["abilities"]
    )
    assert "no_such_thing" not in orgs
    one = orgs["organizations"][0]["id"]
    shown = get_ok(admin, f"/api/v2/organizations/{one}.json", include="abilities")
    assert [a["organization_id"] for a in shown["abilities"]] == [one]
    exported = get_ok(admin, "/api/v2/incremental/organizations.json", start_time=0, include="abilities")
    assert len(exported["abilities"]) == len(exported["organizations"]) > 0
    plain = get_ok(admin, f"/api/v2/organizations/{one}.json")
    assert "abilities" not in plain


def test_search_filters_and_limits(admin: httpx.Client, simulator: SimulatorHandle) -> None:
    truth = simulator.truth()
    found = get_ok(admin, "/api/v2/search.json", query="type:ticket status:pending")
    assert found["count"] == truth["tickets_by_status"]["pending"]
    assert all(r["result_type"] == "ticket" and r["status"] == "pending" for r in found["results"])
    below = get_ok(admin, "/api/v2/search/count.json", query="type:ticket status<solved")["count"]
    by_status = truth["tickets_by_status"]
    assert below == by_status["new"] + by_status["open"] + by_status["pending"] + by_status["hold"]
    phrase = next(p for p in truth["phrases"] if p["type"] == "ticket")
    hit = get_ok(admin, "/api/v2/search.json", query=f'"{phrase["phrase"]}"')
    assert [r["id"] for r in hit["results"] if r["result_type"] == "ticket"] == [phrase["id"]]
    person = get_ok(admin, "/api/v2/search.json", query=f"type:user {simulator.admin_email}")["results"]
    assert [u["email"] for u in person] == [simulator.admin_email]
    tagged = get_ok(
        admin, "/api/v2/search.json", query="type:ticket tags:vip -status:closed", sort_by="created_at"
    )
    created = [r["created_at"] for r in tagged["results"]]
    assert created == sorted(created, reverse=True)
    assert all("vip" in r["tags"] and r["status"] != "closed" for r in tagged["results"])
    # "Results limit": 1,000 results a query; page 11 at 100 a page answers 422
    assert get(admin, "/api/v2/search.json", query="type:ticket", page=11).status_code == 422
    bad = get(admin, "/api/v2/search/export.json", query="status:open")
    assert bad.status_code == 400  # filter[type] is required


def search_ids(client: httpx.Client, query: str) -> set[tuple[str, int]]:
    found = get_ok(client, "/api/v2/search.json", query=query)
    assert found["count"] <= 100, "the checks below read one page"
    return {(r["result_type"], r["id"]) for r in found["results"]}


def test_search_terms_match_at_the_start_of_words(admin: httpx.Client, simulator: SimulatorHandle) -> None:
    """Zendesk Support search reference, "Search terms": a term matches a word or the start of
    one, never the middle or end of a word; ``*`` is the wildcard ("Search operators")."""
    phrase = next(p for p in simulator.truth()["phrases"] if p["type"] == "ticket")
    word = max(phrase["phrase"].split(), key=len).strip(".,").lower()
    assert len(word) >= 6, phrase
    target = ("ticket", phrase["id"])
    assert target in search_ids(admin, f"type:ticket {word}")
    assert target in search_ids(admin, f"type:ticket {word[:4]}")  # the start of the word
    assert target in search_ids(admin, f"type:ticket {word[:2]}*{word[-2:]}")  # a wildcard inside
    assert target not in search_ids(admin, f"type:ticket {word[2:]}")  # the middle and end do not

    def count(query: str) -> int:
        return int(get_ok(admin, "/api/v2/search/count.json", query=query)["count"])

    assert count(f"type:ticket -{word[:4]}") == count("type:ticket") - count(f"type:ticket {word[:4]}")


def test_search_people_organizations_and_groups_by_name(
    admin: httpx.Client, simulator: SimulatorHandle
) -> None:
    """Person keywords take an id, a name, an email or ``me``; ``organization`` and ``group``
    an id or a name; ``user:`` finds users by id, name or email (the "user keyword")."""
    tickets = get_ok(admin, "/api/v2/tickets.json", per_page=100)["tickets"]
    ticket = next(t for t in tickets if t["organization_id"] and t["group_id"] and t["requester_id"])
    org = get_ok(admin, f"/api/v2/organizations/{ticket['organization_id']}.json")["organization"]
    group = get_ok(admin, f"/api/v2/groups/{ticket['group_id']}.json")["group"]
    person = get_ok(admin, f"/api/v2/users/{ticket['requester_id']}.json")["user"]

    def count(query: str) -> int:
        return int(get_ok(admin, "/api/v2/search/count.json", query=query)["count"])

    for key, by_id, by_name in (
        ("organization", org["id"], org["name"]),
        ("group", group["id"], group["name"]),
        ("requester", person["id"], person["name"]),
    ):
        n = count(f"type:ticket {key}:{by_id}")
        assert n > 0 and count(f'type:ticket {key}:"{by_name}"') == n, (key, by_name)
        assert count(f'type:ticket {key}:"{by_name.upper()}"') == n  # search terms ignore case
    assert count(f'type:ticket organization:{org["id"]} -group:"{group["name"]}"') == count(
        f"type:ticket organization:{org['id']}"
    ) - count(f"type:ticket organization:{org['id']} group:{group['id']}")
    if person["email"]:
        assert count(f"type:ticket requester:{person['email']}") == count(
            f"type:ticket requester:{person['id']}"
        )
    assert count(f'type:user organization:"{org["name"]}"') == count(f"type:user organization:{org['id']}")

    me = get_ok(admin, "/api/v2/users/me.json")["user"]["id"]
    assert count("type:ticket requester:me") == count(f"type:ticket requester:{me}")
    assert count("type:ticket -assignee:me") == count("type:ticket") - count(f"type:ticket assignee:{me}")

    assert search_ids(admin, f'user:"{person["name"]}"') >= {("user", person["id"])}
    assert search_ids(admin, f"user:{person['id']}") == {("user", person["id"])}
    assert count("type:ticket requester:nobody-by-this-name") == 0


def test_search_export_goes_past_a_thousand() -> None:
    with (
        running_simulator(tickets=1300, seed=9, minute_seconds=1, no_rate_limits=True) as sim,
        httpx.Client(
            base_url=sim.base_url, headers={"Authorization": sim.basic_auth_header()}, timeout=60
        ) as client,
    ):
        truth = sim.truth()
        first = get_ok(client, "/api/v2/search.json", query="type:ticket")
        assert first["count"] == truth["ticket"] > 1000
        ids: list[int] = []
        body = get_ok(
            client,
            "/api/v2/search/export.json",
            query="type:ticket",
            **{"filter[type]": "ticket", "page[size]": 500},
        )
        while True:
            ids += [r["id"] for r in body["results"]]
            assert body["links"]["prev"] is None
            if not body["meta"]["has_more"]:
                break
            body = get_ok(client, body["links"]["next"])
        assert len(ids) == len(set(ids)) == truth["ticket"]


def test_search_sideloads_name_the_result_type(admin: httpx.Client) -> None:
    """Search, "Side-loading": ``include=tickets(users)`` sideloads the ticket results' users;
    each result type names its own (``users(organizations)``), and a list two types both
    sideload comes once per object."""
    found = get_ok(admin, "/api/v2/search.json", query="type:ticket", include="tickets(users,groups)")
    tickets = [r for r in found["results"] if r["result_type"] == "ticket"]
    assert tickets and "groups" in found
    users = {u["id"] for u in found["users"]}
    assert {t["requester_id"] for t in tickets} <= users
    assert {t["group_id"] for t in tickets if t["group_id"]} == {g["id"] for g in found["groups"]}

    people = get_ok(admin, "/api/v2/search.json", query="type:user", include="users(organizations)")
    orgs = {u["organization_id"] for u in people["results"] if u.get("organization_id")}
    assert orgs and orgs == {o["id"] for o in people["organizations"]}
    assert "users" not in people  # a users(...) sideload is not a ticket sideload

    both = get_ok(
        admin,
        "/api/v2/search.json",
        query="status:open",
        include="tickets(organizations),users(organizations)",
    )
    listed = [o["id"] for o in both.get("organizations", [])]
    assert len(listed) == len(set(listed))

    exported = get_ok(
        admin,
        "/api/v2/search/export.json",
        query="status:open",
        include="tickets(users)",
        **{"filter[type]": "ticket", "page[size]": 5},
    )
    assert {t["requester_id"] for t in exported["results"]} <= {u["id"] for u in exported["users"]}


def test_macro_sideloads_count_what_the_histories_applied(admin: httpx.Client) -> None:
    """List Macros' sideloads (api-reference.md, "List Macros"): ``usage_7d`` and ``usage_30d``
    count the macro references in the ticket histories of that window; ``permissions`` and
    ``app_installation`` come on each macro, ``categories`` beside them."""
    macros = get_ok(
        admin, "/api/v2/macros.json", include="usage_7d,usage_30d,permissions,app_installation,categories"
    )
    now = time.time()
    applied: Counter[int] = Counter()
    recent: Counter[int] = Counter()
    body = get_ok(admin, "/api/v2/incremental/ticket_events.json", start_time=0)
    while True:
        for event in body["ticket_events"]:
            when = datetime.fromisoformat(event["created_at"]).timestamp()
            for child in event["child_events"]:
                if (
                    child.get("type") == "AgentMacroReference"
                    or child.get("event_type") == "AgentMacroReference"
                ):
                    if now - when <= 30 * 86400:
                        applied[child["macro_id"]] += 1
                    if now - when <= 7 * 86400:
                        recent[child["macro_id"]] += 1
        if body["end_of_stream"]:
            break
        body = get_ok(admin, body["next_page"])
    assert sum(applied.values()) > 0
    assert {m["id"]: m["usage_30d"] for m in macros["macros"]} == {
        m["id"]: applied[m["id"]] for m in macros["macros"]
    }
    assert {m["id"]: m["usage_7d"] for m in macros["macros"]} == {
        m["id"]: recent[m["id"]] for m in macros["macros"]
    }
    assert all(
        m["permissions"] == {"can_edit": True} and m["app_installation"] is None for m in macros["macros"]
    )
    assert macros["categories"] == []  # no macro title has a "Category::" part
    plain = get_ok(admin, "/api/v2/macros.json")
    assert "usage_7d" not in plain["macros"][0] and "categories" not in plain


def test_show_ticket_field_sideloads_its_creator(admin: httpx.Client) -> None:
    """Show Ticket Field, Sideloads: ``users``, the user who created the field."""
    field = get_ok(admin, "/api/v2/ticket_fields.json")["ticket_fields"][0]
    shown = get_ok(admin, f"/api/v2/ticket_fields/{field['id']}.json", include="users")
    assert shown["ticket_field"]["id"] == field["id"]
    assert [u["id"] for u in shown["users"]] == [field["creator_user_id"]]
    assert "users" not in get_ok(admin, f"/api/v2/ticket_fields/{field['id']}.json")
