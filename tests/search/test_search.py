"""Searching by meaning, by words, or both: ranking, grouping, filters and bad input."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import numpy as np
import pytest
from search_corpus import CID, everything, page

from zensync.embeddings import Embedder
from zensync.search import IndexModelMismatch, NoVectors, SearchInputError, search
from zensync.search.indexer import build_index
from zensync.store import Store
from zensync.store.vectors import VectorStore


@pytest.fixture
def indexed(vstore: Store, minilm: Embedder) -> Iterator[Store]:
    vstore.apply_page(CID, page(everything()), None)
    build_index(VectorStore(vstore), minilm)
    yield vstore


def _top(store: Store, query: str, **kwargs: object) -> list[tuple[str, int]]:
    response = search(store, query, **kwargs)  # type: ignore[arg-type]
    return [(r.entity_type, r.id) for r in response.results]


def test_paraphrases_find_what_keywords_miss(indexed: Store) -> None:
    assert _top(indexed, "customer was billed twice", mode="keyword") == []
    assert _top(indexed, "customer was billed twice")[0] == ("ticket", 1)
    assert _top(indexed, "can't sign in", mode="semantic")[0] == ("ticket", 2)
    response = search(indexed, "customer was billed twice")
    assert response.mode == "hybrid" and response.notice is None


def test_exact_words_still_rank_first_in_hybrid(indexed: Store) -> None:
    assert _top(indexed, "4242", mode="keyword")[0] == ("ticket", 1)
    assert _top(indexed, "4242")[0] == ("ticket", 1)
    assert _top(indexed, "earthquake drill")[0] == ("ticket", 6)


def test_a_comment_hit_shows_its_ticket_and_the_passage(indexed: Store) -> None:
    result = search(indexed, "yearly billing saves money", mode="semantic").results[0]
    assert (result.entity_type, result.id, result.name) == ("ticket", 6, "Question about the annual plan")
    assert result.web_url == "https://acme.zendesk.com/agent/tickets/6"
    passage = next(p for p in result.passages if p.entity_type == "comment")
    assert passage.id == 601 and "paying yearly" in passage.text
    keyword = search(indexed, "earthquake", mode="keyword").results[0]
    assert keyword.id == 6 and "<mark>earthquake</mark>" in keyword.passages[0].snippet


def test_hybrid_marks_which_lists_found_a_result(indexed: Store) -> None:
    result = search(indexed, "refund for the second transaction").results[0]
    assert result.id == 1
    assert set(result.ranks) == {"keyword", "semantic"}


def test_filters_by_type_status_organization_and_date(indexed: Store) -> None:
    assert {i for _, i in _top(indexed, "problem", mode="semantic", status="open")} <= {1, 4, 6}
    assert {i for _, i in _top(indexed, "problem", mode="semantic", organization="Initech")} <= {2, 4, 6}
    assert {i for _, i in _top(indexed, "problem", mode="semantic", organization=1)} <= {1, 3, 5}
    since = datetime(2024, 3, 1, tzinfo=UTC)
    until = datetime(2024, 4, 30, tzinfo=UTC)
    in_range = _top(indexed, "problem", mode="semantic", since=since, until=until)
    assert in_range and {i for _, i in in_range} <= {3, 4}
    assert _top(indexed, "wrong shipping address", since=since, until=until)[0] == ("ticket", 3)
    assert ("ticket", 1) not in _top(indexed, "duplicate charge on my card", since=since, until=until)
    files = search(indexed, "bank statement", mode="semantic", types=["attachment"]).results[0]
    assert files.id == 1 and [p.entity_type for p in files.passages] == ["attachment"]


def test_keyword_before_any_index_with_a_notice(vstore: Store) -> None:
    vstore.apply_page(CID, page(everything()), None)
    response = search(vstore, "4242")
    assert response.mode == "keyword" and "zensync index" in (response.notice or "")
    with pytest.raises(NoVectors, match="run `zensync index` first"):
        search(vstore, "4242", mode="semantic")


@pytest.mark.parametrize("query", ["", "   ", "x" * 10_000])
def test_unsearchable_queries_are_refused_clearly(vstore: Store, query: str) -> None:
    with pytest.raises(SearchInputError, match=r"empty|at most 1,000"):
        search(vstore, query)


def test_bad_mode_and_filters_are_refused(vstore: Store) -> None:
    with pytest.raises(SearchInputError, match="hybrid, semantic, keyword"):
        search(vstore, "x", mode="fuzzy")
    with pytest.raises(SearchInputError, match="Unknown type 'tickts'"):
        search(vstore, "x", types=["tickts"])
    with pytest.raises(SearchInputError, match="date range is empty"):
        search(vstore, "x", since=datetime(2025, 1, 1), until=datetime(2024, 1, 1))


class _Other:
    name = "other-model"
    dimension = 384
    fingerprint = "test:other:384"

    def embed(self, texts: list[str]) -> np.ndarray:
        return np.ones((len(texts), 384), dtype=np.float32) / np.sqrt(384)


def test_querying_with_another_model_is_refused(indexed: Store) -> None:
    with pytest.raises(IndexModelMismatch, match="zensync index --rebuild"):
        search(indexed, "billing", embedder=_Other())  # type: ignore[arg-type]
    assert search(indexed, "billing", mode="keyword", embedder=_Other()).mode == "keyword"  # type: ignore[arg-type]


@pytest.mark.postgres
def test_postgresql_without_pgvector_says_so_and_keeps_keyword_search(
    postgres_server: object, minilm: Embedder
) -> None:
    """The project's usual test server (Debian's PostgreSQL) has no pgvector."""
    from zensync.store.testing import PostgresServer
    from zensync.store.vectors import VectorsUnavailable

    assert isinstance(postgres_server, PostgresServer)
    url = postgres_server.create_database()
    store = Store.open(url)
    try:
        store.apply_page(CID, page(everything()), None)
        with pytest.raises(VectorsUnavailable, match=r"no pgvector extension.*keyword search works"):
            build_index(VectorStore(store), minilm)
        response = search(store, "4242")
        assert response.mode == "keyword" and "pgvector" in (response.notice or "")
        assert response.results[0].id == 1
        with pytest.raises(VectorsUnavailable):
            search(store, "4242", mode="hybrid")
    finally:
        store.close()
        postgres_server.drop_database(url)
