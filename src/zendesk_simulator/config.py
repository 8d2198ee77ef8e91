"""Every setting of the simulator; the command line maps one flag to one field."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Plan = Literal["team", "growth", "professional", "enterprise", "enterprise-plus"]

# Requests per minute by plan (api-reference.md, "Rate limits"; ../shared/zendesk/README.md).
PLAN_LIMITS: dict[str, int] = {
    "team": 200,
    "growth": 400,
    "professional": 400,
    "enterprise": 700,
    "enterprise-plus": 2500,
}

DEFAULT_REDIRECT_URI = "http://localhost:8001/source-connections/callback"


@dataclass
class OAuthClientSpec:
    """An OAuth client as registered in Admin Center (api-reference.md, "OAuth Clients")."""

    identifier: str
    secret: str
    kind: Literal["confidential", "public"] = "confidential"
    active: bool = True
    redirect_uris: list[str] = field(default_factory=lambda: [DEFAULT_REDIRECT_URI])

    @classmethod
    def parse(cls, text: str, redirect_uris: list[str] | None = None) -> OAuthClientSpec:
        """`IDENTIFIER:SECRET[:public][:inactive]` as given to `--oauth-client`."""
        parts = text.split(":")
        if len(parts) < 2 or not parts[0]:
            raise ValueError(f"--oauth-client takes IDENTIFIER:SECRET[:public][:inactive], got {text!r}")
        flags = set(parts[2:])
        unknown = flags - {"public", "confidential", "inactive", "active"}
        if unknown:
            raise ValueError(f"--oauth-client: unknown flag(s) {sorted(unknown)} in {text!r}")
        return cls(
            identifier=parts[0],
            secret=parts[1],
            kind="public" if "public" in flags else "confidential",
            active="inactive" not in flags,
            redirect_uris=list(redirect_uris) if redirect_uris else [DEFAULT_REDIRECT_URI],
        )


@dataclass
class SimulatorConfig:
    # serving
    host: str = "127.0.0.1"
    port: int = 8089
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    subdomain: str = "acme"

    # data (sizes other than tickets follow from tickets unless given)
    seed: int = 7
    tickets: int = 1000
    users: int | None = None
    organizations: int | None = None
    comments_per_ticket: float = 5.0  # mean; a few tickets get 100+ regardless
    attachment_rate: float = 0.15  # share of comments with at least one attachment

    # credentials
    admin_email: str = "admin@example.com"
    agent_email: str = "agent@example.com"
    enduser_email: str = "enduser@example.com"
    api_token: str = "simulator-token"
    static_access_token: str | None = None
    oauth_clients: list[OAuthClientSpec] = field(
        default_factory=lambda: [OAuthClientSpec("zensync", "zensync-secret")]
    )
    auto_consent: bool = False
    access_token_ttl: int = 1800  # seconds; Zendesk's default is 30 minutes
    refresh_token_ttl: int = 30 * 86400  # Zendesk's default is 30 days
    authorization_code_ttl: int = 120  # Zendesk: codes are valid for 120 seconds

    # rate limits
    plan: Plan = "enterprise"
    minute_seconds: float = 60.0
    plan_limit_override: int | None = None  # replaces the plan's requests per minute (tests)
    high_volume: bool = False  # the High Volume add-on: 30/min exports, 300/min List Tickets
    rate_limits: bool = True

    # faults (deterministic under seed)
    fault_rate: float = 0.0
    fault_kinds: tuple[str, ...] = ("500", "502", "503", "429", "slow", "drop", "truncate")
    slow_seconds: float = 2.0

    @property
    def plan_limit(self) -> int:
        return 2500 if self.high_volume else PLAN_LIMITS[self.plan]

    @property
    def user_count(self) -> int:
        return self.users if self.users is not None else max(20, self.tickets // 2)

    @property
    def organization_count(self) -> int:
        return self.organizations if self.organizations is not None else max(3, self.tickets // 20)
