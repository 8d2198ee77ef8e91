"""The ``zensync`` command line: sync, status, search, export, serve, demo (and connections).

Every command resolves its settings the same way (:mod:`zensync.settings`: option > ``ZENSYNC_*``
environment > ``zensync.toml`` > default), opens the store the same way, and reports failure
the same way (:mod:`zensync.cli_common`). Commands that live in their own module
(:mod:`zensync.cli_connections`) are added to :data:`app` at the end of this file.

Heavy imports (the store, the engine, the service, the simulator) happen inside the commands
so that ``zensync --help`` stays instant.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlsplit

import typer
from pydantic import SecretStr
from rich.markup import escape
from rich.table import Table

from zensync import cli_connections, cli_index
from zensync.cli_common import (
    ENTITY_CHOICES,
    STREAM_LABELS,
    ConfigOption,
    DbOption,
    JsonOption,
    SyncProgress,
    TypeOption,
    VerboseOption,
    check_types,
    console,
    describe_db,
    err_console,
    fail,
    open_store,
    print_hits,
    print_json,
    reporting_errors,
    sqlite_path,
)
from zensync.settings import DEFAULT_DB, Settings, load_settings

if TYPE_CHECKING:
    from zensync.store import Store
    from zensync.sync.report import RunReport
    from zensync.sync.runner import Connection

DEMO_MARKER_CONNECTION = "demo"

app = typer.Typer(
    name="zensync",
    help="Keep a complete, searchable copy of a Zendesk account.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
log = logging.getLogger("zensync.cli")


def connection_from_settings(settings: Settings) -> Connection | None:
    """The account given by options/environment/file, or None when no credentials were given."""
    from zensync.config import normalize_base_url, normalize_subdomain
    from zensync.sync.runner import Connection

    if not settings.has_explicit_credentials:
        return None
    if settings.access_token is not None and (settings.api_token is not None):
        fail("give either --access-token or --email with --api-token, not both", 2)
    if settings.access_token is None:
        if settings.email is None:
            fail("--api-token needs --email: the Zendesk user the token acts for (e.g. admin@acme.com)", 2)
        if settings.api_token is None:
            fail(
                "--email needs --api-token (Admin Center > Apps and integrations > APIs > Zendesk API), "
                "or use --access-token",
                2,
            )
    if not settings.subdomain:
        fail(
            "--subdomain is required with credentials: the account's name, e.g. --subdomain acme "
            "for https://acme.zendesk.com",
            2,
        )
    subdomain, notices = normalize_subdomain(settings.subdomain)
    for notice in notices:
        err_console.print(f"Note: {notice}", markup=False)
    base_url = normalize_base_url(settings.base_url) if settings.base_url else None
    connection_id = settings.connection or subdomain
    if settings.access_token is not None:
        return Connection.from_access_token(
            subdomain, settings.access_token.get_secret_value(), base_url=base_url, id=connection_id
        )
    assert settings.email is not None and settings.api_token is not None
    if "@" not in settings.email:
        fail(f"--email {settings.email!r} is not an email address — give the Zendesk user's email", 2)
    return Connection.from_api_token(
        subdomain, settings.email, settings.api_token.get_secret_value(), base_url=base_url, id=connection_id
    )


def no_account_message() -> str:
    return (
        "no Zendesk account configured — pass --subdomain with --email and --api-token (or "
        "--access-token), set ZENSYNC_SUBDOMAIN etc., or connect one with `zensync connect`"
    )


# ---------------------------------------------------------------------------------------------
# sync


@app.command()
def sync(
    db: DbOption = None,
    subdomain: Annotated[
        str | None, typer.Option(help="Account subdomain: acme for acme.zendesk.com.")
    ] = None,
    base_url: Annotated[
        str | None, typer.Option(help="Send requests here instead (a proxy or the simulator).")
    ] = None,
    email: Annotated[str | None, typer.Option(help="Zendesk user for --api-token.")] = None,
    api_token: Annotated[
        str | None,
        typer.Option(
            help="API token, or - to read it from standard input (prefer $ZENSYNC_API_TOKEN or "
            "--api-token-file: a value here shows in `ps`)."
        ),
    ] = None,
    api_token_file: Annotated[
        Path | None, typer.Option(help="Read the API token from this file's first line.")
    ] = None,
    access_token: Annotated[
        str | None,
        typer.Option(help="OAuth access token, or - for standard input (or $ZENSYNC_ACCESS_TOKEN)."),
    ] = None,
    access_token_file: Annotated[
        Path | None, typer.Option(help="Read the OAuth access token from this file's first line.")
    ] = None,
    connection: Annotated[
        str | None, typer.Option(help="Stored connection to sync (default: the only/first one).")
    ] = None,
    exclude_closed_tickets: Annotated[
        bool | None,
        typer.Option("--exclude-closed-tickets/--include-closed-tickets", help="Skip closed tickets."),
    ] = None,
    attachments: Annotated[
        bool | None,
        typer.Option(
            "--attachments/--no-attachments", help="Download attachment bytes (default) or metadata only."
        ),
    ] = None,
    full: Annotated[
        bool, typer.Option("--full", help="Re-read everything; remove what Zendesk no longer has.")
    ] = False,
    blob_dir: Annotated[
        str | None,
        typer.Option(help="Folder for attachment files [env ZENSYNC_BLOB_DIR; default <db file>.blobs]."),
    ] = None,
    report_json: Annotated[
        Path | None, typer.Option("--report-json", help="Also write the run report as JSON to this file.")
    ] = None,
    embeddings: cli_index.EmbeddingsOption = None,
    config: ConfigOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Copy the account into the database: the first run reads everything, later runs the changes."""
    with reporting_errors(verbose):
        from zensync.cli_secrets import read_secret

        api_token = read_secret(api_token, file=api_token_file, option="--api-token", env=None)
        access_token = read_secret(access_token, file=access_token_file, option="--access-token", env=None)
        settings = load_settings(
            {
                "db": db,
                "subdomain": subdomain,
                "base_url": base_url,
                "email": email,
                "api_token": api_token,
                "access_token": access_token,
                "connection": connection,
                "exclude_closed_tickets": exclude_closed_tickets,
                "attachments": attachments,
                "blob_dir": blob_dir,
            },
            config_file=config,
        )
        report = asyncio.run(_sync_command(settings, full=full))
        console.print(report.render())
        data = report.to_dict()
        if embeddings is not False:  # after the download: the rate-limited sync never waits for it
            indexed = cli_index.index_after_sync(
                settings.db, blob_dir=settings.blob_dir, force=bool(embeddings)
            )
            if indexed is not None:
                data["embeddings"] = indexed
        if report_json is not None:
            from zensync.store.files import open_private

            with open_private(report_json) as out:
                out.write(json.dumps(data, indent=2) + "\n")


async def _sync_command(settings: Settings, *, full: bool) -> RunReport:
    """Resolve the one connection to sync (credentials given, or a stored connection) and run it."""
    from zensync.sync.runner import check_credentials, run_sync

    connection = connection_from_settings(settings)
    if connection is None:
        return await _sync_stored_connection(settings, full=full)
    # Credentials are checked before the database is touched: a typo creates no file.
    await check_credentials(connection)
    with open_store(settings.db, must_exist=False, blob_dir=settings.blob_dir) as store:
        err_console.print(
            f"Syncing {connection.config.zendesk_host} ({connection.described}) "
            f"into {describe_db(settings.db)}",
            markup=False,
        )
        with SyncProgress(err_console, enabled=err_console.is_terminal) as progress:
            return await run_sync(
                store, connection, check=False, progress=progress, **_run_options(settings, full)
            )


def _run_options(settings: Settings, full: bool) -> dict[str, Any]:
    """The options ``zensync sync`` hands the runner, the same for both kinds of connection."""
    return {
        "full": full,
        "attachments": settings.attachments,
        "exclude_closed_tickets": settings.exclude_closed_tickets,
        "on_failure": lambda report: err_console.print(report.render()),
        "notice": lambda text: err_console.print(f"Note: {text}", markup=False),
    }


async def _sync_stored_connection(settings: Settings, *, full: bool) -> RunReport:
    """Sync a connection made with `zensync connect` or the web page (tokens sealed in the store)."""
    from zensync.connections import ConnectionManager
    from zensync.secret_box import SecretBox
    from zensync.sync.runner import run_sync

    path = sqlite_path(settings.db)
    if path is not None and not path.exists():
        fail(no_account_message(), 2)
    with open_store(settings.db, must_exist=False, blob_dir=settings.blob_dir) as store:
        records = store.list_connections()
        if not records:
            fail(no_account_message(), 2)
        manager = ConnectionManager(store, SecretBox.from_environment())
        if settings.connection:
            record = manager.get(settings.connection)
        elif settings.subdomain:
            from zensync.config import normalize_subdomain

            subdomain, _ = normalize_subdomain(settings.subdomain)
            matching = [r for r in records if r.subdomain == subdomain]
            if not matching:
                fail(
                    f"no stored connection for {subdomain!r} and no credentials given — pass --email with "
                    f"--api-token (or --access-token), or run `zensync connect --subdomain {subdomain}`",
                    2,
                )
            record = matching[0]
        else:
            record = records[0]
        connection = manager.resolve(record.id)
        err_console.print(
            f"Syncing {connection.config.zendesk_host} (connection {record.id!r}) "
            f"into {describe_db(settings.db)}",
            markup=False,
        )
        with SyncProgress(err_console, enabled=err_console.is_terminal) as progress:
            return await run_sync(store, connection, progress=progress, **_run_options(settings, full))


# ---------------------------------------------------------------------------------------------
# status


def _age(then: datetime | None, now: datetime) -> str:
    if then is None:
        return "never"
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    seconds = max(0, int((now - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def cursor_state(cursor: dict[str, Any] | None, now: datetime) -> dict[str, dict[str, Any]]:
    """Where each export stream of the source cursor stands, and how old that position is.

    Time-based exports keep ``start_time`` (Unix seconds: the next read starts there);
    cursor-based ones keep an opaque ``cursor`` once the first page is read (api-reference.md,
    "Incremental Exports"). Other keys of the cursor are the source's bookkeeping.
    """
    out: dict[str, dict[str, Any]] = {}
    for stream, value in (cursor or {}).items():
        if not isinstance(value, dict) or "start_time" not in value:
            continue
        start = value.get("start_time")
        position = int(start) if isinstance(start, int | float) and start > 0 else None
        out[stream] = {
            "position": datetime.fromtimestamp(position, UTC).isoformat() if position else None,
            "age_seconds": int(now.timestamp()) - position if position else None,
            "export_cursor": bool(value.get("cursor")),
        }
    return out


def status_data(store: Store) -> dict[str, Any]:
    """What ``status --json`` prints: stored counts, connections with cursor ages, recent runs.

    ``failed_downloads`` counts the attachments whose bytes could not be had; the next sync
    retries them.
    """
    now = datetime.now(UTC)
    counts = store.counts()
    connections = []
    connection_ids = {r.id for r in store.list_connections()} | {
        r.connection_id for r in store.list_runs(limit=100)
    }
    records = {r.id: r for r in store.list_connections()}
    for cid in sorted(connection_ids):
        record = records.get(cid)
        latest = store.latest_run(cid)
        last_ok = next((r for r in store.list_runs(cid, limit=50) if r.status == "succeeded"), None)
        connections.append(
            {
                "id": cid,
                "name": record.name if record else cid,
                "subdomain": record.subdomain if record else None,
                "auth_kind": record.auth_kind if record else None,
                "status": record.status if record else None,
                "entities": store.counts(cid),
                "failed_downloads": store.failed_download_count(cid),
                "last_run_status": latest.status if latest else None,
                "last_success_at": last_ok.finished_at if last_ok else None,
                "data_age_seconds": (
                    int((now - _aware(last_ok.finished_at)).total_seconds())
                    if last_ok and last_ok.finished_at
                    else None
                ),
                "cursor": cursor_state(store.get_cursor(cid), now),
            }
        )
    runs = [
        {
            "id": r.id,
            "connection_id": r.connection_id,
            "mode": r.mode,
            "status": r.status,
            "started_at": r.started_at,
            "finished_at": r.finished_at,
            "duration_seconds": (r.report or {}).get("duration_seconds"),
            "totals": (r.report or {}).get("totals"),
            "error": r.error,
        }
        for r in store.list_runs(limit=10)
    ]
    return {
        "db": store.describe(),
        "entities": counts,
        "failed_downloads": store.failed_download_count(),
        "vectors": cli_index.vector_status(store),
        "connections": connections,
        "runs": runs,
    }


def _aware(value: datetime | None) -> datetime:
    assert value is not None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@app.command()
def status(
    db: DbOption = None,
    json_output: JsonOption = False,
    config: ConfigOption = None,
    verbose: VerboseOption = False,
) -> None:
    """What is stored: counts per type, connections and how fresh their data is, recent runs."""
    with reporting_errors(verbose):
        settings = load_settings({"db": db}, config_file=config)
        with open_store(settings.db, must_exist=True) as store:
            data = status_data(store)
        if json_output:
            print_json(data)
            return
        now = datetime.now(UTC)
        console.print(f"[bold]{escape(data['db'])}[/]")
        table = Table(title="Stored (live objects)", title_justify="left")
        for entity_type in ENTITY_CHOICES:
            table.add_column(STREAM_LABELS[entity_type], justify="right")
        table.add_row(*(f"{data['entities'][t]:,}" for t in ENTITY_CHOICES))
        console.print(table)
        if data["failed_downloads"]:
            n = data["failed_downloads"]
            console.print(
                f"{n:,} attachment{'s' if n != 1 else ''} not downloaded: the next sync tries again "
                "(`zensync sync`; the last run's report lists why).",
                markup=False,
            )
        console.print(cli_index.vector_status_line(data["vectors"]), markup=False)
        if data["connections"]:
            conns = Table(title="Connections", title_justify="left")
            for col in ("connection", "status", "last run", "data as of", "cursor positions"):
                conns.add_column(col)
            for c in data["connections"]:
                cursor = ", ".join(
                    f"{stream} "
                    + (_age(datetime.fromisoformat(v["position"]), now) if v["position"] else "")
                    + (" (export cursor)" if v["export_cursor"] else "")
                    for stream, v in c["cursor"].items()
                )
                conns.add_row(
                    c["id"],
                    c["status"] or "(from options)",
                    c["last_run_status"] or "–",
                    _age(c["last_success_at"], now),
                    cursor or "–",
                )
            console.print(conns)
        if data["runs"]:
            runs = Table(title="Recent runs", title_justify="left")
            for col in ("#", "connection", "mode", "status", "started", "took", "changes", "error"):
                runs.add_column(col)
            for r in data["runs"]:
                totals = r["totals"] or {}
                changes = (
                    f"+{totals.get('inserted', 0)} ~{totals.get('updated', 0)} -{totals.get('deleted', 0)}"
                    if totals
                    else "–"
                )
                took = f"{r['duration_seconds']:.1f}s" if r["duration_seconds"] is not None else "–"
                runs.add_row(
                    str(r["id"]),
                    r["connection_id"],
                    r["mode"],
                    r["status"],
                    _age(r["started_at"], now),
                    took,
                    changes,
                    (r["error"] or "")[:80],
                )
            console.print(runs)
        else:
            console.print("No sync has run yet: `zensync sync`.")


# ---------------------------------------------------------------------------------------------
# search


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="Words to find, or a question in your own words.")],
    types: TypeOption = None,
    mode: Annotated[
        str,
        typer.Option(
            "--mode",
            help="hybrid (words and meaning; the default once `zensync index` ran), semantic, keyword.",
        ),
    ] = "auto",
    status: Annotated[
        list[str] | None,
        typer.Option("--status", help="Only tickets with this status, repeatable (open, …)."),
    ] = None,
    organization: Annotated[
        str | None, typer.Option("--organization", help="Only this organization's (name or id).")
    ] = None,
    since: Annotated[str | None, typer.Option("--since", help="Created on or after (YYYY-MM-DD).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Created on or before (YYYY-MM-DD).")] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, max=200, help="At most this many results.")
    ] = 20,
    embedding_model: cli_index.EmbeddingModelOption = None,
    embedding_url: cli_index.EmbeddingUrlOption = None,
    embedding_url_model: cli_index.EmbeddingNameOption = None,
    db: DbOption = None,
    json_output: JsonOption = False,
    config: ConfigOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Search tickets (with their comments and attachment names), users and organizations."""
    with reporting_errors(verbose):
        wanted = check_types(types)
        settings = load_settings({"db": db}, config_file=config)
        response = cli_index.run_search(
            settings.db,
            query,
            mode=mode.strip().lower(),
            types=list(wanted) if wanted else None,
            status=status,
            organization=organization,
            since=since,
            until=until,
            limit=limit,
            embedding_model=embedding_model,
            embedding_url=embedding_url,
            embedding_url_model=embedding_url_model,
        )
        if json_output:
            print_json(response.to_dict())
            return
        cli_index.print_response(response)


# ---------------------------------------------------------------------------------------------
# export


@app.command()
def export(
    format: Annotated[str, typer.Option("--format", "-f", help="Output format (jsonl).")] = "jsonl",
    types: TypeOption = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.", dir_okay=False)
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Stream stored entities out, one JSON object per line (the stored entity), in constant memory."""
    with reporting_errors(verbose):
        if format.lower() != "jsonl":
            fail(f"unknown --format {format!r} — the supported format is jsonl", 2)
        wanted = check_types(types) or list(ENTITY_CHOICES)
        settings = load_settings({"db": db}, config_file=config)
        with open_store(settings.db, must_exist=True) as store:
            written = 0
            from zensync.store.files import open_private

            target = open_private(output) if output is not None else sys.stdout
            try:
                for entity_type in wanted:
                    for entity in store.iter_entities(None, entity_type):
                        # The stored entity as JSON, led by its type so mixed exports stay
                        # self-describing (entity_type is a class attribute, not a field).
                        line = entity.model_dump_json()
                        target.write(f'{{"entity_type":"{entity_type}",{line[1:]}\n')
                        written += 1
            finally:
                if output is not None:
                    target.close()
                else:
                    target.flush()
        if output is not None:
            err_console.print(f"Wrote {written:,} entities to {output}", markup=False)


# ---------------------------------------------------------------------------------------------
# serve


@app.command()
def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on (beyond loopback needs $ZENSYNC_API_KEY).")
    ] = ("127.0.0.1"),
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8001,
    db: DbOption = None,
    zendesk_base_url: Annotated[
        str | None,
        typer.Option(help="Send Zendesk requests here (the simulator or a proxy) [env ZENSYNC_BASE_URL]."),
    ] = None,
    redirect_uri: Annotated[
        str | None,
        typer.Option(
            help="OAuth redirect URI registered in Zendesk (default http://localhost:PORT/…/callback)."
        ),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            envvar="ZENSYNC_API_KEY",
            show_envvar=True,
            help="Key every endpoint but the OAuth callback requires (16+ characters; prefer the "
            "environment variable: options show in `ps`; `-` reads standard input). Required beyond "
            "loopback.",
        ),
    ] = None,
    api_key_file: Annotated[
        Path | None, typer.Option(help="Read the API key from this file's first line.")
    ] = None,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            help="Another host name the service answers to (a public name behind a proxy, a LAN "
            "address); repeatable [env ZENSYNC_ALLOWED_HOSTS, comma-separated]. Loopback names, the "
            "listening address and the redirect URI's host are always accepted.",
        ),
    ] = None,
    mcp_public_only: Annotated[
        bool, typer.Option("--mcp-public-only", help="Hide internal notes from agents using /mcp.")
    ] = False,
    config: ConfigOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Run the web service: source-connections API, OAuth callback, scheduled syncs, search page, MCP."""
    with reporting_errors(verbose):
        settings = load_settings({"db": db, "base_url": zendesk_base_url}, config_file=config)
        from zensync.cli_secrets import read_secret
        from zensync.service.app import ServiceSettings, run

        api_key = read_secret(api_key, file=api_key_file, option="--api-key", env="ZENSYNC_API_KEY")

        service_settings = ServiceSettings(
            db=settings.db,
            host=host,
            port=port,
            zendesk_base_url=settings.base_url,
            redirect_uri=redirect_uri,
            download_attachments=settings.attachments,
            mcp_public_only=mcp_public_only,
            **({"api_key": SecretStr(api_key)} if api_key else {}),
            **({"allowed_hosts": allowed_host} if allowed_host else {}),
        )
        run(service_settings, log_level="debug" if verbose else "info")


# ---------------------------------------------------------------------------------------------
# demo


def _is_demo_store(path: Path) -> bool:
    """Whether an existing file is a zensync database holding only demo data."""
    from zensync.store import Store

    try:
        with Store.open(path, migrate_schema=False) as store:
            ids = {r.id for r in store.list_connections()} | {
                r.connection_id for r in store.list_runs(limit=1000)
            }
    except Exception:
        return False
    return ids <= {DEMO_MARKER_CONNECTION}


@app.command()
def demo(
    db: Annotated[
        Path,
        typer.Option(
            "--db", help="SQLite file for the demo (replaced if it holds an earlier demo).", dir_okay=False
        ),
    ] = Path(DEFAULT_DB),
    tickets: Annotated[int, typer.Option(min=10, max=20000, help="Tickets in the simulated account.")] = 300,
    minute_seconds: Annotated[
        float, typer.Option(min=0.1, help="Length of a rate-limit minute in the simulator, in seconds.")
    ] = 2.0,
    attachments: Annotated[bool, typer.Option("--attachments/--no-attachments")] = True,
    verbose: VerboseOption = False,
) -> None:
    """Sync a simulated Zendesk account end to end: OAuth consent, full sync, report, a search."""
    with reporting_errors(verbose):
        if db.exists() and not _is_demo_store(db):
            fail(
                f"{str(db)!r} already holds data that is not from the demo — refusing to replace it; "
                "use --db demo.db",
                2,
            )
        _remove_sqlite(db)
        asyncio.run(_demo(db, tickets=tickets, minute_seconds=minute_seconds, attachments=attachments))


def _remove_sqlite(path: Path) -> None:
    import shutil

    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    for folder in (Path(f"{path}.blobs"), Path(f"{path}.locks")):
        if folder.is_dir():
            shutil.rmtree(folder)


async def _demo(db: Path, *, tickets: int, minute_seconds: float, attachments: bool) -> None:
    try:
        from zendesk_simulator.testing import running_simulator
    except ImportError as exc:
        fail(f"the bundled Zendesk simulator is not installed ({exc}) — run `make setup`")
    from cryptography.fernet import Fernet

    from zensync.config import ZendeskConfig
    from zensync.connections import ConnectionManager
    from zensync.secret_box import SecretBox
    from zensync.store import Store
    from zensync.zendesk import oauth

    err_console.print(
        f"Starting a simulated Zendesk account ({tickets:,} tickets, Enterprise plan, "
        f"a rate-limit minute of {minute_seconds:g} s)…",
        markup=False,
    )
    with (
        running_simulator(
            tickets=tickets, plan="enterprise", minute_seconds=minute_seconds, auto_consent=True
        ) as sim,
        Store.open(db) as store,
    ):
        # The demo's tokens live only as long as its simulator: a throwaway key seals them.
        manager = ConnectionManager(store, SecretBox.from_key(Fernet.generate_key()))
        started = manager.begin_oauth(
            name=DEMO_MARKER_CONNECTION,
            config=ZendeskConfig(subdomain=sim.subdomain, base_url=sim.base_url),
            client_id=sim.oauth_client_id,
            client_secret=sim.oauth_client_secret,
            redirect_uri=oauth.DEFAULT_REDIRECT_URI,
        )
        # The same callback handling as `zensync connect` and the service's callback route.
        record = await manager.complete_oauth(
            await _approved_consent(started.auth_url, oauth.DEFAULT_REDIRECT_URI)
        )
        problem = manager.problem(record)
        if record.status != "active":
            fail(problem.message() if problem else f"the demo connection is {record.status}")
        err_console.print("Connected through OAuth consent (authorization code + PKCE).", markup=False)
        with SyncProgress(err_console, enabled=err_console.is_terminal) as progress:
            report = await manager.sync(
                record.id,
                full=True,
                download_attachments=attachments,
                progress=progress,
                on_failure=lambda partial: err_console.print(partial.render()),
            )
        console.print(report.render())
        truth = sim.truth()
        # The simulator seeds known phrases (truth()["phrases"]); a comment's is the best show.
        phrases = [p for p in truth.get("phrases") or [] if isinstance(p, dict) and p.get("phrase")]
        comment = [p for p in phrases if p.get("type") == "comment"]
        query = str((comment or phrases or [{"phrase": "refund"}])[0]["phrase"])
        console.print(f"\nSample search: zensync search {json.dumps(query)} --db {db}")
        print_hits(store.search(query, limit=5), query)
        stored = store.counts(DEMO_MARKER_CONNECTION)
        # Revoke the demo's grant and drop its sealed tokens (their key is gone); the data stays.
        await manager.disconnect(record.id)
    match = all(stored.get(t) == truth.get(t) for t in ENTITY_CHOICES)
    console.print(
        f"\nStored {', '.join(f'{stored[t]:,} {STREAM_LABELS[t]}' for t in ENTITY_CHOICES)}"
        f" — {'equal to' if match else 'DIFFERENT from'} the simulator's own counts."
    )
    console.print(
        f"\nThe copy stays in {db}: try `zensync status --db {db}` or `zensync search WORDS --db {db}`. "
        "For a real account: `zensync sync --subdomain YOURS` with ZENSYNC_EMAIL and ZENSYNC_API_TOKEN "
        "(or `zensync connect`)."
    )
    if not match:
        fail("the demo's stored counts differ from the simulator's")


async def _approved_consent(auth_url: str, redirect_uri: str) -> dict[str, str]:
    """The browser's part of consent, against a server that approves by itself.

    The simulator's ``auto_consent`` answers the consent URL with the redirect a browser would
    follow after "Allow"; its query (``code`` and ``state``, or ``error``) is what the callback
    receives (api-reference.md, "OAuth Tokens for Grant Types", "Authorization code grant type").
    """
    from urllib.parse import parse_qsl

    import httpx

    async with httpx.AsyncClient(follow_redirects=False, timeout=30.0) as http:
        response = await http.get(auth_url)
    location = response.headers.get("location", "")
    if response.status_code not in (301, 302, 303, 307) or not location.startswith(redirect_uri):
        fail(f"the simulator did not approve consent (HTTP {response.status_code}) — is auto-consent on?")
    return dict(parse_qsl(urlsplit(location).query))


# ---------------------------------------------------------------------------------------------


cli_connections.register(app)
cli_index.register(app)


def _register_mcp() -> None:
    from zensync import cli_mcp

    cli_mcp.register(app)


_register_mcp()


def main() -> None:
    """Console-script entry point."""
    started = time.monotonic()
    try:
        app()
    finally:
        log.debug("zensync finished in %.1f s", time.monotonic() - started)


if __name__ == "__main__":
    main()
