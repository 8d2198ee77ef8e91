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
        served.wait(timeout=30)
