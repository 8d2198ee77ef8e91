"""Shared fixtures for the CLI tests: the real ``zensync`` console script in a subprocess.

The account is the session's shared, read-only ``simulator`` (tests/conftest.py); no CLI test
writes to it. Helpers are handed out as the ``cli`` fixture (pytest's importlib mode keeps test
folders from importing each other's modules).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ENTITY_TYPES = ("ticket", "comment", "user", "organization", "attachment")


def zensync_command() -> list[str]:
    """The installed console script next to this interpreter, else ``python -m zensync.cli``."""
    script = Path(sys.executable).parent / "zensync"
    if script.exists():
        return [str(script)]
    found = shutil.which("zensync")
    return [found] if found else [sys.executable, "-m", "zensync.cli"]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any ZENSYNC_* setting of the developer's shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZENSYNC_")}
    env["NO_COLOR"] = "1"
    env["COLUMNS"] = "200"
    env.update(extra)
    return env


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


@pytest.fixture(scope="package")
def synced_db(simulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One full sync of the simulator into a SQLite file, shared (read-only) by the tests."""
    workdir = tmp_path_factory.mktemp("synced")
    db = workdir / "synced.db"
    result = run_cli("sync", "--db", str(db), *sim_args(simulator), cwd=workdir, env=sim_env(simulator))
    assert result.code == 0, result.stderr
    return db


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
