"""`zensync mcp` over stdio, driven by the official SDK's client as a desktop agent would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters


def stdio(kit: Any, db: Path, *args: str) -> StdioServerParameters:
    command = kit.command()
    return StdioServerParameters(
        command=command[0],
        args=[*command[1:], "mcp", "--db", str(db), *args],
        env=kit.env(),
        cwd=str(db.parent),
    )


async def test_every_tool_over_stdio_agrees_with_the_simulator(kit: Any, synced_db: Path, truth: Any) -> None:
    async with Client(stdio(kit, synced_db)) as client:
        await kit.check_against_truth(client, truth)


async def test_wrong_input_gives_tool_errors_and_the_server_keeps_serving(kit: Any, synced_db: Path) -> None:
    async with Client(stdio(kit, synced_db)) as client:
        await kit.check_errors(client)


async def test_no_tool_or_resource_sends_a_request_to_zendesk(
    kit: Any, synced_db: Path, truth: Any, simulator: Any
) -> None:
    """The server answers from the copy alone: the simulator's request counts (every metered
    endpoint, ``/_simulator/stats``) are the same after starting it and calling every tool and
    resource as before."""
    ticket = next(t for t in truth.tickets if t.get("organization_id") and t.get("assignee_id"))
    before = simulator.stats()
    async with Client(stdio(kit, synced_db)) as client:
        tools = await kit.Checked.start(client)
        [account] = (await tools.call("sync_status"))["connections"]
        await tools.call("search", query="refund", types=kit.all_search_types, limit=50)
        await tools.call(
            "search", query="refund", status=["solved"], organization_id=ticket["organization_id"]
        )
        first = await tools.call("get_ticket", ticket_id=ticket["id"], max_comments=1)
        if first["conversation"]["next_cursor"]:
            await tools.call(
                "get_ticket", ticket_id=ticket["id"], cursor=first["conversation"]["next_cursor"]
            )
        await tools.call("get_user", user_id=ticket["requester_id"], recent=50)
        await tools.call("get_user", user_id=ticket["assignee_id"], recent=50)
        await tools.call("get_organization", organization_id=ticket["organization_id"], recent=50)
        listed = await tools.call("list_tickets", limit=5, status=["open", "pending", "solved"])
        await tools.call(
            "list_tickets", limit=5, status=["open", "pending", "solved"], cursor=listed["next_cursor"]
        )
        await tools.call("list_tickets", tag=ticket["tags"][0], updated_since="2000-01-01T00:00:00Z")
        await client.list_resource_templates()
        await client.read_resource(f"zendesk://tickets/{ticket['id']}")
        await client.read_resource(f"zendesk://{account['id']}/tickets/{ticket['id']}")
        await tools.error("get_ticket", ticket_id=999_999_999)
    after = simulator.stats()
    assert after["requests"] == before["requests"] and after == before
