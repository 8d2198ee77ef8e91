"""`--public-only`: no internal note, private comment, their files or agents' notes about users
and organizations come out of any tool or resource.

The account has an internal note (with an attached file) and user and organization notes that
carry a marker word found nowhere else. Without --public-only the same calls do show the
marker, so the test would notice a filter that let it through.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters

SEARCH_TYPES = ["ticket", "comment", "attachment", "user", "organization"]


def stdio(kit: Any, db: Path, *args: str) -> StdioServerParameters:
    command = kit.command()
    return StdioServerParameters(
        command=command[0],
        args=[*command[1:], "mcp", "--db", str(db), *args],
        env=kit.env(),
        cwd=str(db.parent),
    )


async def everything_about_the_note(client: Any, kit: Any, account: Any) -> list[str]:
    """Every tool and the resource, called where the internal note and the notes would show."""
    tools = await kit.Checked.start(client)
    calls: list[tuple[str, dict[str, Any]]] = [
        ("search", {"query": kit.marker, "types": SEARCH_TYPES, "limit": 50}),
        ("search", {"query": kit.marker}),
        ("search", {"query": f"{kit.marker} workaround", "types": ["comment"]}),
        ("search", {"query": f"{kit.marker}-passwords.txt", "types": ["attachment"]}),
        ("get_ticket", {"ticket_id": account.ticket_id, "max_chars": 200_000}),
        ("get_user", {"user_id": account.user_id, "recent": 50}),
        ("get_organization", {"organization_id": account.organization_id, "recent": 50}),
        ("list_tickets", {"requester_id": account.user_id}),
        ("list_tickets", {"organization_id": account.organization_id, "limit": 100}),
        ("sync_status", {}),
    ]
    outputs = []
    for name, arguments in calls:
        result = await tools.call(name, **arguments)
        if name == "search":  # the answer repeats the query: look only at what was found
            result["_text"] = result["_text"].replace(repr(result.pop("query")), "QUERY")
        outputs.append(f"{name}: {result}")
    resource = await client.read_resource(f"zendesk://tickets/{account.ticket_id}")
    outputs.append(kit.as_json(resource))
    return outputs


async def test_public_only_hides_internal_notes_from_every_tool_and_resource(
    kit: Any, private_account: Any
) -> None:
    async with Client(stdio(kit, private_account.db)) as client:
        shown = await everything_about_the_note(client, kit, private_account)
    # Without the flag the marker is there: in the note, its file, the user's and org's notes.
    assert kit.marker in shown[0] and kit.marker in shown[4] and kit.marker in shown[-1]
    assert kit.marker in shown[5] and kit.marker in shown[6]

    async with Client(stdio(kit, private_account.db, "--public-only")) as client:
        hidden = await everything_about_the_note(client, kit, private_account)
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
            words = private_words(private_account.db, comment_id)
            if not words:
                continue
            found = await tools.call("search", query=words, types=SEARCH_TYPES, limit=50)
            for hit in found["hits"]:
                assert hit["match"]["id"] not in private_account.private_comment_ids
                assert hit["match"]["id"] not in private_account.private_attachment_ids
    for output in hidden:
        assert kit.marker not in output, output[:500]


def private_words(db: Path, comment_id: int) -> str:
    """The first words of a private comment, read straight from the database."""
    import sqlite3

    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT search_text FROM comments WHERE id = ?", (comment_id,)).fetchone()
    words = (row[0] if row else "").split()
    return " ".join(f'"{w}"' for w in words[:6] if w.isalpha())
