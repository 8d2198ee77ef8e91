"""id → name for users, organizations, groups and tickets, in bounded LRU caches."""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Iterable
from typing import Any

from zensync.entities import ticket_name

from .answers import names_of
from .paging import Client, CursorPaging, paginate

__all__ = ["NameResolver"]

SHOW_MANY = 100  # ids per show_many request
# Names kept per kind. Full caches are what an account beyond a few thousand users and tickets
# holds for the whole sync: at 100,000 tickets 4,000 instead of 10,000 took the peak RSS from
# 129.2 to 126.3 MB for 2.9 % more show_many requests (22,285 against 21,656 on the plan budget,
# which does not bind; bench/README.md, "Memory: one buffer per answer").
DEFAULT_CACHE_SIZE = 4_000
_PLURAL = {"user": "users", "organization": "organizations", "ticket": "tickets", "group": "groups"}


class _Generation:
    """Names frozen out of a cache's young generation: sorted ids in an ``array('q')`` and the
    names' UTF-8 in one ``bytes``, so a thousand names are three objects, not two thousand."""

    __slots__ = ("_blob", "_ends", "_ids", "_nones")

    def __init__(self, pairs: dict[int, str | None]) -> None:
        ids = sorted(pairs)
        self._ids = array("q", ids)
        ends = array("I")
        nones = bytearray(len(ids))
        parts: list[bytes] = []
        end = 0
        for i, object_id in enumerate(ids):
            name = pairs[object_id]
            if name is None:
                nones[i] = 1
            else:
                part = name.encode("utf-8", "surrogatepass")
                parts.append(part)
                end += len(part)
            ends.append(end)
        self._ends = ends
        self._nones = bytes(nones)
        self._blob = b"".join(parts)

    def __len__(self) -> int:
        return len(self._ids)

    def ids(self) -> array[int]:
        return self._ids

    def find(self, object_id: int) -> tuple[bool, str | None]:
        """(whether ``object_id`` is here, its name)."""
        ids = self._ids
        i = bisect.bisect_left(ids, object_id)
        if i == len(ids) or ids[i] != object_id:
            return False, None
        if self._nones[i]:
            return True, None
        start = self._ends[i - 1] if i else 0
        return True, self._blob[start : self._ends[i]].decode("utf-8", "surrogatepass")


_INT64 = range(-(2**63), 2**63)


class _NameCache:
    """About ``maxsize`` id → name pairs; a name used or learnt recently is kept, the least
    recently used are let go first, a generation (a quarter of the cache) at a time.

    New and used pairs go into a young dict; when it holds a quarter of ``maxsize`` it is
    frozen into a :class:`_Generation` (compact, in a few large blocks), and the oldest
    generations are let go beyond ``maxsize`` (a full cache holds three to four quarters of
    it). A name found in a frozen generation is copied back into the young one, so names in
    use stay. Held as a dict of separate ``int`` and ``str`` objects, 10,000 names took about
    1.5 MB, and those small objects, made while a page of tickets was parsed, kept the
    parser's memory from being given back while the cache let them go one at a time
    (bench/README.md, "Memory, flat"); this way they take about 0.6 MB, a quarter of it
    in separate objects that are let go a generation at a time.
    """

    __slots__ = ("_frozen", "_young", "generation", "maxsize")

    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError("a name cache holds at least one name")
        self.maxsize = maxsize
        self.generation = max(1, maxsize // 4)
        self._young: dict[int, str | None] = {}
        self._frozen: list[_Generation] = []  # oldest first

    def _find(self, object_id: int) -> tuple[bool, str | None]:
        young = self._young
        if object_id in young:
            return True, young[object_id]
        if object_id in _INT64:
            for generation in reversed(self._frozen):
                found = generation.find(object_id)
                if found[0]:
                    return found
        return False, None

    def __contains__(self, object_id: object) -> bool:
        return isinstance(object_id, int) and self._find(object_id)[0]

    def __len__(self) -> int:
        """How many ids have a name here (each counted once)."""
        held = set(self._young)
        for generation in self._frozen:
            held.update(generation.ids())
        return len(held)

    def find(self, object_id: int) -> tuple[bool, str | None]:
        """(whether ``object_id`` is here, its name); found, it counts as used."""
        known, name = self._find(object_id)
        if known and object_id not in self._young:
            self[object_id] = name  # used: kept with the young names
        return known, name

    def get(self, object_id: int) -> str | None:
        return self.find(object_id)[1]

    def __setitem__(self, object_id: int, name: str | None) -> None:
        young = self._young
        young[object_id] = name
        if len(young) >= self.generation:
            self._young = {}
            compact = {i: n for i, n in young.items() if i in _INT64}  # array('q') ids
            self._frozen.append(_Generation(compact))
            # with the young names (fewer than a generation), at most maxsize in all
            while sum(map(len, self._frozen)) > self.maxsize - self.generation + 1:
                del self._frozen[0]


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

    def __init__(self, client: Client, maxsize: int = DEFAULT_CACHE_SIZE) -> None:
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
            known, name = cache.find(i)
            if known:
                found[i] = name
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
                        f"/api/v2/{_PLURAL[kind]}/show_many.json",
                        params={"ids": ",".join(map(str, chunk))},
                        decode=names_of(_PLURAL[kind]),
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
