"""The ``Embedder`` interface every vector source implements, and its error."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np


class EmbeddingError(Exception):
    """A model or endpoint cannot be used; the message says how to fix it."""


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit-length vectors of ``dimension`` floats.

    ``fingerprint`` names the model precisely enough that two embedders giving the same
    fingerprint give comparable vectors: an index records it, and a query with another
    model is refused (``zensync index --rebuild``).
    """

    name: str
    dimension: int
    fingerprint: str

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dimension) float32, each row of unit length, in the order given."""
        ...
