"""`zensync serve` runs the web service over the CLI's database."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(cli: Any, *args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*cli.command(), "serve", *args],
        cwd=cwd,
        env=cli.env(ZENSYNC_SECRET_KEY=cli.secret_key()),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_serve_search(simulator: Any, synced_db: Path, cli: Any, tmp_path: Path) -> None:
    db = cli.copy_db(synced_db, tmp_path)
    port = _free_port()
    proc = _serve(cli, "--port", str(port), "--db", str(db), cwd=tmp_path)
    try:
        phrase = next(p for p in simulator.truth()["phrases"] if p["type"] == "ticket")
        deadline = time.monotonic() + 30
        response = None
        while time.monotonic() < deadline:
            try:
                response = httpx.get(
                    f"http://127.0.0.1:{port}/search",
                    params={"q": phrase["phrase"]},
                    headers={"Accept": "application/json"},
                    timeout=5,
                )
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                time.sleep(0.2)
        assert response is not None and response.status_code == 200, response
        results = json.loads(response.text)["results"]
        assert any(r["entity_type"] == "ticket" and r["id"] == phrase["id"] for r in results)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=15)


def test_serve_beyond_loopback_needs_an_api_key(cli: Any, tmp_path: Path) -> None:
    result = cli.run(
        "serve",
        "--host",
        "0.0.0.0",
        "--port",
        str(_free_port()),
        "--db",
        str(tmp_path / "s.db"),
        cwd=tmp_path,
        env=cli.env(ZENSYNC_SECRET_KEY=cli.secret_key()),
    )
    assert result.code == 2
    assert len(result.error_lines) == 1 and "ZENSYNC_API_KEY" in result.error_lines[0]
