"""Pacing requests per rate-limit bucket, from what Zendesk's response headers say.

Zendesk limits requests per minute per account (the plan limit) and, for some endpoints,
per endpoint on top (api-reference.md, "Rate limits": "Endpoint rate limits"). The buckets
and the paths that draw on them are fixed in docs/design.md ("Rate-limit buckets");
:func:`buckets_for` encodes that table.

Every response updates the buckets it names:

* ``X-Rate-Limit`` / ``X-Rate-Limit-Remaining`` and ``ratelimit-limit`` /
  ``ratelimit-remaining`` / ``ratelimit-reset`` → ``account``;
* ``Zendesk-RateLimit-{bucket}: total=N; remaining=N; resets=S`` → ``{bucket}``.

Before a request is sent, :meth:`Pacer.acquire` waits while any of its buckets is known to
be exhausted (until the window resets), and spaces requests out when little is left, so a
429 is the exception rather than the way to find the limit. It counts requests in flight
against ``remaining`` so a burst of concurrent requests cannot overshoot, learns a bucket's
limit from one request before letting a burst through, and after a window resets lets one
probe request refresh the numbers before the rest follow. A 429 still happens when something
else spends the same account budget; its ``Retry-After`` blocks the exhausted bucket for
everyone (:meth:`Pacer.penalize`).

Which window a response speaks of is decided from when its request was sent and when its
answer was read, not from when it was read alone: Zendesk counts a request when it arrives
and reports ``remaining`` and the seconds to the reset (whole seconds) as of then, so a slow
answer (a large export page, a busy event loop) carries numbers that are seconds old. Each
answer bounds the end of its window to ``[sent + reset - 1, read + reset]``; answers whose
bounds overlap speak of one window (the lowest ``remaining`` wins, the bounds narrow), one
whose earliest end is after the current window's latest end is from a newer window, and one
whose latest end is before the current window's earliest end is from an older one. Reading
the reset as "read + reset" alone made an old answer, read late, look like a new window and
hand back budget that was already spent.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import httpx

__all__ = [
    "ACCOUNT",
    "ATTACHMENTS_DOWNLOAD",
    "DELETED_TICKETS_INDEX",
    "INCREMENTAL_EXPORTS",
    "TICKETS_INDEX",
    "BucketState",
    "Observation",
    "Pacer",
    "Reservation",
    "buckets_for",
    "parse_rate_limit_headers",
    "retry_after_seconds",
]

ACCOUNT = "account"
INCREMENTAL_EXPORTS = "incremental-exports"
TICKETS_INDEX = "tickets-index"
DELETED_TICKETS_INDEX = "deleted-tickets-index"
ATTACHMENTS_DOWNLOAD = "attachments-download"


def buckets_for(path: str, method: str = "GET") -> list[str]:
    """The rate-limit buckets a request draws on (docs/design.md, "Rate-limit buckets")."""
    path = "/" + path.split("?", 1)[0].lstrip("/")
    if path.startswith("/attachments/token/"):
        return [ATTACHMENTS_DOWNLOAD]  # "does not draw on account"
    if not path.startswith("/api/v2/"):
        return []  # /oauth/tokens and other non-API paths
    buckets = [ACCOUNT]
    bare = path.rstrip("/").removesuffix(".json")
    if bare.startswith("/api/v2/incremental/"):
        buckets.append(INCREMENTAL_EXPORTS)
    elif method.upper() == "GET" and bare == "/api/v2/tickets":
        buckets.append(TICKETS_INDEX)
    elif method.upper() == "GET" and bare == "/api/v2/deleted_tickets":
        buckets.append(DELETED_TICKETS_INDEX)
    return buckets


@dataclass(frozen=True)
class Observation:
    """One bucket's numbers as one response reported them; ``resets_in`` in seconds."""

    limit: int | None
    remaining: int | None
    resets_in: float | None


def _int(value: str | None) -> int | None:
    try:
        return int(float(value)) if value is not None else None
    except ValueError:
        return None


_FIELD = re.compile(r"\s*([a-z_-]+)\s*=\s*([0-9.]+)\s*", re.IGNORECASE)
_ZENDESK_BUCKET = "zendesk-ratelimit-"


def parse_rate_limit_headers(headers: Mapping[str, str] | httpx.Headers) -> dict[str, Observation]:
    """Every bucket a response reports on, by bucket name."""
    lower = {k.lower(): v for k, v in headers.items()}
    found: dict[str, Observation] = {}

    limit = _int(lower.get("ratelimit-limit")) or _int(lower.get("x-rate-limit"))
    remaining = _int(lower.get("ratelimit-remaining"))
    if remaining is None:
        remaining = _int(lower.get("x-rate-limit-remaining"))
    reset = _int(lower.get("ratelimit-reset"))
    if limit is not None or remaining is not None:
        found[ACCOUNT] = Observation(limit, remaining, float(reset) if reset is not None else None)

    for key, value in lower.items():
        if key.startswith(_ZENDESK_BUCKET) and len(key) > len(_ZENDESK_BUCKET):
            fields = {m.group(1).lower(): m.group(2) for m in _FIELD.finditer(value.replace(",", ";"))}
            total, left = _int(fields.get("total")), _int(fields.get("remaining"))
            resets = fields.get("resets")
            if total is None and left is None:
                continue
            found[key[len(_ZENDESK_BUCKET) :]] = Observation(
                total, left, float(resets) if resets is not None else None
            )
    return found


_BODY_SECONDS = re.compile(r"(\d+(?:\.\d+)?)\s*(?:s\b|sec|second)", re.IGNORECASE)


def retry_after_seconds(response: httpx.Response) -> float | None:
    """``Retry-After`` as seconds (delta or HTTP date), else a number of seconds in a text body."""
    header = response.headers.get("retry-after")
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(header)
            except (TypeError, ValueError):
                when = None
            if when is not None:
                if when.tzinfo is None:
                    when = when.replace(tzinfo=UTC)
                return max(0.0, (when - datetime.now(UTC)).total_seconds())
    try:
        text = response.content[:500].decode("utf-8", "replace")
    except httpx.ResponseNotRead:
        return None
    match = _BODY_SECONDS.search(text)
    return float(match.group(1)) if match else None


@dataclass(frozen=True)
class Reservation:
    """One request's claim on its buckets, from :meth:`Pacer.acquire` to :meth:`Pacer.release`."""

    buckets: tuple[str, ...]
    probes: frozenset[str]
    waited: float
    sent_at: float | None = None  # when it was let through (the pacer's clock)


@dataclass
class BucketState:
    """What is known about one bucket. Times are ``time.monotonic()`` seconds.

    ``limit`` / ``remaining`` are Zendesk's last word (``remaining`` lowered by requests sent
    since); ``reset_at`` is the latest time the window can reset (so waiting until then is
    always enough) and ``reset_after`` the earliest, both from the answers' reset seconds.
    """

    name: str
    limit: int | None = None
    remaining: int | None = None
    reset_at: float | None = None
    reset_after: float | None = None
    observed_at: float | None = None
    in_flight: int = 0
    blocked_until: float = 0.0
    next_send_at: float = 0.0
    probing: bool = False
    needs_probe: bool = False

    @property
    def resets_in(self) -> float | None:
        """Seconds until the window resets, if known."""
        return None if self.reset_at is None else max(0.0, self.reset_at - time.monotonic())

    @property
    def available(self) -> int | None:
        """Requests that may still be sent in this window, counting those in flight."""
        return None if self.remaining is None else self.remaining - self.in_flight


class Pacer:
    """Holds every bucket's state and decides how long a request must wait before it is sent.

    ``low_fraction``: when a bucket has less than this share of its limit left, requests are
    spread evenly over the rest of the window instead of sent at once.
    """

    # A window whose reset time is unknown is re-probed after this long.
    UNKNOWN_RESET = 1.0
    # Margin after a reset time (resets are whole seconds on the wire).
    RESET_MARGIN = 0.05

    def __init__(
        self,
        *,
        low_fraction: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self.low_fraction = low_fraction
        self._clock = clock
        self._sleep = sleep
        self._buckets: dict[str, BucketState] = {}
        self._changed: asyncio.Event | None = None

    def state(self, name: str) -> BucketState:
        """The live state of a bucket (created empty on first use)."""
        if name not in self._buckets:
            self._buckets[name] = BucketState(name)
        return self._buckets[name]

    def budget(self, name: str) -> BucketState:
        """A snapshot of one bucket for callers that plan by budget."""
        return replace(self.state(name))

    def budgets(self) -> dict[str, BucketState]:
        return {name: replace(state) for name, state in self._buckets.items()}

    def _stale(self, st: BucketState, now: float) -> bool:
        """Whether the bucket's numbers no longer describe the current window."""
        if st.observed_at is None or st.needs_probe:
            return True
        if st.reset_at is not None:
            return now >= st.reset_at
        # Exhausted with no reset time given (X-Rate-Limit only): look again after a while.
        available = st.available
        return available is not None and available <= 0 and now - st.observed_at >= self.UNKNOWN_RESET

    def _wait_for(self, st: BucketState, now: float) -> float | None:
        """Seconds to wait before sending on this bucket; None = wait for the next response."""
        if now < st.blocked_until:
            return st.blocked_until - now
        if self._stale(st, now):
            # Learn the numbers from one request before letting a burst through.
            return None if st.probing else 0.0
        available = st.available
        if available is None:
            return 0.0
        if available <= 0:
            if st.reset_at is None:
                assert st.observed_at is not None
                return None if st.in_flight else st.observed_at + self.UNKNOWN_RESET - now
            return st.reset_at - now + self.RESET_MARGIN
        if now < st.next_send_at:
            return st.next_send_at - now
        return 0.0

    def _reserve(self, st: BucketState, now: float) -> bool:
        """Count one request in flight; True when it is the probe of a stale bucket."""
        probe = self._stale(st, now)
        st.in_flight += 1
        if probe:
            st.probing = True
            return True
        available = st.available
        if (
            available is not None
            and st.limit
            and st.reset_at is not None
            and available < max(1.0, st.limit * self.low_fraction)
        ):
            st.next_send_at = now + max(0.0, st.reset_at - now) / (available + 1)
        return False

    async def acquire(self, buckets: Iterable[str]) -> Reservation:
        """Wait until every bucket allows one more request, then count it in flight.

        Every ``acquire`` must be paired with a :meth:`release` once the response (or the
        failure) is in.
        """
        names = list(buckets)
        states = [self.state(name) for name in names]
        waited = 0.0
        while True:
            now = self._clock()
            waits = [self._wait_for(st, now) for st in states]
            if all(w is not None and w <= 0 for w in waits):
                probes = frozenset(st.name for st in states if self._reserve(st, now))
                return Reservation(tuple(names), probes, waited, now)
            timed = [w for w in waits if w is not None and w > 0]
            timeout = max(timed) if timed else self.UNKNOWN_RESET
            started = self._clock()
            await self._wait(timeout, wake_on_change=len(timed) < len(states))
            waited += self._clock() - started

    async def _wait(self, seconds: float, *, wake_on_change: bool) -> None:
        """Sleep ``seconds``, or less when a response may have changed the picture."""
        if self._sleep is not None or not wake_on_change:
            await (self._sleep or asyncio.sleep)(seconds)
            return
        if self._changed is None:
            self._changed = asyncio.Event()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), seconds)

    def release(self, reservation: Reservation, headers: httpx.Headers | Mapping[str, str] | None) -> None:
        """A request is done: take it out of flight and learn from its headers."""
        now = self._clock()
        observations = parse_rate_limit_headers(headers) if headers is not None else {}
        for name in reservation.buckets:
            st = self.state(name)
            st.in_flight = max(0, st.in_flight - 1)
            if name in reservation.probes:
                st.probing = False
                st.needs_probe = False
                if headers is not None and name not in observations and st.observed_at is None:
                    st.observed_at = now  # answered without numbers: nothing to pace by
        for name, obs in observations.items():
            self.observe(name, obs, now, sent_at=reservation.sent_at)
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    def observe(
        self, name: str, obs: Observation, now: float | None = None, *, sent_at: float | None = None
    ) -> None:
        """Fold one response's numbers for a bucket into its state.

        ``now`` is when the answer was read and ``sent_at`` when its request was sent (default:
        ``now``). Answers to concurrent requests arrive out of order and late: within one window
        the lowest ``remaining`` wins; an answer from an older window is ignored (see the
        module's notes on telling windows apart).
        """
        now = self._clock() if now is None else now
        sent = now if sent_at is None else min(sent_at, now)
        st = self.state(name)
        if obs.resets_in is None:
            self._observe_without_reset(st, obs, now)
            return
        # Zendesk rounds the seconds to the reset up, and counted the request somewhere
        # between sending and reading: the window ends within these bounds.
        latest = now + obs.resets_in
        earliest = min(sent + obs.resets_in - 1.0, latest)
        same = False
        if st.observed_at is not None and st.reset_at is not None and st.reset_after is not None:
            if latest < st.reset_after:
                return  # an answer from a window that had ended before the current one
            same = earliest < st.reset_at
        if obs.limit is not None:
            st.limit = obs.limit
        if same and st.reset_at is not None and st.reset_after is not None:
            # the same window: the lowest remaining is the latest word, and the bounds narrow
            if obs.remaining is not None and st.remaining is not None:
                st.remaining = min(obs.remaining, st.remaining)
            elif obs.remaining is not None:
                st.remaining = obs.remaining
            st.reset_at = min(latest, st.reset_at)
            st.reset_after = min(max(earliest, st.reset_after), st.reset_at)
        else:  # the first answer, or one from a newer window
            if obs.remaining is not None:
                st.remaining = obs.remaining
            st.reset_at, st.reset_after = latest, earliest
        st.observed_at = now

    @staticmethod
    def _observe_without_reset(st: BucketState, obs: Observation, now: float) -> None:
        """``X-Rate-Limit`` alone: no reset time to place the answer in a window by."""
        current = st.observed_at is not None and st.reset_at is not None and now < st.reset_at
        if obs.limit is not None:
            st.limit = obs.limit
        if obs.remaining is not None:
            st.remaining = (
                min(obs.remaining, st.remaining) if current and st.remaining is not None else obs.remaining
            )
        if st.reset_at is not None and now >= st.reset_at:
            st.reset_at = st.reset_after = None
        st.observed_at = now

    def penalize(self, buckets: Iterable[str], seconds: float, headers: httpx.Headers | None = None) -> None:
        """A 429 said wait ``seconds``: block the exhausted bucket(s) for every request.

        The exhausted bucket is the one the 429's headers report at zero; without such a
        header it is the request's endpoint bucket if it has one (a 10-a-minute export limit
        is far likelier to run out than the plan's), else ``account``.
        """
        names = list(buckets)
        if not names:
            return
        reported = parse_rate_limit_headers(headers) if headers is not None else {}
        exhausted = [n for n in names if n in reported and reported[n].remaining == 0]
        if not exhausted:
            endpoint = [n for n in names if n != ACCOUNT]
            exhausted = endpoint[:1] or [ACCOUNT]
        until = self._clock() + seconds
        for name in exhausted:
            st = self.state(name)
            # Retry-After is Zendesk's word on when to try again, even inside a longer window
            # (a spike ceiling trips for a moment): then one probe, and its answer decides.
            st.blocked_until = max(st.blocked_until, until)
            st.needs_probe = True
