"""``zensync connect`` / ``connections`` / ``disconnect`` as a user runs them: the real console
script in a subprocess, the simulator's OAuth server, a browser played by HTTP requests.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from zendesk_simulator.testing import free_port, running_simulator


def zensync() -> list[str]:
    script = Path(sys.executable).parent / "zensync"
    if script.exists():
        return [str(script)]
    found = shutil.which("zensync")
    return [found] if found else [sys.executable, "-m", "zensync.cli"]


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZENSYNC_")}
    env.update(
        NO_COLOR="1",
        COLUMNS="200",
        PYTHONUNBUFFERED="1",
        ZENSYNC_KEY_FILE=str(tmp_path / "key" / "secret.key"),
    )
    env.update(extra)
    return env


def run(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*zensync(), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def account(tmp_path: Path) -> Iterator[tuple[Any, int]]:
    port = free_port()
    with running_simulator(
        tickets=20,
        minute_seconds=1,
        auto_consent=True,
        redirect_uri=[f"http://localhost:{port}/source-connections/callback"],
    ) as sim:
        yield sim, port


def start_connect(
    sim: Any, port: int, tmp_path: Path, *extra: str, secret: str | None = None
) -> tuple[subprocess.Popen[str], str]:
    """Start `zensync connect` and return it with the consent URL it printed."""
    env = env_for(tmp_path, ZENSYNC_CLIENT_SECRET=secret or sim.oauth_client_secret)
    proc = subprocess.Popen(
        [
            *zensync(),
            "connect",
            "--subdomain",
            sim.subdomain,
            "--base-url",
            sim.base_url,
            "--client-id",
            sim.oauth_client_id,
            "--port",
            str(port),
            "--no-browser",
            "--db",
            str(tmp_path / "z.db"),
            *extra,
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith(sim.base_url + "/oauth/authorizations/new"):
            return proc, line.strip()
    proc.kill()
    raise AssertionError(f"no consent URL printed: {proc.communicate()[1]}")


def test_connect_list_sync_disconnect(account: tuple[Any, int], tmp_path: Path) -> None:
    sim, port = account
    proc, url = start_connect(sim, port, tmp_path)
    assert sim.oauth_client_secret not in " ".join(proc.args)  # the secret came from the environment
    # The browser: the (auto-approving) consent page redirects to the CLI's callback server.
    landed = httpx.get(url, follow_redirects=True, timeout=30)
    assert landed.status_code == 200 and "Connected" in landed.text
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert "Client kind is Confidential" in stderr  # the checklist was shown before consent
    assert f"Connected {sim.subdomain}.zendesk.com as connection '{sim.subdomain}'" in stderr
    assert "role admin" in stderr
    key = tmp_path / "key" / "secret.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600

    env = env_for(tmp_path)
    listed = run("connections", "--json", "--db", str(tmp_path / "z.db"), env=env, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["id"], r["status"], r["auth"], r["client_id"]) for r in rows] == [
        (sim.subdomain, "active", "oauth", sim.oauth_client_id)
    ]
    assert sim.oauth_client_secret not in listed.stdout

    synced = run("sync", "--connection", sim.subdomain, "--db", str(tmp_path / "z.db"), env=env, cwd=tmp_path)
    assert synced.returncode == 0, synced.stderr
    assert sim.oauth_client_secret.encode() not in (tmp_path / "z.db").read_bytes()

    gone = run("disconnect", sim.subdomain, "--db", str(tmp_path / "z.db"), env=env, cwd=tmp_path)
    assert gone.returncode == 0, gone.stderr
    assert "Revoked Zendesk access" in gone.stdout and "kept its synced data" in gone.stdout
    after = run("connections", "--json", "--db", str(tmp_path / "z.db"), env=env, cwd=tmp_path)
    assert json.loads(after.stdout) == []
    missing = run("disconnect", "nope", "--db", str(tmp_path / "z.db"), env=env, cwd=tmp_path)
    assert missing.returncode != 0 and "zensync connections" in missing.stderr


def test_wrong_secret_on_the_command_line_is_explained(account: tuple[Any, int], tmp_path: Path) -> None:
    sim, port = account
    proc, url = start_connect(sim, port, tmp_path, secret=sim.oauth_client_secret[:-3])
    page = httpx.get(url, follow_redirects=True, timeout=30)
    assert page.status_code == 400 and "rejected the client secret" in page.text
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert "Zendesk rejected the client secret" in stderr and "truncated" in stderr


def test_api_token_connection(account: tuple[Any, int], tmp_path: Path) -> None:
    sim, _ = account
    env = env_for(tmp_path)
    db = str(tmp_path / "z.db")
    made = run(
        "connect",
        "--subdomain",
        sim.subdomain,
        "--base-url",
        sim.base_url,
        "--api-token",
        f"{sim.admin_email}/{sim.api_token}",
        "--db",
        db,
        env=env,
        cwd=tmp_path,
    )
    assert made.returncode == 0, made.stderr
    assert "API token" in made.stderr
    rows = json.loads(run("connections", "--json", "--db", db, env=env, cwd=tmp_path).stdout)
    assert rows[0]["auth"] == "api_token" and rows[0]["status"] == "active"
    assert sim.api_token.encode() not in (tmp_path / "z.db").read_bytes()
    bad = run(
        "connect",
        "--subdomain",
        sim.subdomain,
        "--base-url",
        sim.base_url,
        "--api-token",
        f"{sim.admin_email}/wrong-token",
        "--name",
        "other",
        "--db",
        db,
        env=env,
        cwd=tmp_path,
    )
    assert bad.returncode != 0
    assert "did not accept the email and API token" in bad.stderr


def test_missing_client_id_names_the_fix(tmp_path: Path) -> None:
    result = run(
        "connect", "--subdomain", "acme", "--db", str(tmp_path / "z.db"), env=env_for(tmp_path), cwd=tmp_path
    )
    assert result.returncode == 2
    assert "--client-id is required" in result.stderr and "Unique identifier" in result.stderr


def test_secrets_come_from_stdin_or_a_file_rather_than_the_command_line(
    account: tuple[Any, int], tmp_path: Path
) -> None:
    """Arguments show in `ps` to every local user: the secret options read stdin (-) and files."""
    sim, port = account
    env = env_for(tmp_path)
    db = str(tmp_path / "z.db")
    base = ["connect", "--subdomain", sim.subdomain, "--base-url", sim.base_url, "--db", db]
    pair = f"{sim.admin_email}/{sim.api_token}"

    def piped(*args: str, stdin: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*zensync(), *args], env=env, cwd=tmp_path, input=stdin, capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip

    from_stdin = piped(*base, "--name", "stdin", "--api-token", "-", stdin=pair + "\n")
    assert from_stdin.returncode == 0, from_stdin.stderr
    assert "Warning" not in from_stdin.stderr

    token_file = tmp_path / "token"
    token_file.write_text(pair + "\n")
    token_file.chmod(0o600)
    from_file = run(*base, "--name", "file", "--api-token-file", str(token_file), env=env, cwd=tmp_path)
    assert from_file.returncode == 0, from_file.stderr
    assert "Warning" not in from_file.stderr
    token_file.chmod(0o644)
    exposed = run(*base, "--name", "exposed", "--api-token-file", str(token_file), env=env, cwd=tmp_path)
    assert exposed.returncode == 0 and f"chmod 600 {token_file}" in " ".join(exposed.stderr.split())

    literal = run(*base, "--name", "literal", "--api-token", pair, env=env, cwd=tmp_path)
    assert literal.returncode == 0, literal.stderr
    said = " ".join(literal.stderr.split())
    assert "--api-token on the command line is visible to other users" in said
    assert "--api-token - (read from standard input) or --api-token-file FILE" in said

    missing = run(*base, "--api-token-file", str(tmp_path / "nope"), env=env, cwd=tmp_path)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    empty = piped(*base, "--name", "empty", "--api-token", "-", stdin="")
    assert empty.returncode == 2 and "standard input was empty" in empty.stderr

    synced = piped(
        "sync", "--subdomain", sim.subdomain, "--base-url", sim.base_url, "--email", sim.admin_email,
        "--api-token", "-", "--db", str(tmp_path / "direct.db"), "--no-attachments",
        stdin=sim.api_token + "\n",
    )  # fmt: skip
    assert synced.returncode == 0, synced.stderr
    assert "Warning" not in synced.stderr

    # OAuth: the client secret from a file, nothing secret in the arguments or the environment.
    secret_file = tmp_path / "client-secret"
    secret_file.write_text(sim.oauth_client_secret + "\n")
    secret_file.chmod(0o600)
    proc = subprocess.Popen(
        [*zensync(), *base, "--name", "oauth", "--client-id", sim.oauth_client_id,
         "--client-secret-file", str(secret_file), "--port", str(port), "--no-browser"],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.stdout is not None
    url = ""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not url:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith(sim.base_url + "/oauth/authorizations/new"):
            url = line.strip()
    assert url, proc.communicate()[1]
    landed = httpx.get(url, follow_redirects=True, timeout=30)
    assert landed.status_code == 200 and "Connected" in landed.text
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert sim.oauth_client_secret not in " ".join(proc.args) and "Warning" not in stderr
