"""Fixtures: every store test runs against an SQLite file and a real PostgreSQL server.

The PostgreSQL server is a throwaway one (``zensync.store.testing``), started once per test
session; each test gets its own database, dropped afterwards. Without PostgreSQL binaries the
PostgreSQL half is skipped on a workstation, and fails under ``CI=true``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from zensync.store import Store
from zensync.store.schema import metadata
from zensync.store.testing import PostgresServer, find_postgres_bin, shared_postgres, stop_shared_postgres

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The session's throwaway server, stopped (and its files deleted) at the session's end."""
    if find_postgres_bin() is None:
        message = "PostgreSQL server binaries (initdb, pg_ctl) are not installed"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{message}; CI must test PostgreSQL (apt-get install postgresql)")
        pytest.skip(message)
    yield shared_postgres()
    stop_shared_postgres()


@pytest.fixture(scope="module")
def postgres_module_url(postgres_server: PostgresServer) -> Iterator[str]:
    """One migrated database per test module; tests empty it rather than recreate it."""
    url = postgres_server.create_database()
    Store.open(url).close()
    try:
        yield url
    finally:
        postgres_server.drop_database(url)


def _empty(url: str) -> None:
    store = Store.open(url)
    try:
        with store.engine.begin() as conn:
            conn.execute(sa.text(f"TRUNCATE {', '.join(metadata.tables)} RESTART IDENTITY CASCADE"))
    finally:
        store.close()


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, current-schema database: an SQLite file path or a postgresql:// URL."""
    if request.param == "sqlite":
        return str(tmp_path / "zensync.db")
    url: str = request.getfixturevalue("postgres_module_url")
    _empty(url)
    return url


@pytest.fixture(params=BACKENDS)
def blank_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all (for migration tests)."""
    if request.param == "sqlite":
        yield str(tmp_path / "zensync.db")
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.create_database()
    try:
        yield url
    finally:
        server.drop_database(url)


@pytest.fixture
def store(store_url: str, tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(store_url, blob_dir=tmp_path / "blobs")
    try:
        yield opened
    finally:
        opened.close()
