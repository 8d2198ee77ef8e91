"""The simulated Zendesk account: a deterministic generator plus the live, writable state.

Why it is shaped this way: the simulator must start in seconds with 100,000 tickets and
500,000 comments, so nothing is kept as JSON. Start-up draws only the facts that counts,
orderings and pagination depend on (status, timestamps, ids, comment and attachment counts)
into compact ``array`` columns, from one ``random.Random(seed)`` stream. Everything else —
names, subjects, bodies, tags, attachment names — is derived on demand from
``seed`` + object id, so rendering the same object twice gives the same JSON.

Writes (create / update / delete) materialise the touched object as a plain dict in an
overlay that wins over the generator. Timestamps of generated data lie in the past, between
two years before and ten minutes before the *anchor* (UTC midnight of the start day), so two
simulators started the same day with the same seed serve identical data. Writes stamp
wall-clock now.

Every rendered object carries every field of its schema in Zendesk's OpenAPI spec
(``TicketObject``, ``TicketCommentObject``, ``AttachmentObject``, ``UserForAdmin``,
``OrganizationObject``, ``GroupObject``), with the values Zendesk really returns — which
includes ``null`` for unset optional fields.
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
import math
import random
import re
import struct
import time
import zlib
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from .config import SimulatorConfig

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
BRAND_ID = 470_000_000_001
TICKET_FORM_ID = 480_000_000_001
CUSTOM_STATUS_BASE = 490_000_000_000
WRITTEN_AUDIT_BASE = AUDIT_BASE + 50_000_000_000

STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
STATUS_WEIGHTS = (5, 20, 10, 5, 25, 35)
TICKET_TYPES = (None, "question", "incident", "problem", "task")
TYPE_WEIGHTS = (25, 40, 20, 5, 10)
PRIORITIES = (None, "low", "normal", "high", "urgent")
PRIORITY_WEIGHTS = (20, 20, 40, 15, 5)
ROLES = ("end-user", "agent", "admin")

_T_DELETED = 1
_T_ARCHIVED = 2
_U_NO_EMAIL = 1
_U_SUSPENDED = 2
_U_DELETED = 4
_O_DELETED = 1

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


# --------------------------------------------------------------------------- word banks

FIRST_NAMES = (
    "Alice",
    "Bruno",
    "Chen",
    "Dalia",
    "Emeka",
    "Fatima",
    "Gustav",
    "Hana",
    "Ivan",
    "Jamal",
    "Keiko",
    "Lars",
    "Maya",
    "Nikolai",
    "Olga",
    "Pedro",
    "Quinn",
    "Rosa",
    "Sami",
    "Tara",
    "Umar",
    "Vera",
    "Wei",
    "Ximena",
    "Yusuf",
    "Zoe",
    "Anders",
    "Bianca",
    "Carlos",
    "Deepa",
    "Elif",
    "Farid",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Kamala",
    "Liam",
    "Mirela",
    "Noor",
)
LAST_NAMES = (
    "Anderson",
    "Becker",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Hoffmann",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quispe",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Ueda",
    "Vargas",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zhang",
    "Almeida",
    "Brennan",
    "Castillo",
    "Dimitrov",
    "Estrada",
    "Fontaine",
    "Gupta",
    "Haddad",
    "Iqbal",
    "Jovanovic",
    "Kim",
    "Larsen",
    "Mendes",
    "Novak",
)
ORG_PREFIXES = (
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Wonka",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Hooli",
    "Vandelay",
    "Massive",
    "Oscorp",
    "Gringotts",
    "Monarch",
    "Aperture",
    "Nakatomi",
    "Virtucon",
    "Dunder",
    "Pied Piper",
    "Black Mesa",
    "Bluth",
    "Prestige",
    "Sterling",
    "Wernham",
    "Krusty",
    "Duff",
    "Gekko",
    "Ollivander",
    "Zorg",
)
ORG_SUFFIXES = (
    "Corporation",
    "Industries",
    "Labs",
    "Logistics",
    "Retail",
    "Holdings",
    "Systems",
    "Foods",
    "Studios",
    "Consulting",
    "Outfitters",
    "Analytics",
    "Partners",
    "Mobility",
)
GROUP_NAMES = (
    "Support",
    "Billing",
    "Tier 2",
    "Technical Escalations",
    "Onboarding",
    "Returns",
    "Enterprise Accounts",
    "Partner Desk",
    "Security",
    "Shipping",
    "Mobile",
    "Integrations",
    "Compliance",
    "Sales Engineering",
    "Community",
    "Training",
    "Field Service",
    "Payments",
    "Warranty",
    "VIP",
)
PRODUCTS = (
    "the mobile app",
    "the web dashboard",
    "the desktop client",
    "the billing portal",
    "the reporting module",
    "the public API",
    "the Android app",
    "the iOS app",
    "the browser extension",
    "the admin console",
)
FEATURES = (
    "the export wizard",
    "single sign-on",
    "the calendar view",
    "bulk import",
    "two-factor login",
    "the search bar",
    "invoices",
    "webhooks",
    "user permissions",
    "the audit log",
    "notifications",
    "saved filters",
)
PLANS = ("Starter", "Team", "Growth", "Professional", "Enterprise")
SUBJECT_TEMPLATES = (
    "Cannot log in to {product}",
    "{Product} crashes when opening {feature}",
    "Invoice {n} shows the wrong amount",
    "Question about {feature} in {product}",
    "Password reset email never arrives",
    "Request to upgrade to the {plan} plan",
    "Export to CSV is missing columns",
    "{Feature} is very slow since yesterday",
    "Billing address change for account {n}",
    "How do I add more users to {product}?",
    "Order {n} arrived damaged",
    "API returns 500 when calling {feature}",
    "Feature request: dark mode for {product}",
    "Please cancel my subscription",
    "Two-factor codes rejected in {product}",
    "Data sync stuck at {pct}%",
    "Duplicate charge on card ending {n4}",
    "Cannot upload attachments larger than {pct} MB",
)
REQUESTER_SENTENCES = (
    "Hi, I have a problem with {product}.",
    "It started happening right after the latest update.",
    "I have attached a screenshot of the error.",
    "This is blocking our whole team, please help.",
    "I tried clearing the cache and reinstalling, but nothing changed.",
    "Could you let me know when this will be fixed?",
    "Thanks for the quick reply!",
    "The reference number is {n}.",
    "We are on the {plan} plan, if that matters.",
    "The same thing happens on a second laptop.",
    "Any update on this? It has been a few days.",
    "That worked, thank you so much.",
)
AGENT_SENTENCES = (
    "Thanks for reaching out, {first}.",
    "I have escalated this to our engineering team.",
    "Could you send us the exact error message you see?",
    "We have deployed a fix; please try again and let us know.",
    "I have issued a refund of ${amount}; it should appear within 5 business days.",
    "Please follow the steps in our help center article and reply if it persists.",
    "I am marking this ticket as solved; simply reply to reopen it.",
    "I was able to reproduce the issue on our side.",
    "Our logs show the request timed out at {n} ms.",
    "I have added {feature} to your account at no extra cost.",
)
INTERNAL_SENTENCES = (
    "Internal note: customer is on the {plan} plan, priority support applies.",
    "Internal note: possibly related to the incident from last week.",
    "Internal note: checked the billing system, the charge went through twice.",
    "Internal note: asked engineering for an ETA in the escalation channel.",
)
TAGS = (
    "vip",
    "billing",
    "bug",
    "feature_request",
    "login",
    "mobile",
    "refund",
    "urgent",
    "sla_breach",
    "churn_risk",
    "onboarding",
    "api",
    "shipping",
    "security",
    "feedback",
)
TIME_ZONES = (
    ("Eastern Time (US & Canada)", "America/New_York"),
    ("Pacific Time (US & Canada)", "America/Los_Angeles"),
    ("London", "Europe/London"),
    ("Berlin", "Europe/Berlin"),
    ("Tokyo", "Asia/Tokyo"),
    ("Sydney", "Australia/Sydney"),
    ("Sao Paulo", "America/Sao_Paulo"),
    ("UTC", "Etc/UTC"),
)
LOCALES = (("en-US", 1), ("en-GB", 5), ("de", 8), ("fr", 16), ("es", 2), ("ja", 67), ("pt-BR", 19))
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
)
LOCATIONS = (
    ("Melbourne, 07, Australia", -37.8136, 144.9631),
    ("Berlin, 16, Germany", 52.52, 13.405),
    ("Toronto, ON, Canada", 43.6532, -79.3832),
    ("Austin, TX, United States", 30.2672, -97.7431),
    ("Lisbon, 14, Portugal", 38.7223, -9.1393),
)
CUSTOM_FIELDS = (
    (FIELD_BASE + 1, "Order number"),
    (FIELD_BASE + 2, "Product area"),
    (FIELD_BASE + 3, "Region"),
)
PRODUCT_AREAS = ("product_mobile", "product_web", "product_billing", "product_api", "product_desktop")
REGIONS = ("amer", "emea", "apac")
CHANNELS = ("email", "web", "api", "mobile", "chat")
CHANNEL_WEIGHTS = (45, 35, 8, 7, 5)

# Kinds of attachment a comment may carry: (extension, content type, name stems, size range).
ATTACHMENT_KINDS: tuple[tuple[str, str, tuple[str, ...], tuple[int, int]], ...] = (
    ("pdf", "application/pdf", ("invoice", "contract", "statement", "manual", "receipt"), (1_200, 180_000)),
    ("png", "image/png", ("screenshot", "error", "photo", "diagram"), (900, 120_000)),
    ("txt", "text/plain", ("error-log", "notes", "trace", "console-output"), (120, 24_000)),
    ("csv", "text/csv", ("export", "orders", "users", "report"), (150, 60_000)),
)

# Searchable phrases seeded into every account of at least PHRASE_MIN_TICKETS tickets, so
# search tests can look them up by their exact words (listed in /_simulator/truth).
PHRASE_MIN_TICKETS = 50
PHRASE_TICKET_SUBJECT = "Refund request for order 12345"
PHRASE_COMMENT_BODY = "The flux capacitor overheated during the quarterly demo"
PHRASE_ATTACHMENT_NAME = "quarterly-report-zx81.pdf"
PHRASE_USER_NAME = "Zebulon Quartermaine"
PHRASE_ORG_NAME = "Brightwater Pelican Cooperative"
_PHRASE_TICKET_IDS = (42, 43, 44)  # subject, comment body, attachment name

_EMAIL_INDEX_RE = re.compile(r"\.u(\d+)@")


class RecordNotFound(Exception):
    """No live object with that id (Zendesk answers 404 RecordNotFound)."""


class RecordInvalid(Exception):
    """A write failed validation (Zendesk answers 422 RecordInvalid with ``details``)."""

    def __init__(self, description: str, details: dict[str, list[JSON]]) -> None:
        super().__init__(description)
        self.description = description
        self.details = details


# --------------------------------------------------------------------------- ordering


class TimeIndex:
    """Objects in the order of Zendesk's incremental exports: by (timestamp, id).

    The generated objects sit in two sorted ``array`` columns built once; objects touched
    by writes move to a small sorted log. Writes are stamped with wall-clock time, which is
    never earlier than any generated timestamp, so the export order is simply "base, then
    log", skipping base entries that a write has superseded.
    """

    def __init__(self, timestamps: Sequence[int], ids: Sequence[int]) -> None:
        order = sorted(range(len(ids)), key=lambda i: (timestamps[i], ids[i]))
        self._ts = array("q", (timestamps[i] for i in order))
        self._ids = array("q", (ids[i] for i in order))
        self._moved: dict[int, int] = {}
        self._log: list[tuple[int, int]] = []

    def touch(self, object_id: int, ts: int) -> None:
        """Record that ``object_id`` changed at ``ts`` (it moves to the end of the stream)."""
        old = self._moved.get(object_id)
        if old is not None:
            pos = bisect.bisect_left(self._log, (old, object_id))
            if pos < len(self._log) and self._log[pos] == (old, object_id):
                del self._log[pos]
        self._moved[object_id] = ts
        bisect.insort(self._log, (ts, object_id))

    def iter_after(self, key: tuple[int, int]) -> Iterator[tuple[int, int]]:
        """Entries strictly after ``key`` = (timestamp, id), in export order."""
        ts, ids, moved = self._ts, self._ids, self._moved
        n = len(ids)
        pos = bisect.bisect_right(range(n), key, key=lambda i: (ts[i], ids[i]))
        for i in range(pos, n):
            oid = ids[i]
            if oid not in moved:
                yield ts[i], oid
        start = bisect.bisect_right(self._log, key)
        yield from self._log[start:]

    def iter_before(self, key: tuple[int, int]) -> Iterator[tuple[int, int]]:
        """Entries strictly before ``key``, newest first."""
        lpos = bisect.bisect_left(self._log, key)
        for i in range(lpos - 1, -1, -1):
            yield self._log[i]
        ts, ids, moved = self._ts, self._ids, self._moved
        pos = bisect.bisect_left(range(len(ids)), key, key=lambda i: (ts[i], ids[i]))
        for i in range(pos - 1, -1, -1):
            oid = ids[i]
            if oid not in moved:
                yield ts[i], oid


class SortedIds:
    """A sorted id column with bisect access: the order of Zendesk's list endpoints (by id)."""

    def __init__(self, ids: Sequence[int]) -> None:
        self.ids = array("q", ids)

    def __len__(self) -> int:
        return len(self.ids)

    def slice(self, start: int, stop: int) -> list[int]:
        return list(self.ids[start:stop])

    def after(self, object_id: int, limit: int) -> list[int]:
        pos = bisect.bisect_right(self.ids, object_id)
        return list(self.ids[pos : pos + limit])

    def before(self, object_id: int, limit: int) -> list[int]:
        pos = bisect.bisect_left(self.ids, object_id)
        return list(self.ids[max(0, pos - limit) : pos])

    def has_after(self, object_id: int) -> bool:
        return bisect.bisect_right(self.ids, object_id) < len(self.ids)

    def has_before(self, object_id: int) -> bool:
        return bisect.bisect_left(self.ids, object_id) > 0


@dataclass
class _Phrase:
    phrase: str
    entity_type: str
    object_id: int
    field_name: str
    ticket_id: int | None = None


@dataclass
class TicketEvent:
    """One audit in the ticket event stream (``/api/v2/incremental/ticket_events``)."""

    ts: int
    audit_id: int
    ticket_id: int
    updater_id: int
    comment: JSON | None  # stored comment (written audits) — generated ones render on demand
    changes: list[JSON] = field(default_factory=list)


class Account:
    """One simulated Zendesk account: generated data plus everything written since start.

    The HTTP layer calls the ``render_*`` methods with ``base`` = the request's
    ``scheme://host`` so every URL in a body points back at the host the client used.
    """

    def __init__(self, config: SimulatorConfig, *, now: float | None = None) -> None:
        self.config = config
        self.seed = config.seed
        self.started_at = time.time() if now is None else now
        self.anchor = int(self.started_at // DAY * DAY)
        self.earliest = self.anchor - 730 * DAY
        self.latest = self.anchor - 600
        self._signing_key = hashlib.sha256(f"zendesk-simulator:{self.seed}".encode()).digest()

        # overlays (written state)
        self._ticket_over: dict[int, JSON] = {}
        self._extra_comments: dict[int, list[JSON]] = {}
        self._user_over: dict[int, JSON] = {}
        self._org_over: dict[int, JSON] = {}
        self._email_over: dict[str, int] = {}
        self._written_events: list[TicketEvent] = []
        self._events_index: TimeIndex | None = None
        self._list_cache: dict[str, SortedIds] = {}
        self._uploads: dict[str, list[JSON]] = {}
        self._upload_bytes: dict[int, tuple[bytes, str]] = {}

        t0 = time.perf_counter()
        self._generate()
        self.generation_seconds = time.perf_counter() - t0

    # ================================================================== generation

    def _generate(self) -> None:
        cfg = self.config
        rng = random.Random(self.seed)
        n_orgs = cfg.organization_count
        n_users = max(3, cfg.user_count)
        n_tickets = cfg.tickets
        self.n_groups = max(3, min(len(GROUP_NAMES), 3 + n_tickets // 5000))
        self.phrases_enabled = n_tickets >= PHRASE_MIN_TICKETS and n_users >= 5 and n_orgs >= 2

        # --- organizations
        self._o_created = array("q")
        self._o_updated = array("q")
        self._o_flags = array("b")
        self._o_deleted_at = array("q")
        for i in range(n_orgs):
            created = rng.randint(self.earliest, self.latest - 30 * DAY)
            updated = min(self.latest, created + rng.randint(0, 200 * DAY))
            deleted = i >= 2 and rng.random() < 0.03
            self._o_created.append(created)
            self._o_updated.append(updated)
            self._o_flags.append(_O_DELETED if deleted else 0)
            self._o_deleted_at.append(updated if deleted else 0)
        live_orgs = [i for i in range(n_orgs) if not self._o_flags[i] & _O_DELETED]
        self.n_orgs_generated = n_orgs

        # --- users: 0 admin, 1 agent, 2 end user (the documented test credentials)
        self._u_role = array("b")
        self._u_flags = array("b")
        self._u_org = array("i")
        self._u_created = array("q")
        self._u_updated = array("q")
        self._u_login = array("q")
        for i in range(n_users):
            if i < 3:
                role = (2, 1, 0)[i]
            else:
                r = rng.random()
                role = 2 if r < 0.02 else 1 if r < 0.10 else 0
            flags = 0
            if role == 0 and i >= 3:
                if rng.random() < 0.06:
                    flags |= _U_NO_EMAIL
                if rng.random() < 0.03:
                    flags |= _U_SUSPENDED
                if i >= 5 and rng.random() < 0.03:
                    flags |= _U_DELETED
            org = -1
            if role == 0 and live_orgs and (i == 2 or rng.random() < 0.7):
                org = live_orgs[rng.randrange(len(live_orgs))]
            created = rng.randint(self.earliest, self.latest - 60 * DAY)
            updated = min(self.latest, created + rng.randint(0, 400 * DAY))
            login = 0 if rng.random() < 0.25 else rng.randint(updated, self.latest)
            self._u_role.append(role)
            self._u_flags.append(flags)
            self._u_org.append(org)
            self._u_created.append(created)
            self._u_updated.append(updated)
            self._u_login.append(login)
        self.n_users_generated = n_users
        agents = [i for i in range(n_users) if self._u_role[i] > 0]
        requesters = [i for i in range(n_users) if self._u_role[i] == 0 and not self._u_flags[i] & _U_DELETED]
        if not requesters:
            requesters = [2]
        self._agents = array("i", agents)

        # --- tickets
        self._t_created = array("q")
        self._t_updated = array("q")
        self._t_gen = array("q")
        self._t_status = array("b")
        self._t_flags = array("b")
        self._t_deleted_at = array("q")
        self._t_requester = array("i")
        self._t_submitter = array("i")
        self._t_assignee = array("i")
        self._t_group = array("b")
        self._t_type = array("b")
        self._t_priority = array("b")
        self._t_problem = array("i")
        self._t_ncomments = array("i")
        self._t_cbase = array("q")
        self._c_att = bytearray()  # per comment: regular files (bits 0-1), inline image (bit 2)
        malware_every = 97
        regular_seen = 0
        self._malware: set[int] = set()  # attachment ids flagged malware_found
        cluster_ts = self.anchor - 2 * DAY - 3600
        cluster_size = max(5, n_tickets // 50)
        cluster_members = 0
        archive_cutoff = self.anchor - ARCHIVE_AFTER
        last_problem = 0
        comment_total = 0
        phrase_tids = set(_PHRASE_TICKET_IDS) if self.phrases_enabled else set()
        for i in range(n_tickets):
            tid = i + 1
            created = rng.randint(self.earliest, self.latest - 3600)
            status = rng.choices(range(6), STATUS_WEIGHTS)[0]
            if tid in phrase_tids:
                status = 1
                created = self.latest - (tid % 7 + 3) * DAY
            room = self.latest - created
            if status == 0:
                updated = created + min(room, rng.randint(0, 3600))
            elif status in (1, 2, 3):
                updated = created + min(room, rng.randint(600, 30 * DAY))
            elif status == 4:
                updated = created + min(room, rng.randint(3600, 12 * DAY))
            else:
                updated = created + min(room, rng.randint(5 * DAY, 40 * DAY))
            gen = updated
            if rng.random() < 0.05:  # a later system update: generated_timestamp > updated_at
                gen = min(self.latest, updated + rng.randint(1, 6 * 3600))
            flags = 0
            deleted_at = 0
            if tid not in phrase_tids and rng.random() < 0.015:
                flags |= _T_DELETED
                deleted_at = min(self.latest, gen + rng.randint(60, 20 * DAY))
                gen = deleted_at
            elif status == 5 and updated < archive_cutoff:
                flags |= _T_ARCHIVED
            if (
                cluster_members < cluster_size
                and not flags
                and gen < cluster_ts
                and status != 5
                and tid not in phrase_tids
            ):
                # A bulk update (a trigger or macro applied to many tickets) stamps one
                # generated_timestamp on many tickets: the case where time-based exports
                # repeat items across pages and may exceed per_page.
                gen = cluster_ts
                cluster_members += 1
            requester = requesters[rng.randrange(len(requesters))]
            if tid <= 3:
                requester = 2
            submitter = requester if rng.random() < 0.85 else agents[rng.randrange(len(agents))]
            unassigned = status == 0 or rng.random() < 0.08
            assignee = -1 if unassigned else agents[rng.randrange(len(agents))]
            group = (
                -1
                if (status == 0 and assignee < 0)
                else ((assignee % self.n_groups) if assignee >= 0 else rng.randrange(self.n_groups))
            )
            ttype = rng.choices(range(5), TYPE_WEIGHTS)[0]
            problem = 0
            if ttype == 2 and last_problem:
                problem = last_problem
            if ttype == 3:
                last_problem = tid
            priority = rng.choices(range(5), PRIORITY_WEIGHTS)[0]
            # comments: a heavy ticket (101-250 comments) every 200 tickets, else ~mean
            if i % 200 == 17:
                n_comments = rng.randint(101, 250)
            else:
                heavy_share = 175.5 / 200
                mean_rest = max(0.0, (cfg.comments_per_ticket - heavy_share) / (1 - 1 / 200) - 1)
                # floor(Exp(rate)) is geometric with mean 1 / (e**rate - 1): pick the rate for mean_rest
                n_comments = 1 + (int(rng.expovariate(math.log1p(1 / mean_rest))) if mean_rest > 0 else 0)
                n_comments = min(n_comments, 100)
            if tid == _PHRASE_TICKET_IDS[1] and tid in phrase_tids:
                n_comments = max(n_comments, 2)
            for k in range(n_comments):
                b = 0
                if rng.random() < cfg.attachment_rate:
                    b = 2 if rng.random() < 0.25 else 1
                    for j in range(b):
                        regular_seen += 1
                        if regular_seen % malware_every == 7:
                            self._malware.add(ATTACHMENT_BASE + (comment_total + k) * 8 + j)
                if rng.random() < 0.04:
                    b |= 4
                if tid == _PHRASE_TICKET_IDS[2] and tid in phrase_tids and k == 0:
                    b = (b & 4) | max(1, b & 3)
                self._c_att.append(b)
            self._t_created.append(created)
            self._t_updated.append(updated)
            self._t_gen.append(gen)
            self._t_status.append(status)
            self._t_flags.append(flags)
            self._t_deleted_at.append(deleted_at)
            self._t_requester.append(requester)
            self._t_submitter.append(submitter)
            self._t_assignee.append(assignee)
            self._t_group.append(group)
            self._t_type.append(ttype)
            self._t_priority.append(priority)
            self._t_problem.append(problem)
            self._t_ncomments.append(n_comments)
            self._t_cbase.append(comment_total)
            comment_total += n_comments
        if self.phrases_enabled:  # the seeded attachment stays downloadable
            self._malware.discard(ATTACHMENT_BASE + int(self._t_cbase[_PHRASE_TICKET_IDS[2] - 1]) * 8)
        self.n_tickets_generated = n_tickets
        self.n_comments_generated = comment_total
        self._next_ticket_id = n_tickets + 1
        self._next_user_index = n_users
        self._next_org_index = n_orgs
        self._next_comment_index = comment_total
        self._next_written_audit = WRITTEN_AUDIT_BASE

        # --- export orderings
        self.ticket_index = TimeIndex(self._t_gen, range(1, n_tickets + 1))
        self.user_index = TimeIndex(self._u_updated, [USER_BASE + i for i in range(n_users)])
        self.org_index = TimeIndex(self._o_updated, [ORG_BASE + i for i in range(n_orgs)])

        # --- live counts for /_simulator/truth
        self._counts_from_scratch()

    def _counts_from_scratch(self) -> None:
        by_status = dict.fromkeys(STATUSES, 0)
        tickets = comments = attachments = archived = deleted = 0
        att = self._c_att
        for i in range(self.n_tickets_generated):
            if self._t_flags[i] & _T_DELETED:
                deleted += 1
                continue
            tickets += 1
            by_status[STATUSES[self._t_status[i]]] += 1
            if self._t_flags[i] & _T_ARCHIVED:
                archived += 1
            n = self._t_ncomments[i]
            comments += n
            base = self._t_cbase[i]
            for ci in range(base, base + n):
                b = att[ci]
                if b:
                    attachments += (b & 3) + (b >> 2 & 1)
        self._count = {
            "ticket": tickets,
            "comment": comments,
            "attachment": attachments,
            "user": sum(1 for f in self._u_flags if not f & _U_DELETED),
            "organization": sum(1 for f in self._o_flags if not f & _O_DELETED),
        }
        self._by_status = by_status
        self._archived = archived
        self._deleted = {
            "ticket": deleted,
            "user": self.n_users_generated - self._count["user"],
            "organization": self.n_orgs_generated - self._count["organization"],
        }

    # ================================================================== introspection

    def truth(self) -> JSON:
        """What a complete sync must end up with (``/_simulator/truth``, docs/design.md)."""
        return {
            "ticket": self._count["ticket"],
            "comment": self._count["comment"],
            "user": self._count["user"],
            "organization": self._count["organization"],
            "attachment": self._count["attachment"],
            "tickets_by_status": dict(self._by_status),
            "deleted": dict(self._deleted),
            "archived_tickets": self._archived,
            "groups": self.n_groups,
            "phrases": [
                {
                    "phrase": p.phrase,
                    "type": p.entity_type,
                    "id": p.object_id,
                    "field": p.field_name,
                    **({"ticket_id": p.ticket_id} if p.ticket_id is not None else {}),
                }
                for p in self._phrases()
                if self._phrase_live(p)
            ],
            "seed": self.seed,
            "anchor": self.anchor,
        }

    def _phrases(self) -> list[_Phrase]:
        if not self.phrases_enabled:
            return []
        t_subject, t_comment, t_attach = _PHRASE_TICKET_IDS
        c_index = int(self._t_cbase[t_comment - 1]) + 1
        a_index = int(self._t_cbase[t_attach - 1])
        return [
            _Phrase(PHRASE_TICKET_SUBJECT, "ticket", t_subject, "subject"),
            _Phrase(PHRASE_COMMENT_BODY, "comment", COMMENT_BASE + c_index, "body", t_comment),
            _Phrase(
                PHRASE_ATTACHMENT_NAME, "attachment", ATTACHMENT_BASE + a_index * 8, "file_name", t_attach
            ),
            _Phrase(PHRASE_USER_NAME, "user", USER_BASE + 4, "name"),
            _Phrase(PHRASE_ORG_NAME, "organization", ORG_BASE + 1, "name"),
        ]

    def _phrase_live(self, p: _Phrase) -> bool:
        if p.entity_type == "user":
            return self.user_state(p.object_id) == "live"
        if p.entity_type == "organization":
            return self.org_state(p.object_id) == "live"
        tid = p.ticket_id if p.ticket_id is not None else p.object_id
        return self.ticket_state(tid) in ("live", "archived")

    # ================================================================== tickets

    def ticket_state(self, tid: int) -> str | None:
        """``live``, ``archived``, ``deleted`` or None (no such ticket)."""
        over = self._ticket_over.get(tid)
        if over is not None:
            return "deleted" if over["status"] == "deleted" else "live"
        i = tid - 1
        if not 0 <= i < self.n_tickets_generated:
            return None
        f = self._t_flags[i]
        return "deleted" if f & _T_DELETED else "archived" if f & _T_ARCHIVED else "live"

    def listable_ticket_ids(self) -> SortedIds:
        """Ids List Tickets returns: live, not archived ("Tickets": archived tickets excluded)."""
        return self._cached_list(
            "tickets", lambda: (tid for tid in self._all_ticket_ids() if self.ticket_state(tid) == "live")
        )

    def deleted_ticket_ids(self) -> SortedIds:
        return self._cached_list(
            "deleted_tickets",
            lambda: (tid for tid in self._all_ticket_ids() if self.ticket_state(tid) == "deleted"),
        )

    def _all_ticket_ids(self) -> Iterator[int]:
        yield from range(1, self.n_tickets_generated + 1)
        yield from sorted(t for t in self._ticket_over if t > self.n_tickets_generated)

    def _cached_list(self, name: str, build: Callable[[], Iterator[int]]) -> SortedIds:
        cached = self._list_cache.get(name)
        if cached is None:
            cached = SortedIds(list(build()))
            self._list_cache[name] = cached
        return cached

    def _invalidate_lists(self) -> None:
        self._list_cache.clear()

    def render_ticket(self, tid: int, base: str) -> JSON | None:
        """The ticket as Zendesk returns it (deleted tickets carry status ``deleted``)."""
        over = self._ticket_over.get(tid)
        if over is not None:
            out = {"url": f"{base}/api/v2/tickets/{tid}.json"}
            out.update((k, v) for k, v in over.items() if not k.startswith("_"))
            return out
        i = tid - 1
        if not 0 <= i < self.n_tickets_generated:
            return None
        return self._generated_ticket(i, base)

    def _generated_ticket(self, i: int, base: str) -> JSON:
        tid = i + 1
        r = random.Random(mix(self.seed, 1, tid))
        status = STATUSES[self._t_status[i]]
        deleted = bool(self._t_flags[i] & _T_DELETED)
        requester = int(self._t_requester[i])
        assignee = int(self._t_assignee[i])
        group = int(self._t_group[i])
        org = int(self._u_org[requester]) if requester < self.n_users_generated else -1
        ttype = TICKET_TYPES[self._t_type[i]]
        subject = self._subject(r, tid)
        channel = r.choices(CHANNELS, CHANNEL_WEIGHTS)[0]
        requester_json_email = self._user_email(requester)
        description = self._comment_text(i, 0)[0]
        product_area = r.choice(PRODUCT_AREAS)
        custom_fields: list[JSON] = [
            {"id": CUSTOM_FIELDS[0][0], "value": str(r.randint(10000, 99999))},
            {"id": CUSTOM_FIELDS[1][0], "value": product_area},
            {"id": CUSTOM_FIELDS[2][0], "value": r.choice(REGIONS)},
        ]
        tags = sorted({r.choice(TAGS) for _ in range(r.randint(0, 3))} | {product_area})
        collaborators: list[int] = []
        if r.random() < 0.15:
            collaborators = [USER_BASE + int(self._agents[r.randrange(len(self._agents))])]
        created = int(self._t_created[i])
        updated = int(self._t_updated[i])
        problem = int(self._t_problem[i])
        return {
            "url": f"{base}/api/v2/tickets/{tid}.json",
            "id": tid,
            "external_id": f"EXT-{tid:06d}" if r.random() < 0.1 else None,
            "via": self._via(channel, requester_json_email, self._user_name(requester)),
            "created_at": iso(created),
            "updated_at": iso(updated),
            "generated_timestamp": int(self._t_gen[i]),
            "type": ttype,
            "subject": subject,
            "raw_subject": subject,
            "description": description,
            "priority": PRIORITIES[self._t_priority[i]],
            "status": "deleted" if deleted else status,
            "custom_status_id": CUSTOM_STATUS_BASE + self._t_status[i] + 1,
            "recipient": f"support@{self.config.subdomain}.zendesk.com" if channel == "email" else None,
            "requester_id": USER_BASE + requester,
            "submitter_id": USER_BASE + int(self._t_submitter[i]),
            "assignee_id": USER_BASE + assignee if assignee >= 0 else None,
            "organization_id": ORG_BASE + org if org >= 0 else None,
            "group_id": GROUP_BASE + group if group >= 0 else None,
            "collaborator_ids": collaborators,
            "follower_ids": list(collaborators),
            "email_cc_ids": [],
            "forum_topic_id": None,
            "problem_id": problem if problem else None,
            "has_incidents": ttype == "problem" and r.random() < 0.5,
            "is_public": True,
            "due_at": iso(created + 7 * DAY) if ttype == "task" else None,
            "tags": tags,
            "custom_fields": custom_fields,
            "fields": [dict(f) for f in custom_fields],
            "satisfaction_rating": self._satisfaction(r, tid, status, requester, assignee),
            "sharing_agreement_ids": [],
            "followup_ids": [],
            "ticket_form_id": TICKET_FORM_ID,
            "brand_id": BRAND_ID,
            "allow_channelback": False,
            "allow_attachments": True,
            "from_messaging_channel": False,
        }

    def _subject(self, r: random.Random, tid: int) -> str:
        if self.phrases_enabled and tid == _PHRASE_TICKET_IDS[0]:
            return PHRASE_TICKET_SUBJECT
        template = r.choice(SUBJECT_TEMPLATES)
        product = r.choice(PRODUCTS)
        feature = r.choice(FEATURES)
        return template.format(
            product=product,
            Product=product[0].upper() + product[1:],
            feature=feature,
            Feature=feature[0].upper() + feature[1:],
            n=r.randint(10000, 99999),
            n4=r.randint(1000, 9999),
            pct=r.randint(2, 99),
            plan=r.choice(PLANS),
        )

    def _satisfaction(self, r: random.Random, tid: int, status: str, requester: int, assignee: int) -> JSON:
        if status not in ("solved", "closed"):
            return {"score": "unoffered"}
        roll = r.random()
        if roll < 0.35:
            return {"score": "offered"}
        if roll < 0.5:
            return {"score": "unoffered"}
        score = "good" if roll < 0.85 else "bad"
        comment = r.choice(
            ("Great support!", "Quick and helpful.", "Took too long.", "Problem not solved.", "")
        )
        return {"id": RATING_BASE + tid, "score": score, "comment": comment}

    def _via(self, channel: str, email: str | None, name: str) -> JSON:
        if channel == "email":
            return {
                "channel": "email",
                "source": {
                    "from": {"address": email, "name": name},
                    "to": {"address": f"support@{self.config.subdomain}.zendesk.com", "name": "Support"},
                    "rel": None,
                },
            }
        return {"channel": channel, "source": {"from": {}, "to": {}, "rel": None}}

    # ------------------------------------------------------------------ comments

    def comment_count(self, tid: int) -> int:
        base = 0
        i = tid - 1
        if 0 <= i < self.n_tickets_generated:
            base = int(self._t_ncomments[i])
        return base + len(self._extra_comments.get(tid, ()))

    def render_comment(self, tid: int, k: int, base: str, *, include_inline: bool) -> JSON:
        """Comment ``k`` (0-based, oldest first) of ticket ``tid``."""
        i = tid - 1
        n_base = int(self._t_ncomments[i]) if 0 <= i < self.n_tickets_generated else 0
        if k >= n_base:
            stored = self._extra_comments[tid][k - n_base]
            out = dict(stored)
            out["attachments"] = [
                self._stored_attachment(a, base)
                for a in stored["attachments"]
                if include_inline or not a["inline"]
            ]
            return out
        return self._generated_comment(i, k, base, include_inline=include_inline)

    def _comment_author(self, i: int, k: int, r: random.Random) -> tuple[int, bool]:
        """(user index, is agent) of comment ``k``: the submitter writes the first one."""
        if k == 0:
            sub = int(self._t_submitter[i])
            return sub, self._u_role[sub] > 0
        requester = int(self._t_requester[i])
        assignee = int(self._t_assignee[i])
        if k % 2 == 1 or r.random() < 0.2:
            agent = assignee if assignee >= 0 else int(self._agents[r.randrange(len(self._agents))])
            return agent, True
        return requester, False

    def _comment_text(self, i: int, k: int) -> tuple[str, str, bool, int]:
        """(plain body, html body, public, author index) of generated comment ``k``."""
        tid = i + 1
        ci = int(self._t_cbase[i]) + k
        r = random.Random(mix(self.seed, 2, ci))
        author, is_agent = self._comment_author(i, k, r)
        public = True
        if is_agent and k > 0 and r.random() < 0.25:
            public = False
        requester = int(self._t_requester[i])
        first = self._user_name(requester).split(" ")[0]
        if not public:
            bank: Sequence[str] = INTERNAL_SENTENCES
        elif is_agent and k > 0:
            bank = AGENT_SENTENCES
        else:
            bank = REQUESTER_SENTENCES
        count = r.randint(1, 4)
        sentences = [
            r.choice(bank).format(
                product=r.choice(PRODUCTS),
                feature=r.choice(FEATURES),
                plan=r.choice(PLANS),
                n=r.randint(100, 99999),
                amount=f"{r.randint(5, 500)}.{r.randint(0, 99):02d}",
                first=first,
            )
            for _ in range(count)
        ]
        if self.phrases_enabled and tid == _PHRASE_TICKET_IDS[1] and k == 1:
            sentences.insert(0, PHRASE_COMMENT_BODY + ".")
        paragraphs = [" ".join(sentences[: max(1, count // 2)]), " ".join(sentences[max(1, count // 2) :])]
        paragraphs = [p for p in paragraphs if p]
        plain = "\n\n".join(paragraphs)
        if r.random() < 0.3:
            items = "".join(f"<li>{_escape(s)}</li>" for s in sentences[:2])
            html = (
                '<div class="zd-comment" dir="auto">'
                f'<p dir="auto"><strong>{_escape(paragraphs[0])}</strong></p>'
                f"<ul>{items}</ul>"
                f'<p dir="auto">See <a href="https://help.example.com/articles/{r.randint(1000, 9999)}">'
                "this article</a>.</p></div>"
            )
            plain = plain + "\n\nSee this article."
        else:
            html = (
                '<div class="zd-comment" dir="auto">'
                + "".join(f'<p dir="auto">{_escape(p)}</p>' for p in paragraphs)
                + "</div>"
            )
        return plain, html, public, author

    def _comment_time(self, i: int, k: int) -> int:
        n = int(self._t_ncomments[i])
        created = int(self._t_created[i])
        updated = int(self._t_updated[i])
        if n <= 1:
            return created
        return created + (updated - created) * k // (n - 1)

    def _generated_comment(self, i: int, k: int, base: str, *, include_inline: bool) -> JSON:
        ci = int(self._t_cbase[i]) + k
        plain, html, public, author = self._comment_text(i, k)
        r = random.Random(mix(self.seed, 3, ci))
        b = self._c_att[ci]
        attachments = [self._generated_attachment(ci, j, base) for j in range(b & 3)]
        if b & 4:
            inline = self._generated_attachment(ci, 3, base)
            html = html[: -len("</div>")] + (
                f'<p dir="auto"><img src="{inline["content_url"]}" alt="{inline["file_name"]}"></p></div>'
            )
            if include_inline:
                attachments.append(inline)
        channel = "email" if r.random() < 0.5 else "web"
        author_email = self._user_email(author)
        created = self._comment_time(i, k)
        return {
            "id": COMMENT_BASE + ci,
            "type": "Comment",
            "author_id": USER_BASE + author,
            "body": plain,
            "html_body": html,
            "plain_body": plain,
            "public": public,
            "attachments": attachments,
            "audit_id": AUDIT_BASE + ci,
            "via": self._via(channel, author_email, self._user_name(author)),
            "metadata": self._comment_metadata(r, channel, ci),
            "created_at": iso(created),
        }

    def _comment_metadata(self, r: random.Random, channel: str, ci: int) -> JSON:
        if channel == "email":
            return {
                "system": {
                    "message_id": f"<{ci:x}.{self.seed}@mail.example.com>",
                    "email_id": f"01H{ci:020X}",
                    "raw_email_identifier": f"{self.seed}/{ci}.eml",
                },
                "custom": {},
            }
        location, lat, lon = r.choice(LOCATIONS)
        return {
            "system": {
                "client": r.choice(USER_AGENTS),
                "ip_address": f"203.0.113.{r.randint(1, 254)}",
                "location": location,
                "latitude": lat,
                "longitude": lon,
            },
            "custom": {},
        }

    # ------------------------------------------------------------------ attachments

    def _attachment_kind(self, att_id: int) -> tuple[str, str, str, int, int | None, int | None]:
        """(file name, content type, extension, size, width, height) of a generated file."""
        ci, slot = divmod(att_id - ATTACHMENT_BASE, 8)
        r = random.Random(mix(self.seed, 4, att_id))
        if slot >= 4:  # thumbnail of the image in slot - 4
            parent = self._attachment_kind(att_id - 4)
            stem = parent[0].rsplit(".", 1)[0]
            return f"{stem}_thumb.png", "image/png", "png", r.randint(700, 4000), 80, 60
        if slot == 3:  # inline image
            w, h = r.choice(((640, 480), (800, 600), (1280, 720), (320, 240)))
            return f"image-{ci % 1000:03d}.png", "image/png", "png", r.randint(2_000, 90_000), w, h
        if self.phrases_enabled and slot == 0 and ci == int(self._t_cbase[_PHRASE_TICKET_IDS[2] - 1]):
            return PHRASE_ATTACHMENT_NAME, "application/pdf", "pdf", 48_213, None, None
        ext, ctype, stems, (lo, hi) = ATTACHMENT_KINDS[r.randrange(len(ATTACHMENT_KINDS))]
        name = f"{r.choice(stems)}-{r.randint(1000, 9999)}.{ext}"
        size = r.randint(lo, hi)
        if ext == "png":
            w, h = r.choice(((1024, 768), (1440, 900), (375, 812), (1920, 1080)))
            return name, ctype, ext, size, w, h
        return name, ctype, ext, size, None, None

    def _generated_attachment(self, ci: int, slot: int, base: str) -> JSON:
        att_id = ATTACHMENT_BASE + ci * 8 + slot
        out = self._attachment_json(att_id, base)
        if out["content_type"].startswith("image/"):
            out["thumbnails"] = [self._attachment_json(att_id + 4, base)]
        else:
            out["thumbnails"] = []
        return out

    def _attachment_json(self, att_id: int, base: str) -> JSON:
        name, ctype, _ext, size, width, height = self._attachment_kind(att_id)
        slot = (att_id - ATTACHMENT_BASE) % 8
        content_url = self.content_url(att_id, name, base)
        malware = att_id in self._malware
        return {
            "url": f"{base}/api/v2/attachments/{att_id}.json",
            "id": att_id,
            "file_name": name,
            "content_url": content_url,
            "mapped_content_url": content_url,
            "content_type": ctype,
            "size": size,
            "width": width,
            "height": height,
            "inline": slot == 3,
            "deleted": False,
            "malware_access_override": False,
            "malware_scan_result": "malware_found" if malware else "malware_not_found",
        }

    def _stored_attachment(self, stored: JSON, base: str) -> JSON:
        att_id = int(stored["id"])
        content_url = self.content_url(att_id, stored["file_name"], base)
        return {
            "url": f"{base}/api/v2/attachments/{att_id}.json",
            **stored,
            "content_url": content_url,
            "mapped_content_url": content_url,
        }

    def content_url(self, att_id: int, name: str, base: str) -> str:
        from urllib.parse import quote

        return f"{base}/attachments/token/{self.attachment_token(att_id)}/?name={quote(name)}"

    def attachment_token(self, att_id: int) -> str:
        """An opaque token like Zendesk's, from which the simulator can recover the id."""
        mac = hmac.new(self._signing_key, str(att_id).encode(), hashlib.sha256).hexdigest()[:14]
        return f"{mac}{att_id:x}"

    def attachment_id_from_token(self, token: str) -> int | None:
        if len(token) <= 14:
            return None
        try:
            att_id = int(token[14:], 16)
        except ValueError:
            return None
        return att_id if hmac.compare_digest(self.attachment_token(att_id), token) else None

    def attachment_info(self, att_id: int, base: str) -> JSON | None:
        """The attachment object if it belongs to a live ticket (Show Attachment)."""
        if att_id in self._upload_bytes:
            for comments in self._extra_comments.items():
                for c in comments[1]:
                    for a in c["attachments"]:
                        if a["id"] == att_id:
                            return self._stored_attachment(a, base)
            for uploads in self._uploads.values():
                for a in uploads:
                    if a["id"] == att_id:
                        return self._stored_attachment(a, base)
            return None
        rel = att_id - ATTACHMENT_BASE
        if rel < 0:
            return None
        ci, slot = divmod(rel, 8)
        if ci >= self.n_comments_generated:
            return None
        parent_slot = slot - 4 if slot >= 4 else slot
        b = self._c_att[ci]
        if parent_slot == 3:
            if not b & 4:
                return None
        elif parent_slot >= (b & 3):
            return None
        tid = bisect.bisect_right(self._t_cbase, ci)
        # tickets with zero comments never occur, so the bisect lands on the owner
        if self.ticket_state(tid) not in ("live", "archived"):
            return None
        if slot >= 4:
            kind = self._attachment_kind(att_id - 4)
            if not kind[1].startswith("image/"):
                return None
            out = self._attachment_json(att_id, base)
            return out
        return self._generated_attachment(ci, slot, base)

    def attachment_bytes(self, att_id: int) -> tuple[bytes, str, str] | None:
        """(content, content type, file name) of a live attachment, exactly ``size`` bytes."""
        stored = self._upload_bytes.get(att_id)
        info = self.attachment_info(att_id, "")
        if info is None:
            return None
        if stored is not None:
            return stored[0], stored[1], info["file_name"]
        name, ctype, ext, size, width, height = self._attachment_kind(att_id)
        return synthesize_file(ext, size, width or 0, height or 0, mix(self.seed, 5, att_id)), ctype, name

    def is_malware(self, att_id: int) -> bool:
        return att_id in self._malware

    def sign_download(self, token: str, expires: int) -> str:
        msg = f"{token}:{expires}".encode()
        return hmac.new(self._signing_key, msg, hashlib.sha256).hexdigest()

    # ------------------------------------------------------------------ ticket events

    def events_index(self) -> TimeIndex:
        """Audits by (timestamp, audit id), built on first use: one per generated comment."""
        if self._events_index is None:
            n = self.n_comments_generated
            ts = array("q", bytes(8 * n))
            ids = array("q", bytes(8 * n))
            for i in range(self.n_tickets_generated):
                nc = int(self._t_ncomments[i])
                created = int(self._t_created[i])
                span = int(self._t_updated[i]) - created
                cb = int(self._t_cbase[i])
                for k in range(nc):
                    ts[cb + k] = created + (span * k // (nc - 1) if nc > 1 else 0)
                    ids[cb + k] = AUDIT_BASE + cb + k
            index = TimeIndex(ts, ids)
            for ev in self._written_events:
                index.touch(ev.audit_id, ev.ts)
            self._events_index = index
        return self._events_index

    def render_event(self, audit_id: int, base: str, *, comment_events: bool) -> JSON:
        """One ticket event (an audit) with its child events."""
        if audit_id >= WRITTEN_AUDIT_BASE or audit_id - AUDIT_BASE >= self.n_comments_generated:
            ev = next(e for e in self._written_events if e.audit_id == audit_id)
            children = [dict(c) for c in ev.changes]
            if ev.comment is not None:
                children.insert(0, self._comment_child(ev.comment, base, comment_events))
            return self._event_json(audit_id, ev.ticket_id, ev.ts, ev.updater_id, "api", children)
        ci = audit_id - AUDIT_BASE
        tid = bisect.bisect_right(self._t_cbase, ci)
        i = tid - 1
        k = ci - int(self._t_cbase[i])
        comment = self._generated_comment(i, k, base, include_inline=True)
        ts = self._comment_time(i, k)
        children = [self._comment_child(comment, base, comment_events)]
        if k == 0:
            ticket = self._generated_ticket(i, base)
            for name in ("subject", "status", "priority", "type", "requester_id"):
                value = ticket[name] if name != "status" else "new"
                children.append(
                    {
                        "id": audit_id * 10 + len(children),
                        "via": comment["via"],
                        "via_reference_id": None,
                        "field_name": name,
                        "value": value,
                        "event_type": "Create",
                    }
                )
        channel = comment["via"]["channel"]
        return self._event_json(audit_id, tid, ts, int(comment["author_id"]), channel, children)

    def _comment_child(self, comment: JSON, base: str, comment_events: bool) -> JSON:
        if not comment_events:
            return {
                "id": comment["id"],
                "comment_present": True,
                "comment_public": comment["public"],
                "event_type": "Comment",
            }
        attachments = comment["attachments"]
        if attachments and "content_url" not in attachments[0]:
            attachments = [self._stored_attachment(a, base) for a in attachments]
        return {
            "id": comment["id"],
            "via": comment["via"],
            "via_reference_id": None,
            "type": "Comment",
            "author_id": comment["author_id"],
            "body": comment["body"],
            "html_body": comment["html_body"],
            "plain_body": comment["plain_body"],
            "public": comment["public"],
            "attachments": attachments,
            "audit_id": comment["audit_id"],
            "created_at": comment["created_at"],
            "event_type": "Comment",
        }

    @staticmethod
    def _event_json(
        audit_id: int, tid: int, ts: int, updater: int, channel: str, children: list[JSON]
    ) -> JSON:
        via = {"email": "Mail", "web": "Web form", "api": "Web service"}.get(channel, "Web form")
        return {
            "id": audit_id,
            "ticket_id": tid,
            "timestamp": ts,
            "created_at": iso(ts),
            "updater_id": updater,
            "via": via,
            "system": {},
            "event_type": "Audit",
            "child_events": children,
            "merged_ticket_ids": [],
        }

    # ================================================================== users

    def user_state(self, user_id: int) -> str | None:
        over = self._user_over.get(user_id)
        if over is not None:
            return "deleted" if over.get("_deleted") else "live"
        i = user_id - USER_BASE
        if not 0 <= i < self.n_users_generated:
            return None
        return "deleted" if self._u_flags[i] & _U_DELETED else "live"

    def user_by_id(self, user_id: int) -> JSON | None:
        """The user dict (with id, email, role, active, suspended) or None: for authentication."""
        return self.render_user(user_id, "")

    def user_by_email(self, email: str) -> JSON | None:
        """The user whose primary email is ``email`` (case-insensitive), or None."""
        email = email.strip().lower()
        uid = self._email_over.get(email)
        if uid is not None:
            user = self.render_user(uid, "")
            return user if user is not None and (user.get("email") or "").lower() == email else None
        special = {
            self.config.admin_email.lower(): 0,
            self.config.agent_email.lower(): 1,
            self.config.enduser_email.lower(): 2,
        }
        i = special.get(email)
        if i is None:
            m = _EMAIL_INDEX_RE.search(email)
            if m is None:
                return None
            i = int(m.group(1))
        if not 0 <= i < self.n_users_generated:
            return None
        user = self.render_user(USER_BASE + i, "")
        return user if user is not None and (user.get("email") or "").lower() == email else None

    def listable_user_ids(self) -> SortedIds:
        """Ids List Users returns: every user that is not deleted."""
        return self._cached_list(
            "users", lambda: (uid for uid in self._all_user_ids() if self.user_state(uid) == "live")
        )

    def deleted_user_ids(self) -> SortedIds:
        return self._cached_list(
            "deleted_users",
            lambda: (uid for uid in self._all_user_ids() if self.user_state(uid) == "deleted"),
        )

    def _all_user_ids(self) -> Iterator[int]:
        yield from range(USER_BASE, USER_BASE + self.n_users_generated)
        yield from sorted(u for u in self._user_over if u >= USER_BASE + self.n_users_generated)

    def _user_name(self, i: int) -> str:
        if i == 0:
            return "Ada Admin"
        if i == 1:
            return "Alan Agent"
        if i == 2:
            return "Erin Enduser"
        if i == 4 and self.phrases_enabled:
            return PHRASE_USER_NAME
        over = self._user_over.get(USER_BASE + i)
        if over is not None:
            return str(over["name"])
        h = mix(self.seed, 6, i)
        return f"{FIRST_NAMES[h % len(FIRST_NAMES)]} {LAST_NAMES[(h >> 16) % len(LAST_NAMES)]}"

    def _user_email(self, i: int) -> str | None:
        over = self._user_over.get(USER_BASE + i)
        if over is not None:
            return over.get("email")
        if i == 0:
            return self.config.admin_email
        if i == 1:
            return self.config.agent_email
        if i == 2:
            return self.config.enduser_email
        if self._u_flags[i] & _U_NO_EMAIL:
            return None
        first, last = self._user_name(i).lower().split(" ", 1)
        org = int(self._u_org[i])
        domain = self._org_domain(org) if org >= 0 else ("example.org", "example.net")[i % 2]
        return f"{first}.{last.replace(' ', '')}.u{i}@{domain}"

    def render_user(self, user_id: int, base: str) -> JSON | None:
        over = self._user_over.get(user_id)
        if over is not None:
            out = {"url": f"{base}/api/v2/users/{user_id}.json"}
            out.update((k, v) for k, v in over.items() if not k.startswith("_"))
            return out
        i = user_id - USER_BASE
        if not 0 <= i < self.n_users_generated:
            return None
        return self._generated_user(i, base)

    def _generated_user(self, i: int, base: str) -> JSON:
        uid = USER_BASE + i
        r = random.Random(mix(self.seed, 7, i))
        role = ROLES[self._u_role[i]]
        flags = self._u_flags[i]
        is_agent = role != "end-user"
        org = int(self._u_org[i])
        tz, iana = r.choice(TIME_ZONES)
        locale, locale_id = r.choice(LOCALES)
        name = self._user_name(i)
        phone = f"+1555{r.randint(1000000, 9999999)}" if (flags & _U_NO_EMAIL or r.random() < 0.2) else None
        login = int(self._u_login[i])
        tags = sorted({r.choice(TAGS) for _ in range(r.randint(0, 2))})
        return {
            "url": f"{base}/api/v2/users/{uid}.json",
            "id": uid,
            "name": name,
            "email": self._user_email(i),
            "created_at": iso(self._u_created[i]),
            "updated_at": iso(self._u_updated[i]),
            "time_zone": tz,
            "iana_time_zone": iana,
            "phone": phone,
            "shared_phone_number": False if phone else None,
            "photo": None,
            "locale_id": locale_id,
            "locale": locale,
            "organization_id": ORG_BASE + org if org >= 0 else None,
            "role": role,
            "verified": not bool(flags & _U_NO_EMAIL) or phone is not None,
            "external_id": f"crm-{i:07d}" if r.random() < 0.3 else None,
            "tags": tags,
            "alias": "",
            "active": not bool(flags & _U_DELETED),
            "shared": False,
            "shared_agent": False,
            "last_login_at": iso(login) if login else None,
            "two_factor_auth_enabled": None if not is_agent else bool(r.random() < 0.6),
            "signature": f"Best regards,\n{name}" if is_agent else None,
            "details": "",
            "notes": "",
            "role_type": None,
            "custom_role_id": None,
            "moderator": is_agent,
            "ticket_restriction": None if is_agent else "requested",
            "only_private_comments": False,
            "restricted_agent": False,
            "suspended": bool(flags & _U_SUSPENDED),
            "default_group_id": GROUP_BASE + (i % self.n_groups) if is_agent else None,
            "report_csv": role == "admin",
            "user_fields": {"customer_tier": r.choice(("gold", "silver", "bronze"))} if not is_agent else {},
            "chat_only": False,
            "remote_photo_url": None,
        }

    def user_updated_ts(self, user_id: int) -> int:
        over = self._user_over.get(user_id)
        if over is not None:
            return int(over["_ts"])
        return int(self._u_updated[user_id - USER_BASE])

    # ================================================================== organizations

    def org_state(self, org_id: int) -> str | None:
        over = self._org_over.get(org_id)
        if over is not None:
            return "deleted" if over.get("deleted_at") else "live"
        i = org_id - ORG_BASE
        if not 0 <= i < self.n_orgs_generated:
            return None
        return "deleted" if self._o_flags[i] & _O_DELETED else "live"

    def listable_org_ids(self) -> SortedIds:
        return self._cached_list(
            "organizations", lambda: (oid for oid in self._all_org_ids() if self.org_state(oid) == "live")
        )

    def _all_org_ids(self) -> Iterator[int]:
        yield from range(ORG_BASE, ORG_BASE + self.n_orgs_generated)
        yield from sorted(o for o in self._org_over if o >= ORG_BASE + self.n_orgs_generated)

    def _org_name(self, i: int) -> str:
        if i == 1 and self.phrases_enabled:
            return PHRASE_ORG_NAME
        over = self._org_over.get(ORG_BASE + i)
        if over is not None:
            return str(over["name"])
        # a bijection from index to (prefix, suffix, round) keeps names unique
        # distinct prefixes for the first 30 (7 is coprime with 30), an index suffix after
        p = (i * 7) % len(ORG_PREFIXES)
        s = (i // len(ORG_PREFIXES) + i) % len(ORG_SUFFIXES)
        name = f"{ORG_PREFIXES[p]} {ORG_SUFFIXES[s]}"
        return f"{name} {i}" if i >= len(ORG_PREFIXES) else name

    def _org_domain(self, i: int) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", self._org_name(i).lower()).strip("-")
        return f"{slug}.example"

    def render_org(self, org_id: int, base: str) -> JSON | None:
        over = self._org_over.get(org_id)
        if over is not None:
            out = {"url": f"{base}/api/v2/organizations/{org_id}.json"}
            out.update((k, v) for k, v in over.items() if not k.startswith("_"))
            return out
        i = org_id - ORG_BASE
        if not 0 <= i < self.n_orgs_generated:
            return None
        r = random.Random(mix(self.seed, 8, i))
        deleted = bool(self._o_flags[i] & _O_DELETED)
        group = r.randrange(self.n_groups) if r.random() < 0.3 else -1
        return {
            "url": f"{base}/api/v2/organizations/{org_id}.json",
            "id": org_id,
            "name": self._org_name(i),
            "shared_tickets": r.random() < 0.2,
            "shared_comments": r.random() < 0.1,
            "external_id": f"acct-{i:05d}" if r.random() < 0.5 else None,
            "created_at": iso(self._o_created[i]),
            "updated_at": iso(self._o_updated[i]),
            "deleted_at": iso(self._o_deleted_at[i]) if deleted else None,
            "domain_names": [self._org_domain(i)],
            "details": r.choice(("", "Head office: 1 Main Street", "Key account since 2019")),
            "notes": r.choice(("", "Prefers email contact", "Renewal due in Q3")),
            "group_id": GROUP_BASE + group if group >= 0 else None,
            "tags": sorted(
                {r.choice(("enterprise", "smb", "partner", "trial", "vip")) for _ in range(r.randint(0, 2))}
            ),
            "organization_fields": {
                "account_tier": r.choice(("gold", "silver", "bronze")),
                "seats": r.randint(1, 500),
            },
        }

    def org_updated_ts(self, org_id: int) -> int:
        over = self._org_over.get(org_id)
        if over is not None:
            return int(over["_ts"])
        return int(self._o_updated[org_id - ORG_BASE])

    # ================================================================== groups

    def group_ids(self) -> SortedIds:
        return self._cached_list("groups", lambda: iter(range(GROUP_BASE, GROUP_BASE + self.n_groups)))

    def render_group(self, group_id: int, base: str) -> JSON | None:
        i = group_id - GROUP_BASE
        if not 0 <= i < self.n_groups:
            return None
        created = self.earliest + i * 3 * DAY
        return {
            "url": f"{base}/api/v2/groups/{group_id}.json",
            "id": group_id,
            "name": GROUP_NAMES[i],
            "description": f"{GROUP_NAMES[i]} team",
            "default": i == 0,
            "deleted": False,
            "is_public": True,
            "created_at": iso(created),
            "updated_at": iso(created + DAY),
        }

    # ================================================================== writes

    def _now(self) -> int:
        return int(time.time())

    @staticmethod
    def _materialize(
        overrides: dict[int, JSON],
        render: Callable[[int, str], JSON | None],
        object_id: int,
        updated_ts: Callable[[int], int] | None = None,
    ) -> JSON:
        """The writable copy of a generated object: rendered once, then kept in ``overrides``."""
        over = overrides.get(object_id)
        if over is None:
            rendered = render(object_id, "")
            if rendered is None:
                raise RecordNotFound
            rendered.pop("url")
            if updated_ts is not None:
                rendered["_ts"] = updated_ts(object_id)
            over = rendered
            overrides[object_id] = over
        return over

    def _materialize_ticket(self, tid: int) -> JSON:
        return self._materialize(self._ticket_over, self.render_ticket, tid)

    def _check_user(self, user_id: Any, field_name: str, *, agent: bool = False) -> int:
        if not isinstance(user_id, int) or isinstance(user_id, bool):
            raise RecordInvalid(
                "Record validation errors",
                {
                    field_name: [
                        {"description": f"{field_name} must be an integer user id", "error": "InvalidValue"}
                    ]
                },
            )
        user = self.render_user(user_id, "")
        if user is None or not user["active"]:
            raise RecordInvalid(
                "Record validation errors",
                {
                    field_name: [
                        {
                            "description": f"{field_name}: user {user_id} does not exist",
                            "error": "InvalidValue",
                        }
                    ]
                },
            )
        if agent and user["role"] == "end-user":
            raise RecordInvalid(
                "Record validation errors",
                {"assignee": [{"description": "Assignee is not an agent", "error": "InvalidValue"}]},
            )
        return user_id

    def _apply_ticket_fields(self, t: JSON, data: JSON) -> list[JSON]:
        """Copy the writable fields of ``data`` onto ticket ``t``; returns Change events."""
        changes: list[JSON] = []

        def change(name: str, value: Any) -> None:
            if t.get(name) != value:
                changes.append(
                    {
                        "id": 0,
                        "field_name": name,
                        "value": value,
                        "previous_value": t.get(name),
                        "event_type": "Change",
                    }
                )
                t[name] = value

        if "subject" in data:
            subject = data["subject"]
            if subject is not None and not isinstance(subject, str):
                raise RecordInvalid(
                    "Record validation errors",
                    {"subject": [{"description": "Subject must be text", "error": "InvalidValue"}]},
                )
            change("subject", subject)
            t["raw_subject"] = subject
        if "status" in data:
            status = data["status"]
            if status not in STATUSES:
                raise RecordInvalid(
                    "Record validation errors",
                    {
                        "status": [
                            {
                                "description": f"Status: {status!r} is not one of {', '.join(STATUSES)}",
                                "error": "InvalidValue",
                            }
                        ]
                    },
                )
            change("status", status)
            t["custom_status_id"] = CUSTOM_STATUS_BASE + STATUSES.index(status) + 1
        if "priority" in data:
            if data["priority"] not in PRIORITIES:
                raise RecordInvalid(
                    "Record validation errors",
                    {
                        "priority": [
                            {
                                "description": "Priority: must be one of low, normal, high, urgent",
                                "error": "InvalidValue",
                            }
                        ]
                    },
                )
            change("priority", data["priority"])
        if "type" in data:
            if data["type"] not in TICKET_TYPES:
                raise RecordInvalid(
                    "Record validation errors",
                    {
                        "type": [
                            {
                                "description": "Type: must be one of question, incident, problem, task",
                                "error": "InvalidValue",
                            }
                        ]
                    },
                )
            change("type", data["type"])
        if "assignee_id" in data:
            aid = data["assignee_id"]
            change("assignee_id", None if aid is None else self._check_user(aid, "assignee_id", agent=True))
        if "group_id" in data:
            gid = data["group_id"]
            if gid is not None and self.render_group(gid, "") is None:
                raise RecordInvalid(
                    "Record validation errors",
                    {"group": [{"description": f"Group {gid} does not exist", "error": "InvalidValue"}]},
                )
            change("group_id", gid)
        if "requester_id" in data:
            rid = self._check_user(data["requester_id"], "requester_id")
            change("requester_id", rid)
            requester = self.render_user(rid, "")
            if requester is not None:
                change("organization_id", requester["organization_id"])
        if "tags" in data:
            tags = data["tags"]
            if not isinstance(tags, list) or not all(isinstance(x, str) for x in tags):
                raise RecordInvalid(
                    "Record validation errors",
                    {"tags": [{"description": "Tags must be a list of strings", "error": "InvalidValue"}]},
                )
            change("tags", sorted(set(tags)))
        if "external_id" in data:
            change("external_id", data["external_id"])
        if "custom_fields" in data:
            fields = data["custom_fields"]
            if not isinstance(fields, list):
                raise RecordInvalid(
                    "Record validation errors",
                    {
                        "custom_fields": [
                            {
                                "description": "custom_fields must be a list of {id, value}",
                                "error": "InvalidValue",
                            }
                        ]
                    },
                )
            current = {f["id"]: f["value"] for f in t.get("custom_fields") or []}
            for f in fields:
                if not isinstance(f, dict) or "id" not in f:
                    raise RecordInvalid(
                        "Record validation errors",
                        {
                            "custom_fields": [
                                {
                                    "description": "each custom field needs an id and a value",
                                    "error": "InvalidValue",
                                }
                            ]
                        },
                    )
                current[f["id"]] = f.get("value")
            merged = [{"id": k, "value": v} for k, v in current.items()]
            change("custom_fields", merged)
            t["fields"] = [dict(f) for f in merged]
        return changes

    def _new_comment(self, tid: int, spec: Any, actor_id: int, *, default_public: bool) -> JSON:
        if not isinstance(spec, dict):
            raise RecordInvalid(
                "Record validation errors",
                {
                    "comment": [
                        {
                            "description": "comment must be an object with a body or html_body",
                            "error": "InvalidValue",
                        }
                    ]
                },
            )
        body = spec.get("body")
        html = spec.get("html_body")
        if not (isinstance(body, str) and body.strip()) and not (isinstance(html, str) and html.strip()):
            raise RecordInvalid(
                "Record validation errors",
                {
                    "comment": [
                        {"description": "Comment: body or html_body cannot be blank", "error": "BlankValue"}
                    ]
                },
            )
        if self.comment_count(tid) >= MAX_COMMENTS_PER_TICKET:
            raise RecordInvalid(
                "Record validation errors",
                {
                    "comment": [
                        {"description": "A ticket can hold at most 5000 comments", "error": "TooManyComments"}
                    ]
                },
            )
        if isinstance(html, str) and html.strip():
            plain = re.sub(r"<[^>]+>", " ", html)
            plain = re.sub(r"\s+", " ", plain).strip()
            html_body = html
        else:
            assert isinstance(body, str)
            # "Bodies": consecutive spaces and newlines collapse to one.
            plain = re.sub(r"\n+", "\n", re.sub(r" +", " ", body)).strip()
            html_body = (
                '<div class="zd-comment" dir="auto">'
                + "".join(f'<p dir="auto">{_escape(p)}</p>' for p in plain.split("\n") if p)
                + "</div>"
            )
        author = spec.get("author_id", actor_id)
        author = self._check_user(author, "author_id")
        public = spec.get("public", default_public)
        attachments: list[JSON] = []
        uploads = spec.get("uploads") or []
        for token in uploads:
            files = self._uploads.pop(token, None)
            if files is None:
                raise RecordInvalid(
                    "Record validation errors",
                    {
                        "uploads": [
                            {
                                "description": f"Upload token {token!r} is unknown or already used",
                                "error": "InvalidValue",
                            }
                        ]
                    },
                )
            attachments.extend(files)
        ci = self._next_comment_index
        self._next_comment_index += 1
        now = self._now()
        return {
            "id": COMMENT_BASE + ci,
            "type": "Comment",
            "author_id": author,
            "body": plain,
            "html_body": html_body,
            "plain_body": plain,
            "public": bool(public),
            "attachments": attachments,
            "audit_id": AUDIT_BASE + ci,
            "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}},
            "metadata": {"system": {"client": "zendesk-simulator", "ip_address": "127.0.0.1"}, "custom": {}},
            "created_at": iso(now),
        }

    def _record_event(
        self, tid: int, actor_id: int, comment: JSON | None, changes: list[JSON], ts: int
    ) -> None:
        audit_id = int(comment["audit_id"]) if comment is not None else self._next_written_audit
        if comment is None:
            self._next_written_audit += 1
        for n, c in enumerate(changes):
            c["id"] = audit_id * 10 + n + 1
        ev = TicketEvent(
            ts=ts, audit_id=audit_id, ticket_id=tid, updater_id=actor_id, comment=comment, changes=changes
        )
        self._written_events.append(ev)
        if self._events_index is not None:
            self._events_index.touch(audit_id, ts)

    def render_audit(self, audit_id: int, base: str) -> JSON:
        """The ``audit`` a write answers with (Create/Update Ticket): its comment and changes."""
        ev = next(e for e in reversed(self._written_events) if e.audit_id == audit_id)
        events: list[JSON] = []
        if ev.comment is not None:
            c = ev.comment
            events.append({
                "id": c["id"],
                "type": "Comment",
                "author_id": c["author_id"],
                "body": c["body"],
                "html_body": c["html_body"],
                "plain_body": c["plain_body"],
                "public": c["public"],
                "attachments": [self._stored_attachment(a, base) for a in c["attachments"]],
                "audit_id": c["audit_id"],
            })
        for change in ev.changes:
            events.append({
                "id": change["id"],
                "type": "Change",
                "field_name": change["field_name"],
                "value": change["value"],
                "previous_value": change["previous_value"],
            })
        return {
            "id": audit_id,
            "ticket_id": ev.ticket_id,
            "created_at": iso(ev.ts),
            "author_id": ev.updater_id,
            "metadata": {"system": {"client": "zendesk-simulator", "ip_address": "127.0.0.1"}, "custom": {}},
            "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}},
            "events": events,
        }

    def _count_ticket(self, t: JSON, sign: int) -> None:
        """Add (sign=1) or remove (sign=-1) a live ticket and its comments from the counts."""
        status = t["status"]
        self._count["ticket"] += sign
        self._by_status[status] += sign
        tid = int(t["id"])
        n = self.comment_count(tid)
        self._count["comment"] += sign * n
        self._count["attachment"] += sign * self._attachment_total(tid)

    def _attachment_total(self, tid: int) -> int:
        total = 0
        i = tid - 1
        if 0 <= i < self.n_tickets_generated:
            cb = int(self._t_cbase[i])
            for ci in range(cb, cb + int(self._t_ncomments[i])):
                b = self._c_att[ci]
                total += (b & 3) + (b >> 2 & 1)
        for c in self._extra_comments.get(tid, ()):
            total += len(c["attachments"])
        return total

    def create_ticket(self, data: Any, actor_id: int) -> tuple[JSON, int]:
        """Create Ticket: ``comment`` is required (it becomes the description)."""
        if not isinstance(data, dict):
            raise RecordInvalid(
                "Record validation errors",
                {"ticket": [{"description": 'Send {"ticket": {...}}', "error": "InvalidValue"}]},
            )
        if "comment" not in data:
            raise RecordInvalid(
                "Record validation errors",
                {"description": [{"description": "Description: cannot be blank", "error": "BlankValue"}]},
            )
        tid = self._next_ticket_id
        now = self._now()
        requester_id = data.get("requester_id", actor_id)
        requester = self.render_user(self._check_user(requester_id, "requester_id"), "")
        assert requester is not None
        t: JSON = {
            "id": tid,
            "external_id": None,
            "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}},
            "created_at": iso(now),
            "updated_at": iso(now),
            "generated_timestamp": now,
            "type": None,
            "subject": None,
            "raw_subject": None,
            "description": "",
            "priority": None,
            "status": "new",
            "custom_status_id": CUSTOM_STATUS_BASE + 1,
            "recipient": None,
            "requester_id": requester_id,
            "submitter_id": actor_id,
            "assignee_id": None,
            "organization_id": requester["organization_id"],
            "group_id": None,
            "collaborator_ids": [],
            "follower_ids": [],
            "email_cc_ids": [],
            "forum_topic_id": None,
            "problem_id": None,
            "has_incidents": False,
            "is_public": True,
            "due_at": None,
            "tags": [],
            "custom_fields": [{"id": fid, "value": None} for fid, _ in CUSTOM_FIELDS],
            "fields": [{"id": fid, "value": None} for fid, _ in CUSTOM_FIELDS],
            "satisfaction_rating": {"score": "unoffered"},
            "sharing_agreement_ids": [],
            "followup_ids": [],
            "ticket_form_id": TICKET_FORM_ID,
            "brand_id": BRAND_ID,
            "allow_channelback": False,
            "allow_attachments": True,
            "from_messaging_channel": False,
        }
        fields = {k: v for k, v in data.items() if k != "requester_id"}
        if "status" not in fields and fields.get("assignee_id") is not None:
            fields["status"] = "open"
        self._apply_ticket_fields(t, fields)
        comment = self._new_comment(tid, data["comment"], actor_id, default_public=True)
        t["description"] = comment["body"]
        if t["subject"] is None:
            t["subject"] = t["raw_subject"] = None
        # commit
        self._next_ticket_id += 1
        self._ticket_over[tid] = t
        self._extra_comments[tid] = [comment]
        self.ticket_index.touch(tid, now)
        self._count_ticket(t, +1)
        self._record_event(tid, actor_id, comment, [], now)
        self._invalidate_lists()
        return t, int(comment["audit_id"])

    def update_ticket(self, tid: int, data: Any, actor_id: int) -> tuple[JSON, int]:
        """Update Ticket: any writable field, plus an optional new ``comment``."""
        state = self.ticket_state(tid)
        if state is None or state == "deleted":
            raise RecordNotFound
        if not isinstance(data, dict):
            raise RecordInvalid(
                "Record validation errors",
                {"ticket": [{"description": 'Send {"ticket": {...}}', "error": "InvalidValue"}]},
            )
        current = self.render_ticket(tid, "")
        assert current is not None
        if current["status"] == "closed":
            # Closed (and archived) tickets cannot be changed.
            raise RecordInvalid(
                "Record validation errors",
                {
                    "status": [
                        {"description": "Status: closed prevents ticket update", "error": "InvalidValue"}
                    ]
                },
            )
        trial = dict(current)
        changes = self._apply_ticket_fields(trial, data)
        comment = None
        if "comment" in data:
            comment = self._new_comment(tid, data["comment"], actor_id, default_public=True)
        now = self._now()
        t = self._materialize_ticket(tid)
        self._count_ticket(t, -1)
        t.clear()
        trial.pop("url", None)
        t.update(trial)
        if comment is not None:
            self._extra_comments.setdefault(tid, []).append(comment)
        t["updated_at"] = iso(now)
        t["generated_timestamp"] = now
        self._count_ticket(t, +1)
        self.ticket_index.touch(tid, now)
        self._record_event(tid, actor_id, comment, changes, now)
        self._invalidate_lists()
        return t, self._written_events[-1].audit_id

    def delete_ticket(self, tid: int, actor_id: int) -> None:
        """Delete Ticket (soft delete): it leaves List Tickets, joins deleted_tickets and the
        export stream shows it with status ``deleted``."""
        state = self.ticket_state(tid)
        if state is None or state == "deleted":
            raise RecordNotFound
        if state == "archived":
            self._archived -= 1
        t = self._materialize_ticket(tid)
        self._count_ticket(t, -1)
        now = self._now()
        t["_previous_state"] = t["status"]
        t["status"] = "deleted"
        t["generated_timestamp"] = now
        t["_deleted_at"] = now
        t["_deleted_by"] = actor_id
        self._deleted["ticket"] += 1
        self.ticket_index.touch(tid, now)
        self._invalidate_lists()

    def deleted_ticket_record(self, tid: int) -> JSON:
        """An entry of List Deleted Tickets."""
        over = self._ticket_over.get(tid)
        if over is not None:
            actor = int(over["_deleted_by"])
            return {
                "id": tid,
                "subject": over.get("subject") or "",
                "actor": {"id": actor, "name": self._display_name(actor)},
                "deleted_at": iso(over["_deleted_at"]),
                "previous_state": over["_previous_state"],
            }
        i = tid - 1
        r = random.Random(mix(self.seed, 1, tid))
        actor_index = int(self._agents[mix(self.seed, 9, tid) % len(self._agents)])
        return {
            "id": tid,
            "subject": self._subject(r, tid),
            "actor": {"id": USER_BASE + actor_index, "name": self._user_name(actor_index)},
            "deleted_at": iso(self._t_deleted_at[i]),
            "previous_state": STATUSES[self._t_status[i]],
        }

    def _display_name(self, user_id: int) -> str:
        user = self.render_user(user_id, "")
        return str(user["name"]) if user else "Unknown"

    # ------------------------------------------------------------------ user writes

    def _validate_user_fields(self, data: JSON, *, current_id: int | None) -> None:
        if "name" in data and (not isinstance(data["name"], str) or not data["name"].strip()):
            raise RecordInvalid(
                "Record validation errors",
                {"name": [{"description": "Name: cannot be blank", "error": "BlankValue"}]},
            )
        if "role" in data and data["role"] not in ROLES:
            raise RecordInvalid(
                "Record validation errors",
                {
                    "role": [
                        {"description": "Role: must be end-user, agent or admin", "error": "InvalidValue"}
                    ]
                },
            )
        email = data.get("email")
        if email is not None:
            if not isinstance(email, str) or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
                raise RecordInvalid(
                    "Record validation errors",
                    {
                        "email": [
                            {
                                "description": f"Email: {email} is not properly formatted",
                                "error": "InvalidFormat",
                            }
                        ]
                    },
                )
            other = self.user_by_email(email)
            if other is not None and other["id"] != current_id:
                raise RecordInvalid(
                    "Record validation errors",
                    {
                        "email": [
                            {
                                "description": f"Email: {email} is already being used by another user",
                                "error": "DuplicateValue",
                            }
                        ]
                    },
                )
        org = data.get("organization_id")
        if org is not None and self.org_state(org) != "live":
            raise RecordInvalid(
                "Record validation errors",
                {
                    "organization_id": [
                        {"description": f"Organization {org} does not exist", "error": "InvalidValue"}
                    ]
                },
            )

    _USER_WRITABLE = (
        "name",
        "email",
        "role",
        "organization_id",
        "phone",
        "time_zone",
        "locale",
        "external_id",
        "tags",
        "alias",
        "details",
        "notes",
        "signature",
        "verified",
        "suspended",
        "user_fields",
    )

    def create_user(self, data: Any) -> JSON:
        if not isinstance(data, dict):
            raise RecordInvalid(
                "Record validation errors",
                {"user": [{"description": 'Send {"user": {...}}', "error": "InvalidValue"}]},
            )
        if "name" not in data:
            raise RecordInvalid(
                "Record validation errors",
                {"name": [{"description": "Name: cannot be blank", "error": "BlankValue"}]},
            )
        self._validate_user_fields(data, current_id=None)
        i = self._next_user_index
        self._next_user_index += 1
        uid = USER_BASE + i
        now = self._now()
        role = data.get("role", "end-user")
        user: JSON = {
            "id": uid,
            "name": data["name"],
            "email": data.get("email"),
            "created_at": iso(now),
            "updated_at": iso(now),
            "time_zone": "UTC",
            "iana_time_zone": "Etc/UTC",
            "phone": None,
            "shared_phone_number": None,
            "photo": None,
            "locale_id": 1,
            "locale": "en-US",
            "organization_id": None,
            "role": role,
            "verified": False,
            "external_id": None,
            "tags": [],
            "alias": "",
            "active": True,
            "shared": False,
            "shared_agent": False,
            "last_login_at": None,
            "two_factor_auth_enabled": None,
            "signature": None,
            "details": "",
            "notes": "",
            "role_type": None,
            "custom_role_id": None,
            "moderator": role != "end-user",
            "ticket_restriction": "requested" if role == "end-user" else None,
            "only_private_comments": False,
            "restricted_agent": False,
            "suspended": False,
            "default_group_id": GROUP_BASE if role != "end-user" else None,
            "report_csv": role == "admin",
            "user_fields": {},
            "chat_only": False,
            "remote_photo_url": None,
            "_ts": now,
        }
        for k in self._USER_WRITABLE:
            if k in data:
                user[k] = data[k]
        self._user_over[uid] = user
        if user["email"]:
            self._email_over[str(user["email"]).lower()] = uid
        self._count["user"] += 1
        self.user_index.touch(uid, now)
        self._invalidate_lists()
        return self.render_user(uid, "") or {}

    def _materialize_user(self, uid: int) -> JSON:
        return self._materialize(self._user_over, self.render_user, uid, self.user_updated_ts)

    def update_user(self, uid: int, data: Any) -> JSON:
        if self.user_state(uid) != "live":
            raise RecordNotFound
        if not isinstance(data, dict):
            raise RecordInvalid(
                "Record validation errors",
                {"user": [{"description": 'Send {"user": {...}}', "error": "InvalidValue"}]},
            )
        self._validate_user_fields(data, current_id=uid)
        u = self._materialize_user(uid)
        old_email = (u.get("email") or "").lower()
        for k in self._USER_WRITABLE:
            if k in data:
                u[k] = data[k]
        now = self._now()
        u["updated_at"] = iso(now)
        u["_ts"] = now
        new_email = (u.get("email") or "").lower()
        if old_email != new_email:
            self._email_over.pop(old_email, None)
        if new_email:
            self._email_over[new_email] = uid
        self.user_index.touch(uid, now)
        return self.render_user(uid, "") or {}

    def delete_user(self, uid: int) -> JSON:
        """Delete User (soft): the user turns inactive and moves to deleted_users."""
        if self.user_state(uid) != "live":
            raise RecordNotFound
        u = self._materialize_user(uid)
        now = self._now()
        u["active"] = False
        u["_deleted"] = True
        u["updated_at"] = iso(now)
        u["_ts"] = now
        self._count["user"] -= 1
        self._deleted["user"] += 1
        self.user_index.touch(uid, now)
        self._invalidate_lists()
        return self.render_user(uid, "") or {}

    # ------------------------------------------------------------------ organization writes

    _ORG_WRITABLE = (
        "name",
        "details",
        "notes",
        "domain_names",
        "external_id",
        "group_id",
        "shared_tickets",
        "shared_comments",
        "tags",
        "organization_fields",
    )

    def _validate_org_fields(self, data: JSON, *, current_id: int | None) -> None:
        if "name" in data:
            name = data["name"]
            if not isinstance(name, str) or not name.strip():
                raise RecordInvalid(
                    "Record validation errors",
                    {"name": [{"description": "Name: cannot be blank", "error": "BlankValue"}]},
                )
            lowered = name.strip().lower()
            for oid in self.listable_org_ids().ids:
                if oid != current_id:
                    org = self.render_org(oid, "")
                    if org is not None and str(org["name"]).lower() == lowered:
                        raise RecordInvalid(
                            "Record validation errors",
                            {
                                "name": [
                                    {"description": "Name: has already been taken", "error": "DuplicateValue"}
                                ]
                            },
                        )

    def create_org(self, data: Any) -> JSON:
        if not isinstance(data, dict):
            raise RecordInvalid(
                "Record validation errors",
                {"organization": [{"description": 'Send {"organization": {...}}', "error": "InvalidValue"}]},
            )
        if "name" not in data:
            raise RecordInvalid(
                "Record validation errors",
                {"name": [{"description": "Name: cannot be blank", "error": "BlankValue"}]},
            )
        self._validate_org_fields(data, current_id=None)
        i = self._next_org_index
        self._next_org_index += 1
        oid = ORG_BASE + i
        now = self._now()
        org: JSON = {
            "id": oid,
            "name": data["name"],
            "shared_tickets": False,
            "shared_comments": False,
            "external_id": None,
            "created_at": iso(now),
            "updated_at": iso(now),
            "deleted_at": None,
            "domain_names": [],
            "details": "",
            "notes": "",
            "group_id": None,
            "tags": [],
            "organization_fields": {},
            "_ts": now,
        }
        for k in self._ORG_WRITABLE:
            if k in data:
                org[k] = data[k]
        self._org_over[oid] = org
        self._count["organization"] += 1
        self.org_index.touch(oid, now)
        self._invalidate_lists()
        return self.render_org(oid, "") or {}

    def _materialize_org(self, oid: int) -> JSON:
        return self._materialize(self._org_over, self.render_org, oid, self.org_updated_ts)

    def update_org(self, oid: int, data: Any) -> JSON:
        if self.org_state(oid) != "live":
            raise RecordNotFound
        if not isinstance(data, dict):
            raise RecordInvalid(
                "Record validation errors",
                {"organization": [{"description": 'Send {"organization": {...}}', "error": "InvalidValue"}]},
            )
        self._validate_org_fields(data, current_id=oid)
        o = self._materialize_org(oid)
        for k in self._ORG_WRITABLE:
            if k in data:
                o[k] = data[k]
        now = self._now()
        o["updated_at"] = iso(now)
        o["_ts"] = now
        self.org_index.touch(oid, now)
        return self.render_org(oid, "") or {}

    def delete_org(self, oid: int) -> None:
        if self.org_state(oid) != "live":
            raise RecordNotFound
        o = self._materialize_org(oid)
        now = self._now()
        o["deleted_at"] = iso(now)
        o["updated_at"] = iso(now)
        o["_ts"] = now
        self._count["organization"] -= 1
        self._deleted["organization"] += 1
        self.org_index.touch(oid, now)
        self._invalidate_lists()

    # ------------------------------------------------------------------ uploads

    def add_upload(
        self, filename: str, content: bytes, content_type: str, token: str | None
    ) -> tuple[str, JSON]:
        """Upload Files: stores the bytes under a token, to attach with a later comment."""
        ci = self._next_comment_index + 1_000_000 + len(self._upload_bytes)
        att_id = ATTACHMENT_BASE + ci * 8
        if token is None or token not in self._uploads:
            token = hashlib.sha256(f"upload:{self.seed}:{att_id}".encode()).hexdigest()[:25]
            self._uploads[token] = []
        is_image = content_type.startswith("image/")
        attachment: JSON = {
            "id": att_id,
            "file_name": filename,
            "content_type": content_type,
            "size": len(content),
            "width": None,
            "height": None,
            "inline": False,
            "deleted": False,
            "malware_access_override": False,
            "malware_scan_result": "malware_not_found",
            "thumbnails": [],
        }
        if is_image and content[:8] == b"\x89PNG\r\n\x1a\n" and len(content) >= 24:
            attachment["width"], attachment["height"] = struct.unpack(">II", content[16:24])
        self._uploads[token].append(attachment)
        self._upload_bytes[att_id] = (content, content_type)
        return token, attachment


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


# --------------------------------------------------------------------------- file bytes


def synthesize_file(ext: str, size: int, width: int, height: int, key: int) -> bytes:
    """Deterministic bytes of a well-formed file of the given kind, exactly ``size`` long.

    PNGs are real images (a gradient) padded with a ``tEXt`` chunk; PDFs are a one-page
    document padded with a comment before ``%%EOF``; text and CSV are readable lines.
    """
    r = random.Random(key)
    if ext == "png":
        return _png(size, min(width, 64) or 16, min(height, 48) or 12, r)
    if ext == "pdf":
        return _pdf(size, r)
    if ext == "csv":
        lines = ["id,name,amount,created_at"]
        length = len(lines[0]) + 1  # of the lines so far, each with its newline
        while length < size:
            n = len(lines)
            name = f"{r.choice(FIRST_NAMES)} {r.choice(LAST_NAMES)}"
            amount = f"{r.randint(1, 9999)}.{r.randint(0, 99):02d}"
            lines.append(f"{n},{name},{amount},2024-01-{n % 28 + 1:02d}")
            length += len(lines[-1]) + 1
        return _fit(("\n".join(lines) + "\n").encode(), size)
    sentences = REQUESTER_SENTENCES + AGENT_SENTENCES
    lines = []
    length = 0
    while length < size:
        lines.append(f"[{len(lines):05d}] {r.choice(sentences)}")
        length += len(lines[-1]) + 1
    return _fit(("\n".join(lines) + "\n").encode(), size)


def _fit(data: bytes, size: int) -> bytes:
    if len(data) >= size:
        return data[: size - 1] + b"\n" if size > 0 else b""
    return data + b" " * (size - len(data))


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
    )


def _png(size: int, width: int, height: int, r: random.Random) -> bytes:
    base_color = (r.randrange(256), r.randrange(256), r.randrange(256))
    rows = bytearray()
    for y in range(height):
        rows.append(0)
        for x in range(width):
            rows.extend(((base_color[0] + x * 3) % 256, (base_color[1] + y * 5) % 256, base_color[2]))
    head = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    body = _png_chunk(b"IDAT", zlib.compress(bytes(rows), 9))
    tail = _png_chunk(b"IEND", b"")
    fixed = len(head) + len(body) + len(tail)
    pad = size - fixed - 12 - len(b"Comment\x00")
    if pad < 0:
        # too small for a gradient: a 1x1 image still makes a valid file
        return _png_small(size)
    text = _png_chunk(
        b"tEXt",
        b"Comment\x00"
        + bytes(r.choice(b"abcdefghijklmnopqrstuvwxyz ") for _ in range(min(pad, 64)))
        + b" " * max(0, pad - 64),
    )
    return head + body + text + tail


def _png_small(size: int) -> bytes:
    head = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    body = _png_chunk(b"IDAT", zlib.compress(b"\x00\x80\x80\x80"))
    tail = _png_chunk(b"IEND", b"")
    pad = size - len(head) - len(body) - len(tail) - 12
    if pad < 0:
        return (head + body + tail)[:size]
    return head + body + _png_chunk(b"tEXt", b"C\x00" + b" " * (pad - 2) if pad >= 2 else b" " * pad) + tail


def _pdf(size: int, r: random.Random) -> bytes:
    text = f"Invoice {r.randint(1000, 9999)} - total {r.randint(10, 999)}.00 EUR"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        None,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    stream = f"BT /F1 18 Tf 72 770 Td ({text}) Tj ET".encode()
    objects[3] = b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream"
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        assert obj is not None
        out += f"{n} 0 obj\n".encode() + obj + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n".encode()
    end = b"%%EOF\n"
    pad = size - len(out) - len(end)
    if pad >= 2:
        out += b"%" + b"x" * (pad - 2) + b"\n"
    elif pad > 0:
        out += b"\n" * pad
    out += end
    return bytes(out[:size]) if len(out) > size else bytes(out)
