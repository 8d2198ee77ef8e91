"""What every part of the simulated account shares: id ranges, enumerations, seeds, errors.

Ids of each object type live in their own range, so an id used as the wrong type never
resolves by accident. ``mix`` turns (seed, kind, object id) into a per-object random seed:
the basis of rendering any object on demand without storing it.
"""

from __future__ import annotations

import time
from typing import Any

JSON = dict[str, Any]

DAY = 86400
# "About archived tickets": closed tickets are archived 120 days after they were closed.
ARCHIVE_AFTER = 120 * DAY
# "Ticket Comments": a ticket holds at most 5,000 comments.
MAX_COMMENTS_PER_TICKET = 5000

# Id ranges per object type, so an id used as the wrong type never resolves by accident.
ORG_BASE = 360_000_000_000
USER_BASE = 370_000_000_000
GROUP_BASE = 380_000_000_000
COMMENT_BASE = 390_000_000_000
AUDIT_BASE = 400_000_000_000
ATTACHMENT_BASE = 410_000_000_000  # + comment index * 8 + slot (0-3 files, 4-7 thumbnails)
FIELD_BASE = 450_000_000_000
RATING_BASE = 460_000_000_000
BRAND_ID = 470_000_000_001  # the default brand
BILLING_BRAND_ID = 470_000_000_002  # a second brand, with a form of its own, for part of the tickets
TICKET_FORM_ID = 480_000_000_001  # the default form
BILLING_FORM_ID = 480_000_000_002
CUSTOM_STATUS_BASE = 490_000_000_000
WRITTEN_AUDIT_BASE = AUDIT_BASE + 50_000_000_000
TRIGGER_BASE = 500_000_000_000
AUTOMATION_BASE = 510_000_000_000
MACRO_BASE = 520_000_000_000

STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
STATUS_WEIGHTS = (5, 20, 10, 5, 25, 35)
TICKET_TYPES = (None, "question", "incident", "problem", "task")
TYPE_WEIGHTS = (25, 40, 20, 5, 10)
PRIORITIES = (None, "low", "normal", "high", "urgent")
PRIORITY_WEIGHTS = (20, 20, 40, 15, 5)
ROLES = ("end-user", "agent", "admin")

T_DELETED = 1
T_ARCHIVED = 2
U_NO_EMAIL = 1
U_SUSPENDED = 2
U_DELETED = 4
O_DELETED = 1

_MASK = (1 << 64) - 1


def mix(*key: int) -> int:
    """SplitMix64 over a tuple of integers: a cheap, well-spread per-object seed."""
    s = 0x9E3779B97F4A7C15
    for k in key:
        s = ((s ^ (k & _MASK)) + 0x9E3779B97F4A7C15) & _MASK
        z = s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        s = z ^ (z >> 31)
    return s


def iso(ts: float) -> str:
    """Zendesk's timestamp format: ISO 8601, UTC, whole seconds, ``Z`` suffix."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


class RecordNotFound(Exception):
    """No live object with that id (Zendesk answers 404 RecordNotFound)."""


class RecordInvalid(Exception):
    """A write failed validation (Zendesk answers 422 RecordInvalid with ``details``)."""

    def __init__(self, description: str, details: dict[str, list[JSON]]) -> None:
        super().__init__(description)
        self.description = description
        self.details = details


def escape_html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
