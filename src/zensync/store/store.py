"""The Store: one SQLAlchemy 2 layer over an SQLite file (default) or PostgreSQL (by URL).

Both backends have the same tables, the same behaviour and the same tests. Differences are
confined to: how a write transaction starts (SQLite ``BEGIN IMMEDIATE`` so a writer never
fails half-way on a lock upgrade), full-text search (FTS5 vs tsvector, see ``search.py``),
the sync lock (``flock`` vs advisory lock, see ``locking.py``) and where attachment files go
(beside the SQLite file by default; PostgreSQL needs ``blob_dir``).

Every method opens and finishes its own transaction, so a Store can be shared by threads
(the web service) and by ``asyncio.to_thread`` calls (the sync engine).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy import Connection, Engine, event
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from zensync.entities import (
    ENTITY_TYPES,
    Deletion,
    EntityType,
    SourcePage,
    ZendeskAttachmentEntity,
    ZendeskEntity,
)
from zensync.store import files, locking, migrate, search, sqlite_driver
from zensync.store.base import (
    AUTH_KINDS,
    CONNECTION_STATUSES,
    RUN_MODES,
    RUN_STATUSES,
    ConnectionNotFound,
    ConnectionRecord,
    FailedDownload,
    OAuthStateRecord,
    PageCounts,
    RunRecord,
    SearchHit,
    StoreError,
)
from zensync.store.blobs import BlobStore
from zensync.store.rows import entity_from_data, entity_row
from zensync.store.schema import (
    ENTITY_TABLES,
    attachments,
    comments,
    connections,
    dump_json,
    oauth_states,
    sync_runs,
    sync_state,
)

# Ids per IN list on SQLite (one JSON text each, see ``Store._in``): bounded, big enough to stay fast.
CHUNK = 500
# Changed rows are written this many at a time within a page's transaction: a page of 1,000
# tickets is about 3 MB of rows (each with its JSON and search text) beside its 8 MB of entities.
ROWS_PER_WRITE = 100
SQLITE_BUSY_TIMEOUT_MS = 30_000
# Each SQLite connection's page cache, in KiB (SQLite's default is 2,000). It fills as the file
# grows, so it is one of the few things a sync holds that grows with the account: at 10,000
# tickets the default took SQLite to 8.7 MB in all, this to 6.2. On the 1.9 GB file of 100,000
# tickets a page takes about 10 % longer to store (the operating system's file cache serves the
# pages it no longer keeps); the sync is bound by the export budget, not the store.
SQLITE_CACHE_KIB = 512
MAX_CONNECTION_ID = 64
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
# Order in which a sweep visits the types: parents first, so a cascade is counted once.
_SWEEP_ORDER: tuple[EntityType, ...] = ("ticket", "comment", "attachment", "user", "organization")
_UNSET: Any = object()
_V = TypeVar("_V")
# Attachment columns the sync writes itself, not from the entity: an upsert keeps them.
_DOWNLOAD_COLUMNS = frozenset({"download_error", "download_attempts"})


def utcnow() -> datetime:
    return datetime.now(UTC)


def check_connection_id(connection_id: str) -> str:
    if not isinstance(connection_id, str) or not connection_id.strip():
        raise ValueError("A connection id must be a non-empty string (e.g. the account's subdomain).")
    if len(connection_id) > MAX_CONNECTION_ID or _CONTROL_RE.search(connection_id):
        raise ValueError(
            f"Connection id {connection_id[:80]!r} is not usable: use at most {MAX_CONNECTION_ID} "
            "printable characters (e.g. the account's subdomain)."
        )
    return connection_id


def _redact_url(url: sa.URL) -> str:
    return url.render_as_string(hide_password=True)


class Store:
    """A complete copy of one or more Zendesk accounts, and the bookkeeping of their syncs."""

    def __init__(self, engine: Engine, *, db_path: Path | None = None, blob_dir: Path | None = None) -> None:
        self._engine = engine
        self._db_path = db_path
        hint = (
            "PostgreSQL keeps no files: open the store with a blob folder "
            "(Store.open(url, blob_dir=...)) to download attachments."
        )
        self._blobs = BlobStore(blob_dir, missing_hint=hint)

    # -----------------------------------------------------------------------------------------
    # Opening

    @classmethod
    def open(
        cls,
        url_or_path: str | os.PathLike[str],
        *,
        blob_dir: str | os.PathLike[str] | None = None,
        migrate_schema: bool = True,
        adopt: bool | None = None,
    ) -> Store:
        """Open (creating and upgrading as needed) ``zensync.db``, ``sqlite:///x.db`` or
        ``postgresql://user:pass@host/db``.

        ``blob_dir``: where attachment files go; default ``<db file>.blobs`` for SQLite, none
        for PostgreSQL (attachments can then be synced as metadata only). A new SQLite file is
        created owner-only (0600) in an existing folder. ``adopt``: add zensync's tables to a
        database that holds other tables (default: ``$ZENSYNC_ADOPT_DATABASE=1``); otherwise
        such a database is refused.
        """
        if adopt is None:
            adopt = os.environ.get(files.ADOPT_ENV, "").strip().lower() in ("1", "true", "yes")
        target = os.fspath(url_or_path).strip()
        if not target:
            raise StoreError("No database given: pass a file path (zensync.db) or a postgresql:// URL.")
        db_path: Path | None = None
        if "://" in target:
            scheme = target.split("://", 1)[0].lower()
            if scheme in ("postgresql", "postgres") or scheme.startswith("postgresql+"):
                url = make_url("postgresql+psycopg://" + target.split("://", 1)[1])
                engine = sa.create_engine(
                    url, pool_pre_ping=True, hide_parameters=True, json_serializer=dump_json
                )
            elif scheme == "sqlite" or scheme.startswith("sqlite+"):
                database = make_url(target).database
                if not database or database == ":memory:":
                    raise StoreError(
                        "An in-memory SQLite database cannot hold a sync: give a file, e.g. sqlite:///zensync.db."
                    )
                db_path = Path(database)
            else:
                raise StoreError(
                    f"Unsupported database {scheme}://…: use a file path (zensync.db), "
                    "sqlite:///path/to/file.db or postgresql://user:password@host:5432/dbname."
                )
        else:
            db_path = Path(target)
        if db_path is not None:
            db_path = db_path.expanduser().resolve()
            if db_path.is_dir():
                raise StoreError(
                    f"{db_path} is a folder; give a database file path such as {db_path}/zensync.db."
                )
            files.prepare_sqlite_file(db_path, refuse_foreign=migrate_schema and not adopt)
            engine = _sqlite_engine(db_path)
            if blob_dir is None:
                blob_dir = f"{db_path}.blobs"
        store = cls(
            engine,
            db_path=db_path,
            blob_dir=Path(blob_dir).expanduser().resolve() if blob_dir is not None else None,
        )
        if migrate_schema:
            where = str(db_path) if db_path else _redact_url(engine.url)
            try:
                if db_path is None and not adopt:
                    with engine.connect() as connection:
                        files.check_not_foreign(connection, where, migrate.VERSION_TABLE)
                migrate.upgrade(engine)
            except sa.exc.DBAPIError as exc:
                engine.dispose()
                raise files.explain(exc, where, is_file=db_path is not None) from exc
            except BaseException:
                engine.dispose()
                raise
            if store._blobs.configured:
                files.warn_if_exposed_folder(store._blobs.root)
        return store

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._engine.dialect.name

    @property
    def db_path(self) -> Path | None:
        return self._db_path

    def describe(self) -> str:
        """Where the data is, safe to print (no password)."""
        return str(self._db_path) if self._db_path else _redact_url(self._engine.url)

    def schema_version(self) -> str | None:
        with self._engine.connect() as conn:
            return migrate.current_revision(conn)

    def __repr__(self) -> str:
        return f"Store({self.describe()!r})"

    @contextlib.contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._engine.connect() as conn:
            if self.dialect == "sqlite":
                conn = conn.execution_options(zensync_write=True)
            with conn.begin():
                yield conn

    @contextlib.contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._engine.connect() as conn:
            yield conn

    def _chunks(self, values: Sequence[_V]) -> Iterator[Sequence[_V]]:
        """Id lists of at most ``CHUNK`` on SQLite; PostgreSQL takes one array."""
        size = max(len(values), 1) if self.dialect == "postgresql" else CHUNK
        for start in range(0, len(values), size):
            yield values[start : start + size]

    def _referenced_shas(self, conn: Connection, shas: Sequence[str]) -> set[str]:
        """Those of ``shas`` that an attachment row (of any connection) refers to."""
        found: set[str] = set()
        for chunk in self._chunks(shas):
            sha = attachments.c.content_sha256
            query = sa.select(sha).where(self._in(sha, chunk))
            found.update(conn.execute(query.distinct()).scalars())
        return found

    def _in(
        self, column: sa.ColumnElement[Any], ids: Sequence[int] | Sequence[str]
    ) -> sa.ColumnElement[bool]:
        """``column IN ids`` with one parameter however many ids there are: on PostgreSQL
        ``= ANY(array)``, on SQLite ``IN (SELECT value FROM json_each(?))`` (the same index
        search as a list of placeholders, measured equally fast for 500 ids).

        With a placeholder per id, every length is a statement of its own, parsed and planned
        again each time; SQLite's driver also keeps up to 128 of them prepared per connection,
        a few MB that grew with the account (a sync's pages, hence its id lists, vary more in
        length the longer it runs)."""
        if self.dialect == "postgresql":
            element = sa.BigInteger if not ids or isinstance(ids[0], int) else sa.Text
            return column == sa.any_(sa.bindparam(None, list(ids), type_=pg_dialect.ARRAY(element)))
        listed = sa.bindparam(None, json.dumps(list(ids)), type_=sa.Text)
        return column.in_(sa.select(sa.func.json_each(listed).table_valued("value").c.value))

    def _insert(self, table: sa.Table) -> Any:
        return (pg_dialect.insert if self.dialect == "postgresql" else sqlite_dialect.insert)(table)

    # -----------------------------------------------------------------------------------------
    # Entities

    def apply_page(
        self,
        connection_id: str,
        page: SourcePage,
        run_id: int | None,
        *,
        sweep_types: Iterable[EntityType] = (),
        extra_progress: Mapping[str, Any] | None = None,
        download_failures: Mapping[int, str] | None = None,
    ) -> PageCounts:
        """Store one source page in ONE transaction: entities, deletions, cursor, run progress.

        ``download_failures`` (attachment id → why) records attachments of the page whose bytes
        could not be downloaded; an attachment of the page that has its bytes is no longer
        recorded as failed.

        Each entity is compared by ``content_hash()`` with the stored row: new → inserted,
        different → updated, equal → unchanged (only ``last_seen_run`` is set). Deletions
        follow (a ticket takes its comments and their attachments along; a comment its
        attachments). ``sweep_types`` (for a page that completes a snapshot) removes rows of
        those types not seen in ``run_id``. Then ``page.cursor`` becomes the connection's
        cursor and the run's progress adds this page's counts. A crash at any point leaves
        either all of it or none of it.
        """
        check_connection_id(connection_id)
        now = utcnow()
        latest: dict[EntityType, dict[int, ZendeskEntity]] = {}
        for entity in page.entities:
            # A page may repeat an object (Zendesk's time-based exports do): the last one wins.
            latest.setdefault(entity.entity_type, {})[int(getattr(entity, "id"))] = entity  # noqa: B009
        hashes = {t: {i: e.content_hash() for i, e in ents.items()} for t, ents in latest.items()}
        counts = PageCounts()
        with self._write() as conn:
            for entity_type in ENTITY_TYPES:
                if entity_type in latest:
                    self._upsert(
                        conn, connection_id, run_id, now, latest[entity_type], hashes[entity_type], counts
                    )
            if "attachment" in latest:
                self._record_downloads(conn, connection_id, latest["attachment"], download_failures or {})
            if page.deletions:
                self._apply_deletions(conn, connection_id, page.deletions, counts)
            if page.complete_tickets:
                self._prune_attachments(
                    conn, connection_id, page.complete_tickets, set(latest.get("attachment", {})), counts
                )
            sweep = list(sweep_types)
            if sweep:
                self._sweep(conn, connection_id, run_id, sweep, counts)
            self._save_cursor(conn, connection_id, page.cursor, now)
            if run_id is not None:
                self._add_progress(
                    conn, run_id, counts, now, pages=1, stream=page.stream, extra=extra_progress
                )
        return counts

    def _upsert(
        self,
        conn: Connection,
        connection_id: str,
        run_id: int | None,
        now: datetime,
        entities: dict[int, ZendeskEntity],
        hashes: dict[int, str],
        counts: PageCounts,
    ) -> None:
        entity_type = next(iter(entities.values())).entity_type
        table = ENTITY_TABLES[entity_type]
        is_attachment = entity_type == "attachment"
        ids = list(entities)
        stored: dict[int, tuple[str, str | None]] = {}
        stored_sizes: dict[int, int | None] = {}
        seen_this_run: set[int] = set()
        columns: list[sa.ColumnElement[Any]] = [table.c.id, table.c.content_hash]
        columns.append(table.c.content_sha256 if is_attachment else sa.null())
        columns.append(table.c.last_seen_run)
        columns.append(table.c.size if is_attachment else sa.null())
        for chunk in self._chunks(ids):
            query = sa.select(*columns).where(
                table.c.connection_id == connection_id, self._in(table.c.id, chunk)
            )
            for row in conn.execute(query):
                stored[int(row[0])] = (row[1], row[2])
                stored_sizes[int(row[0])] = row[4]
                if run_id is not None and row[3] == run_id:
                    seen_this_run.add(int(row[0]))
        changed: list[dict[str, Any]] = []
        unchanged: list[int] = []
        upsert: sa.Insert | None = None

        def write_changed() -> None:
            """Write the rows built so far; a page's rows (each with its JSON) are not all held."""
            nonlocal upsert
            if upsert is None:
                stmt = self._insert(table)
                upsert = stmt.on_conflict_do_update(
                    index_elements=[table.c.connection_id, table.c.id],
                    set_={
                        c.name: stmt.excluded[c.name]
                        for c in table.columns
                        if not c.primary_key and c.name not in _DOWNLOAD_COLUMNS
                    },
                )
            conn.execute(upsert, changed)
            changed.clear()

        for object_id, entity in entities.items():
            previous = stored.get(object_id)
            if (
                is_attachment
                and previous is not None
                and entity.content_sha256 is None  # type: ignore[attr-defined]
                and same_bytes(stored_sizes.get(object_id), entity.size)  # type: ignore[attr-defined]
            ):
                # Zendesk never changes an attachment's bytes but by a redaction, which replaces
                # them with an empty "redacted.txt": while the size is the same, keep the file.
                entity = entity.model_copy(update={"content_sha256": previous[1]})
            old_file = previous[1] if is_attachment and previous is not None else None
            if old_file and old_file != entity.content_sha256:  # type: ignore[attr-defined]
                counts.released_blobs.add(old_file)
            same = previous is not None and previous[0] == hashes[object_id]
            if same and is_attachment:
                same = entity.content_sha256 == previous[1]  # type: ignore[attr-defined,index]
            if same:
                # Seen earlier in this run and still equal (a source may re-emit, e.g. a first
                # run's ticket survey and its re-read): counted then, not again as "unchanged".
                if object_id not in seen_this_run:
                    unchanged.append(object_id)
                continue
            if previous is None:
                counts[entity_type].inserted += 1
            else:
                counts[entity_type].updated += 1
            changed.append(
                entity_row(
                    entity, connection_id, content_hash=hashes[object_id], synced_at=now, run_id=run_id
                )
            )
            if len(changed) >= ROWS_PER_WRITE:
                write_changed()
        counts[entity_type].unchanged += len(unchanged)
        if changed:
            write_changed()
        if unchanged and run_id is not None:
            for chunk in self._chunks(unchanged):
                conn.execute(
                    sa.update(table)
                    .where(table.c.connection_id == connection_id, self._in(table.c.id, chunk))
                    .values(last_seen_run=run_id)
                )

    def _record_downloads(
        self,
        conn: Connection,
        connection_id: str,
        found: Mapping[int, ZendeskEntity],
        failures: Mapping[int, str],
    ) -> None:
        """Clear the failure of attachments that now have their bytes; record new failures."""
        done = [i for i, e in found.items() if getattr(e, "content_sha256", None) and i not in failures]
        for chunk in self._chunks(done):
            conn.execute(
                sa.update(attachments)
                .where(
                    attachments.c.connection_id == connection_id,
                    self._in(attachments.c.id, chunk),
                    attachments.c.download_error.is_not(None),
                )
                .values(download_error=None)
            )
        for attachment_id, error in failures.items():
            conn.execute(
                sa.update(attachments)
                .where(attachments.c.connection_id == connection_id, attachments.c.id == attachment_id)
                .values(download_error=error[:1000], download_attempts=attachments.c.download_attempts + 1)
            )

    def failed_downloads(self, connection_id: str, *, limit: int = 1000) -> list[FailedDownload]:
        """Attachments whose bytes could not be downloaded, fewest attempts first."""
        check_connection_id(connection_id)
        query = (
            sa.select(attachments.c.data, attachments.c.download_error, attachments.c.download_attempts)
            .where(attachments.c.connection_id == connection_id, attachments.c.download_error.is_not(None))
            .order_by(attachments.c.download_attempts, attachments.c.id)
            .limit(limit)
        )
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [
            FailedDownload(
                attachment=cast(ZendeskAttachmentEntity, entity_from_data("attachment", row[0])),
                error=str(row[1]),
                attempts=int(row[2]),
            )
            for row in rows
        ]

    def failed_download_count(self, connection_id: str | None = None) -> int:
        """How many attachments are recorded as not downloaded (for ``zensync status``)."""
        query = (
            sa.select(sa.func.count())
            .select_from(attachments)
            .where(attachments.c.download_error.is_not(None))
        )
        if connection_id is not None:
            query = query.where(attachments.c.connection_id == connection_id)
        with self._read() as conn:
            return int(conn.execute(query).scalar_one())

    def _delete_where(
        self,
        conn: Connection,
        connection_id: str,
        entity_type: EntityType,
        where: sa.ColumnElement[bool],
        counts: PageCounts,
    ) -> None:
        """Delete a connection's rows of one type matching ``where``, dependants first."""
        table = ENTITY_TABLES[entity_type]
        condition = sa.and_(table.c.connection_id == connection_id, where)
        if entity_type == "attachment":
            counts.released_blobs.update(
                conn.execute(
                    sa.select(attachments.c.content_sha256).where(
                        condition, attachments.c.content_sha256.is_not(None)
                    )
                ).scalars()
            )
        if entity_type in ("ticket", "comment"):
            parent_ids = sa.select(table.c.id).where(condition).scalar_subquery()
            link = "ticket_id" if entity_type == "ticket" else "comment_id"
            counts.released_blobs.update(
                conn.execute(
                    sa.select(attachments.c.content_sha256).where(
                        attachments.c.connection_id == connection_id,
                        attachments.c[link].in_(parent_ids),
                        attachments.c.content_sha256.is_not(None),
                    )
                ).scalars()
            )
            result = conn.execute(
                sa.delete(attachments).where(
                    attachments.c.connection_id == connection_id, attachments.c[link].in_(parent_ids)
                )
            )
            counts["attachment"].deleted += result.rowcount
            if entity_type == "ticket":
                result = conn.execute(
                    sa.delete(comments).where(
                        comments.c.connection_id == connection_id, comments.c.ticket_id.in_(parent_ids)
                    )
                )
                counts["comment"].deleted += result.rowcount
        result = conn.execute(sa.delete(table).where(condition))
        counts[entity_type].deleted += result.rowcount

    def _apply_deletions(
        self, conn: Connection, connection_id: str, deletions: Sequence[Deletion], counts: PageCounts
    ) -> None:
        by_type: dict[EntityType, list[int]] = {}
        for deletion in deletions:
            by_type.setdefault(deletion.entity_type, []).append(_object_id(deletion))
        for entity_type in _SWEEP_ORDER:
            ids = sorted(set(by_type.get(entity_type, [])))
            table = ENTITY_TABLES[entity_type]
            for chunk in self._chunks(ids):
                self._delete_where(conn, connection_id, entity_type, self._in(table.c.id, chunk), counts)

    def _prune_attachments(
        self,
        conn: Connection,
        connection_id: str,
        ticket_ids: Sequence[int],
        listed: set[int],
        counts: PageCounts,
    ) -> None:
        """Delete the stored attachments of ``ticket_ids`` that their full re-read did not list."""
        for chunk in self._chunks(sorted(set(ticket_ids))):
            stored = conn.execute(
                sa.select(attachments.c.id).where(
                    attachments.c.connection_id == connection_id, self._in(attachments.c.ticket_id, chunk)
                )
            ).scalars()
            gone = sorted(set(stored) - listed)
            for ids in self._chunks(gone):
                self._delete_where(conn, connection_id, "attachment", self._in(attachments.c.id, ids), counts)

    def _sweep(
        self,
        conn: Connection,
        connection_id: str,
        run_id: int | None,
        entity_types: Iterable[EntityType],
        counts: PageCounts,
    ) -> None:
        if run_id is None:
            raise ValueError("A sweep removes rows not seen in a run: it needs that run's id.")
        wanted = set(entity_types)
        unknown = wanted - set(ENTITY_TYPES)
        if unknown:
            raise ValueError(
                f"Unknown entity types {sorted(unknown)}; choose among {', '.join(ENTITY_TYPES)}."
            )
        for entity_type in _SWEEP_ORDER:
            if entity_type not in wanted:
                continue
            table = ENTITY_TABLES[entity_type]
            unseen = sa.or_(table.c.last_seen_run.is_(None), table.c.last_seen_run != run_id)
            self._delete_where(conn, connection_id, entity_type, unseen, counts)

    def sweep_unseen(self, connection_id: str, run_id: int, entity_types: Iterable[EntityType]) -> PageCounts:
        """Delete rows of ``entity_types`` that run ``run_id`` did not see (after a full read).

        Removing a ticket removes its comments and attachments too. The deleted counts are
        added to the run's progress in the same transaction.
        """
        check_connection_id(connection_id)
        counts = PageCounts()
        with self._write() as conn:
            self._sweep(conn, connection_id, run_id, entity_types, counts)
            self._add_progress(conn, run_id, counts, utcnow(), pages=0)
        return counts

    def counts(self, connection_id: str | None = None) -> dict[EntityType, int]:
        """Live rows per entity type (all connections unless one is given)."""
        result: dict[EntityType, int] = {}
        with self._read() as conn:
            for entity_type, table in ENTITY_TABLES.items():
                query = sa.select(sa.func.count()).select_from(table)
                if connection_id is not None:
                    query = query.where(table.c.connection_id == connection_id)
                result[entity_type] = int(conn.execute(query).scalar_one())
        return result

    def content_hashes(
        self, connection_id: str | None = None
    ) -> dict[EntityType, dict[tuple[str, int], str]]:
        """(connection, id) → content hash for every row: what "the same data" means."""
        result: dict[EntityType, dict[tuple[str, int], str]] = {}
        with self._read() as conn:
            for entity_type, table in ENTITY_TABLES.items():
                query = sa.select(table.c.connection_id, table.c.id, table.c.content_hash)
                if connection_id is not None:
                    query = query.where(table.c.connection_id == connection_id)
                result[entity_type] = {(r[0], int(r[1])): r[2] for r in conn.execute(query)}
        return result

    def get_entity(self, connection_id: str, entity_type: EntityType, object_id: int) -> ZendeskEntity | None:
        table = ENTITY_TABLES[entity_type]
        with self._read() as conn:
            data = conn.execute(
                sa.select(table.c.data).where(table.c.connection_id == connection_id, table.c.id == object_id)
            ).scalar_one_or_none()
        return entity_from_data(entity_type, data) if data is not None else None

    def iter_entities(
        self, connection_id: str | None, entity_type: EntityType, *, batch_size: int = 1000
    ) -> Iterator[ZendeskEntity]:
        """Every stored entity of a type, in id order, read in batches (for exports)."""
        table = ENTITY_TABLES[entity_type]
        last: tuple[str, int] = ("", -(2**63))
        while True:
            query = (
                sa.select(table.c.connection_id, table.c.id, table.c.data)
                .where(sa.tuple_(table.c.connection_id, table.c.id) > sa.tuple_(*last))
                .order_by(table.c.connection_id, table.c.id)
                .limit(batch_size)
            )
            if connection_id is not None:
                query = query.where(table.c.connection_id == connection_id)
            with self._read() as conn:
                rows = conn.execute(query).all()
            if not rows:
                return
            for row in rows:
                yield entity_from_data(entity_type, row.data)
            last = (rows[-1].connection_id, int(rows[-1].id))

    def attachment_files(
        self, connection_id: str, ids: Sequence[int], *, sizes: Mapping[int, int | None] | None = None
    ) -> dict[int, str]:
        """Attachment id → SHA-256 of its stored bytes, for those already downloaded; with
        ``sizes`` (id → size Zendesk gives now), only where the bytes are still the ones stored
        (a redaction replaces them with an empty "redacted.txt")."""
        found: dict[int, str] = {}
        with self._read() as conn:
            for chunk in self._chunks(list(ids)):
                for row in conn.execute(
                    sa.select(attachments.c.id, attachments.c.content_sha256, attachments.c.size).where(
                        attachments.c.connection_id == connection_id,
                        self._in(attachments.c.id, chunk),
                        attachments.c.content_sha256.is_not(None),
                    )
                ):
                    if sizes is None or same_bytes(row[2], sizes.get(int(row[0]))):
                        found[int(row[0])] = row[1]
        return found

    def release_blobs(self, shas: Iterable[str], *, unused_since: float) -> int:
        """Delete attachment files that no attachment row (of any connection) refers to any
        more, unless placed or reused since ``unused_since`` (a page not yet stored may need
        them). Returns how many were deleted."""
        wanted = sorted(set(shas))
        if not wanted or not self._blobs.configured:
            return 0
        with self._read() as conn:
            referenced = self._referenced_shas(conn, wanted)
        return self._blobs.remove([s for s in wanted if s not in referenced], unused_since=unused_since)

    # -----------------------------------------------------------------------------------------
    # Search

    def search(
        self,
        q: str,
        types: Sequence[str] | None = None,
        limit: int = 20,
        connection_id: str | None = None,
    ) -> list[SearchHit]:
        """Ranked full-text search with snippets over tickets, comments, users, organizations
        and attachment names. Any text is a valid query (see ``zensync.store.search``)."""
        if not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise ValueError(f"limit must be between 1 and 1000, not {limit!r}.")
        q = q.replace("\x00", " ")  # PostgreSQL refuses NUL in text; it is no search term anyway
        if not q.strip():
            return []
        with self._read() as conn:
            if self.dialect == "postgresql":
                return search.search_postgresql(conn, q, types, limit, connection_id)
            return search.search_sqlite(conn, q, types, limit, connection_id)

    def rebuild_search_index(self) -> None:
        """Re-index everything (SQLite FTS5 'rebuild'; PostgreSQL's column is always current)."""
        if self.dialect != "sqlite":
            return
        with self._write() as conn:
            for table in ENTITY_TABLES.values():
                conn.exec_driver_sql(f"INSERT INTO {table.name}_fts({table.name}_fts) VALUES ('rebuild')")  # noqa: S608

    # -----------------------------------------------------------------------------------------
    # Cursor

    def get_cursor(self, connection_id: str) -> dict[str, Any] | None:
        with self._read() as conn:
            value = conn.execute(
                sa.select(sync_state.c.cursor).where(sync_state.c.connection_id == connection_id)
            ).scalar_one_or_none()
        return dict(value) if value else None

    def set_cursor(self, connection_id: str, cursor: Mapping[str, Any] | None) -> None:
        """Replace the connection's cursor (None forgets it: the next sync reads everything)."""
        check_connection_id(connection_id)
        with self._write() as conn:
            self._save_cursor(conn, connection_id, cursor, utcnow())

    def _save_cursor(
        self, conn: Connection, connection_id: str, cursor: Mapping[str, Any] | None, now: datetime
    ) -> None:
        if cursor is None:
            conn.execute(sa.delete(sync_state).where(sync_state.c.connection_id == connection_id))
            return
        stmt = self._insert(sync_state).values(
            connection_id=connection_id, cursor=dict(cursor), updated_at=now
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[sync_state.c.connection_id],
            set_={"cursor": stmt.excluded.cursor, "updated_at": stmt.excluded.updated_at},
        )
        conn.execute(stmt)

    # -----------------------------------------------------------------------------------------
    # Runs

    def create_run(self, connection_id: str, mode: str, *, started_at: datetime | None = None) -> RunRecord:
        check_connection_id(connection_id)
        if mode not in RUN_MODES:
            raise ValueError(f"Run mode must be one of {', '.join(RUN_MODES)}, not {mode!r}.")
        with self._write() as conn:
            result = conn.execute(
                sa.insert(sync_runs).values(
                    connection_id=connection_id,
                    mode=mode,
                    status="running",
                    started_at=started_at or utcnow(),
                    progress={},
                )
            )
            run_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        run = self.get_run(run_id)
        assert run is not None
        return run

    def get_run(self, run_id: int) -> RunRecord | None:
        with self._read() as conn:
            row = conn.execute(sa.select(sync_runs).where(sync_runs.c.id == run_id)).mappings().first()
        return RunRecord(**row) if row else None

    def list_runs(self, connection_id: str | None = None, *, limit: int = 20) -> list[RunRecord]:
        """Newest first."""
        query = sa.select(sync_runs).order_by(sync_runs.c.id.desc()).limit(limit)
        if connection_id is not None:
            query = query.where(sync_runs.c.connection_id == connection_id)
        with self._read() as conn:
            return [RunRecord(**row) for row in conn.execute(query).mappings()]

    def latest_run(self, connection_id: str) -> RunRecord | None:
        runs = self.list_runs(connection_id, limit=1)
        return runs[0] if runs else None

    def update_run(self, run_id: int, **changes: Any) -> RunRecord:
        """Change ``status``, ``finished_at``, ``report``, ``progress``, ``error`` or ``mode``."""
        allowed = {"status", "finished_at", "report", "progress", "error", "mode"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValueError(f"Cannot update {sorted(unknown)} of a run; allowed: {sorted(allowed)}.")
        if "status" in changes and changes["status"] not in RUN_STATUSES:
            raise ValueError(
                f"Run status must be one of {', '.join(RUN_STATUSES)}, not {changes['status']!r}."
            )
        with self._write() as conn:
            result = conn.execute(sa.update(sync_runs).where(sync_runs.c.id == run_id).values(**changes))
            if result.rowcount == 0:
                raise StoreError(f"No sync run #{run_id} in this store.")
        run = self.get_run(run_id)
        assert run is not None
        return run

    def finish_run(
        self,
        run_id: int,
        status: str,
        *,
        report: Mapping[str, Any] | None = None,
        error: str | None = None,
        cursor: Mapping[str, Any] | None = _UNSET,
    ) -> RunRecord:
        """End a run in one transaction: its status and report, optionally the connection's
        cursor, and (on success) the connection's ``last_sync_at``."""
        if status not in RUN_STATUSES or status == "running":
            raise ValueError(f"A finished run's status is succeeded, failed or interrupted, not {status!r}.")
        now = utcnow()
        with self._write() as conn:
            connection_id = conn.execute(
                sa.select(sync_runs.c.connection_id).where(sync_runs.c.id == run_id)
            ).scalar_one_or_none()
            if connection_id is None:
                raise StoreError(f"No sync run #{run_id} in this store.")
            conn.execute(
                sa.update(sync_runs)
                .where(sync_runs.c.id == run_id)
                .values(
                    status=status,
                    finished_at=now,
                    report=dict(report) if report is not None else None,
                    error=error,
                )
            )
            if cursor is not _UNSET:
                self._save_cursor(conn, connection_id, cursor, now)
            if status == "succeeded":
                conn.execute(
                    sa.update(connections).where(connections.c.id == connection_id).values(last_sync_at=now)
                )
        run = self.get_run(run_id)
        assert run is not None
        return run

    def mark_interrupted_runs(self, connection_id: str, *, except_run_id: int | None = None) -> int:
        """Runs still marked running whose process is gone (call only while holding the lock)."""
        query = sa.update(sync_runs).where(
            sync_runs.c.connection_id == connection_id, sync_runs.c.status == "running"
        )
        if except_run_id is not None:
            query = query.where(sync_runs.c.id != except_run_id)
        with self._write() as conn:
            return int(conn.execute(query.values(status="interrupted", finished_at=utcnow())).rowcount)

    def _add_progress(
        self,
        conn: Connection,
        run_id: int,
        counts: PageCounts,
        now: datetime,
        *,
        pages: int,
        stream: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        current = conn.execute(sa.select(sync_runs.c.progress).where(sync_runs.c.id == run_id)).first()
        if current is None:
            raise StoreError(f"No sync run #{run_id} in this store; create it with create_run() first.")
        progress = dict(current[0] or {})
        progress.update(extra or {})
        progress["counts"] = PageCounts.from_dict(progress.get("counts")).add(counts).to_dict()
        progress["pages"] = int(progress.get("pages", 0)) + pages
        if stream is not None:
            progress["stream"] = stream
        progress["updated_at"] = now.isoformat()
        conn.execute(sa.update(sync_runs).where(sync_runs.c.id == run_id).values(progress=progress))

    # -----------------------------------------------------------------------------------------
    # Connections

    def create_connection(
        self,
        *,
        id: str,
        name: str,
        subdomain: str,
        auth_kind: str,
        base_url: str | None = None,
        exclude_closed_tickets: bool = False,
        client_id: str | None = None,
        secrets_encrypted: str | None = None,
        token_expires_at: datetime | None = None,
        status: str = "pending_auth",
        status_detail: str | None = None,
        sync_interval_seconds: int | None = None,
    ) -> ConnectionRecord:
        check_connection_id(id)
        values = {
            "id": id,
            "name": name,
            "subdomain": subdomain,
            "auth_kind": auth_kind,
            "base_url": base_url,
            "exclude_closed_tickets": exclude_closed_tickets,
            "client_id": client_id,
            "secrets_encrypted": secrets_encrypted,
            "token_expires_at": token_expires_at,
            "status": status,
            "status_detail": status_detail,
            "sync_interval_seconds": sync_interval_seconds,
        }
        _check_connection_values(values)
        now = utcnow()
        try:
            with self._write() as conn:
                conn.execute(sa.insert(connections).values(**values, created_at=now, updated_at=now))
        except IntegrityError as exc:
            raise StoreError(
                f"A connection {id!r} already exists; choose another name or delete that one first."
            ) from exc
        record = self.get_connection(id)
        assert record is not None
        return record

    def get_connection(self, connection_id: str) -> ConnectionRecord | None:
        with self._read() as conn:
            row = (
                conn.execute(sa.select(connections).where(connections.c.id == connection_id))
                .mappings()
                .first()
            )
        return ConnectionRecord(**row) if row else None

    def list_connections(self) -> list[ConnectionRecord]:
        with self._read() as conn:
            rows = conn.execute(sa.select(connections).order_by(connections.c.created_at, connections.c.id))
            return [ConnectionRecord(**row) for row in rows.mappings()]

    def update_connection(self, connection_id: str, **changes: Any) -> ConnectionRecord:
        """Change any column but ``id`` and ``created_at``; ``updated_at`` is set to now."""
        allowed = {c.name for c in connections.columns} - {"id", "created_at", "updated_at"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValueError(f"Cannot update {sorted(unknown)} of a connection; allowed: {sorted(allowed)}.")
        _check_connection_values(changes)
        with self._write() as conn:
            result = conn.execute(
                sa.update(connections)
                .where(connections.c.id == connection_id)
                .values(**changes, updated_at=utcnow())
            )
            if result.rowcount == 0:
                raise ConnectionNotFound(connection_id)
        record = self.get_connection(connection_id)
        assert record is not None
        return record

    def delete_connection(self, connection_id: str, *, purge_data: bool = True) -> bool:
        """Delete a connection, its OAuth states and (by default) everything synced for it."""
        with self._write() as conn:
            conn.execute(sa.delete(oauth_states).where(oauth_states.c.connection_id == connection_id))
            found = conn.execute(sa.delete(connections).where(connections.c.id == connection_id)).rowcount > 0
            if purge_data:
                for table in (*ENTITY_TABLES.values(), sync_state, sync_runs):
                    conn.execute(sa.delete(table).where(table.c.connection_id == connection_id))
        return found

    # -----------------------------------------------------------------------------------------
    # OAuth states

    def create_oauth_state(
        self,
        *,
        state_hash: str,
        connection_id: str,
        payload_encrypted: str,
        redirect_uri: str,
        expires_at: datetime,
    ) -> OAuthStateRecord:
        try:
            with self._write() as conn:
                conn.execute(
                    sa.insert(oauth_states).values(
                        state_hash=state_hash,
                        connection_id=connection_id,
                        payload_encrypted=payload_encrypted,
                        redirect_uri=redirect_uri,
                        expires_at=expires_at,
                    )
                )
        except IntegrityError as exc:
            if self.get_connection(connection_id) is None:
                raise ConnectionNotFound(connection_id) from exc
            raise StoreError("That OAuth state already exists; generate a fresh state.") from exc
        with self._read() as conn:
            row = (
                conn.execute(sa.select(oauth_states).where(oauth_states.c.state_hash == state_hash))
                .mappings()
                .one()
            )
        return OAuthStateRecord(**row)

    def find_oauth_state(self, state_hash: str) -> OAuthStateRecord | None:
        """A consent state as stored, used or not, expired or not (to explain a refused callback)."""
        with self._read() as conn:
            row = (
                conn.execute(sa.select(oauth_states).where(oauth_states.c.state_hash == state_hash))
                .mappings()
                .first()
            )
        return OAuthStateRecord(**row) if row else None

    def consume_oauth_state(self, state_hash: str, now: datetime | None = None) -> OAuthStateRecord | None:
        """Mark a state used and return it, atomically, only if it is unused and unexpired.

        One UPDATE … RETURNING: of two callbacks racing with the same state, one wins.
        """
        now = now or utcnow()
        with self._write() as conn:
            row = (
                conn.execute(
                    sa.update(oauth_states)
                    .where(
                        oauth_states.c.state_hash == state_hash,
                        oauth_states.c.used_at.is_(None),
                        oauth_states.c.expires_at > now,
                    )
                    .values(used_at=now)
                    .returning(*oauth_states.columns)
                )
                .mappings()
                .first()
            )
        return OAuthStateRecord(**row) if row else None

    def delete_expired_oauth_states(self, now: datetime | None = None) -> int:
        now = now or utcnow()
        with self._write() as conn:
            return int(
                conn.execute(
                    sa.delete(oauth_states).where(
                        sa.or_(oauth_states.c.expires_at <= now, oauth_states.c.used_at.is_not(None))
                    )
                ).rowcount
            )

    # -----------------------------------------------------------------------------------------
    # Attachment files

    @property
    def blob_dir(self) -> Path | None:
        return self._blobs.root if self._blobs.configured else None

    @property
    def blobs(self) -> BlobStore:
        return self._blobs

    def blob_path(self, sha256: str) -> Path:
        return self._blobs.path(sha256)

    def has_blob(self, sha256: str) -> bool:
        return self._blobs.exists(sha256)

    def blob_temp_folder(self) -> Path:
        """The folder (made if missing) where downloads write their uniquely named temporary
        files before :meth:`put_blob` moves them into place."""
        return self._blobs.temp_folder()

    def put_blob(self, tmp_path: str | os.PathLike[str], sha256: str) -> Path:
        return self._blobs.put(tmp_path, sha256)

    def place_blob(self, tmp_path: str | os.PathLike[str], sha256: str) -> str:
        """:meth:`put_blob` for a sync's downloads: the final path as a string, so that no
        hash passes through pathlib (:meth:`BlobStore.file`)."""
        return self._blobs.place(tmp_path, sha256)

    def prune_blobs(self, *, older_than_seconds: float = 3600.0) -> int:
        """Delete attachment files no attachment row refers to any more."""
        if not self._blobs.configured:
            return 0

        def referenced(hashes: list[str]) -> set[str]:
            # asked folder by folder (about 1/256 of the files), not for every hash at once
            with self._read() as conn:
                return self._referenced_shas(conn, hashes)

        return self._blobs.prune(referenced, older_than_seconds=older_than_seconds)

    # -----------------------------------------------------------------------------------------
    # Locking

    @contextlib.contextmanager
    def lock(self, connection_id: str) -> Iterator[None]:
        """Hold the sync lock of ``connection_id``; raise SyncAlreadyRunning if taken."""
        check_connection_id(connection_id)

        def holder() -> str:
            return self._running_run_detail(connection_id)

        if self.dialect == "postgresql":
            with locking.advisory_lock(self._engine, connection_id, holder):
                yield
        else:
            assert self._db_path is not None
            with locking.file_lock(self._db_path, connection_id, holder):
                yield

    def _running_run_detail(self, connection_id: str) -> str:
        try:
            runs = [r for r in self.list_runs(connection_id, limit=5) if r.status == "running"]
        except sa.exc.SQLAlchemyError:
            return ""
        if not runs:
            return ""
        return f"run #{runs[0].id}, started {runs[0].started_at:%Y-%m-%d %H:%M:%S} UTC"


def same_bytes(stored_size: int | None, size: int | None) -> bool:
    """Whether an attachment still has the bytes stored: the same size, or a size unknown."""
    return stored_size is None or size is None or int(stored_size) == int(size)


def _object_id(deletion: Deletion) -> int:
    """The Zendesk id inside an entity id such as ``ticket:123`` (or a bare ``123``)."""
    raw = deletion.entity_id.rsplit(":", 1)[-1]
    try:
        return int(raw)
    except ValueError:
        raise StoreError(
            f"Deletion of {deletion.entity_type} {deletion.entity_id!r}: expected an entity id like "
            f"'{deletion.entity_type}:123'."
        ) from None


def _check_connection_values(values: Mapping[str, Any]) -> None:
    if "auth_kind" in values and values["auth_kind"] not in AUTH_KINDS:
        raise ValueError(f"auth_kind must be one of {', '.join(AUTH_KINDS)}, not {values['auth_kind']!r}.")
    if "status" in values and values["status"] not in CONNECTION_STATUSES:
        raise ValueError(
            f"Connection status must be one of {', '.join(CONNECTION_STATUSES)}, not {values['status']!r}."
        )
    interval = values.get("sync_interval_seconds")
    if interval is not None and (not isinstance(interval, int) or interval < 60):
        raise ValueError(f"sync_interval_seconds must be a whole number of at least 60, not {interval!r}.")
    for key in ("name", "subdomain"):
        if key in values and (not isinstance(values[key], str) or not values[key].strip()):
            raise ValueError(f"A connection needs a non-empty {key}.")


def _switch_to_wal(dbapi_connection: Any) -> None:
    """``PRAGMA journal_mode=WAL``, waiting for the lock it needs like every other statement.

    Once the file is in WAL mode (it stays so) this is a read. The switch itself, on a new
    file or one in rollback mode, writes the header under a write lock that SQLite takes
    from inside a read transaction, where it never calls the busy handler: when two
    connections switch at once (processes or threads opening a new database together) or
    another connection holds a write lock, it fails at once with "database is locked"
    whatever the busy timeout. The lock is short-lived, so retry until the busy timeout.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    delay = 0.001
    while True:
        try:
            dbapi_connection.execute("PRAGMA journal_mode=WAL").close()
            return
        except sqlite_driver.dbapi.OperationalError as exc:
            busy = getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite_driver.SQLITE_BUSY
            if not busy or time.monotonic() >= deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def _sqlite_engine(path: Path) -> Engine:
    engine = sa.create_engine(
        f"sqlite+pysqlite:///{path}",
        hide_parameters=True,
        json_serializer=dump_json,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        module=sqlite_driver.dbapi,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event decide how transactions start (see below).
        dbapi_connection.isolation_level = None
        sqlite_driver.load_extensions(dbapi_connection)
        _switch_to_wal(dbapi_connection)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # WAL + NORMAL: a killed process never loses a commit; only a power cut may lose the last.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the write lock up front: a deferred transaction that later needs to
        # write can fail with SQLITE_BUSY without waiting; IMMEDIATE waits (busy_timeout).
        conn.exec_driver_sql(
            "BEGIN IMMEDIATE" if conn.get_execution_options().get("zensync_write") else "BEGIN"
        )

    return engine
