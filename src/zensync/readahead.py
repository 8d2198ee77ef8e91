"""Read-ahead budgets: how much a sync holds in memory between reading a page and storing it.

A page may hold ten entities or a thousand tickets with their sideloads (about 8 kB of Python
objects each), so read-ahead is bounded by what pages weigh, not by how many there are:

* :class:`Budget` — counters with limits (entities, estimated bytes, …) that a producer
  ``take``\\ s before handing work on and the consumer ``give``\\ s back when done with it;
* :class:`BudgetQueue` — a FIFO queue bounded by such a budget, released as items are taken;
* :func:`page_weight` — a page's entities and estimated bytes
  (:meth:`zensync.entities.ZendeskEntity.approx_size`).

Whatever the budget, one item is always let through when nothing is held, so a page larger
than the whole budget still moves (alone).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from typing import Generic, TypeVar

from zensync.entities import SourcePage

__all__ = ["Budget", "BudgetQueue", "page_weight"]

T = TypeVar("T")


def page_weight(page: SourcePage) -> tuple[int, int]:
    """A page's weight: (entities and deletions, estimated bytes of its entities in memory)."""
    return (
        len(page.entities) + len(page.deletions),
        sum(entity.approx_size() for entity in page.entities) + 200 * len(page.deletions),
    )


class Budget:
    """Counters with limits, one per dimension (e.g. entities and bytes).

    ``take(weight)`` waits until the weight fits (every counter stays within its limit) or
    nothing is held at all; ``give(weight)`` returns it.
    """

    def __init__(self, *limits: int) -> None:
        if not limits or any(limit <= 0 for limit in limits):
            raise ValueError("a budget needs at least one positive limit")
        self.limits = tuple(limits)
        self.used = [0] * len(limits)
        self._freed = asyncio.Event()

    def _check(self, weight: Sequence[int]) -> None:
        if len(weight) != len(self.limits):
            raise ValueError(f"a weight of {len(self.limits)} numbers is needed, got {len(weight)}")

    def idle(self) -> bool:
        """Whether nothing is held."""
        return not any(self.used)

    def fits(self, weight: Sequence[int]) -> bool:
        """Whether ``weight`` may be taken now."""
        self._check(weight)
        within = zip(self.used, weight, self.limits, strict=True)
        return self.idle() or all(used + more <= limit for used, more, limit in within)

    def has_room(self) -> bool:
        """Whether nothing is held or every counter is below its limit."""
        return self.idle() or all(used < limit for used, limit in zip(self.used, self.limits, strict=True))

    async def room(self) -> None:
        """Wait until :meth:`has_room`: a reader waits here *before* reading the next page, so
        a page it cannot hand on yet is not read (and held) at all."""
        while not self.has_room():
            self._freed.clear()
            await self._freed.wait()

    async def take(self, weight: Sequence[int]) -> None:
        while not self.fits(weight):
            self._freed.clear()
            await self._freed.wait()
        self.add(weight)

    def add(self, weight: Sequence[int]) -> None:
        """Take ``weight`` now, even past the limits (after waiting for :meth:`room`)."""
        self._check(weight)
        for i, w in enumerate(weight):
            self.used[i] += w

    def give(self, weight: Sequence[int]) -> None:
        self._check(weight)
        for i, w in enumerate(weight):
            self.used[i] -= w
        self._freed.set()


class BudgetQueue(Generic[T]):
    """A FIFO queue bounded by a :class:`Budget`: ``put(item, weight)`` waits until the item
    fits; taking it out (``get``, ``get_nowait``) gives its weight back."""

    def __init__(self, *limits: int, budget: Budget | None = None) -> None:
        if (budget is None) == (not limits):
            raise ValueError("a queue needs either its own limits or a budget to share")
        self.budget = budget if budget is not None else Budget(*limits)
        self._items: deque[tuple[T, tuple[int, ...]]] = deque()
        self._arrived = asyncio.Event()

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)

    async def put(self, item: T, weight: Sequence[int] | None = None) -> None:
        """Add ``item`` once it fits (at once when ``weight`` is None: it weighs nothing)."""
        held = tuple(weight) if weight is not None else (0,) * len(self.budget.limits)
        if weight is not None:
            await self.budget.take(held)
        self._items.append((item, held))
        self._arrived.set()

    def get_nowait(self) -> T:
        item, held = self.get_held()
        self.budget.give(held)
        return item

    def get_held(self) -> tuple[T, tuple[int, ...]]:
        """The next item and its weight, which stays taken until the caller gives it back
        (``queue.budget.give(weight)``): for an item that still weighs where it goes next."""
        if not self._items:
            raise asyncio.QueueEmpty
        return self._items.popleft()

    async def get(self) -> T:
        while not self._items:
            self._arrived.clear()
            await self._arrived.wait()
        return self.get_nowait()
