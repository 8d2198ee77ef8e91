"""What every ``zensync`` command shares: consoles, options, error reporting, the store, progress.

Command modules (:mod:`zensync.cli` and the modules it registers, such as
:mod:`zensync.cli_connections`) import from here and never from each other, so there is no
import circle and any command module can be added with one line in ``zensync.cli``.

Failure is reported the same way everywhere: one line on stderr that says what went wrong and
how to fix it, a non-zero exit, and the traceback only with ``--verbose``. Secrets are never
printed: settings hold them as ``SecretStr``, and error lines are built from Zendesk's error
fields and redacted URLs, never from request headers.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn
from urllib.parse import urlsplit

import typer
from rich.console import Console
from rich.padding import Padding
from rich.progress import Progress, ProgressColumn, SpinnerColumn, Task, TextColumn, TimeElapsedColumn
from rich.text import Text

from zensync.settings import SettingsError

if TYPE_CHECKING:
    from zensync.entities import EntityType
    from zensync.store import PageCounts, Store

ENTITY_CHOICES: tuple[EntityType, ...] = ("ticket", "comment", "user", "organization", "attachment")
# How each entity type is named in tables and progress lines.
STREAM_LABELS: dict[EntityType, str] = {
    "organization": "organizations",
    "user": "users",
    "ticket": "tickets",
    "comment": "comments",
    "attachment": "attachments",
}

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


class CliError(Exception):
    """A failure the user can fix; the message already names the fix."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code



# ---------------------------------------------------------------------------------------------
# Options shared by several commands

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="TOML config file (default: ./zensync.toml when present).", dir_okay=False),
]
VerboseOption = Annotated[bool, typer.Option("--verbose", "-v", help="Show details and tracebacks.")]
DbOption = Annotated[
    str | None,
    typer.Option("--db", help="SQLite file or database URL [env ZENSYNC_DB; default ./zensync.db]."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
TypeOption = Annotated[
    list[str] | None,
    typer.Option("--type", "-t", help=f"Entity type, repeatable: {', '.join(ENTITY_CHOICES)}."),
]


def fail(message: str, exit_code: int = 1) -> NoReturn:
    """Stop the command with the one-line error every command reports the same way."""
    raise CliError(message, exit_code)


@contextmanager
def reporting_errors(verbose: bool) -> Iterator[None]:
    """Turn any failure into one clear line on stderr and a non-zero exit.

    Typer's own exits pass through; anything else is explained by :func:`explain_error`.
    Ctrl-C exits 130 after saying that the next run resumes (the engine commits page by page).
    """
    configure_logging(verbose)
    try:
        yield
    except (typer.Exit, typer.Abort):
        raise
    except KeyboardInterrupt:
        err_console.print("Interrupted: what was stored is kept; the next `zensync sync` resumes.")
        raise typer.Exit(130) from None
    except Exception as exc:  # every failure ends here, by design
        if verbose:
            err_console.print(traceback.format_exc(), markup=False, highlight=False)
        message, code = explain_error(exc)
        err_console.print(f"Error: {message}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(code) from None


def configure_logging(verbose: bool) -> None:
    """Warnings always (e.g. a skipped attachment), details with --verbose; on stderr."""
    from rich.logging import RichHandler

    root = logging.getLogger("zensync")
    if not any(isinstance(h, RichHandler) for h in root.handlers):
        handler = RichHandler(console=err_console, show_path=False, rich_tracebacks=False)
        root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)


def explain_error(exc: BaseException) -> tuple[str, int]:
    """The user-facing sentence for a failure, and the exit code (2: bad input, 1: failure)."""
    from pydantic import ValidationError

    from zensync.config import InvalidBaseURL, InvalidSubdomain
    from zensync.store import StoreError, SyncAlreadyRunning
    from zensync.zendesk import errors as zerrors
    from zensync.zendesk.oauth import OAuthError

    if isinstance(exc, CliError):
        return str(exc), exc.exit_code
    if isinstance(exc, SettingsError):
        return str(exc), 2
    if isinstance(exc, InvalidSubdomain):
        text = str(exc)
        if exc.suggestion:
            text = text.removesuffix(f" Use the subdomain only: {exc.suggestion!r}.")
            text += f" — use --subdomain {exc.suggestion}"
        return text, 2
    if isinstance(exc, InvalidBaseURL):
        return f"{exc} (--base-url / $ZENSYNC_BASE_URL)", 2
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        inner = (first.get("ctx") or {}).get("error")
        if isinstance(inner, InvalidSubdomain | InvalidBaseURL):
            return explain_error(inner)
        return f"{first.get('msg')} ({'.'.join(str(p) for p in first.get('loc', ()))})", 2
    if isinstance(exc, zerrors.AuthenticationError):
        text = str(exc)
        said = re.match(r"Zendesk did not accept (the [^:]+): (.*)$", text, re.DOTALL)
        if said:  # "the email and API token: check both …" → name what was rejected once
            return f"Zendesk rejected the credentials ({said.group(1)}): {said.group(2)}", 1
        return f"Zendesk rejected the credentials: {text}", 1
    if isinstance(exc, zerrors.PermissionDenied):
        return str(exc), 1
    if isinstance(exc, zerrors.ConnectionFailed):
        return f"cannot reach Zendesk: {exc} — check --subdomain / --base-url", 1
    if isinstance(exc, zerrors.ZendeskError):
        return str(exc), 1
    if isinstance(exc, OAuthError):
        return str(exc), 1
    runner = sys.modules.get("zensync.sync.runner")
    if runner is not None and isinstance(exc, runner.AttachmentStorageMissing):
        return str(exc), 2
    if isinstance(exc, SyncAlreadyRunning | StoreError):
        return str(exc), 1
    # Errors of parts imported only by some commands: if the module was never imported, the
    # exception cannot come from it (and importing it here could fail in a broken install).
    connections = sys.modules.get("zensync.connections")
    if connections is not None and isinstance(exc, connections.ConnectionProblem):
        return str(exc), 2 if exc.status in (404, 422) else 1
    secret_box = sys.modules.get("zensync.secret_box")
    if secret_box is not None and isinstance(exc, secret_box.SecretKeyError):
        return str(exc), 1
    service = sys.modules.get("zensync.service.app")
    if service is not None and isinstance(exc, service.ServiceConfigError):
        return str(exc), 2
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text} (run again with --verbose for details)", 1


def print_json(data: Any) -> None:
    """JSON on stdout, unstyled, so it can be piped."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    sys.stdout.flush()



# ---------------------------------------------------------------------------------------------
# Store


def sqlite_path(db: str) -> Path | None:
    """The file behind a plain path or ``sqlite:///`` URL; None for a server URL."""
    if "://" not in db:
        return Path(db).expanduser()
    from sqlalchemy.engine import make_url

    try:
        url = make_url(db)
    except Exception:
        return None  # Store.open explains a malformed URL
    return Path(url.database) if url.get_backend_name() == "sqlite" and url.database else None


def describe_db(db: str) -> str:
    """The database, safe to print: a server URL loses its password."""
    if "://" not in db:
        return db
    parts = urlsplit(db)
    if parts.password:
        netloc = f"{parts.username}:…@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return parts._replace(netloc=netloc).geturl()
    return db


def open_store(db: str, *, must_exist: bool, blob_dir: str | None = None) -> Store:
    """Open the store; for read-only commands refuse to create an empty SQLite file."""
    from zensync.store import Store

    path = sqlite_path(db)
    if must_exist and path is not None and not path.exists():
        fail(
            f"no zensync database at {str(path)!r} — run `zensync sync` (or `zensync demo`) first, "
            "or point --db / $ZENSYNC_DB at an existing one"
        )
    return Store.open(db, blob_dir=blob_dir)


# ---------------------------------------------------------------------------------------------
# Progress


class RateColumn(ProgressColumn):
    """Entities per second of one entity type."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if task.finished and task.elapsed:  # at the end: the average over the whole run
            speed = task.completed / task.elapsed
        return Text(f"{speed:,.0f}/s" if speed else "", style="cyan")


class CountColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        return Text(f"{int(task.completed):,}", style="bold")


class SyncProgress:
    """Rich progress bars per entity type, fed by the engine's ``progress(stream, counts)``."""

    def __init__(self, console: Console, enabled: bool = True) -> None:
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description:<13}"),
            CountColumn(),
            RateColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
            disable=not enabled,
        )
        self.tasks = {t: self.progress.add_task(STREAM_LABELS[t], total=None) for t in STREAM_LABELS}

    def __enter__(self) -> SyncProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for task_id in self.tasks.values():
            self.progress.update(task_id, total=self.progress.tasks[task_id].completed)
        self.progress.stop()

    def __call__(self, stream: str, counts: PageCounts) -> None:
        for entity_type, task_id in self.tasks.items():
            c = counts[entity_type]
            self.progress.update(task_id, completed=c.seen + c.deleted)



# ---------------------------------------------------------------------------------------------
# Entity types and search results


def check_types(types: list[str] | None) -> list[EntityType] | None:
    """``--type`` values (repeatable or comma-separated, singular or plural) as entity types."""
    if not types:
        return None
    by_name: dict[str, EntityType] = {t: t for t in ENTITY_CHOICES} | {f"{t}s": t for t in ENTITY_CHOICES}
    chosen: list[EntityType] = []
    for value in types:
        for part in value.split(","):
            name = by_name.get(part.strip().lower())
            if name is None:
                fail(f"unknown --type {part!r} — use one of: {', '.join(ENTITY_CHOICES)}", 2)
            if name not in chosen:
                chosen.append(name)
    return chosen



def print_hits(hits: list[Any], query: str) -> None:
    if not hits:
        console.print(f"No results for {query!r}.", markup=False)
        return
    for n, hit in enumerate(hits, 1):
        title = Text(f"{n:>2}. ", style="dim")
        title.append(f"[{hit.entity_type}] ", style="magenta")
        title.append(hit.name or hit.entity_id, style="bold")
        console.print(title)
        snippet = Text()
        for text, matched in hit.snippet_parts:
            snippet.append(text, style="bold yellow" if matched else None)
        console.print(Padding(snippet, (0, 0, 0, 4)))
        if hit.web_url:
            console.print(Padding(Text(hit.web_url, style=f"link {hit.web_url} blue"), (0, 0, 0, 4)))

