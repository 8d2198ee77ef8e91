"""Syncing the simulator over real HTTP from a test: one engine run, and admin API calls."""

from __future__ import annotations

from typing import Any

from zendesk_simulator.testing import SimulatorHandle
from zensync.config import ZendeskConfig
from zensync.source import ZendeskSource
from zensync.store import Store
from zensync.sync import RunReport, SyncEngine
from zensync.zendesk.auth import ApiTokenAuth
from zensync.zendesk.client import ZendeskClient


async def sync(store: Store, sim: SimulatorHandle, **client_options: Any) -> RunReport:
    """One sync of the simulated account with attachment bytes (API-token auth)."""
    config = ZendeskConfig(subdomain=sim.subdomain, base_url=sim.base_url)
    auth = ApiTokenAuth(sim.admin_email, sim.api_token)
    async with ZendeskClient(config, auth, **client_options) as client:
        engine = SyncEngine(
            store, ZendeskSource(client, config), sim.subdomain, client=client, download_attachments=True
        )
        return await engine.run()


def api(sim: SimulatorHandle, method: str, path: str, body: Any = None) -> dict[str, Any]:
    """An admin API call that must succeed; its JSON (empty for 204)."""
    response = sim.request(method, path, json=body)
    assert response.status_code < 300, response.text
    return response.json() if response.content else {}
