"""``zensync mcp``: the synced copy as an MCP server over stdio, for desktop agents and IDEs.

stdout carries the protocol, so everything else (errors, logs) goes to stderr. The server
only reads the store; it never calls Zendesk.
"""

from __future__ import annotations

from typing import Annotated

import typer

from zensync.cli_common import ConfigOption, DbOption, VerboseOption


def register(app: typer.Typer) -> None:
    """Add ``mcp`` and ``mcp-access`` to the ``zensync`` app."""
    app.command("mcp")(mcp)
    app.command("mcp-access")(mcp_access)


def mcp(
    db: DbOption = None,
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
    blob_dir: Annotated[
        str | None,
        typer.Option(help="Where the sync put attachment files (default <db>.blobs; PostgreSQL: none)."),
    ] = None,
    config: ConfigOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Serve the synced copy to AI agents over MCP (stdio): search, tickets, users, organizations."""
    import anyio

    from zensync.cli_common import open_store, reporting_errors
    from zensync.settings import load_settings

    with reporting_errors(verbose):
        settings = load_settings({"db": db, "blob_dir": blob_dir}, config_file=config)
        from zensync.mcp import run_stdio

        with open_store(settings.db, must_exist=True, blob_dir=settings.blob_dir) as store:
            anyio.run(lambda: run_stdio(store, public_only=public_only, connection=connection))


def mcp_access(
    connection: Annotated[str, typer.Argument(help="The stored connection (see `zensync connections`).")],
    public_only: Annotated[
        bool | None,
        typer.Option(
            "--public-only/--all-comments",
            help="Hide this account's internal notes from every MCP server (`zensync mcp`, /mcp), "
            "or show them again (unless the server itself runs --public-only).",
        ),
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Show or set what AI agents may read of one connection: everything, or public comments only."""
    from zensync.cli_common import console, fail, open_store, reporting_errors
    from zensync.settings import load_settings

    with reporting_errors(verbose):
        settings = load_settings({"db": db}, config_file=config)
        with open_store(settings.db, must_exist=True) as store:
            record = store.get_connection(connection)
            if record is None:
                fail(
                    f"no stored connection {connection!r} — list them with `zensync connections`; an account "
                    "synced with options alone has none: serve it with `zensync mcp --public-only`",
                    2,
                )
            if public_only is not None:
                record = store.update_connection(connection, mcp_public_only=public_only)
        what = "public comments only" if record.mcp_public_only else "everything, internal notes included"
        console.print(f"{record.id}: AI agents (zensync mcp, /mcp) see {what}.", markup=False)
