"""`zensync sync`'s options reach the requests and the store, on both kinds of connection.

The options are applied in one place (zensync.sync.runner); these tests prove it from the
outside: the simulator's request counts (``/_simulator/stats``) show what was asked of Zendesk,
and the database shows what was kept. One private simulator (the shared one is read-only and
its counters are shared), measured as deltas around each command.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from zendesk_simulator.testing import SimulatorHandle, running_simulator
from zensync.store import Store

COMMENTS = "GET /api/v2/tickets/{id}/comments"
DOWNLOADS = "attachments-download"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorHandle]:
    with running_simulator(tickets=40, seed=11, minute_seconds=1) as handle:
        yield handle


class Measured:
    """What one command asked of the simulator: per-ticket comment reads, attachment downloads."""

    def __init__(self, sim: SimulatorHandle) -> None:
        self.sim = sim
        self.before = sim.stats()

    def delta(self) -> tuple[int, int]:
        after = self.sim.stats()
        comments = after["requests"].get(COMMENTS, 0) - self.before["requests"].get(COMMENTS, 0)
        downloads = after["buckets"].get(DOWNLOADS, 0) - self.before["buckets"].get(DOWNLOADS, 0)
        return comments, downloads


def stored(db: Path, connection_id: str) -> dict[str, Any]:
    with Store.open(db) as store:
        tickets = list(store.iter_entities(connection_id, "ticket"))
        attachments = list(store.iter_entities(connection_id, "attachment"))
        record = store.get_connection(connection_id)
        run = store.latest_run(connection_id)
        return {
            "tickets": len(tickets),
            "closed": sum(1 for t in tickets if t.status == "closed"),
            "attachments": len(attachments),
            "with_bytes": sum(1 for a in attachments if a.content_sha256),
            "exclude_setting": record.exclude_closed_tickets if record else None,
            "mode": run.mode if run else None,
        }


def test_options_with_credentials_given_directly(sim: SimulatorHandle, cli: Any, tmp_path: Path) -> None:
    truth = sim.truth()
    closed = truth["tickets_by_status"].get("closed", 0)
    assert closed > 0 and truth["attachment"] > 0, "the account must have closed tickets and attachments"
    db = tmp_path / "direct.db"
    args = ["sync", "--db", str(db), *cli.sim_args(sim)]

    measured = Measured(sim)
    first = cli.run(*args, "--exclude-closed-tickets", "--no-attachments", cwd=tmp_path, env=cli.sim_env(sim))
    assert first.code == 0, first.stderr
    comments, downloads = measured.delta()
    kept = stored(db, sim.subdomain)
    assert downloads == 0 and kept["with_bytes"] == 0 and kept["attachments"] > 0
    assert kept["closed"] == 0 and kept["tickets"] == truth["ticket"] - closed

    measured = Measured(sim)
    again = cli.run(*args, "--full", "--include-closed-tickets", cwd=tmp_path, env=cli.sim_env(sim))
    assert again.code == 0, again.stderr
    comments_all, downloads = measured.delta()
    kept = stored(db, sim.subdomain)
    assert kept["mode"] == "full"
    assert kept["closed"] == closed and kept["tickets"] == truth["ticket"]
    # Comments are read per ticket on a small account (at least one read each), and never for a
    # closed ticket when they are skipped.
    assert comments_all >= truth["ticket"] and comments_all - comments >= closed
    # Every attachment's bytes but a file flagged as malware (not fetched without an override).
    assert downloads > 0 and kept["attachments"] == truth["attachment"]
    assert kept["attachments"] - 2 <= kept["with_bytes"] <= downloads


def test_options_with_a_stored_connection(sim: SimulatorHandle, cli: Any, tmp_path: Path) -> None:
    truth = sim.truth()
    closed = truth["tickets_by_status"]["closed"]
    env = cli.env(ZENSYNC_SECRET_KEY=cli.secret_key())
    db = tmp_path / "stored.db"
    token = f"{sim.admin_email}/{sim.api_token}"
    connect = ["connect", "--db", str(db), *cli.sim_args(sim), "--api-token", token]
    assert (made := cli.run(*connect, cwd=tmp_path, env=env)).code == 0, made.stderr

    measured = Measured(sim)
    first = cli.run("sync", "--db", str(db), cwd=tmp_path, env=env)
    assert first.code == 0, first.stderr
    comments_all, _ = measured.delta()
    kept = stored(db, sim.subdomain)
    assert kept["closed"] == closed and kept["with_bytes"] >= truth["attachment"] - 2
    assert kept["exclude_setting"] is False

    # The flag used to be ignored on a stored connection. Now it is saved on the connection and
    # this run reads everything again, so the copy loses the closed tickets it held.
    measured = Measured(sim)
    skip = cli.run(
        "sync", "--db", str(db), "--exclude-closed-tickets", "--no-attachments", cwd=tmp_path, env=env
    )
    assert skip.code == 0, skip.stderr
    assert "now skips closed tickets" in skip.stderr
    comments, downloads = measured.delta()
    kept = stored(db, sim.subdomain)
    assert kept["exclude_setting"] is True and kept["mode"] == "full"
    assert kept["closed"] == 0 and kept["tickets"] == truth["ticket"] - closed
    assert downloads == 0
    assert comments_all - comments >= closed

    # Connecting again (new credentials, same account) keeps "skip closed tickets".
    assert (again := cli.run(*connect, cwd=tmp_path, env=env)).code == 0, again.stderr
    assert stored(db, sim.subdomain)["exclude_setting"] is True
    later = cli.run("sync", "--db", str(db), "--full", cwd=tmp_path, env=env)
    assert later.code == 0, later.stderr
    assert "now skips" not in later.stderr and "now includes" not in later.stderr
    kept = stored(db, sim.subdomain)
    assert kept["mode"] == "full" and kept["closed"] == 0 and kept["exclude_setting"] is True
