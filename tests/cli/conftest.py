"""Shared fixtures for the CLI tests: the real ``zensync`` console script in a subprocess.

The account is the session's shared, read-only ``simulator`` (tests/conftest.py), synced once
into the shared ``synced_db``; no CLI test writes to either. Helpers are handed out as the
``cli`` fixture (pytest's importlib mode keeps test folders from importing each other's
modules).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from zensync.testing import clean_env, zensync_command

ENTITY_TYPES = ("ticket", "comment", "user", "organization", "attachment")


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("Error:")]


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120) -> Result:
    proc = subprocess.run(
        [*zensync_command(), *args],
        cwd=cwd,
        env=env if env is not None else clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def sim_env(sim: Any, **extra: str) -> dict[str, str]:
    """Credentials for the simulator's admin, given the way a user should: environment variables."""
    return clean_env(ZENSYNC_EMAIL=sim.admin_email, ZENSYNC_API_TOKEN=sim.api_token, **extra)


def sim_args(sim: Any) -> list[str]:
    return ["--subdomain", sim.subdomain, "--base-url", sim.base_url]


def copy_db(db: Path, dest_dir: Path) -> Path:
    """A private copy of a synced database (and its attachment folder) for a test that writes."""
    target = dest_dir / db.name
    shutil.copy2(db, target)
    blobs = Path(f"{db}.blobs")
    if blobs.is_dir():
        shutil.copytree(blobs, Path(f"{target}.blobs"))
    return target


def stored_counts(db: Path, cwd: Path) -> dict[str, int]:
    result = run_cli("status", "--json", "--db", str(db), cwd=cwd)
    assert result.code == 0, result.stderr
    return {k: int(v) for k, v in result.json()["entities"].items()}


class Cli:
    """The helpers above, as one object for the tests."""

    run = staticmethod(run_cli)
    command = staticmethod(zensync_command)
    env = staticmethod(clean_env)
    sim_env = staticmethod(sim_env)
    sim_args = staticmethod(sim_args)
    copy_db = staticmethod(copy_db)
    stored_counts = staticmethod(stored_counts)

    @staticmethod
    def secret_key() -> str:
        """A fresh Fernet key, so no test touches the user's own key file."""
        from cryptography.fernet import Fernet

        return Fernet.generate_key().decode()


@pytest.fixture(scope="session")
def cli() -> Cli:
    return Cli()
