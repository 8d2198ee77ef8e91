"""Searching the copy: keyword, by meaning, or both fused; filtered; grouped by ticket.

``search(store, query, mode=..., ...)`` is the one entry point (CLI, web service, MCP):

- ``keyword``: the store's full-text search (FTS5 / tsvector, ``zensync.store.search``);
- ``semantic``: the nearest chunks to the query's vector (``zensync.store.vectors``);
- ``hybrid``: both lists fused by reciprocal rank fusion (RRF, k = 60): a result ranked well
  by either list ranks well, one ranked well by both ranks best;
- ``auto`` (the default): hybrid once vectors exist, keyword before (with a notice).

Results are grouped: a comment or attachment hit shows as its ticket, with the matching
passage; users and organizations stand for themselves. Filters (type, status, organization,
date range) apply to the group: a ticket's status, organization and creation time.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from zensync.entities import ENTITY_TYPES, EntityType
from zensync.store import reads
from zensync.store.base import StoreError
from zensync.store.vectors import (
    EMBEDDED_TYPES,
    IndexInfo,
    IndexModelMismatch,
    NoVectors,
    VectorStore,
    VectorsUnavailable,
)

if TYPE_CHECKING:
    from zensync.embeddings import Embedder
    from zensync.store import Store

__all__ = [
    "MAX_QUERY_CHARS",
    "MODES",
    "IndexModelMismatch",
    "NoVectors",
    "Passage",
    "SearchInputError",
    "SearchResponse",
    "SearchResult",
    "VectorsUnavailable",
    "search",
]

Mode = Literal["auto", "hybrid", "semantic", "keyword"]
MODES: tuple[str, ...] = ("auto", "hybrid", "semantic", "keyword")
MAX_QUERY_CHARS = 1000
RRF_K = 60
PASSAGES_PER_RESULT = 3
PASSAGE_CHARS = 320
# Nearest neighbours always exist; below this cosine similarity they are not "about" the query.
MIN_SIMILARITY = 0.2


class SearchInputError(ValueError):
    """A query or filter that cannot be searched; the message says what to change."""


@dataclass(frozen=True)
class Passage:
    """A matching piece of a result: the ticket itself, one of its comments or attachments."""

    entity_type: EntityType
    entity_id: str
    id: int
    snippet: str  # HTML-safe; keyword matches wrapped in <mark>
    web_url: str | None
    via: tuple[str, ...]  # "keyword", "semantic"

    @property
    def text(self) -> str:
        return html.unescape(self.snippet.replace("<mark>", "").replace("</mark>", ""))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["via"] = list(self.via)
        data["text"] = self.text
        return data


@dataclass
class SearchResult:
    """One ticket (or user, or organization) and why it matched."""

    entity_type: EntityType  # "ticket", "user" or "organization"
    entity_id: str
    id: int
    connection_id: str
    name: str
    web_url: str | None
    score: float
    ranks: dict[str, int] = field(default_factory=dict)  # rank in each list (1 = best)
    status: str | None = None
    organization_id: int | None = None
    organization_name: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    passages: list[Passage] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "entity_type": self.entity_type,
            "entity_id": self.entity_id,
            "id": self.id,
            "connection_id": self.connection_id,
            "name": self.name,
            "web_url": self.web_url,
            "score": self.score,
            "ranks": dict(self.ranks),
            "status": self.status,
            "organization_id": self.organization_id,
            "organization_name": self.organization_name,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
            "passages": [p.to_dict() for p in self.passages],
        }


@dataclass
class SearchResponse:
    query: str
    mode: str  # the mode actually used
    results: list[SearchResult]
    notice: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "mode": self.mode,
            "notice": self.notice,
            "results": [r.to_dict() for r in self.results],
        }


# ---------------------------------------------------------------------------------------------


def check_query(query: str) -> str:
    if not isinstance(query, str):
        raise SearchInputError("The query must be text.")
    cleaned = query.replace("\x00", " ").strip()
    if not cleaned:
        raise SearchInputError("The query is empty: type some words to search for.")
    if len(cleaned) > MAX_QUERY_CHARS:
        raise SearchInputError(
            f"The query is {len(cleaned):,} characters long; shorten it to at most {MAX_QUERY_CHARS:,} "
            "(a few words or a sentence find the most)."
        )
    return cleaned


def _check_types(types: Sequence[str] | None) -> tuple[EntityType, ...] | None:
    if not types:
        return None
    chosen: list[EntityType] = []
    for value in types:
        name = value.strip().lower()
        if name not in ENTITY_TYPES and name.endswith("s"):
            name = name[:-1]
        if name not in ENTITY_TYPES:
            raise SearchInputError(f"Unknown type {value!r}; choose among {', '.join(ENTITY_TYPES)}.")
        if name not in chosen:
            chosen.append(name)  # type: ignore[arg-type]
    return tuple(chosen)


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def resolve_embedder(info: IndexInfo, embedder: Embedder | None) -> Embedder:
    """The embedder for queries: the one given (it must be the index's model) or the one the
    index records (its folder or endpoint; an endpoint's key comes from the environment)."""
    from zensync.embeddings import load_embedder

    if embedder is None:
        spec = info.spec or {}
        if spec.get("kind") == "dir":
            embedder = load_embedder(spec["path"])
        elif spec.get("kind") == "url":
            embedder = load_embedder(url=spec["url"], model=spec.get("model"))
        else:
            embedder = load_embedder()
    if embedder.fingerprint != info.fingerprint:
        raise IndexModelMismatch(
            f"The search index was built with {info.model} ({info.dimension} dimensions), not "
            f"{embedder.name} ({embedder.dimension} dimensions); run `zensync index --rebuild` to "
            "re-embed with this model, or search with the model the index was built with."
        )
    return embedder


@dataclass
class _Group:
    key: tuple[str, str, int]  # (entity type, connection, id)
    ranks: dict[str, int] = field(default_factory=dict)
    passages: dict[tuple[str, int], Passage] = field(default_factory=dict)

    def add(self, list_name: str, rank: int, passage: Passage) -> None:
        self.ranks.setdefault(list_name, rank)
        pkey = (passage.entity_type, passage.id)
        existing = self.passages.get(pkey)
        if existing is None:
            self.passages[pkey] = passage
        elif list_name not in existing.via:
            snippet = existing.snippet if "<mark>" in existing.snippet else passage.snippet
            self.passages[pkey] = Passage(
                existing.entity_type,
                existing.entity_id,
                existing.id,
                snippet,
                existing.web_url,
                (*existing.via, list_name),
            )


def _trim(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= PASSAGE_CHARS else text[: PASSAGE_CHARS - 1].rsplit(" ", 1)[0] + " …"


def search(
    store: Store,
    query: str,
    *,
    mode: str = "auto",
    types: Sequence[str] | None = None,
    status: Sequence[str] | str | None = None,
    organization: str | int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 20,
    connection_id: str | None = None,
    embedder: Embedder | None = None,
) -> SearchResponse:
    """Search the copy; see the module's docstring. Raises :class:`SearchInputError` for a
    query or filter that cannot be searched, :class:`NoVectors` / :class:`VectorsUnavailable` /
    :class:`IndexModelMismatch` when ``semantic`` or ``hybrid`` is asked for and cannot run."""
    q = check_query(query)
    if mode not in MODES:
        raise SearchInputError(f"Unknown mode {mode!r}; choose among {', '.join(MODES)}.")
    if not isinstance(limit, int) or not 1 <= limit <= 200:
        raise SearchInputError(f"limit must be between 1 and 200, not {limit!r}.")
    wanted_types = _check_types(types)
    statuses = (
        {s.strip().lower() for s in ([status] if isinstance(status, str) else status) if s.strip()}
        if status
        else None
    )
    since, until = _aware(since), _aware(until)
    if since and until and since > until:
        raise SearchInputError("The date range is empty: --since is after --until.")
    organization_text = str(organization).strip().casefold() if organization not in (None, "") else None

    vectors = VectorStore(store)
    notice = None
    effective = mode
    info: IndexInfo | None = None
    if mode in ("auto", "hybrid", "semantic"):
        reason = vectors.supported()
        info = vectors.info() if reason is None else None
        ready = info is not None and vectors.has_vectors()
        if mode == "auto":
            if ready:
                effective = "hybrid"
            else:
                effective = "keyword"
                notice = reason or (
                    "Keyword search only: no vectors yet — run `zensync index` to search by meaning too."
                )
        elif reason is not None:
            raise VectorsUnavailable(reason)
        elif not ready:
            raise NoVectors(
                f"No vectors yet for {mode} search: run `zensync index` first (or use --mode keyword)."
            )

    filtered = bool(statuses or organization_text or since or until)
    fetch = min(1000, max(limit * (20 if filtered else 5), 100))
    groups: dict[tuple[str, str, int], _Group] = {}

    def group_for(entity_type: str, cid: str, object_id: int, ticket_id: int | None) -> _Group:
        key = ("ticket", cid, ticket_id) if ticket_id is not None else (entity_type, cid, object_id)
        if key not in groups:
            groups[key] = _Group(key)  # type: ignore[arg-type]
        return groups[key]  # type: ignore[index]

    if effective in ("keyword", "hybrid"):
        hits = store.search(q, types=wanted_types, limit=fetch, connection_id=connection_id)
        for rank, hit in enumerate(hits, 1):
            ticket_id = hit.ticket_id if hit.entity_type in EMBEDDED_TYPES else None
            group_for(hit.entity_type, hit.connection_id, hit.id, ticket_id).add(
                "keyword",
                rank,
                Passage(hit.entity_type, hit.entity_id, hit.id, hit.snippet, hit.web_url, ("keyword",)),
            )
    if effective in ("semantic", "hybrid"):
        assert info is not None
        model = resolve_embedder(info, embedder)
        vector = model.embed([q])[0]
        # Neighbours asked of the vector index: sqlite-vec's cost grows with k, so enough for
        # the page of groups (several chunks may fall in one ticket) and more when filters
        # will drop some.
        k = min(4096, max(limit * (40 if filtered else 5), 50))
        chunk_hits = vectors.nearest(vector, k, connection_id=connection_id, types=wanted_types)
        chunk_hits = [c for c in chunk_hits if 1.0 - c.distance >= MIN_SIMILARITY]
        for rank, chunk in enumerate(chunk_hits, 1):
            entity_id = f"{chunk.entity_type}:{chunk.object_id}"
            passage = Passage(
                chunk.entity_type,  # type: ignore[arg-type]
                entity_id,
                chunk.object_id,
                html.escape(_trim(chunk.text), quote=False),
                None,
                ("semantic",),
            )
            group_for(chunk.entity_type, chunk.connection_id, chunk.object_id, chunk.ticket_id).add(
                "semantic", rank, passage
            )

    results = _describe(store, groups)
    kept: list[tuple[SearchResult, _Group]] = []
    for group in groups.values():
        result = results.get(group.key)
        if result is None:
            continue  # deleted between the two reads
        if statuses is not None and (result.status or "").lower() not in statuses:
            continue
        if organization_text is not None and organization_text not in {
            str(result.organization_id or "").casefold(),
            (result.organization_name or "").casefold(),
        }:
            continue
        created = _aware(result.created_at)
        if since is not None and (created is None or created < since):
            continue
        if until is not None and (created is None or created > until):
            continue
        kept.append((result, group))

    # Ranks are re-counted within what the filters kept, then fused.
    for list_name in ("keyword", "semantic"):
        in_list = sorted((g.ranks[list_name], id(g)) for _, g in kept if list_name in g.ranks)
        new_rank = {key: n for n, (_, key) in enumerate(in_list, 1)}
        for result, group in kept:
            if list_name in group.ranks:
                result.ranks[list_name] = new_rank[id(group)]
    for result, group in kept:
        result.score = round(sum(1.0 / (RRF_K + r) for r in result.ranks.values()), 6)
        # Passages found by both lists first; otherwise in the order the lists ranked them.
        ordered = sorted(group.passages.values(), key=lambda p: -len(p.via))
        result.passages = ordered[:PASSAGES_PER_RESULT]
    kept.sort(key=lambda rg: (-rg[0].score, min(rg[0].ranks.values()), rg[0].id))
    return SearchResponse(query=q, mode=effective, results=[r for r, _ in kept[:limit]], notice=notice)


def _describe(
    store: Store, groups: dict[tuple[str, str, int], _Group]
) -> dict[tuple[str, str, int], SearchResult]:
    """The rows the groups stand for (a ticket's subject, status, organization, dates)."""
    wanted: dict[str, list[tuple[str, int]]] = {}
    for entity_type, cid, object_id in groups:
        wanted.setdefault(entity_type, []).append((cid, object_id))
    out: dict[tuple[str, str, int], SearchResult] = {}
    for entity_type, keys in wanted.items():
        for row in reads.entity_briefs(store, entity_type, keys):  # type: ignore[arg-type]
            key = (entity_type, row[0], int(row[1]))
            out[key] = SearchResult(
                entity_type=entity_type,  # type: ignore[arg-type]
                entity_id=row[2],
                id=int(row[1]),
                connection_id=row[0],
                name=row[3] or row[2],
                web_url=row[4],
                score=0.0,
                created_at=row[5],
                updated_at=row[6],
                status=row[7],
                organization_id=int(row[8]) if row[8] is not None else None,
                organization_name=row[9],
            )
    return out


def explain_search_error(exc: BaseException) -> str | None:
    """The user-facing sentence for a search failure, or None when it is not one of ours."""
    if isinstance(exc, SearchInputError | StoreError):
        return str(exc)
    return None
