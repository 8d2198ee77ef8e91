"""Connections, sync runs and OAuth states on both backends: what the web service and the CLI
read and write, including the atomic one-time use of an OAuth state."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from zensync.entities import SourcePage, ZendeskTicketEntity
from zensync.store import ConnectionNotFound, Store, StoreError


def _connection(store: Store, cid: str = "acme", **changes: object) -> None:
    values: dict[str, object] = {
        "id": cid,
        "name": "ACME support",
        "subdomain": "acme",
        "auth_kind": "oauth",
        "client_id": "zensync",
        "secrets_encrypted": "gAAAAABciphertext",
        "sync_interval_seconds": 900,
        **changes,
    }
    store.create_connection(**values)  # type: ignore[arg-type]


def test_connection_lifecycle(store: Store) -> None:
    _connection(store)
    record = store.get_connection("acme")
    assert record is not None
    assert record.status == "pending_auth"
    assert record.exclude_closed_tickets is False
    assert record.secrets_encrypted == "gAAAAABciphertext"
    assert record.created_at.tzinfo is not None
    assert "gAAAA" not in repr(record)  # not even the ciphertext is printed

    expires = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    updated = store.update_connection(
        "acme", status="active", token_expires_at=expires, status_detail=None, exclude_closed_tickets=True
    )
    assert updated.status == "active"
    assert updated.token_expires_at == expires
    assert updated.exclude_closed_tickets is True
    assert updated.updated_at >= record.updated_at

    _connection(store, "beta", auth_kind="api_token", subdomain="beta")
    assert [c.id for c in store.list_connections()] == ["acme", "beta"]

    assert store.delete_connection("beta") is True
    assert store.delete_connection("beta") is False
    assert store.get_connection("beta") is None


def test_connection_input_errors_name_the_fix(store: Store) -> None:
    _connection(store)
    with pytest.raises(StoreError, match="already exists; choose another name"):
        _connection(store)
    with pytest.raises(ValueError, match="auth_kind must be one of oauth, api_token, access_token"):
        _connection(store, "x", auth_kind="password")
    with pytest.raises(ValueError, match="status must be one of"):
        store.update_connection("acme", status="broken")
    with pytest.raises(ValueError, match="at least 60"):
        store.update_connection("acme", sync_interval_seconds=5)
    with pytest.raises(ValueError, match="Cannot update \\['id'\\]"):
        store.update_connection("acme", id="other")
    with pytest.raises(ConnectionNotFound, match="No connection 'ghost'"):
        store.update_connection("ghost", status="active")


def test_deleting_a_connection_purges_its_data(store: Store) -> None:
    _connection(store)
    run = store.create_run("acme", "full")
    ticket = ZendeskTicketEntity.from_api({"id": 1, "subject": "x"})
    store.apply_page("acme", SourcePage(stream="tickets", entities=[ticket], cursor={"a": 1}), run.id)
    store.apply_page("keep", SourcePage(stream="tickets", entities=[ticket]), None)
    store.create_oauth_state(
        state_hash="h1",
        connection_id="acme",
        payload_encrypted="p",
        redirect_uri="http://localhost:8001/source-connections/callback",
        expires_at=datetime.now(UTC) + timedelta(minutes=10),
    )
    store.delete_connection("acme")
    assert store.counts("acme")["ticket"] == 0
    assert store.counts("keep")["ticket"] == 1
    assert store.get_cursor("acme") is None
    assert store.list_runs("acme") == []
    assert store.consume_oauth_state("h1") is None


def test_runs_record_their_life(store: Store) -> None:
    first = store.create_run("acme", "full")
    assert first.status == "running"
    assert first.finished_at is None
    second = store.create_run("acme", "incremental")
    assert second.id > first.id
    assert [r.id for r in store.list_runs("acme")] == [second.id, first.id]
    assert store.latest_run("acme") == store.get_run(second.id)

    assert store.mark_interrupted_runs("acme", except_run_id=second.id) == 1
    assert store.get_run(first.id).status == "interrupted"  # type: ignore[union-attr]

    store.set_cursor("acme", {"engine": 1})
    done = store.finish_run(second.id, "succeeded", report={"pages": 3}, cursor={"tickets": "end"})
    assert done.status == "succeeded"
    assert done.report == {"pages": 3}
    assert done.finished_at is not None
    assert store.get_cursor("acme") == {"tickets": "end"}

    with pytest.raises(ValueError, match="Run mode must be one of full, incremental"):
        store.create_run("acme", "partial")
    with pytest.raises(ValueError, match="succeeded, failed or interrupted"):
        store.finish_run(second.id, "running")
    with pytest.raises(StoreError, match="No sync run #4242"):
        store.update_run(4242, status="failed")


def test_finishing_a_run_stamps_the_connection(store: Store) -> None:
    _connection(store)
    run = store.create_run("acme", "full")
    store.finish_run(run.id, "failed", error="boom")
    assert store.get_connection("acme").last_sync_at is None  # type: ignore[union-attr]
    run = store.create_run("acme", "full")
    store.finish_run(run.id, "succeeded")
    assert store.get_connection("acme").last_sync_at is not None  # type: ignore[union-attr]


def test_cursor_round_trip_and_forget(store: Store) -> None:
    cursor = {"tickets": {"after": "MTU3NjYxMzUzOS4wfHw0Njd8", "n": 3}, "phase": "comments", "ids": [1, 2]}
    store.set_cursor("acme", cursor)
    assert store.get_cursor("acme") == cursor
    store.set_cursor("acme", None)
    assert store.get_cursor("acme") is None


def test_oauth_state_is_used_once_and_only_before_expiry(store: Store) -> None:
    _connection(store)
    now = datetime.now(UTC)
    store.create_oauth_state(
        state_hash="fresh",
        connection_id="acme",
        payload_encrypted="cipher",
        redirect_uri="http://localhost:8001/source-connections/callback",
        expires_at=now + timedelta(minutes=10),
    )
    store.create_oauth_state(
        state_hash="stale",
        connection_id="acme",
        payload_encrypted="cipher",
        redirect_uri="http://localhost:8001/source-connections/callback",
        expires_at=now - timedelta(seconds=1),
    )
    assert store.consume_oauth_state("stale", now) is None
    stale = store.find_oauth_state("stale")  # kept, so a late callback can be told "expired"
    assert stale is not None and stale.used_at is None and stale.connection_id == "acme"
    used = store.consume_oauth_state("fresh", now)
    assert used is not None
    assert used.connection_id == "acme"
    assert used.payload_encrypted == "cipher"
    assert used.used_at is not None
    assert store.consume_oauth_state("fresh", now) is None
    assert store.consume_oauth_state("unknown", now) is None
    found = store.find_oauth_state("fresh")
    assert found is not None and found.used_at is not None
    assert store.find_oauth_state("unknown") is None
    assert store.delete_expired_oauth_states(now) == 2
    assert store.find_oauth_state("fresh") is None

    with pytest.raises(ConnectionNotFound):
        store.create_oauth_state(
            state_hash="orphan",
            connection_id="ghost",
            payload_encrypted="c",
            redirect_uri="http://localhost/cb",
            expires_at=now + timedelta(minutes=1),
        )


def test_racing_callbacks_consume_a_state_once(store: Store) -> None:
    _connection(store)
    store.create_oauth_state(
        state_hash="race",
        connection_id="acme",
        payload_encrypted="cipher",
        redirect_uri="http://localhost:8001/source-connections/callback",
        expires_at=datetime.now(UTC) + timedelta(minutes=10),
    )
    results: list[object] = []
    barrier = threading.Barrier(8)

    def callback() -> None:
        barrier.wait()
        results.append(store.consume_oauth_state("race"))

    threads = [threading.Thread(target=callback) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r is not None for r in results) == 1
