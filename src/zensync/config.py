"""Which Zendesk account zensync talks to, and the rules that keep requests on that account.

A Zendesk account is named by its *subdomain*: ``mycompany`` for
``https://mycompany.zendesk.com``. People paste all sorts of things into that field (the full
address, the host, a URL with a trailing slash, capitals), so :func:`normalize_subdomain`
turns the recognisable forms into the bare label with a notice the CLI can print, and refuses
everything else with a message that names the value to use when one can be derived.

The subdomain decides the one host that credentials may ever be sent to. ``base_url`` replaces
that host for the simulator or a proxy; agent-UI links (``agent_ticket_url`` etc.) always keep
the real ``https://{subdomain}.zendesk.com`` form because they are meant for people.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["InvalidBaseURL", "InvalidSubdomain", "ZendeskConfig", "normalize_base_url", "normalize_subdomain"]

logger = logging.getLogger("zensync.config")

ZENDESK_DOMAIN = "zendesk.com"
# A DNS host label (RFC 1123): letters, digits and inner hyphens, 1 to 63 characters.
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_EXAMPLE = "e.g. 'mycompany' for https://mycompany.zendesk.com"


class InvalidSubdomain(ValueError):
    """The subdomain cannot be used; ``suggestion`` is the value to use when one can be derived."""

    def __init__(self, message: str, suggestion: str | None = None) -> None:
        self.suggestion = suggestion
        if suggestion:
            message = f"{message} Use the subdomain only: {suggestion!r}."
        super().__init__(message)


class InvalidBaseURL(ValueError):
    """The base URL override cannot be used (it would send credentials somewhere unsafe)."""


def _suggest(label: str) -> str | None:
    """The subdomain hidden in a host-like string, if the string plainly names one."""
    label = label.strip().lower().rstrip(".")
    if label.endswith("." + ZENDESK_DOMAIN):
        label = label[: -len(ZENDESK_DOMAIN) - 1]
    return label if _LABEL.fullmatch(label) else None


def normalize_subdomain(raw: str) -> tuple[str, list[str]]:
    """Return ``(subdomain, notices)`` for what a person typed, or raise :class:`InvalidSubdomain`.

    Accepted with a notice: surrounding spaces, capitals, ``mycompany.zendesk.com``,
    ``https://mycompany.zendesk.com`` with or without a trailing slash. Refused: anything that
    is not one DNS label once those are removed (other dots, paths, ports, ``@``, inner spaces,
    leading/trailing hyphens, more than 63 characters, characters other than a-z 0-9 and ``-``).
    """
    if not isinstance(raw, str):
        raise InvalidSubdomain(f"The Zendesk subdomain must be text, {_EXAMPLE}.")
    text = raw.strip()
    if not text:
        raise InvalidSubdomain(
            f"The Zendesk subdomain is empty: set it to the part before .zendesk.com, {_EXAMPLE}."
        )
    notices: list[str] = []
    host = text

    if "://" in text:
        parts = urlsplit(text)
        # Never echo text with credentials in it back to the screen.
        shown = "the URL given" if parts.username or parts.password else repr(text)
        hostname = parts.hostname or ""
        suggestion = _suggest(hostname)
        if parts.scheme.lower() not in ("http", "https"):
            raise InvalidSubdomain(f"{shown} is not a Zendesk address.", suggestion)
        if parts.username or parts.password or "@" in parts.netloc:
            raise InvalidSubdomain(
                "The Zendesk address must not contain a user name or password.", suggestion
            )
        if parts.port is not None or parts.netloc.endswith(":"):
            raise InvalidSubdomain(f"{shown} has a port; Zendesk is always on the standard port.", suggestion)
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise InvalidSubdomain(f"{shown} has a path; zensync needs the account, not a page.", suggestion)
        host = parts.netloc
    elif text.endswith("/") and "/" not in text.rstrip("/"):
        host = text.rstrip("/")

    if "@" in host:
        suggestion = _suggest(host.rsplit("@", 1)[1])
        raise InvalidSubdomain("The subdomain must not contain '@' (that is an email address).", suggestion)
    if "/" in host or "\\" in host:
        suggestion = _suggest(re.split(r"[/\\]", host, maxsplit=1)[0])
        raise InvalidSubdomain(f"{text!r} has a path; zensync needs the subdomain only.", suggestion)
    if ":" in host:
        suggestion = _suggest(host.split(":", 1)[0])
        raise InvalidSubdomain(f"{text!r} has a port; Zendesk is always on the standard port.", suggestion)
    if any(ch.isspace() for ch in host):
        raise InvalidSubdomain(
            f"{text!r} contains spaces; a subdomain is one word of letters, digits and hyphens, {_EXAMPLE}."
        )
    if not host.isascii():
        raise InvalidSubdomain(
            f"{text!r} has characters other than a-z, 0-9 and '-'; Zendesk subdomains are plain ASCII, "
            f"{_EXAMPLE}."
        )

    label = host.lower()
    if label.endswith("." + ZENDESK_DOMAIN) or label.endswith("." + ZENDESK_DOMAIN + "."):
        label = label.rstrip(".")[: -len(ZENDESK_DOMAIN) - 1]
        if _LABEL.fullmatch(label):
            notices.append(f"Use the subdomain only: {label!r} (not {text!r})")
    if "." in label:
        suggestion = _suggest(label)
        raise InvalidSubdomain(
            f"{text!r} is not a Zendesk subdomain: give the part before .zendesk.com "
            f"(a custom host-mapped domain will not do), {_EXAMPLE}.",
            suggestion,
        )
    if len(label) > 63:
        raise InvalidSubdomain(f"{text!r} is longer than 63 characters, the most a host name part may have.")
    if label.startswith("-") or label.endswith("-"):
        stripped = label.strip("-")
        raise InvalidSubdomain(
            f"{text!r} starts or ends with a hyphen, which a host name may not.",
            stripped if _LABEL.fullmatch(stripped) else None,
        )
    if not _LABEL.fullmatch(label):
        raise InvalidSubdomain(
            f"{text!r} has characters other than a-z, 0-9 and '-' (a host name part), {_EXAMPLE}."
        )
    if not notices and label != raw:
        notices.append(
            f"Using the subdomain {label!r} (from {raw!r}): subdomains are lower case, without spaces"
        )
    return label, notices


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalize_base_url(raw: str) -> str:
    """``scheme://host[:port]`` without a trailing slash, or :class:`InvalidBaseURL`.

    Plain http is accepted only on a loopback address (a local simulator): anywhere else it
    would put tokens on the wire in clear text.
    """
    text = raw.strip()
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise InvalidBaseURL(
            f"base_url must be an absolute http(s) URL such as 'http://127.0.0.1:8089', got {text!r}."
        )
    if parts.username or parts.password or "@" in parts.netloc:
        raise InvalidBaseURL(
            "base_url must not contain a user name or password; give credentials separately."
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise InvalidBaseURL(
            f"base_url must be scheme://host[:port] with no path, e.g. "
            f"{scheme}://{parts.netloc}, got {text!r}."
        )
    try:
        port = parts.port
    except ValueError as exc:
        raise InvalidBaseURL(f"base_url has an invalid port: {text!r}.") from exc
    host = parts.hostname.lower()
    if scheme == "http" and not _is_loopback(host):
        raise InvalidBaseURL(
            f"base_url {text!r} uses plain http on a non-loopback host; use https "
            f"(https://{parts.netloc}) so tokens are not sent in clear text."
        )
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc = f"{netloc}:{port}"
    return f"{scheme}://{netloc}"


class ZendeskConfig(BaseModel):
    """One Zendesk account as zensync sees it. Immutable, so the validated host cannot drift."""

    # hide_input_in_errors: a rejected base_url may carry a password; never echo it back.
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    subdomain: str
    exclude_closed_tickets: bool = False
    base_url: str | None = None
    # Things the person should know about how their input was read (the CLI prints them).
    notices: tuple[str, ...] = Field(default=(), exclude=True, repr=False)

    @model_validator(mode="before")
    @classmethod
    def _normalise_input(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("subdomain"), str):
            subdomain, notices = normalize_subdomain(data["subdomain"])
            for notice in notices:
                logger.info(notice)
            data = {**data, "subdomain": subdomain, "notices": tuple(notices)}
        return data

    @field_validator("subdomain")
    @classmethod
    def _check_subdomain(cls, value: str) -> str:
        normalised, notices = normalize_subdomain(value)
        if notices or normalised != value:
            raise InvalidSubdomain(f"{value!r} is not a normalised subdomain.", normalised)
        return value

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str | None) -> str | None:
        return None if value is None or not value.strip() else normalize_base_url(value)

    @property
    def zendesk_host(self) -> str:
        """The account's real Zendesk host, whatever ``base_url`` says."""
        return f"{self.subdomain}.{ZENDESK_DOMAIN}"

    @property
    def api_base(self) -> str:
        """Where requests go: ``https://{subdomain}.zendesk.com`` or the ``base_url`` override."""
        return self.base_url or f"https://{self.zendesk_host}"

    @property
    def host(self) -> str:
        """The only host credentials are ever sent to (``base_url``'s host when overridden)."""
        hostname = urlsplit(self.api_base).hostname
        assert hostname is not None  # guaranteed by normalize_base_url
        return hostname

    @property
    def origin(self) -> tuple[str, str, int]:
        """``(scheme, host, port)`` of ``api_base``: an absolute URL must match all three."""
        parts = urlsplit(self.api_base)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return parts.scheme, self.host, port

    def agent_ticket_url(self, ticket_id: int | str) -> str:
        """The ticket in the agent UI, as people open it."""
        return f"https://{self.zendesk_host}/agent/tickets/{ticket_id}"

    def agent_user_url(self, user_id: int | str) -> str:
        return f"https://{self.zendesk_host}/agent/users/{user_id}"

    def agent_org_url(self, organization_id: int | str) -> str:
        return f"https://{self.zendesk_host}/agent/organizations/{organization_id}"
