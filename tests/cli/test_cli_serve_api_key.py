"""`zensync serve` beyond loopback: refused without an API key, protected with one."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

KEY = "serve-test-key-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def zensync(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "zensync.cli", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip


def test_serve_api_key_option_protects_every_endpoint_but_the_callback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ZENSYNC_API_KEY"}
    env["ZENSYNC_KEY_FILE"] = str(tmp_path / "secret.key")
    db = str(tmp_path / "serve.db")

    refused = zensync("serve", "--host", "0.0.0.0", "--port", str(free_port()), "--db", db, env=env)
    out, _ = refused.communicate(timeout=60)
    assert refused.returncode != 0
    assert "API key" in out and "ZENSYNC_API_KEY" in out

    port = free_port()
    served = zensync("serve", "--host", "0.0.0.0", "--port", str(port), "--db", db, "--api-key", KEY, env=env)
    try:
        deadline = time.monotonic() + 60
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            while True:
                try:
                    anonymous = http.get("/source-connections")
                    break
                except httpx.TransportError:
                    assert served.poll() is None, served.communicate()[0]
                    assert time.monotonic() < deadline, "the service did not start"
                    time.sleep(0.2)
            assert anonymous.status_code == 401
            assert KEY not in anonymous.text
            keyed = http.get("/source-connections", headers={"Authorization": f"Bearer {KEY}"})
            assert keyed.status_code == 200 and keyed.json() == []
            # The OAuth callback stays reachable without the key (Zendesk's redirect carries none).
            callback = http.get("/source-connections/callback", params={"state": "forged", "code": "x"})
            assert callback.status_code != 401
    finally:
        served.terminate()
        out, _ = served.communicate(timeout=30)
    # A key on the command line shows in `ps`: it works, with a warning naming the alternatives.
    assert "--api-key on the command line is visible to other users" in " ".join(out.split())


def test_serve_reads_the_key_from_stdin_and_answers_only_its_host_names(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZENSYNC_")}
    env["ZENSYNC_KEY_FILE"] = str(tmp_path / "secret.key")
    port = free_port()
    served = subprocess.Popen(
        [sys.executable, "-m", "zensync.cli", "serve", "--host", "0.0.0.0", "--port", str(port),
         "--db", str(tmp_path / "serve.db"), "--api-key", "-", "--allowed-host", "zensync.lan"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    assert served.stdin is not None
    served.stdin.write(KEY + "\n")
    served.stdin.close()
    try:
        deadline = time.monotonic() + 60
        keyed = {"X-API-Key": KEY}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5, headers=keyed) as http:
            while True:
                try:
                    first = http.get("/source-connections")
                    break
                except httpx.TransportError:
                    assert served.poll() is None, served.communicate()[0]
                    assert time.monotonic() < deadline, "the service did not start"
                    time.sleep(0.2)
            assert first.status_code == 200
            assert http.get("/source-connections", headers={"Host": f"zensync.lan:{port}"}).status_code == 200
            rebound = http.get("/source-connections", headers={"Host": f"evil.example:{port}"})
            assert rebound.status_code == 400 and "--allowed-host" in rebound.text
    finally:
        served.terminate()
        served.wait(timeout=30)
    assert served.stdout is not None
    out = served.stdout.read()
    assert KEY not in out
    assert "Warning" not in out  # a key from standard input is not on the command line
