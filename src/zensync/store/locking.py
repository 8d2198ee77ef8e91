"""One sync per connection at a time, whatever process or machine starts it.

- SQLite: ``flock`` on a lock file beside the database (``<db>.locks/<digest>.lock``, one per
  connection so two connections can sync side by side). The kernel drops the lock when the
  holder exits in any way, kill -9 included, so a stale lock cannot outlive its process.
  ``flock`` locks belong to the open file, so two syncs inside one process also exclude
  each other.
- PostgreSQL: ``pg_try_advisory_lock`` on a connection held for the whole sync. The server
  releases it when that session ends (crash, kill, network loss), and it works across
  machines sharing the database.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, text

from zensync.store.base import SyncAlreadyRunning
from zensync.store.files import private_dir


def _digest(connection_id: str) -> bytes:
    return hashlib.sha256(b"zensync-sync-lock:" + connection_id.encode()).digest()


def lock_file_path(db_path: Path, connection_id: str) -> Path:
    """Never built from the connection id itself: ids are user text, paths must not be."""
    return Path(f"{db_path}.locks") / f"{_digest(connection_id)[:12].hex()}.lock"


@contextlib.contextmanager
def file_lock(db_path: Path, connection_id: str, describe_holder: Callable[[], str] = str) -> Iterator[None]:
    path = lock_file_path(db_path, connection_id)
    private_dir(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 512, 0).decode(errors="replace").strip()
            raise SyncAlreadyRunning(connection_id, holder or describe_holder()) from None
        os.ftruncate(fd, 0)
        holder = (
            f"pid {os.getpid()} on {socket.gethostname()} since {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC"
        )
        os.pwrite(fd, holder.encode() + b"\n", 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def advisory_key(connection_id: str) -> int:
    """A signed 64-bit key for pg_try_advisory_lock derived from the connection id."""
    return int.from_bytes(_digest(connection_id)[:8], "big", signed=True)


@contextlib.contextmanager
def advisory_lock(
    engine: Engine, connection_id: str, describe_holder: Callable[[], str] = str
) -> Iterator[None]:
    key = advisory_key(connection_id)
    with engine.connect() as conn:
        # Autocommit: the lock is session-level and must not keep a transaction open.
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar_one()
        if not got:
            raise SyncAlreadyRunning(connection_id, describe_holder())
        try:
            yield
        finally:
            with contextlib.suppress(Exception):  # a dropped session has released it anyway
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
