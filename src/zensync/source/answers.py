"""Answers the source reads only in part, decoded only as far as it needs them.

A page of the Incremental Ticket Export with ``include=users,groups,organizations,metric_sets``
(api-reference.md, "Incremental Ticket Export, Cursor Based" and "Side-Loading") carries, beside
its 1,000 tickets, every user, group and organization they refer to and a metric set per
ticket. The source needs the tickets whole but only the names of the sideloaded objects and
five figures of each metric set (:mod:`.context`). Read as plain JSON, the sideloads are about
half the page's objects, and they grow with the account: 500 users and 50 organizations a page
in an account of 1,000 tickets, 1,300 users and 950 organizations in one of 100,000.
:data:`ticket_export` reads the page's bytes with msgspec and keeps only those fields (the rest
of each object is skipped, never built): the same page as a dict of the keys the source reads,
in about 6 MB of objects at its peak instead of 14.

The same holds for the user export's sideloaded organizations (:data:`user_export`), the
``show_many`` answers the name caches ask for (:func:`names_of`: names only), the event
export, of which only comment events are kept (:data:`ticket_events`), and the ticket
export read again after a first run's survey, whose tickets are read whole only if they
changed since the survey (:func:`ticket_reread`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

__all__ = [
    "COMMENT_EVENT_TYPES",
    "names_of",
    "ticket_events",
    "ticket_export",
    "ticket_ids",
    "ticket_reread",
    "user_export",
]

COMMENT_EVENT_TYPES = frozenset({"Comment", "VoiceComment"})


class _Named(msgspec.Struct):
    """A sideloaded user, group or organization: what :class:`.names.NameResolver` keeps of it."""

    id: Any = None
    name: Any = None


class _MetricSet(msgspec.Struct):
    """A ticket's metric set (spec ``TicketMetricObject``): what :mod:`.context` shows of it."""

    ticket_id: Any = None
    reply_time_in_minutes: Any = None
    full_resolution_time_in_minutes: Any = None
    replies: Any = None
    solved_at: Any = None


class _ExportPaging(msgspec.Struct):
    """The paging keys of a cursor-based export page (:class:`.paging.ExportCursorPaging`)."""

    after_cursor: Any = None
    after_url: Any = None
    before_cursor: Any = None
    before_url: Any = None
    end_of_stream: Any = None
    end_time: Any = None
    count: Any = None


class _TicketExportPage(_ExportPaging):
    """A page of the cursor-based ticket export (spec ``TicketsIncrementalExportResponse``)
    with its sideloads."""

    tickets: Any = None
    users: list[_Named] | None = None
    groups: list[_Named] | None = None
    organizations: list[_Named] | None = None
    metric_sets: list[_MetricSet] | None = None


class _Id(msgspec.Struct):
    id: Any = None


class _TicketIdsPage(_ExportPaging):
    """A page of the ticket export of which only the tickets' ids are read."""

    tickets: list[_Id] | None = None


class _UserExportPage(_ExportPaging):
    """A page of the cursor-based user export (spec ``UsersIncrementalExportResponse``) with its
    sideloaded organizations."""

    users: Any = None
    organizations: list[_Named] | None = None


_decoder = msgspec.json.Decoder(_TicketExportPage)
_ids_decoder = msgspec.json.Decoder(_TicketIdsPage)
_users_decoder = msgspec.json.Decoder(_UserExportPage)


def _paging(page: msgspec.Struct, keys: type[msgspec.Struct] = _ExportPaging) -> dict[str, Any]:
    """The paging keys (the fields of ``keys``) that ``page`` has."""
    return {key: getattr(page, key) for key in keys.__struct_fields__ if getattr(page, key) is not None}


def _named(objects: list[_Named] | None) -> list[dict[str, Any]] | None:
    return None if objects is None else [{"id": o.id, "name": o.name} for o in objects]


def _add_sideloaded_names(data: dict[str, Any], page: _TicketExportPage | _TicketRereadPage) -> None:
    """The page's sideloaded users, groups and organizations, as ``{"id", "name"}``, into ``data``."""
    for key in ("users", "groups", "organizations"):
        named = _named(getattr(page, key))
        if named is not None:
            data[key] = named


def ticket_export(body: bytes | bytearray) -> dict[str, Any]:
    """A ticket export answer as the dict the source reads: tickets whole; users, groups and
    organizations as ``{"id", "name"}``; metric sets as the figures :mod:`.context` shows.

    A body that is not JSON, or whose sideloads are not lists of objects, raises a
    :class:`msgspec.DecodeError` (a ``ValueError``), which the client reports as a bad answer.
    """
    page = _decoder.decode(body)
    data = _paging(page)
    if page.tickets is not None:
        data["tickets"] = page.tickets
    _add_sideloaded_names(data, page)
    if page.metric_sets is not None:
        data["metric_sets"] = [msgspec.structs.asdict(m) for m in page.metric_sets]
    return data


def ticket_ids(body: bytes | bytearray) -> dict[str, Any]:
    """A ticket export answer of which only each ticket's ``{"id"}`` is kept (the listing of
    tickets the source takes out of the event stream's scope)."""
    page = _ids_decoder.decode(body)
    data = _paging(page)
    if page.tickets is not None:
        data["tickets"] = [{"id": t.id} for t in page.tickets]
    return data


class _TicketBrief(msgspec.Struct):
    """What the re-read after a survey needs of a ticket the survey already emitted: whether
    it is still in scope, its name (its comments' breadcrumb) and when it last changed."""

    id: Any = None
    status: Any = None
    subject: Any = None
    generated_timestamp: Any = None


class _TicketRereadPage(_ExportPaging):
    """A page of the ticket export read again after a survey: each ticket as its JSON text
    until it is known whether it changed since."""

    tickets: list[msgspec.Raw] | None = None
    users: list[_Named] | None = None
    groups: list[_Named] | None = None
    organizations: list[_Named] | None = None
    metric_sets: list[_MetricSet] | None = None


_reread_decoder = msgspec.json.Decoder(_TicketRereadPage)
_brief_decoder = msgspec.json.Decoder(_TicketBrief)
_object_decoder = msgspec.json.Decoder(dict[str, Any])


def ticket_reread(settled_before: int) -> Callable[[bytes | bytearray], dict[str, Any]]:
    """A decoder of the ticket export as the source reads it again after a first run's survey.

    A ticket whose ``generated_timestamp`` ("updated for all ticket updates, including system
    updates", api-reference.md, "Incremental Ticket Export") is below ``settled_before`` has
    not changed since the survey emitted it: only ``{"id", "status", "subject"}`` is kept of
    it, under ``settled_tickets``, since the re-read owes it nothing but its comments. Every
    other ticket (changed since, or without a timestamp) is read whole under ``tickets``, with
    its metric set, as :func:`ticket_export` reads it. A ticket listed twice counts as changed
    if any of its versions is. Sideloaded names are kept as :func:`ticket_export` keeps them.
    """

    def decode(body: bytes | bytearray) -> dict[str, Any]:
        page = _reread_decoder.decode(body)
        data = _paging(page)
        _add_sideloaded_names(data, page)
        changed: set[Any] = set()
        if page.tickets is not None:
            briefs = [(raw, _brief_decoder.decode(raw)) for raw in page.tickets]
            for _raw, brief in briefs:
                g = brief.generated_timestamp
                if not (isinstance(g, int) and not isinstance(g, bool) and g < settled_before):
                    changed.add(brief.id)
            data["tickets"] = [_object_decoder.decode(raw) for raw, brief in briefs if brief.id in changed]
            settled = {
                brief.id: {"id": brief.id, "status": brief.status, "subject": brief.subject}
                for _raw, brief in briefs
                if brief.id not in changed
            }
            data["settled_tickets"] = list(settled.values())
        if page.metric_sets is not None:
            data["metric_sets"] = [
                msgspec.structs.asdict(m) for m in page.metric_sets if m.ticket_id in changed
            ]
        return data

    return decode


def user_export(body: bytes | bytearray) -> dict[str, Any]:
    """A user export answer with ``include=organizations`` as the dict the source reads: users
    whole, organizations as ``{"id", "name"}`` (api-reference.md, "Incremental User Export,
    Cursor Based" and "Side-Loading"). In an account of 100,000 tickets a page of 1,000 users
    sideloads about 600 organizations, 0.9 MB of objects read whole, of which only the names
    are used."""
    page = _users_decoder.decode(body)
    data = _paging(page)
    if page.users is not None:
        data["users"] = page.users
    organizations = _named(page.organizations)
    if organizations is not None:
        data["organizations"] = organizations
    return data


class _Titled(msgspec.Struct):
    """An object listed by ``show_many``: what :class:`.names.NameResolver` names it by."""

    id: Any = None
    name: Any = None
    subject: Any = None


class _UsersListing(msgspec.Struct):
    users: list[_Titled] | None = None


class _OrganizationsListing(msgspec.Struct):
    organizations: list[_Titled] | None = None


class _TicketsListing(msgspec.Struct):
    tickets: list[_Titled] | None = None


_names_decoders: dict[str, msgspec.json.Decoder[Any]] = {
    "users": msgspec.json.Decoder(_UsersListing),
    "organizations": msgspec.json.Decoder(_OrganizationsListing),
    "tickets": msgspec.json.Decoder(_TicketsListing),
}


def names_of(key: str) -> Callable[[bytes | bytearray], dict[str, Any]]:
    """A decoder of a ``show_many`` answer (api-reference.md, "Show Many Users", "Show Many
    Organizations", "Show Many Tickets") that keeps of each object under ``key`` only its
    ``id``, ``name`` and ``subject``: the source asks for them to learn names, and 100 tickets
    read whole are about a megabyte of objects."""
    decoder = _names_decoders[key]

    def decode(body: bytes | bytearray) -> dict[str, Any]:
        objects = getattr(decoder.decode(body), key)
        if objects is None:
            return {}
        return {key: [{"id": o.id, "name": o.name, "subject": o.subject} for o in objects]}

    return decode


class _Event(msgspec.Struct):
    """A ticket event (api-reference.md, "Incremental Ticket Event Export"): what the event stream
    reads of it; its ``child_events`` are kept as their JSON text until their type is known."""

    id: Any = None
    ticket_id: Any = None
    timestamp: Any = None
    created_at: Any = None
    child_events: list[msgspec.Raw] | None = None


class _TimePaging(msgspec.Struct):
    """The paging keys of a time-based export page (:class:`.paging.TimeBasedPaging`)."""

    end_time: Any = None
    end_of_stream: Any = None
    next_page: Any = None
    count: Any = None


class _EventsPage(_TimePaging):
    ticket_events: list[_Event] | None = None


class _ChildType(msgspec.Struct):
    event_type: Any = None


_events_decoder = msgspec.json.Decoder(_EventsPage)
_child_type = msgspec.json.Decoder(_ChildType)
_child = msgspec.json.Decoder(dict[str, Any])


def ticket_events(body: bytes | bytearray) -> dict[str, Any]:
    """A page of the Incremental Ticket Event Export with ``include=comment_events`` as the dict
    the event stream reads: each event's id, ticket, time and its comment child events whole.

    The other child events (status and field changes, notifications; about half of a page's
    bytes) and each event's ``system`` and ``via`` are skipped: the stream emits comments only.
    """
    page = _events_decoder.decode(body)
    data = _paging(page, _TimePaging)
    if page.ticket_events is not None:
        events: list[dict[str, Any]] = []
        for event in page.ticket_events:
            children = [
                _child.decode(raw)
                for raw in event.child_events or ()
                if _child_type.decode(raw).event_type in COMMENT_EVENT_TYPES
            ]
            item = {"id": event.id, "ticket_id": event.ticket_id, "child_events": children}
            if event.timestamp is not None:
                item["timestamp"] = event.timestamp
            if event.created_at is not None:
                item["created_at"] = event.created_at
            events.append(item)
        data["ticket_events"] = events
    return data
