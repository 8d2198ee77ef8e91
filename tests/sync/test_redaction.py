"""A redacted attachment leaves the copy: its bytes are deleted from the blob folder.

Zendesk's "Redact Comment Attachment" (api-reference.md) "permanently remove[s] attachments from
an existing comment ... the attachment is replaced with an empty 'redacted.txt' file", and a
redaction through the Agent Workspace can take an inline image out of the comment altogether.
Both reach the sync as the ticket's comments read again; the simulator has no redaction, so
this drives the engine with the pages Zendesk would send, on both backends.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from zensync.entities import (
    Deletion,
    SourcePage,
    ZendeskAttachmentEntity,
    ZendeskCommentEntity,
    ZendeskEntity,
    ZendeskTicketEntity,
)
from zensync.store import Store
from zensync.sync import SyncEngine
from zensync.zendesk.client import ClientStats, Download

BASE = "https://acme.zendesk.com"
SECRET = b"card number 4111 1111 1111 1111"
PHOTO = b"\x89PNG a photo of a passport"


class Files:
    """Bytes by content URL, downloaded as ZendeskClient.download does."""

    def __init__(self) -> None:
        self.stats = ClientStats()
        self.by_url: dict[str, bytes] = {}

    async def download(
        self,
        content_url: str,
        dest_dir: Path,
        *,
        max_bytes: int,
        allow_malware: bool = False,
        malware_scan_result: str | None = None,
        place: Callable[[str, str], str | os.PathLike[str]] | None = None,
    ) -> Download:
        data = self.by_url[content_url]
        sha = hashlib.sha256(data).hexdigest()
        fd, name = tempfile.mkstemp(dir=dest_dir, suffix=".part")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        assert place is not None
        return Download(sha256=sha, size=len(data), file=os.fspath(place(name, sha)))


class OneTicket:
    """Ticket 1 with one comment and its attachments, as Zendesk lists them right now."""

    def __init__(self, files: Files) -> None:
        self.files = files
        self.attachments: dict[int, tuple[str, bytes]] = {7: ("card.txt", SECRET), 8: ("passport.png", PHOTO)}
        self.deleted_attachments: list[int] = []

    async def generate_entities(self, cursor: dict[str, Any] | None) -> AsyncIterator[SourcePage]:
        ticket = ZendeskTicketEntity.from_api(
            {"id": 1, "subject": "Payment", "status": "open", "updated_at": "2024-01-01T00:00:00Z"},
            web_url=f"{BASE}/agent/tickets/1",
        )
        comment = ZendeskCommentEntity.from_api(
            {"id": 10, "body": "see files", "author_id": 1, "created_at": "2024-01-01T00:00:00Z"},
            ticket=ticket.breadcrumb(),
            ticket_id=1,
            web_url=ticket.web_url,
        )
        entities: list[ZendeskEntity] = [ticket, comment]
        for aid, (name, data) in self.attachments.items():
            url = f"{BASE}/attachments/token/t{aid}-{hashlib.sha256(data).hexdigest()[:8]}/?name={name}"
            self.files.by_url[url] = data
            raw = {"id": aid, "file_name": name, "content_url": url, "size": len(data)}
            entities.append(
                ZendeskAttachmentEntity.from_api(raw, comment=comment, ticket=ticket.breadcrumb())
            )
        deletions = [
            Deletion(entity_type="attachment", entity_id=f"attachment:{a}") for a in self.deleted_attachments
        ]
        yield SourcePage(stream="comments", entities=entities, deletions=deletions, cursor={"n": 1})


def blob_files(store: Store) -> set[bytes]:
    root = store.blob_dir
    assert root is not None
    return {p.read_bytes() for p in root.glob("??/*") if p.is_file()}


async def test_redacted_attachments_leave_the_store_and_the_blob_folder(store: Store) -> None:
    files = Files()
    source = OneTicket(files)
    engine = SyncEngine(store, source, "acme", client=files, download_attachments=True)
    await engine.run()
    assert blob_files(store) == {SECRET, PHOTO}

    # Redacted in place: the same attachment id, now an empty "redacted.txt".
    source.attachments[7] = ("redacted.txt", b"")
    report = await SyncEngine(store, source, "acme", client=files, download_attachments=True).run()
    assert report.counts["attachment"].updated == 1
    stored = store.get_entity("acme", "attachment", 7)
    assert stored is not None and getattr(stored, "file_name") == "redacted.txt"  # noqa: B009
    assert SECRET not in blob_files(store) and b"" in blob_files(store)

    # Taken out of the comment altogether (the source reports it gone).
    del source.attachments[8]
    source.deleted_attachments = [8]
    report = await SyncEngine(store, source, "acme", client=files, download_attachments=True).run()
    assert report.counts["attachment"].deleted == 1
    assert store.get_entity("acme", "attachment", 8) is None
    assert blob_files(store) == {b""}
