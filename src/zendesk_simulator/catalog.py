"""The objects tickets, users and organizations point to, so every id they carry resolves.

Each object has the fields of its schema in support-oas.yaml (``TicketFieldObject``,
``UserFieldObject``, ``OrganizationFieldObject``, ``TicketFormObject``, ``BrandObject``,
``CustomStatusObject``, ``GroupMembershipObject``, ``OrganizationMembershipObject``,
``SatisfactionRatingObject``, ``TicketMetricObject``, ``TicketMetricEventBaseObject``,
``MacroObject``, ``SLAPolicyObject``, ``UserIdentityObject``), with values that agree with
the objects pointing at them:

- ticket fields: the system fields and the three custom fields tickets carry in
  ``custom_fields`` (their option values are the values tickets hold); one ticket form (the
  tickets' ``ticket_form_id``) listing them; one brand (``brand_id``);
- custom statuses: the default one of each status category; a closed ticket keeps its solved
  status ("Custom ticket statuses": closed is not a category of its own);
- user and organization fields: the keys of ``user_fields`` / ``organization_fields``;
- memberships: each agent in its default group, each end user in its organization;
- satisfaction ratings: one per ticket rated good or bad (the ticket's
  ``satisfaction_rating.id``), from the rating audit of the ticket's history;
- ticket metrics and metric events: computed from the ticket's history (first reply, full
  resolution, replies, assignment and status times);
- macros: the ones agents' replies reference (``AgentMacroReference`` events); SLA policies;
- identities: a user's email and phone as identities.
"""

from __future__ import annotations

from datetime import datetime
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from .common import (
    AUDIT_BASE,
    BILLING_BRAND_ID,
    BILLING_FORM_ID,
    BRAND_ID,
    CUSTOM_STATUS_BASE,
    DAY,
    FIELD_BASE,
    GROUP_BASE,
    JSON,
    MACRO_BASE,
    ORG_BASE,
    RATING_BASE,
    STATUSES,
    TICKET_FORM_ID,
    USER_BASE,
    iso,
)
from .history import (
    ASSIGN,
    COMMENT,
    CREATE,
    D_MACRO,
    RATING,
    SAT_BAD,
    SAT_GOOD,
    SAT_SCORES,
    SOLVED,
    STRIDE,
    TRANSFER,
    Skeleton,
    draw_skeleton,
    macro_applied,
)
from .words import CUSTOM_FIELDS, MACROS, PRODUCT_AREAS, REGIONS

if TYPE_CHECKING:
    from .generator import GeneratedAccount

USER_FIELD_BASE = 550_000_000_000
ORG_FIELD_BASE = 560_000_000_000
GROUP_MEMBERSHIP_BASE = 570_000_000_000
ORG_MEMBERSHIP_BASE = 580_000_000_000
METRIC_BASE = 590_000_000_000
METRIC_EVENT_BASE = 600_000_000_000
SLA_POLICY_BASE = 610_000_000_000
IDENTITY_BASE = 620_000_000_000
SYSTEM_FIELD_BASE = FIELD_BASE + 100

# (key, type, title, options) of the system ticket fields (TicketFieldObject.type values)
SYSTEM_TICKET_FIELDS = (
    ("subject", "subject", "Subject"),
    ("description", "description", "Description"),
    ("status", "status", "Status"),
    ("custom_status", "custom_status", "Ticket status"),
    ("tickettype", "tickettype", "Type"),
    ("priority", "priority", "Priority"),
    ("group", "group", "Group"),
    ("assignee", "assignee", "Assignee"),
)
CUSTOM_FIELD_KINDS = {  # id -> (type, options)
    CUSTOM_FIELDS[0][0]: ("text", ()),
    CUSTOM_FIELDS[1][0]: ("tagger", PRODUCT_AREAS),
    CUSTOM_FIELDS[2][0]: ("tagger", REGIONS),
}
USER_FIELDS = (("customer_tier", "dropdown", "Customer tier", ("gold", "silver", "bronze")),)
ORG_FIELDS = (
    ("account_tier", "dropdown", "Account tier", ("gold", "silver", "bronze")),
    ("seats", "integer", "Seats", ()),
)
STATUS_LABELS = ("New", "Open", "Pending", "On-hold", "Solved")
SLA_POLICIES = (
    ("Urgent and high priority", ("urgent", "high"), (60, 240)),
    ("Normal and low priority", ("normal", "low"), (480, 1440)),
)
CUSTOM_STATUS_COUNT = len(STATUS_LABELS)


def custom_status_id(status: int) -> int:
    """The default custom status of a status (index into STATUSES); closed keeps solved's."""
    return CUSTOM_STATUS_BASE + min(status, 4) + 1


def _option(path: str, field_id: int, n: int, value: str, base: str) -> JSON:
    name = value.replace("_", " ").title()
    option_id = field_id * 10 + n + 1
    return {
        "id": option_id,
        "name": name,
        "raw_name": name,
        "value": value,
        "position": n,
        "default": False,
        "url": f"{base}/api/v2/{path}/{field_id}/options/{option_id}.json",
    }


def _minutes(seconds: int | None) -> JSON:
    """{calendar, business} minutes (null until the metric is reached); business hours are
    taken as a third of calendar time."""
    if seconds is None:
        return {"calendar": None, "business": None}
    return {"calendar": seconds // 60, "business": seconds // 180}


def metric_times(skeleton: Skeleton, requester: int) -> tuple[int, int | None, int | None]:
    """(created, first agent reply, first solve) of a ticket's history."""
    steps = skeleton.steps
    first_reply = next(
        (s.ts for s in steps if s.kind == COMMENT and s.public and s.actor != requester and s.actor >= 0),
        None,
    )
    solved = next((s.ts for s in steps if s.status >= SOLVED), None)
    return steps[0].ts, first_reply, solved


def metric_event_count(skeleton: Skeleton, requester: int) -> int:
    """How many Ticket Metric Events ``Catalog.metric_events`` gives the ticket."""
    _created, first_reply, solved = metric_times(skeleton, requester)
    return (
        len(_ACTIVATED) + (first_reply is not None) + (len(_FULFILLED_ON_SOLVE) if solved is not None else 0)
    )


# "Ticket metric event types reference": activate on creation, fulfill when reached
_ACTIVATED = (
    "reply_time",
    "agent_work_time",
    "requester_wait_time",
    "resolution_time",
    "pausable_update_time",
    "periodic_update_time",
)
_FULFILLED_ON_SOLVE = (
    "agent_work_time",
    "requester_wait_time",
    "resolution_time",
    "pausable_update_time",
    "periodic_update_time",
)


class Catalog:
    """Renders the pointed-to objects of one account (``base``: the request's origin)."""

    def __init__(self, account: GeneratedAccount) -> None:
        self.account = account
        self._macro_uses: dict[int, list[int]] | None = None

    @property
    def _created(self) -> int:
        return self.account.earliest

    # ------------------------------------------------------------------ fields and forms

    def ticket_field_ids(self) -> list[int]:
        return sorted(
            [SYSTEM_FIELD_BASE + n for n in range(len(SYSTEM_TICKET_FIELDS))] + [f for f, _ in CUSTOM_FIELDS]
        )

    def ticket_field(self, field_id: int, base: str) -> JSON | None:
        created = iso(self._created)
        common: JSON = {
            "url": f"{base}/api/v2/ticket_fields/{field_id}.json",
            "id": field_id,
            "active": True,
            "agent_can_edit": True,
            "agent_description": "",
            "collapsed_for_agents": False,
            "created_at": created,
            "updated_at": created,
            "creator_app_name": None,
            "creator_user_id": USER_BASE,
            "custom_field_options": [],
            "custom_statuses": [],
            "editable_in_portal": True,
            "regexp_for_validation": None,
            "relationship_filter": {},
            "relationship_target_type": "",
            "required": False,
            "required_in_portal": False,
            "sub_type_id": 0,
            "system_field_options": [],
            "tag": None,
            "visible_in_portal": True,
        }
        n = field_id - SYSTEM_FIELD_BASE
        if 0 <= n < len(SYSTEM_TICKET_FIELDS):
            _key, kind, title = SYSTEM_TICKET_FIELDS[n]
            if kind == "status":
                common["system_field_options"] = [{"name": s.title(), "value": s} for s in STATUSES]
            if kind == "priority":
                common["system_field_options"] = [
                    {"name": p.title(), "value": p} for p in ("low", "normal", "high", "urgent")
                ]
            if kind == "tickettype":
                common["system_field_options"] = [
                    {"name": t.title(), "value": t} for t in ("question", "incident", "problem", "task")
                ]
            if kind == "custom_status":
                common["custom_statuses"] = [
                    self.custom_status(CUSTOM_STATUS_BASE + k + 1, base) for k in range(CUSTOM_STATUS_COUNT)
                ]
            removable = False
            position = n
            description = f"The ticket's {title.lower()}"
            required = kind in ("subject", "description", "status")
        else:
            kind_opts = CUSTOM_FIELD_KINDS.get(field_id)
            if kind_opts is None:
                return None
            title = dict(CUSTOM_FIELDS)[field_id]
            kind, options = kind_opts
            common["custom_field_options"] = [
                _option("ticket_fields", field_id, k, v, base) for k, v in enumerate(options)
            ]
            removable = True
            position = 100 + field_id - FIELD_BASE
            description = f"{title} of the request"
            required = False
        return {
            **common,
            "type": kind,
            "title": title,
            "raw_title": title,
            "title_in_portal": title,
            "raw_title_in_portal": title,
            "description": description,
            "raw_description": description,
            "position": position,
            "removable": removable,
            "required": required,
        }

    def _custom_field(self, kind: str, field_id: int, fields: tuple[Any, ...], base: str) -> JSON | None:
        path = "user_fields" if kind == "user" else "organization_fields"
        field_base = USER_FIELD_BASE if kind == "user" else ORG_FIELD_BASE
        n = field_id - field_base - 1
        if not 0 <= n < len(fields):
            return None
        key, ftype, title, options = fields[n]
        created = iso(self._created)
        return {
            "url": f"{base}/api/v2/{path}/{field_id}.json",
            "id": field_id,
            "key": key,
            "type": ftype,
            "title": title,
            "raw_title": title,
            "description": f"The {title.lower()}",
            "raw_description": f"The {title.lower()}",
            "position": n,
            "active": True,
            "system": False,
            "regexp_for_validation": None,
            "relationship_filter": {},
            "relationship_target_type": "",
            "tag": "",
            "custom_field_options": [_option(path, field_id, k, v, base) for k, v in enumerate(options)],
            "created_at": created,
            "updated_at": created,
        }

    def user_field_ids(self) -> list[int]:
        return [USER_FIELD_BASE + n + 1 for n in range(len(USER_FIELDS))]

    def user_field(self, field_id: int, base: str) -> JSON | None:
        return self._custom_field("user", field_id, USER_FIELDS, base)

    def org_field_ids(self) -> list[int]:
        return [ORG_FIELD_BASE + n + 1 for n in range(len(ORG_FIELDS))]

    def org_field(self, field_id: int, base: str) -> JSON | None:
        return self._custom_field("organization", field_id, ORG_FIELDS, base)

    def ticket_form_ids(self) -> list[int]:
        return [TICKET_FORM_ID, BILLING_FORM_ID]

    def brand_ids(self) -> list[int]:
        return [BRAND_ID, BILLING_BRAND_ID]

    def ticket_form(self, form_id: int, base: str) -> JSON | None:
        """The default form (every field, every brand) and the billing brand's own form (the
        system fields and the first custom fields only)."""
        if form_id not in (TICKET_FORM_ID, BILLING_FORM_ID):
            return None
        default = form_id == TICKET_FORM_ID
        name = "Default Ticket Form" if default else "Billing request"
        fields = self.ticket_field_ids()
        if not default:
            custom = {f for f, _ in CUSTOM_FIELDS}
            fields = [f for f in fields if f not in custom] + [f for f, _ in CUSTOM_FIELDS[:2]]
        created = iso(self._created if default else self._created + 30 * DAY)
        return {
            "url": f"{base}/api/v2/ticket_forms/{form_id}.json",
            "id": form_id,
            "name": name,
            "raw_name": name,
            "display_name": name,
            "raw_display_name": name,
            "position": 1 if default else 2,
            "active": True,
            "default": default,
            "end_user_visible": True,
            "in_all_brands": default,
            "restricted_brand_ids": [] if default else [BILLING_BRAND_ID],
            "ticket_field_ids": fields,
            "agent_conditions": [],
            "end_user_conditions": [],
            "created_at": created,
            "updated_at": created,
            "deleted_at": None,
        }

    def brand(self, brand_id: int, base: str) -> JSON | None:
        """The account's default brand, and a billing brand with its own subdomain and form."""
        if brand_id not in (BRAND_ID, BILLING_BRAND_ID):
            return None
        default = brand_id == BRAND_ID
        account = self.account.config.subdomain
        sub = account if default else f"{account}-billing"
        created = iso(self._created if default else self._created + 30 * DAY)
        return {
            "url": f"{base}/api/v2/brands/{brand_id}.json",
            "id": brand_id,
            "name": f"{account.title()} {'Support' if default else 'Billing'}",
            "brand_url": f"https://{sub}.zendesk.com",
            "subdomain": sub,
            "host_mapping": None,
            "has_help_center": default,
            "help_center_state": "enabled" if default else "disabled",
            "active": True,
            "default": default,
            "is_deleted": False,
            "logo": self._brand_logo(brand_id, base),
            "ticket_form_ids": [TICKET_FORM_ID] if default else [TICKET_FORM_ID, BILLING_FORM_ID],
            "signature_template": "{{agent.signature}}",
            "created_at": created,
            "updated_at": created,
        }

    def _brand_logo(self, brand_id: int, base: str) -> JSON:
        """The brand's logo, an attachment object ("Brands": ``logo``)."""
        logo_id = brand_id * 10 + 1
        url = f"{base}/system/brands/{brand_id}/logo.png"
        return {
            "url": f"{base}/api/v2/attachments/{logo_id}.json",
            "id": logo_id,
            "file_name": "logo.png",
            "content_url": url,
            "mapped_content_url": url,
            "content_type": "image/png",
            "size": 4096,
            "width": 320,
            "height": 80,
            "inline": False,
            "deleted": False,
            "malware_access_override": False,
            "malware_scan_result": "malware_not_found",
            "thumbnails": [],
        }

    def custom_status(self, status_id: int, base: str) -> JSON | None:
        n = status_id - CUSTOM_STATUS_BASE - 1
        if not 0 <= n < CUSTOM_STATUS_COUNT:
            return None
        label = STATUS_LABELS[n]
        created = iso(self._created)
        return {
            "id": status_id,
            "status_category": STATUSES[n],
            "agent_label": label,
            "raw_agent_label": label,
            "end_user_label": "Awaiting reply" if n == 2 else label,
            "raw_end_user_label": "Awaiting reply" if n == 2 else label,
            "description": f"The default {STATUSES[n]} status",
            "raw_description": f"The default {STATUSES[n]} status",
            "end_user_description": "",
            "raw_end_user_description": "",
            "active": True,
            "default": True,
            "created_at": created,
            "updated_at": created,
        }

    # ------------------------------------------------------------------ memberships, identities

    def group_membership_ids(self) -> list[int]:
        return [GROUP_MEMBERSHIP_BASE + int(a) for a in self.account._agents]

    def group_membership(self, membership_id: int, base: str) -> JSON | None:
        a = self.account
        i = membership_id - GROUP_MEMBERSHIP_BASE
        if not 0 <= i < a.n_users_generated or a._u_role[i] == 0:
            return None
        created = iso(int(a._u_created[i]))
        return {
            "url": f"{base}/api/v2/group_memberships/{membership_id}.json",
            "id": membership_id,
            "user_id": USER_BASE + i,
            "group_id": GROUP_BASE + i % a.n_groups,
            "default": True,
            "created_at": created,
            "updated_at": created,
        }

    def org_membership_ids(self) -> list[int]:
        a = self.account
        return [
            ORG_MEMBERSHIP_BASE + i
            for i in range(a.n_users_generated)
            if a._u_org[i] >= 0 and a.user_state(USER_BASE + i) == "live"
        ]

    def org_membership(self, membership_id: int, base: str) -> JSON | None:
        a = self.account
        i = membership_id - ORG_MEMBERSHIP_BASE
        if not 0 <= i < a.n_users_generated or a._u_org[i] < 0:
            return None
        org = int(a._u_org[i])
        created = iso(max(int(a._u_created[i]), int(a._o_created[org])))
        return {
            "url": f"{base}/api/v2/organization_memberships/{membership_id}.json",
            "id": membership_id,
            "user_id": USER_BASE + i,
            "organization_id": ORG_BASE + org,
            "organization_name": a._org_name(org),
            "default": True,
            "view_tickets": False,
            "created_at": created,
            "updated_at": created,
        }

    def identities(self, user: JSON, base: str) -> list[JSON]:
        """A user's email and phone as identities ("User Identities"); the email is primary."""
        uid = int(user["id"])
        out: list[JSON] = []
        for n, (kind, value) in enumerate(
            (("email", user.get("email")), ("phone_number", user.get("phone")))
        ):
            if not value:
                continue
            identity_id = IDENTITY_BASE + (uid - USER_BASE) * 2 + n
            out.append(
                {
                    "url": f"{base}/api/v2/users/{uid}/identities/{identity_id}.json",
                    "id": identity_id,
                    "user_id": uid,
                    "type": kind,
                    "value": value,
                    "verified": bool(user.get("verified")),
                    "primary": not out,
                    "verification_method": "none" if not user.get("verified") else "low",
                    "verified_at": user["created_at"] if user.get("verified") else None,
                    "deliverable_state": "deliverable",
                    "undeliverable_count": 0,
                    "created_at": user["created_at"],
                    "updated_at": user["updated_at"],
                }
            )
        return out

    # ------------------------------------------------------------------ ratings and metrics

    def rated_ticket_ids(self) -> list[int]:
        """Tickets (not deleted) whose history ends in a good or bad rating."""
        a = self.account
        sat = a.satisfaction_codes()
        return [
            i + 1
            for i in range(a.n_tickets_generated)
            if sat[i] in (SAT_GOOD, SAT_BAD) and a.ticket_state(i + 1) != "deleted"
        ]

    def satisfaction_rating(self, rating_id: int, base: str) -> JSON | None:
        a = self.account
        tid = rating_id - RATING_BASE
        i = tid - 1
        if not 0 <= i < a.n_tickets_generated or a.ticket_state(tid) == "deleted":
            return None
        sk = a.skeleton(i)
        if sk.satisfaction not in (SAT_GOOD, SAT_BAD):
            return None
        rated = next(s for s in sk.steps if s.kind == RATING)
        return {
            "url": f"{base}/api/v2/satisfaction_ratings/{rating_id}.json",
            "id": rating_id,
            "ticket_id": tid,
            "requester_id": USER_BASE + int(a._t_requester[i]),
            "assignee_id": USER_BASE + rated.assignee if rated.assignee >= 0 else None,
            "group_id": GROUP_BASE + rated.group if rated.group >= 0 else None,
            "score": SAT_SCORES[sk.satisfaction],
            "comment": a.rating_comment(tid),
            "reason": "No reason provided" if sk.satisfaction == SAT_GOOD else "The issue was not resolved",
            "reason_code": 0 if sk.satisfaction == SAT_GOOD else 7,
            "reason_id": None,
            "created_at": iso(rated.ts),
            "updated_at": iso(rated.ts),
        }

    def ticket_metric(self, tid: int, base: str) -> JSON | None:
        """Ticket Metrics of a generated ticket, computed from its history."""
        a = self.account
        i = tid - 1
        if not 0 <= i < a.n_tickets_generated:
            return None
        sk = a.skeleton(i)
        steps = sk.steps
        created = steps[0].ts
        requester = int(a._t_requester[i])
        first_reply = next(
            (s.ts for s in steps if s.kind == COMMENT and s.public and s.actor != requester and s.actor >= 0),
            None,
        )
        replies = sum(1 for s in steps if s.kind == COMMENT and s.public and s.actor != requester)
        assigned = [
            s.ts for s in steps if s.kind in (ASSIGN, TRANSFER) or (s.kind == COMMENT and s.detail & 1)
        ]
        solved = next((s.ts for s in steps if s.status >= SOLVED), None)
        status_changes = [b.ts for p, b in pairwise(steps) if b.status != p.status]
        requester_steps = [s.ts for s in steps if s.actor == requester]
        comments = [s.ts for s in steps if s.comment >= 0]
        on_hold = sum(
            (b.ts - p.ts)
            for p, b in pairwise(steps)
            if p.status == 3  # hold
        )
        pending = sum((b.ts - p.ts) for p, b in pairwise(steps) if p.status == 2)
        end = solved if solved is not None else a.anchor
        reply_seconds = (first_reply - created) if first_reply is not None else None
        metric_id = METRIC_BASE + tid
        return {
            "url": f"{base}/api/v2/ticket_metrics/{metric_id}.json",
            "id": metric_id,
            "ticket_id": tid,
            "created_at": iso(created),
            "updated_at": iso(steps[-1].ts),
            "group_stations": len({s.group for s in steps if s.group >= 0}),
            "assignee_stations": len({s.assignee for s in steps if s.assignee >= 0}),
            "reopens": 0,
            "replies": replies,
            "assignee_updated_at": iso(assigned[-1]) if assigned else None,
            "requester_updated_at": iso(requester_steps[-1]) if requester_steps else iso(created),
            "status_updated_at": iso(status_changes[-1]) if status_changes else iso(created),
            "custom_status_updated_at": iso(status_changes[-1]) if status_changes else iso(created),
            "initially_assigned_at": iso(assigned[0]) if assigned else None,
            "assigned_at": iso(assigned[-1]) if assigned else None,
            "solved_at": iso(solved) if solved is not None else None,
            "latest_comment_added_at": iso(comments[-1]),
            "reply_time_in_minutes": _minutes(reply_seconds),
            "reply_time_in_seconds": {"calendar": reply_seconds},
            "first_resolution_time_in_minutes": _minutes(None if solved is None else solved - created),
            "full_resolution_time_in_minutes": _minutes(None if solved is None else solved - created),
            "agent_wait_time_in_minutes": _minutes(pending),
            "requester_wait_time_in_minutes": _minutes(max(0, end - created - pending - on_hold)),
            "on_hold_time_in_minutes": _minutes(on_hold),
        }

    def metric_events(self, tid: int) -> list[JSON]:
        """Ticket Metric Events of a generated ticket (``incremental/ticket_metric_events``):
        activations at creation, fulfilments at the first reply and at solve, SLA applied."""
        a = self.account
        i = tid - 1
        created, first_reply, solved = metric_times(a.skeleton(i), int(a._t_requester[i]))
        events: list[tuple[int, str, str]] = [(created, metric, "activate") for metric in _ACTIVATED]
        if first_reply is not None:
            events.append((first_reply, "reply_time", "fulfill"))
        if solved is not None:
            events += [(solved, metric, "fulfill") for metric in _FULFILLED_ON_SOLVE]
        out = []
        for n, (ts, metric, kind) in enumerate(sorted(events, key=lambda e: e[0])):
            out.append(
                {
                    "id": METRIC_EVENT_BASE + tid * 16 + n,
                    "ticket_id": tid,
                    "metric": metric,
                    "instance_id": 1,
                    "type": kind,
                    "time": iso(ts),
                    "deleted": False,
                }
            )
        return out

    # ------------------------------------------------------------------ macros, SLA policies

    def macro_ids(self) -> list[int]:
        return [MACRO_BASE + n + 1 for n in range(len(MACROS))]

    def macro(self, macro_id: int, base: str) -> JSON | None:
        n = macro_id - MACRO_BASE - 1
        if not 0 <= n < len(MACROS):
            return None
        title, text = MACROS[n]
        created = iso(self._created + n * DAY)
        actions = [{"field": "comment_value", "value": text}]
        if title == "Customer not responding":
            actions.append({"field": "status", "value": "pending"})
        return {
            "url": f"{base}/api/v2/macros/{macro_id}.json",
            "id": macro_id,
            "title": title,
            "description": None,
            "active": True,
            "default": False,
            "position": n,
            "restriction": None,
            "actions": actions,
            "created_at": created,
            "updated_at": created,
        }

    def macro_uses(self) -> dict[int, list[int]]:
        """When each macro was applied (macro id → times): the generated agent replies written
        with one, whose audits carry its ``AgentMacroReference``. Drawn once, on first use."""
        if self._macro_uses is None:
            a = self.account
            uses: dict[int, list[int]] = {MACRO_BASE + n + 1: [] for n in range(len(MACROS))}
            for i in range(a.n_tickets_generated):
                requester = int(a._t_requester[i])
                skeleton = draw_skeleton(a.seed, a.ticket_facts(i), a._agents, a.n_groups)
                for n, st in enumerate(skeleton.steps):
                    if st.kind == COMMENT and st.detail & D_MACRO and st.public and st.actor != requester:
                        audit_id = AUDIT_BASE + (i + 1) * STRIDE + n
                        uses[MACRO_BASE + macro_applied(a.seed, audit_id, len(MACROS)) + 1].append(st.ts)
            self._macro_uses = uses
        return self._macro_uses

    def sla_metrics(self, ticket: JSON) -> list[JSON]:
        """The ticket's SLA targets (``include=slas``): its priority's policy's metrics, with
        when each is due and whether the history met it."""
        priority = ticket.get("priority")
        for n, (_title, priorities, (reply, resolution)) in enumerate(SLA_POLICIES):
            if priority not in priorities:
                continue
            metric = self.ticket_metric(int(ticket["id"]), "") or {}
            created = _seconds(ticket["created_at"])
            out = []
            for name, target, reached in (
                ("first_reply_time", reply, (metric.get("reply_time_in_minutes") or {}).get("calendar")),
                (
                    "full_resolution_time",
                    resolution,
                    (metric.get("full_resolution_time_in_minutes") or {}).get("calendar"),
                ),
            ):
                out.append(
                    {
                        "metric": name,
                        "policy_id": SLA_POLICY_BASE + n + 1,
                        "breach_at": iso(created + target * 60),
                        "stage": "achieved"
                        if reached is not None and reached <= target
                        else "active"
                        if reached is None
                        else "breached",
                        "days": target // (24 * 60),
                        "minutes": target,
                    }
                )
            return out
        return []

    def sla_policy_ids(self) -> list[int]:
        return [SLA_POLICY_BASE + n + 1 for n in range(len(SLA_POLICIES))]

    def sla_policy(self, policy_id: int, base: str) -> JSON | None:
        n = policy_id - SLA_POLICY_BASE - 1
        if not 0 <= n < len(SLA_POLICIES):
            return None
        title, priorities, (reply, resolution) = SLA_POLICIES[n]
        created = iso(self._created)
        metrics = []
        for priority in priorities:
            metrics += [
                {
                    "priority": priority,
                    "metric": "first_reply_time",
                    "target": reply,
                    "business_hours": False,
                },
                {
                    "priority": priority,
                    "metric": "full_resolution_time",
                    "target": resolution,
                    "business_hours": True,
                },
            ]
        return {
            "url": f"{base}/api/v2/slas/policies/{policy_id}.json",
            "id": policy_id,
            "title": title,
            "description": f"Targets for {' and '.join(priorities)} priority tickets",
            "position": n + 1,
            "filter": {
                "all": [{"field": "priority", "operator": "includes", "value": list(priorities)}],
                "any": [],
            },
            "policy_metrics": metrics,
            "created_at": created,
            "updated_at": created,
        }


__all__ = ["CREATE", "Catalog", "custom_status_id"]


def _seconds(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())
