"""The sync engine with a deterministic in-process source, on both backends: full then
incremental runs, idempotent re-runs, upstream changes and deletions, resuming a failed or
cancelled run as the same run, locking, progress, reports and attachment files."""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from zensync_sync_fakes import FakeAccount, FakeDownloadClient, FakeSource, attachment_bytes

from zensync.entities import SourcePage, ZendeskUserEntity
from zensync.store import PageCounts, Store, StoreError, SyncAlreadyRunning
from zensync.sync import ENGINE_KEY, RunReport, SyncEngine

CID = "acme"


def expected_counts(account: FakeAccount) -> dict[str, int]:
    found: dict[str, int] = {"organization": 0, "user": 0, "ticket": 0, "comment": 0, "attachment": 0}
    for entity in account.all_entities():
        found[entity.entity_type] += 1
    return found


def expected_hashes(account: FakeAccount) -> dict[str, dict[tuple[str, int], str]]:
    found: dict[str, dict[tuple[str, int], str]] = {t: {} for t in expected_counts(account)}
    for entity in account.all_entities():
        found[entity.entity_type][(CID, entity.id)] = entity.content_hash()  # type: ignore[attr-defined]
    return found


async def test_first_run_is_full_then_incremental(store: Store) -> None:
    account = FakeAccount()
    source = FakeSource(account)
    report = await SyncEngine(store, source, CID).run()
    assert report.mode == "full"
    assert report.status == "succeeded"
    assert store.counts(CID) == expected_counts(account)
    assert report.counts.total("inserted") == sum(expected_counts(account).values())
    assert store.content_hashes(CID) == expected_hashes(account)
    assert ENGINE_KEY not in (store.get_cursor(CID) or {})

    again = await SyncEngine(store, source, CID).run()
    assert again.mode == "incremental"
    assert source.cursors_seen[-1] == {"since": 1, "stream": 0, "offset": 0}
    assert again.counts.changed == 0
    assert store.content_hashes(CID) == expected_hashes(account)


async def test_rerunning_a_finished_full_sync_changes_nothing(store: Store) -> None:
    account = FakeAccount()
    await SyncEngine(store, FakeSource(account), CID).run(full=True)
    before = store.content_hashes(CID)
    report = await SyncEngine(store, FakeSource(account), CID).run(full=True)
    assert report.counts.total("inserted") == 0
    assert report.counts.total("updated") == 0
    assert report.counts.total("deleted") == 0
    assert report.counts.total("unchanged") == sum(expected_counts(account).values())
    assert store.content_hashes(CID) == before


async def test_incremental_run_applies_changes_and_deletions(store: Store) -> None:
    await SyncEngine(store, FakeSource(FakeAccount()), CID).run()
    upstream = FakeAccount(version=2)
    report = await SyncEngine(store, FakeSource(upstream), CID).run()
    assert report.mode == "incremental"
    assert store.counts(CID) == expected_counts(upstream)
    assert store.content_hashes(CID) == expected_hashes(upstream)
    changed = [t for t in range(1, 31) if upstream.changed(t) and not upstream.deleted(t)]
    deleted = [t for t in range(1, 31) if upstream.deleted(t)]
    assert report.counts["ticket"].updated == len(changed)
    assert report.counts["ticket"].inserted == 1
    assert report.counts["ticket"].deleted == len(deleted)
    assert report.counts["comment"].deleted == len(deleted) * upstream.comments_per_ticket
    assert report.counts["organization"].updated == 1


async def test_full_reread_removes_objects_gone_upstream(store: Store) -> None:
    await SyncEngine(store, FakeSource(FakeAccount()), CID).run()
    upstream = FakeAccount(version=2, silent_deletes=True)
    incremental = await SyncEngine(store, FakeSource(upstream), CID).run()
    assert incremental.counts["ticket"].deleted == 0  # nobody said they were deleted
    assert store.counts(CID)["ticket"] > expected_counts(upstream)["ticket"]

    full = await SyncEngine(store, FakeSource(upstream), CID).run(full=True)
    gone = [t for t in range(1, 31) if upstream.deleted(t)]
    assert full.mode == "full"
    assert full.counts["ticket"].deleted == len(gone)
    assert full.counts["comment"].deleted == len(gone) * upstream.comments_per_ticket
    assert store.content_hashes(CID) == expected_hashes(upstream)


async def test_a_failed_run_is_resumed_as_the_same_run(store: Store) -> None:
    account = FakeAccount()
    broken = FakeSource(account, fail_after_pages=6)
    with pytest.raises(ConnectionError, match="network went away"):
        await SyncEngine(store, broken, CID).run()
    failed = store.latest_run(CID)
    assert failed is not None
    assert failed.status == "failed"
    assert failed.error == "ConnectionError: network went away"
    assert failed.report is not None and failed.report["pages"] == 6
    stored = store.get_cursor(CID)
    assert stored is not None and stored[ENGINE_KEY] == {"mode": "full", "run_id": failed.id}

    healthy = FakeSource(account)
    report = await SyncEngine(store, healthy, CID).run()
    assert report.run_id == failed.id
    assert report.resumed is True
    assert report.mode == "full"
    assert healthy.cursors_seen == [{k: v for k, v in stored.items() if k != ENGINE_KEY}]
    assert report.pages == broken.pages_emitted + healthy.pages_emitted
    # Counts were committed with each page: across both attempts they are exact.
    assert report.counts.total("inserted") == sum(expected_counts(account).values())
    assert store.content_hashes(CID) == expected_hashes(account)
    assert store.get_run(failed.id).status == "succeeded"  # type: ignore[union-attr]


async def test_an_interrupted_full_reread_resumes_as_full_and_still_sweeps(store: Store) -> None:
    await SyncEngine(store, FakeSource(FakeAccount()), CID).run()
    upstream = FakeAccount(version=2, silent_deletes=True)
    with pytest.raises(ConnectionError):
        await SyncEngine(store, FakeSource(upstream, fail_after_pages=9), CID).run(full=True)
    # Asked for a plain sync, the engine finishes the pending full re-read first.
    report = await SyncEngine(store, FakeSource(upstream), CID).run()
    assert report.mode == "full"
    assert report.resumed
    assert store.content_hashes(CID) == expected_hashes(upstream)


async def test_a_full_request_replaces_a_pending_incremental_run(store: Store) -> None:
    await SyncEngine(store, FakeSource(FakeAccount()), CID).run()
    upstream = FakeAccount(version=2)
    with pytest.raises(ConnectionError):
        await SyncEngine(store, FakeSource(upstream, fail_after_pages=1), CID).run()
    pending = store.latest_run(CID)
    assert pending is not None and pending.mode == "incremental"
    report = await SyncEngine(store, FakeSource(upstream), CID).run(full=True)
    assert report.mode == "full"
    assert report.run_id != pending.id
    assert store.content_hashes(CID) == expected_hashes(upstream)


async def test_cancelled_run_is_interrupted_then_resumed(store: Store) -> None:
    account = FakeAccount()
    first_page = asyncio.Event()
    engine = SyncEngine(store, FakeSource(account, delay=0.02), CID, progress=lambda *_: first_page.set())
    task = asyncio.create_task(engine.run())
    await first_page.wait()
    run = store.latest_run(CID)
    assert run is not None
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    interrupted = store.get_run(run.id)
    assert interrupted is not None and interrupted.status == "interrupted"
    report = await SyncEngine(store, FakeSource(account), CID).run()
    assert report.run_id == run.id
    assert store.content_hashes(CID) == expected_hashes(account)


async def test_a_second_sync_of_the_same_connection_is_refused(store: Store) -> None:
    account = FakeAccount()
    first_page = asyncio.Event()
    first = asyncio.create_task(
        SyncEngine(store, FakeSource(account, delay=0.02), CID, progress=lambda *_: first_page.set()).run()
    )
    await first_page.wait()
    with pytest.raises(SyncAlreadyRunning, match="A sync of connection 'acme' is already running"):
        await SyncEngine(store, FakeSource(account), CID).run()
    other = await SyncEngine(store, FakeSource(FakeAccount(tickets=3)), "other").run()
    assert other.status == "succeeded"
    report = await first
    assert report.status == "succeeded"
    assert store.counts(CID) == expected_counts(account)


async def test_progress_and_report(store: Store) -> None:
    calls: list[tuple[str, int]] = []

    def progress(stream: str, counts: PageCounts) -> None:
        calls.append((stream, counts.total("seen")))

    account = FakeAccount()
    report = await SyncEngine(store, FakeSource(account), CID, progress=progress).run()
    assert [s for s, _ in calls][:1] == ["organizations"]
    assert [n for _, n in calls] == sorted(n for _, n in calls)
    assert calls[-1][1] == sum(expected_counts(account).values())
    assert len(calls) == report.pages

    stored = store.get_run(report.run_id)
    assert stored is not None and stored.report == report.to_dict()
    assert RunReport.from_dict(json.loads(json.dumps(report.to_dict()))).to_dict() == report.to_dict()
    assert report.to_dict()["totals"]["inserted"] == sum(expected_counts(account).values())

    console = Console(file=io.StringIO(), width=120, record=True)
    console.print(report.render())
    text = console.export_text()
    assert "Full sync" in text and "succeeded" in text
    assert "tickets" in text and str(expected_counts(account)["ticket"]) in text
    assert f"{report.pages} pages" in text
    assert report.summary().startswith(f"full sync #{report.run_id} of acme succeeded")


async def test_attachment_files_are_downloaded_once(store: Store) -> None:
    account = FakeAccount()
    client = FakeDownloadClient(missing={3000})
    report = await SyncEngine(store, FakeSource(account), CID, client=client, download_attachments=True).run()
    attachments = [e for e in account.all_entities() if e.entity_type == "attachment"]
    flagged = [a for a in attachments if a.malware_scan_result == "malware_found"]  # type: ignore[attr-defined]
    assert flagged and report.attachments.skipped_malware == len(flagged)
    assert report.attachments.failed == 1
    assert report.attachments.downloaded == len(attachments) - len(flagged) - 1
    assert report.requests_by_bucket == {"attachments-download": len(attachments) - len(flagged)}
    files = store.attachment_files(CID, [a.id for a in attachments])  # type: ignore[attr-defined]
    assert len(files) == report.attachments.downloaded
    for aid, sha in files.items():
        data = store.blob_path(sha).read_bytes()
        assert data == attachment_bytes(aid)
        assert hashlib.sha256(data).hexdigest() == sha

    client.missing.clear()
    client.downloads.clear()
    again = await SyncEngine(store, FakeSource(account), CID, client=client, download_attachments=True).run(
        full=True
    )
    assert client.downloads == ["https://acme.zendesk.com/attachments/token/tok3000/?name=file3000.txt"]
    # the file that failed is tried again first (recorded as failed), then met again by the
    # full read, stored by then like the others
    assert again.attachments.retried == 1
    assert again.attachments.reused == len(files) + 1
    assert again.attachments.downloaded == 1
    assert again.counts["attachment"].updated == 1  # the file that failed before is now linked
    # every other attachment unchanged (that one is counted once, when it was tried again)
    assert again.counts["attachment"].unchanged == len(attachments) - 1


async def test_download_settings_are_checked_first(store: Store, store_url: str) -> None:
    with pytest.raises(ValueError, match="needs the Zendesk client"):
        SyncEngine(store, FakeSource(FakeAccount()), CID, download_attachments=True)
    if store.dialect == "postgresql":
        bare = Store.open(store_url)  # no blob folder
        try:
            engine = SyncEngine(
                bare, FakeSource(FakeAccount()), CID, client=FakeDownloadClient(), download_attachments=True
            )
            with pytest.raises(StoreError, match="blob_dir"):
                await engine.run()
            assert bare.latest_run(CID) is None
        finally:
            bare.close()


class SnapshotUsers:
    """A source whose users stream is a complete listing each time (no deletion events)."""

    def __init__(self, ids: list[int]) -> None:
        self.ids = ids

    async def generate_entities(self, cursor: dict[str, Any] | None) -> AsyncIterator[SourcePage]:
        users = [ZendeskUserEntity.from_api({"id": i, "name": f"U{i}"}) for i in self.ids]
        yield SourcePage(stream="users", entities=users[:2], cursor={"at": 1})
        yield SourcePage(stream="users", entities=users[2:], cursor={"at": 2}, complete_snapshot=True)


async def test_complete_snapshot_removes_unlisted_objects_in_incremental_runs(store: Store) -> None:
    await SyncEngine(store, SnapshotUsers([1, 2, 3, 4]), CID).run()
    report = await SyncEngine(store, SnapshotUsers([1, 3, 4]), CID).run()
    assert report.mode == "incremental"
    assert report.counts["user"].deleted == 1
    assert store.counts(CID)["user"] == 3


def test_report_render_without_runs(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    report = RunReport(
        run_id=1, connection_id="x", mode="full", status="failed", started_at=datetime.now(UTC), error="boom"
    )
    console = Console(file=io.StringIO(), width=100, record=True)
    console.print(report.render())
    assert "error: boom" in console.export_text()


async def test_the_next_page_is_asked_for_only_once_there_is_room_for_it(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Memory flat with size: a page that fills the read-ahead budget is stored before the
    source is asked for the next one, instead of the next one being read and held beside it
    while it is stored."""
    # the module (``zensync.sync`` the attribute is the library's sync function)
    monkeypatch.setattr(importlib.import_module("zensync.sync.engine"), "MAX_AHEAD_ENTITIES", 2)
    events: list[str] = []

    class HeavyPages:
        async def generate_entities(self, cursor: dict[str, Any] | None = None) -> AsyncIterator[SourcePage]:
            for n in range(1, 5):
                events.append(f"read {n}")
                users = [
                    ZendeskUserEntity.from_api({"id": n * 10 + i, "name": f"User {n}.{i}"}) for i in range(3)
                ]
                yield SourcePage(stream="users", entities=users, cursor={"page": n})
            events.append("end")

    apply_page = store.apply_page

    def recorded(connection_id: str, page: SourcePage, *args: Any, **kwargs: Any) -> PageCounts:
        counts = apply_page(connection_id, page, *args, **kwargs)
        if page.entities:
            events.append(f"stored {page.cursor['page']}")
        return counts

    monkeypatch.setattr(store, "apply_page", recorded)
    report = await SyncEngine(store, HeavyPages(), CID).run()  # type: ignore[arg-type]
    assert report.status == "succeeded" and store.counts(CID)["user"] == 12
    assert events == [
        "read 1",
        "stored 1",
        "read 2",
        "stored 2",
        "read 3",
        "stored 3",
        "read 4",
        "stored 4",
        "end",
    ]
