"""Building the vectors: what is embedded, only what changed, and nothing left behind."""

from __future__ import annotations

import numpy as np
import pytest
from search_corpus import CID, COMMENTS, TICKETS, comment, everything, page, ticket

from zensync.embeddings import Embedder
from zensync.entities import Deletion
from zensync.search.indexer import build_index
from zensync.store import Store
from zensync.store.vectors import IndexModelMismatch, VectorStore


def _chunks(store: Store) -> dict[tuple[str, int], list[str]]:
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT entity_type, object_id, text FROM search_chunks ORDER BY entity_type, object_id, position"
        ).all()
    out: dict[tuple[str, int], list[str]] = {}
    for entity_type, object_id, text in rows:
        out.setdefault((entity_type, int(object_id)), []).append(text)
    return out


def test_first_index_embeds_tickets_comments_and_file_names(vstore: Store, minilm: Embedder) -> None:
    vstore.apply_page(CID, page(everything()), None)
    vectors = VectorStore(vstore)
    report = build_index(vectors, minilm)
    assert report.embedded == len(TICKETS) + len(COMMENTS) + 2
    assert report.by_type == {"ticket": len(TICKETS), "comment": len(COMMENTS), "attachment": 2}
    chunks = _chunks(vstore)
    assert chunks[("ticket", 1)] == [
        "Duplicate charge on card ending 4242 My statement shows the same payment two times this month."
    ]
    assert chunks[("attachment", 1001)] == ["bank-statement-march.pdf"]
    assert ("user", 1) not in chunks and ("organization", 1) not in chunks
    counts = vectors.counts(CID)
    assert counts["ticket"] == {"entities": 6, "embedded": 6, "chunks": 6}
    assert vectors.consistency() == {
        "orphan_chunks": 0,
        "chunks_without_vector": 0,
        "vectors_without_chunk": 0,
        "stale": 0,
    }
    assert vectors.count_pending() == 0
    again = build_index(vectors, minilm)
    assert (again.entities, again.chunks) == (0, 0)


def test_only_changed_text_is_embedded_again(vstore: Store, minilm: Embedder) -> None:
    vstore.apply_page(CID, page(everything()), None)
    vectors = VectorStore(vstore)
    build_index(vectors, minilm)
    # A status change alters the content hash but not the text: no embedding.
    vstore.apply_page(
        CID, page([ticket(3, status="closed"), comment(201, body="Try the password reset link.")]), None
    )
    assert vectors.count_pending() == 2
    report = build_index(vectors, minilm)
    assert (report.embedded, report.unchanged_text, report.chunks) == (1, 1, 1)
    assert _chunks(vstore)[("comment", 201)] == ["Try the password reset link."]
    assert vectors.consistency()["stale"] == 0


def test_long_comments_are_chunked_with_overlap(vstore: Store, minilm: Embedder) -> None:
    words = [f"word{i}" for i in range(400)]
    vstore.apply_page(CID, page([ticket(1), comment(101, body=" ".join(words))]), None)
    build_index(VectorStore(vstore), minilm)
    parts = _chunks(vstore)[("comment", 101)]
    assert len(parts) == 3
    first, second = parts[0].split(), parts[1].split()
    assert len(first) == 160 and first[-32:] == second[:32]
    assert parts[-1].split()[-1] == "word399"


def test_deleted_ticket_takes_its_vectors_in_the_same_transaction(vstore: Store, minilm: Embedder) -> None:
    vstore.apply_page(CID, page(everything()), None)
    vectors = VectorStore(vstore)
    build_index(vectors, minilm)
    before = vectors.counts()
    vstore.apply_page(
        CID, page([], [Deletion(entity_type="ticket", entity_id="ticket:1", reason="closed")]), None
    )
    after = vectors.counts()
    assert after["ticket"]["chunks"] == before["ticket"]["chunks"] - 1
    assert after["comment"]["chunks"] == before["comment"]["chunks"] - 2
    assert after["attachment"]["chunks"] == before["attachment"]["chunks"] - 1
    assert vectors.consistency() == {
        "orphan_chunks": 0,
        "chunks_without_vector": 0,
        "vectors_without_chunk": 0,
        "stale": 0,
    }
    vstore.delete_connection(CID)
    assert sum(c["chunks"] for c in vectors.counts().values()) == 0
    assert vectors.consistency()["vectors_without_chunk"] == 0


class _OtherModel:
    name = "other-model"
    dimension = 8
    fingerprint = "test:other-model:8"

    def embed(self, texts: list[str]) -> np.ndarray:
        rows = np.ones((len(texts), 8), dtype=np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_another_model_is_refused_until_rebuild(vstore: Store, minilm: Embedder) -> None:
    vstore.apply_page(CID, page(everything()), None)
    vectors = VectorStore(vstore)
    build_index(vectors, minilm)
    with pytest.raises(
        IndexModelMismatch, match=r"all-MiniLM-L6-v2 \(384 dimensions\).*zensync index --rebuild"
    ):
        build_index(vectors, _OtherModel())
    report = build_index(vectors, _OtherModel(), rebuild=True)
    assert report.embedded == report.entities == len(TICKETS) + len(COMMENTS) + 2
    info = vectors.info()
    assert info is not None and info.dimension == 8
    assert vectors.consistency()["chunks_without_vector"] == 0
