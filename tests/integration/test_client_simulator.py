"""ZendeskClient against the simulator over real HTTP: auth kinds, errors, pacing, faults, downloads."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import secrets
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx
import pytest

from zendesk_simulator.testing import SimulatorHandle, running_simulator
from zensync.config import ZendeskConfig
from zensync.zendesk import (
    ApiTokenAuth,
    AuthenticationError,
    BearerAuth,
    ConnectionFailed,
    NotFound,
    OAuthTokenAuth,
    PermissionDenied,
    RateLimited,
    TokenRefreshError,
    TokenSet,
    UnsafeURL,
    ZendeskClient,
)
from zensync.zendesk.client import DEFAULT_MAX_RETRIES, DEFAULT_MAX_TOTAL_WAIT
from zensync.zendesk.ratelimit import Pacer, Reservation

REDIRECT_URI = "http://localhost:8001/source-connections/callback"
STATIC_TOKEN = "client-tests-static-token"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorHandle]:
    """A small account with OAuth auto-consent; tests here only read (and upload) from it."""
    with running_simulator(
        tickets=20, seed=11, auto_consent=True, static_access_token=STATIC_TOKEN
    ) as handle:
        yield handle


def config_for(sim: SimulatorHandle) -> ZendeskConfig:
    return ZendeskConfig(subdomain=sim.subdomain, base_url=sim.base_url)


async def test_users_me_with_api_token(sim: SimulatorHandle) -> None:
    async with ZendeskClient(config_for(sim), ApiTokenAuth(sim.admin_email, sim.api_token)) as client:
        me = (await client.get_json("/api/v2/users/me.json"))["user"]
        assert (me["email"], me["role"]) == (sim.admin_email, "admin")
        assert client.budget("account").limit == 700  # the default plan: Enterprise
        assert client.stats.requests_by_bucket == {"account": 1}


async def test_wrong_api_token_is_refused_without_retries(sim: SimulatorHandle) -> None:
    async with ZendeskClient(config_for(sim), ApiTokenAuth(sim.admin_email, "not-the-token")) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.get_json("/api/v2/users/me.json")
    assert caught.value.status == 401 and caught.value.attempts == 1
    assert "email and API token" in str(caught.value)
    assert "not-the-token" not in str(caught.value)


async def test_users_me_with_static_bearer_token(sim: SimulatorHandle) -> None:
    async with ZendeskClient(config_for(sim), BearerAuth(STATIC_TOKEN)) as client:
        me = (await client.get_json("/api/v2/users/me.json"))["user"]
    assert me["email"] == sim.admin_email


async def _authorize(sim: SimulatorHandle, scope: str = "read write") -> dict[str, Any]:
    """A real authorization-code grant: consent (auto-approved) and the code exchange."""
    state = secrets.token_urlsafe(8)
    async with httpx.AsyncClient(base_url=sim.base_url, follow_redirects=False) as http:
        consent = await http.get(
            "/oauth/authorizations/new",
            params={
                "response_type": "code",
                "client_id": sim.oauth_client_id,
                "redirect_uri": REDIRECT_URI,
                "scope": scope,
                "state": state,
            },
        )
        assert consent.status_code == 302, consent.text
        query = parse_qs(urlsplit(consent.headers["location"]).query)
        assert query["state"] == [state]
        exchange = await http.post(
            "/oauth/tokens",
            json={
                "grant_type": "authorization_code",
                "code": query["code"][0],
                "client_id": sim.oauth_client_id,
                "client_secret": sim.oauth_client_secret,
                "redirect_uri": REDIRECT_URI,
                "scope": scope,
            },
        )
    assert exchange.status_code == 201, exchange.text
    tokens: dict[str, Any] = exchange.json()
    return tokens


async def test_oauth_tokens_refresh_and_rotate(sim: SimulatorHandle) -> None:
    granted = await _authorize(sim)
    saved: list[TokenSet] = []

    async def persist(tokens: TokenSet) -> None:
        saved.append(tokens)

    config = config_for(sim)
    token_url = f"{config.api_base}/oauth/tokens"
    # The stored token is already past its expiry: the client must refresh before sending.
    auth = OAuthTokenAuth(
        token_url,
        sim.oauth_client_id,
        sim.oauth_client_secret,
        granted["access_token"],
        granted["refresh_token"],
        datetime.now(UTC),
        persist,
    )
    async with ZendeskClient(config, auth) as client:
        me = (await client.get_json("/api/v2/users/me.json"))["user"]
    assert me["email"] == sim.admin_email
    assert len(saved) == 1 and auth.refreshes == 1
    new = saved[0]
    assert new.access_token != granted["access_token"] and new.refresh_token != granted["refresh_token"]
    assert new.expires_at is not None and new.expires_at > datetime.now(UTC)
    assert auth.tokens == new

    # Rotation: the old pair is gone. The old access token gets 401, the old refresh token
    # can no longer be used.
    async with ZendeskClient(config, BearerAuth(granted["access_token"])) as client:
        with pytest.raises(AuthenticationError):
            await client.get_json("/api/v2/users/me.json")
    stale = OAuthTokenAuth(
        token_url,
        sim.oauth_client_id,
        sim.oauth_client_secret,
        granted["access_token"],
        granted["refresh_token"],
        datetime.now(UTC),
        persist,
    )
    async with ZendeskClient(config, stale) as client:
        with pytest.raises(TokenRefreshError) as caught:
            await client.get_json("/api/v2/users/me.json")
    assert caught.value.code == "invalid_grant"
    assert "refresh token expired or was revoked" in str(caught.value)
    assert len(saved) == 1

    # The rotated pair keeps working.
    fresh = OAuthTokenAuth(
        token_url, sim.oauth_client_id, sim.oauth_client_secret, new.access_token, new.refresh_token,
        new.expires_at, persist,
    )  # fmt: skip
    async with ZendeskClient(config, fresh) as client:
        assert (await client.get_json("/api/v2/users/me.json"))["user"]["email"] == sim.admin_email
    assert fresh.refreshes == 0


async def test_read_only_token_is_told_it_lacks_the_write_scope(sim: SimulatorHandle) -> None:
    granted = await _authorize(sim, scope="read")
    async with ZendeskClient(config_for(sim), BearerAuth(granted["access_token"])) as client:
        assert (await client.get_json("/api/v2/users/me.json"))["user"]["email"] == sim.admin_email
        with pytest.raises(PermissionDenied) as caught:
            await client.request_json("POST", "/api/v2/tickets.json", json={"ticket": {"subject": "x"}})
    assert caught.value.status == 403 and caught.value.attempts == 1
    assert "lacks the write scope" in str(caught.value)


async def test_agent_is_told_exports_need_an_admin(sim: SimulatorHandle) -> None:
    async with ZendeskClient(config_for(sim), ApiTokenAuth(sim.agent_email, sim.api_token)) as client:
        with pytest.raises(PermissionDenied) as caught:
            await client.get_json("/api/v2/incremental/tickets/cursor.json", params={"start_time": 0})
    assert caught.value.status == 403 and caught.value.attempts == 1
    assert "must be a Zendesk admin" in str(caught.value)


async def test_an_answer_is_let_go_once_parsed_without_waiting_for_the_garbage_collector(
    sim: SimulatorHandle,
) -> None:
    """Memory flat with size: a JSON answer's response (and its body, megabytes for a page of
    1,000 tickets) is freed as soon as it is parsed, not left in a reference cycle for
    Python's cyclic garbage collector to find later (encode/httpx#3733)."""

    TICKETS_EXPORT = "/api/v2/incremental/tickets/cursor.json"

    def responses_alive() -> int:
        return sum(1 for o in gc.get_objects() if isinstance(o, httpx.Response))

    async with ZendeskClient(config_for(sim), ApiTokenAuth(sim.admin_email, sim.api_token)) as client:
        gc.collect()
        gc.disable()
        try:
            before = responses_alive()
            for _ in range(5):
                page = await client.get_json(TICKETS_EXPORT, params={"start_time": 0})
                assert page["tickets"]
            left = responses_alive() - before
        finally:
            gc.enable()
    assert left == 0


async def test_missing_ticket_is_not_found(sim: SimulatorHandle) -> None:
    async with ZendeskClient(config_for(sim), ApiTokenAuth(sim.admin_email, sim.api_token)) as client:
        with pytest.raises(NotFound) as caught:
            await client.get_json("/api/v2/tickets/987654321.json")
    assert caught.value.code == "RecordNotFound"


async def test_cursor_pages_follow_links_on_the_account_only(sim: SimulatorHandle) -> None:
    async with ZendeskClient(config_for(sim), ApiTokenAuth(sim.admin_email, sim.api_token)) as client:
        users: list[dict[str, Any]] = []
        page = await client.get_json("/api/v2/users.json", params={"page[size]": 7})
        while True:
            users += page["users"]
            if not page["meta"]["has_more"]:
                break
            page = await client.get_json(page["links"]["next"])  # absolute URL on the simulator
        foreign = page["links"]["next"] or f"{sim.base_url}/api/v2/users.json"
        with pytest.raises(UnsafeURL):
            await client.get_json(foreign.replace("127.0.0.1", "localhost"))
    assert len({u["id"] for u in users}) == len(users) > 7


async def _upload(sim: SimulatorHandle, name: str, content: bytes) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=sim.base_url) as http:
        response = await http.post(
            "/api/v2/uploads",
            params={"filename": name},
            content=content,
            headers={"Authorization": sim.basic_auth_header(), "Content-Type": "application/pdf"},
        )
    assert response.status_code == 201, response.text
    attachment: dict[str, Any] = response.json()["upload"]["attachment"]
    return attachment


async def test_attachment_download_through_the_presigned_redirect(
    sim: SimulatorHandle, tmp_path: Path
) -> None:
    content = b"%PDF-1.4\n" + secrets.token_bytes(150_000)
    attachment = await _upload(sim, "quarterly report.pdf", content)
    before = sim.stats()["buckets"].get("attachments-download", 0)

    async with ZendeskClient(config_for(sim), ApiTokenAuth(sim.admin_email, sim.api_token)) as client:
        got = await client.download(attachment["content_url"], tmp_path, max_bytes=1_000_000)
        assert client.stats.requests_by_bucket == {"attachments-download": 1}

    assert got.sha256 == hashlib.sha256(content).hexdigest()
    assert got.size == len(content)
    assert got.content_type is not None and got.content_type.startswith("application/pdf")
    assert await anyio.Path(got.path).read_bytes() == content
    assert sim.stats()["buckets"]["attachments-download"] == before + 1

    # The storage host refuses any request that carries credentials (as S3 does), so the
    # successful download above proves none were sent there. Control: one that does send them.
    async with httpx.AsyncClient(follow_redirects=False) as http:
        auth = {"Authorization": sim.basic_auth_header()}
        redirect = await http.get(attachment["content_url"], headers=auth)
        assert redirect.status_code == 302
        assert urlsplit(redirect.headers["location"]).hostname != urlsplit(sim.base_url).hostname
        leaked = await http.get(redirect.headers["location"], headers=auth)
    assert leaked.status_code == 400 and b"Only one auth mechanism allowed" in leaked.content


async def test_attachment_over_the_cap_leaves_nothing(sim: SimulatorHandle, tmp_path: Path) -> None:
    attachment = await _upload(sim, "big.bin", b"x" * 50_000)
    async with ZendeskClient(config_for(sim), ApiTokenAuth(sim.admin_email, sim.api_token)) as client:
        with pytest.raises(Exception, match="10,000-byte cap"):
            await client.download(attachment["content_url"], tmp_path, max_bytes=10_000)
    assert [p async for p in anyio.Path(tmp_path).iterdir()] == []


class NoPacing(Pacer):
    """Sends at once, whatever the buckets say: the control that shows the limit is real."""

    async def acquire(self, buckets: Iterable[str]) -> Reservation:
        return Reservation(tuple(buckets), frozenset(), 0.0)


async def test_pacing_keeps_429s_rare_on_a_team_plan_burst() -> None:
    """300 requests at once against a 200-a-"minute" plan whose minute lasts 3 seconds."""
    with running_simulator(tickets=20, plan="team", minute_seconds=3) as sim:
        auth = ApiTokenAuth(sim.admin_email, sim.api_token)
        async with ZendeskClient(config_for(sim), auth) as client:
            started = time.monotonic()
            results = await asyncio.gather(*(client.get_json("/api/v2/users/me.json") for _ in range(300)))
            elapsed = time.monotonic() - started
            stats = client.stats
        served = sim.stats()

    # Control: a burst without pacing (and without retries) runs into the same plan's limit. It
    # runs against a real-length minute and sends 450 requests, more than two windows' worth
    # (200 each), so however slowly a loaded machine delivers them, and wherever a window
    # boundary falls, at least 50 are refused.
    with running_simulator(tickets=20, plan="team", minute_seconds=60) as control:
        control_auth = ApiTokenAuth(control.admin_email, control.api_token)
        unpaced = ZendeskClient(config_for(control), control_auth, pacer=NoPacing(), max_retries=0)
        async with unpaced:
            outcomes = await asyncio.gather(
                *(unpaced.get_json("/api/v2/users/me.json") for _ in range(450)), return_exceptions=True
            )
    assert all(r["user"]["email"] == sim.admin_email for r in results)
    assert stats.requests_by_bucket["account"] == 300 + stats.rate_limited
    assert served["buckets"]["account"] == 300
    assert served["rate_limited"] == stats.rate_limited
    assert stats.rate_limited <= 3, f"{stats.rate_limited} 429s for 300 requests"
    assert stats.paced_seconds > 0
    assert elapsed < 15, elapsed
    refused = sum(isinstance(o, RateLimited) for o in outcomes)
    assert refused >= 50, f"unpaced: {refused} refused, paced: {stats.rate_limited}"
    print(
        f"\nburst: 300 requests in {elapsed:.1f} s, {stats.rate_limited} 429s "
        f"(unpaced control: {refused} 429s)"
    )


async def test_a_paced_burst_with_late_answers_gets_no_429() -> None:
    """Twelve workers send 200 requests one after another against a 40-a-"minute" plan whose
    minute lasts 5 seconds, while a fifth of the answers come 2.5 s late carrying the rate-limit
    numbers of when they were counted (the simulator's ``slow`` fault). A worker whose late
    answer arrives sends its next request at once: the pacer must place that answer in the
    window it was counted in, and not take its old ``remaining`` for a new window's budget.

    (Reading each answer's reset as "read + reset" did: a late answer from early in a window
    looked like a new window with most of its budget left, and the requests that followed it
    were refused.) Counts only: however slowly a loaded machine delivers the answers, each is
    still placed in its own window.
    """
    flags = {"plan_limit_override": 40, "minute_seconds": 5, "fault_rate": 0.2, "fault_kinds": "slow"}
    with running_simulator(tickets=5, slow_seconds=2.5, **flags) as sim:
        auth = ApiTokenAuth(sim.admin_email, sim.api_token)
        answered: list[str] = []
        async with ZendeskClient(config_for(sim), auth) as client:

            async def worker(count: int) -> None:
                for _ in range(count):
                    answered.append((await client.get_json("/api/v2/users/me.json"))["user"]["email"])

            await asyncio.gather(*(worker(17 if i < 8 else 16) for i in range(12)))
            stats = client.stats
        served = sim.stats()
    assert answered == [sim.admin_email] * 200
    assert served["faults"] >= 15, "too few late answers to test anything"
    assert (stats.rate_limited, served["rate_limited"]) == (0, 0)
    # Every request the simulator counted was answered; the client may have sent one more for
    # a request that never reached it (a pooled connection closed under it, retried at once).
    assert served["buckets"]["account"] == 200
    assert stats.requests_by_bucket["account"] == 200 + stats.retries


async def test_faults_are_retried_until_every_request_succeeds(tmp_path: Path) -> None:
    with running_simulator(tickets=20, seed=5, fault_rate=0.2, minute_seconds=2) as sim:
        upload_content = secrets.token_bytes(20_000)
        # Uploading is a write the faults may also hit; retry it by hand (it is test set-up).
        attachment = None
        for _ in range(10):
            try:
                attachment = await _upload(sim, "faulty.bin", upload_content)
                break
            except (AssertionError, httpx.TransportError):
                continue
        assert attachment is not None
        async with ZendeskClient(
            config_for(sim), ApiTokenAuth(sim.admin_email, sim.api_token), backoff=0.05, max_backoff=0.5
        ) as client:
            listed = await client.get_json("/api/v2/tickets.json", params={"page[size]": 100})
            ids = [t["id"] for t in listed["tickets"]]
            sem = asyncio.Semaphore(10)

            async def one(i: int) -> dict[str, Any]:
                async with sem:
                    path = "/api/v2/users/me.json" if i % 2 else f"/api/v2/tickets/{ids[i % len(ids)]}.json"
                    return await client.get_json(path)

            results = await asyncio.gather(*(one(i) for i in range(120)))
            downloads = [
                await client.download(attachment["content_url"], tmp_path / str(n), max_bytes=100_000)
                for n in range(5)
            ]
            stats = client.stats
        served = sim.stats()
    assert len(results) == 120
    assert all(("user" in r) or ("ticket" in r) for r in results)
    assert {d.sha256 for d in downloads} == {hashlib.sha256(upload_content).hexdigest()}
    assert served["faults"] > 0
    assert 0 < stats.retries <= served["faults"]
    print(f"\nfaults: {served['faults']} served, {stats.retries} retries, {stats.requests} requests")



async def test_the_quick_credential_check_fails_fast_on_a_closed_port() -> None:
    """The pre-sync check's budget (one retry within 5 s; 429s have the full budget, see
    tests/unit/test_client.py) gives up on a host that does not answer within seconds."""
    check: dict[str, Any] = {
        "max_retries": 1,
        "max_total_wait": 5.0,
        "rate_limit_retries": DEFAULT_MAX_RETRIES,
        "rate_limit_wait": DEFAULT_MAX_TOTAL_WAIT,
    }
    closed = ZendeskConfig(subdomain="acme", base_url="http://127.0.0.1:9")
    async with ZendeskClient(closed, ApiTokenAuth("a@example.com", "t"), **check) as client:
        started = time.monotonic()
        with pytest.raises(ConnectionFailed):
            await client.get_json("/api/v2/users/me.json")
        assert time.monotonic() - started < 6


async def test_https_with_a_private_ca_is_verified_for_the_api_and_the_storage_host(tmp_path: Path) -> None:
    """Zendesk is HTTPS only: ``verify=`` (an SSLContext of the account's CA) is used for the
    account's host and for the pre-signed storage host; without it the certificate is refused."""
    import importlib.util

    helper = Path(__file__).parents[1] / "simulator" / "test_data_api.py"
    spec = importlib.util.spec_from_file_location("zensync_tls_helper", helper)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    certfile, keyfile = module.self_signed_certificate(tmp_path)
    with running_simulator(tickets=5, ssl_certfile=certfile, ssl_keyfile=keyfile) as sim:
        assert sim.base_url.startswith("https://")
        auth = ApiTokenAuth(sim.admin_email, sim.api_token)
        upload = await _upload_verified(sim, b"%PDF-1.4 over TLS")
        async with ZendeskClient(config_for(sim), auth, verify=sim.verify) as client:
            saved = await client.download(upload["content_url"], tmp_path, max_bytes=10_000)
        assert saved.path.read_bytes() == b"%PDF-1.4 over TLS"
        async with ZendeskClient(config_for(sim), auth, max_retries=0) as untrusting:
            with pytest.raises(ConnectionFailed):
                await untrusting.get_json("/api/v2/users/me.json")


async def _upload_verified(sim: SimulatorHandle, content: bytes) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=sim.base_url, verify=sim.verify) as http:
        response = await http.post(
            "/api/v2/uploads",
            params={"filename": "tls.pdf"},
            content=content,
            headers={"Authorization": sim.basic_auth_header(), "Content-Type": "application/pdf"},
        )
    assert response.status_code == 201, response.text
    attachment: dict[str, Any] = response.json()["upload"]["attachment"]
    return attachment
