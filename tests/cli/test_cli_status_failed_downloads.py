"""`zensync status` tells how many attachment files could not be downloaded and wait for a retry.

One attachment's pre-signed storage link answers 403 "Request has expired" for good (a standing
fault of the simulator, ``POST /_simulator/faults``); the sync succeeds, and ``status`` (human and
``--json``) counts that file until a later sync fetches it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from zendesk_simulator.testing import SimulatorHandle, running_simulator


@pytest.fixture(scope="module")
def faulty_simulator() -> Iterator[SimulatorHandle]:
    """A private account: this test adds faults, which the shared one must not see."""
    with running_simulator(tickets=6, minute_seconds=1, seed=11) as sim:
        yield sim


def first_attachment(sim: SimulatorHandle) -> dict[str, Any]:
    for ticket_id in range(1, 7):
        response = sim.request("GET", f"/api/v2/tickets/{ticket_id}/comments.json")
        if response.status_code != 200:
            continue
        for comment in response.json().get("comments") or []:
            for att in comment.get("attachments") or []:
                if att.get("malware_scan_result") == "malware_not_found":
                    return dict(att)
    raise AssertionError("the simulated account has no attachment")


def test_status_counts_attachments_waiting_for_a_retry(
    faulty_simulator: SimulatorHandle, cli: Any, tmp_path: Path
) -> None:
    sim = faulty_simulator
    db = tmp_path / "copy.db"
    token = urlsplit(first_attachment(sim)["content_url"]).path.rstrip("/").rsplit("/", 1)[-1]
    fault = {"path_prefix": f"/attachment-storage/{token}", "kind": "403", "times": None}
    created = httpx.post(f"{sim.base_url}/_simulator/faults", json=fault)
    assert created.status_code == 201, created.text
    try:
        synced = cli.run("sync", "--db", str(db), *cli.sim_args(sim), cwd=tmp_path, env=cli.sim_env(sim))
        assert synced.code == 0, synced.stderr
        data = cli.run("status", "--json", "--db", str(db), cwd=tmp_path).json()
        assert data["failed_downloads"] == 1
        assert [c["failed_downloads"] for c in data["connections"]] == [1]
        human = cli.run("status", "--db", str(db), cwd=tmp_path)
        assert human.code == 0, human.stderr
        assert "1 attachment not downloaded: the next sync tries again" in human.stdout
    finally:
        httpx.delete(f"{sim.base_url}/_simulator/faults").raise_for_status()

    # The link works again: the next sync fetches the file and status no longer counts it.
    again = cli.run("sync", "--db", str(db), *cli.sim_args(sim), cwd=tmp_path, env=cli.sim_env(sim))
    assert again.code == 0, again.stderr
    data = cli.run("status", "--json", "--db", str(db), cwd=tmp_path).json()
    assert data["failed_downloads"] == 0 and data["connections"][0]["failed_downloads"] == 0
    human = cli.run("status", "--db", str(db), cwd=tmp_path)
    assert "not downloaded" not in human.stdout
