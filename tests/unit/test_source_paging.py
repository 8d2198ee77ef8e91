"""Export paging shapes the simulator does not produce on demand, through the real client.

Zendesk (api-reference.md, "Incremental Exports", per_page): "In time-based exports, the
system may exceed the 1000-item default return limit if items share the same timestamp", and
the next page starts at ``end_time``, so items of that second come again. These tests serve
such pages with ``httpx.MockTransport`` and check what the source makes of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from zensync.config import ZendeskConfig
from zensync.entities import SourcePage
from zensync.source import Bitmap, InvalidCursor, ZendeskSource
from zensync.zendesk.auth import ApiTokenAuth
from zensync.zendesk.client import ZendeskClient
from zensync.zendesk.errors import AuthenticationError, BadResponse, PermissionDenied

CONFIG = ZendeskConfig(subdomain="acme")
T0 = 1_700_000_000


def iso(t: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def org(i: int, t: int) -> dict[str, Any]:
    return {"id": i, "name": f"Org {i}", "updated_at": iso(t), "created_at": iso(t)}


def client_for(handler: Callable[[httpx.Request], httpx.Response]) -> ZendeskClient:
    return ZendeskClient(
        CONFIG, ApiTokenAuth("admin@example.com", "secret-token"), transport=httpx.MockTransport(handler)
    )


async def collect(source: ZendeskSource, cursor: dict[str, Any] | None = None) -> list[SourcePage]:
    return [page async for page in source.generate_entities(cursor)]


async def test_organization_repeats_at_the_page_boundary_are_dropped() -> None:
    """Page 1 ends at second T0+5 with orgs 2 and 3; page 2 starts there and repeats them."""
    seen_starts: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/api/v2/incremental/organizations.json":
            start = int(request.url.params["start_time"])
            seen_starts.append(start)
            if start == 0:
                body = {"organizations": [org(1, T0), org(2, T0 + 5), org(3, T0 + 5)], "end_time": T0 + 5}
                return httpx.Response(200, json={**body, "count": 3, "end_of_stream": False})
            assert start == T0 + 5
            orgs = [
                org(2, T0 + 5),
                org(3, T0 + 5),
                org(4, T0 + 9),
                {**org(5, T0 + 9), "deleted_at": iso(T0 + 9)},
            ]
            return httpx.Response(
                200, json={"organizations": orgs, "end_time": T0 + 9, "count": 4, "end_of_stream": True}
            )
        if path == "/api/v2/incremental/users/cursor.json":
            return httpx.Response(200, json={"users": [], "after_cursor": "u1", "end_of_stream": True})
        if path == "/api/v2/incremental/tickets/cursor.json":
            return httpx.Response(200, json={"tickets": [], "after_cursor": "t1", "end_of_stream": True})
        raise AssertionError(f"unexpected request {request.url}")

    async with client_for(handler) as client:
        pages = await collect(ZendeskSource(client, CONFIG))
    org_pages = [p for p in pages if p.stream == "organizations"]
    emitted = [e.entity_id for p in org_pages for e in p.entities]
    assert emitted == ["organization:1", "organization:2", "organization:3", "organization:4"]
    assert [d.entity_id for p in org_pages for d in p.deletions] == ["organization:5"]
    assert seen_starts == [0, T0 + 5]
    final = pages[-1].cursor
    assert final["organizations"]["start_time"] == T0 + 9
    assert final["phase"] == "done"

    # A later run starts at the saved end_time and drops the same-second repeat it already has.
    def later(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v2/incremental/organizations.json":
            assert int(request.url.params["start_time"]) == T0 + 9
            return httpx.Response(
                200,
                json={
                    "organizations": [org(4, T0 + 9)],
                    "end_time": T0 + 9,
                    "count": 1,
                    "end_of_stream": True,
                },
            )
        return handler(request)

    async with client_for(later) as client:
        again = await collect(ZendeskSource(client, CONFIG), final)
    assert [e.entity_id for p in again if p.stream == "organizations" for e in p.entities] == []


async def test_export_that_makes_no_progress_is_an_error_not_a_loop() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += request.url.path.startswith("/api/v2/incremental/organizations")
        body = {"organizations": [org(1, T0)], "end_time": T0, "count": 1, "end_of_stream": False}
        return httpx.Response(200, json=body)

    async with client_for(handler) as client:
        with pytest.raises(BadResponse, match="no progress"):
            await collect(ZendeskSource(client, CONFIG), {**ZendeskSource.initial_state()})
    assert calls == 2


async def test_validate_names_the_fix() -> None:
    answers = {
        "admin": {"user": {"id": 1, "name": "Admin", "email": "a@example.com", "role": "admin"}},
        "agent": {"user": {"id": 2, "name": "Agent", "email": "b@example.com", "role": "agent"}},
        "anonymous": {"user": {"id": None, "name": "Anonymous user", "role": "end-user"}},
    }
    for who, body in answers.items():

        def handler(request: httpx.Request, body: dict[str, Any] = body) -> httpx.Response:
            assert request.url.path == "/api/v2/users/me.json"
            return httpx.Response(200, json=body)

        async with client_for(handler) as client:
            source = ZendeskSource(client, CONFIG)
            if who == "admin":
                assert (await source.validate())["id"] == 1
            elif who == "agent":
                with pytest.raises(PermissionDenied, match="must be a Zendesk admin"):
                    await source.validate()
            else:
                with pytest.raises(AuthenticationError, match="credentials were not accepted"):
                    await source.validate()


async def test_foreign_or_damaged_cursor_is_refused_with_the_fix() -> None:
    async with client_for(lambda r: httpx.Response(500)) as client:
        source = ZendeskSource(client, CONFIG)
        with pytest.raises(InvalidCursor, match="full sync"):
            await collect(source, {"version": 99})
        with pytest.raises(InvalidCursor, match="full sync"):
            await collect(source, {**ZendeskSource.initial_state(), "phase": "nonsense"})


def test_bitmap_round_trip() -> None:
    bits = Bitmap()
    for n in (0, 7, 8, 1000, 123_456):
        bits.add(n)
    bits.discard(7)
    again = Bitmap.decode(bits.encode())
    assert [n for n in range(123_460) if n in again] == [0, 8, 1000, 123_456]
    assert len(again) == 4 and -1 not in again and "x" not in again
    with pytest.raises(InvalidCursor):
        Bitmap.decode("not base64!")


class _Answer(dict[str, Any]):
    """A parsed answer that can be watched with a weak reference (plain dicts cannot)."""


async def test_a_page_let_go_by_its_reader_is_freed_while_the_stream_waits() -> None:
    """An export answer is megabytes of objects; a reader that drops its page before waiting
    for room in a queue must really let it go, not leave it held by the paging loop until the
    next page is asked for."""
    import gc
    import weakref

    from zensync.source.cursor import ExportPosition
    from zensync.source.paging import ExportCursorPaging, paginate

    answers: list[weakref.ref[_Answer]] = []

    class Client:
        async def get_json(
            self, path: str, params: dict[str, Any] | None = None, decode: Any = None
        ) -> dict[str, Any]:
            n = len(answers)
            answer = _Answer(
                tickets=[{"id": n * 10 + i} for i in range(3)],
                after_cursor=f"c{n + 1}",
                end_of_stream=n == 2,
            )
            answers.append(weakref.ref(answer))
            return answer

    paging = ExportCursorPaging("tickets", ExportPosition())
    pages = paginate(Client(), "/api/v2/incremental/tickets/cursor.json", paging)  # type: ignore[arg-type]
    seen: list[int] = []
    async for page in pages:
        seen.extend(item["id"] for item in page.items)
        del page  # as the source's streams do before handing their entities on
        gc.collect()
        # the stream is suspended at its yield now, as it is while a queue is full
        assert answers[-1]() is None, "the paging loop still holds the answer the reader let go"
    assert seen == [0, 1, 2, 10, 11, 12, 20, 21, 22]


async def test_each_raw_object_of_a_page_is_let_go_once_its_entity_is_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A page of 1,000 users is about 3.5 MB of decoded objects and 4.5 MB of entities: the
    source builds the entities of a user, organization or event page one by one and lets each
    raw object go as its entity is made, so the two are never both whole in memory."""
    import gc
    import weakref

    from zensync.entities import ZendeskCommentEntity, ZendeskOrganizationEntity, ZendeskUserEntity
    from zensync.source.cursor import ExportPosition, TimePosition

    made: list[weakref.ref[_Answer]] = []

    def watched(obj: dict[str, Any]) -> _Answer:
        raw = _Answer(obj)
        made.append(weakref.ref(raw))
        return raw

    def live() -> int:
        gc.collect()
        return sum(ref() is not None for ref in made)

    live_when_built: list[int] = []
    for entity_type in (ZendeskUserEntity, ZendeskOrganizationEntity, ZendeskCommentEntity):
        build = entity_type.from_api.__func__  # type: ignore[attr-defined]

        def counting(cls: Any, raw: Any, *args: Any, _build: Any = build, **kwargs: Any) -> Any:
            live_when_built.append(live())
            return _build(cls, raw, *args, **kwargs)

        monkeypatch.setattr(entity_type, "from_api", classmethod(counting))

    n = 20

    class Client:
        async def get_json(self, path: str, params: Any = None, decode: Any = None) -> dict[str, Any]:
            if "users" in path:
                users = [watched({"id": i, "name": f"User {i}", "email": f"u{i}@x.org"}) for i in range(n)]
                return {"users": users, "organizations": [], "end_of_stream": True, "after_cursor": "c"}
            orgs = [watched(org(i, T0 + i)) for i in range(1, n + 1)]
            return {"organizations": orgs, "end_time": T0 + n, "count": n, "end_of_stream": True}

    source = ZendeskSource(Client(), CONFIG)  # type: ignore[arg-type]
    for pages in (source._users(ExportPosition()), source._organizations(TimePosition())):
        live_when_built.clear()
        page, _ = await anext(pages)
        assert len(page.entities) == n
        # the k-th entity is built while at most the n - k raw objects still to build are alive
        assert live_when_built == list(range(n, 0, -1))
        del page
        assert live() == 0
        made.clear()

    events = [
        {
            "id": 100 + i,
            "ticket_id": i,
            "created_at": iso(T0),
            "timestamp": T0,
            "child_events": [
                watched({"id": 500 + i, "event_type": "Comment", "body": "Hi", "created_at": iso(T0)})
            ],
        }
        for i in range(1, n + 1)
    ]
    in_scope = Bitmap()
    for i in range(1, n + 1):
        in_scope.add(i)
        source.names.remember("ticket", i, f"Ticket {i}")  # named without a request
    live_when_built.clear()
    entities = await source._event_comments(events, T0 + 1, in_scope)
    assert sum(isinstance(e, ZendeskCommentEntity) for e in entities) == n and not events
    assert live_when_built == list(range(n, 0, -1))
    assert live() == 0
