"""Driving the installed ``zensync`` console script from tests: the command, a clean
environment, and a sync of a (simulated) account into a database.

The test suites of the CLI and of the MCP server share these (pytest's importlib mode keeps
test folders from importing each other's modules), and the session-wide ``synced_db``
fixture (tests/conftest.py) is one ``sync_into`` of the shared simulator.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any


def zensync_command() -> list[str]:
    """The installed console script next to this interpreter, else ``python -m zensync.cli``."""
    script = Path(sys.executable).parent / "zensync"
    if script.exists():
        return [str(script)]
    found = shutil.which("zensync")
    return [found] if found else [sys.executable, "-m", "zensync.cli"]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any ZENSYNC_* setting of the developer's shell, plain output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZENSYNC_")}
    env["NO_COLOR"] = "1"
    env["COLUMNS"] = "200"
    env.update(extra)
    return env


def sync_into(
    sim: Any, db: Path | str, *extra: str, cwd: Path | None = None, timeout: float | None = 300
) -> None:
    """``zensync sync`` of the simulator ``sim`` into ``db`` with the admin's API token, given
    as a user should (environment variables); ``extra`` are more options of the command."""
    env = clean_env(ZENSYNC_EMAIL=sim.admin_email, ZENSYNC_API_TOKEN=sim.api_token)
    proc = subprocess.run(
        [
            *zensync_command(),
            "sync",
            "--db",
            str(db),
            "--subdomain",
            sim.subdomain,
            "--base-url",
            sim.base_url,
            *extra,
        ],
        env=env,
        cwd=cwd or Path(str(db)).parent,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
