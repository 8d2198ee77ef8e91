"""What the simulator served: requests per endpoint and per rate-limit bucket, 429s, faults.

Tests and benchmarks compare these figures with what a client believes it sent, so the
counting rules are fixed here:

- ``requests`` counts every API request that reached the rate limiter (admitted or refused
  with 429), keyed by method and route template (``GET /api/v2/tickets/{id}/comments``), so
  the figures stay readable on accounts with thousands of ids.
- ``buckets`` counts draws on each rate-limit bucket by admitted requests only: a 429 costs
  no budget, exactly as the limiter accounts for it.
- ``rate_limited`` counts 429s served by the rate limiter; ``faults`` counts injected faults
  (a request answered by a fault never reaches the rate limiter).

Only API traffic is metered: ``/api/v2/...`` and attachment downloads. ``/oauth/...`` (the
authorization server) and ``/_simulator/...`` (the test back door) are not.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from typing import Any

# Paths that carry API traffic: the rate limiter meters these only. `/attachments/` covers
# `content_url` (`/attachments/token/{token}/?name=...`).
METERED_PREFIXES: tuple[str, ...] = ("/api/v2/", "/attachments/")
# The fault injector also strikes the pre-signed storage download `content_url` redirects to
# (storage fails too), which Zendesk does not rate-limit.
FAULTABLE_PREFIXES: tuple[str, ...] = (*METERED_PREFIXES, "/attachment-storage/")


def is_metered_path(path: str) -> bool:
    """True for paths that draw on rate limits and are counted in the stats."""
    return path.startswith(METERED_PREFIXES)


def is_faultable_path(path: str) -> bool:
    """True for paths the fault injector may strike: API traffic and attachment storage."""
    return path.startswith(FAULTABLE_PREFIXES)


_NUMERIC = re.compile(r"^\d+(?:,\d+)*$")


def normalise_endpoint(method: str, path: str) -> str:
    """`GET /api/v2/tickets/123/comments.json` → `GET /api/v2/tickets/{id}/comments`.

    Numeric ids (and comma-separated id lists) become `{id}`, the `.json` suffix is
    dropped, attachment tokens become `{token}`, and the query string is ignored.
    """
    path = path.split("?", 1)[0]
    segments = [segment for segment in path.split("/") if segment]
    if segments:
        last = segments[-1]
        if last.endswith(".json"):
            segments[-1] = last[: -len(".json")]
    out: list[str] = []
    for index, segment in enumerate(segments):
        if _NUMERIC.match(segment):
            out.append("{id}")
        elif index > 0 and segments[index - 1] == "token" and out[:1] == ["attachments"]:
            out.append("{token}")
        else:
            out.append(segment)
    return f"{method.upper()} /{'/'.join(out)}"


class Stats:
    """Thread-safe counters; `snapshot()` is what `/_simulator/stats` serves."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[str] = Counter()
        self._buckets: Counter[str] = Counter()
        self._rate_limited = 0
        self._faults = 0

    def record(self, endpoint: str, buckets: list[str]) -> None:
        """Count one request to `endpoint` that drew on each of `buckets` (empty when refused)."""
        with self._lock:
            self._requests[endpoint] += 1
            for bucket in buckets:
                self._buckets[bucket] += 1

    def record_rate_limited(self) -> None:
        with self._lock:
            self._rate_limited += 1

    def record_fault(self) -> None:
        with self._lock:
            self._faults += 1

    def snapshot(self) -> dict[str, Any]:
        """`{"requests": {endpoint: n}, "buckets": {bucket: n}, "rate_limited": n, "faults": n}`."""
        with self._lock:
            return {
                "requests": dict(self._requests),
                "buckets": dict(self._buckets),
                "rate_limited": self._rate_limited,
                "faults": self._faults,
            }
