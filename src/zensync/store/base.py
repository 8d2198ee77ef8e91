"""The store's public value types: counts, search hits, stored records and errors.

They are plain dataclasses so that the CLI, the web service and the sync engine can use them
without touching SQLAlchemy, and so that they convert to JSON with ``to_dict()``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

from zensync.entities import ENTITY_TYPES, EntityType, ZendeskAttachmentEntity

RunMode = Literal["full", "incremental"]
RunStatus = Literal["running", "succeeded", "failed", "interrupted"]
AuthKind = Literal["oauth", "api_token", "access_token"]
ConnectionStatus = Literal["pending_auth", "active", "needs_reauth", "error"]

RUN_MODES: tuple[str, ...] = get_args(RunMode)
RUN_STATUSES: tuple[str, ...] = get_args(RunStatus)
AUTH_KINDS: tuple[str, ...] = get_args(AuthKind)
CONNECTION_STATUSES: tuple[str, ...] = get_args(ConnectionStatus)


class StoreError(Exception):
    """Base of the store's errors; the message always says what to do about it."""


class SyncAlreadyRunning(StoreError):
    """A second sync of the same connection was refused while the first still holds the lock."""

    def __init__(self, connection_id: str, detail: str = "") -> None:
        self.connection_id = connection_id
        message = f"A sync of connection {connection_id!r} is already running"
        if detail:
            message += f" ({detail})"
        message += "; wait for it to finish (or stop that process) and try again."
        super().__init__(message)


class ConnectionNotFound(StoreError, KeyError):
    """No connection with that id exists."""

    def __init__(self, connection_id: str) -> None:
        self.connection_id = connection_id
        super().__init__(
            f"No connection {connection_id!r} in this store; list them with `zensync connections` "
            "or create one first."
        )

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0])


# ---------------------------------------------------------------------------------------------
# Counts


@dataclass
class TypeCounts:
    """What a page (or a run) did to one entity type."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0

    @property
    def seen(self) -> int:
        """Entities received from the source (whatever their outcome)."""
        return self.inserted + self.updated + self.unchanged

    @property
    def changed(self) -> int:
        return self.inserted + self.updated + self.deleted

    def add(self, other: TypeCounts) -> None:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.deleted += other.deleted

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class PageCounts:
    """Counts per entity type, for one page or accumulated over a run.

    Every entity type is always present (zero when untouched), so readers never need defaults.
    """

    types: dict[EntityType, TypeCounts] = field(
        default_factory=lambda: {t: TypeCounts() for t in ENTITY_TYPES}
    )
    # SHA-256s of attachment files a page stopped referring to (deleted or changed attachments,
    # e.g. one redacted): Store.release_blobs removes those no other row refers to.
    released_blobs: set[str] = field(default_factory=set, compare=False)

    def __getitem__(self, entity_type: EntityType) -> TypeCounts:
        return self.types[entity_type]

    def __iter__(self) -> Iterator[EntityType]:
        return iter(self.types)

    def items(self) -> Iterator[tuple[EntityType, TypeCounts]]:
        return iter(self.types.items())

    def add(self, other: PageCounts) -> PageCounts:
        for entity_type, counts in other.items():
            self.types[entity_type].add(counts)
        return self

    def total(self, what: Literal["inserted", "updated", "unchanged", "deleted", "seen"]) -> int:
        return sum(getattr(c, what) for c in self.types.values())

    @property
    def changed(self) -> int:
        return sum(c.changed for c in self.types.values())

    def to_dict(self) -> dict[str, dict[str, int]]:
        return {t: c.to_dict() for t, c in self.types.items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Mapping[str, int]] | None) -> PageCounts:
        counts = cls()
        for entity_type, values in (data or {}).items():
            if entity_type in counts.types:
                counts.types[entity_type] = TypeCounts(
                    **{k: int(v) for k, v in values.items() if k in TypeCounts.__dataclass_fields__}
                )
        return counts


# ---------------------------------------------------------------------------------------------
# Search

# Private-use characters mark matches inside snippets between the database and Python: they
# never occur in Zendesk text, so the snippet can be HTML-escaped safely before the marks
# become <mark> tags.
MATCH_START = "\ue000"
MATCH_END = "\ue001"
_MARK_RE = re.compile(r"<mark>(.*?)</mark>", re.DOTALL)


def snippet_to_html(raw: str) -> str:
    """Escape a database snippet and turn its match markers into ``<mark>`` tags."""
    escaped = html.escape(raw.replace("\n", " "), quote=False)
    return escaped.replace(MATCH_START, "<mark>").replace(MATCH_END, "</mark>")


@dataclass(frozen=True)
class SearchHit:
    """One search result.

    ``snippet`` is HTML-safe: the text is escaped and the matched words are wrapped in
    ``<mark>…</mark>``, so a web page can insert it as is; ``snippet_parts`` gives the same
    as (text, matched) pairs for terminals. ``score``: higher is better (bm25 on SQLite,
    ts_rank on PostgreSQL, so only comparable within one backend). ``ticket_id`` is the ticket
    a ticket, comment or attachment belongs to (None for users and organizations).
    """

    entity_type: EntityType
    entity_id: str
    id: int
    name: str
    snippet: str
    web_url: str | None
    score: float
    ticket_id: int | None
    connection_id: str = ""

    @property
    def snippet_parts(self) -> list[tuple[str, bool]]:
        parts: list[tuple[str, bool]] = []
        position = 0
        for match in _MARK_RE.finditer(self.snippet):
            if match.start() > position:
                parts.append((html.unescape(self.snippet[position : match.start()]), False))
            parts.append((html.unescape(match.group(1)), True))
            position = match.end()
        if position < len(self.snippet):
            parts.append((html.unescape(self.snippet[position:]), False))
        return parts

    @property
    def snippet_text(self) -> str:
        return "".join(text for text, _ in self.snippet_parts)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["snippet_text"] = self.snippet_text
        return data


# ---------------------------------------------------------------------------------------------
# Stored records


@dataclass(frozen=True)
class ConnectionRecord:
    """A source connection: which account, how to authenticate, and its state.

    ``secrets_encrypted`` is ciphertext produced by the caller (zensync.secret_box); the store
    neither sees nor logs plaintext secrets.
    """

    id: str
    name: str
    subdomain: str
    base_url: str | None
    exclude_closed_tickets: bool
    auth_kind: AuthKind
    client_id: str | None
    secrets_encrypted: str | None
    token_expires_at: datetime | None
    status: ConnectionStatus
    status_detail: str | None
    sync_interval_seconds: int | None
    created_at: datetime
    updated_at: datetime
    last_sync_at: datetime | None
    mcp_public_only: bool = False

    def __repr__(self) -> str:  # never print the ciphertext either
        return (
            f"ConnectionRecord(id={self.id!r}, name={self.name!r}, subdomain={self.subdomain!r}, "
            f"auth_kind={self.auth_kind!r}, status={self.status!r})"
        )


@dataclass(frozen=True)
class RunRecord:
    """One row of ``sync_runs``."""

    id: int
    connection_id: str
    mode: RunMode
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None
    report: dict[str, Any] | None
    progress: dict[str, Any] | None
    error: str | None


@dataclass(frozen=True)
class OAuthStateRecord:
    """A pending OAuth consent: the hashed ``state`` and the encrypted PKCE verifier etc."""

    state_hash: str
    connection_id: str
    payload_encrypted: str
    redirect_uri: str
    expires_at: datetime
    used_at: datetime | None

    def __repr__(self) -> str:
        return (
            f"OAuthStateRecord(connection_id={self.connection_id!r}, redirect_uri={self.redirect_uri!r}, "
            f"expires_at={self.expires_at!r}, used_at={self.used_at!r})"
        )


@dataclass(frozen=True)
class FailedDownload:
    """An attachment whose bytes could not be downloaded: the stored entity, why, how often."""

    attachment: ZendeskAttachmentEntity
    error: str
    attempts: int
