"""Bad input: one clear line that names the fix, a non-zero exit, and nothing already stored lost."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def stored(synced_db: Path, cli: Any, tmp_path: Path) -> tuple[Path, dict[str, int]]:
    """A private copy of a synced database and its counts before the failing command."""
    db = cli.copy_db(synced_db, tmp_path)
    return db, cli.stored_counts(db, tmp_path)


def assert_one_clear_line(result: Any, *fragments: str) -> None:
    assert result.code != 0
    assert len(result.error_lines) == 1, result.stderr
    line = result.error_lines[0]
    for fragment in fragments:
        assert fragment in line, line
    assert "Traceback" not in result.stderr


def test_wrong_subdomain_form(
    simulator: Any, stored: tuple[Path, dict[str, int]], cli: Any, tmp_path: Path
) -> None:
    db, before = stored
    result = cli.run(
        "sync",
        "--db",
        str(db),
        "--subdomain",
        "https://acme.zendesk.com/agent/tickets",
        "--base-url",
        simulator.base_url,
        cwd=tmp_path,
        env=cli.sim_env(simulator),
    )
    assert result.code == 2
    assert_one_clear_line(result, "has a path", "use --subdomain acme")
    assert cli.stored_counts(db, tmp_path) == before


def test_custom_domain_is_not_a_subdomain(simulator: Any, cli: Any, tmp_path: Path) -> None:
    result = cli.run(
        "sync",
        "--db",
        str(tmp_path / "new.db"),
        "--subdomain",
        "support.acme.com",
        cwd=tmp_path,
        env=cli.sim_env(simulator),
    )
    assert_one_clear_line(result, "'support.acme.com' is not a Zendesk subdomain", "part before .zendesk.com")
    assert not (tmp_path / "new.db").exists(), "a refused sync creates no database"


def test_bad_token(simulator: Any, stored: tuple[Path, dict[str, int]], cli: Any, tmp_path: Path) -> None:
    db, before = stored
    env = cli.env(ZENSYNC_EMAIL=simulator.admin_email, ZENSYNC_API_TOKEN="not-the-token")
    result = cli.run("sync", "--db", str(db), *cli.sim_args(simulator), cwd=tmp_path, env=env)
    assert result.code == 1
    assert_one_clear_line(result, "Zendesk rejected the credentials", "API token")
    assert "not-the-token" not in result.stdout + result.stderr
    assert cli.stored_counts(db, tmp_path) == before


def test_bad_access_token(simulator: Any, cli: Any, tmp_path: Path) -> None:
    env = cli.env(ZENSYNC_ACCESS_TOKEN="expired-bearer-value")
    result = cli.run("sync", "--db", str(tmp_path / "x.db"), *cli.sim_args(simulator), cwd=tmp_path, env=env)
    assert_one_clear_line(result, "Zendesk rejected the credentials", "access token")
    assert "expired-bearer-value" not in result.stdout + result.stderr


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_host(stored: tuple[Path, dict[str, int]], cli: Any, tmp_path: Path) -> None:
    db, before = stored
    env = cli.env(ZENSYNC_EMAIL="admin@example.com", ZENSYNC_API_TOKEN="whatever")
    started = time.monotonic()
    result = cli.run(
        "sync",
        "--db",
        str(db),
        "--subdomain",
        "acme",
        "--base-url",
        f"http://127.0.0.1:{_closed_port()}",
        cwd=tmp_path,
        env=env,
    )
    assert_one_clear_line(result, "cannot reach Zendesk", "--base-url")
    assert time.monotonic() - started < 30, "a closed port fails fast"
    assert cli.stored_counts(db, tmp_path) == before


def test_non_admin_user(
    simulator: Any, stored: tuple[Path, dict[str, int]], cli: Any, tmp_path: Path
) -> None:
    db, before = stored
    env = cli.env(ZENSYNC_EMAIL=simulator.agent_email, ZENSYNC_API_TOKEN=simulator.api_token)
    result = cli.run("sync", "--db", str(db), *cli.sim_args(simulator), cwd=tmp_path, env=env)
    assert result.code == 1
    assert_one_clear_line(result, "the connecting user must be a Zendesk admin")
    assert cli.stored_counts(db, tmp_path) == before


def test_verbose_shows_the_traceback(simulator: Any, cli: Any, tmp_path: Path) -> None:
    env = cli.env(ZENSYNC_EMAIL=simulator.agent_email, ZENSYNC_API_TOKEN=simulator.api_token)
    result = cli.run(
        "sync", "--db", str(tmp_path / "v.db"), *cli.sim_args(simulator), "--verbose", cwd=tmp_path, env=env
    )
    assert result.code == 1
    assert "Traceback" in result.stderr and "PermissionDenied" in result.stderr
    assert result.error_lines and "must be a Zendesk admin" in result.error_lines[-1]
    assert simulator.api_token not in result.stderr


def test_missing_credentials_name_the_options(cli: Any, tmp_path: Path) -> None:
    result = cli.run("sync", "--db", str(tmp_path / "n.db"), cwd=tmp_path)
    assert result.code == 2
    assert_one_clear_line(result, "no Zendesk account configured", "--api-token", "zensync connect")

    result = cli.run("sync", "--subdomain", "acme", "--api-token", "t", cwd=tmp_path)
    assert_one_clear_line(result, "--api-token needs --email")


def test_config_file_typo(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "zensync.toml").write_text('subdomian = "acme"\n')
    result = cli.run("status", cwd=tmp_path)
    assert result.code == 2
    assert_one_clear_line(result, "unknown setting 'subdomian'", "subdomain")


def test_status_without_a_database(cli: Any, tmp_path: Path) -> None:
    result = cli.run("status", "--db", str(tmp_path / "nothing.db"), cwd=tmp_path)
    assert_one_clear_line(result, "no zensync database at", "zensync sync")
    assert not (tmp_path / "nothing.db").exists()
