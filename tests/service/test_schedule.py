"""When the scheduler syncs a connection: from the stored last sync, pausing after a failure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.fernet import Fernet

from zensync.connections import ConnectionManager
from zensync.secret_box import SecretBox
from zensync.service.jobs import RETRY_AFTER_FAILURE, SyncJobs
from zensync.store import Store


def test_due_times_follow_the_database(tmp_path: Path) -> None:
    with Store.open(tmp_path / "z.db") as store:
        manager = ConnectionManager(store, SecretBox.from_key(Fernet.generate_key()))
        jobs = SyncJobs(manager, scheduling=False, sync_interval_seconds=600)
        store.create_connection(id="a", name="a", subdomain="acme", auth_kind="oauth", status="active")
        record = store.get_connection("a")
        assert record is not None
        now = datetime.now(UTC)
        # Never synced: due at once.
        due = jobs.due_at(record, None)
        assert due is not None and abs((due - now).total_seconds()) < 5

        # Synced a minute ago: due after the connection's interval.
        run = store.create_run("a", "full")
        store.finish_run(run.id, "succeeded", report={})
        record = store.get_connection("a")
        assert record is not None and record.last_sync_at is not None
        due = jobs.due_at(record, store.latest_run("a"))
        assert due == record.last_sync_at.replace(tzinfo=UTC) + timedelta(seconds=600)

        # A failure after that pauses retries for min(interval, 5 min) from the failure.
        store.update_connection("a", last_sync_at=now - timedelta(hours=3))
        failed = store.create_run("a", "incremental")
        store.finish_run(failed.id, "failed", error="boom")
        record = store.get_connection("a")
        latest = store.latest_run("a")
        assert record is not None and latest is not None and latest.finished_at is not None
        due = jobs.due_at(record, latest)
        assert due == latest.finished_at.replace(tzinfo=UTC) + min(
            timedelta(seconds=600), RETRY_AFTER_FAILURE
        )

        # Per-connection interval wins over the service default; non-active connections never run.
        store.update_connection("a", sync_interval_seconds=7200, status="needs_reauth")
        record = store.get_connection("a")
        assert record is not None and jobs.due_at(record, latest) is None
        assert jobs.tick() == []


def test_a_run_left_behind_by_a_stopped_service_is_resumed_at_once(tmp_path: Path) -> None:
    with Store.open(tmp_path / "z.db") as store:
        manager = ConnectionManager(store, SecretBox.from_key(Fernet.generate_key()))
        jobs = SyncJobs(manager, scheduling=False)
        store.create_connection(id="a", name="a", subdomain="acme", auth_kind="oauth", status="active")
        done = store.create_run("a", "full")
        store.finish_run(done.id, "succeeded", report={})
        store.create_run("a", "incremental")  # the process died during this one
        record = store.get_connection("a")
        latest = store.latest_run("a")
        assert record is not None and latest is not None and latest.status == "running"
        due = jobs.due_at(record, latest)
        assert due is not None and due <= datetime.now(UTC)
        assert not jobs.busy("a")  # nobody holds its lock: it is safe to resume
        with store.lock("a"):
            assert jobs.busy("a")
