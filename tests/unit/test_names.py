"""The source's name caches: bounded, least recently used let go first, misses asked for once."""

from __future__ import annotations

import json
import tracemalloc
from typing import Any

from zensync.source.names import NameResolver, _NameCache


def test_a_full_cache_lets_go_of_the_least_recently_used_names_a_generation_at_a_time() -> None:
    cache = _NameCache(8)  # generations of 2 names
    for i in range(1, 7):
        cache[i] = f"user {i}"
    assert cache.get(1) == "user 1"  # 1 is used again: kept with the young names
    cache[7] = "user 7"  # the cache is full: the oldest generation (1 and 2) goes, but 1 was used
    assert 1 in cache and 2 not in cache
    assert [cache.get(i) for i in (3, 4, 5, 6, 7)] == [f"user {i}" for i in (3, 4, 5, 6, 7)]
    assert len(cache) <= 8
    cache[3] = "renamed"  # the newest name is the one found
    assert cache.get(3) == "renamed"
    for i in range(10, 30):
        cache[i] = f"user {i}"
    assert len(cache) <= 8 and 3 not in cache and 29 in cache


def test_a_full_cache_is_held_in_a_few_compact_blocks() -> None:
    """Memory flat with size: 10,000 names are not 20,000 small objects that pin the parser's
    memory, but a few arrays: less than half what a dict of them holds."""
    names = [f"Customer {i} of Example Trading Company" for i in range(9_999)]
    tracemalloc.start()
    try:
        cache = _NameCache(10_000)
        for i, name in enumerate(names):
            cache[1_000_000_000 + i] = name + ""  # a name of its own, as parsed from a page
        compact, _ = tracemalloc.get_traced_memory()
        plain = {1_000_000_000 + i: (name + ".")[:-1] for i, name in enumerate(names)}
        both, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(cache) == len(plain) == 9_999  # three generations frozen, one filling
    assert cache.get(1_000_000_000) == names[0] and cache.get(1_000_009_998) == names[9_998]
    assert compact < (both - compact) / 2, (compact, both - compact)


def test_ids_beyond_64_bits_are_named_while_they_are_young() -> None:
    cache = _NameCache(8)
    cache[2**70] = "huge"
    assert cache.get(2**70) == "huge"
    for i in range(1, 3):
        cache[i] = f"user {i}"
    assert 2**70 not in cache and cache.get(2**70) is None  # let go, asked for again if needed


def test_an_unknown_id_is_remembered_as_none_and_told_apart_from_a_miss() -> None:
    cache = _NameCache(2)
    cache[7] = None
    assert 7 in cache and cache.get(7) is None
    assert 8 not in cache and cache.get(8) is None


class _Users:
    """``users/show_many`` answers for ids below 1,000; records every request."""

    def __init__(self) -> None:
        self.requests: list[list[int]] = []

    async def get_json(self, path: str, params: dict[str, Any] | None = None, decode: Any = None) -> Any:
        assert path == "/api/v2/users/show_many.json" and params is not None
        ids = [int(i) for i in params["ids"].split(",")]
        self.requests.append(ids)
        answer = {"users": [{"id": i, "name": f"User {i}", "email": f"u{i}@x.org"} for i in ids if i < 1000]}
        return decode(json.dumps(answer).encode()) if decode is not None else answer


async def test_names_are_looked_up_once_and_the_bounded_cache_asks_again_only_for_what_it_let_go() -> None:
    client = _Users()
    names = NameResolver(client, maxsize=150)  # type: ignore[arg-type]
    found = await names.resolve("user", [*range(1, 121), 5000, None, "x"])
    assert found[5] == "User 5" and found[5000] is None and len(found) == 121
    assert [len(r) for r in client.requests] == [100, 21]  # show_many takes 100 ids a request
    client.requests.clear()
    again = await names.resolve("user", [5, 120, 5000])
    assert again == {5: "User 5", 120: "User 120", 5000: None} and client.requests == []
    await names.resolve("user", range(121, 200))  # 79 more: the 50 least recently used go
    client.requests.clear()
    await names.resolve("user", [5, 120, 199, 30])
    assert client.requests == [[30]]  # 5 and 120 were used again, 30 was let go
