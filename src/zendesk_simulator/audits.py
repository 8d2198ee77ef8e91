"""Ticket audits as Zendesk serves them, rendered from each ticket's one history.

Two forms of the same audits:

- the Ticket Audits API form (api-reference.md, "Ticket Audits", JSON format: ``id``,
  ``ticket_id``, ``created_at``, ``author_id``, ``metadata``, ``via``, ``events``), with
  events shaped as in the spec's examples (``TicketAuditsForTicketResponseExample``: Comment
  with body/html_body/public/attachments, Change with field_name/value/previous_value and
  its own ``via`` when a rule made it, Notification with subject/body/recipients);
- the Incremental Ticket Event Export form (api-reference.md, "Incremental Ticket Event
  Export"): ``id``, ``ticket_id``, ``timestamp``, ``created_at``, ``updater_id``, ``via`` (a
  name: "Web form", "Mail", "Rule", ...), ``system``, ``event_type: "Audit"``,
  ``child_events``, ``merged_ticket_ids``. A comment child carries only ``comment_present``
  and ``comment_public`` unless ``include=comment_events`` asks for the comment itself
  ("Sideloading": "Any comment present in the ticket update is listed as an object in the
  event's child_events array"). A Create or Change child names the field as its key
  (``"status": "open", "previous_value": "new"``) and a tags change lists ``added_tags`` and
  ``removed_tags``, the shape of Zendesk's "Exporting ticket events" guide. Automations'
  audits have ``updater_id`` -1 (Zendesk itself).

Generated tickets' audits come from ``history.draw_skeleton`` plus a per-ticket draw of the
values (the priorities, types and tags the ticket went through, walked back from its final
state, so replaying the Create and Change events yields exactly the ticket as served);
written tickets' audits are the ones the writes recorded.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cachetools import LRUCache

from .catalog import custom_status_id
from .common import (
    AUDIT_BASE,
    AUTOMATION_BASE,
    CUSTOM_STATUS_BASE,
    GROUP_BASE,
    JSON,
    MACRO_BASE,
    PRIORITIES,
    STATUSES,
    TICKET_TYPES,
    TRIGGER_BASE,
    USER_BASE,
    WRITTEN_AUDIT_BASE,
    iso,
    mix,
)
from .history import (
    ASSIGN,
    CLOSE,
    COMMENT,
    CREATE,
    D_MACRO,
    EDIT,
    F_PRIORITY,
    F_TAGS,
    F_TYPE,
    FOLLOW,
    RATING,
    REMIND,
    SAT_SCORES,
    STRIDE,
    SURVEY,
    TRANSFER,
    macro_applied,
)
from .words import AUTOMATIONS, LOCATIONS, MACROS, TAGS, TRIGGERS, USER_AGENTS

if TYPE_CHECKING:
    from .generator import GeneratedAccount, TicketEvent

# "via" of the ticket event export: the channel's display name
VIA_NAMES = {
    "email": "Mail",
    "web": "Web form",
    "api": "Web service",
    "rule": "Rule",
    "mobile": "Mobile",
    "chat": "Chat",
}
WEB_VIA: JSON = {"channel": "web", "source": {"from": {}, "to": {}, "rel": None}}
# triggers and automations by name (ids: TRIGGER_BASE / AUTOMATION_BASE + position)
T_RECEIVED, T_AGENTS_RECEIVED, T_COMMENT_UPDATE, T_ASSIGNEE_UPDATE, T_ASSIGNMENT = range(5)
A_CLOSE, A_PENDING, A_SURVEY = range(3)


def event_id(audit_id: int, n: int) -> int:
    """Id of the ``n``-th non-comment event of an audit (comment events carry the comment id)."""
    return audit_id * 32 + n


def generated_ticket_of(audit_id: int) -> tuple[int, int] | None:
    """(ticket id, position) of a generated audit id, or None for a written one."""
    if audit_id >= WRITTEN_AUDIT_BASE or audit_id < AUDIT_BASE + STRIDE:
        return None
    return divmod(audit_id - AUDIT_BASE, STRIDE)


def _rule_via(kind: str, index: int) -> JSON:
    if kind == "trigger":
        rule_id, title = TRIGGER_BASE + index + 1, TRIGGERS[index]
    else:
        rule_id, title = AUTOMATION_BASE + index + 1, AUTOMATIONS[index]
    return {
        "channel": "rule",
        "source": {"from": {"id": rule_id, "title": title, "deleted": False}, "to": {}, "rel": kind},
    }


def _walk(final: Any, steps: int, options: Sequence[Any], r: random.Random) -> list[Any]:
    """Values before each of ``steps`` changes, ending in ``final``: [initial, ..., final]."""
    values = [final]
    for _ in range(steps):
        values.append(r.choice([o for o in options if o != values[-1]]))
    values.reverse()
    return values


def _tag_walk(final: list[str], steps: int, r: random.Random) -> list[list[str]]:
    """Tag sets before each of ``steps`` tag edits, ending in ``final`` (each adds or removes one)."""
    current = set(final)
    sets = [sorted(current)]
    for _ in range(steps):
        if current and r.random() < 0.7:
            current.discard(r.choice(sorted(current)))  # undone: this edit added it
        else:
            current.add(r.choice([t for t in TAGS if t not in current]))  # this edit removed it
        sets.append(sorted(current))
    sets.reverse()
    return sets


# Audits drawn ahead for the event export (see AuditRenderer), at most.
EXPORT_AHEAD = 20_000


class AuditRenderer:
    """Renders one account's audits; caches the last few tickets' rendered histories."""

    def __init__(self, account: GeneratedAccount) -> None:
        self.account = account
        self._cache: LRUCache[tuple[int, str], list[tuple[JSON, JSON | None]]] = LRUCache(maxsize=256)
        # The event export and List All Ticket Audits list audits by time, so one ticket's
        # audits lie pages apart and its history would be drawn again for each of them (at
        # 100,000 tickets 72 % of the export's audits missed the cache above: 0.7 s of drawing
        # a page). Drawing a ticket for such a walk keeps its later audits here until the walk
        # reaches them (in_time_order); a reader going through the stream in order has at most
        # about 13,000 waiting at 100,000 tickets.
        self._export_ahead: LRUCache[tuple[int, str], tuple[JSON, JSON | None]] = LRUCache(
            maxsize=EXPORT_AHEAD
        )

    # ------------------------------------------------------------------ generated tickets

    def generated(self, i: int, base: str) -> list[tuple[JSON, JSON | None]]:
        """Every audit of generated ticket ``i`` with the comment it holds (or None)."""
        key = (i, base)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._draw(i, base)
            self._cache[key] = cached
        return cached

    def _user_id(self, index: int) -> int:
        return USER_BASE + index if index >= 0 else -1

    def _web_metadata(self, key: int) -> JSON:
        h = mix(self.account.seed, 13, key)
        location, lat, lon = LOCATIONS[h % len(LOCATIONS)]
        return {
            "system": {
                "client": USER_AGENTS[(h >> 8) % len(USER_AGENTS)],
                "ip_address": f"198.51.100.{(h >> 16) % 254 + 1}",
                "location": location,
                "latitude": lat,
                "longitude": lon,
            },
            "custom": {},
        }

    def _draw(self, i: int, base: str) -> list[tuple[JSON, JSON | None]]:
        a = self.account
        tid = i + 1
        sk = a.skeleton(i)
        final = a._generated_ticket(i, base)
        r = random.Random(mix(a.seed, 11, tid))
        steps = sk.steps
        edits = {f: [j for j, s in enumerate(steps) if s.kind == EDIT and s.detail == f] for f in (0, 1, 2)}
        priorities = _walk(final["priority"], len(edits[F_PRIORITY]), PRIORITIES, r)
        types = _walk(final["type"], len(edits[F_TYPE]), TICKET_TYPES, r)
        tag_sets = _tag_walk(final["tags"], len(edits[F_TAGS]), r)
        edit_values = {
            j: (name, values[n], values[n + 1])
            for f, name, values in (
                (F_PRIORITY, "priority", priorities),
                (F_TYPE, "type", types),
                (F_TAGS, "tags", tag_sets),
            )
            for n, j in enumerate(edits[f])
        }
        requester = int(a._t_requester[i])
        requester_id = USER_BASE + requester
        state: JSON = {
            "status": "new",
            "custom_status_id": CUSTOM_STATUS_BASE + 1,
            "assignee_id": None,
            "group_id": None,
            "satisfaction_score": "unoffered",
        }
        out: list[tuple[JSON, JSON | None]] = []
        for j, st in enumerate(steps):
            audit_id = AUDIT_BASE + tid * STRIDE + j
            events: list[JSON] = []

            def add(event: JSON, audit_id: int = audit_id, events: list[JSON] = events) -> None:
                events.append({"id": event_id(audit_id, len(events) + 1), **event})

            def change(name: str, value: Any, via: JSON | None = None, add: Any = add) -> None:
                if state.get(name) != value:
                    event = {
                        "type": "Change",
                        "field_name": name,
                        "value": value,
                        "previous_value": state[name],
                    }
                    if via is not None:
                        event["via"] = via
                    add(event)
                    state[name] = value

            def notify(rule: JSON, subject: str, body: str, recipients: list[int], add: Any = add) -> None:
                add(
                    {
                        "type": "Notification",
                        "subject": subject,
                        "body": body,
                        "recipients": recipients,
                        "via": rule,
                    }
                )

            comment = None
            if st.comment >= 0:
                comment = a._generated_comment(i, st.comment, base, include_inline=True)
                events.append(comment_event(comment))
            rule_via = _rule_via("automation", A_CLOSE) if st.kind == CLOSE else None
            assignee_id = USER_BASE + st.assignee if st.assignee >= 0 else None
            group_id = GROUP_BASE + st.group if st.group >= 0 else None
            if st.kind == CREATE:
                state["priority"], state["type"], state["tags"] = priorities[0], types[0], tag_sets[0]
                created: list[tuple[str, Any]] = [
                    ("subject", final["subject"]),
                    ("status", "new"),
                    ("custom_status_id", CUSTOM_STATUS_BASE + 1),
                    ("priority", priorities[0]),
                    ("type", types[0]),
                    ("requester_id", requester_id),
                    ("group_id", group_id),
                    ("tags", tag_sets[0]),
                ]
                created += [(str(f["id"]), f["value"]) for f in final["custom_fields"]]
                for name, value in created:
                    if value not in (None, []):
                        add({"type": "Create", "field_name": name, "value": value})
                state["group_id"] = group_id
                notify(
                    _rule_via("trigger", T_RECEIVED),
                    f"[Request received] {final['subject']}",
                    "Your request has been received and is being reviewed by our support staff.",
                    [requester_id],
                )
                agents = a.group_agents(st.group)
                notify(
                    _rule_via("trigger", T_AGENTS_RECEIVED),
                    f"[{a.config.subdomain}] {final['subject']}",
                    f"A ticket (#{tid}) by {a._user_name(requester)} has been received.",
                    [USER_BASE + x for x in agents[:3]],
                )
            else:
                change("status", STATUSES[st.status], rule_via)
                change("custom_status_id", custom_status_id(st.status), rule_via)
                change("assignee_id", assignee_id)
                change("group_id", group_id)
            if st.kind == EDIT:
                name, before, after = edit_values[j]
                state[name] = before
                change(name, after)
            elif st.kind in (ASSIGN, TRANSFER) and assignee_id is not None:
                notify(
                    _rule_via("trigger", T_ASSIGNMENT),
                    f"[{a.config.subdomain}] Assignment: {final['subject']}",
                    f"You have been assigned to this ticket (#{tid}).",
                    [assignee_id],
                )
            elif st.kind == COMMENT and comment is not None and comment["public"]:
                if st.actor == requester:
                    if assignee_id is not None:
                        notify(
                            _rule_via("trigger", T_ASSIGNEE_UPDATE),
                            f"[{a.config.subdomain}] Re: {final['subject']}",
                            comment["body"],
                            [assignee_id],
                        )
                else:
                    if st.detail & D_MACRO:
                        m = macro_applied(a.seed, audit_id, len(MACROS))
                        add(
                            {
                                "type": "AgentMacroReference",
                                "macro_id": MACRO_BASE + m + 1,
                                "macro_title": MACROS[m][0],
                                "macro_deleted": False,
                                "via": WEB_VIA,
                            }
                        )
                    notify(
                        _rule_via("trigger", T_COMMENT_UPDATE),
                        f"[{a.config.subdomain}] Re: {final['subject']}",
                        comment["body"],
                        [requester_id],
                    )
            elif st.kind == FOLLOW:
                add(
                    {
                        "type": "FollowerChange",
                        "previous_followers": [],
                        "current_followers": [a._user_email(st.actor) or a._user_name(st.actor)],
                    }
                )
            elif st.kind == REMIND:
                notify(
                    _rule_via("automation", A_PENDING),
                    f"Re: {final['subject']}",
                    "We are waiting for your reply; the ticket closes automatically if we do not hear back.",
                    [requester_id],
                )
            elif st.kind == SURVEY:
                change("satisfaction_score", "offered", _rule_via("automation", A_SURVEY))
                notify(
                    _rule_via("automation", A_SURVEY),
                    f"How would you rate the support you received? {final['subject']}",
                    "We'd love to hear what you think of our customer service.",
                    [requester_id],
                )
            elif st.kind == RATING:
                score = SAT_SCORES[sk.satisfaction]
                add(
                    {
                        "type": "SatisfactionRating",
                        "score": score,
                        "assignee_id": assignee_id,
                        "body": a.rating_comment(tid),
                    }
                )
                change("satisfaction_score", score)
            if comment is not None:
                via = comment["via"]
                metadata = comment["metadata"]
            elif st.kind == CREATE:
                via, metadata = final["via"], self._web_metadata(audit_id)
            elif st.actor < 0:
                automation = {REMIND: A_PENDING, SURVEY: A_SURVEY}.get(st.kind, A_CLOSE)
                via, metadata = _rule_via("automation", automation), {"system": {}, "custom": {}}
            else:
                via, metadata = WEB_VIA, self._web_metadata(audit_id)
            audit = {
                "id": audit_id,
                "ticket_id": tid,
                "created_at": iso(st.ts),
                "author_id": self._user_id(st.actor),
                "metadata": metadata,
                "via": via,
                "events": events,
            }
            out.append((audit, comment))
        return out

    # ------------------------------------------------------------------ written tickets

    def written(self, ev: TicketEvent, base: str) -> tuple[JSON, JSON | None]:
        """The audit a write recorded, and its comment (with URLs for ``base``)."""
        events: list[JSON] = []
        comment = None
        if ev.comment is not None:
            comment = dict(ev.comment)
            comment["attachments"] = [
                self.account._stored_attachment(x, base) for x in ev.comment["attachments"]
            ]
            events.append(comment_event(comment))
        for change in ev.changes:
            events.append({"id": change["id"], "type": change["event_type"], **change_fields(change)})
        audit = {
            "id": ev.audit_id,
            "ticket_id": ev.ticket_id,
            "created_at": iso(ev.ts),
            "author_id": ev.updater_id,
            "metadata": {"system": {"client": "zendesk-simulator", "ip_address": "127.0.0.1"}, "custom": {}},
            "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}},
            "events": events,
        }
        return audit, comment

    # ------------------------------------------------------------------ lookups

    def for_ticket(self, tid: int, base: str) -> list[tuple[JSON, JSON | None]]:
        """Every audit of ticket ``tid``, oldest first: generated ones, then written ones."""
        a = self.account
        out = list(self.generated(tid - 1, base)) if 0 < tid <= a.n_tickets_generated else []
        out += [self.written(ev, base) for ev in a.written_events_of(tid)]
        return out

    def count_for_ticket(self, tid: int) -> int:
        a = self.account
        n = len(a.skeleton(tid - 1).steps) if 0 < tid <= a.n_tickets_generated else 0
        return n + len(a.written_events_of(tid))

    def _history_at(self, tid: int, j: int, base: str) -> list[tuple[JSON, JSON | None]] | None:
        """Generated ticket ``tid``'s audits, if it has one at position ``j``."""
        a = self.account
        if not 0 < tid <= a.n_tickets_generated or j >= len(a.skeleton(tid - 1).steps):
            return None
        return self.generated(tid - 1, base)

    def one(self, audit_id: int, base: str) -> tuple[JSON, JSON | None] | None:
        where = generated_ticket_of(audit_id)
        if where is not None:
            history = self._history_at(*where, base)
            return None if history is None else history[where[1]]
        ev = self.account.written_event(audit_id)
        return None if ev is None else self.written(ev, base)

    def in_time_order(self, audit_id: int, base: str) -> tuple[JSON, JSON | None] | None:
        """:meth:`one` for readers that walk every ticket's audits by time (the event export,
        List All Ticket Audits): a generated ticket's history is drawn once for all its audits
        as the walk comes to them (generated audits never change; a write makes new ones)."""
        where = generated_ticket_of(audit_id)
        if where is None:
            return self.one(audit_id, base)
        found = self._export_ahead.pop((audit_id, base), None)
        if found is not None:
            return found
        tid, j = where
        history = self._history_at(tid, j, base)
        if history is None:
            return None
        first = audit_id - j
        for k in range(j + 1, len(history)):
            self._export_ahead[(first + k, base)] = history[k]
        return history[j]

    def export_event(self, audit_id: int, base: str, *, comment_events: bool) -> JSON | None:
        """The audit as an item of ``incremental/ticket_events``."""
        found = self.in_time_order(audit_id, base)
        if found is None:
            return None
        audit, comment = found
        via = VIA_NAMES.get(audit["via"]["channel"], "Web form")
        children: list[JSON] = []
        for e in audit["events"]:
            kind = e["type"]
            event_via = VIA_NAMES.get((e.get("via") or audit["via"])["channel"], via)
            ref = ((e.get("via") or {}).get("source") or {}).get("from", {}).get("id")
            head: JSON = {"id": e["id"], "via": event_via, "via_reference_id": ref}
            if kind == "Comment":
                assert comment is not None
                if comment_events:  # the comment object itself, its own ``via`` included
                    children.append(comment_child(comment))
                else:
                    children.append(
                        {
                            **head,
                            "comment_present": True,
                            "comment_public": comment["public"],
                            "event_type": "Comment",
                        }
                    )
            elif kind in ("Create", "Change"):
                name, value = e["field_name"], e["value"]
                child = {**head, name: value}
                if name == "tags":
                    before = set(e.get("previous_value") or [])
                    child["added_tags"] = sorted(set(value) - before)
                    child["removed_tags"] = sorted(before - set(value))
                elif kind == "Change":
                    child["previous_value"] = e["previous_value"]
                child["event_type"] = kind
                children.append(child)
            else:
                rest = {k: v for k, v in e.items() if k not in ("id", "type", "via")}
                children.append({**head, **rest, "event_type": kind})
        return {
            "id": audit["id"],
            "ticket_id": audit["ticket_id"],
            "timestamp": _timestamp(audit["created_at"]),
            "created_at": audit["created_at"],
            "updater_id": audit["author_id"],
            "via": via,
            "system": audit["metadata"].get("system", {}),
            "event_type": "Audit",
            "child_events": children,
            "merged_ticket_ids": [],
        }


def _timestamp(created_at: str) -> int:
    return int(datetime.fromisoformat(created_at).timestamp())


def change_fields(change: JSON) -> JSON:
    out = {"field_name": change["field_name"], "value": change["value"]}
    if change["event_type"] == "Change":
        out["previous_value"] = change["previous_value"]
    return out


# What a comment carries as an event, in the audit and in the event export alike.
_COMMENT_EVENT_KEYS = ("author_id", "body", "html_body", "plain_body", "public", "attachments", "audit_id")


def comment_event(comment: JSON) -> JSON:
    """A comment as an audit's Comment event ("Ticket Audits" example)."""
    return {"id": comment["id"], "type": "Comment", **{k: comment[k] for k in _COMMENT_EVENT_KEYS}}


def comment_child(comment: JSON) -> JSON:
    """A comment as a child event of the export with ``include=comment_events``: the audit's
    Comment event with its channel, time and ``event_type``."""
    return {
        "id": comment["id"],
        "via": comment["via"],
        "via_reference_id": None,
        **comment_event(comment),
        "created_at": comment["created_at"],
        "event_type": "Comment",
    }


__all__ = ["AuditRenderer", "comment_child", "comment_event", "event_id", "generated_ticket_of"]
