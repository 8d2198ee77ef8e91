"""One bad file never stops an account (over real HTTP to the simulator, on both backends).

Each attachment below keeps failing in its own way, by the simulator's standing faults
(``POST /_simulator/faults``): 429s past the retry budget, a dropped connection, the storage
host's 403 for an expired pre-signed link, a body cut short. The run still succeeds and stores
everything else; the four are recorded as failed in the report and in the store; a change
made afterwards still arrives; once the files can be had, a later run gets them with a fresh
link (Show Attachment). A sync killed mid-download leaves no temporary file after the next run.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import simulator_sync
import sqlalchemy as sa
from simulator_sync import api

from zendesk_simulator.testing import SimulatorHandle, running_simulator
from zensync.store import Store
from zensync.store.schema import attachments
from zensync.sync import RunReport

RUNNER = Path(__file__).parent / "sync_runner.py"
FAULTS = ("429", "drop", "403", "truncate")


@pytest.fixture(scope="module")
def simulator() -> Iterator[SimulatorHandle]:
    with running_simulator(tickets=12, minute_seconds=1, seed=5) as sim:
        yield sim


async def sync(store: Store, sim: SimulatorHandle) -> RunReport:
    # A short retry budget, so that 429s "past the retry budget" come within a test's time.
    return await simulator_sync.sync(store, sim, max_retries=2, backoff=0.05, max_backoff=0.2)


def token_of(content_url: str) -> str:
    return urlsplit(content_url).path.rstrip("/").rsplit("/", 1)[-1]


def stand(sim: SimulatorHandle, path_prefix: str, kind: str) -> None:
    response = httpx.post(
        f"{sim.base_url}/_simulator/faults", json={"path_prefix": path_prefix, "kind": kind, "times": None}
    )
    assert response.status_code == 201, response.text


def clear_faults(sim: SimulatorHandle) -> None:
    httpx.delete(f"{sim.base_url}/_simulator/faults").raise_for_status()


def some_attachments(sim: SimulatorHandle, n: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for ticket_id in range(1, 13):
        response = sim.request("GET", f"/api/v2/tickets/{ticket_id}/comments.json?include_inline_images=true")
        if response.status_code == 404:  # a deleted ticket
            continue
        data = response.json()
        for comment in data.get("comments") or []:
            for att in comment.get("attachments") or []:
                found.append({**att, "ticket_id": ticket_id})
                if len(found) == n:
                    return found
    raise AssertionError("the simulated account has too few attachments")


def download_state(store: Store) -> dict[int, tuple[str | None, str | None, int]]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                attachments.c.id,
                attachments.c.content_sha256,
                attachments.c.download_error,
                attachments.c.download_attempts,
            )
        ).all()
    return {int(r[0]): (r[1], r[2], int(r[3])) for r in rows}


async def test_files_that_keep_failing_are_recorded_and_fetched_later(
    store: Store, simulator: SimulatorHandle
) -> None:
    sim = simulator
    clear_faults(sim)
    bad = some_attachments(sim, len(FAULTS))
    for att, kind in zip(bad, FAULTS, strict=True):
        token = token_of(att["content_url"])
        # 429 and drop strike the account's own host, 403 and truncate the storage host.
        where = "/attachments/token/" if kind in ("429", "drop") else "/attachment-storage/"
        stand(sim, where + token, kind)
    bad_ids = {att["id"] for att in bad}
    try:
        first = await sync(store, sim)
        assert first.status == "succeeded"
        assert first.attachments.failed == len(FAULTS)
        assert {f["attachment_id"] for f in first.failed_downloads} == bad_ids
        truth = sim.truth()
        assert store.counts(sim.subdomain)["attachment"] == truth["attachment"]
        assert store.counts(sim.subdomain)["ticket"] == truth["ticket"]
        state = download_state(store)
        for attachment_id, (sha, error, attempts) in state.items():
            if attachment_id in bad_ids:
                assert sha is None and error and attempts == 1, (attachment_id, error)
            else:
                assert error is None and (sha is None or store.has_blob(sha))
        skipped = first.attachments.skipped_malware + first.attachments.skipped_too_large
        assert sum(sha is None for sha, _, _ in state.values()) == len(FAULTS) + skipped
        errors = " ".join(state[a["id"]][1] or "" for a in bad)
        assert "RateLimited" in errors and "Request has expired" in errors
        assert store.failed_download_count(sim.subdomain) == len(FAULTS)
        assert "not downloaded" in str(first.render().caption)

        # Changes made afterwards still arrive, while the files keep failing.
        ticket = bad[0]["ticket_id"]
        api(sim, "PUT", f"/api/v2/tickets/{ticket}.json", {"ticket": {"priority": "urgent"}})
        await asyncio.sleep(1.2)  # the exports hold back the most recent (simulated) minute
        second = await sync(store, sim)
        assert second.status == "succeeded" and second.attachments.retried == len(FAULTS)
        stored_ticket = store.get_entity(sim.subdomain, "ticket", ticket)
        assert stored_ticket is not None and getattr(stored_ticket, "priority") == "urgent"  # noqa: B009
        assert all(download_state(store)[a][2] >= 2 for a in bad_ids)  # tried again, and recorded
    finally:
        clear_faults(sim)

    # The storage host works again: the next run fetches them, each with a fresh link.
    shows_before = sim.stats()["requests"].get("GET /api/v2/attachments/{id}", 0)
    third = await sync(store, sim)
    assert third.status == "succeeded" and third.attachments.failed == 0
    assert third.attachments.retried == len(FAULTS) and third.attachments.downloaded >= len(FAULTS)
    assert sim.stats()["requests"].get("GET /api/v2/attachments/{id}", 0) - shows_before == len(FAULTS)
    state = download_state(store)
    for attachment_id in bad_ids:
        sha, error, _ = state[attachment_id]
        assert sha is not None and error is None and store.has_blob(sha)
    assert store.failed_download_count(sim.subdomain) == 0


def test_a_sync_killed_mid_download_leaves_no_temporary_file(tmp_path: Path) -> None:
    """A 3 MB file stalls half-way (past the 1 MB kept in memory, so half of it is on disk);
    the sync is killed with SIGKILL; the next run leaves no partial file behind."""
    with running_simulator(tickets=3, minute_seconds=1, seed=5) as sim:
        big = b"%PDF-1.4\n" + os.urandom(3 * 1024 * 1024)
        upload = httpx.post(
            f"{sim.base_url}/api/v2/uploads",
            params={"filename": "big.pdf"},
            content=big,
            headers={"Authorization": sim.basic_auth_header(), "Content-Type": "application/pdf"},
        )
        assert upload.status_code == 201, upload.text
        token = upload.json()["upload"]["token"]
        content_url = upload.json()["upload"]["attachment"]["content_url"]
        api(
            sim,
            "PUT",
            "/api/v2/tickets/1.json",
            {"ticket": {"comment": {"body": "see file", "uploads": [token]}}},
        )
        time.sleep(1.2)
        stand(sim, "/attachment-storage/" + token_of(content_url), "stall")
        blobs = tmp_path / "blobs"
        args = [
            sys.executable,
            str(RUNNER),
            "--db",
            str(tmp_path / "z.db"),
            "--blob-dir",
            str(blobs),
            "--source",
            "simulator",
            "--download",
            "--base-url",
            sim.base_url,
            "--subdomain",
            sim.subdomain,
            "--email",
            sim.admin_email,
            "--token",
            sim.api_token,
        ]
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 60
            parts: list[Path] = []
            while not parts and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.1)
                parts = list((blobs / "tmp").glob("*.part")) if (blobs / "tmp").is_dir() else []
            assert parts, "the stalled download never reached the disk"
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.communicate()
        assert all(p.exists() for p in parts)  # what a killed sync leaves

        clear_faults(sim)
        again = subprocess.run(args, capture_output=True, text=True, timeout=120)
        assert again.returncode == 0, again.stderr[-3000:]
        report = json.loads(again.stdout.strip().splitlines()[-1])
        assert report["status"] == "succeeded"
        assert list((blobs / "tmp").glob("*")) == []
        with Store.open(str(tmp_path / "z.db"), blob_dir=blobs) as store:
            att = next(
                a for a in store.iter_entities(None, "attachment") if getattr(a, "file_name", "") == "big.pdf"
            )
            sha = getattr(att, "content_sha256")  # noqa: B009
            assert sha and store.blob_path(sha).read_bytes() == big
