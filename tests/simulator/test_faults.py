"""Injected faults over real HTTP: what they look like, that retries get through, determinism."""

from __future__ import annotations

import asyncio
import socket
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from zendesk_simulator.config import SimulatorConfig
from zendesk_simulator.faults import KNOWN_KINDS, MAX_CONSECUTIVE_FAULTS, FaultMiddleware, fault_for
from zendesk_simulator.stats import Stats
from zendesk_simulator.testing import running_simulator

sys.path.insert(0, str(Path(__file__).parent))
from simauth_harness import serve

TOKEN = "fault-test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def faulty(kinds: tuple[str, ...], rate: float = 1.0, seed: int = 7, slow: float = 0.3) -> SimulatorConfig:
    return SimulatorConfig(
        fault_rate=rate,
        fault_kinds=kinds,
        seed=seed,
        slow_seconds=slow,
        static_access_token=TOKEN,
        rate_limits=False,
    )


def outcome(http: httpx.Client, method: str, path: str) -> str:
    """`200`, `503`, or the transport error's class name."""
    try:
        return str(http.request(method, path, json={} if method != "GET" else None).status_code)
    except httpx.TransportError as exc:
        return type(exc).__name__


@pytest.mark.parametrize(
    ("kind", "status", "content_type", "retry_after"),
    [
        ("500", 500, "application/json", None),
        ("502", 502, "text/html", None),
        ("503", 503, "text/plain", "1"),
        ("429", 429, "text/plain", "1"),
    ],
)
def test_error_responses_look_like_zendesk(
    kind: str, status: int, content_type: str, retry_after: str | None
) -> None:
    with serve(faulty((kind,))) as sim, httpx.Client(base_url=sim.base_url, headers=AUTH) as http:
        response = http.get("/api/v2/tickets/1.json")
        assert response.status_code == status
        assert response.headers["content-type"].startswith(content_type)
        assert response.headers.get("retry-after") == retry_after
        if kind == "500":
            assert response.json() == {"errors": [{"code": "Unavailable", "title": "Internal Server Error"}]}
        # Faulted twice in a row, the same request is let through the next time.
        http.get("/api/v2/tickets/1.json")
        assert http.get("/api/v2/tickets/1.json").json()["path"] == "/api/v2/tickets/1.json"
    assert sim.stats.snapshot()["faults"] == MAX_CONSECUTIVE_FAULTS


def test_dropped_connection_gets_no_response_and_a_retry_succeeds() -> None:
    with serve(faulty(("drop",))) as sim, httpx.Client(base_url=sim.base_url, headers=AUTH) as http:
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            http.get("/api/v2/users/me.json")
        assert outcome(http, "GET", "/api/v2/users/me.json") == "RemoteProtocolError"
        assert http.get("/api/v2/users/me.json").status_code == 200


def test_truncated_body_announces_full_length_but_sends_half() -> None:
    with serve(faulty(("truncate",))) as sim:
        host, port = sim.base_url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as conn:
            conn.sendall(
                f"GET /api/v2/tickets/42.json HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}"
                "\r\n\r\n".encode()
            )
            received = b""
            while chunk := conn.recv(65536):
                received += chunk
        head, _, body = received.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        with httpx.Client(base_url=sim.base_url, headers=AUTH) as http:
            with pytest.raises(httpx.RemoteProtocolError, match=r"incomplete|without sending complete"):
                http.get("/api/v2/tickets/42.json")  # the second fault in a row for this request
            full = http.get("/api/v2/tickets/42.json").content  # the third try gets through
        assert length == len(full) > 20
        assert body == full[: len(full) // 2]


def test_storage_downloads_are_faulted_but_not_metered() -> None:
    with (
        serve(faulty(("503",))) as sim,
        httpx.Client(base_url=sim.base_url) as http,
    ):
        path = "/attachment-storage/tok123/report.pdf"
        assert [http.get(path).status_code for _ in range(3)] == [503, 503, 200]
        assert http.get(path).status_code == 503  # the success ended the streak
    assert sim.stats.snapshot()["faults"] == 3
    assert sim.stats.snapshot()["requests"] == {}


def test_faulted_writes_are_not_applied() -> None:
    with (
        serve(faulty(("500", "truncate"), seed=3)) as sim,
        httpx.Client(base_url=sim.base_url, headers=AUTH) as http,
    ):
        results = [outcome(http, "POST", "/api/v2/tickets.json") for _ in range(MAX_CONSECUTIVE_FAULTS)]
        # A dropped connection surfaces as "disconnected" or, when the close races the
        # client's own write, as a reset: both are transport errors the client retries.
        assert set(results) <= {"500", "RemoteProtocolError", "ReadError"}
        assert sim.writes == []
        assert http.post("/api/v2/tickets.json", json={}).status_code == 201
        assert sim.writes == ["POST /api/v2/tickets.json"]


def test_slow_responses_are_right_but_late() -> None:
    with serve(faulty(("slow",), slow=0.4)) as sim, httpx.Client(base_url=sim.base_url, headers=AUTH) as http:
        started = time.monotonic()
        response = http.get("/api/v2/organizations/9.json")
        assert time.monotonic() - started >= 0.4
        assert response.status_code == 200 and response.json()["path"] == "/api/v2/organizations/9.json"


def test_oauth_and_simulator_routes_are_never_faulted() -> None:
    with (
        serve(faulty(tuple(sorted(KNOWN_KINDS - {"slow"})))) as sim,
        httpx.Client(base_url=sim.base_url) as http,
    ):
        for _ in range(5):
            token = http.post(
                "/oauth/tokens",
                json={
                    "grant_type": "client_credentials",
                    "client_id": "zensync",
                    "client_secret": "zensync-secret",
                    "scope": "read",
                },
            )
            assert token.status_code == 201
            assert http.get("/_simulator/truth").status_code == 200
        assert sim.stats.snapshot()["faults"] == 0


async def fetch_with_retries(http: httpx.AsyncClient, path: str, failures: Counter[str]) -> dict:
    """What a careful client does: retry transport errors, 5xx and 429 (waiting Retry-After)."""
    for _attempt in range(8):
        try:
            response = await http.get(path)
        except httpx.TransportError as exc:
            failures[type(exc).__name__] += 1
            await asyncio.sleep(0.02)
            continue
        if response.status_code in (429, 500, 502, 503):
            failures[str(response.status_code)] += 1
            await asyncio.sleep(float(response.headers.get("retry-after", "0.02")))
            continue
        assert response.status_code == 200
        return response.json()
    raise AssertionError(f"{path} did not succeed in 8 attempts")


async def test_retrying_client_gets_every_response_right_at_30_percent_faults() -> None:
    paths = [f"/api/v2/tickets/{n}/comments.json?page%5Bsize%5D=100" for n in range(1, 81)]
    with serve(faulty(tuple(sorted(KNOWN_KINDS)), rate=0.3, seed=11, slow=0.2)) as sim:
        failures: Counter[str] = Counter()
        limit = asyncio.Semaphore(8)

        async def one(http: httpx.AsyncClient, path: str) -> dict:
            async with limit:
                return await fetch_with_retries(http, path, failures)

        async with httpx.AsyncClient(base_url=sim.base_url, headers=AUTH, timeout=10) as http:
            bodies = await asyncio.gather(*(one(http, path) for path in paths))
    assert [(b["path"], b["query"]) for b in bodies] == [tuple(p.split("?")) for p in paths]
    stats = sim.stats.snapshot()
    # Every failure seen was an injected fault; slow answers are faults that did not fail.
    assert 0 < sum(failures.values()) <= stats["faults"]
    assert stats["faults"] >= 0.15 * (len(paths) + sum(failures.values()))
    assert len(failures) >= 4, failures  # several kinds showed up: errors, 429s, drops, truncations
    assert stats["requests"]["GET /api/v2/tickets/{id}/comments"] >= len(paths)


def test_same_seed_same_faults_other_seed_other_faults() -> None:
    def run(seed: int) -> list[str]:
        config = faulty(
            ("500", "502", "503", "429", "drop", "truncate", "slow"), rate=0.5, seed=seed, slow=0.01
        )
        with serve(config) as sim, httpx.Client(base_url=sim.base_url, headers=AUTH) as http:
            return [outcome(http, "GET", f"/api/v2/users/{n % 7}.json") for n in range(40)]

    first, again, other = run(5), run(5), run(6)
    assert first == again
    assert first != other
    assert len(set(first)) >= 4


def test_fault_draws_follow_the_rate_and_cover_the_kinds() -> None:
    kinds = tuple(sorted(KNOWN_KINDS))
    draws = [fault_for(7, n, 0.3, kinds)[0] for n in range(5000)]
    faulted = [kind for kind in draws if kind is not None]
    assert 0.27 < len(faulted) / len(draws) < 0.33
    assert set(faulted) == set(kinds)
    assert draws == [fault_for(7, n, 0.3, kinds)[0] for n in range(5000)]
    assert all(fault_for(7, n, 0.0, kinds) == (None, 0) for n in range(200))


def test_unknown_fault_kind_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match=r"unknown fault kind.*'truncate'"):
        FaultMiddleware(lambda *a: None, SimulatorConfig(fault_kinds=("teapot",)), Stats())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="between 0 and 1"):
        FaultMiddleware(lambda *a: None, SimulatorConfig(fault_rate=1.5), Stats())  # type: ignore[arg-type]


# --------------------------------------------------------------------------- the full simulator


def first_seed_drawing(kind: str) -> int:
    """A seed whose first API request draws `kind` under the default kinds at rate 0.3."""
    kinds = SimulatorConfig().fault_kinds
    return next(seed for seed in range(10_000) if fault_for(seed, 0, 0.3, kinds)[0] == kind)


@pytest.mark.parametrize(
    ("kind", "message"),
    [("drop", "without sending a response"), ("truncate", "without sending complete message body")],
)
def test_full_simulator_really_drops_and_truncates(kind: str, message: str) -> None:
    """Through the command line's uvicorn server, the connection really is cut."""
    with (
        running_simulator(tickets=20, seed=first_seed_drawing(kind), fault_rate=0.3) as sim,
        httpx.Client(base_url=sim.base_url, headers={"Authorization": sim.basic_auth_header()}) as http,
    ):
        with pytest.raises(httpx.RemoteProtocolError, match=message):
            http.get("/api/v2/users/me.json")
        assert sim.stats()["faults"] == 1


async def test_full_simulator_retrying_client_matches_a_fault_free_twin() -> None:
    """Same seed, same account: with 30 % faults, retries give exactly what the clean twin serves."""
    with (
        running_simulator(tickets=30, seed=5) as clean,
        running_simulator(tickets=30, seed=5, fault_rate=0.3) as faulty,
    ):
        users = clean.request("GET", "/api/v2/users.json?page[size]=100").json()["users"]
        tickets = clean.request("GET", "/api/v2/tickets.json?page[size]=100").json()["tickets"]
        paths = [f"/api/v2/users/{u['id']}.json" for u in users] + [
            f"/api/v2/tickets/{t['id']}.json" for t in tickets
        ]
        failures: Counter[str] = Counter()
        limit = asyncio.Semaphore(8)

        async def one(http: httpx.AsyncClient, path: str) -> dict:
            async with limit:
                return await fetch_with_retries(http, path, failures)

        async with httpx.AsyncClient(
            base_url=faulty.base_url, timeout=30, headers={"Authorization": faulty.basic_auth_header()}
        ) as http:
            bodies = await asyncio.gather(*(one(http, path) for path in paths))
        stats = faulty.stats()
    got = [(b.get("user") or b["ticket"])["id"] for b in bodies]
    assert got == [u["id"] for u in users] + [t["id"] for t in tickets]
    assert [b["user"]["email"] for b in bodies if "user" in b] == [u["email"] for u in users]
    assert [b["ticket"]["subject"] for b in bodies if "ticket" in b] == [t["subject"] for t in tickets]
    assert len(paths) >= 40
    assert 0 < sum(failures.values()) <= stats["faults"]
