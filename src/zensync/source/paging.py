"""Zendesk's three paging schemes as small objects, and the one loop that drives them.

Modelled on dlt's REST client paginators (``dlt/sources/helpers/rest_client/paginators.py``):
a paginator knows where a stream stands (its ``position``, which goes into the source's
cursor), what the next request asks for, and how a response moves it on. :func:`paginate`
sends the requests, lets the paginator read each answer, refuses an answer that does not
move the stream (the one no-progress guard) and yields the pages.

The schemes (api-reference.md, "Pagination" and "Incremental Exports"):

* :class:`CursorPaging`: list endpoints, ``page[size]``/``page[after]``; the answer's
  ``meta.has_more``, ``meta.after_cursor`` and ``links.next`` say what follows;
* :class:`ExportCursorPaging`: cursor-based incremental exports, ``start_time`` first and then
  ``cursor``; the answer's ``after_cursor`` and ``end_of_stream``;
* :class:`TimeBasedPaging`: time-based incremental exports, ``start_time``; the answer's
  ``end_time`` (the next ``start_time``) and ``end_of_stream``. Items sharing the page's last
  second come again on the next page ("items sharing a timestamp can repeat across page
  boundaries"), so the paginator remembers their keys and hands on only the fresh items.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Hashable
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from zensync.zendesk.errors import BadResponse

__all__ = [
    "Client",
    "CursorPaging",
    "ExportCursorPaging",
    "ExportPosition",
    "Paginator",
    "TimeBasedPaging",
    "TimePosition",
    "export_start",
    "paginate",
]


class Client(Protocol):
    """What the source needs of :class:`zensync.zendesk.client.ZendeskClient`."""

    async def get_json(
        self,
        path_or_url: str,
        params: dict[str, Any] | None = None,
        *,
        decode: Callable[[bytes | bytearray], Any] | None = None,
    ) -> dict[str, Any]: ...


def export_start(start_time: int) -> int:
    """Zendesk: ``start_time`` "must be at least one minute in the past" (Incremental Exports)."""
    return max(0, min(int(start_time), int(time.time()) - 61))


class ExportPosition(BaseModel):
    """Where a cursor-based export stands: its ``after_cursor``, or the time to start from."""

    model_config = ConfigDict(extra="ignore")

    start_time: int = 0
    cursor: str | None = None


class TimePosition(BaseModel):
    """Where a time-based export stands: the next ``start_time`` and the keys already read at
    that second (they come again on the next page)."""

    model_config = ConfigDict(extra="ignore")

    start_time: int = 0
    boundary: list[str] = Field(default_factory=list)


class Paginator(ABC):
    """One paging scheme: the next request's parameters, and what an answer changes."""

    def __init__(self, items_key: str) -> None:
        self.items_key = items_key
        self.has_more = True
        # the next request's URL when the answer gave one to follow (``links.next``)
        self.next_url: str | None = None

    @abstractmethod
    def request_params(self) -> dict[str, Any]:
        """The paging parameters of the next request."""

    @abstractmethod
    def update(self, data: dict[str, Any]) -> bool:
        """Read one answer: move the position on, set ``has_more``; whether it made progress."""

    def items(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        """The answer's items that are new to this stream (all of them, but for time paging)."""
        found = data.get(self.items_key)
        return [item for item in found if isinstance(item, dict)] if isinstance(found, list) else []


class CursorPaging(Paginator):
    """Cursor pagination of list endpoints: ``page[size]`` (≤ 100) and ``page[after]``."""

    def __init__(self, items_key: str, page_size: int = 100) -> None:
        super().__init__(items_key)
        self.page_size = page_size
        self.after: str | None = None

    def request_params(self) -> dict[str, Any]:
        if self.next_url is not None:
            return {}  # the link carries every parameter
        params: dict[str, Any] = {"page[size]": self.page_size}
        if self.after:
            params["page[after]"] = self.after
        return params

    def update(self, data: dict[str, Any]) -> bool:
        meta = data.get("meta") or {}
        links = data.get("links") or {}
        after = meta.get("after_cursor")
        more = bool(meta.get("has_more"))
        previous = (self.after, self.next_url)
        self.next_url = None
        if more and after:
            self.after = str(after)
        elif more and links.get("next"):
            self.next_url = str(links["next"])
        else:
            more = False
        self.has_more = more
        return not more or (self.after, self.next_url) != previous


class ExportCursorPaging(Paginator):
    """Cursor-based incremental exports: ``start_time``, then ``cursor`` = ``after_cursor``."""

    def __init__(self, items_key: str, position: ExportPosition) -> None:
        super().__init__(items_key)
        self.position = position

    def request_params(self) -> dict[str, Any]:
        if self.position.cursor:
            return {"cursor": self.position.cursor}
        return {"start_time": export_start(self.position.start_time)}

    def update(self, data: dict[str, Any]) -> bool:
        after = data.get("after_cursor")
        previous = self.position.cursor
        if after:
            self.position.cursor = str(after)
        self.has_more = not data.get("end_of_stream") and bool(after)
        return not self.has_more or previous is None or self.position.cursor != previous


class TimeBasedPaging(Paginator):
    """Time-based incremental exports: ``start_time`` = the previous answer's ``end_time``.

    ``key(item)`` tells items apart (e.g. id and ``updated_at``), ``time_of(item)`` is the
    second an item belongs to. ``until``: stop once the export has passed that time.
    """

    def __init__(
        self,
        items_key: str,
        position: TimePosition,
        *,
        key: Callable[[dict[str, Any]], Hashable],
        time_of: Callable[[dict[str, Any]], int | None],
        until: int | None = None,
    ) -> None:
        super().__init__(items_key)
        self.position = position
        self.key = key
        self.time_of = time_of
        self.until = until
        self._fresh: list[dict[str, Any]] = []

    def request_params(self) -> dict[str, Any]:
        return {"start_time": export_start(self.position.start_time)}

    def items(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        fresh, self._fresh = self._fresh, []  # not kept past the page it belongs to
        return fresh

    def update(self, data: dict[str, Any]) -> bool:
        pos = self.position
        start = pos.start_time
        seen = set(pos.boundary)
        every = super().items(data)
        self._fresh = [item for item in every if str(self.key(item)) not in seen]
        raw_end = data.get("end_time")
        end_time = int(raw_end) if raw_end is not None else None
        done = (
            bool(data.get("end_of_stream"))
            or end_time is None
            or (self.until is not None and end_time > self.until)
        )
        progress = done or end_time is None or end_time > start or bool(self._fresh)
        if end_time is not None:
            same_second = [str(self.key(item)) for item in every if self.time_of(item) == end_time]
            carried = pos.boundary if end_time == start else []
            pos.boundary = list(dict.fromkeys([*same_second, *carried]))
            pos.start_time = end_time
        self.has_more = not done
        return progress


@dataclass
class Page:
    """One answer of a paged stream: the raw body, the items new to the stream, and whether
    it is the stream's last page."""

    data: dict[str, Any]
    items: list[dict[str, Any]]
    last: bool

    def take_items(self) -> list[dict[str, Any]]:
        """The items, taken out: the page is left with neither them nor the rest of the answer
        (``data`` is emptied), so a reader that lets each item go once it is used holds no
        other reference to it."""
        items, self.items = self.items, []
        self.data.clear()
        return items


async def paginate(
    client: Client,
    path: str,
    paginator: Paginator,
    params: dict[str, Any] | None = None,
    *,
    first: dict[str, Any] | None = None,
    decode: Callable[[bytes | bytearray], Any] | None = None,
) -> AsyncIterator[Page]:
    """Every page of ``path`` under ``paginator``; ``params`` go with every request.

    ``decode``: how the client reads each answer's body (e.g. :func:`.answers.ticket_export`,
    which keeps only the names of a ticket page's sideloads); by default the whole object.

    ``first``: the first page's answer when it has been read already (the source reads the
    event stream's first page to plan with).

    The no-progress guard: an answer that leaves the stream where it was (the same cursor
    again, or a time-based page of nothing but repeats at the same ``end_time``) would be asked
    for again forever, so it is an error the run stops on.
    """
    fixed = dict(params or {})
    while paginator.has_more:
        if first is not None:
            data, first = first, None
        elif paginator.next_url is not None:
            data = await client.get_json(paginator.next_url, decode=decode)
        else:
            data = await client.get_json(path, params={**fixed, **paginator.request_params()}, decode=decode)
        if not paginator.update(data):
            raise BadResponse(
                f"Zendesk's {paginator.items_key} listing made no progress (the same page again); "
                "try the sync again later",
                method="GET",
                url=path,
            )
        # The answer is referred to by the page alone, and this frame keeps no name for either
        # while it waits at the yield: a caller that lets the page go (before waiting for room
        # in a queue) lets megabytes of objects go, instead of this frame holding them until
        # the next page is asked for.
        box = [data]
        del data
        yield _take_page(box, paginator)


def _take_page(box: list[dict[str, Any]], paginator: Paginator) -> Page:
    """The page of the answer in ``box``, which is left empty."""
    data = box.pop()
    return Page(data=data, items=paginator.items(data), last=not paginator.has_more)
