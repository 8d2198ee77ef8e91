"""Authenticating `/api/v2` requests the way Zendesk does, and enforcing OAuth scopes.

Accepted credentials (api-reference.md, introduction "Security and authentication"; fact
sheet, "OAuth 2.0"):

- ``Authorization: Bearer <token>``: an OAuth access token from the simulator's OAuth server,
  or ``config.static_access_token`` (the admin, ``read write``, never expires). Unknown,
  expired or revoked: 401 ``invalid_token`` with Zendesk's exact description.
- ``Authorization: Basic base64("{email}/token:{api_token}")``: the account-wide API token
  with the email of any active, unsuspended user (scopes ``read write``). Anything else,
  including password basic auth: 401 ``{"error":"Couldn't authenticate you"}``.
- No credentials: 401 ``{"error":"Couldn't authenticate you"}``.

Scopes (api-reference.md, "OAuth Tokens for Grant Types", Scope; "OAuth Tokens", Scopes):
``read`` opens GET endpoints, ``write`` POST, PUT, PATCH and DELETE; ``resource:read`` /
``resource:write`` do the same for one resource (``tickets``, ``users``, ``organizations``...);
a bare ``resource`` means both. ``impersonate`` grants nothing here. A token lacking the needed
scope gets 403 ``{"error":"Forbidden","description":"You do not have access to this page"}``;
Zendesk issues tokens for unknown scopes and answers exactly so, which is mirrored here.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass, field
from typing import Literal

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .oauth import (
    COULD_NOT_AUTHENTICATE_BODY,
    INVALID_TOKEN_BODY,
    AccountUsers,
    OAuthServer,
    user_can_sign_in,
)

FORBIDDEN_BODY = {"error": "Forbidden", "description": "You do not have access to this page"}
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# First path segment after /api/v2 → the scope resource it belongs to.
_RESOURCES = {
    "tickets": "tickets",
    "deleted_tickets": "tickets",
    "ticket_events": "tickets",
    "ticket_audits": "tickets",
    "uploads": "tickets",
    "attachments": "tickets",
    "users": "users",
    "deleted_users": "users",
    "organizations": "organizations",
    "deleted_organizations": "organizations",
    "organization_memberships": "organizations",
    "macros": "macros",
    "triggers": "triggers",
    "automations": "automations",
    "targets": "targets",
    "webhooks": "webhooks",
    "requests": "requests",
    "satisfaction_ratings": "satisfaction_ratings",
    "dynamic_content": "dynamic_content",
    "audit_logs": "auditlogs",
}


class AuthFailure(Exception):
    """Authentication or authorization failed; `response` is what the client must receive."""

    def __init__(self, response: Response) -> None:
        super().__init__(f"authentication failed with HTTP {response.status_code}")
        self.response = response


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: the user, their role, and the token's scopes."""

    user_id: int
    role: str
    scopes: set[str] = field(default_factory=lambda: {"read", "write"})
    via: Literal["oauth", "api_token", "static_token"] = "oauth"

    def allows(self, method: str, resource: str | None = None) -> bool:
        """True when the scopes open `method` on `resource` (None: a resource-less endpoint)."""
        access = "read" if method.upper() in READ_METHODS else "write"
        if access in self.scopes:
            return True
        return resource is not None and (f"{resource}:{access}" in self.scopes or resource in self.scopes)


def resource_of(path: str) -> str | None:
    """The scope resource of an API path: `/api/v2/incremental/tickets/cursor.json` → `tickets`."""
    segments = [segment for segment in path.split("/") if segment]
    if segments[:1] == ["attachments"]:
        return "tickets"
    if segments[:2] != ["api", "v2"] or len(segments) < 3:
        return None
    first = segments[2].removesuffix(".json")
    if first == "incremental" and len(segments) > 3:
        first = segments[3].removesuffix(".json")
    return _RESOURCES.get(first)


def _unauthenticated() -> AuthFailure:
    return AuthFailure(JSONResponse(COULD_NOT_AUTHENTICATE_BODY, status_code=401))


def _invalid_token() -> AuthFailure:
    # RFC 6750 §3: a bearer failure names the scheme and the error in WWW-Authenticate.
    return AuthFailure(
        JSONResponse(
            INVALID_TOKEN_BODY,
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="Zendesk", error="invalid_token"'},
        )
    )


def _api_token_principal(credentials: str, account: AccountUsers, api_token: str) -> Principal:
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise _unauthenticated() from None
    username, sep, secret = decoded.partition(":")
    email, marker, _ = username.rpartition("/token")
    if not sep or not marker or username != f"{email}/token" or not email:
        # Password basic auth is not accepted: API tokens are the only basic scheme here.
        raise _unauthenticated()
    if not api_token or not hmac.compare_digest(secret.encode(), api_token.encode()):
        raise _unauthenticated()
    user = account.user_by_email(email)
    if user is None or not user_can_sign_in(user):
        raise _unauthenticated()
    return Principal(int(user["id"]), str(user.get("role", "end-user")), {"read", "write"}, "api_token")


def _bearer_principal(token: str, account: AccountUsers, oauth: OAuthServer) -> Principal:
    info = oauth.lookup_access_token(token)
    if info is None:
        raise _invalid_token()
    user = account.user_by_id(info.user_id)
    if user is None or not user_can_sign_in(user):
        raise _invalid_token()
    via: Literal["oauth", "static_token"] = "static_token" if info.client_identifier == "static" else "oauth"
    return Principal(int(user["id"]), str(user.get("role", "end-user")), set(info.scopes), via)


async def authenticate(
    request: Request,
    account: AccountUsers,
    oauth: OAuthServer,
    *,
    check_scope: bool = True,
) -> Principal:
    """The request's principal; raises AuthFailure with the 401 (or 403 for a missing scope).

    With `check_scope`, a token whose scopes do not open this method on this path's resource
    is refused with 403, so routes need no scope checks of their own (they may still call
    `principal.allows(...)` for finer decisions).
    """
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer" and credentials.strip():
        principal = _bearer_principal(credentials.strip(), account, oauth)
    elif scheme == "basic" and credentials.strip():
        principal = _api_token_principal(credentials, account, oauth.config.api_token)
    else:
        raise _unauthenticated()
    if check_scope and not principal.allows(request.method, resource_of(request.url.path)):
        raise AuthFailure(JSONResponse(FORBIDDEN_BODY, status_code=403))
    return principal
