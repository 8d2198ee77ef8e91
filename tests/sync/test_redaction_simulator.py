"""Redactions through the Agent Workspace reach the copy (over real HTTP, on both backends).

api-reference.md, "Redact Ticket Comment In Agent Workspace" (``PUT
/api/v2/comment_redactions/{ticket_comment_id}``): an inline image marked ``redact`` in the
``html_body``, or named in ``external_attachment_urls``, is taken out of the comment
altogether and "permanently deleted from Zendesk servers"; text in ``<redact>`` tags becomes
▇. The reference does not say the ticket's ``updated_at`` moves, so the copy learns of it when
the ticket next changes: then the ticket's comments are read again, and an attachment they no
longer list leaves the store and the blob folder.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from simulator_sync import api, sync

from zendesk_simulator.testing import SimulatorHandle, running_simulator
from zensync.store import Store


@pytest.fixture(scope="module")
def simulator() -> Iterator[SimulatorHandle]:
    with running_simulator(tickets=60, minute_seconds=1, seed=11) as sim:
        yield sim


def open_ticket_with_inline_image(sim: SimulatorHandle) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """(ticket id, comment, its inline image) of a ticket that can still be updated."""
    for ticket_id in range(1, 61):
        response = sim.request("GET", f"/api/v2/tickets/{ticket_id}.json")
        if response.status_code != 200 or response.json()["ticket"]["status"] == "closed":
            continue
        comments = api(sim, "GET", f"/api/v2/tickets/{ticket_id}/comments.json?include_inline_images=true")
        for comment in comments["comments"]:
            for att in comment["attachments"]:
                if att["inline"]:
                    return ticket_id, comment, att
    raise AssertionError("no open ticket with an inline image")


async def test_an_inline_image_redacted_in_agent_workspace_leaves_the_copy(
    store: Store, simulator: SimulatorHandle
) -> None:
    sim = simulator
    first = await sync(store, sim)
    assert first.status == "succeeded"
    ticket_id, comment, image = open_ticket_with_inline_image(sim)
    stored = store.get_entity(sim.subdomain, "attachment", image["id"])
    assert stored is not None
    sha = getattr(stored, "content_sha256")  # noqa: B009
    assert sha and store.has_blob(sha)
    kept = [a["id"] for a in comment["attachments"] if a["id"] != image["id"]]

    secret = comment["plain_body"].split()[0]
    html = comment["html_body"].replace(
        f'<img src="{image["content_url"]}"', f'<img redact src="{image["content_url"]}"'
    )
    html = html.replace(secret, f"<redact>{secret}</redact>", 1)
    redacted = api(
        sim, "PUT", f"/api/v2/comment_redactions/{comment['id']}", {"ticket_id": ticket_id, "html_body": html}
    )["comment"]
    assert image["id"] not in [a["id"] for a in redacted["attachments"]]
    assert "▇" * len(secret) in redacted["plain_body"] and image["content_url"] not in redacted["html_body"]
    assert sim.request("GET", f"/api/v2/attachments/{image['id']}.json").status_code == 404

    api(
        sim,
        "PUT",
        f"/api/v2/tickets/{ticket_id}.json",
        {"ticket": {"comment": {"body": "Removed it.", "public": False}}},
    )
    await asyncio.sleep(1.2)  # the exports hold back the most recent (simulated) minute
    second = await sync(store, sim)
    assert second.status == "succeeded"
    assert second.counts["attachment"].deleted == 1
    assert store.get_entity(sim.subdomain, "attachment", image["id"]) is None
    for attachment_id in kept:
        assert store.get_entity(sim.subdomain, "attachment", attachment_id) is not None
    assert not store.has_blob(sha) or any(
        getattr(store.get_entity(sim.subdomain, "attachment", a), "content_sha256") == sha  # noqa: B009
        for a in kept
    )
    stored_comment = store.get_entity(sim.subdomain, "comment", comment["id"])
    assert stored_comment is not None and "▇" * len(secret) in getattr(stored_comment, "body")  # noqa: B009
    truth = sim.truth()
    assert store.counts(sim.subdomain)["attachment"] == truth["attachment"]
    assert store.counts(sim.subdomain)["comment"] == truth["comment"]
