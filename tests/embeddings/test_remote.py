"""An OpenAI-compatible endpoint as the embedder, against a local stand-in server over HTTP."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from zensync.embeddings import API_KEY_ENV, EmbeddingError, load_embedder
from zensync.entities import SourcePage, ZendeskTicketEntity
from zensync.search import search
from zensync.search.indexer import build_index
from zensync.store import Store
from zensync.store.vectors import VectorStore

KEY = "sk-test-0123456789abcdef"
DIM = 16


def _vector(text: str) -> list[float]:
    """Deterministic: texts sharing a word share components (a toy model, enough for plumbing)."""
    out = np.zeros(DIM)
    for word in text.lower().split():
        out[int(hashlib.sha256(word.encode()).hexdigest(), 16) % DIM] += 3.0  # not normalised
    return out.tolist()


class _Handler(BaseHTTPRequestHandler):
    seen: ClassVar[list[dict[str, object]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Handler.seen.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        if self.headers.get("Authorization") != f"Bearer {KEY}":
            self._send(401, {"error": {"message": "Incorrect API key provided"}})
            return
        if self.path != "/v1/embeddings":
            self._send(404, {"error": "not found"})
            return
        data = [
            {"object": "embedding", "index": i, "embedding": _vector(t)} for i, t in enumerate(body["input"])
        ]
        self._send(200, {"object": "list", "data": list(reversed(data)), "model": body["model"]})

    def _send(self, status: int, payload: object) -> None:
        raw = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()


def test_vectors_come_from_the_endpoint_normalised(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(API_KEY_ENV, KEY)
    embedder = load_embedder(url=endpoint, model="toy-embed", cache=False)
    assert embedder.dimension == DIM
    vectors = embedder.embed(["refund please", "printer jam", "refund"])
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    assert vectors[0] @ vectors[2] > vectors[0] @ vectors[1]  # answer order restored by index
    assert _Handler.seen[-1]["body"] == {
        "model": "toy-embed",
        "input": ["refund please", "printer jam", "refund"],
    }
    assert KEY not in repr(embedder)


def test_a_wrong_key_says_which_variable_to_set(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(API_KEY_ENV, "sk-wrong")
    with pytest.raises(EmbeddingError, match=f"HTTP 401.*{API_KEY_ENV}"):
        load_embedder(url=endpoint, cache=False)


def test_unusable_urls_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(EmbeddingError, match="not an http"):
        load_embedder(url="localhost:11434", cache=False)
    with pytest.raises(EmbeddingError, match="no credentials in --embedding-url"):
        load_embedder(url="https://user:secret@example.com/v1", cache=False)
    with pytest.raises(EmbeddingError, match="Cannot reach"):
        load_embedder(url="http://127.0.0.1:9/v1", cache=False)


def test_an_index_built_through_the_endpoint_never_stores_the_key(
    endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(API_KEY_ENV, KEY)
    embedder = load_embedder(url=endpoint, model="toy-embed", cache=False)
    store = Store.open(tmp_path / "remote.db")
    try:
        ticket = ZendeskTicketEntity.from_api(
            {"id": 7, "subject": "Refund for order 12", "description": "Card was charged", "status": "open"},
            web_url="https://acme.zendesk.com/agent/tickets/7",
        )
        store.apply_page("acme", SourcePage(stream="tickets", entities=[ticket], cursor={}), None)
        report = build_index(VectorStore(store), embedder)
        assert report.chunks == 1
        # Searching later finds the endpoint from what the index recorded; the key from the environment.
        response = search(store, "refund order", mode="semantic")
        assert [r.id for r in response.results] == [7]
    finally:
        store.close()
    assert KEY.encode() not in (tmp_path / "remote.db").read_bytes()
    for suffix in ("-wal",):
        wal = tmp_path / f"remote.db{suffix}"
        assert not wal.exists() or KEY.encode() not in wal.read_bytes()
