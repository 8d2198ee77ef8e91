"""An OAuth access token that expires while a sync is running.

Zendesk access tokens expire (30 minutes by default) and every refresh rotates the pair
(api-reference.md, "OAuth Tokens for Grant Types"). A sync of a large account outlives its
token: the client must refresh mid-run, hand each new pair to the caller before using it, and
lose nothing. The simulator issues 3-second tokens here so a small sync needs several refreshes.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from zendesk_simulator.config import DEFAULT_REDIRECT_URI
from zendesk_simulator.testing import SimulatorHandle, running_simulator
from zensync.config import ZendeskConfig
from zensync.entities import SourcePage
from zensync.source import ZendeskSource
from zensync.zendesk.auth import OAuthTokenAuth, TokenSet
from zensync.zendesk.client import ZendeskClient

TOKEN_SECONDS = 3


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorHandle]:
    # A small plan limit stretches the sync over several token lifetimes.
    with running_simulator(
        tickets=60, seed=5, auto_consent=True, access_token_ttl=TOKEN_SECONDS,
        minute_seconds=1, plan_limit_override=10,
    ) as handle:  # fmt: skip
        yield handle


def authorize(sim: SimulatorHandle) -> dict[str, Any]:
    """A real authorization-code grant against the simulator's OAuth server."""
    state = secrets.token_urlsafe(8)
    with httpx.Client(base_url=sim.base_url, follow_redirects=False, timeout=30) as http:
        consent = http.get(
            "/oauth/authorizations/new",
            params={
                "response_type": "code",
                "client_id": sim.oauth_client_id,
                "redirect_uri": DEFAULT_REDIRECT_URI,
                "scope": "read write",
                "state": state,
            },
        )
        assert consent.status_code == 302, consent.text
        code = parse_qs(urlsplit(consent.headers["location"]).query)["code"][0]
        exchange = http.post(
            "/oauth/tokens",
            json={
                "grant_type": "authorization_code",
                "code": code,
                "client_id": sim.oauth_client_id,
                "client_secret": sim.oauth_client_secret,
                "redirect_uri": DEFAULT_REDIRECT_URI,
            },
        )
    assert exchange.status_code == 201, exchange.text
    body: dict[str, Any] = exchange.json()
    return body


async def test_a_sync_outliving_its_access_token_refreshes_and_loses_nothing(sim: SimulatorHandle) -> None:
    granted = authorize(sim)
    assert granted["expires_in"] == TOKEN_SECONDS
    saved: list[TokenSet] = []

    async def persist(tokens: TokenSet) -> None:
        saved.append(tokens)

    config = ZendeskConfig(subdomain=sim.subdomain, base_url=sim.base_url)
    auth = OAuthTokenAuth(
        f"{config.api_base}/oauth/tokens",
        sim.oauth_client_id,
        sim.oauth_client_secret,
        granted["access_token"],
        granted["refresh_token"],
        datetime.now(UTC).timestamp() + granted["expires_in"],
        persist,
    )
    started = datetime.now(UTC)
    pages: list[SourcePage] = []
    async with ZendeskClient(config, auth) as client:
        source = ZendeskSource(client, config, comment_strategy="per_ticket")
        pages = [page async for page in source.generate_entities(None)]
    seconds = (datetime.now(UTC) - started).total_seconds()

    # The run outlived several tokens, and each rotation reached the caller.
    assert auth.refreshes >= 2, f"{auth.refreshes} refreshes in {seconds:.1f} s"
    assert len(saved) == auth.refreshes
    assert len({t.refresh_token for t in saved}) == len(saved)
    assert auth.tokens == saved[-1]

    # Nothing was lost: every object of the account arrived.
    seen: dict[str, set[str]] = {}
    for page in pages:
        for entity in page.entities:
            seen.setdefault(entity.entity_type, set()).add(entity.entity_id)
        for deletion in page.deletions:
            seen.get(deletion.entity_type, set()).discard(deletion.entity_id)
    truth = sim.truth()
    for kind in ("ticket", "comment", "user", "organization", "attachment"):
        assert len(seen.get(kind, set())) == truth[kind], kind

    # Rotation: only the last pair is alive at Zendesk.
    async with httpx.AsyncClient(base_url=sim.base_url, timeout=30) as http:
        stale = await http.post(
            "/oauth/tokens",
            json={
                "grant_type": "refresh_token",
                "refresh_token": granted["refresh_token"],
                "client_id": sim.oauth_client_id,
                "client_secret": sim.oauth_client_secret,
            },
        )
        assert stale.status_code in (400, 401) and stale.json()["error"] == "invalid_grant"
