"""A small real server for the simulator's OAuth, auth, rate-limit and fault parts.

It composes exactly what the full simulator composes (OAuthServer routes, `authenticate`
on API routes, RateLimitMiddleware inside FaultMiddleware) around a tiny account and echo
routes, and serves it with uvicorn on a free loopback port, so the tests speak real HTTP
without depending on the rest of the simulator.
"""

from __future__ import annotations

import html.parser
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from zendesk_simulator.auth import AuthFailure, authenticate
from zendesk_simulator.config import SimulatorConfig
from zendesk_simulator.faults import FaultMiddleware
from zendesk_simulator.oauth import OAuthServer
from zendesk_simulator.ratelimit import RateLimitMiddleware
from zendesk_simulator.stats import Stats

USERS: list[dict[str, Any]] = [
    {
        "id": 101,
        "name": "Ada Admin",
        "email": "admin@example.com",
        "role": "admin",
        "active": True,
        "suspended": False,
    },
    {
        "id": 102,
        "name": "Alan Agent",
        "email": "agent@example.com",
        "role": "agent",
        "active": True,
        "suspended": False,
    },
    {
        "id": 103,
        "name": "Erin End",
        "email": "enduser@example.com",
        "role": "end-user",
        "active": True,
        "suspended": False,
    },
    {
        "id": 104,
        "name": "Sam Suspended",
        "email": "suspended@example.com",
        "role": "agent",
        "active": True,
        "suspended": True,
    },
    {
        "id": 105,
        "name": "Ina Inactive",
        "email": "inactive@example.com",
        "role": "agent",
        "active": False,
        "suspended": False,
    },
]


class FakeAccount:
    """The two look-ups the auth parts need, over a fixed list of users."""

    def __init__(self, users: list[dict[str, Any]] = USERS) -> None:
        self.users = users

    def user_by_email(self, email: str) -> dict[str, Any] | None:
        return next((u for u in self.users if u["email"].lower() == email.lower()), None)

    def user_by_id(self, user_id: int) -> dict[str, Any] | None:
        return next((u for u in self.users if u["id"] == user_id), None)


@dataclass
class Harness:
    base_url: str
    config: SimulatorConfig
    oauth: OAuthServer
    stats: Stats
    writes: list[str] = field(default_factory=list)


def build_app(config: SimulatorConfig, writes: list[str]) -> tuple[Any, OAuthServer, Stats]:
    account = FakeAccount()
    oauth = OAuthServer(config, account)
    stats = Stats()

    async def echo(request: Request) -> Response:
        try:
            principal = await authenticate(request, account, oauth)
        except AuthFailure as failure:
            return failure.response
        if request.method != "GET":
            writes.append(f"{request.method} {request.url.path}")
        return JSONResponse(
            {
                "path": request.url.path,
                "query": request.url.query,
                "method": request.method,
                "user_id": principal.user_id,
                "role": principal.role,
                "scopes": sorted(principal.scopes),
                "via": principal.via,
            },
            status_code=201 if request.method == "POST" else 200,
        )

    async def attachment(request: Request) -> Response:
        try:
            await authenticate(request, account, oauth)
        except AuthFailure as failure:
            return failure.response
        token = request.path_params["token"]
        return Response((token * 200).encode(), media_type="application/octet-stream")

    async def storage(request: Request) -> Response:
        return Response(b"stored bytes", media_type="application/octet-stream")

    async def truth(request: Request) -> Response:
        return JSONResponse({"ok": True})

    routes = [
        *oauth.routes(),
        Route("/attachments/token/{token}/", attachment),
        Route("/attachment-storage/{token}/{name:path}", storage),
        Route("/_simulator/truth", truth),
        Route("/api/v2/{path:path}", echo, methods=["GET", "POST", "PUT", "DELETE"]),
    ]
    app = Starlette(routes=routes)
    return FaultMiddleware(RateLimitMiddleware(app, config, stats), config, stats), oauth, stats


@contextmanager
def serve(config: SimulatorConfig) -> Iterator[Harness]:
    """Serve the composed app on a free loopback port in a background thread."""
    writes: list[str] = []
    app, oauth, stats = build_app(config, writes)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            app, log_level="warning", lifespan="off", access_log=False, timeout_graceful_shutdown=2
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield Harness(f"http://127.0.0.1:{port}", config, oauth, stats, writes)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


class FormParser(html.parser.HTMLParser):
    """Collects a page's form inputs, select options and submit buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.form_action: str | None = None
        self.inputs: dict[str, str] = {}
        self.options: list[tuple[str, bool]] = []
        self.buttons: list[dict[str, str]] = []
        self._button: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.form_action = attributes.get("action")
        elif tag == "input" and "name" in attributes:
            self.inputs[attributes["name"]] = attributes.get("value", "")
        elif tag == "option":
            self.options.append((attributes.get("value", ""), "selected" in attributes))
        elif tag == "button":
            self._button = {**attributes, "text": ""}
            self.buttons.append(self._button)

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button["text"] += data.strip()

    def handle_endtag(self, tag: str) -> None:
        if tag == "button":
            self._button = None


def parse_form(page: str) -> FormParser:
    parser = FormParser()
    parser.feed(page)
    return parser


def wait_for_window_start(window: float, margin: float = 0.15) -> None:
    """Sleep until a fresh rate-limit window has just begun (the limiter uses time.monotonic)."""
    into = time.monotonic() % window
    if into > margin:
        time.sleep(window - into + 0.01)
