"""The Search API's query language over the account (api-reference.md, "Search").

Supported, from "Query syntax" and the Zendesk Support search reference it links:

- words and ``"quoted phrases"``: every one must occur (case-insensitive) in the object's
  text: a ticket's subject, description and tags; a user's name, email and tags; an
  organization's name, domain names and tags; a group's name. A term matches a whole word or
  the start of one ("top" finds "Top Ten" and "Toppings", not "Desktop": the search
  reference's "Search terms"); ``*`` is the wildcard ("photo*", "c*t");
- ``type:ticket|user|organization|group``;
- ``property:value`` (``:`` is equality, ``<``, ``>``, ``<=``, ``>=`` compare) for tickets:
  ``status`` (ordered new < open < pending < hold < solved < closed), ``priority`` (low <
  normal < high < urgent), ``ticket_type``, ``tags`` / ``tag``, ``requester``, ``assignee``
  (``none`` for unassigned), ``submitter``, ``group``, ``organization``, ``brand``, ``form``,
  ``subject``, ``description``, ``created``, ``updated``; for users: ``role``, ``email``,
  ``name``, ``organization``, ``tags``, ``created``, ``updated``; for organizations:
  ``name``, ``tags``, ``created``, ``updated``. A person (``requester``, ``assignee``,
  ``submitter``) is given by id, email, name or ``me`` (the searching user); an organization
  or group by id or name. Dates are ``YYYY-MM-DD`` or ISO 8601 UTC;
- ``user:`` finds users by id, name or email (the search reference's "user keyword");
- a ``-`` before a term excludes what it matches;
- ``order_by:<field>`` and ``sort:asc|desc`` in the query, or the ``sort_by`` / ``sort_order``
  parameters (``updated_at``, ``created_at``, ``priority``, ``status``, ``ticket_type``);
  the default order (relevance in Zendesk) is newest first by ``updated_at``.

Deleted tickets, users and organizations are never found; archived tickets are.
Unknown properties find nothing, as a Zendesk search for an unknown field does.
"""

from __future__ import annotations

import calendar
import functools
import re
import shlex
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .common import GROUP_BASE, JSON, ORG_BASE, PRIORITIES, STATUSES, TICKET_TYPES, USER_BASE

if TYPE_CHECKING:
    from .generator import GeneratedAccount

TYPES = ("ticket", "user", "organization", "group")
_TERM = re.compile(r"^(-?)([a-z_]+)(<=|>=|:|<|>)(.*)$")
_PRIORITY_ORDER = {p: n for n, p in enumerate(PRIORITIES) if p}
_STATUS_ORDER = {s: n for n, s in enumerate(STATUSES)}
SORTABLE = ("updated_at", "created_at", "priority", "status", "ticket_type")


class SearchError(ValueError):
    """An unreadable query: Zendesk answers 400 ``{"error": "invalid", ...}``."""


@dataclass
class Term:
    negate: bool
    name: str | None  # None: a word or phrase to find in the text
    op: str
    value: str


@dataclass
class Query:
    types: set[str]
    terms: list[Term]
    order_by: str | None
    descending: bool
    me: int | None = None  # the searching user, for ``assignee:me``


def parse(
    text: str, sort_by: str | None = None, sort_order: str | None = None, *, me: int | None = None
) -> Query:
    try:
        parts = shlex.split(text)
    except ValueError as exc:
        raise SearchError(f"Invalid search: {exc}") from None
    types: set[str] = set()
    terms: list[Term] = []
    order_by = sort_by
    descending = (sort_order or "desc").lower() != "asc"
    for part in parts:
        m = _TERM.match(part.lower())
        if m is None:
            negate = part.startswith("-") and len(part) > 1
            terms.append(Term(negate, None, ":", (part[1:] if negate else part).lower()))
            continue
        negate, name, op, value = bool(m.group(1)), m.group(2), m.group(3), m.group(4)
        if name == "type":
            if value not in TYPES:
                raise SearchError(f"Invalid search: unknown type {value!r}; use one of {', '.join(TYPES)}")
            types.add(value)
        elif name == "order_by":
            order_by = value
        elif name == "sort":
            descending = value != "asc"
        else:
            terms.append(Term(negate, name, op, value))
    if order_by is not None and order_by not in SORTABLE:
        raise SearchError(f"Invalid search: sort_by must be one of {', '.join(SORTABLE)}")
    return Query(types or set(TYPES), terms, order_by, descending, me)


def _date(value: str) -> int | None:
    for fmt in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d"):
        try:
            return calendar.timegm(time.strptime(value.upper() if "T" in value.upper() else value, fmt))
        except ValueError:
            continue
    return None


def _compare(op: str, left: Any, right: Any) -> bool:
    if left is None or right is None:
        return False
    if op == ":":
        return bool(left == right)
    if op == "<":
        return bool(left < right)
    if op == ">":
        return bool(left > right)
    if op == "<=":
        return bool(left <= right)
    return bool(left >= right)


class SearchEngine:
    """Matches queries against the account's live objects; results are (type, id) pairs."""

    def __init__(self, account: GeneratedAccount) -> None:
        self.account = account
        self._me: int | None = None
        self._named: dict[tuple[str, str], set[int]] = {}

    # ------------------------------------------------------------------ candidates

    def _objects(self, kind: str) -> Iterator[JSON]:
        a = self.account
        if kind == "ticket":
            for tid in a.searchable_ticket_ids().ids:
                t = a.render_ticket(int(tid), "")
                if t is not None:
                    yield t
        elif kind == "user":
            for uid in a.listable_user_ids().ids:
                u = a.render_user(int(uid), "")
                if u is not None:
                    yield u
        elif kind == "organization":
            for oid in a.listable_org_ids().ids:
                o = a.render_org(int(oid), "")
                if o is not None:
                    yield o
        else:
            for gid in a.group_ids().ids:
                g = a.render_group(int(gid), "")
                if g is not None:
                    yield g

    def _text(self, kind: str, obj: JSON) -> str:
        if kind == "ticket":
            parts = [obj.get("subject") or "", obj.get("description") or "", " ".join(obj.get("tags") or [])]
        elif kind == "user":
            parts = [obj.get("name") or "", obj.get("email") or "", " ".join(obj.get("tags") or [])]
        elif kind == "organization":
            parts = [
                obj.get("name") or "",
                " ".join(obj.get("domain_names") or []),
                " ".join(obj.get("tags") or []),
            ]
        else:
            parts = [obj.get("name") or ""]
        return " ".join(parts).lower()

    def _person(self, value: str) -> set[int]:
        """The users a person value names: an id, ``me``, an email, or a (full) name."""
        if value.isdigit():
            return {int(value)}
        if value == "me":
            return {self._me} if self._me is not None else set()
        if "@" in value:
            user = self.account.user_by_email(value)
            return {int(user["id"])} if user else set()
        return self._by_name("user", value)

    def _by_name(self, kind: str, value: str) -> set[int]:
        """Ids of the live users, organizations or groups named ``value`` (case-insensitive)."""
        key = (kind, value)
        if key not in self._named:
            self._named[key] = {
                int(o["id"]) for o in self._objects(kind) if str(o.get("name") or "").lower() == value
            }
        return self._named[key]

    def _ids(self, kind: str, value: str) -> set[int]:
        return {int(value)} if value.isdigit() else self._by_name(kind, value)

    def _property(self, kind: str, obj: JSON, term: Term) -> bool:
        name, op, value = term.name, term.op, term.value
        if name in ("created", "updated"):
            return _compare(op, _date(str(obj[f"{name}_at"])), _date(value))
        if name in ("tags", "tag"):
            return op == ":" and value in (obj.get("tags") or [])
        if kind == "ticket":
            if name == "status":
                return _compare(op, _STATUS_ORDER.get(str(obj["status"])), _STATUS_ORDER.get(value))
            if name == "priority":
                return _compare(op, _PRIORITY_ORDER.get(obj["priority"] or ""), _PRIORITY_ORDER.get(value))
            if name == "ticket_type":
                return op == ":" and value in TICKET_TYPES and obj["type"] == value
            if name in ("requester", "assignee", "submitter"):
                if value == "none":
                    return obj.get(f"{name}_id") is None
                return obj.get(f"{name}_id") is not None and obj.get(f"{name}_id") in self._person(value)
            if name in ("group", "organization"):
                if value == "none":
                    return obj.get(f"{name}_id") is None
                return obj.get(f"{name}_id") in self._ids(name, value)
            if name in ("brand", "form"):
                key = {"form": "ticket_form_id"}.get(name, f"{name}_id")
                if value == "none":
                    return obj.get(key) is None
                return value.isdigit() and obj.get(key) == int(value)
            if name in ("subject", "description"):
                return value_in(value, str(obj.get(name) or "").lower())
        if kind == "user":
            if name == "role":
                return obj["role"] == value
            if name in ("email", "name"):
                return value in str(obj.get(name) or "").lower()
            if name == "organization":
                return obj.get("organization_id") in self._ids("organization", value)
            if name == "user":
                return int(obj["id"]) in self._person(value) or value_in(
                    value, str(obj.get("name") or "").lower()
                )
        if kind == "organization" and name == "name":
            return value in str(obj.get("name") or "").lower()
        return False

    def _matches(self, kind: str, obj: JSON, terms: list[Term], text: Callable[[], str]) -> bool:
        for term in terms:
            hit = value_in(term.value, text()) if term.name is None else self._property(kind, obj, term)
            if hit == term.negate:
                return False
        return True

    # ------------------------------------------------------------------ search

    def search(self, query: Query) -> list[tuple[str, JSON]]:
        """Every live object the query finds, in the query's order."""
        self._me = query.me
        self._named = {}
        found: list[tuple[str, JSON]] = []
        for kind in TYPES:
            if kind not in query.types:
                continue
            for obj in self._objects(kind):
                cached: list[str] = []

                def text(kind: str = kind, obj: JSON = obj, cached: list[str] = cached) -> str:
                    if not cached:
                        cached.append(self._text(kind, obj))
                    return cached[0]

                if self._matches(kind, obj, query.terms, text):
                    found.append((kind, obj))
        order = query.order_by or "updated_at"

        def key(item: tuple[str, JSON]) -> tuple[Any, int]:
            _kind, obj = item
            if order == "priority":
                return (_PRIORITY_ORDER.get(obj.get("priority") or "", -1), int(obj["id"]))
            if order == "status":
                return (_STATUS_ORDER.get(str(obj.get("status")), -1), int(obj["id"]))
            if order == "ticket_type":
                return (str(obj.get("type") or ""), int(obj["id"]))
            return (str(obj.get(order) or ""), int(obj["id"]))

        found.sort(key=key, reverse=query.descending)
        return found

    def export_order(self, found: list[tuple[str, JSON]]) -> list[tuple[str, JSON]]:
        """Export Search Results: "ordered only by the created_at attribute"."""
        return sorted(found, key=lambda item: (str(item[1].get("created_at") or ""), int(item[1]["id"])))


def value_in(value: str, text: str) -> bool:
    """Whether ``value`` (lowercase; ``*`` a wildcard) occurs in ``text`` at a word's start."""
    return _term_pattern(value).search(text) is not None


@functools.lru_cache(maxsize=256)
def _term_pattern(value: str) -> re.Pattern[str]:
    body = r"\w*".join(re.escape(part) for part in value.split("*"))
    return re.compile(r"(?<!\w)" + body)


def result(kind: str, obj: JSON, base: str) -> JSON:
    """A search result: the object with its URL and ``result_type``."""
    path = {"ticket": "tickets", "user": "users", "organization": "organizations", "group": "groups"}[kind]
    return {**obj, "url": f"{base}/api/v2/{path}/{obj['id']}.json", "result_type": kind}


__all__ = ["GROUP_BASE", "ORG_BASE", "USER_BASE", "Query", "SearchEngine", "SearchError", "parse", "result"]
