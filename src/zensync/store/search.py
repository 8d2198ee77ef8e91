"""Full-text search: SQLite FTS5 (bm25, snippet) and PostgreSQL tsvector (ts_rank, ts_headline).

Both backends accept the same user syntax, that of PostgreSQL's ``websearch_to_tsquery``
(what people type into a search box): words are ANDed, ``"quoted phrases"`` match
in order, ``or`` between words means either, and ``-word`` excludes. Nothing a user types can
break the query: on SQLite every term is re-quoted as an FTS5 string, so ``"``, ``*``,
``AND (``, ``NEAR`` or column filters are plain text; on PostgreSQL ``websearch_to_tsquery``
never raises on syntax.

The SQL is assembled from module constants (table names, weights) only; every value a user
gives is a bound parameter.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from zensync.entities import ENTITY_TYPES, EntityType
from zensync.store.base import MATCH_END, MATCH_START, SearchHit, snippet_to_html
from zensync.store.schema import ENTITY_TABLES

TS_CONFIG = "english"
SNIPPET_WORDS = 24
# bm25 weights of the FTS columns (name, search_text): a hit in the title counts more.
BM25_WEIGHTS = (4.0, 1.0)

_TOKEN_RE = re.compile(r'-?"[^"]*"?|\S+')
_WORD_RE = re.compile(r"\w", re.UNICODE)


@dataclass(frozen=True)
class _Term:
    text: str
    negated: bool = False


def _fts5_string(value: str) -> str:
    """An FTS5 string literal: the tokenizer still splits it into words, no syntax survives."""
    return '"' + value.replace('"', '""') + '"'


def fts5_query(user_query: str) -> str | None:
    """Translate a search-box query to FTS5 syntax; None when nothing searchable remains."""
    groups: list[list[str]] = [[]]  # OR of ANDs
    negatives: list[str] = []
    pending_or = False
    for token in _TOKEN_RE.findall(user_query):
        negated = token.startswith("-") and len(token) > 1
        body = token[1:] if negated else token
        if body.startswith('"'):
            body = body.strip('"')
        elif body.lower() == "or" and not negated:
            pending_or = bool(groups[-1])
            continue
        elif body.lower() == "and" and not negated:
            continue  # words are ANDed anyway (and PostgreSQL drops "and" as a stop word)
        if not _WORD_RE.search(body):
            continue  # punctuation alone (``*``, ``(``, ``"``) matches nothing: drop it
        literal = _fts5_string(body)
        if negated:
            negatives.append(literal)
            continue
        if pending_or:
            groups.append([])
            pending_or = False
        groups[-1].append(literal)
    groups = [g for g in groups if g]
    if not groups:
        return None
    if len(groups) == 1:
        positive = " AND ".join(groups[0])
    else:
        positive = " OR ".join("(" + " AND ".join(g) + ")" for g in groups)
    if negatives:
        return f"({positive}) NOT ({' OR '.join(negatives)})"
    return positive


def _check_types(types: Sequence[str] | None) -> tuple[EntityType, ...]:
    if types is None:
        return ENTITY_TYPES
    chosen: list[EntityType] = []
    for t in types:
        if t not in ENTITY_TYPES:
            raise ValueError(f"Unknown entity type {t!r}; choose among {', '.join(ENTITY_TYPES)}.")
        if t not in chosen:
            chosen.append(t)  # type: ignore[arg-type]
    return tuple(chosen)


def _ticket_id_column(entity_type: EntityType) -> str:
    if entity_type == "ticket":
        return "t.id"
    if entity_type in ("comment", "attachment"):
        return "t.ticket_id"
    return "CAST(NULL AS BIGINT)"


def _hit(row: Any) -> SearchHit:
    return SearchHit(
        entity_type=row.entity_type,
        entity_id=row.entity_id,
        id=int(row.id),
        name=row.name or "",
        snippet=snippet_to_html(row.snippet or ""),
        web_url=row.web_url,
        score=float(row.score),
        ticket_id=int(row.ticket_id) if row.ticket_id is not None else None,
        connection_id=row.connection_id,
    )


def search_sqlite(
    conn: Connection,
    query: str,
    types: Sequence[str] | None,
    limit: int,
    connection_id: str | None,
) -> list[SearchHit]:
    match = fts5_query(query)
    if match is None:
        return []
    parts = []
    for entity_type in _check_types(types):
        table = ENTITY_TABLES[entity_type].name
        fts = f"{table}_fts"
        where = "AND t.connection_id = :connection_id" if connection_id is not None else ""
        # Auxiliary functions (bm25, snippet) need the FTS table in the FROM clause directly.
        parts.append(
            f"""SELECT * FROM (
                SELECT '{entity_type}' AS entity_type, t.connection_id, t.entity_id, t.id, t.name,
                       t.web_url, {_ticket_id_column(entity_type)} AS ticket_id,
                       -bm25({fts}, {BM25_WEIGHTS[0]}, {BM25_WEIGHTS[1]}) AS score,
                       snippet({fts}, -1, :start, :end, '…', {SNIPPET_WORDS}) AS snippet
                FROM {fts} JOIN {table} AS t ON t.rowid = {fts}.rowid
                WHERE {fts} MATCH :match {where}
                ORDER BY bm25({fts}, {BM25_WEIGHTS[0]}, {BM25_WEIGHTS[1]}) LIMIT :limit)"""  # noqa: S608
        )
    sql = " UNION ALL ".join(parts) + " ORDER BY score DESC, entity_type, id LIMIT :limit"
    rows = conn.execute(
        text(sql),
        {
            "match": match,
            "limit": limit,
            "connection_id": connection_id,
            "start": MATCH_START,
            "end": MATCH_END,
        },
    ).all()
    return [_hit(r) for r in rows]


def search_postgresql(
    conn: Connection,
    query: str,
    types: Sequence[str] | None,
    limit: int,
    connection_id: str | None,
) -> list[SearchHit]:
    if not _WORD_RE.search(query):
        return []
    parts = []
    for entity_type in _check_types(types):
        table = ENTITY_TABLES[entity_type].name
        where = "AND t.connection_id = :connection_id" if connection_id is not None else ""
        parts.append(
            f"""(SELECT '{entity_type}' AS entity_type, t.connection_id, t.entity_id, t.id, t.name,
                       t.web_url, {_ticket_id_column(entity_type)} AS ticket_id,
                       ts_rank(t.search_vector, q.query) AS score,
                       coalesce(nullif(t.search_text, ''), t.name) AS document
                FROM {table} AS t, q
                WHERE t.search_vector @@ q.query {where}
                ORDER BY score DESC LIMIT :limit)"""  # noqa: S608
        )
    # ts_headline re-parses the document: only for the rows actually returned.
    sql = f"""
        WITH q AS (SELECT websearch_to_tsquery('{TS_CONFIG}', :query) AS query),
        hits AS (SELECT * FROM ({" UNION ALL ".join(parts)}) AS found
                 ORDER BY score DESC, entity_type, id LIMIT :limit)
        SELECT hits.*, ts_headline('{TS_CONFIG}', hits.document, q.query, :options) AS snippet
        FROM hits, q ORDER BY score DESC, entity_type, id
    """  # noqa: S608
    options = (
        f'StartSel="{MATCH_START}", StopSel="{MATCH_END}", MaxWords={SNIPPET_WORDS}, '
        f'MinWords={SNIPPET_WORDS // 2}, MaxFragments=2, FragmentDelimiter=" … "'
    )
    rows = conn.execute(
        text(sql),
        {"query": query, "limit": limit, "connection_id": connection_id, "options": options},
    ).all()
    return [_hit(r) for r in rows]
