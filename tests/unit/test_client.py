"""ZendeskClient against shapes a live server rarely produces on demand (respx at the transport).

Everything that a running simulator can show is tested in
tests/integration/test_client_simulator.py; here are the exact orderings and odd bodies:
429 with a text body, truncated JSON, 401 → refresh → one retry, the rotation callback
running before the new token is used, one refresh for many concurrent requests, foreign
URLs, and the pre-signed attachment host never seeing credentials.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import json
import logging
import math
import os
import ssl
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import respx

from zensync.config import ZendeskConfig
from zensync.store import Store
from zensync.zendesk import (
    ApiTokenAuth,
    AuthenticationError,
    BadResponse,
    BearerAuth,
    ConnectionFailed,
    DownloadTooLarge,
    InvalidRequest,
    MalwareDetected,
    NotFound,
    OAuthTokenAuth,
    PermissionDenied,
    RateLimited,
    ServerError,
    TokenRefreshError,
    TokenSet,
    UnsafeURL,
    ZendeskClient,
)
from zensync.zendesk.errors import ZendeskError, parse_error_body
from zensync.zendesk.ratelimit import Observation, Pacer, buckets_for, parse_rate_limit_headers

BASE = "https://acme.zendesk.com"
TOKEN_URL = f"{BASE}/oauth/tokens"
ME = {"user": {"id": 1, "email": "admin@example.com", "role": "admin"}}
CLIENT_SECRET = "client-secret-value"


class FakeTime:
    """A clock and sleep for the pacer and the retry policy: waits are recorded, not slept."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def config() -> ZendeskConfig:
    return ZendeskConfig(subdomain="acme")


@pytest.fixture
async def client(config: ZendeskConfig, fake_time: FakeTime) -> AsyncIterator[ZendeskClient]:
    pacer = Pacer(clock=fake_time.clock, sleep=fake_time.sleep)
    async with ZendeskClient(
        config, ApiTokenAuth("admin@example.com", "api-token-value"), pacer=pacer, sleep=fake_time.sleep
    ) as c:
        yield c


def oauth(
    *,
    access: str = "old-access",
    refresh: str | None = "old-refresh",
    expires_in: float = 3600,
    on_tokens: Any = None,
) -> tuple[OAuthTokenAuth, list[TokenSet]]:
    saved: list[TokenSet] = []

    async def persist(tokens: TokenSet) -> None:
        saved.append(tokens)

    auth = OAuthTokenAuth(
        TOKEN_URL,
        "zensync",
        CLIENT_SECRET,
        access,
        refresh,
        datetime.now(UTC) + timedelta(seconds=expires_in),
        on_tokens or persist,
    )
    return auth, saved


def token_response(n: int) -> httpx.Response:
    return httpx.Response(
        201,
        json={
            "access_token": f"new-access-{n}",
            "refresh_token": f"new-refresh-{n}",
            "token_type": "bearer",
            "scope": "read write",
            "expires_in": 1800,
            "refresh_token_expires_in": 2592000,
        },
    )


# -- retries ----------------------------------------------------------------------------


@respx.mock(base_url=BASE)
async def test_429_with_text_body_waits_retry_after_then_succeeds(
    respx_mock: respx.MockRouter, client: ZendeskClient, fake_time: FakeTime
) -> None:
    route = respx_mock.get("/api/v2/users/me.json").mock(
        side_effect=[
            httpx.Response(429, text="Too Many Requests", headers={"Retry-After": "7"}),
            httpx.Response(200, json=ME),
        ]
    )
    assert await client.get_json("/api/v2/users/me.json") == ME
    assert route.call_count == 2
    assert 7.0 in fake_time.slept
    assert client.stats.rate_limited == 1
    assert client.stats.retries == 1
    assert client.stats.requests_by_bucket == {"account": 2}


@respx.mock(base_url=BASE)
async def test_429_retry_after_in_text_body_only(
    respx_mock: respx.MockRouter, client: ZendeskClient, fake_time: FakeTime
) -> None:
    respx_mock.get("/api/v2/tickets.json").mock(
        side_effect=[
            httpx.Response(429, text="Rate limited. Retry after 12 seconds."),
            httpx.Response(200, json={"tickets": []}),
        ]
    )
    assert await client.get_json("/api/v2/tickets.json") == {"tickets": []}
    assert 12.0 in fake_time.slept
    assert client.stats.requests_by_bucket == {"account": 2, "tickets-index": 2}


@respx.mock(base_url=BASE)
async def test_truncated_json_is_retried(respx_mock: respx.MockRouter, client: ZendeskClient) -> None:
    full = json.dumps(ME)
    respx_mock.get("/api/v2/users/me.json").mock(
        side_effect=[
            httpx.Response(200, text=full[: len(full) // 2], headers={"Content-Type": "application/json"}),
            httpx.RemoteProtocolError("peer closed connection without sending complete message body"),
            httpx.Response(200, json=ME),
        ]
    )
    assert await client.get_json("/api/v2/users/me.json") == ME
    assert client.stats.retries == 2


@respx.mock(base_url=BASE)
async def test_persistent_5xx_gives_up_with_attempt_count(
    respx_mock: respx.MockRouter, config: ZendeskConfig, fake_time: FakeTime
) -> None:
    route = respx_mock.get("/api/v2/users/me.json").mock(
        return_value=httpx.Response(502, html="<html><title>502 Bad Gateway</title></html>")
    )
    async with ZendeskClient(
        config, BearerAuth("tok"), max_retries=3, pacer=Pacer(clock=fake_time.clock), sleep=fake_time.sleep
    ) as client:
        with pytest.raises(ServerError) as caught:
            await client.get_json("/api/v2/users/me.json")
    assert route.call_count == 4
    assert caught.value.attempts == 4
    assert "after 4 attempts" in str(caught.value)
    assert "502 Bad Gateway" in str(caught.value)
    assert all(0 <= s <= 30 for s in fake_time.slept) and len(fake_time.slept) == 3


@respx.mock(base_url=BASE)
async def test_total_wait_is_bounded(respx_mock: respx.MockRouter, config: ZendeskConfig) -> None:
    """A Retry-After longer than the remaining budget ends the retries at once."""
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    respx_mock.get("/api/v2/users/me.json").mock(
        return_value=httpx.Response(429, text="Too Many Requests", headers={"Retry-After": "600"})
    )
    async with ZendeskClient(config, BearerAuth("tok"), max_total_wait=300, sleep=sleep) as client:
        with pytest.raises(RateLimited) as caught:
            await client.get_json("/api/v2/users/me.json")
    assert slept == []
    assert caught.value.retry_after == 600
    assert "lower the concurrency" in str(caught.value)


@respx.mock(base_url=BASE)
async def test_429s_have_their_own_budget(
    respx_mock: respx.MockRouter, config: ZendeskConfig, fake_time: FakeTime
) -> None:
    """A quick check (one retry, 5 s) still waits out a busy account's 429s (7 s each here)."""
    busy = httpx.Response(429, text="Too Many Requests", headers={"Retry-After": "7"})
    me = httpx.Response(200, json={"user": {"id": 1}})
    route = respx_mock.get("/api/v2/users/me.json").mock(side_effect=[busy, busy, me])
    quick: dict[str, Any] = {"max_retries": 1, "max_total_wait": 5.0, "sleep": fake_time.sleep}
    async with ZendeskClient(
        config,
        BearerAuth("tok"),
        rate_limit_retries=8,
        rate_limit_wait=300.0,
        pacer=Pacer(clock=fake_time.clock),
        **quick,
    ) as client:
        assert (await client.get_json("/api/v2/users/me.json"))["user"]["id"] == 1
    assert route.call_count == 3 and sum(fake_time.slept) >= 14

    # Without a budget of their own, the 429s count against the quick one and end it.
    route.side_effect = [busy, busy, me]
    pacer = Pacer(clock=fake_time.clock)
    async with ZendeskClient(config, BearerAuth("tok"), pacer=pacer, **quick) as client:
        with pytest.raises(RateLimited):
            await client.get_json("/api/v2/users/me.json")


@pytest.mark.parametrize(
    ("method", "path", "status", "body", "error", "words"),
    [
        (
            "GET",
            "/api/v2/tickets/9.json",
            404,
            {"error": "RecordNotFound", "description": "Not found"},
            NotFound,
            "RecordNotFound: Not found",
        ),
        (
            "GET",
            "/api/v2/users/me.json",
            401,
            {"error": "Couldn't authenticate you"},
            AuthenticationError,
            "email and API token",
        ),
        (
            "GET",
            "/api/v2/incremental/tickets/cursor.json",
            403,
            {"error": "Forbidden", "description": "You do not have access to this page"},
            PermissionDenied,
            "must be a Zendesk admin",
        ),
        (
            "POST",
            "/api/v2/tickets.json",
            403,
            {"error": "Forbidden", "description": "You do not have access"},
            PermissionDenied,
            "lacks the write scope",
        ),
        (
            "PUT",
            "/api/v2/tickets/1.json",
            422,
            {
                "error": "RecordInvalid",
                "description": "Record validation errors",
                "details": {"status": [{"description": "Status: closed prevents ticket update"}]},
            },
            InvalidRequest,
            "RecordInvalid: Record validation errors",
        ),
        (
            "GET",
            "/api/v2/tickets.json",
            400,
            {"errors": [{"code": "InvalidPaginationParameter", "title": "page[after] is not valid"}]},
            InvalidRequest,
            "InvalidPaginationParameter: page[after] is not valid",
        ),
    ],
)
async def test_client_errors_are_not_retried(
    method: str, path: str, status: int, body: dict[str, Any], error: type[Exception], words: str,
    client: ZendeskClient,
) -> None:  # fmt: skip
    with respx.mock(base_url=BASE) as mock:
        route = mock.route(method=method, path=path).mock(return_value=httpx.Response(status, json=body))
        with pytest.raises(error) as caught:
            await client.request_json(method, path, json={"ticket": {}} if method != "GET" else None)
    assert route.call_count == 1
    assert client.stats.retries == 0
    assert words in str(caught.value)
    assert caught.value.status == status  # type: ignore[attr-defined]
    if status == 422:
        assert caught.value.details == body["details"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("body", "content_type", "code", "description"),
    [
        (
            b'{"error":"RecordNotFound","description":"Not found"}',
            "application/json",
            "RecordNotFound",
            "Not found",
        ),
        (
            b'{"error":"invalid_grant","error_description":"The refresh token is invalid"}',
            "application/json",
            "invalid_grant",
            "The refresh token is invalid",
        ),
        (
            b'{"errors":[{"code":"TooManyRequests","title":"Too many","detail":"retry after 3 seconds"}]}',
            "application/json",
            "TooManyRequests",
            "Too many; retry after 3 seconds",
        ),
        (b"Too Many Requests", "text/plain", None, "Too Many Requests"),
        (b"<html><head><title>502 Bad Gateway</title></head></html>", "text/html", None, "502 Bad Gateway"),
        (b"", "text/plain", None, None),
        (
            b"<?xml version='1.0'?><Error><Code>AccessDenied</Code>"
            b"<Message>Request has expired</Message></Error>",
            "application/xml",
            "AccessDenied",
            "Request has expired",
        ),
    ],
)
def test_every_error_body_shape_is_read(
    body: bytes, content_type: str, code: str | None, description: str | None
) -> None:
    info = parse_error_body(body, content_type)
    assert (info.code, info.description) == (code, description)


# -- OAuth refresh and rotation -----------------------------------------------------------


@respx.mock(base_url=BASE)
async def test_401_refreshes_once_and_retries_with_the_new_token(
    respx_mock: respx.MockRouter, config: ZendeskConfig
) -> None:
    auth, saved = oauth()
    token_route = respx_mock.post("/oauth/tokens").mock(return_value=token_response(1))
    me = respx_mock.get("/api/v2/users/me.json").mock(
        side_effect=[
            httpx.Response(401, json={"error": "invalid_token", "error_description": "expired"}),
            httpx.Response(200, json=ME),
        ]
    )
    async with ZendeskClient(config, auth) as client:
        assert await client.get_json("/api/v2/users/me.json") == ME

    assert token_route.call_count == 1
    sent = json.loads(token_route.calls[0].request.content)
    assert sent == {
        "grant_type": "refresh_token",
        "refresh_token": "old-refresh",
        "client_id": "zensync",
        "client_secret": CLIENT_SECRET,
    }
    assert [c.request.headers["Authorization"] for c in me.calls] == [
        "Bearer old-access",
        "Bearer new-access-1",
    ]
    assert [t.refresh_token for t in saved] == ["new-refresh-1"]
    assert auth.tokens.access_token == "new-access-1"
    assert auth.tokens.expires_at is not None and auth.tokens.refresh_expires_at is not None


@respx.mock(base_url=BASE)
async def test_a_second_401_after_refresh_is_an_authentication_error(
    respx_mock: respx.MockRouter, config: ZendeskConfig
) -> None:
    auth, _ = oauth()
    token_route = respx_mock.post("/oauth/tokens").mock(return_value=token_response(1))
    me = respx_mock.get("/api/v2/users/me.json").mock(
        return_value=httpx.Response(401, json={"error": "invalid_token", "error_description": "revoked"})
    )
    async with ZendeskClient(config, auth) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.get_json("/api/v2/users/me.json")
    assert token_route.call_count == 1
    assert me.call_count == 2
    assert "expired or revoked" in str(caught.value) and "zensync connect" in str(caught.value)


@respx.mock(base_url=BASE)
async def test_new_tokens_are_persisted_before_the_new_access_token_is_used(
    respx_mock: respx.MockRouter, config: ZendeskConfig
) -> None:
    events: list[str] = []
    saving = asyncio.Event()

    async def persist(tokens: TokenSet) -> None:
        events.append(f"persist start {tokens.refresh_token}")
        saving.set()
        await asyncio.sleep(0.05)  # a slow database write: nothing may use the token meanwhile
        events.append(f"persist done {tokens.refresh_token}")

    expired = False

    def api(request: httpx.Request) -> httpx.Response:
        events.append(f"request {request.headers['Authorization']}")
        if expired and request.headers["Authorization"] == "Bearer old-access":
            return httpx.Response(401, json={"error": "invalid_token"})
        return httpx.Response(200, json=ME)

    auth, _ = oauth(on_tokens=persist)
    respx_mock.post("/oauth/tokens").mock(
        side_effect=lambda request: (events.append("token"), token_response(1))[1]
    )
    respx_mock.get("/api/v2/users/me.json").mock(side_effect=api)
    async with ZendeskClient(config, auth) as client:
        await client.get_json("/api/v2/users/me.json")
        events.clear()
        expired = True
        first = asyncio.create_task(client.get_json("/api/v2/users/me.json"))
        await saving.wait()
        # Another request starts while the new pair is being saved.
        await asyncio.gather(first, client.get_json("/api/v2/users/me.json"))

    done = events.index("persist done new-refresh-1")
    assert events[:3] == ["request Bearer old-access", "token", "persist start new-refresh-1"]
    assert "request Bearer new-access-1" not in events[:done]
    assert events.count("request Bearer new-access-1") == 2
    assert events.count("token") == 1


@respx.mock(base_url=BASE)
async def test_tokens_that_could_not_be_saved_are_not_used_until_saved(
    respx_mock: respx.MockRouter, config: ZendeskConfig
) -> None:
    attempts: list[str | None] = []

    async def flaky_persist(tokens: TokenSet) -> None:
        attempts.append(tokens.refresh_token)
        if len(attempts) == 1:
            raise OSError("disk full")

    auth, _ = oauth(expires_in=-10, on_tokens=flaky_persist)  # already expired: refresh first
    token_route = respx_mock.post("/oauth/tokens").mock(return_value=token_response(1))
    me = respx_mock.get("/api/v2/users/me.json").mock(return_value=httpx.Response(200, json=ME))
    async with ZendeskClient(config, auth) as client:
        with pytest.raises(TokenRefreshError) as caught:
            await client.get_json("/api/v2/users/me.json")
        assert "could not be saved" in str(caught.value)
        assert me.call_count == 0
        # Next request: the same new pair is saved first (no second refresh), then used.
        await client.get_json("/api/v2/users/me.json")
    assert token_route.call_count == 1
    assert attempts == ["new-refresh-1", "new-refresh-1"]
    assert me.calls[0].request.headers["Authorization"] == "Bearer new-access-1"


@respx.mock(base_url=BASE)
async def test_concurrent_requests_with_an_expiring_token_share_one_refresh(
    respx_mock: respx.MockRouter, config: ZendeskConfig
) -> None:
    auth, saved = oauth(expires_in=30)  # inside the 60 s leeway: refresh before sending

    async def slow_token(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.05)
        return token_response(len(saved) + 1)

    token_route = respx_mock.post("/oauth/tokens").mock(side_effect=slow_token)
    me = respx_mock.get("/api/v2/users/me.json").mock(return_value=httpx.Response(200, json=ME))
    async with ZendeskClient(config, auth) as client:
        await asyncio.gather(*(client.get_json("/api/v2/users/me.json") for _ in range(20)))
    assert token_route.call_count == 1
    assert len(saved) == 1
    assert {c.request.headers["Authorization"] for c in me.calls} == {"Bearer new-access-1"}


@respx.mock(base_url=BASE)
async def test_concurrent_401s_share_one_refresh(respx_mock: respx.MockRouter, config: ZendeskConfig) -> None:
    auth, saved = oauth()
    token_route = respx_mock.post("/oauth/tokens").mock(return_value=token_response(1))
    revoked = False

    async def api(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.01)
        if revoked and request.headers["Authorization"] == "Bearer old-access":
            return httpx.Response(401, json={"error": "invalid_token"})
        return httpx.Response(200, json=ME)

    me = respx_mock.get("/api/v2/users/me.json").mock(side_effect=api)
    async with ZendeskClient(config, auth) as client:
        await client.get_json("/api/v2/users/me.json")
        revoked = True  # the old token dies while ten requests are on their way
        await asyncio.gather(*(client.get_json("/api/v2/users/me.json") for _ in range(10)))
    assert token_route.call_count == 1
    assert len(saved) == 1
    assert me.call_count == 1 + 20  # each of the ten: once with the old token, once with the new


@respx.mock(base_url=BASE, assert_all_called=False)
async def test_invalid_grant_says_reconnect(respx_mock: respx.MockRouter, config: ZendeskConfig) -> None:
    auth, saved = oauth(expires_in=-1)
    respx_mock.post("/oauth/tokens").mock(
        return_value=httpx.Response(
            400, json={"error": "invalid_grant", "error_description": "The refresh token is invalid."}
        )
    )
    me = respx_mock.get("/api/v2/users/me.json").mock(return_value=httpx.Response(200, json=ME))
    async with ZendeskClient(config, auth) as client:
        with pytest.raises(TokenRefreshError) as caught:
            await client.get_json("/api/v2/users/me.json")
    assert me.call_count == 0 and saved == []
    message = str(caught.value)
    assert "reconnect" in message and "refresh token expired or was revoked" in message
    assert caught.value.code == "invalid_grant" and caught.value.status == 400
    assert isinstance(caught.value, AuthenticationError)


@respx.mock(base_url=BASE)
async def test_token_endpoint_outage_is_retried(
    respx_mock: respx.MockRouter, config: ZendeskConfig, fake_time: FakeTime
) -> None:
    auth, saved = oauth(expires_in=-1)
    respx_mock.post("/oauth/tokens").mock(side_effect=[httpx.Response(503, text="down"), token_response(1)])
    respx_mock.get("/api/v2/users/me.json").mock(return_value=httpx.Response(200, json=ME))
    async with ZendeskClient(config, auth, sleep=fake_time.sleep) as client:
        assert await client.get_json("/api/v2/users/me.json") == ME
        assert client.stats.retries == 1
    assert [t.access_token for t in saved] == ["new-access-1"]


def test_oauth_credentials_of_another_host_are_refused(config: ZendeskConfig) -> None:
    auth = OAuthTokenAuth("https://other.zendesk.com/oauth/tokens", "id", "s", "a", "r", None, _noop)
    with pytest.raises(UnsafeURL):
        ZendeskClient(config, auth)


async def _noop(tokens: TokenSet) -> None:
    return None


# -- the account's own host only ----------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/api/v2/tickets.json?page[after]=x",
        "http://acme.zendesk.com/api/v2/tickets.json",  # plain http
        "https://acme.zendesk.com:8443/api/v2/tickets.json",  # another port
        "https://acme.zendesk.com.evil.example.com/api/v2/tickets.json",
        "https://acme.zendesk.com@evil.example.com/api/v2/tickets.json",
        "//evil.example.com/api/v2/tickets.json",
        "HTTPS://evil.example.com/api/v2/tickets.json",
    ],
)
async def test_foreign_next_page_is_refused_before_sending(url: str, client: ZendeskClient) -> None:
    with respx.mock(assert_all_called=False) as mock:
        mock.route().mock(return_value=httpx.Response(200, json={}))
        with pytest.raises(UnsafeURL) as caught:
            await client.get_json(url)
        assert mock.calls.call_count == 0
    assert "acme.zendesk.com" in str(caught.value)


@respx.mock(base_url=BASE)
def test_relative_paths_stay_on_the_account(client: ZendeskClient) -> None:
    for path in ("@evil.example.com/api/v2/x.json", "/api/v2/../../x", "api/v2/users/me.json"):
        assert client.resolve(path).host == "acme.zendesk.com"


@respx.mock(base_url=BASE)
async def test_own_absolute_next_page_is_followed(
    respx_mock: respx.MockRouter, client: ZendeskClient
) -> None:
    route = respx_mock.get("/api/v2/tickets.json", params={"page[after]": "abc"}).mock(
        return_value=httpx.Response(200, json={"tickets": [], "meta": {"has_more": False}})
    )
    page = await client.get_json(f"{BASE}/api/v2/tickets.json?page%5Bafter%5D=abc")
    assert page["meta"]["has_more"] is False
    assert route.call_count == 1


@respx.mock(base_url=BASE)
async def test_api_token_basic_auth_header(respx_mock: respx.MockRouter, client: ZendeskClient) -> None:
    route = respx_mock.get("/api/v2/users/me.json").mock(return_value=httpx.Response(200, json=ME))
    await client.get_json("api/v2/users/me.json")
    header = route.calls[0].request.headers["Authorization"]
    assert base64.b64decode(header.removeprefix("Basic ")) == b"admin@example.com/token:api-token-value"


# -- attachments -------------------------------------------------------------------------

CONTENT_URL = f"{BASE}/attachments/token/SECRETTOKEN/?name=report.pdf"
PRESIGNED = "https://storage.example.net/bucket/report.pdf?X-Amz-Signature=sig123&X-Amz-Expires=60"


@respx.mock
async def test_the_storage_host_is_checked_with_the_same_ca_bundle_read_once(
    respx_mock: respx.MockRouter, config: ZendeskConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The account's host and the pre-signed storage host are verified with one context: the
    CA bundle is read once (each read holds its own 0.66 MB of certificates)."""
    reads: list[object] = []
    original = ssl.SSLContext.load_verify_locations

    def counted(self: ssl.SSLContext, *args: Any, **kwargs: Any) -> None:
        reads.append(args or kwargs)
        original(self, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counted)
    respx_mock.get(CONTENT_URL).mock(return_value=httpx.Response(302, headers={"Location": PRESIGNED}))
    respx_mock.get(PRESIGNED).mock(return_value=httpx.Response(200, content=b"bytes"))
    auth, _ = oauth()
    async with ZendeskClient(config, auth) as client:
        await client.download(CONTENT_URL, tmp_path, max_bytes=1_000)
        assert client._anonymous is not None  # the storage host's client was made
    assert len(reads) == 1


@respx.mock
async def test_download_follows_302_without_credentials(
    respx_mock: respx.MockRouter, config: ZendeskConfig, tmp_path: Path
) -> None:
    payload = b"%PDF-1.7 " + bytes(range(256)) * 400
    auth, _ = oauth()
    first = respx_mock.get(CONTENT_URL).mock(
        return_value=httpx.Response(302, headers={"Location": PRESIGNED, "Set-Cookie": "session=abc; Path=/"})
    )
    storage = respx_mock.get(PRESIGNED).mock(
        return_value=httpx.Response(200, content=payload, headers={"Content-Type": "application/pdf"})
    )
    async with ZendeskClient(config, auth) as client:
        got = await client.download(CONTENT_URL, tmp_path, max_bytes=1_000_000)
        assert client.stats.requests_by_bucket == {"attachments-download": 1}

    assert first.calls[0].request.headers["Authorization"] == "Bearer old-access"
    presigned_request = storage.calls[0].request
    assert "authorization" not in presigned_request.headers
    assert "cookie" not in presigned_request.headers
    assert got.sha256 == hashlib.sha256(payload).hexdigest()
    assert got.size == len(payload)
    assert got.content_type == "application/pdf"
    assert got.path == tmp_path / got.sha256
    assert got.path.read_bytes() == payload
    assert [p.name async for p in anyio.Path(tmp_path).iterdir()] == [got.sha256]


@respx.mock
async def test_download_over_the_cap_is_abandoned(
    respx_mock: respx.MockRouter, client: ZendeskClient, tmp_path: Path
) -> None:
    respx_mock.get(CONTENT_URL).mock(return_value=httpx.Response(302, headers={"Location": PRESIGNED}))

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"x" * 1000

    respx_mock.get(PRESIGNED).mock(return_value=httpx.Response(200, content=chunks()))  # no Content-Length
    with pytest.raises(DownloadTooLarge) as caught:
        await client.download(CONTENT_URL, tmp_path, max_bytes=2500)
    assert "2,500-byte cap" in str(caught.value) and "raise the attachment size cap" in str(caught.value)
    assert [p async for p in anyio.Path(tmp_path).iterdir()] == []
    assert client.stats.retries == 0


@respx.mock
async def test_download_cut_short_is_retried(
    respx_mock: respx.MockRouter, client: ZendeskClient, tmp_path: Path
) -> None:
    payload = b"0123456789" * 100
    respx_mock.get(CONTENT_URL).mock(return_value=httpx.Response(302, headers={"Location": PRESIGNED}))
    respx_mock.get(PRESIGNED).mock(
        side_effect=[
            httpx.Response(200, content=payload[:500], headers={"Content-Length": str(len(payload))}),
            httpx.Response(200, content=payload),
        ]
    )
    got = await client.download(CONTENT_URL, tmp_path, max_bytes=10_000)
    assert got.path.read_bytes() == payload
    assert client.stats.retries == 1
    assert [p.name async for p in anyio.Path(tmp_path).iterdir()] == [got.sha256]


def _interned(text: str) -> bool:
    """Whether a string equal to ``text`` is in the interpreter's table of interned strings."""
    copy = text[:1] + text[1:]  # a new object equal to text
    return sys.intern(copy) is not copy


@respx.mock
async def test_a_download_into_the_store_interns_neither_its_hash_nor_its_temporary_name(
    respx_mock: respx.MockRouter, client: ZendeskClient, tmp_path: Path
) -> None:
    """A sync downloads a file per attachment: its names must not pass through pathlib, which
    interns every part of a path, and so grow the table of interned strings for good."""
    payload = b"%PDF-1.7 " + uuid.uuid4().bytes  # a hash no earlier test has seen
    respx_mock.get(CONTENT_URL).mock(return_value=httpx.Response(200, content=payload))
    temporary: list[str] = []
    with Store.open(tmp_path / "zensync.db") as store:

        def place(tmp: str, sha256: str) -> str:
            temporary.append(os.path.basename(tmp))
            return store.place_blob(tmp, sha256)

        got = await client.download(CONTENT_URL, store.blob_temp_folder(), max_bytes=10_000, place=place)
        assert len(temporary) == 1 and temporary[0].endswith(".part")
        assert not _interned(got.sha256)
        assert not _interned(temporary[0])
        # (a Path, as the checks below make, would intern them: hence after)
        assert got.path == store.blob_path(got.sha256) and got.path.read_bytes() == payload
        assert store.has_blob(got.sha256)


@respx.mock
async def test_download_into_a_given_file(
    respx_mock: respx.MockRouter, client: ZendeskClient, tmp_path: Path
) -> None:
    """A store hands over its own temporary file; the download replaces it, nothing else is left."""
    respx_mock.get(CONTENT_URL).mock(return_value=httpx.Response(200, content=b"hello"))
    dest = tmp_path / "download-123"
    dest.write_bytes(b"")
    got = await client.download(CONTENT_URL, dest, max_bytes=100)
    assert got.path == dest and dest.read_bytes() == b"hello"
    assert got.sha256 == hashlib.sha256(b"hello").hexdigest()
    assert [p.name async for p in anyio.Path(tmp_path).iterdir()] == ["download-123"]


async def test_malware_is_refused_unless_allowed(client: ZendeskClient, tmp_path: Path) -> None:
    with respx.mock(assert_all_called=False) as mock:
        mock.get(CONTENT_URL).mock(return_value=httpx.Response(200, content=b"EICAR"))
        with pytest.raises(MalwareDetected) as caught:
            await client.download(CONTENT_URL, tmp_path, max_bytes=100, malware_scan_result="malware_found")
        assert mock.calls.call_count == 0
        assert "allow_malware" in str(caught.value)
        got = await client.download(
            CONTENT_URL, tmp_path, max_bytes=100, malware_scan_result="malware_found", allow_malware=True
        )
    assert got.path.read_bytes() == b"EICAR"


async def test_download_of_a_foreign_content_url_is_refused(client: ZendeskClient, tmp_path: Path) -> None:
    with pytest.raises(UnsafeURL):
        await client.download("https://evil.example.com/attachments/token/x/?name=a", tmp_path, max_bytes=10)


# -- secrets stay secret -------------------------------------------------------------------


@respx.mock
async def test_no_secret_in_logs_or_errors(
    respx_mock: respx.MockRouter, config: ZendeskConfig, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="zensync")
    caplog.set_level(logging.DEBUG, logger="httpx")
    auth, _ = oauth()
    respx_mock.post(TOKEN_URL).mock(return_value=token_response(1))
    respx_mock.get(f"{BASE}/api/v2/users/me.json").mock(
        side_effect=[httpx.Response(401, json={"error": "invalid_token"}), httpx.Response(200, json=ME)]
    )
    respx_mock.get(CONTENT_URL).mock(return_value=httpx.Response(302, headers={"Location": PRESIGNED}))
    respx_mock.get(PRESIGNED).mock(
        return_value=httpx.Response(403, text="<Error>Request has expired</Error>")
    )
    errors: list[str] = []
    async with ZendeskClient(config, auth) as client:
        await client.get_json("/api/v2/users/me.json")
        with pytest.raises(PermissionDenied) as caught:
            await client.download(CONTENT_URL, tmp_path, max_bytes=100)
        errors.append(str(caught.value))
    text = caplog.text + "\n".join(errors) + repr(auth) + repr(auth.tokens)
    assert "GET" in caplog.text and "HTTP Request" in caplog.text  # requests were logged
    for secret in ("old-access", "old-refresh", "new-access-1", "new-refresh-1", CLIENT_SECRET,
                   "SECRETTOKEN", "sig123"):  # fmt: skip
        assert secret not in text
    assert "pre-signed" in errors[0]


# -- buckets and pacing ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "buckets"),
    [
        ("GET", "/api/v2/users/me.json", ["account"]),
        ("GET", "/api/v2/incremental/tickets/cursor.json", ["account", "incremental-exports"]),
        ("GET", "/api/v2/incremental/ticket_events.json", ["account", "incremental-exports"]),
        ("GET", "/api/v2/tickets.json", ["account", "tickets-index"]),
        ("GET", "/api/v2/tickets", ["account", "tickets-index"]),
        ("POST", "/api/v2/tickets.json", ["account"]),
        ("GET", "/api/v2/tickets/5/comments.json", ["account"]),
        ("GET", "/api/v2/deleted_tickets.json", ["account", "deleted-tickets-index"]),
        ("GET", "/attachments/token/abc/?name=a.png", ["attachments-download"]),
        ("POST", "/oauth/tokens", []),
    ],
)
def test_bucket_for(method: str, path: str, buckets: list[str], client: ZendeskClient) -> None:
    assert buckets_for(path, method) == buckets
    assert client.bucket_for(BASE + path, method) == buckets


def test_rate_limit_headers_are_read() -> None:
    headers = httpx.Headers(
        {
            "X-Rate-Limit": "700",
            "X-Rate-Limit-Remaining": "650",
            "ratelimit-limit": "700",
            "ratelimit-remaining": "650",
            "ratelimit-reset": "42",
            "Zendesk-RateLimit-incremental-exports": "total=10; remaining=3; resets=17",
            "Zendesk-RateLimit-tickets-index": "total=100, remaining=99, resets=5",
        }
    )
    assert parse_rate_limit_headers(headers) == {
        "account": Observation(700, 650, 42.0),
        "incremental-exports": Observation(10, 3, 17.0),
        "tickets-index": Observation(100, 99, 5.0),
    }
    only_legacy = parse_rate_limit_headers(
        httpx.Headers({"X-Rate-Limit": "200", "X-Rate-Limit-Remaining": "0"})
    )
    assert only_legacy == {"account": Observation(200, 0, None)}


async def test_pacer_waits_for_an_exhausted_bucket_to_reset(fake_time: FakeTime) -> None:
    pacer = Pacer(clock=fake_time.clock, sleep=fake_time.sleep)
    first = await pacer.acquire(["account", "incremental-exports"])
    pacer.release(
        first,
        {"ratelimit-limit": "700", "ratelimit-remaining": "500", "ratelimit-reset": "30",
         "Zendesk-RateLimit-incremental-exports": "total=10; remaining=0; resets=20"},
    )  # fmt: skip
    budget = pacer.budget("incremental-exports")
    assert (budget.limit, budget.remaining) == (10, 0)
    # Plain API calls do not wait for the export bucket...
    plain = await pacer.acquire(["account"])
    assert plain.waited == 0
    pacer.release(plain, None)
    # ...an export waits until its window resets (20 s), then goes as the probe.
    export = await pacer.acquire(["account", "incremental-exports"])
    assert 20 <= export.waited <= 21
    assert "incremental-exports" in export.probes


async def test_pacer_spreads_requests_when_little_is_left(fake_time: FakeTime) -> None:
    pacer = Pacer(clock=fake_time.clock, sleep=fake_time.sleep)
    reset_at = fake_time.now + 30
    remaining = 5  # what the server has left in this window

    def answer() -> dict[str, str]:
        resets = math.ceil(reset_at - fake_time.now)
        return {
            "ratelimit-limit": "200",
            "ratelimit-remaining": str(remaining),
            "ratelimit-reset": str(resets),
        }

    first = await pacer.acquire(["account"])
    pacer.release(first, answer())
    sent_at = []
    for _ in range(5):
        reservation = await pacer.acquire(["account"])
        sent_at.append(fake_time.now)
        remaining -= 1
        pacer.release(reservation, answer())
    gaps = [b - a for a, b in itertools.pairwise(sent_at)]
    assert all(gap >= 4.0 for gap in gaps)  # 5 left over 30 s: about one every 5 s, not all at once
    assert sent_at[-1] < reset_at
    # The window is used up: the next request waits for the reset.
    after = await pacer.acquire(["account"])
    assert fake_time.now >= reset_at and after.probes == {"account"}


async def test_pacer_lets_one_probe_learn_the_limit_before_a_burst() -> None:
    pacer = Pacer()
    probe = await pacer.acquire(["account"])
    assert probe.probes == {"account"}
    waiting = asyncio.create_task(pacer.acquire(["account"]))
    await asyncio.sleep(0.05)
    assert not waiting.done()  # held back until the probe's answer tells the limit
    pacer.release(probe, {"ratelimit-limit": "200", "ratelimit-remaining": "199", "ratelimit-reset": "60"})
    follower = await asyncio.wait_for(waiting, 1)
    assert follower.probes == frozenset()
    assert pacer.budget("account").in_flight == 1


@respx.mock(base_url=BASE)
async def test_budget_reflects_the_last_response(respx_mock: respx.MockRouter, client: ZendeskClient) -> None:
    respx_mock.get("/api/v2/incremental/tickets/cursor.json").mock(
        return_value=httpx.Response(
            200,
            json={"tickets": [], "end_of_stream": True},
            headers={
                "X-Rate-Limit": "400",
                "X-Rate-Limit-Remaining": "398",
                "Zendesk-RateLimit-incremental-exports": "total=10; remaining=9; resets=55",
            },
        )
    )
    await client.get_json("/api/v2/incremental/tickets/cursor.json", params={"start_time": 0})
    exports = client.budget("incremental-exports")
    assert (exports.limit, exports.remaining, exports.in_flight) == (10, 9, 0)
    assert exports.reset_at is not None
    assert (client.budget("account").limit, client.budget("account").remaining) == (400, 398)


@respx.mock(base_url=BASE)
async def test_post_carries_one_idempotency_key_across_retries(
    respx_mock: respx.MockRouter, client: ZendeskClient
) -> None:
    route = respx_mock.post("/api/v2/tickets.json").mock(
        side_effect=[httpx.Response(503, text="busy"), httpx.Response(201, json={"ticket": {"id": 5}})]
    )
    assert await client.request_json("POST", "/api/v2/tickets.json", json={"ticket": {"subject": "x"}}) == {
        "ticket": {"id": 5}
    }
    keys = {c.request.headers["Idempotency-Key"] for c in route.calls}
    assert len(keys) == 1 and route.call_count == 2


@respx.mock(base_url=BASE)
async def test_unexpected_redirect_on_json_is_not_followed(
    respx_mock: respx.MockRouter, client: ZendeskClient
) -> None:
    respx_mock.get("/api/v2/users/me.json").mock(
        return_value=httpx.Response(302, headers={"Location": "https://login.example.com/?token=abc"})
    )
    with pytest.raises(BadResponse) as caught:
        await client.get_json("/api/v2/users/me.json")
    assert "unexpected redirect" in str(caught.value) and "abc" not in str(caught.value)
    assert client.stats.retries == 0


@respx.mock(base_url=BASE)
async def test_connection_refused_gives_up_cleanly(
    respx_mock: respx.MockRouter, config: ZendeskConfig, fake_time: FakeTime
) -> None:
    respx_mock.get("/api/v2/users/me.json").mock(side_effect=httpx.ConnectError("refused"))
    async with ZendeskClient(
        config, BearerAuth("t"), max_retries=2, sleep=fake_time.sleep, pacer=Pacer(clock=fake_time.clock)
    ) as client:
        with pytest.raises(ConnectionFailed) as caught:
            await client.get_json("/api/v2/users/me.json")
    assert caught.value.attempts == 3
    assert "ConnectError" in str(caught.value)


# -- reading answers --------------------------------------------------------------------


class _Body(httpx.AsyncByteStream):
    """An answer's body arriving in 64 kB chunks made as they are sent (none held here), and
    optionally cut short after ``fail_after`` chunks the way a dropped connection is."""

    def __init__(self, size: int, *, fail_after: int | None = None) -> None:
        self.size = size
        self.fail_after = fail_after

    async def __aiter__(self) -> AsyncIterator[bytes]:
        head, tail = b'{"pad": "', b'"}'
        sent, chunks = 0, 0
        chunk = 64 * 1024
        while sent < self.size:
            if self.fail_after is not None and chunks == self.fail_after:
                raise httpx.RemoteProtocolError("peer closed connection without sending complete body")
            n = min(chunk, self.size - sent)
            if sent == 0:
                part = head + b"x" * (n - len(head))
            elif sent + n == self.size:
                part = b"x" * (n - len(tail)) + tail
            else:
                part = b"x" * n
            sent += n
            chunks += 1
            yield part


def _measured(body: bytes | bytearray) -> dict[str, Any]:
    return {"size": len(body), "starts": bytes(body[:9]), "ends": bytes(body[-2:])}


@respx.mock(base_url=BASE)
async def test_an_answer_is_read_into_one_buffer_not_held_twice(
    respx_mock: respx.MockRouter, client: ZendeskClient
) -> None:
    """A 4 MB answer costs about 4 MB to read: httpx's own read keeps every chunk until the
    last has come and then joins them (8 MB at once)."""
    import tracemalloc

    size = 4 * 1024 * 1024
    respx_mock.get("/api/v2/incremental/tickets/cursor.json").mock(
        side_effect=lambda request: httpx.Response(
            200,
            headers={"Content-Type": "application/json", "Content-Length": str(size)},
            stream=_Body(size),
        )
    )
    tracemalloc.start()
    try:
        got = await client.get_json("/api/v2/incremental/tickets/cursor.json", decode=_measured)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert got == {"size": size, "starts": b'{"pad": "', "ends": b'"}'}
    assert peak < 1.3 * size, f"reading a {size}-byte answer held {peak} bytes at once"


@respx.mock(base_url=BASE)
async def test_an_answer_without_a_length_or_compressed_is_read_whole(
    respx_mock: respx.MockRouter, client: ZendeskClient
) -> None:
    import gzip

    document = {"tickets": [{"id": i, "subject": f"Printer {i} is on fire"} for i in range(2000)]}
    raw = json.dumps(document).encode()
    respx_mock.get("/api/v2/tickets.json").mock(
        side_effect=[
            # chunked: no Content-Length, the buffer grows
            httpx.Response(200, headers={"Content-Type": "application/json"}, stream=_Chunks(raw)),
            # gzip: the length is the compressed one, the body read is the decompressed one
            httpx.Response(
                200,
                headers={
                    "Content-Type": "application/json",
                    "Content-Encoding": "gzip",
                    "Content-Length": str(len(gzip.compress(raw))),
                },
                content=gzip.compress(raw),
            ),
            # shorter than a buffer would be if sized wrongly: still exactly the body
            httpx.Response(200, headers={"Content-Type": "application/json"}, content=b'  {"count": 3}  '),
            httpx.Response(200, headers={"Content-Type": "application/json"}, content=b"  \n"),
        ]
    )
    assert await client.get_json("/api/v2/tickets.json") == document
    assert await client.get_json("/api/v2/tickets.json") == document
    assert await client.get_json("/api/v2/tickets.json") == {"count": 3}
    assert await client.get_json("/api/v2/tickets.json") == {}


class _Chunks(httpx.AsyncByteStream):
    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for at in range(0, len(self.raw), 1000):
            yield self.raw[at : at + 1000]


@respx.mock(base_url=BASE)
async def test_an_answer_cut_short_while_arriving_is_retried(
    respx_mock: respx.MockRouter, client: ZendeskClient
) -> None:
    size = 1024 * 1024
    route = respx_mock.get("/api/v2/tickets.json").mock(
        side_effect=[
            httpx.Response(200, headers={"Content-Length": str(size)}, stream=_Body(size, fail_after=3)),
            httpx.Response(200, headers={"Content-Length": str(size)}, stream=_Body(size)),
        ]
    )
    got = await client.get_json("/api/v2/tickets.json", decode=_measured)
    assert got["size"] == size
    assert route.call_count == 2
    assert client.stats.retries == 1


@respx.mock(base_url=BASE)
async def test_a_redirect_from_the_json_api_is_an_error_not_a_body(
    respx_mock: respx.MockRouter, client: ZendeskClient
) -> None:
    respx_mock.get("/api/v2/tickets.json").mock(
        return_value=httpx.Response(302, headers={"Location": "https://elsewhere.example/"}, content=b"moved")
    )
    with pytest.raises(ZendeskError) as caught:
        await client.get_json("/api/v2/tickets.json")
    assert caught.value.status == 302
