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
import time
from array import array
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from cachetools import LRUCache

from .audits import AuditRenderer
from .catalog import CUSTOM_STATUS_COUNT, METRIC_EVENT_BASE, Catalog, custom_status_id, metric_event_count
from .common import (
    ARCHIVE_AFTER,
    ATTACHMENT_BASE,
    AUDIT_BASE,
    BILLING_BRAND_ID,
    BILLING_FORM_ID,
    BRAND_ID,
    COMMENT_BASE,
    DAY,
    GROUP_BASE,
    JSON,
    O_DELETED,
    ORG_BASE,
    PRIORITIES,
    PRIORITY_WEIGHTS,
    RATING_BASE,
    ROLES,
    STATUS_WEIGHTS,
    STATUSES,
    T_ARCHIVED,
    T_DELETED,
    TICKET_FORM_ID,
    TICKET_TYPES,
    TYPE_WEIGHTS,
    U_DELETED,
    U_NO_EMAIL,
    U_SUSPENDED,
    USER_BASE,
    WRITTEN_AUDIT_BASE,
    escape_html,
    iso,
    mix,
)
from .config import SimulatorConfig
from .files import synthesize_file
from .history import (
    SAT_BAD,
    SAT_GOOD,
    SAT_SCORES,
    STRIDE,
    Skeleton,
    TicketFacts,
    draw_skeleton,
)
from .ordering import SortedIds, TimeIndex
from .search import SearchEngine
from .words import (
    AGENT_SENTENCES,
    ATTACHMENT_KINDS,
    CHANNEL_WEIGHTS,
    CHANNELS,
    CUSTOM_FIELDS,
    FEATURES,
    FIRST_NAMES,
    GROUP_NAMES,
    INTERNAL_SENTENCES,
    LAST_NAMES,
    LOCALES,
    LOCATIONS,
    ORG_PREFIXES,
    ORG_SUFFIXES,
    PHRASE_ATTACHMENT_NAME,
    PHRASE_COMMENT_BODY,
    PHRASE_MIN_TICKETS,
    PHRASE_ORG_NAME,
    PHRASE_TICKET_IDS,
    PHRASE_TICKET_SUBJECT,
    PHRASE_USER_NAME,
    PLANS,
    PRODUCT_AREAS,
    PRODUCTS,
    RATING_COMMENTS,
    REGIONS,
    REQUESTER_SENTENCES,
    SUBJECT_TEMPLATES,
    TAGS,
    TIME_ZONES,
    USER_AGENTS,
)

_EMAIL_INDEX_RE = re.compile(r"\.u(\d+)@")


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


class GeneratedAccount:
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
        # Redactions of generated comments: attachments taken out, and (plain, html) bodies.
        self._redacted_attachments: set[int] = set()
        self._redacted_bodies: dict[int, tuple[str, str]] = {}
        self._user_over: dict[int, JSON] = {}
        self._org_over: dict[int, JSON] = {}
        self._email_over: dict[str, int] = {}
        self._written_events: list[TicketEvent] = []
        self._events_index: TimeIndex | None = None
        self._skeletons: LRUCache[int, Skeleton] = LRUCache(maxsize=16384)
        self._audit_counts: array[int] | None = None
        self._written_by_ticket: dict[int, list[TicketEvent]] = {}
        self._written_by_id: dict[int, TicketEvent] = {}
        self._audits = AuditRenderer(self)
        self._group_agents: dict[int, list[int]] = {}
        self._sat_codes: array[int] | None = None
        self._tag_counts: Counter[str] | None = None
        self._open_counts: dict[int, int] | None = None
        self._metric_index: TimeIndex | None = None
        self._metric_event_total = 0
        self._object_truth_cache: tuple[int, JSON] | None = None
        self.version = 0  # moves on every write
        self.catalog = Catalog(self)
        self.searcher = SearchEngine(self)
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
            self._o_flags.append(O_DELETED if deleted else 0)
            self._o_deleted_at.append(updated if deleted else 0)
        live_orgs = [i for i in range(n_orgs) if not self._o_flags[i] & O_DELETED]
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
                    flags |= U_NO_EMAIL
                if rng.random() < 0.03:
                    flags |= U_SUSPENDED
                if i >= 5 and rng.random() < 0.03:
                    flags |= U_DELETED
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
        requesters = [i for i in range(n_users) if self._u_role[i] == 0 and not self._u_flags[i] & U_DELETED]
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
        phrase_tids = set(PHRASE_TICKET_IDS) if self.phrases_enabled else set()
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
                flags |= T_DELETED
                deleted_at = min(self.latest, gen + rng.randint(60, 20 * DAY))
                gen = deleted_at
            elif status == 5 and updated < archive_cutoff:
                flags |= T_ARCHIVED
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
            if tid == PHRASE_TICKET_IDS[1] and tid in phrase_tids:
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
                if tid == PHRASE_TICKET_IDS[2] and tid in phrase_tids and k == 0:
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
            self._malware.discard(ATTACHMENT_BASE + int(self._t_cbase[PHRASE_TICKET_IDS[2] - 1]) * 8)
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
            if self._t_flags[i] & T_DELETED:
                deleted += 1
                continue
            tickets += 1
            by_status[STATUSES[self._t_status[i]]] += 1
            if self._t_flags[i] & T_ARCHIVED:
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
            "user": sum(1 for f in self._u_flags if not f & U_DELETED),
            "organization": sum(1 for f in self._o_flags if not f & O_DELETED),
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
            **self._audit_truth(),
            **self._object_truth(),
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

    def live_count(self, kind: str) -> int:
        """Live (not deleted) tickets, users or organizations: the Count endpoints' figure."""
        return int(self._count[kind])

    def _audit_truth(self) -> JSON:
        """Audits a complete read finds: per ticket (tickets not deleted), in List All Ticket
        Audits (live tickets: "Archived tickets are not included") and in the event export
        (every audit, deleted tickets' included)."""
        self.events_index()
        counts = self._audit_counts
        assert counts is not None
        readable = listed = exported = 0
        for i in range(self.n_tickets_generated):
            n = counts[i]
            exported += n
            state = self.ticket_state(i + 1)
            readable += n if state != "deleted" else 0
            listed += n if state == "live" else 0
        for tid, events in self._written_by_ticket.items():
            exported += len(events)
            state = self.ticket_state(tid)
            readable += len(events) if state != "deleted" else 0
            listed += len(events) if state == "live" else 0
        return {"audit": readable, "audit_listed": listed, "ticket_event": exported}

    def _object_truth(self) -> JSON:
        """How many of each object tickets, users and organizations point to a read finds
        (kept until the next write: every write moves ``version``)."""
        if self._object_truth_cache is not None and self._object_truth_cache[0] == self.version:
            return dict(self._object_truth_cache[1])
        cat = self.catalog
        identities = 0
        for uid in self.listable_user_ids().ids:
            i = int(uid) - USER_BASE
            if int(uid) in self._user_over or i >= self.n_users_generated:
                user = self.render_user(int(uid), "")
                identities += len(cat.identities(user, "")) if user is not None else 0
            else:
                identities += (not self._u_flags[i] & U_NO_EMAIL) + self._has_phone(i)
        self.events_index()
        counts = {
            "ticket_fields": len(cat.ticket_field_ids()),
            "user_fields": len(cat.user_field_ids()),
            "organization_fields": len(cat.org_field_ids()),
            "ticket_forms": len(cat.ticket_form_ids()),
            "brands": len(cat.brand_ids()),
            "custom_statuses": CUSTOM_STATUS_COUNT,
            "group_memberships": len(cat.group_membership_ids()),
            "organization_memberships": len(cat.org_membership_ids()),
            "satisfaction_ratings": len(cat.rated_ticket_ids()),
            "tags": len(self.ticket_tag_counts()),
            "ticket_metrics": len(self.metric_ticket_ids()),
            "ticket_metric_events": self._metric_event_total,
            "macros": len(cat.macro_ids()),
            "sla_policies": len(cat.sla_policy_ids()),
            "identities": identities,
        }
        self._object_truth_cache = (self.version, counts)
        return dict(counts)

    def metric_ticket_ids(self) -> list[int]:
        """Tickets with Ticket Metrics: generated tickets that are not deleted."""
        return [int(t) for t in self.searchable_ticket_ids().ids if t <= self.n_tickets_generated]

    def _phrases(self) -> list[_Phrase]:
        if not self.phrases_enabled:
            return []
        t_subject, t_comment, t_attach = PHRASE_TICKET_IDS
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
        return "deleted" if f & T_DELETED else "archived" if f & T_ARCHIVED else "live"

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
        self._tag_counts = None
        self._open_counts = None

    def ticket_facts(self, i: int) -> TicketFacts:
        """The start-up draw's facts about generated ticket ``i`` that its history ends in."""
        submitter = int(self._t_submitter[i])
        return TicketFacts(
            tid=i + 1,
            created=int(self._t_created[i]),
            updated=int(self._t_updated[i]),
            status=int(self._t_status[i]),
            n_comments=int(self._t_ncomments[i]),
            requester=int(self._t_requester[i]),
            submitter=submitter,
            submitter_is_agent=self._u_role[submitter] > 0,
            assignee=int(self._t_assignee[i]),
            group=int(self._t_group[i]),
            public_comment_one=self.phrases_enabled and i + 1 == PHRASE_TICKET_IDS[1],
        )

    def skeleton(self, i: int) -> Skeleton:
        """The structure of generated ticket ``i``'s history (history.py), drawn once and cached."""
        sk = self._skeletons.get(i)
        if sk is None:
            sk = draw_skeleton(self.seed, self.ticket_facts(i), self._agents, self.n_groups)
            self._skeletons[i] = sk
        return sk

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
        deleted = bool(self._t_flags[i] & T_DELETED)
        requester = int(self._t_requester[i])
        assignee = int(self._t_assignee[i])
        group = int(self._t_group[i])
        org = int(self._u_org[requester]) if requester < self.n_users_generated else -1
        ttype = TICKET_TYPES[self._t_type[i]]
        subject = self._subject(r, tid)
        channel = r.choices(CHANNELS, CHANNEL_WEIGHTS)[0]
        requester_json_email = self._user_email(requester)
        description = self._comment_text(i, 0)[0]
        custom_fields, tags = self._ticket_labels(tid)
        history = self.skeleton(i)
        collaborators = [USER_BASE + history.follower] if history.follower >= 0 else []
        created = int(self._t_created[i])
        updated = int(self._t_updated[i])
        problem = int(self._t_problem[i])
        billing = mix(self.seed, 23, tid) % 5 == 0  # a fifth of the tickets came in through the billing brand
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
            "custom_status_id": custom_status_id(self._t_status[i]),
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
            "satisfaction_rating": self._satisfaction(tid, history),
            "sharing_agreement_ids": [],
            "followup_ids": [],
            "ticket_form_id": BILLING_FORM_ID if billing else TICKET_FORM_ID,
            "brand_id": BILLING_BRAND_ID if billing else BRAND_ID,
            "allow_channelback": False,
            "allow_attachments": True,
            "from_messaging_channel": False,
        }

    def _ticket_labels(self, tid: int) -> tuple[list[JSON], list[str]]:
        """A generated ticket's custom field values and tags, from a stream of their own (so
        List Tags and the truth count them without rendering whole tickets). The product-area
        drop-down adds its value as a tag, as Zendesk's drop-down fields do."""
        r = random.Random(mix(self.seed, 15, tid))
        product_area = r.choice(PRODUCT_AREAS)
        custom_fields: list[JSON] = [
            {"id": CUSTOM_FIELDS[0][0], "value": str(r.randint(10000, 99999))},
            {"id": CUSTOM_FIELDS[1][0], "value": product_area},
            {"id": CUSTOM_FIELDS[2][0], "value": r.choice(REGIONS)},
        ]
        tags = sorted({r.choice(TAGS) for _ in range(r.randint(0, 3))} | {product_area})
        return custom_fields, tags

    def _subject(self, r: random.Random, tid: int) -> str:
        if self.phrases_enabled and tid == PHRASE_TICKET_IDS[0]:
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

    def _satisfaction(self, tid: int, history: Skeleton) -> JSON:
        """``satisfaction_rating`` as the ticket shows it: the score its history ends with."""
        score = SAT_SCORES[history.satisfaction]
        if history.satisfaction not in (SAT_GOOD, SAT_BAD):
            return {"score": score}
        return {"id": RATING_BASE + tid, "score": score, "comment": self.rating_comment(tid)}

    def rating_comment(self, tid: int) -> str:
        return RATING_COMMENTS[mix(self.seed, 12, tid) % len(RATING_COMMENTS)]

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

    def _comment_author(self, i: int, k: int) -> tuple[int, bool, bool]:
        """(user index, is agent, public) of comment ``k``, as its audit in the history says."""
        step = self.skeleton(i).steps[self.skeleton(i).comment_steps[k]]
        return step.actor, self._u_role[step.actor] > 0, step.public

    def _comment_text(self, i: int, k: int) -> tuple[str, str, bool, int]:
        """(plain body, html body, public, author index) of generated comment ``k``."""
        tid = i + 1
        ci = int(self._t_cbase[i]) + k
        r = random.Random(mix(self.seed, 2, ci))
        author, is_agent, public = self._comment_author(i, k)
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
        if self.phrases_enabled and tid == PHRASE_TICKET_IDS[1] and k == 1:
            sentences.insert(0, PHRASE_COMMENT_BODY + ".")
        paragraphs = [" ".join(sentences[: max(1, count // 2)]), " ".join(sentences[max(1, count // 2) :])]
        paragraphs = [p for p in paragraphs if p]
        plain = "\n\n".join(paragraphs)
        if r.random() < 0.3:
            items = "".join(f"<li>{escape_html(s)}</li>" for s in sentences[:2])
            html = (
                '<div class="zd-comment" dir="auto">'
                f'<p dir="auto"><strong>{escape_html(paragraphs[0])}</strong></p>'
                f"<ul>{items}</ul>"
                f'<p dir="auto">See <a href="https://help.example.com/articles/{r.randint(1000, 9999)}">'
                "this article</a>.</p></div>"
            )
            plain = plain + "\n\nSee this article."
        else:
            html = (
                '<div class="zd-comment" dir="auto">'
                + "".join(f'<p dir="auto">{escape_html(p)}</p>' for p in paragraphs)
                + "</div>"
            )
        return plain, html, public, author

    def _comment_time(self, i: int, k: int) -> int:
        """A comment is made in its audit: it carries the audit's time."""
        sk = self.skeleton(i)
        return sk.steps[sk.comment_steps[k]].ts

    def comment_audit_id(self, i: int, k: int) -> int:
        return AUDIT_BASE + (i + 1) * STRIDE + self.skeleton(i).comment_steps[k]

    def _generated_comment(self, i: int, k: int, base: str, *, include_inline: bool) -> JSON:
        ci = int(self._t_cbase[i]) + k
        plain, html, public, author = self._comment_text(i, k)
        r = random.Random(mix(self.seed, 3, ci))
        b = self._c_att[ci]
        redacted = self._redacted_attachments
        attachments = [self._generated_attachment(ci, j, base) for j in range(b & 3)]
        attachments = [a for a in attachments if a["id"] not in redacted]
        if b & 4 and ATTACHMENT_BASE + ci * 8 + 3 not in redacted:
            inline = self._generated_attachment(ci, 3, base)
            html = html[: -len("</div>")] + (
                f'<p dir="auto"><img src="{inline["content_url"]}" alt="{inline["file_name"]}"></p></div>'
            )
            if include_inline:
                attachments.append(inline)
        plain, html = self._redacted_bodies.get(COMMENT_BASE + ci, (plain, html))
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
            "audit_id": self.comment_audit_id(i, k),
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
        if self.phrases_enabled and slot == 0 and ci == int(self._t_cbase[PHRASE_TICKET_IDS[2] - 1]):
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

        return f"{base}/attachments/token/{self.attachment_token(att_id)}/?name={quote(name, safe='')}"

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
        if ATTACHMENT_BASE + ci * 8 + slot % 4 in self._redacted_attachments:
            return None  # redacted: "permanently deleted from Zendesk servers", thumbnail too
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
        """Every audit by (timestamp, audit id): the order of the ticket event export.

        Built on first use from every ticket's history skeleton (about 20 µs a ticket), with
        the per-ticket audit counts ``truth()`` reports.
        """
        if self._events_index is None:
            ts = array("q")
            ids = array("q")
            counts = array("H")
            sat = array("b")
            metric_events = 0
            agents, n_groups, seed = self._agents, self.n_groups, self.seed
            for i in range(self.n_tickets_generated):
                skeleton = draw_skeleton(seed, self.ticket_facts(i), agents, n_groups)
                steps = skeleton.steps
                sat.append(skeleton.satisfaction)
                metric_events += metric_event_count(skeleton, int(self._t_requester[i]))
                first = AUDIT_BASE + (i + 1) * STRIDE
                ts.extend(step.ts for step in steps)
                ids.extend(range(first, first + len(steps)))
                counts.append(len(steps))
            index = TimeIndex(ts, ids)
            for ev in self._written_events:
                index.touch(ev.audit_id, ev.ts)
            self._audit_counts = counts
            self._sat_codes = sat
            self._metric_event_total = metric_events
            self._events_index = index
        return self._events_index

    def satisfaction_codes(self) -> array[int]:
        """Each generated ticket's satisfaction outcome (history.SAT_*), drawn with the index."""
        self.events_index()
        assert self._sat_codes is not None
        return self._sat_codes

    def ticket_tag_counts(self) -> Counter[str]:
        """How many tickets (not deleted) carry each tag: List Tags."""
        if self._tag_counts is None:
            counts: Counter[str] = Counter()
            for tid in self.searchable_ticket_ids().ids:
                over = self._ticket_over.get(int(tid))
                counts.update(over["tags"] if over is not None else self._ticket_labels(int(tid))[1])
            self._tag_counts = counts
        return self._tag_counts

    def metric_events_index(self) -> TimeIndex:
        """Ticket metric events by (time, id): the Ticket Metric Event export's order."""
        if self._metric_index is None:
            ts = array("q")
            ids = array("q")
            for tid in range(1, self.n_tickets_generated + 1):
                for event in self.catalog.metric_events(tid):
                    ts.append(_epoch(event["time"]))
                    ids.append(event["id"])
            self._metric_index = TimeIndex(ts, ids)
        return self._metric_index

    def metric_event(self, event_id: int) -> JSON | None:
        tid, n = divmod(event_id - METRIC_EVENT_BASE, 16)
        if not 0 < tid <= self.n_tickets_generated:
            return None
        events = self.catalog.metric_events(tid)
        return events[n] if n < len(events) else None

    def open_ticket_counts(self) -> dict[int, int]:
        """Tickets each user requested that are not solved or closed (``open_ticket_count``)."""
        if self._open_counts is None:
            counts: Counter[int] = Counter()
            for tid in self.searchable_ticket_ids().ids:
                ticket = self.render_ticket(int(tid), "")
                if ticket is not None and ticket["status"] not in ("solved", "closed"):
                    counts[int(ticket["requester_id"])] += 1
            self._open_counts = dict(counts)
        return self._open_counts

    def incident_count(self, tid: int) -> int:
        """Incidents linked to problem ticket ``tid`` (``include=incident_counts``)."""
        return sum(1 for p in self._t_problem if p == tid)

    def searchable_ticket_ids(self) -> SortedIds:
        """Tickets search finds: every ticket that is not deleted, archived ones included."""
        readable = ("live", "archived")
        return self._cached_list(
            "searchable", lambda: (t for t in self._all_ticket_ids() if self.ticket_state(t) in readable)
        )

    @property
    def audits(self) -> AuditRenderer:
        return self._audits

    def written_events_of(self, tid: int) -> list[TicketEvent]:
        return self._written_by_ticket.get(tid, [])

    def written_event(self, audit_id: int) -> TicketEvent | None:
        return self._written_by_id.get(audit_id)

    def render_event(self, audit_id: int, base: str, *, comment_events: bool) -> JSON | None:
        """One item of the ticket event export: an audit with its child events."""
        return self._audits.export_event(audit_id, base, comment_events=comment_events)

    def group_agents(self, group: int) -> list[int]:
        """Agents (user indexes) whose default group is ``group`` (all agents for none)."""
        cached = self._group_agents.get(group)
        if cached is None:
            cached = [int(x) for x in self._agents if group < 0 or x % self.n_groups == group]
            self._group_agents[group] = cached
        return cached

    # ================================================================== users

    def user_state(self, user_id: int) -> str | None:
        over = self._user_over.get(user_id)
        if over is not None:
            return "deleted" if over.get("_deleted") else "live"
        i = user_id - USER_BASE
        if not 0 <= i < self.n_users_generated:
            return None
        return "deleted" if self._u_flags[i] & U_DELETED else "live"

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
        if self._u_flags[i] & U_NO_EMAIL:
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
        phone = f"+1555{r.randint(1000000, 9999999)}" if self._has_phone(i) else None
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
            "verified": not bool(flags & U_NO_EMAIL) or phone is not None,
            "external_id": f"crm-{i:07d}" if r.random() < 0.3 else None,
            "tags": tags,
            "alias": "",
            "active": not bool(flags & U_DELETED),
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
            "suspended": bool(flags & U_SUSPENDED),
            "default_group_id": GROUP_BASE + (i % self.n_groups) if is_agent else None,
            "report_csv": role == "admin",
            "user_fields": {"customer_tier": r.choice(("gold", "silver", "bronze"))} if not is_agent else {},
            "chat_only": False,
            "remote_photo_url": None,
        }

    def _has_phone(self, i: int) -> bool:
        """Users without email have a phone, and a fifth of the others (a hash, so identities
        are counted without rendering users)."""
        return bool(self._u_flags[i] & U_NO_EMAIL) or mix(self.seed, 16, i) % 5 == 0

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
        return "deleted" if self._o_flags[i] & O_DELETED else "live"

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
        deleted = bool(self._o_flags[i] & O_DELETED)
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


def _epoch(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())
