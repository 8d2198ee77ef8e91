"""Fault injection: the failures a real Zendesk and its load balancers produce now and then.

Each API request (`/api/v2/...`, `/attachments/...`, and the pre-signed storage download under
`/attachment-storage/...`) gets a sequence number; whether it is faulted, and how, is drawn
from an RNG seeded with ``(config.seed, sequence number)``. The same seed and the same request
order therefore give the same faults, and a retry is a new request with a new draw. On top of
that, a request (same method, path and query) that was faulted ``MAX_CONSECUTIVE_FAULTS`` times
in a row is let through, so a client that retries always gets its answer.

Kinds (``config.fault_kinds``):

- ``500``: JSON `{"errors":[{"code":"Unavailable","title":"Internal Server Error"}]}`, the
  spec's 500 example (support-oas.yaml, Autocomplete Organizations).
- ``502``: an HTML page from the load balancer, as proxies send it.
- ``503``: plain text with ``Retry-After: 1``.
- ``429``: a short burst of 429s (this request and up to two following ones by sequence
  number), plain text with ``Retry-After: 1``, as when the account-wide spike ceiling trips.
- ``slow``: the right answer after ``config.slow_seconds``. The request is counted against
  the rate limits when it arrives, so its rate-limit headers are as old as the delay, as a
  slow answer's are at any server that meters at its door.
- ``drop``: the connection is closed without any response.
- ``truncate``: the full ``Content-Length`` is announced but only half of the body is sent
  before the connection closes.

Standing faults, for tests that need one request to keep failing (``POST /_simulator/faults``
with ``{"path_prefix": "/attachment-storage/TOKEN", "kind": "403", "times": null}``; ``DELETE``
clears them): every request whose path starts with ``path_prefix`` gets ``kind`` (``429``,
``drop``, ``truncate``, ``403``: the storage host's "Request has expired", as S3 answers an
expired pre-signed link, or ``stall``: half the body, then nothing until the client gives
up), ``times`` times or until cleared, whatever ``fault_rate`` is and without the retry
guarantee. They are what an attachment that keeps failing looks like.

Faults that lose the response (all but ``slow`` and ``truncate``) strike before the request
reaches the API, so a faulted write is not applied and retrying it is safe. ``truncate`` needs
the real response, so it is used on GET only; on other methods it becomes ``drop``.
"""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .config import SimulatorConfig
from .stats import Stats, is_faultable_path

KNOWN_KINDS = frozenset({"500", "502", "503", "429", "slow", "drop", "truncate"})
MAX_CONSECUTIVE_FAULTS = 2
_MAX_BURST = 3

_BODY_500 = json.dumps({"errors": [{"code": "Unavailable", "title": "Internal Server Error"}]}).encode()
_BODY_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
)
_BODY_503 = b"Service Unavailable: the server is temporarily unable to handle the request. Retry shortly."
_BODY_429 = b"Too Many Requests"
_BODY_403_EXPIRED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
    b"<Message>Request has expired</Message></Error>"
)
STANDING_KINDS = frozenset({"429", "drop", "truncate", "403", "stall"})
CONTROL_PATH = "/_simulator/faults"


def fault_for(seed: int, sequence: int, rate: float, kinds: tuple[str, ...]) -> tuple[str | None, int]:
    """The fault drawn for request number `sequence`: (kind or None, burst length for 429)."""
    rng = random.Random(f"zendesk-simulator-faults:{seed}:{sequence}")
    if not kinds or rng.random() >= rate:
        return None, 0
    kind = rng.choice(kinds)
    burst = rng.randint(1, _MAX_BURST) if kind == "429" else 0
    return kind, burst


def _canned(kind: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    if kind == "500":
        return 500, [(b"content-type", b"application/json; charset=utf-8")], _BODY_500
    if kind == "502":
        return 502, [(b"content-type", b"text/html")], _BODY_502
    if kind == "403":
        return 403, [(b"content-type", b"application/xml")], _BODY_403_EXPIRED
    if kind == "503":
        return 503, [(b"content-type", b"text/plain; charset=utf-8"), (b"retry-after", b"1")], _BODY_503
    return 429, [(b"content-type", b"text/plain; charset=utf-8"), (b"retry-after", b"1")], _BODY_429


async def _close_connection(send: Send) -> bool:
    """Close the client connection with nothing more sent; False when the server offers no way.

    ASGI has no "abort" event, so this reaches the transport of uvicorn's request cycle
    (the `send` callable is a bound method of it when this middleware is outermost), then
    yields to the loop so the server marks the cycle disconnected before the app returns.
    """
    transport: Any = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None or not hasattr(transport, "close"):
        return False
    transport.close()
    for _ in range(3):
        await asyncio.sleep(0)
    return True


async def _drain(receive: Receive) -> None:
    """Read the request body to its end (and drop it), so the close that follows is orderly."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


class FaultMiddleware:
    """ASGI middleware (outermost) injecting faults at `config.fault_rate` on metered paths."""

    def __init__(self, app: ASGIApp, config: SimulatorConfig, stats: Stats) -> None:
        unknown = set(config.fault_kinds) - KNOWN_KINDS
        if unknown:
            raise ValueError(
                f"unknown fault kind(s) {sorted(unknown)}; choose from {sorted(KNOWN_KINDS)}"
            )
        if not 0.0 <= config.fault_rate <= 1.0:
            raise ValueError(f"fault_rate must be between 0 and 1, got {config.fault_rate!r}")
        self.app = app
        self.config = config
        self.stats = stats
        self._sequence = 0
        self._burst_left = 0
        self._streaks: dict[str, int] = {}
        self._standing: list[dict[str, Any]] = []  # {"path_prefix", "kind", "times" (None: always)}

    def _standing_fault(self, path: str) -> str | None:
        for rule in self._standing:
            if path.startswith(rule["path_prefix"]) and rule["times"] != 0:
                if rule["times"] is not None:
                    rule["times"] -= 1
                return str(rule["kind"])
        return None

    async def _control(self, scope: Scope, receive: Receive, send: Send) -> None:
        """``POST /_simulator/faults`` adds a standing fault; ``DELETE`` clears them all."""
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        status = 200
        answer: dict[str, Any] = {"standing": list(self._standing)}
        if scope["method"] == "DELETE":
            self._standing = []
            answer = {"standing": []}
        elif scope["method"] == "POST":
            try:
                rule = json.loads(body or b"{}")
                kind, prefix, times = str(rule["kind"]), str(rule["path_prefix"]), rule.get("times")
                if kind not in STANDING_KINDS or not prefix.startswith("/") or not (
                    times is None or (isinstance(times, int) and times > 0)
                ):
                    raise ValueError
            except (ValueError, KeyError, TypeError):
                status = 400
                answer = {"error": f"send path_prefix (/...), kind (one of {sorted(STANDING_KINDS)}), times"}
            else:
                self._standing.append({"path_prefix": prefix, "kind": kind, "times": times})
                status = 201
        payload = json.dumps(answer).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload, "more_body": False})

    def _decide(self, key: str) -> str | None:
        """Next request's fault (None: serve it), keeping the retry guarantee."""
        sequence = self._sequence
        self._sequence += 1
        kind, burst = fault_for(self.config.seed, sequence, self.config.fault_rate, self.config.fault_kinds)
        if self._burst_left > 0:
            self._burst_left -= 1
            kind = "429"
        elif kind == "429":
            self._burst_left = burst - 1
        if kind is not None and kind != "slow" and self._streaks.get(key, 0) >= MAX_CONSECUTIVE_FAULTS:
            kind = None
        if kind is None or kind == "slow":
            self._streaks.pop(key, None)
        else:
            self._streaks[key] = self._streaks.get(key, 0) + 1
        return kind

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == CONTROL_PATH:
            await self._control(scope, receive, send)
            return
        if scope["type"] != "http" or not is_faultable_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        kind = self._standing_fault(scope["path"]) if self._standing else None
        if kind is None and self.config.fault_rate > 0:
            key = f"{method} {scope['path']}?{scope.get('query_string', b'').decode('latin-1')}"
            kind = self._decide(key)
        if kind is None:
            await self.app(scope, receive, send)
            return
        self.stats.record_fault()
        if kind == "slow":

            async def send_late(message: Message) -> None:
                if message["type"] == "http.response.start":
                    await asyncio.sleep(self.config.slow_seconds)
                await send(message)

            await self.app(scope, receive, send_late)
            return
        if kind == "truncate" and method not in ("GET", "HEAD"):
            kind = "drop"
        if kind in ("truncate", "stall"):
            await self._truncate(scope, receive, send, stall=kind == "stall")
            return
        if kind == "drop":
            await _drain(receive)  # closing with request bytes unread would reset, not close
            if await _close_connection(send):
                return
            kind = "502"  # no transport to close: the nearest thing a proxy would send
        await self._send_canned(send, kind)

    @staticmethod
    async def _send_canned(send: Send, kind: str) -> None:
        status, headers, body = _canned(kind)
        headers = [*headers, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    async def _truncate(self, scope: Scope, receive: Receive, send: Send, *, stall: bool = False) -> None:
        """Serve the real response's headers with its full length, then half its body, then
        close (``stall``: then wait, an hour at most, as a hung storage host does)."""
        captured: dict[str, Message] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["start"] = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        body = b"".join(chunks)
        start = captured.get("start")
        if start is None or len(body) < 2:
            # Nothing worth cutting in half (204, 302): drop the connection instead.
            if not await _close_connection(send):
                await self._send_canned(send, "502")
            return
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
        if stall:
            await asyncio.sleep(3600)
        if not await _close_connection(send):
            raise ConnectionAbortedError("response truncated on purpose by the fault injector")
