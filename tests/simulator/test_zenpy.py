"""Zenpy, a client written against real Zendesk, reads the simulator and gets exact counts.

Zenpy builds ``https://{subdomain}.zendesk.com`` URLs; its ``ZENPY_FORCE_NETLOC`` and
``ZENPY_FORCE_SCHEME`` environment variables (zenpy/lib/api.py, ``_build_url``) point it at the
simulator instead, and it follows the absolute ``next_page`` / ``links.next`` / ``after_url``
the simulator returns. Nothing in Zenpy is patched.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from zenpy import Zenpy

from zendesk_simulator.testing import SimulatorHandle


@pytest.fixture(scope="module")
def zenpy(simulator: SimulatorHandle) -> Iterator[Zenpy]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZENPY_FORCE_NETLOC", urlsplit(simulator.base_url).netloc)
        mp.setenv("ZENPY_FORCE_SCHEME", "http")
        yield Zenpy(
            subdomain=simulator.subdomain,
            email=simulator.admin_email,
            token=simulator.api_token,
            disable_cache=True,
            ratelimit_budget=120,
        )


def test_list_endpoints_cursor_and_offset(zenpy: Zenpy, simulator: SimulatorHandle) -> None:
    truth = simulator.truth()
    listable = truth["ticket"] - truth["archived_tickets"]  # List Tickets omits archived tickets
    by_cursor = [t.id for t in zenpy.tickets()]
    by_offset = [t.id for t in zenpy.tickets(cursor_pagination=False)]
    assert len(by_cursor) == len(set(by_cursor)) == listable
    assert by_offset == by_cursor
    assert len({u.id for u in zenpy.users()}) == truth["user"]
    assert len({u.id for u in zenpy.users(cursor_pagination=False)}) == truth["user"]
    assert len({o.id for o in zenpy.organizations()}) == truth["organization"]
    assert len({g.id for g in zenpy.groups()}) == truth["groups"]


def test_incremental_exports(zenpy: Zenpy, simulator: SimulatorHandle) -> None:
    truth = simulator.truth()
    tickets = list(zenpy.tickets.incremental(start_time=0, per_page=70))
    assert len(tickets) == truth["ticket"] + truth["deleted"]["ticket"]
    assert sum(t.status == "deleted" for t in tickets) == truth["deleted"]["ticket"]
    # time-based: items sharing a timestamp repeat across pages; Zendesk says de-duplicate
    by_time = {t.id for t in zenpy.tickets.incremental(start_time=0, paginate_by_time=True, per_page=60)}
    assert by_time == {t.id for t in tickets}
    users = list(zenpy.users.incremental(start_time=0, per_page=40))
    assert len(users) == truth["user"] + truth["deleted"]["user"]
    orgs = {o.id for o in zenpy.organizations.incremental(start_time=0, per_page=4)}
    assert len(orgs) == truth["organization"] + truth["deleted"]["organization"]


def test_comments_show_many_me_and_deleted(zenpy: Zenpy, simulator: SimulatorHandle) -> None:
    truth = simulator.truth()
    comments = list(zenpy.tickets.comments(ticket=18))
    assert len(comments) > 100  # the heavy ticket, across pages
    assert all(c.author_id for c in comments)
    with_inline = list(zenpy.tickets.comments(ticket=18, include_inline_images=True))
    assert len(with_inline) == len(comments)
    assert [t.id for t in zenpy.tickets(ids=[1, 2, 3])] == [1, 2, 3]
    assert zenpy.users.me().email == simulator.admin_email
    assert len(list(zenpy.tickets.deleted())) == truth["deleted"]["ticket"]


def test_every_comment_through_ticket_events(zenpy: Zenpy, simulator: SimulatorHandle) -> None:
    truth = simulator.truth()
    deleted = {t.id for t in zenpy.tickets.deleted()}
    comment_ids = set()
    for event in zenpy.tickets.events(start_time=0, include="comment_events"):
        if event.ticket_id in deleted:
            continue
        for child in event.child_events:
            if child["event_type"] == "Comment":
                comment_ids.add(child["id"])
    assert len(comment_ids) == truth["comment"]


def test_audits_per_ticket_in_bulk_and_as_events(zenpy: Zenpy, simulator: SimulatorHandle) -> None:
    truth = simulator.truth()
    heavy = list(zenpy.tickets.audits(ticket=18))
    assert len(heavy) > 100 and all(a.ticket_id == 18 for a in heavy)
    listed = [a.id for a in zenpy.tickets.audits()]
    assert len(listed) == len(set(listed)) == truth["audit_listed"] < truth["audit"]  # archived: not listed
    readable = {t.id for t in zenpy.tickets.incremental(start_time=0) if t.status != "deleted"}
    per_ticket = sum(len(list(zenpy.tickets.audits(ticket=tid))) for tid in sorted(readable))
    assert per_ticket == truth["audit"]
    events = {e.id for e in zenpy.tickets.events(start_time=0)}
    assert len(events) == truth["ticket_event"]


def test_objects_tickets_point_to(zenpy: Zenpy, simulator: SimulatorHandle) -> None:
    """Every object kind the truth counts, read through Zenpy's own API classes."""
    truth = simulator.truth()
    assert len(list(zenpy.ticket_fields())) == truth["ticket_fields"]
    assert len(list(zenpy.user_fields())) == truth["user_fields"]
    assert len(list(zenpy.organization_fields())) == truth["organization_fields"]
    assert len(list(zenpy.ticket_forms())) == truth["ticket_forms"]
    assert len(list(zenpy.brands())) == truth["brands"]
    assert len(list(zenpy.custom_statuses())) == truth["custom_statuses"]
    assert len({m.id for m in zenpy.group_memberships()}) == truth["group_memberships"]
    assert len({m.id for m in zenpy.organization_memberships()}) == truth["organization_memberships"]
    assert len({r.id for r in zenpy.satisfaction_ratings()}) == truth["satisfaction_ratings"]
    assert len({m.id for m in zenpy.ticket_metrics()}) == truth["ticket_metrics"]
    assert len({e.id for e in zenpy.ticket_metric_events(start_time=0)}) == truth["ticket_metric_events"]
    assert len(list(zenpy.macros())) == truth["macros"]
    assert len(list(zenpy.sla_policies())) == truth["sla_policies"]
    assert len(list(zenpy.tags())) == truth["tags"]
    identities = sum(len(list(zenpy.users.identities(id=u.id))) for u in zenpy.users())
    assert identities == truth["identities"]


def test_ticket_ids_resolve(zenpy: Zenpy) -> None:
    """The ids a ticket carries point to objects that exist."""
    fields = {f.id for f in zenpy.ticket_fields()}
    forms = {f.id for f in zenpy.ticket_forms()}
    brands = {b.id for b in zenpy.brands()}
    statuses = {s.id for s in zenpy.custom_statuses()}
    ratings = {r.id for r in zenpy.satisfaction_ratings()}
    for ticket in zenpy.tickets():
        assert {f["id"] for f in ticket.custom_fields} <= fields
        assert ticket.ticket_form_id in forms and ticket.brand_id in brands
        assert ticket.custom_status_id in statuses
        rating_id = getattr(ticket.satisfaction_rating, "id", None)
        if rating_id is not None:
            assert rating_id in ratings


def test_search_and_export(zenpy: Zenpy, simulator: SimulatorHandle) -> None:
    truth = simulator.truth()
    open_tickets = list(zenpy.search(type="ticket", status="open"))
    assert open_tickets and all(t.status == "open" for t in open_tickets)
    assert len(open_tickets) == truth["tickets_by_status"]["open"]
    assert zenpy.search.count(type="ticket", status="open") == len(open_tickets)
    exported = {t.id for t in zenpy.search_export(type="ticket", status="open")}
    assert exported == {t.id for t in open_tickets}
    users = {u.id for u in zenpy.search_export(type="user")}
    assert len(users) == truth["user"]
