"""The sync runner behind every entry point: ConnectionManager.sync, the service's jobs, and the
library call, each proving its options reach the requests (the simulator's ``/_simulator/stats``)
and the store. The CLI's two branches are proven in tests/cli/test_cli_sync_options.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from zendesk_simulator.testing import SimulatorHandle, running_simulator
from zensync.config import ZendeskConfig
from zensync.connections import ConnectionManager
from zensync.secret_box import SecretBox
from zensync.service.jobs import SyncJobs
from zensync.store import Store
from zensync.sync.runner import Connection, run_sync

COMMENTS = "GET /api/v2/tickets/{id}/comments"
DOWNLOADS = "attachments-download"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorHandle]:
    with running_simulator(tickets=30, seed=5, minute_seconds=1) as handle:
        yield handle


def requests_during(sim: SimulatorHandle, before: dict[str, Any]) -> tuple[int, int]:
    """Per-ticket comment reads and attachment downloads since ``before``."""
    after = sim.stats()
    comments = after["requests"].get(COMMENTS, 0) - before["requests"].get(COMMENTS, 0)
    downloads = after["buckets"].get(DOWNLOADS, 0) - before["buckets"].get(DOWNLOADS, 0)
    return comments, downloads


def kept(store: Store, connection_id: str) -> tuple[int, int, int]:
    """Stored tickets, closed tickets among them, attachments with their bytes."""
    tickets = list(store.iter_entities(connection_id, "ticket"))
    with_bytes = sum(1 for a in store.iter_entities(connection_id, "attachment") if a.content_sha256)
    return len(tickets), sum(1 for t in tickets if t.status == "closed"), with_bytes


def manager_for(store: Store) -> ConnectionManager:
    return ConnectionManager(store, SecretBox.from_key(Fernet.generate_key()))


def config(sim: SimulatorHandle) -> ZendeskConfig:
    return ZendeskConfig(subdomain=sim.subdomain, base_url=sim.base_url)


async def test_connection_manager_sync_applies_each_option(sim: SimulatorHandle, tmp_path: Path) -> None:
    truth = sim.truth()
    closed = truth["tickets_by_status"]["closed"]
    assert closed > 0
    with Store.open(tmp_path / "m.db") as store:
        manager = manager_for(store)
        record = await manager.connect_api_token(
            name=None, config=config(sim), email=sim.admin_email, api_token=sim.api_token
        )
        assert record.exclude_closed_tickets is False

        before = sim.stats()
        seen: list[str] = []
        report = await manager.sync(
            record.id,
            download_attachments=False,
            exclude_closed_tickets=True,
            progress=lambda stream, counts: seen.append(stream),
        )
        comments_excluded, downloads = requests_during(sim, before)
        assert report.mode == "full" and report.status == "succeeded" and seen
        assert downloads == 0
        assert kept(store, record.id) == (truth["ticket"] - closed, 0, 0)
        assert store.get_connection(record.id).exclude_closed_tickets is True  # type: ignore[union-attr]

        # The saved setting holds for the next run, which takes the changes only.
        before = sim.stats()
        report = await manager.sync(record.id, download_attachments=True)
        comments, downloads = requests_during(sim, before)
        assert report.mode == "incremental" and comments == 0
        assert kept(store, record.id)[:2] == (truth["ticket"] - closed, 0)

        # Including them again: a full run that reads every closed ticket's comments too.
        before = sim.stats()
        report = await manager.sync(
            record.id, full=True, download_attachments=False, exclude_closed_tickets=False
        )
        comments_all, _ = requests_during(sim, before)
        assert comments_all - comments_excluded >= closed
        assert kept(store, record.id)[:2] == (truth["ticket"], closed)
        assert store.get_connection(record.id).exclude_closed_tickets is False  # type: ignore[union-attr]


async def test_service_jobs_sync_through_the_runner(sim: SimulatorHandle, tmp_path: Path) -> None:
    truth = sim.truth()
    closed = truth["tickets_by_status"]["closed"]
    with Store.open(tmp_path / "j.db") as store:
        manager = manager_for(store)
        record = await manager.connect_api_token(
            name="Jobs",
            config=config(sim),
            email=sim.admin_email,
            api_token=sim.api_token,
            exclude_closed_tickets=True,
        )
        jobs = SyncJobs(manager, download_attachments=True, scheduling=False)
        before = sim.stats()
        jobs.start(record.id)
        await jobs.wait(record.id)
        comments, downloads = requests_during(sim, before)
        run = store.latest_run(record.id)
        assert run is not None and run.status == "succeeded", run
        tickets, closed_kept, with_bytes = kept(store, record.id)
        assert (tickets, closed_kept) == (truth["ticket"] - closed, 0)
        assert 0 < comments < truth["ticket"]  # no reads for closed tickets (all: >= one a ticket)
        assert downloads > 0 and with_bytes > 0  # the SQLite store keeps files: bytes are fetched

        quiet = SyncJobs(manager, download_attachments=False, scheduling=False)
        before = sim.stats()
        quiet.start(record.id, full=True)
        await quiet.wait(record.id)
        assert requests_during(sim, before)[1] == 0
        assert store.latest_run(record.id).mode == "full"  # type: ignore[union-attr]


async def test_library_run_with_credentials_given_directly(sim: SimulatorHandle, tmp_path: Path) -> None:
    truth = sim.truth()
    connection = Connection.from_api_token(
        sim.subdomain, sim.admin_email, sim.api_token, base_url=sim.base_url
    )
    with Store.open(tmp_path / "lib.db") as store:
        failures: list[Any] = []
        before = sim.stats()
        report = await run_sync(store, connection, attachments=False, on_failure=failures.append)
        comments, downloads = requests_during(sim, before)
        assert report.status == "succeeded" and not failures
        assert downloads == 0 and comments >= truth["ticket"]
        assert kept(store, sim.subdomain) == (truth["ticket"], truth["tickets_by_status"]["closed"], 0)
        assert store.get_connection(sim.subdomain) is None  # nothing about the credentials is stored

        # Excluding closed tickets without a stored connection applies to this run only.
        report = await run_sync(store, connection, full=True, exclude_closed_tickets=True, attachments=False)
        assert kept(store, sim.subdomain)[1] == 0 and report.mode == "full"


async def test_reconnecting_keeps_skip_closed_tickets(tmp_path: Path) -> None:
    """Consent again (the OAuth reconnect of `zensync connect`) used to reset the setting to off."""
    with Store.open(tmp_path / "r.db") as store:
        manager = manager_for(store)
        account = ZendeskConfig(subdomain="acme", base_url="http://127.0.0.1:9")
        redirect = "http://localhost:8001/source-connections/callback"
        common: dict[str, Any] = {"client_id": "zensync", "client_secret": "s", "redirect_uri": redirect}
        manager.begin_oauth(name=None, config=account, exclude_closed_tickets=True, **common)
        assert store.get_connection("acme").exclude_closed_tickets is True  # type: ignore[union-attr]
        manager.begin_oauth(name=None, config=account, reconnect=True, **common)
        assert store.get_connection("acme").exclude_closed_tickets is True  # type: ignore[union-attr]
        manager.begin_oauth(name=None, config=account, reconnect=True, exclude_closed_tickets=False, **common)
        assert store.get_connection("acme").exclude_closed_tickets is False  # type: ignore[union-attr]
