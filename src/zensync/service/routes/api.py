"""The JSON API: ``/source-connections`` (create, consent callback, read, sync, jobs, delete), ``/search``."""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from zensync import search as semantic_search
from zensync.config import ZendeskConfig
from zensync.connections import ConnectionProblem
from zensync.embeddings import EmbeddingError
from zensync.service.deps import ConnectionId, State, wants_html
from zensync.service.jobs import AlreadySyncing
from zensync.service.models import (
    ENTITY_TYPE_NAMES,
    AuthorizeIn,
    ConnectionOut,
    CreateConnectionIn,
    CreatedConnectionOut,
    DeletedOut,
    JobOut,
    ProblemOut,
    RunOut,
    SearchOut,
    SearchResultOut,
)
from zensync.service.state import ServiceState
from zensync.store import StoreError
from zensync.zendesk.oauth import CALLBACK_PATH, OAuthError

router = APIRouter()

ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ProblemOut, "description": "No such connection"},
    409: {"model": ProblemOut, "description": "Conflicts with the connection's state"},
}


def connection_out(state: ServiceState, connection_id: str) -> ConnectionOut:
    record = state.manager.get(connection_id)
    latest = state.store.latest_run(record.id)
    return ConnectionOut.of(
        state.manager,
        record,
        syncing=state.jobs.is_running(record.id)
        or (latest is not None and latest.status == "running" and state.jobs.busy(record.id)),
        next_sync_at=state.jobs.due_at(record, latest),
        sync_interval_seconds=state.jobs.interval(record),
    )


@router.post(
    "/source-connections",
    status_code=201,
    response_model=CreatedConnectionOut,
    tags=["source-connections"],
    responses={409: ERRORS[409], 422: {"description": "A field is invalid; the message names the fix"}},
)
def create_connection(body: CreateConnectionIn, state: State) -> CreatedConnectionOut:
    """Create a Zendesk connection with your own OAuth client; then send the browser to ``auth_url``.

    The connection is ``pending_auth`` until consent completes at the callback.
    """
    config = ZendeskConfig(
        subdomain=body.config.subdomain, exclude_closed_tickets=body.config.exclude_closed_tickets
    )
    started = state.manager.begin_oauth(
        name=body.name,
        config=config,
        client_id=body.auth.client_id,
        client_secret=body.auth.client_secret.get_secret_value(),
        redirect_uri=state.redirect_uri,
        sync_interval_seconds=body.sync_interval_seconds,
    )
    return CreatedConnectionOut(
        id=started.connection.id,
        status=started.connection.status,
        auth_url=started.auth_url,
        redirect_uri=state.redirect_uri,
        checklist=list(started.checklist),
    )


@router.get("/source-connections", response_model=list[ConnectionOut], tags=["source-connections"])
def list_connections(state: State) -> list[ConnectionOut]:
    return [connection_out(state, record.id) for record in state.manager.all()]


@router.get(
    CALLBACK_PATH,
    response_class=HTMLResponse,
    tags=["oauth"],
    responses={303: {"description": "Consent completed: to the connection's page"}},
)
async def oauth_callback(request: Request, state: State) -> Response:
    """Where Zendesk sends the browser after consent (``code`` and ``state``, or ``error``).

    On success the tokens are stored, the connection becomes ``active``, its first sync starts
    in the background, and the browser goes to the connection's page. On failure a page says
    what went wrong and how to fix it.
    """
    params = {k: v for k, v in request.query_params.items()}
    try:
        record = await state.manager.complete_oauth(params)
    except OAuthError as exc:
        connection_id = exc.connection_id
        connection = state.store.get_connection(connection_id) if connection_id else None
        return state.templates.TemplateResponse(
            request,
            "oauth_error.html",
            {"explanation": exc.explanation, "connection": connection, "title": exc.explanation.title},
            status_code=400,
            headers={"Cache-Control": "no-store"},
        )
    if record.status == "active" and state.settings.first_sync:
        with contextlib.suppress(AlreadySyncing, ConnectionProblem):
            state.jobs.start(record.id, reason="first")
    return RedirectResponse(
        f"/connections/{record.id}", status_code=303, headers={"Cache-Control": "no-store"}
    )


@router.get(
    "/source-connections/{connection_id}",
    response_model=ConnectionOut,
    tags=["source-connections"],
    responses={404: ERRORS[404]},
)
def get_connection(connection_id: ConnectionId, state: State) -> ConnectionOut:
    """Status, config, the problem and its fix (if any), live progress and the last runs."""
    return connection_out(state, connection_id)


@router.post(
    "/source-connections/{connection_id}/authorize",
    response_model=CreatedConnectionOut,
    tags=["source-connections"],
    responses={404: ERRORS[404]},
)
def reauthorize(
    connection_id: ConnectionId, state: State, body: Annotated[AuthorizeIn | None, Body()] = None
) -> CreatedConnectionOut:
    """A fresh consent URL: to finish a pending connection or reconnect one that needs it.

    New client credentials may be given; they replace the stored ones once consent succeeds.
    """
    started = state.manager.authorize(
        connection_id,
        redirect_uri=state.redirect_uri,
        client_id=body.client_id if body else None,
        client_secret=body.client_secret.get_secret_value() if body and body.client_secret else None,
    )
    return CreatedConnectionOut(
        id=started.connection.id,
        status=started.connection.status,
        auth_url=started.auth_url,
        redirect_uri=state.redirect_uri,
        checklist=list(started.checklist),
    )


@router.post(
    "/source-connections/{connection_id}/sync",
    status_code=202,
    response_model=JobOut,
    tags=["source-connections"],
    responses={404: ERRORS[404], 409: ERRORS[409]},
)
async def start_sync(
    connection_id: ConnectionId,
    state: State,
    full: Annotated[bool, Query(description="Re-read everything instead of continuing")] = False,
) -> JobOut:
    """Start a sync now (409 while one is running, or if the connection is not active)."""
    record = state.manager.get(connection_id)
    state.jobs.start(record.id, full=full)
    return JobOut(connection_id=record.id, detail="Sync started; follow it at GET /source-connections/{id}.")


@router.get(
    "/source-connections/{connection_id}/jobs",
    response_model=list[RunOut],
    tags=["source-connections"],
    responses={404: ERRORS[404]},
)
def list_jobs(
    connection_id: ConnectionId, state: State, limit: Annotated[int, Query(ge=1, le=200)] = 20
) -> list[RunOut]:
    """The connection's sync runs, newest first, with their reports."""
    record = state.manager.get(connection_id)
    return [RunOut.of(run) for run in state.store.list_runs(record.id, limit=limit)]


@router.delete(
    "/source-connections/{connection_id}",
    response_model=DeletedOut,
    tags=["source-connections"],
    responses={404: ERRORS[404], 409: ERRORS[409]},
)
async def delete_connection(
    connection_id: ConnectionId,
    state: State,
    purge: Annotated[bool, Query(description="Also delete everything synced for it")] = False,
) -> DeletedOut:
    """Revoke Zendesk access and remove the credentials; the synced data stays unless ``purge``."""
    record = state.manager.get(connection_id)
    if state.jobs.is_running(record.id):
        raise AlreadySyncing(f"A sync of {record.id!r} is running; wait for it to finish, then delete.")
    result = await state.manager.disconnect(record.id, purge=purge)
    return DeletedOut(
        id=result.connection_id,
        revoked=result.revoked,
        purged=result.purged,
        revoke_error=result.revoke_error,
    )


@router.get(
    "/search",
    response_model=SearchOut,
    tags=["search"],
    responses={200: {"content": {"text/html": {}}, "description": "JSON, or the search page for browsers"}},
)
def search(
    request: Request,
    state: State,
    q: Annotated[str, Query(max_length=1000, description="Words, or a question in your own words")] = "",
    type: Annotated[
        str | None,
        Query(max_length=100, description="One of ticket, comment, user, organization, attachment"),
    ] = None,
    mode: Annotated[
        str,
        Query(
            max_length=20,
            description="auto (hybrid once vectors exist, else keyword), hybrid, semantic or keyword",
        ),
    ] = "auto",
    status: Annotated[
        str | None, Query(max_length=200, description="Ticket statuses, comma-separated (open,pending)")
    ] = None,
    organization: Annotated[str | None, Query(max_length=200, description="Organization name or id")] = None,
    since: Annotated[date | None, Query(description="Created on or after (YYYY-MM-DD)")] = None,
    until: Annotated[date | None, Query(description="Created on or before (YYYY-MM-DD)")] = None,
    connection_id: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> Any:
    """Search the synced copy by words and by meaning; results are grouped by ticket (a comment
    hit shows its ticket and the passage) and link to the Zendesk agent UI."""
    html_page = wants_html(request)
    kind = (type or "").strip().lower() or None
    mode = (mode or "auto").strip().lower()
    error = None
    if kind is not None and kind not in ENTITY_TYPE_NAMES:
        error = f"type must be one of {', '.join(ENTITY_TYPE_NAMES)} (or omitted), not {type!r}."
        if not html_page:
            raise ConnectionProblem(error, status=422, field="type")
        kind = None
    response = None
    if q.strip() or not html_page:
        try:
            response = semantic_search.search(
                state.store,
                q,
                mode=mode,
                types=[kind] if kind else None,
                status=[s for s in (status or "").split(",") if s.strip()] or None,
                organization=organization or None,
                since=datetime.combine(since, time.min, UTC) if since else None,
                until=datetime.combine(until, time.max, UTC) if until else None,
                limit=limit,
                connection_id=connection_id,
            )
        except semantic_search.SearchInputError as exc:
            if not html_page:
                raise ConnectionProblem(str(exc), status=422, field="q") from None
            error = str(exc)
        except (StoreError, EmbeddingError) as exc:  # no vectors, no pgvector, another model
            if not html_page:
                raise ConnectionProblem(str(exc), status=409, field="mode") from None
            error = str(exc)
    if html_page:
        return state.templates.TemplateResponse(
            request,
            "search.html",
            {
                "q": q,
                "type": kind,
                "mode": mode,
                "modes": semantic_search.MODES,
                "status": status or "",
                "organization": organization or "",
                "since": since.isoformat() if since else "",
                "until": until.isoformat() if until else "",
                "response": response,
                "results": response.results if response else [],
                "types": ENTITY_TYPE_NAMES,
                "error": error,
                "title": "Search",
            },
        )
    assert response is not None
    return SearchOut(
        q=q,
        type=kind,
        mode=response.mode,
        notice=response.notice,
        results=[SearchResultOut.of(r) for r in response.results],
    )
