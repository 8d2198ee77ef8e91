"""Small pure parts of the CLI: what it prints about databases, cursors and entity types."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer

from zensync.cli import cursor_state
from zensync.cli_common import CliError, check_types, describe_db, explain_error, sqlite_path
from zensync.sync import runner


def test_describe_db_hides_a_password() -> None:
    shown = describe_db("postgresql://sync:hunter2@db.internal:5432/zensync")
    assert "hunter2" not in shown
    assert shown == "postgresql://sync:…@db.internal:5432/zensync"
    assert describe_db("zensync.db") == "zensync.db"


def test_sqlite_path_of_paths_and_urls(tmp_path: Path) -> None:
    assert sqlite_path("x.db") == Path("x.db")
    assert sqlite_path(f"sqlite:///{tmp_path}/y.db") == tmp_path / "y.db"
    assert sqlite_path("postgresql://u@h/db") is None


def test_cursor_state_reports_positions_and_ages() -> None:
    now = datetime(2026, 1, 2, tzinfo=UTC)
    cursor = {
        "version": 1,
        "phase": "done",
        "organizations": {"start_time": int(now.timestamp()) - 3600, "boundary": []},
        "tickets": {"start_time": 0, "cursor": "abc"},
        "pending": [],
    }
    state = cursor_state(cursor, now)
    assert state["organizations"]["age_seconds"] == 3600
    assert state["organizations"]["position"] == "2026-01-01T23:00:00+00:00"
    assert state["tickets"] == {"position": None, "age_seconds": None, "export_cursor": True}
    assert set(state) == {"organizations", "tickets"}


def test_entity_types_accept_plurals_and_commas() -> None:
    assert check_types(["tickets,comment", "ticket"]) == ["ticket", "comment"]
    assert check_types(None) is None
    with pytest.raises(CliError, match="unknown --type 'tix'"):
        check_types(["tix"])


def test_unexpected_errors_point_to_verbose() -> None:
    message, code = explain_error(RuntimeError("disk on fire"))
    assert code == 1 and "RuntimeError: disk on fire" in message and "--verbose" in message
    assert explain_error(CliError("fix it", 2)) == ("fix it", 2)
    assert not isinstance(CliError("x"), typer.Exit)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_malloc_trim_is_found_and_runs_on_linux() -> None:
    trim = runner._malloc_trim()
    assert trim is not None
    assert trim() in (0, 1)


async def test_free_memory_is_returned_periodically_until_cancelled(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(runner, "_malloc_trim", lambda: lambda: calls.append(1))
    task = asyncio.create_task(runner._returning_free_memory(0.01))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(calls) >= 2


async def test_without_malloc_trim_the_task_ends_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "_malloc_trim", lambda: None)
    await asyncio.wait_for(runner._returning_free_memory(0.01), timeout=1)
