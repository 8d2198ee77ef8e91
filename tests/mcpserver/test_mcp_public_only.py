"""`--public-only`: no internal note, private comment, their files or agents' notes about users
and organizations come out of any tool or resource.

The account has an internal note (with an attached file) and user and organization notes that
carry a marker word found nowhere else. Without --public-only the same calls do show the
marker, so the test would notice a filter that let it through.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import ClientSession
from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from zensync.store import Store

SEARCH_TYPES = ["ticket", "comment", "attachment", "user", "organization"]


def stdio(kit: Any, db: Path | str, *args: str) -> StdioServerParameters:
    command = kit.command()
    return StdioServerParameters(
        command=command[0],
        args=[*command[1:], "mcp", "--db", str(db), *args],
        env=kit.env(),
        cwd=str(Path(db).parent),
    )


async def test_public_only_hides_internal_notes_from_every_tool_and_resource(
    kit: Any, private_account: Any
) -> None:
    async with Client(stdio(kit, private_account.db)) as client:
        shown = await kit.everything_about_the_note(client, private_account)
    # Without the flag the marker is there: in the note, its file, the user's and org's notes.
    assert kit.marker in shown[0] and kit.marker in shown[4] and kit.marker in shown[-1]
    assert kit.marker in shown[5] and kit.marker in shown[6]

    async with Client(stdio(kit, private_account.db, "--public-only")) as client:
        hidden = await kit.everything_about_the_note(client, private_account)
        tools = await kit.Checked.start(client)
        # Every ticket's conversation, and a search for every private comment's words.
        listed = await tools.call("list_tickets", limit=100)
        for ticket in listed["tickets"]:
            page = await tools.call("get_ticket", ticket_id=ticket["id"], max_chars=200_000, max_comments=200)
            assert page["public_only"] is True
            for comment in page["conversation"]["comments"]:
                assert comment["public"] is True
                assert comment["id"] not in private_account.private_comment_ids
                for attachment in comment["attachments"]:
                    assert attachment["id"] not in private_account.private_attachment_ids
        for comment_id in sorted(private_account.private_comment_ids)[:15]:
            words = private_account.private_words(comment_id)
            if not words:
                continue
            found = await tools.call("search", query=words, types=SEARCH_TYPES, limit=50)
            for hit in found["hits"]:
                assert hit["match"]["id"] not in private_account.private_comment_ids
                assert hit["match"]["id"] not in private_account.private_attachment_ids
    for output in hidden:
        assert kit.marker not in output, output[:500]


async def test_a_connection_can_hide_its_internal_notes_from_every_mcp_server(
    kit: Any, private_account: Any, tmp_path: Path
) -> None:
    """`zensync mcp-access CONNECTION --public-only` is kept with the connection: a server
    started without --public-only still hides that account's internal notes."""
    db = tmp_path / "private.db"
    shutil.copy2(private_account.db, db)
    with Store.open(db) as store:  # the CLI sync stored no connection: make the one `connect` would
        store.create_connection(
            id="acme", name="Acme", subdomain="acme", auth_kind="api_token", status="active"
        )

    def access(*args: str) -> str:  # the command as a user types it
        done = subprocess.run(
            [*kit.command(), "mcp-access", "acme", "--db", str(db), *args],
            capture_output=True,
            text=True,
            env=kit.env(),
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert "everything" in access()
    assert "public comments only" in access("--public-only")
    async with Client(stdio(kit, db)) as client:
        hidden = await kit.everything_about_the_note(client, private_account)
    assert "'public_only': True" in hidden[-2]  # sync_status says so
    for output in hidden:
        assert kit.marker not in output, output[:500]
    assert "everything" in access("--all-comments")
    async with Client(stdio(kit, db)) as client:
        shown = await kit.everything_about_the_note(client, private_account)
    assert kit.marker in shown[4]
    assert "no stored connection 'nowhere'" in refused(kit, db, "nowhere")


@pytest.fixture
def served_public_only(kit: Any, private_account: Any, tmp_path: Path) -> Iterator[str]:
    db = tmp_path / "served.db"
    shutil.copy2(private_account.db, db)
    with kit.serving(db, tmp_path, "--mcp-public-only") as base:
        yield base


async def test_serve_mcp_public_only_hides_internal_notes_over_http(
    kit: Any, private_account: Any, served_public_only: str
) -> None:
    async with (
        httpx2.AsyncClient(timeout=30) as http,
        streamable_http_client(f"{served_public_only}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        hidden = await kit.everything_about_the_note(session, private_account)
    for output in hidden:
        assert kit.marker not in output, output[:500]


def refused(kit: Any, db: Path, connection: str) -> str:
    done = subprocess.run(
        [*kit.command(), "mcp-access", connection, "--db", str(db)],
        capture_output=True,
        text=True,
        env=kit.env(),
    )
    assert done.returncode == 2
    return done.stderr
