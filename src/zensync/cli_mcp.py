"""``zensync mcp``: the synced copy as an MCP server over stdio, for desktop agents and IDEs.

stdout carries the protocol, so everything else (errors, logs) goes to stderr. The server
only reads the store; it never calls Zendesk.
"""

from __future__ import annotations

from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add ``mcp`` to the ``zensync`` app."""
    app.command("mcp")(mcp)


def mcp(
    db: Annotated[
        str | None,
        typer.Option("--db", help="SQLite file or database URL [env ZENSYNC_DB; default ./zensync.db]."),
    ] = None,
    public_only: Annotated[
        bool,
        typer.Option(
            "--public-only",
            help="Hide internal notes and private comments from every tool and resource "
            "(for agents that talk to end customers).",
        ),
    ] = False,
    connection: Annotated[
        str | None,
        typer.Option(help="The synced account to read when the copy holds several (its connection id)."),
    ] = None,
    config: Annotated[
        str | None,
        typer.Option("--config", help="TOML config file (default: ./zensync.toml when present)."),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show details and tracebacks.")] = False,
) -> None:
    """Serve the synced copy to AI agents over MCP (stdio): search, tickets, users, organizations."""
    from pathlib import Path

    import anyio

    from zensync.cli import open_store, reporting_errors
    from zensync.settings import load_settings

    with reporting_errors(verbose):
        settings = load_settings({"db": db}, config_file=Path(config) if config else None)
        from zensync.mcp import run_stdio

        with open_store(settings.db, must_exist=True) as store:
            anyio.run(lambda: run_stdio(store, public_only=public_only, connection=connection))
