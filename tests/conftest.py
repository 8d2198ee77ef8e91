"""Fixtures shared by every test folder.

``simulator``: one small simulated Zendesk account per test session, in a subprocess, over
real HTTP. Treat it as read-only: a test that writes (creates, updates or deletes tickets,
users or organizations) must start its own with ``running_simulator(...)`` so the counts in
``simulator.truth()`` stay true for everyone else. A simulated minute lasts two seconds here,
so rate-limit windows, the ``start_time`` floor and the minute held back by incremental
exports all pass quickly.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from zendesk_simulator.testing import SimulatorHandle, running_simulator

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
