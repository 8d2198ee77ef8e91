"""Everything that can go wrong talking to Zendesk, as one exception tree.

Our exception hierarchy::

    ZendeskError                  base: status, Zendesk's code/description/details, what to do
     ├── AuthenticationError      401: the token is expired/revoked or the credentials are wrong
     │    └── TokenRefreshError   the refresh grant failed (invalid_grant: reconnect)
     ├── PermissionDenied         403: not an admin (exports) or the token lacks a scope
     ├── NotFound                 404
     ├── InvalidRequest           400 / 422 and other 4xx: Zendesk said why in the body
     ├── RateLimited              429, still after every retry
     ├── ServerError              5xx, still after every retry
     ├── BadResponse              truncated or invalid JSON (after retries), unexpected redirect
     ├── ConnectionFailed         timeouts and dropped connections, still after every retry
     ├── UnsafeURL                a URL whose host is not the account's own (nothing was sent)
     └── DownloadError            an attachment could not be saved
          ├── DownloadTooLarge    larger than the configured cap
          └── MalwareDetected     Zendesk's scan found malware and it was not allowed

Zendesk answers errors in several shapes (``{"error", "description"}``, OAuth's
``{"error", "error_description"}``, newer ``{"errors": [{code, title, detail}]}``, plain
text); :func:`parse_error_body` is the one place that reads them, and
:func:`error_for_response` the one place that turns a response into an exception. Messages say
what to do next and never contain a secret: URLs are shown through :func:`redact_url`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

__all__ = [
    "AuthError",
    "AuthenticationError",
    "BadResponse",
    "ConnectionFailed",
    "DownloadError",
    "DownloadTooLarge",
    "ErrorInfo",
    "InvalidRequest",
    "MalwareDetected",
    "NotFound",
    "PermissionDenied",
    "RateLimited",
    "ServerError",
    "TokenRefreshError",
    "UnsafeURL",
    "ZendeskError",
    "error_for_response",
    "parse_error_body",
    "redact_url",
]

RECONNECT = "reconnect the account (`zensync connect`)"

_SENSITIVE_PARAM = re.compile(
    r"token|secret|password|key|signature|sig$|credential|^code$|^x-amz-|^x-goog-|auth", re.IGNORECASE
)
_ATTACHMENT_TOKEN = re.compile(r"(/attachments/token/)[^/]+")


def redact_url(url: str | httpx.URL, *, account_host: str | None = None) -> str:
    """A URL safe to print: no user info, no token-like query values, no attachment token.

    On a host other than ``account_host`` (a pre-signed storage URL) the whole query is a
    credential, so it is dropped.
    """
    parts = urlsplit(str(url))
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    path = _ATTACHMENT_TOKEN.sub(r"\1…", parts.path)
    if account_host is not None and parts.hostname and parts.hostname != account_host:
        query = "…" if parts.query else ""
    else:
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        query = urlencode([(k, "…" if _SENSITIVE_PARAM.search(k) else v) for k, v in pairs], safe="[]…")
    return urlunsplit((parts.scheme, netloc, path, query, ""))


@dataclass(frozen=True)
class ErrorInfo:
    """What Zendesk said about an error, whatever shape the body had."""

    code: str | None = None
    description: str | None = None
    details: Any = None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    return json.dumps(value, sort_keys=True)[:500]


def parse_error_body(content: bytes, content_type: str = "") -> ErrorInfo:
    """Read Zendesk's error code/description/details from any of its error body shapes."""
    if not content.strip():
        return ErrorInfo()
    try:
        payload = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        text = content.decode("utf-8", "replace").strip()
        code = re.search(r"<Code>(.*?)</Code>", text, re.DOTALL)
        if code:  # a storage host's XML error (the pre-signed attachment URL)
            message = re.search(r"<Message>(.*?)</Message>", text, re.DOTALL)
            return ErrorInfo(
                code=code.group(1).strip(), description=message.group(1).strip() if message else None
            )
        if text.startswith("<") or "html" in content_type.lower():
            title = re.search(r"<title>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
            return ErrorInfo(description=title.group(1).strip()[:200] if title else None)
        return ErrorInfo(description=text[:300])
    if not isinstance(payload, dict):
        return ErrorInfo(description=_text(payload))

    errors = payload.get("errors")
    if isinstance(errors, list) and errors:
        first = errors[0] if isinstance(errors[0], dict) else {"title": errors[0]}
        messages = []
        for item in errors:
            if isinstance(item, dict):
                text = "; ".join(t for t in (_text(item.get("title")), _text(item.get("detail"))) if t)
                messages.append(text or _text(item) or "")
            else:
                messages.append(_text(item) or "")
        return ErrorInfo(
            code=_text(first.get("code")) or _text(first.get("title")),
            description=" | ".join(m for m in messages if m) or None,
            details=errors,
        )

    error = payload.get("error")
    if isinstance(error, dict):  # {"error": {"title": ..., "message": ...}}
        return ErrorInfo(
            code=_text(error.get("title")) or _text(error.get("code")),
            description=_text(error.get("message")) or _text(error.get("description")),
            details=payload.get("details"),
        )
    description = payload.get("description")
    if description is None:
        description = payload.get("error_description")
    if description is None:
        description = payload.get("message")
    details = payload.get("details")
    if details is None and isinstance(errors, dict):
        details = errors
    return ErrorInfo(code=_text(error), description=_text(description), details=details)


class ZendeskError(Exception):
    """Base of every zensync.zendesk error: ``str(err)`` says what happened and what to do.

    ``retryable`` tells the client's retry policy whether trying again can help (the class
    default, overridable per instance); ``attempts`` is how many tries were made.
    """

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        info: ErrorInfo | None = None,
        method: str | None = None,
        url: str | None = None,
        attempts: int = 1,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        if retryable is not None:
            self.retryable = retryable
        self.message = message
        self.status = status
        self.info = info or ErrorInfo()
        self.method = method
        self.url = url  # already redacted
        self.attempts = attempts

    @property
    def code(self) -> str | None:
        return self.info.code

    @property
    def description(self) -> str | None:
        return self.info.description

    @property
    def details(self) -> Any:
        return self.info.details

    def __str__(self) -> str:
        said = ": ".join(p for p in (self.info.code, self.info.description) if p)
        context = []
        if self.status is not None:
            context.append(f"HTTP {self.status}")
        if said:
            context.append(f"Zendesk said {said!r}")
        if self.method and self.url:
            context.append(f"{self.method} {self.url}")
        if self.attempts > 1:
            context.append(f"after {self.attempts} attempts")
        return f"{self.message} ({'; '.join(context)})" if context else self.message


class AuthenticationError(ZendeskError):
    """401: Zendesk did not accept the credentials."""


AuthError = AuthenticationError


class TokenRefreshError(AuthenticationError):
    """The OAuth refresh grant failed, so there is no valid access token to continue with."""


class PermissionDenied(ZendeskError):
    """403: authenticated, but not allowed (role or token scope)."""


class NotFound(ZendeskError):
    """404: the object or endpoint does not exist (or no longer does)."""


class InvalidRequest(ZendeskError):
    """400/422 (and other client errors): the request was refused for the reason in ``details``."""


class RateLimited(ZendeskError):
    """429 after every retry; ``retry_after`` is Zendesk's last ``Retry-After`` in seconds."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(ZendeskError):
    """5xx after every retry: Zendesk (or something in front of it) is failing."""

    retryable = True


class BadResponse(ZendeskError):
    """The response could not be used: truncated or invalid JSON, or an unexpected redirect."""

    retryable = True


class ConnectionFailed(ZendeskError):
    """No usable response at all: timeouts, refused or dropped connections, after every retry."""

    retryable = True


class UnsafeURL(ZendeskError):
    """A URL on a host other than the account's own; nothing was sent to it."""


class DownloadError(ZendeskError):
    """An attachment could not be saved."""


class DownloadTooLarge(DownloadError):
    """The attachment is larger than the cap; the partial file was removed."""


class MalwareDetected(DownloadError):
    """Zendesk's malware scan flagged the attachment and downloading it was not allowed."""


_ADMIN_ONLY = re.compile(
    r"^/api/v2/(incremental/|deleted_tickets|deleted_users|audit_logs|account/|oauth/clients)"
)
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _permission_hint(method: str, path: str, info: ErrorInfo) -> str:
    said = f"{info.code or ''} {info.description or ''}".lower()
    if _ADMIN_ONLY.match(path):
        return (
            "Zendesk refused an admin-only endpoint: the connecting user must be a Zendesk admin. "
            f"Connect as an admin and {RECONNECT}"
        )
    if "scope" in said or method in _WRITE_METHODS:
        needed = "write" if method in _WRITE_METHODS else "read"
        return f"The token lacks the {needed} scope: {RECONNECT} granting the 'read write' scopes"
    return (
        "The connecting user may not see this: connect as a Zendesk admin with the 'read' scope "
        f"({RECONNECT})"
    )


def _auth_hint(auth_kind: str | None) -> str:
    if auth_kind == "api_token":
        return (
            "Zendesk did not accept the email and API token: check both (the token may have been "
            f"deleted or deactivated), or {RECONNECT} with OAuth"
        )
    if auth_kind in ("oauth", "bearer"):
        return f"Zendesk did not accept the access token: it is expired or revoked; {RECONNECT}"
    return (
        "Zendesk did not accept the credentials: the token is expired or revoked, or they are wrong; "
        f"{RECONNECT}"
    )


def error_for_response(
    response: httpx.Response,
    *,
    auth_kind: str | None = None,
    account_host: str | None = None,
    attempts: int = 1,
    retry_after: float | None = None,
) -> ZendeskError:
    """The exception for a non-success response. The body must have been read."""
    request = response.request
    method = request.method
    path = request.url.path
    status = response.status_code
    info = parse_error_body(response.content, response.headers.get("content-type", ""))
    common: dict[str, Any] = {
        "status": status,
        "info": info,
        "method": method,
        "url": redact_url(request.url, account_host=account_host),
        "attempts": attempts,
    }
    if status == 401:
        return AuthenticationError(_auth_hint(auth_kind), **common)
    if status == 403:
        return PermissionDenied(_permission_hint(method, path, info), **common)
    if status == 404:
        return NotFound("Zendesk has no such object or endpoint (it may have been deleted)", **common)
    if status == 429:
        wait = f" (asked to wait {retry_after:g} s)" if retry_after is not None else ""
        return RateLimited(
            f"Zendesk kept rate-limiting the requests{wait}: lower the concurrency, or run again "
            "later when the account's API budget is free",
            retry_after=retry_after,
            **common,
        )
    if status >= 500:
        return ServerError(
            "Zendesk kept failing on its side: try again later (status.zendesk.com shows incidents)",
            **common,
        )
    if 300 <= status < 400:
        location = response.headers.get("location")
        where = f" to {redact_url(location, account_host=account_host)}" if location else ""
        return BadResponse(f"Zendesk answered with an unexpected redirect{where}", retryable=False, **common)
    if status in (400, 422):
        return InvalidRequest("Zendesk refused the request as invalid; see what it said", **common)
    return InvalidRequest(f"Zendesk refused the request (HTTP {status})", **common)
