"""Vectors beside the data: chunk bookkeeping and nearest-neighbour search on both backends.

- SQLite: each chunk's vector in ``chunk_vectors`` (rowid = ``search_chunks.id``, float32
  bytes) and its sign bits in ``chunk_codes``, an ``sqlite-vec`` ``vec0`` table of ``bit[N]``
  codes partitioned by entity type, both in the same file and written in the same
  transactions as the chunks. A query scans the codes (48 bytes a chunk for MiniLM's 384
  dimensions, read from the table's packed chunks and compared by Hamming distance in numpy),
  then ranks the few hundred closest by their exact cosine distance: binary quantization
  with rescoring, where sqlite-vec alone scans every float vector (0.6 s at 700,000 chunks).
  A trigger on ``search_chunks`` deletes a chunk's vector and code with it, and the entity
  tables' triggers (migration 0005) delete the chunks with their entity, so no vector
  outlives its row. An index made before the codes existed (one ``vec0`` table of floats) is
  searched exactly as before until ``zensync index`` converts it.
- PostgreSQL: a ``chunk_vectors`` table with a pgvector ``vector(N)`` column and an HNSW
  index (cosine), its rows deleted with their chunk by ``ON DELETE CASCADE``. A server without
  the ``vector`` extension gets :class:`VectorsUnavailable` with what to do, and keeps its
  keyword search.

The vector tables are made when the first index is built, because their width is the model's
dimension; ``vector_index`` records which model that was, and a query with another model is
refused (:class:`IndexModelMismatch`: ``zensync index --rebuild``).
"""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy import Connection

from zensync.store.base import StoreError
from zensync.store.schema import ENTITY_TABLES, embedded_entities, search_chunks, vector_index

if TYPE_CHECKING:
    from zensync.store.store import Store

EMBEDDED_TYPES = ("ticket", "comment", "attachment")
# sqlite-vec answers at most this many neighbours per query.
MAX_K = 4096
# HNSW search breadth on PostgreSQL (pgvector's maximum is 1000).
MAX_EF_SEARCH = 1000
# SQLite: chunks whose codes are nearest (Hamming) are rescored by their exact cosine distance;
# this many per neighbour asked, and at least COARSE_MIN (recall measured in bench/README.md).
OVERSAMPLE = 8
COARSE_MIN = 400


class VectorsUnavailable(StoreError):
    """This database cannot hold vectors (PostgreSQL without pgvector)."""


class IndexModelMismatch(StoreError):
    """The vectors were made by another model than the one asked to use them."""


class NoVectors(StoreError):
    """No index has been built yet."""


@dataclass(frozen=True)
class IndexInfo:
    """What ``vector_index`` records about the model that built the vectors."""

    fingerprint: str
    dimension: int
    model: str
    spec: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "dimension": self.dimension,
            "model": self.model,
            "spec": self.spec,
        }


@dataclass(frozen=True)
class PendingEntity:
    """An entity whose text has no current vectors."""

    connection_id: str
    entity_type: str
    object_id: int
    ticket_id: int | None
    content_hash: str
    name: str
    data: dict[str, Any]
    embedded_text_hash: str | None  # the text hash of its stored vectors, if any


@dataclass(frozen=True)
class NewChunk:
    position: int
    text: str
    vector: np.ndarray


@dataclass(frozen=True)
class ChunkHit:
    chunk_id: int
    connection_id: str
    entity_type: str
    object_id: int
    ticket_id: int | None
    position: int
    text: str
    distance: float


def _code_bits(dimension: int) -> int:
    """Bits of a vector's code: one per dimension, padded to whole bytes."""
    return (dimension + 7) // 8 * 8


def _code(vector: np.ndarray) -> bytes:
    """The vector's sign bits (1 for a positive component), first component in the lowest bit
    of the first byte: sqlite-vec's ``vec_quantize_binary`` layout."""
    return np.packbits(np.asarray(vector) > 0, bitorder="little").tobytes()


@dataclass(frozen=True)
class _Codes:
    """Every stored code, as read from the ``vec0`` table's packed storage and kept in memory
    between queries while the index's generation stays the same."""

    generation: str
    ids: np.ndarray  # (n,) int64 chunk ids
    types: np.ndarray  # (n,) int8: index in EMBEDDED_TYPES
    columns: np.ndarray  # (words, n): word i of every code side by side, so each pass is contiguous


_codes_cache: dict[str, _Codes] = {}
_codes_lock = threading.Lock()


def _load_codes(conn: Connection, generation: str, width: int) -> _Codes | None:
    """Read every code from the ``vec0`` table's packed storage: per chunk of (by default)
    1,024 slots, a validity bitmap, the rowids (int64) and the codes end to end, so the scan
    reads about 60 bytes per vector in a few hundred rows. None when the storage is not laid
    out so (another sqlite-vec version)."""
    try:
        rows = conn.exec_driver_sql(
            "SELECT c.size, c.validity, c.rowids, v.vectors, c.partition00 FROM chunk_codes_chunks AS c "
            "JOIN chunk_codes_vector_chunks00 AS v ON v.rowid = c.chunk_id"
        ).all()
    except sa.exc.DBAPIError:
        return None
    for size, validity, rowids, vectors, entity_type in rows:
        if (
            len(validity) * 8 != size
            or len(rowids) != 8 * size
            or len(vectors) != width * size
            or entity_type not in EMBEDDED_TYPES
        ):
            return None
    word = np.uint64 if width % 8 == 0 else np.uint8  # whole 64-bit words: eight bytes at a time
    if not rows:
        return _Codes(generation, np.zeros(0, np.int64), np.zeros(0, np.int8), np.zeros((0, 0), word))
    valid = np.unpackbits(np.frombuffer(b"".join(r[1] for r in rows), dtype=np.uint8), bitorder="little")
    kept = valid.astype(bool)
    ids = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.int64)[kept]
    types = np.repeat(
        np.array([EMBEDDED_TYPES.index(r[4]) for r in rows], dtype=np.int8), [int(r[0]) for r in rows]
    )[kept]
    codes = np.frombuffer(b"".join(r[3] for r in rows), dtype=np.uint8).reshape(-1, width)[kept]
    columns = np.ascontiguousarray(codes.view(word).T)
    return _Codes(generation, ids, types, columns)


def _hamming(codes: _Codes, code: np.ndarray) -> np.ndarray:
    """Each stored code's Hamming distance to ``code`` (uint16)."""
    words = code.view(codes.columns.dtype)
    distances = np.zeros(codes.columns.shape[1], dtype=np.uint16)
    for column, value in zip(codes.columns, words, strict=True):
        distances += np.bitwise_count(np.bitwise_xor(column, value))
    return distances


def _vector_text(vector: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in vector.tolist()) + "]"


class VectorStore:
    """The vector side of a :class:`~zensync.store.Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store.engine
        self.dialect = store.dialect

    # -----------------------------------------------------------------------------------------
    # What exists

    def info(self) -> IndexInfo | None:
        with self.engine.connect() as conn:
            return self._info(conn)

    def _info(self, conn: Connection) -> IndexInfo | None:
        values = dict(conn.execute(sa.select(vector_index.c.key, vector_index.c.value)).all())  # type: ignore[arg-type]
        if "fingerprint" not in values:
            return None
        return IndexInfo(
            fingerprint=values["fingerprint"],
            dimension=int(values["dimension"]),
            model=values.get("model", ""),
            spec=json.loads(values.get("spec") or "{}"),
        )

    def supported(self) -> str | None:
        """None when this database can hold vectors, else the reason and what to do."""
        if self.dialect != "postgresql":
            return None
        with self.engine.connect() as conn:
            installed = conn.execute(
                sa.text("SELECT 1 FROM pg_extension WHERE extname = 'vector'")
            ).scalar_one_or_none()
            if installed:
                return None
            available = conn.execute(
                sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
            ).scalar_one_or_none()
        if available:
            return None
        return (
            "This PostgreSQL server has no pgvector extension, so it cannot hold vectors: install "
            "pgvector on the server (e.g. the postgresql-NN-pgvector package) or use an SQLite file; "
            "keyword search works without it."
        )

    def counts(self, connection_id: str | None = None) -> dict[str, dict[str, int]]:
        """Per embedded type: entities stored, entities embedded with their current content, chunks."""
        out: dict[str, dict[str, int]] = {}
        with self.engine.connect() as conn:
            for entity_type in EMBEDDED_TYPES:
                table = ENTITY_TABLES[entity_type]  # type: ignore[index]
                total = sa.select(sa.func.count()).select_from(table)
                current = (
                    sa.select(sa.func.count())
                    .select_from(table)
                    .join(embedded_entities, self._embedded_join(table, entity_type))
                    .where(embedded_entities.c.content_hash == table.c.content_hash)
                )
                chunks = (
                    sa.select(sa.func.count())
                    .select_from(search_chunks)
                    .where(search_chunks.c.entity_type == entity_type)
                )
                if connection_id is not None:
                    total = total.where(table.c.connection_id == connection_id)
                    current = current.where(table.c.connection_id == connection_id)
                    chunks = chunks.where(search_chunks.c.connection_id == connection_id)
                out[entity_type] = {
                    "entities": int(conn.execute(total).scalar_one()),
                    "embedded": int(conn.execute(current).scalar_one()),
                    "chunks": int(conn.execute(chunks).scalar_one()),
                }
        return out

    def has_vectors(self) -> bool:
        if self.info() is None:
            return False
        with self.engine.connect() as conn:
            return conn.execute(sa.select(search_chunks.c.id).limit(1)).first() is not None

    @staticmethod
    def _embedded_join(table: sa.Table, entity_type: str) -> sa.ColumnElement[bool]:
        return sa.and_(
            embedded_entities.c.connection_id == table.c.connection_id,
            embedded_entities.c.entity_type == entity_type,
            embedded_entities.c.object_id == table.c.id,
        )

    # -----------------------------------------------------------------------------------------
    # Preparing for a model

    def prepare(
        self, fingerprint: str, dimension: int, model: str, spec: dict[str, Any], *, rebuild: bool = False
    ) -> None:
        """Make the vector table for this model, or check the existing one was made by it.

        ``rebuild`` drops every vector first (another model, or a fresh start).
        """
        reason = self.supported()
        if reason is not None:
            raise VectorsUnavailable(reason)
        with self._write() as conn:
            info = self._info(conn)
            if info is not None and info.fingerprint != fingerprint and not rebuild:
                raise IndexModelMismatch(
                    f"The search index was built with {info.model} ({info.dimension} dimensions); "
                    f"{model} ({dimension} dimensions) cannot use or extend it. Run "
                    "`zensync index --rebuild` to re-embed everything with the new model, or use the "
                    "model the index was built with."
                )
            if not rebuild and info is not None and self._legacy_layout(conn):
                self._add_codes(conn, info.dimension)
                self._new_generation(conn)
            if rebuild or info is None:
                self._drop_vectors(conn)
                self._create_vectors(conn, dimension)
                conn.execute(sa.delete(vector_index))
                conn.execute(
                    sa.insert(vector_index),
                    [
                        {"key": "fingerprint", "value": fingerprint},
                        {"key": "dimension", "value": str(dimension)},
                        {"key": "model", "value": model},
                        {"key": "spec", "value": json.dumps(spec)},
                    ],
                )
                self._new_generation(conn)

    def _drop_vectors(self, conn: Connection) -> None:
        conn.execute(sa.delete(embedded_entities))
        if self.dialect == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS search_chunks_vectors_delete")
            conn.execute(sa.delete(search_chunks))
            conn.exec_driver_sql("DROP TABLE IF EXISTS chunk_codes")
            conn.exec_driver_sql("DROP TABLE IF EXISTS chunk_vectors")
        else:
            conn.exec_driver_sql("DROP TABLE IF EXISTS chunk_vectors")
            conn.execute(sa.delete(search_chunks))

    def _create_vectors(self, conn: Connection, dimension: int) -> None:
        if not isinstance(dimension, int) or not 1 <= dimension <= 16000:
            raise ValueError(f"A vector dimension must be between 1 and 16000, not {dimension!r}.")
        if self.dialect == "sqlite":
            conn.exec_driver_sql(
                "CREATE TABLE chunk_vectors (id INTEGER PRIMARY KEY, embedding BLOB NOT NULL)"
            )
            self._create_codes(conn, dimension)
            self._create_delete_trigger(conn)
        else:
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS vector")
            conn.exec_driver_sql(
                f"CREATE TABLE chunk_vectors (chunk_id BIGINT PRIMARY KEY REFERENCES search_chunks(id) "
                f"ON DELETE CASCADE, embedding vector({dimension}) NOT NULL)"
            )
            if dimension <= 2000:  # pgvector's HNSW limit for vector columns
                conn.exec_driver_sql(
                    "CREATE INDEX ix_chunk_vectors_hnsw ON chunk_vectors "
                    "USING hnsw (embedding vector_cosine_ops)"
                )

    @staticmethod
    def _create_codes(conn: Connection, dimension: int) -> None:
        conn.exec_driver_sql(
            # Partitioned by entity type: a search of tickets only reads tickets' codes.
            "CREATE VIRTUAL TABLE chunk_codes USING vec0(entity_type text partition key, "
            f"code bit[{_code_bits(dimension)}])"
        )

    @staticmethod
    def _create_delete_trigger(conn: Connection) -> None:
        conn.exec_driver_sql(
            "CREATE TRIGGER search_chunks_vectors_delete AFTER DELETE ON search_chunks BEGIN "
            "DELETE FROM chunk_vectors WHERE rowid = old.id; "
            "DELETE FROM chunk_codes WHERE rowid = old.id; END"
        )

    @staticmethod
    def _legacy_layout(conn: Connection) -> bool:
        """True for an SQLite index made before the codes: one vec0 table of float vectors."""
        if conn.dialect.name != "sqlite":
            return False
        names = {
            r[0]
            for r in conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE name IN ('chunk_vectors', 'chunk_codes')"
            )
        }
        return names == {"chunk_vectors"}

    def _add_codes(self, conn: Connection, dimension: int) -> None:
        """Convert a legacy index in place (one transaction): the floats move to a plain table
        and each gets its code; nothing is re-embedded."""
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS search_chunks_vectors_delete")
        # (A vec0 table cannot be renamed: the floats go to a new table that takes its name.)
        conn.exec_driver_sql("DROP TABLE IF EXISTS chunk_vectors_new")
        conn.exec_driver_sql(
            "CREATE TABLE chunk_vectors_new (id INTEGER PRIMARY KEY, embedding BLOB NOT NULL)"
        )
        self._create_codes(conn, dimension)
        raw = conn.connection.dbapi_connection
        assert raw is not None
        read = raw.cursor()
        write = raw.cursor()
        read.execute("SELECT rowid, entity_type, embedding FROM chunk_vectors")
        while part := read.fetchmany(5000):
            write.executemany(
                "INSERT INTO chunk_vectors_new (id, embedding) VALUES (?, ?)",
                [(int(r[0]), r[2]) for r in part],
            )
            write.executemany(
                "INSERT INTO chunk_codes (rowid, entity_type, code) VALUES (?, ?, vec_bit(?))",
                [(int(r[0]), r[1], _code(np.frombuffer(r[2], dtype=np.float32))) for r in part],
            )
        conn.exec_driver_sql("DROP TABLE chunk_vectors")
        conn.exec_driver_sql("ALTER TABLE chunk_vectors_new RENAME TO chunk_vectors")
        self._create_delete_trigger(conn)

    @contextlib.contextmanager
    def _write(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            if self.dialect == "sqlite":
                conn = conn.execution_options(zensync_write=True)
            with conn.begin():
                yield conn

    # -----------------------------------------------------------------------------------------
    # Indexing

    def count_pending(self, connection_id: str | None = None) -> int:
        total = 0
        with self.engine.connect() as conn:
            for entity_type in EMBEDDED_TYPES:
                table = ENTITY_TABLES[entity_type]  # type: ignore[index]
                query = (
                    sa.select(sa.func.count())
                    .select_from(table.outerjoin(embedded_entities, self._embedded_join(table, entity_type)))
                    .where(
                        sa.or_(
                            embedded_entities.c.object_id.is_(None),
                            embedded_entities.c.content_hash != table.c.content_hash,
                        )
                    )
                )
                if connection_id is not None:
                    query = query.where(table.c.connection_id == connection_id)
                total += int(conn.execute(query).scalar_one())
        return total

    def iter_pending(
        self, entity_type: str, *, connection_id: str | None = None, batch_size: int = 200
    ) -> Iterator[list[PendingEntity]]:
        """Entities of a type whose vectors are missing or older than their content, in key
        order, a batch at a time (each batch read in its own short transaction)."""
        table = ENTITY_TABLES[entity_type]  # type: ignore[index]
        ticket_column = table.c.id if entity_type == "ticket" else table.c.ticket_id
        last: tuple[str, int] = ("", -(2**63))
        while True:
            query = (
                sa.select(
                    table.c.connection_id,
                    table.c.id,
                    ticket_column.label("ticket_id"),
                    table.c.content_hash,
                    table.c.name,
                    table.c.data,
                    embedded_entities.c.text_hash,
                )
                .select_from(table.outerjoin(embedded_entities, self._embedded_join(table, entity_type)))
                .where(
                    sa.tuple_(table.c.connection_id, table.c.id) > sa.tuple_(*last),
                    sa.or_(
                        embedded_entities.c.object_id.is_(None),
                        embedded_entities.c.content_hash != table.c.content_hash,
                    ),
                )
                .order_by(table.c.connection_id, table.c.id)
                .limit(batch_size)
            )
            if connection_id is not None:
                query = query.where(table.c.connection_id == connection_id)
            with self.engine.connect() as conn:
                rows = conn.execute(query).all()
            if not rows:
                return
            yield [
                PendingEntity(
                    connection_id=r.connection_id,
                    entity_type=entity_type,
                    object_id=int(r.id),
                    ticket_id=int(r.ticket_id) if r.ticket_id is not None else None,
                    content_hash=r.content_hash,
                    name=r.name or "",
                    data=r.data if isinstance(r.data, dict) else json.loads(r.data),
                    embedded_text_hash=r.text_hash,
                )
                for r in rows
            ]
            last = (rows[-1].connection_id, int(rows[-1].id))

    def write(
        self,
        fingerprint: str,
        entries: Sequence[tuple[PendingEntity, str, Sequence[NewChunk] | None]],
    ) -> int:
        """Store the vectors of a batch of entities in ONE transaction; return how many were stored.

        Each entry is (entity, text hash, chunks); chunks None means "same text as the stored
        vectors": only the recorded content hash moves on. An entity whose row changed or
        disappeared since it was read is skipped (the next run takes its new content), so
        nothing is written for a row that is not there: no orphans, whatever runs beside.
        """
        written = 0
        changed = False
        with self._write() as conn:
            info = self._info(conn)
            if info is None or info.fingerprint != fingerprint:
                raise IndexModelMismatch(
                    "The search index was rebuilt with another model while this run was embedding; "
                    "run `zensync index` again."
                )
            for entity, text_hash, chunks in entries:
                table = ENTITY_TABLES[entity.entity_type]  # type: ignore[index]
                current = conn.execute(
                    sa.select(table.c.content_hash).where(
                        table.c.connection_id == entity.connection_id, table.c.id == entity.object_id
                    )
                ).scalar_one_or_none()
                if current != entity.content_hash:
                    continue
                key = sa.and_(
                    embedded_entities.c.connection_id == entity.connection_id,
                    embedded_entities.c.entity_type == entity.entity_type,
                    embedded_entities.c.object_id == entity.object_id,
                )
                if chunks is None:
                    conn.execute(
                        sa.update(embedded_entities).where(key).values(content_hash=entity.content_hash)
                    )
                    written += 1
                    continue
                conn.execute(
                    sa.delete(search_chunks).where(
                        search_chunks.c.connection_id == entity.connection_id,
                        search_chunks.c.entity_type == entity.entity_type,
                        search_chunks.c.object_id == entity.object_id,
                    )
                )
                conn.execute(sa.delete(embedded_entities).where(key))
                changed = True
                for chunk in chunks:
                    chunk_id = conn.execute(
                        sa.insert(search_chunks)
                        .values(
                            connection_id=entity.connection_id,
                            entity_type=entity.entity_type,
                            object_id=entity.object_id,
                            ticket_id=entity.ticket_id,
                            position=chunk.position,
                            text=chunk.text,
                        )
                        .returning(search_chunks.c.id)
                    ).scalar_one()
                    self._insert_vector(conn, int(chunk_id), entity.entity_type, chunk.vector)
                conn.execute(
                    sa.insert(embedded_entities).values(
                        connection_id=entity.connection_id,
                        entity_type=entity.entity_type,
                        object_id=entity.object_id,
                        content_hash=entity.content_hash,
                        text_hash=text_hash,
                        chunks=len(chunks),
                    )
                )
                written += 1
            if changed:
                self._new_generation(conn)
        return written

    def _insert_vector(self, conn: Connection, chunk_id: int, entity_type: str, vector: np.ndarray) -> None:
        if self.dialect == "sqlite":
            floats = np.ascontiguousarray(vector, dtype=np.float32)
            conn.exec_driver_sql(
                "INSERT INTO chunk_vectors (id, embedding) VALUES (?, ?)", (chunk_id, floats.tobytes())
            )
            conn.exec_driver_sql(
                "INSERT INTO chunk_codes (rowid, entity_type, code) VALUES (?, ?, vec_bit(?))",
                (chunk_id, entity_type, _code(floats)),
            )
        else:
            conn.execute(
                sa.text("INSERT INTO chunk_vectors (chunk_id, embedding) VALUES (:id, CAST(:v AS vector))"),
                {"id": chunk_id, "v": _vector_text(vector)},
            )

    # -----------------------------------------------------------------------------------------
    # Searching

    def nearest(
        self,
        vector: np.ndarray,
        k: int,
        *,
        connection_id: str | None = None,
        types: Sequence[str] | None = None,
    ) -> list[ChunkHit]:
        """The ``k`` chunks closest to ``vector`` (cosine distance, smallest first)."""
        k = max(1, min(int(k), MAX_K))
        where = []
        params: dict[str, Any] = {"k": k}
        if connection_id is not None:
            where.append("c.connection_id = :connection_id")
            params["connection_id"] = connection_id
        type_sql = ""
        wanted_sql = ""
        wanted: list[str] = []
        if types is not None:
            wanted = [t for t in EMBEDDED_TYPES if t in types]  # constants only reach the SQL
            if not wanted:
                return []
            if len(wanted) < len(EMBEDDED_TYPES):
                wanted_sql = ", ".join(f"'{t}'" for t in wanted)
                type_sql = f"entity_type IN ({wanted_sql})"
                where.append(f"c.{type_sql}")
        filter_sql = (" AND " + " AND ".join(where)) if where else ""
        columns = "c.id, c.connection_id, c.entity_type, c.object_id, c.ticket_id, c.position, c.text"
        with self.engine.connect() as conn:
            rows: Sequence[Any]
            if self.dialect == "sqlite" and not self._legacy_layout(conn):
                rows = self._nearest_by_codes(
                    conn, vector, k, wanted if wanted_sql else [], wanted_sql, where, params, columns
                )
            elif self.dialect == "sqlite":
                params["q"] = np.ascontiguousarray(vector, dtype=np.float32).tobytes()
                sql = (
                    f"SELECT {columns}, v.distance FROM (SELECT rowid, distance FROM chunk_vectors "  # noqa: S608
                    f"WHERE embedding MATCH :q AND k = :k{' AND ' + type_sql if type_sql else ''}) AS v "
                    "JOIN search_chunks AS c ON c.id = v.rowid "
                    f"WHERE 1 = 1{filter_sql} ORDER BY v.distance"
                )
                rows = conn.execute(sa.text(sql), params).all()
            else:
                params["q"] = _vector_text(vector)
                with conn.begin():
                    conn.exec_driver_sql(f"SET LOCAL hnsw.ef_search = {min(max(k, 40), MAX_EF_SEARCH)}")
                    nearest = (
                        "SELECT chunk_id, embedding <=> CAST(:q AS vector) AS distance FROM chunk_vectors "
                        "ORDER BY embedding <=> CAST(:q AS vector) LIMIT :k"
                    )
                    sql = (
                        f"SELECT {columns}, v.distance FROM ({nearest}) AS v "  # noqa: S608
                        f"JOIN search_chunks AS c ON c.id = v.chunk_id WHERE 1 = 1{filter_sql} "
                        "ORDER BY v.distance"
                    )
                    rows = conn.execute(sa.text(sql), params).all()
        return [
            ChunkHit(
                chunk_id=int(r[0]),
                connection_id=r[1],
                entity_type=r[2],
                object_id=int(r[3]),
                ticket_id=int(r[4]) if r[4] is not None else None,
                position=int(r[5]),
                text=r[6],
                distance=float(r[7]),
            )
            for r in rows
        ]

    def _codes(self, conn: Connection, width: int) -> _Codes | None:
        """The stored codes: from memory while the index's generation is the one they were read
        at (every write of vectors sets a new one), else read again."""
        generation = conn.execute(
            sa.select(vector_index.c.value).where(vector_index.c.key == "generation")
        ).scalar_one_or_none()
        key = str(self.engine.url)
        if generation is not None:
            with _codes_lock:
                cached = _codes_cache.get(key)
            if cached is not None and cached.generation == generation:
                return cached
        codes = _load_codes(conn, generation or "", width)
        if codes is not None and generation is not None:
            with _codes_lock:
                _codes_cache[key] = codes
        return codes

    def _new_generation(self, conn: Connection) -> None:
        """Mark the stored vectors changed: a process holding the codes in memory reads them again."""
        if self.dialect != "sqlite":
            return
        conn.execute(sa.delete(vector_index).where(vector_index.c.key == "generation"))
        conn.execute(sa.insert(vector_index).values(key="generation", value=uuid.uuid4().hex))

    def _nearest_by_codes(
        self,
        conn: Connection,
        vector: np.ndarray,
        k: int,
        wanted: list[str],
        wanted_sql: str,
        where: list[str],
        params: dict[str, Any],
        columns: str,
    ) -> list[Any]:
        """Coarse scan of the sign codes by Hamming distance, then exact cosine rescoring of
        the nearest ``max(COARSE_MIN, OVERSAMPLE × k)`` chunks."""
        query = np.ascontiguousarray(vector, dtype=np.float32)
        code = np.frombuffer(_code(query), dtype=np.uint8)
        codes = self._codes(conn, len(code))
        if codes is None:
            # Not the packed layout this version reads: sqlite-vec's own (slower) scan of the codes.
            candidates = [
                int(r[0])
                for r in conn.exec_driver_sql(
                    "SELECT rowid FROM chunk_codes WHERE code MATCH vec_bit(?) AND k = ?"  # noqa: S608
                    + (f" AND entity_type IN ({wanted_sql})" if wanted_sql else ""),
                    (code.tobytes(), min(MAX_K, max(COARSE_MIN, OVERSAMPLE * k))),
                )
            ]
        else:
            distances = _hamming(codes, code)
            ids = codes.ids
            if wanted:
                mask = np.isin(codes.types, [EMBEDDED_TYPES.index(t) for t in wanted])
                ids, distances = ids[mask], distances[mask]
            coarse = min(len(ids), max(COARSE_MIN, OVERSAMPLE * k))
            if coarse == 0:
                return []
            nearest = (
                np.argpartition(distances, coarse - 1)[:coarse] if coarse < len(ids) else np.arange(len(ids))
            )
            candidates = ids[nearest].tolist()
        if not candidates:
            return []
        filter_sql = (" AND " + " AND ".join(where)) if where else ""
        rows = conn.execute(
            sa.text(
                f"SELECT {columns}, v.embedding FROM search_chunks AS c "  # noqa: S608
                "JOIN chunk_vectors AS v ON v.id = c.id "
                f"WHERE c.id IN (SELECT value FROM json_each(:ids)){filter_sql}"
            ),
            {**params, "ids": json.dumps(candidates)},
        ).all()
        if not rows:
            return []
        matrix = np.frombuffer(b"".join(r[-1] for r in rows), dtype=np.float32).reshape(len(rows), -1)
        norms = np.linalg.norm(matrix, axis=1) * max(float(np.linalg.norm(query)), 1e-12)
        cosine_distance = 1.0 - (matrix @ query) / np.maximum(norms, 1e-12)
        order = np.argsort(cosine_distance, kind="stable")[:k]
        return [(*rows[i][:-1], float(cosine_distance[i])) for i in order]

    # -----------------------------------------------------------------------------------------
    # Checks (tests, `zensync index --check`)

    def consistency(self) -> dict[str, int]:
        """Counts of what must be zero after a finished index: chunks without their entity or
        without a vector, vectors without a chunk, entities embedded from older content."""
        out = {"orphan_chunks": 0, "chunks_without_vector": 0, "vectors_without_chunk": 0, "stale": 0}
        info = self.info()
        with self.engine.connect() as conn:
            for entity_type in EMBEDDED_TYPES:
                table = ENTITY_TABLES[entity_type]  # type: ignore[index]
                out["orphan_chunks"] += int(
                    conn.execute(
                        sa.select(sa.func.count())
                        .select_from(search_chunks)
                        .where(
                            search_chunks.c.entity_type == entity_type,
                            ~sa.exists().where(
                                table.c.connection_id == search_chunks.c.connection_id,
                                table.c.id == search_chunks.c.object_id,
                            ),
                        )
                    ).scalar_one()
                )
                out["stale"] += int(
                    conn.execute(
                        sa.select(sa.func.count())
                        .select_from(table)
                        .join(embedded_entities, self._embedded_join(table, entity_type))
                        .where(embedded_entities.c.content_hash != table.c.content_hash)
                    ).scalar_one()
                )
            if info is not None:
                key = "rowid" if self.dialect == "sqlite" else "chunk_id"
                out["chunks_without_vector"] = int(
                    conn.exec_driver_sql(
                        "SELECT count(*) FROM search_chunks "  # noqa: S608
                        f"WHERE id NOT IN (SELECT {key} FROM chunk_vectors)"
                    ).scalar_one()
                )
                out["vectors_without_chunk"] = int(
                    conn.exec_driver_sql(
                        "SELECT count(*) FROM chunk_vectors "  # noqa: S608
                        f"WHERE {key} NOT IN (SELECT id FROM search_chunks)"
                    ).scalar_one()
                )
                if self.dialect == "sqlite" and not self._legacy_layout(conn):
                    # Each chunk's code must be there too, and no code without its chunk.
                    out["chunks_without_vector"] += int(
                        conn.exec_driver_sql(
                            "SELECT count(*) FROM search_chunks "
                            "WHERE id NOT IN (SELECT rowid FROM chunk_codes)"
                        ).scalar_one()
                    )
                    out["vectors_without_chunk"] += int(
                        conn.exec_driver_sql(
                            "SELECT count(*) FROM chunk_codes "
                            "WHERE rowid NOT IN (SELECT id FROM search_chunks)"
                        ).scalar_one()
                    )
        return out
