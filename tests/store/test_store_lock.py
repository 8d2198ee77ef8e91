"""The sync lock: one sync per connection, across store objects and processes (SQLite file
lock, PostgreSQL advisory lock), released when the holder dies even by kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from zensync.store import Store, SyncAlreadyRunning

HOLDER = """
import sys, time
from zensync.store import Store
store = Store.open(sys.argv[1])
with store.lock(sys.argv[2]):
    print("locked", flush=True)
    time.sleep(120)
"""


def _start_holder(store_url: str, connection_id: str) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, store_url, connection_id],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    line = holder.stdout.readline()
    if line.strip() != "locked":
        holder.kill()
        raise AssertionError(
            f"lock holder did not start: {line!r} {holder.stderr.read() if holder.stderr else ''}"
        )
    return holder


def test_second_lock_of_a_connection_is_refused(store: Store) -> None:
    run = store.create_run("acme", "full")
    with store.lock("acme"):
        with pytest.raises(SyncAlreadyRunning) as refused, store.lock("acme"):
            pass
        message = str(refused.value)
        assert "A sync of connection 'acme' is already running" in message
        assert "wait for it to finish" in message
        assert f"run #{run.id}" in message or "pid" in message
        with store.lock("other"):  # other connections sync side by side
            pass
    with store.lock("acme"):  # released
        pass


def test_two_store_objects_share_the_lock(store: Store, store_url: str, tmp_path: Path) -> None:
    second = Store.open(store_url, blob_dir=tmp_path / "b2")
    try:
        with store.lock("acme"), pytest.raises(SyncAlreadyRunning), second.lock("acme"):
            pass
        with second.lock("acme"):
            pass
    finally:
        second.close()


def test_lock_held_by_another_process_and_freed_by_kill_9(store: Store, store_url: str) -> None:
    holder = _start_holder(store_url, "acme")
    try:
        with pytest.raises(SyncAlreadyRunning), store.lock("acme"):
            pass
        if store.dialect == "sqlite":
            with pytest.raises(SyncAlreadyRunning, match=f"pid {holder.pid}"), store.lock("acme"):
                pass
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
        deadline = time.monotonic() + 10
        while True:
            try:
                with store.lock("acme"):
                    break
            except SyncAlreadyRunning:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        for stream in (holder.stdout, holder.stderr):
            if stream is not None:
                stream.close()


def test_lock_files_are_named_by_digest_not_by_connection_id(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "z.db")
    try:
        with store.lock("../../etc/evil name"):
            files = list((tmp_path / "z.db.locks").iterdir())
        assert len(files) == 1
        assert files[0].name.endswith(".lock")
        assert "evil" not in files[0].name
    finally:
        store.close()
