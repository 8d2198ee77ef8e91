"""The database's files are owner-only, and an unusable database gets one sentence with the fix.

Real SQLite files under a typical umask (022): the database, its -wal and -shm files, the
attachment folder and files, the lock folder. Then the databases a user may point ``--db`` at
by mistake: read-only, not SQLite, damaged, another program's SQLite file, a folder that does
not exist.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from zensync.store import Store, StoreError
from zensync.store.testing import PostgresServer


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def one_sentence(error: pytest.ExceptionInfo[StoreError]) -> str:
    text = str(error.value)
    assert "\n" not in text and "SELECT" not in text and "sqlalche.me" not in text, text
    return text


def test_new_database_and_everything_beside_it_are_owner_only(tmp_path: Path) -> None:
    db = tmp_path / "zensync.db"
    with Store.open(db) as store:
        store.create_connection(id="acme", name="Acme", subdomain="acme", auth_kind="api_token")
        with store.lock("acme"):
            pass
        folder = store.blob_temp_folder()
        part = folder / "download.part"
        part.write_bytes(b"attachment bytes")
        placed = store.put_blob(part, "ab" * 32)
        assert mode(db) == 0o600
        for suffix in ("-wal", "-shm"):
            side = Path(f"{db}{suffix}")
            assert side.exists() and mode(side) == 0o600, suffix
        assert mode(store.blob_dir) == 0o700 and mode(folder) == 0o700 and mode(placed.parent) == 0o700
        assert mode(placed) == 0o600
        locks = Path(f"{db}.locks")
        assert mode(locks) == 0o700 and all(mode(f) == 0o600 for f in locks.iterdir())


def test_an_existing_database_others_can_read_is_opened_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "zensync.db"
    Store.open(db).close()
    db.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="zensync"), Store.open(db):
        pass
    assert any(f"chmod 600 {db}" in r.getMessage() and "0644" in r.getMessage() for r in caplog.records)
    assert mode(db) == 0o644  # the user's choice is reported, not overridden
    caplog.clear()
    db.chmod(0o600)
    with caplog.at_level(logging.WARNING, logger="zensync"), Store.open(db):
        pass
    assert not caplog.records


def test_a_read_only_database_names_the_fix(tmp_path: Path) -> None:
    db = tmp_path / "zensync.db"
    Store.open(db).close()
    db.chmod(0o444)
    with pytest.raises(StoreError) as caught:
        Store.open(db)
    assert f"{db} is read-only (mode 0444): make it writable (chmod u+w {db})" in one_sentence(caught)


def test_a_file_that_is_not_sqlite_is_refused_and_left_alone(tmp_path: Path) -> None:
    db = tmp_path / "notes.db"
    content = b"These are my notes, not a database.\n" * 200
    db.write_bytes(content)
    with pytest.raises(StoreError) as caught:
        Store.open(db)
    assert f"{db} is not a SQLite database" in one_sentence(caught)
    assert "check the --db path" in str(caught.value)
    assert db.read_bytes() == content


def test_a_damaged_database_says_restore_or_rebuild(tmp_path: Path) -> None:
    db = tmp_path / "zensync.db"
    Store.open(db).close()
    with sqlite3.connect(db) as conn:  # fold the WAL back so the file holds everything
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = bytearray(db.read_bytes())
    raw[100:4096] = b"\xff" * (4096 - 100)  # the schema page, after the file header
    db.write_bytes(bytes(raw))
    with pytest.raises(StoreError) as caught:
        Store.open(db)
    text = one_sentence(caught)
    assert f"The database {db} is damaged" in text and "zensync sync --full" in text


def test_another_programs_sqlite_file_is_refused_unless_adopted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "app.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
        conn.execute("INSERT INTO invoices (total) VALUES (9.5)")
    before = db.read_bytes()
    with pytest.raises(StoreError) as caught:
        Store.open(db)
    text = one_sentence(caught)
    assert "already holds tables that are not zensync's (invoices)" in text
    assert "ZENSYNC_ADOPT_DATABASE=1" in text
    assert db.read_bytes() == before  # not migrated in place
    with Store.open(db, adopt=True) as store:
        assert store.schema_version() is not None
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT total FROM invoices").fetchall() == [(9.5,)]
    Store.open(db).close()  # adopted once: it is a zensync database now

    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    monkeypatch.setenv("ZENSYNC_ADOPT_DATABASE", "1")
    Store.open(other).close()


def test_an_empty_sqlite_file_is_a_new_database(tmp_path: Path) -> None:
    db = tmp_path / "empty.db"
    db.touch()
    with Store.open(db) as store:
        assert store.schema_version() is not None


def test_a_missing_folder_is_an_error_not_created(tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "zensync.db"
    with pytest.raises(StoreError) as caught:
        Store.open(target)
    text = one_sentence(caught)
    assert f"The folder {target.parent} does not exist: create it (mkdir -p {target.parent})" in text
    assert not (tmp_path / "no").exists()


@pytest.mark.postgres
def test_a_postgresql_database_of_another_program_is_refused(postgres_server: PostgresServer) -> None:
    url = postgres_server.create_database()
    try:
        engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE customers (id int)")
        engine.dispose()
        with pytest.raises(StoreError) as caught:
            Store.open(url)
        assert "already holds tables that are not zensync's (customers)" in one_sentence(caught)
        Store.open(url, adopt=True).close()
    finally:
        postgres_server.drop_database(url)
