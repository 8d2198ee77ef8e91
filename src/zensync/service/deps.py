"""FastAPI dependencies and request helpers shared by the app and its routes."""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import Depends, Path, Request
from pydantic import SecretStr

from zensync.service.state import ServiceState

COOKIE_NAME = "zensync_session"


def state_of(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.zensync
    return state


State = Annotated[ServiceState, Depends(state_of)]
ConnectionId = Annotated[str, Path(max_length=200, description="The connection's id")]


def wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "application/json" not in accept.split(",")[0]


def session_token(api_key: SecretStr) -> str:
    """The cookie value for a browser that proved the key: an HMAC, so the cookie is not the key."""
    return hmac.new(api_key.get_secret_value().encode(), b"zensync-web-session", hashlib.sha256).hexdigest()
