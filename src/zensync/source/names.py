"""id → name for users, organizations, groups and tickets, in bounded LRU caches."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from zensync.entities import ticket_name

from .paging import Client, CursorPaging, paginate

__all__ = ["NameResolver"]

SHOW_MANY = 100  # ids per show_many request
_PLURAL = {"user": "users", "organization": "organizations", "ticket": "tickets", "group": "groups"}


class _NameCache:
    """At most ``maxsize`` id → name pairs, the least recently used let go first.

    A plain dict in use order (a hit moves its pair to the end; the first pair is the oldest):
    about 65 bytes a pair against 140 for ``cachetools.LRUCache``, which keeps two more maps
    beside its data. Full caches of 10,000 users and 10,000 tickets held about 4 MB more that
    way (bench/README.md, "Memory, continued").
    """

    __slots__ = ("_names", "maxsize")

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._names: dict[int, str | None] = {}

    def __contains__(self, object_id: object) -> bool:
        return object_id in self._names

    def __len__(self) -> int:
        return len(self._names)

    def get(self, object_id: int) -> str | None:
        names = self._names
        if object_id not in names:
            return None
        name = names[object_id] = names.pop(object_id)
        return name

    def __setitem__(self, object_id: int, name: str | None) -> None:
        names = self._names
        names.pop(object_id, None)
        names[object_id] = name
        if len(names) > self.maxsize:
            del names[next(iter(names))]


def _ids(values: Iterable[Any]) -> list[int]:
    return [v for v in values if isinstance(v, int)]


class NameResolver:
    """id → name for users, organizations, groups and tickets, in bounded LRU caches.

    Filled for free from what the streams read (the organizations and users streams, the
    sideloads of ticket and comment pages); a miss is looked up with ``show_many`` (100 ids a
    request) and groups with one listing per run. Unknown ids (deleted objects) are cached as
    ``None`` so they are asked for once. Each cache holds at most ``maxsize`` names, so memory
    does not grow with the account.
    """

    def __init__(self, client: Client, maxsize: int = 10_000) -> None:
        self._client = client
        self._caches = {kind: _NameCache(maxsize) for kind in _PLURAL}
        self._groups_listed = False

    def remember(self, kind: str, object_id: Any, name: str | None) -> None:
        if isinstance(object_id, int):
            self._caches[kind][object_id] = name

    def remember_objects(self, kind: str, objects: Iterable[dict[str, Any]] | None) -> dict[int, str | None]:
        """Cache the names of ``objects``; return them (the bounded cache may let go of some)."""
        named: dict[int, str | None] = {}
        for obj in objects or ():
            if isinstance(obj, dict) and isinstance(obj.get("id"), int):
                name = ticket_name(obj) if kind == "ticket" else obj.get("name")
                self.remember(kind, obj["id"], name)
                named[obj["id"]] = name
        return named

    def known(self, kind: str, object_id: Any) -> str | None:
        return self._caches[kind].get(object_id) if isinstance(object_id, int) else None

    async def resolve(self, kind: str, ids: Iterable[Any]) -> dict[Any, str | None]:
        """Names for ``ids`` (``None`` where the object does not exist), looking misses up."""
        wanted = sorted(set(_ids(ids)))
        cache = self._caches[kind]
        found: dict[Any, str | None] = {}
        missing: list[int] = []
        for i in wanted:
            if i in cache:
                found[i] = cache.get(i)
            else:
                missing.append(i)
        if missing:
            named: dict[int, str | None] = {}
            if kind == "group":
                await self._list_groups()
                named = {i: cache.get(i) for i in missing}
            else:
                for start in range(0, len(missing), SHOW_MANY):
                    chunk = missing[start : start + SHOW_MANY]
                    data = await self._client.get_json(
                        f"/api/v2/{_PLURAL[kind]}/show_many.json", params={"ids": ",".join(map(str, chunk))}
                    )
                    # the answer's names, not the cache's: a bounded cache may already have
                    # let go of some of them
                    named.update(self.remember_objects(kind, data.get(_PLURAL[kind])))
            for i in missing:
                found[i] = named.get(i)
                if i not in named:
                    cache[i] = None  # no such object (deleted): asked for once
        return found

    async def _list_groups(self) -> None:
        """All groups, once per run (``/api/v2/groups``, cursor paging): accounts have few."""
        if self._groups_listed:
            return
        async for page in paginate(self._client, "/api/v2/groups.json", CursorPaging("groups")):
            self.remember_objects("group", page.items)
        self._groups_listed = True
