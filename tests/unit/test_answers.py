"""Answers read in part (zensync.source.answers): a ticket export page keeps its tickets whole and
only the names of its sideloads; an event page keeps only comment events; an answer whose read
part is not in the documented shape is a clear, non-retried error."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx

from zensync.config import ZendeskConfig
from zensync.source.answers import (
    names_of,
    ticket_events,
    ticket_export,
    ticket_ids,
    ticket_reread,
    user_export,
)
from zensync.zendesk import ApiTokenAuth, BadResponse, ZendeskClient

BASE = "https://acme.zendesk.com"

USER = {
    "id": 370000000001,
    "name": "Vera Tanaka",
    "email": "vera@example.org",
    "role": "end-user",
    "photo": {"content_url": "https://acme.zendesk.com/photos/1.png", "thumbnails": [{"id": 1}]},
    "user_fields": {"plan": "gold"},
    "tags": ["vip"],
}
TICKET = {
    "id": 4886,
    "subject": "Please cancel my subscription",
    "requester_id": 370000000001,
    "organization_id": 360000000001,
    "custom_fields": [{"id": 450000000001, "value": "20072"}],
    "tags": ["product_api"],
    "via": {"channel": "email", "source": {"from": {"address": "vera@example.org"}}},
}
METRIC = {
    "id": 590000004886,
    "ticket_id": 4886,
    "replies": 2,
    "solved_at": "2024-12-05T05:02:44Z",
    "reply_time_in_minutes": {"calendar": 12, "business": 3},
    "full_resolution_time_in_minutes": {"calendar": 1859, "business": 619},
    "agent_wait_time_in_minutes": {"calendar": 0, "business": 0},
    "reopens": 0,
}
COMMENT = {
    "id": 390000023854,
    "type": "Comment",
    "event_type": "Comment",
    "author_id": 370000000001,
    "body": "I tried clearing the cache.",
    "public": True,
    "attachments": [{"id": 1, "file_name": "log.txt"}],
}

VOICE = {"id": 3, "event_type": "VoiceComment", "body": "Call recording", "data": {"x": 1}}
SECOND = {"id": 400005003265, "ticket_id": 4887, "created_at": "2024-12-03T12:44:00Z", "child_events": []}


def export_body(**extra: Any) -> bytes:
    return json.dumps(
        {
            "tickets": [TICKET],
            "users": [USER],
            "groups": [{"id": 3, "name": "Tier 1", "description": "first line"}],
            "organizations": [{"id": 360000000001, "name": "Acme", "domain_names": ["acme.test"]}],
            "metric_sets": [METRIC],
            "after_cursor": "MTc0NzExMDU1NS4wfHwzNDk4fA==",
            "after_url": f"{BASE}/api/v2/incremental/tickets/cursor.json?cursor=x",
            "before_cursor": None,
            "end_of_stream": False,
            **extra,
        }
    ).encode()


def test_a_ticket_export_page_keeps_its_tickets_whole_and_only_the_names_of_its_sideloads() -> None:
    page = ticket_export(export_body())
    assert page["tickets"] == [TICKET]
    assert page["users"] == [{"id": USER["id"], "name": "Vera Tanaka"}]
    assert page["groups"] == [{"id": 3, "name": "Tier 1"}]
    assert page["organizations"] == [{"id": 360000000001, "name": "Acme"}]
    assert page["metric_sets"] == [
        {
            "ticket_id": 4886,
            "reply_time_in_minutes": {"calendar": 12, "business": 3},
            "full_resolution_time_in_minutes": {"calendar": 1859, "business": 619},
            "replies": 2,
            "solved_at": "2024-12-05T05:02:44Z",
        }
    ]
    # What the paging reads: a last page says so with end_of_stream false or true, never absent.
    assert page["after_cursor"] == "MTc0NzExMDU1NS4wfHwzNDk4fA==" and page["end_of_stream"] is False
    assert "before_cursor" not in page
    last = ticket_export(export_body(end_of_stream=True, users=[], metric_sets=None))
    assert last["end_of_stream"] is True and last["users"] == [] and "metric_sets" not in last


def test_a_user_export_page_keeps_its_users_whole_and_only_the_names_of_its_organizations() -> None:
    body = json.dumps(
        {
            "users": [USER, {**USER, "id": 370000000002, "active": False}],
            "organizations": [{"id": 360000000001, "name": "Acme", "domain_names": ["acme.test"]}],
            "after_cursor": "MTc0NzExMDU1NS4wfHwzNDk4fA==",
            "end_of_stream": True,
        }
    ).encode()
    page = user_export(body)
    assert page["users"] == [USER, {**USER, "id": 370000000002, "active": False}]
    assert page["organizations"] == [{"id": 360000000001, "name": "Acme"}]
    assert page["after_cursor"] == "MTc0NzExMDU1NS4wfHwzNDk4fA==" and page["end_of_stream"] is True
    bare = user_export(json.dumps({"users": [], "end_of_stream": True}).encode())
    assert bare == {"users": [], "end_of_stream": True}


def test_a_show_many_answer_keeps_what_names_each_object() -> None:
    tickets = names_of("tickets")(json.dumps({"tickets": [TICKET, {"id": 9, "subject": None}]}).encode())
    assert tickets == {
        "tickets": [
            {"id": 4886, "name": None, "subject": "Please cancel my subscription"},
            {"id": 9, "name": None, "subject": None},
        ]
    }
    users = names_of("users")(json.dumps({"users": [USER], "next_page": None}).encode())
    assert users == {"users": [{"id": USER["id"], "name": "Vera Tanaka", "subject": None}]}
    assert names_of("organizations")(b"{}") == {}
    with pytest.raises(ValueError):
        names_of("users")(json.dumps({"users": ["Vera Tanaka"]}).encode())


def test_a_re_read_page_reads_whole_only_the_tickets_changed_since_the_survey() -> None:
    survey_saw = 1_733_400_000  # the threshold the source derives from what its survey saw
    settled = {**TICKET, "id": 4885, "status": "open", "generated_timestamp": survey_saw - 1}
    changed = {**TICKET, "status": "solved", "generated_timestamp": survey_saw}
    untimed = {**TICKET, "id": 4887, "status": "new"}  # no timestamp: read whole, to be safe
    twice_old = {**TICKET, "id": 4888, "subject": "Old", "generated_timestamp": survey_saw - 5}
    twice_new = {**twice_old, "subject": "New", "generated_timestamp": survey_saw + 5}
    metrics = [{**METRIC, "ticket_id": t["id"]} for t in (settled, changed, untimed, twice_old)]
    body = export_body(tickets=[settled, changed, untimed, twice_old, twice_new], metric_sets=metrics)
    page = ticket_reread(survey_saw)(body)
    # whole, exactly as the plain export decoder keeps them (both versions of a ticket listed twice)
    assert page["tickets"] == [changed, untimed, twice_old, twice_new]
    assert page["settled_tickets"] == [{"id": 4885, "status": "open", "subject": TICKET["subject"]}]
    assert sorted(m["ticket_id"] for m in page["metric_sets"]) == [4886, 4887, 4888]
    whole = ticket_export(body)
    assert {k: page[k] for k in ("users", "groups", "organizations")} == {
        k: whole[k] for k in ("users", "groups", "organizations")
    }
    assert page["after_cursor"] == whole["after_cursor"] and page["end_of_stream"] is False
    # Later in the run nothing timed has changed since: only the untimed ticket is read whole,
    # and a ticket listed twice is kept once, in its last version.
    quiet = ticket_reread(survey_saw + 10)(body)
    assert quiet["tickets"] == [untimed] and [m["ticket_id"] for m in quiet["metric_sets"]] == [4887]
    assert [t["id"] for t in quiet["settled_tickets"]] == [4885, 4886, 4888]
    assert next(t for t in quiet["settled_tickets"] if t["id"] == 4888)["subject"] == "New"
    settled_only = ticket_reread(survey_saw)(export_body(tickets=[settled], metric_sets=None))
    assert settled_only["tickets"] == [] and "metric_sets" not in settled_only


def test_a_ticket_listing_keeps_only_ids() -> None:
    page = ticket_ids(export_body())
    assert page["tickets"] == [{"id": 4886}]
    assert page["end_of_stream"] is False and "users" not in page


def test_an_event_page_keeps_each_event_with_its_comment_events_only() -> None:
    body = json.dumps(
        {
            "ticket_events": [
                {
                    "id": 400005003264,
                    "ticket_id": 4886,
                    "timestamp": 1733229783,
                    "created_at": "2024-12-03T12:43:03Z",
                    "via": "Mail",
                    "system": {"message_id": "<5d2e.7@mail.example.com>"},
                    "event_type": "Audit",
                    "child_events": [
                        COMMENT,
                        {"id": 1, "status": "new", "event_type": "Create"},
                        {"id": 2, "subject": "[Request received]", "event_type": "Notification"},
                        VOICE,
                    ],
                },
                {
                    "id": 400005003265,
                    "ticket_id": 4887,
                    "created_at": "2024-12-03T12:44:00Z",
                    "child_events": [],
                },
            ],
            "end_time": 1733229840,
            "end_of_stream": True,
            "count": 2,
        }
    ).encode()
    page = ticket_events(body)
    assert page["end_time"] == 1733229840 and page["end_of_stream"] is True and page["count"] == 2
    first, second = page["ticket_events"]
    assert first == {
        "id": 400005003264,
        "ticket_id": 4886,
        "timestamp": 1733229783,
        "created_at": "2024-12-03T12:43:03Z",
        "child_events": [
            COMMENT,
            {"id": 3, "event_type": "VoiceComment", "body": "Call recording", "data": {"x": 1}},
        ],
    }
    assert second == {
        "id": 400005003265,
        "ticket_id": 4887,
        "created_at": "2024-12-03T12:44:00Z",
        "child_events": [],
    }


@pytest.fixture
def config() -> ZendeskConfig:
    return ZendeskConfig(subdomain="acme", base_url=BASE)


@respx.mock(base_url=BASE)
async def test_a_sideload_not_in_the_documented_shape_is_a_clear_error_that_is_not_retried(
    respx_mock: respx.MockRouter, config: ZendeskConfig
) -> None:
    route = respx_mock.get("/api/v2/incremental/tickets/cursor.json").mock(
        return_value=httpx.Response(200, content=export_body(users=["Vera Tanaka"]))
    )
    async with ZendeskClient(config, ApiTokenAuth("admin@example.com", "token")) as client:
        with pytest.raises(BadResponse, match=r"not in the documented shape.*users\[0\]"):
            await client.get_json("/api/v2/incremental/tickets/cursor.json", decode=ticket_export)
    assert route.call_count == 1


@respx.mock(base_url=BASE)
async def test_an_answer_cut_short_is_still_retried_when_read_in_part(
    respx_mock: respx.MockRouter, config: ZendeskConfig
) -> None:
    body = export_body()
    respx_mock.get("/api/v2/incremental/tickets/cursor.json").mock(
        side_effect=[httpx.Response(200, content=body[: len(body) // 2]), httpx.Response(200, content=body)]
    )
    async with ZendeskClient(config, ApiTokenAuth("admin@example.com", "token"), backoff=0.01) as client:
        page = await client.get_json("/api/v2/incremental/tickets/cursor.json", decode=ticket_export)
        assert page["tickets"] == [TICKET]
        assert client.stats.retries == 1
