"""Query latency at scale: keyword, semantic and hybrid over a large synced SQLite copy.

    .venv/bin/python bench/search_scale.py --source SYNCED.db [--work /tmp/x.db] [--sample 2000]

Embedding every chunk of a 100,000-ticket account (about 780,000 chunks) takes hours on two
CPU cores, so this measures *query* latency on a copy whose vectors are stand-ins: each chunk
keeps its real text (keyword search and grouping are real), and gets the vector of a randomly
chosen real chunk embedded by the model (``--sample`` distinct texts) plus a little noise. The
cost of a vector query depends on how many vectors there are and their width, not on their
values, so the timings stand; the relevance of the results does not (see search_quality.py).

Steps: copy ``--source`` (SQLite backup API) to ``--work``; open it (migrates); write every
ticket's, comment's and attachment name's chunks and stand-in vectors; time each labelled
query of ``search_quality.py`` in each mode, three rounds, warm; print p50/p99.
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
        for mode in ("keyword", "semantic", "hybrid"):
            timings = []
            for _ in range(3):
                for query in queries:
                    started = time.perf_counter()
                    search(store, query, mode=mode, limit=10)
                    timings.append((time.perf_counter() - started) * 1000)
            timings.sort()
            result[mode] = {
                "p50_ms": round(statistics.median(timings), 1),
                "p99_ms": round(timings[min(len(timings) - 1, int(len(timings) * 0.99))], 1),
                "n": len(timings),
            }
            print(mode, result[mode], file=sys.stderr)
    finally:
        store.close()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
