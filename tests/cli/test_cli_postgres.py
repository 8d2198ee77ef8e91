"""The CLI against a real PostgreSQL server: `--db postgresql://…` syncs, reports and searches alike."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from zensync.store.testing import find_postgres_bin, shared_postgres

pytestmark = pytest.mark.postgres

ENTITY_TYPES = ("ticket", "comment", "user", "organization", "attachment")


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    if find_postgres_bin() is None:
        message = "PostgreSQL server binaries (initdb, pg_ctl) are not installed"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{message}; CI must test PostgreSQL (apt-get install postgresql)")
        pytest.skip(message)
    server = shared_postgres()
    url = server.create_database(prefix="zensync_cli")
    try:
        yield url
    finally:
        server.drop_database(url)


def test_sync_status_search_on_postgresql(
    simulator: Any, postgres_url: str, cli: Any, tmp_path: Path
) -> None:
    env = cli.sim_env(simulator)
    # PostgreSQL keeps no files: downloading attachments needs a folder, and the error says so.
    refused = cli.run("sync", "--db", postgres_url, *cli.sim_args(simulator), cwd=tmp_path, env=env)
    assert refused.code == 2
    assert len(refused.error_lines) == 1 and "--blob-dir" in refused.error_lines[0]
    assert "--no-attachments" in refused.error_lines[0]

    blobs = tmp_path / "blobs"
    result = cli.run(
        "sync",
        "--db",
        postgres_url,
        "--blob-dir",
        str(blobs),
        *cli.sim_args(simulator),
        cwd=tmp_path,
        env=env,
    )
    assert result.code == 0, result.stderr
    truth = simulator.truth()
    status = cli.run("status", "--json", "--db", postgres_url, cwd=tmp_path)
    assert status.code == 0, status.stderr
    data = status.json()
    assert {t: data["entities"][t] for t in ENTITY_TYPES} == {t: truth[t] for t in ENTITY_TYPES}
    assert data["db"].endswith("/" + postgres_url.rsplit("/", 1)[1])
    assert any(p.is_file() for p in blobs.rglob("*")), "attachment files went to --blob-dir"

    phrase = next(p for p in truth["phrases"] if p["type"] == "comment")
    found = cli.run("search", phrase["phrase"], "--json", "--db", postgres_url, cwd=tmp_path)
    assert found.code == 0, found.stderr
    assert any(
        p["entity_type"] == "comment" and p["id"] == phrase["id"]
        for r in found.json()["results"]
        for p in r["passages"]
    )
