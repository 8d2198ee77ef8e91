"""An OpenAI-compatible embeddings endpoint (OpenAI, Ollama, vLLM, LiteLLM …) as an Embedder.

``POST {url}/embeddings`` with ``{"model": …, "input": [texts]}`` and a bearer key read from
the environment (``ZENSYNC_EMBEDDING_API_KEY``): the key is never stored, logged or recorded
with the index (the index records the URL and model name only). Vectors are normalised here,
since not every server does. The dimension is learnt from a first request.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from urllib.parse import urlsplit

import httpx
import numpy as np

from zensync.embeddings.base import EmbeddingError

BATCH_SIZE = 64
TIMEOUT_SECONDS = 60.0


class RemoteEmbedder:
    def __init__(
        self,
        url: str,
        *,
        model: str | None = None,
        api_key: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise EmbeddingError(
                f"--embedding-url {url!r} is not an http(s) URL; give the API's base, e.g. "
                "http://localhost:11434/v1 (Ollama) or https://api.openai.com/v1."
            )
        if parts.username or parts.password:
            raise EmbeddingError(
                "Put no credentials in --embedding-url: set ZENSYNC_EMBEDDING_API_KEY instead."
            )
        base = url.strip().rstrip("/")
        self.url = base
        self._endpoint = base if base.endswith("/embeddings") else base + "/embeddings"
        self.model = model or "text-embedding-3-small"
        self.name = self.model
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=TIMEOUT_SECONDS, headers=headers, transport=transport)
        probe = self._request(["dimension probe"])
        self.dimension = int(probe.shape[1])
        origin = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        tag = hashlib.sha256(origin.encode()).hexdigest()[:12]
        self.fingerprint = f"remote:{self.model}:{self.dimension}:{tag}"

    def __repr__(self) -> str:  # never the key
        return f"RemoteEmbedder({self.url!r}, model={self.model!r})"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        parts = [self._request(list(texts[i : i + BATCH_SIZE])) for i in range(0, len(texts), BATCH_SIZE)]
        if not parts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        matrix = np.concatenate(parts)
        if matrix.shape[1] != self.dimension:
            raise EmbeddingError(
                f"{self._endpoint} answered with {matrix.shape[1]} dimensions, earlier with {self.dimension}."
            )
        return matrix

    def _request(self, texts: list[str]) -> np.ndarray:
        payload = {"model": self.model, "input": [t if t.strip() else " " for t in texts]}
        try:
            response = self._client.post(self._endpoint, json=payload)
        except httpx.HTTPError as exc:
            raise EmbeddingError(f"Cannot reach the embeddings endpoint {self._endpoint}: {exc}") from None
        if response.status_code in (401, 403):
            raise EmbeddingError(
                f"{self._endpoint} refused the key (HTTP {response.status_code}): set "
                "ZENSYNC_EMBEDDING_API_KEY to a valid key."
            )
        if response.status_code >= 400:
            detail = response.text[:200].replace("\n", " ")
            raise EmbeddingError(f"{self._endpoint} answered HTTP {response.status_code}: {detail}")
        try:
            items = sorted(response.json()["data"], key=lambda d: d.get("index", 0))
            matrix = np.asarray([item["embedding"] for item in items], dtype=np.float32)
        except (ValueError, KeyError, TypeError) as exc:
            raise EmbeddingError(
                f"{self._endpoint} did not answer like an OpenAI embeddings API ({exc!r})."
            ) from None
        if matrix.ndim != 2 or matrix.shape[0] != len(texts):
            raise EmbeddingError(
                f"{self._endpoint} returned {matrix.shape[0]} vectors for {len(texts)} texts."
            )
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return matrix / np.maximum(norms, 1e-12)
