"""SQLite's vector search: a scan of sign codes, then exact rescoring, finds the true nearest
chunks; deleted chunks take their codes; an index made before the codes is converted in place."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from search_corpus import BASE, CID, everything, page

import zensync.store.vectors as vectors_module
from zensync.embeddings import Embedder
from zensync.entities import Deletion, ZendeskTicketEntity
from zensync.search import search
from zensync.search.indexer import build_index
from zensync.store import Store
from zensync.store.vectors import VectorStore

SUBJECTS = [
    "refund for a duplicate charge",
    "cannot log in after the password reset",
    "export to csv is missing columns",
    "the mobile app crashes on start",
    "change the billing address on the invoice",
    "parcel arrived damaged",
    "add seats to our plan",
    "two-factor codes never arrive",
    "dashboard loads very slowly",
    "api returns error 500",
]
PLACES = ["Berlin", "Lyon", "Osaka", "Lima", "Perth", "Oslo", "Quito", "Accra", "Hanoi", "Tulsa"]
DETAILS = ["since Monday", "for the second time", "on every device", "after the update", "for one customer"]


def _ticket(tid: int) -> ZendeskTicketEntity:
    subject = f"{SUBJECTS[tid % 10]} in {PLACES[(tid // 10) % 10]} {DETAILS[(tid // 100) % 5]}"
    return ZendeskTicketEntity.from_api(
        {
            "id": tid,
            "subject": subject,
            "description": "",
            "status": "open",
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
        },
        web_url=f"{BASE}/agent/tickets/{tid}",
    )


def _exact_nearest(store: Store, query: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The k nearest chunks by cosine distance over every stored vector (unit vectors)."""
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT id, embedding FROM chunk_vectors").all()
    ids = np.array([r[0] for r in rows])
    distances = 1.0 - np.stack([np.frombuffer(r[1], dtype=np.float32) for r in rows]) @ query
    order = np.argsort(distances, kind="stable")[:k]
    return [(int(ids[i]), float(distances[i])) for i in order]


def test_code_scan_with_rescoring_finds_the_exact_nearest(
    tmp_path: Path, minilm: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store.open(tmp_path / "zensync.db")
    try:
        store.apply_page(CID, page([_ticket(t) for t in range(1, 501)]), None)
        vectors = VectorStore(store)
        build_index(vectors, minilm)
        # Rescore only 50 of the 500 chunks (a tenth), so the codes' scan really chooses.
        monkeypatch.setattr(vectors_module, "COARSE_MIN", 50)
        monkeypatch.setattr(vectors_module, "OVERSAMPLE", 10)
        queries = [
            "my money back for being billed twice",
            "app closes right after opening",
            "shipment broken",
            "slow pages",
        ]
        for text in queries:
            query = minilm.embed([text])[0]
            hits = vectors.nearest(query, 5)
            exact = _exact_nearest(store, query, 5)
            assert [hit.chunk_id for hit in hits] == [chunk_id for chunk_id, _ in exact], text
            assert [hit.distance for hit in hits] == pytest.approx([d for _, d in exact], abs=1e-5)
        # Deleting tickets takes their codes with their vectors, in the same transaction.
        store.apply_page(
            CID,
            page(
                [],
                [
                    Deletion(entity_type="ticket", entity_id=f"ticket:{t}", reason="deleted")
                    for t in range(1, 101)
                ],
            ),
            None,
        )
        assert vectors.consistency() == {
            "orphan_chunks": 0,
            "chunks_without_vector": 0,
            "vectors_without_chunk": 0,
            "stale": 0,
        }
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM chunk_codes").scalar_one() == 400
        hits = vectors.nearest(minilm.embed(["refund for a duplicate charge"])[0], 50)
        assert hits and all(hit.object_id > 100 for hit in hits)
    finally:
        store.close()


def test_index_made_before_codes_is_searched_then_converted(tmp_path: Path, minilm: Embedder) -> None:
    store = Store.open(tmp_path / "zensync.db")
    try:
        store.apply_page(CID, page(everything()), None)
        vectors = VectorStore(store)
        build_index(vectors, minilm)
        before = [(r.entity_type, r.id) for r in search(store, "money back", mode="semantic").results]
        # The earlier layout: one vec0 table holding the float vectors, partitioned by type.
        with store.engine.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER search_chunks_vectors_delete")
            conn.exec_driver_sql("DROP TABLE chunk_codes")
            conn.exec_driver_sql("ALTER TABLE chunk_vectors RENAME TO old_vectors")
            conn.exec_driver_sql(
                "CREATE VIRTUAL TABLE chunk_vectors USING vec0(entity_type text partition key, "
                "embedding float[384] distance_metric=cosine)"
            )
            conn.exec_driver_sql(
                "INSERT INTO chunk_vectors (rowid, entity_type, embedding) SELECT v.id, c.entity_type, "
                "v.embedding FROM old_vectors v JOIN search_chunks c ON c.id = v.id"
            )
            conn.exec_driver_sql("DROP TABLE old_vectors")
            conn.exec_driver_sql(
                "CREATE TRIGGER search_chunks_vectors_delete AFTER DELETE ON search_chunks BEGIN "
                "DELETE FROM chunk_vectors WHERE rowid = old.id; END"
            )
        legacy = [(r.entity_type, r.id) for r in search(store, "money back", mode="semantic").results]
        assert legacy == before
        report = build_index(vectors, minilm)
        assert report.chunks == 0  # converted, not re-embedded
        with store.engine.connect() as conn:
            kinds = dict(conn.exec_driver_sql("SELECT name, sql FROM sqlite_master").all())
        assert "VIRTUAL" not in kinds["chunk_vectors"] and "vec0" in kinds["chunk_codes"]
        assert vectors.consistency()["chunks_without_vector"] == 0
        after = [(r.entity_type, r.id) for r in search(store, "money back", mode="semantic").results]
        assert after == before
    finally:
        store.close()
