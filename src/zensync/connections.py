"""Source connections: creating them by OAuth consent or API token, using, syncing and removing them.

The CLI (``zensync connect``/``connections``/``disconnect``) and the service (``/source-connections``)
both go through :class:`ConnectionManager`, so a connection made in one works in the other and
both explain failures the same way (:func:`zensync.zendesk.oauth.explain`).

What is stored, and how:

- the ``connections`` row: account, OAuth client id, status and ``status_detail`` (JSON: the
  redirect URI in use and the current problem, if any — never a secret);
- ``secrets_encrypted``: one Fernet ciphertext (:mod:`zensync.secret_box`) of a JSON object with
  the client secret, the access and refresh tokens (or the API token);
- ``oauth_states``: the SHA-256 of each consent ``state``, its expiry (10 minutes) and, sealed,
  the PKCE verifier and the client credentials to exchange the code with. A reconnect's new
  client secret waits there, so the credentials in use are replaced only once consent succeeded.

The manager keeps credentials and consent only. Syncing is :mod:`zensync.sync.runner`'s:
:meth:`ConnectionManager.resolve` turns a stored connection into the runner's
:class:`~zensync.sync.runner.Connection` with the manager as its ``keeper``. Zendesk rotates
refresh tokens (a refresh invalidates the old pair), so the runner hands each new pair to
:meth:`ConnectionManager.save_tokens`, which writes it sealed in one UPDATE before the new
access token is used; a refresh that fails for good comes back as
:meth:`ConnectionManager.mark_needs_reauth` (the data is kept).
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from zensync.config import ZendeskConfig
from zensync.secret_box import SecretBox
from zensync.store import ConnectionNotFound, ConnectionRecord, Store, StoreError
from zensync.sync.report import RunReport
from zensync.sync.runner import Connection, OAuthGrant, check_credentials, run_sync
from zensync.zendesk import account, oauth
from zensync.zendesk.auth import ApiTokenAuth, TokenSet
from zensync.zendesk.client import ZendeskClient
from zensync.zendesk.errors import TokenRefreshError, ZendeskError
from zensync.zendesk.oauth import AuthorizationRequest, Explanation, OAuthError

log = logging.getLogger(__name__)


class ConnectionProblem(Exception):
    """A connection request that cannot be honoured as asked; the message names the fix.

    ``status`` is the HTTP status the service answers with (404 unknown, 409 conflict, 422 bad
    input); ``connection_id`` names the connection concerned, when there is one.
    """

    def __init__(
        self, message: str, *, status: int = 422, field: str | None = None, connection_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.field = field
        self.connection_id = connection_id


def connection_id_for(name: str) -> str:
    """A stable id from a display name: lower case, ``[a-z0-9_-]``, at most 64 characters.

    The CLI's default connection is named after the subdomain, so its id is the subdomain.
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9_-]+", "-", ascii_name.strip().lower()).strip("-")[:64].strip("-")
    if not slug:
        raise ConnectionProblem(
            f"The connection name {name!r} has no letters or digits; give a name such as the subdomain.",
            field="name",
        )
    return slug


@dataclass(frozen=True)
class StoredSecrets:
    """The decrypted content of ``secrets_encrypted``. ``repr`` shows none of it."""

    client_secret: str | None = field(default=None, repr=False)
    access_token: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    refresh_expires_at: str | None = None
    scope: str | None = None
    email: str | None = None
    api_token: str | None = field(default=None, repr=False)

    def to_json(self) -> str:
        data = {k: v for k, v in self.__dict__.items() if v is not None}
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> StoredSecrets:
        data = json.loads(text)
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class ConnectionDetail:
    """``status_detail``: what the UI and the API show besides the status; never a secret."""

    redirect_uri: str | None = None
    problem: Explanation | None = None
    user: dict[str, Any] | None = None  # who consented: id, name, email, role

    def to_json(self) -> str:
        return json.dumps(
            {
                "redirect_uri": self.redirect_uri,
                "problem": self.problem.as_dict() if self.problem else None,
                "user": self.user,
            }
        )

    @classmethod
    def parse(cls, text: str | None) -> ConnectionDetail:
        if not text:
            return cls()
        try:
            data = json.loads(text)
        except ValueError:
            return cls(problem=_plain_problem(text))
        if not isinstance(data, dict):
            return cls()
        problem = data.get("problem")
        return cls(
            redirect_uri=data.get("redirect_uri"),
            problem=_explanation_from_dict(problem) if isinstance(problem, dict) else None,
            user=data.get("user") if isinstance(data.get("user"), dict) else None,
        )


def _explanation_from_dict(data: Mapping[str, Any]) -> Explanation:
    return Explanation(
        kind=str(data.get("kind", "oauth_error")),
        title=str(data.get("title", "")),
        cause=str(data.get("cause", "")),
        fixes=tuple(str(f) for f in data.get("fixes", ())),
        needs_reauth=bool(data.get("needs_reauth", False)),
        details={str(k): str(v) for k, v in (data.get("details") or {}).items()},
    )


def _plain_problem(text: str) -> Explanation:
    return Explanation(kind="error", title="Connection problem", cause=text, fixes=("Reconnect.",))


@dataclass(frozen=True)
class StartedAuthorization:
    """A consent request for a connection: send the browser to ``request.url``."""

    connection: ConnectionRecord
    request: AuthorizationRequest
    checklist: tuple[str, ...]

    @property
    def auth_url(self) -> str:
        return self.request.url


@dataclass(frozen=True)
class DisconnectResult:
    connection_id: str
    revoked: bool
    purged: bool
    revoke_error: str | None = None


def _utc(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class ConnectionManager:
    """Everything about connections that both the CLI and the service do.

    ``base_url`` overrides ``https://{subdomain}.zendesk.com`` for new connections (the
    simulator, a proxy); an existing connection keeps the ``base_url`` it was created with.
    ``transport`` is for tests that need an unusual HTTP shape; normally None.
    """

    def __init__(
        self,
        store: Store,
        secrets: SecretBox,
        *,
        base_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        client_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.store = store
        self.secrets = secrets
        self.base_url = base_url
        self.transport = transport
        self.client_options = dict(client_options or {})

    # ------------------------------------------------------------------------------ reading

    def get(self, id_or_name: str) -> ConnectionRecord:
        """A connection by id, or by its display name; :class:`ConnectionProblem` (404) if none."""
        record = self.store.get_connection(id_or_name)
        if record is None:
            matches = [c for c in self.store.list_connections() if c.name == id_or_name]
            if len(matches) == 1:
                return matches[0]
            try:
                record = self.store.get_connection(connection_id_for(id_or_name))
            except ConnectionProblem:
                record = None
        if record is None:
            known = ", ".join(c.id for c in self.store.list_connections()) or "none yet"
            raise ConnectionProblem(
                f"No connection {id_or_name!r}; known connections: {known}. "
                "List them with `zensync connections` or GET /source-connections.",
                status=404,
            )
        return record

    def all(self) -> list[ConnectionRecord]:
        return self.store.list_connections()

    def config_for(self, record: ConnectionRecord) -> ZendeskConfig:
        return ZendeskConfig(
            subdomain=record.subdomain,
            exclude_closed_tickets=record.exclude_closed_tickets,
            base_url=record.base_url,
        )

    def detail(self, record: ConnectionRecord) -> ConnectionDetail:
        return ConnectionDetail.parse(record.status_detail)

    def problem(self, record: ConnectionRecord) -> Explanation | None:
        """What is wrong with the connection and how to fix it, or None when nothing is.

        A connection still waiting for consent always carries the checklist: if Zendesk showed
        its own "Invalid Authorization Request" page, zensync never hears of it.
        """
        detail = self.detail(record)
        if detail.problem is not None:
            return detail.problem
        if record.status == "pending_auth":
            return oauth.awaiting_consent(detail.redirect_uri)
        return None

    def _secrets_of(self, record: ConnectionRecord) -> StoredSecrets:
        if not record.secrets_encrypted:
            return StoredSecrets()
        return StoredSecrets.from_json(self.secrets.decrypt(record.secrets_encrypted))

    # ------------------------------------------------------------------------------ consent

    def begin_oauth(
        self,
        *,
        name: str | None,
        config: ZendeskConfig,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        reconnect: bool = False,
        sync_interval_seconds: int | None = None,
        exclude_closed_tickets: bool | None = None,
    ) -> StartedAuthorization:
        """Create a ``pending_auth`` connection (or, with ``reconnect``, reuse one) and a consent request.

        A second connection under an existing name is refused (409) unless ``reconnect``: then
        the same account is re-authorized and its data, cursor and settings are kept.
        ``exclude_closed_tickets`` changes the "skip closed tickets" setting when given; when
        None, a new connection takes ``config``'s and an existing one keeps its own.
        """
        client_id = client_id.strip()
        client_secret = client_secret.strip()
        if not client_id:
            raise ConnectionProblem(
                "The client ID is empty: use the Unique identifier of your OAuth client "
                f"({oauth.OAUTH_CLIENTS_PATH}).",
                field="client_id",
            )
        if not client_secret:
            raise ConnectionProblem(
                "The client secret is empty: copy the Secret of your OAuth client "
                f"({oauth.OAUTH_CLIENTS_PATH}).",
                field="client_secret",
            )
        try:
            oauth.validate_redirect_uri(redirect_uri)
        except oauth.RedirectUriError as exc:
            raise ConnectionProblem(str(exc), field="redirect_uri") from exc
        display = (name or "").strip() or config.subdomain
        connection_id = connection_id_for(display)
        existing = self.store.get_connection(connection_id)
        base_url = config.base_url or self.base_url
        if existing is not None:
            if not reconnect:
                raise ConnectionProblem(
                    f"A connection {connection_id!r} already exists "
                    f"({existing.subdomain}.zendesk.com, {existing.status}): choose another name, "
                    "reconnect it "
                    f"(POST /source-connections/{connection_id}/authorize, or `zensync connect` again), "
                    "or delete it first.",
                    status=409,
                    field="name",
                    connection_id=connection_id,
                )
            if existing.subdomain != config.subdomain:
                raise ConnectionProblem(
                    f"The connection {connection_id!r} belongs to {existing.subdomain}.zendesk.com, not "
                    f"{config.subdomain}.zendesk.com: choose another name (--name) for the new account.",
                    status=409,
                    field="name",
                    connection_id=connection_id,
                )
            changes: dict[str, Any] = {}
            if (
                exclude_closed_tickets is not None
                and existing.exclude_closed_tickets != exclude_closed_tickets
            ):
                changes["exclude_closed_tickets"] = exclude_closed_tickets
            if existing.status == "pending_auth" or existing.auth_kind != "oauth":
                # Nothing usable yet: the new client credentials may replace the old at once.
                changes.update(
                    auth_kind="oauth" if existing.status == "pending_auth" else existing.auth_kind,
                    client_id=client_id,
                    secrets_encrypted=self.secrets.encrypt(
                        StoredSecrets(client_secret=client_secret).to_json()
                    ),
                )
            if base_url != existing.base_url and existing.status == "pending_auth":
                changes["base_url"] = base_url
            if changes:
                self.store.update_connection(connection_id, **changes)
            return self.authorize(
                connection_id, redirect_uri=redirect_uri, client_id=client_id, client_secret=client_secret
            )
        self.store.create_connection(
            id=connection_id,
            name=display,
            subdomain=config.subdomain,
            base_url=base_url,
            exclude_closed_tickets=_chosen(exclude_closed_tickets, config.exclude_closed_tickets),
            auth_kind="oauth",
            client_id=client_id,
            secrets_encrypted=self.secrets.encrypt(StoredSecrets(client_secret=client_secret).to_json()),
            status="pending_auth",
            status_detail=ConnectionDetail(redirect_uri=redirect_uri).to_json(),
            sync_interval_seconds=sync_interval_seconds,
        )
        return self.authorize(connection_id, redirect_uri=redirect_uri)

    def authorize(
        self,
        connection_id: str,
        *,
        redirect_uri: str,
        client_id: str | None = None,
        client_secret: str | None = None,
    ) -> StartedAuthorization:
        """A fresh consent request for an existing connection (first consent or reconnect).

        New client credentials, when given, are kept sealed with the state and become the
        connection's only when the exchange succeeds.
        """
        record = self.get(connection_id)
        try:
            oauth.validate_redirect_uri(redirect_uri)
        except oauth.RedirectUriError as exc:
            raise ConnectionProblem(str(exc), field="redirect_uri") from exc
        stored = self._secrets_of(record) if record.auth_kind == "oauth" else StoredSecrets()
        use_id = (client_id or "").strip() or record.client_id
        use_secret = (client_secret or "").strip() or stored.client_secret
        if not use_id or not use_secret:
            raise ConnectionProblem(
                f"Connection {record.id!r} has no OAuth client credentials: give the client ID and secret "
                f"of your OAuth client ({oauth.OAUTH_CLIENTS_PATH}).",
                field="client_secret" if use_id else "client_id",
                connection_id=record.id,
            )
        config = self.config_for(record)
        request = oauth.start_authorization(config.api_base, use_id, redirect_uri)
        payload = {"code_verifier": request.code_verifier, "client_id": use_id, "client_secret": use_secret}
        self.store.create_oauth_state(
            state_hash=request.state_hash,
            connection_id=record.id,
            payload_encrypted=self.secrets.encrypt(json.dumps(payload)),
            redirect_uri=request.redirect_uri,
            expires_at=datetime.fromtimestamp(request.expires_at, UTC),
        )
        detail = self.detail(record)
        # A fresh attempt clears the last attempt's problem; a needs_reauth explanation stays
        # until the reconnect succeeds.
        keep = detail.problem if record.status != "pending_auth" else None
        record = self.store.update_connection(
            record.id,
            status_detail=ConnectionDetail(
                redirect_uri=redirect_uri, problem=keep, user=detail.user
            ).to_json(),
        )
        return StartedAuthorization(record, request, oauth.authorization_checklist(redirect_uri))

    def _classify_refused_state(self, state_hash: str) -> tuple[str, str | None]:
        """Why a state was refused: unknown (forged), already used, or expired."""
        row = self.store.find_oauth_state(state_hash)
        if row is None:
            return "state_invalid", None
        return ("state_reused" if row.used_at is not None else "state_expired"), row.connection_id

    async def complete_oauth(self, params: Mapping[str, str]) -> ConnectionRecord:
        """Handle the consent callback's query: check the state, exchange the code, store the tokens.

        Raises :class:`OAuthError` whose ``explanation`` names the fix; ``connection_id`` is set
        on it when the callback belonged to a known connection (whose page then shows it too).
        The state is checked first, so a forged callback cannot change any connection.
        """
        state = params.get("state") or ""
        if not state:
            raise OAuthError(oauth.explain("state_invalid", stage="state"))
        state_hash = oauth.hash_state(state)
        record_state = self.store.consume_oauth_state(state_hash)
        if record_state is None:
            kind, connection_id = self._classify_refused_state(state_hash)
            raise OAuthError(oauth.explain(kind, stage="state"), connection_id=connection_id)
        connection_id = record_state.connection_id
        record = self.get(connection_id)
        redirect_uri = record_state.redirect_uri

        def fail(explanation: Explanation, status: int | None = None) -> OAuthError:
            self._record_problem(record, explanation, redirect_uri=redirect_uri)
            return OAuthError(explanation, status_code=status, connection_id=connection_id)

        if params.get("error"):
            raise fail(
                oauth.explain(
                    params["error"],
                    params.get("error_description"),
                    stage="callback",
                    redirect_uri=redirect_uri,
                )
            )
        code = params.get("code") or ""
        if not code:
            raise fail(
                oauth.explain(
                    "invalid_request",
                    "the callback carried neither code nor error",
                    stage="callback",
                    redirect_uri=redirect_uri,
                )
            )
        payload = json.loads(self.secrets.decrypt(record_state.payload_encrypted))
        config = self.config_for(record)
        try:
            tokens = await oauth.exchange_code(
                config.api_base,
                client_id=payload["client_id"],
                client_secret=payload["client_secret"],
                code=code,
                redirect_uri=redirect_uri,
                code_verifier=payload["code_verifier"],
                transport=self.transport,
            )
        except OAuthError as exc:
            raise fail(exc.explanation, exc.status_code) from None

        user = await self._whoami(
            Connection.from_oauth(
                record.id,
                config,
                OAuthGrant(
                    client_id=payload["client_id"],
                    client_secret=payload["client_secret"],
                    access_token=tokens.access_token,
                    refresh_token=tokens.refresh_token,
                    expires_at=tokens.expires_at,
                    refresh_expires_at=tokens.refresh_expires_at,
                    scope=tokens.scope,
                ),
                keeper=None,  # just issued: stored below, together with the connecting user
            )
        )
        stored = StoredSecrets(
            client_secret=payload["client_secret"],
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token,
            refresh_expires_at=tokens.refresh_expires_at.isoformat() if tokens.refresh_expires_at else None,
            scope=tokens.scope,
        )
        problem = _not_admin(user) if user else None
        return self.store.update_connection(
            record.id,
            auth_kind="oauth",
            client_id=payload["client_id"],
            secrets_encrypted=self.secrets.encrypt(stored.to_json()),
            token_expires_at=tokens.expires_at,
            status="error" if problem else "active",
            status_detail=ConnectionDetail(redirect_uri=redirect_uri, problem=problem, user=user).to_json(),
        )

    async def _whoami(self, connection: Connection) -> dict[str, Any] | None:
        """The consenting user (``users/me``), or None when Zendesk cannot say right now."""
        try:
            me = await check_credentials(connection, require_admin=False, transport=self.transport)
        except ZendeskError as exc:
            log.warning("could not read the connecting user: %s", exc)
            return None
        return account.summary(me)

    def _record_problem(
        self, record: ConnectionRecord, problem: Explanation, *, redirect_uri: str | None
    ) -> None:
        detail = self.detail(record)
        changes: dict[str, Any] = {
            "status_detail": ConnectionDetail(
                redirect_uri=redirect_uri or detail.redirect_uri, problem=problem, user=detail.user
            ).to_json()
        }
        if problem.needs_reauth and record.status == "active":
            changes["status"] = "needs_reauth"
        self.store.update_connection(record.id, **changes)

    def mark_needs_reauth(self, connection_id: str, problem: Explanation) -> ConnectionRecord:
        """The stored credentials no longer work: say so and why; keep every synced row."""
        record = self.get(connection_id)
        detail = self.detail(record)
        return self.store.update_connection(
            connection_id,
            status="needs_reauth",
            status_detail=ConnectionDetail(
                redirect_uri=detail.redirect_uri, problem=problem, user=detail.user
            ).to_json(),
        )

    # ------------------------------------------------------------------------------ API token

    async def connect_api_token(
        self,
        *,
        name: str | None,
        config: ZendeskConfig,
        email: str,
        api_token: str,
        sync_interval_seconds: int | None = None,
        exclude_closed_tickets: bool | None = None,
    ) -> ConnectionRecord:
        """The secondary path: ``{email}/token`` + API token, checked against ``users/me`` first.

        Connecting an existing connection again replaces its credentials and keeps its settings
        (``exclude_closed_tickets`` as in :meth:`begin_oauth`).

        API tokens are being retired by Zendesk (none created after 2026-10-27, all deactivated
        2027-04-30: ../shared/zendesk/README.md), so OAuth stays the recommended way.
        """
        email, api_token = email.strip(), api_token.strip()
        if "@" not in email or not api_token:
            raise ConnectionProblem(
                "--api-token takes EMAIL/TOKEN: the email of an active admin and an API token from "
                "Admin Center > Apps and integrations > APIs > Zendesk API.",
                field="api_token",
            )
        display = (name or "").strip() or config.subdomain
        connection_id = connection_id_for(display)
        existing = self.store.get_connection(connection_id)
        if existing is not None and existing.subdomain != config.subdomain:
            raise ConnectionProblem(
                f"The connection {connection_id!r} belongs to {existing.subdomain}.zendesk.com: choose "
                "another name for this account.",
                status=409,
                field="name",
                connection_id=connection_id,
            )
        base_url = config.base_url or self.base_url
        check_config = ZendeskConfig(
            subdomain=config.subdomain,
            exclude_closed_tickets=config.exclude_closed_tickets,
            base_url=base_url,
        )
        try:
            user = await check_credentials(
                Connection.from_api_token(
                    check_config.subdomain, email, api_token, base_url=check_config.base_url
                ),
                transport=self.transport,
            )
        except ZendeskError as exc:
            raise ConnectionProblem(str(exc), status=422, field="api_token") from exc
        sealed = self.secrets.encrypt(StoredSecrets(email=email, api_token=api_token).to_json())
        who = account.summary(user)
        detail = ConnectionDetail(user=who).to_json()
        if existing is not None:
            return self.store.update_connection(
                connection_id,
                auth_kind="api_token",
                client_id=None,
                secrets_encrypted=sealed,
                token_expires_at=None,
                status="active",
                status_detail=detail,
                exclude_closed_tickets=_chosen(exclude_closed_tickets, existing.exclude_closed_tickets),
            )
        return self.store.create_connection(
            id=connection_id,
            name=display,
            subdomain=config.subdomain,
            base_url=base_url,
            exclude_closed_tickets=_chosen(exclude_closed_tickets, config.exclude_closed_tickets),
            auth_kind="api_token",
            secrets_encrypted=sealed,
            status="active",
            status_detail=detail,
            sync_interval_seconds=sync_interval_seconds,
        )

    # ------------------------------------------------------------------------------ using

    async def save_tokens(self, connection_id: str, tokens: TokenSet) -> None:
        """Persist a rotated OAuth pair before it is used (the runner's ``CredentialKeeper``).

        The new pair and its expiry go into the row in one UPDATE, so a crash leaves either the
        old pair (already invalid at Zendesk: the connection then needs re-authorization) or
        the new one — never half of each.
        """
        record = self.get(connection_id)
        current = self._secrets_of(record)
        rotated = StoredSecrets(
            client_secret=current.client_secret,
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token or current.refresh_token,
            refresh_expires_at=(
                tokens.refresh_expires_at.isoformat()
                if tokens.refresh_expires_at
                else current.refresh_expires_at
            ),
            scope=tokens.scope or current.scope,
        )
        self.store.update_connection(
            connection_id,
            secrets_encrypted=self.secrets.encrypt(rotated.to_json()),
            token_expires_at=tokens.expires_at,
        )
        log.info("stored the rotated OAuth tokens of connection %s", connection_id)

    def connection(self, record: ConnectionRecord) -> Connection:
        """The stored connection as the runner's :class:`Connection`, whatever its status
        (revocation uses it too); rotated tokens and ``needs_reauth`` come back here."""
        if record.status == "pending_auth":
            raise ConnectionProblem(
                f"Connection {record.id!r} is waiting for consent on Zendesk: finish it from the connection "
                "page or run `zensync connect` again.",
                status=409,
                connection_id=record.id,
            )
        stored = self._secrets_of(record)
        config = self.config_for(record)
        if record.auth_kind == "api_token":
            if not stored.email or not stored.api_token:
                raise ConnectionProblem(
                    f"Connection {record.id!r} has no API token stored: reconnect it.",
                    status=409,
                    connection_id=record.id,
                )
            return Connection(
                id=record.id,
                config=config,
                auth=ApiTokenAuth(stored.email, stored.api_token),
                described=f"API token of {stored.email}",
                keeper=self,
            )
        if not stored.access_token or not record.client_id:
            raise ConnectionProblem(
                f"Connection {record.id!r} has no token stored: reconnect it.",
                status=409,
                connection_id=record.id,
            )
        grant = OAuthGrant(
            client_id=record.client_id,
            client_secret=stored.client_secret,
            access_token=stored.access_token,
            refresh_token=stored.refresh_token,
            expires_at=_utc(record.token_expires_at),
            refresh_expires_at=(
                datetime.fromisoformat(stored.refresh_expires_at) if stored.refresh_expires_at else None
            ),
            scope=stored.scope,
        )
        return Connection.from_oauth(record.id, config, grant, keeper=self)

    def resolve(self, id_or_name: str) -> Connection:
        """A connection that can sync now; :class:`ConnectionProblem` (409) says why not."""
        record = self.get(id_or_name)
        if record.status != "active":
            problem = self.problem(record)
            raise ConnectionProblem(
                f"Connection {record.id!r} is {record.status}: "
                + (problem.message() if problem else "reconnect it first."),
                status=409,
                connection_id=record.id,
            )
        return self.connection(record)

    async def sync(
        self,
        connection_id: str,
        *,
        full: bool = False,
        download_attachments: bool | None = None,
        exclude_closed_tickets: bool | None = None,
        progress: Callable[[str, Any], None] | None = None,
        on_failure: Callable[[RunReport], None] | None = None,
        notice: Callable[[str], None] | None = None,
    ) -> RunReport:
        """Run one sync of the stored connection with :func:`zensync.sync.runner.run_sync`."""
        return await run_sync(
            self.store,
            self.resolve(connection_id),
            full=full,
            attachments=download_attachments,
            exclude_closed_tickets=exclude_closed_tickets,
            progress=progress,
            on_failure=on_failure,
            notice=notice,
            transport=self.transport,
            client_options=self.client_options,
        )

    # ------------------------------------------------------------------------------ removing

    async def disconnect(self, id_or_name: str, *, purge: bool = False) -> DisconnectResult:
        """Revoke Zendesk access and forget the credentials; the synced data stays unless ``purge``.

        Revocation goes through the connection's own auth (an expired access token is refreshed
        first, so the grant really ends). A token Zendesk already rejects counts as revoked.
        """
        record = self.get(id_or_name)
        revoked, revoke_error = False, None
        if record.status != "pending_auth" and record.auth_kind == "oauth" and record.secrets_encrypted:
            try:
                connection = self.connection(record)
                async with ZendeskClient(
                    connection.config, connection.auth, transport=self.transport, **self.client_options
                ) as client:
                    await client.request_json("DELETE", oauth.REVOKE_PATH)
                revoked = True
            except ZendeskError as exc:
                if exc.status == 401 or isinstance(exc, TokenRefreshError):
                    revoked = True  # nothing left to revoke: the grant is already gone
                else:
                    revoke_error = str(exc)
            except ConnectionProblem as exc:
                revoke_error = str(exc)
        try:
            self.store.delete_connection(record.id, purge_data=purge)
        except StoreError as exc:
            raise ConnectionProblem(str(exc), status=500) from exc
        return DisconnectResult(record.id, revoked=revoked, purged=purge, revoke_error=revoke_error)


def _chosen(given: bool | None, otherwise: bool) -> bool:
    return otherwise if given is None else given


def _not_admin(user: Mapping[str, Any]) -> Explanation | None:
    """Incremental exports are "Allowed For: Admins" (api-reference.md, "Incremental Exports")."""
    role = user.get("role")
    if role in (None, "admin"):
        return None
    who = user.get("email") or user.get("name") or "the user"
    return Explanation(
        kind="not_admin",
        title="Connected as a non-admin user",
        cause=f"consent was given by {who} (role {role}); zensync reads the incremental exports, which "
        "Zendesk allows for admins only.",
        fixes=("Reconnect and approve on Zendesk's page while signed in as an admin of the account.",),
        needs_reauth=True,
    )


__all__ = [
    "ConnectionDetail",
    "ConnectionManager",
    "ConnectionNotFound",
    "ConnectionProblem",
    "DisconnectResult",
    "StartedAuthorization",
    "StoredSecrets",
    "connection_id_for",
]
