"""The engine with the real source and client against the simulator over HTTP, on both
backends: a complete and searchable copy, idempotent re-runs, upstream writes flowing in,
and a full re-read removing what incremental exports never reported."""

from __future__ import annotations

import asyncio
from typing import Any

from zendesk_simulator.testing import SimulatorHandle, running_simulator
from zensync.config import ZendeskConfig
from zensync.entities import SourcePage, ZendeskTicketEntity
from zensync.source import ZendeskSource
from zensync.store import Store
from zensync.sync import RunReport, SyncEngine
from zensync.zendesk.auth import ApiTokenAuth
from zensync.zendesk.client import ZendeskClient

TYPES = ("organization", "user", "ticket", "comment", "attachment")


async def sync(store: Store, sim: SimulatorHandle, *, full: bool = False) -> RunReport:
    config = ZendeskConfig(subdomain=sim.subdomain, base_url=sim.base_url)
    async with ZendeskClient(config, ApiTokenAuth(sim.admin_email, sim.api_token), backoff=0.05) as client:
        engine = SyncEngine(store, ZendeskSource(client, config), sim.subdomain, client=client)
        return await engine.run(full=full)


def truth_counts(sim: SimulatorHandle) -> dict[str, int]:
    truth = sim.truth()
    return {t: truth[t] for t in TYPES}


def write(sim: SimulatorHandle, method: str, path: str, body: Any = None) -> dict[str, Any]:
    response = sim.request(method, path, json=body)
    assert response.status_code < 300, response.text
    return response.json() if response.content else {}


async def test_the_copy_is_complete_searchable_and_stable(store: Store, simulator: SimulatorHandle) -> None:
    report = await sync(store, simulator)
    assert report.mode == "full"
    assert report.status == "succeeded"
    assert store.counts(simulator.subdomain) == truth_counts(simulator)
    assert report.requests_by_bucket.get("account", 0) > 0
    assert report.requests_by_bucket.get("incremental-exports", 0) > 0

    # The phrases the simulator planted are found, ranked first, and linked to their ticket.
    for planted in simulator.truth()["phrases"]:
        hits = store.search(planted["phrase"], types=[planted["type"]], limit=3)
        assert hits, planted
        assert (hits[0].entity_type, hits[0].id) == (planted["type"], planted["id"]), planted
        if "ticket_id" in planted:
            assert hits[0].ticket_id == planted["ticket_id"]
        assert "<mark>" in hits[0].snippet

    before = store.content_hashes()
    again = await sync(store, simulator)
    assert again.mode == "incremental"
    assert again.counts.changed == 0
    assert store.content_hashes() == before


async def test_upstream_changes_flow_in_and_a_full_reread_cleans_up(store: Store) -> None:
    with running_simulator(tickets=30, seed=5, minute_seconds=1) as sim:
        cid = sim.subdomain
        await sync(store, sim)
        tickets = sorted(
            (e for e in store.iter_entities(cid, "ticket") if isinstance(e, ZendeskTicketEntity)),
            key=lambda t: t.id,
        )
        live = [t for t in tickets if t.status in ("new", "open", "pending")]
        renamed, deleted = live[0], live[1]
        deleted_comments = len(
            [c for c in store.iter_entities(cid, "comment") if getattr(c, "ticket_id", None) == deleted.id]
        )
        created = write(
            sim,
            "POST",
            "/api/v2/tickets.json",
            {"ticket": {"subject": "Espresso machine leaking", "comment": {"body": "Puddles everywhere."}}},
        )["ticket"]
        write(sim, "PUT", f"/api/v2/tickets/{renamed.id}.json", {"ticket": {"subject": "Renamed upstream"}})
        write(sim, "DELETE", f"/api/v2/tickets/{deleted.id}.json")
        # A row whose deletion was never reported (lost before this copy existed).
        ghost = ZendeskTicketEntity.from_api({"id": 987654321, "subject": "Ghost ticket"})
        cursor = store.get_cursor(cid) or {}
        store.apply_page(cid, SourcePage(stream="tickets", entities=[ghost], cursor=cursor), None)
        await asyncio.sleep(1.2)  # the exports hold back the most recent (simulated) minute

        incremental = await sync(store, sim)
        assert incremental.mode == "incremental"
        assert incremental.counts["ticket"].inserted == 1
        assert incremental.counts["ticket"].updated >= 1
        assert incremental.counts["ticket"].deleted == 1
        assert incremental.counts["comment"].deleted == deleted_comments
        assert store.get_entity(cid, "ticket", deleted.id) is None
        assert store.get_entity(cid, "ticket", renamed.id).subject == "Renamed upstream"  # type: ignore[union-attr]
        hits = store.search("espresso leaking", connection_id=cid)
        assert ("ticket", created["id"]) in [(h.entity_type, h.id) for h in hits]
        assert store.get_entity(cid, "ticket", ghost.id) is not None  # incremental cannot know

        full = await sync(store, sim, full=True)
        assert full.mode == "full"
        assert full.counts["ticket"].deleted == 1
        assert full.counts.total("inserted") == 0
        assert store.get_entity(cid, "ticket", ghost.id) is None
        assert store.counts(cid) == truth_counts(sim)
