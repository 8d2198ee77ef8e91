"""``zensync index`` (build the vectors for search by meaning) and the search command's body.

``index`` embeds every ticket, comment and attachment name whose vectors are missing or
older than its content, with a progress bar and a one-line report; ``--rebuild`` starts over
(another model). ``zensync search`` (registered in ``cli.py``) calls :func:`run_search`.

``zensync sync`` calls :func:`index_after_sync` once the download is done (never during it, so
the rate-limit-bound sync never waits for the CPU-bound embedding): by default only when the copy
already has an index, so a first sync of a large account stays a sync, and ``zensync index``
(or ``sync --embeddings``) builds the first index deliberately.

Embedding options (on ``index`` and ``search``; a sync uses the index's model): the default model,
``--embedding-model DIR`` (another BERT-style sentence-transformers folder) or
``--embedding-url URL`` (an OpenAI-compatible endpoint; its key from
``$ZENSYNC_EMBEDDING_API_KEY``, never from an option, so it never shows in ``ps``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from zensync.cli_common import (
    DbOption,
    console,
    err_console,
    fail,
    open_store,
    print_json,
    reporting_errors,
)

if TYPE_CHECKING:
    from zensync.embeddings import Embedder
    from zensync.search import SearchResponse
    from zensync.search.indexer import IndexReport
    from zensync.store import Store
    from zensync.store.vectors import VectorStore

EmbeddingModelOption = Annotated[
    Path | None,
    typer.Option(
        "--embedding-model",
        envvar="ZENSYNC_EMBEDDING_MODEL",
        help="Folder of another sentence-transformers BERT model (config.json, tokenizer.json, "
        "model.safetensors) instead of the bundled all-MiniLM-L6-v2.",
        file_okay=False,
    ),
]
EmbeddingUrlOption = Annotated[
    str | None,
    typer.Option(
        "--embedding-url",
        envvar="ZENSYNC_EMBEDDING_URL",
        help="OpenAI-compatible embeddings API base (e.g. http://localhost:11434/v1); key from "
        "$ZENSYNC_EMBEDDING_API_KEY.",
    ),
]
EmbeddingNameOption = Annotated[
    str | None,
    typer.Option(
        "--embedding-url-model",
        envvar="ZENSYNC_EMBEDDING_URL_MODEL",
        help="Model name to ask the --embedding-url endpoint for [text-embedding-3-small].",
    ),
]


EmbeddingsOption = Annotated[
    bool | None,
    typer.Option(
        "--embeddings/--no-embeddings",
        envvar="ZENSYNC_EMBEDDINGS",
        help="After the sync, embed what changed for search by meaning [default: when the copy "
        "has an index, i.e. after a first `zensync index`].",
    ),
]


def register(app: typer.Typer) -> None:
    """Add ``index`` to the ``zensync`` app."""
    app.command("index")(index)


def load_cli_embedder(model_dir: Path | None, url: str | None, url_model: str | None) -> Embedder | None:
    """The embedder the options name, or None for "what the index was built with / the default"."""
    from zensync.embeddings import EmbeddingError, load_embedder

    if model_dir is None and url is None:
        return None
    try:
        return load_embedder(model_dir, url=url, model=url_model)
    except EmbeddingError as exc:
        fail(str(exc), 2)


def _with_progress(
    vectors: VectorStore,
    embedder: Embedder | None,
    *,
    connection_id: str | None = None,
    rebuild: bool = False,
    show_progress: bool = True,
) -> IndexReport:
    """Run the indexer with a progress bar on stderr (a terminal only); with no ``embedder``,
    refresh an existing index with its own model."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from zensync.search.indexer import build_index, refresh_index

    with Progress(
        TextColumn("embedding"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        disable=not show_progress,
    ) as progress:
        task = progress.add_task("embedding", total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        if embedder is None:
            refreshed = refresh_index(vectors, connection_id=connection_id, progress=update)
            assert refreshed is not None, "refresh an index that exists"
            return refreshed
        return build_index(vectors, embedder, connection_id=connection_id, rebuild=rebuild, progress=update)


def _index_embedder(vectors: VectorStore, embedder: Embedder | None, *, rebuild: bool) -> Embedder:
    """The embedder asked for, else the model the index was built with, else the default."""
    from zensync.embeddings import load_embedder
    from zensync.search import resolve_embedder

    if embedder is not None:
        return embedder
    info = vectors.info()
    if info is not None and not rebuild:
        return resolve_embedder(info, None)
    return load_embedder()


def build_vectors(
    store: Store,
    embedder: Embedder | None,
    *,
    connection_id: str | None = None,
    rebuild: bool = False,
    show_progress: bool = True,
) -> IndexReport:
    """``zensync index``: embed what is missing or stale; a model that cannot load is a bad option."""
    from zensync.embeddings import EmbeddingError
    from zensync.store.vectors import VectorStore

    vectors = VectorStore(store)
    try:
        chosen = _index_embedder(vectors, embedder, rebuild=rebuild)
    except EmbeddingError as exc:
        fail(str(exc), 2)
    try:
        return _with_progress(
            vectors, chosen, connection_id=connection_id, rebuild=rebuild, show_progress=show_progress
        )
    except EmbeddingError as exc:
        fail(str(exc), 1)


def index(
    db: DbOption = None,
    connection: Annotated[
        str | None, typer.Option(help="Only this connection's data (default: every connection).")
    ] = None,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Drop every vector and embed everything again (e.g. new model).")
    ] = False,
    embedding_model: EmbeddingModelOption = None,
    embedding_url: EmbeddingUrlOption = None,
    embedding_url_model: EmbeddingNameOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")] = False,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", help="TOML config file (default: ./zensync.toml when present).", dir_okay=False
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show details and tracebacks.")] = False,
) -> None:
    """Embed tickets, comments and attachment names for search by meaning (only what changed)."""
    from zensync.settings import load_settings

    with reporting_errors(verbose):
        settings = load_settings({"db": db}, config_file=config)
        embedder = load_cli_embedder(embedding_model, embedding_url, embedding_url_model)
        with open_store(settings.db, must_exist=True) as store:
            report = build_vectors(
                store,
                embedder,
                connection_id=connection,
                rebuild=rebuild,
                show_progress=err_console.is_terminal and not json_output,
            )
        if json_output:
            print_json(report.to_dict())
        else:
            console.print(report.line(), markup=False)


# ---------------------------------------------------------------------------------------------
# search


def parse_date(value: str | None, option: str) -> datetime | None:
    """``2024-05-01`` or a full ISO timestamp (UTC unless it says otherwise)."""

    if value is None or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        fail(f"{option} {value!r} is not a date: use YYYY-MM-DD (or an ISO timestamp)", 2)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def run_search(
    db: str,
    query: str,
    *,
    mode: str,
    types: list[str] | None,
    status: list[str] | None,
    organization: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    embedding_model: Path | None = None,
    embedding_url: str | None = None,
    embedding_url_model: str | None = None,
) -> SearchResponse:
    """The ``zensync search`` command's work: options checked, the store searched."""
    from zensync.embeddings import EmbeddingError
    from zensync.search import SearchInputError, search

    since_at, until_at = parse_date(since, "--since"), parse_date(until, "--until")
    if until_at is not None and until is not None and len(until.strip()) == 10:
        until_at = until_at.replace(hour=23, minute=59, second=59, microsecond=999999)  # the whole day
    embedder = load_cli_embedder(embedding_model, embedding_url, embedding_url_model)
    statuses = [s.strip() for value in status or [] for s in value.split(",") if s.strip()] or None
    with open_store(db, must_exist=True) as store:
        try:
            return search(
                store,
                query,
                mode=mode,
                types=types,
                status=statuses,
                organization=organization,
                since=since_at,
                until=until_at,
                limit=limit,
                embedder=embedder,
            )
        except SearchInputError as exc:
            fail(str(exc), 2)
        except EmbeddingError as exc:
            fail(str(exc), 1)


def print_response(response: SearchResponse) -> None:
    """Results grouped by ticket, each with its matching passages and agent-UI link."""
    from rich.padding import Padding
    from rich.text import Text

    if response.notice:
        err_console.print(f"Note: {response.notice}", markup=False)
    if not response.results:
        console.print(f"No results for {response.query!r} ({response.mode}).", markup=False)
        return
    for n, result in enumerate(response.results, 1):
        title = Text(f"{n:>2}. ", style="dim")
        title.append(f"[{result.entity_type}] ", style="magenta")
        title.append(result.name or result.entity_id, style="bold")
        extra = [x for x in (result.status, result.organization_name) if x]
        if extra:
            title.append(f"  ({', '.join(extra)})", style="dim")
        console.print(title)
        for passage in result.passages:
            line = Text(f"{passage.entity_type}: ", style="cyan")
            for piece, matched in _marked(passage.snippet):
                line.append(piece, style="bold yellow" if matched else None)
            console.print(Padding(line, (0, 0, 0, 4)))
        if result.web_url:
            console.print(Padding(Text(result.web_url, style=f"link {result.web_url} blue"), (0, 0, 0, 4)))


def _marked(snippet: str) -> list[tuple[str, bool]]:
    from zensync.store.base import SearchHit

    hit = SearchHit("ticket", "", 0, "", snippet, None, 0.0, None)
    return hit.snippet_parts


# ---------------------------------------------------------------------------------------------
# status


def vector_status(store: Store) -> dict[str, Any]:
    """How much is embedded: per type, entities stored / embedded with their current content."""
    from zensync.store.vectors import VectorStore

    vectors = VectorStore(store)
    reason = vectors.supported()
    if reason is not None:
        return {"available": False, "reason": reason, "model": None, "types": {}}
    info = vectors.info()
    return {
        "available": True,
        "model": info.model if info else None,
        "dimension": info.dimension if info else None,
        "types": vectors.counts(),
    }


def vector_status_line(data: dict[str, Any]) -> str:
    if not data.get("available"):
        return f"Search by meaning: unavailable — {data.get('reason')}"
    if not data.get("model"):
        return "Search by meaning: not indexed yet — run `zensync index`."
    parts = [f"{c['embedded']:,} of {c['entities']:,} {name}s" for name, c in data["types"].items()]
    chunks = sum(c["chunks"] for c in data["types"].values())
    return f"Search by meaning ({data['model']}): {', '.join(parts)} embedded ({chunks:,} chunks)."


# ---------------------------------------------------------------------------------------------
# after a sync


def index_after_sync(db: str, *, blob_dir: str | None = None, force: bool = False) -> dict[str, Any] | None:
    """Embed what the sync changed, with the index's own model; a line for the run report.

    The sync has succeeded by now, so a missing model or a server without pgvector is a note,
    not a failure: keyword search works, and `zensync index` can run later.
    """
    from zensync.embeddings import EmbeddingError, load_embedder
    from zensync.store import StoreError
    from zensync.store.vectors import VectorStore, VectorsUnavailable

    try:
        with open_store(db, must_exist=True, blob_dir=blob_dir) as store:
            vectors = VectorStore(store)
            if vectors.info() is None:
                if not force:
                    return None  # never indexed: `zensync index` builds the first index
                reason = vectors.supported()
                if reason is not None:
                    raise VectorsUnavailable(reason)
                report = _with_progress(vectors, load_embedder(), show_progress=err_console.is_terminal)
            else:
                report = _with_progress(vectors, None, show_progress=err_console.is_terminal)
    except (EmbeddingError, StoreError) as exc:
        err_console.print(f"Note: search by meaning not updated — {exc}", markup=False)
        return {"error": str(exc)}
    console.print(report.line(), markup=False)
    return report.to_dict()
