"""The simulator's OAuth 2.0 authorization server, built to Zendesk's published behaviour.

Sources, in order of authority: api-reference.md "OAuth Tokens for Grant Types" (grants, the
201 response, lifetimes and their bounds, scopes), "OAuth Tokens" (Show/Revoke Token on
`/api/v2/oauth/tokens/current.json`), "OAuth Clients" (identifier, kind, redirect URIs), the
spec's `/oauth/tokens`, and the fact sheet (../shared/zendesk/README.md). Where Zendesk
publishes nothing (error texts, the error page, form-encoded bodies) it follows RFC 6749 and
RFC 7636, cited at each choice.

Routes:

- ``GET /oauth/authorizations/new``: validates the request, then shows the consent page (or,
  with ``auto_consent``, redirects at once). Problems that make the redirect URI untrustworthy
  (unknown or inactive client, unregistered redirect URI) render an "Invalid Authorization
  Request" page with status 400 and never redirect (RFC 6749 §4.1.2.1); other problems
  redirect back with ``error=...`` and the ``state``.
- ``POST /oauth/authorizations``: the consent form (Allow / Deny). The form carries the
  request parameters and a single-use ``authenticity_token`` bound to the validated request.
  Which user consents: the account admin by default; the form's ``user_email`` field (or
  ``login_hint`` on the authorization URL) may pick another active user, such as the agent.
- ``POST /oauth/tokens``: grants ``authorization_code``, ``refresh_token`` (with rotation),
  ``client_credentials``. Zendesk documents a JSON body; RFC 6749 §4.1.3 prescribes
  ``application/x-www-form-urlencoded``: both are accepted. Client credentials may come in the
  body or as HTTP Basic (RFC 6749 §2.3.1). Success is 201, as Zendesk answers.
- ``GET|DELETE /api/v2/oauth/tokens/current.json``: show / revoke the bearer token (204);
  revoking also deletes its refresh token.

Tokens live in memory; expiry follows the wall clock. Mutations happen without awaiting in
between, so a single event loop serves them without locks.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import itertools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

from authlib.oauth2.rfc7636 import create_s256_code_challenge  # type: ignore[import-untyped]
from authlib.oauth2.rfc7636.challenge import (  # type: ignore[import-untyped]
    CODE_CHALLENGE_PATTERN,
    CODE_VERIFIER_PATTERN,
)
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from .config import OAuthClientSpec, SimulatorConfig

# Bounds on request parameters (api-reference.md, "OAuth Tokens for Grant Types", JSON format).
MIN_EXPIRES_IN = 300
MAX_EXPIRES_IN = 172_800
MIN_REFRESH_EXPIRES_IN = 604_800
MAX_REFRESH_EXPIRES_IN = 7_776_000

CONSENT_TTL = 600.0  # seconds a consent page stays valid; Zendesk publishes no figure

INVALID_TOKEN_BODY = {
    "error": "invalid_token",
    "error_description": (
        "The access token provided is expired, revoked, malformed or invalid for other reasons."
    ),
}

COULD_NOT_AUTHENTICATE_BODY = {"error": "Couldn't authenticate you"}

GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
OAUTH_CLIENTS_PAGE = "Admin Center > Apps and integrations > APIs > OAuth clients"

SCOPE_DESCRIPTIONS = {
    "read": "Read tickets, users, organizations and every other resource",
    "write": "Create, update and delete tickets, users, organizations and every other resource",
    "impersonate": "Make requests on behalf of end users",
}

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


class AccountUsers(Protocol):
    """What the OAuth server and request authentication need from the simulated account."""

    def user_by_email(self, email: str) -> dict[str, Any] | None: ...

    def user_by_id(self, user_id: int) -> dict[str, Any] | None: ...


def user_can_sign_in(user: dict[str, Any] | None) -> bool:
    """Active, not suspended: the users Zendesk lets authenticate."""
    return bool(user) and bool(user.get("active", True)) and not user.get("suspended", False)  # type: ignore[union-attr]


@dataclass(frozen=True)
class TokenInfo:
    """What a bearer token stands for. `expires_at` is Unix time; None never expires."""

    user_id: int
    scopes: set[str]
    client_identifier: str
    expires_at: float | None


class OAuthError(Exception):
    """An RFC 6749 §5.2 error: `{"error": ..., "error_description": ...}` with its status."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status

    def response(self) -> JSONResponse:
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        if self.status == 401:
            # RFC 6749 §5.2: a 401 names the scheme the client may authenticate with.
            headers["WWW-Authenticate"] = 'Basic realm="Zendesk"'
        return JSONResponse(
            {"error": self.error, "error_description": self.description},
            status_code=self.status,
            headers=headers,
        )


class InvalidAuthorizationRequest(Exception):
    """A consent request that cannot be answered by redirecting (RFC 6749 §4.1.2.1)."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix


class RedirectError(Exception):
    """A consent request error reported to the client by redirect (RFC 6749 §4.1.2.1)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description


@dataclass(frozen=True)
class AuthorizationRequest:
    """A validated `/oauth/authorizations/new` request."""

    client: OAuthClientSpec
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    code_challenge: str | None


@dataclass
class _Code:
    request: AuthorizationRequest
    user_id: int
    expires_at: float
    used: bool = False
    family: str | None = None  # the token family issued for it, revoked if the code is replayed


@dataclass
class _AccessToken:
    id: int
    token: str
    family: str
    client_identifier: str
    user_id: int
    scopes: tuple[str, ...]
    created_at: float
    expires_at: float | None
    refresh_token: str | None
    refresh_expires_at: float | None
    used_at: float | None = None


@dataclass
class _RefreshToken:
    token: str
    access_token: str
    family: str
    client_identifier: str
    user_id: int
    scopes: tuple[str, ...]
    expires_at: float


@dataclass
class _PendingConsent:
    request: AuthorizationRequest
    expires_at: float
    params: dict[str, str] = field(default_factory=dict)


def _iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def add_query(uri: str, params: dict[str, str | None]) -> str:
    """`uri` with `params` appended to any query it already has (RFC 6749 §3.1.2)."""
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(key, value) for key, value in params.items() if value is not None]
    return urlunsplit(parts._replace(query=urlencode(query)))


def parse_scope(text: str) -> tuple[str, ...]:
    """Space-separated scopes, order kept, duplicates dropped."""
    return tuple(dict.fromkeys(text.split()))


def describe_scope(scope: str) -> str:
    if scope in SCOPE_DESCRIPTIONS:
        return SCOPE_DESCRIPTIONS[scope]
    resource, _, access = scope.partition(":")
    if access == "read":
        return f"Read {resource.replace('_', ' ')}"
    if access == "write":
        return f"Create, update and delete {resource.replace('_', ' ')}"
    return f"{scope} (not a scope Zendesk knows: requests with it will be refused)"


class OAuthServer:
    """Clients from `config.oauth_clients`; codes and tokens in memory."""

    def __init__(
        self,
        config: SimulatorConfig,
        account: AccountUsers,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.account = account
        self._clock = clock
        self._clients = {spec.identifier: spec for spec in config.oauth_clients}
        self._client_ids = {
            spec.identifier: index for index, spec in enumerate(config.oauth_clients, start=1)
        }
        self._codes: dict[str, _Code] = {}
        self._pending: dict[str, _PendingConsent] = {}
        self._access: dict[str, _AccessToken] = {}
        self._refresh: dict[str, _RefreshToken] = {}
        self._token_ids = itertools.count(1)
        self._static_revoked = False

    # ------------------------------------------------------------------ public interface

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/oauth/authorizations/new", self.authorize, methods=["GET"]),
            Route("/oauth/authorizations", self.decide, methods=["POST"]),
            Route("/oauth/tokens", self.token, methods=["POST"]),
            Route("/api/v2/oauth/tokens/current.json", self.current_token, methods=["GET", "DELETE"]),
            Route("/api/v2/oauth/tokens/current", self.current_token, methods=["GET", "DELETE"]),
        ]

    def lookup_access_token(self, token: str) -> TokenInfo | None:
        """The live token's meaning, or None when it is unknown, expired or revoked."""
        static = self.config.static_access_token
        if static and not self._static_revoked and hmac.compare_digest(token.encode(), static.encode()):
            admin = self.account.user_by_email(self.config.admin_email)
            if admin is None:
                return None
            return TokenInfo(int(admin["id"]), {"read", "write"}, "static", None)
        record = self._access.get(token)
        if record is None:
            return None
        now = self._clock()
        if record.expires_at is not None and now >= record.expires_at:
            return None
        record.used_at = now
        return TokenInfo(record.user_id, set(record.scopes), record.client_identifier, record.expires_at)

    def revoke_access_token(self, token: str) -> bool:
        """Revoke the access token and its refresh token; False when it was not live."""
        static = self.config.static_access_token
        if static and hmac.compare_digest(token.encode(), static.encode()):
            was_live = not self._static_revoked
            self._static_revoked = True
            return was_live
        record = self._access.pop(token, None)
        if record is None:
            return False
        if record.refresh_token:
            self._refresh.pop(record.refresh_token, None)
        return record.expires_at is None or self._clock() < record.expires_at

    # ------------------------------------------------------------------ consent

    def _client_for_consent(self, client_id: str | None) -> OAuthClientSpec:
        if not client_id:
            raise InvalidAuthorizationRequest(
                "The request has no client_id.",
                f"Send client_id set to the client's Unique Identifier from {OAUTH_CLIENTS_PAGE}.",
            )
        client = self._clients.get(client_id)
        if client is None:
            raise InvalidAuthorizationRequest(
                f"No OAuth client has the unique identifier {client_id!r}.",
                f"Use the Unique Identifier shown in {OAUTH_CLIENTS_PAGE} (not the numeric id or the name).",
            )
        if not client.active:
            raise InvalidAuthorizationRequest(
                f"The OAuth client {client_id!r} is inactive.",
                f"Activate the client in {OAUTH_CLIENTS_PAGE}, then start the connection again.",
            )
        return client

    def _validate_authorization(self, params: dict[str, str]) -> AuthorizationRequest:
        """Raise InvalidAuthorizationRequest (no redirect) or RedirectError (redirect with error)."""
        client = self._client_for_consent(params.get("client_id"))
        redirect_uri = params.get("redirect_uri")
        registered = ", ".join(client.redirect_uris) or "none"
        if not redirect_uri:
            raise InvalidAuthorizationRequest(
                "The request has no redirect_uri.",
                f"Send redirect_uri set to one of the client's registered Redirect URLs ({registered}).",
            )
        # Exact match only: no prefix, trailing-slash or scheme leniency (RFC 6749 §3.1.2.3).
        if redirect_uri not in client.redirect_uris:
            raise InvalidAuthorizationRequest(
                f"The redirect_uri {redirect_uri!r} is not registered for the client {client.identifier!r}.",
                f"Add it, character for character, to the client's Redirect URLs in {OAUTH_CLIENTS_PAGE} "
                f"(registered now: {registered}), or send one of those.",
            )
        if params.get("response_type") != "code":
            raise RedirectError(
                "unsupported_response_type",
                "Only response_type=code is supported (the implicit grant flow is deprecated).",
            )
        scopes = parse_scope(params.get("scope", ""))
        if not scopes:
            # "You must specify a scope" (api-reference.md, "OAuth Tokens for Grant Types", Scope).
            raise RedirectError(
                "invalid_scope", 'Specify a scope, for example scope=read or scope="read write".'
            )
        challenge = params.get("code_challenge") or None
        method = params.get("code_challenge_method") or None
        if challenge is None and method is not None:
            raise RedirectError("invalid_request", "code_challenge_method was sent without code_challenge.")
        if challenge is not None:
            if method != "S256":
                # Zendesk supports S256 only (fact sheet); RFC 7636 §4.4.1 answers invalid_request.
                raise RedirectError(
                    "invalid_request", "Send code_challenge_method=S256; no other PKCE method is supported."
                )
            if not CODE_CHALLENGE_PATTERN.match(challenge):
                raise RedirectError(
                    "invalid_request", "code_challenge must be the base64url SHA-256 of the code_verifier."
                )
        elif client.kind == "public":
            # Public clients must use PKCE (fact sheet; RFC 7636 §4.4.1).
            raise RedirectError(
                "invalid_request",
                "This is a public client: send code_challenge and code_challenge_method=S256 (PKCE).",
            )
        return AuthorizationRequest(client, redirect_uri, scopes, params.get("state"), challenge)

    def _consent_users(self) -> list[dict[str, Any]]:
        users: list[dict[str, Any]] = []
        for email in (self.config.admin_email, self.config.agent_email, self.config.enduser_email):
            user = self.account.user_by_email(email)
            if user_can_sign_in(user) and user is not None and user not in users:
                users.append(user)
        return users

    def _issue_code(self, request: AuthorizationRequest, user_id: int) -> str:
        self._prune()
        code = secrets.token_urlsafe(32)
        self._codes[code] = _Code(request, user_id, self._clock() + self.config.authorization_code_ttl)
        return code

    def _signed_in_user(self, email: str | None) -> dict[str, Any] | None:
        """The user who consents: `email` when given, otherwise the admin."""
        user = self.account.user_by_email(email or self.config.admin_email)
        return user if user_can_sign_in(user) else None

    async def authorize(self, request: Request) -> Response:
        params = dict(request.query_params)
        try:
            auth_request = self._validate_authorization(params)
        except InvalidAuthorizationRequest as exc:
            return self._error_page(exc)
        except RedirectError as exc:
            return _redirect(
                add_query(
                    params["redirect_uri"],
                    {"error": exc.error, "error_description": exc.description, "state": params.get("state")},
                )
            )
        login_hint = params.get("login_hint")
        if self.config.auto_consent:
            user = self._signed_in_user(login_hint)
            if user is None:
                return self._error_page(
                    InvalidAuthorizationRequest(
                        f"No active user can sign in as {login_hint or self.config.admin_email!r}.",
                        "Send login_hint with the email of an active, unsuspended user of the account.",
                    )
                )
            code = self._issue_code(auth_request, int(user["id"]))
            return _redirect(
                add_query(auth_request.redirect_uri, {"code": code, "state": auth_request.state})
            )

        self._prune()
        authenticity_token = secrets.token_urlsafe(32)
        carried: dict[str, str] = {
            key: params[key]
            for key in (
                "response_type",
                "client_id",
                "redirect_uri",
                "scope",
                "state",
                "code_challenge",
                "code_challenge_method",
            )
            if key in params
        }
        self._pending[authenticity_token] = _PendingConsent(
            auth_request, self._clock() + CONSENT_TTL, carried
        )
        users = self._consent_users()
        selected = login_hint if any(u.get("email") == login_hint for u in users) else self.config.admin_email
        html = _templates.get_template("consent.html").render(
            client_name=getattr(auth_request.client, "name", None) or auth_request.client.identifier,
            company=getattr(auth_request.client, "company", None),
            subdomain=self.config.subdomain,
            scopes=[(scope, describe_scope(scope)) for scope in auth_request.scopes],
            redirect_host=urlsplit(auth_request.redirect_uri).netloc,
            users=users,
            selected_email=selected,
            authenticity_token=authenticity_token,
            carried=carried,
        )
        return HTMLResponse(html, headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"})

    async def decide(self, request: Request) -> Response:
        form = await request.form()
        fields = {key: value for key, value in form.items() if isinstance(value, str)}
        pending = self._pending.pop(fields.get("authenticity_token", ""), None)
        if pending is None or self._clock() >= pending.expires_at:
            return self._error_page(
                InvalidAuthorizationRequest(
                    "This consent form is unknown, already used or expired.",
                    "Start the connection again from the application to get a fresh consent page.",
                )
            )
        for key, value in pending.params.items():
            if fields.get(key, "") != value:
                return self._error_page(
                    InvalidAuthorizationRequest(
                        f"The consent form's {key} differs from the authorization request.",
                        "Submit the consent form as served; start the connection again.",
                    )
                )
        auth_request = pending.request
        decision = fields.get("decision", "").lower()
        if decision == "deny":
            return _redirect(
                add_query(
                    auth_request.redirect_uri,
                    {
                        "error": "access_denied",
                        "error_description": "The end-user or authorization server denied the request.",
                        "state": auth_request.state,
                    },
                )
            )
        if decision != "allow":
            return self._error_page(
                InvalidAuthorizationRequest(
                    "The consent form carried no decision.", "Press Allow or Deny on the consent page."
                )
            )
        user = self._signed_in_user(fields.get("user_email") or None)
        if user is None:
            return self._error_page(
                InvalidAuthorizationRequest(
                    f"No active user can sign in as {fields.get('user_email')!r}.",
                    "Pick an active, unsuspended user of the account on the consent page.",
                )
            )
        code = self._issue_code(auth_request, int(user["id"]))
        return _redirect(add_query(auth_request.redirect_uri, {"code": code, "state": auth_request.state}))

    def _error_page(self, exc: InvalidAuthorizationRequest) -> HTMLResponse:
        html = _templates.get_template("oauth_error.html").render(problem=exc.problem, fix=exc.fix)
        return HTMLResponse(html, status_code=400, headers={"Cache-Control": "no-store"})

    # ------------------------------------------------------------------ token endpoint

    async def token(self, request: Request) -> Response:
        try:
            params, basic = await _token_params(request)
            grant_type = params.get("grant_type")
            if not grant_type:
                raise OAuthError("invalid_request", f"Send grant_type, one of {', '.join(GRANT_TYPES)}.")
            if grant_type not in GRANT_TYPES:
                raise OAuthError(
                    "unsupported_grant_type",
                    f"grant_type {grant_type!r} is not supported; use one of {', '.join(GRANT_TYPES)}.",
                )
            client, secret_ok = self._authenticate_client(params, basic)
            if grant_type == "authorization_code":
                body = self._grant_authorization_code(params, client, secret_ok)
            elif grant_type == "refresh_token":
                body = self._grant_refresh_token(params, client, secret_ok)
            else:
                body = self._grant_client_credentials(params, client, secret_ok)
        except OAuthError as exc:
            return exc.response()
        return JSONResponse(
            body, status_code=201, headers={"Cache-Control": "no-store", "Pragma": "no-cache"}
        )

    def _authenticate_client(
        self, params: dict[str, str], basic: tuple[str, str] | None
    ) -> tuple[OAuthClientSpec, bool]:
        """The client and whether it proved its secret (RFC 6749 §2.3.1, §3.2.1)."""
        client_id = params.get("client_id")
        secret = params.get("client_secret")
        if basic is not None:
            if (client_id and client_id != basic[0]) or (secret and secret != basic[1]):
                raise OAuthError(
                    "invalid_request", "Authenticate the client one way only: HTTP Basic or the request body."
                )
            client_id, secret = basic
        if not client_id:
            raise OAuthError("invalid_client", "Send client_id (the client's Unique Identifier).", 401)
        client = self._clients.get(client_id)
        if client is None:
            raise OAuthError(
                "invalid_client",
                f"No OAuth client has the unique identifier {client_id!r}; "
                f"use the one in {OAUTH_CLIENTS_PAGE}.",
                401,
            )
        if not client.active:
            raise OAuthError(
                "invalid_client",
                f"The OAuth client {client_id!r} is inactive; activate it in {OAUTH_CLIENTS_PAGE}.",
                401,
            )
        if secret is None or secret == "":
            return client, False
        if not hmac.compare_digest(secret.encode(), client.secret.encode()):
            raise OAuthError(
                "invalid_client",
                f"Client authentication failed: the client_secret is not the secret of {client_id!r}. "
                f"Copy the whole secret from {OAUTH_CLIENTS_PAGE} (regenerate it if it was lost).",
                401,
            )
        return client, True

    def _lifetimes(self, params: dict[str, str]) -> tuple[int, int]:
        """Access and refresh lifetimes: the request's, within Zendesk's bounds, else the config's."""
        access = _int_param(params, "expires_in")
        refresh = _int_param(params, "refresh_token_expires_in")
        if access is not None and not MIN_EXPIRES_IN <= access <= MAX_EXPIRES_IN:
            raise OAuthError(
                "invalid_request",
                f"expires_in must be between {MIN_EXPIRES_IN} and {MAX_EXPIRES_IN} seconds "
                "(5 minutes to 2 days).",
            )
        if refresh is not None and not MIN_REFRESH_EXPIRES_IN <= refresh <= MAX_REFRESH_EXPIRES_IN:
            raise OAuthError(
                "invalid_request",
                f"refresh_token_expires_in must be between {MIN_REFRESH_EXPIRES_IN} and "
                f"{MAX_REFRESH_EXPIRES_IN} seconds (7 to 90 days).",
            )
        if access is not None and refresh is not None and access > refresh:
            raise OAuthError("invalid_request", "expires_in must not exceed refresh_token_expires_in.")
        return (
            access if access is not None else self.config.access_token_ttl,
            refresh if refresh is not None else self.config.refresh_token_ttl,
        )

    def _issue(
        self,
        *,
        client: OAuthClientSpec,
        user_id: int,
        scopes: tuple[str, ...],
        family: str,
        access_ttl: int,
        refresh_ttl: int | None,
    ) -> dict[str, Any]:
        self._prune()
        now = self._clock()
        access_token = secrets.token_hex(32)
        refresh_token = secrets.token_hex(32) if refresh_ttl is not None else None
        refresh_expires_at = now + refresh_ttl if refresh_ttl is not None else None
        self._access[access_token] = _AccessToken(
            id=next(self._token_ids),
            token=access_token,
            family=family,
            client_identifier=client.identifier,
            user_id=user_id,
            scopes=scopes,
            created_at=now,
            expires_at=now + access_ttl,
            refresh_token=refresh_token,
            refresh_expires_at=refresh_expires_at,
        )
        body: dict[str, Any] = {
            "access_token": access_token,
            "token_type": "bearer",
            "scope": " ".join(scopes),
            "expires_in": access_ttl,
        }
        if refresh_token is not None and refresh_expires_at is not None and refresh_ttl is not None:
            self._refresh[refresh_token] = _RefreshToken(
                refresh_token, access_token, family, client.identifier, user_id, scopes, refresh_expires_at
            )
            body["refresh_token"] = refresh_token
            body["refresh_token_expires_in"] = refresh_ttl
        return body

    def _revoke_family(self, family: str) -> None:
        for token in [t for t, record in self._access.items() if record.family == family]:
            self._access.pop(token, None)
        for token in [t for t, record in self._refresh.items() if record.family == family]:
            self._refresh.pop(token, None)

    def _grant_authorization_code(
        self, params: dict[str, str], client: OAuthClientSpec, secret_ok: bool
    ) -> dict[str, Any]:
        code_value = params.get("code")
        if not code_value:
            raise OAuthError("invalid_request", "Send code, the authorization code from the redirect.")
        code = self._codes.get(code_value)
        if code is None or code.request.client.identifier != client.identifier:
            raise OAuthError(
                "invalid_grant", "The authorization code is invalid or was issued to another client."
            )
        if code.used:
            # RFC 6749 §4.1.2: a replayed code is refused and the tokens issued for it revoked.
            if code.family:
                self._revoke_family(code.family)
            raise OAuthError(
                "invalid_grant",
                "The authorization code was already used; tokens issued for it are revoked. Authorize again.",
            )
        if self._clock() >= code.expires_at:
            raise OAuthError(
                "invalid_grant",
                f"The authorization code expired (codes are valid for {self.config.authorization_code_ttl} "
                "seconds); exchange it as soon as the redirect arrives, or authorize again.",
            )
        redirect_uri = params.get("redirect_uri")
        if not redirect_uri:
            raise OAuthError(
                "invalid_request", "Send redirect_uri, the same one used in the authorization request."
            )
        if redirect_uri != code.request.redirect_uri:
            raise OAuthError(
                "invalid_grant", "redirect_uri does not match the one used in the authorization request."
            )
        verifier = params.get("code_verifier")
        pkce_ok = False
        if code.request.code_challenge is not None:
            if not verifier:
                raise OAuthError(
                    "invalid_grant",
                    "The authorization request used PKCE: send code_verifier (RFC 7636 §4.5).",
                )
            if not CODE_VERIFIER_PATTERN.match(verifier) or not hmac.compare_digest(
                create_s256_code_challenge(verifier).encode(), code.request.code_challenge.encode()
            ):
                raise OAuthError(
                    "invalid_grant", "code_verifier does not match the code_challenge (RFC 7636 §4.6)."
                )
            pkce_ok = True
        elif verifier:
            raise OAuthError(
                "invalid_grant",
                "code_verifier was sent but the authorization request carried no code_challenge.",
            )
        if client.kind == "confidential" and not (secret_ok or pkce_ok):
            raise OAuthError(
                "invalid_client",
                "A confidential client must send its client_secret (or use PKCE) to exchange a code.",
                401,
            )
        access_ttl, refresh_ttl = self._lifetimes(params)
        code.used = True
        code.family = secrets.token_hex(8)
        return self._issue(
            client=client,
            user_id=code.user_id,
            scopes=code.request.scopes,
            family=code.family,
            access_ttl=access_ttl,
            refresh_ttl=refresh_ttl,
        )

    def _grant_refresh_token(
        self, params: dict[str, str], client: OAuthClientSpec, secret_ok: bool
    ) -> dict[str, Any]:
        if client.kind == "confidential" and not secret_ok:
            # RFC 6749 §6: a confidential client authenticates when refreshing.
            raise OAuthError(
                "invalid_client", "A confidential client must send its client_secret to refresh a token.", 401
            )
        value = params.get("refresh_token")
        if not value:
            raise OAuthError("invalid_request", "Send refresh_token.")
        record = self._refresh.get(value)
        if record is None or record.client_identifier != client.identifier:
            raise OAuthError(
                "invalid_grant",
                "The refresh token is invalid, revoked or already used (each refresh returns a new refresh "
                "token and deletes the old one). Store the newest refresh token, or authorize again.",
            )
        if self._clock() >= record.expires_at:
            self._refresh.pop(value, None)
            raise OAuthError("invalid_grant", "The refresh token has expired; authorize again.")
        scopes = record.scopes
        if params.get("scope"):
            asked = parse_scope(params["scope"])
            beyond = [scope for scope in asked if scope not in record.scopes]
            if beyond:
                # RFC 6749 §6: a refresh may narrow the scope, never widen it.
                raise OAuthError(
                    "invalid_scope",
                    f"Scope {' '.join(beyond)!r} was not granted; a refresh cannot widen scope.",
                )
            scopes = asked
        access_ttl, refresh_ttl = self._lifetimes(params)
        user = self.account.user_by_id(record.user_id)
        if not user_can_sign_in(user):
            raise OAuthError(
                "invalid_grant", "The token's user is no longer active; authorize again as another user."
            )
        # Rotation: the old pair is deleted before the new one is issued.
        self._refresh.pop(value, None)
        self._access.pop(record.access_token, None)
        return self._issue(
            client=client,
            user_id=record.user_id,
            scopes=scopes,
            family=record.family,
            access_ttl=access_ttl,
            refresh_ttl=refresh_ttl,
        )

    def _grant_client_credentials(
        self, params: dict[str, str], client: OAuthClientSpec, secret_ok: bool
    ) -> dict[str, Any]:
        if client.kind != "confidential":
            raise OAuthError(
                "unauthorized_client", "Public clients may not use the client_credentials grant type."
            )
        if not secret_ok:
            raise OAuthError("invalid_client", "client_credentials needs the client_secret.", 401)
        scopes = parse_scope(params.get("scope", ""))
        if not scopes:
            raise OAuthError("invalid_scope", 'Specify a scope, for example "read" or "read write".')
        # "The token's user will be the one associated with the client": the admin who created it.
        admin = self.account.user_by_email(self.config.admin_email)
        if admin is None:
            raise OAuthError("invalid_grant", "The client's admin user no longer exists.")
        access_ttl, _ = self._lifetimes(params)
        return self._issue(
            client=client,
            user_id=int(admin["id"]),
            scopes=scopes,
            family=secrets.token_hex(8),
            access_ttl=access_ttl,
            refresh_ttl=None,
        )

    # ------------------------------------------------------------------ current token

    async def current_token(self, request: Request) -> Response:
        """Show Token / Revoke Token for `current.json` (api-reference.md, "OAuth Tokens")."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() == "basic":
            # API-token requests have no "current" OAuth token to show or revoke.
            return JSONResponse({"error": "RecordNotFound", "description": "Not found"}, status_code=404)
        if scheme.lower() != "bearer" or not token:
            return JSONResponse(COULD_NOT_AUTHENTICATE_BODY, status_code=401)
        info = self.lookup_access_token(token)
        if info is None:
            return JSONResponse(
                INVALID_TOKEN_BODY,
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="Zendesk", error="invalid_token"'},
            )
        if request.method == "DELETE":
            self.revoke_access_token(token)
            return Response(status_code=204)
        return JSONResponse({"token": self._token_json(token, info, request)})

    def _token_json(self, token: str, info: TokenInfo, request: Request) -> dict[str, Any]:
        record = self._access.get(token)
        token_id = record.id if record else 0
        return {
            "id": token_id,
            "url": f"{request.base_url}api/v2/oauth/tokens/{token_id}.json",
            "token": token[:10],  # "only the first 10 characters of the access token are included"
            "user_id": info.user_id,
            "client_id": self._client_ids.get(info.client_identifier),
            "scopes": sorted(info.scopes),
            "created_at": _iso(record.created_at if record else None),
            "expires_at": _iso(info.expires_at),
            "refresh_token": None,
            "refresh_token_expires_at": _iso(record.refresh_expires_at if record else None),
            "used_at": _iso(record.used_at if record else None),
        }

    # ------------------------------------------------------------------ housekeeping

    def _prune(self) -> None:
        """Forget expired codes, consent forms and tokens so memory stays flat on long runs."""
        now = self._clock()
        for code in [c for c, record in self._codes.items() if now >= record.expires_at + 60]:
            del self._codes[code]
        for form in [f for f, record in self._pending.items() if now >= record.expires_at]:
            del self._pending[form]
        for token in [
            t
            for t, r in self._access.items()
            if r.expires_at is not None
            and now >= r.expires_at
            and (r.refresh_token is None or r.refresh_token not in self._refresh)
        ]:
            del self._access[token]
        for token in [t for t, r in self._refresh.items() if now >= r.expires_at]:
            del self._refresh[token]


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})


def _int_param(params: dict[str, str], name: str) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise OAuthError(
            "invalid_request", f"{name} must be a whole number of seconds, got {value!r}."
        ) from None


async def _token_params(request: Request) -> tuple[dict[str, str], tuple[str, str] | None]:
    """The token request's parameters (JSON or form body) and any HTTP Basic client credentials."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    params: dict[str, str] = {}
    if content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise OAuthError("invalid_request", "The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise OAuthError(
                "invalid_request", "The JSON body must be an object of token request parameters."
            )
        for key, value in body.items():
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                raise OAuthError("invalid_request", f"Parameter {key!r} must be a string or a number.")
            params[str(key)] = (
                str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
            )
    elif content_type == "application/x-www-form-urlencoded":
        form = await request.form()
        params = {key: value for key, value in form.items() if isinstance(value, str)}
    else:
        raise OAuthError(
            "invalid_request",
            "Send the token request as JSON (Content-Type: application/json) or as "
            "application/x-www-form-urlencoded.",
        )
    basic = None
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic" and credentials:
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise OAuthError(
                "invalid_client", "The Basic client credentials are not valid base64.", 401
            ) from None
        client_id, sep, secret = decoded.partition(":")
        if not sep:
            raise OAuthError(
                "invalid_client", "Basic client credentials must be client_id:client_secret.", 401
            )
        # RFC 6749 §2.3.1: both halves are form-urlencoded before they are joined.
        basic = (unquote_plus(client_id), unquote_plus(secret))
    return params, basic
