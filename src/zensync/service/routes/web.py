"""The HTML pages: connections and the add form, a connection's page, login.

Plain server-rendered forms (Jinja2) that work without JavaScript; ``static/app.js`` only adds
copy buttons, confirmations, "Sync now" and live progress (polling the JSON API).
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import SecretStr

from zensync.config import InvalidSubdomain, ZendeskConfig, normalize_subdomain
from zensync.connections import ConnectionProblem
from zensync.service.deps import COOKIE_NAME, ConnectionId, State, session_token
from zensync.service.routes.api import connection_out
from zensync.service.security import require_csrf_token
from zensync.service.state import ServiceState
from zensync.zendesk import oauth

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_csrf_token)])
NO_STORE = {"Cache-Control": "no-store"}


def _index(
    request: Request, state: ServiceState, *, form: dict[str, Any], errors: dict[str, str], status: int
) -> Response:
    connections = [connection_out(state, record.id) for record in state.manager.all()]
    return state.templates.TemplateResponse(
        request,
        "index.html",
        {
            "title": "Connections",
            "connections": connections,
            "redirect_uri": state.redirect_uri,
            "form": form,
            "errors": errors,
        },
        status_code=status,
        headers=NO_STORE,
    )


@router.get("/", response_class=HTMLResponse)
def index(request: Request, state: State) -> Response:
    return _index(request, state, form={}, errors={}, status=200)


@router.post("/connections", response_class=HTMLResponse)
def add_connection(
    request: Request,
    state: State,
    subdomain: Annotated[str, Form(max_length=253)] = "",
    client_id: Annotated[str, Form(max_length=255)] = "",
    client_secret: Annotated[SecretStr, Form(max_length=512)] = SecretStr(""),
    name: Annotated[str, Form(max_length=200)] = "",
    exclude_closed_tickets: Annotated[bool, Form()] = False,
) -> Response:
    """The add form: create the connection and go straight to Zendesk's consent page.

    The setup checklist stands beside the form, so it has been shown before this redirect.
    People paste ``acme.zendesk.com`` or the full address into the subdomain field: that is
    read as ``acme`` here (the JSON API is strict and names the value to send instead).
    """
    form = {
        "subdomain": subdomain,
        "client_id": client_id,
        "name": name,
        "exclude_closed_tickets": exclude_closed_tickets,
    }
    errors: dict[str, str] = {}
    try:
        clean, _ = normalize_subdomain(subdomain)
    except InvalidSubdomain as exc:
        errors["subdomain"] = str(exc)
        clean = ""
    if not client_id.strip():
        errors["client_id"] = "Enter the Unique identifier of your OAuth client."
    if not client_secret.get_secret_value().strip():
        errors["client_secret"] = (
            "Enter the client's Secret (Zendesk shows it in full only once; regenerate it if lost)."
        )
    if errors:
        return _index(request, state, form=form, errors=errors, status=422)
    try:
        started = state.manager.begin_oauth(
            name=name or None,
            config=ZendeskConfig(subdomain=clean, exclude_closed_tickets=exclude_closed_tickets),
            client_id=client_id,
            client_secret=client_secret.get_secret_value(),
            redirect_uri=state.redirect_uri,
        )
    except ConnectionProblem as exc:
        errors[exc.field if exc.field in ("subdomain", "client_id", "client_secret", "name") else "_"] = str(
            exc
        )
        return _index(request, state, form=form, errors=errors, status=exc.status)
    return RedirectResponse(started.auth_url, status_code=303, headers=NO_STORE)


@router.get("/connections/{connection_id}", response_class=HTMLResponse)
def connection_page(
    request: Request,
    state: State,
    connection_id: ConnectionId,
    registered: Annotated[str, Query(max_length=2000)] = "",
) -> Response:
    """Status, the problem and its fix, live progress, last runs; the redirect-URL comparison."""
    try:
        view = connection_out(state, connection_id)
    except ConnectionProblem as exc:
        explanation = oauth.Explanation(
            kind="not_found", title="No such connection", cause=str(exc), fixes=("Pick one from the list.",)
        )
        return state.templates.TemplateResponse(
            request, "oauth_error.html", {"explanation": explanation, "connection": None}, status_code=404
        )
    registered = registered.strip()
    compare = None
    if registered and view.redirect_uri:
        compare = oauth.compare_redirect_uris(view.redirect_uri, registered)
    return state.templates.TemplateResponse(
        request,
        "connection.html",
        {
            "title": view.name,
            "c": view,
            "checklist": oauth.authorization_checklist(view.redirect_uri or state.redirect_uri),
            "registered": registered,
            "compare": compare,
        },
        headers=NO_STORE,
    )


@router.post("/connections/{connection_id}/authorize")
def authorize(
    state: State,
    connection_id: ConnectionId,
    client_id: Annotated[str, Form(max_length=255)] = "",
    client_secret: Annotated[SecretStr, Form(max_length=512)] = SecretStr(""),
) -> Response:
    """Continue to Zendesk (first consent or reconnect) with a fresh single-use state."""
    started = state.manager.authorize(
        connection_id,
        redirect_uri=state.redirect_uri,
        client_id=client_id or None,
        client_secret=client_secret.get_secret_value() or None,
    )
    return RedirectResponse(started.auth_url, status_code=303, headers=NO_STORE)


@router.post("/connections/{connection_id}/disconnect")
async def disconnect(state: State, connection_id: ConnectionId, purge: bool = False) -> Response:
    record = state.manager.get(connection_id)
    if state.jobs.is_running(record.id):
        raise ConnectionProblem(
            f"A sync of {record.id!r} is running; wait for it to finish, then disconnect.", status=409
        )
    await state.manager.disconnect(record.id, purge=purge)
    return RedirectResponse("/", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request, state: State, next: Annotated[str, Query(max_length=2000)] = "/"
) -> Response:
    return state.templates.TemplateResponse(
        request, "login.html", {"next": _safe_next(next), "title": "API key"}
    )


@router.post("/login")
def login(
    request: Request,
    state: State,
    api_key: Annotated[SecretStr, Form(max_length=1024)] = SecretStr(""),
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Trade the API key for a session cookie (HttpOnly, SameSite=Strict, an HMAC of the key)."""
    expected = state.settings.api_key
    if expected is None:
        return RedirectResponse(_safe_next(next), status_code=303)
    if not hmac.compare_digest(api_key.get_secret_value().encode(), expected.get_secret_value().encode()):
        return state.templates.TemplateResponse(
            request,
            "login.html",
            {"next": _safe_next(next), "error": "That is not this service's API key."},
            status_code=401,
        )
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE_NAME,
        session_token(expected),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=30 * 86400,
    )
    return response


def _safe_next(target: str) -> str:
    """Only same-site paths: never an open redirect."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
