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
