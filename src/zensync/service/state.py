"""What the service's parts share: its settings and the state the routes work on.

Kept apart from :mod:`zensync.service.app` so the routes can import it without importing the
app that includes them.
"""

from __future__ import annotations

import ipaddress
import os
from urllib.parse import urlsplit

from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from zensync.config import InvalidBaseURL, normalize_base_url
from zensync.connections import ConnectionManager
from zensync.service.jobs import DEFAULT_SYNC_INTERVAL_SECONDS, SyncJobs
from zensync.service.security import MAX_BODY_BYTES, host_name, trusted_host_names
from zensync.store import Store
from zensync.zendesk.oauth import CALLBACK_PATH, RedirectUriError, validate_redirect_uri

ENV_API_KEY = "ZENSYNC_API_KEY"
ENV_ALLOWED_HOSTS = "ZENSYNC_ALLOWED_HOSTS"


class ServiceConfigError(Exception):
    """The service cannot start as configured; the message names the fix.

    Not a ValueError on purpose: pydantic lets it through the settings validator unchanged.
    """


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class ServiceSettings(BaseModel):
    """How ``zensync serve`` runs. ``api_key`` defaults to ``$ZENSYNC_API_KEY``."""

    model_config = ConfigDict(extra="forbid")

    db: str = "zensync.db"
    host: str = "127.0.0.1"
    port: int = Field(8001, ge=0, le=65535)
    redirect_uri: str | None = Field(
        None, description="Defaults to http://localhost:{port}/source-connections/callback"
    )
    zendesk_base_url: str | None = Field(
        None, description="Override https://{subdomain}.zendesk.com for new connections (simulator, proxy)"
    )
    api_key: SecretStr | None = Field(default_factory=lambda: _env_secret(ENV_API_KEY))
    sync_interval_seconds: int = Field(DEFAULT_SYNC_INTERVAL_SECONDS, ge=60)
    scheduler_poll_seconds: float = Field(15.0, gt=0)
    scheduling: bool = True
    download_attachments: bool = True
    first_sync: bool = Field(True, description="Start a sync as soon as consent completes")
    mcp_public_only: bool = Field(
        False, description="Hide internal notes and private comments from agents using /mcp"
    )
    allowed_hosts: list[str] = Field(
        default_factory=lambda: _env_list(ENV_ALLOWED_HOSTS),
        description="Host names the service answers to besides localhost, 127.0.0.1, [::1], the "
        "bound address and the redirect URI's host (a public name behind a proxy, a LAN address)",
    )
    max_body_bytes: int = Field(MAX_BODY_BYTES, ge=1024, description="Larger request bodies get 413")

    @model_validator(mode="after")
    def _check(self) -> ServiceSettings:
        if not _is_loopback(self.host) and self.api_key is None:
            raise ServiceConfigError(
                f"Refusing to serve on {self.host} without an API key: anyone who can reach it could read "
                f"the data. Set {ENV_API_KEY} or pass --api-key, or serve on 127.0.0.1."
            )
        if self.api_key is not None and len(self.api_key.get_secret_value()) < 16:
            raise ServiceConfigError(
                "The API key is shorter than 16 characters; use a long random one, e.g. "
                'python -c "import secrets; print(secrets.token_urlsafe(32))".'
            )
        if self.zendesk_base_url:
            try:
                self.zendesk_base_url = normalize_base_url(self.zendesk_base_url)
            except InvalidBaseURL as exc:
                raise ServiceConfigError(f"--zendesk-base-url: {exc}") from exc
        for name in self.allowed_hosts:
            if not _is_host_name(name):
                raise ServiceConfigError(
                    f"--allowed-host {name!r} is not a host name: give the bare name (zensync.example.com, "
                    "192.168.1.5, [fd00::1]), without scheme, port or path."
                )
        try:
            validate_redirect_uri(self.effective_redirect_uri)
        except RedirectUriError as exc:
            raise ServiceConfigError(
                f"{exc}. Set --redirect-uri to the https address at which this service's "
                f"{CALLBACK_PATH} is reachable (Zendesk allows http only for localhost)."
            ) from exc
        return self

    @property
    def trusted_hosts(self) -> frozenset[str]:
        """The names a request's ``Host`` may carry (the DNS-rebinding defence)."""
        redirect_host = urlsplit(self.effective_redirect_uri).hostname or ""
        return trusted_host_names(self.host, [*self.allowed_hosts, redirect_host])

    @property
    def own_origins(self) -> frozenset[str]:
        """Origins whose pages may change state besides the request's own (the redirect URI's)."""
        parts = urlsplit(self.effective_redirect_uri)
        return frozenset({f"{parts.scheme}://{parts.netloc}".lower()})

    @property
    def effective_redirect_uri(self) -> str:
        """The redirect URI follows the served host and port unless set."""
        if self.redirect_uri:
            return self.redirect_uri.strip()
        host = self.host
        if _is_loopback(host) or host in ("0.0.0.0", "::", ""):
            host = "localhost"
        elif ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"http://{host}:{self.port}{CALLBACK_PATH}"


def _is_host_name(name: str) -> bool:
    """A bare host name or IP address: no scheme, port, path or wildcard."""
    bare = name.strip().strip("[]").lower()
    try:
        ipaddress.ip_address(bare)
        return True
    except ValueError:
        pass
    return bool(bare) and "*" not in bare and host_name(bare) == bare


def _env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def _env_secret(name: str) -> SecretStr | None:
    value = os.environ.get(name, "").strip()
    return SecretStr(value) if value else None


class ServiceState:
    """What the routes share: settings, store, connections, background jobs, templates."""

    def __init__(
        self,
        settings: ServiceSettings,
        store: Store,
        manager: ConnectionManager,
        jobs: SyncJobs,
        templates: Jinja2Templates,
    ) -> None:
        self.settings = settings
        self.store = store
        self.manager = manager
        self.jobs = jobs
        self.templates = templates

    @property
    def redirect_uri(self) -> str:
        return self.settings.effective_redirect_uri
