"""The source's name caches: bounded, least recently used let go first, misses asked for once."""

from __future__ import annotations

from typing import Any

from zensync.source.names import NameResolver, _NameCache


def test_a_full_cache_lets_go_of_the_least_recently_used_name() -> None:
    cache = _NameCache(3)
    for i in (1, 2, 3):
        cache[i] = f"user {i}"
    assert cache.get(1) == "user 1"  # 1 is now the most recently used
    cache[4] = "user 4"
    assert len(cache) == 3
    assert 2 not in cache
    assert [cache.get(i) for i in (1, 3, 4)] == ["user 1", "user 3", "user 4"]
    cache[3] = "renamed"  # a rewrite counts as a use and keeps one pair
    cache[5] = "user 5"
    assert 1 not in cache and len(cache) == 3
    assert cache.get(3) == "renamed"


def test_an_unknown_id_is_remembered_as_none_and_told_apart_from_a_miss() -> None:
    cache = _NameCache(2)
    cache[7] = None
    assert 7 in cache and cache.get(7) is None
    assert 8 not in cache and cache.get(8) is None


class _Users:
    """``users/show_many`` answers for ids below 1,000; records every request."""

    def __init__(self) -> None:
        self.requests: list[list[int]] = []

    async def get_json(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        assert path == "/api/v2/users/show_many.json" and params is not None
        ids = [int(i) for i in params["ids"].split(",")]
        self.requests.append(ids)
        return {"users": [{"id": i, "name": f"User {i}"} for i in ids if i < 1000]}


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
