"""The sync engine: pages from a source → (attachment bytes) → one store transaction each.

A run is *full* (read everything from cursor None, then remove what was not seen) or
*incremental* (continue from the stored cursor). The first run of a connection is full.

Crash safety rests on one rule: a page's entities, deletions, cursor and run progress are
committed together (``Store.apply_page``). The engine keeps its own state — mode and run
id — in the stored cursor under ``ENGINE_KEY``, so a run killed at any instant (kill -9
included) is resumed by the next ``run()`` as the same run: same mode, same run id (rows
already seen keep counting as seen, so a full run's final sweep stays correct), continuing
after the last committed page. The result equals an uninterrupted run's.

While a page is being stored, the next ones are already being fetched, up to a budget of
entities, their estimated bytes in memory and attachment bytes (``MAX_AHEAD_ENTITIES``,
``MAX_AHEAD_MEMORY``, ``MAX_AHEAD_BYTES``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from zensync.entities import ENTITY_TYPES, Deletion, EntityType, SourcePage, ZendeskAttachmentEntity
from zensync.readahead import Budget, page_weight
from zensync.store import PageCounts, Store, StoreError
from zensync.sync.report import MAX_LISTED, AttachmentCounts, RunReport
from zensync.zendesk import errors as zerrors

log = logging.getLogger(__name__)

ENGINE_KEY = "zensync_engine"
DEFAULT_MAX_ATTACHMENT_BYTES = 100 * 1024 * 1024
# Which stored entity types a source stream fills: a complete snapshot of the stream may
# remove stored objects of these types that it did not contain.
STREAM_TYPES: dict[str, tuple[EntityType, ...]] = {
    "organizations": ("organization",),
    "users": ("user",),
    "tickets": ("ticket",),
    "comments": ("comment", "attachment"),
}

# What may be read ahead of the page being stored (its attachments download meanwhile): a
# budget of entities, of their estimated bytes in memory and of attachment bytes still to
# download, not of pages, because a page may hold ten entities or a thousand tickets with
# their sideloads (about 8 MB). The page being stored counts until it is stored. One page is
# always let through, however large, and the next page is asked for only once there is room:
# a ticket page is stored alone, and the source reads the next one meanwhile. Halving these
# (16 -> 8 MB, 3,000 -> 2,000 entities) took the 10,000-ticket peak RSS from 178 to 168 MB
# with no slower time ÷ bound; a quarter of that again (with the source's READ_AHEAD) took a
# 30,000-ticket sync from 148 to 136 MB, in the same time (bench/README.md, "Memory, flat").
MAX_AHEAD_ENTITIES = 500
MAX_AHEAD_MEMORY = 2 * 1024 * 1024
MAX_AHEAD_BYTES = 64 * 1024 * 1024

ProgressCallback = Callable[[str, PageCounts], None]

# Attachments recorded as failed in earlier runs that one run tries again (fewest attempts
# first), each with a fresh link from Zendesk.
RETRY_FAILED_DOWNLOADS = 1000


@dataclass
class _Downloaded:
    """What became of one page's attachment downloads."""

    counts: AttachmentCounts
    # attachment id → why its bytes could not be downloaded (recorded in the store)
    failures: dict[int, str]
    listed: list[dict[str, Any]]  # the same, for the run report


@dataclass
class _Staged:
    """A page read from the source, with the task downloading its attachments (if any)."""

    page: SourcePage | None
    downloads: asyncio.Task[_Downloaded] | None
    weight: tuple[int, int, int] = (0, 0, 0)  # what it holds of the read-ahead budget
    stored: asyncio.Event | None = None  # set once the page is stored


class Source(Protocol):
    """What the engine reads. A source may also offer ``reread_attachments(stored)`` →
    ``(attachments, deletions)``: fresh links for downloads that failed in earlier runs
    (:meth:`zensync.source.ZendeskSource.reread_attachments`); without it they are retried
    with the link stored."""

    def generate_entities(self, cursor: dict[str, Any] | None) -> AsyncIterator[SourcePage]: ...


class DownloadClient(Protocol):
    """The part of ``ZendeskClient`` the engine uses: ``download`` writes the bytes to a
    temporary file in ``dest_dir``, hands it to ``place(file, sha256)`` and returns an object
    with ``sha256``, ``size`` and ``file``."""

    async def download(
        self,
        content_url: str,
        dest_dir: Path,
        *,
        max_bytes: int,
        allow_malware: bool = False,
        malware_scan_result: str | None = None,
        place: Callable[[str, str], str | os.PathLike[str]] | None = None,
    ) -> Any: ...

    @property
    def stats(self) -> Any: ...


def _client_stats(client: Any) -> tuple[dict[str, int], int, int]:
    stats = getattr(client, "stats", None) if client is not None else None
    if stats is None:
        return {}, 0, 0
    return (
        dict(getattr(stats, "requests_by_bucket", {}) or {}),
        int(getattr(stats, "rate_limited", 0) or 0),
        int(getattr(stats, "retries", 0) or 0),
    )


def _without_engine_key(cursor: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    rest = {k: v for k, v in cursor.items() if k != ENGINE_KEY}
    return rest or None


class SyncEngine:
    """Runs syncs of one connection from ``source`` into ``store``.

    ``client`` (a ZendeskClient) is needed to download attachment bytes and gives the request
    statistics of the report. ``progress(stream, counts)`` is called after every stored page
    with the run's cumulative counts.
    """

    def __init__(
        self,
        store: Store,
        source: Source,
        connection_id: str,
        *,
        client: DownloadClient | None = None,
        download_attachments: bool = False,
        max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES,
        allow_malware: bool = False,
        progress: ProgressCallback | None = None,
        download_concurrency: int = 8,
        full_sweep_types: Iterable[EntityType] = ENTITY_TYPES,
    ) -> None:
        if download_attachments and client is None:
            raise ValueError("Downloading attachments needs the Zendesk client: pass client=... .")
        if max_attachment_bytes <= 0:
            raise ValueError("max_attachment_bytes must be positive.")
        self.store = store
        self.source = source
        self.connection_id = connection_id
        self.client = client
        self.download_attachments = download_attachments
        self.max_attachment_bytes = max_attachment_bytes
        self.allow_malware = allow_malware
        self.progress = progress
        self.download_concurrency = max(1, download_concurrency)
        self.full_sweep_types = tuple(full_sweep_types)
        self.report: RunReport | None = None
        self._blob_temp_folder: Path | None = None
        self._started_wall = time.time()

    async def run(self, full: bool = False) -> RunReport:
        """Sync once; return the report (also stored with the run).

        Raises SyncAlreadyRunning if this connection is being synced elsewhere. On any other
        error the run is stored as failed (interrupted on cancellation), the error is
        re-raised, and ``self.report`` still holds what was done; the next run resumes.
        """
        if self.download_attachments:
            self.store.blobs.require()  # before anything is written: no folder, no run
        with self.store.lock(self.connection_id):
            self._started_wall = time.time()
            if self.download_attachments:
                await asyncio.to_thread(self.store.blobs.remove_orphaned_temp_files)
            return await self._run_locked(full)

    # -----------------------------------------------------------------------------------------

    def _resumable_run(self, state: Any, full: bool) -> Any:
        if not isinstance(state, dict) or not isinstance(state.get("run_id"), int):
            return None
        run = self.store.get_run(state["run_id"])
        if run is None or run.connection_id != self.connection_id:
            return None
        if full and run.mode != "full":
            return None  # a full re-read was asked for: the pending incremental run is dropped
        return run

    async def _run_locked(self, full: bool) -> RunReport:
        store, cid = self.store, self.connection_id
        stored = store.get_cursor(cid) or {}
        source_cursor = _without_engine_key(stored)
        run = self._resumable_run(stored.get(ENGINE_KEY), full)
        resumed = run is not None
        if run is not None:
            run = store.update_run(run.id, status="running", error=None, finished_at=None)
        else:
            mode = "full" if full or source_cursor is None else "incremental"
            run = store.create_run(cid, mode)
            if mode == "full":
                source_cursor = None
            # Written before the first page, so that a kill before any commit still resumes
            # this run (and, for a full run, still re-reads everything).
            store.set_cursor(cid, {**(source_cursor or {}), ENGINE_KEY: {"mode": mode, "run_id": run.id}})
        store.mark_interrupted_runs(cid, except_run_id=run.id)
        assert run is not None
        mode, run_id = run.mode, run.id
        engine_state = {"mode": mode, "run_id": run_id}

        previous = dict(run.progress or {})
        counts = PageCounts.from_dict(previous.get("counts"))
        pages = int(previous.get("pages", 0))
        base_requests = {str(k): int(v) for k, v in (previous.get("requests_by_bucket") or {}).items()}
        base_rate_limited = int(previous.get("rate_limited", 0))
        base_retries = int(previous.get("retries", 0))
        base_elapsed = float(previous.get("elapsed_seconds", 0.0))
        attachments = AttachmentCounts.from_dict(previous.get("attachments"))
        failed_downloads: list[dict[str, Any]] = list(previous.get("failed_downloads") or [])
        stats_at_start = _client_stats(self.client)
        started = time.monotonic()
        last_cursor = source_cursor

        def extra_progress() -> dict[str, Any]:
            requests, rate_limited, retries = _client_stats(self.client)
            merged = dict(base_requests)
            for bucket, n in requests.items():
                merged[bucket] = merged.get(bucket, 0) + n - stats_at_start[0].get(bucket, 0)
            return {
                "requests_by_bucket": merged,
                "rate_limited": base_rate_limited + rate_limited - stats_at_start[1],
                "retries": base_retries + retries - stats_at_start[2],
                "elapsed_seconds": base_elapsed + time.monotonic() - started,
                "attachments": attachments.to_dict(),
                "failed_downloads": failed_downloads[:MAX_LISTED],
            }

        def build_report(status: str, error: str | None = None) -> RunReport:
            extra = extra_progress()
            return RunReport(
                run_id=run_id,
                connection_id=cid,
                mode=mode,
                status=status,
                started_at=run.started_at,
                finished_at=datetime.now(UTC),
                duration_seconds=extra["elapsed_seconds"],
                pages=pages,
                counts=counts,
                requests_by_bucket=extra["requests_by_bucket"],
                rate_limited=extra["rate_limited"],
                retries=extra["retries"],
                attachments=attachments,
                resumed=resumed,
                error=error,
                failed_downloads=failed_downloads[:MAX_LISTED],
            )

        log.info("%s sync of %s: run #%d%s", mode, cid, run_id, " (resumed)" if resumed else "")
        generator = self.source.generate_entities(source_cursor)
        # Three stages run at once: the source reads ahead (its next export request is in
        # flight while this page is handled), each page's attachment downloads start as soon
        # as the page arrives (bounded across pages by one semaphore), and pages are stored
        # strictly in order, each once its own downloads are done. A page's cursor is
        # therefore never committed before every earlier page is.
        ready: asyncio.Queue[_Staged | BaseException | None] = asyncio.Queue()
        ahead = Budget(MAX_AHEAD_ENTITIES, MAX_AHEAD_MEMORY, MAX_AHEAD_BYTES)
        download_limit = asyncio.Semaphore(self.download_concurrency)
        staged: list[asyncio.Task[_Downloaded]] = []

        retry_stored = asyncio.Event()

        async def all_pages() -> AsyncIterator[SourcePage]:
            """Downloads that failed in earlier runs, tried again first (and stored before the
            source's pages, which may list the same files, are read); then the source's pages."""
            if self.download_attachments:
                retry = await self._retry_page(source_cursor or {})
                if retry is not None:
                    attachments.retried += sum(isinstance(e, ZendeskAttachmentEntity) for e in retry.entities)
                    yield retry
                    del retry
                    await retry_stored.wait()
            async for page in generator:
                yield page
                del page  # not held while the next one is read

        pages_read = 0

        async def read_pages() -> None:
            nonlocal pages_read
            try:
                async for page in all_pages():
                    entities, memory = page_weight(page)
                    nbytes = (
                        sum(
                            e.size or 0
                            for e in page.entities
                            if isinstance(e, ZendeskAttachmentEntity) and e.content_sha256 is None
                        )
                        if self.download_attachments
                        else 0
                    )
                    weight = (entities, memory, nbytes)
                    ahead.add(weight)
                    task = (
                        asyncio.create_task(self._download_page_attachments(page, download_limit))
                        if self.download_attachments
                        else None
                    )
                    if task is not None:
                        staged.append(task)
                    stored = retry_stored if not retry_stored.is_set() and pages_read == 0 else None
                    pages_read += 1
                    await ready.put(_Staged(page, task, weight, stored))
                    del page  # held by the queue alone, so it goes once stored
                    # The next page is read only once there is room for it: a page read while
                    # the budget is full would wait here, held, next to the one being stored
                    # (a page of tickets weighs more than the whole budget, so it is stored
                    # alone and the next one is read meanwhile by the source, not here).
                    await ahead.room()
                await ready.put(None)
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # handed to the storing side, which re-raises it
                await ready.put(exc)

        reader: asyncio.Task[None] | None = None
        try:
            reader = asyncio.create_task(read_pages(), name="zensync-engine-reader")
            while True:
                item = await ready.get()
                if item is None:
                    break
                if isinstance(item, BaseException):
                    raise item
                page, item.page = item.page, None
                assert page is not None
                failures: dict[int, str] = {}
                if item.downloads is not None:
                    downloaded = await item.downloads
                    staged.remove(item.downloads)
                    attachments.add(downloaded.counts)
                    failures = downloaded.failures
                    failed_downloads.extend(downloaded.listed[: max(0, MAX_LISTED - len(failed_downloads))])
                sweep = STREAM_TYPES.get(page.stream, ()) if page.complete_snapshot else ()
                to_store = page.model_copy(update={"cursor": {**page.cursor, ENGINE_KEY: engine_state}})
                page_counts = await asyncio.to_thread(
                    store.apply_page,
                    cid,
                    to_store,
                    run_id,
                    sweep_types=sweep,
                    extra_progress=extra_progress(),
                    download_failures=failures,
                )
                counts.add(page_counts)
                ahead.give(item.weight)
                if item.stored is not None:
                    item.stored.set()
                if page_counts.released_blobs:
                    await self._release(page_counts.released_blobs)
                pages += 1
                last_cursor = page.cursor
                stream = page.stream
                # Nothing here refers to the stored page while the next one is awaited.
                del page, to_store, item
                log.debug("run #%d: page %d of %s stored", run_id, pages, stream)
                if self.progress is not None:
                    self.progress(stream, counts)
            if mode == "full":
                swept = await asyncio.to_thread(store.sweep_unseen, cid, run_id, self.full_sweep_types)
                counts.add(swept)
                if swept.released_blobs:
                    await self._release(swept.released_blobs)
                if self.progress is not None and swept.changed:
                    self.progress("sweep", counts)
            report = build_report("succeeded")
            store.finish_run(run_id, "succeeded", report=report.to_dict(), cursor=last_cursor or {})
            if mode == "full" and self.store.blobs.configured:
                await asyncio.to_thread(store.prune_blobs)
        except (asyncio.CancelledError, KeyboardInterrupt):
            self.report = build_report("interrupted", "interrupted before the end; the next sync resumes it")
            with contextlib.suppress(Exception):
                store.finish_run(run_id, "interrupted", report=self.report.to_dict(), error=self.report.error)
            raise
        except Exception as exc:
            message = describe_error(exc)
            self.report = build_report("failed", message)
            with contextlib.suppress(Exception):
                store.finish_run(run_id, "failed", report=self.report.to_dict(), error=message)
            raise
        finally:
            waiting = [t for t in (reader, *staged) if t is not None and not t.done()]
            for task in waiting:
                task.cancel()
            if waiting:
                await asyncio.gather(*waiting, return_exceptions=True)
            aclose = getattr(generator, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()
        self.report = report
        log.info("%s", report.summary())
        return report

    # -----------------------------------------------------------------------------------------
    # Attachment bytes

    async def _release(self, shas: set[str]) -> None:
        """Delete the files of attachments that are gone or changed (e.g. redacted) once no row
        refers to them; files placed or reused since this run started are kept (a page still
        in flight may refer to them; a later run or the full run's prune takes them)."""
        if not self.store.blobs.configured:
            return
        removed = await asyncio.to_thread(self.store.release_blobs, shas, unused_since=self._started_wall)
        if removed:
            log.debug("removed %d attachment files no longer referred to", removed)

    async def _retry_page(self, cursor: dict[str, Any]) -> SourcePage | None:
        """A page of the attachments recorded as failed by earlier runs, re-read for fresh links.

        Its cursor is the one already stored, so storing it moves nothing on; its downloads
        are made and recorded like any page's.
        """
        failed = await asyncio.to_thread(
            self.store.failed_downloads, self.connection_id, limit=RETRY_FAILED_DOWNLOADS
        )
        if not failed:
            return None
        stored = [f.attachment for f in failed]
        reread = getattr(self.source, "reread_attachments", None)
        deletions: list[Deletion] = []
        if reread is not None:
            stored, deletions = await reread(stored)
        log.info("retrying %d attachment downloads that failed before", len(stored))
        return SourcePage(stream="comments", entities=list(stored), deletions=deletions, cursor=cursor)

    async def _download_page_attachments(self, page: SourcePage, limit: asyncio.Semaphore) -> _Downloaded:
        """Fill ``content_sha256`` of the page's attachments, downloading what is not stored.

        One file that cannot be had — 429s past the retry budget, a dropped connection, the
        storage host's 403 for an expired link, a body cut short — never stops the run: it is
        recorded as failed (the store keeps why) and a later run tries it again with a fresh
        link. Only an authentication failure, which every later request would share, ends it.
        """
        found = [e for e in page.entities if isinstance(e, ZendeskAttachmentEntity)]
        counts = AttachmentCounts()
        result = _Downloaded(counts=counts, failures={}, listed=[])
        if not found:
            return result
        # Stored bytes are reused only while the attachment's size is unchanged: one Zendesk
        # replaced (a redaction leaves an empty "redacted.txt") is downloaded again.
        known = await asyncio.to_thread(
            self.store.attachment_files,
            self.connection_id,
            [a.id for a in found],
            sizes={a.id: a.size for a in found},
        )

        async def fetch(attachment: ZendeskAttachmentEntity) -> None:
            stored_sha = attachment.content_sha256 or known.get(attachment.id)
            if stored_sha and self.store.has_blob(stored_sha):
                # Zendesk never changes an attachment's bytes: the stored file is still right.
                attachment.content_sha256 = stored_sha
                counts.reused += 1
                return
            if not attachment.content_url:
                return
            # "Update Attachment for Malware": malware_access_override lets agents download a
            # file flagged malware_found; without it (or allow_malware) it is not fetched.
            if (
                attachment.malware_scan_result == "malware_found"
                and not attachment.malware_access_override
                and not self.allow_malware
            ):
                counts.skipped_malware += 1
                return
            if attachment.size is not None and attachment.size > self.max_attachment_bytes:
                counts.skipped_too_large += 1
                return
            allowed = self.allow_malware or bool(attachment.malware_access_override)
            try:
                async with limit:
                    assert self.client is not None
                    # Written to a temporary file in the blob folder's own temporary folder and
                    # moved to its content address in the same worker-thread call.
                    saved = await self.client.download(
                        attachment.content_url,
                        folder,
                        max_bytes=self.max_attachment_bytes,
                        allow_malware=allowed,
                        malware_scan_result=attachment.malware_scan_result,
                        place=self.store.place_blob,
                    )
                attachment.content_sha256 = saved.sha256
                counts.downloaded += 1
                counts.bytes += int(saved.size)
            except zerrors.DownloadTooLarge:
                counts.skipped_too_large += 1
            except zerrors.MalwareDetected:
                counts.skipped_malware += 1
            except zerrors.AuthenticationError:
                raise
            except zerrors.ZendeskError as exc:
                counts.failed += 1
                message = f"{type(exc).__name__}: {exc}"
                result.failures[attachment.id] = message
                result.listed.append(
                    {
                        "attachment_id": attachment.id,
                        "ticket_id": attachment.ticket_id,
                        "file_name": attachment.file_name,
                        "error": message,
                    }
                )
                log.warning(
                    "attachment %s of ticket %s not downloaded (the next sync tries again): %s",
                    attachment.id,
                    attachment.ticket_id,
                    exc,
                )

        # Every download's temporary file has a unique name (two attachments with the same
        # bytes may download at once) in the blob store's temporary folder, on the same
        # filesystem as the blobs, so the final move is an atomic rename.
        if self._blob_temp_folder is None:
            self._blob_temp_folder = await asyncio.to_thread(self.store.blob_temp_folder)
        folder = self._blob_temp_folder
        try:
            async with asyncio.TaskGroup() as group:
                for attachment in found:
                    group.create_task(fetch(attachment))
        except BaseExceptionGroup as group_error:
            # Surface the first real error (e.g. AuthenticationError) rather than the group.
            first = group_error.exceptions[0]
            raise first from None
        return result


def describe_error(exc: BaseException) -> str:
    """A run's error text: the exception's own message (Zendesk errors are already redacted)."""
    if isinstance(exc, StoreError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
