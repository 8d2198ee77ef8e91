"""`zensync serve` answers MCP over streamable HTTP at /mcp, behind the service's API key."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

KEY = "mcp-test-api-key-0123456789"


@pytest.fixture(scope="module")
def served(kit: Any, synced_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`zensync serve` with an API key over a copy of the synced database; yields its base URL."""
    folder = tmp_path_factory.mktemp("mcp-serve")
    db = folder / "served.db"
    shutil.copy2(synced_db, db)
    shutil.copytree(f"{synced_db}.blobs", f"{db}.blobs")
    with kit.serving(db, folder, ZENSYNC_API_KEY=KEY) as base:
        yield base


@asynccontextmanager
async def mcp_session(url: str, headers: dict[str, str]) -> AsyncIterator[ClientSession]:
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


async def test_every_tool_over_http_agrees_with_the_simulator(kit: Any, served: str, truth: Any) -> None:
    async with mcp_session(f"{served}/mcp", {"Authorization": f"Bearer {KEY}"}) as session:
        await kit.check_against_truth(session, truth)
    async with mcp_session(f"{served}/mcp", {"X-API-Key": KEY}) as session:
        await kit.check_errors(session)


def test_mcp_needs_the_api_key(served: str) -> None:
    hello = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"},
        },
    }
    headers = {"Accept": "application/json, text/event-stream"}
    anonymous = httpx.post(f"{served}/mcp", json=hello, headers=headers, timeout=10)
    assert anonymous.status_code == 401
    assert "API key" in anonymous.json()["detail"]
    wrong = httpx.post(f"{served}/mcp", json=hello, headers={**headers, "X-API-Key": "x" * 30}, timeout=10)
    assert wrong.status_code == 401
    keyed = httpx.post(f"{served}/mcp", json=hello, headers={**headers, "X-API-Key": KEY}, timeout=10)
    assert keyed.status_code == 200, keyed.text
    assert keyed.json()["result"]["serverInfo"]["name"] == "zensync"
    # A page on another origin cannot drive the local server through the browser (DNS rebinding).
    rebound = httpx.post(
        f"{served}/mcp", json=hello, headers={**headers, "X-API-Key": KEY, "Host": "evil.example"}, timeout=10
    )
    assert rebound.status_code == 400 and "--allowed-host" in rebound.text
