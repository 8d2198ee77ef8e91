"""Building the vectors: embed what is new or changed since the last index, and nothing else.

The index is driven by the store, not by a sync: it compares each ticket's, comment's and
attachment's content hash with the one its vectors were made from, re-embeds only when the
text itself changed (a status change moves the recorded hash on without embedding), and
writes each batch in one transaction that first checks the rows are still as read. So it can
run beside a sync, after it (``zensync index``), or be killed at any point: the next run
picks up exactly what is missing or stale, and deleted rows take their vectors with them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from zensync.embeddings import Embedder, chunk_text, entity_text
from zensync.embeddings.chunking import text_hash
from zensync.store.vectors import EMBEDDED_TYPES, NewChunk, PendingEntity, VectorStore

log = logging.getLogger(__name__)

# Chunks embedded and written together: bounds the memory of a batch and the length of a
# write transaction (a sync's page commit waits at most about one batch).
BATCH_CHUNKS = 128

ProgressCallback = Callable[[int, int], None]  # (entities done, entities to do)


@dataclass
class IndexReport:
    entities: int = 0  # entities looked at (new or changed content)
    embedded: int = 0  # entities whose text was embedded
    unchanged_text: int = 0  # content changed but not the text: no embedding needed
    chunks: int = 0  # chunks embedded
    skipped: int = 0  # changed or deleted while being embedded: taken up by the next run
    seconds: float = 0.0
    model: str = ""
    by_type: dict[str, int] = field(default_factory=dict)

    @property
    def chunks_per_second(self) -> float:
        return self.chunks / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["chunks_per_second"] = round(self.chunks_per_second, 1)
        return data

    def line(self) -> str:
        """The run report's line."""
        if not self.entities:
            return f"Embeddings ({self.model}): up to date, nothing to embed."
        text = (
            f"Embeddings ({self.model}): {self.embedded:,} entities embedded as {self.chunks:,} chunks "
            f"in {self.seconds:.1f} s ({self.chunks_per_second:,.0f} chunks/s)"
        )
        if self.unchanged_text:
            text += f"; {self.unchanged_text:,} changed without new text"
        if self.skipped:
            text += f"; {self.skipped:,} changed meanwhile (next run)"
        return text + "."


def embedder_spec(embedder: Embedder) -> dict[str, Any]:
    """How to load this embedder again (recorded with the index; never a key)."""
    folder = getattr(embedder, "folder", None)
    url = getattr(embedder, "url", None)
    if url is not None:
        return {"kind": "url", "url": url, "model": getattr(embedder, "model", None)}
    if folder is not None and embedder.name != "all-MiniLM-L6-v2":
        return {"kind": "dir", "path": str(folder)}
    return {"kind": "default"}


def build_index(
    vectors: VectorStore,
    embedder: Embedder,
    *,
    connection_id: str | None = None,
    rebuild: bool = False,
    progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> IndexReport:
    """Embed every ticket, comment and attachment name whose vectors are missing or stale."""
    started = time.monotonic()
    vectors.prepare(
        embedder.fingerprint, embedder.dimension, embedder.name, embedder_spec(embedder), rebuild=rebuild
    )
    report = IndexReport(model=embedder.name)
    total = vectors.count_pending(connection_id)
    if progress is not None:
        progress(0, total)
    pending: list[tuple[PendingEntity, str, list[str] | None]] = []
    pending_chunks = 0

    def flush() -> None:
        nonlocal pending, pending_chunks
        if not pending:
            return
        texts = [t for _, _, chunks in pending if chunks for t in chunks]
        matrix = _embed_unique(embedder, texts) if texts else np.zeros((0, embedder.dimension), np.float32)
        entries: list[tuple[PendingEntity, str, list[NewChunk] | None]] = []
        row = 0
        for entity, digest, chunks in pending:
            if chunks is None:
                entries.append((entity, digest, None))
                continue
            made = [NewChunk(position=i, text=t, vector=matrix[row + i]) for i, t in enumerate(chunks)]
            row += len(chunks)
            entries.append((entity, digest, made))
        written = vectors.write(embedder.fingerprint, entries)
        report.skipped += len(entries) - written
        report.entities += len(entries)
        for entity, _, chunks in pending:
            if chunks is None:
                report.unchanged_text += 1
            else:
                report.embedded += 1
                report.chunks += len(chunks)
                report.by_type[entity.entity_type] = report.by_type.get(entity.entity_type, 0) + 1
        pending, pending_chunks = [], 0
        if progress is not None:
            progress(report.entities, total)

    for entity_type in EMBEDDED_TYPES:
        for batch in vectors.iter_pending(entity_type, connection_id=connection_id):
            for entity in batch:
                text = entity_text(entity.entity_type, entity.data, entity.name)
                digest = text_hash(text)
                if entity.embedded_text_hash == digest:
                    pending.append((entity, digest, None))
                    continue
                chunks = [c.text for c in chunk_text(text)]
                pending.append((entity, digest, chunks))
                pending_chunks += len(chunks)
                if pending_chunks >= BATCH_CHUNKS:
                    flush()
                    if should_stop is not None and should_stop():
                        report.seconds = time.monotonic() - started
                        return report
            flush()
    flush()
    report.seconds = time.monotonic() - started
    return report


def _embed_unique(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """Embed each distinct text once (attachment names and short replies repeat a lot)."""
    index: dict[str, int] = {}
    unique: list[str] = []
    for text in texts:
        if text not in index:
            index[text] = len(unique)
            unique.append(text)
    matrix = embedder.embed(unique)
    if matrix.shape != (len(unique), embedder.dimension):
        raise ValueError(
            f"The embedder returned {matrix.shape} for {len(unique)} texts "
            f"of {embedder.dimension} dimensions."
        )
    return matrix[[index[t] for t in texts]]


def refresh_index(
    vectors: VectorStore,
    *,
    connection_id: str | None = None,
    embedder: Embedder | None = None,
    progress: ProgressCallback | None = None,
) -> IndexReport | None:
    """After a sync: embed what it changed, with the model the index was built with.

    None when the copy has never been indexed (``zensync index`` builds the first index).
    Raises :class:`~zensync.store.vectors.VectorsUnavailable` on a server without pgvector,
    :class:`~zensync.embeddings.EmbeddingError` when the index's model cannot be loaded, and
    :class:`~zensync.search.IndexModelMismatch` when ``embedder`` is not the index's model.
    """
    from zensync.search import resolve_embedder
    from zensync.store.vectors import VectorsUnavailable

    info = vectors.info()
    if info is None:
        return None
    reason = vectors.supported()
    if reason is not None:
        raise VectorsUnavailable(reason)
    chosen = resolve_embedder(info, embedder)
    return build_index(vectors, chosen, connection_id=connection_id, progress=progress)
