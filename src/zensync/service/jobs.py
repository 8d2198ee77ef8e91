"""Background syncs of the service: on demand, after consent, and on a schedule.

At most one sync per connection at a time: in this process a connection has at most one task,
and across processes (a CLI ``zensync sync`` next to the service) the store's per-connection
lock refuses a second run.

The schedule is derived from the database, never kept in memory: a connection is due when
``last_sync_at + interval`` has passed (immediately if it never synced), so a restarted service
carries on where it left off. After a failed run the next attempt waits ``min(interval, 5 min)``,
so a broken account is not hammered every tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta

from zensync.connections import ConnectionManager, ConnectionProblem
from zensync.embeddings import Embedder
from zensync.store import ConnectionRecord, RunRecord, SyncAlreadyRunning

log = logging.getLogger(__name__)

RETRY_AFTER_FAILURE = timedelta(minutes=5)
DEFAULT_SYNC_INTERVAL_SECONDS = 3600


class AlreadySyncing(Exception):
    """A sync of this connection is running (here or in another process); the message says so."""


def _utc(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class SyncJobs:
    """Starts, tracks and schedules syncs; owned by the app's lifespan."""

    def __init__(
        self,
        manager: ConnectionManager,
        *,
        download_attachments: bool = True,
        poll_seconds: float = 15.0,
        scheduling: bool = True,
        sync_interval_seconds: int = DEFAULT_SYNC_INTERVAL_SECONDS,
    ) -> None:
        self.manager = manager
        self.sync_interval_seconds = sync_interval_seconds
        self.download_attachments = download_attachments
        self.poll_seconds = poll_seconds
        self.scheduling = scheduling
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._scheduler: asyncio.Task[None] | None = None
        self._embedder: Embedder | None = None  # the search index's model, once loaded

    # ------------------------------------------------------------------ state

    def is_running(self, connection_id: str) -> bool:
        task = self._tasks.get(connection_id)
        return task is not None and not task.done()

    def busy(self, connection_id: str) -> bool:
        """Whether a sync of this connection runs here or in another process (a CLI sync)."""
        if self.is_running(connection_id):
            return True
        try:
            with self.manager.store.lock(connection_id):
                return False
        except SyncAlreadyRunning:
            return True

    def interval(self, record: ConnectionRecord) -> int:
        """Seconds between scheduled syncs: the connection's own, else the service's."""
        return record.sync_interval_seconds or self.sync_interval_seconds

    def due_at(self, record: ConnectionRecord, latest: RunRecord | None) -> datetime | None:
        """When this connection's next scheduled sync is due (None: not schedulable).

        A run left ``running`` or ``interrupted`` by a stopped process is resumed at once.
        """
        if record.status != "active":
            return None
        interval = timedelta(seconds=self.interval(record))
        last_ok = _utc(record.last_sync_at)
        due = last_ok + interval if last_ok else datetime.now(UTC)
        if latest is not None and latest.status in ("running", "interrupted"):
            return min(due, datetime.now(UTC))
        if latest is not None and latest.status == "failed" and latest.finished_at is not None:
            failed_at = _utc(latest.finished_at)
            assert failed_at is not None
            if last_ok is None or failed_at > last_ok:
                due = max(due, failed_at + min(interval, RETRY_AFTER_FAILURE))
        return due

    # ------------------------------------------------------------------ starting

    def start(self, connection_id: str, *, full: bool = False, reason: str = "manual") -> None:
        """Start a sync in the background; :class:`AlreadySyncing` if one is running."""
        record = self.manager.get(connection_id)
        if record.status != "active":
            problem = self.manager.problem(record)
            raise ConnectionProblem(
                f"Connection {record.id!r} is {record.status}, so it cannot sync: "
                + (problem.message() if problem else "reconnect it first."),
                status=409,
            )
        if self.is_running(record.id):
            raise AlreadySyncing(f"A sync of {record.id!r} is already running; wait for it to finish.")
        try:
            with self.manager.store.lock(record.id):
                pass  # free right now; the engine takes it for real
        except SyncAlreadyRunning as exc:
            raise AlreadySyncing(str(exc)) from exc
        log.info("starting %s sync of %s", reason, record.id)
        self._tasks[record.id] = asyncio.create_task(self._run(record.id, full), name=f"sync:{record.id}")

    async def _run(self, connection_id: str, full: bool) -> None:
        try:
            # Attachment bytes where the store keeps files (a PostgreSQL store without a blob
            # folder keeps metadata only); never when the service was told not to.
            report = await self.manager.sync(
                connection_id, full=full, download_attachments=None if self.download_attachments else False
            )
            log.info("%s", report.summary())
            if report.status == "succeeded":
                await asyncio.to_thread(self._refresh_index, connection_id)
        except asyncio.CancelledError:
            raise
        except SyncAlreadyRunning as exc:
            log.info("%s", exc)
        except Exception as exc:  # stored with the run by the engine; the service carries on
            log.warning("sync of %s failed: %s", connection_id, exc)

    def _refresh_index(self, connection_id: str) -> None:
        """Embed what the sync changed when the copy has a search index (``zensync index``
        built it), with the index's own model, loaded once and kept. A model that cannot load
        or a server without pgvector is logged: keyword search goes on working."""
        from zensync.embeddings import EmbeddingError
        from zensync.search import resolve_embedder
        from zensync.search.indexer import refresh_index
        from zensync.store import StoreError
        from zensync.store.vectors import VectorStore

        vectors = VectorStore(self.manager.store)
        try:
            info = vectors.info()
            if info is None:
                return
            embedder = self._embedder
            if embedder is None or embedder.fingerprint != info.fingerprint:
                embedder = self._embedder = resolve_embedder(info, None)
            report = refresh_index(vectors, connection_id=connection_id, embedder=embedder)
        except (EmbeddingError, StoreError) as exc:
            log.warning("search by meaning of %s not updated: %s", connection_id, exc)
            return
        if report is not None:
            log.info("%s: %s", connection_id, report.line())

    # ------------------------------------------------------------------ schedule

    def start_scheduler(self) -> None:
        if self.scheduling and self._scheduler is None:
            self._scheduler = asyncio.create_task(self._schedule_forever(), name="sync-scheduler")

    async def _schedule_forever(self) -> None:
        while True:
            try:
                self.tick()
            except Exception:  # a bad tick must not end scheduling
                log.exception("sync scheduler tick failed")
            await asyncio.sleep(self.poll_seconds)

    def tick(self, now: datetime | None = None) -> list[str]:
        """Start every due sync; return the connection ids started."""
        now = now or datetime.now(UTC)
        started: list[str] = []
        for record in self.manager.all():
            if self.is_running(record.id):
                continue
            due = self.due_at(record, self.manager.store.latest_run(record.id))
            if due is None or due > now:
                continue
            try:
                self.start(record.id, reason="scheduled")
                started.append(record.id)
            except (AlreadySyncing, ConnectionProblem) as exc:
                log.debug("scheduled sync of %s skipped: %s", record.id, exc)
        return started

    # ------------------------------------------------------------------ stopping

    async def wait(self, connection_id: str) -> None:
        task = self._tasks.get(connection_id)
        if task is not None:
            await asyncio.shield(task)

    async def shutdown(self) -> None:
        """Stop scheduling and interrupt running syncs (each resumes on the next run)."""
        pending: list[Awaitable[object]] = []
        if self._scheduler is not None:
            self._scheduler.cancel()
            pending.append(self._scheduler)
        for task in self._tasks.values():
            if not task.done():
                task.cancel()
                pending.append(task)
        for awaitable in pending:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await awaitable
