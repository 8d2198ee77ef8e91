"""The OAuth 2.0 authorization-code flow against a customer's own Zendesk OAuth client.

Shared by the CLI (``zensync connect``) and the service (``POST /source-connections``), so the
two behave alike and explain failures alike. What Zendesk specifies, and where:

- Consent URL ``https://{subdomain}.zendesk.com/oauth/authorizations/new`` with
  ``response_type=code``, ``client_id`` (the client's *Unique Identifier*), ``redirect_uri``,
  ``scope`` (space-separated) and ``state``; PKCE ``code_challenge`` with
  ``code_challenge_method=S256`` (api-reference.md, "OAuth Tokens for Grant Types",
  "Authorization code grant type").
- Code exchange ``POST /oauth/tokens`` with a JSON body; success is 201; the code is valid for
  120 seconds (api-reference.md, "Create Token for Grant Type"; support-oas.yaml
  ``CreateTokenForGrantType``).
- Refreshing (a new access token *and* a new refresh token, the old pair invalidated:
  "Refresh token grant type") is :class:`zensync.zendesk.auth.OAuthTokenAuth`'s job; its
  ``invalid_grant`` is explained here too (``stage="refresh"``).
- Revocation ``DELETE /api/v2/oauth/tokens/current.json`` → 204 (api-reference.md,
  "OAuth Tokens", "Revoke Token").

Where Zendesk's pages do not say (the exact error texts), the token endpoint is taken to
answer as RFC 6749 §5.2 prescribes (``{"error": ..., "error_description": ...}``).

:func:`explain` is the one place that turns an OAuth failure — from the callback, the token
endpoint, the state check, or a refresh — into a message that names the fix.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import time
from dataclasses import dataclass, field, replace
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from zensync.zendesk.auth import TokenSet
from zensync.zendesk.errors import AuthenticationError, TokenRefreshError, ZendeskError, parse_error_body

SCOPE = "read write"
CALLBACK_PATH = "/source-connections/callback"
DEFAULT_REDIRECT_URI = f"http://localhost:8001{CALLBACK_PATH}"
AUTHORIZE_PATH = "/oauth/authorizations/new"
TOKEN_PATH = "/oauth/tokens"
REVOKE_PATH = "/api/v2/oauth/tokens/current.json"
STATE_TTL_SECONDS = 600  # a consent link is good for 10 minutes
CODE_TTL_SECONDS = 120  # Zendesk: "an authorization code ... valid for 120 seconds"

OAUTH_CLIENTS_PATH = "Admin Center > Apps and integrations > APIs > OAuth Clients"

Stage = Literal["authorize", "callback", "exchange", "refresh", "state"]


# --------------------------------------------------------------------------------------------
# Explanations


@dataclass(frozen=True)
class Explanation:
    """What went wrong, in the user's terms, and what to do about it.

    ``kind`` is stable (tests and the UI key on it); ``details`` holds side-by-side values such
    as the redirect URI zensync sent and the one registered in Zendesk.
    """

    kind: str
    title: str
    cause: str
    fixes: tuple[str, ...]
    needs_reauth: bool = False
    details: dict[str, str] = field(default_factory=dict)

    def message(self) -> str:
        """One paragraph for a terminal or a log line (never carries a secret)."""
        fixes = " ".join(f"({i}) {fix}" for i, fix in enumerate(self.fixes, 1))
        extra = "".join(f" {k}: {v}." for k, v in self.details.items())
        return f"{self.title}: {self.cause}{extra} Fix: {fixes}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "title": self.title,
            "cause": self.cause,
            "fixes": list(self.fixes),
            "needs_reauth": self.needs_reauth,
            "details": dict(self.details),
        }


def authorization_checklist(redirect_uri: str) -> tuple[str, ...]:
    """What must be true in Admin Center before consent can work.

    Zendesk answers a bad authorization request with its own "Invalid Authorization Request"
    page in the browser, which zensync never sees; so this list is shown *before* redirecting,
    and again for a connection still waiting for consent.
    """
    return (
        f"In {OAUTH_CLIENTS_PATH}, the client exists and its Unique Identifier is exactly the "
        "Client ID you entered (it is the identifier string, not the numeric id or the name).",
        "The client's Client kind is Confidential (a public client cannot use a client secret).",
        "The client is active: a deactivated client cannot authorize.",
        f"The client's Redirect URLs contain exactly {redirect_uri} — same http/https, host, port "
        "and no trailing slash.",
        "You sign in to Zendesk as an admin of that account (incremental exports are admin-only).",
    )


def explain(
    error: str,
    description: str | None = None,
    *,
    stage: Stage,
    redirect_uri: str | None = None,
    registered_redirect_uri: str | None = None,
) -> Explanation:
    """Map an OAuth error code (RFC 6749 §4.1.2.1 / §5.2, or zensync's own state errors) to the fix.

    ``stage`` tells where it was seen: on the consent ``callback``, at the code ``exchange``, on a
    token ``refresh``, when checking ``state``, or at ``authorize`` time (the browser-only
    "Invalid Authorization Request"). The same code means different things at different stages:
    ``invalid_grant`` at exchange is an expired or reused code; on a refresh it means the
    refresh token expired or was revoked and the user must reconnect. Any lasting failure of a
    refresh leaves the connection needing re-authorization (its data is kept).
    """
    found = _explain(
        error,
        description,
        stage=stage,
        redirect_uri=redirect_uri,
        registered_redirect_uri=registered_redirect_uri,
    )
    if stage == "refresh" and found.kind != "zendesk_unavailable" and not found.needs_reauth:
        found = replace(found, needs_reauth=True)
    return found


def explain_refresh_failure(exc: ZendeskError) -> Explanation | None:
    """The explanation when a sync failed because the stored credentials stopped working.

    None when the failure is not about credentials, or is transient (the refreshed tokens
    could not be saved this time and will be saved on the next request).
    """
    if isinstance(exc, TokenRefreshError):
        if exc.__cause__ is not None and exc.status is None:
            return None
        if exc.code:
            return explain(exc.code, exc.description, stage="refresh")
        return refresh_revoked(exc.message)
    if isinstance(exc, AuthenticationError):
        return Explanation(
            kind="credentials_rejected",
            title="Zendesk no longer accepts this connection's credentials",
            cause="requests were answered 401 even with the newest token: the token or API token was "
            "revoked or deleted in Zendesk, or the user lost access. The data already synced is kept.",
            fixes=(
                "Reconnect: use Reconnect on the connection page, or run `zensync connect` again with "
                "the same subdomain; syncing resumes where it stopped.",
            ),
            needs_reauth=True,
        )
    return None


def _explain(
    error: str,
    description: str | None = None,
    *,
    stage: Stage,
    redirect_uri: str | None = None,
    registered_redirect_uri: str | None = None,
) -> Explanation:
    err = (error or "").strip().lower()
    desc = (description or "").strip()
    lowered = desc.lower()
    redirect = redirect_uri or DEFAULT_REDIRECT_URI

    # A redirect mismatch reported in the description: "redirect_uri does not match ...". Other
    # texts mention redirects in passing ("exchange it as soon as the redirect arrives").
    said_redirect_mismatch = bool(re.search(r"redirect[_ ]ur[il]", lowered)) and bool(
        re.search(r"match|registered|differ", lowered)
    )
    if err == "redirect_uri_mismatch" or (
        err in {"invalid_grant", "invalid_request"} and said_redirect_mismatch
    ):
        return redirect_mismatch(redirect, registered_redirect_uri, description=desc)

    if stage == "state":
        if err == "state_expired":
            return Explanation(
                kind="state_expired",
                title="This consent link has expired",
                cause=f"a consent link is valid for {STATE_TTL_SECONDS // 60} minutes and this one is older.",
                fixes=(
                    "Start the connection again (Reconnect on the connection page, or `zensync connect`) "
                    "and approve within 10 minutes.",
                ),
            )
        if err == "state_reused":
            return Explanation(
                kind="state_reused",
                title="This consent link was already used",
                cause="each consent link works once; this callback repeats one that was already completed "
                "(a reloaded page, a back button, or a replayed request).",
                fixes=(
                    "Open the connection page to see its status; if it is not active, start the "
                    "connection again.",
                ),
            )
        return Explanation(
            kind="state_invalid",
            title="Unknown consent request",
            cause="the callback's state does not match any consent zensync started, so it was refused "
            "(it may be forged, or was started by another zensync database or service).",
            fixes=(
                "Start the connection from this zensync (web page or `zensync connect`) and complete "
                "consent in the same browser.",
            ),
        )

    if err == "access_denied":
        return Explanation(
            kind="access_denied",
            title="Access was denied on Zendesk's consent page",
            cause="the Zendesk user clicked Deny (or may not grant access), so no token was issued.",
            fixes=(
                "Start the connection again and click Allow on Zendesk's page.",
                "Sign in to Zendesk as an admin of the account you are connecting.",
            ),
        )

    if err in {"invalid_client", "unauthorized_client"} and "inactive" in lowered:
        return Explanation(
            kind="client_inactive",
            title="The OAuth client is inactive",
            cause="Zendesk refuses a deactivated OAuth client. "
            + (f"Zendesk said: {desc!r}." if desc else ""),
            fixes=(f"In {OAUTH_CLIENTS_PATH}, open the client, make it active and save; then reconnect.",),
        )

    if err == "invalid_client":
        return Explanation(
            kind="invalid_client",
            title="Zendesk rejected the client secret",
            cause="the client credentials did not authenticate at /oauth/tokens. The usual causes: the "
            "secret is wrong or truncated (copied partially), or it was regenerated in Admin Center after "
            "you copied it; less often the Client ID is not the client's Unique Identifier. "
            + (f"Zendesk said: {desc!r}." if desc else ""),
            fixes=(
                f"In {OAUTH_CLIENTS_PATH}, open the client and copy the Secret again in full (it is "
                "shown in full only when created or regenerated; regenerate it if you no longer have it).",
                "Reconnect with that secret and the client's Unique Identifier as Client ID.",
            ),
        )

    if err == "unauthorized_client":
        return Explanation(
            kind="unauthorized_client",
            title="The OAuth client may not use this grant",
            cause="Zendesk refused the client for this request: it is inactive, or it is a public client "
            "(zensync needs a confidential one). " + (f"Zendesk said: {desc!r}." if desc else ""),
            fixes=(
                f"In {OAUTH_CLIENTS_PATH}, set Client kind to Confidential and make sure the client is "
                "active, then reconnect.",
            ),
        )

    if err == "invalid_grant" and stage == "refresh":
        return refresh_revoked(desc)

    if err == "invalid_grant":
        return Explanation(
            kind="code_expired",
            title="The authorization code expired or was already used",
            cause=f"Zendesk's authorization codes are valid for {CODE_TTL_SECONDS} seconds and work once; "
            "this one was too old, already exchanged, or issued for a different consent request. "
            + (f"Zendesk said: {desc!r}." if desc else ""),
            fixes=(
                "Start the connection again and let zensync complete it right after you click Allow "
                "(keep the zensync page or command running).",
            ),
        )

    if err == "invalid_scope":
        return Explanation(
            kind="invalid_scope",
            title="Zendesk refused the requested scope",
            cause=f"zensync asks for {SCOPE!r}; the client or account does not allow it. "
            + (f"Zendesk said: {desc!r}." if desc else ""),
            fixes=(f"In {OAUTH_CLIENTS_PATH}, check the client has no scope restriction, then reconnect.",),
        )

    if err in {"server_error", "temporarily_unavailable", "unreachable"}:
        return Explanation(
            kind="zendesk_unavailable",
            title="Zendesk could not complete the request",
            cause="the authorization server failed or could not be reached"
            + (f" ({desc})" if desc else "")
            + ".",
            fixes=(
                "Check the subdomain and your network, wait a minute, and start the connection again.",
                "See status.zendesk.com if it keeps failing.",
            ),
        )

    if stage == "authorize" or err == "invalid_authorization_request":
        return Explanation(
            kind="invalid_authorization_request",
            title='Zendesk showed "Invalid Authorization Request"',
            cause="Zendesk refused the consent request before asking for approval. It does this when the "
            "client identifier is unknown, the client is inactive or not confidential, or the redirect URL "
            "does not match.",
            fixes=authorization_checklist(redirect),
            details={"redirect URI zensync sends": redirect},
        )

    return Explanation(
        kind="oauth_error",
        title=f"Zendesk returned an OAuth error ({err or 'unknown'})",
        cause=(desc + ".") if desc else "Zendesk gave no description.",
        fixes=(
            "Check the OAuth client against this checklist and reconnect: "
            + " ".join(authorization_checklist(redirect)),
        ),
    )


def awaiting_consent(redirect_uri: str | None) -> Explanation:
    """A connection still waiting for consent: what to check if Zendesk refused to show it.

    Zendesk answers a bad authorization request with its own "Invalid Authorization Request"
    page, which zensync never sees; so a pending connection always carries the likely causes.
    """
    found = _explain("invalid_authorization_request", stage="authorize", redirect_uri=redirect_uri)
    return replace(
        found,
        kind="awaiting_consent",
        title="Waiting for approval on Zendesk",
        cause='consent has not completed yet. If Zendesk showed "Invalid Authorization Request" instead of '
        "asking you to Allow, the client identifier is unknown, the client is inactive or not confidential, "
        "or the redirect URL does not match; check each point below, then continue to Zendesk again.",
    )


def refresh_revoked(description: str = "") -> Explanation:
    """The refresh token no longer works: the user must consent again; nothing synced is lost."""
    return Explanation(
        kind="refresh_revoked",
        title="Zendesk access expired or was revoked",
        cause="the refresh token was refused (it expired — 30 days by default — or the token or the "
        "OAuth client was revoked, deactivated or its secret regenerated in Admin Center). "
        + (f"Zendesk said: {description!r}. " if description else "")
        + "The data already synced is kept.",
        fixes=(
            "Reconnect: use Reconnect on the connection page, or run `zensync connect` again with the "
            "same subdomain; syncing resumes where it stopped.",
        ),
        needs_reauth=True,
    )


def redirect_mismatch(ours: str, registered: str | None = None, *, description: str = "") -> Explanation:
    """Side by side: the redirect URI zensync sends and the one registered in the OAuth client."""
    details = {"redirect URI zensync sends": ours}
    if registered:
        details["redirect URL registered in Zendesk"] = registered
        differences = compare_redirect_uris(ours, registered)
    else:
        differences = []
    cause = "Zendesk only accepts a redirect URI that equals one of the client's Redirect URLs exactly."
    if differences:
        cause += " They differ: " + "; ".join(differences) + "."
    if description:
        cause += f" Zendesk said: {description!r}."
    return Explanation(
        kind="redirect_uri_mismatch",
        title="The redirect URL does not match the OAuth client",
        cause=cause,
        fixes=(
            f"In {OAUTH_CLIENTS_PATH}, add exactly {ours} to the client's Redirect URLs and save, "
            "then reconnect.",
            "Or run zensync where that registered URL points (`--port`, `--redirect-uri`, or "
            "`zensync serve --host/--port`).",
        ),
        details=details,
    )


def compare_redirect_uris(ours: str, registered: str) -> list[str]:
    """Name each way two redirect URIs differ, in the terms a user fixes them in."""
    a, b = ours.strip(), registered.strip()
    if a == b:
        return []
    out: list[str] = []
    if registered != b:
        out.append("the registered URL has leading or trailing spaces")
    pa, pb = urlsplit(a), urlsplit(b)
    if pa.scheme.lower() != pb.scheme.lower():
        out.append(f"scheme {pa.scheme or '(none)'} vs {pb.scheme or '(none)'} (http vs https)")
    if (pa.hostname or "") != (pb.hostname or ""):
        out.append(
            f"host {pa.hostname or '(none)'} vs {pb.hostname or '(none)'}"
            + (
                " (localhost and 127.0.0.1 are different to Zendesk)"
                if {pa.hostname, pb.hostname} <= {"localhost", "127.0.0.1"}
                else ""
            )
        )
    if _port(pa) != _port(pb):
        out.append(f"port {_port(pa)} vs {_port(pb)}")
    path_a, path_b = pa.path or "/", pb.path or "/"
    if path_a != path_b:
        if path_a.rstrip("/") == path_b.rstrip("/"):
            out.append("trailing slash: one ends with '/' and the other does not")
        elif path_a.lower() == path_b.lower():
            out.append(f"letter case in the path ({path_a} vs {path_b})")
        else:
            out.append(f"path {path_a} vs {path_b}")
    if pa.query != pb.query:
        out.append(f"query {pa.query or '(none)'} vs {pb.query or '(none)'}")
    if not out:
        out.append("they differ in letter case or encoding")
    return out


def _port(parts: Any) -> int | None:
    try:
        port: int | None = parts.port
    except ValueError:
        return None
    if port is None:
        return {"http": 80, "https": 443}.get(parts.scheme.lower())
    return port


# --------------------------------------------------------------------------------------------
# Errors


class OAuthError(Exception):
    """An OAuth step failed; ``explanation`` says why and how to fix it.

    The message never contains a secret, token, code or state. ``connection_id`` names the
    connection the failed step belonged to, when one is known (its page then shows the problem).
    """

    def __init__(
        self, explanation: Explanation, *, status_code: int | None = None, connection_id: str | None = None
    ) -> None:
        super().__init__(explanation.message())
        self.explanation = explanation
        self.status_code = status_code
        self.connection_id = connection_id

    @property
    def kind(self) -> str:
        return self.explanation.kind


class RedirectUriError(ValueError):
    """A redirect URI Zendesk would refuse; the message names the fix."""


# --------------------------------------------------------------------------------------------
# Consent


def validate_redirect_uri(uri: str) -> str:
    """Check ``uri`` is one Zendesk accepts: absolute https, or http on localhost/127.0.0.1.

    (api-reference.md, "OAuth Clients": redirect URLs; ../shared/zendesk/README.md.)
    """
    parts = urlsplit(uri.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise RedirectUriError(
            f"redirect URI {uri!r} is not an absolute URL — use e.g. {DEFAULT_REDIRECT_URI}"
        )
    if parts.fragment:
        raise RedirectUriError(f"redirect URI {uri!r} must not contain a '#fragment' — remove it")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise RedirectUriError(
            f"redirect URI {uri!r} uses http on a non-local host; Zendesk only accepts http for "
            "localhost or 127.0.0.1 — use https (behind a TLS proxy) or a localhost address"
        )
    return uri.strip()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def hash_state(state: str) -> str:
    """What the store keeps for a ``state``: its SHA-256, so a database leak cannot replay one."""
    return hashlib.sha256(state.encode("utf-8")).hexdigest()


def state_matches(state: str, stored_hash: str) -> bool:
    """Constant-time comparison of a callback's state with a stored hash."""
    return hmac.compare_digest(hash_state(state), stored_hash)


@dataclass(frozen=True)
class AuthorizationRequest:
    """A consent request ready to send the browser to.

    ``state`` and ``code_verifier`` are secrets of this request: the store keeps only
    ``state_hash`` and the verifier encrypted; neither is ever logged (nor the URL, which
    carries the state).
    """

    url: str = field(repr=False)  # carries the state
    redirect_uri: str
    state_hash: str
    expires_at: float
    state: str = field(repr=False)
    code_verifier: str = field(repr=False)


def start_authorization(
    base_url: str,
    client_id: str,
    redirect_uri: str,
    *,
    scope: str = SCOPE,
    now: float | None = None,
) -> AuthorizationRequest:
    """Build the consent URL with a fresh single-use state and a PKCE S256 challenge."""
    redirect = validate_redirect_uri(redirect_uri)
    state = generate_token(43)
    # RFC 7636 §4.1: 43–128 characters of [A-Za-z0-9-._~]; generate_token uses letters and digits.
    verifier = generate_token(64)
    url = prepare_grant_uri(
        base_url.rstrip("/") + AUTHORIZE_PATH,
        client_id,
        "code",
        redirect_uri=redirect,
        scope=scope,
        state=state,
        code_challenge=create_s256_code_challenge(verifier),
        code_challenge_method="S256",
    )
    issued = time.time() if now is None else now
    return AuthorizationRequest(
        url=url,
        redirect_uri=redirect,
        state_hash=hash_state(state),
        expires_at=issued + STATE_TTL_SECONDS,
        state=state,
        code_verifier=verifier,
    )


# --------------------------------------------------------------------------------------------
# Tokens


async def exchange_code(
    base_url: str,
    *,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
    code_verifier: str,
    scope: str = SCOPE,
    transport: httpx.AsyncBaseTransport | None = None,
    http_timeout: float = 30.0,
) -> TokenSet:
    """Exchange an authorization code as a confidential client (JSON body, 201 expected).

    Redirects are not followed, so the client secret only ever goes to the account's own host.
    """
    body = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": client_id,
        "client_secret": client_secret,
        "redirect_uri": redirect_uri,
        "code_verifier": code_verifier,
        "scope": scope,
    }
    data = await _post_token(
        base_url,
        body,
        stage="exchange",
        redirect_uri=redirect_uri,
        transport=transport,
        http_timeout=http_timeout,
    )
    return TokenSet.from_token_response(data)


async def _post_token(
    base_url: str,
    body: dict[str, str],
    *,
    stage: Stage,
    redirect_uri: str | None,
    transport: httpx.AsyncBaseTransport | None,
    http_timeout: float,
) -> dict[str, Any]:
    url = base_url.rstrip("/") + TOKEN_PATH
    try:
        async with _http(transport, http_timeout) as http:
            response = await http.post(url, json=body, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise OAuthError(
            explain("unreachable", f"{type(exc).__name__} contacting {urlsplit(url).netloc}", stage=stage)
        ) from None
    payload = _json_or_none(response)
    if response.status_code in (200, 201) and payload and payload.get("access_token"):
        return payload
    error, description = token_error_of(response)
    raise OAuthError(
        explain(error, description, stage=stage, redirect_uri=redirect_uri),
        status_code=response.status_code,
    )


def token_error_of(response: httpx.Response) -> tuple[str, str]:
    """The (error, description) pair of a failed token response, whatever its shape.

    The body is read by :func:`zensync.zendesk.errors.parse_error_body`, the one reader of
    Zendesk's error shapes (RFC 6749 ``error``/``error_description``, ``error``/``description``,
    ``errors[]``, plain text); a body with no code gets one from the status.
    """
    info = parse_error_body(response.content, response.headers.get("content-type", ""))
    status = response.status_code
    description = info.description or ""
    if info.code:
        return info.code, description
    if status in (401, 403):
        return "invalid_client", description
    if status >= 500:
        return "server_error", description or f"HTTP {status}"
    if status in (200, 201):
        return "server_error", "the token response had no access_token"
    return "oauth_error", description or f"HTTP {status}"


def _http(transport: httpx.AsyncBaseTransport | None, http_timeout: float) -> httpx.AsyncClient:
    """An HTTP client that never follows redirects: credentials go to the account's host only."""
    return httpx.AsyncClient(transport=transport, timeout=http_timeout, follow_redirects=False)


def _json_or_none(response: httpx.Response) -> dict[str, Any] | None:
    try:
        data = response.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


async def revoke_access_token(
    base_url: str,
    access_token: str,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    http_timeout: float = 30.0,
) -> bool:
    """Revoke the token (``DELETE /api/v2/oauth/tokens/current.json``, 204).

    Returns False when Zendesk says the token is already invalid (401), which for a disconnect
    is as good as revoked. Other failures raise :class:`OAuthError`.
    """
    url = base_url.rstrip("/") + REVOKE_PATH
    try:
        async with _http(transport, http_timeout) as http:
            response = await http.delete(url, headers={"Authorization": f"Bearer {access_token}"})
    except httpx.HTTPError as exc:
        raise OAuthError(
            explain("unreachable", f"{type(exc).__name__} contacting {urlsplit(url).netloc}", stage="refresh")
        ) from None
    if response.status_code in (200, 204):
        return True
    if response.status_code == 401:
        return False
    error, description = token_error_of(response)
    raise OAuthError(explain(error, description, stage="refresh"), status_code=response.status_code)
