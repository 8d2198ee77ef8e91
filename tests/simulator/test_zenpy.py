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
    assert len(listed) == len(set(listed)) and 0 < len(listed) < truth["audit"]
    events = {e.id for e in zenpy.tickets.events(start_time=0)}
    assert len(events) == truth["ticket_event"]
