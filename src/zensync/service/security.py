"""What keeps the service safe to run on a workstation: trusted hosts, same-origin writes, bounds.

Three ASGI middlewares wrap the whole app (mounted sub-apps included), outermost first:

:class:`TrustedHosts`
    DNS rebinding: a page on ``evil.example`` whose name later resolves to 127.0.0.1 makes the
    browser send ``Host: evil.example`` to the service. Only the names the service is meant to
    be reached by are answered (loopback names, the bound address, the redirect URI's host and
    ``--allowed-host``); anything else gets a 400 naming the option to set.
:class:`BodyLimit`
    A request body over the limit gets 413, judged by ``Content-Length`` and by the bytes that
    actually arrive (a chunked body has no length).
:class:`SameOriginWrites`
    Cross-site request forgery: any page the user visits can make the browser POST to
    ``http://localhost:8001``. A state-changing request (anything but GET/HEAD/OPTIONS) from a
    browser must come from the service's own origin: ``Origin`` must equal it exactly, and
    ``Sec-Fetch-Site`` other than ``same-origin``/``none`` is refused unless it does. Note that
    a page on ``http://localhost:9999`` is *same-site* to ``http://localhost:8001``, so the
    origin, port included, is what counts. JSON routes take JSON only (415 for form-encoded or
    ``text/plain`` bodies, which a cross-site form can send without a CORS preflight).

The web forms also carry a token (:func:`csrf_token` / :func:`require_csrf_token`) for
browsers that send no ``Origin``: an HMAC, under a per-process key, of a random value kept in an
HttpOnly, SameSite=Strict cookie. A double-submit cookie alone would not do here: cookies are
shared by every port of ``localhost``, so script on another local port could read a readable
token cookie and copy it into its form (and the cookie-less cross-site POST that a
double-submit library lets through is exactly the attack when the service has no API key).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Callable, Iterable
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlsplit

from fastapi import HTTPException, Request
from starlette.datastructures import Headers
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
MAX_BODY_BYTES = 64 * 1024
"""Every body the service accepts is a few hundred bytes (a connection, a JSON-RPC call)."""

CSRF_COOKIE = "zensync_csrf"
CSRF_FIELD = "csrf_token"
_SCOPE_KEY = "zensync.csrf"

FORM_PATHS = ("/connections", "/login")
"""Paths of the HTML forms (and everything under them); every other write is a JSON route."""


def is_form_path(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in FORM_PATHS)


def host_name(value: str) -> str | None:
    """The host of a ``Host`` header or an origin's authority, lower case, IPv6 without brackets."""
    value = value.strip()
    if not value or any(c in value for c in "/?#@\\ "):
        return None
    try:
        parts = urlsplit(f"//{value}")
        _ = parts.port  # raises on a bad port
    except ValueError:
        return None
    return parts.hostname or None


def trusted_host_names(bound_host: str, extra: Iterable[str]) -> frozenset[str]:
    """Loopback names, the bound address (unless it is a wildcard) and the configured names."""
    names = set(LOOPBACK_NAMES)
    bound = bound_host.strip().strip("[]").lower()
    if bound and bound not in ("0.0.0.0", "::"):
        names.add(bound)
    for name in extra:
        clean = name.strip().strip("[]").lower()
        if clean:
            names.add(clean)
    return frozenset(names)


def _display(host: str) -> str:
    try:
        return f"[{host}]" if ipaddress.ip_address(host).version == 6 else host
    except ValueError:
        return host


class TrustedHosts:
    """400 unless the ``Host`` header names this service (the DNS-rebinding defence)."""

    def __init__(self, app: ASGIApp, *, hosts: frozenset[str], option: str = "--allowed-host") -> None:
        self.app = app
        self.hosts = hosts
        self.option = option

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        raw = Headers(scope=scope).get("host", "")
        name = host_name(raw)
        if name is not None and name in self.hosts:
            await self.app(scope, receive, send)
            return
        shown = ", ".join(sorted(_display(h) for h in self.hosts))
        message = (
            f"This zensync service does not answer to the host name {raw!r}. Reach it by one of: "
            f"{shown}; to serve it under another name, start it with {self.option} NAME "
            "(or ZENSYNC_ALLOWED_HOSTS)."
        )
        await PlainTextResponse(message, status_code=400)(scope, receive, send)


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when more bytes arrive than the limit allows."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            413, f"The request body is larger than this service accepts ({limit:,} bytes); send less."
        )


class BodyLimit:
    """413 for a body over ``limit`` bytes: at once by ``Content-Length``, else as it streams in."""

    def __init__(self, app: ASGIApp, *, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            try:
                too_long = int(declared) > self.limit
            except ValueError:
                await _json(scope, receive, send, 400, "The Content-Length header is not a number.")
                return
            if too_long:
                await _json(scope, receive, send, 413, BodyTooLarge(self.limit).detail)
                return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge as exc:
            if started:
                raise
            await _json(scope, receive, send, 413, exc.detail)


def _media_type(headers: Headers) -> str:
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


class SameOriginWrites:
    """Refuse state-changing requests that a browser sends on behalf of another site.

    ``own_origins`` are origins accepted besides the request's own ``scheme://Host`` (the
    redirect URI's origin behind a TLS-terminating proxy, for instance).
    """

    def __init__(self, app: ASGIApp, *, own_origins: Iterable[str] = ()) -> None:
        self.app = app
        self.own_origins = frozenset(o.rstrip("/").lower() for o in own_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        refusal = self.refusal(scope, headers)
        if refusal is not None:
            status, message = refusal
            await _json(scope, receive, send, status, message)
            return
        await self.app(scope, receive, send)

    def refusal(self, scope: Scope, headers: Headers) -> tuple[int, str] | None:
        origin = headers.get("origin")
        fetch_site = headers.get("sec-fetch-site", "").strip().lower()
        own = f"{scope.get('scheme', 'http')}://{headers.get('host', '')}".lower()
        origin_ok = origin is not None and origin.strip().rstrip("/").lower() in (self.own_origins | {own})
        cross = (
            "This zensync service accepts changes only from its own pages: the request came from "
            f"{origin or 'another site'}. Use the service's own page at {own}/, or call the API "
            "from a program (curl, Python) rather than from another web page."
        )
        if origin is not None and not origin_ok:
            return 403, cross
        if fetch_site and fetch_site not in ("same-origin", "none") and not origin_ok:
            return 403, cross
        media_type = _media_type(headers)
        path = scope.get("path", "")
        if is_form_path(path):
            if media_type and media_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
                return 415, "This address takes the web page's form; send it from the page."
            return None
        has_body = headers.get("content-length", "0") not in ("0", "") or "transfer-encoding" in headers
        if (media_type and not _is_json(media_type)) or (has_body and not media_type):
            return 415, (
                f"Send JSON here: Content-Type: application/json (not {media_type or 'no content type'})."
            )
        return None


async def _json(scope: Scope, receive: Receive, send: Send, status: int, detail: str) -> None:
    response: Response = JSONResponse({"detail": detail}, status_code=status)
    await response(scope, receive, send)


# ------------------------------------------------------------------------------------- form token


class CsrfTokens:
    """Tokens for the web forms, bound to a per-browser cookie and a per-process key."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    def token_for(self, seed: str) -> str:
        return hmac.new(self._key, seed.encode(), hashlib.sha256).hexdigest()

    def valid(self, seed: str | None, token: str | None) -> bool:
        if not seed or not token:
            return False
        return hmac.compare_digest(self.token_for(seed).encode(), token.strip().encode())


class CsrfCookie:
    """Gives each browser its cookie seed the first time a page asks for a token.

    The seed is created lazily (pages without a form set no cookie) and the cookie is added to
    that response: HttpOnly, SameSite=Strict, Secure on https.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        existing = _cookie(scope, CSRF_COOKIE)
        holder: dict[str, Any] = {"seed": existing, "new": False}

        def seed() -> str:
            if not holder["seed"]:
                holder["seed"] = secrets.token_urlsafe(32)
                holder["new"] = True
            value: str = holder["seed"]
            return value

        scope.setdefault("state", {})[_SCOPE_KEY] = seed

        async def with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and holder["new"]:
                attrs = [f"{CSRF_COOKIE}={holder['seed']}", "Path=/", "HttpOnly", "SameSite=Strict"]
                if scope.get("scheme") == "https":
                    attrs.append("Secure")
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"set-cookie", "; ".join(attrs).encode())],
                }
            await send(message)

        await self.app(scope, receive, with_cookie)


def _cookie(scope: Scope, name: str) -> str | None:
    raw = Headers(scope=scope).get("cookie")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None else None


def csrf_token(request: Request) -> str:
    """The token for this browser's forms (sets the cookie on this response if it is new)."""
    tokens: CsrfTokens = request.app.state.csrf_tokens
    seed: Callable[[], str] = request.scope["state"][_SCOPE_KEY]
    return tokens.token_for(seed())


class CsrfRefused(Exception):
    """A web form arrived without this browser's token: stale page or another site's form."""


async def require_csrf_token(request: Request) -> None:
    """Dependency of every web form route: the hidden ``csrf_token`` must match the cookie."""
    if request.method in SAFE_METHODS:
        return
    form = await request.form()
    token = form.get(CSRF_FIELD)
    tokens: CsrfTokens = request.app.state.csrf_tokens
    if not tokens.valid(_cookie(request.scope, CSRF_COOKIE), token if isinstance(token, str) else None):
        raise CsrfRefused(
            "This form is out of date or did not come from this service's page. "
            "Reload the page and submit it again."
        )
