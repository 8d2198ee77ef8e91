"""Zendesk's rate limits: the plan bucket, endpoint buckets, their headers and the 429.

Behaviour chosen from api-reference.md, "Rate limits" (plan limits, "Endpoint rate limits",
"Monitoring your request activity") and the bucket table of docs/design.md, whose names the
client shares:

| bucket                  | draws                                   | per minute            |
| ----------------------- | --------------------------------------- | --------------------- |
| `account`               | every `/api/v2` request                 | plan (700 enterprise) |
| `incremental-exports`   | `/api/v2/incremental/...`               | 10 (30 high volume)   |
| `tickets-index`         | `GET /api/v2/tickets(.json)`            | 100 (300 high volume) |
| `deleted-tickets-index` | `GET /api/v2/deleted_tickets(.json)`    | 10                    |
| `attachments-download`  | `/attachments/...` (not `account`)      | 2500                  |
| `search-index`          | `GET /api/v2/search`, `/search/count`   | 2500                  |
| `search-export`         | `GET /api/v2/search/export`             | 100                   |
| `ticket-audits-index`   | `GET /api/v2/tickets/{id}/audits`       | 500                   |
| `update-ticket`         | `PUT /api/v2/tickets/{id}`, per user    | 30 per 10 minutes     |
|                         | and ticket                              |                       |
| `update-user`           | `PUT /api/v2/users/{id}`, per user      | 5                     |
| `update-organization`   | `PUT /api/v2/organizations/{id}`, per   | 5                     |
|                         | organization                            |                       |

The last seven come from "Endpoint rate limits" and the endpoints' own "Limits" sections
("Rate limit definition for the search index API": 2500; Export Search Results: "100 requests
per minute per account. The limit also counts towards the global API rate limit"; List Audits
for a Ticket: 500; Update Ticket: "30 updates per 10 minutes per user per ticket"; Update User:
"5 requests per minute per user"; Update Organization: "5 requests per minute per
organization"). A per-user or per-object bucket is counted separately for each (user, object)
(the user being the credential of the request) and reported under its plain name. Not
modelled: List Tickets past page 500 (offset paging stops at page 100 here, as documented),
"1 request per second per account" of Update User, and endpoints the simulator does not serve.

Windows are fixed: a bucket's "minute" (``config.minute_seconds`` real seconds) starts at a
multiple of that length on the limiter's clock, and its whole budget returns when the next
one starts. That makes every figure a client sees exact: ``ratelimit-reset`` and ``resets=S``
are the seconds until the budget returns, and the 429's ``Retry-After`` is that same figure
rounded up, so a client that waits it out is admitted (unless other clients spend the new
minute's budget first). A refused request costs no budget.

The 429 body: for the plan limit, plain text ``Too Many Requests`` (the fact sheet: "its body
may be plain text"); for an endpoint bucket, the spec's `Errors` shape with code
`TooManyRequests` (support-oas.yaml, the 429 examples of Update Organization and Autocomplete).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .config import SimulatorConfig
from .stats import Stats, is_metered_path, normalise_endpoint

ACCOUNT = "account"
INCREMENTAL_EXPORTS = "incremental-exports"
TICKETS_INDEX = "tickets-index"
DELETED_TICKETS_INDEX = "deleted-tickets-index"
ATTACHMENTS_DOWNLOAD = "attachments-download"
SEARCH_INDEX = "search-index"
SEARCH_EXPORT = "search-export"
TICKET_AUDITS_INDEX = "ticket-audits-index"
UPDATE_TICKET = "update-ticket"
UPDATE_USER = "update-user"
UPDATE_ORGANIZATION = "update-organization"
# buckets whose "minute" is longer than one (Update Ticket: 30 per 10 minutes)
WINDOW_MINUTES = {UPDATE_TICKET: 10}

_TICKETS_INDEX_PATH = re.compile(r"^/api/v2/tickets(?:\.json)?/?$")
_DELETED_TICKETS_INDEX_PATH = re.compile(r"^/api/v2/deleted_tickets(?:\.json)?/?$")
_SEARCH_PATH = re.compile(r"^/api/v2/search(?:/count)?(?:\.json)?/?$")
_SEARCH_EXPORT_PATH = re.compile(r"^/api/v2/search/export(?:\.json)?/?$")
_TICKET_AUDITS_PATH = re.compile(r"^/api/v2/tickets/\d+/audits(?:\.json)?/?$")
_ONE_OBJECT_PATH = re.compile(r"^/api/v2/(tickets|users|organizations)/(\d+)(?:\.json)?/?$")
_UPDATE_BUCKETS = {"tickets": UPDATE_TICKET, "users": UPDATE_USER, "organizations": UPDATE_ORGANIZATION}


def bucket_name(bucket: str) -> str:
    """A bucket's reported name: a per-user or per-object bucket without its key."""
    return bucket.split(":", 1)[0]


def buckets_for(method: str, path: str, who: str = "") -> list[str]:
    """The buckets a request draws on, plan bucket first (empty for unmetered paths).

    ``who`` identifies the caller (its credential) for per-user buckets; keyed buckets are
    named ``name:key``.
    """
    if path.startswith("/attachments/"):
        return [ATTACHMENTS_DOWNLOAD]
    if not path.startswith("/api/v2/"):
        return []
    buckets = [ACCOUNT]
    if path.startswith("/api/v2/incremental/"):
        buckets.append(INCREMENTAL_EXPORTS)
    elif method == "GET" and _TICKETS_INDEX_PATH.match(path):
        buckets.append(TICKETS_INDEX)
    elif method == "GET" and _DELETED_TICKETS_INDEX_PATH.match(path):
        buckets.append(DELETED_TICKETS_INDEX)
    elif method == "GET" and _SEARCH_EXPORT_PATH.match(path):
        buckets.append(SEARCH_EXPORT)
    elif method == "GET" and _SEARCH_PATH.match(path):
        buckets.append(SEARCH_INDEX)
    elif method == "GET" and _TICKET_AUDITS_PATH.match(path):
        buckets.append(TICKET_AUDITS_INDEX)
    elif method == "PUT" and (m := _ONE_OBJECT_PATH.match(path)):
        kind, object_id = m.group(1), m.group(2)
        name = _UPDATE_BUCKETS[kind]
        buckets.append(f"{name}:{who}:{object_id}" if name == UPDATE_TICKET else f"{name}:{object_id}")
    return buckets


def bucket_limits(config: SimulatorConfig) -> dict[str, int]:
    """Requests per minute for each bucket under `config` (plan and High Volume add-on).

    `plan_limit_override` replaces the plan's figure, so tests can exhaust the plan bucket in a
    handful of requests.
    """
    override = config.plan_limit_override
    if override is not None and override < 1:
        raise ValueError(f"plan_limit_override must be at least 1 request per minute, got {override!r}")
    return {
        ACCOUNT: override if override is not None else config.plan_limit,
        INCREMENTAL_EXPORTS: 30 if config.high_volume else 10,
        TICKETS_INDEX: 300 if config.high_volume else 100,
        DELETED_TICKETS_INDEX: 10,
        ATTACHMENTS_DOWNLOAD: 2500,
        SEARCH_INDEX: 2500,
        SEARCH_EXPORT: 100,
        TICKET_AUDITS_INDEX: 500,
        UPDATE_TICKET: 30,
        UPDATE_USER: 5,
        UPDATE_ORGANIZATION: 5,
    }


@dataclass(frozen=True)
class BucketState:
    """One bucket as a response reports it, after the request was counted (or refused)."""

    name: str
    limit: int
    remaining: int
    reset_seconds: float  # real seconds until the bucket's budget returns

    @property
    def reset_whole_seconds(self) -> int:
        """Seconds until reset, rounded up and at least 1: waiting this long is enough."""
        return max(1, math.ceil(self.reset_seconds - 1e-9))


@dataclass(frozen=True)
class Decision:
    admitted: bool
    states: list[BucketState]
    refused_by: BucketState | None = None

    @property
    def retry_after(self) -> int:
        """Seconds until the exhausted bucket returns its budget (only meaningful when refused)."""
        exhausted = [state for state in self.states if state.remaining <= 0]
        if not exhausted:
            return 1
        return max(state.reset_whole_seconds for state in exhausted)


class RateLimiter:
    """Fixed-window counters per bucket; thread-safe, clock injectable for tests."""

    def __init__(
        self,
        limits: dict[str, int],
        window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if window_seconds <= 0:
            raise ValueError(f"minute_seconds must be positive, got {window_seconds!r}")
        self.limits = dict(limits)
        self.window_seconds = float(window_seconds)
        self._clock = clock
        self._lock = threading.Lock()
        self._used: dict[str, tuple[int, int]] = {}  # bucket -> (window index, requests admitted)

    def _window(self, now: float, bucket: str = ACCOUNT) -> tuple[int, float]:
        length = self.window_seconds * WINDOW_MINUTES.get(bucket_name(bucket), 1)
        index = math.floor(now / length)
        return index, (index + 1) * length - now

    def acquire(self, buckets: list[str]) -> Decision:
        """Admit the request and spend one unit of every bucket, or refuse it and spend none."""
        with self._lock:
            now = self._clock()
            used: dict[str, int] = {}
            windows: dict[str, tuple[int, float]] = {}
            for bucket in buckets:
                windows[bucket] = self._window(now, bucket)
                window, count = self._used.get(bucket, (windows[bucket][0], 0))
                used[bucket] = count if window == windows[bucket][0] else 0
            limit = {bucket: self.limits[bucket_name(bucket)] for bucket in buckets}
            exhausted = [bucket for bucket in buckets if used[bucket] >= limit[bucket]]
            if not exhausted:
                for bucket in buckets:
                    used[bucket] += 1
                    self._used[bucket] = (windows[bucket][0], used[bucket])
            states = [
                BucketState(
                    bucket_name(bucket),
                    limit[bucket],
                    max(0, limit[bucket] - used[bucket]),
                    windows[bucket][1],
                )
                for bucket in buckets
            ]
        refused_by = next((s for s, b in zip(states, buckets, strict=True) if b in exhausted), None)
        return Decision(admitted=not exhausted, states=states, refused_by=refused_by)


def rate_limit_headers(states: list[BucketState]) -> list[tuple[bytes, bytes]]:
    """Zendesk's headers for these bucket states (plan bucket as X-Rate-Limit and ratelimit-*)."""
    headers: list[tuple[bytes, bytes]] = []
    for state in states:
        if state.name == ACCOUNT:
            headers += [
                (b"x-rate-limit", str(state.limit).encode()),
                (b"x-rate-limit-remaining", str(state.remaining).encode()),
                (b"ratelimit-limit", str(state.limit).encode()),
                (b"ratelimit-remaining", str(state.remaining).encode()),
                (b"ratelimit-reset", str(state.reset_whole_seconds).encode()),
            ]
        else:
            value = f"total={state.limit}; remaining={state.remaining}; resets={state.reset_whole_seconds}"
            headers.append((f"zendesk-ratelimit-{state.name}".encode(), value.encode()))
    return headers


def too_many_requests(decision: Decision) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """The 429 for a refused request: status, headers (Retry-After and bucket headers), body."""
    refused = decision.refused_by
    if refused is None or refused.name == ACCOUNT:
        body = b"Too Many Requests"
        content_type = b"text/plain; charset=utf-8"
    else:
        body = json.dumps(
            {
                "errors": [
                    {
                        "code": "TooManyRequests",
                        "title": f"Too many requests to {refused.name}",
                        "detail": (
                            f"The {refused.name} limit of {refused.limit} requests per minute is used up; "
                            f"retry after {decision.retry_after} seconds."
                        ),
                    }
                ]
            }
        ).encode()
        content_type = b"application/json; charset=utf-8"
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(decision.retry_after).encode()),
        *rate_limit_headers(decision.states),
    ]
    return 429, headers, body


class RateLimitMiddleware:
    """ASGI middleware: meters `/api/v2/...` and `/attachments/...`, never `/oauth` or `/_simulator`.

    Every metered request is counted in `stats` (and the 429s it serves); with
    `config.rate_limits` off, requests are still counted but never refused and no rate-limit
    headers are sent.
    """

    def __init__(
        self,
        app: ASGIApp,
        config: SimulatorConfig,
        stats: Stats,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.config = config
        self.stats = stats
        self.limiter = RateLimiter(bucket_limits(config), config.minute_seconds, clock)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_metered_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        path: str = scope["path"]
        endpoint = normalise_endpoint(method, path)
        who = ""
        for key, value in scope.get("headers", []):
            if key == b"authorization":
                who = hashlib.sha256(value).hexdigest()[:16]
        buckets = buckets_for(method, path, who)
        reported = [bucket_name(b) for b in buckets]
        if not self.config.rate_limits:
            self.stats.record(endpoint, reported)
            await self.app(scope, receive, send)
            return

        decision = self.limiter.acquire(buckets)
        if not decision.admitted:
            self.stats.record(endpoint, [])
            self.stats.record_rate_limited()
            status, headers, body = too_many_requests(decision)
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body, "more_body": False})
            return

        self.stats.record(endpoint, reported)
        extra = rate_limit_headers(decision.states)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
