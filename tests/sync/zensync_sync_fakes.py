"""A deterministic in-memory account and source for engine tests, plus a download client.

``FakeSource`` behaves like ``ZendeskSource`` where the engine can tell: streams in order
(organizations, users, tickets, comments), pages with a resumable JSON cursor, a second run
from the final cursor yields only what changed since, deletions travel with the stream, and
re-emitting is allowed. ``version=2`` of an account changes some objects, deletes some (with
deletion events, or silently with ``silent_deletes``) and adds one, as an upstream account
does between two syncs.

Used by the tests in-process and by ``sync_runner.py`` in a subprocess that the kill -9 test
kills. Not a stub of the real source: integration tests run the engine against the simulator.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zensync.entities import (
    Deletion,
    SourcePage,
    ZendeskAttachmentEntity,
    ZendeskCommentEntity,
    ZendeskEntity,
    ZendeskOrganizationEntity,
    ZendeskTicketEntity,
    ZendeskUserEntity,
)
from zensync.zendesk.client import ClientStats, Download
from zensync.zendesk.errors import MalwareDetected, NotFound

STREAMS = ("organizations", "users", "tickets", "comments")
BASE = "https://acme.zendesk.com"


@dataclass
class FakeAccount:
    organizations: int = 4
    users: int = 12
    tickets: int = 30
    comments_per_ticket: int = 2
    version: int = 1
    silent_deletes: bool = False

    def changed(self, tid: int) -> bool:
        return self.version >= 2 and tid % 5 == 0

    def deleted(self, tid: int) -> bool:
        return self.version >= 2 and tid % 7 == 0

    def ticket_ids(self) -> list[int]:
        ids = [t for t in range(1, self.tickets + 1) if not self.deleted(t)]
        if self.version >= 2:
            ids.append(self.tickets + 1)  # a new ticket
        return ids

    def seq(self, tid: int) -> int:
        return 2 if self.changed(tid) or tid > self.tickets else 1

    def organization(self, oid: int) -> ZendeskOrganizationEntity:
        name = f"Org {oid}" + (" (renamed)" if self.version >= 2 and oid == 1 else "")
        return ZendeskOrganizationEntity.from_api(
            {"id": oid, "name": name, "domain_names": [f"org{oid}.example"]},
            web_url=f"{BASE}/agent/organizations/{oid}",
        )

    def user(self, uid: int) -> ZendeskUserEntity:
        oid = uid % self.organizations + 1
        return ZendeskUserEntity.from_api(
            {
                "id": 100 + uid,
                "name": f"User {uid}",
                "email": f"user{uid}@example.com",
                "organization_id": oid,
            },
            web_url=f"{BASE}/agent/users/{100 + uid}",
            organization_name=f"Org {oid}",
        )

    def ticket(self, tid: int) -> ZendeskTicketEntity:
        subject = f"Ticket {tid}: printer trouble" + (" (escalated)" if self.changed(tid) else "")
        return ZendeskTicketEntity.from_api(
            {
                "id": tid,
                "subject": subject,
                "description": f"Details of ticket {tid}",
                "status": "open" if tid % 3 else "pending",
                "requester_id": 100 + tid % self.users + 1,
                "created_at": "2024-01-01T00:00:00Z",
                "updated_at": f"2024-0{self.seq(tid)}-02T00:00:00Z",
            },
            web_url=f"{BASE}/agent/tickets/{tid}",
            requester_name=f"User {tid % self.users + 1}",
        )

    def comments(self, tid: int) -> list[ZendeskEntity]:
        ticket = self.ticket(tid)
        out: list[ZendeskEntity] = []
        for n in range(self.comments_per_ticket):
            cid = tid * 100 + n
            comment = ZendeskCommentEntity.from_api(
                {
                    "id": cid,
                    "body": f"Reply {n} on ticket {tid}",
                    "author_id": 101,
                    "created_at": "2024-01-01T00:00:00Z",
                },
                ticket=ticket.breadcrumb(),
                ticket_id=tid,
                web_url=ticket.web_url,
                author_name="User 1",
            )
            out.append(comment)
            if cid % 3 == 0:
                aid = cid * 10
                out.append(
                    ZendeskAttachmentEntity.from_api(
                        {
                            "id": aid,
                            "file_name": f"file{aid}.txt",
                            "content_url": f"{BASE}/attachments/token/tok{aid}/?name=file{aid}.txt",
                            "content_type": "text/plain",
                            "size": len(attachment_bytes(aid)),
                            "malware_scan_result": "malware_found" if aid % 7 == 0 else "malware_not_found",
                        },
                        comment=comment,
                        ticket=ticket.breadcrumb(),
                    )
                )
        return out

    def stream_items(self, stream: str, since: int) -> tuple[list[ZendeskEntity], list[Deletion]]:
        if stream == "organizations":
            return [
                self.organization(o)
                for o in range(1, self.organizations + 1)
                if (2 if self.version >= 2 and o == 1 else 1) > since
            ], []
        if stream == "users":
            return ([self.user(u) for u in range(1, self.users + 1)] if since < 1 else []), []
        if stream == "tickets":
            entities: list[ZendeskEntity] = [self.ticket(t) for t in self.ticket_ids() if self.seq(t) > since]
            deletions = []
            if self.version >= 2 and since < 2 and not self.silent_deletes:
                deletions = [
                    Deletion(entity_type="ticket", entity_id=f"ticket:{t}")
                    for t in range(1, self.tickets + 1)
                    if self.deleted(t)
                ]
            return entities, deletions
        comments: list[ZendeskEntity] = []
        for t in self.ticket_ids():
            if self.seq(t) > since:
                comments.extend(self.comments(t))
        return comments, []

    def all_entities(self) -> list[ZendeskEntity]:
        out: list[ZendeskEntity] = []
        for stream in STREAMS:
            out.extend(self.stream_items(stream, 0)[0])
        return out


def attachment_bytes(aid: int) -> bytes:
    return f"bytes of attachment {aid}\n".encode() * (1 + aid % 4)


@dataclass
class FakeSource:
    """Pages of ``page_size`` items; cursor = {since, stream, offset}."""

    account: FakeAccount
    page_size: int = 10
    delay: float = 0.0
    fail_after_pages: int | None = None
    pages_emitted: int = 0
    cursors_seen: list[dict[str, Any] | None] = field(default_factory=list)

    async def generate_entities(self, cursor: dict[str, Any] | None = None) -> AsyncIterator[SourcePage]:
        self.cursors_seen.append(cursor)
        cursor = dict(cursor or {})
        since = int(cursor.get("since", 0))
        start_stream = int(cursor.get("stream", 0))
        offset = int(cursor.get("offset", 0))
        high = 2 if self.account.version >= 2 else 1
        for index in range(start_stream, len(STREAMS)):
            stream = STREAMS[index]
            items, deletions = self.account.stream_items(stream, since)
            position = offset if index == start_stream else 0
            while True:
                chunk = items[position : position + self.page_size]
                position += len(chunk)
                last_of_stream = position >= len(items)
                if last_of_stream:
                    following = {"since": since, "stream": index + 1, "offset": 0}
                    if index == len(STREAMS) - 1:
                        following = {"since": high, "stream": 0, "offset": 0}
                else:
                    following = {"since": since, "stream": index, "offset": position}
                if self.fail_after_pages is not None and self.pages_emitted >= self.fail_after_pages:
                    raise ConnectionError("network went away")
                if self.delay:
                    await asyncio.sleep(self.delay)
                self.pages_emitted += 1
                yield SourcePage(
                    stream=stream,
                    entities=chunk,
                    deletions=deletions if last_of_stream else [],
                    cursor=following,
                )
                if last_of_stream:
                    break


class FakeDownloadClient:
    """Serves ``attachment_bytes`` for the fake content URLs, like ZendeskClient.download."""

    def __init__(self, missing: set[int] | None = None) -> None:
        self.stats = ClientStats()
        self.downloads: list[str] = []
        self.missing = missing or set()

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
        if malware_scan_result == "malware_found" and not allow_malware:
            raise MalwareDetected("flagged")
        self.stats.requests_by_bucket["attachments-download"] = (
            self.stats.requests_by_bucket.get("attachments-download", 0) + 1
        )
        aid = int(content_url.split("/token/tok", 1)[1].split("/", 1)[0])
        if aid in self.missing:
            raise NotFound("gone", status=404)
        self.downloads.append(content_url)
        data = attachment_bytes(aid)
        sha = hashlib.sha256(data).hexdigest()
        fd, name = tempfile.mkstemp(dir=dest_dir, suffix=".part")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        path = place(name, sha) if place is not None else Path(name).replace(Path(dest_dir) / sha)  # noqa: ASYNC240
        await asyncio.sleep(0)
        return Download(sha256=sha, size=len(data), file=os.fspath(path))
