"""How requests to Zendesk are authenticated: pluggable ``httpx.Auth`` flow objects.

* :class:`ApiTokenAuth` — ``Authorization: Basic base64("{email}/token:{api_token}")``
  (api-reference.md, "Security and authentication"; API tokens are retired 2027-04-30).
* :class:`BearerAuth` — a fixed OAuth access token (legacy non-expiring tokens, the
  simulator's ``--static-access-token``).
* :class:`OAuthTokenAuth` — an expiring access token with a refresh token, refreshed with the
  ``refresh_token`` grant ("OAuth Tokens for Grant Types": ``POST /oauth/tokens``, JSON body,
  201 on success).

Every flow refuses to put credentials on a request for a host other than the account's own
(the client binds the account origin with :meth:`ZendeskAuth.bind_origin`); the client
already refuses such URLs, this is the second lock on the same door.

Why :class:`OAuthTokenAuth` is a small explicit flow rather than Authlib's
``AsyncOAuth2Client``: Authlib makes the OAuth client *be* the HTTP client (one more
``httpx.AsyncClient`` subclass, form-encoded refresh bodies by default) and refreshes only
ahead of expiry, not after a 401. Zendesk rotates refresh tokens — a refresh deletes the old
pair — so the one guarantee that matters is ordering: the ``on_tokens`` callback that persists
the new pair is awaited *before* the new access token is used, and if it fails the new token
is not used at all. That guarantee, a lock so concurrent requests share one refresh, and the
retry after a 401 fit in one ``async_auth_flow`` that yields the token request through the
same client (same transport, same timeouts) that sends everything else.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import json
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx

from .errors import (
    RECONNECT,
    BadResponse,
    TokenRefreshError,
    UnsafeURL,
    error_for_response,
    parse_error_body,
    redact_url,
)

__all__ = ["ApiTokenAuth", "BearerAuth", "OAuthTokenAuth", "TokenSet", "ZendeskAuth"]

logger = logging.getLogger("zensync.zendesk")

Origin = tuple[str, str, int]


def _origin(url: httpx.URL) -> Origin:
    port = url.port or (443 if url.scheme == "https" else 80)
    return url.scheme, (url.host or "").lower(), port


def _as_datetime(value: datetime | float | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value
    return datetime.fromtimestamp(float(value), tz=UTC)


@dataclass(frozen=True)
class TokenSet:
    """One OAuth grant's tokens. ``repr`` never shows a token."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None
    scope: str | None = None

    @classmethod
    def from_token_response(cls, payload: dict[str, Any], *, now: datetime | None = None) -> TokenSet:
        """Build from a ``/oauth/tokens`` answer (``expires_in`` etc. are relative seconds).

        Legacy non-expiring tokens carry only ``access_token``, ``token_type`` and ``scope``.
        """
        now = now or datetime.now(UTC)
        access_token = payload.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise ValueError("the token response has no access_token")

        def later(key: str) -> datetime | None:
            seconds = payload.get(key)
            return now + timedelta(seconds=float(seconds)) if isinstance(seconds, int | float) else None

        refresh_token = payload.get("refresh_token")
        return cls(
            access_token=access_token,
            refresh_token=refresh_token if isinstance(refresh_token, str) and refresh_token else None,
            expires_at=later("expires_in"),
            refresh_expires_at=later("refresh_token_expires_in"),
            scope=payload.get("scope") if isinstance(payload.get("scope"), str) else None,
        )


TokenCallback = Callable[[TokenSet], Awaitable[None] | None]


class ZendeskAuth(httpx.Auth):
    """Base of zensync's auth flows: async only, bound to the account's origin."""

    #: Names the credential kind in error messages ("api_token", "bearer", "oauth").
    kind: ClassVar[str] = "unknown"
    _origin: Origin | None = None

    def bind_origin(self, origin: Origin) -> None:
        """Refuse from now on to authenticate requests to any other (scheme, host, port)."""
        if self._origin is not None and self._origin != origin:
            raise UnsafeURL(
                f"These credentials belong to {self._origin[1]}, not {origin[1]}: "
                "use one set of credentials per account"
            )
        self._origin = origin

    def _check(self, request: httpx.Request) -> None:
        if self._origin is not None and _origin(request.url) != self._origin:
            raise UnsafeURL(
                f"Refusing to send credentials to {request.url.host}: only {self._origin[1]} may get them",
                method=request.method,
                url=redact_url(request.url, account_host=self._origin[1]),
            )

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise TypeError("zensync's Zendesk auth works with httpx.AsyncClient only")
        yield request  # pragma: no cover - makes this a generator


class ApiTokenAuth(ZendeskAuth):
    """Basic auth with ``{email}/token`` as the user and the API token as the password."""

    kind = "api_token"

    def __init__(self, email: str, token: str) -> None:
        if not email or "@" not in email:
            raise ValueError("ApiTokenAuth needs the email address of an active Zendesk user")
        if not token:
            raise ValueError("ApiTokenAuth needs an API token (Admin Center > Apps and integrations > APIs)")
        self.email = email
        credentials = base64.b64encode(f"{email}/token:{token}".encode()).decode("ascii")
        self._header = f"Basic {credentials}"

    def __repr__(self) -> str:
        return f"ApiTokenAuth(email={self.email!r})"

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        self._check(request)
        request.headers["Authorization"] = self._header
        yield request


class BearerAuth(ZendeskAuth):
    """A fixed OAuth access token (no refresh): a 401 means reconnect."""

    kind = "bearer"

    def __init__(self, access_token: str) -> None:
        if not access_token:
            raise ValueError("BearerAuth needs an access token")
        self._token = access_token

    def __repr__(self) -> str:
        return "BearerAuth(access_token=…)"

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        self._check(request)
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request


_REFRESH_HINTS = {
    "invalid_grant": (
        f"Could not refresh the access token: {RECONNECT}: the refresh token expired or was revoked "
        "(each refresh replaces it, so it is also invalid if another copy of these tokens refreshed first)"
    ),
    "invalid_client": (
        "Could not refresh the access token: Zendesk did not accept the OAuth client id or secret; "
        f"check the client in Admin Center > Apps and integrations > APIs > OAuth clients, then {RECONNECT}"
    ),
    "unauthorized_client": (
        f"Could not refresh the access token: the OAuth client may not use refresh tokens; {RECONNECT}"
    ),
}


class OAuthTokenAuth(ZendeskAuth):
    """Bearer auth that refreshes itself: shortly before expiry, and once after a 401.

    Refresh tokens rotate (a refresh returns a new pair and deletes the old one), so the new
    pair goes to ``on_tokens`` first, and only once that coroutine has returned is the new
    access token used. A lock makes concurrent requests share one refresh. A failed refresh
    raises :class:`TokenRefreshError`; server-side failures of the token endpoint raise the
    retryable errors (``ServerError``, ``RateLimited``, ``BadResponse``) so the client's one
    retry policy applies to them too.
    """

    kind = "oauth"

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str | None,
        access_token: str,
        refresh_token: str | None,
        expires_at: datetime | float | None,
        on_tokens: TokenCallback,
        *,
        refresh_expires_at: datetime | float | None = None,
        scope: str | None = None,
        leeway: float = 60.0,
    ) -> None:
        self.token_url = httpx.URL(token_url)
        if self.token_url.scheme not in ("http", "https") or not self.token_url.host:
            raise ValueError(f"token_url must be an absolute URL, got {redact_url(token_url)!r}")
        self.client_id = client_id
        self._client_secret = client_secret
        self._tokens = TokenSet(
            access_token=access_token,
            refresh_token=refresh_token,
            expires_at=_as_datetime(expires_at),
            refresh_expires_at=_as_datetime(refresh_expires_at),
            scope=scope,
        )
        self._pending: TokenSet | None = None  # refreshed but not yet persisted
        self._on_tokens = on_tokens
        self.leeway = leeway
        self._lifetime: float | None = None
        self._lock = asyncio.Lock()
        self.refreshes = 0
        self.bind_origin(_origin(self.token_url))

    def __repr__(self) -> str:
        return f"OAuthTokenAuth(client_id={self.client_id!r}, expires_at={self._tokens.expires_at!r})"

    @property
    def tokens(self) -> TokenSet:
        """The tokens in use now (persisted through ``on_tokens`` if they came from a refresh)."""
        return self._tokens

    def _due(self) -> bool:
        """Whether the access token expires within the leeway (and can be refreshed)."""
        if self._pending is not None:
            return True
        expires_at = self._tokens.expires_at
        if expires_at is None or self._tokens.refresh_token is None:
            return False
        leeway = self.leeway if self._lifetime is None else min(self.leeway, self._lifetime / 5)
        return datetime.now(UTC) >= expires_at - timedelta(seconds=leeway)

    def _refresh_request(self) -> httpx.Request:
        tokens = self._tokens
        if tokens.refresh_token is None:
            raise TokenRefreshError(f"The access token expired and there is no refresh token: {RECONNECT}")
        if tokens.refresh_expires_at is not None and tokens.refresh_expires_at <= datetime.now(UTC):
            raise TokenRefreshError(
                f"Could not refresh the access token: {RECONNECT}: the refresh token expired "
                f"at {tokens.refresh_expires_at.isoformat(timespec='seconds')}"
            )
        body: dict[str, str] = {
            "grant_type": "refresh_token",
            "refresh_token": tokens.refresh_token,
            "client_id": self.client_id,
        }
        if self._client_secret:
            body["client_secret"] = self._client_secret
        return httpx.Request(
            "POST",
            self.token_url,
            content=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )

    async def _accept(self, response: httpx.Response) -> None:
        """Read a token response; persist the new pair; only then start using it."""
        await response.aread()
        url = redact_url(self.token_url)
        if response.status_code >= 500 or response.status_code == 429:
            raise error_for_response(response, auth_kind=self.kind)
        if response.status_code not in (200, 201):
            info = parse_error_body(response.content, response.headers.get("content-type", ""))
            hint = _REFRESH_HINTS.get(info.code or "", f"Could not refresh the access token: {RECONNECT}")
            raise TokenRefreshError(hint, status=response.status_code, info=info, method="POST", url=url)
        try:
            payload = response.json()
            tokens = TokenSet.from_token_response(payload)
        except ValueError as exc:
            raise BadResponse(
                "The token endpoint answered with an unreadable body", method="POST", url=url
            ) from exc
        if tokens.refresh_token is None and self._tokens.refresh_token is not None:
            # A token response without a new refresh token leaves the old one in force.
            tokens = TokenSet(
                tokens.access_token, self._tokens.refresh_token, tokens.expires_at,
                self._tokens.refresh_expires_at, tokens.scope,
            )  # fmt: skip
        if isinstance(payload.get("expires_in"), int | float):
            self._lifetime = float(payload["expires_in"])
        self._pending = tokens
        self.refreshes += 1
        logger.debug("refreshed the access token (expires %s)", tokens.expires_at)
        await self._persist()

    async def _persist(self) -> None:
        """Hand the pending pair to ``on_tokens``; adopt it only when that succeeded."""
        pending = self._pending
        assert pending is not None
        try:
            saved = self._on_tokens(pending)
            if inspect.isawaitable(saved):
                await saved
        except Exception as exc:
            raise TokenRefreshError(
                "The access token was refreshed but the new tokens could not be saved "
                f"({type(exc).__name__}); the next request tries to save them again"
            ) from exc
        self._tokens = pending
        self._pending = None

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        self._check(request)
        if self._due():
            async with self._lock:
                if self._pending is not None:
                    await self._persist()
                elif self._due():
                    started = time.monotonic()
                    await self._accept((yield self._refresh_request()))
                    logger.debug("proactive refresh took %.2f s", time.monotonic() - started)

        sent_with = self._tokens.access_token
        request.headers["Authorization"] = f"Bearer {sent_with}"
        response = yield request
        if response.status_code != 401 or self._tokens.refresh_token is None:
            return

        async with self._lock:
            if self._pending is not None:
                await self._persist()
            elif self._tokens.access_token == sent_with:  # nobody refreshed meanwhile
                await self._accept((yield self._refresh_request()))
        request.headers["Authorization"] = f"Bearer {self._tokens.access_token}"
        yield request
