"""The simulator's data and API over real HTTP: pagination, exports, writes, attachments.

Expectations come from Zendesk's reference (../shared/zendesk/api-reference.md, sections
named in each test) and the fact sheet, not from the simulator's own code. Reads use the
session's shared account; writes use a module-scoped account of their own.
"""

from __future__ import annotations

import calendar
import datetime
import ipaddress
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import psutil
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from zendesk_simulator.config import SimulatorConfig
from zendesk_simulator.data import Account
from zendesk_simulator.testing import SimulatorHandle, running_simulator

NOT_FOUND = {"error": "RecordNotFound", "description": "Not found"}
FORBIDDEN = {"error": "Forbidden", "description": "You do not have access to this page"}
BAD_CURSOR = {"errors": [{"code": "InvalidPaginationParameter", "title": "page[after] is not valid"}]}


def api(sim: SimulatorHandle, email: str | None = None) -> httpx.Client:
    return httpx.Client(
        base_url=sim.base_url, headers={"Authorization": sim.basic_auth_header(email)}, timeout=30
    )


@pytest.fixture(scope="module")
def admin(simulator: SimulatorHandle) -> Iterator[httpx.Client]:
    with api(simulator) as client:
        yield client


def get(client: httpx.Client, url: str, **params: Any) -> httpx.Response:
    """GET that waits out a 429 the way Zendesk asks (Retry-After), like any real client."""
    for _ in range(20):
        response = client.get(url, params=params or None)
        if response.status_code != 429:
            return response
        time.sleep(float(response.headers["retry-after"]))
    raise AssertionError(f"still rate limited: {url}")


def get_ok(client: httpx.Client, url: str, **params: Any) -> dict[str, Any]:
    response = get(client, url, **params)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def walk_cursor(client: httpx.Client, url: str, key: str, **params: Any) -> list[dict[str, Any]]:
    """Follow links.next while meta.has_more, as "Pagination" prescribes."""
    items: list[dict[str, Any]] = []
    data = get_ok(client, url, **params)
    while True:
        items += data[key]
        if not data["meta"]["has_more"]:
            return items
        data = get_ok(client, data["links"]["next"])


def export_all(client: httpx.Client, url: str, key: str, **params: Any) -> list[dict[str, Any]]:
    """A cursor-based incremental export from start_time until end_of_stream."""
    items: list[dict[str, Any]] = []
    data = get_ok(client, url, **params)
    while True:
        items += data[key]
        if data["end_of_stream"]:
            return items
        data = get_ok(client, data["after_url"])


# ------------------------------------------------------------------------ generator


def test_same_seed_same_account_other_seed_other_account() -> None:
    now = 1_750_000_000.0
    a = Account(SimulatorConfig(tickets=300, seed=3), now=now)
    b = Account(SimulatorConfig(tickets=300, seed=3), now=now)
    c = Account(SimulatorConfig(tickets=300, seed=4), now=now)
    assert a.truth() == b.truth()
    for tid in (1, 18, 42, 150, 300):
        assert a.render_ticket(tid, "http://x") == b.render_ticket(tid, "http://x")
        for k in range(a.comment_count(tid)):
            assert a.render_comment(tid, k, "http://x", include_inline=True) == b.render_comment(
                tid, k, "http://x", include_inline=True
            )
    assert [a.render_ticket(t, "") for t in range(1, 40)] != [c.render_ticket(t, "") for t in range(1, 40)]


def test_generated_account_has_every_kind_of_object() -> None:
    """Every kind of object a real account holds is there, even on a small account."""
    account = Account(SimulatorConfig(tickets=400, seed=7), now=1_750_000_000.0)
    truth = account.truth()
    assert all(
        truth["tickets_by_status"][s] > 0 for s in ("new", "open", "pending", "hold", "solved", "closed")
    )
    assert truth["archived_tickets"] > 0 and truth["deleted"]["ticket"] > 0 and truth["deleted"]["user"] > 0
    users = [account.render_user(u, "") for u in account.listable_user_ids().ids]
    assert {u["role"] for u in users if u} == {"end-user", "agent", "admin"}
    assert any(u and u["email"] is None for u in users) and any(u and u["suspended"] for u in users)
    heavy = [t for t in range(1, 401) if account.comment_count(t) > 100]
    assert heavy and all(101 <= account.comment_count(t) <= 250 for t in heavy)
    kinds: Counter[str] = Counter()
    malware = inline = private = html_rich = 0
    for tid in range(1, 401):
        for k in range(account.comment_count(tid)):
            c = account.render_comment(tid, k, "", include_inline=True)
            private += not c["public"]
            html_rich += "<ul>" in c["html_body"]
            for a in c["attachments"]:
                kinds[a["content_type"]] += 1
                inline += a["inline"]
                malware += a["malware_scan_result"] == "malware_found"
    assert {"application/pdf", "image/png", "text/plain", "text/csv"} <= set(kinds)
    assert inline > 0 and malware > 0 and private > 0 and html_rich > 0
    phrases = {p["phrase"] for p in truth["phrases"]}
    assert "Refund request for order 12345" in phrases and len(phrases) == 5


# ------------------------------------------------------------------------ lists and pagination


def test_cursor_pagination_walks_every_listable_ticket_once(
    simulator: SimulatorHandle, admin: httpx.Client
) -> None:
    truth = simulator.truth()
    tickets = walk_cursor(admin, "/api/v2/tickets.json", "tickets", **{"page[size]": 37})
    ids = [t["id"] for t in tickets]
    assert ids == sorted(set(ids))
    # "List Tickets": archived tickets are not included; deleted ones never are.
    assert len(ids) == truth["ticket"] - truth["archived_tickets"]
    assert all(t["url"] == f"{simulator.base_url}/api/v2/tickets/{t['id']}.json" for t in tickets)


def test_cursor_links_go_back_and_forth(admin: httpx.Client) -> None:
    first = get_ok(admin, "/api/v2/users.json", **{"page[size]": 5})
    second = get_ok(admin, first["links"]["next"])
    back = get_ok(admin, second["links"]["prev"])
    assert [u["id"] for u in back["users"]] == [u["id"] for u in first["users"]]
    assert second["users"][0]["id"] > first["users"][-1]["id"]
    assert first["meta"]["has_more"] is True


def test_bad_cursor_and_page_size_are_400(admin: httpx.Client) -> None:
    bad = admin.get("/api/v2/tickets.json", params={"page[size]": 10, "page[after]": "not-a-cursor"})
    assert bad.status_code == 400 and bad.json() == BAD_CURSOR
    big = admin.get("/api/v2/tickets.json", params={"page[size]": 101})
    assert big.status_code == 400 and big.json()["errors"][0]["code"] == "InvalidPaginationParameter"
    both = admin.get("/api/v2/tickets.json", params={"page[after]": "x", "page[before]": "y"})
    assert both.status_code == 400


def test_offset_pagination_counts_and_links(simulator: SimulatorHandle, admin: httpx.Client) -> None:
    truth = simulator.truth()
    page1 = get_ok(admin, "/api/v2/users.json", per_page=30)
    assert page1["count"] == truth["user"] and len(page1["users"]) == 30
    assert page1["previous_page"] is None
    page2 = get_ok(admin, page1["next_page"])
    assert parse_qs(urlsplit(page1["next_page"]).query)["page"] == ["2"]
    assert page2["previous_page"] is not None
    seen = [u["id"] for u in page1["users"]]
    data = page2
    while True:
        seen += [u["id"] for u in data["users"]]
        if data["next_page"] is None:
            break
        data = get_ok(admin, data["next_page"])
    assert len(seen) == len(set(seen)) == truth["user"]
    clamped = get_ok(admin, "/api/v2/tickets.json", per_page=500)
    assert clamped["count"] > 100 and len(clamped["tickets"]) == 100


def test_offset_pagination_stops_after_page_100(admin: httpx.Client) -> None:
    """Zendesk ("New limits for offset-based pagination"): past 100 pages / 10,000 records, 400."""
    assert admin.get("/api/v2/users.json", params={"page": 100}).status_code == 200
    deep = admin.get("/api/v2/users.json", params={"page": 101})
    assert deep.status_code == 400
    assert deep.json()["errors"][0]["code"] == "InvalidPaginationDepth"
    assert "Cursor Pagination" in deep.json()["errors"][0]["detail"]
    assert admin.get("/api/v2/users.json", params={"page": 101, "per_page": 10}).status_code == 400


def test_archived_and_deleted_tickets(simulator: SimulatorHandle, admin: httpx.Client) -> None:
    exported = export_all(admin, "/api/v2/incremental/tickets/cursor.json", "tickets", start_time=0)
    listed = {t["id"] for t in walk_cursor(admin, "/api/v2/tickets.json", "tickets", **{"page[size]": 100})}
    archived = [t for t in exported if t["status"] == "closed" and t["id"] not in listed]
    deleted = [t for t in exported if t["status"] == "deleted"]
    assert archived and deleted
    # Show Ticket still serves an archived ticket; a deleted one is gone.
    assert get_ok(admin, f"/api/v2/tickets/{archived[0]['id']}.json")["ticket"]["status"] == "closed"
    gone = admin.get(f"/api/v2/tickets/{deleted[0]['id']}.json")
    assert gone.status_code == 404 and gone.json() == NOT_FOUND
    listed_deleted = walk_cursor(
        admin, "/api/v2/deleted_tickets.json", "deleted_tickets", **{"page[size]": 50}
    )
    assert {d["id"] for d in listed_deleted} == {t["id"] for t in deleted}
    assert all(
        d["previous_state"] in ("new", "open", "pending", "hold", "solved", "closed") for d in listed_deleted
    )


def test_show_many_leaves_out_unknown_ids_and_caps_at_100(admin: httpx.Client) -> None:
    data = get_ok(admin, "/api/v2/tickets/show_many.json", ids="1,2,3,999999")
    assert [t["id"] for t in data["tickets"]] == [1, 2, 3]
    too_many = admin.get("/api/v2/users/show_many.json", params={"ids": ",".join(str(i) for i in range(101))})
    assert too_many.status_code == 400 and "100" in too_many.json()["description"]


def test_roles_and_error_bodies(simulator: SimulatorHandle) -> None:
    with httpx.Client(base_url=simulator.base_url, timeout=30) as anonymous:
        assert anonymous.get("/api/v2/tickets.json").json() == {"error": "Couldn't authenticate you"}
    with api(simulator, "enduser@example.com") as enduser:
        refused = enduser.get("/api/v2/tickets.json")
        assert refused.status_code == 403 and refused.json() == FORBIDDEN
        assert get_ok(enduser, "/api/v2/users/me.json")["user"]["email"] == "enduser@example.com"
    with api(simulator, simulator.agent_email) as agent:
        assert agent.get("/api/v2/tickets.json").status_code == 200
        export = get(agent, "/api/v2/incremental/tickets/cursor.json", start_time=0)
        assert export.status_code == 403 and export.json() == FORBIDDEN
    with api(simulator) as admin:
        missing = admin.get("/api/v2/users/1.json")
        assert missing.status_code == 404 and missing.json() == NOT_FOUND


# ------------------------------------------------------------------------ comments


def test_comments_of_a_heavy_ticket_both_paginations(admin: httpx.Client) -> None:
    heavy = 18  # every 200th ticket from the 18th carries 101-250 comments
    by_cursor = walk_cursor(
        admin, f"/api/v2/tickets/{heavy}/comments.json", "comments", **{"page[size]": 100}
    )
    assert 101 <= len(by_cursor) <= 250
    by_offset: list[dict[str, Any]] = []
    data = get_ok(admin, f"/api/v2/tickets/{heavy}/comments.json")
    while True:
        by_offset += data["comments"]
        if not data["next_page"]:
            break
        data = get_ok(admin, data["next_page"])
    assert by_cursor == by_offset
    stamps = [c["created_at"] for c in by_cursor]
    assert stamps == sorted(stamps)
    newest_first = get_ok(admin, f"/api/v2/tickets/{heavy}/comments.json", sort_order="desc", per_page=5)
    assert [c["id"] for c in newest_first["comments"]] == [c["id"] for c in by_cursor[::-1][:5]]


def test_inline_images_only_on_request_and_users_sideload(
    simulator: SimulatorHandle, admin: httpx.Client
) -> None:
    # the same account, generated in-process from the shared simulator's flags, says where to look
    account = Account(SimulatorConfig(tickets=simulator.flags["tickets"], seed=simulator.flags["seed"]))
    with_inline = next(
        tid
        for tid in range(1, 201)
        if account.ticket_state(tid) in ("live", "archived")
        and any(
            a["inline"]
            for k in range(account.comment_count(tid))
            for a in account.render_comment(tid, k, "", include_inline=True)["attachments"]
        )
    )
    url = f"/api/v2/tickets/{with_inline}/comments.json"
    plain = get_ok(admin, url)["comments"]
    rich = get_ok(admin, url, include_inline_images="true", include="users")
    assert not any(a["inline"] for c in plain for a in c["attachments"])
    inline = [(c, a) for c in rich["comments"] for a in c["attachments"] if a["inline"]]
    assert inline
    for comment, attachment in inline:
        assert f'src="{attachment["content_url"]}"' in comment["html_body"]
    assert {u["id"] for u in rich["users"]} == {c["author_id"] for c in rich["comments"]}


# ------------------------------------------------------------------------ incremental exports


def test_ticket_export_counts_match_truth(simulator: SimulatorHandle, admin: httpx.Client) -> None:
    truth = simulator.truth()
    every = export_all(admin, "/api/v2/incremental/tickets/cursor.json", "tickets", start_time=0, per_page=70)
    live = export_all(
        admin, "/api/v2/incremental/tickets/cursor.json", "tickets", start_time=0, exclude_deleted="true"
    )
    assert len(every) == len({t["id"] for t in every}) == truth["ticket"] + truth["deleted"]["ticket"]
    assert Counter(t["status"] for t in live) == Counter(truth["tickets_by_status"])
    stamps = [(t["generated_timestamp"], t["id"]) for t in every]
    assert stamps == sorted(stamps)
    # "Incremental Ticket Export, Time Based": filtered on generated_timestamp, not updated_at
    assert any(
        t["generated_timestamp"] > calendar.timegm(time.strptime(t["updated_at"], "%Y-%m-%dT%H:%M:%SZ"))
        for t in every
    )


def test_export_sideloads(admin: httpx.Client) -> None:
    data = get_ok(
        admin,
        "/api/v2/incremental/tickets/cursor.json",
        start_time=0,
        per_page=20,
        include="users,groups,organizations",
    )
    user_ids = {u["id"] for u in data["users"]}
    assert all(t["requester_id"] in user_ids for t in data["tickets"])
    assert {t["group_id"] for t in data["tickets"] if t["group_id"]} <= {g["id"] for g in data["groups"]}
    orgs = {o["id"] for o in data["organizations"]}
    assert {t["organization_id"] for t in data["tickets"] if t["organization_id"]} <= orgs


def test_start_time_rules(simulator: SimulatorHandle, admin: httpx.Client) -> None:
    missing = get(admin, "/api/v2/incremental/tickets/cursor.json")
    assert missing.status_code == 400 and "start_time" in missing.json()["description"]
    recent = get(admin, "/api/v2/incremental/organizations.json", start_time=int(time.time()))
    assert recent.status_code == 422
    assert recent.json() == {
        "error": "InvalidValue",
        "description": "Too recent start_time. Use a start_time older than 1 minute",
    }
    minute = simulator.flags["minute_seconds"]
    ok = get(admin, "/api/v2/incremental/users/cursor.json", start_time=int(time.time() - minute - 1))
    assert ok.status_code == 200 and ok.json()["end_of_stream"] is True
    bad = get(admin, "/api/v2/incremental/tickets/cursor.json", cursor="bm9wZQ==")
    assert bad.status_code == 400


def test_time_based_export_repeats_same_second_items(admin: httpx.Client) -> None:
    """Items sharing a timestamp may exceed per_page and repeat on the next page ("Incremental
    Exports", per_page note); walking the pages and de-duplicating yields every ticket once."""
    everything = export_all(admin, "/api/v2/incremental/tickets/cursor.json", "tickets", start_time=0)
    shared = Counter(t["generated_timestamp"] for t in everything)
    crowded = min(ts for ts, n in shared.items() if n > 3)  # a bulk update stamped these together
    wanted = {t["id"] for t in everything if t["generated_timestamp"] >= crowded - 86400}
    # start a day before the crowded second, with pages of 3, so the walk stays short
    start, pages, seen, repeats, oversized = crowded - 86400, 0, [], 0, 0
    while True:
        data = get_ok(admin, "/api/v2/incremental/tickets.json", start_time=start, per_page=3)
        pages += 1
        ids = [t["id"] for t in data["tickets"]]
        repeats += len(set(ids) & set(seen))
        oversized += data["count"] > 3
        seen += ids
        assert data["count"] == len(ids) and data["end_time"] >= start
        assert parse_qs(urlsplit(data["next_page"]).query)["start_time"] == [str(data["end_time"])]
        if data["end_of_stream"]:
            break
        start = data["end_time"]
        assert pages < 500
    assert set(seen) == wanted
    assert repeats > 0 and oversized > 0


def test_user_and_organization_exports(simulator: SimulatorHandle, admin: httpx.Client) -> None:
    truth = simulator.truth()
    users = export_all(admin, "/api/v2/incremental/users/cursor.json", "users", start_time=0, per_page=100)
    assert len(users) == truth["user"] + truth["deleted"]["user"]
    assert sum(not u["active"] for u in users) == truth["deleted"]["user"]
    orgs: dict[int, dict[str, Any]] = {}
    start = 0
    while True:
        data = get_ok(admin, "/api/v2/incremental/organizations.json", start_time=start, per_page=5)
        orgs.update((o["id"], o) for o in data["organizations"])
        if data["end_of_stream"]:
            break
        start = data["end_time"]
    assert len(orgs) == truth["organization"] + truth["deleted"]["organization"]
    assert sum(o["deleted_at"] is not None for o in orgs.values()) == truth["deleted"]["organization"]


def test_ticket_events_carry_every_comment(simulator: SimulatorHandle, admin: httpx.Client) -> None:
    truth = simulator.truth()
    deleted = {t["id"] for t in get_ok(admin, "/api/v2/deleted_tickets.json")["deleted_tickets"]}
    comments: dict[int, dict[str, Any]] = {}
    start = 0
    while True:
        data = get_ok(
            admin, "/api/v2/incremental/ticket_events.json", start_time=start, include="comment_events"
        )
        for event in data["ticket_events"]:
            for child in event["child_events"]:
                if child["event_type"] == "Comment" and event["ticket_id"] not in deleted:
                    assert {
                        "id",
                        "author_id",
                        "body",
                        "html_body",
                        "public",
                        "attachments",
                        "audit_id",
                        "created_at",
                    } <= set(child)
                    comments[child["id"]] = child
        if data["end_of_stream"]:
            break
        start = data["end_time"]
    assert len(comments) == truth["comment"]
    attachments = sum(len(c["attachments"]) for c in comments.values())
    assert attachments == truth["attachment"]


# ------------------------------------------------------------------------ attachments


def _attachments(admin: httpx.Client) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for tid in range(1, 80):
        response = admin.get(f"/api/v2/tickets/{tid}/comments.json", params={"include_inline_images": "true"})
        if response.status_code == 200:
            found += [a for c in response.json()["comments"] for a in c["attachments"]]
    return found


def test_attachment_download_redirects_to_another_host(
    simulator: SimulatorHandle, admin: httpx.Client
) -> None:
    attachments = _attachments(admin)
    by_type = {a["content_type"]: a for a in attachments if a["malware_scan_result"] != "malware_found"}
    magic = {"application/pdf": b"%PDF-", "image/png": b"\x89PNG\r\n\x1a\n"}
    for ctype in ("application/pdf", "image/png", "text/plain", "text/csv"):
        attachment = by_type[ctype]
        assert attachment["content_url"].startswith(f"{simulator.base_url}/attachments/token/")
        redirect = admin.get(attachment["content_url"])
        assert redirect.status_code == 302
        location = redirect.headers["location"]
        assert urlsplit(location).hostname not in (None, urlsplit(simulator.base_url).hostname)
        with httpx.Client(timeout=30) as storage:  # no credentials for the storage host
            download = storage.get(location)
            assert download.status_code == 200
            assert download.headers["content-type"].startswith(ctype)
            assert len(download.content) == attachment["size"]
            assert download.content.startswith(magic.get(ctype, b""))
            leaked = storage.get(location, headers={"Authorization": simulator.basic_auth_header()})
            assert leaked.status_code == 400 and b"Only one auth mechanism allowed" in leaked.content
            tampered = storage.get(location.replace("X-Amz-Signature=", "X-Amz-Signature=0"))
            assert tampered.status_code == 403
            same_host = storage.get(
                location.replace(urlsplit(location).netloc, urlsplit(simulator.base_url).netloc)
            )
            assert same_host.status_code == 403


def test_attachment_download_needs_credentials_and_refuses_malware(
    simulator: SimulatorHandle, admin: httpx.Client
) -> None:
    attachments = _attachments(admin)
    with httpx.Client(timeout=30) as anonymous:
        assert anonymous.get(attachments[0]["content_url"]).status_code == 401
    malware = [a for a in attachments if a["malware_scan_result"] == "malware_found"]
    assert malware
    refused = admin.get(malware[0]["content_url"])
    assert refused.status_code == 403 and "malware" in refused.json()["description"]


# ------------------------------------------------------------------------ writes


@pytest.fixture(scope="module")
def writable() -> Iterator[SimulatorHandle]:
    with running_simulator(tickets=120, seed=21, minute_seconds=1) as sim:
        yield sim


def wait_a_minute(sim: SimulatorHandle) -> None:
    """Incremental exports hold back the most recent (simulated) minute."""
    time.sleep(float(sim.flags["minute_seconds"]) + 1.1)


def test_ticket_writes_show_in_next_export(writable: SimulatorHandle) -> None:
    with api(writable) as admin:
        first = export_all(admin, "/api/v2/incremental/tickets/cursor.json", "tickets", start_time=0)
        cursor = get_ok(admin, "/api/v2/incremental/tickets/cursor.json", start_time=0, per_page=1000)[
            "after_cursor"
        ]
        before = writable.truth()
        created = admin.post(
            "/api/v2/tickets.json",
            json={
                "ticket": {
                    "subject": "Printer on fire",
                    "priority": "urgent",
                    "comment": {"body": "The   smoke is   very colorful.\n\n\nHelp!"},
                }
            },
        )
        assert created.status_code == 201, created.text
        ticket = created.json()["ticket"]
        assert created.headers["location"] == ticket["url"]
        assert ticket["status"] == "new" and ticket["description"] == "The smoke is very colorful.\nHelp!"
        target = next(t for t in first if t["status"] in ("open", "pending") and t["id"] != ticket["id"])
        updated = admin.put(
            f"/api/v2/tickets/{target['id']}.json",
            json={"ticket": {"status": "solved", "comment": {"body": "Fixed it.", "public": False}}},
        )
        assert updated.status_code == 200, updated.text
        assert updated.json()["ticket"]["generated_timestamp"] > target["generated_timestamp"]
        closed = next(t for t in first if t["status"] == "closed")
        refused = admin.put(f"/api/v2/tickets/{closed['id']}.json", json={"ticket": {"subject": "x"}})
        assert refused.status_code == 422 and refused.json()["error"] == "RecordInvalid"
        victim = next(
            t for t in first if t["status"] == "new" and t["id"] not in (ticket["id"], target["id"])
        )
        victim_comments = len(
            walk_cursor(
                admin, f"/api/v2/tickets/{victim['id']}/comments.json", "comments", **{"page[size]": 100}
            )
        )
        assert admin.delete(f"/api/v2/tickets/{victim['id']}.json").status_code == 204
        assert admin.get(f"/api/v2/tickets/{victim['id']}.json").status_code == 404

        wait_a_minute(writable)
        changed = export_all(admin, f"/api/v2/incremental/tickets/cursor.json?cursor={cursor}", "tickets")
        statuses = {t["id"]: t["status"] for t in changed}
        assert statuses == {ticket["id"]: "new", target["id"]: "solved", victim["id"]: "deleted"}
        comments = get_ok(admin, f"/api/v2/tickets/{target['id']}/comments.json")["comments"]
        assert comments[-1]["body"] == "Fixed it." and comments[-1]["public"] is False

    after = writable.truth()
    assert after["ticket"] == before["ticket"]  # one created, one deleted
    assert after["deleted"]["ticket"] == before["deleted"]["ticket"] + 1
    # the new ticket's description and the update's note arrive; the deleted ticket's leave
    assert after["comment"] == before["comment"] + 2 - victim_comments
    assert after["tickets_by_status"]["solved"] == before["tickets_by_status"]["solved"] + 1


def test_validation_errors_name_the_problem(writable: SimulatorHandle) -> None:
    with api(writable) as admin:
        no_comment = admin.post("/api/v2/tickets.json", json={"ticket": {"subject": "No body"}})
        assert no_comment.status_code == 422
        assert no_comment.json()["details"]["description"][0]["description"] == "Description: cannot be blank"
        wrong_shape = admin.post("/api/v2/tickets.json", json={"subject": "flat"})
        assert wrong_shape.status_code == 422 and '"ticket"' in wrong_shape.text
        not_json = admin.post(
            "/api/v2/tickets.json", content=b"{", headers={"Content-Type": "application/json"}
        )
        assert not_json.status_code == 400
        made = admin.post("/api/v2/tickets.json", json={"ticket": {"comment": {"html_body": "<p>Hi</p>"}}})
        assert made.status_code == 201
        bad_status = admin.put(made.json()["ticket"]["url"], json={"ticket": {"status": "archived"}})
        assert bad_status.status_code == 422 and "status" in bad_status.json()["details"]


def test_user_and_organization_writes(writable: SimulatorHandle) -> None:
    with api(writable) as admin:
        cursor = get_ok(admin, "/api/v2/incremental/users/cursor.json", start_time=0)["after_cursor"]
        made = admin.post(
            "/api/v2/users.json", json={"user": {"name": "Nina New", "email": "nina@example.net"}}
        )
        assert made.status_code == 201, made.text
        nina = made.json()["user"]
        dup = admin.post("/api/v2/users.json", json={"user": {"name": "Twin", "email": "NINA@example.net"}})
        assert dup.status_code == 422 and dup.json()["details"]["email"][0]["error"] == "DuplicateValue"
        renamed = admin.put(f"/api/v2/users/{nina['id']}.json", json={"user": {"name": "Nina Renamed"}})
        assert renamed.json()["user"]["name"] == "Nina Renamed"
        gone = admin.delete(f"/api/v2/users/{nina['id']}.json")
        assert gone.status_code == 200 and gone.json()["user"]["active"] is False
        deleted_ids = {
            u["id"]
            for u in walk_cursor(admin, "/api/v2/deleted_users.json", "deleted_users", **{"page[size]": 100})
        }
        assert nina["id"] in deleted_ids

        org = admin.post("/api/v2/organizations.json", json={"organization": {"name": "Fresh Org"}})
        assert org.status_code == 201
        again = admin.post("/api/v2/organizations.json", json={"organization": {"name": "fresh org"}})
        assert again.status_code == 422
        org_id = org.json()["organization"]["id"]
        assert admin.delete(f"/api/v2/organizations/{org_id}.json").status_code == 204
        assert admin.get(f"/api/v2/organizations/{org_id}.json").status_code == 404

        wait_a_minute(writable)
        changed = export_all(admin, f"/api/v2/incremental/users/cursor.json?cursor={cursor}", "users")
        assert [(u["id"], u["name"], u["active"]) for u in changed] == [(nina["id"], "Nina Renamed", False)]
        orgs = get_ok(admin, "/api/v2/incremental/organizations.json", start_time=int(time.time()) - 120)
        assert [o["deleted_at"] is not None for o in orgs["organizations"] if o["id"] == org_id] == [True]

    with api(writable, writable.agent_email) as agent:
        assert agent.post("/api/v2/users.json", json={"user": {"name": "X"}}).status_code == 403
        assert agent.delete("/api/v2/tickets/5.json").status_code == 403


def test_uploads_attach_to_a_new_comment(writable: SimulatorHandle) -> None:
    payload = b"col_a,col_b\n1,2\n"
    with api(writable) as admin:
        up = admin.post(
            "/api/v2/uploads.json",
            params={"filename": "data.csv"},
            content=payload,
            headers={"Content-Type": "text/csv"},
        )
        assert up.status_code == 201, up.text
        token = up.json()["upload"]["token"]
        made = admin.post(
            "/api/v2/tickets.json",
            json={
                "ticket": {"subject": "With file", "comment": {"body": "See attached", "uploads": [token]}}
            },
        )
        assert made.status_code == 201
        comments = get_ok(admin, f"/api/v2/tickets/{made.json()['ticket']['id']}/comments.json")["comments"]
        attachment = comments[0]["attachments"][0]
        assert attachment["file_name"] == "data.csv" and attachment["size"] == len(payload)
        location = admin.get(attachment["content_url"]).headers["location"]
    with httpx.Client(timeout=30) as storage:
        assert storage.get(location).content == payload


@pytest.mark.parametrize(
    "name",
    [
        "bad\x00name.txt",
        "line\r\nbreak.txt",
        "tab\tand\x7fdel.txt",
        "../../../etc/passwd",
        "..",
        "a/b/../c.txt",
    ],
)
def test_upload_names_never_break_or_steer_the_download(writable: SimulatorHandle, name: str) -> None:
    """ "Upload Files": the file name is the client's; a control character must not break the
    storage response, and ``../`` must not change the storage path the redirect points at."""
    payload = b"payload for " + name.encode("unicode_escape")
    with api(writable) as admin:
        up = admin.post(
            "/api/v2/uploads.json",
            params={"filename": name},
            content=payload,
            headers={"Content-Type": "text/plain"},
        )
        assert up.status_code == 201, up.text
        made = admin.post(
            "/api/v2/tickets.json",
            json={
                "ticket": {
                    "subject": "Odd name",
                    "comment": {"body": "File", "uploads": [up.json()["upload"]["token"]]},
                }
            },
        )
        tid = made.json()["ticket"]["id"]
        attachment = get_ok(admin, f"/api/v2/tickets/{tid}/comments.json")["comments"][0]["attachments"][0]
        assert attachment["file_name"] == name  # stored as given
        token = urlsplit(attachment["content_url"]).path.split("/")[3]
        assert parse_qs(urlsplit(attachment["content_url"]).query)["name"] == [name]
        redirect = admin.get(attachment["content_url"])
        assert redirect.status_code == 302
        location = redirect.headers["location"]
    path = urlsplit(location).path
    assert path.startswith(f"/attachment-storage/{token}/") and path.count("/") == 3, path
    assert ".." not in path.split("/")
    with httpx.Client(timeout=30) as storage:
        got = storage.get(location)
    assert got.status_code == 200 and got.content == payload
    disposition = got.headers["content-disposition"]
    assert disposition.startswith("attachment;") and all(32 <= ord(c) < 127 for c in disposition)
    assert unquote(disposition.split("filename*=UTF-8''", 1)[1]) == name  # RFC 8187: the exact name


# ------------------------------------------------------------------------ scale


@pytest.mark.slow
def test_one_hundred_thousand_tickets_are_served() -> None:
    started = time.perf_counter()
    with running_simulator(tickets=100_000, seed=5, minute_seconds=1, no_rate_limits=True) as sim:
        elapsed = time.perf_counter() - started
        rss = psutil.Process(sim.process.pid).memory_info().rss
        truth = sim.truth()
        assert truth["ticket"] + truth["deleted"]["ticket"] == 100_000
        assert 450_000 <= truth["comment"] <= 560_000
        with api(sim) as admin:
            page = get_ok(admin, "/api/v2/incremental/tickets/cursor.json", start_time=0)
            assert len(page["tickets"]) == 1000
            listed = get_ok(admin, "/api/v2/tickets.json", **{"page[size]": 100})
            assert len(listed["tickets"]) == 100 and listed["meta"]["has_more"] is True
    # Start-up time and memory are figures for bench/, not assertions: printed for the record.
    print(f"100k tickets: ready in {elapsed:.1f} s, RSS {rss / 2**20:.0f} MiB")


# ------------------------------------------------------------------------ TLS


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for both loopback names: the API host and the storage host."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = directory / "cert.pem", directory / "key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return certfile, keyfile


def test_https_with_a_certificate(tmp_path: Path) -> None:
    certfile, keyfile = self_signed_certificate(tmp_path)
    with running_simulator(tickets=60, seed=2, ssl_certfile=certfile, ssl_keyfile=keyfile) as sim:
        assert sim.base_url.startswith("https://127.0.0.1:")
        with httpx.Client(
            base_url=sim.base_url, headers={"Authorization": sim.basic_auth_header()}, verify=sim.verify
        ) as admin:
            comments = [
                a
                for tid in range(1, 30)
                for c in get(admin, f"/api/v2/tickets/{tid}/comments.json").json().get("comments", [])
                for a in c["attachments"]
                if a["malware_scan_result"] != "malware_found"
            ]
            assert comments[0]["content_url"].startswith(sim.base_url)
            location = admin.get(comments[0]["content_url"]).headers["location"]
        assert location.startswith("https://localhost:")
        with httpx.Client(verify=sim.verify) as storage:
            assert len(storage.get(location).content) == comments[0]["size"]
