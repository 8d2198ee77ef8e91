"""What a sync run did, as data (``to_dict``, stored in ``sync_runs.report``) and as a table.

Counts come from the run's progress as committed with each page, so a run that was killed
and resumed reports exactly what happened across all its attempts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from rich.table import Table

from zensync.store.base import PageCounts

_TYPE_LABELS = {
    "organization": "organizations",
    "user": "users",
    "ticket": "tickets",
    "comment": "comments",
    "attachment": "attachments",
}


MAX_LISTED = 50  # failed downloads kept in a report
MAX_SHOWN = 5  # ... and shown in its table


@dataclass
class AttachmentCounts:
    """What happened to attachment bytes (only when downloads are enabled)."""

    downloaded: int = 0
    bytes: int = 0
    reused: int = 0  # already stored from an earlier run: not downloaded again
    skipped_malware: int = 0
    skipped_too_large: int = 0
    failed: int = 0  # recorded as failed in the store; a later run tries again
    retried: int = 0  # failed in an earlier run and tried again in this one (fresh link)

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> AttachmentCounts:
        fields = cls.__dataclass_fields__
        return cls(**{k: int(v) for k, v in (data or {}).items() if k in fields})

    def add(self, other: AttachmentCounts) -> AttachmentCounts:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self


@dataclass
class RunReport:
    """The outcome of one sync run (one row of ``sync_runs``)."""

    run_id: int
    connection_id: str
    mode: str
    status: str
    started_at: datetime
    finished_at: datetime | None = None
    duration_seconds: float = 0.0
    pages: int = 0
    counts: PageCounts = field(default_factory=PageCounts)
    requests_by_bucket: dict[str, int] = field(default_factory=dict)
    rate_limited: int = 0
    retries: int = 0
    attachments: AttachmentCounts = field(default_factory=AttachmentCounts)
    resumed: bool = False
    error: str | None = None
    # Attachments whose bytes could not be downloaded: {"attachment_id", "ticket_id",
    # "file_name", "error"}; the first MAX_LISTED failures (all are counted and stored).
    failed_downloads: list[dict[str, Any]] = field(default_factory=list)

    @property
    def requests(self) -> int:
        """Requests to the account's plan budget (``account`` bucket), else all buckets' sum."""
        if "account" in self.requests_by_bucket:
            return self.requests_by_bucket["account"]
        return sum(self.requests_by_bucket.values())

    @property
    def requests_sent(self) -> int:
        """Every request counted once: each API request draws on ``account`` (and perhaps on
        a narrower bucket too), a file download on ``attachments-download`` alone."""
        if "account" not in self.requests_by_bucket:
            return sum(self.requests_by_bucket.values())
        return self.requests_by_bucket["account"] + self.requests_by_bucket.get("attachments-download", 0)

    @property
    def changed(self) -> int:
        return self.counts.changed

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "connection_id": self.connection_id,
            "mode": self.mode,
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "duration_seconds": round(self.duration_seconds, 3),
            "pages": self.pages,
            "counts": self.counts.to_dict(),
            "totals": {
                "inserted": self.counts.total("inserted"),
                "updated": self.counts.total("updated"),
                "unchanged": self.counts.total("unchanged"),
                "deleted": self.counts.total("deleted"),
            },
            "requests_by_bucket": dict(self.requests_by_bucket),
            "rate_limited": self.rate_limited,
            "retries": self.retries,
            "attachments": self.attachments.to_dict(),
            "resumed": self.resumed,
            "error": self.error,
            "failed_downloads": list(self.failed_downloads[:MAX_LISTED]),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunReport:
        finished = data.get("finished_at")
        return cls(
            run_id=int(data["run_id"]),
            connection_id=str(data["connection_id"]),
            mode=str(data["mode"]),
            status=str(data["status"]),
            started_at=datetime.fromisoformat(data["started_at"]),
            finished_at=datetime.fromisoformat(finished) if finished else None,
            duration_seconds=float(data.get("duration_seconds", 0.0)),
            pages=int(data.get("pages", 0)),
            counts=PageCounts.from_dict(data.get("counts")),
            requests_by_bucket={str(k): int(v) for k, v in (data.get("requests_by_bucket") or {}).items()},
            rate_limited=int(data.get("rate_limited", 0)),
            retries=int(data.get("retries", 0)),
            attachments=AttachmentCounts.from_dict(data.get("attachments")),
            resumed=bool(data.get("resumed", False)),
            error=data.get("error"),
            failed_downloads=[dict(f) for f in data.get("failed_downloads") or []],
        )

    def summary(self) -> str:
        """One line for logs and notifications."""
        c = self.counts
        return (
            f"{self.mode} sync #{self.run_id} of {self.connection_id} {self.status}: "
            f"{c.total('inserted')} inserted, {c.total('updated')} updated, "
            f"{c.total('unchanged')} unchanged, {c.total('deleted')} deleted in {self.pages} pages, "
            f"{self.duration_seconds:.1f}s, {self.requests_sent} requests, "
            f"{self.rate_limited} rate-limited, {self.retries} retries"
        )

    def render(self) -> Table:
        """A Rich table: one row per entity type, then the request and attachment figures."""
        title = f"{self.mode.capitalize()} sync #{self.run_id} of {self.connection_id}: {self.status}"
        if self.resumed:
            title += " (resumed)"
        table = Table(title=title, title_justify="left")
        table.add_column("", style="bold")
        for name in ("inserted", "updated", "unchanged", "deleted"):
            table.add_column(name, justify="right")
        for entity_type, counts in self.counts.items():
            table.add_row(
                _TYPE_LABELS.get(entity_type, entity_type),
                f"{counts.inserted:,}",
                f"{counts.updated:,}",
                f"{counts.unchanged:,}",
                f"{counts.deleted:,}",
            )
        table.add_section()
        table.add_row(
            "total",
            f"{self.counts.total('inserted'):,}",
            f"{self.counts.total('updated'):,}",
            f"{self.counts.total('unchanged'):,}",
            f"{self.counts.total('deleted'):,}",
            style="bold",
        )
        buckets = (
            ", ".join(f"{k} {v:,}" for k, v in sorted(self.requests_by_bucket.items())) or "none counted"
        )
        lines = [
            f"{self.pages:,} pages in {self.duration_seconds:.1f}s",
            f"requests: {buckets}; 429s: {self.rate_limited:,}; retries: {self.retries:,}",
        ]
        a = self.attachments
        if a.downloaded or a.reused or a.skipped_malware or a.skipped_too_large or a.failed:
            lines.append(
                f"attachment files: {a.downloaded:,} downloaded ({a.bytes:,} bytes), {a.reused:,} already "
                f"stored, {a.skipped_malware:,} skipped (malware), {a.skipped_too_large:,} skipped (too "
                f"large), {a.failed:,} failed"
                + (f" ({a.retried:,} retried from earlier runs)" if a.retried else "")
            )
        for failure in self.failed_downloads[:MAX_SHOWN]:
            lines.append(
                f"not downloaded: {failure.get('file_name') or 'attachment'} (attachment "
                f"{failure.get('attachment_id')}, ticket {failure.get('ticket_id')}): {failure.get('error')}"
                " — the next sync tries again"
            )
        if a.failed > MAX_SHOWN:
            lines.append(f"… and {a.failed - MAX_SHOWN:,} more not downloaded (tried again next sync)")
        if self.error:
            lines.append(f"error: {self.error}")
        table.caption = "\n".join(lines)
        table.caption_justify = "left"
        return table
