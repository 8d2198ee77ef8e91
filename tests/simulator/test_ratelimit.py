"""Zendesk's rate limits as the simulator serves them, over real HTTP.

api-reference.md "Rate limits" and docs/design.md's bucket table are the expectations: the plan
bucket `account` (X-Rate-Limit, ratelimit-*), endpoint buckets as Zendesk-RateLimit-{bucket},
429 with a Retry-After that is enough to wait.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from zendesk_simulator.config import SimulatorConfig
from zendesk_simulator.ratelimit import RateLimiter, bucket_limits, buckets_for
from zendesk_simulator.stats import normalise_endpoint
from zendesk_simulator.testing import running_simulator

sys.path.insert(0, str(Path(__file__).parent))
from simauth_harness import Harness, serve, wait_for_window_start

WINDOW = 2.0
ADMIN = {"Authorization": "Bearer static-rate-limit-token"}


@dataclass
class SmallPlanConfig(SimulatorConfig):
    """The simulator's settings with a plan limit small enough to exhaust in a test."""

    plan_limit_override: int | None = None


def parse_bucket_header(value: str) -> dict[str, int]:
    """`total=10; remaining=9; resets=2` → {"total": 10, "remaining": 9, "resets": 2}."""
    return {key.strip(): int(number) for key, number in (part.split("=") for part in value.split(";"))}


@pytest.fixture()
def small_plan() -> Iterator[Harness]:
    config = SmallPlanConfig(
        minute_seconds=WINDOW,
        plan_limit_override=5,
        static_access_token=ADMIN["Authorization"].removeprefix("Bearer "),
    )
    with serve(config) as harness:
        yield harness


def test_burst_past_plan_limit_gets_429_with_truthful_retry_after(small_plan: Harness) -> None:
    with httpx.Client(base_url=small_plan.base_url, headers=ADMIN) as http:
        wait_for_window_start(WINDOW)
        responses = [http.get(f"/api/v2/tickets/{n}.json") for n in range(5)]
        refused = http.get("/api/v2/users/me.json")
        assert [r.status_code for r in responses] == [200] * 5
        assert [int(r.headers["x-rate-limit"]) for r in responses] == [5] * 5
        assert [int(r.headers["x-rate-limit-remaining"]) for r in responses] == [4, 3, 2, 1, 0]
        assert [int(r.headers["ratelimit-remaining"]) for r in responses] == [4, 3, 2, 1, 0]
        assert all(r.headers["ratelimit-limit"] == "5" for r in responses)
        assert all(1 <= int(r.headers["ratelimit-reset"]) <= WINDOW for r in responses)

        assert refused.status_code == 429
        assert refused.headers["content-type"].startswith("text/plain")
        assert refused.text == "Too Many Requests"
        retry_after = int(refused.headers["retry-after"])
        assert 1 <= retry_after <= WINDOW
        assert refused.headers["x-rate-limit-remaining"] == "0"

        time.sleep(retry_after)
        after = http.get("/api/v2/users/me.json")
        assert after.status_code == 200
        assert int(after.headers["x-rate-limit-remaining"]) == 4
    snapshot = small_plan.stats.snapshot()
    assert snapshot["rate_limited"] == 1
    assert snapshot["buckets"] == {"account": 6}  # the refused request cost nothing
    assert snapshot["requests"] == {"GET /api/v2/tickets/{id}": 5, "GET /api/v2/users/me": 2}


def test_waiting_less_than_retry_after_is_not_enough_but_retry_after_is(small_plan: Harness) -> None:
    """Retry-After is the rounded-up time until the window frees: never too early, at most 1 s late."""
    with httpx.Client(base_url=small_plan.base_url, headers=ADMIN) as http:
        wait_for_window_start(WINDOW)
        for _ in range(5):
            http.get("/api/v2/users/me.json")
        first = http.get("/api/v2/users/me.json")
        retry_after = int(first.headers["retry-after"])
        assert retry_after == 2  # early in a 2-second window
        time.sleep(retry_after - 1)
        early = http.get("/api/v2/users/me.json")
        assert early.status_code == 429
        assert int(early.headers["retry-after"]) == 1
        time.sleep(1)
        assert http.get("/api/v2/users/me.json").status_code == 200


def test_endpoint_bucket_is_independent_of_plan_bucket() -> None:
    config = SmallPlanConfig(minute_seconds=WINDOW, plan_limit_override=40, static_access_token="t" * 20)
    with (
        serve(config) as harness,
        httpx.Client(base_url=harness.base_url, headers={"Authorization": "Bearer " + "t" * 20}) as http,
    ):
        wait_for_window_start(WINDOW)
        deleted = [http.get("/api/v2/deleted_tickets.json") for _ in range(10)]
        assert [r.status_code for r in deleted] == [200] * 10
        header = [parse_bucket_header(r.headers["zendesk-ratelimit-deleted-tickets-index"]) for r in deleted]
        assert [h["total"] for h in header] == [10] * 10
        assert [h["remaining"] for h in header] == list(range(9, -1, -1))
        assert all(1 <= h["resets"] <= WINDOW for h in header)
        assert [int(r.headers["x-rate-limit-remaining"]) for r in deleted] == list(range(39, 29, -1))

        refused = http.get("/api/v2/deleted_tickets.json")
        assert refused.status_code == 429
        assert refused.json()["errors"][0]["code"] == "TooManyRequests"
        assert 1 <= int(refused.headers["retry-after"]) <= WINDOW
        # The plan bucket still has budget: other endpoints answer, and the 429 cost nothing.
        other = http.get("/api/v2/tickets/1/comments.json")
        assert other.status_code == 200
        assert other.headers["x-rate-limit-remaining"] == "29"
        assert not any(name.startswith("zendesk-ratelimit-") for name in other.headers)

        # List Tickets and incremental exports draw on their own buckets as well as the plan's.
        listed = http.get("/api/v2/tickets.json")
        assert parse_bucket_header(listed.headers["zendesk-ratelimit-tickets-index"])["remaining"] == 99
        exported = http.get("/api/v2/incremental/tickets/cursor.json", params={"start_time": 0})
        assert parse_bucket_header(exported.headers["zendesk-ratelimit-incremental-exports"])["total"] == 10
        assert exported.headers["x-rate-limit-remaining"] == "27"

        # Attachment downloads draw on attachments-download only, not on the plan bucket.
        download = http.get("/attachments/token/abc123/", params={"name": "a.txt"})
        assert download.status_code == 200
        attachment_bucket = parse_bucket_header(download.headers["zendesk-ratelimit-attachments-download"])
        assert (attachment_bucket["total"], attachment_bucket["remaining"]) == (2500, 2499)
        assert "x-rate-limit" not in download.headers
        assert http.get("/api/v2/users/me.json").headers["x-rate-limit-remaining"] == "26"

    snapshot = harness.stats.snapshot()
    assert snapshot["buckets"] == {
        "account": 14,
        "deleted-tickets-index": 10,
        "tickets-index": 1,
        "incremental-exports": 1,
        "attachments-download": 1,
    }
    assert snapshot["requests"]["GET /api/v2/deleted_tickets"] == 11
    assert snapshot["requests"]["GET /attachments/token/{token}"] == 1
    assert snapshot["rate_limited"] == 1


def test_oauth_and_simulator_routes_are_never_limited(small_plan: Harness) -> None:
    with httpx.Client(base_url=small_plan.base_url, headers=ADMIN) as http:
        wait_for_window_start(WINDOW)
        for _ in range(5):
            http.get("/api/v2/users/me.json")
        assert http.get("/api/v2/users/me.json").status_code == 429
        token = http.post(
            "/oauth/tokens",
            json={
                "grant_type": "client_credentials",
                "client_id": "zensync",
                "client_secret": "zensync-secret",
                "scope": "read",
            },
        )
        assert token.status_code == 201
        assert "x-rate-limit" not in token.headers
        truth = http.get("/_simulator/truth")
        assert truth.status_code == 200 and "x-rate-limit" not in truth.headers
    assert not any("oauth/tokens" in e or "_simulator" in e for e in small_plan.stats.snapshot()["requests"])


def test_rate_limits_off_serves_everything_without_headers() -> None:
    config = SmallPlanConfig(
        minute_seconds=WINDOW, plan_limit_override=2, rate_limits=False, static_access_token="u" * 20
    )
    with (
        serve(config) as harness,
        httpx.Client(base_url=harness.base_url, headers={"Authorization": "Bearer " + "u" * 20}) as http,
    ):
        responses = [http.get("/api/v2/deleted_tickets.json") for _ in range(12)]
        assert [r.status_code for r in responses] == [200] * 12
        assert all("x-rate-limit" not in r.headers for r in responses)
    assert harness.stats.snapshot()["requests"] == {"GET /api/v2/deleted_tickets": 12}
    assert harness.stats.snapshot()["rate_limited"] == 0


def test_unauthenticated_requests_still_draw_on_the_plan(small_plan: Harness) -> None:
    with httpx.Client(base_url=small_plan.base_url) as http:
        wait_for_window_start(WINDOW)
        anonymous = http.get("/api/v2/users/me.json")
        assert anonymous.status_code == 401
        assert anonymous.headers["x-rate-limit-remaining"] == "4"


# --------------------------------------------------------------------------- the rules themselves


@pytest.mark.parametrize(
    ("method", "path", "buckets"),
    [
        ("GET", "/api/v2/tickets.json", ["account", "tickets-index"]),
        ("GET", "/api/v2/tickets", ["account", "tickets-index"]),
        ("POST", "/api/v2/tickets.json", ["account"]),
        ("GET", "/api/v2/tickets/12.json", ["account"]),
        ("GET", "/api/v2/incremental/tickets/cursor.json", ["account", "incremental-exports"]),
        ("GET", "/api/v2/incremental/ticket_events.json", ["account", "incremental-exports"]),
        ("GET", "/api/v2/deleted_tickets.json", ["account", "deleted-tickets-index"]),
        ("GET", "/api/v2/search.json", ["account", "search-index"]),
        ("GET", "/api/v2/search/count.json", ["account", "search-index"]),
        ("GET", "/api/v2/search/export.json", ["account", "search-export"]),
        ("GET", "/api/v2/tickets/12/audits.json", ["account", "ticket-audits-index"]),
        ("GET", "/api/v2/ticket_audits.json", ["account"]),
        ("PUT", "/api/v2/tickets/12.json", ["account", "update-ticket:me:12"]),
        ("PUT", "/api/v2/users/370000000007.json", ["account", "update-user:370000000007"]),
        ("PUT", "/api/v2/organizations/9", ["account", "update-organization:9"]),
        ("GET", "/attachments/token/AbC/", ["attachments-download"]),
        ("POST", "/oauth/tokens", []),
        ("GET", "/_simulator/stats", []),
    ],
)
def test_buckets_for(method: str, path: str, buckets: list[str]) -> None:
    assert buckets_for(method, path, "me") == buckets


def test_bucket_limits_follow_plan_and_high_volume() -> None:
    assert bucket_limits(SimulatorConfig(plan="team")) == {
        "account": 200,
        "incremental-exports": 10,
        "tickets-index": 100,
        "deleted-tickets-index": 10,
        "attachments-download": 2500,
        "search-index": 2500,
        "search-export": 100,
        "ticket-audits-index": 500,
        "update-ticket": 30,
        "update-user": 5,
        "update-organization": 5,
    }
    high = bucket_limits(SimulatorConfig(plan="professional", high_volume=True))
    assert (high["account"], high["incremental-exports"], high["tickets-index"]) == (2500, 30, 300)
    with pytest.raises(ValueError, match="at least 1"):
        bucket_limits(SmallPlanConfig(plan_limit_override=0))


@pytest.mark.parametrize(
    ("method", "path", "endpoint"),
    [
        ("get", "/api/v2/tickets/123/comments.json?page[size]=100", "GET /api/v2/tickets/{id}/comments"),
        ("GET", "/api/v2/tickets.json", "GET /api/v2/tickets"),
        ("PUT", "/api/v2/tickets/7", "PUT /api/v2/tickets/{id}"),
        ("GET", "/api/v2/users/show_many.json", "GET /api/v2/users/show_many"),
        ("GET", "/attachments/token/x9Kq2/", "GET /attachments/token/{token}"),
        ("DELETE", "/api/v2/oauth/tokens/current.json", "DELETE /api/v2/oauth/tokens/current"),
    ],
)
def test_endpoint_names_normalise_ids(method: str, path: str, endpoint: str) -> None:
    assert normalise_endpoint(method, path) == endpoint


def test_limiter_windows_with_a_controlled_clock() -> None:
    now = [100.25]
    limiter = RateLimiter({"account": 2, "tickets-index": 1}, 60.0, clock=lambda: now[0])
    first = limiter.acquire(["account", "tickets-index"])
    assert first.admitted and [s.remaining for s in first.states] == [1, 0]
    refused = limiter.acquire(["account", "tickets-index"])
    assert not refused.admitted and refused.refused_by is not None
    assert refused.refused_by.name == "tickets-index"
    assert refused.retry_after == 20  # window [60, 120) at 100.25: 19.75 s left, rounded up
    assert limiter.acquire(["account"]).admitted
    assert not limiter.acquire(["account"]).admitted
    now[0] = 120.0
    assert limiter.acquire(["account", "tickets-index"]).admitted


# --------------------------------------------------------------------------- the full simulator


def test_full_simulator_endpoint_bucket_429_and_truthful_retry_after() -> None:
    token = "rate-limit-full-simulator-token"
    with (
        running_simulator(tickets=20, minute_seconds=WINDOW, static_access_token=token) as sim,
        httpx.Client(base_url=sim.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http,
    ):
        seen: list[httpx.Response] = []
        for _ in range(25):  # 10 per window; a window may turn over during the burst
            seen.append(http.get("/api/v2/deleted_tickets.json"))
            if seen[-1].status_code == 429:
                break
        refused = seen[-1]
        assert refused.status_code == 429, [r.status_code for r in seen]
        before = parse_bucket_header(seen[-2].headers["zendesk-ratelimit-deleted-tickets-index"])
        assert (before["total"], before["remaining"]) == (10, 0)
        assert seen[-2].headers["x-rate-limit"] == "700"
        retry_after = int(refused.headers["retry-after"])
        assert 1 <= retry_after <= WINDOW
        time.sleep(retry_after)
        assert http.get("/api/v2/deleted_tickets.json").status_code == 200
        stats = sim.stats()
    assert stats["rate_limited"] == 1
    assert stats["buckets"]["deleted-tickets-index"] == len(seen)  # the refused one cost nothing, +1 after
    assert stats["requests"]["GET /api/v2/deleted_tickets"] == len(seen) + 1


def _burst_until_refused(send: Any, bucket: str, limit: int) -> None:
    """Send until a 429: the last admitted response reported the bucket exhausted (total=limit,
    remaining=0), whichever window the burst started in (a window may roll over meanwhile)."""
    last = None
    for _ in range(3 * limit):
        response = send()
        if response.status_code == 429:
            assert last is not None and last.startswith(f"total={limit}; remaining=0;"), last
            assert response.headers[f"zendesk-ratelimit-{bucket}"].startswith(f"total={limit}; remaining=0;")
            return
        assert response.status_code == 200, response.text
        last = response.headers[f"zendesk-ratelimit-{bucket}"]
    raise AssertionError(f"{bucket} never refused a request")


def test_endpoint_limits_of_search_export_audits_and_updates() -> None:
    """ "Endpoint rate limits": Export Search Results 100/min, List Audits for a Ticket 500/min,
    Update Ticket 30 per 10 minutes per user and ticket, Update User 5/min per user."""
    with (
        running_simulator(tickets=30, seed=2, minute_seconds=20, plan_limit_override=5000) as sim,
        httpx.Client(
            base_url=sim.base_url, headers={"Authorization": sim.basic_auth_header()}, timeout=30
        ) as http,
    ):
        audits = http.get("/api/v2/tickets/4/audits.json")
        assert audits.headers["zendesk-ratelimit-ticket-audits-index"].startswith("total=500; remaining=")
        search = http.get("/api/v2/search.json", params={"query": "type:group"})
        assert search.headers["zendesk-ratelimit-search-index"].startswith("total=2500;")
        _burst_until_refused(
            lambda: http.get("/api/v2/search/export.json", params={"query": "x", "filter[type]": "group"}),
            "search-export",
            100,
        )
        assert http.get("/api/v2/search.json", params={"query": "type:group"}).status_code == 200
        _burst_until_refused(
            lambda: http.put("/api/v2/tickets/5.json", json={"ticket": {"tags": ["t"]}}), "update-ticket", 30
        )
        assert http.put("/api/v2/tickets/6.json", json={"ticket": {"tags": ["x"]}}).status_code == 200
        _burst_until_refused(
            lambda: http.put("/api/v2/users/370000000007.json", json={"user": {"notes": "n"}}),
            "update-user",
            5,
        )
