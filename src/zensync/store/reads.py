"""Read-side queries over the copy that serve search and the MCP server.

The store's write path and bookkeeping live in ``store.py``; the SQL that only reads what a
sync stored, for showing it, lives here so that no module outside ``zensync.store`` builds
queries of its own. SQLite and PostgreSQL alike.

The SQL is assembled from module constants (table names, weights) only; every value a caller
gives is a bound parameter.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy import Connection

from zensync.entities import EntityType
from zensync.store.base import MATCH_END, MATCH_START
from zensync.store.schema import (
    ENTITY_TABLES,
    attachments,
    comments,
    connections,
    organizations,
    sync_runs,
    sync_state,
    tickets,
    users,
)
from zensync.store.search import BM25_WEIGHTS, SNIPPET_WORDS, TS_CONFIG, _fts5_string, fts5_query

if TYPE_CHECKING:
    from zensync.store.store import Store

# (connection, id) pairs per IN (...) list: two parameters each, well under SQLite's limit.
BRIEF_CHUNK = 400


def entity_briefs(
    store: Store, entity_type: EntityType, keys: Sequence[tuple[str, int]]
) -> list[tuple[Any, ...]]:
    """What a search result shows of the rows at ``keys`` ((connection, id) pairs):
    connection_id, id, entity_id, name, web_url, created_at, updated_at, then status,
    organization_id and organization_name (a ticket's; a user's organization; an
    organization itself; None where they do not apply)."""
    table = ENTITY_TABLES[entity_type]
    extra: list[Any]
    if table is tickets:
        extra = [tickets.c.status, tickets.c.organization_id, tickets.c.organization_name]
    elif table is users:
        extra = [sa.null(), users.c.organization_id, users.c.organization_name]
    elif table is organizations:
        extra = [sa.null(), organizations.c.id, organizations.c.name]
    else:
        extra = [sa.null(), sa.null(), sa.null()]
    out: list[tuple[Any, ...]] = []
    with store.engine.connect() as conn:
        for start in range(0, len(keys), BRIEF_CHUNK):
            part = keys[start : start + BRIEF_CHUNK]
            out.extend(
                tuple(row)
                for row in conn.execute(
                    sa.select(
                        table.c.connection_id,
                        table.c.id,
                        table.c.entity_id,
                        table.c.name,
                        table.c.web_url,
                        table.c.created_at,
                        table.c.updated_at,
                        *extra,
                    ).where(sa.tuple_(table.c.connection_id, table.c.id).in_(part))
                )
            )
    return out


# ------------------------------------------------------------------------------ ticket filters


def utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class TicketFilters:
    """Filters on tickets shared by keyword search and ticket lists."""

    statuses: tuple[str, ...] = ()
    requester_id: int | None = None
    organization_id: int | None = None
    assignee_id: int | None = None
    tag: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None

    @property
    def any(self) -> bool:
        return bool(self.statuses) or any(
            v is not None
            for v in (
                self.requester_id,
                self.organization_id,
                self.assignee_id,
                self.tag,
                self.created_after,
                self.created_before,
                self.updated_after,
                self.updated_before,
            )
        )

    def digest(self) -> str:
        """A short fingerprint, so a cursor cannot be replayed against other filters."""
        raw = json.dumps(
            [
                list(self.statuses),
                self.requester_id,
                self.organization_id,
                self.assignee_id,
                self.tag,
                *(
                    utc(d).isoformat() if d else None
                    for d in (
                        self.created_after,
                        self.created_before,
                        self.updated_after,
                        self.updated_before,
                    )
                ),
            ]
        )
        return hashlib.sha256(raw.encode()).hexdigest()[:12]


# ---------------------------------------------------------------------------- read snapshots

_SUMMARY_COLUMNS = (
    tickets.c.id,
    tickets.c.name,
    tickets.c.subject,
    tickets.c.status,
    tickets.c.priority,
    tickets.c.type,
    tickets.c.requester_id,
    tickets.c.requester_name,
    tickets.c.assignee_id,
    tickets.c.assignee_name,
    tickets.c.organization_id,
    tickets.c.organization_name,
    tickets.c.group_id,
    tickets.c.group_name,
    tickets.c.created_at,
    tickets.c.updated_at,
    tickets.c.web_url,
)
_PUBLIC_COMMENT_JOIN = " JOIN comments AS pc ON pc.connection_id = x.connection_id AND pc.id = x.comment_id"
_TABLE_NAMES = {
    "ticket": "tickets",
    "comment": "comments",
    "attachment": "attachments",
    "user": "users",
    "organization": "organizations",
}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_WORD_RE = re.compile(r"\w", re.UNICODE)


@contextlib.contextmanager
def snapshot(store: Store) -> Iterator[Snapshot]:
    """One read transaction, so a sync committing pages meanwhile is never seen half-way: on
    SQLite (WAL) the snapshot starts at the first SELECT and lasts until the transaction ends;
    on PostgreSQL the transaction is ``REPEATABLE READ, READ ONLY``."""
    with store.engine.connect() as conn:
        if store.dialect == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with conn.begin():
            yield Snapshot(conn, store.dialect)


def has_vectors(store: Store) -> bool:
    """Whether ``zensync index`` has made vectors this store can search."""
    from zensync.store.vectors import VectorStore

    try:
        vectors = VectorStore(store)
        return vectors.supported() is None and vectors.has_vectors()
    except sa.exc.SQLAlchemyError:
        return False


class Snapshot:
    """Read-only questions about the copy, inside one transaction (see :func:`snapshot`).

    Rows come back as SQLAlchemy rows or plain values; turning them into answers is the
    caller's business.
    """

    def __init__(self, conn: Connection, dialect: str) -> None:
        self.conn = conn
        self.dialect = dialect

    # -- connections -----------------------------------------------------------------------

    def known_connections(self) -> dict[str, Mapping[str, Any] | None]:
        """Connection id → its stored record (None for a CLI sync without a stored connection)."""
        conn = self.conn
        records = {row["id"]: row for row in conn.execute(sa.select(connections)).mappings()}
        synced = conn.execute(sa.select(sync_state.c.connection_id)).scalars().all()
        found: dict[str, Mapping[str, Any] | None] = dict.fromkeys(sorted(synced))
        found.update(records)
        return dict(sorted(found.items()))

    def entity_counts(self, connection_id: str) -> dict[str, int]:
        counts = {}
        for name, table in (
            ("ticket", tickets),
            ("comment", comments),
            ("user", users),
            ("organization", organizations),
            ("attachment", attachments),
        ):
            counts[name] = int(
                self.conn.execute(
                    sa.select(sa.func.count())
                    .select_from(table)
                    .where(table.c.connection_id == connection_id)
                ).scalar_one()
            )
        return counts

    def latest_run(self, connection_id: str) -> Mapping[str, Any] | None:
        found = (
            self.conn.execute(
                sa.select(sync_runs)
                .where(sync_runs.c.connection_id == connection_id)
                .order_by(sync_runs.c.id.desc())
                .limit(1)
            )
            .mappings()
            .first()
        )
        return dict(found) if found is not None else None

    def last_success_at(self, connection_id: str) -> datetime | None:
        last_ok = self.conn.execute(
            sa.select(sa.func.max(sync_runs.c.finished_at)).where(
                sync_runs.c.connection_id == connection_id, sync_runs.c.status == "succeeded"
            )
        ).scalar_one_or_none()
        if isinstance(last_ok, str):  # max() over SQLite text loses the column type
            last_ok = datetime.fromisoformat(last_ok)
        if last_ok is not None and last_ok.tzinfo is None:
            last_ok = last_ok.replace(tzinfo=UTC)
        return cast("datetime | None", last_ok)

    def cursor(self, connection_id: str) -> Any:
        return self.conn.execute(
            sa.select(sync_state.c.cursor).where(sync_state.c.connection_id == connection_id)
        ).scalar_one_or_none()

    def agent_url(self, connection_id: str) -> str | None:
        """The account's agent UI, from the links the sync stored (they follow --base-url)."""
        for table in (tickets, users, organizations):
            link = self.conn.execute(
                sa.select(table.c.web_url)
                .where(table.c.connection_id == connection_id, table.c.web_url.is_not(None))
                .limit(1)
            ).scalar_one_or_none()
            if link and "/agent/" in link:
                return str(link).split("/agent/", 1)[0] + "/agent"
        return None

    # -- rows by id ------------------------------------------------------------------------

    def data(self, connection_id: str, entity_type: EntityType, object_id: int) -> Any:
        """The stored JSON of one ticket, user, organization…, or None."""
        table = ENTITY_TABLES[entity_type]
        return self.conn.execute(
            sa.select(table.c.data).where(table.c.connection_id == connection_id, table.c.id == object_id)
        ).scalar_one_or_none()

    def user_email(self, connection_id: str, user_id: int) -> str | None:
        return cast(
            "str | None",
            self.conn.execute(
                sa.select(users.c.email).where(users.c.connection_id == connection_id, users.c.id == user_id)
            ).scalar_one_or_none(),
        )

    def authors(self, connection_id: str, ids: set[int]) -> dict[int, dict[str, Any]]:
        """User id → name and role, for the authors of comments."""
        if not ids:
            return {}
        rows = self.conn.execute(
            sa.select(users.c.id, users.c.name, users.c.role).where(
                users.c.connection_id == connection_id, users.c.id.in_(sorted(ids))
            )
        )
        return {int(r.id): {"name": r.name, "role": r.role} for r in rows}

    def attachments_of(self, connection_id: str, comment_ids: list[int]) -> list[Any]:
        """The attachments of these comments, by comment then id."""
        if not comment_ids:
            return []
        found = self.conn.execute(
            sa.select(
                attachments.c.id,
                attachments.c.comment_id,
                attachments.c.file_name,
                attachments.c.content_type,
                attachments.c.size,
                attachments.c.inline,
                attachments.c.content_sha256,
            ).where(attachments.c.connection_id == connection_id, attachments.c.comment_id.in_(comment_ids))
        )
        # Sorted here: with an ORDER BY, SQLite's planner (no statistics) may walk every
        # attachment of the account in key order instead of using the comment index.
        return sorted(found, key=lambda r: (int(r.comment_id), int(r.id)))

    # -- tickets ---------------------------------------------------------------------------

    @staticmethod
    def _summary_select() -> sa.Select[Any]:
        return sa.select(*_SUMMARY_COLUMNS, tickets.c.data["tags"].label("tags"))

    def ticket_summaries(self, connection_id: str, ids: Sequence[int]) -> list[Any]:
        """Summary rows (subject, status, people, tags, dates) of these tickets."""
        if not ids:
            return []
        return list(
            self.conn.execute(
                self._summary_select().where(tickets.c.connection_id == connection_id, tickets.c.id.in_(ids))
            )
        )

    def tickets_newest_first(
        self,
        connection_id: str,
        filters: TicketFilters,
        *,
        limit: int,
        after: tuple[datetime | None, int] | None = None,
    ) -> tuple[int, list[Any]]:
        """How many tickets pass ``filters``, and the summary rows of up to ``limit`` of them,
        most recently updated first (those never updated last). ``after`` (updated_at, id)
        continues after that ticket."""
        where = [tickets.c.connection_id == connection_id, *self._ticket_conditions(filters)]
        total = int(
            self.conn.execute(sa.select(sa.func.count()).select_from(tickets).where(*where)).scalar_one()
        )
        if not limit:
            return total, []
        if after is not None:
            after_time, after_id = after
            if after_time is None:  # inside the trailing tickets without updated_at
                where.append(sa.and_(tickets.c.updated_at.is_(None), tickets.c.id < after_id))
            else:
                where.append(
                    sa.or_(
                        tickets.c.updated_at < after_time,
                        sa.and_(tickets.c.updated_at == after_time, tickets.c.id < after_id),
                        tickets.c.updated_at.is_(None),
                    )
                )
        rows = self.conn.execute(
            self._summary_select()
            .where(*where)
            .order_by(tickets.c.updated_at.desc().nulls_last(), tickets.c.id.desc())
            .limit(limit)
        ).all()
        return total, list(rows)

    def tickets_by_status(self, connection_id: str, organization_id: int) -> dict[str, int]:
        return {
            str(status or "unknown"): int(n)
            for status, n in self.conn.execute(
                sa.select(tickets.c.status, sa.func.count())
                .where(tickets.c.connection_id == connection_id, tickets.c.organization_id == organization_id)
                .group_by(tickets.c.status)
            )
        }

    def users_in_organization(self, connection_id: str, organization_id: int) -> int:
        return int(
            self.conn.execute(
                sa.select(sa.func.count())
                .select_from(users)
                .where(users.c.connection_id == connection_id, users.c.organization_id == organization_id)
            ).scalar_one()
        )

    def _ticket_conditions(self, filters: TicketFilters, table: sa.Table = tickets) -> list[Any]:
        c = table.c
        where: list[Any] = []
        if filters.statuses:
            where.append(c.status.in_(filters.statuses))
        if filters.requester_id is not None:
            where.append(c.requester_id == filters.requester_id)
        if filters.organization_id is not None:
            where.append(c.organization_id == filters.organization_id)
        if filters.assignee_id is not None:
            where.append(c.assignee_id == filters.assignee_id)
        if filters.created_after is not None:
            where.append(c.created_at >= utc(filters.created_after))
        if filters.created_before is not None:
            where.append(c.created_at < utc(filters.created_before))
        if filters.updated_after is not None:
            where.append(c.updated_at >= utc(filters.updated_after))
        if filters.updated_before is not None:
            where.append(c.updated_at < utc(filters.updated_before))
        if filters.tag is not None:
            where.append(self._has_tag(table, filters.tag))
        return where

    def _has_tag(self, table: sa.Table, tag: str) -> Any:
        name = table.name
        if self.dialect == "postgresql":
            return sa.text(f"({name}.data -> 'tags') @> jsonb_build_array(CAST(:tag AS text))").bindparams(
                tag=tag
            )
        exact = f"EXISTS (SELECT 1 FROM json_each({name}.data, '$.tags') AS tg WHERE tg.value = :tag)"  # noqa: S608
        if not _WORD_RE.search(tag):
            return sa.text(exact).bindparams(tag=tag)
        # Tags are part of a ticket's indexed text: the index finds the few candidates, the
        # JSON check keeps the exact ones (instead of reading every ticket's JSON).
        return sa.text(
            f"{name}.rowid IN (SELECT rowid FROM {name}_fts WHERE {name}_fts MATCH :tag_match) AND {exact}"  # noqa: S608
        ).bindparams(tag=tag, tag_match=f"search_text : {_fts5_string(tag)}")

    # -- comments --------------------------------------------------------------------------

    def comments_of(
        self,
        connection_id: str,
        ticket_id: int,
        *,
        public_only: bool,
        limit: int,
        after: tuple[datetime | None, int] | None = None,
    ) -> tuple[int, list[Any]]:
        """How many comments the ticket shows, and up to ``limit`` of them oldest first
        (``after``: (created_at, id) of the comment to continue after)."""
        visible = [comments.c.connection_id == connection_id, comments.c.ticket_id == ticket_id]
        if public_only:
            visible.append(comments.c.public.is_(True))
        total = int(
            self.conn.execute(sa.select(sa.func.count()).select_from(comments).where(*visible)).scalar_one()
        )
        order_key = sa.func.coalesce(comments.c.created_at, EPOCH)
        if after is not None:
            after_key = after[0] or EPOCH
            visible.append(
                sa.or_(order_key > after_key, sa.and_(order_key == after_key, comments.c.id > after[1]))
            )
        rows = self.conn.execute(
            sa.select(
                comments.c.id,
                comments.c.author_id,
                comments.c.author_name,
                comments.c.public,
                comments.c.created_at,
                comments.c.data,
            )
            .where(*visible)
            .order_by(order_key, comments.c.id)
            .limit(limit)
        ).all()
        return total, list(rows)

    # -- keyword search --------------------------------------------------------------------

    def keyword_matches(
        self,
        connection_id: str,
        public_only: bool,
        query: str,
        types: Sequence[str],
        filters: TicketFilters,
        k: int,
    ) -> list[dict[str, Any]]:
        """The best ``k`` full-text matches per type: entity_type, id, name, web_url,
        ticket_id (the ticket a comment or attachment belongs to) and score; snippets come
        from :meth:`fill_snippets` for the rows kept.

        ``public_only`` matches only public comments (and attachments of public comments),
        and tickets, users and organizations by name only: their other text can hold
        agent-only words.
        """
        if self.dialect == "postgresql":
            return self._search_postgresql(connection_id, public_only, query, types, filters, k)
        return self._search_sqlite(connection_id, public_only, query, types, filters, k)

    def fill_snippets(self, rows: Sequence[dict[str, Any]]) -> None:
        """Fill ``snippet`` of the chosen rows (PostgreSQL's come with the matches)."""
        if self.dialect != "postgresql":
            self._sqlite_snippets(rows)

    def _scoped(
        self, entity_type: str, public_only: bool, filters: TicketFilters, own_sql: str, ticket_sql: str
    ) -> tuple[str, str, str]:
        """For one type's matches (alias ``x``): the id of the ticket each belongs to, the
        joins and the conditions that keep those of the connection's tickets passing the
        filters (``own_sql`` on a ticket itself, ``ticket_sql`` on ``t``, its comment's or
        attachment's ticket), only public comments' when ``public_only``, and an
        organization's users or the organization itself under an organization filter."""
        true = "IS TRUE" if self.dialect == "postgresql" else "= 1"
        ticket_id, joins, where = "CAST(NULL AS BIGINT)", "", ""
        if entity_type == "ticket":
            ticket_id, where = "x.id", own_sql
        elif entity_type in ("comment", "attachment"):
            ticket_id = "x.ticket_id"
            joins = "JOIN tickets AS t ON t.connection_id = x.connection_id AND t.id = x.ticket_id"
            where = ticket_sql
            if public_only:
                if entity_type == "comment":
                    where += f" AND x.public {true}"
                else:
                    joins += _PUBLIC_COMMENT_JOIN
                    where += f" AND pc.public {true}"
        elif entity_type == "organization" and filters.organization_id is not None:
            where = " AND x.id = :f_org"
        elif entity_type == "user" and filters.organization_id is not None:
            where = " AND x.organization_id = :f_org"
        return ticket_id, joins, where

    def _search_sqlite(
        self,
        connection_id: str,
        public_only: bool,
        query: str,
        types: Sequence[str],
        filters: TicketFilters,
        k: int,
    ) -> list[dict[str, Any]]:
        """The best ``k`` matches per type (snippets come later, for the chosen rows only).

        FTS5 ranks its matches cheaply on its own; joining every match to its row (to filter by
        connection, status, public flag…) is what costs. So each type ranks the best few
        hundred matches in the index alone, joins and filters only those, and widens the window
        only when filters left fewer than ``k``.
        """
        match = fts5_query(query)
        if match is None:
            return []
        params: dict[str, Any] = {"c": connection_id, "k": k}
        ticket_sql, ticket_params = self._ticket_filter_sql(filters, "t")
        own_sql, _ = self._ticket_filter_sql(filters, "x")
        params.update(ticket_params)
        found: list[dict[str, Any]] = []
        for entity_type in types:
            table = _TABLE_NAMES[entity_type]
            fts = f"{table}_fts"
            # In public-only mode, texts that can hold agent-only words are matched by name only.
            if public_only and entity_type in ("ticket", "user", "organization"):
                type_match = f"name : ({match})"
            else:
                type_match = match
            ticket_id, joins, where = self._scoped(entity_type, public_only, filters, own_sql, ticket_sql)
            ranked = f"""
                SELECT x.rowid AS rid, x.id AS id, x.name AS name, x.web_url AS web_url,
                       {ticket_id} AS ticket_id, -top.b AS score
                FROM (SELECT rowid AS r, bm25({fts}, {BM25_WEIGHTS[0]}, {BM25_WEIGHTS[1]}) AS b
                      FROM {fts} WHERE {fts} MATCH :m ORDER BY b LIMIT :window) AS top
                JOIN {table} AS x ON x.rowid = top.r {joins}
                WHERE x.connection_id = :c {where}
                ORDER BY top.b LIMIT :k"""  # noqa: S608
            window = max(8 * k, 200)
            matches: int | None = None
            while True:
                rows = self.conn.execute(sa.text(ranked), {**params, "m": type_match, "window": window}).all()
                if len(rows) >= k:
                    break
                if matches is None:
                    matches = int(
                        self.conn.execute(
                            sa.text(f"SELECT count(*) FROM {fts} WHERE {fts} MATCH :m"),  # noqa: S608
                            {"m": type_match},
                        ).scalar_one()
                    )
                if window >= matches:
                    break
                window *= 8
            for row in rows:
                found.append({**row._asdict(), "entity_type": entity_type, "fts": fts, "match": type_match})
        return found

    def _sqlite_snippets(self, rows: Sequence[dict[str, Any]]) -> None:
        """Fill ``snippet`` of the chosen rows: FTS5's snippet() for just those rows."""
        by_query: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for row in rows:
            by_query.setdefault((row["fts"], row["match"]), []).append(row)
        for (fts, type_match), group in by_query.items():
            ids = [int(r["rid"]) for r in group]
            marks = ", ".join(f":r{n}" for n in range(len(ids)))
            found = self.conn.execute(
                sa.text(
                    f"SELECT rowid, snippet({fts}, -1, :start, :end, '…', {SNIPPET_WORDS}) "  # noqa: S608
                    f"FROM {fts} WHERE {fts} MATCH :m AND rowid IN ({marks})"
                ),
                {"m": type_match, "start": MATCH_START, "end": MATCH_END}
                | {f"r{n}": rid for n, rid in enumerate(ids)},
            ).all()
            snippets = {int(r[0]): r[1] for r in found}
            for row in group:
                row["snippet"] = snippets.get(int(row["rid"]), "")

    def _search_postgresql(
        self,
        connection_id: str,
        public_only: bool,
        query: str,
        types: Sequence[str],
        filters: TicketFilters,
        k: int,
    ) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"c": connection_id, "k": k, "query": query}
        ticket_sql, ticket_params = self._ticket_filter_sql(filters, "t")
        own_sql, _ = self._ticket_filter_sql(filters, "x")
        params.update(ticket_params)
        parts = []
        for entity_type in types:
            table = _TABLE_NAMES[entity_type]
            vector = "x.search_vector"
            document = "coalesce(nullif(x.search_text, ''), x.name)"
            ticket_id, joins, where = self._scoped(entity_type, public_only, filters, own_sql, ticket_sql)
            if public_only and entity_type in ("ticket", "user", "organization"):
                # Name only (weight A): the rest can hold agent-only words.
                where = " AND ts_filter(x.search_vector, '{a}') @@ q.query" + where
                document = "x.name"
            parts.append(
                f"""(SELECT '{entity_type}' AS entity_type, x.id AS id, x.name AS name, x.web_url AS web_url,
                        {ticket_id} AS ticket_id, ts_rank({vector}, q.query) AS score, {document} AS document
                     FROM q, {table} AS x {joins}
                     WHERE {vector} @@ q.query AND x.connection_id = :c {where}
                     ORDER BY score DESC LIMIT :k)"""  # noqa: S608
            )
        if not parts:
            return []
        options = (
            f'StartSel="{MATCH_START}", StopSel="{MATCH_END}", MaxWords={SNIPPET_WORDS}, '
            f'MinWords={SNIPPET_WORDS // 2}, MaxFragments=2, FragmentDelimiter=" … "'
        )
        params["options"] = options
        sql = f"""
            WITH q AS (SELECT websearch_to_tsquery('{TS_CONFIG}', :query) AS query),
            hits AS (SELECT * FROM ({" UNION ALL ".join(parts)}) AS found ORDER BY score DESC LIMIT :k)
            SELECT hits.entity_type, hits.id, hits.name, hits.web_url, hits.ticket_id, hits.score,
                   ts_headline('{TS_CONFIG}', hits.document, q.query, :options) AS snippet
            FROM hits, q ORDER BY hits.score DESC
        """  # noqa: S608
        return [dict(r._asdict()) for r in self.conn.execute(sa.text(sql), params).all()]

    def _ticket_filter_sql(self, filters: TicketFilters, alias: str) -> tuple[str, dict[str, Any]]:
        """SQL conditions (on the ticket alias) and their parameters for the search queries."""
        sql: list[str] = []
        params: dict[str, Any] = {}
        if filters.statuses:
            names = []
            for n, status in enumerate(filters.statuses):
                params[f"f_status{n}"] = status
                names.append(f":f_status{n}")
            sql.append(f"{alias}.status IN ({', '.join(names)})")
        for column, value, key in (
            ("requester_id", filters.requester_id, "f_requester"),
            ("organization_id", filters.organization_id, "f_org"),
            ("assignee_id", filters.assignee_id, "f_assignee"),
        ):
            if value is not None:
                sql.append(f"{alias}.{column} = :{key}")
                params[key] = value
        times: tuple[tuple[str, str, datetime | None, str], ...] = (
            ("created_at", ">=", filters.created_after, "f_created_after"),
            ("created_at", "<", filters.created_before, "f_created_before"),
            ("updated_at", ">=", filters.updated_after, "f_updated_after"),
            ("updated_at", "<", filters.updated_before, "f_updated_before"),
        )
        for column, op, moment, key in times:
            if moment is not None:
                sql.append(f"{alias}.{column} {op} :{key}")
                params[key] = self._time_param(moment)
        if filters.tag is not None:
            params["f_tag"] = filters.tag
            if self.dialect == "postgresql":
                sql.append(f"({alias}.data -> 'tags') @> jsonb_build_array(CAST(:f_tag AS text))")
            else:
                sql.append(
                    f"EXISTS (SELECT 1 FROM json_each({alias}.data, '$.tags') AS tg "  # noqa: S608
                    "WHERE tg.value = :f_tag)"
                )
        return "".join(f" AND {s}" for s in sql), params

    def _time_param(self, value: datetime) -> Any:
        value = utc(value)
        if self.dialect == "sqlite":
            # The store keeps SQLite timestamps as ISO text in UTC without offset (schema.py).
            return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        return value
