"""Request and response models of the source-connections API.

Requests take the client secret as :class:`pydantic.SecretStr`, and no response model has a
field that could carry a secret or a token: what the API can say is limited by these types,
not by care at each route.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from zensync.config import InvalidSubdomain, normalize_subdomain
from zensync.connections import ConnectionDetail, ConnectionManager
from zensync.store import ConnectionRecord, RunRecord
from zensync.zendesk.oauth import Explanation

ENTITY_TYPE_NAMES = ("ticket", "comment", "user", "organization", "attachment")
CLIENT_ID_MAX = 255
"""Zendesk's OAuth client identifiers are short slugs; a secret is 64 hex characters."""
CLIENT_SECRET_MAX = 512
SYNC_INTERVAL_MAX = 30 * 86400


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ConnectionConfigIn(_Strict):
    subdomain: str = Field(
        max_length=253,
        description="The account's subdomain: 'mycompany' for https://mycompany.zendesk.com",
        examples=["acme"],
    )
    exclude_closed_tickets: bool = Field(False, description="Skip tickets whose status is closed")

    @field_validator("subdomain")
    @classmethod
    def _exact_subdomain(cls, value: str) -> str:
        """The API takes the bare subdomain only; other forms are refused with the value to send."""
        try:
            normalised, notices = normalize_subdomain(value)
        except InvalidSubdomain as exc:
            raise ValueError(str(exc)) from None
        if notices or normalised != value:
            raise ValueError(
                f"{value!r} is not a bare subdomain: send {normalised!r} (the part before .zendesk.com)."
            )
        return value


class OAuthClientIn(_Strict):
    client_id: str = Field(
        min_length=1,
        max_length=CLIENT_ID_MAX,
        description="The Unique identifier of your OAuth client (Admin Center > Apps and integrations > "
        "APIs > OAuth Clients)",
    )
    client_secret: SecretStr = Field(
        min_length=1,
        max_length=CLIENT_SECRET_MAX,
        description="The client's Secret. Stored encrypted; never returned.",
    )


class CreateConnectionIn(_Strict):
    name: str | None = Field(None, max_length=200, description="Display name; defaults to the subdomain")
    short_name: Literal["zendesk"] = Field("zendesk", description="The source kind; only 'zendesk'")
    config: ConnectionConfigIn
    auth: OAuthClientIn
    sync_interval_seconds: int | None = Field(
        None,
        ge=60,
        le=SYNC_INTERVAL_MAX,
        description="Seconds between scheduled incremental syncs (default: the service's)",
    )


class AuthorizeIn(_Strict):
    """Re-authorize an existing connection, optionally with new client credentials."""

    client_id: str | None = Field(None, max_length=CLIENT_ID_MAX)
    client_secret: SecretStr | None = Field(None, max_length=CLIENT_SECRET_MAX)


class ExplanationOut(BaseModel):
    kind: str
    title: str
    cause: str
    fixes: list[str]
    needs_reauth: bool
    details: dict[str, str]

    @classmethod
    def of(cls, explanation: Explanation | None) -> ExplanationOut | None:
        return cls(**explanation.as_dict()) if explanation else None


class ConnectionConfigOut(BaseModel):
    subdomain: str
    exclude_closed_tickets: bool


class ConnectionAuthOut(BaseModel):
    kind: str = Field(description="oauth, api_token or access_token")
    client_id: str | None = None


class RunOut(BaseModel):
    id: int
    mode: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    duration_seconds: float | None
    pages: int
    stream: str | None = Field(None, description="The stream being read while running")
    message: str | None = None
    progress: dict[str, int] = Field(description="Objects read so far, by entity type")
    inserted: int
    updated: int
    unchanged: int
    deleted: int
    requests: int
    rate_limited: int
    error: str | None

    @classmethod
    def of(cls, run: RunRecord) -> RunOut:
        data: dict[str, Any] = dict(run.report or run.progress or {})
        counts: dict[str, dict[str, int]] = data.get("counts") or {}
        seen = {
            t: sum(int(c.get(k, 0)) for k in ("inserted", "updated", "unchanged")) for t, c in counts.items()
        }
        totals = {
            k: sum(int(c.get(k, 0)) for c in counts.values())
            for k in ("inserted", "updated", "unchanged", "deleted")
        }
        duration = data.get("duration_seconds", data.get("elapsed_seconds"))
        if duration is None and run.finished_at is not None:
            duration = (run.finished_at - run.started_at).total_seconds()
        stream = (run.progress or {}).get("stream")
        message = None
        if run.status == "running":
            message = f"Reading {stream}" if stream else "Starting"
        buckets = data.get("requests_by_bucket") or {}
        return cls(
            id=run.id,
            mode=run.mode,
            status=run.status,
            started_at=run.started_at,
            finished_at=run.finished_at,
            duration_seconds=float(duration) if duration is not None else None,
            pages=int(data.get("pages", 0)),
            stream=stream,
            message=message,
            progress=seen,
            requests=int(buckets.get("account", sum(int(v) for v in buckets.values()))),
            rate_limited=int(data.get("rate_limited", 0)),
            error=run.error,
            **totals,
        )


class ConnectionOut(BaseModel):
    """A connection as the API shows it: status, config, recent runs; never a secret or token."""

    id: str
    name: str
    short_name: Literal["zendesk"] = "zendesk"
    status: str = Field(description="pending_auth, active, needs_reauth or error")
    config: ConnectionConfigOut
    auth: ConnectionAuthOut
    redirect_uri: str | None
    problem: ExplanationOut | None = Field(description="What is wrong and how to fix it, if anything")
    connected_user: dict[str, Any] | None = None
    created_at: datetime
    updated_at: datetime
    last_sync_at: datetime | None
    next_sync_at: datetime | None
    sync_interval_seconds: int
    syncing: bool
    counts: dict[str, int]
    failed_downloads: int = Field(
        0, description="Attachments whose file could not be downloaded; the next sync tries again"
    )
    current_run: RunOut | None
    runs: list[RunOut]

    @classmethod
    def of(
        cls,
        manager: ConnectionManager,
        record: ConnectionRecord,
        *,
        syncing: bool,
        next_sync_at: datetime | None,
        sync_interval_seconds: int,
        runs_limit: int = 5,
    ) -> ConnectionOut:
        detail: ConnectionDetail = manager.detail(record)
        runs = manager.store.list_runs(record.id, limit=runs_limit)
        current = runs[0] if runs and runs[0].status == "running" and syncing else None
        counts = {t: int(n) for t, n in manager.store.counts(record.id).items()}
        return cls(
            id=record.id,
            name=record.name,
            status=record.status,
            config=ConnectionConfigOut(
                subdomain=record.subdomain, exclude_closed_tickets=record.exclude_closed_tickets
            ),
            auth=ConnectionAuthOut(kind=record.auth_kind, client_id=record.client_id),
            redirect_uri=detail.redirect_uri,
            problem=ExplanationOut.of(manager.problem(record)),
            connected_user=detail.user,
            created_at=record.created_at,
            updated_at=record.updated_at,
            last_sync_at=record.last_sync_at,
            next_sync_at=next_sync_at,
            sync_interval_seconds=sync_interval_seconds,
            syncing=syncing,
            counts=counts,
            failed_downloads=manager.store.failed_download_count(record.id),
            current_run=RunOut.of(current) if current else None,
            runs=[RunOut.of(r) for r in runs if r is not current],
        )


class CreatedConnectionOut(BaseModel):
    id: str
    status: str
    auth_url: str = Field(description="Send the user's browser here to approve access on Zendesk")
    redirect_uri: str
    checklist: list[str] = Field(description="What must hold in Admin Center for consent to work")


class JobOut(BaseModel):
    connection_id: str
    status: Literal["accepted"] = "accepted"
    detail: str


class DeletedOut(BaseModel):
    id: str
    revoked: bool
    purged: bool
    revoke_error: str | None = None


class BreadcrumbOut(BaseModel):
    entity_id: str
    name: str
    entity_type: str


class PassageOut(BaseModel):
    entity_type: str
    entity_id: str
    id: int
    snippet: str = Field(description="HTML-safe: escaped text with <mark> around keyword matches")
    text: str
    web_url: str | None = None
    via: list[str] = Field(description="Which searches found it: keyword, semantic")


class SearchResultOut(BaseModel):
    entity_type: str = Field(
        description="ticket, user or organization: comments and attachments show as their ticket"
    )
    entity_id: str
    id: int
    connection_id: str
    name: str
    web_url: str | None = Field(description="The object in the Zendesk agent UI")
    score: float = Field(description="Reciprocal rank fusion of the lists that found it (higher is better)")
    ranks: dict[str, int]
    status: str | None
    organization_id: int | None
    organization_name: str | None
    created_at: datetime | None
    updated_at: datetime | None
    passages: list[PassageOut]

    @classmethod
    def of(cls, result: Any) -> SearchResultOut:
        data = result.to_dict()
        return cls(**{**data, "passages": [PassageOut(**p) for p in data["passages"]]})


class SearchOut(BaseModel):
    q: str
    type: str | None
    mode: str = Field(description="The mode used: hybrid, semantic or keyword")
    notice: str | None = Field(None, description="Why the mode differs from the one asked for, if it does")
    results: list[SearchResultOut]


class ProblemOut(BaseModel):
    """An error answer: what is wrong and how to fix it."""

    detail: str
    field: str | None = None
    explanation: ExplanationOut | None = None


def utcnow() -> datetime:
    return datetime.now(UTC)
