"""`zensync demo`: simulator, OAuth consent, full sync, report and a sample search, end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

ENTITY_TYPES = ("ticket", "comment", "user", "organization", "attachment")


def test_demo_end_to_end_into_a_fresh_directory(cli: Any, tmp_path: Path) -> None:
    result = cli.run("demo", "--tickets", "60", "--minute-seconds", "1", cwd=tmp_path, timeout=180)
    assert result.code == 0, result.stderr
    db = tmp_path / "zensync.db"
    assert db.exists(), "the demo writes ./zensync.db by default"
    assert "Connected through OAuth consent" in result.stderr
    assert "Full sync" in result.stdout  # the report
    assert "Sample search" in result.stdout and "/agent/tickets/" in result.stdout
    assert "equal to the simulator's own counts" in result.stdout

    status = cli.run("status", "--json", cwd=tmp_path)  # ./zensync.db
    assert status.code == 0, status.stderr
    data = status.json()
    assert data["entities"]["ticket"] == 60
    assert all(data["entities"][t] > 0 for t in ENTITY_TYPES)
    assert [c["id"] for c in data["connections"]] == ["demo"]
    with_bytes, files_exist = attachments_with_bytes(db)
    assert with_bytes > 0 and files_exist
    # The demo connected through the same consent handling as `zensync connect`, then revoked
    # its grant and dropped the sealed tokens (their throwaway key is gone); the data stays.
    assert data["connections"][0]["auth_kind"] is None

    # A second demo replaces its own earlier database.
    again = cli.run(
        "demo", "--tickets", "60", "--minute-seconds", "1", "--no-attachments", cwd=tmp_path, timeout=180
    )
    assert again.code == 0, again.stderr
    runs = cli.run("status", "--json", cwd=tmp_path).json()["runs"]
    assert len(runs) == 1 and runs[0]["mode"] == "full"
    with_bytes, _ = attachments_with_bytes(db)
    assert with_bytes == 0, "--no-attachments reached the run: metadata only"


def attachments_with_bytes(db: Path) -> tuple[int, bool]:
    """How many stored attachments have their bytes, and whether each such file exists."""
    from zensync.store import Store

    with Store.open(db) as store:
        shas = [a.content_sha256 for a in store.iter_entities("demo", "attachment") if a.content_sha256]
        return len(shas), all(store.has_blob(sha) for sha in shas)


def test_demo_refuses_to_overwrite_a_real_database(synced_db: Path, cli: Any, tmp_path: Path) -> None:
    db = cli.copy_db(synced_db, tmp_path)
    before = cli.stored_counts(db, tmp_path)
    size = db.stat().st_size
    result = cli.run("demo", "--db", str(db), cwd=tmp_path)
    assert result.code == 2
    assert len(result.error_lines) == 1
    assert "not from the demo" in result.error_lines[0] and "--db demo.db" in result.error_lines[0]
    assert db.stat().st_size == size
    assert cli.stored_counts(db, tmp_path) == before


def test_demo_refuses_a_file_that_is_not_a_database(cli: Any, tmp_path: Path) -> None:
    notes = tmp_path / "notes.db"
    notes.write_text("my notes\n")
    result = cli.run("demo", "--db", str(notes), cwd=tmp_path)
    assert result.code == 2
    assert notes.read_text() == "my notes\n"
