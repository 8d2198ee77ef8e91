"""Writes: create, update and delete tickets, users and organizations; uploads.

A write materialises the touched object as a plain dict in an overlay of ``GeneratedAccount``
that wins over the generator, stamps wall-clock now, moves the object to the end of its
export stream and keeps the live counts of ``/_simulator/truth`` exact.
"""

from __future__ import annotations

import hashlib
import random
import re
import struct
import time
from collections.abc import Callable
from typing import Any

from .audits import event_id
from .catalog import custom_status_id
from .common import (
    ATTACHMENT_BASE,
    BRAND_ID,
    COMMENT_BASE,
    CUSTOM_STATUS_BASE,
    GROUP_BASE,
    JSON,
    MAX_COMMENTS_PER_TICKET,
    ORG_BASE,
    PRIORITIES,
    ROLES,
    STATUSES,
    TICKET_FORM_ID,
    TICKET_TYPES,
    USER_BASE,
    RecordInvalid,
    RecordNotFound,
    escape_html,
    iso,
    mix,
)
from .generator import GeneratedAccount, TicketEvent
from .words import CUSTOM_FIELDS

# the properties a creation audit lists as Create events, when set
_CREATED_FIELDS = ("subject", "status", "priority", "type", "requester_id", "assignee_id", "group_id", "tags")


class Account(GeneratedAccount):
    """One simulated Zendesk account: generated data plus everything written since start."""

    def _now(self) -> int:
        """Wall-clock now, for a write's stamps; every write asks, so it also moves ``version``."""
        self.version += 1
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
            t["custom_status_id"] = custom_status_id(STATUSES.index(status))
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
                + "".join(f'<p dir="auto">{escape_html(p)}</p>' for p in plain.split("\n") if p)
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
        audit_id = self._next_written_audit  # the audit this comment is made in
        self._next_written_audit += 1
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
            "audit_id": audit_id,
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
        for n, c in enumerate(changes, start=1):
            c["id"] = event_id(audit_id, n)
        ev = TicketEvent(
            ts=ts, audit_id=audit_id, ticket_id=tid, updater_id=actor_id, comment=comment, changes=changes
        )
        self._written_events.append(ev)
        self._written_by_ticket.setdefault(tid, []).append(ev)
        self._written_by_id[audit_id] = ev
        if self._events_index is not None:
            self._events_index.touch(audit_id, ts)

    def render_audit(self, audit_id: int, base: str) -> JSON:
        """The ``audit`` a write answers with (Create/Update Ticket): its comment and changes."""
        return self.audits.written(self._written_by_id[audit_id], base)[0]

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
            total -= sum(
                1
                for a in self._redacted_attachments
                if cb <= (a - ATTACHMENT_BASE) // 8 < cb + int(self._t_ncomments[i])
            )
        for c in self._extra_comments.get(tid, ()):
            total += len(c["attachments"])
        return total

    def redact_comment(self, comment_id: int, data: Any, base: str) -> JSON:
        """Redact Ticket Comment In Agent Workspace (api-reference.md): in ``html_body`` the
        text inside ``<redact>`` tags becomes ▇ characters and an element with the ``redact``
        attribute (an inline image) goes; ``external_attachment_urls`` names attachments
        (by ``content_url``) to remove. Closed and archived tickets' comments included;
        permanent. The reference does not say the ticket's ``updated_at`` moves: it stays."""
        if not isinstance(data, dict) or not isinstance(data.get("ticket_id"), int):
            raise RecordInvalid(
                "Record validation errors",
                {"ticket_id": [{"description": "Ticket: ticket_id is required", "error": "BlankValue"}]},
            )
        tid = int(data["ticket_id"])
        if self.ticket_state(tid) not in ("live", "archived"):
            raise RecordNotFound
        position = next(
            (
                k
                for k in range(self.comment_count(tid))
                if self.render_comment(tid, k, base, include_inline=True)["id"] == comment_id
            ),
            None,
        )
        if position is None:
            raise RecordNotFound
        current = self.render_comment(tid, position, base, include_inline=True)
        urls = data.get("external_attachment_urls") or []
        html_in = data.get("html_body")
        if (
            not isinstance(urls, list)
            or not all(isinstance(u, str) for u in urls)
            or (html_in is not None and not isinstance(html_in, str))
        ):
            raise RecordInvalid(
                "Record validation errors",
                {
                    "comment": [
                        {
                            "description": "html_body is a string, external_attachment_urls a list of URLs",
                            "error": "InvalidValue",
                        }
                    ]
                },
            )
        plain, html = str(current["plain_body"]), str(current["html_body"])
        gone = {int(a["id"]) for a in current["attachments"] if a["content_url"] in urls}
        if html_in:
            untagged = re.sub(
                r"</?redact>", "", re.sub(r"(<[a-z]+)\s+redact\b(=\"[^\"]*\")?", r"\1", html_in)
            )
            if untagged != html:
                raise RecordInvalid(
                    "Record validation errors",
                    {
                        "html_body": [
                            {
                                "description": "html_body is the comment's html_body with redact tags added",
                                "error": "InvalidValue",
                            }
                        ]
                    },
                )
            for element in re.findall(r"<img\s+redact\b[^>]*>", html_in):
                src = re.search(r'src="([^"]*)"', element)
                gone |= {
                    int(a["id"]) for a in current["attachments"] if src and a["content_url"] == src.group(1)
                }
            for secret in re.findall(r"<redact>(.*?)</redact>", html_in, flags=re.S):
                plain = plain.replace(secret, "▇" * len(secret), 1)
            html = re.sub(r"<redact>(.*?)</redact>", lambda m: "▇" * len(m.group(1)), html_in, flags=re.S)
            html = re.sub(r"<img\s+redact\b[^>]*>", "", html)
        for att in current["attachments"]:
            if int(att["id"]) in gone:
                html = re.sub(rf'<img\b[^>]*src="{re.escape(att["content_url"])}"[^>]*>', "", html)
        stored = next((c for c in self._extra_comments.get(tid, ()) if c["id"] == comment_id), None)
        if stored is not None:
            stored["attachments"] = [a for a in stored["attachments"] if int(a["id"]) not in gone]
            stored.update(body=plain, plain_body=plain, html_body=html)
        else:
            self._redacted_attachments |= gone
            self._redacted_bodies[comment_id] = (plain, html)
        self._count["attachment"] -= len(gone)
        self._invalidate_lists()
        return self.render_comment(tid, position, base, include_inline=True)

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
        creates = [
            {"field_name": name, "value": t[name], "event_type": "Create"}
            for name in _CREATED_FIELDS
            if t[name] not in (None, [])
        ]
        self._record_event(tid, actor_id, comment, creates, now)
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
