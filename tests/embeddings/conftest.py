from __future__ import annotations

import pytest

from zensync.embeddings import Embedder, load_embedder


@pytest.fixture(scope="session")
def minilm() -> Embedder:
    """The default model, loaded once for the whole test session."""
    return load_embedder()
