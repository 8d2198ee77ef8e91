"""What is embedded: the text of each ticket, comment and attachment, cut into chunks.

A ticket is its subject and description, a comment its plain body, an attachment its file
name. Long texts are cut into windows of ``CHUNK_WORDS`` words overlapping by ``OVERLAP_WORDS``,
so a passage that straddles a cut is whole in one of the two chunks, and every chunk fits the
model's input (256 word pieces for MiniLM: ~160 words of support text stay inside it).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

CHUNK_WORDS = 160
OVERLAP_WORDS = 32
# Embedded types, in the order an index visits them.
EMBEDDED_TYPES = ("ticket", "comment", "attachment")

_SPACE_RE = re.compile(r"\s+")


@dataclass(frozen=True)
class Chunk:
    position: int
    text: str


def entity_text(entity_type: str, data: dict[str, Any], name: str = "") -> str:
    """The text embedded for a stored entity (its JSON ``data``); '' when there is none."""
    if entity_type == "ticket":
        parts = [data.get("subject") or name or "", data.get("description") or ""]
    elif entity_type == "comment":
        parts = [data.get("plain_body") or data.get("body") or ""]
    elif entity_type == "attachment":
        parts = [data.get("file_name") or name or ""]
    else:
        return ""
    return "\n".join(p.strip() for p in parts if p and p.strip())


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chunk_text(text: str, *, words: int = CHUNK_WORDS, overlap: int = OVERLAP_WORDS) -> list[Chunk]:
    """Overlapping windows of at most ``words`` words; none for empty text."""
    if overlap >= words:
        raise ValueError("The overlap must be smaller than the chunk.")
    tokens = _SPACE_RE.split(text.strip())
    if not tokens or tokens == [""]:
        return []
    if len(tokens) <= words:
        return [Chunk(0, " ".join(tokens))]
    chunks: list[Chunk] = []
    step = words - overlap
    for position, start in enumerate(range(0, len(tokens), step)):
        chunks.append(Chunk(position, " ".join(tokens[start : start + words])))
        if start + words >= len(tokens):
            break
    return chunks
