"""The source's cursor: a typed, versioned record of where every stream stands.

A page's cursor is :class:`SourceCursor` dumped to JSON-able data (``version`` 2). What is in
it, and why each part is enough to resume without loss (docs/design.md, "Source"):

``phase``
    ``start`` (nothing read yet this run), ``survey`` (a first run's survey of the ticket
    stream), ``tickets`` (everything else, at once) or ``done``.
``organizations`` / ``users`` / ``tickets``
    each export's position; ``organizations_done`` / ``users_done`` say whether this run has
    read those exports to their end.
``pending``
    the ids of tickets already emitted whose comments are still owed. Ids only: their names
    (the comments' breadcrumbs) are looked up again if a run resumes.
``survey`` / ``bulk``
    the survey's tallies, and the event stream's position, end (``until``) and the tickets in
    its scope (a one-bit-per-id bitmap, compressed).
``settled_before``
    after a survey, the ``generated_timestamp`` below which a ticket of the re-read has not
    changed since the survey emitted it (only its comments are then owed); absent in cursors
    written before it existed, which then build every ticket again as before.

Cursors written before version 2 (a plain dict with ``version: 1``, stored by earlier zensync
releases in existing databases) are read by :func:`load_cursor` and resume where they stood.
"""

from __future__ import annotations

import base64
import zlib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .paging import ExportPosition, TimePosition

__all__ = [
    "CURSOR_VERSION",
    "Bitmap",
    "BulkState",
    "InvalidCursor",
    "SourceCursor",
    "SurveyState",
    "load_cursor",
]

CURSOR_VERSION: Literal[2] = 2

Phase = Literal["start", "survey", "tickets", "done"]


class InvalidCursor(ValueError):
    """The cursor given to :meth:`ZendeskSource.generate_entities` is not one this source wrote."""


class Bitmap:
    """A set of non-negative ints at one bit each: which ticket ids are in scope.

    Ticket ids are an account's own sequence, so the bitmap is about (tickets ever created)/8
    bytes: 125 kB for a million tickets. It travels in the cursor compressed.
    """

    def __init__(self, data: bytes | bytearray = b"") -> None:
        self._bits = bytearray(data)

    def add(self, n: int) -> None:
        byte = n >> 3
        if byte >= len(self._bits):
            self._bits.extend(b"\0" * (byte + 1 - len(self._bits)))
        self._bits[byte] |= 1 << (n & 7)

    def discard(self, n: int) -> None:
        byte = n >> 3
        if byte < len(self._bits):
            self._bits[byte] &= ~(1 << (n & 7)) & 0xFF

    def __contains__(self, n: object) -> bool:
        if not isinstance(n, int) or n < 0:
            return False
        byte = n >> 3
        return byte < len(self._bits) and bool(self._bits[byte] & (1 << (n & 7)))

    def __len__(self) -> int:
        return sum(b.bit_count() for b in self._bits)

    def capacity(self) -> int:
        """How many ids the bitmap spans (its size in bits)."""
        return len(self._bits) * 8

    def encode(self) -> str:
        return base64.b64encode(zlib.compress(bytes(self._bits), 9)).decode("ascii")

    @classmethod
    def decode(cls, text: str) -> Bitmap:
        try:
            return cls(zlib.decompress(base64.b64decode(text.encode("ascii"), validate=True)))
        except (ValueError, zlib.error) as exc:
            raise InvalidCursor("The cursor's ticket bitmap is damaged; start a full sync again.") from exc


class SurveyState(ExportPosition):
    """A first run's survey of the ticket stream: its position and what the plan needs."""

    histogram: dict[str, list[int]] = Field(default_factory=dict)  # day -> [tickets, comment requests]
    comment_days: dict[str, float] = Field(default_factory=dict)  # day -> comments a day (differences)
    in_scope: str = Field(default_factory=lambda: Bitmap().encode())
    max_g: int = 0
    uncounted: bool = False  # some ticket came without a comment_count


class BulkState(TimePosition):
    """The event stream's position (``ticket_events?include=comment_events``) and its scope."""

    until: int
    in_scope: str
    events: list[int] | None = None  # [events read, events estimated]


class SourceCursor(BaseModel):
    """Where a run of :class:`ZendeskSource` stands (see the module docstring)."""

    model_config = ConfigDict(extra="ignore")

    version: Literal[2] = CURSOR_VERSION
    phase: Phase = "start"
    organizations: TimePosition = Field(default_factory=TimePosition)
    organizations_done: bool = False
    users: ExportPosition = Field(default_factory=ExportPosition)
    users_done: bool = False
    tickets: ExportPosition = Field(default_factory=ExportPosition)
    pending: list[int] = Field(default_factory=list)
    survey: SurveyState | None = None
    surveyed: bool = False
    bulk: BulkState | None = None
    per_ticket_progress: list[int] | None = None  # [comment requests made, planned]
    # After a survey: tickets of the re-read whose generated_timestamp is below this were
    # emitted by the survey as they are, and only their comments are owed (None: build all).
    settled_before: int | None = None

    def dump(self) -> dict[str, Any]:
        """The JSON-able form a page carries (and the store keeps)."""
        return self.model_dump(mode="json")


_FULL_SYNC = "run a full sync (drop the saved cursor, e.g. `zensync sync --full`)."


def load_cursor(raw: Any) -> SourceCursor:
    """A cursor from what a page carried: this version's, or an earlier version's upgraded."""
    if not raw:
        return SourceCursor()
    if not isinstance(raw, dict) or raw.get("version") not in (1, CURSOR_VERSION):
        raise InvalidCursor(
            f"The saved cursor was not written by this version of zensync's Zendesk source; {_FULL_SYNC}"
        )
    try:
        return SourceCursor.model_validate(_from_v1(raw) if raw["version"] == 1 else raw)
    except (ValidationError, TypeError, ValueError, KeyError, IndexError) as exc:
        if isinstance(exc, InvalidCursor):
            raise
        raise InvalidCursor(f"The saved cursor is damaged or names an unknown phase; {_FULL_SYNC}") from exc


def _from_v1(old: dict[str, Any]) -> dict[str, Any]:
    """Version 1 (zensync ≤ 0.x: an 11-key dict) as version 2.

    Differences: boundary keys of the time-based exports are strings (``"id|updated_at"`` for
    organizations, the event id for events); ``pending`` holds ticket ids without names; the
    phases ``organizations`` and ``users`` (written before those exports ran alongside the
    tickets) are ``start``.
    """
    phase = old.get("phase")
    if phase not in ("organizations", "users", "survey", "tickets", "done"):
        raise InvalidCursor(f"The saved cursor names an unknown phase {phase!r}; {_FULL_SYNC}")
    orgs = dict(old.get("organizations") or {})
    orgs["boundary"] = [f"{k[0]}|{k[1]}" for k in orgs.get("boundary") or []]
    new: dict[str, Any] = {
        "version": CURSOR_VERSION,
        "phase": "start" if phase in ("organizations", "users") else phase,
        "organizations": orgs,
        # Cursors written before organizations and users ran alongside the tickets: those
        # streams were finished once the run had moved past their phase.
        "organizations_done": old.get("organizations_done", phase not in ("organizations", "done")),
        "users_done": old.get("users_done", phase not in ("organizations", "users", "done")),
        "users": old.get("users") or {},
        "tickets": old.get("tickets") or {},
        "pending": [int(p[0]) for p in old.get("pending") or []],
        "survey": old.get("survey"),
        "surveyed": bool(old.get("surveyed")),
        "per_ticket_progress": old.get("per_ticket_progress"),
    }
    bulk = old.get("bulk")
    if bulk is not None:
        new["bulk"] = {**bulk, "boundary": [str(i) for i in bulk.get("boundary") or []]}
    return new
