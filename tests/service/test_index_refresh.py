"""The service's syncs keep search by meaning current, as `zensync sync` does.

Once the copy has a search index (`zensync index` built it), every sync the service runs — after
consent, on demand, on the schedule — embeds what it changed with the index's own model, so a
ticket that arrived a minute ago is found by meaning as well as by words.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from zensync.embeddings import load_embedder
from zensync.search.indexer import build_index
from zensync.store.vectors import VectorStore


def test_service_syncs_embed_what_they_change(
    http: httpx.Client, browser: Any, service: Any, sim: Any, new_connection: Callable[..., dict[str, Any]]
) -> None:
    with service.store() as store:
        build_index(VectorStore(store), load_embedder())  # `zensync index` on the empty copy

    created = new_connection("Indexed")
    assert browser.connect(http, created["auth_url"]).status_code == 303
    # The sync and then the embedding of every ticket and comment: minutes on a loaded machine.
    done = service.wait_idle(http, created["id"], timeout=600)
    assert done["runs"][0]["status"] == "succeeded", done["runs"][0]
    with service.store() as store:
        counts = VectorStore(store).counts(created["id"])
    assert counts["ticket"]["entities"] == sim.truth()["ticket"]
    for kind in ("ticket", "comment"):
        assert counts[kind]["embedded"] == counts[kind]["entities"] > 0, counts

    # A change made in Zendesk reaches search by meaning with the next sync the service runs.
    ticket = sim.request(
        "POST",
        "/api/v2/tickets.json",
        json={
            "ticket": {
                "subject": "The office coffee machine leaks water onto the floor",
                "comment": {"body": "Puddle every morning."},
            }
        },
    ).json()["ticket"]
    time.sleep(1.2)  # the exports hold back the most recent (simulated) minute
    assert http.post(f"/source-connections/{created['id']}/sync").status_code == 202
    service.wait_idle(http, created["id"], timeout=600)
    found = http.get("/search", params={"q": "espresso maker is dripping", "mode": "semantic"}).json()
    assert found["mode"] == "semantic"
    assert ticket["id"] in [r["id"] for r in found["results"][:3]], found["results"][:3]
