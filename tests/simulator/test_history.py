"""One history per ticket: audits, the event export, ``updated_at`` and comments agree.

api-reference.md, "Ticket Audits": "Audits are a read-only history of all updates to a ticket
... Each audit represents a single update to the ticket. An update can consist of one or more
events" (field changes, comments, tags, notifications). The checks replay each ticket's
audits the way a client rebuilding a ticket from its history would, and compare the result
with the ticket, its comments and the ticket event export ("Incremental Ticket Event
Export", with and without the ``comment_events`` sideload).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from zendesk_simulator.config import SimulatorConfig
from zendesk_simulator.data import Account
from zendesk_simulator.testing import SimulatorHandle

BASE = "http://sim.test"


@pytest.fixture(scope="module")
def account() -> Account:
    return Account(SimulatorConfig(tickets=400, seed=11))


def replay(audits: list[dict[str, Any]]) -> dict[str, Any]:
    """The ticket state the Create and Change events of ``audits`` add up to."""
    state: dict[str, Any] = {
        "assignee_id": None,
        "group_id": None,
        "tags": [],
        "priority": None,
        "type": None,
        "satisfaction_score": "unoffered",  # every ticket starts unoffered; no Create for it
    }
    for audit in audits:
        for event in audit["events"]:
            if event["type"] == "Create":
                state[event["field_name"]] = event["value"]
            elif event["type"] == "Change":
                assert state.get(event["field_name"]) == event["previous_value"], (audit["id"], event)
                state[event["field_name"]] = event["value"]
    return state


def test_replaying_the_audits_gives_the_ticket(account: Account) -> None:
    checked = 0
    for tid in range(1, account.n_tickets_generated + 1):
        ticket = account.render_ticket(tid, BASE)
        assert ticket is not None
        audits = [a for a, _c in account.audits.for_ticket(tid, BASE)]
        assert audits[0]["created_at"] == ticket["created_at"]
        assert audits[-1]["created_at"] == ticket["updated_at"]
        assert [a["created_at"] for a in audits] == sorted(a["created_at"] for a in audits)
        state = replay(audits)
        if ticket["status"] != "deleted":
            assert state["status"] == ticket["status"]
            checked += 1
        for name in ("priority", "type", "tags", "assignee_id", "group_id", "requester_id", "subject"):
            assert state[name] == ticket[name], (tid, name)
        for field in ticket["custom_fields"]:
            assert state.get(str(field["id"])) == field["value"]
        assert state.get("satisfaction_score", "unoffered") == ticket["satisfaction_rating"]["score"]
        ratings = [e for a in audits for e in a["events"] if e["type"] == "SatisfactionRating"]
        if "id" in ticket["satisfaction_rating"]:
            assert [(e["score"], e["body"]) for e in ratings] == [
                (ticket["satisfaction_rating"]["score"], ticket["satisfaction_rating"]["comment"])
            ]
        else:
            assert ratings == []
        followers = [e for a in audits for e in a["events"] if e["type"] == "FollowerChange"]
        assert len(followers) == len(ticket["follower_ids"])
    assert checked > 300


def test_comments_are_the_comment_events_of_the_audits(account: Account) -> None:
    for tid in range(1, account.n_tickets_generated + 1):
        audits = [a for a, _c in account.audits.for_ticket(tid, BASE)]
        in_audits = [(e, a) for a in audits for e in a["events"] if e["type"] == "Comment"]
        comments = [
            account.render_comment(tid, k, BASE, include_inline=True)
            for k in range(account.comment_count(tid))
        ]
        assert [e["id"] for e, _a in in_audits] == [c["id"] for c in comments]
        for (event, audit), comment in zip(in_audits, comments, strict=True):
            assert comment["audit_id"] == audit["id"]
            assert comment["created_at"] == audit["created_at"]
            assert (event["body"], event["public"], event["author_id"]) == (
                comment["body"],
                comment["public"],
                comment["author_id"],
            )
        ticket = account.render_ticket(tid, BASE)
        assert ticket is not None and comments[0]["body"] == ticket["description"]


def test_the_event_export_holds_every_audit_once(account: Account) -> None:
    index = list(account.events_index().iter_after((-1, 0)))
    assert len(index) == len({audit_id for _ts, audit_id in index}) == account.truth()["ticket_event"]
    by_ticket: Counter[int] = Counter()
    comment_children = 0
    for ts, audit_id in index[:3000]:
        event = account.render_event(audit_id, BASE, comment_events=True)
        assert event is not None and event["timestamp"] == ts and event["event_type"] == "Audit"
        by_ticket[event["ticket_id"]] += 1
        for child in event["child_events"]:
            assert {"id", "event_type"} <= set(child)
            if child["event_type"] == "Comment":
                comment_children += 1
                assert child["audit_id"] == audit_id and "body" in child
        plain = account.render_event(audit_id, BASE, comment_events=False)
        assert plain is not None
        for child in plain["child_events"]:
            assert "body" not in child or child["event_type"] != "Comment"
    assert comment_children > 0
    for tid, n in list(by_ticket.items())[:50]:
        assert n <= account.audits.count_for_ticket(tid)


def test_the_event_mix_is_mostly_not_comments(account: Account) -> None:
    """Most audits of a real account hold no comment (notifications, field edits, automations)."""
    kinds: Counter[str] = Counter()
    audits = 0
    with_comment = 0
    automated = 0
    for tid in range(1, account.n_tickets_generated + 1):
        for audit, comment in account.audits.for_ticket(tid, BASE):
            audits += 1
            with_comment += comment is not None
            automated += audit["author_id"] == -1
            kinds.update(e["type"] for e in audit["events"])
    assert audits == account.truth()["ticket_event"]
    assert 0.4 < with_comment / audits < 0.55, with_comment / audits
    assert automated / audits > 0.05
    for kind in ("Create", "Change", "Comment", "Notification", "SatisfactionRating", "AgentMacroReference"):
        assert kinds[kind] > 0, kind
    assert kinds["Notification"] > kinds["Comment"] / 2


def test_histories_are_deterministic() -> None:
    config = SimulatorConfig(tickets=3000, seed=4)
    a, b = Account(config, now=1_790_000_000), Account(config, now=1_790_000_000)
    index = list(a.events_index().iter_after((-1, 0)))
    assert index == list(b.events_index().iter_after((-1, 0)))
    assert [x for x, _ in a.audits.for_ticket(77, BASE)] == [x for x, _ in b.audits.for_ticket(77, BASE)]


def test_the_event_export_draws_each_ticket_once_and_says_what_each_audit_alone_says() -> None:
    """The export lists audits by time, so a ticket's audits lie far apart in it; drawing the
    ticket's history once for all of them must give exactly the items drawn one by one."""
    from cachetools import LRUCache

    config = SimulatorConfig(tickets=300, seed=5)
    streamed_account, alone_account = Account(config, now=1_790_000_000), Account(config, now=1_790_000_000)
    renderer = streamed_account.audits
    renderer._cache = LRUCache(maxsize=1)  # as at 100,000 tickets: histories long gone by the next audit
    drawn: list[int] = []
    draw = renderer._draw

    def counting_draw(i: int, base: str) -> Any:
        drawn.append(i)
        return draw(i, base)

    renderer._draw = counting_draw  # type: ignore[method-assign]
    ids = [audit_id for _, audit_id in streamed_account.events_index().iter_after((-1, 0))]
    streamed = [streamed_account.render_event(i, BASE, comment_events=True) for i in ids]
    alone = []
    for i in ids:
        alone_account.audits._export_ahead.clear()
        alone.append(alone_account.render_event(i, BASE, comment_events=True))
    assert streamed == alone
    assert sorted(Counter(drawn).values()) == [1] * 300, "a ticket's history was drawn more than once"


# ------------------------------------------------------------------------ over HTTP


@pytest.fixture(scope="module")
def admin(simulator: SimulatorHandle) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=simulator.base_url, headers={"Authorization": simulator.basic_auth_header()}, timeout=30
    ) as client:
        yield client


def get_ok(client: httpx.Client, url: str, **params: Any) -> Any:
    for _ in range(20):
        response = client.get(url, params=params or None)
        if response.status_code != 429:
            assert response.status_code == 200, response.text
            return response.json()
        time.sleep(float(response.headers["retry-after"]))
    raise AssertionError(f"still rate limited: {url}")


def test_list_audits_for_a_ticket_cursor_and_offset(admin: httpx.Client) -> None:
    heavy = 18  # a ticket with 100+ comments, so its audits span pages
    by_cursor: list[dict[str, Any]] = []
    page = get_ok(admin, f"/api/v2/tickets/{heavy}/audits.json", **{"page[size]": 100})
    while True:
        by_cursor += page["audits"]
        if not page["meta"]["has_more"]:
            break
        page = get_ok(admin, page["links"]["next"])
    by_offset: list[dict[str, Any]] = []
    page = get_ok(admin, f"/api/v2/tickets/{heavy}/audits.json")
    while True:
        by_offset += page["audits"]
        if not page["next_page"]:
            break
        page = get_ok(admin, page["next_page"])
    assert len(by_cursor) > 100 and by_cursor == by_offset
    count = get_ok(admin, f"/api/v2/tickets/{heavy}/audits/count.json")["count"]["value"]
    assert count == len(by_cursor)
    comments: list[dict[str, Any]] = []
    page = get_ok(admin, f"/api/v2/tickets/{heavy}/comments.json", **{"page[size]": 100})
    while True:
        comments += page["comments"]
        if not page["meta"]["has_more"]:
            break
        page = get_ok(admin, page["links"]["next"])
    assert [e["id"] for a in by_cursor for e in a["events"] if e["type"] == "Comment"] == [
        c["id"] for c in comments
    ]
    one = by_cursor[5]
    assert get_ok(admin, f"/api/v2/tickets/{heavy}/audits/{one['id']}.json") == {"audit": one}
    assert admin.get(f"/api/v2/tickets/{heavy + 1}/audits/{one['id']}.json").status_code == 404
    ticket = get_ok(admin, f"/api/v2/tickets/{heavy}.json")["ticket"]
    assert by_cursor[-1]["created_at"] == ticket["updated_at"]


def test_archived_tickets_audits_come_unpaginated(admin: httpx.Client, simulator: SimulatorHandle) -> None:
    exported = get_ok(admin, "/api/v2/incremental/tickets/cursor.json", start_time=0)["tickets"]
    listed = {t["id"] for t in get_ok(admin, "/api/v2/tickets.json", per_page=100)["tickets"]}
    listed |= {t["id"] for t in get_ok(admin, "/api/v2/tickets.json", per_page=100, page=2)["tickets"]}
    archived = [t for t in exported if t["status"] == "closed" and t["id"] not in listed]
    assert archived, "the shared account has archived tickets"
    body = get_ok(admin, f"/api/v2/tickets/{archived[0]['id']}/audits.json", per_page=1)
    assert body["next_page"] is None and body["count"] == len(body["audits"]) > 1


def test_list_all_ticket_audits_both_cursor_schemes(admin: httpx.Client, simulator: SimulatorHandle) -> None:
    cbp: list[int] = []
    page = get_ok(admin, "/api/v2/ticket_audits.json", include="users")
    assert "users" in page
    while True:
        cbp += [a["id"] for a in page["audits"]]
        if not page["meta"]["has_more"]:
            break
        page = get_ok(admin, page["links"]["next"])
    legacy: list[int] = []
    page = get_ok(admin, "/api/v2/ticket_audits.json", limit=1000)
    while True:
        legacy += [a["id"] for a in page["audits"]]
        if not page["after_url"]:
            break
        page = get_ok(admin, page["after_url"])
    assert cbp == legacy and len(set(cbp)) == len(cbp)
    # archived and deleted tickets' audits are left out ("List All Ticket Audits")
    truth = simulator.truth()
    assert 0 < len(cbp) < truth["audit"]
    forbidden = httpx.get(
        f"{simulator.base_url}/api/v2/ticket_audits.json",
        headers={"Authorization": simulator.basic_auth_header(simulator.agent_email)},
    )
    assert forbidden.status_code == 403
