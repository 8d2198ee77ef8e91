"""The read-ahead budget: a queue bounded by entities and bytes holds no more than its budget."""

from __future__ import annotations

import asyncio

import pytest

from zensync.entities import Breadcrumb, SourcePage, ZendeskCommentEntity, ZendeskTicketEntity
from zensync.readahead import Budget, BudgetQueue, page_weight


def test_a_queue_never_holds_more_than_its_budget_and_keeps_the_order() -> None:
    limits = (100, 10_000)  # entities, bytes
    weights = [(30, 4_000), (50, 1_000), (10, 6_000), (90, 9_000), (1, 1), (60, 2_500)] * 5
    held: list[tuple[int, int]] = []

    async def scenario() -> list[int]:
        queue: BudgetQueue[int] = BudgetQueue(*limits)

        async def producer(first: int) -> None:
            for i in range(first, len(weights), 2):
                await queue.put(i, weights[i])
                held.append((queue.budget.used[0], queue.budget.used[1]))

        async def consumer() -> list[int]:
            got = []
            while len(got) < len(weights):
                got.append(await queue.get())
                await asyncio.sleep(0)
            return got

        tasks = [asyncio.create_task(producer(0)), asyncio.create_task(producer(1))]
        got = await consumer()
        await asyncio.gather(*tasks)
        assert queue.empty() and queue.budget.used == [0, 0]
        return got

    got = asyncio.run(scenario())
    assert sorted(got) == list(range(len(weights)))
    assert all(entities <= limits[0] and nbytes <= limits[1] for entities, nbytes in held)
    # each producer's items come out in the order it put them
    assert [i for i in got if i % 2 == 0] == list(range(0, len(weights), 2))


def test_an_item_larger_than_the_whole_budget_goes_through_alone() -> None:
    async def scenario() -> None:
        queue: BudgetQueue[str] = BudgetQueue(10, 100)
        await queue.put("huge", (1_000, 1_000_000))  # nothing held: let through
        waiting = asyncio.create_task(queue.put("small", (1, 1)))
        await asyncio.sleep(0.01)
        assert not waiting.done() and queue.qsize() == 1  # waits for the huge one to leave
        assert queue.get_nowait() == "huge"
        await asyncio.wait_for(waiting, 1)
        assert queue.get_nowait() == "small"
        with pytest.raises(asyncio.QueueEmpty):
            queue.get_nowait()

    asyncio.run(scenario())


def test_a_budget_refuses_a_weight_of_the_wrong_shape() -> None:
    async def scenario() -> None:
        budget = Budget(10, 100)
        with pytest.raises(ValueError, match="2 numbers"):
            await budget.take((1,))

    asyncio.run(scenario())
    with pytest.raises(ValueError, match="positive"):
        Budget(0)


def test_a_page_of_tickets_weighs_more_than_a_page_of_short_comments() -> None:
    ticket = Breadcrumb(entity_id="ticket:1", name="Printer on fire", entity_type="ticket")
    tickets = SourcePage(
        stream="tickets",
        entities=[
            ZendeskTicketEntity.from_api({"id": i, "subject": "Printer on fire", "description": "It burns."})
            for i in range(1, 11)
        ],
    )
    comments = SourcePage(
        stream="comments",
        entities=[
            ZendeskCommentEntity.from_api(
                {"id": i, "body": "Thanks!", "created_at": "2026-01-01T00:00:00Z"}, ticket=ticket, ticket_id=1
            )
            for i in range(1, 11)
        ],
    )
    assert page_weight(tickets)[0] == page_weight(comments)[0] == 10
    assert page_weight(tickets)[1] > page_weight(comments)[1] > 10 * len("Thanks!")
    long = comments.entities[0].model_copy(update={"body": "x" * 100_000})
    assert long.approx_size() > 100_000


def test_a_reader_waits_for_room_before_reading_what_it_could_not_hand_on() -> None:
    """``room`` lets a reader through only while every counter is below its limit (or nothing
    is held); ``add`` then takes a page of any size."""

    async def scenario() -> None:
        budget = Budget(10, 100)
        await asyncio.wait_for(budget.room(), 1)  # nothing held
        budget.add((12, 40))  # a page larger than the budget, taken after waiting for room
        assert budget.used == [12, 40] and not budget.has_room()
        waiting = asyncio.create_task(budget.room())
        await asyncio.sleep(0.01)
        assert not waiting.done()
        budget.give((12, 40))
        await asyncio.wait_for(waiting, 1)
        budget.add((3, 99))
        assert budget.has_room()  # both counters below their limits
        budget.add((0, 1))
        assert not budget.has_room()  # bytes at the limit

    asyncio.run(scenario())


def test_queues_sharing_a_budget_count_what_was_taken_until_it_is_given_back() -> None:
    async def scenario() -> None:
        shared = Budget(10, 1_000)
        first: BudgetQueue[str] = BudgetQueue(budget=shared)
        second: BudgetQueue[str] = BudgetQueue(budget=shared)
        await first.put("tickets", (8, 800))
        blocked = asyncio.create_task(second.put("users", (5, 100)))
        await asyncio.sleep(0.01)
        assert not blocked.done()  # 8 + 5 entities do not fit in 10
        item, weight = first.get_held()
        assert item == "tickets" and shared.used == [8, 800]  # handed on, still counted
        await asyncio.sleep(0.01)
        assert not blocked.done()
        shared.give(weight)  # its reader is done with it
        await asyncio.wait_for(blocked, 1)
        assert second.get_nowait() == "users" and shared.idle()
        await first.put("nothing", None)  # weightless items never wait
        assert first.get_nowait() == "nothing"

    asyncio.run(scenario())
    with pytest.raises(ValueError, match="limits or a budget"):
        BudgetQueue(10, budget=Budget(10))
