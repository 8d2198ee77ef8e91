"""`zensync index`, `zensync search --mode …` and `zensync status` on a small copy, as a user runs them."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from zensync.store import Store

sys.path.insert(0, str(Path(__file__).parent.parent / "search"))
from search_corpus import CID, everything, page


@pytest.fixture
def small_db(tmp_path: Path) -> Path:
    db = tmp_path / "small.db"
    store = Store.open(db)
    try:
        store.apply_page(CID, page(everything()), None)
    finally:
        store.close()
    return db


def test_index_then_search_by_meaning(small_db: Path, cli: Any, tmp_path: Path) -> None:
    before = cli.run("search", "customer was billed twice", "--db", str(small_db), cwd=tmp_path)
    assert before.code == 0, before.stderr
    assert "No results" in before.stdout and "run `zensync index`" in before.stderr

    status = cli.run("status", "--db", str(small_db), cwd=tmp_path)
    assert "not indexed yet" in status.stdout

    indexed = cli.run("index", "--db", str(small_db), cwd=tmp_path)
    assert indexed.code == 0, indexed.stderr
    assert "15 entities embedded as 15 chunks" in indexed.stdout
    again = cli.run("index", "--json", "--db", str(small_db), cwd=tmp_path)
    assert again.json()["chunks"] == 0

    found = cli.run("search", "customer was billed twice", "--json", "--db", str(small_db), cwd=tmp_path)
    assert found.code == 0, found.stderr
    data = found.json()
    assert data["mode"] == "hybrid" and data["results"][0]["id"] == 1
    human = cli.run("search", "can't sign in", "--status", "pending", "--db", str(small_db), cwd=tmp_path)
    assert "Cannot log in to the mobile app" in human.stdout and "(pending, Initech)" in human.stdout

    status = cli.run("status", "--json", "--db", str(small_db), cwd=tmp_path).json()
    assert status["vectors"]["model"] == "all-MiniLM-L6-v2"
    assert status["vectors"]["types"]["ticket"] == {"entities": 6, "embedded": 6, "chunks": 6}


def test_bad_input_gets_one_line_with_the_fix(small_db: Path, cli: Any, tmp_path: Path) -> None:
    empty = cli.run("search", "  ", "--db", str(small_db), cwd=tmp_path)
    assert empty.code == 2 and empty.error_lines == [
        "Error: The query is empty: type some words to search for."
    ]
    long = cli.run("search", "x" * 10_000, "--db", str(small_db), cwd=tmp_path)
    assert long.code == 2 and "at most 1,000" in long.stderr
    semantic = cli.run("search", "refund", "--mode", "semantic", "--db", str(small_db), cwd=tmp_path)
    assert semantic.code == 1 and "run `zensync index` first" in semantic.stderr
    missing = cli.run(
        "index", "--embedding-model", str(tmp_path / "nope"), "--db", str(small_db), cwd=tmp_path
    )
    assert missing.code == 2 and "does not exist" in missing.stderr and "--embedding-model" in missing.stderr
    date = cli.run("search", "refund", "--since", "last week", "--db", str(small_db), cwd=tmp_path)
    assert date.code == 2 and "is not a date: use YYYY-MM-DD" in date.stderr
    mode = cli.run("search", "refund", "--mode", "fuzzy", "--db", str(small_db), cwd=tmp_path)
    assert mode.code == 2 and "auto, hybrid, semantic, keyword" in mode.stderr


def test_sync_keeps_an_existing_index_current(
    simulator: Any, synced_db: Path, cli: Any, tmp_path: Path
) -> None:
    """Syncs only sync until `zensync index` ran; from then on each sync embeds what changed."""
    db = cli.copy_db(synced_db, tmp_path)
    store = Store.open(db)
    try:
        with store.engine.begin() as conn:  # keep the test quick: a few tickets to embed
            conn.exec_driver_sql("DELETE FROM comments")
            conn.exec_driver_sql("DELETE FROM attachments")
            conn.exec_driver_sql("DELETE FROM tickets WHERE id > 5")
    finally:
        store.close()
    env = cli.sim_env(simulator)
    plain = cli.run("sync", "--db", str(db), *cli.sim_args(simulator), cwd=tmp_path, env=env)
    assert plain.code == 0, plain.stderr
    assert "Embeddings" not in plain.stdout

    assert cli.run("index", "--db", str(db), cwd=tmp_path).code == 0
    store = Store.open(db)
    try:  # as if the sync had just changed ticket 1
        with store.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE tickets SET content_hash = 'changed' WHERE id = 1")
    finally:
        store.close()
    report = tmp_path / "report.json"
    synced = cli.run(
        "sync", "--db", str(db), "--report-json", str(report), *cli.sim_args(simulator), cwd=tmp_path, env=env
    )
    assert synced.code == 0, synced.stderr
    assert "Embeddings (all-MiniLM-L6-v2):" in synced.stdout
    assert json.loads(report.read_text())["embeddings"]["entities"] == 1
    status = cli.run("status", "--json", "--db", str(db), cwd=tmp_path).json()
    assert all(c["embedded"] == c["entities"] for c in status["vectors"]["types"].values())

    skipped = cli.run(
        "sync", "--db", str(db), "--no-embeddings", *cli.sim_args(simulator), cwd=tmp_path, env=env
    )
    assert skipped.code == 0 and "Embeddings" not in skipped.stdout
