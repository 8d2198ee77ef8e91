"""``create_app(config)``: the whole simulator as one ASGI application.

Composition (docs/design.md): the account, the OAuth server and the API routes sit in one
Starlette router; rate limits wrap the router and fault injection wraps everything, so an
injected fault never spends rate-limit budget (``FaultMiddleware(RateLimitMiddleware(router))``).
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from .api import SimulatorApi
from .config import SimulatorConfig
from .data import Account
from .faults import FaultMiddleware
from .oauth import OAuthServer
from .ratelimit import RateLimitMiddleware
from .stats import Stats


@dataclass
class Simulator:
    """The composed application plus its parts, for callers that need to reach inside."""

    config: SimulatorConfig
    account: Account
    stats: Stats
    oauth: OAuthServer
    app: ASGIApp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def build(config: SimulatorConfig) -> Simulator:
    """Generate the account and wire every part around it."""
    account = Account(config)
    stats = Stats()
    oauth = OAuthServer(config, account)
    api = SimulatorApi(config, account, oauth, stats)
    router = Starlette(routes=[*oauth.routes(), *api.routes()])
    app = FaultMiddleware(RateLimitMiddleware(router, config, stats), config, stats)
    return Simulator(config, account, stats, oauth, app)


def create_app(config: SimulatorConfig) -> Simulator:
    """The ASGI application serving ``config``'s account (what the CLI hands to uvicorn)."""
    return build(config)
