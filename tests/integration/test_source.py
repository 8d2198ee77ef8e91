"""ZendeskSource against the simulator over real HTTP.

What a user would check: the copy is complete (counts equal the simulator's truth), names are
filled in, every file hangs off its comment, a second run fetches only what changed, an
interrupted run resumed from any saved cursor ends where an uninterrupted one does, closed
tickets stay out when asked, and injected faults change nothing but the time taken.
"""

from __future__ import annotations

import asyncio
import gc
import json
import math
import time
import weakref
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from zendesk_simulator.testing import SimulatorHandle, running_simulator
from zensync.config import ZendeskConfig
from zensync.entities import (
    SourcePage,
    ZendeskAttachmentEntity,
    ZendeskCommentEntity,
    ZendeskEntity,
    ZendeskTicketEntity,
    ZendeskUserEntity,
)
from zensync.source import CommentStrategy, ZendeskSource
from zensync.source.answers import ticket_events, ticket_export, user_export
from zensync.zendesk.auth import ApiTokenAuth
from zensync.zendesk.client import ZendeskClient
from zensync.zendesk.errors import AuthenticationError, PermissionDenied

COUNTED = ("ticket", "comment", "user", "organization", "attachment")
COMMENTS_ENDPOINT = "GET /api/v2/tickets/{id}/comments"
# A simulated minute of one second: rate-limit windows and the minute the exports hold back
# pass quickly, while pacing and 429s stay real.
FAST = {"minute_seconds": 1, "seed": 11}


# ------------------------------------------------------------------------------ helpers


def config_for(sim: SimulatorHandle, *, exclude_closed: bool = False) -> ZendeskConfig:
    return ZendeskConfig(
        subdomain=sim.subdomain, base_url=sim.base_url, exclude_closed_tickets=exclude_closed
    )


async def run(
    sim: SimulatorHandle,
    cursor: dict[str, Any] | None = None,
    *,
    strategy: CommentStrategy = "auto",
    exclude_closed: bool = False,
    page_size: int = 1000,
    email: str | None = None,
    budgets: dict[str, int] | None = None,
) -> list[SourcePage]:
    config = config_for(sim, exclude_closed=exclude_closed)
    auth = ApiTokenAuth(email or sim.admin_email, sim.api_token)
    async with ZendeskClient(config, auth, backoff=0.05, max_backoff=0.5) as client:
        source = ZendeskSource(
            client, config, comment_strategy=strategy, export_page_size=page_size, budgets=budgets
        )
        return [page async for page in source.generate_entities(cursor)]


Store = dict[str, ZendeskEntity]


def apply(store: Store, pages: list[SourcePage]) -> Store:
    """What the sync engine does with pages: upsert, then delete (a ticket takes its children)."""
    for page in pages:
        for entity in page.entities:
            store[entity.entity_id] = entity
        for deletion in page.deletions:
            store.pop(deletion.entity_id, None)
            if deletion.entity_type in ("ticket", "comment"):
                number = int(deletion.entity_id.split(":", 1)[1])
                field = "ticket_id" if deletion.entity_type == "ticket" else "comment_id"
                for key in [
                    k
                    for k, e in store.items()
                    if isinstance(e, ZendeskCommentEntity | ZendeskAttachmentEntity)
                    and getattr(e, field) == number
                ]:
                    del store[key]
    return store


def counts(store: Store) -> dict[str, int]:
    found = Counter(e.entity_type for e in store.values())
    return {t: found.get(t, 0) for t in COUNTED}


def hashes(store: Store) -> dict[str, str]:
    return {k: e.content_hash() for k, e in store.items()}


def contents(store: Store, base_url: str) -> dict[str, str]:
    """Entity contents with the simulator's own address taken out, to compare two simulators."""
    return {k: json.dumps(e.content(), sort_keys=True).replace(base_url, "BASE") for k, e in store.items()}


def of_type(store: Store, cls: type[ZendeskEntity]) -> list[Any]:
    return [e for e in store.values() if isinstance(e, cls)]


def comment_pages(store: Store) -> int:
    """Requests a per-ticket read of every stored ticket's comments takes (100 a page)."""
    per_ticket = Counter(c.ticket_id for c in of_type(store, ZendeskCommentEntity))
    return sum(max(1, math.ceil(per_ticket.get(t.id, 0) / 100)) for t in of_type(store, ZendeskTicketEntity))


def assert_complete(store: Store, truth: dict[str, Any], *, exclude_closed: bool = False) -> None:
    expected = {t: truth[t] for t in COUNTED}
    if exclude_closed:
        expected["ticket"] -= truth["tickets_by_status"].get("closed", 0)
        for ticket in of_type(store, ZendeskTicketEntity):
            assert ticket.status != "closed"
    got = counts(store)
    if exclude_closed:
        assert got["ticket"] == expected["ticket"]
        assert got["user"] == expected["user"] and got["organization"] == expected["organization"]
        assert 0 < got["comment"] < expected["comment"]
    else:
        assert got == expected


def assert_well_formed(store: Store) -> None:
    """Names resolved, every comment on a stored ticket, every file on a stored comment."""
    users = {u.id: u.name for u in of_type(store, ZendeskUserEntity)}
    tickets = {t.id: t for t in of_type(store, ZendeskTicketEntity)}
    comments = {c.id: c for c in of_type(store, ZendeskCommentEntity)}
    for ticket in tickets.values():
        assert (
            ticket.web_url
            == f"https://{ticket.web_url.split('//')[1].split('/')[0]}/agent/tickets/{ticket.id}"
        )
        if ticket.requester_id in users:
            assert ticket.requester_name == users[ticket.requester_id]
        if ticket.assignee_id in users:
            assert ticket.assignee_name == users[ticket.assignee_id]
        if ticket.group_id is not None:
            assert ticket.group_name
        if ticket.organization_id is not None and f"organization:{ticket.organization_id}" in store:
            assert ticket.organization_name == store[f"organization:{ticket.organization_id}"].name
    for comment in comments.values():
        assert comment.ticket_id in tickets, comment.entity_id
        assert comment.breadcrumbs[0].entity_id == f"ticket:{comment.ticket_id}"
        assert comment.breadcrumbs[0].name == tickets[comment.ticket_id].name
        if comment.author_id in users:
            assert comment.author_name == users[comment.author_id]
    attachments = of_type(store, ZendeskAttachmentEntity)
    for att in attachments:
        assert att.comment_id in comments, att.entity_id
        assert att.ticket_id == comments[att.comment_id].ticket_id
        assert att.public == comments[att.comment_id].public
        assert att.id in comments[att.comment_id].attachment_ids
        assert att.content_url and att.file_name
    assert any(a.inline for a in attachments), "inline images are part of the copy"
    for user in of_type(store, ZendeskUserEntity):
        if user.organization_id is not None and f"organization:{user.organization_id}" in store:
            assert user.organization_name == store[f"organization:{user.organization_id}"].name


def comment_requests(sim: SimulatorHandle) -> int:
    return int(sim.stats()["requests"].get(COMMENTS_ENDPOINT, 0))


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorHandle]:
    """A small read-only account shared by the tests that do not write.

    Without rate limits: the resume tests re-run the rest of a run from every page.
    """
    with running_simulator(tickets=60, no_rate_limits=True, **FAST) as handle:
        yield handle


# ------------------------------------------------------------------------------ complete copies


@pytest.mark.parametrize("strategy", ["auto", "per_ticket", "bulk"])
async def test_full_run_is_complete_with_names_and_paths(
    sim: SimulatorHandle, strategy: CommentStrategy
) -> None:
    pages = await run(sim, strategy=strategy)
    store = apply({}, pages)
    truth = sim.truth()
    assert_complete(store, truth)
    assert_well_formed(store)
    assert pages[-1].cursor["phase"] == "done"
    users_without_email = [u for u in of_type(store, ZendeskUserEntity) if not u.email]
    assert users_without_email, "users without an email are kept"


async def test_bulk_and_per_ticket_agree(sim: SimulatorHandle) -> None:
    """The two ways of reading comments give the same copy (the event form has no metadata)."""
    per_ticket = apply({}, await run(sim, strategy="per_ticket"))
    bulk = apply({}, await run(sim, strategy="bulk"))
    assert set(per_ticket) == set(bulk)
    differing = {k for k in per_ticket if per_ticket[k].content_hash() != bulk[k].content_hash()}
    for key in differing:  # only comments may differ, and only by the list-only metadata
        a, b = per_ticket[key], bulk[key]
        assert isinstance(a, ZendeskCommentEntity) and isinstance(b, ZendeskCommentEntity), key
        assert a.model_copy(update={"metadata": None}).content_hash() == b.content_hash()


async def test_small_first_run_reads_each_ticket_once(sim: SimulatorHandle) -> None:
    before = sim.stats()["requests"]
    store = apply({}, await run(sim))
    after = sim.stats()["requests"]
    sent = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    # one request per 100 comments of each ticket, and never the same ticket twice
    assert sent[COMMENTS_ENDPOINT] == comment_pages(store)
    assert sent.get("GET /api/v2/incremental/ticket_events", 0) == 0


async def test_the_re_read_after_a_survey_builds_again_only_the_tickets_changed_since() -> None:
    """A first run's survey emits every ticket; the re-read of the ticket stream from the split
    time, which drives the per-ticket comment reads, emits again only the tickets changed since
    (here one, renamed in between), and every comment still arrives, named after its ticket as
    it is now."""
    with running_simulator(tickets=60, **FAST) as sim:
        config = config_for(sim)
        auth = ApiTokenAuth(sim.admin_email, sim.api_token)
        pages: list[SourcePage] = []
        survey: list[ZendeskTicketEntity] = []
        renamed: int | None = None
        plan: dict[str, Any] = {}
        calls_before = comment_requests(sim)
        async with ZendeskClient(config, auth, backoff=0.05, max_backoff=0.5) as client:
            # A small plan budget makes the planner split: events for the older tickets, the
            # ticket stream re-read from the split time for the newer ones.
            source = ZendeskSource(client, config, export_page_size=25, budgets={"account": 30})
            async for page in source.generate_entities(None):
                pages.append(page)
                if renamed is None and page.cursor and page.cursor["phase"] == "tickets":
                    # The survey is over and planned; the re-read has not begun.
                    plan = page.cursor
                    survey = [e for p in pages for e in p.entities if isinstance(e, ZendeskTicketEntity)]
                    split = plan["tickets"]["start_time"]
                    later = sorted(t.id for t in survey if t.status != "closed" and g_of(t) >= split)
                    renamed = later[len(later) // 2]
                    write(sim, "PUT", f"/api/v2/tickets/{renamed}.json", {"ticket": {"subject": "Renamed"}})
                    await asyncio.sleep(1.2)  # the exports hold back the most recent (simulated) minute
                    reread_from = len(pages)
        assert renamed is not None and plan["bulk"] is not None, "the planner split"
        settled_before = plan["settled_before"]
        assert isinstance(settled_before, int)
        assert len({t.id for t in survey}) == sim.truth()["ticket"]
        reread = [e for p in pages[reread_from:] for e in p.entities if isinstance(e, ZendeskTicketEntity)]
        # Tickets changed within the margin before the newest one the survey saw are read whole
        # again too; any other would be a ticket built twice for nothing.
        recent = {t.id for t in survey if g_of(t) >= max(settled_before, split)}
        assert {t.id for t in reread} == {renamed} | recent
        assert len(reread) < len([t for t in survey if g_of(t) >= split]) // 2
        assert next(t for t in reread if t.id == renamed).name == "Renamed"
        store = apply({}, pages)
        assert_complete(store, sim.truth())
        assert_well_formed(store)  # the renamed ticket's comments carry its new name
        assert store[f"ticket:{renamed}"].name == "Renamed"
        # Every ticket from the split time on had its comments read, once.
        per_ticket = {t.id for t in survey if g_of(t) >= split}
        comments = Counter(c.ticket_id for c in of_type(store, ZendeskCommentEntity))
        assert comment_requests(sim) - calls_before == sum(
            max(1, math.ceil(comments.get(i, 0) / 100)) for i in per_ticket
        )
        assert pages[-1].cursor is not None and pages[-1].cursor["settled_before"] is None


def g_of(ticket: ZendeskTicketEntity) -> int:
    """When the ticket last changed, as the ticket export said."""
    assert ticket.generated_timestamp is not None
    return ticket.generated_timestamp


# ------------------------------------------------------------------------------ resuming


@pytest.mark.parametrize(
    ("strategy", "page_size", "budgets"),
    [
        ("per_ticket", 1000, None),
        ("bulk", 40, None),
        # A small plan budget makes the planner split: events for older tickets, per-ticket
        # reads for the newer ones, both at once.
        ("auto", 25, {"account": 30}),
    ],
)
async def test_resuming_from_any_cursor_ends_like_an_uninterrupted_run(
    sim: SimulatorHandle, strategy: CommentStrategy, page_size: int, budgets: dict[str, int] | None
) -> None:
    options: dict[str, Any] = {"strategy": strategy, "page_size": page_size, "budgets": budgets}
    pages = await run(sim, **options)
    store = apply({}, pages)
    assert_complete(store, sim.truth())
    final = hashes(store)
    assert len(pages) > 5
    if strategy != "per_ticket":
        assert any(p.cursor["phase"] == "survey" for p in pages)
        assert any(p.cursor.get("bulk") for p in pages)
    if budgets:  # both ways at once: some tickets' comments per ticket, the rest from events
        assert any(p.cursor.get("bulk") and p.cursor["pending"] for p in pages)
    for i, page in enumerate(pages[:-1]):
        saved = json.loads(json.dumps(page.cursor))  # the engine keeps the cursor as JSON
        assert saved == page.cursor
        committed = apply({}, pages[: i + 1])
        resumed = apply(committed, await run(sim, saved, **options))
        assert hashes(resumed) == final, f"resuming after page {i} ({page.stream}, {page.cursor['phase']})"


# ------------------------------------------------------------------------------ incremental


def write(sim: SimulatorHandle, method: str, path: str, body: Any = None) -> dict[str, Any]:
    response = sim.request(method, path, json=body)
    assert response.status_code < 300, response.text
    return response.json() if response.content else {}


async def test_second_run_yields_exactly_the_changes() -> None:
    with running_simulator(tickets=60, **FAST) as sim:
        first = await run(sim)
        store = apply({}, first)
        before = hashes(store)
        tickets = sorted(of_type(store, ZendeskTicketEntity), key=lambda t: t.id)
        open_ones = [t for t in tickets if t.status in ("open", "pending")]
        commented, to_delete, to_close = open_ones[0], open_ones[1], open_ones[2]

        created = write(
            sim,
            "POST",
            "/api/v2/tickets.json",
            {"ticket": {"subject": "Printer on fire", "comment": {"body": "It smokes."}}},
        )["ticket"]
        write(
            sim,
            "PUT",
            f"/api/v2/tickets/{commented.id}.json",
            {"ticket": {"comment": {"body": "Any news on this?", "public": True}}},
        )
        write(sim, "DELETE", f"/api/v2/tickets/{to_delete.id}.json")
        write(sim, "PUT", f"/api/v2/tickets/{to_close.id}.json", {"ticket": {"status": "closed"}})
        await asyncio.sleep(1.2)  # the exports hold back the most recent (simulated) minute

        calls_before = comment_requests(sim)
        second = await run(sim, first[-1].cursor)
        emitted_tickets = {e.id for p in second for e in p.entities if isinstance(e, ZendeskTicketEntity)}
        assert emitted_tickets == {created["id"], commented.id, to_close.id}
        assert {d.entity_id for p in second for d in p.deletions} == {f"ticket:{to_delete.id}"}
        assert not [e for p in second for e in p.entities if e.entity_type in ("user", "organization")]
        comment_tickets = {
            e.ticket_id for p in second for e in p.entities if isinstance(e, ZendeskCommentEntity)
        }
        assert comment_tickets == {created["id"], commented.id, to_close.id}
        # every comment of a changed ticket is read again (redactions change old comments)
        assert comment_requests(sim) - calls_before == comment_pages(apply({}, second))

        after = apply(store, second)
        changed = {k for k, h in hashes(after).items() if before.get(k) != h}
        gone = set(before) - set(after)
        assert f"ticket:{to_delete.id}" in gone
        assert all(k.startswith(("comment:", "attachment:")) for k in gone - {f"ticket:{to_delete.id}"})
        assert {f"ticket:{created['id']}", f"ticket:{commented.id}", f"ticket:{to_close.id}"} <= changed
        new_comments = [after[k] for k in changed if k.startswith("comment:")]
        assert sorted(c.search_text() for c in new_comments) == ["Any news on this?", "It smokes."]
        assert_complete(after, sim.truth())

        # and a third run with nothing changed yields nothing
        third = await run(sim, second[-1].cursor)
        assert not [e for p in third for e in p.entities] and not [d for p in third for d in p.deletions]


# ------------------------------------------------------------------------------ closed tickets


@pytest.mark.parametrize("strategy", ["per_ticket", "bulk"])
async def test_exclude_closed_tickets(strategy: CommentStrategy) -> None:
    with running_simulator(tickets=60, **FAST) as sim:
        truth = sim.truth()
        first = await run(sim, strategy=strategy, exclude_closed=True)
        store = apply({}, first)
        assert_complete(store, truth, exclude_closed=True)
        assert_well_formed(store)
        closed_ids = {
            int(d.entity_id.split(":")[1]) for p in first for d in p.deletions if d.reason == "closed"
        }
        assert len(closed_ids) == truth["tickets_by_status"]["closed"]
        assert not [e for e in store.values() if getattr(e, "ticket_id", None) in closed_ids]
        # No comment request for a closed ticket: exactly the pages of the kept tickets.
        expected_calls = comment_pages(store) if strategy == "per_ticket" else 0
        assert comment_requests(sim) == expected_calls

        victim = next(t for t in of_type(store, ZendeskTicketEntity) if t.status == "open")
        write(sim, "PUT", f"/api/v2/tickets/{victim.id}.json", {"ticket": {"status": "closed"}})
        await asyncio.sleep(1.2)
        calls = comment_requests(sim)
        second = await run(sim, first[-1].cursor, strategy=strategy, exclude_closed=True)
        deletions = [d for p in second for d in p.deletions]
        assert [(d.entity_id, d.reason) for d in deletions] == [(f"ticket:{victim.id}", "closed")]
        assert not [e for p in second for e in p.entities]
        assert comment_requests(sim) == calls
        after = apply(store, second)
        assert not [e for e in after.values() if getattr(e, "ticket_id", None) == victim.id]
        assert f"ticket:{victim.id}" not in after


# ------------------------------------------------------------------------------ faults, access


async def test_injected_faults_change_nothing_but_time(sim: SimulatorHandle) -> None:
    clean = contents(apply({}, await run(sim)), sim.base_url)
    with running_simulator(tickets=60, fault_rate=0.1, **FAST) as faulty:
        pages = await run(faulty, strategy="auto")
        assert faulty.stats()["faults"] > 0
        assert contents(apply({}, pages), faulty.base_url) == clean
        bulk_pages = await run(faulty, strategy="bulk", page_size=50)
        assert set(contents(apply({}, bulk_pages), faulty.base_url)) == set(clean)


async def test_validate_accepts_an_admin_and_names_the_fix_otherwise(sim: SimulatorHandle) -> None:
    config = config_for(sim)
    async with ZendeskClient(config, ApiTokenAuth(sim.admin_email, sim.api_token)) as client:
        me = await ZendeskSource(client, config).validate()
        assert me["email"] == sim.admin_email and me["role"] == "admin"
    async with ZendeskClient(config, ApiTokenAuth(sim.agent_email, sim.api_token)) as client:
        with pytest.raises(PermissionDenied, match="must be a Zendesk admin"):
            await ZendeskSource(client, config).validate()
    async with ZendeskClient(config, ApiTokenAuth(sim.admin_email, "wrong-token"), max_retries=0) as client:
        with pytest.raises(AuthenticationError):
            await ZendeskSource(client, config).validate()


async def test_errors_propagate_instead_of_being_skipped(sim: SimulatorHandle) -> None:
    """An agent cannot read the exports: the run stops with the reason, nothing is skipped."""
    with pytest.raises(PermissionDenied, match="admin"):
        await run(sim, email=sim.agent_email)


# ------------------------------------------------------------------------------ memory


async def test_while_its_reader_holds_a_page_the_source_reads_no_other_export_answer(
    sim: SimulatorHandle,
) -> None:
    """Memory flat with size: a page that fills the read-ahead budget (here 10 entities; a
    page of 1,000 tickets by default) is read alone. While its reader still holds it (the
    sync engine storing it), no export stream reads its next answer; they go on once the
    reader asks for the next page, and the copy is complete."""
    config = config_for(sim)
    async with ZendeskClient(config, ApiTokenAuth(sim.admin_email, sim.api_token), backoff=0.05) as client:
        exports: list[str] = []
        get_json = client.get_json

        async def counted(path_or_url: str, params: Any = None, **kw: Any) -> dict[str, Any]:
            if "/incremental/" in path_or_url:
                exports.append(path_or_url)
            return await get_json(path_or_url, params, **kw)

        client.get_json = counted  # type: ignore[method-assign]
        source = ZendeskSource(
            client, config, comment_strategy="per_ticket", export_page_size=20, read_ahead=(10, 10**9)
        )
        pages: list[SourcePage] = []
        read_while_held: dict[str, list[int]] = defaultdict(list)
        async for page in source.generate_entities(None):
            pages.append(page)
            if page.stream in ("tickets", "users", "organizations") and len(page.entities) >= 10:
                before = len(exports)
                await asyncio.sleep(0.3)  # the reader is busy with the page
                read_while_held[page.stream].append(len(exports) - before)
    assert {"tickets", "users"} <= set(read_while_held)
    assert all(n == 0 for held in read_while_held.values() for n in held), read_while_held
    assert_complete(apply({}, pages), sim.truth())


async def test_a_page_its_reader_has_let_go_is_not_held_while_the_source_reads_on(
    sim: SimulatorHandle,
) -> None:
    """Memory flat with size: once the reader has let a page go and asked for the next one,
    nothing in the source keeps any of its entities, whichever stream it came from, while
    the next answers are read (a frame holding the last page handed on would keep a page of
    1,000 tickets or users beside the next one, for as long as that takes)."""
    config = config_for(sim)
    async with ZendeskClient(config, ApiTokenAuth(sim.admin_email, sim.api_token), backoff=0.05) as client:
        let_go: list[tuple[str, weakref.ref[ZendeskEntity]]] = []
        held_at_request: list[tuple[str, str]] = []
        get_json = client.get_json

        async def watched(path_or_url: str, params: Any = None, **kw: Any) -> dict[str, Any]:
            alive = [(stream, path_or_url) for stream, ref in let_go if ref() is not None]
            if alive:
                gc.collect()  # only what a name still refers to counts, not a cycle not yet collected
                alive = [(stream, path_or_url) for stream, ref in let_go if ref() is not None]
            held_at_request.extend(alive)
            return await get_json(path_or_url, params, **kw)

        client.get_json = watched  # type: ignore[method-assign]
        source = ZendeskSource(client, config, export_page_size=20, budgets={"account": 30})
        seen: Counter[str] = Counter()
        stored: dict[str, str] = {}  # entity id -> type: the copy, without holding an entity
        async for page in source.generate_entities(None):
            stored.update((e.entity_id, e.entity_type) for e in page.entities)
            for gone in page.deletions:
                stored.pop(gone.entity_id, None)
            if page.entities:
                seen[page.stream] += 1
                let_go.append((page.stream, weakref.ref(page.entities[-1])))
            del page
    # the survey, the ticket stream re-read, the event stream's comments, users, organizations
    assert seen["tickets"] >= 3 and seen["users"] >= 2 and seen["comments"] >= 2, seen
    assert held_at_request == []
    truth = sim.truth()
    assert Counter(stored.values()) == {t: truth[t] for t in COUNTED}


async def test_the_comment_plan_is_made_after_the_last_surveyed_page_is_taken(sim: SimulatorHandle) -> None:
    """Memory flat with size: the plan (a page of events read, the tickets left to per-ticket
    reads listed) is made once its reader has taken the survey's last page of tickets, not
    while that page of entities is still held; the plan comes in a page of its own."""
    config = config_for(sim)
    async with ZendeskClient(config, ApiTokenAuth(sim.admin_email, sim.api_token), backoff=0.05) as client:
        timeline: list[tuple[str, str]] = []
        get_json = client.get_json

        async def logged(path_or_url: str, params: Any = None, **kw: Any) -> dict[str, Any]:
            timeline.append(("request", path_or_url))
            return await get_json(path_or_url, params, **kw)

        client.get_json = logged  # type: ignore[method-assign]
        source = ZendeskSource(client, config, export_page_size=25, budgets={"account": 30})
        pages: list[SourcePage] = []
        async for page in source.generate_entities(None):
            timeline.append(("page", page.cursor["phase"]))
            pages.append(page)
    probe = timeline.index(("request", "/api/v2/incremental/ticket_events.json"))
    surveyed = [p for p in pages if p.cursor["phase"] == "survey"]
    assert len(surveyed) >= 3 and sum(len(p.entities) for p in surveyed) == sim.truth()["ticket"]
    assert timeline[:probe].count(("page", "survey")) == len(surveyed)  # all taken before it
    plan = pages[len(surveyed)]
    assert plan.cursor["phase"] == "tickets" and plan.cursor.get("bulk") and not plan.entities
    assert_complete(apply({}, pages), sim.truth())


# ------------------------------------------------------------------------------ large account


@pytest.mark.slow
async def test_large_account_is_complete_and_cheap() -> None:
    """Past 10,000 tickets (offset paging breaks there), tickets with 100+ comments included."""
    with running_simulator(tickets=10_500, **FAST) as sim:
        started = time.monotonic()
        pages = await run(sim)
        elapsed = time.monotonic() - started
        store = apply({}, pages)
        truth = sim.truth()
        assert_complete(store, truth)
        per_ticket = Counter(c.ticket_id for c in of_type(store, ZendeskCommentEntity))
        assert max(per_ticket.values()) > 100
        stats = sim.stats()
        buckets = stats["buckets"]
        one_request_per_ticket = comment_pages(store)
        comment_calls = stats["requests"].get(COMMENTS_ENDPOINT, 0)
        print(
            f"\n{truth['ticket']} tickets, {truth['comment']} comments in {elapsed:.1f} s: "
            f"buckets {buckets}; per-ticket comment requests {comment_calls} "
            f"instead of {one_request_per_ticket}; "
            f"event pages {stats['requests'].get('GET /api/v2/incremental/ticket_events', 0)}"
        )
        assert comment_calls < one_request_per_ticket / 2
        by_ticket: dict[int, int] = defaultdict(int)
        for c in of_type(store, ZendeskCommentEntity):
            by_ticket[c.ticket_id] += 1
        assert sum(by_ticket.values()) == truth["comment"]


# ------------------------------------------------------------------------------ older cursors

V1_CAPTURE = json.loads((Path(__file__).parent / "source_cursors_v1.json").read_text())


@pytest.mark.parametrize(
    "captured", V1_CAPTURE["cursors"], ids=lambda c: f"{c['run']}-{c['label']}-page{c['page']}"
)
async def test_a_cursor_stored_by_the_previous_version_still_resumes(
    sim: SimulatorHandle, captured: dict[str, Any]
) -> None:
    """A database written by the version-1 source (its 11-key dict cursor) resumes without loss."""
    assert {k: v for k, v in V1_CAPTURE["simulator"].items() if k != "tickets"} == {
        "no_rate_limits": True,
        **FAST,
    }
    options = captured["options"]
    pages = await run(
        sim,
        captured["cursor"],
        strategy=options["comment_strategy"],
        page_size=options["export_page_size"],
        budgets=options.get("budgets"),
    )
    held = {f"{kind}:{i}" for kind, ids in captured["emitted_before"].items() for i in ids}
    for page in pages:
        held.update(e.entity_id for e in page.entities)
        held.difference_update(d.entity_id for d in page.deletions)
    complete = apply({}, await run(sim))
    assert held == set(complete)
    assert pages[-1].cursor["phase"] == "done" and pages[-1].cursor["version"] == 2
    if captured["cursor"]["pending"]:
        # the tickets still owed comments get them, named as in an uninterrupted run
        owed = {p[0] for p in captured["cursor"]["pending"]}
        names = {t.id: t.name for t in of_type(complete, ZendeskTicketEntity)}
        resumed = [e for p in pages for e in p.entities if isinstance(e, ZendeskCommentEntity)]
        assert owed <= {c.ticket_id for c in resumed}
        assert all(c.breadcrumbs[0].name == names[c.ticket_id] for c in resumed)


async def test_comment_authors_are_looked_up_a_page_at_a_time() -> None:
    """The event export's comments name their authors with one show_many (100 ids) per 100
    authors of a page, however small the name cache: asked ticket by ticket, every ticket
    whose author the cache had let go cost a request of its own."""
    with running_simulator(tickets=120, **FAST) as sim:
        config = config_for(sim)
        async with ZendeskClient(
            config, ApiTokenAuth(sim.admin_email, sim.api_token), backoff=0.05
        ) as client:
            source = ZendeskSource(
                client, config, comment_strategy="bulk", export_page_size=100, name_cache_size=5
            )
            pages = [page async for page in source.generate_entities(None)]
        requests = sim.stats()["requests"]
    comments = [e for p in pages for e in p.entities if isinstance(e, ZendeskCommentEntity)]
    assert comments and all(c.author_name for c in comments)
    event_pages = requests["GET /api/v2/incremental/ticket_events"]
    assert requests.get("GET /api/v2/users/show_many", 0) <= event_pages


async def test_answers_read_in_part_lose_nothing_the_source_keeps(simulator: SimulatorHandle) -> None:
    """Over real HTTP: a page of the ticket export read with :func:`ticket_export` has the
    same tickets as the whole answer, and a name for every sideloaded user, group and
    organization; a page of the user export read with :func:`user_export`, the same users and
    a name for every sideloaded organization; a page of events read with
    :func:`ticket_events` has every comment event."""
    config = config_for(simulator)
    auth = ApiTokenAuth(simulator.admin_email, simulator.api_token)
    tickets_params = {"start_time": 0, "include": "users,groups,organizations,metric_sets"}
    events_params = {"start_time": 0, "include": "comment_events"}
    async with ZendeskClient(config, auth, backoff=0.05) as client:
        whole = await client.get_json("/api/v2/incremental/tickets/cursor.json", params=tickets_params)
        part = await client.get_json(
            "/api/v2/incremental/tickets/cursor.json", params=tickets_params, decode=ticket_export
        )
        users_params = {"start_time": 0, "include": "organizations"}
        whole_users = await client.get_json("/api/v2/incremental/users/cursor.json", params=users_params)
        part_users = await client.get_json(
            "/api/v2/incremental/users/cursor.json", params=users_params, decode=user_export
        )
        whole_events = await client.get_json("/api/v2/incremental/ticket_events.json", params=events_params)
        part_events = await client.get_json(
            "/api/v2/incremental/ticket_events.json", params=events_params, decode=ticket_events
        )
    assert whole["tickets"] and part["tickets"] == whole["tickets"]
    for key in ("users", "groups", "organizations"):
        assert whole[key] and part[key] == [{"id": o["id"], "name": o["name"]} for o in whole[key]]
    assert len(part["metric_sets"]) == len(whole["metric_sets"])
    for kept, metric in zip(part["metric_sets"], whole["metric_sets"], strict=True):
        assert kept == {key: metric.get(key) for key in kept}
    assert (part["after_cursor"], part["end_of_stream"]) == (whole["after_cursor"], whole["end_of_stream"])
    assert whole_users["users"] and part_users["users"] == whole_users["users"]
    assert whole_users["organizations"] and part_users["organizations"] == [
        {"id": o["id"], "name": o["name"]} for o in whole_users["organizations"]
    ]
    assert part_users["after_cursor"] == whole_users["after_cursor"]
    comments = [
        [c for c in e["child_events"] if c["event_type"] in ("Comment", "VoiceComment")]
        for e in whole_events["ticket_events"]
    ]
    assert any(comments)
    assert [e["child_events"] for e in part_events["ticket_events"]] == comments
    assert [e["id"] for e in part_events["ticket_events"]] == [e["id"] for e in whole_events["ticket_events"]]
    assert part_events["end_time"] == whole_events["end_time"]
