"""``zensync connect``, ``zensync connections`` and ``zensync disconnect``.

``connect`` runs the same consent flow as the web service (:mod:`zensync.connections`): it
prints the checklist for the OAuth client, opens the browser on Zendesk's consent page (or
prints the URL), receives the callback on a temporary local server at the redirect URI
(``http://localhost:8001/source-connections/callback`` by default), exchanges the code and
stores the connection with its secrets encrypted. ``--api-token EMAIL/TOKEN`` is the
secondary path. The client secret can come from ``$ZENSYNC_CLIENT_SECRET`` or a hidden
prompt, so it need not land in the shell history.

``zensync.cli`` calls :func:`register` to add these commands to the app; shared helpers come
from :mod:`zensync.cli_common`.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import html
import json
import socket
import sys
import webbrowser
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlsplit

import typer

from zensync.cli_common import (
    DbOption,
    JsonOption,
    VerboseOption,
    console,
    err_console,
    fail,
    open_store,
    print_json,
    reporting_errors,
)

if TYPE_CHECKING:
    from zensync.connections import ConnectionManager
    from zensync.store import Store

CONNECT_TIMEOUT_SECONDS = 600.0  # the consent state lives 10 minutes


def register(app: typer.Typer) -> None:
    """Add ``connect``, ``connections`` and ``disconnect`` to the ``zensync`` app."""
    app.command("connect")(connect)
    app.command("connections")(connections)
    app.command("disconnect")(disconnect)


# ---------------------------------------------------------------------------------------------
# connect


def connect(
    subdomain: Annotated[
        str | None,
        typer.Option(help="The account: 'mycompany' for mycompany.zendesk.com [env ZENSYNC_SUBDOMAIN]."),
    ] = None,
    client_id: Annotated[
        str | None,
        typer.Option(help="Your OAuth client's Unique identifier.", envvar="ZENSYNC_CLIENT_ID"),
    ] = None,
    client_secret: Annotated[
        str | None,
        typer.Option(
            help="The client's Secret, or - to read it from standard input. Prefer "
            "$ZENSYNC_CLIENT_SECRET, the prompt or --client-secret-file: a value here shows in `ps`.",
            envvar="ZENSYNC_CLIENT_SECRET",
            show_envvar=True,
        ),
    ] = None,
    client_secret_file: Annotated[
        Path | None, typer.Option(help="Read the client's Secret from this file's first line.")
    ] = None,
    api_token: Annotated[
        str | None,
        typer.Option(
            "--api-token",
            help="EMAIL/TOKEN: connect with an API token instead of OAuth (- reads it from standard input).",
        ),
    ] = None,
    api_token_file: Annotated[
        Path | None, typer.Option(help="Read EMAIL/TOKEN for --api-token from this file's first line.")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Connection name (default: the subdomain).")] = None,
    db: DbOption = None,
    base_url: Annotated[
        str | None, typer.Option(help="Send Zendesk requests here instead (the simulator or a proxy).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Local port of the temporary callback server [8001].")
    ] = None,
    redirect_uri: Annotated[
        str | None,
        typer.Option(
            help="Redirect URL registered in the OAuth client [http://localhost:PORT/source-connections/callback]."
        ),
    ] = None,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Print the consent URL instead of opening it.")
    ] = False,
    exclude_closed_tickets: Annotated[
        bool | None,
        typer.Option(
            "--exclude-closed-tickets/--include-closed-tickets",
            help="Skip closed tickets when syncing (default: off; connecting again keeps the setting).",
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for consent.", min=5)
    ] = CONNECT_TIMEOUT_SECONDS,
    verbose: VerboseOption = False,
) -> None:
    """Connect a Zendesk account: OAuth consent with your own OAuth client (or --api-token)."""
    from zensync.settings import load_settings

    with reporting_errors(verbose):
        from zensync.cli_secrets import read_secret

        client_secret = read_secret(
            client_secret, file=client_secret_file, option="--client-secret", env="ZENSYNC_CLIENT_SECRET"
        )
        api_token = read_secret(api_token, file=api_token_file, option="--api-token", env=None)
        settings = load_settings({"db": db, "subdomain": subdomain, "base_url": base_url})
        if not settings.subdomain:
            fail("--subdomain is required: the part before .zendesk.com, e.g. --subdomain mycompany", 2)
        from zensync.config import ZendeskConfig

        config = ZendeskConfig(subdomain=settings.subdomain, base_url=settings.base_url)
        for notice in config.notices:
            err_console.print(notice, markup=False)
        with _manager(settings.db, must_exist=False) as manager:
            if api_token is not None:
                if client_id or client_secret:
                    fail("give either --api-token or --client-id/--client-secret, not both", 2)
                email, _, token = api_token.partition("/")
                record = asyncio.run(
                    manager.connect_api_token(
                        name=name,
                        config=config,
                        email=email,
                        api_token=token,
                        exclude_closed_tickets=exclude_closed_tickets,
                    )
                )
                who = json.loads(record.status_detail or "{}").get("user") or {}
                err_console.print(
                    f"Connected {record.subdomain}.zendesk.com as connection {record.id!r} with the API "
                    f"token of {who.get('email') or email} (role {who.get('role') or 'unknown'}). "
                    "Note: Zendesk retires API tokens on 2027-04-30; OAuth is the lasting way.",
                    markup=False,
                )
                err_console.print(f"Next: zensync sync --connection {record.id}", markup=False)
                return
            if not client_id:
                fail(
                    "--client-id is required: the Unique identifier of your OAuth client (Admin Center > "
                    "Apps and integrations > APIs > OAuth Clients), or use --api-token EMAIL/TOKEN",
                    2,
                )
            if not client_secret:
                client_secret = typer.prompt("Client secret", hide_input=True)
            redirect, listen_port, path = _callback_address(redirect_uri, port)
            asyncio.run(
                _oauth_connect(
                    manager,
                    name=name,
                    config=config,
                    client_id=client_id,
                    client_secret=client_secret or "",
                    redirect_uri=redirect,
                    listen_port=listen_port,
                    callback_path=path,
                    open_browser=not no_browser,
                    wait_seconds=timeout,
                    exclude_closed_tickets=exclude_closed_tickets,
                )
            )


def _callback_address(redirect_uri: str | None, port: int | None) -> tuple[str, int, str]:
    """The redirect URI to register, and the local port and path the callback server listens on."""
    from zensync.zendesk.oauth import CALLBACK_PATH, RedirectUriError, validate_redirect_uri

    if redirect_uri is None:
        listen = port or 8001
        return f"http://localhost:{listen}{CALLBACK_PATH}", listen, CALLBACK_PATH
    try:
        validate_redirect_uri(redirect_uri)
    except RedirectUriError as exc:
        fail(str(exc), 2)
    parts = urlsplit(redirect_uri.strip())
    default = 443 if parts.scheme == "https" else 80
    listen = port or parts.port or default
    return redirect_uri.strip(), listen, parts.path or "/"


async def _oauth_connect(
    manager: ConnectionManager,
    *,
    name: str | None,
    config: Any,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    listen_port: int,
    callback_path: str,
    open_browser: bool,
    wait_seconds: float,
    exclude_closed_tickets: bool | None,
) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, Response
    from starlette.routing import Route

    from zensync.zendesk.oauth import OAuthError

    _check_port_free(listen_port, redirect_uri)
    started = manager.begin_oauth(
        name=name,
        config=config,
        client_id=client_id,
        client_secret=client_secret,
        redirect_uri=redirect_uri,
        reconnect=True,
        exclude_closed_tickets=exclude_closed_tickets,
    )
    connection_id = started.connection.id
    outcome: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    async def callback(request: Request) -> Response:
        try:
            record = await manager.complete_oauth(dict(request.query_params))
        except OAuthError as exc:
            if exc.connection_id == connection_id and not outcome.done():
                outcome.set_exception(exc)
            return HTMLResponse(_page(exc.explanation.title, exc.explanation.message()), status_code=400)
        if not outcome.done():
            outcome.set_result(record)
        return HTMLResponse(
            _page(
                "Connected",
                f"zensync is connected to {record.subdomain}.zendesk.com. You can close this tab.",
            )
        )

    app = Starlette(routes=[Route(callback_path, callback)])
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=listen_port, log_level="warning", access_log=False, lifespan="off"
        )
    )
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if serving.done():
                await serving
                fail(f"could not start the callback server on port {listen_port}", 1)
            await asyncio.sleep(0.05)
        err_console.print("Before you continue, check the OAuth client in Admin Center:", markup=False)
        for i, item in enumerate(started.checklist, 1):
            err_console.print(f"  {i}. {item}", markup=False)
        err_console.print(f"Waiting for Zendesk to call back on {redirect_uri}", markup=False)
        opened = False
        if open_browser:
            with contextlib.suppress(Exception):
                opened = webbrowser.open(started.auth_url)
        err_console.print(
            (
                "Opened your browser on Zendesk's consent page. If it did not open, visit:"
                if opened
                else "Open this URL in your browser and click Allow:"
            ),
            markup=False,
        )
        console.print(started.auth_url, markup=False, highlight=False, soft_wrap=True)
        try:
            record = await asyncio.wait_for(asyncio.shield(outcome), wait_seconds)
        except TimeoutError:
            from zensync.zendesk.oauth import explain

            fail(
                f"no answer from Zendesk within {wait_seconds:.0f} s. "
                + explain("", stage="authorize", redirect_uri=redirect_uri).message()
                + " Then run `zensync connect` again.",
                1,
            )
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await serving
    detail = json.loads(record.status_detail or "{}")
    who = detail.get("user") or {}
    err_console.print(
        f"Connected {record.subdomain}.zendesk.com as connection {record.id!r}"
        + (f", signed in as {who.get('name')} <{who.get('email')}> (role {who.get('role')})" if who else "")
        + ". Tokens and the client secret are stored encrypted.",
        markup=False,
    )
    problem = detail.get("problem") or {}
    if record.status != "active" and problem:
        fail(f"{problem.get('title')}: {problem.get('cause')} Fix: {' '.join(problem.get('fixes') or [])}", 1)
    err_console.print(f"Next: zensync sync --connection {record.id}", markup=False)


def _check_port_free(port: int, redirect_uri: str) -> None:

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                fail(
                    f"port {port} is not free for the callback server (is `zensync serve` running? then "
                    "add the connection on its web page instead). Or use --port N and register "
                    "http://localhost:N/source-connections/callback in the OAuth client "
                    f"(now: {redirect_uri}).",
                    1,
                )
            raise


def _page(title: str, text: str) -> str:
    return (
        "<!doctype html><meta charset=utf-8><title>zensync</title>"
        "<body style='font:16px system-ui;max-width:40rem;margin:4rem auto;color:#1f2933'>"
        f"<h1 style='font-size:1.4rem'>{html.escape(title)}</h1><p>{html.escape(text)}</p></body>"
    )


@contextlib.contextmanager
def _manager(db: str, *, must_exist: bool) -> Any:
    from zensync.connections import ConnectionManager
    from zensync.secret_box import SecretBox

    store: Store = open_store(db, must_exist=must_exist)
    try:
        yield ConnectionManager(store, SecretBox.from_environment())
    finally:
        store.close()


# ---------------------------------------------------------------------------------------------
# connections


def connections(
    db: DbOption = None,
    as_json: JsonOption = False,
    verbose: VerboseOption = False,
) -> None:
    """List the stored connections: account, authentication, status, last sync (never a secret)."""
    from rich.table import Table

    from zensync.settings import load_settings

    with reporting_errors(verbose):
        settings = load_settings({"db": db})
        with _manager(settings.db, must_exist=True) as manager:
            rows = []
            for record in manager.all():
                problem = manager.problem(record)
                rows.append(
                    {
                        "id": record.id,
                        "name": record.name,
                        "account": f"{record.subdomain}.zendesk.com",
                        "auth": record.auth_kind,
                        "client_id": record.client_id,
                        "status": record.status,
                        "last_sync_at": record.last_sync_at.isoformat() if record.last_sync_at else None,
                        "problem": problem.as_dict() if problem else None,
                    }
                )
        if as_json:
            print_json(rows)
            return
        if not rows:
            console.print("No connections yet: add one with `zensync connect --subdomain S --client-id ID`.")
            return
        table = Table(title="Connections", title_justify="left")
        for column in ("id", "account", "auth", "status", "last sync", "problem"):
            table.add_column(column)
        for row in rows:
            problem = row["problem"]
            table.add_row(
                row["id"],
                row["account"],
                row["auth"] + (f" ({row['client_id']})" if row["client_id"] else ""),
                row["status"],
                row["last_sync_at"] or "never",
                (problem["title"] + " — " + problem["fixes"][0]) if problem and problem["fixes"] else "",
            )
        console.print(table)


# ---------------------------------------------------------------------------------------------
# disconnect


def disconnect(
    name: Annotated[str, typer.Argument(help="The connection's id or name (see `zensync connections`).")],
    purge: Annotated[bool, typer.Option("--purge", help="Also delete everything synced for it.")] = False,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes", "-y", help="Do not ask before --purge deletes data (never asked without a terminal)."
        ),
    ] = False,
    db: DbOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Revoke Zendesk access and remove the stored credentials; synced data is kept unless --purge."""
    from zensync.settings import load_settings

    with reporting_errors(verbose):
        settings = load_settings({"db": db})
        with _manager(settings.db, must_exist=True) as manager:
            record = manager.get(name)
            if purge and not yes and sys.stdin.isatty():
                typer.confirm(
                    f"Delete everything synced for {record.id!r} ({record.subdomain}.zendesk.com)?",
                    abort=True,
                )
            result = asyncio.run(manager.disconnect(record.id, purge=purge))
        if result.revoke_error:
            err_console.print(
                f"Warning: could not revoke the token at Zendesk ({result.revoke_error}); revoke it in "
                "Admin Center > Apps and integrations > APIs > OAuth Clients (or delete the API token).",
                markup=False,
            )
        what = "Revoked Zendesk access and removed" if result.revoked else "Removed"
        kept = (
            "deleted its synced data" if result.purged else "kept its synced data (use --purge to delete it)"
        )
        console.print(f"{what} the credentials of {record.id!r}; {kept}.", markup=False)
