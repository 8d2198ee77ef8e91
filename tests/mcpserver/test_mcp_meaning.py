"""`search` by meaning once `zensync index` has run: hybrid by default, semantic on request,
the MCP-only filters still applied, and public-only reads kept to keyword search."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from mcp.client.client import Client

from zensync.mcp import create_server
from zensync.store import Store


@pytest.fixture(scope="module")
def indexed_copy(kit: Any, private_account: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("mcp-meaning") / "indexed.db"
    shutil.copy2(private_account.db, db)
    done = subprocess.run(
        [*kit.command(), "index", "--db", str(db)], capture_output=True, text=True, env=kit.env(), timeout=600
    )
    assert done.returncode == 0, done.stderr
    return db


async def test_search_by_meaning_after_zensync_index(
    kit: Any, private_account: Any, indexed_copy: Path
) -> None:
    with Store.open(indexed_copy) as store:
        async with Client(create_server(store)) as client:
            tools = await kit.Checked.start(client)
            found = await tools.call("search", query="the customer cannot log in to their account")
            assert found["mode"] == "hybrid" and found["hits"]
            semantic = await tools.call("search", query="money back for a purchase", mode="semantic", limit=5)
            assert semantic["mode"] == "semantic" and semantic["hits"]
            for hit in semantic["hits"]:
                assert hit["ticket"]["web_url"].endswith(f"/agent/tickets/{hit['ticket']['id']}")
            keyword = await tools.call("search", query="refund", mode="keyword")
            assert keyword["mode"] == "keyword"
            # Filters the meaning search does not know are applied to its results.
            mine = await tools.call(
                "search", query="problem", mode="hybrid", requester_id=private_account.user_id, limit=50
            )
            assert mine["hits"]
            assert {h["ticket"]["requester"]["id"] for h in mine["hits"]} == {private_account.user_id}
        async with Client(create_server(store, public_only=True)) as client:
            tools = await kit.Checked.start(client)
            hidden = await tools.call("search", query=f"{kit.marker} workaround", mode="semantic", limit=50)
            assert hidden["mode"] == "keyword" and "public-only" in hidden["notice"]
            assert kit.marker not in str(hidden["hits"])


async def test_meaning_search_without_vectors_says_how_to_get_them(kit: Any, synced_db: Path) -> None:
    with Store.open(synced_db) as store:
        async with Client(create_server(store)) as client:
            tools = await kit.Checked.start(client)
            assert "zensync index" in await tools.error("search", query="refund", mode="semantic")
            auto = await tools.call("search", query="refund")
            assert auto["mode"] == "keyword"
