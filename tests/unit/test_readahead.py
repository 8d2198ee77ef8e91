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
