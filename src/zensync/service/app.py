"""The zensync web service: the source-connections REST API, the OAuth callback and the web page.

``create_app(ServiceSettings(...))`` builds a FastAPI app over one store; ``zensync serve``
runs it with uvicorn (:func:`run`). One process serves the API (``/source-connections``,
``/search``, OpenAPI at ``/docs``), the consent callback (``/source-connections/callback``)
and the HTML pages (``/``, ``/connections/{id}``, ``/search``), and runs the syncs in the
background (:mod:`zensync.service.jobs`).

Security choices:

- Listening beyond loopback requires an API key (``ZENSYNC_API_KEY`` or ``--api-key``); the
  service refuses to start without one. With a key, every route but the OAuth callback, the
  login page and the static files needs it: ``X-API-Key: KEY``, ``Authorization: Bearer KEY``,
  or the cookie the login page sets (an HMAC of the key, never the key itself).
- No response model has a field that could carry a secret; validation errors never echo input.
- Uvicorn's access log would print the callback's ``code`` and ``state``: they are redacted.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import SecretStr

from zensync import __version__
from zensync.connections import ConnectionManager, ConnectionProblem
from zensync.mcp import create_server as create_mcp_server
from zensync.secret_box import SecretBox
from zensync.service.deps import COOKIE_NAME, session_token, state_of, wants_html
from zensync.service.jobs import AlreadySyncing, SyncJobs
from zensync.service.routes import api, web
from zensync.service.security import (
    CSRF_FIELD,
    BodyLimit,
    CsrfCookie,
    CsrfRefused,
    CsrfTokens,
    SameOriginWrites,
    TrustedHosts,
    csrf_token,
)
from zensync.service.state import ENV_API_KEY, ServiceConfigError, ServiceSettings, ServiceState
from zensync.service.state import _is_loopback as is_loopback
from zensync.store import Store
from zensync.zendesk.oauth import CALLBACK_PATH, Explanation

__all__ = [
    "COOKIE_NAME",
    "ENV_API_KEY",
    "ServiceConfigError",
    "ServiceSettings",
    "ServiceState",
    "create_app",
    "run",
    "session_token",
    "state_of",
    "wants_html",
]

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
MCP_PATH = "/mcp"
OPEN_PATHS = frozenset({CALLBACK_PATH, "/login", "/healthz", "/favicon.ico"})


# ------------------------------------------------------------------------------------- app


def create_app(
    settings: ServiceSettings | None = None,
    *,
    secrets: SecretBox | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    store: Store | None = None,
    **overrides: Any,
) -> FastAPI:
    """Build the app. The store is opened now, so a bad ``--db`` fails before serving.

    ``overrides`` are :class:`ServiceSettings` fields (``create_app(db="x.db", port=8002)``),
    applied over ``settings`` when both are given.
    """
    if settings is None or overrides:
        base = settings.model_dump() if settings is not None else {}
        settings = ServiceSettings(**{**base, **{k: v for k, v in overrides.items() if v is not None}})

    box = secrets or SecretBox.from_environment()
    own_store = store is None
    the_store = store or Store.open(settings.db)
    manager = ConnectionManager(
        the_store,
        box,
        base_url=settings.zendesk_base_url,
        transport=transport,
    )
    jobs = SyncJobs(
        manager,
        download_attachments=settings.download_attachments,
        poll_seconds=settings.scheduler_poll_seconds,
        scheduling=settings.scheduling,
        sync_interval_seconds=settings.sync_interval_seconds,
    )

    mcp_server = create_mcp_server(the_store, public_only=settings.mcp_public_only)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        jobs.start_scheduler()
        try:
            async with mcp_server.session_manager.run():
                yield
        finally:
            await jobs.shutdown()
            if own_store:
                the_store.close()

    app = FastAPI(
        title="zensync",
        version=__version__,
        summary="A complete, searchable copy of a Zendesk account.",
        description=(
            "Connect Zendesk accounts with their own OAuth client, sync them, search the copy.\n\n"
            "When the service has an API key, send it as `X-API-Key` (or `Authorization: Bearer`); "
            f"only `{CALLBACK_PATH}` is open. Responses never contain secrets or tokens."
        ),
        lifespan=lifespan,
    )
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["when"] = _when
    templates.env.filters["duration"] = _duration
    templates.env.filters["sentence"] = lambda text: (text[:1].upper() + text[1:]) if text else text
    # SearchHit.snippet is escaped by the store, with only <mark> tags added around matches.
    templates.env.filters["highlight"] = lambda html: Markup(html)  # noqa: S704
    templates.env.globals["csrf_token"] = csrf_token
    templates.env.globals["csrf_field"] = CSRF_FIELD
    app.state.zensync = ServiceState(settings, the_store, manager, jobs, templates)
    app.state.csrf_tokens = CsrfTokens()

    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(api.router)
    app.include_router(web.router)
    # MCP over streamable HTTP at /mcp: read-only tools for AI agents, behind the API key below.
    app.router.routes.extend(
        mcp_server.streamable_http_app(
            streamable_http_path=MCP_PATH,
            stateless_http=True,
            json_response=True,
            transport_security=_mcp_transport_security(settings),
        ).routes
    )
    _install_errors(app)
    if settings.api_key is not None:
        _install_api_key(app, settings.api_key)
    _install_security(app, settings)
    _redact_access_log()
    return app


def _mcp_transport_security(settings: ServiceSettings) -> TransportSecuritySettings:
    """On loopback, the SDK's DNS-rebinding guard (a web page must not reach a local server
    through a hostile DNS name); beyond loopback the API key guards ``/mcp`` like every route.

    It admits the same host names as the service's own guard (:class:`TrustedHosts`, which
    runs first), so ``--allowed-host`` reaches ``/mcp`` too.
    """
    if not is_loopback(settings.host):
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    hosts = sorted(f"[{h}]" if ":" in h else h for h in settings.trusted_hosts)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[*hosts, *(f"{h}:*" for h in hosts)],
        allowed_origins=[*(f"http://{h}:*" for h in hosts), *sorted(settings.own_origins)],
    )


def _install_security(app: FastAPI, settings: ServiceSettings) -> None:
    """The middlewares of :mod:`zensync.service.security`; the last added runs first.

    They wrap everything, mounted apps included: hosts are checked before anything else, then
    the body size, then where a write comes from; the API key (if any) is checked after them.
    """
    app.add_middleware(CsrfCookie)
    app.add_middleware(SameOriginWrites, own_origins=settings.own_origins)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(TrustedHosts, hosts=settings.trusted_hosts)


def run(settings: ServiceSettings, *, log_level: str = "info") -> None:
    """Serve until interrupted (``zensync serve``)."""
    import uvicorn

    app = create_app(settings)
    log.info(
        "serving on http://%s:%d (OAuth redirect URI %s)",
        settings.host,
        settings.port,
        settings.effective_redirect_uri,
    )
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=log_level, proxy_headers=False)


# ------------------------------------------------------------------------------------- errors


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(ConnectionProblem)
    async def _problem(request: Request, exc: ConnectionProblem) -> Response:
        if wants_html(request):
            explanation = Explanation(
                kind="connection_problem", title="That did not work", cause=str(exc), fixes=()
            )
            return state_of(request).templates.TemplateResponse(
                request,
                "oauth_error.html",
                {"explanation": explanation, "connection": None},
                status_code=exc.status,
            )
        return JSONResponse({"detail": str(exc), "field": exc.field}, status_code=exc.status)

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, exc: CsrfRefused) -> Response:
        if wants_html(request):
            explanation = Explanation(
                kind="csrf", title="Submit that form again", cause=str(exc), fixes=("Reload the page.",)
            )
            return state_of(request).templates.TemplateResponse(
                request,
                "oauth_error.html",
                {"explanation": explanation, "connection": None},
                status_code=403,
            )
        return JSONResponse({"detail": str(exc)}, status_code=403)

    @app.exception_handler(AlreadySyncing)
    async def _busy(request: Request, exc: AlreadySyncing) -> Response:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        """422 naming each field and the fix; the input is never echoed (it may be a secret)."""
        errors = []
        for error in exc.errors():
            loc = [str(p) for p in error.get("loc", ())]
            field = ".".join(p for p in loc if p not in ("body", "query", "path"))
            message = re.sub(r"^(Value error|Assertion failed), ", "", str(error.get("msg", "")))
            if error.get("type") == "missing":
                message = f"{field or 'a field'} is required"
            elif error.get("type") == "extra_forbidden":
                message = f"{field} is not a known field; remove it"
            errors.append({"loc": loc, "field": field, "msg": message, "type": error.get("type")})
        return JSONResponse({"detail": errors}, status_code=422)


# ------------------------------------------------------------------------------------- API key


def _install_api_key(app: FastAPI, api_key: SecretStr) -> None:
    expected_key = api_key.get_secret_value().encode()
    expected_cookie = session_token(api_key).encode()

    @app.middleware("http")
    async def _require_key(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        path = request.url.path
        if path in OPEN_PATHS or path.startswith("/static/"):
            return await call_next(request)
        supplied = request.headers.get("x-api-key", "")
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        if not supplied and scheme.lower() == "bearer":
            supplied = credentials.strip()
        cookie = request.cookies.get(COOKIE_NAME, "")
        if (supplied and hmac.compare_digest(supplied.encode(), expected_key)) or (
            cookie and hmac.compare_digest(cookie.encode(), expected_cookie)
        ):
            return await call_next(request)
        if request.method == "GET" and wants_html(request):
            target = path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={_quote(target)}", status_code=303)
        return JSONResponse(
            {
                "detail": "This zensync service needs its API key: send it in the X-API-Key header "
                f"(it is {ENV_API_KEY} or --api-key where the service runs)."
            },
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="zensync"'},
        )


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


# ------------------------------------------------------------------------------------- logging


class _RedactCallbackQuery(logging.Filter):
    """Uvicorn logs each request line; the callback's query carries the code and the state."""

    _pattern = re.compile(r"((?:^|[?&])(?:code|state|error_description)=)[^&\s]*")

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], self._pattern.sub(r"\1…", args[2]), *args[3:])
        return True


def _redact_access_log() -> None:
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _RedactCallbackQuery) for f in logger.filters):
        logger.addFilter(_RedactCallbackQuery())


# ------------------------------------------------------------------------------------- filters


def _when(value: Any) -> str:
    """A timestamp for people: '3 min ago', 'in 58 min', or the date."""
    if value is None or value == "":
        return "never"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if not isinstance(value, datetime):
        return str(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    seconds = (datetime.now(UTC) - value).total_seconds()
    future = seconds < 0
    seconds = abs(seconds)
    if seconds < 45:
        text = "just now" if not future else "in a moment"
        return text
    for unit, size in (("day", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            n = round(seconds / size)
            label = f"{n} {unit}{'s' if unit == 'day' and n != 1 else ''}"
            return f"in {label}" if future else f"{label} ago"
    return value.strftime("%Y-%m-%d %H:%M UTC")


def _duration(value: Any) -> str:
    if value is None or value == "":
        return "—"
    seconds = float(value)
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
