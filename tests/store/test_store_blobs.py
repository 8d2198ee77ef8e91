"""Attachment files: stored by content hash only, moved in atomically, pruned when unreferenced."""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from pathlib import Path

import pytest

from zensync.entities import SourcePage, ZendeskAttachmentEntity, ZendeskCommentEntity, ZendeskTicketEntity
from zensync.store import Store


def _download(store: Store, content: bytes) -> tuple[str, os.PathLike[str]]:
    fd, name = tempfile.mkstemp(dir=store.blob_temp_folder())
    with os.fdopen(fd, "wb") as out:
        out.write(content)
    return hashlib.sha256(content).hexdigest(), Path(name)


def test_put_blob_files_by_hash(store: Store) -> None:
    sha, tmp = _download(store, b"%PDF-1.7 invoice")
    final = store.put_blob(tmp, sha)  # type: ignore[arg-type]
    assert final == store.blob_path(sha)
    assert final.parent.name == sha[:2]
    assert final.read_bytes() == b"%PDF-1.7 invoice"
    assert store.has_blob(sha)
    assert not os.path.exists(tmp)
    # The same bytes again: kept once, the new temporary file dropped.
    sha2, tmp2 = _download(store, b"%PDF-1.7 invoice")
    assert store.put_blob(tmp2, sha2) == final  # type: ignore[arg-type]
    assert not os.path.exists(tmp2)


@pytest.mark.parametrize("bad", ["../../etc/passwd", "A" * 64, "abc", "g" * 64, "../" + "a" * 61])
def test_paths_come_only_from_a_real_hash(store: Store, bad: str) -> None:
    with pytest.raises(ValueError, match="Not a SHA-256 hex digest"):
        store.blob_path(bad)


def test_prune_removes_only_old_unreferenced_files(store: Store) -> None:
    ticket = ZendeskTicketEntity.from_api({"id": 1, "subject": "x"})
    comment = ZendeskCommentEntity.from_api({"id": 2, "body": "y"}, ticket=ticket.breadcrumb(), ticket_id=1)
    kept_sha, tmp = _download(store, b"kept")
    store.put_blob(tmp, kept_sha)  # type: ignore[arg-type]
    orphan_sha, tmp = _download(store, b"orphan")
    store.put_blob(tmp, orphan_sha)  # type: ignore[arg-type]
    young_sha, tmp = _download(store, b"young orphan")
    store.put_blob(tmp, young_sha)  # type: ignore[arg-type]
    attachment = ZendeskAttachmentEntity.from_api(
        {"id": 3, "file_name": "k.txt"}, comment=comment, ticket=ticket.breadcrumb()
    )
    attachment.content_sha256 = kept_sha
    store.apply_page("acme", SourcePage(stream="comments", entities=[ticket, comment, attachment]), None)
    old = time.time() - 7200
    for sha in (kept_sha, orphan_sha):
        os.utime(store.blob_path(sha), (old, old))
    assert store.prune_blobs() == 1
    assert store.has_blob(kept_sha)
    assert not store.has_blob(orphan_sha)
    assert store.has_blob(young_sha)  # may belong to a page not committed yet
