"""Tickets in the copy carry what people look at: field titles with values, form, brand and
status names, tags, the satisfaction rating and the ticket metrics (first reply and full
resolution times), searchable and exported, read with a handful of counted requests."""

from __future__ import annotations

import json

import httpx

from zendesk_simulator.testing import SimulatorHandle
from zensync.config import ZendeskConfig
from zensync.entities import ZendeskTicketEntity
from zensync.source import ZendeskSource
from zensync.source.context import REFERENCE_BUCKET
from zensync.store import Store
from zensync.sync import RunReport, SyncEngine
from zensync.zendesk.auth import ApiTokenAuth
from zensync.zendesk.client import ZendeskClient


async def sync(store: Store, sim: SimulatorHandle) -> RunReport:
    config = ZendeskConfig(subdomain=sim.subdomain, base_url=sim.base_url)
    async with ZendeskClient(config, ApiTokenAuth(sim.admin_email, sim.api_token), backoff=0.05) as client:
        engine = SyncEngine(store, ZendeskSource(client, config), sim.subdomain, client=client)
        return await engine.run()


def zendesk(sim: SimulatorHandle, path: str) -> dict:
    with httpx.Client(
        base_url=sim.base_url, headers={"Authorization": sim.basic_auth_header()}, timeout=30
    ) as c:
        response = c.get(path)
        assert response.status_code == 200, response.text
        return dict(response.json())


async def test_tickets_carry_names_ratings_and_metrics(store: Store, simulator: SimulatorHandle) -> None:
    report = await sync(store, simulator)
    # the four reference lists (fields, forms, brands, statuses), read once, show in the report
    assert report.requests_by_bucket.get(REFERENCE_BUCKET) == 4
    tickets = {
        e.id: e
        for e in store.iter_entities(simulator.subdomain, "ticket")
        if isinstance(e, ZendeskTicketEntity)
    }
    fields = {f["id"]: f for f in zendesk(simulator, "/api/v2/ticket_fields.json")["ticket_fields"]}
    brands = {b["id"]: b["name"] for b in zendesk(simulator, "/api/v2/brands.json")["brands"]}
    forms = {
        f["id"]: f["display_name"] for f in zendesk(simulator, "/api/v2/ticket_forms.json")["ticket_forms"]
    }
    assert len(brands) > 1 and len(forms) > 1
    exported = {
        t["id"]: t
        for t in zendesk(simulator, "/api/v2/incremental/tickets/cursor.json?start_time=0")["tickets"]
    }
    rated = 0
    for ticket in tickets.values():
        raw_ids = exported.get(ticket.id)
        if raw_ids is not None:
            assert ticket.brand_name == brands[raw_ids["brand_id"]]
            assert ticket.ticket_form_name == forms[raw_ids["ticket_form_id"]]
        assert ticket.custom_status_name
        for value in ticket.custom_field_values:
            field = fields[value["id"]]
            assert value["title"] == field["title"]
            options = {o["value"]: o["name"] for o in field["custom_field_options"]}
            assert value["display_value"] == options.get(value["value"], value["value"])
        raw = (
            zendesk(simulator, f"/api/v2/tickets/{ticket.id}.json")["ticket"] if ticket.id % 25 == 0 else None
        )
        if raw is not None:
            assert ticket.satisfaction_score == raw["satisfaction_rating"]["score"]
            assert ticket.tags == raw["tags"]
            metric = zendesk(simulator, f"/api/v2/tickets/{ticket.id}/metrics.json")["ticket_metric"]
            assert ticket.first_reply_time_minutes == metric["reply_time_in_minutes"]["calendar"]
            assert (
                ticket.full_resolution_time_minutes == metric["full_resolution_time_in_minutes"]["calendar"]
            )
        rated += ticket.satisfaction_score in ("good", "bad")
    assert rated > 0
    assert {t.brand_name for t in tickets.values()} == set(brands.values())  # both brands in use
    solved = [t for t in tickets.values() if t.status in ("solved", "closed")]
    assert solved and all(t.full_resolution_time_minutes is not None for t in solved)

    # searchable by what the ids mean, and exported with it
    region = next(t for t in tickets.values() if any(v["title"] == "Region" for v in t.custom_field_values))
    value = next(v for v in region.custom_field_values if v["title"] == "Region")["display_value"]
    hits = store.search(f"Region {value}", types=["ticket"], limit=500)
    assert region.id in {h.id for h in hits}
    assert json.loads(json.dumps(region.content()))["custom_field_values"]

    again = await sync(store, simulator)
    assert again.counts.changed == 0  # the names do not make unchanged tickets look changed
