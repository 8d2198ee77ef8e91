"""ZendeskClient: every HTTP request zensync makes to a Zendesk account goes through here.

One ``httpx.AsyncClient`` per account (ten kept-alive connections per host; timeouts connect
10 s, read 60 s; HTTP/2 off unless asked for), one auth flow object (:mod:`.auth`), pacing per rate-limit
bucket (:mod:`.ratelimit`), one retry policy and typed errors (:mod:`.errors`).

The retry policy (tenacity), applied to every call including attachment downloads:

* 429: wait ``Retry-After`` (header in seconds; the body may be plain text) and try again;
* 5xx, timeouts, refused/dropped connections, truncated or invalid JSON: jittered
  exponential backoff;
* at most ``max_retries`` retries and ``max_total_wait`` seconds from the first attempt for
  failures of the host; 429s have their own budget (``rate_limit_retries``,
  ``rate_limit_wait``: by default the same), because a 429 is the account asking for time,
  not a host failing, so a quick check that fails fast on a closed port
  (``max_total_wait=5``) can still wait out a busy account like any other request;
* never retried: 400, 401 (the OAuth flow refreshes once by itself), 403, 404, 422.

Credentials go to the account's own host and nowhere else: relative paths are joined to
``config.api_base``; absolute URLs (``next_page``, ``after_url``, ``content_url``) are
accepted only on the same scheme, host and port, else :class:`UnsafeURL` before anything is
sent; redirects are never followed automatically; the pre-signed URL an attachment redirects
to is fetched by a second client that carries no auth, no cookies and no default headers of
ours (api-reference.md, "Attachments": ``content_url`` answers 302 to a temporary URL).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import ssl
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import anyio
import httpx
import msgspec
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    wait_random_exponential,
)

from zensync import __version__
from zensync.config import ZendeskConfig

from .auth import ZendeskAuth
from .errors import (
    BadResponse,
    ConnectionFailed,
    DownloadTooLarge,
    MalwareDetected,
    RateLimited,
    UnsafeURL,
    ZendeskError,
    error_for_response,
    redact_url,
)
from .ratelimit import BucketState, Pacer, buckets_for, retry_after_seconds

__all__ = ["ClientStats", "Download", "ZendeskClient"]

logger = logging.getLogger("zensync.zendesk")


class _RedactURLs(logging.Filter):
    """httpx logs every request's full URL at INFO; attachment tokens and pre-signed
    signatures are credentials, so URLs in its records are shown through ``redact_url``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(a, httpx.URL) for a in record.args):
            record.args = tuple(redact_url(a) if isinstance(a, httpx.URL) else a for a in record.args)
        return True


if not any(isinstance(f, _RedactURLs) for f in logging.getLogger("httpx").filters):
    logging.getLogger("httpx").addFilter(_RedactURLs())

T = TypeVar("T")

Decode = Callable[[bytes | bytearray], Any]
"""Reads a JSON answer's body (its bytes, in a ``bytearray``) into the object the caller works with."""
_decode_object: Decode = msgspec.json.Decoder().decode

DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
DEFAULT_MAX_RETRIES = 8
DEFAULT_MAX_TOTAL_WAIT = 300.0
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MAX_HOPS = 5
_CHUNK = 64 * 1024
# Connections per host (the account's, and the storage host's for pre-signed downloads): all
# kept alive, so none is closed and reopened between requests (a TLS handshake each), and no
# more than a sync's concurrent reads use at once. The connection pool checks every idle
# connection's socket each time a request starts or ends (about 20 µs per TLS connection),
# so a pool grown to every request that was ever in flight at once costs more CPU per
# request than the requests themselves; with fewer connections a request waits for one.
DEFAULT_MAX_CONNECTIONS = 10
_SPILL = 1024 * 1024  # bytes of a download held in memory before they go to disk


@dataclass
class ClientStats:
    """What this client sent: for reports, benchmarks and tests."""

    requests_by_bucket: dict[str, int] = field(default_factory=dict)
    rate_limited: int = 0  # 429 responses received
    retries: int = 0  # attempts repeated under the retry policy
    requests: int = 0  # HTTP requests sent, pre-signed downloads included
    paced_seconds: float = 0.0  # waits for rate-limit budget, summed over concurrent requests


@dataclass(frozen=True)
class Download:
    """A saved attachment: complete at ``file``, its bytes hashed while they arrived.

    ``file`` is a string, and :attr:`path` makes a :class:`~pathlib.Path` of it only when asked:
    pathlib interns each part of a path it parses, and a sync downloads a file per attachment
    (:meth:`zensync.store.blobs.BlobStore.file`).
    """

    sha256: str
    size: int
    file: str
    content_type: str | None = None

    @property
    def path(self) -> Path:
        return Path(self.file)


def _origin(url: httpx.URL) -> tuple[str, str, int]:
    port = url.port or (443 if url.scheme == "https" else 80)
    return url.scheme, (url.host or "").lower(), port


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, ZendeskError) and exc.retryable


async def _read_body(response: httpx.Response) -> bytearray:
    """A streamed answer's whole body, in one buffer sized by its ``Content-Length``.

    httpx's own ``aread`` keeps every chunk the connection delivered (64 kB each) until the
    last has arrived and then joins them into the body: twice the body at once, and the
    chunks' freed memory left between other allocations. A ticket export answer is about
    3.7 MB, read a hundred times in a 100,000-ticket sync; filled in place, one buffer of the
    body's size is all the reading holds (an answer without a length, or compressed, grows
    its buffer instead).
    """
    declared = response.headers.get("content-length", "")
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    size = int(declared) if declared.isdigit() and encoding in ("", "identity") else 0
    body = bytearray(size)
    at = 0
    async for chunk in response.aiter_bytes():
        end = at + len(chunk)
        body[at:end] = chunk  # in place while within the declared length, else it grows
        at = end
    del body[at:]
    return body


def _unbind(response: httpx.Response) -> None:
    """Let a read response go as soon as nothing refers to it.

    httpx wraps every response's stream in one that refers back to the response (to set
    ``elapsed`` on close), a reference cycle (encode/httpx#3733): a response, and its body of
    up to a few MB, then waits for Python's cyclic garbage collector, which for a response
    that lived through a few hundred allocations comes rarely. A sync held four ticket
    answers' bodies (15 MB) that way at its peak. Once the body is read and the stream closed,
    the stream is not used again, so an empty one takes its place and the cycle is gone.
    """
    if response.is_closed:
        response.stream = httpx.ByteStream(b"")


class ZendeskClient:
    """The one way zensync talks HTTP to a Zendesk account. Use as ``async with``.

    ``max_retries`` counts retries after the first attempt; ``max_total_wait`` bounds the time
    from the first attempt to the last retry, 429 waits left out. ``rate_limit_retries`` and
    ``rate_limit_wait`` are the same for 429s (default: the same values). ``transport``
    replaces the network (tests); ``pacer`` and ``sleep`` replace the clocked parts (tests, or
    one pacer shared by clients of the same account so they share its budget).
    """

    def __init__(
        self,
        config: ZendeskConfig,
        auth: httpx.Auth,
        *,
        max_retries: int = DEFAULT_MAX_RETRIES,
        timeout: float | httpx.Timeout | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_total_wait: float = DEFAULT_MAX_TOTAL_WAIT,
        rate_limit_retries: int | None = None,
        rate_limit_wait: float | None = None,
        verify: ssl.SSLContext | bool = True,
        http2: bool = False,
        pacer: Pacer | None = None,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        self.config = config
        self.auth = auth
        self.max_retries = max_retries
        self.max_total_wait = max_total_wait
        self.rate_limit_retries = max_retries if rate_limit_retries is None else rate_limit_retries
        self.rate_limit_wait = max_total_wait if rate_limit_wait is None else rate_limit_wait
        self.stats = ClientStats()
        self._origin = config.origin
        self._account_host = config.host
        self._auth_kind: str | None = getattr(auth, "kind", None)
        if isinstance(auth, ZendeskAuth):
            auth.bind_origin(self._origin)  # raises UnsafeURL for another account's tokens
        self._pacer = pacer or Pacer()
        self._wait_backoff = wait_random_exponential(multiplier=backoff, max=max_backoff)
        self._sleep = sleep or anyio.sleep
        if timeout is None:
            self._timeout = DEFAULT_TIMEOUT
        elif isinstance(timeout, httpx.Timeout):
            self._timeout = timeout
        else:
            self._timeout = httpx.Timeout(timeout, connect=min(10.0, timeout))
        self._transport = transport
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self._limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        # ``verify``: True (certifi's CAs, or SSL_CERT_FILE's, which httpx reads) or an
        # SSLContext (e.g. a private CA's); the pre-signed storage host is checked the same way.
        # One context serves both clients: each would otherwise read the CA bundle into a
        # context of its own (0.66 MB apiece, measured with memray).
        if verify is True:
            verify = httpx.create_ssl_context()
        self._verify = verify
        self._http = httpx.AsyncClient(
            auth=auth,
            verify=verify,
            timeout=self._timeout,
            transport=transport,
            http2=http2,
            follow_redirects=False,
            limits=self._limits,
            headers={"User-Agent": f"zensync/{__version__}", "Accept": "application/json"},
        )
        self._anonymous: httpx.AsyncClient | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()
        if self._anonymous is not None:
            await self._anonymous.aclose()

    # -- what callers plan with ---------------------------------------------------------

    def bucket_for(self, path: str, method: str = "GET") -> list[str]:
        """The rate-limit buckets a request draws on, e.g. ``["account", "incremental-exports"]``."""
        return buckets_for(httpx.URL(path).path if "://" in path else path, method)

    def budget(self, bucket: str) -> BucketState:
        """What the last responses said about a bucket: ``limit``, ``remaining``, ``resets_in``."""
        return self._pacer.budget(bucket)

    # -- JSON -----------------------------------------------------------------------------

    async def get_json(
        self,
        path_or_url: str,
        params: dict[str, Any] | None = None,
        *,
        decode: Decode | None = None,
    ) -> dict[str, Any]:
        """GET a JSON object from a path (``/api/v2/...``) or an absolute URL on the account.

        ``decode``: how to read the answer's body, for a caller that needs only part of it
        (e.g. :data:`zensync.source.answers.ticket_export`, which reads the names of a ticket
        export's sideloaded users and not the rest of each user); by default the whole object.
        """
        return await self.request_json("GET", path_or_url, params=params, decode=decode)

    async def request_json(
        self,
        method: str,
        path_or_url: str,
        json: Any = None,
        *,
        params: dict[str, Any] | None = None,
        decode: Decode | None = None,
    ) -> dict[str, Any]:
        """Send a request and return the JSON object answered (``{}`` for an empty 2xx).

        POSTs carry one ``Idempotency-Key`` across retries, so a retried ticket creation is not
        applied twice (api-reference.md, "Idempotency").
        """
        method = method.upper()
        url = self.resolve(path_or_url)
        headers = {"Idempotency-Key": uuid.uuid4().hex} if method == "POST" else None

        async def attempt() -> dict[str, Any]:
            response, body = await self._send_and_read(method, url, params=params, json=json, headers=headers)
            return self._json_of(response, body, decode or _decode_object)

        return await self._retrying(attempt)

    def _json_of(self, response: httpx.Response, body: bytearray, decode: Decode) -> dict[str, Any]:
        if not body or body.isspace():
            return {}
        try:
            # msgspec reads the body's bytes as they are; the standard library's parser first
            # decodes them into a str of the same size (3.7 MB more for a page of 1,000
            # tickets), and orjson builds the whole document in a buffer of its own, about
            # fifteen times the body. Both kinds of msgspec error are ValueErrors.
            payload = decode(body)
        except msgspec.ValidationError as exc:  # JSON, but a part read is not what Zendesk documents
            raise BadResponse(
                f"Zendesk's answer is not in the documented shape: {exc}",
                status=response.status_code,
                method=response.request.method,
                url=redact_url(response.request.url, account_host=self._account_host),
                retryable=False,
            ) from exc
        except ValueError as exc:
            raise BadResponse(
                "Zendesk's answer was cut short or is not JSON",
                status=response.status_code,
                method=response.request.method,
                url=redact_url(response.request.url, account_host=self._account_host),
            ) from exc
        if not isinstance(payload, dict):
            raise BadResponse(
                "Zendesk answered with JSON that is not an object",
                status=response.status_code,
                method=response.request.method,
                url=redact_url(response.request.url, account_host=self._account_host),
                retryable=False,
            )
        return payload

    # -- the account's own URLs -------------------------------------------------------------

    def resolve(self, path_or_url: str) -> httpx.URL:
        """The absolute URL for a path, or the URL itself if it is on the account's own origin."""
        text = path_or_url.strip()
        if "://" in text or text.startswith("//"):
            try:
                url = httpx.URL(text)
            except httpx.InvalidURL as exc:
                raise UnsafeURL(f"Not a usable URL: {redact_url(text)}") from exc
        else:
            url = httpx.URL(self.config.api_base + "/" + text.lstrip("/"))
        if _origin(url) != self._origin or url.userinfo:
            scheme, host, port = self._origin
            raise UnsafeURL(
                f"Refusing a URL outside the account: only {scheme}://{host}:{port} receives this "
                f"account's requests (got {redact_url(url, account_host=self._account_host)})"
            )
        return url

    # -- one attempt ----------------------------------------------------------------------

    async def _send_and_read(
        self,
        method: str,
        url: httpx.URL,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[httpx.Response, bytearray]:
        """:meth:`_send`, then the 2xx answer's body read into one buffer (:func:`_read_body`)."""
        response = await self._send(method, url, params=params, json=json, headers=headers, stream=True)
        try:
            if response.status_code >= 300:  # a redirect: the JSON API answers none
                await response.aread()
                raise error_for_response(response, auth_kind=self._auth_kind, account_host=self._account_host)
            return response, await _read_body(response)
        except httpx.TransportError as exc:  # cut short while the body arrived
            shown = redact_url(response.request.url, account_host=self._account_host)
            raise self._transport_failure(exc, method, shown) from exc
        finally:
            await response.aclose()
            _unbind(response)

    async def _send(
        self,
        method: str,
        url: httpx.URL,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """Pace, send once, count, and turn a failure into the right ZendeskError.

        Returns a 2xx (or, for downloads, a redirect) response; with ``stream`` its body is
        not read yet and the caller must close it.
        """
        buckets = buckets_for(url.path, method)
        reservation = await self._pacer.acquire(buckets)
        self.stats.paced_seconds += reservation.waited
        request = self._http.build_request(method, url, params=params, json=json, headers=headers)
        started = time.monotonic()
        response: httpx.Response | None = None
        try:
            self._count(buckets)
            response = await self._http.send(request, stream=stream)
            if stream and (response.status_code >= 400):
                await response.aread()
            _unbind(response)  # a streamed answer still being read is left bound
        except httpx.TransportError as exc:
            shown = redact_url(request.url, account_host=self._account_host)
            raise self._transport_failure(exc, method, shown) from exc
        finally:
            self._pacer.release(reservation, response.headers if response is not None else None)
            if response is not None and logger.isEnabledFor(logging.DEBUG):
                shown = redact_url(request.url, account_host=self._account_host)
                logger.debug(
                    "%s %s -> %s in %.2f s", method, shown, response.status_code, time.monotonic() - started
                )
        status = response.status_code
        if status < 300 or (stream and status in _REDIRECTS):
            return response
        if status == 429:
            self.stats.rate_limited += 1
            retry_after = retry_after_seconds(response)
            self._pacer.penalize(buckets, retry_after if retry_after is not None else 1.0, response.headers)
            raise error_for_response(
                response, auth_kind=self._auth_kind, account_host=self._account_host, retry_after=retry_after
            )
        raise error_for_response(response, auth_kind=self._auth_kind, account_host=self._account_host)

    def _count(self, buckets: list[str]) -> None:
        self.stats.requests += 1
        for bucket in buckets:
            self.stats.requests_by_bucket[bucket] = self.stats.requests_by_bucket.get(bucket, 0) + 1

    @staticmethod
    def _transport_failure(exc: httpx.TransportError, method: str, shown: str) -> ZendeskError:
        """Timeouts and connection failures are retryable; a malformed request is not."""
        kind = type(exc).__name__
        if isinstance(exc, httpx.TimeoutException | httpx.NetworkError | httpx.RemoteProtocolError):
            return ConnectionFailed(
                f"No complete answer from Zendesk ({kind}): check the network, or try again later",
                method=method,
                url=shown,
            )
        if isinstance(exc, httpx.DecodingError):
            return BadResponse(f"Zendesk's answer could not be decoded ({kind})", method=method, url=shown)
        return ConnectionFailed(
            f"The request could not be sent ({kind}): check base_url and the network",
            method=method,
            url=shown,
            retryable=False,
        )

    # -- the retry policy ---------------------------------------------------------------

    def _wait(self, state: RetryCallState) -> float:
        """``Retry-After`` for a 429 that gave one, else jittered exponential backoff."""
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            return exc.retry_after
        return float(self._wait_backoff(state))

    async def _before_sleep(self, state: RetryCallState) -> None:
        self.stats.retries += 1
        exc = state.outcome.exception() if state.outcome is not None else None
        logger.debug("retry %d in %.1f s after: %s", state.attempt_number, state.upcoming_sleep, exc)

    def _stop(self) -> Callable[[RetryCallState], bool]:
        """One call's stop rule: host failures and 429s each against their own budget."""
        failures = rate_limited = 0
        rate_limited_wait = 0.0

        def stop(state: RetryCallState) -> bool:
            nonlocal failures, rate_limited, rate_limited_wait
            exc = state.outcome.exception() if state.outcome is not None else None
            upcoming = state.upcoming_sleep
            if isinstance(exc, RateLimited):
                rate_limited += 1
                if rate_limited > self.rate_limit_retries:
                    return True
                if rate_limited_wait + upcoming >= self.rate_limit_wait:
                    return True
                rate_limited_wait += upcoming
                return False
            failures += 1
            elapsed = (state.seconds_since_start or 0.0) - rate_limited_wait
            return failures > self.max_retries or elapsed + upcoming >= self.max_total_wait

        return stop

    async def _retrying(self, attempt: Callable[[], Awaitable[T]]) -> T:
        retrying = AsyncRetrying(
            stop=self._stop(),
            wait=self._wait,
            retry=retry_if_exception(_retryable),
            before_sleep=self._before_sleep,
            sleep=self._sleep,
            reraise=True,
        )
        attempts = 0
        try:
            async for trial in retrying:
                attempts = trial.retry_state.attempt_number
                with trial:
                    return await attempt()
        except ZendeskError as exc:
            exc.attempts = attempts
            raise
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    # -- attachments ------------------------------------------------------------------------

    async def download(
        self,
        content_url: str,
        dest: Path | str,
        *,
        max_bytes: int,
        allow_malware: bool = False,
        malware_scan_result: str | None = None,
        place: Callable[[str, str], str | os.PathLike[str]] | None = None,
    ) -> Download:
        """Save an attachment's bytes; returns their SHA-256, size, path and content type.

        ``dest`` is either an existing directory — the file is then ``{dest}/{sha256}`` — or a
        file path (e.g. a store's fresh temporary file), which is replaced by the download. The
        body is streamed to a temporary file next to the destination while hashed, moved into
        place only when complete, and removed past ``max_bytes``.

        ``place(temporary_file, sha256)``, when given, puts the complete file where it belongs
        instead (e.g. a content-addressed store's ``put``) and returns its final path; ``dest``
        is then the directory for the temporary file. It runs in the worker thread that wrote
        the last bytes, so a small attachment costs one thread hop in all.

        ``content_url`` must be on the account's host; its 302 to a pre-signed URL elsewhere is
        followed without credentials. An attachment Zendesk's scan marked ``malware_found`` is
        refused unless ``allow_malware`` (api-reference.md, "Attachments":
        ``malware_scan_result``, ``malware_access_override``).
        """
        if malware_scan_result == "malware_found" and not allow_malware:
            raise MalwareDetected(
                "Zendesk's malware scan flagged this attachment, so it was not downloaded; "
                "allow malware downloads explicitly (allow_malware) to fetch it anyway",
                url=redact_url(content_url, account_host=self._account_host),
            )
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        url = self.resolve(content_url)
        target = Path(dest)
        # A stat, not a worker-thread hop: this runs once per attachment.
        if place is not None or target.is_dir():  # noqa: ASYNC240 - one stat; a thread hop costs more
            directory, final = target, None
        else:
            directory, final = target.parent, target
            if not directory.is_dir():
                await anyio.Path(directory).mkdir(parents=True, exist_ok=True)
        return await self._retrying(lambda: self._download_once(url, directory, final, max_bytes, place))

    async def _get_presigned(self, url: httpx.URL) -> httpx.Response:
        """GET a pre-signed URL off the account's host: no auth, no cookies, no headers of ours."""
        if self._anonymous is None:
            self._anonymous = httpx.AsyncClient(
                auth=None,
                verify=self._verify,
                timeout=self._timeout,
                transport=self._transport,
                follow_redirects=True,
                max_redirects=_MAX_HOPS,
                limits=self._limits,
            )
        started = time.monotonic()
        self.stats.requests += 1
        try:
            response = await self._anonymous.send(self._anonymous.build_request("GET", url), stream=True)
        except httpx.TransportError as exc:
            shown = redact_url(url, account_host=self._account_host)
            raise self._transport_failure(exc, "GET", shown) from exc
        if logger.isEnabledFor(logging.DEBUG):
            shown = redact_url(url, account_host=self._account_host)
            logger.debug("GET %s -> %s in %.2f s", shown, response.status_code, time.monotonic() - started)
        if response.status_code >= 400:
            await response.aread()
            await response.aclose()
            if response.status_code == 429:
                retry_after = retry_after_seconds(response)
                raise error_for_response(response, account_host=self._account_host, retry_after=retry_after)
            error = error_for_response(response, account_host=self._account_host)
            if response.status_code < 500:
                error.message = "The storage host refused the pre-signed attachment link"
            raise error
        return response

    async def _download_once(
        self,
        url: httpx.URL,
        directory: Path,
        final: Path | None,
        max_bytes: int,
        place: Callable[[str, str], str | os.PathLike[str]] | None = None,
    ) -> Download:
        response = await self._send("GET", url, stream=True)
        try:
            for _hop in range(_MAX_HOPS + 1):
                if response.status_code not in _REDIRECTS:
                    break
                location = response.headers.get("location")
                # Reading the (small) redirect body lets the connection go back to the pool;
                # closing it unread would close the connection and cost a new one per file.
                with contextlib.suppress(httpx.HTTPError):
                    await response.aread()
                await response.aclose()
                if not location:
                    raise BadResponse(
                        "Zendesk redirected the attachment without a Location",
                        status=response.status_code,
                        retryable=False,
                    )
                # httpx has already resolved the Location against the request's URL (a long
                # pre-signed URL costs a tenth of a millisecond to parse): reuse it.
                following = response.next_request
                target = following.url if following is not None else response.url.join(location)
                if _origin(target) == self._origin:
                    response = await self._send("GET", target, stream=True)
                else:
                    response = await self._get_presigned(target)
            else:
                raise BadResponse("The attachment link redirected too many times", retryable=False)
            return await self._save(response, directory, final, max_bytes, place)
        finally:
            await response.aclose()

    async def _save(
        self,
        response: httpx.Response,
        directory: Path,
        final: Path | None,
        max_bytes: int,
        place: Callable[[str, str], str | os.PathLike[str]] | None = None,
    ) -> Download:
        """Stream the body to a temporary file beside the destination, then move it there."""
        def shown() -> str:  # for messages only: redacting costs as much as a small download
            return redact_url(response.request.url, account_host=self._account_host)

        declared = response.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            raise self._too_large(int(declared), max_bytes, shown())
        # Bytes are gathered in memory up to _SPILL and written by one worker-thread call per
        # _SPILL (most attachments: one call that creates, writes and renames), instead of a
        # thread hop per chunk: thousands of small attachments are otherwise paced by thread
        # hand-offs, not by their rate limit.
        digest = hashlib.sha256()
        size = 0
        buffer: list[bytes] = []
        buffered = 0
        part: str | None = None
        try:
            try:
                async for chunk in response.aiter_bytes(_CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise self._too_large(size, max_bytes, shown())
                    digest.update(chunk)
                    buffer.append(chunk)
                    buffered += len(chunk)
                    if buffered >= _SPILL:
                        part = await anyio.to_thread.run_sync(_append_part, directory, part, buffer)
                        buffer, buffered = [], 0
            except httpx.TransportError as exc:
                raise self._transport_failure(exc, "GET", shown()) from exc
            identity = response.headers.get("content-encoding", "identity").lower() == "identity"
            if identity and declared is not None and declared.isdigit() and int(declared) != size:
                raise BadResponse(f"The attachment was cut short ({size} of {declared} bytes)", url=shown())
            sha256 = digest.hexdigest()
            if place is None:
                place = _move_to(os.fspath(final) if final is not None else os.path.join(directory, sha256))
            saved = await anyio.to_thread.run_sync(_finish_part, directory, part, buffer, sha256, place)
        except BaseException:
            if part is not None:
                await anyio.Path(part).unlink(missing_ok=True)
            raise
        content_type = response.headers.get("content-type")
        return Download(sha256=sha256, size=size, file=os.fspath(saved), content_type=content_type)

    @staticmethod
    def _too_large(size: int, max_bytes: int, shown: str) -> DownloadTooLarge:
        return DownloadTooLarge(
            f"The attachment is larger than the {max_bytes:,}-byte cap ({size:,} bytes or more) and was "
            "skipped; raise the attachment size cap (max_bytes) above its size to keep it",
            url=shown,
        )


def _move_to(target: str) -> Callable[[str, str], str]:
    """A ``place`` that moves the complete file to ``target``."""

    def place(tmp: str, _sha256: str) -> str:
        os.replace(tmp, target)
        return target

    return place


def _append_part(directory: Path, part: str | None, chunks: list[bytes]) -> str:
    """Append ``chunks`` to the partial file (created beside the destination when ``None``).

    Its name stays a string: a :class:`~pathlib.Path` would intern it (see :class:`Download`).
    """
    if part is None:
        # The process id in the name lets a later sync remove what a killed one left behind
        # (zensync.store.blobs.BlobStore.remove_orphaned_temp_files).
        fd, part = tempfile.mkstemp(dir=directory, prefix=f".zensync-{os.getpid()}-", suffix=".part")
        os.close(fd)
    with open(part, "ab") as out:
        out.writelines(chunks)
    return part


def _finish_part(
    directory: Path,
    part: str | None,
    chunks: list[bytes],
    sha256: str,
    place: Callable[[str, str], str | os.PathLike[str]],
) -> str | os.PathLike[str]:
    """Write the last ``chunks``, then hand the complete file to ``place``; its final path."""
    part = _append_part(directory, part, chunks)
    try:
        return place(part, sha256)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(part)
        raise
