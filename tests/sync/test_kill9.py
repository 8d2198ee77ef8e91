"""kill -9 at random instants during a sync, then resume: the database ends exactly as after an
uninterrupted run (every table's (id, content_hash), every attachment's file), the run's
counts are exact, and nothing is left "running".

The sync runs in a subprocess (``sync_runner.py``) so the kill is a real SIGKILL: no
``finally``, no rollback from Python, half-written pages and open transactions included.
Kill times are random; the seed is printed in every failure message (set ZENSYNC_KILL_SEED
to replay one).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from zensync_sync_fakes import FakeAccount, attachment_bytes

from zendesk_simulator.testing import SimulatorHandle, running_simulator
from zensync.store import Store

RUNNER = Path(__file__).parent / "sync_runner.py"
SEED = int(os.environ.get("ZENSYNC_KILL_SEED", time.time_ns() % 1_000_000))


def _start(args: list[str]) -> tuple[subprocess.Popen[str], float]:
    proc = subprocess.Popen(
        [sys.executable, str(RUNNER), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "started":
        proc.kill()
        _, err = proc.communicate()
        raise AssertionError(f"runner did not start: {line!r}\n{err}")
    return proc, time.monotonic()


def run_to_end(args: list[str]) -> tuple[dict[str, Any], float]:
    """Run a sync to its end; return its report and how long it took after start-up."""
    proc, started = _start(args)
    out, err = proc.communicate(timeout=180)
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, f"sync failed (seed {SEED}):\n{err[-3000:]}"
    return json.loads(out.strip().splitlines()[-1]), elapsed


def run_and_kill(args: list[str], after: float) -> bool:
    """Start a sync, SIGKILL it ``after`` seconds in; False if it had already finished."""
    proc, started = _start(args)
    time.sleep(max(0.0, after - (time.monotonic() - started)))
    finished = proc.poll() is not None
    if not finished:
        os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    return not finished


def snapshot(store: Store) -> dict[str, Any]:
    """What "the same data" means: every row's hash, and every attachment's file hash."""
    with store.engine.connect() as conn:
        files = dict(conn.exec_driver_sql("SELECT id, content_sha256 FROM attachments").all())
    return {"hashes": store.content_hashes("acme"), "files": files}


def assert_consistent_mid_run(store: Store, context: str) -> None:
    """At every commit: no row points at a missing file, and a cursor exists once data does."""
    for aid, sha in snapshot(store)["files"].items():
        if sha is not None:
            assert store.has_blob(sha), f"attachment {aid} references a missing file ({context})"
    if any(store.counts("acme").values()):
        assert store.get_cursor("acme") is not None, context


def kill_repeatedly(args: list[str], store: Store, kills: int, window: float, rng: random.Random) -> int:
    """Kill ``kills`` successive attempts of one sync at random points of its timeline.

    The points are spread over the uninterrupted run's ``window`` seconds and each attempt
    resumes where the last commit left it, so attempt n is killed after the gap between
    point n-1 and point n: every kill lands somewhere in the middle of the work.
    """
    points = sorted(rng.uniform(0.0, window) for _ in range(kills))
    killed = 0
    moments = []
    previous = 0.0
    for n, point in enumerate(points, start=1):
        after = point - previous
        previous = point
        if run_and_kill(args, after):
            killed += 1
            moments.append(f"{point:.2f}s")
        assert_consistent_mid_run(store, f"after kill {n} at {point:.2f}s, seed {SEED}")
    print(
        f"\n[kill -9, {store.dialect}] seed {SEED}: {killed} of {kills} attempts killed mid-sync "
        f"(at {', '.join(moments) or 'none'} of a ~{window:.1f}s sync)"
    )
    return killed


def assert_runs_settled(store: Store, total_rows: int) -> None:
    runs = store.list_runs("acme", limit=100)
    assert [r.status for r in runs].count("running") == 0, f"seed {SEED}"
    assert runs[0].status == "succeeded", f"seed {SEED}"
    inserted = sum(sum(c["inserted"] for c in (r.progress or {}).get("counts", {}).values()) for r in runs)
    # Counts are committed with the rows: over all attempts, each row was inserted once.
    assert inserted == total_rows, f"seed {SEED}"


@pytest.fixture
def target(store_url: str, tmp_path: Path) -> Iterator[tuple[str, Path, Store]]:
    blobs = tmp_path / "target-blobs"
    store = Store.open(store_url, blob_dir=blobs)
    try:
        yield store_url, blobs, store
    finally:
        store.close()


def test_kill_9_with_the_fake_source(target: tuple[str, Path, Store], tmp_path: Path) -> None:
    url, blobs, store = target
    rng = random.Random(SEED)
    common = ["--source", "fake", "--tickets", "40", "--download", "--delay", "0.03"]
    _, duration = run_to_end(["--db", str(tmp_path / "timing.db"), *common])

    args = ["--db", url, "--blob-dir", str(blobs), *common]
    killed = kill_repeatedly(args, store, kills=5, window=duration, rng=rng)
    report, _ = run_to_end(args)
    assert report["status"] == "succeeded"

    account = FakeAccount(tickets=40)
    expected: dict[str, dict[tuple[str, int], str]] = {
        t: {} for t in ("organization", "user", "ticket", "comment", "attachment")
    }
    files: dict[int, str | None] = {}
    for entity in account.all_entities():
        expected[entity.entity_type][("acme", entity.id)] = entity.content_hash()  # type: ignore[attr-defined]
        if entity.entity_type == "attachment":
            flagged = entity.malware_scan_result == "malware_found"  # type: ignore[attr-defined]
            data = attachment_bytes(entity.id)  # type: ignore[attr-defined]
            files[entity.id] = None if flagged else hashlib.sha256(data).hexdigest()  # type: ignore[attr-defined]
    got = snapshot(store)
    assert got["hashes"] == expected, f"seed {SEED}, {killed} kills"
    assert got["files"] == files, f"seed {SEED}"
    assert_runs_settled(store, sum(len(v) for v in expected.values()))


def vector_snapshot(store: Store) -> dict[str, Any]:
    """Every chunk's text and vector, keyed by what it belongs to, and the checks that must be zero."""
    from zensync.store.vectors import VectorStore

    vectors = VectorStore(store)
    with store.engine.connect() as conn:
        if store.dialect == "sqlite":
            sql = (
                "SELECT c.entity_type, c.object_id, c.position, c.text, c.ticket_id, "
                "vec_to_json(v.embedding) FROM search_chunks c JOIN chunk_vectors v ON v.rowid = c.id"
            )
        else:
            sql = (
                "SELECT c.entity_type, c.object_id, c.position, c.text, c.ticket_id, "
                "v.embedding::text FROM search_chunks c JOIN chunk_vectors v ON v.chunk_id = c.id"
            )
        rows = conn.exec_driver_sql(sql).all()
    chunks = {
        (r[0], int(r[1]), int(r[2])): (r[3], r[4], [round(x, 4) for x in json.loads(r[5])]) for r in rows
    }
    return {"chunks": chunks, "checks": vectors.consistency(), "pending": vectors.count_pending()}


@pytest.fixture(params=["sqlite", pytest.param("pgvector", marks=pytest.mark.postgres)])
def vector_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Path, Store]]:
    """An empty store that can hold vectors: an SQLite file, or PostgreSQL with pgvector."""
    url = str(tmp_path / "target.db")
    server = None
    if request.param == "pgvector":
        server = request.getfixturevalue("pgvector_server")
        url = server.create_database()
    store = Store.open(url, blob_dir=tmp_path / "target-blobs")
    try:
        yield url, tmp_path / "target-blobs", store
    finally:
        store.close()
        if server is not None:
            server.drop_database(url)


def test_kill_9_during_sync_and_embedding(vector_target: tuple[str, Path, Store], tmp_path: Path) -> None:
    """Killed while downloading or while embedding, a resumed run leaves no vector missing,
    stale or orphaned: exactly the chunks and vectors of an uninterrupted run."""
    url, blobs, store = vector_target
    rng = random.Random(SEED + 2)
    common = ["--source", "fake", "--tickets", "16", "--delay", "0.03", "--index"]
    reference_db = tmp_path / "reference.db"
    report, duration = run_to_end(["--db", str(reference_db), *common])
    assert report["index"]["chunks"] > 0
    reference_store = Store.open(reference_db)
    try:
        reference = vector_snapshot(reference_store)
    finally:
        reference_store.close()

    args = ["--db", url, "--blob-dir", str(blobs), *common]
    killed = kill_repeatedly(args, store, kills=4, window=duration, rng=rng)
    # The killed run resumes and finishes against the account it started on, as the
    # reference below does: the fake account's deletions travel with the ticket stream only,
    # so switching it to version 2 while a resumed run is already past that stream would
    # lose them in the fake itself, not in the sync.
    report, _ = run_to_end(args)
    assert report["status"] == "succeeded"
    # Upstream changes afterwards (edits, deletions): their vectors must follow.
    report, _ = run_to_end([*args, "--version", "2"])
    assert report["status"] == "succeeded"
    changed_store = Store.open(tmp_path / "changed.db")
    try:
        run_to_end(["--db", str(tmp_path / "changed.db"), *common])
        run_to_end(["--db", str(tmp_path / "changed.db"), *common, "--version", "2"])
        expected = vector_snapshot(changed_store)
    finally:
        changed_store.close()
    got = vector_snapshot(store)
    zero = {"orphan_chunks": 0, "chunks_without_vector": 0, "vectors_without_chunk": 0, "stale": 0}
    assert got["checks"] == zero, f"seed {SEED}, {killed} kills"
    assert got["pending"] == 0, f"seed {SEED}"
    assert reference["checks"] == zero and expected["checks"] == zero
    assert set(got["chunks"]) == set(expected["chunks"]), f"seed {SEED}, {killed} kills"
    for key, (text, ticket_id, vector) in expected["chunks"].items():
        got_text, got_ticket, got_vector = got["chunks"][key]
        assert (got_text, got_ticket) == (text, ticket_id), key
        assert np.allclose(got_vector, vector, atol=2e-4), key


@pytest.fixture(scope="module")
def small_simulator() -> Iterator[SimulatorHandle]:
    """A 60-ticket account (about 1,000 objects, 90 files) with one-second minutes."""
    with running_simulator(tickets=60, seed=3, minute_seconds=1) as sim:
        yield sim


@pytest.fixture(scope="module")
def simulator_reference(
    small_simulator: SimulatorHandle, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, Any], float]:
    """An uninterrupted sync of the simulator: what every killed-and-resumed one must equal."""
    simulator = small_simulator
    folder = tmp_path_factory.mktemp("reference")
    args = ["--db", str(folder / "ref.db"), *_simulator_args(simulator)]
    report, duration = run_to_end(args)
    assert report["status"] == "succeeded"
    store = Store.open(folder / "ref.db")
    try:
        return snapshot(store), duration
    finally:
        store.close()


def _simulator_args(sim: SimulatorHandle) -> list[str]:
    return [
        "--source",
        "simulator",
        "--download",
        "--base-url",
        sim.base_url,
        "--subdomain",
        sim.subdomain,
        "--email",
        sim.admin_email,
        "--token",
        sim.api_token,
    ]


def test_kill_9_against_the_simulator(
    target: tuple[str, Path, Store],
    small_simulator: SimulatorHandle,
    simulator_reference: tuple[dict[str, Any], float],
) -> None:
    simulator = small_simulator
    url, blobs, store = target
    reference, duration = simulator_reference
    rng = random.Random(SEED + 1)
    args = ["--db", url, "--blob-dir", str(blobs), *_simulator_args(simulator)]
    killed = kill_repeatedly(args, store, kills=4, window=duration, rng=rng)
    report, _ = run_to_end(args)
    assert report["status"] == "succeeded"
    got = snapshot(store)
    assert got["hashes"] == reference["hashes"], f"seed {SEED}, {killed} kills"
    assert got["files"] == reference["files"], f"seed {SEED}"
    truth = simulator.truth()
    assert store.counts("acme") == {
        t: truth[t] for t in ("organization", "user", "ticket", "comment", "attachment")
    }
    assert_runs_settled(store, sum(len(v) for v in reference["hashes"].values()))
