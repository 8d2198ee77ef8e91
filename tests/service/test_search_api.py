"""GET /search over HTTP: modes, filters, grouped results, the page, and bad input."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from zendesk_simulator.testing import free_port
from zensync.embeddings import load_embedder
from zensync.search.indexer import build_index
from zensync.service.app import ServiceSettings
from zensync.store import Store
from zensync.store.vectors import VectorStore

sys.path.insert(0, str(Path(__file__).parent.parent / "search"))
from search_corpus import CID, everything, page


@pytest.fixture(scope="module")
def search_service(serve_service: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    db = tmp_path_factory.mktemp("search-api") / "zensync.db"
    store = Store.open(db)
    try:
        store.apply_page(CID, page(everything()), None)
        build_index(VectorStore(store), load_embedder())
    finally:
        store.close()
    settings = ServiceSettings(db=str(db), port=free_port(), scheduling=False)
    with serve_service(settings, Fernet.generate_key().decode()) as service:
        yield service


def test_hybrid_by_default_with_filters(search_service: Any) -> None:
    with search_service.client() as http:
        found = http.get("/search", params={"q": "customer was billed twice"}).json()
        assert found["mode"] == "hybrid" and found["results"][0]["id"] == 1
        assert found["results"][0]["web_url"] == "https://acme.zendesk.com/agent/tickets/1"
        pending = http.get(
            "/search", params={"q": "can't sign in", "mode": "semantic", "status": "pending"}
        ).json()
        assert [r["id"] for r in pending["results"]] == [2]
        later = http.get(
            "/search", params={"q": "yearly billing", "organization": "Initech", "since": "2024-06-01"}
        ).json()
        assert [r["id"] for r in later["results"]] == [6]
        passage = later["results"][0]["passages"][0]
        assert passage["entity_type"] in ("ticket", "comment") and passage["via"]
        words = http.get("/search", params={"q": "earthquake", "mode": "keyword", "type": "comment"}).json()
        assert (
            words["mode"] == "keyword"
            and "<mark>earthquake</mark>" in words["results"][0]["passages"][0]["snippet"]
        )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"q": ""}, "The query is empty"),
        ({"q": "x" * 10_000}, "at most 1000 characters"),
        ({"q": "refund", "mode": "fuzzy"}, "auto, hybrid, semantic, keyword"),
        ({"q": "refund", "type": "tickts"}, "type must be one of"),
        ({"q": "refund", "since": "2024-05-01", "until": "2024-01-01"}, "date range is empty"),
    ],
)
def test_bad_input_is_a_422_that_names_the_fix(
    search_service: Any, params: dict[str, str], message: str
) -> None:
    with search_service.client() as http:
        response = http.get("/search", params=params)
    assert response.status_code == 422
    assert message in response.text


def test_the_search_page_offers_the_modes_and_shows_passages(search_service: Any) -> None:
    with search_service.client(Accept="text/html") as http:
        page_html = http.get("/search", params={"q": "customer was billed twice"}).text
        assert "Words + meaning" in page_html and "(hybrid)" in page_html
        assert "Duplicate charge on card ending 4242" in page_html
        assert 'class="passage-kind"' in page_html
        too_long = http.get("/search", params={"q": "x" * 10_000})
        assert too_long.status_code == 422 and "at most 1000 characters" in too_long.text
