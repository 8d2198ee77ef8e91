"""A simulator in a subprocess, for tests, benchmarks and ``zensync demo``.

``running_simulator(**flags)`` starts ``python -m zendesk_simulator.cli`` on a free loopback
port, waits until it answers, yields a ``SimulatorHandle`` and stops the process on exit.
Flags are the command line's in Python form: ``tickets=200``, ``fault_rate=0.05``,
``minute_seconds=2``, ``auto_consent=True``, ``oauth_client=["a:b", "c:d"]``.

A separate process (not a thread) keeps the simulator's event loop and CPU apart from the
code under test, as a real Zendesk would be, and lets benchmarks measure the client alone.
"""

from __future__ import annotations

import base64
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from .config import SimulatorConfig

_STARTUP_TIMEOUT = 120.0


class SimulatorStartError(RuntimeError):
    """The simulator process did not come up; the message carries its stderr."""


@dataclass
class SimulatorHandle:
    """A running simulator: where it is, its test credentials, and ways to read and change it."""

    base_url: str
    subdomain: str
    admin_email: str
    agent_email: str
    api_token: str
    oauth_client_id: str
    oauth_client_secret: str
    static_access_token: str | None
    process: subprocess.Popen[bytes]
    flags: dict[str, Any] = field(default_factory=dict)
    _stderr_path: Path | None = None

    @property
    def verify(self) -> ssl.SSLContext | bool:
        """What an HTTPS client must trust: the simulator's own certificate (True for HTTP)."""
        return _verify(self.flags.get("ssl_certfile"))

    def _client(self) -> httpx.Client:
        # generous: the first truth of a 100,000-ticket account indexes every ticket's history
        return httpx.Client(base_url=self.base_url, timeout=300.0, verify=self.verify)

    def basic_auth_header(self, email: str | None = None) -> str:
        """``Authorization`` value for API-token auth as ``email`` (default: the admin)."""
        raw = f"{email or self.admin_email}/token:{self.api_token}".encode()
        return "Basic " + base64.b64encode(raw).decode()

    def truth(self) -> dict[str, Any]:
        """``/_simulator/truth``: what a complete sync must end up with."""
        with self._client() as client:
            response = client.get("/_simulator/truth")
            response.raise_for_status()
            data: dict[str, Any] = response.json()
            return data

    def stats(self) -> dict[str, Any]:
        """``/_simulator/stats``: requests per endpoint and bucket, 429s and faults served."""
        with self._client() as client:
            response = client.get("/_simulator/stats")
            response.raise_for_status()
            data: dict[str, Any] = response.json()
            return data

    def request(
        self, method: str, path: str, json: Any = None, *, as_email: str | None = None
    ) -> httpx.Response:
        """An API request authenticated as the admin (API token), e.g. to change data in tests.

        Returns the response whatever its status, so a test can assert on 4xx too.
        """
        with self._client() as client:
            return client.request(
                method, path, json=json, headers={"Authorization": self.basic_auth_header(as_email)}
            )

    def stderr(self) -> str:
        if self._stderr_path is None or not self._stderr_path.exists():
            return ""
        return self._stderr_path.read_text(errors="replace")

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL after 5 s)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def _verify(certfile: Any) -> ssl.SSLContext | bool:
    return ssl.create_default_context(cafile=str(certfile)) if certfile else True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def flags_to_args(flags: dict[str, Any]) -> list[str]:
    """``{"tickets": 200, "auto_consent": True}`` → ``["--tickets", "200", "--auto-consent"]``."""
    args: list[str] = []
    for key, value in flags.items():
        option = "--" + key.replace("_", "-")
        if value is None or value is False:
            continue
        if value is True:
            args.append(option)
        elif key == "fault_kinds":
            args += [option, ",".join(value) if isinstance(value, list | tuple) else str(value)]
        elif isinstance(value, list | tuple):
            for item in value:
                args += [option, str(item)]
        else:
            args += [option, str(value)]
    return args


def _start(flags: dict[str, Any], port: int, stderr_path: Path) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "zendesk_simulator.cli", "--host", "127.0.0.1", "--port", str(port)]
    args += flags_to_args(flags)
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    with stderr_path.open("wb") as err:
        return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err, env=env)


def _wait_ready(
    process: subprocess.Popen[bytes], base_url: str, timeout: float, verify: ssl.SSLContext | bool
) -> bool:
    """True once ``/_simulator/health`` answers; False when the process died first."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    with httpx.Client(timeout=2.0, verify=verify) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return False
            try:
                if client.get(f"{base_url}/_simulator/health").status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)
    raise SimulatorStartError(f"the simulator did not answer on {base_url} within {timeout:.0f} s")


@contextmanager
def running_simulator(**flags: Any) -> Iterator[SimulatorHandle]:
    """Start a simulator subprocess with ``flags``, yield its handle, stop it on exit."""
    if "host" in flags or "port" in flags:
        raise ValueError("running_simulator picks the loopback host and a free port itself; drop host/port")
    defaults = SimulatorConfig()
    certfile = flags.get("ssl_certfile")
    scheme = "https" if certfile else "http"
    verify = _verify(certfile)
    fd, name = tempfile.mkstemp(prefix="zendesk-simulator-", suffix=".stderr")
    os.close(fd)
    stderr_path = Path(name)
    process: subprocess.Popen[bytes] | None = None
    try:
        for _attempt in range(3):
            port = free_port()
            process = _start(flags, port, stderr_path)
            base_url = f"{scheme}://127.0.0.1:{port}"
            try:
                ready = _wait_ready(process, base_url, _STARTUP_TIMEOUT, verify)
            except SimulatorStartError as exc:
                raise SimulatorStartError(
                    f"{exc}; its stderr:\n{stderr_path.read_text(errors='replace')}"
                ) from None
            if ready:
                break
            text = stderr_path.read_text(errors="replace")
            if "address already in use" not in text.lower():
                raise SimulatorStartError(
                    f"the simulator exited with status {process.returncode} before answering:\n{text}"
                )
        else:
            raise SimulatorStartError(
                f"no free port after 3 attempts:\n{stderr_path.read_text(errors='replace')}"
            )
        clients = flags.get("oauth_client")
        if clients:
            first = str(clients[0] if isinstance(clients, list | tuple) else clients).split(":")
            client_id, client_secret = first[0], first[1]
        else:
            client_id = defaults.oauth_clients[0].identifier
            client_secret = defaults.oauth_clients[0].secret
        handle = SimulatorHandle(
            base_url=base_url,
            subdomain=str(flags.get("subdomain", defaults.subdomain)),
            admin_email=str(flags.get("admin_email", defaults.admin_email)),
            agent_email=str(flags.get("agent_email", defaults.agent_email)),
            api_token=str(flags.get("api_token", defaults.api_token)),
            oauth_client_id=client_id,
            oauth_client_secret=client_secret,
            static_access_token=flags.get("static_access_token"),
            process=process,
            flags=dict(flags),
            _stderr_path=stderr_path,
        )
        try:
            yield handle
        finally:
            handle.stop()
    finally:
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=5)
        stderr_path.unlink(missing_ok=True)
