"""One way to run a sync: every entry point (``zensync sync``, the service's jobs, ``zensync demo``,
:meth:`zensync.connections.ConnectionManager.sync` and the library's :func:`zensync.sync`) calls
:func:`run_sync` with one resolved :class:`Connection`.

A :class:`Connection` is the same value whether its credentials were given directly (options,
environment, a program: :meth:`Connection.from_api_token`, :meth:`Connection.from_access_token`)
or come from a connection stored by ``zensync connect`` / the web page
(:meth:`zensync.connections.ConnectionManager.resolve`, which builds it with
:meth:`Connection.from_oauth` or :meth:`Connection.from_api_token` and passes itself as the
``keeper``). The runner owns everything around :class:`~zensync.sync.engine.SyncEngine`:

- the options, each applied (or refused with a message) here and nowhere else:
  ``full``, ``attachments`` and ``exclude_closed_tickets`` (see :func:`run_sync`);
- the credential check: one ``users/me`` read (:mod:`zensync.zendesk.account`) before anything
  is written, so a typo creates nothing;
- client and source assembly (:func:`open_source` is the same assembly without a store);
- token persistence: an OAuth connection's rotated refresh token goes to its keeper before the
  new access token is used (:class:`~zensync.zendesk.auth.OAuthTokenAuth` guarantees the order);
- ``needs_reauth``: a lasting credential failure of a stored connection is recorded on it;
- memory: the C heap's free pages are handed back to the system every second;
- progress callbacks, and the partial report when a run fails (``on_failure``) — the engine has
  stored it with the run as well, and the next run resumes from the last committed page.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from zensync.config import ZendeskConfig
from zensync.store import StoreError
from zensync.sync.engine import ProgressCallback, SyncEngine
from zensync.sync.report import RunReport
from zensync.zendesk import account, oauth
from zensync.zendesk.auth import ApiTokenAuth, BearerAuth, OAuthTokenAuth, TokenSet, ZendeskAuth
from zensync.zendesk.client import DEFAULT_MAX_RETRIES, DEFAULT_MAX_TOTAL_WAIT, ZendeskClient
from zensync.zendesk.errors import ZendeskError

if TYPE_CHECKING:
    from zensync.source import ZendeskSource
    from zensync.store import Store
    from zensync.zendesk.oauth import Explanation

log = logging.getLogger(__name__)

__all__ = [
    "AttachmentStorageMissing",
    "Connection",
    "CredentialKeeper",
    "OAuthGrant",
    "check_credentials",
    "open_source",
    "run_sync",
]

# How often a sync hands the C heap's free pages back to the system (see _returning_free_memory).
TRIM_INTERVAL_SECONDS = 1.0


class AttachmentStorageMissing(StoreError):
    """Attachment bytes were asked for, but the store keeps no files (PostgreSQL without a folder)."""


class CredentialKeeper(Protocol):
    """Where a stored connection's credentials and status live (the :class:`ConnectionManager`)."""

    async def save_tokens(self, connection_id: str, tokens: TokenSet) -> None:
        """Persist a rotated OAuth token pair (one transaction) before it is used."""
        ...

    def mark_needs_reauth(self, connection_id: str, problem: Explanation) -> Any:
        """Record that the stored credentials no longer work, and why; keep the data."""
        ...


@dataclass(frozen=True)
class OAuthGrant:
    """An OAuth client and the tokens it was granted (``repr`` shows no secret)."""

    client_id: str
    client_secret: str | None = field(repr=False)
    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None
    scope: str | None = None


@dataclass(frozen=True)
class Connection:
    """One Zendesk account to sync, with its credentials, resolved.

    ``id`` is the connection id rows are stored under; ``config`` the account (subdomain, base
    URL, whether closed tickets are skipped); ``auth`` the credentials as an httpx auth flow (an
    OAuth flow keeps the rotated tokens, so one value serves several runs); ``described`` says
    how the credentials were given, for messages. ``keeper`` is set for a stored connection:
    rotated tokens and ``needs_reauth`` go to it, and an option that changes a stored setting is
    saved on the connection's row.
    """

    id: str
    config: ZendeskConfig
    auth: ZendeskAuth = field(repr=False)
    described: str = ""
    keeper: CredentialKeeper | None = field(default=None, repr=False, compare=False)

    @property
    def stored(self) -> bool:
        """Whether this is a connection stored in the database (made by connect / the web page)."""
        return self.keeper is not None

    @classmethod
    def from_api_token(
        cls,
        subdomain: str,
        email: str,
        token: str,
        *,
        base_url: str | None = None,
        exclude_closed_tickets: bool = False,
        id: str | None = None,
        keeper: CredentialKeeper | None = None,
    ) -> Connection:
        """An account reached with ``{email}/token`` and an API token (Admin Center > Apps and
        integrations > APIs > Zendesk API). ``id`` defaults to the subdomain."""
        config = ZendeskConfig(
            subdomain=subdomain, base_url=base_url, exclude_closed_tickets=exclude_closed_tickets
        )
        return cls(
            id=id or config.subdomain,
            config=config,
            auth=ApiTokenAuth(email, token),
            described=f"API token of {email}",
            keeper=keeper,
        )

    @classmethod
    def from_access_token(
        cls,
        subdomain: str,
        token: str,
        *,
        base_url: str | None = None,
        exclude_closed_tickets: bool = False,
        id: str | None = None,
    ) -> Connection:
        """An account reached with a fixed OAuth bearer token (one that does not expire)."""
        config = ZendeskConfig(
            subdomain=subdomain, base_url=base_url, exclude_closed_tickets=exclude_closed_tickets
        )
        return cls(id=id or config.subdomain, config=config, auth=BearerAuth(token), described="access token")

    @classmethod
    def from_oauth(
        cls, id: str, config: ZendeskConfig, grant: OAuthGrant, keeper: CredentialKeeper | None
    ) -> Connection:
        """An account reached with OAuth tokens that refresh themselves; rotated pairs go to
        ``keeper.save_tokens`` before use (without a keeper they live only in memory)."""

        async def save(tokens: TokenSet) -> None:
            if keeper is not None:
                await keeper.save_tokens(id, tokens)

        auth = OAuthTokenAuth(
            token_url=config.api_base + oauth.TOKEN_PATH,
            client_id=grant.client_id,
            client_secret=grant.client_secret,
            access_token=grant.access_token,
            refresh_token=grant.refresh_token,
            expires_at=grant.expires_at,
            on_tokens=save,
            refresh_expires_at=grant.refresh_expires_at,
            scope=grant.scope,
        )
        return cls(id=id, config=config, auth=auth, described="OAuth", keeper=keeper)


# ---------------------------------------------------------------------------------------------
# Assembly


def _client(
    config: ZendeskConfig,
    connection: Connection,
    transport: httpx.AsyncBaseTransport | None,
    options: Mapping[str, Any] | None,
) -> ZendeskClient:
    return ZendeskClient(config, connection.auth, transport=transport, **dict(options or {}))


async def check_credentials(
    connection: Connection,
    *,
    require_admin: bool = True,
    transport: httpx.AsyncBaseTransport | None = None,
) -> dict[str, Any]:
    """The connecting user (``users/me``), checked with one quick request before anything else.

    A short retry budget here makes a wrong host or a closed port fail in seconds; the sync
    itself uses the client's full retry policy. 429s are waited out like any other request's
    (their own budget, the client's default). With ``require_admin`` a non-admin is refused
    (the incremental exports are admin-only).
    """
    async with ZendeskClient(
        connection.config,
        connection.auth,
        max_retries=1,
        max_total_wait=5.0,
        rate_limit_retries=DEFAULT_MAX_RETRIES,
        rate_limit_wait=DEFAULT_MAX_TOTAL_WAIT,
        timeout=15.0,
        transport=transport,
    ) as probe:
        user = await account.connecting_user(probe)
    return account.require_admin(user) if require_admin else user


@contextlib.asynccontextmanager
async def open_source(
    connection: Connection,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    client_options: Mapping[str, Any] | None = None,
    **source_options: Any,
) -> AsyncIterator[ZendeskSource]:
    """A :class:`~zensync.source.ZendeskSource` for the account, with its client open.

    For programs that want the entities without a store: iterate
    ``source.generate_entities(cursor)`` and keep each page's ``cursor`` to resume later.
    """
    from zensync.source import ZendeskSource

    async with _client(connection.config, connection, transport, client_options) as client:
        yield ZendeskSource(client, connection.config, **source_options)


# ---------------------------------------------------------------------------------------------
# Memory


@functools.cache
def _glibc() -> Any | None:
    """The C library when it is glibc (``malloc_trim``/``mallopt``), else None (macOS, Windows, musl)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        libc = ctypes.CDLL(None)
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    except (OSError, AttributeError):
        return None
    return libc


def _malloc_trim() -> Callable[[], object] | None:
    """glibc's ``malloc_trim(0)``, or None where there is none."""
    libc = _glibc()
    return None if libc is None else (lambda: libc.malloc_trim(0))


_M_ARENA_MAX = -8  # glibc's malloc.h


def _share_one_heap() -> None:
    """Let every thread allocate from one glibc arena (``mallopt(M_ARENA_MAX, 1)``).

    By default each thread that allocates gets an arena of its own (up to eight per core): the
    store's and the downloads' worker threads then each keep a heap sized to the largest page
    they handled, and a freed megabyte in one cannot serve another. Measured, the gain is
    small: 3 MB at 1,000 tickets and 1.3 MB at 10,000 in back-to-back runs, no slower
    (bench/README.md, "Memory, continued"). It applies to threads that allocate for the first
    time after the call, and lasts for the process.
    """
    libc = _glibc()
    if libc is not None:
        libc.mallopt(_M_ARENA_MAX, 1)


async def _returning_free_memory(interval: float = TRIM_INTERVAL_SECONDS) -> None:
    """Every ``interval`` seconds, give the C heap's free pages back to the system.

    A sync parses megabyte pages and frees them on several threads (the event loop, the store's
    and the downloads' worker threads), which leaves tens of MB
    free but mapped inside the arenas; glibc returns only the top of each heap by itself.
    ``malloc_trim`` returns the free pages from the middle too (a few ms, on a worker thread).
    """
    trim = _malloc_trim()
    if trim is None:
        return
    while True:
        await asyncio.sleep(interval)
        await asyncio.to_thread(trim)


# ---------------------------------------------------------------------------------------------
# The run


def _downloads(store: Store, attachments: bool | None) -> bool:
    """Whether to download attachment bytes: True needs a folder for them, None means "if the
    store keeps files", False never."""
    if attachments is None:
        return store.blobs.configured
    if attachments and not store.blobs.configured:
        raise AttachmentStorageMissing(
            f"{store.describe()} keeps no files, so attachment bytes need a folder — pass --blob-dir DIR "
            "($ZENSYNC_BLOB_DIR), or --no-attachments to keep attachment metadata only"
        )
    return attachments


def _closed_tickets(
    store: Store, connection: Connection, exclude: bool | None
) -> tuple[ZendeskConfig, bool, str | None]:
    """The account config to sync with, whether the run must be full, and a notice for the user.

    A stored connection keeps "skip closed tickets" as a setting: an option that changes it is
    saved on the connection, and that run is full, since the copy must gain the closed tickets it
    skipped (or lose those it holds); later runs, the service's included, keep the new setting.
    """
    config = connection.config
    if exclude is None or exclude == config.exclude_closed_tickets:
        return config, False, None
    config = config.model_copy(update={"exclude_closed_tickets": exclude})
    if not connection.stored:
        return config, False, None
    store.update_connection(connection.id, exclude_closed_tickets=exclude)
    notice = (
        f"Connection {connection.id!r} now {'skips' if exclude else 'includes'} closed tickets "
        f"(it {'included' if exclude else 'skipped'} them until now); this run reads everything again "
        "so the copy matches."
    )
    return config, True, notice


async def run_sync(
    store: Store,
    connection: Connection,
    *,
    full: bool = False,
    attachments: bool | None = True,
    exclude_closed_tickets: bool | None = None,
    check: bool | None = None,
    progress: ProgressCallback | None = None,
    on_failure: Callable[[RunReport], None] | None = None,
    notice: Callable[[str], None] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    client_options: Mapping[str, Any] | None = None,
    trim_memory: bool = True,
) -> RunReport:
    """Sync ``connection`` into ``store`` once; return the run report.

    - ``full``: re-read everything and remove what Zendesk no longer has (the first run always is).
    - ``attachments``: True downloads attachment bytes and refuses a store without a folder for
      them (:class:`AttachmentStorageMissing`, before anything is read); None downloads them when
      the store has a folder; False keeps attachment metadata only.
    - ``exclude_closed_tickets``: None keeps the connection's own setting; a different value is
      applied to this run and, for a stored connection, saved (and the run is then full).
    - ``check``: read ``users/me`` first (:func:`check_credentials`). None (the default) checks
      credentials given directly and not a stored connection's: those were checked when it was
      connected, and a failure during its run is recorded with the run (and its status).
    - ``progress(stream, counts)`` after every stored page; ``on_failure(report)`` with the partial
      report before a failure propagates; ``notice(text)`` for what the user should know.
    - ``trim_memory`` (glibc only): let the process's threads share one C heap and hand its free
      pages back to the system every second, which keeps a long sync's memory flat; it changes
      the allocator for the whole process, so a host program that minds may pass False.

    A credential failure that lasts (revoked grant, rejected token) marks a stored connection
    ``needs_reauth``; its data is kept. Raises what the engine raises
    (:class:`~zensync.store.SyncAlreadyRunning` when another sync of it is running).
    """
    download = _downloads(store, attachments)
    config, force_full, message = _closed_tickets(store, connection, exclude_closed_tickets)
    if message is not None:
        log.info("%s", message)
        if notice is not None:
            notice(message)
    run_connection = connection if config is connection.config else _with_config(connection, config)
    try:
        if check if check is not None else not connection.stored:
            await check_credentials(run_connection, transport=transport)
        return await _run_engine(
            store,
            run_connection,
            full=full or force_full,
            download=download,
            progress=progress,
            on_failure=on_failure,
            transport=transport,
            client_options=client_options,
            trim_memory=trim_memory,
        )
    except ZendeskError as exc:
        _record_lasting_failure(connection, exc)
        raise


def _with_config(connection: Connection, config: ZendeskConfig) -> Connection:
    return Connection(
        id=connection.id,
        config=config,
        auth=connection.auth,
        described=connection.described,
        keeper=connection.keeper,
    )


def _record_lasting_failure(connection: Connection, exc: ZendeskError) -> None:
    if connection.keeper is None:
        return
    explanation = oauth.explain_refresh_failure(exc)
    if explanation is not None and explanation.needs_reauth:
        connection.keeper.mark_needs_reauth(connection.id, explanation)
        log.warning("connection %s needs re-authorization: %s", connection.id, explanation.title)


async def _run_engine(
    store: Store,
    connection: Connection,
    *,
    full: bool,
    download: bool,
    progress: ProgressCallback | None,
    on_failure: Callable[[RunReport], None] | None,
    transport: httpx.AsyncBaseTransport | None,
    client_options: Mapping[str, Any] | None,
    trim_memory: bool,
) -> RunReport:
    from zensync.source import ZendeskSource

    trimmer: asyncio.Task[None] | None = None
    if trim_memory:
        _share_one_heap()
        trimmer = asyncio.create_task(_returning_free_memory())
    try:
        async with _client(connection.config, connection, transport, client_options) as client:
            engine = SyncEngine(
                store,
                ZendeskSource(client, connection.config),
                connection.id,
                client=client,
                download_attachments=download,
                progress=progress,
            )
            try:
                return await engine.run(full=full)
            except BaseException:
                if engine.report is not None and on_failure is not None:
                    with contextlib.suppress(Exception):
                        on_failure(engine.report)
                raise
    finally:
        if trimmer is not None:
            trimmer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await trimmer
