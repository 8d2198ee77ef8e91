"""Tokens after consent: rotation persisted, revocation → needs_reauth with data kept, disconnect,
one sync at a time, the schedule, and no secret anywhere it could leak.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from zensync.connections import StoredSecrets
from zensync.service.jobs import SyncJobs
from zensync.store import Store

SEEN_SECRETS: set[str] = set()


def stored_secrets(service: Any, connection_id: str) -> StoredSecrets:
    with service.store() as store:
        record = store.get_connection(connection_id)
        assert record is not None and record.secrets_encrypted
        secrets = StoredSecrets.from_json(service.secrets().decrypt(record.secrets_encrypted))
    for value in (secrets.client_secret, secrets.access_token, secrets.refresh_token):
        if value:
            SEEN_SECRETS.add(value)
    return secrets


@pytest.fixture
def connected(
    http: httpx.Client, browser: Any, service: Any, new_connection: Callable[..., dict[str, Any]]
) -> Callable[[str], dict[str, Any]]:
    """A connection through consent, with its first sync finished."""

    def make(name: str) -> dict[str, Any]:
        created = new_connection(name)
        assert browser.connect(http, created["auth_url"]).status_code == 303
        done = service.wait_idle(http, created["id"])
        assert done["runs"][0]["status"] == "succeeded", done["runs"][0]
        stored_secrets(service, created["id"])
        return done

    return make


def test_refresh_rotation_is_persisted_before_use(
    http: httpx.Client, service: Any, sim: Any, connected: Callable[[str], dict[str, Any]]
) -> None:
    view = connected("Rotating")
    before = stored_secrets(service, "rotating")
    with service.store() as store:
        # The access token's lifetime is over: the next request must refresh first.
        store.update_connection("rotating", token_expires_at=datetime.now(UTC) - timedelta(seconds=5))

    assert http.post("/source-connections/rotating/sync").status_code == 202
    done = service.wait_idle(http, "rotating")
    assert done["runs"][0]["status"] == "succeeded", done["runs"][0]
    assert done["runs"][0]["id"] != view["runs"][0]["id"]

    after = stored_secrets(service, "rotating")
    assert after.refresh_token and after.refresh_token != before.refresh_token
    assert after.access_token != before.access_token
    with service.store() as store:
        record = store.get_connection("rotating")
        assert record is not None and record.token_expires_at is not None
        expires = record.token_expires_at.replace(tzinfo=record.token_expires_at.tzinfo or UTC)
        assert expires > datetime.now(UTC) + timedelta(minutes=5)

    with httpx.Client(base_url=sim.base_url, timeout=30) as zendesk:
        # Zendesk deleted the old pair: the stored pair is the only live one.
        old = zendesk.post(
            "/oauth/tokens",
            json={
                "grant_type": "refresh_token",
                "refresh_token": before.refresh_token,
                "client_id": "zensync",
                "client_secret": before.client_secret,
            },
        )
        assert old.status_code == 400 and old.json()["error"] == "invalid_grant"
        me = zendesk.get("/api/v2/users/me.json", headers={"Authorization": f"Bearer {after.access_token}"})
        assert me.status_code == 200 and me.json()["user"]["role"] == "admin"


def test_revoked_refresh_token_marks_needs_reauth_and_keeps_the_data(
    http: httpx.Client, browser: Any, service: Any, sim: Any, connected: Callable[[str], dict[str, Any]]
) -> None:
    view = connected("Revoked")
    counts = view["counts"]
    tokens = stored_secrets(service, "revoked")
    with httpx.Client(base_url=sim.base_url, timeout=30) as zendesk:
        # An admin revokes the token in Zendesk (the refresh token goes with it).
        gone = zendesk.delete(
            "/api/v2/oauth/tokens/current.json", headers={"Authorization": f"Bearer {tokens.access_token}"}
        )
        assert gone.status_code == 204

    assert http.post("/source-connections/revoked/sync").status_code == 202
    done = service.wait_idle(http, "revoked")
    assert done["runs"][0]["status"] == "failed"
    assert done["status"] == "needs_reauth"
    assert done["problem"]["kind"] == "refresh_revoked"
    assert done["problem"]["needs_reauth"] is True
    assert "data already synced is kept" in done["problem"]["cause"]
    assert done["counts"] == counts
    assert done["next_sync_at"] is None  # not scheduled while it cannot authenticate
    hits = http.get("/search", params={"q": "Refund request for order 12345", "connection_id": "revoked"})
    assert hits.json()["results"]

    refused = http.post("/source-connections/revoked/sync")
    assert refused.status_code == 409 and "needs_reauth" in refused.json()["detail"]

    # The fix it names: reconnect. Sync resumes incrementally on the same data.
    again = http.post("/source-connections/revoked/authorize")
    assert browser.connect(http, again.json()["auth_url"]).status_code == 303
    back = service.wait_idle(http, "revoked")
    assert back["status"] == "active" and back["problem"] is None
    assert back["runs"][0]["status"] == "succeeded" and back["runs"][0]["mode"] == "incremental"
    assert back["counts"] == counts
    stored_secrets(service, "revoked")


def test_one_sync_at_a_time(
    http: httpx.Client, service: Any, connected: Callable[[str], dict[str, Any]]
) -> None:
    connected("Busy")
    with service.store() as store, store.lock("busy"):
        # Another process (a CLI `zensync sync`) holds the connection's lock.
        busy = http.post("/source-connections/busy/sync")
        assert busy.status_code == 409
        assert "already running" in busy.json()["detail"]
    assert http.post("/source-connections/busy/sync").status_code == 202
    assert http.post("/source-connections/busy/sync").status_code == 409
    service.wait_idle(http, "busy")
    assert http.get("/source-connections/nope").status_code == 404


def test_schedule_derives_from_stored_last_sync_and_survives_restart(
    http: httpx.Client, service: Any, connected: Callable[[str], dict[str, Any]]
) -> None:
    view = connected("Scheduled")
    last = datetime.fromisoformat(view["last_sync_at"])
    assert datetime.fromisoformat(view["next_sync_at"]) == last + timedelta(hours=1)
    with service.store() as store:
        store.update_connection("scheduled", last_sync_at=datetime.now(UTC) - timedelta(hours=2))
    # The running service's scheduler notices (it polls every 0.5 s) and runs an incremental sync.
    deadline = datetime.now(UTC) + timedelta(seconds=30)
    while True:
        data = http.get("/source-connections/scheduled").json()
        if len(data["runs"]) + (1 if data["current_run"] else 0) >= 2 and not data["syncing"]:
            break
        assert datetime.now(UTC) < deadline, data
    assert data["runs"][0]["mode"] == "incremental" and data["runs"][0]["status"] == "succeeded"
    assert datetime.fromisoformat(data["last_sync_at"]) > datetime.now(UTC) - timedelta(minutes=1)

    # A restarted service computes the same schedule from the database alone.
    from zensync.connections import ConnectionManager

    with Store.open(service.db_path) as store:
        jobs = SyncJobs(ConnectionManager(store, service.secrets()), scheduling=False)
        record = store.get_connection("scheduled")
        assert record is not None
        due = jobs.due_at(record, store.latest_run("scheduled"))
        assert due is not None and due > datetime.now(UTC) + timedelta(minutes=55)
        assert jobs.tick() == []  # nothing due now


def test_delete_revokes_and_keeps_data_unless_purged(
    http: httpx.Client, service: Any, sim: Any, connected: Callable[[str], dict[str, Any]]
) -> None:
    view = connected("Leaving")
    tokens = stored_secrets(service, "leaving")
    deleted = http.delete("/source-connections/leaving")
    assert deleted.status_code == 200
    assert deleted.json() == {"id": "leaving", "revoked": True, "purged": False, "revoke_error": None}
    with httpx.Client(base_url=sim.base_url, timeout=30) as zendesk:
        me = zendesk.get("/api/v2/users/me.json", headers={"Authorization": f"Bearer {tokens.access_token}"})
        assert me.status_code == 401
    assert http.get("/source-connections/leaving").status_code == 404
    with service.store() as store:
        assert store.counts("leaving")["ticket"] == view["counts"]["ticket"] > 0

    connected("Purged")
    assert http.delete("/source-connections/purged", params={"purge": "true"}).json()["purged"] is True
    with service.store() as store:
        assert store.counts("purged")["ticket"] == 0
        assert store.get_connection("purged") is None


def test_expired_refresh_token_marks_needs_reauth_without_losing_data(
    http: httpx.Client, service: Any, connected: Callable[[str], dict[str, Any]]
) -> None:
    view = connected("Stale")
    tokens = stored_secrets(service, "stale")
    thirty_one_days_ago = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    stale = StoredSecrets(**{**tokens.__dict__, "refresh_expires_at": thirty_one_days_ago})
    with service.store() as store:
        store.update_connection(
            "stale",
            secrets_encrypted=service.secrets().encrypt(stale.to_json()),
            token_expires_at=datetime.now(UTC) - timedelta(minutes=1),
        )
    assert http.post("/source-connections/stale/sync").status_code == 202
    done = service.wait_idle(http, "stale")
    # Failed once in CI as "active" (not reproduced since): the runs say what the sync did.
    assert done["status"] == "needs_reauth", done["runs"][:2]
    assert done["problem"]["kind"] == "refresh_revoked"
    assert "Reconnect" in done["problem"]["fixes"][0]
    assert done["counts"] == view["counts"]


def test_no_secret_or_token_in_the_database_logs_or_responses(
    http: httpx.Client, service: Any, captured_logs: Any
) -> None:
    """Runs after the other tests of this module: every secret they saw must be nowhere."""
    assert len(SEEN_SECRETS) >= 6, "the tests above recorded the secrets to look for"
    files = [p for p in service.db_path.parent.iterdir() if p.is_file()]
    assert files, "the database files exist"
    for path in files:
        raw = path.read_bytes()
        for secret in SEEN_SECRETS:
            assert secret.encode() not in raw, f"a secret in plain text in {path.name}"
    logs = "\n".join(captured_logs.lines)
    assert "/source-connections/callback" in logs, "the access log was captured"
    for secret in SEEN_SECRETS:
        assert secret not in logs
    http.get("/source-connections")
    bodies = [r.text + json.dumps(dict(r.headers)) for r in service.responses]
    assert len(bodies) > 20
    for body in bodies:
        for secret in SEEN_SECRETS:
            assert secret not in body
    # The service's access log shows the callback without its code and state.
    access = [
        line for line in captured_logs.lines if line.startswith("uvicorn.access") and "callback" in line
    ]
    assert access
    for line in access:
        assert "state=…" in line or "state=" not in line, line
        assert "code=…" in line or "code=" not in line, line
